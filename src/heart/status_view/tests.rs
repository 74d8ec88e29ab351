//! The status table, the detail view and the JSON of each kind of build.

use super::*;
use crate::data::build_state::SubrunState;
use crate::data::names::SubrunKey;
use crate::data::run::{PostState, RunRecord};
use crate::data::status::Status;
use crate::data::time::Timestamp;
use std::time::{Duration, SystemTime};

/// Sub-run `index` named `name`, of status `status`.
fn subrun(index: u32, name: &str, status: Status) -> SubrunState {
    SubrunState {
        key: SubrunKey::new(index, name),
        name: name.into(),
        index,
        run: RunRecord {
            status,
            ..RunRecord::default()
        },
        post: PostState::default(),
        progress: None,
        run_seen: true,
        opened_by_marker: true,
    }
}

#[test]
fn table_shows_each_state_and_damage() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let t = |s: u64| Timestamp(now - Duration::from_secs(s));
    let mut a = BuildState::new(&"alpha".into(), false, "/l/alpha.log", t(7200));
    a.run.status = Status::Running;
    a.progress = Some(crate::data::build_state::Progress {
        index: 3,
        total: 9,
        spec: "x".into(),
    });
    a.last_activity_at = Some(t(30));
    let mut b = BuildState::new(&"beta".into(), true, "/l/beta.log", t(60));
    b.run.status = Status::Failed;
    b.post.post_pending = true;
    b.post.post_error = Some("HTTP 400".into());
    b.planned_groups = vec!["a".into(), "b".into()];
    let rows = vec![
        BuildSummary::from_state("beta", &b, false, false),
        BuildSummary::from_state("alpha", &a, true, false),
        BuildSummary::unread("gamma", Some("state.json: EOF while parsing".into()), false),
        BuildSummary::unread("delta", None, true),
    ];
    let table = render_table(&rows, now);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("BUILD"));
    assert!(
        lines[1].starts_with("beta ")
            && lines[1].contains("FAILED")
            && lines[1].contains("0/2")
            && lines[1].contains("failed"),
        "{table}"
    );
    assert!(
        lines[2].contains("RUNNING")
            && lines[2].contains("spec 3 of 9")
            && lines[2].contains("30s ago")
            && lines[2].contains("2h 0m")
            && lines[2].contains("running"),
        "{table}"
    );
    assert!(
        lines[3].contains("DAMAGED") && lines[3].contains("EOF while parsing"),
        "{table}"
    );
    assert!(
        lines[4].starts_with("delta") && lines[4].contains("STARTING"),
        "{table}"
    );
}

/// A categorized build's counters (issue 19, item 5): finished of planned, posted of
/// finished, apart; `-` before anything is known.
#[test]
fn categorized_counters_count_finished_planned_and_posted_apart() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let t = Timestamp(now - Duration::from_secs(60));
    let sub = |i: u32, status: Status, posted: bool, pending: bool| {
        let mut s = subrun(i, &format!("g{i}"), status);
        s.post.posted = posted;
        s.post.post_pending = pending;
        s
    };
    let build = |subs: Vec<SubrunState>, planned: usize, status: Status| {
        let mut st = BuildState::new(&"c".into(), true, "/l/c.log", t);
        st.run.status = status;
        st.planned_groups = (0..planned).map(|i| format!("g{i}")).collect();
        st.subruns = subs;
        BuildSummary::from_state("c", &st, true, false)
    };
    #[rustfmt::skip]
    let cases = [
        ("before the plan", build(vec![], 0, Status::Running), "-", "no"),
        ("no plan yet, one group running", build(vec![sub(1, Status::Running, false, false)], 0, Status::Running), "0/?", "0/0"),
        ("group 1 posted, group 2 running", build(vec![sub(1, Status::Completed, true, false), sub(2, Status::Running, false, false)], 2, Status::Running), "1/2", "1/1"),
        ("group 1's post waits", build(vec![sub(1, Status::Failed, false, true)], 2, Status::Running), "1/2", "0/1 pending"),
        ("group 2 cancelled: never posted", build(vec![sub(1, Status::Completed, true, false), sub(2, Status::Cancelled, false, false)], 2, Status::Cancelled), "2/2", "1/2"),
    ];
    for (what, row, subruns, posted) in cases {
        let table = render_table(std::slice::from_ref(&row), now);
        let line = table.lines().nth(1).unwrap();
        let cells: Vec<&str> = line
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!((cells[2], cells[3]), (subruns, posted), "{what}: {line}");
    }
}

