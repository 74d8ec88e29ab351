//! The watch loop's eyes, on one inotify instance (one fd for `poll`), with two jobs:
//!
//! 1. Follows the log file by name (the I/O side of `follow.rs`): inotify on the log's
//!    directory (or its nearest existing ancestor while the directory is missing) and on
//!    the open file itself; reads new bytes into a `Sink`.
//! 2. Watches the build's state directory for `cancelled.marker` (`Wake::cancel`), so a
//!    cancel is seen within a second without polling.
//!
//! Inotify events are only wake-ups; what to do is always decided from a fresh `stat`, so
//! a lost or overflowed event queue cannot mislead it.
//!
//! Without inotify (no instance left: `fs.inotify.max_user_instances`; no watch left;
//! a network file system where remote writes raise no events; a path through a symbolic
//! link) it falls back to polling with `stat` and says so once.
//!
//! This file opens and reads the log (and fingerprints it for restarts); `watches.rs` is
//! the inotify side.

mod watches;

use crate::data::build_state::LogPosition;
use crate::data::caps::{READ_CHUNK, READ_SLICE};
use crate::heart::follow_rules::{Action, FileId, Held, PathNow, decide};
use crate::heart::machine::Step;
use crate::heart::matcher::{Event, Lookback};
use crate::heart::pipeline::Pipeline;
use inotify::{Inotify, WatchDescriptor};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use watches::io_kind_text;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Where the followed bytes go. `log` is the file they come from, for reading back what
/// the scan skipped.
pub(crate) trait Sink {
    /// A file was opened; reading starts at `from`, and the last decision about the run was
    /// made at `boundary` (a saved position's, else `from`). `mtime` is its last
    /// modification.
    fn opened(&mut self, from: u64, boundary: u64, mtime: SystemTime);
    fn bytes(&mut self, chunk: &[u8], log: &File);
    /// The held file grew and was read to its end, or one slice of it (`READ_SLICE`);
    /// `mtime` is its last modification after the bytes were read (when it grew, not when
    /// it was read: a restart reads some bytes again).
    fn grew(&mut self, mtime: SystemTime, log: &File);
    /// The held file was truncated: it is read again from 0.
    fn truncated(&mut self);
    /// The held file was read to its end and is being closed (rotated away or deleted).
    fn closed(&mut self, log: &File);
}

/// The log read back by offset (`pread`), whatever the position of its reads.
impl Lookback for File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        use std::os::unix::fs::FileExt;
        let mut got = 0;
        while got < buf.len() {
            match FileExt::read_at(self, &mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        got
    }
}

struct Open {
    file: File,
    id: FileId,
    pos: u64,
}

struct Watches {
    ino: Inotify,
    /// The log directory, or its nearest existing ancestor while it is missing.
    dir: Option<(WatchDescriptor, PathBuf)>,
    file: Option<WatchDescriptor>,
    state: Option<WatchDescriptor>,
    buf: Vec<u8>,
}

/// Why the watch loop was woken.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wake {
    /// The log (or its directory) changed.
    pub log: bool,
    /// Something was created in the state directory (`cancelled.marker`?).
    pub cancel: bool,
}

impl Wake {
    /// Look at everything (start-up, polling, an overflowed event queue).
    pub const ALL: Wake = Wake {
        log: true,
        cancel: true,
    };
}

pub(crate) struct Follower {
    path: PathBuf,
    dir: PathBuf,
    name: OsString,
    state_dir: PathBuf,
    open: Option<Open>,
    resume: Option<LogPosition>,
    watches: Option<Watches>,
    /// Set when following by polling, with the reason (logged once).
    polling: Option<String>,
    /// Prefix of the log line that announces polling (`<build>: following <log>`).
    label: String,
    poll_interval: std::time::Duration,
    following: bool,
    buf: Vec<u8>,
}

