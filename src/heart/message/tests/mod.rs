//! The post as Mattermost shows it (`testing::mattermost`: marked 0.3.6 and a model of
//! the web app and the server): order and content here; untrusted text of every hostile
//! kind in `hostile.rs`.

mod hostile;

use super::*;
use crate::data::build_state::SubrunState;
use crate::data::run::{Failure, Flaky, PostState, RunRecord, SpecRow, Tests};
use crate::heart::history::Mark;
use crate::heart::triage::{Fixed, Triage};
use crate::testing::mattermost::{self, Shown};
use std::time::UNIX_EPOCH;

fn at(s: u64) -> Timestamp {
    Timestamp(UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s))
}

fn finished(status: Status) -> BuildState {
    let mut st = BuildState::new(
        &"nightly-2026.11.22".into(),
        false,
        "/root/cdc/tmp/nightly-2026.11.22.log",
        at(0),
    );
    st.run.status = status;
    st.run.started_at = Some(at(60));
    st.run.finished_at = Some(at(60 + 3723));
    st.run.tests = Some(Tests {
        total: 14,
        passed: 11,
        failed: 3,
        pending: 0,
        skipped: 0,
    });
    st
}

fn request() -> Request {
    Request {
        template: Some("rhel9-to-ocp".into()),
        config_family: Some("vmware".into()),
        migration_style: Some("warm".into()),
        integration_plugin: Some("vddk".into()),
        scope_description: Some("full regression".into()),
        ..Request::new("nightly-2026.11.22".into())
    }
}

fn ctx(r: &Request) -> Context<'_> {
    Context {
        request: r,
        host: "atvm-controller-01",
        mention: None,
        triage: None,
    }
}

/// `post` as Mattermost shows it, checked against the rules every post keeps.
fn shown(m: &Message, mention: Option<&str>) -> Shown {
    mattermost::check(&m.text, mention, &[])
}

#[test]
fn status_and_build_come_first_then_the_details_in_order() {
    let mut st = finished(Status::Failed);
    st.run.failed_specs = vec!["migrate/windows.cy.js".into(), "rollback.cy.js".into()];
    let r = request();
    let m = render(&st, Target::Run, &ctx(&r));
    let s = shown(&m, None);
    assert_eq!(s.heading(), ":x: ATVM run FAILED · nightly-2026.11.22");
    let labels: Vec<String> = s.rows().into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        labels,
        [
            "Template",
            "Config family",
            "Migration style",
            "Integration plugin",
            "Scope",
            "Tests",
            "Duration"
        ]
    );
    assert_eq!(s.row("Template").as_deref(), Some("rhel9-to-ocp"));
    assert_eq!(
        s.row("Tests").as_deref(),
        Some("14 tests: 11 passed, 3 failed, 0 pending, 0 skipped")
    );
    assert_eq!(
        s.row("Duration").as_deref(),
        Some("1h 2m 3s"),
        "wall-clock duration when Cypress gave none"
    );
    let (head, items) = s.section("Failed specs").expect("the failed specs");
    assert_eq!(head, "Failed specs (2):");
    assert_eq!(items, ["migrate/windows.cy.js", "rollback.cy.js"]);
    assert_eq!(
        s.paragraphs().last().copied(),
        Some("Controller: atvm-controller-01 · Log: /root/cdc/tmp/nightly-2026.11.22.log")
    );
}

#[test]
fn completed_uses_cypress_duration_and_omits_empty_fields() {
    let mut st = finished(Status::Completed);
    st.run.duration = Some("12:41".into());
    let r = Request {
        template: Some("t".into()),
        ..Request::new("b".into())
    };
    let s = shown(&render(&st, Target::Run, &ctx(&r)), None);
    assert_eq!(
        s.heading(),
        ":white_check_mark: ATVM run COMPLETED · nightly-2026.11.22"
    );
    assert_eq!(s.row("Duration").as_deref(), Some("12:41"));
    assert_eq!(s.row("Config family"), None);
    assert!(s.section("Failed specs").is_none());
}

