//! The log-line matcher: bytes in, events out. Pure and streaming.
//!
//! `LineMatcher` classifies one line (escape codes and `\r` removed first; invalid UTF-8
//! tolerated). It keeps one piece of state: whether it is inside a Cypress summary table
//! (after `(Run Finished)`), where it collects the failed spec names until the footer row
//! gives the result and the counts.
//!
//! `Scanner` feeds it from arbitrary chunks. Lines are cut at `LINE_CAP` bytes for
//! matching (never held whole). Outside a summary table only lines holding an anchor
//! (see `rules::anchor`) can mean anything, so the scanner finds candidates in the raw
//! buffer with Aho-Corasick instead of visiting every line; the same anchor test is
//! applied to lines that arrive in pieces, so the decisions never depend on chunking.
//!
//! Speed (README.md, "Performance"): candidates are searched leftmost-first, which lets
//! Aho-Corasick use its SIMD (Teddy) prefilter; a candidate line is stripped and searched
//! once for every rule string together (`RuleSearch`), so a line that merely mentions
//! `Running` costs one short search instead of one per rule.

use crate::model::{Status, Tests};
use crate::rules::{Piece, Rules, parse_count_pattern};
use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem::Finder;
use std::borrow::Cow;

/// How much of one line is looked at. Summary rows are ~1 KiB with colour codes.
pub const LINE_CAP: usize = 8192;
/// Longest name (spec, group) kept from the log.
pub const NAME_CAP: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
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
    Groups(Vec<String>),
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
pub struct RunResult {
    /// COMPLETED, FAILED or CANCELLED.
    pub status: Status,
    pub tests: Option<Tests>,
    /// Cypress's own duration column of the footer (`00:10`, `1:02:09`).
    pub duration: Option<String>,
    pub failed_specs: Vec<String>,
}

/// One string of a rule and its index among `Compiled::strings`.
struct Rule {
    finder: Finder<'static>,
    id: usize,
}

/// Finds, in one pass over a stripped candidate line, the first occurrence of every rule
/// string, so that the rules need no search of their own.
enum RuleSearch {
    /// Leftmost-first, non-overlapping (Teddy): exact because no two rule strings can
    /// overlap, so no occurrence hides another.
    Packed(aho_corasick::packed::Searcher),
    /// For rule sets whose strings can overlap.
    Overlapping(AhoCorasick),
}

struct Compiled {
    run_starting: Vec<Rule>,
    run_finished: Vec<Rule>,
    progress: Vec<Rule>,
    all_passed: Vec<Finder<'static>>,
    some_failed: Vec<Vec<Piece>>,
    run_canceled: Vec<Finder<'static>>,
    failed_to_start: Vec<Rule>,
    terminated_lines: Vec<(String, usize)>,
    /// A `terminated_lines` string holds U+FFFD, which the lossy text of invalid UTF-8 can
    /// produce without the bytes holding it.
    terminated_need_lossy: bool,
    terminated_contains: Vec<Rule>,
    groups: Vec<Rule>,
    group_start: Vec<Rule>,
    group_end: Vec<Rule>,
    run_end: Vec<Rule>,
    /// Every distinct string of the rules above (not the footer strings: inside a summary
    /// table every line is looked at in full anyway).
    strings: Vec<String>,
    search: RuleSearch,
}

fn finders(v: &[String]) -> Vec<Finder<'static>> {
    v.iter()
        .map(|s| Finder::new(s.as_bytes()).into_owned())
        .collect()
}

