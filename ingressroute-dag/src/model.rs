//! What a build produces for Envoy: virtual hosts, routes and upstream clusters.
//!
//! These types hold resolved, validated values: every number is in range, every Service
//! and Secret exists, and nothing of an invalid or orphaned IngressRoute is present.
//!
//! Where `ingressroute_api` has a type of the same name (what a user writes), the type
//! here (what is served from it) is prefixed `Served`: [`ServedVirtualHost`],
//! [`ServedRoute`], [`ServedTcpProxy`], [`ServedHealthCheck`], [`ServedRetryPolicy`],
//! [`ServedUpstreamValidation`]. The others need no prefix.
//!
//! Structs are `#[non_exhaustive]` so that fields can be added; the few that callers
//! build themselves (to test a translation, say) have a `new`. The enums [`TlsMode`],
//! [`TlsVersion`], [`Timeout`] and [`LoadBalancer`] are exhaustive on purpose: their
//! variants are fixed by the frozen `v1beta1` API, and a translator must map each one,
//! so a new variant should break it at compile time rather than fall into a default.

use std::sync::Arc;
use std::time::Duration;

use crate::{K8sService, ObjectRef, Secret, ServicePort};

/// A host name served by a valid root IngressRoute.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServedVirtualHost {
    /// The host name, exactly as the root wrote it.
    pub fqdn: String,
    /// The root IngressRoute that owns this host.
    pub root: ObjectRef,
    /// The HTTP routes, one per distinct prefix, sorted by prefix (ascending bytes; of
    /// routes with the same prefix, the one found last in walk order is kept). Envoy
    /// serves them on the plain listener, as redirects where [`ServedRoute::https_redirect`] is
    /// set.
    pub routes: Vec<ServedRoute>,
    /// What is served on the TLS listener for this host, if anything.
    pub secure: Option<SecureVirtualHost>,
}

impl ServedVirtualHost {
    /// The routes served on the TLS listener: all [`routes`](Self::routes) when TLS is
    /// terminated and there is no TCP proxy, otherwise none.
    #[must_use]
    pub fn https_routes(&self) -> &[ServedRoute] {
        match &self.secure {
            Some(SecureVirtualHost {
                tls: TlsMode::Terminate { .. },
                tcp_proxy: None,
            }) => &self.routes,
            _ => &[],
        }
    }
}

/// The TLS side of a virtual host. Present only when it serves something: HTTPS routes
/// or a TCP proxy.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SecureVirtualHost {
    /// Terminate TLS with a certificate, or pass it through.
    pub tls: TlsMode,
    /// Proxy TCP connections (after termination, or passed through) instead of HTTP.
    pub tcp_proxy: Option<ServedTcpProxy>,
}

/// How the TLS listener treats connections for a host.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsMode {
    /// Terminate TLS with this Secret's key pair.
    Terminate {
        /// The `kubernetes.io/tls` Secret (it always has a key pair).
        secret: Arc<Secret>,
        /// The lowest TLS version clients may use.
        minimum_protocol_version: TlsVersion,
    },
    /// Forward the TLS bytes untouched to the TCP proxy's upstreams (SNI routing).
    Passthrough,
}

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.1, the default.
    V1_1,
    /// TLS 1.2.
    V1_2,
    /// TLS 1.3.
    V1_3,
}

impl TlsVersion {
    /// Maps `minimumProtocolVersion`: `"1.3"` and `"1.2"` mean themselves, anything else
    /// (empty, `"1.1"`, garbage) means TLS 1.1.
    #[must_use]
    pub fn from_minimum_protocol_version(value: Option<&str>) -> Self {
        match value {
            Some("1.3") => Self::V1_3,
            Some("1.2") => Self::V1_2,
            _ => Self::V1_1,
        }
    }
}

/// An HTTP route: a path prefix and where its requests go.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServedRoute {
    /// The path prefix, byte for byte.
    pub prefix: String,
    /// The upstreams and their weights, in the order the IngressRoute lists them.
    pub clusters: Vec<WeightedCluster>,
    /// Allow websocket upgrades.
    pub websocket: bool,
    /// Replace the matched prefix with this before forwarding.
    pub prefix_rewrite: Option<String>,
    /// The request timeout.
    pub timeout: Timeout,
    /// Retries, if any (boxed: few routes have them, and every served route is kept).
    pub retry: Option<Box<ServedRetryPolicy>>,
    /// On the plain listener, answer with a redirect to HTTPS instead of routing.
    pub https_redirect: bool,
    /// The IngressRoute that declared this route: one reference shared by every route
    /// it serves (50,000 routes of 20,000 IngressRoutes at dataset L).
    pub source: Arc<ObjectRef>,
}

impl ServedRoute {
    /// Whether any upstream asks for cookie session affinity (strategy `Cookie`).
    #[must_use]
    pub fn has_cookie_affinity(&self) -> bool {
        self.clusters
            .iter()
            .any(|c| c.cluster.load_balancer() == LoadBalancer::Cookie)
    }
}

/// A request timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timeout {
    /// Leave Envoy's default (15 s).
    #[default]
    Default,
    /// No timeout at all.
    Infinite,
    /// This timeout.
    Duration(Duration),
}

