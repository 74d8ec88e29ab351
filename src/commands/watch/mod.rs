//! `watch`: follow a build's log to its end and post. This file sets it up: resolve and
//! check everything (`prepare`, shared with `start`), take the build's lock, record the
//! request, load or rebuild the state, then hand over to the loop (`run_loop.rs`), which
//! feeds the log to the pipeline (`feed.rs`) and makes the posts (`post.rs`).

mod feed;
mod post;
mod run_loop;

use super::outcome::Outcome;
use crate::data::build_state::BuildState;
use crate::data::error::{Error, Result};
use crate::data::known_issue::KnownIssue;
use crate::data::names::STATE;
use crate::data::request::Request;
use crate::data::time::{Timestamp, format_duration};
use crate::edges::build_dir::{self, BuildDir};
use crate::edges::follower::read_whole;
use crate::edges::log_dir;
use crate::edges::sys;
use crate::heart::machine::{Machine, Timeouts};
use crate::heart::matcher::Scanner;
use crate::heart::pipeline::Pipeline;
use crate::heart::rules::Rules;
use crate::settings::config::{self, BuildRef, Mattermost, WatchConfig};
use crate::settings::env::Env;
use crate::settings::envfile;
use crate::settings::flags::WatchArgs;
use crate::settings::known_issues;
use crate::settings::vars;
use log::{info, warn};
use run_loop::Watcher;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A temporary state root for a dry run, removed when the watch ends.
struct TempRoot(PathBuf);

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Resolves, validates and locks, then watches.
pub(crate) fn run(raw: &WatchArgs, env: &Env) -> Result<Outcome> {
    let mut target = BuildRef::resolve(raw.build_name.as_deref(), &raw.paths, env)?;
    // Run from a shell (the old script's callers), the webhook comes from the env file.
    let from_file = envfile::for_watch(env, raw.dry_run)?;
    let env = match &from_file {
        Some((file_env, line)) => {
            info!("{}: {line}", target.build_name);
            file_env
        }
        None => env,
    };
    let _temp = if raw.dry_run && !target.paths.state_root_explicit {
        let t =
            std::env::temp_dir().join(format!("atvm-run-watcher-dry-run.{}", std::process::id()));
        target.paths.state_root = t.clone();
        Some(TempRoot(t))
    } else {
        None
    };
    let prepared = prepare(raw, env, target, &known_issues::path(env))?;
    let mut bd = prepared.dir;
    bd.create()?;
    let _lock = bd.lock_instance()?;
    let removed = bd.remove_stale_temps();
    if removed > 0 {
        info!(
            "{}: removed {removed} temporary files left by processes that are gone (killed during a write)",
            prepared.cfg.build_name
        );
    }
    let cfg = prepared.cfg;
    if prepared.stored.as_ref() != Some(&cfg.request) {
        bd.write_request(&cfg.request)?;
    }
    if let Some(line) = log_not_there(&cfg) {
        info!("{}: {line}", cfg.build_name);
    }
    if prepared.stored.is_none() && vars::INVOCATION_ID.get(env).is_some() {
        // Started by systemd with no request recorded: `systemctl start` by hand, maybe
        // with a typo, rather than the start helper.
        warn!(
            "{}: no request.json: this instance was not started by `start` (the start helper), so the post will show no request options; check the build name",
            cfg.build_name
        );
    }
    let (st, stale) = load_state(&mut bd, &cfg)?;
    Watcher::new(cfg, bd, st, stale, &prepared.rules, prepared.known)?.run()
}

/// When the build's log is not there yet: what the watch will do, and the logs of the log
/// directory named like the build's (a typo in the build name shows at once).
pub(crate) fn log_not_there(cfg: &WatchConfig) -> Option<String> {
    let log = &cfg.log_file;
    if std::fs::symlink_metadata(log).is_ok() {
        return None;
    }
    let mut line = format!(
        "log {} is not there yet; waiting up to {} for it",
        log.display(),
        format_duration(cfg.start_timeout)
    );
    let dir = log.parent().unwrap_or(Path::new("."));
    let similar = log_dir::similar_logs(dir, cfg.build_name.as_str());
    if !similar.is_empty() {
        line.push_str(&format!(
            " (logs named like it in {}: {})",
            dir.display(),
            similar.join(", ")
        ));
    }
    Some(line)
}

/// A watch request checked against its state root, ready to be recorded.
pub(crate) struct Prepared {
    pub dir: BuildDir,
    /// request.json as found.
    pub stored: Option<Request>,
    /// Its `request` is the one to record: the resolved one, with its first-recorded time
    /// and the run's process start time (`--pid` reuse guard).
    pub cfg: WatchConfig,
    pub rules: Rules,
    /// The known-issues file's entries (contract §10).
    pub known: Vec<KnownIssue>,
}

