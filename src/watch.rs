//! The `watch` command: follows one build's log to its end and makes the posts it needs.
//!
//! One loop, one thread: it blocks in `poll(2)` on the inotify fd, the signal pipe and the
//! run's pidfd, with the nearest deadline (start/hung timeout, next retry, deferred save)
//! as its timeout. Nothing wakes it while nothing happens.
//!
//! Order of a post: decide (state machine) → save state (post pending) → under the state
//! lock: check `cancelled.marker`, send, on `ok` write `posted.marker`, save. A crash
//! between Mattermost's `ok` and the marker is the one window where a restart posts again
//! (README.md, "Delivery").

use crate::cli::WatchArgs;
use crate::config::{Env, Request, Target as BuildTarget, WatchConfig, format_duration};
use crate::error::{Error, Result};
use crate::follower::{Follower, Sink, Wake};
use crate::machine::{BuildState, CancelOutcome, LogPosition, Machine, Step, Target};
use crate::matcher::{Event, Scanner};
use crate::message::{self, Context};
use crate::model::Timestamp;
use crate::rules::Rules;
use crate::state::{self, BuildDir};
use crate::sys::{self, PidWatch, Signals};
use crate::webhook::{self, Jitter, Payload, Poster, Verdict};
use log::{error, info, warn};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// Changes that are not status changes (progress, log position) are saved at most this
/// often; status changes are saved at once.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// A temporary state root for a dry run, removed when the watch ends.
struct TempRoot(PathBuf);

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Resolves, validates and locks, then watches.
pub fn run(raw: &WatchArgs, env: &Env) -> Result<()> {
    let mut target = BuildTarget::resolve(raw.build_name.as_deref(), &raw.paths, env)?;
    // Run from a shell (the old script's callers), the webhook comes from the env file.
    let from_file = crate::envfile::for_watch(env, raw.dry_run)?;
    let env = match &from_file {
        Some((file_env, line)) => {
            info!("{}: {line}", target.build_name);
            file_env
        }
        None => env,
    };
    let _temp = if raw.dry_run && !target.paths.state_root_explicit {
        let t =
            std::env::temp_dir().join(format!("atvm-run-watcher-dry-run.{}", std::process::id()));
        target.paths.state_root = t.clone();
        Some(TempRoot(t))
    } else {
        None
    };
    let prepared = prepare(raw, env, target)?;
    let bd = prepared.dir;
    bd.create()?;
    let _lock = bd.lock_instance()?;
    let request = prepared.request;
    if prepared.stored.as_ref() != Some(&request) {
        bd.write_request(&request)?;
    }
    Watcher::new(prepared.cfg, request, bd, &prepared.rules)?.run()
}

/// A watch request checked against its state root, ready to be recorded.
pub struct Prepared {
    pub dir: BuildDir,
    /// request.json as found.
    pub stored: Option<Request>,
    pub cfg: WatchConfig,
    pub rules: Rules,
    /// The request to record: the resolved one, with its first-recorded time and the
    /// run's process start time (`--pid` reuse guard).
    pub request: Request,
}

/// Everything `watch` and `start` check before they create anything: a writable state
/// root, a readable stored request, a valid configuration and rules file.
pub fn prepare(raw: &WatchArgs, env: &Env, target: BuildTarget) -> Result<Prepared> {
    state::check_state_root(&target.paths.state_root)?;
    let dir = BuildDir::new(&target.paths.state_root, &target.build_name);
    let stored = if dir.exists() {
        dir.read_request()?
    } else {
        None
    };
    let cfg = WatchConfig::resolve(raw, env, target, stored.as_ref())?;
    let rules = Rules::load(cfg.rules_file.as_deref())?;
    let mut request = cfg.request.clone();
    request
        .created_at
        .get_or_insert_with(|| Timestamp::now().rfc3339());
    let mut cfg = cfg;
    if let Some(pid) = request.pid
        && stored
            .as_ref()
            .is_none_or(|s| s.pid != Some(pid) || s.pid_start.is_none())
    {
        request.pid_start = sys::process_start_time(pid);
        if request.pid_start.is_none() {
            // Not running when first recorded: a typo, or a run that already ended. Either
            // way its exit must not end the run at once (a typo would lose the result);
            // the log decides, and the hung timeout still applies.
            warn!(
                "{}: --pid {pid} is not running; watching without it",
                cfg.build_name
            );
            request.pid = None;
            cfg.request.pid = None;
        }
    }
    Ok(Prepared {
        dir,
        stored,
        cfg,
        rules,
        request,
    })
}

/// A post waiting for its next attempt.
struct Retry {
    attempts: u32,
    first: Instant,
    next: Instant,
}

/// What the follower produced, in order.
enum Item {
    Opened(SystemTime),
    Event(Event),
    Truncated,
    Closed,
}

