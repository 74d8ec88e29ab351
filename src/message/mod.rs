//! The Mattermost post: Markdown, status and build first (and who is told of a failure),
//! then the request, counts, duration, the digest (`digest.rs`: failing tests, flaky
//! tests, what was fixed), host and log file. Under 4000 characters, so that no server
//! splits it: the digest gives way first. Text that comes from the log (or from the
//! operator) is neutralised (`markdown.rs`): it can neither mention anybody nor break
//! the layout.
//!
//! A `Message` is what a post shows; `webhook::Payload` wraps it for Mattermost.

mod digest;
mod markdown;

use crate::build::{BuildState, Target};
use crate::config::Request;
use crate::model::{RunOutcome, Status};
use crate::triage::Triage;
use markdown::{clip_escaped, safe};
use std::time::Duration;

/// Mattermost splits posts longer than this (its default `MaxPostSize` for webhooks).
const MAX_CHARS: usize = 4000;

/// What one post shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub text: String,
}

/// Everything a message needs besides the state: the request, where it ran, who is told
/// of a failure, and how its failures compare with earlier builds.
pub(crate) struct Context<'a> {
    pub request: &'a Request,
    pub host: &'a str,
    /// `MATTERMOST_ATVM_MENTION_ON_FAILURE`, validated: added to FAILED posts only.
    pub mention: Option<&'a str>,
    pub triage: Option<&'a Triage>,
}

fn emoji(s: Status) -> &'static str {
    match s {
        Status::Completed => ":white_check_mark:",
        Status::Failed => ":x:",
        _ => ":grey_question:",
    }
}

/// The test counts, and how many tests were flaky (only when some were).
fn counts(run: &RunOutcome) -> Option<String> {
    let t = run.tests?;
    let mut s = format!(
        "{} tests: {} passed, {} failed, {} pending, {} skipped",
        t.total, t.passed, t.failed, t.pending, t.skipped
    );
    if !run.flaky.is_empty() {
        s.push_str(&format!(" · {} flaky", run.flaky.len()));
    }
    Some(s)
}

/// `#### :x: ATVM run FAILED · build` (and the sub-run's position when categorized).
fn heading(st: &BuildState, t: Target) -> String {
    let status = st.run_of(t).status;
    let mut head = format!(
        "#### {} ATVM run {} · {}",
        emoji(status),
        status,
        st.build_name
    );
    if let Target::Subrun(i) = t {
        let s = &st.subruns[i];
        let name = safe(&s.name, 120);
        if st.planned_groups.is_empty() || st.plan_cut {
            head.push_str(&format!(" · group {}: {name}", s.index));
        } else {
            let total = st.planned_groups.len().max(st.subruns.len());
            head.push_str(&format!(" · group {} of {total}: {name}", s.index));
        }
    }
    head
}

/// The table: request options given, then counts and duration.
fn rows(
    r: &Request,
    run: &RunOutcome,
    created: crate::model::Timestamp,
) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    for (label, v) in [
        ("Template", &r.template),
        ("Config family", &r.config_family),
        ("Migration style", &r.migration_style),
        ("Integration plugin", &r.integration_plugin),
        ("Scope", &r.scope_description),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
            rows.push((label, safe(v, 300)));
        }
    }
    if let Some(c) = counts(run) {
        rows.push(("Tests", c));
    }
    let started = run.started_at.unwrap_or(created);
    let wall = run
        .finished_at
        .and_then(|end| end.0.duration_since(started.0).ok());
    match (&run.duration, wall) {
        (Some(d), _) => rows.push(("Duration", safe(d, 40))),
        (None, Some(w)) => rows.push((
            "Duration",
            humantime::format_duration(Duration::from_secs(w.as_secs())).to_string(),
        )),
        _ => {}
    }
    rows
}

/// Renders the post for `t` of `st`.
pub(crate) fn render(st: &BuildState, t: Target, ctx: &Context) -> Message {
    let run = st.run_of(t);
    let footer = format!(
        "\nController: {} · Log: {}",
        safe(ctx.host, 100),
        safe(&st.log_file, 300)
    );
    let mut body = heading(st, t);
    if run.status == Status::Failed
        && let Some(m) = ctx.mention
    {
        body.push('\n');
        body.push_str(m);
    }
    body.push_str("\n\n| | |\n|:--|:--|\n");
    for (k, v) in rows(ctx.request, run, st.created_at) {
        body.push_str(&format!("| {k} | {v} |\n"));
    }
    // The status, counts, host and log are kept whole: the digest gets what room is left.
    let used = body.chars().count() + footer.chars().count();
    let mut digest = digest::Sections::new((MAX_CHARS - 1).saturating_sub(used));
    digest::write(&mut digest, run, ctx.triage);
    body.push_str(&digest.text);
    body.push_str(&footer);
    Message {
        text: clip_escaped(body.trim_end().to_string(), MAX_CHARS - 1),
    }
}

/// The short post of `check-webhook --send`.
pub(crate) fn webhook_check(host: &str) -> Message {
    Message {
        text: format!(
            "atvm-run-watcher {}: webhook check from {} (no run involved)",
            env!("CARGO_PKG_VERSION"),
            safe(host, 100)
        ),
    }
}

#[cfg(test)]
mod tests;
