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
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use world::{Setup, World};

/// How long anything that must happen may take (Envoy starting, a change converging).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The Envoy binary: `ENVOY_BIN` if set, else the workspace's `.envoy/venv/bin/envoy`
/// (`cargo xtask envoy`); without one, why not and how to install it.
pub fn find_envoy() -> Result<PathBuf, String> {
    let (path, from) = match std::env::var_os("ENVOY_BIN") {
        Some(path) => (PathBuf::from(path), "ENVOY_BIN"),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.envoy/venv/bin/envoy"),
            "the workspace's .envoy/venv",
        ),
    };
    if path.is_file() {
        return Ok(path);
    }
    Err(format!(
        "no Envoy binary at {} (from {from}); install it with `cargo xtask envoy` or set ENVOY_BIN",
        path.display()
    ))
}

/// [`find_envoy`], for a test. Without a binary, under `CI=true` the test fails; otherwise
/// this says so loudly, once, and returns `None` so that the test skips.
pub fn envoy_binary() -> Option<PathBuf> {
    let message = match find_envoy() {
        Ok(path) => return Some(path),
        Err(message) => message,
    };
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true"),
        "{message} (CI=true: the end-to-end tests must run)"
    );
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        let banner = "!".repeat(78);
        // Straight to the process's stderr: the harness captures the output of passing
        // tests, and a skip must not go unnoticed.
        let _ = writeln!(
            std::io::stderr(),
            "\n{banner}\n!!! SKIPPING the end-to-end tests: {message}\n{banner}\n"
        );
    });
    None
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
