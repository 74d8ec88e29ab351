//! The fixture files under tests/fixtures are rendered by tests/support/cypress.rs; this
//! test keeps them in step with it (`UPDATE_FIXTURES=1 cargo test --test it fixtures`
//! rewrites them) and checks what the matcher decides for each, through the real binary.

use crate::support::cypress::{SpecError, SpecRun, Test};
use crate::support::*;
use std::fs;
use std::path::PathBuf;

/// The demo's run (`make demo`), and the earlier build it is compared with: a failure
/// that is new, one that also failed before, one fixed since, a flaky test, a spec that
/// failed to bundle.
fn demo_specs(previous: bool) -> Vec<SpecRun> {
    let timeout = [
        "AssertionError: Timed out retrying after 60000ms: expected 'Running' to equal 'Succeeded'",
        "",
        "+ expected - actual",
    ];
    let mut login = vec![
        Test::passed(&["Login", "shows the form"]),
        Test::passed(&["Login", "logs in as admin"]),
    ];
    login.push(if previous {
        Test::failed(&["Login", "shows the banner"], &["Error: banner not found"])
    } else {
        Test::flaky(&["Login", "shows the banner"], 2, 3)
    });
    let mut windows = vec![
        Test::passed(&["Migration", "warm", "creates the plan"]),
        Test::failed(&["Migration", "warm", "cutover completes"], &timeout),
        Test::pending(&["Migration", "warm", "keeps the MAC address"]),
    ];
    windows.push(if previous {
        Test::passed(&["Migration", "cleanup", "removes the snapshot"])
    } else {
        Test::hook_failed(
            &["Migration", "cleanup"],
            "after all",
            "removes the snapshot",
            &[
                "CypressError: `cy.request()` failed on:",
                "",
                "https://atvm.example/api/plans",
            ],
        )
    });
    let inventory = if previous {
        SpecRun::new(
            "atvm/inventory.cy.js",
            vec![Test::passed(&["Inventory", "lists the VMs"])],
        )
    } else {
        SpecRun::errored("atvm/inventory.cy.js", SpecError::BundleError)
    };
    vec![
        SpecRun::new("atvm/login.cy.js", login).with_duration("00:42"),
        SpecRun::new(
            "atvm/migrate/linux_rhel9_vm.cy.js",
            vec![Test::passed(&["Migration", "cold", "migrates the VM"])],
        )
        .with_duration("12:08"),
        SpecRun::new(
            "atvm/migrate/windows_server_2022_dynamic_disks_uefi.cy.js",
            windows,
        )
        .with_duration("24:51"),
        inventory,
        SpecRun::new(
            "atvm/rollback.cy.js",
            vec![Test::passed(&["Rollback", "restores the source VM"])],
        )
        .with_duration("03:26"),
    ]
}

fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let mut demo = cypress::atvm_preamble("demo-build");
    demo.extend(cypress::detailed_run(&demo_specs(false), "41:07"));
    let mut previous = cypress::atvm_preamble("demo-previous");
    previous.extend(cypress::detailed_run(&demo_specs(true), "39:52"));

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

    vec![
        (
            "demo-run.log",
            cypress::render(
                &demo,
                Style {
                    colour: true,
                    crlf: false,
                    timestamps: true,
                },
            ),
        ),
        (
            "demo-previous.log",
            cypress::render(
                &previous,
                Style {
                    colour: true,
                    crlf: false,
                    timestamps: true,
                },
            ),
        ),
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
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn fixture_files_match_the_builder() {
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    for (name, bytes) in fixtures() {
        let p = dir().join(name);
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
        ("demo-previous.log", false, "FAILED", 1),
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
