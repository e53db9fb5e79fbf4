//! The end-to-end harness: backends on loopback, certificates made at test time, clients,
//! manifests, and a [`World`]: the real `ingressroute serve` binary with a real Envoy.
//!
//! ```text
//!  test ──▶ client (HTTP/1.1, TLS, TCP, WebSocket) ──▶ Envoy listeners (127.0.0.1:free)
//!                                                        │   ▲ xDS (SotW from `serve --envoy`,
//!                                                        │   │      or delta with `bootstrap --delta`)
//!                                                        ▼   │
//!                       backends (127.0.0.1:ephemeral) ◀─┘  ingressroute serve ◀── manifests
//!                       answer with their name, the          (a child process     in a temp dir,
//!                       path and the headers they saw)        group of its own)    v1 Endpoints at
//!                                                                                  the backends
//! ```
//!
//! Waiting is always polling with a deadline ([`eventually`]), never a fixed sleep that an
//! assertion depends on.
//!
//! The propagation benchmark (`benches/propagation.rs`) includes this module too, by path.

pub mod backend;
pub mod client;
pub mod manifests;
pub mod pki;
pub mod world;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use world::{Setup, World};

/// How long anything that must happen may take (Envoy starting, a change converging).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The Envoy binary for a test: without one, under `CI=true` the test fails; otherwise
/// this says so loudly, once, and returns `None` so that the test skips.
pub fn envoy_binary() -> Option<PathBuf> {
    ingressroute_fixtures::envoy_binary("the end-to-end tests")
}

/// Retries `attempt` every 50 ms until it returns `Ok`, for at most [`PATIENCE`]; panics
/// with `what` and the last error after that.
pub async fn eventually<T, F, Fut>(what: &str, attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    eventually_within(PATIENCE, what, attempt).await
}

/// [`eventually`], with another deadline than [`PATIENCE`].
pub async fn eventually_within<T, F, Fut>(patience: Duration, what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + patience;
    loop {
        let last = match tokio::time::timeout(patience, attempt()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(error)) => error,
            Err(_) => "the attempt itself took too long".to_owned(),
        };
        assert!(
            Instant::now() < deadline,
            "gave up after {patience:?} waiting for {what}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
