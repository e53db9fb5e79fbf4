//! `ingressroute serve`: an xDS server for local manifests, rebuilt when they change, and
//! optionally the Envoy that it configures.
//!
//! ```text
//!  PATH... ──watch (completed writes, renames, ...)──▶ Holdoff (Contour's: at once after a
//!                                     quiet 500 ms, else 100 ms after the last change)
//!                                                   │
//!                        (on a blocking thread)     ▼
//!              Sources::reload ──▶ last good version of every file ──▶ merged Loaded
//!                                                                          │ Fed::feed: what changed
//!                                                                          ▼ (the first time: a relist)
//!     Pipeline (the controller's): Effect ─┬─ rebuild ──▶ build + translate ──▶ Resources
//!                                          └─ endpoints only ──▶ ClusterLoadAssignments
//!            │                                                               │
//!            ▼                                                               ▼
//!     status changes, diagnostics (log)                Publisher ──▶ xDS server ──▶ Envoy
//!                                                  (files that never loaded: an   (child of
//!                                                   error in the log, repeated;   `--envoy`)
//!                                                   `--wait-for-all`: nothing
//!                                                   until every file has loaded)
//! ```
//!
//! The async loop only waits: for file events, the holdoff, signals, Envoy and the xDS
//! server. Reading, parsing and building run on a blocking thread, one reload at a time,
//! so SIGTERM is handled at once whatever is being parsed, and the process exits without
//! waiting for a reload under way.
//!
//! Why one file of this length: the loop and the state it owns (the pipeline, the last
//! good files, Envoy, the debug listener) are one select loop; reading files, Envoy and
//! the debug endpoint are in their own modules.
//!
//! What this module does **not** do: talk to a cluster or write statuses anywhere but the
//! log, or decide what a change affects and when to rebuild: it runs the same load and
//! check as `check` and `render`, the controller's pipeline (`ingressroute-pipeline`) and
//! the xDS server of `ingressroute-xds`.
//!
//! # Logs
//!
//! `serve` runs for long and logs through `tracing` (`RUST_LOG`, default `info`) on
//! standard error: each line carries its level (`INFO`, `WARN`, `ERROR`) where `check` and
//! `render` write `error:` or `warning:`. A WARN or ERROR about an object names its file,
//! document and line and the object, as `check` does (`a.yaml: document 2 (line 14):
//! IngressRoute default/home: ...`; a status change carries them as the `ingressroute`
//! and `at` fields), with control characters escaped.

mod debug;
pub mod envoy;
pub mod fed;
pub mod sources;
pub mod watch;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use ingressroute_api::DEFAULT_INGRESS_CLASS;
use ingressroute_dag::{Config, CurrentStatus, Dag};
use ingressroute_envoy::{Changes, EnvoyConfig, ResourceKind};
use ingressroute_pipeline::{Decision, Holdoff, Pipeline, Rebuild, Statuses, status_changes};
use ingressroute_xds::{Callbacks, Nack, Publisher, Server, StreamInfo};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::bootstrap::{self, DEFAULT_ADMIN_ADDRESS, DEFAULT_NODE_ID, DEFAULT_STATS_ADDRESS, DEFAULT_XDS_ADDRESS};
use crate::check;
use crate::load::Loaded;
use crate::output;
use envoy::Envoy;
use sources::Sources;

/// How long the xDS server gets to close its connections on the way out.
const SERVER_GRACE: Duration = Duration::from_secs(5);

/// How often the files that have never loaded are named again in the log.
const REMINDER: Duration = Duration::from_secs(10);

