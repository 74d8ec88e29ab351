//! Raw flags + the environment snapshot (+ the stored request, for `watch`) → a validated,
//! resolved configuration. No I/O happens here (the environment and files are read at the
//! edges and passed in), so every rule is unit-tested with plain values.
//!
//! Precedence for a watch: explicit flag > request.json > environment twin > default.
//! request.json wins over the environment because it is what the operator asked for
//! this run (`start` records flags and the environment it saw); the environment file
//! systemd loads holds host-wide defaults. An invalid value is reported with where it
//! came from: the flag, the variable, or request.json's field.

use super::env::Env;
use super::flags::{PathArgs, WatchArgs};
use super::vars::{self, Var};
use crate::data::caps::{MENTION_CAP, SHOWN_BAD_VALUE};
use crate::data::error::{Error, Result};
use crate::data::names::{BuildName, REQUEST};
use crate::data::request::{REQUEST_SCHEMA, Request};
use crate::data::time::parse_duration;
use crate::edges::webhook::Webhook;
use crate::heart::retry::RetryPolicy;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the state and the logs live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paths {
    pub state_root: PathBuf,
    /// Given by flag or environment (a dry run then uses it instead of a temporary directory).
    pub state_root_explicit: bool,
    pub log_dir: PathBuf,
}

/// `var`'s default as a path.
fn default_path(var: Var) -> PathBuf {
    PathBuf::from(var.default.expect("a path variable has a default"))
}

impl Paths {
    pub fn resolve(raw: &PathArgs, env: &Env) -> Paths {
        let pick = |flag: &Option<PathBuf>, var: Var| {
            flag.clone()
                .or_else(|| var.get(env).map(PathBuf::from))
                .map(|p| env.absolute(p))
        };
        let state_root = pick(&raw.state_root, vars::STATE_ROOT);
        let automation_root = pick(&raw.automation_root, vars::AUTOMATION_ROOT)
            .unwrap_or_else(|| default_path(vars::AUTOMATION_ROOT));
        let log_dir = pick(&raw.log_dir, vars::LOG_DIR)
            .unwrap_or_else(|| automation_root.join(vars::LOG_SUBDIR));
        Paths {
            state_root_explicit: state_root.is_some(),
            state_root: state_root.unwrap_or_else(instance_state_root_default),
            log_dir,
        }
    }
}

/// The state root an instance uses when its environment names none.
pub(crate) fn instance_state_root_default() -> PathBuf {
    default_path(vars::STATE_ROOT)
}

/// The hook id of the shipped example's webhook (`dist/atvm-run-watcher.env.example`):
/// refused everywhere, since nothing would ever be delivered to it.
pub(crate) const PLACEHOLDER: &str = "REPLACE_ME";

/// The Mattermost settings: where posts go, and who a FAILED post tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mattermost {
    pub webhook: Webhook,
    pub mention: Option<String>,
}

impl Mattermost {
    /// Reads and checks the webhook (+ channel and username overrides) and the mention on
    /// failure from `env`.
    pub fn from_env(env: &Env) -> Result<Mattermost> {
        Ok(Mattermost {
            webhook: webhook_from_env(env)?,
            mention: mention_from_env(env)?,
        })
    }
}

/// `MATTERMOST_ATVM_WEBHOOK` and its overrides, checked: an http(s) URL that is not the
/// example's placeholder.
fn webhook_from_env(env: &Env) -> Result<Webhook> {
    let name = vars::WEBHOOK.name;
    let url = vars::WEBHOOK.get(env).ok_or_else(|| {
        Error::usage(format!(
            "{name} is not set (the Mattermost incoming webhook URL; use --dry-run to post nothing)"
        ))
    })?;
    let opt = |v: Var| v.get(env).map(|s| s.trim().to_string());
    let hook = Webhook::new(url.trim(), name, opt(vars::CHANNEL), opt(vars::USERNAME))
        .ok_or_else(|| Error::usage(format!("{name} is not a valid http:// or https:// URL")))?;
    if url.contains(PLACEHOLDER) {
        return Err(Error::usage(format!(
            "{name} is still the example's placeholder ({}/hooks/{PLACEHOLDER}): put the real incoming webhook URL of the Mattermost channel there",
            hook.redacted()
        )));
    }
    Ok(hook)
}

