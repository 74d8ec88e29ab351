//! Log text made fit to match and to keep: ANSI escape sequences and `\r` removed,
//! invalid UTF-8 tolerated, untrusted text cleaned and capped, leading timestamps dropped.

use crate::data::caps::NAME_CAP;
use crate::heart::redact::Redactor;
use std::borrow::Cow;

/// `bytes` as text, invalid UTF-8 replaced; borrowed (and validated fast) when valid.
pub(super) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
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
pub(crate) fn strip_ansi(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match memchr::memchr2(0x1b, b'\r', raw) {
        None => append(out, raw),
        Some(first) => strip_from(raw, first, out),
    }
}

/// `strip_ansi` once the first ESC or CR is known to be at `first`.
pub(super) fn strip_from(raw: &[u8], first: usize, out: &mut Vec<u8>) {
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

/// Untrusted text from the log made printable: lossy UTF-8, secrets redacted (before the
/// text is cut, so that no piece of one is left), control characters dropped, whitespace
/// runs folded, at most `NAME_CAP` characters.
pub(crate) fn clean_text(bytes: &[u8], redactor: &Redactor) -> String {
    clean_text_to(bytes, redactor, NAME_CAP)
}

/// `clean_text` with a cap of `cap` characters.
pub(super) fn clean_text_to(bytes: &[u8], redactor: &Redactor, cap: usize) -> String {
    let s = redactor.redact(&lossy(bytes));
    let t = s.trim();
    // Most texts (spec names) are already clean: printable ASCII, single blanks, short.
    let clean = t.len() <= cap
        && !t.as_bytes().windows(2).any(|w| w == b"  ")
        && t.bytes().all(|b| (b' '..=b'~').contains(&b));
    if clean {
        return t.to_string();
    }
    let mut out = String::with_capacity(t.len().min(cap * 4));
    let (mut space, mut chars) = (false, 0);
    for c in t.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if c.is_control() {
            continue;
        }
        // A folded space counts too: the cap holds for the whole text.
        let sep = space && !out.is_empty();
        if chars + 1 + usize::from(sep) > cap {
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

/// At most `max` bytes of `s` (raw text kept before it is cleaned), cut at a character
/// boundary.
pub(super) fn capped(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A word of a timestamp: digits and `-:.,TZ+` (a digit at least: a lone `-` is a list
/// item's bullet), or a month abbreviation.
fn stamp_like(word: &str) -> bool {
    let digits = word.chars().any(|c| c.is_ascii_digit())
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || "-:.,TZ+".contains(c));
    digits || MONTHS.contains(&word)
}

/// Drops a leading timestamp: one `[...]` group, then words made only of digits and
/// `-:.,TZ+`, or month abbreviations (`2026-11-21 10:00:00`, `Nov 22 10:00:00`).
pub(crate) fn strip_leading_timestamp(s: &str) -> &str {
    let mut t = s.trim_start();
    if t.starts_with('[')
        && let Some(end) = t.find(']')
    {
        t = t[end + 1..].trim_start();
    }
    loop {
        let word_len = t.find(char::is_whitespace).unwrap_or(t.len());
        if !stamp_like(&t[..word_len]) || word_len == t.len() {
            return t.trim_end();
        }
        t = t[word_len..].trim_start();
    }
}

/// A line without the timestamp a log writer put at column 0 (a `[...]` group, or
/// timestamp words, each with the one blank after it), its own indent kept: what mocha
/// printed, for measuring indents. A line that starts with a blank has no timestamp.
pub(super) fn without_timestamp(s: &str) -> &str {
    let mut t = s;
    if t.starts_with('[')
        && let Some(end) = t.find(']')
    {
        t = &t[end + 1..];
        t = t.strip_prefix([' ', '\t']).unwrap_or(t);
    }
    while let Some(word_len) = t.find([' ', '\t'])
        && word_len > 0
        && stamp_like(&t[..word_len])
    {
        t = &t[word_len + 1..];
    }
    t
}

/// Whether a line (without its indent) begins an error's stack: a frame (`at f (x.js:1:1)`),
/// a snapshot's placeholder for the frames, or the bare name of the error's class that
/// mocha prints above the frames (`Error`, `CypressError`). An error's detail ends there.
pub(super) fn starts_stack(body: &str) -> bool {
    let class = body.len() <= 64
        && body.ends_with("Error")
        && body.bytes().all(|b| b.is_ascii_alphanumeric());
    class || body.starts_with("at ") || body == "[stack trace lines]"
}
