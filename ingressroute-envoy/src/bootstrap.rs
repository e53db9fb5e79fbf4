//! Envoy's bootstrap: the static configuration Envoy starts with, which points it at the
//! xDS server over ADS and serves the `stats-health` listener for Kubernetes probes
//! ([behaviour §4.13](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-13) and [behaviour §4.1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-1), with decision [D17](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d17): v3 and ADS).
//!
//! Why one file of this length: a third of it is tests pinning every field Envoy reads at
//! start; the rest is one value built in one place.
//!
//! ```text
//!  Bootstrap
//!  ├─ node { id, cluster }
//!  ├─ dynamic_resources
//!  │    ads_config  GRPC (or DELTA_GRPC), v3 ──▶ cluster "contour"
//!  │    lds_config  { ads }   cds_config { ads }
//!  ├─ static_resources
//!  │    clusters   "contour"        ──▶ xDS server (HTTP/2, keepalive, circuit breakers)
//!  │               "service-stats"  ──▶ the admin address
//!  │    listeners  "stats-health"   /ready, /stats ──▶ "service-stats"
//!  └─ admin { address, access log }
//! ```
//!
//! Pure: [`bootstrap`] builds a value from a [`BootstrapConfig`]; writing it (as JSON
//! with [`json::to_json`](crate::json::to_json), which Envoy reads with `-c`) is the
//! caller's job. Route configurations, endpoints and secrets come over ADS too, when the
//! translation is configured with [`ConfigSource::Ads`] (the
//! default); with [`ConfigSource::Grpc`] name
//! [`XDS_CLUSTER`] there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use envoy_types::pb::envoy::config::bootstrap::v3 as bootstrap_v3;
use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use envoy_types::pb::envoy::config::listener::v3 as listener_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use envoy_types::pb::envoy::extensions::filters::http::router::v3 as router_v3;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm_v3;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use envoy_types::pb::envoy::extensions::upstreams::http::v3 as upstream_http_v3;
use envoy_types::pb::envoy::r#type::matcher::v3 as matcher_v3;
use upstream_http_v3::http_protocol_options::ExplicitHttpConfig;
use upstream_http_v3::http_protocol_options::UpstreamProtocolOptions;
use upstream_http_v3::http_protocol_options::explicit_http_config::ProtocolConfig;

use crate::cluster::HTTP_PROTOCOL_OPTIONS;
use crate::config::{AccessLogFormat, ConfigSource};
use crate::listener::{HTTP_CONNECTION_MANAGER, ROUTER};
use crate::proto;

/// The bootstrap cluster of the xDS server. [`ConfigSource::Grpc`] names it.
pub const XDS_CLUSTER: &str = "contour";
/// The bootstrap cluster that reaches Envoy's own admin interface.
pub const STATS_CLUSTER: &str = "service-stats";
/// The static listener that exposes `/ready` and `/stats` of the admin interface.
pub const STATS_LISTENER: &str = "stats-health";
/// The subject alt name the xDS server's certificate must have when [`XdsTls`] is set.
pub const XDS_SUBJECT_ALT_NAME: &str = "contour";
/// The admin paths the `stats-health` listener forwards, by prefix.
pub const STATS_PATHS: [&str; 2] = ["/ready", "/stats"];

/// How long Envoy waits to connect to the xDS server.
const XDS_CONNECT_TIMEOUT_SECONDS: u64 = 5;
/// How long Envoy waits to connect to its own admin interface.
const STATS_CONNECT_TIMEOUT_MILLIS: u64 = 250;
/// TCP keepalive to the xDS server: probes, idle seconds, seconds between probes.
const XDS_KEEPALIVE: (u32, u32, u32) = (3, 30, 5);
/// Circuit breaker limits to the xDS server, high enough never to trip on one stream.
const XDS_MAX_CONNECTIONS: u32 = 100_000;
const XDS_MAX_PENDING_REQUESTS: u32 = 100_000;
const XDS_MAX_REQUESTS: u32 = 60_000_000;
const XDS_MAX_RETRIES: u32 = 50;

