//! Fault hunt (helper session): defects found by trying the watcher as a hostile log, state
//! root or operator would. Each test states what the contract or README promises; they
//! fail on the code they were written against.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;

/// The headings of the posts delivered for `build`.
fn headings_of(hook: &FakeMattermost, build: &str) -> Vec<String> {
    hook.delivered()
        .into_iter()
        .filter(|r| r.text().contains(&format!("· {build}")))
        .map(|r| r.text().lines().next().unwrap_or("").to_string())
        .collect()
}

/// Cypress killed while a construct of the digest was open (a test being retried:
/// `(Attempt 1 of 3)` and no result after it; or a failure list cut short), then group a
/// is TERMINATED and group b starts. The watcher is stopped (SIGTERM: "saves the state and
/// exits 0 so that a later start resumes", contract §6; a SIGKILL after the periodic save
/// does the same) after group b opened, and started again. The open construct made the
/// saved position go back to where it began, in group a, so the restart reads `Killed`
/// and `ATVM_GROUP_START: b` again: b is taken for killed, and its COMPLETED post is never
/// made. The digest's window must not reach back over lines that were already decided.
fn restart_after_an_open_construct(build: &str, open: &[&str]) {
    let sb = Sandbox::new(&format!("hunt-restart-{build}"));
    let hook = FakeMattermost::start();
    let mut w = sb.watch(&hook, build, &["--categorize"]);
    let spec_a = Spec::passed("a.cy.js", 1);
    let mut lines = vec!["ATVM_GROUPS: a,b".to_string(), "ATVM_GROUP_START: a".into()];
    lines.extend(cypress::run_starting(std::slice::from_ref(&spec_a)));
    lines.extend(cypress::spec_start(&spec_a, 1, 1));
    lines.extend(open.iter().map(|l| l.to_string()));
    lines.push("Killed".into());
    lines.push("ATVM_GROUP_START: b".into());
    let spec_b = Spec::passed("b.cy.js", 1);
    lines.extend(cypress::run_starting(std::slice::from_ref(&spec_b)));
    sb.append_lines(build, &lines, Style::PLAIN);
    wait_until("group b open", WAIT, || {
        sb.try_state(build).is_some_and(|s| {
            s["subruns"].as_array().is_some_and(|v| v.len() == 2)
                && s["subruns"][0]["status"] == "TERMINATED"
                && s["subruns"][1]["run_seen"] == true
        })
    });
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0, "{}", w.stderr());

    let mut rest = cypress::spec_block(&spec_b, 1, 1);
    rest.extend(cypress::run_finished(
        std::slice::from_ref(&spec_b),
        "00:03",
    ));
    rest.push("ATVM_GROUP_END: b COMPLETED".into());
    sb.append_lines(build, &rest, Style::PLAIN);
    let mut w2 = sb.watch(&hook, build, &[]);
    assert_eq!(w2.code(), 0, "{}", w2.stderr());
    let st = sb.state(build);
    let subs: Vec<(String, String)> = st["subruns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        subs,
        vec![
            ("a".to_string(), "TERMINATED".to_string()),
            ("b".to_string(), "COMPLETED".to_string())
        ],
        "sub-runs after the restart; stderr:\n{}",
        w2.stderr()
    );
    assert_eq!(
        headings_of(&hook, build),
        vec![format!(
            "#### :white_check_mark: ATVM run COMPLETED · {build} · group 2 of 2: b"
        )]
    );
}

#[test]
fn restart_after_a_killed_retry_does_not_replay_later_markers() {
    restart_after_an_open_construct("hr1", &["    (Attempt 1 of 3) imports the inventory"]);
}

#[test]
fn restart_after_a_cut_failure_list_does_not_replay_later_markers() {
    restart_after_an_open_construct(
        "hr2",
        &[
            "",
            "  0 passing (4s)",
            "  2 failing",
            "",
            "  1) a",
            "       imports the inventory:",
            "     Error: boom",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/a.cy.js:5:9)",
            "",
        ],
    );
}

