//! End-to-end test under a real systemd: boots a `systemd-nspawn` container, installs the
//! release tarball with `make install`, and drives real workflows through the installed
//! start/cancel helpers and `systemctl`, with a fake Mattermost on the host's 127.0.0.1
//! (the container shares the host network) and run logs written under
//! /root/cdc-e2e-cyp-12.17.4/cypress/cmcReporter/tmp/ inside the container.
//!
//! One test boots the container, installs, then runs the workflows in order, one function
//! each (each builds on what the ones before left: the install, the edited env file, the
//! builds that `status` lists at the end). What a controller keeps across a reboot (/etc,
//! /opt, the state root, /root) is bound from host directories, so that the container can
//! be rebooted mid-run and booted again (`reboot.rs`).
//!
//! Needs root and systemd-nspawn; run through `make e2e` (tests/e2e/run.sh), which builds
//! the tarball and sets ATVM_E2E_TARBALL (and ATVM_E2E_ROOT for a debootstrap root).
//! Ignored by a plain `cargo test`.

#[allow(dead_code, unused_imports)] // the container test uses only part of the harness
#[path = "../support/mod.rs"]
mod support;

mod reboot;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const LOG_DIR: &str = "/root/cdc-e2e-cyp-12.17.4/cypress/cmcReporter/tmp";
const STATE_ROOT: &str = "/var/lib/atvm-run-watcher";
const PREFIX: &str = "/opt/atvm-watcher-service";
const E2E_WAIT: Duration = Duration::from_secs(30);

/// What a controller keeps across a reboot, kept on the host and bound into the container
/// at each boot: its /etc, /opt, state root and /root. /etc starts as the root's own: empty
/// for the host's /usr on a tmpfs (systemd fills it at the first boot), a copy for a
/// prepared root.
struct Persist {
    base: PathBuf,
}

/// Each kept directory: its name under `Persist::base`, its place in the container, its mode.
const KEPT: [(&str, &str, u32); 4] = [
    ("etc", "/etc", 0o755),
    ("opt", "/opt", 0o755),
    ("state", STATE_ROOT, 0o750),
    ("root", "/root", 0o700),
];

impl Persist {
    fn new(root: &Path, work: &Path) -> Persist {
        let base = work.join("persist");
        fs::create_dir_all(&base).unwrap();
        for (dir, _, mode) in KEPT {
            let d = base.join(dir);
            if dir == "etc" && root != Path::new("/") {
                let copied = Command::new("cp")
                    .arg("-a")
                    .arg(root.join("etc"))
                    .arg(&d)
                    .status()
                    .unwrap();
                assert!(copied.success(), "copying {}/etc", root.display());
            } else {
                fs::create_dir_all(&d).unwrap();
            }
            fs::set_permissions(&d, fs::Permissions::from_mode(mode)).unwrap();
        }
        Persist { base }
    }

    /// systemd-nspawn's arguments that bind them.
    fn binds(&self) -> Vec<String> {
        KEPT.iter()
            .map(|(dir, at, _)| format!("--bind={}:{at}", self.base.join(dir).display()))
            .collect()
    }
}

/// A booted container; powered off and reaped on drop.
struct Container {
    nspawn: Child,
    leader: u32,
    console: PathBuf,
    /// What it was booted from, to boot it again.
    root: PathBuf,
    staging: PathBuf,
    work: PathBuf,
}

