#!/bin/sh
# start-atvm-run-watcher.sh — start helper: a thin wrapper over
# `atvm-run-watcher start`, the binary beside this file, which validates the request and
# the env file, records request.json and starts atvm-run-watcher@<build>.service.
# Flags: --build-name, --template, --config-family, --migration-style,
# --integration-plugin, --scope-description, --categorize (see --help). Logic stays in the
# binary so that the helper and `atvm-run-watcher start` can never disagree.
set -eu
self=$(readlink -f -- "$0" 2>/dev/null) || self=$0
exec "$(dirname -- "$self")/atvm-run-watcher" start "$@"
