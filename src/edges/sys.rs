//! Thin wrappers over the few system calls the program needs: `poll(2)`, the signal
//! self-pipe, `pidfd_open(2)` for `--pid`, `statfs(2)` to spot network file systems, the
//! host name, the effective uid, the machine's boot time, and running `systemctl`.
//! Everything unsafe in the program lives here.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Waits until one of `fds` is readable or `timeout` passes (`None`: forever).
/// Returns, per fd, whether it is readable (or hung up / in error, which also needs a look).
pub fn poll_readable(fds: &[RawFd], timeout: Option<Duration>) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms: libc::c_int = match timeout {
        None => -1,
        // Round up so that a deadline is never woken for too early, which would spin.
        Some(d) => d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int,
    };
    // SAFETY: `pfds` is a valid, exclusively borrowed array of `pfds.len()` pollfd structs.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![false; fds.len()]);
        }
        return Err(e);
    }
    Ok(pfds.iter().map(|p| p.revents != 0).collect())
}

/// SIGTERM and SIGINT, delivered through a self-pipe so that `poll` sees them.
pub struct Signals {
    read: UnixStream,
}

impl Signals {
    pub fn install() -> io::Result<Signals> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        for sig in [libc::SIGTERM, libc::SIGINT] {
            signal_hook::low_level::pipe::register(sig, write.try_clone()?)?;
        }
        Ok(Signals { read })
    }

    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Whether a stop signal arrived since the last call.
    pub fn received(&mut self) -> bool {
        use std::io::Read;
        let mut buf = [0u8; 64];
        let mut got = false;
        loop {
            match self.read.read(&mut buf) {
                Ok(0) => return got,
                Ok(_) => got = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return got,
            }
        }
    }
}

/// The start time of process `pid` (field 22 of /proc/PID/stat), `None` if it does not
/// exist or is a zombie. Together with the pid it identifies one process across pid reuse.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether a process `pid` exists (a zombie counts: it holds its pid): `kill(pid, 0)`
/// succeeds, or fails for want of permission only.
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 checks for the process and sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// When the kernel booted, by the wall clock as it is now: the real-time clock less
/// CLOCK_BOOTTIME, which is how the kernel computes /proc/stat's `btime` (to the
/// nanosecond here, not the second). /proc/stat itself is hidden from the units
/// (`ProcSubset=pid`).
pub fn kernel_boot_time() -> Option<SystemTime> {
    SystemTime::now().checked_sub(clock_boottime()?)
}

fn clock_boottime() -> Option<Duration> {
    // SAFETY: `ts` is a plain C struct, valid all zero, that clock_gettime fills in.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is a valid, exclusively borrowed timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) } != 0 {
        return None;
    }
    Some(Duration::new(
        u64::try_from(ts.tv_sec).ok()?,
        u32::try_from(ts.tv_nsec).ok()?,
    ))
}

/// When this machine booted (contract §7, "After a reboot"): when its PID 1 started, which
/// is the kernel's boot on a machine of its own and the container's boot in a container
/// (whose reboot ends its processes while the kernel runs on), to the clock tick; the
/// kernel's boot when PID 1's start cannot be read.
pub fn boot_time() -> Option<SystemTime> {
    let kernel = kernel_boot_time()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let (Some(ticks), Ok(hz @ 1..)) = (process_start_time(1), u64::try_from(hz)) else {
        return Some(kernel);
    };
    let after =
        Duration::from_secs(ticks / hz) + Duration::from_nanos(ticks % hz * 1_000_000_000 / hz);
    kernel.checked_add(after).or(Some(kernel))
}

/// Watches the run's process (`--pid`).
pub enum PidWatch {
    /// A pidfd: readable once the process has exited.
    Fd(OwnedFd),
    /// No pidfd support: checked on every wake-up and at the polling interval.
    Poll {
        pid: u32,
        start: Option<u64>,
    },
    Gone,
}

impl PidWatch {
    /// `start` is the process's start time when it was first recorded: a different one
    /// means the pid was reused and the run's process is gone.
    pub fn new(pid: u32, start: Option<u64>) -> PidWatch {
        let now = process_start_time(pid);
        if now.is_none() || (start.is_some() && now != start) {
            return PidWatch::Gone;
        }
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd =
            unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_long, 0 as libc::c_long) };
        if fd >= 0 {
            // SAFETY: the kernel just returned this fd to us; nobody else owns it.
            return PidWatch::Fd(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::ESRCH) => PidWatch::Gone,
            _ => PidWatch::Poll { pid, start: now },
        }
    }

    pub fn fd(&self) -> Option<RawFd> {
        match self {
            PidWatch::Fd(fd) => Some(fd.as_raw_fd()),
            _ => None,
        }
    }

    /// Whether the process has exited (non-blocking).
    pub fn exited(&self) -> bool {
        match self {
            PidWatch::Gone => true,
            PidWatch::Fd(fd) => {
                poll_readable(&[fd.as_raw_fd()], Some(Duration::ZERO)).is_ok_and(|r| r[0])
            }
            PidWatch::Poll { pid, start } => {
                let now = process_start_time(*pid);
                now.is_none() || (start.is_some() && now != *start)
            }
        }
    }
}

