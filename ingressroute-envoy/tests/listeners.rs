//! LDS: which listeners exist, their HTTP connection managers, TLS filter chains, TCP
//! proxies and secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::extensions::access_loggers::file::v3 as file_v3;
use envoy_types::pb::envoy::extensions::filters::http::compressor::v3 as compressor_v3;
use envoy_types::pb::envoy::extensions::filters::http::lua::v3 as lua_v3;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm_v3;
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3 as tcp_proxy_v3;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use hcm_v3::scoped_routes::scope_key_builder::fragment_builder::Type;
use ingressroute_dag::TlsVersion;
use ingressroute_envoy::{AccessLogFormat, CIPHER_SUITES, ConfigSource, HttpRoutes, names};
use support::*;

fn kuard() -> KubeService {
    kube_service("default/kuard").port(80)
}

fn plain() -> World {
    World::new()
        .root("default/foo", "foo.com")
        .route("/", svc("kuard", 80))
        .service(kuard())
}

fn terminating() -> World {
    World::new()
        .root("default/foo", "foo.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .service(kuard())
        .tls_secret("default/tls")
}

fn socket(address: &Option<core_v3::Address>) -> core_v3::SocketAddress {
    match address.as_ref().and_then(|a| a.address.as_ref()) {
        Some(core_v3::address::Address::SocketAddress(s)) => s.clone(),
        other => panic!("not a socket address: {other:?}"),
    }
}

fn port(s: &core_v3::SocketAddress) -> u32 {
    match s.port_specifier {
        Some(core_v3::socket_address::PortSpecifier::PortValue(p)) => p,
        ref other => panic!("no port: {other:?}"),
    }
}

#[test]
fn nothing_to_serve_means_no_listener_and_no_route_configuration() {
    let resources = World::new().translate();
    assert!(resources.listeners.is_empty());
    assert!(resources.routes.is_empty() && resources.scoped_routes.is_empty());
    assert!(resources.clusters.is_empty() && resources.endpoints.is_empty() && resources.secrets.is_empty());
}

#[test]
fn nothing_to_serve_in_contours_layout_means_an_empty_http_route_configuration() {
    let resources = World::new()
        .with_config(|c| c.http_routes = HttpRoutes::Single)
        .translate();
    assert!(resources.listeners.is_empty());
    assert_eq!(
        resources.names(ingressroute_envoy::ResourceKind::RouteConfiguration),
        ["ingress_http"]
    );
    assert!(resources.routes[0].virtual_hosts.is_empty());
    assert!(resources.clusters.is_empty() && resources.endpoints.is_empty() && resources.secrets.is_empty());
}

#[test]
fn a_plain_virtual_host_gets_only_the_http_listener() {
    let resources = plain().translate();
    assert_eq!(
        resources.names(ingressroute_envoy::ResourceKind::Listener),
        ["ingress_http"]
    );
    let http = listener(&resources, "ingress_http");
    let address = socket(&http.address);
    assert_eq!((address.address.as_str(), port(&address)), ("0.0.0.0", 8080));
    assert!(!address.ipv4_compat);
    assert!(http.listener_filters.is_empty());
    assert_eq!(http.filter_chains.len(), 1);
    assert!(http.filter_chains[0].filter_chain_match.is_none());
    assert!(http.filter_chains[0].transport_socket.is_none());
}

#[test]
fn the_http_connection_manager_follows_contour() {
    let resources = plain().with_config(|c| c.http_routes = HttpRoutes::Single).translate();
    let hcm = hcm(&listener(&resources, "ingress_http").filter_chains[0]);
    assert_eq!(hcm.stat_prefix, "ingress_http");
    let Some(hcm_v3::http_connection_manager::RouteSpecifier::Rds(rds)) = &hcm.route_specifier else {
        panic!("not RDS");
    };
    assert_eq!(rds.route_config_name, "ingress_http");
    let source = rds.config_source.as_ref().unwrap();
    assert_eq!(source.resource_api_version, i32::from(core_v3::ApiVersion::V3));
    assert!(matches!(
        source.config_source_specifier,
        Some(core_v3::config_source::ConfigSourceSpecifier::Ads(_))
    ));
    let filters: Vec<&str> = hcm.http_filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        filters,
        [
            "envoy.filters.http.compressor",
            "envoy.filters.http.grpc_web",
            "envoy.filters.http.router"
        ]
    );
    for filter in &hcm.http_filters {
        assert!(filter.config_type.is_some(), "{} has a typed config", filter.name);
    }
    let Some(hcm_v3::http_filter::ConfigType::TypedConfig(any)) = &hcm.http_filters[0].config_type else {
        panic!()
    };
    let compressor: compressor_v3::Compressor = unpack(any);
    assert_eq!(
        compressor.compressor_library.unwrap().name,
        "envoy.compression.gzip.compressor"
    );
    assert!(hcm.http_protocol_options.unwrap().accept_http_10);
    assert!(hcm.use_remote_address.unwrap().value);
    assert!(hcm.normalize_path.unwrap().value);
    assert!(hcm.preserve_external_request_id);
    assert_eq!(
        hcm.common_http_protocol_options.unwrap().idle_timeout.unwrap().seconds,
        60
    );
    let timeout = hcm.request_timeout.unwrap();
    assert_eq!((timeout.seconds, timeout.nanos), (0, 0));
    assert_eq!(hcm.codec_type, 0, "AUTO");
    assert_eq!(hcm.access_log.len(), 1);
    assert_eq!(hcm.access_log[0].name, "envoy.access_loggers.file");
}

