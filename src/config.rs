//! Stage two of configuration: raw flags + an environment snapshot (+ the stored
//! request, for `watch`) → a validated, resolved config. Pure: no I/O happens here,
//! so every rule is unit-tested with plain values.
//!
//! Precedence for a watch: explicit flag > request.json > environment twin > default.
//! request.json wins over the environment because it is what the operator asked for
//! this run (`start` records flags and the environment it saw); the environment file
//! systemd loads holds host-wide defaults.

use crate::cli::{PathArgs, WatchArgs};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_STATE_ROOT: &str = "/var/lib/atvm-run-watcher";
pub const DEFAULT_AUTOMATION_ROOT: &str = "/root/cdc-e2e-cyp-12.17.4";
pub const LOG_SUBDIR: &str = "cypress/cmcReporter/tmp";
pub const DEFAULT_ENV_FILE: &str = "/etc/atvm-run-watcher.env";
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_HUNG_TIMEOUT: Duration = Duration::from_secs(2 * 3600);

/// A snapshot of the process environment, taken once at start-up: the variables and the
/// working directory (relative paths are made absolute against it, so that what `start`
/// records means the same to the systemd instance, which runs in `/`).
#[derive(Debug, Clone)]
pub struct Env {
    vars: BTreeMap<String, String>,
    cwd: PathBuf,
}

impl Default for Env {
    fn default() -> Self {
        Env {
            vars: BTreeMap::new(),
            cwd: PathBuf::from("/"),
        }
    }
}

impl Env {
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| {
                    Some((k.into_string().ok()?, v.to_string_lossy().into_owned()))
                })
                .collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        }
    }

    pub fn from_pairs<I: IntoIterator<Item = (S, S)>, S: Into<String>>(pairs: I) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            ..Env::default()
        }
    }

    /// The same variables, seen from working directory `cwd`.
    pub fn in_dir(mut self, cwd: &Path) -> Env {
        self.cwd = cwd.to_path_buf();
        self
    }

    /// `self` with every variable of `top` set on top of it.
    pub fn overlaid_by(&self, top: &Env) -> Env {
        let mut vars = self.vars.clone();
        vars.extend(top.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        Env {
            vars,
            cwd: top.cwd.clone(),
        }
    }

    /// A variable's value; an empty value counts as unset, as systemd's `Environment=X=` does.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// `p` made absolute against the working directory.
    pub fn absolute(&self, p: PathBuf) -> PathBuf {
        if p.is_absolute() { p } else { self.cwd.join(p) }
    }
}

/// Where the state and the logs live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub state_root: PathBuf,
    /// Given by flag or environment (a dry run then uses it instead of a temporary directory).
    pub state_root_explicit: bool,
    pub automation_root: PathBuf,
    pub log_dir: PathBuf,
}

impl Paths {
    pub fn resolve(raw: &PathArgs, env: &Env) -> Paths {
        let from_env = |k: &str| env.get(k).map(PathBuf::from).map(|p| env.absolute(p));
        let raw = PathArgs {
            state_root: raw.state_root.clone().map(|p| env.absolute(p)),
            automation_root: raw.automation_root.clone().map(|p| env.absolute(p)),
            log_dir: raw.log_dir.clone().map(|p| env.absolute(p)),
        };
        let state_root = raw
            .state_root
            .clone()
            .or_else(|| from_env("ATVM_WATCHER_STATE_ROOT"));
        let state_root_explicit = state_root.is_some();
        let automation_root = raw
            .automation_root
            .clone()
            .or_else(|| from_env("ATVM_AUTOMATION_ROOT"))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_AUTOMATION_ROOT));
        let log_dir = raw
            .log_dir
            .clone()
            .or_else(|| from_env("ATVM_WATCHER_LOG_DIR"))
            .unwrap_or_else(|| automation_root.join(LOG_SUBDIR));
        Paths {
            state_root: state_root.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_ROOT)),
            state_root_explicit,
            automation_root,
            log_dir,
        }
    }
}

