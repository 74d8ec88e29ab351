//! Entry point: parse the flags, set up logging, run, map the error to its exit code.

use atvm_run_watcher::{cli::Cli, config::Env, run};
use clap::Parser;
use clap::error::ErrorKind;
use std::io::Write;
use std::process::ExitCode;

/// Log lines go to stderr. Under systemd (`JOURNAL_STREAM` set) they carry a syslog
/// priority prefix instead of a timestamp and colours: the journal adds its own.
fn init_logging(env: &Env) {
    let mut b = env_logger::Builder::new();
    b.filter_level(log::LevelFilter::Info);
    if let Some(spec) = env.get("RUST_LOG") {
        b.parse_filters(spec);
    }
    if env.get("JOURNAL_STREAM").is_some() {
        b.write_style(env_logger::WriteStyle::Never);
        b.format(|f, r| {
            let prio = match r.level() {
                log::Level::Error => 3,
                log::Level::Warn => 4,
                log::Level::Info => 6,
                _ => 7,
            };
            writeln!(f, "<{prio}>{}", r.args())
        });
    } else {
        b.format(|f, r| {
            let ts = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
            let style = f.default_level_style(r.level());
            writeln!(f, "{ts} {style}{:<5}{style:#} {}", r.level(), r.args())
        });
    }
    b.init();
}

fn main() -> ExitCode {
    // clap's own usage errors are several lines; an operator gets one, like every other
    // error, with the documented exit code 2.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let line: Vec<&str> = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:"))
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("tip:")
                        && !l.starts_with("For more information")
                })
                .collect();
            eprintln!(
                "atvm-run-watcher: {} (see --help)",
                line.join(" ").trim_start_matches("error: ")
            );
            return ExitCode::from(atvm_run_watcher::error::EXIT_USAGE);
        }
    };
    let env = Env::from_process();
    init_logging(&env);
    match run(cli, &env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}
