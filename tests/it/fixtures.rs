//! The fixture files under tests/fixtures are rendered by tests/support/cypress.rs; this
//! test keeps them in step with it (`UPDATE_FIXTURES=1 cargo test --test it fixtures`
//! rewrites them) and checks what the matcher decides for each, through the real binary.

use crate::support::cypress::{SpecError, SpecRun, Test};
use crate::support::*;
use std::fs;
use std::path::PathBuf;

/// The demo's six nightlies (`make demo`): `nightly-37` to `nightly-41` are its history,
/// `nightly-42` (night 6) the run it follows. Tonight's post shows every part of §10: a
/// test failing for four runs, one that failed again, new failures, a storage outage that
/// fails twenty VMs with one error (a cluster holding 80% of the failures), a known issue,
/// a test that flaps over the week and passed after retries tonight, a spec slower than
/// usual, a test fixed since last night, and each failure's window.
const DEMO_NIGHTS: u32 = 6;

fn demo_build(night: u32) -> String {
    format!("nightly-{}", 36 + night)
}

fn demo_specs(night: u32) -> Vec<SpecRun> {
    let tonight = night == DEMO_NIGHTS;
    let on = |nights: &[u32]| nights.contains(&night);
    let test = |path: &[&str], fails: bool, error: &[&str]| {
        if fails {
            Test::failed(path, error)
        } else {
            Test::passed(path)
        }
    };
    let banner = ["Login", "shows the banner"];
    let login = vec![
        Test::passed(&["Login", "shows the form"]),
        Test::passed(&["Login", "logs in as admin"]),
        if tonight {
            Test::flaky(&banner, 2, 3)
        } else {
            test(&banner, on(&[2, 5]), &["Error: banner not found"])
        },
    ];
    let disks = [
        "AssertionError: expected [ 'sda', 'sdb' ] to deeply equal [ 'sda', 'sdb', 'sdc' ]",
        "",
        "+ expected - actual",
    ];
    let linux = vec![
        Test::passed(&["Migration", "cold", "migrates the VM"]),
        test(
            &["Migration", "cold", "keeps the disk layout"],
            on(&[2, 6]),
            &disks,
        ),
    ];
    let timeout = [
        "AssertionError: Timed out retrying after 60000ms: expected 'Running' to equal 'Succeeded'",
        "",
        "+ expected - actual",
    ];
    let snapshot = ["Migration", "cleanup", "removes the snapshot"];
    let windows = vec![
        Test::passed(&["Migration", "warm", "creates the plan"]),
        test(
            &["Migration", "warm", "cutover completes"],
            night >= 3,
            &timeout,
        ),
        Test::pending(&["Migration", "warm", "keeps the MAC address"]),
        if tonight {
            Test::hook_failed(
                &snapshot[..2],
                "after all",
                snapshot[2],
                &[
                    "CypressError: `cy.request()` failed on:",
                    "",
                    "https://atvm.example/api/plans",
                ],
            )
        } else {
            Test::passed(&snapshot)
        },
    ];
    let inventory = if tonight {
        SpecRun::errored("atvm/inventory.cy.js", SpecError::BundleError)
    } else {
        SpecRun::new(
            "atvm/inventory.cy.js",
            vec![Test::passed(&["Inventory", "lists the VMs"])],
        )
    };
    let fleet = (101..=120)
        .map(|vm| {
            let fails = tonight || (night == 5 && vm <= 104);
            let error = format!(
                "AssertionError: Timed out retrying after 4000ms: Expected to find element: `[data-vm=\"vm-{vm}\"] .status-succeeded`, but never found it."
            );
            test(&["Fleet batch", &format!("migrates vm-{vm}")], fails, &[&error])
        })
        .collect();
    let rollback = test(
        &["Rollback", "restores the source VM"],
        on(&[5, 6]),
        &["Error: the source VM is still powered off"],
    );
    let linux_duration = match night {
        6 => "31:40",
        2 => "12:31",
        n => ["12:08", "11:57", "12:20", "12:02", "12:11"][n as usize - 1],
    };
    vec![
        SpecRun::new("atvm/login.cy.js", login).with_duration("00:42"),
        SpecRun::new("atvm/migrate/linux_rhel9_vm.cy.js", linux).with_duration(linux_duration),
        SpecRun::new(
            "atvm/migrate/windows_server_2022_dynamic_disks_uefi.cy.js",
            windows,
        )
        .with_duration("24:51"),
        inventory,
        SpecRun::new("atvm/migrate/fleet_batch.cy.js", fleet).with_duration("46:18"),
        SpecRun::new("atvm/rollback.cy.js", vec![rollback]).with_duration("03:26"),
    ]
}