fn children(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

impl Container {
    /// Boots `root`: the host's own file system on a tmpfs (`/`, with `--volatile=yes`) or
    /// a prepared root directory (with `--volatile=overlay`, so it stays unchanged), with
    /// what survives a reboot bound from `persist` (`KEPT`).
    fn boot(root: &Path, staging: &Path, work: &Path, persist: &Persist) -> Container {
        let console = (1..)
            .map(|n| work.join(format!("console-{n}.log")))
            .find(|p| !p.exists())
            .unwrap();
        let volatile = if root == Path::new("/") {
            "--volatile=yes"
        } else {
            "--volatile=overlay"
        };
        let nspawn = Command::new("systemd-nspawn")
            .args(["--quiet", "--register=no", "--keep-unit", volatile])
            .arg("-D")
            .arg(root)
            .arg(format!("--bind-ro={}:/staging", staging.display()))
            .args(persist.binds())
            .args([
                "-b",
                "--console=pipe",
                "systemd.mask=systemd-firstboot.service",
            ])
            .stdin(Stdio::null())
            .stdout(fs::File::create(&console).unwrap())
            .stderr(Stdio::from(
                fs::File::create(work.join("nspawn.err")).unwrap(),
            ))
            .spawn()
            .expect("systemd-nspawn (apt-get install systemd-container)");
        let pid = nspawn.id();
        let mut leader = 0;
        wait_until("the container's systemd", E2E_WAIT, || {
            leader = children(pid)
                .into_iter()
                .find(|c| {
                    fs::read_to_string(format!("/proc/{c}/comm"))
                        .is_ok_and(|s| s.trim() == "systemd")
                })
                .unwrap_or(0);
            leader != 0 && Path::new(&format!("/proc/{leader}/root/run/systemd/private")).exists()
        });
        let c = Container {
            nspawn,
            leader,
            console,
            root: root.to_path_buf(),
            staging: staging.to_path_buf(),
            work: work.to_path_buf(),
        };
        let state = c.sh("systemctl is-system-running --wait || true");
        assert!(
            state.contains("running") || state.contains("degraded"),
            "system state: {state}"
        );
        c
    }

    /// A path of the container's file system, seen from the host.
    fn path(&self, p: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{p}", self.leader))
    }

    /// The permission bits of a path in the container, in octal (`600`).
    fn mode(&self, p: &str) -> String {
        format!(
            "{:o}",
            fs::metadata(self.path(p)).unwrap().permissions().mode() & 0o7777
        )
    }

    /// Runs a shell command inside the container; returns stdout+stderr; panics on failure
    /// unless the command ends with `|| true`.
    fn sh(&self, cmd: &str) -> String {
        let out = Command::new("nsenter")
            .args([
                "-t",
                &self.leader.to_string(),
                "-a",
                "--",
                "/bin/sh",
                "-c",
                cmd,
            ])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "in the container: {cmd}\n{text}");
        text
    }

    fn unit_state(&self, build: &str) -> String {
        self.sh(&format!(
            "systemctl is-active atvm-run-watcher@{build}.service || true"
        ))
        .trim()
        .to_string()
    }

    fn wait_unit(&self, build: &str, want: &str) {
        wait_until(
            &format!("atvm-run-watcher@{build} to be {want}"),
            E2E_WAIT,
            || self.unit_state(build) == want,
        );
    }

    fn journal(&self, build: &str) -> String {
        self.sh(&format!(
            "journalctl -b --no-pager -o cat -u atvm-run-watcher@{build}.service || true"
        ))
    }

    fn append(&self, build: &str, lines: &[String]) {
        let p = self.path(&format!("{LOG_DIR}/{build}.log"));
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .unwrap();
        std::io::Write::write_all(&mut f, &cypress::render(lines, Style::ALL)).unwrap();
    }

    fn state(&self, build: &str) -> Option<serde_json::Value> {
        fs::read(self.path(&format!("{STATE_ROOT}/{build}/state.json")))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    fn wait_status(&self, build: &str, status: &str) -> serde_json::Value {
        let mut last = None;
        wait_until(&format!("{build} to be {status}"), E2E_WAIT, || {
            last = self.state(build);
            last.as_ref().is_some_and(|s| s["status"] == status)
        });
        last.unwrap()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("nsenter")
            .args([
                "-t",
                &self.leader.to_string(),
                "-a",
                "--",
                "systemctl",
                "poweroff",
            ])
            .output();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.nspawn.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
        eprintln!(
            "container did not power off in time; console: {}",
            self.console.display()
        );
    }
}

/// systemd's own reading of an environment file (`EnvironmentFile=` of a transient service,
/// its environment printed by `env -0`) against the watcher's (`envfile::parse`), on the
/// grammar's corner cases: what the instances get is what `start`, `check-webhook`,
/// `make check` and a watch see.
fn grammar_agrees_with_systemd(ct: &Container) {
    #[rustfmt::skip]
    let cases = [
        "G01=x\n", "  G02 = x  \n", "G03\t=\tx y\t\n", "G04=\n", "G05=   \n",
        "G06='x y'\n", "G07=\"x\" y\n", "G08=\"x\"'y'\n", "G09=x \"y\"\n", "G10=\"  x  \"\n",
        "G11='line1\nline2'\n", "G12='it''s'\n",
        "G13=\"a\\\"b\"\n", "G14=\"a\\\\b\"\n", "G15=\"a\\$b\\`c\"\n", "G16=\"a\\nb\"\n",
        "G17=\"a\\\nb\"\n",
        "G18=a\\ b\n", "G19=a\\\\b\n", "G20=a\\\nb\n", "G21=a \\\n  b\n", "G22=x\\ \n",
        "G23=x # note\n", "G24=x;y\n", "G25=\"x\" # note\n", "G26= # x\n",
        "# G27=x\n", "; G28=x\n", "   # G29=x\n", "# c \\\nG30=x\n", "# c \\\\\nG31=x\n",
        "export G32=x\n", "G33 x\n", "G34-B=x\n", "G35.B=x\n", "1G36=x\n",
        "G37=x\nG37=y\n", "G38=x\r\n",
        "G39=https://chat.example.com/hooks/abc   # prod hook\n",
        "G40 = \"https://chat.example.com/hooks/abc\"\n",
        "G41=\"x\"'y' z \"w\"\n",
        "G42=\"never closed\nG43=y\n",
    ];
    let text = cases.concat();
    fs::write(ct.path("/root/grammar.env"), &text).unwrap();
    let out = Command::new("nsenter")
        .args(["-t", &ct.leader.to_string(), "-a", "--"])
        .args(["systemd-run", "--quiet", "--wait", "--pipe"])
        .args([
            "--property=EnvironmentFile=/root/grammar.env",
            "/usr/bin/env",
            "-0",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "systemd-run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: std::collections::BTreeMap<String, String> =
        atvm_run_watcher::testing::env_file_assignments(&text)
            .into_iter()
            .collect();
    let systemds: std::collections::BTreeMap<String, String> = String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| k.starts_with('G') && k[1..].starts_with(|c: char| c.is_ascii_digit()))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert!(systemds.len() > 20, "{systemds:?}");
    assert_eq!(ours, systemds, "the watcher reads {text:?} as systemd does");
}

/// The posts about `build` that Mattermost took: their heading names it in a code span
/// (after ` · `, then ` · group ...` when categorized), as the post writes a build name.
fn posts_for(hook: &FakeMattermost, build: &str) -> Vec<String> {
    let named = format!(" · `{build}`");
    hook.delivered()
        .iter()
        .map(|r| r.text())
        .filter(|t| {
            t.lines()
                .next()
                .is_some_and(|h| h.ends_with(&named) || h.contains(&format!("{named} · ")))
        })
        .collect()
}

fn group(name: &str, specs: &[Spec]) -> Vec<String> {
    let mut v = vec![format!("[atvm] ATVM_GROUP_START: {name}")];
    v.extend(cypress::run(specs));
    v.push(format!(
        "[atvm] ATVM_GROUP_END: {name} {}",
        if specs.iter().any(|s| s.failing > 0) {
            "FAILED"
        } else {
            "COMPLETED"
        }
    ));
    v
}

#[test]
#[ignore = "needs root and systemd-nspawn: run `make e2e`"]
fn installed_tarball_under_real_systemd() {
    let started = Instant::now();
    let tarball = PathBuf::from(
        std::env::var("ATVM_E2E_TARBALL").expect("ATVM_E2E_TARBALL: run through `make e2e`"),
    );
    let root = PathBuf::from(std::env::var("ATVM_E2E_ROOT").unwrap_or_else(|_| "/".into()));
    let work =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{}", std::process::id()));
    // What `scp` brings to the controller: the tarball and its .sha256.
    let staging = work.join("staging");
    fs::create_dir_all(&staging).unwrap();
    let name = tarball.file_name().unwrap().to_str().unwrap().to_string();
    for f in [name.clone(), format!("{name}.sha256")] {
        fs::copy(tarball.with_file_name(&f), staging.join(&f)).unwrap();
    }
    let top = name.trim_end_matches("-x86_64.tar.gz").to_string();
    let release = format!("/root/atvm-releases/{top}");

    let hook = FakeMattermost::start();
    let persist = Persist::new(&root, &work);
    let ct = Container::boot(&root, &staging, &work, &persist);
    eprintln!("e2e: container up after {:?}", started.elapsed());
    grammar_agrees_with_systemd(&ct);
    let start = format!("{PREFIX}/start-atvm-run-watcher.sh");

    install_as_install_md_says(&ct, &name, &top);
    the_placeholder_is_refused(&ct, &release, &start);
    edit_the_env_file(&ct, &hook);
    the_checks_pass(&ct, &hook, &release);
    fs::create_dir_all(ct.path(LOG_DIR)).unwrap();
    fs::set_permissions(ct.path("/root"), fs::Permissions::from_mode(0o700)).unwrap();
    let host = ct.sh("cat /proc/sys/kernel/hostname").trim().to_string();
    let cancel = format!("{PREFIX}/cancel-atvm-run-watcher.sh");

    completed_run_posted_once(&ct, &hook, &start, &host);
    categorized_run_posts_each_group(&ct, &hook, &start);
    cancel_during_a_run(&ct, &start, &cancel);
    webhook_down_then_restarted(&ct, &hook, &start);
    stop_then_start_resumes(&ct, &hook, &start);
    upgrade_while_a_watcher_runs(&ct, &hook, &start, &release);
    pid_exit_is_terminated(&ct, &hook, &start);
    exit_2_is_not_restarted(&ct);
    old_script_entry_point(&ct, &hook);
    status_shows_every_build(&ct);
    nothing_was_denied(&ct, &hook);
    let ct = reboot::reboot_mid_run(ct, &hook, &start, &cancel, &persist);
    uninstall(&ct, &release);
    eprintln!("e2e: all cases in {:?} (boot included)", started.elapsed());
    drop(ct);
    let _ = fs::remove_dir_all(&work);
}

/// Install as INSTALL.md says, command for command (scp is the copy from /staging).
fn install_as_install_md_says(ct: &Container, name: &str, top: &str) {
    let out = ct.sh(&format!(
        "set -e
        mkdir -p /root/atvm-releases
        cp /staging/{name} /staging/{name}.sha256 /root/atvm-releases/
        cd /root/atvm-releases
        sha256sum -c {name}.sha256
        tar xzf {name}
        cd {top}
        sha256sum -c SHA256SUMS
        make install"
    ));
    eprintln!("{out}");
    assert!(
        out.contains("daemon-reload"),
        "install reloads systemd when it runs: {out}"
    );
    assert_eq!(ct.mode("/etc/atvm-run-watcher.env"), "600");
    assert_eq!(ct.mode(STATE_ROOT), "750");
    assert_eq!(ct.mode(&format!("{PREFIX}/atvm-run-watcher")), "755");
    ct.sh("systemctl cat atvm-run-watcher@.service >/dev/null");
    assert!(
        out.contains("enabled atvm-run-watcher-resume.service (systemctl enable)"),
        "{out}"
    );
    assert_eq!(
        ct.sh("systemctl is-enabled atvm-run-watcher-resume.service")
            .trim(),
        "enabled"
    );
    assert_eq!(
        ct.sh("systemctl is-enabled atvm-run-watcher@.service || true")
            .trim(),
        "static",
        "the template is never enabled"
    );
}

/// Before the env file is edited, everything refuses the example's placeholder.
fn the_placeholder_is_refused(ct: &Container, release: &str, start: &str) {
    let check = ct.sh(&format!("cd {release} && make check || true"));
    assert!(
        check.contains("FAIL: /etc/atvm-run-watcher.env, line ")
            && check.contains("the example's placeholder")
            && check.contains("check FAILED"),
        "{check}"
    );
    let refused = ct.sh(&format!("{start} --build-name e2e-early; echo \"exit $?\""));
    assert!(
        refused.contains("placeholder") && refused.contains("exit 2"),
        "{refused}"
    );
    assert!(!ct.path(&format!("{STATE_ROOT}/e2e-early")).exists());
}

/// The operator edits the env file (the webhook, a quoted user name); test speed-ups.
fn edit_the_env_file(ct: &Container, hook: &FakeMattermost) {
    // `vi /etc/atvm-run-watcher.env`: the operator replaces the placeholder line (with
    // blanks around `=`, which systemd accepts) and keeps the rest of the example, with
    // mode and owner unchanged (an editor rewrites the file in place). Then test-only
    // speed-ups: a small retry budget and a short restart delay (drop-in), so that case 4
    // takes seconds, not minutes.
    let envf = ct.path("/etc/atvm-run-watcher.env");
    let edited: String = fs::read_to_string(&envf)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("MATTERMOST_ATVM_WEBHOOK=") {
                format!("MATTERMOST_ATVM_WEBHOOK = {}\n", hook.url())
            } else if l.starts_with("#MATTERMOST_ATVM_USERNAME=") {
                "MATTERMOST_ATVM_USERNAME='atvm e2e'\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    fs::write(
        &envf,
        format!("{edited}ATVM_WATCHER_RETRY_ATTEMPTS=2\nATVM_WATCHER_RETRY_BASE=200ms\n"),
    )
    .unwrap();
    assert_eq!(ct.mode("/etc/atvm-run-watcher.env"), "600");
    let dropin = ct.path("/etc/systemd/system/atvm-run-watcher@.service.d");
    fs::create_dir_all(&dropin).unwrap();
    fs::write(dropin.join("e2e.conf"), "[Service]\nRestartSec=1s\n").unwrap();
    ct.sh("systemctl daemon-reload");
}

/// `make check`, INSTALL.md's further checks and `check-webhook --send` pass.
fn the_checks_pass(ct: &Container, hook: &FakeMattermost, release: &str) {
    let check = ct.sh(&format!("cd {release} && make check"));
    assert!(
        check.contains(&format!(
            "ok: /etc/atvm-run-watcher.env: private, webhook http://127.0.0.1:{}",
            hook.port()
        )) && check.contains("ok: systemctl cat")
            && check.contains("ok: systemctl is-enabled atvm-run-watcher-resume.service")
            && check.contains("check passed"),
        "make check reads the env file and looks at the loaded unit: {check}"
    );
    // INSTALL.md's further checks, by hand.
    ct.sh(&format!(
        "set -e
        {PREFIX}/atvm-run-watcher --version
        systemd-analyze verify /etc/systemd/system/atvm-run-watcher@.service
        systemd-analyze verify /etc/systemd/system/atvm-run-watcher-resume.service"
    ));
    let cw = ct.sh(&format!("{PREFIX}/atvm-run-watcher check-webhook --send"));
    assert!(
        cw.contains("configuration: ok") && cw.contains("test message: delivered"),
        "{cw}"
    );
    assert!(!cw.contains(mattermost::HOOK_ID), "{cw}");
    assert_eq!(hook.delivered().len(), 1, "the test message");
}

/// Case 1: A completed run, started with the helper and the usual flags.
fn completed_run_posted_once(ct: &Container, hook: &FakeMattermost, start: &str, host: &str) {
    let t1 = Instant::now();
    ct.sh(&format!(
        "{start} --build-name e2e-completed --template rhel9-to-ocp --config-family vmware --migration-style warm --integration-plugin vddk --scope-description 'nightly e2e'"
    ));
    ct.wait_unit("e2e-completed", "active");
    ct.wait_status("e2e-completed", "WAITING");
    ct.append("e2e-completed", &cypress::atvm_preamble("e2e-completed"));
    ct.append("e2e-completed", &completed_run());
    ct.wait_unit("e2e-completed", "inactive");
    let posts = posts_for(hook, "e2e-completed");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(
        posts[0].contains("rhel9-to-ocp") && posts[0].contains("nightly e2e"),
        "{}",
        posts[0]
    );
    assert!(
        posts[0].contains(&format!("Controller: `{host}` ")),
        "the host name is readable in the sandbox: {}",
        posts[0]
    );
    let received = hook.delivered();
    let last = received.last().unwrap().json.as_ref().unwrap();
    assert_eq!(
        last["username"], "atvm e2e",
        "systemd and the watcher read the quoted user name alike"
    );
    let st = ct.state("e2e-completed").unwrap();
    assert_eq!(st["status"], "COMPLETED");
    assert_eq!(st["posted"], true);
    assert!(
        ct.path(&format!("{STATE_ROOT}/e2e-completed/posted.marker"))
            .exists()
    );
    let journal = ct.journal("e2e-completed");
    for want in [
        "WAITING → RUNNING",
        "RUNNING → COMPLETED",
        "posted COMPLETED to Mattermost",
    ] {
        assert!(journal.contains(want), "journal lacks {want:?}:\n{journal}");
    }
    // A second start of the finished build posts nothing more.
    ct.sh("systemctl start atvm-run-watcher@e2e-completed.service");
    ct.wait_unit("e2e-completed", "inactive");
    assert_eq!(posts_for(hook, "e2e-completed").len(), 1);
    eprintln!("e2e: case 1 (completed) {:?}", t1.elapsed());
}

/// Case 2: A categorized run with two groups: two posts, then the unit exits.
fn categorized_run_posts_each_group(ct: &Container, hook: &FakeMattermost, start: &str) {
    let t2 = Instant::now();
    ct.sh(&format!(
        "{start} --build-name e2e-groups --template t --categorize"
    ));
    ct.wait_unit("e2e-groups", "active");
    let mut lines = vec!["[atvm] ATVM_GROUPS: linux,windows".to_string()];
    lines.extend(group("linux", &[Spec::passed("linux.cy.js", 2)]));
    lines.extend(group("windows", &[Spec::failed("windows.cy.js", 3, 1)]));
    ct.append("e2e-groups", &lines);
    ct.wait_unit("e2e-groups", "inactive");
    let posts = posts_for(hook, "e2e-groups");
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(ct.state("e2e-groups").unwrap()["status"], "FAILED");
    eprintln!("e2e: case 2 (categorized) {:?}", t2.elapsed());
}

/// Case 3: Cancel during a run with the helper: no post, CANCELLED, instance stopped.
fn cancel_during_a_run(ct: &Container, start: &str, cancel: &str) {
    let t3 = Instant::now();
    ct.sh(&format!("{start} --build-name e2e-cancel"));
    ct.wait_unit("e2e-cancel", "active");
    ct.append(
        "e2e-cancel",
        &cypress::run_starting(&[Spec::passed("a.cy.js", 1)]),
    );
    ct.wait_status("e2e-cancel", "RUNNING");
    let out = ct.sh(&format!(
        "{cancel} --build-name e2e-cancel --reason 'wrong template'"
    ));
    assert!(out.contains("cancelled"), "{out}");
    ct.wait_unit("e2e-cancel", "inactive");
    ct.append("e2e-cancel", &completed_run());
    assert_eq!(ct.state("e2e-cancel").unwrap()["status"], "CANCELLED");
    eprintln!("e2e: case 3 (cancel) {:?}", t3.elapsed());
}

/// Case 4: Webhook down (503) when the run finishes: exit 3, systemd restarts the watcher,
/// the post is delivered once the webhook recovers, never twice.
fn webhook_down_then_restarted(ct: &Container, hook: &FakeMattermost, start: &str) {
    let t4 = Instant::now();
    hook.set_default(Answer::ServerError(503));
    let before = hook.received().len();
    ct.sh(&format!("{start} --build-name e2e-down"));
    ct.wait_unit("e2e-down", "active");
    ct.append("e2e-down", &failed_run());
    wait_until("a restart after exit 3", E2E_WAIT, || {
        let j = ct.journal("e2e-down");
        j.contains("status=3") && hook.received().len() >= before + 3
    });
    hook.set_default(Answer::Ok);
    ct.wait_unit("e2e-down", "inactive");
    let posts = posts_for(hook, "e2e-down");
    assert_eq!(posts.len(), 1, "delivered once: {posts:?}");
    let st = ct.state("e2e-down").unwrap();
    assert_eq!(st["posted"], true);
    assert_eq!(st["post_error"], serde_json::Value::Null);
    let j = ct.journal("e2e-down");
    assert!(
        j.contains("Scheduled restart job") || j.contains("restart counter"),
        "systemd restarted it:\n{j}"
    );
    assert!(
        j.contains("status=3/NOTIMPLEMENTED"),
        "the journal's name for exit 3, as INSTALL.md explains it:\n{j}"
    );
    eprintln!("e2e: case 4 (webhook down, restart) {:?}", t4.elapsed());
}

/// Case 5: systemctl stop without cancel, then start again: resumes, one post.
fn stop_then_start_resumes(ct: &Container, hook: &FakeMattermost, start: &str) {
    let t5 = Instant::now();
    ct.sh(&format!("{start} --build-name e2e-resume"));
    ct.wait_unit("e2e-resume", "active");
    let run = completed_run();
    let cut = run
        .iter()
        .position(|l| l.contains("(Run Finished)"))
        .unwrap();
    ct.append("e2e-resume", &run[..cut]);
    wait_until("progress saved", E2E_WAIT, || {
        ct.state("e2e-resume")
            .is_some_and(|s| s["progress"]["index"] == 2)
    });
    ct.sh("systemctl stop atvm-run-watcher@e2e-resume.service");
    assert_eq!(ct.unit_state("e2e-resume"), "inactive");
    assert_eq!(ct.state("e2e-resume").unwrap()["status"], "RUNNING");
    ct.append("e2e-resume", &run[cut..]);
    ct.sh("systemctl start atvm-run-watcher@e2e-resume.service");
    ct.wait_unit("e2e-resume", "inactive");
    assert_eq!(posts_for(hook, "e2e-resume").len(), 1);
    assert!(
        ct.journal("e2e-resume")
            .contains("stop signal: state saved")
    );
    eprintln!("e2e: case 5 (stop/start resume) {:?}", t5.elapsed());
}

/// Case 5b: an upgrade as INSTALL.md says, while a watcher runs: `make install` says which
/// build it replaces, the running watcher goes on with the binary it started with (replaced
/// by a rename, not rewritten) and posts once; `make check` then agrees with VERSION. The
/// older release is played by the installed VERSION file (one binary is built per run).
fn upgrade_while_a_watcher_runs(ct: &Container, hook: &FakeMattermost, start: &str, release: &str) {
    let t = Instant::now();
    ct.sh(&format!("{start} --build-name e2e-upgrade"));
    ct.wait_unit("e2e-upgrade", "active");
    let run = completed_run();
    let cut = run
        .iter()
        .position(|l| l.contains("(Run Finished)"))
        .unwrap();
    ct.append("e2e-upgrade", &run[..cut]);
    wait_until("progress saved", E2E_WAIT, || {
        ct.state("e2e-upgrade")
            .is_some_and(|s| s["progress"]["index"] == 2)
    });
    let pid = ct.sh("systemctl show -p MainPID --value atvm-run-watcher@e2e-upgrade.service");
    let pid = pid.trim().to_string();
    ct.sh(&format!("echo 1.0.0+b8111cb >{PREFIX}/VERSION"));
    let version = ct.sh(&format!("cat {release}/VERSION")).trim().to_string();
    let out = ct.sh(&format!("cd {release} && make install && make check"));
    assert!(
        out.contains(&format!(
            "replacing atvm-watcher-service 1.0.0+b8111cb → {version}"
        )) && out.contains(&format!("ok: version {version}"))
            && out.contains("check passed"),
        "{out}"
    );
    let exe = ct.sh(&format!("readlink /proc/{pid}/exe"));
    assert!(
        exe.trim().ends_with("(deleted)"),
        "the running watcher keeps the binary it started with: {exe}"
    );
    assert_eq!(ct.unit_state("e2e-upgrade"), "active");
    ct.append("e2e-upgrade", &run[cut..]);
    ct.wait_unit("e2e-upgrade", "inactive");
    assert_eq!(posts_for(hook, "e2e-upgrade").len(), 1);
    assert_eq!(ct.state("e2e-upgrade").unwrap()["status"], "COMPLETED");
    eprintln!(
        "e2e: case 5b (upgrade while a watcher runs) {:?}",
        t.elapsed()
    );
}

/// --pid: root's run process stays visible to the sandboxed watcher; its exit without a
/// result is TERMINATED, not posted.
fn pid_exit_is_terminated(ct: &Container, hook: &FakeMattermost, start: &str) {
    let run_pid = ct
        .sh("sleep 600 >/dev/null 2>&1 & echo $!")
        .trim()
        .to_string();
    ct.sh(&format!("{start} --build-name e2e-pid --pid {run_pid}"));
    ct.wait_unit("e2e-pid", "active");
    ct.append(
        "e2e-pid",
        &cypress::run_starting(&[Spec::passed("a.cy.js", 1)]),
    );
    wait_until("run start seen", E2E_WAIT, || {
        ct.state("e2e-pid").is_some_and(|s| s["run_seen"] == true)
    });
    assert_eq!(
        ct.unit_state("e2e-pid"),
        "active",
        "still watching while the run's process lives"
    );
    ct.sh(&format!("kill {run_pid}"));
    ct.wait_unit("e2e-pid", "inactive");
    assert_eq!(ct.state("e2e-pid").unwrap()["status"], "TERMINATED");
    assert_eq!(posts_for(hook, "e2e-pid").len(), 0);
}

/// Exit 2 (a bad request) fails the unit and is not restarted.
fn exit_2_is_not_restarted(ct: &Container) {
    let bad = ct.path(&format!("{STATE_ROOT}/e2e-bad"));
    fs::create_dir_all(&bad).unwrap();
    fs::write(
        bad.join("request.json"),
        r#"{"schema":1,"build_name":"e2e-bad","start_timeout":"soon"}"#,
    )
    .unwrap();
    ct.sh("systemctl start atvm-run-watcher@e2e-bad.service || true");
    ct.wait_unit("e2e-bad", "failed");
    let show =
        ct.sh("systemctl show -p ExecMainStatus -p NRestarts atvm-run-watcher@e2e-bad.service");
    assert!(
        show.contains("ExecMainStatus=2") && show.contains("NRestarts=0"),
        "{show}"
    );
}

/// The old script's callers, from a root shell (no MATTERMOST_ATVM_WEBHOOK there):
/// the watcher reads the webhook from the env file itself, and says so.
fn old_script_entry_point(ct: &Container, hook: &FakeMattermost) {
    ct.append("e2e-old", &completed_run());
    let out = ct.sh(&format!(
        "env -u MATTERMOST_ATVM_WEBHOOK {PREFIX}/atvm_run_watcher.py --build-name e2e-old --template old-caller 2>&1"
    ));
    assert!(
        out.contains("e2e-old: MATTERMOST_ATVM_WEBHOOK is not in the environment: Mattermost settings from /etc/atvm-run-watcher.env"),
        "{out}"
    );
    let posts = posts_for(hook, "e2e-old");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].contains("old-caller"), "{}", posts[0]);
}

