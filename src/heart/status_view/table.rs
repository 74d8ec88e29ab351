//! `status` as text: the table of every build, and the detail view of one.

use super::{BuildSummary, Watcher};
use crate::data::caps::SHOWN_DAMAGE;
use crate::data::status::Shown;
use crate::data::time::{Timestamp, short_age};
use std::time::SystemTime;

fn since(ts: &Option<String>, now: SystemTime) -> String {
    ts.as_deref()
        .and_then(Timestamp::parse)
        .map(|t| short_age(now.duration_since(t.0).unwrap_or_default()))
        .map_or("-".into(), |a| format!("{a} ago"))
}

/// `SUB-RUNS`: finished of planned (`?` while no plan is known and the request goes on),
/// `-` before any is known.
fn subruns_cell(r: &BuildSummary) -> String {
    if !r.categorize || (r.subruns.is_empty() && r.subruns_planned.is_none()) {
        return "-".into();
    }
    let ended = r.status.is_some_and(|s| s.is_terminal());
    match r.subruns_planned {
        Some(p) => format!("{}/{}", r.subruns_done, p.max(r.subruns.len())),
        None if ended => format!("{}/{}", r.subruns_done, r.subruns.len()),
        None => format!("{}/?", r.subruns_done),
    }
}

/// `POSTED`: yes, no, pending, failed; for a categorized build the sub-runs posted of
/// those finished, and whether a post waits or failed (`1/2 pending`).
fn posted_cell(r: &BuildSummary) -> String {
    let waiting = |pending: bool, error: &Option<String>| match (pending, error) {
        (true, Some(_)) => Some("failed"),
        (true, None) => Some("pending"),
        _ => None,
    };
    if r.categorize && !r.subruns.is_empty() {
        let mut cell = format!("{}/{}", r.subruns_posted, r.subruns_done);
        let worst = r
            .subruns
            .iter()
            .filter_map(|s| waiting(s.post_pending, &s.post_error))
            .min();
        if let Some(w) = worst {
            cell.push_str(&format!(" {w}"));
        }
        return cell;
    }
    match (waiting(r.post_pending, &r.post_error), r.posted) {
        (Some(w), _) => w.into(),
        (None, true) => "yes".into(),
        (None, false) => "no".into(),
    }
}

/// `status --build-name B`: one build in detail.
pub(crate) fn render_detail(r: &BuildSummary, now: SystemTime) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| out.push_str(&format!("{label:<13}{value}\n"));
    line("build", r.build.clone());
    let status = match (&r.damaged, r.status) {
        (Some(why), _) => format!("{} ({why})", Shown::Damaged.as_str()),
        (None, Some(s)) => s.to_string(),
        (None, None) => Shown::Starting.as_str().to_string(),
    };
    line("status", status);
    if let Some(why) = &r.reason {
        line("reason", why.clone());
    }
    line("created", stamp(&r.created_at, now));
    if r.finished_at.is_some() {
        line("finished", stamp(&r.finished_at, now));
    }
    if let Some(log) = &r.log_file {
        line(
            "log",
            format!("{log} (last activity {})", since(&r.last_activity_at, now)),
        );
    }
    if let Some(p) = &r.progress {
        line("progress", p.clone());
    }
    line("post", posted_cell(r));
    if let Some(e) = &r.post_error {
        line("post error", e.clone());
    }
    let watcher = Watcher::word(r.watcher);
    match r.watcher {
        Some(Watcher::Missing) => line("watcher", format!("{watcher}: {}", start_hint(1))),
        _ => line("watcher", watcher.into()),
    }
    if r.categorize {
        line("sub-runs", subruns_cell(r));
        for s in &r.subruns {
            let post = match (s.posted, s.post_pending, &s.post_error) {
                (true, _, _) => "posted".to_string(),
                (_, true, Some(e)) => format!("post failed: {e}"),
                (_, true, None) => "post pending".to_string(),
                _ => "not posted".to_string(),
            };
            let why = s
                .reason
                .as_deref()
                .map_or(String::new(), |r| format!(" ({r})"));
            line("", format!("{} {}{why}, {post}", s.key, s.status));
        }
    }
    out
}

/// `2026-12-03T09:41:07.000Z (2h 5m ago)`, or `-`.
fn stamp(ts: &Option<String>, now: SystemTime) -> String {
    match ts {
        Some(t) => format!("{t} ({})", since(ts, now)),
        None => "-".into(),
    }
}

/// One line of the `status` table, as its cells: all `status` keeps of a build while it
/// reads the others (a few hundred bytes, whatever the build holds).
pub(crate) type Row = [String; 8];

const HEADER: [&str; 8] = [
    "BUILD",
    "STATUS",
    "SUB-RUNS",
    "POSTED",
    "PROGRESS",
    "LAST LOG ACTIVITY",
    "AGE",
    "WATCHER",
];

/// `r`'s line of the table.
pub(crate) fn table_row(r: &BuildSummary, now: SystemTime) -> Row {
    let status = match (&r.damaged, r.status) {
        (Some(_), _) => Shown::Damaged,
        (None, Some(s)) => Shown::Status(s),
        (None, None) => Shown::Starting,
    }
    .as_str()
    .to_string();
    let age_cell = r
        .created_at
        .as_deref()
        .and_then(Timestamp::parse)
        .map_or("-".into(), |t| {
            short_age(now.duration_since(t.0).unwrap_or_default())
        });
    let watcher = Watcher::word(r.watcher);
    let progress = match &r.damaged {
        Some(why) => why.chars().take(SHOWN_DAMAGE).collect(),
        None => r.progress.clone().unwrap_or_else(|| "-".into()),
    };
    [
        r.build.clone(),
        status,
        subruns_cell(r),
        posted_cell(r),
        progress,
        since(&r.last_activity_at, now),
        age_cell,
        watcher.into(),
    ]
}

/// What to run for `n` builds a watcher lacks.
fn start_hint(n: usize) -> String {
    let what = match n {
        1 => "it is live or has a post pending, and no watcher follows it".to_string(),
        n => format!("{n} builds are live or have a post pending, and no watcher follows them"),
    };
    format!(
        "{what} (after a reboot, say): run atvm-run-watcher resume (or start-atvm-run-watcher.sh --build-name NAME for one)"
    )
}

/// The `status` table of `rows`, under its header, each column as wide as its widest cell;
/// under it, what to run when a build lacks its watcher (WATCHER `none`).
pub(crate) fn render_rows(rows: &[Row]) -> String {
    let header: Row = HEADER.map(String::from);
    let all = || std::iter::once(&header).chain(rows);
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|i| all().map(|c| c[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for c in all() {
        let line: Vec<String> = c
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let missing = Watcher::word(Some(Watcher::Missing));
    let forgotten = rows.iter().filter(|r| r[7] == missing).count();
    if forgotten > 0 {
        out.push_str(&format!("\nWATCHER {missing}: {}\n", start_hint(forgotten)));
    }
    out
}

/// The `status` table of `builds`.
#[cfg(test)]
pub(crate) fn render_table(builds: &[BuildSummary], now: SystemTime) -> String {
    let rows: Vec<Row> = builds.iter().map(|b| table_row(b, now)).collect();
    render_rows(&rows)
}
