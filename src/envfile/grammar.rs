//! systemd's `EnvironmentFile=` grammar (systemd 252), reproduced state for state, as a
//! pure parser: text in, assignments and notes out (see the module above for the rules).

use crate::env::Env;
use std::fmt;

/// One assignment systemd keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assignment {
    pub name: String,
    pub value: String,
    /// The line the name is on (1-based).
    pub line: usize,
    /// A `#` or `;` after a blank or a closing quote, outside quotes, with what follows: what
    /// the operator probably meant as a comment (systemd keeps it in the value).
    pub note: Option<String>,
}

/// A line systemd reads and sets nothing from, or reads differently than it looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note {
    /// `export NAME=value`: `export NAME` is not a variable name.
    Export { line: usize, name: String },
    /// An assignment to a name systemd refuses (`MY-VAR=x`, `1X=y`). The name is only
    /// kept when it looks like a name (never a URL that might be the secret).
    BadName { line: usize, name: Option<String> },
    /// A line with no `=`; its first word when that is a valid name.
    NoEquals { line: usize, name: Option<String> },
    /// A line read as part of the comment above it, which ends with a backslash.
    InComment { line: usize, name: Option<String> },
    /// A quote that is never closed: the value runs to the end of the file.
    OpenQuote { line: usize, name: String },
}

impl Note {
    pub fn line(&self) -> usize {
        match self {
            Note::Export { line, .. }
            | Note::BadName { line, .. }
            | Note::NoEquals { line, .. }
            | Note::InComment { line, .. }
            | Note::OpenQuote { line, .. } => *line,
        }
    }

    /// The variable the line was meant to set, when it can be told.
    pub fn name(&self) -> Option<&str> {
        match self {
            Note::Export { name, .. } | Note::OpenQuote { name, .. } => Some(name),
            Note::BadName { name, .. }
            | Note::NoEquals { name, .. }
            | Note::InComment { name, .. } => name.as_deref(),
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Export { line, name } => write!(
                f,
                "line {line}: systemd ignores `export {name}=...` (lines starting with `export` set nothing: the file is not a shell script); remove `export `"
            ),
            Note::BadName { line, name } => write!(
                f,
                "line {line}: systemd ignores the assignment to {}: a name is letters, digits and _, not starting with a digit",
                name.as_deref()
                    .map_or("a name it refuses".to_string(), |n| format!("`{n}`"))
            ),
            Note::NoEquals { line, .. } => {
                write!(f, "line {line}: systemd ignores it, there is no `=`")
            }
            Note::InComment { line, .. } => write!(
                f,
                "line {line}: systemd reads it as part of the comment above it, which ends with a backslash (systemd 253 and older continue comment lines); remove that backslash"
            ),
            Note::OpenQuote { line, name } => write!(
                f,
                "line {line}: the quote opened in the value of {name} is never closed, so that value runs to the end of the file"
            ),
        }
    }
}

/// What systemd makes of an environment file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// In file order; a later assignment of a name overrides an earlier one.
    pub assignments: Vec<Assignment>,
    pub notes: Vec<Note>,
}