/// The kind of network or user-space file system `path` is on, where inotify does not see
/// writes made by other machines; `None` for local file systems.
pub fn network_fs(path: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `buf` is a plain C struct that statfs fills in; `c` is a valid C string.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut buf) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)]
    let kind = buf.f_type as i64 as u32;
    Some(match kind {
        0x6969 => "nfs",
        0x517B => "smb",
        0xFF53_4D42 => "cifs",
        0xFE53_4D42 => "smb2",
        0x6573_5546 => "fuse",
        0x0102_1997 => "9p",
        0x00C3_6400 => "ceph",
        0x5346_414F => "afs",
        0x0BD0_0BD0 => "lustre",
        0x0116_1970 => "gfs2",
        _ => return None,
    })
}

/// This machine's host name (for the message), from uname(2): unlike
/// /proc/sys/kernel/hostname it stays readable under the unit's `ProcSubset=pid`.
/// A seed for the retry jitter that differs between processes (time and pid): watchers
/// that retry at once after an outage do not retry in step.
pub fn jitter_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32)
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its whole length; gethostname NUL-terminates within it
    // (a truncated name may lack the NUL, hence the search below).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..len]).trim().to_string();
    if rc != 0 || name.is_empty() {
        "unknown-host".into()
    } else {
        name
    }
}

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Runs `program args...` (systemctl, or the stub the tests give); a failure names the
/// command.
pub fn systemctl(program: &str, args: &[&str]) -> Result<(), String> {
    let shown = args.join(" ");
    let status = std::process::Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("running {program} {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {shown} failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_a_start_time_and_a_pidfd() {
        let me = std::process::id();
        let st = process_start_time(me);
        assert!(st.is_some());
        let w = PidWatch::new(me, st);
        assert!(!w.exited());
        assert!(
            matches!(PidWatch::new(me, st.map(|s| s + 1)), PidWatch::Gone),
            "pid reuse is detected"
        );
    }

    /// /proc/stat's `btime` (seconds, truncated) is the kernel's boot; PID 1 started at it
    /// or after; this process after both.
    #[test]
    fn boot_times_agree_with_proc_stat() {
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        let btime: u64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let secs = |t: SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
        };
        let kernel = kernel_boot_time().unwrap();
        assert!(
            (secs(kernel) - btime as f64).abs() < 2.0,
            "{kernel:?} vs btime {btime}"
        );
        let boot = boot_time().unwrap();
        let me = process_start_time(std::process::id()).unwrap();
        let pid1 = process_start_time(1).unwrap();
        assert!(
            kernel <= boot && pid1 <= me,
            "{kernel:?} {boot:?} {pid1} {me}"
        );
        assert!(boot <= SystemTime::now());
    }

    #[test]
    fn a_live_process_is_told_from_a_gone_one() {
        assert!(process_alive(std::process::id()));
        assert!(process_alive(1));
        let pid_max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(!process_alive(pid_max + 1));
        assert!(!process_alive(0));
        assert!(!process_alive(u32::MAX));
    }

    #[test]
    fn exited_child_is_seen() {
        let mut child = std::process::Command::new("sleep")
            .arg("0.2")
            .spawn()
            .unwrap();
        let w = PidWatch::new(child.id(), None);
        assert!(!w.exited());
        if let Some(fd) = w.fd() {
            let r = poll_readable(&[fd], Some(Duration::from_secs(10))).unwrap();
            assert!(r[0]);
        }
        child.wait().unwrap();
        assert!(w.exited());
    }

    #[test]
    fn hostname_matches_the_kernel() {
        let want = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(hostname(), want.trim());
    }

    #[test]
    fn poll_times_out() {
        let (a, _b) = UnixStream::pair().unwrap();
        let t = std::time::Instant::now();
        let r = poll_readable(&[a.as_raw_fd()], Some(Duration::from_millis(30))).unwrap();
        assert_eq!(r, vec![false]);
        assert!(t.elapsed() >= Duration::from_millis(30));
    }
}
