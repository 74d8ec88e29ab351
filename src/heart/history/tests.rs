//! A spec's history, table-tested: each case is the runs of one spec (oldest first, by the
//! day they finished), written as one string per run, and what the history says of the
//! test `t` that failed in the current (last) run.
//!
//! A run's string: `F` failed `t`, `P` passed it (the list was complete), `R` passed it
//! after retries, `?` the list was cut without `t` (unknown), `U` a build that kept no
//! rows, `S` the spec failed without a list.

use super::*;
use crate::data::run::{Failure, Flaky};
use std::time::{Duration, UNIX_EPOCH};

fn at(day: u64) -> Timestamp {
    Timestamp(UNIX_EPOCH + Duration::from_secs(1_790_000_000 + day * 86_400))
}

const SPEC: &str = "a.cy.js";
const T: &str = "Suite › t";

/// Build `b<day>`'s run of the spec, as the letter says.
fn run_of(day: u64, letter: char) -> SpecRun {
    let build = format!("b{day:02}");
    if letter == 'U' {
        return SpecRun::unknown(&build, at(day));
    }
    let mut r = RunRecord {
        finished_at: Some(at(day)),
        ..RunRecord::default()
    };
    let failed = |title: Option<&str>| Failure::new(SPEC.into(), title.map(String::from), None);
    let mut row_failed = 0;
    match letter {
        'F' => {
            r.failures.push(failed(Some(T)));
            row_failed = 1;
        }
        '?' => {
            r.failures.push(failed(Some("Suite › other")));
            row_failed = 2;
        }
        'S' => {
            r.failures.push(failed(None));
            row_failed = 1;
        }
        'R' => r.flaky.push(Flaky {
            spec: SPEC.into(),
            title: T.into(),
            attempts: 2,
        }),
        _ => {}
    }
    r.specs.push(SpecRow {
        name: SPEC.into(),
        tests: 4,
        failed: row_failed,
        duration: Some("10:00".into()),
        ..SpecRow::default()
    });
    SpecRun::of(&build, None, &r, SPEC).expect("the run ran the spec")
}

/// The history of `runs` (one letter a day; the last is the current run).
fn history(runs: &str) -> SpecHistory {
    let mut all: Vec<SpecRun> = runs
        .chars()
        .enumerate()
        .map(|(day, c)| run_of(day as u64, c))
        .collect();
    let current = all.pop().expect("a current run");
    // Offered newest first: the order given must not matter.
    all.reverse();
    SpecHistory::new(all, current)
}

fn b(day: u64) -> String {
    format!("b{day:02}")
}

#[test]
fn marks() {
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Mark)> = vec![
        ("no earlier run", "F", Mark::New),
        ("passed before", "PF", Mark::New),
        ("passed after retries before", "RF", Mark::New),
        ("failed before, not the run before that", "PFF", Mark::AlsoFailedIn(b(1))),
        ("failed before, nothing before that", "FF", Mark::AlsoFailedIn(b(0))),
        ("an unknown run before the previous one ends the streak", "F?FF",
         Mark::AlsoFailedIn(b(2))),
        ("three in a row", "PFFF", Mark::FailingFor { runs: 3, since: b(1) }),
        ("a streak longer than the window", "PFFFFFFFFFFFF",
         Mark::FailingFor { runs: 12, since: b(1) }),
        ("a build that kept no rows ends a streak", "FFUFF",
         Mark::AlsoFailedIn(b(3))),
        ("the previous run is unknown for it: no mark", "F?F", Mark::Unknown),
        ("the previous build kept no rows: no mark", "FUF", Mark::Unknown),
        ("fixed, then broken again", "FFPF", Mark::FailedAgain(b(1))),
        ("broken again: the latest earlier failure is named", "FPFPPF",
         Mark::FailedAgain(b(2))),
        ("broken again after retries passed it", "FRF", Mark::FailedAgain(b(0))),
        ("a failure out of the window is forgotten", "FPPPPPPPPPF", Mark::New),
        ("the oldest run of the window still counts", "FPPPPPPPPF", Mark::FailedAgain(b(0))),
        ("a spec-level failure does not fail the test", "SPF", Mark::New),
    ];
    for (name, runs, want) in cases {
        assert_eq!(history(runs).mark(Some(T)), want, "{name}: {runs}");
    }
}

