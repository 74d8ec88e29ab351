//! `start`: validate (the environment file systemd will load included), record the
//! request, start the build's systemd instance.

use super::watch::{self, Prepared};
use crate::data::error::{Error, Result};
use crate::data::names::{BuildName, REQUEST, unit_name};
use crate::edges::build_dir::Loaded;
use crate::edges::stdout as out;
use crate::settings::config::{BuildRef, instance_state_root_default};
use crate::settings::env::Env;
use crate::settings::envfile;
use crate::settings::flags::WatchArgs;
use crate::settings::known_issues;
use crate::settings::vars::{self, Var};
use std::path::PathBuf;

/// `start`: validate, record the request, start the systemd instance.
///
/// A build that already finished is not started again (exit 2: use a new build name, or
/// remove its state directory), unless a post is still pending: then the instance is
/// started to deliver it. A build being watched right now is exit 4.
///
/// `--dry-run`: every check, then the request it would record and the `systemctl` command
/// it would run are printed; no request is written and nothing is started.
pub(crate) fn start(raw: &WatchArgs, env: &Env) -> Result<()> {
    let name = raw
        .build_name
        .as_deref()
        .ok_or_else(|| Error::usage("--build-name is required"))?;
    BuildName::new(name)?;
    let (file, _) = envfile::load(env)?;
    let file_env = file.parsed.env();
    // Paths resolve as the instance will see them (its environment file), unless this
    // shell says otherwise; tuning given here by flag or environment is recorded.
    let merged = file_env.overlaid_by(env);
    let target = BuildRef::resolve(raw.build_name.as_deref(), &raw.paths, &merged)?;
    let raw = with_shell_tuning(raw, env)?;
    let instance_root = vars::STATE_ROOT
        .get(&file_env)
        .map(PathBuf::from)
        .unwrap_or_else(instance_state_root_default);
    if instance_root != target.paths.state_root {
        return Err(Error::usage(format!(
            "the systemd instance would keep its state in {} ({} decides), not in {}: set {} there or drop --state-root",
            instance_root.display(),
            file.path.display(),
            target.paths.state_root.display(),
            vars::STATE_ROOT.name
        )));
    }
    // The webhook was checked in the environment file; the instance reads it from there.
    let check = WatchArgs {
        dry_run: true,
        ..raw.clone()
    };
    // The instance reads the known-issues file its environment file names.
    let known_file = known_issues::path(&file_env);
    let prepared = watch::prepare(&check, &merged, target, &known_file)?;
    let retry_post = startable(&prepared)?;
    let (bd, build) = (&prepared.dir, &prepared.cfg.build_name);
    let unit = unit_name(build);
    if let Some(line) = watch::log_not_there(&prepared.cfg) {
        out::line(format_args!("{line}"))?;
    }
    if raw.dry_run {
        return show_start(&prepared, env, retry_post);
    }
    bd.create()?;
    bd.write_request(&prepared.cfg.request)?;
    super::systemctl(env, &["start"], build)?;
    if retry_post {
        out::line(format_args!(
            "started {unit} to deliver the undelivered post of build {build}"
        ))
    } else {
        let request = bd.path(REQUEST);
        out::line(format_args!(
            "started {unit} (request: {})",
            request.display()
        ))
    }
}

/// The tuning `start` records besides its flags: what this shell exports (the instance
/// reads its environment file itself). Checked here, where it is read: an error names the
/// variable, not the flag.
fn with_shell_tuning(raw: &WatchArgs, env: &Env) -> Result<WatchArgs> {
    let mut raw = raw.clone();
    let duration = |var: Var| -> Result<Option<String>> {
        let text = var.get(env).map(str::to_string);
        if text.is_some() {
            var.duration(env)?;
        }
        Ok(text)
    };
    if raw.start_timeout.is_none() {
        raw.start_timeout = duration(vars::START_TIMEOUT)?;
    }
    if raw.hung_timeout.is_none() {
        raw.hung_timeout = duration(vars::HUNG_TIMEOUT)?;
    }
    raw.rules = raw
        .rules
        .or_else(|| vars::RULES.get(env).map(PathBuf::from));
    Ok(raw)
}

/// Whether the build may be started: not watched now (exit 4), not finished (exit 2)
/// unless a post is still pending; `Ok(true)` when the start is to deliver that post.
fn startable(prepared: &Prepared) -> Result<bool> {
    let (bd, build) = (&prepared.dir, &prepared.cfg.build_name);
    if bd.watched()? {
        return Err(Error::Busy(format!(
            "build {build} is already being watched"
        )));
    }
    let Loaded::Found(mut st) = bd.load_state()? else {
        return Ok(false);
    };
    // A posted marker proves a delivery state.json may not record yet.
    bd.apply_posted_markers(&mut st);
    // A dry run's state does not count: the real watch sets it aside.
    if st.finished() && !st.post.post_pending && !st.dry_run {
        return Err(Error::usage(format!(
            "build {build} already finished ({}{}); not starting it again: use a new build name, or remove {} to watch it anew",
            st.status(),
            if st.post.posted { ", posted" } else { "" },
            bd.dir.display()
        )));
    }
    Ok(st.finished())
}

/// `start --dry-run`: what would be recorded and run.
fn show_start(prepared: &Prepared, env: &Env, retry_post: bool) -> Result<()> {
    let json = serde_json::to_string_pretty(&prepared.cfg.request)
        .map_err(|e| Error::other(e.to_string()))?;
    let request = prepared.dir.path(REQUEST);
    out::line(format_args!(
        "dry run: would write {}:\n{json}",
        request.display()
    ))?;
    out::line(format_args!(
        "dry run: would run: {} start {}{}",
        super::systemctl_program(env),
        unit_name(&prepared.cfg.build_name),
        if retry_post {
            " (to deliver the undelivered post)"
        } else {
            ""
        }
    ))
}
