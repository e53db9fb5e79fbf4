//! End-to-end tests: real traffic through a real Envoy configured by the real
//! `ingressroute serve` binary, with backends on loopback (see [`support`]).
//!
//! Without an Envoy binary the tests skip loudly; under `CI=true` they fail. Each test
//! ends by checking that Envoy rejected no update (`*.update_rejected` are all zero).
//!
//! * [`http`] has routing, delegation, load balancing, timeouts, retries, affinity,
//!   health checks, WebSockets and ExternalName refusal, on one shared Envoy (state of the
//!   world).
//! * [`tls`] has TLS termination, redirects, TLS versions, certificate delegation,
//!   upstream TLS and TCP proxying, on one shared Envoy speaking incremental (delta) ADS.
//! * [`explain`] checks `ingressroute explain` against real traffic.
//! * [`external_names`] has `--allow-loopback-external-names`.
//! * [`reload`] edits the files while Envoy serves, each test with its own Envoy.
//! * [`lifecycle`] kills `serve` and checks that its Envoy goes with it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    unreachable_pub,
    dead_code,
    missing_docs
)]

mod explain;
mod external_names;
mod http;
mod lifecycle;
mod reload;
mod support;
mod tls;
