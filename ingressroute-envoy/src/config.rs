//! What a translation is configured with: the controller's flags that shape Envoy's
//! configuration (listener addresses, access logs, timeouts, TLS floor, where Envoy
//! fetches routes, endpoints and secrets from).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ingressroute_dag::TlsVersion;

/// Settings of the Envoy configuration that do not come from IngressRoutes.
///
/// Construct with [`EnvoyConfig::default`] and set the fields you need; the defaults are
/// Contour's (`contour serve` flags, [behaviour §5.1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s5-1)).
///
/// ```
/// use ingressroute_envoy::{ConfigSource, EnvoyConfig};
///
/// let mut config = EnvoyConfig::default();
/// config.http_port = 80;
/// config.config_source = ConfigSource::Grpc { cluster: "contour".into() };
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvoyConfig {
    /// The address the `ingress_http` listener binds (default `0.0.0.0`). The IPv6
    /// unspecified address `::` also accepts IPv4 connections.
    pub http_address: IpAddr,
    /// The port of the `ingress_http` listener (default 8080).
    pub http_port: u16,
    /// The address the `ingress_https` listener binds (default `0.0.0.0`).
    pub https_address: IpAddr,
    /// The port of the `ingress_https` listener (default 8443).
    pub https_port: u16,
    /// Expect the PROXY protocol header on both listeners (for a load balancer in front of
    /// Envoy that sends it).
    pub use_proxy_protocol: bool,
    /// Where the `ingress_http` listener writes its access log (default `/dev/stdout`).
    /// Must not be empty: Envoy rejects a file access log without a path.
    pub http_access_log: String,
    /// Where the `ingress_https` listener writes its access log (default `/dev/stdout`).
    /// Must not be empty.
    pub https_access_log: String,
    /// The access log format of both listeners.
    pub access_log_format: AccessLogFormat,
    /// The HTTP connection manager's `request_timeout`: how long a whole request may take.
    /// [`Duration::ZERO`] (the default) disables it.
    pub request_timeout: Duration,
    /// The lowest TLS version any TLS virtual host accepts; a virtual host may raise it but
    /// never lower it. TLS 1.1 (the default) is the floor: nothing lower is ever offered.
    pub minimum_tls_version: TlsVersion,
    /// Where Envoy fetches route configurations, endpoints and secrets from.
    pub config_source: ConfigSource,
    /// How the plain-HTTP virtual hosts are split into route configurations (default
    /// [`HttpRoutes::Scoped`] with [`DEFAULT_HTTP_ROUTE_BUCKETS`] buckets).
    pub http_routes: HttpRoutes,
}

/// How many route configurations the plain-HTTP virtual hosts are hashed into by default.
pub const DEFAULT_HTTP_ROUTE_BUCKETS: u16 = 256;

/// How the virtual hosts of the `ingress_http` listener are laid out in route
/// configurations (docs/decisions.md#d45).
///
/// Envoy applies a route configuration as a whole: with every virtual host in one, an
/// edit of one host makes Envoy parse and rebuild all of them (about 150 ms for 10,000
/// hosts). Hashed into buckets, an edit rebuilds one bucket's few hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpRoutes {
    /// One route configuration, `ingress_http`, with every virtual host: Contour's layout.
    Single,
    /// Each virtual host in the route configuration `ingress_http/<bucket>` of its bucket
    /// (a hash of its lowercased fqdn modulo `buckets`, see
    /// [`names::http_route_bucket`](crate::names::http_route_bucket)), picked per request
    /// with Scoped RDS: one scope per virtual host, keyed by its lowercased fqdn, matched
    /// against the request's host without its port. A small Lua filter lowercases a host
    /// that has uppercase letters, so hosts match without regard to case.
    Scoped {
        /// How many buckets (1 to 65535); only buckets with a virtual host are sent.
        buckets: u16,
    },
}

impl Default for HttpRoutes {
    fn default() -> Self {
        Self::Scoped {
            buckets: DEFAULT_HTTP_ROUTE_BUCKETS,
        }
    }
}

/// `/dev/stdout`, the default access log path.
pub const DEFAULT_ACCESS_LOG: &str = "/dev/stdout";

impl Default for EnvoyConfig {
    fn default() -> Self {
        Self {
            http_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            http_port: 8080,
            https_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            https_port: 8443,
            use_proxy_protocol: false,
            http_access_log: DEFAULT_ACCESS_LOG.to_owned(),
            https_access_log: DEFAULT_ACCESS_LOG.to_owned(),
            access_log_format: AccessLogFormat::Envoy,
            request_timeout: Duration::ZERO,
            minimum_tls_version: TlsVersion::V1_1,
            config_source: ConfigSource::Ads,
            http_routes: HttpRoutes::default(),
        }
    }
}

/// Where Envoy fetches the resources a listener or cluster refers to by name (RDS route
/// configurations, EDS endpoints, SDS secrets). Always the v3 API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigSource {
    /// Over the aggregated discovery stream Envoy's bootstrap sets up (`ads: {}`). The
    /// default: one stream keeps every update in order.
    #[default]
    Ads,
    /// Over a separate gRPC stream per resource type to this cluster of the bootstrap
    /// (Contour's `contour` cluster).
    Grpc {
        /// The bootstrap cluster that serves xDS, e.g. `contour`. Must not be empty.
        cluster: String,
    },
}

