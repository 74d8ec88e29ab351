//! A run that Cypress's own error stopped (contract §5, the fatal-error row): it ends
//! FAILED with the error's line as its reason once the end is certain. The matcher finds
//! the line (`matcher/fatal.rs`) either at the marker that makes the end certain (an
//! `Event::FatalError`), or in the lines the log rests on (`at_rest`); in the second case
//! the end is certain when the log stays quiet for the grace, or when the run's process
//! exits, and any line that decides something first (`Event::decides`) makes it moot.

use super::{Machine, Step};
use crate::data::build_state::Target;
use crate::data::status::Status;
use std::time::SystemTime;

impl Machine {
    /// The fatal error the log rests on now, if any (after each read to its end).
    pub fn at_rest(&mut self, fatal: Option<String>) {
        let open = !self.state.finished();
        self.fatal = fatal.filter(|_| open);
    }

    /// Whether a fatal error waits for its grace.
    pub fn fatal_pending(&self) -> bool {
        self.fatal.is_some()
    }

    /// When the grace after the fatal error the log rests on ends.
    pub(super) fn fatal_deadline(&self) -> Option<SystemTime> {
        self.fatal.as_ref()?;
        self.quiet_since().checked_add(self.timeouts.fatal_grace)
    }

    /// The run ended on Cypress's own error `line`: the open run (or sub-run: a new one
    /// when none is open, as for a run that failed to start) is FAILED, with the line as
    /// its reason. A categorized request goes on.
    pub(super) fn fatal_error(&mut self, line: String, now: SystemTime, step: &mut Step) {
        self.fatal = None;
        if self.state.finished() {
            return;
        }
        let target = if self.state.categorize {
            match self.state.open_subrun() {
                Some(i) => Target::Subrun(i),
                None => match self.open_new_subrun(None, false, now, step) {
                    Some(i) => Target::Subrun(i),
                    None => return,
                },
            }
        } else {
            Target::Run
        };
        self.state.run_of_mut(target).cypress_error = true;
        self.end_run(target, Status::Failed, line, now, step);
        if self.state.categorize {
            self.end_if_plan_done(now, step);
        }
    }
}

#[cfg(test)]
mod tests;
