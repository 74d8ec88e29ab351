//! The earlier builds a post is compared with (contract §9, §10): a read-only, bounded,
//! best-effort look at the other builds' state.json under the state root. It never
//! writes, moves or locks anything (another watcher owns each build), never fails
//! (whatever cannot be read is skipped) and stops when its time is spent (the post must
//! not wait for it).
//!
//! A watcher looks once when it starts (`refresh`), long before its run ends, and keeps
//! what each build says (`BuildHistory`, small) with the identity of the file it read;
//! before each post it looks again, and reads again only the builds whose state.json
//! changed (a stat each): a year of nightlies costs the post a directory listing, not two
//! hundred JSON files. Nothing kept is trusted over the file: a changed or unread build
//! is read again or left out.
//!
//! `census`: every entry of the state root as `prune` sees it, read the same way.

use super::build_dir::{build_dir_name, read_small};
use crate::data::build_state::SCHEMA;
use crate::data::caps::{MAX_BUILDS, MAX_STATE_BYTES};
use crate::data::names::{BuildName, STATE};
use crate::data::run::{Failure, Flaky, RunRecord, SpecRow};
use crate::data::status::Status;
use crate::data::time::Timestamp;
use crate::heart::history::BuildHistory;
use serde::Deserialize;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

pub(crate) mod census;

