//! The result of a translation: every Envoy resource, sorted, and the check that they
//! refer to each other consistently.
//!
//! Why one file of this length: the consistency check reads the references of every kind
//! in one place, so that a new reference cannot be added to one kind's reader and not to
//! the check; most of its tests are in `tests/`.

use std::collections::BTreeSet;
use std::fmt;

use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use envoy_types::pb::envoy::config::listener::v3 as listener_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm_v3;
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3 as tcp_proxy_v3;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};

/// The kinds of Envoy resources a translation produces, one per xDS resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ResourceKind {
    /// LDS: `envoy.config.listener.v3.Listener`.
    Listener,
    /// SRDS: `envoy.config.route.v3.ScopedRouteConfiguration`.
    ScopedRouteConfiguration,
    /// RDS: `envoy.config.route.v3.RouteConfiguration`.
    RouteConfiguration,
    /// CDS: `envoy.config.cluster.v3.Cluster`.
    Cluster,
    /// EDS: `envoy.config.endpoint.v3.ClusterLoadAssignment`.
    ClusterLoadAssignment,
    /// SDS: `envoy.extensions.transport_sockets.tls.v3.Secret`.
    Secret,
}

impl ResourceKind {
    /// Every kind, in the order Envoy should receive them on ADS: clusters before the
    /// endpoints they read, listeners before the scopes and route configurations they
    /// name, scopes before their route configurations.
    pub const ALL: [ResourceKind; 6] = [
        ResourceKind::Cluster,
        ResourceKind::ClusterLoadAssignment,
        ResourceKind::Secret,
        ResourceKind::Listener,
        ResourceKind::ScopedRouteConfiguration,
        ResourceKind::RouteConfiguration,
    ];

    /// The xDS type URL of this kind (`type.googleapis.com/...`).
    #[must_use]
    pub fn type_url(self) -> String {
        match self {
            Self::Listener => listener_v3::Listener::type_url(),
            Self::ScopedRouteConfiguration => route_v3::ScopedRouteConfiguration::type_url(),
            Self::RouteConfiguration => route_v3::RouteConfiguration::type_url(),
            Self::Cluster => cluster_v3::Cluster::type_url(),
            Self::ClusterLoadAssignment => endpoint_v3::ClusterLoadAssignment::type_url(),
            Self::Secret => tls_v3::Secret::type_url(),
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Listener => "listener",
            Self::ScopedRouteConfiguration => "scoped route configuration",
            Self::RouteConfiguration => "route configuration",
            Self::Cluster => "cluster",
            Self::ClusterLoadAssignment => "cluster load assignment",
            Self::Secret => "secret",
        })
    }
}

/// One complete, consistent set of Envoy resources: what [`translate`](crate::translate)
/// produces and what an xDS server serves as one snapshot.
///
/// Each list is sorted by name, without duplicates, and every name one resource uses
/// exists (see [`Resources::check_consistency`]). Encoding the same `Resources` always
/// gives the same bytes.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Resources {
    /// LDS: `ingress_http` and `ingress_https`, when they have something to serve.
    pub listeners: Vec<listener_v3::Listener>,
    /// SRDS: one scope per route bucket of `ingress_http` that has a virtual host (none
    /// with [`HttpRoutes::Single`](crate::HttpRoutes::Single)).
    pub scoped_routes: Vec<route_v3::ScopedRouteConfiguration>,
    /// RDS: `ingress_http/<bucket>` per route bucket with a virtual host (or `ingress_http`,
    /// always, with [`HttpRoutes::Single`](crate::HttpRoutes::Single)) and `https/<fqdn>`
    /// per TLS virtual host serving HTTP.
    pub routes: Vec<route_v3::RouteConfiguration>,
    /// CDS: every upstream a route or TCP proxy uses.
    pub clusters: Vec<cluster_v3::Cluster>,
    /// EDS: one per EDS service name the clusters read, empty when it has no endpoint.
    pub endpoints: Vec<endpoint_v3::ClusterLoadAssignment>,
    /// SDS: the certificate of every TLS virtual host that terminates TLS.
    pub secrets: Vec<tls_v3::Secret>,
}

