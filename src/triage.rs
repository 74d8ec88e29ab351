//! "Is it new" (contract §9): a finishing run's failures compared with earlier runs under
//! the same state root. Pure: the earlier runs come in (read by `history`), a mark per
//! failure and the `Fixed since` list go out; no I/O, no clock.
//!
//! A spec's reference is the most recent earlier run that ran it (whatever the build or
//! sub-run): only that run decides whether a failure is new and what was fixed.

use crate::model::{RunOutcome, Timestamp};
use std::collections::{HashMap, HashSet};

/// Most `Fixed since` entries a post lists.
pub(crate) const MAX_FIXED: usize = 5;

/// One finished run of an earlier build (its plain run, or one of its sub-runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PastRun {
    pub build: String,
    pub finished_at: Timestamp,
    /// The specs of its summary table.
    pub specs: Vec<String>,
    /// (spec, title): `None` for a spec that failed without a failure list.
    pub failures: Vec<(String, Option<String>)>,
    /// Specs whose failures that run did not list in full (the list was capped): a test
    /// missing from it may have failed there too.
    pub incomplete: Vec<String>,
}

impl PastRun {
    /// The same run reduced to `spec`: what it tells of that spec alone.
    pub fn only(&self, spec: &str) -> PastRun {
        PastRun {
            build: self.build.clone(),
            finished_at: self.finished_at,
            specs: vec![spec.to_string()],
            failures: self
                .failures
                .iter()
                .filter(|(s, _)| s == spec)
                .cloned()
                .collect(),
            incomplete: self
                .incomplete
                .iter()
                .filter(|s| *s == spec)
                .cloned()
                .collect(),
        }
    }
}

/// The specs a comparison of `run` asks about: those it ran and those it failed.
pub(crate) fn wanted(run: &RunOutcome) -> HashSet<&str> {
    run.specs
        .iter()
        .map(|r| r.name.as_str())
        .chain(run.failures.iter().map(|f| f.spec.as_str()))
        .collect()
}

/// Whether a failing test is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mark {
    /// The spec's reference passed it, or no earlier run ran the spec.
    New,
    /// The spec's reference (this build) failed it too.
    AlsoFailedIn(String),
    /// The reference's failure list for the spec was capped and does not hold the test:
    /// nothing can be said.
    Unknown,
}

/// A test that failed in its spec's reference (of `build`) and did not fail now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fixed {
    pub build: String,
    pub spec: String,
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Triage {
    /// One per `run.failures` entry, in the same order.
    pub marks: Vec<Mark>,
    /// At most `MAX_FIXED`, in the order of `run.specs`, then of the reference's failures.
    pub fixed: Vec<Fixed>,
}

/// Compares `run`, which finished at `finished_at`, with the earlier runs `past` (runs
/// that finished at or after `finished_at` are ignored, whatever `past` holds).
pub(crate) fn triage(run: &RunOutcome, finished_at: Timestamp, past: &[PastRun]) -> Triage {
    let refs = references(&wanted(run), finished_at, past);
    let marks = run
        .failures
        .iter()
        .map(|f| match refs.get(f.spec.as_str()) {
            Some(r) if failed_in(r, &f.spec, f.title.as_deref()) => {
                Mark::AlsoFailedIn(r.build.clone())
            }
            Some(r) if r.incomplete.contains(&f.spec) => Mark::Unknown,
            _ => Mark::New,
        })
        .collect();
    Triage {
        marks,
        fixed: fixed(run, &refs),
    }
}

/// For each wanted spec, its reference: the run with the greatest `finished_at` before
/// `finished_at` whose specs hold it. One pass over `past` (200 builds of up to 500 specs
/// each), not one per spec. Equal times keep the first seen: no defined order (§9).
fn references<'p>(
    wanted: &HashSet<&str>,
    finished_at: Timestamp,
    past: &'p [PastRun],
) -> HashMap<&'p str, &'p PastRun> {
    let mut refs: HashMap<&'p str, &'p PastRun> = HashMap::new();
    for p in past.iter().filter(|p| p.finished_at < finished_at) {
        for spec in p.specs.iter().filter(|s| wanted.contains(s.as_str())) {
            let best = refs.entry(spec.as_str()).or_insert(p);
            if best.finished_at < p.finished_at {
                *best = p;
            }
        }
    }
    refs
}

