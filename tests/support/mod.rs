//! Shared harness of the integration tests: a temporary sandbox (state root and log
//! directory), the real binary run in it with a clean environment, a fake Mattermost on
//! 127.0.0.1, Cypress-shaped log output, and waiting for conditions (never fixed sleeps).
//! Every item here is used by the integration tests (tests/it), which need no dead-code
//! allowance for it (cypress.rs, which the matcher's unit tests include too, has one).
//! fleet.rs and release.rs, which only the robustness tests and the benches use, are no
//! modules of this one: those include them by path.

pub mod cypress;
pub mod dense;
pub mod mattermost;
pub mod post;
pub mod process;

pub use cypress::{Spec, Style};
pub use mattermost::{Answer, FakeMattermost, dry_run_posts, visible};

use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_atvm-run-watcher");
pub const WAIT: Duration = Duration::from_secs(20);

static SEQ: AtomicUsize = AtomicUsize::new(0);

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// Polls `cond` every few milliseconds until it holds; panics with `what` after `timeout`.
/// `n` in letters (`a`, `b`, … `ba`): texts that differ once §10 normalises their digits
/// (every run of digits becomes `#`, so `case 1` and `case 2` would be one cluster).
pub fn letters(mut n: usize) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, (b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            return s;
        }
    }
}

pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub struct Sandbox {
    pub root: PathBuf,
    pub state_root: PathBuf,
    pub log_dir: PathBuf,
    /// Extra environment for every command.
    pub env: Vec<(String, String)>,
    /// The binary to run: cargo's test build unless a benchmark points at the release one.
    pub bin: PathBuf,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.root);
        } else {
            eprintln!("sandbox kept for inspection: {}", self.root.display());
        }
    }
}

/// A watcher process started by a test; its stdout and stderr go to files.
pub struct Watcher {
    pub child: Child,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Watcher {
    /// Waits for the exit; panics after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "watcher did not exit within {timeout:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn code(&mut self) -> i32 {
        self.wait(WAIT).code().unwrap_or(-1)
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use libc::{SIGCONT, SIGKILL, SIGSTOP, SIGTERM};

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        let base = std::env::var_os("CARGO_TARGET_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let root = base.join(format!(
            "it-{name}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&root);
        let state_root = root.join("state");
        let log_dir = root.join("logs");
        fs::create_dir_all(&state_root).unwrap();
        fs::create_dir_all(&log_dir).unwrap();
        Sandbox {
            root,
            state_root,
            log_dir,
            env: Vec::new(),
            bin: PathBuf::from(BIN),
        }
    }

    /// A stub `systemctl` (`ATVM_WATCHER_SYSTEMCTL`) that records its arguments, one call a
    /// line, in the file returned.
    pub fn stub_systemctl(&mut self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let calls = self.root.join("systemctl.calls");
        let stub = self.root.join("systemctl");
        let script = format!("#!/bin/sh\necho \"$*\" >> '{}'\n", calls.display());
        fs::write(&stub, script).unwrap();
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).unwrap();
        self.set_env("ATVM_WATCHER_SYSTEMCTL", &stub);
        calls
    }

    /// The environment file (`ATVM_WATCHER_ENV_FILE`), mode 0600, (re)written with `text`.
    pub fn env_file(&mut self, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.root.join("atvm-run-watcher.env");
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        self.set_env("ATVM_WATCHER_ENV_FILE", &path);
        path
    }

    /// What `start` needs in the environment file: the webhook and this sandbox's state root
    /// (and no known-issues file: never the host's).
    pub fn env_text(&self, hook_url: &str) -> String {
        format!(
            "MATTERMOST_ATVM_WEBHOOK={hook_url}\nATVM_WATCHER_STATE_ROOT={}\nATVM_WATCHER_KNOWN_ISSUES={}\n",
            self.state_root.display(),
            self.no_known_issues().display()
        )
    }

    /// A known-issues path where there is no file.
    pub fn no_known_issues(&self) -> PathBuf {
        self.root.join("no-known-issues.json")
    }

