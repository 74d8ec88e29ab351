//! How a command ended, and the documented exit code of each ending (README.md, "Exit
//! codes"). `main` maps a command's `Outcome` (or its `Error`, see error.rs) to the code.

use crate::model::Status;
use log::{error, info};

/// The run reached a terminal state and every needed post was made (or none was needed);
/// or it was cancelled; or it had already finished; or a stop signal saved the state.
const EXIT_OK: u8 = 0;
/// Anything not covered by a more specific code (I/O failure, full disk...).
pub(crate) const EXIT_OTHER: u8 = 1;
/// Bad usage, bad input or bad configuration. Nothing was started or created.
pub(crate) const EXIT_USAGE: u8 = 2;
/// A post could not be delivered; the state is kept and a new start retries it.
pub(crate) const EXIT_DELIVERY: u8 = 3;
/// Another watcher already holds this build.
pub(crate) const EXIT_BUSY: u8 = 4;

/// How a command ended (its failures are `Error`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An operator command did its job (what it printed is its result).
    Done,
    /// The watched run is over and every post it needed was made (or none was needed).
    Finished {
        build: String,
        status: Status,
        posted: bool,
    },
    /// A watch found the build finished and fully posted: nothing to do.
    AlreadyFinished { build: String, status: Status },
    /// The build was cancelled: nothing was or will be posted.
    Cancelled { build: String },
    /// SIGTERM or SIGINT: the state was saved; a new start resumes.
    Stopped { build: String, status: Status },
    /// The run is over, but posts could not be delivered; the next start retries them.
    Undelivered {
        build: String,
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
