#!/usr/bin/env bash
# What a make target needs on this machine, set up on the way: the README's `make demo` and
# `make test` (and `make e2e`) call this first, so a fresh machine needs nothing but Rust.
#
#   dev/setup.sh demo | build | lint | test | e2e | e2e-full
#
# Present: silent, a few dozen milliseconds. Missing: added with rustup (the musl target,
# the rustfmt and clippy components), as root on Debian with apt-get (`apt-get update`
# runs only then, once), and for `make test` the post checks' npm package (marked 0.3.6,
# pinned by tests/mattermost/package-lock.json) with `npm ci`. What cannot be installed
# from here stops the make with ONE line giving the command to run. Nothing else on the
# machine is changed.
set -euo pipefail

what=${1:?usage: dev/setup.sh demo|build|lint|test|e2e|e2e-full}
target=x86_64-unknown-linux-musl

# Debian package of each command checked below.
declare -A package=(
    [cc]=gcc [musl-gcc]=musl-tools [file]=file [python3]=python3
    [systemd-analyze]=systemd [shellcheck]=shellcheck [systemd-nspawn]=systemd-container
    [nsenter]=util-linux [debootstrap]=debootstrap [node]=nodejs [npm]=npm
)
commands=() # commands this target needs
rust=0      # needs cargo
musl=0      # needs the musl target
lint=0      # needs rustfmt and clippy
root=0      # needs root
npm=0       # needs tests/mattermost's npm package
case $what in
    demo) rust=1 commands=(cc) ;;
    build) rust=1 musl=1 commands=(cc musl-gcc file) ;;
    lint) rust=1 lint=1 ;;
    # lint, cargo test (the tests build with the host target), the release build and the
    # package tests (tests/package/run.sh: python3, systemd-analyze, shellcheck).
    # ... and the post checks (tests/mattermost: node, npm, marked 0.3.6).
    test) rust=1 musl=1 lint=1 npm=1 commands=(cc musl-gcc file python3 systemd-analyze shellcheck node npm) ;;
    e2e) rust=1 musl=1 root=1 commands=(cc musl-gcc file systemd-nspawn nsenter) ;;
    e2e-full) rust=1 musl=1 root=1 commands=(cc musl-gcc file systemd-nspawn nsenter debootstrap) ;;
    *) echo "usage: dev/setup.sh demo|build|lint|test|e2e|e2e-full" >&2; exit 2 ;;
esac

fail() { echo "error: $*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

if [ "$root" = 1 ] && ! is_root; then
    fail "make $what boots a systemd-nspawn container and so needs root; run: sudo make $what"
fi

if [ "$rust" = 1 ] && ! command -v cargo >/dev/null 2>&1; then
    fail "cargo is missing; install Rust with rustup (https://rustup.rs), then run make $what again"
fi

# Rust: the musl target (its standard library under the sysroot) and the lint components.
rust_missing=()
if [ "$musl" = 1 ] && [ ! -d "$(rustc --print sysroot)/lib/rustlib/$target/lib" ]; then
    rust_missing+=("target:$target")
fi
if [ "$lint" = 1 ]; then
    cargo fmt --version >/dev/null 2>&1 || rust_missing+=(component:rustfmt)
    cargo clippy --version >/dev/null 2>&1 || rust_missing+=(component:clippy)
fi
if [ "${#rust_missing[@]}" != 0 ]; then
    command -v rustup >/dev/null 2>&1 ||
        fail "missing Rust's ${rust_missing[*]#*:}, and no rustup to add it; install Rust with rustup (https://rustup.rs), then run make $what again"
    for m in "${rust_missing[@]}"; do
        kind=${m%%:*} name=${m#*:}
        echo "setup: rustup $kind add $name"
        rustup "$kind" add "$name" ||
            fail "rustup $kind add $name failed (above); run it by hand, then make $what again"
    done
fi

# Debian packages, for the commands that are missing.
missing=() packages=()
for c in "${commands[@]}"; do
    if ! command -v "$c" >/dev/null 2>&1; then
        missing+=("$c")
        packages+=("${package[$c]}")
    fi
done
if [ "${#missing[@]}" != 0 ]; then
    list="${packages[*]}"
    if is_root && command -v apt-get >/dev/null 2>&1; then
        echo "setup: apt-get install $list (for ${missing[*]})"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq ||
            fail "apt-get update failed (above); fix it, then run: apt-get install -y --no-install-recommends $list"
        apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null ||
            fail "apt-get install failed (above); run: apt-get install -y --no-install-recommends $list"
        for c in "${missing[@]}"; do
            command -v "$c" >/dev/null 2>&1 || fail "$c is still missing after apt-get install $list"
        done
    elif command -v apt-get >/dev/null 2>&1; then
        fail "missing ${missing[*]}; run: sudo apt-get install -y --no-install-recommends $list"
    else
        fail "missing ${missing[*]}; install them (Debian packages: $list), then run make $what again"
    fi
fi

# The post checks' npm package, as the lock file pins it (the registry is npm's).
marked=tests/mattermost/node_modules/marked/package.json
if [ "$npm" = 1 ] && ! grep -qs '"version": "0.3.6"' "$marked"; then
    echo "setup: npm ci --prefix tests/mattermost (marked 0.3.6, for the post checks)"
    npm ci --prefix tests/mattermost --ignore-scripts --no-audit --no-fund --loglevel=error ||
        fail "npm ci --prefix tests/mattermost failed (above); run it by hand, then make $what again"
fi
