//! `resume` with a stub systemctl (contract §7, "After a reboot"): it starts the instance
//! of every live build and every build with a post pending that is not cancelled and not
//! watched, says why for each, skips what cannot be read with a note, never hangs or
//! fails on a damaged state root, and `--dry-run` starts nothing. The instances it starts
//! are then run as systemd would: the run the boot ended is TERMINATED at once, the
//! pending post delivered once.

use crate::reboot::{RESTARTED, before_boot, date_before_boot, stopped_mid_run};
use crate::support::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A state root as a reboot leaves it: every kind of build `resume` meets.
struct Rebooted {
    sb: Sandbox,
    calls: PathBuf,
    hook: FakeMattermost,
    /// Holds `watched` for the test's length.
    watcher: Watcher,
}

fn rebooted(name: &str) -> Rebooted {
    let mut sb = Sandbox::new(name);
    let calls = sb.stub_systemctl();
    let hook = FakeMattermost::start();

    // Live, its log quiet since before the boot; live, its log grown since.
    stopped_mid_run(&sb, &hook, "live-old");
    date_before_boot(&sb, "live-old", before_boot());
    stopped_mid_run(&sb, &hook, "live-new");
    // FAILED, its post refused (HTTP 400) before the boot: pending.
    sb.append_lines("pending", &failed_run(), Style::PLAIN);
    let mut w = sb.spawn(Some(&hook.unknown_hook_url()), &["--build-name", "pending"]);
    assert_eq!(w.code(), 3, "{}", w.stderr());
    // Finished and posted.
    sb.append_lines("posted", &completed_run(), Style::PLAIN);
    assert_eq!(sb.watch(&hook, "posted", &[]).code(), 0);
    // Cancelled: as cancel leaves it, and with the marker written but the state still live
    // (a cancel that died between the two).
    stopped_mid_run(&sb, &hook, "cancelled");
    let out = sb.run(None, &["cancel", "--build-name", "cancelled", "--no-stop"]);
    assert_eq!(out.status.code(), Some(0));
    stopped_mid_run(&sb, &hook, "cancel-marker");
    fs::write(sb.build_dir("cancel-marker").join("cancelled.marker"), "{}").unwrap();
    // Requested, never watched (start wrote request.json, then the reboot came).
    fs::create_dir_all(sb.build_dir("requested")).unwrap();
    fs::write(
        sb.build_dir("requested").join("request.json"),
        r#"{"build_name":"requested"}"#,
    )
    .unwrap();
    // A dry run's live state (its state root given): no real watcher's business.
    let mut dry = sb.spawn(None, &["--build-name", "dry", "--dry-run"]);
    sb.wait_status("dry", "WAITING");
    dry.signal(SIGTERM);
    assert_eq!(dry.code(), 0);
    // Damaged and foreign: unreadable JSON, a FIFO, a link to /dev/zero, a huge file,
    // another build's state, a future schema, an old empty directory; and what is no
    // build at all (a file, a link to a build, a name no build may have).
    let dir = |b: &str| {
        let d = sb.build_dir(b);
        fs::create_dir_all(&d).unwrap();
        d
    };
    fs::write(dir("garbage").join("state.json"), b"{ nope").unwrap();
    let fifo = dir("fifo").join("state.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", dir("zero").join("state.json")).unwrap();
    let big = fs::File::create(dir("huge").join("state.json")).unwrap();
    big.set_len(64 << 20).unwrap();
    let mut other = sb.state("live-new");
    other["build_name"] = "live-new".into();
    fs::write(dir("foreign").join("state.json"), other.to_string()).unwrap();
    let mut future = sb.state("live-new");
    future["schema"] = 9.into();
    future["build_name"] = "future".into();
    fs::write(dir("future").join("state.json"), future.to_string()).unwrap();
    dir("empty");
    set_dir_mtime(&sb, "empty");
    fs::write(sb.state_root.join("a-file"), "x").unwrap();
    std::os::unix::fs::symlink(sb.build_dir("live-old"), sb.state_root.join("a-link")).unwrap();
    fs::create_dir_all(sb.state_root.join(".hidden")).unwrap();
    // A live build whose watcher.lock is a FIFO: nobody can hold it, no watcher would start.
    stopped_mid_run(&sb, &hook, "lock-fifo");
    let lock = sb.build_dir("lock-fifo").join("watcher.lock");
    fs::remove_file(&lock).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&lock)
            .status()
            .unwrap()
            .success()
    );
    // Watched right now.
    let watcher = sb.watch(&hook, "watched", &[]);
    sb.wait_status("watched", "WAITING");
    Rebooted {
        sb,
        calls,
        hook,
        watcher,
    }
}

fn set_dir_mtime(sb: &Sandbox, build: &str) {
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    fs::File::open(sb.build_dir(build))
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
}

