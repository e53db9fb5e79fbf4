//! Properties of `convert --to httpproxy` over generated worlds (the DAG's own generator,
//! `ingressroute-dag/tests/support/world.rs`, and the fixture datasets): walking the
//! HTTPProxy include tree from each root the way Contour does serves every route of the
//! DAG exactly once per inclusion, at its effective prefix, and nothing else; and every
//! route of the DAG is exactly one rule of its IngressRoute's HTTPRoute, at its effective
//! prefix.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[allow(unreachable_pub, clippy::all)]
#[path = "../../ingressroute-dag/tests/support/world.rs"]
mod world;

use std::collections::{BTreeMap, BTreeSet};

use ingressroute_api::IngressRoute;
use ingressroute_cli::convert::contour_v1::{HttpProxy, Object};
use ingressroute_cli::convert::gateway::{self, Options};
use ingressroute_cli::convert::{Source, Warning, httpproxy};
use ingressroute_dag::{Config, Dag, K8sService, ObjectRef, Objects};
use proptest::prelude::*;

/// Contour's join of prefix conditions, written independently of the code under test:
/// concatenate, collapse runs of `/`.
fn collapse(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

fn condition(conditions: &[ingressroute_cli::convert::contour_v1::MatchCondition]) -> &str {
    conditions.first().map_or("", |c| c.prefix.as_str())
}

/// What walking one root's include tree serves: (effective prefix, HTTPProxy) per route,
/// and how often each HTTPProxy was reached.
#[derive(Debug, Default)]
struct Walk {
    served: Vec<(String, ObjectRef)>,
    visits: BTreeMap<ObjectRef, usize>,
}

fn walk(proxies: &BTreeMap<ObjectRef, &HttpProxy>, object: &ObjectRef, mount: &str, depth: usize, out: &mut Walk) {
    assert!(depth < 64, "the include tree has no cycle");
    let Some(proxy) = proxies.get(object) else {
        return;
    };
    *out.visits.entry(object.clone()).or_default() += 1;
    for route in &proxy.spec.routes {
        let mut prefix = collapse(&format!("{mount}{}", condition(&route.conditions)));
        if prefix.is_empty() {
            prefix = "/".into();
        }
        out.served.push((prefix, object.clone()));
    }
    for include in &proxy.spec.includes {
        let child = ObjectRef::new(include.namespace.clone(), include.name.clone());
        let mount = collapse(&format!("{mount}{}", condition(&include.conditions)));
        walk(proxies, &child, &mount, depth + 1, out);
    }
}

/// Checks the properties for every virtual host of `dag` whose tree holds no object the
/// conversion warned about (other than "not converted", a left-out include of an object
/// not converted, or a missing include, all exact); returns how many were checked.
fn check(
    dag: &Dag,
    routes: &[IngressRoute],
    services: BTreeMap<ObjectRef, K8sService>,
) -> Result<usize, TestCaseError> {
    let source = Source {
        dag,
        routes: routes.iter().map(|r| (ObjectRef::from_meta(&r.metadata), r)).collect(),
        services,
        legacy_annotations: BTreeMap::new(),
        delegations: BTreeMap::new(),
    };
    let (objects, warnings) = httpproxy::convert(&source);
    let proxies: BTreeMap<ObjectRef, &HttpProxy> = objects
        .iter()
        .filter_map(|o| match o {
            Object::HttpProxy(p) => Some((ObjectRef::from_meta(&p.metadata), p)),
            Object::TlsCertificateDelegation(_) => None,
        })
        .collect();
    let exact = |w: &Warning| {
        w.message.starts_with("not converted: ")
            || w.message.contains("the include is left out")
            || w.message.contains(", which does not exist:")
    };
    let troubled: BTreeSet<&ObjectRef> = warnings.iter().filter(|w| !exact(w)).map(|w| &w.object).collect();
    // Every valid IngressRoute is converted, and nothing else.
    let valid: BTreeSet<&ObjectRef> = dag
        .statuses()
        .iter()
        .filter(|(_, s)| s.current_status == ingressroute_dag::CurrentStatus::Valid)
        .map(|(o, _)| o)
        .collect();
    prop_assert_eq!(proxies.keys().collect::<BTreeSet<_>>(), valid);

    let mut checked = 0;
    for vhost in dag.virtual_hosts() {
        let mut out = Walk::default();
        walk(&proxies, &vhost.root, "", 0, &mut out);
        if out.visits.keys().any(|o| troubled.contains(o)) {
            continue;
        }
        checked += 1;
        for route in &vhost.routes {
            let source = &source.routes[&route.source];
            let declared = source
                .spec
                .routes
                .iter()
                .filter(|r| r.match_ == route.prefix && !r.services.is_empty())
                .count();
            let visits = out.visits.get(&route.source).copied().unwrap_or(0);
            let found = out
                .served
                .iter()
                .filter(|(prefix, object)| *prefix == route.prefix && *object == *route.source)
                .count();
            prop_assert!(
                found >= 1,
                "{} {:?} not served in {:#?}",
                route.source,
                route.prefix,
                out
            );
            prop_assert_eq!(found, visits * declared, "{} {:?}", route.source, route.prefix);
        }
        let prefixes: BTreeSet<&str> = vhost.routes.iter().map(|r| r.prefix.as_str()).collect();
        for (prefix, object) in &out.served {
            prop_assert!(
                prefixes.contains(prefix.as_str()),
                "{object} serves {prefix:?}, the DAG does not"
            );
        }
        // The TCP proxy: the tcpproxy include chain ends at the one the DAG serves.
        if let Some(tcp) = vhost.secure.as_ref().and_then(|s| s.tcp_proxy.as_ref()) {
            let mut at = vhost.root.clone();
            for _ in 0..64 {
                let tcpproxy = proxies[&at].spec.tcpproxy.as_ref();
                match tcpproxy.and_then(|t| t.include.as_ref()) {
                    Some(include) => at = ObjectRef::new(include.namespace.clone(), include.name.clone()),
                    None => break,
                }
            }
            prop_assert_eq!(&at, &tcp.source);
            prop_assert!(!proxies[&at].spec.tcpproxy.as_ref().unwrap().services.is_empty());
        }
    }
    Ok(checked)
}

/// Gateway API: every route the DAG serves is one rule of its IngressRoute's HTTPRoute,
/// at its effective prefix, and there is no other rule.
fn check_gateway(
    dag: &Dag,
    routes: &[IngressRoute],
    services: BTreeMap<ObjectRef, K8sService>,
) -> Result<(), TestCaseError> {
    let source = Source {
        dag,
        routes: routes.iter().map(|r| (ObjectRef::from_meta(&r.metadata), r)).collect(),
        services,
        legacy_annotations: BTreeMap::new(),
        delegations: BTreeMap::new(),
    };
    let options = Options::new(ObjectRef::new("gw", "gw"), false, "contour");
    let (objects, _) = gateway::convert(&source, &options);
    let mut rules: BTreeMap<(ObjectRef, String), usize> = BTreeMap::new();
    for object in &objects {
        if let gateway::Object::HttpRoute(route) = object {
            let name = route.metadata.name.clone().unwrap();
            if name.ends_with("-http")
                && !source
                    .routes
                    .contains_key(&ObjectRef::new(route.metadata.namespace.clone().unwrap(), name.clone()))
            {
                continue;
            }
            let object = ObjectRef::new(route.metadata.namespace.clone().unwrap(), name);
            for rule in route.spec.rules.iter().flatten() {
                let prefix = rule.matches.as_ref().unwrap()[0]
                    .path
                    .as_ref()
                    .unwrap()
                    .value
                    .clone()
                    .unwrap();
                *rules.entry((object.clone(), prefix)).or_default() += 1;
            }
        }
    }
    let served: BTreeSet<(ObjectRef, String)> = dag
        .virtual_hosts()
        .iter()
        .flat_map(|v| v.routes.iter().map(|r| ((*r.source).clone(), r.prefix.clone())))
        .collect();
    prop_assert_eq!(rules.keys().cloned().collect::<BTreeSet<_>>(), served);
    prop_assert!(rules.values().all(|n| *n == 1), "{rules:?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn every_served_route_appears_once_per_inclusion_at_its_effective_prefix(world in world::world()) {
        let routes = world.ingress_routes();
        let objects = world.objects(routes.clone());
        let dag = ingressroute_dag::build(&objects, &world.config());
        let services: BTreeMap<ObjectRef, K8sService> = world::NAMESPACES
            .iter()
            .map(|ns| (*ns, "s1"))
            .chain([("a", "s2")])
            .map(|(ns, name)| (ObjectRef::new(ns, name), K8sService::from_k8s(&world::k8s_service(ns, name))))
            .collect();
        check(&dag, &routes, services.clone())?;
        check_gateway(&dag, &routes, services)?;
    }
}

#[test]
fn a_fixture_dataset_with_delegation_converts_exactly() {
    let dataset = ingressroute_fixtures::Dataset::generate(ingressroute_fixtures::Size::M);
    let mut objects = Objects::new();
    for service in &dataset.services {
        objects.insert_service(service);
    }
    for secret in &dataset.secrets {
        let _ = objects.insert_secret(secret);
    }
    for route in &dataset.ingress_routes {
        objects.insert_ingress_route(route.clone());
    }
    let dag = ingressroute_dag::build(&objects, &Config::default());
    let services: BTreeMap<ObjectRef, K8sService> = dataset
        .services
        .iter()
        .map(|s| (ObjectRef::from_meta(&s.metadata), K8sService::from_k8s(s)))
        .collect();
    check_gateway(&dag, &dataset.ingress_routes, services.clone()).unwrap();
    let checked = check(&dag, &dataset.ingress_routes, services).unwrap();
    assert_eq!(checked, dag.virtual_hosts().len());
    assert_eq!(checked, 1_000);
}
