//! The post's answer to triage (contract §9, §10): for a finishing run, each failure's mark
//! from its spec's history (`heart::history`), whether it flaps and its window; the known
//! issues; the list's order, counts and clusters (`clusters.rs`); the dominant error; what
//! was fixed since; the slower specs. Pure: the earlier builds come in as data
//! (`BuildHistory`, read by `edges::other_builds`), the known issues as checked entries,
//! `now` as an input; the message only formats what this decides.

mod clusters;
mod known;

use crate::data::caps::{CLUSTER_NAMED, DOMINANT_MIN, DOMINANT_PERCENT, MAX_FIXED, SHOWN_SLOWER};
use crate::data::known_issue::KnownIssue;
use crate::data::run::RunRecord;
use crate::data::time::Timestamp;
use crate::heart::history::{BuildHistory, Mark, SpecHistory, SpecRun};
use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

/// What the post says of one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub mark: Mark,
    /// The known issue it is (its mark then replaces `mark`'s words).
    pub known: Option<Known>,
    /// `(k, n)`: it flaps, failing `k` of the `n` known runs of its window.
    pub flaps: Option<(usize, usize)>,
    /// `✓✓✗`: its window, when it holds at least 3 runs.
    pub window: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Known {
    pub id: String,
    pub url: Option<String>,
}

/// One item of the failed tests' list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// The failure of that index.
    One(usize),
    /// Failures with one error (indices in log order), as one item.
    Cluster(Vec<usize>),
}

/// The list heading's counts (the tests with no mark are in the total only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub new: usize,
    pub again: usize,
    pub still: usize,
    pub known: usize,
}

/// A test that failed in its spec's previous run (of `build`) and did not fail now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fixed {
    pub build: String,
    pub spec: String,
    pub title: Option<String>,
}

/// A spec slower than usual: its duration now, and the usual one in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slower {
    pub spec: String,
    pub now: String,
    pub usually: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Triage {
    /// One per `run.failures` entry, in the same order.
    pub notes: Vec<Note>,
    /// The list in the post's order: failed again, new, the streaks (shorter first), no
    /// mark, known; in log order within each; a cluster where its first member would be.
    pub items: Vec<Item>,
    pub counts: Counts,
    /// A cluster holding most of the failures: (its size, the failures', its first member).
    pub dominant: Option<(usize, usize, usize)>,
    /// One per `run.flaky` entry: `(k, n)` when it flaps over its window.
    pub flaky: Vec<Option<(usize, usize)>>,
    /// At most `MAX_FIXED`, in the order of `run.specs`, then of the previous run's list.
    pub fixed: Vec<Fixed>,
    /// At most `SHOWN_SLOWER`, in the order of `run.specs`.
    pub slower: Vec<Slower>,
}

/// What the history says of `run` (of build `build`, sub-run `subrun`), which finished at
/// `finished`: `earlier` are the other builds, `known` the known issues, `now` decides
/// which of them have expired.
pub(crate) fn triage(
    build: &str,
    subrun: Option<&str>,
    run: &RunRecord,
    finished: Timestamp,
    earlier: &[&BuildHistory],
    known: &[KnownIssue],
    now: SystemTime,
) -> Triage {
    let mut current = run.clone();
    current.finished_at = Some(finished);
    let histories = histories(build, subrun, &current, earlier);
    let history = |spec: &str| histories.get(spec);
    let notes: Vec<Note> = run
        .failures
        .iter()
        .map(|f| {
            let title = f.title.as_deref();
            let h = history(&f.spec);
            Note {
                mark: h.map_or(Mark::New, |h| h.mark(title)),
                known: known::matching(known, f, now).map(|k| Known {
                    id: k.id.clone(),
                    url: k.url.clone(),
                }),
                flaps: h.and_then(|h| h.flaps(title)),
                window: h.and_then(|h| h.glyphs(title)),
            }
        })
        .collect();
    let errors: Vec<Option<&str>> = run
        .failures
        .iter()
        .zip(&notes)
        .map(|(f, n)| f.error.as_deref().filter(|_| n.known.is_none()))
        .collect();
    let groups = clusters::clusters(&errors);
    // Of the post's failures as its heading counts them (the list may have been cut).
    let total = run.failed_total();
    let dominant = groups
        .iter()
        .max_by_key(|g| g.len())
        .filter(|g| {
            g.len() >= DOMINANT_MIN
                && g.len().saturating_mul(100) >= DOMINANT_PERCENT.saturating_mul(total)
        })
        .map(|g| (g.len(), total, g[0]));
    Triage {
        items: items(&notes, &groups),
        counts: counts(&notes),
        dominant,
        flaky: run
            .flaky
            .iter()
            .map(|f| history(&f.spec).and_then(|h| h.flaps(Some(&f.title))))
            .collect(),
        fixed: fixed(run, &histories),
        slower: slower(run, &histories),
        notes,
    }
}

