//! The prune decision, table-tested: the verdict on each kind of entry, and what a build's
//! state says (`Facts::of`). What the history needs is in `needs_tests.rs`.

use super::*;
use crate::data::build_state::SubrunState;
use crate::data::names::{BuildName, SubrunKey};
use crate::data::run::RunRecord;
use std::time::UNIX_EPOCH;

const DAY: u64 = 86_400;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn days_ago(d: u64) -> Timestamp {
    Timestamp(now() - Duration::from_secs(d * DAY))
}

fn facts(status: Status, days: u64) -> Facts {
    Facts {
        status,
        since: days_ago(days),
        finished: true,
        pending: false,
        watched: false,
    }
}

#[test]
fn verdicts() {
    let old = |s| Look::Build(facts(s, 100));
    let pending = Look::Build(Facts {
        pending: true,
        ..facts(Status::Failed, 100)
    });
    let watched = Look::Build(Facts {
        watched: true,
        ..facts(Status::Completed, 100)
    });
    let future = Look::Build(Facts {
        since: Timestamp(now() + Duration::from_secs(DAY)),
        ..facts(Status::Completed, 0)
    });
    let damaged = Look::Damaged("state.json: expected value".into());
    let keep = Verdict::Keep;
    let cases: Vec<(&str, Look, bool, u64, Verdict)> = vec![
        (
            "posted, old",
            old(Status::Completed),
            false,
            90,
            Verdict::Remove,
        ),
        (
            "failed, posted",
            old(Status::Failed),
            false,
            90,
            Verdict::Remove,
        ),
        (
            "cancelled",
            old(Status::Cancelled),
            false,
            90,
            Verdict::Remove,
        ),
        (
            "terminated",
            old(Status::Terminated),
            false,
            90,
            Verdict::Remove,
        ),
        ("hung", old(Status::Hung), false, 90, Verdict::Remove),
        ("unknown", old(Status::Unknown), false, 90, Verdict::Remove),
        ("running", old(Status::Running), false, 90, keep(Kept::Live)),
        ("waiting", old(Status::Waiting), true, 90, keep(Kept::Live)),
        ("starting", Look::Starting, false, 90, keep(Kept::Live)),
        ("watched", watched, false, 90, keep(Kept::Watched)),
        ("pending", pending, true, 90, keep(Kept::Pending)),
        (
            "just old enough",
            old(Status::Completed),
            false,
            99,
            Verdict::Remove,
        ),
        (
            "as old as the age",
            old(Status::Completed),
            false,
            100,
            keep(Kept::TooRecent),
        ),
        (
            "too recent and needed",
            old(Status::Completed),
            true,
            200,
            keep(Kept::TooRecent),
        ),
        ("in the future", future, false, 0, keep(Kept::TooRecent)),
        (
            "needed",
            old(Status::Completed),
            true,
            90,
            keep(Kept::Needed),
        ),
        (
            "damaged",
            damaged,
            false,
            0,
            keep(Kept::Damaged("state.json: expected value".into())),
        ),
    ];
    for (name, look, needed, older, want) in cases {
        let got = verdict(&look, needed, now(), Duration::from_secs(older * DAY));
        assert_eq!(got, want, "{name}");
    }
}

fn state(status: Status, categorize: bool) -> BuildState {
    let name = BuildName::new("b").unwrap();
    let mut st = BuildState::new(&name, categorize, "/l/b.log", days_ago(101));
    st.run.status = status;
    st.run.finished_at = Some(days_ago(100));
    st.updated_at = days_ago(99);
    st
}

fn subrun(i: u32, status: Status, posted: bool, pending: bool) -> SubrunState {
    let mut run = RunRecord {
        status,
        ..RunRecord::default()
    };
    run.finished_at = Some(days_ago(100));
    let mut s = SubrunState {
        key: SubrunKey::new(i, "g"),
        name: "g".into(),
        index: i,
        run,
        post: Default::default(),
        progress: None,
        run_seen: true,
        opened_by_marker: false,
    };
    s.post.posted = posted;
    s.post.post_pending = pending;
    s
}

#[test]
fn what_a_state_says() {
    let posted = {
        let mut st = state(Status::Completed, false);
        st.post.delivered();
        st
    };
    let pending = {
        let mut st = state(Status::Failed, false);
        st.post.post_pending = true;
        st
    };
    let dry = {
        let mut st = pending.clone();
        st.dry_run = true;
        st
    };
    let unfinished = {
        let mut st = state(Status::Cancelled, false);
        st.run.finished_at = None;
        st
    };
    let group_pending = {
        let mut st = state(Status::Completed, true);
        st.subruns = vec![
            subrun(1, Status::Completed, true, false),
            subrun(2, Status::Failed, false, true),
        ];
        st
    };
    let groups_posted = {
        let mut st = state(Status::Failed, true);
        st.subruns = vec![
            subrun(1, Status::Completed, true, false),
            subrun(2, Status::Terminated, false, false),
        ];
        st.refresh_aggregate();
        st
    };
    // (state, pending, since, finished)
    let cases = [
        ("posted", &posted, false, 100, true),
        ("pending", &pending, true, 100, true),
        ("a dry run posts nothing", &dry, false, 100, true),
        ("no finished_at: updated_at", &unfinished, false, 99, false),
        ("a group's post pending", &group_pending, true, 100, true),
        (
            "every group posted or not posted",
            &groups_posted,
            false,
            100,
            true,
        ),
    ];
    for (name, st, pending, days, finished) in cases {
        let f = Facts::of(st, true);
        assert_eq!(f.pending, pending, "{name}");
        assert_eq!(f.since, days_ago(days), "{name}");
        assert_eq!(f.finished, finished, "{name}");
        assert!(f.watched, "{name}");
        assert_eq!(f.age(now()), Duration::from_secs(days * DAY), "{name}");
    }
}
