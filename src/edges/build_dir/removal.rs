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

/// The bytes of the regular files under `dir` (itself not followed if it is a link; links
/// inside are not followed either). What cannot be read counts nothing.
pub(crate) fn tree_bytes(dir: &Path) -> u64 {
    let mut bytes = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(meta) = fs::symlink_metadata(&d) else {
            continue;
        };
        if meta.is_file() {
            bytes += meta.len();
        }
        if !meta.is_dir() {
            continue;
        }
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            // `file_type` does not follow links.
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(e.path()),
                Ok(t) if t.is_file() => bytes += e.metadata().map_or(0, |m| m.len()),
                _ => {}
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
