//! Streams a file's bytes through the line matcher, in chunks of any size.
//!
//! Lines are cut at `LINE_CAP` bytes for matching (never held whole). Outside a summary
//! table only lines holding an anchor (see `rules::anchor`) can mean anything, so the
//! scanner finds candidates in the raw buffer with Aho-Corasick instead of visiting every
//! line; the same anchor test is applied to lines that arrive in pieces, so the decisions
//! never depend on chunking.

use super::classify::LineMatcher;
use super::compile::AnchorSearch;
use super::{Event, LINE_CAP};
use crate::rules::Rules;

/// Streams a file's bytes through the matcher, in chunks of any size.
pub(crate) struct Scanner {
    pub(super) matcher: LineMatcher,
    anchors: AnchorSearch,
    /// The start of an unfinished line (at most `LINE_CAP` bytes of it).
    pub(super) carry: Vec<u8>,
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
