//! A plain (non-categorized) run: the first final result, `ATVM_RUN_END`, or a
//! termination ends it (contract §5).

use super::{Machine, Step, result_reason};
use crate::data::build_state::{Progress, Target};
use crate::data::status::Status;
use crate::data::time::Timestamp;
use crate::heart::matcher::Event;
use std::time::SystemTime;

impl Machine {
    pub(super) fn plain_event(&mut self, ev: &Event, now: SystemTime, step: &mut Step) {
        match ev {
            Event::RunStarting if !self.state.run_seen => {
                self.state.run_seen = true;
                self.state.run.started_at.get_or_insert(Timestamp(now));
                step.transition(format!("{}: Cypress run started", self.state.build_name));
            }
            Event::Progress { index, total, spec } => {
                // A new spec: its failure list counts from 1.
                self.state.run.list_seen = 0;
                self.state.progress = Some(Progress {
                    index: *index,
                    total: *total,
                    spec: spec.clone(),
                });
                step.changed = true;
            }
            Event::RunResult(r) => {
                self.record_result(Target::Run, r);
                self.end_run(Target::Run, r.status, result_reason(r), now, step);
            }
            Event::FailedToStart(line) => {
                self.end_run(Target::Run, Status::Failed, line.clone(), now, step)
            }
            Event::Terminated(line) => {
                self.end_run(Target::Run, Status::Terminated, line.clone(), now, step)
            }
            Event::RunEnd(s) => {
                self.state.run_end = Some(*s);
                let why = format!("ATVM_RUN_END: {s}");
                self.end_run(Target::Run, *s, why, now, step)
            }
            Event::TestFailed { .. } | Event::SpecError(_) | Event::Flaky { .. } => {
                self.digest_event(Target::Run, ev, step)
            }
            // The categorized-run markers mean nothing to a plain run.
            _ => {}
        }
    }
}
