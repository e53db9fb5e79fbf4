//! Fixture builders and decoders shared by the translation tests.
//!
//! A [`World`] reads like the objects it describes:
//!
//! ```text
//! World::new()
//!     .root("default/basic", "foo.com")
//!     .route("/", svc("kuard", 80))
//!     .service(kube_service("default/kuard").port(80))
//!     .endpoints("default/kuard", &[("", &["10.0.0.1"], 8080)])
//!     .translate();
//! ```
//!
//! Keys are `namespace/name`; a key without `/` is in `default`. Methods that shape an
//! IngressRoute apply to the IngressRoute added last, route options to its last route.
#![allow(dead_code)]
// Test helpers panic on purpose, whichever test file includes them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

pub(crate) mod cases;
pub(crate) mod envoy;
pub(crate) mod examples;

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
use envoy_types::pb::envoy::config::listener::v3 as listener_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm_v3;
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3 as tcp_proxy_v3;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use envoy_types::pb::google::protobuf::Any;
use ingressroute_api as api;
use ingressroute_api::{IngressRoute, IngressRouteSpec};
use ingressroute_dag::{Config, Dag, ObjectRef, Objects};
use ingressroute_envoy::{Endpoints, EnvoyConfig, Resources, translate};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use prost::{Message, Name};

/// The test certificate (`*.example.com`) and its key.
pub(crate) const CERT: &str = ingressroute_fixtures::CERTIFICATE_PEM;
/// The test certificate's private key.
pub(crate) const KEY: &str = ingressroute_fixtures::PRIVATE_KEY_PEM;

// ----- references ------------------------------------------------------------------------

/// `namespace/name` as an [`ObjectRef`]; no `/` means namespace `default`.
pub(crate) fn r(key: &str) -> ObjectRef {
    match key.split_once('/') {
        Some((ns, name)) => ObjectRef::new(ns, name),
        None => ObjectRef::new("default", key),
    }
}

fn meta(key: &str) -> ObjectMeta {
    let key = r(key);
    ObjectMeta {
        namespace: Some(key.namespace),
        name: Some(key.name),
        ..Default::default()
    }
}

// ----- what routes and tcpproxies point at -------------------------------------------------

/// A service entry of a route or tcpproxy.
#[derive(Debug, Clone)]
pub(crate) struct Svc(pub(crate) api::Service);

/// The service `name` on `port`.
pub(crate) fn svc(name: &str, port: i64) -> Svc {
    Svc(api::Service {
        name: name.into(),
        port,
        ..Default::default()
    })
}

impl Svc {
    /// Sets `weight`.
    pub(crate) fn weight(mut self, weight: i64) -> Self {
        self.0.weight = Some(weight);
        self
    }

    /// Sets `strategy`.
    pub(crate) fn strategy(mut self, strategy: &str) -> Self {
        self.0.strategy = Some(strategy.into());
        self
    }

    /// Sets `healthCheck`.
    pub(crate) fn health_check(mut self, health_check: api::HealthCheck) -> Self {
        self.0.health_check = Some(Box::new(health_check));
        self
    }

    /// Sets `validation`.
    pub(crate) fn validation(mut self, ca_secret: &str, subject_name: &str) -> Self {
        self.0.validation = Some(Box::new(api::UpstreamValidation {
            ca_secret: ca_secret.into(),
            subject_name: subject_name.into(),
        }));
        self
    }
}

/// Something a route or tcpproxy can point at.
pub(crate) trait Target {
    /// The services and the delegate.
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>);
}

impl Target for Svc {
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>) {
        (vec![self.0], None)
    }
}

impl<const N: usize> Target for [Svc; N] {
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>) {
        (self.into_iter().map(|s| s.0).collect(), None)
    }
}

impl Target for Vec<Svc> {
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>) {
        (self.into_iter().map(|s| s.0).collect(), None)
    }
}

/// A delegation to `name` in the same namespace, or to `namespace/name`.
#[derive(Debug, Clone)]
pub(crate) struct Delegate(pub(crate) api::Delegate);

/// Delegates to `target`.
pub(crate) fn delegate(target: &str) -> Delegate {
    Delegate(match target.split_once('/') {
        Some((ns, name)) => api::Delegate {
            name: name.into(),
            namespace: Some(ns.into()),
        },
        None => api::Delegate {
            name: target.into(),
            namespace: None,
        },
    })
}

impl Target for Delegate {
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>) {
        (Vec::new(), Some(self.0))
    }
}

// ----- Kubernetes objects ------------------------------------------------------------------

