//! Posting to Mattermost: 5xx and cut-off answers retried, HTTPS trust, `429` with
//! `Retry-After` (also in absurd shapes), permanent failures and exit 3, the retry budget,
//! big answer bodies, a watcher killed between `posted.marker` and `state.json`, SIGTERM
//! during retries, and the webhook secret (whatever the URL's shape) never leaking.

use crate::support::mattermost::{Interceptor, Received};
use crate::support::*;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// What Mattermost answers: retried, waited for, or given up on.

#[test]
fn server_errors_are_retried_until_ok() {
    let sb = Sandbox::new("5xx");
    let hook = FakeMattermost::start();
    hook.script(&[
        Answer::ServerError(503),
        Answer::ServerError(500),
        Answer::Drop,
        Answer::ServerError(502),
    ]);
    sb.append_lines("r", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "r", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let got = hook.received();
    assert_eq!(got.len(), 5);
    assert_eq!(posts_of(&hook), 1);
    assert!(
        got.windows(2).all(|p| p[0].text() == p[1].text()),
        "every attempt sends the same message"
    );
    assert!(w.stderr().contains("HTTP 503"), "{}", w.stderr());
}

#[test]
fn an_answer_cut_off_is_retried_not_given_up() {
    let sb = Sandbox::new("cutoff");
    let hook = FakeMattermost::start();
    hook.script(&[Answer::Truncated]);
    sb.append_lines("co", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "co", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(hook.received().len(), 2, "the unknown outcome is retried");
    assert!(w.stderr().contains("answer unreadable"), "{}", w.stderr());
    assert_eq!(sb.state("co")["posted"], true);
}

#[test]
fn https_webhook_trusted_through_the_system_bundle() {
    let mut sb = Sandbox::new("tls");
    let hook = FakeMattermost::start_tls();
    let bundle = sb.root.join("ca-bundle.pem");
    fs::write(&bundle, hook.ca_pem()).unwrap();
    sb.env
        .push(("SSL_CERT_FILE".into(), bundle.to_string_lossy().into()));
    sb.append_lines("tls", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "tls", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(hook.delivered().len(), 1);
    assert!(hook.url().starts_with("https://"));
}

#[test]
fn https_webhook_with_an_unknown_ca_is_not_trusted() {
    let mut sb = Sandbox::new("tlsbad");
    sb.env
        .push(("ATVM_WATCHER_RETRY_ATTEMPTS".into(), "2".into()));
    let empty = sb.root.join("empty.pem");
    fs::write(&empty, "").unwrap();
    sb.env
        .push(("SSL_CERT_FILE".into(), empty.to_string_lossy().into()));
    let hook = FakeMattermost::start_tls();
    sb.append_lines("tb", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "tb", &[]);
    assert_eq!(w.code(), 3, "{}", w.stderr());
    assert_eq!(
        hook.received().len(),
        0,
        "nothing reaches an untrusted server"
    );
    let err = sb.state("tb")["post_error"].as_str().unwrap().to_string();
    assert!(
        err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );
    assert!(!err.contains(mattermost::HOOK_ID), "{err}");
}

#[test]
fn rate_limit_honours_retry_after() {
    let sb = Sandbox::new("429");
    let hook = FakeMattermost::start();
    hook.script(&[Answer::TooMany(1)]);
    sb.append_lines("rl", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "rl", &[]);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let got = hook.received();
    assert_eq!(got.len(), 2);
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?}, Retry-After said 1s"
    );
}

// `Retry-After` from the network is bounded.

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

/// The last line of stderr, which names the failure.
fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
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

#[test]
fn permanent_failure_exits_3_and_next_start_delivers() {
    let sb = Sandbox::new("400");
    let hook = FakeMattermost::start();
    sb.append_lines("p", &failed_run(), Style::PLAIN);
    let mut w = sb.spawn(Some(&hook.unknown_hook_url()), &["--build-name", "p"]);
    assert_eq!(w.code(), 3, "{}", w.stderr());
    let st = sb.state("p");
    assert_eq!(st["status"], "FAILED");
    assert_eq!(st["post_pending"], true);
    assert_eq!(st["posted"], false);
    assert!(
        st["post_error"]
            .as_str()
            .unwrap()
            .contains("web.incoming_webhook.invalid.app_error"),
        "{st}"
    );
    assert!(!sb.marker("p", "posted.marker"));
    assert_eq!(hook.received().len(), 1, "a 400 is not retried");

    let mut w2 = sb.watch(&hook, "p", &[]);
    assert_eq!(w2.code(), 0, "{}", w2.stderr());
    let st = sb.state("p");
    assert_eq!(st["posted"], true);
    assert_eq!(st["post_error"], serde_json::Value::Null);
    assert_eq!(posts_of(&hook), 1);
}

#[test]
fn permanent_answers_are_not_retried() {
    for (i, answer) in [
        Answer::Forbidden,
        Answer::NotFound,
        Answer::Disabled,
        Answer::OkWithout(""),
    ]
    .into_iter()
    .enumerate()
    {
        let sb = Sandbox::new("perm");
        let hook = FakeMattermost::start();
        hook.set_default(answer.clone());
        let build = format!("perm{i}");
        sb.append_lines(&build, &completed_run(), Style::PLAIN);
        let mut w = sb.watch(&hook, &build, &[]);
        assert_eq!(w.code(), 3, "{answer:?}: {}", w.stderr());
        assert_eq!(hook.received().len(), 1, "{answer:?}");
    }
}

#[test]
fn retries_give_up_after_the_attempt_budget() {
    let mut sb = Sandbox::new("budget");
    sb.env
        .push(("ATVM_WATCHER_RETRY_ATTEMPTS".into(), "3".into()));
    let hook = FakeMattermost::start();
    hook.set_default(Answer::ServerError(503));
    sb.append_lines("g", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "g", &[]);
    assert_eq!(w.code(), 3);
    assert_eq!(hook.received().len(), 3);
    assert!(
        sb.state("g")["post_error"]
            .as_str()
            .unwrap()
            .contains("gave up after 3")
    );
}

// ---------------------------------------------------------------------------------------
// A big answer body is never a reason to retry.

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
// Killed after posted.marker, before state.json was saved.

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
// The configured webhook is secret whatever its shape; a stop keeps the post.

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

#[test]
fn sigterm_during_retries_keeps_the_post_pending() {
    let sb = Sandbox::new("termretry");
    let hook = FakeMattermost::start();
    hook.set_default(Answer::ServerError(503));
    sb.append_lines("tp", &completed_run(), Style::PLAIN);
    let mut w = sb.watch(&hook, "tp", &[]);
    hook.wait_for(1, WAIT);
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0);
    assert_eq!(sb.state("tp")["post_pending"], true);
    hook.set_default(Answer::Ok);
    let mut w2 = sb.watch(&hook, "tp", &[]);
    assert_eq!(w2.code(), 0);
    assert_eq!(posts_of(&hook), 1);
    assert_eq!(sb.state("tp")["posted"], true);
}

