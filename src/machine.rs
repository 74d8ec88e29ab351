//! The run / sub-run state machine: events from the matcher, time, the run's process and
//! cancellation in; state changes and post decisions out. Pure: no I/O, no clock (every
//! input carries `now`), so each rule of CONTRACT.md §5-§6 is a table-driven unit test.
//!
//! `BuildState` is also what state.json holds, so a restarted watcher resumes exactly
//! where the last one left off.

use crate::matcher::{Event, RunResult};
use crate::model::{Status, Tests, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

pub const SCHEMA: u32 = 1;
const MAX_SUBRUNS: usize = 999;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub index: u32,
    pub total: u32,
    pub spec: String,
}

/// Where the follower stands in the log: the byte to read next (see `Scanner::resume_offset`)
/// of the file identified by device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPosition {
    pub offset: u64,
    pub dev: u64,
    pub inode: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubrunState {
    pub key: String,
    pub name: String,
    /// 1-based position among the sub-runs.
    pub index: u32,
    pub status: Status,
    pub posted: bool,
    #[serde(default)]
    pub post_pending: bool,
    #[serde(default)]
    pub post_error: Option<String>,
    pub tests: Option<Tests>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub failed_specs: Vec<String>,
    #[serde(default)]
    pub reason: Option<String>,
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
pub struct BuildState {
    pub schema: u32,
    pub build_name: String,
    pub status: Status,
    pub categorize: bool,
    /// Every post this build needs was delivered (and it needed at least one).
    pub posted: bool,
    /// A needed post is not delivered yet.
    pub post_pending: bool,
    pub subruns: Vec<SubrunState>,
    pub log_file: String,
    /// The build's first watch: the start timeout counts from here, across restarts.
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub reason: Option<String>,
    pub post_error: Option<String>,
    pub tests: Option<Tests>,
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub failed_specs: Vec<String>,
    #[serde(default)]
    pub progress: Option<Progress>,
    /// A `(Run Starting)` was seen (decides TERMINATED vs UNKNOWN when `--pid` exits).
    #[serde(default)]
    pub run_seen: bool,
    #[serde(default)]
    pub planned_groups: Vec<String>,
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

impl BuildState {
    pub fn new(
        build_name: &str,
        categorize: bool,
        log_file: &str,
        created_at: Timestamp,
    ) -> BuildState {
        BuildState {
            schema: SCHEMA,
            build_name: build_name.to_string(),
            status: Status::Waiting,
            categorize,
            posted: false,
            post_pending: false,
            subruns: Vec::new(),
            log_file: log_file.to_string(),
            created_at,
            updated_at: created_at,
            started_at: None,
            finished_at: None,
            reason: None,
            post_error: None,
            tests: None,
            duration: None,
            failed_specs: Vec::new(),
            progress: None,
            run_seen: false,
            planned_groups: Vec::new(),
            run_end: None,
            last_activity_at: None,
            log_position: None,
            dry_run: false,
        }
    }

    /// A fresh state for a request (first watch, or state.json lost): the start timeout
    /// still counts from when the request was first recorded.
    pub fn for_request(r: &crate::config::Request, now: Timestamp) -> BuildState {
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

    /// The request is over (its own status is terminal).
    pub fn finished(&self) -> bool {
        self.status.is_terminal()
    }

    /// Posts decided but not delivered.
    pub fn pending_posts(&self) -> Vec<Target> {
        if self.categorize {
            (0..self.subruns.len())
                .filter(|&i| self.subruns[i].post_pending)
                .map(Target::Subrun)
                .collect()
        } else if self.post_pending {
            vec![Target::Run]
        } else {
            Vec::new()
        }
    }

    fn open_subrun(&self) -> Option<usize> {
        self.subruns.iter().rposition(|s| !s.status.is_terminal())
    }
}

/// What a post is about: the whole run, or one sub-run (index into `subruns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Run,
    Subrun(usize),
}

/// What one input changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Something worth saving changed.
    pub changed: bool,
    /// A status changed: save now, not on the next throttled save.
    pub urgent: bool,
    /// One line per state change, for the log.
    pub notes: Vec<String>,
    /// Posts decided by this input.
    pub posts: Vec<Target>,
}

impl Step {
    fn note(&mut self, s: String) {
        self.changed = true;
        self.urgent = true;
        self.notes.push(s);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The build had already finished and needs no post: nothing changed.
    AlreadyFinished(Status),
    /// The build is now CANCELLED; `dropped` undelivered posts will never be sent.
    Cancelled { dropped: usize },
}

/// A sub-run key: two-digit index and a slug of the (untrusted) name, e.g. `02-windows`.
pub fn subrun_key(index: u32, name: &str) -> String {
    let mut slug: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    if slug.is_empty() {
        slug.push('-');
    }
    format!("{index:02}-{slug}")
}

pub struct Machine {
    pub state: BuildState,
    start_timeout: Duration,
    hung_timeout: Option<Duration>,
}

fn result_reason(r: &RunResult) -> String {
    match (r.status, r.tests) {
        (Status::Completed, Some(t)) => format!("all specs passed ({} tests)", t.total),
        (Status::Completed, None) => "all specs passed".into(),
        (Status::Failed, _) if !r.failed_specs.is_empty() => {
            format!("{} spec(s) failed", r.failed_specs.len())
        }
        (Status::Failed, Some(t)) => format!("{} of {} tests failed", t.failed, t.total),
        (Status::Cancelled, _) => "the run was canceled in the Cypress cloud".into(),
        (s, _) => s.as_str().to_lowercase(),
    }
}

impl Machine {
    pub fn new(
        state: BuildState,
        start_timeout: Duration,
        hung_timeout: Option<Duration>,
    ) -> Machine {
        Machine {
            state,
            start_timeout,
            hung_timeout,
        }
    }

    fn touch(&mut self, now: SystemTime) {
        self.state.updated_at = Timestamp(now);
    }

    /// The log exists (first seen, or seen again after a restart). `activity` is the
    /// file's last modification, which counts as activity when nothing newer is known.
    /// The hung clock starts no earlier than the build's first watch: a log that had been
    /// quiet before anybody watched it is not hung at once.
    pub fn log_present(&mut self, now: SystemTime, activity: SystemTime) -> Step {
        let mut step = Step::default();
        let activity = activity.max(self.state.created_at.0);
        let known = self.state.last_activity_at.map(|t| t.0);
        if known.is_none_or(|k| activity > k) {
            self.state.last_activity_at = Some(Timestamp(activity.min(now)));
            step.changed = true;
        }
        if self.state.status == Status::Waiting {
            self.state.status = Status::Running;
            self.touch(now);
            step.note(format!(
                "{}: WAITING → RUNNING (log file appeared)",
                self.state.build_name
            ));
        }
        step
    }

    /// New bytes arrived in the log.
    pub fn activity(&mut self, now: SystemTime) {
        self.state.last_activity_at = Some(Timestamp(now));
    }

    pub fn event(&mut self, ev: &Event, now: SystemTime) -> Step {
        let mut step = Step::default();
        if self.state.finished() {
            return step;
        }
        if let Event::Malformed(line) = ev {
            step.notes.push(format!(
                "warning: ignored a marker line that could not be understood: {line}"
            ));
            return step;
        }
        if self.state.categorize {
            self.categorized_event(ev, now, &mut step);
        } else {
            self.single_event(ev, now, &mut step);
        }
        if step.changed {
            self.touch(now);
        }
        step
    }

    fn single_event(&mut self, ev: &Event, now: SystemTime, step: &mut Step) {
        match ev {
            Event::RunStarting => {
                if !self.state.run_seen {
                    self.state.run_seen = true;
                    self.state.started_at.get_or_insert(Timestamp(now));
                    step.note(format!("{}: Cypress run started", self.state.build_name));
                }
            }
            Event::Progress { index, total, spec } => {
                self.state.progress = Some(Progress {
                    index: *index,
                    total: *total,
                    spec: spec.clone(),
                });
                step.changed = true;
            }
            Event::RunResult(r) => {
                let reason = result_reason(r);
                self.state.tests = r.tests;
                self.state.duration = r.duration.clone();
                self.state.failed_specs = r.failed_specs.clone();
                self.finish_run(r.status, reason, now, step);
            }
            Event::FailedToStart(line) => self.finish_run(Status::Failed, line.clone(), now, step),
            Event::Terminated(line) => self.finish_run(Status::Terminated, line.clone(), now, step),
            Event::RunEnd(s) => {
                self.state.run_end = Some(*s);
                self.finish_run(*s, format!("ATVM_RUN_END: {s}"), now, step)
            }
            Event::Groups(_)
            | Event::GroupStart(_)
            | Event::GroupEnd { .. }
            | Event::Malformed(_) => {}
        }
    }

    /// Ends a non-categorized run; COMPLETED and FAILED are posted.
    fn finish_run(&mut self, status: Status, reason: String, now: SystemTime, step: &mut Step) {
        let from = self.state.status;
        self.state.status = status;
        self.state.reason = Some(reason.clone());
        self.state.finished_at = Some(Timestamp(now));
        if status.is_posted() {
            self.state.post_pending = true;
            step.posts.push(Target::Run);
        }
        step.note(format!(
            "{}: {from} → {status} ({reason})",
            self.state.build_name
        ));
    }

    fn open_new_subrun(
        &mut self,
        name: Option<String>,
        by_marker: bool,
        now: SystemTime,
        step: &mut Step,
    ) -> Option<usize> {
        if self.state.subruns.len() >= MAX_SUBRUNS {
            step.notes.push(format!(
                "warning: more than {MAX_SUBRUNS} sub-runs; ignoring the next one"
            ));
            return None;
        }
        let index = self.state.subruns.len() as u32 + 1;
        let name = name.unwrap_or_else(|| {
            self.state
                .planned_groups
                .get(index as usize - 1)
                .cloned()
                .unwrap_or_else(|| format!("run-{index}"))
        });
        let key = subrun_key(index, &name);
        self.state.subruns.push(SubrunState {
            key: key.clone(),
            name: name.clone(),
            index,
            status: Status::Running,
            posted: false,
            post_pending: false,
            post_error: None,
            tests: None,
            started_at: Some(Timestamp(now)),
            finished_at: None,
            duration: None,
            failed_specs: Vec::new(),
            reason: None,
            progress: None,
            run_seen: false,
            opened_by_marker: by_marker,
        });
        self.state.progress = None;
        step.note(format!(
            "{}: sub-run {key} ({name}) started",
            self.state.build_name
        ));
        Some(self.state.subruns.len() - 1)
    }

    fn finish_subrun(
        &mut self,
        i: usize,
        status: Status,
        reason: String,
        now: SystemTime,
        step: &mut Step,
    ) {
        let s = &mut self.state.subruns[i];
        s.status = status;
        s.reason = Some(reason.clone());
        s.finished_at = Some(Timestamp(now));
        if status.is_posted() {
            s.post_pending = true;
            step.posts.push(Target::Subrun(i));
        }
        let line = format!(
            "{}: sub-run {} → {status} ({reason})",
            self.state.build_name, s.key
        );
        self.refresh_aggregate();
        step.note(line);
    }

    fn categorized_event(&mut self, ev: &Event, now: SystemTime, step: &mut Step) {
        let open = self.state.open_subrun();
        match ev {
            Event::RunStarting => {
                self.state.run_seen = true;
                self.state.started_at.get_or_insert(Timestamp(now));
                let target = match open {
                    Some(i) if !self.state.subruns[i].run_seen => Some(i),
                    Some(i) => {
                        self.finish_subrun(
                            i,
                            Status::Terminated,
                            "a new Cypress run started before this one reported a result".into(),
                            now,
                            step,
                        );
                        self.open_new_subrun(None, false, now, step)
                    }
                    None => self.open_new_subrun(None, false, now, step),
                };
                if let Some(i) = target {
                    self.state.subruns[i].run_seen = true;
                    step.changed = true;
                }
            }
            Event::Progress { index, total, spec } => {
                let p = Progress {
                    index: *index,
                    total: *total,
                    spec: spec.clone(),
                };
                if let Some(i) = open {
                    self.state.subruns[i].progress = Some(p.clone());
                }
                self.state.progress = Some(p);
                step.changed = true;
            }
            Event::RunResult(r) => {
                let Some(i) = open else {
                    step.notes
                        .push("a Cypress result outside any open sub-run changes nothing".into());
                    return;
                };
                let s = &mut self.state.subruns[i];
                s.tests = r.tests;
                s.duration = r.duration.clone();
                s.failed_specs = r.failed_specs.clone();
                self.finish_subrun(i, r.status, result_reason(r), now, step);
            }
            Event::FailedToStart(line) => {
                let i = match open {
                    Some(i) => Some(i),
                    None => self.open_new_subrun(None, false, now, step),
                };
                if let Some(i) = i {
                    self.finish_subrun(i, Status::Failed, line.clone(), now, step);
                }
            }
            Event::Groups(groups) => {
                if self.state.planned_groups != *groups {
                    self.state.planned_groups = groups.clone();
                    step.note(format!(
                        "{}: planned groups: {}",
                        self.state.build_name,
                        groups.join(", ")
                    ));
                }
            }
            Event::GroupStart(name) => {
                if let Some(i) = open {
                    let why = format!(
                        "ATVM_GROUP_START: {name} came before this sub-run reported a result"
                    );
                    self.finish_subrun(i, Status::Terminated, why, now, step);
                }
                self.open_new_subrun(Some(name.clone()), true, now, step);
            }
            Event::GroupEnd { name, status } => {
                let Some(i) = open else { return };
                if *name != self.state.subruns[i].name {
                    step.notes.push(format!(
                        "warning: ATVM_GROUP_END names {name:?} but the open sub-run is {:?}; ending it anyway",
                        self.state.subruns[i].name
                    ));
                }
                self.finish_subrun(i, *status, format!("ATVM_GROUP_END: {status}"), now, step);
            }
            Event::RunEnd(status) => {
                if let Some(i) = open {
                    self.finish_subrun(
                        i,
                        Status::Terminated,
                        "the request ended (ATVM_RUN_END) before this sub-run reported a result"
                            .into(),
                        now,
                        step,
                    );
                }
                self.state.run_end = Some(*status);
                self.finish_request(*status, format!("ATVM_RUN_END: {status}"), now, step);
                return;
            }
            Event::Terminated(line) => match open {
                Some(i) => self.finish_subrun(i, Status::Terminated, line.clone(), now, step),
                None => {
                    self.finish_request(Status::Terminated, line.clone(), now, step);
                    return;
                }
            },
            Event::Malformed(_) => {}
        }
        // The end of the last planned group ends the request.
        let planned = self.state.planned_groups.len();
        let ended = self
            .state
            .subruns
            .iter()
            .filter(|s| s.status.is_terminal())
            .count();
        if planned > 0 && self.state.open_subrun().is_none() && ended >= planned {
            let status = self.aggregate_status();
            self.finish_request(
                status,
                format!("the last of {planned} planned groups ended"),
                now,
                step,
            );
        }
    }

    /// The request's status from its sub-runs (CONTRACT.md §5).
    fn aggregate_status(&self) -> Status {
        if let Some(s) = self.state.run_end {
            return s;
        }
        let subs = &self.state.subruns;
        if subs.is_empty() {
            return if self.state.run_seen {
                Status::Terminated
            } else {
                Status::Unknown
            };
        }
        let all_planned_ran = subs.len() >= self.state.planned_groups.len();
        if all_planned_ran && subs.iter().all(|s| s.status == Status::Completed) {
            Status::Completed
        } else if subs.iter().any(|s| s.status == Status::Failed) {
            Status::Failed
        } else if subs.iter().any(|s| s.status == Status::Cancelled) {
            Status::Cancelled
        } else {
            Status::Terminated
        }
    }

    fn finish_request(&mut self, status: Status, reason: String, now: SystemTime, step: &mut Step) {
        let from = self.state.status;
        self.state.status = status;
        self.state.reason = Some(reason.clone());
        self.state.finished_at = Some(Timestamp(now));
        self.refresh_aggregate();
        self.touch(now);
        step.note(format!(
            "{}: {from} → {status} ({reason})",
            self.state.build_name
        ));
    }

    /// Keeps the build-level `posted`, `post_pending`, `post_error` and `tests` true to the
    /// sub-runs.
    fn refresh_aggregate(&mut self) {
        if !self.state.categorize {
            return;
        }
        let subs = &self.state.subruns;
        let needed: Vec<&SubrunState> =
            subs.iter().filter(|s| s.posted || s.post_pending).collect();
        self.state.posted = !needed.is_empty() && needed.iter().all(|s| s.posted);
        self.state.post_pending = subs.iter().any(|s| s.post_pending);
        self.state.post_error = subs
            .iter()
            .find_map(|s| s.post_error.clone().filter(|_| s.post_pending));
        let with_tests: Vec<Tests> = subs.iter().filter_map(|s| s.tests).collect();
        self.state.tests = (!with_tests.is_empty()).then(|| {
            with_tests.iter().fold(Tests::default(), |a, t| Tests {
                total: a.total + t.total,
                passed: a.passed + t.passed,
                failed: a.failed + t.failed,
                pending: a.pending + t.pending,
                skipped: a.skipped + t.skipped,
            })
        });
    }

    /// When the next timeout falls due, if any.
    pub fn next_deadline(&self) -> Option<SystemTime> {
        match self.state.status {
            Status::Waiting => self.state.created_at.0.checked_add(self.start_timeout),
            Status::Running => {
                let hung = self.hung_timeout?;
                let since = self
                    .state
                    .last_activity_at
                    .unwrap_or(self.state.created_at)
                    .0;
                since.checked_add(hung)
            }
            _ => None,
        }
    }

    /// Time passed: the start and hung timeouts.
    pub fn tick(&mut self, now: SystemTime) -> Step {
        let mut step = Step::default();
        let Some(due) = self.next_deadline() else {
            return step;
        };
        if now < due {
            return step;
        }
        if self.state.status == Status::Waiting {
            let why = format!(
                "no log file appeared within {}",
                crate::config::format_duration(self.start_timeout)
            );
            self.end_unfinished(Status::Unknown, why, now, &mut step);
            return step;
        }
        let quiet = format!(
            "no log growth for {}",
            crate::config::format_duration(self.hung_timeout.unwrap_or_default())
        );
        if !self.state.categorize {
            self.finish_run(Status::Hung, quiet, now, &mut step);
            self.touch(now);
        } else if let Some(i) = self.state.open_subrun() {
            self.finish_subrun(i, Status::Hung, quiet.clone(), now, &mut step);
            self.finish_request(
                Status::Hung,
                format!("sub-run {} hung: {quiet}", self.state.subruns[i].key),
                now,
                &mut step,
            );
        } else if self.state.subruns.is_empty() {
            self.finish_request(Status::Hung, quiet, now, &mut step);
        } else {
            // Quiet between sub-runs is not HUNG: the request is simply over.
            let status = self.aggregate_status();
            self.finish_request(
                status,
                format!("{quiet} after the last sub-run ended"),
                now,
                &mut step,
            );
        }
        step
    }

    /// The run's process (`--pid`) exited; the log has been read to its end first.
    pub fn pid_exited(&mut self, now: SystemTime) -> Step {
        let mut step = Step::default();
        if self.state.finished() {
            return step;
        }
        let status = if self.state.run_seen {
            Status::Terminated
        } else {
            Status::Unknown
        };
        self.end_unfinished(
            status,
            "the run's process exited without a result".into(),
            now,
            &mut step,
        );
        step
    }

    fn end_unfinished(&mut self, status: Status, reason: String, now: SystemTime, step: &mut Step) {
        if !self.state.categorize {
            self.finish_run(status, reason, now, step);
            self.touch(now);
            return;
        }
        if let Some(i) = self.state.open_subrun() {
            self.finish_subrun(i, status, reason.clone(), now, step);
        }
        let agg = if self.state.subruns.is_empty() {
            status
        } else {
            self.aggregate_status()
        };
        self.finish_request(agg, reason, now, step);
    }

    /// `cancel`: either the build already finished (nothing changes), or it becomes
    /// CANCELLED and every undelivered post is dropped.
    ///
    /// `unsaved_end`: the build's ending was decided but not saved yet when the cancel was
    /// recorded (the watcher's view); the cancel came first, so it wins even over an
    /// ending that needs no post.
    pub fn cancel(
        &mut self,
        reason: &str,
        now: SystemTime,
        unsaved_end: bool,
    ) -> (CancelOutcome, Step) {
        let mut step = Step::default();
        if self.state.finished() && !self.state.post_pending && !unsaved_end {
            return (CancelOutcome::AlreadyFinished(self.state.status), step);
        }
        let why = format!("cancelled: {reason}");
        let mut dropped = 0;
        for s in self.state.subruns.iter_mut() {
            if !s.status.is_terminal() {
                s.status = Status::Cancelled;
                s.reason = Some(why.clone());
                s.finished_at = Some(Timestamp(now));
            }
            if s.post_pending {
                s.post_pending = false;
                dropped += 1;
                s.reason = Some(format!(
                    "{} (its post was dropped: {why})",
                    s.reason.as_deref().unwrap_or("")
                ));
            }
        }
        let mut reason_text = why.clone();
        if self.state.post_pending && !self.state.categorize {
            dropped += 1;
            reason_text = format!(
                "{why} (the run had ended {} but its post was not delivered; it is dropped)",
                self.state.status
            );
        }
        self.state.post_pending = false;
        self.state.post_error = None;
        let from = self.state.status;
        self.state.status = Status::Cancelled;
        self.state.reason = Some(reason_text);
        self.state.finished_at = Some(Timestamp(now));
        self.refresh_aggregate();
        self.touch(now);
        step.note(format!(
            "{}: {from} → CANCELLED ({why})",
            self.state.build_name
        ));
        (CancelOutcome::Cancelled { dropped }, step)
    }

    /// Mattermost answered `ok` for `t`.
    pub fn delivered(&mut self, t: Target, now: SystemTime) -> Step {
        let mut step = Step::default();
        let name = self.state.build_name.clone();
        match t {
            Target::Run => {
                self.state.posted = true;
                self.state.post_pending = false;
                self.state.post_error = None;
                step.note(format!(
                    "{name}: posted {} to Mattermost",
                    self.state.status
                ));
            }
            Target::Subrun(i) => {
                let s = &mut self.state.subruns[i];
                s.posted = true;
                s.post_pending = false;
                s.post_error = None;
                let line = format!(
                    "{name}: posted sub-run {} ({}) to Mattermost",
                    s.key, s.status
                );
                self.refresh_aggregate();
                step.note(line);
            }
        }
        self.touch(now);
        step
    }

    /// A dry run printed the message for `t` instead of posting it: nothing is pending and
    /// nothing counts as posted.
    pub fn printed(&mut self, t: Target, now: SystemTime) -> Step {
        let mut step = Step::default();
        match t {
            Target::Run => self.state.post_pending = false,
            Target::Subrun(i) => {
                self.state.subruns[i].post_pending = false;
                self.refresh_aggregate();
            }
        }
        self.touch(now);
        step.note(format!(
            "{}: dry run: message printed, nothing posted",
            self.state.build_name
        ));
        step
    }

    /// The post for `t` failed for good (it stays pending: a new start retries it).
    pub fn delivery_failed(&mut self, t: Target, error: &str, now: SystemTime) -> Step {
        let mut step = Step::default();
        match t {
            Target::Run => self.state.post_error = Some(error.to_string()),
            Target::Subrun(i) => {
                self.state.subruns[i].post_error = Some(error.to_string());
                self.refresh_aggregate();
            }
        }
        self.touch(now);
        step.note(format!("{}: post failed: {error}", self.state.build_name));
        step
    }
}

#[cfg(test)]
mod tests;
