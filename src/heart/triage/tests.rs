//! The post's triage, table-tested over earlier builds given as runs: marks (including a
//! categorized build's groups as one run), `Fixed since`, the list's order and counts,
//! clusters and the dominant error, known issues, slower specs.

use super::*;
use crate::data::run::{Failure, Flaky, SpecRow};
use std::time::{Duration, UNIX_EPOCH};

fn at(secs: u64) -> Timestamp {
    Timestamp(UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs))
}

/// The run being triaged finishes at `at(NOW)`.
const NOW: u64 = 1000;
const A: &str = "a.cy.js";
const B: &str = "b.cy.js";
const T1: Option<&str> = Some("suite › t1");
const T2: Option<&str> = Some("suite › t2");

type Titled = (&'static str, Option<&'static str>);

/// A run whose summary rows are `specs` (name, failed) and whose failures are `failures`
/// (each with the error `Error: boom`).
fn run(specs: &[(&str, u64)], failures: &[Titled]) -> RunRecord {
    RunRecord {
        specs: specs
            .iter()
            .map(|&(name, failed)| SpecRow {
                name: name.into(),
                tests: failed + 3,
                passed: 3,
                failed,
                duration: Some("01:00".into()),
                ..SpecRow::default()
            })
            .collect(),
        failures: failures
            .iter()
            .map(|(s, t)| {
                Failure::new(
                    s.to_string(),
                    t.map(String::from),
                    Some("Error: boom".into()),
                )
            })
            .collect(),
        ..RunRecord::default()
    }
}

/// Build `build`, finished at `secs`: one run of `specs` failing `failures` (every listed
/// spec's row counts its failures, so the lists are complete).
fn past(build: &str, secs: u64, specs: &[&str], failures: &[Titled]) -> BuildHistory {
    let rows: Vec<(&str, u64)> = specs
        .iter()
        .map(|s| (*s, failures.iter().filter(|(f, _)| f == s).count() as u64))
        .collect();
    let mut r = run(&rows, failures);
    r.finished_at = Some(at(secs));
    BuildHistory::new(build, at(secs), [(None, &r)])
}

/// What a case says, the run, its earlier builds, and the marks and fixed expected.
type MarkCase = (
    &'static str,
    RunRecord,
    Vec<BuildHistory>,
    Vec<Mark>,
    Vec<Fixed>,
);

fn compare(run: &RunRecord, earlier: &[BuildHistory]) -> Triage {
    with_known(run, earlier, &[])
}

fn with_known(run: &RunRecord, earlier: &[BuildHistory], known: &[KnownIssue]) -> Triage {
    let earlier: Vec<&BuildHistory> = earlier.iter().collect();
    triage("now", None, run, at(NOW), &earlier, known, UNIX_EPOCH)
}

