//! The `ingressroute` binary: parses the command line, sets up logging and hands the
//! command to [`ingressroute_cli::run`].

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use ingressroute_cli::Cli;
use ingressroute_cli::output::{self, Severity};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` logs through tracing (RUST_LOG, default `info`); `check` and `render`
    // write their reports themselves.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match ingressroute_cli::run(&cli) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            let code = error.exit_code();
            // `{:#}` prints the whole chain: "cannot write the result: Broken pipe ...", on
            // one line with control characters escaped (a file name may hold any).
            let message = format!("{:#}", anyhow::Error::new(error));
            eprintln!("{}", output::stderr_line(Severity::Error, &message));
            ExitCode::from(code)
        }
    }
}
