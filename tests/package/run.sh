#!/usr/bin/env bash
# Package tests (issue 4), run by `make test` on the tarball `make dist` just built: the
# tarball's contents, a staged install / reinstall / uninstall under DESTDIR with no Rust
# toolchain and no Python on PATH, the compat entry point, the start and cancel helpers
# against a stub systemctl, and the systemd units (verify, security score, syscall filter):
# the template, and the resume unit that install enables (the link made in the staged tree,
# no systemctl run) and uninstall removes.
# Usage: tests/package/run.sh dist/out/atvm-watcher-service-<version>-x86_64.tar.gz
# Single-quoted `sh -c` scripts and literal `$HOME` arguments are meant:
# shellcheck disable=SC2016
set -euo pipefail

tarball=$(readlink -f "${1:?usage: run.sh path/to/atvm-watcher-service-VERSION-x86_64.tar.gz}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
crate_version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
# The build's identity is in the tarball's name: the crate's version + the commit.
name=$(basename "$tarball" -x86_64.tar.gz)
version=${name#atvm-watcher-service-}
prefix=/opt/atvm-watcher-service
unit=atvm-run-watcher@.service
resume=atvm-run-watcher-resume.service
wants=etc/systemd/system/multi-user.target.wants
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A command that fails outside a check stops the run: say where, loudly.
trap 'echo "package tests: ABORTED at line $LINENO: $BASH_COMMAND" >&2' ERR
started=$(date +%s%N)

passed=0 failed=0 skipped=0
section() { printf '\n== %s\n' "$1"; }
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
fail() {
    failed=$((failed + 1))
    printf 'FAIL  %s\n' "$1" >&2
    shift
    local l
    for l in "$@"; do printf '      %s\n' "$l" >&2; done
}
skip() { skipped=$((skipped + 1)); printf 'SKIP  %s\n' "$1"; }
# check DESC COMMAND...: passes when COMMAND succeeds.
check() {
    local d=$1
    shift
    if "$@"; then ok "$d"; else fail "$d" "command failed: $*"; fi
}
# same DESC WANT GOT
same() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "want: $2" "got:  $3"; fi; }
# has DESC FILE PATTERN (grep -E)
has() { if grep -Eq -- "$3" "$2"; then ok "$1"; else fail "$1" "no match for /$3/ in $2:" "$(head -c 3000 "$2")"; fi; }
# has_text DESC FILE TEXT: FILE holds TEXT as it is (no pattern).
has_text() { if grep -Fq -- "$3" "$2"; then ok "$1"; else fail "$1" "no '$3' in $2:" "$(head -c 3000 "$2")"; fi; }
mode() { stat -c %a "$1"; }

# --- A PATH with what the controller has (sh, make, coreutils) and nothing else ---------
minbin=$work/minbin
mkdir "$minbin"
for t in sh make install mv chmod sed stat date id cat rm rmdir grep readlink dirname ln; do
    ln -s "$(command -v "$t")" "$minbin/$t"
done
# A systemctl that only records that it ran: a staged install must run none.
printf '#!/bin/sh\necho "$*" >>"%s"\nexit 1\n' "$work/controller-systemctl.log" >"$minbin/systemctl"
chmod 0755 "$minbin/systemctl"
# The controller's view: no toolchain, no Python, no inherited MAKEFLAGS from `make test`.
controller() { env -i PATH="$minbin" HOME=/nonexistent LC_ALL=C "$@"; }
# run LOG COMMAND...: runs it, output to LOG; returns its exit code.
run() {
    local log=$1
    shift
    set +e
    "$@" >"$log" 2>&1
    local rc=$?
    set -e
    return "$rc"
}
# rc_of COMMAND...: prints COMMAND's exit code (its own output goes to stderr).
rc_of() {
    set +e
    "$@" >&2
    local rc=$?
    set -e
    echo "$rc"
}

section "tarball $tarball"
expected=$(printf '%s\n' "$name/" "$name/INSTALL.md" "$name/Makefile" "$name/README.md" \
    "$name/SHA256SUMS" "$name/VERSION" "$name/atvm-run-watcher" \
    "$name/atvm-run-watcher.env.example" "$name/$unit" "$name/$resume" "$name/atvm_run_watcher.py" \
    "$name/cancel-atvm-run-watcher.sh" "$name/known-issues.example.json" "$name/rules.example.json" \
    "$name/start-atvm-run-watcher.sh" | LC_ALL=C sort)
same "one top directory holding exactly the release files" "$expected" "$(tar tzf "$tarball" | LC_ALL=C sort)"
same "every entry is owned by 0/0" "" "$(tar tvzf "$tarball" | awk '$2 != "0/0"')"
check "the .sha256 beside the tarball verifies it" \
    sh -c 'cd "$(dirname "$1")" && sha256sum -c --quiet "$(basename "$1").sha256"' _ "$tarball"
mkdir "$work/unpacked"
tar xzf "$tarball" -C "$work/unpacked"
pkg=$work/unpacked/$name
check "SHA256SUMS verifies the unpacked files" sh -c 'cd "$1" && sha256sum -c --quiet SHA256SUMS' _ "$pkg"
same "SHA256SUMS lists every other file" \
    "$(cd "$pkg" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort)" \
    "$(awk '{print $2}' "$pkg/SHA256SUMS" | LC_ALL=C sort)"
same "VERSION is the tarball's version" "$version" "$(cat "$pkg/VERSION")"
if [[ $version =~ ^${crate_version//./\\.}\+([0-9a-f]{7}|nogit)(-dirty)?$ ]]; then
    ok "the version is Cargo.toml's $crate_version and the commit ($version)"
else
    fail "the version is Cargo.toml's $crate_version and the commit" "$version"
fi
same "the binary reports that version" "atvm-run-watcher $version" "$("$pkg/atvm-run-watcher" --version)"
has "the binary is static" <(file "$pkg/atvm-run-watcher") 'statically linked|static-pie linked'
check "INSTALL.md is the repository's" cmp -s "$pkg/INSTALL.md" "$repo/INSTALL.md"
# The shipped README is the operator's: the repository's without its developer-only blocks.
same "README.md is the repository's less its <!-- dev --> blocks" \
    "$(sed '/^<!-- dev/,/^<!-- \/dev -->$/d' "$repo/README.md" | cat -s)" "$(cat "$pkg/README.md")"
for dev in 'make demo' 'make test' 'make dist' 'make build' cargo rustup 'CONTRACT' '<!--' 'dev/setup.sh' 'src/' 'tests/'; do
    same "the shipped README.md says nothing of '$dev'" "" "$(grep -nF -- "$dev" "$pkg/README.md" || true)"
done
for section in "## Operator commands" "## The environment file" "### Exit codes" "## Delivery"; do
    has "the shipped README.md keeps '$section'" "$pkg/README.md" "^$section\$"
done
same "the shipped README.md opens with the program, not a build command" "atvm-run-watcher follows" \
    "$(sed -n '3p' "$pkg/README.md" | cut -c1-24)"
# The shipped docs stand on their own: nothing cites a file the tarball does not ship.
same "no shipped file cites CONTRACT.md" "" "$(grep -rlaF CONTRACT "$pkg" || true)"

printf '# VM inventory (test)\n| vm | os |\n' >"$work/vm-inventory.md"
inv_out=$(make -s -C "$repo" dist INVENTORY="$work/vm-inventory.md" DIST_OUT="$work/inv-out" 2>&1 | tail -n1)
same "make dist INVENTORY=...: last line is the tarball" "$work/inv-out/$name-x86_64.tar.gz" "$inv_out"
if [ -f "$inv_out" ]; then
    has_text "INVENTORY goes in as inventory/vm-inventory.md" <(tar tzf "$inv_out") "$name/inventory/vm-inventory.md"
    same "the inventory's content is kept" "$(cat "$work/vm-inventory.md")" \
        "$(tar xzOf "$inv_out" "$name/inventory/vm-inventory.md")"
fi

section "staged install with no toolchain and no Python"
check "the controller PATH has no cargo" sh -c '! PATH=$1 command -v cargo' _ "$minbin"
check "the controller PATH has no python3" sh -c '! PATH=$1 command -v python3 && ! PATH=$1 command -v python' _ "$minbin"
same "make with no target in the unpacked dir only prints its usage (exit 2)" 2 \
    "$(rc_of controller make -C "$pkg" 2>/dev/null)"

root=$work/root
P=$root$prefix
mkdir -p "$root/root/atvm-watcher-service"
echo "legacy notes 1" >"$root/root/atvm-watcher-service/notes.txt"
printf 'MATTERMOST_ATVM_WEBHOOK=https://chat.example.com/hooks/legacyhook\n' >"$root/root/atvm-watcher-service/watcher.env"
if run "$work/install1.log" controller make -C "$pkg" install DESTDIR="$root"; then
    ok "make install DESTDIR=... succeeds"
else
    fail "make install DESTDIR=... succeeds" "$(cat "$work/install1.log")"
fi
for f in atvm-run-watcher atvm_run_watcher.py start-atvm-run-watcher.sh cancel-atvm-run-watcher.sh; do
    same "$prefix/$f mode" 755 "$(mode "$P/$f")"
    check "$prefix/$f is the packaged file" cmp -s "$pkg/$f" "$P/$f"
done
for f in README.md INSTALL.md VERSION atvm-run-watcher.env.example rules.example.json known-issues.example.json; do
    same "$prefix/$f mode" 644 "$(mode "$P/$f")"
    check "$prefix/$f is the packaged file" cmp -s "$pkg/$f" "$P/$f"
done
same "$prefix mode" 755 "$(mode "$P")"
check "no inventory without one in the tarball" test ! -e "$P/inventory"
same "unit mode" 644 "$(mode "$root/etc/systemd/system/$unit")"
check "the unit is the packaged one (default PREFIX)" cmp -s "$pkg/$unit" "$root/etc/systemd/system/$unit"
same "resume unit mode" 644 "$(mode "$root/etc/systemd/system/$resume")"
check "the resume unit is the packaged one (default PREFIX)" cmp -s "$pkg/$resume" "$root/etc/systemd/system/$resume"
same "the resume unit is enabled in the staged tree: the link systemctl enable makes" \
    "/etc/systemd/system/$resume" "$(readlink "$root/$wants/$resume")"
same "the template is not enabled (started on demand only)" "" "$(find "$root/etc/systemd" -lname "*$unit" 2>/dev/null)"
has "install says it enabled the resume unit" "$work/install1.log" "enabled $resume: linked /$wants/$resume -> /etc/systemd/system/$resume"
same "a staged install runs no systemctl" "" "$(cat "$work/controller-systemctl.log" 2>/dev/null)"
envf=$root/etc/atvm-run-watcher.env
same "env file mode" 600 "$(mode "$envf")"
if [ "$(id -u)" = 0 ]; then same "env file owner" 0:0 "$(stat -c %u:%g "$envf")"; fi
check "env file created from the example" cmp -s "$pkg/atvm-run-watcher.env.example" "$envf"
same "state root mode" 750 "$(mode "$root/var/lib/atvm-run-watcher")"
same "no temporary files left" "" "$(find "$root" -name '*.installing')"
check "the leftover /root/atvm-watcher-service is gone from its place" test ! -e "$root/root/atvm-watcher-service"
replaced=("$root"/root/atvm-watcher-service.replaced-*)
same "it was moved aside once" 1 "${#replaced[@]}"
same "nothing in it was deleted" "legacy notes 1" "$(cat "${replaced[0]}/notes.txt" 2>/dev/null)"
has "install says it moved it, and where" "$work/install1.log" "moved the leftover temporary install /root/atvm-watcher-service aside to /root/atvm-watcher-service\.replaced-"
has "install names the leftover's env file and what to copy" "$work/install1.log" "note: /root/atvm-watcher-service\.replaced-[0-9TZ-]+/watcher\.env sets MATTERMOST_ATVM_WEBHOOK, and /etc/atvm-run-watcher\.env still has the example's placeholder: copy the MATTERMOST_ATVM_\* lines"
same "the leftover's webhook is not printed" "" "$(grep -l legacyhook "$work/install1.log" || true)"
has "install skips daemon-reload under DESTDIR" "$work/install1.log" "skipped systemctl daemon-reload"

section "make check"
if run "$work/check1.log" controller make -C "$pkg" check DESTDIR="$root"; then
    fail "make check refuses the example's placeholder webhook" "$(cat "$work/check1.log")"
else
    has "make check refuses the example's placeholder webhook" "$work/check1.log" "FAIL: .*placeholder"
fi
# The operator edits the env file (a rewrite in place keeps its mode, as an editor does).
marker="# operator's line $$-$RANDOM"
{ grep -v '^MATTERMOST_ATVM_WEBHOOK=' "$envf"; echo "MATTERMOST_ATVM_WEBHOOK=http://127.0.0.1:9/hooks/pkgtest"; echo "$marker"; } >"$work/env.new"
cat "$work/env.new" >"$envf"
cp "$envf" "$work/env.edited"
if run "$work/check2.log" controller make -C "$pkg" check DESTDIR="$root"; then
    ok "make check passes once the env file is edited"
else
    fail "make check passes once the env file is edited" "$(cat "$work/check2.log")"
fi
for c in "atvm-run-watcher --help" "atvm_run_watcher.py --help" "start-atvm-run-watcher.sh --help" "cancel-atvm-run-watcher.sh --help"; do
    has "make check runs $c" "$work/check2.log" "^ok: $prefix/$c\$"
done
has "make check skips systemctl cat (staged, no systemd)" "$work/check2.log" "skipped: systemctl cat"
has "make check checks the resume unit" "$work/check2.log" "^ok: /etc/systemd/system/$resume runs $prefix/atvm-run-watcher resume\$"
has "make check checks that it is enabled" "$work/check2.log" "^ok: $resume is enabled"
rm "$root/$wants/$resume"
if run "$work/check-noresume.log" controller make -C "$pkg" check DESTDIR="$root"; then
    fail "make check fails when the resume unit is not enabled" "$(cat "$work/check-noresume.log")"
else
    has "make check fails when the resume unit is not enabled" "$work/check-noresume.log" "^FAIL: $resume is not enabled"
fi
ln -s "/etc/systemd/system/$resume" "$root/$wants/$resume"

section "reinstall keeps the env file and the state"
mkdir -p "$root/var/lib/atvm-run-watcher/old-build"
echo '{"status":"COMPLETED"}' >"$root/var/lib/atvm-run-watcher/old-build/state.json"
chmod 0755 "$root/var/lib/atvm-run-watcher"
mkdir -p "$root/root/atvm-watcher-service"
echo "legacy notes 2" >"$root/root/atvm-watcher-service/notes.txt"
# A hand-made unit of the temporary install, in the place of the packaged one.
printf '[Service]\nExecStart=/root/atvm-watcher-service/atvm_run_watcher.py --build-name %%i\n' \
    >"$root/etc/systemd/system/$unit"
if run "$work/install2.log" controller make -C "$pkg" install DESTDIR="$root"; then
    ok "second make install succeeds"
else
    fail "second make install succeeds" "$(cat "$work/install2.log")"
fi
check "env file content kept (marker still there)" cmp -s "$work/env.edited" "$envf"
same "env file mode still 0600" 600 "$(mode "$envf")"
has "install says it kept the env file" "$work/install2.log" "kept the existing /etc/atvm-run-watcher.env"
has_text "the first install says what it installs" "$work/install1.log" "installing atvm-watcher-service $version (none installed in $prefix before)"
has_text "a unit that differs is replaced and named" "$work/install2.log" "replaced /etc/systemd/system/$unit, which ran: /root/atvm-watcher-service/atvm_run_watcher.py --build-name %i"
has_text "a reinstall says it is the same build" "$work/install2.log" "reinstalling atvm-watcher-service $version (the same build)"
echo "1.0.0+b8111cb" >"$P/VERSION"
run "$work/install3.log" controller make -C "$pkg" install DESTDIR="$root" || true
has_text "an upgrade says what it replaces" "$work/install3.log" "replacing atvm-watcher-service 1.0.0+b8111cb → $version"
same "state kept" '{"status":"COMPLETED"}' "$(cat "$root/var/lib/atvm-run-watcher/old-build/state.json")"
same "state root mode back to 0750" 750 "$(mode "$root/var/lib/atvm-run-watcher")"
replaced=("$root"/root/atvm-watcher-service.replaced-*)
same "a second leftover gets its own place beside the first" 2 "${#replaced[@]}"
same "both leftovers intact" "legacy notes 1,legacy notes 2" \
    "$(cat "${replaced[@]/%//notes.txt}" 2>/dev/null | LC_ALL=C sort | paste -sd,)"

chmod 0644 "$envf"
if run "$work/install3.log" controller make -C "$pkg" install DESTDIR="$root"; then
    ok "install with a group/other-readable env file succeeds"
else
    fail "install with a group/other-readable env file succeeds" "$(cat "$work/install3.log")"
fi
has "... and warns how to fix it" "$work/install3.log" "warning: .*mode 644.*chmod 0600 /etc/atvm-run-watcher.env"
same "... without changing the operator's file" "644 same" "$(mode "$envf") $(cmp -s "$work/env.edited" "$envf" && echo same)"
if run "$work/check3.log" controller make -C "$pkg" check DESTDIR="$root"; then
    fail "make check fails on a readable env file" "$(cat "$work/check3.log")"
else
    has "make check fails on a readable env file" "$work/check3.log" "FAIL: .*mode 0?644"
fi
chmod 0600 "$envf"

section "uninstall keeps the env file and the state"
# The operator's known-issues file: kept, and named.
echo '[]' >"$root/etc/atvm-run-watcher.known-issues.json"
if run "$work/uninstall.log" controller make -C "$pkg" uninstall DESTDIR="$root"; then
    ok "make uninstall DESTDIR=... succeeds"
else
    fail "make uninstall DESTDIR=... succeeds" "$(cat "$work/uninstall.log")"
fi
check "$prefix is gone" test ! -e "$P"
check "the unit is gone" test ! -e "$root/etc/systemd/system/$unit"
check "the resume unit is gone" test ! -e "$root/etc/systemd/system/$resume"
check "... and disabled (its link is gone)" test ! -L "$root/$wants/$resume"
has "uninstall says it removed the link" "$work/uninstall.log" "removed /$wants/$resume"
same "a staged uninstall runs no systemctl" "" "$(cat "$work/controller-systemctl.log" 2>/dev/null)"
check "the env file is kept as it was" cmp -s "$work/env.edited" "$envf"
same "... still 0600" 600 "$(mode "$envf")"
same "the state is kept" '{"status":"COMPLETED"}' "$(cat "$root/var/lib/atvm-run-watcher/old-build/state.json")"
same "the moved-aside leftovers are kept" 2 "$(find "$root/root" -maxdepth 1 -name 'atvm-watcher-service.replaced-*' | wc -l)"
has "uninstall says what it kept" "$work/uninstall.log" "kept /etc/atvm-run-watcher.env, /etc/atvm-run-watcher.known-issues.json and /var/lib/atvm-run-watcher"
same "the known-issues file is kept" "[]" "$(cat "$root/etc/atvm-run-watcher.known-issues.json")"
# Put it back for the tests below, which use the installed files.
run "$work/install4.log" controller make -C "$pkg" install DESTDIR="$root" ||
    fail "reinstall after uninstall succeeds" "$(cat "$work/install4.log")"

section "PREFIX"
root2=$work/root2
if run "$work/install-prefix.log" controller make -C "$pkg" install DESTDIR="$root2" PREFIX=/srv/atvm; then
    ok "make install PREFIX=/srv/atvm succeeds"
else
    fail "make install PREFIX=/srv/atvm succeeds" "$(cat "$work/install-prefix.log")"
fi
check "the binary is under the new PREFIX" test -x "$root2/srv/atvm/atvm-run-watcher"
has "the unit runs the binary from PREFIX" "$root2/etc/systemd/system/$unit" \
    '^ExecStart=/srv/atvm/atvm-run-watcher --build-name %i$'
same "the unit names no other install place" "" "$(grep -n "$prefix" "$root2/etc/systemd/system/$unit" || true)"
has "the resume unit runs the binary from PREFIX" "$root2/etc/systemd/system/$resume" \
    '^ExecStart=/srv/atvm/atvm-run-watcher resume$'
same "the resume unit names no other install place" "" "$(grep -n "$prefix" "$root2/etc/systemd/system/$resume" || true)"
for bad in relative/dir "/opt/with space" "/opt/a|b"; do
    if run "$work/bad-prefix.log" controller make -C "$pkg" install DESTDIR="$work/root3" PREFIX="$bad"; then
        fail "PREFIX='$bad' is refused" "$(cat "$work/bad-prefix.log")"
    else
        same "PREFIX='$bad' is refused before anything is written" "" "$(ls -A "$work/root3" 2>/dev/null)"
    fi
done
echo "operator's own notes" >"$root2/srv/atvm/notes.txt"
run "$work/uninstall-prefix.log" controller make -C "$pkg" uninstall DESTDIR="$root2" PREFIX=/srv/atvm ||
    fail "make uninstall PREFIX=/srv/atvm succeeds" "$(cat "$work/uninstall-prefix.log")"
same "uninstall keeps files it did not install (and so their directory)" notes.txt "$(ls -A "$root2/srv/atvm")"
check "... and removes the unit" test ! -e "$root2/etc/systemd/system/$unit"
check "... the resume unit and its link" sh -c '! test -e "$1/etc/systemd/system/$2" && ! test -L "$1/$3/$2"' _ "$root2" "$resume" "$wants"

section "compat entry point (atvm_run_watcher.py)"
# A stub binary beside a copy of the installed shim records the argv it gets, NUL-separated.
shimdir=$work/shim
mkdir -p "$shimdir" "$work/elsewhere"
cp -p "$P/atvm_run_watcher.py" "$shimdir/"
cat >"$shimdir/atvm-run-watcher" <<'EOF'
#!/bin/sh
: >"$STUB_OUT"
for a in "$@"; do printf '%s\0' "$a" >>"$STUB_OUT"; done
exit "${STUB_RC:-0}"
EOF
chmod 0755 "$shimdir/atvm-run-watcher"
ln -s "$shimdir/atvm_run_watcher.py" "$work/elsewhere/atvm_run_watcher.py"
awkward=(--build-name "with space" "" "--" "-x" "--template=a b" "it's" '"double"' 'back\slash'
    '$HOME' '*' '`id`' 'ünïcødé ✓' $'tab\there' $'new\nline' "  lead and trail  " "-")
printf '%s\0' "${awkward[@]}" >"$work/argv.want"
for how in direct python3 symlink python3-symlink relative python3-relative; do
    case $how in
        direct) cmd=("$shimdir/atvm_run_watcher.py") dir=$work ;;
        python3) cmd=(python3 -W error "$shimdir/atvm_run_watcher.py") dir=$work ;;
        symlink) cmd=("$work/elsewhere/atvm_run_watcher.py") dir=$work ;;
        python3-symlink) cmd=(python3 "$work/elsewhere/atvm_run_watcher.py") dir=$work ;;
        relative) cmd=(./atvm_run_watcher.py) dir=$shimdir ;;
        python3-relative) cmd=(python3 atvm_run_watcher.py) dir=$shimdir ;;
    esac
    rm -f "$work/argv.got"
    rc=$(cd "$dir" && STUB_OUT=$work/argv.got STUB_RC=3 rc_of "${cmd[@]}" "${awkward[@]}")
    same "$how: exit code kept" 3 "$rc"
    if cmp -s "$work/argv.want" "$work/argv.got"; then
        ok "$how: awkward arguments arrive unchanged"
    else
        fail "$how: awkward arguments arrive unchanged" "want: $(od -c "$work/argv.want" | head -5)" "got:  $(od -c "$work/argv.got" 2>/dev/null | head -5)"
    fi
    rc=$(cd "$dir" && STUB_OUT=$work/argv.got STUB_RC=0 rc_of "${cmd[@]}")
    same "$how: no arguments, exit 0" "0:0" "$rc:$(stat -c %s "$work/argv.got")"
