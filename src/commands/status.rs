//! `status`: every build under the state root, newest first, as a table or JSON; or one
//! build in detail. The JSON list is written one build at a time (each build is read
//! twice: once for the order, once to print it), so memory stays bounded whatever the
//! state root holds.

use crate::data::error::{Error, Result};
use crate::data::names::BuildName;
use crate::edges::build_dir::{self, BuildDir};
use crate::edges::stdout as out;
use crate::heart::resume::{self, Choice, Found};
use crate::heart::status_view::{self, BuildSummary, Row};
use crate::settings::config::Paths;
use crate::settings::env::Env;
use crate::settings::flags::StatusArgs;
use std::path::Path;
use std::time::SystemTime;

/// `status`: every build under the state root, newest first.
pub(crate) fn status(raw: &StatusArgs, env: &Env) -> Result<()> {
    let paths = Paths::resolve(&raw.paths, env);
    let root = &paths.state_root;
    let names: Vec<BuildName> = match &raw.build_name {
        Some(b) => {
            let b = BuildName::new(b)?;
            if !root.join(b.as_str()).is_dir() {
                return Err(Error::usage(format!(
                    "unknown build {b}: nothing under {}",
                    root.display()
                )));
            }
            vec![b]
        }
        None => build_dir::build_names(root).map_err(|e| Error::io("reading", root, e))?,
    };
    let now = SystemTime::now();
    if let (Some(_), false) = (&raw.build_name, raw.json) {
        return out::print(&status_view::render_detail(&summary(root, &names[0]), now));
    }
    // What is kept of each build while the others are read: its name and creation time
    // (and its table cells), never its digest.
    let mut order: Vec<(Option<String>, BuildName, Option<Row>)> = names
        .into_iter()
        .map(|n| {
            let s = summary(root, &n);
            let row = (!raw.json).then(|| status_view::table_row(&s, now));
            (s.created_at, n, row)
        })
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if raw.json {
        // One build at a time, read again: the list is never whole in memory.
        out::line(format_args!("["))?;
        let last = order.len().saturating_sub(1);
        for (i, (_, name, _)) in order.iter().enumerate() {
            let comma = if i < last { "," } else { "" };
            out::line(format_args!("{}{comma}", summary(root, name).json()))?;
        }
        out::line(format_args!("]"))
    } else if order.is_empty() {
        out::line(format_args!("no builds under {}", root.display()))
    } else {
        let rows: Vec<Row> = order.into_iter().filter_map(|(_, _, r)| r).collect();
        out::print(&status_view::render_rows(&rows))
    }
}

/// One build; forgotten (WATCHER `none`) when `resume` would start its instance.
fn summary(root: &Path, name: &BuildName) -> BuildSummary {
    let bd = BuildDir::new(root, name);
    let peeked = bd.peek();
    let (watched, young) = (bd.is_watched(), bd.is_young());
    let found = Found {
        peeked: &peeked,
        cancelled: bd.cancelled().is_some(),
        watched,
        young,
        log_mtime: None,
    };
    let forgotten = matches!(resume::choose(name, &found, None), Choice::Start(_));
    BuildSummary::from_peek(name, peeked, watched, young, forgotten)
}
