//! Which IngressRoutes produced a resource (what a NACK log names).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::collections::BTreeSet;

use ingressroute_envoy::{HttpRoutes, ResourceKind, sources};
use support::*;

fn refs(keys: &[&str]) -> BTreeSet<ingressroute_dag::ObjectRef> {
    keys.iter().map(|k| r(k)).collect()
}

fn world() -> World {
    World::new()
        .root("default/root", "foo.com")
        .route("/", svc("kuard", 80))
        .route("/team", delegate("team/child"))
        .child("team/child")
        .route("/team", svc("api", 8080))
        .root("default/secure", "secure.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .service(kube_service("default/kuard").port(80))
        .service(kube_service("team/api").port(8080))
        .tls_secret("default/tls")
}

#[test]
fn every_resource_names_the_ingress_routes_behind_it() {
    let world = world();
    let dag = world.dag();
    let resources = world.translate();
    let config = world.config.clone();
    let foo = http_route_config(&resources, "foo.com").name.clone();
    let secure = http_route_config(&resources, "secure.com").name.clone();
    assert_ne!(foo, secure, "this test wants them in two buckets");

    assert_eq!(
        sources(&dag, &config, ResourceKind::RouteConfiguration, &foo),
        refs(&["default/root", "team/child"])
    );
    assert_eq!(
        sources(
            &dag,
            &config,
            ResourceKind::ScopedRouteConfiguration,
            "ingress_http/foo.com"
        ),
        refs(&["default/root", "team/child"])
    );
    assert_eq!(
        sources(&dag, &config, ResourceKind::RouteConfiguration, &secure),
        refs(&["default/secure"])
    );
    let mut single = config.clone();
    single.http_routes = HttpRoutes::Single;
    assert_eq!(
        sources(&dag, &single, ResourceKind::RouteConfiguration, "ingress_http"),
        refs(&["default/root", "default/secure", "team/child"])
    );
    assert!(sources(&dag, &config, ResourceKind::RouteConfiguration, "ingress_http").is_empty());
    assert_eq!(
        sources(&dag, &config, ResourceKind::RouteConfiguration, "https/secure.com"),
        refs(&["default/secure"])
    );
    assert_eq!(
        sources(&dag, &config, ResourceKind::Listener, "ingress_https"),
        refs(&["default/secure"])
    );

    let api = resources
        .clusters
        .iter()
        .find(|c| c.name.starts_with("team/api/"))
        .unwrap();
    assert_eq!(
        sources(&dag, &config, ResourceKind::Cluster, &api.name),
        refs(&["default/root", "team/child"])
    );
    assert_eq!(
        sources(&dag, &config, ResourceKind::ClusterLoadAssignment, "team/api"),
        refs(&["default/root", "team/child"])
    );
    let secret = &resources.secrets[0].name;
    assert_eq!(
        sources(&dag, &config, ResourceKind::Secret, secret),
        refs(&["default/secure"])
    );
}

#[test]
fn unknown_resources_have_no_sources() {
    let world = world();
    let dag = world.dag();
    let config = world.config.clone();
    assert!(sources(&dag, &config, ResourceKind::Cluster, "nope").is_empty());
    assert!(sources(&dag, &config, ResourceKind::Listener, "nope").is_empty());
}
