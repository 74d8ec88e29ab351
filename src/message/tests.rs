//! Rendering tests: order, escaping, limits.

use super::markdown::neutralize;
use super::*;
use crate::build::SubrunState;
use crate::model::{Failure, Flaky, PostState, RunOutcome, SpecRow, Tests, Timestamp};
use crate::triage::{Fixed, Mark, Triage};
use std::time::UNIX_EPOCH;

fn at(s: u64) -> Timestamp {
    Timestamp(UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s))
}

fn finished(status: Status) -> BuildState {
    let mut st = BuildState::new(
        "nightly-2026.11.22",
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
        build_name: "nightly-2026.11.22".into(),
        template: Some("rhel9-to-ocp".into()),
        config_family: Some("vmware".into()),
        migration_style: Some("warm".into()),
        integration_plugin: Some("vddk".into()),
        scope_description: Some("full regression".into()),
        ..Default::default()
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

#[test]
fn status_and_build_come_first_then_the_details_in_order() {
    let mut st = finished(Status::Failed);
    st.run.failed_specs = vec!["migrate/windows.cy.js".into(), "rollback.cy.js".into()];
    let r = request();
    let m = render(&st, Target::Run, &ctx(&r)).text;
    let first = m.lines().next().unwrap();
    assert_eq!(first, "#### :x: ATVM run FAILED · nightly-2026.11.22");
    let order = [
        "Template",
        "Config family",
        "Migration style",
        "Integration plugin",
        "Scope",
        "Tests",
        "Duration",
        "Failed specs",
        "Controller",
        "Log",
    ];
    let pos: Vec<usize> = order
        .iter()
        .map(|k| m.find(k).unwrap_or_else(|| panic!("{k} missing:\n{m}")))
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{m}");
    assert!(m.contains("14 tests: 11 passed, 3 failed, 0 pending, 0 skipped"));
    assert!(
        m.contains("1h 2m 3s"),
        "wall-clock duration when Cypress gave none:\n{m}"
    );
    assert!(m.contains("- migrate/windows.cy.js\n"), "{m}");
    assert!(
        m.contains("Controller: atvm-controller-01 · Log: /root/cdc/tmp/nightly-2026.11.22.log"),
        "{m}"
    );
}

#[test]
fn completed_uses_cypress_duration_and_omits_empty_fields() {
    let mut st = finished(Status::Completed);
    st.run.duration = Some("12:41".into());
    let r = Request {
        build_name: "b".into(),
        template: Some("t".into()),
        ..Default::default()
    };
    let m = render(&st, Target::Run, &ctx(&r)).text;
    assert!(m.starts_with("#### :white_check_mark: ATVM run COMPLETED · nightly-2026.11.22"));
    assert!(m.contains("| Duration | 12:41 |"));
    assert!(!m.contains("Config family"));
    assert!(!m.contains("Failed specs"));
}

#[test]
fn subrun_position_is_in_the_heading() {
    let mut st = finished(Status::Running);
    st.categorize = true;
    st.planned_groups = vec!["linux".into(), "windows".into(), "bsd".into()];
    st.subruns.push(SubrunState {
        key: "02-windows".into(),
        name: "windows".into(),
        index: 2,
        run: RunOutcome {
            status: Status::Completed,
            tests: Some(Tests {
                total: 3,
                passed: 3,
                ..Default::default()
            }),
            started_at: Some(at(10)),
            finished_at: Some(at(70)),
            ..RunOutcome::default()
        },
        post: PostState {
            post_pending: true,
            ..PostState::default()
        },
        progress: None,
        run_seen: true,
        opened_by_marker: true,
    });
    let r = request();
    let m = render(&st, Target::Subrun(0), &ctx(&r)).text;
    assert_eq!(
        m.lines().next().unwrap(),
        "#### :white_check_mark: ATVM run COMPLETED · nightly-2026.11.22 · group 2 of 3: windows"
    );
    assert!(m.contains("3 tests: 3 passed"));
    assert!(m.contains("| Duration | 1m |"), "{m}");
}

#[test]
fn untrusted_text_cannot_mention_or_break_layout() {
    let cases = [
        "@channel please look",
        "ping @here and @all",
        "<!channel> <!here|x> <https://evil|click>",
        "a | b | c",
        "line\nbreak\r\n# Heading",
        "**bold** _it_ `code` [link](http://x) ![img](y)",
        "> quote",
        "1. numbered",
        "- bullet",
        "see https://phish.example/x or www.phish.example",
    ];
    for bad in cases {
        let n = neutralize(bad);
        for forbidden in [
            "@channel", "@here", "@all", "<!", "\n", "\r", "://", " www.",
        ] {
            assert!(
                !n.contains(forbidden),
                "{bad:?} → {n:?} contains {forbidden:?}"
            );
        }
        let unescaped = |c: char| n.match_indices(c).any(|(i, _)| !n[..i].ends_with('\\'));
        for c in ['*', '_', '`', '[', ']', '|', '<', '~'] {
            assert!(!unescaped(c), "{bad:?} → {n:?}: unescaped {c:?}");
        }
        assert!(
            !n.starts_with(['#', '>', '-']) && !n.starts_with("1."),
            "{n}"
        );
    }
    let mut st = finished(Status::Failed);
    st.run.failed_specs = vec!["@channel | evil\n#### spec".into()];
    let r = Request {
        build_name: "b".into(),
        scope_description: Some("notify @all".into()),
        ..Default::default()
    };
    let m = render(&st, Target::Run, &ctx(&r)).text;
    assert!(!m.contains("@channel") && !m.contains("@all"), "{m}");
    assert_eq!(
        m.lines().filter(|l| l.starts_with("####")).count(),
        1,
        "{m}"
    );
}

#[test]
fn escaping_never_pushes_the_essentials_out() {
    // Every field at its limit, made of characters that escaping makes three times longer.
    let nasty = "<".repeat(400);
    let r = Request {
        build_name: "b".into(),
        template: Some(nasty.clone()),
        config_family: Some(nasty.clone()),
        migration_style: Some(nasty.clone()),
        integration_plugin: Some(nasty.clone()),
        scope_description: Some(nasty.clone()),
        ..Default::default()
    };
    let mut st = finished(Status::Failed);
    st.run.failed_specs = (0..40)
        .map(|i| format!("{}{i}", "@|`".repeat(100)))
        .collect();
    st.log_file = format!("/root/{}.log", "_".repeat(400));
    let m = render(&st, Target::Run, &ctx(&r)).text;
    assert!(m.chars().count() < MAX_CHARS, "{} chars", m.chars().count());
    assert!(m.contains("| Tests | 14 tests: 11 passed, 3 failed"), "{m}");
    assert!(
        m.contains("\nController: atvm-controller-01 · Log: /root/"),
        "{m}"
    );
    for line in m.lines().filter(|l| l.starts_with("| ") && l.len() > 4) {
        assert!(line.ends_with(" |"), "a table row was cut: {line}");
        let backslashes = line[..line.len() - 2]
            .chars()
            .rev()
            .take_while(|&c| c == '\\')
            .count();
        assert_eq!(backslashes % 2, 0, "a cell ends in a lone escape: {line}");
    }
    assert!(
        !m.contains("@|") && !m.contains("@`"),
        "every @ keeps its zero-width space"
    );
}

#[test]
fn clipping_never_splits_an_escape() {
    for max in 1..12 {
        let c = clip_escaped(neutralize("a<b@c|d\\e"), max);
        assert!(c.chars().count() <= max, "{max}: {c}");
        let body = c.trim_end_matches('…');
        let backslashes = body.chars().rev().take_while(|&ch| ch == '\\').count();
        assert_eq!(backslashes % 2, 0, "{max}: {c:?}");
        assert!(!body.ends_with('@') && !body.ends_with('<'), "{max}: {c:?}");
    }
}

#[test]
fn stays_under_the_limit_with_many_long_failed_specs() {
    let mut st = finished(Status::Failed);
    st.run.failed_specs = (0..500)
        .map(|i| format!("{}_{i}.cy.js", "very_long_spec_name_".repeat(12)))
        .collect();
    let r = Request {
        scope_description: Some("x".repeat(5000)),
        ..request()
    };
    let m = render(&st, Target::Run, &ctx(&r)).text;
    assert!(m.chars().count() < MAX_CHARS, "{} chars", m.chars().count());
    assert!(m.contains("more"), "{m}");
}

fn failure(spec: &str, title: Option<&str>, error: Option<&str>) -> Failure {
    Failure {
        spec: spec.into(),
        title: title.map(str::to_string),
        error: error.map(str::to_string),
    }
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
            Some("CypressError: `cy.visit()` failed trying to load:"),
        ),
        failure(
            "bundle.cy.js",
            None,
            Some("Error: Webpack Compilation Error"),
        ),
    ];
    st.run.flaky = vec![Flaky {
        spec: "retry.cy.js".into(),
        title: "fail twice".into(),
        attempts: 3,
    }];
    st
}

