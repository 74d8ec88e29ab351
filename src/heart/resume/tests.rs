//! The boot-time rule and `resume`'s choice, as tables (contract §7, "After a reboot").

use super::*;
use crate::data::status::Status;
use crate::data::time::Timestamp;
use std::time::{Duration, UNIX_EPOCH};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

const BOOT: u64 = 1000;

/// A build first watched at `created`, `status`, its last known growth `activity`.
fn state(status: Status, created: u64, activity: Option<u64>) -> BuildState {
    let mut st = BuildState::new(&"b1".into(), false, "/logs/b1.log", Timestamp(at(created)));
    st.run.status = status;
    st.last_activity_at = activity.map(|a| Timestamp(at(a)));
    st
}

/// Its name, its status, first watched, `last_activity_at`, the log's modification time,
/// whether the boot ended it.
type Case = (&'static str, Status, u64, Option<u64>, Option<u64>, bool);

#[test]
fn the_boot_ends_a_live_run_whose_log_did_not_grow_since() {
    use Status::*;
    #[rustfmt::skip]
    let cases: [Case; 14] = [
        // name, status, first watched, last_activity_at, log mtime, over
        ("running, quiet since before the boot", Running, 10, Some(900), Some(900), true),
        ("running, the log gone", Running, 10, Some(900), None, true),
        ("waiting, no log ever", Waiting, 10, None, None, true),
        ("waiting, the log appeared after the boot", Waiting, 10, None, Some(1005), false),
        ("running, the log grew after the boot", Running, 10, Some(900), Some(1005), false),
        ("running, growth after the boot recorded, the log gone since", Running, 10, Some(1005), None, false),
        ("running, growth recorded, the log older (replaced)", Running, 10, Some(1005), Some(20), false),
        ("the last growth at the boot itself", Running, 10, Some(BOOT), None, false),
        ("first watched after the boot, an old log", Running, 1005, Some(1005), Some(10), false),
        ("first watched after the boot, no log yet", Waiting, 1005, None, None, false),
        ("first watched at the boot itself", Waiting, BOOT, None, None, false),
        ("finished", Completed, 10, Some(900), Some(900), false),
        ("terminated already", Terminated, 10, Some(900), Some(900), false),
        ("failed, its post pending", Failed, 10, Some(900), Some(900), false),
    ];
    for (name, status, created, activity, mtime, over) in cases {
        let st = state(status, created, activity);
        assert_eq!(over_by_reboot(&st, mtime.map(at), at(BOOT)), over, "{name}");
    }
}
