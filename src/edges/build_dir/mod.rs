//! The build's directory under the state root: request.json, state.json, the sub-run
//! files, the marker files and the two locks. Every file is replaced atomically (temp file
//! in the same directory, fsync, rename, fsync of the directory), so a crash or a full disk
//! never leaves a half-written file behind.
//!
//! Locks (`std::fs::File` locks, i.e. flock):
//! - `watcher.lock`, held for a watcher's lifetime: a second watcher gets exit 4.
//! - `state.lock`, held briefly around every state write and every delivery attempt, and
//!   by `cancel`: it orders a cancel against a post, so that either the post was decided
//!   and made before the cancel, or none follows it.
//!
//! `prune` takes a build away under its watcher lock (`removal`): renamed to a hidden
//! name, then deleted.

use crate::data::build_state::{BuildState, SCHEMA, Target};
use crate::data::caps::MAX_STATE_BYTES;
use crate::data::error::{Error, Result};
use crate::data::names::{
    BuildName, CANCELLED, POSTED, REQUEST, STATE, STATE_LOCK, SUBRUNS, WATCHER_LOCK,
};
use crate::data::request::Request;
use crate::data::status::Status;
use crate::data::time::Timestamp;
use crate::heart::status_view::Peeked;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

mod files;
mod removal;

use files::open_regular;
pub(crate) use files::{read_small, write_atomic};
pub(crate) use removal::{delete_tree, tree_bytes};

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::other(format!("encoding {}: {e}", path.display())))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes).map_err(|e| Error::io("writing", path, e))
}

/// What a marker file says (informational: its existence is what counts).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Marker {
    pub at: Timestamp,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub reason: Option<String>,
}

pub(crate) enum Loaded {
    Missing,
    Found(Box<BuildState>),
    /// state.json could not be read; it was moved aside to `moved_to`.
    Corrupt {
        moved_to: PathBuf,
        error: String,
    },
}

/// Checks that the state root is (or can be made) a writable directory, creating it if
/// needed. Done before anything else is created.
pub(crate) fn check_state_root(root: &Path) -> Result<()> {
    if !root.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(root)
            .map_err(|e| {
                Error::usage(format!(
                    "state root {} cannot be created: {e}",
                    root.display()
                ))
            })?;
    }
    if !root.is_dir() {
        return Err(Error::usage(format!(
            "state root {} is not a directory",
            root.display()
        )));
    }
    let probe = root.join(format!(".write-probe.{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(Error::usage(format!(
            "state root {} is not writable: {e}",
            root.display()
        ))),
    }
}

/// The state a command continues from.
pub(crate) struct Resumed {
    pub state: BuildState,
    /// It is not what state.json holds (rebuilt, or a posted marker recorded): save it.
    pub stale: bool,
    /// state.json was missing or unreadable: only the log can tell the rest.
    pub fresh: bool,
}