/// Whether `r` failed (spec, title); a `None` title matches only `None` (the spec failed
/// without a failure list both times).
fn failed_in(r: &PastRun, spec: &str, title: Option<&str>) -> bool {
    r.failures
        .iter()
        .any(|(s, t)| s == spec && t.as_deref() == title)
}

/// The `Fixed since` list: the failures of each spec's reference that are not failures
/// now, for the specs whose failures now are known in full.
fn fixed(run: &RunOutcome, refs: &HashMap<&str, &PastRun>) -> Vec<Fixed> {
    let now: HashSet<(&str, Option<&str>)> = run
        .failures
        .iter()
        .map(|f| (f.spec.as_str(), f.title.as_deref()))
        .collect();
    let known = fully_known(run);
    let mut out: Vec<Fixed> = Vec::new();
    for row in &run.specs {
        let spec = row.name.as_str();
        if !known.contains(spec) {
            continue;
        }
        let Some(r) = refs.get(spec) else { continue };
        for (s, title) in r.failures.iter().filter(|(s, _)| s == spec) {
            let gone = !now.contains(&(spec, title.as_deref()));
            let listed = out.iter().any(|x| x.spec == *s && x.title == *title);
            if gone && !listed {
                out.push(Fixed {
                    build: r.build.clone(),
                    spec: s.clone(),
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

/// The specs of `run` whose failure list is capped: the row counts more failures than the
/// list holds (what an earlier run records for the comparison).
pub(crate) fn incomplete(run: &RunOutcome) -> Vec<String> {
    run.specs
        .iter()
        .filter(|row| {
            let listed = run.failures.iter().filter(|f| f.spec == row.name).count();
            row.failed > listed as u64
        })
        .map(|row| row.name.clone())
        .collect()
}

/// The specs of `run.specs` whose failing tests are all in `run.failures`, so that a test
/// missing from the list did pass. Not so when the list was capped (the row counts more
/// failures than the list holds), nor when the spec failed without a list (its tests did
/// not run: they did not pass either).
fn fully_known(run: &RunOutcome) -> HashSet<&str> {
    let mut listed: HashMap<&str, (u64, bool)> = HashMap::new();
    for f in &run.failures {
        let e = listed.entry(f.spec.as_str()).or_default();
        e.0 += 1;
        e.1 |= f.title.is_none();
    }
    run.specs
        .iter()
        .filter(|row| {
            let (count, spec_level) = listed.get(row.name.as_str()).copied().unwrap_or_default();
            row.failed <= count && !spec_level
        })
        .map(|row| row.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Failure, SpecRow};
    use std::time::{Duration, UNIX_EPOCH};

    type Titled = (&'static str, Option<&'static str>);
    /// name, the run, the earlier runs, the marks and the fixed list expected.
    type Case = (
        &'static str,
        RunOutcome,
        Vec<PastRun>,
        Vec<Mark>,
        Vec<Fixed>,
    );

    fn at(secs: u64) -> Timestamp {
        Timestamp(UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs))
    }

    /// The run being triaged finishes at `at(NOW)`.
    const NOW: u64 = 1000;

    fn past(build: &str, secs: u64, specs: &[&str], failures: &[Titled]) -> PastRun {
        PastRun {
            build: build.into(),
            finished_at: at(secs),
            specs: specs.iter().map(|s| s.to_string()).collect(),
            failures: failures
                .iter()
                .map(|(s, t)| (s.to_string(), t.map(String::from)))
                .collect(),
            incomplete: Vec::new(),
        }
    }

    #[test]
    fn a_capped_reference_list_says_nothing_of_a_test_it_lacks() {
        let mut p = past("b1", 10, &["s.cy.js"], &[("s.cy.js", Some("t1"))]);
        p.incomplete = vec!["s.cy.js".into()];
        let mut r = RunOutcome::default();
        for t in ["t1", "t2"] {
            r.failures.push(crate::model::Failure {
                spec: "s.cy.js".into(),
                title: Some(t.into()),
                error: None,
            });
        }
        let t = triage(&r, at(NOW), &[p]);
        assert_eq!(
            t.marks,
            vec![Mark::AlsoFailedIn("b1".into()), Mark::Unknown]
        );
        let mut capped = RunOutcome::default();
        capped.specs.push(crate::model::SpecRow {
            name: "s.cy.js".into(),
            failed: 3,
            ..Default::default()
        });
        capped.failures = r.failures.clone();
        assert_eq!(incomplete(&capped), vec!["s.cy.js".to_string()]);
        capped.specs[0].failed = 2;
        assert!(incomplete(&capped).is_empty());
    }

    /// A run whose summary rows are `specs` (name, failed) and whose failure list is
    /// `failures`.
    fn run(specs: &[(&str, u64)], failures: &[Titled]) -> RunOutcome {
        RunOutcome {
            specs: specs
                .iter()
                .map(|&(name, failed)| SpecRow {
                    name: name.into(),
                    tests: failed + 3,
                    passed: 3,
                    failed,
                    ..SpecRow::default()
                })
                .collect(),
            failures: failures
                .iter()
                .map(|(s, t)| Failure {
                    spec: s.to_string(),
                    title: t.map(String::from),
                    error: Some("Error: boom".into()),
                })
                .collect(),
            ..RunOutcome::default()
        }
    }

    fn also(build: &str) -> Mark {
        Mark::AlsoFailedIn(build.into())
    }

    fn fixed(list: &[(&str, &str, Option<&str>)]) -> Vec<Fixed> {
        list.iter()
            .map(|&(build, spec, title)| Fixed {
                build: build.into(),
                spec: spec.into(),
                title: title.map(String::from),
            })
            .collect()
    }

    const A: &str = "a.cy.js";
    const B: &str = "b.cy.js";
    const T1: Option<&str> = Some("suite › t1");
    const T2: Option<&str> = Some("suite › t2");

    #[test]
    fn marks_and_fixed() {
        let seven: Vec<Titled> = ["t1", "t2", "t3", "t4", "t5", "t6", "t7"]
            .iter()
            .map(|&t| (A, Some(t)))
            .collect();
        let first_five: Vec<(&str, &str, Option<&str>)> =
            seven[..5].iter().map(|&(s, t)| ("b1", s, t)).collect();
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("new: no earlier run",
             run(&[(A, 1)], &[(A, T1)]), vec![],
             vec![Mark::New], vec![]),
            ("new: the earlier run passed it",
             run(&[(A, 1)], &[(A, T1)]), vec![past("b1", 900, &[A], &[])],
             vec![Mark::New], vec![]),
            ("new: the earlier run failed another test of the spec (fixed, then)",
             run(&[(A, 1)], &[(A, T1)]), vec![past("b1", 900, &[A], &[(A, T2)])],
             vec![Mark::New], fixed(&[("b1", A, T2)])),
            ("also failed",
             run(&[(A, 1)], &[(A, T1)]), vec![past("b1", 900, &[A], &[(A, T1)])],
             vec![also("b1")], vec![]),
            ("most recent wins: a later pass over an older failure",
             run(&[(A, 1)], &[(A, T1)]),
             vec![past("b1", 800, &[A], &[(A, T1)]), past("b2", 900, &[A], &[]),
                  past("b0", 700, &[A], &[(A, T1)])],
             vec![Mark::New], vec![]),
            ("most recent wins: whatever the order given",
             run(&[(A, 1)], &[(A, T1)]),
             vec![past("b2", 900, &[A], &[(A, T1)]), past("b1", 800, &[A], &[]),
                  past("b3", 950, &[A], &[(A, T1)]), past("b0", 700, &[A], &[(A, T1)])],
             vec![also("b3")], vec![]),
            ("a build that finished after this one is ignored",
             run(&[(A, 1)], &[(A, T1)]),
             vec![past("later", 1100, &[A], &[(A, T1)]), past("b1", 900, &[A], &[])],
             vec![Mark::New], vec![]),
            ("a later build's failure is not fixed by this run either",
             run(&[(A, 0)], &[]),
             vec![past("later", 1001, &[A], &[(A, T1)])],
             vec![], vec![]),
            ("same spec in a sub-run of a categorized earlier build",
             run(&[("linux/x.cy.js", 0), ("win/y.cy.js", 1)], &[("win/y.cy.js", T1)]),
             vec![past("cat", 900, &["linux/x.cy.js"], &[]),
                  past("cat", 950, &["win/y.cy.js"], &[("win/y.cy.js", T1)])],
             vec![also("cat")], vec![]),
            ("each spec has its own reference, whatever the request",
             run(&[(A, 1), (B, 1)], &[(A, T1), (B, T1)]),
             vec![past("b1", 900, &[A], &[(A, T1)]), past("b2", 950, &[B], &[])],
             vec![also("b1"), Mark::New], vec![]),
            ("spec-level failure (no title) matches a spec-level failure",
             run(&[(A, 1)], &[(A, None)]), vec![past("b1", 900, &[A], &[(A, None)])],
             vec![also("b1")], vec![]),
            ("a titled failure does not match a spec-level one",
             run(&[(A, 1)], &[(A, T1)]), vec![past("b1", 900, &[A], &[(A, None)])],
             vec![Mark::New], fixed(&[("b1", A, None)])),
            ("fixed listed: tests that failed there and not now",
             run(&[(A, 1), (B, 0)], &[(A, T1)]),
             vec![past("b1", 900, &[A, B], &[(A, T1), (A, T2), (B, T1)])],
             vec![also("b1")], fixed(&[("b1", A, T2), ("b1", B, T1)])),
            ("fixed follows run.specs' order, each from its spec's reference",
             run(&[(B, 0), (A, 0)], &[]),
             vec![past("b1", 900, &[A], &[(A, T1)]), past("b2", 950, &[B], &[(B, T2)])],
             vec![], fixed(&[("b2", B, T2), ("b1", A, T1)])),
            ("fixed suppressed for a capped (incomplete) list",
             run(&[(A, 3), (B, 0)], &[(A, T1)]),
             vec![past("b1", 900, &[A, B], &[(A, T1), (A, T2), (B, T1)])],
             vec![also("b1")], fixed(&[("b1", B, T1)])),
            ("fixed suppressed when the spec failed without a list now",
             run(&[(A, 1)], &[(A, None)]), vec![past("b1", 900, &[A], &[(A, T1)])],
             vec![Mark::New], vec![]),
            ("at most five fixed",
             run(&[(A, 0)], &[]), vec![past("b1", 900, &[A], &seven)],
             vec![], fixed(&first_five)),
            ("a spec the earlier build did not run does not count",
             run(&[(A, 1)], &[(A, T1)]),
             vec![past("b1", 800, &[A], &[(A, T1)]), past("b2", 950, &[B], &[(A, T1)])],
             vec![also("b1")], vec![]),
            ("a spec no earlier build ran: new, nothing fixed",
             run(&[(A, 1)], &[(A, T1)]), vec![past("b2", 950, &[B], &[(A, T1), (B, T1)])],
             vec![Mark::New], vec![]),
            ("a spec listed twice is fixed once",
             run(&[(A, 0), (A, 0)], &[]), vec![past("b1", 900, &[A], &[(A, T1), (A, T1)])],
             vec![], fixed(&[("b1", A, T1)])),
        ];
        for (name, run, past, marks, fixed) in cases {
            let got = triage(&run, at(NOW), &past);
            assert_eq!(got.marks, marks, "{name}: marks");
            assert_eq!(got.fixed, fixed, "{name}: fixed");
        }
    }

    /// Marks follow `run.failures` one for one, even for a failure whose spec has no row
    /// (the summary table was lost).
    #[test]
    fn one_mark_per_failure_in_order() {
        let r = run(&[], &[(A, T1), (B, T2), (A, T2)]);
        let p = [past("b1", 900, &[A, B], &[(A, T2), (B, T2)])];
        let got = triage(&r, at(NOW), &p);
        assert_eq!(got.marks, vec![Mark::New, also("b1"), also("b1")]);
        assert_eq!(got.fixed, vec![]);
    }
}
