//! The bottom layer: plain data, what the program talks about and what its files hold.
//! Serde and pure helpers only; no I/O, no clock but `Timestamp::now`. Every layer above
//! reads these types; nothing here imports from a layer above.
//!
//! - `caps`: every bound on what is kept of untrusted input, in one place.
//! - `names`: the build name (a type: its constructor is the only check), sub-run keys,
//!   the build directory's file names, the systemd unit's name.
//! - `status`: run statuses and the words they are written as.
//! - `time`: timestamps and durations.
//! - `run`: how one run went (`RunRecord`) and whether its post was made (`PostState`).
//! - `build_state`: what state.json holds (`BuildState`, `SubrunState`).
//! - `request`: what request.json holds; `known_issue`: an entry of the known-issues file.
//! - `error`: the one error type and the documented exit codes.

pub(crate) mod build_state;
pub(crate) mod caps;
pub(crate) mod error;
pub(crate) mod known_issue;
pub(crate) mod names;
pub(crate) mod request;
pub(crate) mod run;
pub(crate) mod status;
pub(crate) mod time;