/// The demo's logs: `demo-history-<n>.log` for its history, `demo-run.log` for tonight.
fn demo_fixtures() -> Vec<(String, Vec<u8>)> {
    let style = Style {
        colour: true,
        crlf: false,
        timestamps: true,
    };
    (1..=DEMO_NIGHTS)
        .map(|night| {
            let mut lines = cypress::atvm_preamble(&demo_build(night));
            lines.extend(cypress::detailed_run(&demo_specs(night), "1:28:42"));
            let name = if night == DEMO_NIGHTS {
                "demo-run.log".to_string()
            } else {
                format!("demo-history-{night}.log")
            };
            (name, cypress::render(&lines, style))
        })
        .collect()
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut killed = cypress::atvm_preamble("k");
    killed.extend(cypress::run_starting(&[Spec::passed("a.cy.js", 1)]));
    killed.extend(cypress::spec_start(&Spec::passed("a.cy.js", 1), 1, 1));
    killed.push("Nov 22 10:41:07 Killed".into());

    let mut groups = vec!["[atvm] ATVM_GROUPS: linux,windows,appliance".to_string()];
    for (g, specs) in [
        ("linux", vec![Spec::passed("linux/rhel9.cy.js", 4)]),
        (
            "windows",
            vec![Spec::failed("windows/server2022.cy.js", 3, 1)],
        ),
        ("appliance", vec![Spec::passed("appliance/ova.cy.js", 2)]),
    ] {
        groups.push(format!("[atvm] ATVM_GROUP_START: {g}"));
        groups.extend(cypress::run(&specs));
        let status = if specs[0].failing > 0 {
            "FAILED"
        } else {
            "COMPLETED"
        };
        groups.push(format!("[atvm] ATVM_GROUP_END: {g} {status}"));
    }
    groups.push("[atvm] ATVM_RUN_END: FAILED".into());

    let no_specs = vec![
        String::new(),
        "Can't run because no spec files were found.".into(),
        String::new(),
        "We searched for specs matching this glob pattern:".into(),
        String::new(),
        "  > /root/cdc-e2e-cyp-12.17.4/cypress/e2e/atvm/**/*.cy.js".into(),
    ];

    let mut all = demo_fixtures();
    all.extend(
        [
            (
                "completed-plain.log",
                cypress::render(&completed_run(), Style::PLAIN),
            ),
            (
                "failed-colour-crlf.log",
                cypress::render(&failed_run(), Style::ALL),
            ),
            (
                "canceled.log",
                cypress::render(
                    &cypress::run_canceled(&[Spec::passed("b.cy.js", 1)], &["a.cy.js"]),
                    Style::PLAIN,
                ),
            ),
            ("no-specs.log", cypress::render(&no_specs, Style::PLAIN)),
            (
                "killed.log",
                cypress::render(
                    &killed,
                    Style {
                        colour: false,
                        crlf: false,
                        timestamps: true,
                    },
                ),
            ),
            (
                "categorized-3-groups.log",
                cypress::render(
                    &groups,
                    Style {
                        colour: true,
                        crlf: false,
                        timestamps: false,
                    },
                ),
            ),
        ]
        .map(|(name, bytes)| (name.to_string(), bytes)),
    );
    all
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn fixture_files_match_the_builder() {
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    for (name, bytes) in fixtures() {
        let p = dir().join(&name);
        if update {
            fs::write(&p, &bytes).unwrap();
        }
        assert!(
            fs::read(&p).is_ok_and(|b| b == bytes),
            "{name} is stale: run UPDATE_FIXTURES=1 cargo test --test it fixtures"
        );
    }
}

#[test]
fn each_fixture_ends_as_expected() {
    let cases = [
        ("demo-run.log", false, "FAILED", 1),
        ("demo-history-1.log", false, "COMPLETED", 1),
        ("demo-history-2.log", false, "FAILED", 1),
        ("completed-plain.log", false, "COMPLETED", 1),
        ("failed-colour-crlf.log", false, "FAILED", 1),
        ("canceled.log", false, "CANCELLED", 0),
        ("no-specs.log", false, "FAILED", 1),
        ("killed.log", false, "TERMINATED", 0),
        ("categorized-3-groups.log", true, "FAILED", 3),
    ];
    for (name, categorize, status, posts) in cases {
        let sb = Sandbox::new("fixture");
        let hook = FakeMattermost::start();
        fs::copy(dir().join(name), sb.log("f")).unwrap();
        let mut args = vec![];
        if categorize {
            args.push("--categorize");
        }
        let mut w = sb.watch(&hook, "f", &args);
        assert_eq!(w.code(), 0, "{name}: {}", w.stderr());
        assert_eq!(sb.state("f")["status"], status, "{name}");
        assert_eq!(hook.received().len(), posts, "{name}");
    }
}

/// `make demo`'s post shows every part of §10 (README's "The message" is that post): the
/// demo's nights through the binary, tonight's post as Mattermost shows it.
#[test]
fn the_demo_post_shows_every_part_of_the_history() {
    let mut sb = Sandbox::new("fixture-demo");
    let known = dir().join("demo-known-issues.json");
    sb.env.push((
        "ATVM_WATCHER_KNOWN_ISSUES".into(),
        known.display().to_string(),
    ));
    let hook = FakeMattermost::start();
    for night in 1..=DEMO_NIGHTS {
        let build = demo_build(night);
        let name = if night == DEMO_NIGHTS {
            "demo-run.log".to_string()
        } else {
            format!("demo-history-{night}.log")
        };
        fs::copy(dir().join(name), sb.log(&build)).unwrap();
        let mut w = sb.watch(&hook, &build, &[]);
        assert_eq!(w.code(), 0, "{build}: {}", w.stderr());
    }
    let raw = hook.received().last().unwrap().text();
    let post = crate::support::post::parse_posts_linking(
        &[raw],
        &[],
        &["https://jira.example/browse/ATVM-1234"],
    )
    .remove(0);
    let (head, items) = post.failed_tests();
    assert_eq!(
        head,
        "Failed tests (25): 17 new · 1 failed again · 6 still failing · 1 known"
    );
    let text = post.text();
    for part in [
        "Most failures share one error (20 of 25)",
        "20 tests failed with:",
        "· 16 new · 4 still failing",
        "· new ✓",
        "also failed in nightly-41",
        "failing for 4 runs, since nightly-39",
        "failed again, last failed in nightly-38",
        "flaky: failed 2 of 6 runs",
        "known: ATVM-1234",
        "Slower (1):",
        "(usually 12:09)",
        "Fixed since nightly-41 (1):",
    ] {
        assert!(
            text.contains(part),
            "the demo post lacks {part:?}:\n{}",
            post.raw
        );
    }
    assert!(
        items.iter().all(|i| !i.starts_with('…')),
        "every item is shown:\n{}",
        post.raw
    );
    assert_eq!(
        post.shown.found.links,
        ["https://jira.example/browse/ATVM-1234"]
    );
}
