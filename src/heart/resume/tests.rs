//! The boot-time rule and `resume`'s choice, as tables (contract §7, "After a reboot").

use super::*;
use crate::data::status::Status;
use crate::data::time::Timestamp;
use std::time::{Duration, UNIX_EPOCH};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

const BOOT: u64 = 1000;

/// A build first watched at `created`, `status`, its last known growth `activity`.
fn state(status: Status, created: u64, activity: Option<u64>) -> BuildState {
    let mut st = BuildState::new(&"b1".into(), false, "/logs/b1.log", Timestamp(at(created)));
    st.run.status = status;
    st.last_activity_at = activity.map(|a| Timestamp(at(a)));
    st
}

/// Its name, its status, first watched, `last_activity_at`, the log's modification time,
/// whether the boot ended it.
type Case = (&'static str, Status, u64, Option<u64>, Option<u64>, bool);

#[test]
fn the_boot_ends_a_live_run_whose_log_did_not_grow_since() {
    use Status::*;
    #[rustfmt::skip]
    let cases: [Case; 14] = [
        // name, status, first watched, last_activity_at, log mtime, over
        ("running, quiet since before the boot", Running, 10, Some(900), Some(900), true),
        ("running, the log gone", Running, 10, Some(900), None, true),
        ("waiting, no log ever: its run has not started, it waits on", Waiting, 10, None, None, false),
        ("waiting, the log appeared after the boot", Waiting, 10, None, Some(1005), false),
        ("running, the log grew after the boot", Running, 10, Some(900), Some(1005), false),
        ("running, growth after the boot recorded, the log gone since", Running, 10, Some(1005), None, false),
        ("running, growth recorded, the log older (replaced)", Running, 10, Some(1005), Some(20), false),
        ("the last growth at the boot itself", Running, 10, Some(BOOT), None, false),
        ("first watched after the boot, an old log", Running, 1005, Some(1005), Some(10), false),
        ("first watched after the boot, no log yet", Waiting, 1005, None, None, false),
        ("first watched at the boot itself", Waiting, BOOT, None, None, false),
        ("finished", Completed, 10, Some(900), Some(900), false),
        ("terminated already", Terminated, 10, Some(900), Some(900), false),
        ("failed, its post pending", Failed, 10, Some(900), Some(900), false),
    ];
    for (name, status, created, activity, mtime, over) in cases {
        let st = state(status, created, activity);
        assert_eq!(over_by_reboot(&st, mtime.map(at), at(BOOT)), over, "{name}");
    }
}

/// A look at a build directory: what it holds, and nothing else known.
fn found(peeked: &Peeked) -> Found<'_> {
    Found {
        peeked,
        cancelled: false,
        watched: false,
        young: false,
        log_mtime: None,
    }
}

fn peeked(st: BuildState) -> Peeked {
    Peeked::State(Box::new(st))
}

fn pending(mut st: BuildState, error: Option<&str>) -> BuildState {
    st.post.post_pending = true;
    st.post.post_error = error.map(str::to_string);
    st
}

/// A case: its name, the look at the build directory, what else is known of it, the choice.
type Choosing = (&'static str, Peeked, fn(&mut Found), &'static str);

