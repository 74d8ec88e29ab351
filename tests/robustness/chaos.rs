//! Chaos: 200 runs (`ATVM_CHAOS_RUNS`), each watched by a watcher that is SIGKILLed at
//! random moments and started again (as systemd would, also after exit 3), while the fake
//! webhook drops connections or answers 5xx at random. Kills land at random times (reading,
//! saving, retrying), exactly when the webhook has received a request (before it answers),
//! and right after it answered.
//!
//! Counted per run and post: posts = requests answered `200 ok` (Mattermost has made the
//! post by then, whether or not the answer reaches the watcher). Lost: a COMPLETED or
//! FAILED (sub-)run without a post — must be 0. Duplicates are allowed only in the
//! documented at-least-once window (README.md, "Delivery"): a watcher that died after a
//! request of it was answered `ok` and before that post's `posted.marker` was on disk. Each
//! incarnation gets its own fake webhook, so every request is attributed to the process
//! that sent it without guessing. The seed is printed; `ATVM_CHAOS_SEED` replays the
//! choices (timing still varies).

use crate::support::mattermost::{Interceptor, Received};
use crate::support::{Answer, FakeMattermost, Sandbox, Spec, Style, cypress};
use atvm_run_watcher::testing::Rng;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PARALLEL: usize = 8;
/// Kills per run at most; after that the watcher is left to finish.
const MAX_KILLS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Live,
    /// SIGKILL after this many milliseconds.
    After(u64),
    /// SIGKILL when the webhook has received a request, before it answers.
    AtRequest,
    /// SIGKILL right after the webhook answered.
    AfterAnswer,
}

/// One watcher process and its own fake webhook.
struct Incarnation {
    /// The child while it has not been reaped (the lock orders kills against reaping, so a
    /// kill never reaches a recycled pid).
    child: Mutex<Option<Child>>,
    fate: Fate,
    killed: AtomicUsize,
    rng: Mutex<Rng>,
    hook: FakeMattermost,
}

impl Incarnation {
    fn kill(&self) {
        let g = self.child.lock().unwrap();
        if let Some(c) = g.as_ref()
            && self.killed.fetch_add(1, Ordering::SeqCst) == 0
        {
            // SAFETY: signalling our own unreaped child.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGKILL);
            }
        }
    }
}

struct Hooked(Arc<Incarnation>);

impl Interceptor for Hooked {
    fn choose(&self, _r: &Received) -> Option<Answer> {
        let mut rng = self.0.rng.lock().unwrap();
        Some(match rng.below(20) {
            0..=2 => Answer::Drop,
            3..=5 => Answer::ServerError([500, 502, 503, 504][rng.below(4) as usize]),
            _ => Answer::Ok,
        })
    }
    fn before_answer(&self, _r: &Received) {
        if self.0.fate == Fate::AtRequest {
            self.0.kill();
        }
    }
    fn after_answer(&self, _r: &Received) {
        if self.0.fate == Fate::AfterAnswer {
            self.0.kill();
        }
    }
}

/// What a run's log says and which posts it must lead to (heading → posted.marker path).
/// Headings as posted (build and group names in code spans): hundreds of runs are
/// counted here, not rendered; the digest tests check what Mattermost shows.
struct Plan {
    categorize: bool,
    head: Vec<String>,
    rest: Vec<String>,
    /// Write `rest` only after the first watcher started.
    late: bool,
    posts: BTreeMap<String, PathBuf>,
    status: &'static str,
}

fn plan(sb: &Sandbox, build: &str, rng: &mut Rng) -> Plan {
    let dir = sb.build_dir(build);
    let mut posts = BTreeMap::new();
    let kind = rng.below(8);
    let mut lines = cypress::atvm_preamble(build);
    let (categorize, status) = match kind {
        0..=2 => {
            lines.extend(cypress::run(&[
                Spec::passed("login.cy.js", 2),
                Spec::passed("migrate/linux.cy.js", 3),
            ]));
            posts.insert(
                format!("#### :white_check_mark: ATVM run COMPLETED · `{build}`"),
                dir.join("posted.marker"),
            );
            (false, "COMPLETED")
        }
        3..=4 => {
            lines.extend(cypress::run(&[
                Spec::passed("login.cy.js", 2),
                Spec::failed("migrate/windows.cy.js", 3, 1),
            ]));
            posts.insert(
                format!("#### :x: ATVM run FAILED · `{build}`"),
                dir.join("posted.marker"),
            );
            (false, "FAILED")
        }
        5 => {
            let s = Spec::passed("a.cy.js", 1);
            lines.extend(cypress::run_starting(std::slice::from_ref(&s)));
            lines.extend(cypress::spec_start(&s, 1, 1));
            lines.push("Killed".into());
            (false, "TERMINATED")
        }
        _ => {
            lines.push("ATVM_GROUPS: linux,windows".into());
            for (i, (g, spec)) in [
                ("linux", Spec::passed("linux/rhel9.cy.js", 2)),
                ("windows", Spec::failed("windows/2022.cy.js", 2, 1)),
            ]
            .into_iter()
            .enumerate()
            {
                lines.push(format!("ATVM_GROUP_START: {g}"));
                lines.extend(cypress::run(std::slice::from_ref(&spec)));
                let (icon, st) = if spec.failing > 0 {
                    (":x:", "FAILED")
                } else {
                    (":white_check_mark:", "COMPLETED")
                };
                posts.insert(
                    format!(
                        "#### {icon} ATVM run {st} · `{build}` · group {} of 2: `{g}`",
                        i + 1
                    ),
                    dir.join(format!("subruns/{:02}-{g}/posted.marker", i + 1)),
                );
            }
            lines.push("ATVM_RUN_END: FAILED".into());
            (true, "FAILED")
        }
    };
    let cut = 4 + rng.below(lines.len() as u64 - 4) as usize;
    let rest = lines.split_off(cut);
    Plan {
        categorize,
        head: lines,
        rest,
        late: rng.below(2) == 0,
        posts,
        status,
    }
}

