//! A year of nightly builds under a state root, for the bench and the history tests
//! (contract §10's "a year of nightly history"): one build a night, half of them
//! categorized with 8 groups, 40 specs, written as a watcher writes state.json (the real
//! types), each dated its night. What happens in it is fixed by the night's number, so
//! that every run of the bench reads the same history:
//!
//! - a chronic failure: one test fails every night from night 300 on;
//! - a flapping test: fails about one night in three, passes after retries on others;
//! - night 200 is broken: twenty tests fail with one error (a cluster);
//! - two or three other failures a night, each with a realistic error line, and a
//!   flaky test or two;
//! - one spec gets slower from night 330 on.

use super::Rng;
use crate::data::build_state::{BuildState, SubrunState};
use crate::data::names::{BuildName, STATE, SubrunKey};
use crate::data::run::{Failure, Flaky, PostState, RunRecord, SpecRow, Tests};
use crate::data::status::Status;
use crate::data::time::Timestamp;
use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The groups of a categorized night, five specs each.
pub const GROUPS: [&str; 8] = [
    "rhel",
    "sles",
    "ubuntu",
    "windows",
    "appliance",
    "storage",
    "network",
    "rollback",
];

/// Nights in a year.
pub const NIGHTS: u32 = 365;

/// The spec the chronic failure is in, and its test.
pub const CHRONIC: (&str, &str) = (
    "atvm/windows/migrate_03.cy.js",
    "Migration › warm › cutover completes",
);
/// The flapping test.
pub const FLAPPING: (&str, &str) = (
    "atvm/rhel/migrate_01.cy.js",
    "Migration › cold › keeps the MAC address",
);
/// The spec that gets slower.
pub const SLOWER: &str = "atvm/storage/migrate_02.cy.js";

/// The 40 specs: five per group.
pub fn specs() -> Vec<String> {
    GROUPS
        .iter()
        .flat_map(|g| (0..5).map(move |i| format!("atvm/{g}/migrate_{i:02}.cy.js")))
        .collect()
}

/// The name of night `n` (`nightly-2026-001` ...).
pub fn build_name(n: u32) -> String {
    format!("nightly-2026-{:03}", n + 1)
}

/// When night `n` finished: 03:00 UTC of its day, from 2026-01-01.
pub fn finished_at(n: u32) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600 + u64::from(n) * 86_400 + 3 * 3600)
}

const TITLES: [&str; 6] = [
    "Migration › cold › migrates the VM",
    "Migration › warm › cutover completes",
    "Migration › cold › keeps the MAC address",
    "Inventory › lists the VMs",
    "Plan › validates the mapping",
    "Cleanup › \"after all\" hook for \"removes the snapshot\"",
];

/// A realistic error line for test `t` of night `n`.
fn error(n: u32, t: u64) -> String {
    match t % 4 {
        0 => format!(
            "AssertionError: Timed out retrying after 60000ms: expected 'Running' to equal 'Succeeded' (plan {:08x}-{n})",
            t.wrapping_mul(2_654_435_761)
        ),
        1 => "CypressError: `cy.request()` failed on: https://atvm.example/api/plans The response we received from your web server was: 503: Service Unavailable".into(),
        2 => format!("Error: VM vm-{} did not reach state Ready within 900 s", 100 + t),
        _ => "AssertionError: expected [ 'eth0' ] to deeply equal [ 'eth0', 'eth1' ]".into(),
    }
}

/// What one spec did on night `n`: its row, its failures and flaky tests.
fn spec_night(n: u32, spec: &str, rng: &mut Rng) -> (SpecRow, Vec<Failure>, Vec<Flaky>) {
    let mut failures = Vec::new();
    let mut flaky = Vec::new();
    let mut fail = |title: &str, error: String| {
        failures.push(Failure::new(
            spec.to_string(),
            Some(title.to_string()),
            Some(error),
        ))
    };
    if spec == CHRONIC.0 && n >= 300 {
        fail(CHRONIC.1, error(n, 2));
    }
    if spec == FLAPPING.0 {
        match rng.below(3) {
            0 => fail(FLAPPING.1, error(n, 3)),
            1 => flaky.push(Flaky {
                spec: spec.into(),
                title: FLAPPING.1.into(),
                attempts: 2,
            }),
            _ => {}
        }
    }
    if n == 200 && !spec.contains("rollback") {
        let t = TITLES[(spec.len() % 3) + 3];
        fail(t, "Error: connect ECONNREFUSED 10.0.0.17:6443".into());
    } else if rng.below(16) == 0 {
        let t = rng.below(TITLES.len() as u64);
        fail(TITLES[t as usize], error(n, t));
    }
    if rng.below(20) == 0 {
        flaky.push(Flaky {
            spec: spec.into(),
            title: TITLES[rng.below(3) as usize].into(),
            attempts: 2,
        });
    }
    let tests = 6;
    let failed = failures.len() as u64;
    let minutes = if spec == SLOWER && n >= 330 {
        38
    } else {
        8 + rng.below(6)
    };
    let row = SpecRow {
        name: spec.to_string(),
        tests,
        passed: tests - failed - 1,
        failed,
        pending: 1,
        skipped: 0,
        duration: Some(format!("{minutes:02}:{:02}", rng.below(60))),
    };
    (row, failures, flaky)
}

