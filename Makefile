# atvm-run-watcher — build, test, demo and package.
# Each target first sets up what it needs (dev/setup.sh): the musl target and the rustfmt and
# clippy components with rustup, and as root the Debian packages with apt-get; what it cannot
# install stops it with one line giving the command to run. Silent when all is there.
#   make / make build   static release binary for x86_64-unknown-linux-musl
#   make test           every test (what CI runs): lint, cargo test, package tests
#   make demo           a simulated run followed end to end, with the message it would post
#   make e2e            (root) the tarball installed and driven under a real systemd
#                       (systemd-nspawn); make e2e-full does it in a debootstrap root
#   make dist           the release tarball (INVENTORY=path adds inventory/vm-inventory.md);
#                       its last line of output is the tarball's path (run it here, or with
#                       `make -s -C DIR`: with -C alone make adds its own "Leaving directory")
#   make bench          latency, idle cost, catch-up, memory of the release binary (README: Performance)
#   make scale          300 watchers at once, past the inotify instance limit
#   make fuzz           the matcher / state machine fuzz target (nightly, cargo-fuzz), FUZZ_SECS

TARGET  := x86_64-unknown-linux-musl
BIN     := target/$(TARGET)/release/atvm-run-watcher
# The build's identity: the crate's version and the commit it is built from, `-dirty` when
# the tree has uncommitted changes (`nogit` outside a git checkout), so that two builds
# never share a tarball name, a VERSION or a `--version`. The binary takes it from
# ATVM_BUILD_VERSION at compile time.
CRATE_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
COMMIT  := $(shell git rev-parse --short=7 HEAD 2>/dev/null || echo nogit)
DIRTY   := $(shell git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --quiet HEAD -- 2>/dev/null && echo -dirty)
VERSION := $(CRATE_VERSION)+$(COMMIT)$(DIRTY)
export ATVM_BUILD_VERSION := $(VERSION)
CARGO   ?= cargo

# Release tarball: one top directory, DIST_NAME. Its README.md is the operator's: this
# README.md without the blocks between `<!-- dev ...` and `<!-- /dev -->` (building, testing,
# the source tree), so that the shipped docs stand on their own. DIST_OUT can be moved (the package tests
# build their INVENTORY variant elsewhere so that the real tarball stays as it was).
DIST_NAME := atvm-watcher-service-$(VERSION)
DIST_OUT  ?= dist/out
DIST_DIR   = $(DIST_OUT)/$(DIST_NAME)
TARBALL    = $(DIST_OUT)/$(DIST_NAME)-x86_64.tar.gz
INVENTORY ?=
# Reproducible archive: file times from the last commit (or now, outside git).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

SETUP = bash dev/setup.sh

.PHONY: all build test test-package e2e e2e-full lint demo dist clean

all: build

build:
	@$(SETUP) build
	$(CARGO) build --release --locked --target $(TARGET)
	@file $(BIN) | grep -Eq 'statically linked|static-pie linked' || { echo "error: $(BIN) is not statically linked" >&2; exit 1; }
	@echo "built $(BIN) ($$(stat -c %s $(BIN)) bytes, static)"

lint:
	@$(SETUP) lint
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

# Everything the whole run needs is set up first, in one go (one apt-get at most).
test:
	@$(SETUP) test
	@$(MAKE) --no-print-directory lint
	$(CARGO) test --locked
	@$(MAKE) --no-print-directory test-package

# Staged install from the real tarball, shim, helpers, unit checks: tests/package/run.sh.
test-package: dist
	bash tests/package/run.sh "$(TARBALL)"

# Root only: the tarball installed and driven under a real systemd booted in a
# systemd-nspawn container (tests/e2e/run.sh). e2e boots the host's own /usr (fast, CI);
# e2e-full a reproducible debootstrap root (built once into target/e2e-root).
e2e:
	@$(SETUP) e2e
	@$(MAKE) --no-print-directory dist
	bash tests/e2e/run.sh "$(TARBALL)"

e2e-full:
	@$(SETUP) e2e-full
	@$(MAKE) --no-print-directory dist
	E2E_ROOT=debootstrap bash tests/e2e/run.sh "$(TARBALL)"

demo:
	@$(SETUP) demo
	$(CARGO) build --release --locked --quiet
	@bash tests/demo.sh target/release/atvm-run-watcher

dist: build
	@if [ -n "$(INVENTORY)" ] && [ ! -f "$(INVENTORY)" ]; then echo "error: INVENTORY=$(INVENTORY) is not a file" >&2; exit 1; fi
	rm -rf "$(DIST_DIR)" "$(TARBALL)" "$(TARBALL).sha256"
	install -d -m 0755 "$(DIST_DIR)"
	install -m 0755 $(BIN) compat/atvm_run_watcher.py dist/start-atvm-run-watcher.sh \
		dist/cancel-atvm-run-watcher.sh "$(DIST_DIR)/"
	install -m 0644 systemd/atvm-run-watcher@.service systemd/atvm-run-watcher-resume.service \
		dist/atvm-run-watcher.env.example dist/known-issues.example.json \
		dist/rules.example.json INSTALL.md "$(DIST_DIR)/"
	sed '/^<!-- dev/,/^<!-- \/dev -->$$/d' README.md | cat -s >"$(DIST_DIR)/README.md" \
		&& chmod 0644 "$(DIST_DIR)/README.md"
	@[ "$$(grep -c '^<!-- dev' README.md)" = "$$(grep -c '^<!-- /dev -->$$' README.md)" ] \
		&& ! grep -q -e '<!--' -e '-->' "$(DIST_DIR)/README.md" \
		|| { echo "error: README.md: every <!-- dev ... block must end with a line <!-- /dev -->" >&2; exit 1; }
	install -m 0644 dist/install.mk "$(DIST_DIR)/Makefile"
	echo "$(VERSION)" >"$(DIST_DIR)/VERSION" && chmod 0644 "$(DIST_DIR)/VERSION"
	@if [ -n "$(INVENTORY)" ]; then set -x; install -d -m 0755 "$(DIST_DIR)/inventory" \
		&& install -m 0644 "$(INVENTORY)" "$(DIST_DIR)/inventory/vm-inventory.md"; fi
	cd "$(DIST_DIR)" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort \
		| xargs sha256sum >SHA256SUMS && chmod 0644 SHA256SUMS
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$(SOURCE_DATE_EPOCH)" \
		-C "$(DIST_OUT)" -cf - "$(DIST_NAME)" | gzip -n -9 >"$(TARBALL)"
	cd "$(DIST_OUT)" && sha256sum "$(notdir $(TARBALL))" >"$(notdir $(TARBALL)).sha256"
	@echo "$(abspath $(TARBALL))"

clean:
	$(CARGO) clean

.PHONY: bench scale fuzz
bench: build
	$(CARGO) bench --locked --bench bench

scale: build
	$(CARGO) bench --locked --bench scale

FUZZ_SECS ?= 600
fuzz:
	cd fuzz && $(CARGO) +nightly fuzz run chunking --sanitizer none -- -max_total_time=$(FUZZ_SECS) -max_len=20000 corpus/chunking
