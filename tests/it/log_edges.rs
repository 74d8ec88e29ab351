//! The log's hard cases (issue 9; its item numbers are in the tests' comments): a log
//! replaced while no watcher ran (rewritten in place, recreated with the same inode,
//! truncated), symlinks under inotify, copytruncate with a writer that does not append,
//! the hung clock across a SIGKILL restart, memory on a dense log; and a restart after
//! Cypress was killed with a digest construct open. Each asserts the behaviour CONTRACT.md
//! promises.

use crate::support::dense::write_dense_log;
use crate::support::process::{proc_state, proc_status_kib};
use crate::support::*;
use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;
use std::time::{Duration, SystemTime};

fn size(p: &Path) -> u64 {
    fs::metadata(p).unwrap().len()
}

fn saved_offset(sb: &Sandbox, build: &str) -> Option<u64> {
    sb.try_state(build)?["log_position"]["offset"].as_u64()
}

/// Waits until state.json records that the log was read up to `offset`.
fn wait_saved_offset(sb: &Sandbox, build: &str, offset: u64) {
    wait_until(
        &format!("{build}: log position {offset} saved"),
        WAIT,
        || saved_offset(sb, build) == Some(offset),
    );
}

fn time_of(v: &Value) -> SystemTime {
    humantime::parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// `t` rounded down to a whole millisecond (state.json's precision).
fn whole_ms(t: SystemTime) -> SystemTime {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    SystemTime::UNIX_EPOCH + Duration::from_millis(d.as_millis() as u64)
}

/// A `(Run Starting)` box and `specs` spec blocks without a result: a run going on.
fn run_in_progress(specs: usize, tests: u32) -> Vec<String> {
    let all: Vec<Spec> = (0..specs)
        .map(|i| Spec::passed(&format!("migrate/vm_{i:02}.cy.js"), tests))
        .collect();
    let mut v = cypress::run_starting(&all);
    for (i, s) in all.iter().enumerate() {
        v.extend(cypress::spec_block(s, i + 1, specs + 1));
    }
    v
}

/// Runs a watcher on a run in progress until it saved its position at the log's end,
/// stops it with SIGTERM, and returns that position.
fn watch_then_stop(sb: &Sandbox, hook: &FakeMattermost, build: &str) -> u64 {
    let mut lines = cypress::atvm_preamble(build);
    lines.insert(0, format!("[atvm] {build}: attempt 1 of 2"));
    lines.extend(run_in_progress(5, 12));
    let mut w = sb.watch(hook, build, &[]);
    sb.append_lines(build, &lines, Style::PLAIN);
    let end = size(&sb.log(build));
    wait_saved_offset(sb, build, end);
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(
        saved_offset(sb, build),
        Some(end),
        "SIGTERM saves the position"
    );
    assert_eq!(sb.state(build)["status"], "RUNNING");
    end
}

/// A new log for `build`: another attempt (its first line differs), whose run FAILED, then
/// ATVM's clean-up lines until it is longer than `longer_than`.
fn replacement_log(build: &str, longer_than: u64) -> Vec<u8> {
    let mut lines = vec![format!("[atvm] {build}: attempt 2 of 2")];
    lines.extend(cypress::atvm_preamble(build));
    lines.extend(failed_run());
    let mut bytes = cypress::render(&lines, Style::PLAIN);
    assert!(
        (bytes.len() as u64) < longer_than,
        "the result must lie before the saved offset ({} ≥ {longer_than})",
        bytes.len()
    );
    let mut k = 0;
    while bytes.len() as u64 <= longer_than + 512 {
        bytes.extend(format!("[atvm] collecting artefacts of VM {k}: copied\n").bytes());
        k += 1;
    }
    bytes
}

fn assert_replacement_posted(sb: &Sandbox, hook: &FakeMattermost, w: &mut Watcher, build: &str) {
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let st = sb.state(build);
    assert_eq!(
        st["status"], "FAILED",
        "the replaced log is read from its start and its result seen ({})",
        st["reason"]
    );
    assert_eq!(
        st["failed_specs"][0],
        "migrate/windows_server_2022_dynamic_disks_uefi.cy.js"
    );
    assert_eq!(hook.delivered().len(), 1);
}

// Item 3: the log rewritten in place (`> file`: same dev and inode, longer than the saved
// offset) while no watcher ran is a new log: it is read from 0.
#[test]
fn a_log_rewritten_in_place_while_stopped_is_read_from_the_start() {
    let sb = Sandbox::new("rewrite");
    let hook = FakeMattermost::start();
    let saved = watch_then_stop(&sb, &hook, "rw");
    let log = sb.log("rw");
    let ino = fs::metadata(&log).unwrap().ino();
    let new = replacement_log("rw", saved);
    let mut f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    f.write_all(&new).unwrap();
    drop(f);
    assert_eq!(fs::metadata(&log).unwrap().ino(), ino, "rewritten in place");
    let mut w = sb.watch(&hook, "rw", &["--hung-timeout", "3s"]);
    assert_replacement_posted(&sb, &hook, &mut w, "rw");
}

// Item 3, the issue's own form: deleted and written anew while no watcher ran, and the file
// system hands out the freed inode number again (ext4 does; tmpfs does not, and there the
// test has nothing to show and says so).
#[test]
fn a_log_recreated_with_the_same_inode_while_stopped_is_read_from_the_start() {
    let sb = Sandbox::new("reinode");
    let hook = FakeMattermost::start();
    let saved = watch_then_stop(&sb, &hook, "ri");
    let log = sb.log("ri");
    let ino = fs::metadata(&log).unwrap().ino();
    let new = replacement_log("ri", saved);
    let mut reused = false;
    for _ in 0..20 {
        fs::remove_file(&log).unwrap();
        fs::write(&log, &new).unwrap();
        if fs::metadata(&log).unwrap().ino() == ino {
            reused = true;
            break;
        }
    }
    if !reused {
        eprintln!(
            "the file system under {} did not reuse inode {ino}; nothing to show here",
            sb.root.display()
        );
        return;
    }
    let mut w = sb.watch(&hook, "ri", &["--hung-timeout", "3s"]);
    assert_replacement_posted(&sb, &hook, &mut w, "ri");
}

/// Symlink tests run in the default mode (inotify where it works), with short timeouts so
/// that a missed change ends the run quickly instead of waiting for the defaults. A path
/// through a symbolic link is followed by polling, as tail -F follows the name, and the
/// watcher says so, naming the link.
fn assert_polls_the_link(w: &Watcher) {
    let err = w.stderr();
    assert!(
        err.contains("by polling every") && err.contains("is a symbolic link"),
        "a symlinked log path is polled, and said so: {err}"
    );
}

fn assert_completed_once(sb: &Sandbox, hook: &FakeMattermost, w: &mut Watcher, build: &str) {
    assert_eq!(w.code(), 0, "{}", w.stderr());
    let st = sb.state(build);
    assert_eq!(st["status"], "COMPLETED", "{}", st["reason"]);
    assert_eq!(hook.delivered().len(), 1);
}

/// Whether `pid` has an open file descriptor on `path` after `path` was deleted.
fn holds_deleted(pid: u32, path: &Path) -> bool {
    let gone = format!("{} (deleted)", path.display());
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.flatten()
                .any(|e| fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy() == gone))
        })
        .unwrap_or(false)
}

