//! Time as the program writes and reads it: instants as RFC 3339 UTC with milliseconds
//! (`Timestamp`), durations as an operator types them (`90`, `15m`, `1h 30m`).

use super::caps::MAX_DURATION_SECS;
use super::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A wall-clock instant, stored as RFC 3339 UTC with milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Timestamp(pub SystemTime);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(SystemTime::now())
    }

    /// Times outside 1970..=9999 (a file dated 1969, say) are written as the nearest
    /// bound: RFC 3339 cannot say them, and humantime would panic.
    pub fn rfc3339(&self) -> String {
        const LAST: Duration = Duration::from_secs(253_402_300_799);
        let t = self.0.clamp(UNIX_EPOCH, UNIX_EPOCH + LAST);
        humantime::format_rfc3339_millis(t).to_string()
    }

    pub fn parse(text: &str) -> Option<Timestamp> {
        humantime::parse_rfc3339_weak(text).ok().map(Timestamp)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}")))
    }
}

/// A duration as Cypress's summary table shows it (`00:42`, `41:07`, `1:02:03`, and
/// `754ms` under a second), in whole seconds; `None` for anything else.
pub(crate) fn clock_secs(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        let ok = !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit());
        return ms.parse::<u64>().ok().filter(|_| ok).map(|ms| ms / 1000);
    }
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    parts.iter().try_fold(0u64, |acc, p| {
        let ok = !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit());
        let n: u64 = p.parse().ok().filter(|_| ok)?;
        acc.checked_mul(60)?.checked_add(n)
    })
}

/// `mm:ss`, or `h:mm:ss` from an hour on: as Cypress writes a spec's duration.
pub(crate) fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// Parses `90` (seconds), `90s`, `15m`, `2h`, `1h 30m`; at most a year. `what` names
/// where the text came from (a flag, a variable, a file's field).
pub(crate) fn parse_duration(what: &str, text: &str) -> Result<Duration> {
    let t = text.trim();
    let d = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<u64>().map(Duration::from_secs).ok()
    } else {
        Some(humantime::parse_duration(t).map_err(|_| {
            Error::usage(format!(
                "{what}: invalid duration {t:?} (use e.g. 90, 90s, 15m or 2h)"
            ))
        })?)
    };
    match d {
        Some(d) if d <= Duration::from_secs(MAX_DURATION_SECS) => Ok(d),
        _ => Err(Error::usage(format!("{what}: {t:?} is longer than a year"))),
    }
}

/// `59s`, `3h 2m`, `91d 3h`: an age, two units at most (`status` and `prune`).
pub(crate) fn short_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// `30m`, `2h`, `1h 30m`: a duration as the operator would type it (whole seconds).
pub(crate) fn format_duration(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_rfc3339_are_clamped_not_panicking() {
        let before = Timestamp(UNIX_EPOCH - Duration::from_secs(86400 * 200));
        assert_eq!(before.rfc3339(), "1970-01-01T00:00:00.000Z");
        let far = Timestamp(UNIX_EPOCH + Duration::from_secs(400_000_000_000));
        assert_eq!(far.rfc3339(), "9999-12-31T23:59:59.000Z");
    }

    #[test]
    fn durations_as_cypress_writes_them() {
        #[rustfmt::skip]
        let cases = [
            ("00:42", Some(42)), ("41:07", Some(2467)), ("1:02:03", Some(3723)),
            // Under a second, Cypress writes milliseconds (a spec of one fast test).
            ("754ms", Some(0)), ("1500ms", Some(1)),
            ("", None), ("42", None), ("1:2:3:4", None), ("aa:bb", None), ("ms", None),
            ("-5ms", None), ("99999999999999999999ms", None), ("1:-2", None),
        ];
        for (text, want) in cases {
            assert_eq!(clock_secs(text), want, "{text:?}");
        }
    }

    #[test]
    fn short_ages() {
        for (secs, want) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3599, "59m"),
            (3600, "1h 0m"),
            (3 * 3600 + 120, "3h 2m"),
            (90000, "1d 1h"),
            (91 * 86400 + 3 * 3600 + 59, "91d 3h"),
        ] {
            assert_eq!(short_age(Duration::from_secs(secs)), want);
        }
    }

    /// humantime's units beyond hours are durations too (`prune --older-than 90d`).
    #[test]
    fn durations_in_days_and_weeks() {
        let days = |n: u64| Duration::from_secs(n * 86_400);
        for (text, want) in [
            ("90", Duration::from_secs(90)),
            ("2h", Duration::from_secs(7200)),
            ("90d", days(90)),
            ("90days", days(90)),
            ("90 days", days(90)),
            ("2160h", days(90)),
            ("13w", days(91)),
            ("366d", days(366)),
        ] {
            assert_eq!(parse_duration("--x", text).unwrap(), want, "{text}");
        }
        for bad in ["367d", "90x", "", "-1d"] {
            assert_eq!(
                parse_duration("--x", bad).unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let t = Timestamp(SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_000_000_123));
        let s = t.rfc3339();
        assert!(s.ends_with('Z') && s.contains('T'), "{s}");
        assert_eq!(Timestamp::parse(&s), Some(t));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
