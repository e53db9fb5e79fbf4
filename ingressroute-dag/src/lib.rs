#![doc = include_str!("../README.md")]
//!
//! ```text
//!   IngressRoutes, TLSCertificateDelegations,      Config (root namespaces,
//!   Services, Secrets ──▶ Objects                   ingress class, ...)
//!                            │                           │
//!                            └─ build / IncrementalDag ◀─┘
//!                                          │
//!                                          ▼
//!                  Dag: ServedVirtualHosts (routes, TLS, TCP proxy, clusters)
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
//! the objects, and [`IncrementalDag`] for building again after a change.
//!
//! # Names
//!
//! `ingressroute_api` holds what users write; this crate holds what a build makes of it.
//! Where both would have a type of the same name, the one here is prefixed `Served`
//! ([`ServedVirtualHost`], [`ServedRoute`], [`ServedTcpProxy`], [`ServedHealthCheck`],
//! [`ServedRetryPolicy`], [`ServedUpstreamValidation`]), and the Kubernetes Service as
//! routing sees it is a [`K8sService`] (`ingressroute_api::Service` is a route's
//! reference to one). Both crates can be imported whole without renaming anything.
//!
//! # Stability
//!
//! What a build returns is `#[non_exhaustive]` (structs and enums), so fields and
//! variants can be added without breaking callers; the few types callers build
//! themselves, to test a translation for instance, have a `new`. The exceptions are the
//! enums whose variants the frozen `v1beta1` API fixes and that a translator must map
//! one by one: [`TlsMode`], [`TlsVersion`], [`Timeout`], [`LoadBalancer`]. petgraph
//! stays private: [`DelegationGraph`] has its own methods. The third-party types that do
//! appear in signatures come from the re-exported [`ingressroute_api`] and
//! [`k8s_openapi`].

mod build;
mod config;
mod dag;
pub mod duration;
pub mod external_name;
mod graph;
mod incremental;
mod model;
mod objects;
pub mod quote;
mod secret;
mod service;
mod shared_map;
mod status;

pub use build::build;
pub use config::Config;
pub use dag::{Dag, StatusIter, StatusMap};
pub use graph::{Delegation, DelegationGraph, Vertex};
pub use incremental::{ChangedObjects, DagChanges, DagUpdate, IncrementalDag};
pub use model::{
    Cluster, LoadBalancer, SecureVirtualHost, ServedHealthCheck, ServedRetryPolicy, ServedRoute, ServedTcpProxy,
    ServedUpstreamValidation, ServedVirtualHost, Timeout, TlsMode, TlsVersion, WeightedCluster,
};
pub use objects::{ObjectCounts, ObjectRef, Objects};
pub use secret::{Secret, SecretError, TlsKeyPair};
pub use service::{CircuitBreakers, K8sService, ServicePort, UpstreamProtocol};
pub use status::{CurrentStatus, Reason, Status, messages};

/// The IngressRoute API this crate builds from ([`Objects`] takes its IngressRoutes and
/// TLSCertificateDelegations), re-exported so that callers name the same version.
pub use ingressroute_api;
/// The Kubernetes types this crate reads Services, Secrets and object metadata from,
/// re-exported so that callers name the same version (this crate enables no Kubernetes
/// version feature; the binary that uses it picks one).
pub use k8s_openapi;
