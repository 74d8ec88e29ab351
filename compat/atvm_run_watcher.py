#!/bin/sh
# atvm_run_watcher.py — compatibility entry point: runs the atvm-run-watcher
# binary installed beside this file, with every argument unchanged and its exit code kept.
# One file, two languages, so that both `./atvm_run_watcher.py ...` (no Python needed) and
# `python3 atvm_run_watcher.py ...` keep working for the callers of the old script.
# sh reads the next line as the no-op `:` and execs the binary before reaching the Python
# part; Python reads it as the start of a string that ends at the closing triple quote.
''':'
self=$(readlink -f -- "$0" 2>/dev/null) || self=$0
bin=$(dirname -- "$self")/atvm-run-watcher
if [ ! -x "$bin" ]; then
    echo "atvm_run_watcher.py: $bin is missing or not executable" >&2
    exit 127
fi
exec "$bin" "$@"
'''

import os
import sys


def main():
    # realpath: a symlink to this file (e.g. from a bin directory) still finds the binary
    # beside the real file, as `readlink -f` does for sh above.
    here = os.path.dirname(os.path.realpath(__file__))
    binary = os.path.join(here, "atvm-run-watcher")
    try:
        os.execv(binary, [binary] + sys.argv[1:])
    except OSError as e:
        sys.stderr.write("atvm_run_watcher.py: cannot run %s: %s\n" % (binary, e))
        sys.exit(127)


if __name__ == "__main__":
    main()
