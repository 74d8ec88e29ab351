//! Text that does not come from the watcher (spec names, titles, errors, group and build
//! names, request options, the host, the log path) put into a post so that Mattermost shows
//! it as it is, by construction rather than by a list of escapes: as code spans.
//!
//! What Mattermost does to a post (README.md "The message"; contract §6 v3): the server
//! rewrites `<!channel>` to `@channel` and Slack links `<url|text>` to Markdown links,
//! anywhere, then looks for mentions in text nodes; the web app turns U+2424 into a line
//! break and tabs and U+00A0 into spaces, renders Markdown with its fork of marked 0.3.6,
//! links URLs (even `http:x`, `www1.x`, `host.tld/x`), and formats each text node: mentions,
//! `~channel` links, `#hashtags`, e-mail addresses, emoticons. A code span is exempt from
//! all of that but the first three: its text is shown verbatim (no escapes, no entities
//! decoded), in monospace. So untrusted text becomes code spans, and only what a span
//! cannot carry is written between spans, as a character reference the browser shows as
//! the character: `|` (`&#124;`: a table cell would end there, and the server's Slack-link
//! rewrite needs a bare one), U+2424 (`&#9252;`), `<` before `!` or `@` (`&lt;`), and a
//! backtick at a span's end (`&#96;`: see `span`).
//!
//! Characters that change nothing visible are mapped first: bidi controls and U+FEFF are
//! removed (one left open would reverse the watcher's own words after it), control
//! characters and every kind of white space become one space (a post's line structure is
//! the watcher's). The result is never longer than the cap given, counted in characters of
//! Markdown, so that the post's length stays known; a cut text ends with `…`.

/// `text` as code spans (and the references between them), at most `max` characters.
pub(crate) fn verbatim(text: &str, max: usize) -> String {
    let shown = visible(text);
    let whole = encode(&shown);
    if whole.chars().count() <= max {
        return whole;
    }
    // The longest prefix whose encoding, with the ellipsis, fits (encoding grows with the
    // prefix, so the search can halve).
    let chars: Vec<char> = shown.chars().collect();
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if cut(&chars, mid).chars().count() <= max {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let best = cut(&chars, lo);
    if best.chars().count() <= max {
        best
    } else {
        String::new()
    }
}

/// The first `n` visible characters and an ellipsis, encoded.
fn cut(chars: &[char], n: usize) -> String {
    let mut prefix: String = chars[..n].iter().collect();
    prefix.truncate(prefix.trim_end().len());
    prefix.push('…');
    encode(&prefix)
}

/// What a reader is to see of `text`: bidi controls and U+FEFF removed, controls and white
/// space folded to single spaces, no space at either end.
pub(crate) fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if invisible(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

/// Bidi controls (embeddings, overrides, isolates, marks) and the byte-order mark.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}'
        | '\u{061C}' | '\u{FEFF}')
}

/// Code spans for the runs of `shown`, the characters a span cannot carry between them.
fn encode(shown: &str) -> String {
    let mut out = String::with_capacity(shown.len() + 8);
    let mut run = String::new();
    let mut chars = shown.chars().peekable();
    while let Some(c) = chars.next() {
        let reference = match c {
            '|' => Some("&#124;"),
            '\u{2424}' => Some("&#9252;"),
            '<' if matches!(chars.peek(), Some('!' | '@')) => Some("&lt;"),
            _ => None,
        };
        match reference {
            Some(r) => {
                span(&mut out, &run);
                run.clear();
                out.push_str(r);
            }
            None => run.push(c),
        }
    }
    span(&mut out, &run);
    out
}

/// One run as a code span, with a fence one backtick longer than the longest run of
/// backticks in it. Blanks and backticks at either end go outside, a blank as itself and a
/// backtick as `&#96;`: marked 0.3.6 trims the blanks inside a span's ends, and keeps a
/// blank that pads a span ending with a backtick (shown as a gap), so a span that starts
/// and ends with another character needs no padding and shows exactly its text.
fn span(out: &mut String, run: &str) {
    let edge = |c: char| c == ' ' || c == '`';
    let Some(first) = run.find(|c| !edge(c)) else {
        return outside(out, run);
    };
    let last = run.rfind(|c| !edge(c)).unwrap_or(first);
    let end = last + run[last..].chars().next().map_or(0, char::len_utf8);
    let body = &run[first..end];
    outside(out, &run[..first]);
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    out.push_str(&fence);
    out.push_str(body);
    out.push_str(&fence);
    outside(out, &run[end..]);
}

/// Blanks and backticks between spans.
fn outside(out: &mut String, edge: &str) {
    for c in edge.chars() {
        match c {
            '`' => out.push_str("&#96;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_references() {
        #[rustfmt::skip]
        let cases = [
            ("atvm/login.cy.js", "`atvm/login.cy.js`"),
            ("a `b` c", "``a `b` c``"),
            ("`x`", "&#96;`x`&#96;"),
            ("``", "&#96;&#96;"),
            ("a `b` ` c`", "``a `b` ` c``&#96;"),
            ("x ` `", "`x` &#96; &#96;"),
            ("a | b", "`a` &#124; `b`"),
            ("|", "&#124;"),
            ("x␤# y", "`x`&#9252;`# y`"),
            ("<!channel> <@U1> <b>", "&lt;`!channel>` &lt;`@U1> <b>`"),
            ("  tab\there\u{a0}nbsp\n\r new  ", "`tab here nbsp new`"),
            ("rtl \u{202E}evil\u{202C} end\u{FEFF}", "`rtl evil end`"),
            ("@channel &#64;all :smile: ~town-square #tag", "`@channel &#64;all :smile: ~town-square #tag`"),
            ("", ""),
            (" \t ", ""),
        ];
        for (text, want) in cases {
            assert_eq!(verbatim(text, 200), want, "{text:?}");
        }
    }

    #[test]
    fn the_cap_bounds_the_markdown_and_cuts_with_an_ellipsis() {
        let long = "word ".repeat(100);
        let v = verbatim(&long, 40);
        assert!(v.chars().count() <= 40, "{v}");
        assert!(v.starts_with("`word word") && v.ends_with("…`"), "{v}");
        // Each `|` costs six characters of Markdown: the cap still holds.
        let pipes = "|".repeat(100);
        let v = verbatim(&pipes, 40);
        assert!(v.chars().count() <= 40 && v.ends_with("`…`"), "{v}");
        assert_eq!(verbatim("abc", 2), "", "not even the ellipsis fits");
        for max in 0..60 {
            for text in ["a|b|c|d|e|f|g|h", "```x```", "␤␤␤␤", "x <!y <@z"] {
                assert!(verbatim(text, max).chars().count() <= max, "{text:?} {max}");
            }
        }
    }
}