/// Why a set of resources is not consistent: a name is used but not defined, defined
/// twice, or out of order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Inconsistency {
    /// Two resources of one kind have the same name.
    #[error("{kind} {name:?} is defined twice")]
    Duplicate {
        /// The kind of resource.
        kind: ResourceKind,
        /// The duplicated name.
        name: String,
    },
    /// Resources of one kind are not sorted by name.
    #[error("{kind} {name:?} is out of order")]
    Unsorted {
        /// The kind of resource.
        kind: ResourceKind,
        /// The first name that comes before its predecessor.
        name: String,
    },
    /// A resource refers to one that does not exist.
    #[error("{referrer_kind} {referrer:?} refers to the missing {kind} {name:?}")]
    Missing {
        /// The kind of the referring resource.
        referrer_kind: ResourceKind,
        /// Its name.
        referrer: String,
        /// The kind of the missing resource.
        kind: ResourceKind,
        /// The missing name.
        name: String,
    },
    /// A resource nothing refers to, so Envoy would never ask for it: a
    /// ClusterLoadAssignment that no cluster reads, a scope without a listener that takes
    /// scopes.
    #[error("nothing refers to the {kind} {name:?}")]
    Unreferenced {
        /// The kind of resource.
        kind: ResourceKind,
        /// Its name.
        name: String,
    },
    /// A typed config inside a resource does not decode as its type URL says.
    #[error("{kind} {name:?} holds a malformed {type_url}")]
    Malformed {
        /// The kind of the resource holding it.
        kind: ResourceKind,
        /// Its name.
        name: String,
        /// The type URL of the typed config.
        type_url: String,
        /// What failed.
        #[source]
        source: prost::DecodeError,
    },
}

/// A name one resource uses: the resource of that kind and name must exist for Envoy to
/// use the one that names it (see [`Resources::references`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct Reference {
    /// The kind of the resource named.
    pub kind: ResourceKind,
    /// Its name (shared: the resources that name it and the one named share one copy).
    pub name: std::sync::Arc<str>,
}

impl Reference {
    /// The resource `name` of `kind`.
    #[must_use]
    pub fn new(kind: ResourceKind, name: impl Into<std::sync::Arc<str>>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

/// One resource as an xDS response carries it: its kind, name, the encoded
/// `google.protobuf.Any`, and the names it uses (which must exist beside it).
///
/// An incremental translation hands these to an xDS server so that nothing is encoded
/// twice: the bytes are shared ([`bytes::Bytes`]) by the translation's caches and every
/// snapshot that holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncodedResource {
    /// The kind.
    pub kind: ResourceKind,
    /// The name (a cluster load assignment's `cluster_name`), shared with the references
    /// to it where the translation can.
    pub name: std::sync::Arc<str>,
    /// The encoded `google.protobuf.Any`: [`pack`] of the message.
    pub any: bytes::Bytes,
    /// The names the resource uses (shared: copies of a resource are cheap).
    pub references: std::sync::Arc<[Reference]>,
}

impl EncodedResource {
    /// A resource of `kind` named `name`, packed from `message`.
    #[must_use]
    pub fn new<M: Message + Name>(
        kind: ResourceKind,
        name: impl Into<std::sync::Arc<str>>,
        message: &M,
        references: impl Into<std::sync::Arc<[Reference]>>,
    ) -> Self {
        Self {
            kind,
            name: name.into(),
            any: pack(message),
            references: references.into(),
        }
    }

