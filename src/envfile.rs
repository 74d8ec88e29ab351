//! The environment file (`/etc/atvm-run-watcher.env`, or `ATVM_WATCHER_ENV_FILE`): the one
//! reading of it that `start`, `watch`, `check-webhook` (and through it the tarball's
//! `make check`) share, so that each sees what the systemd instance gets.
//!
//! The grammar is systemd's `EnvironmentFile=` (systemd 252, the controller's:
//! `src/basic/env-file.c` and the name check of `env-util.c`), reproduced state for state:
//! - blanks around the name and the `=` are dropped, and trailing blanks of an unquoted value;
//! - `'...'` keeps everything up to the next `'` (newlines too); `"..."` likewise up to the
//!   next unescaped `"`, where `\"`, `\\`, `` \` `` and `\$` lose their backslash, a
//!   backslash-newline is dropped and any other backslash stays; quoted and unquoted parts
//!   of a value are joined (`A="x" y` is `xy`: blanks after a closing quote are skipped);
//! - unquoted, a backslash takes the next character as it is, and a backslash-newline
//!   continues the value on the next line;
//! - `#` and `;` start a comment only where a name could start: after a value they are part
//!   of it (`URL # note` is the value `URL # note`); a comment line ending with a backslash
//!   swallows the next line (systemd 253 and older; 254 stopped doing it);
//! - a line without `=` is ignored, and so is an assignment whose name is not letters,
//!   digits and `_` not starting with a digit: `export NAME=value` sets nothing;
//! - the last assignment of a name wins.
//!
//! Parsing is pure and table-tested; [`EnvFile::read`] adds the file checks (a regular
//! file, owned by root or the user running this, no group or other permission bits) and
//! [`EnvFile::webhook`] the Mattermost settings, with diagnostics an operator can act on.

use crate::config::{DEFAULT_ENV_FILE, Env, Webhook, redact_hook_urls};
use crate::error::{Error, Result};
use std::fmt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const WEBHOOK: &str = "MATTERMOST_ATVM_WEBHOOK";
/// The prefix of the Mattermost settings (webhook, channel, user name, ...).
pub const MATTERMOST_PREFIX: &str = "MATTERMOST_ATVM_";

/// One assignment systemd keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
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
pub enum Note {
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
pub struct Parsed {
    /// In file order; a later assignment of a name overrides an earlier one.
    pub assignments: Vec<Assignment>,
    pub notes: Vec<Note>,
}

/// `[A-Za-z_][A-Za-z0-9_]*`: systemd's `env_name_is_valid`.
pub fn valid_name(s: &str) -> bool {
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
pub fn parse(text: &str) -> Parsed {
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

/// The environment file's path: `ATVM_WATCHER_ENV_FILE`, else `/etc/atvm-run-watcher.env`.
pub fn path(env: &Env) -> PathBuf {
    PathBuf::from(env.get("ATVM_WATCHER_ENV_FILE").unwrap_or(DEFAULT_ENV_FILE))
}

/// A checked and parsed environment file.
#[derive(Debug, Clone)]
pub struct EnvFile {
    pub path: PathBuf,
    pub parsed: Parsed,
}

impl EnvFile {
    /// Reads `path` with the checks `start` makes: it exists, is a regular file, is owned by
    /// root or by the user running this, and has no group or other permission bits (it
    /// holds the webhook secret). Every problem is exit 2.
    pub fn read(path: &Path) -> Result<EnvFile> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| {
            Error::usage(format!(
                "environment file {shown}: {e} (install creates it from the example)"
            ))
        })?;
        if !meta.is_file() {
            return Err(Error::usage(format!(
                "environment file {shown} is not a file"
            )));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::usage(format!(
                "environment file {shown} is readable by group or others (mode {mode:04o}); it holds the webhook secret: chmod 600 {shown}"
            )));
        }
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != 0 && meta.uid() != me {
            return Err(Error::usage(format!(
                "environment file {shown} is owned by uid {}, not by root; it holds the webhook secret: chown root:root {shown}",
                meta.uid()
            )));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| Error::usage(format!("environment file {shown}: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::usage(format!(
                "environment file {shown} is not valid UTF-8 (systemd refuses such a file)"
            ))
        })?;
        Ok(EnvFile {
            path: path.to_path_buf(),
            parsed: parse(&text),
        })
    }

    /// `environment file PATH` and, when `name` is assigned, `, line N`.
    fn place(&self, name: &str) -> String {
        match self.parsed.get(name) {
            Some(a) => format!("environment file {}, line {}", self.path.display(), a.line),
            None => format!("environment file {}", self.path.display()),
        }
    }

    /// The Mattermost settings as the systemd instance gets them, checked like every
    /// webhook (a valid http(s) URL, not the example's placeholder), with what to do
    /// about the line when something is wrong.
    pub fn webhook(&self) -> Result<Webhook> {
        for a in &self.parsed.assignments {
            let counts = self
                .parsed
                .get(&a.name)
                .is_some_and(|last| std::ptr::eq(last, a));
            if let Some(note) = &a.note
                && counts
                && a.name.starts_with(MATTERMOST_PREFIX)
            {
                // The note is the operator's text; a hook URL in it (an old one) is a secret.
                return Err(Error::usage(format!(
                    "{}: {} ends with `{}`, which systemd keeps as part of the value (`#` starts a comment only at the start of a line): put that note on a line of its own",
                    self.place(&a.name),
                    a.name,
                    redact_hook_urls(note)
                )));
            }
        }
        let env = self.parsed.env();
        if env.get(WEBHOOK).is_none() {
            let why = match (self.parsed.get(WEBHOOK), self.why_unset(WEBHOOK)) {
                (_, Some(note)) => format!(": {note}"),
                (Some(a), None) => format!(" (line {} gives it an empty value)", a.line),
                (None, None) => {
                    " (add the line MATTERMOST_ATVM_WEBHOOK=https://<mattermost host>/hooks/<id>: the channel's incoming webhook)".to_string()
                }
            };
            return Err(Error::usage(format!(
                "environment file {}: {WEBHOOK} is not set{why}",
                self.path.display()
            )));
        }
        Webhook::from_env(&env).map_err(|e| Error::usage(format!("{}: {e}", self.place(WEBHOOK))))
    }

    /// A note about a line that was meant to set `name` and does not.
    fn why_unset(&self, name: &str) -> Option<&Note> {
        let set_at = self.parsed.get(name).map_or(0, |a| a.line);
        self.parsed
            .notes
            .iter()
            .rev()
            .find(|n| n.name() == Some(name) && !matches!(n, Note::OpenQuote { .. }))
            .filter(|n| n.line() > set_at)
    }

    /// The Mattermost settings of the file under the variables of `env` (which win).
    pub fn mattermost_under(&self, env: &Env) -> Env {
        Env::from_pairs(
            self.parsed
                .assignments
                .iter()
                .filter(|a| a.name.starts_with(MATTERMOST_PREFIX))
                .map(|a| (a.name.as_str(), a.value.as_str())),
        )
        .overlaid_by(env)
    }
}

