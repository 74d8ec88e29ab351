//! What the post tells about a failure (CONTRACT §9, issue 12): the failure digest,
//! spec-level reasons, flaky tests, Cypress output in odd shapes (a crash during a retry,
//! two tests with one title, an entry without a first error line), categorized runs, the
//! mention on failure, the 4000-character cap, what state.json and `status --json` keep.
//! Real binary, real log files written in the shape of Cypress 12.17.4
//! (tests/support/cypress.rs), fake Mattermost on 127.0.0.1. Every post received is
//! rendered with a CommonMark parser (tests/support/post.rs) and checked: one heading, the
//! table stays a table, each list item one line, no link, image, HTML, code or mention that
//! did not come from the configuration.

use crate::support::cypress::{self, Failure, Flaky, SpecError, SpecRun, Test};
use crate::support::post::{Post, assert_item, assert_items, finish, next_second, one, parse_post};
use crate::support::*;
use serde_json::{Value, json};
use std::fs;
use std::path::PathBuf;

const MENTION_VAR: &str = "MATTERMOST_ATVM_MENTION_ON_FAILURE";

// ---------------------------------------------------------------------------------------
// What the state must keep, and texts for the tests.

fn specs_json(specs: &[SpecRun]) -> Value {
    specs
        .iter()
        .map(|s| {
            let r = s.row();
            json!({
                "name": r.name, "tests": r.tests, "passed": r.passing, "failed": r.failing,
                "pending": r.pending, "skipped": r.skipped, "duration": r.duration,
            })
        })
        .collect()
}

/// A kept text: equal when at most 300 characters, else a cut of it (≤ 300 characters).
fn assert_capped(got: &Value, want: Option<&str>, what: &str) {
    match want {
        None => assert!(got.is_null(), "{what}: {got} should be null"),
        Some(w) if w.chars().count() <= 300 => assert_eq!(got, w, "{what}"),
        Some(w) => {
            let g = got.as_str().unwrap_or_else(|| panic!("{what}: {got}"));
            let stem = g.trim_end_matches('…');
            assert!(
                g.chars().count() <= 300 && stem.chars().count() >= 200 && w.starts_with(stem),
                "{what}: {g:?} is not a cut of {w:?} to at most 300 characters"
            );
        }
    }
}

fn assert_failures(got: &Value, expected: &[Failure]) {
    let a = got
        .as_array()
        .unwrap_or_else(|| panic!("failures should be a list: {got}"));
    assert_eq!(a.len(), expected.len(), "failures: {got:#}");
    for (g, e) in a.iter().zip(expected) {
        assert_eq!(g["spec"], e.spec.as_str(), "{g}");
        assert_capped(&g["title"], e.title.as_deref(), "title");
        assert_capped(&g["error"], e.error.as_deref(), "error");
    }
}

/// `title` is the full title; a test's own title (all the retry lines carry) is accepted.
fn assert_flaky(got: &Value, expected: &[Flaky]) {
    let a = got
        .as_array()
        .unwrap_or_else(|| panic!("flaky should be a list: {got}"));
    assert_eq!(a.len(), expected.len(), "flaky: {got:#}");
    for (g, e) in a.iter().zip(expected) {
        assert_eq!(g["spec"], e.spec.as_str(), "{g}");
        assert!(
            g["title"] == e.title.as_str() || g["title"] == e.own_title.as_str(),
            "{g}: title should be {:?}",
            e.title
        );
        assert_eq!(g["attempts"], e.attempts, "{g}");
    }
}

fn tests_row(specs: &[SpecRun]) -> String {
    let (mut t, mut p, mut f, mut pe, mut s) = (0, 0, 0, 0, 0);
    for r in specs.iter().map(SpecRun::row) {
        t += r.tests;
        p += r.passing;
        f += r.failing;
        pe += r.pending;
        s += r.skipped;
    }
    format!("{t} tests: {p} passed, {f} failed, {pe} pending, {s} skipped")
}

/// `n` characters of title-like text with characters that Markdown escaping doubles.
fn long_text(prefix: &str, n: usize) -> String {
    let filler = "_migrates_the_*data*_disk_of_vm_[07]_with_@ops_watching;";
    let mut s = prefix.to_string();
    while s.chars().count() < n {
        s.push_str(filler);
    }
    s.chars().take(n).collect()
}

// ---------------------------------------------------------------------------------------
// The specs of the tests.

const CY_VISIT: [&str; 12] = [
    "CypressError: `cy.visit()` failed trying to load:",
    "",
    "/atvm/inventory.html",
    "",
    "2) Check that the inventory service answers on the appliance",
    "",
    "We failed looking for this file at the path:",
    "",
    "/root/cdc-e2e-cyp-12.17.4/atvm/inventory.html",
    "",
    "  > 404: Not Found",
    "Because this error occurred during a `before each` hook we are skipping the remaining tests in the current suite: `failing hook`",
];

const LONG_SPEC: &str =
    "migrate/windows_server_2022_dynamic_disks_uefi_secure_boot_with_tpm_passthrough.cy.js";

