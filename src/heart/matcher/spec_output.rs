//! What mocha prints of each spec, read for the digest (contract §9) as the log streams
//! by, one line at a time:
//! each spec's numbered failure list after `  N failing`, the reason of a spec that failed
//! without one (a bundle error, a crash, a browser that never connected), retried tests
//! that passed in the end (flaky), and spec names wrapped onto a second `Running:` line.
//!
//! The list's shape (reference README, "The failure list" and its v2 corrections):
//! entries start with `  k) ` at exactly two spaces, k counting from 1; further title lines
//! follow at 7, 9, 11... spaces; the error's first line at five spaces, or, when mocha
//! shows an assertion diff, after a blank line at six (then `+ expected - actual`); then
//! anything (continuation lines at column 0 to 4, even `2) ...`; the stack at six). An
//! error line that ends with `:` (`CypressError: \`cy.request()\` failed on:`) is joined
//! with the message's following non-blank lines, up to its stack (contract §9 v3).
//! Indents are measured after escapes and any timestamp prefix are removed. Which spec a
//! failure belongs to is the machine's business: it knows the spec in progress.
//!
//! A retried test is known by its place, not its title (two suites may each hold a test
//! `runs this`): its result is the next result line at the indent of its `(Attempt k of
//! M)` line, and its suites are the headers above it at smaller indents, read back
//! (`lookback.rs`) since the spec's `Running:` line.

use super::Event;
use super::lookback::{Lookback, lines_between};
use super::text::{capped, starts_stack, without_timestamp};
use crate::data::caps::{MAX_LIST_ENTRIES, MAX_TITLE_PARTS, RAW_TEXT_CAP};

/// What makes a line worth a look while no construct is open. The scan's SIMD
/// prefilter keys on an anchor's first bytes, so each starts with letters that ordinary
/// log lines rarely start a word with (`Timed out ...` and `just` are everywhere in a
/// failing run's errors; `(Attempt` and `browser to connect` are not).
pub(super) const ANCHORS: [&str; 6] = [
    "failing",
    "(Attempt ",
    "Oops...",
    "We detected that",
    "browser to connect",
    CONFIG_CRASHED,
];

/// A spec name on a `Running:` line this long may go on on the next line (the name column
/// holds 68 characters; some margin for a name cleaned of repeated blanks).
const WRAP_AT: usize = 60;

#[derive(Debug, Default)]
enum Mode {
    #[default]
    Idle,
    /// After a `Running:` line: a long spec name (in `Digest::name`) goes on, on lines
    /// indented 12 spaces.
    Wrapped { index: u32, total: u32 },
    /// After `  N failing`: the numbered list; `entry` is the one being read.
    List {
        total: u32,
        next: u32,
        entry: Option<Entry>,
    },
    /// After `Oops...we found an error preparing this test file`: its first `Error` line.
    Oops,
    /// After `(Attempt k of M) title` at `indent`: the test's next result line, at that
    /// indent; `path` is its full title (suites › title).
    Retry {
        title: String,
        path: String,
        attempt: u32,
        indent: usize,
    },
}

#[derive(Debug)]
struct Entry {
    number: u32,
    parts: Vec<String>,
    /// A blank line followed the title: an assertion diff's error line (at six) may come.
    blank: bool,
    /// The error's first line, while its detail is read (it ended with `:`).
    error: Option<String>,
}

/// Where the log can be read back from, and from which offset (the spec's `Running:`).
pub(super) type Back<'a> = (&'a dyn Lookback, u64);

/// Texts leave the spec's output through this (redaction and caps are the line matcher's).
pub(super) trait Clean {
    /// A spec name.
    fn name(&self, text: &str) -> String;
    /// A title or an error line.
    fn text(&self, text: &str) -> String;
}

#[derive(Debug, Default)]
pub(super) struct SpecOutput {
    mode: Mode,
    /// Where the open construct began: a restart reads again from there.
    since: Option<u64>,
    /// The spec name of the last `Running:` line, for a wrapped name (one buffer, kept).
    name: String,
    /// The bytes read back (reused).
    back_buf: Vec<u8>,
}

