//! `prune --older-than DUR [--dry-run]`: removes the build directories of builds that
//! finished longer ago than DUR, have nothing left to post, are held by no watcher, and
//! that the history no longer needs (`heart::prune`); lists each one (with `--dry-run`,
//! each that would go) and a total. Damaged and foreign entries are listed and kept.
//!
//! Two looks at the state root (a third only for long failure streaks), each reading one
//! state.json at a time: memory holds a few facts per entry, and per spec its newest runs.
//! A build goes under its watcher lock, renamed to a hidden name first (no reader sees it
//! half deleted); the leftovers of an interrupted prune are finished off first.

use crate::data::error::{Error, Result};
use crate::data::names::BuildName;
use crate::data::time::parse_duration;
use crate::edges::build_dir::{BuildDir, delete_tree, tree_bytes};
use crate::edges::other_builds::census::{self, Entry, Kind};
use crate::edges::stdout as out;
use crate::edges::sys;
use crate::heart::prune::report::{self, Removed, Tally};
use crate::heart::prune::{HistoryNeeds, Kept, Look, Verdict, verdict};
use crate::settings::config::Paths;
use crate::settings::env::Env;
use crate::settings::flags::PruneArgs;
use std::path::Path;
use std::time::{Duration, SystemTime};

pub(crate) fn prune(raw: &PruneArgs, env: &Env) -> Result<()> {
    let older_than = parse_duration("--older-than", &raw.older_than)?;
    let root = Paths::resolve(&raw.paths, env).state_root;
    if !root.is_dir() {
        return Err(Error::usage(format!(
            "state root {} is not a directory",
            root.display()
        )));
    }
    let entries = census::entries(&root).map_err(|e| Error::io("reading", &root, e))?;
    let mut tally = Tally::default();
    finish_leftovers(&root, &entries, raw.dry_run, &mut tally)?;
    let survey = survey(&root, &entries);
    let pass = Pass {
        root: &root,
        now: SystemTime::now(),
        older_than,
        dry_run: raw.dry_run,
    };
    for (i, e) in entries.iter().enumerate() {
        match (&e.kind, &survey.looks[i]) {
            (Kind::Build(name), Some(look)) => {
                pass.build(name, look, survey.needed[i], &mut tally)?
            }
            (Kind::Other(what), _) => {
                tally.kept(&Kept::Damaged(what.to_string()));
                out::line(format_args!("{}", report::kept_line(&e.shown(), what)))?;
            }
            _ => {}
        }
    }
    out::line(format_args!("{}", tally.line(raw.dry_run)))?;
    if tally.failed > 0 {
        return Err(Error::other(format!(
            "{} build(s) could not be removed (see above); the next prune finishes them",
            tally.failed
        )));
    }
    Ok(())
}

/// Removes what interrupted prunes left (their process gone, or this one's pid).
fn finish_leftovers(root: &Path, entries: &[Entry], dry_run: bool, t: &mut Tally) -> Result<()> {
    let me = std::process::id();
    for e in entries {
        let Kind::Leftover(pid) = e.kind else {
            continue;
        };
        if pid != me && sys::process_alive(pid) {
            // Another prune is deleting it right now.
            continue;
        }
        let path = root.join(&e.name);
        let bytes = tree_bytes(&path);
        if !dry_run && let Err(err) = delete_tree(&path) {
            log::warn!("removing {}: {err}", path.display());
            t.failed += 1;
            continue;
        }
        t.leftovers += 1;
        out::line(format_args!(
            "{}",
            report::leftover_line(&e.shown(), bytes, dry_run)
        ))?;
    }
    Ok(())
}

/// What the looks found: per entry its `Look` (builds only), and whether the history
/// needs it.
struct Survey {
    looks: Vec<Option<Look>>,
    needed: Vec<bool>,
}