/// Each spec of the run's history: its runs in the earlier builds, then this one.
fn histories(
    build: &str,
    subrun: Option<&str>,
    run: &RunRecord,
    earlier: &[&BuildHistory],
) -> HashMap<String, SpecHistory> {
    let specs: HashSet<&str> = run
        .specs
        .iter()
        .map(|r| r.name.as_str())
        .chain(run.failures.iter().map(|f| f.spec.as_str()))
        .chain(run.flaky.iter().map(|f| f.spec.as_str()))
        .collect();
    specs
        .into_iter()
        .filter_map(|spec| {
            let current = SpecRun::of(build, subrun, run, spec)?;
            let past: Vec<SpecRun> = earlier.iter().filter_map(|b| b.run_of(spec)).collect();
            Some((spec.to_string(), SpecHistory::new(past, current)))
        })
        .collect()
}

/// Where a failure goes in the list: failed again, new, the streaks (shorter first), no
/// mark, known.
fn rank(n: &Note) -> (u8, usize) {
    if n.known.is_some() {
        return (5, 0);
    }
    match &n.mark {
        Mark::FailedAgain(_) => (0, 0),
        Mark::New => (1, 0),
        Mark::AlsoFailedIn(_) => (2, 2),
        Mark::FailingFor { runs, .. } => (2, *runs),
        Mark::Unknown => (4, 0),
    }
}

fn items(notes: &[Note], groups: &[Vec<usize>]) -> Vec<Item> {
    let mut order: Vec<usize> = (0..notes.len()).collect();
    order.sort_by_key(|&i| rank(&notes[i]));
    let group_of = |i: usize| groups.iter().find(|g| g.contains(&i));
    // A cluster stands where its first member (in the log's order) would.
    order
        .into_iter()
        .filter_map(|i| match group_of(i) {
            None => Some(Item::One(i)),
            Some(g) if g[0] == i => Some(Item::Cluster(g.clone())),
            Some(_) => None,
        })
        .collect()
}

fn counts(notes: &[Note]) -> Counts {
    let mut c = Counts::default();
    for n in notes {
        match (&n.known, &n.mark) {
            (Some(_), _) => c.known += 1,
            (None, Mark::New) => c.new += 1,
            (None, Mark::FailedAgain(_)) => c.again += 1,
            (None, Mark::AlsoFailedIn(_) | Mark::FailingFor { .. }) => c.still += 1,
            (None, Mark::Unknown) => {}
        }
    }
    c
}

/// The counts of a cluster's members.
pub(crate) fn cluster_counts(notes: &[Note], members: &[usize]) -> Counts {
    let picked: Vec<Note> = members.iter().map(|&i| notes[i].clone()).collect();
    counts(&picked)
}

/// The members a cluster's item names.
pub(crate) fn named(members: &[usize]) -> &[usize] {
    &members[..members.len().min(CLUSTER_NAMED)]
}

/// The `Fixed since` list: the failures of each spec's previous run that are not failures
/// now, for the specs whose failures now are known in full.
fn fixed(run: &RunRecord, histories: &HashMap<String, SpecHistory>) -> Vec<Fixed> {
    let now: HashSet<(&str, Option<&str>)> = run
        .failures
        .iter()
        .map(|f| (f.spec.as_str(), f.title.as_deref()))
        .collect();
    let mut out: Vec<Fixed> = Vec::new();
    for row in run.specs.iter().filter(|r| r.ran()) {
        let spec = row.name.as_str();
        let Some(h) = histories.get(spec) else {
            continue;
        };
        let complete = h.runs().last().is_some_and(|r| r.complete);
        let Some(prev) = h.previous().filter(|p| p.row.is_some() && complete) else {
            continue;
        };
        for title in &prev.failed {
            let gone = !now.contains(&(spec, title.as_deref()));
            let listed = out.iter().any(|x| x.spec == spec && x.title == *title);
            if gone && !listed {
                out.push(Fixed {
                    build: prev.build.clone(),
                    spec: spec.to_string(),
                    title: title.clone(),
                });
                if out.len() == MAX_FIXED {
                    return out;
                }
            }
        }
    }
    out
}

fn slower(run: &RunRecord, histories: &HashMap<String, SpecHistory>) -> Vec<Slower> {
    let mut out: Vec<Slower> = Vec::new();
    for row in run.specs.iter().filter(|r| r.ran()) {
        let Some(usually) = histories.get(&row.name).and_then(SpecHistory::usually) else {
            continue;
        };
        if out.iter().any(|s| s.spec == row.name) {
            continue;
        }
        out.push(Slower {
            spec: row.name.clone(),
            now: row.duration.clone().unwrap_or_default(),
            usually,
        });
        if out.len() == SHOWN_SLOWER {
            break;
        }
    }
    out
}

/// A triage of marks only (log order, no history of windows or flapping), for the
/// message's tests.
#[cfg(test)]
impl Triage {
    pub fn of_marks(marks: Vec<Mark>, fixed: Vec<Fixed>) -> Triage {
        let notes: Vec<Note> = marks
            .into_iter()
            .map(|mark| Note {
                mark,
                known: None,
                flaps: None,
                window: None,
            })
            .collect();
        Triage {
            items: (0..notes.len()).map(Item::One).collect(),
            counts: counts(&notes),
            notes,
            fixed,
            ..Triage::default()
        }
    }
}

#[cfg(test)]
mod tests;
