//! The one error type of the program and its mapping to the documented exit codes.
//!
//! Every failure is a single line for the operator; the variant decides the exit code
//! (see README.md, "Exit codes").

use std::fmt;

/// Exit code: the run reached a terminal state and every needed post was made.
pub const EXIT_OK: u8 = 0;
/// Exit code: anything not covered by a more specific code (I/O failure, full disk...).
pub const EXIT_OTHER: u8 = 1;
/// Exit code: bad usage, bad input or bad configuration. Nothing was started or created.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: a post could not be delivered; the state is kept and a new start retries it.
pub const EXIT_DELIVERY: u8 = 3;
/// Exit code: another watcher already holds this build.
pub const EXIT_BUSY: u8 = 4;

#[derive(Debug)]
pub enum Error {
    /// Bad usage, input or configuration (exit 2).
    Usage(String),
    /// Another watcher holds the build (exit 4).
    Busy(String),
    /// A needed post could not be delivered (exit 3).
    Delivery(String),
    /// An I/O or other runtime failure (exit 1).
    Other(String),
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn other(msg: impl Into<String>) -> Self {
        Error::Other(msg.into())
    }

    /// An I/O failure on `path`, e.g. `writing /var/lib/x/state.json: No space left on device`.
    pub fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        Error::Other(format!("{what} {}: {err}", path.display()))
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::Busy(_) => EXIT_BUSY,
            Error::Delivery(_) => EXIT_DELIVERY,
            Error::Other(_) => EXIT_OTHER,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            Error::Usage(m) | Error::Busy(m) | Error::Delivery(m) | Error::Other(m) => m,
        };
        // One line, whatever the source text held.
        f.write_str(&msg.replace(['\n', '\r'], " "))
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
