//! The Envoy half of `explain`: how Envoy would handle one request, read from the
//! translated [`Resources`] as Envoy reads them (listener, filter chain by SNI, scope or
//! RDS name, virtual host by `Host`, the first route whose match holds, clusters and
//! their endpoints). Nothing here knows about IngressRoutes; [`super::model`] adds them.

use ingressroute_envoy::Resources;
use ingressroute_envoy::envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
use ingressroute_envoy::envoy_types::pb::envoy::config::core::v3 as core_v3;
use ingressroute_envoy::envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use ingressroute_envoy::envoy_types::pb::envoy::config::listener::v3 as listener_v3;
use ingressroute_envoy::envoy_types::pb::envoy::config::route::v3 as route_v3;
use ingressroute_envoy::envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm_v3;
use ingressroute_envoy::envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3 as tcp_proxy_v3;
use ingressroute_envoy::envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use ingressroute_envoy::envoy_types::pb::envoy::extensions::upstreams::http::v3 as upstream_http_v3;
use ingressroute_envoy::envoy_types::pb::google::protobuf::Any;
use ingressroute_envoy::names::{HTTP_LISTENER, HTTPS_LISTENER};
use ingressroute_envoy::prost::Message;

use super::request::{Request, Scheme};

/// What Envoy found missing on the way, so that it has no upstream for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Missing {
    /// The listener of the scheme does not exist (nothing is served on it).
    Listener,
    /// No filter chain of `ingress_https` matches the server name: Envoy closes the
    /// connection.
    FilterChain,
    /// No Scoped RDS scope has the request's host as its key.
    Scope,
    /// The route configuration named by the listener or scope is not among the
    /// resources (never the case for a consistent set).
    RouteConfiguration(String),
    /// No virtual host's domains match the `Host`.
    VirtualHost,
    /// No route of the virtual host matches the path.
    Route,
}

/// What the matched filter chain of `ingress_https` does with TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chain {
    /// The server names it matches.
    pub(crate) server_names: Vec<String>,
    /// Whether Envoy terminates TLS (else it passes the connection through).
    pub(crate) terminate: bool,
    /// The minimum TLS version, when it terminates.
    pub(crate) minimum_tls_version: Option<String>,
    /// The SDS secret of its certificate, when it terminates.
    pub(crate) secret: Option<String>,
}

/// One upstream cluster Envoy may pick, with its effective weight.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Upstream {
    /// The Envoy cluster name.
    pub(crate) cluster: String,
    /// The effective weight (1 for a single cluster).
    pub(crate) weight: u32,
    /// The cluster's discovery type, load balancing policy, health check and TLS.
    pub(crate) settings: Option<ClusterSettings>,
    /// The EDS service name the cluster reads (`None` for a cluster with its endpoints
    /// inline, e.g. an ExternalName's DNS name).
    pub(crate) eds_name: Option<String>,
    /// Its endpoint addresses (`ip:port`, or `host:port` for DNS).
    pub(crate) endpoints: Vec<String>,
}

/// What an Envoy cluster says about itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClusterSettings {
    /// `EDS`, `STRICT_DNS`, ...
    pub(crate) discovery: String,
    /// `ROUND_ROBIN`, `RANDOM`, `LEAST_REQUEST`, `RING_HASH`, ...
    pub(crate) lb_policy: String,
    /// The HTTP health check, if any.
    pub(crate) health_check: Option<HealthCheck>,
    /// The upstream TLS, if any.
    pub(crate) tls: Option<UpstreamTls>,
    /// The upstream protocol Envoy speaks (`http/1.1` or `h2`).
    pub(crate) protocol: &'static str,
}

/// An active HTTP health check of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// The path probed.
    pub path: String,
    /// The `Host` header sent, when not the cluster's name.
    pub host: Option<String>,
    /// Seconds between probes.
    pub interval_seconds: i64,
    /// Seconds a probe may take.
    pub timeout_seconds: i64,
    /// Failed probes before an endpoint is unhealthy.
    pub unhealthy_threshold: u32,
    /// Good probes before it is healthy again.
    pub healthy_threshold: u32,
}

/// How Envoy speaks TLS to an upstream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamTls {
    /// The SNI sent, if any.
    pub sni: Option<String>,
    /// Whether the upstream's certificate is validated (against a CA, for a subject
    /// name).
    pub validated: bool,
    /// The subject names accepted, when validated.
    pub subject_names: Vec<String>,
}