/// A failing run: nested suites, a failed hook with a multi-line CypressError, a one-part
/// title, an error ending in `:`, a 400-character error line, a wrapped spec name.
fn failing_specs() -> Vec<SpecRun> {
    let long_error = format!("Error: {}", long_text("disk ", 400 - 7));
    vec![
        SpecRun::new(
            "login.cy.js",
            vec![
                Test::passed(&["Login", "shows the form"]),
                Test::failed(
                    &["Login", "logs in"],
                    &["AssertionError: expected 1 to equal 2"],
                ),
                Test::pending(&["Login", "remembers the user"]),
                Test::hook_failed(&["Login", "failing hook"], "before each", "is failing", &CY_VISIT),
                Test::failed(
                    &["Login", "with SSO", "on a new tab", "redirects to the portal"],
                    &[
                        "AssertionError: Timed out retrying after 4000ms: expected '<div#portal>' to be 'visible'",
                        "",
                        "This element `<div#portal>` is not visible because it has CSS property: `display: none`",
                    ],
                ),
            ],
        )
        .with_skipped(2)
        .with_duration("754ms"),
        SpecRun::new(
            "inventory.cy.js",
            vec![
                Test::passed(&["Inventory", "lists the VMs"]),
                Test::passed(&["Inventory", "filters by host"]),
                Test::passed(&["Inventory", "exports CSV"]),
            ],
        )
        .with_duration("00:41"),
        SpecRun::new(
            "uncaught.cy.js",
            vec![Test::failed(
                &["An uncaught error was detected outside of a test"],
                &[
                    "ReferenceError: The following error originated from your test code, not from Cypress.",
                    "",
                    "  > foo is not defined",
                    "",
                    "When Cypress detects uncaught errors originating from your test code it will automatically fail the current test.",
                ],
            )],
        ),
        SpecRun::new(
            LONG_SPEC,
            vec![
                Test::passed(&["Windows", "powers on"]),
                Test::failed(&["Windows", "boots after migration"], &[long_error.as_str()]),
                Test::failed(
                    &["Windows", "reports the migration"],
                    &[
                        "CypressError: Timed out retrying after 5000ms: `cy.wait()` timed out waiting `5000ms` for the 1st request to the route:",
                        "`migrate`. No request ever occurred.",
                    ],
                ),
                Test::failed(&["is reachable over RDP"], &["Error: connect ECONNREFUSED 10.0.0.7:3389"]),
            ],
        )
        .with_duration("1:02:03"),
    ]
}

fn check_failing_post(post: &Post, specs: &[SpecRun], build: &str) {
    post.assert_essentials("FAILED", build);
    let tests = post.row("Tests").unwrap();
    assert!(tests.contains(&tests_row(specs)), "{tests:?}");
    let expected = cypress::failures_of(specs);
    let (head, items) = post.failed_tests();
    assert!(head.contains(&expected.len().to_string()), "{head:?}");
    assert_eq!(items.len(), expected.len(), "{items:#?}");
    assert_items(&items, &expected, "new");
    // Each error's first line; only a line that ends with `:` takes the lines after it
    // (contract §9 v3), within the 300 characters.
    for gone in ["This element", "foo is not defined"] {
        assert!(
            !post.text().contains(gone),
            "{gone:?} is not an error's first line:\n{}",
            post.raw
        );
    }
    for joined in [
        "/atvm/inventory.html",
        "`migrate`. No request ever occurred.",
    ] {
        assert!(
            post.text().contains(joined),
            "{joined:?} follows a line that ends with `:`:\n{}",
            post.raw
        );
    }
    assert!(
        !post.raw.to_lowercase().contains("flaky"),
        "a run without retries says nothing about flakiness:\n{}",
        post.raw
    );
}

fn check_failing_state(st: &Value, specs: &[SpecRun]) {
    assert_eq!(st["status"], "FAILED");
    assert_eq!(st["specs"], specs_json(specs), "specs: one per summary row");
    assert_failures(&st["failures"], &cypress::failures_of(specs));
    assert_eq!(st["flaky"], json!([]), "no retries, no flaky tests");
}

// ---------------------------------------------------------------------------------------
// Failure lists, spec-level reasons, flaky tests.

#[test]
fn failing_run_lists_each_failing_test_in_every_style() {
    let specs = failing_specs();
    let lines = cypress::detailed_run(&specs, "1:04:40");
    for (i, style) in Style::variants().into_iter().enumerate() {
        let sb = Sandbox::new("digest-fail");
        let hook = FakeMattermost::start();
        let build = format!("nightly-{i}");
        let post = if style == Style::ALL {
            // Streamed in pieces cut anywhere, while the watcher follows.
            let bytes = cypress::render(&lines, style);
            let mut w = sb.watch(&hook, &build, &[]);
            let cuts = [0, bytes.len() / 3 + 7, bytes.len() * 2 / 3 + 3, bytes.len()];
            for c in cuts.windows(2) {
                sb.append(&build, &bytes[c[0]..c[1]]);
            }
            assert_eq!(w.code(), 0, "{}", w.stderr());
            one(hook
                .received()
                .iter()
                .map(|r| parse_post(&r.text(), &[]))
                .collect())
        } else {
            one(finish(&sb, &hook, &build, &lines, style, &[], &[]))
        };
        check_failing_post(&post, &specs, &build);
        check_failing_state(&sb.state(&build), &specs);
    }
}

#[test]
fn more_than_ten_failures_show_ten_and_the_state_keeps_fifty() {
    let sb = Sandbox::new("digest-many");
    let hook = FakeMattermost::start();
    for (build, n) in [("thirteen", 13usize), ("sixty", 60)] {
        let specs: Vec<SpecRun> = (0..n.div_ceil(10))
            .map(|s| {
                let tests = (0..10.min(n - s * 10))
                    .map(|t| {
                        Test::failed(
                            &["Many", &format!("case {s}-{t}")],
                            &[&format!(
                                "AssertionError: expected case {} to pass",
                                letters(s * 10 + t)
                            )],
                        )
                    })
                    .collect();
                SpecRun::new(&format!("{build}-{s}.cy.js"), tests)
            })
            .collect();
        let post = one(finish(
            &sb,
            &hook,
            build,
            &cypress::detailed_run(&specs, "03:10"),
            Style::ALL,
            &[],
            &[],
        ));
        let expected = cypress::failures_of(&specs);
        let (head, items) = post.failed_tests();
        assert!(head.contains(&n.to_string()), "{head:?}");
        assert_eq!(
            items.len(),
            11,
            "ten tests, then one `… and N more`: {items:#?}"
        );
        assert_items(&items[..10], &expected[..10], "new");
        assert!(
            items[10].starts_with('…') && items[10].contains(&format!("and {} more", n - 10)),
            "{:?}",
            items[10]
        );
        let st = sb.state(build);
        assert_failures(&st["failures"], &expected[..n.min(50)]);
        assert_eq!(st["specs"], specs_json(&specs));
    }
}

