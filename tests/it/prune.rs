//! `prune` through the real binary (README "Operator commands"): a state root made by real
//! builds (plain and categorized, posted, cancelled, terminated, a dry run, a pending post,
//! live ones, one held by a watcher) aged by hand, and damaged, foreign and linked entries.
//! `--dry-run` removes nothing and lists what the real run removes; what goes is what the
//! history no longer needs (a long failure streak keeps the run that ended it, a spec that
//! only an old build ran keeps that build), so `history` and a new post read the same
//! after as before; links are never followed; the leftovers of an interrupted prune are
//! finished off; bad flags are exit 2.

use crate::support::cypress::{self, Spec, SpecRun, Test};
use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CHRONIC: &str = "Suite › chronic";

/// Night `n`'s a.cy.js: `chronic` fails from night 3 on, `flaps` on odd nights.
fn spec_a(n: u32) -> SpecRun {
    let test = |title: &str, fails: bool| {
        if fails {
            Test::failed(
                &["Suite", title],
                &[&format!("AssertionError: {title} broke")],
            )
        } else {
            Test::passed(&["Suite", title])
        }
    };
    SpecRun::new(
        "a.cy.js",
        vec![
            test("chronic", n >= 3),
            test("flaps", n % 2 == 1),
            test("fine", false),
        ],
    )
}

fn passing(spec: &str) -> SpecRun {
    SpecRun::new(spec, vec![Test::passed(&["Suite", "works"])])
}

fn group(name: &str, spec: SpecRun) -> Vec<String> {
    let mut v = vec![format!("[atvm] ATVM_GROUP_START: {name}")];
    v.extend(cypress::detailed_run(&[spec], "01:00"));
    v.push(format!("[atvm] ATVM_GROUP_END: {name} COMPLETED"));
    v
}

/// Writes `build`'s whole log and watches it to its end; its exit code.
fn run(sb: &Sandbox, hook: &FakeMattermost, build: &str, lines: &[String], extra: &[&str]) -> i32 {
    sb.append_lines(build, lines, Style::PLAIN);
    let mut w = sb.watch(hook, build, extra);
    w.code()
}

fn done(sb: &Sandbox, hook: &FakeMattermost, build: &str, lines: &[String], extra: &[&str]) {
    assert_eq!(run(sb, hook, build, lines, extra), 0, "{build}");
}

/// Moves every time of `build`'s state (and its sub-runs') `days` back, as if it had run
/// then.
fn age(sb: &Sandbox, build: &str, days: u64) {
    let back = |v: &mut Value| {
        for key in [
            "finished_at",
            "updated_at",
            "created_at",
            "started_at",
            "last_activity_at",
        ] {
            if let Some(t) = v[key]
                .as_str()
                .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
            {
                let t = t - Duration::from_secs(days * 86_400);
                v[key] = humantime::format_rfc3339_millis(t).to_string().into();
            }
        }
    };
    let dir = sb.build_dir(build);
    let mut files = vec![dir.join("state.json")];
    if let Ok(subs) = fs::read_dir(dir.join("subruns")) {
        files.extend(subs.flatten().map(|e| e.path().join("state.json")));
    }
    for f in files {
        let mut v: Value = serde_json::from_slice(&fs::read(&f).unwrap()).unwrap();
        back(&mut v);
        if let Some(subs) = v["subruns"].as_array_mut() {
            subs.iter_mut().for_each(back);
        }
        fs::write(&f, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }
}

/// Every path under `dir` (links not followed).
fn paths(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            }
            out.insert(e.path());
        }
    }
    out
}

