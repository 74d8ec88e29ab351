//! Regression tests for the delivery, state and configuration edges of issue 9 (items 6,
//! 7, 8, 10, 11, 12, 13 and 14): big answer bodies, cancel over a corrupt state, a kill
//! between `posted.marker` and `state.json`, absurd `Retry-After` values, webhook URLs
//! without `/hooks/`, errors that name what the operator set, a closed stdout, and
//! `status` during a watcher's start. Real binary, real files, the fake Mattermost on
//! 127.0.0.1.

mod support;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};
use support::mattermost::{Interceptor, Received};
use support::*;

// ---------------------------------------------------------------------------------------
// Helpers

fn calls(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn text(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A proxy's or a web server's HTML page of about `size` bytes (never `ok`).
fn html_page(title: &str, size: usize) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n<style>\n"
    );
    let mut i = 0;
    while s.len() < size.saturating_sub(200) {
        s.push_str(&format!(
            ".c{i} {{ margin: 0 auto; padding: 4px 8px; font: 14px/1.4 sans-serif; color: #333; }}\n"
        ));
        i += 1;
    }
    s.push_str(&format!(
        "</style></head><body><h1>{title}</h1><p>Please sign in to continue.</p></body></html>\n"
    ));
    s
}

/// Every file and directory under `dir`: (path relative to `dir`, content if a file).
fn tree(dir: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    fn walk(base: &Path, p: &Path, out: &mut Vec<(String, Option<Vec<u8>>)>) {
        for e in fs::read_dir(p).unwrap().flatten() {
            let path = e.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.push((rel, None));
                walk(base, &path, out);
            } else {
                out.push((rel, fs::read(&path).ok()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

fn set_mtime(p: &Path, t: SystemTime) {
    fs::File::open(p).unwrap().set_modified(t).unwrap();
}

/// Why `status`/`stderr` show a panic, if they do.
fn panic_problem(what: &str, status: ExitStatus, stderr: &str) -> Option<String> {
    if stderr.contains("panicked")
        || matches!(status.code(), Some(101) | Some(134))
        || status.signal() == Some(libc::SIGABRT)
    {
        Some(format!("{what}: panicked ({status}):\n{stderr}"))
    } else {
        None
    }
}

fn no_panic(what: &str, status: ExitStatus, stderr: &str) {
    if let Some(p) = panic_problem(what, status, stderr) {
        panic!("{p}");
    }
}

/// The last line of stderr, which names the failure.
fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

// ---------------------------------------------------------------------------------------
// Item 6: a big answer body is never a reason to retry.

fn big_answer_is_sent_once(name: &str, answer: Answer, want_in_error: &str) {
    let sb = Sandbox::new(name);
    let hook = FakeMattermost::start();
    hook.set_default(answer);
    sb.append_lines(name, &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, name, &[]);
    let code = w.code();
    let sent = hook.received().len();
    assert_eq!(
        sent,
        1,
        "a permanent answer with a big body must be sent once, was sent {sent} times; stderr:\n{}",
        w.stderr()
    );
    assert_eq!(code, 3, "{}", w.stderr());
    let st = sb.state(name);
    assert_eq!(st["post_pending"], true, "{st}");
    assert_eq!(st["posted"], false, "{st}");
    let err = st["post_error"].as_str().unwrap_or_default();
    assert!(err.contains(want_in_error), "post_error: {err:?}");
    assert!(!sb.marker(name, "posted.marker"));
}

#[test]
fn a_200_with_a_70kb_proxy_page_is_sent_once_and_is_permanent() {
    big_answer_is_sent_once(
        "big200",
        Answer::Page(200, html_page("Corporate proxy: sign in", 70_000)),
        "200 without",
    );
}

#[test]
fn a_400_with_a_100kb_error_page_is_sent_once() {
    big_answer_is_sent_once(
        "big400",
        Answer::Page(400, html_page("400 Bad Request", 100_000)),
        "HTTP 400",
    );
}

#[test]
fn a_404_with_a_100kb_error_page_is_sent_once() {
    big_answer_is_sent_once(
        "big404",
        Answer::Page(404, html_page("404 Not Found", 100_000)),
        "HTTP 404",
    );
}

/// Found by review: a 4xx whose body was cut off was retried like a cut-off 200; the
/// status alone says the post was refused.
#[test]
fn a_403_whose_body_is_cut_off_is_sent_once() {
    big_answer_is_sent_once("cut403", Answer::TruncatedStatus(403), "HTTP 403");
}

// ---------------------------------------------------------------------------------------
// Item 7: cancel over a corrupt state.json of a finished, posted build.

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

// ---------------------------------------------------------------------------------------
// Item 8: killed after posted.marker, before state.json was saved.

/// SIGKILLs the watcher (pid set once spawned) when Mattermost has taken the post and
/// before the answer is sent: the state on disk is the one saved before the attempt.
struct KillBeforeAnswer {
    pid: Arc<AtomicU32>,
}

impl Interceptor for KillBeforeAnswer {
    fn before_answer(&self, _r: &Received) {
        wait_until("the watcher's pid", WAIT, || {
            self.pid.load(Ordering::SeqCst) != 0
        });
        // SAFETY: a signal to the test's own child process.
        unsafe {
            libc::kill(self.pid.load(Ordering::SeqCst) as i32, libc::SIGKILL);
        }
    }
}

/// The watcher is killed at the moment Mattermost took the post; the `posted.marker` the
/// watcher would have written next is then written as it writes it (JSON, the status).
/// The next start must record the delivery in state.json, post nothing, and `start` must
/// not offer to deliver a post that was delivered.
fn killed_between_marker_and_state(name: &str, categorize: bool) {
    let mut sb = Sandbox::new(name);
    let calls_file = sb.stub_systemctl();
    let hook = FakeMattermost::start();
    sb.env_file(&sb.env_text(&hook.url()));
    let pid = Arc::new(AtomicU32::new(0));
    hook.set_interceptor(Arc::new(KillBeforeAnswer { pid: pid.clone() }));
    let mut lines = Vec::new();
    if categorize {
        lines.push("ATVM_GROUPS: linux".to_string());
    }
    lines.extend(failed_run());
    sb.append_lines(name, &lines, Style::PLAIN);
    let args: &[&str] = if categorize { &["--categorize"] } else { &[] };
    let mut w = sb.watch(&hook, name, args);
    pid.store(w.child.id(), Ordering::SeqCst);
    let st = w.wait(WAIT);
    assert_eq!(st.signal(), Some(libc::SIGKILL), "{}", w.stderr());
    assert_eq!(hook.received().len(), 1);
    hook.wait_idle(WAIT);

    // What was on disk at the kill: the post pending. Then the marker, as written.
    let before = sb.state(name);
    let marker = if categorize {
        assert_eq!(before["subruns"][0]["posted"], false, "{before}");
        let key = before["subruns"][0]["key"].as_str().unwrap().to_string();
        sb.build_dir(name)
            .join("subruns")
            .join(key)
            .join("posted.marker")
    } else {
        assert_eq!(before["post_pending"], true, "{before}");
        sb.build_dir(name).join("posted.marker")
    };
    assert_eq!(before["posted"], false, "{before}");
    fs::write(
        &marker,
        serde_json::json!({"at": "2026-11-22T10:15:00Z", "status": "FAILED", "reason": null})
            .to_string(),
    )
    .unwrap();

    // `start` now: the post was delivered, so it must not offer to deliver it.
    let (code, out, err) = text(&sb.run(None, &["start", "--build-name", name]));
    assert!(
        !out.contains("undelivered"),
        "start offers to deliver a post whose posted.marker exists: {out}"
    );
    assert_eq!(
        code, 2,
        "a finished, posted build is not started again: {out}{err}"
    );
    assert!(err.contains("already finished"), "{err}");
    assert!(calls(&calls_file).is_empty(), "{:?}", calls(&calls_file));

    // The restart (what systemd does): records the delivery, posts nothing.
    hook.set_interceptor(Arc::new(NoIntercept));
    let mut w2 = sb.watch(&hook, name, args);
    assert_eq!(w2.code(), 0, "{}", w2.stderr());
    assert_eq!(hook.received().len(), 1, "no second post");
    let st = sb.state(name);
    assert_eq!(
        (st["posted"].clone(), st["post_pending"].clone()),
        (true.into(), false.into()),
        "the marker proves the delivery; state.json must record it: {st}"
    );
    if categorize {
        assert_eq!(st["subruns"][0]["posted"], true, "{st}");
        let key = st["subruns"][0]["key"].as_str().unwrap();
        let sub: serde_json::Value = serde_json::from_slice(
            &fs::read(
                sb.build_dir(name)
                    .join("subruns")
                    .join(key)
                    .join("state.json"),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(sub["posted"], true, "{sub}");
    }

    // And `start` after the restart: still nothing to deliver.
    let (code, out, err) = text(&sb.run(None, &["start", "--build-name", name]));
    assert!(!out.contains("undelivered"), "{out}");
    assert_eq!(code, 2, "{out}{err}");
    assert!(calls(&calls_file).is_empty(), "{:?}", calls(&calls_file));
}

struct NoIntercept;
impl Interceptor for NoIntercept {}

#[test]
fn killed_after_posted_marker_the_next_start_records_the_delivery() {
    killed_between_marker_and_state("killmark", false);
}

#[test]
fn killed_after_a_subrun_posted_marker_the_next_start_records_it() {
    killed_between_marker_and_state("killsub", true);
}

// ---------------------------------------------------------------------------------------
// Item 10: Retry-After from the network is bounded.

fn retry_after_run(sb: &Sandbox, hook: &FakeMattermost, build: &str, what: &str) -> i32 {
    let mut w = sb.watch(hook, build, &[]);
    let status = w.wait(Duration::from_secs(60));
    let err = w.stderr();
    no_panic(what, status, &err);
    let code = status.code().unwrap_or(-1);
    assert!((0..=4).contains(&code), "{what}: exit {status}:\n{err}");
    code
}

/// A sandbox whose retries come 2 s apart, 3 attempts within 6 s: a `Retry-After` value
/// is then read on a later attempt, a second or more after the first.
fn retry_sandbox(name: &str) -> Sandbox {
    let mut sb = Sandbox::new(name);
    for (k, v) in [
        ("ATVM_WATCHER_RETRY_BASE", "2s"),
        ("ATVM_WATCHER_RETRY_CAP", "2s"),
        ("ATVM_WATCHER_RETRY_ATTEMPTS", "3"),
        ("ATVM_WATCHER_RETRY_WINDOW", "6s"),
    ] {
        sb.env.push((k.into(), v.into()));
    }
    sb
}

/// `Retry-After: 2^64-1` on a 429. The overflow shows once the first attempt of a post is
/// a second or more behind (a later attempt): here a 503 comes first and the retry base is
/// 2 s, on the first start and on a restart.
#[test]
fn retry_after_u64_max_does_not_panic_now_or_after_a_restart() {
    const MAX: &str = "18446744073709551615";
    let sb = retry_sandbox("ramax");
    let hook = FakeMattermost::start();
    hook.set_default(Answer::TooManyRaw(MAX.into()));
    sb.append_lines("rm", &completed_run(), Style::PLAIN);
    for round in ["first start", "restart"] {
        hook.script(&[Answer::ServerError(503), Answer::TooManyRaw(MAX.into())]);
        let before = hook.received().len();
        let mut w = sb.watch(&hook, "rm", &[]);
        let status = w.wait(Duration::from_secs(60));
        let err = w.stderr();
        let tried = hook.received().len() - before;
        assert!(
            tried >= 2,
            "{round}: the 429 was reached ({tried} attempts):\n{err}"
        );
        no_panic(round, status, &err);
        assert_eq!(
            status.code(),
            Some(3),
            "{round}: a post that cannot be delivered is exit 3:\n{err}"
        );
        let line = last_line(&err);
        assert!(
            line.contains("ERROR") && line.contains("429"),
            "{round}: the last line names the failure: {line:?}"
        );
        assert_eq!(sb.state("rm")["post_pending"], true);
    }
    // Once Mattermost accepts again, the post is delivered once.
    hook.set_default(Answer::Ok);
    assert_eq!(retry_after_run(&sb, &hook, "rm", "delivery"), 0);
    assert_eq!(hook.delivered().len(), 1);
    assert_eq!(sb.state("rm")["posted"], true);
}

/// Other absurd `Retry-After` values, each on a later attempt (a 503 first, retry base
/// 2 s) as above; in parallel, one sandbox each. Ignored, bounded or given up on (exit 3,
/// then a restart delivers), never a panic.
#[test]
fn retry_after_in_other_absurd_shapes_does_not_panic() {
    let shapes = [
        "99999999999999999999",
        // Huge but far from 2^64-1: no overflow by addition, but not a delay to wait either.
        // (Within a few seconds of 2^64-1 it overflows as in the test above.)
        "18446744073709551000",
        "-1",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "1e30",
        "",
    ];
    std::thread::scope(|scope| {
        for (i, value) in shapes.into_iter().enumerate() {
            scope.spawn(move || {
                let sb = retry_sandbox("rashape");
                let hook = FakeMattermost::start();
                hook.script(&[Answer::ServerError(503), Answer::TooManyRaw(value.into())]);
                let build = format!("ra{i}");
                sb.append_lines(&build, &completed_run(), Style::PLAIN);
                let what = format!("Retry-After {value:?}");
                let code = retry_after_run(&sb, &hook, &build, &what);
                assert!(hook.received().len() >= 2, "{what}: the 429 was reached");
                if code != 0 {
                    assert_eq!(code, 3, "{what}");
                    assert_eq!(retry_after_run(&sb, &hook, &build, &what), 0, "{what}");
                }
                assert_eq!(hook.delivered().len(), 1, "{what}");
            });
        }
    });
}

// ---------------------------------------------------------------------------------------
// Item 11: the configured webhook is secret whatever its shape.

#[test]
fn a_webhook_without_hooks_in_its_path_never_leaks() {
    const SECRET: &str = "q7zk2custsecret";
    let sb = Sandbox::new("customhook");
    let hook = FakeMattermost::start();
    let url = hook.accept_hook_path(&format!("/custom/{SECRET}"));
    let mut lines = vec![
        "ATVM_GROUPS: smoke".to_string(),
        format!("ATVM_GROUP_START: see {url}"),
    ];
    lines.extend(cypress::run(&[
        Spec::passed("login.cy.js", 2),
        Spec::failed(&format!("{url}/deliver.cy.js"), 3, 1),
    ]));
    lines.push(format!("  1) posts the result to {url}"));
    lines.push(format!("ATVM_GROUP_END: see {url} FAILED"));
    lines.push("ATVM_RUN_END: FAILED".to_string());
    sb.append_lines("cu", &lines, Style::PLAIN);
    assert!(
        fs::read_to_string(sb.log("cu")).unwrap().contains(SECRET),
        "the log holds the secret (else this test proves nothing)"
    );
    let mut w = sb.spawn(Some(&url), &["--build-name", "cu", "--categorize"]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let got = hook.delivered();
    assert_eq!(
        got.len(),
        1,
        "the sub-run's post is delivered to the custom path"
    );
    assert!(got[0].text().contains("FAILED"), "{}", got[0].text());

    let mut leaks = Vec::new();
    for (rel, content) in tree(&sb.state_root) {
        if rel.contains(SECRET) {
            leaks.push(format!("file name {rel}"));
        }
        if content.is_some_and(|c| String::from_utf8_lossy(&c).contains(SECRET)) {
            leaks.push(format!("content of {rel}"));
        }
    }
    if w.stderr().contains(SECRET) {
        leaks.push("the watcher's stderr (journal)".into());
    }
    if w.stdout().contains(SECRET) {
        leaks.push("the watcher's stdout".into());
    }
    for r in hook.received() {
        if r.body.contains(SECRET) {
            leaks.push(format!("the post body: {}", r.text()));
        }
    }
    // status too.
    let (_, out, err) = text(&sb.run(Some(&url), &["status", "--json"]));
    if out.contains(SECRET) || err.contains(SECRET) {
        leaks.push("status --json".into());
    }
    assert!(
        leaks.is_empty(),
        "the webhook secret leaked into: {leaks:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// Item 12: errors name what the operator set.

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

// ---------------------------------------------------------------------------------------
// Item 13: a closed stdout ends the output quietly.

/// A pipe whose read end is already closed: every write to the other end is EPIPE.
fn closed_pipe() -> fs::File {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two new descriptors; we own both.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: closing the read end we own; the write end is handed to a File.
    unsafe {
        libc::close(fds[0]);
    }
    use std::os::fd::FromRawFd;
    // SAFETY: fds[1] is a valid descriptor owned by nobody else.
    unsafe { fs::File::from_raw_fd(fds[1]) }
}

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

// ---------------------------------------------------------------------------------------
// Item 14: a starting watcher is not DAMAGED.

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
