//! The robustness tests (README.md, "Robustness tests"): the ones that load or exhaust the
//! machine, in a binary of their own whose tests run one at a time. Cargo runs test
//! binaries one after another, so none of them runs beside the integration tests (`it`)
//! or beside each other:
//!
//! - `scale` holds the user's inotify instances until only 6 are left: any watcher started
//!   meanwhile, by another test, follows its log by polling (every 500 ms) instead of
//!   by inotify, and a test that waits on it (or checks how it follows) slows or fails;
//! - `chaos` runs 200 watched runs, 8 at a time, SIGKILLing watchers: both cores busy for
//!   some ten seconds, which stretches every timing of a test beside it;
//! - `full_disk` mounts a tmpfs under its sandbox (root only).

#[allow(dead_code, unused_imports)] // the three tests use only part of the harness
#[path = "../support/mod.rs"]
mod support;

#[allow(dead_code)] // `make scale` (benches/scale.rs) reads more of its report
#[path = "../support/fleet.rs"]
mod fleet;

mod chaos;
mod full_disk;
mod scale;

use std::sync::{Mutex, MutexGuard};

/// Held by each test of this binary for its whole run, so that they run one at a time
/// whatever `--test-threads` says; a test that panicked does not block the next.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static ALONE: Mutex<()> = Mutex::new(());
    ALONE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