fn digest_triage() -> Triage {
    Triage {
        marks: vec![
            Mark::New,
            Mark::AlsoFailedIn("nightly-41".into()),
            Mark::New,
        ],
        fixed: vec![Fixed {
            build: "nightly-41".into(),
            spec: "login.cy.js".into(),
            title: Some("Login › works again".into()),
        }],
    }
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
    let m = render(&st, Target::Run, &c).text;
    let lines: Vec<&str> = m.lines().collect();
    assert_eq!(lines[1], "@qa-oncall", "{m}");
    for want in [
        "| Tests | 14 tests: 11 passed, 3 failed, 0 pending, 0 skipped · 1 flaky |",
        "**Failed tests** (3):",
        "- **login.cy.js** › Login › logs in: AssertionError: expected 1 to equal 2 · new",
        "- **login.cy.js** › Login › \"before each\" hook for \"is failing\": CypressError: \\`cy.visit()\\` failed trying to load: · also failed in nightly-41",
        "- **bundle.cy.js**: Error: Webpack Compilation Error · new",
        "**Flaky** (1):",
        "- **retry.cy.js** › fail twice (passed on attempt 3)",
        "**Fixed since nightly-41** (1):",
        "- **login.cy.js** › Login › works again",
    ] {
        assert!(lines.contains(&want), "missing {want:?}:\n{m}");
    }
    let pos = |s: &str| m.find(s).unwrap();
    assert!(pos("**Failed tests**") < pos("**Flaky**") && pos("**Flaky**") < pos("**Fixed since"));
    assert!(
        m.ends_with("Log: /root/cdc/tmp/nightly-2026.11.22.log"),
        "{m}"
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
    let m = render(&st, Target::Run, &c).text;
    assert!(
        !m.contains("@qa") && !m.contains("flaky") && !m.contains("Failed"),
        "{m}"
    );
}

#[test]
fn a_failed_run_without_a_summary_says_why() {
    let mut st = finished(Status::Failed);
    st.run.tests = None;
    st.run.reason = Some("Can't run because no spec files were found.".into());
    let r = request();
    let m = render(&st, Target::Run, &ctx(&r)).text;
    assert!(
        m.contains("**Why**:\n- Can't run because no spec files were found."),
        "{m}"
    );
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
    let m = render(&st, Target::Run, &ctx(&r)).text;
    assert!(m.contains("**Failed tests** (60):"), "{m}");
    assert_eq!(m.matches("- **s.cy.js** › t").count(), 10, "{m}");
    assert!(m.contains("- … and 50 more"), "{m}");
}

/// Every variant of the post through a real CommonMark renderer (GFM tables): one heading,
/// first; the table stays a table; each list line is one item; no untrusted text becomes
/// a mention, link, image, code, HTML or heading.
#[test]
fn every_variant_renders_as_intended_markdown() {
    use pulldown_cmark::{Event as Md, Options, Parser, Tag, TagEnd};
    let hostile = "@channel [x](http://e) ![i](y) <b>h</b> `c` # h **b** | p\n- li";
    let mut nasty = digest_run();
    nasty.run.failures = (0..50)
        .map(|i| {
            failure(
                &format!("{hostile}{i}"),
                Some(hostile),
                Some(&hostile.repeat(5)),
            )
        })
        .collect();
    nasty.run.flaky = (0..50)
        .map(|i| Flaky {
            spec: hostile.into(),
            title: format!("{hostile}{i}"),
            attempts: 2,
        })
        .collect();
    let mut completed = finished(Status::Completed);
    completed.run.duration = Some("12:41".into());
    let mut sub = finished(Status::Running);
    sub.categorize = true;
    sub.planned_groups = vec!["linux".into(), hostile.into()];
    sub.subruns.push(SubrunState {
        key: "02-x".into(),
        name: hostile.into(),
        index: 2,
        run: digest_run().run,
        post: PostState::default(),
        progress: None,
        run_seen: true,
        opened_by_marker: true,
    });
    let mut fallback = finished(Status::Failed);
    fallback.run.failed_specs = vec![hostile.into()];
    let mut why = finished(Status::Failed);
    why.run.reason = Some(hostile.into());
    let t = digest_triage();
    let r = Request {
        scope_description: Some(hostile.into()),
        ..request()
    };
    let variants = [
        (completed, Target::Run),
        (digest_run(), Target::Run),
        (nasty, Target::Run),
        (sub, Target::Subrun(0)),
        (fallback, Target::Run),
        (why, Target::Run),
    ];
    for (st, target) in variants {
        let c = Context {
            mention: Some("@qa-oncall, @alice"),
            triage: Some(&t),
            ..ctx(&r)
        };
        let m = render(&st, target, &c).text;
        assert!(m.chars().count() < MAX_CHARS, "{m}");
        let (mut headings, mut tables, mut in_item, mut text) = (0, 0, false, String::new());
        for ev in Parser::new_ext(&m, Options::ENABLE_TABLES) {
            match ev {
                Md::Start(Tag::Heading { .. }) => headings += 1,
                Md::Start(Tag::Table(cols)) => {
                    tables += 1;
                    assert_eq!(cols.len(), 2, "{m}");
                }
                Md::Start(Tag::Item) => (in_item, text) = (true, String::new()),
                Md::End(TagEnd::Item) => in_item = false,
                Md::SoftBreak | Md::HardBreak => {
                    assert!(!in_item, "an item spans lines: {text}\n{m}")
                }
                Md::Text(t) => text.push_str(&t),
                Md::Start(Tag::Link { .. } | Tag::Image { .. } | Tag::List(Some(_)))
                | Md::Code(_)
                | Md::Html(_)
                | Md::InlineHtml(_) => panic!("{ev:?} in:\n{m}"),
                _ => {}
            }
        }
        assert_eq!((headings, tables), (1, 1), "{m}");
        assert!(m.starts_with("#### "), "{m}");
        let mentions: Vec<&str> = m.match_indices('@').map(|(i, _)| &m[i..]).collect();
        for at in mentions {
            assert!(
                at.starts_with("@qa-oncall")
                    || at.starts_with("@alice")
                    || at.starts_with("@\u{200b}"),
                "a live mention from the log: {at:.20}\n{m}"
            );
        }
    }
}

#[test]
fn fixed_since_has_one_section_per_build() {
    let st = digest_run();
    let fixed = |build: &str, spec: &str| Fixed {
        build: build.into(),
        spec: spec.into(),
        title: None,
    };
    let t = Triage {
        marks: Vec::new(),
        fixed: vec![fixed("a", "s1"), fixed("b", "s2"), fixed("a", "s3")],
    };
    let r = request();
    let c = Context {
        triage: Some(&t),
        ..ctx(&r)
    };
    let m = render(&st, Target::Run, &c).text;
    assert_eq!(m.matches("**Fixed since a** (2):").count(), 1, "{m}");
    assert_eq!(m.matches("**Fixed since b** (1):").count(), 1, "{m}");
}
