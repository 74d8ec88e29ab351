//! What request.json holds: the request options (shown in the post) and the tuning the
//! run was asked with, so that the systemd instance needs only `--build-name`. Unset
//! tuning stays `null` so that the instance's own environment and defaults apply.

use super::names::BuildName;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// request.json's format version.
pub(crate) const REQUEST_SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Request {
    #[serde(default)]
    pub schema: u32,
    pub build_name: BuildName,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub config_family: Option<String>,
    #[serde(default)]
    pub migration_style: Option<String>,
    #[serde(default)]
    pub integration_plugin: Option<String>,
    #[serde(default)]
    pub scope_description: Option<String>,
    #[serde(default)]
    pub categorize: bool,
    #[serde(default)]
    pub log_file: Option<PathBuf>,
    #[serde(default)]
    pub start_timeout: Option<String>,
    #[serde(default)]
    pub hung_timeout: Option<String>,
    #[serde(default)]
    pub pid: Option<u32>,
    /// The start time of `pid` when first recorded (guards against pid reuse).
    #[serde(default)]
    pub pid_start: Option<u64>,
    #[serde(default)]
    pub rules: Option<PathBuf>,
    /// When the request was first recorded (RFC 3339); the start timeout counts from here
    /// when state.json has to be rebuilt.
    #[serde(default)]
    pub created_at: Option<String>,
}

impl Request {
    /// A request for `build_name` with nothing else asked.
    pub fn new(build_name: BuildName) -> Request {
        Request {
            schema: REQUEST_SCHEMA,
            build_name,
            template: None,
            config_family: None,
            migration_style: None,
            integration_plugin: None,
            scope_description: None,
            categorize: false,
            log_file: None,
            start_timeout: None,
            hung_timeout: None,
            pid: None,
            pid_start: None,
            rules: None,
            created_at: None,
        }
    }
}
