//! The known-issues file (contract §10, `ATVM_WATCHER_KNOWN_ISSUES`): read and checked at
//! start-up by `watch`, `start` and `check-webhook`. No file, no known issues. A file that
//! is not a JSON list, or an entry other than the contract's, is exit 2 with one line
//! naming the file, the entry's position (1 is the first) and the field.
//!
//! ```json
//! [{"id": "ATVM-1234", "url": "https://jira.example/browse/ATVM-1234",
//!   "spec": "windows", "title": "cutover", "error": "Timed out", "until": "2027-01-31"}]
//! ```

use super::env::Env;
use super::vars;
use crate::data::caps::{
    KNOWN_ID_CAP, KNOWN_ISSUES_BYTES, KNOWN_ISSUES_MAX, KNOWN_URL_CAP, TEXT_CAP,
};
use crate::data::error::{Error, Result};
use crate::data::known_issue::{ID_PUNCTUATION, KnownIssue};
use crate::data::time::Timestamp;
use crate::edges::build_dir::read_small;
use serde_json::{Map, Value};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file a watch reads: `ATVM_WATCHER_KNOWN_ISSUES`, else the default.
pub(crate) fn path(env: &Env) -> PathBuf {
    let var = vars::KNOWN_ISSUES;
    let p = var.get(env).or(var.default).unwrap_or_default();
    env.absolute(PathBuf::from(p))
}

/// The entries of the file at `path` (none when there is no file).
pub(crate) fn read(path: &Path) -> Result<Vec<KnownIssue>> {
    let file = path.display();
    let bytes = match read_small(path, KNOWN_ISSUES_BYTES) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::usage(format!("known-issues file {file}: {e}"))),
    };
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::usage(format!("known-issues file {file}: not JSON: {e}")))?;
    let Value::Array(list) = value else {
        return Err(Error::usage(format!(
            "known-issues file {file}: not a JSON list of entries"
        )));
    };
    if list.len() > KNOWN_ISSUES_MAX {
        return Err(Error::usage(format!(
            "known-issues file {file}: {} entries (at most {KNOWN_ISSUES_MAX})",
            list.len()
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            entry(v).map_err(|why| {
                Error::usage(format!("known-issues file {file}: entry {}: {why}", i + 1))
            })
        })
        .collect()
}

const FIELDS: [&str; 6] = ["id", "url", "spec", "title", "error", "until"];

/// One entry, or what is wrong with it (`field: problem`).
fn entry(v: &Value) -> std::result::Result<KnownIssue, String> {
    let Value::Object(o) = v else {
        return Err("not an object".into());
    };
    if let Some(other) = o.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "{}: no such field (fields: {})",
            shown(other),
            FIELDS.join(", ")
        ));
    }
    let id = string(o, "id")?.ok_or("id: missing")?;
    let id_chars = |c: char| c.is_ascii_alphanumeric() || ID_PUNCTUATION.contains(c);
    if id.is_empty() || id.chars().count() > KNOWN_ID_CAP || !id.chars().all(id_chars) {
        return Err(format!(
            "id: {} is not 1-{KNOWN_ID_CAP} characters of letters, digits and {ID_PUNCTUATION}",
            shown(&id)
        ));
    }
    let url = string(o, "url")?;
    if let Some(u) = &url {
        check_url(u)?;
    }
    let [spec, title, error] = ["spec", "title", "error"].map(|f| string(o, f));
    let (spec, title, error) = (spec?, title?, error?);
    for (f, s) in [("spec", &spec), ("title", &title), ("error", &error)] {
        if s.as_ref()
            .is_some_and(|s| s.trim().is_empty() || s.chars().count() > TEXT_CAP)
        {
            return Err(format!("{f}: empty or longer than {TEXT_CAP} characters"));
        }
    }
    if spec.is_none() && title.is_none() && error.is_none() {
        return Err("needs at least one of spec, title, error".into());
    }
    let expires = match string(o, "until")? {
        Some(d) => Some(
            day_after(&d)
                .ok_or_else(|| format!("until: {} is not a date (YYYY-MM-DD)", shown(&d)))?,
        ),
        None => None,
    };
    Ok(KnownIssue {
        id,
        url,
        spec,
        title,
        error,
        expires,
    })
}

/// Field `f` of `o`: absent, or a string.
fn string(o: &Map<String, Value>, f: &str) -> std::result::Result<Option<String>, String> {
    match o.get(f) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{f}: not a string")),
    }
}

