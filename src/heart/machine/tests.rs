//! Table-driven tests of the state machine: input sequences → statuses and posts.

#![allow(clippy::type_complexity)]

use super::*;
use crate::data::build_state::{BuildState, Target};
use crate::data::run::Tests;
use crate::data::status::Status;
use crate::heart::matcher::{Event, RunResult};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MIN: u64 = 60;
const HOUR: u64 = 3600;

#[derive(Debug, Clone)]
pub(super) enum In {
    Log,
    Ev(Event),
    Tick,
    Activity,
    Pid,
    Cancel,
    Deliver(Target),
    /// The log was read to its end; it rests on this fatal error (or on none).
    Rest(Option<&'static str>),
}
use In::*;

pub(super) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn result(status: Status, failed: &[&str]) -> Event {
    Event::RunResult(RunResult {
        status,
        tests: Some(Tests {
            total: 5,
            passed: 5 - failed.len() as u64,
            failed: failed.len() as u64,
            pending: 0,
            skipped: 0,
        }),
        duration: Some("01:02".into()),
        failed_specs: failed.iter().map(|s| s.to_string()).collect(),
        specs: Vec::new(),
    })
}

pub(super) fn passed() -> In {
    Ev(result(Status::Completed, &[]))
}
pub(super) fn failed() -> In {
    Ev(result(Status::Failed, &["a.cy.js"]))
}
pub(super) fn start() -> In {
    Ev(Event::RunStarting)
}
pub(super) fn group(n: &str) -> In {
    Ev(Event::GroupStart(n.into()))
}
pub(super) fn group_end(n: &str, s: Status) -> In {
    Ev(Event::GroupEnd {
        name: n.into(),
        status: s,
    })
}
pub(super) fn plan(g: &[&str]) -> In {
    Ev(Event::Groups {
        names: g.iter().map(|s| s.to_string()).collect(),
        complete: true,
    })
}
fn cut_plan(g: &[&str]) -> In {
    Ev(Event::Groups {
        names: g.iter().map(|s| s.to_string()).collect(),
        complete: false,
    })
}

pub(super) struct Outcome {
    pub m: Machine,
    pub posts: Vec<Target>,
    pub notes: Vec<Note>,
    pub cancel: Option<CancelResult>,
}

pub(super) fn drive(categorize: bool, hung: Option<u64>, inputs: &[(u64, In)]) -> Outcome {
    let st = BuildState::new(&"b1".into(), categorize, "/logs/b1.log", at(0).into());
    let mut m = Machine::new(
        st,
        Timeouts {
            start: Duration::from_secs(30 * MIN),
            hung: hung.map(Duration::from_secs),
            fatal_grace: Duration::from_secs(60),
        },
    );
    let (mut posts, mut notes, mut cancel) = (Vec::new(), Vec::new(), None);
    for (t, input) in inputs {
        let now = at(*t);
        let step = match input {
            Log => m.log_present(now, now),
            Ev(e) => m.event(e, now),
            Tick => m.tick(now),
            Activity => {
                m.activity(now, now);
                Step::default()
            }
            Pid => m.pid_exited(now),
            Cancel => {
                let (c, s) = m.cancel("operator", now, false);
                cancel = Some(c);
                s
            }
            Deliver(target) => m.delivered(*target, now),
            Rest(fatal) => {
                m.at_rest(fatal.map(str::to_string));
                Step::default()
            }
        };
        posts.extend(step.posts);
        notes.extend(step.notes);
    }
    Outcome {
        m,
        posts,
        notes,
        cancel,
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Timestamp(t)
    }
}

#[test]
fn single_runs() {
    let t = |s: &str| Ev(Event::Terminated(s.into()));
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<(u64, In)>, Status, Vec<Target>)> = vec![
        ("completed", vec![(1, Log), (2, start()), (3, passed())], Status::Completed, vec![Target::Run]),
        ("failed", vec![(1, Log), (2, start()), (3, failed())], Status::Failed, vec![Target::Run]),
        ("no specs", vec![(1, Log), (2, Ev(Event::FailedToStart("Can't run".into())))], Status::Failed, vec![Target::Run]),
        ("cloud cancel", vec![(1, Log), (2, start()), (3, Ev(result(Status::Cancelled, &[])))], Status::Cancelled, vec![]),
        ("terminated", vec![(1, Log), (2, start()), (3, t("Killed"))], Status::Terminated, vec![]),
        ("run end", vec![(1, Log), (2, Ev(Event::RunEnd(Status::Completed)))], Status::Completed, vec![Target::Run]),
        ("run end hung", vec![(1, Log), (2, Ev(Event::RunEnd(Status::Hung)))], Status::Hung, vec![]),
        ("first result wins", vec![(1, Log), (2, start()), (3, failed()), (4, passed()), (5, t("Killed"))], Status::Failed, vec![Target::Run]),
        ("groups ignored", vec![(1, Log), (2, group("x")), (3, group_end("x", Status::Failed)), (4, start()), (5, passed())], Status::Completed, vec![Target::Run]),
        ("still waiting", vec![(29 * MIN, Tick)], Status::Waiting, vec![]),
        ("never appeared", vec![(30 * MIN, Tick)], Status::Unknown, vec![]),
        ("running, not hung yet", vec![(1, Log), (2 * HOUR, Tick)], Status::Running, vec![]),
        ("hung", vec![(1, Log), (2 * HOUR + 1, Tick)], Status::Hung, vec![]),
        ("activity defers hung", vec![(1, Log), (HOUR, Activity), (2 * HOUR + 1, Tick)], Status::Running, vec![]),
        ("pid gone before any run", vec![(1, Log), (2, Pid)], Status::Unknown, vec![]),
        ("pid gone mid-run", vec![(1, Log), (2, start()), (3, Pid)], Status::Terminated, vec![]),
        ("pid gone after result", vec![(1, Log), (2, start()), (3, passed()), (4, Pid)], Status::Completed, vec![Target::Run]),
    ];
    for (name, inputs, status, posts) in cases {
        let o = drive(false, Some(2 * HOUR), &inputs);
        assert_eq!(o.m.state.run.status, status, "{name}");
        assert_eq!(o.posts, posts, "{name}");
        assert_eq!(o.m.state.post.post_pending, !posts.is_empty(), "{name}");
        assert_eq!(
            o.m.state.run.finished_at.is_some(),
            status.is_terminal(),
            "{name}"
        );
    }
}

