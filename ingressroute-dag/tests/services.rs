#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! Kubernetes Services as upstreams ([behaviour §3.8](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-8)): port resolution, upstream protocols, circuit
//! breakers, ExternalName and decision [D18](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d18).

mod support;

use ingressroute_dag::{CircuitBreakers, Cluster, Dag, UpstreamProtocol};
use support::*;

fn root_to(service: KubeService, port: i64) -> Fixture {
    Fixture::new()
        .root("default/basic", "foo.com")
        .route("/", svc("s1", port))
        .service_object(service)
}

fn cluster(dag: &Dag) -> &Cluster {
    &route(vhost(dag, "foo.com"), "/").clusters[0].cluster
}

// ----- ports --------------------------------------------------------------------------------

#[test]
fn the_first_port_matching_by_number_or_by_name_wins() {
    // Port "80" by name comes first in the list, so it wins over the port numbered 80.
    let dag = root_to(
        kube_service("default/s1").named_port("80", 8080).named_port("http", 80),
        80,
    )
    .dag();
    assert_eq!(cluster(&dag).port.port, 8080);
    assert_eq!(cluster(&dag).port.name, "80");

    let dag = root_to(
        kube_service("default/s1").named_port("http", 80).named_port("80", 8080),
        80,
    )
    .dag();
    assert_eq!(cluster(&dag).port.port, 80);
    assert_eq!(cluster(&dag).port.name, "http");
}

#[test]
fn the_target_port_is_never_used() {
    let mut service = kube_service("default/s1").port(80);
    service.0.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].target_port =
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(8080));
    let dag = root_to(service, 8080).dag();
    assert_invalid(&dag, "default/basic", "Service [s1:8080] is invalid or missing");
}

#[test]
fn a_service_without_ports_cannot_be_resolved() {
    let dag = root_to(kube_service("default/s1"), 80).dag();
    assert_invalid(&dag, "default/basic", "Service [s1:80] is invalid or missing");
}

#[test]
fn a_service_without_a_spec_cannot_be_resolved() {
    let mut service = kube_service("default/s1");
    service.0.spec = None;
    let dag = root_to(service, 80).dag();
    assert_invalid(&dag, "default/basic", "Service [s1:80] is invalid or missing");
}

// ----- upstream protocols -------------------------------------------------------------------

#[test]
fn upstream_protocols_are_read_from_either_annotation_prefix_by_port_name_or_number() {
    for (annotation, value, protocol) in [
        ("contour.heptio.com/upstream-protocol.h2", "https", UpstreamProtocol::H2),
        ("contour.heptio.com/upstream-protocol.h2c", "443", UpstreamProtocol::H2c),
        (
            "contour.heptio.com/upstream-protocol.tls",
            " other , https ",
            UpstreamProtocol::Tls,
        ),
        ("projectcontour.io/upstream-protocol.h2", "443", UpstreamProtocol::H2),
        (
            "projectcontour.io/upstream-protocol.h2c",
            "https",
            UpstreamProtocol::H2c,
        ),
        (
            "projectcontour.io/upstream-protocol.tls",
            "https,443",
            UpstreamProtocol::Tls,
        ),
    ] {
        let service = kube_service("default/s1")
            .named_port("https", 443)
            .annotate(annotation, value);
        let dag = root_to(service, 443).dag();
        assert_valid(&dag, "default/basic");
        assert_eq!(cluster(&dag).port.protocol, Some(protocol), "{annotation}: {value}");
    }
}

#[test]
fn projectcontour_protocol_annotations_win_over_contour_heptio_ones() {
    let service = kube_service("default/s1")
        .named_port("https", 443)
        .annotate("contour.heptio.com/upstream-protocol.h2", "https")
        .annotate("projectcontour.io/upstream-protocol.tls", "https");
    let dag = root_to(service, 443).dag();
    assert_eq!(cluster(&dag).port.protocol, Some(UpstreamProtocol::Tls));
}

#[test]
fn a_port_without_a_protocol_annotation_is_plain_http() {
    let service = kube_service("default/s1")
        .named_port("http", 80)
        .named_port("https", 443)
        .annotate("contour.heptio.com/upstream-protocol.tls", "https");
    let dag = root_to(service, 80).dag();
    assert_eq!(cluster(&dag).port.protocol, None);
}

// ----- circuit breakers ---------------------------------------------------------------------

#[test]
fn circuit_breakers_are_carried_to_the_cluster() {
    let service = kube_service("default/s1")
        .port(80)
        .annotate("contour.heptio.com/max-connections", "9000")
        .annotate("projectcontour.io/max-pending-requests", "4096")
        .annotate("contour.heptio.com/max-requests", "404")
        .annotate("contour.heptio.com/max-retries", "7");
    let dag = root_to(service, 80).dag();
    assert_eq!(cluster(&dag).service.circuit_breakers, {
        let mut expected = CircuitBreakers::default();
        expected.max_connections = 9000;
        expected.max_pending_requests = 4096;
        expected.max_requests = 404;
        expected.max_retries = 7;
        expected
    });
    assert!(cluster(&dag).service.circuit_breakers.is_set());
}