/// Checks a build name: `^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`. Such a name is a plain file
/// name (no `/`, cannot be `.` or `..`) and a systemd instance name that needs no escaping.
pub fn validate_build_name(name: &str) -> Result<()> {
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
        Err(Error::usage(format!(
            "invalid build name {:?}: use 1-200 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit",
            truncate_chars(name, 80)
        )))
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Parses `90` (seconds), `90s`, `15m`, `2h`, `1h 30m`.
/// Longest duration accepted: longer ones are typos, and deadlines must stay computable.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parses `90` (seconds), `90s`, `15m`, `2h`, `1h 30m`; at most a year.
pub fn parse_duration(what: &str, text: &str) -> Result<Duration> {
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

pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// The hook id of the shipped example's webhook (`dist/atvm-run-watcher.env.example`):
/// refused everywhere, since nothing would ever be delivered to it.
pub const PLACEHOLDER: &str = "REPLACE_ME";

/// The Mattermost incoming webhook. The URL is a secret: it is never printed, logged or
/// stored; `Debug` and `redacted()` show only its scheme and host.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    url: String,
    redacted: String,
    pub channel: Option<String>,
    pub username: Option<String>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.redacted)
            .field("channel", &self.channel)
            .field("username", &self.username)
            .finish()
    }
}

impl Webhook {
    /// Reads and checks `MATTERMOST_ATVM_WEBHOOK` (+ channel and username overrides).
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
        Ok(Webhook {
            url: url.to_string(),
            redacted,
            channel: env
                .get("MATTERMOST_ATVM_CHANNEL")
                .map(|s| s.trim().to_string()),
            username: env
                .get("MATTERMOST_ATVM_USERNAME")
                .map(|s| s.trim().to_string()),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// `scheme://host[:port]`, safe to print.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// Removes the secret from `text` (an error message from the HTTP stack, say).
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.url, &self.redacted);
        if let Some(path_start) = self
            .url
            .find("://")
            .and_then(|i| self.url[i + 3..].find('/').map(|j| i + 3 + j))
        {
            let path = &self.url[path_start..];
            if path.len() > 1 {
                out = out.replace(path, "/…");
            }
        }
        out
    }
}

/// `scheme://host[:port]` of a valid http(s) URL with a host, or `None`.
pub fn redact_url(url: &str) -> Option<String> {
    if url.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let uri: ureq::http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = uri.authority()?;
    let host = authority.host();
    if host.is_empty() {
        return None;
    }
    Some(match authority.port_u16() {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Redacts every Mattermost incoming-webhook URL (`scheme://host/hooks/<id>`) in `text` to
/// its scheme and host: text taken from the run's log is stored, logged and posted, and
/// must not carry a webhook secret along.
pub fn redact_hook_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let url_len = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
            .unwrap_or(after.len());
        let url = &after[..url_len];
        let host_len = url.find('/').unwrap_or(url.len());
        out.push_str(&rest[..i + 3]);
        if url[host_len..].contains("/hooks/") {
            out.push_str(&url[..host_len]);
        } else {
            out.push_str(url);
        }
        rest = &after[url_len..];
    }
    out.push_str(rest);
    out
}

/// The request options, as request.json stores them (plus the tuning the run was asked
/// with, so that the systemd instance needs only `--build-name`). Unset tuning stays
/// `null` so that the instance's own environment and defaults apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Request {
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

/// Knobs that are not part of the contract's option table but that operators (slow
/// networks, exotic file systems) and the test suite need; all from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advanced {
    /// Stat-polling interval when inotify cannot be used.
    pub poll_interval: Duration,
    /// Use stat polling even when inotify works.
    pub force_poll: bool,
    /// Overall time limit of one delivery attempt.
    pub http_timeout: Duration,
    /// First retry delay; doubles per attempt up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    pub retry_attempts: u32,
    pub retry_window: Duration,
}

