//! `watch` following one plain (non-categorized) run to its end: completed and failed
//! runs, a log that comes late, hung runs and the start timeout, a terminated run, `--pid`,
//! a log truncated, rotated or deleted, restarts after SIGKILL and SIGTERM, a corrupt
//! state rebuilt, huge lines and binary noise, dry runs, forced polling, bad input (exit 2),
//! journal output and a custom rules file. The real binary in a temp dir, a real log file
//! appended to, a fake Mattermost on 127.0.0.1.

use crate::support::*;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn completed_run_is_posted_once_with_its_details() {
    let sb = Sandbox::new("completed");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(
        &hook,
        "nightly-42",
        &[
            "--template",
            "rhel9-ocp",
            "--config-family",
            "vmware",
            "--migration-style",
            "warm",
            "--integration-plugin",
            "vddk",
            "--scope-description",
            "full regression",
        ],
    );
    sb.wait_status("nightly-42", "WAITING");
    sb.append_lines(
        "nightly-42",
        &cypress::atvm_preamble("nightly-42"),
        Style::PLAIN,
    );
    sb.wait_status("nightly-42", "RUNNING");
    let lines = completed_run();
    let (head, tail) = lines.split_at(lines.len() / 2);
    sb.append_lines("nightly-42", head, Style::ALL);
    sb.append_lines("nightly-42", tail, Style::ALL);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let got = hook.received();
    assert_eq!(got.len(), 1);
    let text = got[0].visible();
    assert!(
        text.starts_with(":white_check_mark: ATVM run COMPLETED · nightly-42"),
        "{text}"
    );
    for want in [
        "rhel9-ocp",
        "vmware",
        "warm",
        "vddk",
        "full regression",
        "7 tests: 7 passed",
        "12:41",
        "nightly-42.log",
    ] {
        assert!(text.contains(want), "{want} missing in:\n{text}");
    }
    let st = sb.state("nightly-42");
    assert_eq!(st["status"], "COMPLETED");
    assert_eq!(st["posted"], true);
    assert_eq!(st["post_pending"], false);
    assert_eq!(st["tests"]["total"], 7);
    assert!(st["finished_at"].is_string());
    assert!(sb.marker("nightly-42", "posted.marker"));
    let req: serde_json::Value =
        serde_json::from_slice(&fs::read(sb.build_dir("nightly-42").join("request.json")).unwrap())
            .unwrap();
    assert_eq!(req["template"], "rhel9-ocp");
    assert!(w.stderr().contains("RUNNING → COMPLETED"), "{}", w.stderr());
}

#[test]
fn failed_run_lists_failed_specs() {
    let sb = Sandbox::new("failed");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "b-failed", &[]);
    sb.append_lines(
        "b-failed",
        &failed_run(),
        Style {
            crlf: true,
            timestamps: true,
            colour: false,
        },
    );
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let text = hook.wait_for(1, WAIT)[0].visible();
    assert!(text.starts_with(":x: ATVM run FAILED · b-failed"), "{text}");
    assert!(
        text.contains("migrate/windows_server_2022_dynamic_disks_uefi.cy.js"),
        "{text}"
    );
    assert_eq!(sb.state("b-failed")["status"], "FAILED");
    assert_eq!(posts_of(&hook), 1);
}

#[test]
fn log_finished_before_the_watcher_started() {
    let sb = Sandbox::new("before");
    let hook = FakeMattermost::start();
    sb.append_lines("early", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "early", &[]);
    assert_eq!(w.code(), 0);
    assert_eq!(posts_of(&hook), 1);
    let size = fs::metadata(sb.log("early")).unwrap().len();
    assert_eq!(
        sb.state("early")["log_position"]["offset"],
        size,
        "the whole log was consumed"
    );
    // A second start of a finished, posted build exits 0 at once and posts nothing.
    let mut again = sb.watch(&hook, "early", &[]);
    assert_eq!(again.code(), 0);
    assert!(
        again.stderr().contains("already finished"),
        "{}",
        again.stderr()
    );
    assert_eq!(hook.received().len(), 1);
}