#[derive(Debug, Default)]
struct RunReport {
    incarnations: usize,
    kills: usize,
    posts: usize,
    lost: usize,
    duplicates: usize,
    window_deaths: usize,
    /// Temp files of an atomic write that a kill interrupted (harmless, never read).
    stale_temps: usize,
    errors: Vec<String>,
}

fn heading(r: &Received) -> String {
    r.text().lines().next().unwrap_or("").to_string()
}

fn one_run(sb: &Sandbox, i: usize, seed: u64) -> RunReport {
    let mut rng = Rng(seed ^ (i as u64).wrapping_mul(0xa076_1d64_78bd_642f));
    let build = format!("chaos-{i:03}");
    let p = plan(sb, &build, &mut rng);
    let mut rep = RunReport::default();
    sb.append_lines(&build, &p.head, Style::ALL);
    if !p.late {
        sb.append_lines(&build, &p.rest, Style::ALL);
    }
    let mut pending_rest = p.late;
    // (incarnation, markers that existed once it was dead)
    let mut dead: Vec<(Arc<Incarnation>, BTreeMap<String, bool>)> = Vec::new();
    let mut args = vec!["--build-name", build.as_str()];
    if p.categorize {
        args.push("--categorize");
    }
    loop {
        if rep.incarnations > 40 {
            rep.errors.push(format!("{build}: no end after 40 starts"));
            break;
        }
        let fate = if rep.kills >= MAX_KILLS {
            Fate::Live
        } else {
            match rng.below(10) {
                0..=2 => Fate::After(rng.below(60)),
                3..=4 => Fate::AtRequest,
                5..=6 => Fate::AfterAnswer,
                _ => Fate::Live,
            }
        };
        rep.incarnations += 1;
        let hook = FakeMattermost::start();
        let stderr = sb.root.join(format!("{build}.{}.err", rep.incarnations));
        let inc = Arc::new(Incarnation {
            child: Mutex::new(None),
            fate,
            killed: AtomicUsize::new(0),
            rng: Mutex::new(Rng(rng.next_u64())),
            hook: hook.clone(),
        });
        hook.set_interceptor(Arc::new(Hooked(inc.clone())));
        {
            let mut g = inc.child.lock().unwrap();
            *g = Some(
                sb.cmd(Some(&hook.url()))
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(std::fs::File::create(&stderr).unwrap())
                    .spawn()
                    .unwrap(),
            );
        }
        let started = Instant::now();
        if pending_rest {
            std::thread::sleep(Duration::from_millis(rng.below(30)));
            sb.append_lines(&build, &p.rest, Style::ALL);
            pending_rest = false;
        }
        let code = loop {
            if let Fate::After(ms) = fate
                && started.elapsed() >= Duration::from_millis(ms)
            {
                inc.kill();
            }
            {
                let mut g = inc.child.lock().unwrap();
                let st = g.as_mut().unwrap().try_wait().unwrap();
                if let Some(st) = st {
                    *g = None;
                    break st.code();
                }
            }
            if started.elapsed() > Duration::from_secs(60) {
                inc.kill();
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let killed = inc.killed.load(Ordering::SeqCst) > 0;
        let markers = p
            .posts
            .iter()
            .map(|(h, m)| (h.clone(), m.exists()))
            .collect();
        dead.push((inc.clone(), markers));
        if killed {
            rep.kills += 1;
            continue;
        }
        match code {
            Some(0) => break,
            // A post failed for good: systemd's Restart=on-failure starts it again.
            Some(3) => continue,
            other => {
                let err = std::fs::read_to_string(&stderr).unwrap_or_default();
                rep.errors.push(format!("{build}: exit {other:?}: {err}"));
                break;
            }
        }
    }
    // Count every post of every incarnation; late requests of a killed one are waited for.
    let mut posts: BTreeMap<String, usize> = BTreeMap::new();
    let mut allowed: BTreeMap<String, usize> = BTreeMap::new();
    for (inc, markers) in &dead {
        inc.hook.wait_idle(Duration::from_secs(20));
        let mut ok_here: BTreeMap<String, usize> = BTreeMap::new();
        for r in inc.hook.delivered() {
            let h = heading(&r);
            if !p.posts.contains_key(&h) {
                rep.errors.push(format!("{build}: unexpected post {h:?}"));
            }
            *ok_here.entry(h).or_default() += 1;
        }
        let died = inc.killed.load(Ordering::SeqCst) > 0;
        for (h, n) in ok_here {
            *posts.entry(h.clone()).or_default() += n;
            // The documented window: answered ok, then killed before its marker existed.
            if died && !markers.get(&h).copied().unwrap_or(true) {
                *allowed.entry(h).or_default() += 1;
                rep.window_deaths += 1;
            }
        }
    }
    let st = sb.try_state(&build);
    let status = st.as_ref().map(|s| s["status"].clone());
    if status.as_ref().and_then(|s| s.as_str()) != Some(p.status) {
        rep.errors
            .push(format!("{build}: ended {status:?}, expected {}", p.status));
    }
    for (h, marker) in &p.posts {
        let n = posts.get(h).copied().unwrap_or(0);
        rep.posts += n;
        if n == 0 {
            rep.lost += 1;
            rep.errors.push(format!("{build}: LOST {h:?}"));
        }
        if !marker.exists() {
            rep.errors
                .push(format!("{build}: no {} after the end", marker.display()));
        }
        let extra = n.saturating_sub(1);
        rep.duplicates += extra;
        let ok_extra = allowed.get(h).copied().unwrap_or(0);
        if extra > ok_extra {
            rep.errors.push(format!(
                "{build}: {n} posts of {h:?}, but only {ok_extra} death(s) in the at-least-once window"
            ));
        }
    }
    if p.posts.is_empty() && !posts.is_empty() {
        rep.errors.push(format!(
            "{build}: {} post(s) for an unposted ending",
            posts.len()
        ));
    }
    rep.stale_temps = std::fs::read_dir(sb.build_dir(&build))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
                .count()
        })
        .unwrap_or(0);
    let corrupt = std::fs::read_dir(sb.build_dir(&build))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
                .count()
        })
        .unwrap_or(0);
    if corrupt > 0 {
        rep.errors.push(format!(
            "{build}: a state.json was found corrupt after a kill"
        ));
    }
    rep
}