/// What Envoy's bootstrap says: where the xDS server is, how Envoy names itself, and
/// where the admin interface and the `stats-health` listener bind.
///
/// Construct with [`BootstrapConfig::default`] and set the fields you need. The
/// defaults are Contour's (`contour bootstrap`), with `ingressroute` as node id and
/// cluster.
///
/// ```
/// use ingressroute_envoy::{AdsApi, BootstrapConfig, bootstrap, json};
///
/// let mut config = BootstrapConfig::default();
/// config.xds_address = "ingressroute.projectcontour".into();
/// config.ads_api = AdsApi::DeltaGrpc;
/// let json = json::to_json(&bootstrap(&config)).unwrap();
/// assert_eq!(json["dynamic_resources"]["ads_config"]["api_type"], "DELTA_GRPC");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootstrapConfig {
    /// The node id Envoy sends to the xDS server (default `ingressroute`).
    pub node_id: String,
    /// The node cluster Envoy sends to the xDS server (default `ingressroute`).
    pub node_cluster: String,
    /// The xDS server's host name or IP address (default `127.0.0.1`). An IP address
    /// (IPv6 with or without brackets) gives a `STATIC` cluster, a name a `STRICT_DNS`
    /// one that prefers IPv4. Must not be empty.
    pub xds_address: String,
    /// The xDS server's port (default 8001).
    pub xds_port: u16,
    /// The ADS protocol variant (default state of the world, [`AdsApi::Grpc`]).
    pub ads_api: AdsApi,
    /// TLS to the xDS server, from files Envoy reads (default none: plain HTTP/2).
    pub xds_tls: Option<XdsTls>,
    /// The namespace in the `alt_stat_name` of the bootstrap clusters,
    /// `<namespace>_contour_<port>` (default `projectcontour`, as Contour).
    pub namespace: String,
    /// The address of Envoy's admin interface (default `127.0.0.1`). Keep it on
    /// loopback: the admin interface can change and stop Envoy.
    pub admin_address: IpAddr,
    /// The port of Envoy's admin interface (default 9001).
    pub admin_port: u16,
    /// Where the admin interface logs requests (default `/dev/null`); empty for no log.
    pub admin_access_log: String,
    /// The address of the `stats-health` listener (default `0.0.0.0`).
    pub stats_address: IpAddr,
    /// The port of the `stats-health` listener (default 8002).
    pub stats_port: u16,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            node_id: "ingressroute".to_owned(),
            node_cluster: "ingressroute".to_owned(),
            xds_address: "127.0.0.1".to_owned(),
            xds_port: 8001,
            ads_api: AdsApi::Grpc,
            xds_tls: None,
            namespace: "projectcontour".to_owned(),
            admin_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            admin_port: 9001,
            admin_access_log: "/dev/null".to_owned(),
            stats_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            stats_port: 8002,
        }
    }
}

/// Which ADS protocol Envoy speaks to the xDS server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AdsApi {
    /// State of the world (`GRPC`): a response of listeners or clusters carries every
    /// resource of its type; of other types, those it updates.
    #[default]
    Grpc,
    /// Incremental (`DELTA_GRPC`): responses carry only what changed.
    DeltaGrpc,
}

/// TLS between Envoy and the xDS server: Envoy's client certificate and key, and the CA
/// that signs the server's certificate, which must carry the DNS subject alt name
/// [`XDS_SUBJECT_ALT_NAME`] (as Contour's `--envoy-cafile`, `--envoy-cert-file` and
/// `--envoy-key-file`). Envoy reads the files at startup; they are not inlined.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct XdsTls {
    /// The CA certificate file (PEM).
    pub ca_file: String,
    /// Envoy's certificate file (PEM).
    pub cert_file: String,
    /// Envoy's private key file (PEM).
    pub key_file: String,
}

