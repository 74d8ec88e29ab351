//! The failed tests' section (contract §9, §10): its heading with the counts, the line on a
//! dominant error, then one line per failure or per cluster, in triage's order:
//!
//! `spec › title: error · mark · flaky: failed k of n runs ✓✓✗✓✗✗✗`
//! `**12 tests** failed with: error — spec › title, spec › title, spec › title, … · 4 new`

use super::sections::{Detail, Sections, name, text};
use crate::data::caps::SHOWN_FAILURES;
use crate::data::run::{Failure, RunRecord};
use crate::heart::history::Mark;
use crate::heart::triage::{Counts, Item, Note, Triage, cluster_counts, named};

/// `2 new · 1 failed again · 5 still failing · 1 known` (a count of 0 left out).
fn counts_text(c: Counts) -> String {
    let parts = [
        (c.new, "new"),
        (c.again, "failed again"),
        (c.still, "still failing"),
        (c.known, "known"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A failure's mark, as posted (nothing for no mark).
fn mark_text(note: &Note) -> Option<String> {
    if let Some(k) = &note.known {
        let id = text(&k.id);
        return Some(match &k.url {
            Some(url) => format!("known: [{id}]({url})"),
            None => format!("known: {id}"),
        });
    }
    let mut words = match &note.mark {
        Mark::New => "new".to_string(),
        Mark::AlsoFailedIn(b) => format!("also failed in {}", name(b)),
        Mark::FailingFor { runs, since } => {
            format!("failing for {runs} runs, since {}", name(since))
        }
        Mark::FailedAgain(b) => format!("failed again, last failed in {}", name(b)),
        Mark::Unknown => String::new(),
    };
    if let Some((k, n)) = note.flaps {
        if !words.is_empty() {
            words.push_str(" · ");
        }
        words.push_str(&format!("flaky: failed {k} of {n} runs"));
    }
    (!words.is_empty()).then_some(words)
}

/// `spec › title: error`, each part only when known.
fn test_line(f: &Failure) -> String {
    let mut line = name(&f.spec);
    if let Some(t) = &f.title {
        line.push_str(&format!(" › {}", text(t)));
    }
    if let Some(e) = &f.error {
        line.push_str(&format!(": {}", text(e)));
    }
    line
}

fn failure_line(f: &Failure, note: Option<&Note>, windows: bool) -> String {
    let mut line = test_line(f);
    if let Some(m) = note.and_then(mark_text) {
        line.push_str(&format!(" · {m}"));
    }
    if let Some(w) = note.and_then(|n| n.window.as_deref()).filter(|_| windows) {
        line.push_str(&format!(" {w}"));
    }
    line
}

fn cluster_line(run: &RunRecord, t: &Triage, members: &[usize]) -> String {
    let first = &run.failures[members[0]];
    let who: Vec<String> = named(members)
        .iter()
        .map(|&i| {
            let f = &run.failures[i];
            match &f.title {
                Some(title) => format!("{} › {}", name(&f.spec), text(title)),
                None => name(&f.spec),
            }
        })
        .collect();
    let more = if members.len() > who.len() {
        ", …"
    } else {
        ""
    };
    let mut line = format!(
        "**{} tests** failed with: {} — {}{more}",
        members.len(),
        text(first.error.as_deref().unwrap_or_default()),
        who.join(", ")
    );
    let c = counts_text(cluster_counts(&t.notes, members));
    if !c.is_empty() {
        line.push_str(&format!(" · {c}"));
    }
    line
}

/// The failed tests: at most `SHOWN_FAILURES` items, then `… and N more`.
pub(super) fn section(s: &mut Sections, run: &RunRecord, triage: Option<&Triage>, detail: Detail) {
    let total = run.failed_total();
    let mut head = format!("**Failed tests** ({total}):");
    let (items, weights): (Vec<String>, Vec<usize>) = match triage {
        Some(t) => {
            let c = counts_text(t.counts);
            if !c.is_empty() {
                head.push_str(&format!(" {c}"));
            }
            t.items
                .iter()
                .take(SHOWN_FAILURES)
                .map(|item| match item {
                    Item::One(i) => {
                        let line =
                            failure_line(&run.failures[*i], t.notes.get(*i), detail.windows());
                        (line, 1)
                    }
                    Item::Cluster(m) => (cluster_line(run, t, m), m.len()),
                })
                .unzip()
        }
        None => run
            .failures
            .iter()
            .take(SHOWN_FAILURES)
            .map(|f| (failure_line(f, None, false), 1))
            .unzip(),
    };
    let lead = triage.and_then(|t| t.dominant).map(|(n, of, first)| {
        let error = run.failures[first].error.as_deref().unwrap_or_default();
        format!(
            "Most failures share one error ({n} of {of}): {}",
            text(error)
        )
    });
    s.section(&head, lead.as_deref(), &items, &weights, total);
}
