//! Every environment variable the program reads, once: its name, its default as an
//! operator would write it, and what it is for. Flags' help texts (`flags.rs`), error
//! messages and the readers in `config.rs` and `envfile/` all take them from here; a test
//! holds that no other file of `src/` spells a name.

use super::env::Env;
use crate::data::error::Result;
use crate::data::time::parse_duration;
use std::time::Duration;

/// One environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Var {
    pub name: &'static str,
    /// What applies when it is unset, as the operator would write it.
    pub default: Option<&'static str>,
    /// What it is for (one line, for help texts).
    pub about: &'static str,
}

impl Var {
    /// Its value in `env` (an empty value counts as unset, as systemd's `Environment=X=`).
    pub fn get<'e>(&self, env: &'e Env) -> Option<&'e str> {
        env.get(self.name)
    }

    /// Its flag's help text: `about [env: NAME] [default: D]`.
    pub fn flag_help(&self) -> String {
        match self.default {
            Some(d) => format!("{} [env: {}] [default: {d}]", self.about, self.name),
            None => format!("{} [env: {}]", self.about, self.name),
        }
    }

    /// A duration variable: its value, else its default; a bad value names the variable.
    pub fn duration(&self, env: &Env) -> Result<Duration> {
        match self.get(env) {
            Some(v) => parse_duration(&self.in_environment(), v),
            None => Ok(self.default_duration()),
        }
    }

    /// The default of a duration variable (a constant of this file: it parses).
    pub fn default_duration(&self) -> Duration {
        let text = self.default.expect("a duration variable has a default");
        parse_duration(self.name, text).expect("a default duration parses")
    }

    /// `NAME (environment)`: where a bad value came from.
    pub fn in_environment(&self) -> String {
        format!("{} (environment)", self.name)
    }
}

const fn var(name: &'static str, default: Option<&'static str>, about: &'static str) -> Var {
    Var {
        name,
        default,
        about,
    }
}

// --- paths and timeouts (each with a flag) -----------------------------------------------

pub(crate) const STATE_ROOT: Var = var(
    "ATVM_WATCHER_STATE_ROOT",
    Some("/var/lib/atvm-run-watcher"),
    "State root",
);
pub(crate) const AUTOMATION_ROOT: Var = var(
    "ATVM_AUTOMATION_ROOT",
    Some("/root/cdc-e2e-cyp-12.17.4"),
    "Automation checkout",
);
/// The log directory's default, under the automation root.
pub(crate) const LOG_SUBDIR: &str = "cypress/cmcReporter/tmp";
pub(crate) const LOG_DIR: Var = var(
    "ATVM_WATCHER_LOG_DIR",
    Some("<automation-root>/cypress/cmcReporter/tmp"),
    "Directory of the run logs",
);
pub(crate) const START_TIMEOUT: Var = var(
    "ATVM_WATCHER_START_TIMEOUT",
    Some("30m"),
    "No log within this long → UNKNOWN (90, 90s, 15m, 2h)",
);
pub(crate) const HUNG_TIMEOUT: Var = var(
    "ATVM_WATCHER_HUNG_TIMEOUT",
    Some("2h"),
    "No log growth this long while running → HUNG; 0 disables",
);
pub(crate) const RULES: Var = var(
    "ATVM_WATCHER_RULES",
    None,
    "Log rules file (JSON) overriding the recognised strings",
);
pub(crate) const KNOWN_ISSUES: Var = var(
    "ATVM_WATCHER_KNOWN_ISSUES",
    Some("/etc/atvm-run-watcher.known-issues.json"),
    "Known-issues file (JSON): failures marked known in posts; no file, none",
);

// --- the environment file and systemd ----------------------------------------------------

pub(crate) const ENV_FILE: Var = var(
    "ATVM_WATCHER_ENV_FILE",
    Some("/etc/atvm-run-watcher.env"),
    "The environment file systemd loads for the instances",
);
pub(crate) const SYSTEMCTL: Var = var(
    "ATVM_WATCHER_SYSTEMCTL",
    Some("systemctl"),
    "The systemctl program (the tests use a stub)",
);

/// Set by systemd for every service it runs: a watch that has it runs as an instance.
pub(crate) const INVOCATION_ID: Var = var(
    "INVOCATION_ID",
    None,
    "Set by systemd for the processes of a unit",
);

// --- Mattermost --------------------------------------------------------------------------