/// A Kubernetes Service under construction.
#[derive(Debug, Clone)]
pub(crate) struct KubeService(pub(crate) core_v1::Service);

/// A `ClusterIP` Service without ports.
pub(crate) fn kube_service(key: &str) -> KubeService {
    KubeService(core_v1::Service {
        metadata: meta(key),
        spec: Some(core_v1::ServiceSpec {
            ports: Some(Vec::new()),
            ..Default::default()
        }),
        status: None,
    })
}

impl KubeService {
    fn spec(&mut self) -> &mut core_v1::ServiceSpec {
        self.0.spec.get_or_insert_with(Default::default)
    }

    /// Adds an unnamed port.
    pub(crate) fn port(mut self, port: i32) -> Self {
        self.spec()
            .ports
            .get_or_insert_with(Vec::new)
            .push(core_v1::ServicePort {
                port,
                ..Default::default()
            });
        self
    }

    /// Adds a named port.
    pub(crate) fn named_port(mut self, name: &str, port: i32) -> Self {
        self.spec()
            .ports
            .get_or_insert_with(Vec::new)
            .push(core_v1::ServicePort {
                name: Some(name.into()),
                port,
                ..Default::default()
            });
        self
    }

    /// Adds an annotation.
    pub(crate) fn annotate(mut self, key: &str, value: &str) -> Self {
        self.0
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Makes it an `ExternalName` Service.
    pub(crate) fn external_name(mut self, host: &str) -> Self {
        let spec = self.spec();
        spec.type_ = Some("ExternalName".into());
        spec.external_name = Some(host.into());
        self
    }
}

/// A Secret of type `type_` with `data`.
pub(crate) fn secret(key: &str, type_: &str, data: &[(&str, &str)]) -> core_v1::Secret {
    core_v1::Secret {
        metadata: meta(key),
        type_: Some(type_.to_owned()).filter(|t| !t.is_empty()),
        data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

/// Kubernetes `Endpoints` for `key`: per subset, (port name, ready IPs, port).
pub(crate) fn kube_endpoints(key: &str, subsets: &[(&str, &[&str], i32)]) -> core_v1::Endpoints {
    core_v1::Endpoints {
        metadata: meta(key),
        subsets: Some(
            subsets
                .iter()
                .map(|(name, ips, port)| core_v1::EndpointSubset {
                    addresses: Some(
                        ips.iter()
                            .map(|ip| core_v1::EndpointAddress {
                                ip: (*ip).into(),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    ports: Some(vec![core_v1::EndpointPort {
                        name: Some((*name).to_owned()).filter(|n| !n.is_empty()),
                        port: *port,
                        ..Default::default()
                    }]),
                    ..Default::default()
                })
                .collect(),
        ),
    }
}

// ----- the world ------------------------------------------------------------------------------

/// One input object.
// A fixture holds a few dozen of them: boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// An IngressRoute.
    IngressRoute(IngressRoute),
    /// A Service.
    Service(core_v1::Service),
    /// A Secret.
    Secret(core_v1::Secret),
    /// An Endpoints.
    Endpoints(core_v1::Endpoints),
    /// A TLSCertificateDelegation.
    Delegation(api::TLSCertificateDelegation),
}

/// Objects, endpoints and configs, built up like prose.
#[derive(Debug, Clone, Default)]
pub(crate) struct World {
    items: Vec<Item>,
    current: Option<usize>,
    /// The DAG config.
    pub(crate) dag_config: Config,
    /// The Envoy config.
    pub(crate) config: EnvoyConfig,
}

impl World {
    /// Nothing, default configs.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds a root IngressRoute `key` for `fqdn`.
    pub(crate) fn root(self, key: &str, fqdn: &str) -> Self {
        self.ingress_route(key, Some(fqdn))
    }

    /// Adds a child IngressRoute `key`.
    pub(crate) fn child(self, key: &str) -> Self {
        self.ingress_route(key, None)
    }

    fn ingress_route(mut self, key: &str, fqdn: Option<&str>) -> Self {
        let spec = IngressRouteSpec {
            virtualhost: fqdn.map(|fqdn| api::VirtualHost {
                fqdn: fqdn.into(),
                tls: None,
            }),
            ..Default::default()
        };
        let mut ir = IngressRoute::new("", spec);
        ir.metadata = meta(key);
        self.items.push(Item::IngressRoute(ir));
        self.current = Some(self.items.len() - 1);
        self
    }

    fn current_mut(&mut self) -> &mut IngressRoute {
        let index = self.current.expect("add an IngressRoute first");
        match &mut self.items[index] {
            Item::IngressRoute(ir) => ir,
            _ => panic!("the current item is not an IngressRoute"),
        }
    }

    fn last_route(&mut self) -> &mut api::Route {
        self.current_mut().spec.routes.last_mut().expect("add a route first")
    }

    fn vhost_mut(&mut self) -> &mut api::VirtualHost {
        self.current_mut().spec.virtualhost.as_mut().expect("a root")
    }

    /// Adds a route for `prefix`.
    pub(crate) fn route(mut self, prefix: &str, target: impl Target) -> Self {
        let (services, delegate) = target.into_parts();
        self.current_mut().spec.routes.push(api::Route {
            match_: prefix.into(),
            services,
            delegate: delegate.map(Box::new),
            ..Default::default()
        });
        self
    }

    /// Enables websockets on the last route.
    pub(crate) fn websockets(mut self) -> Self {
        self.last_route().enable_websockets = true;
        self
    }

    /// Sets `permitInsecure` on the last route.
    pub(crate) fn permit_insecure(mut self) -> Self {
        self.last_route().permit_insecure = true;
        self
    }

    /// Sets `prefixRewrite` on the last route.
    pub(crate) fn prefix_rewrite(mut self, rewrite: &str) -> Self {
        self.last_route().prefix_rewrite = rewrite.into();
        self
    }

    /// Sets `timeoutPolicy.request` on the last route.
    pub(crate) fn timeout(mut self, request: &str) -> Self {
        self.last_route().timeout_policy = Some(Box::new(api::TimeoutPolicy {
            request: Some(request.into()),
        }));
        self
    }

    /// Sets `retryPolicy` on the last route.
    pub(crate) fn retry(mut self, count: Option<i64>, per_try_timeout: Option<&str>) -> Self {
        self.last_route().retry_policy = Some(Box::new(api::RetryPolicy {
            count,
            per_try_timeout: per_try_timeout.map(Into::into),
        }));
        self
    }

    /// Terminates TLS with `secret_name`.
    pub(crate) fn tls(mut self, secret_name: &str) -> Self {
        self.vhost_mut().tls = Some(Box::new(api::Tls {
            secret_name: secret_name.into(),
            ..Default::default()
        }));
        self
    }

    /// Sets `minimumProtocolVersion` (after [`tls`](Self::tls)).
    pub(crate) fn minimum_protocol_version(mut self, version: &str) -> Self {
        self.vhost_mut()
            .tls
            .as_mut()
            .expect("tls first")
            .minimum_protocol_version = Some(version.into());
        self
    }

    /// TLS passthrough.
    pub(crate) fn passthrough(mut self) -> Self {
        self.vhost_mut().tls = Some(Box::new(api::Tls {
            secret_name: String::new(),
            passthrough: true,
            ..Default::default()
        }));
        self
    }

    /// Sets `tcpproxy`.
    pub(crate) fn tcpproxy(mut self, target: impl Target) -> Self {
        let (services, delegate) = target.into_parts();
        self.current_mut().spec.tcpproxy = Some(Box::new(api::TcpProxy { services, delegate }));
        self
    }

    /// Adds a Service.
    pub(crate) fn service(mut self, service: KubeService) -> Self {
        self.items.push(Item::Service(service.0));
        self
    }

    /// Adds a usable TLS Secret `key`.
    pub(crate) fn tls_secret(self, key: &str) -> Self {
        self.secret(secret(key, "kubernetes.io/tls", &[("tls.crt", CERT), ("tls.key", KEY)]))
    }

    /// Adds a CA Secret `key` (its `ca.crt` is the test certificate).
    pub(crate) fn ca_secret(self, key: &str) -> Self {
        self.secret(secret(key, "Opaque", &[("ca.crt", CERT)]))
    }

    /// Adds any Secret.
    pub(crate) fn secret(mut self, secret: core_v1::Secret) -> Self {
        self.items.push(Item::Secret(secret));
        self
    }

    /// Adds Kubernetes `Endpoints` (see [`kube_endpoints`]).
    pub(crate) fn endpoints(mut self, key: &str, subsets: &[(&str, &[&str], i32)]) -> Self {
        self.items.push(Item::Endpoints(kube_endpoints(key, subsets)));
        self
    }

    /// Adds any object.
    pub(crate) fn item(mut self, item: Item) -> Self {
        self.items.push(item);
        self
    }

    /// Edits the Envoy config.
    pub(crate) fn with_config(mut self, edit: impl FnOnce(&mut EnvoyConfig)) -> Self {
        edit(&mut self.config);
        self
    }

    /// Edits the DAG config.
    pub(crate) fn with_dag_config(mut self, edit: impl FnOnce(&mut Config)) -> Self {
        edit(&mut self.dag_config);
        self
    }

    /// The objects and endpoints, inserted in this order.
    pub(crate) fn inputs_from<'a>(items: impl IntoIterator<Item = &'a Item>) -> (Objects, Endpoints) {
        let mut objects = Objects::new();
        let mut endpoints = Endpoints::new();
        for item in items {
            match item {
                Item::IngressRoute(ir) => {
                    objects.insert_ingress_route(ir.clone());
                }
                Item::Service(s) => {
                    objects.insert_service(s);
                }
                Item::Secret(s) => {
                    let _ = objects.insert_secret(s);
                }
                Item::Endpoints(e) => {
                    endpoints.insert(e);
                }
                Item::Delegation(d) => {
                    objects.insert_delegation(d.clone());
                }
            }
        }
        (objects, endpoints)
    }

    /// The items.
    pub(crate) fn items(&self) -> &[Item] {
        &self.items
    }

    /// The DAG.
    pub(crate) fn dag(&self) -> Dag {
        let (objects, _) = Self::inputs_from(&self.items);
        ingressroute_dag::build(&objects, &self.dag_config)
    }

    /// Translates the objects inserted in the order they were added, and checks the
    /// result is consistent.
    pub(crate) fn translate(&self) -> Resources {
        self.translate_items(self.items.iter())
    }

    /// Translates the objects inserted in reverse order.
    pub(crate) fn translate_reversed(&self) -> Resources {
        self.translate_items(self.items.iter().rev())
    }

    fn translate_items<'a>(&self, items: impl IntoIterator<Item = &'a Item>) -> Resources {
        let (objects, endpoints) = Self::inputs_from(items);
        let dag = ingressroute_dag::build(&objects, &self.dag_config);
        let resources = translate(&dag, &endpoints, &self.config);
        resources.check_consistency().expect("translations are consistent");
        resources
    }
}

/// A health check of `path`.
pub(crate) fn health_check(path: &str) -> api::HealthCheck {
    api::HealthCheck {
        path: path.into(),
        ..Default::default()
    }
}

// ----- reading the resources -----------------------------------------------------------------

/// Decodes an `Any` as `M`, checking its type URL.
pub(crate) fn unpack<M: Message + Name + Default>(any: &Any) -> M {
    assert_eq!(any.type_url, M::type_url());
    M::decode(any.value.as_slice()).expect("decodes")
}

/// Finds a listener.
pub(crate) fn listener<'a>(resources: &'a Resources, name: &str) -> &'a listener_v3::Listener {
    resources
        .listeners
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no listener {name}"))
}

/// Finds a route configuration.
pub(crate) fn route_config<'a>(resources: &'a Resources, name: &str) -> &'a route_v3::RouteConfiguration {
    resources
        .routes
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no route configuration {name}"))
}

