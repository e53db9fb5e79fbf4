//! Snapshots derived from a previous one plus the resources that changed, and snapshots of
//! resources encoded elsewhere: the same as a snapshot built from scratch of the same
//! resources, and refused, with the same error, when inconsistent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod server_support;
#[path = "../../ingressroute-envoy/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::route::v3 as route_v3;
use ingressroute_envoy::{EncodedResource, Inconsistency, ResourceKind, Resources};
use ingressroute_xds::{Error, Snapshot};
use proptest::prelude::*;
use server_support::*;
use support::{World, kube_service, svc};

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

// ----- encoded resources -------------------------------------------------------------------

/// Every resource of `resources`, encoded, with the names each uses: what an incremental
/// translation hands over.
fn encode(resources: &Resources) -> Vec<EncodedResource> {
    fn kind<M: prost::Message + prost::Name>(
        kind: ResourceKind,
        list: &[M],
        resources: &Resources,
    ) -> Vec<EncodedResource> {
        list.iter()
            .zip(resources.references(kind).unwrap())
            .map(|(message, (name, references))| EncodedResource::new(kind, name, message, references))
            .collect()
    }
    let mut all = kind(ResourceKind::Listener, &resources.listeners, resources);
    all.extend(kind(
        ResourceKind::ScopedRouteConfiguration,
        &resources.scoped_routes,
        resources,
    ));
    all.extend(kind(ResourceKind::RouteConfiguration, &resources.routes, resources));
    all.extend(kind(ResourceKind::Cluster, &resources.clusters, resources));
    all.extend(kind(
        ResourceKind::ClusterLoadAssignment,
        &resources.endpoints,
        resources,
    ));
    all.extend(kind(ResourceKind::Secret, &resources.secrets, resources));
    all
}

/// What changed from `old` to `new`, encoded.
fn encoded_changes(old: &Resources, new: &Resources) -> (Vec<EncodedResource>, Vec<(ResourceKind, String)>) {
    let (upserts, removals) = changes(old, new);
    (encode(&upserts), removals)
}

/// Scoped RDS (the default): a scope per host naming its bucket's route configuration.
fn scoped_shop() -> World {
    World::new()
        .root("default/kuard", "kuard.example.com")
        .route("/", svc("kuard", 80))
        .service(kube_service("default/kuard").port(80))
        .endpoints("default/kuard", &[("", &["10.0.0.1"], 8080)])
}

#[test]
fn a_snapshot_of_encoded_resources_equals_one_built_from_scratch_and_shares_their_bytes() {
    for resources in [secure_shop().translate(), scoped_shop().translate()] {
        let mut encoded = encode(&resources);
        // In any order.
        encoded.reverse();
        let bytes: Vec<(ResourceKind, String, bytes::Bytes)> = encoded
            .iter()
            .map(|r| (r.kind, r.name.to_string(), r.any.clone()))
            .collect();
        let snapshot = Snapshot::from_encoded(encoded).unwrap();
        assert_same(&snapshot, &Snapshot::new(&resources).unwrap());
        for (kind, name, any) in bytes {
            assert_eq!(
                snapshot.encoded(kind, &name).unwrap().as_ptr(),
                any.as_ptr(),
                "{kind} {name}"
            );
        }
    }
}

#[test]
fn the_same_name_twice_is_refused_from_encoded_resources() {
    let resources = shop().translate();
    let mut encoded = encode(&resources);
    let twice = encoded
        .iter()
        .find(|r| r.kind == ResourceKind::Cluster)
        .unwrap()
        .clone();
    encoded.push(twice.clone());
    let error = Snapshot::from_encoded(encoded).unwrap_err();
    assert!(
        matches!(&error, Error::Inconsistent(Inconsistency::Duplicate { kind: ResourceKind::Cluster, name }) if **name == *twice.name),
        "{error:?}"
    );
}

#[test]
fn a_snapshot_derived_from_encoded_resources_equals_one_built_from_scratch() {
    let before = secure_shop().translate();
    let after = shop_with("10.0.0.9")
        .route("/new", svc("other", 80))
        .service(kube_service("default/other").port(80))
        .translate();
    let (upserts, removals) = encoded_changes(&before, &after);
    let derived = Snapshot::new(&before)
        .unwrap()
        .derive_encoded(upserts, removals)
        .unwrap();
    assert_same(&derived, &Snapshot::new(&after).unwrap());
    let (upserts, removals) = encoded_changes(&after, &before);
    let back = derived.derive_encoded(upserts, removals).unwrap();
    assert_same(&back, &Snapshot::new(&before).unwrap());
}

