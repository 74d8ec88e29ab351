//! What `prune` takes away from the state root (README "Operator commands"), decided
//! without I/O: for each entry what a look at it found (`Look`) and the verdict
//! (`verdict`, `now` and the age given); and the builds the history still needs
//! (`HistoryNeeds`, then `DeepStreaks`), so that pruning changes no post's marks and
//! windows (contract §10).
//!
//! What the history needs, per spec (a build is one run of each spec it ran, its groups
//! merged; a build that kept no rows is a run of every spec): its last `WINDOW_RUNS` runs
//! (the windows, "new", "failed again", "fixed since", the usual duration), and the streak
//! of each test its newest run failed with the run that ends the streak, since
//! `failing for N runs, since <B>` counts the whole streak among the runs the posts read
//! (at most `MAX_BUILDS`). Runs are ordered as `SpecHistory` orders them: by when the
//! spec's run finished, then by build name.
//!
//! Memory stays bounded whatever the state root holds: per spec only its newest
//! `PRUNE_FIRST_RUNS` runs (a test's failures kept as hashes), for at most
//! `PRUNE_MAX_SPECS` specs; the specs whose streak runs past that are looked at again
//! (`DeepStreaks`), keeping their newest `PRUNE_STREAK_RUNS`. A hash that collides can
//! only make a streak look longer: more is kept, never less.

pub(crate) mod report;

use crate::data::build_state::BuildState;
use crate::data::caps::{PRUNE_FIRST_RUNS, PRUNE_MAX_SPECS, PRUNE_STREAK_RUNS, WINDOW_RUNS};
use crate::data::status::Status;
use crate::data::time::Timestamp;
use crate::heart::history::BuildHistory;
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, SystemTime};

/// What a build's state says, as far as the verdict needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    pub status: Status,
    /// When it finished; for a build with no `finished_at`, when its state was written.
    pub since: Timestamp,
    /// `since` is `finished_at`.
    pub finished: bool,
    /// A post is decided and not delivered yet (a dry run has none to make).
    pub pending: bool,
    /// A watcher holds the build.
    pub watched: bool,
}

impl Facts {
    /// What `st` (its posted markers applied) says; `watched` as its lock says.
    pub fn of(st: &BuildState, watched: bool) -> Facts {
        let pending = st.post.post_pending || !st.pending_posts().is_empty();
        Facts {
            status: st.status(),
            since: st.run.finished_at.unwrap_or(st.updated_at),
            finished: st.run.finished_at.is_some(),
            pending: pending && !st.dry_run,
            watched,
        }
    }

    /// How long ago it finished (or was last written); nothing for a time in the future.
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.since.0).unwrap_or_default()
    }
}

/// What a look at a build directory found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Look {
    /// Its state.json, read.
    Build(Facts),
    /// A watcher is (about to be) at work: only a request so far, a directory being set up,
    /// or a state its watcher holds and will set aside.
    Starting,
    /// Not a build this program can vouch for, and why: an unreadable state, a state
    /// naming another build, a directory with neither state nor request, an entry that
    /// is no build directory at all.
    Damaged(String),
}

/// Why an entry stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kept {
    Live,
    Watched,
    Pending,
    TooRecent,
    Needed,
    Damaged(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Remove,
    Keep(Kept),
}

/// The verdict on one entry: removed only when it is a build that finished, is held by no
/// watcher, has nothing left to post, finished longer ago than `older_than`, and is not
/// `needed` by the history. The first reason that keeps it is the one given.
pub(crate) fn verdict(look: &Look, needed: bool, now: SystemTime, older_than: Duration) -> Verdict {
    let f = match look {
        Look::Damaged(why) => return Verdict::Keep(Kept::Damaged(why.clone())),
        Look::Starting => return Verdict::Keep(Kept::Live),
        Look::Build(f) => f,
    };
    let kept = if !f.status.is_terminal() {
        Kept::Live
    } else if f.watched {
        Kept::Watched
    } else if f.pending {
        Kept::Pending
    } else if f.age(now) <= older_than {
        Kept::TooRecent
    } else if needed {
        Kept::Needed
    } else {
        return Verdict::Remove;
    };
    Verdict::Keep(kept)
}

/// Where a run stands in its spec's history: when the spec's run finished, then the
/// build's place in name order (how `SpecHistory` orders runs that finished together).
type Key = (Timestamp, u32);

/// One run of a spec: its place, and the tests it failed (hashed).
#[derive(Debug, Clone)]
struct Run {
    key: Key,
    failed: Vec<u64>,
}

/// A spec's newest runs, newest first, at most `depth`; and how many it has in all.
#[derive(Debug, Default)]
struct Newest {
    runs: Vec<Run>,
    total: usize,
}

impl Newest {
    fn add(&mut self, run: Run, depth: usize) {
        self.total += 1;
        let i = self.runs.partition_point(|r| r.key > run.key);
        if i < depth {
            self.runs.insert(i, run);
            self.runs.truncate(depth);
        }
    }
}

/// A failing test, hashed: its full title, `None` for a spec that failed without a list.
fn test_id(title: &Option<String>) -> u64 {
    let mut h = DefaultHasher::new();
    title.hash(&mut h);
    h.finish()
}

