//! Properties of the build over generated delegation graphs (proptest).
//!
//! The generator makes small, dense worlds in two namespaces: roots with colliding and
//! malformed fqdns, TLS with present, missing and undelegated Secrets, routes with
//! overlapping prefixes, present and missing Services, negative weights, delegations
//! within and across namespaces (to missing objects, to roots, to themselves), and
//! tcpproxies. On every world, the build must:
//!
//! * not panic;
//! * give the same result whatever the insertion order;
//! * give exactly one status to every IngressRoute;
//! * serve no route and no TCP proxy of an invalid or orphaned object;
//! * keep every served route under the `match` of every delegating route on every valid
//!   chain from the root (decision [D4](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d4) makes this transitive);
//! * leave no delegation cycle among the objects it serves (every cycle is reported);
//! * serve no root outside the root namespaces;
//! * never call an object orphaned that a served object delegates to.
//!
//! A failing case prints the delegation graph as DOT. The generator is in
//! `support/world.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::collections::{BTreeMap, BTreeSet};

use ingressroute_api::IngressRoute;
use ingressroute_dag::{CurrentStatus, Dag, Delegation, ObjectRef, build};
use proptest::prelude::*;

#[path = "support/world.rs"]
mod world;

use world::{World, world};

/// Contour's prefix rule, restated here as the specification.
fn under(child: &str, parent: &str) -> bool {
    if parent.is_empty() {
        return true;
    }
    if child.is_empty() {
        return false;
    }
    let slash = |s: &str| {
        if s.ends_with('/') {
            s.to_owned()
        } else {
            format!("{s}/")
        }
    };
    slash(child).starts_with(&slash(parent))
}

fn status_of(dag: &Dag, object: &ObjectRef) -> CurrentStatus {
    dag.status(object)
        .map_or_else(|| panic!("{object} has no status"), |s| s.current_status)
}

/// Objects reached from valid roots through valid objects, following only edges of one
/// kind (`http`: route delegations; otherwise tcpproxy delegations, from roots with TLS,
/// the only ones whose tcpproxy takes effect).
fn reached(dag: &Dag, http: bool, routes: &BTreeMap<ObjectRef, IngressRoute>) -> BTreeSet<ObjectRef> {
    let graph = dag.graph();
    let valid = |object: &ObjectRef| status_of(dag, object) == CurrentStatus::Valid;
    let has_tls = |object: &ObjectRef| {
        routes[object]
            .spec
            .virtualhost
            .as_ref()
            .is_some_and(|v| v.tls.is_some())
    };
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&ObjectRef> = graph
        .roots()
        .map(|v| &v.object)
        .filter(|object| valid(object) && (http || has_tls(object)))
        .collect();
    while let Some(object) = stack.pop() {
        if !valid(object) || !seen.insert(object.clone()) {
            continue;
        }
        for (target, delegation) in graph.delegations(object) {
            if matches!(delegation, Delegation::Route { .. }) == http {
                stack.push(target);
            }
        }
    }
    seen
}

