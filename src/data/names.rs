//! Names and their rules, each written once: the build name (a type whose constructor is
//! the only check), the sub-run key, the file names of a build directory, the systemd
//! unit of a build.

use super::caps::{BUILD_NAME_CAP, SHOWN_BAD_VALUE, SLUG_CAP};
use super::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A build's name: `^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`. Such a name is a plain file
/// name (no `/`, cannot be `.` or `..`) and a systemd instance name that needs no
/// escaping. Read from a file, it is checked too (another build's state is untrusted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BuildName(String);

impl BuildName {
    pub fn new(name: &str) -> Result<BuildName> {
        if Self::is_valid(name) {
            return Ok(BuildName(name.to_string()));
        }
        let shown: String = name.chars().take(SHOWN_BAD_VALUE).collect();
        Err(Error::usage(format!(
            "invalid build name {shown:?}: use 1-{BUILD_NAME_CAP} characters from A-Z a-z 0-9 . _ -, starting with a letter or digit"
        )))
    }

    fn is_valid(name: &str) -> bool {
        let first = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        let rest = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        first && rest && name.len() <= BUILD_NAME_CAP
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BuildName {
    type Error = Error;
    fn try_from(s: String) -> Result<BuildName> {
        BuildName::new(&s)
    }
}

/// Tests name builds with string literals; an invalid one is a bug in the test.
#[cfg(test)]
impl From<&str> for BuildName {
    fn from(s: &str) -> BuildName {
        BuildName::new(s).expect("a valid build name in a test")
    }
}

impl From<BuildName> for String {
    fn from(b: BuildName) -> String {
        b.0
    }
}

impl std::ops::Deref for BuildName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BuildName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A sub-run's key, also its directory's name under `subruns/`: the index (two digits,
/// three past 99) and a slug of the (untrusted) group name, e.g. `02-windows`. The slug is
/// lower case `[a-z0-9._-]`, other characters become `-`, at most `SLUG_CAP` characters.
/// Read from a file, it is checked (it names a directory).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct SubrunKey(String);

impl SubrunKey {
    pub fn new(index: u32, name: &str) -> SubrunKey {
        let mut slug: String = name
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .map(|c| if slug_char(c) { c } else { '-' })
            .take(SLUG_CAP)
            .collect();
        if slug.is_empty() {
            slug.push('-');
        }
        SubrunKey(format!("{index:02}-{slug}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn slug_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

impl TryFrom<String> for SubrunKey {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<SubrunKey, String> {
        let valid = s.split_once('-').is_some_and(|(index, slug)| {
            index.len() >= 2
                && index.bytes().all(|b| b.is_ascii_digit())
                && (1..=SLUG_CAP).contains(&slug.chars().count())
                && slug.chars().all(slug_char)
        });
        if valid {
            Ok(SubrunKey(s))
        } else {
            Err(format!("not a sub-run key: {s:?}"))
        }
    }
}

/// Tests write keys as string literals; an invalid one is a bug in the test.
#[cfg(test)]
impl From<&str> for SubrunKey {
    fn from(s: &str) -> SubrunKey {
        SubrunKey::try_from(s.to_string()).expect("a valid sub-run key in a test")
    }
}

impl From<SubrunKey> for String {
    fn from(k: SubrunKey) -> String {
        k.0
    }
}

impl fmt::Display for SubrunKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The files of a build directory (`<state-root>/<build>/`, README.md "State layout").
/// This build's identity, as `--version`, the user agent and the webhook check say it: the
/// crate's version and the commit it was built from (`make build` sets
/// `ATVM_BUILD_VERSION`: `1.1.0+b8111cb`, `-dirty` for uncommitted changes), so that two
/// builds never share a name; the crate's version alone for a bare `cargo build`.
pub(crate) const VERSION: &str = match option_env!("ATVM_BUILD_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

/// Whether a log named `other` (its stem, without `.log`) might be the one meant for build
/// `build`: the same but for case and punctuation, or at most two characters apart. Used
/// to name likely logs when a build's own is not there (a typo in a build name).
pub(crate) fn resembles(build: &str, other: &str) -> bool {
    if build == other {
        return false;
    }
    let folded = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    folded(build) == folded(other) || within_two_edits(build.as_bytes(), other.as_bytes())
}

/// Levenshtein distance ≤ 2, on names of at most `BUILD_NAME_CAP` bytes (longer: no).
fn within_two_edits(a: &[u8], b: &[u8]) -> bool {
    if a.len().abs_diff(b.len()) > 2 || a.len().max(b.len()) > BUILD_NAME_CAP {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &x) in a.iter().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, &y) in b.iter().enumerate() {
            let swap = prev[j] + usize::from(x != y);
            row[j + 1] = swap.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[b.len()] <= 2
}

pub(crate) const REQUEST: &str = "request.json";
pub(crate) const STATE: &str = "state.json";
pub(crate) const CANCELLED: &str = "cancelled.marker";
pub(crate) const POSTED: &str = "posted.marker";
pub(crate) const SUBRUNS: &str = "subruns";
pub(crate) const WATCHER_LOCK: &str = "watcher.lock";
pub(crate) const STATE_LOCK: &str = "state.lock";

/// What `prune` renames a build directory to before it deletes it,
/// `.pruning-<build>-<pid>`: a dot name is no build name, so no reader (status, the
/// history, resume) sees a build half deleted.
pub(crate) fn pruning_name(build: &BuildName, pid: u32) -> String {
    format!("{PRUNING}{build}-{pid}")
}

/// The build and pid of a name `pruning_name` made.
pub(crate) fn parse_pruning_name(name: &str) -> Option<(BuildName, u32)> {
    let (build, pid) = name.strip_prefix(PRUNING)?.rsplit_once('-')?;
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    let pid = pid.parse().ok().filter(|_| digits)?;
    Some((BuildName::new(build).ok()?, pid))
}

const PRUNING: &str = ".pruning-";

/// The systemd unit that watches `build`.
pub(crate) fn unit_name(build: &BuildName) -> String {
    format!("atvm-run-watcher@{build}.service")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_names() {
        let good = [
            "a",
            "Z9",
            "nightly-42",
            "build-2026.11.22_nightly",
            &"x".repeat(200),
        ];
        for name in good {
            assert_eq!(BuildName::new(name).unwrap().as_str(), name);
        }
        let long = "x".repeat(201);
        let bad = [
            "", ".", "..", "../etc", "a/b", "-lead", ".hidden", "_x", "sp ace", "tab\t", "ü",
            "a\0b", &long, "a@b", "x%2e",
        ];
        for name in bad {
            let e = BuildName::new(name).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{name}");
            assert!(e.to_string().starts_with("invalid build name"), "{e}");
        }
        assert!(serde_json::from_str::<BuildName>("\"../x\"").is_err());
        assert_eq!(
            serde_json::to_string(&BuildName::new("b1").unwrap()).unwrap(),
            "\"b1\""
        );
    }

    #[test]
    fn pruning_names() {
        let b = BuildName::new("nightly-2026-01").unwrap();
        let name = pruning_name(&b, 4242);
        assert_eq!(name, ".pruning-nightly-2026-01-4242");
        assert!(BuildName::new(&name).is_err(), "a reader must skip it");
        assert_eq!(parse_pruning_name(&name), Some((b, 4242)));
        for bad in [
            ".pruning-",
            ".pruning-x",
            ".pruning-x-",
            ".pruning-x-+1",
            ".pruning--1",
            ".pruning-.x-1",
            ".pruned-x-1",
            "x-1",
            ".pruning-x-99999999999",
        ] {
            assert_eq!(parse_pruning_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn subrun_keys() {
        let cases = [
            (1, "linux", "01-linux"),
            (2, "Windows Server 2022", "02-windows-server-2022"),
            (3, "../../etc/passwd", "03-..-..-etc-passwd"),
            (4, "ünïcode", "04--n-code"),
            (5, "", "05--"),
            (12, &"x".repeat(80), &format!("12-{}", "x".repeat(48))),
            (100, "a", "100-a"),
        ];
        for (i, name, key) in cases {
            let k = SubrunKey::new(i, name);
            assert_eq!(k.as_str(), key);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<SubrunKey>(&json).unwrap(), k);
        }
        for bad in ["", "1-a", "01-", "01-A", "01-a/b", "xx-a", "01"] {
            assert!(
                serde_json::from_str::<SubrunKey>(&format!("{bad:?}")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn names_that_resemble_a_build() {
        #[rustfmt::skip]
        let cases = [
            ("nightly-42", "nightly-42", false),
            ("nightly-42", "Nightly_42", true),
            ("nightly-42", "nightly-43", true),
            ("nightly-42", "nighly-42", true),
            ("nightly-42", "nightly-4", true),
            ("nightly-20261203", "nightly-20261130", false),
            ("nightly-42", "weekly-42", false),
            ("typo", "tpyo", true),
            ("a", "xyz", false),
        ];
        for (build, other, want) in cases {
            assert_eq!(resembles(build, other), want, "{build} ~ {other}");
        }
        let long = "x".repeat(BUILD_NAME_CAP + 1);
        assert!(!resembles(&long, &format!("{long}y")), "past the cap: no");
    }
}
