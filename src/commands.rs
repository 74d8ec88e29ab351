//! The operator commands: `start`, `cancel`, `status`, `check-webhook`. Each validates
//! first and changes nothing on bad input (exit 2).

use crate::cli::{CancelArgs, CheckWebhookArgs, StatusArgs, WatchArgs};
use crate::config::{BuildRef, Paths, Webhook, validate_build_name};
use crate::env::Env;
use crate::envfile::{self, EnvFile};
use crate::error::{Error, Result};
use crate::machine::{CancelOutcome, Machine};
use crate::out;
use crate::state::{self, BuildDir, Loaded};
use crate::summary::{self, BuildSummary};
use crate::webhook::{Poster, Verdict};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime};

/// The systemd unit of a build.
pub(crate) fn unit_name(build: &str) -> String {
    format!("atvm-run-watcher@{build}.service")
}

fn systemctl(env: &Env, verb: &str, build: &str) -> Result<()> {
    let prog = env.get("ATVM_WATCHER_SYSTEMCTL").unwrap_or("systemctl");
    let unit = unit_name(build);
    let status = Command::new(prog)
        .args([verb, &unit])
        .status()
        .map_err(|e| Error::other(format!("running {prog} {verb} {unit}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::other(format!(
            "{prog} {verb} {unit} failed ({status})"
        )))
    }
}