    /// A resource from bytes encoded elsewhere (`any` must be an encoded
    /// `google.protobuf.Any` of `kind`'s type).
    #[must_use]
    pub fn from_any(
        kind: ResourceKind,
        name: impl Into<std::sync::Arc<str>>,
        any: bytes::Bytes,
        references: impl Into<std::sync::Arc<[Reference]>>,
    ) -> Self {
        Self {
            kind,
            name: name.into(),
            any,
            references: references.into(),
        }
    }
}

/// The encoded `google.protobuf.Any { type_url: 1, value: 2 }` of `message`: the same bytes
/// as encoding `Any { type_url, value: message.encode_to_vec() }`, in one pass.
#[must_use]
pub fn pack<M: Message + Name>(message: &M) -> bytes::Bytes {
    use prost::encoding::{self, WireType};
    let type_url = M::type_url();
    let len = message.encoded_len();
    // Two one-byte keys and two varints of at most ten bytes.
    let mut buf = Vec::with_capacity(type_url.len() + len + 22);
    encoding::encode_key(1, WireType::LengthDelimited, &mut buf);
    encoding::encode_varint(u64::try_from(type_url.len()).unwrap_or(u64::MAX), &mut buf);
    buf.extend_from_slice(type_url.as_bytes());
    if len > 0 {
        encoding::encode_key(2, WireType::LengthDelimited, &mut buf);
        encoding::encode_varint(u64::try_from(len).unwrap_or(u64::MAX), &mut buf);
        message.encode_raw(&mut buf);
    }
    bytes::Bytes::from(buf)
}

/// What the listeners refer to.
#[derive(Debug, Default)]
struct References {
    route_configs: Vec<(String, String)>,
    /// Listeners whose HTTP connection manager takes its scopes over Scoped RDS.
    scoped: Vec<String>,
    clusters: Vec<(ResourceKind, String, String)>,
    secrets: Vec<(ResourceKind, String, String)>,
}

fn decode<M: Message + Name + Default>(any: &Any, kind: ResourceKind, name: &str) -> Result<Option<M>, Inconsistency> {
    if any.type_url != M::type_url() {
        return Ok(None);
    }
    M::decode(any.value.as_slice())
        .map(Some)
        .map_err(|source| Inconsistency::Malformed {
            kind,
            name: name.to_owned(),
            type_url: any.type_url.clone(),
            source,
        })
}

fn check_names<'a>(
    kind: ResourceKind,
    names: impl Iterator<Item = &'a str>,
) -> Result<BTreeSet<&'a str>, Inconsistency> {
    let mut seen = BTreeSet::new();
    let mut previous: Option<&str> = None;
    for name in names {
        if previous == Some(name) || seen.contains(name) {
            return Err(Inconsistency::Duplicate {
                kind,
                name: name.to_owned(),
            });
        }
        if previous.is_some_and(|p| p > name) {
            return Err(Inconsistency::Unsorted {
                kind,
                name: name.to_owned(),
            });
        }
        seen.insert(name);
        previous = Some(name);
    }
    Ok(seen)
}

fn route_config_clusters(config: &route_v3::RouteConfiguration, refs: &mut References) {
    use route_v3::route_action::ClusterSpecifier;
    for vhost in &config.virtual_hosts {
        for route in &vhost.routes {
            let Some(route_v3::route::Action::Route(action)) = &route.action else {
                continue;
            };
            let mut add = |name: &str| {
                refs.clusters
                    .push((ResourceKind::RouteConfiguration, config.name.clone(), name.to_owned()));
            };
            match &action.cluster_specifier {
                Some(ClusterSpecifier::Cluster(name)) => add(name),
                Some(ClusterSpecifier::WeightedClusters(weighted)) => {
                    for c in &weighted.clusters {
                        add(&c.name);
                    }
                }
                _ => {}
            }
        }
    }
}

fn sds_names(context: Option<&tls_v3::CommonTlsContext>) -> Vec<String> {
    let Some(context) = context else { return Vec::new() };
    let mut names: Vec<String> = context
        .tls_certificate_sds_secret_configs
        .iter()
        .map(|s| s.name.clone())
        .collect();
    if let Some(tls_v3::common_tls_context::ValidationContextType::ValidationContextSdsSecretConfig(sds)) =
        &context.validation_context_type
    {
        names.push(sds.name.clone());
    }
    names
}

