//! One DAG build of one dataset, for instruction counting.
//!
//! Wall-clock time on a shared 2-core machine is noisy and includes cache effects; the
//! instruction count of a build is exact and repeatable, so it shows whether the build
//! itself scales linearly:
//!
//! ```text
//! cargo bench -p ingressroute-dag --bench build_once --no-run
//! for size in M L; do
//!   valgrind --tool=callgrind --toggle-collect='ingressroute_dag::build::build' \
//!     target/release/deps/build_once-* $size
//! done
//! ```

#![allow(missing_docs, clippy::print_stderr)]

mod support;

use std::time::Instant;

use ingressroute_dag::{Config, build};
use ingressroute_fixtures::{Dataset, Size};

fn main() {
    let sizes: Vec<Size> = std::env::args()
        .skip(1)
        .filter_map(|a| Size::ALL.into_iter().find(|s| s.name() == a))
        .collect();
    for size in if sizes.is_empty() { Size::ALL.to_vec() } else { sizes } {
        let data = Dataset::generate(size);
        let objects = support::load(&data);
        let start = Instant::now();
        let dag = build(&objects, &Config::default());
        eprintln!(
            "{}: one build {:?}, {} virtual hosts",
            size.name(),
            start.elapsed(),
            dag.virtual_hosts().len()
        );
    }
}
