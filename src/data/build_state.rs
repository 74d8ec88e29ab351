//! What state.json holds: a build, its sub-runs and where the follower stands in its log;
//! and `Target`, what a post is about. Data and the questions asked of it; the rules that
//! change it are in `heart::machine`.

use super::caps::{MAX_FAILURES, MAX_FLAKY, MAX_SPECS};
use super::names::{BuildName, SubrunKey};
use super::request::Request;
use super::run::{PostState, RunRecord, Tests};
use super::status::Status;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The state.json format version; another one is unreadable (moved aside, rebuilt).
pub(crate) const SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Progress {
    pub index: u32,
    pub total: u32,
    pub spec: String,
}

/// Where the follower stands in the log: the byte to read next (see
/// `Scanner::resume_offset`) of the file identified by device and inode, and that file's
/// fingerprint there (device and inode alone are no identity: a file replaced while no
/// watcher ran can get the freed inode number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogPosition {
    pub offset: u64,
    pub dev: u64,
    pub inode: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<u64>,
    /// Where the last line that decided something about the run begins (`Scanner::
    /// boundary`): a restart reads back from there for a fatal error the log rests on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SubrunState {
    pub key: SubrunKey,
    pub name: String,
    /// 1-based position among the sub-runs.
    pub index: u32,
    #[serde(flatten)]
    pub run: RunRecord,
    #[serde(flatten)]
    pub post: PostState,
    #[serde(default)]
    pub progress: Option<Progress>,
    /// A `(Run Starting)` belongs to this sub-run.
    #[serde(default)]
    pub run_seen: bool,
    /// Opened by `ATVM_GROUP_START` (a following `(Run Starting)` does not open another).
    #[serde(default)]
    pub opened_by_marker: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BuildState {
    pub schema: u32,
    pub build_name: BuildName,
    pub categorize: bool,
    /// The run (plain), or the request's aggregate (categorized: its tests are the sum of
    /// the sub-runs').
    #[serde(flatten)]
    pub run: RunRecord,
    /// Plain: the run's post. Categorized: `posted` once every needed sub-run post was
    /// delivered, `post_pending` while one is not.
    #[serde(flatten)]
    pub post: PostState,
    pub subruns: Vec<SubrunState>,
    pub log_file: String,
    /// The build's first watch: the start timeout counts from here, across restarts.
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub progress: Option<Progress>,
    /// A `(Run Starting)` was seen (decides TERMINATED vs UNKNOWN when `--pid` exits).
    #[serde(default)]
    pub run_seen: bool,
    #[serde(default)]
    pub planned_groups: Vec<String>,
    /// `ATVM_GROUPS` announced more than `planned_groups` holds: the plan does not end
    /// the request.
    #[serde(default, skip_serializing_if = "is_false")]
    pub plan_cut: bool,
    /// `ATVM_RUN_END`'s status, which decides the request's status.
    #[serde(default)]
    pub run_end: Option<Status>,
    /// Last growth of the log (the hung timeout counts from here).
    #[serde(default)]
    pub last_activity_at: Option<Timestamp>,
    #[serde(default)]
    pub log_position: Option<LogPosition>,
    #[serde(default)]
    pub dry_run: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a post is about: the whole run, or one sub-run (index into `subruns`). Ordered
/// so that due posts go out run first, then sub-runs in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Target {
    Run,
    Subrun(usize),
}

impl BuildState {
    pub fn new(
        build_name: &BuildName,
        categorize: bool,
        log_file: &str,
        created_at: Timestamp,
    ) -> BuildState {
        BuildState {
            schema: SCHEMA,
            build_name: build_name.clone(),
            categorize,
            run: RunRecord::default(),
            post: PostState::default(),
            subruns: Vec::new(),
            log_file: log_file.to_string(),
            created_at,
            updated_at: created_at,
            progress: None,
            run_seen: false,
            planned_groups: Vec::new(),
            plan_cut: false,
            run_end: None,
            last_activity_at: None,
            log_position: None,
            dry_run: false,
        }
    }

    /// A fresh state for a request (first watch, or state.json lost): the start timeout
    /// still counts from when the request was first recorded.
    pub fn for_request(r: &Request, now: Timestamp) -> BuildState {
        let created = r
            .created_at
            .as_deref()
            .and_then(Timestamp::parse)
            .unwrap_or(now);
        let log = r
            .log_file
            .as_deref()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        BuildState::new(&r.build_name, r.categorize, &log, created)
    }

    pub fn status(&self) -> Status {
        self.run.status
    }

    /// The request is over (its own status is terminal).
    pub fn finished(&self) -> bool {
        self.run.status.is_terminal()
    }

    /// A watcher has work here (contract §7): the run is live, or a post it needs is not
    /// delivered yet. A dry run's state is no real watcher's work.
    pub fn wants_watcher(&self) -> bool {
        !self.dry_run && (!self.finished() || self.post.post_pending)
    }

    pub fn run_of(&self, t: Target) -> &RunRecord {
        match t {
            Target::Run => &self.run,
            Target::Subrun(i) => &self.subruns[i].run,
        }
    }

    pub fn run_of_mut(&mut self, t: Target) -> &mut RunRecord {
        match t {
            Target::Run => &mut self.run,
            Target::Subrun(i) => &mut self.subruns[i].run,
        }
    }

