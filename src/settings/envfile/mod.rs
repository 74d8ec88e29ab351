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
//! file, owned by root or the user running this, no group or other permission bits, no NUL
//! byte: systemd refuses such a file as a whole) and
//! [`EnvFile::webhook`] the Mattermost settings, with diagnostics an operator can act on.

mod grammar;

pub(crate) use grammar::{Note, Parsed, parse};

use super::config::Mattermost;
use super::env::Env;
use super::vars::{self, MATTERMOST_PREFIX};
use crate::data::error::{Error, Result};
use crate::heart::redact::Redactor;

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The webhook's variable, which the file must set.
const WEBHOOK: &str = vars::WEBHOOK.name;

/// The environment file's path: `ATVM_WATCHER_ENV_FILE`, else `/etc/atvm-run-watcher.env`.
pub(crate) fn path(env: &Env) -> PathBuf {
    let default = vars::ENV_FILE
        .default
        .expect("the environment file has a default");
    PathBuf::from(vars::ENV_FILE.get(env).unwrap_or(default))
}

/// A checked and parsed environment file.
#[derive(Debug, Clone)]
pub(crate) struct EnvFile {
    pub path: PathBuf,
    pub parsed: Parsed,
}

impl EnvFile {
    /// Reads `path` with the checks `start` makes: it exists, is a regular file, is owned by
    /// root or by the user running this, and has no group or other permission bits (it
    /// holds the webhook secret). Every problem is exit 2. The checks are made on the file
    /// opened (`fstat`), and its content is read from that same descriptor: a file renamed
    /// over the path meanwhile can be neither checked nor read in its place.
    pub fn read(path: &Path) -> Result<EnvFile> {
        let shown = path.display();
        // Not blocking: a FIFO in its place is refused below, never waited on.
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| {
                let hint = match e.kind() {
                    std::io::ErrorKind::NotFound => " (install creates it from the example)",
                    _ => "",
                };
                Error::usage(format!("environment file {shown}: {e}{hint}"))
            })?;
        let meta = file
            .metadata()
            .map_err(|e| Error::usage(format!("environment file {shown}: {e}")))?;
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
        let me = crate::edges::sys::effective_uid();
        if meta.uid() != 0 && meta.uid() != me {
            return Err(Error::usage(format!(
                "environment file {shown} is owned by uid {}, not by root; it holds the webhook secret: chown root:root {shown}",
                meta.uid()
            )));
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::usage(format!("environment file {shown}: {e}")))?;
        if let Some(line) = nul_line(&bytes) {
            return Err(Error::usage(format!(
                "environment file {shown}, line {line}: holds a NUL byte, which systemd refuses (\"Bad message\": the instance would not start); remove it"
            )));
        }
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
    pub fn mattermost(&self) -> Result<Mattermost> {
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
                    Redactor::default().redact(note)
                )));
            }
        }
        let env = self.parsed.env();
        if env.get(WEBHOOK).is_none() {
            let why = match (self.parsed.get(WEBHOOK), self.why_unset(WEBHOOK)) {
                (_, Some(note)) => format!(": {note}"),
                (Some(a), None) => format!(" (line {} gives it an empty value)", a.line),
                (None, None) => {
                    format!(
                        " (add the line {WEBHOOK}=https://<mattermost host>/hooks/<id>: the channel's incoming webhook)"
                    )
                }
            };
            return Err(Error::usage(format!(
                "environment file {}: {WEBHOOK} is not set{why}",
                self.path.display()
            )));
        }
        Mattermost::from_env(&env)
            .map_err(|e| Error::usage(format!("{}: {e}", self.place(WEBHOOK))))
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

/// The line (1-based) of the first NUL byte in `bytes`, if there is one. systemd reads the
/// file with `read_full_stream()`, which refuses a file with an embedded NUL (`-EBADMSG`,
/// "Bad message"): the unit then fails to start.
fn nul_line(bytes: &[u8]) -> Option<usize> {
    let at = memchr::memchr(0, bytes)?;
    Some(memchr::memchr_iter(b'\n', &bytes[..at]).count() + 1)
}

/// `start`'s reading: the file systemd will load, checked, with its Mattermost settings.
pub(crate) fn load(env: &Env) -> Result<(EnvFile, Mattermost)> {
    let file = EnvFile::read(&path(env))?;
    let mattermost = file.mattermost()?;
    Ok((file, mattermost))
}

/// `watch` run from a shell, as the old script's callers do: when `MATTERMOST_ATVM_WEBHOOK`
/// is not in the environment, the Mattermost settings come from the environment file, with
/// `start`'s checks (systemd loads that file for the instances; a shell does not). The
/// environment still wins for every variable it sets. Returns the environment to use and
/// the line to log (no secret in it), or `None` when nothing is to be read: the webhook is
/// in the environment, or a dry run, which posts nothing.
pub(crate) fn for_watch(env: &Env, dry_run: bool) -> Result<Option<(Env, String)>> {
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
    let (file, m) = load(env)?;
    let line = format!(
        "{WEBHOOK} is not in the environment: Mattermost settings from {} (webhook {})",
        file.path.display(),
        m.webhook.redacted()
    );
    Ok(Some((file.mattermost_under(env), line)))
}

#[cfg(test)]
mod tests;
