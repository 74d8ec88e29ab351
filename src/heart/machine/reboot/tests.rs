//! A watcher started after a reboot: what the boot ended, and what it did not (contract §7,
//! "After a reboot"). Each case drives a build until the reboot (`drive`, a second per
//! input), then starts a machine that knows the boot on the state it saved, and gives it
//! what the new watcher meets: the log opened again (or not), its unread tail, a tick.

use crate::data::build_state::Target;
use crate::data::status::Status;
use crate::heart::machine::tests::In::{self, *};
use crate::heart::machine::tests::{at, drive, group, group_end, passed, plan, start};
use crate::heart::machine::{Machine, Timeouts};
use crate::heart::resume::RESTARTED;
use std::time::Duration;

/// Past the start timeout (30 min) of a build first watched at 0.
const BOOT: u64 = 4000;
const AFTER: u64 = 4010;

/// What the watcher after the boot meets.
enum After {
    /// The log exists, last modified at this second.
    Log(u64),
    /// The log's unread tail.
    Ev(In),
    /// It rests on this fatal error.
    Rest(&'static str),
}

struct Rebooted {
    m: Machine,
    posts: Vec<Target>,
}

/// `before` until the reboot (plain or categorized, no hung timeout unless given), then a
/// machine that knows `boot` on the saved state, fed `after` and a tick at `AFTER`.
fn reboot(
    categorize: bool,
    hung: Option<u64>,
    before: &[(u64, In)],
    boot: Option<u64>,
    after: Vec<After>,
) -> Rebooted {
    let saved = drive(categorize, hung, before).m.state;
    let timeouts = Timeouts {
        start: Duration::from_secs(30 * 60),
        hung: hung.map(Duration::from_secs),
        fatal_grace: Duration::from_secs(60),
    };
    let mut m = Machine::new(saved, timeouts).with_boot(boot.map(at));
    let now = at(AFTER);
    let mut posts = Vec::new();
    for a in after {
        let step = match a {
            After::Log(mtime) => m.log_present(now, at(mtime)),
            After::Ev(Ev(e)) => m.event(&e, now),
            After::Ev(_) => unreachable!("only events"),
            After::Rest(line) => {
                m.at_rest(Some(line.into()));
                Default::default()
            }
        };
        posts.extend(step.posts);
    }
    posts.extend(m.tick(now).posts);
    Rebooted { m, posts }
}

/// A case: its name, the inputs until the reboot, the boot, what the watcher after it meets,
/// the status and reason it ends with.
type Case = (
    &'static str,
    Vec<(u64, In)>,
    Option<u64>,
    Vec<After>,
    Status,
    &'static str,
);

fn ran(secs: u64) -> Vec<(u64, In)> {
    vec![(1, Log), (2, start()), (secs, Activity)]
}

#[test]
fn a_plain_run() {
    use After::{Ev as Tail, Log as Opened};
    let fatal = "An error was thrown in your plugins file while executing the handler for the before:spec event.";
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("running, the log quiet since before the boot", ran(900), Some(BOOT), vec![Opened(900)], Status::Terminated, RESTARTED),
        ("running, the log gone", ran(900), Some(BOOT), vec![], Status::Terminated, RESTARTED),
        // No run was ended: it waits on under its start timeout from its first start,
        // which here fell due while nobody watched.
        ("waiting, no log ever", vec![], Some(BOOT), vec![], Status::Unknown, "no log file appeared within 30m"),
        ("running, the log grew after the boot", ran(900), Some(BOOT), vec![Opened(4005)], Status::Running, ""),
        ("waiting, its log appeared after the boot", vec![], Some(BOOT), vec![Opened(4005)], Status::Running, ""),
        ("the boot unknown", ran(900), None, vec![Opened(900)], Status::Running, ""),
        ("the result in the unread tail", ran(900), Some(BOOT), vec![Opened(900), Tail(passed())], Status::Completed, "all specs passed (5 tests)"),
        ("Cypress's own error the log rests on", ran(900), Some(BOOT), vec![Opened(900), After::Rest(fatal)], Status::Failed, fatal),
    ];
    for (name, before, boot, after, status, reason) in cases {
        let r = reboot(false, None, &before, boot, after);
        assert_eq!(r.m.state.run.status, status, "{name}");
        if status.is_terminal() {
            assert_eq!(r.m.state.run.reason.as_deref(), Some(reason), "{name}");
            assert_eq!(r.m.state.run.finished_at, Some(at(AFTER).into()), "{name}");
        }
        let posts = if status.is_posted() {
            vec![Target::Run]
        } else {
            vec![]
        };
        assert_eq!(r.posts, posts, "{name}");
    }
    let r = reboot(false, Some(10), &ran(900), Some(BOOT), vec![Opened(900)]);
    assert_eq!(
        r.m.state.run.status,
        Status::Terminated,
        "not HUNG: the boot ended it"
    );
    assert_eq!(r.m.state.run.reason.as_deref(), Some(RESTARTED));
}