/// What the matched route does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Proxy to these upstreams.
    Route(Box<route_v3::RouteAction>),
    /// Redirect to HTTPS.
    Redirect(route_v3::RedirectAction),
    /// Answer directly with this status.
    Direct(u32),
}

/// How Envoy handles the request, as far as it gets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trace {
    /// The listener (`ingress_http` or `ingress_https`), when it exists.
    pub(crate) listener: Option<String>,
    /// The listener's address.
    pub(crate) address: Option<String>,
    /// The filter chain of `ingress_https` chosen by SNI.
    pub(crate) chain: Option<Chain>,
    /// The Scoped RDS scope, on `ingress_http` with scoped routes.
    pub(crate) scope: Option<String>,
    /// The route configuration.
    pub(crate) route_configuration: Option<String>,
    /// The virtual host's name and domains.
    pub(crate) virtual_host: Option<(String, Vec<String>)>,
    /// The index of the matched route among its virtual host's routes, its prefix and
    /// its action.
    pub(crate) route: Option<(usize, String, Action)>,
    /// The upstreams of the route or TCP proxy, each with its effective weight.
    pub(crate) upstreams: Vec<Upstream>,
    /// Whether a TCP proxy serves the connection.
    pub(crate) tcp_proxy: bool,
    /// Where Envoy stopped, if it found nothing to serve the request.
    pub(crate) stop: Option<Missing>,
}

fn decode<M: Message + Default>(any: &Any) -> Option<M> {
    M::decode(any.value.as_slice()).ok()
}

/// Traces `request` through `resources`.
pub(crate) fn trace(resources: &Resources, request: &Request) -> Trace {
    let mut trace = Trace::default();
    let name = match request.scheme {
        Scheme::Http => HTTP_LISTENER,
        Scheme::Https => HTTPS_LISTENER,
    };
    let Some(listener) = resources.listeners.iter().find(|l| l.name == name) else {
        trace.stop = Some(Missing::Listener);
        return trace;
    };
    trace.listener = Some(listener.name.clone());
    trace.address = listener.address.as_ref().and_then(socket_address);
    let Some(chain) = filter_chain(listener, request) else {
        trace.stop = Some(Missing::FilterChain);
        return trace;
    };
    if request.scheme == Scheme::Https {
        trace.chain = Some(chain_info(chain));
    }
    for filter in &chain.filters {
        let Some(listener_v3::filter::ConfigType::TypedConfig(any)) = &filter.config_type else {
            continue;
        };
        if let Some(proxy) = (any.type_url.ends_with("TcpProxy"))
            .then(|| decode::<tcp_proxy_v3::TcpProxy>(any))
            .flatten()
        {
            trace.tcp_proxy = true;
            trace.upstreams = match proxy.cluster_specifier {
                Some(tcp_proxy_v3::tcp_proxy::ClusterSpecifier::Cluster(name)) => vec![(name, 1)],
                Some(tcp_proxy_v3::tcp_proxy::ClusterSpecifier::WeightedClusters(weighted)) => {
                    weighted.clusters.into_iter().map(|c| (c.name, c.weight)).collect()
                }
                None => Vec::new(),
            }
            .into_iter()
            .map(|(name, weight)| upstream(resources, name, weight))
            .collect();
            return trace;
        }
        if let Some(hcm) = (any.type_url.ends_with("HttpConnectionManager"))
            .then(|| decode::<hcm_v3::HttpConnectionManager>(any))
            .flatten()
        {
            http(resources, request, &hcm, &mut trace);
            return trace;
        }
    }
    trace.stop = Some(Missing::FilterChain);
    trace
}

fn socket_address(address: &core_v3::Address) -> Option<String> {
    match &address.address {
        Some(core_v3::address::Address::SocketAddress(socket)) => {
            let port = match socket.port_specifier {
                Some(core_v3::socket_address::PortSpecifier::PortValue(port)) => port.to_string(),
                Some(core_v3::socket_address::PortSpecifier::NamedPort(ref name)) => name.clone(),
                None => String::new(),
            };
            Some(format!("{}:{port}", socket.address))
        }
        _ => None,
    }
}

