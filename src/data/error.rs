//! The one error type of the program and the documented exit codes (README.md, "Exit
//! codes"). Every failure is a single line for the operator; the variant decides the code.

use std::fmt;

/// The run reached a terminal state and every needed post was made (or none was needed);
/// or it was cancelled; or it had already finished; or a stop signal saved the state.
pub(crate) const EXIT_OK: u8 = 0;
/// Anything not covered by a more specific code (I/O failure, full disk...).
pub(crate) const EXIT_OTHER: u8 = 1;
/// Bad usage, bad input or bad configuration. Nothing was started or created.
pub(crate) const EXIT_USAGE: u8 = 2;
/// A post could not be delivered; the state is kept and a new start retries it.
pub(crate) const EXIT_DELIVERY: u8 = 3;
/// Another watcher already holds this build.
pub(crate) const EXIT_BUSY: u8 = 4;

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
    pub(crate) fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub(crate) fn other(msg: impl Into<String>) -> Self {
        Error::Other(msg.into())
    }

    /// An I/O failure on `path`, e.g. `writing /var/lib/x/state.json: No space left on device`.
    pub(crate) fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
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

pub(crate) type Result<T> = std::result::Result<T, Error>;