#[test]
fn subrun_position_is_in_the_heading() {
    let mut st = finished(Status::Running);
    st.categorize = true;
    st.planned_groups = vec!["linux".into(), "windows".into(), "bsd".into()];
    st.subruns.push(subrun("windows", digest_run().run));
    st.subruns[0].run = RunRecord {
        status: Status::Completed,
        tests: Some(Tests {
            total: 3,
            passed: 3,
            ..Default::default()
        }),
        started_at: Some(at(10)),
        finished_at: Some(at(70)),
        ..RunRecord::default()
    };
    let r = request();
    let s = shown(&render(&st, Target::Subrun(0), &ctx(&r)), None);
    assert_eq!(
        s.heading(),
        ":white_check_mark: ATVM run COMPLETED · nightly-2026.11.22 · group 2 of 3: windows"
    );
    assert!(s.row("Tests").unwrap().starts_with("3 tests: 3 passed"));
    assert_eq!(s.row("Duration").as_deref(), Some("1m"));
    st.subruns[0].run.tests = Some(Tests {
        total: 1,
        passed: 1,
        ..Default::default()
    });
    let s = shown(&render(&st, Target::Subrun(0), &ctx(&r)), None);
    assert!(s.row("Tests").unwrap().starts_with("1 test: 1 passed"));
}

/// Sub-run 2 of the request, named `name`, with `run`.
fn subrun(name: &str, run: RunRecord) -> SubrunState {
    SubrunState {
        key: "02-x".into(),
        name: name.into(),
        index: 2,
        run,
        post: PostState {
            post_pending: true,
            ..PostState::default()
        },
        progress: None,
        run_seen: true,
        opened_by_marker: true,
    }
}

fn failure(spec: &str, title: Option<&str>, error: Option<&str>) -> Failure {
    Failure::new(
        spec.into(),
        title.map(str::to_string),
        error.map(str::to_string),
    )
}

/// A FAILED run with every part of the digest.
fn digest_run() -> BuildState {
    let mut st = finished(Status::Failed);
    st.run.specs = ["login.cy.js", "bundle.cy.js", "retry.cy.js"]
        .iter()
        .map(|n| SpecRow {
            name: n.to_string(),
            ..SpecRow::default()
        })
        .collect();
    st.run.failures = vec![
        failure(
            "login.cy.js",
            Some("Login › logs in"),
            Some("AssertionError: expected 1 to equal 2"),
        ),
        failure(
            "login.cy.js",
            Some("Login › \"before each\" hook for \"is failing\""),
            Some("CypressError: `cy.visit()` failed trying to load: /admin"),
        ),
        failure(
            "bundle.cy.js",
            None,
            Some("Error: Webpack Compilation Error"),
        ),
    ];
    st.run.flaky = vec![Flaky {
        spec: "retry.cy.js".into(),
        title: "Retry › fail twice".into(),
        attempts: 3,
    }];
    st
}

fn digest_triage() -> Triage {
    Triage::of_marks(
        vec![
            Mark::New,
            Mark::AlsoFailedIn("nightly-41".into()),
            Mark::New,
        ],
        vec![Fixed {
            build: "nightly-41".into(),
            spec: "login.cy.js".into(),
            title: Some("Login › works again".into()),
        }],
    )
}

#[test]
fn the_digest_lists_failures_with_marks_then_flaky_then_fixed() {
    let st = digest_run();
    let (r, t) = (request(), digest_triage());
    let c = Context {
        mention: Some("@qa-oncall"),
        triage: Some(&t),
        ..ctx(&r)
    };
    let s = shown(&render(&st, Target::Run, &c), Some("@qa-oncall"));
    assert_eq!(s.paragraphs()[0], "@qa-oncall");
    assert_eq!(
        s.row("Tests").as_deref(),
        Some("14 tests: 11 passed, 3 failed, 0 pending, 0 skipped · 1 flaky")
    );
    let sections = [
        (
            "Failed tests (3): 2 new · 1 still failing",
            vec![
                "login.cy.js › Login › logs in: AssertionError: expected 1 to equal 2 · new",
                "login.cy.js › Login › \"before each\" hook for \"is failing\": CypressError: `cy.visit()` failed trying to load: /admin · also failed in nightly-41",
                "bundle.cy.js: Error: Webpack Compilation Error · new",
            ],
        ),
        (
            "Flaky (1):",
            vec!["retry.cy.js › Retry › fail twice (passed on attempt 3)"],
        ),
        (
            "Fixed since nightly-41 (1):",
            vec!["login.cy.js › Login › works again"],
        ),
    ];
    let order: Vec<&str> = s.paragraphs();
    for (head, items) in sections {
        let (got_head, got) = s
            .section(head.split(' ').next().unwrap())
            .unwrap_or_else(|| panic!("{head} missing:\n{}", s.visible()));
        assert_eq!(got_head, head);
        assert_eq!(got, items, "{head}");
    }
    let pos = |h: &str| order.iter().position(|p| p.starts_with(h)).unwrap();
    assert!(pos("Failed tests") < pos("Flaky") && pos("Flaky") < pos("Fixed since"));
    // The spec, the title and the error are each the log's, shown as code.
    let pieces = &s.section_pieces("Failed tests")[0];
    let code: Vec<&str> = pieces
        .iter()
        .filter(|p| p.kind == "code")
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(
        code,
        [
            "login.cy.js",
            "Login › logs in",
            "AssertionError: expected 1 to equal 2"
        ]
    );
}

