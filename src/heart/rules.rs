//! The recognised log strings: built-in defaults for Cypress 12.17.4 and the ATVM
//! markers, optionally overridden by a JSON rules file (`--rules` / `ATVM_WATCHER_RULES`,
//! read by `watch`) so that a changed log format needs no rebuild.
//!
//! Every category is listed once, in `categories!` below: its JSON key, where it is looked
//! for and its defaults (Cypress's own fatal errors: `cypress_errors.rs`). Validation, the
//! prefilter's anchors and the matcher's compiled searches are all derived from that list. `dist/rules.example.json` holds the defaults;
//! a test keeps it equal to them (`UPDATE_FIXTURES=1` rewrites it).

use super::cypress_errors::{FATAL_ERRORS, RUN_GOES_ON};
use crate::data::error::{Error, Result};
use std::collections::BTreeMap;

/// Where a category's strings are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// In any line: the fast scan's anchors come from these strings, so a line holding one
    /// is always looked at.
    Line,
    /// Only in the footer row of a summary table (after `(Run Finished)`), where every
    /// line is looked at anyway.
    Footer,
    /// Only in the lines read back since the last marker, when the run's end becomes
    /// certain or the log comes to rest (`matcher/fatal.rs`): they cost the streaming scan
    /// nothing, however many there are.
    Tail,
}

macro_rules! categories {
    ($( $(#[doc = $doc:literal])* $name:ident = $key:literal, $scope:ident, $defaults:expr; )*) => {
        /// A category of recognised strings.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Category { $( $(#[doc = $doc])* $name, )* }

        impl Category {
            /// Every category, in declaration order: `ALL[c.index()] == c`.
            pub const ALL: &'static [Category] = &[$(Category::$name),*];

            /// Its position in `ALL`.
            pub fn index(self) -> usize {
                self as usize
            }

            /// Its key in a rules file.
            pub fn key(self) -> &'static str {
                match self { $(Category::$name => $key,)* }
            }

            pub fn scope(self) -> Scope {
                match self { $(Category::$name => Scope::$scope,)* }
            }

            fn defaults(self) -> &'static [&'static str] {
                match self { $(Category::$name => $defaults,)* }
            }
        }
    };
}

categories! {
    /// A Cypress run starts.
    RunStarting = "run_starting", Line, &["(Run Starting)"];
    /// The summary table of a Cypress run follows.
    RunFinished = "run_finished", Line, &["(Run Finished)"];
    /// Progress line: `<string> <spec> ... (i of n)`.
    Progress = "progress", Line, &["Running:"];
    /// Summary footer: the run COMPLETED.
    AllPassed = "all_passed", Footer, &["All specs passed!"];
    /// Summary footer: the run FAILED; `{n}` and `{m}` stand for numbers.
    SomeFailed = "some_failed", Footer, &["{n} of {m} failed"];
    /// Summary footer: the run was CANCELLED from the Cypress cloud.
    RunCanceled = "run_canceled", Footer, &["The run was canceled"];
    /// The run FAILED before it started.
    FailedToStart = "failed_to_start", Line, &[
        "Can't run because no spec files were found",
        "Cypress failed to verify that your server is running",
    ];
    /// A line that is exactly one of these (after a leading timestamp): TERMINATED.
    TerminatedLines = "terminated_lines", Line, &["Terminated", "Killed"];
    /// A line containing one of these: TERMINATED.
    TerminatedContains = "terminated_contains", Line, &["unexpectedly exited"];
    /// `<string> a,b,c`: the planned groups of a categorized run.
    Groups = "groups", Line, &["ATVM_GROUPS:"];
    /// `<string> name`: a grouped sub-run starts.
    GroupStart = "group_start", Line, &["ATVM_GROUP_START:"];
    /// `<string> name STATUS`: the open sub-run ends.
    GroupEnd = "group_end", Line, &["ATVM_GROUP_END:"];
    /// `<string> STATUS`: the whole request ends.
    RunEnd = "run_end", Line, &["ATVM_RUN_END:"];
    /// A line that begins with one of these (at column 0): one of Cypress's own errors
    /// after which `cypress run` exits; the run ends FAILED once its end is certain.
    FatalErrors = "fatal_errors", Tail, FATAL_ERRORS;
    /// After a fatal error's first line, a line holding one of these: the run went on.
    RunGoesOn = "run_goes_on", Tail, RUN_GOES_ON;
}

/// The strings of every category, in `Category::ALL` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rules {
    lists: Vec<Vec<String>>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            lists: Category::ALL
                .iter()
                .map(|c| c.defaults().iter().map(|s| s.to_string()).collect())
                .collect(),
        }
    }
}

/// One piece of a `some_failed` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Lit(Vec<u8>),
    /// `{n}`: failed spec count.
    N,
    /// `{m}`: total spec count.
    M,
}