/// Derives `after` from `before` and checks that it is refused with the error a snapshot of
/// `after` from scratch gives, both from encoded resources and from `Resources`.
fn refused_alike(before: &Resources, after: &Resources) -> Inconsistency {
    let (upserts, removals) = encoded_changes(before, after);
    let derived = Snapshot::new(before).unwrap().derive_encoded(upserts, removals);
    let Err(Error::Inconsistent(derived)) = derived else {
        panic!("derived: {derived:?}");
    };
    let Err(Error::Inconsistent(encoded)) = Snapshot::from_encoded(encode(after)) else {
        panic!("from_encoded accepted it");
    };
    let Err(Error::Inconsistent(scratch)) = Snapshot::new(after) else {
        panic!("new accepted it");
    };
    assert_eq!(derived, encoded);
    assert_eq!(derived, scratch);
    derived
}

#[test]
fn each_inconsistency_is_refused_by_a_derivation_as_a_check_from_scratch_refuses_it() {
    let shop = shop().translate();
    let scoped = scoped_shop().translate();
    let secure = secure_shop().translate();

    // A route to a cluster that does not exist.
    let mut after = shop.clone();
    let cluster = named(&shop, ResourceKind::Cluster, "default/api/");
    after.clusters.retain(|c| c.name != cluster);
    after.endpoints.retain(|e| !e.cluster_name.contains("api"));
    assert!(matches!(
        refused_alike(&shop, &after),
        Inconsistency::Missing { referrer_kind: ResourceKind::RouteConfiguration, kind: ResourceKind::Cluster, name, .. }
            if name == cluster
    ));

    // A route (upserted) to a cluster that never existed.
    let mut after = shop.clone();
    let Some(route_v3::route::Action::Route(action)) = &mut after.routes[0].virtual_hosts[0].routes[0].action else {
        panic!("a route action");
    };
    action.cluster_specifier = Some(route_v3::route_action::ClusterSpecifier::Cluster(
        "default/missing/80/da39a3ee5e".into(),
    ));
    assert!(matches!(
        refused_alike(&shop, &after),
        Inconsistency::Missing { referrer_kind: ResourceKind::RouteConfiguration, kind: ResourceKind::Cluster, name, .. }
            if name == "default/missing/80/da39a3ee5e"
    ));

    // A removed route configuration a scope still names.
    let mut after = scoped.clone();
    let config = named(&scoped, ResourceKind::RouteConfiguration, "ingress_http");
    after.routes.retain(|r| r.name != config);
    assert!(matches!(
        refused_alike(&scoped, &after),
        Inconsistency::Missing { referrer_kind: ResourceKind::ScopedRouteConfiguration, kind: ResourceKind::RouteConfiguration, name, .. }
            if name == config
    ));

    // A removed secret a listener still names.
    let mut after = secure.clone();
    after.secrets.clear();
    assert!(matches!(
        refused_alike(&secure, &after),
        Inconsistency::Missing {
            referrer_kind: ResourceKind::Listener,
            kind: ResourceKind::Secret,
            ..
        }
    ));

    // An assignment no cluster reads any more: its cluster is gone...
    let mut after = shop.clone();
    let assignment = named(&shop, ResourceKind::ClusterLoadAssignment, "api");
    after.clusters.retain(|c| c.name != cluster);
    after.routes = shop_with("10.0.0.2").translate().routes;
    for config in &mut after.routes {
        for vhost in &mut config.virtual_hosts {
            vhost.routes.retain(|route| !format!("{route:?}").contains(&cluster));
        }
    }
    assert!(matches!(
        refused_alike(&shop, &after),
        Inconsistency::Unreferenced { kind: ResourceKind::ClusterLoadAssignment, name } if name == assignment
    ));

    // ... or a new assignment nobody reads.
    let mut after = shop.clone();
    after
        .endpoints
        .push(envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment {
            cluster_name: "default/nobody".into(),
            ..Default::default()
        });
    assert!(matches!(
        refused_alike(&shop, &after),
        Inconsistency::Unreferenced { kind: ResourceKind::ClusterLoadAssignment, name } if name == "default/nobody"
    ));
}

