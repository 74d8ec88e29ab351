//! Cypress's own fatal errors (contract §5): a line that begins, at column 0 once colour
//! codes and a leading timestamp are removed, one of the `fatal_errors` texts, with no
//! line after it that says the run went on (`run_goes_on`, `Running:`, `(Run Finished)`).
//!
//! Such lines are not looked for as the log streams by: each text would cost the scan an
//! anchor, and there are seventy of them. They matter only where a run may have ended, so
//! the lines since the last marker are read back (`lookback.rs`) when the end becomes
//! certain (the next run or group marker) and when the log comes to rest (the watch then
//! waits the grace, or `--pid` exits). An error line that ends with `:` (`Your configFile at
//! x set an invalid value:`) is joined with the message's following non-blank lines, up to
//! its stack or the cap: the value or the reason is there.

use super::compile::Compiled;
use super::lookback::Lookback;
use super::text::{clean_text_to, lossy, starts_stack, strip_ansi, without_timestamp};
use crate::data::caps::{LINE_CAP, LOOKBACK, TEXT_CAP};
use crate::heart::redact::Redactor;
use crate::heart::rules::Category;
use std::collections::VecDeque;

/// The lines since the last decision, each looked at once as the log grows. The watch asks
/// at every rest (after each read of a live log; the fuzz property after every byte), and
/// reading the whole window back each time cost a read of up to `LOOKBACK` bytes per
/// line written. The answer is the same as a fold over the window's lines: the first line
/// that begins with a fatal text after the last one that says the run went on, where the
/// window is the lines from the last decision, at most the last `LOOKBACK` bytes of them
/// (the line the window's start cuts left out).
#[derive(Debug, Default)]
pub(super) struct FatalTail {
    /// The lines before this offset were looked at.
    examined: u64,
    /// The bytes from `examined` to the next line end are the rest of a line that began
    /// before the window: no line of it.
    in_cut_line: bool,
    /// Where each line after the last one that says the run went on begins, that begins
    /// with a fatal text; ascending, within the window (so at most one per line of it).
    begins: VecDeque<u64>,
    /// The first of `begins` as text, its detail joined up to `examined`, and whether more
    /// detail may follow.
    first: Option<(u64, String, bool)>,
    buf: Vec<u8>,
    clean: Vec<u8>,
}

impl FatalTail {
    /// Nothing before `at` (a line's start) counts.
    pub fn reset(&mut self, at: u64) {
        self.examined = at;
        self.in_cut_line = false;
        self.begins.clear();
        self.first = None;
    }

    /// The fatal error that the lines from `from` (a line's start) to `to` end on, if any:
    /// cleaned, with its detail when it ends with `:`. Bytes after the last line end (the
    /// log's unfinished last line, once it is finished) count as a line for this answer
    /// only: more of the line may come.
    pub fn find(
        &mut self,
        c: &Compiled,
        back: &dyn Lookback,
        from: u64,
        to: u64,
        redactor: &Redactor,
    ) -> Option<String> {
        if to < self.examined || from > self.examined {
            self.reset(from);
        }
        let window = from.max(to.saturating_sub(LOOKBACK));
        if self.examined < window {
            self.reset(window);
            let mut before = [0u8];
            self.in_cut_line = window > from
                && back.read_at(window - 1, &mut before) == 1
                && !matches!(before[0], b'\n' | 0);
        }
        while self.begins.front().is_some_and(|&b| b < window) {
            self.begins.pop_front();
        }
        if self.first.as_ref().map(|f| f.0) != self.begins.front().copied() {
            self.first = None;
            self.rebuild_first(back);
        }
        let rest = self.examine(c, back, to);
        let (rest_goes_on, rest_fatal) = match &rest {
            Some(line) => (goes_on(c, line), begins_fatal(c, without_timestamp(line))),
            None => (false, false),
        };
        if rest_goes_on {
            return None;
        }
        let found = match (&self.first, rest) {
            (Some((_, text, open)), Some(line)) if *open => {
                let mut text = text.clone();
                join_detail(&mut text, &line);
                text
            }
            (Some((_, text, _)), _) => text.clone(),
            (None, Some(line)) if rest_fatal => without_timestamp(&line).trim_end().to_string(),
            (None, _) => return None,
        };
        Some(clean_text_to(found.as_bytes(), redactor, TEXT_CAP))
    }

