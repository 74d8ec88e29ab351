//! The log-line matcher: bytes in, events out. Pure and streaming.
//!
//! - `text`: escape stripping, lossy UTF-8, cleaning untrusted text, timestamps.
//! - `compile`: the rules compiled into searches.
//! - `classify`: one line → events (`LineMatcher`), with Cypress's summary table after
//!   `(Run Finished)` (`summary_table`) and what mocha prints of each spec
//!   (`spec_output`: failure lists, spec-level reasons, retries, wrapped spec names).
//! - `scanner`: a file's bytes in chunks of any size → lines → events (`Scanner`).
//! - `lookback`: what the scan skipped, read back when a decision needs it; `fatal`:
//!   Cypress's own fatal errors, found among those lines.
//!
//! Speed (README.md, "Performance"): candidates are searched leftmost-first, which lets
//! Aho-Corasick use its SIMD (Teddy) prefilter.

mod classify;
mod compile;
mod fatal;
mod lookback;
mod scanner;
mod spec_output;
mod summary_table;
mod text;

pub(crate) use classify::{Event, RunResult};
pub(crate) use lookback::{Bytes, Lookback};
pub(crate) use scanner::Scanner;
#[cfg(any(test, feature = "testing"))]
pub(crate) use {compile::anchors, text::escape_end, text::strip_ansi};

#[cfg(test)]
mod tests;