// Item 4a: the log path is a symlink into another directory; the target is deleted and
// re-created with the run's output (tail -F follows the name through the link).
#[test]
fn symlinked_log_whose_target_is_recreated_is_followed() {
    let sb = Sandbox::new("symtarget");
    let hook = FakeMattermost::start();
    let real_dir = sb.root.join("real");
    fs::create_dir_all(&real_dir).unwrap();
    let target = real_dir.join("run.log");
    symlink(&target, sb.log("sa")).unwrap();
    let mut w = sb.watch(&hook, "sa", &["--hung-timeout", "4s"]);
    sb.start_run("sa", 3);
    fs::remove_file(&target).unwrap();
    // Let the watcher see the target gone before it comes back (else it would see a plain
    // replacement of the file under the same name).
    let pid = w.child.id();
    wait_until("the watcher to let go of the deleted target", WAIT, || {
        !holds_deleted(pid, &target) || w.stderr().contains("rotated or removed")
    });
    fs::write(&target, cypress::render(&completed_run(), Style::PLAIN)).unwrap();
    assert_polls_the_link(&w);
    assert_completed_once(&sb, &hook, &mut w, "sa");
}

// Item 4b: the log is a dangling symlink; its target appears later.
#[test]
fn dangling_symlinked_log_whose_target_appears_is_followed() {
    let sb = Sandbox::new("symdangling");
    let hook = FakeMattermost::start();
    let real_dir = sb.root.join("real");
    fs::create_dir_all(&real_dir).unwrap();
    let target = real_dir.join("run.log");
    symlink(&target, sb.log("sb")).unwrap();
    let mut w = sb.watch(&hook, "sb", &["--start-timeout", "4s"]);
    sb.wait_status("sb", "WAITING");
    fs::write(&target, cypress::render(&completed_run(), Style::PLAIN)).unwrap();
    assert_polls_the_link(&w);
    assert_completed_once(&sb, &hook, &mut w, "sb");
}