#[test]
fn watchers_killed_at_random_never_lose_a_post_and_duplicate_only_in_the_window() {
    let _alone = crate::one_at_a_time();
    let seed = std::env::var("ATVM_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let runs: usize = std::env::var("ATVM_CHAOS_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    eprintln!("chaos: seed {seed} (ATVM_CHAOS_SEED={seed} replays the choices), {runs} runs");
    let mut sb = Sandbox::new("chaos");
    for (k, v) in [
        ("ATVM_WATCHER_RETRY_BASE", "5ms"),
        ("ATVM_WATCHER_RETRY_CAP", "20ms"),
        ("ATVM_WATCHER_RETRY_ATTEMPTS", "8"),
        ("ATVM_WATCHER_RETRY_WINDOW", "10s"),
        ("ATVM_WATCHER_HTTP_TIMEOUT", "5s"),
    ] {
        sb.env.push((k.into(), v.into()));
    }
    let t0 = Instant::now();
    let next = AtomicUsize::new(0);
    let reports: Mutex<Vec<RunReport>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= runs {
                        break;
                    }
                    let r = one_run(&sb, i, seed);
                    reports.lock().unwrap().push(r);
                }
            });
        }
    });
    let reports = reports.into_inner().unwrap();
    let sum = |f: fn(&RunReport) -> usize| reports.iter().map(f).sum::<usize>();
    let errors: Vec<&String> = reports.iter().flat_map(|r| &r.errors).collect();
    eprintln!(
        "chaos: {} runs in {:.1} s: {} watcher starts, {} SIGKILLs, {} posts; lost {}, duplicates {} \
         ({} deaths in the at-least-once window); {} stale temp file(s) left by kills; seed {seed}",
        reports.len(),
        t0.elapsed().as_secs_f64(),
        sum(|r| r.incarnations),
        sum(|r| r.kills),
        sum(|r| r.posts),
        sum(|r| r.lost),
        sum(|r| r.duplicates),
        sum(|r| r.window_deaths),
        sum(|r| r.stale_temps),
    );
    assert_eq!(reports.len(), runs);
    assert!(errors.is_empty(), "seed {seed}: {errors:#?}");
    assert_eq!(sum(|r| r.lost), 0);
    assert!(
        sum(|r| r.kills) >= runs / 2,
        "too few kills to mean anything"
    );
}
