//! Integration tests of what the post tells about a failure (CONTRACT §9, issue 12): the
//! failure digest, spec-level reasons, flaky tests, "is it new" across builds, categorized
//! runs, the mention on failure, what state.json keeps. Real binary, real log files
//! written in the shape of Cypress 12.17.4 (tests/support/cypress.rs), fake Mattermost on
//! 127.0.0.1. Every post received is rendered with a CommonMark parser (GFM tables) and
//! checked: one heading, the table stays a table, each list item one line, no link, image,
//! HTML, code or mention that did not come from the configuration.

mod support;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde_json::{Value, json};
use std::fs;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};
use support::cypress::{self, Failure, Flaky, SpecError, SpecRun, Test};
use support::*;

const MENTION_VAR: &str = "MATTERMOST_ATVM_MENTION_ON_FAILURE";
const ZWSP: char = '\u{200b}';

// ---------------------------------------------------------------------------------------
// The post, as a CommonMark renderer sees it.

#[derive(Debug, Clone, PartialEq)]
enum Block {
    Heading(String),
    Para(String),
    /// Rows of cells (the head row first).
    Table(Vec<Vec<String>>),
    /// One string per item.
    List(Vec<String>),
}

#[derive(Debug)]
struct Post {
    raw: String,
    blocks: Vec<Block>,
}

/// Text as shown, without the zero-width spaces that break mentions.
fn clean(s: &str) -> String {
    s.replace(ZWSP, "")
}

/// Names mentioned in rendered text: `@` then a letter or digit, as Mattermost reads it.
fn mentions_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '@' && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric()) {
            let name: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .collect();
            out.push(name.trim_end_matches(['.', '_', '-']).to_string());
        }
    }
    out
}

/// Renders `raw` and checks the layout rules every post must keep; `mentions` are the
/// names the configuration asked for (the only ones allowed to appear).
fn parse_post(raw: &str, mentions: &[&str]) -> Post {
    assert!(
        raw.chars().count() < 4000,
        "post of {} characters:\n{raw}",
        raw.chars().count()
    );
    let mut blocks = Vec::new();
    let mut text = String::new();
    let mut row: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut items: Vec<String> = Vec::new();
    let mut list_depth = 0;
    let mut in_item = false;
    let mut strong_in_item = 0;
    let mut headings = 0;
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for ev in Parser::new_ext(raw, opts) {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                headings += 1;
                assert!(
                    headings == 1 && blocks.is_empty() && level == HeadingLevel::H4,
                    "only the first line may be a heading (####):\n{raw}"
                );
                text.clear();
            }
            Event::End(TagEnd::Heading(_)) => {
                blocks.push(Block::Heading(std::mem::take(&mut text)))
            }
            Event::Start(Tag::Paragraph) => {
                if !in_item {
                    text.clear();
                }
            }
            Event::End(TagEnd::Paragraph) => {
                if !in_item {
                    blocks.push(Block::Para(std::mem::take(&mut text)));
                }
            }
            Event::Start(Tag::Table(_)) => rows.clear(),
            Event::Start(Tag::TableHead) | Event::Start(Tag::TableRow) => row.clear(),
            Event::End(TagEnd::TableHead) | Event::End(TagEnd::TableRow) => {
                rows.push(std::mem::take(&mut row))
            }
            Event::Start(Tag::TableCell) => text.clear(),
            Event::End(TagEnd::TableCell) => row.push(std::mem::take(&mut text)),
            Event::End(TagEnd::Table) => blocks.push(Block::Table(std::mem::take(&mut rows))),
            Event::Start(Tag::List(first)) => {
                assert!(first.is_none(), "an ordered list appeared:\n{raw}");
                list_depth += 1;
                assert_eq!(list_depth, 1, "a nested list appeared:\n{raw}");
                items.clear();
            }
            Event::End(TagEnd::List(_)) => {
                list_depth -= 1;
                blocks.push(Block::List(std::mem::take(&mut items)));
            }
            Event::Start(Tag::Item) => {
                in_item = true;
                strong_in_item = 0;
                text.clear();
            }
            Event::End(TagEnd::Item) => {
                in_item = false;
                assert!(
                    strong_in_item <= 1,
                    "more than one bold span in a list item (injected **?): {text:?}"
                );
                items.push(std::mem::take(&mut text));
            }
            Event::Start(Tag::Strong) => {
                if in_item {
                    strong_in_item += 1;
                }
            }
            Event::End(TagEnd::Strong) => {}
            Event::Text(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => {
                assert!(!in_item, "a list item spans two lines: {text:?}\n{raw}");
                text.push('\n');
            }
            other => panic!("unexpected Markdown construct {other:?} in the post:\n{raw}"),
        }
    }
    assert_eq!(headings, 1, "the post needs its heading line:\n{raw}");
    let tables = blocks
        .iter()
        .filter(|b| matches!(b, Block::Table(_)))
        .count();
    assert_eq!(tables, 1, "the table must stay one table:\n{raw}");
    let item_count: usize = blocks
        .iter()
        .map(|b| match b {
            Block::List(i) => i.len(),
            _ => 0,
        })
        .sum();
    let dash_lines = raw.lines().filter(|l| l.starts_with("- ")).count();
    assert_eq!(
        item_count, dash_lines,
        "each `- ` line must be exactly one list item:\n{raw}"
    );
    for b in &blocks {
        let texts: Vec<&String> = match b {
            Block::Heading(t) | Block::Para(t) => vec![t],
            Block::Table(rows) => rows.iter().flatten().collect(),
            Block::List(items) => items.iter().collect(),
        };
        for t in texts {
            assert!(!t.contains("<!"), "a Slack-style <!...> mention: {t:?}");
            for m in mentions_in(t) {
                assert!(
                    mentions.contains(&m.as_str()),
                    "@{m} would be mentioned (allowed: {mentions:?}) by {t:?}"
                );
            }
        }
    }
    Post {
        raw: raw.to_string(),
        blocks,
    }
}

