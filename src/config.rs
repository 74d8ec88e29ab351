//! Stage two of configuration: raw flags + the environment snapshot (+ the stored
//! request, for `watch`) → a validated, resolved config. No I/O happens here (the
//! environment and files are read at the edges and passed in), so every rule is
//! unit-tested with plain values.
//!
//! Precedence for a watch: explicit flag > request.json > environment twin > default.
//! request.json wins over the environment because it is what the operator asked for
//! this run (`start` records flags and the environment it saw); the environment file
//! systemd loads holds host-wide defaults. An invalid value is reported with where it
//! came from: the flag, the variable, or request.json's field.

use crate::cli::{PathArgs, WatchArgs};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::redact::{Redactor, redact_url};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) const DEFAULT_STATE_ROOT: &str = "/var/lib/atvm-run-watcher";
const DEFAULT_AUTOMATION_ROOT: &str = "/root/cdc-e2e-cyp-12.17.4";
const LOG_SUBDIR: &str = "cypress/cmcReporter/tmp";
pub(crate) const DEFAULT_ENV_FILE: &str = "/etc/atvm-run-watcher.env";
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const DEFAULT_HUNG_TIMEOUT: Duration = Duration::from_secs(2 * 3600);
/// Longest `MATTERMOST_ATVM_MENTION_ON_FAILURE`: its line is part of every FAILED post,
/// which must keep room for the status, counts and host.
const MAX_MENTION: usize = 200;
/// Longest duration accepted: longer ones are typos, and deadlines must stay computable.
const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// Where the state and the logs live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paths {
    pub state_root: PathBuf,
    /// Given by flag or environment (a dry run then uses it instead of a temporary directory).
    pub state_root_explicit: bool,
    pub log_dir: PathBuf,
}

impl Paths {
    pub fn resolve(raw: &PathArgs, env: &Env) -> Paths {
        let pick = |flag: &Option<PathBuf>, key: &str| {
            flag.clone()
                .or_else(|| env.get(key).map(PathBuf::from))
                .map(|p| env.absolute(p))
        };
        let state_root = pick(&raw.state_root, "ATVM_WATCHER_STATE_ROOT");
        let automation_root = pick(&raw.automation_root, "ATVM_AUTOMATION_ROOT")
            .unwrap_or_else(|| PathBuf::from(DEFAULT_AUTOMATION_ROOT));
        let log_dir = pick(&raw.log_dir, "ATVM_WATCHER_LOG_DIR")
            .unwrap_or_else(|| automation_root.join(LOG_SUBDIR));
        Paths {
            state_root_explicit: state_root.is_some(),
            state_root: state_root.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_ROOT)),
            log_dir,
        }
    }
}

/// Checks a build name: `^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`. Such a name is a plain file
/// name (no `/`, cannot be `.` or `..`) and a systemd instance name that needs no escaping.
pub(crate) fn validate_build_name(name: &str) -> Result<()> {
    let ok_first = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    let ok_rest = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok_first && ok_rest && name.len() <= 200 {
        Ok(())
    } else {
        let shown: String = name.chars().take(80).collect();
        Err(Error::usage(format!(
            "invalid build name {shown:?}: use 1-200 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit"
        )))
    }
}

/// Parses `90` (seconds), `90s`, `15m`, `2h`, `1h 30m`; at most a year. `what` names
/// where the text came from (a flag, a variable, a file's field).
pub(crate) fn parse_duration(what: &str, text: &str) -> Result<Duration> {
    let t = text.trim();
    let d = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<u64>().map(Duration::from_secs).ok()
    } else {
        Some(humantime::parse_duration(t).map_err(|_| {
            Error::usage(format!(
                "{what}: invalid duration {t:?} (use e.g. 90, 90s, 15m or 2h)"
            ))
        })?)
    };
    match d {
        Some(d) if d <= MAX_DURATION => Ok(d),
        _ => Err(Error::usage(format!("{what}: {t:?} is longer than a year"))),
    }
}

pub(crate) fn format_duration(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// The hook id of the shipped example's webhook (`dist/atvm-run-watcher.env.example`):
/// refused everywhere, since nothing would ever be delivered to it.
pub const PLACEHOLDER: &str = "REPLACE_ME";

/// The Mattermost incoming webhook. The URL is a secret: it is never printed, logged or
/// stored; `Debug` and `redacted()` show only its scheme and host.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Webhook {
    url: String,
    redacted: String,
    pub channel: Option<String>,
    pub username: Option<String>,
    /// Who a FAILED post tells (`mention_from_env`).
    pub mention: Option<String>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.redacted)
            .field("channel", &self.channel)
            .field("username", &self.username)
            .field("mention", &self.mention)
            .finish()
    }
}

