//! DAG build time on the generated datasets S, M and L (see `ingressroute-fixtures`).
//!
//! `cargo bench -p ingressroute-dag --bench build` reports, per size, the time to load the
//! objects into an [`Objects`] (which validates Secrets) and the time of one [`build`].

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ingressroute_dag::{Config, build};
use ingressroute_fixtures::{Dataset, Size};

fn bench(c: &mut Criterion) {
    let config = Config::default();
    let mut group = c.benchmark_group("dag");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for size in Size::ALL {
        let data = Dataset::generate(size);
        group.bench_with_input(BenchmarkId::new("load", size.name()), &data, |b, data| {
            b.iter(|| support::load(data));
        });
        let objects = support::load(&data);
        group.bench_with_input(BenchmarkId::new("build", size.name()), &objects, |b, objects| {
            b.iter(|| build(objects, &config));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
