//! Builds `cypress run` output (Cypress 12.17.4 shape) for the tests: the `(Run Starting)`
//! box, one block per spec with its `(Results)` box, the `(Run Finished)` table with wrapped
//! names and the footer row; optionally with forced colour (codes around every box
//! character and inside the markers, as Cypress prints under CI), CRLF line ends and
//! timestamp prefixes. Used by unit tests (through `#[path]`), integration tests and the
//! fixture files under tests/fixtures.

// The matcher's unit tests (src/heart/matcher/tests.rs) include this file by path and use
// only part of it (`render_plain` only they use); the integration tests use the rest.
#![allow(dead_code)]

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    pub tests: u32,
    pub passing: u32,
    pub failing: u32,
    pub pending: u32,
    pub skipped: u32,
    pub duration: String,
}

impl Spec {
    pub fn passed(name: &str, tests: u32) -> Spec {
        Spec {
            name: name.into(),
            tests,
            passing: tests,
            failing: 0,
            pending: 0,
            skipped: 0,
            duration: "00:12".into(),
        }
    }

    pub fn failed(name: &str, tests: u32, failing: u32) -> Spec {
        Spec {
            name: name.into(),
            tests,
            passing: tests - failing,
            failing,
            pending: 0,
            skipped: 0,
            duration: "01:04".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub colour: bool,
    pub crlf: bool,
    pub timestamps: bool,
}

impl Style {
    pub const PLAIN: Style = Style {
        colour: false,
        crlf: false,
        timestamps: false,
    };
    pub const ALL: Style = Style {
        colour: true,
        crlf: true,
        timestamps: true,
    };

    /// Every combination of the three switches.
    pub fn variants() -> Vec<Style> {
        (0..8)
            .map(|b| Style {
                colour: b & 1 != 0,
                crlf: b & 2 != 0,
                timestamps: b & 4 != 0,
            })
            .collect()
    }
}

const W: usize = 100;

fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

fn rpad_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width {
        s.to_string()
    } else {
        format!("{}{s}", " ".repeat(width - n))
    }
}

fn chunks(s: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(width).map(|c| c.iter().collect()).collect()
}

fn box_top() -> String {
    format!("  ┌{}┐", "─".repeat(W - 4))
}
fn box_mid() -> String {
    format!("  ├{}┤", "─".repeat(W - 4))
}
fn box_bottom() -> String {
    format!("  └{}┘", "─".repeat(W - 4))
}
fn box_line(content: &str) -> String {
    format!("  │{}│", pad(content, W - 4))
}

fn count(n: u32) -> String {
    if n == 0 { "-".into() } else { n.to_string() }
}

pub fn divider() -> String {
    "=".repeat(W)
}

/// ATVM's own set-up lines, printed before Cypress starts.
pub fn atvm_preamble(build: &str) -> Vec<String> {
    vec![
        format!("[atvm] build {build}: preparing migration environment"),
        "[atvm] restoring VM snapshots (3 hosts)".into(),
        "[atvm] npx cypress run --browser electron --headless".into(),
        String::new(),
    ]
}

pub fn run_starting(specs: &[Spec]) -> Vec<String> {
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let found = format!(" Specs:      {} found ({})", specs.len(), names.join(", "));
    let mut v = vec![
        String::new(),
        divider(),
        String::new(),
        "  (Run Starting)".into(),
        String::new(),
        box_top(),
        box_line(" Cypress:        12.17.4"),
        box_line(" Browser:        Electron 106 (headless)"),
        box_line(" Node Version:   v18.17.1 (/usr/bin/node)"),
    ];
    for (i, part) in chunks(&found, W - 5).into_iter().enumerate() {
        v.push(box_line(&if i == 0 {
            part
        } else {
            format!("             {part}")
        }));
    }
    v.push(box_line(" Searched:     cypress/e2e/atvm/**/*.cy.js"));
    v.push(box_bottom());
    v.push(String::new());
    v
}

/// The `Running:` header and the mocha lines of one spec, without its results.
pub fn spec_start(spec: &Spec, index: usize, total: usize) -> Vec<String> {
    let tag = format!("({index} of {total})");
    let room = W - 12 - tag.len();
    let parts = chunks(&spec.name, room - 2);
    let mut v = vec![String::new(), "─".repeat(W), " ".repeat(W)];
    v.push(format!("  Running:  {}{}", pad(&parts[0], room), tag));
    for p in &parts[1..] {
        v.push(format!("            {}", pad(p, W - 12)));
    }
    v.push(String::new());
    v.push(format!("  {}", spec.name.trim_end_matches(".cy.js")));
    for t in 0..spec.passing {
        v.push(format!("    ✓ migrates workload {t} (1532ms)"));
    }
    for t in 0..spec.failing {
        v.push(format!("    {}) verifies migrated workload {t}", t + 1));
    }
    for t in 0..spec.pending {
        v.push(format!("    - pending check {t}"));
    }
    v
}

/// The end of one spec: mocha totals and the `(Results)` box.
pub fn spec_results(spec: &Spec) -> Vec<String> {
    let mut v = vec![
        String::new(),
        String::new(),
        format!("  {} passing (12s)", spec.passing),
    ];
    if spec.failing > 0 {
        v.push(format!("  {} failing", spec.failing));
    }
    v.extend([String::new(), String::new()]);
    v.extend(results_box(spec));
    v
}

/// The `(Results)` marker and box of one spec (what follows the mocha output).
fn results_box(spec: &Spec) -> Vec<String> {
    let mut v = vec!["  (Results)".to_string(), String::new(), box_top()];
    for (k, n) in [
        ("Tests", spec.tests),
        ("Passing", spec.passing),
        ("Failing", spec.failing),
        ("Pending", spec.pending),
        ("Skipped", spec.skipped),
        ("Screenshots", spec.failing),
    ] {
        v.push(box_line(&format!(" {}{n}", pad(&format!("{k}:"), 14))));
    }
    v.push(box_line(" Video:        false"));
    v.push(box_line(&format!(" Duration:     {}", spec.duration)));
    v.push(box_line(&format!(" Spec Ran:     {}", spec.name)));
    v.push(box_bottom());
    v.push(String::new());
    v
}

pub fn spec_block(spec: &Spec, index: usize, total: usize) -> Vec<String> {
    let mut v = spec_start(spec, index, total);
    v.extend(spec_results(spec));
    v
}

fn row(symbol: &str, name: &str, duration: &str, n: [u32; 5]) -> Vec<String> {
    let parts = chunks(name, 35);
    let counts: String = n.iter().map(|c| rpad_left(&count(*c), 9)).collect();
    let mut v = vec![format!(
        "  │ {symbol}  {}{}{} │",
        pad(&parts[0], 35),
        rpad_left(duration, 11),
        counts
    )];
    for p in &parts[1..] {
        v.push(format!("  │    {}│", pad(p, W - 7)));
    }
    v
}

fn sum(specs: &[Spec]) -> [u32; 5] {
    let mut t = [0; 5];
    for s in specs {
        for (i, n) in [s.tests, s.passing, s.failing, s.pending, s.skipped]
            .into_iter()
            .enumerate()
        {
            t[i] += n;
        }
    }
    t
}

/// The `(Run Finished)` table and its footer: `All specs passed!` or `N of M failed (P%)`.
pub fn run_finished(specs: &[Spec], total_duration: &str) -> Vec<String> {
    let failed = specs.iter().filter(|s| s.failing > 0).count();
    let footer_text = if failed == 0 {
        "All specs passed!".to_string()
    } else {
        format!(
            "{failed} of {} failed ({}%)",
            specs.len(),
            failed * 100 / specs.len()
        )
    };
    let sym = if failed == 0 { "✔" } else { "✖" };
    finished_table(specs, sym, &footer_text, total_duration, |s| {
        if s.failing > 0 { "✖" } else { "✔" }
    })
}

/// A recorded run cancelled from the Cypress cloud: rows say SKIPPED for specs not run.
pub fn run_canceled(ran: &[Spec], skipped: &[&str]) -> Vec<String> {
    let mut specs: Vec<Spec> = skipped
        .iter()
        .map(|n| Spec {
            duration: "SKIPPED".into(),
            ..Spec::passed(n, 0)
        })
        .collect();
    specs.extend(ran.iter().cloned());
    finished_table(&specs, "-", "The run was canceled", "00:41", |s| {
        if s.duration == "SKIPPED" { "-" } else { "✔" }
    })
}

fn finished_table(
    specs: &[Spec],
    sym: &str,
    footer: &str,
    dur: &str,
    row_sym: impl Fn(&Spec) -> &'static str,
) -> Vec<String> {
    let mut v = vec![
        String::new(),
        divider(),
        String::new(),
        "  (Run Finished)".into(),
        String::new(),
        String::new(),
        "       Spec                                              Tests  Passing  Failing  Pending  Skipped  ".into(),
        box_top(),
    ];
    for (i, s) in specs.iter().enumerate() {
        if i > 0 {
            v.push(box_mid());
        }
        v.extend(row(
            row_sym(s),
            &s.name,
            &s.duration,
            [s.tests, s.passing, s.failing, s.pending, s.skipped],
        ));
    }
    v.push(box_bottom());
    let counts: String = sum(specs)
        .iter()
        .map(|c| rpad_left(&count(*c), 9))
        .collect();
    v.push(format!(
        "    {sym}  {}{}{}  ",
        pad(footer, 35),
        rpad_left(dur, 11),
        counts
    ));
    v.push(String::new());
    v.push(String::new());
    v
}

/// A whole Cypress run: start box, every spec, summary.
pub fn run(specs: &[Spec]) -> Vec<String> {
    let mut v = run_starting(specs);
    for (i, s) in specs.iter().enumerate() {
        v.extend(spec_block(s, i + 1, specs.len()));
    }
    v.extend(run_finished(specs, "12:41"));
    v
}

// ---------------------------------------------------------------------------------------
// Specs with real mocha output: the test listing, the numbered failure list with its
// error messages and stacks, retries, and spec-level failures without a list (CONTRACT §9,
// ../shared/reference/README.md "The failure list, spec-level reasons and retries").

/// First character of a line whose colour codes are already in place (mocha puts them
/// before the leading spaces, and lines inside a coloured span carry none). [`render`]
/// keeps the codes with colour, removes them without, and never shows this character.
pub const PRE: char = '\u{E000}';

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

fn pre(s: impl AsRef<str>) -> String {
    format!("{PRE}{}", s.as_ref())
}

/// How one test of a spec ended, as mocha (with Cypress's retries) prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Pending,
    /// Failed; the error message's lines: the first is the error's first line (printed at
    /// five spaces), the others are continuation lines printed as they are (column 0,
    /// blank, `  > 404: Not Found`, `2) ...`).
    Failed(Vec<String>),
    /// `(Attempt 1 of M)` … `(Attempt passed_on-1 of M)`, then `✓ title`.
    Flaky {
        passed_on: u32,
        attempts: u32,
    },
    /// `(Attempt 1 of M)` … `(Attempt M-1 of M)`, then `k) title` and a failure entry.
    FailedEveryAttempt {
        attempts: u32,
        error: Vec<String>,
    },
}