impl Post {
    fn heading(&self) -> String {
        match &self.blocks[0] {
            Block::Heading(h) => clean(h),
            b => panic!("first block is not the heading: {b:?}"),
        }
    }

    fn table(&self) -> Vec<Vec<String>> {
        self.blocks
            .iter()
            .find_map(|b| match b {
                Block::Table(r) => Some(r.clone()),
                _ => None,
            })
            .unwrap()
    }

    /// The value cell of the table row labelled `label`.
    fn row(&self, label: &str) -> Option<String> {
        self.table()
            .iter()
            .find(|r| r.first().map(|c| clean(c)) == Some(label.to_string()))
            .map(|r| {
                assert_eq!(r.len(), 2, "table row {r:?}");
                clean(&r[1])
            })
    }

    /// The paragraph starting with `prefix` and the list right after it.
    fn section(&self, prefix: &str) -> Option<(String, Vec<String>)> {
        let i = self
            .blocks
            .iter()
            .position(|b| matches!(b, Block::Para(p) if clean(p).starts_with(prefix)))?;
        let Block::Para(p) = &self.blocks[i] else {
            unreachable!()
        };
        match self.blocks.get(i + 1) {
            Some(Block::List(items)) => Some((clean(p), items.iter().map(|s| clean(s)).collect())),
            other => panic!(
                "{prefix:?} is not followed by a list but {other:?}:\n{}",
                self.raw
            ),
        }
    }

    /// Everything shown, as text.
    fn text(&self) -> String {
        let mut s = String::new();
        for b in &self.blocks {
            match b {
                Block::Heading(t) | Block::Para(t) => s.push_str(t),
                Block::Table(rows) => {
                    for c in rows.iter().flatten() {
                        s.push_str(c);
                        s.push_str(" | ");
                    }
                }
                Block::List(items) => {
                    for i in items {
                        s.push_str(i);
                        s.push('\n');
                    }
                }
            }
            s.push('\n');
        }
        clean(&s)
    }

    /// The names mentioned anywhere in the post.
    fn mentions(&self) -> Vec<String> {
        let mut m = Vec::new();
        for b in &self.blocks {
            if let Block::Heading(t) | Block::Para(t) = b {
                m.extend(mentions_in(t));
            }
        }
        m
    }

