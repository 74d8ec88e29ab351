//! The build directory's files and locks, on real temporary directories.

use super::*;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("atvm-state-test-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn atomic_write_replaces_and_leaves_no_temp() {
    let d = tmp("atomic");
    let p = d.join("state.json");
    write_atomic(&p, b"one").unwrap();
    write_atomic(&p, b"two").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"two");
    let names: Vec<_> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn corrupt_state_is_moved_aside() {
    let d = tmp("corrupt");
    let bd = BuildDir::new(&d, &"b".into());
    bd.create().unwrap();
    fs::write(bd.path(STATE), b"{\"schema\": 1, \"status\": ").unwrap();
    match bd.load_state().unwrap() {
        Loaded::Corrupt { moved_to, .. } => {
            assert!(moved_to.exists());
            assert!(!bd.path(STATE).exists());
        }
        _ => panic!("expected corrupt"),
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn instance_lock_is_exclusive() {
    let d = tmp("lock");
    let bd = BuildDir::new(&d, &"b".into());
    bd.create().unwrap();
    let held = bd.lock_instance().unwrap();
    assert!(bd.is_watched());
    let e = bd.lock_instance().unwrap_err();
    assert_eq!(e.exit_code(), 4);
    drop(held);
    assert!(!bd.is_watched());
    assert!(bd.lock_instance().is_ok());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn state_root_checks() {
    let d = tmp("root");
    assert!(check_state_root(&d.join("new/deeper")).is_ok());
    let file = d.join("plain-file");
    fs::write(&file, b"x").unwrap();
    assert_eq!(check_state_root(&file).unwrap_err().exit_code(), 2);
    fs::remove_dir_all(&d).unwrap();
}

/// A leftover temp file of this process's name that is a link (planted, or an earlier
/// process's with the same pid) is not written through: the link's target stays as it
/// was, and state.json is a regular file.
#[test]
fn atomic_write_never_writes_through_a_leftover_link() {
    let d = tmp("atomic-link");
    let target = d.join("elsewhere");
    fs::write(&target, b"keep").unwrap();
    let leftover = d.join(format!(".state.json.tmp{}", std::process::id()));
    std::os::unix::fs::symlink(&target, &leftover).unwrap();
    let p = d.join("state.json");
    write_atomic(&p, b"mine").unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"keep");
    let meta = fs::symlink_metadata(&p).unwrap();
    assert!(meta.is_file(), "{meta:?}");
    assert_eq!(fs::read(&p).unwrap(), b"mine");
    assert!(fs::symlink_metadata(&leftover).is_err());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn only_regular_files_are_opened() {
    let d = tmp("regular");
    let file = d.join("f");
    fs::write(&file, b"x").unwrap();
    std::os::unix::fs::symlink(&file, d.join("link")).unwrap();
    fs::create_dir(d.join("dir")).unwrap();
    let fifo = std::ffi::CString::new(d.join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let read = || {
        let mut o = OpenOptions::new();
        o.read(true);
        o
    };
    assert!(open_regular(&file, &mut read()).is_ok());
    for (name, what) in [
        ("link", "a symbolic link"),
        ("dir", "a directory"),
        ("fifo", "a FIFO"),
    ] {
        let e = open_regular(&d.join(name), &mut read()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{name}");
        assert_eq!(e.to_string(), format!("not a regular file ({what})"));
    }
    let mut rw = OpenOptions::new();
    rw.read(true).write(true).create(true).truncate(false);
    let e = open_regular(&d.join("dir"), &mut rw).unwrap_err();
    assert_eq!(e.to_string(), "not a regular file (a directory)");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn temp_names_are_read_back() {
    use files::{parse_temp_name, temp_name};
    assert_eq!(temp_name("state.json", 42), ".state.json.tmp42");
    assert_eq!(
        parse_temp_name(".state.json.tmp42"),
        Some(("state.json", 42))
    );
    assert_eq!(
        parse_temp_name(".posted.marker.tmp4194304"),
        Some(("posted.marker", 4194304))
    );
    for not in [
        "state.json.tmp42",
        ".state.json.tmp",
        ".state.json.tmp4x",
        ".state.json.tmp+4",
        ".state.json.tmp99999999999",
        ".state.json",
        "..tmp1",
    ] {
        assert_eq!(
            parse_temp_name(not).filter(|(n, _)| !n.is_empty()),
            None,
            "{not}"
        );
    }
}