/// A finished run of `specs` on night `n`.
fn run(n: u32, specs: &[String], rng: &mut Rng) -> RunRecord {
    let mut r = RunRecord {
        started_at: Some(Timestamp(finished_at(n) - Duration::from_secs(3 * 3600))),
        finished_at: Some(Timestamp(finished_at(n))),
        ..RunRecord::default()
    };
    let mut t = Tests::default();
    for spec in specs {
        let (row, failures, flaky) = spec_night(n, spec, rng);
        t = t.plus(Tests {
            total: row.tests,
            passed: row.passed,
            failed: row.failed,
            pending: row.pending,
            skipped: row.skipped,
        });
        r.specs.push(row);
        r.failures.extend(failures);
        r.flaky.extend(flaky);
    }
    r.failures.truncate(crate::data::caps::MAX_FAILURES);
    r.failed_specs = r
        .specs
        .iter()
        .filter(|s| s.failed > 0)
        .map(|s| s.name.clone())
        .collect();
    let failed = !r.failed_specs.is_empty();
    r.status = if failed {
        Status::Failed
    } else {
        Status::Completed
    };
    r.reason = Some(if failed {
        format!("{} spec(s) failed", r.failed_specs.len())
    } else {
        "all specs passed".into()
    });
    r.duration = Some("2:58:10".into());
    r.tests = Some(t);
    r
}

/// Night `n`'s state, as its watcher left it (posted).
pub(crate) fn night(n: u32) -> BuildState {
    let mut rng = Rng(u64::from(n).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let name = BuildName::new(&build_name(n)).expect("a valid name");
    let categorize = n % 2 == 1;
    let log = format!("/root/cdc-e2e-cyp-12.17.4/cypress/cmcReporter/tmp/{name}.log");
    let created = Timestamp(finished_at(n) - Duration::from_secs(3 * 3600 + 60));
    let mut st = BuildState::new(&name, categorize, &log, created);
    let all = specs();
    if categorize {
        st.planned_groups = GROUPS.iter().map(|g| g.to_string()).collect();
        for (i, g) in GROUPS.iter().enumerate() {
            let mut r = run(n, &all[i * 5..i * 5 + 5], &mut rng);
            // The groups finish one after the other, the last at the night's end.
            let at = finished_at(n) - Duration::from_secs(60 * (7 - i as u64) * 20);
            r.finished_at = Some(Timestamp(at));
            st.subruns.push(SubrunState {
                key: SubrunKey::new(i as u32 + 1, g),
                name: g.to_string(),
                index: i as u32 + 1,
                run: r,
                post: delivered(),
                progress: None,
                run_seen: true,
                opened_by_marker: true,
            });
        }
        st.run = aggregate(n, &st.subruns);
    } else {
        st.run = run(n, &all, &mut rng);
    }
    st.post = delivered();
    st.run_seen = true;
    st.updated_at = Timestamp(finished_at(n));
    st
}

fn delivered() -> PostState {
    let mut p = PostState::default();
    p.delivered();
    p
}

/// A categorized request's own record: its groups' counts, rows and failures together.
fn aggregate(n: u32, subruns: &[SubrunState]) -> RunRecord {
    let mut r = RunRecord {
        started_at: Some(Timestamp(finished_at(n) - Duration::from_secs(3 * 3600))),
        finished_at: Some(Timestamp(finished_at(n))),
        ..RunRecord::default()
    };
    let mut t = Tests::default();
    for s in subruns {
        t = t.plus(s.run.tests.unwrap_or_default());
        r.specs.extend(s.run.specs.iter().cloned());
        r.failures.extend(s.run.failures.iter().cloned());
        r.flaky.extend(s.run.flaky.iter().cloned());
        r.failed_specs.extend(s.run.failed_specs.iter().cloned());
    }
    r.tests = Some(t);
    let failed = subruns.iter().any(|s| s.run.status == Status::Failed);
    r.status = if failed {
        Status::Failed
    } else {
        Status::Completed
    };
    r.reason = Some("the request ended".into());
    r
}

/// Writes nights `0..nights` under `root` (each state.json dated its night); returns the
/// bytes written.
pub fn write_year(root: &Path, nights: u32) -> io::Result<u64> {
    let mut total = 0;
    for n in 0..nights {
        let st = night(n);
        let dir = root.join(st.build_name.as_str());
        fs::create_dir_all(&dir)?;
        let path = dir.join(STATE);
        let bytes = serde_json::to_vec_pretty(&st).map_err(io::Error::other)?;
        total += bytes.len() as u64;
        fs::write(&path, bytes)?;
        fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(finished_at(n))?;
    }
    Ok(total)
}