#[test]
fn the_http_listener_picks_a_route_configuration_per_host_with_scoped_rds() {
    let resources = plain().translate();
    let hcm = hcm(&listener(&resources, "ingress_http").filter_chains[0]);
    let Some(hcm_v3::http_connection_manager::RouteSpecifier::ScopedRoutes(scoped)) = &hcm.route_specifier else {
        panic!("not scoped routes: {:?}", hcm.route_specifier);
    };
    assert_eq!(scoped.name, "ingress_http");
    let fragments = &scoped.scope_key_builder.as_ref().unwrap().fragments;
    assert_eq!(fragments.len(), 1);
    let Some(Type::HeaderValueExtractor(extractor)) = &fragments[0].r#type else {
        panic!("not a header extractor");
    };
    assert_eq!(
        (extractor.name.as_str(), extractor.element_separator.as_str()),
        (":authority", ":"),
        "the host without its port"
    );
    assert_eq!(
        extractor.extract_type,
        Some(hcm_v3::scoped_routes::scope_key_builder::fragment_builder::header_value_extractor::ExtractType::Index(0))
    );
    for source in [
        scoped.rds_config_source.as_ref(),
        match &scoped.config_specifier {
            Some(hcm_v3::scoped_routes::ConfigSpecifier::ScopedRds(rds)) => rds.scoped_rds_config_source.as_ref(),
            other => panic!("not scoped RDS: {other:?}"),
        },
    ] {
        assert!(matches!(
            source.unwrap().config_source_specifier,
            Some(core_v3::config_source::ConfigSourceSpecifier::Ads(_))
        ));
    }

    // The Lua filter that lowercases mixed-case hosts runs first.
    let filters: Vec<&str> = hcm.http_filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        filters,
        [
            "envoy.filters.http.lua",
            "envoy.filters.http.compressor",
            "envoy.filters.http.grpc_web",
            "envoy.filters.http.router"
        ]
    );
    let Some(hcm_v3::http_filter::ConfigType::TypedConfig(any)) = &hcm.http_filters[0].config_type else {
        panic!()
    };
    let lua: lua_v3::Lua = unpack(any);
    let Some(core_v3::data_source::Specifier::InlineString(code)) = lua.default_source_code.unwrap().specifier else {
        panic!("no inline code");
    };
    assert_eq!(code, names::HTTP_HOST_LOWERCASE_LUA);

    // One scope for foo.com, naming its bucket's route configuration.
    let bucket = names::http_route_bucket_name(names::http_route_bucket("foo.com", 256));
    assert_eq!(resources.scoped_routes.len(), 1);
    let scope = &resources.scoped_routes[0];
    assert_eq!(
        (scope.name.as_str(), scope.route_configuration_name.as_str()),
        ("ingress_http/foo.com", bucket.as_str())
    );
    let key = &scope.key.as_ref().unwrap().fragments;
    assert_eq!(
        key[0].r#type,
        Some(
            envoy_types::pb::envoy::config::route::v3::scoped_route_configuration::key::fragment::Type::StringKey(
                "foo.com".to_owned()
            )
        )
    );
    let config = route_config(&resources, &bucket);
    assert_eq!(config.virtual_hosts.len(), 1);
}

