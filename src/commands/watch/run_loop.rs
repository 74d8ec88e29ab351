//! The watch loop: one thread blocking in `poll(2)` on the inotify fd, the signal pipe and
//! the run's pidfd, with the nearest deadline (start/hung timeout, next retry, deferred
//! save) as its timeout. Nothing wakes it while nothing happens. A catch-up is read one
//! slice (`READ_SLICE`) a turn, without sleeping in between: stop signals, the cancel
//! marker and posts are looked at between slices, and the timeouts and the run's process
//! only once the log is read to its end (what is still unread may hold the result). It
//! only wires the parts together: the follower feeds bytes to `Core` (the pipeline, applied
//! chunk by chunk so that nothing grows with the log), posts go through the outbox and the
//! poster.
//!
//! Order of a post: decide (machine) → save state (post pending) → under the state lock:
//! check `cancelled.marker`, send, on `ok` write `posted.marker`, save. A crash between
//! Mattermost's `ok` and the marker is the one window where a restart posts again
//! (README.md, "Delivery").

use super::feed::{Core, Effects};
use crate::commands::outcome::Outcome;
use crate::data::build_state::{BuildState, Target};
use crate::data::caps::HISTORY_BUDGET;
use crate::data::error::{Error, Result};
use crate::data::known_issue::KnownIssue;
use crate::data::names::BuildName;
use crate::data::status::Status;
use crate::data::time::format_duration;
use crate::edges::build_dir::BuildDir;
use crate::edges::follower::{Follower, Wake};
use crate::edges::other_builds::EarlierBuilds;
use crate::edges::sys::{self, PidWatch, Signals};
use crate::edges::webhook::{Poster, Webhook};
use crate::heart::machine::{CancelResult, Machine, Timeouts};
use crate::heart::matcher::{Bytes, Scanner};
use crate::heart::pipeline::Pipeline;
use crate::heart::retry::Outbox;
use crate::heart::rules::Rules;
use crate::heart::triage::Triage;
use crate::settings::config::WatchConfig;
use crate::settings::vars;
use log::info;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// Changes that are not status changes (progress, log position) are saved at most this
/// often; status changes are saved at once.
const SAVE_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct Watcher {
    pub(super) cfg: WatchConfig,
    pub(super) bd: BuildDir,
    pub(super) core: Core,
    pub(super) follower: Follower,
    pub(super) signals: Signals,
    pub(super) pid: Option<PidWatch>,
    /// `None` in a dry run: messages are printed instead.
    pub(super) poster: Option<Poster>,
    /// The posts that failed for good in this watch, and why: tried again first when
    /// another post is due (`deliver_due`), else the watch ends with exit 3.
    pub(super) failed: Vec<(Target, String)>,
    pub(super) host: String,
    pub(super) last_save: Instant,
    pub(super) cancelled: bool,
    /// The log holds more than the last slice read: the next turn reads on at once.
    pub(super) behind: bool,
    /// The state on disk has ended (see `apply_cancel_marker`).
    pub(super) saved_finished: bool,
    /// The state loaded differs from state.json (a posted marker recorded, say).
    pub(super) stale: bool,
    /// Each post's comparison with earlier builds, made once (retries post the same text).
    pub(super) triages: HashMap<Target, Triage>,
    /// The earlier builds, read ahead when the watch starts and looked at again per post.
    pub(super) earlier: EarlierBuilds,
    pub(super) known: Vec<KnownIssue>,
}

impl Watcher {
    pub fn new(
        cfg: WatchConfig,
        bd: BuildDir,
        st: BuildState,
        stale: bool,
        rules: &Rules,
        known: Vec<KnownIssue>,
    ) -> Result<Watcher> {
        let resume = st.log_position;
        let finished = st.finished();
        let mut follower = Follower::new(
            &cfg.build_name,
            &cfg.log_file,
            &bd.dir,
            resume,
            cfg.advanced
                .force_poll
                .then(|| format!("{} is set", vars::FORCE_POLL.name)),
            cfg.advanced.poll_interval,
        );
        if finished {
            follower.stop_following();
        }
        let signals = Signals::install()
            .map_err(|e| Error::other(format!("installing signal handlers: {e}")))?;
        let request = &cfg.request;
        let pid = match (request.pid, finished) {
            (Some(p), false) => Some(PidWatch::new(p, request.pid_start)),
            _ => None,
        };
        let poster = cfg
            .webhook
            .clone()
            .filter(|_| !cfg.dry_run)
            .map(|w| Poster::new(w, cfg.advanced.http_timeout, cfg.advanced.ca_file.clone()));
        let redactor = cfg
            .webhook
            .as_ref()
            .map(Webhook::redactor)
            .unwrap_or_default();
        let machine = Machine::new(
            st,
            Timeouts {
                start: cfg.start_timeout,
                hung: cfg.hung_timeout,
                fatal_grace: cfg.fatal_grace,
            },
        )
        .with_boot(sys::boot_time());
        let core = Core {
            pipeline: Pipeline::new(Scanner::new(rules, redactor), machine),
            effects: Effects {
                build: cfg.build_name.clone(),
                outbox: Outbox::new(cfg.advanced.retry, sys::jitter_seed()),
                dirty: true,
                urgent: true,
            },
            log_name: cfg.log_file.display().to_string(),
        };
        Ok(Watcher {
            bd,
            core,
            follower,
            signals,
            pid,
            poster,
            failed: Vec::new(),
            host: sys::hostname(),
            last_save: Instant::now(),
            cancelled: false,
            behind: false,
            saved_finished: finished,
            stale,
            triages: HashMap::new(),
            earlier: EarlierBuilds::default(),
            known,
            cfg,
        })
    }

