//! Runs that Cypress itself ends (contract §5 v3, the fatal-error row), through the real
//! binary: no `(Run Finished)` ever comes, and the run is posted FAILED with Cypress's own
//! error as its reason once the end is certain: after `ATVM_WATCHER_FATAL_GRACE` of quiet,
//! at once when the run's process exits, or at the next group's marker in categorized mode
//! (the request goes on). The hung timeout (2 h by default) never has to pass.

use crate::support::cypress::{self, Spec};
use crate::support::post::{Post, parse_post, parse_posts};
use crate::support::*;
use std::process::Command;

const GRACE_VAR: &str = "ATVM_WATCHER_FATAL_GRACE";
const CLOUD: &str = "We encountered an unexpected error communicating with our servers.";
const PLUGINS: &str = "An error was thrown in your plugins file while executing the handler for the before:spec event.";

/// A run whose first spec passed and whose second had started when Cypress printed `error`
/// (its lines, as Cypress prints them: the message, a blank, the cause and its stack).
fn stopped_run(build: &str, error: &[&str]) -> Vec<String> {
    let specs = [
        Spec::passed("atvm/login.cy.js", 2),
        Spec::passed("atvm/migrate/windows.cy.js", 3),
    ];
    let mut lines = cypress::atvm_preamble(build);
    lines.extend(cypress::run_starting(&specs));
    lines.extend(cypress::spec_block(&specs[0], 1, 2));
    lines.extend(cypress::spec_start(&specs[1], 2, 2));
    lines.push(String::new());
    lines.extend(error.iter().map(|l| l.to_string()));
    lines.push(String::new());
    lines.push("Error: connect ECONNREFUSED 127.0.0.1:9".into());
    lines.push("    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)".into());
    lines
}

/// The post's reason: the `Why` item, as shown.
fn why(post: &Post) -> String {
    let (_, items) = post
        .section("Why")
        .unwrap_or_else(|| panic!("no Why section:\n{}", post.raw));
    assert_eq!(items.len(), 1, "{items:?}");
    items[0].clone()
}

/// A FAILED post of `build` that says Cypress stopped the run on `error` (no summary table
/// came: no counts).
fn assert_stopped_on(post: &Post, build: &str, error: &str) {
    post.assert_frame("FAILED", build);
    assert_eq!(post.row("Tests"), None, "{}", post.raw);
    assert_eq!(
        why(post),
        format!("Cypress stopped the run on its own error: {error}"),
        "{}",
        post.raw
    );
}

#[test]
fn a_run_cypress_stops_is_posted_failed_after_the_grace_in_every_dress() {
    let mut sb = Sandbox::new("fatal-grace");
    sb.env.push((GRACE_VAR.into(), "1s".into()));
    let hook = FakeMattermost::start();
    let styles = Style::variants();
    let build = |i: usize| format!("fg{i}");
    let mut watchers: Vec<Watcher> = (0..styles.len())
        .map(|i| sb.watch(&hook, &build(i), &[]))
        .collect();
    for (i, style) in styles.iter().enumerate() {
        sb.append_lines(&build(i), &stopped_run(&build(i), &[CLOUD]), *style);
    }
    for (i, (w, style)) in watchers.iter_mut().zip(&styles).enumerate() {
        assert_eq!(w.code(), 0, "{style:?}: {}", w.stderr());
        let st = sb.state(&build(i));
        assert_eq!(st["status"], "FAILED", "{style:?}: {st:#}");
        assert_eq!(st["reason"], CLOUD, "{style:?}");
    }
    let raws: Vec<String> = hook.delivered().iter().map(|r| r.text()).collect();
    for post in parse_posts(&raws, &[]) {
        let name = (0..styles.len())
            .map(build)
            .find(|b| post.heading().ends_with(b.as_str()));
        assert_stopped_on(&post, &name.expect("a post of one of the runs"), CLOUD);
    }
    assert_eq!(
        hook.received().len(),
        Style::variants().len(),
        "one post per run"
    );
}

