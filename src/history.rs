//! The earlier runs that "Is it new" (contract §9, `triage`) compares a finishing run
//! with: a read-only, bounded, best-effort look at the other builds' state.json under the
//! state root. It never writes, moves or locks anything (another watcher owns each build),
//! never fails (whatever cannot be read is skipped) and stops when its time is spent (the
//! post must not wait for it).

use crate::build::{BuildState, SCHEMA};
use crate::model::{MAX_FAILURES, MAX_SPECS, RunOutcome, TEXT_CAP, Timestamp};
use crate::state::{MAX_STATE_BYTES, STATE};
use crate::triage::PastRun;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// Most builds read (the most recently updated ones).
pub(crate) const MAX_BUILDS: usize = 200;

/// What the comparison needs of the earlier builds under `state_root`: for each spec of
/// `wanted`, its most recent run that finished before `before` (a `PastRun` holding only
/// that spec and its failures). At most `MAX_BUILDS` builds are read, the most recently
/// updated first (state.json's modification time), `this_build` excluded; reading stops
/// once `budget` is spent (the post must not wait longer). What is kept is bounded by
/// `wanted`, whatever the earlier builds hold.
pub(crate) fn read(
    state_root: &Path,
    this_build: &str,
    budget: Duration,
    wanted: &HashSet<&str>,
    before: Timestamp,
) -> Vec<PastRun> {
    let mut refs: HashMap<String, PastRun> = HashMap::new();
    visit(
        state_root,
        this_build,
        budget,
        MAX_BUILDS,
        Some(wanted),
        &mut |run| {
            if run.finished_at >= before {
                return;
            }
            for spec in &run.specs {
                if refs
                    .get(spec)
                    .is_some_and(|r| r.finished_at >= run.finished_at)
                {
                    continue;
                }
                refs.insert(spec.clone(), run.only(spec));
            }
        },
    );
    let mut out: Vec<PastRun> = refs.into_values().collect();
    out.sort_by(|a, b| a.specs.cmp(&b.specs));
    out
}

/// Every earlier run, unreduced (the tests look at what is read).
#[cfg(test)]
fn read_at_most(root: &Path, this_build: &str, budget: Duration, cap: usize) -> Vec<PastRun> {
    let mut out = Vec::new();
    visit(root, this_build, budget, cap, None, &mut |run| {
        out.push(run)
    });
    out
}

/// Hands each finished run of the `cap` most recently updated builds to `f`, keeping of
/// each only the specs of `wanted` (all when `None`), until `budget` is spent.
fn visit(
    root: &Path,
    this_build: &str,
    budget: Duration,
    cap: usize,
    wanted: Option<&HashSet<&str>>,
    f: &mut dyn FnMut(PastRun),
) {
    // No deadline only when `budget` is too large to add to now: nothing ever waits that long.
    let deadline = Instant::now().checked_add(budget);
    let spent = || deadline.is_some_and(|d| Instant::now() >= d);
    for name in most_recent(root, this_build, cap, &spent) {
        if spent() {
            break;
        }
        if let Some(st) = load(&root.join(&name)).filter(|st| st.build_name == name) {
            past_runs(st, wanted).into_iter().for_each(&mut *f);
        }
    }
}

/// The names of the `cap` build directories whose state.json changed last, newest first
/// (equal times by name, so that the choice does not depend on the directory's order).
/// Nothing when the time runs out while listing: a partial listing would not hold the
/// most recent builds, and an older build taken for the latest would mislead.
fn most_recent(root: &Path, this_build: &str, cap: usize, spent: &dyn Fn() -> bool) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<(SystemTime, String)> = Vec::new();
    for entry in entries {
        if spent() {
            return Vec::new();
        }
        let Ok(entry) = entry else { continue };
        let Some(name) = crate::state::build_dir_name(&entry) else {
            continue;
        };
        if name == this_build {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(entry.path().join(STATE)) else {
            continue;
        };
        if let (true, Ok(mtime)) = (meta.is_file(), meta.modified()) {
            found.push((mtime, name));
        }
        // Memory stays O(cap) however many builds the root holds.
        if found.len() >= cap.saturating_mul(2).max(64) {
            keep_newest(&mut found, cap);
        }
    }
    keep_newest(&mut found, cap);
    found.into_iter().map(|(_, name)| name).collect()
}

