#!/usr/bin/env bash
# Opt-in end-to-end test under a real systemd (`make test-systemd`, not part of `make test`):
# boots the host's own /usr as a throw-away systemd-nspawn container (tmpfs root), installs
# the release tarball there with its Makefile, and runs watchers through the hardened unit
# against a fake Mattermost on 127.0.0.1. It proves what the offline checks cannot: that
# the sandbox still lets the watcher read the log under /root, write its state, see root's
# run process (--pid), post, and that exit 2 is not restarted.
# Needs root, systemd-nspawn (Debian: systemd-container), nsenter, python3. About 5 s.
# Usage: tests/package/systemd-boot.sh dist/out/atvm-watcher-service-<version>-x86_64.tar.gz
set -euo pipefail

tarball=$(readlink -f "${1:?usage: systemd-boot.sh TARBALL}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
for t in systemd-nspawn nsenter python3; do
    command -v "$t" >/dev/null || { echo "error: $t is missing (apt-get install -y systemd-container util-linux python3)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "error: must run as root (it boots a container)" >&2; exit 1; }

work=$(mktemp -d)
nspid='' mmpid=''
cleanup() {
    [ -n "$mmpid" ] && kill "$mmpid" 2>/dev/null
    if [ -n "$nspid" ] && kill -0 "$nspid" 2>/dev/null; then
        ct systemctl poweroff 2>/dev/null || kill "$nspid" 2>/dev/null
        wait "$nspid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1" >&2; shift; printf '      %s\n' "$@" >&2; }
same() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "want: $2" "got:  $3"; fi; }

# --- fake Mattermost: answers ok, one line per post ------------------------------------
cat >"$work/mattermost.py" <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[1], "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
: >"$work/posts"
python3 "$work/mattermost.py" "$work/posts" "$work/port" &
mmpid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")

# --- boot -------------------------------------------------------------------------------
mkdir "$work/staging"
tar xzf "$tarball" -C "$work/staging"
pkg=/staging/$(basename "$tarball" -x86_64.tar.gz)
cp "$repo/tests/fixtures/completed-plain.log" "$work/staging/"
systemd-nspawn --quiet --register=no --keep-unit --machine="atvm-test-$$" -D / --volatile=yes \
    --bind-ro="$work/staging:/staging" -b --console=pipe systemd.mask=systemd-firstboot.service \
    </dev/null >"$work/console.log" 2>&1 &
nspid=$!
leader=''
for _ in $(seq 100); do
    for c in $(pgrep -P "$nspid" || true); do
        [ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && leader=$c
    done
    [ -n "$leader" ] && break
    sleep 0.1
done
[ -n "$leader" ] || { cat "$work/console.log" >&2; echo "error: the container did not boot" >&2; exit 1; }
ct() { nsenter -t "$leader" -a -- "$@"; }
# systemctl fails ("Failed to connect to bus") until systemd has its private socket.
for _ in $(seq 100); do ct test -S /run/systemd/private && break; sleep 0.1; done
state=$(timeout 30 nsenter -t "$leader" -a -- systemctl is-system-running --wait || true)
case $state in running | degraded) ok "container booted ($state)" ;; *) fail "container booted" "state: $state"; exit 1 ;; esac

# --- install ----------------------------------------------------------------------------
if ct make -C "$pkg" install >"$work/install.log" 2>&1; then ok "make install"; else fail "make install" "$(cat "$work/install.log")"; fi
# has DESC FILE PATTERN / hasnt DESC FILE PATTERN (grep -E)
has() { if grep -Eq -- "$3" "$2"; then ok "$1"; else fail "$1" "no /$3/ in:" "$(cat "$2")"; fi; }
hasnt() { if grep -Eiq -- "$3" "$2"; then fail "$1" "$(grep -Ei -- "$3" "$2")"; else ok "$1"; fi; }
has "install reloaded systemd" "$work/install.log" "ran systemctl daemon-reload"
ct sed -i "s|^MATTERMOST_ATVM_WEBHOOK=.*|MATTERMOST_ATVM_WEBHOOK=http://127.0.0.1:$port/hooks/boot-test|" /etc/atvm-run-watcher.env
if ct make -C "$pkg" check >"$work/check.log" 2>&1 && grep -q '^ok: systemctl cat' "$work/check.log"; then
    ok "make check (with systemctl cat)"