#[test]
fn spec_level_failures_give_their_reason_line() {
    let specs = vec![
        SpecRun::errored("bundle.cy.js", SpecError::BundleError),
        SpecRun::new("fine.cy.js", vec![Test::passed(&["Fine", "works"])]),
        SpecRun::errored("renderer.cy.js", SpecError::RendererCrash),
        SpecRun::errored("chrome.cy.js", SpecError::BrowserCrash),
        SpecRun::errored("never_connected.cy.js", SpecError::NeverConnected),
        SpecRun::errored("silent.cy.js", SpecError::NoReason),
        SpecRun::new(
            "after_the_crashes.cy.js",
            vec![Test::failed(
                &["After", "still runs"],
                &["Error: still failing"],
            )],
        ),
    ];
    let lines = cypress::detailed_run(&specs, "09:12");
    let expected = cypress::failures_of(&specs);
    assert_eq!(expected[0].title, None);
    assert_eq!(expected[4].error, None);
    for (i, style) in Style::variants().into_iter().enumerate() {
        let sb = Sandbox::new("digest-reasons");
        let hook = FakeMattermost::start();
        let build = format!("reasons-{i}");
        let post = one(finish(&sb, &hook, &build, &lines, style, &[], &[]));
        post.assert_essentials("FAILED", &build);
        let (_, items) = post.failed_tests();
        assert_eq!(items.len(), expected.len(), "{items:#?}");
        assert_items(&items, &expected, "new");
        assert!(
            !post.text().contains("SyntaxError"),
            "the first Error line, not the SyntaxError"
        );
        let st = sb.state(&build);
        assert_eq!(st["specs"], specs_json(&specs));
        assert_failures(&st["failures"], &expected);
        for row in st["specs"].as_array().unwrap() {
            if row["name"] != "fine.cy.js" && row["name"] != "after_the_crashes.cy.js" {
                assert_eq!(
                    (row["tests"].clone(), row["failed"].clone()),
                    (json!(0), json!(1))
                );
            }
        }
    }
}

fn flaky_specs(failing: bool) -> Vec<SpecRun> {
    let mut specs = vec![
        SpecRun::new(
            "retry.cy.js",
            vec![
                Test::passed(&["Retries", "passes at once"]),
                Test::flaky(&["Retries", "fail twice"], 3, 3),
                Test::flaky(&["Retries", "fail once"], 2, 3),
            ],
        ),
        SpecRun::new(
            "retry_more.cy.js",
            (0..5)
                .map(|i| {
                    Test::flaky(
                        &["More retries", "deep", &format!("wobbly {i}")],
                        2 + i % 2,
                        4,
                    )
                })
                .collect(),
        ),
    ];
    if failing {
        specs = vec![SpecRun::new(
            "retry.cy.js",
            vec![
                Test::flaky(&["Retries", "fail once"], 2, 3),
                Test::failed_every_attempt(
                    &["Retries", "always fails"],
                    3,
                    &["AssertionError: expected 'Stopped' to equal 'Running'"],
                ),
            ],
        )];
    }
    specs
}

#[test]
fn retries_count_and_name_the_flaky_tests() {
    let sb = Sandbox::new("digest-flaky");
    let hook = FakeMattermost::start();

    // COMPLETED with seven flaky tests: counted, the first five named.
    let specs = flaky_specs(false);
    let flaky = cypress::flaky_of(&specs);
    assert_eq!(flaky.len(), 7);
    let lines = cypress::detailed_run(&specs, "02:00");
    let post = one(finish(&sb, &hook, "flaky-ok", &lines, Style::ALL, &[], &[]));
    post.assert_essentials("COMPLETED", "flaky-ok");
    assert!(post.text().contains("7 flaky"), "{}", post.raw);
    assert!(
        post.row("Tests").unwrap().contains("7 flaky"),
        "{}",
        post.raw
    );
    assert!(post.section("Failed tests").is_none());
    let (_, items) = post.section("Flaky").expect("a Flaky section");
    assert!(
        items.len() == 5 || items.len() == 6,
        "first five named: {items:#?}"
    );
    for (item, f) in items.iter().zip(&flaky[..5]) {
        assert!(item.starts_with(&f.spec), "{item:?}");
        assert!(
            item.contains(&f.own_title),
            "{item:?} should name {}",
            f.own_title
        );
        assert!(
            item.contains(&format!("attempt {}", f.attempts)),
            "{item:?}: passed on attempt {}",
            f.attempts
        );
    }
    for f in &flaky[5..] {
        assert!(
            !post.text().contains(&f.own_title),
            "only the first five are named"
        );
    }
    let st = sb.state("flaky-ok");
    assert_eq!(st["status"], "COMPLETED");
    assert_flaky(&st["flaky"], &flaky);
    assert_eq!(st["failures"], json!([]));
    assert_eq!(st["specs"], specs_json(&specs));

    // FAILED: one flaky test, one that failed every attempt (a failure, not flaky).
    let specs = flaky_specs(true);
    let lines = cypress::detailed_run(&specs, "02:00");
    let post = one(finish(
        &sb,
        &hook,
        "flaky-failed",
        &lines,
        Style::PLAIN,
        &[],
        &[],
    ));
    post.assert_essentials("FAILED", "flaky-failed");
    assert!(
        post.row("Tests").unwrap().contains("1 flaky"),
        "{}",
        post.raw
    );
    let (_, items) = post.failed_tests();
    assert_eq!(items.len(), 1);
    assert_item(&items[0], &cypress::failures_of(&specs)[0], "new");
    let (_, items) = post.section("Flaky").expect("a Flaky section");
    assert_eq!(items.len(), 1, "{items:#?}");
    assert!(
        items[0].contains("fail once") && items[0].contains("attempt 2"),
        "{items:?}"
    );
    let st = sb.state("flaky-failed");
    assert_flaky(&st["flaky"], &cypress::flaky_of(&specs));
    assert_failures(&st["failures"], &cypress::failures_of(&specs));
}

// ---------------------------------------------------------------------------------------
// Cypress output in odd shapes, one spec each, watched with --dry-run.

