//! What `status` shows of each build: one `BuildSummary` per build directory, as a
//! table, a detail view of one build (`table.rs`) or JSON (the `--json` shape is this
//! struct's serialisation, one build at a time so that the list is streamed). Pure: the
//! build directories are read by `edges::build_dir` (`BuildDir::peek` gives a `Peeked`),
//! and whether a build needs a watcher it lacks is `heart::resume::choose`'s to say.

use crate::data::build_state::{BuildState, SubrunState};
use crate::data::run::{Failure, Flaky, SpecRow};
use crate::data::status::Status;
use serde::Serialize;

mod table;
#[cfg(test)]
pub(crate) use table::render_table;
pub(crate) use table::{Row, render_detail, render_rows, table_row};

/// What a read-only look at a build directory found.
pub(crate) enum Peeked {
    /// state.json, with the posted markers applied.
    State(Box<BuildState>),
    /// No state.json yet, but a request: the state a watcher would start from.
    Requested(Box<BuildState>),
    /// Neither state.json nor request.json: being set up, or damaged.
    Empty,
    /// Unreadable, and why.
    Damaged(String),
}

/// The WATCHER column (`watcher` in `--json`; `-`, null, when neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Watcher {
    /// A watcher holds the build.
    Running,
    /// The build is live or has a post pending, and no watcher holds it (contract §7):
    /// forgotten, after a reboot say; `resume` would start its instance.
    Missing,
}

impl Watcher {
    fn of(watched: bool, forgotten: bool) -> Option<Watcher> {
        match (watched, forgotten) {
            (true, _) => Some(Watcher::Running),
            (false, true) => Some(Watcher::Missing),
            (false, false) => None,
        }
    }

    /// The word the table and the JSON show.
    pub fn word(w: Option<Watcher>) -> &'static str {
        match w {
            Some(Watcher::Running) => "running",
            Some(Watcher::Missing) => "none",
            None => "-",
        }
    }
}

impl Serialize for Watcher {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(Watcher::word(Some(*self)))
    }
}

/// One line of `status`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct BuildSummary {
    pub build: String,
    pub status: Option<Status>,
    /// Why it ended (a cancel's reason, "no log file appeared within 30m", ...).
    pub reason: Option<String>,
    pub finished_at: Option<String>,
    pub log_file: Option<String>,
    pub categorize: bool,
    /// Sub-runs finished (any end), of those seen or planned (`subruns_total`).
    pub subruns_done: usize,
    pub subruns_total: usize,
    /// Sub-runs the plan (`ATVM_GROUPS`) announced, when it did.
    pub subruns_planned: Option<usize>,
    /// Sub-runs whose post was delivered.
    pub subruns_posted: usize,
    pub subruns: Vec<SubrunSummary>,
    pub posted: bool,
    pub post_pending: bool,
    pub post_error: Option<String>,
    /// `spec i of n`.
    pub progress: Option<String>,
    pub last_activity_at: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// A watcher holds the build right now.
    pub watched: bool,
    /// Who watches it (the WATCHER column).
    pub watcher: Option<Watcher>,
    /// Why the build directory could not be read, if it could not.
    pub damaged: Option<String>,
    /// The digest (contract §9): the summary table's rows, failing and flaky tests.
    pub specs: Vec<SpecRow>,
    pub failures: Vec<Failure>,
    pub flaky: Vec<Flaky>,
}

/// One sub-run of a categorized build.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct SubrunSummary {
    pub key: String,
    pub name: String,
    pub status: Status,
    pub posted: bool,
    pub post_pending: bool,
    pub post_error: Option<String>,
    pub finished_at: Option<String>,
    pub reason: Option<String>,
}

impl SubrunSummary {
    fn of(s: &SubrunState) -> SubrunSummary {
        SubrunSummary {
            key: s.key.to_string(),
            name: s.name.clone(),
            status: s.run.status,
            posted: s.post.posted,
            post_pending: s.post.post_pending,
            post_error: s.post.post_error.clone(),
            finished_at: s.run.finished_at.map(|t| t.rfc3339()),
            reason: s.run.reason.clone(),
        }
    }
}

impl BuildSummary {
    /// `forgotten`: live or with a post pending, and no watcher (`Watcher::Missing`).
    pub fn from_state(
        build: &str,
        st: &BuildState,
        watched: bool,
        forgotten: bool,
    ) -> BuildSummary {
        let planned = (!st.planned_groups.is_empty()).then_some(st.planned_groups.len());
        let total = st.subruns.len().max(planned.unwrap_or(0));
        BuildSummary {
            build: build.to_string(),
            status: Some(st.status()),
            reason: st.run.reason.clone(),
            finished_at: st.run.finished_at.map(|t| t.rfc3339()),
            log_file: Some(st.log_file.clone()),
            categorize: st.categorize,
            subruns_done: st
                .subruns
                .iter()
                .filter(|s| s.run.status.is_terminal())
                .count(),
            subruns_total: total,
            subruns_planned: planned,
            subruns_posted: st.subruns.iter().filter(|s| s.post.posted).count(),
            subruns: st.subruns.iter().map(SubrunSummary::of).collect(),
            posted: st.post.posted,
            post_pending: st.post.post_pending,
            post_error: st.post.post_error.clone(),
            progress: st
                .progress
                .as_ref()
                .map(|p| format!("spec {} of {}", p.index, p.total)),
            last_activity_at: st.last_activity_at.map(|t| t.rfc3339()),
            created_at: Some(st.created_at.rfc3339()),
            updated_at: Some(st.updated_at.rfc3339()),
            watched,
            watcher: Watcher::of(watched, forgotten),
            damaged: None,
            specs: st.run.specs.clone(),
            failures: st.run.failures.clone(),
            flaky: st.run.flaky.clone(),
        }
    }

    /// `young`: the build directory was made seconds ago. A build being set up (its
    /// directory exists, its files not yet) is starting, not damaged; so is any build whose
    /// watcher holds it (the watcher sets an unreadable state.json aside itself).
    pub fn from_peek(
        build: &str,
        peeked: Peeked,
        watched: bool,
        young: bool,
        forgotten: bool,
    ) -> BuildSummary {
        match peeked {
            Peeked::State(st) | Peeked::Requested(st) => {
                BuildSummary::from_state(build, &st, watched, forgotten)
            }
            Peeked::Empty if watched || young => BuildSummary::unread(build, None, watched),
            Peeked::Damaged(_) if watched => BuildSummary::unread(build, None, watched),
            Peeked::Empty => {
                let why = "no state.json and no request.json".to_string();
                BuildSummary::unread(build, Some(why), watched)
            }
            Peeked::Damaged(why) => BuildSummary::unread(build, Some(why), watched),
        }
    }

    /// A build whose state could not be read: damaged (`why`), or starting.
    fn unread(build: &str, why: Option<String>, watched: bool) -> BuildSummary {
        BuildSummary {
            build: build.to_string(),
            status: None,
            reason: None,
            finished_at: None,
            log_file: None,
            categorize: false,
            subruns_done: 0,
            subruns_total: 0,
            subruns_planned: None,
            subruns_posted: 0,
            subruns: Vec::new(),
            posted: false,
            post_pending: false,
            post_error: None,
            progress: None,
            last_activity_at: None,
            created_at: None,
            updated_at: None,
            watched,
            watcher: Watcher::of(watched, false),
            damaged: why,
            specs: Vec::new(),
            failures: Vec::new(),
            flaky: Vec::new(),
        }
    }
}

impl BuildSummary {
    /// This build as an element of `status --json`.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("summaries encode")
    }
}

#[cfg(test)]
mod tests;
