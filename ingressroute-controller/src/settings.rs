//! What a controller is configured with: the library form of the command line.
//!
//! [`Args`](crate::Args) turns flags into [`Settings`]; tests build [`Settings`] directly,
//! with loopback addresses on port 0 and short timings.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ingressroute_envoy::EnvoyConfig;
use ingressroute_xds::ServerTls;

/// The controller's configuration.
///
/// Construct with [`Settings::default`] and set the fields you need. The defaults are
/// Contour's (`contour serve`, [behaviour §5.1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s5-1)) where a flag exists there.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// How IngressRoutes are interpreted: root namespaces, ingress class, permit-insecure,
    /// loopback ExternalNames.
    pub dag: ingressroute_dag::Config,
    /// The Envoy listeners and access logs.
    pub envoy: EnvoyConfig,
    /// Where the xDS server listens (default `127.0.0.1:8001`; port 0 picks one).
    pub xds_address: SocketAddr,
    /// Mutual TLS for xDS, or `None` for plaintext (the default here; the binary asks for
    /// `--insecure` to run without).
    pub xds_tls: Option<ServerTls>,
    /// Where `/metrics` is served (default `0.0.0.0:8000`).
    pub metrics_address: SocketAddr,
    /// Where `/healthz` and `/readyz` are served (default `0.0.0.0:8000`; the same
    /// address as the metrics serves all three from one listener).
    pub health_address: SocketAddr,
    /// The controller's own namespace, where the leader-election Lease lives (default
    /// `projectcontour`).
    pub namespace: String,
    /// Leader election, or `None` to always be the leader (`--disable-leader-election`).
    pub leader_election: Option<LeaderElection>,
    /// Which API the endpoints of Services come from.
    pub endpoints_api: EndpointsApi,
    /// How rebuilds are coalesced.
    pub holdoff: Holdoff,
    /// How fast statuses are written.
    pub status_rate: RateLimit,
    /// The field selector of the Secret watch (default [`SECRET_FIELD_SELECTOR`]): Secret
    /// types an IngressRoute can never use are filtered out by the API server, so they are
    /// not even sent. `None` watches every Secret.
    pub secret_field_selector: Option<String>,
}

/// The Secret types the Secret watch leaves out by default: Helm releases, service-account
/// tokens, image pull secrets and bootstrap tokens are never TLS certificates or CA
/// bundles. A Secret's type cannot change, so no Secret moves in or out of this selection.
pub const SECRET_FIELD_SELECTOR: &str = "type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token,type!=kubernetes.io/dockercfg,type!=kubernetes.io/dockerconfigjson,type!=bootstrap.kubernetes.io/token";

impl Default for Settings {
    fn default() -> Self {
        Self {
            dag: ingressroute_dag::Config::default(),
            envoy: EnvoyConfig::default(),
            xds_address: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8001),
            xds_tls: None,
            metrics_address: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8000),
            health_address: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8000),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            leader_election: Some(LeaderElection::default()),
            endpoints_api: EndpointsApi::EndpointSlices,
            holdoff: Holdoff::default(),
            status_rate: RateLimit::default(),
            secret_field_selector: Some(SECRET_FIELD_SELECTOR.to_owned()),
        }
    }
}

/// The namespace the controller runs in when none is given, as Contour's.
pub const DEFAULT_NAMESPACE: &str = "projectcontour";

/// Lease-based leader election (`coordination.k8s.io/v1`). The timings are Contour's
/// (client-go's): a leader renews every `retry_period` and steps down when it could not
/// renew for `renew_deadline`; a candidate takes a Lease over once it has seen it unchanged
/// for `lease_duration`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaderElection {
    /// The Lease's name, in [`Settings::namespace`] (default `leader-elect`, Contour's).
    pub lease_name: String,
    /// Who this replica is: env `POD_NAME`, or a random UUID.
    pub identity: String,
    /// How long a Lease is valid after its last renewal (default 15 s).
    pub lease_duration: Duration,
    /// How long a leader keeps trying to renew before it steps down (default 10 s).
    pub renew_deadline: Duration,
    /// How often a leader renews and a candidate retries (default 2 s).
    pub retry_period: Duration,
}

/// The Lease name when none is given: Contour's ConfigMap lock name.
pub const DEFAULT_LEASE_NAME: &str = "leader-elect";

impl Default for LeaderElection {
    fn default() -> Self {
        Self {
            lease_name: DEFAULT_LEASE_NAME.to_owned(),
            identity: default_identity(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Env `POD_NAME` if set and not empty, otherwise a random UUID (as Contour).
#[must_use]
pub fn default_identity() -> String {
    std::env::var("POD_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Where the ready endpoints of Services come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EndpointsApi {
    /// `discovery.k8s.io/v1` EndpointSlices, merged per Service (the default).
    #[default]
    EndpointSlices,
    /// `core/v1` Endpoints, for clusters older than Kubernetes 1.21 (`--use-endpoints`).
    Endpoints,
}

/// Contour's rebuild coalescing ([behaviour §5.3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s5-3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Holdoff {
    /// A change waits this long for the next one before a rebuild (default 100 ms).
    pub delay: Duration,
    /// A change more than this long after the last rebuild rebuilds at once (default
    /// 500 ms).
    pub max_delay: Duration,
}

impl Default for Holdoff {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        }
    }
}

/// A token bucket: `qps` requests per second on average, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests per second (default 20). Must be positive.
    pub qps: f64,
    /// The largest burst (default 40). At least 1.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self { qps: 20.0, burst: 40 }
    }
}

impl RateLimit {
    /// A limit of `qps` per second with bursts of `burst`.
    #[must_use]
    pub fn new(qps: f64, burst: u32) -> Self {
        Self { qps, burst }
    }
}
