//! The follower's inotify side: which directories and files are watched (the log's
//! directory or its nearest existing ancestor, the open file, the state directory), what
//! an event wakes, and the fall back to polling when inotify cannot do the job.

use super::{Follower, Wake};
use inotify::{EventMask, WatchMask};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

pub(super) fn io_kind_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EMFILE) => format!("{e} (fs.inotify.max_user_instances reached)"),
        Some(libc::ENOSPC) => format!("{e} (fs.inotify.max_user_watches reached)"),
        _ => e.to_string(),
    }
}

impl Follower {
    pub(super) fn nearest_existing(&self, p: &Path) -> Option<PathBuf> {
        p.ancestors().find(|a| a.is_dir()).map(Path::to_path_buf)
    }

    /// Gives up inotify for good and says so, once.
    pub(super) fn fall_back(&mut self, why: String) {
        self.watches = None;
        if self.polling.is_none() {
            log::warn!(
                "{}: following {} by polling every {:?}: {why}",
                self.label,
                self.path.display(),
                self.poll_interval
            );
            self.polling = Some(why);
        }
    }

    /// `tail -F` follows the name through symbolic links; inotify would watch the link's
    /// directory, not its target's, and miss a target deleted and re-created, appearing
    /// late, or a directory link re-pointed. So such a path is polled, and said so.
    pub(super) fn fall_back_if_symlinked(&mut self) {
        if self.watches.is_none() {
            return;
        }
        let link = self
            .path
            .ancestors()
            .find(|a| std::fs::symlink_metadata(a).is_ok_and(|m| m.file_type().is_symlink()));
        if let Some(link) = link {
            let why = format!("{} is a symbolic link", link.display());
            self.fall_back(why);
        }
    }

    pub fn fd(&self) -> Option<RawFd> {
        self.watches.as_ref().map(|w| w.ino.as_raw_fd())
    }

    pub(super) fn arm_state_dir(&mut self) {
        let Some(w) = self.watches.as_mut() else {
            return;
        };
        let mask = WatchMask::CREATE | WatchMask::MOVED_TO | WatchMask::MASK_ADD;
        match w.ino.watches().add(&self.state_dir, mask) {
            Ok(wd) => w.state = Some(wd),
            Err(e) => {
                let why = format!(
                    "cannot watch {}: {}",
                    self.state_dir.display(),
                    io_kind_text(&e)
                );
                self.fall_back(why);
            }
        }
    }

    /// Keeps the directory watch on the log directory, or on its nearest existing ancestor.
    /// A directory created between looking and watching raises no event, so after each
    /// new watch it looks again until the watched directory is the nearest one.
    pub(super) fn arm_dir(&mut self) {
        for _ in 0..32 {
            if !self.arm_dir_once() {
                return;
            }
        }
    }

    /// Moves the directory watch if needed; returns whether it moved.
    fn arm_dir_once(&mut self) -> bool {
        if !self.following {
            return false;
        }
        let Some(target) = self.nearest_existing(&self.dir) else {
            return false;
        };
        let Some(w) = self.watches.as_mut() else {
            return false;
        };
        if w.dir.as_ref().is_some_and(|(_, p)| *p == target) {
            return false;
        }
        if let Some((wd, _)) = w.dir.take()
            && Some(&wd) != w.state.as_ref()
        {
            let _ = w.ino.watches().remove(wd);
        }
        let mask = if target == self.dir {
            WatchMask::CREATE
                | WatchMask::MOVED_TO
                | WatchMask::MOVED_FROM
                | WatchMask::DELETE
                | WatchMask::DELETE_SELF
                | WatchMask::MOVE_SELF
                | WatchMask::MASK_ADD
        } else {
            WatchMask::CREATE
                | WatchMask::MOVED_TO
                | WatchMask::DELETE_SELF
                | WatchMask::MOVE_SELF
                | WatchMask::MASK_ADD
        };
        match w.ino.watches().add(&target, mask) {
            Ok(wd) => {
                w.dir = Some((wd, target));
                true
            }
            Err(e) => {
                let why = format!("cannot watch {}: {}", target.display(), io_kind_text(&e));
                self.fall_back(why);
                false
            }
        }
    }

    /// Watches the open file itself, through /proc/self/fd so that the watch is on
    /// exactly the inode we read (no race with a rename between open and watch).
    pub(super) fn arm_file(&mut self) {
        let (Some(w), Some(o)) = (self.watches.as_mut(), self.open.as_ref()) else {
            return;
        };
        if let Some(wd) = w.file.take() {
            let _ = w.ino.watches().remove(wd);
        }
        let proc_path = format!("/proc/self/fd/{}", o.file.as_raw_fd());
        let mask =
            WatchMask::MODIFY | WatchMask::ATTRIB | WatchMask::DELETE_SELF | WatchMask::MOVE_SELF;
        match w.ino.watches().add(&proc_path, mask) {
            Ok(wd) => w.file = Some(wd),
            Err(e) => {
                let why = format!("cannot watch {}: {}", self.path.display(), io_kind_text(&e));
                self.fall_back(why);
            }
        }
    }

    pub(super) fn disarm_file(&mut self) {
        if let Some(w) = self.watches.as_mut()
            && let Some(wd) = w.file.take()
        {
            let _ = w.ino.watches().remove(wd);
        }
    }

    /// Stops following the log (the run is over); the state directory stays watched.
    pub fn stop_following(&mut self) {
        self.following = false;
        self.disarm_file();
        self.open = None;
        if let Some(w) = self.watches.as_mut()
            && let Some((wd, _)) = w.dir.take()
            && Some(&wd) != w.state.as_ref()
        {
            let _ = w.ino.watches().remove(wd);
        }
    }

    /// Reads the pending inotify events (never blocks).
    pub fn wakes(&mut self) -> Wake {
        let mut wake = Wake::default();
        let Some(w) = self.watches.as_mut() else {
            return Wake::ALL;
        };
        loop {
            let events = match w.ino.read_events(&mut w.buf) {
                Ok(ev) => ev,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    return Wake::ALL;
                }
            };
            let mut any = false;
            for ev in events {
                any = true;
                if ev.mask.contains(EventMask::Q_OVERFLOW) {
                    wake = Wake::ALL;
                    continue;
                }
                let name_is = |n: &str| ev.name.is_some_and(|x| x == n);
                if w.state.as_ref() == Some(&ev.wd) && name_is(crate::data::names::CANCELLED) {
                    wake.cancel = true;
                }
                if w.file.as_ref() == Some(&ev.wd) {
                    wake.log = true;
                }
                if let Some((wd, p)) = &w.dir
                    && *wd == ev.wd
                {
                    let on_self = ev.mask.intersects(
                        EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED,
                    );
                    if *p != self.dir
                        || on_self
                        || ev.name.is_some_and(|n| n == self.name.as_os_str())
                    {
                        wake.log = true;
                    }
                }
            }
            if !any {
                break;
            }
        }
        wake
    }
}
