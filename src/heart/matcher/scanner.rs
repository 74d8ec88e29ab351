//! Streams a file's bytes through the line matcher, in chunks of any size.
//!
//! Lines end at `\n`, and at `\0`: a run of NULs is no part of any line (a writer that
//! does not append leaves one after a copytruncate, before its next line). Lines are cut
//! at `LINE_CAP` bytes for matching (never held whole). Outside a summary
//! table only lines holding an anchor (see `rules::anchor`) can mean anything, so the
//! scanner finds candidates in the raw buffer with Aho-Corasick instead of visiting every
//! line; the same anchor test is applied to lines that arrive in pieces, so the decisions
//! never depend on chunking.

use super::Event;
use super::classify::LineMatcher;
use super::compile::AnchorSearch;
use super::lookback::Lookback;
use crate::data::caps::LINE_CAP;
use crate::heart::redact::Redactor;
use crate::heart::rules::Rules;

/// The sizes of a scanner's buffers.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug)]
pub(crate) struct Memory {
    /// Bytes of an unfinished line held, and the capacity holding them.
    pub carry: usize,
    pub carry_capacity: usize,
    /// The capacity of the buffer a line is cleaned into.
    pub line_capacity: usize,
    /// Rows of the summary table being read, and failed names past them.
    pub table_rows: usize,
    pub table_more_failed: usize,
}

/// Streams a file's bytes through the matcher, in chunks of any size.
pub(crate) struct Scanner {
    matcher: LineMatcher,
    anchors: AnchorSearch,
    /// The start of an unfinished line (at most `LINE_CAP` bytes of it).
    carry: Vec<u8>,
    /// The unfinished line is longer than what `carry` holds.
    carry_cut: bool,
    in_line: bool,
    /// Offset of the unfinished line.
    line_start: u64,
    /// Offset of the next byte to be fed.
    pos: u64,
}

impl Scanner {
    /// `redactor` removes secrets from every text the events carry.
    pub fn new(rules: &Rules, redactor: Redactor) -> Scanner {
        let anchors = AnchorSearch::new(&super::compile::anchors(rules));
        Scanner {
            matcher: LineMatcher::new(rules, redactor),
            anchors,
            carry: Vec::new(),
            carry_cut: false,
            in_line: false,
            line_start: 0,
            pos: 0,
        }
    }

    /// Goes on at `offset` of a new (or truncated) file.
    pub fn reset(&mut self, offset: u64) {
        self.resume_at(offset, offset);
    }

    /// Goes on at `offset` of a file whose last decision was made at `boundary` (what a
    /// restart saved: `boundary()`). A block that Cypress left open in the file before (a
    /// summary table, a failure list: a rotation or copytruncate cut it) goes on in this
    /// one; an unfinished line does not (the closed file's was finished as a line).
    pub fn resume_at(&mut self, offset: u64, boundary: u64) {
        self.matcher.new_file(boundary.min(offset));
        self.carry.clear();
        self.carry_cut = false;
        self.in_line = false;
        self.pos = offset;
        self.line_start = offset;
    }

    /// Offset of the next byte to be fed.
    #[cfg(any(test, feature = "testing"))]
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Where the last line that decided something about the run begins: the lines read
    /// back for a fatal error start there (a restart saves it with `resume_offset`).
    pub fn boundary(&self) -> u64 {
        self.matcher.boundary()
    }

    /// The fatal error that the log, as far as it is read, ends on (contract §5: the end
    /// is certain once the log stays quiet for the grace, or the run's process exits).
    /// An unfinished last line is not read yet (as in the scan), until `finish`.
    pub fn at_rest(&mut self, back: &dyn Lookback) -> Option<String> {
        let lines_end = if self.in_line {
            self.line_start
        } else {
            self.pos
        };
        self.matcher.fatal_before(back, lines_end)
    }

    /// The fatal error found at rest was decided: it is not found again.
    pub fn settle(&mut self) {
        self.matcher.settle(self.pos);
    }

    /// Where a restart must read again from so that nothing is missed or decided twice:
    /// the start of an unfinished line or of an unfinished summary table.
    pub fn resume_offset(&self) -> u64 {
        let mut off = self.pos;
        if self.in_line {
            off = off.min(self.line_start);
        }
        if let Some(s) = self.matcher.open_since() {
            off = off.min(s);
        }
        off
    }

