//! What the follower feeds while a watch runs: the log's bytes into the pipeline (bytes →
//! scanner → machine), each step applied as it comes (notes logged, posts put in the
//! outbox), chunk by chunk, so that nothing grows with the log.

use crate::data::names::BuildName;
use crate::edges::follower::Sink;
use crate::heart::machine::{Level, Step};
use crate::heart::pipeline::Pipeline;
use crate::heart::retry::Outbox;
use log::{info, warn};
use std::fs::File;
use std::time::{Instant, SystemTime};

/// The pipeline and what its steps lead to.
pub(super) struct Core {
    pub pipeline: Pipeline,
    pub effects: Effects,
    pub log_name: String,
}

/// What steps change outside the machine: the log, the outbox, whether to save.
pub(super) struct Effects {
    pub build: BuildName,
    pub outbox: Outbox,
    /// Something to save; `urgent`: now, not at the next throttled save.
    pub dirty: bool,
    pub urgent: bool,
}

impl Effects {
    pub fn apply(&mut self, step: Step) {
        for n in &step.notes {
            match n.level {
                Level::Warn => warn!("{}: {}", self.build, n.text),
                Level::Info => info!("{}", n.text),
            }
        }
        self.dirty |= step.changed;
        self.urgent |= step.urgent;
        for t in step.posts {
            self.outbox.schedule(t, Instant::now());
        }
    }
}

impl Core {
    pub fn apply(&mut self, step: Step) {
        self.effects.apply(step);
    }

    /// The end of the file: an unfinished last line counts as a line.
    pub fn finish(&mut self, log: &File) {
        let Core {
            pipeline, effects, ..
        } = self;
        pipeline.finish(log, SystemTime::now(), &mut |_, step| effects.apply(step));
    }
}

impl Sink for Core {
    fn opened(&mut self, from: u64, boundary: u64, mtime: SystemTime) {
        let step = self
            .pipeline
            .opened(from, boundary, SystemTime::now(), mtime);
        self.apply(step);
    }

    fn bytes(&mut self, chunk: &[u8], log: &File) {
        let Core {
            pipeline, effects, ..
        } = self;
        pipeline.feed(chunk, log, SystemTime::now(), &mut |_, step| {
            effects.apply(step)
        });
    }

    fn grew(&mut self, mtime: SystemTime, _log: &File) {
        self.pipeline.machine.activity(SystemTime::now(), mtime);
        // The position moved.
        self.effects.dirty = true;
    }

    fn truncated(&mut self) {
        self.pipeline.truncated();
        info!(
            "{}: {} was truncated; reading it again from the start",
            self.effects.build, self.log_name
        );
    }

    fn closed(&mut self, log: &File) {
        self.finish(log);
        info!(
            "{}: {} was rotated or removed; following the new file",
            self.effects.build, self.log_name
        );
    }
}