else
    fail "make check (with systemctl cat)" "$(cat "$work/check.log")"
fi

logdir=/root/cdc-e2e-cyp-12.17.4/cypress/cmcReporter/tmp
ct mkdir -p "$logdir"
ct chmod 0700 /root
# wait_done UNIT: until the unit is neither active nor activating (10 s at most).
wait_done() {
    local s
    for _ in $(seq 100); do
        s=$(ct systemctl show -p ActiveState --value "$1")
        case $s in active | activating | deactivating) sleep 0.1 ;; *) echo "$s"; return ;; esac
    done
    echo "$s"
}
field() { ct sed -n "s/^  \"$2\": \(.*\),\$/\1/p" "/var/lib/atvm-run-watcher/$1/state.json"; }

# --- a finished run: read under /root, state written, posted once -------------------------
ct cp /staging/completed-plain.log "$logdir/boot-1.log"
ct systemctl start atvm-run-watcher@boot-1.service
same "boot-1: the unit ends inactive, exit 0" "inactive 0" \
    "$(wait_done atvm-run-watcher@boot-1.service) $(ct systemctl show -p ExecMainStatus --value atvm-run-watcher@boot-1.service)"
same "boot-1: COMPLETED and posted" '"COMPLETED" true' "$(field boot-1 status) $(field boot-1 posted)"
same "boot-1: one post" 1 "$(wc -l <"$work/posts")"
has "boot-1: the post names status and build" "$work/posts" 'COMPLETED · boot-1'
hasnt "boot-1: the post names the host (/proc/sys/kernel/hostname readable)" "$work/posts" 'unknown-host'
ct systemctl start atvm-run-watcher@boot-1.service
wait_done atvm-run-watcher@boot-1.service >/dev/null
same "boot-1: a second start posts nothing more" 1 "$(wc -l <"$work/posts")"

# --- --pid: root's run process stays visible; the log appears after the start ------------
runpid=$(ct sh -c 'sleep 600 >/dev/null 2>&1 & echo $!')
ct sh -c "mkdir -p /var/lib/atvm-run-watcher/boot-2 && printf '{\"schema\":1,\"build_name\":\"boot-2\",\"pid\":$runpid}' >/var/lib/atvm-run-watcher/boot-2/request.json"
ct systemctl start atvm-run-watcher@boot-2.service
sleep 0.5
ct sh -c "sed -n '1,/Running:/p' /staging/completed-plain.log >$logdir/boot-2.log"
sleep 0.5
same "boot-2: still watching while the run's process lives" active "$(ct systemctl show -p ActiveState --value atvm-run-watcher@boot-2.service)"
ct kill "$runpid"
same "boot-2: the unit ends inactive after the process exits" inactive "$(wait_done atvm-run-watcher@boot-2.service)"
same "boot-2: TERMINATED, not posted" '"TERMINATED" false 1' "$(field boot-2 status) $(field boot-2 posted) $(wc -l <"$work/posts")"

# --- exit 2 is not restarted --------------------------------------------------------------
ct sh -c "mkdir -p /var/lib/atvm-run-watcher/boot-3 && printf '{\"schema\":1,\"build_name\":\"boot-3\",\"start_timeout\":\"soon\"}' >/var/lib/atvm-run-watcher/boot-3/request.json"
ct systemctl start atvm-run-watcher@boot-3.service || true
same "boot-3: a bad request fails with 2 and is not restarted" "failed 2" \
    "$(wait_done atvm-run-watcher@boot-3.service) $(ct systemctl show -p ExecMainStatus --value atvm-run-watcher@boot-3.service)"

ct journalctl --no-pager -o cat -u 'atvm-run-watcher@*' >"$work/journal" 2>&1 || true
hasnt "the journal shows no sandbox denials" "$work/journal" 'permission denied|operation not permitted|read-only file system'

printf '\nsystemd boot tests: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