fn listener_references(listener: &listener_v3::Listener, refs: &mut References) -> Result<(), Inconsistency> {
    let kind = ResourceKind::Listener;
    let name = listener.name.as_str();
    for chain in listener
        .filter_chains
        .iter()
        .chain(listener.default_filter_chain.as_ref())
    {
        if let Some(core_v3::transport_socket::ConfigType::TypedConfig(any)) =
            chain.transport_socket.as_ref().and_then(|t| t.config_type.as_ref())
            && let Some(tls) = decode::<tls_v3::DownstreamTlsContext>(any, kind, name)?
        {
            for secret in sds_names(tls.common_tls_context.as_ref()) {
                refs.secrets.push((kind, name.to_owned(), secret));
            }
        }
        for filter in &chain.filters {
            let Some(listener_v3::filter::ConfigType::TypedConfig(any)) = &filter.config_type else {
                continue;
            };
            if let Some(hcm) = decode::<hcm_v3::HttpConnectionManager>(any, kind, name)? {
                match hcm.route_specifier {
                    Some(hcm_v3::http_connection_manager::RouteSpecifier::Rds(rds)) => {
                        refs.route_configs.push((name.to_owned(), rds.route_config_name));
                    }
                    Some(hcm_v3::http_connection_manager::RouteSpecifier::RouteConfig(config)) => {
                        route_config_clusters(&config, refs);
                    }
                    Some(hcm_v3::http_connection_manager::RouteSpecifier::ScopedRoutes(_)) => {
                        refs.scoped.push(name.to_owned());
                    }
                    None => {}
                }
            } else if let Some(proxy) = decode::<tcp_proxy_v3::TcpProxy>(any, kind, name)? {
                match proxy.cluster_specifier {
                    Some(tcp_proxy_v3::tcp_proxy::ClusterSpecifier::Cluster(cluster)) => {
                        refs.clusters.push((kind, name.to_owned(), cluster));
                    }
                    Some(tcp_proxy_v3::tcp_proxy::ClusterSpecifier::WeightedClusters(weighted)) => {
                        for c in weighted.clusters {
                            refs.clusters.push((kind, name.to_owned(), c.name));
                        }
                    }
                    None => {}
                }
            }
        }
    }
    Ok(())
}