fn marks(t: &Triage) -> Vec<Mark> {
    t.notes.iter().map(|n| n.mark.clone()).collect()
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

#[test]
fn marks_and_fixed() {
    let seven: Vec<Titled> = ["t1", "t2", "t3", "t4", "t5", "t6", "t7"]
        .iter()
        .map(|&t| (A, Some(t)))
        .collect();
    let first_five: Vec<(&str, &str, Option<&str>)> =
        seven[..5].iter().map(|&(s, t)| ("b1", s, t)).collect();
    #[rustfmt::skip]
    let cases: Vec<MarkCase> = vec![
        ("new: no earlier run",
         run(&[(A, 1)], &[(A, T1)]), vec![], vec![Mark::New], vec![]),
        ("new: the earlier run passed it",
         run(&[(A, 1)], &[(A, T1)]), vec![past("b1", 900, &[A], &[])], vec![Mark::New], vec![]),
        ("new: the earlier run failed another test of the spec (fixed, then)",
         run(&[(A, 1)], &[(A, T1)]), vec![past("b1", 900, &[A], &[(A, T2)])],
         vec![Mark::New], fixed(&[("b1", A, T2)])),
        ("also failed",
         run(&[(A, 1)], &[(A, T1)]), vec![past("b1", 900, &[A], &[(A, T1)])],
         vec![also("b1")], vec![]),
        ("failed again: a later pass over an older failure",
         run(&[(A, 1)], &[(A, T1)]),
         vec![past("b1", 800, &[A], &[(A, T1)]), past("b2", 900, &[A], &[]),
              past("b0", 700, &[A], &[(A, T1)])],
         vec![Mark::FailedAgain("b1".into())], vec![]),
        ("a streak, whatever the order given",
         run(&[(A, 1)], &[(A, T1)]),
         vec![past("b2", 900, &[A], &[(A, T1)]), past("b1", 800, &[A], &[]),
              past("b3", 950, &[A], &[(A, T1)]), past("b0", 700, &[A], &[(A, T1)])],
         vec![Mark::FailingFor { runs: 3, since: "b2".into() }], vec![]),
        ("a build that finished after this one is ignored",
         run(&[(A, 1)], &[(A, T1)]),
         vec![past("later", 1100, &[A], &[(A, T1)]), past("b1", 900, &[A], &[])],
         vec![Mark::New], vec![]),
        ("each spec has its own history, whatever the request",
         run(&[(A, 1), (B, 1)], &[(A, T1), (B, T1)]),
         vec![past("b1", 900, &[A], &[(A, T1)]), past("b2", 950, &[B], &[])],
         vec![also("b1"), Mark::New], vec![]),
        ("spec-level failure (no title) matches a spec-level failure",
         run(&[(A, 1)], &[(A, None)]), vec![past("b1", 900, &[A], &[(A, None)])],
         vec![also("b1")], vec![]),
        ("fixed listed: tests that failed there and not now",
         run(&[(A, 1), (B, 0)], &[(A, T1)]),
         vec![past("b1", 900, &[A, B], &[(A, T1), (A, T2), (B, T1)])],
         vec![also("b1")], fixed(&[("b1", A, T2), ("b1", B, T1)])),
        ("fixed follows run.specs' order, each from its spec's previous run",
         run(&[(B, 0), (A, 0)], &[]),
         vec![past("b1", 900, &[A], &[(A, T1)]), past("b2", 950, &[B], &[(B, T2)])],
         vec![], fixed(&[("b2", B, T2), ("b1", A, T1)])),
        ("fixed suppressed for a capped (incomplete) list now",
         run(&[(A, 3), (B, 0)], &[(A, T1)]),
         vec![past("b1", 900, &[A, B], &[(A, T1), (A, T2), (B, T1)])],
         vec![also("b1")], fixed(&[("b1", B, T1)])),
        ("fixed suppressed when the spec failed without a list now",
         run(&[(A, 1)], &[(A, None)]), vec![past("b1", 900, &[A], &[(A, T1)])],
         vec![Mark::New], vec![]),
        ("at most five fixed",
         run(&[(A, 0)], &[]), vec![past("b1", 900, &[A], &seven)], vec![], fixed(&first_five)),
        ("a spec the earlier build did not run does not count",
         run(&[(A, 1)], &[(A, T1)]),
         vec![past("b1", 800, &[A], &[(A, T1)]), past("b2", 950, &[B], &[])],
         vec![also("b1")], vec![]),
    ];
    for (name, run, past, want_marks, want_fixed) in cases {
        let got = compare(&run, &past);
        assert_eq!(marks(&got), want_marks, "{name}: marks");
        assert_eq!(got.fixed, want_fixed, "{name}: fixed");
    }
}

/// Contract §10's defect in §9's reading: `linux` fails a test of `shared.cy.js`, `windows`
/// passes it a second later, in one build. That build failed the test: the next build
/// failing it says `also failed in`, and one passing it lists it as fixed.
#[test]
fn a_later_passing_group_does_not_hide_a_failing_one() {
    let shared = "shared.cy.js";
    let mut linux = run(&[(shared, 1)], &[(shared, T1)]);
    linux.finished_at = Some(at(100));
    let mut windows = run(&[(shared, 0)], &[]);
    windows.finished_at = Some(at(101));
    for windows_at in [101, 100] {
        windows.finished_at = Some(at(windows_at));
        let cat = BuildHistory::new(
            "cat",
            at(101),
            [(Some("01-linux"), &linux), (Some("02-windows"), &windows)],
        );
        let again = compare(
            &run(&[(shared, 1)], &[(shared, T1)]),
            std::slice::from_ref(&cat),
        );
        assert_eq!(
            marks(&again),
            vec![also("cat")],
            "groups {windows_at}s apart"
        );
        let passing = compare(&run(&[(shared, 0)], &[]), &[cat]);
        assert_eq!(passing.fixed, fixed(&[("cat", shared, T1)]));
    }
}

/// A build from before the digest (no rows at all) is an unknown run of every spec: nothing
/// is called new or fixed against an older build than it.
#[test]
fn a_build_that_kept_no_rows_is_an_unknown_run() {
    let upgraded = || BuildHistory::unknown("before-upgrade", at(900));
    let t = compare(
        &run(&[(A, 1)], &[(A, T1)]),
        &[past("b0", 800, &[A], &[]), upgraded()],
    );
    assert_eq!(marks(&t), vec![Mark::Unknown]);
    let t = compare(
        &run(&[(A, 0)], &[]),
        &[past("b0", 800, &[A], &[(A, T1)]), upgraded()],
    );
    assert!(t.fixed.is_empty(), "{:?}", t.fixed);
    // A build that ran without rows (Cypress stopped before its table) ran no spec.
    let mut stopped = RunRecord {
        finished_at: Some(at(900)),
        ..RunRecord::default()
    };
    stopped.reason = Some("Cypress stopped".into());
    let stopped = BuildHistory::new("stopped", at(900), [(None, &stopped)]);
    let t = compare(
        &run(&[(A, 1)], &[(A, T1)]),
        &[past("b0", 800, &[A], &[(A, T1)]), stopped],
    );
    assert_eq!(marks(&t), vec![also("b0")]);
}

/// Order: failed again, new, the streaks (shorter first), no mark, known; log order in each.
#[test]
fn the_list_order_and_its_counts() {
    // Earlier builds: what spec A failed (lists complete); spec B's list cut in b4 (its row
    // counts a failure it does not list).
    let build = |name: &str, secs: u64, a_fails: &[&'static str], b_cut: bool| {
        let fails: Vec<Titled> = a_fails.iter().map(|t| (A, Some(*t))).collect();
        let mut r = run(&[(A, fails.len() as u64), (B, u64::from(b_cut))], &fails);
        r.finished_at = Some(at(secs));
        BuildHistory::new(name, at(secs), [(None, &r)])
    };
    let earlier = vec![
        build("b1", 100, &["t-fail4", "t-again"], false),
        build("b2", 200, &["t-fail4"], false),
        build("b3", 300, &["t-fail4", "t-fail3"], false),
        build("b4", 400, &["t-fail4", "t-fail3", "t-also"], true),
    ];
    let log_order: [Titled; 8] = [
        (A, Some("t-known")),
        (A, Some("t-new")),
        (A, Some("t-fail3")),
        (A, Some("t-also")),
        (A, Some("t-again")),
        (B, Some("t-nomark")),
        (A, Some("t-fail4")),
        (A, Some("t-new2")),
    ];
    let mut now = run(&[(A, 7), (B, 1)], &log_order);
    for (i, f) in now.failures.iter_mut().enumerate() {
        f.error = Some(format!("Error: unique {}", char::from(b'a' + i as u8)));
    }
    let issues = [KnownIssue {
        id: "ATVM-1".into(),
        url: None,
        spec: None,
        title: Some("T-KNOWN".into()),
        error: None,
        expires: None,
    }];
    let got = with_known(&now, &earlier, &issues);
    let title = |i: &Item| match i {
        Item::One(i) => now.failures[*i].title.clone().unwrap(),
        Item::Cluster(_) => "a cluster".into(),
    };
    let order: Vec<String> = got.items.iter().map(title).collect();
    assert_eq!(
        order,
        [
            "t-again", "t-new", "t-new2", "t-also", "t-fail3", "t-fail4", "t-nomark", "t-known"
        ],
        "{:#?}",
        got.notes
    );
    assert_eq!(
        marks(&got)[2..7],
        [
            Mark::FailingFor {
                runs: 3,
                since: "b3".into()
            },
            also("b4"),
            Mark::FailedAgain("b1".into()),
            Mark::Unknown,
            Mark::FailingFor {
                runs: 5,
                since: "b1".into()
            },
        ]
    );
    assert_eq!(
        got.counts,
        Counts {
            new: 2,
            again: 1,
            still: 3,
            known: 1
        }
    );
}

/// Three failures with one error are one item where the first of them would be; a
/// cluster of most failures is said under the heading; known issues never cluster.
#[test]
fn clusters_and_the_dominant_error() {
    let refused = |n: u32| format!("Error: connect ECONNREFUSED 10.0.0.{n}:6443");
    let mut now = run(&[(A, 6), (B, 1)], &[]);
    for i in 0..6 {
        now.failures.push(Failure::new(
            A.into(),
            Some(format!("suite › t{i}")),
            Some(refused(i)),
        ));
    }
    now.failures.push(Failure::new(
        B.into(),
        T1.map(String::from),
        Some("Error: other".into()),
    ));
    let t = compare(&now, &[]);
    assert_eq!(
        t.items,
        vec![Item::Cluster(vec![0, 1, 2, 3, 4, 5]), Item::One(6)]
    );
    assert_eq!(t.dominant, Some((6, 7, 0)), "6 of 7 is over 80%");
    assert_eq!(named(&[0, 1, 2, 3, 4, 5]), [0, 1, 2]);
    assert_eq!(cluster_counts(&t.notes, &[0, 1, 2, 3, 4, 5]).new, 6);

    // Four of seven: a cluster, not dominant.
    now.failures.truncate(4);
    now.failures.push(Failure::new(
        B.into(),
        T1.map(String::from),
        Some("Error: x".into()),
    ));
    now.failures.push(Failure::new(
        B.into(),
        T2.map(String::from),
        Some("Error: y".into()),
    ));
    now.failures.push(Failure::new(
        B.into(),
        Some("z".into()),
        Some("Error: z".into()),
    ));
    let t = compare(&now, &[]);
    assert_eq!(t.dominant, None);
    assert_eq!(t.items.len(), 4);

    // Known ones are left out of clusters: two left are none.
    let issue = |id: &str, title: &str| KnownIssue {
        id: id.into(),
        url: Some(format!("https://jira.example/{id}")),
        spec: None,
        title: Some(title.into()),
        error: Some("econnrefused".into()),
        expires: None,
    };
    let issues = [issue("NET-9", "suite › t0"), issue("NET-10", "suite › t1")];
    let got = with_known(&now, &[], &issues);
    assert!(
        got.items.iter().all(|i| matches!(i, Item::One(_))),
        "{:?}",
        got.items
    );
    assert_eq!(got.counts.known, 2);
    assert_eq!(
        got.items.last(),
        Some(&Item::One(1)),
        "known ones last, in log order"
    );
}

/// A flaky test now, and its window; a slower spec.
#[test]
fn flaky_over_time_and_slower_specs() {
    let mut now = run(&[(A, 0)], &[]);
    now.specs[0].duration = Some("20:00".into());
    now.flaky.push(Flaky {
        spec: A.into(),
        title: "suite › t1".into(),
        attempts: 2,
    });
    let earlier: Vec<BuildHistory> = [(100, true), (200, false), (300, true)]
        .iter()
        .map(|&(secs, fails)| {
            let f: &[Titled] = if fails { &[(A, T1)] } else { &[] };
            past(&format!("b{secs}"), secs, &[A], f)
        })
        .collect();
    let t = compare(&now, &earlier);
    assert_eq!(t.flaky, vec![Some((2, 4))]);
    // Only the clean run (b200, 01:00) counts for the median: one is too few.
    assert!(t.slower.is_empty());
    let clean: Vec<BuildHistory> = (1..=3)
        .map(|i| past(&format!("c{i}"), i * 100, &[A], &[]))
        .collect();
    let t = compare(&now, &clean);
    assert_eq!(
        t.slower,
        vec![Slower {
            spec: A.into(),
            now: "20:00".into(),
            usually: 60
        }]
    );
}

/// A cluster is listed where its first member (in the log's order) would be, not where its
/// first-ranked member would: here its first member failed before (a streak, after the new
/// ones), though the others are new.
#[test]
fn a_cluster_goes_where_its_first_member_would() {
    let refused = |n: u32| format!("Error: connect ECONNREFUSED 10.0.0.{n}:6443");
    let earlier = [past("b1", 10, &[A, B], &[(A, Some("suite › t0"))])];
    let mut now = run(&[(A, 3), (B, 1)], &[]);
    for i in 0..3 {
        now.failures.push(Failure::new(
            A.into(),
            Some(format!("suite › t{i}")),
            Some(refused(i)),
        ));
    }
    now.failures.push(Failure::new(
        B.into(),
        T1.map(String::from),
        Some("Error: other".into()),
    ));
    let t = compare(&now, &earlier);
    assert_eq!(t.notes[0].mark, also("b1"));
    assert_eq!(t.items, vec![Item::One(3), Item::Cluster(vec![0, 1, 2])]);
    assert_eq!(
        t.counts,
        Counts {
            new: 3,
            still: 1,
            ..Counts::default()
        }
    );
}

/// The dominant error's share is of the post's failures, as its heading counts them (the
/// table's failing count when the list was cut at its cap), not of the entries kept.
#[test]
fn the_dominant_share_is_of_the_headings_total() {
    let refused = |n: usize| format!("Error: connect ECONNREFUSED 10.0.0.{n}:6443");
    let cut = |failing: u64, clustered: usize, kept: usize| {
        let mut r = run(&[(A, failing)], &[]);
        r.tests = Some(crate::data::run::Tests {
            total: failing,
            failed: failing,
            ..Default::default()
        });
        for i in 0..kept {
            let error = if i < clustered {
                refused(i)
            } else {
                format!("Error: other {}", char::from(b'a' + (i % 26) as u8))
            };
            r.failures.push(Failure::new(
                A.into(),
                Some(format!("suite › t{i}")),
                Some(error),
            ));
        }
        compare(&r, &[]).dominant
    };
    assert_eq!(cut(60, 50, 50), Some((50, 60, 0)), "50 of 60 is over 80%");
    assert_eq!(cut(100, 45, 50), None, "45 of 100 is not most");
    assert_eq!(cut(7, 6, 7), Some((6, 7, 0)));
}
