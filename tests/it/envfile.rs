//! A watch run directly from a shell, as the old script's callers run it
//! (`atvm_run_watcher.py --build-name ...` from a root shell): the shell has no
//! `MATTERMOST_ATVM_WEBHOOK`, only systemd loads the environment file, so the watcher reads
//! the Mattermost settings from that file itself, with the checks `start` makes.

use crate::support::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// A sandbox whose environment file (ATVM_WATCHER_ENV_FILE) holds `text`, mode 0600.
fn with_env_file(name: &str, text: &str) -> (Sandbox, PathBuf) {
    let mut sb = Sandbox::new(name);
    let file = sb.env_file(text);
    (sb, file)
}

fn field(r: &mattermost::Received, key: &str) -> Option<String> {
    r.json
        .as_ref()
        .and_then(|j| j[key].as_str())
        .map(str::to_string)
}

#[test]
fn the_old_scripts_callers_get_the_webhook_from_the_env_file() {
    let hook = FakeMattermost::start();
    // systemd's grammar: blanks around `=`, quotes, a `;` comment line.
    let (mut sb, file) = with_env_file(
        "oldcaller",
        &format!(
            "; written by the operator\nMATTERMOST_ATVM_WEBHOOK = \"{}\"\nMATTERMOST_ATVM_USERNAME='file bot'\n",
            hook.url()
        ),
    );
    // Through the compat entry point, as the old script was called: a copy of it beside
    // (a link to) the binary.
    let bin_dir = sb.root.join("opt");
    fs::create_dir_all(&bin_dir).unwrap();
    let shim = bin_dir.join("atvm_run_watcher.py");
    fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/compat/atvm_run_watcher.py"),
        &shim,
    )
    .unwrap();
    std::os::unix::fs::symlink(BIN, bin_dir.join("atvm-run-watcher")).unwrap();
    sb.bin = shim;
    sb.append_lines("old1", &completed_run(), Style::ALL);
    let out = sb
        .cmd(None)
        .args(["--build-name", "old1", "--template", "rhel9-to-ocp"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.contains(&format!(
            "old1: MATTERMOST_ATVM_WEBHOOK is not in the environment: Mattermost settings from {} (webhook http://127.0.0.1:{})",
            file.display(),
            hook.port()
        )),
        "the first log line says where the webhook came from: {err}"
    );
    assert!(!err.contains(mattermost::HOOK_ID), "no secret: {err}");
    let posts = hook.delivered();
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].text().contains("rhel9-to-ocp"),
        "{}",
        posts[0].text()
    );
    assert_eq!(field(&posts[0], "username").as_deref(), Some("file bot"));
    assert_eq!(sb.state("old1")["posted"], true);
}

