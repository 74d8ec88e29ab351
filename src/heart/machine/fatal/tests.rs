//! A run that Cypress's own error stopped: when its end is certain, what it ends as, what
//! makes the error moot (contract §5, the fatal-error row).

use crate::data::build_state::Target;
use crate::data::status::Status;
use crate::heart::machine::tests::In::{self, *};
use crate::heart::machine::tests::{drive, group, group_end, passed, plan, start};
use crate::heart::matcher::Event;

const ERROR: &str = "An error was thrown in your plugins file while executing the handler for the before:spec event.";

fn fatal() -> In {
    Ev(Event::FatalError(ERROR.into()))
}

fn progress() -> In {
    Ev(Event::Progress {
        index: 1,
        total: 2,
        spec: "a.cy.js".into(),
    })
}

/// A case: its name, the inputs (at a second each), the status the run ends with.
type Case = (&'static str, Vec<(u64, In)>, Status);

#[test]
fn a_plain_run() {
    let hung = 2 * 3600;
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("certain at a marker: FAILED at once", vec![(1, Log), (2, start()), (3, fatal())], Status::Failed),
        ("before the run started: FAILED too", vec![(1, Log), (3, fatal())], Status::Failed),
        ("resting on it: not yet within the grace", vec![(1, Log), (2, start()), (3, Activity), (3, Rest(Some(ERROR))), (62, Tick)], Status::Running),
        ("resting on it: FAILED once the grace is over", vec![(1, Log), (2, start()), (3, Activity), (3, Rest(Some(ERROR))), (63, Tick)], Status::Failed),
        ("the log went on (it rests on nothing now)", vec![(1, Log), (2, start()), (3, Activity), (3, Rest(Some(ERROR))), (10, Activity), (10, Rest(None)), (100, Tick)], Status::Running),
        ("a line that decides comes first", vec![(1, Log), (2, start()), (3, Activity), (3, Rest(Some(ERROR))), (10, progress()), (100, Tick)], Status::Running),
        ("growth defers the grace", vec![(1, Log), (2, start()), (3, Activity), (3, Rest(Some(ERROR))), (50, Activity), (100, Tick)], Status::Running),
        ("the run's process exits: FAILED, not TERMINATED", vec![(1, Log), (2, start()), (3, Activity), (3, Rest(Some(ERROR))), (4, Pid)], Status::Failed),
        ("a termination line wins", vec![(1, Log), (2, start()), (3, Activity), (3, Rest(Some(ERROR))), (4, Ev(Event::Terminated("Killed".into()))), (100, Tick)], Status::Terminated),
        ("the hung timeout does not wait for it", vec![(1, Log), (2, start()), (hung + 2, Rest(Some(ERROR))), (hung + 2, Tick)], Status::Failed),
        ("after the result it changes nothing", vec![(1, Log), (2, start()), (3, passed()), (4, fatal()), (5, Rest(Some(ERROR))), (100, Tick)], Status::Completed),
    ];
    for (name, inputs, status) in cases {
        let o = drive(false, Some(hung), &inputs);
        assert_eq!(o.m.state.run.status, status, "{name}");
        let failed = status == Status::Failed;
        assert_eq!(
            o.posts,
            if status.is_posted() {
                vec![Target::Run]
            } else {
                vec![]
            },
            "{name}"
        );
        assert_eq!(o.m.state.run.cypress_error, failed, "{name}");
        if failed {
            assert_eq!(o.m.state.run.reason.as_deref(), Some(ERROR), "{name}");
        }
    }
}

#[test]
fn a_categorized_request_goes_on() {
    // The next group starts at once: its marker makes the end certain.
    let o = drive(
        true,
        Some(7200),
        &[
            (1, Log),
            (2, plan(&["linux", "windows"])),
            (3, group("linux")),
            (4, start()),
            (5, fatal()),
            (5, group("windows")),
            (6, start()),
            (7, passed()),
        ],
    );
    let subs = &o.m.state.subruns;
    assert_eq!(subs[0].run.status, Status::Failed);
    assert_eq!(subs[0].run.reason.as_deref(), Some(ERROR));
    assert!(subs[0].run.cypress_error);
    assert_eq!(subs[1].run.status, Status::Completed);
    assert_eq!(o.posts, vec![Target::Subrun(0), Target::Subrun(1)]);
    assert_eq!(o.m.state.run.status, Status::Failed, "the plan is done");

    // Before any sub-run: one is opened for it, as for a run that failed to start.
    let o = drive(
        true,
        Some(7200),
        &[(1, Log), (2, Rest(Some(ERROR))), (70, Tick)],
    );
    assert_eq!(o.m.state.subruns.len(), 1);
    assert_eq!(o.m.state.subruns[0].run.status, Status::Failed);
    assert_eq!(o.m.state.run.status, Status::Running, "the request goes on");

    // Ended by its own marker after the error: the error is the reason, the marker changes
    // nothing more.
    let o = drive(
        true,
        Some(7200),
        &[
            (1, Log),
            (3, group("linux")),
            (4, fatal()),
            (4, group_end("linux", Status::Failed)),
        ],
    );
    assert_eq!(o.m.state.subruns[0].run.reason.as_deref(), Some(ERROR));
    assert_eq!(o.posts, vec![Target::Subrun(0)]);
}