/// `(i of n)` at the end of `s`, with what precedes it.
pub(super) fn split_progress(s: &str) -> Option<(&str, u32, u32)> {
    let s = s.trim_end();
    let inner = s.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let (i, n) = inner[open + 1..].split_once(" of ")?;
    Some((&s[..open], i.trim().parse().ok()?, n.trim().parse().ok()?))
}

/// Appends to `name` what fits of `more` within `RAW_TEXT_CAP` bytes.
fn push_capped(name: &mut String, more: &str) {
    let room = RAW_TEXT_CAP.saturating_sub(name.len());
    let mut end = more.len().min(room);
    while !more.is_char_boundary(end) {
        end -= 1;
    }
    name.push_str(&more[..end]);
}

/// The indent (after any timestamp) and the rest of a line.
fn indent_and_body(text: &str) -> (usize, &str) {
    let s = without_timestamp(text);
    let body = s.trim_start_matches(' ');
    (s.len() - body.len(), body.trim_end())
}

/// `k) rest`: an entry's number and the rest.
fn numbered(body: &str) -> Option<(u32, &str)> {
    let (k, rest) = body.split_once(") ")?;
    Some((k.parse().ok()?, rest))
}

/// `✓ title (123ms)` or `√ title`: a passed test's title.
fn passed_title(body: &str) -> Option<&str> {
    let t = body
        .strip_prefix("✓ ")
        .or_else(|| body.strip_prefix("√ "))?;
    let t = t.trim();
    // Only a timing is dropped (`(123ms)`, `(2s)`): a title may end in parentheses too.
    let timing = |d: &str| {
        let num = d.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &d[num.len()..];
        !num.is_empty()
            && num.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && matches!(unit, "ms" | "s" | "m")
    };
    match t.rfind(" (") {
        Some(i) if t.ends_with(')') && timing(&t[i + 2..t.len() - 1]) => Some(&t[..i]),
        _ => Some(t),
    }
}

/// A line saying why a spec may have failed without a list: a crash, or a browser that
/// does not connect (a bundle error needs the line after it: `Mode::Oops`).
fn reason(body: &str) -> bool {
    (body.starts_with("We detected that the") && body.contains("just crashed"))
        || body.starts_with("Timed out waiting for the browser to connect")
        || body.starts_with(CONFIG_CRASHED)
}

/// A config file whose handler threw while a spec ran: the spec fails, the run goes on.
const CONFIG_CRASHED: &str = "Your configFile threw an error from:";

/// `Oops...we found an error preparing this test file:`.
fn oops(body: &str) -> bool {
    body.starts_with("Oops") && body.contains("found an error preparing this test file")
}

/// A test's result line (passed, failed, pending) or a retry of it: no suite header.
fn is_result(body: &str) -> bool {
    body.starts_with(['✓', '√', '✔'])
        || body.starts_with("- ")
        || body.starts_with("(Attempt ")
        || numbered(body).is_some()
}

/// The suites of a test whose line is at `indent`, from the lines above it (the nearest
/// header at each smaller indent), outermost first.
fn suites_above(lines: &[String], indent: usize) -> Vec<String> {
    let mut suites = Vec::new();
    let mut need = indent.saturating_sub(2);
    for line in lines.iter().rev() {
        if need < 2 || suites.len() >= MAX_TITLE_PARTS {
            break;
        }
        let (i, body) = indent_and_body(line);
        if i == need && !body.is_empty() && !is_result(body) {
            suites.push(capped(body, RAW_TEXT_CAP));
            need -= 2;
        }
    }
    suites.reverse();
    suites
}

/// `(Attempt k of M) title`.
fn attempt(body: &str) -> Option<(u32, &str)> {
    let rest = body.strip_prefix("(Attempt ")?;
    let (nums, title) = rest.split_once(") ")?;
    let (k, _) = nums.split_once(" of ")?;
    Some((k.trim().parse().ok()?, title.trim()))
}

impl SpecOutput {
    /// A line must be looked at even without an anchor.
    pub fn busy(&self) -> bool {
        !matches!(self.mode, Mode::Idle)
    }

    pub fn since(&self) -> Option<u64> {
        self.since
    }

    /// A new spec, a summary table, or a new file: whatever was open is over.
    pub fn reset(&mut self, clean: &dyn Clean, out: &mut Vec<Event>) {
        if let Mode::List { entry: Some(e), .. } = std::mem::take(&mut self.mode) {
            out.push(failed(e, None, clean));
        }
        self.since = None;
    }