#[test]
fn a_scope_key_is_the_lowercased_fqdn() {
    let resources = World::new()
        .root("default/foo", "Foo.Example.COM")
        .route("/", svc("kuard", 80))
        .service(kuard())
        .translate();
    let scope = &resources.scoped_routes[0];
    assert_eq!(scope.name, "ingress_http/foo.example.com");
    assert_eq!(
        scope.key.as_ref().unwrap().fragments[0].r#type,
        Some(
            envoy_types::pb::envoy::config::route::v3::scoped_route_configuration::key::fragment::Type::StringKey(
                "foo.example.com".to_owned()
            )
        )
    );
    assert_eq!(
        http_route_config(&resources, "Foo.Example.COM").name,
        scope.route_configuration_name
    );
}

#[test]
fn virtual_hosts_share_a_route_configuration_only_within_their_bucket() {
    let mut world = World::new().service(kuard());
    for i in 0..40 {
        world = world
            .root(&format!("default/r{i}"), &format!("host-{i}.example.com"))
            .route("/", svc("kuard", 80));
    }
    let resources = world
        .with_config(|c| c.http_routes = HttpRoutes::Scoped { buckets: 7 })
        .translate();
    resources.check_consistency().unwrap();
    assert_eq!(resources.scoped_routes.len(), 40, "a scope per host");
    assert!(resources.routes.len() <= 7, "a route configuration per bucket");
    let mut hosts = 0;
    for config in resources.routes.iter() {
        let bucket: u16 = config.name.strip_prefix("ingress_http/").unwrap().parse().unwrap();
        for vhost in &config.virtual_hosts {
            assert_eq!(names::http_route_bucket(&vhost.domains[0], 7), bucket);
            hosts += 1;
        }
    }
    assert_eq!(hosts, 40);
}

#[test]
fn the_request_timeout_and_access_logs_come_from_the_config() {
    let resources = plain()
        .with_config(|c| {
            c.request_timeout = Duration::from_millis(1500);
            c.http_access_log = "/var/log/http.log".into();
            c.access_log_format = AccessLogFormat::json();
        })
        .translate();
    let hcm = hcm(&listener(&resources, "ingress_http").filter_chains[0]);
    let timeout = hcm.request_timeout.unwrap();
    assert_eq!((timeout.seconds, timeout.nanos), (1, 500_000_000));
    let Some(envoy_types::pb::envoy::config::accesslog::v3::access_log::ConfigType::TypedConfig(any)) =
        &hcm.access_log[0].config_type
    else {
        panic!()
    };
    let log: file_v3::FileAccessLog = unpack(any);
    assert_eq!(log.path, "/var/log/http.log");
    let Some(file_v3::file_access_log::AccessLogFormat::LogFormat(format)) = log.access_log_format else {
        panic!("no log format")
    };
    let Some(core_v3::substitution_format_string::Format::JsonFormat(json)) = format.format else {
        panic!("not json")
    };
    assert_eq!(json.fields.len(), ingressroute_envoy::DEFAULT_JSON_FIELDS.len());
}

#[test]
fn listener_addresses_and_proxy_protocol_come_from_the_config() {
    let resources = terminating()
        .with_config(|c| {
            c.http_address = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
            c.http_port = 80;
            c.https_port = 443;
            c.use_proxy_protocol = true;
        })
        .translate();
    let http = listener(&resources, "ingress_http");
    let address = socket(&http.address);
    assert_eq!(
        (address.address.as_str(), port(&address), address.ipv4_compat),
        ("::", 80, true)
    );
    let filters: Vec<&str> = http.listener_filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(filters, ["envoy.filters.listener.proxy_protocol"]);
    let https = listener(&resources, "ingress_https");
    assert_eq!(port(&socket(&https.address)), 443);
    let filters: Vec<&str> = https.listener_filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        filters,
        [
            "envoy.filters.listener.proxy_protocol",
            "envoy.filters.listener.tls_inspector"
        ]
    );
    for filter in &https.listener_filters {
        assert!(filter.config_type.is_some());
    }
}