/// The filter chain Envoy picks: on plain HTTP the only one; on HTTPS the one whose
/// server names match the SNI (exact, then the longest `*.suffix`, then one without
/// server names).
fn filter_chain<'r>(listener: &'r listener_v3::Listener, request: &Request) -> Option<&'r listener_v3::FilterChain> {
    let sni = request.host_without_port();
    let mut best: Option<(usize, &listener_v3::FilterChain)> = None;
    for chain in &listener.filter_chains {
        let names = chain
            .filter_chain_match
            .as_ref()
            .map(|m| m.server_names.as_slice())
            .unwrap_or_default();
        let rank = if names.is_empty() {
            Some(0)
        } else if request.scheme == Scheme::Http {
            None
        } else {
            names
                .iter()
                .filter_map(|name| {
                    let name = name.to_ascii_lowercase();
                    if name == sni {
                        Some(usize::MAX)
                    } else {
                        name.strip_prefix('*')
                            .filter(|suffix| suffix.starts_with('.') && sni.ends_with(suffix))
                            .map(str::len)
                    }
                })
                .max()
        };
        if let Some(rank) = rank
            && best.is_none_or(|(b, _)| rank > b)
        {
            best = Some((rank, chain));
        }
    }
    best.map(|(_, chain)| chain)
}

fn chain_info(chain: &listener_v3::FilterChain) -> Chain {
    let server_names = chain
        .filter_chain_match
        .as_ref()
        .map(|m| m.server_names.clone())
        .unwrap_or_default();
    let context = chain
        .transport_socket
        .as_ref()
        .and_then(|socket| match &socket.config_type {
            Some(core_v3::transport_socket::ConfigType::TypedConfig(any)) => {
                decode::<tls_v3::DownstreamTlsContext>(any)
            }
            None => None,
        });
    let common = context.as_ref().and_then(|c| c.common_tls_context.as_ref());
    Chain {
        server_names,
        terminate: context.is_some(),
        minimum_tls_version: common
            .and_then(|c| c.tls_params.as_ref())
            .map(|p| tls_version(p.tls_minimum_protocol_version)),
        secret: common
            .and_then(|c| c.tls_certificate_sds_secret_configs.first())
            .map(|s| s.name.clone()),
    }
}

fn tls_version(value: i32) -> String {
    use tls_v3::tls_parameters::TlsProtocol;
    match TlsProtocol::try_from(value) {
        Ok(TlsProtocol::TlsAuto) => "auto".to_owned(),
        Ok(TlsProtocol::TlSv10) => "1.0".to_owned(),
        Ok(TlsProtocol::TlSv11) => "1.1".to_owned(),
        Ok(TlsProtocol::TlSv12) => "1.2".to_owned(),
        Ok(TlsProtocol::TlSv13) => "1.3".to_owned(),
        Err(_) => value.to_string(),
    }
}

fn http(resources: &Resources, request: &Request, hcm: &hcm_v3::HttpConnectionManager, trace: &mut Trace) {
    use hcm_v3::http_connection_manager::RouteSpecifier;
    let name = match &hcm.route_specifier {
        Some(RouteSpecifier::Rds(rds)) => rds.route_config_name.clone(),
        Some(RouteSpecifier::ScopedRoutes(_)) => {
            // The scope key is the host without its port, lowercased (docs/decisions.md#d45).
            let key = request.host_without_port();
            let scope = resources.scoped_routes.iter().find(|scope| {
                scope.key.as_ref().is_some_and(|k| {
                    matches!(
                        k.fragments.as_slice(),
                        [route_v3::scoped_route_configuration::key::Fragment {
                            r#type: Some(route_v3::scoped_route_configuration::key::fragment::Type::StringKey(s)),
                        }] if *s == key
                    )
                })
            });
            let Some(scope) = scope else {
                trace.stop = Some(Missing::Scope);
                return;
            };
            trace.scope = Some(scope.name.clone());
            scope.route_configuration_name.clone()
        }
        Some(RouteSpecifier::RouteConfig(config)) => config.name.clone(),
        None => String::new(),
    };
    let Some(config) = resources.routes.iter().find(|r| r.name == name) else {
        trace.stop = Some(Missing::RouteConfiguration(name));
        return;
    };
    trace.route_configuration = Some(config.name.clone());
    let Some(vhost) = virtual_host(&config.virtual_hosts, &request.authority()) else {
        trace.stop = Some(Missing::VirtualHost);
        return;
    };
    trace.virtual_host = Some((vhost.name.clone(), vhost.domains.clone()));
    let Some((index, route)) = vhost
        .routes
        .iter()
        .enumerate()
        .find(|(_, route)| route_matches(route, &request.path))
    else {
        trace.stop = Some(Missing::Route);
        return;
    };
    let prefix = match route.r#match.as_ref().and_then(|m| m.path_specifier.as_ref()) {
        Some(route_v3::route_match::PathSpecifier::Prefix(p) | route_v3::route_match::PathSpecifier::Path(p)) => {
            p.clone()
        }
        _ => String::new(),
    };
    let action = match &route.action {
        Some(route_v3::route::Action::Route(action)) => {
            use route_v3::route_action::ClusterSpecifier;
            let upstreams: Vec<(String, u32)> = match &action.cluster_specifier {
                Some(ClusterSpecifier::Cluster(name)) => vec![(name.clone(), 1)],
                Some(ClusterSpecifier::WeightedClusters(weighted)) => weighted
                    .clusters
                    .iter()
                    .map(|c| (c.name.clone(), c.weight.map_or(0, |w| w.value)))
                    .collect(),
                _ => Vec::new(),
            };
            trace.upstreams = upstreams
                .into_iter()
                .map(|(name, weight)| upstream(resources, name, weight))
                .collect();
            Action::Route(Box::new(action.clone()))
        }
        Some(route_v3::route::Action::Redirect(redirect)) => Action::Redirect(redirect.clone()),
        Some(route_v3::route::Action::DirectResponse(direct)) => Action::Direct(direct.status),
        // The translation makes route and redirect actions only; for any other (a
        // filter action, none at all) Envoy finds no route to forward to: 404.
        _ => Action::Direct(404),
    };
    trace.route = Some((index, prefix, action));
}