impl Webhook {
    /// Reads and checks `MATTERMOST_ATVM_WEBHOOK` (+ channel and username overrides, and
    /// the mention on failure).
    pub fn from_env(env: &Env) -> Result<Webhook> {
        let url = env.get("MATTERMOST_ATVM_WEBHOOK").ok_or_else(|| {
            Error::usage("MATTERMOST_ATVM_WEBHOOK is not set (the Mattermost incoming webhook URL; use --dry-run to post nothing)")
        })?;
        let url = url.trim();
        let redacted = redact_url(url).ok_or_else(|| {
            Error::usage("MATTERMOST_ATVM_WEBHOOK is not a valid http:// or https:// URL")
        })?;
        if url.contains(PLACEHOLDER) {
            return Err(Error::usage(format!(
                "MATTERMOST_ATVM_WEBHOOK is still the example's placeholder ({redacted}/hooks/{PLACEHOLDER}): put the real incoming webhook URL of the Mattermost channel there"
            )));
        }
        let opt = |k: &str| env.get(k).map(|s| s.trim().to_string());
        Ok(Webhook {
            url: url.to_string(),
            redacted,
            channel: opt("MATTERMOST_ATVM_CHANNEL"),
            username: opt("MATTERMOST_ATVM_USERNAME"),
            mention: mention_from_env(env)?,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// `scheme://host[:port]`, safe to print.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// What removes this webhook's secret from a text, whatever the text.
    pub fn redactor(&self) -> Redactor {
        Redactor::for_webhook(Some(&self.url))
    }

    /// Removes the secret from `text` (an error message from the HTTP stack, say).
    pub fn scrub(&self, text: &str) -> String {
        self.redactor().redact(text)
    }
}

/// `MATTERMOST_ATVM_MENTION_ON_FAILURE`: who a FAILED post tells, e.g. `@qa-oncall` or
/// `@alice, @bob`. Each name is `@` then `[A-Za-z0-9][A-Za-z0-9._-]*`, names separated by
/// commas and/or blanks; anything else is refused. Returned as the names joined by `, `.
pub(crate) fn mention_from_env(env: &Env) -> Result<Option<String>> {
    const VAR: &str = "MATTERMOST_ATVM_MENTION_ON_FAILURE";
    let Some(text) = env.get(VAR) else {
        return Ok(None);
    };
    let names: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
        .collect();
    let valid = |n: &&str| {
        n.strip_prefix('@').is_some_and(|rest| {
            rest.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
    };
    if text.chars().count() > MAX_MENTION {
        return Err(Error::usage(format!(
            "{VAR}: longer than {MAX_MENTION} characters (name a group, e.g. @qa-oncall, rather than many people)"
        )));
    }
    match names.iter().find(|n| !valid(n)) {
        None if !names.is_empty() => Ok(Some(names.join(", "))),
        bad => {
            let shown: String = bad.unwrap_or(&text).chars().take(60).collect();
            Err(Error::usage(format!(
                "{VAR}: {shown:?} is not a @name (use e.g. @qa-oncall or @alice, @bob)"
            )))
        }
    }
}

/// The request options, as request.json stores them (plus the tuning the run was asked
/// with, so that the systemd instance needs only `--build-name`). Unset tuning stays
/// `null` so that the instance's own environment and defaults apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub(crate) struct Request {
    pub schema: u32,
    pub build_name: String,
    pub template: Option<String>,
    pub config_family: Option<String>,
    pub migration_style: Option<String>,
    pub integration_plugin: Option<String>,
    pub scope_description: Option<String>,
    pub categorize: bool,
    pub log_file: Option<PathBuf>,
    pub start_timeout: Option<String>,
    pub hung_timeout: Option<String>,
    pub pid: Option<u32>,
    /// The start time of `pid` when first recorded (guards against pid reuse).
    pub pid_start: Option<u64>,
    pub rules: Option<PathBuf>,
    /// When the request was first recorded (RFC 3339); the start timeout counts from here
    /// when state.json has to be rebuilt.
    pub created_at: Option<String>,
}

/// How often and how long one post is tried (per start of the watcher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// First retry delay; doubles per attempt up to `cap`.
    pub base: Duration,
    pub cap: Duration,
    pub attempts: u32,
    /// Time budget since the first attempt.
    pub window: Duration,
}

/// Knobs that are not part of the contract's option table but that operators (slow
/// networks, exotic file systems) and the test suite need; all from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Advanced {
    /// Stat-polling interval when inotify cannot be used.
    pub poll_interval: Duration,
    /// Use stat polling even when inotify works.
    pub force_poll: bool,
    /// Overall time limit of one delivery attempt.
    pub http_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Advanced {
    pub fn resolve(env: &Env) -> Result<Advanced> {
        let dur = |key: &str, default: Duration| -> Result<Duration> {
            env.get(key).map_or(Ok(default), |v| parse_duration(key, v))
        };
        let attempts = match env.get("ATVM_WATCHER_RETRY_ATTEMPTS") {
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    Error::usage(format!(
                        "ATVM_WATCHER_RETRY_ATTEMPTS: {v:?} is not a number ≥ 1"
                    ))
                })?,
            None => 8,
        };
        let force_poll = env
            .get("ATVM_WATCHER_FORCE_POLL")
            .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
        let a = Advanced {
            poll_interval: dur("ATVM_WATCHER_POLL_INTERVAL", Duration::from_millis(500))?,
            force_poll,
            http_timeout: dur("ATVM_WATCHER_HTTP_TIMEOUT", Duration::from_secs(30))?,
            retry: RetryPolicy {
                base: dur("ATVM_WATCHER_RETRY_BASE", Duration::from_secs(1))?,
                cap: dur("ATVM_WATCHER_RETRY_CAP", Duration::from_secs(60))?,
                attempts,
                window: dur("ATVM_WATCHER_RETRY_WINDOW", Duration::from_secs(600))?,
            },
        };
        if a.poll_interval.is_zero() || a.http_timeout.is_zero() {
            return Err(Error::usage(
                "ATVM_WATCHER_POLL_INTERVAL and ATVM_WATCHER_HTTP_TIMEOUT must be > 0",
            ));
        }
        Ok(a)
    }
}

/// The build a command is about: its validated name and where things live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuildRef {
    pub build_name: String,
    pub paths: Paths,
}