/// A Cypress run of one spec `name` whose mocha output is `body` (plain lines after the
/// `Running:` header), failing `failing` of `tests`; the spec's row and the footer follow.
fn one_spec_log(name: &str, body: &[&str], tests: u32, failing: u32) -> Vec<u8> {
    let spec = if failing > 0 {
        Spec::failed(name, tests, failing)
    } else {
        Spec::passed(name, tests)
    };
    let mut lines = cypress::run_starting(std::slice::from_ref(&spec));
    lines.extend(cypress::running_header(name, 1, 1));
    lines.extend(body.iter().map(|s| s.to_string()));
    lines.push("  (Results)".into());
    lines.extend(cypress::run_finished(std::slice::from_ref(&spec), "00:10"));
    cypress::render(&lines, Style::PLAIN)
}

/// Watches a finished log with `--dry-run` (state kept under the sandbox's state root);
/// returns the state and the printed message.
fn dry_run(sb: &Sandbox, build: &str, log: &[u8]) -> (Value, String) {
    sb.append(build, log);
    let out = sb.run(None, &["--build-name", build, "--dry-run"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        sb.state(build),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The renderer crashes while a test is being retried (`(Attempt 1 of 3)` printed, the
/// second attempt never ends): Cypress prints its crash text and the spec fails without a
/// failure list. Contract §9: such a spec is kept with "its reason line", which is in the
/// log; the open retry swallows it, and the failure is recorded with `error: null`.
#[test]
fn a_crash_during_a_retry_keeps_its_reason() {
    let sb = Sandbox::new("crash-retry");
    let log = one_spec_log(
        "crash.cy.js",
        &[
            "",
            "  Inventory",
            "    (Attempt 1 of 3) imports the inventory",
            "",
            "We detected that the Chromium Renderer process just crashed.",
            "",
            "This can happen for a number of different reasons.",
            "",
        ],
        1,
        1,
    );
    let (st, _) = dry_run(&sb, "hc1", &log);
    assert_eq!(
        st["failures"],
        json!([{
            "spec": "crash.cy.js",
            "title": null,
            "error": "We detected that the Chromium Renderer process just crashed."
        }])
    );
}

/// Two failing tests with the same title (mocha allows it: a test defined in a loop, or
/// twice in a suite) are two entries of the failure list. Contract §9: the post lists
/// "its failing tests". The restart de-duplication (`failures.contains`) merges them: the
/// state keeps one and the post says "… and 1 more" for a test it could have shown.
#[test]
fn two_failing_tests_with_the_same_title_are_both_kept() {
    let sb = Sandbox::new("dup-title");
    let log = one_spec_log(
        "dup.cy.js",
        &[
            "",
            "  Migration",
            "    1) checks the VM",
            "    2) checks the VM",
            "",
            "",
            "  0 passing (4s)",
            "  2 failing",
            "",
            "  1) Migration",
            "       checks the VM:",
            "     Error: VM not found",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/dup.cy.js:5:9)",
            "",
            "  2) Migration",
            "       checks the VM:",
            "     Error: VM not found",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/dup.cy.js:5:9)",
            "",
            "",
        ],
        2,
        2,
    );
    let (st, msg) = dry_run(&sb, "hd1", &log);
    let entry = json!({"spec": "dup.cy.js", "title": "Migration › checks the VM", "error": "Error: VM not found"});
    assert_eq!(st["failures"], json!([entry, entry]), "message:\n{msg}");
}

/// A retried test whose title ends in `s)` and that passed without a duration suffix
/// (mocha prints `(123ms)` only for slow tests): `passed_title` takes `(2 VMs)` for a
/// duration, the `✓` line no longer matches the `(Attempt` title, and the flaky test is
/// not counted (contract §9: "A test that passed after (Attempt k of M) lines was
/// retried").
#[test]
fn a_flaky_title_ending_in_s_paren_is_counted() {
    let sb = Sandbox::new("flaky-paren");
    let log = one_spec_log(
        "fl.cy.js",
        &[
            "",
            "  Hosts",
            "    (Attempt 1 of 2) migrates both hosts (2 VMs)",
            "    ✓ migrates both hosts (2 VMs)",
            "",
            "",
            "  1 passing (9s)",
            "",
            "",
        ],
        1,
        0,
    );
    let (st, msg) = dry_run(&sb, "hf1", &log);
    assert_eq!(
        st["flaky"],
        json!([{"spec": "fl.cy.js", "title": "Hosts › migrates both hosts (2 VMs)", "attempts": 2}]),
        "message:\n{msg}"
    );
}

/// An error whose message starts with a line break (`throw new Error('\nexpected ...')`):
/// mocha prints five blanks and nothing else where the first line would be. The entry
/// then never ends, `next` stays 1, entry 2's title lines are glued onto entry 1 and
/// entry 2's error is given to it: one test lost, the other with a wrong title and error,
/// and every later entry of the list lost the same way. One odd entry must not corrupt the
/// rest of the list.
#[test]
fn an_entry_without_a_first_error_line_does_not_swallow_the_next() {
    let sb = Sandbox::new("empty-error");
    let log = one_spec_log(
        "nl.cy.js",
        &[
            "",
            "  S",
            "    1) first",
            "    2) second",
            "",
            "",
            "  0 passing (4s)",
            "  2 failing",
            "",
            "  1) S",
            "       first:",
            "     ",
            "expected the VM to be running",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/nl.cy.js:5:9)",
            "",
            "  2) S",
            "       second:",
            "     Error: second failed",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/nl.cy.js:9:9)",
            "",
            "",
        ],
        2,
        2,
    );
    let (st, msg) = dry_run(&sb, "hn1", &log);
    let titles: Vec<&str> = st["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap_or("<none>"))
        .collect();
    assert_eq!(titles, ["S › first", "S › second"], "message:\n{msg}");
    assert_eq!(st["failures"][1]["error"], "Error: second failed");
}

// ---------------------------------------------------------------------------------------
// Categorized runs, the mention, status and dry runs, the size cap, escaping.

#[test]
fn categorized_groups_post_their_own_failures_and_the_request_sums_them() {
    let sb = Sandbox::new("digest-groups");
    let hook = FakeMattermost::start();
    let groups: Vec<(&str, Vec<SpecRun>)> = vec![
        (
            "linux",
            vec![SpecRun::new(
                "linux/rhel9.cy.js",
                vec![
                    Test::passed(&["RHEL 9", "boots"]),
                    Test::failed(
                        &["RHEL 9", "migrates the data disk"],
                        &["Error: disk sdb missing"],
                    ),
                ],
            )],
        ),
        (
            "windows",
            vec![
                SpecRun::new(
                    "windows/server2022.cy.js",
                    vec![
                        Test::failed(&["Server 2022", "activates"], &["Error: KMS unreachable"]),
                        Test::flaky(&["Server 2022", "joins the domain"], 2, 2),
                    ],
                ),
                SpecRun::new(
                    "windows/server2019.cy.js",
                    vec![Test::hook_failed(
                        &["Server 2019"],
                        "before all",
                        "installs the agent",
                        &["Error: snapshot restore failed"],
                    )],
                ),
            ],
        ),
        (
            "appliance",
            vec![SpecRun::new(
                "appliance/ova.cy.js",
                vec![
                    Test::flaky(&["OVA", "imports"], 3, 3),
                    Test::passed(&["OVA", "boots"]),
                ],
            )],
        ),
    ];
    let mut lines = vec!["[atvm] ATVM_GROUPS: linux,windows,appliance".to_string()];
    for (g, specs) in &groups {
        lines.push(format!("[atvm] ATVM_GROUP_START: {g}"));
        lines.extend(cypress::detailed_run(specs, "04:00"));
        let failed = specs.iter().any(|s| !s.failures().is_empty());
        lines.push(format!(
            "[atvm] ATVM_GROUP_END: {g} {}",
            if failed { "FAILED" } else { "COMPLETED" }
        ));
    }
    lines.push("[atvm] ATVM_RUN_END: FAILED".into());
    let posts = finish(
        &sb,
        &hook,
        "grouped",
        &lines,
        Style::ALL,
        &["--categorize"],
        &[],
    );
    assert_eq!(posts.len(), 3);
    let all_failures: Vec<Failure> = groups
        .iter()
        .flat_map(|(_, s)| cypress::failures_of(s))
        .collect();
    for ((g, specs), post) in groups.iter().zip(&posts) {
        let own = cypress::failures_of(specs);
        if own.is_empty() {
            post.assert_essentials("COMPLETED", "grouped");
            assert!(post.section("Failed tests").is_none());
        } else {
            post.assert_essentials("FAILED", "grouped");
            let (_, items) = post.failed_tests();
            assert_eq!(items.len(), own.len(), "{g}: {items:#?}");
            assert_items(&items, &own, "new");
        }
        for f in all_failures.iter().filter(|f| !own.contains(f)) {
            assert!(
                !post.text().contains(f.title.as_deref().unwrap()),
                "{g}'s post shows another group's failure {f:?}:\n{}",
                post.raw
            );
        }
        let flaky = cypress::flaky_of(specs);
        if flaky.is_empty() {
            assert!(
                !post.raw.to_lowercase().contains("flaky"),
                "{g}: {}",
                post.raw
            );
        } else {
            assert!(
                post.text().contains(&format!("{} flaky", flaky.len())),
                "{g}: {}",
                post.raw
            );
        }
    }
    // Each sub-run keeps its own; the request sums them.
    for (i, (g, specs)) in groups.iter().enumerate() {
        let s = sb.sub_state("grouped", &format!("{:02}-{g}", i + 1));
        assert_eq!(s["specs"], specs_json(specs), "{g}");
        assert_failures(&s["failures"], &cypress::failures_of(specs));
        assert_flaky(&s["flaky"], &cypress::flaky_of(specs));
    }
    let st = sb.state("grouped");
    let sorted = |v: &Value| {
        let mut a: Vec<String> = v
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|x| x.to_string())
            .collect();
        a.sort();
        a
    };
    let all_specs: Vec<SpecRun> = groups.iter().flat_map(|(_, s)| s.clone()).collect();
    assert_eq!(sorted(&st["specs"]), sorted(&specs_json(&all_specs)));
    let want_failures: Value = all_failures
        .iter()
        .map(|f| json!({"spec": f.spec, "title": f.title, "error": f.error}))
        .collect();
    assert_eq!(sorted(&st["failures"]), sorted(&want_failures));
    let flaky = cypress::flaky_of(&all_specs);
    assert_eq!(
        st["flaky"].as_array().map(Vec::len),
        Some(flaky.len()),
        "{}",
        st["flaky"]
    );
}

