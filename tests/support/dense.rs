//! A dense log, with a `Running: <spec> (i of n)` progress line every ~2 KiB: the memory
//! test of tests/it/log_edges.rs and the dense catch-up of `make bench`.

use super::cypress::{self, Spec, Style};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// What `write_dense_log` wrote.
#[derive(Debug, Clone, Copy)]
pub struct Dense {
    pub bytes: u64,
    /// `Running:` progress lines.
    pub progress_lines: u64,
}

fn dense_spec(i: usize) -> Spec {
    Spec::passed(&format!("atvm/migrate/dense_{i:06}.cy.js"), 44)
}

/// One spec of a dense log: its `Running:` header and 44 mocha lines, about 2 KiB in plain
/// text (no `(Results)` box, whose box lines alone take more than 2 KiB).
pub fn dense_block(i: usize, n: usize) -> Vec<String> {
    cypress::spec_start(&dense_spec(i), i, n)
}

/// Writes a Cypress-shaped, plain-text log of about `bytes` bytes made of `dense_block`s
/// (so about one progress event per 2 KiB). `finished`: it ends with the `(Run Finished)`
/// table and a `1 of 2 failed` footer (the run is FAILED); otherwise the run is still going.
pub fn write_dense_log(path: &Path, bytes: u64, finished: bool) -> io::Result<Dense> {
    let per_block = cypress::render(&dense_block(1, 100_000), Style::PLAIN).len() as u64;
    let n = (bytes / per_block).max(1) as usize;
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut written = 0u64;
    let mut put = |w: &mut BufWriter<File>, lines: &[String]| -> io::Result<()> {
        let b = cypress::render(lines, Style::PLAIN);
        written += b.len() as u64;
        w.write_all(&b)
    };
    let mut head = cypress::atvm_preamble("dense");
    head.extend(cypress::run_starting(&[dense_spec(1), dense_spec(2)]));
    put(&mut w, &head)?;
    for i in 1..=n {
        put(&mut w, &dense_block(i, n))?;
    }
    if finished {
        let specs = [
            dense_spec(1),
            Spec::failed("atvm/migrate/dense_000002.cy.js", 44, 1),
        ];
        put(&mut w, &cypress::run_finished(&specs, "69:26:40"))?;
    }
    w.flush()?;
    Ok(Dense {
        bytes: written,
        progress_lines: n as u64,
    })
}