#[test]
fn log_and_its_directory_appearing_late() {
    let mut sb = Sandbox::new("late");
    let hook = FakeMattermost::start();
    let deep = sb.root.join("not/yet/there");
    sb.env
        .push(("ATVM_WATCHER_LOG_DIR".into(), deep.to_string_lossy().into()));
    let mut w = sb.watch(&hook, "late", &[]);
    sb.wait_status("late", "WAITING");
    fs::create_dir_all(&deep).unwrap();
    fs::write(
        deep.join("late.log"),
        cypress::render(&completed_run(), Style::PLAIN),
    )
    .unwrap();
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(sb.state("late")["status"], "COMPLETED");
    assert_eq!(posts_of(&hook), 1);
}

#[test]
fn quiet_log_goes_hung_and_is_not_posted() {
    let sb = Sandbox::new("hung");
    let hook = FakeMattermost::start();
    let mut lines = cypress::run_starting(&[Spec::passed("a.cy.js", 1)]);
    lines.extend(cypress::spec_start(&Spec::passed("a.cy.js", 1), 1, 1));
    sb.append_lines("h", &lines, Style::PLAIN);
    let mut w = sb.watch(&hook, "h", &["--hung-timeout", "1s"]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let st = sb.state("h");
    assert_eq!(st["status"], "HUNG");
    assert_eq!(st["posted"], false);
    assert_eq!(st["post_pending"], false);
    assert_eq!(hook.received().len(), 0);
}

#[test]
fn no_log_within_start_timeout_is_unknown() {
    let sb = Sandbox::new("unknown");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "never", &["--start-timeout", "1"]);
    assert_eq!(w.code(), 0);
    let st = sb.state("never");
    assert_eq!(st["status"], "UNKNOWN");
    assert!(
        st["reason"]
            .as_str()
            .unwrap()
            .contains("no log file appeared")
    );
    assert_eq!(hook.received().len(), 0);
}

#[test]
fn terminated_line_ends_the_run_unposted() {
    let sb = Sandbox::new("terminated");
    let hook = FakeMattermost::start();
    let mut lines = cypress::run_starting(&[Spec::passed("a.cy.js", 1)]);
    lines.extend(cypress::spec_start(&Spec::passed("a.cy.js", 1), 1, 1));
    lines.push("Nov 22 10:41:07 Killed".into());
    let mut w = sb.watch(&hook, "t", &[]);
    sb.append_lines("t", &lines, Style::PLAIN);
    assert_eq!(w.code(), 0);
    assert_eq!(sb.state("t")["status"], "TERMINATED");
    assert_eq!(hook.received().len(), 0);
}

#[test]
fn pid_exit_without_result() {
    let sb = Sandbox::new("pid");
    let hook = FakeMattermost::start();
    // Before any run started: UNKNOWN.
    let (mut p1, pid1) = run_process();
    let mut w1 = sb.watch(&hook, "p1", &["--pid", &pid1]);
    sb.wait_status("p1", "WAITING");
    p1.kill().unwrap();
    p1.wait().unwrap();
    assert_eq!(w1.code(), 0);
    assert_eq!(sb.state("p1")["status"], "UNKNOWN");

    // After (Run Starting): TERMINATED.
    let (mut p2, pid2) = run_process();
    let mut w2 = sb.watch(&hook, "p2", &["--pid", &pid2]);
    sb.start_run("p2", 1);
    p2.kill().unwrap();
    p2.wait().unwrap();
    assert_eq!(w2.code(), 0);
    assert_eq!(sb.state("p2")["status"], "TERMINATED");

    // The process exits right after the result: the result wins.
    let (mut p3, pid3) = run_process();
    let mut w3 = sb.watch(&hook, "p3", &["--pid", &pid3]);
    sb.wait_status("p3", "WAITING");
    sb.append_lines("p3", &completed_run(), Style::PLAIN);
    p3.kill().unwrap();
    p3.wait().unwrap();
    assert_eq!(w3.code(), 0);
    assert_eq!(sb.state("p3")["status"], "COMPLETED");
    assert_eq!(hook.received().len(), 1);
}

/// A stand-in for the run's process (`--pid`), and its pid as a flag value.
fn run_process() -> (std::process::Child, String) {
    let p = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let pid = p.id().to_string();
    (p, pid)
}