struct Feed<'a> {
    scanner: &'a mut Scanner,
    items: Vec<Item>,
    events: Vec<Event>,
    grew: bool,
}

impl Feed<'_> {
    fn flush_events(&mut self) {
        self.items.extend(self.events.drain(..).map(Item::Event));
    }
}

impl Sink for Feed<'_> {
    fn opened(&mut self, from: u64, mtime: SystemTime) {
        self.flush_events();
        self.scanner.reset(from);
        self.items.push(Item::Opened(mtime));
    }
    fn bytes(&mut self, chunk: &[u8]) {
        self.grew = true;
        self.scanner.feed(chunk, &mut self.events);
    }
    fn truncated(&mut self) {
        self.flush_events();
        self.scanner.reset(0);
        self.items.push(Item::Truncated);
    }
    fn closed(&mut self) {
        self.scanner.finish(&mut self.events);
        self.flush_events();
        self.items.push(Item::Closed);
    }
}

struct Watcher {
    cfg: WatchConfig,
    request: Request,
    bd: BuildDir,
    machine: Machine,
    scanner: Scanner,
    follower: Follower,
    signals: Signals,
    pid: Option<PidWatch>,
    poster: Option<Poster>,
    retries: HashMap<Target, Retry>,
    failed: Vec<String>,
    jitter: Jitter,
    host: String,
    dirty: bool,
    urgent: bool,
    last_save: Instant,
    cancelled: bool,
    /// The state on disk has ended (see `apply_cancel_marker`).
    saved_finished: bool,
}

/// A dry run and a real watch never share a build's state: a real watch sets a dry run's
/// decisions aside (they posted nothing), and a dry run refuses to touch a real state.
fn load_state(bd: &mut BuildDir, cfg: &WatchConfig, request: &Request) -> Result<BuildState> {
    let existed = bd.path(state::STATE).exists();
    let mut st = bd.load_or_rebuild(request)?;
    if st.dry_run && !cfg.dry_run {
        let aside = bd.set_aside("dry-run")?;
        info!(
            "{}: the state was a dry run's, set aside in {}; watching for real",
            cfg.build_name,
            aside.display()
        );
        st = BuildState::for_request(request, Timestamp::now());
    } else if existed && !st.dry_run && cfg.dry_run {
        return Err(Error::usage(format!(
            "build {} has a real state in {}; a dry run would change it: use another --state-root or build name",
            cfg.build_name,
            bd.dir.display()
        )));
    }
    if st.categorize != cfg.request.categorize {
        warn!(
            "{}: the build was first watched with categorize={}; keeping that",
            cfg.build_name, st.categorize
        );
    }
    let log = cfg.log_file.to_string_lossy().into_owned();
    if st.log_file != log {
        info!(
            "{}: following {} (was {})",
            cfg.build_name, log, st.log_file
        );
        st.log_file = log;
        st.log_position = None;
    }
    st.dry_run = cfg.dry_run;
    Ok(st)
}

impl Watcher {
    fn new(cfg: WatchConfig, request: Request, mut bd: BuildDir, rules: &Rules) -> Result<Watcher> {
        let st = load_state(&mut bd, &cfg, &request)?;
        let resume = st.log_position;
        let finished = st.finished();
        let machine = Machine::new(st, cfg.start_timeout, cfg.hung_timeout);
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
        Ok(Watcher {
            request,
            bd,
            machine,
            scanner: Scanner::new(rules),
            follower,
            signals,
            pid,
            poster,
            retries: HashMap::new(),
            failed: Vec::new(),
            jitter: Jitter::new(),
            host: sys::hostname(),
            dirty: true,
            urgent: true,
            last_save: Instant::now(),
            cancelled: false,
            saved_finished: finished,
            cfg,
        })
    }

    fn name(&self) -> &str {
        &self.cfg.build_name
    }

    fn apply(&mut self, step: Step) {
        for n in &step.notes {
            if n.starts_with("warning:") {
                warn!(
                    "{}: {}",
                    self.cfg.build_name,
                    n.trim_start_matches("warning: ")
                );
            } else {
                info!("{n}");
            }
        }
        self.dirty |= step.changed;
        self.urgent |= step.urgent;
        for t in step.posts {
            self.schedule_now(t);
        }
    }

    /// A fresh retry budget for `t`, first attempt now.
    fn schedule_now(&mut self, t: Target) {
        let now = Instant::now();
        self.retries.insert(
            t,
            Retry {
                attempts: 0,
                first: now,
                next: now,
            },
        );
    }

