//! The run logs' directory, looked at when a build's own log is not there yet: the logs
//! whose names resemble the build's (`data::names::resembles`), so that a typo in a build
//! name is visible at once rather than after the start timeout. Bounded: at most
//! `LOG_DIR_SCAN` entries are looked at, never followed into, never opened.

use crate::data::caps::{LOG_DIR_SCAN, SHOWN_SIMILAR_LOGS};
use crate::data::names::resembles;
use std::path::Path;
use std::time::SystemTime;

/// The names of the `*.log` files in `dir` that resemble `build`'s, newest first.
pub(crate) fn similar_logs(dir: &Path, build: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(SystemTime, String)> = entries
        .take(LOG_DIR_SCAN)
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".log")?;
            if !resembles(build, stem) {
                return None;
            }
            let meta = e.metadata().ok()?;
            meta.is_file()
                .then(|| (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), name))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.truncate(SHOWN_SIMILAR_LOGS);
    found.into_iter().map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn only_resembling_logs_newest_first_at_most_three() {
        let dir = std::env::temp_dir().join(format!("atvm-log-dir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("nightly-44.log")).unwrap(); // a directory: no
        for (i, name) in [
            "nightly-41.log",
            "nightly-43.log",
            "Nightly_42.log",
            "nightly-45.txt",
            "other.log",
            "nightly-40.log",
        ]
        .iter()
        .enumerate()
        {
            let p = dir.join(name);
            fs::write(&p, b"x").unwrap();
            let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000 + i as u64);
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        assert_eq!(
            similar_logs(&dir, "nightly-42"),
            ["nightly-40.log", "Nightly_42.log", "nightly-43.log"]
        );
        assert!(similar_logs(&dir.join("absent"), "nightly-42").is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
