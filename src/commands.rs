//! The operator commands: `start`, `cancel`, `status`, `check-webhook`.

use crate::cli::{CancelArgs, CheckWebhookArgs, StatusArgs, WatchArgs};
use crate::config::Env;
use crate::error::{Error, Result};

pub fn start(_args: &WatchArgs, _env: &Env) -> Result<()> {
    Err(Error::usage("start is not implemented yet"))
}

pub fn cancel(_args: &CancelArgs, _env: &Env) -> Result<()> {
    Err(Error::usage("cancel is not implemented yet"))
}

pub fn status(_args: &StatusArgs, _env: &Env) -> Result<()> {
    Err(Error::usage("status is not implemented yet"))
}

pub fn check_webhook(_args: &CheckWebhookArgs, _env: &Env) -> Result<()> {
    Err(Error::usage("check-webhook is not implemented yet"))
}
