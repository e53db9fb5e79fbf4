//! Same input, same bytes: whatever the insertion order, and run after run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use ingressroute_envoy::AccessLogFormat;
use support::*;

fn world() -> World {
    World::new()
        .root("team/zeta", "zeta.example.com")
        .tls("tls")
        .route(
            "/",
            [
                svc("kuard", 80).weight(2),
                svc("kuard", 80).strategy("Cookie").weight(1),
            ],
        )
        .route("/grpc", svc("grpc", 443))
        .permit_insecure()
        .root("default/alpha", "alpha.com")
        .route("/", svc("kuard", 80))
        .route("/api", delegate("team/api"))
        .child("team/api")
        .route("/api", svc("kuard", 80).health_check(health_check("/healthz")))
        .root("default/pass", "pass.example.com")
        .passthrough()
        .tcpproxy([svc("kuard", 80).weight(3), svc("other", 80).weight(1)])
        .service(kube_service("team/kuard").named_port("http", 80))
        .service(
            kube_service("team/grpc")
                .named_port("grpc", 443)
                .annotate("contour.heptio.com/upstream-protocol.h2", "grpc"),
        )
        .service(kube_service("default/kuard").port(80))
        .service(kube_service("default/other").port(80))
        .tls_secret("team/tls")
        .endpoints(
            "team/kuard",
            &[("http", &["10.0.0.3", "10.0.0.1"], 80), ("http", &["10.0.0.2"], 81)],
        )
        .endpoints("default/kuard", &[("", &["10.1.0.1"], 8080)])
        .with_config(|c| c.access_log_format = AccessLogFormat::json())
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let first = bytes(&world().translate());
    for _ in 0..10 {
        assert_eq!(bytes(&world().translate()), first);
    }
}

#[test]
fn insertion_order_does_not_change_the_bytes() {
    let world = world();
    let resources = world.translate();
    assert!(resources.listeners.len() == 2 && resources.clusters.len() >= 4);
    assert_eq!(bytes(&world.translate_reversed()), bytes(&resources));
}

#[test]
fn translations_compare_equal_as_values_too() {
    let world = world();
    assert_eq!(world.translate(), world.translate_reversed());
}
