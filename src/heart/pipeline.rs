//! The one loop from log bytes to decisions: bytes → scanner → events → machine, each
//! event's step handed on as it comes, chunk by chunk, so that nothing grows with the log.
//! The watch (`commands::watch`), cancel's replay of a log, the fuzz property and the
//! bench all go through it. Each call takes the log itself as a `Lookback`, for what the
//! scan skipped (matcher/lookback.rs).

use super::machine::{Machine, Step};
use super::matcher::{Event, Lookback, Scanner};
use std::time::SystemTime;

pub(crate) struct Pipeline {
    pub scanner: Scanner,
    pub machine: Machine,
    /// One chunk's events. Kept with its capacity: a dense log has about a hundred events a
    /// chunk, and growing a fresh vector each chunk cost mmap/munmap calls (musl maps big
    /// blocks) and page faults: +7% on the bench's dense catch-up.
    events: Vec<Event>,
}

impl Pipeline {
    pub fn new(scanner: Scanner, machine: Machine) -> Pipeline {
        Pipeline {
            scanner,
            machine,
            events: Vec::new(),
        }
    }

    /// A file was opened and is read from `from`; the last decision about the run was
    /// made at `boundary` (a restart's saved position, else `from`); `mtime` is its last
    /// modification.
    pub fn opened(&mut self, from: u64, boundary: u64, now: SystemTime, mtime: SystemTime) -> Step {
        self.scanner.resume_at(from, boundary);
        self.machine.log_present(now, mtime)
    }

    /// The file is read again from its start (it was truncated).
    pub fn truncated(&mut self) {
        self.scanner.reset(0);
    }

    /// The next bytes of the log; `on` gets each event and what it changed, in order.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        log: &dyn Lookback,
        now: SystemTime,
        on: &mut dyn FnMut(&Event, Step),
    ) {
        self.scanner.feed(chunk, log, &mut self.events);
        self.apply(now, on);
    }

    /// The end of the file: an unfinished last line counts as a line.
    pub fn finish(
        &mut self,
        log: &dyn Lookback,
        now: SystemTime,
        on: &mut dyn FnMut(&Event, Step),
    ) {
        self.scanner.finish(log, &mut self.events);
        self.apply(now, on);
    }

    fn apply(&mut self, now: SystemTime, on: &mut dyn FnMut(&Event, Step)) {
        for ev in self.events.drain(..) {
            let step = self.machine.event(&ev, now);
            on(&ev, step);
        }
    }

    /// The log was read to its end for now: the fatal error it rests on, if any, waits for
    /// its grace (or the run's process) in the machine.
    pub fn at_rest(&mut self, log: &dyn Lookback) {
        let fatal = self.scanner.at_rest(log);
        self.machine.at_rest(fatal);
    }

    /// Time passed (`Machine::tick`); a fatal error it ended the run on is settled.
    pub fn tick(&mut self, now: SystemTime) -> Step {
        let pending = self.machine.fatal_pending();
        let step = self.machine.tick(now);
        self.settle_if(pending);
        step
    }

    /// The run's process exited, its log read to the end (`Machine::pid_exited`).
    pub fn pid_exited(&mut self, log: &dyn Lookback, now: SystemTime) -> Step {
        self.at_rest(log);
        let pending = self.machine.fatal_pending();
        let step = self.machine.pid_exited(now);
        self.settle_if(pending);
        step
    }

    /// A fatal error the log rested on was decided: it is no part of what comes next.
    fn settle_if(&mut self, was_pending: bool) {
        if was_pending && !self.machine.fatal_pending() {
            self.scanner.settle();
        }
    }
}
