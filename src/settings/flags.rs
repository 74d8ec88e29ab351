//! Raw command-line flags, exactly as clap parses them (stage one of configuration).
//!
//! Nothing here is validated or resolved: values stay `Option`s so that the second
//! stage (`config.rs`) can tell an explicit flag from an environment twin or a default.
//! The doc comments are the `--help` text; a flag with an environment twin takes its
//! help from the variable's definition (`vars.rs`), which names the variable and default.

use super::vars;
use crate::data::error::EXIT_USAGE;
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// Follows one ATVM end-to-end run's log, decides how the run ended and posts
/// COMPLETED or FAILED to Mattermost exactly once.
///
/// With no subcommand it watches, like the old `atvm_run_watcher.py --build-name ...`.
#[derive(Debug, Parser)]
#[command(
    name = "atvm-run-watcher",
    version = crate::data::names::VERSION,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = after_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    #[command(flatten)]
    pub(crate) watch: WatchArgs,
}

impl Cli {
    /// The command line, or the exit code when there is nothing to run: `--help` and
    /// `--version` print and give 0; a usage error is one line on stderr and 2, like
    /// every other error (clap's own are several lines).
    pub fn from_args() -> Result<Cli, u8> {
        let e = match Cli::try_parse() {
            Ok(cli) => return Ok(cli),
            Err(e) => e,
        };
        if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
            let _ = e.print();
            return Err(0);
        }
        let text = e.to_string();
        let line: Vec<&str> = text
            .lines()
            .take_while(|l| !l.starts_with("Usage:"))
            .map(str::trim)
            .filter(|l| {
                !l.is_empty() && !l.starts_with("tip:") && !l.starts_with("For more information")
            })
            .collect();
        // A closed stderr is no reason to change the exit code (eprintln! would panic).
        let _ = writeln!(
            std::io::stderr(),
            "atvm-run-watcher: {} (see --help)",
            line.join(" ").trim_start_matches("error: ")
        );
        Err(EXIT_USAGE)
    }
}

/// The exit codes, the Mattermost variables and the known-issues file, after the options
/// of `--help`.
fn after_help() -> String {
    let mattermost: Vec<String> = [vars::WEBHOOK, vars::CHANNEL, vars::USERNAME, vars::MENTION]
        .iter()
        .map(|v| format!("{} ({})", v.name, v.about))
        .collect();
    format!(
        "Exit codes: 0 done (or cancelled, or already finished), 1 other failure, \
2 bad usage/input/configuration, 3 a post could not be delivered (run again to retry it), \
4 another watcher holds this build.\nMattermost: {}.\nKnown issues: {} (a JSON list of \
failures the team tracks, marked known in posts; default {}; no file, none).",
        mattermost.join(", "),
        vars::KNOWN_ISSUES.name,
        vars::KNOWN_ISSUES.default.unwrap_or_default(),
    )
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Follow the build's log to its end and post the result (the default).
    Watch(WatchArgs),
    /// Validate, record the request and start the systemd instance for the build.
    #[command(mut_arg("build_name", |a| a.required(true)))]
    Start(WatchArgs),
    /// Cancel a build: no post will follow; stops its systemd instance.
    Cancel(CancelArgs),
    /// Show every build under the state root.
    Status(StatusArgs),
    /// Start the instance of every build that needs a watcher and has none (after a
    /// reboot): live or with a post pending, not cancelled, not watched.
    Resume(ResumeArgs),
    /// Show a spec's last runs under the state root, and its tests' windows.
    History(HistoryArgs),
    /// Validate the Mattermost configuration; with --send, post a test message.
    CheckWebhook(CheckWebhookArgs),
    /// Remove finished, posted builds older than a given age that the history no longer needs.
    Prune(PruneArgs),
}

/// Where things live; accepted by every subcommand.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct PathArgs {
    #[arg(long, value_name = "DIR", help = vars::STATE_ROOT.flag_help())]
    pub(crate) state_root: Option<PathBuf>,

    #[arg(long, value_name = "DIR", help = vars::AUTOMATION_ROOT.flag_help())]
    pub(crate) automation_root: Option<PathBuf>,

    #[arg(long, value_name = "DIR", help = vars::LOG_DIR.flag_help())]
    pub(crate) log_dir: Option<PathBuf>,
}

