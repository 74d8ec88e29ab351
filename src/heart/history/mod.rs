//! A spec's history (contract §10): its runs under the state root, oldest first, and what
//! they say of one of its tests: the outcome in each run, the window of the last runs, the
//! mark of a failure, whether the test flaps, the spec's usual duration. Pure: the runs
//! come in as data (`edges::other_builds` reads them), `now` is no input at all.
//!
//! A build is one run of a spec whatever its sub-runs (`SpecRun::merge`): it failed a test
//! when any of its groups did, and its row and time are those of the last group that ran
//! the spec. A build whose state has no `specs` at all (written before the digest) is an
//! unknown run of every spec.

use crate::data::caps::{
    BUILD_HISTORY_TEXT, MAX_FAILURES, MAX_FLAKY, MAX_SPECS, SLOWER_MIN_RUNS, SLOWER_MIN_SECS,
    TEXT_CAP, WINDOW_RUNS,
};
use crate::data::run::{RunRecord, SpecRow};

use crate::data::time::{Timestamp, clock_secs};

/// What one build tells of one spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpecRun {
    pub build: String,
    /// The key of the last sub-run that ran the spec (`None`: a plain build).
    pub subrun: Option<String>,
    pub finished_at: Timestamp,
    /// Its summary-table row; `None`: an unknown run (a build that kept no rows).
    pub row: Option<SpecRow>,
    /// The tests it failed (`None`: the spec failed without a failure list).
    pub failed: Vec<Option<String>>,
    /// The tests that passed after retries.
    pub flaky: Vec<String>,
    /// Its failures are listed in full: a test not among them passed.
    pub complete: bool,
}

impl SpecRun {
    /// What `run` (of `build`, sub-run `subrun`) tells of `spec`, if it ran the spec: its
    /// row says so (a skipped row does not), or failures of it do (the table was lost:
    /// then its list is not known to be complete).
    pub fn of(build: &str, subrun: Option<&str>, run: &RunRecord, spec: &str) -> Option<SpecRun> {
        let failed: Vec<Option<String>> = run
            .failures
            .iter()
            .filter(|f| f.spec == spec)
            .map(|f| f.title.clone())
            .collect();
        let row = run.specs.iter().rev().find(|r| r.name == spec && r.ran());
        if row.is_none() && failed.is_empty() {
            return None;
        }
        let spec_level = failed.iter().any(Option::is_none);
        let complete = row.is_some_and(|r| !spec_level && r.failed <= failed.len() as u64);
        let row = row.cloned().unwrap_or_else(|| SpecRow {
            name: spec.to_string(),
            failed: failed.len() as u64,
            ..SpecRow::default()
        });
        Some(SpecRun {
            build: build.to_string(),
            subrun: subrun.map(str::to_string),
            finished_at: run.finished_at?,
            complete,
            failed,
            flaky: run
                .flaky
                .iter()
                .filter(|f| f.spec == spec)
                .map(|f| f.title.clone())
                .collect(),
            row: Some(row),
        })
    }

    /// An unknown run of every spec: a build that kept no rows.
    pub fn unknown(build: &str, finished_at: Timestamp) -> SpecRun {
        SpecRun {
            build: build.to_string(),
            subrun: None,
            finished_at,
            row: None,
            failed: Vec::new(),
            flaky: Vec::new(),
            complete: false,
        }
    }

    /// The same build's run of the spec in a later group: one run, failing what either
    /// failed, complete only if both are, with the later group's row, time and key.
    pub fn merge(self, later: SpecRun) -> SpecRun {
        let (mut first, mut later) = if later.finished_at >= self.finished_at {
            (self, later)
        } else {
            (later, self)
        };
        for t in first.failed.drain(..) {
            if !later.failed.contains(&t) {
                later.failed.push(t);
            }
        }
        for t in first.flaky.drain(..) {
            if !later.flaky.contains(&t) {
                later.flaky.push(t);
            }
        }
        later.complete &= first.complete;
        later
    }

    /// Its spec's name (empty for an unknown run).
    pub fn spec(&self) -> &str {
        self.row.as_ref().map_or("", |r| r.name.as_str())
    }

    fn text_len(&self) -> usize {
        let titles = self.failed.iter().flatten().chain(&self.flaky);
        self.spec().len() + titles.map(String::len).sum::<usize>()
    }

    /// How `test` did in this run.
    pub fn outcome(&self, test: Option<&str>) -> Outcome {
        if self.row.is_none() {
            Outcome::Unknown
        } else if self.failed.iter().any(|t| t.as_deref() == test) {
            Outcome::Failed
        } else if test.is_some_and(|t| self.flaky.iter().any(|f| f == t)) {
            Outcome::PassedAfterRetries
        } else if self.complete {
            Outcome::Passed
        } else {
            Outcome::Unknown
        }
    }

    /// Its row's duration in seconds, when the row had no failure.
    fn clean_secs(&self) -> Option<u64> {
        let row = self.row.as_ref().filter(|r| r.failed == 0)?;
        clock_secs(row.duration.as_deref()?)
    }
}

