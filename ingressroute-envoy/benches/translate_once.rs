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

#![allow(missing_docs, clippy::print_stderr, clippy::unwrap_used)]

mod support;

use std::time::Instant;

use ingressroute_dag::{Config, IncrementalDag, build};
use ingressroute_envoy::{EnvoyConfig, ResourceKind, Translator, translate};
use ingressroute_fixtures::{Dataset, Size};

fn main() {
    let sizes: Vec<Size> = std::env::args()
        .skip(1)
        .filter_map(|a| Size::ALL.into_iter().find(|s| s.name() == a))
        .collect();
    for size in if sizes.is_empty() { Size::ALL.to_vec() } else { sizes } {
        let data = Dataset::generate(size);
        let (objects, endpoints) = support::load(&data);
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
        let incremental = IncrementalDag::new(&objects, &Config::default());
        let mut translator = Translator::new(EnvoyConfig::default());
        let changes = translator.full(incremental.dag().virtual_hosts(), &endpoints);
        let first = start.elapsed();
        eprintln!(
            "{}: build {built:?}, translate {translated:?}, encode {encoded:?} ({bytes} bytes); \
             first build {first:?} ({} resources)",
            size.name(),
            changes.upserts.len()
        );
    }
}
