//! `status`: every build under the state root (or one), newest first, as a table or JSON.

use crate::data::error::{Error, Result};
use crate::data::names::BuildName;
use crate::edges::build_dir::{self, BuildDir};
use crate::edges::stdout as out;
use crate::heart::status_view::{self, BuildSummary};
use crate::settings::config::Paths;
use crate::settings::env::Env;
use crate::settings::flags::StatusArgs;
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
    let mut rows: Vec<BuildSummary> = names
        .iter()
        .map(|n| {
            let bd = BuildDir::new(root, n);
            BuildSummary::from_peek(n, bd.peek(), bd.is_watched(), bd.is_young())
        })
        .collect();
    rows.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.build.cmp(&b.build))
    });
    if raw.json {
        out::line(format_args!("{}", status_view::render_json(&rows)))?;
    } else if rows.is_empty() {
        out::line(format_args!("no builds under {}", root.display()))?;
    } else {
        out::print(&status_view::render_table(&rows, SystemTime::now()))?;
    }
    Ok(())
}
