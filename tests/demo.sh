#!/usr/bin/env bash
# `make demo`: follows a simulated ATVM run end to end with --dry-run. The fixture
# tests/fixtures/demo-run.log (Cypress 12.17.4 output with colour and timestamps) is
# written to a log file the way a run writes it, while the watcher follows it; the
# watcher prints each state change and the message it would post. No webhook needed.
set -euo pipefail
bin=${1:?usage: demo.sh path/to/atvm-run-watcher}
here=$(cd "$(dirname "$0")" && pwd)
fixture="$here/fixtures/demo-run.log"
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
log="$work/logs/demo-build.log"

echo "== watching demo-build (dry run: nothing is posted) =="
"$bin" --build-name demo-build --log-dir "$work/logs" --state-root "$work/state" --dry-run \
    --template rhel9-to-openshift --config-family vmware --migration-style warm \
    --integration-plugin vddk --scope-description "nightly regression (demo)" &
pid=$!
sleep 0.5
mkdir -p "$work/logs"
# Replay the run: a pause before each spec and before the summary, like a real run.
while IFS= read -r line; do
    case "$line" in
        *Running:*|*"Run Finished"*) sleep 0.4 ;;
    esac
    printf '%s\n' "$line" >>"$log"
done <"$fixture"
wait "$pid"
pid=
echo
echo "== state.json =="
cat "$work/state/demo-build/state.json"
