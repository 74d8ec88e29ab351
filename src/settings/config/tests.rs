//! Configuration resolution: flags, environment, stored request → `WatchConfig`.

use super::*;
use std::path::Path;

fn args(build: &str) -> WatchArgs {
    WatchArgs {
        build_name: Some(build.into()),
        ..Default::default()
    }
}

fn env_with_hook() -> Env {
    Env::from_pairs([(
        "MATTERMOST_ATVM_WEBHOOK",
        "https://chat.example.com/hooks/abc123secret",
    )])
}

fn resolve(raw: &WatchArgs, env: &Env, stored: Option<&Request>) -> Result<WatchConfig> {
    let t = BuildRef::resolve(raw.build_name.as_deref(), &raw.paths, env)?;
    WatchConfig::resolve(raw, env, t, stored)
}

#[test]
fn durations() {
    let cases = [
        ("90", 90),
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1h 30m", 5400),
        (" 0 ", 0),
    ];
    for (t, secs) in cases {
        assert_eq!(
            parse_duration("x", t).unwrap(),
            Duration::from_secs(secs),
            "{t}"
        );
    }
    for t in [
        "",
        "abc",
        "-5",
        "5 parsecs",
        "99999999999999999999",
        "18446744073709551615",
        "367d",
        "2years",
    ] {
        assert_eq!(parse_duration("--x", t).unwrap_err().exit_code(), 2, "{t}");
    }
}

#[test]
fn defaults() {
    let c = resolve(&args("b1"), &env_with_hook(), None).unwrap();
    let paths = Paths::resolve(&args("b1").paths, &env_with_hook());
    assert_eq!(paths.state_root, PathBuf::from("/var/lib/atvm-run-watcher"));
    assert!(!paths.state_root_explicit);
    assert_eq!(
        c.log_file,
        PathBuf::from("/root/cdc-e2e-cyp-12.17.4/cypress/cmcReporter/tmp/b1.log")
    );
    assert_eq!(c.start_timeout, Duration::from_secs(1800));
    assert_eq!(c.hung_timeout, Some(Duration::from_secs(7200)));
    assert!(!c.request.categorize);
    assert_eq!(c.request.start_timeout, None, "defaults are not recorded");
}

#[test]
fn env_twins_and_flags() {
    let env = Env::from_pairs([
        ("MATTERMOST_ATVM_WEBHOOK", "http://127.0.0.1:9/hooks/x"),
        ("ATVM_WATCHER_STATE_ROOT", "/s"),
        ("ATVM_AUTOMATION_ROOT", "/auto"),
        ("ATVM_WATCHER_HUNG_TIMEOUT", "0"),
        ("ATVM_WATCHER_START_TIMEOUT", "5m"),
    ]);
    let c = resolve(&args("b"), &env, None).unwrap();
    assert_eq!(
        c.request.hung_timeout, None,
        "environment twins are not frozen into request.json"
    );
    let paths = Paths::resolve(&args("b").paths, &env);
    assert_eq!(paths.state_root, PathBuf::from("/s"));
    assert!(paths.state_root_explicit);
    assert_eq!(
        c.log_file,
        PathBuf::from("/auto/cypress/cmcReporter/tmp/b.log")
    );
    assert_eq!(c.hung_timeout, None);
    assert_eq!(c.start_timeout, Duration::from_secs(300));

    let mut raw = args("b");
    raw.paths.log_dir = Some("/logs".into());
    raw.start_timeout = Some("90".into());
    let c = resolve(&raw, &env, None).unwrap();
    assert_eq!(c.log_file, PathBuf::from("/logs/b.log"));
    assert_eq!(c.start_timeout, Duration::from_secs(90));
}

#[test]
fn relative_paths_become_absolute_against_the_working_directory() {
    let env = env_with_hook().in_dir(Path::new("/home/qa/runs"));
    let mut raw = args("b");
    raw.paths.state_root = Some("state".into());
    raw.paths.log_dir = Some("logs".into());
    raw.rules = Some("rules.json".into());
    let c = resolve(&raw, &env, None).unwrap();
    let paths = Paths::resolve(&raw.paths, &env);
    assert_eq!(paths.state_root, PathBuf::from("/home/qa/runs/state"));
    assert_eq!(c.log_file, PathBuf::from("/home/qa/runs/logs/b.log"));
    assert_eq!(
        c.request.rules,
        Some(PathBuf::from("/home/qa/runs/rules.json"))
    );
    raw.log_file = Some("../x.log".into());
    let c = resolve(&raw, &env, None).unwrap();
    assert_eq!(
        c.request.log_file,
        Some(PathBuf::from("/home/qa/runs/../x.log"))
    );
}

