//! systemd's `EnvironmentFile=` grammar (systemd 252), reproduced state for state, as a
//! pure parser: text in, assignments and notes out (see the module above for the rules).

use crate::settings::env::Env;
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
    let mut parser = Parser {
        out: Parsed::default(),
        st: State::PreKey,
        p: Pending::default(),
        line: 1,
        prev: '\n',
        hidden: Vec::new(),
    };
    for c in text.chars() {
        parser.step(c);
    }
    parser.finish(text)
}

/// The parse under way: one character at a time, as systemd's state machine.
struct Parser {
    out: Parsed,
    st: State,
    p: Pending,
    line: usize,
    /// The previous character, for telling a note (`URL # note`, `"URL"#note`).
    prev: char,
    /// Lines swallowed by a comment that ends with a backslash.
    hidden: Vec<usize>,
}

impl Parser {
    fn step(&mut self, c: char) {
        self.st = match self.st {
            State::PreKey => self.pre_key(c),
            State::Key => self.key(c),
            State::PreValue => self.pre_value(c),
            State::Value => self.value(c),
            State::ValueEscape => {
                if !newline(c) {
                    self.p.value.push(c);
                }
                State::Value
            }
            State::Single if c == '\'' => State::PreValue,
            State::Double if c == '"' => State::PreValue,
            State::Double if c == '\\' => State::DoubleEscape,
            st @ (State::Single | State::Double) => {
                self.p.value.push(c);
                st
            }
            State::DoubleEscape => {
                if matches!(c, '"' | '\\' | '`' | '$') {
                    self.p.value.push(c);
                } else if c != '\n' {
                    self.p.value.push('\\');
                    self.p.value.push(c);
                }
                State::Double
            }
            State::Comment if c == '\\' => State::CommentEscape,
            State::Comment if newline(c) => State::PreKey,
            State::Comment => State::Comment,
            State::CommentEscape => {
                // systemd 252: the escaped character, a newline too, stays in the comment.
                if c == '\n' {
                    self.hidden.push(self.line + 1);
                }
                State::Comment
            }
        };
        if c == '\n' {
            self.line += 1;
        }
        self.prev = c;
    }

    fn pre_key(&mut self, c: char) -> State {
        if c == '#' || c == ';' {
            State::Comment
        } else if blank(c) {
            State::PreKey
        } else {
            self.p = Pending {
                line: self.line,
                ..Pending::default()
            };
            self.p.key.push(c);
            State::Key
        }
    }

    fn key(&mut self, c: char) -> State {
        let p = &mut self.p;
        if newline(c) {
            self.out.notes.push(p.no_equals());
            return State::PreKey;
        }
        if c == '=' {
            p.value_trail = None;
            return State::PreValue;
        }
        if !blank(c) {
            p.key_trail = None;
        } else if p.key_trail.is_none() {
            p.key_trail = Some(p.key.len());
        }
        p.key.push(c);
        State::Key
    }

    fn pre_value(&mut self, c: char) -> State {
        let p = &mut self.p;
        match c {
            _ if newline(c) => {
                p.push(&mut self.out, false);
                State::PreKey
            }
            '\'' | '"' => {
                p.quote_line = self.line;
                if c == '"' {
                    State::Double
                } else {
                    State::Single
                }
            }
            '\\' => State::ValueEscape,
            _ if blank(c) => State::PreValue,
            _ => {
                let after = blank(self.prev) || self.prev == '"' || self.prev == '\'';
                if (c == '#' || c == ';') && after && p.note_at.is_none() {
                    p.note_at = Some(p.value.len());
                }
                p.value.push(c);
                State::Value
            }
        }
    }

    fn value(&mut self, c: char) -> State {
        let p = &mut self.p;
        if newline(c) {
            p.push(&mut self.out, true);
            return State::PreKey;
        }
        if c == '\\' {
            p.value_trail = None;
            return State::ValueEscape;
        }
        if (c == '#' || c == ';') && blank(self.prev) && p.note_at.is_none() {
            p.note_at = p.value_trail;
        }
        if !blank(c) {
            p.value_trail = None;
        } else if p.value_trail.is_none() {
            p.value_trail = Some(p.value.len());
        }
        p.value.push(c);
        State::Value
    }

    /// The end of the file, then what the swallowed lines were meant to set.
    fn finish(mut self, text: &str) -> Parsed {
        let (out, p) = (&mut self.out, &mut self.p);
        match self.st {
            State::Single | State::Double | State::DoubleEscape => {
                out.notes.push(Note::OpenQuote {
                    line: p.quote_line,
                    name: p.name().to_string(),
                });
                p.push(out, false);
            }
            State::PreValue | State::ValueEscape => p.push(out, false),
            State::Value => p.push(out, true),
            State::Key => out.notes.push(p.no_equals()),
            State::PreKey | State::Comment | State::CommentEscape => {}
        }
        let lines: Vec<&str> = text.split('\n').collect();
        for l in self.hidden {
            let Some(text) = lines.get(l - 1).filter(|t| !t.trim().is_empty()) else {
                continue;
            };
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
        self.out
    }
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
