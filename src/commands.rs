//! The operator commands: `start`, `cancel`, `status`, `check-webhook`. Each validates
//! first and changes nothing on bad input (exit 2).

use crate::cli::{CancelArgs, CheckWebhookArgs, StatusArgs, WatchArgs};
use crate::config::{BuildRef, DEFAULT_ENV_FILE, Paths, Webhook, validate_build_name};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::machine::{CancelOutcome, Machine};
use crate::out;
use crate::state::{self, BuildDir, Loaded};
use crate::summary::{self, BuildSummary};
use crate::webhook::{Poster, Verdict};
use std::os::unix::fs::PermissionsExt;
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

/// Parses a systemd `EnvironmentFile=`: `KEY=VALUE` lines, `#`/`;` comments, values
/// optionally in single or double quotes.
pub(crate) fn parse_env_file(text: &str) -> Env {
    let pairs = text.lines().filter_map(|line| {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            return None;
        }
        let (k, v) = l.split_once('=')?;
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            &v[1..v.len() - 1]
        } else {
            v
        };
        Some((k.trim().to_string(), v.to_string()))
    });
    Env::from_pairs(pairs)
}

/// The environment file systemd loads for the instances: it must exist, be readable by
/// its owner only, and define a valid webhook. Returns its path and content.
fn read_env_file(env: &Env) -> Result<(PathBuf, Env)> {
    let path = PathBuf::from(env.get("ATVM_WATCHER_ENV_FILE").unwrap_or(DEFAULT_ENV_FILE));
    let meta = std::fs::metadata(&path).map_err(|e| {
        Error::usage(format!(
            "environment file {}: {e} (install creates it from the example)",
            path.display()
        ))
    })?;
    if !meta.is_file() {
        return Err(Error::usage(format!(
            "environment file {} is not a file",
            path.display()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::usage(format!(
            "environment file {} is readable by group or others (mode {mode:04o}); it holds the webhook secret: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::usage(format!("environment file {}: {e}", path.display())))?;
    let file_env = parse_env_file(&text);
    Webhook::from_env(&file_env)
        .map_err(|e| Error::usage(format!("environment file {}: {e}", path.display())))?;
    Ok((path, file_env))
}

/// `start`: validate, record the request, start the systemd instance.
///
/// A build that already finished is not started again (exit 2: use a new build name, or
/// remove its state directory), unless a post is still pending: then the instance is
/// started to deliver it. A build being watched right now is exit 4.
pub(crate) fn start(raw: &WatchArgs, env: &Env) -> Result<()> {
    if raw.dry_run {
        return Err(Error::usage(
            "start does not take --dry-run (run `atvm-run-watcher --dry-run ...` directly)",
        ));
    }
    validate_build_name(raw.build_name.as_deref().unwrap_or_default()).map_err(|e| {
        if raw.build_name.is_none() {
            Error::usage("--build-name is required")
        } else {
            e
        }
    })?;
    let (env_path, file_env) = read_env_file(env)?;
    // Paths resolve as the instance will see them (its environment file), unless this
    // shell says otherwise; tuning given here by flag or environment is recorded.
    let merged = file_env.overlaid_by(env);
    let target = BuildRef::resolve(raw.build_name.as_deref(), &raw.paths, &merged)?;
    let mut raw = raw.clone();
    let from_shell = |key: &str| env.get(key).map(str::to_string);
    // Checked here, where they are read: an error names the variable, not the flag.
    let duration_from_shell = |key: &str| -> Result<Option<String>> {
        let text = from_shell(key);
        if let Some(t) = &text {
            crate::config::parse_duration(&format!("{key} (environment)"), t)?;
        }
        Ok(text)
    };
    if raw.start_timeout.is_none() {
        raw.start_timeout = duration_from_shell("ATVM_WATCHER_START_TIMEOUT")?;
    }
    if raw.hung_timeout.is_none() {
        raw.hung_timeout = duration_from_shell("ATVM_WATCHER_HUNG_TIMEOUT")?;
    }
    raw.rules = raw
        .rules
        .or_else(|| from_shell("ATVM_WATCHER_RULES").map(PathBuf::from));
    let instance_root = file_env
        .get("ATVM_WATCHER_STATE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_STATE_ROOT));
    if instance_root != target.paths.state_root {
        return Err(Error::usage(format!(
            "the systemd instance would keep its state in {} ({} decides), not in {}: set ATVM_WATCHER_STATE_ROOT there or drop --state-root",
            instance_root.display(),
            env_path.display(),
            target.paths.state_root.display()
        )));
    }
    // The webhook was checked in the environment file; the instance reads it from there.
    let check = WatchArgs {
        dry_run: true,
        ..raw.clone()
    };
    let prepared = crate::watch::prepare(&check, &merged, target)?;
    let (bd, cfg) = (&prepared.dir, &prepared.cfg);

    if bd.is_watched() {
        return Err(Error::Busy(format!(
            "build {} is already being watched",
            cfg.build_name
        )));
    }
    let mut retry_post = false;
    if let Loaded::Found(mut st) = bd.load_state()? {
        // A posted marker proves a delivery state.json may not record yet.
        bd.apply_posted_markers(&mut st);
        // A dry run's state does not count: the real watch sets it aside.
        if st.finished() && !st.post.post_pending && !st.dry_run {
            return Err(Error::usage(format!(
                "build {} already finished ({}{}); not starting it again: use a new build name, or remove {} to watch it anew",
                cfg.build_name,
                st.status(),
                if st.post.posted { ", posted" } else { "" },
                bd.dir.display()
            )));
        }
        retry_post = st.finished();
    }
    bd.create()?;
    bd.write_request(&prepared.request)?;
    systemctl(env, "start", &cfg.build_name)?;
    if retry_post {
        out::line(format_args!(
            "started {} to deliver the undelivered post of build {}",
            unit_name(&cfg.build_name),
            cfg.build_name
        ))?;
    } else {
        out::line(format_args!(
            "started {} (request: {})",
            unit_name(&cfg.build_name),
            bd.path(state::REQUEST).display()
        ))?;
    }
    Ok(())
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
    let path = PathBuf::from(env.get("ATVM_WATCHER_ENV_FILE").unwrap_or(DEFAULT_ENV_FILE));
    let (source, hook) = if path.exists() {
        let (p, file_env) = read_env_file(env)?;
        (p.display().to_string(), Webhook::from_env(&file_env)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_syntax() {
        let e = parse_env_file(
            "# secrets\n; also a comment\nMATTERMOST_ATVM_WEBHOOK=https://h/hooks/x\n  MATTERMOST_ATVM_CHANNEL = \"qa-runs\"\nMATTERMOST_ATVM_USERNAME='atvm bot'\nEMPTY=\nnot a pair\n",
        );
        assert_eq!(e.get("MATTERMOST_ATVM_WEBHOOK"), Some("https://h/hooks/x"));
        assert_eq!(e.get("MATTERMOST_ATVM_CHANNEL"), Some("qa-runs"));
        assert_eq!(e.get("MATTERMOST_ATVM_USERNAME"), Some("atvm bot"));
        assert_eq!(e.get("EMPTY"), None);
    }
}
