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
//!                             │                                  │
//!                             │           explain URL ──▶ one request traced through them
//!                             │
//!                             ▼ (the DAG and the objects)
//!                 convert ──▶ HTTPProxy | Gateway API objects (yaml | json)
//!                             │
//!                             ▼ (the same, rebuilt on every change of the files)
//!                 serve ──▶ xDS server ──▶ Envoy (a child process with `--envoy`)
//!
//!  graph ──▶ the DAG and the objects ──▶ ingressroute_pipeline::graph (dot | mermaid | json | svg)
//!  diff OLD NEW ──▶ render both ──▶ Envoy resources and statuses compared ──▶ changes by effect
//!  bootstrap ──▶ Envoy's bootstrap (ADS to `serve`)
//! ```
//!
//! * [`walk`] finds the manifest files under a directory and opens only regular files;
//! * [`load`] reads files, directories and standard input into typed manifests, each
//!   with its file, document and line, and collects errors and warnings;
//! * [`check`] validates against the CRD schema, builds the DAG and works out the exit
//!   code;
//! * [`output`] renders statuses;
//! * [`convert`] converts the DAG's valid IngressRoutes to HTTPProxies or Gateway API
//!   objects;
//! * [`render`] translates the DAG into the Envoy resources an xDS server would serve;
//! * [`explain`] traces one request through those resources and names the IngressRoutes
//!   behind each step;
//! * [`graph`] draws the delegation graph;
//! * [`diff`] compares the Envoy resources and statuses of two sets of manifests;
//! * [`bootstrap`] writes the bootstrap an Envoy needs to talk to `serve`;
//! * [`serve`] watches the files and serves their Envoy resources over xDS, and runs an
//!   Envoy on them if asked to.
//!
//! What this crate does **not** do: talk to a cluster or write statuses back. The DAG
//! rules live in `ingressroute-dag`, the schema in `ingressroute-api`, the Envoy
//! translation and the xDS server in `ingressroute-envoy`.

pub mod bootstrap;
pub mod certgen;
pub mod check;
pub mod convert;
pub mod diff;
pub mod explain;
pub mod graph;
pub mod load;
pub mod names;
pub mod output;
pub mod render;
pub mod serve;
pub mod walk;

use std::io::{self, Write};