pub(crate) fn parse_count_pattern(p: &str) -> Vec<Piece> {
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
/// lines that merely say a VM is "Running". Always a substring of `rule`, so a line holding
/// the rule string holds its anchor.
pub(crate) fn anchor(rule: &str) -> &str {
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
    /// A rules file's text: any subset of the categories, the others keep their defaults.
    pub fn from_json(text: &str, origin: &str) -> Result<Rules> {
        let given: BTreeMap<String, Vec<String>> = serde_json::from_str(text)
            .map_err(|e| Error::usage(format!("rules file {origin}: {e}")))?;
        let mut rules = Rules::default();
        for (key, list) in given {
            let Some(i) = Category::ALL.iter().position(|c| c.key() == key) else {
                let known: Vec<&str> = Category::ALL.iter().map(|c| c.key()).collect();
                return Err(Error::usage(format!(
                    "rules file {origin}: unknown category {key:?} (known: {})",
                    known.join(", ")
                )));
            };
            rules.lists[i] = list;
        }
        rules.validate(origin)?;
        Ok(rules)
    }

    pub fn get(&self, c: Category) -> &[String] {
        &self.lists[c.index()]
    }

    fn validate(&self, origin: &str) -> Result<()> {
        for &c in Category::ALL {
            if let Some(bad) = self
                .get(c)
                .iter()
                .find(|s| s.trim().is_empty() || s.contains(['\n', '\r', '\x1b']))
            {
                return Err(Error::usage(format!(
                    "rules file {origin}: {}: {bad:?} must be non-empty, one line, without escape codes",
                    c.key()
                )));
            }
        }
        if let Some(bad) = self
            .get(Category::FatalErrors)
            .iter()
            .find(|s| s.starts_with(char::is_whitespace))
        {
            return Err(Error::usage(format!(
                "rules file {origin}: {}: {bad:?} must not start with a blank (it begins a line)",
                Category::FatalErrors.key()
            )));
        }
        for p in self.get(Category::SomeFailed) {
            let pieces = parse_count_pattern(p);
            if !pieces.contains(&Piece::N) || !pieces.iter().any(|x| matches!(x, Piece::Lit(_))) {
                return Err(Error::usage(format!(
                    "rules file {origin}: some_failed: {p:?} needs {{n}} (and text), e.g. \"{{n}} of {{m}} failed\""
                )));
            }
        }
        Ok(())
    }

    /// Every distinct string of the categories looked for in any line, sorted.
    pub fn line_strings(&self) -> Vec<String> {
        let mut v: Vec<String> = Category::ALL
            .iter()
            .filter(|c| c.scope() == Scope::Line)
            .flat_map(|&c| self.get(c).iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Strings whose presence makes a line worth a full look (outside a summary table).
    pub fn anchors(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .line_strings()
            .iter()
            .map(|s| anchor(s).to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The rules file form, categories in their listed order.
    #[cfg(test)]
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n");
        for (n, &c) in Category::ALL.iter().enumerate() {
            let list = serde_json::to_string(self.get(c)).expect("strings encode");
            let sep = if n + 1 < Category::ALL.len() { "," } else { "" };
            out.push_str(&format!("  \"{}\": {list}{sep}\n", c.key()));
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_indexed_by_their_position() {
        for (i, c) in Category::ALL.iter().enumerate() {
            assert_eq!(c.index(), i, "{c:?}");
        }
    }

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

    /// A line holding a rule string holds its anchor, so the fast scan never drops it.
    #[test]
    fn every_anchor_is_inside_its_rule_string() {
        let odd = [
            "a",
            "::",
            "(x)",
            "ab cd",
            "  x  y  ",
            "é-ü",
            "{n} of {m}",
            "✖ x",
        ];
        let strings = Rules::default()
            .line_strings()
            .into_iter()
            .chain(odd.iter().map(|s| s.to_string()));
        for s in strings {
            assert!(s.contains(anchor(&s)), "{s:?} → {:?}", anchor(&s));
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
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/dist/rules.example.json");
        if std::env::var_os("UPDATE_FIXTURES").is_some() {
            std::fs::write(path, Rules::default().to_json()).unwrap();
        }
        let text = std::fs::read_to_string(path).unwrap();
        // Every key, with its defaults (README says it lists them all: a key left out
        // would keep its defaults silently, so the file would still read as the defaults).
        assert_eq!(
            text,
            Rules::default().to_json(),
            "dist/rules.example.json is not every key with its defaults: UPDATE_FIXTURES=1 cargo test --lib rules"
        );
        assert_eq!(
            Rules::from_json(&text, "example").unwrap(),
            Rules::default()
        );
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let r = Rules::from_json(
            r#"{"terminated_lines": ["Terminated", "Killed", "Aborted"]}"#,
            "t",
        )
        .unwrap();
        assert_eq!(r.get(Category::TerminatedLines).len(), 3);
        assert_eq!(
            r.get(Category::RunStarting),
            Rules::default().get(Category::RunStarting)
        );
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