#[test]
fn a_log_quiet_before_the_first_watch_is_not_hung_at_once() {
    let st = BuildState::new(&"b1".into(), false, "/logs/b1.log", at(10 * HOUR).into());
    let mut m = Machine::new(
        st,
        Timeouts {
            start: Duration::from_secs(30 * MIN),
            hung: Some(Duration::from_secs(2 * HOUR)),
            fatal_grace: Duration::from_secs(60),
        },
    );
    // The file was last written long before the watch (or dated 1969).
    m.log_present(at(10 * HOUR), UNIX_EPOCH - Duration::from_secs(1000));
    assert_eq!(m.next_deadline(), Some(at(12 * HOUR)));
    assert_eq!(m.tick(at(11 * HOUR)).notes.len(), 0);
    assert_eq!(m.state.run.status, Status::Running);
    assert!(serde_json::to_string(&m.state).is_ok());
}

#[test]
fn a_result_says_how_many_tests_passed() {
    let one = Event::RunResult(RunResult {
        status: Status::Completed,
        tests: Some(Tests {
            total: 1,
            passed: 1,
            ..Tests::default()
        }),
        ..RunResult::default()
    });
    let o = drive(false, None, &[(1, Log), (2, Ev(one))]);
    assert_eq!(
        o.m.state.run.reason.as_deref(),
        Some("all specs passed (1 test)")
    );
    let o = drive(false, None, &[(1, Log), (2, passed())]);
    assert_eq!(
        o.m.state.run.reason.as_deref(),
        Some("all specs passed (5 tests)")
    );
}

#[test]
fn hung_timeout_zero_disables_it() {
    let o = drive(false, None, &[(1, Log), (100 * HOUR, Tick)]);
    assert_eq!(o.m.state.run.status, Status::Running);
    assert_eq!(o.m.next_deadline(), None);
}