#[test]
fn a_pid_not_running_when_recorded_is_ignored_not_fatal() {
    let sb = Sandbox::new("nopid");
    let hook = FakeMattermost::start();
    // A pid that does not exist (pid_max is at most 2^22).
    let mut w = sb.watch(&hook, "np", &["--pid", "4194305"]);
    sb.start_run("np", 3);
    assert!(
        w.running(),
        "a typo in --pid must not end the run: {}",
        w.stderr()
    );
    sb.append_lines("np", &completed_run()[13..], Style::PLAIN);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert!(
        w.stderr()
            .contains("--pid 4194305 is not running; watching without it"),
        "{}",
        w.stderr()
    );
    assert_eq!(sb.state("np")["status"], "COMPLETED");
    assert_eq!(hook.delivered().len(), 1);
}

#[test]
fn truncated_log_is_read_again_from_the_start() {
    let sb = Sandbox::new("truncate");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "tr", &[]);
    let mut first = cypress::run_starting(&[Spec::passed("old.cy.js", 1)]);
    first.extend(cypress::spec_start(&Spec::passed("old.cy.js", 1), 1, 1));
    sb.append_lines("tr", &first, Style::PLAIN);
    wait_until("progress seen", WAIT, || {
        sb.try_state("tr")
            .is_some_and(|s| s["progress"]["index"] == 1)
    });
    fs::OpenOptions::new()
        .write(true)
        .open(sb.log("tr"))
        .unwrap()
        .set_len(0)
        .unwrap();
    // Shorter than before, so the truncation is visible by size.
    sb.append_lines(
        "tr",
        &cypress::run_finished(&[Spec::failed("new.cy.js", 2, 1)], "00:09"),
        Style::PLAIN,
    );
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let st = sb.state("tr");
    assert_eq!(st["status"], "FAILED");
    assert_eq!(st["failed_specs"][0], "new.cy.js");
    assert_eq!(posts_of(&hook), 1);
}

#[test]
fn rotation_drains_the_old_file_then_follows_the_new() {
    let sb = Sandbox::new("rotate");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "rot", &[]);
    sb.start_run("rot", 1);
    // Freeze the watcher so that it can only see the result by draining the rotated file.
    w.signal(SIGSTOP);
    sb.append_lines(
        "rot",
        &cypress::run_finished(&[Spec::passed("a.cy.js", 1)], "00:33"),
        Style::PLAIN,
    );
    fs::rename(sb.log("rot"), sb.log_dir.join("rot.log.1")).unwrap();
    sb.append_lines(
        "rot",
        &["[atvm] a new log after rotation".to_string()],
        Style::PLAIN,
    );
    w.signal(SIGCONT);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let st = sb.state("rot");
    assert_eq!(st["status"], "COMPLETED");
    assert_eq!(st["duration"], "00:33");
    assert_eq!(posts_of(&hook), 1);
}

#[test]
fn deleted_and_recreated_log() {
    let sb = Sandbox::new("recreate");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "rc", &[]);
    sb.start_run("rc", 1);
    fs::remove_file(sb.log("rc")).unwrap();
    assert!(w.running());
    sb.append_lines("rc", &failed_run(), Style::ALL);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(sb.state("rc")["status"], "FAILED");
    assert_eq!(posts_of(&hook), 1);
}

#[test]
fn sigkill_then_restart_posts_once() {
    let sb = Sandbox::new("sigkill");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "k", &[]);
    sb.start_run("k", 3);
    w.signal(SIGKILL);
    w.wait(WAIT);
    sb.append_lines("k", &completed_run()[13..], Style::PLAIN);
    let mut w2 = sb.watch(&hook, "k", &[]);
    assert_eq!(w2.code(), 0, "{}", w2.stderr());
    assert_eq!(sb.state("k")["status"], "COMPLETED");
    // Killed after posting: a restart posts nothing more.
    let mut w3 = sb.watch(&hook, "k", &[]);
    assert_eq!(w3.code(), 0);
    assert_eq!(hook.received().len(), 1);
}

#[test]
fn sigterm_saves_and_a_restart_resumes() {
    let sb = Sandbox::new("sigterm");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "st", &[]);
    let lines = completed_run();
    let cut = lines
        .iter()
        .position(|l| l.contains("(Run Finished)"))
        .unwrap()
        - 2;
    sb.append_lines("st", &lines[..cut], Style::PLAIN);
    let size = fs::metadata(sb.log("st")).unwrap().len();
    wait_until("progress 2 of 2 saved", WAIT, || {
        sb.try_state("st")
            .is_some_and(|s| s["progress"]["index"] == 2)
    });
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0);
    let st = sb.state("st");
    assert_eq!(st["status"], "RUNNING");
    assert_eq!(
        st["log_position"]["offset"], size,
        "the position is saved on SIGTERM"
    );
    sb.append_lines("st", &lines[cut..], Style::PLAIN);
    let mut w2 = sb.watch(&hook, "st", &[]);
    assert_eq!(w2.code(), 0, "{}", w2.stderr());
    assert_eq!(sb.state("st")["status"], "COMPLETED");
    assert_eq!(hook.received().len(), 1);
}