#[test]
fn the_environment_still_wins() {
    let file_hook = FakeMattermost::start();
    let env_hook = FakeMattermost::start();
    let (sb, _) = with_env_file(
        "envwins",
        &format!(
            "MATTERMOST_ATVM_WEBHOOK={}\nMATTERMOST_ATVM_CHANNEL=from-file\nMATTERMOST_ATVM_USERNAME=file-bot\n",
            file_hook.url()
        ),
    );
    // The webhook in the environment: the file is not read at all.
    sb.append_lines("w1", &completed_run(), Style::PLAIN);
    let out = sb
        .cmd(Some(&env_hook.url()))
        .args(["--build-name", "w1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("is not in the environment"), "{err}");
    assert_eq!(env_hook.delivered().len(), 1);
    assert_eq!(field(&env_hook.delivered()[0], "channel"), None);
    assert_eq!(file_hook.received().len(), 0);

    // Only the channel in the environment: the webhook and user name come from the file,
    // the channel from the environment.
    sb.append_lines("w2", &completed_run(), Style::PLAIN);
    let out = sb
        .cmd(None)
        .env("MATTERMOST_ATVM_CHANNEL", "from-shell")
        .args(["--build-name", "w2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let posts = file_hook.delivered();
    assert_eq!(posts.len(), 1);
    assert_eq!(field(&posts[0], "channel").as_deref(), Some("from-shell"));
    assert_eq!(field(&posts[0], "username").as_deref(), Some("file-bot"));
}

#[test]
fn a_watch_reading_the_env_file_makes_starts_checks() {
    let hook = FakeMattermost::start();
    let url = hook.url();
    let (sb, file) = with_env_file("envchecks", "");
    // A finished run, so that the dry runs below end at once.
    sb.append_lines("c1", &completed_run(), Style::PLAIN);
    type Case = (String, u32, &'static str);
    let cases: Vec<Case> = vec![
        (
            format!("MATTERMOST_ATVM_WEBHOOK={url}\n"),
            0o640,
            "readable by group or others (mode 0640)",
        ),
        (
            format!("export MATTERMOST_ATVM_WEBHOOK={url}\n"),
            0o600,
            "MATTERMOST_ATVM_WEBHOOK is not set: line 1: systemd ignores `export MATTERMOST_ATVM_WEBHOOK=...`",
        ),
        (
            format!("MATTERMOST_ATVM_WEBHOOK={url}   # prod hook\n"),
            0o600,
            "line 1: MATTERMOST_ATVM_WEBHOOK ends with `# prod hook`",
        ),
        (
            "MATTERMOST_ATVM_WEBHOOK=https://mattermost.example.com/hooks/REPLACE_ME\n".into(),
            0o600,
            "the example's placeholder",
        ),
    ];
    for (text, mode, want) in cases {
        fs::write(&file, &text).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
        let out = sb.run(None, &["--build-name", "c1"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text:?}: {err}");
        assert!(err.contains(want), "{text:?}: {err}");
        assert!(!err.contains(mattermost::HOOK_ID), "no secret: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(!sb.build_dir("c1").exists(), "nothing created for {text:?}");
        // A dry run does not need a webhook, and so does not read the file.
        let out = sb.run(None, &["--build-name", "c1", "--dry-run"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        fs::remove_dir_all(sb.build_dir("c1")).unwrap();
    }
    fs::remove_file(&file).unwrap();
    let out = sb.run(None, &["--build-name", "c1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "MATTERMOST_ATVM_WEBHOOK is not set (the Mattermost incoming webhook URL; use --dry-run to post nothing), and there is no {} to read it from",
            file.display()
        )),
        "{err}"
    );
    assert_eq!(hook.received().len(), 0);
}

/// Issue 19, fault 15: systemd refuses an environment file holding a NUL byte ("Bad
/// message": read_full_stream) and the instance never starts, so every reader here refuses
/// it too, with one line naming the file and the line, exit 2, before anything starts.
#[test]
fn a_nul_byte_in_the_env_file_is_refused_as_systemd_does() {
    let hook = FakeMattermost::start();
    let mut sb = Sandbox::new("envnul");
    let calls = sb.stub_systemctl();
    let text = format!(
        "# the operator's file\n{}MATTERMOST_ATVM_CHANNEL=qa\0\n",
        sb.env_text(&hook.url())
    );
    let file = sb.env_file(&text);
    sb.append_lines("n1", &completed_run(), Style::PLAIN);
    let line = text.lines().count();
    let want = format!(
        "environment file {}, line {line}: holds a NUL byte",
        file.display()
    );
    for args in [
        &["check-webhook"][..],
        &["start", "--build-name", "n1"],
        &["--build-name", "n1"],
    ] {
        let out = sb.run(None, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(!err.contains(mattermost::HOOK_ID), "no secret: {err}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("configuration: ok"), "{args:?}: {stdout}");
    }
    assert!(
        !calls.exists(),
        "systemctl must not run: {:?}",
        fs::read_to_string(&calls)
    );
    assert!(!sb.build_dir("n1").exists(), "nothing created");
    assert_eq!(hook.received().len(), 0);
}

/// Exchanges `a` and `b` (renameat2 RENAME_EXCHANGE) until `stop` is set; returns how many
/// times.
fn exchange_until(a: &Path, b: &Path, stop: &AtomicBool) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let (a, b) = (c(a), c(b));
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: two valid C strings, relative to no directory fd (absolute paths).
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        n += 1;
    }
    n
}

/// Issue 19, fault 16: the mode and owner checked are those of the file whose content is
/// read. The environment file's path keeps swapping between a 0600 file and a 0644 one with
/// another webhook: the 0644 file's webhook must never be taken, whichever file each
/// reading meets (before, the checks looked at one open and the content came from another).
#[test]
fn the_env_file_checked_is_the_one_read() {
    let (sb, file) = with_env_file(
        "envswap",
        "MATTERMOST_ATVM_WEBHOOK=https://good.example.com/hooks/aaaaaaaaaaaa\n",
    );
    let loose = sb.root.join("loose.env");
    fs::write(
        &loose,
        "MATTERMOST_ATVM_WEBHOOK=https://loose.example.com/hooks/bbbbbbbbbbbb\n",
    )
    .unwrap();
    fs::set_permissions(&loose, fs::Permissions::from_mode(0o644)).unwrap();
    /// Stops the swapper however the loop ends (a failed assertion included).
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let stop = AtomicBool::new(false);
    let (mut good, mut refused) = (0, 0);
    let swaps = std::thread::scope(|s| {
        let swapper = s.spawn(|| exchange_until(&file, &loose, &stop));
        let guard = Stop(&stop);
        for _ in 0..200 {
            let out = sb.run(None, &["check-webhook"]);
            let (code, stdout, err) = text(&out);
            assert!(
                !stdout.contains("loose.example.com"),
                "the 0644 file's webhook was taken (exit {code}): {stdout}{err}"
            );
            match code {
                0 => good += 1,
                2 if err.contains("readable by group or others") => refused += 1,
                _ => panic!("exit {code}: {stdout}{err}"),
            }
        }
        drop(guard);
        swapper.join().unwrap()
    });
    assert!(swaps > 0);
    eprintln!("{good} read the 0600 file, {refused} refused the 0644 one, {swaps} swaps");
}