#[test]
fn resume_starts_what_needs_a_watcher_and_has_none() {
    use Status::*;
    let b1: BuildName = "b1".into();
    let boot = Some(at(BOOT));
    let running = || state(Running, 10, Some(1005));
    let posted = || {
        let mut st = state(Completed, 10, Some(900));
        st.post.posted = true;
        st
    };
    let mut dry = state(Running, 10, Some(1005));
    dry.dry_run = true;
    let mut foreign = state(Running, 10, Some(1005));
    foreign.build_name = "b2".into();
    let mut future = state(Running, 10, Some(1005));
    future.schema = 2;
    let mut categorized = state(Running, 10, Some(900));
    categorized.categorize = true;
    categorized.subruns = vec![];
    #[rustfmt::skip]
    let cases: Vec<Choosing> = vec![
        ("running", peeked(running()), |_| {}, "start: RUNNING, not watched: the watcher follows its log on from where it stopped"),
        ("running, quiet since before the boot", peeked(state(Running, 10, Some(900))), |_| {},
            "start: RUNNING, not watched: its log has not grown since the boot: the watcher ends it TERMINATED (the controller restarted during the run)"),
        ("running, its log modified after the boot", peeked(state(Running, 10, Some(900))), |f| f.log_mtime = Some(at(1005)),
            "start: RUNNING, not watched: the watcher follows its log on from where it stopped"),
        ("waiting since before the boot: no run started, it waits on", peeked(state(Waiting, 10, None)), |_| {},
            "start: WAITING, not watched: the watcher waits for its log"),
        ("waiting since after the boot", peeked(state(Waiting, 1005, None)), |_| {}, "start: WAITING, not watched: the watcher waits for its log"),
        ("requested, never watched", Peeked::Requested(Box::new(state(Waiting, 1005, None))), |_| {}, "start: WAITING, not watched: the watcher waits for its log"),
        ("failed, post pending", peeked(pending(state(Failed, 10, Some(900)), Some("HTTP 400 no such webhook"))), |_| {},
            "start: FAILED, not watched, 1 post(s) pending: the watcher delivers it (last try: HTTP 400 no such webhook)"),
        ("completed, post pending, no error yet", peeked(pending(state(Completed, 10, Some(900)), None)), |_| {},
            "start: COMPLETED, not watched, 1 post(s) pending: the watcher delivers it"),
        ("categorized, running", peeked(categorized), |_| {},
            "start: RUNNING, not watched: its log has not grown since the boot: the watcher ends it TERMINATED (the controller restarted during the run)"),
        ("posted", peeked(posted()), |_| {}, "leave"),
        ("finished, nothing to post", peeked(state(Terminated, 10, Some(900))), |_| {}, "leave"),
        ("cancelled, state not yet saved as such", peeked(running()), |f| f.cancelled = true, "leave"),
        ("cancelled, its post pending", peeked(pending(state(Failed, 10, Some(900)), None)), |f| f.cancelled = true, "leave"),
        ("watched", peeked(running()), |f| f.watched = true, "leave"),
        ("watched, its state unreadable", Peeked::Damaged("state.json: EOF".into()), |f| f.watched = true, "leave"),
        ("a dry run's", peeked(dry), |_| {}, "leave"),
        ("being set up", Peeked::Empty, |f| f.young = true, "leave"),
        ("empty, old", Peeked::Empty, |_| {}, "skip: no state.json and no request.json"),
        ("damaged", Peeked::Damaged("state.json: expected value at line 1 column 1".into()), |_| {},
            "skip: state.json: expected value at line 1 column 1"),
        ("another build's state", peeked(foreign), |_| {}, "skip: its state.json is build b2's, not this directory's"),
        ("a schema from the future", peeked(future), |_| {}, "skip: state.json has schema 2, not 1"),
    ];
    for (name, p, adjust, want) in cases {
        let mut f = found(&p);
        adjust(&mut f);
        let got = match choose(&b1, &f, boot) {
            Choice::Start(why) => format!("start: {why}"),
            Choice::Leave => "leave".into(),
            Choice::Skip(why) => format!("skip: {why}"),
        };
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn without_a_boot_time_nothing_is_said_to_end() {
    let p = peeked(state(Status::Running, 10, Some(900)));
    let got = choose(&"b1".into(), &found(&p), None);
    assert_eq!(
        got,
        Choice::Start(
            "RUNNING, not watched: the watcher follows its log on from where it stopped".into()
        )
    );
}

#[test]
fn a_categorized_request_the_boot_ended_still_delivers_its_groups_posts() {
    use crate::data::build_state::SubrunState;
    use crate::data::names::SubrunKey;
    let mut st = state(Status::Running, 10, Some(900));
    st.categorize = true;
    let mut done = SubrunState {
        key: SubrunKey::new(1, "linux"),
        name: "linux".into(),
        index: 1,
        run: Default::default(),
        post: Default::default(),
        progress: None,
        run_seen: true,
        opened_by_marker: true,
    };
    done.run.status = Status::Failed;
    done.post.post_pending = true;
    st.subruns.push(done);
    st.refresh_aggregate();
    let p = peeked(st);
    let Choice::Start(why) = choose(&"b1".into(), &found(&p), Some(at(BOOT))) else {
        panic!("started");
    };
    assert_eq!(
        why,
        "RUNNING, not watched, 1 post(s) pending: its log has not grown since the boot: the watcher ends it TERMINATED (the controller restarted during the run), and delivers the pending post(s)"
    );
}