/// `start`: validate, record the request, start the systemd instance.
///
/// A build that already finished is not started again (exit 2: use a new build name, or
/// remove its state directory), unless a post is still pending: then the instance is
/// started to deliver it. A build being watched right now is exit 4.
///
/// `--dry-run`: every check, then the request it would record and the `systemctl` command
/// it would run are printed; no request is written and nothing is started.
pub(crate) fn start(raw: &WatchArgs, env: &Env) -> Result<()> {
    validate_build_name(raw.build_name.as_deref().unwrap_or_default()).map_err(|e| {
        if raw.build_name.is_none() {
            Error::usage("--build-name is required")
        } else {
            e
        }
    })?;
    let (file, _) = envfile::load(env)?;
    let file_env = file.parsed.env();
    // Paths resolve as the instance will see them (its environment file), unless this
    // shell says otherwise; tuning given here by flag or environment is recorded.
    let merged = file_env.overlaid_by(env);
    let target = BuildRef::resolve(raw.build_name.as_deref(), &raw.paths, &merged)?;
    let raw = with_shell_tuning(raw, env)?;
    let instance_root = file_env
        .get("ATVM_WATCHER_STATE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_STATE_ROOT));
    if instance_root != target.paths.state_root {
        return Err(Error::usage(format!(
            "the systemd instance would keep its state in {} ({} decides), not in {}: set ATVM_WATCHER_STATE_ROOT there or drop --state-root",
            instance_root.display(),
            file.path.display(),
            target.paths.state_root.display()
        )));
    }
    // The webhook was checked in the environment file; the instance reads it from there.
    let check = WatchArgs {
        dry_run: true,
        ..raw.clone()
    };
    let prepared = crate::watch::prepare(&check, &merged, target)?;
    let retry_post = startable(&prepared)?;
    let (bd, build) = (&prepared.dir, &prepared.cfg.build_name);
    let unit = unit_name(build);
    if raw.dry_run {
        return show_start(&prepared, env, retry_post);
    }
    bd.create()?;
    bd.write_request(&prepared.request)?;
    systemctl(env, "start", build)?;
    if retry_post {
        out::line(format_args!(
            "started {unit} to deliver the undelivered post of build {build}"
        ))
    } else {
        let request = bd.path(state::REQUEST);
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
    let duration = |key: &str| -> Result<Option<String>> {
        let text = env.get(key).map(str::to_string);
        if let Some(t) = &text {
            crate::config::parse_duration(&format!("{key} (environment)"), t)?;
        }
        Ok(text)
    };
    if raw.start_timeout.is_none() {
        raw.start_timeout = duration("ATVM_WATCHER_START_TIMEOUT")?;
    }
    if raw.hung_timeout.is_none() {
        raw.hung_timeout = duration("ATVM_WATCHER_HUNG_TIMEOUT")?;
    }
    raw.rules = raw
        .rules
        .or_else(|| env.get("ATVM_WATCHER_RULES").map(PathBuf::from));
    Ok(raw)
}

/// Whether the build may be started: not watched now (exit 4), not finished (exit 2)
/// unless a post is still pending; `Ok(true)` when the start is to deliver that post.
fn startable(prepared: &crate::watch::Prepared) -> Result<bool> {
    let (bd, build) = (&prepared.dir, &prepared.cfg.build_name);
    if bd.is_watched() {
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
fn show_start(prepared: &crate::watch::Prepared, env: &Env, retry_post: bool) -> Result<()> {
    let json =
        serde_json::to_string_pretty(&prepared.request).map_err(|e| Error::other(e.to_string()))?;
    let request = prepared.dir.path(state::REQUEST);
    out::line(format_args!(
        "dry run: would write {}:\n{json}",
        request.display()
    ))?;
    out::line(format_args!(
        "dry run: would run: {} start {}{}",
        env.get("ATVM_WATCHER_SYSTEMCTL").unwrap_or("systemctl"),
        unit_name(&prepared.cfg.build_name),
        if retry_post {
            " (to deliver the undelivered post)"
        } else {
            ""
        }
    ))
}

/// `cancel`: under the state lock, either the build already finished (nothing changes)
/// or it becomes CANCELLED, `cancelled.marker` is written and no post ever follows.
pub(crate) fn cancel(raw: &CancelArgs, env: &Env) -> Result<()> {
    validate_build_name(&raw.build_name)?;
    let paths = Paths::resolve(&raw.paths, env);
    let mut bd = BuildDir::new(&paths.state_root, &raw.build_name);
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
        .unwrap_or_else(|| crate::config::Request {
            build_name: raw.build_name.clone(),
            ..Default::default()
        });
    let resumed = bd.load_or_rebuild(&request)?;
    let st = if resumed.fresh {
        // As a watch would: what the log says decides whether the build already finished,
        // and the posted markers whether its posts were made.
        let mut st = crate::watch::replay_log(resumed.state, &request, env)?;
        bd.apply_posted_markers(&mut st);
        st
    } else {
        resumed.state
    };
    let mut machine = Machine::new(st, Duration::ZERO, None);
    let (outcome, _) = machine.cancel(&reason, SystemTime::now(), false);
    match outcome {
        CancelOutcome::AlreadyFinished(status) => {
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
        CancelOutcome::Cancelled { dropped } => {
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
        && let Err(e) = systemctl(env, "stop", &raw.build_name)
    {
        // The marker already stops the watcher within a second; a failed stop is reported,
        // not fatal.
        log::warn!("{e}");
    }
    Ok(())
}

/// `status`: every build under the state root, newest first.
pub(crate) fn status(raw: &StatusArgs, env: &Env) -> Result<()> {
    let paths = Paths::resolve(&raw.paths, env);
    let root = &paths.state_root;
    let names: Vec<String> = match &raw.build_name {
        Some(b) => {
            validate_build_name(b)?;
            if !root.join(b).is_dir() {
                return Err(Error::usage(format!(
                    "unknown build {b}: nothing under {}",
                    root.display()
                )));
            }
            vec![b.clone()]
        }
        None => state::build_names(root).map_err(|e| Error::io("reading", root, e))?,
    };
    let mut rows: Vec<BuildSummary> = names
        .iter()
        .map(|n| {
            let bd = BuildDir::new(root, n);
            BuildSummary::from_peek(n, bd.peek(), bd.is_watched(), bd.is_young())
        })
        .collect();
    rows.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.build.cmp(&b.build))
    });
    if raw.json {
        out::line(format_args!("{}", summary::render_json(&rows)))?;
    } else if rows.is_empty() {
        out::line(format_args!("no builds under {}", root.display()))?;
    } else {
        out::print(&summary::render_table(&rows, SystemTime::now()))?;
    }
    Ok(())
}

/// `check-webhook`: the configuration the instances will use (the environment file, or the
/// process environment when there is no such file); `--send` posts a test message.
/// Exit 2: configuration; exit 3: delivery.
pub(crate) fn check_webhook(raw: &CheckWebhookArgs, env: &Env) -> Result<()> {
    let path = envfile::path(env);
    let (source, hook) = if path.exists() {
        let file = EnvFile::read(&path)?;
        let hook = file.webhook();
        let told = hook
            .as_ref()
            .err()
            .map(Error::to_string)
            .unwrap_or_default();
        for note in file.parsed.notes.iter().map(|n| n.to_string()) {
            if !told.contains(&note) {
                out::line(format_args!("warning: {}: {note}", path.display()))?;
            }
        }
        (path.display().to_string(), hook?)
    } else {
        out::line(format_args!(
            "note: {} does not exist (start would refuse); checking this shell's environment",
            path.display()
        ))?;
        ("the environment".to_string(), Webhook::from_env(env)?)
    };
    out::line(format_args!("webhook: {} (from {source})", hook.redacted()))?;
    if let Some(c) = &hook.channel {
        out::line(format_args!("channel: {c}"))?;
    }
    if let Some(u) = &hook.username {
        out::line(format_args!("username: {u}"))?;
    }
    if let Some(m) = &hook.mention {
        out::line(format_args!("mention on failure: {m}"))?;
    }
    out::line(format_args!("configuration: ok"))?;
    if !raw.send {
        return Ok(());
    }
    let advanced = crate::config::Advanced::resolve(env)?;
    let poster = Poster::new(hook.clone(), advanced.http_timeout);
    match poster.send(crate::message::webhook_check(&crate::sys::hostname())) {
        Verdict::Delivered => {
            out::line(format_args!("test message: delivered (200 ok)"))?;
            Ok(())
        }
        Verdict::Retry { why, .. } | Verdict::Permanent(why) => Err(Error::Delivery(format!(
            "test message not delivered: {why}"
        ))),
    }
}
