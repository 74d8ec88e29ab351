//! Many watchers at once with the inotify instance budget nearly used up (the CI-sized
//! version of `make scale`): this test holds inotify instances itself until only a few are
//! left for the user, then starts 40 watchers. Every build must post exactly once; at
//! least one watcher must have got inotify, and at least one must have fallen back to
//! polling and said why. In the robustness binary, alone, because it briefly takes the
//! user's inotify instances (cargo runs test binaries one after another, and this binary
//! runs its tests one at a time, so no other test starves).

use crate::fleet::{self, Mode};
use crate::support::{FakeMattermost, Sandbox};
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

const WATCHERS: usize = 40;
/// Instances left free for the watchers.
const LEAVE: usize = 6;

/// Inotify instances held by this process; closed on drop (also when the test panics).
struct Held(#[allow(dead_code)] Vec<OwnedFd>);

/// Raises the soft open-file limit to the hard one: the limit that must be hit is the
/// per-user instance count, not this process's file descriptors.
fn raise_nofile() -> u64 {
    // SAFETY: get/setrlimit on this process with a valid struct.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut l), 0);
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        l.rlim_cur
    }
}

fn hold_all_but(leave: usize) -> Held {
    let nofile = raise_nofile();
    let max: u64 = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_instances")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        max + 64 < nofile,
        "fs.inotify.max_user_instances ({max}) is above what this process may open ({nofile}); \
         lower it for this test or raise RLIMIT_NOFILE"
    );
    let mut held = Vec::new();
    loop {
        // SAFETY: inotify_init1 returns a new descriptor we own, or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            assert_eq!(
                e.raw_os_error(),
                Some(libc::EMFILE),
                "inotify_init1 failed other than by the instance limit: {e}"
            );
            break;
        }
        // SAFETY: fd is a fresh descriptor owned by nobody else.
        held.push(unsafe { OwnedFd::from_raw_fd(fd) });
        assert!(held.len() as u64 <= max, "the instance limit was never hit");
    }
    let free = leave.min(held.len());
    held.truncate(held.len() - free);
    Held(held)
}

#[test]
fn watchers_past_the_inotify_instance_limit_each_post_once() {
    let _alone = crate::one_at_a_time();
    let held = hold_all_but(LEAVE);
    let sb = Sandbox::new("scale");
    let hook = FakeMattermost::start();
    let r = fleet::run(&sb, &hook, WATCHERS, Duration::from_secs(120));
    drop(held);
    let (ino, no_instance, other) = (
        r.count(Mode::Inotify),
        r.count(Mode::PollingNoInstance),
        r.count(Mode::PollingOther),
    );
    eprintln!(
        "{WATCHERS} watchers: {ino} on inotify, {no_instance} polling (no instance left), {other} polling (other); \
         total PSS {} KiB; all following after {:?}, all done {:?} later",
        r.pss_kib, r.startup, r.finish
    );
    assert_eq!(r.bad_builds(), Vec::<String>::new(), "odd: {:?}", r.odd);
    assert_eq!(hook.delivered().len(), WATCHERS, "one post per build");
    assert!(ino >= 1, "no watcher got inotify: {:?}", r.odd);
    assert!(
        no_instance >= 1,
        "no watcher fell back to polling for want of an instance"
    );
    assert_eq!(other, 0, "{:?}", r.odd);
}
