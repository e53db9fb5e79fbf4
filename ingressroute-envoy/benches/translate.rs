//! Build + translation time on the generated datasets S, M and L (see
//! `ingressroute-fixtures`), against the time merely to prost-encode the result.
//!
//! `cargo bench -p ingressroute-envoy --bench translate` reports, per size:
//! * `full_rebuild`: what the pipeline (`ingressroute serve`, the controller) does on its
//!   first build: an [`IncrementalDag`] built from every object, and a
//!   [`Translator::full`] of its virtual hosts (with every Service's endpoints) into the
//!   encoded resources the xDS snapshot serves. The pipeline keeps all three (the DAG and
//!   the translator for the incremental builds that follow, the resources in the
//!   snapshot), so they are dropped outside the measurement (`iter_with_large_drop`);
//! * `build_translate`: one DAG [`build`] plus one [`translate`] into Envoy messages (what
//!   `ingressroute render` and [`translate`]'s embedders do);
//! * `translate`: the translation into messages alone;
//! * `encode`: encoding every resource once (what an xDS server must do anyway), the
//!   encoded resources dropped outside the measurement as for `full_rebuild`;
//!
//! and prints the largest encoded resource of each size.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ingressroute_dag::{Config, IncrementalDag, build};
use ingressroute_envoy::{EnvoyConfig, ResourceKind, Translator, translate};
use ingressroute_fixtures::{Dataset, Size};

fn bench(c: &mut Criterion) {
    let config = EnvoyConfig::default();
    let mut group = c.benchmark_group("envoy");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for size in Size::ALL {
        let data = Dataset::generate(size);
        let (objects, endpoints) = support::load(&data);
        group.bench_with_input(BenchmarkId::new("full_rebuild", size.name()), &objects, |b, objects| {
            b.iter_with_large_drop(|| {
                let dag = IncrementalDag::new(objects, &Config::default());
                let mut translator = Translator::new(config.clone());
                let changes = translator.full(dag.dag().virtual_hosts(), &endpoints);
                (dag, translator, changes)
            });
        });
        group.bench_with_input(
            BenchmarkId::new("build_translate", size.name()),
            &objects,
            |b, objects| {
                b.iter(|| translate(&build(objects, &Config::default()), &endpoints, &config));
            },
        );
        let dag = build(&objects, &Config::default());
        group.bench_with_input(BenchmarkId::new("translate", size.name()), &dag, |b, dag| {
            b.iter(|| translate(dag, &endpoints, &config));
        });
        let resources = translate(&dag, &endpoints, &config);
        resources.check_consistency().expect("consistent");
        let largest = ResourceKind::ALL
            .iter()
            .flat_map(|kind| {
                resources
                    .encoded(*kind)
                    .into_iter()
                    .map(move |(name, any)| (any.value.len(), *kind, name))
            })
            .max()
            .expect("some resource");
        eprintln!(
            "{}: largest encoded resource {:?} {} = {} bytes",
            size.name(),
            largest.1,
            largest.2,
            largest.0
        );
        group.bench_with_input(BenchmarkId::new("encode", size.name()), &resources, |b, resources| {
            b.iter_with_large_drop(|| ResourceKind::ALL.map(|kind| resources.encoded(kind)));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
