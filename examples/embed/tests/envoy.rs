//! The embedded controller, end to end: a real Envoy, bootstrapped from
//! `ingressroute_envoy::bootstrap`, gets its routes from the controller's xDS services and
//! sends a request to a backend on loopback; the controller's own health service answers
//! on the same port, and the IngressRoute's status is printed.
//!
//! ```text
//!  test ──GET Host: embed.example.com──▶ Envoy (127.0.0.1:free) ──▶ backend (127.0.0.1:ephemeral)
//!                                          ▲ ADS
//!  test ──grpc.health.v1.Health/Check──▶ the controller's Router (127.0.0.1:ephemeral)
//! ```
//!
//! Envoy is `ENVOY_BIN`. Without it the test skips loudly; under `CI=true` it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::Request;
use hyper::header::HOST;
use hyper_util::rt::TokioIo;
use ingressroute_dag::Config;
use ingressroute_embed::{Controller, READY, objects, relist};
use ingressroute_envoy::{BootstrapConfig, EnvoyConfig, bootstrap, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long anything that must happen may take (Envoy starting, routes arriving).
const PATIENCE: Duration = Duration::from_secs(30);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// What the backend answers.
const BODY: &str = "hello from the backend";

/// The Envoy binary; without one, fails under `CI=true` and otherwise says so loudly and
/// returns `None`.
fn envoy_binary() -> Option<PathBuf> {
    let path = std::env::var_os("ENVOY_BIN").map(PathBuf::from);
    if let Some(path) = path.as_ref().filter(|path| path.is_file()) {
        return Some(path.clone());
    }
    let message = match path {
        Some(path) => format!("ENVOY_BIN={} is not a file", path.display()),
        None => "ENVOY_BIN is not set".to_owned(),
    };
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true"),
        "{message} (CI=true: the embedding test must run)"
    );
    let banner = "!".repeat(78);
    // Straight to stderr: the harness hides the output of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n{banner}\n!!! SKIPPING the embedding test: {message}\n{banner}\n"
    );
    None
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind((LOOPBACK, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Retries `attempt` every 50 ms until it returns `Ok`, for at most [`PATIENCE`].
async fn eventually<T, Fut>(what: &str, mut attempt: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        let last = match tokio::time::timeout(PATIENCE, attempt()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(error)) => error,
            Err(_) => "the attempt itself took too long".to_owned(),
        };
        assert!(Instant::now() < deadline, "gave up waiting for {what}; last: {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An HTTP/1.1 backend on loopback that answers [`BODY`] to everything.
async fn backend() -> SocketAddr {
    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = hyper::service::service_fn(|_request| async {
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(BODY.as_bytes()))))
            });
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), answer));
        }
    });
    address
}

/// `GET http://<address><path>` with `Host: host`: the status and the body.
async fn get(address: SocketAddr, host: &str, path: &str) -> Result<(u16, String), String> {
    let stream = TcpStream::connect(address).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = Request::get(path)
        .header(HOST, host)
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// What the controller printed.
#[derive(Clone, Default)]
struct Printed(Arc<Mutex<Vec<u8>>>);

impl Write for Printed {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Printed {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// A running Envoy, killed when dropped; its log is printed if the test is failing.
struct Envoy {
    child: Child,
    log: PathBuf,
}

impl Envoy {
    fn start(binary: &Path, dir: &Path, config: &BootstrapConfig) -> Self {
        let path = dir.join("bootstrap.json");
        let json = json::to_json(&bootstrap(config)).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        let log = dir.join("envoy.log");
        let child = Command::new(binary)
            .arg("-c")
            .arg(&path)
            .args(["--disable-hot-restart", "--log-level", "warn"])
            .args(["--base-id", &config.admin_port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, log }
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let _ = writeln!(std::io::stderr(), "----- Envoy's log -----\n{log}\n-----");
        }
    }
}

fn manifests(backend: SocketAddr) -> String {
    format!(
        "apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {{name: web}}
spec:
  virtualhost: {{fqdn: embed.example.com}}
  routes:
  - match: /
    services: [{{name: web, port: 80}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  ports: [{{name: http, port: 80, protocol: TCP}}]
---
apiVersion: v1
kind: Endpoints
metadata: {{name: web}}
subsets:
- addresses: [{{ip: {}}}]
  ports: [{{name: http, port: {}, protocol: TCP}}]
",
        backend.ip(),
        backend.port()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_routes_through_the_embedded_controller_whose_health_service_shares_its_port() {
    let Some(binary) = envoy_binary() else { return };
    let backend = backend().await;
    let [http, admin, stats] = [(); 3].map(|()| free_port());

    // The controller, its gRPC services on one loopback port.
    let mut envoy_config = EnvoyConfig::default();
    envoy_config.http_address = LOOPBACK;
    envoy_config.http_port = http;
    envoy_config.https_address = LOOPBACK;
    envoy_config.https_port = free_port();
    let controller = Controller::new(Config::default(), envoy_config);
    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let grpc_address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let grpc = tokio::spawn(controller.grpc().serve(listener, async move {
        let _ = stopped.await;
    }));
    let printed = Printed::default();
    let (events, received) = mpsc::channel(64);
    let running = tokio::spawn(controller.run(received, printed.clone()));
    for event in relist(&objects(&manifests(backend)).unwrap()) {
        events.send(event).await.unwrap();
    }

    // Envoy, bootstrapped to it.
    let dir = tempfile::Builder::new()
        .prefix("ingressroute-embed-")
        .tempdir()
        .unwrap();
    let mut bootstrap_config = BootstrapConfig::default();
    bootstrap_config.node_id = "embed-test".to_owned();
    bootstrap_config.xds_address = grpc_address.ip().to_string();
    bootstrap_config.xds_port = grpc_address.port();
    bootstrap_config.admin_port = admin;
    bootstrap_config.stats_address = LOOPBACK;
    bootstrap_config.stats_port = stats;
    let envoy = Envoy::start(&binary, dir.path(), &bootstrap_config);

    // The route works through Envoy, and only for its host.
    let envoy_http = SocketAddr::new(LOOPBACK, http);
    let (status, body) = eventually("the backend's answer through Envoy", || async {
        match get(envoy_http, "embed.example.com", "/").await? {
            (200, body) => Ok((200, body)),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!((status, body.as_str()), (200, BODY));
    let (status, _) = get(envoy_http, "other.example.com", "/").await.unwrap();
    assert_eq!(status, 404, "a host no IngressRoute serves");
    let (_, stats) = get(
        SocketAddr::new(LOOPBACK, admin),
        "admin",
        "/stats?filter=update_rejected",
    )
    .await
    .unwrap();
    let rejected: Vec<&str> = stats.lines().filter(|line| !line.ends_with(": 0")).collect();
    assert!(
        stats.contains("listener_manager.lds.update_rejected") && rejected.is_empty(),
        "Envoy rejected updates: {rejected:?}\n{stats}"
    );

    // The controller's own gRPC service answers on the xDS port.
    let channel = Channel::from_shared(format!("http://{grpc_address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let health = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: READY.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.status(), ServingStatus::Serving);

    // The status was printed.
    assert_eq!(printed.lines(), ["default/web: valid: valid IngressRoute"]);

    // Closing the events ends the controller; the gRPC server stops once asked.
    drop(events);
    tokio::time::timeout(PATIENCE, running).await.unwrap().unwrap().unwrap();
    let _ = stop.send(());
    tokio::time::timeout(PATIENCE, grpc).await.unwrap().unwrap().unwrap();
    drop(envoy);
}
