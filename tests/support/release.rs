//! The release binary the benches drive (benches/bench.rs, benches/scale.rs include this
//! file by path; the tests run cargo's test build of the binary).

use std::path::{Path, PathBuf};

/// The release musl binary the benches measure (`ATVM_BENCH_BIN` overrides it); panics
/// with what to run when it is missing.
pub fn release_binary(make_target: &str) -> PathBuf {
    let bin = std::env::var_os("ATVM_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/x86_64-unknown-linux-musl/release/atvm-run-watcher")
        });
    assert!(
        bin.exists(),
        "{} is missing: run `make build` first (make {make_target} does)",
        bin.display()
    );
    bin
}