fn check(world: &World) -> Result<(), TestCaseError> {
    let config = world.config();
    let dag = build(&world.objects(world.ingress_routes()), &config);
    let dot = dag.graph().to_dot();

    // Order independence.
    let shuffled = build(&world.objects(world.shuffled()), &config);
    prop_assert_eq!(dag.statuses(), shuffled.statuses(), "statuses depend on order\n{}", dot);
    prop_assert_eq!(
        dag.virtual_hosts(),
        shuffled.virtual_hosts(),
        "virtual hosts depend on order\n{}",
        dot
    );

    // One status per IngressRoute.
    let refs: BTreeSet<ObjectRef> = world
        .ingress_routes()
        .iter()
        .map(|r| ObjectRef::from_meta(&r.metadata))
        .collect();
    prop_assert_eq!(dag.statuses().keys().cloned().collect::<BTreeSet<_>>(), refs);

    let graph = dag.graph();
    let spec_of = |object: &ObjectRef| graph.vertex(object).unwrap();
    let routes_by_ref: BTreeMap<ObjectRef, IngressRoute> = world
        .ingress_routes()
        .into_iter()
        .map(|r| (ObjectRef::from_meta(&r.metadata), r))
        .collect();

    for vhost in dag.virtual_hosts() {
        // Roots outside the root namespaces serve nothing; served roots are valid.
        prop_assert!(
            config.allows_root_in(&vhost.root.namespace),
            "{} served\n{}",
            vhost.root,
            dot
        );
        prop_assert_eq!(status_of(&dag, &vhost.root), CurrentStatus::Valid);
        prop_assert!(spec_of(&vhost.root).root);
        if let Some(tcp) = vhost.secure.as_ref().and_then(|s| s.tcp_proxy.as_ref()) {
            prop_assert_eq!(
                status_of(&dag, &tcp.source),
                CurrentStatus::Valid,
                "tcp from {}\n{}",
                tcp.source,
                dot
            );
        }
        for route in &vhost.routes {
            // No route of an invalid or orphaned object.
            prop_assert_eq!(
                status_of(&dag, &route.source),
                CurrentStatus::Valid,
                "{} from {}\n{}",
                route.prefix,
                route.source,
                dot
            );
            // Under every delegating match on every valid chain from this root.
            let mut chains = vec![(vhost.root.clone(), vec![vhost.root.clone()], Vec::<String>::new())];
            while let Some((at, path, matches)) = chains.pop() {
                for r in &routes_by_ref[&at].spec.routes {
                    let Some(d) = &r.delegate else { continue };
                    let target = ObjectRef::new(d.namespace.clone().unwrap_or_else(|| at.namespace.clone()), &d.name);
                    if path.contains(&target)
                        || dag.status(&target).map(|s| s.current_status) != Some(CurrentStatus::Valid)
                    {
                        continue;
                    }
                    let mut matches = matches.clone();
                    matches.push(r.match_.clone());
                    if target == *route.source {
                        for m in &matches {
                            prop_assert!(
                                under(&route.prefix, m),
                                "{} from {} is not under {} (chain {:?})\n{}",
                                route.prefix,
                                route.source,
                                m,
                                path,
                                dot
                            );
                        }
                    }
                    let mut next = path.clone();
                    next.push(target.clone());
                    chains.push((target, next, matches));
                }
            }
        }
    }

    // Every root outside the root namespaces is invalid.
    for (object, status) in dag.statuses() {
        if routes_by_ref[object].spec.virtualhost.is_some() && !config.allows_root_in(&object.namespace) {
            prop_assert_eq!(status.current_status, CurrentStatus::Invalid);
        }
    }

    // No cycle among the objects served through route delegation, or through tcpproxy
    // delegation.
    for http in [true, false] {
        let served = reached(&dag, http, &routes_by_ref);
        let index: BTreeMap<&ObjectRef, u32> = served.iter().zip(0..).collect();
        let edges: Vec<(u32, u32)> = served
            .iter()
            .flat_map(|object| graph.delegations(object).map(move |(target, d)| (object, target, d)))
            .filter(|(_, _, d)| matches!(d, Delegation::Route { .. }) == http)
            .filter_map(|(from, to, _)| Some((*index.get(from)?, *index.get(to)?)))
            .collect();
        let sub = petgraph::graph::DiGraph::<(), ()>::from_edges(edges);
        prop_assert!(
            !petgraph::algo::is_cyclic_directed(&sub),
            "unreported cycle (http: {})\n{}",
            http,
            dot
        );
    }

    // Targets of route delegations from objects served over HTTP were visited, so they
    // are valid or invalid, never orphaned.
    let http_served = reached(&dag, true, &routes_by_ref);
    let edges = graph.vertices().flat_map(|v| {
        graph
            .delegations(&v.object)
            .map(move |(target, d)| (&v.object, target, d))
    });
    for (source, target, delegation) in edges {
        if matches!(delegation, Delegation::Route { .. }) && http_served.contains(source) {
            prop_assert_ne!(
                status_of(&dag, target),
                CurrentStatus::Orphaned,
                "{} delegated to but orphaned\n{}",
                target,
                dot
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn every_generated_world_satisfies_the_dag_invariants(world in world()) {
        check(&world)?;
    }
}
