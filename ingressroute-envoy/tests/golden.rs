//! Whole translations compared with reviewed golden files, as proto3 JSON rendered as
//! YAML: `tests/golden/<case>/resources.yaml`.
//!
//! `INGRESSROUTE_BLESS=1 cargo test -p ingressroute-envoy --test golden` rewrites them;
//! review the diff like code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::path::PathBuf;

use support::*;

fn check(case: &str, world: &World) {
    let resources = world.translate();
    let json = ingressroute_envoy::json::resources_to_json(&resources).unwrap();
    let yaml = serde_yaml::to_string(&json).unwrap();
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "golden", case, "resources.yaml"]
        .iter()
        .collect();
    if std::env::var_os("INGRESSROUTE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &yaml).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with INGRESSROUTE_BLESS=1 to create it", path.display()));
    assert!(
        expected == yaml,
        "{} differs; run with INGRESSROUTE_BLESS=1 and review the diff",
        path.display()
    );
}

#[test]
fn basic_http() {
    check(
        "basic-http",
        &World::new()
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
            .endpoints("default/api", &[("", &["10.0.1.1"], 8080)]),
    );
}

#[test]
fn tls_termination_with_redirects() {
    check(
        "tls-termination",
        &World::new()
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
            .endpoints("default/kuard", &[("http", &["10.0.0.1"], 8080)]),
    );
}

#[test]
fn tcp_proxies() {
    check(
        "tcpproxy",
        &World::new()
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
            }),
    );
}
