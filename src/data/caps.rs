//! Every bound on what the program keeps or shows of untrusted input (the log, the
//! network, other builds' files): one place, so that memory, state.json and the post stay
//! bounded whatever arrives, and so that a reader finds each number once.

use std::time::Duration;

// --- one line of the log -----------------------------------------------------------------

/// How much of one line is looked at: summary rows are ~1 KiB with colour codes; a marker
/// that carries data (`ATVM_GROUPS:` with many long names) needs its whole line.
pub(crate) const LINE_CAP: usize = 64 * 1024;
/// Longest name (spec, group, build, duration text...) kept from the log, in characters.
pub(crate) const NAME_CAP: usize = 200;
/// Longest title or error line kept from the log, in characters.
pub(crate) const TEXT_CAP: usize = 300;
/// Bytes kept of one raw title or error line before it is cleaned to `TEXT_CAP`.
pub(crate) const RAW_TEXT_CAP: usize = 1024;
/// Bytes kept of a spec name from the summary table's (wrapped) rows before cleaning.
pub(crate) const RAW_NAME_CAP: usize = 4 * NAME_CAP;
/// Bytes kept of a summary row's duration column.
pub(crate) const DURATION_TEXT_CAP: usize = 64;
/// Title lines kept per failure-list entry.
pub(crate) const MAX_TITLE_PARTS: usize = 16;
/// How far back the log is read for what the scan skipped: the lines since the last marker
/// when a run's end becomes certain (Cypress's own fatal errors), the suites of a retried
/// test.
pub(crate) const LOOKBACK: u64 = 64 * 1024;
/// Most entries one failure list is read for (a list claiming more is read that far).
pub(crate) const MAX_LIST_ENTRIES: u32 = 100_000;

// --- what a run keeps (state.json) -------------------------------------------------------

/// Most groups an `ATVM_GROUPS:` plan keeps, and most sub-runs a request holds (keys stay
/// `NN-slug` up to 99, `NNN-slug` up to 999).
pub(crate) const MAX_GROUPS: usize = 999;
/// Most summary-table rows a run keeps.
pub(crate) const MAX_SPECS: usize = 500;
/// Most failing tests a run keeps (the post shows fewer).
pub(crate) const MAX_FAILURES: usize = 50;
/// Most flaky tests a run keeps.
pub(crate) const MAX_FLAKY: usize = 50;
/// Failed spec names kept per run.
pub(crate) const MAX_FAILED_SPECS: usize = 1000;
/// What a categorized request keeps in all its sub-runs together (each at most the
/// per-run caps above): state.json and memory stay bounded whatever the number of groups.
pub(crate) const BUILD_MAX_SPECS: usize = 2000;
pub(crate) const BUILD_MAX_FAILURES: usize = 200;
pub(crate) const BUILD_MAX_FLAKY: usize = 200;
pub(crate) const BUILD_MAX_FAILED_SPECS: usize = 2000;
/// Longest slug of a group name in a sub-run key.
pub(crate) const SLUG_CAP: usize = 48;

// --- names and settings the operator gives -----------------------------------------------

/// Longest build name (`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`).
pub(crate) const BUILD_NAME_CAP: usize = 200;
/// Longest `MATTERMOST_ATVM_MENTION_ON_FAILURE`: its line is part of every FAILED post,
/// which must keep room for the status, counts and host.
pub(crate) const MENTION_CAP: usize = 200;
/// Longest duration accepted (`--hung-timeout`...): longer ones are typos, and deadlines
/// must stay computable.
pub(crate) const MAX_DURATION_SECS: u64 = 366 * 24 * 3600;
/// Characters of a bad value quoted back in an error message.
pub(crate) const SHOWN_BAD_VALUE: usize = 80;

// --- files on disk -----------------------------------------------------------------------

/// The largest state.json (or marker, or request) read: ours stay far below (every list in
/// them is capped); a larger one is not ours.
pub(crate) const MAX_STATE_BYTES: u64 = 4 << 20;
/// Most earlier builds the look at history reads (the most recently updated ones).
pub(crate) const MAX_BUILDS: usize = 200;
/// The most a watcher's look at earlier builds may take (contract §9, §10): at the start,
/// and again before a post (which then reads only what changed).
pub(crate) const HISTORY_BUDGET: Duration = Duration::from_millis(200);
/// The most `history --spec` may take for the same look: an operator waits, a post does not.
pub(crate) const HISTORY_COMMAND_BUDGET: Duration = Duration::from_secs(10);
/// Entries of the log directory looked at for logs named like a build's (a typo), and how
/// many of those are named.
pub(crate) const LOG_DIR_SCAN: usize = 10_000;
pub(crate) const SHOWN_SIMILAR_LOGS: usize = 3;
/// Most instances one `resume` starts: a state root full of forgotten builds does not hold
/// up the boot (the rest are started by the next `resume`).
pub(crate) const MAX_RESUMED: usize = 200;
/// Bytes read from the log at a time.
pub(crate) const READ_CHUNK: usize = 256 * 1024;
/// Bytes of the log a watch reads in one go before it looks at its stop signals, the
/// cancel marker and its posts again: a catch-up over a huge log (a writer that seeked
/// gigabytes ahead leaves a sparse hole of NULs) stays stoppable (a cancel is seen within a
/// second, systemd's stop timeout is 90 s). A few milliseconds of the release build's
/// scan (2-5 GB/s, README "Performance"), well under a second of the debug build's.
pub(crate) const READ_SLICE: u64 = 16 << 20;

