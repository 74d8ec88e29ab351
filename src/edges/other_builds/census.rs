//! The state root entry by entry, as `prune` sees it: what each entry is (a build
//! directory, the leftover of an interrupted prune, or something else), and for a build
//! what its state says (`Look`) and its history, read as the posts read it. Read-only
//! and bounded like the rest of this module: each state.json read once, through the
//! size cap, never through a link, never blocking; nothing but names and a few facts kept
//! per entry.

use super::history_of;
use crate::data::build_state::{BuildState, SCHEMA};
use crate::data::caps::MAX_STATE_BYTES;
use crate::data::names::{BuildName, STATE, parse_pruning_name};
use crate::edges::build_dir::{BuildDir, read_small};
use crate::heart::history::BuildHistory;
use crate::heart::prune::{Facts, Look};
use crate::heart::status_view::Peeked;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::Path;

/// What an entry of the state root is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A directory named as a build.
    Build(BuildName),
    /// A directory an interrupted prune left (`.pruning-<build>-<pid>`), of process `pid`.
    Leftover(u32),
    /// Anything else, and what it is: never touched.
    Other(&'static str),
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: OsString,
    pub kind: Kind,
}

impl Entry {
    /// The name as text (lossy: a foreign name need not be UTF-8).
    pub fn shown(&self) -> String {
        self.name.to_string_lossy().into_owned()
    }
}

/// Every entry of `root`, by name (builds in the order `SpecHistory` breaks ties by).
pub(crate) fn entries(root: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for e in fs::read_dir(root)? {
        let e = e?;
        let name = e.file_name();
        // `file_type` does not follow links.
        let kind = match e.file_type() {
            Ok(t) if t.is_symlink() => Kind::Other("a symbolic link (never followed)"),
            Ok(t) if !t.is_dir() => Kind::Other("not a directory"),
            Ok(_) => kind_of_dir(&name),
            Err(_) => Kind::Other("unreadable"),
        };
        out.push(Entry { name, kind });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn kind_of_dir(name: &OsString) -> Kind {
    let Some(text) = name.to_str() else {
        return Kind::Other("not a build name");
    };
    if let Ok(b) = BuildName::new(text) {
        return Kind::Build(b);
    }
    match parse_pruning_name(text) {
        Some((_, pid)) => Kind::Leftover(pid),
        None => Kind::Other("not a build name"),
    }
}

/// What build `name`'s directory holds, and its history when it is one (finished, not a
/// dry run, read as the posts read it). `held`: this process holds the build's watcher
/// lock (nobody else can), so the lock is not probed.
pub(crate) fn look(root: &Path, name: &BuildName, held: bool) -> (Look, Option<BuildHistory>) {
    let bd = BuildDir::new(root, name);
    let watched = match held {
        true => false,
        false => match bd.watched() {
            Ok(w) => w,
            Err(e) => return (Look::Damaged(e.to_string()), None),
        },
    };
    let damaged = |why: String| match watched {
        // Its watcher sets an unreadable state aside itself.
        true => (Look::Starting, None),
        false => (Look::Damaged(why), None),
    };
    let bytes = match read_small(&bd.path(STATE), MAX_STATE_BYTES) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return (without_state(&bd, watched), None);
        }
        Err(e) => return damaged(format!("{STATE}: {e}")),
    };
    let mut st: BuildState = match serde_json::from_slice(&bytes) {
        Ok(st) => st,
        Err(e) => return damaged(format!("{STATE}: {e}")),
    };
    if st.schema != SCHEMA {
        return damaged(format!("{STATE}: unknown schema {}", st.schema));
    }
    if st.build_name != *name {
        return damaged(format!("{STATE} names another build, {}", st.build_name));
    }
    bd.apply_posted_markers(&mut st);
    (
        Look::Build(Facts::of(&st, watched)),
        history_of(&bytes, name),
    )
}

/// A build directory with no state.json: starting (a request, or being set up), else
/// damaged.
fn without_state(bd: &BuildDir, watched: bool) -> Look {
    match bd.peek() {
        Peeked::Empty if !watched && !bd.is_young() => {
            Look::Damaged("no state.json and no request.json".into())
        }
        Peeked::Damaged(why) if !watched => Look::Damaged(why),
        // A request only, a directory being set up, or a state written meanwhile.
        _ => Look::Starting,
    }
}