    /// A `Running:` line: a new spec, whose name may go on on the next lines.
    pub fn running(
        &mut self,
        p: (u32, u32, &str),
        offset: u64,
        clean: &dyn Clean,
        out: &mut Vec<Event>,
    ) {
        self.reset(clean, out);
        let (index, total, name) = p;
        // Cypress's tables are 100 wide: a name wraps only once it fills the 68 characters
        // of its column. A shorter one is whole (and its next line needs no look).
        if name.chars().count() < WRAP_AT {
            return;
        }
        self.name.clear();
        push_capped(&mut self.name, name);
        self.open(Mode::Wrapped { index, total }, offset);
    }

    /// The log goes on in a new file, from `at`: what is open goes on there (a restart
    /// reads it again from `at`).
    pub fn moved_to(&mut self, at: u64) {
        if self.since.is_some() {
            self.since = Some(at);
        }
    }

    fn open(&mut self, mode: Mode, offset: u64) {
        self.mode = mode;
        self.since = Some(offset);
    }

    fn close(&mut self) {
        self.mode = Mode::Idle;
        self.since = None;
    }

    /// One line's text (escapes removed) at `offset`; `back` reads the log again since the
    /// spec's `Running:` line. What the line completes goes to `out`.
    pub fn line(
        &mut self,
        text: &str,
        offset: u64,
        back: Back,
        clean: &dyn Clean,
        out: &mut Vec<Event>,
    ) {
        let (indent, body) = indent_and_body(text);
        if body == "(Results)" {
            return self.reset(clean, out);
        }
        match std::mem::take(&mut self.mode) {
            Mode::Idle => self.idle(indent, body, (offset, back), clean, out),
            Mode::Wrapped { index, total } => {
                if indent == 12 && !body.is_empty() {
                    push_capped(&mut self.name, body);
                    let spec = clean.name(&self.name);
                    out.push(Event::Progress { index, total, spec });
                    self.mode = Mode::Wrapped { index, total };
                } else {
                    self.close();
                    self.idle(indent, body, (offset, back), clean, out);
                }
            }
            Mode::List { total, next, entry } => {
                self.mode = Mode::List { total, next, entry };
                self.list(indent, body, clean, out);
            }
            Mode::Oops => {
                if indent == 0 && (body.starts_with("Error") || body.starts_with("SyntaxError")) {
                    self.close();
                    out.push(Event::SpecError(clean.text(body)));
                } else {
                    self.mode = Mode::Oops;
                }
            }
            Mode::Retry {
                title,
                path,
                attempt,
                indent: at,
            } => {
                let retried = (title, path, attempt, at);
                self.retry(retried, (indent, body), (offset, back), clean, out)
            }
        }
    }

    /// A line while nothing is open: does it open something?
    fn idle(
        &mut self,
        indent: usize,
        body: &str,
        at: (u64, Back),
        clean: &dyn Clean,
        out: &mut Vec<Event>,
    ) {
        if body.is_empty() {
            return;
        }
        if let Some(n) = body.strip_suffix(" failing")
            && indent > 0
            && let Ok(total) = n.parse::<u32>()
            && total > 0
        {
            let total = total.min(MAX_LIST_ENTRIES);
            self.open(
                Mode::List {
                    total,
                    next: 1,
                    entry: None,
                },
                at.0,
            );
        } else if let Some((k, title)) = attempt(body) {
            self.retried(k, title, indent, at);
        } else if oops(body) {
            self.open(Mode::Oops, at.0);
        } else if reason(body) {
            out.push(Event::SpecError(clean.text(body)));
        }
    }

    /// `(Attempt k of M) title` at `indent`, on the line at `offset`: the test's full title
    /// is its suites (the headers above it, read back) and its own.
    fn retried(&mut self, k: u32, title: &str, indent: usize, (offset, back): (u64, Back)) {
        let (log, since) = back;
        let lines = lines_between(log, since, offset, &mut self.back_buf);
        let mut parts = suites_above(&lines, indent);
        parts.push(capped(title, RAW_TEXT_CAP));
        let mode = Mode::Retry {
            title: capped(title, RAW_TEXT_CAP),
            path: parts.join(" › "),
            attempt: k,
            indent,
        };
        self.open(mode, offset);
    }

