//! After a reboot (contract §7, "After a reboot"): the rule by which the boot ended a live
//! build's run, and which builds `resume` starts, and why. Pure: the boot time, the log's
//! modification time and what a look at the build directory found come in (the watch and
//! `commands::resume` read them).

use super::status_view::Peeked;
use crate::data::build_state::{BuildState, SCHEMA};
use crate::data::names::BuildName;
use crate::data::status::Status;
use std::time::SystemTime;

/// The reason a run the boot ended is recorded with (state.json's `reason`).
pub(crate) const RESTARTED: &str = "the controller restarted during the run";

/// Whether the machine's boot ended the run of live build `st`: it was first watched
/// before `boot`, and its log did not grow since. The last growth known is state.json's
/// `last_activity_at` (a watch that opens the log records the file's modification time
/// there) or `log_mtime`, the log's modification time when it exists. A build whose log
/// never appeared had no run to end: a watcher started ahead of its run, with a reboot
/// before the launch, goes on waiting under its start timeout (ending it would use up the
/// build name the launch is about to log to). A build first watched after the boot is a
/// run started since: not over, however old its log.
pub(crate) fn over_by_reboot(
    st: &BuildState,
    log_mtime: Option<SystemTime>,
    boot: SystemTime,
) -> bool {
    let grew = [st.last_activity_at.map(|t| t.0), log_mtime]
        .into_iter()
        .flatten()
        .max();
    !st.finished() && st.created_at.0 < boot && grew.is_some_and(|g| g < boot)
}

/// What `resume` found of one build.
pub(crate) struct Found<'a> {
    pub peeked: &'a Peeked,
    /// `cancelled.marker` exists.
    pub cancelled: bool,
    /// A watcher holds the build now.
    pub watched: bool,
    /// The build directory changed seconds ago (`start` or a watcher may be setting it up).
    pub young: bool,
    /// The log's modification time, when it exists.
    pub log_mtime: Option<SystemTime>,
}

/// What `resume` does with one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Choice {
    /// Start its instance; why (one line).
    Start(String),
    /// Leave it: nothing to do (finished, cancelled, watched, being set up, a dry run).
    Leave,
    /// Leave it: it cannot be read, or is not this build's; why.
    Skip(String),
}

/// Whether `build`'s instance is to be started (contract §7): it is live or has a post
/// pending, is not cancelled, no watcher holds it, and its state is readable and its own.
pub(crate) fn choose(build: &BuildName, found: &Found, boot: Option<SystemTime>) -> Choice {
    if found.watched {
        // Its watcher's (which also sets an unreadable state.json aside itself).
        return Choice::Leave;
    }
    let st = match found.peeked {
        Peeked::State(st) | Peeked::Requested(st) => st,
        Peeked::Empty if found.young => return Choice::Leave,
        Peeked::Empty => return Choice::Skip("no state.json and no request.json".into()),
        Peeked::Damaged(why) => return Choice::Skip(why.clone()),
    };
    if st.schema != SCHEMA {
        return Choice::Skip(format!("state.json has schema {}, not {SCHEMA}", st.schema));
    }
    if st.build_name != *build {
        return Choice::Skip(format!(
            "its state.json is build {}'s, not this directory's",
            st.build_name
        ));
    }
    if found.cancelled || !st.wants_watcher() {
        return Choice::Leave;
    }
    Choice::Start(why(st, found.log_mtime, boot))
}

/// Why a build is started, and what its watcher will do.
fn why(st: &BuildState, log_mtime: Option<SystemTime>, boot: Option<SystemTime>) -> String {
    let pending = st.pending_posts().len();
    let mut text = format!("{}, not watched", st.status());
    if pending > 0 {
        text.push_str(&format!(", {pending} post(s) pending"));
    }
    let rebooted = boot.is_some_and(|b| over_by_reboot(st, log_mtime, b));
    let action = if rebooted {
        format!(
            "its log has not grown since the boot: the watcher ends it {} ({RESTARTED})",
            Status::Terminated
        )
    } else if st.status() == Status::Waiting {
        "the watcher waits for its log".into()
    } else if !st.finished() {
        "the watcher follows its log on from where it stopped".into()
    } else {
        match &st.post.post_error {
            Some(e) => format!("the watcher delivers it (last try: {e})"),
            None => "the watcher delivers it".into(),
        }
    };
    if rebooted && pending > 0 {
        // A sub-run that ended before the boot is still posted.
        return format!("{text}: {action}, and delivers the pending post(s)");
    }
    format!("{text}: {action}")
}

#[cfg(test)]
mod tests;