/// What `resume` is expected to start, in name order, and why (`foreign` holds live-new's
/// state: skipped, never started under another name).
const STARTED: [(&str, &str); 4] = [
    (
        "live-new",
        "RUNNING, not watched: the watcher follows its log on from where it stopped",
    ),
    (
        "live-old",
        "RUNNING, not watched: its log has not grown since the boot: the watcher ends it TERMINATED (the controller restarted during the run)",
    ),
    (
        "pending",
        "FAILED, not watched, 1 post(s) pending: the watcher delivers it (last try: post of the FAILED result: HTTP 400",
    ),
    (
        "requested",
        "WAITING, not watched: the watcher waits for its log",
    ),
];

const SKIPPED: [&str; 8] = [
    "skipped empty: no state.json and no request.json",
    "skipped fifo: state.json: not a regular file",
    "skipped foreign: its state.json is build live-new's, not this directory's",
    "skipped future: state.json has schema 9, not 1",
    "skipped garbage: state.json: key must be a string",
    "skipped huge: state.json: larger than a state file can be",
    "skipped lock-fifo: ",
    "skipped zero: state.json: not a regular file (a symbolic link)",
];

fn run_resume(sb: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let mut w = sb.spawn(None, &[&["resume"][..], args].concat());
    wait_until("resume to finish", Duration::from_secs(10), || !w.running());
    (w.code(), w.stdout(), w.stderr())
}

#[test]
fn resume_starts_what_a_reboot_left_without_a_watcher() {
    let mut r = rebooted("resume");
    let sb = &r.sb;

    let (code, out, err) = run_resume(sb, &["--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        calls(&r.calls),
        Vec::<String>::new(),
        "a dry run starts nothing"
    );
    for (build, why) in STARTED {
        let want = format!("dry run: would start atvm-run-watcher@{build}.service: {why}");
        assert!(out.lines().any(|l| l.starts_with(&want)), "{want}\n{out}");
    }
    assert!(
        out.contains("dry run: would start 4 of 17 builds under")
            && out.contains("systemctl start --no-block each); 8 skipped (unreadable, see above); started nothing"),
        "{out}"
    );

    let (code, out, err) = run_resume(sb, &[]);
    assert_eq!(code, 0, "{err}");
    let want: Vec<String> = STARTED
        .iter()
        .map(|(b, _)| format!("start --no-block atvm-run-watcher@{b}.service"))
        .collect();
    assert_eq!(calls(&r.calls), want, "{out}");
    let started: Vec<&str> = out.lines().filter(|l| l.starts_with("started ")).collect();
    assert_eq!(started.len(), 4, "one line per build started:\n{out}");
    for (line, (build, why)) in started.iter().zip(STARTED) {
        let want = format!("started atvm-run-watcher@{build}.service: {why}");
        assert!(line.starts_with(&want), "{want}\n{out}");
    }
    for skip in SKIPPED {
        assert!(out.lines().any(|l| l.starts_with(skip)), "{skip}\n{out}");
    }
    let lock = out
        .lines()
        .find(|l| l.starts_with("skipped lock-fifo: "))
        .unwrap_or_default();
    assert!(
        lock.contains("watcher.lock") && lock.contains("remove it"),
        "a lock nobody can hold is named:\n{out}"
    );
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("resume: started 4 of 17 builds under ")
            && last.ends_with("; 8 skipped (unreadable, see above)"),
        "{out}"
    );
    for quiet in [
        "posted",
        "cancelled",
        "cancel-marker",
        "dry",
        "watched",
        "a-file",
        "a-link",
    ] {
        assert!(
            !out.contains(&format!("@{quiet}.service"))
                && !out.contains(&format!("skipped {quiet}:")),
            "{quiet} is left alone:\n{out}"
        );
    }
    assert!(
        r.watcher.running(),
        "the watched build's watcher is untouched"
    );

    // What the instances do, started as systemd would: the run the boot ended is
    // TERMINATED at once, the pending post delivered once, the live run followed on.
    let mut old = sb.watch(&r.hook, "live-old", &[]);
    assert_eq!(old.code(), 0, "{}", old.stderr());
    let st = sb.state("live-old");
    assert_eq!(
        (st["status"].as_str(), st["reason"].as_str()),
        (Some("TERMINATED"), Some(RESTARTED))
    );
    let mut pending = sb.watch(&r.hook, "pending", &[]);
    assert_eq!(pending.code(), 0, "{}", pending.stderr());
    assert_eq!(sb.state("pending")["posted"], true);
    let mut new = sb.watch(&r.hook, "live-new", &[]);
    sb.append_lines("live-new", &completed_run(), Style::PLAIN);
    assert_eq!(new.code(), 0, "{}", new.stderr());
    assert_eq!(sb.state("live-new")["status"], "COMPLETED");
    let delivered: Vec<String> = r.hook.headings();
    assert_eq!(
        delivered.iter().filter(|h| h.contains("· pending")).count(),
        1,
        "{delivered:?}"
    );

    // A second resume finds nothing more to start (what is left is finished, or watched).
    let before = calls(&r.calls).len();
    let (code, out, err) = run_resume(sb, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        calls(&r.calls).len(),
        before + 1,
        "only requested, still waiting:\n{out}"
    );
    r.watcher.signal(SIGTERM);
    assert_eq!(r.watcher.code(), 0);
}

