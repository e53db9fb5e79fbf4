//! LDS: the `ingress_http` and `ingress_https` listeners, their HTTP connection managers,
//! TCP proxies and downstream TLS ([behaviour §4.1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-1) to [behaviour §4.4](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-4)).

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::listener::v3 as listener_v3;
use envoy_types::pb::envoy::extensions::compression::gzip::compressor::v3 as gzip_v3;
use envoy_types::pb::envoy::extensions::filters::http::compressor::v3 as compressor_v3;
use envoy_types::pb::envoy::extensions::filters::http::grpc_web::v3 as grpc_web_v3;
use envoy_types::pb::envoy::extensions::filters::http::lua::v3 as lua_v3;
use envoy_types::pb::envoy::extensions::filters::http::router::v3 as router_v3;
use envoy_types::pb::envoy::extensions::filters::listener::proxy_protocol::v3 as proxy_protocol_v3;
use envoy_types::pb::envoy::extensions::filters::listener::tls_inspector::v3 as tls_inspector_v3;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm_v3;
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3 as tcp_proxy_v3;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use ingressroute_dag::TlsVersion;

use crate::config::{EnvoyConfig, HttpRoutes};
use crate::names::{HTTP_HOST_LOWERCASE_LUA, HTTP_LISTENER, HTTP_ROUTE_CONFIG, HTTPS_LISTENER};
use crate::proto;

/// The HTTP connection manager network filter.
pub const HTTP_CONNECTION_MANAGER: &str = "envoy.filters.network.http_connection_manager";
/// The TCP proxy network filter.
pub const TCP_PROXY: &str = "envoy.filters.network.tcp_proxy";
/// The TLS inspector listener filter (reads SNI and ALPN for filter chain matching).
pub const TLS_INSPECTOR: &str = "envoy.filters.listener.tls_inspector";
/// The PROXY protocol listener filter.
pub const PROXY_PROTOCOL: &str = "envoy.filters.listener.proxy_protocol";
/// The compressor HTTP filter.
pub const COMPRESSOR: &str = "envoy.filters.http.compressor";
/// The gzip compressor library of the compressor filter.
pub const GZIP: &str = "envoy.compression.gzip.compressor";
/// The gRPC-Web HTTP filter.
pub const GRPC_WEB: &str = "envoy.filters.http.grpc_web";
/// The router HTTP filter (always last).
pub const ROUTER: &str = "envoy.filters.http.router";
/// The Lua HTTP filter: on `ingress_http` with [`HttpRoutes::Scoped`], it lowercases a
/// mixed-case host.
pub const LUA: &str = "envoy.filters.http.lua";

/// Contour's cipher suites ([behaviour §4.3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-3)), strongest first; bracketed groups are of equal
/// preference, so clients choose between AES-GCM and ChaCha20.
pub const CIPHER_SUITES: &[&str] = &[
    "[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]",
    "[ECDHE-RSA-AES128-GCM-SHA256|ECDHE-RSA-CHACHA20-POLY1305]",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
];

/// ALPN offered by TLS virtual hosts that serve HTTP.
const HTTP_ALPN: &[&str] = &["h2", "http/1.1"];
/// The HTTP connection manager's idle timeout.
const HTTP_IDLE_TIMEOUT_SECONDS: u64 = 60;
/// The TCP proxy's idle timeout (Contour's value).
const TCP_IDLE_TIMEOUT_SECONDS: u64 = 9001;

/// What a TLS filter chain serves.
#[derive(Debug, Clone)]
pub(crate) enum ChainAction {
    /// HTTP routes from this route configuration.
    Http { route_config: String },
    /// A TCP proxy.
    Tcp(tcp_proxy_v3::tcp_proxy::ClusterSpecifier),
}

/// One filter chain of `ingress_https`.
#[derive(Debug, Clone)]
pub(crate) struct TlsChain {
    pub(crate) fqdn: String,
    /// The SDS secret and minimum TLS version when TLS is terminated; `None` for
    /// passthrough.
    pub(crate) terminate: Option<(String, TlsVersion)>,
    pub(crate) action: ChainAction,
}

fn typed<M: prost::Message + prost::Name>(message: &M) -> Option<listener_v3::filter::ConfigType> {
    Some(listener_v3::filter::ConfigType::TypedConfig(proto::any(message)))
}

fn listener_filter<M: prost::Message + prost::Name>(name: &str, message: &M) -> listener_v3::ListenerFilter {
    listener_v3::ListenerFilter {
        name: name.to_owned(),
        config_type: Some(listener_v3::listener_filter::ConfigType::TypedConfig(proto::any(
            message,
        ))),
        ..Default::default()
    }
}

fn http_filter<M: prost::Message + prost::Name>(name: &str, message: &M) -> hcm_v3::HttpFilter {
    hcm_v3::HttpFilter {
        name: name.to_owned(),
        config_type: Some(hcm_v3::http_filter::ConfigType::TypedConfig(proto::any(message))),
        ..Default::default()
    }
}

