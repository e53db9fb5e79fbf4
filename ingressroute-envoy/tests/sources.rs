//! Which IngressRoutes produced a resource (what a NACK log names).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::collections::BTreeSet;

use ingressroute_envoy::{ResourceKind, sources};
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

    assert_eq!(
        sources(&dag, ResourceKind::RouteConfiguration, "ingress_http"),
        refs(&["default/root", "default/secure", "team/child"])
    );
    assert_eq!(
        sources(&dag, ResourceKind::RouteConfiguration, "https/secure.com"),
        refs(&["default/secure"])
    );
    assert_eq!(
        sources(&dag, ResourceKind::Listener, "ingress_https"),
        refs(&["default/secure"])
    );

    let api = resources
        .clusters
        .iter()
        .find(|c| c.name.starts_with("team/api/"))
        .unwrap();
    assert_eq!(
        sources(&dag, ResourceKind::Cluster, &api.name),
        refs(&["default/root", "team/child"])
    );
    assert_eq!(
        sources(&dag, ResourceKind::ClusterLoadAssignment, "team/api"),
        refs(&["default/root", "team/child"])
    );
    let secret = &resources.secrets[0].name;
    assert_eq!(sources(&dag, ResourceKind::Secret, secret), refs(&["default/secure"]));
}

#[test]
fn unknown_resources_have_no_sources() {
    let dag = world().dag();
    assert!(sources(&dag, ResourceKind::Cluster, "nope").is_empty());
    assert!(sources(&dag, ResourceKind::Listener, "nope").is_empty());
}