    fn set_env(&mut self, name: &str, path: &Path) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.into(), path.to_string_lossy().into()));
    }

    pub fn log(&self, build: &str) -> PathBuf {
        self.log_dir.join(format!("{build}.log"))
    }

    pub fn build_dir(&self, build: &str) -> PathBuf {
        self.state_root.join(build)
    }

    pub fn append(&self, build: &str, bytes: &[u8]) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log(build))
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    pub fn append_lines(&self, build: &str, lines: &[String], style: Style) {
        self.append(build, &cypress::render(lines, style));
    }

    /// The binary with a clean environment pointing at this sandbox.
    pub fn cmd(&self, hook: Option<&str>) -> Command {
        let mut c = Command::new(&self.bin);
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ATVM_WATCHER_STATE_ROOT", &self.state_root)
            .env("ATVM_WATCHER_LOG_DIR", &self.log_dir)
            .env("ATVM_WATCHER_RETRY_BASE", "100ms")
            .env("ATVM_WATCHER_RETRY_CAP", "1s")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("RUST_LOG", "info")
            // Never the host's /etc/atvm-run-watcher.env (a watch without a webhook reads it),
            // nor its known-issues file.
            .env("ATVM_WATCHER_ENV_FILE", self.root.join("no-env-file"))
            .env("ATVM_WATCHER_KNOWN_ISSUES", self.no_known_issues());
        if let Some(h) = hook {
            c.env("MATTERMOST_ATVM_WEBHOOK", h);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, hook: Option<&str>, args: &[&str]) -> Output {
        self.cmd(hook)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Starts a watcher in the background.
    pub fn spawn(&self, hook: Option<&str>, args: &[&str]) -> Watcher {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let stdout = self.root.join(format!("watcher-{n}.out"));
        let stderr = self.root.join(format!("watcher-{n}.err"));
        let child = self
            .cmd(hook)
            .args(args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).unwrap())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Watcher {
            child,
            stdout,
            stderr,
        }
    }

    pub fn watch(&self, hook: &FakeMattermost, build: &str, extra: &[&str]) -> Watcher {
        let url = hook.url();
        let mut args = vec!["--build-name", build];
        args.extend_from_slice(extra);
        self.spawn(Some(&url), &args)
    }

    pub fn state(&self, build: &str) -> Value {
        read_json(&self.build_dir(build).join("state.json"))
    }

    /// `subruns/<key>/state.json` of a categorized build.
    pub fn sub_state(&self, build: &str, key: &str) -> Value {
        read_json(
            &self
                .build_dir(build)
                .join("subruns")
                .join(key)
                .join("state.json"),
        )
    }

    pub fn try_state(&self, build: &str) -> Option<Value> {
        fs::read(self.build_dir(build).join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Waits until state.json says `status`.
    pub fn wait_status(&self, build: &str, status: &str) -> Value {
        let mut last = None;
        wait_until(&format!("{build} to be {status}"), WAIT, || {
            last = self.try_state(build);
            last.as_ref().is_some_and(|s| s["status"] == status)
        });
        last.unwrap()
    }

    /// Writes a `(Run Starting)` box for a run of `tests` tests and waits until the
    /// watcher has saved that it saw it.
    pub fn start_run(&self, build: &str, tests: u32) {
        self.append_lines(
            build,
            &cypress::run_starting(&[Spec::passed("a.cy.js", tests)]),
            Style::PLAIN,
        );
        wait_until(&format!("{build}: run start saved"), WAIT, || {
            self.try_state(build).is_some_and(|s| s["run_seen"] == true)
        });
    }

    pub fn marker(&self, build: &str, rel: &str) -> bool {
        self.build_dir(build).join(rel).exists()
    }

    /// Every file under the sandbox, as text (for secret checks).
    pub fn all_text(&self) -> String {
        fn walk(p: &Path, out: &mut String) {
            if let Ok(rd) = fs::read_dir(p) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p, out);
                    } else if let Ok(b) = fs::read(&p) {
                        out.push_str(&String::from_utf8_lossy(&b));
                    }
                }
            }
        }
        let mut s = String::new();
        walk(&self.root, &mut s);
        s
    }
}

/// A finished Cypress run's lines.
pub fn completed_run() -> Vec<String> {
    cypress::run(&[
        Spec::passed("login.cy.js", 3),
        Spec::passed("migrate/linux_vm.cy.js", 4),
    ])
}

pub fn failed_run() -> Vec<String> {
    cypress::run(&[
        Spec::passed("login.cy.js", 3),
        Spec::failed("migrate/windows_server_2022_dynamic_disks_uefi.cy.js", 6, 2),
    ])
}

/// Posts delivered (answered `ok`).
pub fn posts_of(hook: &FakeMattermost) -> usize {
    hook.delivered().len()
}

/// The calls a stub systemctl (`Sandbox::stub_systemctl`) recorded, one a line.
pub fn calls(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// logrotate's copytruncate of `log` (its copy at `rotated`), then waits until watcher `w`
/// has seen the file empty, so that what a writer appends next is read as a new file (else
/// the watcher would just read on from its offset).
pub fn copytruncate(log: &Path, rotated: &Path, w: &Watcher) {
    fs::copy(log, rotated).unwrap();
    OpenOptions::new()
        .write(true)
        .open(log)
        .unwrap()
        .set_len(0)
        .unwrap();
    wait_until("the watcher to see the truncation", WAIT, || {
        w.stderr().contains("truncated")
    });
}

/// A finished command's exit code (-1 for a signal), stdout and stderr, as text.
pub fn text(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Why `status`/`stderr` show a panic, if they do.
pub fn panic_problem(what: &str, status: ExitStatus, stderr: &str) -> Option<String> {
    if stderr.contains("panicked")
        || matches!(status.code(), Some(101) | Some(134))
        || status.signal() == Some(libc::SIGABRT)
    {
        Some(format!("{what}: panicked ({status}):\n{stderr}"))
    } else {
        None
    }
}

/// Panics if `status`/`stderr` show a panic.
pub fn no_panic(what: &str, status: ExitStatus, stderr: &str) {
    if let Some(p) = panic_problem(what, status, stderr) {
        panic!("{p}");
    }
}

/// A pipe whose read end is already closed: every write to the other end is EPIPE.
pub fn closed_pipe() -> fs::File {
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
