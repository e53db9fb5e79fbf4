//! Snapshots derived from a previous one plus the resources that changed: the same as a
//! snapshot built from scratch of the same resources, and refused when inconsistent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod server_support;
#[path = "../../ingressroute-envoy/tests/support/mod.rs"]
mod support;

use ingressroute_envoy::{ResourceKind, Resources};
use ingressroute_xds::{Error, Snapshot};
use server_support::*;
use support::{kube_service, svc};

/// What changed from `old` to `new`: the resources of `new` that are new or differ, and
/// the names of `old` that `new` lacks.
fn changes(old: &Resources, new: &Resources) -> (Resources, Vec<(ResourceKind, String)>) {
    let mut upserts = Resources::default();
    let mut removals = Vec::new();
    let differs = |kind: ResourceKind, name: &str, any: &envoy_types::pb::google::protobuf::Any| {
        !old.encoded(kind).iter().any(|(n, a)| n == name && a == any)
    };
    for (i, (name, any)) in new.encoded(ResourceKind::Listener).iter().enumerate() {
        if differs(ResourceKind::Listener, name, any) {
            upserts.listeners.push(new.listeners[i].clone());
        }
    }
    for (i, (name, any)) in new.encoded(ResourceKind::RouteConfiguration).iter().enumerate() {
        if differs(ResourceKind::RouteConfiguration, name, any) {
            upserts.routes.push(new.routes[i].clone());
        }
    }
    for (i, (name, any)) in new.encoded(ResourceKind::Cluster).iter().enumerate() {
        if differs(ResourceKind::Cluster, name, any) {
            upserts.clusters.push(new.clusters[i].clone());
        }
    }
    for (i, (name, any)) in new.encoded(ResourceKind::ClusterLoadAssignment).iter().enumerate() {
        if differs(ResourceKind::ClusterLoadAssignment, name, any) {
            upserts.endpoints.push(new.endpoints[i].clone());
        }
    }
    for (i, (name, any)) in new.encoded(ResourceKind::Secret).iter().enumerate() {
        if differs(ResourceKind::Secret, name, any) {
            upserts.secrets.push(new.secrets[i].clone());
        }
    }
    for kind in ResourceKind::ALL {
        for name in old.names(kind) {
            if !new.names(kind).contains(&name) {
                removals.push((kind, name.to_owned()));
            }
        }
    }
    (upserts, removals)
}

fn assert_same(derived: &Snapshot, scratch: &Snapshot) {
    for kind in ResourceKind::ALL {
        assert_eq!(derived.version(kind), scratch.version(kind), "{kind}");
        let names: Vec<&str> = scratch.names(kind).collect();
        assert_eq!(derived.names(kind).collect::<Vec<_>>(), names, "{kind}");
        for name in names {
            assert_eq!(
                derived.resource_version(kind, name),
                scratch.resource_version(kind, name)
            );
            assert_eq!(
                derived.encoded(kind, name),
                scratch.encoded(kind, name),
                "{kind} {name}"
            );
        }
    }
}

#[test]
fn a_derived_snapshot_equals_one_built_from_scratch_of_the_same_resources() {
    let before = secure_shop().translate();
    // A new route to a new service, new endpoints for api, and the TLS host gone (its
    // route configuration, secret and filter chain go).
    let after = shop_with("10.0.0.9")
        .route("/new", svc("other", 80))
        .service(kube_service("default/other").port(80))
        .translate();
    let (upserts, removals) = changes(&before, &after);
    assert!(!removals.is_empty() && upserts.len(ResourceKind::Cluster) == 1);
    assert!(upserts.len(ResourceKind::Listener) + upserts.len(ResourceKind::ClusterLoadAssignment) >= 2);

    let derived = Snapshot::new(&before).unwrap().derive(&upserts, removals).unwrap();
    assert_same(&derived, &Snapshot::new(&after).unwrap());

    // And back again.
    let (upserts, removals) = changes(&after, &before);
    let back = derived.derive(&upserts, removals).unwrap();
    assert_same(&back, &Snapshot::new(&before).unwrap());
}

#[test]
fn deriving_nothing_gives_the_same_snapshot() {
    let resources = secure_shop().translate();
    let snapshot = Snapshot::new(&resources).unwrap();
    let same = snapshot
        .derive(&Resources::default(), Vec::<(ResourceKind, &str)>::new())
        .unwrap();
    assert_same(&same, &snapshot);
}

#[test]
fn a_derived_snapshot_that_loses_a_resource_still_named_is_refused() {
    let resources = shop().translate();
    let snapshot = Snapshot::new(&resources).unwrap();
    for (kind, part) in [
        (ResourceKind::Cluster, "default/api/"),
        (ResourceKind::ClusterLoadAssignment, "api"),
        (ResourceKind::RouteConfiguration, "ingress_http"),
    ] {
        let name = named(&resources, kind, part);
        let error = snapshot
            .derive(&Resources::default(), [(kind, name.as_str())])
            .unwrap_err();
        assert!(matches!(error, Error::Inconsistent(_)), "{kind} {name}: {error}");
    }
    // An assignment no cluster reads is refused too.
    let mut orphan = Resources::default();
    orphan
        .endpoints
        .push(envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment {
            cluster_name: "default/nobody".into(),
            ..Default::default()
        });
    let error = snapshot
        .derive(&orphan, Vec::<(ResourceKind, &str)>::new())
        .unwrap_err();
    assert!(matches!(error, Error::Inconsistent(_)), "{error}");
}