done
rm "$shimdir/atvm-run-watcher"
rc=$(rc_of "$shimdir/atvm_run_watcher.py" --help 2>"$work/nobin.err")
same "no binary beside it: exit 127" 127 "$rc"
has "... with a message naming the missing binary" "$work/nobin.err" "$shimdir/atvm-run-watcher"
rc=$(rc_of python3 "$shimdir/atvm_run_watcher.py" --help 2>"$work/nobin.err")
same "python3, no binary beside it: exit 127" 127 "$rc"

# The installed shim with the real binary.
"$P/atvm-run-watcher" --help >"$work/help.want"
controller "$P/atvm_run_watcher.py" --help >"$work/help.direct" 2>&1 || true
check "installed shim, direct, no Python on PATH: --help is the binary's" cmp -s "$work/help.want" "$work/help.direct"
python3 "$P/atvm_run_watcher.py" --help >"$work/help.python" 2>&1 || true
check "installed shim under python3: --help is the binary's" cmp -s "$work/help.want" "$work/help.python"
same "direct: --build-name ../x is exit 2" 2 "$(rc_of "$P/atvm_run_watcher.py" --build-name ../x 2>/dev/null)"
same "python3: --build-name ../x is exit 2" 2 "$(rc_of python3 "$P/atvm_run_watcher.py" --build-name ../x 2>/dev/null)"

