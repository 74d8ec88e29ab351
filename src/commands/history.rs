//! `history --spec`: a spec's last runs under the state root and its tests' windows
//! (contract §10), read as a post reads them; it changes nothing and works while watchers
//! run.

use crate::data::caps::{HISTORY_COMMAND_BUDGET, HISTORY_RUNS_MAX};
use crate::data::error::{Error, Result};
use crate::edges::other_builds::EarlierBuilds;
use crate::edges::stdout as out;
use crate::heart::history_view::Listing;
use crate::settings::config::Paths;
use crate::settings::env::Env;
use crate::settings::flags::HistoryArgs;

pub(crate) fn history(raw: &HistoryArgs, env: &Env) -> Result<()> {
    if raw.runs == 0 || raw.runs > HISTORY_RUNS_MAX {
        return Err(Error::usage(format!(
            "--runs {}: from 1 to {HISTORY_RUNS_MAX}",
            raw.runs
        )));
    }
    let paths = Paths::resolve(&raw.paths, env);
    let root = &paths.state_root;
    if !root.is_dir() {
        return Err(Error::usage(format!(
            "state root {} is not a directory",
            root.display()
        )));
    }
    let mut earlier = EarlierBuilds::default();
    earlier.refresh(root, None, HISTORY_COMMAND_BUDGET);
    let runs = earlier
        .histories()
        .into_iter()
        .filter_map(|b| b.run_of(&raw.spec))
        .collect();
    let listing = Listing::new(&raw.spec, runs, raw.runs, raw.test.as_deref());
    if raw.json {
        out::line(format_args!("{}", listing.json()))
    } else {
        out::print(&listing.text(&root.display().to_string()))
    }
}
