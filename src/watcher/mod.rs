//! The watch loop: one thread blocking in `poll(2)` on the inotify fd, the signal pipe and
//! the run's pidfd, with the nearest deadline (start/hung timeout, next retry, deferred
//! save) as its timeout. Nothing wakes it while nothing happens. It only wires the parts
//! together: the follower feeds bytes to `Core` (scanner → machine, applied chunk by chunk
//! so that nothing grows with the log), posts go through the outbox and the poster.
//!
//! Order of a post: decide (machine) → save state (post pending) → under the state lock:
//! check `cancelled.marker`, send, on `ok` write `posted.marker`, save. A crash between
//! Mattermost's `ok` and the marker is the one window where a restart posts again
//! (README.md, "Delivery").

mod feed;
mod post;

use crate::build::{BuildState, Target};
use crate::config::{Request, WatchConfig, Webhook, format_duration};
use crate::error::{Error, Result};
use crate::exit::Outcome;
use crate::follower::{Follower, Wake};
use crate::machine::{CancelOutcome, Machine};
use crate::matcher::Scanner;
use crate::outbox::Outbox;
use crate::rules::Rules;
use crate::state::BuildDir;
use crate::sys::{self, PidWatch, Signals};
use crate::triage::Triage;
use crate::webhook::Poster;
use feed::Core;
use log::info;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// Changes that are not status changes (progress, log position) are saved at most this
/// often; status changes are saved at once.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// The most the look at earlier builds may delay a post (contract §9).
const HISTORY_BUDGET: Duration = Duration::from_millis(200);

pub(crate) struct Watcher {
    cfg: WatchConfig,
    request: Request,
    bd: BuildDir,
    core: Core,
    follower: Follower,
    signals: Signals,
    pid: Option<PidWatch>,
    /// `None` in a dry run: messages are printed instead.
    poster: Option<Poster>,
    /// Why posts failed for good in this watch.
    failed: Vec<String>,
    host: String,
    last_save: Instant,
    cancelled: bool,
    /// The state on disk has ended (see `apply_cancel_marker`).
    saved_finished: bool,
    /// The state loaded differs from state.json (a posted marker recorded, say).
    stale: bool,
    /// Each post's comparison with earlier builds, made once (retries post the same text).
    triages: HashMap<Target, Triage>,
}

impl Watcher {
    pub fn new(
        cfg: WatchConfig,
        request: Request,
        bd: BuildDir,
        st: BuildState,
        stale: bool,
        rules: &Rules,
    ) -> Result<Watcher> {
        let resume = st.log_position;
        let finished = st.finished();
        let mut follower = Follower::new(
            &cfg.build_name,
            &cfg.log_file,
            &bd.dir,
            resume,
            cfg.advanced.force_poll,
            cfg.advanced.poll_interval,
        );
        if finished {
            follower.stop_following();
        }
        let signals = Signals::install()
            .map_err(|e| Error::other(format!("installing signal handlers: {e}")))?;
        let pid = match (request.pid, finished) {
            (Some(p), false) => Some(PidWatch::new(p, request.pid_start)),
            _ => None,
        };
        let poster = cfg
            .webhook
            .clone()
            .filter(|_| !cfg.dry_run)
            .map(|w| Poster::new(w, cfg.advanced.http_timeout));
        let redactor = cfg
            .webhook
            .as_ref()
            .map(Webhook::redactor)
            .unwrap_or_default();
        let core = Core {
            machine: Machine::new(st, cfg.start_timeout, cfg.hung_timeout),
            scanner: Scanner::new(rules, redactor),
            outbox: Outbox::new(cfg.advanced.retry),
            events: Vec::new(),
            dirty: true,
            urgent: true,
            log_name: cfg.log_file.display().to_string(),
        };
        Ok(Watcher {
            request,
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
            saved_finished: finished,
            stale,
            triages: HashMap::new(),
            cfg,
        })
    }

    fn state(&self) -> &BuildState {
        &self.core.machine.state
    }