fn ok_out(sb: &Sandbox, args: &[&str]) -> String {
    let output = sb.run(None, args);
    let (code, out, err) = text(&output);
    no_panic(&format!("{args:?}"), output.status, &err);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// The builds a prune's output names after `verb`, with the rest of each line.
fn listed(out: &str, verb: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(verb))
        .filter_map(|l| l.strip_prefix(' '))
        .filter(|l| !l.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

fn names(lines: &[String]) -> Vec<&str> {
    lines.iter().map(|l| l.split(' ').next().unwrap()).collect()
}

/// A watcher's dry run of tonight's a.cy.js as `build`: the message it prints, with the
/// build's name made `tonight`.
fn tonight(sb: &Sandbox, build: &str) -> String {
    sb.append_lines(
        build,
        &cypress::detailed_run(&[spec_a(15)], "01:00"),
        Style::PLAIN,
    );
    let out = ok_out(sb, &["--build-name", build, "--dry-run"]);
    let posts = dry_run_posts(&out);
    assert_eq!(posts.len(), 1, "{out}");
    posts[0].replace(build, "tonight")
}

/// Everything `history` says of a.cy.js (text, JSON, one test).
fn history(sb: &Sandbox) -> Vec<String> {
    [
        vec!["history", "--spec", "a.cy.js"],
        vec!["history", "--spec", "a.cy.js", "--json"],
        vec!["history", "--spec", "a.cy.js", "--test", CHRONIC],
        vec!["history", "--spec", "z.cy.js", "--json"],
    ]
    .iter()
    .map(|args| ok_out(sb, args))
    .collect()
}

/// The state root of the main test: real builds, aged 90 days but for the last two
/// nightlies, and hand-made entries. Returns the directory outside the state root that
/// links point at.
fn a_state_root(sb: &Sandbox, hook: &FakeMattermost) -> PathBuf {
    // Before the nightlies: a cancelled, a terminated and a dry run, a pending post and a
    // build that stopped while running; none of them ran a.cy.js as history.
    sb.append_lines(
        "cancelled",
        &cypress::run_starting(&[Spec::passed("c.cy.js", 1)]),
        Style::PLAIN,
    );
    let mut w = sb.watch(hook, "cancelled", &[]);
    sb.wait_status("cancelled", "RUNNING");
    ok_out(sb, &["cancel", "--build-name", "cancelled", "--no-stop"]);
    assert_eq!(w.code(), 0);
    let mut killed = cypress::run_starting(&[Spec::passed("k.cy.js", 1)]);
    killed.push("Killed".into());
    done(sb, hook, "terminated", &killed, &[]);
    sb.append_lines(
        "dry",
        &cypress::detailed_run(&[spec_a(0)], "01:00"),
        Style::PLAIN,
    );
    ok_out(sb, &["--build-name", "dry", "--dry-run"]);
    hook.script(&[Answer::UnknownHook]);
    let lines = cypress::detailed_run(&[passing("p.cy.js")], "01:00");
    assert_eq!(run(sb, hook, "pending", &lines, &[]), 3);
    sb.append_lines(
        "live",
        &cypress::run_starting(&[Spec::passed("l.cy.js", 1)]),
        Style::PLAIN,
    );
    let mut w = sb.watch(hook, "live", &[]);
    sb.wait_status("live", "RUNNING");
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0);
    done(
        sb,
        hook,
        "held",
        &cypress::detailed_run(&[passing("h.cy.js")], "01:00"),
        &[],
    );
    // A categorized build: a.cy.js, then z.cy.js, which no later build runs.
    let mut lines = group("one", spec_a(0));
    lines.extend(group("two", passing("z.cy.js")));
    lines.push("ATVM_RUN_END: COMPLETED".into());
    done(sb, hook, "old-cat", &lines, &["--categorize"]);
    // Fourteen nightlies of a.cy.js: `chronic` fails in the last twelve.
    for n in 1..=14 {
        let lines = cypress::detailed_run(&[spec_a(n)], "01:00");
        done(sb, hook, &format!("n{n:02}"), &lines, &[]);
    }
    for b in fs::read_dir(&sb.state_root).unwrap().flatten() {
        let b = b.file_name().into_string().unwrap();
        if !["n13", "n14"].contains(&b.as_str()) {
            age(sb, &b, 90);
        }
    }
    // Hand-made entries, and links to a directory outside the state root.
    let outside = sb.root.join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::copy(
        sb.build_dir("n01").join("state.json"),
        outside.join("state.json"),
    )
    .unwrap();
    symlink(&outside, sb.state_root.join("link-old")).unwrap();
    symlink(&outside, sb.build_dir("n01").join("evil")).unwrap();
    symlink(
        outside.join("state.json"),
        sb.build_dir("dry").join("evil.json"),
    )
    .unwrap();
    fs::create_dir_all(sb.build_dir("broken")).unwrap();
    fs::write(sb.build_dir("broken").join("state.json"), b"{ nope").unwrap();
    fs::create_dir_all(sb.build_dir("foreign")).unwrap();
    fs::copy(
        sb.build_dir("n02").join("state.json"),
        sb.build_dir("foreign").join("state.json"),
    )
    .unwrap();
    fs::create_dir_all(sb.state_root.join("has space")).unwrap();
    fs::write(sb.state_root.join("notes.txt"), b"x").unwrap();
    outside
}

/// The main test: what goes, what stays and why, the dry run, and what reads the history.
#[test]
fn prune_removes_only_what_the_history_no_longer_needs() {
    let sb = Sandbox::new("prune");
    let hook = FakeMattermost::start();
    let outside = a_state_root(&sb, &hook);
    // A watcher that follows a running build, and one holding a finished build (its lock,
    // taken here as a watcher takes it).
    sb.append_lines(
        "running",
        &cypress::run_starting(&[Spec::passed("r.cy.js", 1)]),
        Style::PLAIN,
    );
    let mut watcher = sb.watch(&hook, "running", &[]);
    sb.wait_status("running", "RUNNING");
    let lock = fs::File::options()
        .read(true)
        .write(true)
        .open(sb.build_dir("held").join("watcher.lock"))
        .unwrap();
    lock.lock().unwrap();

    let history_before = history(&sb);
    let post_before = tonight(&sb, "probe-1");
    assert!(
        visible(&post_before).contains("failing for 13 runs, since n03"),
        "{post_before}"
    );
    let before = paths(&sb.state_root);
    let dry = ok_out(&sb, &["prune", "--older-than", "30d", "--dry-run"]);
    assert_eq!(
        paths(&sb.state_root),
        before,
        "the dry run removed something:\n{dry}"
    );
    let would = listed(&dry, "would remove");
    assert_eq!(
        names(&would),
        ["cancelled", "dry", "n01", "terminated"],
        "{dry}"
    );
    for (line, status) in would
        .iter()
        .zip(["CANCELLED", "COMPLETED", "FAILED", "TERMINATED"])
    {
        assert!(
            line.contains(&format!("({status}, finished 90d 0h ago, ")),
            "{line}"
        );
    }
    let total = "4 builds, ";
    let kept = "kept 24 (live 2, watched 1, pending 1, needed by the history 12, too recent 3, damaged or foreign 5)";
    assert!(
        dry.lines()
            .any(|l| l.starts_with(&format!("would remove {total}")) && l.ends_with(kept)),
        "{dry}"
    );
    for (entry, why) in [
        ("broken", "state.json: key must be a string"),
        ("foreign", "state.json names another build, n02"),
        ("has space", "not a build name"),
        ("link-old", "a symbolic link (never followed)"),
        ("notes.txt", "not a directory"),
    ] {
        assert!(
            dry.contains(&format!("kept {entry}: {why}")),
            "{entry}:\n{dry}"
        );
    }

    let out = ok_out(&sb, &["prune", "--older-than", "30d"]);
    assert_eq!(
        listed(&out, "removed"),
        would,
        "the dry run said otherwise:\n{dry}\n{out}"
    );
    assert_eq!(
        out.lines()
            .last()
            .unwrap()
            .replacen("removed", "would remove", 1),
        dry.lines().last().unwrap()
    );
    for b in ["cancelled", "dry", "n01", "terminated"] {
        assert!(!sb.build_dir(b).exists(), "{b} is still there");
    }
    let hidden: Vec<String> = fs::read_dir(&sb.state_root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    // What links pointed at is untouched; the link at the root is still a link.
    assert!(outside.join("state.json").is_file());
    assert!(
        fs::symlink_metadata(sb.state_root.join("link-old"))
            .unwrap()
            .is_symlink()
    );
    for b in [
        "old-cat", "n02", "n12", "n13", "pending", "live", "held", "running", "broken", "foreign",
    ] {
        assert!(sb.build_dir(b).is_dir(), "{b} is gone");
    }

    assert_eq!(
        history(&sb),
        history_before,
        "history reads otherwise after the prune"
    );
    assert_eq!(
        tonight(&sb, "probe-2"),
        post_before,
        "a post reads otherwise after the prune"
    );
    // Again: nothing more to remove.
    let again = ok_out(&sb, &["prune", "--older-than", "30d"]);
    assert!(
        again
            .lines()
            .last()
            .unwrap()
            .starts_with("removed 0 builds, 0 B; kept 25"),
        "{again}"
    );
    drop(lock);
    watcher.signal(SIGTERM);
    assert_eq!(watcher.code(), 0);
}

/// A prune interrupted between the rename and the deletion left `.pruning-<build>-<pid>`:
/// no reader sees it, and the next prune finishes it off (never through a link); one whose
/// process still runs is another prune's, left alone.
#[test]
fn a_leftover_of_an_interrupted_prune_is_finished_off() {
    let sb = Sandbox::new("prune-leftover");
    let hook = FakeMattermost::start();
    done(
        &sb,
        &hook,
        "gone",
        &cypress::detailed_run(&[passing("g.cy.js")], "01:00"),
        &[],
    );
    let outside = sb.root.join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("keep.txt"), b"x").unwrap();
    symlink(&outside, sb.build_dir("gone").join("evil")).unwrap();
    // A pid no process has: past the kernel's pid_max.
    let pid_max: u64 = fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let leftover = sb.state_root.join(format!(".pruning-gone-{}", pid_max + 1));
    fs::rename(sb.build_dir("gone"), &leftover).unwrap();
    let busy = sb
        .state_root
        .join(format!(".pruning-busy-{}", std::process::id()));
    fs::create_dir_all(&busy).unwrap();

    let status = ok_out(&sb, &["status", "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&status).unwrap(),
        Value::Array(vec![])
    );
    let dry = ok_out(&sb, &["prune", "--older-than", "90d", "--dry-run"]);
    assert!(
        dry.starts_with(&format!(
            "would finish off .pruning-gone-{} (left by an interrupted prune, ",
            pid_max + 1
        )),
        "{dry}"
    );
    assert!(leftover.is_dir());
    let out = ok_out(&sb, &["prune", "--older-than", "90d"]);
    assert!(
        out.lines()
            .last()
            .unwrap()
            .ends_with("; finished off 1 left by an interrupted prune"),
        "{out}"
    );
    assert!(!leftover.exists());
    assert!(busy.is_dir(), "another prune's directory was taken");
    assert!(outside.join("keep.txt").is_file());
}

/// Bad flags are exit 2 with one line naming the flag; days, weeks and hours are durations.
#[test]
fn bad_flags_are_exit_2_and_ages_are_durations() {
    let sb = Sandbox::new("prune-flags");
    for (args, says) in [
        (vec!["prune"], "--older-than"),
        (
            vec!["prune", "--older-than", "90x"],
            "--older-than: invalid duration \"90x\"",
        ),
        (
            vec!["prune", "--older-than", "400d"],
            "--older-than: \"400d\" is longer than a year",
        ),
        (vec!["prune", "--older-than", "1d", "--bogus"], "--bogus"),
        (
            vec![
                "prune",
                "--older-than",
                "1d",
                "--state-root",
                "/nonexistent/x",
            ],
            "state root /nonexistent/x is not a directory",
        ),
    ] {
        let (code, out, err) = text(&sb.run(None, &args));
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
    }
    for age in ["90d", "90days", "2160h", "13w", "0"] {
        let out = ok_out(&sb, &["prune", "--older-than", age]);
        assert_eq!(
            out,
            "removed 0 builds, 0 B; kept 0 (live 0, watched 0, pending 0, needed by the history 0, too recent 0, damaged or foreign 0)\n"
        );
    }
}
