//! atvm-run-watcher: follows one ATVM Cypress end-to-end run's log, decides how the run
//! ended and posts COMPLETED or FAILED to Mattermost exactly once (CONTRACT.md).
//!
//! Where things live:
//! - `cli` (raw flags) → `config` (validated, pure) — configuration in two stages.
//! - `matcher` (log bytes → events) and `machine` (events → statuses and post decisions),
//!   `follow` (the tail -F rules) and `message` (the post's text): the pure heart.
//! - `follower` (inotify / polling, reading), `state` (files, locks), `webhook` (HTTP),
//!   `sys` (poll, pidfd, signals): the I/O edges.
//! - `watch` and `commands` wire them together per subcommand.

pub mod cli;
pub mod commands;
pub mod config;
pub mod envfile;
pub mod error;
pub mod follow;
pub mod follower;
pub mod machine;
pub mod matcher;
pub mod message;
pub mod model;
pub mod rules;
pub mod state;
pub mod sys;
pub mod watch;
pub mod webhook;

use cli::{Cli, Command};
use config::Env;
use error::Result;

/// Runs the parsed command line.
pub fn run(cli: Cli, env: &Env) -> Result<()> {
    match cli.command {
        None => watch::run(&cli.watch, env),
        Some(Command::Watch(args)) => watch::run(&args, env),
        Some(Command::Start(args)) => commands::start(&args, env),
        Some(Command::Cancel(args)) => commands::cancel(&args, env),
        Some(Command::Status(args)) => commands::status(&args, env),
        Some(Command::CheckWebhook(args)) => commands::check_webhook(&args, env),
    }
}
