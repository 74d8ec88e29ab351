#!/bin/sh
# cancel-atvm-run-watcher.sh — cancel helper: a thin wrapper over
# `atvm-run-watcher cancel`, the binary beside this file, which marks the build CANCELLED
# (nothing is posted for it) and stops atvm-run-watcher@<build>.service.
# Flags: --build-name, --reason, --no-stop (see --help).
set -eu
self=$(readlink -f -- "$0" 2>/dev/null) || self=$0
exec "$(dirname -- "$self")/atvm-run-watcher" cancel "$@"
