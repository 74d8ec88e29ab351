//! The top layer: the commands an operator (or systemd) runs. Each validates first and
//! changes nothing on bad input (exit 2); `outcome` maps how a command ended to its exit
//! code.
//!
//! - `watch`: follow a build's log to its end and post (set-up, the loop, the posts).
//! - `start`, `cancel`, `status`, `resume`, `history`, `check_webhook`, `prune`: the
//!   operator commands.

mod cancel;
mod check_webhook;
mod history;
pub(crate) mod outcome;
mod prune;
mod resume;
mod start;
mod status;
mod watch;

use crate::data::error::{Error, Result};
use crate::data::names::{BuildName, unit_name};
use crate::edges::sys;
use crate::settings::env::Env;
use crate::settings::flags::{Cli, Command};
use crate::settings::vars;
use outcome::Outcome;

/// Runs the parsed command line.
pub fn run(cli: Cli, env: &Env) -> std::result::Result<Outcome, Error> {
    let done = |r: Result<()>| r.map(|()| Outcome::Done);
    match cli.command {
        None => watch::run(&cli.watch, env),
        Some(Command::Watch(args)) => watch::run(&args, env),
        Some(Command::Start(args)) => done(start::start(&args, env)),
        Some(Command::Cancel(args)) => done(cancel::cancel(&args, env)),
        Some(Command::Status(args)) => done(status::status(&args, env)),
        Some(Command::Resume(args)) => done(resume::resume(&args, env)),
        Some(Command::History(args)) => done(history::history(&args, env)),
        Some(Command::CheckWebhook(args)) => done(check_webhook::check_webhook(&args, env)),
        Some(Command::Prune(args)) => done(prune::prune(&args, env)),
    }
}

/// Sets up logging as the environment asks (`RUST_LOG`, and the journal's format under
/// systemd).
pub fn init_logging(env: &Env) {
    crate::edges::logging::init(
        vars::RUST_LOG.get(env),
        vars::JOURNAL_STREAM.get(env).is_some(),
    );
}

/// The systemctl program: `ATVM_WATCHER_SYSTEMCTL` (the tests' stub), else `systemctl`.
fn systemctl_program(env: &Env) -> &str {
    let default = vars::SYSTEMCTL.default.expect("systemctl has a default");
    vars::SYSTEMCTL.get(env).unwrap_or(default)
}

/// `systemctl <verb...>` of the build's instance (`["start", "--no-block"]`, say).
fn systemctl(env: &Env, verb: &[&str], build: &BuildName) -> Result<()> {
    let unit = unit_name(build);
    let args: Vec<&str> = verb.iter().copied().chain([unit.as_str()]).collect();
    sys::systemctl(systemctl_program(env), &args).map_err(Error::other)
}
