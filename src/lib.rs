//! atvm-run-watcher: follows one ATVM Cypress end-to-end run's log, decides how the run
//! ended and posts COMPLETED or FAILED to Mattermost exactly once. README.md, "Where to
//! change what", maps the modules.
//!
//! The crate's interface is `main.rs`'s (`Cli`, `Env`, `run`, `Outcome`, `Error`,
//! `init_logging`) and, for tests, benches and the fuzz target, `testing`. Everything else
//! is crate-private, so rustc reports what nothing uses.

mod build;
mod cli;
mod commands;
mod config;
mod env;
mod envfile;
mod error;
mod exit;
mod follow;
mod follower;
mod history;
mod logging;
mod machine;
mod matcher;
mod message;
mod model;
mod out;
mod outbox;
mod redact;
mod rules;
mod state;
mod summary;
mod sys;
mod triage;
mod watch;
mod watcher;
mod webhook;

#[doc(hidden)]
pub mod testing;

pub use cli::Cli;
use cli::Command;
pub use env::Env;
pub use error::Error;
pub use exit::Outcome;
pub use logging::init as init_logging;
pub use model::Status;

/// Runs the parsed command line.
pub fn run(cli: Cli, env: &Env) -> Result<Outcome, Error> {
    let done = |r: error::Result<()>| r.map(|()| Outcome::Done);
    match cli.command {
        None => watch::run(&cli.watch, env),
        Some(Command::Watch(args)) => watch::run(&args, env),
        Some(Command::Start(args)) => done(commands::start(&args, env)),
        Some(Command::Cancel(args)) => done(commands::cancel(&args, env)),
        Some(Command::Status(args)) => done(commands::status(&args, env)),
        Some(Command::CheckWebhook(args)) => done(commands::check_webhook(&args, env)),
    }
}
