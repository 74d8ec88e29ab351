//! The operator commands: `start`, `cancel`, `status`, `check-webhook`. Each validates
//! first and changes nothing on bad input (exit 2).

use crate::cli::{CancelArgs, CheckWebhookArgs, StatusArgs, WatchArgs};
use crate::config::{Env, Paths, Target, Webhook, validate_build_name};
use crate::envfile::{self, EnvFile};
use crate::error::{Error, Result};
use crate::machine::{BuildState, CancelOutcome, Machine};
use crate::model::{Status, Timestamp};
use crate::state::{self, BuildDir, Loaded};
use crate::webhook::{Payload, Poster, Verdict};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// The systemd unit of a build.
pub fn unit_name(build: &str) -> String {
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
pub fn start(raw: &WatchArgs, env: &Env) -> Result<()> {
    validate_build_name(raw.build_name.as_deref().unwrap_or_default()).map_err(|e| {
        if raw.build_name.is_none() {
            Error::usage("--build-name is required")
        } else {
            e
        }
    })?;
    let (file, _) = envfile::load(env)?;
    let (env_path, file_env) = (&file.path, file.parsed.env());
    // Paths resolve as the instance will see them (its environment file), unless this
    // shell says otherwise; tuning given here by flag or environment is recorded.
    let merged = file_env.overlaid_by(env);
    let target = Target::resolve(raw.build_name.as_deref(), &raw.paths, &merged)?;
    let mut raw = raw.clone();
    let from_shell = |key: &str| env.get(key).map(str::to_string);
    raw.start_timeout = raw
        .start_timeout
        .or_else(|| from_shell("ATVM_WATCHER_START_TIMEOUT"));
    raw.hung_timeout = raw
        .hung_timeout
        .or_else(|| from_shell("ATVM_WATCHER_HUNG_TIMEOUT"));
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
    if let Loaded::Found(st) = bd.load_state()? {
        // A dry run's state does not count: the real watch sets it aside.
        if st.finished() && !st.post_pending && !st.dry_run {
            return Err(Error::usage(format!(
                "build {} already finished ({}{}); not starting it again: use a new build name, or remove {} to watch it anew",
                cfg.build_name,
                st.status,
                if st.posted { ", posted" } else { "" },
                bd.dir.display()
            )));
        }
        retry_post = st.finished();
    }
    if raw.dry_run {
        let json = serde_json::to_string_pretty(&prepared.request)
            .map_err(|e| Error::other(e.to_string()))?;
        println!(
            "dry run: would write {}:\n{json}",
            bd.path(state::REQUEST).display()
        );
        println!(
            "dry run: would run: {} start {}{}",
            env.get("ATVM_WATCHER_SYSTEMCTL").unwrap_or("systemctl"),
            unit_name(&cfg.build_name),
            if retry_post {
                " (to deliver the undelivered post)"
            } else {
                ""
            }
        );
        return Ok(());
    }
    bd.create()?;
    bd.write_request(&prepared.request)?;
    systemctl(env, "start", &cfg.build_name)?;
    if retry_post {
        println!(
            "started {} to deliver the undelivered post of build {}",
            unit_name(&cfg.build_name),
            cfg.build_name
        );
    } else {
        println!(
            "started {} (request: {})",
            unit_name(&cfg.build_name),
            bd.path(state::REQUEST).display()
        );
    }
    Ok(())
}

/// `cancel`: under the state lock, either the build already finished (nothing changes)
/// or it becomes CANCELLED, `cancelled.marker` is written and no post ever follows.
pub fn cancel(raw: &CancelArgs, env: &Env) -> Result<()> {
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
    let st = bd.load_or_rebuild(&request)?;
    let mut machine = Machine::new(st, Duration::ZERO, None);
    let (outcome, _) = machine.cancel(&reason, SystemTime::now(), false);
    match outcome {
        CancelOutcome::AlreadyFinished(status) => {
            drop(lock);
            println!(
                "build {} already finished ({status}); nothing changed",
                raw.build_name
            );
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
            println!(
                "build {} cancelled{drop_note}; nothing will be posted",
                raw.build_name
            );
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

/// One line of `status`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildSummary {
    pub build: String,
    pub status: Option<Status>,
    pub categorize: bool,
    pub subruns_done: usize,
    pub subruns_total: usize,
    pub posted: bool,
    pub post_pending: bool,
    pub post_error: Option<String>,
    /// `spec i of n`.
    pub progress: Option<String>,
    pub last_activity_at: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// A watcher holds the build right now.
    pub watched: bool,
    /// Why the build directory could not be read, if it could not.
    pub damaged: Option<String>,
}

impl BuildSummary {
    pub fn from_state(build: &str, st: &BuildState, watched: bool) -> BuildSummary {
        let total = st.subruns.len().max(st.planned_groups.len());
        BuildSummary {
            build: build.to_string(),
            status: Some(st.status),
            categorize: st.categorize,
            subruns_done: st.subruns.iter().filter(|s| s.status.is_terminal()).count(),
            subruns_total: total,
            posted: st.posted,
            post_pending: st.post_pending,
            post_error: st.post_error.clone(),
            progress: st
                .progress
                .as_ref()
                .map(|p| format!("spec {} of {}", p.index, p.total)),
            last_activity_at: st.last_activity_at.map(|t| t.rfc3339()),
            created_at: Some(st.created_at.rfc3339()),
            updated_at: Some(st.updated_at.rfc3339()),
            watched,
            damaged: None,
        }
    }

    fn damaged(build: &str, why: String, watched: bool) -> BuildSummary {
        BuildSummary {
            build: build.to_string(),
            status: None,
            categorize: false,
            subruns_done: 0,
            subruns_total: 0,
            posted: false,
            post_pending: false,
            post_error: None,
            progress: None,
            last_activity_at: None,
            created_at: None,
            updated_at: None,
            watched,
            damaged: Some(why),
        }
    }
}

/// Reads one build directory without changing anything (a corrupt state.json is reported,
/// not moved aside: that is the watcher's job).
fn summarize(root: &Path, build: &str) -> BuildSummary {
    let bd = BuildDir::new(root, build);
    let watched = bd.is_watched();
    let p = bd.path(state::STATE);
    match std::fs::read(&p) {
        Ok(bytes) => match serde_json::from_slice::<BuildState>(&bytes) {
            Ok(mut st) => {
                bd.apply_posted_markers(&mut st);
                BuildSummary::from_state(build, &st, watched)
            }
            Err(e) => BuildSummary::damaged(build, format!("state.json: {e}"), watched),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match bd.read_request() {
            Ok(Some(r)) => {
                let st = BuildState::for_request(&r, Timestamp::now());
                BuildSummary::from_state(build, &st, watched)
            }
            Ok(None) => {
                BuildSummary::damaged(build, "no state.json and no request.json".into(), watched)
            }
            Err(e) => BuildSummary::damaged(build, e.to_string(), watched),
        },
        Err(e) => BuildSummary::damaged(build, format!("state.json: {e}"), watched),
    }
}

/// `1h 5m`-style age, two units at most.
pub fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

fn since(ts: &Option<String>, now: SystemTime) -> String {
    ts.as_deref()
        .and_then(Timestamp::parse)
        .map(|t| age(now.duration_since(t.0).unwrap_or_default()))
        .map_or("-".into(), |a| format!("{a} ago"))
}

/// The `status` table.
pub fn render_table(rows: &[BuildSummary], now: SystemTime) -> String {
    let mut cells: Vec<[String; 8]> = vec![[
        "BUILD".into(),
        "STATUS".into(),
        "SUB-RUNS".into(),
        "POSTED".into(),
        "PROGRESS".into(),
        "LAST LOG ACTIVITY".into(),
        "AGE".into(),
        "WATCHER".into(),
    ]];
    for r in rows {
        let status = match (&r.damaged, r.status) {
            (Some(_), _) => "DAMAGED".to_string(),
            (None, Some(s)) => s.to_string(),
            (None, None) => "-".into(),
        };
        let subruns = if r.categorize {
            format!("{}/{}", r.subruns_done, r.subruns_total)
        } else {
            "-".into()
        };
        let posted = match (r.posted, r.post_pending, &r.post_error) {
            (_, true, Some(_)) => "failed",
            (_, true, None) => "pending",
            (true, false, _) => "yes",
            (false, false, _) => "no",
        };
        let age_cell = r
            .created_at
            .as_deref()
            .and_then(Timestamp::parse)
            .map_or("-".into(), |t| {
                age(now.duration_since(t.0).unwrap_or_default())
            });
        let watcher = if r.watched { "running" } else { "-" };
        let progress = match &r.damaged {
            Some(why) => why.chars().take(60).collect(),
            None => r.progress.clone().unwrap_or_else(|| "-".into()),
        };
        cells.push([
            r.build.clone(),
            status,
            subruns,
            posted.into(),
            progress,
            since(&r.last_activity_at, now),
            age_cell,
            watcher.into(),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for c in &cells {
        let line: Vec<String> = c
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `status`: every build under the state root, newest first.
pub fn status(raw: &StatusArgs, env: &Env) -> Result<()> {
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
        None => match std::fs::read_dir(root) {
            Ok(rd) => rd
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| validate_build_name(n).is_ok())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io("reading", root, e)),
        },
    };
    let mut rows: Vec<BuildSummary> = names.iter().map(|n| summarize(root, n)).collect();
    rows.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.build.cmp(&b.build))
    });
    if raw.json {
        let text = serde_json::to_string_pretty(&rows).map_err(|e| Error::other(e.to_string()))?;
        println!("{text}");
    } else if rows.is_empty() {
        println!("no builds under {}", root.display());
    } else {
        print!("{}", render_table(&rows, SystemTime::now()));
    }
    Ok(())
}

/// `check-webhook`: the configuration the instances will use (the environment file, or the
/// process environment when there is no such file); `--send` posts a test message.
/// Exit 2: configuration; exit 3: delivery.
pub fn check_webhook(raw: &CheckWebhookArgs, env: &Env) -> Result<()> {
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
                println!("warning: {}: {note}", path.display());
            }
        }
        (path.display().to_string(), hook?)
    } else {
        println!(
            "note: {} does not exist (start would refuse); checking this shell's environment",
            path.display()
        );
        ("the environment".to_string(), Webhook::from_env(env)?)
    };
    println!("webhook: {} (from {source})", hook.redacted());
    if let Some(c) = &hook.channel {
        println!("channel: {c}");
    }
    if let Some(u) = &hook.username {
        println!("username: {u}");
    }
    println!("configuration: ok");
    if !raw.send {
        return Ok(());
    }
    let advanced = crate::config::Advanced::resolve(env)?;
    let poster = Poster::new(hook.clone(), advanced.http_timeout);
    let text = format!(
        "atvm-run-watcher {}: webhook check from {} (no run involved)",
        env!("CARGO_PKG_VERSION"),
        crate::sys::hostname()
    );
    match poster.send(&Payload::new(text, &hook)) {
        Verdict::Delivered => {
            println!("test message: delivered (200 ok)");
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
    fn ages() {
        for (secs, want) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3599, "59m"),
            (3600, "1h 0m"),
            (3 * 3600 + 120, "3h 2m"),
            (90000, "1d 1h"),
        ] {
            assert_eq!(age(Duration::from_secs(secs)), want);
        }
    }

    #[test]
    fn table_shows_each_state_and_damage() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let t = |s: u64| Timestamp(now - Duration::from_secs(s));
        let mut a = BuildState::new("alpha", false, "/l/alpha.log", t(7200));
        a.status = Status::Running;
        a.progress = Some(crate::machine::Progress {
            index: 3,
            total: 9,
            spec: "x".into(),
        });
        a.last_activity_at = Some(t(30));
        let mut b = BuildState::new("beta", true, "/l/beta.log", t(60));
        b.status = Status::Failed;
        b.post_pending = true;
        b.post_error = Some("HTTP 400".into());
        b.planned_groups = vec!["a".into(), "b".into()];
        let rows = vec![
            BuildSummary::from_state("beta", &b, false),
            BuildSummary::from_state("alpha", &a, true),
            BuildSummary::damaged("gamma", "state.json: EOF while parsing".into(), false),
        ];
        let table = render_table(&rows, now);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("BUILD"));
        assert!(
            lines[1].starts_with("beta ")
                && lines[1].contains("FAILED")
                && lines[1].contains("0/2")
                && lines[1].contains("failed"),
            "{table}"
        );
        assert!(
            lines[2].contains("RUNNING")
                && lines[2].contains("spec 3 of 9")
                && lines[2].contains("30s ago")
                && lines[2].contains("2h 0m")
                && lines[2].contains("running"),
            "{table}"
        );
        assert!(
            lines[3].contains("DAMAGED") && lines[3].contains("EOF while parsing"),
            "{table}"
        );
    }
}
