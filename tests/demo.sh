#!/usr/bin/env bash
# `make demo`: follows a simulated ATVM run end to end with --dry-run. First five earlier
# nightlies (tests/fixtures/demo-history-<n>.log) are read at once, so that the post can say
# since when each test fails, whether it flaps, what is one problem and what was fixed;
# then tonight's run (tests/fixtures/demo-run.log: Cypress 12.17.4 output with colour and
# timestamps) is written to a log file the way a run writes it, while the watcher follows
# it, with a known-issues file (tests/fixtures/demo-known-issues.json). The watcher prints
# each state change and the message it would post; `history` then shows one spec's week.
# No webhook needed. The fixtures are rendered by tests/it/fixtures.rs.
set -euo pipefail
bin=${1:?usage: demo.sh path/to/atvm-run-watcher}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/logs"
export ATVM_WATCHER_KNOWN_ISSUES="$here/fixtures/demo-known-issues.json"
common=(--log-dir "$work/logs" --state-root "$work/state" --dry-run
    --template rhel9-to-openshift --config-family vmware --migration-style warm
    --integration-plugin vddk --scope-description "nightly regression (demo)")

echo "== the five nights before, nightly-37 to nightly-41, read at once =="
for n in 1 2 3 4 5; do
    build=nightly-$((36 + n))
    cp "$here/fixtures/demo-history-$n.log" "$work/logs/$build.log"
    "$bin" --build-name "$build" "${common[@]}" >/dev/null 2>&1
    # A dry run is never history (it posted nothing); the demo pretends these were real.
    sed -i 's/"dry_run": true/"dry_run": false/' "$work/state/$build/state.json"
done

echo "== watching nightly-42 (dry run: nothing is posted) =="
log="$work/logs/nightly-42.log"
MATTERMOST_ATVM_MENTION_ON_FAILURE=@qa-oncall "$bin" --build-name nightly-42 "${common[@]}" &
pid=$!
sleep 0.5
# Replay the run: a pause before each spec and before the summary, like a real run.
while IFS= read -r line; do
    case "$line" in
        *Running:*|*"Run Finished"*) sleep 0.4 ;;
    esac
    printf '%s\n' "$line" >>"$log"
done <"$here/fixtures/demo-run.log"
wait "$pid"
pid=
# As if tonight had been posted for real: then it is the newest run of the history.
sed -i 's/"dry_run": true/"dry_run": false/' "$work/state/nightly-42/state.json"
echo
echo "== atvm-run-watcher history --spec atvm/migrate/linux_rhel9_vm.cy.js =="
"$bin" history --state-root "$work/state" --spec atvm/migrate/linux_rhel9_vm.cy.js
echo
echo "== state.json =="
cat "$work/state/nightly-42/state.json"
