//! The Mattermost post: Markdown, status and build first (and who is told of a failure),
//! then the request, counts, duration, the digest (`sections.rs`, `failures.rs`: failing
//! tests and what their history says, flaky and slower specs, what was fixed), host and
//! log file. Under 4000 characters, so that no server
//! splits it: every part has its cap, and the digest gets what room is left. Every text
//! that does not come from the watcher (from the log, or the operator's request, host,
//! build name and log path) goes through `verbatim`: Mattermost shows it as it is, in
//! code spans, and it can neither mention anybody, link, nor change the layout.
//!
//! A `Message` is what a post shows; `webhook::Payload` wraps it for Mattermost.

mod failures;
mod sections;
mod verbatim;

use crate::data::build_state::{BuildState, Target};
use crate::data::caps::{
    DURATION_CAP, FENCE_ROOM, HEADING_NAME_CAP, HOST_CAP, NAME_CAP, POST_CHARS, TEXT_CAP,
};
use crate::data::request::Request;
use crate::data::run::RunRecord;
use crate::data::status::Status;
use crate::data::time::Timestamp;
use crate::heart::triage::Triage;
use sections::{Detail, Sections};
use std::time::Duration;
use verbatim::verbatim;
pub(crate) use verbatim::visible;

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
fn counts(run: &RunRecord) -> Option<String> {
    let t = run.tests?;
    let noun = if t.total == 1 { "test" } else { "tests" };
    let mut s = format!(
        "{} {noun}: {} passed, {} failed, {} pending, {} skipped",
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
        verbatim(&st.build_name, NAME_CAP + FENCE_ROOM)
    );
    if let Target::Subrun(i) = t {
        let s = &st.subruns[i];
        let name = verbatim(&s.name, HEADING_NAME_CAP);
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
fn rows(r: &Request, run: &RunRecord, created: Timestamp) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    for (label, v) in [
        ("Template", &r.template),
        ("Config family", &r.config_family),
        ("Migration style", &r.migration_style),
        ("Integration plugin", &r.integration_plugin),
        ("Scope", &r.scope_description),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
            rows.push((label, verbatim(v, TEXT_CAP)));
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
        (Some(d), _) => rows.push(("Duration", verbatim(d, DURATION_CAP))),
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
        verbatim(ctx.host, HOST_CAP),
        verbatim(&st.log_file, TEXT_CAP + FENCE_ROOM)
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
    // The status, counts, host and log are kept whole: the digest gets what room is left,
    // giving way in §10's order until it fits.
    let used = body.chars().count() + footer.chars().count();
    let room = (POST_CHARS - 1).saturating_sub(used);
    for detail in Detail::ALL {
        let mut digest = Sections::new(room, detail);
        sections::write(&mut digest, run, ctx.triage, detail);
        if !digest.overflow || detail == Detail::Cut {
            body.push_str(&digest.text);
            break;
        }
    }
    body.push_str(&footer);
    let text = body.trim_end().to_string();
    // Every part has its cap and the digest took only the room left: it fits by
    // construction (cutting it here could leave a code span open).
    debug_assert!(
        text.chars().count() < POST_CHARS,
        "{} characters",
        text.len()
    );
    Message { text }
}

/// The short post of `check-webhook --send`.
pub(crate) fn webhook_check(host: &str) -> Message {
    Message {
        text: format!(
            "atvm-run-watcher {}: webhook check from {} (no run involved)",
            crate::data::names::VERSION,
            verbatim(host, HOST_CAP)
        ),
    }
}

#[cfg(test)]
mod tests;
