//! The follow rules, as one pure decision: given the file we hold open (if any) and what
//! the log's path names right now, what to do next. This is `tail -F`: the log is
//! followed by name through truncation, rotation, deletion and re-creation.
//!
//! The I/O side (`edges::follower`) stats, calls `decide`, acts, and repeats until `Wait`.

use crate::data::build_state::LogPosition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// What the log's path names right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathNow {
    Missing,
    File { id: FileId, size: u64 },
}

/// The file we hold open: its identity, our read position, its current size (fstat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Held {
    pub id: FileId,
    pub pos: u64,
    pub size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing to do until something changes.
    Wait,
    /// Open the path and read from `from` (a saved position of this very file, else 0).
    Open { from: u64 },
    /// The held file grew: read the new bytes.
    Read,
    /// The held file shrank below our position (truncated, `> file`): read it again from 0.
    Truncated,
    /// The path names another file now (rotated, or deleted and re-created): read the held
    /// file to its end, then open the new one from 0.
    Rotated,
    /// The path is gone: read the held file to its end, close it, wait for the path to
    /// come back.
    Gone,
}

/// `resume` is the position saved by an earlier watcher; it applies only to the file it
/// was taken from and only if that file is not shorter than the position (otherwise the
/// file was truncated while nobody watched and is read from the start).
pub(crate) fn decide(held: Option<Held>, path: PathNow, resume: Option<LogPosition>) -> Action {
    match (held, path) {
        (None, PathNow::Missing) => Action::Wait,
        (None, PathNow::File { id, size }) => {
            let from = match resume {
                Some(r) if r.dev == id.dev && r.inode == id.ino && r.offset <= size => r.offset,
                _ => 0,
            };
            Action::Open { from }
        }
        (Some(_), PathNow::Missing) => Action::Gone,
        (Some(h), PathNow::File { id, .. }) if id != h.id => Action::Rotated,
        (Some(h), PathNow::File { .. }) => {
            if h.size < h.pos {
                Action::Truncated
            } else if h.size > h.pos {
                Action::Read
            } else {
                Action::Wait
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
    use super::*;

    const A: FileId = FileId { dev: 1, ino: 100 };
    const B: FileId = FileId { dev: 1, ino: 200 };
    const A_OTHER_DEV: FileId = FileId { dev: 2, ino: 100 };

    fn held(id: FileId, pos: u64, size: u64) -> Option<Held> {
        Some(Held { id, pos, size })
    }
    fn file(id: FileId, size: u64) -> PathNow {
        PathNow::File { id, size }
    }
    fn saved(id: FileId, offset: u64) -> Option<LogPosition> {
        Some(LogPosition {
            offset,
            dev: id.dev,
            inode: id.ino,
            fingerprint: None,
            boundary: None,
        })
    }

    #[test]
    fn follow_rules() {
        use Action::*;
        #[rustfmt::skip]
        let cases: Vec<(&str, Option<Held>, PathNow, Option<LogPosition>, Action)> = vec![
            ("log not there yet",               None, PathNow::Missing, None, Wait),
            ("log appears",                     None, file(A, 0), None, Open { from: 0 }),
            ("log appears with content",        None, file(A, 500), None, Open { from: 0 }),
            ("resume the same file",            None, file(A, 500), saved(A, 300), Open { from: 300 }),
            ("resume at its very end",          None, file(A, 500), saved(A, 500), Open { from: 500 }),
            ("truncated while nobody watched",  None, file(A, 100), saved(A, 300), Open { from: 0 }),
            ("rotated while nobody watched",    None, file(B, 900), saved(A, 300), Open { from: 0 }),
            ("same inode on another device",    None, file(A_OTHER_DEV, 900), saved(A, 300), Open { from: 0 }),
            ("saved but log gone",              None, PathNow::Missing, saved(A, 300), Wait),
            ("nothing new",                     held(A, 500, 500), file(A, 500), None, Wait),
            ("grew",                            held(A, 500, 800), file(A, 800), None, Read),
            ("truncated to zero",               held(A, 500, 0), file(A, 0), None, Truncated),
            ("truncated and rewritten shorter", held(A, 500, 120), file(A, 120), None, Truncated),
            ("rotated (renamed away, new file)", held(A, 500, 500), file(B, 0), None, Rotated),
            ("rotated, old one still growing",  held(A, 500, 900), file(B, 10), None, Rotated),
            ("deleted",                         held(A, 500, 500), PathNow::Missing, None, Gone),
            ("deleted with unread bytes",       held(A, 500, 700), PathNow::Missing, None, Gone),
            ("resume ignored once a file is held", held(A, 10, 20), file(A, 20), saved(A, 5), Read),
        ];
        for (name, h, p, r, want) in cases {
            assert_eq!(decide(h, p, r), want, "{name}");
        }
    }
}
