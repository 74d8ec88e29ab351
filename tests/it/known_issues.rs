//! The known-issues file (CONTRACT §10) at start-up: `watch`, `start` and `check-webhook`
//! read and check it (`start` the one its instance will read: the environment file's), and
//! a bad one is exit 2 with one line naming the file, the entry and the field, before
//! anything is created or started. What a match does to a post is in `triage.rs`.

use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};

/// Files that are not a list, and entries of every wrong kind: (text, what the line says).
const BAD: &[(&str, &[&str])] = &[
    ("{\"id\": \"A-1\", \"spec\": \"x\"}", &["not a JSON list"]),
    ("[{\"id\": \"A-1\", \"spec\": \"x\"},", &["not JSON"]),
    (
        "[{\"id\": \"A-1\", \"spec\": \"x\"}, {\"id\": \"A-2\", \"titel\": \"x\"}]",
        &["entry 2", "\"titel\": no such field"],
    ),
    ("[{\"spec\": \"x\"}]", &["entry 1", "id: missing"]),
    ("[{\"id\": \"A 1\", \"spec\": \"x\"}]", &["entry 1", "id:"]),
    (
        "[{\"id\": \"A-1\"}]",
        &["entry 1", "at least one of spec, title, error"],
    ),
    (
        "[{\"id\": \"A-1\", \"spec\": \"x\", \"url\": \"ftp://x.example\"}]",
        &["entry 1", "url:"],
    ),
    (
        "[{\"id\": \"A-1\", \"spec\": \"x\", \"until\": \"31.01.2027\"}]",
        &["entry 1", "until:"],
    ),
    ("[1, 2]", &["entry 1", "not an object"]),
];

fn write(sb: &Sandbox, name: &str, text: &str) -> PathBuf {
    let p = sb.root.join(name);
    fs::write(&p, text).unwrap();
    p
}

fn assert_refused(what: &str, out: &std::process::Output, file: &Path, says: &[&str]) {
    let (code, _, err) = text(out);
    assert_eq!(code, 2, "{what}: {err}");
    let line = err.trim();
    assert_eq!(line.lines().count(), 1, "{what}: one line: {err}");
    assert!(
        line.contains(&format!("known-issues file {}", file.display())),
        "{what}: {err}"
    );
    for s in says {
        assert!(line.contains(s), "{what}: {err} should say {s:?}");
    }
}

#[test]
fn a_bad_file_stops_watch_start_and_check_webhook() {
    let hook = FakeMattermost::start();
    let mut sb = Sandbox::new("known-bad");
    let calls = sb.stub_systemctl();
    for (i, (bad, says)) in BAD.iter().enumerate() {
        let file = write(&sb, &format!("known-{i}.json"), bad);
        let build = format!("kb-{i}");
        let mut env_text = sb.env_text(&hook.url());
        env_text = env_text.replace(
            &sb.no_known_issues().display().to_string(),
            &file.display().to_string(),
        );
        sb.env_file(&env_text);

        let mut watch = sb.cmd(Some(&hook.url()));
        watch
            .env("ATVM_WATCHER_KNOWN_ISSUES", &file)
            .args(["--build-name", &build]);
        assert_refused("watch", &watch.output().unwrap(), &file, says);
        assert!(!sb.build_dir(&build).exists(), "watch created nothing");

        // start reads the file its instance will: the environment file's, whatever this
        // shell says.
        assert_refused(
            "start",
            &sb.run(None, &["start", "--build-name", &build]),
            &file,
            says,
        );
        assert!(!sb.build_dir(&build).exists(), "start recorded nothing");
        assert!(!calls.exists(), "start started nothing");

        assert_refused(
            "check-webhook",
            &sb.run(None, &["check-webhook"]),
            &file,
            says,
        );
    }
    assert!(hook.received().is_empty());
}

#[test]
fn a_good_file_is_read_by_all_three() {
    let hook = FakeMattermost::start();
    let mut sb = Sandbox::new("known-good");
    let calls = sb.stub_systemctl();
    let good = write(
        &sb,
        "known.json",
        r#"[{"id": "ATVM-1", "url": "https://jira.example/browse/ATVM-1", "spec": "windows", "until": "2999-01-31"},
            {"id": "gh:org/repo#12", "error": "ECONNREFUSED"}]"#,
    );
    let bad = write(&sb, "bad.json", "[{}]");
    let env_text = sb.env_text(&hook.url()).replace(
        &sb.no_known_issues().display().to_string(),
        &good.display().to_string(),
    );
    sb.env_file(&env_text);

    let out = sb.run(None, &["check-webhook"]);
    let (code, stdout, err) = text(&out);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains(&format!("known issues: 2 from {}", good.display())),
        "{stdout}"
    );

    // The shell's variable is not what the instance reads: start checks the env file's.
    let mut start = sb.cmd(None);
    start
        .env("ATVM_WATCHER_KNOWN_ISSUES", &bad)
        .args(["start", "--build-name", "kg-1"]);
    let (code, _, err) = text(&start.output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(fs::read_to_string(&calls).unwrap().contains("kg-1"));

    // No file is no known issues.
    fs::remove_file(&good).unwrap();
    let (code, stdout, err) = text(&sb.run(None, &["check-webhook"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains(&format!(
            "known issues: none ({} does not exist)",
            good.display()
        )),
        "{stdout}"
    );
}
