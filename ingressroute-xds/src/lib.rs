#![doc = include_str!("../README.md")]
//!
//! # Where to start
//!
//! * [`Services`]: the services to mount on your tonic server; [`Server`]: the same on a
//!   socket of its own.
//! * [`Publisher`] and [`Snapshot`]: what is served; [`Snapshot::derive`] for small changes,
//!   [`Snapshot::from_encoded`] and [`Snapshot::derive_encoded`] for resources encoded
//!   elsewhere (an incremental translation's).
//! * [`Callbacks`]: what you are told while it serves.
//!
//! # The protocol
//!
#![doc = include_str!("protocol.md")]

mod callbacks;
mod certs;
mod codec;
mod delta;
mod serve;
mod service;
mod snapshot;
mod sotw;
mod stream;
mod watch;

use std::net::SocketAddr;

pub use callbacks::{Ack, Callbacks, Nack, Response, StreamInfo, Variant};
pub use certs::{CERTIFICATE_VALIDITY, CertificateError, Pem, XdsCertificates};
/// The ingressroute-envoy whose `Resources` this crate serves (and, through it, the
/// `envoy_types` of [`Publisher::publish_endpoints`]).
pub use ingressroute_envoy;
pub use serve::{Server, ServerConfig, ServerTls};
pub use service::{
    AggregatedDiscoveryService, ClusterDiscoveryService, DEFAULT_MAX_MESSAGE_SIZE, EndpointDiscoveryService,
    ListenerDiscoveryService, RouteDiscoveryService, ScopedRoutesDiscoveryService, SecretDiscoveryService, Services,
};
pub use snapshot::{Publisher, Snapshot, Snapshots};
/// The tonic this crate's services are built with, so that callers mount them on a router
/// of the same version.
pub use tonic;

use ingressroute_envoy::{Inconsistency, ResourceKind, error_chain};

/// What can go wrong when building snapshots or serving them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The resources of a snapshot do not refer to each other consistently; the snapshot
    /// is refused so that Envoy never waits for something that does not exist.
    #[error("the snapshot is not consistent")]
    Inconsistent(#[source] Inconsistency),
    /// The listening socket could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The address of the bound socket could not be read.
    #[error("cannot read the listening address")]
    LocalAddress(#[source] std::io::Error),
    /// The gRPC transport failed.
    #[error("the grpc server failed")]
    Transport(#[source] tonic::transport::Error),
    /// The TLS certificate, key or CA of the server is not usable.
    #[error("cannot use the xDS server's TLS certificate, key or CA")]
    Tls(#[source] tonic::transport::Error),
    /// A request on the aggregated service has no type URL.
    #[error("the request has no type_url")]
    MissingTypeUrl,
    /// A request on a single-type service names another type.
    #[error("this service serves {expected}, not {type_url}")]
    WrongTypeUrl {
        /// The type this service serves.
        expected: ResourceKind,
        /// The type URL of the request.
        type_url: String,
    },
}

/// The result of this module's fallible operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The one place where errors become gRPC statuses.
impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        let message = error_chain(&error);
        match error {
            Error::MissingTypeUrl | Error::WrongTypeUrl { .. } => tonic::Status::invalid_argument(message),
            Error::Inconsistent(_) => tonic::Status::failed_precondition(message),
            Error::Bind { .. } | Error::LocalAddress(_) | Error::Transport(_) | Error::Tls(_) => {
                tonic::Status::internal(message)
            }
        }
    }
}
