//! `check-webhook`: the Mattermost configuration the instances will use, and the
//! known-issues file they will read, checked; `--send` posts a test message.

use crate::data::error::{Error, Result};
use crate::edges::stdout as out;
use crate::edges::sys;
use crate::edges::webhook::{Poster, Verdict};
use crate::heart::message;
use crate::settings::config::{Advanced, Mattermost};
use crate::settings::env::Env;
use crate::settings::envfile::{self, EnvFile};
use crate::settings::flags::CheckWebhookArgs;
use crate::settings::known_issues;

/// `check-webhook`: the configuration the instances will use (the environment file, or the
/// process environment when there is no such file); `--send` posts a test message.
/// Exit 2: configuration; exit 3: delivery.
pub(crate) fn check_webhook(raw: &CheckWebhookArgs, env: &Env) -> Result<()> {
    let path = envfile::path(env);
    let (source, m, known_file) = if path.exists() {
        let file = EnvFile::read(&path)?;
        let known_file = known_issues::path(&file.parsed.env());
        let m = file.mattermost();
        let told = m.as_ref().err().map(Error::to_string).unwrap_or_default();
        for note in file.parsed.notes.iter().map(|n| n.to_string()) {
            if !told.contains(&note) {
                out::line(format_args!("warning: {}: {note}", path.display()))?;
            }
        }
        (path.display().to_string(), m?, known_file)
    } else {
        out::line(format_args!(
            "note: {} does not exist (start would refuse); checking this shell's environment",
            path.display()
        ))?;
        let m = Mattermost::from_env(env)?;
        ("the environment".to_string(), m, known_issues::path(env))
    };
    let hook = &m.webhook;
    out::line(format_args!("webhook: {} (from {source})", hook.redacted()))?;
    if let Some(c) = &hook.channel {
        out::line(format_args!("channel: {c}"))?;
    }
    if let Some(u) = &hook.username {
        out::line(format_args!("username: {u}"))?;
    }
    if let Some(who) = &m.mention {
        out::line(format_args!("mention on failure: {who}"))?;
    }
    let known = known_issues::read(&known_file)?;
    match known.len() {
        0 if !known_file.exists() => out::line(format_args!(
            "known issues: none ({} does not exist)",
            known_file.display()
        ))?,
        n => out::line(format_args!(
            "known issues: {n} from {}",
            known_file.display()
        ))?,
    }
    out::line(format_args!("configuration: ok"))?;
    if !raw.send {
        return Ok(());
    }
    let advanced = Advanced::resolve(env)?;
    let poster = Poster::new(hook.clone(), advanced.http_timeout, advanced.ca_file);
    match poster.send(message::webhook_check(&sys::hostname())) {
        Verdict::Delivered => {
            out::line(format_args!("test message: delivered (200 ok)"))?;
            Ok(())
        }
        Verdict::Retry { why, .. } | Verdict::Permanent(why) => Err(Error::Delivery(format!(
            "test message not delivered: {why}"
        ))),
    }
}