#[test]
fn deadlines() {
    let o = drive(false, Some(2 * HOUR), &[]);
    assert_eq!(o.m.next_deadline(), Some(at(30 * MIN)));
    let o = drive(false, Some(2 * HOUR), &[(10, Log), (50, Activity)]);
    assert_eq!(o.m.next_deadline(), Some(at(50 + 2 * HOUR)));
    let o = drive(false, Some(2 * HOUR), &[(10, Log), (11, passed())]);
    assert_eq!(o.m.next_deadline(), None);
}

#[test]
fn result_details_are_kept() {
    let o = drive(
        false,
        None,
        &[
            (1, Log),
            (2, start()),
            (
                3,
                Ev(Event::Progress {
                    index: 2,
                    total: 9,
                    spec: "x.cy.js".into(),
                }),
            ),
            (4, failed()),
        ],
    );
    let s = &o.m.state;
    assert_eq!(s.run.failed_specs, vec!["a.cy.js".to_string()]);
    assert_eq!(s.run.tests.unwrap().failed, 1);
    assert_eq!(s.run.duration.as_deref(), Some("01:02"));
    assert_eq!(s.progress.as_ref().unwrap().index, 2);
    assert_eq!(s.run.started_at, Some(at(2).into()));
    assert_eq!(s.run.reason.as_deref(), Some("1 spec(s) failed"));
}

#[test]
fn delivery_marks_posted() {
    let o = drive(
        false,
        None,
        &[(1, Log), (2, passed()), (3, Deliver(Target::Run))],
    );
    assert!(o.m.state.post.posted && !o.m.state.post.post_pending);
    assert!(o.m.state.pending_posts().is_empty());
}

#[test]
fn cancel_rules() {
    // Live run: cancelled, nothing to drop.
    let o = drive(false, None, &[(1, Log), (2, start()), (3, Cancel)]);
    assert_eq!(o.cancel, Some(CancelResult::Cancelled { dropped: 0 }));
    assert_eq!(o.m.state.run.status, Status::Cancelled);
    // Finished and posted: nothing changes.
    let o = drive(
        false,
        None,
        &[
            (1, Log),
            (2, passed()),
            (3, Deliver(Target::Run)),
            (4, Cancel),
        ],
    );
    assert_eq!(
        o.cancel,
        Some(CancelResult::AlreadyFinished(Status::Completed))
    );
    assert_eq!(o.m.state.run.status, Status::Completed);
    // Finished without a needed post (HUNG): nothing changes.
    let o = drive(false, Some(10), &[(1, Log), (20, Tick), (30, Cancel)]);
    assert_eq!(o.cancel, Some(CancelResult::AlreadyFinished(Status::Hung)));
    // Finished, post not delivered yet: the post is dropped and the build is CANCELLED.
    let o = drive(false, None, &[(1, Log), (2, passed()), (3, Cancel)]);
    assert_eq!(o.cancel, Some(CancelResult::Cancelled { dropped: 1 }));
    assert_eq!(o.m.state.run.status, Status::Cancelled);
    assert!(!o.m.state.post.post_pending && !o.m.state.post.posted);
    assert!(o.m.state.pending_posts().is_empty());
    assert!(
        o.m.state
            .run
            .reason
            .as_deref()
            .unwrap()
            .contains("COMPLETED"),
        "{:?}",
        o.m.state.run.reason
    );
    // An ending decided but not yet saved when the cancel was recorded: the cancel wins.
    let mut o = drive(false, Some(10), &[(1, Log), (20, Tick)]);
    assert_eq!(o.m.state.run.status, Status::Hung);
    let (c, _) = o.m.cancel("operator", at(21), true);
    assert_eq!(c, CancelResult::Cancelled { dropped: 0 });
    assert_eq!(o.m.state.run.status, Status::Cancelled);
    // Waiting: cancelled too.
    let o = drive(false, None, &[(3, Cancel)]);
    assert_eq!(o.m.state.run.status, Status::Cancelled);
}

fn keys(m: &Machine) -> Vec<(String, Status, bool)> {
    m.state
        .subruns
        .iter()
        .map(|s| {
            (
                s.key.to_string(),
                s.run.status,
                s.post.post_pending || s.post.posted,
            )
        })
        .collect()
}