/// What one earlier build tells of its specs: a run of each it ran (its groups merged), or,
/// for a build that kept no rows, an unknown run of every spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuildHistory {
    pub build: String,
    pub finished_at: Timestamp,
    pub unknown: bool,
    /// Its text passed `BUILD_HISTORY_TEXT`: the specs past it were not kept, and are
    /// unknown runs (it may have run them), never runs it did not make.
    pub cut: bool,
    /// Sorted by spec name.
    specs: Vec<SpecRun>,
}

impl BuildHistory {
    /// A finished build of name `build` from its runs: the plain run (key `None`), or each
    /// finished sub-run with its key. Its text is capped as the watcher caps it (names and
    /// titles to `TEXT_CAP`, lists to theirs) and, in all, to `BUILD_HISTORY_TEXT`: the
    /// specs past that are not kept (a state root of hostile states cannot fill memory).
    pub fn new<'a>(
        build: &str,
        finished_at: Timestamp,
        runs: impl IntoIterator<Item = (Option<&'a str>, &'a RunRecord)>,
    ) -> BuildHistory {
        let mut specs: Vec<SpecRun> = Vec::new();
        let mut text = 0usize;
        let mut cut = false;
        for (key, run) in runs {
            let names = run.specs.iter().take(MAX_SPECS).map(|r| &r.name);
            let failed = run.failures.iter().take(MAX_FAILURES).map(|f| &f.spec);
            for spec in names.chain(failed) {
                let Some(mut r) = SpecRun::of(build, key, run, spec) else {
                    continue;
                };
                cap(&mut r);
                match specs.binary_search_by(|s| s.spec().cmp(r.spec())) {
                    Ok(i) => {
                        let earlier = specs[i].clone();
                        specs[i] = earlier.merge(r);
                    }
                    Err(i) => {
                        text = text.saturating_add(r.text_len());
                        if text > BUILD_HISTORY_TEXT {
                            cut = true;
                            break;
                        }
                        specs.insert(i, r);
                    }
                }
            }
        }
        BuildHistory {
            build: build.to_string(),
            finished_at,
            unknown: false,
            cut,
            specs,
        }
    }

    /// A build that kept no rows (its state was written before the digest existed): an
    /// unknown run of every spec.
    pub fn unknown(build: &str, finished_at: Timestamp) -> BuildHistory {
        BuildHistory {
            build: build.to_string(),
            finished_at,
            unknown: true,
            cut: false,
            specs: Vec::new(),
        }
    }

    /// The build's run of `spec`, if it ran it (an unknown build ran every spec; a cut one
    /// may have run those it did not keep).
    pub fn run_of(&self, spec: &str) -> Option<SpecRun> {
        if self.unknown {
            return Some(SpecRun::unknown(&self.build, self.finished_at));
        }
        match self.specs.binary_search_by(|s| s.spec().cmp(spec)) {
            Ok(i) => Some(self.specs[i].clone()),
            Err(_) if self.cut => Some(SpecRun::unknown(&self.build, self.finished_at)),
            Err(_) => None,
        }
    }

    /// Its runs, by spec name (none for an unknown build: it ran every spec).
    pub fn specs(&self) -> &[SpecRun] {
        &self.specs
    }
}

/// A run's texts cut as the watcher cuts them (whatever a state file says).
fn cap(r: &mut SpecRun) {
    let text = |t: &mut String| {
        if let Some((i, _)) = t.char_indices().nth(TEXT_CAP) {
            t.truncate(i);
        }
    };
    if let Some(row) = r.row.as_mut() {
        text(&mut row.name);
        row.duration.as_mut().map(text);
    }
    r.failed.truncate(MAX_FAILURES);
    r.failed.iter_mut().flatten().for_each(text);
    r.flaky.truncate(MAX_FLAKY);
    r.flaky.iter_mut().for_each(text);
}

/// How a test did in one run of its spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Failed,
    PassedAfterRetries,
    Passed,
    Unknown,
}

impl Outcome {
    /// The window's character: `✓` passed (after retries too), `✗` failed, `?` unknown.
    pub fn glyph(self) -> char {
        match self {
            Outcome::Failed => '✗',
            Outcome::PassedAfterRetries | Outcome::Passed => '✓',
            Outcome::Unknown => '?',
        }
    }
}

/// What a failing test's history says of it (contract §10's marks; the known issue's mark
/// is triage's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mark {
    /// No earlier run, or the previous one passed it and no earlier run of the window
    /// failed it.
    New,
    /// Failed in the previous run (of this build), not in the one before.
    AlsoFailedIn(String),
    /// Failed in each of the last `runs` (≥ 3) runs, the oldest of build `since`.
    FailingFor { runs: usize, since: String },
    /// Passed in the previous run, failed in an earlier one of the window (the latest such
    /// of this build).
    FailedAgain(String),
    /// The previous run is unknown for it: nothing can be said.
    Unknown,
}

/// The runs of one spec, oldest first, the current one last.
#[derive(Debug, Clone)]
pub(crate) struct SpecHistory {
    runs: Vec<SpecRun>,
}

