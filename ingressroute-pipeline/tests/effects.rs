#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! What each change calls for: nothing, endpoints only, a status write, or a rebuild.

use std::collections::BTreeSet;
use std::sync::Arc;

use ingressroute_api::IngressRoute;
use ingressroute_dag::{Config, CurrentStatus, ObjectRef};
use ingressroute_envoy::EnvoyConfig;
use ingressroute_pipeline::{Event, Kind, Object, Pipeline, Undecodable};
use k8s_openapi::api::core::v1 as core_v1;
use serde_json::json;

fn route(name: &str, fqdn: Option<&str>, service: &str) -> Arc<IngressRoute> {
    let mut spec = json!({"routes": [{"match": "/", "services": [{"name": service, "port": 80}]}]});
    if let Some(fqdn) = fqdn {
        spec["virtualhost"] = json!({"fqdn": fqdn});
    }
    Arc::new(
        serde_json::from_value(json!({
            "apiVersion": "contour.heptio.com/v1beta1", "kind": "IngressRoute",
            "metadata": {"name": name, "namespace": "default", "resourceVersion": "1"},
            "spec": spec,
        }))
        .unwrap(),
    )
}

fn service(name: &str) -> Object {
    Object::Service(Arc::new(
        serde_json::from_value::<core_v1::Service>(json!({
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"ports": [{"port": 80}]},
        }))
        .unwrap(),
    ))
}

fn endpoints(name: &str, ip: &str) -> Object {
    let endpoints: core_v1::Endpoints = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"port": 8080}]}],
    }))
    .unwrap();
    Object::from_endpoints(&endpoints)
}

fn key(name: &str) -> ObjectRef {
    ObjectRef::new("default", name)
}

/// A pipeline whose first list held `objects`, built once.
fn built(objects: &[Object]) -> Pipeline {
    let mut pipeline = Pipeline::new(Config::default(), EnvoyConfig::default());
    for kind in Kind::ALL {
        pipeline.apply(Event::Init(kind));
        for object in objects.iter().filter(|o| o.kind() == kind) {
            pipeline.apply(Event::InitApply(object.clone()));
        }
        assert!(!pipeline.store().synced() || kind == Kind::Endpoints);
        pipeline.apply(Event::InitDone(kind));
    }
    assert!(pipeline.store().synced());
    let _ = pipeline.rebuild();
    pipeline
}

/// A pipeline built once with the root `default/web` for `web.example.com` and its Service.
fn web() -> Pipeline {
    built(&[
        Object::IngressRoute(route("web", Some("web.example.com"), "web")),
        service("web"),
    ])
}

#[test]
fn a_service_no_route_looks_up_changes_nothing_and_a_used_one_rebuilds() {
    let mut pipeline = web();
    let effect = pipeline.apply(Event::Apply(service("unused")));
    assert!(effect.is_empty(), "{effect:?}");

    let mut changed = service("web");
    if let Object::Service(s) = &mut changed {
        let s = Arc::make_mut(s);
        s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 81;
    }
    let effect = pipeline.apply(Event::Apply(changed));
    assert!(effect.rebuild);
    assert_eq!(effect.changed.services, BTreeSet::from([key("web")]));
    let rebuild = pipeline.rebuild();
    assert_eq!(rebuild.changed.services, BTreeSet::from([key("web")]));
    assert_eq!(
        rebuild.dag.status(&key("web")).unwrap().description,
        "Service [web:80] is invalid or missing"
    );
}

#[test]
fn a_missing_service_that_appears_rebuilds() {
    let mut pipeline = built(&[Object::IngressRoute(route("web", Some("web.example.com"), "web"))]);
    assert_eq!(
        pipeline.dag().unwrap().status(&key("web")).unwrap().current_status,
        CurrentStatus::Invalid
    );
    let effect = pipeline.apply(Event::Apply(service("web")));
    assert!(effect.rebuild, "the build looked it up and did not find it");
    assert_eq!(
        pipeline.rebuild().dag.status(&key("web")).unwrap().current_status,
        CurrentStatus::Valid
    );
}

#[test]
fn endpoints_are_an_eds_update_only_when_a_cluster_reads_them() {
    let mut pipeline = built(&[
        Object::IngressRoute(route("web", Some("web.example.com"), "web")),
        service("web"),
        endpoints("web", "10.0.0.1"),
    ]);
    let effect = pipeline.apply(Event::Apply(endpoints("web", "10.0.0.2")));
    assert!(!effect.rebuild);
    assert_eq!(effect.endpoints, BTreeSet::from([key("web")]));
    assert!(pipeline.endpoints_matter(&effect.endpoints));
    let assignment = pipeline.cluster_load_assignment("default/web");
    assert_eq!(assignment.endpoints[0].lb_endpoints.len(), 1);

    let effect = pipeline.apply(Event::Apply(endpoints("other", "10.0.0.3")));
    assert!(!effect.rebuild);
    assert!(
        !pipeline.endpoints_matter(&effect.endpoints),
        "no cluster reads default/other"
    );

    let effect = pipeline.apply(Event::Apply(endpoints("web", "10.0.0.2")));
    assert!(effect.is_empty(), "unchanged endpoints change nothing");
}

