#![doc = include_str!("../README.md")]
//!
//! # The library
//!
//! The `ingressroute` binary is a thin `main` over this library, so that every
//! subcommand shares one loader and one way of reporting:
//!
//! ```text
//!  PATH... ──▶ load ──▶ Loaded { manifests, diagnostics }
//!                             │
//!                             ▼
//!                 check ──▶ ingressroute-dag ──▶ Report ──▶ output (table | json | yaml)
//! ```
//!
//! * [`load`] reads files, directories and standard input into typed manifests, each
//!   with its file, document and line, and collects errors and warnings;
//! * [`check`] validates against the CRD schema, builds the DAG and works out the exit
//!   code;
//! * [`output`] renders statuses.
//!
//! What this crate does **not** do: talk to a cluster, write statuses back, or serve
//! Envoy. The DAG rules live in `ingressroute-dag`, the schema in `ingressroute-api`.

pub mod check;
pub mod load;
pub mod output;

use std::io::{self, Write};

/// The `ingressroute` command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "ingressroute",
    version,
    about = "Check Contour IngressRoute (contour.heptio.com/v1beta1) manifests without a cluster"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, clap::Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Compute the status of every IngressRoute in the given manifests, and report what
    /// the API server would reject.
    ///
    /// Exit code 0: every IngressRoute is valid; 1: one is invalid or orphaned, or would
    /// be rejected by the API server; 2: some input cannot be read or parsed.
    Check(check::CheckArgs),
}

/// Runs a parsed command line against the process's standard streams.
///
/// # Errors
///
/// Returns an error when the result cannot be written (see [`check::run`]).
pub fn run(cli: &Cli) -> Result<check::Outcome, check::Error> {
    match &cli.command {
        Command::Check(args) => {
            let stdout = io::stdout();
            let stderr = io::stderr();
            let mut stdout = io::BufWriter::new(stdout.lock());
            let mut stderr = stderr.lock();
            let outcome = check::run(args, io::stdin().lock(), &mut stdout, &mut stderr)?;
            stdout.flush().map_err(check::Error::Write)?;
            Ok(outcome)
        }
    }
}