/// The arguments of `ingressroute serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Namespaces in which root IngressRoutes may be defined, comma-separated (default:
    /// any namespace).
    #[arg(long, value_name = "NS1,NS2")]
    pub root_namespaces: Option<String>,

    /// The ingress class served: IngressRoutes annotated with another class are ignored.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_INGRESS_CLASS)]
    pub ingress_class: String,

    /// Where the xDS server listens (port 0 picks a free port).
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_XDS_ADDRESS)]
    pub xds_address: SocketAddr,

    /// The address Envoy's HTTP and HTTPS listeners bind.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0")]
    pub http_address: IpAddr,

    /// The port of Envoy's HTTP listener.
    #[arg(long, value_name = "N", default_value_t = 8080)]
    pub http_port: u16,

    /// The port of Envoy's HTTPS listener.
    #[arg(long, value_name = "N", default_value_t = 8443)]
    pub https_port: u16,

    /// Allow ExternalName Services that point at `localhost` or at loopback, link-local
    /// or unspecified addresses (refused by default: they can reach Envoy's admin
    /// interface). For local development only.
    #[arg(long)]
    pub allow_loopback_external_names: bool,

    /// Also run this Envoy binary, with a bootstrap that points it at this server, and
    /// stop it on exit.
    #[arg(long, value_name = "ENVOY_BIN")]
    pub envoy: Option<PathBuf>,

    /// With `--envoy`: where Envoy's admin interface listens.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_ADMIN_ADDRESS)]
    pub admin_address: SocketAddr,

    /// With `--envoy`: where Envoy's `stats-health` listener (`/ready`, `/stats`) listens.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_STATS_ADDRESS)]
    pub stats_address: SocketAddr,

    /// Serve the delegation graph of the last build at `/debug/dag` on this address, as
    /// the controller does (DOT, `?format=mermaid|json|svg`); port 0 picks a free port.
    #[arg(long, value_name = "ADDR:PORT")]
    pub debug_address: Option<SocketAddr>,

    /// Serve nothing until every file has loaded once (by default the files that load
    /// are served at once, and each file that never loaded is an error in the log,
    /// repeated while it lasts).
    #[arg(long)]
    pub wait_for_all: bool,

    /// Files or directories to serve and watch (directories are walked recursively for
    /// *.yaml, *.yml and *.json).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

impl ServeArgs {
    /// The DAG configuration these arguments ask for.
    #[must_use]
    pub fn config(&self) -> Config {
        let mut config = check::config(self.root_namespaces.as_deref(), &self.ingress_class);
        config.allow_loopback_external_names = self.allow_loopback_external_names;
        config
    }

    /// The Envoy configuration these arguments ask for.
    #[must_use]
    pub fn envoy_config(&self) -> EnvoyConfig {
        let mut config = EnvoyConfig::default();
        config.http_address = self.http_address;
        config.https_address = self.http_address;
        config.http_port = self.http_port;
        config.https_port = self.https_port;
        config
    }
}

