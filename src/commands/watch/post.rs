//! Making the posts that are due: each attempt under the state lock, after a last look
//! for `cancelled.marker`; the message, with the comparison with earlier builds made once
//! per post; the answer classified and the outbox told.

use super::run_loop::Watcher;
use crate::data::build_state::Target;
use crate::data::caps::HISTORY_BUDGET;
use crate::data::error::Result;
use crate::edges::stdout;
use crate::edges::webhook::Verdict;
use crate::heart::machine::Step;
use crate::heart::message::{self, Context};
use crate::heart::retry::Retry;
use crate::heart::triage;
use log::{error, info, warn};
use std::time::{Instant, SystemTime};

impl Watcher {
    /// Makes every post that is due, in order. Each attempt runs under the state lock, after
    /// a last look for `cancelled.marker`. Posts that failed for good earlier in this watch
    /// are tried again first, with a fresh budget, whenever another post is due: the
    /// server may be back, and the channel should get the results in the order they came.
    pub(super) fn deliver_due(&mut self) -> Result<()> {
        let outbox = &mut self.core.effects.outbox;
        if outbox.next_due(Instant::now()).is_some() {
            let now = Instant::now();
            for (t, _) in self.failed.drain(..) {
                outbox.schedule(t, now);
            }
        }
        while let Some(t) = self.core.effects.outbox.next_due(Instant::now()) {
            // Saved first: a crash from here on leaves the post pending, never lost.
            if self.core.effects.dirty {
                self.save()?;
            }
            // Before the lock: reading earlier builds takes up to HISTORY_BUDGET, and a
            // cancel waits on the lock.
            self.compare_with_history(t);
            let _lock = self.bd.state_lock()?;
            self.apply_cancel_marker();
            if self.cancelled {
                return Ok(());
            }
            let step = self.attempt(t);
            self.core.apply(step);
            if self.core.effects.dirty {
                self.save_locked()?;
            }
        }
        Ok(())
    }

    /// The comparison of `t`'s run with earlier builds, made once per post; the known
    /// issues it matched are recorded in its failures (state.json's `known`).
    fn compare_with_history(&mut self, t: Target) {
        if self.triages.contains_key(&t) {
            return;
        }
        let root = self.bd.state_root().to_path_buf();
        self.earlier
            .refresh(&root, Some(&self.cfg.build_name), HISTORY_BUDGET);
        let st = &self.core.pipeline.machine.state;
        let run = st.run_of(t);
        let subrun = match t {
            Target::Run => None,
            Target::Subrun(i) => Some(st.subruns[i].key.as_str()),
        };
        let finished = run.finished_at.unwrap_or(st.updated_at);
        let earlier = self.earlier.histories();
        let build = self.cfg.build_name.as_str();
        let now = SystemTime::now();
        let triage = triage::triage(build, subrun, run, finished, &earlier, &self.known, now);
        let run = self.core.pipeline.machine.state.run_of_mut(t);
        for (f, note) in run.failures.iter_mut().zip(&triage.notes) {
            let known = note.known.as_ref().map(|k| k.id.clone());
            if f.known != known {
                f.known = known;
                self.core.effects.dirty = true;
            }
        }
        self.triages.insert(t, triage);
    }

    /// One attempt for `t`; call with the state lock held.
    fn attempt(&mut self, t: Target) -> Step {
        let now = SystemTime::now();
        let st = &self.core.pipeline.machine.state;
        let what = st.label(t);
        if self.bd.posted_marker(st, t).exists() {
            self.core.effects.outbox.remove(t);
            info!(
                "{}: {what} already has a posted.marker; not posting again",
                self.cfg.build_name
            );
            return self.core.pipeline.machine.delivered(t, now);
        }
        let ctx = Context {
            request: &self.cfg.request,
            host: &self.host,
            mention: self.cfg.mention.as_deref(),
            triage: self.triages.get(&t),
        };
        let message = message::render(st, t, &ctx);
        let Some(poster) = &self.poster else {
            self.core.effects.outbox.remove(t);
            let text = format!(
                "----- Mattermost message (dry run: not posted) -----\n{}\n----------------------------------------------------\n",
                message.text
            );
            if let Err(e) = stdout::print(&text) {
                warn!("{}: {e}", self.cfg.build_name);
            }
            return self.core.pipeline.machine.printed(t, now);
        };
        match poster.send(message) {
            Verdict::Delivered => {
                self.core.effects.outbox.remove(t);
                if let Err(e) = self.bd.write_posted(st, t) {
                    error!(
                        "{}: posted {what}, but writing posted.marker failed: {e}",
                        self.cfg.build_name
                    );
                }
                self.core.pipeline.machine.delivered(t, now)
            }
            Verdict::Retry { why, after } => {
                match self.core.effects.outbox.failed(t, after, Instant::now()) {
                    Retry::After { attempts, delay } => {
                        warn!(
                            "{}: post of {what} failed (attempt {attempts}): {why}; retrying in {:.1}s",
                            self.cfg.build_name,
                            delay.as_secs_f64()
                        );
                        Step::default()
                    }
                    Retry::GaveUp { attempts } => {
                        self.fail(t, format!("{why} (gave up after {attempts} attempt(s))"))
                    }
                }
            }
            Verdict::Permanent(why) => {
                self.core.effects.outbox.remove(t);
                self.fail(t, why)
            }
        }
    }

    /// The post for `t` failed for good in this watch (it stays pending in state.json).
    fn fail(&mut self, t: Target, why: String) -> Step {
        let what = self.core.pipeline.machine.state.label(t);
        let why = format!("post of {what}: {why}");
        self.failed.push((t, why.clone()));
        self.core
            .pipeline
            .machine
            .delivery_failed(t, &why, SystemTime::now())
    }
}
