//! Envoy as a child process of `serve --envoy`, which never outlives `serve`.
//!
//! ```text
//!  serve ──spawn──▶ <our binary> __envoy-child --parent <serve's pid> -- ENVOY_BIN ARGS
//!                       │ prctl(PR_SET_PDEATHSIG, SIGKILL); is the parent still serve?
//!                       ▼ exec: same process, same pid, the death signal kept
//!                   ENVOY_BIN --config-yaml <bootstrap JSON> --disable-hot-restart
//!                             --base-id N --log-level warn
//!      │ stdout (access logs), stderr (Envoy's log)
//!      ▼
//!  one tracing event per line, target "envoy"
//! ```
//!
//! [`Envoy::stop`] sends SIGTERM, waits up to five seconds and then kills; dropping an
//! [`Envoy`] kills the process too.
//!
//! # When `serve` dies without cleaning up
//!
//! A SIGKILL (or a crash) gives `serve` no chance to stop Envoy, which would go on
//! serving its last configuration and holding the ports. Linux's parent-death signal
//! (`PR_SET_PDEATHSIG`) makes the kernel kill Envoy instead, but the child must set it on
//! itself between `fork` and `exec`. The usual place, a `pre_exec` hook, is `unsafe`, and
//! the workspace forbids unsafe code; so `serve` starts its own binary with the hidden
//! subcommand `__envoy-child` ([`exec_child`]), which sets the signal with nix's safe
//! `prctl::set_pdeathsig`, checks that its parent is still `serve` (had `serve` died
//! before that, the child would have been handed to another parent and no signal would
//! ever come) and `exec`s Envoy. The process keeps its pid and the death signal across
//! `exec`, so Envoy is `serve`'s direct child as before. A tiny supervisor process or a
//! pipe Envoy would have to watch were the alternatives; both leave more moving parts
//! for the same result.
//!
//! The kernel sends the signal when the *thread* that spawned the child ends: call
//! [`Envoy::start`] from a thread that lives as long as the process (`serve::run` runs
//! on the main thread, in `block_on`), never from `spawn_blocking`. Other systems have
//! no parent-death signal; there the subcommand only `exec`s.
//!
//! # No temporary file
//!
//! The bootstrap goes on Envoy's command line (`--config-yaml`; JSON is YAML), not into
//! a file, so killing `serve` leaves nothing behind. It holds addresses and a node id,
//! no secret (the xDS connection of `serve` is plain gRPC on loopback), so it may be
//! seen in `ps`.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
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

/// The hidden subcommand that starts Envoy with the parent-death signal set.
pub const CHILD_SUBCOMMAND: &str = "__envoy-child";

/// Why Envoy could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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

/// The arguments of the hidden `__envoy-child` subcommand (see [`exec_child`]).
#[derive(Debug, Clone, clap::Args)]
pub struct ChildArgs {
    /// The process id of `serve`, which must still be the parent once the death signal
    /// is set.
    #[arg(long, value_name = "PID")]
    pub parent: u32,

    /// The program to run, and its arguments.
    #[arg(
        value_name = "PROGRAM",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

/// Why [`exec_child`] could not become the program.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChildError {
    /// The parent-death signal could not be set.
    #[error("cannot set the parent-death signal")]
    DeathSignal(#[source] nix::Error),
    /// The parent is no longer the process that started this one: it died before the
    /// death signal was set, so the program must not start.
    #[error("the parent (pid {0}) is gone")]
    Orphaned(u32),
    /// No program was given.
    #[error("no program to run")]
    NoProgram,
    /// The program could not be executed.
    #[error("cannot run {}", .program.display())]
    Exec {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Runs the hidden `__envoy-child` subcommand: sets the parent-death signal (SIGKILL) on
/// this process, checks that its parent is `args.parent`, and replaces this process with
/// `args.command`. Returns only if one of those fails.
#[must_use]
pub fn exec_child(args: &ChildArgs) -> ChildError {
    #[cfg(target_os = "linux")]
    {
        if let Err(error) = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL) {
            return ChildError::DeathSignal(error);
        }
        if u32::try_from(nix::unistd::getppid().as_raw()).ok() != Some(args.parent) {
            return ChildError::Orphaned(args.parent);
        }
    }
    let Some((program, rest)) = args.command.split_first() else {
        return ChildError::NoProgram;
    };
    let source = std::process::Command::new(program).args(rest).exec();
    ChildError::Exec {
        program: PathBuf::from(program),
        source,
    }
}

/// This program, to run its `__envoy-child` subcommand: `/proc/self/exe` on Linux, which
/// still works when the file was replaced since (a rebuild), else the path it was
/// started from.
fn this_program() -> std::io::Result<PathBuf> {
    if cfg!(target_os = "linux") {
        Ok(PathBuf::from("/proc/self/exe"))
    } else {
        std::env::current_exe()
    }
}

/// A running Envoy.
#[derive(Debug)]
pub struct Envoy {
    child: Child,
}

impl Envoy {
    /// Starts `binary` on `bootstrap` (JSON) through this program's `__envoy-child`
    /// subcommand, so that it dies with this process, and forwards its output to the log.
    /// Must be called from a thread that lives as long as the process (see the module
    /// documentation).
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`] if `binary` (a path) does not exist or the process cannot be
    /// started. A binary that exists but cannot be executed makes the process exit with
    /// code 127 right away, after an `error:` line in the log.
    pub fn start(binary: &Path, bootstrap: &str) -> Result<Self, Error> {
        let spawn_error = |source| Error::Spawn {
            binary: binary.to_owned(),
            source,
        };
        // Said here rather than by the child, whose last words only reach the log.
        if binary.components().count() > 1 {
            std::fs::metadata(binary).map_err(spawn_error)?;
        }
        let mut child = Command::new(this_program().map_err(spawn_error)?)
            .arg(CHILD_SUBCOMMAND)
            .arg("--parent")
            .arg(std::process::id().to_string())
            .arg("--")
            .arg(binary)
            .arg("--config-yaml")
            .arg(bootstrap)
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
            .map_err(spawn_error)?;
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(forward(stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward(stderr));
        }
        info!(pid = child.id(), binary = %binary.display(), "envoy started");
        Ok(Self { child })
    }

    /// Envoy's process id, while it runs.
    #[must_use]
    pub fn id(&self) -> Option<u32> {
        self.child.id()
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
