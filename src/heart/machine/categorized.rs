//! A categorized request (`--categorize`): a sequence of sub-runs, each posted on its own
//! when it ends; the request itself posts nothing (contract §5).

use super::{Machine, Step, result_reason};
use crate::data::build_state::{Progress, SubrunState, Target};
use crate::data::caps::{LINE_CAP, MAX_GROUPS};
use crate::data::names::SubrunKey;
use crate::data::run::{PostState, RunRecord};
use crate::data::status::Status;
use crate::data::time::Timestamp;
use crate::heart::matcher::{Event, RunResult};
use std::time::SystemTime;

impl Machine {
    pub(super) fn categorized_event(&mut self, ev: &Event, now: SystemTime, step: &mut Step) {
        let open = self.state.open_subrun();
        match ev {
            Event::RunStarting => self.sub_run_starting(open, now, step),
            Event::Progress { index, total, spec } => {
                let p = Progress {
                    index: *index,
                    total: *total,
                    spec: spec.clone(),
                };
                if let Some(i) = open {
                    // A new spec: its failure list counts from 1.
                    self.state.subruns[i].run.list_seen = 0;
                    self.state.subruns[i].progress = Some(p.clone());
                }
                self.state.progress = Some(p);
                step.changed = true;
            }
            Event::RunResult(r) => self.sub_result(open, r, now, step),
            Event::FailedToStart(line) => {
                let i = open.or_else(|| self.open_new_subrun(None, false, now, step));
                if let Some(i) = i {
                    self.end_run(Target::Subrun(i), Status::Failed, line.clone(), now, step);
                }
            }
            Event::Groups { names, complete } => self.plan(names, *complete, step),
            Event::GroupStart(name) => {
                if let Some(i) = open {
                    let why = format!(
                        "ATVM_GROUP_START: {name} came before this sub-run reported a result"
                    );
                    self.end_run(Target::Subrun(i), Status::Terminated, why, now, step);
                }
                self.open_new_subrun(Some(name.clone()), true, now, step);
            }
            Event::GroupEnd { name, status } => self.group_end(open, name, *status, now, step),
            Event::RunEnd(status) => return self.run_end(open, *status, now, step),
            Event::Terminated(line) => match open {
                Some(i) => self.end_run(
                    Target::Subrun(i),
                    Status::Terminated,
                    line.clone(),
                    now,
                    step,
                ),
                None => return self.end_request(Status::Terminated, line.clone(), now, step),
            },
            Event::TestFailed { .. } | Event::SpecError(_) | Event::Flaky { .. } => {
                // Between sub-runs there is no spec in progress to belong to.
                if let Some(i) = open {
                    self.digest_event(Target::Subrun(i), ev, step);
                }
            }
            // Handled by `Machine::event` for every kind of build.
            Event::Malformed(_) | Event::FatalError(_) => {}
        }
        self.end_if_plan_done(now, step);
    }

    /// `ATVM_GROUPS:`. A plan that was cut (more than `MAX_GROUPS` groups, or a line
    /// longer than the matcher looks at) still names the sub-runs, but never ends the
    /// request: `ATVM_RUN_END`, `--pid` or the quiet timeout do.
    fn plan(&mut self, names: &[String], complete: bool, step: &mut Step) {
        if self.state.planned_groups == names && self.state.plan_cut != complete {
            return;
        }
        self.state.planned_groups = names.to_vec();
        self.state.plan_cut = !complete;
        step.transition(format!(
            "{}: planned groups: {}",
            self.state.build_name,
            names.join(", ")
        ));
        if !complete {
            step.warn(format!(
                "ATVM_GROUPS announced more groups than the {} kept (at most {MAX_GROUPS}, from a line of at most {} KiB); the request ends at ATVM_RUN_END or after the hung timeout, not after group {}",
                names.len(),
                LINE_CAP / 1024,
                names.len()
            ));
        }
    }

    /// `(Run Starting)`: it belongs to the open sub-run unless that one already had its own
    /// (which then ends TERMINATED); otherwise it opens a sub-run.
    fn sub_run_starting(&mut self, open: Option<usize>, now: SystemTime, step: &mut Step) {
        self.state.run_seen = true;
        self.state.run.started_at.get_or_insert(Timestamp(now));
        let target = match open {
            Some(i) if !self.state.subruns[i].run_seen => Some(i),
            Some(i) => {
                let why = "a new Cypress run started before this one reported a result";
                self.end_run(Target::Subrun(i), Status::Terminated, why.into(), now, step);
                self.open_new_subrun(None, false, now, step)
            }
            None => self.open_new_subrun(None, false, now, step),
        };
        if let Some(i) = target {
            self.state.subruns[i].run_seen = true;
            step.changed = true;
        }
    }

