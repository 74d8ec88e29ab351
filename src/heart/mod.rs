//! The pure heart: bytes, events and `now` in, decisions out; no I/O and no clock, so
//! every rule is a table-driven unit test.
//!
//! - `rules`: the recognised log strings (defaults, a rules file's text); `cypress_errors`:
//!   the defaults for Cypress's own fatal errors.
//! - `matcher`: bytes → events; `machine`: events → state changes and post decisions;
//!   `pipeline`: the one loop from bytes through both.
//! - `follow_rules`: the `tail -F` decision; `retry`: when a post is tried again.
//! - `history`: a spec's runs under the state root and what they say of a test;
//!   `triage`: how a finishing run's failures compare with earlier builds.
//! - `message`: the post; `status_view`: what `status` shows; `redact`: the webhook
//!   secret kept out of every text.
//! - `prune`: what `prune` removes, and what the history still needs.
//! - `resume`: after a reboot, the runs the boot ended and the builds `resume` starts.

pub(crate) mod cypress_errors;
pub(crate) mod follow_rules;
pub(crate) mod history;
pub(crate) mod history_view;
pub(crate) mod machine;
pub(crate) mod matcher;
pub(crate) mod message;
pub(crate) mod pipeline;
pub(crate) mod prune;
pub(crate) mod redact;
pub(crate) mod resume;
pub(crate) mod retry;
pub(crate) mod rules;
pub(crate) mod status_view;
pub(crate) mod triage;