    /// Looks at the lines from `examined` to `to` (at most the window: `LOOKBACK` bytes);
    /// returns the bytes after the last line end as text, if any.
    fn examine(&mut self, c: &Compiled, back: &dyn Lookback, to: u64) -> Option<String> {
        let at = self.examined;
        let mut buf = std::mem::take(&mut self.buf);
        read_region(back, at, to, &mut buf);
        let mut start = 0;
        while let Some(n) = memchr::memchr2(b'\n', 0, &buf[start..]) {
            if !std::mem::take(&mut self.in_cut_line) {
                let line = self.text_of(&buf[start..start + n]);
                self.look(c, at + start as u64, &line);
            }
            start += n + 1;
        }
        self.examined = at + start as u64;
        let rest = (start < buf.len() && !self.in_cut_line).then(|| self.text_of(&buf[start..]));
        self.buf = buf;
        rest
    }

    /// One complete line at `offset`.
    fn look(&mut self, c: &Compiled, offset: u64, line: &str) {
        if goes_on(c, line) {
            self.begins.clear();
            self.first = None;
            return;
        }
        if let Some((_, text, open)) = self.first.as_mut()
            && *open
        {
            *open = join_detail(text, line);
        }
        let text = without_timestamp(line);
        if begins_fatal(c, text) {
            self.begins.push_back(offset);
            if self.first.is_none() {
                let text = text.trim_end();
                self.first = Some((offset, text.to_string(), text.ends_with(':')));
            }
        }
    }

    /// The first of `begins` again, with its detail, once the window left the one before.
    fn rebuild_first(&mut self, back: &dyn Lookback) {
        let Some(&at) = self.begins.front() else {
            return;
        };
        let mut buf = std::mem::take(&mut self.buf);
        read_region(back, at, self.examined, &mut buf);
        for raw in buf.split(|&b| b == b'\n' || b == 0) {
            let line = self.text_of(raw);
            match self.first.as_mut() {
                None => {
                    let text = without_timestamp(&line).trim_end();
                    self.first = Some((at, text.to_string(), text.ends_with(':')));
                }
                Some((_, text, open)) if *open => *open = join_detail(text, &line),
                Some(_) => break,
            }
        }
        self.buf = buf;
    }

    /// A line of the log as the rules see it: colour codes and `\r` removed, its first
    /// `LINE_CAP` bytes (as the scan), as text.
    fn text_of(&mut self, raw: &[u8]) -> String {
        strip_ansi(&raw[..raw.len().min(LINE_CAP)], &mut self.clean);
        lossy(&self.clean).into_owned()
    }
}

/// `buf` filled with the log from `from` to `to` (what can be read of it).
fn read_region(back: &dyn Lookback, from: u64, to: u64, buf: &mut Vec<u8>) {
    let len = to
        .saturating_sub(from)
        .min(LOOKBACK)
        .try_into()
        .unwrap_or(0usize);
    buf.clear();
    buf.resize(len, 0);
    let got = back.read_at(from, buf);
    buf.truncate(got);
}

/// Whether `text` (a line without its timestamp) begins with a fatal text, at column 0.
fn begins_fatal(c: &Compiled, text: &str) -> bool {
    c.rules(Category::FatalErrors)
        .iter()
        .any(|r| text.as_bytes().starts_with(r.finder.needle()))
}

/// A line saying the run went on after the error: a spec's results, a retry of the Cypress
/// Cloud, the next spec, the summary table.
fn goes_on(c: &Compiled, line: &str) -> bool {
    [
        Category::RunGoesOn,
        Category::Progress,
        Category::RunFinished,
    ]
    .iter()
    .flat_map(|&cat| c.rules(cat))
    .any(|r| r.finder.find(line.as_bytes()).is_some())
}

/// Adds a detail line to an error that ends with `:`; false once the detail is over (the
/// stack begins, or the text is as long as it can be kept).
fn join_detail(error: &mut String, line: &str) -> bool {
    let body = without_timestamp(line).trim();
    if body.is_empty() {
        return true;
    }
    if starts_stack(body) {
        return false;
    }
    error.push(' ');
    error.push_str(body);
    error.chars().count() < TEXT_CAP
}

#[cfg(test)]
mod tests;