#[test]
fn a_grpc_config_source_names_the_xds_cluster() {
    let resources = terminating()
        .with_config(|c| {
            c.config_source = ConfigSource::Grpc {
                cluster: "contour".into(),
            }
        })
        .translate();
    let hcm = hcm(chain(&resources, "foo.example.com"));
    let Some(hcm_v3::http_connection_manager::RouteSpecifier::Rds(rds)) = hcm.route_specifier else {
        panic!()
    };
    let Some(core_v3::config_source::ConfigSourceSpecifier::ApiConfigSource(api)) =
        rds.config_source.unwrap().config_source_specifier
    else {
        panic!("not an API config source")
    };
    assert_eq!(api.transport_api_version, i32::from(core_v3::ApiVersion::V3));
    let Some(core_v3::grpc_service::TargetSpecifier::EnvoyGrpc(grpc)) = &api.grpc_services[0].target_specifier else {
        panic!()
    };
    assert_eq!(grpc.cluster_name, "contour");
    let eds = resources.clusters[0].eds_cluster_config.as_ref().unwrap();
    assert!(matches!(
        eds.eds_config.as_ref().unwrap().config_source_specifier,
        Some(core_v3::config_source::ConfigSourceSpecifier::ApiConfigSource(_))
    ));
}

#[test]
fn a_terminating_virtual_host_gets_a_tls_chain_with_its_own_route_configuration() {
    let resources = terminating().translate();
    assert_eq!(
        resources.names(ingressroute_envoy::ResourceKind::Listener),
        ["ingress_http", "ingress_https"]
    );
    let chain = chain(&resources, "foo.example.com");
    let hcm = hcm(chain);
    assert_eq!(hcm.stat_prefix, "ingress_https");
    let Some(hcm_v3::http_connection_manager::RouteSpecifier::Rds(rds)) = &hcm.route_specifier else {
        panic!()
    };
    assert_eq!(rds.route_config_name, "https/foo.example.com");
    let config = route_config(&resources, "https/foo.example.com");
    assert_eq!(config.virtual_hosts.len(), 1);
    assert_eq!(
        config.virtual_hosts[0].domains,
        ["foo.example.com", "foo.example.com:*"]
    );

    let tls = downstream_tls(chain).expect("TLS is terminated");
    let common = tls.common_tls_context.unwrap();
    assert_eq!(common.alpn_protocols, ["h2", "http/1.1"]);
    let params = common.tls_params.unwrap();
    assert_eq!(
        params.tls_minimum_protocol_version,
        tls_v3::tls_parameters::TlsProtocol::TlSv11 as i32
    );
    assert_eq!(
        params.tls_maximum_protocol_version,
        tls_v3::tls_parameters::TlsProtocol::TlSv13 as i32
    );
    assert_eq!(params.cipher_suites, CIPHER_SUITES);
    assert_eq!(common.tls_certificate_sds_secret_configs.len(), 1);
    let sds = &common.tls_certificate_sds_secret_configs[0];
    assert_eq!(resources.secrets.len(), 1);
    assert_eq!(sds.name, resources.secrets[0].name);
    assert!(sds.name.starts_with("default/tls/"));
    assert!(sds.sds_config.is_some());
}

#[test]
fn the_secret_holds_the_key_pair_inline() {
    let resources = terminating().translate();
    let secret = &resources.secrets[0];
    let Some(tls_v3::secret::Type::TlsCertificate(cert)) = &secret.r#type else {
        panic!("not a TLS certificate")
    };
    let inline = |d: &Option<core_v3::DataSource>| match d.as_ref().and_then(|d| d.specifier.as_ref()) {
        Some(core_v3::data_source::Specifier::InlineBytes(b)) => b.clone(),
        other => panic!("not inline bytes: {other:?}"),
    };
    assert_eq!(inline(&cert.certificate_chain), CERT.as_bytes());
    assert_eq!(inline(&cert.private_key), KEY.as_bytes());
}