#[test]
fn a_refused_derivation_leaves_the_snapshot_it_started_from_usable() {
    let resources = shop().translate();
    let snapshot = Snapshot::new(&resources).unwrap();
    let cluster = named(&resources, ResourceKind::Cluster, "default/api/");
    assert!(
        snapshot
            .derive_encoded(Vec::new(), [(ResourceKind::Cluster, cluster.as_str())])
            .is_err()
    );
    // Its counts are untouched: removing the route configuration and the clusters' users
    // along with the cluster is fine.
    let mut after = resources.clone();
    after.clusters.retain(|c| c.name != cluster);
    after.endpoints.retain(|e| !e.cluster_name.contains("api"));
    for config in &mut after.routes {
        for vhost in &mut config.virtual_hosts {
            vhost.routes.retain(|route| !format!("{route:?}").contains(&cluster));
        }
    }
    let (upserts, removals) = encoded_changes(&resources, &after);
    let derived = snapshot.derive_encoded(upserts, removals).unwrap();
    assert_same(&derived, &Snapshot::new(&after).unwrap());
}

// ----- random sequences of upserts and removals in a small world ---------------------------

/// A small world: names 0 to 2 of each kind (listeners 0 and 1), each resource naming
/// others by number. Any combination can be built; most are inconsistent.
mod small {
    use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
    use envoy_types::pb::envoy::config::core::v3 as core_v3;
    use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
    use envoy_types::pb::envoy::config::listener::v3 as listener_v3;
    use envoy_types::pb::envoy::config::route::v3 as route_v3;
    use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm_v3;
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
    use envoy_types::pb::google::protobuf::{Any, UInt32Value};
    use ingressroute_envoy::{ResourceKind, Resources};
    use proptest::prelude::*;
    use prost::{Message, Name};

    /// One resource of the small world.
    #[derive(Debug, Clone)]
    pub(crate) enum Res {
        /// `listener-i`: HTTP over RDS (`route`) or over Scoped RDS, maybe with TLS
        /// (`secret`).
        Listener {
            i: u8,
            scoped: bool,
            route: u8,
            secret: Option<u8>,
        },
        /// `scope-i`, naming `route`.
        Scope { i: u8, route: u8 },
        /// `route-i`, with a route to each of `clusters`.
        Route { i: u8, clusters: Vec<u8> },
        /// `cluster-i`: EDS reading `assignment-j`, or static; maybe with TLS (`secret`).
        Cluster {
            i: u8,
            assignment: Option<u8>,
            secret: Option<u8>,
        },
        /// `assignment-i`, with some content.
        Assignment { i: u8, content: u8 },
        /// `secret-i`, with some content.
        Secret { i: u8, content: u8 },
    }

    fn pack<M: Message + Name>(message: &M) -> Any {
        Any {
            type_url: M::type_url(),
            value: message.encode_to_vec(),
        }
    }

