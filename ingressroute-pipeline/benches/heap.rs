//! The heap a pipeline holds at dataset L (and M for comparison), stage by stage: what the
//! controller's steady memory is made of.
//!
//! `cargo bench -p ingressroute-pipeline --bench heap` prints, per size, the live heap
//! (counted by a global allocator that tracks live bytes, `peak_alloc`) added by:
//! * the objects fed as a first list (the store: objects as the build reads them, what
//!   each change is compared with, endpoints);
//! * the first rebuild (the incremental DAG with its per-root results, the last DAG, the
//!   translator with every encoded resource and the per-host parts it splices);
//! * a snapshot made from those resources (sharing their bytes);
//!
//! and the peak of each stage. The generated manifests themselves are excluded. Then, for
//! comparison, what a pipeline keeps when the same objects arrive as changes after a
//! first build of nothing (as the controller's watch delivers a cluster that fills up
//! after it started), in one batch and in four, each rebuilt and its snapshot derived:
//! live data that differs from the first list's is kept by the incremental structures,
//! a process RSS that differs more is the allocator's.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout, clippy::mem_forget)]

mod support;

use std::sync::Arc;

use ingressroute_dag::Config;
use ingressroute_envoy::{EnvoyConfig, ResourceKind};
use ingressroute_fixtures::{Dataset, Size};
use ingressroute_pipeline::{Event, Kind, Object, Pipeline};
use ingressroute_xds::Snapshot;
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

fn live() -> usize {
    ALLOCATOR.current_usage()
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Runs `stage`, printing the heap it added and its peak above the heap before it.
fn stage<T>(name: &str, stage: impl FnOnce() -> T) -> T {
    let base = live();
    ALLOCATOR.reset_peak_usage();
    let kept = stage();
    let peak = ALLOCATOR.peak_usage().saturating_sub(base);
    println!(
        "  {name:<58} kept {:>7.1} MiB   peak {:>7.1} MiB",
        mib(live().saturating_sub(base)),
        mib(peak)
    );
    kept
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters sizes by name.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    for size in [Size::M, Size::L] {
        if !filter.is_empty() && !filter.iter().any(|f| f == size.name()) {
            continue;
        }
        let data = Dataset::generate(size);
        println!(
            "{}: {} IngressRoutes, {} Services, {} Secrets, {} Endpoints",
            size.name(),
            data.ingress_routes.len(),
            data.services.len(),
            data.secrets.len(),
            data.endpoints.len()
        );
        let start = live();
        for kind in Kind::ALL {
            let _ = stage(&format!("  of which {kind:?}"), || {
                data.ingress_routes
                    .iter()
                    .filter(|_| kind == Kind::IngressRoute)
                    .map(|r| Object::IngressRoute(Arc::new(r.clone())))
                    .chain(
                        data.services
                            .iter()
                            .filter(|_| kind == Kind::Service)
                            .map(|s| Object::Service(Arc::new(s.clone()))),
                    )
                    .chain(
                        data.secrets
                            .iter()
                            .filter(|_| kind == Kind::Secret)
                            .map(|s| Object::Secret(Arc::new(s.clone()))),
                    )
                    .chain(
                        data.endpoints
                            .iter()
                            .filter(|_| kind == Kind::Endpoints)
                            .map(Object::from_endpoints),
                    )
                    .collect::<Vec<_>>()
            });
        }
        let objects = stage("the objects, as a watch delivers them", || support::objects(&data));
        let mut pipeline = stage("the store, fed them as a first list", || {
            let mut pipeline = Pipeline::new(Config::default(), EnvoyConfig::default());
            for kind in Kind::ALL {
                pipeline.apply(Event::Init(kind));
                for (k, object) in &objects {
                    if *k == kind {
                        pipeline.apply(Event::InitApply(object.clone()));
                    }
                }
                pipeline.apply(Event::InitDone(kind));
            }
            pipeline
        });
        stage("the objects dropped (the store keeps them)", || drop(objects));
        let _ = stage("first build (incremental DAG, the last DAG)", || pipeline.build());
        let changes = stage("first translation (translator, encoded resources)", || {
            let dag = Arc::clone(pipeline.dag().unwrap());
            pipeline.translate(&dag)
        });
        drop(changes);
        let snapshot = stage("a snapshot of every resource (sharing their bytes)", || {
            Snapshot::from_encoded(pipeline.resources()).unwrap()
        });
        let resources = pipeline.resources();
        for kind in ResourceKind::ALL {
            let of_kind = resources.iter().filter(|r| r.kind == kind);
            let (count, bytes) = of_kind.fold((0, 0), |(n, b), r| (n + 1, b + r.any.len()));
            println!("    {kind:<28} {count:>6} resources, {:>7.1} MiB encoded", mib(bytes));
        }
        drop(resources);
        println!("  {:<58} kept {:>7.1} MiB", "total", mib(live().saturating_sub(start)));
        if std::env::var_os("HEAP_LEAK").is_some() {
            // For a heap profiler: what the pipeline and the snapshot keep is reported as
            // leaked, by allocation site.
            drop(data);
            std::mem::forget((snapshot, pipeline));
            return;
        }
        drop(snapshot);
        drop(pipeline);
        for batches in [1_usize, 4] {
            let base = live();
            let objects = support::objects(&data);
            let mut pipeline = Pipeline::new(Config::default(), EnvoyConfig::default());
            for kind in Kind::ALL {
                pipeline.apply(Event::Init(kind));
                pipeline.apply(Event::InitDone(kind));
            }
            let _ = pipeline.rebuild();
            let mut snapshot = Snapshot::from_encoded(pipeline.resources()).unwrap();
            for batch in objects.chunks(objects.len().div_ceil(batches)) {
                for (_, object) in batch {
                    pipeline.apply(Event::Apply(object.clone()));
                }
                let changes = pipeline.rebuild().resources;
                snapshot = snapshot.derive_encoded(changes.upserts, changes.removals).unwrap();
            }
            drop(objects);
            let name = format!("as changes after an empty first build, {batches} batch(es)");
            println!("  {name:<58} kept {:>7.1} MiB", mib(live().saturating_sub(base)));
            drop(snapshot);
            drop(pipeline);
        }
    }
}
