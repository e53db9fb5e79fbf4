#![doc = include_str!("../README.md")]
//!
//! # The library
//!
//! The `ingressroute-controller` binary parses [`Args`], sets up logging and calls
//! [`run`]. Tests (and anyone embedding the controller) call [`start`] with
//! [`Settings`] and a [`kube::Client`] of their own, and get a [`Running`] controller
//! whose listeners, readiness, leadership and [`Metrics`] they can inspect.
//!
//! What this crate does **not** do: decide anything about IngressRoutes
//! (`ingressroute-dag` does), produce Envoy configuration (`ingressroute-envoy` does), or
//! speak xDS (`ingressroute-xds` does). It only connects them to
//! a cluster.

pub mod args;
mod controller;
mod event_loop;
mod http;
mod leader;
pub mod metrics;
pub mod settings;
mod status;
mod watch;
pub mod xds_metrics;

use std::net::SocketAddr;

pub use args::{Args, ArgsError, LogFormat};
pub use controller::{Running, USER_AGENT, client, client_from, start};
pub use metrics::Metrics;
pub use settings::Settings;

/// Why the controller could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The flags contradict each other.
    #[error("invalid flags")]
    Args(#[source] ArgsError),
    /// No usable API server configuration (kubeconfig, in-cluster or URL).
    #[error("cannot configure the Kubernetes client")]
    Config(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The Kubernetes client could not be built.
    #[error("cannot build the Kubernetes client")]
    Client(#[source] kube::Error),
    /// The xDS server could not start.
    #[error("cannot start the xDS server")]
    Xds(#[source] ingressroute_xds::Error),
    /// An HTTP listener could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The shutdown signals could not be installed.
    #[error("cannot install the signal handlers")]
    Signals(#[source] std::io::Error),
}

/// Runs the controller the flags describe until SIGINT or SIGTERM, then shuts down
/// gracefully (releasing the leader Lease).
///
/// # Errors
///
/// When the flags are inconsistent, the client cannot be configured, a listener cannot
/// be bound or the signal handlers cannot be installed.
pub async fn run(args: Args) -> Result<(), Error> {
    let settings = args.settings().map_err(Error::Args)?;
    let client = client(args.api_server.as_deref(), args.kubeconfig.as_deref(), args.incluster).await?;
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(Error::Signals)?;
    let running = start(settings, client).await?;
    running
        .run_until(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        })
        .await;
    Ok(())
}
