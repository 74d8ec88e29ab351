//! The process environment, read once at start-up (`main`) into a snapshot: the variables
//! and the working directory. Everything after that reads the snapshot, so configuration
//! is resolved from plain values and tested without touching the real environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Env {
    vars: BTreeMap<String, String>,
    /// Relative paths are made absolute against it, so that what `start` records means
    /// the same to the systemd instance, which runs in `/`.
    cwd: PathBuf,
}

impl Default for Env {
    fn default() -> Self {
        Env {
            vars: BTreeMap::new(),
            cwd: PathBuf::from("/"),
        }
    }
}

impl Env {
    /// The edge: the real environment and working directory.
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| {
                    Some((k.into_string().ok()?, v.to_string_lossy().into_owned()))
                })
                .collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        }
    }

    pub(crate) fn from_pairs<I: IntoIterator<Item = (S, S)>, S: Into<String>>(pairs: I) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            ..Env::default()
        }
    }

    /// The same variables, seen from working directory `cwd`.
    #[cfg(test)]
    pub(crate) fn in_dir(mut self, cwd: &std::path::Path) -> Env {
        self.cwd = cwd.to_path_buf();
        self
    }

    /// `self` with every variable of `top` set on top of it.
    pub(crate) fn overlaid_by(&self, top: &Env) -> Env {
        let mut vars = self.vars.clone();
        vars.extend(top.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        Env {
            vars,
            cwd: top.cwd.clone(),
        }
    }

    /// A variable's value; an empty value counts as unset, as systemd's `Environment=X=` does.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// `p` made absolute against the working directory.
    pub(crate) fn absolute(&self, p: PathBuf) -> PathBuf {
        if p.is_absolute() { p } else { self.cwd.join(p) }
    }
}
