//! The `ingressroute` binary: parses the command line and hands it to
//! [`ingressroute_cli::run`].

use std::process::ExitCode;

use clap::Parser as _;
use ingressroute_cli::Cli;
use ingressroute_cli::check::Outcome;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match ingressroute_cli::run(&cli) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            // `{:#}` prints the whole chain: "cannot write the result: Broken pipe ...".
            eprintln!("error: {:#}", anyhow::Error::new(error));
            Outcome::InputError.into()
        }
    }
}