/// What tells one version of a state.json from another: device and inode are no identity
/// alone (a file replaced while nobody looked can get the freed inode), so its size and
/// its modification and change times (nanoseconds) too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileId {
    fn of(m: &fs::Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// One build as last read: `None` when it is no history (damaged, foreign, unfinished, a
/// dry run), so that it is not read again until it changes.
#[derive(Debug)]
struct Entry {
    name: BuildName,
    id: FileId,
    history: Option<BuildHistory>,
}

/// The earlier builds as a watcher knows them.
#[derive(Debug, Default)]
pub(crate) struct EarlierBuilds {
    entries: Vec<Entry>,
}

impl EarlierBuilds {
    /// Looks again: the `MAX_BUILDS` most recently updated builds under `root` (state.json's
    /// modification time; `this_build` excluded), each read only if it changed since the
    /// last look. Stops once `budget` is spent: what is not read then is left out.
    pub fn refresh(&mut self, root: &Path, this_build: Option<&BuildName>, budget: Duration) {
        self.refresh_at_most(root, this_build, budget, MAX_BUILDS);
    }

    fn refresh_at_most(
        &mut self,
        root: &Path,
        this_build: Option<&BuildName>,
        budget: Duration,
        cap: usize,
    ) {
        // No deadline only when `budget` is too large to add to now.
        let deadline = Instant::now().checked_add(budget);
        let spent = || deadline.is_some_and(|d| Instant::now() >= d);
        let mut kept = std::mem::take(&mut self.entries);
        for (name, id) in most_recent(root, this_build, cap, &spent) {
            let known = kept.iter().position(|e| e.name == name && e.id == id);
            if let Some(i) = known {
                self.entries.push(kept.swap_remove(i));
                continue;
            }
            if spent() {
                break;
            }
            let history = load(&root.join(name.as_str()), &name);
            self.entries.push(Entry { name, id, history });
        }
    }

    /// What each build read says of its specs.
    pub fn histories(&self) -> Vec<&BuildHistory> {
        self.entries
            .iter()
            .filter_map(|e| e.history.as_ref())
            .collect()
    }
}

/// The `cap` build directories whose state.json changed last, newest first (equal times by
/// name, so that the choice does not depend on the directory's order), with the identity
/// of that file. Nothing when the time runs out while listing: a partial listing would not
/// hold the most recent builds, and an older build taken for the latest would mislead.
fn most_recent(
    root: &Path,
    this_build: Option<&BuildName>,
    cap: usize,
    spent: &dyn Fn() -> bool,
) -> Vec<(BuildName, FileId)> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<(SystemTime, BuildName, FileId)> = Vec::new();
    for entry in entries {
        if spent() {
            return Vec::new();
        }
        let Ok(entry) = entry else { continue };
        let Some(name) = build_dir_name(&entry) else {
            continue;
        };
        if Some(&name) == this_build {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(entry.path().join(STATE)) else {
            continue;
        };
        if let (true, Ok(mtime)) = (meta.is_file(), meta.modified()) {
            found.push((mtime, name, FileId::of(&meta)));
        }
        // Memory stays O(cap) however many builds the root holds.
        if found.len() >= cap.saturating_mul(2).max(64) {
            keep_newest(&mut found, cap);
        }
    }
    keep_newest(&mut found, cap);
    found.into_iter().map(|(_, name, id)| (name, id)).collect()
}

fn keep_newest(found: &mut Vec<(SystemTime, BuildName, FileId)>, cap: usize) {
    found.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.truncate(cap);
}

/// What the comparison reads of a state.json: no more (the rest is skipped unparsed; no
/// `flatten`, which would buffer the whole object). `specs` absent: a state written
/// before the digest existed.
#[derive(Deserialize)]
struct StateView {
    schema: u32,
    build_name: String,
    categorize: bool,
    #[serde(default)]
    dry_run: bool,
    status: Status,
    finished_at: Option<Timestamp>,
    specs: Option<Vec<SpecRow>>,
    #[serde(default)]
    failures: Vec<Failure>,
    #[serde(default)]
    flaky: Vec<Flaky>,
    #[serde(default)]
    subruns: Vec<SubrunView>,
}

#[derive(Deserialize)]
struct SubrunView {
    key: String,
    status: Status,
    finished_at: Option<Timestamp>,
    #[serde(default)]
    specs: Vec<SpecRow>,
    #[serde(default)]
    failures: Vec<Failure>,
    #[serde(default)]
    flaky: Vec<Flaky>,
}

/// A run as the history reads it.
fn record(
    status: Status,
    finished_at: Option<Timestamp>,
    specs: Vec<SpecRow>,
    failures: Vec<Failure>,
    flaky: Vec<Flaky>,
) -> RunRecord {
    RunRecord {
        status,
        finished_at,
        specs,
        failures,
        flaky,
        ..RunRecord::default()
    }
}

/// `dir`'s build as history, if it is one: a regular state.json of at most
/// `MAX_STATE_BYTES` of our schema, naming `name`, finished, no dry run. Opened without
/// following a symlink and without blocking (a FIFO planted there must not hang the post),
/// read through a limit (it may grow meanwhile).
fn load(dir: &Path, name: &BuildName) -> Option<BuildHistory> {
    let bytes = read_small(&dir.join(STATE), MAX_STATE_BYTES).ok()?;
    history_of(&bytes, name)
}

/// The history a state.json's `bytes` hold for build `name`, if they are one (`load`).
fn history_of(bytes: &[u8], name: &BuildName) -> Option<BuildHistory> {
    let st: StateView = serde_json::from_slice(bytes).ok()?;
    if st.schema != SCHEMA || st.build_name != name.as_str() || st.dry_run {
        return None;
    }
    if !st.status.is_terminal() {
        return None;
    }
    let finished = st.finished_at?;
    let build = name.as_str();
    let Some(specs) = st.specs else {
        return Some(BuildHistory::unknown(build, finished));
    };
    if !st.categorize {
        let run = record(st.status, st.finished_at, specs, st.failures, st.flaky);
        return Some(BuildHistory::new(build, finished, [(None, &run)]));
    }
    // A categorized build counts by its finished sub-runs (the request's own record mixes
    // its groups and is no run).
    let groups: Vec<(String, RunRecord)> = st
        .subruns
        .into_iter()
        .filter(|s| s.status.is_terminal() && s.finished_at.is_some())
        .map(|s| {
            let run = record(s.status, s.finished_at, s.specs, s.failures, s.flaky);
            (s.key, run)
        })
        .collect();
    let runs = groups.iter().map(|(k, r)| (Some(k.as_str()), r));
    Some(BuildHistory::new(build, finished, runs))
}

#[cfg(test)]
mod tests;
