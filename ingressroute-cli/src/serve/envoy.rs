//! Envoy as a child process of `serve --envoy`.
//!
//! ```text
//!  bootstrap JSON ──▶ <temp dir>/bootstrap.json
//!                          │
//!  ENVOY_BIN -c bootstrap.json --disable-hot-restart --base-id N --log-level warn
//!      │ stdout (access logs), stderr (Envoy's log)
//!      ▼
//!  one tracing event per line, target "envoy"
//! ```
//!
//! [`Envoy::stop`] sends SIGTERM, waits up to five seconds and then kills; dropping an
//! [`Envoy`] kills the process too, so that it never outlives `serve` by accident. The
//! temporary directory goes when the [`Envoy`] does.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tracing::{info, warn};

/// How long Envoy gets to exit after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// Why Envoy could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The temporary directory or the bootstrap file could not be written.
    #[error("cannot write Envoy's bootstrap")]
    Bootstrap(#[source] std::io::Error),
    /// The binary could not be run.
    #[error("cannot run {}", .binary.display())]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A running Envoy.
#[derive(Debug)]
pub struct Envoy {
    child: Child,
    bootstrap: PathBuf,
    _dir: tempfile::TempDir,
}

impl Envoy {
    /// Writes `bootstrap` (JSON) into a new temporary directory and starts `binary` on it,
    /// forwarding its output to the log.
    ///
    /// # Errors
    ///
    /// [`Error::Bootstrap`] if the file cannot be written, [`Error::Spawn`] if the binary
    /// cannot be started.
    pub fn start(binary: &Path, bootstrap: &str) -> Result<Self, Error> {
        let dir = tempfile::Builder::new()
            .prefix("ingressroute-envoy-")
            .tempdir()
            .map_err(Error::Bootstrap)?;
        let path = dir.path().join("bootstrap.json");
        std::fs::write(&path, bootstrap).map_err(Error::Bootstrap)?;
        let mut child = Command::new(binary)
            .arg("-c")
            .arg(&path)
            // Hot restart shares memory between Envoys of the same base id; it is not used
            // here, and a unique base id keeps several Envoys on one machine apart anyway.
            .arg("--disable-hot-restart")
            .arg("--base-id")
            .arg(base_id().to_string())
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| Error::Spawn {
                binary: binary.to_owned(),
                source,
            })?;
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(forward(stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward(stderr));
        }
        info!(
            pid = child.id(),
            binary = %binary.display(),
            bootstrap = %path.display(),
            "envoy started"
        );
        Ok(Self {
            child,
            bootstrap: path,
            _dir: dir,
        })
    }

    /// The bootstrap file Envoy runs on.
    #[must_use]
    pub fn bootstrap(&self) -> &Path {
        &self.bootstrap
    }

    /// Waits until Envoy exits by itself.
    ///
    /// # Errors
    ///
    /// When the process's status cannot be read.
    pub async fn exited(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Stops Envoy: SIGTERM, then SIGKILL if it is still running after five seconds, and
    /// waits for it.
    pub async fn stop(mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if let Some(pid) = self.child.id().and_then(|id| i32::try_from(id).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        match tokio::time::timeout(GRACE, self.child.wait()).await {
            Ok(Ok(status)) => info!(%status, "envoy stopped"),
            Ok(Err(error)) => warn!(%error, "cannot wait for envoy"),
            Err(_) => {
                warn!("envoy did not stop within 5 s of SIGTERM; killing it");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// A `--base-id` of this process's own: Envoy's default, 0, is shared by every Envoy on
/// the machine.
fn base_id() -> u32 {
    std::process::id() % 1_000_000
}

/// Logs every line of one of Envoy's outputs.
async fn forward(output: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(output).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        info!(target: "envoy", "{line}");
    }
}