/// Build `name`'s history again (the second look at the streaks).
pub(crate) fn history(root: &Path, name: &BuildName) -> Option<BuildHistory> {
    super::load(&root.join(name.as_str()), name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::request::Request;
    use crate::data::status::Status;
    use crate::data::time::Timestamp;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;
    use std::time::{Duration, UNIX_EPOCH};

    /// A state root of its own, removed when the test ends.
    struct Root(PathBuf);

    impl Root {
        fn new(name: &str) -> Root {
            let d = std::env::temp_dir().join(format!("atvm-census-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&d);
            fs::create_dir_all(&d).unwrap();
            Root(d)
        }

        fn dir(&self, name: &str) -> PathBuf {
            let d = self.0.join(name);
            fs::create_dir_all(&d).unwrap();
            d
        }

        /// A finished FAILED build `name` whose post is pending, changed by `f`.
        fn build(&self, name: &str, f: impl FnOnce(&mut BuildState)) -> BuildName {
            let b = BuildName::new(name).unwrap();
            let t = Timestamp(UNIX_EPOCH + Duration::from_secs(1_790_000_000));
            let mut st = BuildState::new(&b, false, "/l/x.log", t);
            st.run.status = Status::Failed;
            st.run.finished_at = Some(t);
            st.post.post_pending = true;
            f(&mut st);
            let bytes = serde_json::to_vec(&st).unwrap();
            fs::write(self.dir(name).join(STATE), bytes).unwrap();
            b
        }

        fn look(&self, b: &BuildName) -> (Look, Option<BuildHistory>) {
            look(&self.0, b, false)
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn what_each_entry_is() {
        let root = Root::new("entries");
        root.dir("b1");
        root.dir(".pruning-b1-77");
        root.dir(".pruning-x");
        root.dir("has space");
        fs::write(root.0.join("file"), b"x").unwrap();
        symlink(root.0.join("b1"), root.0.join("link")).unwrap();
        symlink(root.0.join("b1"), root.0.join(".pruning-b2-78")).unwrap();
        let got: Vec<(String, Kind)> = entries(&root.0)
            .unwrap()
            .into_iter()
            .map(|e| (e.shown(), e.kind))
            .collect();
        let link = Kind::Other("a symbolic link (never followed)");
        let want = [
            (".pruning-b1-77", Kind::Leftover(77)),
            (".pruning-b2-78", link.clone()),
            (".pruning-x", Kind::Other("not a build name")),
            ("b1", Kind::Build("b1".into())),
            ("file", Kind::Other("not a directory")),
            ("has space", Kind::Other("not a build name")),
            ("link", link),
        ];
        let want: Vec<(String, Kind)> = want.into_iter().map(|(n, k)| (n.into(), k)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn what_a_build_directory_says() {
        let root = Root::new("looks");
        let facts = |l: Look| match l {
            Look::Build(f) => f,
            other => panic!("not a build: {other:?}"),
        };
        let damaged = |l: Look| match l {
            Look::Damaged(why) => why,
            other => panic!("not damaged: {other:?}"),
        };
        // A pending post; its posted.marker makes it posted.
        let b = root.build("pending", |_| {});
        let (l, h) = root.look(&b);
        assert!(facts(l).pending);
        assert_eq!(h.expect("a finished build is history").build, "pending");
        fs::write(root.0.join("pending").join("posted.marker"), b"{}").unwrap();
        assert!(!facts(root.look(&b).0).pending);
        // A dry run: nothing to post, and no history.
        let b = root.build("dry", |st| st.dry_run = true);
        let (l, h) = root.look(&b);
        assert!(!facts(l).pending);
        assert!(h.is_none());
        // Damaged and foreign states.
        let b = root.build("other", |st| st.build_name = "someone".into());
        assert_eq!(
            damaged(root.look(&b).0),
            "state.json names another build, someone"
        );
        let b = root.build("schema", |st| st.schema = SCHEMA + 1);
        assert_eq!(damaged(root.look(&b).0), "state.json: unknown schema 2");
        let b = root.build("garbage", |_| {});
        fs::write(root.0.join("garbage").join(STATE), b"{ nope").unwrap();
        assert!(damaged(root.look(&b).0).starts_with("state.json: key must be a string"));
        let b = root.build("linked", |_| {});
        let state = root.0.join("linked").join(STATE);
        fs::remove_file(&state).unwrap();
        symlink(root.0.join("pending").join(STATE), &state).unwrap();
        assert!(damaged(root.look(&b).0).contains("symbolic link"));
        // Held by its watcher: its facts say so; unreadable, it is its watcher's to fix.
        let held = BuildDir::new(&root.0, &b).try_hold().unwrap().unwrap();
        assert_eq!(root.look(&b).0, Look::Starting);
        drop(held);
        let b = root.build("watched", |_| {});
        let held = BuildDir::new(&root.0, &b).try_hold().unwrap().unwrap();
        assert!(facts(root.look(&b).0).watched);
        assert!(!facts(look(&root.0, &b, true).0).watched);
        drop(held);
        // No state.json: a request is a build starting, so is a directory just made; an
        // old empty one is damaged.
        let b = BuildName::new("requested").unwrap();
        root.dir("requested");
        BuildDir::new(&root.0, &b)
            .write_request(&Request::new(b.clone()))
            .unwrap();
        assert_eq!(root.look(&b).0, Look::Starting);
        let b = BuildName::new("empty").unwrap();
        let dir = root.dir("empty");
        assert_eq!(root.look(&b).0, Look::Starting);
        let old = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        fs::File::open(&dir).unwrap().set_modified(old).unwrap();
        assert_eq!(
            damaged(root.look(&b).0),
            "no state.json and no request.json"
        );
    }
}