impl BuildRef {
    pub fn resolve(build_name: Option<&str>, paths: &PathArgs, env: &Env) -> Result<BuildRef> {
        let name = build_name.ok_or_else(|| Error::usage("--build-name is required"))?;
        validate_build_name(name)?;
        Ok(BuildRef {
            build_name: name.to_string(),
            paths: Paths::resolve(paths, env),
        })
    }

    pub fn build_dir(&self) -> PathBuf {
        self.paths.state_root.join(&self.build_name)
    }
}

/// Everything a `watch` (or `start`) needs, validated.
#[derive(Debug, Clone)]
pub(crate) struct WatchConfig {
    pub build_name: String,
    /// The request as it will be (re)written to request.json.
    pub request: Request,
    pub log_file: PathBuf,
    pub start_timeout: Duration,
    /// `None`: hung detection disabled (`--hung-timeout 0`).
    pub hung_timeout: Option<Duration>,
    pub rules_file: Option<PathBuf>,
    pub dry_run: bool,
    /// `None` only in a dry run without a webhook configured.
    pub webhook: Option<Webhook>,
    /// Who a FAILED post tells (`MATTERMOST_ATVM_MENTION_ON_FAILURE`).
    pub mention: Option<String>,
    pub advanced: Advanced,
}

/// A tuning duration: where it came from (for request.json and for error messages) and
/// its value.
struct Tuned {
    /// What request.json records: only what was asked for (flag or stored request).
    recorded: Option<String>,
    value: Duration,
}

/// A duration option: the flag, else the stored request's field, else the environment
/// twin, else the default. An invalid value names its source.
fn tuned(
    flag: (&str, &Option<String>),
    stored: (&Path, &str, Option<&String>),
    env: (&Env, &str),
    default: Duration,
) -> Result<Tuned> {
    let (stored_file, field, stored_value) = stored;
    let (what, text) = if let Some(t) = flag.1 {
        (flag.0.to_string(), Some(t.clone()))
    } else if let Some(t) = stored_value {
        (
            format!("{}: {field}", stored_file.display()),
            Some(t.clone()),
        )
    } else if let Some(t) = env.0.get(env.1) {
        (format!("{} (environment)", env.1), Some(t.to_string()))
    } else {
        (String::new(), None)
    };
    let recorded = flag.1.clone().or_else(|| stored_value.cloned());
    let value = match &text {
        Some(t) => parse_duration(&what, t)?,
        None => default,
    };
    Ok(Tuned { recorded, value })
}

