//! Small probes of a running process through /proc.

/// A field of /proc/<pid>/status in KiB (`VmHWM:`, `VmRSS:`); 0 if unreadable.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The state letter of /proc/<pid>/stat (`R`, `S`, `T` for stopped, ...).
pub fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Where process `pid` is in its open file `path` (the `pos:` of /proc/<pid>/fdinfo), if
/// it holds the file open.
pub fn read_offset(pid: u32, path: &std::path::Path) -> Option<u64> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    fds.flatten().find_map(|e| {
        if std::fs::read_link(e.path()).ok()? != path {
            return None;
        }
        let fd = e.file_name();
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.to_str()?)).ok()?;
        info.lines()
            .find_map(|l| l.strip_prefix("pos:"))?
            .trim()
            .parse()
            .ok()
    })
}
