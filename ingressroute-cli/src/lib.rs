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
//!                             │
//!                             ▼ (the DAG and the Endpoints)
//!                 render ──▶ ingressroute-envoy ──▶ Envoy v3 resources (json | yaml)
//! ```
//!
//! * [`load`] reads files, directories and standard input into typed manifests, each
//!   with its file, document and line, and collects errors and warnings;
//! * [`check`] validates against the CRD schema, builds the DAG and works out the exit
//!   code;
//! * [`output`] renders statuses;
//! * [`render`] translates the DAG into the Envoy resources an xDS server would serve.
//!
//! What this crate does **not** do: talk to a cluster, write statuses back, or serve
//! Envoy. The DAG rules live in `ingressroute-dag`, the schema in `ingressroute-api`,
//! the Envoy translation in `ingressroute-envoy`.

pub mod check;
pub mod load;
pub mod output;
pub mod render;

use std::io::{self, Write};

/// The `ingressroute` command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "ingressroute",
    version,
    about = "Check Contour IngressRoute (contour.heptio.com/v1beta1) manifests, and render their Envoy configuration, without a cluster"
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
    /// Print the Envoy v3 resources (listeners, routes, clusters, endpoints, secrets)
    /// that the given manifests give, as proto3 JSON, private keys redacted.
    ///
    /// Invalid IngressRoutes are reported on stderr and serve nothing. Exit code 0: the
    /// resources were printed; 2: some input cannot be read or parsed (nothing is
    /// printed).
    Render(render::RenderArgs),
}

/// Why a command could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `check` failed.
    #[error(transparent)]
    Check(#[from] check::Error),
    /// `render` failed.
    #[error(transparent)]
    Render(#[from] render::Error),
}

/// Runs a parsed command line against the process's standard streams.
///
/// # Errors
///
/// Returns an error when the result cannot be written (see [`check::run`] and
/// [`render::run`]).
pub fn run(cli: &Cli) -> Result<check::Outcome, Error> {
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut stdout = io::BufWriter::new(stdout.lock());
    let mut stderr = stderr.lock();
    let stdin = io::stdin().lock();
    match &cli.command {
        Command::Check(args) => {
            let outcome = check::run(args, stdin, &mut stdout, &mut stderr)?;
            stdout.flush().map_err(check::Error::Write)?;
            Ok(outcome)
        }
        Command::Render(args) => {
            let outcome = render::run(args, stdin, &mut stdout, &mut stderr)?;
            stdout.flush().map_err(render::Error::Write)?;
            Ok(outcome)
        }
    }
}
