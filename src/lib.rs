//! atvm-run-watcher: follows one ATVM Cypress end-to-end run's log, decides how the run
//! ended and posts COMPLETED or FAILED to Mattermost exactly once.
//!
//! The crate is cut into layers, each a directory, whose imports point down only (a test,
//! `layers_point_down`, holds it; README.md "Development" maps the rooms):
//!
//! 1. `data`: plain data (statuses, names, caps, what state.json and request.json hold).
//! 2. `heart`: the pure part (matcher, state machine, the one pipeline from bytes to
//!    decisions, follow rules, retry schedule, triage, the message, the status view).
//! 3. `edges`: I/O (the build directory, other builds, the follower, the webhook, system
//!    calls, logging, stdout).
//! 4. `settings`: flags, every environment variable, the environment file, precedence.
//! 5. `commands`: watch, start, cancel, status, check-webhook.
//!
//! The interface is `main.rs`'s (`Cli`, `Env`, `run`, `Outcome`, `Error`, `init_logging`)
//! and, behind the `testing` feature (tests, benches, the fuzz target), `testing`.
//! Everything else is crate-private, so rustc reports what nothing uses.

mod commands;
mod data;
mod edges;
mod heart;
mod settings;

#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;

#[cfg(test)]
mod layering_tests;

pub use commands::init_logging;
pub use commands::outcome::Outcome;
pub use commands::run;
pub use data::error::Error;
pub use data::status::Status;
pub use settings::env::Env;
pub use settings::flags::Cli;
