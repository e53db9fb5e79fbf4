//! Building a snapshot against deriving one, at dataset L (`ingressroute-fixtures`: 20k
//! IngressRoutes, 50k routes, 10k Services, 2k TLS virtual hosts).
//!
//! `cargo bench -p ingressroute-xds --bench snapshot` reports:
//! * `new`: [`Snapshot::new`] of every resource (encoding, hashing, the consistency check);
//! * `from_encoded`: [`Snapshot::from_encoded`] of every resource already encoded (hashing,
//!   the maps, the consistency check; what a server fed by an incremental translation pays
//!   once, at start);
//! * `derive`: [`Snapshot::derive`] of one change (one route configuration with one route
//!   more, the new cluster it routes to and that cluster's ClusterLoadAssignment), which
//!   encodes those three;
//! * `derive_encoded`: [`Snapshot::derive_encoded`] of the same change already encoded: what
//!   the xDS side of one IngressRoute's change costs.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use ingressroute_dag::{Config, build};
use ingressroute_envoy::{EncodedResource, EnvoyConfig, ResourceKind, Resources, translate};
use ingressroute_fixtures::{Dataset, Size};
use ingressroute_xds::Snapshot;

/// Every resource of `resources`, encoded, with the names each uses.
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

/// One IngressRoute's change: a route more in one bucket's route configuration, to a new
/// EDS cluster, and the new cluster's ClusterLoadAssignment.
fn one_change(resources: &Resources) -> Resources {
    let mut change = Resources::default();
    let mut config = resources
        .routes
        .iter()
        .find(|r| r.name.starts_with("ingress_http"))
        .expect("a plain HTTP route configuration")
        .clone();
    let mut cluster: cluster_v3::Cluster = resources
        .clusters
        .iter()
        .find(|c| c.eds_cluster_config.is_some())
        .expect("an EDS cluster")
        .clone();
    cluster.name = "bench/new/80/da39a3ee5e".into();
    let service_name = "bench/new/http".to_owned();
    if let Some(eds) = cluster.eds_cluster_config.as_mut() {
        eds.service_name.clone_from(&service_name);
    }
    let mut assignment = resources.endpoints[0].clone();
    assignment.cluster_name = service_name;
    let vhost = &mut config.virtual_hosts[0];
    let mut route = vhost.routes[0].clone();
    route.r#match = Some(route_v3::RouteMatch {
        path_specifier: Some(route_v3::route_match::PathSpecifier::Prefix("/bench-new".into())),
        ..Default::default()
    });
    route.action = Some(route_v3::route::Action::Route(route_v3::RouteAction {
        cluster_specifier: Some(route_v3::route_action::ClusterSpecifier::Cluster(cluster.name.clone())),
        ..Default::default()
    }));
    vhost.routes.insert(0, route);
    change.routes.push(config);
    change.clusters.push(cluster);
    change.endpoints.push(assignment);
    change
}

fn bench(c: &mut Criterion) {
    let data = Dataset::generate(Size::L);
    let (objects, endpoints) = support::load(&data);
    let resources = translate(
        &build(&objects, &Config::default()),
        &endpoints,
        &EnvoyConfig::default(),
    );
    for kind in ResourceKind::ALL {
        eprintln!("L: {} {kind}", resources.len(kind));
    }
    let encoded = encode(&resources);
    let change = one_change(&resources);
    let encoded_change = encode(&change);
    eprintln!(
        "L: the changed route configuration {} is {} bytes",
        change.routes[0].name,
        encoded_change[0].any.len()
    );
    let base = Snapshot::new(&resources).unwrap();

    let mut group = c.benchmark_group("snapshot/L");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("new", |b| b.iter(|| Snapshot::new(&resources).unwrap()));
    group.bench_function("from_encoded", |b| {
        b.iter_batched(
            || encoded.clone(),
            |encoded| Snapshot::from_encoded(encoded).unwrap(),
            BatchSize::LargeInput,
        );
    });
    group.finish();

    let mut group = c.benchmark_group("snapshot/L/one change");
    group
        .sample_size(100)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("derive", |b| {
        b.iter(|| base.derive(&change, Vec::<(ResourceKind, &str)>::new()).unwrap());
    });
    group.bench_function("derive_encoded", |b| {
        b.iter_batched(
            || encoded_change.clone(),
            |upserts| {
                base.derive_encoded(upserts, Vec::<(ResourceKind, &str)>::new())
                    .unwrap()
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