    /// Saves state.json (and the sub-run files) under the state lock, applying a
    /// `cancelled.marker` first if one appeared.
    fn save(&mut self) -> Result<()> {
        let lock = self.bd.state_lock()?;
        self.apply_cancel_marker();
        self.bd.save(&self.machine.state)?;
        self.saved_finished = self.machine.state.finished();
        drop(lock);
        self.dirty = false;
        self.urgent = false;
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
        let (outcome, step) = self
            .machine
            .cancel(&reason, SystemTime::now(), !self.saved_finished);
        if let CancelOutcome::Cancelled { dropped } = outcome {
            self.apply(step);
            self.retries.clear();
            self.cancelled = true;
            info!(
                "{}: cancelled ({reason}); {} undelivered post(s) dropped; nothing will be posted",
                self.cfg.build_name, dropped
            );
        }
    }

    fn follow(&mut self) -> Result<()> {
        let mut feed = Feed {
            scanner: &mut self.scanner,
            items: Vec::new(),
            events: Vec::new(),
            grew: false,
        };
        let res = self.follower.step(&mut feed);
        feed.flush_events();
        let (items, grew) = (std::mem::take(&mut feed.items), feed.grew);
        self.absorb(items, grew);
        if let Some(id) = self.follower.current() {
            self.machine.state.log_position = Some(LogPosition {
                offset: self.scanner.resume_offset(),
                dev: id.dev,
                inode: id.ino,
            });
        }
        res.map_err(|e| Error::other(format!("reading {}: {e}", self.cfg.log_file.display())))
    }

    fn absorb(&mut self, items: Vec<Item>, grew: bool) {
        let now = SystemTime::now();
        if grew {
            self.machine.activity(now);
            self.dirty = true;
        }
        for item in items {
            let step = match item {
                Item::Opened(mtime) => self.machine.log_present(now, mtime),
                Item::Event(ev) => self.machine.event(&ev, now),
                Item::Truncated => {
                    info!(
                        "{}: {} was truncated; reading it again from the start",
                        self.name(),
                        self.cfg.log_file.display()
                    );
                    Step::default()
                }
                Item::Closed => {
                    info!(
                        "{}: {} was rotated or removed; following the new file",
                        self.name(),
                        self.cfg.log_file.display()
                    );
                    Step::default()
                }
            };
            self.apply(step);
        }
    }

    /// `--pid` exited: read what is left of the log, then decide.
    fn pid_gone(&mut self) -> Result<()> {
        info!(
            "{}: the run's process {} exited",
            self.name(),
            self.request.pid.unwrap_or(0)
        );
        self.follow()?;
        let mut evs = Vec::new();
        self.scanner.finish(&mut evs);
        self.absorb(evs.into_iter().map(Item::Event).collect(), false);
        let step = self.machine.pid_exited(SystemTime::now());
        self.apply(step);
        Ok(())
    }

    fn message(&self, t: Target) -> String {
        let ctx = Context {
            request: &self.request,
            host: &self.host,
        };
        message::render(&self.machine.state, t, &ctx)
    }

    /// Makes every post that is due. Each attempt runs under the state lock, after a last
    /// look for `cancelled.marker`.
    fn deliver_due(&mut self) -> Result<()> {
        let now = Instant::now();
        let mut due: Vec<Target> = self
            .retries
            .iter()
            .filter(|(_, r)| r.next <= now)
            .map(|(t, _)| *t)
            .collect();
        due.sort_by_key(|t| match t {
            Target::Run => 0,
            Target::Subrun(i) => *i + 1,
        });
        for t in due {
            // Saved first: a crash from here on leaves the post pending, never lost.
            if self.dirty {
                self.save()?;
            }
            let lock = self.bd.state_lock()?;
            self.apply_cancel_marker();
            if self.cancelled {
                return Ok(());
            }
            let step = self.attempt(t);
            self.apply(step);
            if self.dirty {
                self.bd.save(&self.machine.state)?;
                self.saved_finished = self.machine.state.finished();
                self.dirty = false;
                self.urgent = false;
                self.last_save = Instant::now();
            }
            drop(lock);
        }
        Ok(())
    }