/// The format of the access logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessLogFormat {
    /// Envoy's default text format.
    #[default]
    Envoy,
    /// One JSON object per request with these fields (names from
    /// [`JSON_FIELDS`]; unknown names are left out, and with no known name at all the
    /// Envoy format is used). [`AccessLogFormat::json`] gives Contour's default field list.
    Json(Vec<String>),
}

impl AccessLogFormat {
    /// JSON with Contour's default fields ([`DEFAULT_JSON_FIELDS`]).
    #[must_use]
    pub fn json() -> Self {
        Self::Json(DEFAULT_JSON_FIELDS.iter().map(|f| (*f).to_owned()).collect())
    }
}

/// The fields a JSON access log has by default, as in Contour.
pub const DEFAULT_JSON_FIELDS: &[&str] = &[
    "@timestamp",
    "authority",
    "bytes_received",
    "bytes_sent",
    "downstream_local_address",
    "downstream_remote_address",
    "duration",
    "method",
    "path",
    "protocol",
    "request_id",
    "requested_server_name",
    "response_code",
    "response_flags",
    "uber_trace_id",
    "upstream_cluster",
    "upstream_host",
    "upstream_local_address",
    "upstream_service_time",
    "user_agent",
    "x_forwarded_for",
];

/// Every JSON access log field name and the Envoy command operator that fills it (see
/// Envoy's "Access logging" documentation, "Command operators").
pub const JSON_FIELDS: &[(&str, &str)] = &[
    // When the request started, ISO 8601 with milliseconds.
    ("@timestamp", "%START_TIME%"),
    ("ts", "%START_TIME%"),
    ("authority", "%REQ(:AUTHORITY)%"),
    ("bytes_received", "%BYTES_RECEIVED%"),
    ("bytes_sent", "%BYTES_SENT%"),
    ("downstream_local_address", "%DOWNSTREAM_LOCAL_ADDRESS%"),
    ("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%"),
    // Total milliseconds from the first byte received to the last byte sent.
    ("duration", "%DURATION%"),
    ("method", "%REQ(:METHOD)%"),
    // The path before any prefix rewrite.
    ("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
    ("protocol", "%PROTOCOL%"),
    ("request_id", "%REQ(X-REQUEST-ID)%"),
    ("requested_server_name", "%REQUESTED_SERVER_NAME%"),
    ("response_code", "%RESPONSE_CODE%"),
    ("response_flags", "%RESPONSE_FLAGS%"),
    ("uber_trace_id", "%REQ(UBER-TRACE-ID)%"),
    ("upstream_cluster", "%UPSTREAM_CLUSTER%"),
    ("upstream_host", "%UPSTREAM_HOST%"),
    ("upstream_local_address", "%UPSTREAM_LOCAL_ADDRESS%"),
    ("upstream_service_time", "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"),
    ("user_agent", "%REQ(USER-AGENT)%"),
    ("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%"),
    ("x_trace_id", "%REQ(X-TRACE-ID)%"),
];

/// The Envoy command operator of a JSON access log field, or `None` for a name that is
/// not in [`JSON_FIELDS`].
#[must_use]
pub fn json_field_operator(name: &str) -> Option<&'static str> {
    JSON_FIELDS.iter().find(|(field, _)| *field == name).map(|(_, op)| *op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_contours() {
        let config = EnvoyConfig::default();
        assert_eq!(config.http_address.to_string(), "0.0.0.0");
        assert_eq!((config.http_port, config.https_port), (8080, 8443));
        assert_eq!(config.http_access_log, "/dev/stdout");
        assert_eq!(config.https_access_log, "/dev/stdout");
        assert_eq!(config.access_log_format, AccessLogFormat::Envoy);
        assert_eq!(config.request_timeout, Duration::ZERO);
        assert_eq!(config.minimum_tls_version, TlsVersion::V1_1);
        assert_eq!(config.config_source, ConfigSource::Ads);
        assert!(!config.use_proxy_protocol);
    }

    #[test]
    fn every_default_json_field_has_an_operator() {
        for field in DEFAULT_JSON_FIELDS {
            assert!(json_field_operator(field).is_some(), "{field}");
        }
        assert_eq!(json_field_operator("@timestamp"), Some("%START_TIME%"));
        assert_eq!(json_field_operator("authority"), Some("%REQ(:AUTHORITY)%"));
        assert_eq!(json_field_operator("x_trace_id"), Some("%REQ(X-TRACE-ID)%"));
        assert_eq!(json_field_operator("nonsense"), None);
    }

    #[test]
    fn json_field_names_are_unique_and_operators_well_formed() {
        let mut names: Vec<&str> = JSON_FIELDS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), JSON_FIELDS.len());
        for (_, op) in JSON_FIELDS {
            assert!(op.starts_with('%') && op.ends_with('%'), "{op}");
        }
    }
}
