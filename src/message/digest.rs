//! The post's answer to triage (contract §9): the failing tests with their error's first
//! line and whether each is new, the flaky tests, what was fixed since an earlier build.
//! Every line is untrusted text made safe; sections are added while there is room, so
//! that the digest gives way first and the post stays whole.

use super::markdown::safe;
use crate::model::{Failure, RunOutcome, Status};
use crate::triage::{Mark, Triage};

/// Failing tests listed, at most.
const SHOWN_FAILURES: usize = 10;
/// Flaky tests named, at most.
const SHOWN_FLAKY: usize = 5;
/// Kept free for a closing `… and N more` line.
const MORE_LINE: usize = 40;

/// Appends sections to a body while they fit in `room` characters in all.
pub(super) struct Sections {
    pub text: String,
    room: usize,
}

impl Sections {
    pub fn new(room: usize) -> Sections {
        Sections {
            text: String::new(),
            room,
        }
    }

    fn used(&self) -> usize {
        self.text.chars().count()
    }

    /// A section: `head`, then `items` while they fit, then `… and N more` where N counts
    /// the items of `total` not shown. Nothing at all when not even one item fits.
    pub fn section(&mut self, head: &str, items: &[String], total: usize) {
        let head = format!("\n{head}\n");
        let first = items.first().map_or(0, |i| i.chars().count() + 3);
        if items.is_empty() || self.used() + head.chars().count() + first + MORE_LINE > self.room {
            return;
        }
        self.text.push_str(&head);
        let mut shown = 0;
        for item in items {
            let line = format!("- {item}\n");
            if self.used() + line.chars().count() + MORE_LINE > self.room {
                break;
            }
            self.text.push_str(&line);
            shown += 1;
        }
        if shown < total {
            self.text
                .push_str(&format!("- … and {} more\n", total - shown));
        }
    }
}

/// `**spec** › title: error · mark`, each part only when known.
fn failure_line(f: &Failure, mark: Option<&Mark>) -> String {
    let mut line = format!("**{}**", safe(&f.spec, 200));
    if let Some(t) = &f.title {
        line.push_str(&format!(" › {}", safe(t, 300)));
    }
    if let Some(e) = &f.error {
        line.push_str(&format!(": {}", safe(e, 300)));
    }
    match mark {
        Some(Mark::New) => line.push_str(" · new"),
        Some(Mark::AlsoFailedIn(b)) => {
            line.push_str(&format!(" · also failed in {}", safe(b, 200)))
        }
        Some(Mark::Unknown) | None => {}
    }
    line
}

/// The digest of `run`: failed tests (or, without a digest, the failed specs or the reason
/// a run failed), flaky tests, and what was fixed since an earlier build.
pub(super) fn write(s: &mut Sections, run: &RunOutcome, triage: Option<&Triage>) {
    if !run.failures.is_empty() {
        let items: Vec<String> = run
            .failures
            .iter()
            .enumerate()
            .take(SHOWN_FAILURES)
            .map(|(i, f)| failure_line(f, triage.and_then(|t| t.marks.get(i))))
            .collect();
        let total = (run.tests.map_or(0, |t| t.failed) as usize).max(run.failures.len());
        s.section(&format!("**Failed tests** ({total}):"), &items, total);
    } else if !run.failed_specs.is_empty() {
        let items: Vec<String> = run.failed_specs.iter().map(|n| safe(n, 200)).collect();
        let n = items.len();
        s.section(
            &format!("**Failed specs** ({n}):"),
            &items[..n.min(SHOWN_FAILURES)],
            n,
        );
    } else if run.status == Status::Failed
        && let Some(r) = &run.reason
    {
        s.section("**Why**:", &[safe(r, 300)], 1);
    }
    if !run.flaky.is_empty() {
        let items: Vec<String> = run
            .flaky
            .iter()
            .take(SHOWN_FLAKY)
            .map(|f| {
                let (spec, title) = (safe(&f.spec, 200), safe(&f.title, 300));
                format!("**{spec}** › {title} (passed on attempt {})", f.attempts)
            })
            .collect();
        let n = run.flaky.len();
        s.section(&format!("**Flaky** ({n}):"), &items, n);
    }
    let fixed = triage.map_or(&[][..], |t| &t.fixed[..]);
    // One section per earlier build, in the order they first appear.
    let mut builds: Vec<&str> = Vec::new();
    for f in fixed {
        if !builds.contains(&f.build.as_str()) {
            builds.push(&f.build);
        }
    }
    for build in builds {
        let items: Vec<String> = fixed
            .iter()
            .filter(|f| f.build == build)
            .map(|f| match &f.title {
                Some(t) => format!("**{}** › {}", safe(&f.spec, 200), safe(t, 300)),
                None => format!("**{}**", safe(&f.spec, 200)),
            })
            .collect();
        let n = items.len();
        s.section(
            &format!("**Fixed since {}** ({n}):", safe(build, 200)),
            &items,
            n,
        );
    }
}
