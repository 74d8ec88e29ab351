//! What the operator set: the flags (`flags`), every environment variable once (`vars`),
//! the process environment's snapshot (`env`), the environment file systemd loads
//! (`envfile`), how they combine into a validated configuration (`config`), and the
//! known-issues file (`known_issues`).

pub(crate) mod config;
pub(crate) mod env;
pub(crate) mod envfile;
pub(crate) mod flags;
pub(crate) mod known_issues;
pub(crate) mod vars;
