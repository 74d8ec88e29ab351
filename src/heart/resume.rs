//! After a reboot (contract §7, "After a reboot"): the rule by which the boot ended a live
//! build's run. Pure: the boot time and the log's modification time come in (the watch
//! reads them).

use crate::data::build_state::BuildState;
use std::time::SystemTime;

/// The reason a run the boot ended is recorded with (state.json's `reason`).
pub(crate) const RESTARTED: &str = "the controller restarted during the run";

/// Whether the machine's boot ended the run of live build `st`: it was first watched
/// before `boot`, and its log did not grow since. The last growth known is state.json's
/// `last_activity_at` (a watch that opens the log records the file's modification time
/// there) or `log_mtime`, the log's modification time when it exists; none at all (no log
/// ever) counts as no growth. A build first watched after the boot is a run started since:
/// not over, however old its log.
pub(crate) fn over_by_reboot(
    st: &BuildState,
    log_mtime: Option<SystemTime>,
    boot: SystemTime,
) -> bool {
    let grew = [st.last_activity_at.map(|t| t.0), log_mtime]
        .into_iter()
        .flatten()
        .max();
    !st.finished() && st.created_at.0 < boot && grew.is_none_or(|g| g < boot)
}

#[cfg(test)]
mod tests;
