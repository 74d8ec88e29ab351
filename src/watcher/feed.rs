//! What the follower feeds while a watch runs: bytes → scanner → events → machine, each
//! step applied as it comes (notes logged, posts put in the outbox), chunk by chunk, so
//! that nothing grows with the log.

use crate::follower::Sink;
use crate::machine::{Level, Machine, Step};
use crate::matcher::{Event, Scanner};
use crate::outbox::Outbox;
use log::{info, warn};
use std::time::{Instant, SystemTime};

/// What the follower feeds: bytes → scanner → events → machine, each step applied as it
/// comes.
pub(super) struct Core {
    pub machine: Machine,
    pub scanner: Scanner,
    pub outbox: Outbox,
    /// One chunk's events (reused).
    pub events: Vec<Event>,
    /// Something to save; `urgent`: now, not at the next throttled save.
    pub dirty: bool,
    pub urgent: bool,
    pub log_name: String,
}

impl Core {
    pub fn apply(&mut self, step: Step) {
        let build = &self.machine.state.build_name;
        for n in &step.notes {
            match n.level {
                Level::Warn => warn!("{build}: {}", n.text),
                Level::Info => info!("{}", n.text),
            }
        }
        self.dirty |= step.changed;
        self.urgent |= step.urgent;
        for t in step.posts {
            self.outbox.schedule(t, Instant::now());
        }
    }

    pub fn apply_events(&mut self) {
        let now = SystemTime::now();
        // The vector goes back with its capacity: a dense log has about a hundred events
        // a chunk, and growing a fresh one each chunk cost mmap/munmap calls (musl maps
        // big blocks) and page faults: +7% on the dense catch-up.
        let mut events = std::mem::take(&mut self.events);
        for ev in events.drain(..) {
            let step = self.machine.event(&ev, now);
            self.apply(step);
        }
        self.events = events;
    }
}

impl Sink for Core {
    fn opened(&mut self, from: u64, mtime: SystemTime) {
        self.scanner.reset(from);
        let step = self.machine.log_present(SystemTime::now(), mtime);
        self.apply(step);
    }

    fn bytes(&mut self, chunk: &[u8]) {
        self.scanner.feed(chunk, &mut self.events);
        self.apply_events();
    }

    fn grew(&mut self, mtime: SystemTime) {
        self.machine.activity(SystemTime::now(), mtime);
        // The position moved.
        self.dirty = true;
    }

    fn truncated(&mut self) {
        self.scanner.reset(0);
        info!(
            "{}: {} was truncated; reading it again from the start",
            self.machine.state.build_name, self.log_name
        );
    }

    fn closed(&mut self) {
        self.scanner.finish(&mut self.events);
        self.apply_events();
        info!(
            "{}: {} was rotated or removed; following the new file",
            self.machine.state.build_name, self.log_name
        );
    }
}