#[test]
fn a_status_only_update_rebuilds_nothing_but_may_need_a_write() {
    let mut pipeline = web();
    let writes = pipeline.status_writes();
    assert_eq!(writes.len(), 1, "the object has no status yet");
    assert_eq!(writes[&key("web")].desired.current_status, "valid");
    assert_eq!(writes[&key("web")].resource_version.as_deref(), Some("1"));

    // Someone writes the status: nothing to rebuild, nothing left to write.
    let mut written = (*route("web", Some("web.example.com"), "web")).clone();
    written.status = Some(writes[&key("web")].desired.clone());
    written.metadata.resource_version = Some("2".into());
    let effect = pipeline.apply(Event::Apply(Object::IngressRoute(Arc::new(written.clone()))));
    assert!(!effect.rebuild);
    assert_eq!(effect.routes, BTreeSet::from([key("web")]));
    assert_eq!(pipeline.status_write(&key("web")), None);

    // Someone else overwrites it: it needs writing again.
    written.status.as_mut().unwrap().description = "tampered".into();
    pipeline.apply(Event::Apply(Object::IngressRoute(Arc::new(written))));
    assert_eq!(
        pipeline.status_write(&key("web")).unwrap().desired.description,
        "valid IngressRoute"
    );
}

#[test]
fn another_ingress_class_is_ignored_entirely() {
    let mut pipeline = built(&[service("web")]);
    let mut other = (*route("other", Some("other.example.com"), "web")).clone();
    other.metadata.annotations = Some([("kubernetes.io/ingress.class".to_owned(), "nginx".to_owned())].into());
    let effect = pipeline.apply(Event::Apply(Object::IngressRoute(Arc::new(other))));
    assert!(!effect.rebuild);
    let rebuild = pipeline.rebuild();
    assert!(rebuild.dag.status(&key("other")).is_none());
    assert!(pipeline.status_writes().is_empty());
}

#[test]
fn a_relist_removes_what_it_does_not_list() {
    let mut pipeline = built(&[
        Object::IngressRoute(route("a", Some("a.example.com"), "web")),
        Object::IngressRoute(route("b", Some("b.example.com"), "web")),
        service("web"),
    ]);
    pipeline.apply(Event::Init(Kind::IngressRoute));
    pipeline.apply(Event::InitApply(Object::IngressRoute(route(
        "a",
        Some("a.example.com"),
        "web",
    ))));
    let effect = pipeline.apply(Event::InitDone(Kind::IngressRoute));
    assert!(effect.rebuild);
    assert_eq!(effect.changed.ingress_routes, BTreeSet::from([key("b")]));
    let rebuild = pipeline.rebuild();
    assert_eq!(rebuild.dag.virtual_hosts().len(), 1);
}

#[test]
fn an_undecodable_ingress_route_is_absent_and_invalid() {
    let mut pipeline = web();
    let metadata = route("web", None, "web").metadata.clone();
    let undecodable = Undecodable::new(
        Kind::IngressRoute,
        metadata,
        None,
        "spec.routes[0].services[0].port: invalid type: string \"80\", expected i64",
    );
    let effect = pipeline.apply(Event::Apply(Object::Undecodable(Arc::new(undecodable))));
    assert!(effect.rebuild, "its last good version is gone");
    let rebuild = pipeline.rebuild();
    assert!(rebuild.dag.virtual_hosts().is_empty());
    let statuses = pipeline.statuses();
    assert_eq!(
        statuses[&key("web")],
        (
            CurrentStatus::Invalid,
            "cannot decode the IngressRoute: spec.routes[0].services[0].port: invalid type: string \"80\", expected i64"
                .to_owned()
        )
    );
    assert_eq!(pipeline.status_writes()[&key("web")].desired.current_status, "invalid");

    let effect = pipeline.apply(Event::Apply(Object::IngressRoute(route(
        "web",
        Some("web.example.com"),
        "web",
    ))));
    assert!(effect.rebuild);
    assert!(pipeline.store().undecodable_routes().is_empty());
}

