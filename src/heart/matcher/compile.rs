//! The rules compiled for matching: per category its strings (each a SIMD substring
//! finder), the one-pass search of a candidate line for every line-scope string together
//! (`RuleSearch`), and the anchor search the scanner runs over raw bytes (`AnchorSearch`).

use crate::heart::rules::{Category, Piece, Rules, Scope, parse_count_pattern};
use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem::Finder;

/// What makes a line worth a look while nothing is open: the rules' anchors and the
/// spec output's (failure lists, reasons, retries). The scanner searches the raw bytes for these; the bench greps for the
/// same strings.
pub(crate) fn anchors(rules: &Rules) -> Vec<String> {
    let mut v = rules.anchors();
    v.extend(super::spec_output::ANCHORS.iter().map(|a| a.to_string()));
    v
}

/// One string of a rule: its finder, and its index among `Compiled::strings` when it is
/// found by the one-pass search (line-scope categories).
pub(super) struct Rule {
    pub finder: Finder<'static>,
    pub id: Option<usize>,
}

/// Finds, in one pass over a stripped candidate line, the first occurrence of every
/// line-scope rule string, so that the rules need no search of their own.
pub(super) enum RuleSearch {
    /// Leftmost-first, non-overlapping (Teddy): exact because no two rule strings can
    /// overlap, so no occurrence hides another.
    Packed(aho_corasick::packed::Searcher),
    /// For rule sets whose strings can overlap.
    Overlapping(AhoCorasick),
}

pub(super) struct Compiled {
    /// Per category, in `Category::ALL` order.
    rules: Vec<Vec<Rule>>,
    pub some_failed: Vec<Vec<Piece>>,
    /// A `terminated_lines` string holds U+FFFD, which the lossy text of invalid UTF-8 can
    /// produce without the bytes holding it.
    pub terminated_need_lossy: bool,
    /// Every distinct line-scope string (`Rules::line_strings`).
    pub strings: Vec<String>,
    pub search: RuleSearch,
}

/// Whether occurrences of two different strings can overlap in some text: one inside the
/// other, or an end of one that is a start of the other.
fn can_overlap(a: &[u8], b: &[u8]) -> bool {
    let touches =
        |x: &[u8], y: &[u8]| (1..x.len().min(y.len())).any(|k| x[x.len() - k..] == y[..k]);
    memchr::memmem::find(a, b).is_some()
        || memchr::memmem::find(b, a).is_some()
        || touches(a, b)
        || touches(b, a)
}

impl Compiled {
    pub fn new(r: &Rules) -> Compiled {
        let strings = r.line_strings();
        let rules = Category::ALL
            .iter()
            .map(|&c| {
                r.get(c)
                    .iter()
                    .map(|s| Rule {
                        finder: Finder::new(s.as_bytes()).into_owned(),
                        id: (c.scope() == Scope::Line)
                            .then(|| strings.binary_search(s).expect("listed")),
                    })
                    .collect()
            })
            .collect();
        let disjoint = strings.iter().enumerate().all(|(i, a)| {
            strings[i + 1..]
                .iter()
                .all(|b| !can_overlap(a.as_bytes(), b.as_bytes()))
        });
        let packed = disjoint
            .then(|| aho_corasick::packed::Searcher::new(strings.iter()))
            .flatten();
        let search = match packed {
            Some(p) => RuleSearch::Packed(p),
            None => RuleSearch::Overlapping(
                AhoCorasick::new(&strings).expect("rule strings are plain strings"),
            ),
        };
        Compiled {
            rules,
            some_failed: r
                .get(Category::SomeFailed)
                .iter()
                .map(|p| parse_count_pattern(p))
                .collect(),
            terminated_need_lossy: r
                .get(Category::TerminatedLines)
                .iter()
                .any(|t| t.contains('\u{fffd}')),
            strings,
            search,
        }
    }

    pub fn rules(&self, c: Category) -> &[Rule] {
        &self.rules[c.index()]
    }
}

/// The leftmost-first search for anchors in the raw bytes: the packed SIMD searcher
/// (Teddy) itself where it can be built, which spares the automaton that `AhoCorasick`
/// runs after it to confirm each hit; `AhoCorasick` (leftmost-first too) otherwise.
pub(super) enum AnchorSearch {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl AnchorSearch {
    pub fn new(anchors: &[String]) -> AnchorSearch {
        match aho_corasick::packed::Searcher::new(anchors.iter()) {
            Some(p) => AnchorSearch::Packed(p),
            None => AnchorSearch::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(anchors)
                    .expect("anchors are plain strings"),
            ),
        }
    }

    /// Start and end of the leftmost-first anchor in `hay`.
    pub fn find(&self, hay: &[u8]) -> Option<(usize, usize)> {
        match self {
            AnchorSearch::Packed(p) => p.find(hay).map(|m| (m.start(), m.end())),
            AnchorSearch::Automaton(a) => a.find(hay).map(|m| (m.start(), m.end())),
        }
    }

    pub fn is_match(&self, hay: &[u8]) -> bool {
        self.find(hay).is_some()
    }
}