/// `status --build-name B` (issue 19, item 4): why and when it ended, the log, the post,
/// each sub-run with its post.
#[test]
fn the_detail_view_says_why_when_and_each_subrun() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let t = |s: u64| Timestamp(now - Duration::from_secs(s));
    let mut st = BuildState::new(&"nightly-42".into(), true, "/l/nightly-42.log", t(7200));
    st.run.status = Status::Cancelled;
    st.run.reason = Some("cancelled: aborted by operator".into());
    st.run.finished_at = Some(t(60));
    let mut g1 = subrun(1, "linux", Status::Failed);
    g1.post.posted = true;
    let mut g2 = subrun(2, "windows", Status::Cancelled);
    g2.run.reason = Some("cancelled".into());
    st.subruns = vec![g1, g2];
    let text = render_detail(
        &BuildSummary::from_state("nightly-42", &st, false, false),
        now,
    );
    for want in [
        "status       CANCELLED",
        "reason       cancelled: aborted by operator",
        "finished     2027-01-15T07:59:00.000Z (1m ago)",
        "log          /l/nightly-42.log",
        "sub-runs     2/2",
        "01-linux FAILED, posted",
        "02-windows CANCELLED (cancelled), not posted",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
}

/// A build that needs a watcher and has none (contract §7): `none` in WATCHER, a hint under
/// the table and in the detail view, `"watcher": "none"` in JSON (`watched` as before).
#[test]
fn a_build_without_its_watcher_shows_none_and_what_to_run() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let t = Timestamp(now - Duration::from_secs(60));
    let build = |name: &str, status: Status| {
        let mut st = BuildState::new(&name.into(), false, "/l/x.log", t);
        st.run.status = status;
        st
    };
    let rows = vec![
        BuildSummary::from_state(
            "forgotten",
            &build("forgotten", Status::Running),
            false,
            true,
        ),
        BuildSummary::from_state("watched", &build("watched", Status::Running), true, false),
        BuildSummary::from_state("done", &build("done", Status::Completed), false, false),
        BuildSummary::unread("broken", Some("state.json: EOF".into()), false),
        BuildSummary::unread("starting", None, true),
    ];
    let table = render_table(&rows, now);
    let lines: Vec<&str> = table.lines().collect();
    let column: Vec<&str> = lines[1..6]
        .iter()
        .map(|l| l.rsplit("  ").next().unwrap())
        .collect();
    assert_eq!(column, ["none", "running", "-", "-", "running"], "{table}");
    assert_eq!(
        &lines[6..],
        [
            "",
            "WATCHER none: it is live or has a post pending, and no watcher follows it (after a reboot, say): run atvm-run-watcher resume (or start-atvm-run-watcher.sh --build-name NAME for one)"
        ],
        "{table}"
    );
    let two = render_table(&[rows[0].clone(), rows[0].clone()], now);
    assert!(two.contains("\nWATCHER none: 2 builds are live or have a post pending, and no watcher follows them (after"), "{two}");
    let detail = render_detail(&rows[0], now);
    assert!(
        detail.contains("watcher      none: it is live or has a post pending"),
        "{detail}"
    );
    assert!(render_detail(&rows[1], now).contains("watcher      running\n"));
    let json: Vec<(bool, serde_json::Value)> = rows
        .iter()
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.json()).unwrap())
        .map(|v| (v["watched"].as_bool().unwrap(), v["watcher"].clone()))
        .collect();
    let w = |s: &str| serde_json::Value::String(s.into());
    let null = serde_json::Value::Null;
    assert_eq!(
        json,
        [
            (false, w("none")),
            (true, w("running")),
            (false, null.clone()),
            (false, null),
            (true, w("running"))
        ]
    );
    let rows = vec![rows[1].clone(), rows[2].clone()];
    let table = render_table(&rows, now);
    assert_eq!(
        table.lines().count(),
        3,
        "no hint when none lacks a watcher:\n{table}"
    );
}
