//! One line's meaning. `LineMatcher` classifies a line (escape codes and `\r` removed
//! first; invalid UTF-8 tolerated) into events. It keeps two pieces of state: the summary
//! table being read after `(Run Finished)` (`summary_table.rs`), and the construct of a
//! spec's output left open (`spec_output.rs`: a failure list, a retry, a reason).
//!
//! A candidate line is searched once for every rule string together (`RuleSearch`), so a
//! line that merely mentions `Running` costs one short search instead of one per rule.

use super::compile::{Compiled, RuleSearch};
use super::fatal::FatalTail;
use super::lookback::Lookback;
use super::spec_output::{Clean, SpecOutput, split_progress};
use super::summary_table::{Summary, footer_counts, match_count_pattern};
use super::text::{clean_text, clean_text_to, lossy, strip_from, strip_leading_timestamp};
use crate::data::caps::{MAX_GROUPS, TEXT_CAP};
use crate::data::run::{SpecRow, Tests};
use crate::data::status::Status;
use crate::heart::redact::Redactor;
use crate::heart::rules::{Category, Rules};

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
    /// The run ended on one of Cypress's own errors: its line (with its detail). Seen when
    /// the end is certain (the next run or group marker follows it), before that marker.
    FatalError(String),
    /// An ATVM marker line that could not be understood (logged as a warning).
    Malformed(String),
    /// Entry `number` of the failure list of the spec in progress: its full title, its
    /// error's first line.
    TestFailed {
        number: u32,
        title: String,
        error: Option<String>,
    },
    /// Why the spec in progress may have failed without a list (a bundle error, a crash).
    SpecError(String),
    /// A retried test of the spec in progress passed on attempt `attempts`.
    Flaky { title: String, attempts: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RunResult {
    /// COMPLETED, FAILED or CANCELLED.
    pub status: Status,
    pub tests: Option<Tests>,
    /// Cypress's own duration column of the footer (`00:10`, `1:02:09`).
    pub duration: Option<String>,
    pub failed_specs: Vec<String>,
    /// The table's rows (at most `MAX_SPECS`).
    pub specs: Vec<SpecRow>,
}

impl Event {
    /// It decides something about the run (every marker but a plan): a fatal error the log
    /// rested on before it is moot, and lines read back for the next one start here.
    pub fn decides(&self) -> bool {
        !matches!(
            self,
            Event::Groups { .. }
                | Event::Malformed(_)
                | Event::TestFailed { .. }
                | Event::SpecError(_)
                | Event::Flaky { .. }
        )
    }

    /// The texts it carries from the log, each with the cap it was cleaned to.
    #[cfg(any(test, feature = "testing"))]
    pub fn texts(&self) -> Vec<(&str, usize)> {
        use crate::data::caps::NAME_CAP;
        fn names(v: &[String]) -> Vec<(&str, usize)> {
            v.iter().map(|s| (s.as_str(), NAME_CAP)).collect()
        }
        match self {
            Event::Progress { spec, .. } => vec![(spec, NAME_CAP)],
            Event::FailedToStart(s) | Event::Terminated(s) | Event::Malformed(s) => {
                vec![(s, NAME_CAP)]
            }
            Event::FatalError(s) => vec![(s, TEXT_CAP)],
            Event::GroupStart(s) => vec![(s, NAME_CAP)],
            Event::GroupEnd { name, .. } => vec![(name, NAME_CAP)],
            Event::Groups { names: g, .. } => names(g),
            Event::RunResult(r) => {
                let mut v: Vec<(&str, usize)> = names(&r.failed_specs);
                v.extend(r.duration.as_deref().map(|d| (d, NAME_CAP)));
                for s in &r.specs {
                    v.push((&s.name, NAME_CAP));
                    v.extend(s.duration.as_deref().map(|d| (d, NAME_CAP)));
                }
                v
            }
            Event::TestFailed { title, error, .. } => {
                let mut v = vec![(title.as_str(), TEXT_CAP)];
                v.extend(error.as_deref().map(|e| (e, TEXT_CAP)));
                v
            }
            Event::SpecError(s) => vec![(s, TEXT_CAP)],
            Event::Flaky { title, .. } => vec![(title, TEXT_CAP)],
            Event::RunStarting | Event::RunEnd(_) => Vec::new(),
        }
    }
}

pub(crate) struct LineMatcher {
    c: Compiled,
    summary: Option<Summary>,
    pub(super) buf: Vec<u8>,
    /// Per rule string: the end of its first occurrence in the current (stripped) line.
    found: Vec<Option<usize>>,
    /// Use `found` (one search per line); off: every rule searches on its own, as the
    /// fuzz property's reference does.
    one_pass: bool,
    /// The current line was cut at `LINE_CAP`.
    cut: bool,
    redactor: Redactor,
    spec: SpecOutput,
    /// Where the last line that decided something about the run begins (a marker, a
    /// summary table): lines read back for a fatal error start there.
    boundary: u64,
    /// The lines since `boundary`, for the fatal error they may end on.
    tail: FatalTail,
}

/// The spec output's texts are cleaned by the matcher's redactor: spec names to `NAME_CAP`,
/// titles and errors to `TEXT_CAP`.
struct Cleaner<'a>(&'a Redactor);

