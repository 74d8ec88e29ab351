//! `make scale`: 300 watchers at once (more than the default 128 inotify instances per
//! user), each on its own build and log, with the release musl binary. Every one must reach
//! its end and post exactly once; those that got no inotify instance follow by polling and
//! say so. Prints how many used which, the total PSS and the timings; exits non-zero if a
//! build did not post exactly once. `ATVM_SCALE_WATCHERS` changes the count.
//! Everything it talks to is on 127.0.0.1.

#[allow(dead_code, unused_imports)] // a bench uses only part of the test harness
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../tests/support/fleet.rs"]
mod fleet;
#[path = "../tests/support/release.rs"]
mod release;

use fleet::Mode;
use std::time::Duration;
use support::{FakeMattermost, Sandbox};

fn main() {
    let bin = release::release_binary("scale");
    let n: usize = std::env::var("ATVM_SCALE_WATCHERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    // Room for n children plus their files: the fake webhook takes one socket per post.
    raise_nofile();
    let mut sb = Sandbox::new("scale");
    sb.bin = bin;
    let hook = FakeMattermost::start();
    let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_instances")
        .unwrap_or_default()
        .trim()
        .to_string();
    eprintln!("scale: starting {n} watchers (fs.inotify.max_user_instances = {limit})");
    let r = fleet::run(&sb, &hook, n, Duration::from_secs(300));
    let bad = r.bad_builds();
    println!();
    println!(
        "| {n} watchers at once | on inotify | polling (no inotify instance left) | polling (other) | posted exactly once | total PSS | PSS per watcher | total RSS | all following after | all exited after |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| fs.inotify.max_user_instances = {limit} | {} | {} | {} | {} of {n} | {:.1} MiB | {:.0} KiB | {:.1} MiB | {:.2} s | {:.2} s |",
        r.count(Mode::Inotify),
        r.count(Mode::PollingNoInstance),
        r.count(Mode::PollingOther),
        n - bad.len(),
        r.pss_kib as f64 / 1024.0,
        r.pss_kib as f64 / n as f64,
        r.rss_kib as f64 / 1024.0,
        r.startup.as_secs_f64(),
        r.finish.as_secs_f64(),
    );
    for o in &r.odd {
        println!("note: {o}");
    }
    if !bad.is_empty() {
        eprintln!(
            "scale: {} build(s) did not post exactly once: {bad:?}",
            bad.len()
        );
        std::process::exit(1);
    }
}

fn raise_nofile() {
    // SAFETY: plain get/setrlimit on this process.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}
