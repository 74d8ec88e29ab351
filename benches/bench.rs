//! `make bench`: measures the release musl binary side by side in one run and prints one
//! table (README.md, "Performance"): detection latency with inotify and with forced polling,
//! idle CPU, catch-up over a 1 GiB Cypress-shaped log against `grep -F -c` and `wc -l`,
//! catch-up over a dense 256 MiB log (a `Running:` line every ~2 KiB), peak RSS of both,
//! binary size and `--help` start-up. A benchmark, not a test: it reports and
//! marks goals, it does not fail on them.
//!
//! Knobs for quick local runs: `ATVM_BENCH_IDLE_SECS` (60), `ATVM_BENCH_RUNS` (30),
//! `ATVM_BENCH_CATCHUP_MIB` (1024), `ATVM_BENCH_DENSE_MIB` (256), `ATVM_BENCH_BIN` (the
//! release musl binary).
//! `ATVM_BENCH_SCAN=FILE` only times the library's Scanner over FILE in this process (a
//! profiling aid: `perf record` it). Everything it talks to is on 127.0.0.1.

#[allow(dead_code, unused_imports)] // a bench uses only part of the test harness
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../tests/support/release.rs"]
mod release;

use atvm_run_watcher::testing::nightlies;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{FakeMattermost, Sandbox, Spec, Style, cypress, wait_until};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn note(s: &str) {
    eprintln!("bench: {s}");
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    // Nearest rank.
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[(v.len() - 1) / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    // Fields after the command: state is field 3, utime 14 and stime 15.
    let f: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(14) + get(15)
}

/// Whether the process is asleep in poll(2) (its log read, nothing left to do).
fn asleep_in_poll(pid: u32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, a)| a.split_whitespace().next());
    let sc = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    // 7: poll, 271: ppoll (x86_64).
    state == Some("S") && matches!(sc.split_whitespace().next(), Some("7" | "271"))
}