    fn state(&self) -> &BuildState {
        &self.core.pipeline.machine.state
    }

    fn outcome_of(&self, make: fn(BuildName, Status) -> Outcome) -> Outcome {
        make(self.cfg.build_name.clone(), self.state().status())
    }

    /// Watches until the run is over and its posts are made (or cancelled, or stopped).
    pub fn run(mut self) -> Result<Outcome> {
        let st = self.state();
        info!(
            "{}: watching {} (status {}, categorize {}, start timeout {}, hung timeout {})",
            st.build_name,
            self.cfg.log_file.display(),
            st.status(),
            st.categorize,
            format_duration(self.cfg.start_timeout),
            self.cfg.hung_timeout.map_or("off".into(), format_duration),
        );
        if st.finished() && st.pending_posts().is_empty() {
            if self.stale {
                // A posted marker proved a delivery state.json did not record yet.
                self.save()?;
            }
            return Ok(self.outcome_of(|build, status| Outcome::AlreadyFinished { build, status }));
        }
        for t in st.pending_posts() {
            self.core.effects.outbox.schedule(t, Instant::now());
        }
        // Read ahead, long before the run ends: a post then only looks at what changed.
        let root = self.bd.state_root().to_path_buf();
        self.earlier
            .refresh(&root, Some(&self.cfg.build_name), HISTORY_BUDGET);
        let mut wake = Wake::ALL;
        let mut pid_ready = false;
        loop {
            if let Some(outcome) = self.turn(wake, pid_ready)? {
                return Ok(outcome);
            }
            (wake, pid_ready) = self.sleep()?;
        }
    }

    /// One turn of the loop: everything there is to do now; `Some` once the watch is over.
    fn turn(&mut self, wake: Wake, pid_ready: bool) -> Result<Option<Outcome>> {
        if self.signals.received() {
            self.save()?;
            return Ok(Some(
                self.outcome_of(|build, status| Outcome::Stopped { build, status }),
            ));
        }
        if wake.cancel && self.bd.cancelled().is_some() {
            self.save()?;
        }
        if self.cancelled {
            return Ok(Some(self.cancelled_outcome()));
        }
        if wake.log && !self.state().finished() {
            self.follow()?;
        }
        if !self.behind {
            // What is still unread may hold the result: time and the run's process count
            // only once the log is read to its end.
            let pid_gone = self.pid.as_ref().is_some_and(|p| pid_ready || p.exited());
            if !self.state().finished() && pid_gone && self.pid_gone()? {
                self.pid = None;
            }
            let step = self.core.pipeline.tick(SystemTime::now());
            self.core.apply(step);
        }
        if self.state().finished() {
            self.note_position();
            self.follower.stop_following();
            self.pid = None;
            // Nothing more is read: the loop sleeps until its next post or retry.
            self.behind = false;
        }
        if self.core.effects.urgent
            || (self.core.effects.dirty && self.last_save.elapsed() >= SAVE_EVERY)
        {
            self.save()?;
        }
        self.deliver_due()?;
        if self.cancelled {
            return Ok(Some(self.cancelled_outcome()));
        }
        if self.state().finished() && self.core.effects.outbox.is_empty() {
            if self.core.effects.dirty {
                self.save()?;
            }
            return Ok(Some(self.finished_outcome()));
        }
        Ok(None)
    }

    fn cancelled_outcome(&self) -> Outcome {
        Outcome::Cancelled {
            build: self.cfg.build_name.clone(),
        }
    }

    fn finished_outcome(&self) -> Outcome {
        let st = self.state();
        let (build, status) = (self.cfg.build_name.clone(), st.status());
        if self.failed.is_empty() {
            let posted = st.post.posted;
            Outcome::Finished {
                build,
                status,
                posted,
            }
        } else {
            let errors = self.failed.iter().map(|(_, why)| why.clone()).collect();
            Outcome::Undelivered {
                build,
                status,
                errors,
            }
        }
    }

