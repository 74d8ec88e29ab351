//! `resume`: after a boot, start the instance of every build under the state root that
//! needs a watcher and has none (contract §7, "After a reboot"): live or with a post
//! pending, not cancelled, not watched. atvm-run-watcher-resume.service runs it at boot.
//! Each build is read as `status` reads it (bounded, non-blocking, never through a link)
//! and chosen by `heart::resume::choose`; whatever cannot be read is skipped with a note.

use crate::data::caps::MAX_RESUMED;
use crate::data::error::{Error, Result};
use crate::data::names::{BuildName, unit_name};
use crate::edges::build_dir::{self, BuildDir};
use crate::edges::stdout as out;
use crate::edges::sys;
use crate::heart::resume::{self, Choice, Found};
use crate::heart::status_view::Peeked;
use crate::settings::config::Paths;
use crate::settings::env::Env;
use crate::settings::flags::ResumeArgs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What one `resume` did, for its last line.
#[derive(Default)]
struct Tally {
    builds: usize,
    started: usize,
    skipped: usize,
    /// Started past the cap: left for the next `resume`.
    over: usize,
    /// `systemctl` failed.
    failed: usize,
}

/// `resume [--dry-run]`: one line per instance started (or, dry, that it would start) and
/// why, one per build skipped, then what it came to. A `systemctl` that fails is logged and
/// the others are still started; any such failure is exit 1 at the end.
pub(crate) fn resume(raw: &ResumeArgs, env: &Env) -> Result<()> {
    let paths = Paths::resolve(&raw.paths, env);
    let root = &paths.state_root;
    let mut names = build_dir::build_names(root).map_err(|e| Error::io("reading", root, e))?;
    names.sort();
    let boot = sys::boot_time();
    let mut tally = Tally {
        builds: names.len(),
        ..Tally::default()
    };
    for name in &names {
        match look(&BuildDir::new(root, name), name, &paths.log_dir, boot) {
            Choice::Leave => {}
            Choice::Skip(why) => {
                tally.skipped += 1;
                out::line(format_args!("skipped {name}: {why}"))?;
            }
            Choice::Start(_) if tally.started >= MAX_RESUMED => tally.over += 1,
            Choice::Start(why) if raw.dry_run => {
                tally.started += 1;
                out::line(format_args!(
                    "dry run: would start {}: {why}",
                    unit_name(name)
                ))?;
            }
            Choice::Start(why) => match super::systemctl(env, &["start", "--no-block"], name) {
                Ok(()) => {
                    tally.started += 1;
                    out::line(format_args!("started {}: {why}", unit_name(name)))?;
                }
                Err(e) => {
                    tally.failed += 1;
                    log::error!("{name}: {e}");
                }
            },
        }
    }
    report(&tally, raw.dry_run, root, super::systemctl_program(env))
}

/// What a look at the build directory finds, and the choice made of it. A watcher lock
/// that nobody can hold (not a regular file) is skipped: its watcher would refuse it.
fn look(bd: &BuildDir, name: &BuildName, log_dir: &Path, boot: Option<SystemTime>) -> Choice {
    let watched = match bd.watched() {
        Ok(w) => w,
        Err(e) => return Choice::Skip(e.to_string()),
    };
    let peeked = bd.peek();
    let found = Found {
        log_mtime: log_mtime(&peeked, log_dir, name),
        cancelled: bd.cancelled().is_some(),
        watched,
        young: bd.is_young(),
        peeked: &peeked,
    };
    resume::choose(name, &found, boot)
}

/// The modification time of the build's log (the one its state follows, else the default
/// place), when it exists.
fn log_mtime(peeked: &Peeked, log_dir: &Path, name: &BuildName) -> Option<SystemTime> {
    let (Peeked::State(st) | Peeked::Requested(st)) = peeked else {
        return None;
    };
    let log = match st.log_file.as_str() {
        "" => log_dir.join(format!("{name}.log")),
        file => PathBuf::from(file),
    };
    std::fs::metadata(log).and_then(|m| m.modified()).ok()
}

/// The last lines: what was started (or would be), skipped, left for the next `resume`.
fn report(t: &Tally, dry_run: bool, root: &Path, systemctl: &str) -> Result<()> {
    let root = root.display();
    let skipped = match t.skipped {
        0 => String::new(),
        n => format!("; {n} skipped (unreadable, see above)"),
    };
    if dry_run {
        out::line(format_args!(
            "dry run: would start {} of {} builds under {root} ({systemctl} start --no-block each){skipped}; started nothing",
            t.started, t.builds
        ))?;
    } else {
        out::line(format_args!(
            "resume: started {} of {} builds under {root}{skipped}",
            t.started, t.builds
        ))?;
    }
    if t.over > 0 {
        out::line(format_args!(
            "resume: {} more builds need a watcher; at most {MAX_RESUMED} are started at once: run atvm-run-watcher resume again in a minute",
            t.over
        ))?;
    }
    if t.failed > 0 {
        return Err(Error::other(format!(
            "{} instance(s) could not be started (above)",
            t.failed
        )));
    }
    Ok(())
}