    fn sds(secret: u8) -> tls_v3::CommonTlsContext {
        tls_v3::CommonTlsContext {
            tls_certificate_sds_secret_configs: vec![tls_v3::SdsSecretConfig {
                name: format!("secret-{secret}"),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn socket(typed: Any) -> core_v3::TransportSocket {
        core_v3::TransportSocket {
            name: "envoy.transport_sockets.tls".into(),
            config_type: Some(core_v3::transport_socket::ConfigType::TypedConfig(typed)),
        }
    }

    /// The name of kind `kind` numbered `i`.
    pub(crate) fn name(kind: ResourceKind, i: u8) -> String {
        let prefix = match kind {
            ResourceKind::Listener => "listener",
            ResourceKind::ScopedRouteConfiguration => "scope",
            ResourceKind::RouteConfiguration => "route",
            ResourceKind::Cluster => "cluster",
            ResourceKind::ClusterLoadAssignment => "assignment",
            _ => "secret",
        };
        format!("{prefix}-{i}")
    }

    impl Res {
        /// Its kind and name.
        pub(crate) fn key(&self) -> (ResourceKind, String) {
            let (kind, i) = match self {
                Res::Listener { i, .. } => (ResourceKind::Listener, i),
                Res::Scope { i, .. } => (ResourceKind::ScopedRouteConfiguration, i),
                Res::Route { i, .. } => (ResourceKind::RouteConfiguration, i),
                Res::Cluster { i, .. } => (ResourceKind::Cluster, i),
                Res::Assignment { i, .. } => (ResourceKind::ClusterLoadAssignment, i),
                Res::Secret { i, .. } => (ResourceKind::Secret, i),
            };
            (kind, name(kind, *i))
        }

        /// Adds it to `resources`.
        pub(crate) fn add_to(&self, resources: &mut Resources) {
            let (_, name) = self.key();
            match self {
                Res::Listener {
                    scoped, route, secret, ..
                } => {
                    let route_specifier = if *scoped {
                        hcm_v3::http_connection_manager::RouteSpecifier::ScopedRoutes(hcm_v3::ScopedRoutes::default())
                    } else {
                        hcm_v3::http_connection_manager::RouteSpecifier::Rds(hcm_v3::Rds {
                            route_config_name: format!("route-{route}"),
                            ..Default::default()
                        })
                    };
                    let hcm = hcm_v3::HttpConnectionManager {
                        stat_prefix: name.clone(),
                        route_specifier: Some(route_specifier),
                        ..Default::default()
                    };
                    resources.listeners.push(listener_v3::Listener {
                        name,
                        filter_chains: vec![listener_v3::FilterChain {
                            filters: vec![listener_v3::Filter {
                                name: "envoy.filters.network.http_connection_manager".into(),
                                config_type: Some(listener_v3::filter::ConfigType::TypedConfig(pack(&hcm))),
                            }],
                            transport_socket: secret.map(|secret| {
                                socket(pack(&tls_v3::DownstreamTlsContext {
                                    common_tls_context: Some(sds(secret)),
                                    ..Default::default()
                                }))
                            }),
                            ..Default::default()
                        }],
                        ..Default::default()
                    });
                }
                Res::Scope { route, .. } => resources.scoped_routes.push(route_v3::ScopedRouteConfiguration {
                    name,
                    route_configuration_name: format!("route-{route}"),
                    ..Default::default()
                }),
                Res::Route { clusters, .. } => {
                    let routes = clusters
                        .iter()
                        .map(|cluster| route_v3::Route {
                            action: Some(route_v3::route::Action::Route(route_v3::RouteAction {
                                cluster_specifier: Some(route_v3::route_action::ClusterSpecifier::Cluster(format!(
                                    "cluster-{cluster}"
                                ))),
                                ..Default::default()
                            })),
                            ..Default::default()
                        })
                        .collect();
                    resources.routes.push(route_v3::RouteConfiguration {
                        name,
                        virtual_hosts: vec![route_v3::VirtualHost {
                            name: "host".into(),
                            domains: vec!["*".into()],
                            routes,
                            ..Default::default()
                        }],
                        ..Default::default()
                    });
                }
                Res::Cluster { assignment, secret, .. } => {
                    use cluster_v3::cluster::{ClusterDiscoveryType, DiscoveryType, EdsClusterConfig};
                    let discovery = if assignment.is_some() {
                        DiscoveryType::Eds
                    } else {
                        DiscoveryType::Static
                    };
                    resources.clusters.push(cluster_v3::Cluster {
                        name,
                        cluster_discovery_type: Some(ClusterDiscoveryType::Type(discovery.into())),
                        eds_cluster_config: assignment.map(|assignment| EdsClusterConfig {
                            service_name: format!("assignment-{assignment}"),
                            ..Default::default()
                        }),
                        transport_socket: secret.map(|secret| {
                            socket(pack(&tls_v3::UpstreamTlsContext {
                                common_tls_context: Some(sds(secret)),
                                ..Default::default()
                            }))
                        }),
                        ..Default::default()
                    });
                }
                Res::Assignment { content, .. } => resources.endpoints.push(endpoint_v3::ClusterLoadAssignment {
                    cluster_name: name,
                    policy: Some(endpoint_v3::cluster_load_assignment::Policy {
                        overprovisioning_factor: Some(UInt32Value {
                            value: u32::from(*content) + 100,
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                Res::Secret { content, .. } => resources.secrets.push(tls_v3::Secret {
                    name,
                    r#type: Some(tls_v3::secret::Type::GenericSecret(tls_v3::GenericSecret {
                        secret: Some(core_v3::DataSource {
                            specifier: Some(core_v3::data_source::Specifier::InlineString(content.to_string())),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })),
                }),
            }
        }
    }

    /// A consistent world holding every name.
    pub(crate) fn full() -> Vec<Res> {
        let mut world = vec![
            Res::Listener {
                i: 0,
                scoped: false,
                route: 0,
                secret: Some(0),
            },
            Res::Listener {
                i: 1,
                scoped: true,
                route: 0,
                secret: None,
            },
        ];
        for i in 0..3 {
            world.push(Res::Scope { i, route: i });
            world.push(Res::Route {
                i,
                clusters: vec![i, (i + 1) % 3],
            });
            world.push(Res::Cluster {
                i,
                assignment: Some(i),
                secret: (i == 0).then_some(1),
            });
            world.push(Res::Assignment { i, content: 0 });
            world.push(Res::Secret { i, content: 0 });
        }
        world
    }

    /// Any resource of the small world.
    pub(crate) fn resource() -> impl Strategy<Value = Res> {
        let i = || 0u8..3;
        prop_oneof![
            (0u8..2, any::<bool>(), i(), proptest::option::of(i())).prop_map(|(i, scoped, route, secret)| {
                Res::Listener {
                    i,
                    scoped,
                    route,
                    secret,
                }
            }),
            (i(), i()).prop_map(|(i, route)| Res::Scope { i, route }),
            (i(), proptest::collection::vec(i(), 0..3)).prop_map(|(i, clusters)| Res::Route { i, clusters }),
            (i(), proptest::option::of(i()), proptest::option::of(i()))
                .prop_map(|(i, assignment, secret)| Res::Cluster { i, assignment, secret }),
            (i(), 0u8..3).prop_map(|(i, content)| Res::Assignment { i, content }),
            (i(), 0u8..3).prop_map(|(i, content)| Res::Secret { i, content }),
        ]
    }

    /// Any name of the small world.
    pub(crate) fn removal() -> impl Strategy<Value = (ResourceKind, String)> {
        (0..ResourceKind::ALL.len(), 0u8..3).prop_map(|(kind, i)| {
            let kind = ResourceKind::ALL[kind];
            (kind, name(kind, i))
        })
    }
}

/// `world` as `Resources`, each kind sorted by name.
fn typed<'a>(world: impl IntoIterator<Item = &'a small::Res>) -> Resources {
    let mut resources = Resources::default();
    for resource in world {
        resource.add_to(&mut resources);
    }
    resources
}

/// The encoded resources of `world`.
fn encoded<'a>(world: impl IntoIterator<Item = &'a small::Res>) -> Vec<EncodedResource> {
    let mut all = Vec::new();
    for resource in world {
        all.extend(encode(&typed([resource])));
    }
    all
}

/// Whether `error` is about the one rule only [`Resources::check_consistency`] checks: a
/// listener takes scopes over Scoped RDS exactly when there are scopes.
fn scoped_rule(error: &Error) -> bool {
    matches!(
        error,
        Error::Inconsistent(
            Inconsistency::Missing {
                kind: ResourceKind::ScopedRouteConfiguration,
                ..
            } | Inconsistency::Unreferenced {
                kind: ResourceKind::ScopedRouteConfiguration,
                ..
            }
        )
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_upserts_and_removals_derive_what_a_snapshot_from_scratch_holds(
        steps in proptest::collection::vec(
            (
                proptest::collection::vec(small::resource(), 0..5),
                proptest::collection::vec(small::removal(), 0..3),
            ),
            1..12,
        )
    ) {
        let mut world: BTreeMap<(ResourceKind, String), small::Res> =
            small::full().into_iter().map(|r| (r.key(), r)).collect();
        let mut current = Snapshot::new(&typed(world.values())).unwrap();
        assert_same(&current, &Snapshot::from_encoded(encoded(world.values())).unwrap());
        for (upserts, removals) in steps {
            let mut next = world.clone();
            for removal in &removals {
                next.remove(removal);
            }
            for upsert in &upserts {
                next.insert(upsert.key(), upsert.clone());
            }
            let derived = current.derive_encoded(encoded(&upserts), removals.iter().map(|(k, n)| (*k, n.as_str())));
            let scratch = Snapshot::from_encoded(encoded(next.values()));
            let new = Snapshot::new(&typed(next.values()));
            match (derived, scratch) {
                (Ok(derived), Ok(scratch)) => {
                    assert_same(&derived, &scratch);
                    match new {
                        Ok(new) => assert_same(&derived, &new),
                        Err(error) => prop_assert!(scoped_rule(&error), "{error:?}"),
                    }
                    current = derived;
                    world = next;
                }
                (Err(Error::Inconsistent(derived)), Err(Error::Inconsistent(scratch))) => {
                    prop_assert_eq!(&derived, &scratch);
                    prop_assert!(new.is_err());
                }
                (derived, scratch) => prop_assert!(false, "derived {derived:?}, from scratch {scratch:?}"),
            }
        }
    }
}
