//! One build + translate + encode of one dataset, and one first build as the pipeline
//! makes it (`IncrementalDag::new` + `Translator::full`), for instruction counting.
//!
//! Wall-clock ratios on a shared 2-core machine are noisy; instruction counts are exact
//! and repeatable:
//!
//! ```text
//! cargo bench -p ingressroute-envoy --bench translate_once --no-run
//! bin=$(ls target/release/deps/translate_once-* | grep -v '\.d$')
//! for f in ingressroute_dag::build::build ingressroute_envoy::translate::translate \
//!          ingressroute_envoy::resources::Resources::encoded \
//!          ingressroute_dag::incremental::IncrementalDag::new \
//!          ingressroute_envoy::incremental::Translator::full; do
//!   valgrind --tool=callgrind --toggle-collect="$f" $bin L 2>&1 | grep Collected
//! done
//! ```
//!
//! `<bin> L --paired 21` instead times a first build and an encoding of its result one
//! after the other, 21 times, and prints the medians (the first build's with its
//! `IncrementalDag::new` part) and the median of the per-round ratios: on a noisy machine
//! a pair measured back to back shares its conditions, where two criterion benchmarks
//! run a minute apart do not.

#![allow(missing_docs, clippy::print_stderr, clippy::unwrap_used)]

mod support;

use std::time::Instant;

use ingressroute_dag::{Config, IncrementalDag, build};
use ingressroute_envoy::{EnvoyConfig, ResourceKind, Translator, translate};
use ingressroute_fixtures::{Dataset, Size};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<Size> = args
        .iter()
        .filter_map(|a| Size::ALL.into_iter().find(|s| s.name() == a))
        .collect();
    let paired: Option<usize> = args
        .iter()
        .position(|a| a == "--paired")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok());
    for size in if sizes.is_empty() { Size::ALL.to_vec() } else { sizes } {
        let data = Dataset::generate(size);
        let (objects, endpoints) = support::load(&data);
        if let Some(rounds) = paired {
            paired_rounds(size, rounds, &objects, &endpoints);
            continue;
        }
        let start = Instant::now();
        let dag = build(&objects, &Config::default());
        let built = start.elapsed();
        let resources = translate(&dag, &endpoints, &EnvoyConfig::default());
        let translated = start.elapsed() - built;
        let start = Instant::now();
        let bytes: usize = ResourceKind::ALL
            .iter()
            .map(|kind| {
                resources
                    .encoded(*kind)
                    .iter()
                    .map(|(_, any)| any.value.len())
                    .sum::<usize>()
            })
            .sum();
        let encoded = start.elapsed();
        let start = Instant::now();
        let (_, _, changes) = first_build(&objects, &endpoints);
        let first = start.elapsed();
        eprintln!(
            "{}: build {built:?}, translate {translated:?}, encode {encoded:?} ({bytes} bytes); \
             first build {first:?} ({} resources)",
            size.name(),
            changes.upserts.len()
        );
    }
}

/// A first build as the pipeline makes it: an `IncrementalDag` of every object and a full
/// translation of its virtual hosts (all kept, as the pipeline keeps them).
fn first_build(
    objects: &ingressroute_dag::Objects,
    endpoints: &ingressroute_envoy::Endpoints,
) -> (IncrementalDag, Translator, ingressroute_envoy::Changes) {
    timed_first_build(objects, endpoints).0
}

/// [`first_build`], with the time its `IncrementalDag::new` took, in milliseconds.
fn timed_first_build(
    objects: &ingressroute_dag::Objects,
    endpoints: &ingressroute_envoy::Endpoints,
) -> ((IncrementalDag, Translator, ingressroute_envoy::Changes), f64) {
    let start = Instant::now();
    let incremental = IncrementalDag::new(objects, &Config::default());
    let dag = start.elapsed().as_secs_f64() * 1e3;
    let mut translator = Translator::new(EnvoyConfig::default());
    let changes = translator.full(incremental.dag().virtual_hosts(), endpoints);
    ((incremental, translator, changes), dag)
}

/// `rounds` rounds of one first build (`IncrementalDag::new` + `Translator::full`) and one
/// encoding of every resource of `translate` (as the `translate` bench's `encode`), each
/// dropped outside its timing; prints the medians and the median of the ratios.
fn paired_rounds(
    size: Size,
    rounds: usize,
    objects: &ingressroute_dag::Objects,
    endpoints: &ingressroute_envoy::Endpoints,
) {
    let resources = translate(&build(objects, &Config::default()), endpoints, &EnvoyConfig::default());
    let mut firsts = Vec::new();
    let mut dags = Vec::new();
    let mut encodes = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let (built, dag) = timed_first_build(objects, endpoints);
        let first = start.elapsed().as_secs_f64() * 1e3;
        drop(built);
        dags.push(dag);
        let start = Instant::now();
        let encoded = ResourceKind::ALL.map(|kind| resources.encoded(kind));
        let encode = start.elapsed().as_secs_f64() * 1e3;
        drop(encoded);
        firsts.push(first);
        encodes.push(encode);
        ratios.push(first / encode);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (lo, hi) = (
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    eprintln!(
        "{}: {rounds} pairs: first build median {:.1} ms (IncrementalDag::new {:.1} ms), encode median {:.1} ms; \
         ratio median {:.2} (min {lo:.2}, max {hi:.2})",
        size.name(),
        median(&mut firsts),
        median(&mut dags),
        median(&mut encodes),
        median(&mut ratios),
    );
}
