//! One line's meaning. `LineMatcher` classifies a line (escape codes and `\r` removed
//! first; invalid UTF-8 tolerated). It keeps one piece of state: whether it is inside a
//! Cypress summary table (after `(Run Finished)`), where it collects the failed spec names
//! until the footer row gives the result and the counts.
//!
//! A candidate line is searched once for every rule string together (`RuleSearch`), so a
//! line that merely mentions `Running` costs one short search instead of one per rule.

use super::compile::{Compiled, RuleSearch};
use super::text::{clean_text, lossy, strip_from, strip_leading_timestamp};
use super::{MAX_GROUPS, NAME_CAP};
use crate::model::{Status, Tests};
use crate::redact::Redactor;
use crate::rules::{Category, Piece, Rules};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// `(Run Starting)`.
    RunStarting,
    /// `Running: <spec> (i of n)`.
    Progress {
        index: u32,
        total: u32,
        spec: String,
    },
    /// The footer of a summary table.
    RunResult(RunResult),
    /// The run failed before it started; the line says why.
    FailedToStart(String),
    /// `ATVM_GROUPS: a,b,c`.
    /// `complete`: every announced group is listed (not more than `MAX_GROUPS`, and the
    /// line was not cut at `LINE_CAP`).
    Groups { names: Vec<String>, complete: bool },
    /// `ATVM_GROUP_START: name`.
    GroupStart(String),
    /// `ATVM_GROUP_END: name STATUS`.
    GroupEnd { name: String, status: Status },
    /// `ATVM_RUN_END: STATUS`.
    RunEnd(Status),
    /// A `Terminated`/`Killed` line or `unexpectedly exited`; the line itself.
    Terminated(String),
    /// An ATVM marker line that could not be understood (logged as a warning).
    Malformed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RunResult {
    /// COMPLETED, FAILED or CANCELLED.
    pub status: Status,
    pub tests: Option<Tests>,
    /// Cypress's own duration column of the footer (`00:10`, `1:02:09`).
    pub duration: Option<String>,
    pub failed_specs: Vec<String>,
}

impl Event {
    /// The texts it carries from the log (each cleaned and capped by `clean_text`).
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Event::Progress { spec, .. } => vec![spec],
            Event::FailedToStart(s) | Event::Terminated(s) | Event::Malformed(s) => vec![s],
            Event::GroupStart(s) => vec![s],
            Event::GroupEnd { name, .. } => vec![name],
            Event::Groups { names, .. } => names.iter().map(String::as_str).collect(),
            Event::RunResult(r) => r
                .failed_specs
                .iter()
                .map(String::as_str)
                .chain(r.duration.as_deref())
                .collect(),
            Event::RunStarting | Event::RunEnd(_) => Vec::new(),
        }
    }
}

/// `(i of n)` at the end of `s`, with what precedes it.
fn split_progress(s: &str) -> Option<(&str, u32, u32)> {
    let s = s.trim_end();
    let inner = s.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let (i, n) = inner[open + 1..].split_once(" of ")?;
    Some((&s[..open], i.trim().parse().ok()?, n.trim().parse().ok()?))
}

/// The numbers of a summary footer after its marker: `[(P%)] duration tests passing
/// failing pending skipped`, `-` meaning 0.
fn footer_counts(rest: &[u8], redactor: &Redactor) -> (Option<Tests>, Option<String>) {
    let text = lossy(rest);
    let mut toks: Vec<&str> = text.split_whitespace().collect();
    if toks
        .first()
        .is_some_and(|t| t.starts_with('(') && t.ends_with("%)"))
    {
        toks.remove(0);
    }
    if toks.len() < 5 {
        return (None, None);
    }
    let nums: Option<Vec<u64>> = toks[toks.len() - 5..]
        .iter()
        .map(|t| if *t == "-" { Some(0) } else { t.parse().ok() })
        .collect();
    let Some(n) = nums else { return (None, None) };
    let duration = (toks.len() >= 6).then(|| clean_text(toks[toks.len() - 6].as_bytes(), redactor));
    (
        Some(Tests {
            total: n[0],
            passed: n[1],
            failed: n[2],
            pending: n[3],
            skipped: n[4],
        }),
        duration,
    )
}

/// Matches a `{n} of {m} failed` pattern anywhere in `hay`; returns the end of the match.
fn match_count_pattern(pieces: &[Piece], hay: &[u8]) -> Option<usize> {
    'start: for start in 0..hay.len() {
        if start > 0
            && hay[start - 1].is_ascii_digit()
            && matches!(pieces.first(), Some(Piece::N | Piece::M))
        {
            continue;
        }
        let mut i = start;
        for p in pieces {
            match p {
                Piece::Lit(l) => {
                    if !hay[i..].starts_with(l) {
                        continue 'start;
                    }
                    i += l.len();
                }
                Piece::N | Piece::M => {
                    let digits = hay[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                    if digits == 0 {
                        continue 'start;
                    }
                    i += digits;
                }
            }
        }
        return Some(i);
    }
    None
}

