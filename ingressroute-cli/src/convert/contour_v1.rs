//! The `projectcontour.io/v1` objects `convert --to httpproxy` writes: `HTTPProxy` and
//! `TLSCertificateDelegation`, with only the fields the conversion uses.
//!
//! Field names and meanings follow Contour's API (`apis/projectcontour/v1`); these are our
//! own serde types, not Contour's Go structs. Every struct refuses unknown fields when it
//! is read back, so the round-trip tests catch a misspelt field on either side. Optional
//! fields are left out when empty, as `kubectl` would show them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

/// `apiVersion` of both kinds.
pub const API_VERSION: &str = "projectcontour.io/v1";

/// An `HTTPProxy`: one per converted IngressRoute, of the same name and namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpProxy {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Always `HTTPProxy`.
    pub kind: String,
    /// Name, namespace, labels and the ingress class annotation.
    pub metadata: ObjectMeta,
    /// What it serves.
    pub spec: HttpProxySpec,
}

/// `spec` of an [`HttpProxy`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpProxySpec {
    /// The virtual host of a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<VirtualHost>,
    /// Other HTTPProxies serving prefixes of this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<Include>,
    /// The routes served by this HTTPProxy's own services.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// A TCP proxy on the TLS listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcpproxy: Option<TcpProxy>,
}

/// `spec.virtualhost`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VirtualHost {
    /// The host name.
    pub fqdn: String,
    /// TLS termination or passthrough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
}

/// `spec.virtualhost.tls`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tls {
    /// The certificate Secret, `name` or `namespace/name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret_name: String,
    /// The lowest TLS version, as written in the IngressRoute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_protocol_version: Option<String>,
    /// Pass TLS through to the tcpproxy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub passthrough: bool,
}

/// `spec.includes[]`: another HTTPProxy serving the requests that match `conditions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Include {
    /// The included HTTPProxy.
    pub name: String,
    /// Its namespace (always written).
    pub namespace: String,
    /// The prefix it is mounted at, relative to this HTTPProxy's own; none means this
    /// HTTPProxy's prefix itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<MatchCondition>,
}

/// A match condition; only `prefix` is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchCondition {
    /// A path prefix, joined to the including HTTPProxies' prefixes by concatenation.
    pub prefix: String,
}

/// `spec.routes[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    /// The prefix, relative to the include chain; none means the chain's prefix itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<MatchCondition>,
    /// The upstreams.
    pub services: Vec<Service>,
    /// Allow websocket upgrades.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_websockets: bool,
    /// Serve over plain HTTP on a TLS host instead of redirecting.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub permit_insecure: bool,
    /// The response timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_policy: Option<TimeoutPolicy>,
    /// Retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    /// Active health checking of every service of the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_policy: Option<HealthCheckPolicy>,
    /// Load balancing of every service of the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_policy: Option<LoadBalancerPolicy>,
    /// Prefix rewriting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_rewrite_policy: Option<PathRewritePolicy>,
}

/// An upstream Service of a route or a tcpproxy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// The Service, in the HTTPProxy's namespace.
    pub name: String,
    /// The Service port.
    pub port: i64,
    /// `h2`, `h2c` or `tls`: how Envoy speaks to the upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Verification of the upstream's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<UpstreamValidation>,
    /// Relative share of the traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
}

/// `services[].validation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpstreamValidation {
    /// The Secret holding `ca.crt`.
    pub ca_secret: String,
    /// The subject alternative name to require.
    pub subject_name: String,
}

/// `routes[].timeoutPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimeoutPolicy {
    /// A Go duration, or `infinity` for none.
    pub response: String,
}

/// `routes[].retryPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    /// Maximum number of retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// Timeout of each try, a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
}

/// `routes[].healthCheckPolicy`; every number is written, so Contour's defaults (which
/// differ from IngressRoute's) never apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckPolicy {
    /// The path probed.
    pub path: String,
    /// The `Host` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Seconds between probes.
    pub interval_seconds: i64,
    /// Seconds to wait for an answer.
    pub timeout_seconds: i64,
    /// Failures before unhealthy.
    pub unhealthy_threshold_count: i64,
    /// Successes before healthy.
    pub healthy_threshold_count: i64,
}

/// `loadBalancerPolicy` of a route or a tcpproxy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerPolicy {
    /// `RoundRobin`, `WeightedLeastRequest`, `Random` or `Cookie`.
    pub strategy: String,
}

/// `routes[].pathRewritePolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PathRewritePolicy {
    /// The replacements; without a `prefix`, one replaces whatever prefix the include
    /// chain gives the route (Contour v1.1.0 and later).
    pub replace_prefix: Vec<ReplacePrefix>,
}

/// One prefix replacement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacePrefix {
    /// The effective prefix replaced; none means the route's, whatever it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// What replaces it.
    pub replacement: String,
}

/// `spec.tcpproxy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpProxy {
    /// Load balancing of the services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_policy: Option<LoadBalancerPolicy>,
    /// The upstreams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// Another HTTPProxy whose tcpproxy serves this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<TcpProxyInclude>,
}

/// `spec.tcpproxy.include`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpProxyInclude {
    /// The included HTTPProxy.
    pub name: String,
    /// Its namespace (always written).
    pub namespace: String,
}

/// A `projectcontour.io/v1` `TLSCertificateDelegation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsCertificateDelegation {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Always `TLSCertificateDelegation`.
    pub kind: String,
    /// Name, namespace and labels of the source object.
    pub metadata: ObjectMeta,
    /// The delegations, as in the source.
    pub spec: TlsCertificateDelegationSpec,
}

/// `spec` of a [`TlsCertificateDelegation`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsCertificateDelegationSpec {
    /// One entry per delegated Secret.
    pub delegations: Vec<CertificateDelegation>,
}

/// One delegated Secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateDelegation {
    /// The Secret, in the delegation's namespace.
    pub secret_name: String,
    /// The namespaces allowed to use it; `*` for all.
    pub target_namespaces: Vec<String>,
}

/// One converted object, as printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Object {
    /// An HTTPProxy.
    HttpProxy(HttpProxy),
    /// A TLSCertificateDelegation.
    TlsCertificateDelegation(TlsCertificateDelegation),
}