fn keep_newest(found: &mut Vec<(SystemTime, String)>, cap: usize) {
    found.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.truncate(cap);
}

/// `dir`'s state.json if it is a regular file of at most `MAX_STATE_BYTES` holding a
/// state of our schema. Opened without following a symlink and without blocking (a FIFO
/// planted there must not hang the post), read through a limit (it may grow meanwhile).
fn load(dir: &Path) -> Option<BuildState> {
    let bytes = crate::state::read_small(&dir.join(STATE), MAX_STATE_BYTES).ok()?;
    let st: BuildState = serde_json::from_slice(&bytes).ok()?;
    (st.schema == SCHEMA).then_some(st)
}

/// A finished, real build's runs: its run (plain), or each finished sub-run (categorized;
/// the request's aggregate mixes its groups and is no run of its own).
fn past_runs(st: BuildState, wanted: Option<&HashSet<&str>>) -> Vec<PastRun> {
    if st.dry_run || !st.finished() {
        return Vec::new();
    }
    let build = st.build_name;
    if !st.categorize {
        return past_run(&build, st.run, wanted).into_iter().collect();
    }
    st.subruns
        .into_iter()
        .filter(|s| s.run.status.is_terminal())
        .filter_map(|s| past_run(&build, s.run, wanted))
        .collect()
}

