//! Taking a build away from the state root (`prune`): under its watcher lock, so that no
//! watcher starts on it meanwhile, the directory is renamed at once to a hidden name
//! (`.pruning-<build>-<pid>`, which no reader takes for a build), then deleted; what an
//! interrupted prune left under such a name is finished off by the next one. Nothing is
//! followed through a symbolic link: a link is removed as a link, never its target.

use super::BuildDir;
use crate::data::error::{Error, Result};
use crate::data::names::{BuildName, WATCHER_LOCK, pruning_name};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

impl BuildDir {
    /// The watcher lock if nobody holds it, at once (`lock_instance` waits a second for a
    /// watcher that is about to let go; prune does not). `None`: a watcher holds it.
    pub fn try_hold(&self) -> Result<Option<File>> {
        let f = self.open_lock(WATCHER_LOCK)?;
        match f.try_lock() {
            Ok(()) => Ok(Some(f)),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => {
                Err(Error::io("locking", &self.path(WATCHER_LOCK), e))
            }
        }
    }

    /// Renames the build directory to its hidden name in the state root, where this
    /// process (`pid`) deletes it next: from then on no reader sees the build, and none
    /// saw it half deleted. Returns the hidden path.
    pub fn take_away(&self, build: &BuildName, pid: u32) -> io::Result<PathBuf> {
        let hidden = self.state_root().join(pruning_name(build, pid));
        fs::rename(&self.dir, &hidden)?;
        Ok(hidden)
    }
}

/// The disk space `dir` takes, as `du` counts it (the blocks of every file and directory
/// under it, itself included); links are not followed (`dir` itself neither). What
/// cannot be read counts nothing.
pub(crate) fn tree_bytes(dir: &Path) -> u64 {
    let used = |m: &fs::Metadata| m.blocks().saturating_mul(512);
    let Ok(top) = fs::symlink_metadata(dir) else {
        return 0;
    };
    let mut bytes = used(&top);
    let mut todo = if top.is_dir() {
        vec![dir.to_path_buf()]
    } else {
        Vec::new()
    };
    while let Some(d) = todo.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            // `DirEntry::metadata` does not follow links.
            let Ok(m) = e.metadata() else { continue };
            bytes = bytes.saturating_add(used(&m));
            if m.is_dir() {
                todo.push(e.path());
            }
        }
    }
    bytes
}

/// Deletes a tree taken away (`take_away`) or left by an interrupted prune. The standard
/// library's `remove_dir_all` never follows a link: one inside is unlinked, and `dir`
/// itself, were it a link, would be removed as one.
pub(crate) fn delete_tree(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