#[test]
fn a_second_watcher_for_the_same_build_exits_4() {
    let sb = Sandbox::new("second");
    let hook = FakeMattermost::start();
    let mut first = sb.watch(&hook, "dup", &[]);
    sb.wait_status("dup", "WAITING");
    let out = sb.run(Some(&hook.url()), &["--build-name", "dup"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another watcher already holds build dup")
    );
    assert!(first.running());
    sb.append_lines("dup", &completed_run(), Style::PLAIN);
    assert_eq!(first.code(), 0);
    assert_eq!(posts_of(&hook), 1);
}

#[test]
fn corrupt_state_is_rebuilt_and_markers_prevent_duplicates() {
    let sb = Sandbox::new("corrupt");
    let hook = FakeMattermost::start();
    sb.append_lines("c", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "c", &[]);
    assert_eq!(w.code(), 0);
    assert_eq!(hook.received().len(), 1);

    fs::write(
        sb.build_dir("c").join("state.json"),
        b"{\"schema\": 1, \"status\": \"COMPL",
    )
    .unwrap();
    let mut w2 = sb.watch(&hook, "c", &[]);
    assert_eq!(w2.code(), 0, "{}", w2.stderr());
    assert!(
        w2.stderr().contains("state.json was unreadable"),
        "{}",
        w2.stderr()
    );
    assert_eq!(
        hook.received().len(),
        1,
        "posted.marker prevents a second post"
    );
    let st = sb.state("c");
    assert_eq!(st["status"], "COMPLETED");
    assert_eq!(st["posted"], true);
    let aside = fs::read_dir(sb.build_dir("c"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("state.json.corrupt-")
        })
        .count();
    assert_eq!(aside, 1);

    // Without a marker, the rebuilt state posts (once).
    fs::remove_file(sb.build_dir("c").join("posted.marker")).unwrap();
    fs::write(sb.build_dir("c").join("state.json"), b"\x00\xff not json").unwrap();
    let mut w3 = sb.watch(&hook, "c", &[]);
    assert_eq!(w3.code(), 0);
    assert_eq!(hook.received().len(), 2);
}

#[test]
fn huge_line_and_binary_noise_do_not_stop_the_watcher() {
    let sb = Sandbox::new("noise");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "n", &[]);
    sb.append_lines(
        "n",
        &cypress::run_starting(&[Spec::passed("a.cy.js", 1)]),
        Style::ALL,
    );
    let mut big = vec![b'A'; 8 << 20];
    big.push(b'\n');
    sb.append("n", &big);
    let noise: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    sb.append("n", &noise);
    sb.append("n", b"\n");
    sb.append_lines(
        "n",
        &cypress::run_finished(&[Spec::passed("a.cy.js", 1)], "00:02"),
        Style::ALL,
    );
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(sb.state("n")["status"], "COMPLETED");
    assert_eq!(posts_of(&hook), 1);
}

#[test]
fn cancel_marker_is_seen_quickly_and_nothing_is_posted() {
    let sb = Sandbox::new("marker");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "cm", &[]);
    sb.append_lines(
        "cm",
        &cypress::run_starting(&[Spec::passed("a.cy.js", 1)]),
        Style::PLAIN,
    );
    sb.wait_status("cm", "RUNNING");
    let t = std::time::Instant::now();
    fs::write(
        sb.build_dir("cm").join("cancelled.marker"),
        br#"{"at":"2026-11-22T10:00:00Z","reason":"operator"}"#,
    )
    .unwrap();
    assert_eq!(w.code(), 0);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "seen after {:?}",
        t.elapsed()
    );
    sb.append_lines("cm", &completed_run(), Style::PLAIN);
    let st = sb.state("cm");
    assert_eq!(st["status"], "CANCELLED");
    assert_eq!(hook.received().len(), 0);
    // A restart of a cancelled build exits 0 at once.
    let mut again = sb.watch(&hook, "cm", &[]);
    assert_eq!(again.code(), 0);
    assert_eq!(hook.received().len(), 0);
}

