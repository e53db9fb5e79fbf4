//! The pipeline's incremental rebuilds (DAG and translation) equal a build and a
//! translation from scratch after every batch of random events: every status, every
//! resource byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use ingressroute_api::IngressRoute;
use ingressroute_dag::{Config, ObjectRef};
use ingressroute_envoy::{EnvoyConfig, HttpRoutes, ResourceKind, translate};
use ingressroute_pipeline::{Event, Kind, Object, Pipeline};
use k8s_openapi::api::core::v1 as core_v1;
use proptest::prelude::*;
use serde_json::json;

const FQDNS: [&str; 5] = ["a.com", "b.com", "A.com", "c.example.com", "d.example.com"];
const SERVICES: [&str; 3] = ["web", "api", "ext"];
const PREFIXES: [&str; 3] = ["/", "/api", "/child"];

/// An IngressRoute: a root (with an fqdn) or a child, its routes and its delegation.
#[derive(Debug, Clone)]
struct Route {
    name: usize,
    fqdn: Option<usize>,
    /// (prefix, service, port) per route.
    routes: Vec<(usize, usize, i64)>,
    /// A route delegating `/child` to this IngressRoute.
    delegate: Option<usize>,
    class: bool,
}

fn route() -> impl Strategy<Value = Route> {
    (
        0usize..6,
        prop::option::of(0..FQDNS.len()),
        prop::collection::vec(
            (0..PREFIXES.len(), 0..SERVICES.len(), prop_oneof![Just(80i64), Just(81)]),
            0..3,
        ),
        prop::option::of(0usize..6),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(name, fqdn, routes, delegate, class)| Route {
            name,
            fqdn,
            routes,
            delegate,
            class,
        })
}

/// One event.
#[derive(Debug, Clone)]
enum Step {
    ApplyRoute(Route),
    DeleteRoute(usize),
    /// A Service with this port (80 or 81), or deleted.
    Service(usize, Option<i32>),
    /// Endpoints of a Service: one address, or none; published at once (an EDS-only
    /// update) or left for the next rebuild.
    Endpoints(usize, Option<u8>, bool),
    Rebuild,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => route().prop_map(Step::ApplyRoute),
        1 => (0usize..6).prop_map(Step::DeleteRoute),
        2 => (0..SERVICES.len(), prop::option::of(prop_oneof![Just(80), Just(81)])).prop_map(|(s, p)| Step::Service(s, p)),
        2 => (0..SERVICES.len(), prop::option::of(1u8..4), any::<bool>()).prop_map(|(s, a, now)| Step::Endpoints(s, a, now)),
        2 => Just(Step::Rebuild),
    ]
}