section "start and cancel helpers"
start_sh=$P/start-atvm-run-watcher.sh
cancel_sh=$P/cancel-atvm-run-watcher.sh
"$start_sh" --help >"$work/start.help"
for flag in --build-name --template --config-family --migration-style --integration-plugin --categorize --scope-description; do
    has "start-atvm-run-watcher.sh --help lists $flag" "$work/start.help" "(^|[[:space:]])$flag([[:space:]=]|\$)"
done
"$cancel_sh" --help >"$work/cancel.help"
for flag in --build-name --reason --no-stop; do
    has "cancel-atvm-run-watcher.sh --help lists $flag" "$work/cancel.help" "(^|[[:space:]])$flag([[:space:]=]|\$)"
done
ln -s "$start_sh" "$work/elsewhere/start-atvm-run-watcher"
check "start helper works through a symlink" sh -c '"$1" --help >/dev/null' _ "$work/elsewhere/start-atvm-run-watcher"
check "helpers run with no Python on PATH" controller sh -c '"$1" --help >/dev/null' _ "$cancel_sh"

cat >"$work/systemctl" <<'EOF'
#!/bin/sh
# stub systemctl: one line per call with its arguments
printf '%s\n' "$*" >>"$SYSTEMCTL_LOG"
exit "${SYSTEMCTL_RC:-0}"
EOF
chmod 0755 "$work/systemctl"
hstate=$work/hstate
hlog=$work/systemctl.log
# The file names the test state root: start refuses a state root the instance would not use.
printf 'MATTERMOST_ATVM_WEBHOOK=http://127.0.0.1:9/hooks/pkgtest\nATVM_WATCHER_STATE_ROOT=%s\n' "$hstate" >"$work/helper.env"
chmod 0600 "$work/helper.env"
# helper ENV_FILE COMMAND...: a helper run with the stub systemctl and a test state root.
helper() {
    local envfile=$1
    shift
    : >"$hlog"
    env -u MATTERMOST_ATVM_WEBHOOK ATVM_WATCHER_ENV_FILE="$envfile" ATVM_WATCHER_STATE_ROOT="$hstate" \
        ATVM_WATCHER_LOG_DIR="$work/hlogs" ATVM_WATCHER_SYSTEMCTL="$work/systemctl" \
        SYSTEMCTL_LOG="$hlog" "$@"
}
# The systemctl calls, options (--no-block, ...) left out: "verb unit" per call.
calls() { awk '{ s = ""; for (i = 1; i <= NF; i++) if ($i !~ /^-/) s = s (s == "" ? "" : " ") $i; print s }' "$hlog" | paste -sd';'; }
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps([d.get(k) for k in sys.argv[2:]]))' "$@"; }

