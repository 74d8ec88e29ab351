//! Table tests of the failure digest: line sequences in the shape of Cypress 12.17.4's
//! mocha output → events; and whole fixture runs in every style → what the machine keeps.

use super::*;
use crate::data::build_state::BuildState;
use crate::data::run::{Failure, Flaky};
use crate::data::status::Status;
use crate::data::time::Timestamp;
use crate::heart::machine::{Machine, Timeouts};
use crate::heart::matcher::{Bytes, Scanner};
use crate::heart::pipeline::Pipeline;
use crate::heart::redact::Redactor;
use crate::heart::rules::Rules;
use std::time::{Duration, SystemTime};

use crate::heart::matcher::tests::cypress;
use cypress::{SpecError as Reason, SpecRun, Style, Test};

fn events(lines: &[&str]) -> Vec<Event> {
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let mut out = Vec::new();
    let log: String = lines.iter().map(|l| format!("{l}\n")).collect();
    for l in lines {
        s.feed(
            format!("{l}\n").as_bytes(),
            &Bytes(log.as_bytes()),
            &mut out,
        );
    }
    s.finish(&Bytes(log.as_bytes()), &mut out);
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
                 "     CypressError: `cy.visit()` failed trying to load:", "", "/does-not-exist.html",
                 "", "We attempted to make an http request to this URL but the request failed.",
                 "      at x (y.js:1:1)", "not this"],
            vec![failed(1, "suite › fails", Some("Error: foo")),
                 failed(2, "suite › failing hook › \"before each\" hook for \"is failing\"",
                        Some("CypressError: `cy.visit()` failed trying to load: /does-not-exist.html We attempted to make an http request to this URL but the request failed."))]),
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
        ("an assertion diff: a blank line, then the error's first line at six",
            vec!["  2 failing", "", "  1) web security", "       fails when clicking <a> to another origin:", "",
                 "      Timed out retrying after 4000ms", "      + expected - actual", "",
                 "      +'https://www.foo.com:44665/cross_origin'", "      ", "      at x (y.js:1:1)", "",
                 "  2) assertion errors", "       fails with assertion diff, no retries:", "",
                 "      AssertionError: expected [] to deeply equal [ 1, 2, 3 ]", "      + expected - actual"],
            vec![failed(1, "web security › fails when clicking <a> to another origin", Some("Timed out retrying after 4000ms")),
                 failed(2, "assertion errors › fails with assertion diff, no retries",
                        Some("AssertionError: expected [] to deeply equal [ 1, 2, 3 ]"))]),
        ("an error line ending with a colon takes the message's next lines, up to the stack",
            vec!["  1 failing", "", "  1) when status code isnt 2xx or 3xx", "       fails:",
                 "     CypressError: `cy.request()` failed on:", "", "http://localhost:2294/statusCode?code=503", "",
                 "The response we received from your web server was:", "", "  > 503: Service Unavailable",
                 "      at x (y.js:1:1)", "  From Node.js Internals:"],
            vec![failed(1, "when status code isnt 2xx or 3xx › fails",
                        Some("CypressError: `cy.request()` failed on: http://localhost:2294/statusCode?code=503 The response we received from your web server was: > 503: Service Unavailable"))]),
        ("a colon line's detail ends at the next entry too",
            vec!["  2 failing", "  1) a:", "     CypressError: `cy.task('x')` failed with the following error:", "",
                 "> Error thrown in task handler", "  2) b:", "     Error: two"],
            vec![failed(1, "a", Some("CypressError: `cy.task('x')` failed with the following error: > Error thrown in task handler")),
                 failed(2, "b", Some("Error: two"))]),
        ("a hook failing after a failed test is an entry of its own (more entries than failing tests)",
            vec!["  2 failing", "  1) Blank Contents", "       renders the visit failure page:", "     Error: one",
                 "", "  2) Blank Contents", "       \"after all\" hook: mergeUnitTestCoverage for \"renders the visit failure page\":",
                 "     TypeError: two"],
            vec![failed(1, "Blank Contents › renders the visit failure page", Some("Error: one")),
                 failed(2, "Blank Contents › \"after all\" hook: mergeUnitTestCoverage for \"renders the visit failure page\"",
                        Some("TypeError: two"))]),
        ("a colon line's detail ends at the stack's header line (`  Error`), as at a frame",
            vec!["  1 failing", "  1) throws if mutating read-only config:",
                 "     CypressError: The config passed to your test-level overrides has the following validation error:", "",
                 "CypressError: The `chromeWebSecurity` configuration can never be overridden.", "",
                 "https://on.cypress.io/config", "  Error", "      at x (y.js:1:1)"],
            vec![failed(1, "throws if mutating read-only config",
                        Some("CypressError: The config passed to your test-level overrides has the following validation error: CypressError: The `chromeWebSecurity` configuration can never be overridden. https://on.cypress.io/config"))]),
        ("a suite title ending in a blank: kept without it",
            vec!["  1 failing", "  1) Top level describe ", "       suite 2", "         should fail:",
                 "     AssertionError: expected true to be false"],
            vec![failed(1, "Top level describe › suite 2 › should fail", Some("AssertionError: expected true to be false"))]),
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
        ("a config file that crashed while the spec ran (the run goes on)",
            vec!["Your configFile threw an error from: cypress.config.js", "",
                 "We stopped running your tests because your config file crashed.", "",
                 "Error: Async error from plugins file", "      at x (y.js:1:1)"],
            vec![reason("Your configFile threw an error from: cypress.config.js")]),
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
        ("a retried test is named with its suites, read back above it",
            vec!["  atvm", "    migrate", "      ✓ starts", "      (Attempt 1 of 2) cuts over", "      ✓ cuts over (9s)"],
            vec![flaky("atvm › migrate › cuts over", 2)]),
        ("same title in two suites: a hook failure after the retry is no pass, the other suite's pass is not it",
            vec!["  simple failing hook spec", "    beforeEach hooks", "      (Attempt 1 of 2) never gets here",
                 "      1) \"before each\" hook for \"never gets here\"", "    pending", "      - is pending",
                 "    afterEach hooks", "      (Attempt 1 of 2) runs this", "      2) \"after each\" hook for \"runs this\"",
                 "    after hooks", "      ✓ runs this", "      3) \"after all\" hook for \"fails on this\""],
            vec![]),
        ("same title in two suites: each pass is its own suite's",
            vec!["  spec", "    first", "      (Attempt 1 of 2) runs this", "      ✓ runs this",
                 "    second", "      (Attempt 1 of 3) runs this", "      (Attempt 2 of 3) runs this", "      ✓ runs this"],
            vec![flaky("spec › first › runs this", 2), flaky("spec › second › runs this", 3)]),
        ("suites with timestamps and colour, as the log has them",
            vec!["2026-11-22T09:00:01.001Z \x1b[0m  Login\x1b[0m", "2026-11-22T09:00:02.001Z \x1b[33m    (Attempt 1 of 2) banner\x1b[39m",
                 "2026-11-22T09:00:03.001Z \x1b[32m    ✓\x1b[39m banner"],
            vec![flaky("Login › banner", 2)]),
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
        s.feed(&bytes, &Bytes(&bytes), &mut out);
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
        let st = BuildState::new(&"b".into(), false, "/l/b.log", Timestamp(now));
        let scanner = Scanner::new(&Rules::default(), Redactor::default());
        let mut p = Pipeline::new(scanner, Machine::new(st, Timeouts::NONE));
        p.opened(0, 0, now, now);
        for chunk in bytes.chunks(997) {
            p.feed(chunk, &Bytes(&bytes), now, &mut |_, _| {});
        }
        p.finish(&Bytes(&bytes), now, &mut |_, _| {});
        let m = p.machine;
        let run = &m.state.run;
        assert_eq!(run.status, Status::Failed, "{style:?}");
        let want: Vec<Failure> = cypress::failures_of(&specs)
            .into_iter()
            .map(|f| Failure::new(f.spec, f.title, f.error))
            .collect();
        assert_eq!(run.failures, want, "{style:?}");
        let want: Vec<Flaky> = cypress::flaky_of(&specs)
            .into_iter()
            .map(|f| Flaky {
                spec: f.spec,
                title: f.title,
                attempts: f.attempts,
            })
            .collect();
        assert_eq!(run.flaky, want, "{style:?}");
        assert_eq!(run.specs.len(), specs.len(), "{style:?}");
        assert!(run.spec_errors.is_empty(), "{style:?}");
    }
}