/// How many of `runs` (newest first) the streaks of the newest run's failures span,
/// with the run that ends the longest of them; `None` when one goes on past the last.
fn streak_span(runs: &[&Run]) -> Option<usize> {
    let first = runs.first()?;
    let mut alive = first.failed.clone();
    if alive.is_empty() {
        return Some(1);
    }
    for (i, r) in runs.iter().enumerate().skip(1) {
        alive.retain(|t| r.failed.contains(t));
        if alive.is_empty() {
            return Some(i + 1);
        }
    }
    None
}

/// The runs of a spec in the first look: its own newest and the unknown builds' newest,
/// newest first, cut to the first look's depth.
fn merged<'a>(own: &'a Newest, unknown: &'a Newest, depth: usize) -> Vec<&'a Run> {
    let mut all: Vec<&Run> = own.runs.iter().chain(&unknown.runs).collect();
    all.sort_by_key(|r| std::cmp::Reverse(r.key));
    all.truncate(depth);
    all
}

/// The first look at every finished build's history (`add` each, in any order), then what
/// it says is needed (`needs`).
#[derive(Debug, Default)]
pub(crate) struct HistoryNeeds {
    specs: BTreeMap<String, Newest>,
    /// Builds that kept no rows: an unknown run of every spec.
    unknown: Newest,
    /// Builds that ran a spec past `PRUNE_MAX_SPECS`: kept, their windows unknown here.
    untracked: Vec<u32>,
}

impl HistoryNeeds {
    /// Build number `build` (its place in name order) and what it says of its specs.
    pub fn add(&mut self, build: u32, h: &BuildHistory) {
        if h.cut {
            // What it did not keep of its specs is unknown here too: kept.
            self.untracked.push(build);
        }
        if h.unknown {
            let run = Run {
                key: (h.finished_at, build),
                failed: Vec::new(),
            };
            self.unknown.add(run, PRUNE_FIRST_RUNS);
            return;
        }
        for r in h.specs() {
            let run = Run {
                key: (r.finished_at, build),
                failed: r.failed.iter().map(test_id).collect(),
            };
            if let Some(n) = self.specs.get_mut(r.spec()) {
                n.add(run, PRUNE_FIRST_RUNS);
            } else if self.specs.len() < PRUNE_MAX_SPECS {
                let mut n = Newest::default();
                n.add(run, PRUNE_FIRST_RUNS);
                self.specs.insert(r.spec().to_string(), n);
            } else if self.untracked.last() != Some(&build) {
                self.untracked.push(build);
            }
        }
    }

    /// The builds needed (by number, sorted), and the specs whose streaks run deeper
    /// than this look kept, to be looked at again.
    pub fn needs(self) -> (Vec<u32>, DeepStreaks) {
        let mut needed = self.untracked;
        let mut deep = DeepStreaks::default();
        // A spec no build ran yet: its runs are the unknown builds.
        let keep = |runs: &[&Run], needed: &mut Vec<u32>| {
            needed.extend(runs.iter().map(|r| r.key.1));
        };
        let unknown: Vec<&Run> = self.unknown.runs.iter().take(WINDOW_RUNS).collect();
        keep(&unknown, &mut needed);
        for (spec, own) in &self.specs {
            let runs = merged(own, &self.unknown, PRUNE_FIRST_RUNS);
            let window = runs.len().min(WINDOW_RUNS);
            keep(&runs[..window], &mut needed);
            match streak_span(&runs) {
                Some(n) => keep(&runs[..n], &mut needed),
                None if own.total + self.unknown.total <= runs.len() => keep(&runs, &mut needed),
                None => {
                    let tests = runs[0].failed.clone();
                    deep.specs.insert(spec.clone(), (tests, Newest::default()));
                }
            }
        }
        needed.sort_unstable();
        needed.dedup();
        (needed, deep)
    }
}

/// The second look, for the specs whose newest run's failures have failed in every run
/// the first look kept: each finished build's history again (`add`, in any order), then
/// the runs those streaks span, up to the one that ends them (`needed`).
#[derive(Debug, Default)]
pub(crate) struct DeepStreaks {
    /// Per spec: the tests on the streak, and its newest runs.
    specs: BTreeMap<String, (Vec<u64>, Newest)>,
}

impl DeepStreaks {
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    pub fn add(&mut self, build: u32, h: &BuildHistory) {
        if h.unknown {
            for (_, runs) in self.specs.values_mut() {
                let key = (h.finished_at, build);
                runs.add(
                    Run {
                        key,
                        failed: Vec::new(),
                    },
                    PRUNE_STREAK_RUNS,
                );
            }
            return;
        }
        for r in h.specs() {
            let Some((tests, runs)) = self.specs.get_mut(r.spec()) else {
                continue;
            };
            let failed = r.failed.iter().map(test_id);
            let run = Run {
                key: (r.finished_at, build),
                failed: failed.filter(|t| tests.contains(t)).collect(),
            };
            runs.add(run, PRUNE_STREAK_RUNS);
        }
    }

    /// The builds the streaks need (by number, sorted).
    pub fn needed(&self) -> Vec<u32> {
        let mut needed = Vec::new();
        for (_, runs) in self.specs.values() {
            let runs: Vec<&Run> = runs.runs.iter().collect();
            let n = streak_span(&runs).unwrap_or(runs.len());
            needed.extend(runs[..n].iter().map(|r| r.key.1));
        }
        needed.sort_unstable();
        needed.dedup();
        needed
    }
}

#[cfg(test)]
mod needs_tests;
#[cfg(test)]
mod tests;