#[test]
fn categorized_with_markers() {
    let o = drive(
        true,
        Some(HOUR),
        &[
            (1, Log),
            (2, plan(&["linux", "windows"])),
            (3, group("linux")),
            (4, start()),
            (5, passed()),
            (6, group_end("linux", Status::Completed)),
            (7, group("windows")),
            (8, start()),
            (9, failed()),
            (10, group_end("windows", Status::Failed)),
        ],
    );
    assert_eq!(
        keys(&o.m),
        vec![
            ("01-linux".into(), Status::Completed, true),
            ("02-windows".into(), Status::Failed, true),
        ]
    );
    assert_eq!(o.posts, vec![Target::Subrun(0), Target::Subrun(1)]);
    assert_eq!(o.m.state.run.status, Status::Failed);
    assert!(o.m.state.post.post_pending && !o.m.state.post.posted);
    assert_eq!(o.m.state.run.tests.unwrap().total, 10);
}

#[test]
fn categorized_names_from_plan_and_positions() {
    let o = drive(
        true,
        None,
        &[
            (1, Log),
            (2, plan(&["linux", "Windows Server/2022"])),
            (3, start()),
            (4, passed()),
            (5, start()),
            (6, passed()),
        ],
    );
    assert_eq!(
        keys(&o.m),
        vec![
            ("01-linux".into(), Status::Completed, true),
            ("02-windows-server-2022".into(), Status::Completed, true),
        ]
    );
    assert_eq!(
        o.m.state.run.status,
        Status::Completed,
        "the last planned group ended"
    );

    let o = drive(
        true,
        None,
        &[
            (1, Log),
            (3, start()),
            (4, passed()),
            (5, start()),
            (6, failed()),
            (7, Ev(Event::RunEnd(Status::Failed))),
        ],
    );
    assert_eq!(
        o.m.state
            .subruns
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["run-1", "run-2"]
    );
    assert_eq!(o.m.state.run.status, Status::Failed);
}

#[test]
fn categorized_endings() {
    let t = |s: &str| Ev(Event::Terminated(s.into()));
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<(u64, In)>, Status, Vec<Status>, usize)> = vec![
        ("all completed, run end", vec![(1, Log), (2, start()), (3, passed()), (4, Ev(Event::RunEnd(Status::Completed)))],
            Status::Completed, vec![Status::Completed], 1),
        ("hung second group", vec![(1, Log), (2, plan(&["a", "b"])), (3, start()), (4, passed()), (5, start()), (5 + HOUR, Tick)],
            Status::Hung, vec![Status::Completed, Status::Hung], 1),
        ("quiet between groups is not hung", vec![(1, Log), (3, start()), (4, passed()), (4 + HOUR, Tick)],
            Status::Completed, vec![Status::Completed], 1),
        ("quiet between groups, plan unfinished", vec![(1, Log), (2, plan(&["a", "b"])), (3, start()), (4, passed()), (4 + HOUR, Tick)],
            Status::Terminated, vec![Status::Completed], 1),
        ("terminated between groups", vec![(1, Log), (3, start()), (4, failed()), (5, t("Terminated"))],
            Status::Terminated, vec![Status::Failed], 1),
        ("terminated inside a group", vec![(1, Log), (2, plan(&["a", "b"])), (3, start()), (4, t("Killed")), (5, start()), (6, passed())],
            Status::Terminated, vec![Status::Terminated, Status::Completed], 1),
        ("pid exit in a group", vec![(1, Log), (3, start()), (4, passed()), (5, group("b")), (6, Pid)],
            Status::Terminated, vec![Status::Completed, Status::Terminated], 1),
        ("pid exit before anything", vec![(1, Log), (6, Pid)], Status::Unknown, vec![], 0),
        ("never appeared", vec![(31 * MIN, Tick)], Status::Unknown, vec![], 0),
        ("cloud cancel in a group", vec![(1, Log), (2, plan(&["a"])), (3, start()), (4, Ev(result(Status::Cancelled, &[])))],
            Status::Cancelled, vec![Status::Cancelled], 0),
        ("no specs opens a group", vec![(1, Log), (2, plan(&["a"])), (3, Ev(Event::FailedToStart("Can't run".into())))],
            Status::Failed, vec![Status::Failed], 1),
        ("group start ends an open group", vec![(1, Log), (2, group("a")), (3, start()), (4, group("b")), (5, start()), (6, passed()), (7, Ev(Event::RunEnd(Status::Failed)))],
            Status::Failed, vec![Status::Terminated, Status::Completed], 1),
        ("second run start without result", vec![(1, Log), (3, start()), (4, start()), (5, passed())],
            Status::Running, vec![Status::Terminated, Status::Completed], 1),
        ("a cut plan names groups but does not end the request", vec![(1, Log), (2, cut_plan(&["a"])), (3, start()), (4, passed()), (5, start()), (6, passed())],
            Status::Running, vec![Status::Completed, Status::Completed], 2),
        ("a cut plan: the run end ends it", vec![(1, Log), (2, cut_plan(&["a"])), (3, start()), (4, passed()), (5, Ev(Event::RunEnd(Status::Completed)))],
            Status::Completed, vec![Status::Completed], 1),
        ("a cut plan: quiet after a group ends it", vec![(1, Log), (2, cut_plan(&["a"])), (3, start()), (4, passed()), (4 + HOUR, Tick)],
            Status::Completed, vec![Status::Completed], 1),
        ("late lines change nothing", vec![(1, Log), (3, start()), (4, passed()), (5, group_end("x", Status::Failed)), (6, failed())],
            Status::Running, vec![Status::Completed], 1),
    ];
    for (name, inputs, status, subs, posts) in cases {
        let o = drive(true, Some(HOUR), &inputs);
        assert_eq!(o.m.state.run.status, status, "{name}");
        assert_eq!(
            o.m.state
                .subruns
                .iter()
                .map(|s| s.run.status)
                .collect::<Vec<_>>(),
            subs,
            "{name}"
        );
        assert_eq!(o.posts.len(), posts, "{name}");
    }
}

