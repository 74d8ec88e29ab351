//! The look at earlier builds, on real files: which builds are read (the most recently
//! updated, at most the cap, this one left out), what is skipped, what a plain and a
//! categorized build give, and that what is kept is read again when its file changes.

use super::*;
use crate::data::build_state::{BuildState, SubrunState};
use crate::data::caps::TEXT_CAP;
use crate::data::run::{Failure, PostState, SpecRow};
use crate::data::status::Status;
use crate::heart::history::SpecRun;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

const LONG: Duration = Duration::from_secs(60);

/// A state root of its own, removed when the test ends (even by a panic).
struct Root(PathBuf);

impl Root {
    fn new(name: &str) -> Root {
        let d =
            std::env::temp_dir().join(format!("atvm-history-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        Root(d)
    }

    /// Writes `st` as `dir`/state.json (as the watcher would) dated `mtime` seconds.
    fn write(&self, dir: &str, st: &BuildState, mtime: u64) -> PathBuf {
        let d = self.0.join(dir);
        fs::create_dir_all(&d).unwrap();
        let p = d.join(STATE);
        fs::write(&p, serde_json::to_vec_pretty(st).unwrap()).unwrap();
        let f = fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
            .unwrap();
        p
    }

    /// The builds a fresh look finds, at most `cap`, `this` left out.
    fn look(&self, this: &str, budget: Duration, cap: usize) -> Vec<BuildHistory> {
        let mut e = EarlierBuilds::default();
        e.refresh_at_most(&self.0, Some(&this.into()), budget, cap);
        e.histories().into_iter().cloned().collect()
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn at(secs: u64) -> Timestamp {
    Timestamp(UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs))
}

/// A finished outcome that ran `specs` and failed the first of them.
fn outcome(specs: &[&str], secs: u64) -> RunRecord {
    RunRecord {
        status: Status::Failed,
        finished_at: Some(at(secs)),
        specs: specs
            .iter()
            .map(|s| SpecRow {
                name: s.to_string(),
                tests: 1,
                failed: u64::from(*s == specs[0]),
                ..SpecRow::default()
            })
            .collect(),
        failures: vec![Failure::new(
            specs[0].to_string(),
            Some("suite › fails".into()),
            Some("Error: boom".into()),
        )],
        ..RunRecord::default()
    }
}

/// A finished plain build named `name` that ran `a.cy.js` (a name that is no build name,
/// for a directory that is none, gets one that is).
fn plain(name: &str) -> BuildState {
    let name = BuildName::new(name).unwrap_or_else(|_| "renamed".into());
    let mut st = BuildState::new(&name, false, "/var/log/x.log", at(0));
    st.run = outcome(&["a.cy.js"], 100);
    st
}

fn sub(index: u32, name: &str, run: RunRecord) -> SubrunState {
    SubrunState {
        key: crate::data::names::SubrunKey::new(index, name),
        name: name.into(),
        index,
        run,
        post: PostState::default(),
        progress: None,
        run_seen: true,
        opened_by_marker: true,
    }
}

fn builds(h: &[BuildHistory]) -> Vec<&str> {
    h.iter().map(|b| b.build.as_str()).collect()
}

#[test]
fn most_recently_updated_first_at_most_cap_this_build_excluded() {
    let root = Root::new("recency");
    // Written in an order that is neither by name nor by date.
    for (name, mtime) in [
        ("b3", 300),
        ("b1", 100),
        ("this", 900),
        ("b5", 500),
        ("b2", 200),
        ("b4", 400),
    ] {
        root.write(name, &plain(name), mtime);
    }
    assert_eq!(
        builds(&root.look("this", LONG, 10)),
        ["b5", "b4", "b3", "b2", "b1"]
    );
    assert_eq!(builds(&root.look("this", LONG, 3)), ["b5", "b4", "b3"]);
    assert_eq!(
        builds(&root.look("b5", LONG, MAX_BUILDS)),
        ["this", "b4", "b3", "b2", "b1"]
    );
}

/// The cap holds however many builds the root holds (the listing is trimmed as it goes),
/// and the newest survive the trimming.
#[test]
fn many_builds_keep_the_newest() {
    let root = Root::new("many");
    for i in 0..150u64 {
        let name = format!("n{i:03}");
        root.write(&name, &plain(&name), 1000 + (i * 37) % 150);
    }
    // 37 and 150 are coprime: the dates are a permutation of 1000..1150, and the two
    // newest (1149, 1148) are i = 77 (37 * 77 = 2849 = 18 * 150 + 149) and i = 4 (148).
    assert_eq!(builds(&root.look("other", LONG, 2)), ["n077", "n004"]);
}

/// Everything a file tree can hold besides a finished build of ours is skipped, and
/// nothing under the root is changed by the reading.
#[test]
fn damaged_foreign_and_unfinished_builds_are_skipped() {
    let root = Root::new("skip");
    let good = root.write("good", &plain("good"), 100);
    let put = |dir: &str, f: &dyn Fn(&mut BuildState), mtime: u64| {
        let mut st = plain(dir);
        f(&mut st);
        root.write(dir, &st, mtime)
    };
    put("dry", &|st| st.dry_run = true, 200);
    put("running", &|st| st.run.status = Status::Running, 200);
    put("no-finish", &|st| st.run.finished_at = None, 200);
    put("schema2", &|st| st.schema = SCHEMA + 1, 200);
    put("copied", &|st| st.build_name = "good".into(), 200);
    put(".hidden", &|_| {}, 200);
    // A build being pruned: renamed to its hidden name before it is deleted.
    put(
        ".pruning-gone-4242",
        &|st| st.build_name = "gone".into(),
        200,
    );
    put("has space", &|_| {}, 200);
    put("this", &|_| {}, 200);
    fs::write(
        put("garbage", &|_| {}, 200),
        b"{\"schema\": 1, \"status\": ",
    )
    .unwrap();
    fs::write(put("not-json", &|_| {}, 200), [0xff, 0xfe, 0]).unwrap();
    let big = put("big", &|_| {}, 200);
    let mut padded = fs::read(&big).unwrap();
    padded.resize(MAX_STATE_BYTES as usize + 1, b' ');
    fs::write(&big, padded).unwrap();
    // A symlinked state.json, a symlinked build directory, a FIFO (opening it for reading
    // would block), a directory named state.json, a plain file at the root.
    fs::create_dir_all(root.0.join("link")).unwrap();
    std::os::unix::fs::symlink(&good, root.0.join("link").join(STATE)).unwrap();
    std::os::unix::fs::symlink(root.0.join("good"), root.0.join("dirlink")).unwrap();
    fs::create_dir_all(root.0.join("fifo")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(root.0.join("fifo").join(STATE))
        .status()
        .unwrap();
    assert!(fifo.success());
    fs::create_dir_all(root.0.join("dir").join(STATE)).unwrap();
    fs::write(root.0.join("file"), b"x").unwrap();
    let before = tree(&root.0);

    assert_eq!(builds(&root.look("this", LONG, MAX_BUILDS)), ["good"]);
    // `status` (and `resume`) list the build names: no hidden one.
    let names = crate::edges::build_dir::build_names(&root.0).unwrap();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    assert_eq!(tree(&root.0), before, "reading changed the state root");
    let mut e = EarlierBuilds::default();
    e.refresh(&root.0.join("missing"), None, LONG);
    e.refresh(&root.0.join("file"), None, LONG);
    assert!(e.histories().is_empty());
}

/// Every path under `dir` with its size and modification time.
fn tree(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let m = fs::symlink_metadata(&p).unwrap();
        out.push((p.clone(), m.len(), m.modified().unwrap()));
        if m.is_dir() {
            out.extend(tree(&p));
        }
    }
    out.sort();
    out
}

#[test]
fn a_zero_budget_reads_nothing() {
    let root = Root::new("budget");
    root.write("b1", &plain("b1"), 100);
    assert!(root.look("this", Duration::ZERO, MAX_BUILDS).is_empty());
    assert_eq!(builds(&root.look("this", LONG, MAX_BUILDS)), ["b1"]);
    // A budget too large to add to now is no deadline, not a panic.
    assert_eq!(
        builds(&root.look("this", Duration::MAX, MAX_BUILDS)),
        ["b1"]
    );
}

/// What was read is kept while its file does not change, read again when it does, and
/// dropped when it cannot be read again in time: never trusted over the file.
#[test]
fn a_changed_build_is_read_again() {
    let root = Root::new("changes");
    let p = root.write("b1", &plain("b1"), 100);
    root.write("b2", &plain("b2"), 200);
    let mut e = EarlierBuilds::default();
    e.refresh(&root.0, None, LONG);
    assert_eq!(e.histories().len(), 2);
    let fails = |e: &EarlierBuilds| {
        let b1 = e.histories().into_iter().find(|b| b.build == "b1").cloned();
        b1.and_then(|b| b.run_of("a.cy.js")).map(|r| r.failed.len())
    };
    assert_eq!(fails(&e), Some(1));
    let mut fixed = plain("b1");
    fixed.run.failures.clear();
    fixed.run.specs[0].failed = 0;
    root.write("b1", &fixed, 100);
    e.refresh(&root.0, None, LONG);
    assert_eq!(fails(&e), Some(0), "read again after it changed");
    fs::remove_dir_all(root.0.join("b2")).unwrap();
    root.write("b1", &plain("b1"), 150);
    e.refresh(&root.0, None, Duration::ZERO);
    assert!(e.histories().is_empty(), "{:?}", e.histories());
    assert!(p.exists());
}

/// A categorized build is one run of each spec its finished sub-runs ran, never the
/// request's aggregate; a sub-run left open or without a time gives nothing.
#[test]
fn a_categorized_build_gives_its_finished_subruns() {
    let root = Root::new("categorized");
    let mut st = BuildState::new(&"cat".into(), true, "/var/log/x.log", at(0));
    st.run = outcome(&["aggregate.cy.js", "linux/a.cy.js"], 300);
    let mut open = outcome(&["appliance/c.cy.js"], 250);
    open.status = Status::Running;
    let mut untimed = outcome(&["untimed.cy.js"], 0);
    untimed.finished_at = None;
    st.subruns = vec![
        sub(1, "linux", outcome(&["linux/a.cy.js"], 100)),
        sub(2, "windows", outcome(&["win/b.cy.js", "win/c.cy.js"], 200)),
        sub(3, "appliance", open),
        sub(4, "untimed", untimed),
    ];
    root.write("cat", &st, 100);
    let got = root.look("this", LONG, MAX_BUILDS);
    let b = &got[0];
    assert_eq!(
        (b.build.as_str(), b.finished_at, b.unknown),
        ("cat", at(300), false)
    );
    let specs: Vec<&str> = b.specs().iter().map(SpecRun::spec).collect();
    assert_eq!(specs, ["linux/a.cy.js", "win/b.cy.js", "win/c.cy.js"]);
    let b_run = b.run_of("win/b.cy.js").unwrap();
    assert_eq!(b_run.subrun.as_deref(), Some("02-windows"));
    assert_eq!(b_run.finished_at, at(200));
    assert_eq!(b_run.failed, vec![Some("suite › fails".to_string())]);
    assert!(b.run_of("aggregate.cy.js").is_none());
    assert!(b.run_of("appliance/c.cy.js").is_none());
}

/// A state written before the digest (no `specs` at all) is an unknown run of every spec;
/// a build of today that ran without rows is a run of none.
#[test]
fn a_state_without_specs_is_an_unknown_run() {
    let root = Root::new("old");
    let p = root.write("old", &plain("old"), 100);
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("specs");
    fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    let mut stopped = plain("stopped");
    stopped.run.specs.clear();
    stopped.run.failures.clear();
    root.write("stopped", &stopped, 90);
    let got = root.look("this", LONG, MAX_BUILDS);
    assert_eq!(builds(&got), ["old", "stopped"]);
    assert!(got[0].unknown && got[0].run_of("any.cy.js").is_some());
    assert!(!got[1].unknown && got[1].run_of("a.cy.js").is_none());
}

/// A cancelled run's skipped spec did not run: its row makes no run of the spec.
#[test]
fn a_skipped_row_is_no_run_of_its_spec() {
    let root = Root::new("skipped");
    let mut skipped = plain("skipped");
    skipped.run.failures.clear();
    skipped.run.specs = vec![SpecRow {
        name: "s.cy.js".into(),
        duration: Some(crate::data::run::SKIPPED.into()),
        ..SpecRow::default()
    }];
    root.write("skipped", &skipped, 200);
    let got = root.look("this", LONG, MAX_BUILDS);
    assert!(got[0].run_of("s.cy.js").is_none());
}

/// Text no longer than the caps, whatever the files hold.
#[test]
fn what_is_kept_is_capped() {
    let root = Root::new("caps");
    let long = "x".repeat(10_000);
    let mut st = plain("b1");
    st.run.specs.push(SpecRow {
        name: "b.cy.js".into(),
        failed: 1,
        ..SpecRow::default()
    });
    st.run
        .failures
        .push(Failure::new("b.cy.js".into(), Some(long.clone()), None));
    root.write("b1", &st, 100);
    let got = root.look("this", LONG, MAX_BUILDS);
    let r = got[0].run_of("b.cy.js").unwrap();
    let title = r.failed[0].as_deref().unwrap();
    assert_eq!(
        title.chars().count(),
        TEXT_CAP,
        "a title is kept to its cap"
    );
}
