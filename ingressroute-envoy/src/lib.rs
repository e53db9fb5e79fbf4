#![doc = include_str!("../README.md")]
//!
//! # Where to start
//!
//! * [`translate`] turns a [`Dag`](ingressroute_dag::Dag), the [`Endpoints`] and an
//!   [`EnvoyConfig`] into [`Resources`].
//! * [`Endpoints`] indexes ready endpoints per Service and port name; feed it Kubernetes
//!   `Endpoints` with [`Endpoints::insert`] or merged EndpointSlices with
//!   [`Endpoints::insert_service`].
//! * [`Resources::check_consistency`] is the check an xDS server runs before serving a set;
//!   [`Resources::encoded`] gives the `Any`s of one [`ResourceKind`].
//! * [`names`] has Contour's naming rules (`hashname`, cluster, secret and virtual host
//!   names); [`json`] prints resources as proto3 JSON, private keys redacted on request.
//! * [`bootstrap()`] builds Envoy's bootstrap (ADS to the xDS server, the `stats-health`
//!   listener) from a [`BootstrapConfig`].
//!
//! # Other crates in this API
//!
//! [`Resources`] holds the prost messages of [`envoy_types`], [`Inconsistency`] can carry a
//! [`prost`] decode error, and [`json`] speaks [`serde_json`]'s `Value`: all three are
//! re-exported, so that you name the versions this crate was built with
//! (`ingressroute_envoy::envoy_types::pb::envoy::...`). This crate does no I/O and reads
//! no clock; the xDS server that serves [`Resources`] is `ingressroute-xds`.

pub mod bootstrap;
mod cluster;
mod config;
mod endpoints;
mod incremental;
pub mod json;
mod listener;
pub mod names;
mod proto;
mod resources;
mod route;
mod sources;
mod translate;
mod wire;

/// The Envoy API types of [`Resources`] and the bootstrap.
pub use envoy_types;
/// The protobuf runtime of [`envoy_types`] (encoding, `Name`, decode errors).
pub use prost;
/// The JSON values of the [`json`] module.
pub use serde_json;

pub use bootstrap::{AdsApi, BootstrapConfig, XdsTls, bootstrap};
pub use bytes;
pub use cluster::{DEFAULT_HEALTH_CHECK_HOST, HTTP_PROTOCOL_OPTIONS};
pub use config::{
    AccessLogFormat, ConfigSource, DEFAULT_ACCESS_LOG, DEFAULT_HTTP_ROUTE_BUCKETS, DEFAULT_JSON_FIELDS, EnvoyConfig,
    HttpRoutes, JSON_FIELDS, json_field_operator,
};
pub use endpoints::{Endpoint, Endpoints, ServiceEndpoints};
pub use incremental::{Changes, Translator};
pub use listener::{
    CIPHER_SUITES, COMPRESSOR, GRPC_WEB, GZIP, HTTP_CONNECTION_MANAGER, LUA, PROXY_PROTOCOL, ROUTER, TCP_PROXY,
    TLS_INSPECTOR,
};
pub use resources::{EncodedResource, Inconsistency, Reference, ResourceKind, Resources, pack};
pub use route::{REQUEST_START_HEADER, REQUEST_START_VALUE, SESSION_AFFINITY_COOKIE};
pub use sources::sources;
pub use translate::translate;

/// An error and each of its sources on one line, `error: source: source...`: how the xDS
/// server and the binaries log errors.
#[must_use]
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