    fn outcome_of(&self, make: fn(String, crate::model::Status) -> Outcome) -> Outcome {
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
            self.core.outbox.schedule(t, Instant::now());
        }
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
        let pid_gone = self.pid.as_ref().is_some_and(|p| pid_ready || p.exited());
        if !self.state().finished() && pid_gone {
            self.pid = None;
            self.pid_gone()?;
        }
        let step = self.core.machine.tick(SystemTime::now());
        self.core.apply(step);
        if self.state().finished() {
            self.note_position();
            self.follower.stop_following();
            self.pid = None;
        }
        if self.core.urgent || (self.core.dirty && self.last_save.elapsed() >= SAVE_EVERY) {
            self.save()?;
        }
        self.deliver_due()?;
        if self.cancelled {
            return Ok(Some(self.cancelled_outcome()));
        }
        if self.state().finished() && self.core.outbox.is_empty() {
            if self.core.dirty {
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
            let errors = self.failed.clone();
            Outcome::Undelivered {
                build,
                status,
                errors,
            }
        }
    }

    /// Blocks in `poll(2)` until something happens or the next deadline; says what woke it.
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
        let ready = sys::poll_readable(&fds, self.timeout())
            .map_err(|e| Error::other(format!("poll: {e}")))?;
        let wake = match ino {
            Some(_) if ready[1] => self.follower.wakes(),
            Some(_) => Wake::default(),
            None => Wake::ALL,
        };
        Ok((wake, pidfd.is_some() && ready[fds.len() - 1]))
    }

    /// How long `poll` may sleep: until the nearest deadline, retry or deferred save.
    fn timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let due = self
            .core
            .machine
            .next_deadline()
            .map(|d| now + d.duration_since(SystemTime::now()).unwrap_or_default());
        let save = self.core.dirty.then_some(self.last_save + SAVE_EVERY);
        let polls_pid = matches!(self.pid, Some(PidWatch::Poll { .. }));
        let poll = (self.follower.fd().is_none() || polls_pid)
            .then_some(now + self.cfg.advanced.poll_interval);
        [due, self.core.outbox.next_wake(), save, poll]
            .into_iter()
            .flatten()
            .min()
            .map(|n| n.saturating_duration_since(now))
    }

    /// Saves state.json (and the sub-run files) under the state lock, applying a
    /// `cancelled.marker` first if one appeared.
    fn save(&mut self) -> Result<()> {
        let _lock = self.bd.state_lock()?;
        self.apply_cancel_marker();
        self.save_locked()
    }

    /// Records where a restart would resume (while the log is held).
    fn note_position(&mut self) {
        let offset = self.core.scanner.resume_offset();
        if let Some(p) = self.follower.position(offset) {
            self.core.machine.state.log_position = Some(p);
        }
    }

    /// Call with the state lock held.
    fn save_locked(&mut self) -> Result<()> {
        self.note_position();
        self.bd.save(&self.core.machine.state)?;
        self.saved_finished = self.state().finished();
        self.core.dirty = false;
        self.core.urgent = false;
        self.last_save = Instant::now();
        Ok(())
    }

    /// Call with the state lock held.
    fn apply_cancel_marker(&mut self) {
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
                .machine
                .cancel(&reason, SystemTime::now(), !self.saved_finished);
        if let CancelOutcome::Cancelled { dropped } = outcome {
            self.core.apply(step);
            self.core.outbox.clear();
            self.cancelled = true;
            info!(
                "{}: cancelled ({reason}); {dropped} undelivered post(s) dropped; nothing will be posted",
                self.cfg.build_name
            );
        }
    }

    fn follow(&mut self) -> Result<()> {
        self.follower
            .step(&mut self.core)
            .map_err(|e| Error::other(format!("reading {}: {e}", self.cfg.log_file.display())))
    }

    /// `--pid` exited: read what is left of the log, then decide.
    fn pid_gone(&mut self) -> Result<()> {
        info!(
            "{}: the run's process {} exited",
            self.cfg.build_name,
            self.request.pid.unwrap_or(0)
        );
        self.follow()?;
        self.core.scanner.finish(&mut self.core.events);
        self.core.apply_events();
        let step = self.core.machine.pid_exited(SystemTime::now());
        self.core.apply(step);
        Ok(())
    }
}