/// The HTTP filters, in order: compression, gRPC-Web, router (after the Lua filter that
/// lowercases mixed-case hosts, where there is one).
fn http_filters(lua: Option<String>) -> Vec<hcm_v3::HttpFilter> {
    let compressor = compressor_v3::Compressor {
        compressor_library: Some(core_v3::TypedExtensionConfig {
            name: GZIP.to_owned(),
            typed_config: Some(proto::any(&gzip_v3::Gzip::default())),
        }),
        ..Default::default()
    };
    let lua = lua.map(|code| {
        let lua = lua_v3::Lua {
            default_source_code: Some(core_v3::DataSource {
                specifier: Some(core_v3::data_source::Specifier::InlineString(code)),
                ..Default::default()
            }),
            ..Default::default()
        };
        http_filter(LUA, &lua)
    });
    lua.into_iter()
        .chain([
            http_filter(COMPRESSOR, &compressor),
            http_filter(GRPC_WEB, &grpc_web_v3::GrpcWeb::default()),
            http_filter(ROUTER, &router_v3::Router::default()),
        ])
        .collect()
}

/// Where an HTTP connection manager gets its routes.
#[derive(Debug, Clone, Copy)]
enum Routes<'a> {
    /// The route configuration of this name, over RDS.
    Rds(&'a str),
    /// The route buckets of `ingress_http` over Scoped RDS ([`HttpRoutes::Scoped`]).
    Scoped,
}

/// Scoped RDS keyed by the request's host without its port: one scope per virtual host,
/// naming its bucket's route configuration, both over the configured source.
fn scoped_routes(config: &EnvoyConfig) -> hcm_v3::http_connection_manager::RouteSpecifier {
    use hcm_v3::scoped_routes::scope_key_builder::{FragmentBuilder, fragment_builder};
    let source = proto::config_source(&config.config_source);
    hcm_v3::http_connection_manager::RouteSpecifier::ScopedRoutes(hcm_v3::ScopedRoutes {
        name: HTTP_ROUTE_CONFIG.to_owned(),
        scope_key_builder: Some(hcm_v3::scoped_routes::ScopeKeyBuilder {
            fragments: vec![FragmentBuilder {
                r#type: Some(fragment_builder::Type::HeaderValueExtractor(
                    fragment_builder::HeaderValueExtractor {
                        name: ":authority".to_owned(),
                        // The host without its port.
                        element_separator: ":".to_owned(),
                        extract_type: Some(fragment_builder::header_value_extractor::ExtractType::Index(0)),
                    },
                )),
            }],
        }),
        rds_config_source: Some(source.clone()),
        config_specifier: Some(hcm_v3::scoped_routes::ConfigSpecifier::ScopedRds(hcm_v3::ScopedRds {
            scoped_rds_config_source: Some(source),
            ..Default::default()
        })),
    })
}

/// The HTTP connection manager filter ([behaviour §4.2](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-2)) serving `routes`.
fn http_connection_manager(
    stat_prefix: &str,
    routes: Routes<'_>,
    access_log: &str,
    config: &EnvoyConfig,
) -> listener_v3::Filter {
    let (route_specifier, lua) = match routes {
        Routes::Rds(route_config) => (
            hcm_v3::http_connection_manager::RouteSpecifier::Rds(hcm_v3::Rds {
                config_source: Some(proto::config_source(&config.config_source)),
                route_config_name: route_config.to_owned(),
            }),
            None,
        ),
        Routes::Scoped => (scoped_routes(config), Some(HTTP_HOST_LOWERCASE_LUA.to_owned())),
    };
    let hcm = hcm_v3::HttpConnectionManager {
        stat_prefix: stat_prefix.to_owned(),
        route_specifier: Some(route_specifier),
        http_filters: http_filters(lua),
        http_protocol_options: Some(core_v3::Http1ProtocolOptions {
            accept_http_10: true,
            ..Default::default()
        }),
        common_http_protocol_options: Some(core_v3::HttpProtocolOptions {
            idle_timeout: Some(proto::seconds(HTTP_IDLE_TIMEOUT_SECONDS)),
            ..Default::default()
        }),
        use_remote_address: proto::bool_value(true),
        normalize_path: proto::bool_value(true),
        preserve_external_request_id: true,
        request_timeout: Some(proto::duration(config.request_timeout)),
        access_log: vec![proto::file_access_log(access_log, &config.access_log_format)],
        ..Default::default()
    };
    listener_v3::Filter {
        name: HTTP_CONNECTION_MANAGER.to_owned(),
        config_type: typed(&hcm),
    }
}

/// The TCP proxy filter ([behaviour §4.4](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-4) with decision [D9](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d9)).
fn tcp_proxy(cluster: tcp_proxy_v3::tcp_proxy::ClusterSpecifier, config: &EnvoyConfig) -> listener_v3::Filter {
    let proxy = tcp_proxy_v3::TcpProxy {
        stat_prefix: HTTPS_LISTENER.to_owned(),
        cluster_specifier: Some(cluster),
        idle_timeout: Some(proto::seconds(TCP_IDLE_TIMEOUT_SECONDS)),
        access_log: vec![proto::file_access_log(
            &config.https_access_log,
            &config.access_log_format,
        )],
        ..Default::default()
    };
    listener_v3::Filter {
        name: TCP_PROXY.to_owned(),
        config_type: typed(&proxy),
    }
}

