#!/usr/bin/env bash
# `make e2e`: the release tarball installed and driven under a real systemd, booted as PID 1
# of a systemd-nspawn container (tests/e2e/main.rs holds the cases). Needs root. What a
# controller keeps across a reboot (/etc, /opt, the state root, /root) is bound from host
# directories under the test's work directory, so that one case reboots the container
# mid-run (`systemctl reboot`, systemd-nspawn exits 133) and boots it again (reboot.rs).
#   E2E_ROOT=host (default): the host's own /usr on a tmpfs root (--volatile=yes): boots in
#     about half a second, no download; it depends on what the host has installed.
#   E2E_ROOT=debootstrap (`make e2e-full`): a reproducible Debian 12 minbase root built once
#     with debootstrap into target/e2e-root (about a minute, then cached), booted with
#     --volatile=overlay so that it stays unchanged.
# Usage: tests/e2e/run.sh dist/out/atvm-watcher-service-<version>-x86_64.tar.gz
set -euo pipefail
tarball=$(readlink -f "${1:?usage: run.sh TARBALL}")
cd "$(dirname "$0")/../.."
# `make e2e` set up what it needs first (dev/setup.sh e2e: root, systemd-nspawn, ...).
[ "$(id -u)" = 0 ] || { echo "e2e: must run as root (it boots a systemd-nspawn container)" >&2; exit 1; }
command -v systemd-nspawn >/dev/null || { echo "e2e: systemd-nspawn is missing; run it through make e2e, which installs it" >&2; exit 1; }

root=/
if [ "${E2E_ROOT:-host}" = debootstrap ]; then
    root=$PWD/target/e2e-root/bookworm
    if [ ! -x "$root/usr/bin/make" ]; then
        # The mirror this machine already uses (one-line or deb822 sources).
        mirror=$(sed -n -e 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\) .*/\2/p' -e 's/^URIs: *\(http[^ ]*\).*/\1/p' \
            /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -v security | head -n1 || true)
        rm -rf "$root.tmp"
        mkdir -p "$(dirname "$root")"
        debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,make bookworm "$root.tmp" \
            "${mirror:-http://deb.debian.org/debian}"
        rm -rf "$root"
        mv "$root.tmp" "$root"
    fi
fi

ATVM_E2E_TARBALL=$tarball ATVM_E2E_ROOT=$root \
    cargo test --locked --test e2e -- --ignored --nocapture --test-threads=1
