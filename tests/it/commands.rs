//! The operator commands: start and cancel (with a stub systemctl), the cancel/finish race,
//! cancel of a posted build whose state is corrupt, status (table and JSON; into a closed
//! pipe, beside a starting watcher, over a FIFO state.json), check-webhook, bad usage with a
//! closed stderr, and a brief lock probe.

use crate::support::*;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// A sandbox with a stub systemctl (records its arguments) and an environment file.
struct Ops {
    sb: Sandbox,
    calls: PathBuf,
    env_file: PathBuf,
}

impl Ops {
    fn new(name: &str, hook_url: &str) -> Ops {
        let mut sb = Sandbox::new(name);
        let calls = sb.stub_systemctl();
        let env_file = sb.env_file(&format!("# test\n{}", sb.env_text(hook_url)));
        Ops {
            sb,
            calls,
            env_file,
        }
    }

    fn calls(&self) -> Vec<String> {
        fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.sb.run(None, args);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn start_records_the_request_and_starts_the_instance() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("start", &hook.url());
    let (code, out, err) = ops.run(&[
        "start",
        "--build-name",
        "nightly-42.b",
        "--template",
        "rhel9 to ocp",
        "--config-family",
        "vmware",
        "--migration-style",
        "warm",
        "--integration-plugin",
        "vddk",
        "--scope-description",
        "full",
        "--categorize",
        "--hung-timeout",
        "3h",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("started atvm-run-watcher@nightly-42.b.service"),
        "{out}"
    );
    assert_eq!(
        ops.calls(),
        vec!["start atvm-run-watcher@nightly-42.b.service"]
    );
    let req: serde_json::Value = serde_json::from_slice(
        &fs::read(ops.sb.build_dir("nightly-42.b").join("request.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(req["template"], "rhel9 to ocp");
    assert_eq!(req["categorize"], true);
    assert_eq!(req["hung_timeout"], "3h");
    assert_eq!(
        req["start_timeout"],
        serde_json::Value::Null,
        "unset tuning is not frozen"
    );
    assert!(req["created_at"].is_string());

    // What the systemd instance runs: only --build-name; the rest comes from request.json.
    let mut w = ops.sb.watch(&hook, "nightly-42.b", &[]);
    ops.sb.append_lines(
        "nightly-42.b",
        &["ATVM_GROUPS: one".to_string()],
        Style::PLAIN,
    );
    ops.sb
        .append_lines("nightly-42.b", &completed_run(), Style::PLAIN);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let text = hook.wait_for(1, WAIT)[0].visible();
    assert!(
        text.contains("group 1 of 1: one") && text.contains("rhel9 to ocp"),
        "{text}"
    );
}

#[test]
fn start_refuses_bad_configuration_before_anything_starts() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("startbad", &hook.url());
    type Case<'a> = (Box<dyn Fn() + 'a>, Vec<&'a str>, &'a str);
    // A preparation that gives the env file this content.
    let env_file = &ops.env_file;
    let content = |text: String| -> Box<dyn Fn() + '_> {
        Box::new(move || fs::write(env_file, &text).unwrap())
    };
    let cases: Vec<Case> = vec![
        (
            Box::new(|| {}),
            vec!["start", "--build-name", "../x"],
            "invalid build name",
        ),
        (
            Box::new(|| {}),
            vec![
                "start",
                "--build-name",
                "b",
                "--state-root",
                "/tmp/elsewhere",
            ],
            "would keep its state in",
        ),
        (
            Box::new(|| {
                fs::set_permissions(&ops.env_file, fs::Permissions::from_mode(0o640)).unwrap()
            }),
            vec!["start", "--build-name", "b"],
            "readable by group or others (mode 0640)",
        ),
        (
            Box::new(|| {
                fs::write(
                    &ops.env_file,
                    format!("ATVM_WATCHER_STATE_ROOT={}\n", ops.sb.state_root.display()),
                )
                .unwrap();
                fs::set_permissions(&ops.env_file, fs::Permissions::from_mode(0o600)).unwrap();
            }),
            vec!["start", "--build-name", "b"],
            "MATTERMOST_ATVM_WEBHOOK is not set",
        ),
        (
            content("MATTERMOST_ATVM_WEBHOOK=not-a-url\n".into()),
            vec!["start", "--build-name", "b"],
            "not a valid http",
        ),
        (
            content(
                "MATTERMOST_ATVM_WEBHOOK=https://mattermost.example.com/hooks/REPLACE_ME\n".into(),
            ),
            vec!["start", "--build-name", "b"],
            "line 1: MATTERMOST_ATVM_WEBHOOK is still the example's placeholder",
        ),
        (
            content(format!("export MATTERMOST_ATVM_WEBHOOK={}\n", hook.url())),
            vec!["start", "--build-name", "b"],
            "systemd ignores `export MATTERMOST_ATVM_WEBHOOK=...`",
        ),
        (
            content(format!(
                "MATTERMOST_ATVM_WEBHOOK={}   # prod hook\n",
                hook.url()
            )),
            vec!["start", "--build-name", "b", "--dry-run"],
            "ends with `# prod hook`",
        ),
        (
            Box::new(|| fs::remove_file(&ops.env_file).unwrap()),
            vec!["start", "--build-name", "b"],
            "No such file",
        ),
    ];
    for (prepare, args, want) in cases {
        prepare();
        let (code, _, err) = ops.run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains(mattermost::HOOK_ID));
    }
    assert!(
        ops.calls().is_empty(),
        "systemctl must not run: {:?}",
        ops.calls()
    );
    assert_eq!(fs::read_dir(&ops.sb.state_root).unwrap().count(), 0);
}

#[test]
fn start_dry_run_shows_what_it_would_record_and_run() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("startdry", &hook.url());
    let (code, help, _) = ops.run(&["start", "--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("--dry-run"), "{help}");
    let (code, out, err) = ops.run(&[
        "start",
        "--build-name",
        "dry-1",
        "--template",
        "rhel9-to-ocp",
        "--categorize",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{err}");
    let request = ops.sb.build_dir("dry-1").join("request.json");
    assert!(
        out.contains(&format!("dry run: would write {}:", request.display())),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&out[out.find('{').unwrap()..=out.rfind('}').unwrap()]).unwrap();
    assert_eq!(json["build_name"], "dry-1");
    assert_eq!(json["template"], "rhel9-to-ocp");
    assert_eq!(json["categorize"], true);
    assert!(
        out.contains("dry run: would run: ")
            && out.contains(" start atvm-run-watcher@dry-1.service"),
        "{out}"
    );
    assert!(ops.calls().is_empty(), "nothing started: {:?}", ops.calls());
    assert!(!ops.sb.build_dir("dry-1").exists(), "nothing recorded");
    assert_eq!(hook.received().len(), 0);
    // The same start without --dry-run records exactly that request.
    let (code, _, err) = ops.run(&[
        "start",
        "--build-name",
        "dry-1",
        "--template",
        "rhel9-to-ocp",
        "--categorize",
    ]);
    assert_eq!(code, 0, "{err}");
    let written: serde_json::Value = serde_json::from_slice(&fs::read(&request).unwrap()).unwrap();
    for key in ["build_name", "template", "categorize", "log_file"] {
        assert_eq!(written[key], json[key], "{key}");
    }
    assert_eq!(ops.calls(), vec!["start atvm-run-watcher@dry-1.service"]);
}

#[test]
fn start_of_a_finished_build_does_not_post_again() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("startdone", &hook.url());
    ops.sb.append_lines("done", &completed_run(), Style::PLAIN);
    let mut w = ops.sb.watch(&hook, "done", &[]);
    assert_eq!(w.code(), 0);
    let (code, _, err) = ops.run(&["start", "--build-name", "done"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("already finished (COMPLETED, posted)"),
        "{err}"
    );
    assert!(ops.calls().is_empty());

    // A finished build whose post is still pending is started to deliver it.
    ops.sb.append_lines("pend", &failed_run(), Style::PLAIN);
    let mut w = ops
        .sb
        .spawn(Some(&hook.unknown_hook_url()), &["--build-name", "pend"]);
    assert_eq!(w.code(), 3);
    let (code, out, err) = ops.run(&["start", "--build-name", "pend"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("to deliver the undelivered post"), "{out}");
    assert_eq!(ops.calls(), vec!["start atvm-run-watcher@pend.service"]);

    // A build that is being watched right now: exit 4.
    let mut live = ops.sb.watch(&hook, "live", &[]);
    ops.sb.wait_status("live", "WAITING");
    let (code, _, err) = ops.run(&["start", "--build-name", "live"]);
    assert_eq!(code, 4, "{err}");
    live.signal(SIGTERM);
    assert_eq!(live.code(), 0);
}

#[test]
fn cancel_stops_the_instance_and_nothing_is_posted() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("cancel", &hook.url());
    let mut w = ops.sb.watch(&hook, "cx", &[]);
    ops.sb.append_lines(
        "cx",
        &cypress::run_starting(&[Spec::passed("a.cy.js", 1)]),
        Style::PLAIN,
    );
    ops.sb.wait_status("cx", "RUNNING");
    let (code, out, err) = ops.run(&["cancel", "--build-name", "cx", "--reason", "bad template"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("build cx cancelled"), "{out}");
    assert_eq!(ops.calls(), vec!["stop atvm-run-watcher@cx.service"]);
    assert_eq!(w.code(), 0);
    let st = ops.sb.state("cx");
    assert_eq!(st["status"], "CANCELLED");
    assert!(st["reason"].as_str().unwrap().contains("bad template"));
    assert!(ops.sb.marker("cx", "cancelled.marker"));
    ops.sb.append_lines("cx", &completed_run(), Style::PLAIN);
    let mut again = ops.sb.watch(&hook, "cx", &[]);
    assert_eq!(again.code(), 0);
    assert_eq!(hook.received().len(), 0);

    // Unknown build: exit 2. Finished build: nothing changes, exit 0.
    let (code, _, err) = ops.run(&["cancel", "--build-name", "nosuch"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown build nosuch"), "{err}");
    ops.sb.append_lines("fin", &completed_run(), Style::PLAIN);
    let mut f = ops.sb.watch(&hook, "fin", &[]);
    assert_eq!(f.code(), 0);
    let (code, out, _) = ops.run(&["cancel", "--build-name", "fin"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("already finished (COMPLETED); nothing changed"),
        "{out}"
    );
    assert!(!ops.sb.marker("fin", "cancelled.marker"));
    assert_eq!(ops.sb.state("fin")["status"], "COMPLETED");
    assert_eq!(ops.calls().len(), 1, "no stop for a finished build");

    // A build that was started but whose watcher never ran yet.
    let (code, _, err) = ops.run(&["start", "--build-name", "queued"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = ops.run(&["cancel", "--build-name", "queued", "--no-stop"]);
    assert_eq!(code, 0);
    assert_eq!(ops.sb.state("queued")["status"], "CANCELLED");
    let mut q = ops.sb.watch(&hook, "queued", &[]);
    assert_eq!(q.code(), 0);
    assert_eq!(ops.sb.state("queued")["status"], "CANCELLED");
}

/// Cancel and a finishing run race: either cancel reports the finished status (and the
/// one post was made before it returned) or the build is CANCELLED and no post ever
/// arrives — never both, never a post after cancel returned.
#[test]
fn cancel_racing_a_finishing_run() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("race", &hook.url());
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let (mut cancelled, mut finished) = (0, 0);
    for i in 0..40 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let build = format!("race{i}");
        hook.script(&[Answer::Slow(Duration::from_millis(seed % 40))]);
        let before = hook.received().len();
        let mut w = ops.sb.watch(&hook, &build, &[]);
        ops.sb.wait_status(&build, "WAITING");
        // Cancel and the run's end start together, in a random order and distance.
        let cancel = ops
            .sb
            .cmd(None)
            .args(["cancel", "--build-name", &build, "--no-stop"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(seed % 6_000));
        // Every third run ends without a post (Killed): the cancel must win or lose as a
        // whole there too.
        let killed = i % 3 == 2;
        let ending = if killed {
            let mut l = cypress::run_starting(&[Spec::passed("a.cy.js", 1)]);
            l.push("Killed".into());
            l
        } else {
            completed_run()
        };
        ops.sb.append_lines(&build, &ending, Style::PLAIN);
        let done = cancel.wait_with_output().unwrap();
        let returned = Instant::now();
        let (out, err) = (
            String::from_utf8_lossy(&done.stdout),
            String::from_utf8_lossy(&done.stderr),
        );
        assert_eq!(done.status.code(), Some(0), "{err}");
        assert_eq!(w.code(), 0, "{}", w.stderr());
        let got: Vec<_> = hook.received().into_iter().skip(before).collect();
        let st = ops.sb.state(&build);
        if out.contains("already finished") {
            finished += 1;
            if killed {
                assert_eq!(st["status"], "TERMINATED", "{out}");
                assert!(got.is_empty());
                continue;
            }
            assert_eq!(st["status"], "COMPLETED", "{out}");
            assert_eq!(st["posted"], true);
            assert_eq!(got.len(), 1, "{out}");
            assert!(got[0].at <= returned);
        } else {
            cancelled += 1;
            assert!(out.contains("cancelled"), "{out}");
            assert_eq!(st["status"], "CANCELLED");
            assert!(
                got.iter()
                    .all(|r| r.answer != Answer::Ok || r.at < returned),
                "a post arrived after cancel returned"
            );
            assert!(
                got.iter().all(|r| r.answer != Answer::Ok),
                "cancelled but posted: {got:?}"
            );
        }
    }
    eprintln!("race: {cancelled} cancelled, {finished} finished first");
}

#[test]
fn cancel_of_a_posted_build_whose_state_is_corrupt_changes_nothing() {
    let mut sb = Sandbox::new("cancelcorrupt");
    let calls_file = sb.stub_systemctl();
    let hook = FakeMattermost::start();
    sb.append_lines("cc", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "cc", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(hook.delivered().len(), 1);
    assert!(sb.marker("cc", "posted.marker"));

    fs::write(
        sb.build_dir("cc").join("state.json"),
        b"{\"schema\": 1, \"status\": \"COMPL",
    )
    .unwrap();
    let (code, out, err) = text(&sb.run(None, &["cancel", "--build-name", "cc"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("already finished") && out.contains("COMPLETED"),
        "cancel must see the finished build (rebuilt from the log); it said: {out}{err}"
    );
    assert!(
        !sb.marker("cc", "cancelled.marker"),
        "cancel of a finished build wrote cancelled.marker"
    );
    if let Some(st) = sb.try_state("cc") {
        assert_ne!(st["status"], "CANCELLED", "{st}");
    }
    assert!(
        calls(&calls_file).is_empty(),
        "no stop for a finished build: {:?}",
        calls(&calls_file)
    );

    // The build is still the finished, posted one: a watcher does nothing more.
    let mut w2 = sb.watch(&hook, "cc", &[]);
    assert_eq!(w2.code(), 0, "{}", w2.stderr());
    let st = sb.state("cc");
    assert_eq!(st["status"], "COMPLETED", "{st}");
    assert_eq!(st["posted"], true, "{st}");
    assert_eq!(hook.received().len(), 1, "no second post");
}

#[test]
fn status_lists_every_build_as_table_and_json() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("status", &hook.url());
    let sb = &ops.sb;
    let (code, out, _) = ops.run(&["status"]);
    assert_eq!(code, 0);
    assert!(out.contains("no builds under"), "{out}");

    sb.append_lines("old-done", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "old-done", &[]);
    assert_eq!(w.code(), 0);
    let mut live = sb.watch(&hook, "new-live", &["--categorize"]);
    let mut lines = vec!["ATVM_GROUPS: a,b,c".to_string()];
    lines.extend(cypress::run(&[Spec::passed("a.cy.js", 1)]));
    lines.extend(cypress::run_starting(&[
        Spec::passed("b.cy.js", 1),
        Spec::passed("b2.cy.js", 1),
    ]));
    lines.extend(cypress::spec_start(&Spec::passed("b.cy.js", 1), 1, 2));
    sb.append_lines("new-live", &lines, Style::PLAIN);
    wait_until("progress of new-live", WAIT, || {
        sb.try_state("new-live")
            .is_some_and(|s| s["progress"]["index"] == 1 && s["subruns"][0]["posted"] == true)
    });
    fs::create_dir_all(sb.build_dir("broken")).unwrap();
    fs::write(sb.build_dir("broken").join("state.json"), b"{ nope").unwrap();

    let (code, out, err) = ops.run(&["status"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("BUILD")
            && lines[0].contains("SUB-RUNS")
            && lines[0].contains("LAST LOG ACTIVITY"),
        "{out}"
    );
    let row = |b: &str| {
        *lines
            .iter()
            .find(|l| l.starts_with(&format!("{b} ")))
            .unwrap_or_else(|| panic!("{b} missing:\n{out}"))
    };
    assert!(
        row("new-live").contains("RUNNING")
            && row("new-live").contains("1/3")
            && row("new-live").contains("spec 1 of 2")
            && row("new-live").contains("running"),
        "{out}"
    );
    assert!(
        row("old-done").contains("COMPLETED") && row("old-done").contains("yes"),
        "{out}"
    );
    assert!(row("broken").contains("DAMAGED"), "{out}");
    let pos = |b: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!("{b} ")))
            .unwrap()
    };
    assert!(pos("new-live") < pos("old-done"), "newest first:\n{out}");

    let (code, out, _) = ops.run(&["status", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    let live_row = arr.iter().find(|r| r["build"] == "new-live").unwrap();
    assert_eq!(live_row["subruns_done"], 1);
    assert_eq!(live_row["subruns_total"], 3);
    assert_eq!(live_row["watched"], true);
    assert_eq!(live_row["progress"], "spec 1 of 2");
    assert!(arr.iter().find(|r| r["build"] == "broken").unwrap()["damaged"].is_string());

    let (code, out, _) = ops.run(&["status", "--build-name", "old-done", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(ops.run(&["status", "--build-name", "nope"]).0, 2);
    live.signal(SIGTERM);
    assert_eq!(live.code(), 0);
}

#[test]
fn status_is_fast_with_hundreds_of_builds() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("status300", &hook.url());
    let template = {
        ops.sb.append_lines("seed", &completed_run(), Style::PLAIN);
        let mut w = ops.sb.watch(&hook, "seed", &[]);
        assert_eq!(w.code(), 0);
        fs::read_to_string(ops.sb.build_dir("seed").join("state.json")).unwrap()
    };
    for i in 0..300 {
        let d = ops.sb.build_dir(&format!("b{i:03}"));
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("state.json"),
            template.replace("\"seed\"", &format!("\"b{i:03}\"")),
        )
        .unwrap();
    }
    let t = Instant::now();
    let (code, out, _) = ops.run(&["status"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 302);
    eprintln!("status over 301 builds took {:?}", t.elapsed());
}

// A closed stdout ends the output quietly.

/// Why this is not a quiet end of output (exit 0 or SIGPIPE, no panic, no error), if not.
fn quiet_end(what: &str, status: ExitStatus, stderr: &str) -> Option<String> {
    panic_problem(what, status, stderr).or_else(|| {
        let quiet = (status.code() == Some(0) || status.signal() == Some(libc::SIGPIPE))
            && !stderr.contains("ERROR");
        (!quiet).then(|| format!("{what}: not a quiet end ({status}):\n{stderr}"))
    })
}

/// 300 builds with long names, so that `status` writes far more than a pipe holds.
fn many_builds(sb: &Sandbox, hook: &FakeMattermost) {
    sb.append_lines("seed", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(hook, "seed", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let template = fs::read_to_string(sb.build_dir("seed").join("state.json")).unwrap();
    for i in 0..300 {
        let name = format!("nightly-{i:03}-{}", "x".repeat(185));
        let d = sb.build_dir(&name);
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("state.json"),
            template.replace("\"seed\"", &format!("\"{name}\"")),
        )
        .unwrap();
    }
}

#[test]
fn status_into_a_pipe_closed_early_does_not_panic() {
    let sb = Sandbox::new("pipe");
    let hook = FakeMattermost::start();
    many_builds(&sb, &hook);
    let mut problems = Vec::new();
    for args in [&["status", "--json"][..], &["status"][..]] {
        // Sanity: the whole output is more than a pipe buffer holds (64 KiB).
        let (code, out, err) = text(&sb.run(None, args));
        assert_eq!(code, 0, "{err}");
        assert!(out.len() > 70_000, "{args:?}: only {} bytes", out.len());

        // `| head -2`: read two lines, then close the pipe.
        let mut child = sb
            .cmd(None)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut r = BufReader::with_capacity(256, child.stdout.take().unwrap());
        for _ in 0..2 {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            assert!(!l.is_empty());
        }
        drop(r);
        let out = child.wait_with_output().unwrap();
        let what = format!("{args:?} | head -2");
        problems.extend(quiet_end(
            &what,
            out.status,
            &String::from_utf8_lossy(&out.stderr),
        ));

        // A reader that is gone before the first byte.
        let out = sb
            .cmd(None)
            .args(args)
            .stdin(Stdio::null())
            .stdout(closed_pipe())
            .output()
            .unwrap();
        let what = format!("{args:?} into a closed pipe");
        problems.extend(quiet_end(
            &what,
            out.status,
            &String::from_utf8_lossy(&out.stderr),
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// A starting watcher is not DAMAGED.

fn status_of(sb: &Sandbox, build: &str) -> (String, serde_json::Value) {
    let (code, out, err) = text(&sb.run(None, &["status"]));
    assert_eq!(code, 0, "{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with(&format!("{build} ")))
        .unwrap_or_else(|| panic!("{build} missing:\n{out}"))
        .to_string();
    let (code, out, err) = text(&sb.run(None, &["status", "--build-name", build, "--json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    (row, v[0].clone())
}

fn set_mtime(p: &Path, t: SystemTime) {
    fs::File::open(p).unwrap().set_modified(t).unwrap();
}

/// "Old" is an mtime an hour back: the one age a test (or a restore from backup) can set.
/// The window between a watcher's mkdir and its first file is too short to catch a real
/// watcher in; the lock is held here as a starting watcher holds it.
#[test]
fn status_does_not_call_a_starting_watcher_damaged() {
    let sb = Sandbox::new("starting");
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let mut problems = Vec::new();

    // A build directory that exists, has no files yet and is seconds old.
    fs::create_dir_all(sb.build_dir("fresh")).unwrap();
    let (row, json) = status_of(&sb, "fresh");
    if row.contains("DAMAGED") || !json["damaged"].is_null() {
        problems.push(format!("a seconds-old empty directory: {row:?} {json}"));
    }

    // An old directory whose watcher.lock is held (the watcher is starting).
    let dir = sb.build_dir("locked");
    fs::create_dir_all(&dir).unwrap();
    let lock = fs::File::create(dir.join("watcher.lock")).unwrap();
    lock.lock().unwrap();
    set_mtime(&dir.join("watcher.lock"), hour_ago);
    set_mtime(&dir, hour_ago);
    let (row, json) = status_of(&sb, "locked");
    assert_eq!(json["watched"], true, "the lock is seen as held: {json}");
    if row.contains("DAMAGED") || !json["damaged"].is_null() {
        problems.push(format!(
            "a build whose watcher holds the lock: {row:?} {json}"
        ));
    }
    drop(lock);

    // An old directory with no files and no lock holder stays DAMAGED.
    fs::create_dir_all(sb.build_dir("stale")).unwrap();
    set_mtime(&sb.build_dir("stale"), hour_ago);
    let (row, json) = status_of(&sb, "stale");
    if !row.contains("DAMAGED") || !json["damaged"].is_string() {
        problems.push(format!("an old empty directory is DAMAGED: {row:?} {json}"));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `status` reads every build's state.json with a plain `fs::read`: it follows symlinks,
/// has no size cap and blocks on a FIFO. One build directory whose state.json is a FIFO
/// hangs `status` for good (a symlink to /dev/zero makes it eat memory until the
/// allocation fails or the OOM killer comes). The "is it new" reader already opens with
/// O_NOFOLLOW | O_NONBLOCK and a size cap; README: "A build directory that cannot be read
/// is shown as DAMAGED with the reason, never a crash".
#[test]
fn status_does_not_hang_on_a_fifo_state() {
    let sb = Sandbox::new("status-fifo");
    std::fs::create_dir_all(sb.build_dir("fifo")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(sb.build_dir("fifo").join("state.json"))
        .status()
        .unwrap();
    assert!(made.success());
    let mut w = sb.spawn(None, &["status"]);
    wait_until(
        "status to finish (it blocks on the FIFO)",
        Duration::from_secs(5),
        || !w.running(),
    );
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert!(w.stdout().contains("DAMAGED"), "{}", w.stdout());
}

#[test]
fn check_webhook_tells_which_part_failed() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("check", &hook.url());
    let (code, out, err) = ops.run(&["check-webhook"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("webhook: http://127.0.0.1:{}", hook.port()))
            && out.contains("configuration: ok"),
        "{out}"
    );
    assert!(!out.contains(mattermost::HOOK_ID));
    assert_eq!(hook.received().len(), 0, "no --send, nothing sent");

    let (code, out, err) = ops.run(&["check-webhook", "--send"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("delivered"), "{out}");
    assert_eq!(hook.delivered().len(), 1);

    hook.script(&[Answer::Disabled]);
    let (code, _, err) = ops.run(&["check-webhook", "--send"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("HTTP 501"), "{err}");

    fs::write(
        &ops.env_file,
        format!("MATTERMOST_ATVM_WEBHOOK={}\n", hook.unknown_hook_url()),
    )
    .unwrap();
    let (code, _, err) = ops.run(&["check-webhook", "--send"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("HTTP 400 web.incoming_webhook.invalid.app_error")
            && err.contains("MATTERMOST_ATVM_WEBHOOK is wrong, or the hook was deleted"),
        "{err}"
    );
    assert!(!err.contains("doesnotexist"), "{err}");

    // The shipped example's placeholder is refused before anything is sent.
    fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/dist/atvm-run-watcher.env.example"
        ),
        &ops.env_file,
    )
    .unwrap();
    fs::set_permissions(&ops.env_file, fs::Permissions::from_mode(0o600)).unwrap();
    let before = hook.received().len();
    let (code, out, err) = ops.run(&["check-webhook", "--send"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("MATTERMOST_ATVM_WEBHOOK is still the example's placeholder")
            && err.contains("put the real incoming webhook URL"),
        "{err}"
    );
    assert!(!out.contains("configuration: ok"), "{out}");
    assert_eq!(hook.received().len(), before);

    // Lines systemd ignores are pointed out, whatever they were meant to set.
    fs::write(
        &ops.env_file,
        format!(
            "MATTERMOST_ATVM_WEBHOOK = {}\nexport MATTERMOST_ATVM_CHANNEL=qa\n",
            hook.url()
        ),
    )
    .unwrap();
    let (code, out, err) = ops.run(&["check-webhook"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "warning: {}: line 2: systemd ignores `export MATTERMOST_ATVM_CHANNEL=...`",
            ops.env_file.display()
        )) && out.contains("configuration: ok"),
        "{out}"
    );

    fs::set_permissions(&ops.env_file, fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = ops.run(&["check-webhook"]);
    assert_eq!(code, 2, "{err}");
    fs::write(&ops.env_file, "MATTERMOST_ATVM_WEBHOOK=\n").unwrap();
    fs::set_permissions(&ops.env_file, fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, err) = ops.run(&["check-webhook"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("MATTERMOST_ATVM_WEBHOOK is not set"), "{err}");
}

#[test]
fn start_resolves_paths_as_the_instance_will() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("startpaths", &hook.url());
    let other_logs = ops.sb.root.join("other-logs");
    let mut text = fs::read_to_string(&ops.env_file).unwrap();
    text.push_str(&format!(
        "ATVM_WATCHER_LOG_DIR={}\nATVM_WATCHER_HUNG_TIMEOUT=5h\n",
        other_logs.display()
    ));
    fs::write(&ops.env_file, text).unwrap();
    // This shell sets neither the log directory nor the state root: the file decides.
    let out = ops
        .sb
        .cmd(None)
        .env_remove("ATVM_WATCHER_LOG_DIR")
        .env_remove("ATVM_WATCHER_STATE_ROOT")
        .args(["start", "--build-name", "p1"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let req: serde_json::Value =
        serde_json::from_slice(&fs::read(ops.sb.build_dir("p1").join("request.json")).unwrap())
            .unwrap();
    assert_eq!(
        req["log_file"],
        other_logs.join("p1.log").to_string_lossy().as_ref()
    );
    assert_eq!(
        req["hung_timeout"],
        serde_json::Value::Null,
        "the file's tuning is not frozen into the request"
    );
}

/// Bad usage with stderr a pipe nobody reads any more (the journal restarting, `2>&1 |
/// head -0`): the usage error is printed with `eprintln!`, which panics on EPIPE, and the
/// exit code is 101 instead of 2. Under systemd, 2 is in RestartPreventExitStatus and 101
/// is restarted again and again. Issue 9 item 13 fixed the same for stdout; the README
/// promises exit 2 for bad usage.
#[test]
fn bad_usage_with_a_closed_stderr_pipe_is_still_exit_2() {
    let sb = Sandbox::new("usage-epipe");
    let mut fds = [0; 2];
    // SAFETY: a pipe of our own; the read end is closed at once.
    let (r, w) = unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        use std::os::fd::FromRawFd;
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    drop(r);
    let out = sb
        .cmd(None)
        .arg("--no-such-flag")
        .stdout(std::process::Stdio::null())
        .stderr(w)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", out.status);
}

/// `status` and `start` probe a build's watcher lock for an instant; a watcher starting at
/// that instant must not take the probe for another watcher (exit 4 is never restarted by
/// systemd). The probe is held here for 200 ms, far longer than a real one.
#[test]
fn a_brief_lock_probe_does_not_make_a_starting_watcher_exit_4() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("probe", &hook.url());
    ops.sb.append_lines("p", &completed_run(), Style::PLAIN);
    fs::create_dir_all(ops.sb.build_dir("p")).unwrap();
    let lock = fs::File::create(ops.sb.build_dir("p").join("watcher.lock")).unwrap();
    lock.lock().unwrap();
    let t = Instant::now();
    let mut w = ops.sb.watch(&hook, "p", &[]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(w.running(), "the watcher waits for the probe to end");
    drop(lock);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(hook.delivered().len(), 1);
    // Status itself still tells a running watcher from none.
    let (code, out, _) = ops.run(&["status", "--build-name", "p", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["watched"], false, "{out}");
}

/// Runs the binary with `args` and waits for it at most 10 s (a command that blocks on a
/// FIFO fails the test instead of hanging it): exit code, stdout, stderr.
fn run_bounded(sb: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let mut w = sb.spawn(None, args);
    wait_until(
        &format!("{args:?} to finish (a blocking open hangs it)"),
        Duration::from_secs(10),
        || !w.running(),
    );
    (w.code(), w.stdout(), w.stderr())
}

/// Issue 19, fault 19: `status` and `start` opened `watcher.lock` with a blocking open that
/// follows links: a FIFO there (or a link to one) hung both for good. Every file of a build
/// is now opened as the others are (O_NOFOLLOW, O_NONBLOCK, regular files only): `status`
/// shows such a build as not watched, and `start` and a watch refuse it naming the file.
#[test]
fn a_lock_that_is_no_regular_file_never_hangs_status_or_start() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("fifo-lock", &hook.url());
    let sb = &ops.sb;
    // A live build no watcher holds (stopped with SIGTERM: state saved RUNNING).
    let mut w = sb.watch(&hook, "fl", &[]);
    sb.start_run("fl", 3);
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let lock = sb.build_dir("fl").join("watcher.lock");
    let elsewhere = sb.root.join("elsewhere.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&elsewhere)
            .status()
            .unwrap()
            .success()
    );
    type Make = fn(&Path, &Path);
    let kinds: [(&str, Make); 3] = [
        ("a FIFO", |lock, _| {
            assert!(Command::new("mkfifo").arg(lock).status().unwrap().success())
        }),
        ("a link to a FIFO", |lock, fifo| {
            std::os::unix::fs::symlink(fifo, lock).unwrap()
        }),
        ("a directory", |lock, _| fs::create_dir(lock).unwrap()),
    ];
    for (what, make) in kinds {
        match fs::symlink_metadata(&lock) {
            Ok(m) if m.is_dir() => fs::remove_dir(&lock).unwrap(),
            Ok(_) => fs::remove_file(&lock).unwrap(),
            Err(_) => {}
        }
        make(&lock, &elsewhere);
        let (code, out, err) = run_bounded(sb, &["status", "--json", "--build-name", "fl"]);
        assert_eq!(code, 0, "{what}: {err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json[0]["watched"], false, "{what}: {out}");
        assert_eq!(json[0]["status"], "RUNNING", "{what}: {out}");
        for args in [
            &["start", "--build-name", "fl"][..],
            &["--build-name", "fl"],
        ] {
            let (code, _, err) = run_bounded(sb, args);
            assert_eq!(code, 2, "{what}: {args:?}: {err}");
            assert!(
                err.contains(&lock.display().to_string()) && err.contains("not a regular file"),
                "{what}: {args:?}: {err}"
            );
            let told = err.lines().filter(|l| l.contains("watcher.lock")).count();
            assert_eq!(told, 1, "{what}: said once, on one line: {err}");
        }
        assert!(ops.calls().is_empty(), "{what}: {:?}", ops.calls());
    }
    assert_eq!(hook.received().len(), 0);
}

/// A typo in a build name shows at once (issue 19, item 13): `start` says the log is not
/// there yet and names the logs called like it; an instance started by hand with
/// `systemctl start atvm-run-watcher@typo` (no request.json) says so in its first lines.
#[test]
fn a_build_whose_log_is_not_there_names_the_logs_called_like_it() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("typo", &hook.url());
    for name in ["nightly-20261203", "nightly-20261202", "weekly-7"] {
        fs::write(ops.sb.log(name), b"").unwrap();
    }
    let (code, out, err) = ops.run(&["start", "--build-name", "nigthly-20261203"]);
    assert_eq!(code, 0, "{err}");
    let line = out.lines().next().unwrap_or_default();
    assert!(
        line.contains("nigthly-20261203.log is not there yet; waiting up to 30m for it")
            && line.contains("nightly-20261203.log")
            && !line.contains("weekly-7"),
        "{out}"
    );
    let (code, out, err) = ops.run(&["start", "--build-name", "nightly-20261202"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("not there"), "its log is there: {out}");

    // The instance as systemd runs it, with no request recorded.
    let mut w = ops.sb.spawn(
        Some(&hook.url()),
        &["--build-name", "nightly-2026120", "--start-timeout", "1s"],
    );
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let err = w.stderr();
    assert!(
        err.contains("nightly-2026120.log is not there yet")
            && err.contains("nightly-20261203.log")
            && err.contains("nightly-20261202.log"),
        "{err}"
    );
    let mut c = ops.sb.cmd(Some(&hook.url()));
    c.env("INVOCATION_ID", "0123456789abcdef").args([
        "--build-name",
        "nightly-2026121",
        "--start-timeout",
        "1s",
    ]);
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nightly-2026121: no request.json: this instance was not started by `start`"),
        "{err}"
    );
}

/// `status` explains (issue 19, item 4): why and when a build ended, in the JSON list and
/// in the detail view of one build; the list is one JSON document however it is written.
#[test]
fn status_says_why_and_when_a_build_ended() {
    let hook = FakeMattermost::start();
    let ops = Ops::new("status-why", &hook.url());
    let mut w = ops.sb.spawn(
        Some(&hook.url()),
        &["--build-name", "no-log", "--start-timeout", "1s"],
    );
    assert_eq!(w.code(), 0, "{}", w.stderr());
    ops.sb.append_lines("done", &failed_run(), Style::PLAIN);
    let mut w = ops.sb.watch(&hook, "done", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());

    let (code, out, err) = ops.run(&["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let of = |b: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["build"] == b)
            .unwrap()
            .clone()
    };
    let no_log = of("no-log");
    assert_eq!(no_log["status"], "UNKNOWN");
    assert_eq!(no_log["reason"], "no log file appeared within 1s");
    assert!(
        no_log["finished_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{no_log}"
    );
    assert!(
        of("done")["reason"]
            .as_str()
            .is_some_and(|r| r.contains("failed"))
    );

    let (code, out, err) = ops.run(&["status", "--build-name", "no-log"]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "status       UNKNOWN",
        "reason       no log file appeared within 1s",
        "finished     ",
        "no-log.log (last activity -)",
        "post         no",
    ] {
        assert!(out.contains(want), "{want:?} in:\n{out}");
    }
}
