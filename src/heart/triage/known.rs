//! Which known issue a failure is (contract §10): the first entry of the file whose every
//! given field is a substring, in any case, of the failure's; an entry past its `until` day
//! matches nothing.

use crate::data::known_issue::KnownIssue;
use crate::data::run::Failure;
use std::time::SystemTime;

/// The first entry of `issues` that `f` matches at `now`.
pub(crate) fn matching<'a>(
    issues: &'a [KnownIssue],
    f: &Failure,
    now: SystemTime,
) -> Option<&'a KnownIssue> {
    let spec = f.spec.to_lowercase();
    let title = f.title.as_deref().map(str::to_lowercase);
    let error = f.error.as_deref().map(str::to_lowercase);
    let has = |whole: Option<&str>, part: &Option<String>| match part {
        None => true,
        Some(p) => whole.is_some_and(|w| w.contains(&p.to_lowercase())),
    };
    issues.iter().find(|k| {
        k.expires.is_none_or(|e| now < e.0)
            && has(Some(&spec), &k.spec)
            && has(title.as_deref(), &k.title)
            && has(error.as_deref(), &k.error)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::time::Timestamp;
    use std::time::{Duration, UNIX_EPOCH};

    fn issue(id: &str, spec: Option<&str>, title: Option<&str>, error: Option<&str>) -> KnownIssue {
        KnownIssue {
            id: id.into(),
            url: None,
            spec: spec.map(String::from),
            title: title.map(String::from),
            error: error.map(String::from),
            expires: None,
        }
    }

    #[test]
    fn first_match_wins_every_field_must_match_any_case() {
        let f = Failure::new(
            "atvm/migrate/windows.cy.js".into(),
            Some("Migration › warm › cutover completes".into()),
            Some("AssertionError: Timed out retrying after 60000ms".into()),
        );
        let spec_level = Failure::new("atvm/inventory.cy.js".into(), None, None);
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        #[rustfmt::skip]
        let cases: Vec<(&str, Vec<KnownIssue>, Option<&str>)> = vec![
            ("nothing known", vec![], None),
            ("a spec substring", vec![issue("A-1", Some("WINDOWS"), None, None)], Some("A-1")),
            ("title and error, any case",
             vec![issue("A-2", None, Some("cutover"), Some("timed OUT"))], Some("A-2")),
            ("one field does not match", vec![issue("A-3", Some("windows"), Some("rollback"), None)], None),
            ("the first of two matches",
             vec![issue("A-4", None, None, Some("60000ms")), issue("A-5", Some("windows"), None, None)],
             Some("A-4")),
            ("a later entry when the first does not match",
             vec![issue("A-6", Some("linux"), None, None), issue("A-7", None, Some("warm"), None)],
             Some("A-7")),
        ];
        for (name, issues, want) in cases {
            let got = matching(&issues, &f, now).map(|k| k.id.as_str());
            assert_eq!(got, want, "{name}");
        }
        let titled = [issue("B-1", None, Some("x"), None)];
        assert_eq!(
            matching(&titled, &spec_level, now),
            None,
            "no title to match"
        );
        let by_spec = [issue("B-2", Some("inventory"), None, None)];
        assert_eq!(
            matching(&by_spec, &spec_level, now).map(|k| k.id.as_str()),
            Some("B-2")
        );
    }

    #[test]
    fn an_entry_past_its_day_matches_nothing() {
        let f = Failure::new("a.cy.js".into(), Some("t".into()), None);
        let expires = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut k = issue("C-1", Some("a.cy.js"), None, None);
        k.expires = Some(Timestamp(expires));
        let just_before = expires - Duration::from_millis(1);
        assert!(matching(std::slice::from_ref(&k), &f, just_before).is_some());
        assert!(matching(std::slice::from_ref(&k), &f, expires).is_none());
    }
}