impl Advanced {
    pub fn resolve(env: &Env) -> Result<Advanced> {
        let dur = |key: &str, default: Duration| -> Result<Duration> {
            match env.get(key) {
                Some(v) => parse_duration(key, v),
                None => Ok(default),
            }
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
        let force_poll = matches!(env.get("ATVM_WATCHER_FORCE_POLL"), Some(v) if v != "0" && !v.eq_ignore_ascii_case("false"));
        let a = Advanced {
            poll_interval: dur("ATVM_WATCHER_POLL_INTERVAL", Duration::from_millis(500))?,
            force_poll,
            http_timeout: dur("ATVM_WATCHER_HTTP_TIMEOUT", Duration::from_secs(30))?,
            retry_base: dur("ATVM_WATCHER_RETRY_BASE", Duration::from_secs(1))?,
            retry_cap: dur("ATVM_WATCHER_RETRY_CAP", Duration::from_secs(60))?,
            retry_attempts: attempts,
            retry_window: dur("ATVM_WATCHER_RETRY_WINDOW", Duration::from_secs(600))?,
        };
        if a.poll_interval.is_zero() || a.http_timeout.is_zero() {
            return Err(Error::usage(
                "ATVM_WATCHER_POLL_INTERVAL and ATVM_WATCHER_HTTP_TIMEOUT must be > 0",
            ));
        }
        Ok(a)
    }
}

/// Everything a `watch` (or `start`) needs, validated.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub build_name: String,
    pub paths: Paths,
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
    pub advanced: Advanced,
}

/// The build a command is about: its validated name and where things live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub build_name: String,
    pub paths: Paths,
}

impl Target {
    pub fn resolve(build_name: Option<&str>, paths: &PathArgs, env: &Env) -> Result<Target> {
        let name = build_name.ok_or_else(|| Error::usage("--build-name is required"))?;
        validate_build_name(name)?;
        Ok(Target {
            build_name: name.to_string(),
            paths: Paths::resolve(paths, env),
        })
    }

    pub fn build_dir(&self) -> PathBuf {
        self.paths.state_root.join(&self.build_name)
    }
}

