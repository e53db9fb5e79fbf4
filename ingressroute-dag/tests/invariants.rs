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
//!   chain from the root (decision D4 makes this transitive);
//! * leave no delegation cycle among the objects it serves (every cycle is reported);
//! * serve no root outside the root namespaces;
//! * never call an object orphaned that a served object delegates to.
//!
//! A failing case prints the delegation graph as DOT.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::collections::{BTreeMap, BTreeSet};

use ingressroute_api::{
    Delegate, IngressRoute, IngressRouteSpec, Route, Service, TcpProxy, Tls, VirtualHost as ApiVirtualHost,
};
use ingressroute_dag::{Config, CurrentStatus, Dag, Delegation, ObjectRef, Objects, build};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use proptest::prelude::*;

const NAMESPACES: [&str; 2] = ["a", "b"];
const FQDNS: [&str; 7] = ["x.com", "y.com", "z.com", "ü.com", "X.com", "", "*.w.com"];
const MATCHES: [&str; 8] = ["/", "/a", "/a/b", "/a/b/c", "/a/", "/b", "/ab", ""];
const SERVICES: [&str; 3] = ["s1", "s2", "missing"];

#[derive(Debug, Clone)]
struct GenService {
    name: usize,
    port: i64,
    weight: Option<i64>,
}

#[derive(Debug, Clone)]
enum GenTarget {
    /// Object index (its namespace, or the other namespace when `cross`).
    Object {
        index: usize,
        cross: bool,
    },
    Missing,
}

#[derive(Debug, Clone)]
struct GenRoute {
    prefix: usize,
    services: Vec<GenService>,
    delegate: Option<GenTarget>,
    websockets: bool,
    timeout: Option<&'static str>,
}

#[derive(Debug, Clone)]
enum GenTls {
    Secret,
    CrossNamespaceSecret,
    Missing,
    Passthrough,
}

#[derive(Debug, Clone)]
struct GenObject {
    namespace: usize,
    root: Option<(usize, Option<GenTls>)>,
    routes: Vec<GenRoute>,
    tcp: Option<(Vec<GenService>, Option<GenTarget>)>,
}

#[derive(Debug, Clone)]
struct World {
    objects: Vec<GenObject>,
    restrict_roots: bool,
    permutation_seed: u64,
}

fn service() -> impl Strategy<Value = GenService> {
    // Mostly resolvable services, so that deep valid chains are common; sometimes a
    // missing Service, a bad port or a negative weight.
    (
        prop_oneof![16 => Just(0_usize), 3 => Just(1), 1 => Just(2)],
        prop_oneof![38 => Just(80_i64), 1 => Just(0), 1 => Just(70_000)],
        prop_oneof![12 => Just(None), 7 => (0_i64..3).prop_map(Some), 1 => Just(Some(-1))],
    )
        .prop_map(|(name, port, weight)| GenService { name, port, weight })
}

/// A delegation target: mostly a non-root (objects `roots..objects`), sometimes any
/// object (a root, or the delegator itself), sometimes nothing.
fn target(objects: usize, roots: usize) -> impl Strategy<Value = GenTarget> {
    let children = if roots < objects { roots..objects } else { 0..objects };
    prop_oneof![
        8 => (children, prop::bool::weighted(0.1)).prop_map(|(index, cross)| GenTarget::Object { index, cross }),
        1 => (0..objects).prop_map(|index| GenTarget::Object { index, cross: false }),
        1 => Just(GenTarget::Missing),
    ]
}

