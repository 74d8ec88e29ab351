//! How a build directory's files are opened, read and written: never through a symbolic
//! link, never blocking (a FIFO), regular files only, bounded reads, and atomic replacement
//! (temp file in the same directory, fsync, rename, fsync of the directory).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens a file of the state root as every one is opened: not through a symbolic link,
/// never blocking (a FIFO), and only a regular file. `opts` says how (read, write,
/// create); anything but a regular file at `path` is `InvalidData`, saying what it is.
pub(crate) fn open_regular(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    let bad = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a regular file ({what})"),
        )
    };
    let file = match opts
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        // O_NOFOLLOW's answer for a link; a directory opened for writing.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(bad("a symbolic link")),
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => return Err(bad("a directory")),
        Err(e) => return Err(e),
    };
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    use std::os::unix::fs::FileTypeExt;
    Err(bad(if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a device"
    }))
}

/// A file of the state root, read safely whatever it has become (`open_regular`), never
/// more than `max` bytes (a huge file). Anything but a regular file of at most `max` bytes
/// is `InvalidData`.
pub(crate) fn read_small(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_regular(path, OpenOptions::new().read(true))?;
    let meta = file.metadata()?;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    if meta.len() > max {
        return Err(bad("larger than a state file can be"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(bad("larger than a state file can be"));
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically and durably.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(temp_name(&name, std::process::id()));
    // A leftover of this name is an earlier process's with this pid (killed meanwhile),
    // whatever it has become: it goes, and a fresh file is made (never through a link).
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut f = open_regular(
            &tmp,
            OpenOptions::new().write(true).create_new(true).mode(0o640),
        )?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The temp file `write_atomic` writes `name`'s new content to, in the same directory:
/// `.<name>.tmp<pid>`.
pub(super) fn temp_name(name: &str, pid: u32) -> String {
    format!(".{name}.tmp{pid}")
}

/// The file name and pid of a temp file named as `temp_name` names them.
pub(super) fn parse_temp_name(file: &str) -> Option<(&str, u32)> {
    let (name, pid) = file.strip_prefix('.')?.rsplit_once(".tmp")?;
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    Some((name, pid.parse().ok().filter(|_| digits)?))
}

/// Removes from `dir` the temp files `write_atomic` left there for one of `names` (a
/// SIGKILL between the write and the rename): regular files only (a link is not followed,
/// nor removed), named `.<name>.tmp<pid>` where the pid is no live process's, or this
/// process's own (call it before this process writes there). Returns how many went.
pub(crate) fn remove_stale_temps(dir: &Path, names: &[&str]) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let me = std::process::id();
    let mut removed = 0;
    for e in entries.flatten() {
        let file = e.file_name();
        let Some((name, pid)) = file.to_str().and_then(parse_temp_name) else {
            continue;
        };
        // `file_type` does not follow links.
        let regular = e.file_type().is_ok_and(|t| t.is_file());
        let gone = pid == me || !crate::edges::sys::process_alive(pid);
        if regular && gone && names.contains(&name) && fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}
