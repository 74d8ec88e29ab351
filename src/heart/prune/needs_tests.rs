//! What the history needs, table-tested: the window, a categorized build, a spec only an
//! old build ran, runs that finished together, streaks longer than the window, builds that
//! kept no rows, more specs than are followed; and, over random state roots, that the
//! posts' marks, windows and flapping read the same from the builds kept as from all.

use super::*;
use crate::data::caps::MAX_BUILDS;
use crate::data::run::{Failure, Flaky, RunRecord, SpecRow};
use crate::heart::history::{SpecHistory, SpecRun};
use crate::testing::Rng;
use std::time::UNIX_EPOCH;

fn at(minute: u64) -> Timestamp {
    Timestamp(UNIX_EPOCH + Duration::from_secs(1_790_000_000 + minute * 60))
}

/// Build `i`'s name: names sort as the numbers do (`Key` breaks ties by that place).
fn name(i: usize) -> String {
    format!("b{i:03}")
}

/// A run finished at minute `t` that ran `specs` and failed `fails` (spec, title).
fn record(t: u64, specs: &[&str], fails: &[(&str, &str)], flaky: &[(&str, &str)]) -> RunRecord {
    let rows = specs.iter().map(|s| SpecRow {
        name: s.to_string(),
        tests: 4,
        failed: fails.iter().filter(|(f, _)| f == s).count() as u64,
        duration: Some("10:00".into()),
        ..SpecRow::default()
    });
    RunRecord {
        status: Status::Completed,
        finished_at: Some(at(t)),
        specs: rows.collect(),
        failures: fails
            .iter()
            .map(|(s, t)| Failure::new(s.to_string(), Some(t.to_string()), None))
            .collect(),
        flaky: flaky
            .iter()
            .map(|(s, t)| Flaky {
                spec: s.to_string(),
                title: t.to_string(),
                attempts: 2,
            })
            .collect(),
        ..RunRecord::default()
    }
}

fn plain(i: usize, t: u64, specs: &[&str], fails: &[(&str, &str)]) -> BuildHistory {
    BuildHistory::new(&name(i), at(t), [(None, &record(t, specs, fails, &[]))])
}

/// The builds needed, as `prune` finds them: the first look, then the second if asked.
fn needed(builds: &[BuildHistory]) -> Vec<u32> {
    let mut needs = HistoryNeeds::default();
    for (i, b) in builds.iter().enumerate() {
        needs.add(i as u32, b);
    }
    let (mut needed, mut deep) = needs.needs();
    if !deep.is_empty() {
        for (i, b) in builds.iter().enumerate() {
            deep.add(i as u32, b);
        }
        needed.extend(deep.needed());
    }
    needed.sort_unstable();
    needed.dedup();
    needed
}

fn range(r: std::ops::Range<u32>) -> Vec<u32> {
    r.collect()
}

#[test]
fn the_window_is_the_last_ten_runs_of_each_spec() {
    // 15 nights of a.cy.js: the newest 10 stay.
    let builds: Vec<BuildHistory> = (0..15).map(|i| plain(i, i as u64, &["a"], &[])).collect();
    assert_eq!(needed(&builds), range(5..15));
    // Given in any order, the same.
    let mut shuffled: Vec<(usize, BuildHistory)> = builds.into_iter().enumerate().collect();
    shuffled.reverse();
    shuffled.swap(3, 9);
    let mut needs = HistoryNeeds::default();
    for (i, b) in &shuffled {
        needs.add(*i as u32, b);
    }
    assert_eq!(needs.needs().0, range(5..15));
}

#[test]
fn a_spec_that_only_an_old_build_ran_keeps_it() {
    let mut builds = vec![plain(0, 0, &["a", "z"], &[]), plain(1, 1, &["a"], &[])];
    builds.extend((2..30).map(|i| plain(i, i as u64, &["a"], &[])));
    assert_eq!(needed(&builds), [vec![0], range(20..30)].concat());
}

