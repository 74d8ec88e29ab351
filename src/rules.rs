//! The recognised log strings: built-in defaults for Cypress 12.17.4 and the ATVM
//! markers, optionally overridden by a JSON rules file (`--rules` / `ATVM_WATCHER_RULES`)
//! so that a changed log format needs no rebuild. `dist/rules.example.json` holds the
//! defaults; a test keeps it equal to them.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// A Cypress run starts.
    pub run_starting: Vec<String>,
    /// The summary table of a Cypress run follows.
    pub run_finished: Vec<String>,
    /// Progress line: `<string> <spec> ... (i of n)`.
    pub progress: Vec<String>,
    /// Summary footer (after run_finished): the run COMPLETED.
    pub all_passed: Vec<String>,
    /// Summary footer (after run_finished): the run FAILED; `{n}` and `{m}` stand for numbers.
    pub some_failed: Vec<String>,
    /// Summary footer (after run_finished): the run was CANCELLED from the Cypress cloud.
    pub run_canceled: Vec<String>,
    /// The run FAILED before it started.
    pub failed_to_start: Vec<String>,
    /// A line that is exactly one of these (after a leading timestamp): TERMINATED.
    pub terminated_lines: Vec<String>,
    /// A line containing one of these: TERMINATED.
    pub terminated_contains: Vec<String>,
    /// `<string> a,b,c`: the planned groups of a categorized run.
    pub groups: Vec<String>,
    /// `<string> name`: a grouped sub-run starts.
    pub group_start: Vec<String>,
    /// `<string> name STATUS`: the open sub-run ends.
    pub group_end: Vec<String>,
    /// `<string> STATUS`: the whole request ends.
    pub run_end: Vec<String>,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            run_starting: strings(&["(Run Starting)"]),
            run_finished: strings(&["(Run Finished)"]),
            progress: strings(&["Running:"]),
            all_passed: strings(&["All specs passed!"]),
            some_failed: strings(&["{n} of {m} failed"]),
            run_canceled: strings(&["The run was canceled"]),
            failed_to_start: strings(&[
                "Can't run because no spec files were found",
                "Cypress failed to verify that your server is running",
            ]),
            terminated_lines: strings(&["Terminated", "Killed"]),
            terminated_contains: strings(&["unexpectedly exited"]),
            groups: strings(&["ATVM_GROUPS:"]),
            group_start: strings(&["ATVM_GROUP_START:"]),
            group_end: strings(&["ATVM_GROUP_END:"]),
            run_end: strings(&["ATVM_RUN_END:"]),
        }
    }
}

/// One piece of a `some_failed` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Lit(Vec<u8>),
    /// `{n}`: failed spec count.
    N,
    /// `{m}`: total spec count.
    M,
}

pub fn parse_count_pattern(p: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        let next = [("{n}", Piece::N), ("{m}", Piece::M)]
            .into_iter()
            .filter_map(|(tok, piece)| rest.find(tok).map(|i| (i, piece)))
            .min_by_key(|(i, _)| *i);
        match next {
            Some((i, piece)) => {
                if i > 0 {
                    out.push(Piece::Lit(rest.as_bytes()[..i].to_vec()));
                }
                out.push(piece);
                rest = &rest[i + 3..];
            }
            None => {
                out.push(Piece::Lit(rest.as_bytes().to_vec()));
                rest = "";
            }
        }
    }
    out
}

/// The part of a rule string that the fast scan looks for in the raw bytes: its longest
/// run of ASCII letters, digits, `_`, `:` and inner spaces. Cypress puts colour codes
/// around words and brackets (`(ESC[4mESC[1mRun FinishedESC[22m...`), never inside such a
/// run; `Running:` is coloured as one piece. Keeping the colon lets the scan skip the many
/// lines that merely say a VM is "Running".
pub fn anchor(rule: &str) -> &str {
    let b = rule.as_bytes();
    let plain = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b' ' | b':');
    let (mut best, mut i) = ((0, 0), 0);
    while i < b.len() {
        if plain(b[i]) {
            let start = i;
            while i < b.len() && plain(b[i]) {
                i += 1;
            }
            let run = rule[start..i].trim();
            if run.len() > best.1 - best.0 {
                let off = start + rule[start..i].find(run).unwrap_or(0);
                best = (off, off + run.len());
            }
        } else {
            i += 1;
        }
    }
    if best.1 - best.0 >= 3 {
        &rule[best.0..best.1]
    } else {
        rule
    }
}