fn mention_specs(fails: bool) -> Vec<SpecRun> {
    let t = ["Mentions", "@channel ping @here"];
    vec![SpecRun::new(
        "mention.cy.js",
        vec![if fails {
            Test::failed(&t, &["Error: @all the things <!channel> failed"])
        } else {
            Test::passed(&t)
        }],
    )]
}

#[test]
fn mention_on_failure_only_on_failed_posts_and_log_text_mentions_nobody() {
    let mut sb = Sandbox::new("digest-mention");
    sb.env.push((MENTION_VAR.into(), "@qa-oncall".into()));
    let hook = FakeMattermost::start();
    let post = one(finish(
        &sb,
        &hook,
        "m-failed",
        &cypress::detailed_run(&mention_specs(true), "00:10"),
        Style::PLAIN,
        &[],
        &["qa-oncall"],
    ));
    post.assert_essentials("FAILED", "m-failed");
    assert_eq!(
        post.mentions(),
        vec!["qa-oncall".to_string()],
        "{}",
        post.raw
    );
    let (_, items) = post.failed_tests();
    // Shown, but neutralised (parse_post allowed no @channel, @here, @all).
    assert!(items[0].contains("@channel ping @here"), "{items:?}");
    next_second();
    let post = one(finish(
        &sb,
        &hook,
        "m-completed",
        &cypress::detailed_run(&mention_specs(false), "00:10"),
        Style::PLAIN,
        &[],
        &[],
    ));
    post.assert_essentials("COMPLETED", "m-completed");
    assert!(
        !post.raw.contains("qa-oncall"),
        "no mention on COMPLETED:\n{}",
        post.raw
    );

    let mut sb = Sandbox::new("digest-mention2");
    sb.env.push((MENTION_VAR.into(), "@alice, @bob".into()));
    let post = one(finish(
        &sb,
        &hook,
        "m-two",
        &cypress::detailed_run(&mention_specs(true), "00:10"),
        Style::ALL,
        &[],
        &["alice", "bob"],
    ));
    let mut m = post.mentions();
    m.sort();
    assert_eq!(
        m,
        vec!["alice".to_string(), "bob".to_string()],
        "{}",
        post.raw
    );
}

