//! What the integration tests, the benches and the fuzz target use of the crate's
//! insides, behind the `testing` feature (never in the release binary): the fuzz
//! property (`check`), the bench's in-process scan, the environment file's reading, the
//! machine's boot time, and a post as Mattermost shows it (`mattermost`), for the unit
//! tests too.

mod check;
pub mod mattermost;
pub mod nightlies;
mod rng;

pub use check::{Case, check};
pub use rng::Rng;

use crate::data::build_state::BuildState;
use crate::data::names::BuildName;
use crate::data::time::Timestamp;
use crate::edges::follower::read_whole;
use crate::heart::machine::{Machine, Timeouts};
use crate::heart::matcher::Scanner;
use crate::heart::pipeline::Pipeline;
use crate::heart::redact::Redactor;
use crate::heart::rules::Rules;
use std::fs::File;
use std::io;
use std::time::SystemTime;

/// The strings the scanner's prefilter looks for with the default rules (the bench greps
/// for the same strings).
pub fn default_anchors() -> Vec<String> {
    crate::heart::matcher::anchors(&Rules::default())
}

/// Reads the whole of `log` through the pipeline with the default rules, as a watch does
/// (in 256 KiB reads, a state machine deciding); returns the bytes read and the events
/// found (the bench's in-process scan).
pub fn scan(log: &File) -> io::Result<(u64, usize)> {
    let now = SystemTime::now();
    let name = BuildName::new("scan").expect("a valid name");
    let state = BuildState::new(&name, false, "scan.log", Timestamp(now));
    let machine = Machine::new(state, Timeouts::NONE);
    let scanner = Scanner::new(&Rules::default(), Redactor::default());
    let mut pipeline = Pipeline::new(scanner, machine);
    pipeline.opened(0, 0, now, now);
    // Counted, not kept: the scan's memory stays that of the pipeline.
    let mut events = 0usize;
    let bytes = read_whole(log, &mut pipeline, now, &mut |_, _| events += 1)?;
    Ok((bytes, events))
}

/// The assignments of an environment file's text as the watcher reads it, in file order
/// (the end-to-end test compares them with systemd's own reading).
pub fn env_file_assignments(text: &str) -> Vec<(String, String)> {
    crate::settings::envfile::parse(text)
        .assignments
        .into_iter()
        .map(|a| (a.name, a.value))
        .collect()
}

/// The machine's boot as a watch and `resume` see it (`sys::boot_time`): the tests date a
/// build before it, as a reboot would leave it.
pub fn boot_time() -> Option<SystemTime> {
    crate::edges::sys::boot_time()
}
