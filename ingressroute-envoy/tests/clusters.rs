//! CDS and EDS: clusters of upstreams and the load assignments they read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use envoy_types::pb::envoy::extensions::upstreams::http::v3 as upstream_http_v3;
use envoy_types::pb::envoy::r#type::matcher::v3 as matcher_v3;
use ingressroute_envoy::{HTTP_PROTOCOL_OPTIONS, ResourceKind};
use support::*;

fn serving(target: impl Target) -> World {
    World::new().root("default/foo", "foo.com").route("/", target)
}

fn only_cluster(world: &World) -> cluster_v3::Cluster {
    let resources = world.translate();
    assert_eq!(
        resources.clusters.len(),
        1,
        "{:?}",
        resources.names(ResourceKind::Cluster)
    );
    resources.clusters[0].clone()
}

fn discovery_type(cluster: &cluster_v3::Cluster) -> cluster_v3::cluster::DiscoveryType {
    match cluster.cluster_discovery_type {
        Some(cluster_v3::cluster::ClusterDiscoveryType::Type(t)) => t.try_into().unwrap(),
        ref other => panic!("no discovery type: {other:?}"),
    }
}

fn endpoints_of(cla: &endpoint_v3::ClusterLoadAssignment) -> Vec<String> {
    cla.endpoints
        .iter()
        .flat_map(|l| &l.lb_endpoints)
        .map(|e| match &e.host_identifier {
            Some(endpoint_v3::lb_endpoint::HostIdentifier::Endpoint(endpoint)) => {
                match endpoint.address.as_ref().and_then(|a| a.address.as_ref()) {
                    Some(core_v3::address::Address::SocketAddress(s)) => match s.port_specifier {
                        Some(core_v3::socket_address::PortSpecifier::PortValue(p)) => format!("{}:{p}", s.address),
                        _ => panic!("no port"),
                    },
                    _ => panic!("no socket address"),
                }
            }
            _ => panic!("no endpoint"),
        })
        .collect()
}

#[test]
fn an_eds_cluster_follows_contour() {
    let cluster =
        only_cluster(&serving(svc("kuard", 80)).service(kube_service("default/kuard").named_port("http", 80)));
    assert_eq!(cluster.name, "default/kuard/80/da39a3ee5e");
    assert_eq!(cluster.alt_stat_name, "default_kuard_80");
    let timeout = cluster.connect_timeout.unwrap();
    assert_eq!((timeout.seconds, timeout.nanos), (0, 250_000_000));
    assert_eq!(
        cluster
            .common_lb_config
            .clone()
            .unwrap()
            .healthy_panic_threshold
            .unwrap()
            .value,
        0.0
    );
    assert_eq!(cluster.lb_policy, i32::from(cluster_v3::cluster::LbPolicy::RoundRobin));
    assert_eq!(discovery_type(&cluster), cluster_v3::cluster::DiscoveryType::Eds);
    let eds = cluster.eds_cluster_config.unwrap();
    assert_eq!(eds.service_name, "default/kuard/http");
    assert!(eds.eds_config.is_some());
    assert!(cluster.health_checks.is_empty());
    assert!(!cluster.ignore_health_on_host_removal);
    assert!(cluster.circuit_breakers.is_none());
    assert!(cluster.transport_socket.is_none());
    assert!(cluster.typed_extension_protocol_options.is_empty());
    assert!(cluster.load_assignment.is_none());
}

#[test]
fn strategies_select_load_balancing_policies() {
    use cluster_v3::cluster::LbPolicy;
    for (strategy, policy, hash) in [
        ("RoundRobin", LbPolicy::RoundRobin, "f3b72af6a9"),
        ("WeightedLeastRequest", LbPolicy::LeastRequest, "8bf87fefba"),
        ("Random", LbPolicy::Random, "58d888c08a"),
        ("Cookie", LbPolicy::RingHash, ""),
        ("Maglev", LbPolicy::RoundRobin, ""),
    ] {
        let cluster =
            only_cluster(&serving(svc("kuard", 80).strategy(strategy)).service(kube_service("default/kuard").port(80)));
        assert_eq!(cluster.lb_policy, i32::from(policy), "{strategy}");
        if !hash.is_empty() {
            assert_eq!(cluster.name, format!("default/kuard/80/{hash}"));
        }
    }
}