/// The ClusterLoadAssignment an EDS cluster reads: its EDS service name, or its own name.
pub(crate) fn eds_service_name(cluster: &cluster_v3::Cluster) -> Option<&str> {
    let is_eds = matches!(
        cluster.cluster_discovery_type,
        Some(cluster_v3::cluster::ClusterDiscoveryType::Type(t))
            if t == i32::from(cluster_v3::cluster::DiscoveryType::Eds)
    );
    is_eds.then(|| {
        cluster
            .eds_cluster_config
            .as_ref()
            .map(|e| e.service_name.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or(cluster.name.as_str())
    })
}

/// Every name in `refs`, as references: route configurations, clusters, then secrets.
fn flatten(refs: References) -> Vec<Reference> {
    let routes = refs
        .route_configs
        .into_iter()
        .map(|(_, name)| Reference::new(ResourceKind::RouteConfiguration, name));
    let clusters = refs
        .clusters
        .into_iter()
        .map(|(_, _, name)| Reference::new(ResourceKind::Cluster, name));
    let secrets = refs
        .secrets
        .into_iter()
        .map(|(_, _, name)| Reference::new(ResourceKind::Secret, name));
    routes.chain(clusters).chain(secrets).collect()
}

/// The names a listener uses (see [`Resources::references`]).
pub(crate) fn listener_refs(listener: &listener_v3::Listener) -> Result<Vec<Reference>, Inconsistency> {
    let mut refs = References::default();
    listener_references(listener, &mut refs)?;
    Ok(flatten(refs))
}

/// The route configuration a scope names.
pub(crate) fn scope_refs(scope: &route_v3::ScopedRouteConfiguration) -> Vec<Reference> {
    vec![Reference::new(
        ResourceKind::RouteConfiguration,
        scope.route_configuration_name.clone(),
    )]
}

/// The clusters a route configuration's routes name, in route order, repeats included.
pub(crate) fn route_config_refs(config: &route_v3::RouteConfiguration) -> Vec<Reference> {
    let mut refs = References::default();
    route_config_clusters(config, &mut refs);
    flatten(refs)
}

/// The secrets and the ClusterLoadAssignment a cluster uses.
pub(crate) fn cluster_refs(cluster: &cluster_v3::Cluster) -> Result<Vec<Reference>, Inconsistency> {
    let mut refs = Vec::new();
    if let Some(core_v3::transport_socket::ConfigType::TypedConfig(any)) =
        cluster.transport_socket.as_ref().and_then(|t| t.config_type.as_ref())
        && let Some(tls) = decode::<tls_v3::UpstreamTlsContext>(any, ResourceKind::Cluster, &cluster.name)?
    {
        for secret in sds_names(tls.common_tls_context.as_ref()) {
            refs.push(Reference::new(ResourceKind::Secret, secret));
        }
    }
    if let Some(service_name) = eds_service_name(cluster) {
        refs.push(Reference::new(ResourceKind::ClusterLoadAssignment, service_name));
    }
    Ok(refs)
}

impl Resources {
    /// Checks what go-control-plane's `Snapshot.Consistent()` checks, and a little more:
    ///
    /// * names are unique and sorted within each kind;
    /// * every route configuration a listener's HTTP connection manager names over RDS,
    ///   or a scope names, exists; a listener takes its scopes over Scoped RDS only when
    ///   there is a scope, and a scope exists only for such a listener;
    /// * every cluster a route or TCP proxy names exists;
    /// * every EDS service name of a cluster has a ClusterLoadAssignment, and every
    ///   ClusterLoadAssignment is read by some cluster;
    /// * every SDS secret a TLS context names exists.
    ///
    /// Envoy waits (and stalls warming) for a resource that is named but never sent, so an
    /// xDS server should refuse to serve a set that fails this check.
    ///
    /// # Errors
    ///
    /// Returns the first [`Inconsistency`] found.
    pub fn check_consistency(&self) -> Result<(), Inconsistency> {
        check_names(ResourceKind::Listener, self.listeners.iter().map(|l| l.name.as_str()))?;
        check_names(
            ResourceKind::ScopedRouteConfiguration,
            self.scoped_routes.iter().map(|s| s.name.as_str()),
        )?;
        let route_configs = check_names(
            ResourceKind::RouteConfiguration,
            self.routes.iter().map(|r| r.name.as_str()),
        )?;
        let clusters = check_names(ResourceKind::Cluster, self.clusters.iter().map(|c| c.name.as_str()))?;
        let endpoints = check_names(
            ResourceKind::ClusterLoadAssignment,
            self.endpoints.iter().map(|e| e.cluster_name.as_str()),
        )?;
        let secrets = check_names(ResourceKind::Secret, self.secrets.iter().map(|s| s.name.as_str()))?;

        let mut refs = References::default();
        for listener in &self.listeners {
            listener_references(listener, &mut refs)?;
        }
        for config in &self.routes {
            route_config_clusters(config, &mut refs);
        }
        for cluster in &self.clusters {
            if let Some(core_v3::transport_socket::ConfigType::TypedConfig(any)) =
                cluster.transport_socket.as_ref().and_then(|t| t.config_type.as_ref())
                && let Some(tls) = decode::<tls_v3::UpstreamTlsContext>(any, ResourceKind::Cluster, &cluster.name)?
            {
                for secret in sds_names(tls.common_tls_context.as_ref()) {
                    refs.secrets.push((ResourceKind::Cluster, cluster.name.clone(), secret));
                }
            }
        }

        for (listener, name) in &refs.route_configs {
            if !route_configs.contains(name.as_str()) {
                return Err(Inconsistency::Missing {
                    referrer_kind: ResourceKind::Listener,
                    referrer: listener.clone(),
                    kind: ResourceKind::RouteConfiguration,
                    name: name.clone(),
                });
            }
        }
        match (refs.scoped.first(), self.scoped_routes.first()) {
            (Some(listener), None) => {
                return Err(Inconsistency::Missing {
                    referrer_kind: ResourceKind::Listener,
                    referrer: listener.clone(),
                    kind: ResourceKind::ScopedRouteConfiguration,
                    name: "*".to_owned(),
                });
            }
            (None, Some(scope)) => {
                return Err(Inconsistency::Unreferenced {
                    kind: ResourceKind::ScopedRouteConfiguration,
                    name: scope.name.clone(),
                });
            }
            _ => {}
        }
        for scope in &self.scoped_routes {
            if !route_configs.contains(scope.route_configuration_name.as_str()) {
                return Err(Inconsistency::Missing {
                    referrer_kind: ResourceKind::ScopedRouteConfiguration,
                    referrer: scope.name.clone(),
                    kind: ResourceKind::RouteConfiguration,
                    name: scope.route_configuration_name.clone(),
                });
            }
        }
        for (referrer_kind, referrer, name) in &refs.clusters {
            if !clusters.contains(name.as_str()) {
                return Err(Inconsistency::Missing {
                    referrer_kind: *referrer_kind,
                    referrer: referrer.clone(),
                    kind: ResourceKind::Cluster,
                    name: name.clone(),
                });
            }
        }
        for (referrer_kind, referrer, name) in &refs.secrets {
            if !secrets.contains(name.as_str()) {
                return Err(Inconsistency::Missing {
                    referrer_kind: *referrer_kind,
                    referrer: referrer.clone(),
                    kind: ResourceKind::Secret,
                    name: name.clone(),
                });
            }
        }

        let mut read = BTreeSet::new();
        for cluster in &self.clusters {
            let Some(service_name) = eds_service_name(cluster) else {
                continue;
            };
            if !endpoints.contains(service_name) {
                return Err(Inconsistency::Missing {
                    referrer_kind: ResourceKind::Cluster,
                    referrer: cluster.name.clone(),
                    kind: ResourceKind::ClusterLoadAssignment,
                    name: service_name.to_owned(),
                });
            }
            read.insert(service_name);
        }
        if let Some(unread) = endpoints.difference(&read).next() {
            return Err(Inconsistency::Unreferenced {
                kind: ResourceKind::ClusterLoadAssignment,
                name: (*unread).to_owned(),
            });
        }
        Ok(())
    }

    /// The names each resource of `kind` uses, in order, as `(name, references)`: the
    /// route configurations a listener names over RDS, the clusters of routes and TCP
    /// proxies, the SDS secrets of TLS contexts, and the ClusterLoadAssignment an EDS
    /// cluster reads. What [`check_consistency`](Resources::check_consistency) checks,
    /// one resource at a time, for whoever checks a set it keeps in another form (an xDS
    /// server's snapshot updated a few resources at a time).
    ///
    /// # Errors
    ///
    /// [`Inconsistency::Malformed`] when a typed config inside a resource does not decode.
    pub fn references(&self, kind: ResourceKind) -> Result<Vec<(&str, Vec<Reference>)>, Inconsistency> {
        match kind {
            ResourceKind::Listener => self
                .listeners
                .iter()
                .map(|listener| Ok((listener.name.as_str(), listener_refs(listener)?)))
                .collect(),
            ResourceKind::ScopedRouteConfiguration => Ok(self
                .scoped_routes
                .iter()
                .map(|scope| (scope.name.as_str(), scope_refs(scope)))
                .collect()),
            ResourceKind::RouteConfiguration => Ok(self
                .routes
                .iter()
                .map(|config| (config.name.as_str(), route_config_refs(config)))
                .collect()),
            ResourceKind::Cluster => self
                .clusters
                .iter()
                .map(|cluster| Ok((cluster.name.as_str(), cluster_refs(cluster)?)))
                .collect(),
            ResourceKind::ClusterLoadAssignment => Ok(self
                .endpoints
                .iter()
                .map(|e| (e.cluster_name.as_str(), Vec::new()))
                .collect()),
            ResourceKind::Secret => Ok(self.secrets.iter().map(|s| (s.name.as_str(), Vec::new())).collect()),
        }
    }

    /// How many resources of one kind there are.
    #[must_use]
    pub fn len(&self, kind: ResourceKind) -> usize {
        match kind {
            ResourceKind::Listener => self.listeners.len(),
            ResourceKind::ScopedRouteConfiguration => self.scoped_routes.len(),
            ResourceKind::RouteConfiguration => self.routes.len(),
            ResourceKind::Cluster => self.clusters.len(),
            ResourceKind::ClusterLoadAssignment => self.endpoints.len(),
            ResourceKind::Secret => self.secrets.len(),
        }
    }

    /// The names of the resources of one kind, in order.
    #[must_use]
    pub fn names(&self, kind: ResourceKind) -> Vec<&str> {
        match kind {
            ResourceKind::Listener => self.listeners.iter().map(|r| r.name.as_str()).collect(),
            ResourceKind::ScopedRouteConfiguration => self.scoped_routes.iter().map(|r| r.name.as_str()).collect(),
            ResourceKind::RouteConfiguration => self.routes.iter().map(|r| r.name.as_str()).collect(),
            ResourceKind::Cluster => self.clusters.iter().map(|r| r.name.as_str()).collect(),
            ResourceKind::ClusterLoadAssignment => self.endpoints.iter().map(|r| r.cluster_name.as_str()).collect(),
            ResourceKind::Secret => self.secrets.iter().map(|r| r.name.as_str()).collect(),
        }
    }

    /// The resources of one kind as `(name, Any)` pairs, in order: what an xDS response
    /// carries.
    #[must_use]
    pub fn encoded(&self, kind: ResourceKind) -> Vec<(String, Any)> {
        fn pack<M: Message + Name>(name: &str, message: &M) -> (String, Any) {
            (name.to_owned(), crate::proto::any(message))
        }
        match kind {
            ResourceKind::Listener => self.listeners.iter().map(|r| pack(&r.name, r)).collect(),
            ResourceKind::ScopedRouteConfiguration => self.scoped_routes.iter().map(|r| pack(&r.name, r)).collect(),
            ResourceKind::RouteConfiguration => self.routes.iter().map(|r| pack(&r.name, r)).collect(),
            ResourceKind::Cluster => self.clusters.iter().map(|r| pack(&r.name, r)).collect(),
            ResourceKind::ClusterLoadAssignment => self.endpoints.iter().map(|r| pack(&r.cluster_name, r)).collect(),
            ResourceKind::Secret => self.secrets.iter().map(|r| pack(&r.name, r)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_gives_the_bytes_of_an_any_holding_the_message() {
        let cluster = cluster_v3::Cluster {
            name: "default/kuard/80/da39a3ee5e".into(),
            ..Default::default()
        };
        let any = Any {
            type_url: cluster_v3::Cluster::type_url(),
            value: cluster.encode_to_vec(),
        };
        assert_eq!(pack(&cluster).as_ref(), any.encode_to_vec().as_slice());
        let empty = Any {
            type_url: cluster_v3::Cluster::type_url(),
            value: Vec::new(),
        };
        assert_eq!(
            pack(&cluster_v3::Cluster::default()).as_ref(),
            empty.encode_to_vec().as_slice()
        );
    }
}