/// The plain-HTTP route configuration that holds the virtual host `fqdn` (its route
/// bucket's, or `ingress_http`).
pub(crate) fn http_route_config<'a>(resources: &'a Resources, fqdn: &str) -> &'a route_v3::RouteConfiguration {
    resources
        .routes
        .iter()
        .filter(|r| !r.name.starts_with("https/"))
        .find(|r| {
            r.virtual_hosts
                .iter()
                .any(|v| v.domains.first().map(String::as_str) == Some(fqdn))
        })
        .unwrap_or_else(|| panic!("no plain-HTTP virtual host {fqdn}"))
}

/// The routes of the plain-HTTP virtual host `fqdn`.
pub(crate) fn http_routes<'a>(resources: &'a Resources, fqdn: &str) -> &'a [route_v3::Route] {
    routes(http_route_config(resources, fqdn), fqdn)
}

/// Every plain-HTTP virtual host, whatever route configuration holds it.
pub(crate) fn http_virtual_hosts(resources: &Resources) -> Vec<&route_v3::VirtualHost> {
    resources
        .routes
        .iter()
        .filter(|r| !r.name.starts_with("https/"))
        .flat_map(|r| &r.virtual_hosts)
        .collect()
}

/// Finds a cluster.
pub(crate) fn cluster<'a>(resources: &'a Resources, name: &str) -> &'a cluster_v3::Cluster {
    resources.clusters.iter().find(|c| c.name == name).unwrap_or_else(|| {
        panic!(
            "no cluster {name}; have {:?}",
            resources.names(ingressroute_envoy::ResourceKind::Cluster)
        )
    })
}