#[test]
fn group_end_with_other_name_warns_and_ends_the_open_group() {
    let o = drive(
        true,
        None,
        &[
            (1, Log),
            (2, group("linux")),
            (3, group_end("windows", Status::Completed)),
        ],
    );
    assert_eq!(o.m.state.subruns[0].run.status, Status::Completed);
    assert!(
        o.notes
            .iter()
            .any(|n| n.level == Level::Warn && n.text.starts_with("ATVM_GROUP_END names")),
        "{:?}",
        o.notes
    );
}

#[test]
fn categorized_cancel_keeps_posted_groups_and_drops_the_rest() {
    let o = drive(
        true,
        None,
        &[
            (1, Log),
            (2, plan(&["a", "b", "c"])),
            (3, start()),
            (4, passed()),
            (5, Deliver(Target::Subrun(0))),
            (6, start()),
            (7, failed()),
            (8, start()),
            (9, Cancel),
        ],
    );
    assert_eq!(o.cancel, Some(CancelResult::Cancelled { dropped: 1 }));
    let s = &o.m.state;
    assert_eq!(s.run.status, Status::Cancelled);
    assert_eq!(
        s.subruns
            .iter()
            .map(|s| (s.run.status, s.post.posted, s.post.post_pending))
            .collect::<Vec<_>>(),
        vec![
            (Status::Completed, true, false),
            (Status::Failed, false, false),
            (Status::Cancelled, false, false),
        ]
    );
    assert!(s.pending_posts().is_empty());
    assert!(s.post.posted, "every post still needed was delivered");
}

#[test]
fn aggregate_posted_flags() {
    let o = drive(
        true,
        None,
        &[
            (1, Log),
            (2, plan(&["a", "b"])),
            (3, start()),
            (4, passed()),
            (5, Deliver(Target::Subrun(0))),
        ],
    );
    assert!(o.m.state.post.posted && !o.m.state.post.post_pending);
    let mut o = drive(
        true,
        None,
        &[
            (1, Log),
            (2, plan(&["a", "b"])),
            (3, start()),
            (4, passed()),
            (5, start()),
            (6, failed()),
        ],
    );
    assert_eq!(
        o.m.state.pending_posts(),
        vec![Target::Subrun(0), Target::Subrun(1)]
    );
    o.m.delivery_failed(Target::Subrun(1), "HTTP 400", at(7));
    assert_eq!(o.m.state.post.post_error.as_deref(), Some("HTTP 400"));
    o.m.delivered(Target::Subrun(0), at(8));
    assert!(!o.m.state.post.posted && o.m.state.post.post_pending);
    o.m.delivered(Target::Subrun(1), at(9));
    assert!(
        o.m.state.post.posted
            && !o.m.state.post.post_pending
            && o.m.state.post.post_error.is_none()
    );
}