/// The `ingressroute` command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "ingressroute",
    version,
    about = "Check Contour IngressRoute (contour.heptio.com/v1beta1) manifests, render their Envoy configuration and serve it to Envoy, without a cluster"
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
    /// Explain how Envoy would handle one request (`http://HOST[:PORT]/PATH` or
    /// `https://HOST/PATH`), from the Envoy resources the manifests give, with the
    /// IngressRoutes behind each step: virtual host and root, the matching route and its
    /// delegation chain, rewrite, timeout, retries, Services, clusters and endpoints, or
    /// why nothing serves it.
    ///
    /// Exit code 0: the request is proxied or redirected; 1: it gets a 404 or 503; 2:
    /// the URL is wrong or some input cannot be read or parsed.
    Explain(explain::ExplainArgs),
    /// Draw the delegation graph: IngressRoutes by status, the Services, TLS Secrets and
    /// TLSCertificateDelegations they reference, edges labelled with the `match`, cycles
    /// and missing objects marked (DOT, Mermaid, JSON or SVG).
    ///
    /// Exit code 0: the graph was printed; 2: some input cannot be read or parsed, or
    /// `--focus` names no object of the graph.
    Graph(graph::GraphArgs),
    /// Show what changes in Envoy's configuration and in the statuses when the manifests
    /// of NEW replace those of OLD, each change classed by its effect on running traffic.
    ///
    /// Exit code 0: no change; 1: changes (with `--fail-on invalid`: only when NEW makes
    /// an IngressRoute invalid or orphaned); 2: some input cannot be read or parsed.
    Diff(diff::DiffArgs),
    /// Convert the given manifests to what replaced IngressRoute: `--to httpproxy`
    /// (Contour's HTTPProxy) or `--to gateway-api` (Gateway API v1), printed as YAML
    /// documents or a JSON `List`.
    ///
    /// Warnings (what the target cannot say, objects not converted) go to stderr. Exit
    /// code 0: everything converted exactly; 1: something needs a person; 2: some input
    /// cannot be read or parsed (nothing is printed).
    Convert(convert::ConvertArgs),
    /// Write an Envoy bootstrap (JSON) that points Envoy at `ingressroute serve` over ADS.
    Bootstrap(bootstrap::BootstrapArgs),
    /// Write the Secrets for xDS over mutual TLS between the controller and Envoy (fresh
    /// certificates) as a YAML `List`: `ingressroute certgen | kubectl apply -f -`.
    ///
    /// A FILE is created readable by its owner only (0600) and an existing one is not
    /// replaced without `--force` (exit code 2).
    Certgen(certgen::CertgenArgs),
    /// Serve the Envoy configuration of the given manifests over xDS, rebuilt whenever
    /// they change, and optionally run the Envoy that uses it (`--envoy`).
    ///
    /// A file that breaks (it cannot be read, or is not YAML) keeps its last good objects
    /// served; every other file still updates. Within a file each object stands on its
    /// own: one the API server would reject is logged (an IngressRoute gets an `invalid`
    /// status) and never served, and the others are. Runs until SIGINT or SIGTERM; exit
    /// code 1 if something fails.
    Serve(serve::ServeArgs),
    /// Internal: how `serve --envoy` starts Envoy, so that Envoy dies with it (see
    /// [`serve::envoy`]).
    #[command(name = "__envoy-child", hide = true)]
    EnvoyChild(serve::envoy::ChildArgs),
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
    /// `explain` failed.
    #[error(transparent)]
    Explain(#[from] explain::Error),
    /// `graph` failed.
    #[error(transparent)]
    Graph(#[from] graph::Error),
    /// `diff` failed.
    #[error(transparent)]
    Diff(#[from] diff::Error),
    /// `convert` failed.
    #[error(transparent)]
    Convert(#[from] convert::Error),
    /// `bootstrap` failed.
    #[error(transparent)]
    Bootstrap(#[from] bootstrap::Error),
    /// `certgen` failed.
    #[error(transparent)]
    Certgen(#[from] certgen::Error),
    /// `serve` failed.
    #[error(transparent)]
    Serve(#[from] serve::Error),
    /// The async runtime of `serve` could not be started.
    #[error("cannot start the async runtime")]
    Runtime(#[source] io::Error),
    /// `serve`'s Envoy could not be started (in the child process that was to become
    /// it).
    #[error(transparent)]
    EnvoyChild(#[from] serve::envoy::ChildError),
}

impl Error {
    /// The process exit code for this error: 1 when `serve` fails, 127 when its Envoy
    /// cannot be started (as a shell says of a command it cannot run), 2 otherwise (the
    /// input or the output could not be read or written).
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Serve(_) | Self::Runtime(_) => 1,
            Self::EnvoyChild(_) => 127,
            _ => 2,
        }
    }
}

/// Writes `text` to the file `path`, or to `stdout` (flushed) when `path` is `-`: where
/// `bootstrap` puts what it makes (`certgen`, whose output holds private keys, creates
/// its file itself; see [`certgen::run`]).
pub(crate) fn write_output(path: &std::path::Path, text: &str, stdout: &mut impl Write) -> io::Result<()> {
    if path.as_os_str() == load::STDIN {
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    } else {
        std::fs::write(path, text)
    }
}

/// Runs a parsed command line against the process's standard streams; `serve` runs on a
/// multi-threaded tokio runtime until it is stopped.
///
/// # Errors
///
/// Returns an error when the result cannot be written (see [`check::run`],
/// [`render::run`] and [`bootstrap::run`]), or when `serve` fails (see [`serve::run`]).
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
        Command::Explain(args) => {
            let outcome = explain::run(args, stdin, &mut stdout, &mut stderr)?;
            stdout.flush().map_err(explain::Error::Write)?;
            Ok(outcome)
        }
        Command::Graph(args) => {
            let outcome = graph::run(args, stdin, &mut stdout, &mut stderr)?;
            stdout.flush().map_err(graph::Error::Write)?;
            Ok(outcome)
        }
        Command::Diff(args) => {
            let outcome = diff::run(args, stdin, &mut stdout, &mut stderr)?;
            stdout.flush().map_err(diff::Error::Write)?;
            Ok(outcome)
        }
        Command::Convert(args) => {
            let outcome = convert::run(args, stdin, &mut stdout, &mut stderr)?;
            stdout.flush().map_err(convert::Error::Write)?;
            Ok(outcome)
        }
        Command::Bootstrap(args) => {
            bootstrap::run(args, &mut stdout)?;
            Ok(check::Outcome::Valid)
        }
        Command::Certgen(args) => {
            certgen::run(args, &mut stdout)?;
            Ok(check::Outcome::Valid)
        }
        Command::Serve(args) => {
            drop((stdout, stderr, stdin));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(Error::Runtime)?;
            // On this thread, which lives as long as the process: Envoy's parent-death
            // signal follows the thread that started it (see `serve::envoy`).
            let served = runtime.block_on(serve::run(args.clone()));
            // Not waiting for blocking work still under way (a large file being parsed):
            // SIGTERM must stop `serve` at once.
            runtime.shutdown_background();
            served?;
            Ok(check::Outcome::Valid)
        }
        Command::EnvoyChild(args) => {
            drop((stdout, stderr, stdin));
            Err(serve::envoy::exec_child(args).into())
        }
    }
}