/// The typed config of a filter.
pub(crate) fn filter_config(filter: &listener_v3::Filter) -> &Any {
    match &filter.config_type {
        Some(listener_v3::filter::ConfigType::TypedConfig(any)) => any,
        other => panic!("no typed config: {other:?}"),
    }
}

/// The HTTP connection manager of a filter chain.
pub(crate) fn hcm(chain: &listener_v3::FilterChain) -> hcm_v3::HttpConnectionManager {
    assert_eq!(chain.filters.len(), 1);
    assert_eq!(chain.filters[0].name, "envoy.filters.network.http_connection_manager");
    unpack(filter_config(&chain.filters[0]))
}

/// The TCP proxy of a filter chain.
pub(crate) fn tcp_proxy(chain: &listener_v3::FilterChain) -> tcp_proxy_v3::TcpProxy {
    assert_eq!(chain.filters.len(), 1);
    assert_eq!(chain.filters[0].name, "envoy.filters.network.tcp_proxy");
    unpack(filter_config(&chain.filters[0]))
}

/// The downstream TLS context of a filter chain, if any.
pub(crate) fn downstream_tls(chain: &listener_v3::FilterChain) -> Option<tls_v3::DownstreamTlsContext> {
    let socket = chain.transport_socket.as_ref()?;
    assert_eq!(socket.name, "envoy.transport_sockets.tls");
    match &socket.config_type {
        Some(envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType::TypedConfig(any)) => {
            Some(unpack(any))
        }
        None => panic!("a transport socket without config"),
    }
}