impl Follower {
    /// `label` names the build in the one log line that announces a fallback to polling;
    /// `forced_poll` says why polling is asked for, if it is.
    pub fn new(
        label: &str,
        path: &Path,
        state_dir: &Path,
        resume: Option<LogPosition>,
        forced_poll: Option<String>,
        poll_interval: std::time::Duration,
    ) -> Follower {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut f = Follower {
            path: path.to_path_buf(),
            name: path.file_name().unwrap_or_default().to_os_string(),
            dir,
            state_dir: state_dir.to_path_buf(),
            open: None,
            resume,
            watches: None,
            polling: None,
            label: label.to_string(),
            poll_interval,
            following: true,
            buf: vec![0; READ_CHUNK],
        };
        if let Some(why) = forced_poll {
            f.fall_back(why);
        } else {
            match Inotify::init() {
                Ok(ino) => {
                    f.watches = Some(Watches {
                        ino,
                        dir: None,
                        file: None,
                        state: None,
                        buf: vec![0; 16 * 1024],
                    })
                }
                Err(e) => f.fall_back(format!("inotify is not available: {}", io_kind_text(&e))),
            }
        }
        f.fall_back_if_symlinked();
        if let Some(kind) = f
            .nearest_existing(&f.dir)
            .and_then(|p| super::sys::network_fs(&p))
        {
            f.fall_back(format!(
                "the log directory is on {kind}, where inotify misses writes made elsewhere"
            ));
        }
        f.arm_state_dir();
        f.arm_dir();
        f
    }

    fn stat_path(&self) -> PathNow {
        match std::fs::metadata(&self.path) {
            Ok(m) if m.is_file() => PathNow::File {
                id: FileId {
                    dev: m.dev(),
                    ino: m.ino(),
                },
                size: m.len(),
            },
            _ => PathNow::Missing,
        }
    }