#[test]
fn state_round_trips_through_json() {
    let o = drive(
        true,
        None,
        &[(1, Log), (2, plan(&["a"])), (3, start()), (4, failed())],
    );
    let json = serde_json::to_string_pretty(&o.m.state).unwrap();
    let back: BuildState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, o.m.state);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for field in [
        "schema",
        "build_name",
        "status",
        "categorize",
        "posted",
        "post_pending",
        "subruns",
        "log_file",
        "updated_at",
        "finished_at",
        "reason",
        "post_error",
        "tests",
    ] {
        assert!(v.get(field).is_some(), "state.json lacks {field}");
    }
    for field in ["key", "name", "status", "posted"] {
        assert!(
            v["subruns"][0].get(field).is_some(),
            "sub-run lacks {field}"
        );
    }
}

/// Whatever the number of groups, a request keeps bounded lists: each sub-run within the
/// per-run caps, all of them together within the build's.
#[test]
fn a_request_of_many_groups_keeps_bounded_digests() {
    use crate::data::caps::{BUILD_MAX_FAILURES, BUILD_MAX_SPECS};
    use crate::data::run::SpecRow;
    let st = BuildState::new(&"b1".into(), true, "/logs/b1.log", at(0).into());
    let mut m = Machine::new(st, Timeouts::NONE);
    m.log_present(at(1), at(1));
    for g in 0..60u64 {
        let now = at(10 + g);
        m.event(&Event::RunStarting, now);
        m.event(
            &Event::Progress {
                index: 1,
                total: 1,
                spec: format!("s{g}.cy.js"),
            },
            now,
        );
        for k in 0..60 {
            let title = format!("t{k}");
            let number = k + 1;
            m.event(
                &Event::TestFailed {
                    number,
                    title,
                    error: None,
                },
                now,
            );
        }
        let specs: Vec<SpecRow> = (0..100)
            .map(|k| SpecRow {
                name: format!("s{g}-{k}.cy.js"),
                failed: 1,
                ..SpecRow::default()
            })
            .collect();
        let failed_specs = specs.iter().map(|s| s.name.clone()).collect();
        let r = RunResult {
            status: Status::Failed,
            tests: None,
            duration: None,
            failed_specs,
            specs,
        };
        m.event(&Event::RunResult(r), now);
    }
    let subs = &m.state.subruns;
    assert_eq!(subs.len(), 60);
    let total = |f: fn(&crate::data::run::RunRecord) -> usize| {
        subs.iter().map(|s| f(&s.run)).sum::<usize>()
    };
    assert_eq!(total(|r| r.specs.len()), BUILD_MAX_SPECS);
    assert_eq!(total(|r| r.failures.len()), BUILD_MAX_FAILURES);
    assert!(
        subs.iter()
            .all(|s| s.run.failures.len() <= crate::data::caps::MAX_FAILURES)
    );
    assert_eq!(subs[0].run.failures.len(), crate::data::caps::MAX_FAILURES);
}

/// A reason waits for the summary table that tells whether its spec failed; a run that
/// ends without one drops it.
#[test]
fn a_reason_without_a_summary_is_not_kept() {
    let o = drive(
        false,
        None,
        &[
            (1, Log),
            (2, start()),
            (
                3,
                Ev(Event::Progress {
                    index: 1,
                    total: 1,
                    spec: "a.cy.js".into(),
                }),
            ),
            (
                4,
                Ev(Event::SpecError(
                    "We detected that the Chrome process just crashed.".into(),
                )),
            ),
            (5, Ev(Event::Terminated("Killed".into()))),
        ],
    );
    assert_eq!(o.m.state.run.status, Status::Terminated);
    assert!(o.m.state.run.spec_errors.is_empty());
}
