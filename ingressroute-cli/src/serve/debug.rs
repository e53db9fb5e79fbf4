//! `serve --debug-address`: the delegation graph of the last build at `/debug/dag`, as the
//! controller serves it (DOT by default, `?format=mermaid|json|svg`, `?focus=namespace/name`).
//!
//! The reload thread sends the graph of every build on a watch channel (only when this
//! listener is asked for); the handler draws the latest on request.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ingressroute_pipeline::graph::{GraphQuery, ObjectGraph};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The graph of the last build, `None` before the first.
pub(crate) type Latest = watch::Receiver<Option<Arc<ObjectGraph>>>;

/// Binds `address`; the address bound (port 0 picks one).
pub(crate) async fn bind(address: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

/// Serves `/debug/dag` on `listener` until `shutdown` completes.
pub(crate) async fn serve(
    listener: TcpListener,
    latest: Latest,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = Router::new().route("/debug/dag", get(dag)).with_state(latest);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn dag(State(latest): State<Latest>, uri: Uri) -> Response {
    let query = match GraphQuery::parse(uri.query()) {
        Ok(query) => query,
        Err(error) => return (StatusCode::BAD_REQUEST, format!("{error}\n")).into_response(),
    };
    let Some(graph) = latest.borrow().clone() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "nothing built yet: the files are being read\n",
        )
            .into_response();
    };
    // Laying out a large SVG takes a while: off the async workers.
    let content_type = query.format.content_type();
    match tokio::task::spawn_blocking(move || query.answer(&graph)).await {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, content_type)], text).into_response(),
        Ok(Err(error)) => (StatusCode::NOT_FOUND, format!("{error}\n")).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "the graph could not be drawn\n").into_response(),
    }
}