/// `MATTERMOST_ATVM_MENTION_ON_FAILURE` is validated name by name but not in length: 500
/// valid names (5,500 characters) are accepted at start-up, then the FAILED post is cut
/// at 3,999 characters in the middle of the mention list. The counts table and the host
/// are gone (contract §9: "the digest gives way first, never the status, build, counts or
/// host") and the last, cut name (`@user036…`) mentions somebody else, who may exist.
/// Either refuse such a value at start-up (exit 2) or keep the post's promises with it.
#[test]
fn a_long_mention_list_never_crowds_out_the_counts_or_the_host() {
    let mut sb = Sandbox::new("long-mention");
    let names: Vec<String> = (0..500).map(|i| format!("@user{i:04}")).collect();
    sb.env
        .push(("MATTERMOST_ATVM_MENTION_ON_FAILURE".into(), names.join(",")));
    let hook = FakeMattermost::start();
    sb.append_lines("lm1", &crate::support::failed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "lm1", &[]);
    let code = w.code();
    if code == 2 {
        return; // refused at start-up: fine
    }
    assert_eq!(code, 0, "{}", w.stderr());
    let text = hook.delivered()[0].text();
    assert!(text.chars().count() < 4000);
    assert!(text.contains("| Tests |"), "no counts in the post:\n{text}");
    assert!(text.contains("Controller:"), "no host in the post:\n{text}");
    for word in text.split([' ', ',', '\n']).filter(|w| w.starts_with('@')) {
        let w = word.trim_end_matches('…');
        assert!(
            names.iter().any(|n| n == w) && !word.ends_with('…'),
            "a mention that was not configured: {word:?}"
        );
    }
}

const BAD_MENTIONS: [&str; 5] = ["qa-oncall", "@", "@-x", "@all!", "@a;rm"];

fn assert_refused(code: Option<i32>, stderr: &[u8], what: &str) {
    let err = String::from_utf8_lossy(stderr);
    assert_eq!(code, Some(2), "{what}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{what}: one line: {err}");
    assert!(lines[0].contains(MENTION_VAR), "{what}: {err}");
    assert!(!err.contains(mattermost::HOOK_ID), "{what}: {err}");
}

/// A sandbox for `start` and `check-webhook`: a stub systemctl and an environment file
/// holding the webhook, the state root and (when given) the mention.
fn with_env_file(name: &str, hook_url: &str) -> (Sandbox, PathBuf) {
    let mut sb = Sandbox::new(name);
    let calls = sb.stub_systemctl();
    write_env_file(&mut sb, hook_url, None);
    (sb, calls)
}

fn write_env_file(sb: &mut Sandbox, hook_url: &str, mention: Option<&str>) {
    let mut text = sb.env_text(hook_url);
    if let Some(m) = mention {
        text.push_str(&format!("{MENTION_VAR}={m}\n"));
    }
    sb.env_file(&text);
}

