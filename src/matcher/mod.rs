//! The log-line matcher: bytes in, events out. Pure and streaming.
//!
//! - `text`: escape stripping, lossy UTF-8, cleaning untrusted text, timestamps.
//! - `compile`: the rules compiled into searches.
//! - `classify`: one line → events (`LineMatcher`), with the summary table (`table`)
//!   and the failure digest (`digest`: failure lists, spec-level reasons, retries).
//! - `scanner`: a file's bytes in chunks of any size → lines → events (`Scanner`).
//!
//! Speed (README.md, "Performance"): candidates are searched leftmost-first, which lets
//! Aho-Corasick use its SIMD (Teddy) prefilter.

mod classify;
mod compile;
mod digest;
mod scanner;
mod table;
mod text;

pub(crate) use classify::{Event, RunResult};
pub(crate) use compile::anchors;
pub(crate) use scanner::Scanner;
pub(crate) use text::strip_ansi;

/// How much of one line is looked at: summary rows are ~1 KiB with colour codes; a marker
/// that carries data (`ATVM_GROUPS:` with many long names) needs its whole line.
pub(crate) const LINE_CAP: usize = 64 * 1024;
/// Most groups an `ATVM_GROUPS:` plan keeps (and most sub-runs a request holds).
pub(crate) const MAX_GROUPS: usize = 999;
/// Longest name (spec, group) kept from the log.
pub(crate) const NAME_CAP: usize = 200;

pub(crate) mod check;

#[cfg(test)]
mod tests;