/// `atvm-run-watcher status`, as INSTALL.md shows it.
fn status_shows_every_build(ct: &Container) {
    let status = ct.sh(&format!("{PREFIX}/atvm-run-watcher status"));
    for (build, st) in [
        ("e2e-completed", "COMPLETED"),
        ("e2e-groups", "FAILED"),
        ("e2e-cancel", "CANCELLED"),
        ("e2e-down", "FAILED"),
        ("e2e-resume", "COMPLETED"),
        ("e2e-upgrade", "COMPLETED"),
        ("e2e-pid", "TERMINATED"),
        ("e2e-old", "COMPLETED"),
    ] {
        assert!(
            status
                .lines()
                .any(|l| l.starts_with(&format!("{build} ")) && l.contains(st)),
            "status shows {build} {st}:\n{status}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&ct.sh(&format!("{PREFIX}/atvm-run-watcher status --json"))).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 9, "{json}");
}

/// Case 6: The hardened unit could read the log under /root and write its state: nothing
/// was denied anywhere.
fn nothing_was_denied(ct: &Container, hook: &FakeMattermost) {
    let all = ct.sh("journalctl -b --no-pager -o cat -u 'atvm-run-watcher@*' || true");
    for bad in [
        "Permission denied",
        "Read-only file system",
        "Operation not permitted",
        "denied",
        "SECCOMP",
        "code=killed",
    ] {
        assert!(!all.contains(bad), "journal mentions {bad:?}:\n{all}");
    }
    for b in [
        "e2e-completed",
        "e2e-groups",
        "e2e-cancel",
        "e2e-down",
        "e2e-resume",
        "e2e-upgrade",
        "e2e-pid",
    ] {
        assert!(ct.state(b).is_some(), "{b} has a state.json");
    }
    assert_eq!(
        hook.delivered().len(),
        8,
        "the test message, then 1 + 2 + 0 + 1 + 1 + 1 posts, and the old caller's"
    );
}

/// Uninstall as INSTALL.md says: the package goes, the env file and the state stay.
fn uninstall(ct: &Container, release: &str) {
    let out = ct.sh(&format!(
        "set -e
        systemctl stop 'atvm-run-watcher@*'
        cd {release}
        make uninstall"
    ));
    assert!(out.contains("kept /etc/atvm-run-watcher.env"), "{out}");
    assert!(
        out.contains("disabled atvm-run-watcher-resume.service (systemctl disable)"),
        "{out}"
    );
    assert!(!ct.path(PREFIX).exists());
    for gone in [
        "/etc/systemd/system/atvm-run-watcher@.service",
        "/etc/systemd/system/atvm-run-watcher-resume.service",
        "/etc/systemd/system/multi-user.target.wants/atvm-run-watcher-resume.service",
    ] {
        assert!(fs::symlink_metadata(ct.path(gone)).is_err(), "{gone}");
    }
    let enabled = ct.sh("systemctl is-enabled atvm-run-watcher-resume.service 2>&1 || true");
    assert!(
        enabled.contains("not-found") || enabled.contains("No such file"),
        "{enabled}"
    );
    assert!(ct.path("/etc/atvm-run-watcher.env").exists());
    assert!(ct.state("e2e-completed").is_some());
}
