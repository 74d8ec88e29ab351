//! Cypress's own fatal errors, as the scanner finds them: at rest and at the marker that
//! makes the end certain; every default text, in every dress (plain, colour, CRLF,
//! timestamps); what cancels one; the detail of a `:` line.

use crate::heart::cypress_errors::FATAL_ERRORS;
use crate::heart::matcher::tests::cypress::{self, PRE, Spec, Style};
use crate::heart::matcher::{Bytes, Event, Scanner};
use crate::heart::redact::Redactor;
use crate::heart::rules::Rules;

/// An error as Cypress prints it: red, every line (chalk reopens the colour on each).
fn red(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .map(|l| format!("{PRE}\x1b[31m{l}\x1b[39m"))
        .collect()
}

/// A run that started a spec, then `tail`.
fn after_running(tail: &[String]) -> Vec<String> {
    let spec = Spec::passed("atvm/a.cy.js", 1);
    let mut v = cypress::run_starting(std::slice::from_ref(&spec));
    v.extend(cypress::spec_start(&spec, 1, 1));
    v.extend(tail.iter().cloned());
    v
}

/// What a scanner fed `log` (in chunks of `chunk`) finds at rest, and its events.
fn scan(log: &[u8], chunk: usize) -> (Option<String>, Vec<Event>) {
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let mut out = Vec::new();
    let mut read = 0;
    for c in log.chunks(chunk) {
        read += c.len();
        s.feed(c, &Bytes(&log[..read]), &mut out);
    }
    s.finish(&Bytes(log), &mut out);
    (s.at_rest(&Bytes(log)), out)
}

#[test]
fn every_default_text_is_found_at_rest_in_every_dress() {
    for text in FATAL_ERRORS {
        let first = format!("{text}/root/cdc/cypress.config.js");
        let lines = after_running(&red(&[
            "",
            &first,
            "",
            "Error: something went wrong",
            "    at Object.<anonymous> (/root/cdc/cypress.config.js:3:9)",
        ]));
        for style in Style::variants() {
            let log = cypress::render(&lines, style);
            let (found, _) = scan(&log, 4096);
            let found = found.unwrap_or_else(|| panic!("{text:?} not found in {style:?}"));
            assert!(found.starts_with(text.trim_end()), "{found:?} for {text:?}");
        }
    }
}

#[test]
fn only_a_line_that_begins_with_the_text_counts() {
    for line in [
        "  Your configFile at x set an invalid value:",
        "Warning: We encountered an unexpected error communicating with our servers.",
        "see: Your configFile at x",
        "The run went on",
    ] {
        let lines = after_running(&red(&[line]));
        let (found, _) = scan(&cypress::render(&lines, Style::ALL), 64);
        assert_eq!(found, None, "{line:?}");
    }
}

#[test]
fn a_line_that_says_the_run_went_on_cancels_it() {
    let error = "We encountered an unexpected error communicating with our servers.";
    let cases: [(&str, Vec<String>, bool); 5] = [
        ("the error is the last word", red(&[error]), true),
        (
            "the Cloud retries",
            red(&[
                error,
                "",
                "StatusCodeError: 500",
                "We will retry 3 more times in 30 seconds...",
            ]),
            false,
        ),
        (
            "the spec's results follow",
            vec![error.into(), "  (Results)".into()],
            false,
        ),
        (
            "the next spec starts",
            [
                vec![error.to_string()],
                cypress::spec_start(&Spec::passed("b.cy.js", 1), 2, 2),
            ]
            .concat(),
            false,
        ),
        (
            "a retry, then the error again",
            red(&[
                error,
                "We will retry 1 more time in 2 minutes...",
                "",
                error,
            ]),
            true,
        ),
    ];
    for (name, tail, fatal) in cases {
        for style in Style::variants() {
            let log = cypress::render(&after_running(&tail), style);
            for chunk in [7, 4096] {
                let (found, _) = scan(&log, chunk);
                assert_eq!(
                    found.is_some(),
                    fatal,
                    "{name}, {style:?}, chunks of {chunk}"
                );
            }
        }
    }
}

#[test]
fn an_error_line_ending_with_a_colon_takes_its_detail() {
    let lines = after_running(&red(&[
        "The launchOptions object returned by your plugin's before:browser:launch handler contained unexpected properties:",
        "",
        "- foo",
        "- bar",
        "",
        "launchOptions may only contain the properties:",
        "    at Object.<anonymous> (/x.js:1:1)",
        "- never this",
    ]));
    for style in Style::variants() {
        let (found, _) = scan(&cypress::render(&lines, style), 100);
        assert_eq!(
            found.as_deref(),
            Some(
                "The launchOptions object returned by your plugin's before:browser:launch handler contained unexpected properties: - foo - bar launchOptions may only contain the properties:"
            ),
            "{style:?}"
        );
    }
}