/// Envoy's virtual host selection: an exact domain first (case-insensitive), then the
/// longest suffix wildcard (`*.example.com`), then the longest prefix wildcard
/// (`example.com:*`), then `*`.
fn virtual_host<'r>(hosts: &'r [route_v3::VirtualHost], authority: &str) -> Option<&'r route_v3::VirtualHost> {
    let authority = authority.to_ascii_lowercase();
    let mut best: Option<((u8, usize), &route_v3::VirtualHost)> = None;
    for host in hosts {
        for domain in &host.domains {
            let domain = domain.to_ascii_lowercase();
            let rank = if domain == authority {
                Some((3, usize::MAX))
            } else if domain == "*" {
                Some((0, 0))
            } else if let Some(suffix) = domain.strip_prefix('*') {
                (authority.len() > suffix.len() && authority.ends_with(suffix)).then_some((2, suffix.len()))
            } else if let Some(prefix) = domain.strip_suffix('*') {
                (authority.len() > prefix.len() && authority.starts_with(prefix)).then_some((1, prefix.len()))
            } else {
                None
            };
            if let Some(rank) = rank
                && best.is_none_or(|(b, _)| rank > b)
            {
                best = Some((rank, host));
            }
        }
    }
    best.map(|(_, host)| host)
}

fn route_matches(route: &route_v3::Route, path: &str) -> bool {
    let Some(m) = &route.r#match else { return false };
    // Routes with header or query conditions are never produced by the translation;
    // a route that has them is not assumed to match.
    if !m.headers.is_empty() || !m.query_parameters.is_empty() {
        return false;
    }
    let fold = |s: &str| {
        if m.case_sensitive.is_none_or(|c| c.value) {
            s.to_owned()
        } else {
            s.to_ascii_lowercase()
        }
    };
    let path = fold(path);
    match &m.path_specifier {
        Some(route_v3::route_match::PathSpecifier::Prefix(p)) => path.starts_with(&fold(p)),
        Some(route_v3::route_match::PathSpecifier::Path(p)) => path == fold(p),
        _ => false,
    }
}

fn upstream(resources: &Resources, cluster: String, weight: u32) -> Upstream {
    let found = resources
        .clusters
        .binary_search_by(|c| c.name.as_str().cmp(&cluster))
        .ok()
        .and_then(|i| resources.clusters.get(i));
    let Some(found) = found else {
        return Upstream {
            cluster,
            weight,
            settings: None,
            eds_name: None,
            endpoints: Vec::new(),
        };
    };
    let settings = cluster_settings(found);
    let (eds_name, assignment) = match &found.eds_cluster_config {
        Some(eds) => {
            let name = if eds.service_name.is_empty() {
                found.name.clone()
            } else {
                eds.service_name.clone()
            };
            let assignment = resources.endpoints.iter().find(|a| a.cluster_name == name);
            (Some(name), assignment)
        }
        None => (None, found.load_assignment.as_ref()),
    };
    Upstream {
        cluster,
        weight,
        settings: Some(settings),
        eds_name,
        endpoints: assignment.map(endpoint_addresses).unwrap_or_default(),
    }
}

