#![doc = include_str!("../README.md")]
//!
//! ```text
//!   IngressRoutes, TLSCertificateDelegations,      Config (root namespaces,
//!   Services, Secrets ──▶ Objects                   ingress class, ...)
//!                            │                           │
//!                            └────────── build ◀─────────┘
//!                                          │
//!                                          ▼
//!                  Dag: VirtualHosts (routes, TLS, TCP proxy, clusters)
//!                       + a Status for every IngressRoute
//!                       + the DelegationGraph
//! ```
//!
//! What this crate does **not** do: any I/O. It never talks to an API server, reads a
//! file, spawns a task or reads the clock; it does not know about Envoy. The
//! `ingressroute-envoy` crate turns a [`Dag`] into Envoy resources, and a controller or
//! the `ingressroute` command feeds [`Objects`] and writes statuses back.
//!
//! The rules, including every status description, are those of Contour v1.0.1's
//! IngressRoute with the deliberate differences listed in the project's `decisions.md`:
//! an invalid IngressRoute contributes nothing (no partial acceptance), the result is
//! deterministic, upstream validation fails closed, ExternalNames on loopback are
//! refused, tcpproxy errors stay visible, and more. See [`build`] for how a build walks
//! the objects.

mod build;
mod config;
mod dag;
pub mod duration;
pub mod external_name;
mod graph;
mod model;
mod objects;
pub mod quote;
mod secret;
mod service;
mod status;

pub use build::build;
pub use config::Config;
pub use dag::Dag;
pub use graph::{Delegation, DelegationGraph, Vertex};
pub use model::{
    Cluster, HealthCheck, LoadBalancer, RetryPolicy, Route, SecureVirtualHost, TcpProxy, Timeout, TlsMode, TlsVersion,
    UpstreamValidation, VirtualHost, WeightedCluster,
};
pub use objects::{ObjectCounts, ObjectRef, Objects};
pub use secret::{Secret, SecretError, TlsKeyPair};
pub use service::{CircuitBreakers, Service, ServicePort, UpstreamProtocol};
pub use status::{CurrentStatus, Reason, Status, messages};
