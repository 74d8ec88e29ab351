//! Standard output, for what commands print (tables, JSON, dry-run messages). A closed
//! stdout (`status --json | head -2`) ends the output quietly, as ripgrep does, instead
//! of a panic: what is printed is a view; the state it shows is already saved.

use crate::data::error::{Error, Result};
use std::io::{self, Write};

/// Writes `text` to standard output; a closed pipe is the end of output, not an error.
pub(crate) fn print(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::other(format!("writing standard output: {e}")))
        }
        _ => Ok(()),
    }
}

/// `print` of one line.
pub(crate) fn line(args: std::fmt::Arguments) -> Result<()> {
    print(&format!("{args}\n"))
}
