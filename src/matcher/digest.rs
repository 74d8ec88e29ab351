//! The failure digest (contract §9), read as the log streams by, one line at a time:
//! each spec's numbered failure list after `  N failing`, the reason of a spec that failed
//! without one (a bundle error, a crash, a browser that never connected), retried tests
//! that passed in the end (flaky), and spec names wrapped onto a second `Running:` line.
//!
//! The list's shape (reference README, "The failure list"): entries start with `  k) `
//! at exactly two spaces, k counting from 1; further title lines follow at 7, 9, 11...
//! spaces; the error's first line at five spaces; then anything (continuation lines at
//! column 0, even `2) ...`; the stack at six). Indents are measured after escapes and any
//! timestamp prefix are removed. Which spec a failure belongs to is the machine's
//! business: it knows the spec in progress.

use super::Event;
use super::text::{capped, without_timestamp};

/// What makes a line worth a look while no digest construct is open. The scan's SIMD
/// prefilter keys on an anchor's first bytes, so each starts with letters that ordinary
/// log lines rarely start a word with (`Timed out ...` and `just` are everywhere in a
/// failing run's errors; `(Attempt` and `browser to connect` are not).
pub(super) const ANCHORS: [&str; 5] = [
    "failing",
    "(Attempt ",
    "Oops...",
    "We detected that",
    "browser to connect",
];

/// Most entries one failure list is read for (a list claiming more is read that far).
const MAX_LIST: u32 = 100_000;
/// A spec name on a `Running:` line this long may go on on the next line (the name column
/// holds 68 characters; some margin for a name cleaned of repeated blanks).
const WRAP_AT: usize = 60;
/// Title lines kept per entry.
const MAX_PARTS: usize = 16;
/// Bytes kept of one title line or error line before cleaning.
const RAW_CAP: usize = 1024;

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
    /// After `(Attempt k of M) title`: the test's next result line.
    Retry { title: String, attempt: u32 },
}

#[derive(Debug)]
struct Entry {
    number: u32,
    parts: Vec<String>,
}

/// Texts leave the digest through this (redaction and caps are the line matcher's).
pub(super) trait Clean {
    /// A spec name.
    fn name(&self, text: &str) -> String;
    /// A title or an error line.
    fn text(&self, text: &str) -> String;
}

#[derive(Debug, Default)]
pub(super) struct Digest {
    mode: Mode,
    /// Where the open construct began: a restart reads again from there.
    since: Option<u64>,
    /// The spec name of the last `Running:` line, for a wrapped name (one buffer, kept).
    name: String,
}

/// `(i of n)` at the end of `s`, with what precedes it.
pub(super) fn split_progress(s: &str) -> Option<(&str, u32, u32)> {
    let s = s.trim_end();
    let inner = s.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let (i, n) = inner[open + 1..].split_once(" of ")?;
    Some((&s[..open], i.trim().parse().ok()?, n.trim().parse().ok()?))
}

/// Appends to `name` what fits of `more` within `RAW_CAP` bytes.
fn push_capped(name: &mut String, more: &str) {
    let room = RAW_CAP.saturating_sub(name.len());
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
}

/// `Oops...we found an error preparing this test file:`.
fn oops(body: &str) -> bool {
    body.starts_with("Oops") && body.contains("found an error preparing this test file")
}

/// `(Attempt k of M) title`.
fn attempt(body: &str) -> Option<(u32, &str)> {
    let rest = body.strip_prefix("(Attempt ")?;
    let (nums, title) = rest.split_once(") ")?;
    let (k, _) = nums.split_once(" of ")?;
    Some((k.trim().parse().ok()?, title.trim()))
}

impl Digest {
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

    fn open(&mut self, mode: Mode, offset: u64) {
        self.mode = mode;
        self.since = Some(offset);
    }

    fn close(&mut self) {
        self.mode = Mode::Idle;
        self.since = None;
    }