    fn sub_result(&mut self, open: Option<usize>, r: &RunResult, now: SystemTime, step: &mut Step) {
        let Some(i) = open else {
            step.info("a Cypress result outside any open sub-run changes nothing".into());
            return;
        };
        self.record_result(Target::Subrun(i), r);
        self.end_run(Target::Subrun(i), r.status, result_reason(r), now, step);
    }

    fn group_end(
        &mut self,
        open: Option<usize>,
        name: &str,
        status: Status,
        now: SystemTime,
        step: &mut Step,
    ) {
        let Some(i) = open else { return };
        if name != self.state.subruns[i].name {
            step.warn(format!(
                "ATVM_GROUP_END names {name:?} but the open sub-run is {:?}; ending it anyway",
                self.state.subruns[i].name
            ));
        }
        let why = format!("ATVM_GROUP_END: {status}");
        self.end_run(Target::Subrun(i), status, why, now, step);
    }

    fn run_end(&mut self, open: Option<usize>, status: Status, now: SystemTime, step: &mut Step) {
        if let Some(i) = open {
            let why = "the request ended (ATVM_RUN_END) before this sub-run reported a result";
            self.end_run(Target::Subrun(i), Status::Terminated, why.into(), now, step);
        }
        self.state.run_end = Some(status);
        self.end_request(status, format!("ATVM_RUN_END: {status}"), now, step);
    }

    /// The end of the last planned group ends the request.
    pub(super) fn end_if_plan_done(&mut self, now: SystemTime, step: &mut Step) {
        let planned = self.state.planned_groups.len();
        let ended = self
            .state
            .subruns
            .iter()
            .filter(|s| s.run.status.is_terminal())
            .count();
        let plan_done = planned > 0 && !self.state.plan_cut && ended >= planned;
        if plan_done && self.state.open_subrun().is_none() {
            let status = self.aggregate_status();
            let why = format!("the last of {planned} planned groups ended");
            self.end_request(status, why, now, step);
        }
    }

    pub(super) fn open_new_subrun(
        &mut self,
        name: Option<String>,
        by_marker: bool,
        now: SystemTime,
        step: &mut Step,
    ) -> Option<usize> {
        if self.state.subruns.len() >= MAX_GROUPS {
            step.warn(format!(
                "more than {MAX_GROUPS} sub-runs; ignoring the next one"
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
        let key = SubrunKey::new(index, &name);
        step.transition(format!(
            "{}: sub-run {key} ({name}) started",
            self.state.build_name
        ));
        self.state.subruns.push(SubrunState {
            key,
            name,
            index,
            run: RunRecord {
                status: Status::Running,
                started_at: Some(Timestamp(now)),
                ..RunRecord::default()
            },
            post: PostState::default(),
            progress: None,
            run_seen: false,
            opened_by_marker: by_marker,
        });
        self.state.progress = None;
        Some(self.state.subruns.len() - 1)
    }

    /// Time passed with no log growth: a sub-run in progress is HUNG (and the request
    /// with it); quiet between sub-runs is not HUNG, the request is simply over.
    pub(super) fn quiet_request(&mut self, quiet: String, now: SystemTime, step: &mut Step) {
        if let Some(i) = self.state.open_subrun() {
            self.end_run(Target::Subrun(i), Status::Hung, quiet.clone(), now, step);
            let why = format!("sub-run {} hung: {quiet}", self.state.subruns[i].key);
            self.end_request(Status::Hung, why, now, step);
        } else if self.state.subruns.is_empty() {
            self.end_request(Status::Hung, quiet, now, step);
        } else {
            let status = self.aggregate_status();
            let why = format!("{quiet} after the last sub-run ended");
            self.end_request(status, why, now, step);
        }
    }

    /// The request's status from its sub-runs (contract §5).
    pub(super) fn aggregate_status(&self) -> Status {
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
        let any = |st: Status| subs.iter().any(|s| s.run.status == st);
        let all_planned_ran = subs.len() >= self.state.planned_groups.len();
        if all_planned_ran && subs.iter().all(|s| s.run.status == Status::Completed) {
            Status::Completed
        } else if any(Status::Failed) {
            Status::Failed
        } else if any(Status::Cancelled) {
            Status::Cancelled
        } else {
            Status::Terminated
        }
    }

    /// Ends a categorized request (it posts nothing itself).
    pub(super) fn end_request(
        &mut self,
        status: Status,
        reason: String,
        now: SystemTime,
        step: &mut Step,
    ) {
        let run = &mut self.state.run;
        let from = run.status;
        run.end(status, reason.clone(), now);
        self.state.refresh_aggregate();
        step.transition(format!(
            "{}: {from} → {status} ({reason})",
            self.state.build_name
        ));
    }
}