impl Clean for Cleaner<'_> {
    fn name(&self, text: &str) -> String {
        clean_text(text.as_bytes(), self.0)
    }
    fn text(&self, text: &str) -> String {
        clean_text_to(text.as_bytes(), self.0, TEXT_CAP)
    }
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
            spec: SpecOutput::default(),
            boundary: 0,
            tail: FatalTail::default(),
        }
    }

    /// Inside a summary table, or an open construct of a spec's output, every line matters.
    pub fn wants_every_line(&self) -> bool {
        self.summary.is_some() || self.spec.busy()
    }

    /// Where the unfinished table or spec-output construct began: a restart reads from there.
    pub fn open_since(&self) -> Option<u64> {
        let table = self.summary.as_ref().map(|s| s.start);
        [table, self.spec.since()].into_iter().flatten().min()
    }

    /// The log goes on in a new file (rotated, truncated by a copytruncate; or the first
    /// one, opened where a restart resumes), read from `at`, where the last decision is
    /// taken to be. A block left open (the summary table, a failure list) goes on in it:
    /// Cypress wrote on, the cut is logrotate's. What the old file held before `at` cannot
    /// be read back from the new one: the lines looked back at start at `at`, and so does
    /// a restart's reading of the open block.
    pub fn new_file(&mut self, at: u64) {
        if let Some(sum) = self.summary.as_mut() {
            sum.start = at;
        }
        self.spec.moved_to(at);
        self.boundary = at;
        self.tail.reset(at);
    }

    /// Where the last line that decided something about the run begins.
    pub fn boundary(&self) -> u64 {
        self.boundary
    }

    /// The fatal error among the lines from the last decision to `to`, if any.
    pub fn fatal_before(&mut self, back: &dyn Lookback, to: u64) -> Option<String> {
        self.tail
            .find(&self.c, back, self.boundary, to, &self.redactor)
    }

    /// Nothing before `at` is to be decided again (a fatal error was decided there).
    pub fn settle(&mut self, at: u64) {
        self.boundary = self.boundary.max(at);
    }

    /// Classifies one line (without its `\n`); `offset` is where the line starts; `cut`:
    /// the line was longer than `raw` (cut at `LINE_CAP`). Its events go to `out`.
    /// `back` reads the log again for what the scan skipped.
    pub fn line(
        &mut self,
        raw: &[u8],
        offset: u64,
        cut: bool,
        back: &dyn Lookback,
        out: &mut Vec<Event>,
    ) {
        self.cut = cut;
        let Some(first) = memchr::memchr2(0x1b, b'\r', raw) else {
            // Nothing to strip: the line is its own text, no copy.
            self.find_strings(raw);
            return self.classify(raw, offset, back, out);
        };
        let mut buf = std::mem::take(&mut self.buf);
        strip_from(raw, first, &mut buf);
        self.find_strings(&buf);
        self.classify(&buf, offset, back, out);
        self.buf = buf;
    }

    /// Every rule searches on its own (the reference the fuzz property compares with).
    #[cfg(any(test, feature = "testing"))]
    pub fn set_one_pass(&mut self, on: bool) {
        self.one_pass = on;
    }

    /// Rows of the summary table being read, and failed names past them.
    #[cfg(any(test, feature = "testing"))]
    pub fn table_size(&self) -> (usize, usize) {
        self.summary
            .as_ref()
            .map_or((0, 0), |s| (s.rows.len(), s.more_failed.len()))
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

    fn classify(&mut self, text: &[u8], offset: u64, back: &dyn Lookback, out: &mut Vec<Event>) {
        if self.summary.is_some() {
            if let Some(result) = self.footer(text) {
                self.boundary = offset;
                return out.push(Event::RunResult(result));
            }
            if self
                .summary
                .as_mut()
                .is_some_and(|sum| sum.row(&lossy(text)))
            {
                return;
            }
        }
        if self.rule_end(Category::RunFinished, text).is_some() {
            self.spec.reset(&Cleaner(&self.redactor), out);
            self.summary = Some(Summary::new(offset));
            self.boundary = offset;
            return;
        }
        if let Some(ev) = self.marker(text) {
            self.decide_at(&ev, offset, back, out);
            // Anything else that happens ends an unfinished table (it is abandoned) and
            // whatever the spec's output had open, so that a restart never reads a marker twice;
            // a new spec may open a wrapped name.
            self.summary = None;
            let clean = Cleaner(&self.redactor);
            match &ev {
                Event::Progress { index, total, spec } => {
                    self.spec
                        .running((*index, *total, spec), offset, &clean, out)
                }
                _ => self.spec.reset(&clean, out),
            }
            return out.push(ev);
        }
        let since = self.boundary;
        self.spec.line(
            &lossy(text),
            offset,
            (back, since),
            &Cleaner(&self.redactor),
            out,
        );
    }

    /// A marker at `offset`: the end of a run that Cypress's own error stopped becomes
    /// certain at the next run or group marker (its error goes out first); every marker
    /// but a plan is where the next such look starts.
    fn decide_at(&mut self, ev: &Event, offset: u64, back: &dyn Lookback, out: &mut Vec<Event>) {
        let certain = matches!(
            ev,
            Event::RunStarting | Event::GroupStart(_) | Event::GroupEnd { .. } | Event::RunEnd(_)
        );
        if certain && let Some(line) = self.fatal_before(back, offset) {
            out.push(Event::FatalError(line));
        }
        if ev.decides() {
            self.boundary = offset;
        }
    }

    /// The footer row: the run's result, with the table's rows.
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
        let rest = lossy(&text[end..]);
        let (tests, duration) = footer_counts(&rest);
        let clean = |t: &str| clean_text(t.as_bytes(), &self.redactor);
        let (specs, failed_specs) = self.summary.take().unwrap_or_default().finish(clean);
        Some(RunResult {
            status,
            tests,
            duration: duration.map(clean),
            failed_specs,
            specs,
        })
    }

    fn marker(&self, text: &[u8]) -> Option<Event> {
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
            return Some(self.plan(text, e));
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
        if self.terminated_line(text) {
            return Some(Event::Terminated(clean_text(text, &self.redactor)));
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

impl LineMatcher {
    /// `ATVM_GROUPS: a,b,c` from `e` on: the plan, and whether it is whole (not past
    /// `MAX_GROUPS`, from a line that was not cut).
    fn plan(&self, text: &[u8], e: usize) -> Event {
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
        if groups.is_empty() {
            return Event::Malformed(clean_text(text, &self.redactor));
        }
        Event::Groups {
            names: groups,
            complete,
        }
    }

    /// A line that is exactly a `terminated_lines` string once a leading timestamp is gone.
    fn terminated_line(&self, text: &[u8]) -> bool {
        let rules = self.c.rules(Category::TerminatedLines);
        let candidate = rules.iter().any(|r| r.id.is_some_and(|id| self.occurs(id)))
            || (self.c.terminated_need_lossy && std::str::from_utf8(text).is_err());
        if !candidate {
            return false;
        }
        let s = lossy(text);
        let bare = strip_leading_timestamp(&s);
        rules.iter().any(|r| r.finder.needle() == bare.as_bytes())
    }
}