/// One test: its title path (suite titles, then the test's own title; for a failed hook,
/// the hook's title as mocha gives it, see [`hook_title`]) and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Test {
    pub path: Vec<String>,
    pub outcome: Outcome,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The title mocha gives a failing hook: `"before each" hook for "is failing"`.
pub fn hook_title(hook: &str, test: &str) -> String {
    format!("\"{hook}\" hook for \"{test}\"")
}

impl Test {
    pub fn passed(path: &[&str]) -> Test {
        Test {
            path: strings(path),
            outcome: Outcome::Passed,
        }
    }

    pub fn pending(path: &[&str]) -> Test {
        Test {
            path: strings(path),
            outcome: Outcome::Pending,
        }
    }

    pub fn failed(path: &[&str], error: &[&str]) -> Test {
        assert!(!error.is_empty(), "an error has a first line");
        Test {
            path: strings(path),
            outcome: Outcome::Failed(strings(error)),
        }
    }

    /// A failing `hook` (`before each`, `before all`, ...) of the suites `suites`, run for
    /// `test`: listed and numbered like a failed test, titled [`hook_title`].
    pub fn hook_failed(suites: &[&str], hook: &str, test: &str, error: &[&str]) -> Test {
        let mut path = strings(suites);
        path.push(hook_title(hook, test));
        Test {
            path,
            outcome: Outcome::Failed(strings(error)),
        }
    }

