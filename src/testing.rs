//! What the integration tests, the benches and the fuzz target use of the crate's
//! insides, in one place. Not part of the program's interface.

pub use crate::matcher::check::{Case, check};

use crate::matcher::Scanner;
use crate::redact::Redactor;
use crate::rules::Rules;
use std::io::{self, Read};

/// The strings the scanner's prefilter looks for with the default rules (the bench greps
/// for the same strings).
pub fn default_anchors() -> Vec<String> {
    crate::matcher::anchors(&Rules::default())
}

/// Scans everything `r` yields with the default rules, in 256 KiB reads; returns the bytes
/// read and the events found (the bench's in-process scan).
pub fn scan(mut r: impl Read) -> io::Result<(u64, usize)> {
    let mut s = Scanner::new(&Rules::default(), Redactor::default());
    let (mut buf, mut out) = (vec![0u8; 256 * 1024], Vec::new());
    let (mut bytes, mut events) = (0u64, 0usize);
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        bytes += k as u64;
        s.feed(&buf[..k], &mut out);
        // Counted, not kept: the scan's memory stays that of the scanner.
        events += out.len();
        out.clear();
    }
    s.finish(&mut out);
    Ok((bytes, events + out.len()))
}

/// The assignments of an environment file's text as the watcher reads it, in file order
/// (the end-to-end test compares them with systemd's own reading).
pub fn env_file_assignments(text: &str) -> Vec<(String, String)> {
    crate::envfile::parse(text)
        .assignments
        .into_iter()
        .map(|a| (a.name, a.value))
        .collect()
}
