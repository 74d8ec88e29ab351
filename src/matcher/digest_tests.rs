//! Table tests of the failure digest: line sequences in the shape of Cypress 12.17.4's
//! mocha output → events; and whole fixture runs in every style → what the machine keeps.

use super::*;
use crate::build::BuildState;
use crate::machine::Machine;
use crate::matcher::Scanner;
use crate::model::{Failure, Flaky, Status, Timestamp};
use crate::redact::Redactor;
use crate::rules::Rules;
use std::time::{Duration, SystemTime};

use crate::matcher::tests::cypress;
use cypress::{SpecError as Reason, SpecRun, Style, Test};

fn events(lines: &[&str]) -> Vec<Event> {
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let mut out = Vec::new();
    for l in lines {
        s.feed(format!("{l}\n").as_bytes(), &mut out);
    }
    s.finish(&mut out);
    out.retain(|e| !matches!(e, Event::Progress { .. }));
    out
}

fn failed(number: u32, title: &str, error: Option<&str>) -> Event {
    Event::TestFailed {
        number,
        title: title.into(),
        error: error.map(str::to_string),
    }
}

#[test]
fn failure_lists() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<&str>, Vec<Event>)> = vec![
        ("a one-part title has its colon on the k) line",
            vec!["  1 failing", "", "  1) is true:", "     Error: nope", "      at x (y.js:1:1)"],
            vec![failed(1, "is true", Some("Error: nope"))]),
        ("nested suites and a hook, titles at 7 and 9 spaces",
            vec!["  2 failing", "  1) suite", "       fails:", "     Error: foo", "",
                 "  2) suite", "       failing hook", "         \"before each\" hook for \"is failing\":",
                 "     CypressError: `cy.visit()` failed trying to load:", "", "/does-not-exist.html"],
            vec![failed(1, "suite › fails", Some("Error: foo")),
                 failed(2, "suite › failing hook › \"before each\" hook for \"is failing\"",
                        Some("CypressError: `cy.visit()` failed trying to load:"))]),
        ("a continuation line at column 0 that looks like an entry is not one",
            vec!["  2 failing", "  1) a:", "     AssertionError: expected", "2) not an entry", "  > 404: Not Found",
                 "  2) b:", "     Error: second"],
            vec![failed(1, "a", Some("AssertionError: expected")), failed(2, "b", Some("Error: second"))]),
        ("the test listing before `N failing` is not the list",
            vec!["  suite", "    1) fails", "  1) top-level fails", "  0 passing", "  1 failing",
                 "  1) suite", "       fails:", "     Error: x"],
            vec![failed(1, "suite › fails", Some("Error: x"))]),
        ("an entry cut off by (Results) keeps its title, without an error",
            vec!["  2 failing", "  1) a:", "     Error: one", "  2) b", "", "  (Results)", "  3) c:", "     Error: late"],
            vec![failed(1, "a", Some("Error: one")), failed(2, "b", None)]),
        ("a number out of sequence is a continuation",
            vec!["  2 failing", "  1) a:", "     Error: one", "  3) c:", "     Error: x", "  2) b:", "     Error: two"],
            vec![failed(1, "a", Some("Error: one")), failed(2, "b", Some("Error: two"))]),
        ("an entry without an error line does not hide the next ones",
            vec!["  3 failing", "  1) a:", "", "  2) b:", "     Error: two", "  3) c:", "     Error: three"],
            vec![failed(1, "a", None), failed(2, "b", Some("Error: two")), failed(3, "c", Some("Error: three"))]),
        ("after the last entry's error the list is closed",
            vec!["  1 failing", "  1) a:", "     Error: one", "  2) b:", "     Error: two"],
            vec![failed(1, "a", Some("Error: one"))]),
        ("timestamps before the indent: ISO word, bracket group, two words",
            vec!["2026-11-22T09:00:01.001Z   1 failing", "[10:00:00]   1) s", "2026-11-22 10:00:00        t:",
                 "2026-11-22T09:00:01.001Z      Error: stamped"],
            vec![failed(1, "s › t", Some("Error: stamped"))]),
    ];
    for (name, lines, want) in cases {
        assert_eq!(events(&lines), want, "{name}");
    }
}

