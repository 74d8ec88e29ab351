//! Since when, how often, one problem or twenty, already known (CONTRACT §10), through the
//! real binary and the fake Mattermost: a week of nightlies that walks every mark, the
//! flaky-over-time words, the windows, the list's order and counts, a slower spec and the
//! known issues; a categorized build as one run of its specs; twenty failures with one
//! error; an upgrade's older builds as unknown runs; `history` as text and JSON; the
//! 4000-character limit under a long history. The known-issues file's checks by `watch`,
//! `start` and `check-webhook` are in `known_issues.rs`.

use crate::support::cypress::{self, SpecRun, Test};
use crate::support::post::{Post, cluster_size, parse_posts_linking};
use crate::support::*;
use serde_json::{Value, json};
use std::fs;
use std::path::PathBuf;

const TRACKER: &str = "https://jira.example/browse/ATVM-7";

/// The week's spec: its tests in the log's order, each with the nights (1-7) it fails.
const WEEK: &[(&str, &[u32])] = &[
    ("breaks tonight", &[7]),
    ("broke yesterday", &[6, 7]),
    ("broken all week", &[3, 4, 5, 6, 7]),
    ("regressed", &[2, 7]),
    ("flaps", &[1, 3, 5, 7]),
    ("fixed tonight", &[6]),
    ("is tracked", &[7]),
    ("was tracked once", &[7]),
];

fn error_of(title: &str) -> String {
    format!("AssertionError: {title} went wrong")
}

fn week_spec(night: u32) -> SpecRun {
    let tests = WEEK
        .iter()
        .map(|(t, fails)| {
            if fails.contains(&night) {
                Test::failed(&["Week", t], &[&error_of(t)])
            } else {
                Test::passed(&["Week", t])
            }
        })
        .collect();
    SpecRun::new("week.cy.js", tests)
}

/// A spec that always passes, in 24:10, and in 41:07 on the last night.
fn slow_spec(night: u32) -> SpecRun {
    let d = if night == 7 { "41:07" } else { "24:10" };
    SpecRun::new(
        "slow.cy.js",
        vec![Test::passed(&["Slow", "copies the disk"])],
    )
    .with_duration(d)
}

/// The known-issues file: an expired entry, the one that matches (first match wins over
/// the third), and one that would match the same test.
fn known_issues_file(sb: &Sandbox) -> PathBuf {
    let path = sb.root.join("known-issues.json");
    let entries = json!([
        {"id": "ATVM-3", "title": "was tracked", "until": "2020-01-31"},
        {"id": "ATVM-7", "url": TRACKER, "spec": "WEEK", "title": "is tracked", "error": "went wrong",
         "until": "2999-12-31"},
        {"id": "ATVM-8", "title": "is tracked"},
    ]);
    fs::write(&path, serde_json::to_vec_pretty(&entries).unwrap()).unwrap();
    path
}

/// Writes `build`'s whole log, watches it to its end; its posts as Mattermost shows them
/// (the known issue's link allowed).
fn posts_of_build(
    sb: &Sandbox,
    hook: &FakeMattermost,
    build: &str,
    lines: &[String],
    extra: &[&str],
) -> Vec<Post> {
    let before = hook.received().len();
    sb.append_lines(build, lines, Style::ALL);
    let mut w = sb.watch(hook, build, extra);
    assert_eq!(w.code(), 0, "{build}: {}", w.stderr());
    let raws: Vec<String> = hook.received()[before..].iter().map(|r| r.text()).collect();
    parse_posts_linking(&raws, &[], &[TRACKER])
}

fn post_of_build(sb: &Sandbox, hook: &FakeMattermost, build: &str, lines: &[String]) -> Post {
    let mut posts = posts_of_build(sb, hook, build, lines, &[]);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    posts.remove(0)
}

/// Six nightlies of the week's specs; the seventh's post.
fn a_week(sb: &Sandbox, hook: &FakeMattermost) -> Post {
    for night in 1..=6 {
        let specs = [week_spec(night), slow_spec(night)];
        post_of_build(
            sb,
            hook,
            &format!("nightly-{night}"),
            &cypress::detailed_run(&specs, "30:00"),
        );
    }
    let specs = [week_spec(7), slow_spec(7)];
    post_of_build(
        sb,
        hook,
        "nightly-7",
        &cypress::detailed_run(&specs, "45:00"),
    )
}

fn item(title: &str, words: &str, window: &str) -> String {
    format!(
        "week.cy.js › Week › {title}: {} · {words} {window}",
        error_of(title)
    )
}