/// The end of the first match of any of `fs` in `hay`.
fn find_end(fs: &[Finder<'_>], hay: &[u8]) -> Option<usize> {
    fs.iter()
        .find_map(|f| f.find(hay).map(|i| i + f.needle().len()))
}

/// Whether occurrences of two different strings can overlap in some text: one inside the
/// other, or an end of one that is a start of the other.
fn can_overlap(a: &[u8], b: &[u8]) -> bool {
    let touches =
        |x: &[u8], y: &[u8]| (1..x.len().min(y.len())).any(|k| x[x.len() - k..] == y[..k]);
    memchr::memmem::find(a, b).is_some()
        || memchr::memmem::find(b, a).is_some()
        || touches(a, b)
        || touches(b, a)
}

impl Compiled {
    fn new(r: &Rules) -> Compiled {
        let mut strings: Vec<String> = [
            &r.run_starting,
            &r.run_finished,
            &r.progress,
            &r.failed_to_start,
            &r.terminated_lines,
            &r.terminated_contains,
            &r.groups,
            &r.group_start,
            &r.group_end,
            &r.run_end,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        strings.sort();
        strings.dedup();
        let id = |s: &str| {
            strings
                .binary_search_by(|x| x.as_str().cmp(s))
                .expect("listed")
        };
        let rules = |v: &[String]| -> Vec<Rule> {
            v.iter()
                .map(|s| Rule {
                    finder: Finder::new(s.as_bytes()).into_owned(),
                    id: id(s),
                })
                .collect()
        };
        let disjoint = strings.iter().enumerate().all(|(i, a)| {
            strings[i + 1..]
                .iter()
                .all(|b| !can_overlap(a.as_bytes(), b.as_bytes()))
        });
        let packed = disjoint
            .then(|| aho_corasick::packed::Searcher::new(strings.iter()))
            .flatten();
        let search = match packed {
            Some(p) => RuleSearch::Packed(p),
            None => RuleSearch::Overlapping(
                AhoCorasick::new(&strings).expect("rule strings are plain strings"),
            ),
        };
        Compiled {
            run_starting: rules(&r.run_starting),
            run_finished: rules(&r.run_finished),
            progress: rules(&r.progress),
            all_passed: finders(&r.all_passed),
            some_failed: r
                .some_failed
                .iter()
                .map(|p| parse_count_pattern(p))
                .collect(),
            run_canceled: finders(&r.run_canceled),
            failed_to_start: rules(&r.failed_to_start),
            terminated_lines: r
                .terminated_lines
                .iter()
                .map(|t| (t.clone(), id(t)))
                .collect(),
            terminated_need_lossy: r.terminated_lines.iter().any(|t| t.contains('\u{fffd}')),
            terminated_contains: rules(&r.terminated_contains),
            groups: rules(&r.groups),
            group_start: rules(&r.group_start),
            group_end: rules(&r.group_end),
            run_end: rules(&r.run_end),
            strings,
            search,
        }
    }
}

/// `bytes` as text, invalid UTF-8 replaced; borrowed (and validated fast) when valid.
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Appends `s` in 16-byte blocks the compiler copies inline. Runs between escape codes
/// are short, and a libc `memcpy` call for each (musl's moves bytes one at a time to align,
/// then starts `rep movsq`) costs more than the copy itself.
#[inline]
fn append(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len());
    let mut blocks = s.chunks_exact(16);
    for b in &mut blocks {
        let b: &[u8; 16] = b.try_into().expect("16-byte chunk");
        out.extend_from_slice(b);
    }
    for &b in blocks.remainder() {
        out.push(b);
    }
}

/// Removes ANSI escape sequences (CSI, OSC, two- and three-byte escapes) and every `\r`.
pub fn strip_ansi(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match memchr::memchr2(0x1b, b'\r', raw) {
        None => append(out, raw),
        Some(first) => strip_from(raw, first, out),
    }
}

/// `strip_ansi` once the first ESC or CR is known to be at `first`.
fn strip_from(raw: &[u8], first: usize, out: &mut Vec<u8>) {
    out.clear();
    append(out, &raw[..first]);
    let mut i = first;
    while i < raw.len() {
        // The plain bytes up to the next ESC or CR are copied as one run.
        let Some(k) = memchr::memchr2(0x1b, b'\r', &raw[i..]) else {
            append(out, &raw[i..]);
            return;
        };
        append(out, &raw[i..i + k]);
        i += k;
        if raw[i] == b'\r' {
            i += 1;
            continue;
        }
        i = escape_end(raw, i);
    }
}

/// The index just past the escape sequence whose ESC is at `raw[esc]`: CSI (`ESC [`
/// parameters, intermediates, final byte), OSC (`ESC ]` … BEL or `ESC \`), or a two- or
/// three-byte escape; a sequence cut off by the end of the line ends there.
pub(crate) fn escape_end(raw: &[u8], esc: usize) -> usize {
    let mut i = esc + 1;
    match raw.get(i) {
        Some(b'[') => {
            i += 1;
            while i < raw.len() && (0x20..=0x3f).contains(&raw[i]) {
                i += 1;
            }
            if i < raw.len() && (0x40..=0x7e).contains(&raw[i]) {
                i += 1;
            }
        }
        Some(b']') => {
            i += 1;
            while i < raw.len() {
                if raw[i] == 0x07 {
                    return i + 1;
                }
                if raw[i] == 0x1b && raw.get(i + 1) == Some(&b'\\') {
                    return i + 2;
                }
                i += 1;
            }
        }
        Some(_) => {
            while i < raw.len() && (0x20..=0x2f).contains(&raw[i]) {
                i += 1;
            }
            if i < raw.len() {
                i += 1;
            }
        }
        None => {}
    }
    i
}

/// Untrusted text from the log made printable: lossy UTF-8, webhook URLs redacted to
/// scheme and host, control characters dropped, whitespace runs folded, at most
/// `NAME_CAP` characters.
pub fn clean_text(bytes: &[u8]) -> String {
    let s = crate::config::redact_hook_urls(&lossy(bytes));
    let mut out = String::new();
    let (mut space, mut chars) = (false, 0);
    for c in s.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if c.is_control() {
            continue;
        }
        // A folded space counts too: the cap holds for the whole text.
        let sep = space && !out.is_empty();
        if chars + 1 + usize::from(sep) > NAME_CAP {
            break;
        }
        if sep {
            out.push(' ');
        }
        space = false;
        out.push(c);
        chars += 1 + usize::from(sep);
    }
    out
}