// Item 4c: the log directory is a symlink, re-pointed (atomically, as `ln -sfn` + rename
// does) to a directory that holds the run's log while the watcher waits.
#[test]
fn log_directory_symlink_repointed_is_followed() {
    let mut sb = Sandbox::new("symdir");
    let hook = FakeMattermost::start();
    let (d1, d2) = (sb.root.join("d1"), sb.root.join("d2"));
    fs::create_dir_all(&d1).unwrap();
    fs::create_dir_all(&d2).unwrap();
    let link = sb.root.join("logs-current");
    symlink(&d1, &link).unwrap();
    sb.env
        .push(("ATVM_WATCHER_LOG_DIR".into(), link.to_string_lossy().into()));
    let mut w = sb.watch(&hook, "sc", &["--start-timeout", "4s"]);
    sb.wait_status("sc", "WAITING");
    fs::write(
        d2.join("sc.log"),
        cypress::render(&completed_run(), Style::PLAIN),
    )
    .unwrap();
    let tmp = sb.root.join("logs-current.new");
    symlink(&d2, &tmp).unwrap();
    fs::rename(&tmp, &link).unwrap();
    assert_polls_the_link(&w);
    assert_completed_once(&sb, &hook, &mut w, "sc");
}

// Item 5: copytruncate while Cypress writes with `>` (no O_APPEND): the writer's next write
// lands at its old offset, after a run of NULs longer than the 8 KiB line cap. NULs are no
// part of any line: the marker right after them is seen.
#[test]
fn copytruncate_with_a_writer_that_does_not_append() {
    let sb = Sandbox::new("copytrunc");
    let hook = FakeMattermost::start();
    let log = sb.log("ct");
    let specs: Vec<Spec> = (0..6)
        .map(|i| Spec::passed(&format!("migrate/linux_vm_{i}.cy.js"), 30))
        .collect();
    let lines = cypress::run(&specs);
    let cut = lines
        .iter()
        .position(|l| l.contains("(Run Finished)"))
        .unwrap();
    let (before, after) = (
        cypress::render(&lines[..cut], Style::PLAIN),
        cypress::render(&lines[cut..], Style::PLAIN),
    );
    assert!(before.len() > 16 * 1024, "{} bytes", before.len());
    // `cypress run > ct.log`: written at the writer's own offset, never appended.
    let mut writer = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    let mut w = sb.watch(&hook, "ct", &["--hung-timeout", "3s"]);
    writer.write_all(&before).unwrap();
    wait_saved_offset(&sb, "ct", before.len() as u64);
    // Seen empty before the writer goes on: else the NULs would never be read.
    copytruncate(&log, &sb.log_dir.join("ct.log.1"), &w);
    writer.write_all(&after).unwrap();
    drop(writer);
    assert_eq!(size(&log), (before.len() + after.len()) as u64);
    assert_eq!(
        fs::read(&log).unwrap()[..before.len()],
        vec![0u8; before.len()]
    );
    assert_completed_once(&sb, &hook, &mut w, "ct");
}

