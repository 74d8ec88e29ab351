//! Many watchers at once, each on its own build and log (`make scale` with 300, and
//! tests/robustness/scale.rs with fewer under a lowered inotify budget): every one must
//! reach its end and post exactly once, whether it got an inotify instance or fell back to
//! polling. Not a module of support/mod.rs: those two include this file by path, beside
//! their `support`.

use crate::support::{FakeMattermost, Sandbox, Spec, Style, Watcher, cypress, wait_until};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How a watcher followed its log, as its own log lines say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Inotify,
    /// Fell back to polling because `fs.inotify.max_user_instances` was used up.
    PollingNoInstance,
    /// Polling for another reason (its line is in `FleetReport::odd`).
    PollingOther,
}

#[derive(Debug, Default)]
pub struct FleetReport {
    pub modes: Vec<Mode>,
    /// Delivered posts per build.
    pub posts: BTreeMap<String, usize>,
    /// Exit code per build.
    pub codes: BTreeMap<String, i32>,
    /// Sum of `Pss` over every watcher while all were following, in KiB.
    pub pss_kib: u64,
    /// Sum of `Rss`, in KiB (counts the shared binary once per process).
    pub rss_kib: u64,
    /// From the first spawn until every watcher was following.
    pub startup: Duration,
    /// From the last append until every watcher exited.
    pub finish: Duration,
    /// Lines worth a look: unexpected polling reasons, bad exits.
    pub odd: Vec<String>,
}

impl FleetReport {
    pub fn count(&self, m: Mode) -> usize {
        self.modes.iter().filter(|x| **x == m).count()
    }

    /// Builds that did not post exactly once or did not exit 0.
    pub fn bad_builds(&self) -> Vec<String> {
        self.codes
            .iter()
            .filter(|(b, c)| **c != 0 || self.posts.get(*b).copied().unwrap_or(0) != 1)
            .map(|(b, c)| format!("{b}: exit {c}, {} post(s)", self.posts.get(b).unwrap_or(&0)))
            .collect()
    }
}

/// Sums a field (`Pss:`, `Rss:`) of /proc/<pid>/smaps_rollup, in KiB.
pub fn smaps_rollup(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn build_name(i: usize) -> String {
    format!("fleet-{i:03}")
}

fn specs(i: usize) -> Vec<Spec> {
    if i.is_multiple_of(3) {
        vec![
            Spec::passed("login.cy.js", 2),
            Spec::failed("migrate/windows.cy.js", 3, 1),
        ]
    } else {
        vec![
            Spec::passed("login.cy.js", 2),
            Spec::passed("migrate/linux.cy.js", 4),
        ]
    }
}

/// Starts `n` watchers on running logs, measures their memory once all follow, ends every
/// run and waits until every watcher exited.
pub fn run(sb: &Sandbox, hook: &FakeMattermost, n: usize, timeout: Duration) -> FleetReport {
    let mut report = FleetReport::default();
    for i in 0..n {
        let b = build_name(i);
        let mut lines = cypress::atvm_preamble(&b);
        lines.extend(cypress::run_starting(&specs(i)));
        sb.append_lines(&b, &lines, Style::PLAIN);
    }
    let t0 = Instant::now();
    let mut ws: Vec<Watcher> = (0..n)
        .map(|i| sb.watch(hook, &build_name(i), &[]))
        .collect();
    wait_until("every watcher to be RUNNING", timeout, || {
        (0..n).all(|i| {
            sb.try_state(&build_name(i))
                .is_some_and(|s| s["status"] == "RUNNING")
        })
    });
    report.startup = t0.elapsed();
    for w in &ws {
        report.pss_kib += smaps_rollup(w.child.id(), "Pss:");
        report.rss_kib += smaps_rollup(w.child.id(), "Rss:");
    }
    for i in 0..n {
        let sp = specs(i);
        let mut lines = Vec::new();
        for (k, s) in sp.iter().enumerate() {
            lines.extend(cypress::spec_block(s, k + 1, sp.len()));
        }
        lines.extend(cypress::run_finished(&sp, "01:02"));
        sb.append_lines(&build_name(i), &lines, Style::ALL);
    }
    let t1 = Instant::now();
    for (i, w) in ws.iter_mut().enumerate() {
        let left = timeout
            .saturating_sub(t1.elapsed())
            .max(Duration::from_secs(1));
        let code = w.wait(left).code().unwrap_or(-1);
        let b = build_name(i);
        let err = w.stderr();
        let mode = match err.lines().find(|l| l.contains("by polling")) {
            None => Mode::Inotify,
            Some(l)
                if l.contains("inotify is not available")
                    && l.contains("(fs.inotify.max_user_instances reached)") =>
            {
                Mode::PollingNoInstance
            }
            Some(l) => {
                report.odd.push(format!("{b}: {l}"));
                Mode::PollingOther
            }
        };
        if code != 0 {
            report.odd.push(format!(
                "{b}: exit {code}: {}",
                err.lines().last().unwrap_or("")
            ));
        }
        report.modes.push(mode);
        report.codes.insert(b.clone(), code);
        report.posts.insert(b, 0);
    }
    report.finish = t1.elapsed();
    for r in hook.delivered() {
        let text = r.text();
        let heading = text.lines().next().unwrap_or("");
        if let Some(b) = heading.rsplit(" · ").next()
            && let Some(c) = report.posts.get_mut(b.trim().trim_matches('`'))
        {
            *c += 1;
        }
    }
    report
}
