//! What `explain` answers: the [`Explanation`] of one request, step by step, as `-o json`
//! prints it (the keys are documented in the CLI README) and `text` renders it.

use serde::Serialize;

use super::envoy::{HealthCheck, UpstreamTls};
use crate::check::Outcome;

/// What Envoy does with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExplainOutcome {
    /// Sent to an upstream Service.
    Proxied,
    /// Answered with a redirect (301 to HTTPS).
    Redirected,
    /// Answered with 404, or (HTTPS) the connection is closed for want of a filter
    /// chain.
    NotFound,
    /// Answered with 503: no upstream has an endpoint.
    Unavailable,
    /// The TLS connection is proxied to an upstream as TCP (`tcpproxy`).
    TcpProxied,
}

impl ExplainOutcome {
    /// `proxied`, `redirected`, `not_found`, `unavailable` or `tcp_proxied`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proxied => "proxied",
            Self::Redirected => "redirected",
            Self::NotFound => "not_found",
            Self::Unavailable => "unavailable",
            Self::TcpProxied => "tcp_proxied",
        }
    }

    /// The command's outcome: exit code 0 when the request is served (proxied,
    /// redirected, TCP-proxied), 1 for a 404 or 503.
    #[must_use]
    pub fn exit(self) -> Outcome {
        match self {
            Self::Proxied | Self::Redirected | Self::TcpProxied => Outcome::Valid,
            Self::NotFound | Self::Unavailable => Outcome::Invalid,
        }
    }
}

/// The answer of `explain` (`-o json` prints it; the keys are stable, see the README).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Explanation {
    /// The request, normalised (lowercased host, dot segments removed).
    pub url: String,
    /// What Envoy does.
    pub outcome: ExplainOutcome,
    /// The HTTP status Envoy answers with itself (301, 404, 503), if it does.
    pub status: Option<u16>,
    /// The listener and, on HTTPS, the filter chain.
    pub listener: Option<ListenerStep>,
    /// The virtual host, and its root IngressRoute.
    pub virtual_host: Option<VirtualHostStep>,
    /// The route that matches.
    pub route: Option<RouteStep>,
    /// The delegation chain that produced the route (or TCP proxy), root first.
    pub chain: Vec<ChainStep>,
    /// The upstream Services, with their clusters and endpoints.
    pub services: Vec<ServiceStep>,
    /// Why nothing serves the request (or why some of it fails), when that is so.
    pub reason: Option<String>,
    /// Anything else worth knowing: a longer `match` that is not served, a Service
    /// without endpoints among several.
    pub notes: Vec<String>,
}

/// The listener a request arrives on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListenerStep {
    /// `ingress_http` or `ingress_https`.
    pub name: String,
    /// Its address, `ADDR:PORT`, if it exists.
    pub address: Option<String>,
    /// The server names of the filter chain chosen by SNI (HTTPS only).
    pub server_names: Vec<String>,
    /// `terminate` or `passthrough` (HTTPS only).
    pub tls: Option<String>,
    /// The minimum TLS version, when TLS is terminated.
    pub minimum_tls_version: Option<String>,
    /// The SDS secret of the certificate, when TLS is terminated.
    pub secret: Option<String>,
}

/// The virtual host of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VirtualHostStep {
    /// The fqdn (the host of the URL when no virtual host matched).
    pub fqdn: String,
    /// The root IngressRoute, `namespace/name`, when there is one.
    pub root: Option<String>,
    /// The root's status.
    pub root_status: Option<String>,
    /// The Envoy virtual host's name, when Envoy has one.
    pub name: Option<String>,
    /// The route configuration it is in.
    pub route_configuration: Option<String>,
    /// The Scoped RDS scope that picked the route configuration (plain HTTP).
    pub scope: Option<String>,
    /// Whether the virtual host has TLS (`spec.virtualhost.tls`).
    pub tls: bool,
    /// Whether it is a TCP proxy (`spec.tcpproxy`).
    pub tcp_proxy: bool,
}

/// The route that matches, and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RouteStep {
    /// Its position among the virtual host's routes (Envoy tries them in order, longer
    /// prefixes first).
    pub index: usize,
    /// The prefix that matched.
    pub r#match: String,
    /// `route`, `redirect` or `direct`.
    pub action: String,
    /// Where a redirect sends the client.
    pub location: Option<String>,
    /// `spec.routes[].prefixRewrite`, if any.
    pub prefix_rewrite: Option<String>,
    /// The path (and query) the upstream receives, when proxied.
    pub rewritten_path: Option<String>,
    /// The route timeout: `15s` (Envoy's default), `infinity`, or the one set.
    pub timeout: Option<String>,
    /// The retry policy, if any.
    pub retries: Option<Retries>,
    /// Whether WebSocket upgrades are allowed.
    pub websockets: bool,
    /// Whether requests carry the session affinity cookie hash.
    pub session_affinity: bool,
    /// Whether this is a `permitInsecure` route of a TLS virtual host on plain HTTP.
    pub permit_insecure: bool,
}

/// A route's retry policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Retries {
    /// Envoy's `retry_on`.
    pub retry_on: String,
    /// How many retries.
    pub count: u32,
    /// Each try's timeout, if set.
    pub per_try_timeout: Option<String>,
}

/// One IngressRoute of a delegation chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChainStep {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The `match` of its route that leads on (the served route's own for the last);
    /// `null` for a TCP proxy.
    pub r#match: Option<String>,
    /// Its status.
    pub status: String,
    /// Its status description.
    pub description: String,
}

/// One upstream Service of the route or TCP proxy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceStep {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The Service port.
    pub port: i32,
    /// The effective weight Envoy uses.
    pub weight: u32,
    /// Its share of the traffic, 0 to 1.
    pub share: f64,
    /// The Envoy cluster.
    pub cluster: String,
    /// The EDS service name the cluster reads, if it reads one.
    pub eds_name: Option<String>,
    /// The cluster's discovery type (`EDS`, `STRICT_DNS` for an ExternalName).
    pub discovery: Option<String>,
    /// Envoy's load balancing policy.
    pub lb_policy: Option<String>,
    /// The IngressRoute's `strategy`, if any.
    pub strategy: Option<String>,
    /// The active health check, if any.
    pub health_check: Option<HealthCheck>,
    /// Upstream TLS, if Envoy speaks TLS to the Service.
    pub upstream_tls: Option<UpstreamTls>,
    /// The CA Secret that validates the upstream (`namespace/name`), if any.
    pub validation_ca: Option<String>,
    /// The upstream protocol (`http/1.1` or `h2`).
    pub protocol: Option<String>,
    /// The endpoint addresses.
    pub endpoints: Vec<String>,
}
