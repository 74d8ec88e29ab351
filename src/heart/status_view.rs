//! What `status` shows of each build: one `BuildSummary` per build directory, as a
//! table or as JSON (the `--json` shape is this struct's serialisation). Pure: the build
//! directories are read by `edges::build_dir` (`BuildDir::peek` gives a `Peeked`).

use crate::data::build_state::BuildState;
use crate::data::caps::SHOWN_DAMAGE;
use crate::data::run::{Failure, Flaky, SpecRow};
use crate::data::status::{Shown, Status};
use crate::data::time::Timestamp;
use serde::Serialize;
use std::time::{Duration, SystemTime};

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

/// One line of `status`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct BuildSummary {
    pub build: String,
    pub status: Option<Status>,
    pub categorize: bool,
    pub subruns_done: usize,
    pub subruns_total: usize,
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
    /// Why the build directory could not be read, if it could not.
    pub damaged: Option<String>,
    /// The digest (contract §9): the summary table's rows, failing and flaky tests.
    pub specs: Vec<SpecRow>,
    pub failures: Vec<Failure>,
    pub flaky: Vec<Flaky>,
}

impl BuildSummary {
    pub fn from_state(build: &str, st: &BuildState, watched: bool) -> BuildSummary {
        let total = st.subruns.len().max(st.planned_groups.len());
        BuildSummary {
            build: build.to_string(),
            status: Some(st.status()),
            categorize: st.categorize,
            subruns_done: st
                .subruns
                .iter()
                .filter(|s| s.run.status.is_terminal())
                .count(),
            subruns_total: total,
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
            damaged: None,
            specs: st.run.specs.clone(),
            failures: st.run.failures.clone(),
            flaky: st.run.flaky.clone(),
        }
    }

    /// `young`: the build directory was made seconds ago. A build being set up (its
    /// directory exists, its files not yet) is starting, not damaged; so is any build whose
    /// watcher holds it (the watcher sets an unreadable state.json aside itself).
    pub fn from_peek(build: &str, peeked: Peeked, watched: bool, young: bool) -> BuildSummary {
        match peeked {
            Peeked::State(st) | Peeked::Requested(st) => {
                BuildSummary::from_state(build, &st, watched)
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
            categorize: false,
            subruns_done: 0,
            subruns_total: 0,
            posted: false,
            post_pending: false,
            post_error: None,
            progress: None,
            last_activity_at: None,
            created_at: None,
            updated_at: None,
            watched,
            damaged: why,
            specs: Vec::new(),
            failures: Vec::new(),
            flaky: Vec::new(),
        }
    }
}

/// `1h 5m`-style age, two units at most.
fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

fn since(ts: &Option<String>, now: SystemTime) -> String {
    ts.as_deref()
        .and_then(Timestamp::parse)
        .map(|t| age(now.duration_since(t.0).unwrap_or_default()))
        .map_or("-".into(), |a| format!("{a} ago"))
}

/// The `status` table.
pub(crate) fn render_table(rows: &[BuildSummary], now: SystemTime) -> String {
    let mut cells: Vec<[String; 8]> = vec![[
        "BUILD".into(),
        "STATUS".into(),
        "SUB-RUNS".into(),
        "POSTED".into(),
        "PROGRESS".into(),
        "LAST LOG ACTIVITY".into(),
        "AGE".into(),
        "WATCHER".into(),
    ]];
    for r in rows {
        let status = match (&r.damaged, r.status) {
            (Some(_), _) => Shown::Damaged,
            (None, Some(s)) => Shown::Status(s),
            (None, None) => Shown::Starting,
        }
        .as_str()
        .to_string();
        let subruns = if r.categorize {
            format!("{}/{}", r.subruns_done, r.subruns_total)
        } else {
            "-".into()
        };
        let posted = match (r.posted, r.post_pending, &r.post_error) {
            (_, true, Some(_)) => "failed",
            (_, true, None) => "pending",
            (true, false, _) => "yes",
            (false, false, _) => "no",
        };
        let age_cell = r
            .created_at
            .as_deref()
            .and_then(Timestamp::parse)
            .map_or("-".into(), |t| {
                age(now.duration_since(t.0).unwrap_or_default())
            });
        let watcher = if r.watched { "running" } else { "-" };
        let progress = match &r.damaged {
            Some(why) => why.chars().take(SHOWN_DAMAGE).collect(),
            None => r.progress.clone().unwrap_or_else(|| "-".into()),
        };
        cells.push([
            r.build.clone(),
            status,
            subruns,
            posted.into(),
            progress,
            since(&r.last_activity_at, now),
            age_cell,
            watcher.into(),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for c in &cells {
        let line: Vec<String> = c
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `status --json`.
pub(crate) fn render_json(rows: &[BuildSummary]) -> String {
    serde_json::to_string_pretty(rows).expect("summaries encode")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        for (secs, want) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3599, "59m"),
            (3600, "1h 0m"),
            (3 * 3600 + 120, "3h 2m"),
            (90000, "1d 1h"),
        ] {
            assert_eq!(age(Duration::from_secs(secs)), want);
        }
    }

    #[test]
    fn table_shows_each_state_and_damage() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let t = |s: u64| Timestamp(now - Duration::from_secs(s));
        let mut a = BuildState::new(&"alpha".into(), false, "/l/alpha.log", t(7200));
        a.run.status = Status::Running;
        a.progress = Some(crate::data::build_state::Progress {
            index: 3,
            total: 9,
            spec: "x".into(),
        });
        a.last_activity_at = Some(t(30));
        let mut b = BuildState::new(&"beta".into(), true, "/l/beta.log", t(60));
        b.run.status = Status::Failed;
        b.post.post_pending = true;
        b.post.post_error = Some("HTTP 400".into());
        b.planned_groups = vec!["a".into(), "b".into()];
        let rows = vec![
            BuildSummary::from_state("beta", &b, false),
            BuildSummary::from_state("alpha", &a, true),
            BuildSummary::unread("gamma", Some("state.json: EOF while parsing".into()), false),
            BuildSummary::unread("delta", None, true),
        ];
        let table = render_table(&rows, now);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("BUILD"));
        assert!(
            lines[1].starts_with("beta ")
                && lines[1].contains("FAILED")
                && lines[1].contains("0/2")
                && lines[1].contains("failed"),
            "{table}"
        );
        assert!(
            lines[2].contains("RUNNING")
                && lines[2].contains("spec 3 of 9")
                && lines[2].contains("30s ago")
                && lines[2].contains("2h 0m")
                && lines[2].contains("running"),
            "{table}"
        );
        assert!(
            lines[3].contains("DAMAGED") && lines[3].contains("EOF while parsing"),
            "{table}"
        );
        assert!(
            lines[4].starts_with("delta") && lines[4].contains("STARTING"),
            "{table}"
        );
    }
}
