//! Builds `cypress run` output (Cypress 12.17.4 shape) for the tests: the `(Run Starting)`
//! box, one block per spec with its `(Results)` box, the `(Run Finished)` table with wrapped
//! names and the footer row; optionally with forced colour (codes around every box
//! character and inside the markers, as Cypress prints under CI), CRLF line ends and
//! timestamp prefixes. Used by unit tests (through `#[path]`), integration tests and the
//! fixture files under tests/fixtures.

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
    v.extend([
        String::new(),
        String::new(),
        "  (Results)".into(),
        String::new(),
        box_top(),
    ]);
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

/// Turns lines into log bytes in the given style.
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
        if style.colour {
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