#[test]
fn an_invalid_mention_is_refused_at_start_up() {
    let hook = FakeMattermost::start();

    // watch
    for bad in BAD_MENTIONS {
        let mut sb = Sandbox::new("digest-badmention");
        sb.env.push((MENTION_VAR.into(), bad.into()));
        sb.append_lines(
            "bm",
            &cypress::detailed_run(&mention_specs(true), "00:10"),
            Style::PLAIN,
        );
        let out = sb.run(Some(&hook.url()), &["--build-name", "bm"]);
        assert_refused(out.status.code(), &out.stderr, &format!("watch {bad:?}"));
        assert_eq!(
            fs::read_dir(&sb.state_root).unwrap().count(),
            0,
            "nothing created"
        );
    }
    assert_eq!(hook.received().len(), 0);

    // start (the environment file) and check-webhook (the same file)
    let (mut sb, calls) = with_env_file("digest-badmention-start", &hook.url());
    for bad in BAD_MENTIONS {
        write_env_file(&mut sb, &hook.url(), Some(bad));
        let out = sb.run(None, &["start", "--build-name", "bm"]);
        assert_refused(out.status.code(), &out.stderr, &format!("start {bad:?}"));
        let out = sb.run(None, &["check-webhook"]);
        assert_refused(
            out.status.code(),
            &out.stderr,
            &format!("check-webhook {bad:?}"),
        );
    }
    assert!(
        !calls.exists(),
        "systemctl must not run: {:?}",
        fs::read_to_string(&calls)
    );
    assert_eq!(fs::read_dir(&sb.state_root).unwrap().count(), 0);

    // check-webhook without an environment file checks this shell's environment.
    let mut bare = Sandbox::new("digest-badmention-shell");
    bare.env.push((
        "ATVM_WATCHER_ENV_FILE".into(),
        bare.root.join("absent.env").to_string_lossy().into(),
    ));
    bare.env.push((MENTION_VAR.into(), "@a;rm".into()));
    let out = bare.run(Some(&hook.url()), &["check-webhook"]);
    assert_refused(
        out.status.code(),
        &out.stderr,
        "check-webhook from the environment",
    );

    // Valid values pass all three.
    for good in ["@qa-oncall", "@alice, @bob", "@alice @bob", "@a.b_c-9"] {
        write_env_file(&mut sb, &hook.url(), Some(good));
        let out = sb.run(None, &["check-webhook"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{good:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    write_env_file(&mut sb, &hook.url(), Some("@qa-oncall"));
    let out = sb.run(None, &["start", "--build-name", "bm"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(&calls).unwrap().trim(),
        "start atvm-run-watcher@bm.service"
    );
}

#[test]
fn status_json_and_a_dry_run_carry_the_digest() {
    let sb = Sandbox::new("digest-status");
    let hook = FakeMattermost::start();
    let specs = vec![
        SpecRun::new(
            "status.cy.js",
            vec![
                Test::failed(
                    &["Status", "shows red"],
                    &["AssertionError: expected 'red' to equal 'green'"],
                ),
                Test::flaky(&["Status", "shows amber"], 2, 2),
            ],
        ),
        SpecRun::errored("status_crash.cy.js", SpecError::RendererCrash),
    ];
    let lines = cypress::detailed_run(&specs, "00:30");
    let _ = one(finish(
        &sb,
        &hook,
        "st-real",
        &lines,
        Style::PLAIN,
        &[],
        &[],
    ));
    let st = sb.state("st-real");
    let out = sb.run(None, &["status", "--json", "--build-name", "st-real"]);
    assert_eq!(out.status.code(), Some(0));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &rows[0];
    for k in ["specs", "failures", "flaky"] {
        assert!(row[k].is_array(), "status --json lacks {k}: {row:#}");
        assert_eq!(row[k], st[k], "status --json {k}");
    }
    assert_failures(&row["failures"], &cypress::failures_of(&specs));
    assert_flaky(&row["flaky"], &cypress::flaky_of(&specs));

    sb.append_lines("st-dry", &lines, Style::ALL);
    let out = sb.run(None, &["--build-name", "st-dry", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "shows red",
        "expected 'red' to equal 'green'",
        "Chromium Renderer process just crashed",
        "1 flaky",
    ] {
        assert!(
            stdout.contains(want),
            "{want:?} missing from the dry run's message:\n{stdout}"
        );
    }
    let st = sb.state("st-dry");
    assert_eq!(st["dry_run"], true);
    assert_failures(&st["failures"], &cypress::failures_of(&specs));
    assert_eq!(st["specs"], specs_json(&specs));
    assert_eq!(hook.received().len(), 1, "the dry run posted nothing");
}

#[test]
fn fifty_long_failures_keep_the_post_under_4000_characters() {
    let mut sb = Sandbox::new("digest-4000");
    sb.env.push((MENTION_VAR.into(), "@qa-oncall".into()));
    let hook = FakeMattermost::start();
    let build = long_text("nightly", 200).replace(['*', '[', ']', '@', ';'], "x");
    let specs: Vec<SpecRun> = (0..5)
        .map(|s| {
            let tests = (0..10)
                .map(|t| {
                    let suite = format!("Suite {s}{t}");
                    let own = long_text(&format!("t{s}{t}"), 300 - suite.chars().count() - 3);
                    let error = format!(
                        "AssertionError: {}",
                        long_text(&format!("e{}", letters(s * 10 + t)), 300 - 16)
                    );
                    Test::failed(&[&suite, &own], &[&error])
                })
                .collect();
            SpecRun::new(
                &format!("{}_{s}.cy.js", long_text("atvm/migrate/spec", 60)),
                tests,
            )
        })
        .collect();
    let expected = cypress::failures_of(&specs);
    assert!(
        expected
            .iter()
            .all(|f| f.title.as_ref().unwrap().chars().count() == 300
                && f.error.as_ref().unwrap().chars().count() == 300)
    );
    let long_opt = long_text("opt", 300);
    let args = [
        "--template",
        long_opt.as_str(),
        "--config-family",
        long_opt.as_str(),
        "--migration-style",
        long_opt.as_str(),
        "--integration-plugin",
        long_opt.as_str(),
        "--scope-description",
        long_opt.as_str(),
    ];
    let post = one(finish(
        &sb,
        &hook,
        &build,
        &cypress::detailed_run(&specs, "7:01:02"),
        Style::ALL,
        &args,
        &["qa-oncall"],
    ));
    post.assert_essentials("FAILED", &build);
    assert!(
        post.row("Tests")
            .unwrap()
            .contains("50 tests: 0 passed, 50 failed"),
        "{}",
        post.raw
    );
    assert_eq!(post.mentions(), vec!["qa-oncall".to_string()]);
    let (_, items) = post.failed_tests();
    let shown = items.len() - 1;
    assert!(shown >= 1, "at least one failure fits:\n{}", post.raw);
    assert!(shown <= 10);
    for (item, f) in items[..shown].iter().zip(&expected) {
        assert!(item.starts_with(&f.spec), "{item:?}");
    }
    assert!(
        items[shown].starts_with('…') && items[shown].contains(&format!("and {} more", 50 - shown)),
        "{:?}",
        items[shown]
    );
    let st = sb.state(&build);
    assert_failures(&st["failures"], &expected);
}

#[test]
fn text_from_the_log_cannot_inject_markdown() {
    let sb = Sandbox::new("digest-inject");
    let hook = FakeMattermost::start();
    let evil_titles = [
        "[click](http://evil.example/x) ![img](http://evil.example/i.png) <http://evil.example>",
        "# not a heading **bold** _em_ ~~strike~~ `code` | pipe | \\ backslash",
        "<img src=x onerror=alert(1)> <!channel> @all @here",
    ];
    let specs = vec![SpecRun::new(
        "weird_[x]_@here.cy.js",
        vec![
            Test::failed(
                &["Inject", evil_titles[0]],
                &["Error: see [docs](http://evil.example/docs) @channel"],
            ),
            Test::failed(
                &["Inject", evil_titles[1]],
                &["Error: ## boom | x | `y` *z*"],
            ),
            Test::failed(&[evil_titles[2]], &["- Error: <b>bold</b> 1. two"]),
        ],
    )];
    let post = one(finish(
        &sb,
        &hook,
        "inject",
        &cypress::detailed_run(&specs, "00:05"),
        Style::PLAIN,
        &[],
        &[],
    ));
    post.assert_essentials("FAILED", "inject");
    let (_, items) = post.failed_tests();
    assert_eq!(items.len(), 3, "{items:#?}");
    // What was escaped reads back as the original text.
    assert_items(&items, &cypress::failures_of(&specs), "new");
}

/// Issue 12: "no untrusted text becomes a mention, link or heading". Mattermost links a
/// bare `https://...` or `www....` in a post's text; an error line from the log that
/// carries a URL is shown as it is, in a code span, and links nowhere.
#[test]
fn a_url_in_an_error_line_is_not_a_live_link() {
    let sb = Sandbox::new("autolink");
    let log = one_spec_log(
        "link.cy.js",
        &[
            "",
            "  Login",
            "    1) signs in",
            "",
            "",
            "  0 passing (4s)",
            "  1 failing",
            "",
            "  1) Login",
            "       signs in:",
            "     AssertionError: expected https://phish.example/login or www.phish.example to be the portal",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/link.cy.js:5:9)",
            "",
            "",
        ],
        1,
        1,
    );
    let (st, msg) = dry_run(&sb, "hl1", &log);
    assert!(
        st["failures"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("phish")),
        "{st:#}"
    );
    // parse_post fails on any link (found.links), mention or layout change.
    let post = parse_post(&dry_run_posts(&msg)[0], &[]);
    let (_, items) = post.failed_tests();
    assert!(
        items[0].contains(
            "AssertionError: expected https://phish.example/login or www.phish.example to be the portal"
        ),
        "the error is shown as it is: {items:?}"
    );
}

/// The checks above can fail: the layout of the post passes them; text that Mattermost
/// would show otherwise (a mention, a link, formatting, a broken table or list) does not.
#[test]
fn the_post_checks_accept_the_layout_and_catch_broken_markdown() {
    let good = "#### :x: ATVM run FAILED · `nightly-42`\n@qa-oncall\n\n| | |\n|:--|:--|\n\
        | Template | `rhel9` |\n| Tests | 16 tests: 14 passed, 2 failed, 1 pending, 0 skipped · 2 flaky |\n\
        | Duration | `01:02` |\n\n**Failed tests** (3):\n\
        - `login.cy.js` › `Login › logs in`: `AssertionError: expected 1 to equal 2` · new\n\
        - `login.cy.js` › `Login › \"before each\" hook for \"is failing\"`: ``CypressError: `cy.visit()` failed trying to load:`` · also failed in `nightly-41`\n\
        - `crash.cy.js` · new\n- … and 2 more\n\n**Flaky** (2):\n\
        - `retry.cy.js` › `Suite › fail twice` (passed on attempt 3)\n\n\
        **Fixed since `nightly-41`** (1):\n- `login.cy.js` › `Login › works again`\n\n\
        Controller: `host` · Log: `/path/nightly-42.log`";
    let p = parse_post(good, &["qa-oncall"]);
    p.assert_essentials("FAILED", "nightly-42");
    assert_eq!(p.mentions(), vec!["qa-oncall".to_string()]);
    assert!(p.row("Tests").unwrap().contains("2 flaky"));
    let (head, items) = p.failed_tests();
    assert_eq!((head.as_str(), items.len()), ("Failed tests (3):", 4));
    let hook = Failure {
        spec: "login.cy.js".into(),
        title: Some("Login › \"before each\" hook for \"is failing\"".into()),
        error: Some("CypressError: `cy.visit()` failed trying to load:".into()),
    };
    assert_item(&items[1], &hook, "also failed in nightly-41");
    let crash = Failure {
        spec: "crash.cy.js".into(),
        title: None,
        error: None,
    };
    assert_item(&items[2], &crash, "new");
    assert_eq!(p.section("Fixed since").unwrap().1.len(), 1);

    let item = "- `login.cy.js` › `Login › logs in`: `AssertionError: expected 1 to equal 2` · new";
    let broken = [
        good.replace(item, "- `x.cy.js` › ping @channel · new"),
        good.replace(item, "- `x.cy.js` › `a` @alice · new"),
        good.replace(item, "- `x.cy.js` › [a](http://evil.example) · new"),
        good.replace(item, "- `x.cy.js` › ![i](http://evil.example/i.png) · new"),
        good.replace(item, "- `x.cy.js` › see https://evil.example/x · new"),
        good.replace(item, "- `x.cy.js` › see www.evil.example · new"),
        good.replace(item, "- `x.cy.js` › <http://evil.example> · new"),
        good.replace(item, "- `x.cy.js` › `<!channel>` · new"),
        good.replace(item, "- `x.cy.js` › `<https://evil.example|docs>` · new"),
        good.replace(item, "- `x.cy.js` › ~town-square · new"),
        good.replace(item, "- `x.cy.js` › #hashtag · new"),
        good.replace(item, "- `x.cy.js` › qa@evil.example · new"),
        good.replace(item, "- `x.cy.js` › :smile: · new"),
        good.replace(item, "- `x.cy.js` › _em_ x · new"),
        good.replace(item, "- `x.cy.js` › **b** · new"),
        good.replace(item, "- `x.cy.js` › a\n  continued · new"),
        good.replace(item, "- `x.cy.js` ›\n#### heading"),
        good.replace(item, "- `x.cy.js`\n\n1. ordered"),
        good.replace(item, "- `x.cy.js`\n\n> quote"),
        good.replace(item, "- `x.cy.js`\n\n```\nfence\n```"),
        good.replace("|:--|:--|\n", ""),
        good.replace(
            "**Flaky** (2):",
            "| a | b |\n|--|--|\n| c | d |\n\n**Flaky** (2):",
        ),
        good.replace("Controller: `host`", &"x".repeat(4000)),
        good.replace("@qa-oncall", "@alice"),
    ];
    for bad in broken {
        let r = std::panic::catch_unwind(|| parse_post(&bad, &["qa-oncall"]));
        assert!(r.is_err(), "not caught:\n{bad}");
    }
}
