//! Case 7: the controller reboots mid-run (`systemctl reboot` in the container, booted again
//! as systemd-nspawn@.service would on its exit code 133). Nothing starts the template's
//! instances at boot but the resume unit `make install` enabled: its `atvm-run-watcher
//! resume` starts the build whose post Mattermost refused before the boot (delivered once,
//! now that Mattermost takes it) and the build whose log stopped before the boot (ended
//! TERMINATED at once, not posted), and nothing else: not the cancelled builds, not the
//! finished ones. Before the reboot, `status` shows a build that no watcher holds as `none`.

use super::*;

const RESUME: &str = "atvm-run-watcher-resume.service";
const RESTARTED: &str = "the controller restarted during the run";

impl Container {
    /// `systemctl reboot`: the container's systemd stops every unit (SIGTERM: the watchers
    /// save their state), then systemd-nspawn exits 133, "reboot requested". Returns that
    /// code.
    fn reboot(mut self) -> Option<i32> {
        self.sh("systemctl reboot");
        let deadline = Instant::now() + E2E_WAIT;
        while Instant::now() < deadline {
            if let Some(st) = self.nspawn.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the container did not reboot in time; console: {}",
            self.console.display()
        );
    }

    fn resume_journal(&self) -> String {
        self.sh(&format!(
            "journalctl -b --no-pager -o cat -u {RESUME} || true"
        ))
    }
}

/// Before the reboot: a post refused, a run mid-way, two cancelled builds, a forgotten one.
fn before(ct: &Container, hook: &FakeMattermost, start: &str, cancel: &str) {
    // Mattermost refuses the post for good (HTTP 400): exit 3, restarted, refused again.
    hook.set_default(Answer::UnknownHook);
    ct.sh(&format!("{start} --build-name e2e-rb-pending"));
    ct.wait_unit("e2e-rb-pending", "active");
    ct.append("e2e-rb-pending", &failed_run());
    wait_until("the refused post recorded", E2E_WAIT, || {
        ct.state("e2e-rb-pending")
            .is_some_and(|s| s["post_pending"] == true && s["post_error"].is_string())
    });
    // A run mid-way: its log stops with the reboot.
    ct.sh(&format!("{start} --build-name e2e-rb-live"));
    ct.wait_unit("e2e-rb-live", "active");
    let run = completed_run();
    let cut = run.iter().position(|l| l.contains("Running:")).unwrap() + 1;
    ct.append("e2e-rb-live", &run[..cut]);
    wait_until("progress saved", E2E_WAIT, || {
        ct.state("e2e-rb-live")
            .is_some_and(|s| s["progress"]["index"] == 1)
    });
    // Cancelled mid-run with the helper.
    ct.sh(&format!("{start} --build-name e2e-rb-cancel"));
    ct.wait_unit("e2e-rb-cancel", "active");
    ct.append("e2e-rb-cancel", &run[..cut]);
    ct.wait_status("e2e-rb-cancel", "RUNNING");
    ct.sh(&format!("{cancel} --build-name e2e-rb-cancel"));
    ct.wait_unit("e2e-rb-cancel", "inactive");
    // e2e-bad (exit 2, case "exit 2") is live and no watcher holds it: status says so, and
    // what to run; the operator cancels it instead, as it can never be watched.
    let status = ct.sh(&format!("{PREFIX}/atvm-run-watcher status"));
    let row = status
        .lines()
        .find(|l| l.starts_with("e2e-bad "))
        .unwrap_or_else(|| panic!("e2e-bad missing:\n{status}"));
    assert!(
        row.contains("WAITING") && row.ends_with("  none"),
        "{status}"
    );
    // (e2e-rb-pending too, between two of its restarts.)
    assert!(
        status.contains("\nWATCHER none: ") && status.contains("run atvm-run-watcher resume"),
        "{status}"
    );
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("e2e-rb-live ") && l.ends_with("  running")),
        "{status}"
    );
    ct.sh(&format!(
        "{cancel} --build-name e2e-bad --reason 'never watchable'"
    ));
}