    fn push_carry(&mut self, bytes: &[u8]) {
        let room = LINE_CAP.saturating_sub(self.carry.len());
        self.carry_cut |= bytes.len() > room;
        self.carry
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// One line; `hit` says the search already found an anchor in its first `LINE_CAP`
    /// bytes (no need to look again); `cut`: the line went on beyond what is given.
    fn line(
        &mut self,
        line: &[u8],
        offset: u64,
        hit: bool,
        cut: bool,
        back: &dyn Lookback,
        out: &mut Vec<Event>,
    ) {
        let cut = cut || line.len() > LINE_CAP;
        let line = &line[..line.len().min(LINE_CAP)];
        if !hit && !self.matcher.wants_every_line() && !self.anchors.is_match(line) {
            return;
        }
        self.matcher.line(line, offset, cut, back, out);
    }

    /// The unfinished line, now finished.
    fn carried_line(&mut self, back: &dyn Lookback, out: &mut Vec<Event>) {
        let carry = std::mem::take(&mut self.carry);
        self.line(&carry, self.line_start, false, self.carry_cut, back, out);
        self.carry = carry;
        self.carry.clear();
        self.carry_cut = false;
        self.in_line = false;
    }

    /// The next bytes of the log; `back` reads the log again for what the scan skipped.
    pub fn feed(&mut self, chunk: &[u8], back: &dyn Lookback, out: &mut Vec<Event>) {
        let base = self.pos;
        self.pos += chunk.len() as u64;
        let mut i = 0;
        if self.in_line {
            let Some(nl) = line_end(chunk) else {
                self.push_carry(chunk);
                return;
            };
            self.push_carry(&chunk[..nl]);
            self.carried_line(back, out);
            i = nl + 1;
        }
        let end = memchr::memrchr2(b'\n', 0, &chunk[i..]).map_or(i, |r| i + r + 1);
        while i < end {
            if self.matcher.wants_every_line() {
                if chunk[i] == 0 {
                    // A run of NULs is no blank line either (a hole a copytruncate left in
                    // the middle of a failure list would end the entry's title): skipped,
                    // however long, at once.
                    i += chunk[i..end]
                        .iter()
                        .position(|&b| b != 0)
                        .unwrap_or(end - i);
                    continue;
                }
                // Empty lines too: a blank line is part of a construct's shape (an assertion
                // diff's error line follows one).
                let nl = i + line_end(&chunk[i..end]).expect("region ends with a line end");
                self.line(&chunk[i..nl], base + i as u64, true, false, back, out);
                i = nl + 1;
                continue;
            }
            let Some((start, stop)) = self.anchors.find(&chunk[i..end]) else {
                break;
            };
            let (hit, hit_end) = (i + start, i + stop);
            let ls = memchr::memrchr2(b'\n', 0, &chunk[i..hit]).map_or(i, |r| i + r + 1);
            let nl = hit + line_end(&chunk[hit..end]).expect("region ends with a line end");
            let hit_in_cap = hit_end - ls <= LINE_CAP;
            self.line(
                &chunk[ls..nl],
                base + ls as u64,
                hit_in_cap,
                false,
                back,
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

    /// Every rule searches on its own (the reference the fuzz property compares with).
    #[cfg(any(test, feature = "testing"))]
    pub fn set_one_pass(&mut self, on: bool) {
        self.matcher.set_one_pass(on);
    }

    /// What its buffers hold now (the fuzz property checks they stay bounded).
    #[cfg(any(test, feature = "testing"))]
    pub fn memory(&self) -> Memory {
        let (table_rows, table_more_failed) = self.matcher.table_size();
        Memory {
            carry: self.carry.len(),
            carry_capacity: self.carry.capacity(),
            line_capacity: self.matcher.buf.capacity(),
            table_rows,
            table_more_failed,
        }
    }

    /// End of this file: an unfinished last line counts as a line.
    pub fn finish(&mut self, back: &dyn Lookback, out: &mut Vec<Event>) {
        if self.in_line {
            self.carried_line(back, out);
        }
    }
}

/// Where the first line in `bytes` ends (`\n` or `\0`).
fn line_end(bytes: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\n', 0, bytes)
}
