//! `cancel`: under the state lock, either the build already finished (nothing changes)
//! or it becomes CANCELLED, `cancelled.marker` is written and no post ever follows; then
//! the instance is stopped.

use crate::data::error::{Error, Result};
use crate::data::names::BuildName;
use crate::data::request::Request;
use crate::edges::build_dir::BuildDir;
use crate::edges::stdout as out;
use crate::heart::machine::{CancelResult, Machine, Timeouts};
use crate::settings::config::Paths;
use crate::settings::env::Env;
use crate::settings::flags::CancelArgs;
use std::time::SystemTime;

/// `cancel`: under the state lock, either the build already finished (nothing changes)
/// or it becomes CANCELLED, `cancelled.marker` is written and no post ever follows.
pub(crate) fn cancel(raw: &CancelArgs, env: &Env) -> Result<()> {
    let build = BuildName::new(&raw.build_name)?;
    let paths = Paths::resolve(&raw.paths, env);
    let mut bd = BuildDir::new(&paths.state_root, &build);
    if !bd.exists() {
        return Err(Error::usage(format!(
            "unknown build {}: nothing under {}",
            raw.build_name,
            paths.state_root.display()
        )));
    }
    let reason = raw
        .reason
        .clone()
        .unwrap_or_else(|| "cancelled by operator".into());
    let lock = bd.state_lock()?;
    let request = bd
        .read_request()
        .ok()
        .flatten()
        .unwrap_or_else(|| Request::new(build.clone()));
    let resumed = bd.load_or_rebuild(&request)?;
    let st = if resumed.fresh {
        // As a watch would: what the log says decides whether the build already finished,
        // and the posted markers whether its posts were made.
        let mut st = super::watch::replay_log(resumed.state, &request, env)?;
        bd.apply_posted_markers(&mut st);
        st
    } else {
        resumed.state
    };
    let mut machine = Machine::new(st, Timeouts::NONE);
    let (outcome, _) = machine.cancel(&reason, SystemTime::now(), false);
    match outcome {
        CancelResult::AlreadyFinished(status) => {
            if resumed.stale {
                // Rebuilt, or a posted marker recorded: the state as a watch would save it.
                bd.save(&machine.state)?;
            }
            drop(lock);
            out::line(format_args!(
                "build {} already finished ({status}); nothing changed",
                raw.build_name
            ))?;
            return Ok(());
        }
        CancelResult::Cancelled { dropped } => {
            bd.write_cancelled(&reason)?;
            bd.save(&machine.state)?;
            drop(lock);
            let drop_note = if dropped > 0 {
                format!("; {dropped} undelivered post(s) dropped")
            } else {
                String::new()
            };
            out::line(format_args!(
                "build {} cancelled{drop_note}; nothing will be posted",
                raw.build_name
            ))?;
        }
    }
    if !raw.no_stop
        && let Err(e) = super::systemctl(env, &["stop"], &build)
    {
        // The marker already stops the watcher within a second; a failed stop is reported,
        // not fatal.
        log::warn!("{e}");
    }
    Ok(())
}
