//! Posts waiting for delivery, and when each is tried next: at most `attempts` attempts
//! and `window` since the first one, capped exponential backoff with jitter, the server's
//! `Retry-After` honoured (contract §6). Driven by `Instant`s passed in; no I/O, so the
//! retry rules are unit-tested without a socket.

use crate::data::build_state::Target;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How often and how long one post is tried (per start of the watcher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// First retry delay; doubles per attempt up to `cap`.
    pub base: Duration,
    pub cap: Duration,
    pub attempts: u32,
    /// Time budget since the first attempt.
    pub window: Duration,
}

/// A post waiting for its next attempt.
#[derive(Debug, Clone, Copy)]
struct Entry {
    attempts: u32,
    first: Instant,
    next: Instant,
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Tried again after this delay.
    After { attempts: u32, delay: Duration },
    /// The budget is spent: the post failed for good (it was removed).
    GaveUp { attempts: u32 },
}

pub(crate) struct Outbox {
    entries: BTreeMap<Target, Entry>,
    policy: RetryPolicy,
    jitter: Jitter,
}

impl Outbox {
    /// `seed` seeds the jitter (any value; `edges::sys::jitter_seed` gives one per process).
    pub fn new(policy: RetryPolicy, seed: u64) -> Outbox {
        Outbox {
            entries: BTreeMap::new(),
            policy,
            jitter: Jitter(seed | 1),
        }
    }

    /// A fresh retry budget for `t`, first attempt now.
    pub fn schedule(&mut self, t: Target, now: Instant) {
        let e = Entry {
            attempts: 0,
            first: now,
            next: now,
        };
        self.entries.insert(t, e);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops every waiting post (a cancel).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The post to try now, if any: the first waiting one (the run first, then sub-runs in
    /// order), when its attempt is due. The posts after it wait behind it, so that the
    /// channel gets them in the order the runs ended (issue 19: after an outage group 1
    /// came after group 2).
    pub fn next_due(&self, now: Instant) -> Option<Target> {
        let (t, e) = self.entries.iter().next()?;
        (e.next <= now).then_some(*t)
    }

    /// When the next attempt is due: the first waiting post's (the others wait behind it).
    pub fn next_wake(&self) -> Option<Instant> {
        self.entries.values().next().map(|e| e.next)
    }

    /// `t` is settled (delivered, failed for good, or not to be sent).
    pub fn remove(&mut self, t: Target) {
        self.entries.remove(&t);
    }

    /// An attempt for `t` failed in a way worth retrying; `after` is the server's
    /// `Retry-After`, if it gave one.
    pub fn failed(&mut self, t: Target, after: Option<Duration>, now: Instant) -> Retry {
        let Some(e) = self.entries.get_mut(&t) else {
            return Retry::GaveUp { attempts: 0 };
        };
        e.attempts += 1;
        let attempts = e.attempts;
        let since = now.saturating_duration_since(e.first);
        match next_delay(attempts, since, after, &self.policy, self.jitter.sample()) {
            Some(delay) => {
                e.next = now + delay;
                Retry::After { attempts, delay }
            }
            None => {
                self.entries.remove(&t);
                Retry::GaveUp { attempts }
            }
        }
    }
}

/// Delay before attempt `attempt + 1` (attempt counts from 1): `base · 2^(attempt-1)`,
/// capped, with jitter `j ∈ [0, 1)` spreading it over [½, 1] of that.
fn backoff(attempt: u32, base: Duration, cap: Duration, j: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    exp.min(cap).mul_f64(0.5 + j.clamp(0.0, 1.0) / 2.0)
}

/// When to try again after a failed attempt, or `None` to give up: at most
/// `attempts` attempts and `window` since the first one.
fn next_delay(
    attempts: u32,
    since_first: Duration,
    after: Option<Duration>,
    p: &RetryPolicy,
    j: f64,
) -> Option<Duration> {
    if attempts >= p.attempts {
        return None;
    }
    let delay = after.unwrap_or_else(|| backoff(attempts, p.base, p.cap, j));
    (since_first.saturating_add(delay) <= p.window).then_some(delay)
}

/// Small jitter source; no need for a cryptographic one.
struct Jitter(u64);

impl Jitter {
    fn sample(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            attempts: 8,
            window: Duration::from_secs(600),
        }
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let (b, cap) = (Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(backoff(1, b, cap, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(2, b, cap, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(4, b, cap, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(10, b, cap, 1.0), cap);
        assert_eq!(backoff(40, b, cap, 1.0), cap);
        assert_eq!(backoff(3, b, cap, 0.0), Duration::from_secs(2));
        let mut j = Jitter(0x9e37_79b9_7f4a_7c15);
        for _ in 0..1000 {
            let x = j.sample();
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn retry_budget() {
        let p = policy();
        let s = Duration::from_secs;
        #[rustfmt::skip]
        let cases: Vec<(&str, u32, Duration, Option<Duration>, Option<Duration>)> = vec![
            ("first retry after base", 1, Duration::ZERO, None, Some(s(1))),
            ("capped", 7, s(100), None, Some(s(60))),
            ("8 attempts at most", 8, Duration::ZERO, None, None),
            ("10 minutes at most", 2, s(599), None, None),
            ("Retry-After wins", 2, Duration::ZERO, Some(s(30)), Some(s(30))),
            ("Retry-After past the window", 2, Duration::ZERO, Some(s(3600)), None),
            ("Retry-After of u64::MAX seconds", 2, s(5), Some(Duration::MAX), None),
        ];
        for (name, attempts, since, after, want) in cases {
            assert_eq!(next_delay(attempts, since, after, &p, 1.0), want, "{name}");
        }
    }

    #[test]
    fn outbox_orders_due_posts_and_gives_up_when_spent() {
        let t0 = Instant::now();
        let mut o = Outbox::new(
            RetryPolicy {
                attempts: 2,
                ..policy()
            },
            7,
        );
        o.schedule(Target::Subrun(1), t0);
        o.schedule(Target::Subrun(0), t0);
        assert_eq!(o.next_due(t0), Some(Target::Subrun(0)), "in order");
        let r = o.failed(Target::Subrun(0), Some(Duration::from_secs(5)), t0);
        assert_eq!(
            r,
            Retry::After {
                attempts: 1,
                delay: Duration::from_secs(5)
            }
        );
        // Sub-run 1 is due but waits behind sub-run 0: the wake is sub-run 0's.
        assert_eq!(o.next_due(t0), None);
        assert_eq!(o.next_wake(), Some(t0 + Duration::from_secs(5)));
        let later = t0 + Duration::from_secs(5);
        assert_eq!(o.next_due(later), Some(Target::Subrun(0)));
        assert_eq!(
            o.failed(Target::Subrun(0), None, later),
            Retry::GaveUp { attempts: 2 }
        );
        assert_eq!(o.next_due(later), Some(Target::Subrun(1)));
        o.remove(Target::Subrun(1));
        assert!(o.is_empty());
    }
}