#[test]
fn completed_posts_mention_nobody_and_say_nothing_of_flakiness_without_retries() {
    let mut st = digest_run();
    st.run.status = Status::Completed;
    st.run.failures.clear();
    st.run.flaky.clear();
    let r = request();
    let c = Context {
        mention: Some("@qa-oncall"),
        ..ctx(&r)
    };
    let s = shown(&render(&st, Target::Run, &c), None);
    let v = s.visible();
    assert!(
        !v.contains("@qa") && !v.contains("flaky") && !v.contains("Failed"),
        "{v}"
    );
}

#[test]
fn a_failed_run_without_a_summary_says_why() {
    let mut st = finished(Status::Failed);
    st.run.tests = None;
    st.run.reason = Some("Can't run because no spec files were found.".into());
    let r = request();
    let s = shown(&render(&st, Target::Run, &ctx(&r)), None);
    let (_, items) = s.section("Why").expect("why");
    assert_eq!(items, ["Can't run because no spec files were found."]);
}

#[test]
fn a_run_that_cypress_stopped_says_so_first_then_what_failed_before() {
    let mut st = finished(Status::Failed);
    st.run.tests = None;
    st.run.cypress_error = true;
    st.run.reason =
        Some("We encountered an unexpected error communicating with our servers.".into());
    st.run.failures = vec![failure("a.cy.js", Some("t"), Some("Error: e"))];
    let r = request();
    let s = shown(&render(&st, Target::Run, &ctx(&r)), None);
    let (_, why) = s.section("Why").expect("why");
    assert_eq!(
        why,
        [
            "Cypress stopped the run on its own error: We encountered an unexpected error communicating with our servers."
        ]
    );
    let order = s.paragraphs();
    let pos = |h: &str| order.iter().position(|p| p.starts_with(h)).unwrap();
    assert!(pos("Why") < pos("Failed tests"));
}

#[test]
fn more_failures_than_shown_end_with_and_n_more() {
    let mut st = digest_run();
    st.run.failures = (0..50)
        .map(|i| failure("s.cy.js", Some(&format!("t{i}")), Some("Error: e")))
        .collect();
    st.run.tests = Some(Tests {
        total: 70,
        passed: 10,
        failed: 60,
        ..Tests::default()
    });
    let r = request();
    let s = shown(&render(&st, Target::Run, &ctx(&r)), None);
    let (head, items) = s.section("Failed tests").unwrap();
    assert_eq!(head, "Failed tests (60):");
    assert_eq!(items.len(), 11, "{items:?}");
    assert!(items[..10].iter().all(|i| i.starts_with("s.cy.js › t")));
    assert_eq!(items[10], "… and 50 more");
}

#[test]
fn fixed_since_has_one_section_per_build() {
    let st = digest_run();
    let fixed = |build: &str, spec: &str| Fixed {
        build: build.into(),
        spec: spec.into(),
        title: None,
    };
    let t = Triage::of_marks(
        Vec::new(),
        vec![fixed("a", "s1"), fixed("b", "s2"), fixed("a", "s3")],
    );
    let r = request();
    let c = Context {
        triage: Some(&t),
        ..ctx(&r)
    };
    let s = shown(&render(&st, Target::Run, &c), None);
    let heads: Vec<&str> = s
        .paragraphs()
        .into_iter()
        .filter(|p| p.starts_with("Fixed since"))
        .collect();
    assert_eq!(heads, ["Fixed since a (2):", "Fixed since b (1):"]);
}