    pub fn post_of(&self, t: Target) -> &PostState {
        match t {
            Target::Run => &self.post,
            Target::Subrun(i) => &self.subruns[i].post,
        }
    }

    pub fn post_of_mut(&mut self, t: Target) -> &mut PostState {
        match t {
            Target::Run => &mut self.post,
            Target::Subrun(i) => &mut self.subruns[i].post,
        }
    }

    /// `the FAILED result` or `sub-run 02-windows (FAILED)`, for log lines.
    pub fn label(&self, t: Target) -> String {
        match t {
            Target::Run => format!("the {} result", self.run.status),
            Target::Subrun(i) => {
                let s = &self.subruns[i];
                format!("sub-run {} ({})", s.key, s.run.status)
            }
        }
    }

    /// Every run that posts (the plain run, or each sub-run; a categorized request's own
    /// status is never posted).
    pub fn post_targets(&self) -> Vec<Target> {
        if self.categorize {
            (0..self.subruns.len()).map(Target::Subrun).collect()
        } else {
            vec![Target::Run]
        }
    }

    /// Posts decided but not delivered.
    pub fn pending_posts(&self) -> Vec<Target> {
        self.post_targets()
            .into_iter()
            .filter(|&t| self.post_of(t).post_pending)
            .collect()
    }

    /// Keeps the request's `posted`, `post_pending`, `post_error` and `tests` true to its
    /// sub-runs.
    pub fn refresh_aggregate(&mut self) {
        if !self.categorize {
            return;
        }
        let subs = &self.subruns;
        let needed: Vec<&SubrunState> = subs
            .iter()
            .filter(|s| s.post.posted || s.post.post_pending)
            .collect();
        self.post = PostState {
            posted: !needed.is_empty() && needed.iter().all(|s| s.post.posted),
            post_pending: subs.iter().any(|s| s.post.post_pending),
            post_error: subs
                .iter()
                .find_map(|s| s.post.post_error.clone().filter(|_| s.post.post_pending)),
        };
        self.run.tests = subs.iter().filter_map(|s| s.run.tests).reduce(Tests::plus);
        // The request sums its sub-runs' digests, within the same caps.
        let run = &mut self.run;
        run.specs = subs
            .iter()
            .flat_map(|s| &s.run.specs)
            .take(MAX_SPECS)
            .cloned()
            .collect();
        run.failures = subs
            .iter()
            .flat_map(|s| &s.run.failures)
            .take(MAX_FAILURES)
            .cloned()
            .collect();
        run.flaky = subs
            .iter()
            .flat_map(|s| &s.run.flaky)
            .take(MAX_FLAKY)
            .cloned()
            .collect();
    }

    /// How many entries run `t` may hold in one of its lists (`len` reads it): the per-run
    /// `cap`, and in a categorized request what the other sub-runs left of `build_cap`.
    pub fn room(
        &self,
        t: Target,
        cap: usize,
        build_cap: usize,
        len: fn(&RunRecord) -> usize,
    ) -> usize {
        let Target::Subrun(i) = t else {
            return cap;
        };
        let others: usize = self
            .subruns
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, s)| len(&s.run))
            .sum();
        cap.min(build_cap.saturating_sub(others))
    }

    /// The sub-run that has not ended yet, if any.
    pub fn open_subrun(&self) -> Option<usize> {
        self.subruns
            .iter()
            .rposition(|s| !s.run.status.is_terminal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every field of `before` is in `after` with the same value; what `after` adds is
    /// only the digest's fields (contract §9), empty.
    fn keeps_every_field(before: &Value, after: &Value) {
        let (b, a) = (before.as_object().unwrap(), after.as_object().unwrap());
        for (k, v) in b {
            if k == "subruns" {
                let (bs, as_) = (v.as_array().unwrap(), a[k].as_array().unwrap());
                assert_eq!(bs.len(), as_.len());
                bs.iter()
                    .zip(as_)
                    .for_each(|(x, y)| keeps_every_field(x, y));
            } else {
                assert_eq!(a.get(k), Some(v), "{k}");
            }
        }
        for (k, v) in a.iter().filter(|(k, _)| !b.contains_key(*k)) {
            assert!(
                ["specs", "failures", "flaky"].contains(&k.as_str()),
                "{k} added"
            );
            assert_eq!(v, &Value::Array(vec![]), "{k}");
        }
    }

    /// state.json files written by the binary before `RunRecord` and `PostState` existed
    /// (and before the digest): read and written back, they keep every field and value.
    #[test]
    fn state_files_of_the_previous_layout_round_trip() {
        for text in [
            include_str!("../../tests/data/state-v1-plain.json"),
            include_str!("../../tests/data/state-v1-categorized.json"),
        ] {
            let before: Value = serde_json::from_str(text).unwrap();
            let st: BuildState = serde_json::from_str(text).unwrap();
            keeps_every_field(&before, &serde_json::to_value(&st).unwrap());
        }
        let text = include_str!("../../tests/data/state-v1-subrun.json");
        let before: Value = serde_json::from_str(text).unwrap();
        let s: SubrunState = serde_json::from_str(text).unwrap();
        keeps_every_field(&before, &serde_json::to_value(&s).unwrap());
    }
}