    /// One attempt for `t`; call with the state lock held.
    fn attempt(&mut self, t: Target) -> Step {
        let now = SystemTime::now();
        if self.bd.posted_marker(&self.machine.state, t).exists() {
            self.retries.remove(&t);
            info!(
                "{}: {} already has a posted.marker; not posting again",
                self.name(),
                label(&self.machine.state, t)
            );
            return self.machine.delivered(t, now);
        }
        let text = self.message(t);
        let Some(poster) = &self.poster else {
            self.retries.remove(&t);
            println!(
                "----- Mattermost message (dry run: not posted) -----\n{text}\n----------------------------------------------------"
            );
            return self.machine.printed(t, now);
        };
        let verdict = poster.send(&Payload::new(text, poster.hook()));
        let r = self
            .retries
            .get_mut(&t)
            .expect("a due post has a retry entry");
        r.attempts += 1;
        let what = label(&self.machine.state, t);
        match verdict {
            Verdict::Delivered => {
                self.retries.remove(&t);
                if let Err(e) = self.bd.write_posted(&self.machine.state, t) {
                    error!(
                        "{}: posted {what}, but writing posted.marker failed: {e}",
                        self.cfg.build_name
                    );
                }
                self.machine.delivered(t, now)
            }
            Verdict::Retry { why, after } => {
                let since = r.first.elapsed();
                match webhook::next_delay(
                    r.attempts,
                    since,
                    after,
                    &self.cfg.advanced,
                    self.jitter.sample(),
                ) {
                    Some(d) => {
                        r.next = Instant::now() + d;
                        warn!(
                            "{}: post of {what} failed (attempt {}): {why}; retrying in {:.1}s",
                            self.cfg.build_name,
                            r.attempts,
                            d.as_secs_f64()
                        );
                        Step::default()
                    }
                    None => {
                        let attempts = r.attempts;
                        self.retries.remove(&t);
                        let why = format!("{why} (gave up after {attempts} attempt(s))");
                        self.failed.push(why.clone());
                        self.machine.delivery_failed(t, &why, now)
                    }
                }
            }
            Verdict::Permanent(why) => {
                self.retries.remove(&t);
                self.failed.push(why.clone());
                self.machine.delivery_failed(t, &why, now)
            }
        }
    }

    fn timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if let Some(due) = self.machine.next_deadline() {
            consider(now + due.duration_since(SystemTime::now()).unwrap_or_default());
        }
        for r in self.retries.values() {
            consider(r.next);
        }
        if self.dirty {
            consider(self.last_save + SAVE_EVERY);
        }
        let polls_pid = matches!(self.pid, Some(PidWatch::Poll { .. }));
        if self.follower.fd().is_none() || polls_pid {
            consider(now + self.cfg.advanced.poll_interval);
        }
        next.map(|n| n.saturating_duration_since(now))
    }

    fn run(mut self) -> Result<()> {
        let st = &self.machine.state;
        info!(
            "{}: watching {} (status {}, categorize {}, start timeout {}, hung timeout {})",
            st.build_name,
            self.cfg.log_file.display(),
            st.status,
            st.categorize,
            format_duration(self.cfg.start_timeout),
            self.cfg.hung_timeout.map_or("off".into(), format_duration),
        );
        if st.finished() && st.pending_posts().is_empty() {
            info!(
                "{}: already finished ({}); nothing to do",
                st.build_name, st.status
            );
            return Ok(());
        }
        for t in st.pending_posts() {
            self.schedule_now(t);
        }
        let mut wake = Wake {
            log: true,
            cancel: true,
        };
        let mut pid_ready = false;
        loop {
            if self.signals.received() {
                self.save()?;
                info!(
                    "{}: stop signal: state saved ({}); a new start resumes",
                    self.name(),
                    self.machine.state.status
                );
                return Ok(());
            }
            if wake.cancel && self.bd.cancelled().is_some() {
                self.save()?;
            }
            if self.cancelled {
                return Ok(());
            }
            if wake.log && !self.machine.state.finished() {
                self.follow()?;
            }
            if !self.machine.state.finished()
                && self.pid.as_ref().is_some_and(|p| pid_ready || p.exited())
            {
                self.pid = None;
                self.pid_gone()?;
            }
            let step = self.machine.tick(SystemTime::now());
            self.apply(step);
            if self.machine.state.finished() {
                self.follower.stop_following();
                self.pid = None;
            }
            if self.urgent || (self.dirty && self.last_save.elapsed() >= SAVE_EVERY) {
                self.save()?;
            }
            self.deliver_due()?;
            if self.cancelled {
                return Ok(());
            }
            if self.machine.state.finished() && self.retries.is_empty() {
                if self.dirty {
                    self.save()?;
                }
                return self.finish();
            }

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
            wake = match ino {
                Some(_) if ready[1] => self.follower.wakes(),
                Some(_) => Wake::default(),
                None => Wake {
                    log: true,
                    cancel: true,
                },
            };
            pid_ready = pidfd.is_some() && ready[fds.len() - 1];
        }
    }

    fn finish(&self) -> Result<()> {
        let st = &self.machine.state;
        if self.failed.is_empty() {
            info!(
                "{}: finished: {}{}",
                st.build_name,
                st.status,
                if st.posted { " (posted)" } else { "" }
            );
            Ok(())
        } else {
            Err(Error::Delivery(format!(
                "{}: finished {}, but {} post(s) could not be delivered: {}; the state is kept and the next start retries",
                st.build_name,
                st.status,
                self.failed.len(),
                self.failed.join("; ")
            )))
        }
    }
}

fn label(st: &BuildState, t: Target) -> String {
    match t {
        Target::Run => format!("the {} result", st.status),
        Target::Subrun(i) => format!("sub-run {} ({})", st.subruns[i].key, st.subruns[i].status),
    }
}