# An invalid name: no side effect whether or not start exists.
probe=$(helper "$work/helper.env" "$start_sh" --build-name ../probe 2>&1 || true)
if grep -q "not implemented yet" <<<"$probe"; then
    # This branch's binary has no start/cancel yet (they land from main); these tests
    # switch on by themselves once it has them.
    skip "start/cancel through the helpers: 'start' is not implemented in this binary yet"
else
    rc=$(rc_of helper "$work/helper.env" "$start_sh" --build-name nightly-42 --template rhel9-to-ocp \
        --config-family vmware --migration-style warm --integration-plugin vddk \
        --scope-description "full regression" 2>"$work/start.err")
    same "start: exit 0" 0 "$rc"
    same "start: systemctl start atvm-run-watcher@nightly-42.service, once" \
        "start atvm-run-watcher@nightly-42.service" "$(calls)"
    same "start: request.json records the request" \
        '["nightly-42", "rhel9-to-ocp", "vmware", "warm", "vddk", "full regression", false]' \
        "$(json "$hstate/nightly-42/request.json" build_name template config_family migration_style integration_plugin scope_description categorize 2>&1)"
    rc=$(rc_of helper "$work/helper.env" "$start_sh" --build-name nightly-43 --categorize 2>/dev/null)
    same "start --categorize: exit 0, categorize recorded" '0 [true]' \
        "$rc $(json "$hstate/nightly-43/request.json" categorize 2>&1)"

    cp "$work/helper.env" "$work/readable.env"
    chmod 0640 "$work/readable.env"
    printf '# no webhook here\nMATTERMOST_ATVM_CHANNEL=x\n' >"$work/nowebhook.env"
    chmod 0600 "$work/nowebhook.env"
    for bad in readable.env:refused-1 nowebhook.env:refused-2 missing.env:refused-3 helper.env:../x; do
        envname=${bad%%:*} build=${bad#*:}
        rc=$(rc_of helper "$work/$envname" "$start_sh" --build-name "$build" 2>/dev/null)
        same "start refuses ($envname, --build-name $build): exit 2, no systemctl, nothing written" \
            "2 [] no" "$rc [$(calls)] $(test -e "$hstate/$build" && echo yes || echo no)"
    done
    rc=$(SYSTEMCTL_RC=1 rc_of helper "$work/helper.env" "$start_sh" --build-name nightly-44 2>/dev/null)
    same "start: a failing systemctl is exit 1" 1 "$rc"

    rc=$(rc_of helper "$work/helper.env" "$cancel_sh" --build-name nightly-42 --reason "operator said so" 2>/dev/null)
    same "cancel: exit 0" 0 "$rc"
    same "cancel: systemctl stop atvm-run-watcher@nightly-42.service, once" \
        "stop atvm-run-watcher@nightly-42.service" "$(calls)"
    check "cancel: cancelled.marker written" test -f "$hstate/nightly-42/cancelled.marker"
    same "cancel: the build is CANCELLED" '["CANCELLED"]' "$(json "$hstate/nightly-42/state.json" status 2>&1)"
    rc=$(rc_of helper "$work/helper.env" "$cancel_sh" --build-name nightly-43 --no-stop 2>/dev/null)
    same "cancel --no-stop: exit 0, no systemctl, marker written" "0 [] yes" \
        "$rc [$(calls)] $(test -f "$hstate/nightly-43/cancelled.marker" && echo yes)"
    rc=$(rc_of helper "$work/helper.env" "$cancel_sh" --build-name never-started 2>/dev/null)
    same "cancel of an unknown build: exit 2, no systemctl" "2 []" "$rc [$(calls)]"
fi

section "one reading of the env file: make check, check-webhook and start agree"
# Every variant of the issue, in the staged install: the tarball's make check (which runs
# the installed binary's check-webhook), check-webhook itself, and the start helper
# (--dry-run: every check, nothing started) give the same verdict, and name the cause.
cp "$envf" "$work/env.saved"
hook=http://127.0.0.1:9/hooks/pkgtest
# verdict|what a refusal says|the file (printf format)
variants=(
    "ok||MATTERMOST_ATVM_WEBHOOK=$hook\n"
    "ok||MATTERMOST_ATVM_WEBHOOK = $hook\n"
    "ok||MATTERMOST_ATVM_WEBHOOK=\"$hook\"\n"
    "ok||; a comment\n  MATTERMOST_ATVM_WEBHOOK = '$hook'  \n"
    "refused|MATTERMOST_ATVM_WEBHOOK ends with \`# prod hook\`|MATTERMOST_ATVM_WEBHOOK=$hook   # prod hook\n"
    "refused|MATTERMOST_ATVM_WEBHOOK ends with \`;old\`|MATTERMOST_ATVM_WEBHOOK=\"$hook\" ;old\n"
    "refused|systemd ignores \`export MATTERMOST_ATVM_WEBHOOK=...\`|export MATTERMOST_ATVM_WEBHOOK=$hook\n"
    "refused|the example's placeholder|MATTERMOST_ATVM_WEBHOOK=https://mattermost.example.com/hooks/REPLACE_ME\n"
    "refused|part of the comment above it|# the old hook \\\\\nMATTERMOST_ATVM_WEBHOOK=$hook\n"
    "refused|is not set|MATTERMOST_ATVM_CHANNEL=x\n"
    "refused|not a valid http|MATTERMOST_ATVM_WEBHOOK=ftp://127.0.0.1/x\n"
)
n=0
for v in "${variants[@]}"; do
    n=$((n + 1))
    want=${v%%|*} rest=${v#*|}
    why=${rest%%|*} text=${rest#*|}
    # shellcheck disable=SC2059 # the variant is the format
    printf "$text" >"$envf"
    # start also needs the state root the helpers use.
    # shellcheck disable=SC2059
    { printf "$text"; printf 'ATVM_WATCHER_STATE_ROOT=%s\n' "$hstate"; } >"$work/variant.env"
    chmod 0600 "$envf" "$work/variant.env"
    label="variant $n ($(head -c 60 "$envf" | tr '\n' ' '))"
    run "$work/v-check.log" controller make -C "$pkg" check DESTDIR="$root" || true
    line=$(grep -E '^(ok|FAIL): /etc/atvm-run-watcher.env' "$work/v-check.log" || true)
    cw=0 st=0
    run "$work/v-cw.log" env -i PATH="$minbin" ATVM_WATCHER_ENV_FILE="$envf" "$P/atvm-run-watcher" check-webhook || cw=$?
    run "$work/v-start.log" helper "$work/variant.env" "$start_sh" --build-name "variant-$n" --dry-run || st=$?
    case $want in
        ok) same "$label: make check, check-webhook, start all accept it" "ok: 0 0" "${line%%:*}: $cw $st" ;;
        refused)
            same "$label: make check, check-webhook, start all refuse it" "FAIL: 2 2" "${line%%:*}: $cw $st"
            for log in "$work/v-cw.log" "$work/v-start.log"; do
                if ! grep -qF -- "$why" "$log"; then fail "$label: $(basename "$log") says '$why'" "$(cat "$log")"; fi
            done
            if grep -qF -- "$why" <<<"$line"; then ok "$label: make check says '$why'"; else fail "$label: make check says '$why'" "$line"; fi
            ;;
    esac
    same "$label: nothing started" "" "$(calls)"
done
same "no secret in any of their output" "" "$(grep -l pkgtest "$work"/v-*.log || true)"

# The shipped known-issues example is a file the binary accepts, as the env file names it.
printf 'MATTERMOST_ATVM_WEBHOOK=%s\nATVM_WATCHER_KNOWN_ISSUES=%s\n' "$hook" "$P/known-issues.example.json" >"$envf"
chmod 0600 "$envf"
cw=0
run "$work/ki.log" env -i PATH="$minbin" ATVM_WATCHER_ENV_FILE="$envf" "$P/atvm-run-watcher" check-webhook || cw=$?
same "check-webhook accepts known-issues.example.json" "0 1" "$cw $(grep -c "known issues: 2 from $P/known-issues.example.json" "$work/ki.log")"
cp "$work/env.saved" "$envf"
chmod 0600 "$envf"

section "scripts"
check "the helpers and the shim's sh part parse as POSIX sh" sh -c \
    'sh -n "$1/start-atvm-run-watcher.sh" && sh -n "$1/cancel-atvm-run-watcher.sh" && sed -n "1,/^exec /p" "$1/atvm_run_watcher.py" | sh -n' _ "$pkg"
if command -v shellcheck >/dev/null; then
    check "shellcheck: the helpers" shellcheck -s sh "$pkg/start-atvm-run-watcher.sh" "$pkg/cancel-atvm-run-watcher.sh"
    check "shellcheck: the shim's sh part" sh -c 'sed -n "1,/^exec /p" "$1" | shellcheck -s sh -' _ "$pkg/atvm_run_watcher.py"
    check "shellcheck: this script" shellcheck "$0"
    check "shellcheck: dev/setup.sh" shellcheck "$repo/dev/setup.sh"
else
    skip "shellcheck is not installed (apt-get install -y shellcheck)"
fi

section "systemd unit"
u=$pkg/$unit
same "exactly one ExecStart, --build-name %i only" \
    "ExecStart=$prefix/atvm-run-watcher --build-name %i" "$(grep '^ExecStart' "$u")"
for line in "EnvironmentFile=/etc/atvm-run-watcher.env" "Restart=on-failure" "RestartPreventExitStatus=2 4" \
    "SyslogIdentifier=atvm-run-watcher" "ProtectSystem=strict" "ProtectHome=read-only" "PrivateTmp=yes" \
    "NoNewPrivileges=yes" "StateDirectory=atvm-run-watcher" "StateDirectoryMode=0750"; do
    has "unit has $line" "$u" "^$line\$"
done
has "unit restarts after a delay" "$u" '^RestartSec=[1-9]'
same "unit has no [Install] section (started on demand only)" "" "$(grep -n '^\[Install\]' "$u" || true)"
# ProtectProc= would hide root's Cypress from the capability-less watcher (--pid sees it
# gone); ProcSubset=pid keeps /proc/<pid> (all the watcher reads there).
same "unit leaves ProtectProc= alone" "" "$(grep -E '^ProtectProc=' "$u" || true)"
same "unit shows only processes in /proc" "ProcSubset=pid" "$(grep -E '^ProcSubset=' "$u" || true)"
families=$(sed -n 's/^RestrictAddressFamilies=//p' "$u")
for fam in AF_UNIX AF_INET AF_INET6; do
    has "unit allows $fam" <(tr ' ' '\n' <<<"$families") "^$fam\$"
done

# verify needs the ExecStart binary to exist: a copy of the unit runs the unpacked one.
mkdir "$work/verify"
sed "s|^ExecStart=$prefix/|ExecStart=$pkg/|" "$u" >"$work/verify/$unit"
if run "$work/verify.log" systemd-analyze verify "$work/verify/$unit"; then
    same "systemd-analyze verify passes, with nothing to say about the unit" "" \
        "$(grep -F 'atvm-run-watcher' "$work/verify.log" || true)"
else
    fail "systemd-analyze verify passes" "$(cat "$work/verify.log")"
fi
run "$work/security.log" systemd-analyze security --offline=true "$u" || true
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$work/security.log")
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    ok "systemd-analyze security --offline=true: exposure $score <= 2.0"
else
    fail "systemd-analyze security --offline=true: exposure <= 2.0" "score: '${score}'" "$(grep -E '✗|Overall' "$work/security.log")"
fi

# The syscall filter must let through what the watcher does: the allow lists (expanded
# recursively) less the deny lists (`~`).
expand() {
    local s
    systemd-analyze syscall-filter "$1" 2>/dev/null | awk 'NR > 1 && $1 !~ /^#/ { print $1 }' |
        while read -r s; do case $s in @*) expand "$s" ;; *) echo "$s" ;; esac done
}
allow='' deny=''
while read -r value; do
    read -r -a groups <<<"${value#\~}"
    for g in "${groups[@]}"; do
        case $value in
            "~"*) deny+=$(expand "$g")$'\n' ;;
            *) allow+=$(expand "$g")$'\n' ;;
        esac
    done