impl WatchConfig {
    /// Resolves a watch from its flags, the environment and the stored request (if any).
    pub fn resolve(
        raw: &WatchArgs,
        env: &Env,
        target: BuildRef,
        stored: Option<&Request>,
    ) -> Result<WatchConfig> {
        let request_file = target.build_dir().join(crate::state::REQUEST);
        let s = |f: fn(&Request) -> Option<&String>| stored.and_then(f);
        let start = tuned(
            ("--start-timeout", &raw.start_timeout),
            (
                &request_file,
                "start_timeout",
                s(|r| r.start_timeout.as_ref()),
            ),
            (env, "ATVM_WATCHER_START_TIMEOUT"),
            DEFAULT_START_TIMEOUT,
        )?;
        let hung = tuned(
            ("--hung-timeout", &raw.hung_timeout),
            (
                &request_file,
                "hung_timeout",
                s(|r| r.hung_timeout.as_ref()),
            ),
            (env, "ATVM_WATCHER_HUNG_TIMEOUT"),
            DEFAULT_HUNG_TIMEOUT,
        )?;
        let log_file = raw
            .log_file
            .clone()
            .map(|p| env.absolute(p))
            .or_else(|| stored.and_then(|s| s.log_file.clone()))
            .unwrap_or_else(|| {
                let name = format!("{}.log", target.build_name);
                target.paths.log_dir.join(name)
            });
        if log_file.file_name().is_none() {
            return Err(Error::usage(format!(
                "--log-file {} does not name a file",
                log_file.display()
            )));
        }
        let webhook = match Webhook::from_env(env) {
            Ok(w) => Some(w),
            Err(e) if !raw.dry_run => return Err(e),
            Err(_) => None,
        };
        let request = Request {
            log_file: Some(log_file.clone()),
            start_timeout: start.recorded,
            hung_timeout: hung.recorded,
            rules: raw
                .rules
                .clone()
                .map(|p| env.absolute(p))
                .or_else(|| stored.and_then(|s| s.rules.clone())),
            ..merged_request(raw, &target.build_name, stored)?
        };
        Ok(WatchConfig {
            build_name: target.build_name,
            rules_file: rules_file(request.rules.clone(), env),
            request,
            log_file,
            start_timeout: start.value,
            hung_timeout: (!hung.value.is_zero()).then_some(hung.value),
            dry_run: raw.dry_run,
            mention: match &webhook {
                Some(w) => w.mention.clone(),
                None => mention_from_env(env)?,
            },
            webhook,
            advanced: Advanced::resolve(env)?,
        })
    }
}

/// The request options: each flag given, else what the stored request holds.
fn merged_request(raw: &WatchArgs, build_name: &str, stored: Option<&Request>) -> Result<Request> {
    let pick = |flag: &Option<String>, f: fn(&Request) -> &Option<String>| {
        flag.clone().or_else(|| stored.and_then(|s| f(s).clone()))
    };
    let pid = raw.pid.or_else(|| stored.and_then(|s| s.pid));
    if pid == Some(0) {
        return Err(Error::usage("--pid: 0 is not a process id"));
    }
    Ok(Request {
        schema: 1,
        build_name: build_name.to_string(),
        template: pick(&raw.template, |s| &s.template),
        config_family: pick(&raw.config_family, |s| &s.config_family),
        migration_style: pick(&raw.migration_style, |s| &s.migration_style),
        integration_plugin: pick(&raw.integration_plugin, |s| &s.integration_plugin),
        scope_description: pick(&raw.scope_description, |s| &s.scope_description),
        categorize: raw.categorize || stored.is_some_and(|s| s.categorize),
        pid,
        pid_start: stored
            .filter(|s| raw.pid.is_none() || s.pid == raw.pid)
            .and_then(|s| s.pid_start),
        created_at: stored.and_then(|s| s.created_at.clone()),
        ..Request::default()
    })
}

/// The rules file a watch reads: the build's (flag or request), else ATVM_WATCHER_RULES.
pub(crate) fn rules_file(recorded: Option<PathBuf>, env: &Env) -> Option<PathBuf> {
    recorded.or_else(|| {
        env.get("ATVM_WATCHER_RULES")
            .map(|p| env.absolute(p.into()))
    })
}

#[cfg(test)]
mod tests;