impl WatchConfig {
    /// Resolves a watch from its flags, the environment and the stored request (if any).
    pub fn resolve(
        raw: &WatchArgs,
        env: &Env,
        target: Target,
        stored: Option<&Request>,
    ) -> Result<WatchConfig> {
        let pick = |flag: &Option<String>, stored: Option<&Option<String>>| -> Option<String> {
            flag.clone().or_else(|| stored.and_then(|s| s.clone()))
        };
        let stored_ref = stored;
        let request_base = Request {
            schema: 1,
            build_name: target.build_name.clone(),
            template: pick(&raw.template, stored_ref.map(|s| &s.template)),
            config_family: pick(&raw.config_family, stored_ref.map(|s| &s.config_family)),
            migration_style: pick(&raw.migration_style, stored_ref.map(|s| &s.migration_style)),
            integration_plugin: pick(
                &raw.integration_plugin,
                stored_ref.map(|s| &s.integration_plugin),
            ),
            scope_description: pick(
                &raw.scope_description,
                stored_ref.map(|s| &s.scope_description),
            ),
            categorize: raw.categorize || stored_ref.is_some_and(|s| s.categorize),
            log_file: None,
            start_timeout: None,
            hung_timeout: None,
            pid: raw.pid.or_else(|| stored_ref.and_then(|s| s.pid)),
            pid_start: stored_ref
                .filter(|s| raw.pid.is_none() || s.pid == raw.pid)
                .and_then(|s| s.pid_start),
            rules: None,
            created_at: stored_ref.and_then(|s| s.created_at.clone()),
        };

        // A tuning option is recorded in request.json only when it was asked for (flag or
        // stored request); the environment twin and the default apply at each watch.
        let recorded = |flag: &Option<String>, stored: Option<&String>| {
            flag.clone().or_else(|| stored.cloned())
        };
        let start_rec = recorded(
            &raw.start_timeout,
            stored.and_then(|s| s.start_timeout.as_ref()),
        );
        let hung_rec = recorded(
            &raw.hung_timeout,
            stored.and_then(|s| s.hung_timeout.as_ref()),
        );
        let effective = |rec: &Option<String>, key: &str| {
            rec.clone().or_else(|| env.get(key).map(str::to_string))
        };
        let start_text = effective(&start_rec, "ATVM_WATCHER_START_TIMEOUT");
        let hung_text = effective(&hung_rec, "ATVM_WATCHER_HUNG_TIMEOUT");
        let start_timeout = match &start_text {
            Some(t) => parse_duration("--start-timeout", t)?,
            None => DEFAULT_START_TIMEOUT,
        };
        let hung = match &hung_text {
            Some(t) => parse_duration("--hung-timeout", t)?,
            None => DEFAULT_HUNG_TIMEOUT,
        };
        let hung_timeout = (!hung.is_zero()).then_some(hung);

        let log_file = raw
            .log_file
            .clone()
            .map(|p| env.absolute(p))
            .or_else(|| stored.and_then(|s| s.log_file.clone()))
            .unwrap_or_else(|| {
                target
                    .paths
                    .log_dir
                    .join(format!("{}.log", target.build_name))
            });
        if log_file.file_name().is_none() {
            return Err(Error::usage(format!(
                "--log-file {} does not name a file",
                log_file.display()
            )));
        }
        let rules_rec = raw
            .rules
            .clone()
            .map(|p| env.absolute(p))
            .or_else(|| stored.and_then(|s| s.rules.clone()));
        let rules_file = rules_rec.clone().or_else(|| {
            env.get("ATVM_WATCHER_RULES")
                .map(|p| env.absolute(PathBuf::from(p)))
        });

        if let Some(0) = request_base.pid {
            return Err(Error::usage("--pid: 0 is not a process id"));
        }

        let webhook = match Webhook::from_env(env) {
            Ok(w) => Some(w),
            Err(e) if !raw.dry_run => return Err(e),
            Err(_) => None,
        };
        let advanced = Advanced::resolve(env)?;

        let request = Request {
            log_file: Some(log_file.clone()),
            start_timeout: start_rec,
            hung_timeout: hung_rec,
            rules: rules_rec,
            ..request_base
        };
        Ok(WatchConfig {
            build_name: target.build_name,
            paths: target.paths,
            request,
            log_file,
            start_timeout,
            hung_timeout,
            rules_file,
            dry_run: raw.dry_run,
            webhook,
            advanced,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(build: &str) -> WatchArgs {
        WatchArgs {
            build_name: Some(build.into()),
            ..Default::default()
        }
    }

    fn env_with_hook() -> Env {
        Env::from_pairs([(
            "MATTERMOST_ATVM_WEBHOOK",
            "https://chat.example.com/hooks/abc123secret",
        )])
    }

    fn resolve(raw: &WatchArgs, env: &Env, stored: Option<&Request>) -> Result<WatchConfig> {
        let t = Target::resolve(raw.build_name.as_deref(), &raw.paths, env)?;
        WatchConfig::resolve(raw, env, t, stored)
    }

    #[test]
    fn build_names() {
        let good = ["a", "Z9", "build-2026.11.22_nightly", &"x".repeat(200)];
        for n in good {
            assert!(validate_build_name(n).is_ok(), "{n} should be valid");
        }
        let long = "x".repeat(201);
        let bad = [
            "", ".", "..", "../etc", "a/b", "-lead", ".hidden", "_x", "sp ace", "tab\t", "ü",
            "a\0b", &long, "a@b", "x%2e",
        ];
        for n in bad {
            let e = validate_build_name(n).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().starts_with("invalid build name"), "{e}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            ("90", 90),
            ("90s", 90),
            ("15m", 900),
            ("2h", 7200),
            ("1h 30m", 5400),
            (" 0 ", 0),
        ];
        for (t, secs) in cases {
            assert_eq!(
                parse_duration("x", t).unwrap(),
                Duration::from_secs(secs),
                "{t}"
            );
        }
        for t in [
            "",
            "abc",
            "-5",
            "5 parsecs",
            "99999999999999999999",
            "18446744073709551615",
            "367d",
            "2years",
        ] {
            assert_eq!(parse_duration("--x", t).unwrap_err().exit_code(), 2, "{t}");
        }
    }

    #[test]
    fn defaults() {
        let c = resolve(&args("b1"), &env_with_hook(), None).unwrap();
        assert_eq!(c.paths.state_root, PathBuf::from(DEFAULT_STATE_ROOT));
        assert!(!c.paths.state_root_explicit);
        assert_eq!(
            c.log_file,
            PathBuf::from("/root/cdc-e2e-cyp-12.17.4/cypress/cmcReporter/tmp/b1.log")
        );
        assert_eq!(c.start_timeout, Duration::from_secs(1800));
        assert_eq!(c.hung_timeout, Some(Duration::from_secs(7200)));
        assert!(!c.request.categorize);
        assert_eq!(c.request.start_timeout, None, "defaults are not recorded");
    }

    #[test]
    fn env_twins_and_flags() {
        let env = Env::from_pairs([
            ("MATTERMOST_ATVM_WEBHOOK", "http://127.0.0.1:9/hooks/x"),
            ("ATVM_WATCHER_STATE_ROOT", "/s"),
            ("ATVM_AUTOMATION_ROOT", "/auto"),
            ("ATVM_WATCHER_HUNG_TIMEOUT", "0"),
            ("ATVM_WATCHER_START_TIMEOUT", "5m"),
        ]);
        let c = resolve(&args("b"), &env, None).unwrap();
        assert_eq!(
            c.request.hung_timeout, None,
            "environment twins are not frozen into request.json"
        );
        assert_eq!(c.paths.state_root, PathBuf::from("/s"));
        assert!(c.paths.state_root_explicit);
        assert_eq!(
            c.log_file,
            PathBuf::from("/auto/cypress/cmcReporter/tmp/b.log")
        );
        assert_eq!(c.hung_timeout, None);
        assert_eq!(c.start_timeout, Duration::from_secs(300));

        let mut raw = args("b");
        raw.paths.log_dir = Some("/logs".into());
        raw.start_timeout = Some("90".into());
        let c = resolve(&raw, &env, None).unwrap();
        assert_eq!(c.log_file, PathBuf::from("/logs/b.log"));
        assert_eq!(c.start_timeout, Duration::from_secs(90));
    }

    #[test]
    fn relative_paths_become_absolute_against_the_working_directory() {
        let env = env_with_hook().in_dir(Path::new("/home/qa/runs"));
        let mut raw = args("b");
        raw.paths.state_root = Some("state".into());
        raw.paths.log_dir = Some("logs".into());
        raw.rules = Some("rules.json".into());
        let c = resolve(&raw, &env, None).unwrap();
        assert_eq!(c.paths.state_root, PathBuf::from("/home/qa/runs/state"));
        assert_eq!(c.log_file, PathBuf::from("/home/qa/runs/logs/b.log"));
        assert_eq!(
            c.request.rules,
            Some(PathBuf::from("/home/qa/runs/rules.json"))
        );
        raw.log_file = Some("../x.log".into());
        let c = resolve(&raw, &env, None).unwrap();
        assert_eq!(
            c.request.log_file,
            Some(PathBuf::from("/home/qa/runs/../x.log"))
        );
    }

    #[test]
    fn stored_request_beats_env_but_not_flags() {
        let env = Env::from_pairs([
            ("MATTERMOST_ATVM_WEBHOOK", "http://127.0.0.1:9/hooks/x"),
            ("ATVM_WATCHER_HUNG_TIMEOUT", "4h"),
        ]);
        let stored = Request {
            build_name: "b".into(),
            template: Some("tmpl-A".into()),
            categorize: true,
            hung_timeout: Some("3h".into()),
            log_file: Some("/elsewhere/b.log".into()),
            ..Default::default()
        };
        let c = resolve(&args("b"), &env, Some(&stored)).unwrap();
        assert_eq!(c.hung_timeout, Some(Duration::from_secs(3 * 3600)));
        assert!(c.request.categorize);
        assert_eq!(c.request.template.as_deref(), Some("tmpl-A"));
        assert_eq!(c.log_file, PathBuf::from("/elsewhere/b.log"));

        let mut raw = args("b");
        raw.hung_timeout = Some("10m".into());
        raw.template = Some("tmpl-B".into());
        let c = resolve(&raw, &env, Some(&stored)).unwrap();
        assert_eq!(c.hung_timeout, Some(Duration::from_secs(600)));
        assert_eq!(c.request.template.as_deref(), Some("tmpl-B"));
    }

    #[test]
    fn webhook_rules() {
        let e = resolve(&args("b"), &Env::default(), None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("MATTERMOST_ATVM_WEBHOOK is not set"));

        let mut dry = args("b");
        dry.dry_run = true;
        assert!(
            resolve(&dry, &Env::default(), None)
                .unwrap()
                .webhook
                .is_none()
        );

        for bad in [
            "ftp://h/secret1",
            "no-url-secret2",
            "https://",
            "https:///secret3",
            "mailto:secret4@y",
            "http://h/ secret5",
        ] {
            let env = Env::from_pairs([("MATTERMOST_ATVM_WEBHOOK", bad)]);
            let e = resolve(&args("b"), &env, None).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(
                !e.to_string().contains("secret"),
                "the error must not echo the URL: {e}"
            );
        }
        let c = resolve(&args("b"), &env_with_hook(), None).unwrap();
        let w = c.webhook.unwrap();
        assert_eq!(w.redacted(), "https://chat.example.com");
        assert!(!format!("{w:?}").contains("abc123secret"));
        assert_eq!(
            w.scrub("error sending to https://chat.example.com/hooks/abc123secret: refused"),
            "error sending to https://chat.example.com: refused"
        );
        assert!(
            !w.scrub("path /hooks/abc123secret leaked")
                .contains("abc123secret")
        );
    }

    #[test]
    fn hook_urls_in_text_are_redacted() {
        let cases = [
            (
                "post to https://chat.example.com/hooks/abc123 failed",
                "post to https://chat.example.com failed",
            ),
            (
                "x=http://10.0.0.5:8065/hooks/zz9 and https://docs.example.com/page",
                "x=http://10.0.0.5:8065 and https://docs.example.com/page",
            ),
            ("(https://h/hooks/a)", "(https://h)"),
            ("no urls here", "no urls here"),
            ("dangling ://", "dangling ://"),
        ];
        for (text, want) in cases {
            assert_eq!(redact_hook_urls(text), want, "{text}");
        }
    }

    #[test]
    fn missing_or_bad_build_name() {
        let e = resolve(&WatchArgs::default(), &env_with_hook(), None).unwrap_err();
        assert_eq!(e.to_string(), "--build-name is required");
        let e = resolve(&args("../../etc/passwd"), &env_with_hook(), None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn advanced_knobs() {
        let a = Advanced::resolve(&Env::default()).unwrap();
        assert_eq!(a.retry_attempts, 8);
        assert_eq!(a.retry_window, Duration::from_secs(600));
        assert!(!a.force_poll);
        let env = Env::from_pairs([
            ("ATVM_WATCHER_FORCE_POLL", "1"),
            ("ATVM_WATCHER_POLL_INTERVAL", "100ms"),
            ("ATVM_WATCHER_RETRY_ATTEMPTS", "3"),
        ]);
        let a = Advanced::resolve(&env).unwrap();
        assert!(a.force_poll);
        assert_eq!(a.poll_interval, Duration::from_millis(100));
        assert_eq!(a.retry_attempts, 3);
        assert!(
            Advanced::resolve(&Env::from_pairs([("ATVM_WATCHER_RETRY_ATTEMPTS", "0")])).is_err()
        );
    }
}