/// Runs (as letters), the window shown, and `(k, n)` when it flaps.
type WindowCase = (&'static str, Option<&'static str>, Option<(usize, usize)>);

#[test]
fn windows_and_flapping() {
    #[rustfmt::skip]
    let cases: Vec<WindowCase> = vec![
        ("F", None, None),
        ("PF", None, None),
        ("PPF", Some("✓✓✗"), None),
        ("FPF", Some("✗✓✗"), Some((2, 3))),
        ("PFPF", Some("✓✗✓✗"), Some((2, 4))),
        ("PPPFFF", Some("✓✓✓✗✗✗"), None),
        ("F?PUF", Some("✗?✓?✗"), Some((2, 3))),
        ("RPF", Some("✓✓✗"), Some((1, 3))),
        ("FFFFFFFFFFFFPF", Some("✗✗✗✗✗✗✗✗✓✗"), Some((9, 10))),
        ("??F", Some("??✗"), None),
    ];
    for (runs, glyphs, flaps) in cases {
        let h = history(runs);
        assert_eq!(h.glyphs(Some(T)).as_deref(), glyphs, "{runs}: glyphs");
        assert_eq!(h.flaps(Some(T)), flaps, "{runs}: flaps");
    }
}

/// A test that passed after retries now flaps when its window says so.
#[test]
fn a_test_flaky_now_is_judged_over_its_window() {
    assert_eq!(history("PPR").flaps(Some(T)), None, "one change only");
    assert_eq!(history("PRPR").flaps(Some(T)), Some((0, 4)));
    assert_eq!(history("FPR").flaps(Some(T)), Some((1, 3)));
}

/// A spec-level failure is its own test (`None`): failed where the spec failed without a
/// list, passed where its list was known.
#[test]
fn a_spec_level_failure_has_a_history_of_its_own() {
    assert_eq!(history("SS").mark(None), Mark::AlsoFailedIn(b(0)));
    assert_eq!(history("PS").mark(None), Mark::New);
    assert_eq!(history("SPS").mark(None), Mark::FailedAgain(b(0)));
}

/// Equal times are ordered by build name; a run of a later time than the current one is
/// no history.
#[test]
fn order_and_bounds() {
    let current = run_of(5, 'F');
    let mut same = run_of(3, 'P');
    same.build = "a-first".into();
    let later = run_of(9, 'F');
    let h = SpecHistory::new(vec![later, run_of(3, 'F'), same], current.clone());
    let builds: Vec<&str> = h.runs().iter().map(|r| r.build.as_str()).collect();
    assert_eq!(builds, ["a-first", "b03", "b05"]);
    assert_eq!(h.mark(Some(T)), Mark::AlsoFailedIn(b(3)));
    assert_eq!(h.previous().map(|r| r.build.as_str()), Some("b03"));
    let alone = SpecHistory::new(Vec::new(), current);
    assert_eq!(alone.previous(), None);
}

/// One build, two groups running the spec: one run, failing what either failed, with the
/// later group's row and time; complete only if both lists were.
#[test]
fn groups_of_one_build_merge() {
    let mut early = run_of(2, 'F');
    early.subrun = Some("01-linux".into());
    let mut late = run_of(2, 'P');
    late.finished_at = at(3);
    late.subrun = Some("02-windows".into());
    let merged = early.clone().merge(late.clone());
    assert_eq!(merged.subrun.as_deref(), Some("02-windows"));
    assert_eq!(merged.finished_at, at(3));
    assert_eq!(merged.failed, vec![Some(T.to_string())]);
    assert!(merged.complete);
    assert_eq!(late.clone().merge(early.clone()), merged, "in either order");
    let mut cut = run_of(2, '?');
    cut.finished_at = at(1);
    assert!(!cut.merge(late).complete);
    // The next build failing the test: also failed in the merged one, not new.
    let h = SpecHistory::new(vec![merged], run_of(4, 'F'));
    assert_eq!(h.mark(Some(T)), Mark::AlsoFailedIn(b(2)));
}