/// The request (stored in request.json and shown in the message) and the tuning options.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct WatchArgs {
    /// The build (run) name: [A-Za-z0-9][A-Za-z0-9._-]{0,199}
    #[arg(long, value_name = "NAME")]
    pub(crate) build_name: Option<String>,

    /// Migration template shown in the message
    #[arg(long, value_name = "TEXT")]
    pub(crate) template: Option<String>,

    /// Configuration family shown in the message
    #[arg(long, value_name = "TEXT")]
    pub(crate) config_family: Option<String>,

    /// Migration style shown in the message
    #[arg(long, value_name = "TEXT")]
    pub(crate) migration_style: Option<String>,

    /// Integration plugin shown in the message
    #[arg(long, value_name = "TEXT")]
    pub(crate) integration_plugin: Option<String>,

    /// Free text describing the scope of the run
    #[arg(long, value_name = "TEXT")]
    pub(crate) scope_description: Option<String>,

    /// The run is a sequence of grouped sub-runs, each posted on its own
    #[arg(long)]
    pub(crate) categorize: bool,

    #[command(flatten)]
    pub(crate) paths: PathArgs,

    /// The run's log [default: <log-dir>/<build-name>.log]
    #[arg(long, value_name = "PATH")]
    pub(crate) log_file: Option<PathBuf>,

    #[arg(long, value_name = "DUR", help = vars::START_TIMEOUT.flag_help())]
    pub(crate) start_timeout: Option<String>,

    #[arg(long, value_name = "DUR", help = vars::HUNG_TIMEOUT.flag_help())]
    pub(crate) hung_timeout: Option<String>,

    /// The run's process: its exit without a result → TERMINATED
    #[arg(long, value_name = "PID")]
    pub(crate) pid: Option<u32>,

    #[arg(long, value_name = "FILE", help = vars::RULES.flag_help())]
    pub(crate) rules: Option<PathBuf>,

    /// Decide and record everything, print the message, post nothing (start: check
    /// everything, show the request and the systemctl command, start nothing)
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct CancelArgs {
    /// The build to cancel
    #[arg(long, value_name = "NAME")]
    pub(crate) build_name: String,

    /// Why it was cancelled (recorded in state.json)
    #[arg(long, value_name = "TEXT")]
    pub(crate) reason: Option<String>,

    /// Do not run `systemctl stop` for the build's instance
    #[arg(long)]
    pub(crate) no_stop: bool,

    #[command(flatten)]
    pub(crate) paths: PathArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct StatusArgs {
    /// Show only this build
    #[arg(long, value_name = "NAME")]
    pub(crate) build_name: Option<String>,

    /// Print JSON instead of a table
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) paths: PathArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ResumeArgs {
    /// Say which instances it would start, and why; start nothing
    #[arg(long)]
    pub(crate) dry_run: bool,

    #[command(flatten)]
    pub(crate) paths: PathArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct HistoryArgs {
    /// The spec, as the summary table names it (`atvm/login.cy.js`)
    #[arg(long, value_name = "SPEC", required = true)]
    pub(crate) spec: String,

    /// Also show this test's outcome in each run (its full title: `Suite › test`)
    #[arg(long, value_name = "TITLE")]
    pub(crate) test: Option<String>,

    /// How many of the spec's runs, newest first (at most 50)
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) runs: usize,

    /// Print JSON instead of text
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) paths: PathArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct CheckWebhookArgs {
    /// Also post a short test message and verify that Mattermost answers `ok`
    #[arg(long)]
    pub(crate) send: bool,

    #[command(flatten)]
    pub(crate) paths: PathArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct PruneArgs {
    /// Only builds that finished longer ago than this: 90d, 2160h, 13w (at most a year)
    #[arg(long, value_name = "DUR", required = true)]
    pub(crate) older_than: String,

    /// List what would be removed; remove nothing
    #[arg(long)]
    pub(crate) dry_run: bool,

    #[command(flatten)]
    pub(crate) paths: PathArgs,
}