/// Most bytes of a spec name kept raw from the summary table's rows, before cleaning.
const RAW_NAME_CAP: usize = 4 * NAME_CAP;

/// At most `max` bytes of `s`, cut at a character boundary.
fn capped(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

const BOX_V: &str = "│";
const MARK_FAIL: &str = "✖";
const MARK_PASS: &str = "✔";

#[derive(Debug, Default)]
pub(super) struct Summary {
    /// Offset of the `(Run Finished)` line: a restart re-reads the table from there.
    start: u64,
    pub(super) failed_specs: Vec<String>,
    /// The last spec row was a failed one (continuation rows extend its name).
    in_failed_row: bool,
}

pub(crate) struct LineMatcher {
    c: Compiled,
    pub(super) summary: Option<Summary>,
    pub(super) buf: Vec<u8>,
    /// Per rule string: the end of its first occurrence in the current (stripped) line.
    found: Vec<Option<usize>>,
    /// Use `found` (one search per line); off: every rule searches on its own, as the
    /// fuzz property's reference does.
    one_pass: bool,
    /// The current line was cut at `LINE_CAP`.
    cut: bool,
    redactor: Redactor,
}

impl LineMatcher {
    pub fn new(rules: &Rules, redactor: Redactor) -> Self {
        let c = Compiled::new(rules);
        LineMatcher {
            found: vec![None; c.strings.len()],
            c,
            summary: None,
            buf: Vec::new(),
            one_pass: true,
            cut: false,
            redactor,
        }
    }

    /// Inside a summary table every line matters.
    pub fn in_summary(&self) -> bool {
        self.summary.is_some()
    }

    /// Where the unfinished summary table began, if one is being read.
    pub fn summary_start(&self) -> Option<u64> {
        self.summary.as_ref().map(|s| s.start)
    }

    pub fn reset(&mut self) {
        self.summary = None;
    }

    /// Classifies one line (without its `\n`); `offset` is where the line starts; `cut`:
    /// the line was longer than `raw` (cut at `LINE_CAP`).
    pub fn line(&mut self, raw: &[u8], offset: u64, cut: bool) -> Option<Event> {
        self.cut = cut;
        let Some(first) = memchr::memchr2(0x1b, b'\r', raw) else {
            // Nothing to strip: the line is its own text, no copy.
            self.find_strings(raw);
            return self.classify(raw, offset);
        };
        let mut buf = std::mem::take(&mut self.buf);
        strip_from(raw, first, &mut buf);
        self.find_strings(&buf);
        let ev = self.classify(&buf, offset);
        self.buf = buf;
        ev
    }

    /// Every rule searches on its own (the reference the fuzz property compares with).
    #[doc(hidden)]
    pub fn set_one_pass(&mut self, on: bool) {
        self.one_pass = on;
    }

    /// Notes where each rule string first occurs in `text`.
    fn find_strings(&mut self, text: &[u8]) {
        if !self.one_pass {
            return;
        }
        self.found.fill(None);
        match &self.c.search {
            RuleSearch::Packed(p) => {
                let mut at = 0;
                while let Some(m) = p.find_in(text, aho_corasick::Span::from(at..text.len())) {
                    self.found[m.pattern().as_usize()].get_or_insert(m.end());
                    at = m.end();
                }
            }
            RuleSearch::Overlapping(ac) => {
                for m in ac.find_overlapping_iter(text) {
                    self.found[m.pattern().as_usize()].get_or_insert(m.end());
                }
            }
        }
    }

    /// Whether rule string `id` occurs in the line (always "maybe" without the one pass).
    fn occurs(&self, id: usize) -> bool {
        !self.one_pass || self.found[id].is_some()
    }

    /// The end of the first match of the first of category `cat`'s strings that occurs in
    /// the line.
    fn rule_end(&self, cat: Category, hay: &[u8]) -> Option<usize> {
        self.c.rules(cat).iter().find_map(|r| match r.id {
            Some(id) if self.one_pass => self.found[id],
            _ => r.finder.find(hay).map(|i| i + r.finder.needle().len()),
        })
    }

    fn classify(&mut self, text: &[u8], offset: u64) -> Option<Event> {
        if self.summary.is_some() {
            if let Some(result) = self.footer(text) {
                self.summary = None;
                return Some(Event::RunResult(result));
            }
            if self.table_row(text) {
                return None;
            }
        }
        if self.rule_end(Category::RunFinished, text).is_some() {
            self.summary = Some(Summary {
                start: offset,
                ..Default::default()
            });
            return None;
        }
        let ev = self.marker(text);
        if ev.is_some() {
            // Anything else that happens ends an unfinished table: it is abandoned.
            self.summary = None;
        }
        ev
    }

    fn footer(&mut self, text: &[u8]) -> Option<RunResult> {
        let (status, end) = if let Some(e) = self.rule_end(Category::AllPassed, text) {
            (Status::Completed, e)
        } else if let Some(e) = self
            .c
            .some_failed
            .iter()
            .find_map(|p| match_count_pattern(p, text))
        {
            (Status::Failed, e)
        } else if let Some(e) = self.rule_end(Category::RunCanceled, text) {
            (Status::Cancelled, e)
        } else {
            return None;
        };
        let (tests, duration) = footer_counts(&text[end..], &self.redactor);
        let failed_specs = self
            .summary
            .take()
            .map(|s| s.failed_specs)
            .unwrap_or_default()
            .iter()
            .map(|raw| clean_text(raw.as_bytes(), &self.redactor))
            .collect();
        Some(RunResult {
            status,
            tests,
            duration,
            failed_specs,
        })
    }

    /// A spec row of the summary table (`│ ✖  name   dur  counts │`) or a continuation
    /// row holding the rest of a wrapped name.
    fn table_row(&mut self, text: &[u8]) -> bool {
        let s = lossy(text);
        let (Some(first), Some(last)) = (s.find(BOX_V), s.rfind(BOX_V)) else {
            return false;
        };
        if last <= first {
            return false;
        }
        let Some(sum) = self.summary.as_mut() else {
            return false;
        };
        let inner = s[first + BOX_V.len()..last].trim();
        let name_part = |t: &str| t.split("  ").next().unwrap_or("").trim().to_string();
        // Names are kept raw until the footer: a wrapped name is joined first and cleaned
        // once, so that a secret split over rows is still found whole.
        if let Some(rest) = inner.strip_prefix(MARK_FAIL) {
            if sum.failed_specs.len() < 1000 {
                sum.failed_specs
                    .push(capped(&name_part(rest.trim_start()), RAW_NAME_CAP));
                sum.in_failed_row = true;
            }
        } else if inner.starts_with(MARK_PASS) || inner.starts_with('-') {
            sum.in_failed_row = false;
        } else if sum.in_failed_row
            && !inner.is_empty()
            && let Some(last) = sum.failed_specs.last_mut()
        {
            let room = RAW_NAME_CAP.saturating_sub(last.len());
            last.push_str(&capped(&name_part(inner), room));
        }
        true
    }

    fn marker(&self, text: &[u8]) -> Option<Event> {
        let c = &self.c;
        if let Some(e) = self.rule_end(Category::RunEnd, text) {
            let word = clean_text(&text[e..], &self.redactor);
            return Some(match Status::parse_terminal(&word) {
                Some(s) => Event::RunEnd(s),
                None => Event::Malformed(clean_text(text, &self.redactor)),
            });
        }
        if let Some(e) = self.rule_end(Category::GroupEnd, text) {
            let rest = clean_text(&text[e..], &self.redactor);
            let (name, word) = rest.rsplit_once(' ').unwrap_or(("", rest.as_str()));
            return Some(match Status::parse_terminal(word) {
                Some(status) => Event::GroupEnd {
                    name: name.trim().to_string(),
                    status,
                },
                None => Event::Malformed(clean_text(text, &self.redactor)),
            });
        }
        if let Some(e) = self.rule_end(Category::GroupStart, text) {
            let name = clean_text(&text[e..], &self.redactor);
            return Some(if name.is_empty() {
                Event::Malformed(clean_text(text, &self.redactor))
            } else {
                Event::GroupStart(name)
            });
        }
        if let Some(e) = self.rule_end(Category::Groups, text) {
            let list = lossy(&text[e..]).into_owned();
            let mut names = list
                .split(',')
                .map(|g| clean_text(g.as_bytes(), &self.redactor))
                .filter(|g| !g.is_empty());
            let mut groups: Vec<String> = names.by_ref().take(MAX_GROUPS).collect();
            let complete = !self.cut && names.next().is_none();
            if self.cut {
                // The last name may be cut too.
                groups.pop();
            }
            return Some(if groups.is_empty() {
                Event::Malformed(clean_text(text, &self.redactor))
            } else {
                Event::Groups {
                    names: groups,
                    complete,
                }
            });
        }
        if self.rule_end(Category::RunStarting, text).is_some() {
            return Some(Event::RunStarting);
        }
        if self.rule_end(Category::FailedToStart, text).is_some() {
            return Some(Event::FailedToStart(clean_text(text, &self.redactor)));
        }
        if self.rule_end(Category::TerminatedContains, text).is_some() {
            return Some(Event::Terminated(clean_text(text, &self.redactor)));
        }
        if c.rules(Category::TerminatedLines)
            .iter()
            .any(|r| r.id.is_some_and(|id| self.occurs(id)))
            || (c.terminated_need_lossy && std::str::from_utf8(text).is_err())
        {
            let s = lossy(text);
            let bare = strip_leading_timestamp(&s);
            if c.rules(Category::TerminatedLines)
                .iter()
                .any(|r| r.finder.needle() == bare.as_bytes())
            {
                return Some(Event::Terminated(clean_text(text, &self.redactor)));
            }
        }
        if let Some(e) = self.rule_end(Category::Progress, text) {
            let rest = lossy(&text[e..]);
            if let Some((spec, index, total)) = split_progress(&rest) {
                return Some(Event::Progress {
                    index,
                    total,
                    spec: clean_text(spec.as_bytes(), &self.redactor),
                });
            }
        }
        None
    }
}
