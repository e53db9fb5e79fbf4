//! The `IngressRoute` custom resource.
//!
//! Field names, optionality and meanings follow the IngressRoute documentation of
//! Contour v1.0.1. Two deliberate differences from Contour's Go types:
//!
//! * every integer is an `i64`, so a negative `weight` or an out-of-range `port` still
//!   decodes and can be reported as a status instead of failing the whole decode;
//! * the spec-level [`IngressRouteSpec::health_check`] and [`IngressRouteSpec::strategy`]
//!   ("default health checking" in the documentation) exist and are honoured.
//!
//! The optional parts most IngressRoutes do without (TLS, a TCP proxy, a delegation, health
//! checks, upstream validation, timeout and retry policies) are boxed: a controller keeps
//! every IngressRoute of a cluster in memory, and unboxed they would make every route and
//! every service several times the size of what it usually holds (a `Service` 232 bytes
//! instead of 88). The spec's default `strategy` is a `Box<str>` for the same reason: it
//! keeps an `IngressRoute` within 496 bytes, the allocator's 512-byte size class with the
//! `Arc` it is shared in (640 bytes otherwise). The JSON and the CRD schema are the same
//! either way.
//!
//! The schema attributes below only restrict what the API server accepts at creation
//! time. Consumers must still check every rule themselves, because objects can come from
//! files or from clusters that run an older CRD.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{DURATION_PATTERN, Delegate};

/// The `spec` of an IngressRoute.
///
/// An IngressRoute with a `virtualhost` is a **root**: it owns a fully
/// qualified domain name and may terminate TLS. Every other IngressRoute is only served
/// when a root (directly or through other IngressRoutes) delegates a path prefix to it.
// Every `printcolumn(...)` repeats `type_ = "string"`, which clippy takes for a duplicated
// attribute; they are five different columns.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "contour.heptio.com",
    version = "v1beta1",
    kind = "IngressRoute",
    plural = "ingressroutes",
    singular = "ingressroute",
    namespaced,
    status = "IngressRouteStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "IngressRoute is an Ingress CRD specification: a root owns a virtual host, any IngressRoute can serve routes or delegate them to others.",
    printcolumn(
        name = "FQDN",
        type_ = "string",
        description = "Fully qualified domain name",
        json_path = ".spec.virtualhost.fqdn"
    ),
    printcolumn(
        name = "TLS Secret",
        type_ = "string",
        description = "Secret with TLS credentials",
        json_path = ".spec.virtualhost.tls.secretName"
    ),
    printcolumn(
        name = "First route",
        type_ = "string",
        description = "First routes defined",
        json_path = ".spec.routes[0].match"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        description = "The current status of the IngressRoute",
        json_path = ".status.currentStatus"
    ),
    printcolumn(
        name = "Status Description",
        type_ = "string",
        description = "Description of the current status",
        json_path = ".status.description"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct IngressRouteSpec {
    /// The virtual host this IngressRoute owns. Its presence makes the object a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<VirtualHost>,

    /// The routes of this IngressRoute, each serving services or delegating a prefix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,

    /// A TCP proxy for the virtual host's TLS listener. Only takes effect on a root that
    /// terminates TLS or uses TLS passthrough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcpproxy: Option<Box<TcpProxy>>,

    /// Default health check for every service of this IngressRoute's routes; a service's
    /// own `healthCheck` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<Box<HealthCheck>>,

    /// Default load-balancing strategy for every service of this IngressRoute's routes;
    /// a service's own `strategy` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["RoundRobin", "WeightedLeastRequest", "Random", "Cookie"]))]
    pub strategy: Option<Box<str>>,
}

/// The status an IngressRoute consumer writes back onto the object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressRouteStatus {
    /// `valid`, `invalid` or `orphaned`. A string, not an enum, so that a status written by
    /// another controller (Contour could write `""`) still decodes.
    pub current_status: String,
    /// A human-readable explanation, e.g. `valid IngressRoute` or the first error found.
    pub description: String,
}

/// A virtual host: the fully qualified domain name a root IngressRoute serves.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VirtualHost {
    /// The host name, used as-is (no normalisation). Must not be blank and must not
    /// contain `*`.
    #[schemars(regex(pattern = r"^[^*\s]+$"))]
    pub fqdn: String,

    /// TLS termination or passthrough for this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<Tls>>,
}

/// TLS settings of a virtual host.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tls {
    /// The `kubernetes.io/tls` Secret holding the certificate and key, as `name` or
    /// `namespace/name`. A Secret in another namespace needs a TLSCertificateDelegation
    /// there.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret_name: String,

    /// The minimum TLS version clients may negotiate: `1.3` or `1.2`; anything else means
    /// TLS 1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["1.1", "1.2", "1.3"]))]
    pub minimum_protocol_version: Option<String>,

    /// Pass TLS through to the `tcpproxy` services instead of terminating it. Only takes
    /// effect when `secretName` is empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub passthrough: bool,
}

