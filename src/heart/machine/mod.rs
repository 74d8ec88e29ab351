//! The run / sub-run state machine: events from the matcher, time, the run's process and
//! cancellation in; state changes and post decisions out. Pure: no I/O, no clock (every
//! input carries `now`), so each rule of the contract (§5-§6) is a table-driven unit test.
//!
//! What changes is a `BuildState` (`data::build_state`), which is also what state.json holds, so a
//! restarted watcher resumes exactly where the last one left off. This file holds what
//! every build shares (timeouts, the run's process, cancel, delivery); `plain.rs` the rules
//! of a plain run, `categorized.rs` those of a request made of sub-runs, `fatal.rs` a run
//! that Cypress's own error stopped, `reboot.rs` a run the controller's reboot ended, `digest.rs`
//! what a run keeps of the failures for its post.

mod categorized;
mod digest;
mod fatal;
mod plain;
mod reboot;

use crate::data::build_state::{BuildState, Target};
use crate::data::status::Status;
use crate::data::time::{Timestamp, format_duration};
use crate::heart::matcher::{Event, RunResult};
use std::time::{Duration, SystemTime};

/// How much a note matters to the operator reading the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Info,
    Warn,
}

/// One line for the watcher's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub level: Level,
    pub text: String,
}

/// What one input changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Step {
    /// Something worth saving changed.
    pub changed: bool,
    /// A status changed: save now, not on the next throttled save.
    pub urgent: bool,
    pub notes: Vec<Note>,
    /// Posts decided by this input.
    pub posts: Vec<Target>,
}

impl Step {
    /// A status changed: noted, and saved at once.
    fn transition(&mut self, text: String) {
        self.changed = true;
        self.urgent = true;
        self.info(text);
    }

    fn info(&mut self, text: String) {
        self.notes.push(Note {
            level: Level::Info,
            text,
        });
    }