/// `[A-Za-z_][A-Za-z0-9_]*`: systemd's `env_name_is_valid`.
pub(crate) fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A name shown in a note only when it cannot be a secret (a URL has `:` and `/`).
fn shown(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    ok.then(|| name.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    Single,
    Double,
    DoubleEscape,
    Comment,
    CommentEscape,
}

/// Blanks as systemd's `WHITESPACE`; line ends as its `NEWLINE`.
fn blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}
fn newline(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// The assignment being read.
#[derive(Default)]
struct Pending {
    key: String,
    /// Where the key's trailing blanks start.
    key_trail: Option<usize>,
    value: String,
    /// Where the unquoted value's trailing blanks start.
    value_trail: Option<usize>,
    note_at: Option<usize>,
    line: usize,
    quote_line: usize,
}

impl Pending {
    fn name(&self) -> &str {
        &self.key[..self.key_trail.unwrap_or(self.key.len())]
    }

    /// The line ends (or the file) with the value read: an assignment, or a note about a
    /// name systemd refuses. `trim`: an unquoted value loses its trailing blanks.
    fn push(&mut self, out: &mut Parsed, trim: bool) {
        let mut value = std::mem::take(&mut self.value);
        if trim && let Some(t) = self.value_trail {
            value.truncate(t);
        }
        let name = self.name().to_string();
        let note = self
            .note_at
            .filter(|&i| i < value.len())
            .map(|i| value[i..].trim().to_string());
        if valid_name(&name) {
            out.assignments.push(Assignment {
                name,
                value,
                line: self.line,
                note,
            });
        } else if let Some(rest) = name.strip_prefix("export")
            && rest.starts_with([' ', '\t'])
            && valid_name(rest.trim())
        {
            out.notes.push(Note::Export {
                line: self.line,
                name: rest.trim().to_string(),
            });
        } else {
            out.notes.push(Note::BadName {
                line: self.line,
                name: shown(&name),
            });
        }
        *self = Pending::default();
    }

    /// The line ends (or the file) before any `=`.
    fn no_equals(&self) -> Note {
        let first = self.key.split([' ', '\t']).next().unwrap_or_default();
        Note::NoEquals {
            line: self.line,
            name: valid_name(first).then(|| first.to_string()),
        }
    }
}

/// Parses `text` as systemd does.
pub(crate) fn parse(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut st = State::PreKey;
    let mut p = Pending::default();
    let mut line = 1;
    // The previous character, for telling a note (`URL # note`, `"URL"#note`).
    let mut prev = '\n';
    let mut hidden: Vec<usize> = Vec::new();

    for c in text.chars() {
        match st {
            State::PreKey => {
                if c == '#' || c == ';' {
                    st = State::Comment;
                } else if !blank(c) {
                    st = State::Key;
                    p = Pending {
                        line,
                        ..Pending::default()
                    };
                    p.key.push(c);
                }
            }
            State::Key => {
                if newline(c) {
                    st = State::PreKey;
                    out.notes.push(p.no_equals());
                } else if c == '=' {
                    st = State::PreValue;
                    p.value_trail = None;
                } else {
                    if !blank(c) {
                        p.key_trail = None;
                    } else if p.key_trail.is_none() {
                        p.key_trail = Some(p.key.len());
                    }
                    p.key.push(c);
                }
            }
            State::PreValue => {
                if newline(c) {
                    st = State::PreKey;
                    p.push(&mut out, false);
                } else if c == '\'' {
                    st = State::Single;
                    p.quote_line = line;
                } else if c == '"' {
                    st = State::Double;
                    p.quote_line = line;
                } else if c == '\\' {
                    st = State::ValueEscape;
                } else if !blank(c) {
                    st = State::Value;
                    if (c == '#' || c == ';')
                        && (blank(prev) || prev == '"' || prev == '\'')
                        && p.note_at.is_none()
                    {
                        p.note_at = Some(p.value.len());
                    }
                    p.value.push(c);
                }
            }
            State::Value => {
                if newline(c) {
                    st = State::PreKey;
                    p.push(&mut out, true);
                } else if c == '\\' {
                    st = State::ValueEscape;
                    p.value_trail = None;
                } else {
                    if (c == '#' || c == ';') && blank(prev) && p.note_at.is_none() {
                        p.note_at = p.value_trail;
                    }
                    if !blank(c) {
                        p.value_trail = None;
                    } else if p.value_trail.is_none() {
                        p.value_trail = Some(p.value.len());
                    }
                    p.value.push(c);
                }
            }
            State::ValueEscape => {
                st = State::Value;
                if !newline(c) {
                    p.value.push(c);
                }
            }
            State::Single => {
                if c == '\'' {
                    st = State::PreValue;
                } else {
                    p.value.push(c);
                }
            }
            State::Double => {
                if c == '"' {
                    st = State::PreValue;
                } else if c == '\\' {
                    st = State::DoubleEscape;
                } else {
                    p.value.push(c);
                }
            }
            State::DoubleEscape => {
                st = State::Double;
                if matches!(c, '"' | '\\' | '`' | '$') {
                    p.value.push(c);
                } else if c != '\n' {
                    p.value.push('\\');
                    p.value.push(c);
                }
            }
            State::Comment => {
                if c == '\\' {
                    st = State::CommentEscape;
                } else if newline(c) {
                    st = State::PreKey;
                }
            }
            State::CommentEscape => {
                // systemd 252: the escaped character, a newline too, stays in the comment.
                st = State::Comment;
                if c == '\n' {
                    hidden.push(line + 1);
                }
            }
        }
        if c == '\n' {
            line += 1;
        }
        prev = c;
    }
    match st {
        State::Single | State::Double | State::DoubleEscape => {
            out.notes.push(Note::OpenQuote {
                line: p.quote_line,
                name: p.name().to_string(),
            });
            p.push(&mut out, false);
        }
        State::PreValue | State::ValueEscape => p.push(&mut out, false),
        State::Value => p.push(&mut out, true),
        State::Key => out.notes.push(p.no_equals()),
        State::PreKey | State::Comment | State::CommentEscape => {}
    }
    // What a swallowed line was meant to set, for the diagnostics.
    let lines: Vec<&str> = text.split('\n').collect();
    for l in hidden {
        let Some(text) = lines.get(l - 1) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let name = text.split_once('=').map(|(k, _)| {
            let k = k.trim();
            k.strip_prefix("export ").map_or(k, str::trim)
        });
        out.notes.push(Note::InComment {
            line: l,
            name: name.filter(|n| valid_name(n)).map(str::to_string),
        });
    }
    out.notes.sort_by_key(Note::line);
    out
}

impl Parsed {
    /// The assignment of `name` that counts (the last one).
    pub fn get(&self, name: &str) -> Option<&Assignment> {
        self.assignments.iter().rev().find(|a| a.name == name)
    }

    /// The variables, as the systemd instance gets them.
    pub fn env(&self) -> Env {
        Env::from_pairs(
            self.assignments
                .iter()
                .map(|a| (a.name.as_str(), a.value.as_str())),
        )
    }
}