/// An http or https URL a Markdown link can carry as it is: no blank, control character,
/// quote, bracket, parenthesis, `|` or backtick.
fn check_url(u: &str) -> std::result::Result<(), String> {
    let scheme = u.starts_with("https://") || u.starts_with("http://");
    let plain = |c: char| c.is_ascii_graphic() && !"\"'<>()[]`|\\".contains(c);
    if !scheme || u.len() > KNOWN_URL_CAP || !u.chars().all(plain) {
        return Err(format!(
            "url: {} is not an http(s) URL of at most {KNOWN_URL_CAP} plain characters",
            shown(u)
        ));
    }
    Ok(())
}

/// The first instant after day `d` (`YYYY-MM-DD`, UTC).
fn day_after(d: &str) -> Option<Timestamp> {
    let shape = d.len() == 10 && d.as_bytes()[4] == b'-' && d.as_bytes()[7] == b'-';
    let t = humantime::parse_rfc3339(&format!("{d}T00:00:00Z"))
        .ok()
        .filter(|_| shape)?;
    Some(Timestamp(t + Duration::from_secs(86_400)))
}

/// A value from the file as an error shows it: quoted, cut.
fn shown(s: &str) -> String {
    let cut: String = s.chars().take(crate::data::caps::SHOWN_BAD_VALUE).collect();
    format!("{cut:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_of(json: &str) -> std::result::Result<KnownIssue, String> {
        entry(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn good_entries() {
        let k = entry_of(
            r#"{"id": "ATVM-1234", "url": "https://jira.example/browse/ATVM-1234?x=1#c",
                "spec": "windows", "title": "cutover", "error": "Timed out", "until": "2027-01-31"}"#,
        )
        .unwrap();
        assert_eq!(k.id, "ATVM-1234");
        assert_eq!(k.expires, Timestamp::parse("2027-02-01T00:00:00Z"));
        let k = entry_of(r#"{"id": "gh:org/repo#12", "error": "ECONNREFUSED"}"#).unwrap();
        assert_eq!((k.url, k.spec, k.expires), (None, None, None));
    }

    #[test]
    fn each_bad_entry_names_its_field() {
        #[rustfmt::skip]
        let cases = [
            (r#"[1]"#, "not an object"),
            (r#"{"spec": "x"}"#, "id: missing"),
            (r#"{"id": "", "spec": "x"}"#, "id:"),
            (r#"{"id": "a b", "spec": "x"}"#, "id:"),
            (r#"{"id": 12, "spec": "x"}"#, "id: not a string"),
            (r#"{"id": "A-1"}"#, "needs at least one of spec, title, error"),
            (r#"{"id": "A-1", "spec": " "}"#, "spec: empty"),
            (r#"{"id": "A-1", "spec": "x", "url": "javascript:alert(1)"}"#, "url:"),
            (r#"{"id": "A-1", "spec": "x", "url": "https://x.example/a b"}"#, "url:"),
            (r#"{"id": "A-1", "spec": "x", "url": "https://x.example/(a)"}"#, "url:"),
            (r#"{"id": "A-1", "spec": "x", "until": "31.01.2027"}"#, "until:"),
            (r#"{"id": "A-1", "spec": "x", "until": "2027-02-30"}"#, "until:"),
            (r#"{"id": "A-1", "spec": "x", "owner": "qa"}"#, "\"owner\": no such field"),
        ];
        for (json, want) in cases {
            let v: Value = serde_json::from_str(json).unwrap();
            let v = if let Value::Array(mut a) = v {
                a.remove(0)
            } else {
                v
            };
            let got = entry(&v).expect_err(json);
            assert!(got.contains(want), "{json}: {got}");
        }
    }

    #[test]
    fn the_file_as_a_whole() {
        let dir = std::env::temp_dir().join(format!("atvm-known-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("known.json");
        assert!(read(&f).unwrap().is_empty(), "no file, no known issues");
        std::fs::write(&f, r#"[{"id": "A-1", "spec": "x"}, {"id": "A-2"}]"#).unwrap();
        let e = read(&f).unwrap_err().to_string();
        assert!(
            e.contains(&f.display().to_string()) && e.contains("entry 2"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1);
        std::fs::write(&f, r#"{"id": "A-1"}"#).unwrap();
        assert!(
            read(&f)
                .unwrap_err()
                .to_string()
                .contains("not a JSON list")
        );
        std::fs::write(&f, "[").unwrap();
        assert!(read(&f).unwrap_err().to_string().contains("not JSON"));
        std::fs::write(&f, r#"[{"id": "A-1", "title": "t"}]"#).unwrap();
        assert_eq!(read(&f).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