/// A Cypress run of one spec `name` whose mocha output is `body` (plain lines after the
/// `Running:` header), failing `failing` of `tests`; the spec's row and the footer follow.
fn one_spec_log(name: &str, body: &[&str], tests: u32, failing: u32) -> Vec<u8> {
    let spec = if failing > 0 {
        Spec::failed(name, tests, failing)
    } else {
        Spec::passed(name, tests)
    };
    let mut lines = cypress::run_starting(std::slice::from_ref(&spec));
    lines.extend(cypress::running_header(name, 1, 1));
    lines.extend(body.iter().map(|s| s.to_string()));
    lines.push("  (Results)".into());
    lines.extend(cypress::run_finished(std::slice::from_ref(&spec), "00:10"));
    cypress::render(&lines, Style::PLAIN)
}

/// Watches a finished log with `--dry-run` (state kept under the sandbox's state root);
/// returns the state and the printed message.
fn dry_run(sb: &Sandbox, build: &str, log: &[u8]) -> (Value, String) {
    sb.append(build, log);
    let out = sb.run(None, &["--build-name", build, "--dry-run"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        sb.state(build),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The renderer crashes while a test is being retried (`(Attempt 1 of 3)` printed, the
/// second attempt never ends): Cypress prints its crash text and the spec fails without a
/// failure list. Contract §9: such a spec is kept with "its reason line", which is in the
/// log; the open retry swallows it, and the failure is recorded with `error: null`.
#[test]
fn a_crash_during_a_retry_keeps_its_reason() {
    let sb = Sandbox::new("hunt-crash-retry");
    let log = one_spec_log(
        "crash.cy.js",
        &[
            "",
            "  Inventory",
            "    (Attempt 1 of 3) imports the inventory",
            "",
            "We detected that the Chromium Renderer process just crashed.",
            "",
            "This can happen for a number of different reasons.",
            "",
        ],
        1,
        1,
    );
    let (st, _) = dry_run(&sb, "hc1", &log);
    assert_eq!(
        st["failures"],
        json!([{
            "spec": "crash.cy.js",
            "title": null,
            "error": "We detected that the Chromium Renderer process just crashed."
        }])
    );
}

/// Two failing tests with the same title (mocha allows it: a test defined in a loop, or
/// twice in a suite) are two entries of the failure list. Contract §9: the post lists
/// "its failing tests". The restart de-duplication (`failures.contains`) merges them: the
/// state keeps one and the post says "… and 1 more" for a test it could have shown.
#[test]
fn two_failing_tests_with_the_same_title_are_both_kept() {
    let sb = Sandbox::new("hunt-dup-title");
    let log = one_spec_log(
        "dup.cy.js",
        &[
            "",
            "  Migration",
            "    1) checks the VM",
            "    2) checks the VM",
            "",
            "",
            "  0 passing (4s)",
            "  2 failing",
            "",
            "  1) Migration",
            "       checks the VM:",
            "     Error: VM not found",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/dup.cy.js:5:9)",
            "",
            "  2) Migration",
            "       checks the VM:",
            "     Error: VM not found",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/dup.cy.js:5:9)",
            "",
            "",
        ],
        2,
        2,
    );
    let (st, msg) = dry_run(&sb, "hd1", &log);
    let entry = json!({"spec": "dup.cy.js", "title": "Migration › checks the VM", "error": "Error: VM not found"});
    assert_eq!(st["failures"], json!([entry, entry]), "message:\n{msg}");
}

/// A retried test whose title ends in `s)` and that passed without a duration suffix
/// (mocha prints `(123ms)` only for slow tests): `passed_title` takes `(2 VMs)` for a
/// duration, the `✓` line no longer matches the `(Attempt` title, and the flaky test is
/// not counted (contract §9: "A test that passed after (Attempt k of M) lines was
/// retried").
#[test]
fn a_flaky_title_ending_in_s_paren_is_counted() {
    let sb = Sandbox::new("hunt-flaky-paren");
    let log = one_spec_log(
        "fl.cy.js",
        &[
            "",
            "  Hosts",
            "    (Attempt 1 of 2) migrates both hosts (2 VMs)",
            "    ✓ migrates both hosts (2 VMs)",
            "",
            "",
            "  1 passing (9s)",
            "",
            "",
        ],
        1,
        0,
    );
    let (st, msg) = dry_run(&sb, "hf1", &log);
    assert_eq!(
        st["flaky"],
        json!([{"spec": "fl.cy.js", "title": "migrates both hosts (2 VMs)", "attempts": 2}]),
        "message:\n{msg}"
    );
}

/// An error whose message starts with a line break (`throw new Error('\nexpected ...')`):
/// mocha prints five blanks and nothing else where the first line would be. The entry
/// then never ends, `next` stays 1, entry 2's title lines are glued onto entry 1 and
/// entry 2's error is given to it: one test lost, the other with a wrong title and error,
/// and every later entry of the list lost the same way. One odd entry must not corrupt the
/// rest of the list.
#[test]
fn an_entry_without_a_first_error_line_does_not_swallow_the_next() {
    let sb = Sandbox::new("hunt-empty-error");
    let log = one_spec_log(
        "nl.cy.js",
        &[
            "",
            "  S",
            "    1) first",
            "    2) second",
            "",
            "",
            "  0 passing (4s)",
            "  2 failing",
            "",
            "  1) S",
            "       first:",
            "     ",
            "expected the VM to be running",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/nl.cy.js:5:9)",
            "",
            "  2) S",
            "       second:",
            "     Error: second failed",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/nl.cy.js:9:9)",
            "",
            "",
        ],
        2,
        2,
    );
    let (st, msg) = dry_run(&sb, "hn1", &log);
    let titles: Vec<&str> = st["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap_or("<none>"))
        .collect();
    assert_eq!(titles, ["S › first", "S › second"], "message:\n{msg}");
    assert_eq!(st["failures"][1]["error"], "Error: second failed");
}

/// Peak resident memory of a live process, in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// "Is it new" reads up to 200 earlier builds' state.json, each up to 4 MiB, and keeps every
/// spec name and failure title it read, uncut, until the post is made. Twelve builds under
/// the state root whose state.json holds 400 spec names of 10 KB each (3.9 MiB, below the
/// reader's size cap) make a watcher that follows its run in a few MiB peak at tens of
/// MiB (about 40 MiB with the debug binary, 315 MiB with the release binary and 200 such
/// builds). Memory must stay bounded whatever the state root holds (caps on what is kept
/// of each earlier run: NAME_CAP per name, only the specs this run ran). The debug
/// watcher peaks at about 10 MiB without such builds; 24 MiB leaves room for reading one
/// 4 MiB file at a time.
#[test]
fn earlier_builds_with_huge_states_do_not_blow_up_memory() {
    let sb = Sandbox::new("hunt-history-memory");
    let hook = FakeMattermost::start();
    // A real finished build first, as the template of the hostile ones.
    let lines = support::failed_run();
    sb.append_lines("tmpl", &lines, Style::PLAIN);
    let mut w = sb.watch(&hook, "tmpl", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let mut tmpl = sb.state("tmpl");
    std::fs::remove_dir_all(sb.build_dir("tmpl")).unwrap();
    let long = "x".repeat(10_000);
    let specs: Vec<Value> = (0..400)
        .map(|i| {
            json!({"name": format!("{long}{i}.cy.js"), "tests": 1, "passed": 1, "failed": 0,
                   "pending": 0, "skipped": 0, "duration": "00:01"})
        })
        .collect();
    tmpl["specs"] = Value::Array(specs);
    for b in 0..12 {
        let name = format!("huge{b:02}");
        tmpl["build_name"] = json!(name);
        let text = serde_json::to_vec(&tmpl).unwrap();
        assert!(text.len() < 4 << 20, "{} bytes", text.len());
        std::fs::create_dir_all(sb.build_dir(&name)).unwrap();
        std::fs::write(sb.build_dir(&name).join("state.json"), text).unwrap();
    }
    // The run under test: its post is held by the webhook so the watcher is still alive
    // (and has read the earlier builds) when its peak is taken.
    hook.set_default(Answer::Slow(Duration::from_secs(2)));
    sb.append_lines("victim", &lines, Style::PLAIN);
    let mut w = sb.watch(&hook, "victim", &[]);
    wait_until("the victim's post arrives", WAIT, || {
        hook.received()
            .iter()
            .any(|r| r.text().contains("· victim"))
    });
    let peak = peak_rss_kib(w.child.id());
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert!(
        peak < 24 * 1024,
        "the watcher peaked at {} MiB while reading earlier builds",
        peak / 1024
    );
}

/// `MATTERMOST_ATVM_MENTION_ON_FAILURE` is validated name by name but not in length: 500
/// valid names (5,500 characters) are accepted at start-up, then the FAILED post is cut
/// at 3,999 characters in the middle of the mention list. The counts table and the host
/// are gone (contract §9: "the digest gives way first, never the status, build, counts or
/// host") and the last, cut name (`@user036…`) mentions somebody else, who may exist.
/// Either refuse such a value at start-up (exit 2) or keep the post's promises with it.
#[test]
fn a_long_mention_list_never_crowds_out_the_counts_or_the_host() {
    let mut sb = Sandbox::new("hunt-long-mention");
    let names: Vec<String> = (0..500).map(|i| format!("@user{i:04}")).collect();
    sb.env
        .push(("MATTERMOST_ATVM_MENTION_ON_FAILURE".into(), names.join(",")));
    let hook = FakeMattermost::start();
    sb.append_lines("lm1", &support::failed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "lm1", &[]);
    let code = w.code();
    if code == 2 {
        return; // refused at start-up: fine
    }
    assert_eq!(code, 0, "{}", w.stderr());
    let text = hook.delivered()[0].text();
    assert!(text.chars().count() < 4000);
    assert!(text.contains("| Tests |"), "no counts in the post:\n{text}");
    assert!(text.contains("Controller:"), "no host in the post:\n{text}");
    for word in text.split([' ', ',', '\n']).filter(|w| w.starts_with('@')) {
        let w = word.trim_end_matches('…');
        assert!(
            names.iter().any(|n| n == w) && !word.ends_with('…'),
            "a mention that was not configured: {word:?}"
        );
    }
}

/// `status` reads every build's state.json with a plain `fs::read`: it follows symlinks,
/// has no size cap and blocks on a FIFO. One build directory whose state.json is a FIFO
/// hangs `status` for good (a symlink to /dev/zero makes it eat memory until the
/// allocation fails or the OOM killer comes). The "is it new" reader already opens with
/// O_NOFOLLOW | O_NONBLOCK and a size cap; README: "A build directory that cannot be read
/// is shown as DAMAGED with the reason, never a crash".
#[test]
fn status_does_not_hang_on_a_fifo_state() {
    let sb = Sandbox::new("hunt-status-fifo");
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

/// Bad usage with stderr a pipe nobody reads any more (the journal restarting, `2>&1 |
/// head -0`): the usage error is printed with `eprintln!`, which panics on EPIPE, and the
/// exit code is 101 instead of 2. Under systemd, 2 is in RestartPreventExitStatus and 101
/// is restarted again and again. Issue 9 item 13 fixed the same for stdout; the README
/// promises exit 2 for bad usage.
#[test]
fn bad_usage_with_a_closed_stderr_pipe_is_still_exit_2() {
    let sb = Sandbox::new("hunt-usage-epipe");
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

/// Issue 12: "no untrusted text becomes a mention, link or heading". The tests render the
/// post with pulldown-cmark, which has no GFM autolinks; Mattermost has them: a bare
/// `https://...` or `www....` in a post is a live link. An error line from the log that
/// carries a URL reaches the post as it is, and is clickable there.
#[test]
fn a_url_in_an_error_line_is_not_a_live_link() {
    let sb = Sandbox::new("hunt-autolink");
    let log = one_spec_log(
        "link.cy.js",
        &[
            "",
            "  Login",
            "    1) signs in",
            "",
            "",
            "  0 passing (4s)",
            "  1 failing",
            "",
            "  1) Login",
            "       signs in:",
            "     AssertionError: expected https://phish.example/login or www.phish.example to be the portal",
            "      at Context.eval (webpack://cdc-e2e/./cypress/e2e/link.cy.js:5:9)",
            "",
            "",
        ],
        1,
        1,
    );
    let (st, msg) = dry_run(&sb, "hl1", &log);
    assert!(
        st["failures"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("phish")),
        "{st:#}"
    );
    let post = msg
        .lines()
        .find(|l| l.contains("phish"))
        .expect("the error line is in the post");
    for live in ["https://phish", "www.phish"] {
        assert!(
            !post.contains(live),
            "{live:?} would be autolinked by Mattermost: {post}"
        );
    }
}
