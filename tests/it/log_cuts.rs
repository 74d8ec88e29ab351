//! A cut in the log (issue 19, fault 18): the log rotated (renamed, a new file created) or
//! copytruncated while Cypress is in the middle of a block that spans many lines, the
//! summary table after `(Run Finished)` or a spec's failure list. The block goes on in the
//! new file and is read as one: the post has the right counts and every failure.

use crate::support::cypress::{self, SpecRun, Test};
use crate::support::process::read_offset;
use crate::support::*;
use serde_json::Value;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

fn specs() -> Vec<SpecRun> {
    vec![
        SpecRun::new(
            "login.cy.js",
            vec![
                Test::passed(&["login", "signs in"]),
                Test::passed(&["login", "signs out"]),
            ],
        ),
        SpecRun::new(
            "migrate/linux_vm.cy.js",
            vec![
                Test::failed(
                    &["migrate linux", "copies the disk"],
                    &["Error: disk 1 not found"],
                ),
                Test::failed(
                    &["migrate linux", "boots the copy"],
                    &["AssertionError: expected 'down' to equal 'up'"],
                ),
                Test::passed(&["migrate linux", "cleans up"]),
                Test::failed(
                    &["migrate linux", "reports the result"],
                    &["Error: no report was written"],
                ),
            ],
        ),
        SpecRun::new(
            "migrate/windows_vm.cy.js",
            vec![Test::passed(&["migrate windows", "copies the disk"])],
        ),
    ]
}

/// Where the log is cut: the index of the first line of the new file.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// Between two rows of the summary table.
    MidTable,
    /// Inside the failure list, right after the first title line of its second entry.
    MidFailureList,
}

/// How the log is cut.
#[derive(Debug, Clone, Copy)]
enum Rotation {
    /// logrotate's default: the file renamed, a new one created.
    Rename,
    /// logrotate's copytruncate, with a writer that appends (`>>`).
    CopytruncateAppending,
    /// copytruncate with a writer that does not append (`cypress run > log`): its next
    /// write lands at its old offset, after a hole of NULs.
    CopytruncateAtOffset,
}

fn cut_at(lines: &[String], cut: Cut) -> usize {
    let plain: Vec<String> = lines.iter().map(|l| cypress::strip_ansi(l)).collect();
    let finished = plain
        .iter()
        .position(|l| l.contains("(Run Finished)"))
        .unwrap();
    match cut {
        Cut::MidTable => {
            finished
                + plain[finished..]
                    .iter()
                    .position(|l| l.contains("migrate/linux_vm.cy.js"))
                    .unwrap()
        }
        Cut::MidFailureList => {
            let list = plain.iter().position(|l| l.contains(" failing")).unwrap();
            list + plain[list..]
                .iter()
                .position(|l| l.contains("  2) "))
                .unwrap()
                + 1
        }
    }
}

/// Waits until the watcher `w` has read `path` up to `offset`.
fn wait_read(w: &Watcher, path: &Path, offset: u64) {
    wait_until(&format!("the watcher to read {offset} bytes"), WAIT, || {
        read_offset(w.child.id(), path) == Some(offset)
    });
}

/// The run's log written up to the cut, cut as `rotation` says, then written on; returns
/// the watcher's state once it exited.
fn watch_across(
    sb: &Sandbox,
    hook: &FakeMattermost,
    build: &str,
    cut: Cut,
    rotation: Rotation,
) -> Value {
    let specs = specs();
    let lines = cypress::detailed_run(&specs, "02:10");
    let at = cut_at(&lines, cut);
    let (before, after) = (
        cypress::render(&lines[..at], Style::ALL),
        cypress::render(&lines[at..], Style::ALL),
    );
    let log = sb.log(build);
    let mut writer: File = match rotation {
        Rotation::CopytruncateAtOffset => OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&log)
            .unwrap(),
        _ => OpenOptions::new()
            .append(true)
            .create(true)
            .open(&log)
            .unwrap(),
    };
    // A block that is lost leaves the run without a result: HUNG soon, not in two hours.
    let mut w = sb.watch(hook, build, &["--hung-timeout", "3s"]);
    writer.write_all(&before).unwrap();
    wait_read(&w, &log, before.len() as u64);
    let rotated = sb.log_dir.join(format!("{build}.log.1"));
    match rotation {
        Rotation::Rename => {
            fs::rename(&log, &rotated).unwrap();
            writer = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&log)
                .unwrap();
        }
        Rotation::CopytruncateAppending | Rotation::CopytruncateAtOffset => {
            copytruncate(&log, &rotated, &w);
        }
    }
    writer.write_all(&after).unwrap();
    drop(writer);
    assert_eq!(w.code(), 0, "{cut:?}, {rotation:?}: {}", w.stderr());
    sb.state(build)
}

#[test]
fn a_block_cut_by_a_rotation_is_read_as_one() {
    let specs = specs();
    let want_failures = cypress::failures_of(&specs);
    let rows: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let mut problems = Vec::new();
    let mut n = 0;
    for cut in [Cut::MidTable, Cut::MidFailureList] {
        for rotation in [
            Rotation::Rename,
            Rotation::CopytruncateAppending,
            Rotation::CopytruncateAtOffset,
        ] {
            n += 1;
            let what = format!("{cut:?}, {rotation:?}");
            let sb = Sandbox::new("cut");
            let hook = FakeMattermost::start();
            let build = format!("cut{n}");
            let st = watch_across(&sb, &hook, &build, cut, rotation);
            if st["status"] != "FAILED" {
                problems.push(format!(
                    "{what}: status {} ({})",
                    st["status"], st["reason"]
                ));
                continue;
            }
            let tests = &st["tests"];
            if (
                tests["total"].as_u64(),
                tests["passed"].as_u64(),
                tests["failed"].as_u64(),
            ) != (Some(7), Some(4), Some(3))
            {
                problems.push(format!("{what}: tests {tests}"));
            }
            let names: Vec<&str> = st["specs"]
                .as_array()
                .map(|a| a.iter().filter_map(|r| r["name"].as_str()).collect())
                .unwrap_or_default();
            if names != rows {
                problems.push(format!("{what}: summary rows {names:?}"));
            }
            let got: Vec<(String, String, String)> = st["failures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let s = |k: &str| f[k].as_str().unwrap_or("-").to_string();
                    (s("spec"), s("title"), s("error"))
                })
                .collect();
            let want: Vec<(String, String, String)> = want_failures
                .iter()
                .map(|f| {
                    let s = |v: &Option<String>| v.clone().unwrap_or("-".into());
                    (f.spec.clone(), s(&f.title), s(&f.error))
                })
                .collect();
            if got != want {
                problems.push(format!("{what}: failures {got:#?}"));
            }
            let posts = hook.delivered();
            if posts.len() != 1 {
                problems.push(format!("{what}: {} posts", posts.len()));
                continue;
            }
            let text = posts[0].visible();
            for f in &want_failures {
                let title = f.title.as_deref().unwrap();
                let own = title.rsplit(" › ").next().unwrap();
                if !text.contains(own) {
                    problems.push(format!("{what}: the post does not name {own:?}:\n{text}"));
                }
            }
            if !text.contains("FAILED") {
                problems.push(format!("{what}: not a FAILED post:\n{text}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
