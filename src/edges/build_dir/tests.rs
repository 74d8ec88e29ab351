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
