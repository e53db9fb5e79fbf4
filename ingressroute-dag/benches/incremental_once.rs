//! One incremental update at dataset L, for instruction counting.
//!
//! Wall-clock time on a shared machine is noisy; the instruction count of an update is
//! exact and repeatable:
//!
//! ```text
//! cargo bench -p ingressroute-dag --bench incremental_once --no-run
//! valgrind --tool=callgrind --toggle-collect='*IncrementalDag::update*' \
//!   target/release/deps/incremental_once-* child_prefix
//! ```
//!
//! The argument names the edit (see `benches/incremental.rs`); the default is
//! `child_prefix`. The update measured is the second one, so that what the first
//! update of a process allocates once does not count.

#![allow(missing_docs, clippy::print_stderr)]

#[path = "support/edits.rs"]
mod edits;
mod support;

use std::time::Instant;

use ingressroute_dag::{Config, IncrementalDag};
use ingressroute_fixtures::{Dataset, Size};

use edits::Edit;

fn main() {
    let name = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "child_prefix".to_owned());
    let data = Dataset::generate(Size::L);
    let edit = match name.as_str() {
        "root_service" => Edit::root_service(&data),
        "service_port" => Edit::service_port(&data),
        "unused_service" => Edit::unused_service(&data),
        "new_root" => Edit::new_root(&data),
        _ => Edit::child_prefix(&data),
    };
    let config = Config::default();
    let mut objects = support::load(&data);
    edit.apply(&mut objects, false);
    let mut incremental = IncrementalDag::new(&objects, &config);
    let first = edit.apply(&mut objects, true);
    let previous = incremental.update(&objects, &first).dag;
    let changed = edit.apply(&mut objects, false);
    let start = Instant::now();
    let update = incremental.update(&objects, &changed);
    let elapsed = start.elapsed();
    eprintln!(
        "{name}: one update {elapsed:?}, {} roots walked, {} hosts and {} statuses changed",
        update.walked.len(),
        update.changes.virtual_hosts.len(),
        update.changes.statuses.len()
    );
    drop(previous);
}