#[test]
fn dry_run_prints_and_posts_nothing() {
    let sb = Sandbox::new("dry");
    sb.append_lines("d", &failed_run(), Style::ALL);
    // No state root given: it must not touch the real one (the sandbox's stays empty).
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("ATVM_WATCHER_LOG_DIR", &sb.log_dir)
        .env("ATVM_WATCHER_ENV_FILE", sb.root.join("no-env-file"))
        .args(["--build-name", "d", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        visible(&dry_run_posts(&stdout)[0]).starts_with(":x: ATVM run FAILED · d"),
        "{stdout}"
    );
    assert_eq!(fs::read_dir(&sb.state_root).unwrap().count(), 0);

    // With a state root: decisions are recorded, no posted.marker.
    let out = sb.run(None, &["--build-name", "d", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    let st = sb.state("d");
    assert_eq!(st["status"], "FAILED");
    assert_eq!(st["posted"], false);
    assert_eq!(st["post_pending"], false);
    assert!(!sb.marker("d", "posted.marker"));
}

#[test]
fn a_dry_run_never_uses_up_or_changes_a_real_build() {
    let sb = Sandbox::new("dryreal");
    let hook = FakeMattermost::start();
    sb.append_lines("dr", &completed_run(), Style::PLAIN);
    // A dry run into the real state root first (ATVM_WATCHER_STATE_ROOT is set here).
    let out = sb.run(None, &["--build-name", "dr", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(sb.state("dr")["dry_run"], true);
    // The real watch is not fooled into "already finished": it posts, once.
    let mut w = sb.watch(&hook, "dr", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert!(w.stderr().contains("set aside"), "{}", w.stderr());
    assert_eq!(hook.delivered().len(), 1);
    let st = sb.state("dr");
    assert_eq!(
        (st["posted"].clone(), st["dry_run"].clone()),
        (true.into(), false.into())
    );
    let aside = fs::read_dir(sb.build_dir("dr"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("state.json.dry-run-")
        })
        .count();
    assert_eq!(aside, 1);
    // A dry run now refuses to touch the real state.
    let before = fs::read(sb.build_dir("dr").join("state.json")).unwrap();
    let out = sb.run(None, &["--build-name", "dr", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has a real state"));
    assert_eq!(
        fs::read(sb.build_dir("dr").join("state.json")).unwrap(),
        before
    );
}

#[test]
fn a_dry_run_with_a_closed_stdout_still_records_its_decision() {
    let sb = Sandbox::new("dryclosed");
    sb.append_lines("dc", &completed_run(), Style::PLAIN);
    let root = sb.root.join("dry-state");
    let out = sb
        .cmd(None)
        .args([
            "--build-name",
            "dc",
            "--dry-run",
            "--state-root",
            root.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(closed_pipe())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    no_panic("dry run, stdout closed", out.status, &err);
    assert!(
        out.status.code() == Some(0) || out.status.signal() == Some(libc::SIGPIPE),
        "{}: {err}",
        out.status
    );
    let st: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join("dc").join("state.json")).unwrap()).unwrap();
    assert_eq!(st["status"], "COMPLETED", "{st}");
    assert_eq!(
        (st["posted"].clone(), st["post_pending"].clone()),
        (false.into(), false.into()),
        "the dry run's decision (printed, nothing pending) must be recorded: {st}"
    );
    assert!(!root.join("dc").join("posted.marker").exists());
}

#[test]
fn forced_polling_still_follows_everything() {
    let mut sb = Sandbox::new("poll");
    sb.env.push(("ATVM_WATCHER_FORCE_POLL".into(), "1".into()));
    sb.env
        .push(("ATVM_WATCHER_POLL_INTERVAL".into(), "50ms".into()));
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "pl", &[]);
    sb.wait_status("pl", "WAITING");
    sb.append_lines(
        "pl",
        &cypress::run_starting(&[Spec::passed("a.cy.js", 1)]),
        Style::PLAIN,
    );
    sb.wait_status("pl", "RUNNING");
    fs::rename(sb.log("pl"), sb.log_dir.join("pl.log.1")).unwrap();
    sb.append_lines("pl", &completed_run(), Style::PLAIN);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert!(w.stderr().contains("by polling"), "{}", w.stderr());
    assert_eq!(posts_of(&hook), 1);
}

#[test]
#[allow(clippy::type_complexity)]
fn bad_input_is_exit_2_and_creates_nothing() {
    let sb = Sandbox::new("badinput");
    let hook = FakeMattermost::start();
    let url = hook.url();
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (
            vec!["--build-name", "../etc"],
            Some(&url),
            "invalid build name",
        ),
        (
            vec!["--build-name", "a b"],
            Some(&url),
            "invalid build name",
        ),
        (vec![], Some(&url), "--build-name is required"),
        (
            vec!["--build-name", "ok"],
            None,
            "MATTERMOST_ATVM_WEBHOOK is not set",
        ),
        (
            vec!["--build-name", "ok"],
            Some("ftp://127.0.0.1/hooks/x"),
            "not a valid http",
        ),
        (
            vec!["--build-name", "ok", "--hung-timeout", "soon"],
            Some(&url),
            "--hung-timeout: invalid duration",
        ),
        (
            vec!["--build-name", "ok", "--rules", "/nonexistent/rules.json"],
            Some(&url),
            "rules file /nonexistent/rules.json",
        ),
        (vec!["--build-name", "ok", "--bogus"], Some(&url), "--bogus"),
    ];
    for (args, hook_url, want) in cases {
        let out = sb.run(hook_url, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert_eq!(
            fs::read_dir(&sb.state_root).unwrap().count(),
            0,
            "{args:?} created something"
        );
    }
    let file = sb.root.join("plain");
    fs::write(&file, b"").unwrap();
    let out = sb.run(
        Some(&url),
        &["--build-name", "ok", "--state-root", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
}

#[test]
fn a_bad_duration_from_the_environment_names_the_variable() {
    let sb = Sandbox::new("envdur");
    let hook = FakeMattermost::start();
    let mut problems = Vec::new();
    for (var, flag) in [
        ("ATVM_WATCHER_HUNG_TIMEOUT", "--hung-timeout"),
        ("ATVM_WATCHER_START_TIMEOUT", "--start-timeout"),
    ] {
        let out = sb
            .cmd(Some(&hook.url()))
            .env(var, "abc")
            .args(["--build-name", "e"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let (code, _, err) = text(&out);
        if code != 2 {
            problems.push(format!("{var}=abc: exit {code}, not 2: {err}"));
        }
        if err.trim_end().lines().count() != 1 {
            problems.push(format!("{var}=abc: not one line: {err}"));
        }
        if !err.contains(var) {
            problems.push(format!("{var}=abc: the error does not name {var}: {err}"));
        }
        if !err.to_lowercase().contains("environment") {
            problems.push(format!(
                "{var}=abc: the error does not say it came from the environment: {err}"
            ));
        }
        if err.contains(flag) {
            problems.push(format!(
                "{var}=abc: the error names {flag}, which was not given: {err}"
            ));
        }
        // The flag itself keeps naming the flag.
        let (code, _, err) = text(&sb.run(Some(&hook.url()), &["--build-name", "e", flag, "abc"]));
        if code != 2 || !err.contains(flag) {
            problems.push(format!("{flag} abc: exit {code}: {err}"));
        }
    }
    assert_eq!(
        fs::read_dir(&sb.state_root).unwrap().count(),
        0,
        "bad input created something"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_bad_duration_in_request_json_names_the_file_and_the_field() {
    let mut sb = Sandbox::new("reqdur");
    let calls_file = sb.stub_systemctl();
    let hook = FakeMattermost::start();
    sb.env_file(&sb.env_text(&hook.url()));
    let (code, _, err) = text(&sb.run(
        None,
        &["start", "--build-name", "rq", "--hung-timeout", "3h"],
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(calls(&calls_file).len(), 1);
    let req_path = sb.build_dir("rq").join("request.json");
    let req = fs::read_to_string(&req_path).unwrap();
    assert!(req.contains("\"3h\""), "{req}");
    fs::write(&req_path, req.replace("\"3h\"", "\"abc\"")).unwrap();

    // The instance: only --build-name, the rest from request.json.
    let (code, _, err) = text(&sb.run(Some(&hook.url()), &["--build-name", "rq"]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(&req_path.display().to_string()) && err.contains("hung_timeout"),
        "the error must name {} and its field hung_timeout: {err}",
        req_path.display()
    );
    assert!(
        !err.contains("--hung-timeout"),
        "no --hung-timeout was given: {err}"
    );
    assert!(sb.try_state("rq").is_none(), "nothing was started");
}

#[test]
fn journal_output_has_priorities_and_no_timestamps() {
    let mut sb = Sandbox::new("journal");
    sb.env.push(("JOURNAL_STREAM".into(), "8:12345".into()));
    let hook = FakeMattermost::start();
    sb.append_lines("j", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "j", &[]);
    assert_eq!(w.code(), 0);
    let err = w.stderr();
    assert!(err.lines().all(|l| l.starts_with('<')), "{err}");
    assert!(err.contains("<6>j: RUNNING → COMPLETED"), "{err}");
    assert!(!err.contains("\x1b["));
}

#[test]
fn custom_rules_file_changes_the_markers() {
    let sb = Sandbox::new("rules");
    let hook = FakeMattermost::start();
    let rules = sb.root.join("rules.json");
    fs::write(
        &rules,
        r#"{"terminated_lines": ["Terminated", "Killed", "Aborted by operator"]}"#,
    )
    .unwrap();
    let mut lines = cypress::run_starting(&[Spec::passed("a.cy.js", 1)]);
    lines.push("Aborted by operator".into());
    sb.append_lines("cr", &lines, Style::PLAIN);
    let mut w = sb.watch(&hook, "cr", &["--rules", rules.to_str().unwrap()]);
    assert_eq!(w.code(), 0);
    assert_eq!(sb.state("cr")["status"], "TERMINATED");
}

/// Issue 19, fault 20: a SIGKILL between an atomic write's temp file and its rename left
/// `.state.json.tmp<pid>` behind for good. A watcher removes, when it starts, the temp
/// files of its own naming whose process is gone, in the build directory and its sub-run
/// directories; nothing else (another name, a live process's, a link, a directory).
#[test]
fn stale_temp_files_are_removed_at_start() {
    let sb = Sandbox::new("stale-tmp");
    let hook = FakeMattermost::start();
    let dir = sb.build_dir("tp");
    let sub = dir.join("subruns").join("01-linux");
    fs::create_dir_all(&sub).unwrap();
    // No process has a pid above pid_max.
    let pid_max: u64 = fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dead = pid_max + 7;
    let live = std::process::id();
    let outside = sb.root.join("outside");
    fs::write(&outside, "keep").unwrap();
    let stale = [
        dir.join(format!(".state.json.tmp{dead}")),
        dir.join(format!(".request.json.tmp{dead}")),
        dir.join(format!(".cancelled.marker.tmp{}", dead + 1)),
        sub.join(format!(".state.json.tmp{dead}")),
        sub.join(format!(".posted.marker.tmp{dead}")),
    ];
    let kept = [
        dir.join(format!(".state.json.tmp{live}")),
        dir.join(format!("state.json.tmp{dead}")),
        dir.join(format!(".state.json.tmp{dead}x")),
        dir.join(".state.json.tmp"),
        dir.join(format!(".notes.txt.tmp{dead}")),
        dir.join(format!(".state.json.corrupt-x.tmp{dead}")),
    ];
    for p in stale.iter().chain(&kept) {
        fs::write(p, "{\"half\": ").unwrap();
    }
    let link = dir.join(format!(".posted.marker.tmp{}", dead + 2));
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let a_dir = dir.join(format!(".state.json.tmp{}", dead + 3));
    fs::create_dir(&a_dir).unwrap();

    sb.append_lines("tp", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "tp", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(posts_of(&hook), 1);
    for p in &stale {
        assert!(!p.exists(), "stale, removed: {}", p.display());
    }
    for p in &kept {
        assert!(
            p.exists(),
            "not of the naming, or live: kept: {}",
            p.display()
        );
    }
    assert!(fs::symlink_metadata(&link).is_ok(), "a link is kept");
    assert_eq!(fs::read_to_string(&outside).unwrap(), "keep");
    assert!(a_dir.is_dir(), "a directory is kept");
    assert!(
        w.stderr()
            .contains("removed 5 temporary files left by processes that are gone"),
        "{}",
        w.stderr()
    );
}