    /// Failed `passed_on - 1` attempts, then passed on attempt `passed_on` of `attempts`.
    pub fn flaky(path: &[&str], passed_on: u32, attempts: u32) -> Test {
        assert!(passed_on >= 2 && passed_on <= attempts);
        Test {
            path: strings(path),
            outcome: Outcome::Flaky {
                passed_on,
                attempts,
            },
        }
    }

    pub fn failed_every_attempt(path: &[&str], attempts: u32, error: &[&str]) -> Test {
        assert!(attempts >= 2 && !error.is_empty());
        Test {
            path: strings(path),
            outcome: Outcome::FailedEveryAttempt {
                attempts,
                error: strings(error),
            },
        }
    }

    /// The full title: the title lines joined with ` › `.
    pub fn title(&self) -> String {
        self.path.join(" › ")
    }

    /// The test's own title (the last title line).
    pub fn own_title(&self) -> &str {
        self.path.last().map(String::as_str).unwrap_or("")
    }

    fn suites(&self) -> &[String] {
        &self.path[..self.path.len().saturating_sub(1)]
    }

    fn error(&self) -> Option<&[String]> {
        match &self.outcome {
            Outcome::Failed(e) | Outcome::FailedEveryAttempt { error: e, .. } => Some(e),
            _ => None,
        }
    }
}

