//! Small, dense generated worlds of IngressRoutes for property tests (proptest).
//!
//! The generator makes worlds in two namespaces: roots with colliding and malformed
//! fqdns, TLS with present, missing and undelegated Secrets, routes with overlapping
//! prefixes, present and missing Services, negative weights, delegations within and
//! across namespaces (to missing objects, to roots, to themselves), and tcpproxies.

#![allow(dead_code)]

use std::collections::BTreeMap;

use ingressroute_api::{
    Delegate, IngressRoute, IngressRouteSpec, Route, Service, TcpProxy, Tls, VirtualHost as ApiVirtualHost,
};
use ingressroute_dag::{Config, Objects};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use proptest::prelude::*;

pub(crate) const NAMESPACES: [&str; 2] = ["a", "b"];
pub(crate) const FQDNS: [&str; 7] = ["x.com", "y.com", "z.com", "ü.com", "X.com", "", "*.w.com"];
pub(crate) const MATCHES: [&str; 8] = ["/", "/a", "/a/b", "/a/b/c", "/a/", "/b", "/ab", ""];
pub(crate) const SERVICES: [&str; 3] = ["s1", "s2", "missing"];

#[derive(Debug, Clone)]
pub(crate) struct GenService {
    pub(crate) name: usize,
    pub(crate) port: i64,
    pub(crate) weight: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) enum GenTarget {
    /// Object index (its namespace, or the other namespace when `cross`).
    Object {
        index: usize,
        cross: bool,
    },
    Missing,
}

#[derive(Debug, Clone)]
pub(crate) struct GenRoute {
    pub(crate) prefix: usize,
    pub(crate) services: Vec<GenService>,
    pub(crate) delegate: Option<GenTarget>,
    pub(crate) websockets: bool,
    pub(crate) timeout: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub(crate) enum GenTls {
    Secret,
    CrossNamespaceSecret,
    Missing,
    Passthrough,
}

#[derive(Debug, Clone)]
pub(crate) struct GenObject {
    pub(crate) namespace: usize,
    pub(crate) root: Option<(usize, Option<GenTls>)>,
    pub(crate) routes: Vec<GenRoute>,
    pub(crate) tcp: Option<(Vec<GenService>, Option<GenTarget>)>,
}

#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) objects: Vec<GenObject>,
    pub(crate) restrict_roots: bool,
    pub(crate) permutation_seed: u64,
}

pub(crate) fn service() -> impl Strategy<Value = GenService> {
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
pub(crate) fn target(objects: usize, roots: usize) -> impl Strategy<Value = GenTarget> {
    let children = if roots < objects { roots..objects } else { 0..objects };
    prop_oneof![
        8 => (children, prop::bool::weighted(0.1)).prop_map(|(index, cross)| GenTarget::Object { index, cross }),
        1 => (0..objects).prop_map(|index| GenTarget::Object { index, cross: false }),
        1 => Just(GenTarget::Missing),
    ]
}

pub(crate) fn route(objects: usize, roots: usize) -> impl Strategy<Value = GenRoute> {
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

pub(crate) fn tls() -> impl Strategy<Value = Option<GenTls>> {
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
pub(crate) fn object(objects: usize, roots: usize, index: usize) -> impl Strategy<Value = GenObject> {
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

pub(crate) fn world() -> impl Strategy<Value = World> {
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

pub(crate) fn name(i: usize) -> String {
    format!("r{i}")
}

pub(crate) fn delegate(world: &World, from_ns: usize, target: &GenTarget) -> Delegate {
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

pub(crate) fn services(list: &[GenService]) -> Vec<Service> {
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
    pub(crate) fn ingress_routes(&self) -> Vec<IngressRoute> {
        (0..self.objects.len()).map(|i| self.ingress_route(i)).collect()
    }

    /// Object `i` as an IngressRoute.
    pub(crate) fn ingress_route(&self, i: usize) -> IngressRoute {
        let o = &self.objects[i];
        {
            {
                let routes = o
                    .routes
                    .iter()
                    .map(|r| Route {
                        match_: MATCHES[r.prefix].into(),
                        services: services(&r.services),
                        delegate: r
                            .delegate
                            .as_ref()
                            .map(|t| delegate(self, o.namespace, t))
                            .map(Box::new),
                        enable_websockets: r.websockets,
                        timeout_policy: r
                            .timeout
                            .map(|t| ingressroute_api::TimeoutPolicy {
                                request: Some(t.into()),
                            })
                            .map(Box::new),
                        ..Route::default()
                    })
                    .collect();
                let virtualhost = o.root.as_ref().map(|(fqdn, tls)| ApiVirtualHost {
                    fqdn: FQDNS[*fqdn].into(),
                    tls: tls
                        .as_ref()
                        .map(|t| match t {
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
                        })
                        .map(Box::new),
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
                        tcpproxy: tcpproxy.map(Box::new),
                        ..Default::default()
                    },
                );
                ir.metadata.namespace = Some(NAMESPACES[o.namespace].into());
                ir
            }
        }
    }

    pub(crate) fn config(&self) -> Config {
        let mut config = Config::default();
        if self.restrict_roots {
            config.root_namespaces = vec!["a".into()];
        }
        config
    }

    /// The world's objects inserted in the given order of IngressRoutes.
    pub(crate) fn objects(&self, routes: Vec<IngressRoute>) -> Objects {
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
    pub(crate) fn shuffled(&self) -> Vec<IngressRoute> {
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

pub(crate) fn meta(namespace: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectMeta::default()
    }
}

pub(crate) fn k8s_service(namespace: &str, name: &str) -> core_v1::Service {
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

pub(crate) fn tls_secret(namespace: &str, name: &str) -> core_v1::Secret {
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