#[test]
fn an_external_name_is_a_strict_dns_cluster_preferring_ipv4() {
    let cluster = only_cluster(
        &serving(svc("ext", 443)).service(kube_service("default/ext").port(443).external_name("example.org")),
    );
    assert_eq!(discovery_type(&cluster), cluster_v3::cluster::DiscoveryType::StrictDns);
    assert_eq!(
        cluster.dns_lookup_family,
        i32::from(cluster_v3::cluster::DnsLookupFamily::V4Preferred)
    );
    assert!(cluster.eds_cluster_config.is_none());
    let assignment = cluster.load_assignment.unwrap();
    assert_eq!(assignment.cluster_name, "default/ext/");
    assert_eq!(endpoints_of(&assignment), ["example.org:443"]);
}

#[test]
fn an_external_name_cluster_needs_no_load_assignment_resource() {
    let resources = serving(svc("ext", 443))
        .service(kube_service("default/ext").port(443).external_name("example.org"))
        .translate();
    assert!(resources.endpoints.is_empty());
}

#[test]
fn health_checks_use_the_documented_defaults() {
    let cluster = only_cluster(
        &serving(svc("kuard", 80).health_check(health_check("/healthz")))
            .service(kube_service("default/kuard").port(80)),
    );
    assert_eq!(cluster.name, "default/kuard/80/bc862a33ca");
    assert!(cluster.ignore_health_on_host_removal);
    assert_eq!(cluster.health_checks.len(), 1);
    let hc = &cluster.health_checks[0];
    assert_eq!(hc.timeout.unwrap().seconds, 2);
    assert_eq!(hc.interval.unwrap().seconds, 5, "docs/decisions.md#d7");
    assert_eq!(hc.unhealthy_threshold.unwrap().value, 3);
    assert_eq!(hc.healthy_threshold.unwrap().value, 2);
    let Some(core_v3::health_check::HealthChecker::HttpHealthCheck(http)) = &hc.health_checker else {
        panic!("not an HTTP health check")
    };
    assert_eq!(http.path, "/healthz");
    assert_eq!(http.host, "contour-envoy-healthcheck");
}

#[test]
fn health_check_settings_are_passed_on() {
    let cluster = only_cluster(
        &serving(svc("kuard", 80).health_check(ingressroute_api::HealthCheck {
            path: "/ready".into(),
            host: Some("kuard.local".into()),
            interval_seconds: Some(7),
            timeout_seconds: Some(1),
            unhealthy_threshold_count: Some(4),
            healthy_threshold_count: Some(5),
        }))
        .service(kube_service("default/kuard").port(80)),
    );
    let hc = &cluster.health_checks[0];
    assert_eq!(hc.timeout.unwrap().seconds, 1);
    assert_eq!(hc.interval.unwrap().seconds, 7);
    assert_eq!(hc.unhealthy_threshold.unwrap().value, 4);
    assert_eq!(hc.healthy_threshold.unwrap().value, 5);
    let Some(core_v3::health_check::HealthChecker::HttpHealthCheck(http)) = &hc.health_checker else {
        panic!()
    };
    assert_eq!(http.host, "kuard.local");
}

#[test]
fn services_differing_only_in_health_check_host_get_two_clusters() {
    let with_host = |host: &str| {
        svc("kuard", 80).health_check(ingressroute_api::HealthCheck {
            host: Some(host.into()),
            ..health_check("/healthz")
        })
    };
    let resources = World::new()
        .root("default/foo", "foo.com")
        .route("/a", with_host("a.local"))
        .route("/b", with_host("b.local"))
        .service(kube_service("default/kuard").port(80))
        .translate();
    assert_eq!(resources.clusters.len(), 2, "docs/decisions.md#d7");
    assert_eq!(resources.endpoints.len(), 1, "both read the same endpoints");
}