#[test]
fn a_present_projectcontour_circuit_breaker_wins_even_when_malformed() {
    // docs/behaviour.md#s3-8: "read projectcontour.io/<key> if present, otherwise contour.heptio.com/<key>".
    let service = kube_service("default/s1")
        .port(80)
        .annotate("projectcontour.io/max-connections", "lots")
        .annotate("contour.heptio.com/max-connections", "10")
        .annotate("contour.heptio.com/max-requests", "4294967296")
        .annotate("contour.heptio.com/max-retries", "-1");
    let dag = root_to(service, 80).dag();
    assert_eq!(cluster(&dag).service.circuit_breakers, CircuitBreakers::default());
    assert!(!cluster(&dag).service.circuit_breakers.is_set());
}

// ----- ExternalName (D18) -------------------------------------------------------------------

#[test]
fn an_external_name_service_is_proxied_to_its_host() {
    let dag = root_to(kube_service("default/s1").port(80).external_name("httpbin.org"), 80).dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(cluster(&dag).service.external_name.as_deref(), Some("httpbin.org"));
}

#[test]
fn an_external_name_field_without_the_external_name_type_is_ignored() {
    let mut service = kube_service("default/s1").port(80);
    service.0.spec.as_mut().unwrap().external_name = Some("localhost".into());
    let dag = root_to(service, 80).dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(cluster(&dag).service.external_name, None);
}

#[test]
fn an_external_name_of_localhost_is_not_allowed() {
    for host in ["localhost", "LOCALHOST", "admin.localhost", "localhost."] {
        let dag = root_to(kube_service("default/s1").port(80).external_name(host), 80).dag();
        assert_invalid(
            &dag,
            "default/basic",
            &format!(r#"route "/": service "s1": externalName "{host}" is not allowed"#),
        );
        assert!(dag.virtual_hosts().is_empty());
    }
}

#[test]
fn an_external_name_on_loopback_is_not_allowed() {
    for host in ["127.0.0.1", "127.1", "::1", "0.0.0.0", "169.254.169.254"] {
        let dag = root_to(kube_service("default/s1").port(80).external_name(host), 80).dag();
        assert_invalid(
            &dag,
            "default/basic",
            &format!(r#"route "/": service "s1": externalName "{host}" is not allowed"#),
        );
    }
}

#[test]
fn loopback_external_names_are_allowed_with_the_config_flag() {
    for host in ["localhost", "127.0.0.1"] {
        let dag = root_to(kube_service("default/s1").port(80).external_name(host), 80)
            .allow_loopback_external_names()
            .dag();
        assert_valid(&dag, "default/basic");
        assert_eq!(cluster(&dag).service.external_name.as_deref(), Some(host));
    }
}

#[test]
fn an_empty_external_name_is_never_allowed() {
    let dag = root_to(kube_service("default/s1").port(80).external_name(""), 80)
        .allow_loopback_external_names()
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": service "s1": externalName "" is not allowed"#,
    );
}

#[test]
fn a_refused_external_name_on_a_child_invalidates_only_the_child() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .route("/", svc("s1", 80))
        .route("/admin", delegate("child"))
        .child("default/child")
        .route("/admin", svc("admin", 9001))
        .service("default/s1", &[80])
        .service_object(kube_service("default/admin").port(9001).external_name("127.0.0.1"))
        .dag();
    assert_valid(&dag, "default/basic");
    assert_invalid(
        &dag,
        "default/child",
        r#"route "/admin": service "admin": externalName "127.0.0.1" is not allowed"#,
    );
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/"]);
}

#[test]
fn a_tcpproxy_external_name_on_loopback_is_not_allowed() {
    let fixture = Fixture::new()
        .root("default/basic", "foo.com")
        .tls("cert")
        .tcpproxy(svc("s1", 9001))
        .tls_secret("default/cert")
        .service_object(kube_service("default/s1").port(9001).external_name("127.0.0.1"));
    let dag = fixture.clone().dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"tcpproxy: service "s1": externalName "127.0.0.1" is not allowed"#,
    );
    assert!(dag.virtual_hosts().is_empty());
    let dag = fixture.allow_loopback_external_names().dag();
    assert_valid(&dag, "default/basic");
}

// ----- references ---------------------------------------------------------------------------

#[test]
fn the_dag_records_every_service_it_looked_up_found_or_not() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .route("/", svc("s1", 80))
        .route("/child", delegate("team/child"))
        .child("team/child")
        .route("/child", svc("missing", 80))
        .service("default/s1", &[80])
        .service("default/unused", &[80])
        .dag();
    assert!(dag.references_service(&r("default/s1")));
    assert!(dag.references_service(&r("team/missing")));
    assert!(!dag.references_service(&r("default/missing")));
    assert!(!dag.references_service(&r("default/unused")));
}