// Item 9: activity is when the log last grew (its mtime), not when a restarted watcher read
// bytes whose position had not been saved yet.
#[test]
fn a_sigkill_restart_does_not_extend_the_hung_timeout() {
    let sb = Sandbox::new("killhung");
    let hook = FakeMattermost::start();
    let hung = Duration::from_secs(2);
    let log = sb.log("kh");
    let mut w = sb.watch(&hook, "kh", &["--hung-timeout", "2s"]);
    sb.start_run("kh", 2);
    let first = size(&log);
    wait_saved_offset(&sb, "kh", first);
    let saved_activity = time_of(&sb.state("kh")["last_activity_at"]);
    // Frozen, the watcher cannot read (let alone save) what comes next; then it dies.
    w.signal(SIGSTOP);
    let pid = w.child.id();
    wait_until("the watcher to stop", WAIT, || proc_state(pid) == Some('T'));
    sb.append_lines(
        "kh",
        &cypress::spec_start(&Spec::passed("a.cy.js", 2), 1, 1),
        Style::PLAIN,
    );
    w.signal(SIGKILL);
    w.wait(WAIT);
    assert_eq!(
        saved_offset(&sb, "kh"),
        Some(first),
        "the new bytes' position was never saved"
    );
    // The log last grew at `grew` (set exactly, in the past by the time of the restart).
    let grew = whole_ms(saved_activity + Duration::from_millis(200));
    fs::File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_modified(grew)
        .unwrap();
    let due = grew + hung + Duration::from_millis(700);
    if let Ok(left) = due.duration_since(SystemTime::now()) {
        std::thread::sleep(left);
    }
    let restart = SystemTime::now();
    let mut w2 = sb.watch(&hook, "kh", &["--hung-timeout", "2s"]);
    assert_eq!(w2.code(), 0, "{}", w2.stderr());
    let st = sb.state("kh");
    assert_eq!(st["status"], "HUNG", "{}", st["reason"]);
    assert_eq!(
        st["last_activity_at"],
        humantime::format_rfc3339_millis(grew).to_string(),
        "the last activity is the log's mtime (the restart was at {})",
        humantime::format_rfc3339_millis(restart)
    );
    let finished = time_of(&st["finished_at"]);
    assert!(
        finished < restart + hung,
        "HUNG is decided at once, not a hung timeout after the restart: restart {}, finished {}",
        humantime::format_rfc3339_millis(restart),
        humantime::format_rfc3339_millis(finished)
    );
    assert_eq!(hook.received().len(), 0);
}

/// Peak RSS (VmHWM, KiB) of a watcher that caught up with a dense, unfinished log of about
/// `mib` MiB, measured while it still runs (so the figure is its own, from /proc).
fn peak_rss_after_catch_up(sb: &Sandbox, hook: &FakeMattermost, build: &str, mib: u64) -> u64 {
    let d = write_dense_log(&sb.log(build), mib << 20, false).unwrap();
    let mut w = sb.watch(hook, build, &["--hung-timeout", "120s"]);
    wait_saved_offset(sb, build, d.bytes);
    let st = sb.state(build);
    assert_eq!(st["status"], "RUNNING");
    assert_eq!(
        st["progress"]["index"], d.progress_lines,
        "every progress line was seen"
    );
    let hwm = proc_status_kib(w.child.id(), "VmHWM:");
    assert!(hwm > 0, "no VmHWM for the watcher");
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    fs::remove_file(sb.log(build)).unwrap();
    hwm
}

// Item 15: memory stays bounded whatever the log holds. A watcher catching up with 64 MiB
// of dense log (a `Running:` line every ~2 KiB, ~30,000 events) needs no more memory than
// one catching up with 1 MiB of it: events are applied per read chunk, not collected to
// the end of the file. (Debug build: its own footprint is ~9.5 MiB, hence the comparison.)
#[test]
fn memory_does_not_grow_with_a_dense_log() {
    let sb = Sandbox::new("densemem");
    let hook = FakeMattermost::start();
    let small = peak_rss_after_catch_up(&sb, &hook, "dense-1", 1);
    let big = peak_rss_after_catch_up(&sb, &hook, "dense-64", 64);
    assert!(
        big <= small + 2048,
        "peak RSS grows with the log: {small} KiB after 1 MiB, {big} KiB after 64 MiB (+{} KiB)",
        big.saturating_sub(small)
    );
}

/// Found by review: a log truncated (shorter than the saved position) while no watcher ran
/// was read from the start, rightly, but the watcher said it was another file.
#[test]
fn a_log_truncated_while_stopped_is_read_again_and_not_called_another_file() {
    let sb = Sandbox::new("truncstop");
    let hook = FakeMattermost::start();
    watch_then_stop(&sb, &hook, "ts");
    let mut lines = cypress::atvm_preamble("ts");
    lines.extend(failed_run());
    fs::write(sb.log("ts"), cypress::render(&lines[..3], Style::PLAIN)).unwrap();
    let mut w = sb.watch(&hook, "ts", &["--hung-timeout", "3s"]);
    sb.append_lines("ts", &lines[3..], Style::PLAIN);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    assert_eq!(sb.state("ts")["status"], "FAILED");
    assert!(
        !w.stderr().contains("is not the file"),
        "a truncated log is no other file: {}",
        w.stderr()
    );
}

