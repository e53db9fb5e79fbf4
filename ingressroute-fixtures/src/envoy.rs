//! Where the tests and benchmarks find the Envoy binary they run.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// The Envoy binary: `ENVOY_BIN` if set, else the workspace's `.envoy/venv/bin/envoy`
/// (installed by `cargo xtask envoy`); without one, why not and how to install it.
///
/// # Errors
///
/// The message to show when there is no binary at that path.
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

/// [`find_envoy`], for the tests named by `what` (e.g. "the end-to-end tests"). Without a
/// binary, under `CI=true` the calling test fails; otherwise this says so loudly, once per
/// test binary, and returns `None` so that the test skips.
///
/// # Panics
///
/// Under `CI=true` when there is no binary.
#[must_use]
pub fn envoy_binary(what: &str) -> Option<PathBuf> {
    let message = match find_envoy() {
        Ok(path) => return Some(path),
        Err(message) => message,
    };
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true"),
        "{message} (CI=true: {what} must run)"
    );
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        let banner = "!".repeat(78);
        // Straight to the process's stderr: the harness captures the output of passing
        // tests, and a skip must not go unnoticed.
        let _ = writeln!(
            std::io::stderr(),
            "\n{banner}\n!!! SKIPPING {what}: {message}\n{banner}\n"
        );
    });
    None
}
