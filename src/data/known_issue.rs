//! What the known-issues file names (contract §10): failures the team already tracks, each
//! with an id, an optional link and the substrings that find it. Read and checked at the
//! settings edge (`settings::known_issues`); matched in `heart::triage`.

use super::time::Timestamp;

/// One entry of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownIssue {
    /// `ATVM-1234`: 1 to `KNOWN_ID_CAP` characters of `[A-Za-z0-9._:#/-]`.
    pub id: String,
    /// An http or https link to the issue.
    pub url: Option<String>,
    /// Substrings (any case) of the failure's spec, title and error; at least one.
    pub spec: Option<String>,
    pub title: Option<String>,
    pub error: Option<String>,
    /// The entry matches nothing from this instant on (the day after its `until`, UTC).
    pub expires: Option<Timestamp>,
}

/// The characters an id may hold besides letters and digits.
pub(crate) const ID_PUNCTUATION: &str = "._:#/-";