    fn failed_tests(&self) -> (String, Vec<String>) {
        self.section("Failed tests")
            .unwrap_or_else(|| panic!("no **Failed tests** section:\n{}", self.raw))
    }

    /// Status, build, counts and host: what the digest may never push out.
    fn assert_essentials(&self, status: &str, build: &str) {
        let h = self.heading();
        assert!(
            h.contains(&format!("ATVM run {status}")) && h.contains(build),
            "heading {h:?}"
        );
        assert!(self.row("Tests").is_some(), "no Tests row:\n{}", self.raw);
        let last = self.blocks.last().unwrap();
        assert!(
            matches!(last, Block::Para(p) if p.contains("Controller:") && p.contains("Log:")),
            "the host line must end the post:\n{}",
            self.raw
        );
    }
}

// ---------------------------------------------------------------------------------------
// What the digest must say, from the fixture.

/// `item` reports failure `f` with `mark` (`new`, `also failed in <build>`) at its end.
fn assert_item(item: &str, f: &Failure, mark: &str) {
    assert!(
        item.starts_with(&f.spec),
        "{item:?} should start with {}",
        f.spec
    );
    if let Some(t) = &f.title {
        assert!(item.contains(t.as_str()), "{item:?} lacks the title {t:?}");
    }
    match &f.error {
        Some(e) if e.chars().count() <= 300 => {
            assert!(item.contains(e.as_str()), "{item:?} lacks the error {e:?}")
        }
        Some(e) => {
            let head: String = e.chars().take(200).collect();
            assert!(
                item.contains(&head) && !item.contains(e.as_str()),
                "{item:?}: the error line, cut to 300 characters"
            );
        }
        None => {
            let rest = item.replacen(&f.spec, "", 1).replace(mark, "");
            assert!(
                !rest.chars().any(char::is_alphanumeric),
                "{item:?}: a spec without a reason is listed by its name alone"
            );
        }
    }
    assert!(
        item.trim_end().ends_with(mark),
        "{item:?} should end with {mark:?}"
    );
}

/// The first items of `items` report `expected`, in log order, each marked `mark`.
fn assert_items(items: &[String], expected: &[Failure], mark: &str) {
    assert!(items.len() >= expected.len(), "{items:#?}");
    for (item, f) in items.iter().zip(expected) {
        assert_item(item, f, mark);
    }
}

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

// ---------------------------------------------------------------------------------------
// Running builds.

/// Writes the whole log, runs the watcher to its end, returns the posts it made.
fn finish(
    sb: &Sandbox,
    hook: &FakeMattermost,
    build: &str,
    lines: &[String],
    style: Style,
    args: &[&str],
    mentions: &[&str],
) -> Vec<Post> {
    let before = hook.received().len();
    sb.append_lines(build, lines, style);
    let mut w = sb.watch(hook, build, args);
    assert_eq!(w.code(), 0, "{build}: {}", w.stderr());
    hook.received()[before..]
        .iter()
        .map(|r| parse_post(&r.text(), mentions))
        .collect()
}