/// The build directories under `root` (names that are valid build names), unsorted.
pub(crate) fn build_names(root: &Path) -> io::Result<Vec<BuildName>> {
    match fs::read_dir(root) {
        Ok(rd) => Ok(rd.flatten().filter_map(|e| build_dir_name(&e)).collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The build name of a state root's entry: a directory (a symlink to one is not a build)
/// whose name is a valid build name.
pub(crate) fn build_dir_name(e: &fs::DirEntry) -> Option<BuildName> {
    // `file_type` does not follow symlinks.
    let name = BuildName::new(e.file_name().to_str()?).ok()?;
    e.file_type().is_ok_and(|t| t.is_dir()).then_some(name)
}

/// A lock file that cannot be opened: one that is not a regular file is exit 2, naming it
/// and what to do; any other failure is an I/O error.
fn lock_error(path: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::InvalidData {
        return Error::usage(format!(
            "{}: {e}; it is the build's lock, which only this program makes: remove it",
            path.display()
        ));
    }
    Error::io("opening", path, e)
}

pub(crate) struct BuildDir {
    pub dir: PathBuf,
    /// The JSON last written per sub-run key: only changed sub-run files are rewritten.
    written: HashMap<String, Vec<u8>>,
}

impl BuildDir {
    pub fn new(state_root: &Path, build_name: &BuildName) -> BuildDir {
        BuildDir {
            dir: state_root.join(build_name.as_str()),
            written: HashMap::new(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The state root the build directory is in (the other builds are there).
    pub fn state_root(&self) -> &Path {
        self.dir.parent().unwrap_or(Path::new("/"))
    }

    pub fn subrun_dir(&self, key: &crate::data::names::SubrunKey) -> PathBuf {
        self.dir.join(SUBRUNS).join(key.as_str())
    }

    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    pub fn create(&self) -> Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(&self.dir)
            .map_err(|e| Error::io("creating", &self.dir, e))
    }

    /// A lock file of the build, created if missing. Anything but a regular file there is
    /// exit 2 naming it (`lock_error`): nobody could hold such a lock.
    fn open_lock(&self, name: &str) -> Result<File> {
        let p = self.path(name);
        open_regular(
            &p,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o640),
        )
        .map_err(|e| lock_error(&p, e))
    }

    /// The single-instance lock, held until the returned file is dropped. `status` and
    /// `start` probe the same lock for an instant (`is_watched`), so a watcher that meets a
    /// held lock tries again for up to a second before it concludes that another watcher
    /// holds the build (exit 4, which systemd does not restart).
    pub fn lock_instance(&self) -> Result<File> {
        let f = self.open_lock(WATCHER_LOCK)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            match f.try_lock() {
                Ok(()) => return Ok(f),
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(Error::Busy(format!(
                        "another watcher already holds build {} ({})",
                        self.dir
                            .file_name()
                            .map(|n| n.to_string_lossy())
                            .unwrap_or_default(),
                        self.path(WATCHER_LOCK).display()
                    )));
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(Error::io("locking", &self.path(WATCHER_LOCK), e));
                }
            }
        }
    }

    /// Removes the temp files of atomic writes that processes killed before their rename
    /// left in the build directory and its sub-run directories (`files::remove_stale_temps`:
    /// only that naming, only of processes that are gone, never through a link). A watcher
    /// calls it once it holds the build, before it writes anything. Returns how many went.
    pub fn remove_stale_temps(&self) -> usize {
        let mut removed =
            files::remove_stale_temps(&self.dir, &[STATE, REQUEST, CANCELLED, POSTED]);
        let Ok(subruns) = fs::read_dir(self.path(SUBRUNS)) else {
            return removed;
        };
        for e in subruns.flatten() {
            // `file_type` does not follow links: a linked directory is not ours.
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                removed += files::remove_stale_temps(&e.path(), &[STATE, POSTED]);
            }
        }
        removed
    }

    /// Whether the build directory was made (or last changed) less than `YOUNG` ago: a
    /// watcher or `start` may be setting it up.
    pub fn is_young(&self) -> bool {
        const YOUNG: std::time::Duration = std::time::Duration::from_secs(10);
        fs::metadata(&self.dir)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < YOUNG))
    }

    /// Whether some watcher holds the build right now; a `watcher.lock` that is not a
    /// regular file (a FIFO, a link, a directory) is exit 2 naming it (nobody could hold
    /// it, and no watcher can start).
    pub fn watched(&self) -> Result<bool> {
        let p = self.path(WATCHER_LOCK);
        match open_regular(&p, OpenOptions::new().read(true)) {
            Ok(f) => Ok(matches!(f.try_lock(), Err(fs::TryLockError::WouldBlock))),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(lock_error(&p, e)),
            Err(_) => Ok(false),
        }
    }

    /// `watched`, where a lock nobody can hold is not watched (`status`).
    pub fn is_watched(&self) -> bool {
        self.watched().unwrap_or(false)
    }

    /// Takes the state lock (waits for it); it is released when the file is dropped.
    pub fn state_lock(&self) -> Result<File> {
        let lock = self.open_lock(STATE_LOCK)?;
        lock.lock()
            .map_err(|e| Error::io("locking", &self.path(STATE_LOCK), e))?;
        Ok(lock)
    }

    pub fn read_request(&self) -> Result<Option<Request>> {
        let p = self.path(REQUEST);
        match read_small(&p, MAX_STATE_BYTES) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::usage(format!(
                    "{} is not a valid request: {e} (fix or remove it)",
                    p.display()
                ))
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("reading", &p, e)),
        }
    }

    pub fn write_request(&self, r: &Request) -> Result<()> {
        write_json(&self.path(REQUEST), r)
    }

    pub fn load_state(&self) -> Result<Loaded> {
        let p = self.path(STATE);
        let parsed = match read_small(&p, MAX_STATE_BYTES) {
            Ok(b) => serde_json::from_slice::<BuildState>(&b).map_err(|e| e.to_string()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Loaded::Missing),
            // Not ours (a FIFO, a link, a huge file): unreadable, set aside like a corrupt one.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(e.to_string()),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(e.to_string()),
            Err(e) => return Err(Error::io("reading", &p, e)),
        };
        match parsed {
            Ok(st) if st.schema == SCHEMA => Ok(Loaded::Found(Box::new(st))),
            other => {
                let error = match other {
                    Ok(st) => format!("unknown schema {}", st.schema),
                    Err(e) => e.to_string(),
                };
                let moved_to = self.path(&format!(
                    "{STATE}.corrupt-{}",
                    Timestamp::now().rfc3339().replace(':', "")
                ));
                fs::rename(&p, &moved_to).map_err(|e| Error::io("moving aside", &p, e))?;
                Ok(Loaded::Corrupt { moved_to, error })
            }
        }
    }

    /// The build's state: state.json, or a fresh one for `request` when it is missing or
    /// unreadable (moved aside, and said so); posted markers applied either way.
    pub fn load_or_rebuild(&self, request: &Request) -> Result<Resumed> {
        let (mut state, fresh) = match self.load_state()? {
            Loaded::Found(st) => (*st, false),
            Loaded::Missing => (BuildState::for_request(request, Timestamp::now()), true),
            Loaded::Corrupt { moved_to, error } => {
                log::warn!(
                    "{}: state.json was unreadable ({error}); moved to {} and rebuilding from the log",
                    request.build_name,
                    moved_to.display()
                );
                (BuildState::for_request(request, Timestamp::now()), true)
            }
        };
        let marked = self.apply_posted_markers(&mut state);
        Ok(Resumed {
            state,
            stale: fresh || marked,
            fresh,
        })
    }

    /// Reads the build's state without changing anything (a corrupt state.json is
    /// reported, not moved aside: that is the watcher's job).
    pub fn peek(&self) -> Peeked {
        let p = self.path(STATE);
        match read_small(&p, MAX_STATE_BYTES) {
            Ok(bytes) => match serde_json::from_slice::<BuildState>(&bytes) {
                Ok(mut st) => {
                    self.apply_posted_markers(&mut st);
                    Peeked::State(Box::new(st))
                }
                Err(e) => Peeked::Damaged(format!("state.json: {e}")),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => match self.read_request() {
                Ok(Some(r)) => {
                    Peeked::Requested(Box::new(BuildState::for_request(&r, Timestamp::now())))
                }
                Ok(None) => Peeked::Empty,
                Err(e) => Peeked::Damaged(e.to_string()),
            },
            Err(e) => Peeked::Damaged(format!("state.json: {e}")),
        }
    }

    /// Moves state.json and the sub-run files out of the way (never deletes them), e.g.
    /// `state.json.dry-run-20261122T101500Z`; returns where state.json went.
    pub fn set_aside(&mut self, tag: &str) -> Result<PathBuf> {
        let stamp = Timestamp::now().rfc3339().replace([':', '-', '.'], "");
        let to = self.path(&format!("{STATE}.{tag}-{stamp}"));
        for (from, dest) in [
            (self.path(STATE), to.clone()),
            (
                self.path(SUBRUNS),
                self.path(&format!("{SUBRUNS}.{tag}-{stamp}")),
            ),
        ] {
            if from.exists() {
                fs::rename(&from, &dest).map_err(|e| Error::io("moving aside", &from, e))?;
            }
        }
        self.written.clear();
        Ok(to)
    }

    /// Writes state.json and every sub-run file whose content changed.
    pub fn save(&mut self, st: &BuildState) -> Result<()> {
        for s in &st.subruns {
            let mut bytes =
                serde_json::to_vec_pretty(s).map_err(|e| Error::other(e.to_string()))?;
            bytes.push(b'\n');
            if self.written.get(s.key.as_str()) == Some(&bytes) {
                continue;
            }
            let dir = self.subrun_dir(&s.key);
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(&dir)
                .map_err(|e| Error::io("creating", &dir, e))?;
            let p = dir.join(STATE);
            write_atomic(&p, &bytes).map_err(|e| Error::io("writing", &p, e))?;
            self.written.insert(s.key.to_string(), bytes);
        }
        write_json(&self.path(STATE), st)
    }

    pub fn posted_marker(&self, st: &BuildState, t: Target) -> PathBuf {
        match t {
            Target::Run => self.path(POSTED),
            Target::Subrun(i) => self.subrun_dir(&st.subruns[i].key).join(POSTED),
        }
    }

    pub fn write_posted(&self, st: &BuildState, t: Target) -> Result<()> {
        let status = st.run_of(t).status;
        let p = self.posted_marker(st, t);
        if let Some(d) = p.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(d)
                .map_err(|e| Error::io("creating", d, e))?;
        }
        write_json(
            &p,
            &Marker {
                at: Timestamp::now(),
                status: Some(status),
                reason: None,
            },
        )
    }

    /// The cancel marker, if there is one: its existence is what counts, whatever it holds.
    pub fn cancelled(&self) -> Option<Marker> {
        let present = || Marker {
            at: Timestamp::now(),
            status: None,
            reason: Some("cancelled.marker present".into()),
        };
        match read_small(&self.path(CANCELLED), MAX_STATE_BYTES) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).unwrap_or_else(|_| present())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(_) => Some(present()),
        }
    }

    pub fn write_cancelled(&self, reason: &str) -> Result<()> {
        write_json(
            &self.path(CANCELLED),
            &Marker {
                at: Timestamp::now(),
                status: None,
                reason: Some(reason.to_string()),
            },
        )
    }

    /// Makes `posted` true for every post whose marker exists (markers win over state.json,
    /// which may be older or rebuilt). Returns whether anything changed.
    pub fn apply_posted_markers(&self, st: &mut BuildState) -> bool {
        let mut changed = false;
        for t in st.post_targets() {
            if !st.post_of(t).posted && self.posted_marker(st, t).exists() {
                st.post_of_mut(t).delivered();
                changed = true;
            }
        }
        if changed {
            st.refresh_aggregate();
        }
        changed
    }
}

#[cfg(test)]
mod tests;
