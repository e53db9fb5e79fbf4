//! From one change to a published xDS snapshot, in process, on the generated datasets (see
//! `ingressroute-fixtures`): the work `ingressroute serve` and the controller do between
//! an event and Envoy's next response.
//!
//! `cargo bench -p ingressroute-pipeline --bench rebuild` reports, for M and L:
//! * `full`: a pipeline fed the whole dataset, built, translated and made a snapshot of
//!   (the first build, a relist);
//! * `one_route_change`: one IngressRoute's route prefix changed, then rebuild (the
//!   incremental DAG and translation) and a snapshot derived from the served one;
//! * `one_new_root`: a root IngressRoute with a new fqdn each time (the virtual host of
//!   the last one goes, a new one comes: the world stays the same size), the same way;
//! * `one_service_change`: a port of a Service some routes use, the same way;
//! * `one_endpoint_change`: a Service's ready endpoints (EDS only).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ingressroute_dag::Config;
use ingressroute_envoy::EnvoyConfig;
use ingressroute_fixtures::{Dataset, Size};
use ingressroute_pipeline::{Event, Kind, Object, Pipeline};
use ingressroute_xds::Snapshot;

/// A pipeline fed `data` as a first list, built, and the snapshot of what it serves.
fn loaded(data: &Dataset) -> (Pipeline, Snapshot) {
    let mut pipeline = Pipeline::new(Config::default(), EnvoyConfig::default());
    let objects = support::objects(data);
    for kind in Kind::ALL {
        pipeline.apply(Event::Init(kind));
        for (k, object) in &objects {
            if *k == kind {
                pipeline.apply(Event::InitApply(object.clone()));
            }
        }
        pipeline.apply(Event::InitDone(kind));
    }
    let _ = pipeline.rebuild();
    let snapshot = Snapshot::from_encoded(pipeline.resources()).unwrap();
    (pipeline, snapshot)
}

/// Applies `event`, rebuilds and derives the next snapshot from `snapshot`.
fn step(pipeline: &mut Pipeline, snapshot: &mut Snapshot, event: Event) {
    let effect = pipeline.apply(event);
    let changes = if effect.rebuild {
        pipeline.rebuild().resources
    } else {
        pipeline.update_endpoints(&effect.endpoints)
    };
    *snapshot = snapshot.derive_encoded(changes.upserts, changes.removals).unwrap();
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for size in [Size::M, Size::L] {
        let data = Dataset::generate(size);
        group.bench_with_input(BenchmarkId::new("full", size.name()), &data, |b, data| {
            b.iter(|| loaded(data));
        });
        let (mut pipeline, mut snapshot) = loaded(&data);

        // A root with routes to a Service, and that Service.
        let route = data
            .ingress_routes
            .iter()
            .find(|r| r.spec.virtualhost.is_some() && r.spec.routes.iter().any(|r| !r.services.is_empty()))
            .expect("a root with services")
            .clone();
        let mut n = 0;
        group.bench_function(BenchmarkId::new("one_route_change", size.name()), |b| {
            b.iter(|| {
                n += 1;
                let mut edited = route.clone();
                if let Some(r) = edited.spec.routes.iter_mut().find(|r| !r.services.is_empty()) {
                    r.match_ = format!("/edited-{n}");
                }
                step(
                    &mut pipeline,
                    &mut snapshot,
                    Event::Apply(Object::IngressRoute(Arc::new(edited))),
                );
            });
        });
        let mut n = 0;
        group.bench_function(BenchmarkId::new("one_new_root", size.name()), |b| {
            b.iter(|| {
                n += 1;
                let mut new = route.clone();
                new.metadata.name = Some("bench-new".to_owned());
                if let Some(vhost) = new.spec.virtualhost.as_mut() {
                    vhost.fqdn = format!("new-{n}.bench.example.com");
                    vhost.tls = None;
                }
                step(
                    &mut pipeline,
                    &mut snapshot,
                    Event::Apply(Object::IngressRoute(Arc::new(new))),
                );
            });
        });
        let namespace = route.metadata.namespace.clone().unwrap_or_default();
        let used = route
            .spec
            .routes
            .iter()
            .flat_map(|r| &r.services)
            .next()
            .map(|s| s.name.clone())
            .unwrap();
        let service = data
            .services
            .iter()
            .find(|s| {
                s.metadata.name.as_deref() == Some(used.as_str())
                    && s.metadata.namespace.as_deref() == Some(namespace.as_str())
            })
            .expect("the route's Service")
            .clone();
        let mut n = 0;
        group.bench_function(BenchmarkId::new("one_service_change", size.name()), |b| {
            b.iter(|| {
                n += 1;
                let mut changed = service.clone();
                let annotations = changed.metadata.annotations.get_or_insert_with(Default::default);
                annotations.insert("projectcontour.io/max-connections".into(), (n % 1000 + 1).to_string());
                step(
                    &mut pipeline,
                    &mut snapshot,
                    Event::Apply(Object::Service(Arc::new(changed))),
                );
            });
        });
        let endpoints = data
            .endpoints
            .iter()
            .find(|e| {
                e.metadata.name.as_deref() == Some(used.as_str())
                    && e.metadata.namespace.as_deref() == Some(namespace.as_str())
            })
            .expect("the Service's endpoints")
            .clone();
        let mut n: u32 = 0;
        group.bench_function(BenchmarkId::new("one_endpoint_change", size.name()), |b| {
            b.iter(|| {
                n += 1;
                let mut changed = endpoints.clone();
                if let Some(address) = changed
                    .subsets
                    .as_mut()
                    .and_then(|s| s.first_mut())
                    .and_then(|s| s.addresses.as_mut())
                    .and_then(|a| a.first_mut())
                {
                    address.ip = format!("10.200.{}.{}", (n / 250) % 250, n % 250 + 1);
                }
                step(
                    &mut pipeline,
                    &mut snapshot,
                    Event::Apply(Object::from_endpoints(&changed)),
                );
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
