#![doc = include_str!("../README.md")]
//!
//! ```text
//!  IngressRoute ──routes[].delegate──▶ IngressRoute ──▶ …
//!    │ virtualhost.tls.secretName            │ routes[].services[]
//!    ▼                                       ▼
//!  Secret ◀── TLSCertificateDelegation     Service
//! ```
//!
//! This crate holds the types, a lenient decoder that reads them as Contour's Go structs
//! would ([`lenient`]) and, with the `validate` feature, the checks of the CRD schema. It
//! does **not** resolve delegation, compute statuses or talk to an API server:
//! `ingressroute-dag` does the first two, any kube client the last.

mod delegation;
mod ingressroute;
pub mod lenient;
#[cfg(feature = "validate")]
pub mod validate;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use delegation::{CertificateDelegation, TLSCertificateDelegation, TLSCertificateDelegationSpec};
pub use ingressroute::{
    HealthCheck, IngressRoute, IngressRouteSpec, IngressRouteStatus, RetryPolicy, Route, Service, TcpProxy,
    TimeoutPolicy, Tls, UpstreamValidation, VirtualHost,
};

/// The API group of both custom resources.
pub const GROUP: &str = "contour.heptio.com";
/// The API version of both custom resources.
pub const VERSION: &str = "v1beta1";
/// `apiVersion` as written in manifests.
pub const API_VERSION: &str = "contour.heptio.com/v1beta1";

/// Annotation keys that select an IngressRoute's ingress class, in the order they are
/// consulted: the first one present (even with an empty value) decides.
pub const INGRESS_CLASS_ANNOTATIONS: [&str; 3] = [
    "projectcontour.io/ingress.class",
    "contour.heptio.com/ingress.class",
    "kubernetes.io/ingress.class",
];

/// The ingress class an IngressRoute consumer serves when none is configured.
pub const DEFAULT_INGRESS_CLASS: &str = "contour";

/// `currentStatus` of an IngressRoute that is served.
pub const STATUS_VALID: &str = "valid";
/// `currentStatus` of an IngressRoute with an error; nothing of it is served.
pub const STATUS_INVALID: &str = "invalid";
/// `currentStatus` of a non-root IngressRoute that no valid delegation chain reaches.
pub const STATUS_ORPHANED: &str = "orphaned";

/// The regular expression the CRD schema uses for durations: a Go duration (`1s`,
/// `1m30s`, `250ms`), `0`, or `infinity`/`infinite`.
pub const DURATION_PATTERN: &str = r"^(infinity|infinite|0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$";

/// A reference from a route or tcpproxy to another IngressRoute.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delegate {
    /// The target IngressRoute's name.
    #[schemars(length(min = 1))]
    pub name: String,

    /// The target's namespace; defaults to the delegating IngressRoute's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}