/// `MATTERMOST_ATVM_MENTION_ON_FAILURE`: who a FAILED post tells, e.g. `@qa-oncall` or
/// `@alice, @bob`. Each name is `@` then `[A-Za-z0-9][A-Za-z0-9._-]*`, names separated by
/// commas and/or blanks; anything else is refused. Returned as the names joined by `, `.
pub(crate) fn mention_from_env(env: &Env) -> Result<Option<String>> {
    let var = vars::MENTION.name;
    let Some(text) = vars::MENTION.get(env) else {
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
    if text.chars().count() > MENTION_CAP {
        return Err(Error::usage(format!(
            "{var}: longer than {MENTION_CAP} characters (name a group, e.g. @qa-oncall, rather than many people)"
        )));
    }
    match names.iter().find(|n| !valid(n)) {
        None if !names.is_empty() => Ok(Some(names.join(", "))),
        bad => {
            let shown: String = bad.unwrap_or(&text).chars().take(SHOWN_BAD_VALUE).collect();
            Err(Error::usage(format!(
                "{var}: {shown:?} is not a @name (use e.g. @qa-oncall or @alice, @bob)"
            )))
        }
    }
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
    /// A CA bundle trusted besides the built-in roots (`SSL_CERT_FILE`).
    pub ca_file: Option<PathBuf>,
}

impl Advanced {
    pub fn resolve(env: &Env) -> Result<Advanced> {
        let attempts = match vars::RETRY_ATTEMPTS.get(env) {
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    Error::usage(format!(
                        "{}: {v:?} is not a number ≥ 1",
                        vars::RETRY_ATTEMPTS.name
                    ))
                })?,
            None => vars::RETRY_ATTEMPTS
                .default
                .and_then(|d| d.parse().ok())
                .expect("the default attempts parse"),
        };
        let force_poll = vars::FORCE_POLL
            .get(env)
            .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
        let a = Advanced {
            poll_interval: vars::POLL_INTERVAL.duration(env)?,
            force_poll,
            http_timeout: vars::HTTP_TIMEOUT.duration(env)?,
            retry: RetryPolicy {
                base: vars::RETRY_BASE.duration(env)?,
                cap: vars::RETRY_CAP.duration(env)?,
                attempts,
                window: vars::RETRY_WINDOW.duration(env)?,
            },
            ca_file: vars::SSL_CERT_FILE.get(env).map(PathBuf::from),
        };
        if a.poll_interval.is_zero() || a.http_timeout.is_zero() {
            return Err(Error::usage(format!(
                "{} and {} must be > 0",
                vars::POLL_INTERVAL.name,
                vars::HTTP_TIMEOUT.name
            )));
        }
        Ok(a)
    }
}

/// The build a command is about: its validated name and where things live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuildRef {
    pub build_name: BuildName,
    pub paths: Paths,
}

impl BuildRef {
    pub fn resolve(build_name: Option<&str>, paths: &PathArgs, env: &Env) -> Result<BuildRef> {
        let name = build_name.ok_or_else(|| Error::usage("--build-name is required"))?;
        Ok(BuildRef {
            build_name: BuildName::new(name)?,
            paths: Paths::resolve(paths, env),
        })
    }

    pub fn build_dir(&self) -> PathBuf {
        self.paths.state_root.join(self.build_name.as_str())
    }
}

/// Everything a `watch` (or `start`) needs, validated.
#[derive(Debug, Clone)]
pub(crate) struct WatchConfig {
    pub build_name: BuildName,
    /// The request as it will be (re)written to request.json.
    pub request: Request,
    pub log_file: PathBuf,
    pub start_timeout: Duration,
    /// `None`: hung detection disabled (`--hung-timeout 0`).
    pub hung_timeout: Option<Duration>,
    /// The log's quiet after one of Cypress's own fatal errors that ends the run on it.
    pub fatal_grace: Duration,
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
/// twin, else its default. An invalid value names its source.
fn tuned(
    flag: (&str, &Option<String>),
    stored: (&Path, &str, Option<&String>),
    env: &Env,
    var: Var,
) -> Result<Tuned> {
    let (stored_file, field, stored_value) = stored;
    let recorded = flag.1.clone().or_else(|| stored_value.cloned());
    let value = if let Some(t) = flag.1 {
        parse_duration(flag.0, t)?
    } else if let Some(t) = stored_value {
        parse_duration(&format!("{}: {field}", stored_file.display()), t)?
    } else {
        var.duration(env)?
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
        let request_file = target.build_dir().join(REQUEST);
        let s = |f: fn(&Request) -> Option<&String>| stored.and_then(f);
        let start = tuned(
            ("--start-timeout", &raw.start_timeout),
            (
                &request_file,
                "start_timeout",
                s(|r| r.start_timeout.as_ref()),
            ),
            env,
            vars::START_TIMEOUT,
        )?;
        let hung = tuned(
            ("--hung-timeout", &raw.hung_timeout),
            (
                &request_file,
                "hung_timeout",
                s(|r| r.hung_timeout.as_ref()),
            ),
            env,
            vars::HUNG_TIMEOUT,
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
        let (webhook, mention) = match Mattermost::from_env(env) {
            Ok(m) => (Some(m.webhook), m.mention),
            Err(e) if !raw.dry_run => return Err(e),
            Err(_) => (None, mention_from_env(env)?),
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
            fatal_grace: vars::FATAL_GRACE.duration(env)?,
            dry_run: raw.dry_run,
            webhook,
            mention,
            advanced: Advanced::resolve(env)?,
        })
    }
}

/// The request options: each flag given, else what the stored request holds.
fn merged_request(
    raw: &WatchArgs,
    build_name: &BuildName,
    stored: Option<&Request>,
) -> Result<Request> {
    let pick = |flag: &Option<String>, f: fn(&Request) -> &Option<String>| {
        flag.clone().or_else(|| stored.and_then(|s| f(s).clone()))
    };
    let pid = raw.pid.or_else(|| stored.and_then(|s| s.pid));
    if pid == Some(0) {
        return Err(Error::usage("--pid: 0 is not a process id"));
    }
    Ok(Request {
        schema: REQUEST_SCHEMA,
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
        ..Request::new(build_name.clone())
    })
}

/// The rules file a watch reads: the build's (flag or request), else ATVM_WATCHER_RULES.
pub(crate) fn rules_file(recorded: Option<PathBuf>, env: &Env) -> Option<PathBuf> {
    recorded.or_else(|| vars::RULES.get(env).map(|p| env.absolute(p.into())))
}

#[cfg(test)]
mod tests;