#[test]
fn the_webhook_secret_never_leaks() {
    let mut sb = Sandbox::new("secret");
    sb.env
        .push(("ATVM_WATCHER_RETRY_ATTEMPTS".into(), "2".into()));
    // The most an operator can ask of the log: the HTTP stack's trace too.
    sb.env.push(("RUST_LOG".into(), "trace".into()));
    let hook = FakeMattermost::start();
    hook.script(&[Answer::Drop]);
    sb.append_lines("s", &completed_run(), Style::PLAIN);
    let mut w = sb.spawn(Some(&hook.url()), &["--build-name", "s"]);
    assert_eq!(w.code(), 0);
    // And on the failure path, with an unreachable port.
    sb.append_lines("s2", &completed_run(), Style::PLAIN);
    let dead = format!("http://127.0.0.1:9/hooks/{}", mattermost::HOOK_ID);
    let mut w2 = sb.spawn(Some(&dead), &["--build-name", "s2"]);
    assert_eq!(w2.code(), 3, "{}", w2.stderr());
    let everything = format!(
        "{}{}{}{}{}",
        sb.all_text(),
        w.stderr(),
        w.stdout(),
        w2.stderr(),
        w2.stdout()
    );
    // Whole, or in the pieces a hex dump would cut it into.
    let id = mattermost::HOOK_ID;
    for piece in [id, &id[..8], &id[8..16], &id[16..]] {
        assert!(!everything.contains(piece), "the hook id leaked: {piece}");
    }
    assert!(
        w2.stderr().contains("http://127.0.0.1:9"),
        "errors name scheme and host: {}",
        w2.stderr()
    );
}