#[test]
fn a_categorized_build_is_one_run_of_each_spec_its_groups_ran() {
    // Build 1's groups: a (minute 100) then b and a again (minute 110): one run of a, at
    // minute 110, and one of b.
    let g1 = record(100, &["a"], &[], &[]);
    let g2 = record(110, &["b", "a"], &[], &[]);
    let cat = BuildHistory::new(
        &name(1),
        at(111),
        [(Some("01-one"), &g1), (Some("02-two"), &g2)],
    );
    // Build 0 ran a before it; builds 2..10 (8 of them) after it.
    let mut builds = vec![plain(0, 50, &["a"], &[]), cat];
    builds.extend((2..10).map(|i| plain(i, 200 + i as u64, &["a"], &[])));
    // a's runs: 0, 1 (once), 2..10: ten in all, so build 0 is in the window.
    assert_eq!(needed(&builds), range(0..10));
    // Two more runs of a: build 0 and build 1's a fall out, but b keeps build 1.
    builds.extend((10..12).map(|i| plain(i, 200 + i as u64, &["a"], &[])));
    assert_eq!(needed(&builds), range(1..12));
}

#[test]
fn runs_that_finished_together_are_ordered_by_build_name() {
    // Eleven builds of the same minute: the first by name is the oldest.
    let builds: Vec<BuildHistory> = (0..11).map(|i| plain(i, 7, &["a"], &[])).collect();
    assert_eq!(needed(&builds), range(1..11));
}

#[test]
fn a_streak_is_kept_with_the_run_that_ended_it() {
    let t = ("a", "Suite › t");
    let u = ("a", "Suite › u");
    // 30 runs: t fails in the newest `streak`, passes in the one before.
    for streak in [1, 3, 9, 10, 11, 13, 25] {
        let builds: Vec<BuildHistory> = (0..30)
            .map(|i| {
                let fails: &[_] = if i >= 30 - streak { &[t] } else { &[] };
                plain(i, i as u64, &["a"], fails)
            })
            .collect();
        let keep = (30 - streak as u32 - 1).min(20);
        assert_eq!(needed(&builds), range(keep..30), "streak {streak}");
    }
    // Two tests on streaks: the longer one counts; one that broke earlier does not cut it.
    let builds: Vec<BuildHistory> = (0..40)
        .map(|i| {
            let fails: Vec<_> = [(i >= 15, t), (!(10..35).contains(&i), u)]
                .into_iter()
                .filter_map(|(f, x)| f.then_some(x))
                .collect();
            plain(i, i as u64, &["a"], &fails)
        })
        .collect();
    assert_eq!(needed(&builds), range(14..40));
    // A streak no run ended: every run of the spec.
    let builds: Vec<BuildHistory> = (0..14).map(|i| plain(i, i as u64, &["a"], &[t])).collect();
    assert_eq!(needed(&builds), range(0..14));
}

#[test]
fn a_streak_is_followed_as_far_as_the_posts_read() {
    let t = ("a", "Suite › t");
    let n = MAX_BUILDS + 50;
    let builds: Vec<BuildHistory> = (0..n).map(|i| plain(i, i as u64, &["a"], &[t])).collect();
    let want = range((n - MAX_BUILDS - 1) as u32..n as u32);
    assert_eq!(needed(&builds), want);
}

#[test]
fn a_build_that_kept_no_rows_is_a_run_of_every_spec() {
    let unknown = |i: usize| BuildHistory::unknown(&name(i), at(i as u64));
    // 12 old unknown builds, then 5 runs of a: a's window holds 5 of them; a spec no build
    // ran holds the newest 10.
    let mut builds: Vec<BuildHistory> = (0..12).map(unknown).collect();
    builds.extend((12..17).map(|i| plain(i, i as u64, &["a"], &[])));
    assert_eq!(needed(&builds), range(2..17));
    // An unknown run ends a streak: t failed before it, and in every run after it.
    let t = ("a", "Suite › t");
    let mut builds: Vec<BuildHistory> = (0..10).map(|i| plain(i, i as u64, &["a"], &[t])).collect();
    builds.push(unknown(10));
    builds.extend((11..25).map(|i| plain(i, i as u64, &["a"], &[t])));
    assert_eq!(needed(&builds), range(10..25));
}

#[test]
fn builds_that_ran_specs_past_the_followed_ones_are_kept() {
    use crate::data::caps::MAX_SPECS;
    // Fill the specs followed: builds of MAX_SPECS specs each, all new ones (a among them).
    let fill = PRUNE_MAX_SPECS / MAX_SPECS;
    let mut builds: Vec<BuildHistory> = (0..fill)
        .map(|i| {
            let mut specs: Vec<String> = (0..MAX_SPECS).map(|s| format!("s{i}-{s}")).collect();
            specs[0] = if i == 0 { "a".into() } else { specs[0].clone() };
            let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
            plain(i, i as u64, &specs, &[])
        })
        .collect();
    // Then an old run of a with one more spec, and ten newer runs of a.
    builds.push(plain(fill, 0, &["a", "one too many"], &[]));
    builds.extend((fill + 1..fill + 11).map(|i| plain(i, i as u64, &["a"], &[])));
    assert!(needed(&builds).contains(&(fill as u32)));
    // Without the spec too many, its window alone would not keep it.
    builds[fill] = plain(fill, 0, &["a"], &[]);
    assert!(!needed(&builds).contains(&(fill as u32)));
}