fn route(objects: usize, roots: usize) -> impl Strategy<Value = GenRoute> {
    // What the route does: serve (mostly one service), delegate, both (an error), or
    // nothing.
    let services = || prop::collection::vec(service(), 1..3);
    let action = prop_oneof![
        10 => services().prop_map(|s| (s, None)),
        12 => target(objects, roots).prop_map(|t| (Vec::new(), Some(t))),
        1 => (services(), target(objects, roots)).prop_map(|(s, t)| (s, Some(t))),
        1 => Just((Vec::new(), None)),
    ];
    // Prefixes mostly nest, so that chains are often valid.
    let prefix = prop_oneof![3 => Just(0_usize), 3 => Just(1), 3 => Just(2), 3 => Just(3), 1 => Just(4), 1 => Just(5), 1 => Just(6), 1 => Just(7)];
    (
        prefix,
        action,
        prop::bool::weighted(0.05),
        prop::option::weighted(
            0.03,
            prop_oneof![Just("1s"), Just("infinity"), Just("peanut"), Just("0s")],
        ),
    )
        .prop_map(|(prefix, (services, delegate), websockets, timeout)| GenRoute {
            prefix,
            services,
            delegate,
            websockets,
            timeout,
        })
}

fn tls() -> impl Strategy<Value = Option<GenTls>> {
    prop_oneof![
        8 => Just(None),
        4 => Just(Some(GenTls::Secret)),
        1 => Just(Some(GenTls::CrossNamespaceSecret)),
        1 => Just(Some(GenTls::Missing)),
        2 => Just(Some(GenTls::Passthrough)),
    ]
}

/// Object `index` of `objects`; the first `roots` are roots with (mostly) distinct fqdns,
/// and a few others are roots too.
fn object(objects: usize, roots: usize, index: usize) -> impl Strategy<Value = GenObject> {
    // Roots mostly live in namespace `a`, the one allowed when roots are restricted.
    let namespace = if index < roots {
        prop_oneof![4 => Just(0_usize), 1 => Just(1)].boxed()
    } else {
        (0..NAMESPACES.len()).boxed()
    };
    let root = if index < roots {
        prop_oneof![8 => Just(index % 4), 2 => 0..FQDNS.len()]
            .prop_flat_map(|fqdn| tls().prop_map(move |t| Some((fqdn, t))))
            .boxed()
    } else {
        prop::option::weighted(0.1, (0..FQDNS.len(), tls())).boxed()
    };
    (
        namespace,
        root,
        prop::collection::vec(route(objects, roots), 0..5),
        prop::option::weighted(
            0.25,
            (
                prop::collection::vec(service(), 0..2),
                prop::option::weighted(0.5, target(objects, roots)),
            ),
        ),
    )
        .prop_map(|(namespace, root, routes, tcp)| GenObject {
            namespace,
            root,
            routes,
            tcp,
        })
}

fn world() -> impl Strategy<Value = World> {
    (1_usize..9)
        .prop_flat_map(|n| (Just(n), 1..=n.min(3)))
        .prop_flat_map(|(n, roots)| {
            (
                (0..n).map(|i| object(n, roots, i)).collect::<Vec<_>>(),
                prop::bool::weighted(0.3),
                any::<u64>(),
            )
        })
        .prop_map(|(objects, restrict_roots, permutation_seed)| World {
            objects,
            restrict_roots,
            permutation_seed,
        })
}

fn name(i: usize) -> String {
    format!("r{i}")
}

fn delegate(world: &World, from_ns: usize, target: &GenTarget) -> Delegate {
    match target {
        GenTarget::Object { index, cross } => {
            let target_ns = world.objects[*index].namespace;
            // A "cross" delegation names the other namespace explicitly, so it may point
            // at nothing; otherwise it names the target's real namespace (or omits it
            // when that is the delegator's own).
            let namespace = match (cross, target_ns == from_ns) {
                (true, _) => Some(NAMESPACES[1 - target_ns].to_owned()),
                (false, true) => None,
                (false, false) => Some(NAMESPACES[target_ns].to_owned()),
            };
            Delegate {
                name: name(*index),
                namespace,
            }
        }
        GenTarget::Missing => Delegate {
            name: "nobody".into(),
            namespace: None,
        },
    }
}