#[test]
fn a_secret_shared_by_two_virtual_hosts_is_sent_once() {
    let resources = terminating()
        .root("default/bar", "bar.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .translate();
    assert_eq!(resources.secrets.len(), 1);
    assert_eq!(listener(&resources, "ingress_https").filter_chains.len(), 2);
}

#[test]
fn filter_chains_are_sorted_by_server_name() {
    let resources = World::new()
        .root("default/z", "z.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .root("default/a", "a.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .root("default/m", "m.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .service(kuard())
        .tls_secret("default/tls")
        .translate();
    let names: Vec<&str> = listener(&resources, "ingress_https")
        .filter_chains
        .iter()
        .map(|c| c.filter_chain_match.as_ref().unwrap().server_names[0].as_str())
        .collect();
    assert_eq!(names, ["a.example.com", "m.example.com", "z.example.com"]);
}

fn minimum(resources: &ingressroute_envoy::Resources) -> i32 {
    downstream_tls(chain(resources, "foo.example.com"))
        .unwrap()
        .common_tls_context
        .unwrap()
        .tls_params
        .unwrap()
        .tls_minimum_protocol_version
}

#[test]
fn the_minimum_tls_version_is_the_higher_of_the_global_and_the_virtual_hosts() {
    use tls_v3::tls_parameters::TlsProtocol;
    let vhost_12 = terminating().minimum_protocol_version("1.2");
    assert_eq!(minimum(&vhost_12.translate()), TlsProtocol::TlSv12 as i32);
    let global_13 = vhost_12
        .clone()
        .with_config(|c| c.minimum_tls_version = TlsVersion::V1_3);
    assert_eq!(minimum(&global_13.translate()), TlsProtocol::TlSv13 as i32);
    let vhost_13 = terminating()
        .minimum_protocol_version("1.3")
        .with_config(|c| c.minimum_tls_version = TlsVersion::V1_2);
    assert_eq!(minimum(&vhost_13.translate()), TlsProtocol::TlSv13 as i32);
    let garbage = terminating().minimum_protocol_version("1.0");
    assert_eq!(
        minimum(&garbage.translate()),
        TlsProtocol::TlSv11 as i32,
        "never below 1.1"
    );
}

#[test]
fn a_terminated_tcp_proxy_has_tls_without_alpn() {
    let resources = World::new()
        .root("default/foo", "foo.example.com")
        .tls("tls")
        .tcpproxy(svc("kuard", 80))
        .service(kuard())
        .tls_secret("default/tls")
        .translate();
    let chain = chain(&resources, "foo.example.com");
    let tls = downstream_tls(chain).expect("terminated");
    assert!(tls.common_tls_context.unwrap().alpn_protocols.is_empty());
    let proxy = tcp_proxy(chain);
    assert_eq!(proxy.stat_prefix, "ingress_https");
    assert_eq!(proxy.idle_timeout.unwrap().seconds, 9001);
    assert_eq!(proxy.access_log.len(), 1);
    assert_eq!(
        proxy.cluster_specifier,
        Some(tcp_proxy_v3::tcp_proxy::ClusterSpecifier::Cluster(
            "default/kuard/80/da39a3ee5e".into()
        ))
    );
    assert!(
        !resources.routes.iter().any(|r| r.name.starts_with("https/")),
        "no HTTP on the TLS side of a TCP proxy"
    );
    assert_eq!(resources.secrets.len(), 1);
}

#[test]
fn a_passthrough_virtual_host_has_no_tls_context_and_only_a_tcp_proxy() {
    let resources = World::new()
        .root("default/foo", "foo.example.com")
        .passthrough()
        .tcpproxy(svc("kuard", 80))
        .service(kuard())
        .translate();
    let chain = chain(&resources, "foo.example.com");
    assert!(chain.transport_socket.is_none());
    tcp_proxy(chain);
    assert!(resources.secrets.is_empty());
    assert_eq!(
        resources.names(ingressroute_envoy::ResourceKind::Listener),
        ["ingress_https"]
    );
}

#[test]
fn tcp_proxy_weights_are_honoured_and_zero_weights_left_out() {
    let world = World::new()
        .root("default/foo", "foo.example.com")
        .passthrough()
        .tcpproxy([svc("a", 80).weight(80), svc("b", 80).weight(20), svc("c", 80).weight(0)])
        .service(kube_service("default/a").port(80))
        .service(kube_service("default/b").port(80))
        .service(kube_service("default/c").port(80));
    let resources = world.translate();
    let Some(tcp_proxy_v3::tcp_proxy::ClusterSpecifier::WeightedClusters(weighted)) =
        tcp_proxy(chain(&resources, "foo.example.com")).cluster_specifier
    else {
        panic!("not weighted")
    };
    let weights: Vec<(&str, u32)> = weighted.clusters.iter().map(|c| (c.name.as_str(), c.weight)).collect();
    assert_eq!(
        weights,
        [("default/a/80/da39a3ee5e", 80), ("default/b/80/da39a3ee5e", 20)]
    );
    assert_eq!(
        resources.names(ingressroute_envoy::ResourceKind::Cluster),
        ["default/a/80/da39a3ee5e", "default/b/80/da39a3ee5e"],
        "the weight-0 upstream gets no cluster"
    );
}

#[test]
fn tcp_proxy_weights_that_are_all_zero_split_evenly() {
    let resources = World::new()
        .root("default/foo", "foo.example.com")
        .passthrough()
        .tcpproxy([svc("b", 80), svc("a", 80)])
        .service(kube_service("default/a").port(80))
        .service(kube_service("default/b").port(80))
        .translate();
    let Some(tcp_proxy_v3::tcp_proxy::ClusterSpecifier::WeightedClusters(weighted)) =
        tcp_proxy(chain(&resources, "foo.example.com")).cluster_specifier
    else {
        panic!("not weighted")
    };
    let weights: Vec<(&str, u32)> = weighted.clusters.iter().map(|c| (c.name.as_str(), c.weight)).collect();
    assert_eq!(
        weights,
        [("default/a/80/da39a3ee5e", 1), ("default/b/80/da39a3ee5e", 1)]
    );
}

#[test]
fn a_tcp_proxy_left_with_one_weighted_upstream_names_it_directly() {
    let resources = World::new()
        .root("default/foo", "foo.example.com")
        .passthrough()
        .tcpproxy([svc("a", 80).weight(0), svc("b", 80).weight(5)])
        .service(kube_service("default/a").port(80))
        .service(kube_service("default/b").port(80))
        .translate();
    assert_eq!(
        tcp_proxy(chain(&resources, "foo.example.com")).cluster_specifier,
        Some(tcp_proxy_v3::tcp_proxy::ClusterSpecifier::Cluster(
            "default/b/80/da39a3ee5e".into()
        ))
    );
}

#[test]
fn the_https_access_log_is_used_on_the_tls_listener() {
    let resources = terminating()
        .with_config(|c| c.https_access_log = "/var/log/https.log".into())
        .translate();
    let hcm = hcm(chain(&resources, "foo.example.com"));
    let Some(envoy_types::pb::envoy::config::accesslog::v3::access_log::ConfigType::TypedConfig(any)) =
        &hcm.access_log[0].config_type
    else {
        panic!()
    };
    let log: file_v3::FileAccessLog = unpack(any);
    assert_eq!(log.path, "/var/log/https.log");
    assert_eq!(log.access_log_format, None);
}

#[test]
fn the_secret_name_changes_with_the_certificate() {
    let resources = terminating().translate();
    let name = &resources.secrets[0].name;
    let hash = name.rsplit('/').next().unwrap();
    assert_eq!(hash.len(), 10);
    assert_eq!(name, &format!("default/tls/{hash}"));
    let dag = terminating().dag();
    let secret = match &dag.virtual_hosts()[0].secure.as_ref().unwrap().tls {
        ingressroute_dag::TlsMode::Terminate { secret, .. } => secret.clone(),
        ingressroute_dag::TlsMode::Passthrough => panic!(),
    };
    assert_eq!(names::secret_name(&secret).as_deref(), Some(name.as_str()));
}