/// Looks at every build once (its facts, and its history for the windows), then again at
/// the finished ones only if a failure streak runs deeper than the first look kept.
fn survey(root: &Path, entries: &[Entry]) -> Survey {
    let mut needs = HistoryNeeds::default();
    let mut looks = Vec::with_capacity(entries.len());
    let mut history = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let Kind::Build(name) = &e.kind else {
            looks.push(None);
            history.push(false);
            continue;
        };
        let (look, h) = census::look(root, name, false);
        if let Some(h) = &h {
            needs.add(i as u32, h);
        }
        looks.push(Some(look));
        history.push(h.is_some());
    }
    let (first, mut deep) = needs.needs();
    let mut needed = vec![false; entries.len()];
    for i in first {
        needed[i as usize] = true;
    }
    if !deep.is_empty() {
        for (i, e) in entries.iter().enumerate() {
            if let (Kind::Build(name), true) = (&e.kind, history[i])
                && let Some(h) = census::history(root, name)
            {
                deep.add(i as u32, &h);
            }
        }
        for i in deep.needed() {
            needed[i as usize] = true;
        }
    }
    Survey { looks, needed }
}

/// One prune's settings.
struct Pass<'a> {
    root: &'a Path,
    now: SystemTime,
    older_than: Duration,
    dry_run: bool,
}

impl Pass<'_> {
    /// The verdict on one build, carried out.
    fn build(&self, name: &BuildName, look: &Look, needed: bool, t: &mut Tally) -> Result<()> {
        let v = verdict(look, needed, self.now, self.older_than);
        let (Verdict::Remove, Look::Build(facts)) = (v.clone(), look) else {
            return self.kept(name, v, t);
        };
        let bd = BuildDir::new(self.root, name);
        let mut removed = Removed {
            build: name.to_string(),
            status: facts.status,
            age: facts.age(self.now),
            finished: facts.finished,
            bytes: 0,
        };
        if self.dry_run {
            removed.bytes = tree_bytes(&bd.dir);
        } else {
            match self.take_away(name, &bd, needed) {
                Taken::Gone(bytes) => removed.bytes = bytes,
                Taken::Kept(v) => return self.kept(name, v, t),
                Taken::Failed => {
                    t.failed += 1;
                    return Ok(());
                }
            }
        }
        t.removed += 1;
        t.bytes += removed.bytes;
        out::line(format_args!(
            "{}",
            report::removed_line(&removed, self.dry_run)
        ))
    }

    /// Removes the build under its watcher lock, once a look under the lock still says so.
    fn take_away(&self, name: &BuildName, bd: &BuildDir, needed: bool) -> Taken {
        let hold = match bd.try_hold() {
            Ok(Some(f)) => f,
            Ok(None) => return Taken::Kept(Verdict::Keep(Kept::Watched)),
            Err(e) => return Taken::Kept(Verdict::Keep(Kept::Damaged(e.to_string()))),
        };
        let (look, _) = census::look(self.root, name, true);
        let again = verdict(&look, needed, self.now, self.older_than);
        if again != Verdict::Remove {
            return Taken::Kept(again);
        }
        let hidden = match bd.take_away(name, std::process::id()) {
            Ok(h) => h,
            Err(e) => {
                log::warn!("renaming {}: {e}; it is kept", bd.dir.display());
                return Taken::Failed;
            }
        };
        let bytes = tree_bytes(&hidden);
        let deleted = delete_tree(&hidden);
        drop(hold);
        match deleted {
            Ok(()) => Taken::Gone(bytes),
            Err(e) => {
                log::warn!("removing {}: {e}", hidden.display());
                Taken::Failed
            }
        }
    }

    fn kept(&self, name: &BuildName, v: Verdict, t: &mut Tally) -> Result<()> {
        let Verdict::Keep(why) = v else {
            return Ok(());
        };
        t.kept(&why);
        if let Kept::Damaged(what) = &why {
            out::line(format_args!("{}", report::kept_line(name, what)))?;
        }
        Ok(())
    }
}

/// How taking a build away went.
enum Taken {
    /// Removed, with the bytes it held.
    Gone(u64),
    /// A look under its lock keeps it after all.
    Kept(Verdict),
    /// Renaming or deleting failed (said in a warning).
    Failed,
}