    /// Does everything there is to do now: open, read, follow truncation and rotation,
    /// until there is nothing more to read (`true`), or until one slice (`READ_SLICE`) was
    /// read and more is there (`false`: the caller looks at its signals, then calls again).
    pub fn step(&mut self, sink: &mut dyn Sink) -> io::Result<bool> {
        if !self.following {
            return Ok(true);
        }
        self.fall_back_if_symlinked();
        self.arm_dir();
        for _ in 0..64 {
            let held = match &self.open {
                Some(o) => Some(Held {
                    id: o.id,
                    pos: o.pos,
                    size: o.file.metadata()?.len(),
                }),
                None => None,
            };
            match decide(held, self.stat_path(), self.resume) {
                Action::Wait => return Ok(true),
                Action::Open { from } => {
                    let mut file = match File::open(&self.path) {
                        Ok(f) => f,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e),
                    };
                    let m = file.metadata()?;
                    let id = FileId {
                        dev: m.dev(),
                        ino: m.ino(),
                    };
                    let from = match self.resume {
                        Some(r) if r.dev == id.dev && r.inode == id.ino => {
                            self.vetted_resume(&file, r, from)
                        }
                        _ => 0,
                    };
                    // A saved boundary holds for the very position it was saved with.
                    let boundary = self
                        .resume
                        .filter(|r| r.offset == from && from > 0)
                        .and_then(|r| r.boundary)
                        .unwrap_or(from);
                    file.seek(SeekFrom::Start(from))?;
                    self.resume = None;
                    self.open = Some(Open {
                        file,
                        id,
                        pos: from,
                    });
                    self.arm_file();
                    sink.opened(from, boundary, m.modified().unwrap_or(SystemTime::now()));
                }
                Action::Read => {
                    if !self.read_slice(sink)? {
                        return Ok(false);
                    }
                }
                Action::Truncated => {
                    if let Some(o) = self.open.as_mut() {
                        o.file.seek(SeekFrom::Start(0))?;
                        o.pos = 0;
                    }
                    sink.truncated();
                }
                Action::Rotated | Action::Gone => {
                    if !self.read_slice(sink)? {
                        return Ok(false);
                    }
                    if let Some(o) = self.open.take() {
                        sink.closed(&o.file);
                    }
                    self.disarm_file();
                }
            }
        }
        Ok(true)
    }

    /// `from`, the saved position of a file with the same device and inode, if the file
    /// is still the one it was taken from: its fingerprint matches (a file replaced while
    /// no watcher ran can get the freed inode number again). Else 0, and said so.
    fn vetted_resume(&self, file: &File, saved: LogPosition, from: u64) -> u64 {
        let Some(want) = saved.fingerprint else {
            // Saved by a version without fingerprints: the identity is all there is.
            return from;
        };
        if from == 0 {
            // Shorter than the position (truncated while nobody watched): from the start.
            return 0;
        }
        if fingerprint(file, from).is_ok_and(|f| f == want) {
            return from;
        }
        log::info!(
            "{}: {} is not the file the saved position was taken from (its bytes differ); reading it from the start",
            self.label,
            self.path.display()
        );
        0
    }

    /// The file being read, if one is held.
    pub fn log(&self) -> Option<&File> {
        self.open.as_ref().map(|o| &o.file)
    }

    /// Where a restart would resume: the held file's identity, `offset` and its
    /// fingerprint there, and the `boundary` to read back from; `None` when no file is held.
    pub fn position(&self, offset: u64, boundary: u64) -> Option<LogPosition> {
        let o = self.open.as_ref()?;
        Some(LogPosition {
            offset,
            dev: o.id.dev,
            inode: o.id.ino,
            fingerprint: fingerprint(&o.file, offset).ok(),
            boundary: Some(boundary.min(offset)),
        })
    }

    /// Reads the held file to its end (`true`), or `READ_SLICE` bytes of it when more is
    /// there (`false`).
    fn read_slice(&mut self, sink: &mut dyn Sink) -> io::Result<bool> {
        let Some(o) = self.open.as_mut() else {
            return Ok(true);
        };
        let mut read = 0u64;
        let at_end = loop {
            if read >= READ_SLICE {
                break false;
            }
            match o.file.read(&mut self.buf) {
                Ok(0) => break true,
                Ok(n) => {
                    o.pos += n as u64;
                    read += n as u64;
                    sink.bytes(&self.buf[..n], &o.file);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if read > 0 {
            sink.grew(o.file.metadata()?.modified()?, &o.file);
        }
        Ok(at_end)
    }
}

/// The whole of `log`, from its start, through `pipeline` (in `READ_CHUNK` reads), then
/// what it rests on: the state a watch reaches from the log alone (cancel's replay, the
/// bench's in-process scan). Returns the bytes read.
pub(crate) fn read_whole(
    log: &File,
    pipeline: &mut Pipeline,
    now: SystemTime,
    on: &mut dyn FnMut(&Event, Step),
) -> io::Result<u64> {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut total = 0u64;
    let mut reader = log;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        pipeline.feed(&buf[..n], log, now, on);
    }
    pipeline.finish(log, now, on);
    pipeline.at_rest(log);
    Ok(total)
}

/// Bytes hashed at each end of a fingerprint.
const FINGERPRINT_WINDOW: u64 = 4096;

/// A file's fingerprint at `offset`: FNV-1a (stable across versions, unlike std's hasher)
/// of its first and its last up to 4 KiB before `offset`. What log shippers do (Vector's
/// file source checksums a file's first bytes), plus the bytes right before the position,
/// which a new run's log would not share even if it starts with the same lines.
fn fingerprint(file: &File, offset: u64) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let head = offset.min(FINGERPRINT_WINDOW);
    let tail_start = offset.saturating_sub(FINGERPRINT_WINDOW);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (start, len) in [(0, head), (tail_start, offset - tail_start)] {
        let mut buf = vec![0; len as usize];
        file.read_exact_at(&mut buf, start)?;
        for b in buf {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(h)
}