/// The rules file (`--rules`, `ATVM_WATCHER_RULES`, or the stored request's), or the
/// built-in rules.
fn read_rules(path: Option<&Path>) -> Result<Rules> {
    let Some(p) = path else {
        return Ok(Rules::default());
    };
    let text = std::fs::read_to_string(p)
        .map_err(|e| Error::usage(format!("rules file {}: {e}", p.display())))?;
    Rules::from_json(&text, &p.display().to_string())
}

/// Everything `watch` and `start` check before they create anything: a writable state
/// root, a readable stored request, a valid configuration, rules file and known-issues
/// file (`known_file`: the one the watch will read).
pub(crate) fn prepare(
    raw: &WatchArgs,
    env: &Env,
    target: BuildRef,
    known_file: &Path,
) -> Result<Prepared> {
    build_dir::check_state_root(&target.paths.state_root)?;
    let dir = BuildDir::new(&target.paths.state_root, &target.build_name);
    let stored = if dir.exists() {
        dir.read_request()?
    } else {
        None
    };
    let mut cfg = WatchConfig::resolve(raw, env, target, stored.as_ref())?;
    let rules = read_rules(cfg.rules_file.as_deref())?;
    let known = known_issues::read(known_file)?;
    let request = &mut cfg.request;
    request
        .created_at
        .get_or_insert_with(|| Timestamp::now().rfc3339());
    if let Some(pid) = request.pid
        && stored
            .as_ref()
            .is_none_or(|s| s.pid != Some(pid) || s.pid_start.is_none())
    {
        request.pid_start = sys::process_start_time(pid);
        if request.pid_start.is_none() {
            // Not running when first recorded: a typo, or a run that already ended. Either
            // way its exit must not end the run at once (a typo would lose the result);
            // the log decides, and the hung timeout still applies.
            warn!(
                "{}: --pid {pid} is not running; watching without it",
                request.build_name
            );
            request.pid = None;
        }
    }
    Ok(Prepared {
        dir,
        stored,
        cfg,
        rules,
        known,
    })
}

/// The build's state to resume from, and whether it differs from state.json. A dry run
/// and a real watch never share a build's state: a real watch sets a dry run's decisions
/// aside (they posted nothing), and a dry run refuses to touch a real state.
fn load_state(bd: &mut BuildDir, cfg: &WatchConfig) -> Result<(BuildState, bool)> {
    let request = &cfg.request;
    let existed = bd.path(STATE).exists();
    let resumed = bd.load_or_rebuild(request)?;
    let (mut st, stale) = (resumed.state, resumed.stale);
    if st.dry_run && !cfg.dry_run {
        let aside = bd.set_aside("dry-run")?;
        info!(
            "{}: the state was a dry run's, set aside in {}; watching for real",
            cfg.build_name,
            aside.display()
        );
        st = BuildState::for_request(request, Timestamp::now());
    } else if existed && !st.dry_run && cfg.dry_run {
        return Err(Error::usage(format!(
            "build {} has a real state in {}; a dry run would change it: use another --state-root or build name",
            cfg.build_name,
            bd.dir.display()
        )));
    }
    if st.categorize != cfg.request.categorize {
        warn!(
            "{}: the build was first watched with categorize={}; keeping that",
            cfg.build_name, st.categorize
        );
    }
    let log = cfg.log_file.to_string_lossy().into_owned();
    if st.log_file != log {
        info!(
            "{}: following {} (was {})",
            cfg.build_name, log, st.log_file
        );
        st.log_file = log;
        st.log_position = None;
    }
    st.dry_run = cfg.dry_run;
    Ok((st, stale))
}

/// The state a watch that starts afresh reaches from the whole log, for `cancel` when
/// state.json is missing or unreadable: the log read once through the pipeline, from `st`
/// (a fresh state, posted markers applied); no timeout and no process apply. A log that
/// cannot be opened leaves `st` as it is.
pub(crate) fn replay_log(st: BuildState, request: &Request, env: &Env) -> Result<BuildState> {
    let Some(file) = request.log_file.as_deref().and_then(|p| File::open(p).ok()) else {
        return Ok(st);
    };
    let rules = read_rules(config::rules_file(request.rules.clone(), env).as_deref())?;
    // The webhook's own value is kept out of the rebuilt state: `cancel` runs from a shell,
    // where the webhook is usually only in the environment file.
    let hook = Mattermost::from_env(env)
        .ok()
        .or_else(|| envfile::load(env).ok().map(|(_, m)| m))
        .map(|m| m.webhook);
    let redactor = hook.as_ref().map(|h| h.redactor()).unwrap_or_default();
    let machine = Machine::new(st, Timeouts::NONE);
    let mut pipeline = Pipeline::new(Scanner::new(&rules, redactor), machine);
    let now = SystemTime::now();
    let mtime = file.metadata().and_then(|m| m.modified()).unwrap_or(now);
    pipeline.opened(0, 0, now, mtime);
    read_whole(&file, &mut pipeline, now, &mut |_, _| {})
        .map_err(|e| Error::other(format!("reading {}: {e}", pipeline.machine.state.log_file)))?;
    Ok(pipeline.machine.state)
}