impl SpecHistory {
    /// `earlier` in any order (each build at most once), then `current`. Equal times are
    /// ordered by build name, so that the order never depends on the directory's.
    pub fn new(mut earlier: Vec<SpecRun>, current: SpecRun) -> SpecHistory {
        earlier.retain(|r| r.finished_at < current.finished_at);
        earlier.sort_by(|a, b| {
            (a.finished_at, a.build.as_str()).cmp(&(b.finished_at, b.build.as_str()))
        });
        earlier.push(current);
        SpecHistory { runs: earlier }
    }

    /// Every run, oldest first (the current one last).
    pub fn runs(&self) -> &[SpecRun] {
        &self.runs
    }

    fn current(&self) -> &SpecRun {
        self.runs.last().expect("the current run is always there")
    }

    /// The run before the current one (§9's reference), if any.
    pub fn previous(&self) -> Option<&SpecRun> {
        self.runs.len().checked_sub(2).map(|i| &self.runs[i])
    }

    /// The last `WINDOW_RUNS` runs, the current one included.
    fn window(&self) -> &[SpecRun] {
        &self.runs[self.runs.len().saturating_sub(WINDOW_RUNS)..]
    }

    /// The test's outcome in each run of the window, oldest first.
    pub fn outcomes(&self, test: Option<&str>) -> Vec<Outcome> {
        self.window().iter().map(|r| r.outcome(test)).collect()
    }

    /// `✓✓✗✓✗✗✗`, when the window holds at least 3 runs.
    pub fn glyphs(&self, test: Option<&str>) -> Option<String> {
        let o = self.outcomes(test);
        (o.len() >= 3).then(|| o.into_iter().map(Outcome::glyph).collect())
    }

    /// The mark of `test`, which failed in the current run.
    pub fn mark(&self, test: Option<&str>) -> Mark {
        let Some(prev) = self.previous() else {
            return Mark::New;
        };
        let earlier = &self.runs[..self.runs.len() - 2];
        match prev.outcome(test) {
            Outcome::Unknown => Mark::Unknown,
            Outcome::Failed => {
                // The streak among every run read: the current one, the previous, then on.
                let streak = 2 + earlier
                    .iter()
                    .rev()
                    .take_while(|r| r.outcome(test) == Outcome::Failed)
                    .count();
                if streak >= 3 {
                    let since = &self.runs[self.runs.len() - streak];
                    Mark::FailingFor {
                        runs: streak,
                        since: since.build.clone(),
                    }
                } else {
                    Mark::AlsoFailedIn(prev.build.clone())
                }
            }
            Outcome::Passed | Outcome::PassedAfterRetries => {
                let in_window = self.window().len().saturating_sub(2);
                let again = earlier
                    .iter()
                    .rev()
                    .take(in_window)
                    .find(|r| r.outcome(test) == Outcome::Failed);
                match again {
                    Some(r) => Mark::FailedAgain(r.build.clone()),
                    None => Mark::New,
                }
            }
        }
    }

    /// `(k, n)` when the test flaps over the window: at least one failure or pass after
    /// retries and one pass, and its outcome changed at least twice (unknown runs
    /// skipped); `k` failures among `n` known runs.
    pub fn flaps(&self, test: Option<&str>) -> Option<(usize, usize)> {
        let known: Vec<Outcome> = self
            .outcomes(test)
            .into_iter()
            .filter(|o| *o != Outcome::Unknown)
            .collect();
        let bad = known
            .iter()
            .any(|o| matches!(o, Outcome::Failed | Outcome::PassedAfterRetries));
        let good = known
            .iter()
            .any(|o| matches!(o, Outcome::Passed | Outcome::PassedAfterRetries));
        let changes = known.windows(2).filter(|w| w[0] != w[1]).count();
        let failed = known.iter().filter(|o| **o == Outcome::Failed).count();
        (bad && good && changes >= 2).then_some((failed, known.len()))
    }

    /// The spec's usual duration (seconds) when the current run is slower (contract §10):
    /// the median of the earlier runs of the window whose row had no failure (at least
    /// `SLOWER_MIN_RUNS`), when the current duration is at least 1.5 times and
    /// `SLOWER_MIN_SECS` more than it.
    pub fn usually(&self) -> Option<u64> {
        let now = clock_secs(self.current().row.as_ref()?.duration.as_deref()?)?;
        let window = self.window();
        let mut clean: Vec<u64> = window[..window.len() - 1]
            .iter()
            .filter_map(SpecRun::clean_secs)
            .collect();
        if clean.len() < SLOWER_MIN_RUNS {
            return None;
        }
        clean.sort_unstable();
        let n = clean.len();
        let median = if n % 2 == 1 {
            clean[n / 2]
        } else {
            (clean[n / 2 - 1] + clean[n / 2]) / 2
        };
        let slower = now.saturating_mul(2) >= median.saturating_mul(3)
            && now >= median.saturating_add(SLOWER_MIN_SECS);
        slower.then_some(median)
    }
}

#[cfg(test)]
mod tests;