    fn list(&mut self, indent: usize, body: &str, clean: &dyn Clean, out: &mut Vec<Event>) {
        let Mode::List { total, next, entry } = &mut self.mode else {
            return;
        };
        if indent == 2
            && let Some((k, rest)) = numbered(body)
            && k == *next
        {
            // An entry whose error line never came is kept with its title.
            if let Some(e) = entry.take() {
                out.push(failed(e, None, clean));
            }
            *entry = Some(Entry {
                number: k,
                parts: vec![capped(rest, RAW_TEXT_CAP)],
                blank: false,
                error: None,
            });
            *next = k.saturating_add(1);
            return;
        }
        let last = entry.as_ref().is_some_and(|e| e.number >= *total);
        let Some(e) = entry.as_mut() else { return };
        let done = match &mut e.error {
            // The detail of an error line that ends with `:`, up to the stack (at six, or
            // its header line at any indent).
            Some(_) if indent >= 6 || starts_stack(body) => true,
            Some(error) => {
                if !body.is_empty() {
                    error.push(' ');
                    push_capped(error, body);
                }
                error.len() >= RAW_TEXT_CAP
            }
            None if body.is_empty() => {
                e.blank = true;
                false
            }
            None if indent >= 7 && !e.blank => {
                if e.parts.len() < MAX_TITLE_PARTS {
                    e.parts.push(capped(body, RAW_TEXT_CAP));
                }
                false
            }
            // The error's first line: at five, or at six after a blank (a diff follows).
            None if indent == 5 || (indent == 6 && e.blank) => {
                let error = capped(body, RAW_TEXT_CAP);
                let more = error.ends_with(':');
                e.error = Some(error);
                !more
            }
            None => false,
        };
        if done {
            let e = entry.take().expect("an entry is open");
            out.push(failed(e, None, clean));
            if last {
                self.close();
            }
        }
    }

    /// A line while a retried test's result is awaited.
    fn retry(
        &mut self,
        retried: (String, String, u32, usize),
        (indent, body): (usize, &str),
        at: (u64, Back),
        clean: &dyn Clean,
        out: &mut Vec<Event>,
    ) {
        let (title, path, k, at_indent) = retried;
        if let Some((k2, t2)) = attempt(body) {
            if indent == at_indent && t2 == title {
                // Its next attempt failed too.
                let mode = Mode::Retry {
                    title,
                    path,
                    attempt: k2,
                    indent,
                };
                return self.open(mode, at.0);
            }
            return self.retried(k2, t2, indent, at);
        }
        if indent == at_indent && is_result(body) {
            // Its result: passed (flaky), or failed every attempt, or its hook failed.
            self.close();
            if passed_title(body) == Some(title.as_str()) {
                out.push(Event::Flaky {
                    title: clean.text(&path),
                    attempts: k.saturating_add(1),
                });
            }
            return;
        }
        if body.ends_with(" passing") {
            // The spec's tests are over.
            return self.close();
        }
        if reason(body) {
            // A crash while the test was retried: the spec's reason all the same.
            out.push(Event::SpecError(clean.text(body)));
        }
        self.mode = Mode::Retry {
            title,
            path,
            attempt: k,
            indent: at_indent,
        };
    }
}

/// A failure-list entry as an event: its title lines joined with ` › ` (mocha's `:` after
/// the last one dropped) and its error's first line (with its detail, when it ended with
/// `:`). `error` is that line when it was not read into the entry.
fn failed(e: Entry, error: Option<&str>, clean: &dyn Clean) -> Event {
    let mut parts: Vec<&str> = e.parts.iter().map(|p| p.trim()).collect();
    if let Some(last) = parts.last_mut() {
        *last = last.strip_suffix(':').unwrap_or(last).trim_end();
    }
    let error = e.error.as_deref().or(error);
    Event::TestFailed {
        number: e.number,
        title: clean.text(&parts.join(" › ")),
        error: error.map(|x| clean.text(x)).filter(|x| !x.is_empty()),
    }
}

#[cfg(test)]
#[path = "spec_output_tests.rs"]
mod tests;