/// This process's peak RSS so far, in KiB.
fn own_hwm_kib() -> u64 {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `bench --spawn PROGRAM ARGS...`: runs PROGRAM and prints `code wall_ns cpu_ns maxrss_kib
/// floor_kib`. The kernel counts the memory of the process that spawned a child into the
/// child's peak RSS (the address space it had before exec), so the watcher is started from
/// this small, fresh process rather than from the benchmark; `floor_kib` is that process's
/// own peak, below which nothing can be told.
fn spawner(args: &[String]) -> ! {
    let floor = own_hwm_kib();
    let start = Instant::now();
    let child = Command::new(&args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (code, wall, cpu, maxrss) = wait4(child.id(), start);
    println!(
        "{code} {} {} {maxrss} {floor}",
        wall.as_nanos(),
        cpu.as_nanos()
    );
    std::process::exit(0)
}

/// Waits for `pid` and returns its wall time since `start`, its CPU time and its peak RSS.
fn wait4(pid: u32, start: Instant) -> (i32, Duration, Duration, u64) {
    let mut status = 0;
    // SAFETY: plain syscall on our own child; `ru` is a valid out-pointer.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut ru) };
    let wall = start.elapsed();
    assert_eq!(r, pid as i32, "wait4: {}", std::io::Error::last_os_error());
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (
        code,
        wall,
        tv(ru.ru_utime) + tv(ru.ru_stime),
        ru.ru_maxrss as u64,
    )
}

/// The lines of a Cypress run whose summary footer is not written yet.
fn run_without_footer(build: &str) -> (Vec<String>, Vec<String>) {
    let specs = [
        Spec::passed("atvm/login.cy.js", 3),
        Spec::passed("atvm/migrate/linux_rhel9_vm.cy.js", 6),
    ];
    let mut lines = cypress::atvm_preamble(build);
    lines.extend(cypress::run(&specs));
    // The footer row and the two blank lines after it.
    let tail = lines.split_off(lines.len() - 3);
    (lines, tail)
}

struct Latency {
    sorted: Vec<Duration>,
}

impl Latency {
    fn cell(&self) -> String {
        let s = &self.sorted;
        format!(
            "p50 {} · p95 {} · max {}",
            ms(percentile(s, 50)),
            ms(percentile(s, 95)),
            ms(*s.last().unwrap())
        )
    }
}

/// Appends the final summary line to a watched, settled log and times its arrival at the
/// fake webhook, `runs` times; with `year`, under a state root holding a year of nightlies
/// (which each post reads, contract §10).
fn latency(bin: &Path, poll: bool, runs: usize, year: bool) -> Latency {
    let mut sb = Sandbox::new(if poll { "bench-lat-poll" } else { "bench-lat" });
    sb.bin = bin.to_path_buf();
    if year {
        nightlies::write_year(&sb.state_root, nightlies::NIGHTS).unwrap();
    }
    if poll {
        sb.env.push(("ATVM_WATCHER_FORCE_POLL".into(), "1".into()));
    }
    let hook = FakeMattermost::start();
    let mut v = Vec::new();
    for i in 0..runs {
        let build = format!("lat-{i}");
        let (head, tail) = run_without_footer(&build);
        sb.append_lines(&build, &head, Style::ALL);
        let mut w = sb.watch(&hook, &build, &[]);
        let pid = w.child.id();
        sb.wait_status(&build, "RUNNING");
        wait_until(
            "the watcher to sleep in poll",
            Duration::from_secs(20),
            || asleep_in_poll(pid),
        );
        let bytes = cypress::render(&tail, Style::ALL);
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(sb.log(&build))
            .unwrap();
        let t0 = Instant::now();
        f.write_all(&bytes).unwrap();
        drop(f);
        let got = hook.wait_for(i + 1, Duration::from_secs(20));
        v.push(got[i].at.saturating_duration_since(t0));
        let code = w.code();
        assert_eq!(code, 0, "{}", w.stderr());
    }
    v.sort();
    Latency { sorted: v }
}

/// Watchers on quiet RUNNING logs; returns (ticks, seconds) once `secs` have passed.
struct Idle {
    _sb: Sandbox,
    _hook: FakeMattermost,
    watchers: Vec<(support::Watcher, u64)>,
    since: Instant,
}

fn idle_start(bin: &Path) -> Idle {
    let mut sb = Sandbox::new("bench-idle");
    sb.bin = bin.to_path_buf();
    let hook = FakeMattermost::start();
    let mut watchers = Vec::new();
    for (build, poll) in [("idle-inotify", false), ("idle-poll", true)] {
        let (head, _) = run_without_footer(build);
        sb.append_lines(build, &head[..head.len() / 2], Style::ALL);
        let mut cmd = sb.cmd(Some(&hook.url()));
        if poll {
            cmd.env("ATVM_WATCHER_FORCE_POLL", "1");
        }
        let child = cmd
            .args(["--build-name", build])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let w = support::Watcher {
            child,
            stdout: sb.root.join("idle.out"),
            stderr: sb.root.join("idle.err"),
        };
        sb.wait_status(build, "RUNNING");
        let pid = w.child.id();
        wait_until(
            "the idle watcher to settle",
            Duration::from_secs(20),
            || asleep_in_poll(pid),
        );
        watchers.push((w, 0));
    }
    // The deferred save (at most one second after the last change) is part of starting.
    std::thread::sleep(Duration::from_millis(1500));
    for (w, t) in &mut watchers {
        *t = cpu_ticks(w.child.id());
    }
    Idle {
        _sb: sb,
        _hook: hook,
        watchers,
        since: Instant::now(),
    }
}

fn idle_finish(idle: Idle, secs: u64) -> (Vec<u64>, Duration) {
    let left = Duration::from_secs(secs).saturating_sub(idle.since.elapsed());
    if !left.is_zero() {
        note(&format!(
            "waiting {:.0} s more for the idle measurement",
            left.as_secs_f64()
        ));
        std::thread::sleep(left);
    }
    let took = idle.since.elapsed();
    let ticks = idle
        .watchers
        .iter()
        .map(|(w, t0)| cpu_ticks(w.child.id()) - t0)
        .collect();
    (ticks, took)
}

/// Deterministic pseudo-random numbers for the generated log.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const GEN_VERSION: u32 = 2;
/// Colour forced, as Cypress prints under CI; LF line ends, no timestamps.
const COLOUR: Style = Style {
    colour: true,
    crlf: false,
    timestamps: false,
};
const SPECS: usize = 2048;

/// A finished Cypress run of `SPECS` specs, in colour, about `bytes` long: mostly mocha
/// lines (passing, failing with stack traces, cy.task output, VM states that mention
/// `Running`), boxes with colour codes, the `(Run Finished)` table and its footer.
struct Out {
    w: BufWriter<File>,
    written: u64,
}

impl Out {
    fn put(&mut self, lines: &[String]) -> std::io::Result<()> {
        let b = cypress::render(lines, COLOUR);
        self.written += b.len() as u64;
        self.w.write_all(&b)
    }
}

fn generate(path: &Path, bytes: u64) -> std::io::Result<u64> {
    let mut out = Out {
        w: BufWriter::with_capacity(1 << 20, File::create(path)?),
        written: 0,
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let vms = [
        "rhel9-web-01",
        "win2022-sql-02",
        "ubuntu22-app-03",
        "sles15-db-04",
        "win2019-dc-05",
    ];
    let specs: Vec<Spec> = (0..SPECS)
        .map(|i| {
            let name = format!(
                "atvm/migrate/{}_{i:04}.cy.js",
                ["linux_vm", "windows_server", "appliance_ova", "rollback"][i % 4]
            );
            if i % 97 == 5 {
                Spec::failed(&name, 40, 1)
            } else {
                Spec::passed(&name, 40)
            }
        })
        .collect();
    let mut head = cypress::atvm_preamble("bench-catchup");
    head.extend(cypress::run_starting(&specs[..12]));
    out.put(&head)?;
    // The (Run Finished) table at the end takes about 3 MiB (colour codes on every box line).
    let base = out.written;
    let per_spec = bytes.saturating_sub(base + (3 << 20)) / SPECS as u64;
    for (i, spec) in specs.iter().enumerate() {
        let start = Spec {
            passing: 0,
            failing: 0,
            ..spec.clone()
        };
        out.put(&cypress::spec_start(&start, i + 1, SPECS))?;
        let goal = base + (i as u64 + 1) * per_spec;
        let mut t = 0u64;
        let mut failures = Vec::new();
        let mut block = Vec::with_capacity(64);
        while out.written < goal {
            block.clear();
            let vm = vms[rng.below(vms.len() as u64) as usize];
            block.push(format!("    Migration of {vm} (batch {t})"));
            for _ in 0..8 {
                t += 1;
                let ms = 200 + rng.below(60_000);
                match rng.below(40) {
                    0 => {
                        failures.push(t);
                        block.push(format!(
                            "      {}) verifies the disk checksums of {vm}",
                            failures.len()
                        ));
                    }
                    1..=3 => block.push(format!(
                        "      ✓ waits until {vm} is Running on the target cluster ({ms}ms)"
                    )),
                    4..=9 => block.push(format!(
                        "[atvm] cy.task: GET /api/v1/plans/plan-{t}/status -> 200 Succeeded ({}ms)",
                        ms % 900
                    )),
                    _ => block.push(format!(
                        "      ✓ migrates workload {t} of {vm} with {} disks ({ms}ms)",
                        1 + rng.below(6)
                    )),
                }
            }
            out.put(&block)?;
        }
        let mut tail = vec![String::new()];
        for (k, f) in failures.iter().take(20).enumerate() {
            tail.push(format!("  {}) Migration", k + 1));
            tail.push(format!("       verifies the disk checksums (test {f}):"));
            tail.push(
                "     AssertionError: Timed out retrying after 4000ms: expected '<div.status>' to contain 'Succeeded'"
                    .into(),
            );
            tail.push(format!(
                "      at Context.eval (webpack:///./cypress/e2e/{}:{}:18)",
                spec.name,
                40 + k
            ));
        }
        tail.extend(cypress::spec_results(spec));
        out.put(&tail)?;
    }
    out.put(&cypress::run_finished(&specs, "71:40:12"))?;
    out.w.flush()?;
    Ok(out.written)
}

/// A log generated once into target/bench/ as `<name>.log`; `<name>.done` holds what
/// `make` returned (its size, and for the dense log its number of progress lines).
fn cached_log(
    name: &str,
    make: impl FnOnce(&Path) -> std::io::Result<String>,
) -> (PathBuf, String) {
    let dir = Path::new(MANIFEST).join("target/bench");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.log"));
    let stamp = path.with_extension("done");
    if !stamp.exists() {
        note(&format!("generating {} (once)", path.display()));
        let t = Instant::now();
        let what = make(&path).unwrap();
        fs::write(&stamp, &what).unwrap();
        note(&format!(
            "generated {what} in {:.1} s",
            t.elapsed().as_secs_f64()
        ));
    }
    let what = fs::read_to_string(&stamp).unwrap();
    (path, what)
}

/// The 1 GiB log.
fn catchup_log(mib: u64) -> PathBuf {
    cached_log(&format!("catchup-{mib}MiB-v{GEN_VERSION}"), |p| {
        generate(p, mib << 20).map(|n| format!("{n} bytes"))
    })
    .0
}

const DENSE_VERSION: u32 = 1;

/// The dense log (a `Running:` line every ~2 KiB, ending FAILED) and its number of progress
/// lines.
fn dense_log(mib: u64) -> (PathBuf, u64) {
    let (path, what) = cached_log(&format!("dense-{mib}MiB-v{DENSE_VERSION}"), |p| {
        support::dense::write_dense_log(p, mib << 20, true)
            .map(|d| format!("{} bytes, {} progress lines", d.bytes, d.progress_lines))
    });
    let events = what
        .split(", ")
        .nth(1)
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    (path, events)
}

struct Catchup {
    size: u64,
    watcher: Duration,
    grep: Duration,
    wc: Duration,
    grep_count: String,
    peak_rss_kib: u64,
    rss_floor_kib: u64,
    cpu: Duration,
}

fn timed(cmd: &mut Command) -> (Duration, String) {
    let t = Instant::now();
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let d = t.elapsed();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (d, String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// One run of `sb`'s binary with `args`, started by the spawner (`--spawn`), so that its
/// peak RSS is its own.
struct Spawned {
    code: i64,
    wall: Duration,
    cpu: Duration,
    maxrss_kib: u64,
    floor_kib: u64,
}

fn spawned(sb: &Sandbox, hook: Option<&str>, args: &[&str]) -> Spawned {
    let env = sb.cmd(hook);
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env_clear();
    for (k, v) in env.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let out = cmd
        .arg("--spawn")
        .arg(&sb.bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let f: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(
        f.len(),
        5,
        "spawner: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Spawned {
        code: f[0],
        wall: Duration::from_nanos(f[1] as u64),
        cpu: Duration::from_nanos(f[2] as u64),
        maxrss_kib: f[3] as u64,
        floor_kib: f[4] as u64,
    }
}

fn catchup(bin: &Path, log: &Path, reps: usize) -> Catchup {
    let size = fs::metadata(log).unwrap().len();
    let mut sb = Sandbox::new("bench-catchup");
    sb.bin = bin.to_path_buf();
    let hook = FakeMattermost::start();
    let mut grep = Command::new("grep");
    grep.env("LC_ALL", "C").args(["-F", "-c"]);
    for a in atvm_run_watcher::testing::default_anchors() {
        grep.arg("-e").arg(a);
    }
    grep.arg(log);
    let mut wc = Command::new("wc");
    wc.env("LC_ALL", "C").arg("-l").arg(log);
    // Warm the page cache.
    timed(&mut wc);
    timed(&mut grep);
    let (mut tw, mut tg, mut tc) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rss, mut cpu, mut floor) = (0u64, Vec::new(), 0u64);
    let mut grep_count = String::new();
    for r in 0..reps {
        let build = format!("catchup-{r}");
        let log = log.to_string_lossy();
        let run = spawned(
            &sb,
            Some(&hook.url()),
            &["--build-name", &build, "--log-file", &log],
        );
        floor = floor.max(run.floor_kib);
        assert_eq!(run.code, 0, "catch-up watcher exit code (-1 when killed)");
        tw.push(run.wall);
        cpu.push(run.cpu);
        rss = rss.max(run.maxrss_kib);
        let st = sb.state(&build);
        assert_eq!(st["status"], "FAILED", "{st}");
        assert_eq!(st["log_position"]["offset"], size, "read to the end");
        // Each catch-up over an empty state root: what the history costs is measured on
        // its own (a year of nightlies), not by these 2,048-spec builds piling up.
        fs::remove_dir_all(sb.build_dir(&build)).unwrap();
        let (d, out) = timed(&mut grep);
        tg.push(d);
        grep_count = out;
        tc.push(timed(&mut wc).0);
    }
    assert_eq!(hook.delivered().len(), reps, "one post per catch-up");
    Catchup {
        size,
        watcher: median(&mut tw),
        grep: median(&mut tg),
        wc: median(&mut tc),
        grep_count,
        peak_rss_kib: rss,
        rss_floor_kib: floor,
        cpu: median(&mut cpu),
    }
}

fn help_startup(bin: &Path, n: usize) -> Duration {
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let st = Command::new(bin)
                .arg("--help")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
            t.elapsed()
        })
        .collect();
    median(&mut v)
}

/// `status` and `history --spec` over a state root: medians of `reps` runs, peak RSS.
struct Reading {
    status: Duration,
    status_json: Duration,
    history: Duration,
    history_test: Duration,
    rss_kib: u64,
    /// A watch's, posting under that root.
    watch_rss_kib: u64,
}

fn readings(bin: &Path, year: bool, reps: usize) -> (Reading, u64, usize) {
    let mut sb = Sandbox::new(if year { "bench-year" } else { "bench-empty" });
    sb.bin = bin.to_path_buf();
    let bytes = if year {
        nightlies::write_year(&sb.state_root, nightlies::NIGHTS).unwrap()
    } else {
        0
    };
    let builds = fs::read_dir(&sb.state_root).unwrap().count();
    let (spec, test) = nightlies::CHRONIC;
    let commands: [&[&str]; 4] = [
        &["status"],
        &["status", "--json"],
        &["history", "--spec", spec],
        &["history", "--spec", spec, "--test", test, "--json"],
    ];
    // A binary from before `history` (ATVM_BENCH_BIN, for side-by-side figures) has none.
    let has_history = Command::new(bin)
        .args(["history", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut rss = 0;
    let medians = commands.map(|args| {
        if args[0] == "history" && !has_history {
            return Duration::ZERO;
        }
        let mut walls: Vec<Duration> = (0..reps)
            .map(|_| {
                let run = spawned(&sb, None, args);
                assert_eq!(run.code, 0, "{args:?}");
                rss = rss.max(run.maxrss_kib);
                run.wall
            })
            .collect();
        median(&mut walls)
    });
    let [status, status_json, history, history_test] = medians;
    // A watch that reads the history for its post (a dry run prints the post it would make).
    sb.append_lines("bench-watch", &support::failed_run(), Style::ALL);
    let run = spawned(&sb, None, &["--build-name", "bench-watch", "--dry-run"]);
    assert_eq!(run.code, 0, "the watch over the state root");
    let r = Reading {
        status,
        status_json,
        history,
        history_test,
        rss_kib: rss,
        watch_rss_kib: run.maxrss_kib,
    };
    (r, bytes, builds)
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn mark(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// In-process scan of a file with the library's Scanner (profiling aid).
fn scan_only(path: &str) {
    for _ in 0..3 {
        let t = Instant::now();
        let (n, events) = atvm_run_watcher::testing::scan(&File::open(path).unwrap()).unwrap();
        let d = t.elapsed();
        println!(
            "scan-only: {n} bytes, {events} events, {:.3} s, {:.0} MB/s",
            d.as_secs_f64(),
            mbps(n, d)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "--spawn") {
        spawner(&args[2..]);
    }
    if let Ok(p) = std::env::var("ATVM_BENCH_SCAN") {
        return scan_only(&p);
    }
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let bin = release::release_binary("bench");
    let idle_secs = env_num("ATVM_BENCH_IDLE_SECS", 60);
    let runs = env_num("ATVM_BENCH_RUNS", 30) as usize;
    let mib = env_num("ATVM_BENCH_CATCHUP_MIB", 1024);
    let dense_mib = env_num("ATVM_BENCH_DENSE_MIB", 256);

    let log = catchup_log(mib);
    let (dense, dense_events) = dense_log(dense_mib);
    note(&format!(
        "idle watchers started; measuring for {idle_secs} s meanwhile"
    ));
    let idle = idle_start(&bin);
    note("detection latency, inotify");
    let lat_ino = latency(&bin, false, runs, false);
    note("detection latency, inotify, a year of nightlies under the state root");
    let lat_year = latency(&bin, false, runs, true);
    note("detection latency, forced polling");
    let lat_poll = latency(&bin, true, runs, false);
    note("status and history, empty state root and a year of nightlies");
    let (empty, _, _) = readings(&bin, false, 5);
    let (year, year_bytes, year_builds) = readings(&bin, true, 5);
    note("--help start-up");
    let help = help_startup(&bin, 50);
    note("catch-up");
    let cu = catchup(&bin, &log, 5);
    note("catch-up, dense log");
    let dn = catchup(&bin, &dense, 5);
    let (ticks, idle_took) = idle_finish(idle, idle_secs);
    let size = fs::metadata(&bin).unwrap().len();

    let w_mbps = mbps(cu.size, cu.watcher);
    let g_mbps = mbps(cu.size, cu.grep);
    let c_mbps = mbps(cu.size, cu.wc);
    let p50 = percentile(&lat_ino.sorted, 50);
    let max = *lat_ino.sorted.last().unwrap();
    let catch_ok = w_mbps >= 2.0 * g_mbps && w_mbps >= 1000.0 && w_mbps * 3.0 >= c_mbps;
    let uname = Command::new("uname")
        .arg("-r")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rows: Vec<[String; 3]> = vec![
        [
            format!("detection latency, inotify ({runs} runs)"),
            lat_ino.cell(),
            format!(
                "p50 ≤ 20 ms, max ≤ 100 ms: {}",
                mark(p50 <= Duration::from_millis(20) && max <= Duration::from_millis(100))
            ),
        ],
        [
            format!(
                "detection latency, inotify, {year_builds} nightlies ({:.1} MB) under the state root ({runs} runs)",
                year_bytes as f64 / 1e6
            ),
            lat_year.cell(),
            format!(
                "p50 within 20 ms of the empty root's: {}",
                mark(percentile(&lat_year.sorted, 50) <= p50 + Duration::from_millis(20))
            ),
        ],
        [
            "`status` / `status --json`: empty root · the year (median of 5)".into(),
            format!(
                "{} / {} · {} / {}",
                ms(empty.status),
                ms(empty.status_json),
                ms(year.status),
                ms(year.status_json)
            ),
            format!(
                "< 1 s: {}",
                mark(year.status.max(year.status_json) < Duration::from_secs(1))
            ),
        ],
        [
            "`history --spec` / `--test --json`: empty root · the year (median of 5)".into(),
            format!(
                "{} / {} · {} / {}",
                ms(empty.history),
                ms(empty.history_test),
                ms(year.history),
                ms(year.history_test)
            ),
            format!(
                "< 200 ms: {}",
                mark(year.history.max(year.history_test) < Duration::from_millis(200))
            ),
        ],
        [
            "peak RSS of `status` and `history`: empty root · the year".into(),
            format!(
                "{:.2} MiB · {:.2} MiB",
                empty.rss_kib as f64 / 1024.0,
                year.rss_kib as f64 / 1024.0
            ),
            format!("≤ 16 MiB: {}", mark(year.rss_kib <= 16 << 10)),
        ],
        [
            "peak RSS of a watch whose post reads the history: empty root · the year".into(),
            format!(
                "{:.2} MiB · {:.2} MiB",
                empty.watch_rss_kib as f64 / 1024.0,
                year.watch_rss_kib as f64 / 1024.0
            ),
            format!("≤ 8 MiB: {}", mark(year.watch_rss_kib <= 8 << 10)),
        ],
        [
            format!("detection latency, forced polling every 500 ms ({runs} runs)"),
            lat_poll.cell(),
            "reported".into(),
        ],
        [
            format!("idle CPU, inotify ({:.0} s)", idle_took.as_secs_f64()),
            format!("{} ticks", ticks[0]),
            format!("0: {}", mark(ticks[0] == 0)),
        ],
        [
            format!(
                "idle CPU, forced polling ({:.0} s)",
                idle_took.as_secs_f64()
            ),
            format!("{} ticks", ticks[1]),
            "reported".into(),
        ],
        [
            format!(
                "catch-up {:.2} GiB → post: atvm-run-watcher",
                cu.size as f64 / (1u64 << 30) as f64
            ),
            format!(
                "{:.3} s · {:.0} MB/s (CPU {:.3} s)",
                cu.watcher.as_secs_f64(),
                w_mbps,
                cu.cpu.as_secs_f64()
            ),
            format!(
                "≥ 2× grep, ≥ 1000 MB/s, within 3× of wc -l: {} ({:.1}× grep, {:.2}× wc -l)",
                mark(catch_ok),
                w_mbps / g_mbps,
                c_mbps / w_mbps
            ),
        ],
        [
            format!(
                "catch-up: LC_ALL=C grep -F -c ({} anchor strings)",
                atvm_run_watcher::testing::default_anchors().len()
            ),
            format!(
                "{:.3} s · {:.0} MB/s ({} lines)",
                cu.grep.as_secs_f64(),
                g_mbps,
                cu.grep_count
            ),
            "baseline".into(),
        ],
        [
            "catch-up: wc -l".into(),
            format!("{:.3} s · {:.0} MB/s", cu.wc.as_secs_f64(), c_mbps),
            "ceiling".into(),
        ],
        [
            "peak RSS during catch-up (ru_maxrss)".into(),
            format!(
                "{:.2} MiB (spawner floor {:.2} MiB)",
                cu.peak_rss_kib as f64 / 1024.0,
                cu.rss_floor_kib as f64 / 1024.0
            ),
            format!("≤ 4 MiB: {}", mark(cu.peak_rss_kib <= 4096)),
        ],
        [
            format!(
                "catch-up, dense log {:.0} MiB ({dense_events} `Running:` lines) → post",
                dn.size as f64 / (1u64 << 20) as f64
            ),
            format!(
                "{:.3} s · {:.0} MB/s (CPU {:.3} s)",
                dn.watcher.as_secs_f64(),
                mbps(dn.size, dn.watcher),
                dn.cpu.as_secs_f64()
            ),
            format!(
                "reported ({:.1}× grep {:.3} s, wc -l {:.3} s)",
                mbps(dn.size, dn.watcher) / mbps(dn.size, dn.grep),
                dn.grep.as_secs_f64(),
                dn.wc.as_secs_f64()
            ),
        ],
        [
            "peak RSS during the dense catch-up (ru_maxrss)".into(),
            format!(
                "{:.2} MiB (spawner floor {:.2} MiB)",
                dn.peak_rss_kib as f64 / 1024.0,
                dn.rss_floor_kib as f64 / 1024.0
            ),
            format!("≤ 4 MiB: {}", mark(dn.peak_rss_kib <= 4096)),
        ],
        [
            "static binary size".into(),
            format!(
                "{:.2} MiB ({size} bytes)",
                size as f64 / (1u64 << 20) as f64
            ),
            // 3 MiB until the failure digest, the history look-up and the env-file grammar
            // (README.md, "Performance").
            format!("≤ 3.5 MiB: {}", mark(size <= 7 << 19)),
        ],
        [
            "`--help` start-up (median of 50)".into(),
            ms(help),
            "reported".into(),
        ],
    ];
    println!();
    println!(
        "atvm-run-watcher bench · {} · {cpus} CPUs · Linux {uname} · medians of 5 for catch-up, page cache warm",
        bin.strip_prefix(MANIFEST).unwrap_or(&bin).display()
    );
    println!();
    println!("| measure | result | goal |");
    println!("|---|---|---|");
    for [a, b, c] in rows {
        println!("| {a} | {b} | {c} |");
    }
}