/// A config-file error stops Cypress before `(Run Starting)`; its detail is on the lines
/// after the one that ends with `:` (contract §9 v3).
#[test]
fn a_config_error_before_the_run_starts_is_posted_with_its_detail() {
    let mut sb = Sandbox::new("fatal-config");
    sb.env.push((GRACE_VAR.into(), "1s".into()));
    let hook = FakeMattermost::start();
    let mut lines = cypress::atvm_preamble("fc");
    lines.extend([
        "Your configFile at /root/cdc-e2e-cyp-12.17.4/cypress.config.js set an invalid value:"
            .into(),
        String::new(),
        "Expected `retries` to be a number. Instead the value was: `\"two\"`".into(),
        "    at validateConfig (/root/.cache/Cypress/12.17.4/config.js:1:1)".into(),
    ]);
    let mut w = sb.watch(&hook, "fc", &[]);
    sb.append_lines("fc", &lines, Style::ALL);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let error = "Your configFile at /root/cdc-e2e-cyp-12.17.4/cypress.config.js set an invalid value: Expected `retries` to be a number. Instead the value was: `\"two\"`";
    assert_eq!(sb.state("fc")["status"], "FAILED");
    let post = parse_post(&hook.delivered()[0].text(), &[]);
    assert_stopped_on(&post, "fc", error);
}

/// With `--pid`, the run's process exiting makes the end certain: no grace to wait.
#[test]
fn the_process_exiting_ends_it_at_once() {
    let mut sb = Sandbox::new("fatal-pid");
    sb.env.push((GRACE_VAR.into(), "1h".into()));
    let hook = FakeMattermost::start();
    let mut cypress_run = Command::new("sleep").arg("600").spawn().unwrap();
    let pid = cypress_run.id().to_string();
    let mut w = sb.watch(&hook, "fp", &["--pid", &pid]);
    sb.append_lines("fp", &stopped_run("fp", &[CLOUD]), Style::PLAIN);
    sb.wait_status("fp", "RUNNING");
    cypress_run.kill().unwrap();
    cypress_run.wait().unwrap();
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(sb.state("fp")["status"], "FAILED");
    let post = parse_post(&hook.delivered()[0].text(), &[]);
    assert_stopped_on(&post, "fp", CLOUD);
}

/// Categorized: group 1 stops on Cypress's error and group 2 starts at once. Its marker
/// makes group 1's end certain (the grace is an hour here); group 2 runs to its end.
#[test]
fn in_categorized_mode_the_next_group_ends_it_and_the_request_goes_on() {
    let mut sb = Sandbox::new("fatal-groups");
    sb.env.push((GRACE_VAR.into(), "1h".into()));
    let hook = FakeMattermost::start();
    let mut lines = vec!["ATVM_GROUPS: linux,windows".to_string()];
    lines.push("ATVM_GROUP_START: linux".into());
    lines.extend(stopped_run("fk", &[PLUGINS]));
    lines.push("ATVM_GROUP_START: windows".into());
    lines.extend(cypress::run(&[Spec::passed("windows/2022.cy.js", 2)]));
    lines.push("ATVM_RUN_END: FAILED".into());
    let mut w = sb.watch(&hook, "fk", &["--categorize"]);
    sb.append_lines("fk", &lines, Style::ALL);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let raws: Vec<String> = hook.delivered().iter().map(|r| r.text()).collect();
    let posts = parse_posts(&raws, &[]);
    assert_eq!(posts.len(), 2, "{raws:#?}");
    assert_eq!(
        posts[0].heading(),
        ":x: ATVM run FAILED · fk · group 1 of 2: linux"
    );
    assert_eq!(
        why(&posts[0]),
        format!("Cypress stopped the run on its own error: {PLUGINS}")
    );
    assert_eq!(
        posts[1].heading(),
        ":white_check_mark: ATVM run COMPLETED · fk · group 2 of 2: windows"
    );
    let st = sb.state("fk");
    assert_eq!(st["subruns"][0]["status"], "FAILED", "{st:#}");
    assert_eq!(st["subruns"][0]["reason"], PLUGINS);
    assert_eq!(st["subruns"][1]["status"], "COMPLETED");
}
