//! Replays the saved fuzz corpus (fuzz/corpus/chunking, minimized) through the same
//! chunking property as the fuzz target, so CI keeps what fuzzing found without nightly.
//! Inputs that once broke the property are kept as named tests below.

use atvm_run_watcher::testing::{Case, check};
use std::fs;
use std::path::Path;

#[test]
fn saved_corpus_keeps_the_chunking_property() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/chunking");
    let mut n = 0;
    for e in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if !p.is_file() {
            continue;
        }
        let data = fs::read(&p).unwrap();
        let r = std::panic::catch_unwind(|| check(&data));
        assert!(r.is_ok(), "{} breaks the property", p.display());
        n += 1;
    }
    assert!(n >= 10, "only {n} corpus files in {}", dir.display());
}

#[test]
fn fixture_logs_in_every_chunking_mode() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for e in fs::read_dir(&dir).unwrap() {
        let log = fs::read(e.unwrap().path()).unwrap();
        let cuts: Vec<u16> = (1..40u16).map(|k| k.wrapping_mul(997)).collect();
        for flags in 0..16u8 {
            check(&Case::encode(flags, &cuts, &log));
        }
    }
}

/// Found by fuzzing: a marker line of many short words gave a `Malformed` text one
/// character over `NAME_CAP` (a folded space was not counted).
#[test]
fn regression_folded_space_over_the_name_cap() {
    let mut log = b"ATVM_RUN_END:".to_vec();
    log.extend_from_slice(" ab".repeat(150).as_bytes());
    log.push(b'\n');
    check(&Case::encode(0, &[7, 200], &log));
}

/// Found by review: a retry left open when a group ended without a Cypress summary held the
/// saved position back before that group's end; a restart read ATVM_GROUP_END again and
/// ended the next group with it (a wrong FAILED post, the real result lost).
#[test]
fn regression_a_restart_never_reads_a_marker_twice() {
    let log = b"ATVM_GROUPS: g1,g2\nATVM_GROUP_START: g1\n  (Run Starting)\n  Running:  a.cy.js   (1 of 1)\n  (Attempt 1 of 2) migrates a VM\nATVM_GROUP_END: g1 FAILED\nATVM_GROUP_START: g2\n  (Run Starting)\n  Running:  b.cy.js   (1 of 1)\n";
    let cut = log.len() as u16;
    // Categorized (flag 1), restarted at the end of what was written so far.
    check(&Case::encode(1, &[cut, cut - 20], log));
}