done < <(sed -n 's/^SystemCallFilter=//p' "$u")
allowed() { grep -qx "$1" <<<"$allow" && ! grep -qx "$1" <<<"$deny"; }
for sc in inotify_init1 inotify_add_watch inotify_rm_watch poll ppoll pidfd_open rt_sigaction \
    rt_sigprocmask pipe2 socket connect sendto recvfrom read write openat fstat newfstatat statfs \
    fstatfs fsync fdatasync renameat2 flock getrandom clock_nanosleep uname; do
    check "SystemCallFilter allows $sc" allowed "$sc"
done
# And the filter does filter (a broken expansion would let everything through).
for sc in setuid mount reboot init_module setrlimit; do
    check "SystemCallFilter denies $sc" eval '! allowed "$sc"'
done

section "resume unit"
r=$pkg/$resume
same "resume unit: exactly one ExecStart, resume" \
    "ExecStart=$prefix/atvm-run-watcher resume" "$(grep '^ExecStart' "$r")"
for line in "Type=oneshot" "Wants=network-online.target" "EnvironmentFile=-/etc/atvm-run-watcher.env" \
    "SyslogIdentifier=atvm-run-watcher-resume" "[Install]" "WantedBy=multi-user.target" \
    "RestrictAddressFamilies=AF_UNIX" "PrivateNetwork=yes"; do
    if grep -Fxq -- "$line" "$r"; then ok "resume unit has $line"; else fail "resume unit has $line" "$(cat "$r")"; fi
