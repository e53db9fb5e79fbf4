//! `ingressroute-embed`: serves IngressRoute manifests to Envoy from a controller of its
//! own (see the library), with the gRPC health service on the same port.
//!
//! ```text
//! ingressroute-embed [--listen ADDRESS] [--http-port PORT] [--bootstrap FILE] MANIFEST...
//! ```
//!
//! It prints each IngressRoute's status as it changes, re-reads the manifests on SIGHUP
//! and stops on Ctrl-C or SIGTERM. `--bootstrap FILE` writes Envoy's bootstrap for it
//! first: `envoy -c FILE`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use ingressroute_dag::Config;
use ingressroute_embed::{Controller, Event, objects, relist};
use ingressroute_envoy::{BootstrapConfig, EnvoyConfig, bootstrap, json};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};

const USAGE: &str = "usage: ingressroute-embed [--listen ADDRESS] [--http-port PORT] [--bootstrap FILE] MANIFEST...";

/// The command line.
struct Args {
    /// Where the gRPC services (xDS and health) listen.
    listen: SocketAddr,
    /// The port of Envoy's HTTP listener.
    http_port: u16,
    /// Where to write Envoy's bootstrap, if anywhere.
    bootstrap: Option<PathBuf>,
    /// The manifest files.
    manifests: Vec<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 8001)),
        http_port: 8080,
        bootstrap: None,
        manifests: Vec::new(),
    };
    let mut given = std::env::args_os().skip(1);
    while let Some(arg) = given.next() {
        let mut value = |name: &str| given.next().with_context(|| format!("{name} needs a value\n{USAGE}"));
        match arg.to_str() {
            Some("--listen") => args.listen = value("--listen")?.to_string_lossy().parse()?,
            Some("--http-port") => args.http_port = value("--http-port")?.to_string_lossy().parse()?,
            Some("--bootstrap") => args.bootstrap = Some(value("--bootstrap")?.into()),
            Some("-h" | "--help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Some(flag) if flag.starts_with('-') => bail!("unknown flag {flag}\n{USAGE}"),
            _ => args.manifests.push(arg.into()),
        }
    }
    if args.manifests.is_empty() {
        bail!("no manifests\n{USAGE}");
    }
    Ok(args)
}

/// Every object of every manifest file, as a relist.
fn read(manifests: &[PathBuf]) -> anyhow::Result<Vec<Event>> {
    let mut all = Vec::new();
    for path in manifests {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        all.extend(objects(&text).with_context(|| format!("cannot load {}", path.display()))?);
    }
    Ok(relist(&all))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let mut envoy = EnvoyConfig::default();
    envoy.http_port = args.http_port;
    if let Some(path) = &args.bootstrap {
        let mut config = BootstrapConfig::default();
        config.xds_address = args.listen.ip().to_string();
        config.xds_port = args.listen.port();
        let text = serde_json::to_string_pretty(&json::to_json(&bootstrap(&config))?)?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }

    let controller = Controller::new(Config::default(), envoy);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!("xDS and health on {}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let grpc = tokio::spawn(controller.grpc().serve(listener, async move {
        let _ = stopped.await;
    }));
    let (events, received) = mpsc::channel(1024);
    let running = tokio::spawn(controller.run(received, std::io::stdout()));

    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    loop {
        match read(&args.manifests) {
            Ok(relist) => {
                for event in relist {
                    events.send(event).await?;
                }
            }
            // The objects served so far stay served.
            Err(error) => eprintln!("{error:#}"),
        }
        tokio::select! {
            _ = hangup.recv() => {}
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    drop(events);
    running.await??;
    let _ = stop.send(());
    grpc.await??;
    Ok(())
}