/// The upstream TLS context of a cluster, if any.
pub(crate) fn upstream_tls(cluster: &cluster_v3::Cluster) -> Option<tls_v3::UpstreamTlsContext> {
    let socket = cluster.transport_socket.as_ref()?;
    assert_eq!(socket.name, "envoy.transport_sockets.tls");
    match &socket.config_type {
        Some(envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType::TypedConfig(any)) => {
            Some(unpack(any))
        }
        None => panic!("a transport socket without config"),
    }
}

/// The filter chain of `ingress_https` for `fqdn`.
pub(crate) fn chain<'a>(resources: &'a Resources, fqdn: &str) -> &'a listener_v3::FilterChain {
    listener(resources, "ingress_https")
        .filter_chains
        .iter()
        .find(|c| c.filter_chain_match.as_ref().is_some_and(|m| m.server_names == [fqdn]))
        .unwrap_or_else(|| panic!("no filter chain for {fqdn}"))
}

/// The routes of the virtual host `fqdn` in a route configuration.
pub(crate) fn routes<'a>(config: &'a route_v3::RouteConfiguration, fqdn: &str) -> &'a [route_v3::Route] {
    &config
        .virtual_hosts
        .iter()
        .find(|v| v.domains.first().map(String::as_str) == Some(fqdn))
        .unwrap_or_else(|| panic!("no virtual host {fqdn}"))
        .routes
}

/// The route action of a route.
pub(crate) fn action(route: &route_v3::Route) -> &route_v3::RouteAction {
    match &route.action {
        Some(route_v3::route::Action::Route(action)) => action,
        other => panic!("not a route action: {other:?}"),
    }
}

/// The prefix a route matches.
pub(crate) fn prefix(route: &route_v3::Route) -> &str {
    match route.r#match.as_ref().and_then(|m| m.path_specifier.as_ref()) {
        Some(route_v3::route_match::PathSpecifier::Prefix(p)) => p,
        other => panic!("not a prefix match: {other:?}"),
    }
}

/// The single cluster or the weighted clusters (name, weight) of a route action.
pub(crate) fn route_clusters(action: &route_v3::RouteAction) -> Vec<(String, Option<u32>)> {
    match &action.cluster_specifier {
        Some(route_v3::route_action::ClusterSpecifier::Cluster(name)) => vec![(name.clone(), None)],
        Some(route_v3::route_action::ClusterSpecifier::WeightedClusters(w)) => w
            .clusters
            .iter()
            .map(|c| (c.name.clone(), c.weight.map(|w| w.value)))
            .collect(),
        other => panic!("no cluster: {other:?}"),
    }
}

/// Every resource encoded, for byte comparisons.
pub(crate) fn bytes(resources: &Resources) -> Vec<Vec<u8>> {
    resources
        .listeners
        .iter()
        .map(Message::encode_to_vec)
        .chain(resources.routes.iter().map(Message::encode_to_vec))
        .chain(resources.clusters.iter().map(Message::encode_to_vec))
        .chain(resources.endpoints.iter().map(Message::encode_to_vec))
        .chain(resources.secrets.iter().map(Message::encode_to_vec))
        .collect()
}
