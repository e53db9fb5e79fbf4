//! The HTTP endpoints: `/healthz` (the process runs), `/readyz` (every watch has listed
//! and the first snapshot is served), `/metrics` (Prometheus text format) and
//! `/debug/dag` (the live delegation graph, as Contour served it: DOT by default,
//! `?format=mermaid|json|svg`, `?focus=namespace/name`).

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ingressroute_pipeline::graph::{GraphQuery, ObjectGraph};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use crate::metrics::Metrics;

/// What the handlers read.
#[derive(Debug, Clone)]
pub(crate) struct Probes {
    /// Turns true once the controller is ready.
    pub(crate) ready: watch::Receiver<bool>,
    /// The metrics to expose.
    pub(crate) metrics: Arc<Metrics>,
    /// Where `/debug/dag` asks the event loop for the graph of its last build.
    pub(crate) graphs: mpsc::Sender<GraphRequest>,
}

/// A request for the graph of the last build: the event loop answers `None` before the
/// first build.
pub(crate) type GraphRequest = oneshot::Sender<Option<ObjectGraph>>;

/// Which endpoints a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Endpoints {
    /// `/metrics`.
    pub(crate) metrics: bool,
    /// `/healthz` and `/readyz`.
    pub(crate) health: bool,
    /// `/debug/dag`.
    pub(crate) debug: bool,
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
    if endpoints.debug {
        router = router.route("/debug/dag", get(debug_dag));
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

async fn debug_dag(State(probes): State<Probes>, uri: Uri) -> Response {
    let query = match GraphQuery::parse(uri.query()) {
        Ok(query) => query,
        Err(error) => return (StatusCode::BAD_REQUEST, format!("{error}\n")).into_response(),
    };
    let (reply, graph) = oneshot::channel();
    if probes.graphs.send(reply).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the controller is stopping\n").into_response();
    }
    let graph = match graph.await {
        Ok(Some(graph)) => graph,
        Ok(None) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "nothing built yet: waiting for the first list of every watched kind\n",
            )
                .into_response();
        }
        Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, "the controller is stopping\n").into_response(),
    };
    // Laying out a large SVG takes a while: off the async workers.
    let content_type = query.format.content_type();
    match tokio::task::spawn_blocking(move || query.answer(&graph)).await {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, content_type)], text).into_response(),
        Ok(Err(error)) => (StatusCode::NOT_FOUND, format!("{error}\n")).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "the graph could not be drawn\n").into_response(),
    }
}