fn services(list: &[GenService]) -> Vec<Service> {
    list.iter()
        .map(|s| Service {
            name: SERVICES[s.name].into(),
            port: s.port,
            weight: s.weight,
            ..Service::default()
        })
        .collect()
}

impl World {
    fn ingress_routes(&self) -> Vec<IngressRoute> {
        self.objects
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let routes = o
                    .routes
                    .iter()
                    .map(|r| Route {
                        match_: MATCHES[r.prefix].into(),
                        services: services(&r.services),
                        delegate: r.delegate.as_ref().map(|t| delegate(self, o.namespace, t)),
                        enable_websockets: r.websockets,
                        timeout_policy: r.timeout.map(|t| ingressroute_api::TimeoutPolicy {
                            request: Some(t.into()),
                        }),
                        ..Route::default()
                    })
                    .collect();
                let virtualhost = o.root.as_ref().map(|(fqdn, tls)| ApiVirtualHost {
                    fqdn: FQDNS[*fqdn].into(),
                    tls: tls.as_ref().map(|t| match t {
                        GenTls::Secret => Tls {
                            secret_name: "tls".into(),
                            ..Tls::default()
                        },
                        GenTls::CrossNamespaceSecret => Tls {
                            secret_name: "a/tls".into(),
                            ..Tls::default()
                        },
                        GenTls::Missing => Tls {
                            secret_name: "nope".into(),
                            ..Tls::default()
                        },
                        GenTls::Passthrough => Tls {
                            passthrough: true,
                            ..Tls::default()
                        },
                    }),
                });
                let tcpproxy = o.tcp.as_ref().map(|(svcs, target)| TcpProxy {
                    services: services(svcs),
                    delegate: target.as_ref().map(|t| delegate(self, o.namespace, t)),
                });
                let mut ir = IngressRoute::new(
                    &name(i),
                    IngressRouteSpec {
                        virtualhost,
                        routes,
                        tcpproxy,
                        ..Default::default()
                    },
                );
                ir.metadata.namespace = Some(NAMESPACES[o.namespace].into());
                ir
            })
            .collect()
    }

    fn config(&self) -> Config {
        let mut config = Config::default();
        if self.restrict_roots {
            config.root_namespaces = vec!["a".into()];
        }
        config
    }

    /// The world's objects inserted in the given order of IngressRoutes.
    fn objects(&self, routes: Vec<IngressRoute>) -> Objects {
        let mut objects = Objects::new();
        for ns in NAMESPACES {
            objects.insert_service(&k8s_service(ns, "s1"));
            objects.insert_secret(&tls_secret(ns, "tls")).unwrap();
        }
        objects.insert_service(&k8s_service("a", "s2"));
        for route in routes {
            objects.insert_ingress_route(route);
        }
        objects
    }

    /// A deterministic shuffle of the IngressRoutes from the seed.
    fn shuffled(&self) -> Vec<IngressRoute> {
        let mut routes = self.ingress_routes();
        let mut state = self.permutation_seed | 1;
        for i in (1..routes.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            routes.swap(i, (state % (i as u64 + 1)) as usize);
        }
        routes
    }
}

fn meta(namespace: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectMeta::default()
    }
}

fn k8s_service(namespace: &str, name: &str) -> core_v1::Service {
    core_v1::Service {
        metadata: meta(namespace, name),
        spec: Some(core_v1::ServiceSpec {
            ports: Some(vec![core_v1::ServicePort {
                name: Some("http".into()),
                port: 80,
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

fn tls_secret(namespace: &str, name: &str) -> core_v1::Secret {
    core_v1::Secret {
        metadata: meta(namespace, name),
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            (
                "tls.crt".to_owned(),
                ByteString(ingressroute_fixtures::CERTIFICATE_PEM.into()),
            ),
            (
                "tls.key".to_owned(),
                ByteString(ingressroute_fixtures::PRIVATE_KEY_PEM.into()),
            ),
        ])),
        ..Default::default()
    }
}

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
                    if target == route.source {
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