#[test]
fn resume_over_an_empty_or_missing_state_root() {
    let mut sb = Sandbox::new("resume-empty");
    let calls_file = sb.stub_systemctl();
    let (code, out, _) = run_resume(&sb, &[]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("resume: started 0 of 0 builds under "),
        "{out}"
    );
    fs::remove_dir_all(&sb.state_root).unwrap();
    let (code, out, err) = run_resume(&sb, &[]);
    assert_eq!((code, out.lines().count()), (0, 1), "{out}{err}");
    assert!(calls(&calls_file).is_empty());
}

/// A systemctl that fails for one unit: the others are still started, the failure is
/// logged, and resume exits 1.
#[test]
fn a_failing_systemctl_is_reported_and_the_rest_still_start() {
    let mut sb = Sandbox::new("resume-fail");
    let calls_file = sb.stub_systemctl();
    let stub = sb.root.join("systemctl");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$*\" in *@b.service) exit 1;; esac\n",
        calls_file.display()
    );
    fs::write(&stub, script).unwrap();
    fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).unwrap();
    for b in ["a", "b", "c"] {
        fs::create_dir_all(sb.build_dir(b)).unwrap();
        fs::write(
            sb.build_dir(b).join("request.json"),
            format!(r#"{{"build_name":"{b}"}}"#),
        )
        .unwrap();
    }
    let (code, out, err) = run_resume(&sb, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(calls(&calls_file).len(), 3);
    assert!(out.contains("started atvm-run-watcher@a.service") && out.contains("@c.service"));
    assert!(out.contains("resume: started 2 of 3 builds"), "{out}");
    assert!(
        err.contains("b: ") && err.contains("start --no-block atvm-run-watcher@b.service failed"),
        "{err}"
    );
    assert!(err.contains("1 instance(s) could not be started"), "{err}");
}

/// At most `MAX_RESUMED` (200) instances a run: the rest wait for the next one.
#[test]
fn resume_starts_at_most_200_at_once() {
    let mut sb = Sandbox::new("resume-cap");
    let calls_file = sb.stub_systemctl();
    for i in 0..203 {
        let b = format!("b{i:03}");
        fs::create_dir_all(sb.build_dir(&b)).unwrap();
        fs::write(
            sb.build_dir(&b).join("request.json"),
            format!(r#"{{"build_name":"{b}"}}"#),
        )
        .unwrap();
    }
    let (code, out, err) = run_resume(&sb, &["--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(calls(&calls_file).is_empty());
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("dry run: would start atvm"))
            .count(),
        200
    );
    assert!(
        out.contains("resume: 3 more builds need a watcher; at most 200 are started at once"),
        "{out}"
    );
}

/// `status` shows what `resume` would start as not watched (`none` in WATCHER, `"watcher":
/// "none"` in JSON, `watched` false as before), with a hint under the table; a watched
/// build as `running`; everything else as `-` (null).
#[test]
fn status_shows_a_build_without_its_watcher_as_none() {
    let mut r = rebooted("status-none");
    let sb = &r.sb;
    let (code, out, err) = text(&sb.run(None, &["status"]));
    assert_eq!(code, 0, "{err}");
    let watcher = |b: &str| {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("{b} ")))
            .unwrap_or_else(|| panic!("{b} missing:\n{out}"));
        row.rsplit("  ").next().unwrap().trim().to_string()
    };
    for (b, want) in [
        ("live-old", "none"),
        ("live-new", "none"),
        ("pending", "none"),
        ("requested", "none"),
        // No watcher holds it (nor can: resume says why it does not start it).
        ("lock-fifo", "none"),
        ("watched", "running"),
        ("posted", "-"),
        ("cancelled", "-"),
        ("cancel-marker", "-"),
        ("dry", "-"),
    ] {
        assert_eq!(watcher(b), want, "{b}:\n{out}");
    }
    assert!(
        out.ends_with(
            "\n\nWATCHER none: 5 builds are live or have a post pending, and no watcher follows them (after a reboot, say): run atvm-run-watcher resume (or start-atvm-run-watcher.sh --build-name NAME for one)\n"
        ),
        "{out}"
    );
    let (code, out, err) = text(&sb.run(None, &["status", "--json"]));
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = |b: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["build"] == b)
            .unwrap()
            .clone()
    };
    for (b, watched, watcher) in [
        ("live-old", false, serde_json::json!("none")),
        ("pending", false, serde_json::json!("none")),
        ("watched", true, serde_json::json!("running")),
        ("posted", false, serde_json::Value::Null),
    ] {
        assert_eq!(
            (row(b)["watched"].clone(), row(b)["watcher"].clone()),
            (watched.into(), watcher),
            "{b}"
        );
    }
    r.watcher.signal(SIGTERM);
    assert_eq!(r.watcher.code(), 0);
}