/// Why `serve` stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `-` (standard input) cannot be watched.
    #[error("serve reads files and directories; standard input (`-`) cannot be watched")]
    Stdin,
    /// The xDS server could not start or failed.
    #[error("the xDS server failed")]
    Server(#[source] ingressroute_xds::Error),
    /// The xDS server task ended unexpectedly.
    #[error("the xDS server stopped unexpectedly")]
    ServerStopped,
    /// The paths cannot be watched.
    #[error(transparent)]
    Watch(#[from] watch::Error),
    /// The signal handlers could not be installed.
    #[error("cannot listen for signals")]
    Signal(#[source] std::io::Error),
    /// Envoy's bootstrap could not be rendered.
    #[error(transparent)]
    Bootstrap(#[from] bootstrap::Error),
    /// Envoy could not be started.
    #[error(transparent)]
    Envoy(#[from] envoy::Error),
    /// Envoy exited by itself with an error.
    #[error("envoy exited: {0}")]
    EnvoyExited(ExitStatus),
    /// Envoy's exit status could not be read.
    #[error("cannot wait for envoy")]
    EnvoyWait(#[source] std::io::Error),
    /// The `--debug-address` listener could not be bound.
    #[error("cannot listen on {address} for /debug/dag")]
    Debug {
        /// The address.
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Reading the files failed unexpectedly (a bug).
    #[error("reading the files failed")]
    Reload(#[source] tokio::task::JoinError),
}

/// The pipeline, and what was served last, to log only what changes.
#[derive(Debug)]
struct State {
    pipeline: Pipeline,
    /// What the pipeline was given, so that a reload gives it only what changed.
    fed: fed::Fed,
    wait_for_all: bool,
    published: bool,
    statuses: Statuses,
    diagnostics: BTreeSet<String>,
    /// With `--debug-address`: where the graph of every build goes.
    graph: Option<tokio::sync::watch::Sender<Option<Arc<ingressroute_pipeline::graph::ObjectGraph>>>>,
}

/// The files and what was served of them: moved to a blocking thread for each reload,
/// so that reading and parsing never hold up signals or the xDS server.
#[derive(Debug)]
struct Work {
    sources: Sources,
    state: State,
}

impl Work {
    /// Reads the files again and, if what they give changed (or nothing was published
    /// yet), builds and publishes it.
    fn reload(&mut self, publisher: &Publisher) {
        if self.sources.reload() || !self.state.published {
            self.state.rebuild(&self.sources, publisher);
        }
    }

    /// Says again which files have never loaded.
    fn remind(&self) {
        for path in self.sources.never_loaded() {
            say_never_loaded(path);
        }
    }
}

fn say_never_loaded(path: &std::path::Path) {
    let shown = crate::load::display_path(path);
    error!(file = %shown, "{shown}: has never loaded; none of its objects are served");
}

impl State {
    /// Gives the pipeline the sources' last good objects, and publishes what that calls
    /// for: a new build, or new endpoints only. Before the first publish, a file that has
    /// never loaded is an error in the log and the others are served; with
    /// `--wait-for-all`, nothing is served until every file has loaded once.
    fn rebuild(&mut self, sources: &Sources, publisher: &Publisher) {
        if !self.published && !sources.complete() {
            if self.wait_for_all {
                let broken: Vec<String> = sources.broken().map(|p| p.display().to_string()).collect();
                warn!(
                    broken = ?broken,
                    "not serving yet: every file must load once before the first configuration is served (--wait-for-all)"
                );
                return;
            }
            for path in sources.never_loaded() {
                say_never_loaded(path);
            }
        }
        let merged = sources.merged();
        let effect = self.fed.feed(&mut self.pipeline, &merged);
        if effect.rebuild || !self.published {
            let rebuild = self.pipeline.rebuild();
            if let Some(graph) = &self.graph {
                let drawn =
                    ingressroute_pipeline::graph::ObjectGraph::new(self.pipeline.store().objects(), &rebuild.dag);
                graph.send_replace(Some(Arc::new(drawn)));
            }
            self.publish(rebuild, publisher);
        } else if self.pipeline.endpoints_matter(&effect.endpoints) {
            let changes = self.pipeline.update_endpoints(&effect.endpoints);
            if let Some(dag) = self.pipeline.dag().cloned()
                && self.publish_changes(changes, &dag, publisher) == Some(true)
            {
                info!(services = effect.endpoints.len(), "serving new endpoints");
            }
        }
        self.log(&merged);
        retire(merged);
    }

    /// Publishes a build (Envoy first: the logs can wait).
    fn publish(&mut self, rebuild: Rebuild, publisher: &Publisher) {
        let Some(changed) = self.publish_changes(rebuild.resources, &rebuild.dag, publisher) else {
            return;
        };
        if changed || !self.published {
            let counts = ResourceKind::ALL
                .iter()
                .map(|kind| format!("{kind}s: {}", self.pipeline.resource_count(*kind)))
                .collect::<Vec<_>>()
                .join(", ");
            info!("serving {counts}");
        } else {
            debug!("rebuilt; nothing changed");
        }
        self.published = true;
        retire(rebuild.dag);
    }

    /// Publishes what a translation changed, derived from the served snapshot; whether
    /// anything changed, `None` when the result is not consistent (a bug, logged).
    fn publish_changes(&self, changes: Changes, dag: &Arc<Dag>, publisher: &Publisher) -> Option<bool> {
        let resolver = ingressroute_pipeline::resolver(Arc::clone(dag), self.pipeline.envoy_config().clone());
        let pipeline = &self.pipeline;
        match publisher.publish_changes(changes.upserts, changes.removals, || pipeline.resources(), resolver) {
            Ok(changed) => Some(changed),
            Err(error) => {
                error!(
                    error = %ingressroute_envoy::error_chain(&error),
                    "the new configuration is not consistent (a bug); the previous one is still served"
                );
                None
            }
        }
    }

    /// Logs what `check` would say that is new, and every status that changed.
    fn log(&mut self, loaded: &Loaded) {
        let Some(dag) = self.pipeline.dag() else {
            return;
        };
        // Every file's objects were checked against the schema when the file was read.
        let found = check::diagnostics(loaded, dag, self.pipeline.store(), check::Schema::AlreadyValidated);
        let diagnostics: BTreeSet<String> = loaded
            .warnings()
            .map(ToString::to_string)
            .chain(found.iter().map(ToString::to_string))
            .map(|line| output::escape_control(&line).into_owned())
            .collect();
        for diagnostic in diagnostics.difference(&self.diagnostics) {
            warn!("{diagnostic}");
        }
        self.diagnostics = diagnostics;

        let statuses = self.pipeline.statuses();
        let changes = status_changes(&self.statuses, &statuses);
        if !changes.is_empty() {
            let locations = loaded.ingress_route_locations();
            for change in changes {
                let line = output::escape_control(&change.to_string()).into_owned();
                match &change.status {
                    Some((CurrentStatus::Valid, _)) | None => {
                        info!(ingressroute = %change.object, "status: {line}");
                    }
                    Some(_) => match locations.get(&change.object) {
                        Some(location) => warn!(ingressroute = %change.object, at = %location, "status: {line}"),
                        None => warn!(ingressroute = %change.object, "status: {line}"),
                    },
                }
            }
        }
        retire(std::mem::replace(&mut self.statuses, statuses));
    }
}

/// The xDS server's callbacks: a NACK is logged at `WARN` with Envoy's message, the
/// resources of the rejected response and the IngressRoutes behind them.
#[derive(Debug)]
struct LogNacks;

impl Callbacks for LogNacks {
    fn on_nack(&self, stream: &StreamInfo, nack: &Nack<'_>) {
        nack.log(stream);
    }
}

/// Drops `value` on a blocking thread: freeing tens of thousands of objects takes tens of
/// milliseconds the next rebuild (or Envoy) should not wait for.
fn retire<T: Send + 'static>(value: T) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(move || drop(value))),
        Err(_) => drop(value),
    }
}

/// Runs `ingressroute serve` until SIGINT or SIGTERM, or until the Envoy it started
/// exits.
///
/// # Errors
///
/// When the xDS server cannot listen or fails, the paths cannot be watched, Envoy cannot
/// be started or exits with an error (see [`Error`]). Broken manifests are not errors:
/// they are logged, and the last good version of each file is served.
pub async fn run(args: ServeArgs) -> Result<(), Error> {
    if args.paths.iter().any(|p| p.as_os_str() == crate::load::STDIN) {
        return Err(Error::Stdin);
    }
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Error::Signal)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(Error::Signal)?;

    let publisher = Publisher::new();
    let server = Server::bind(args.xds_address, publisher.snapshots())
        .await
        .map_err(Error::Server)?
        .with_callbacks(LogNacks);
    let xds = server.local_addr();
    let (stop_server, server_stopped) = oneshot::channel::<()>();
    let mut serving = tokio::spawn(server.serve(async move {
        let _ = server_stopped.await;
    }));

    let (graph, debug) = match args.debug_address {
        Some(address) => {
            let (listener, bound) = debug::bind(address)
                .await
                .map_err(|source| Error::Debug { address, source })?;
            let (graph, latest) = tokio::sync::watch::channel(None);
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(debug::serve(listener, latest, async move {
                let _ = stopped.await;
            }));
            info!(address = %bound, "serving the delegation graph at /debug/dag");
            (Some(graph), Some((stop, task)))
        }
        None => (None, None),
    };

    let (changes, mut changed) = mpsc::unbounded_channel();
    let mut watcher = watch::watch(&args.paths, changes)?;

    let mut work = Some(Work {
        sources: Sources::new(args.paths.clone()),
        state: State {
            pipeline: Pipeline::new(args.config(), args.envoy_config()),
            fed: fed::Fed::default(),
            wait_for_all: args.wait_for_all,
            published: false,
            statuses: Statuses::new(),
            diagnostics: BTreeSet::new(),
            graph,
        },
    });
    // The reload under way, on a blocking thread; `pending` asks for one more.
    let mut job: Option<JoinHandle<Work>> = None;
    let mut pending = true;

    let mut envoy = match &args.envoy {
        Some(binary) => {
            let config = bootstrap::bootstrap_config(
                &bootstrap::dial_address(xds),
                args.admin_address,
                args.stats_address,
                false,
                DEFAULT_NODE_ID,
            );
            let envoy = Envoy::start(binary, &bootstrap::bootstrap_json(&config)?)?;
            info!(
                http = %SocketAddr::new(args.http_address, args.http_port),
                https = %SocketAddr::new(args.http_address, args.https_port),
                admin = %args.admin_address,
                "envoy listeners"
            );
            Some(envoy)
        }
        None => None,
    };

    // Contour's holdoff, its clock started with the loop. It decides when the files are
    // read again: a change after a quiet period at once, so the watcher reports only
    // completed writes (see `watch`).
    let mut holdoff = Holdoff::new(now());
    let mut reminder = tokio::time::interval_at(Instant::now() + REMINDER, REMINDER);
    let outcome = loop {
        if pending
            && job.is_none()
            && let Some(mut taken) = work.take()
        {
            pending = false;
            // Before reading: a directory created again must be watched before its files
            // are read, or a file written in between would go unnoticed.
            watcher.refresh();
            let publisher = publisher.clone();
            job = Some(tokio::task::spawn_blocking(move || {
                taken.reload(&publisher);
                taken
            }));
        }
        let deadline = holdoff.deadline().map(Instant::from_std);
        tokio::select! {
            Some(()) = changed.recv() => {
                if holdoff.changed(now()) == Decision::RebuildNow {
                    holdoff.rebuilt(now());
                    pending = true;
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => {
                holdoff.rebuilt(now());
                pending = true;
            }
            done = finished(&mut job) => {
                job = None;
                match done {
                    Ok(returned) => work = Some(returned),
                    Err(error) => break Err(Error::Reload(error)),
                }
            }
            _ = reminder.tick() => {
                if let Some(work) = &work {
                    work.remind();
                }
            }
            _ = interrupt.recv() => {
                info!("SIGINT: shutting down");
                break Ok(());
            }
            _ = terminate.recv() => {
                info!("SIGTERM: shutting down");
                break Ok(());
            }
            status = exited(&mut envoy) => break match status {
                Ok(status) if status.success() => {
                    info!("envoy exited; shutting down");
                    Ok(())
                }
                Ok(status) => Err(Error::EnvoyExited(status)),
                Err(error) => Err(Error::EnvoyWait(error)),
            },
            result = &mut serving => break match result {
                Ok(Err(error)) => Err(Error::Server(error)),
                _ => Err(Error::ServerStopped),
            },
        }
    };

    // A reload under way (a large file being parsed) is left to finish on its own: the
    // process exits without waiting for it.
    drop(watcher);
    if let Some(envoy) = envoy.take() {
        envoy.stop().await;
    }
    if let Some((stop, task)) = debug {
        let _ = stop.send(());
        if let Ok(Ok(Err(error))) = tokio::time::timeout(SERVER_GRACE, task).await {
            warn!(%error, "the /debug/dag listener failed");
        }
    }
    let _ = stop_server.send(());
    if !serving.is_finished() && tokio::time::timeout(SERVER_GRACE, &mut serving).await.is_err() {
        warn!("the xDS server did not stop in time");
        serving.abort();
    }
    outcome
}

/// The holdoff's clock: tokio's, as the deadlines it gives are slept on with tokio.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

async fn finished(job: &mut Option<JoinHandle<Work>>) -> Result<Work, tokio::task::JoinError> {
    match job {
        Some(job) => job.await,
        None => std::future::pending().await,
    }
}

async fn exited(envoy: &mut Option<Envoy>) -> std::io::Result<ExitStatus> {
    match envoy {
        Some(envoy) => envoy.exited().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_listeners_take_the_http_address_and_both_ports() {
        use clap::Parser as _;
        let cli = crate::Cli::parse_from([
            "ingressroute",
            "serve",
            "--http-address",
            "127.0.0.1",
            "--http-port",
            "18080",
            "--https-port",
            "18443",
            "--allow-loopback-external-names",
            "dir",
        ]);
        let crate::Command::Serve(args) = cli.command else {
            panic!("serve");
        };
        let envoy = args.envoy_config();
        assert_eq!(envoy.http_address.to_string(), "127.0.0.1");
        assert_eq!(envoy.https_address.to_string(), "127.0.0.1");
        assert_eq!((envoy.http_port, envoy.https_port), (18080, 18443));
        assert!(args.config().allow_loopback_external_names);
        assert_eq!(args.xds_address.to_string(), "127.0.0.1:8001");
    }
}