/// One route: a path prefix served by services, or delegated to another IngressRoute.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!(has(self.services) && size(self.services) > 0 && has(self.delegate))",
        "message": "cannot specify services and delegate in the same route"
    },
    {
        "rule": "!(has(self.enableWebsockets) && self.enableWebsockets && has(self.services) && size(self.services) > 1)",
        "message": "cannot specify multiple services and enable websockets"
    }
]))]
pub struct Route {
    /// The path prefix this route matches, byte for byte (`/blog` also matches
    /// `/blogger`).
    #[serde(rename = "match")]
    #[schemars(regex(pattern = r"^/"))]
    pub match_: String,

    /// The upstream services that serve this prefix, load-balanced by weight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,

    /// Delegate this prefix to another IngressRoute instead of serving it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegate: Option<Box<Delegate>>,

    /// Allow websocket upgrades on this route (single service only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_websockets: bool,

    /// Serve this route over plain HTTP even when the virtual host has TLS, instead of
    /// redirecting to HTTPS.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub permit_insecure: bool,

    /// Replace the matched prefix with this value before forwarding; empty means no
    /// rewrite.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix_rewrite: String,

    /// Request timeout for this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_policy: Option<Box<TimeoutPolicy>>,

    /// Retries for this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<Box<RetryPolicy>>,
}

/// An upstream Kubernetes Service (always in the IngressRoute's own namespace).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// The Service's name.
    #[schemars(length(min = 1))]
    pub name: String,

    /// The Service port, matched against `spec.ports[].port` (or a port named by this
    /// number).
    #[schemars(range(min = 1, max = 65535))]
    pub port: i64,

    /// Relative share of the route's traffic. When every service of a route has weight 0
    /// (or none), traffic is split evenly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 4294967295_i64))]
    pub weight: Option<i64>,

    /// Load-balancing strategy: `RoundRobin` (default), `WeightedLeastRequest`, `Random`
    /// or `Cookie`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["RoundRobin", "WeightedLeastRequest", "Random", "Cookie"]))]
    pub strategy: Option<String>,

    /// Active HTTP health checking of the service's endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<Box<HealthCheck>>,

    /// Verification of the upstream's certificate, for ports annotated as `tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Box<UpstreamValidation>>,
}

/// Active HTTP health check settings. A zero or absent number means "use the default".
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// The HTTP path to probe.
    #[schemars(regex(pattern = r"^/"))]
    pub path: String,

    /// The `Host` header to send; defaults to `contour-envoy-healthcheck`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,

    /// Seconds between probes (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub interval_seconds: Option<i64>,

    /// Seconds to wait for a probe's answer (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub timeout_seconds: Option<i64>,

    /// Failed probes before an endpoint is marked unhealthy (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 4294967295_i64))]
    pub unhealthy_threshold_count: Option<i64>,

    /// Successful probes before an endpoint is marked healthy again (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 4294967295_i64))]
    pub healthy_threshold_count: Option<i64>,
}

/// Verification of an upstream's TLS certificate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamValidation {
    /// Name of a Secret in the IngressRoute's namespace whose `ca.crt` holds the CA
    /// bundle.
    #[schemars(length(min = 1))]
    pub ca_secret: String,

    /// The subject alternative name the upstream's certificate must carry; also sent as
    /// SNI.
    #[schemars(length(min = 1))]
    pub subject_name: String,
}

/// A request timeout.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeoutPolicy {
    /// A Go duration (`1s`, `1m30s`), or `infinity`/`infinite`/`0s` for no timeout.
    /// Empty or absent means Envoy's default (15 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub request: Option<String>,
}

/// Retries on `5xx` responses.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Maximum number of retries; 0 means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 4294967295_i64))]
    pub count: Option<i64>,

    /// Timeout of each try, as a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub per_try_timeout: Option<String>,
}

/// A TCP proxy on the TLS listener of a root's virtual host.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!(has(self.services) && size(self.services) > 0 && has(self.delegate))",
        "message": "cannot specify services and delegate in the same tcpproxy"
    }
]))]
pub struct TcpProxy {
    /// The services that receive the TCP connections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,

    /// Delegate the TCP proxy to another IngressRoute's `tcpproxy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegate: Option<Delegate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What every route and every service of every IngressRoute costs in a controller's
    /// memory (see the module's documentation): the optional parts are boxed.
    #[test]
    fn routes_and_services_stay_small() {
        assert!(size_of::<Service>() <= 88, "Service: {} bytes", size_of::<Service>());
        assert!(size_of::<Route>() <= 104, "Route: {} bytes", size_of::<Route>());
        assert!(
            size_of::<IngressRoute>() <= 496,
            "IngressRoute: {} bytes",
            size_of::<IngressRoute>()
        );
    }
}
