//! Making the posts that are due: each attempt under the state lock, after a last look
//! for `cancelled.marker`; the message, with the comparison with earlier builds made once
//! per post; the answer classified and the outbox told.

use super::{HISTORY_BUDGET, Watcher};
use crate::build::Target;
use crate::error::Result;
use crate::history;
use crate::machine::Step;
use crate::message::{self, Context};
use crate::outbox::Retry;
use crate::triage;
use crate::webhook::Verdict;
use log::{error, info, warn};
use std::time::{Instant, SystemTime};

impl Watcher {
    /// Makes every post that is due. Each attempt runs under the state lock, after a last
    /// look for `cancelled.marker`.
    pub(super) fn deliver_due(&mut self) -> Result<()> {
        for t in self.core.outbox.due(Instant::now()) {
            // Saved first: a crash from here on leaves the post pending, never lost.
            if self.core.dirty {
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
            if self.core.dirty {
                self.save_locked()?;
            }
        }
        Ok(())
    }

    /// The comparison of `t`'s run with earlier builds, made once per post.
    fn compare_with_history(&mut self, t: Target) {
        let st = &self.core.machine.state;
        self.triages.entry(t).or_insert_with(|| {
            let root = self.bd.dir.parent().unwrap_or(std::path::Path::new("/"));
            let run = st.run_of(t);
            let finished = run.finished_at.unwrap_or(st.updated_at);
            let wanted = triage::wanted(run);
            let build = &self.cfg.build_name;
            let past = history::read(root, build, HISTORY_BUDGET, &wanted, finished);
            triage::triage(run, finished, &past)
        });
    }

    /// One attempt for `t`; call with the state lock held.
    fn attempt(&mut self, t: Target) -> Step {
        let now = SystemTime::now();
        let st = &self.core.machine.state;
        let what = st.label(t);
        if self.bd.posted_marker(st, t).exists() {
            self.core.outbox.remove(t);
            info!(
                "{}: {what} already has a posted.marker; not posting again",
                self.cfg.build_name
            );
            return self.core.machine.delivered(t, now);
        }
        let ctx = Context {
            request: &self.request,
            host: &self.host,
            mention: self.cfg.mention.as_deref(),
            triage: self.triages.get(&t),
        };
        let message = message::render(st, t, &ctx);
        let Some(poster) = &self.poster else {
            self.core.outbox.remove(t);
            let text = format!(
                "----- Mattermost message (dry run: not posted) -----\n{}\n----------------------------------------------------\n",
                message.text
            );
            if let Err(e) = crate::out::print(&text) {
                warn!("{}: {e}", self.cfg.build_name);
            }
            return self.core.machine.printed(t, now);
        };
        match poster.send(message) {
            Verdict::Delivered => {
                self.core.outbox.remove(t);
                if let Err(e) = self.bd.write_posted(st, t) {
                    error!(
                        "{}: posted {what}, but writing posted.marker failed: {e}",
                        self.cfg.build_name
                    );
                }
                self.core.machine.delivered(t, now)
            }
            Verdict::Retry { why, after } => {
                match self.core.outbox.failed(t, after, Instant::now()) {
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
                self.core.outbox.remove(t);
                self.fail(t, why)
            }
        }
    }

    /// The post for `t` failed for good in this watch.
    fn fail(&mut self, t: Target, why: String) -> Step {
        self.failed.push(why.clone());
        self.core
            .machine
            .delivery_failed(t, &why, SystemTime::now())
    }
}