#[test]
fn stored_request_beats_env_but_not_flags() {
    let env = Env::from_pairs([
        ("MATTERMOST_ATVM_WEBHOOK", "http://127.0.0.1:9/hooks/x"),
        ("ATVM_WATCHER_HUNG_TIMEOUT", "4h"),
    ]);
    let stored = Request {
        template: Some("tmpl-A".into()),
        categorize: true,
        hung_timeout: Some("3h".into()),
        log_file: Some("/elsewhere/b.log".into()),
        ..Request::new("b".into())
    };
    let c = resolve(&args("b"), &env, Some(&stored)).unwrap();
    assert_eq!(c.hung_timeout, Some(Duration::from_secs(3 * 3600)));
    assert!(c.request.categorize);
    assert_eq!(c.request.template.as_deref(), Some("tmpl-A"));
    assert_eq!(c.log_file, PathBuf::from("/elsewhere/b.log"));

    let mut raw = args("b");
    raw.hung_timeout = Some("10m".into());
    raw.template = Some("tmpl-B".into());
    let c = resolve(&raw, &env, Some(&stored)).unwrap();
    assert_eq!(c.hung_timeout, Some(Duration::from_secs(600)));
    assert_eq!(c.request.template.as_deref(), Some("tmpl-B"));
}

#[test]
fn webhook_rules() {
    let e = resolve(&args("b"), &Env::default(), None).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("MATTERMOST_ATVM_WEBHOOK is not set"));

    let mut dry = args("b");
    dry.dry_run = true;
    assert!(
        resolve(&dry, &Env::default(), None)
            .unwrap()
            .webhook
            .is_none()
    );

    for bad in [
        "ftp://h/secret1",
        "no-url-secret2",
        "https://",
        "https:///secret3",
        "mailto:secret4@y",
        "http://h/ secret5",
    ] {
        let env = Env::from_pairs([("MATTERMOST_ATVM_WEBHOOK", bad)]);
        let e = resolve(&args("b"), &env, None).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{bad}");
        assert!(
            !e.to_string().contains("secret"),
            "the error must not echo the URL: {e}"
        );
    }
    let c = resolve(&args("b"), &env_with_hook(), None).unwrap();
    let w = c.webhook.unwrap();
    assert_eq!(w.redacted(), "https://chat.example.com");
    assert!(!format!("{w:?}").contains("abc123secret"));
    assert_eq!(
        w.scrub("error sending to https://chat.example.com/hooks/abc123secret: refused"),
        "error sending to https://chat.example.com: refused"
    );
    assert!(
        !w.scrub("path /hooks/abc123secret leaked")
            .contains("abc123secret")
    );
}

#[test]
fn missing_or_bad_build_name() {
    let e = resolve(&WatchArgs::default(), &env_with_hook(), None).unwrap_err();
    assert_eq!(e.to_string(), "--build-name is required");
    let e = resolve(&args("../../etc/passwd"), &env_with_hook(), None).unwrap_err();
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn advanced_knobs() {
    let a = Advanced::resolve(&Env::default()).unwrap();
    assert_eq!(a.retry.attempts, 8);
    assert_eq!(a.retry.window, Duration::from_secs(600));
    assert!(!a.force_poll);
    let env = Env::from_pairs([
        ("ATVM_WATCHER_FORCE_POLL", "1"),
        ("ATVM_WATCHER_POLL_INTERVAL", "100ms"),
        ("ATVM_WATCHER_RETRY_ATTEMPTS", "3"),
    ]);
    let a = Advanced::resolve(&env).unwrap();
    assert!(a.force_poll);
    assert_eq!(a.poll_interval, Duration::from_millis(100));
    assert_eq!(a.retry.attempts, 3);
    assert!(Advanced::resolve(&Env::from_pairs([("ATVM_WATCHER_RETRY_ATTEMPTS", "0")])).is_err());
}