fn tls_protocol(version: TlsVersion) -> tls_v3::tls_parameters::TlsProtocol {
    match version {
        TlsVersion::V1_1 => tls_v3::tls_parameters::TlsProtocol::TlSv11,
        TlsVersion::V1_2 => tls_v3::tls_parameters::TlsProtocol::TlSv12,
        TlsVersion::V1_3 => tls_v3::tls_parameters::TlsProtocol::TlSv13,
    }
}

/// The downstream TLS context of a terminating chain ([behaviour §4.3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-3)): the certificate over SDS,
/// TLS from `minimum` to 1.3, Contour's ciphers, and `alpn`.
fn downstream_tls_context(
    secret: &str,
    minimum: TlsVersion,
    alpn: &[&str],
    config: &EnvoyConfig,
) -> tls_v3::DownstreamTlsContext {
    tls_v3::DownstreamTlsContext {
        common_tls_context: Some(tls_v3::CommonTlsContext {
            tls_params: Some(tls_v3::TlsParameters {
                tls_minimum_protocol_version: tls_protocol(minimum).into(),
                tls_maximum_protocol_version: tls_v3::tls_parameters::TlsProtocol::TlSv13.into(),
                cipher_suites: CIPHER_SUITES.iter().map(|c| (*c).to_owned()).collect(),
                ..Default::default()
            }),
            tls_certificate_sds_secret_configs: vec![tls_v3::SdsSecretConfig {
                name: secret.to_owned(),
                sds_config: Some(proto::config_source(&config.config_source)),
            }],
            alpn_protocols: alpn.iter().map(|p| (*p).to_owned()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn proxy_protocol_filters(config: &EnvoyConfig) -> Vec<listener_v3::ListenerFilter> {
    if config.use_proxy_protocol {
        vec![listener_filter(
            PROXY_PROTOCOL,
            &proxy_protocol_v3::ProxyProtocol::default(),
        )]
    } else {
        Vec::new()
    }
}

/// The `ingress_http` listener: one filter chain with the HTTP connection manager of the
/// `ingress_http` route configuration, or of its route buckets.
pub(crate) fn http_listener(config: &EnvoyConfig) -> listener_v3::Listener {
    let routes = match config.http_routes {
        HttpRoutes::Single => Routes::Rds(HTTP_ROUTE_CONFIG),
        HttpRoutes::Scoped { .. } => Routes::Scoped,
    };
    listener_v3::Listener {
        name: HTTP_LISTENER.to_owned(),
        address: Some(proto::listener_address(config.http_address, config.http_port)),
        listener_filters: proxy_protocol_filters(config),
        filter_chains: vec![listener_v3::FilterChain {
            filters: vec![http_connection_manager(
                HTTP_LISTENER,
                routes,
                &config.http_access_log,
                config,
            )],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The `ingress_https` listener: one filter chain per TLS virtual host, matched by SNI.
/// `chains` must be sorted by fqdn and unique.
pub(crate) fn https_listener(chains: Vec<TlsChain>, config: &EnvoyConfig) -> listener_v3::Listener {
    let mut listener_filters = proxy_protocol_filters(config);
    listener_filters.push(listener_filter(
        TLS_INSPECTOR,
        &tls_inspector_v3::TlsInspector::default(),
    ));
    let filter_chains = chains.into_iter().map(|chain| filter_chain(chain, config)).collect();
    listener_v3::Listener {
        name: HTTPS_LISTENER.to_owned(),
        address: Some(proto::listener_address(config.https_address, config.https_port)),
        listener_filters,
        filter_chains,
        ..Default::default()
    }
}

pub(crate) fn filter_chain(chain: TlsChain, config: &EnvoyConfig) -> listener_v3::FilterChain {
    let (filter, alpn): (listener_v3::Filter, &[&str]) = match chain.action {
        ChainAction::Http { route_config } => (
            http_connection_manager(
                HTTPS_LISTENER,
                Routes::Rds(&route_config),
                &config.https_access_log,
                config,
            ),
            HTTP_ALPN,
        ),
        ChainAction::Tcp(cluster) => (tcp_proxy(cluster, config), &[]),
    };
    let transport_socket = chain.terminate.map(|(secret, minimum)| {
        proto::tls_transport_socket(&downstream_tls_context(
            &secret,
            minimum.max(config.minimum_tls_version),
            alpn,
            config,
        ))
    });
    listener_v3::FilterChain {
        filter_chain_match: Some(listener_v3::FilterChainMatch {
            server_names: vec![chain.fqdn],
            ..Default::default()
        }),
        filters: vec![filter],
        transport_socket,
        ..Default::default()
    }
}