#[test]
fn circuit_breakers_carry_only_the_limits_set() {
    let cluster = only_cluster(
        &serving(svc("kuard", 80)).service(
            kube_service("default/kuard")
                .port(80)
                .annotate("projectcontour.io/max-connections", "100")
                .annotate("contour.heptio.com/max-retries", "3"),
        ),
    );
    let breakers = cluster.circuit_breakers.unwrap();
    assert_eq!(breakers.thresholds.len(), 1);
    let t = &breakers.thresholds[0];
    assert_eq!(t.priority, 0);
    assert_eq!(t.max_connections.unwrap().value, 100);
    assert_eq!(t.max_retries.unwrap().value, 3);
    assert!(t.max_pending_requests.is_none() && t.max_requests.is_none());
}

fn http2(cluster: &cluster_v3::Cluster) -> bool {
    let Some(any) = cluster.typed_extension_protocol_options.get(HTTP_PROTOCOL_OPTIONS) else {
        return false;
    };
    let options: upstream_http_v3::HttpProtocolOptions = unpack(any);
    matches!(
        options.upstream_protocol_options,
        Some(upstream_http_v3::http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(
            upstream_http_v3::http_protocol_options::ExplicitHttpConfig {
                protocol_config: Some(
                    upstream_http_v3::http_protocol_options::explicit_http_config::ProtocolConfig::Http2ProtocolOptions(_)
                ),
            }
        ))
    )
}

#[allow(deprecated)] // reads the deprecated `http2_protocol_options` to check it is unset
fn no_deprecated_http2(cluster: &cluster_v3::Cluster) -> bool {
    cluster.http2_protocol_options.is_none()
}

fn annotated(protocol: &str) -> KubeService {
    kube_service("default/kuard")
        .named_port("https", 443)
        .annotate(&format!("projectcontour.io/upstream-protocol.{protocol}"), "https")
}

#[test]
fn a_tls_upstream_gets_a_tls_transport_socket_without_alpn() {
    let cluster = only_cluster(&serving(svc("kuard", 443)).service(annotated("tls")));
    let tls = upstream_tls(&cluster).expect("TLS");
    assert_eq!(tls.sni, "");
    let common = tls.common_tls_context.unwrap();
    assert!(common.alpn_protocols.is_empty());
    assert!(common.validation_context_type.is_none());
    assert!(!http2(&cluster));
}

#[test]
fn an_h2_upstream_speaks_http2_over_tls_with_alpn() {
    let cluster = only_cluster(&serving(svc("kuard", 443)).service(annotated("h2")));
    let tls = upstream_tls(&cluster).expect("TLS");
    assert_eq!(tls.common_tls_context.unwrap().alpn_protocols, ["h2"]);
    assert!(http2(&cluster));
    assert!(no_deprecated_http2(&cluster));
}

#[test]
fn an_h2c_upstream_speaks_http2_in_clear_text() {
    let cluster = only_cluster(&serving(svc("kuard", 443)).service(annotated("h2c")));
    assert!(upstream_tls(&cluster).is_none());
    assert!(http2(&cluster));
}

#[test]
fn upstream_validation_verifies_the_ca_and_subject_name_and_sends_it_as_sni() {
    let world = serving(svc("kuard", 443).validation("ca", "kuard.example.com"))
        .service(annotated("tls"))
        .ca_secret("default/ca");
    let cluster = only_cluster(&world);
    let tls = upstream_tls(&cluster).expect("TLS");
    assert_eq!(tls.sni, "kuard.example.com", "docs/decisions.md#d3");
    let Some(tls_v3::common_tls_context::ValidationContextType::ValidationContext(validation)) =
        tls.common_tls_context.unwrap().validation_context_type
    else {
        panic!("no validation context")
    };
    assert_eq!(
        validation.trusted_ca.unwrap().specifier,
        Some(core_v3::data_source::Specifier::InlineBytes(CERT.as_bytes().to_vec()))
    );
    assert_eq!(validation.match_typed_subject_alt_names.len(), 1);
    let san = &validation.match_typed_subject_alt_names[0];
    assert_eq!(san.san_type, i32::from(tls_v3::subject_alt_name_matcher::SanType::Dns));
    assert_eq!(
        san.matcher.as_ref().unwrap().match_pattern,
        Some(matcher_v3::string_matcher::MatchPattern::Exact(
            "kuard.example.com".into()
        ))
    );
    let hash = cluster.name.rsplit('/').next().unwrap();
    assert_ne!(hash, "da39a3ee5e", "validation is part of the name");
}