    /// One line's text (escapes removed); what it completes goes to `out`.
    pub fn line(&mut self, text: &str, offset: u64, clean: &dyn Clean, out: &mut Vec<Event>) {
        let (indent, body) = indent_and_body(text);
        if body == "(Results)" {
            return self.reset(clean, out);
        }
        match std::mem::take(&mut self.mode) {
            Mode::Idle => self.idle(indent, body, offset, clean, out),
            Mode::Wrapped { index, total } => {
                if indent == 12 && !body.is_empty() {
                    push_capped(&mut self.name, body);
                    let spec = clean.name(&self.name);
                    out.push(Event::Progress { index, total, spec });
                    self.mode = Mode::Wrapped { index, total };
                } else {
                    self.close();
                    self.idle(indent, body, offset, clean, out);
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
            Mode::Retry { title, attempt: k } => self.retry(title, k, body, offset, clean, out),
        }
    }

    /// A line while nothing is open: does it open something?
    fn idle(
        &mut self,
        indent: usize,
        body: &str,
        offset: u64,
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
            let total = total.min(MAX_LIST);
            self.open(
                Mode::List {
                    total,
                    next: 1,
                    entry: None,
                },
                offset,
            );
        } else if let Some((k, title)) = attempt(body) {
            let title = capped(title, RAW_CAP);
            self.open(Mode::Retry { title, attempt: k }, offset);
        } else if oops(body) {
            self.open(Mode::Oops, offset);
        } else if reason(body) {
            out.push(Event::SpecError(clean.text(body)));
        }
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
                parts: vec![capped(rest, RAW_CAP)],
            });
            *next = k.saturating_add(1);
            return;
        }
        let Some(e) = entry.as_mut() else { return };
        if indent >= 7 && !body.is_empty() {
            if e.parts.len() < MAX_PARTS {
                e.parts.push(capped(body, RAW_CAP));
            }
        } else if indent == 5 && !body.is_empty() {
            let e = entry.take().expect("an entry is open");
            let last = e.number >= *total;
            out.push(failed(e, Some(body), clean));
            if last {
                self.close();
            }
        }
    }

    fn retry(
        &mut self,
        title: String,
        k: u32,
        body: &str,
        offset: u64,
        clean: &dyn Clean,
        out: &mut Vec<Event>,
    ) {
        if let Some((k2, t2)) = attempt(body) {
            let mode = if t2 == title {
                Mode::Retry { title, attempt: k2 }
            } else {
                Mode::Retry {
                    title: capped(t2, RAW_CAP),
                    attempt: k2,
                }
            };
            return self.open(mode, offset);
        }
        if passed_title(body) == Some(title.as_str()) {
            self.close();
            out.push(Event::Flaky {
                title: clean.text(&title),
                attempts: k.saturating_add(1),
            });
        } else if numbered(body).is_some_and(|(_, t)| t == title) || body.ends_with(" passing") {
            // Failed every attempt (it is in the failure list), or the spec's tests are over.
            self.close();
        } else {
            if reason(body) {
                // A crash while the test was retried: the spec's reason all the same.
                out.push(Event::SpecError(clean.text(body)));
            }
            self.mode = Mode::Retry { title, attempt: k };
        }
    }
}

/// A failure-list entry as an event: its title lines joined with ` › ` (mocha's `:` after
/// the last one dropped) and its error's first line.
fn failed(e: Entry, error: Option<&str>, clean: &dyn Clean) -> Event {
    let mut parts: Vec<&str> = e.parts.iter().map(|p| p.trim()).collect();
    if let Some(last) = parts.last_mut() {
        *last = last.strip_suffix(':').unwrap_or(last).trim_end();
    }
    Event::TestFailed {
        number: e.number,
        title: clean.text(&parts.join(" › ")),
        error: error.map(|x| clean.text(x)).filter(|x| !x.is_empty()),
    }
}

#[cfg(test)]
#[path = "digest_tests.rs"]
mod tests;