    fn warn(&mut self, text: String) {
        self.notes.push(Note {
            level: Level::Warn,
            text,
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CancelResult {
    /// The build had already finished and needs no post: nothing changed.
    AlreadyFinished(Status),
    /// The build is now CANCELLED; `dropped` undelivered posts will never be sent.
    Cancelled { dropped: usize },
}

/// When time alone ends a run (contract §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// No log this long after the build's first watch: UNKNOWN.
    pub start: Duration,
    /// No log growth this long while running: HUNG (`None`: never).
    pub hung: Option<Duration>,
    /// No log growth this long after one of Cypress's own fatal errors: the run ended on it.
    pub fatal_grace: Duration,
}

impl Timeouts {
    /// For a state that is only replayed or cancelled: no time passes.
    pub const NONE: Timeouts = Timeouts {
        start: Duration::ZERO,
        hung: None,
        fatal_grace: Duration::ZERO,
    };
}

pub(crate) struct Machine {
    pub state: BuildState,
    timeouts: Timeouts,
    /// The fatal error the log rests on (`at_rest`): the run ends on it once the grace
    /// passes or the run's process exits, unless the log goes on first.
    fatal: Option<String>,
    /// The machine's last boot (`reboot.rs`).
    boot: Option<SystemTime>,
}

/// The reason recorded for a Cypress result.
fn result_reason(r: &RunResult) -> String {
    match (r.status, r.tests) {
        (Status::Completed, Some(t)) if t.total == 1 => "all specs passed (1 test)".into(),
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
    pub fn new(state: BuildState, timeouts: Timeouts) -> Machine {
        Machine {
            state,
            timeouts,
            fatal: None,
            boot: None,
        }
    }

    /// Every public input ends here: what changed is dated.
    fn done(&mut self, step: Step, now: SystemTime) -> Step {
        if step.changed {
            self.state.updated_at = Timestamp(now);
        }
        step
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
        if self.state.run.status == Status::Waiting {
            self.state.run.status = Status::Running;
            step.transition(format!(
                "{}: WAITING → RUNNING (log file appeared)",
                self.state.build_name
            ));
        }
        self.done(step, now)
    }

    /// The log grew; `mtime` is its last modification. Activity is when the log grew, not
    /// when it was read (a restart reads again what was not saved yet), and never later
    /// than now (a clock ahead on a network file system).
    pub fn activity(&mut self, now: SystemTime, mtime: SystemTime) {
        let at = mtime.min(now);
        if self.state.last_activity_at.is_none_or(|known| at > known.0) {
            self.state.last_activity_at = Some(Timestamp(at));
        }
    }

    pub fn event(&mut self, ev: &Event, now: SystemTime) -> Step {
        let mut step = Step::default();
        if self.state.finished() {
            return step;
        }
        if let Event::Malformed(line) = ev {
            step.warn(format!(
                "ignored a marker line that could not be understood: {line}"
            ));
            return step;
        }
        if ev.decides() {
            // The log went on, or ended the run otherwise: nothing is pending now.
            self.fatal = None;
        }
        if let Event::FatalError(line) = ev {
            self.fatal_error(line.clone(), now, &mut step);
        } else if self.state.categorize {
            self.categorized_event(ev, now, &mut step);
        } else {
            self.plain_event(ev, now, &mut step);
        }
        self.done(step, now)
    }

    /// Ends run `t` (the plain run or a sub-run): status, reason and time; COMPLETED and
    /// FAILED are posted.
    fn end_run(
        &mut self,
        t: Target,
        status: Status,
        reason: String,
        now: SystemTime,
        step: &mut Step,
    ) {
        let run = self.state.run_of_mut(t);
        // Reasons waiting for a summary table that will not come now.
        run.spec_errors.clear();
        let from = run.status;
        run.end(status, reason.clone(), now);
        // A post a marker already proves (a state rebuilt from the log) is not made again.
        if status.is_posted() && !self.state.post_of(t).posted {
            self.state.post_of_mut(t).post_pending = true;
            step.posts.push(t);
        }
        let build = &self.state.build_name;
        let text = match t {
            Target::Run => format!("{build}: {from} → {status} ({reason})"),
            Target::Subrun(i) => format!(
                "{build}: sub-run {} → {status} ({reason})",
                self.state.subruns[i].key
            ),
        };
        self.state.refresh_aggregate();
        step.transition(text);
    }

    /// When the next timeout falls due (or fell: the boot that ended the run), if any.
    pub fn next_deadline(&self) -> Option<SystemTime> {
        let timeout = match self.state.run.status {
            Status::Waiting => self.state.created_at.0.checked_add(self.timeouts.start),
            Status::Running => [self.hung_deadline(), self.fatal_deadline()]
                .into_iter()
                .flatten()
                .min(),
            _ => None,
        };
        timeout.into_iter().chain(self.reboot_deadline()).min()
    }

    /// The last log growth (or the first watch).
    fn quiet_since(&self) -> SystemTime {
        self.state
            .last_activity_at
            .unwrap_or(self.state.created_at)
            .0
    }

    fn hung_deadline(&self) -> Option<SystemTime> {
        self.quiet_since().checked_add(self.timeouts.hung?)
    }

    /// Time passed: the start and hung timeouts, the grace after a fatal error, and a run
    /// the machine's boot ended.
    pub fn tick(&mut self, now: SystemTime) -> Step {
        let mut step = Step::default();
        if self.next_deadline().is_none_or(|due| now < due) {
            return step;
        }
        if self.fatal_deadline().is_some_and(|due| now >= due)
            && let Some(line) = self.fatal.take()
        {
            // The grace ends first when both are due: the run did not hang, Cypress quit.
            self.fatal_error(line, now, &mut step);
        } else if self.reboot_deadline().is_some() {
            // Before the timeouts: whatever they say fell due while nobody watched.
            self.restarted(now, &mut step);
        } else if self.state.run.status == Status::Waiting {
            let why = format!(
                "no log file appeared within {}",
                format_duration(self.timeouts.start)
            );
            self.end_unfinished(Status::Unknown, why, now, &mut step);
        } else if self.hung_deadline().is_some_and(|due| now >= due) {
            let quiet = format!(
                "no log growth for {}",
                format_duration(self.timeouts.hung.unwrap_or_default())
            );
            if self.state.categorize {
                self.quiet_request(quiet, now, &mut step);
            } else {
                self.end_run(Target::Run, Status::Hung, quiet, now, &mut step);
            }
        }
        self.done(step, now)
    }

    /// The run's process (`--pid`) exited; the log has been read to its end first (and a
    /// fatal error it rests on is certain now).
    pub fn pid_exited(&mut self, now: SystemTime) -> Step {
        let mut step = Step::default();
        if let Some(line) = self.fatal.take() {
            self.fatal_error(line, now, &mut step);
        }
        if self.state.finished() {
            return self.done(step, now);
        }
        let status = if self.state.run_seen {
            Status::Terminated
        } else {
            Status::Unknown
        };
        let why = "the run's process exited without a result".to_string();
        self.end_unfinished(status, why, now, &mut step);
        self.done(step, now)
    }

    /// Ends whatever is open with `status` (no log in time, or the run's process gone).
    fn end_unfinished(&mut self, status: Status, reason: String, now: SystemTime, step: &mut Step) {
        if !self.state.categorize {
            return self.end_run(Target::Run, status, reason, now, step);
        }
        if let Some(i) = self.state.open_subrun() {
            self.end_run(Target::Subrun(i), status, reason.clone(), now, step);
        }
        let agg = if self.state.subruns.is_empty() {
            status
        } else {
            self.aggregate_status()
        };
        self.end_request(agg, reason, now, step);
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
    ) -> (CancelResult, Step) {
        let mut step = Step::default();
        let st = &mut self.state;
        if st.finished() && !st.post.post_pending && !unsaved_end {
            return (CancelResult::AlreadyFinished(st.run.status), step);
        }
        let why = format!("cancelled: {reason}");
        let mut dropped = 0;
        for s in st.subruns.iter_mut() {
            if !s.run.status.is_terminal() {
                s.run.end(Status::Cancelled, why.clone(), now);
            }
            if s.post.post_pending {
                s.post.post_pending = false;
                dropped += 1;
                s.run.reason = Some(format!(
                    "{} (its post was dropped: {why})",
                    s.run.reason.as_deref().unwrap_or("")
                ));
            }
        }
        let mut reason_text = why.clone();
        if st.post.post_pending && !st.categorize {
            dropped += 1;
            reason_text = format!(
                "{why} (the run had ended {} but its post was not delivered; it is dropped)",
                st.run.status
            );
        }
        st.post.post_pending = false;
        st.post.post_error = None;
        let from = st.run.status;
        st.run.end(Status::Cancelled, reason_text, now);
        self.state.refresh_aggregate();
        step.transition(format!(
            "{}: {from} → CANCELLED ({why})",
            self.state.build_name
        ));
        (CancelResult::Cancelled { dropped }, self.done(step, now))
    }

    /// Mattermost answered `ok` for `t` (or its `posted.marker` proves it).
    pub fn delivered(&mut self, t: Target, now: SystemTime) -> Step {
        let mut step = Step::default();
        self.state.post_of_mut(t).delivered();
        self.state.refresh_aggregate();
        let what = match t {
            Target::Run => self.state.run.status.to_string(),
            Target::Subrun(i) => {
                let s = &self.state.subruns[i];
                format!("sub-run {} ({})", s.key, s.run.status)
            }
        };
        step.transition(format!(
            "{}: posted {what} to Mattermost",
            self.state.build_name
        ));
        self.done(step, now)
    }

    /// A dry run printed the message for `t` instead of posting it: nothing is pending and
    /// nothing counts as posted.
    pub fn printed(&mut self, t: Target, now: SystemTime) -> Step {
        let mut step = Step::default();
        self.state.post_of_mut(t).post_pending = false;
        self.state.refresh_aggregate();
        step.transition(format!(
            "{}: dry run: message printed, nothing posted",
            self.state.build_name
        ));
        self.done(step, now)
    }

    /// The post for `t` failed for good (it stays pending: a new start retries it).
    pub fn delivery_failed(&mut self, t: Target, error: &str, now: SystemTime) -> Step {
        let mut step = Step::default();
        self.state.post_of_mut(t).post_error = Some(error.to_string());
        self.state.refresh_aggregate();
        step.transition(format!("{}: post failed: {error}", self.state.build_name));
        self.done(step, now)
    }
}

#[cfg(test)]
mod tests;