impl XdsTls {
    /// TLS with these files.
    #[must_use]
    pub fn new(ca_file: impl Into<String>, cert_file: impl Into<String>, key_file: impl Into<String>) -> Self {
        Self {
            ca_file: ca_file.into(),
            cert_file: cert_file.into(),
            key_file: key_file.into(),
        }
    }
}

/// Envoy's bootstrap for `config`: ADS to the [`XDS_CLUSTER`], listeners and clusters
/// over ADS, the admin interface, and the `stats-health` listener with its
/// [`STATS_CLUSTER`].
///
/// Static resources are sorted by name. The result encodes to the same bytes for the
/// same `config`. Nothing is checked here: an empty `xds_address` or node id gives a
/// bootstrap Envoy refuses to start with.
#[must_use]
pub fn bootstrap(config: &BootstrapConfig) -> bootstrap_v3::Bootstrap {
    let ads_config_source = ConfigSource::Ads;
    let api_type = match config.ads_api {
        AdsApi::Grpc => core_v3::api_config_source::ApiType::Grpc,
        AdsApi::DeltaGrpc => core_v3::api_config_source::ApiType::DeltaGrpc,
    };
    bootstrap_v3::Bootstrap {
        node: Some(core_v3::Node {
            id: config.node_id.clone(),
            cluster: config.node_cluster.clone(),
            ..Default::default()
        }),
        dynamic_resources: Some(bootstrap_v3::bootstrap::DynamicResources {
            ads_config: Some(core_v3::ApiConfigSource {
                api_type: api_type.into(),
                transport_api_version: core_v3::ApiVersion::V3.into(),
                grpc_services: vec![core_v3::GrpcService {
                    target_specifier: Some(core_v3::grpc_service::TargetSpecifier::EnvoyGrpc(
                        core_v3::grpc_service::EnvoyGrpc {
                            cluster_name: XDS_CLUSTER.to_owned(),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            lds_config: Some(proto::config_source(&ads_config_source)),
            cds_config: Some(proto::config_source(&ads_config_source)),
            ..Default::default()
        }),
        static_resources: Some(bootstrap_v3::bootstrap::StaticResources {
            // Sorted by name: "contour" < "service-stats".
            clusters: vec![xds_cluster(config), stats_cluster(config)],
            listeners: vec![stats_listener(config)],
            secrets: Vec::new(),
        }),
        admin: Some(bootstrap_v3::Admin {
            access_log: if config.admin_access_log.is_empty() {
                Vec::new()
            } else {
                vec![proto::file_access_log(
                    &config.admin_access_log,
                    &AccessLogFormat::Envoy,
                )]
            },
            address: Some(proto::socket_address(
                &config.admin_address.to_string(),
                u32::from(config.admin_port),
                false,
            )),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A cluster with one endpoint: `STATIC` for an IP address, `STRICT_DNS` (IPv4 first)
/// for a name.
fn single_endpoint_cluster(name: &str, host: &str, port: u16) -> cluster_v3::Cluster {
    use cluster_v3::cluster::{ClusterDiscoveryType, DiscoveryType, DnsLookupFamily};

    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let (discovery, dns_lookup_family) = if host.parse::<IpAddr>().is_ok() {
        (DiscoveryType::Static, DnsLookupFamily::Auto)
    } else {
        (DiscoveryType::StrictDns, DnsLookupFamily::V4Preferred)
    };
    cluster_v3::Cluster {
        name: name.to_owned(),
        cluster_discovery_type: Some(ClusterDiscoveryType::Type(discovery.into())),
        dns_lookup_family: dns_lookup_family.into(),
        lb_policy: cluster_v3::cluster::LbPolicy::RoundRobin.into(),
        load_assignment: Some(endpoint_v3::ClusterLoadAssignment {
            cluster_name: name.to_owned(),
            endpoints: vec![endpoint_v3::LocalityLbEndpoints {
                lb_endpoints: vec![endpoint_v3::LbEndpoint {
                    host_identifier: Some(endpoint_v3::lb_endpoint::HostIdentifier::Endpoint(
                        endpoint_v3::Endpoint {
                            address: Some(proto::socket_address(host, u32::from(port), false)),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The `contour` cluster: HTTP/2 to the xDS server, kept alive, never tripped.
fn xds_cluster(config: &BootstrapConfig) -> cluster_v3::Cluster {
    let thresholds = |priority: core_v3::RoutingPriority| cluster_v3::circuit_breakers::Thresholds {
        priority: priority.into(),
        max_connections: proto::u32_value(XDS_MAX_CONNECTIONS),
        max_pending_requests: proto::u32_value(XDS_MAX_PENDING_REQUESTS),
        max_requests: proto::u32_value(XDS_MAX_REQUESTS),
        max_retries: proto::u32_value(XDS_MAX_RETRIES),
        ..Default::default()
    };
    let (probes, time, interval) = XDS_KEEPALIVE;
    let mut cluster = cluster_v3::Cluster {
        alt_stat_name: format!("{}_{XDS_CLUSTER}_{}", config.namespace, config.xds_port),
        connect_timeout: Some(proto::seconds(XDS_CONNECT_TIMEOUT_SECONDS)),
        upstream_connection_options: Some(cluster_v3::UpstreamConnectionOptions {
            tcp_keepalive: Some(core_v3::TcpKeepalive {
                keepalive_probes: proto::u32_value(probes),
                keepalive_time: proto::u32_value(time),
                keepalive_interval: proto::u32_value(interval),
            }),
            ..Default::default()
        }),
        circuit_breakers: Some(cluster_v3::CircuitBreakers {
            thresholds: vec![
                thresholds(core_v3::RoutingPriority::High),
                thresholds(core_v3::RoutingPriority::Default),
            ],
            ..Default::default()
        }),
        transport_socket: config.xds_tls.as_ref().map(xds_tls),
        ..single_endpoint_cluster(XDS_CLUSTER, &config.xds_address, config.xds_port)
    };
    // gRPC needs HTTP/2. One entry: the map is a `HashMap`, which only encodes
    // deterministically with at most one entry.
    cluster.typed_extension_protocol_options.insert(
        HTTP_PROTOCOL_OPTIONS.to_owned(),
        proto::any(&upstream_http_v3::HttpProtocolOptions {
            upstream_protocol_options: Some(UpstreamProtocolOptions::ExplicitHttpConfig(ExplicitHttpConfig {
                protocol_config: Some(ProtocolConfig::Http2ProtocolOptions(
                    core_v3::Http2ProtocolOptions::default(),
                )),
            })),
            ..Default::default()
        }),
    );
    cluster
}

/// Envoy's client side of TLS to the xDS server, from files.
fn xds_tls(tls: &XdsTls) -> core_v3::TransportSocket {
    let file = |path: &str| core_v3::DataSource {
        specifier: Some(core_v3::data_source::Specifier::Filename(path.to_owned())),
        ..Default::default()
    };
    proto::tls_transport_socket(&tls_v3::UpstreamTlsContext {
        common_tls_context: Some(tls_v3::CommonTlsContext {
            tls_certificates: vec![tls_v3::TlsCertificate {
                certificate_chain: Some(file(&tls.cert_file)),
                private_key: Some(file(&tls.key_file)),
                ..Default::default()
            }],
            validation_context_type: Some(tls_v3::common_tls_context::ValidationContextType::ValidationContext(
                tls_v3::CertificateValidationContext {
                    trusted_ca: Some(file(&tls.ca_file)),
                    match_typed_subject_alt_names: vec![tls_v3::SubjectAltNameMatcher {
                        san_type: tls_v3::subject_alt_name_matcher::SanType::Dns.into(),
                        matcher: Some(matcher_v3::StringMatcher {
                            match_pattern: Some(matcher_v3::string_matcher::MatchPattern::Exact(
                                XDS_SUBJECT_ALT_NAME.to_owned(),
                            )),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            )),
            // gRPC is HTTP/2; say so, for servers that insist on ALPN.
            alpn_protocols: vec!["h2".to_owned()],
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The `service-stats` cluster: Envoy's own admin interface. An admin interface bound
/// to every address is reached on loopback.
fn stats_cluster(config: &BootstrapConfig) -> cluster_v3::Cluster {
    let admin = match config.admin_address {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    cluster_v3::Cluster {
        alt_stat_name: format!("{}_{STATS_CLUSTER}_{}", config.namespace, config.admin_port),
        connect_timeout: Some(proto::millis(STATS_CONNECT_TIMEOUT_MILLIS)),
        ..single_endpoint_cluster(STATS_CLUSTER, &admin.to_string(), config.admin_port)
    }
}

/// The `stats-health` listener ([behaviour §4.1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-1)): `/ready` and `/stats` of the admin
/// interface, and nothing else of it, for Kubernetes probes and Prometheus.
fn stats_listener(config: &BootstrapConfig) -> listener_v3::Listener {
    let routes = STATS_PATHS
        .iter()
        .map(|prefix| route_v3::Route {
            r#match: Some(route_v3::RouteMatch {
                path_specifier: Some(route_v3::route_match::PathSpecifier::Prefix((*prefix).to_owned())),
                ..Default::default()
            }),
            action: Some(route_v3::route::Action::Route(route_v3::RouteAction {
                cluster_specifier: Some(route_v3::route_action::ClusterSpecifier::Cluster(
                    STATS_CLUSTER.to_owned(),
                )),
                ..Default::default()
            })),
            ..Default::default()
        })
        .collect();
    let hcm = hcm_v3::HttpConnectionManager {
        stat_prefix: "stats".to_owned(),
        route_specifier: Some(hcm_v3::http_connection_manager::RouteSpecifier::RouteConfig(
            route_v3::RouteConfiguration {
                name: STATS_LISTENER.to_owned(),
                virtual_hosts: vec![route_v3::VirtualHost {
                    name: "backend".to_owned(),
                    domains: vec!["*".to_owned()],
                    routes,
                    ..Default::default()
                }],
                ..Default::default()
            },
        )),
        http_filters: vec![hcm_v3::HttpFilter {
            name: ROUTER.to_owned(),
            config_type: Some(hcm_v3::http_filter::ConfigType::TypedConfig(proto::any(
                &router_v3::Router::default(),
            ))),
            ..Default::default()
        }],
        normalize_path: proto::bool_value(true),
        ..Default::default()
    };
    listener_v3::Listener {
        name: STATS_LISTENER.to_owned(),
        address: Some(proto::listener_address(config.stats_address, config.stats_port)),
        filter_chains: vec![listener_v3::FilterChain {
            filters: vec![listener_v3::Filter {
                name: HTTP_CONNECTION_MANAGER.to_owned(),
                config_type: Some(listener_v3::filter::ConfigType::TypedConfig(proto::any(&hcm))),
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)] // the way callers outside the crate must do it
mod tests {
    use prost::{Message, Name};
    use serde_json::json;

    use super::*;
    use crate::json::to_json;

    fn default_json() -> serde_json::Value {
        to_json(&bootstrap(&BootstrapConfig::default())).unwrap()
    }

    fn cluster<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
        json["static_resources"]["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no cluster {name}"))
    }

    fn endpoint(cluster: &serde_json::Value) -> &serde_json::Value {
        &cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    }

    #[test]
    fn the_defaults_point_envoy_at_ads_on_localhost() {
        let json = default_json();
        assert_eq!(json["node"], json!({"id": "ingressroute", "cluster": "ingressroute"}));
        assert_eq!(
            json["dynamic_resources"],
            json!({
                "ads_config": {
                    "api_type": "GRPC",
                    "transport_api_version": "V3",
                    "grpc_services": [{"envoy_grpc": {"cluster_name": "contour"}}]
                },
                "lds_config": {"ads": {}, "resource_api_version": "V3"},
                "cds_config": {"ads": {}, "resource_api_version": "V3"}
            })
        );
        let contour = cluster(&json, "contour");
        assert_eq!(contour["type"], "STATIC");
        assert_eq!(endpoint(contour), &json!({"address": "127.0.0.1", "port_value": 8001}));
    }

    #[test]
    fn delta_asks_for_incremental_ads() {
        let mut config = BootstrapConfig::default();
        config.ads_api = AdsApi::DeltaGrpc;
        let json = to_json(&bootstrap(&config)).unwrap();
        assert_eq!(json["dynamic_resources"]["ads_config"]["api_type"], "DELTA_GRPC");
    }

    #[test]
    fn the_xds_cluster_speaks_http2_and_keeps_its_connection_alive() {
        let json = default_json();
        let contour = cluster(&json, "contour");
        assert_eq!(contour["connect_timeout"], "5s");
        assert_eq!(contour["alt_stat_name"], "projectcontour_contour_8001");
        assert_eq!(
            contour["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["explicit_http_config"],
            json!({"http2_protocol_options": {}})
        );
        assert_eq!(
            contour["upstream_connection_options"]["tcp_keepalive"],
            json!({"keepalive_probes": 3, "keepalive_time": 30, "keepalive_interval": 5})
        );
        let limits = json!({
            "max_connections": 100000,
            "max_pending_requests": 100000,
            "max_requests": 60000000,
            "max_retries": 50
        });
        let thresholds = contour["circuit_breakers"]["thresholds"].as_array().unwrap();
        assert_eq!(thresholds.len(), 2);
        assert_eq!(thresholds[0]["priority"], "HIGH");
        // DEFAULT is the enum's zero, left out of proto3 JSON.
        assert_eq!(thresholds[1].get("priority"), None);
        for threshold in thresholds {
            for (key, value) in limits.as_object().unwrap() {
                assert_eq!(&threshold[key], value, "{key}");
            }
        }
        assert_eq!(contour.get("transport_socket"), None);
    }

    #[test]
    fn a_host_name_gives_a_strict_dns_cluster_that_prefers_ipv4() {
        let mut config = BootstrapConfig::default();
        config.xds_address = "ingressroute.projectcontour".into();
        config.xds_port = 8443;
        let json = to_json(&bootstrap(&config)).unwrap();
        let contour = cluster(&json, "contour");
        assert_eq!(contour["type"], "STRICT_DNS");
        assert_eq!(contour["dns_lookup_family"], "V4_PREFERRED");
        assert_eq!(
            endpoint(contour),
            &json!({"address": "ingressroute.projectcontour", "port_value": 8443})
        );
        assert_eq!(contour["alt_stat_name"], "projectcontour_contour_8443");
    }

    #[test]
    fn an_ipv6_xds_address_loses_its_brackets() {
        let mut config = BootstrapConfig::default();
        config.xds_address = "[::1]".into();
        let json = to_json(&bootstrap(&config)).unwrap();
        let contour = cluster(&json, "contour");
        assert_eq!(contour["type"], "STATIC");
        assert_eq!(endpoint(contour)["address"], "::1");
    }

    #[test]
    fn xds_tls_reads_files_and_checks_the_servers_name() {
        let mut config = BootstrapConfig::default();
        config.xds_tls = Some(XdsTls::new("/certs/ca.crt", "/certs/tls.crt", "/certs/tls.key"));
        let json = to_json(&bootstrap(&config)).unwrap();
        let socket = &cluster(&json, "contour")["transport_socket"];
        assert_eq!(socket["name"], "envoy.transport_sockets.tls");
        let common = &socket["typed_config"]["common_tls_context"];
        assert_eq!(
            common["tls_certificates"],
            json!([{
                "certificate_chain": {"filename": "/certs/tls.crt"},
                "private_key": {"filename": "/certs/tls.key"}
            }])
        );
        assert_eq!(
            common["validation_context"],
            json!({
                "trusted_ca": {"filename": "/certs/ca.crt"},
                "match_typed_subject_alt_names": [{"san_type": "DNS", "matcher": {"exact": "contour"}}]
            })
        );
        assert_eq!(common["alpn_protocols"], json!(["h2"]));
    }

    #[test]
    fn the_admin_interface_is_on_loopback_and_logs_nowhere() {
        let json = default_json();
        assert_eq!(
            json["admin"]["address"],
            json!({"socket_address": {"address": "127.0.0.1", "port_value": 9001}})
        );
        assert_eq!(json["admin"]["access_log"][0]["typed_config"]["path"], "/dev/null");
        let mut config = BootstrapConfig::default();
        config.admin_access_log = String::new();
        let json = to_json(&bootstrap(&config)).unwrap();
        assert_eq!(json["admin"].get("access_log"), None);
    }

    #[test]
    fn the_stats_cluster_reaches_the_admin_interface() {
        let json = default_json();
        let stats = cluster(&json, "service-stats");
        assert_eq!(stats["type"], "STATIC");
        assert_eq!(stats["connect_timeout"], "0.250s");
        assert_eq!(stats["alt_stat_name"], "projectcontour_service-stats_9001");
        assert_eq!(endpoint(stats), &json!({"address": "127.0.0.1", "port_value": 9001}));

        let mut config = BootstrapConfig::default();
        config.admin_address = "0.0.0.0".parse().unwrap();
        config.admin_port = 19001;
        let json = to_json(&bootstrap(&config)).unwrap();
        let stats = cluster(&json, "service-stats");
        assert_eq!(endpoint(stats), &json!({"address": "127.0.0.1", "port_value": 19001}));
        assert_eq!(json["admin"]["address"]["socket_address"]["address"], "0.0.0.0");
    }

    #[test]
    fn the_stats_health_listener_forwards_ready_and_stats_only() {
        let json = default_json();
        let listeners = json["static_resources"]["listeners"].as_array().unwrap();
        assert_eq!(listeners.len(), 1);
        let listener = &listeners[0];
        assert_eq!(listener["name"], "stats-health");
        assert_eq!(
            listener["address"],
            json!({"socket_address": {"address": "0.0.0.0", "port_value": 8002}})
        );
        let hcm = &listener["filter_chains"][0]["filters"][0]["typed_config"];
        assert_eq!(hcm["stat_prefix"], "stats");
        assert_eq!(hcm["normalize_path"], true);
        assert_eq!(hcm["http_filters"][0]["name"], "envoy.filters.http.router");
        let vhost = &hcm["route_config"]["virtual_hosts"][0];
        assert_eq!(vhost["name"], "backend");
        assert_eq!(vhost["domains"], json!(["*"]));
        assert_eq!(
            vhost["routes"],
            json!([
                {"match": {"prefix": "/ready"}, "route": {"cluster": "service-stats"}},
                {"match": {"prefix": "/stats"}, "route": {"cluster": "service-stats"}}
            ])
        );
    }

    #[test]
    fn an_ipv6_stats_address_also_takes_ipv4() {
        let mut config = BootstrapConfig::default();
        config.stats_address = "::".parse().unwrap();
        let json = to_json(&bootstrap(&config)).unwrap();
        let address = &json["static_resources"]["listeners"][0]["address"]["socket_address"];
        assert_eq!(address["address"], "::");
        assert_eq!(address["ipv4_compat"], true);
    }

    #[test]
    fn static_resources_are_sorted_by_name() {
        let boot = bootstrap(&BootstrapConfig::default());
        let resources = boot.static_resources.unwrap();
        let names: Vec<&str> = resources.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, [XDS_CLUSTER, STATS_CLUSTER]);
        assert!(names.is_sorted());
    }

    #[test]
    fn the_same_config_gives_the_same_bytes() {
        let config = BootstrapConfig::default();
        let first = bootstrap(&config).encode_to_vec();
        for _ in 0..10 {
            assert_eq!(bootstrap(&config).encode_to_vec(), first);
        }
        assert_eq!(
            bootstrap_v3::Bootstrap::full_name(),
            "envoy.config.bootstrap.v3.Bootstrap"
        );
    }
}