#[test]
fn a_rejected_ingress_route_takes_part_but_is_never_served() {
    let mut pipeline = built(&[service("web")]);
    let effect = pipeline.apply(Event::Apply(Object::RejectedIngressRoute {
        route: route("web", Some("web.example.com"), "web"),
        description: "cannot decode the IngressRoute: spec.routes[0].services[0].strategy: unknown".into(),
    }));
    assert!(effect.rebuild);
    let rebuild = pipeline.rebuild();
    assert!(rebuild.dag.virtual_hosts().is_empty());
    let status = rebuild.dag.status(&key("web")).unwrap();
    assert_eq!(status.current_status, CurrentStatus::Invalid);
    assert_eq!(
        status.description,
        "cannot decode the IngressRoute: spec.routes[0].services[0].strategy: unknown"
    );

    // The same object accepted: it is served.
    let effect = pipeline.apply(Event::Apply(Object::IngressRoute(route(
        "web",
        Some("web.example.com"),
        "web",
    ))));
    assert!(effect.rebuild, "its rejection is gone");
    assert_eq!(pipeline.rebuild().dag.virtual_hosts().len(), 1);
}

#[test]
fn nothing_is_synced_until_every_kind_has_listed_once() {
    let mut pipeline = Pipeline::new(Config::default(), EnvoyConfig::default());
    for kind in &Kind::ALL[..4] {
        pipeline.apply(Event::Init(*kind));
        pipeline.apply(Event::InitDone(*kind));
    }
    assert!(!pipeline.store().synced());
    pipeline.apply(Event::Init(Kind::Endpoints));
    pipeline.apply(Event::InitDone(Kind::Endpoints));
    assert!(pipeline.store().synced());
}

#[test]
fn a_relist_of_everything_syncs_the_store_and_a_second_one_changes_only_what_differs() {
    let mut pipeline = Pipeline::new(Config::default(), EnvoyConfig::default());
    let objects = [
        Object::IngressRoute(route("web", Some("web.example.com"), "web")),
        service("web"),
        service("unused"),
        endpoints("web", "10.0.0.1"),
    ];
    for event in Event::relist(objects.clone()) {
        pipeline.apply(event);
    }
    assert!(pipeline.store().synced());
    assert_eq!(pipeline.rebuild().dag.virtual_hosts().len(), 1);

    let mut effect = ingressroute_pipeline::Effect::default();
    for event in Event::relist(objects.clone()) {
        pipeline.apply_into(event, &mut effect);
    }
    assert!(!effect.rebuild, "the same objects again: {effect:?}");
    assert!(effect.endpoints.is_empty());

    // Without the Service the route reads and the one nobody reads.
    let mut effect = ingressroute_pipeline::Effect::default();
    for event in Event::relist([objects[0].clone(), objects[3].clone()]) {
        pipeline.apply_into(event, &mut effect);
    }
    assert!(effect.rebuild);
    assert_eq!(effect.changed.services, BTreeSet::from([key("web")]));
}

#[test]
fn a_build_takes_in_the_changes_so_far() {
    let mut pipeline = built(&[service("web")]);
    pipeline.apply(Event::Apply(Object::IngressRoute(route(
        "web",
        Some("web.example.com"),
        "web",
    ))));
    let _ = pipeline.build();
    assert!(
        pipeline.rebuild().changed.is_empty(),
        "the change was built by the build before"
    );
}

#[test]
fn an_unusable_secret_says_why_until_it_is_replaced_or_deleted() {
    let secret = |crt: &str| {
        Object::Secret(Arc::new(
            serde_json::from_value::<core_v1::Secret>(json!({
                "metadata": {"name": "tls", "namespace": "default"},
                "type": "kubernetes.io/tls",
                "stringData": {"tls.crt": crt, "tls.key": "not a key"},
            }))
            .unwrap(),
        ))
    };
    let mut pipeline = built(&[]);
    pipeline.apply(Event::Apply(secret("not a certificate")));
    assert!(pipeline.store().unusable_secret(&key("tls")).is_some());
    pipeline.apply(Event::Delete(Kind::Secret, key("tls")));
    assert_eq!(pipeline.store().unusable_secret(&key("tls")), None);
}

#[test]
fn a_missing_field_is_described_as_the_cli_and_the_controller_say_it() {
    assert_eq!(
        ingressroute_pipeline::missing_field_description("spec.routes[0].match"),
        "cannot decode the IngressRoute: spec.routes[0].match: is required"
    );
}

#[test]
fn a_rejected_cluster_names_the_ingress_routes_behind_it() {
    let mut pipeline = web();
    let rebuild = pipeline.rebuild();
    let resolve = ingressroute_pipeline::resolver(rebuild.dag, pipeline.envoy_config().clone());
    let resources = pipeline.resources();
    let cluster = &resources
        .iter()
        .find(|r| r.kind == ingressroute_envoy::ResourceKind::Cluster)
        .unwrap()
        .name;
    assert_eq!(
        resolve(ingressroute_envoy::ResourceKind::Cluster, cluster),
        ["default/web"]
    );
    assert!(resolve(ingressroute_envoy::ResourceKind::Cluster, "no/such/cluster").is_empty());
}
