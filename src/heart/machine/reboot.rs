//! A run the machine's boot ended (contract §7, "After a reboot"): a watcher started after
//! a reboot on a live build whose log did not grow since the boot (`heart::resume::
//! over_by_reboot`) ends it TERMINATED at once, once the log is read to its end (a result
//! written just before the reboot still counts). A fatal error the log rests on is certain
//! then: the run's process is gone.

use super::{Machine, Step};
use crate::data::status::Status;
use crate::heart::resume::{RESTARTED, over_by_reboot};
use std::time::SystemTime;

impl Machine {
    /// The machine's last boot (`None`: unknown, and the rule never applies).
    pub fn with_boot(mut self, boot: Option<SystemTime>) -> Machine {
        self.boot = boot;
        self
    }

    /// When the boot ended the run: the boot itself (long due), if it did.
    pub(super) fn reboot_deadline(&self) -> Option<SystemTime> {
        let boot = self.boot?;
        over_by_reboot(&self.state, None, boot).then_some(boot)
    }

    /// Ends the run the boot ended (`tick`, once the deadline is due).
    pub(super) fn restarted(&mut self, now: SystemTime, step: &mut Step) {
        if let Some(line) = self.fatal.take() {
            return self.fatal_error(line, now, step);
        }
        self.end_unfinished(Status::Terminated, RESTARTED.to_string(), now, step);
    }
}

#[cfg(test)]
mod tests;