/// Drops a leading timestamp: one `[...]` group, then words made only of digits and
/// `-:.,TZ+`, or month abbreviations (`2026-11-21 10:00:00`, `Nov 22 10:00:00`).
pub fn strip_leading_timestamp(s: &str) -> &str {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut t = s.trim_start();
    if t.starts_with('[')
        && let Some(end) = t.find(']')
    {
        t = t[end + 1..].trim_start();
    }
    loop {
        let word_len = t.find(char::is_whitespace).unwrap_or(t.len());
        let word = &t[..word_len];
        let stamp_like = !word.is_empty()
            && (word
                .chars()
                .all(|c| c.is_ascii_digit() || "-:.,TZ+".contains(c))
                || MONTHS.contains(&word));
        if !stamp_like || word_len == t.len() {
            return t.trim_end();
        }
        t = t[word_len..].trim_start();
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
fn footer_counts(rest: &[u8]) -> (Option<Tests>, Option<String>) {
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
    let duration = (toks.len() >= 6).then(|| clean_text(toks[toks.len() - 6].as_bytes()));
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

const BOX_V: &str = "│";
const MARK_FAIL: &str = "✖";
const MARK_PASS: &str = "✔";

#[derive(Debug, Default)]
struct Summary {
    /// Offset of the `(Run Finished)` line: a restart re-reads the table from there.
    start: u64,
    failed_specs: Vec<String>,
    /// The last spec row was a failed one (continuation rows extend its name).
    in_failed_row: bool,
}

pub struct LineMatcher {
    c: Compiled,
    summary: Option<Summary>,
    buf: Vec<u8>,
    /// Per rule string: the end of its first occurrence in the current (stripped) line.
    found: Vec<Option<usize>>,
    /// Use `found` (one search per line); off: every rule searches on its own, as the
    /// fuzz property's reference does.
    one_pass: bool,
}

impl LineMatcher {
    pub fn new(rules: &Rules) -> Self {
        let c = Compiled::new(rules);
        LineMatcher {
            found: vec![None; c.strings.len()],
            c,
            summary: None,
            buf: Vec::with_capacity(LINE_CAP),
            one_pass: true,
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

    /// Classifies one line (without its `\n`); `offset` is where the line starts.
    pub fn line(&mut self, raw: &[u8], offset: u64) -> Option<Event> {
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

    /// The end of the first match of the first of `rules` that occurs in the line.
    fn rule_end(&self, rules: &[Rule], hay: &[u8]) -> Option<usize> {
        if self.one_pass {
            rules.iter().find_map(|r| self.found[r.id])
        } else {
            rules
                .iter()
                .find_map(|r| r.finder.find(hay).map(|i| i + r.finder.needle().len()))
        }
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
        if self.rule_end(&self.c.run_finished, text).is_some() {
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
        let (status, end) = if let Some(e) = find_end(&self.c.all_passed, text) {
            (Status::Completed, e)
        } else if let Some(e) = self
            .c
            .some_failed
            .iter()
            .find_map(|p| match_count_pattern(p, text))
        {
            (Status::Failed, e)
        } else if let Some(e) = find_end(&self.c.run_canceled, text) {
            (Status::Cancelled, e)
        } else {
            return None;
        };
        let (tests, duration) = footer_counts(&text[end..]);
        let failed_specs = self
            .summary
            .take()
            .map(|s| s.failed_specs)
            .unwrap_or_default();
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
        if let Some(rest) = inner.strip_prefix(MARK_FAIL) {
            let name = name_part(rest.trim_start());
            if sum.failed_specs.len() < 1000 {
                sum.failed_specs.push(clean_text(name.as_bytes()));
                sum.in_failed_row = true;
            }
        } else if inner.starts_with(MARK_PASS) || inner.starts_with('-') {
            sum.in_failed_row = false;
        } else if sum.in_failed_row
            && !inner.is_empty()
            && let Some(last) = sum.failed_specs.last_mut()
        {
            let more = clean_text(name_part(inner).as_bytes());
            if last.len() + more.len() <= NAME_CAP {
                last.push_str(&more);
            }
        }
        true
    }

    fn marker(&self, text: &[u8]) -> Option<Event> {
        let c = &self.c;
        if let Some(e) = self.rule_end(&c.run_end, text) {
            let word = clean_text(&text[e..]);
            return Some(match Status::parse_terminal(&word) {
                Some(s) => Event::RunEnd(s),
                None => Event::Malformed(clean_text(text)),
            });
        }
        if let Some(e) = self.rule_end(&c.group_end, text) {
            let rest = clean_text(&text[e..]);
            let (name, word) = rest.rsplit_once(' ').unwrap_or(("", rest.as_str()));
            return Some(match Status::parse_terminal(word) {
                Some(status) => Event::GroupEnd {
                    name: name.trim().to_string(),
                    status,
                },
                None => Event::Malformed(clean_text(text)),
            });
        }
        if let Some(e) = self.rule_end(&c.group_start, text) {
            let name = clean_text(&text[e..]);
            return Some(if name.is_empty() {
                Event::Malformed(clean_text(text))
            } else {
                Event::GroupStart(name)
            });
        }
        if let Some(e) = self.rule_end(&c.groups, text) {
            let list = lossy(&text[e..]).into_owned();
            let groups: Vec<String> = list
                .split(',')
                .map(|g| clean_text(g.as_bytes()))
                .filter(|g| !g.is_empty())
                .take(99)
                .collect();
            return Some(if groups.is_empty() {
                Event::Malformed(clean_text(text))
            } else {
                Event::Groups(groups)
            });
        }
        if self.rule_end(&c.run_starting, text).is_some() {
            return Some(Event::RunStarting);
        }
        if self.rule_end(&c.failed_to_start, text).is_some() {
            return Some(Event::FailedToStart(clean_text(text)));
        }
        if self.rule_end(&c.terminated_contains, text).is_some() {
            return Some(Event::Terminated(clean_text(text)));
        }
        if c.terminated_lines.iter().any(|(_, id)| self.occurs(*id))
            || (c.terminated_need_lossy && std::str::from_utf8(text).is_err())
        {
            let s = lossy(text);
            let bare = strip_leading_timestamp(&s);
            if c.terminated_lines.iter().any(|(t, _)| t == bare) {
                return Some(Event::Terminated(clean_text(text)));
            }
        }
        if let Some(e) = self.rule_end(&c.progress, text) {
            let rest = lossy(&text[e..]);
            if let Some((spec, index, total)) = split_progress(&rest) {
                return Some(Event::Progress {
                    index,
                    total,
                    spec: clean_text(spec.as_bytes()),
                });
            }
        }
        None
    }
}

/// The leftmost-first search for anchors in the raw bytes: the packed SIMD searcher
/// (Teddy) itself where it can be built, which spares the automaton that `AhoCorasick`
/// runs after it to confirm each hit; `AhoCorasick` (leftmost-first too) otherwise.
enum AnchorSearch {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl AnchorSearch {
    fn new(anchors: &[String]) -> AnchorSearch {
        match aho_corasick::packed::Searcher::new(anchors.iter()) {
            Some(p) => AnchorSearch::Packed(p),
            None => AnchorSearch::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(anchors)
                    .expect("anchors are plain strings"),
            ),
        }
    }

    /// Start and end of the leftmost-first anchor in `hay`.
    fn find(&self, hay: &[u8]) -> Option<(usize, usize)> {
        match self {
            AnchorSearch::Packed(p) => p.find(hay).map(|m| (m.start(), m.end())),
            AnchorSearch::Automaton(a) => a.find(hay).map(|m| (m.start(), m.end())),
        }
    }

    fn is_match(&self, hay: &[u8]) -> bool {
        self.find(hay).is_some()
    }
}

/// Streams a file's bytes through the matcher, in chunks of any size.
pub struct Scanner {
    matcher: LineMatcher,
    anchors: AnchorSearch,
    /// The start of an unfinished line (at most `LINE_CAP` bytes of it).
    carry: Vec<u8>,
    in_line: bool,
    /// Offset of the unfinished line.
    line_start: u64,
    /// Offset of the next byte to be fed.
    pos: u64,
}

impl Scanner {
    pub fn new(rules: &Rules) -> Scanner {
        let anchors = AnchorSearch::new(&rules.anchors());
        Scanner {
            matcher: LineMatcher::new(rules),
            anchors,
            carry: Vec::with_capacity(LINE_CAP),
            in_line: false,
            line_start: 0,
            pos: 0,
        }
    }

    /// Starts over at `offset` of a (new, truncated or resumed) file.
    pub fn reset(&mut self, offset: u64) {
        self.matcher.reset();
        self.carry.clear();
        self.in_line = false;
        self.pos = offset;
        self.line_start = offset;
    }

    /// Offset of the next byte to be fed.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Where a restart must read again from so that nothing is missed or decided twice:
    /// the start of an unfinished line or of an unfinished summary table.
    pub fn resume_offset(&self) -> u64 {
        let mut off = self.pos;
        if self.in_line {
            off = off.min(self.line_start);
        }
        if let Some(s) = self.matcher.summary_start() {
            off = off.min(s);
        }
        off
    }

    fn push_carry(&mut self, bytes: &[u8]) {
        let room = LINE_CAP.saturating_sub(self.carry.len());
        self.carry
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// One line; `hit` says the search already found an anchor in its first `LINE_CAP`
    /// bytes (no need to look again).
    fn line(&mut self, line: &[u8], offset: u64, hit: bool, out: &mut Vec<Event>) {
        let line = &line[..line.len().min(LINE_CAP)];
        if !hit && !self.matcher.in_summary() && !self.anchors.is_match(line) {
            return;
        }
        if let Some(ev) = self.matcher.line(line, offset) {
            out.push(ev);
        }
    }

    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) {
        let base = self.pos;
        self.pos += chunk.len() as u64;
        let mut i = 0;
        if self.in_line {
            let Some(nl) = memchr::memchr(b'\n', chunk) else {
                self.push_carry(chunk);
                return;
            };
            self.push_carry(&chunk[..nl]);
            let carry = std::mem::take(&mut self.carry);
            self.line(&carry, self.line_start, false, out);
            self.carry = carry;
            self.carry.clear();
            self.in_line = false;
            i = nl + 1;
        }
        let end = memchr::memrchr(b'\n', &chunk[i..]).map_or(i, |r| i + r + 1);
        while i < end {
            if self.matcher.in_summary() {
                let nl =
                    i + memchr::memchr(b'\n', &chunk[i..end]).expect("region ends with a newline");
                self.line(&chunk[i..nl], base + i as u64, true, out);
                i = nl + 1;
                continue;
            }
            let Some((start, stop)) = self.anchors.find(&chunk[i..end]) else {
                break;
            };
            let (hit, hit_end) = (i + start, i + stop);
            let ls = memchr::memrchr(b'\n', &chunk[i..hit]).map_or(i, |r| i + r + 1);
            let nl =
                hit + memchr::memchr(b'\n', &chunk[hit..end]).expect("region ends with a newline");
            self.line(
                &chunk[ls..nl],
                base + ls as u64,
                hit_end - ls <= LINE_CAP,
                out,
            );
            i = nl + 1;
        }
        if end < chunk.len() {
            self.in_line = true;
            self.line_start = base + end as u64;
            self.push_carry(&chunk[end..]);
        }
    }

    /// End of this file: an unfinished last line counts as a line.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        if self.in_line {
            let carry = std::mem::take(&mut self.carry);
            self.line(&carry, self.line_start, false, out);
            self.carry = carry;
            self.carry.clear();
            self.in_line = false;
        }
    }
}

#[doc(hidden)]
pub mod check;

#[cfg(test)]
mod tests;
