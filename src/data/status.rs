//! Run statuses and the words they are written as (state.json, logs, posts, `status`):
//! each word once, in `statuses!`. `Shown` adds the two words `status` uses for a build
//! whose state cannot be shown (yet).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! statuses {
    ($( $(#[$meta:meta])* $name:ident = $word:literal, terminal: $terminal:literal; )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum Status {
            $( $(#[$meta])* $name, )*
        }

        impl Status {
            /// Every status, in lifecycle order.
            pub(crate) const ALL: &'static [Status] = &[$(Status::$name),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Status::$name => $word,)* }
            }

            pub fn is_terminal(self) -> bool {
                match self { $(Status::$name => $terminal,)* }
            }
        }
    };
}

statuses! {
    /// No log yet.
    #[default]
    Waiting = "WAITING", terminal: false;
    /// The log exists (ATVM's set-up lines before `(Run Starting)` count as activity).
    Running = "RUNNING", terminal: false;
    Completed = "COMPLETED", terminal: true;
    Failed = "FAILED", terminal: true;
    Cancelled = "CANCELLED", terminal: true;
    Terminated = "TERMINATED", terminal: true;
    Hung = "HUNG", terminal: true;
    Unknown = "UNKNOWN", terminal: true;
}

/// Other words ATVM's markers use for a terminal status.
const SYNONYMS: [(&str, Status); 2] = [
    ("PASSED", Status::Completed),
    ("CANCELED", Status::Cancelled),
];

impl Status {
    /// COMPLETED and FAILED are posted; every other ending is only recorded.
    pub fn is_posted(self) -> bool {
        matches!(self, Status::Completed | Status::Failed)
    }

    /// A terminal status as written in `ATVM_GROUP_END` / `ATVM_RUN_END` lines
    /// (case-insensitive; `CANCELED` and `PASSED` are accepted as their usual synonyms).
    pub(crate) fn parse_terminal(word: &str) -> Option<Status> {
        let w = word.trim().to_ascii_uppercase();
        let named = Status::ALL.iter().copied().find(|s| s.as_str() == w);
        named
            .or_else(|| SYNONYMS.iter().find(|(s, _)| *s == w).map(|(_, st)| *st))
            .filter(|s| s.is_terminal())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = String::deserialize(d)?;
        Status::ALL
            .iter()
            .copied()
            .find(|s| s.as_str() == w)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown status {w:?}")))
    }
}

/// What `status` shows in its STATUS column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    Status(Status),
    /// The build directory is being set up (no files yet, or held by its watcher).
    Starting,
    /// The build directory cannot be read.
    Damaged,
}

impl Shown {
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Status(s) => s.as_str(),
            Shown::Starting => "STARTING",
            Shown::Damaged => "DAMAGED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        for (s, terminal, posted) in [
            (Status::Waiting, false, false),
            (Status::Running, false, false),
            (Status::Completed, true, true),
            (Status::Failed, true, true),
            (Status::Cancelled, true, false),
            (Status::Terminated, true, false),
            (Status::Hung, true, false),
            (Status::Unknown, true, false),
        ] {
            assert_eq!(s.is_terminal(), terminal, "{s}");
            assert_eq!(s.is_posted(), posted, "{s}");
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), s);
        }
        assert!(serde_json::from_str::<Status>("\"failed\"").is_err());
        assert_eq!(Status::parse_terminal("failed"), Some(Status::Failed));
        assert_eq!(Status::parse_terminal(" Passed "), Some(Status::Completed));
        assert_eq!(Status::parse_terminal("CANCELED"), Some(Status::Cancelled));
        assert_eq!(Status::parse_terminal("RUNNING"), None);
        assert_eq!(Status::parse_terminal("great"), None);
    }
}
