//! The composition root: binds the listeners, starts every task and hands back a
//! [`Running`] controller.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ingressroute_xds::{Publisher, Server, Snapshot};
use kube::Client;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::event_loop::{EventLoop, Outputs};
use crate::http::{self, Probes};
use crate::leader::Elector;
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::status::{PendingStatuses, StatusWriter};
use crate::xds_metrics::XdsCallbacks;
use crate::{Error, watch as watches};

/// How many watch events may wait for the event loop before the watches wait too.
const EVENT_QUEUE: usize = 4096;
/// How many `/debug/dag` requests may wait for the event loop at once.
const GRAPH_REQUESTS: usize = 8;
/// How long [`Running::shutdown`] waits for the tasks to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A controller that runs: watches, event loop, xDS server, status writer, leader
/// election and HTTP endpoints, each a task. Dropping it aborts them all (as a kill
/// would); [`Running::shutdown`] stops them in order and hands the Lease back.
#[derive(Debug)]
pub struct Running {
    xds_address: SocketAddr,
    metrics_address: SocketAddr,
    health_address: SocketAddr,
    metrics: Arc<Metrics>,
    publisher: Publisher,
    ready: watch::Receiver<bool>,
    leader: watch::Receiver<bool>,
    /// The leadership of a replica without leader election (always true).
    _fixed_leader: Option<watch::Sender<bool>>,
    shutdown: watch::Sender<bool>,
    /// Tasks that end by themselves on shutdown.
    tasks: Vec<JoinHandle<()>>,
    /// The watches, which never end by themselves.
    watches: Vec<JoinHandle<()>>,
}

/// Starts a controller with `settings`, talking to the API server through `client`.
///
/// Every listener is bound before this returns (port 0 picks a free port: see
/// [`Running::xds_address`] and friends). The xDS server accepts Envoys at once but
/// answers nothing until every watch has listed once and the first snapshot is built.
///
/// # Errors
///
/// [`Error::Xds`] or [`Error::Bind`] when a listener cannot be bound.
pub async fn start(settings: Settings, client: Client) -> Result<Running, Error> {
    let metrics = Arc::new(Metrics::default());
    let (shutdown, stopped) = watch::channel(false);
    let publisher = Publisher::new();
    let mut tasks = Vec::new();

    // xDS.
    let mut server = Server::bind(settings.xds_address, publisher.snapshots())
        .await
        .map_err(Error::Xds)?
        .with_callbacks(XdsCallbacks(Arc::clone(&metrics)));
    if let Some(tls) = &settings.xds_tls {
        server = server.with_tls(tls).map_err(Error::Xds)?;
    }
    let xds_address = server.local_addr();
    let until = stop_signal(stopped.clone());
    tasks.push(tokio::spawn(async move {
        if let Err(error) = server.serve(until).await {
            warn!(error = %ingressroute_envoy::error_chain(&error), "the xDS server stopped");
        }
    }));

    // Readiness and leadership.
    let (ready_tx, ready) = watch::channel(false);
    let (leader_tx, leader) = watch::channel(settings.leader_election.is_none());
    metrics.set_leader(settings.leader_election.is_none());

    // HTTP.
    let (graphs_tx, graphs_rx) = mpsc::channel(GRAPH_REQUESTS);
    let probes = Probes {
        ready: ready.clone(),
        metrics: Arc::clone(&metrics),
        graphs: graphs_tx,
    };
    let metrics_listener = bind(settings.metrics_address).await?;
    let metrics_address = metrics_listener.local_addr().map_err(|source| Error::Bind {
        address: settings.metrics_address,
        source,
    })?;
    let health_address = if settings.health_address == settings.metrics_address {
        tasks.push(spawn_http(
            metrics_listener,
            http::router(
                probes,
                http::Endpoints {
                    metrics: true,
                    health: true,
                    debug: true,
                },
            ),
            &stopped,
        ));
        metrics_address
    } else {
        let health_listener = bind(settings.health_address).await?;
        let health_address = health_listener.local_addr().map_err(|source| Error::Bind {
            address: settings.health_address,
            source,
        })?;
        tasks.push(spawn_http(
            metrics_listener,
            http::router(
                probes.clone(),
                http::Endpoints {
                    metrics: true,
                    health: false,
                    debug: true,
                },
            ),
            &stopped,
        ));
        tasks.push(spawn_http(
            health_listener,
            http::router(
                probes,
                http::Endpoints {
                    metrics: false,
                    health: true,
                    debug: false,
                },
            ),
            &stopped,
        ));
        health_address
    };

    // Status writing, while leading.
    let pending = Arc::new(PendingStatuses::default());
    metrics.set_pending(Arc::clone(&pending));
    let writer = StatusWriter::new(
        client.clone(),
        Arc::clone(&pending),
        leader.clone(),
        settings.status_rate,
        Arc::clone(&metrics),
    );
    tasks.push(tokio::spawn(writer.run(stopped.clone())));

    // Without an election this replica leads for good: the sender stays with `Running`.
    let fixed_leader = match settings.leader_election.clone() {
        Some(election) => {
            let elector = Elector::new(client.clone(), &settings.namespace, election, Arc::clone(&metrics));
            tasks.push(tokio::spawn(elector.run(leader_tx, stopped.clone())));
            None
        }
        None => Some(leader_tx),
    };

    // The event loop, and the watches feeding it.
    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
    let event_loop = EventLoop::new(
        settings.dag.clone(),
        settings.envoy.clone(),
        settings.holdoff,
        Outputs {
            publisher: publisher.clone(),
            pending,
            ready: ready_tx,
        },
        Arc::clone(&metrics),
    );
    tasks.push(tokio::spawn(event_loop.run(events_rx, graphs_rx, stopped)));
    let watches = watches::spawn_all(&client, &settings, &events_tx, &metrics);

    info!(
        xds = %xds_address,
        metrics = %metrics_address,
        health = %health_address,
        xds_tls = settings.xds_tls.is_some(),
        leader_election = settings.leader_election.is_some(),
        "controller started"
    );
    Ok(Running {
        xds_address,
        metrics_address,
        health_address,
        metrics,
        publisher,
        ready,
        leader,
        _fixed_leader: fixed_leader,
        shutdown,
        tasks,
        watches,
    })
}