fn ingress_route(route: &Route) -> Object {
    let mut spec = json!({
        "routes": route.routes.iter().map(|(prefix, service, port)| json!({
            "match": PREFIXES[*prefix],
            "services": [{"name": SERVICES[*service], "port": port}],
        })).collect::<Vec<_>>(),
    });
    if let Some(target) = route.delegate {
        spec["routes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"match": "/child", "delegate": {"name": format!("r{target}")}}));
    }
    if let Some(fqdn) = route.fqdn {
        spec["virtualhost"] = json!({"fqdn": FQDNS[fqdn]});
    }
    let mut metadata = json!({"name": format!("r{}", route.name), "namespace": "default"});
    if route.class {
        metadata["annotations"] = json!({"kubernetes.io/ingress.class": "other"});
    }
    let route: IngressRoute = serde_json::from_value(json!({
        "apiVersion": "contour.heptio.com/v1beta1", "kind": "IngressRoute",
        "metadata": metadata, "spec": spec,
    }))
    .unwrap();
    Object::IngressRoute(Arc::new(route))
}

fn service(name: usize, port: i32) -> Object {
    let mut spec = json!({"ports": [{"name": "http", "port": port}]});
    if SERVICES[name] == "ext" {
        spec["type"] = json!("ExternalName");
        spec["externalName"] = json!("example.org");
    }
    Object::Service(Arc::new(
        serde_json::from_value::<core_v1::Service>(json!({
            "metadata": {"name": SERVICES[name], "namespace": "default"}, "spec": spec,
        }))
        .unwrap(),
    ))
}

fn endpoints(name: usize, address: Option<u8>) -> Object {
    let subsets = address.map_or_else(Vec::new, |a| {
        vec![json!({"addresses": [{"ip": format!("10.0.0.{a}")}], "ports": [{"name": "http", "port": 8080}]})]
    });
    let endpoints: core_v1::Endpoints = serde_json::from_value(json!({
        "metadata": {"name": SERVICES[name], "namespace": "default"}, "subsets": subsets,
    }))
    .unwrap();
    Object::from_endpoints(&endpoints)
}

/// Every resource of a from-scratch translation, as served bytes.
type Served = BTreeMap<(ResourceKind, String), Vec<u8>>;

fn from_scratch(pipeline: &Pipeline) -> (Served, BTreeMap<ObjectRef, String>) {
    let dag = ingressroute_dag::build(pipeline.store().objects(), pipeline.config());
    let resources = translate(&dag, pipeline.store().endpoints(), pipeline.envoy_config());
    let mut served = Served::new();
    for kind in ResourceKind::ALL {
        for (name, any) in resources.encoded(kind) {
            use ingressroute_envoy::prost::Message as _;
            served.insert((kind, name), any.encode_to_vec());
        }
    }
    let statuses = dag
        .statuses()
        .iter()
        .map(|(k, s)| (k.clone(), format!("{}: {}", s.current_status.as_str(), s.description)))
        .collect();
    (served, statuses)
}

fn served(pipeline: &Pipeline) -> Served {
    pipeline
        .resources()
        .into_iter()
        .map(|r| ((r.kind, r.name.to_string()), r.any.to_vec()))
        .collect()
}

fn check(steps: &[Step], layout: HttpRoutes) -> Result<(), TestCaseError> {
    let mut envoy = EnvoyConfig::default();
    envoy.http_routes = layout;
    let mut pipeline = Pipeline::new(Config::default(), envoy);
    for kind in Kind::ALL {
        pipeline.apply(Event::Init(kind));
        pipeline.apply(Event::InitDone(kind));
    }
    let mut last = served(&pipeline);
    let rebuild = |pipeline: &mut Pipeline, last: &mut Served| -> Result<(), TestCaseError> {
        let rebuild = pipeline.rebuild();
        // The changes turn the last served set into the new one.
        for (kind, name) in &rebuild.resources.removals {
            prop_assert!(last.remove(&(*kind, name.clone())).is_some());
        }
        for resource in &rebuild.resources.upserts {
            last.insert((resource.kind, resource.name.to_string()), resource.any.to_vec());
        }
        let (want, statuses) = from_scratch(pipeline);
        prop_assert_eq!(&served(pipeline), &want);
        prop_assert_eq!(last, &want);
        let got: BTreeMap<ObjectRef, String> = rebuild
            .dag
            .statuses()
            .iter()
            .map(|(k, s)| (k.clone(), format!("{}: {}", s.current_status.as_str(), s.description)))
            .collect();
        prop_assert_eq!(got, statuses);
        Ok(())
    };
    rebuild(&mut pipeline, &mut last)?;
    for step in steps {
        let event = match step {
            Step::ApplyRoute(route) => Event::Apply(ingress_route(route)),
            Step::DeleteRoute(name) => Event::Delete(Kind::IngressRoute, ObjectRef::new("default", format!("r{name}"))),
            Step::Service(name, Some(port)) => Event::Apply(service(*name, *port)),
            Step::Service(name, None) => Event::Delete(Kind::Service, ObjectRef::new("default", SERVICES[*name])),
            Step::Endpoints(name, address, _) => Event::Apply(endpoints(*name, *address)),
            Step::Rebuild => {
                rebuild(&mut pipeline, &mut last)?;
                continue;
            }
        };
        let publish_now = matches!(step, Step::Endpoints(_, _, true));
        let effect = pipeline.apply(event);
        if publish_now && !effect.endpoints.is_empty() {
            // Endpoints alone: only the assignments are updated.
            let changes = pipeline.update_endpoints(&effect.endpoints);
            for resource in &changes.upserts {
                prop_assert_eq!(resource.kind, ResourceKind::ClusterLoadAssignment);
                last.insert((resource.kind, resource.name.to_string()), resource.any.to_vec());
            }
        }
    }
    rebuild(&mut pipeline, &mut last)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn incremental_rebuilds_equal_a_build_from_scratch_in_route_buckets(steps in prop::collection::vec(step(), 1..40)) {
        check(&steps, HttpRoutes::Scoped { buckets: 4 })?;
    }

    #[test]
    fn incremental_rebuilds_equal_a_build_from_scratch_in_contours_layout(steps in prop::collection::vec(step(), 1..40)) {
        check(&steps, HttpRoutes::Single)?;
    }
}
