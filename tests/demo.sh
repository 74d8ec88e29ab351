#!/usr/bin/env bash
# `make demo`: follows a simulated ATVM run end to end with --dry-run. First an earlier
# build (tests/fixtures/demo-previous.log) is read at once, so that the post can say which
# failures are new, which failed before and what was fixed since; then the run of
# tests/fixtures/demo-run.log (Cypress 12.17.4 output with colour and timestamps) is
# written to a log file the way a run writes it, while the watcher follows it. The
# watcher prints each state change and the message it would post. No webhook needed.
set -euo pipefail
bin=${1:?usage: demo.sh path/to/atvm-run-watcher}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/logs"
common=(--log-dir "$work/logs" --state-root "$work/state" --dry-run
    --template rhel9-to-openshift --config-family vmware --migration-style warm
    --integration-plugin vddk --scope-description "nightly regression (demo)")

echo "== yesterday's build, demo-previous, read at once =="
cp "$here/fixtures/demo-previous.log" "$work/logs/demo-previous.log"
"$bin" --build-name demo-previous "${common[@]}" >/dev/null 2>&1
# A dry run is never history (it posted nothing); the demo pretends this one was real.
sed -i 's/"dry_run": true/"dry_run": false/' "$work/state/demo-previous/state.json"
sleep 1 # finished a second earlier: "earlier" compares finish times

echo "== watching demo-build (dry run: nothing is posted) =="
log="$work/logs/demo-build.log"
MATTERMOST_ATVM_MENTION_ON_FAILURE=@qa-oncall "$bin" --build-name demo-build "${common[@]}" &
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
echo
echo "== state.json =="
cat "$work/state/demo-build/state.json"