/// Durations: (current, earlier clean runs' durations), the usual one expected.
#[test]
fn slower_specs() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<&str>, Option<u64>)> = vec![
        ("41:07", vec!["24:10", "24:00", "25:00"], Some(24 * 60 + 10)),
        ("41:07", vec!["24:10", "24:00"], None),
        ("30:00", vec!["24:00", "24:00", "24:00"], None),
        ("07:00", vec!["01:00", "01:00", "01:00"], Some(60)),
        ("05:09", vec!["00:10", "00:10", "00:10"], None),
        ("05:10", vec!["00:10", "00:10", "00:10"], Some(10)),
        ("1:00:00", vec!["20:00", "30:00", "40:00", "10:00"], Some(25 * 60)),
        ("nonsense", vec!["01:00", "01:00", "01:00"], None),
    ];
    for (now, earlier, want) in cases {
        let mut runs: Vec<SpecRun> = earlier
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut r = run_of(i as u64, 'P');
                r.row.as_mut().unwrap().duration = Some(d.to_string());
                r
            })
            .collect();
        // A run with a failure does not count, nor does one out of the window.
        let mut failing = run_of(20, 'F');
        failing.row.as_mut().unwrap().duration = Some("00:01".into());
        runs.push(failing);
        let mut current = run_of(30, 'P');
        current.row.as_mut().unwrap().duration = Some(now.to_string());
        let h = SpecHistory::new(runs, current);
        assert_eq!(h.usually(), want, "{now} after {earlier:?}");
    }
}

/// A build whose text passes its cap keeps the specs before it; those past it are unknown
/// runs (it may have run them), not runs it did not make: an older build is never taken for
/// their previous run.
#[test]
fn the_specs_a_cut_build_did_not_keep_are_unknown_runs() {
    use crate::data::caps::{BUILD_HISTORY_TEXT, MAX_SPECS};
    use crate::data::run::SpecRow;
    let name = |g: usize, i: usize| format!("{}-{g}-{i:04}.cy.js", "s".repeat(240));
    let groups: Vec<(String, RunRecord)> = (0..4)
        .map(|g| {
            let specs = (0..MAX_SPECS)
                .map(|i| SpecRow {
                    name: name(g, i),
                    tests: 1,
                    passed: 1,
                    ..SpecRow::default()
                })
                .collect();
            let run = RunRecord {
                specs,
                finished_at: Some(at(1)),
                ..RunRecord::default()
            };
            (format!("0{g}-g"), run)
        })
        .collect();
    const {
        assert!(
            4 * MAX_SPECS * 250 > BUILD_HISTORY_TEXT,
            "the text passes the cap"
        )
    };
    let b = BuildHistory::new(
        "big",
        at(1),
        groups.iter().map(|(k, r)| (Some(k.as_str()), r)),
    );
    assert!(b.cut);
    let kept = b.run_of(&name(0, 0)).expect("the first spec is kept");
    assert_eq!(kept.outcome(None), Outcome::Passed);
    let past = b
        .run_of(&name(3, MAX_SPECS - 1))
        .expect("an unknown run, not none");
    assert_eq!(past.outcome(None), Outcome::Unknown);
    let small = BuildHistory::new("small", at(1), [(None, &groups[0].1)]);
    assert!(!small.cut);
    assert_eq!(
        small.run_of("never-ran.cy.js"),
        None,
        "a build that kept all ran only those"
    );
}