/// What the digest keeps of an error (contract §9 v3): its first line; when that ends with
/// `:`, the following non-blank lines joined to it with one blank; at most 300 characters.
pub fn error_line(error: &[String]) -> String {
    let mut text = error[0].clone();
    if text.ends_with(':') {
        for more in error[1..]
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
        {
            text.push(' ');
            text.push_str(more);
        }
    }
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    folded
        .chars()
        .take(300)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Why a spec failed without a numbered list (it shows 0 tests and 1 failing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecError {
    /// `Oops...we found an error preparing this test file:` … `Error: Webpack Compilation Error`.
    BundleError,
    /// `We detected that the Chromium Renderer process just crashed.`
    RendererCrash,
    /// `We detected that the Chrome process just crashed with code 'null' and signal 'SIGTRAP'.`
    BrowserCrash,
    /// `Timed out waiting for the browser to connect. Retrying...` (then it gives up).
    NeverConnected,
    /// Nothing between `Running:` and `(Results)`: the log gives no reason.
    NoReason,
}

impl SpecError {
    /// The reason line the post and `failures[].error` carry (None: no reason in the log).
    pub fn reason(self) -> Option<&'static str> {
        match self {
            SpecError::BundleError => Some("Error: Webpack Compilation Error"),
            SpecError::RendererCrash => {
                Some("We detected that the Chromium Renderer process just crashed.")
            }
            SpecError::BrowserCrash => Some(
                "We detected that the Chrome process just crashed with code 'null' and signal 'SIGTRAP'.",
            ),
            SpecError::NeverConnected => {
                Some("Timed out waiting for the browser to connect. Retrying...")
            }
            SpecError::NoReason => None,
        }
    }

    /// What Cypress prints at column 0 between `Running:` and `(Results)`.
    fn text(self, spec: &str) -> Vec<String> {
        let v: Vec<String> = match self {
            SpecError::BundleError => vec![
                "Oops...we found an error preparing this test file:".into(),
                String::new(),
                format!("  > cypress/e2e/{spec}"),
                String::new(),
                "The error was:".into(),
                String::new(),
                "Error: Webpack Compilation Error".into(),
                "Module build failed (from ./node_modules/babel-loader/lib/index.js):".into(),
                format!(
                    "SyntaxError: /root/cdc-e2e-cyp-12.17.4/cypress/e2e/{spec}: Unexpected token (14:3)"
                ),
                String::new(),
                "  12 |   it('imports the inventory', () => {".into(),
                "  13 |     cy.visit('/inventory')".into(),
                "> 14 |   })}".into(),
                "     |    ^".into(),
                "      at Parser._raise (/root/cdc-e2e-cyp-12.17.4/node_modules/@babel/parser/lib/index.js:541:17)".into(),
                String::new(),
                "This occurred while Cypress was compiling and bundling your test code. This is usually caused by:".into(),
                String::new(),
                "- A missing file or dependency".into(),
                "- A syntax error in the file or one of its dependencies".into(),
                String::new(),
                "Fix the error in your code and re-run your tests.".into(),
            ],
            SpecError::RendererCrash => vec![
                String::new(),
                String::new(),
                "We detected that the Chromium Renderer process just crashed.".into(),
                String::new(),
                "This can happen for a number of different reasons.".into(),
                String::new(),
                "If you're running lots of tests on a memory intense application.".into(),
                "  - Try increasing the CPU/memory on the machine you're running on.".into(),
                "  - Try enabling experimentalMemoryManagement in your config file.".into(),
                "  - Try lowering numTestsKeptInMemory in your config file during 'cypress open'.".into(),
                String::new(),
                "You can learn more here:".into(),
                String::new(),
                "https://on.cypress.io/renderer-process-crashed".into(),
            ],
            SpecError::BrowserCrash => vec![
                String::new(),
                String::new(),
                "We detected that the Chrome process just crashed with code 'null' and signal 'SIGTRAP'.".into(),
                String::new(),
                "We have failed the current test and have relaunched Chrome.".into(),
                String::new(),
                "This can happen for many different reasons:".into(),
                String::new(),
                "- You wrote an endless loop and you must fix your own code".into(),
                "- You are running lots of tests on a memory intense application".into(),
                "- You are running in a memory starved VM environment".into(),
                "- There are problems with your GPU / GPU drivers".into(),
                "- There are browser bugs".into(),
            ],
            SpecError::NeverConnected => vec![
                "Timed out waiting for the browser to connect. Retrying...".into(),
                String::new(),
                "Timed out waiting for the browser to connect. Retrying again...".into(),
                String::new(),
                "The browser never connected. Something is wrong. The tests cannot run. Aborting...".into(),
                String::new(),
                "The browser never connected. Something is wrong. The tests cannot run. Aborting...".into(),
            ],
            SpecError::NoReason => vec![String::new()],
        };
        // Cypress prints these in red: the codes open the first line and close the last.
        let (first, last) = (
            v.iter().position(|l| !l.is_empty()),
            v.iter().rposition(|l| !l.is_empty()),
        );
        v.iter()
            .enumerate()
            .map(|(i, l)| {
                let mut s = l.clone();
                if Some(i) == first {
                    s.insert_str(0, RED);
                }
                if Some(i) == last {
                    s.push_str("\x1b[39m");
                }
                pre(s)
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecBody {
    Tests(Vec<Test>),
    Error(SpecError),
}

/// A spec with its real mocha output (compare [`Spec`], which only has the counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecRun {
    pub name: String,
    /// As in the summary table: `754ms`, `01:04`, `1:02:03`.
    pub duration: String,
    /// Tests skipped after a failed hook (counted, not printed).
    pub skipped: u32,
    pub body: SpecBody,
}

/// A failing test (or failed spec) as the digest must report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub spec: String,
    /// The full title joined with ` › `; None for a spec that failed without a list.
    pub title: Option<String>,
    /// The error's first line, uncut; or the spec's reason line; None when the log has none.
    pub error: Option<String>,
}

/// A test that passed after retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flaky {
    pub spec: String,
    /// The full title joined with ` › `.
    pub title: String,
    /// The test's own title (what the `(Attempt k of M)` and `✓` lines carry).
    pub own_title: String,
    /// The attempt that passed.
    pub attempts: u32,
}

impl SpecRun {
    pub fn new(name: &str, tests: Vec<Test>) -> SpecRun {
        SpecRun {
            name: name.into(),
            duration: "01:04".into(),
            skipped: 0,
            body: SpecBody::Tests(tests),
        }
    }

    /// A spec that fails without a numbered list.
    pub fn errored(name: &str, error: SpecError) -> SpecRun {
        SpecRun {
            name: name.into(),
            duration: "00:03".into(),
            skipped: 0,
            body: SpecBody::Error(error),
        }
    }

    pub fn with_duration(mut self, d: &str) -> SpecRun {
        self.duration = d.into();
        self
    }

    pub fn with_skipped(mut self, n: u32) -> SpecRun {
        self.skipped = n;
        self
    }

    fn tests(&self) -> &[Test] {
        match &self.body {
            SpecBody::Tests(t) => t,
            SpecBody::Error(_) => &[],
        }
    }

    /// Its row of the summary table (and its `(Results)` box).
    pub fn row(&self) -> Spec {
        let mut s = Spec {
            name: self.name.clone(),
            tests: 0,
            passing: 0,
            failing: 0,
            pending: 0,
            skipped: self.skipped,
            duration: self.duration.clone(),
        };
        if let SpecBody::Error(_) = self.body {
            s.failing = 1;
            return s;
        }
        for t in self.tests() {
            s.tests += 1;
            match t.outcome {
                Outcome::Passed | Outcome::Flaky { .. } => s.passing += 1,
                Outcome::Pending => s.pending += 1,
                Outcome::Failed(_) | Outcome::FailedEveryAttempt { .. } => s.failing += 1,
            }
        }
        s.tests += self.skipped;
        s
    }

    /// What the digest must report for this spec, in log order.
    pub fn failures(&self) -> Vec<Failure> {
        match &self.body {
            SpecBody::Error(e) => vec![Failure {
                spec: self.name.clone(),
                title: None,
                error: e.reason().map(str::to_string),
            }],
            SpecBody::Tests(tests) => tests
                .iter()
                .filter_map(|t| {
                    t.error().map(|e| Failure {
                        spec: self.name.clone(),
                        title: Some(t.title()),
                        error: Some(error_line(e)),
                    })
                })
                .collect(),
        }
    }

    /// Its flaky tests, in log order.
    pub fn flaky(&self) -> Vec<Flaky> {
        self.tests()
            .iter()
            .filter_map(|t| match t.outcome {
                Outcome::Flaky { passed_on, .. } => Some(Flaky {
                    spec: self.name.clone(),
                    title: t.title(),
                    own_title: t.own_title().to_string(),
                    attempts: passed_on,
                }),
                _ => None,
            })
            .collect()
    }

    /// The spec's whole block: `Running:` (wrapped as Cypress wraps it), the mocha output
    /// or the spec-level error, the `(Results)` box.
    pub fn lines(&self, index: usize, total: usize) -> Vec<String> {
        let mut v = running_header(&self.name, index, total);
        match &self.body {
            SpecBody::Error(e) => {
                v.push(String::new());
                v.extend(e.text(&self.name));
                v.push(String::new());
            }
            SpecBody::Tests(tests) => {
                v.push(String::new());
                v.push(String::new());
                v.extend(mocha(tests));
                v.push(String::new());
            }
        }
        v.extend(results_box(&self.row()));
        v
    }
}

/// `Running:  <spec>  (i of n)` as Cypress prints it: a table of columns 10, 70 and 20
/// wide, the name wrapped every 68 characters onto lines indented 12 spaces.
pub fn running_header(name: &str, index: usize, total: usize) -> Vec<String> {
    let tag = format!("({index} of {total})");
    let parts = chunks(name, 68);
    let mut v = vec![String::new(), "─".repeat(W), " ".repeat(W)];
    let gap = |p: &str| " ".repeat(68 - p.chars().count());
    v.push(pre(format!(
        "\x1b[90m  Running:\x1b[39m  {RESET}{}{RESET}{}\x1b[90m{}\x1b[39m",
        parts[0],
        gap(&parts[0]),
        rpad_left(&tag, 20)
    )));
    for p in &parts[1..] {
        v.push(pre(format!(
            "            {RESET}{p}{RESET}{}{}",
            gap(p),
            " ".repeat(20)
        )));
    }
    v
}

/// Mocha's spec reporter for one spec: the listing (suites, `✓`, `k)`, `-`, retries),
/// `N passing`, `N pending`, `N failing` and the numbered failure list.
fn mocha(tests: &[Test]) -> Vec<String> {
    let mut v = Vec::new();
    let mut open: &[String] = &[];
    let mut n = 0;
    for (i, t) in tests.iter().enumerate() {
        let suites = t.suites();
        let common = open.iter().zip(suites).take_while(|(a, b)| a == b).count();
        if !open.is_empty() && common == 0 {
            v.push(String::new()); // a top-level suite ended
        }
        for (level, s) in suites.iter().enumerate().skip(common) {
            v.push(pre(format!("{RESET}{}{s}{RESET}", "  ".repeat(level + 1))));
        }
        open = suites;
        let indent = "  ".repeat(suites.len());
        let title = t.own_title();
        let attempts = |failed: u32, of: u32, v: &mut Vec<String>| {
            for k in 1..=failed {
                v.push(pre(format!(
                    "{indent}  {YELLOW}(Attempt {k} of {of}) {title}{RESET}"
                )));
            }
        };
        match &t.outcome {
            Outcome::Passed => {
                let ms = if i % 2 == 0 {
                    format!("{YELLOW} ({}ms){RESET}", 900 + i * 37)
                } else {
                    String::new()
                };
                v.push(pre(format!(
                    "{indent}{GREEN}  ✓{RESET}\x1b[90m {title}{RESET}{ms}"
                )));
            }
            Outcome::Pending => v.push(pre(format!("{indent}{CYAN}  - {title}{RESET}"))),
            Outcome::Failed(_) => {
                n += 1;
                v.push(pre(format!("{indent}{RED}  {n}) {title}{RESET}")));
            }
            Outcome::Flaky {
                passed_on,
                attempts: of,
            } => {
                attempts(passed_on - 1, *of, &mut v);
                v.push(pre(format!(
                    "{indent}{GREEN}  ✓{RESET}\x1b[90m {title}{RESET}{YELLOW} (4211ms){RESET}"
                )));
            }
            Outcome::FailedEveryAttempt { attempts: of, .. } => {
                attempts(of - 1, *of, &mut v);
                n += 1;
                v.push(pre(format!("{indent}{RED}  {n}) {title}{RESET}")));
            }
        }
    }
    if !open.is_empty() {
        v.push(String::new());
    }
    let count = |f: &dyn Fn(&Outcome) -> bool| tests.iter().filter(|t| f(&t.outcome)).count();
    let passing = count(&|o| matches!(o, Outcome::Passed | Outcome::Flaky { .. }));
    let pending = count(&|o| matches!(o, Outcome::Pending));
    let failing = count(&|o| matches!(o, Outcome::Failed(_) | Outcome::FailedEveryAttempt { .. }));
    v.push(String::new());
    v.push(pre(format!(
        "\x1b[92m {RESET}{GREEN} {passing} passing{RESET}\x1b[90m (14s){RESET}"
    )));
    if pending > 0 {
        v.push(pre(format!(
            "{CYAN} {RESET}{CYAN} {pending} pending{RESET}"
        )));
    }
    if failing > 0 {
        v.push(pre(format!("{RED}  {failing} failing{RESET}")));
        v.push(String::new());
        let mut k = 0;
        for t in tests {
            let Some(error) = t.error() else { continue };
            k += 1;
            v.extend(failure_entry(k, t, error));
        }
        v.push(String::new());
    }
    v.push(String::new());
    v
}

/// One entry of the failure list: `  k) ` and the title lines (7, 9, 11... spaces, `:`
/// on the last), the error's first line at five spaces, its continuation lines as they
/// are, the stack at six spaces, a blank line. Colour as mocha: the title span opens
/// before the first line's spaces and closes at the start of the error line, the
/// message span (red) from there to the end of the message, the stack span (grey) to
/// the blank line.
fn failure_entry(k: usize, t: &Test, error: &[String]) -> Vec<String> {
    let mut v = Vec::new();
    let last = t.path.len() - 1;
    for (i, part) in t.path.iter().enumerate() {
        let colon = if i == last { ":" } else { "" };
        if i == 0 {
            v.push(pre(format!("{RESET}  {k}) {part}{colon}")));
        } else {
            v.push(pre(format!("{}{part}{colon}", " ".repeat(5 + 2 * i))));
        }
    }
    let n = error.len();
    for (i, line) in error.iter().enumerate() {
        let mut s = if i == 0 {
            format!("{RESET}{RED}     {line}")
        } else {
            line.clone()
        };
        if i == n - 1 {
            s.push_str(&format!("{RESET}\x1b[90m"));
        }
        v.push(pre(s));
    }
    let file = t
        .path
        .first()
        .map(|p| p.to_lowercase().replace(' ', "_"))
        .unwrap_or_default();
    v.push(pre(format!(
        "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/{file}.cy.js:{}:9)",
        14 + k
    )));
    v.push(pre(
        "      at getRet (https://atvm.example.test/__cypress/runner/cypress_runner.js:121753:16)",
    ));
    v.push(pre(RESET));
    v
}

/// A whole Cypress run of specs with their mocha output: start box, every spec, summary.
pub fn detailed_run(specs: &[SpecRun], total_duration: &str) -> Vec<String> {
    let rows: Vec<Spec> = specs.iter().map(SpecRun::row).collect();
    let mut v = run_starting(&rows);
    for (i, s) in specs.iter().enumerate() {
        v.extend(s.lines(i + 1, specs.len()));
    }
    v.extend(run_finished(&rows, total_duration));
    v
}

/// Every failure of `specs`, in log order.
pub fn failures_of(specs: &[SpecRun]) -> Vec<Failure> {
    specs.iter().flat_map(SpecRun::failures).collect()
}

/// Every flaky test of `specs`, in log order.
pub fn flaky_of(specs: &[SpecRun]) -> Vec<Flaky> {
    specs.iter().flat_map(SpecRun::flaky).collect()
}

const GRAY: &str = "\x1b[90m";
const OFF: &str = "\x1b[39m";

/// Colours a plain line the way Cypress does with colour forced.
pub fn colourize(line: &str) -> String {
    for marker in ["Run Starting", "Run Finished", "Results"] {
        if line.trim() == format!("({marker})") {
            return format!("\x1b[0m  (\x1b[4m\x1b[1m{marker}\x1b[22m\x1b[24m)\x1b[0m");
        }
    }
    if line.starts_with("====") {
        return format!("{GRAY}{line}{OFF}");
    }
    let mut out = String::new();
    for c in line.chars() {
        match c {
            '┌' | '┐' | '└' | '┘' | '├' | '┤' | '─' | '│' => {
                out.push_str(&format!("{GRAY}{c}{OFF}"))
            }
            '✔' | '✓' => out.push_str(&format!("\x1b[32m{c}{OFF}")),
            '✖' => out.push_str(&format!("\x1b[31m{c}{OFF}")),
            _ => out.push(c),
        }
    }
    let out = out.replace("All specs passed!", "\x1b[32mAll specs passed!\x1b[39m");
    let out = out.replace("Running:", &format!("{GRAY}Running:{OFF}"));
    if let Some(i) = out.find(" failed (") {
        // `N of M failed (P%)` in red, as one coloured run.
        let start = out[..i].rfind("  ").map(|s| s + 2).unwrap_or(0);
        let end = out[i..].find(')').map(|e| i + e + 1).unwrap_or(out.len());
        return format!(
            "{}\x1b[31m{}\x1b[39m{}",
            &out[..start],
            &out[start..end],
            &out[end..]
        );
    }
    out
}

/// Removes ANSI CSI sequences (`ESC [ ... final`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\x1b' && it.peek() == Some(&'[') {
            it.next();
            for f in it.by_ref() {
                if ('@'..='~').contains(&f) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Turns lines into log bytes in the given style. A line that starts with [`PRE`] carries
/// its own colour codes (mocha's placement): they are kept with colour and removed
/// without; other lines are coloured by [`colourize`].
pub fn render(lines: &[String], style: Style) -> Vec<u8> {
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if style.timestamps {
            out.push_str(&format!(
                "2026-11-22T09:{:02}:{:02}.{:03}Z ",
                (i / 60) % 60,
                i % 60,
                i % 1000
            ));
        }
        if let Some(pre) = l.strip_prefix(PRE) {
            if style.colour {
                out.push_str(pre);
            } else {
                out.push_str(&strip_ansi(pre));
            }
        } else if style.colour {
            out.push_str(&colourize(l));
        } else {
            out.push_str(l);
        }
        out.push_str(if style.crlf { "\r\n" } else { "\n" });
    }
    out.into_bytes()
}

pub fn render_plain(lines: &[String]) -> Vec<u8> {
    render(lines, Style::PLAIN)
}