#[test]
fn upstream_validation_also_applies_to_h2() {
    let world = serving(svc("kuard", 443).validation("ca", "kuard.example.com"))
        .service(annotated("h2"))
        .ca_secret("default/ca");
    let tls = upstream_tls(&only_cluster(&world)).expect("TLS");
    assert_eq!(tls.sni, "kuard.example.com");
    let common = tls.common_tls_context.unwrap();
    assert_eq!(common.alpn_protocols, ["h2"]);
    assert!(common.validation_context_type.is_some());
}

#[test]
fn a_cluster_used_by_several_routes_is_sent_once() {
    let resources = World::new()
        .root("default/foo", "foo.com")
        .route("/", svc("kuard", 80))
        .route("/a", svc("kuard", 80))
        .root("default/bar", "bar.com")
        .route("/", svc("kuard", 80))
        .service(kube_service("default/kuard").port(80))
        .translate();
    assert_eq!(resources.names(ResourceKind::Cluster), ["default/kuard/80/da39a3ee5e"]);
    assert_eq!(resources.names(ResourceKind::ClusterLoadAssignment), ["default/kuard"]);
}

#[test]
fn clusters_of_invalid_ingress_routes_are_not_sent() {
    let resources = World::new()
        .root("default/foo", "foo.com")
        .route("/", svc("kuard", 80))
        .root("default/broken", "broken.com")
        .route("/", svc("kuard", 80))
        .route("/missing", svc("missing", 80))
        .service(kube_service("default/kuard").named_port("http", 80))
        .service(kube_service("default/other").port(80))
        .endpoints("default/other", &[("", &["10.0.0.9"], 80)])
        .translate();
    assert_eq!(resources.clusters.len(), 1);
    assert_eq!(
        resources.names(ResourceKind::ClusterLoadAssignment),
        ["default/kuard/http"],
        "unreferenced endpoints are not sent"
    );
}

#[test]
fn a_redirect_only_http_route_still_gets_its_cluster_from_https() {
    let resources = World::new()
        .root("default/foo", "foo.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .service(kube_service("default/kuard").port(80))
        .tls_secret("default/tls")
        .translate();
    assert_eq!(resources.clusters.len(), 1);
}

#[test]
fn load_assignments_merge_every_subset_and_are_empty_without_endpoints() {
    let resources = World::new()
        .root("default/foo", "foo.com")
        .route("/", svc("kuard", 80))
        .route("/b", svc("bare", 80))
        .service(kube_service("default/kuard").named_port("http", 80))
        .service(kube_service("default/bare").port(80))
        .endpoints(
            "default/kuard",
            &[
                ("http", &["10.0.0.2", "10.0.0.10"], 8080),
                ("http", &["10.0.0.1"], 9090),
                ("metrics", &["10.0.0.1"], 9100),
            ],
        )
        .translate();
    assert_eq!(
        resources.names(ResourceKind::ClusterLoadAssignment),
        ["default/bare", "default/kuard/http"]
    );
    let bare = &resources.endpoints[0];
    assert!(bare.endpoints.is_empty(), "no endpoints: an empty assignment");
    let kuard = &resources.endpoints[1];
    assert_eq!(kuard.endpoints.len(), 1, "one locality");
    assert_eq!(
        endpoints_of(kuard),
        ["10.0.0.1:9090", "10.0.0.10:8080", "10.0.0.2:8080"],
        "docs/decisions.md#d13, sorted by address as a string"
    );
}

#[test]
fn endpoints_of_an_unnamed_port_are_found_by_the_service_name() {
    let resources = serving(svc("kuard", 80))
        .service(kube_service("default/kuard").port(80))
        .endpoints("default/kuard", &[("", &["10.0.0.1"], 8080)])
        .translate();
    assert_eq!(resources.endpoints[0].cluster_name, "default/kuard");
    assert_eq!(endpoints_of(&resources.endpoints[0]), ["10.0.0.1:8080"]);
}

#[test]
fn an_external_ipv6_literal_in_brackets_is_unbracketed() {
    let cluster = only_cluster(
        &serving(svc("ext", 443)).service(kube_service("default/ext").port(443).external_name("[fd00::1]")),
    );
    assert_eq!(endpoints_of(&cluster.load_assignment.unwrap()), ["fd00::1:443"]);
}
