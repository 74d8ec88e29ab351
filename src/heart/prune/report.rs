//! What `prune` prints: a line per build removed (or that would be), per leftover of an
//! interrupted prune finished off, per entry kept because it is damaged or foreign, and
//! the total with why the others stay.

use super::Kept;
use crate::data::status::Status;
use crate::data::time::short_age;
use std::time::Duration;

/// A build taken away (or that would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Removed {
    pub build: String,
    pub status: Status,
    /// How long ago it finished (`finished`), or was last written.
    pub age: Duration,
    pub finished: bool,
    pub bytes: u64,
}

/// `removed nightly-41 (COMPLETED, finished 91d 3h ago, 14.2 KiB)`.
pub(crate) fn removed_line(r: &Removed, dry_run: bool) -> String {
    let verb = if dry_run { "would remove" } else { "removed" };
    let when = if r.finished { "finished" } else { "updated" };
    format!(
        "{verb} {} ({}, {when} {} ago, {})",
        r.build,
        r.status,
        short_age(r.age),
        size(r.bytes)
    )
}

/// `finished off .pruning-nightly-41-4242 (left by an interrupted prune, 14.2 KiB)`.
pub(crate) fn leftover_line(name: &str, bytes: u64, dry_run: bool) -> String {
    let verb = if dry_run {
        "would finish off"
    } else {
        "finished off"
    };
    format!(
        "{verb} {} (left by an interrupted prune, {})",
        shown(name),
        size(bytes)
    )
}

/// `kept broken: state.json: expected value at line 1 column 3`.
pub(crate) fn kept_line(name: &str, why: &str) -> String {
    format!("kept {}: {}", shown(name), shown(why))
}

/// A name from the state root as text for a terminal: control characters as `?`.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `812 B`, `14.2 KiB`, `24.1 MiB`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// What a prune did (or would do), for the total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub removed: usize,
    pub bytes: u64,
    pub leftovers: usize,
    pub live: usize,
    pub watched: usize,
    pub pending: usize,
    pub needed: usize,
    pub too_recent: usize,
    pub damaged: usize,
    /// Builds whose removal failed (said above as they failed).
    pub failed: usize,
}

impl Tally {
    pub fn kept(&mut self, why: &Kept) {
        let n = match why {
            Kept::Live => &mut self.live,
            Kept::Watched => &mut self.watched,
            Kept::Pending => &mut self.pending,
            Kept::TooRecent => &mut self.too_recent,
            Kept::Needed => &mut self.needed,
            Kept::Damaged(_) => &mut self.damaged,
        };
        *n += 1;
    }

    /// `removed 312 builds, 24.1 MiB; kept 53 (live 1, watched 0, pending 0, needed by the
    /// history 41, too recent 11, damaged or foreign 0)`.
    pub fn line(&self, dry_run: bool) -> String {
        let verb = if dry_run { "would remove" } else { "removed" };
        let builds = if self.removed == 1 { "build" } else { "builds" };
        let kept =
            self.live + self.watched + self.pending + self.needed + self.too_recent + self.damaged;
        let mut line = format!(
            "{verb} {} {builds}, {}; kept {kept} (live {}, watched {}, pending {}, needed by the history {}, too recent {}, damaged or foreign {})",
            self.removed,
            size(self.bytes),
            self.live,
            self.watched,
            self.pending,
            self.needed,
            self.too_recent,
            self.damaged
        );
        if self.leftovers > 0 {
            let verb = if dry_run {
                "would finish off"
            } else {
                "finished off"
            };
            line.push_str(&format!(
                "; {verb} {} left by an interrupted prune",
                self.leftovers
            ));
        }
        if self.failed > 0 {
            line.push_str(&format!("; {} could not be removed", self.failed));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (bytes, want) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (14_540, "14.2 KiB"),
            (25_270_000, "24.1 MiB"),
            (3 << 30, "3.0 GiB"),
            (u64::MAX, "16777216.0 TiB"),
        ] {
            assert_eq!(size(bytes), want, "{bytes}");
        }
    }

    #[test]
    fn lines() {
        let r = Removed {
            build: "nightly-41".into(),
            status: Status::Completed,
            age: Duration::from_secs(91 * 86_400 + 3 * 3600 + 59),
            finished: true,
            bytes: 14_540,
        };
        assert_eq!(
            removed_line(&r, false),
            "removed nightly-41 (COMPLETED, finished 91d 3h ago, 14.2 KiB)"
        );
        let r = Removed {
            finished: false,
            status: Status::Cancelled,
            ..r
        };
        assert_eq!(
            removed_line(&r, true),
            "would remove nightly-41 (CANCELLED, updated 91d 3h ago, 14.2 KiB)"
        );
        assert_eq!(
            kept_line("bad\u{1b}[2Jname\n", "not a build name"),
            "kept bad?[2Jname?: not a build name"
        );
        assert_eq!(
            leftover_line(".pruning-b-7", 10, true),
            "would finish off .pruning-b-7 (left by an interrupted prune, 10 B)"
        );
    }

    #[test]
    fn totals() {
        let mut t = Tally {
            removed: 312,
            bytes: 25_270_000,
            ..Tally::default()
        };
        for (why, n) in [
            (Kept::Live, 1),
            (Kept::Needed, 41),
            (Kept::TooRecent, 11),
            (Kept::Damaged("x".into()), 2),
        ] {
            (0..n).for_each(|_| t.kept(&why));
        }
        assert_eq!(
            t.line(false),
            "removed 312 builds, 24.1 MiB; kept 55 (live 1, watched 0, pending 0, needed by the history 41, too recent 11, damaged or foreign 2)"
        );
        t.removed = 1;
        t.leftovers = 2;
        t.failed = 1;
        assert!(
            t.line(true)
                .starts_with("would remove 1 build, 24.1 MiB; kept 55 ("),
            "{}",
            t.line(true)
        );
        assert!(t.line(true).ends_with(
            "; would finish off 2 left by an interrupted prune; 1 could not be removed"
        ));
    }
}
