//! The summary table after `(Run Finished)`: every spec row (a long name wraps onto extra
//! rows, joined without a separator) and the footer row's counts. Names are kept raw
//! until the footer, then cleaned once, so that a secret split over rows is found whole.

use super::text::capped;
use crate::data::caps::{DURATION_TEXT_CAP, MAX_FAILED_SPECS, MAX_SPECS, RAW_NAME_CAP};
use crate::data::run::{SKIPPED, SpecRow, Tests};
use crate::heart::rules::Piece;

const BOX_V: &str = "│";
const MARK_FAIL: &str = "✖";
const MARK_PASS: &str = "✔";
/// A spec skipped by a cancelled run.
const MARK_SKIP: &str = "-";

/// One row, raw.
#[derive(Debug, Default)]
pub(super) struct Row {
    pub name: String,
    pub failed: bool,
    /// Skipped by a cancelled run (`-`, `SKIPPED`): it did not run.
    pub skipped: bool,
    /// Tests, passing, failing, pending, skipped.
    pub counts: [u64; 5],
    pub duration: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct Summary {
    /// Offset of the `(Run Finished)` line: a restart re-reads the table from there.
    pub start: u64,
    /// The first `MAX_SPECS` rows.
    pub rows: Vec<Row>,
    /// The names of failed rows past `MAX_SPECS`.
    pub more_failed: Vec<String>,
    /// The last row can go on (a wrapped name); where its name is.
    open: Option<Open>,
}

#[derive(Debug, Clone, Copy)]
enum Open {
    Row,
    MoreFailed,
}

/// `-` is 0; numbers from the log saturate rather than fail.
fn count(t: &str) -> Option<u64> {
    if t == "-" {
        return Some(0);
    }
    t.bytes().all(|b| b.is_ascii_digit()).then(|| {
        t.bytes().fold(0u64, |n, b| {
            n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        })
    })
}

impl Summary {
    pub fn new(start: u64) -> Summary {
        Summary {
            start,
            ..Summary::default()
        }
    }

    /// A spec row (`│ ✖  name   dur  counts │`) or a continuation row holding the rest of
    /// a wrapped name; false when `s` is no row of the table.
    pub fn row(&mut self, s: &str) -> bool {
        let (Some(first), Some(last)) = (s.find(BOX_V), s.rfind(BOX_V)) else {
            return false;
        };
        if last <= first {
            return false;
        }
        let inner = s[first + BOX_V.len()..last].trim();
        let mark = [MARK_FAIL, MARK_PASS, MARK_SKIP]
            .into_iter()
            .find(|m| inner.starts_with(m));
        match mark {
            Some(m) => self.new_row(m, inner[m.len()..].trim_start()),
            None if !inner.is_empty() => self.continue_row(name_part(inner)),
            None => {}
        }
        true
    }

    fn new_row(&mut self, mark: &str, rest: &str) {
        let name = name_part(rest);
        let toks: Vec<&str> = rest[name.len()..].split_whitespace().collect();
        let failed = mark == MARK_FAIL;
        let mut row = Row {
            name: capped(name, RAW_NAME_CAP),
            failed,
            skipped: mark == MARK_SKIP,
            ..Row::default()
        };
        if let [duration, nums @ ..] = toks.as_slice()
            && nums.len() == 5
            && let Some(c) = nums.iter().map(|t| count(t)).collect::<Option<Vec<u64>>>()
        {
            row.counts.copy_from_slice(&c);
            row.duration = Some(capped(duration, DURATION_TEXT_CAP));
        }
        self.open = if self.rows.len() < MAX_SPECS {
            self.rows.push(row);
            Some(Open::Row)
        } else if failed && self.more_failed.len() < MAX_FAILED_SPECS {
            self.more_failed.push(row.name);
            Some(Open::MoreFailed)
        } else {
            None
        };
    }

    fn continue_row(&mut self, more: &str) {
        let name = match self.open {
            Some(Open::Row) => self.rows.last_mut().map(|r| &mut r.name),
            Some(Open::MoreFailed) => self.more_failed.last_mut(),
            None => None,
        };
        if let Some(name) = name {
            let room = RAW_NAME_CAP.saturating_sub(name.len());
            name.push_str(&capped(more, room));
        }
    }

    /// The rows, as the result keeps them (a skipped spec's with zero counts and the
    /// duration `SKIPPED`), and the failed spec names; `clean` cleans and caps a raw text.
    pub fn finish(self, clean: impl Fn(&str) -> String) -> (Vec<SpecRow>, Vec<String>) {
        let mut failed: Vec<String> = Vec::new();
        let specs = self
            .rows
            .into_iter()
            .map(|r| {
                let name = clean(&r.name);
                if r.failed {
                    failed.push(name.clone());
                }
                let [tests, passed, failed, pending, skipped] = r.counts;
                SpecRow {
                    name,
                    tests,
                    passed,
                    failed,
                    pending,
                    skipped,
                    duration: match r.skipped {
                        true => Some(SKIPPED.to_string()),
                        false => r.duration.map(|d| clean(&d)),
                    },
                }
            })
            .collect();
        failed.extend(self.more_failed.iter().map(|n| clean(n)));
        (specs, failed)
    }
}

/// The name column of a row: up to the first run of two blanks.
fn name_part(t: &str) -> &str {
    t.split("  ").next().unwrap_or("").trim()
}

/// The numbers of a summary footer after its marker: `[(P%)] duration tests passing
/// failing pending skipped`, `-` meaning 0; the duration raw.
pub(super) fn footer_counts(rest: &str) -> (Option<Tests>, Option<&str>) {
    let mut toks: Vec<&str> = rest.split_whitespace().collect();
    if toks
        .first()
        .is_some_and(|t| t.starts_with('(') && t.ends_with("%)"))
    {
        toks.remove(0);
    }
    if toks.len() < 5 {
        return (None, None);
    }
    let nums: Option<Vec<u64>> = toks[toks.len() - 5..].iter().map(|t| count(t)).collect();
    let Some(n) = nums else { return (None, None) };
    let duration = (toks.len() >= 6).then(|| toks[toks.len() - 6]);
    let tests = Tests {
        total: n[0],
        passed: n[1],
        failed: n[2],
        pending: n[3],
        skipped: n[4],
    };
    (Some(tests), duration)
}

/// Matches a `{n} of {m} failed` pattern anywhere in `hay`; returns the end of the match.
pub(super) fn match_count_pattern(pieces: &[Piece], hay: &[u8]) -> Option<usize> {
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