// --- the network -------------------------------------------------------------------------

/// How much of an answer's body is read: Mattermost's answers (`ok`, a JSON error) are
/// far shorter; whatever a proxy adds beyond this is never a reason to retry.
pub(crate) const BODY_HEAD: u64 = 4096;
/// Characters of an answer's body quoted in an error.
pub(crate) const SHOWN_BODY: usize = 120;

// --- the post ----------------------------------------------------------------------------

/// Mattermost splits posts longer than this (its default `MaxPostSize` for webhooks).
pub(crate) const POST_CHARS: usize = 4000;
/// Failing tests listed in a post, at most.
pub(crate) const SHOWN_FAILURES: usize = 10;
/// Flaky tests named in a post, at most.
pub(crate) const SHOWN_FLAKY: usize = 5;
/// `Fixed since` entries a post lists, at most.
pub(crate) const MAX_FIXED: usize = 5;
/// What a code span's fences add to a text in a post (`heart/message/verbatim.rs`): a
/// title or error of `TEXT_CAP` characters is shown whole.
pub(crate) const FENCE_ROOM: usize = 8;
/// Longest group name in a post's heading.
pub(crate) const HEADING_NAME_CAP: usize = 120;
/// Longest host name in a post.
pub(crate) const HOST_CAP: usize = 100;
/// Longest duration text in a post.
pub(crate) const DURATION_CAP: usize = 40;
/// Characters of a damaged build's reason in the `status` table.
pub(crate) const SHOWN_DAMAGE: usize = 60;

// Contract §10: a test's history.
/// Runs of a spec in a test's window, the current one included.
pub(crate) const WINDOW_RUNS: usize = 10;
/// Distinct specs `prune` follows the windows of: a state root naming more (no real suite
/// has that many spec files) keeps every build that ran one it does not follow.
pub(crate) const PRUNE_MAX_SPECS: usize = 10_000;
/// Runs of each spec `prune`'s first look keeps: the window and the run before it (which
/// ends a failure streak as long as the window).
pub(crate) const PRUNE_FIRST_RUNS: usize = WINDOW_RUNS + 1;
/// Runs of a spec a longer streak is followed over: as far as the posts read, and the run
/// that ends it.
pub(crate) const PRUNE_STREAK_RUNS: usize = MAX_BUILDS + 1;
/// Runs `history --runs` shows at most.
pub(crate) const HISTORY_RUNS_MAX: usize = 50;
/// Failures with one error that form one list item.
pub(crate) const CLUSTER_MIN: usize = 3;
/// Members a cluster's item names.
pub(crate) const CLUSTER_NAMED: usize = 3;
/// A cluster is said under the heading when it holds this share (percent) of the
/// failures, and at least `DOMINANT_MIN` of them.
pub(crate) const DOMINANT_PERCENT: usize = 80;
pub(crate) const DOMINANT_MIN: usize = 5;
/// Earlier clean runs a spec needs for its usual duration, and how much slower (besides
/// 1.5 times) a run must be to be listed.
pub(crate) const SLOWER_MIN_RUNS: usize = 3;
pub(crate) const SLOWER_MIN_SECS: u64 = 300;
/// Slower specs listed.
pub(crate) const SHOWN_SLOWER: usize = 5;
/// Text kept of one earlier build's history (spec names and titles): a state root of
/// hostile states cannot fill memory.
pub(crate) const BUILD_HISTORY_TEXT: usize = 256 * 1024;
/// The known-issues file: its size, its entries, an id, a URL.
pub(crate) const KNOWN_ISSUES_BYTES: u64 = 1 << 20;
pub(crate) const KNOWN_ISSUES_MAX: usize = 1000;
pub(crate) const KNOWN_ID_CAP: usize = 64;
pub(crate) const KNOWN_URL_CAP: usize = 500;