fn one(mut posts: Vec<Post>) -> Post {
    assert_eq!(posts.len(), 1, "{posts:#?}");
    posts.remove(0)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits for the next second, so that the next build finishes strictly later.
fn next_second() {
    let s = now_secs();
    wait_until("the next second", WAIT, || now_secs() > s);
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
    // Only each error's first line: none of the continuation lines.
    for gone in [
        "/atvm/inventory.html",
        "2) Check that",
        "404",
        "foo is not defined",
        "`migrate`. No request",
    ] {
        assert!(
            !post.text().contains(gone),
            "{gone:?} is not an error's first line:\n{}",
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
// The tests.

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
                            &[&format!("AssertionError: expected case {s}-{t} to pass")],
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

fn history_spec(t_fails: bool, v_fails: bool, extra_failing: Option<&str>) -> SpecRun {
    let test = |title: &str, fails: bool| {
        if fails {
            Test::failed(
                &["History", title],
                &[&format!("AssertionError: {title} broke")],
            )
        } else {
            Test::passed(&["History", title])
        }
    };
    let mut tests = vec![
        test("flips", t_fails),
        test("stays broken", v_fails),
        test("always fine", false),
    ];
    if let Some(x) = extra_failing {
        tests.push(test(x, true));
    }
    SpecRun::new("history.cy.js", tests)
}

#[test]
fn three_builds_in_a_row_new_then_also_failed_then_fixed() {
    let sb = Sandbox::new("digest-history");
    let hook = FakeMattermost::start();
    let other = |fails: bool| {
        SpecRun::new(
            "other.cy.js",
            vec![if fails {
                Test::failed(&["Other", "imports"], &["Error: import failed"])
            } else {
                Test::passed(&["Other", "imports"])
            }],
        )
    };

    // Build 1: T fails, new.
    let b1 = vec![history_spec(true, false, None)];
    let post = one(finish(
        &sb,
        &hook,
        "nightly-41",
        &cypress::detailed_run(&b1, "01:00"),
        Style::PLAIN,
        &[],
        &[],
    ));
    let (_, items) = post.failed_tests();
    assert_eq!(items.len(), 1);
    assert_items(&items, &cypress::failures_of(&b1), "new");
    next_second();

    // A dry run in between (T passes, V fails): never history.
    let out = {
        sb.append_lines(
            "nightly-41-dry",
            &cypress::detailed_run(&[history_spec(false, true, None)], "01:00"),
            Style::PLAIN,
        );
        sb.run(None, &["--build-name", "nightly-41-dry", "--dry-run"])
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sb.state("nightly-41-dry")["dry_run"], true);
    // Damaged and foreign states are skipped, never fatal.
    fs::create_dir_all(sb.build_dir("damaged")).unwrap();
    fs::write(sb.build_dir("damaged").join("state.json"), b"{ nope").unwrap();
    fs::create_dir_all(sb.build_dir("foreign")).unwrap();
    fs::write(
        sb.build_dir("foreign").join("state.json"),
        br#"{"schema": 99, "specs": 7}"#,
    )
    .unwrap();
    next_second();

    // Build 2: T fails again, V fails for the first time, other.cy.js is new.
    let b2 = vec![history_spec(true, true, None), other(true)];
    let post = one(finish(
        &sb,
        &hook,
        "nightly-42",
        &cypress::detailed_run(&b2, "01:00"),
        Style::ALL,
        &[],
        &[],
    ));
    let expected = cypress::failures_of(&b2);
    let (_, items) = post.failed_tests();
    assert_eq!(items.len(), 3, "{items:#?}");
    assert_item(&items[0], &expected[0], "also failed in nightly-41");
    assert_item(&items[1], &expected[1], "new");
    assert_item(&items[2], &expected[2], "new");
    assert!(post.section("Fixed since").is_none(), "{}", post.raw);
    next_second();

    // An unfinished build (stopped while running) with a failure of its own, and a later
    // dry run where everything passes: neither is history.
    let mut half = cypress::run_starting(&[history_spec(false, false, Some("half only")).row()]);
    half.extend(history_spec(false, false, Some("half only")).lines(1, 1));
    sb.append_lines("nightly-42-half", &half, Style::PLAIN);
    let mut w = sb.watch(&hook, "nightly-42-half", &[]);
    let size = fs::metadata(sb.log("nightly-42-half")).unwrap().len();
    wait_until("the unfinished build read its log", WAIT, || {
        sb.try_state("nightly-42-half")
            .is_some_and(|s| s["log_position"]["offset"] == size)
    });
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(sb.state("nightly-42-half")["status"], "RUNNING");
    sb.append_lines(
        "nightly-42-dry",
        &cypress::detailed_run(&[history_spec(false, false, None), other(false)], "01:00"),
        Style::PLAIN,
    );
    let out = sb.run(None, &["--build-name", "nightly-42-dry", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    next_second();

    // Build 3: everything passes; the tests that failed in build 2 are fixed since it.
    let b3 = vec![history_spec(false, false, None), other(false)];
    let post = one(finish(
        &sb,
        &hook,
        "nightly-43",
        &cypress::detailed_run(&b3, "01:00"),
        Style::PLAIN,
        &[],
        &[],
    ));
    post.assert_essentials("COMPLETED", "nightly-43");
    assert!(post.section("Failed tests").is_none());
    let (head, items) = post
        .section("Fixed since")
        .unwrap_or_else(|| panic!("no Fixed since section:\n{}", post.raw));
    assert!(
        head.starts_with("Fixed since nightly-42") && !head.contains("nightly-42-"),
        "{head:?}"
    );
    assert_eq!(items.len(), 3, "{items:#?}");
    for f in &expected {
        let title = f.title.as_deref().unwrap();
        assert!(
            items
                .iter()
                .any(|i| i.starts_with(&f.spec) && i.contains(title)),
            "{f:?} is not listed as fixed: {items:#?}"
        );
    }
    let text = post.text();
    assert!(
        !text.contains("half") && !text.contains("dry"),
        "{}",
        post.raw
    );
    assert_eq!(sb.state("nightly-43")["failures"], json!([]));
}

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
                        long_text(&format!("e{s}{t}"), 300 - 16)
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

/// The checks above can fail: the layout of the post passes them, broken Markdown does not.
#[test]
fn the_post_checks_accept_the_layout_and_catch_broken_markdown() {
    let good = "#### :x: ATVM run FAILED · nightly-42\n@qa-oncall\n\n| | |\n|:--|:--|\n\
        | Template | rhel9 |\n| Tests | 16 tests: 14 passed, 2 failed, 1 pending, 0 skipped · 2 flaky |\n\
        | Duration | 01:02 |\n\n**Failed tests** (3):\n\
        - **login.cy.js** › Login › logs in: AssertionError: expected 1 to equal 2 · new\n\
        - **login.cy.js** › Login › \"before each\" hook for \"is failing\": CypressError: \\`cy.visit()\\` failed trying to load: · also failed in nightly-41\n\
        - **crash.cy.js** · new\n- … and 2 more\n\n**Flaky** (2):\n\
        - **retry.cy.js** › Suite › fail twice (passed on attempt 3)\n\n\
        **Fixed since nightly-41** (1):\n- **login.cy.js** › Login › works again\n\n\
        Controller: host · Log: /path/nightly-42.log";
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

    let item = "- **login.cy.js** › Login › logs in: AssertionError: expected 1 to equal 2 · new";
    let broken = [
        good.replace(item, "- **x.cy.js** › ping @channel · new"),
        good.replace(item, "- **x.cy.js** › [a](http://evil.example) · new"),
        good.replace(
            item,
            "- **x.cy.js** › ![i](http://evil.example/i.png) · new",
        ),
        good.replace(item, "- **x.cy.js** › <http://evil.example> · new"),
        good.replace(item, "- **x.cy.js** › <!channel> · new"),
        good.replace(item, "- **x.cy.js** › <b>x</b> · new"),
        good.replace(item, "- **x.cy.js** › `code` · new"),
        good.replace(item, "- **x.cy.js** › _em_ x · new"),
        good.replace(item, "- **x.cy.js** › **b** · new"),
        good.replace(item, "- **x.cy.js** › a\n  continued · new"),
        good.replace(item, "- **x.cy.js** ›\n#### heading"),
        good.replace(item, "- **x.cy.js**\n\n1. ordered"),
        good.replace(item, "- **x.cy.js**\n  - nested"),
        good.replace("|:--|:--|\n", ""),
        good.replace(
            "**Flaky** (2):",
            "| a | b |\n|--|--|\n| c | d |\n\n**Flaky** (2):",
        ),
        good.replace("Controller: host", &"x".repeat(4000)),
        good.replace("@qa-oncall", "@alice"),
    ];
    for bad in broken {
        let r = std::panic::catch_unwind(|| parse_post(&bad, &["qa-oncall"]));
        assert!(r.is_err(), "not caught:\n{bad}");
    }
}