async fn bind(address: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(address)
        .await
        .map_err(|source| Error::Bind { address, source })
}

fn spawn_http(listener: TcpListener, router: axum::Router, stopped: &watch::Receiver<bool>) -> JoinHandle<()> {
    let until = stop_signal(stopped.clone());
    tokio::spawn(async move {
        if let Err(error) = http::serve(listener, router, until).await {
            warn!(%error, "an HTTP listener stopped");
        }
    })
}

/// Completes when the shutdown flag turns true (or its sender goes away).
async fn stop_signal(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

impl Running {
    /// Where the xDS server listens.
    #[must_use]
    pub fn xds_address(&self) -> SocketAddr {
        self.xds_address
    }

    /// Where `/metrics` is served.
    #[must_use]
    pub fn metrics_address(&self) -> SocketAddr {
        self.metrics_address
    }

    /// Where `/healthz` and `/readyz` are served.
    #[must_use]
    pub fn health_address(&self) -> SocketAddr {
        self.health_address
    }

    /// The controller's counters.
    #[must_use]
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The snapshot served now, if any.
    #[must_use]
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.publisher.current()
    }

    /// Whether every watch has listed and the first snapshot is served.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Whether this replica writes statuses now.
    #[must_use]
    pub fn is_leader(&self) -> bool {
        *self.leader.borrow()
    }

    /// Waits until the controller is ready.
    pub async fn ready(&self) {
        let mut ready = self.ready.clone();
        let _ = ready.wait_for(|r| *r).await;
    }

    /// Waits until this replica's leadership is `leading`.
    pub async fn leading(&self, leading: bool) {
        let mut leader = self.leader.clone();
        let _ = leader.wait_for(|l| *l == leading).await;
    }

    /// Runs until `signal` completes, then shuts down.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }

    /// Stops every task: the Lease is released if held, the listeners close. Waits up
    /// to ten seconds, then aborts what is left.
    pub async fn shutdown(mut self) {
        info!("shutting down");
        for task in std::mem::take(&mut self.watches) {
            task.abort();
        }
        self.shutdown.send_replace(true);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for mut task in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
    }

    /// Aborts every task at once, as if the process were killed: nothing is released.
    pub fn abort(self) {
        drop(self);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in self.tasks.iter().chain(&self.watches) {
            task.abort();
        }
    }
}

/// Builds the API client the flags ask for (see [`crate::Args`]).
///
/// # Errors
///
/// [`Error::Config`] when no configuration can be found or read, [`Error::Client`] when
/// the client cannot be built from it.
pub async fn client(
    api_server: Option<&str>,
    kubeconfig: Option<&std::path::Path>,
    incluster: bool,
) -> Result<Client, Error> {
    let config = if let Some(url) = api_server {
        let uri = url.parse::<axum::http::Uri>().map_err(|e| Error::Config(Box::new(e)))?;
        kube::Config::new(uri)
    } else if let Some(path) = kubeconfig {
        let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| Error::Config(Box::new(e)))?;
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| Error::Config(Box::new(e)))?
    } else if incluster {
        kube::Config::incluster().map_err(|e| Error::Config(Box::new(e)))?
    } else {
        kube::Config::infer().await.map_err(|e| Error::Config(Box::new(e)))?
    };
    client_from(config)
}

/// The User-Agent of every request the controller's client sends.
pub const USER_AGENT: &str = concat!("ingressroute-controller/", env!("CARGO_PKG_VERSION"));

/// Builds a client for `config` that sends [`USER_AGENT`] with every request, so that API
/// server audit logs and metrics name the controller. [`client`] builds its client with it;
/// an embedder that passes [`start`] a client of its own chooses its own User-Agent.
///
/// # Errors
///
/// [`Error::Client`] when the client cannot be built from `config`.
pub fn client_from(mut config: kube::Config) -> Result<Client, Error> {
    config.headers.push((
        axum::http::header::USER_AGENT,
        axum::http::HeaderValue::from_static(USER_AGENT),
    ));
    Client::try_from(config).map_err(Error::Client)
}
