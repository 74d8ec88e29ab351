//! What the scan skipped, read back. The scanner looks only at lines that hold an anchor
//! (the speed of the catch-up depends on it); when a decision needs the lines in between
//! (the suites of a retried test; the lines since the last marker, where Cypress's own
//! fatal error may stand), they are read again from the log through `Lookback`: the open
//! file in a watch, the bytes themselves in tests and the fuzz property. At most the
//! `LOOKBACK` bytes before the point of decision are read, so what is decided does not
//! depend on how the log arrived in chunks, nor on a restart.

use super::text::{lossy, strip_ansi};
use crate::data::caps::LOOKBACK;

/// Random access to the log being scanned.
pub(crate) trait Lookback {
    /// Fills `buf` from `offset` of the log; returns how many bytes it got (fewer at the
    /// end of the log, none when it cannot be read).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize;
}

/// A log held in memory (tests, the fuzz property; `&[]` when there is no log).
pub(crate) struct Bytes<'a>(pub &'a [u8]);

impl Lookback for Bytes<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        let log = self.0;
        let Some(start) = usize::try_from(offset).ok().filter(|&s| s <= log.len()) else {
            return 0;
        };
        let n = buf.len().min(log.len() - start);
        buf[..n].copy_from_slice(&log[start..start + n]);
        n
    }
}

/// The lines of the log from `from` to `to` (only the last `LOOKBACK` bytes of that, and
/// then without the line the window's start cuts), each without colour codes and `\r`,
/// as text; lines end at `\n` or `\0` as in the scan. `buf` is reused between calls.
pub(super) fn lines_between(
    back: &dyn Lookback,
    from: u64,
    to: u64,
    buf: &mut Vec<u8>,
) -> Vec<String> {
    let start = from.max(to.saturating_sub(LOOKBACK));
    let Some(len) = to.checked_sub(start).and_then(|n| usize::try_from(n).ok()) else {
        return Vec::new();
    };
    buf.clear();
    buf.resize(len, 0);
    let got = back.read_at(start, buf);
    buf.truncate(got);
    let mut region: &[u8] = buf;
    if start > from {
        // The window's first line is cut: it is no line of the log.
        let first = memchr::memchr2(b'\n', 0, region).map_or(region.len(), |i| i + 1);
        region = &region[first..];
    }
    let mut clean = Vec::new();
    region
        .split(|&b| b == b'\n' || b == 0)
        .map(|raw| {
            strip_ansi(raw, &mut clean);
            lossy(&clean).into_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_between_cuts_at_the_window_and_strips_colour() {
        let log = b"one\n\x1b[31mtwo\x1b[0m\r\nthree\0four";
        let mut buf = Vec::new();
        assert_eq!(
            lines_between(&Bytes(log), 0, log.len() as u64, &mut buf),
            ["one", "two", "three", "four"]
        );
        assert_eq!(lines_between(&Bytes(log), 4, 18, &mut buf), ["two", ""]);
        let long = vec![b'x'; LOOKBACK as usize + 10];
        let mut log = long.clone();
        log.extend_from_slice(b"\nlast");
        let to = log.len() as u64;
        assert_eq!(
            lines_between(&Bytes(&log), 0, to, &mut buf),
            ["last"],
            "the cut line is left out"
        );
        assert!(lines_between(&Bytes(&log), to, 3, &mut buf).is_empty());
    }
}