pub(crate) const WEBHOOK: Var = var(
    "MATTERMOST_ATVM_WEBHOOK",
    None,
    "the incoming webhook URL; required unless --dry-run",
);
pub(crate) const CHANNEL: Var = var(
    "MATTERMOST_ATVM_CHANNEL",
    None,
    "a channel instead of the hook's",
);
pub(crate) const USERNAME: Var = var(
    "MATTERMOST_ATVM_USERNAME",
    None,
    "the name posts are made under",
);
pub(crate) const MENTION: Var = var(
    "MATTERMOST_ATVM_MENTION_ON_FAILURE",
    None,
    "@names told of a FAILED run",
);
/// The prefix of the Mattermost settings: a watch from a shell takes these from the
/// environment file.
pub(crate) const MATTERMOST_PREFIX: &str = "MATTERMOST_ATVM_";

// --- advanced knobs (README.md "Advanced environment knobs") ----------------------------

pub(crate) const FORCE_POLL: Var = var(
    "ATVM_WATCHER_FORCE_POLL",
    None,
    "Follow by stat polling instead of inotify",
);
pub(crate) const POLL_INTERVAL: Var = var(
    "ATVM_WATCHER_POLL_INTERVAL",
    Some("500ms"),
    "Polling interval",
);
pub(crate) const FATAL_GRACE: Var = var(
    "ATVM_WATCHER_FATAL_GRACE",
    Some("60s"),
    "Log quiet this long after one of Cypress's own fatal errors → the run ended FAILED on it",
);
pub(crate) const HTTP_TIMEOUT: Var = var(
    "ATVM_WATCHER_HTTP_TIMEOUT",
    Some("30s"),
    "Time limit of one delivery attempt",
);
pub(crate) const RETRY_BASE: Var = var("ATVM_WATCHER_RETRY_BASE", Some("1s"), "First retry delay");
pub(crate) const RETRY_CAP: Var = var("ATVM_WATCHER_RETRY_CAP", Some("60s"), "Longest retry delay");
pub(crate) const RETRY_ATTEMPTS: Var = var(
    "ATVM_WATCHER_RETRY_ATTEMPTS",
    Some("8"),
    "Attempts per post and start",
);
pub(crate) const RETRY_WINDOW: Var = var(
    "ATVM_WATCHER_RETRY_WINDOW",
    Some("10m"),
    "Time budget per post and start",
);

// --- read by the edges -------------------------------------------------------------------

pub(crate) const RUST_LOG: Var = var("RUST_LOG", Some("info"), "Log verbosity");
pub(crate) const JOURNAL_STREAM: Var = var(
    "JOURNAL_STREAM",
    None,
    "Set by systemd when stderr goes to the journal",
);
pub(crate) const SSL_CERT_FILE: Var = var(
    "SSL_CERT_FILE",
    None,
    "A PEM bundle of CA certificates trusted besides the built-in ones",
);

/// Every variable, for the test that each is spelled once.
#[cfg(test)]
pub(crate) const ALL: &[Var] = &[
    STATE_ROOT,
    AUTOMATION_ROOT,
    LOG_DIR,
    START_TIMEOUT,
    HUNG_TIMEOUT,
    RULES,
    KNOWN_ISSUES,
    ENV_FILE,
    SYSTEMCTL,
    WEBHOOK,
    CHANNEL,
    USERNAME,
    MENTION,
    FORCE_POLL,
    POLL_INTERVAL,
    FATAL_GRACE,
    HTTP_TIMEOUT,
    RETRY_BASE,
    RETRY_CAP,
    RETRY_ATTEMPTS,
    RETRY_WINDOW,
    RUST_LOG,
    JOURNAL_STREAM,
    INVOCATION_ID,
    SSL_CERT_FILE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_defaults_parse() {
        for v in [
            START_TIMEOUT,
            HUNG_TIMEOUT,
            POLL_INTERVAL,
            HTTP_TIMEOUT,
            RETRY_BASE,
        ]
        .into_iter()
        .chain([RETRY_CAP, RETRY_WINDOW, FATAL_GRACE])
        {
            assert!(!v.default_duration().is_zero(), "{}", v.name);
        }
    }

    #[test]
    fn help_names_the_variable_and_its_default() {
        assert_eq!(
            HUNG_TIMEOUT.flag_help(),
            format!(
                "{} [env: ATVM_WATCHER_HUNG_TIMEOUT] [default: 2h]",
                HUNG_TIMEOUT.about
            )
        );
        assert_eq!(
            RULES.flag_help(),
            format!("{} [env: ATVM_WATCHER_RULES]", RULES.about)
        );
    }
}