/// `start`'s reading: the file systemd will load, checked, with its webhook.
pub fn load(env: &Env) -> Result<(EnvFile, Webhook)> {
    let file = EnvFile::read(&path(env))?;
    let hook = file.webhook()?;
    Ok((file, hook))
}

/// `watch` run from a shell, as the old script's callers do: when `MATTERMOST_ATVM_WEBHOOK`
/// is not in the environment, the Mattermost settings come from the environment file, with
/// `start`'s checks (systemd loads that file for the instances; a shell does not). The
/// environment still wins for every variable it sets. Returns the environment to use and
/// the line to log (no secret in it), or `None` when nothing is to be read: the webhook is
/// in the environment, or a dry run, which posts nothing.
pub fn for_watch(env: &Env, dry_run: bool) -> Result<Option<(Env, String)>> {
    if env.get(WEBHOOK).is_some() || dry_run {
        return Ok(None);
    }
    let p = path(env);
    if std::fs::symlink_metadata(&p).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Err(Error::usage(format!(
            "{WEBHOOK} is not set (the Mattermost incoming webhook URL; use --dry-run to post nothing), and there is no {} to read it from",
            p.display()
        )));
    }
    let (file, hook) = load(env)?;
    let line = format!(
        "{WEBHOOK} is not in the environment: Mattermost settings from {} (webhook {})",
        file.path.display(),
        hook.redacted()
    );
    Ok(Some((file.mattermost_under(env), line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://chat.example.com/hooks/abc123";

    fn value(text: &str, name: &str) -> Option<String> {
        parse(text).get(name).map(|a| a.value.clone())
    }

    /// The grammar, line by line: what systemd 252 sets from each input.
    #[test]
    fn grammar() {
        #[rustfmt::skip]
        let cases: &[(&str, Option<&str>)] = &[
            // plain, blanks around the name, the `=` and the value
            ("A=x", Some("x")),
            ("A=x\n", Some("x")),
            ("  A = x  \n", Some("x")),
            ("A\t=\tx y\t\n", Some("x y")),
            ("A=", Some("")),
            ("A=\n", Some("")),
            ("A=   \n", Some("")),
            // CRLF line ends
            ("A=x\r\n", Some("x")),
            // quotes, single and double, and joined with unquoted parts
            ("A='x y'", Some("x y")),
            ("A=\"x y\"", Some("x y")),
            ("A=\"x\" y", Some("xy")),
            ("A=\"x\"'y'", Some("xy")),
            ("A='x'  \n", Some("x")),
            ("A=x \"y\"", Some("x \"y\"")),
            ("A=\"  x  \"", Some("  x  ")),
            ("A='a\\nb'", Some("a\\nb")),
            ("A='line1\nline2'", Some("line1\nline2")),
            ("A='it''s'", Some("its")),
            // double-quoted escapes: \" \\ \` \$ lose the backslash, others keep it
            ("A=\"a\\\"b\"", Some("a\"b")),
            ("A=\"a\\\\b\"", Some("a\\b")),
            ("A=\"a\\$b\\`c\"", Some("a$b`c")),
            ("A=\"a\\nb\"", Some("a\\nb")),
            ("A=\"a\\\nb\"", Some("ab")),
            // unquoted: a backslash takes the next character; backslash-newline continues
            ("A=a\\ b", Some("a b")),
            ("A=a\\\\b", Some("a\\b")),
            ("A=a\\\nb", Some("ab")),
            ("A=a \\\n  b", Some("a   b")),
            ("A=x\\ \n", Some("x ")),
            // `#` and `;` after a value are part of it
            ("A=x # note", Some("x # note")),
            ("A=x;y", Some("x;y")),
            ("A=\"x\" # note", Some("x# note")),
            ("A= # x", Some("# x")),
            // comment lines, and what they hide
            ("# A=x", None),
            ("; A=x", None),
            ("   # A=x", None),
            ("# c \\\nA=x", None),
            ("# c \\\\\nA=x", Some("x")),
            ("# c \\\r\nA=x", Some("x")),
            // lines systemd sets nothing from
            ("export A=x", None),
            ("A x", None),
            ("=x", None),
            ("1A=x", None),
            ("A-B=x", None),
            ("A.B=x", None),
            ("A B=x", None),
            // the last assignment wins
            ("A=x\nA=y", Some("y")),
            ("A=x\nexport A=y", Some("x")),
            // an unclosed quote runs to the end of the file
            ("A=\"x\nB=y", Some("x\nB=y")),
        ];
        for (text, want) in cases {
            assert_eq!(value(text, "A").as_deref(), *want, "{text:?}");
        }
        assert_eq!(value("A=\"x\nB=y", "B"), None);
        assert_eq!(value("_a1=x", "_a1").as_deref(), Some("x"));
    }

    #[test]
    fn lines_and_notes() {
        let text = "# head\nexport MATTERMOST_ATVM_WEBHOOK=https://h/hooks/secret1\nMY-VAR=1\nhttps://h/hooks/secret2?a=b\nNO_EQUALS here\n# c \\\nMATTERMOST_ATVM_CHANNEL=x\nB = 'v'\n";
        let p = parse(text);
        assert_eq!(
            p.notes,
            vec![
                Note::Export {
                    line: 2,
                    name: WEBHOOK.into()
                },
                Note::BadName {
                    line: 3,
                    name: Some("MY-VAR".into())
                },
                Note::BadName {
                    line: 4,
                    name: None
                },
                Note::NoEquals {
                    line: 5,
                    name: Some("NO_EQUALS".into())
                },
                Note::InComment {
                    line: 7,
                    name: Some("MATTERMOST_ATVM_CHANNEL".into())
                },
            ]
        );
        assert_eq!(p.get("B").map(|a| a.line), Some(8));
        let shown: String = p.notes.iter().map(|n| format!("{n}\n")).collect();
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("systemd ignores `export MATTERMOST_ATVM_WEBHOOK=...`"));
    }

    #[test]
    fn notes_after_values() {
        for (text, note) in [
            ("A=x   # prod hook", Some("# prod hook")),
            ("A=x ;old", Some(";old")),
            ("A=\"x\"#n", Some("#n")),
            ("A='x' # n", Some("# n")),
            ("A=x#y", None),
            ("A=\"x # y\"", None),
            ("A=x", None),
        ] {
            let p = parse(text);
            assert_eq!(p.get("A").unwrap().note.as_deref(), note, "{text:?}");
        }
    }

    fn file(text: &str) -> EnvFile {
        EnvFile {
            path: PathBuf::from("/etc/atvm-run-watcher.env"),
            parsed: parse(text),
        }
    }

    fn webhook_error(text: &str) -> String {
        let e = file(text).webhook().unwrap_err();
        assert_eq!(e.exit_code(), 2, "{text:?}");
        let e = e.to_string();
        assert!(!e.contains("abc123"), "no secret in {e}");
        e
    }

    #[test]
    fn webhook_diagnostics() {
        let ok = file(&format!(
            "MATTERMOST_ATVM_WEBHOOK = {URL}\nMATTERMOST_ATVM_CHANNEL='qa'\n"
        ))
        .webhook()
        .unwrap();
        assert_eq!(ok.url(), URL);
        assert_eq!(ok.channel.as_deref(), Some("qa"));
        for text in [
            format!("MATTERMOST_ATVM_WEBHOOK=\"{URL}\""),
            format!("MATTERMOST_ATVM_WEBHOOK='{URL}'\n"),
            format!("  MATTERMOST_ATVM_WEBHOOK={URL}  \r\n"),
        ] {
            assert_eq!(file(&text).webhook().unwrap().url(), URL, "{text:?}");
        }

        let e = webhook_error(&format!(
            "# x\nMATTERMOST_ATVM_WEBHOOK={URL}   # prod hook\n"
        ));
        assert!(
            e.contains("line 2: MATTERMOST_ATVM_WEBHOOK ends with `# prod hook`")
                && e.contains("on a line of its own"),
            "{e}"
        );
        let e = webhook_error(&format!("MATTERMOST_ATVM_WEBHOOK=\"{URL}\" #prod\n"));
        assert!(e.contains("ends with `#prod`"), "{e}");
        let e = webhook_error(&format!("MATTERMOST_ATVM_WEBHOOK={URL} # was {URL}\n"));
        assert!(
            e.contains("ends with `# was https://chat.example.com`"),
            "{e}"
        );
        let e = webhook_error(&format!(
            "MATTERMOST_ATVM_WEBHOOK={URL}\nMATTERMOST_ATVM_CHANNEL=qa # ours\n"
        ));
        assert!(
            e.contains("line 2: MATTERMOST_ATVM_CHANNEL ends with `# ours`"),
            "{e}"
        );

        let e = webhook_error(&format!("export MATTERMOST_ATVM_WEBHOOK={URL}\n"));
        assert!(
            e.contains("MATTERMOST_ATVM_WEBHOOK is not set: line 1: systemd ignores `export"),
            "{e}"
        );
        let e = webhook_error(&format!("# old one \\\nMATTERMOST_ATVM_WEBHOOK={URL}\n"));
        assert!(
            e.contains("line 2: systemd reads it as part of the comment"),
            "{e}"
        );
        let e = webhook_error(&format!("MATTERMOST_ATVM_WEBHOOK {URL}\n"));
        assert!(
            e.contains("line 1: systemd ignores it, there is no `=`"),
            "{e}"
        );
        let e = webhook_error("MATTERMOST_ATVM_WEBHOOK=\n");
        assert!(
            e.contains("is not set (line 1 gives it an empty value)"),
            "{e}"
        );
        let e = webhook_error("MATTERMOST_ATVM_CHANNEL=x\n");
        assert!(
            e.contains("is not set (add the line MATTERMOST_ATVM_WEBHOOK="),
            "{e}"
        );
        // A later valid line wins over an earlier ignored one: no note about it.
        let ok = file(&format!(
            "export MATTERMOST_ATVM_WEBHOOK=x\nMATTERMOST_ATVM_WEBHOOK={URL}\n"
        ));
        assert_eq!(ok.webhook().unwrap().url(), URL);

        let e = webhook_error("MATTERMOST_ATVM_WEBHOOK=not-a-url-abc123\n");
        assert!(
            e.contains("line 1: MATTERMOST_ATVM_WEBHOOK is not a valid"),
            "{e}"
        );
        let e = webhook_error(
            "MATTERMOST_ATVM_WEBHOOK=https://mattermost.example.com/hooks/REPLACE_ME\n",
        );
        assert!(
            e.contains("line 1: MATTERMOST_ATVM_WEBHOOK is still the example's placeholder"),
            "{e}"
        );
    }

    #[test]
    fn the_shipped_example_is_refused_for_its_placeholder() {
        let example = include_str!("../dist/atvm-run-watcher.env.example");
        let f = file(example);
        assert!(f.parsed.notes.is_empty(), "{:?}", f.parsed.notes);
        let e = f.webhook().unwrap_err().to_string();
        assert!(
            e.contains("placeholder") && e.contains("put the real"),
            "{e}"
        );
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let f = file(&format!(
            "MATTERMOST_ATVM_WEBHOOK={URL}\nMATTERMOST_ATVM_CHANNEL=file\nMATTERMOST_ATVM_USERNAME=bot\nATVM_WATCHER_STATE_ROOT=/x\n"
        ));
        let env = f.mattermost_under(&Env::from_pairs([("MATTERMOST_ATVM_CHANNEL", "shell")]));
        assert_eq!(env.get(WEBHOOK), Some(URL));
        assert_eq!(env.get("MATTERMOST_ATVM_CHANNEL"), Some("shell"));
        assert_eq!(env.get("MATTERMOST_ATVM_USERNAME"), Some("bot"));
        assert_eq!(
            env.get("ATVM_WATCHER_STATE_ROOT"),
            None,
            "only the Mattermost settings"
        );
    }
}
