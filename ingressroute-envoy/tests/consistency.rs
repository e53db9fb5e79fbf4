//! `Resources::check_consistency`, both ways: translations pass it, and every kind of
//! broken reference is caught.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use envoy_types::pb::envoy::config::listener::v3 as listener_v3;
use ingressroute_envoy::{Inconsistency, ResourceKind, Resources};
use support::*;

/// Everything at once: plain and TLS HTTP, a terminated and a passed-through TCP proxy,
/// weights, health checks, upstream TLS, endpoints.
fn everything() -> World {
    World::new()
        .root("default/www", "www.example.com")
        .tls("tls")
        .route(
            "/",
            [
                svc("kuard", 80).weight(90),
                svc("kuard", 80).strategy("Random").weight(10),
            ],
        )
        .route("/blog", svc("blog", 443).health_check(health_check("/healthz")))
        .permit_insecure()
        .root("default/plain", "plain.com")
        .route("/", svc("kuard", 80))
        .root("default/tcp", "tcp.example.com")
        .tls("tls")
        .tcpproxy(svc("kuard", 80))
        .root("default/pass", "pass.example.com")
        .passthrough()
        .tcpproxy([svc("kuard", 80).weight(1), svc("ext", 443).weight(3)])
        .service(kube_service("default/kuard").named_port("http", 80))
        .service(
            kube_service("default/blog")
                .named_port("https", 443)
                .annotate("projectcontour.io/upstream-protocol.h2", "443"),
        )
        .service(kube_service("default/ext").port(443).external_name("example.org"))
        .tls_secret("default/tls")
        .endpoints("default/kuard", &[("http", &["10.0.0.1", "10.0.0.2"], 8080)])
}

fn resources() -> Resources {
    let resources = everything().translate();
    assert_eq!(resources.listeners.len(), 2);
    assert_eq!(
        resources.scoped_routes.len(),
        2,
        "a scope per plain-HTTP virtual host: www.example.com (permitInsecure) and plain.com"
    );
    assert!(resources.routes.iter().any(|r| r.name == "https/www.example.com"));
    assert_eq!(resources.secrets.len(), 1);
    assert!(resources.endpoints.len() >= 2);
    resources
}

#[test]
fn a_full_translation_is_consistent() {
    resources().check_consistency().unwrap();
}

#[test]
fn a_missing_route_configuration_is_caught() {
    let mut resources = resources();
    resources.routes.retain(|r| r.name != "https/www.example.com");
    assert_eq!(
        resources.check_consistency(),
        Err(Inconsistency::Missing {
            referrer_kind: ResourceKind::Listener,
            referrer: "ingress_https".into(),
            kind: ResourceKind::RouteConfiguration,
            name: "https/www.example.com".into(),
        })
    );
}

#[test]
fn a_route_configuration_missing_for_a_scope_is_caught() {
    let mut resources = resources();
    let scope = resources.scoped_routes[0].clone();
    resources.routes.retain(|r| r.name != scope.route_configuration_name);
    assert_eq!(
        resources.check_consistency(),
        Err(Inconsistency::Missing {
            referrer_kind: ResourceKind::ScopedRouteConfiguration,
            referrer: scope.name.clone(),
            kind: ResourceKind::RouteConfiguration,
            name: scope.route_configuration_name,
        })
    );
}

#[test]
fn a_listener_taking_scopes_without_any_scope_is_caught() {
    let mut resources = resources();
    resources.scoped_routes.clear();
    assert_eq!(
        resources.check_consistency(),
        Err(Inconsistency::Missing {
            referrer_kind: ResourceKind::Listener,
            referrer: "ingress_http".into(),
            kind: ResourceKind::ScopedRouteConfiguration,
            name: "*".into(),
        })
    );
}

#[test]
fn a_scope_without_a_listener_that_takes_scopes_is_caught() {
    let mut resources = resources();
    resources.listeners.retain(|l| l.name != "ingress_http");
    let first = resources.scoped_routes[0].name.clone();
    assert_eq!(
        resources.check_consistency(),
        Err(Inconsistency::Unreferenced {
            kind: ResourceKind::ScopedRouteConfiguration,
            name: first,
        })
    );
}

#[test]
fn a_cluster_missing_for_a_route_is_caught() {
    let mut resources = resources();
    let name = "default/blog/443/bc862a33ca";
    resources.clusters.retain(|c| c.name != name);
    resources.endpoints.retain(|e| e.cluster_name != "default/blog/https");
    let error = resources.check_consistency().unwrap_err();
    assert_eq!(
        error,
        Inconsistency::Missing {
            referrer_kind: ResourceKind::RouteConfiguration,
            referrer: "https/www.example.com".into(),
            kind: ResourceKind::Cluster,
            name: name.into(),
        }
    );
    assert_eq!(
        error.to_string(),
        format!("route configuration \"https/www.example.com\" refers to the missing cluster \"{name}\"")
    );
}

