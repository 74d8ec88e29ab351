//! How one run went and whether its post was made: the two records every run carries. A
//! plain run, a sub-run and a categorized request all embed the same two (`serde(flatten)`),
//! so state.json, the message and `status` read one shape.

use super::status::Status;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// Test counts from the footer row of Cypress's summary table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Tests {
    pub total: u64,
    pub passed: u64,
    pub failed: u64,
    pub pending: u64,
    pub skipped: u64,
}

impl Tests {
    /// The sum of two runs' counts (saturating: the numbers come from the log).
    pub fn plus(self, o: Tests) -> Tests {
        Tests {
            total: self.total.saturating_add(o.total),
            passed: self.passed.saturating_add(o.passed),
            failed: self.failed.saturating_add(o.failed),
            pending: self.pending.saturating_add(o.pending),
            skipped: self.skipped.saturating_add(o.skipped),
        }
    }
}

/// How one run went (the whole run, one sub-run, or a categorized request's aggregate):
/// what state.json records and what the post says. Embedded with `serde(flatten)`, so the
/// fields sit at the top level of the JSON object as they always have.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    pub status: Status,
    pub tests: Option<Tests>,
    /// Cypress's own duration of the run (`12:41`), from the summary's footer row.
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub failed_specs: Vec<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Why the run is terminal.
    #[serde(default)]
    pub reason: Option<String>,
    /// Every row of the run's summary table (at most `MAX_SPECS`).
    #[serde(default)]
    pub specs: Vec<SpecRow>,
    /// Its failing tests, and the specs that failed without a list (at most `MAX_FAILURES`).
    #[serde(default)]
    pub failures: Vec<Failure>,
    /// Tests that passed after being retried (at most `MAX_FLAKY`).
    #[serde(default)]
    pub flaky: Vec<Flaky>,
    /// The last failure-list entry recorded for the spec in progress: a restart reads an
    /// open list again, and its entries up to this one are not recorded twice (two tests
    /// may have the same title: the text alone cannot tell a re-read).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub list_seen: u32,
    /// The run ended on one of Cypress's own errors (its line is the `reason`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub cypress_error: bool,
    /// Reasons seen for specs that may turn out to have failed without a failure list
    /// (a bundle error, a crash); used, then dropped, at the run's result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spec_errors: Vec<Failure>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl RunRecord {
    /// How many tests failed, as a post's heading counts them: the summary's failing count,
    /// or the failures listed when there are more (a hook failing after its test).
    pub fn failed_total(&self) -> usize {
        let failing = self
            .tests
            .map_or(0, |t| usize::try_from(t.failed).unwrap_or(usize::MAX));
        failing.max(self.failures.len())
    }

    /// The run is over: its status, why, and when.
    pub fn end(&mut self, status: Status, reason: String, at: SystemTime) {
        self.status = status;
        self.reason = Some(reason);
        self.finished_at = Some(Timestamp(at));
    }
}

/// What a skipped spec's row (a run cancelled from the Cypress Cloud) holds in its
/// duration column, as Cypress prints it.
pub(crate) const SKIPPED: &str = "SKIPPED";

/// One row of Cypress's summary table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct SpecRow {
    pub name: String,
    pub tests: u64,
    pub passed: u64,
    pub failed: u64,
    pub pending: u64,
    pub skipped: u64,
    pub duration: Option<String>,
}

impl SpecRow {
    /// The spec ran (its row is not one of a cancelled run's skipped specs).
    pub fn ran(&self) -> bool {
        self.duration.as_deref() != Some(SKIPPED)
    }
}

/// A failing test: its spec, its full title (the title lines joined with ` › `; `None`
/// for a spec that failed without a failure list) and its error's first line (for such a
/// spec: the reason Cypress gave, if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Failure {
    pub spec: String,
    pub title: Option<String>,
    pub error: Option<String>,
    /// The id of the known issue it matched (contract §10), set when its post is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
}

impl Failure {
    /// A failure of no known issue (yet).
    pub fn new(spec: String, title: Option<String>, error: Option<String>) -> Failure {
        Failure {
            spec,
            title,
            error,
            known: None,
        }
    }
}

/// A test that passed after being retried: `attempts` is the attempt that passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Flaky {
    pub spec: String,
    pub title: String,
    pub attempts: u32,
}

/// Whether a run's post was made. A run whose ending is never posted has both flags false.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct PostState {
    /// Delivered (Mattermost answered `ok`, or a `posted.marker` proves it).
    pub posted: bool,
    /// Decided and not delivered yet.
    #[serde(default)]
    pub post_pending: bool,
    /// Why the last delivery failed for good, while it is pending.
    #[serde(default)]
    pub post_error: Option<String>,
}

impl PostState {
    pub fn delivered(&mut self) {
        *self = PostState {
            posted: true,
            post_pending: false,
            post_error: None,
        };
    }
}