/// The journal of the resume unit: one line per build started, and why, and only those.
fn resume_started_what_needed_it(ct: &Container) {
    let mut journal = String::new();
    wait_until("the resume unit to have run", E2E_WAIT, || {
        journal = ct.resume_journal();
        journal.contains("resume: started ")
    });
    eprintln!("{journal}");
    let started: Vec<&str> = journal
        .lines()
        .filter(|l| l.starts_with("started "))
        .collect();
    assert_eq!(started.len(), 2, "{journal}");
    assert!(
        started[0].starts_with("started atvm-run-watcher@e2e-rb-live.service: RUNNING, not watched: its log has not grown since the boot: the watcher ends it TERMINATED (the controller restarted during the run)"),
        "{journal}"
    );
    assert!(
        started[1].starts_with("started atvm-run-watcher@e2e-rb-pending.service: FAILED, not watched, 1 post(s) pending: the watcher delivers it (last try: post of the FAILED result: HTTP 400"),
        "{journal}"
    );
    assert!(
        journal.contains("resume: started 2 of 12 builds under /var/lib/atvm-run-watcher"),
        "{journal}"
    );
    for bad in [
        "denied",
        "SECCOMP",
        "code=killed",
        "Failed to start",
        "status=",
    ] {
        assert!(
            !journal.contains(bad),
            "the resume unit's journal mentions {bad:?}:\n{journal}"
        );
    }
    let show = ct.sh(&format!(
        "systemctl show -p Result -p ExecMainStatus {RESUME}"
    ));
    assert!(
        show.contains("Result=success") && show.contains("ExecMainStatus=0"),
        "{show}"
    );
}

pub(super) fn reboot_mid_run(
    ct: Container,
    hook: &FakeMattermost,
    start: &str,
    cancel: &str,
    persist: &Persist,
) -> Container {
    let t7 = Instant::now();
    before(&ct, hook, start, cancel);
    let (root, staging, work) = (ct.root.clone(), ct.staging.clone(), ct.work.clone());
    assert_eq!(
        ct.reboot(),
        Some(133),
        "systemd-nspawn's exit code for a reboot"
    );
    // Mattermost is fixed while the controller is down.
    hook.set_default(Answer::Ok);
    let ct = Container::boot(&root, &staging, &work, persist);
    let booted = std::time::SystemTime::now();
    resume_started_what_needed_it(&ct);

    // The run whose log stopped before the boot: TERMINATED at once, not posted.
    let st = ct.wait_status("e2e-rb-live", "TERMINATED");
    assert_eq!(st["reason"], RESTARTED, "{st}");
    let finished = humantime::parse_rfc3339(st["finished_at"].as_str().unwrap()).unwrap();
    let took = finished.duration_since(booted).unwrap_or_default();
    assert!(
        took < Duration::from_secs(10),
        "ended {took:?} after the boot"
    );
    ct.wait_unit("e2e-rb-live", "inactive");
    assert_eq!(posts_for(hook, "e2e-rb-live").len(), 0);
    // The pending post: delivered, once.
    ct.wait_unit("e2e-rb-pending", "inactive");
    let st = ct.state("e2e-rb-pending").unwrap();
    assert_eq!(
        (st["posted"].clone(), st["post_pending"].clone()),
        (true.into(), false.into()),
        "{st}"
    );
    assert_eq!(posts_for(hook, "e2e-rb-pending").len(), 1);
    // The cancelled builds were not started in this boot; nor the finished ones.
    for b in [
        "e2e-rb-cancel",
        "e2e-bad",
        "e2e-cancel",
        "e2e-completed",
        "e2e-down",
    ] {
        let j = ct.journal(b);
        assert!(
            !j.contains("Started") && !j.contains("Starting"),
            "{b} was started after the boot:\n{j}"
        );
    }
    assert_eq!(ct.state("e2e-rb-cancel").unwrap()["status"], "CANCELLED");
    assert_eq!(ct.state("e2e-bad").unwrap()["status"], "CANCELLED");
    // Nothing is left without a watcher.
    let status = ct.sh(&format!("{PREFIX}/atvm-run-watcher status"));
    assert!(!status.contains("none"), "{status}");
    eprintln!("e2e: case 7 (reboot mid-run) {:?}", t7.elapsed());
    ct
}
