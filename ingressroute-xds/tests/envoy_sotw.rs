//! State-of-the-world ADS with a real Envoy: after the first response of a type, a response
//! of endpoints, route configurations or secrets carries only what changed (decision D47),
//! and Envoy keeps serving everything it was not sent again.
//!
//! ```text
//!  test ──publish──▶ Publisher ──▶ Server (127.0.0.1:ephemeral) ──SotW ADS──▶ Envoy
//!    │                               └─ Callbacks: what each response carried, by name
//!    └──GET / TLS──▶ Envoy's listeners ──▶ backends on loopback (each answers its name)
//! ```
//!
//! Each test compares the names on the wire with the resources whose bytes changed, sends
//! traffic to what changed and to what did not, and checks Envoy's own view: no rejected
//! update, and `config_dump` still holding every assignment and route configuration.
//!
//! Envoy is `ENVOY_BIN` or the workspace's `.envoy/venv`; without one the tests skip
//! loudly, and under `CI=true` they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[path = "../../ingressroute-envoy/tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ingressroute_envoy::ResourceKind::{Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, Secret};
use ingressroute_envoy::{AdsApi, BootstrapConfig, ResourceKind, Resources, bootstrap, json};
use ingressroute_xds::{Callbacks, Nack, Publisher, Response, Server, StreamInfo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use support::{World, kube_service, svc};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// How long anything that must happen may take (Envoy starting, a change arriving).
const PATIENCE: Duration = Duration::from_secs(30);
/// How long the wire must stay quiet before a change counts as fully sent.
const QUIET: Duration = Duration::from_millis(700);

/// What the server sent, as `(kind, names carried)`, and how many NACKs it was told of.
#[derive(Default)]
struct Wire {
    responses: Mutex<Vec<(ResourceKind, Vec<String>)>>,
    nacks: Mutex<Vec<String>>,
}

impl Callbacks for Wire {
    fn on_response(&self, _: &StreamInfo, response: &Response) {
        let names = response.names().map(str::to_owned).collect();
        self.responses.lock().unwrap().push((response.kind, names));
    }

    fn on_nack(&self, _: &StreamInfo, nack: &Nack<'_>) {
        self.nacks.lock().unwrap().push(nack.message().to_owned());
    }
}

impl Wire {
    /// Forgets what was sent so far.
    fn clear(&self) {
        self.responses.lock().unwrap().clear();
    }

    /// Every name sent of `kind` since the last [`Wire::clear`], with the number of
    /// responses that carried them.
    fn sent(&self, kind: ResourceKind) -> (usize, BTreeSet<String>) {
        let responses = self.responses.lock().unwrap();
        let of_kind: Vec<_> = responses.iter().filter(|(k, _)| *k == kind).collect();
        let names = of_kind.iter().flat_map(|(_, names)| names.iter().cloned()).collect();
        (of_kind.len(), names)
    }

    fn kinds(&self) -> BTreeSet<ResourceKind> {
        self.responses.lock().unwrap().iter().map(|(k, _)| *k).collect()
    }
}

/// The names of `kind` whose bytes differ between `before` and `after`, or that only
/// `after` has.
fn changed(before: &Resources, after: &Resources, kind: ResourceKind) -> BTreeSet<String> {
    let old: BTreeMap<String, _> = before.encoded(kind).into_iter().collect();
    after
        .encoded(kind)
        .into_iter()
        .filter(|(name, any)| old.get(name) != Some(any))
        .map(|(name, _)| name)
        .collect()
}

/// The one name of `kind` in `resources` that starts with `prefix`.
fn named_like(resources: &Resources, kind: ResourceKind, prefix: &str) -> String {
    let found: Vec<&str> = resources
        .names(kind)
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    assert_eq!(found.len(), 1, "one {kind} named {prefix}...: {found:?}");
    found[0].to_owned()
}

/// A TCP server on loopback that answers every HTTP request with its `name`.
async fn backend(name: &'static str) -> u16 {
    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{name}",
                    name.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

/// `GET path` with `Host: host` over `stream`: the status and the body.
async fn get_over(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    host: &str,
    path: &str,
) -> Result<(u16, String), String> {
    let request = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    // Envoy closes the connection after the response; a TLS peer may skip close_notify.
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or(format!("no response: {answer:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(format!("no status: {head:?}"))?;
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return Ok((status, dechunk(body)?));
    }
    Ok((status, body.to_owned()))
}

/// The body of a chunked HTTP/1.1 response (Envoy's admin interface answers so).
fn dechunk(mut rest: &str) -> Result<String, String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").ok_or("a chunk without a size line")?;
        let size = usize::from_str_radix(size.trim(), 16).map_err(|e| format!("chunk size {size:?}: {e}"))?;
        if size == 0 {
            return Ok(body);
        }
        body.push_str(after.get(..size).ok_or("a short chunk")?);
        rest = after.get(size + 2..).ok_or("a chunk without its line end")?;
    }
}

async fn get(address: SocketAddr, host: &str, path: &str) -> Result<(u16, String), String> {
    let stream = TcpStream::connect(address).await.map_err(|e| e.to_string())?;
    get_over(stream, host, path).await
}

/// Retries `attempt` every 50 ms until it returns `Ok`, for at most [`PATIENCE`].
async fn eventually<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        let last = match tokio::time::timeout(PATIENCE, attempt()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(error)) => error,
            Err(_) => "the attempt took too long".to_owned(),
        };
        assert!(Instant::now() < deadline, "gave up waiting for {what}; last: {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A certificate authority, and TLS Secrets and a client that use it.
struct Pki {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Self {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    /// A `kubernetes.io/tls` Secret `key` holding a fresh certificate for `name`, and that
    /// certificate.
    fn secret(&self, key: &str, name: &str) -> (k8s_openapi::api::core::v1::Secret, CertificateDer<'static>) {
        let params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&leaf_key, &self.issuer).unwrap();
        let secret = support::secret(
            key,
            "kubernetes.io/tls",
            &[("tls.crt", &cert.pem()), ("tls.key", &leaf_key.serialize_pem())],
        );
        (secret, cert.der().clone())
    }

    fn client(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

/// Our server and a real Envoy bootstrapped to it over SotW ADS (the default bootstrap).
struct Proxy {
    publisher: Publisher,
    wire: Arc<Wire>,
    http: SocketAddr,
    https: SocketAddr,
    admin: SocketAddr,
    envoy: Child,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((LOOPBACK, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `world` listening on two free loopback ports, as a test configures it.
fn on_loopback(world: World, http: u16, https: u16) -> World {
    world.with_config(|c| {
        c.http_address = LOOPBACK;
        c.http_port = http;
        c.https_address = LOOPBACK;
        c.https_port = https;
    })
}

impl Proxy {
    /// Serves `resources` and starts Envoy (`binary`) bootstrapped to the server.
    async fn start(binary: &Path, resources: &Resources, http: u16, https: u16) -> Self {
        Self::start_with(binary, resources, http, https, AdsApi::Grpc).await
    }

    /// [`Proxy::start`], Envoy speaking `api`.
    async fn start_with(binary: &Path, resources: &Resources, http: u16, https: u16, api: AdsApi) -> Self {
        let publisher = Publisher::new();
        assert!(publisher.publish_resources(resources).unwrap());
        let wire = Arc::new(Wire::default());
        let server = Server::bind(SocketAddr::new(LOOPBACK, 0), publisher.snapshots())
            .await
            .unwrap()
            .with_callbacks(Arc::clone(&wire));
        let xds = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));

        let admin = free_port();
        let mut config = BootstrapConfig::default();
        config.node_id = "sotw-test".to_owned();
        config.ads_api = api;
        config.xds_address = xds.ip().to_string();
        config.xds_port = xds.port();
        config.admin_port = admin;
        config.stats_address = LOOPBACK;
        config.stats_port = free_port();
        let dir = tempfile::Builder::new().prefix("ingressroute-sotw-").tempdir().unwrap();
        let path = dir.path().join("bootstrap.json");
        let json = json::to_json(&bootstrap(&config)).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        let log = dir.path().join("envoy.log");
        let envoy = Command::new(binary)
            .arg("-c")
            .arg(&path)
            .args(["--disable-hot-restart", "--log-level", "warn"])
            .args(["--base-id", &admin.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self {
            publisher,
            wire,
            http: SocketAddr::new(LOOPBACK, http),
            https: SocketAddr::new(LOOPBACK, https),
            admin: SocketAddr::new(LOOPBACK, admin),
            envoy,
            log,
            _dir: dir,
            _stop: stop,
        }
    }

    /// Waits until `host` answers `body` on the plain HTTP listener.
    async fn wait_for(&self, host: &str, path: &str, body: &str) {
        eventually(&format!("{body} from http://{host}{path}"), || async {
            match get(self.http, host, path).await? {
                (200, got) if got == body => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }

    /// `GET https://host/path` through Envoy: the body, and the certificate Envoy showed.
    async fn get_tls(
        &self,
        tls: &Arc<rustls::ClientConfig>,
        host: &str,
        path: &str,
    ) -> Result<(u16, String, CertificateDer<'static>), String> {
        let stream = TcpStream::connect(self.https).await.map_err(|e| e.to_string())?;
        let stream = tokio_rustls::TlsConnector::from(Arc::clone(tls))
            .connect(ServerName::try_from(host.to_owned()).unwrap(), stream)
            .await
            .map_err(|e| format!("TLS handshake with {host}: {e}"))?;
        let shown = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .cloned()
            .ok_or("no certificate")?;
        let (status, body) = get_over(stream, host, path).await?;
        Ok((status, body, shown))
    }

    /// Publishes `resources`, runs `until` (traffic showing the change), then waits for
    /// the wire to stay quiet.
    async fn change<Fut: std::future::Future<Output = ()>>(&self, resources: &Resources, until: Fut) {
        self.wire.clear();
        assert!(self.publisher.publish_resources(resources).unwrap());
        until.await;
        let mut seen = self.wire.responses.lock().unwrap().len();
        loop {
            tokio::time::sleep(QUIET).await;
            let now = self.wire.responses.lock().unwrap().len();
            if now == seen {
                return;
            }
            seen = now;
        }
    }

    async fn admin(&self, path: &str) -> String {
        let (status, body) = get(self.admin, "admin", path).await.unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// Envoy's counters whose name contains `filter`.
    async fn stats(&self, filter: &str) -> BTreeMap<String, u64> {
        self.admin(&format!("/stats?filter={filter}"))
            .await
            .lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(": ")?;
                Some((name.to_owned(), value.trim().parse().ok()?))
            })
            .collect()
    }

    /// No update was rejected by Envoy, nor reported so to the server.
    async fn assert_nothing_rejected(&self) {
        let rejected = self.stats("update_rejected").await;
        assert!(
            rejected.keys().any(|k| k.contains("cds.update_rejected")),
            "Envoy has the stats: {rejected:?}"
        );
        let bad: Vec<_> = rejected.iter().filter(|(_, v)| **v != 0).collect();
        assert!(bad.is_empty(), "Envoy rejected updates: {bad:?}");
        assert!(
            self.wire.nacks.lock().unwrap().is_empty(),
            "NACKs: {:?}",
            self.wire.nacks
        );
    }

    /// The assignments and route configurations in Envoy's `config_dump`.
    async fn dumped(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let dump: serde_json::Value = serde_json::from_str(&self.admin("/config_dump?include_eds").await).unwrap();
        let mut assignments = BTreeSet::new();
        let mut routes = BTreeSet::new();
        for config in dump["configs"].as_array().unwrap() {
            for c in config["dynamic_endpoint_configs"].as_array().into_iter().flatten() {
                assignments.insert(c["endpoint_config"]["cluster_name"].as_str().unwrap().to_owned());
            }
            for c in config["dynamic_route_configs"].as_array().into_iter().flatten() {
                routes.insert(c["route_config"]["name"].as_str().unwrap().to_owned());
            }
        }
        (assignments, routes)
    }

    /// Envoy holds every assignment and route configuration of `resources`.
    async fn assert_holds_everything(&self, resources: &Resources) {
        let (assignments, routes) = self.dumped().await;
        let names = |kind| {
            resources
                .names(kind)
                .into_iter()
                .map(str::to_owned)
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(assignments, names(ClusterLoadAssignment), "config_dump's assignments");
        assert_eq!(routes, names(RouteConfiguration), "config_dump's route configurations");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.envoy.kill();
        let _ = self.envoy.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let _ = writeln!(std::io::stderr(), "----- Envoy's log -----\n{log}\n-----");
        }
    }
}

fn envoy() -> Option<std::path::PathBuf> {
    ingressroute_fixtures::envoy_binary("the SotW tests with a real Envoy")
}

/// a.example.com and b.example.com, each to its own Service with one endpoint.
fn two_services(a: u16, b: u16) -> World {
    World::new()
        .root("default/a", "a.example.com")
        .route("/", svc("a", 80))
        .root("default/b", "b.example.com")
        .route("/", svc("b", 80))
        .service(kube_service("default/a").port(80))
        .service(kube_service("default/b").port(80))
        .endpoints("default/a", &[("", &["127.0.0.1"], i32::from(a))])
        .endpoints("default/b", &[("", &["127.0.0.1"], i32::from(b))])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_change_sends_one_assignment_and_the_untouched_service_keeps_its_traffic() {
    let Some(binary) = envoy() else { return };
    let [a1, a2, b1, b2] = [
        backend("a1").await,
        backend("a2").await,
        backend("b1").await,
        backend("b2").await,
    ];
    let (http, https) = (free_port(), free_port());
    let world = |a, b| on_loopback(two_services(a, b), http, https).translate();
    let first = world(a1, b1);
    let proxy = Proxy::start(&binary, &first, http, https).await;
    proxy.wait_for("a.example.com", "/", "a1").await;
    proxy.wait_for("b.example.com", "/", "b1").await;
    let eds_updates = || proxy.stats(".update_success");
    let before = eds_updates().await;

    // A's endpoint moves: one assignment, A's, on the wire, and nothing else.
    let moved_a = world(a2, b1);
    let a_name = changed(&first, &moved_a, ClusterLoadAssignment);
    assert_eq!(a_name.len(), 1, "one assignment changed: {a_name:?}");
    proxy.change(&moved_a, proxy.wait_for("a.example.com", "/", "a2")).await;
    assert_eq!(proxy.wire.sent(ClusterLoadAssignment), (1, a_name.clone()));
    assert_eq!(proxy.wire.kinds(), BTreeSet::from([ClusterLoadAssignment]));
    // Envoy updated A's subscription only, and B's traffic never stopped.
    let after = eds_updates().await;
    let moved: Vec<&String> = after
        .iter()
        .filter(|(name, value)| before.get(*name) != Some(value))
        .map(|(name, _)| name)
        .collect();
    // (A cluster's stats are named by its `alt_stat_name`, `<namespace>_<service>_<port>`.)
    assert!(
        moved.len() == 1 && moved[0].starts_with("cluster.default_a_"),
        "only A's subscription is updated: {moved:?}"
    );
    for _ in 0..20 {
        assert_eq!(
            get(proxy.http, "b.example.com", "/").await.unwrap(),
            (200, "b1".to_owned())
        );
    }

    // Then B's own change: its assignment alone, and A keeps its new endpoint.
    let moved_b = world(a2, b2);
    let b_name = changed(&moved_a, &moved_b, ClusterLoadAssignment);
    assert_eq!(b_name.len(), 1);
    assert_ne!(a_name, b_name);
    proxy.change(&moved_b, proxy.wait_for("b.example.com", "/", "b2")).await;
    assert_eq!(proxy.wire.sent(ClusterLoadAssignment), (1, b_name));
    assert_eq!(proxy.wire.kinds(), BTreeSet::from([ClusterLoadAssignment]));
    for _ in 0..20 {
        assert_eq!(
            get(proxy.http, "a.example.com", "/").await.unwrap(),
            (200, "a2".to_owned())
        );
    }
    proxy.assert_nothing_rejected().await;
    proxy.assert_holds_everything(&moved_b).await;
}

/// s1.example.com and s2.example.com over TLS, each with its own Secret, to Services a
/// and b; s1 with the routes `extra` more to b.
fn two_tls_hosts(
    a: u16,
    b: u16,
    s1: &k8s_openapi::api::core::v1::Secret,
    s2: &k8s_openapi::api::core::v1::Secret,
    extra: &[&str],
) -> World {
    let mut world = two_services(a, b).root("default/s1", "s1.example.com").tls("s1");
    world = world.route("/", svc("a", 80));
    for path in extra {
        world = world.route(path, svc("b", 80));
    }
    world
        .root("default/s2", "s2.example.com")
        .tls("s2")
        .route("/", svc("b", 80))
        .secret(s1.clone())
        .secret(s2.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_change_on_one_tls_host_sends_its_route_configurations_alone() {
    let Some(binary) = envoy() else { return };
    let [a, b] = [backend("a").await, backend("b").await];
    let pki = Pki::new();
    let tls = pki.client();
    let (s1, _) = pki.secret("default/s1", "s1.example.com");
    let (s2, _) = pki.secret("default/s2", "s2.example.com");
    let (http, https) = (free_port(), free_port());
    let world = |extra: &[&str]| on_loopback(two_tls_hosts(a, b, &s1, &s2, extra), http, https).translate();
    let first = world(&[]);
    let proxy = Proxy::start(&binary, &first, http, https).await;
    let ok = |host: &'static str, path: &'static str, body: &'static str| {
        let (proxy, tls) = (&proxy, &tls);
        async move {
            eventually(&format!("{body} from https://{host}{path}"), || async {
                match proxy.get_tls(tls, host, path).await? {
                    (200, got, _) if got == body => Ok(()),
                    (status, got, _) => Err(format!("{status} {got:?}")),
                }
            })
            .await;
        }
    };
    ok("s1.example.com", "/", "a").await;
    ok("s2.example.com", "/", "b").await;

    // A route more on s1: `https/s1.example.com` changes (and the plain HTTP bucket that
    // redirects s1 to HTTPS); only those go out.
    let grown = world(&["/v2"]);
    let routes = changed(&first, &grown, RouteConfiguration);
    assert!(routes.contains("https/s1.example.com"), "{routes:?}");
    assert!(!routes.contains("https/s2.example.com"), "{routes:?}");
    assert!(routes.len() < grown.names(RouteConfiguration).len());
    for kind in [Cluster, ClusterLoadAssignment, Listener, Secret] {
        assert!(changed(&first, &grown, kind).is_empty(), "{kind} unchanged");
    }
    proxy.change(&grown, ok("s1.example.com", "/v2", "b")).await;
    let (responses, sent) = proxy.wire.sent(RouteConfiguration);
    assert_eq!(sent, routes, "only the changed route configurations on the wire");
    assert!(responses >= 1);
    assert_eq!(proxy.wire.kinds(), BTreeSet::from([RouteConfiguration]));
    // s2 is untouched and still served, and s1's other route too.
    for _ in 0..10 {
        let (status, body, _) = proxy.get_tls(&tls, "s2.example.com", "/").await.unwrap();
        assert_eq!((status, body.as_str()), (200, "b"));
    }
    ok("s1.example.com", "/", "a").await;
    proxy.assert_nothing_rejected().await;
    proxy.assert_holds_everything(&grown).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_is_the_only_secret_on_the_wire_and_the_other_host_keeps_its_certificate() {
    let Some(binary) = envoy() else { return };
    let [a, b] = [backend("a").await, backend("b").await];
    let pki = Pki::new();
    let tls = pki.client();
    let (s1, _) = pki.secret("default/s1", "s1.example.com");
    let (s2, s2_cert) = pki.secret("default/s2", "s2.example.com");
    let (rotated, rotated_cert) = pki.secret("default/s1", "s1.example.com");
    let (http, https) = (free_port(), free_port());
    let first = on_loopback(two_tls_hosts(a, b, &s1, &s2, &[]), http, https).translate();
    let proxy = Proxy::start(&binary, &first, http, https).await;
    let shown = |host: &'static str| {
        let (proxy, tls) = (&proxy, &tls);
        async move { proxy.get_tls(tls, host, "/").await }
    };
    eventually("s1 and s2 over TLS", || async {
        shown("s1.example.com").await?;
        shown("s2.example.com").await.map(|_| ())
    })
    .await;

    let next = on_loopback(two_tls_hosts(a, b, &rotated, &s2, &[]), http, https).translate();
    let secrets = changed(&first, &next, Secret);
    assert_eq!(secrets.len(), 1, "the rotated secret, under a new name: {secrets:?}");
    proxy
        .change(
            &next,
            eventually("s1's new certificate", || async {
                match shown("s1.example.com").await? {
                    (200, body, cert) if body == "a" && cert == rotated_cert => Ok(()),
                    (status, body, _) => Err(format!("{status} {body:?}, or the old certificate")),
                }
            }),
        )
        .await;
    // The listener takes the new name (listeners are sent whole), and SDS carries the new
    // secret alone: s2's is not sent again.
    assert_eq!(proxy.wire.sent(Secret).1, secrets);
    assert!(proxy.wire.kinds().is_subset(&BTreeSet::from([Listener, Secret])));
    for _ in 0..10 {
        let (status, body, cert) = shown("s2.example.com").await.unwrap();
        assert_eq!((status, body.as_str()), (200, "b"));
        assert_eq!(cert, s2_cert, "s2 keeps its certificate");
    }
    proxy.assert_nothing_rejected().await;
    proxy.assert_holds_everything(&next).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_cluster_of_a_service_whose_assignment_envoy_has_warms_at_once() {
    a_new_cluster_of_a_known_service_warms_at_once(AdsApi::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_cluster_of_a_service_whose_assignment_envoy_has_warms_at_once_on_delta() {
    a_new_cluster_of_a_known_service_warms_at_once(AdsApi::DeltaGrpc).await;
}

async fn a_new_cluster_of_a_known_service_warms_at_once(api: AdsApi) {
    let Some(binary) = envoy() else { return };
    let a = backend("a").await;
    let (http, https) = (free_port(), free_port());
    let world = |second: bool| {
        let mut world = on_loopback(two_services(a, a), http, https);
        if second {
            // Another load-balancing strategy: another cluster, reading the same assignment.
            world = world
                .root("default/c", "c.example.com")
                .route("/", svc("a", 80).strategy("Random"));
        }
        world.translate()
    };
    let first = world(false);
    let proxy = Proxy::start_with(&binary, &first, http, https, api).await;
    proxy.wait_for("a.example.com", "/", "a").await;

    let grown = world(true);
    assert_eq!(changed(&first, &grown, Cluster).len(), 1, "one cluster more");
    assert!(
        changed(&first, &grown, ClusterLoadAssignment).is_empty(),
        "no assignment changes"
    );
    let started = Instant::now();
    proxy.change(&grown, proxy.wait_for("c.example.com", "/", "a")).await;
    let took = started.elapsed();
    // Envoy's subscription does not change (its new cluster reads a name it already
    // watches), so the server sends the assignment again after the cluster: without it the
    // cluster would wait for its initial fetch timeout (15 s) before it warms.
    let a_name = named_like(&grown, ClusterLoadAssignment, "default/a");
    assert_eq!(
        proxy.wire.sent(ClusterLoadAssignment),
        (1, BTreeSet::from([a_name])),
        "{api:?}"
    );
    assert!(took < Duration::from_secs(5), "{api:?}: warming took {took:?}");
    proxy.assert_nothing_rejected().await;
}
