//! Serves a generated dataset (S, M or L; default L) on the tests' fake API server and
//! prints its URL, for running `ingressroute-controller --api-server URL` by hand (under
//! `heaptrack`, say): `cargo run --release -p ingressroute-controller --example
//! fake_api_server -- L`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use ingressroute_fixtures::{Dataset, Size};

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let size = match std::env::args().nth(1).as_deref() {
        Some("S") => Size::S,
        Some("M") => Size::M,
        _ => Size::L,
    };
    let data = Dataset::generate(size);
    let api = support::FakeApi::start().await;
    api.record_requests(false);
    api.apply_all(&data.services);
    api.apply_all(&data.secrets);
    api.apply_all(&data.endpoints);
    api.apply_all(&data.ingress_routes);
    drop(data);
    println!("{}", api.url());
    let _ = tokio::signal::ctrl_c().await;
}
