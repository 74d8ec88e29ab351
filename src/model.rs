//! The shared vocabulary: run statuses, test counts, RFC 3339 timestamps, and the two
//! records every run carries: how it went (`RunOutcome`) and whether its post was made
//! (`PostState`). A plain run, a sub-run and a categorized request all embed the same two,
//! so state.json, the message and `status` read one shape.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// No log yet.
    #[default]
    Waiting,
    /// The log exists.
    Running,
    Completed,
    Failed,
    Cancelled,
    Terminated,
    Hung,
    Unknown,
}

impl Status {
    pub fn is_terminal(self) -> bool {
        !matches!(self, Status::Waiting | Status::Running)
    }

    /// COMPLETED and FAILED are posted; every other ending is only recorded.
    pub fn is_posted(self) -> bool {
        matches!(self, Status::Completed | Status::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "WAITING",
            Status::Running => "RUNNING",
            Status::Completed => "COMPLETED",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
            Status::Terminated => "TERMINATED",
            Status::Hung => "HUNG",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// A terminal status as written in `ATVM_GROUP_END` / `ATVM_RUN_END` lines
    /// (case-insensitive; `CANCELED` and `PASSED` are accepted as their usual synonyms).
    pub fn parse_terminal(word: &str) -> Option<Status> {
        let w = word.trim().to_ascii_uppercase();
        Some(match w.as_str() {
            "COMPLETED" | "PASSED" => Status::Completed,
            "FAILED" => Status::Failed,
            "CANCELLED" | "CANCELED" => Status::Cancelled,
            "TERMINATED" => Status::Terminated,
            "HUNG" => Status::Hung,
            "UNKNOWN" => Status::Unknown,
            _ => return None,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
pub(crate) struct RunOutcome {
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
    /// Reasons seen for specs that may turn out to have failed without a failure list
    /// (a bundle error, a crash); used, then dropped, at the run's result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spec_errors: Vec<Failure>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Most summary-table rows a run keeps.
pub(crate) const MAX_SPECS: usize = 500;
/// Most failing tests a run keeps (the post shows fewer).
pub(crate) const MAX_FAILURES: usize = 50;
/// Most flaky tests a run keeps.
pub(crate) const MAX_FLAKY: usize = 50;
/// What a categorized request keeps in all its sub-runs together (each at most the
/// per-run caps above): state.json and memory stay bounded whatever the number of groups.
pub(crate) const BUILD_MAX_SPECS: usize = 2000;
pub(crate) const BUILD_MAX_FAILURES: usize = 200;
pub(crate) const BUILD_MAX_FLAKY: usize = 200;
/// Failed spec names kept per run, and in all the sub-runs of a request together.
pub(crate) const MAX_FAILED_SPECS: usize = 1000;
pub(crate) const BUILD_MAX_FAILED_SPECS: usize = 2000;

/// Longest title or error line kept from the log, in characters.
pub(crate) const TEXT_CAP: usize = 300;

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

/// A failing test: its spec, its full title (the title lines joined with ` › `; `None`
/// for a spec that failed without a failure list) and its error's first line (for such a
/// spec: the reason Cypress gave, if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Failure {
    pub spec: String,
    pub title: Option<String>,
    pub error: Option<String>,
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

/// A wall-clock instant, stored as RFC 3339 UTC with milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Timestamp(pub SystemTime);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(SystemTime::now())
    }

    /// Times outside 1970..=9999 (a file dated 1969, say) are written as the nearest
    /// bound: RFC 3339 cannot say them, and humantime would panic.
    pub fn rfc3339(&self) -> String {
        const LAST: Duration = Duration::from_secs(253_402_300_799);
        let t = self.0.clamp(UNIX_EPOCH, UNIX_EPOCH + LAST);
        humantime::format_rfc3339_millis(t).to_string()
    }

    pub fn parse(text: &str) -> Option<Timestamp> {
        humantime::parse_rfc3339_weak(text).ok().map(Timestamp)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn statuses() {
        for (s, terminal, posted) in [
            (Status::Waiting, false, false),
            (Status::Running, false, false),
            (Status::Completed, true, true),
            (Status::Failed, true, true),
            (Status::Cancelled, true, false),
            (Status::Terminated, true, false),
            (Status::Hung, true, false),
            (Status::Unknown, true, false),
        ] {
            assert_eq!(s.is_terminal(), terminal, "{s}");
            assert_eq!(s.is_posted(), posted, "{s}");
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(Status::parse_terminal("failed"), Some(Status::Failed));
        assert_eq!(Status::parse_terminal("CANCELED"), Some(Status::Cancelled));
        assert_eq!(Status::parse_terminal("RUNNING"), None);
        assert_eq!(Status::parse_terminal("great"), None);
    }

    #[test]
    fn times_outside_rfc3339_are_clamped_not_panicking() {
        let before = Timestamp(UNIX_EPOCH - Duration::from_secs(86400 * 200));
        assert_eq!(before.rfc3339(), "1970-01-01T00:00:00.000Z");
        let far = Timestamp(UNIX_EPOCH + Duration::from_secs(400_000_000_000));
        assert_eq!(far.rfc3339(), "9999-12-31T23:59:59.000Z");
    }

    #[test]
    fn timestamps_round_trip() {
        let t = Timestamp(SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_000_000_123));
        let s = t.rfc3339();
        assert!(s.ends_with('Z') && s.contains('T'), "{s}");
        assert_eq!(Timestamp::parse(&s), Some(t));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
