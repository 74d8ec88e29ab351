//! The integration tests, in one binary with one module per feature: the real binary run
//! against real files and a fake Mattermost on 127.0.0.1 (tests/support/). The tests that
//! load or exhaust the machine are in tests/robustness/, the systemd end-to-end test in
//! tests/e2e/.

#[path = "../support/mod.rs"]
mod support;

mod categorized;
mod commands;
mod delivery;
mod digest;
mod envfile;
mod fatal_errors;
mod fixtures;
mod fuzz_corpus;
mod history;
mod known_issues;
mod log_cuts;
mod log_edges;
mod prune;
mod reboot;
mod resume;
mod triage;
mod watch;
