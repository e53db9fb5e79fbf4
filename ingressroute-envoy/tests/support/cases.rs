//! The golden cases: whole translations whose output is reviewed and committed under
//! `tests/golden/<case>/resources.yaml`, and which Envoy must accept
//! (`tests/envoy_validate.rs`).
//!
//! * every bundled example (`examples/ingressroute/<case>.yaml`), translated with the
//!   default configs;
//! * a few hand-made worlds for what the examples do not show: weighted routes with
//!   endpoints in several subsets, upstream validation with HTTP/2, the PROXY protocol
//!   and JSON access logs.

use std::path::PathBuf;

use ingressroute_envoy::Resources;

use super::*;

/// The environment variable that rewrites golden files.
pub(crate) const BLESS: &str = "INGRESSROUTE_BLESS";

/// One golden case.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// The directory name under `tests/golden`.
    pub(crate) name: String,
    /// The objects and configs.
    pub(crate) world: World,
}

impl Case {
    fn new(name: &str, world: World) -> Self {
        Self {
            name: name.to_owned(),
            world,
        }
    }

    /// The translation, checked for consistency.
    pub(crate) fn resources(&self) -> Resources {
        self.world.translate()
    }

    /// `tests/golden/<name>/resources.yaml`.
    pub(crate) fn golden_path(&self) -> PathBuf {
        golden_dir().join(&self.name).join("resources.yaml")
    }
}

/// `tests/golden`.
pub(crate) fn golden_dir() -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "tests", "golden"].iter().collect()
}

/// Every case: the examples, then the hand-made ones. Names are unique.
pub(crate) fn all() -> Vec<Case> {
    let mut cases = examples();
    cases.extend(hand_made());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count, "golden case names are unique");
    cases
}

/// One case per bundled example.
pub(crate) fn examples() -> Vec<Case> {
    examples::all()
        .into_iter()
        .map(|(name, path)| Case::new(&name, examples::world(&path)))
        .collect()
}

/// The hand-made cases.
pub(crate) fn hand_made() -> Vec<Case> {
    vec![
        Case::new("basic-http", basic_http()),
        Case::new("tls-termination", tls_termination_with_redirects()),
        Case::new("tcpproxy", tcp_proxies()),
    ]
}

fn basic_http() -> World {
    World::new()
        .root("default/kuard", "kuard.example.com")
        .route("/", svc("kuard", 80))
        .route(
            "/api",
            [svc("api", 8080).weight(90), svc("api-canary", 8080).weight(10)],
        )
        .timeout("30s")
        .retry(Some(3), Some("2s"))
        .route("/ws", svc("chat", 80).strategy("Cookie"))
        .websockets()
        .prefix_rewrite("/")
        .service(kube_service("default/kuard").named_port("http", 80))
        .service(kube_service("default/api").port(8080))
        .service(kube_service("default/api-canary").port(8080))
        .service(kube_service("default/chat").port(80))
        .endpoints("default/kuard", &[("http", &["10.0.0.2", "10.0.0.1"], 8080)])
        .endpoints("default/api", &[("", &["10.0.1.1"], 8080)])
}

fn tls_termination_with_redirects() -> World {
    World::new()
        .root("default/secure", "secure.example.com")
        .tls("tls")
        .minimum_protocol_version("1.2")
        .route("/", svc("kuard", 80).health_check(health_check("/healthz")))
        .route("/.well-known/acme-challenge", svc("acme", 8089))
        .permit_insecure()
        .route("/grpc", svc("grpc", 443).validation("ca", "grpc.example.com"))
        .service(kube_service("default/kuard").named_port("http", 80))
        .service(kube_service("default/acme").port(8089))
        .service(
            kube_service("default/grpc")
                .named_port("grpc", 443)
                .annotate("projectcontour.io/upstream-protocol.h2", "grpc")
                .annotate("projectcontour.io/max-connections", "1024"),
        )
        .tls_secret("default/tls")
        .ca_secret("default/ca")
        .endpoints("default/kuard", &[("http", &["10.0.0.1"], 8080)])
}

fn tcp_proxies() -> World {
    World::new()
        .root("default/db", "db.example.com")
        .tls("tls")
        .tcpproxy(svc("postgres", 5432))
        .root("default/pass", "pass.example.com")
        .passthrough()
        .tcpproxy([svc("backend", 443).weight(3), svc("external", 443).weight(1)])
        .service(kube_service("default/postgres").port(5432))
        .service(kube_service("default/backend").named_port("https", 443))
        .service(kube_service("default/external").port(443).external_name("example.org"))
        .tls_secret("default/tls")
        .with_config(|c| {
            c.use_proxy_protocol = true;
            c.access_log_format = ingressroute_envoy::AccessLogFormat::json();
        })
}
