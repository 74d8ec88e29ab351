# atvm-run-watcher — build, test, demo and package.
#   make / make build   static release binary for x86_64-unknown-linux-musl
#   make test           every test (what CI runs)
#   make demo           a simulated run followed end to end, with the message it would post
#   make bench          latency, idle cost, catch-up, memory of the release binary (README: Performance)
#   make scale          300 watchers at once, past the inotify instance limit
#   make fuzz           the matcher / state machine fuzz target (nightly, cargo-fuzz), FUZZ_SECS

TARGET  := x86_64-unknown-linux-musl
BIN     := target/$(TARGET)/release/atvm-run-watcher
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
CARGO   ?= cargo

.PHONY: all build toolchain test lint demo clean

all: build

toolchain:
	@command -v $(CARGO) >/dev/null 2>&1 || { echo "error: cargo not found; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
	@rustup target list --installed 2>/dev/null | grep -qx '$(TARGET)' || { echo "error: the Rust target $(TARGET) is missing; fix: rustup target add $(TARGET)" >&2; exit 1; }
	@command -v musl-gcc >/dev/null 2>&1 || { echo "error: no C compiler for musl (musl-gcc); fix: apt-get install -y musl-tools" >&2; exit 1; }

build: toolchain
	$(CARGO) build --release --locked --target $(TARGET)
	@file $(BIN) | grep -Eq 'statically linked|static-pie linked' || { echo "error: $(BIN) is not statically linked" >&2; exit 1; }
	@echo "built $(BIN) ($$(stat -c %s $(BIN)) bytes, static)"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

test: lint
	$(CARGO) test --locked

demo:
	$(CARGO) build --release --locked --quiet
	@bash tests/demo.sh target/release/atvm-run-watcher

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