/// Retries of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServedRetryPolicy {
    /// Maximum number of retries (at least 1).
    pub count: u32,
    /// Timeout of each try, if any.
    pub per_try_timeout: Option<Duration>,
}

impl ServedRetryPolicy {
    /// `count` retries, each with `per_try_timeout` if any.
    #[must_use]
    pub fn new(count: u32, per_try_timeout: Option<Duration>) -> Self {
        Self { count, per_try_timeout }
    }
}

/// An upstream cluster with its share of a route's (or TCP proxy's) traffic.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WeightedCluster {
    /// The upstream.
    pub cluster: Arc<Cluster>,
    /// Relative weight; when every weight of a route is 0, traffic is split evenly.
    pub weight: u32,
}

/// An upstream: one port of one Service, with how to balance, check and secure it.
///
/// Every served route holds one (40,000 at dataset L), so what few upstreams have, a
/// health check and upstream validation, is boxed: 88 bytes instead of 168.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Cluster {
    /// The Service.
    pub service: Arc<K8sService>,
    /// The Service port.
    pub port: ServicePort,
    /// The strategy as written (it feeds Contour's cluster-name hash), after applying the
    /// IngressRoute-level default.
    pub strategy: Option<String>,
    /// Active health checking, after applying the IngressRoute-level default.
    pub health_check: Option<Box<ServedHealthCheck>>,
    /// Verification of the upstream's certificate, when the port speaks TLS.
    pub validation: Option<Box<ServedUpstreamValidation>>,
}

/// The load-balancing policy a strategy selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadBalancer {
    /// Round robin (the default, and what unknown strategies mean).
    RoundRobin,
    /// Least request, weighted.
    WeightedLeastRequest,
    /// Random.
    Random,
    /// Ring hash on the session-affinity cookie.
    Cookie,
}

impl Cluster {
    /// A cluster for one port of a Service: round robin, no health checking, no upstream
    /// validation (set the fields to change that).
    #[must_use]
    pub fn new(service: Arc<K8sService>, port: ServicePort) -> Self {
        Self {
            service,
            port,
            strategy: None,
            health_check: None,
            validation: None,
        }
    }

    /// The load-balancing policy of this cluster's strategy (case-sensitive; anything
    /// unknown is round robin).
    #[must_use]
    pub fn load_balancer(&self) -> LoadBalancer {
        match self.strategy.as_deref() {
            Some("WeightedLeastRequest") => LoadBalancer::WeightedLeastRequest,
            Some("Random") => LoadBalancer::Random,
            Some("Cookie") => LoadBalancer::Cookie,
            _ => LoadBalancer::RoundRobin,
        }
    }
}

/// Active HTTP health checking. Zero numbers mean "use the default".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ServedHealthCheck {
    /// The path to probe (never empty).
    pub path: String,
    /// The `Host` header, if set.
    pub host: Option<String>,
    /// Seconds between probes; 0 means the default (5 s).
    pub interval_seconds: u64,
    /// Seconds to wait for an answer; 0 means the default (2 s).
    pub timeout_seconds: u64,
    /// Failures before unhealthy; 0 means the default (3).
    pub unhealthy_threshold: u32,
    /// Successes before healthy; 0 means the default (2).
    pub healthy_threshold: u32,
}

impl ServedHealthCheck {
    /// Probes of `path`, with no `Host` header and every number at its default.
    #[must_use]
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            host: None,
            interval_seconds: 0,
            timeout_seconds: 0,
            unhealthy_threshold: 0,
            healthy_threshold: 0,
        }
    }
}

/// Verification of an upstream's TLS certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServedUpstreamValidation {
    /// The CA Secret (in the IngressRoute's namespace); it always has `ca.crt`.
    pub ca_secret: Arc<Secret>,
    /// The subject alternative name to require; also sent as SNI.
    pub subject_name: String,
}

impl ServedUpstreamValidation {
    /// Requires `subject_name` in a certificate signed by `ca_secret`'s `ca.crt`.
    #[must_use]
    pub fn new(ca_secret: Arc<Secret>, subject_name: impl Into<String>) -> Self {
        Self {
            ca_secret,
            subject_name: subject_name.into(),
        }
    }
}

/// A TCP proxy: where the connections of a TLS virtual host go.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServedTcpProxy {
    /// The upstreams and their weights.
    pub clusters: Vec<WeightedCluster>,
    /// The IngressRoute whose `tcpproxy.services` these are (the end of the delegation
    /// chain).
    pub source: ObjectRef,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every served route holds a `Cluster` of its own (see its documentation).
    #[test]
    fn a_cluster_stays_small() {
        assert!(size_of::<Cluster>() <= 88, "Cluster: {} bytes", size_of::<Cluster>());
    }

    /// Every served route is kept with its virtual host, four to a host at dataset L: 112
    /// bytes keeps four in the allocator's 448-byte size class (640 with the source's two
    /// strings inline, 768 with the retries inline too).
    #[test]
    fn a_served_route_stays_small() {
        assert!(
            size_of::<ServedRoute>() <= 112,
            "ServedRoute: {} bytes",
            size_of::<ServedRoute>()
        );
    }
}