    /// Blocks in `poll(2)` until something happens or the next deadline; says what woke it.
    /// Behind in the log, it only looks (a zero timeout) and wakes for everything.
    fn sleep(&mut self) -> Result<(Wake, bool)> {
        let mut fds = vec![self.signals.fd()];
        let ino = self.follower.fd();
        if let Some(fd) = ino {
            fds.push(fd);
        }
        let pidfd = self.pid.as_ref().and_then(PidWatch::fd);
        if let Some(fd) = pidfd {
            fds.push(fd);
        }
        let timeout = if self.behind {
            Some(Duration::ZERO)
        } else {
            self.timeout()
        };
        let ready =
            sys::poll_readable(&fds, timeout).map_err(|e| Error::other(format!("poll: {e}")))?;
        let wake = match ino {
            Some(_) if ready[1] => self.follower.wakes(),
            Some(_) => Wake::default(),
            None => Wake::ALL,
        };
        let wake = if self.behind { Wake::ALL } else { wake };
        Ok((wake, pidfd.is_some() && ready[fds.len() - 1]))
    }

    /// How long `poll` may sleep: until the nearest deadline, retry or deferred save.
    fn timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let due = self
            .core
            .pipeline
            .machine
            .next_deadline()
            .map(|d| now + d.duration_since(SystemTime::now()).unwrap_or_default());
        let save = self
            .core
            .effects
            .dirty
            .then_some(self.last_save + SAVE_EVERY);
        let polls_pid = matches!(self.pid, Some(PidWatch::Poll { .. }));
        let poll = (self.follower.fd().is_none() || polls_pid)
            .then_some(now + self.cfg.advanced.poll_interval);
        [due, self.core.effects.outbox.next_wake(), save, poll]
            .into_iter()
            .flatten()
            .min()
            .map(|n| n.saturating_duration_since(now))
    }

    /// Saves state.json (and the sub-run files) under the state lock, applying a
    /// `cancelled.marker` first if one appeared.
    pub(super) fn save(&mut self) -> Result<()> {
        let _lock = self.bd.state_lock()?;
        self.apply_cancel_marker();
        self.save_locked()
    }

    /// Records where a restart would resume (while the log is held).
    fn note_position(&mut self) {
        let scanner = &self.core.pipeline.scanner;
        if let Some(p) = self
            .follower
            .position(scanner.resume_offset(), scanner.boundary())
        {
            self.core.pipeline.machine.state.log_position = Some(p);
        }
    }

    /// Call with the state lock held.
    pub(super) fn save_locked(&mut self) -> Result<()> {
        self.note_position();
        self.bd.save(&self.core.pipeline.machine.state)?;
        self.saved_finished = self.state().finished();
        self.core.effects.dirty = false;
        self.core.effects.urgent = false;
        self.last_save = Instant::now();
        Ok(())
    }

    /// Call with the state lock held.
    pub(super) fn apply_cancel_marker(&mut self) {
        if self.cancelled {
            return;
        }
        let Some(marker) = self.bd.cancelled() else {
            return;
        };
        let reason = marker.reason.unwrap_or_else(|| "cancelled.marker".into());
        // Under the state lock: if the last saved state had not ended, the cancel was
        // recorded before this watcher's ending reached the disk, and it wins.
        let (outcome, step) =
            self.core
                .pipeline
                .machine
                .cancel(&reason, SystemTime::now(), !self.saved_finished);
        if let CancelResult::Cancelled { dropped } = outcome {
            self.core.apply(step);
            self.core.effects.outbox.clear();
            self.cancelled = true;
            info!(
                "{}: cancelled ({reason}); {dropped} undelivered post(s) dropped; nothing will be posted",
                self.cfg.build_name
            );
        }
    }

    /// Reads what the log holds now, or one slice of it (`behind` then); once it is read
    /// to its end, what it rests on (a fatal error waits for its grace). Returns whether
    /// it is read to its end.
    fn follow(&mut self) -> Result<bool> {
        let at_end = self
            .follower
            .step(&mut self.core)
            .map_err(|e| Error::other(format!("reading {}: {e}", self.cfg.log_file.display())))?;
        self.behind = !at_end;
        if at_end && let Some(log) = self.follower.log() {
            self.core.pipeline.at_rest(log);
        }
        Ok(at_end)
    }

    /// `--pid` exited: read what is left of the log, then decide. `false` while the log
    /// is not read to its end yet (a slice was read; the next turns go on).
    fn pid_gone(&mut self) -> Result<bool> {
        if !self.follow()? {
            return Ok(false);
        }
        info!(
            "{}: the run's process {} exited",
            self.cfg.build_name,
            self.cfg.request.pid.unwrap_or(0)
        );
        self.follow()?;
        let step = match self.follower.log() {
            Some(log) => {
                self.core.finish(log);
                self.core.pipeline.pid_exited(log, SystemTime::now())
            }
            None => self
                .core
                .pipeline
                .pid_exited(&Bytes(&[]), SystemTime::now()),
        };
        self.core.apply(step);
        Ok(true)
    }
}
