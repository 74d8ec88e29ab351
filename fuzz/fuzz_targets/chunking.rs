//! The matcher and state machine fed arbitrary bytes in arbitrary chunks: no panic,
//! bounded memory, the same decisions whatever the chunking
//! (`atvm_run_watcher::matcher::check`, which tests/it/fuzz_corpus.rs replays in CI).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    atvm_run_watcher::testing::check(data);
});
