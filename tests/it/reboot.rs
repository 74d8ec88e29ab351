//! A watcher started after a reboot (contract §7, "After a reboot"): a live build whose log
//! did not grow since the boot ends TERMINATED at once, unposted; a result the log holds
//! unread, a log that grew since, or a build first watched after the boot go on as before.
//! A reboot is played by dating the build (state.json's times, the log's modification
//! time) before the machine's boot as the binary reads it.

use crate::support::*;
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

pub const RESTARTED: &str = "the controller restarted during the run";

/// An hour before the machine's boot.
pub fn before_boot() -> SystemTime {
    let boot = atvm_run_watcher::testing::boot_time().expect("the boot time");
    boot - Duration::from_secs(3600)
}

fn rfc3339(t: SystemTime) -> Value {
    Value::String(humantime::format_rfc3339_millis(t).to_string())
}

/// Makes `build` look as a reboot leaves it: first watched, last updated and its log last
/// grown at `t` (before the boot), the log (when there is one) last modified then.
pub fn date_before_boot(sb: &Sandbox, build: &str, t: SystemTime) {
    let path = sb.build_dir(build).join("state.json");
    let mut st = sb.state(build);
    for key in ["created_at", "updated_at"] {
        st[key] = rfc3339(t);
    }
    if !st["last_activity_at"].is_null() {
        st["last_activity_at"] = rfc3339(t);
    }
    fs::write(&path, serde_json::to_vec_pretty(&st).unwrap()).unwrap();
    set_mtime(&sb.log(build), t);
}

pub fn set_mtime(p: &Path, t: SystemTime) {
    if let Ok(f) = fs::File::options().append(true).open(p) {
        f.set_modified(t).unwrap();
    }
}

/// A plain build whose watcher saw its run start (spec 1 of 2), then was stopped, as a
/// reboot stops it (SIGTERM: state saved).
pub fn stopped_mid_run(sb: &Sandbox, hook: &FakeMattermost, build: &str) {
    let mut w = sb.watch(hook, build, &["--hung-timeout", "0"]);
    sb.start_run(build, 2);
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(sb.state(build)["status"], "RUNNING");
}

#[test]
fn a_run_whose_log_stopped_before_the_boot_ends_terminated_at_once() {
    let sb = Sandbox::new("reboot-live");
    let hook = FakeMattermost::start();
    stopped_mid_run(&sb, &hook, "live");
    date_before_boot(&sb, "live", before_boot());
    let mut w = sb.watch(&hook, "live", &[]);
    wait_until(
        "the watcher to end the build",
        Duration::from_secs(10),
        || !w.running(),
    );
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let st = sb.state("live");
    assert_eq!(st["status"], "TERMINATED", "{st}");
    assert_eq!(st["reason"], RESTARTED, "{st}");
    assert_eq!(st["post_pending"], false, "{st}");
    assert!(
        w.stderr()
            .contains("RUNNING → TERMINATED (the controller restarted during the run)"),
        "{}",
        w.stderr()
    );
    assert_eq!(hook.received().len(), 0, "TERMINATED is never posted");
}

/// A watcher started ahead of its run, then a reboot before the launch: no run was ended,
/// so the build goes on waiting for its log (under its start timeout, counted from its
/// first start), and the run that the launch then logs is watched and posted under its name.
#[test]
fn a_waiting_build_from_before_the_boot_goes_on_waiting_for_its_log() {
    let sb = Sandbox::new("reboot-waiting");
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, "early", &[]);
    sb.wait_status("early", "WAITING");
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    date_before_boot(&sb, "early", before_boot());
    let mut w = sb.watch(&hook, "early", &["--start-timeout", "24h"]);
    sb.wait_status("early", "WAITING");
    assert!(w.running(), "it waits on: {}", w.stderr());
    sb.append_lines("early", &completed_run(), Style::PLAIN);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let st = sb.state("early");
    assert_eq!(st["status"], "COMPLETED", "{st}");
    assert_eq!(hook.delivered().len(), 1);
}

#[test]
fn what_the_boot_did_not_end_goes_on() {
    let sb = Sandbox::new("reboot-not");
    let hook = FakeMattermost::start();

    // The result was written before the boot, unread: it counts, and is posted.
    stopped_mid_run(&sb, &hook, "tail");
    sb.append_lines("tail", &completed_run(), Style::PLAIN);
    date_before_boot(&sb, "tail", before_boot());
    let mut w = sb.watch(&hook, "tail", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(sb.state("tail")["status"], "COMPLETED");
    assert_eq!(posts_of(&hook), 1);

    // The log grew after the boot: the run goes on.
    stopped_mid_run(&sb, &hook, "grew");
    date_before_boot(&sb, "grew", before_boot());
    sb.append_lines(
        "grew",
        &cypress::spec_start(&Spec::passed("b.cy.js", 1), 2, 2),
        Style::PLAIN,
    );
    let mut w = sb.watch(&hook, "grew", &[]);
    wait_until("progress after the boot", WAIT, || {
        sb.try_state("grew")
            .is_some_and(|s| s["progress"]["index"] == 2)
    });
    assert!(w.running(), "{}", w.stderr());
    assert_eq!(sb.state("grew")["status"], "RUNNING");
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0);

    // First watched after the boot, on a log older than the boot: followed as ever.
    sb.append_lines(
        "old-log",
        &cypress::run_starting(&[Spec::passed("a.cy.js", 1)]),
        Style::PLAIN,
    );
    set_mtime(&sb.log("old-log"), before_boot());
    let mut w = sb.watch(&hook, "old-log", &[]);
    sb.wait_status("old-log", "RUNNING");
    assert!(w.running(), "{}", w.stderr());
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0);
}