/// The run as the comparison sees it: when it finished, its specs and failures (capped
/// as the watcher caps them, whatever the file says, and copied anew, so that nothing of
/// the file's text is kept beyond that). A run that kept no spec rows (a state written
/// before the digest existed) can be nobody's reference: left out.
fn past_run(build: &str, run: RunOutcome, wanted: Option<&HashSet<&str>>) -> Option<PastRun> {
    let finished_at = run.finished_at?;
    if run.specs.is_empty() {
        return None;
    }
    let keep = |spec: &str| wanted.is_none_or(|w| w.contains(spec));
    let text = |t: &str| t.chars().take(TEXT_CAP).collect::<String>();
    let incomplete = crate::triage::incomplete(&run);
    Some(PastRun {
        build: build.to_string(),
        finished_at,
        incomplete: incomplete
            .into_iter()
            .filter(|s| keep(s))
            .map(|s| text(&s))
            .collect(),
        specs: run
            .specs
            .iter()
            .take(MAX_SPECS)
            .filter(|r| keep(&r.name))
            .map(|r| text(&r.name))
            .collect(),
        failures: run
            .failures
            .iter()
            .take(MAX_FAILURES)
            .filter(|f| keep(&f.spec))
            .map(|f| (text(&f.spec), f.title.as_deref().map(text)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::SubrunState;
    use crate::model::{Failure, PostState, SpecRow, Status, Timestamp};
    use std::path::PathBuf;
    use std::time::UNIX_EPOCH;

    const LONG: Duration = Duration::from_secs(60);

    /// A state root of its own, removed when the test ends (even by a panic).
    struct Root(PathBuf);

    impl Root {
        fn new(name: &str) -> Root {
            let d = std::env::temp_dir()
                .join(format!("atvm-history-test-{name}-{}", std::process::id()));
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
    fn outcome(specs: &[&str], secs: u64) -> RunOutcome {
        RunOutcome {
            status: Status::Failed,
            finished_at: Some(at(secs)),
            specs: specs
                .iter()
                .map(|s| SpecRow {
                    name: s.to_string(),
                    ..SpecRow::default()
                })
                .collect(),
            failures: vec![Failure {
                spec: specs[0].to_string(),
                title: Some("suite › fails".into()),
                error: Some("Error: boom".into()),
            }],
            ..RunOutcome::default()
        }
    }

    /// A finished plain build that ran `a.cy.js`.
    fn plain(name: &str) -> BuildState {
        let mut st = BuildState::new(name, false, "/var/log/x.log", at(0));
        st.run = outcome(&["a.cy.js"], 100);
        st
    }

    fn sub(index: u32, name: &str, run: RunOutcome) -> SubrunState {
        SubrunState {
            key: crate::build::subrun_key(index, name),
            name: name.into(),
            index,
            run,
            post: PostState::default(),
            progress: None,
            run_seen: true,
            opened_by_marker: true,
        }
    }

    fn builds(runs: &[PastRun]) -> Vec<&str> {
        runs.iter().map(|r| r.build.as_str()).collect()
    }

    #[test]
    fn most_recently_updated_first_at_most_cap_this_build_excluded() {
        let root = Root::new("recency");
        // Written in an order that is neither by name nor by date.
        for (name, mtime) in [("b3", 300), ("b1", 100), ("this", 900), ("b5", 500)] {
            root.write(name, &plain(name), mtime);
        }
        for (name, mtime) in [("b2", 200), ("b4", 400)] {
            root.write(name, &plain(name), mtime);
        }
        let all = read_at_most(&root.0, "this", LONG, 10);
        assert_eq!(builds(&all), ["b5", "b4", "b3", "b2", "b1"]);
        let three = read_at_most(&root.0, "this", LONG, 3);
        assert_eq!(builds(&three), ["b5", "b4", "b3"]);
        assert_eq!(
            builds(&read_at_most(&root.0, "b5", LONG, MAX_BUILDS)),
            ["this", "b4", "b3", "b2", "b1"]
        );
    }

    /// The cap holds however many builds the root holds (the listing is trimmed as it
    /// goes), and the newest survive the trimming.
    #[test]
    fn many_builds_keep_the_newest() {
        let root = Root::new("many");
        for i in 0..150u64 {
            let name = format!("n{i:03}");
            root.write(&name, &plain(&name), 1000 + (i * 37) % 150);
        }
        // 37 and 150 are coprime: the dates are a permutation of 1000..1150, and the two
        // newest (1149, 1148) are i = 77 (37 * 77 = 2849 = 18 * 150 + 149) and i = 4 (148).
        let got = read_at_most(&root.0, "other", LONG, 2);
        assert_eq!(builds(&got), ["n077", "n004"]);
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
        // A symlinked state.json, a symlinked build directory, a FIFO (opening it for
        // reading would block), a directory named state.json, a plain file at the root.
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

        assert_eq!(
            builds(&read_at_most(&root.0, "this", LONG, MAX_BUILDS)),
            ["good"]
        );
        assert_eq!(tree(&root.0), before, "reading changed the state root");
        assert!(read_at_most(&root.0.join("missing"), "this", LONG, MAX_BUILDS).is_empty());
        assert!(read_at_most(&root.0.join("file"), "this", LONG, MAX_BUILDS).is_empty());
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
        assert!(read_at_most(&root.0, "this", Duration::ZERO, MAX_BUILDS).is_empty());
        assert_eq!(
            builds(&read_at_most(&root.0, "this", LONG, MAX_BUILDS)),
            ["b1"]
        );
        // A budget too large to add to now is no deadline, not a panic.
        assert_eq!(
            builds(&read_at_most(&root.0, "this", Duration::MAX, MAX_BUILDS)),
            ["b1"]
        );
    }

    /// A categorized build gives each finished sub-run with its own specs and failures,
    /// never the request's aggregate; a sub-run left open, without a time or without
    /// specs gives nothing.
    #[test]
    fn a_categorized_build_gives_its_finished_subruns() {
        let root = Root::new("categorized");
        let mut st = BuildState::new("cat", true, "/var/log/x.log", at(0));
        st.run = outcome(&["aggregate.cy.js", "linux/a.cy.js"], 300);
        // Left open when the request ended (its time set, as if by mistake), and ended
        // without a time.
        let mut open = outcome(&["appliance/c.cy.js"], 250);
        open.status = Status::Running;
        let mut untimed = outcome(&["untimed.cy.js"], 0);
        untimed.finished_at = None;
        let mut old = outcome(&["old.cy.js"], 280);
        old.specs.clear();
        st.subruns = vec![
            sub(1, "linux", outcome(&["linux/a.cy.js"], 100)),
            sub(2, "windows", outcome(&["win/b.cy.js", "win/c.cy.js"], 200)),
            sub(3, "appliance", open),
            sub(4, "old", old),
            sub(5, "untimed", untimed),
        ];
        root.write("cat", &st, 100);
        let got = read_at_most(&root.0, "this", LONG, MAX_BUILDS);
        let want = [
            ("linux/a.cy.js", vec!["linux/a.cy.js"], 100),
            ("win/b.cy.js", vec!["win/b.cy.js", "win/c.cy.js"], 200),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (run, (failed, specs, secs)) in got.iter().zip(want) {
            assert_eq!(run.build, "cat");
            assert_eq!(run.finished_at, at(secs));
            assert_eq!(run.specs, specs);
            let title = Some("suite › fails".to_string());
            assert_eq!(run.failures, vec![(failed.to_string(), title)]);
        }
    }

    /// A plain build gives its one run, as the watcher recorded it.
    #[test]
    fn a_plain_build_gives_its_run() {
        let root = Root::new("plain");
        let mut st = plain("p1");
        st.run.failures.push(Failure {
            spec: "b.cy.js".into(),
            title: None,
            error: None,
        });
        root.write("p1", &st, 100);
        let want = PastRun {
            build: "p1".into(),
            finished_at: at(100),
            specs: vec!["a.cy.js".into()],
            failures: vec![
                ("a.cy.js".into(), Some("suite › fails".into())),
                ("b.cy.js".into(), None),
            ],
            incomplete: Vec::new(),
        };
        assert_eq!(read_at_most(&root.0, "this", LONG, MAX_BUILDS), vec![want]);
    }

    /// What `read` keeps: per wanted spec its most recent earlier run, nothing else, and
    /// text no longer than the caps, whatever the files hold.
    #[test]
    fn read_keeps_only_each_wanted_specs_latest_earlier_run() {
        let root = Root::new("reduce");
        let long = "x".repeat(10_000);
        for (name, at_secs, spec_b_fails) in [
            ("old", 100, true),
            ("new", 200, false),
            ("later", 900, true),
        ] {
            let mut st = plain(name);
            st.run.finished_at = Some(at(at_secs));
            st.run.specs.push(SpecRow {
                name: "b.cy.js".into(),
                failed: u64::from(spec_b_fails),
                ..SpecRow::default()
            });
            st.run.specs.push(SpecRow {
                name: long.clone(),
                ..SpecRow::default()
            });
            if spec_b_fails {
                st.run.failures.push(Failure {
                    spec: "b.cy.js".into(),
                    title: Some(long.clone()),
                    error: None,
                });
            }
            root.write(name, &st, at_secs);
        }
        let wanted: HashSet<&str> = ["b.cy.js"].into_iter().collect();
        let got = read(&root.0, "this", LONG, &wanted, at(500));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].build, "new", "the most recent run before the bound");
        assert_eq!(got[0].specs, ["b.cy.js"]);
        assert!(got[0].failures.is_empty());
        let got = read(&root.0, "this", LONG, &wanted, at(150));
        assert_eq!(got[0].build, "old");
        let title = got[0].failures[0].1.as_deref().unwrap();
        assert_eq!(
            title.chars().count(),
            TEXT_CAP,
            "a title is kept to its cap"
        );
    }
}
