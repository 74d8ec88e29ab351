//! What `history --spec` shows (contract §10, "From the shell"): the spec's last runs,
//! newest first (build, sub-run, finished, duration, counts, what failed), and every test
//! that failed in any of them with its window over those runs, oldest first; with
//! `--test`, that test's outcome in each run. Text for a terminal (what came from files is
//! made printable) or JSON.

use crate::heart::history::{Outcome, SpecRun};
use crate::heart::message::visible;
use serde_json::{Value, json};

/// The listing of `spec`'s runs.
#[derive(Debug)]
pub(crate) struct Listing {
    spec: String,
    /// Newest first.
    runs: Vec<SpecRun>,
    test: Option<String>,
    /// The tests that failed in any run, the most recently failed first.
    failed: Vec<Option<String>>,
}

impl Listing {
    /// The last `n` of `runs` (any order; each build once) of `spec`.
    pub fn new(spec: &str, mut runs: Vec<SpecRun>, n: usize, test: Option<&str>) -> Listing {
        runs.sort_by(|a, b| {
            (b.finished_at, b.build.as_str()).cmp(&(a.finished_at, a.build.as_str()))
        });
        runs.truncate(n);
        let mut failed: Vec<Option<String>> = Vec::new();
        for r in &runs {
            for t in &r.failed {
                if !failed.contains(t) {
                    failed.push(t.clone());
                }
            }
        }
        Listing {
            spec: spec.to_string(),
            runs,
            test: test.map(str::to_string),
            failed,
        }
    }

    /// The window of `test` over the runs listed, oldest first.
    fn window(&self, test: Option<&str>) -> String {
        self.runs
            .iter()
            .rev()
            .map(|r| r.outcome(test).glyph())
            .collect()
    }

    pub fn text(&self, root: &str) -> String {
        let spec = visible(&self.spec);
        if self.runs.is_empty() {
            return format!("{spec}: no finished run of it under {root}\n");
        }
        let mut out = format!(
            "{spec}: the last {} run(s) under {root}, newest first\n\n",
            self.runs.len()
        );
        let mut rows = vec![vec![
            "BUILD".to_string(),
            "SUB-RUN".into(),
            "FINISHED".into(),
            "DURATION".into(),
            "TESTS".into(),
        ]];
        if self.test.is_some() {
            rows[0].push("OUTCOME".into());
        }
        for r in &self.runs {
            let mut row = vec![
                visible(&r.build),
                r.subrun.as_deref().map_or("-".into(), visible),
                r.finished_at.rfc3339(),
                row_duration(r),
                counts(r),
            ];
            if let Some(t) = &self.test {
                row.push(outcome_word(r.outcome(Some(t))).into());
            }
            rows.push(row);
        }
        out.push_str(&table(&rows));
        match &self.test {
            Some(t) => out.push_str(&format!("\n{}  {}\n", self.window(Some(t)), visible(t))),
            None if self.failed.is_empty() => out.push_str("\nNo test failed in these runs.\n"),
            None => {
                out.push_str("\nFailed in these runs (window: oldest run first):\n");
                for t in &self.failed {
                    let title = t
                        .as_deref()
                        .map_or("(the spec failed without a list)".into(), visible);
                    out.push_str(&format!("  {}  {title}\n", self.window(t.as_deref())));
                }
            }
        }
        out
    }

    pub fn json(&self) -> Value {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|r| {
                let mut v = json!({
                    "build": r.build,
                    "subrun": r.subrun,
                    "finished_at": r.finished_at.rfc3339(),
                    "duration": r.row.as_ref().and_then(|row| row.duration.clone()),
                    "tests": r.row.as_ref().map(|row| json!({
                        "total": row.tests, "passed": row.passed, "failed": row.failed,
                        "pending": row.pending, "skipped": row.skipped,
                    })),
                    "failed": r.failed,
                });
                if let Some(t) = &self.test {
                    v["outcome"] = json!(outcome_word(r.outcome(Some(t))));
                }
                v
            })
            .collect();
        let tests: Vec<Value> = match &self.test {
            Some(t) => vec![json!({"title": t, "window": self.window(Some(t))})],
            None => self
                .failed
                .iter()
                .map(|t| json!({"title": t, "window": self.window(t.as_deref())}))
                .collect(),
        };
        json!({"spec": self.spec, "runs": runs, "tests": tests})
    }
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Failed => "failed",
        Outcome::PassedAfterRetries | Outcome::Passed => "passed",
        Outcome::Unknown => "unknown",
    }
}

fn row_duration(r: &SpecRun) -> String {
    r.row
        .as_ref()
        .and_then(|row| row.duration.as_deref())
        .map_or("-".into(), visible)
}

fn counts(r: &SpecRun) -> String {
    match &r.row {
        None => "unknown (a build that kept no rows)".into(),
        Some(row) => format!(
            "{}: {} passed, {} failed, {} pending, {} skipped",
            row.tests, row.passed, row.failed, row.pending, row.skipped
        ),
    }
}

/// Rows as columns two blanks apart (the last one as it is).
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows[0].len();
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols).map(width).collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::run::{Failure, RunRecord, SpecRow};
    use crate::data::time::Timestamp;
    use std::time::{Duration, UNIX_EPOCH};

    fn run(day: u64, failed: &[&str]) -> SpecRun {
        let r = RunRecord {
            finished_at: Some(Timestamp(
                UNIX_EPOCH + Duration::from_secs(1_790_000_000 + day * 86_400),
            )),
            specs: vec![SpecRow {
                name: "a.cy.js".into(),
                tests: 3,
                passed: 3 - failed.len() as u64,
                failed: failed.len() as u64,
                duration: Some("01:00".into()),
                ..SpecRow::default()
            }],
            failures: failed
                .iter()
                .map(|t| Failure::new("a.cy.js".into(), Some(t.to_string()), None))
                .collect(),
            ..RunRecord::default()
        };
        SpecRun::of(&format!("b{day}"), None, &r, "a.cy.js").unwrap()
    }

    #[test]
    fn newest_first_with_windows() {
        let runs = vec![run(1, &["t1"]), run(3, &["t2\u{1b}[31m"]), run(2, &[])];
        let l = Listing::new("a.cy.js", runs.clone(), 10, None);
        let text = l.text("/state");
        let order: Vec<&str> = text.lines().skip(3).take(3).map(|l| &l[..2]).collect();
        assert_eq!(order, ["b3", "b2", "b1"], "{text}");
        assert!(
            text.contains("✗✓✓  t1") && text.contains("✓✓✗  t2 [31m"),
            "{text}"
        );
        assert!(
            !text.contains('\u{1b}'),
            "nothing from a file reaches the terminal raw"
        );
        let j = l.json();
        assert_eq!(j["runs"][0]["build"], "b3");
        assert_eq!(j["runs"][0]["tests"]["failed"], 1);
        assert_eq!(j["tests"][1], json!({"title": "t1", "window": "✗✓✓"}));
        let two = Listing::new("a.cy.js", runs.clone(), 2, Some("t1"));
        let j = two.json();
        assert_eq!(j["runs"].as_array().unwrap().len(), 2);
        assert_eq!(j["runs"][1]["outcome"], "passed");
        assert_eq!(j["tests"], json!([{"title": "t1", "window": "✓✓"}]));
        assert!(two.text("/state").contains("OUTCOME"));
        assert!(
            Listing::new("x.cy.js", vec![], 10, None)
                .text("/s")
                .contains("no finished run")
        );
    }
}
