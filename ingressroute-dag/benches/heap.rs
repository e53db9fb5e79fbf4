//! Peak heap of loading and building dataset L (and S, M for comparison).
//!
//! `cargo bench -p ingressroute-dag --bench heap` prints, per size, the heap held by the
//! loaded [`Objects`] and the peak heap reached while building the DAG from them, counted
//! by a global allocator that tracks live bytes (`peak_alloc`), then the same for an
//! [`IncrementalDag`] (which keeps per-root results next to its DAG). The generated input manifests themselves
//! are excluded: they are what a controller's watch would deliver, not what we keep.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

mod support;

use ingressroute_dag::{Config, IncrementalDag, build};
use ingressroute_fixtures::{Dataset, Size};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

fn live() -> usize {
    ALLOCATOR.current_usage()
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters sizes by name.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    for size in Size::ALL {
        if !filter.is_empty() && !filter.iter().any(|f| f == size.name()) {
            continue;
        }
        let before = live();
        let data = Dataset::generate(size);
        let objects = support::load(&data);
        drop(data);
        let objects_heap = live().saturating_sub(before);
        let base = live();
        ALLOCATOR.reset_peak_usage();
        let dag = build(&objects, &Config::default());
        let peak = ALLOCATOR.peak_usage().saturating_sub(base);
        let kept = live().saturating_sub(base);
        println!(
            "{}: objects {:.1} MiB, build peak {:.1} MiB (dag kept {:.1} MiB), total peak {:.1} MiB, {} vhosts",
            size.name(),
            mib(objects_heap),
            mib(peak),
            mib(kept),
            mib(objects_heap + peak),
            dag.virtual_hosts().len()
        );
        drop(dag);

        let base = live();
        ALLOCATOR.reset_peak_usage();
        let incremental = IncrementalDag::new(&objects, &Config::default());
        let dag = incremental.dag();
        let peak = ALLOCATOR.peak_usage().saturating_sub(base);
        let kept = live().saturating_sub(base);
        println!(
            "{}: incremental build peak {:.1} MiB (kept, dag and per-root results: {:.1} MiB)",
            size.name(),
            mib(peak),
            mib(kept),
        );
        drop((dag, incremental));
    }
}
