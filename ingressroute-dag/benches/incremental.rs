//! Incremental DAG builds at dataset L (20k IngressRoutes, 50k routes), next to the full
//! build.
//!
//! `cargo bench -p ingressroute-dag --bench incremental` reports the full [`build`], the
//! full build of an [`IncrementalDag`], and one [`IncrementalDag::update`] after each of
//! these edits (applied back and forth, so every update is a real change; the previous
//! `Dag` is kept alive while the next one is made, as a caller that still serves it
//! would):
//!
//! * `child_prefix`: a child's route changes its prefix;
//! * `root_service`: a root's route changes its Service;
//! * `service_port`: a Service used by a few roots changes its port;
//! * `unused_service`: a Service nothing uses changes;
//! * `new_root`: a root is added (and removed again).
//!
//! `incremental_once` runs one update for instruction counting.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/edits.rs"]
mod edits;
mod support;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ingressroute_dag::{Config, IncrementalDag, build};
use ingressroute_fixtures::{Dataset, Size};

use edits::Edit;

fn bench(c: &mut Criterion) {
    let config = Config::default();
    let data = Dataset::generate(Size::L);
    let mut objects = support::load(&data);
    let mut group = c.benchmark_group("incremental");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function(BenchmarkId::new("full_build", "L"), |b| {
        b.iter(|| build(&objects, &config));
    });
    group.bench_function(BenchmarkId::new("full_incremental", "L"), |b| {
        b.iter(|| IncrementalDag::new(&objects, &config));
    });
    group.sample_size(100).measurement_time(Duration::from_secs(3));
    let edits = [
        ("child_prefix", Edit::child_prefix(&data)),
        ("root_service", Edit::root_service(&data)),
        ("service_port", Edit::service_port(&data)),
        ("unused_service", Edit::unused_service(&data)),
        ("new_root", Edit::new_root(&data)),
    ];
    for (name, edit) in &edits {
        edit.apply(&mut objects, false);
        let mut incremental = IncrementalDag::new(&objects, &config);
        let mut last = incremental.dag();
        let mut second = false;
        group.bench_function(BenchmarkId::new(*name, "L"), |b| {
            b.iter(|| {
                second = !second;
                let changed = edit.apply(&mut objects, second);
                let update = incremental.update(&objects, &changed);
                last = update.dag;
                update.changes
            });
        });
        drop(last);
        edit.apply(&mut objects, false);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