impl Rules {
    pub fn from_json(text: &str, origin: &str) -> Result<Rules> {
        let rules: Rules = serde_json::from_str(text)
            .map_err(|e| Error::usage(format!("rules file {origin}: {e}")))?;
        rules.validate(origin)?;
        Ok(rules)
    }

    pub fn load(path: Option<&Path>) -> Result<Rules> {
        match path {
            None => Ok(Rules::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Error::usage(format!("rules file {}: {e}", p.display())))?;
                Rules::from_json(&text, &p.display().to_string())
            }
        }
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let lists = [
            ("run_starting", &self.run_starting),
            ("run_finished", &self.run_finished),
            ("progress", &self.progress),
            ("all_passed", &self.all_passed),
            ("some_failed", &self.some_failed),
            ("run_canceled", &self.run_canceled),
            ("failed_to_start", &self.failed_to_start),
            ("terminated_lines", &self.terminated_lines),
            ("terminated_contains", &self.terminated_contains),
            ("groups", &self.groups),
            ("group_start", &self.group_start),
            ("group_end", &self.group_end),
            ("run_end", &self.run_end),
        ];
        for (name, list) in lists {
            if let Some(bad) = list
                .iter()
                .find(|s| s.trim().is_empty() || s.contains(['\n', '\x1b']))
            {
                return Err(Error::usage(format!(
                    "rules file {origin}: {name}: {bad:?} must be non-empty, one line, without escape codes"
                )));
            }
        }
        for p in &self.some_failed {
            let pieces = parse_count_pattern(p);
            if !pieces.contains(&Piece::N) || !pieces.iter().any(|x| matches!(x, Piece::Lit(_))) {
                return Err(Error::usage(format!(
                    "rules file {origin}: some_failed: {p:?} needs {{n}} (and text), e.g. \"{{n}} of {{m}} failed\""
                )));
            }
        }
        Ok(())
    }

    /// Strings whose presence makes a line worth a full look (outside a summary table).
    pub fn anchors(&self) -> Vec<String> {
        let mut v: Vec<String> = [
            &self.run_starting,
            &self.run_finished,
            &self.progress,
            &self.failed_to_start,
            &self.terminated_lines,
            &self.terminated_contains,
            &self.groups,
            &self.group_start,
            &self.group_end,
            &self.run_end,
        ]
        .into_iter()
        .flatten()
        .map(|s| anchor(s).to_string())
        .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_skip_brackets_and_punctuation() {
        let cases = [
            ("(Run Starting)", "Run Starting"),
            ("(Run Finished)", "Run Finished"),
            ("Running:", "Running:"),
            ("ATVM_GROUP_START:", "ATVM_GROUP_START:"),
            (
                "Can't run because no spec files were found",
                "t run because no spec files were found",
            ),
            ("Killed", "Killed"),
            ("✖", "✖"),
        ];
        for (rule, want) in cases {
            assert_eq!(anchor(rule), want, "{rule}");
        }
    }

    #[test]
    fn count_patterns() {
        assert_eq!(
            parse_count_pattern("{n} of {m} failed"),
            vec![
                Piece::N,
                Piece::Lit(b" of ".to_vec()),
                Piece::M,
                Piece::Lit(b" failed".to_vec())
            ]
        );
        assert_eq!(
            parse_count_pattern("failed: {n}"),
            vec![Piece::Lit(b"failed: ".to_vec()), Piece::N]
        );
    }

    #[test]
    fn example_file_equals_defaults() {
        let text = include_str!("../dist/rules.example.json");
        assert_eq!(Rules::from_json(text, "example").unwrap(), Rules::default());
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let r = Rules::from_json(
            r#"{"terminated_lines": ["Terminated", "Killed", "Aborted"]}"#,
            "t",
        )
        .unwrap();
        assert_eq!(r.terminated_lines.len(), 3);
        assert_eq!(r.run_starting, Rules::default().run_starting);
    }

    #[test]
    fn bad_files_are_usage_errors() {
        for bad in [
            r#"{"run_startin": ["x"]}"#,
            r#"{"run_starting": [""]}"#,
            r#"{"some_failed": ["failed"]}"#,
            r#"{"run_starting": "x"}"#,
            "not json",
        ] {
            let e = Rules::from_json(bad, "f.json").unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().starts_with("rules file f.json"), "{e}");
        }
    }
}