#[test]
fn a_build_first_watched_after_the_boot_is_not_over_by_it() {
    // Its log is older than the boot (a run watched on an old log): it is followed.
    let r = reboot(false, None, &[(1, Log)], Some(0), vec![After::Log(0)]);
    assert_eq!(r.m.state.run.status, Status::Running);
    assert_eq!(r.m.next_deadline(), None, "no hung timeout, nothing due");
}

#[test]
fn a_finished_build_stays_as_it_was() {
    // FAILED before the boot, its post not delivered yet: still pending, not re-decided.
    let before = vec![
        (1, Log),
        (2, start()),
        (3, crate::heart::machine::tests::failed()),
    ];
    let r = reboot(false, None, &before, Some(BOOT), vec![After::Log(3)]);
    assert_eq!(r.m.state.run.status, Status::Failed);
    assert!(r.m.state.post.post_pending);
    assert_eq!(r.m.state.run.finished_at, Some(at(3).into()));
    assert!(r.posts.is_empty(), "the post is pending, not decided again");
}

#[test]
fn a_categorized_request() {
    let first_done = |second: In| {
        vec![
            (1, Log),
            (2, plan(&["a", "b", "c"])),
            (3, group("a")),
            (4, start()),
            (5, passed()),
            (6, Deliver(Target::Subrun(0))),
            (7, group("b")),
            (8, second),
        ]
    };
    // The open sub-run is TERMINATED; the request, whose groups did not all run, too.
    let r = reboot(
        true,
        None,
        &first_done(start()),
        Some(BOOT),
        vec![After::Log(8)],
    );
    let st = &r.m.state;
    assert_eq!(st.run.status, Status::Terminated);
    assert_eq!(st.run.reason.as_deref(), Some(RESTARTED));
    assert_eq!(st.subruns[1].run.status, Status::Terminated);
    assert_eq!(st.subruns[1].run.reason.as_deref(), Some(RESTARTED));
    assert!(st.subruns[0].post.posted && r.posts.is_empty());
    // Between groups, after a failed one: the request is FAILED, as its sub-runs say.
    let failed_b = group_end("b", Status::Failed);
    let r = reboot(
        true,
        None,
        &first_done(failed_b),
        Some(BOOT),
        vec![After::Log(8)],
    );
    assert_eq!(r.m.state.run.status, Status::Failed);
    assert_eq!(r.m.state.run.reason.as_deref(), Some(RESTARTED));
    assert_eq!(r.m.state.subruns[1].run.status, Status::Failed);
    assert!(
        r.posts.is_empty(),
        "group b's post was decided before the boot"
    );
    assert!(
        r.m.state.subruns[1].post.post_pending,
        "and is still pending"
    );
}

#[test]
fn the_boot_is_due_at_once() {
    let saved = drive(false, None, &ran(900)).m.state;
    let m = Machine::new(saved, Timeouts::NONE).with_boot(Some(at(BOOT)));
    assert_eq!(m.next_deadline(), Some(at(BOOT)));
    // A run that grew after the boot: nothing due (no timeouts here).
    let mut m = m;
    m.activity(at(BOOT + 1), at(BOOT + 1));
    assert_eq!(m.next_deadline(), None);
}