fn endpoint_addresses(assignment: &endpoint_v3::ClusterLoadAssignment) -> Vec<String> {
    assignment
        .endpoints
        .iter()
        .flat_map(|locality| &locality.lb_endpoints)
        .filter_map(|lb| match &lb.host_identifier {
            Some(endpoint_v3::lb_endpoint::HostIdentifier::Endpoint(endpoint)) => {
                endpoint.address.as_ref().and_then(socket_address)
            }
            _ => None,
        })
        .collect()
}

fn cluster_settings(cluster: &cluster_v3::Cluster) -> ClusterSettings {
    use cluster_v3::cluster::{ClusterDiscoveryType, DiscoveryType, LbPolicy};
    let discovery = match &cluster.cluster_discovery_type {
        Some(ClusterDiscoveryType::Type(t)) => DiscoveryType::try_from(*t)
            .map(|t| t.as_str_name().to_owned())
            .unwrap_or_else(|_| t.to_string()),
        Some(ClusterDiscoveryType::ClusterType(custom)) => custom.name.clone(),
        None => "STATIC".to_owned(),
    };
    let lb_policy = LbPolicy::try_from(cluster.lb_policy)
        .map(|p| p.as_str_name().to_owned())
        .unwrap_or_else(|_| cluster.lb_policy.to_string());
    let health_check = cluster.health_checks.first().and_then(|check| {
        use core_v3::health_check::HealthChecker;
        let Some(HealthChecker::HttpHealthCheck(http)) = &check.health_checker else {
            return None;
        };
        Some(HealthCheck {
            path: http.path.clone(),
            host: (!http.host.is_empty()).then(|| http.host.clone()),
            interval_seconds: check.interval.as_ref().map_or(0, |d| d.seconds),
            timeout_seconds: check.timeout.as_ref().map_or(0, |d| d.seconds),
            unhealthy_threshold: check.unhealthy_threshold.map_or(0, |v| v.value),
            healthy_threshold: check.healthy_threshold.map_or(0, |v| v.value),
        })
    });
    let tls = cluster
        .transport_socket
        .as_ref()
        .and_then(|socket| match &socket.config_type {
            Some(core_v3::transport_socket::ConfigType::TypedConfig(any)) => decode::<tls_v3::UpstreamTlsContext>(any),
            None => None,
        });
    let tls = tls.map(|context| {
        let validation = context.common_tls_context.as_ref().and_then(|c| {
            use tls_v3::common_tls_context::ValidationContextType;
            match &c.validation_context_type {
                Some(ValidationContextType::ValidationContext(v)) => Some(v.clone()),
                _ => None,
            }
        });
        let subject_names = validation
            .as_ref()
            .map(|v| {
                v.match_typed_subject_alt_names
                    .iter()
                    .filter_map(|m| m.matcher.as_ref())
                    .filter_map(string_matcher)
                    .collect()
            })
            .unwrap_or_default();
        UpstreamTls {
            sni: (!context.sni.is_empty()).then(|| context.sni.clone()),
            validated: validation.is_some(),
            subject_names,
        }
    });
    // HTTP/2 upstreams are set with explicit HTTP/2 in the upstream protocol options.
    let protocol = if cluster.typed_extension_protocol_options.values().any(|options| {
        decode::<upstream_http_v3::HttpProtocolOptions>(options).is_some_and(|o| {
            matches!(
                o.upstream_protocol_options,
                Some(upstream_http_v3::http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(
                    upstream_http_v3::http_protocol_options::ExplicitHttpConfig {
                        protocol_config: Some(
                            upstream_http_v3::http_protocol_options::explicit_http_config::ProtocolConfig::Http2ProtocolOptions(_)
                        ),
                    }
                ))
            )
        })
    }) {
        "h2"
    } else {
        "http/1.1"
    };
    ClusterSettings {
        discovery,
        lb_policy,
        health_check,
        tls,
        protocol,
    }
}

fn string_matcher(
    m: &ingressroute_envoy::envoy_types::pb::envoy::r#type::matcher::v3::StringMatcher,
) -> Option<String> {
    use ingressroute_envoy::envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
    match &m.match_pattern {
        Some(MatchPattern::Exact(s)) => Some(s.clone()),
        Some(MatchPattern::Prefix(s)) => Some(format!("{s}*")),
        Some(MatchPattern::Suffix(s)) => Some(format!("*{s}")),
        _ => None,
    }
}
