//! "Is it new": a post compared with earlier builds under the state root (CONTRACT §9):
//! three builds in a row (new, then also failed, then fixed; dry runs, unfinished, damaged
//! and foreign builds never count), and earlier builds whose state.json is huge.

use crate::support::cypress::{self, SpecRun, Test};
use crate::support::post::{assert_item, assert_items, finish, next_second, one};
use crate::support::*;
use serde_json::{Value, json};
use std::fs;
use std::time::Duration;

fn history_spec(t_fails: bool, v_fails: bool, extra_failing: Option<&str>) -> SpecRun {
    let test = |title: &str, fails: bool| {
        if fails {
            Test::failed(
                &["History", title],
                &[&format!("AssertionError: {title} broke")],
            )
        } else {
            Test::passed(&["History", title])
        }
    };
    let mut tests = vec![
        test("flips", t_fails),
        test("stays broken", v_fails),
        test("always fine", false),
    ];
    if let Some(x) = extra_failing {
        tests.push(test(x, true));
    }
    SpecRun::new("history.cy.js", tests)
}

#[test]
fn three_builds_in_a_row_new_then_also_failed_then_fixed() {
    let sb = Sandbox::new("digest-history");
    let hook = FakeMattermost::start();
    let other = |fails: bool| {
        SpecRun::new(
            "other.cy.js",
            vec![if fails {
                Test::failed(&["Other", "imports"], &["Error: import failed"])
            } else {
                Test::passed(&["Other", "imports"])
            }],
        )
    };

    // Build 1: T fails, new.
    let b1 = vec![history_spec(true, false, None)];
    let post = one(finish(
        &sb,
        &hook,
        "nightly-41",
        &cypress::detailed_run(&b1, "01:00"),
        Style::PLAIN,
        &[],
        &[],
    ));
    let (_, items) = post.failed_tests();
    assert_eq!(items.len(), 1);
    assert_items(&items, &cypress::failures_of(&b1), "new");
    next_second();

    // A dry run in between (T passes, V fails): never history.
    let out = {
        sb.append_lines(
            "nightly-41-dry",
            &cypress::detailed_run(&[history_spec(false, true, None)], "01:00"),
            Style::PLAIN,
        );
        sb.run(None, &["--build-name", "nightly-41-dry", "--dry-run"])
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sb.state("nightly-41-dry")["dry_run"], true);
    // Damaged and foreign states are skipped, never fatal.
    fs::create_dir_all(sb.build_dir("damaged")).unwrap();
    fs::write(sb.build_dir("damaged").join("state.json"), b"{ nope").unwrap();
    fs::create_dir_all(sb.build_dir("foreign")).unwrap();
    fs::write(
        sb.build_dir("foreign").join("state.json"),
        br#"{"schema": 99, "specs": 7}"#,
    )
    .unwrap();
    next_second();

    // Build 2: T fails again, V fails for the first time, other.cy.js is new.
    let b2 = vec![history_spec(true, true, None), other(true)];
    let post = one(finish(
        &sb,
        &hook,
        "nightly-42",
        &cypress::detailed_run(&b2, "01:00"),
        Style::ALL,
        &[],
        &[],
    ));
    let expected = cypress::failures_of(&b2);
    let (_, items) = post.failed_tests();
    assert_eq!(items.len(), 3, "{items:#?}");
    // §10's order: the new ones first (in the log's order), then the streaks.
    assert_item(&items[0], &expected[1], "new");
    assert_item(&items[1], &expected[2], "new");
    assert_item(&items[2], &expected[0], "also failed in nightly-41");
    assert!(post.section("Fixed since").is_none(), "{}", post.raw);
    next_second();

    // An unfinished build (stopped while running) with a failure of its own, and a later
    // dry run where everything passes: neither is history.
    let mut half = cypress::run_starting(&[history_spec(false, false, Some("half only")).row()]);
    half.extend(history_spec(false, false, Some("half only")).lines(1, 1));
    sb.append_lines("nightly-42-half", &half, Style::PLAIN);
    let mut w = sb.watch(&hook, "nightly-42-half", &[]);
    let size = fs::metadata(sb.log("nightly-42-half")).unwrap().len();
    wait_until("the unfinished build read its log", WAIT, || {
        sb.try_state("nightly-42-half")
            .is_some_and(|s| s["log_position"]["offset"] == size)
    });
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(sb.state("nightly-42-half")["status"], "RUNNING");
    sb.append_lines(
        "nightly-42-dry",
        &cypress::detailed_run(&[history_spec(false, false, None), other(false)], "01:00"),
        Style::PLAIN,
    );
    let out = sb.run(None, &["--build-name", "nightly-42-dry", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    next_second();

    // Build 3: everything passes; the tests that failed in build 2 are fixed since it.
    let b3 = vec![history_spec(false, false, None), other(false)];
    let post = one(finish(
        &sb,
        &hook,
        "nightly-43",
        &cypress::detailed_run(&b3, "01:00"),
        Style::PLAIN,
        &[],
        &[],
    ));
    post.assert_essentials("COMPLETED", "nightly-43");
    assert!(post.section("Failed tests").is_none());
    let (head, items) = post
        .section("Fixed since")
        .unwrap_or_else(|| panic!("no Fixed since section:\n{}", post.raw));
    assert!(
        head.starts_with("Fixed since nightly-42") && !head.contains("nightly-42-"),
        "{head:?}"
    );
    assert_eq!(items.len(), 3, "{items:#?}");
    for f in &expected {
        let title = f.title.as_deref().unwrap();
        assert!(
            items
                .iter()
                .any(|i| i.starts_with(&f.spec) && i.contains(title)),
            "{f:?} is not listed as fixed: {items:#?}"
        );
    }
    let text = post.text();
    assert!(
        !text.contains("half") && !text.contains("dry"),
        "{}",
        post.raw
    );
    assert_eq!(sb.state("nightly-43")["failures"], json!([]));
}

/// Peak resident memory of a live process, in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// "Is it new" reads up to 200 earlier builds' state.json, each up to 4 MiB, and keeps every
/// spec name and failure title it read, uncut, until the post is made. Twelve builds under
/// the state root whose state.json holds 400 spec names of 10 KB each (3.9 MiB, below the
/// reader's size cap) make a watcher that follows its run in a few MiB peak at tens of
/// MiB (about 40 MiB with the debug binary, 315 MiB with the release binary and 200 such
/// builds). Memory must stay bounded whatever the state root holds (caps on what is kept
/// of each earlier run: NAME_CAP per name, only the specs this run ran). The debug
/// watcher peaks at about 10 MiB without such builds; 24 MiB leaves room for reading one
/// 4 MiB file at a time.
#[test]
fn earlier_builds_with_huge_states_do_not_blow_up_memory() {
    let sb = Sandbox::new("history-memory");
    let hook = FakeMattermost::start();
    // A real finished build first, as the template of the hostile ones.
    let lines = crate::support::failed_run();
    sb.append_lines("tmpl", &lines, Style::PLAIN);
    let mut w = sb.watch(&hook, "tmpl", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let mut tmpl = sb.state("tmpl");
    std::fs::remove_dir_all(sb.build_dir("tmpl")).unwrap();
    let long = "x".repeat(10_000);
    let specs: Vec<Value> = (0..400)
        .map(|i| {
            json!({"name": format!("{long}{i}.cy.js"), "tests": 1, "passed": 1, "failed": 0,
                   "pending": 0, "skipped": 0, "duration": "00:01"})
        })
        .collect();
    tmpl["specs"] = Value::Array(specs);
    for b in 0..12 {
        let name = format!("huge{b:02}");
        tmpl["build_name"] = json!(name);
        let text = serde_json::to_vec(&tmpl).unwrap();
        assert!(text.len() < 4 << 20, "{} bytes", text.len());
        std::fs::create_dir_all(sb.build_dir(&name)).unwrap();
        std::fs::write(sb.build_dir(&name).join("state.json"), text).unwrap();
    }
    // The run under test: its post is held by the webhook so the watcher is still alive
    // (and has read the earlier builds) when its peak is taken.
    hook.set_default(Answer::Slow(Duration::from_secs(2)));
    sb.append_lines("victim", &lines, Style::PLAIN);
    let mut w = sb.watch(&hook, "victim", &[]);
    wait_until("the victim's post arrives", WAIT, || {
        hook.received()
            .iter()
            .any(|r| r.text().contains("`victim`"))
    });
    let peak = peak_rss_kib(w.child.id());
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert!(
        peak < 24 * 1024,
        "the watcher peaked at {} MiB while reading earlier builds",
        peak / 1024
    );
}
