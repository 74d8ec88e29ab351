//! Untrusted text made safe for a Mattermost post: one line, Markdown punctuation
//! escaped, mentions and links broken, cut to a length without splitting an escape.

/// Makes untrusted text safe to embed in a Markdown table cell or list item: one line,
/// inline Markdown punctuation escaped (and block syntax at its start), mentions
/// (`@channel`, `@here`, `@all`, `@user`) and Slack-style `<!channel>` / `<url|text>`
/// sequences broken with a zero-width space.
pub(crate) fn neutralize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut prev = ' ';
    for c in text.trim().chars() {
        let c = if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            ' '
        } else {
            c
        };
        if c == ' ' && prev == ' ' {
            continue;
        }
        match c {
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("\\<\u{200b}"),
            '@' => out.push_str("@\u{200b}"),
            _ => out.push(c),
        }
        prev = c;
    }
    // Mattermost links bare URLs (`scheme://...`, `www....`): a zero-width space breaks them.
    let out = out.replace("://", ":\u{200b}//");
    let mut out = break_www(&out);
    // Block syntax only matters at the start: headings, quotes, lists, rules.
    let digits = out.chars().take_while(char::is_ascii_digit).count();
    if out.starts_with(['#', '>', '-', '+', '=']) {
        out.insert(0, '\\');
    } else if digits > 0 && out[digits..].starts_with(['.', ')']) {
        out.insert(digits, '\\');
    }
    out.trim_end().to_string()
}

/// `www.` at the start of a word becomes `www\u{200b}.`.
fn break_www(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("www.") {
        let at_word_start = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        out.push_str(&rest[..i]);
        out.push_str(if at_word_start {
            "www\u{200b}."
        } else {
            "www."
        });
        rest = &rest[i + 4..];
    }
    out.push_str(rest);
    out
}

/// Untrusted text neutralised, then cut to at most `max` characters of output: escaping
/// can make a text several times longer, so the budget applies to what is posted.
pub(crate) fn safe(text: &str, max: usize) -> String {
    clip_escaped(neutralize(text), max)
}

/// At most `max` characters, with an ellipsis when cut, never cut inside an escape
/// (a lone `\` would escape the table's `|`; `@` or `<` without its zero-width space
/// would mention or link again).
pub(crate) fn clip_escaped(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    loop {
        let backslashes = out.chars().rev().take_while(|&c| c == '\\').count();
        if backslashes % 2 == 1 || out.ends_with('@') || out.ends_with('<') {
            out.pop();
        } else {
            break;
        }
    }
    out.push('…');
    out
}