#[test]
fn reasons_and_retries() {
    let reason = |s: &str| Event::SpecError(s.into());
    let flaky = |t: &str, k: u32| Event::Flaky {
        title: t.into(),
        attempts: k,
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<&str>, Vec<Event>)> = vec![
        ("a bundle error: the first Error line after Oops",
            vec!["Oops...we found an error preparing this test file:", "", "  > cypress/e2e/a.cy.js", "",
                 "The error was:", "", "Error: Webpack Compilation Error", "SyntaxError: /x.js: Unexpected token (1:1)"],
            vec![reason("Error: Webpack Compilation Error")]),
        ("a renderer crash", vec!["We detected that the Chromium Renderer process just crashed."],
            vec![reason("We detected that the Chromium Renderer process just crashed.")]),
        ("a browser crash", vec!["We detected that the Chrome process just crashed with code 'null' and signal 'SIGTRAP'."],
            vec![reason("We detected that the Chrome process just crashed with code 'null' and signal 'SIGTRAP'.")]),
        ("a browser that never connects", vec!["Timed out waiting for the browser to connect. Retrying..."],
            vec![reason("Timed out waiting for the browser to connect. Retrying...")]),
        ("passed on the third attempt", vec!["  (Attempt 1 of 3) fail twice", "  (Attempt 2 of 3) fail twice", "  ✓ fail twice (120ms)"],
            vec![flaky("fail twice", 3)]),
        ("nested, without a timing", vec!["    (Attempt 1 of 2) deep test", "    ✓ deep test"],
            vec![flaky("deep test", 2)]),
        ("a title ending in parentheses keeps them", vec!["  (Attempt 1 of 2) migrates (2 VMs)", "  ✓ migrates (2 VMs) (1.5s)"],
            vec![flaky("migrates (2 VMs)", 2)]),
        ("a crash while a test is retried is still the spec's reason",
            vec!["  (Attempt 1 of 3) t", "We detected that the Chromium Renderer process just crashed."],
            vec![reason("We detected that the Chromium Renderer process just crashed.")]),
        ("failed every attempt: not flaky", vec!["  (Attempt 1 of 2) always", "  (Attempt 2 of 2) always", "  1) always"],
            vec![]),
        ("another test passing is not this one", vec!["  (Attempt 1 of 2) a", "  ✓ b (3ms)", "  1 passing"],
            vec![]),
        ("a test whose title mentions failing is no list", vec!["  ✓ shows 2 failing rows", "  ✓ 3 failing"],
            vec![]),
    ];
    for (name, lines, want) in cases {
        assert_eq!(events(&lines), want, "{name}");
    }
}

#[test]
fn a_wrapped_spec_name_is_joined() {
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let mut out = Vec::new();
    let name = format!("a/{}/b.cy.js", "x".repeat(90));
    for style in Style::variants() {
        let bytes = cypress::render(&cypress::running_header(&name, 2, 5), style);
        s.reset(0);
        out.clear();
        s.feed(&bytes, &mut out);
        let last = Event::Progress {
            index: 2,
            total: 5,
            spec: name.clone(),
        };
        assert_eq!(out.last(), Some(&last), "{style:?}");
    }
}

/// Every kind of failure in one run, rendered in every style, read by the scanner and
/// the machine as the watcher does: the machine keeps what the fixture says.
#[test]
fn fixture_runs_in_every_style_give_the_digest() {
    let specs = vec![
        SpecRun::new(
            "atvm/login.cy.js",
            vec![
                Test::passed(&["Login", "shows the form"]),
                Test::failed(
                    &["Login", "logs in"],
                    &[
                        "AssertionError: expected 1 to equal 2",
                        "",
                        "+ expected - actual",
                    ],
                ),
                Test::hook_failed(
                    &["Login", "as admin"],
                    "before each",
                    "sees the dashboard",
                    &[
                        "CypressError: `cy.visit()` failed trying to load:",
                        "",
                        "/admin",
                    ],
                ),
                Test::flaky(&["Login", "retries"], 2, 3),
            ],
        ),
        SpecRun::errored("atvm/bundle.cy.js", Reason::BundleError),
        SpecRun::errored("atvm/crash.cy.js", Reason::RendererCrash),
        SpecRun::errored(
            &format!("atvm/{}.cy.js", "very_long_spec_name_".repeat(4)),
            Reason::NeverConnected,
        ),
    ];
    let lines = cypress::detailed_run(&specs, "12:41");
    for style in Style::variants() {
        let bytes = cypress::render(&lines, style);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let st = BuildState::new("b", false, "/l/b.log", Timestamp(now));
        let mut m = Machine::new(st, Duration::from_secs(60), None);
        m.log_present(now, now);
        let mut s = Scanner::new(&Rules::default(), Redactor::default());
        let mut out = Vec::new();
        for chunk in bytes.chunks(997) {
            s.feed(chunk, &mut out);
        }
        s.finish(&mut out);
        for ev in &out {
            m.event(ev, now);
        }
        let run = &m.state.run;
        assert_eq!(run.status, Status::Failed, "{style:?}");
        let want: Vec<Failure> = cypress::failures_of(&specs)
            .into_iter()
            .map(|f| Failure {
                spec: f.spec,
                title: f.title,
                error: f.error,
            })
            .collect();
        assert_eq!(run.failures, want, "{style:?}");
        let want: Vec<Flaky> = cypress::flaky_of(&specs)
            .into_iter()
            .map(|f| Flaky {
                spec: f.spec,
                title: f.own_title,
                attempts: f.attempts,
            })
            .collect();
        assert_eq!(run.flaky, want, "{style:?}");
        assert_eq!(run.specs.len(), specs.len(), "{style:?}");
        assert!(run.spec_errors.is_empty(), "{style:?}");
    }
}