/// The headings of the posts delivered for `build`.
fn headings_of(hook: &FakeMattermost, build: &str) -> Vec<String> {
    hook.headings()
        .into_iter()
        .filter(|h| h.contains(&format!("· {build}")))
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
    let sb = Sandbox::new(&format!("restart-{build}"));
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
            ":white_check_mark: ATVM run COMPLETED · {build} · group 2 of 2: b"
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

/// A run's lines up to its summary table, and the rest (the table: COMPLETED).
fn completed_run_halves() -> (Vec<String>, Vec<String>) {
    let mut lines = completed_run();
    let cut = lines
        .iter()
        .position(|l| l.contains("(Run Finished)"))
        .unwrap();
    let rest = lines.split_off(cut);
    (lines, rest)
}

/// The writer seeks `hole` bytes ahead (a sparse hole of NULs), then writes `lines`.
fn after_a_hole(sb: &Sandbox, build: &str, hole: u64, lines: &[String]) {
    let log = OpenOptions::new().write(true).open(sb.log(build)).unwrap();
    log.set_len(size(&sb.log(build)) + hole).unwrap();
    sb.append_lines(build, lines, Style::PLAIN);
}

/// How long a stopped or cancelled watcher may take to exit: one slice of the catch-up
/// and a save (the unit's stop timeout is 90 s).
const PROMPTLY: Duration = Duration::from_secs(10);

/// Issue 19, fault 17: a catch-up over a huge log was read to its end in one go: SIGTERM
/// (systemctl stop, 90 s before systemd kills) waited for it, and the watcher told to stop
/// still posted the result at the end. The log is read in bounded slices, with a look at
/// the signals between them.
#[test]
fn sigterm_is_seen_during_a_long_catch_up() {
    let sb = Sandbox::new("sparse-term");
    let hook = FakeMattermost::start();
    let (start, end) = completed_run_halves();
    sb.append_lines("spt", &start, Style::PLAIN);
    after_a_hole(&sb, "spt", 8 << 30, &end);
    let mut w = sb.watch(&hook, "spt", &[]);
    wait_until("the watch to start", WAIT, || {
        w.stderr().contains("watching")
    });
    w.signal(SIGTERM);
    let status = w.wait(PROMPTLY);
    assert_eq!(status.code(), Some(0), "{}", w.stderr());
    assert_eq!(hook.received().len(), 0, "told to stop, it posts nothing");
    let st = sb.state("spt");
    assert_eq!(st["status"], "RUNNING", "saved for a later start: {st}");
    assert!(
        saved_offset(&sb, "spt").unwrap() < size(&sb.log("spt")),
        "stopped inside the hole"
    );
}

/// The same with `cancel` (a watcher resumed over the hole): the cancel marker is looked
/// at between the slices.
#[test]
fn cancel_is_seen_during_a_long_catch_up() {
    let sb = Sandbox::new("sparse-cancel");
    let hook = FakeMattermost::start();
    let (start, end) = completed_run_halves();
    let mut w = sb.watch(&hook, "spc", &[]);
    sb.append_lines("spc", &start, Style::PLAIN);
    wait_saved_offset(&sb, "spc", size(&sb.log("spc")));
    w.signal(SIGTERM);
    assert_eq!(w.code(), 0, "{}", w.stderr());
    after_a_hole(&sb, "spc", 8 << 30, &end);
    let mut w = sb.watch(&hook, "spc", &[]);
    wait_until("the watch to start", WAIT, || {
        w.stderr().contains("watching")
    });
    let out = sb.run(None, &["cancel", "--build-name", "spc", "--no-stop"]);
    let (code, _, err) = text(&out);
    assert_eq!(code, 0, "{err}");
    let status = w.wait(PROMPTLY);
    assert_eq!(status.code(), Some(0), "{}", w.stderr());
    assert_eq!(hook.received().len(), 0, "cancelled, it posts nothing");
    assert_eq!(sb.state("spc")["status"], "CANCELLED");
}