done
has "resume unit runs after the network is online" "$r" '^After=(.* )?network-online\.target( |$)'
# Hardened like the template: every hardening line of the template is the resume unit's too,
# but those of the state directory (it writes nothing) and the address families (AF_UNIX
# only, to talk to systemd).
while read -r line; do
    case $line in "" | "#"* | StateDirectory* | RestrictAddressFamilies=*) continue ;; esac
    if ! grep -Fxq -- "$line" "$r"; then fail "resume unit is hardened like the template: $line" "$(cat "$r")"; fi
done < <(sed -n '/^# --- Hardening/,$p' "$u")
ok "resume unit has every hardening line of the template"
sed "s|^ExecStart=$prefix/|ExecStart=$pkg/|" "$r" >"$work/verify/$resume"
if run "$work/verify-resume.log" systemd-analyze verify "$work/verify/$resume"; then
    same "systemd-analyze verify passes on the resume unit, with nothing to say about it" "" \
        "$(grep -F 'atvm-run-watcher' "$work/verify-resume.log" || true)"
else
    fail "systemd-analyze verify passes on the resume unit" "$(cat "$work/verify-resume.log")"
fi
run "$work/security-resume.log" systemd-analyze security --offline=true "$r" || true
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$work/security-resume.log")
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 1.0) }'; then
    ok "resume unit: systemd-analyze security --offline=true: exposure $score <= 1.0"
else
    fail "resume unit: exposure <= 1.0" "score: '${score}'" "$(grep -E '✗|Overall' "$work/security-resume.log")"
fi

elapsed=$((($(date +%s%N) - started) / 1000000))
printf '\npackage tests: %d passed, %d failed, %d skipped (%d ms)\n' "$passed" "$failed" "$skipped" "$elapsed"
if [ "$failed" != 0 ]; then exit 1; fi
