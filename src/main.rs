//! Entry point: parse the flags, set up logging, run, map the outcome to its exit code.

use atvm_run_watcher::{Cli, Env, init_logging, run};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::from_args() {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    let env = Env::from_process();
    init_logging(&env);
    match run(cli, &env) {
        Ok(outcome) => {
            outcome.report();
            ExitCode::from(outcome.exit_code())
        }
        Err(e) => {
            log::error!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}