#[test]
fn a_cluster_missing_for_a_tcp_proxy_is_caught() {
    let mut resources = resources();
    resources.clusters.retain(|c| !c.name.starts_with("default/ext/"));
    assert!(matches!(
        resources.check_consistency(),
        Err(Inconsistency::Missing {
            referrer_kind: ResourceKind::Listener,
            kind: ResourceKind::Cluster,
            ..
        })
    ));
}

#[test]
fn missing_endpoints_are_caught() {
    let mut resources = resources();
    resources.endpoints.retain(|e| e.cluster_name != "default/kuard/http");
    assert!(matches!(
        resources.check_consistency(),
        Err(Inconsistency::Missing {
            referrer_kind: ResourceKind::Cluster,
            kind: ResourceKind::ClusterLoadAssignment,
            ref name,
            ..
        }) if name == "default/kuard/http"
    ));
}

#[test]
fn endpoints_no_cluster_reads_are_caught() {
    let mut resources = resources();
    resources.endpoints.push(endpoint_v3::ClusterLoadAssignment {
        cluster_name: "zzz/unused".into(),
        ..Default::default()
    });
    assert_eq!(
        resources.check_consistency(),
        Err(Inconsistency::Unreferenced {
            kind: ResourceKind::ClusterLoadAssignment,
            name: "zzz/unused".into(),
        })
    );
}

#[test]
fn a_missing_secret_is_caught() {
    let mut resources = resources();
    resources.secrets.clear();
    assert!(matches!(
        resources.check_consistency(),
        Err(Inconsistency::Missing {
            referrer_kind: ResourceKind::Listener,
            kind: ResourceKind::Secret,
            ..
        })
    ));
}

#[test]
fn duplicate_names_are_caught() {
    let mut resources = resources();
    let first = resources.clusters[0].clone();
    resources.clusters.insert(0, first.clone());
    assert_eq!(
        resources.check_consistency(),
        Err(Inconsistency::Duplicate {
            kind: ResourceKind::Cluster,
            name: first.name,
        })
    );
}

#[test]
fn unsorted_resources_are_caught() {
    let mut resources = resources();
    resources.listeners.reverse();
    assert_eq!(
        resources.check_consistency(),
        Err(Inconsistency::Unsorted {
            kind: ResourceKind::Listener,
            name: "ingress_http".into(),
        })
    );
}

#[test]
fn a_malformed_typed_config_is_caught() {
    let mut resources = resources();
    let https = resources
        .listeners
        .iter_mut()
        .find(|l| l.name == "ingress_https")
        .unwrap();
    let Some(listener_v3::filter::ConfigType::TypedConfig(any)) = &mut https.filter_chains[0].filters[0].config_type
    else {
        panic!()
    };
    any.value = vec![0xff, 0xff, 0xff];
    assert!(matches!(
        resources.check_consistency(),
        Err(Inconsistency::Malformed {
            kind: ResourceKind::Listener,
            ..
        })
    ));
}

#[test]
fn an_empty_set_is_consistent() {
    Resources::default().check_consistency().unwrap();
}

#[test]
fn encoded_resources_carry_their_type_urls_in_order() {
    let resources = resources();
    for kind in ResourceKind::ALL {
        let encoded = resources.encoded(kind);
        let names: Vec<&str> = encoded.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, resources.names(kind));
        for (_, any) in &encoded {
            assert_eq!(any.type_url, kind.type_url());
        }
    }
}

#[test]
fn references_name_every_route_configuration_cluster_secret_and_assignment_used() {
    use ingressroute_envoy::Reference;
    use std::collections::BTreeSet;
    let resources = resources();
    let mut used: BTreeSet<Reference> = BTreeSet::new();
    for kind in ResourceKind::ALL {
        let refs = resources.references(kind).unwrap();
        assert_eq!(
            refs.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            resources.names(kind),
            "{kind}: one entry per resource, in order"
        );
        for (_, references) in refs {
            used.extend(references);
        }
    }
    // Everything used exists, and everything but listeners and clusters is used.
    for reference in &used {
        assert!(
            resources.names(reference.kind).contains(&&*reference.name),
            "{reference:?}"
        );
    }
    for kind in [
        ResourceKind::RouteConfiguration,
        ResourceKind::ClusterLoadAssignment,
        ResourceKind::Secret,
    ] {
        for name in resources.names(kind) {
            assert!(used.contains(&Reference::new(kind, name)), "{kind} {name} is used");
        }
    }
    let https = resources
        .references(ResourceKind::Listener)
        .unwrap()
        .into_iter()
        .find(|(name, _)| *name == "ingress_https")
        .unwrap()
        .1;
    assert!(https.contains(&Reference::new(
        ResourceKind::RouteConfiguration,
        "https/www.example.com"
    )));
    assert!(https.iter().any(|r| r.kind == ResourceKind::Secret));
    assert!(
        https.iter().any(|r| r.kind == ResourceKind::Cluster),
        "the TCP proxies' clusters"
    );
}
