//! How a command ended, and the exit code of each ending (README.md, "Exit codes"). `main`
//! maps a command's `Outcome` (or its `Error`, `data::error`) to the code.

use crate::data::error::{EXIT_DELIVERY, EXIT_OK};
use crate::data::names::BuildName;
use crate::data::status::Status;
use log::{error, info};

/// How a command ended (its failures are `Error`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An operator command did its job (what it printed is its result).
    Done,
    /// The watched run is over and every post it needed was made (or none was needed).
    Finished {
        build: BuildName,
        status: Status,
        posted: bool,
    },
    /// A watch found the build finished and fully posted: nothing to do.
    AlreadyFinished { build: BuildName, status: Status },
    /// The build was cancelled: nothing was or will be posted.
    Cancelled { build: BuildName },
    /// SIGTERM or SIGINT: the state was saved; a new start resumes.
    Stopped { build: BuildName, status: Status },
    /// The run is over, but posts could not be delivered; the next start retries them.
    Undelivered {
        build: BuildName,
        status: Status,
        errors: Vec<String>,
    },
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Undelivered { .. } => EXIT_DELIVERY,
            _ => EXIT_OK,
        }
    }

    /// The watcher's last log line.
    pub fn report(&self) {
        match self {
            Outcome::Done | Outcome::Cancelled { .. } => {}
            Outcome::Finished {
                build,
                status,
                posted,
            } => {
                let posted = if *posted { " (posted)" } else { "" };
                info!("{build}: finished: {status}{posted}");
            }
            Outcome::AlreadyFinished { build, status } => {
                info!("{build}: already finished ({status}); nothing to do");
            }
            Outcome::Stopped { build, status } => {
                info!("{build}: stop signal: state saved ({status}); a new start resumes");
            }
            Outcome::Undelivered {
                build,
                status,
                errors,
            } => error!(
                "{build}: finished {status}, but {} post(s) could not be delivered: {}; the state is kept and the next start retries",
                errors.len(),
                errors.join("; ")
            ),
        }
    }
}
