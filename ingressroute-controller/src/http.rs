//! The HTTP endpoints: `/healthz` (the process runs), `/readyz` (every watch has listed
//! and the first snapshot is served) and `/metrics` (Prometheus text format).

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::Metrics;

/// What the handlers read.
#[derive(Debug, Clone)]
pub(crate) struct Probes {
    /// Turns true once the controller is ready.
    pub(crate) ready: watch::Receiver<bool>,
    /// The metrics to expose.
    pub(crate) metrics: Arc<Metrics>,
}

/// Which endpoints a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Endpoints {
    /// `/metrics`.
    pub(crate) metrics: bool,
    /// `/healthz` and `/readyz`.
    pub(crate) health: bool,
}

/// The router of one listener.
pub(crate) fn router(probes: Probes, endpoints: Endpoints) -> Router {
    let mut router = Router::new();
    if endpoints.health {
        router = router.route("/healthz", get(healthz)).route("/readyz", get(readyz));
    }
    if endpoints.metrics {
        router = router.route("/metrics", get(metrics));
    }
    router.with_state(probes)
}

/// Serves `router` on `listener` until `shutdown` completes.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(probes): State<Probes>) -> impl IntoResponse {
    if *probes.ready.borrow() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for the first list of every watched kind\n",
        )
    }
}

async fn metrics(State(probes): State<Probes>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        probes.metrics.render(),
    )
}
