//! The I/O edges: where the program touches files, the network and the kernel. Each takes
//! plain values in and hands plain data to the pure heart.
//!
//! - `build_dir`: a build's directory under the state root (atomic files, locks, markers).
//! - `other_builds`: the bounded, read-only look at the other builds' states.
//! - `follower`: the log followed by name (inotify, or polling).
//! - `webhook`: delivery to Mattermost.
//! - `sys`: poll(2), signals, pidfd, statfs, the host name.
//! - `logging`, `stdout`: what the program prints.

pub(crate) mod build_dir;
pub(crate) mod follower;
pub(crate) mod log_dir;
pub(crate) mod logging;
pub(crate) mod other_builds;
pub(crate) mod stdout;
pub(crate) mod sys;
pub(crate) mod webhook;