#[test]
fn a_week_of_nightlies_walks_every_mark() {
    let mut sb = Sandbox::new("triage-week");
    let known = known_issues_file(&sb);
    sb.env.push((
        "ATVM_WATCHER_KNOWN_ISSUES".into(),
        known.display().to_string(),
    ));
    let hook = FakeMattermost::start();
    let post = a_week(&sb, &hook);
    post.assert_essentials("FAILED", "nightly-7");

    let (head, items) = post.failed_tests();
    assert_eq!(
        head,
        "Failed tests (7): 2 new · 2 failed again · 2 still failing · 1 known"
    );
    let expected = [
        item(
            "regressed",
            "failed again, last failed in nightly-2 · flaky: failed 2 of 7 runs",
            "✓✗✓✓✓✓✗",
        ),
        item(
            "flaps",
            "failed again, last failed in nightly-5 · flaky: failed 4 of 7 runs",
            "✗✓✗✓✗✓✗",
        ),
        item("breaks tonight", "new", "✓✓✓✓✓✓✗"),
        // Its entry expired: not known.
        item("was tracked once", "new", "✓✓✓✓✓✓✗"),
        item("broke yesterday", "also failed in nightly-6", "✓✓✓✓✓✗✗"),
        item(
            "broken all week",
            "failing for 5 runs, since nightly-3",
            "✓✓✗✗✗✗✗",
        ),
        // Known: its id (a link to the tracker) in place of the marks, listed last.
        item("is tracked", "known: ATVM-7", "✓✓✓✓✓✓✗"),
    ];
    assert_eq!(items, expected, "{}", post.raw);
    assert_eq!(post.shown.found.links, [TRACKER], "{}", post.raw);

    let (head, items) = post.section("Fixed since").expect("a Fixed since section");
    assert_eq!(head, "Fixed since nightly-6 (1):");
    assert_eq!(items, ["week.cy.js › Week › fixed tonight"]);
    let (head, items) = post.section("Slower").expect("a Slower section");
    assert_eq!(head, "Slower (1):");
    assert_eq!(items, ["slow.cy.js 41:07 (usually 24:10)"]);

    // state.json keeps the known issue's id in its failure, and no other.
    let st = sb.state("nightly-7");
    let known: Vec<(&str, &Value)> = st["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["title"].as_str().unwrap(), &f["known"]))
        .collect();
    for (title, k) in known {
        let want = if title == "Week › is tracked" {
            json!("ATVM-7")
        } else {
            Value::Null
        };
        assert_eq!(*k, want, "{title}");
    }

    history_of_the_week(&sb);
}

/// `history` over the week: what the post read, from the shell.
fn history_of_the_week(sb: &Sandbox) {
    let before = snapshot(&sb.state_root);
    let out = sb.run(None, &["history", "--spec", "week.cy.js", "--json"]);
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(v["spec"], "week.cy.js");
    let runs = v["runs"].as_array().unwrap();
    let builds: Vec<&str> = runs.iter().map(|r| r["build"].as_str().unwrap()).collect();
    assert_eq!(
        builds,
        [
            "nightly-7",
            "nightly-6",
            "nightly-5",
            "nightly-4",
            "nightly-3",
            "nightly-2",
            "nightly-1"
        ]
    );
    assert_eq!(runs[0]["subrun"], Value::Null);
    assert_eq!(runs[0]["duration"], "01:04");
    assert_eq!(
        runs[0]["tests"],
        json!({"total": 8, "passed": 1, "failed": 7, "pending": 0, "skipped": 0})
    );
    assert!(
        runs[0]["finished_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{}",
        runs[0]
    );
    assert_eq!(
        runs[1]["failed"],
        json!([
            "Week › broke yesterday",
            "Week › broken all week",
            "Week › fixed tonight"
        ])
    );
    let windows: Vec<(String, String)> = v["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().into(),
                t["window"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (title, fails) in WEEK {
        let window: String = (1..=7)
            .map(|n| if fails.contains(&n) { '✗' } else { '✓' })
            .collect();
        assert!(
            windows.contains(&(format!("Week › {title}"), window.clone())),
            "{title} {window}: {windows:?}"
        );
    }
    assert_eq!(windows.len(), WEEK.len());

    let out = sb.run(
        None,
        &[
            "history",
            "--spec",
            "week.cy.js",
            "--test",
            "Week › flaps",
            "--runs",
            "3",
            "--json",
        ],
    );
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let outcomes: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failed", "passed", "failed"]);

    let out = sb.run(None, &["history", "--spec", "week.cy.js"]);
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("nightly-7") && stdout.contains("nightly-1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Week › regressed") && stdout.contains("✓✗✓✓✓✓✗"),
        "{stdout}"
    );

    let out = sb.run(None, &["history", "--spec", "week.cy.js", "--runs", "51"]);
    let (code, _, stderr) = text(&out);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--runs") && stderr.trim().lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(snapshot(&sb.state_root), before, "history changes nothing");
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &std::path::Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let bytes = fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

fn shared_spec(fails: bool) -> SpecRun {
    let t = if fails {
        Test::failed(&["Shared", "mounts the share"], &["Error: mount failed"])
    } else {
        Test::passed(&["Shared", "mounts the share"])
    };
    SpecRun::new("shared.cy.js", vec![t])
}

fn group(name: &str, spec: SpecRun) -> Vec<String> {
    let status = if spec.row().failing > 0 {
        "FAILED"
    } else {
        "COMPLETED"
    };
    let mut v = vec![format!("[atvm] ATVM_GROUP_START: {name}")];
    v.extend(cypress::detailed_run(&[spec], "01:04"));
    v.push(format!("[atvm] ATVM_GROUP_END: {name} {status}"));
    v
}

/// A categorized build is one run of each spec, which failed a test when any of its groups
/// did: `linux` fails the test, `windows` passes it right after. The next build passing it
/// has it fixed since that build; the one after failing it has it failing again.
#[test]
fn a_categorized_build_is_one_run_of_its_specs() {
    let sb = Sandbox::new("triage-categorized");
    let hook = FakeMattermost::start();
    let mut lines = group("linux", shared_spec(true));
    lines.extend(group("windows", shared_spec(false)));
    lines.push("ATVM_RUN_END: FAILED".into());
    let posts = posts_of_build(&sb, &hook, "cat-1", &lines, &["--categorize"]);
    assert_eq!(posts.len(), 2);
    let (_, items) = posts[0].failed_tests();
    assert_eq!(
        items,
        ["shared.cy.js › Shared › mounts the share: Error: mount failed · new"]
    );

    let post = post_of_build(
        &sb,
        &hook,
        "plain-2",
        &cypress::detailed_run(&[shared_spec(false)], "01:04"),
    );
    let (head, items) = post
        .section("Fixed since")
        .unwrap_or_else(|| panic!("{}", post.raw));
    assert_eq!(head, "Fixed since cat-1 (1):");
    assert_eq!(items, ["shared.cy.js › Shared › mounts the share"]);

    let post = post_of_build(
        &sb,
        &hook,
        "plain-3",
        &cypress::detailed_run(&[shared_spec(true)], "01:04"),
    );
    let (head, items) = post.failed_tests();
    assert_eq!(head, "Failed tests (1): 1 failed again");
    assert_eq!(
        items,
        [
            "shared.cy.js › Shared › mounts the share: Error: mount failed · failed again, last failed in cat-1 · flaky: failed 2 of 3 runs ✗✓✗"
        ]
    );
}

/// Twenty failures, eighteen with one error but for the numbers in it: one item for them
/// (where the first would be), said first; the known issue among them stays on its own.
#[test]
fn twenty_failures_with_one_error_are_one_item() {
    let mut sb = Sandbox::new("triage-cluster");
    let known = sb.root.join("known.json");
    fs::write(&known, br#"[{"id": "ATVM-12", "title": "vm 12"}]"#).unwrap();
    sb.env.push((
        "ATVM_WATCHER_KNOWN_ISSUES".into(),
        known.display().to_string(),
    ));
    let hook = FakeMattermost::start();
    let timed_out = |n: u32| {
        format!(
            "Timed out retrying after 4000ms: Expected to find element: #vm-{n}, but never found it."
        )
    };
    let mut tests = vec![Test::failed(
        &["Fleet", "lists the fleet"],
        &["TypeError: fleet is undefined"],
    )];
    tests.extend((1..=18).map(|n| {
        Test::failed(
            &["Fleet", &format!("migrates vm {n}")],
            &[&timed_out(1000 + n)],
        )
    }));
    tests.push(Test::failed(
        &["Fleet", "cleans up"],
        &["Error: cleanup refused"],
    ));
    let spec = SpecRun::new("fleet.cy.js", tests);
    let post = post_of_build(
        &sb,
        &hook,
        "fleet-1",
        &cypress::detailed_run(&[spec], "10:00"),
    );
    let (head, items) = post.failed_tests();
    assert_eq!(head, "Failed tests (20): 19 new · 1 known");
    let lead = post
        .shown
        .blocks
        .iter()
        .find(|b| b.text.starts_with("Most failures"))
        .unwrap_or_else(|| panic!("no dominant error line:\n{}", post.raw));
    assert_eq!(
        lead.text,
        format!(
            "Most failures share one error (17 of 20): {}",
            timed_out(1001)
        )
    );
    assert_eq!(
        items,
        [
            "fleet.cy.js › Fleet › lists the fleet: TypeError: fleet is undefined · new"
                .to_string(),
            format!(
                "17 tests failed with: {} — fleet.cy.js › Fleet › migrates vm 1, fleet.cy.js › Fleet › migrates vm 2, fleet.cy.js › Fleet › migrates vm 3, … · 17 new",
                timed_out(1001)
            ),
            "fleet.cy.js › Fleet › cleans up: Error: cleanup refused · new".to_string(),
            format!(
                "fleet.cy.js › Fleet › migrates vm 12: {} · known: ATVM-12",
                timed_out(1012)
            ),
        ],
        "{}",
        post.raw
    );
    let cluster = post
        .shown
        .blocks
        .iter()
        .flat_map(|b| &b.items)
        .find(|i| i.text.starts_with("17 tests"))
        .unwrap();
    assert_eq!(cluster_size(&cluster.pieces[0].text), Some(17));
}

/// A finished build recorded before §9 (no `specs` in its state.json) is an unknown run of
/// every spec: after an upgrade nothing is new or fixed against an older build.
#[test]
fn after_an_upgrade_older_builds_are_unknown_runs() {
    let sb = Sandbox::new("triage-upgrade");
    let hook = FakeMattermost::start();
    let week = |n| cypress::detailed_run(&[week_spec(n)], "01:04");
    post_of_build(&sb, &hook, "older-6", &week(6));
    post_of_build(&sb, &hook, "old-6", &week(6));
    let path = sb.build_dir("old-6").join("state.json");
    let mut st: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    st.as_object_mut().unwrap().remove("specs");
    fs::write(&path, serde_json::to_vec(&st).unwrap()).unwrap();

    let post = post_of_build(&sb, &hook, "new-7", &week(7));
    let (head, items) = post.failed_tests();
    assert_eq!(
        head, "Failed tests (7):",
        "no marks, so no counts:\n{}",
        post.raw
    );
    // No mark, and the unknown run in each window (oldest first).
    for i in &items {
        assert!(
            i.ends_with("went wrong ✓?✗") || i.ends_with("went wrong ✗?✗"),
            "{i:?}"
        );
    }
    assert!(post.section("Fixed since").is_none(), "{}", post.raw);
}

/// Ten nightlies with long names, thirty long failures failing every night: the post stays
/// under 4000 characters, the windows give way first, the heading's counts stay.
#[test]
fn a_long_history_keeps_the_post_under_4000_characters() {
    let sb = Sandbox::new("triage-4000");
    let hook = FakeMattermost::start();
    let title = |i: usize| {
        format!(
            "migrates the {} disk of the guest number {}",
            "data".repeat(20),
            letters(i)
        )
    };
    let spec = || {
        let tests = (0..30)
            .map(|i| {
                Test::failed(
                    &["Long history", &title(i)],
                    &[&format!("Error: {} refused", title(i))],
                )
            })
            .collect();
        SpecRun::new("long_history_of_a_migration_spec.cy.js", tests)
    };
    let name = |n: usize| format!("nightly-{}-{n:02}", "x".repeat(80));
    let mut post = None;
    for n in 0..10 {
        post = Some(post_of_build(
            &sb,
            &hook,
            &name(n),
            &cypress::detailed_run(&[spec()], "2:00:00"),
        ));
    }
    let post = post.unwrap();
    assert!(post.shown.runes < 4000);
    post.assert_essentials("FAILED", &name(9));
    let (head, items) = post.failed_tests();
    assert_eq!(head, "Failed tests (30): 30 still failing");
    let last = items.last().unwrap();
    let shown = items.len() - 1;
    assert!((1..30).contains(&shown), "{items:#?}");
    assert_eq!(*last, format!("… and {} more", 30 - shown));
    for i in &items[..shown] {
        assert!(
            i.ends_with(&format!("failing for 10 runs, since {}", name(0))),
            "{i:?}"
        );
    }
}