/// The end is certain at the next run or group marker: the error goes out before it.
#[test]
fn the_next_marker_makes_the_end_certain() {
    let error = "An error was thrown in your plugins file while executing the handler for the before:spec event.";
    for marker in [
        "ATVM_GROUP_START: windows",
        "ATVM_GROUP_END: linux FAILED",
        "ATVM_RUN_END: FAILED",
        "  (Run Starting)",
    ] {
        let mut lines = after_running(&red(&["", error, "", "Error: boom"]));
        lines.push(marker.into());
        for style in Style::variants() {
            let log = cypress::render(&lines, style);
            let (at_rest, events) = scan(&log, 333);
            let i = events
                .iter()
                .position(|e| matches!(e, Event::FatalError(_)))
                .unwrap_or_else(|| panic!("{marker}: no fatal error in {events:?}"));
            assert_eq!(events[i], Event::FatalError(error.into()), "{marker}");
            assert!(
                !matches!(events[i + 1], Event::FatalError(_) | Event::Progress { .. }),
                "{marker}: {events:?}"
            );
            assert_eq!(at_rest, None, "decided at the marker, not again at rest");
        }
    }
}

#[test]
fn a_rules_file_can_add_a_fatal_text() {
    let rules = Rules::from_json(r#"{"fatal_errors": ["Port 8080 is already in use."]}"#, "t")
        .expect("valid rules");
    let lines = after_running(&red(&["Port 8080 is already in use."]));
    let log = cypress::render(&lines, Style::ALL);
    let mut s = Scanner::new(&rules, Redactor::default());
    let mut out = Vec::new();
    s.feed(&log, &Bytes(&log), &mut out);
    assert_eq!(
        s.at_rest(&Bytes(&log)).as_deref(),
        Some("Port 8080 is already in use.")
    );
    let bad = Rules::from_json(r#"{"fatal_errors": ["  indented"]}"#, "f.json").unwrap_err();
    assert!(bad.to_string().contains("fatal_errors"), "{bad}");
}

/// What a scanner fed `log` in chunks of `chunk`, resting after each, finds at each rest.
fn rests(log: &[u8], chunk: usize) -> Vec<Option<String>> {
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let (mut out, mut found, mut read) = (Vec::new(), Vec::new(), 0);
    for c in log.chunks(chunk) {
        read += c.len();
        s.feed(c, &Bytes(&log[..read]), &mut out);
        found.push(s.at_rest(&Bytes(&log[..read])));
    }
    s.finish(&Bytes(log), &mut out);
    found.push(s.at_rest(&Bytes(log)));
    found
}

/// The watch rests after every read: each line is looked at once, and each rest answers
/// as one look over the whole log would. An unfinished line is no line yet.
#[test]
fn resting_after_every_read_answers_as_one_look() {
    let error = "Your configFile at /root/cdc/cypress.config.js set an invalid value:";
    let lines = after_running(&red(&[
        error,
        "",
        "Expected `retries` to be a number. Instead the value was: `\"two\"`",
        "    at validate (/x.js:1:1)",
    ]));
    let joined =
        format!("{error} Expected `retries` to be a number. Instead the value was: `\"two\"`");
    for style in Style::variants() {
        let mut log = cypress::render(&lines, style);
        let (once, _) = scan(&log, log.len());
        assert_eq!(once.as_deref(), Some(joined.as_str()), "{style:?}");
        assert_eq!(
            rests(&log, 1).last(),
            Some(&once),
            "{style:?}, byte by byte"
        );
        assert_eq!(rests(&log, 13).last(), Some(&once), "{style:?}, in chunks");
        // The error line without its line end, the run's process still writing it.
        log.truncate(log.len() - 1);
        let unfinished = cypress::render(&after_running(&red(&[error])), style);
        let unfinished = &unfinished[..unfinished.len() - 1];
        let found = rests(unfinished, 5);
        let (last, before) = found.split_last().unwrap();
        assert_eq!(before.last(), Some(&None), "{style:?}: not a line yet");
        assert_eq!(
            last.as_deref(),
            Some(error),
            "{style:?}: a line once finished"
        );
    }
}

/// Only the last `LOOKBACK` bytes since the last marker are read: an error further back
/// is gone; one inside the window is found with its detail, however the log arrived.
#[test]
fn the_window_keeps_the_last_lookback_bytes() {
    use crate::data::caps::LOOKBACK;
    let old = "An error was thrown in your plugins file while executing the handler for the before:run event.";
    let late = "Your configFile at /root/cdc/cypress.config.js set an invalid value:";
    let filler = |n: usize| {
        (0..n)
            .map(|i| format!("  log line {i:06}"))
            .collect::<Vec<_>>()
    };
    let lines_in = |bytes: u64| (bytes / 17) as usize + 1;
    let mut gone = after_running(&red(&[old]));
    gone.extend(filler(lines_in(LOOKBACK)));
    let mut found = after_running(&red(&[old]));
    found.extend(filler(lines_in(LOOKBACK / 2)));
    found.extend(red(&[
        late,
        "  the value of retries",
        "    at validate (/x.js:1:1)",
    ]));
    found.extend(filler(lines_in(LOOKBACK / 2) + 40));
    for (lines, want) in [
        (gone, None),
        (found, Some(format!("{late} the value of retries"))),
    ] {
        let log = cypress::render(&lines, Style::PLAIN);
        for chunk in [log.len(), 4096, 1000] {
            assert_eq!(rests(&log, chunk).last(), Some(&want), "chunks of {chunk}");
        }
    }
}
