//! The post's answer to triage (contract §9, §10), below the table: why a run stopped, the
//! failed tests (`failures.rs`), the flaky tests, the slower specs, what was fixed since an
//! earlier build. Every text from the log goes through `verbatim`.
//!
//! The digest gives way in §10's order: the windows first, then `Slower`, `Fixed since`,
//! the flaky names (their count stays in the table), then the failures past the first.
//! `render` tries each `Detail` in turn until the post fits; only the last one cuts a list.

use super::failures;
use super::verbatim::verbatim;
use crate::data::caps::{FENCE_ROOM, NAME_CAP, SHOWN_FAILURES, SHOWN_FLAKY, TEXT_CAP};
use crate::data::run::RunRecord;
use crate::data::status::Status;
use crate::data::time::clock;
use crate::heart::triage::Triage;

/// Kept free for a closing `… and N more` line.
const MORE_LINE: usize = 40;

/// How much of the digest a post shows, most first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Detail {
    All,
    NoWindows,
    NoSlower,
    NoFixed,
    NoFlakyNames,
    /// The failures past the first give way too: the one level that cuts a list.
    Cut,
}

impl Detail {
    pub const ALL: [Detail; 6] = [
        Detail::All,
        Detail::NoWindows,
        Detail::NoSlower,
        Detail::NoFixed,
        Detail::NoFlakyNames,
        Detail::Cut,
    ];

    pub fn windows(self) -> bool {
        self == Detail::All
    }
}

/// Appends sections to a body while they fit in `room` characters in all.
pub(super) struct Sections {
    pub text: String,
    room: usize,
    /// Nothing is cut: what does not fit sets `overflow` (another `Detail` is tried).
    whole: bool,
    pub overflow: bool,
}

impl Sections {
    pub fn new(room: usize, detail: Detail) -> Sections {
        Sections {
            text: String::new(),
            room,
            whole: detail != Detail::Cut,
            overflow: false,
        }
    }

    fn used(&self) -> usize {
        self.text.chars().count()
    }

    /// A section: `head` (and `lead`, a paragraph of its own under it), then `items` while
    /// they fit, then `… and N more` where N counts the items of `total` not shown, given
    /// how many each item stands for (`weights`; one each when empty). When cutting, the
    /// head stays even if its first item does not fit (the lead gives way first): a
    /// heading's counts always stay.
    pub fn section(
        &mut self,
        head: &str,
        lead: Option<&str>,
        items: &[String],
        weights: &[usize],
        total: usize,
    ) {
        let Some(first) = items.first() else { return };
        let head = format!("\n{head}\n");
        let lead = lead.map(|l| format!("\n{l}\n"));
        let first = first.chars().count() + 3;
        let base = self.used() + head.chars().count() + MORE_LINE;
        let cost = |lead: Option<&String>| base + lead.map_or(0, |l| l.chars().count());
        let lead = if cost(lead.as_ref()) + first <= self.room {
            lead
        } else if self.whole {
            self.overflow = true;
            return;
        } else {
            self.overflow = true;
            None
        };
        if cost(None) > self.room {
            return;
        }
        self.text.push_str(&head);
        if let Some(l) = &lead {
            self.text.push_str(l);
        }
        let mut shown = 0;
        for (i, item) in items.iter().enumerate() {
            let line = format!("- {item}\n");
            if self.used() + line.chars().count() + MORE_LINE > self.room {
                self.overflow = true;
                if self.whole {
                    return;
                }
                break;
            }
            self.text.push_str(&line);
            shown += weights.get(i).copied().unwrap_or(1);
        }
        if shown < total {
            self.text
                .push_str(&format!("- … and {} more\n", total - shown));
        }
    }
}

/// A spec name, a build name, as posted.
pub(super) fn name(text: &str) -> String {
    verbatim(text, NAME_CAP + FENCE_ROOM)
}

/// A title, an error line, a reason, as posted.
pub(super) fn text(text: &str) -> String {
    verbatim(text, TEXT_CAP + FENCE_ROOM)
}

/// The digest of `run` at `detail`.
pub(super) fn write(s: &mut Sections, run: &RunRecord, triage: Option<&Triage>, detail: Detail) {
    if run.cypress_error
        && let Some(r) = &run.reason
    {
        // The run did not finish: said first, whatever the specs before it told.
        let why = format!("Cypress stopped the run on its own error: {}", text(r));
        s.section("**Why**:", None, &[why], &[], 1);
    }
    if !run.failures.is_empty() {
        failures::section(s, run, triage, detail);
    } else if !run.failed_specs.is_empty() {
        let items: Vec<String> = run.failed_specs.iter().map(|n| name(n)).collect();
        let n = items.len();
        let head = format!("**Failed specs** ({n}):");
        s.section(&head, None, &items[..n.min(SHOWN_FAILURES)], &[], n);
    } else if run.status == Status::Failed
        && !run.cypress_error
        && let Some(r) = &run.reason
    {
        s.section("**Why**:", None, &[text(r)], &[], 1);
    }
    if !run.flaky.is_empty() && detail < Detail::NoFlakyNames {
        flaky(s, run, triage);
    }
    let Some(t) = triage else { return };
    if !t.slower.is_empty() && detail < Detail::NoSlower {
        let items: Vec<String> = t
            .slower
            .iter()
            .map(|x| {
                format!(
                    "{} {} (usually {})",
                    name(&x.spec),
                    text(&x.now),
                    clock(x.usually)
                )
            })
            .collect();
        let n = items.len();
        s.section(&format!("**Slower** ({n}):"), None, &items, &[], n);
    }
    if detail < Detail::NoFixed {
        fixed(s, t);
    }
}

fn flaky(s: &mut Sections, run: &RunRecord, triage: Option<&Triage>) {
    let items: Vec<String> = run
        .flaky
        .iter()
        .enumerate()
        .take(SHOWN_FLAKY)
        .map(|(i, f)| {
            let (spec, title) = (name(&f.spec), text(&f.title));
            let mut line = format!("{spec} › {title} (passed on attempt {})", f.attempts);
            if let Some((k, n)) = triage.and_then(|t| t.flaky.get(i).copied().flatten()) {
                line.push_str(&format!(" · flaky: failed {k} of {n} runs"));
            }
            line
        })
        .collect();
    let n = run.flaky.len();
    s.section(&format!("**Flaky** ({n}):"), None, &items, &[], n);
}

/// One section per earlier build, in the order they first appear.
fn fixed(s: &mut Sections, t: &Triage) {
    let mut builds: Vec<&str> = Vec::new();
    for f in &t.fixed {
        if !builds.contains(&f.build.as_str()) {
            builds.push(&f.build);
        }
    }
    for build in builds {
        let items: Vec<String> = t
            .fixed
            .iter()
            .filter(|f| f.build == build)
            .map(|f| match &f.title {
                Some(title) => format!("{} › {}", name(&f.spec), text(title)),
                None => name(&f.spec),
            })
            .collect();
        let n = items.len();
        let head = format!("**Fixed since** {} ({n}):", name(build));
        s.section(&head, None, &items, &[], n);
    }
}