// --- nothing a post reads changes -----------------------------------------------------

const SPECS: [&str; 3] = ["a", "b", "c"];
const TESTS: [&str; 3] = ["S › t1", "S › t2", "S › t3"];

/// A random state root of `n` builds: plain and categorized (two groups, a spec sometimes
/// in both), some that kept no rows, failures that tend to go on, some retried tests.
fn random_root(rng: &mut Rng, n: usize) -> Vec<BuildHistory> {
    let mut failing = [false; 3];
    (0..n)
        .map(|i| {
            let t = 10 * i as u64 + rng.below(25);
            if rng.below(12) == 0 {
                return BuildHistory::unknown(&name(i), at(t));
            }
            for f in failing.iter_mut() {
                *f = if *f {
                    rng.below(10) > 0
                } else {
                    rng.below(4) == 0
                };
            }
            let group = |rng: &mut Rng, at: u64| {
                let specs: Vec<&str> = SPECS.into_iter().filter(|_| rng.below(3) > 0).collect();
                let fails: Vec<(&str, &str)> = specs
                    .iter()
                    .flat_map(|s| TESTS.iter().zip(failing).map(move |(t, f)| (f, (*s, *t))))
                    .filter_map(|(f, x)| (f && rng.below(8) > 0).then_some(x))
                    .collect();
                let flaky: Vec<(&str, &str)> = specs
                    .iter()
                    .filter(|_| rng.below(5) == 0)
                    .map(|s| (*s, TESTS[0]))
                    .collect();
                record(at, &specs, &fails, &flaky)
            };
            if rng.below(3) == 0 {
                let (g1, g2) = (group(rng, t), group(rng, t + 3));
                BuildHistory::new(
                    &name(i),
                    at(t + 4),
                    [(Some("01-x"), &g1), (Some("02-y"), &g2)],
                )
            } else {
                BuildHistory::new(&name(i), at(t), [(None, &group(rng, t))])
            }
        })
        .collect()
}

/// What the next post reads of `spec` from `builds`: per test (and for the spec that
/// failed without a list), the mark, the window, the flapping, and which runs the window
/// holds.
fn read(builds: &[&BuildHistory], spec: &str) -> Vec<String> {
    let earlier: Vec<SpecRun> = builds.iter().filter_map(|b| b.run_of(spec)).collect();
    let fails: Vec<(&str, &str)> = TESTS.iter().map(|t| (spec, *t)).collect();
    let now = record(100_000, &[spec], &fails, &[]);
    let current = SpecRun::of("current", None, &now, spec).unwrap();
    let h = SpecHistory::new(earlier, current);
    let window: Vec<&str> = h
        .runs()
        .iter()
        .rev()
        .take(WINDOW_RUNS)
        .map(|r| r.build.as_str())
        .collect();
    let mut out = vec![format!("window {window:?}")];
    for t in TESTS.iter().map(|t| Some(*t)).chain([None]) {
        out.push(format!(
            "{t:?}: {:?} {:?} {:?}",
            h.mark(t),
            h.glyphs(t),
            h.flaps(t)
        ));
    }
    out
}

#[test]
fn the_posts_read_the_same_from_the_builds_kept() {
    let mut rng = Rng(19);
    let mut pruned = 0;
    for root in 0..60 {
        let n = 5 + rng.below(60) as usize;
        let builds = random_root(&mut rng, n);
        let keep = needed(&builds);
        let kept: Vec<&BuildHistory> = keep.iter().map(|&i| &builds[i as usize]).collect();
        let all: Vec<&BuildHistory> = builds.iter().collect();
        pruned += n - kept.len();
        for spec in SPECS.into_iter().chain(["never ran"]) {
            assert_eq!(
                read(&kept, spec),
                read(&all, spec),
                "root {root}, spec {spec}"
            );
        }
    }
    assert!(
        pruned > 500,
        "the roots must leave something to prune: {pruned}"
    );
}
