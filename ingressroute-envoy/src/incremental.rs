//! Incremental translation: the same resources as [`translate`](crate::translate), kept
//! per virtual host, so that a change to a few virtual hosts costs their translation and
//! the resources they share (a route bucket, the `ingress_https` listener), not the
//! whole configuration.
//!
//! Why one file of this length: the per-host parts, the splicing and the reference counts
//! keep one invariant together (byte for byte what `translate` gives) and change together;
//! translating a single virtual host is shared with `translate`.
//!
//! ```text
//!  virtual host ──translate alone──▶ Host { plain VirtualHost bytes + bucket, scope,
//!                                           https route configuration, filter chain,
//!                                           secret, cluster names }
//!        │                                        │
//!        ▼ changed fqdns                          ▼ assembled from the parts
//!  Translator::update ──▶ Changes { upserts, removals } of EncodedResource
//!                          route buckets   = their hosts' VirtualHost bytes, spliced
//!                          ingress_https   = every host's FilterChain bytes, spliced
//!                          clusters, assignments, secrets = reference counted
//! ```
//!
//! Only encoded bytes are kept, never the prost messages: a translated configuration of
//! ten thousand virtual hosts is several times larger as messages than encoded, and the
//! bytes are what an xDS snapshot serves anyway (they are shared with it). A shared
//! resource is reassembled by splicing its elements' bytes into the encoding of the
//! message without them, at the position protobuf encoding puts that repeated field: the
//! result is byte for byte what encoding the whole message gives (a test checks it against
//! [`translate`](crate::translate) after every step of random edit sequences).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use envoy_types::pb::envoy::config::listener::v3 as listener_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use ingressroute_dag::{ServedVirtualHost, TlsMode};
use prost::Message;
use prost::Name;
use prost::encoding::{self, WireType};

use crate::cluster::{ClusterSet, EdsService};
use crate::config::{EnvoyConfig, HttpRoutes};
use crate::endpoints::Endpoints;
use crate::listener;
use crate::names;
use crate::resources::{
    EncodedResource, Reference, ResourceKind, cluster_refs, eds_service_name, listener_refs, route_config_refs,
    virtual_host_refs,
};
use crate::route::{self, Listener};
use crate::translate::{sds_secret, tls_chain};

/// What one update changed: the resources to add or replace, and those to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Changes {
    /// New or changed resources.
    pub upserts: Vec<EncodedResource>,
    /// Resources that no longer exist, by kind and name.
    pub removals: Vec<(ResourceKind, String)>,
}

impl Changes {
    /// Whether nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.removals.is_empty()
    }

    /// Adds the changes that came after these: a later upsert or removal of a resource
    /// replaces an earlier one.
    pub fn extend(&mut self, later: Changes) {
        for resource in later.upserts {
            let key = (resource.kind, resource.name.as_str());
            self.removals.retain(|(kind, name)| (*kind, name.as_str()) != key);
            self.upserts.retain(|r| (r.kind, r.name.as_str()) != key);
            self.upserts.push(resource);
        }
        for (kind, name) in later.removals {
            self.upserts
                .retain(|r| (r.kind, r.name.as_str()) != (kind, name.as_str()));
            self.removals.push((kind, name));
        }
    }
}

/// One virtual host's translation, encoded.
#[derive(Debug, Clone, Default)]
struct Host {
    /// Its plain-HTTP virtual host: the route configuration it goes into, its name (the
    /// order inside that configuration), its encoded `VirtualHost` and the clusters it
    /// names.
    plain: Option<Plain>,
    /// Its scope (with [`HttpRoutes::Scoped`]).
    scope: Option<EncodedResource>,
    /// Its `https/<fqdn>` route configuration.
    https_routes: Option<EncodedResource>,
    /// Its encoded `ingress_https` filter chain and what the chain names.
    chain: Option<Chain>,
    /// Its TLS certificate.
    secret: Option<EncodedResource>,
    /// The clusters its routes and TCP proxy use.
    clusters: BTreeSet<String>,
}

/// A plain-HTTP virtual host, encoded.
#[derive(Debug, Clone)]
struct Plain {
    route_config: String,
    name: String,
    bytes: Bytes,
    references: Vec<Reference>,
}

/// An `ingress_https` filter chain, encoded, and what it names.
type Chain = (Bytes, Vec<Reference>);

/// A resource several virtual hosts may use, with how many use it.
#[derive(Debug, Clone)]
struct Shared {
    users: usize,
    resource: EncodedResource,
}

/// A cluster, with how many virtual hosts use it and the Service port whose endpoints it
/// reads (EDS clusters).
#[derive(Debug, Clone)]
struct ClusterEntry {
    users: usize,
    resource: EncodedResource,
    eds: Option<(String, EdsService)>,
}

/// A ClusterLoadAssignment, with how many clusters in use read it.
#[derive(Debug, Clone)]
struct Assignment {
    readers: usize,
    eds: EdsService,
}

/// The translation of a set of virtual hosts, kept to be updated one host at a time.
///
/// ```
/// use ingressroute_dag::{build, Config, Objects};
/// use ingressroute_envoy::{Endpoints, EnvoyConfig, Translator};
///
/// let dag = build(&Objects::new(), &Config::default());
/// let mut translator = Translator::new(EnvoyConfig::default());
/// let changes = translator.full(dag.virtual_hosts(), &Endpoints::new());
/// assert!(changes.removals.is_empty());
/// assert_eq!(translator.resources().len(), changes.upserts.len());
/// ```
#[derive(Debug)]
pub struct Translator {
    config: EnvoyConfig,
    hosts: BTreeMap<String, Host>,
    /// Plain-HTTP route configurations (route buckets, or `ingress_http`): their virtual
    /// hosts' parts by name.
    route_configs: BTreeMap<String, BTreeMap<String, Plain>>,
    /// `ingress_https` filter chains by fqdn.
    chains: BTreeMap<String, Chain>,
    clusters: BTreeMap<String, ClusterEntry>,
    assignments: BTreeMap<String, Assignment>,
    secrets: BTreeMap<String, Shared>,
    /// Every resource served now, by kind and name: what an update compares against.
    current: BTreeMap<(ResourceKind, String), EncodedResource>,
}

impl Translator {
    /// A translator with nothing translated yet.
    #[must_use]
    pub fn new(config: EnvoyConfig) -> Self {
        Self {
            config,
            hosts: BTreeMap::new(),
            route_configs: BTreeMap::new(),
            chains: BTreeMap::new(),
            clusters: BTreeMap::new(),
            assignments: BTreeMap::new(),
            secrets: BTreeMap::new(),
            current: BTreeMap::new(),
        }
    }

    /// The configuration it translates with.
    #[must_use]
    pub fn config(&self) -> &EnvoyConfig {
        &self.config
    }

    /// Every resource it serves now, sorted by kind and name: the same as
    /// [`translate`](crate::translate) of the virtual hosts and endpoints it was given,
    /// encoded.
    #[must_use]
    pub fn resources(&self) -> Vec<EncodedResource> {
        self.current.values().cloned().collect()
    }

    /// How many resources of `kind` it serves now.
    #[must_use]
    pub fn len(&self, kind: ResourceKind) -> usize {
        self.current
            .range((kind, String::new())..)
            .take_while(|((k, _), _)| *k == kind)
            .count()
    }

    /// Whether it serves nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// Translates `virtual_hosts` from scratch, forgetting the hosts it had; returns what
    /// changed against what it served before (everything, the first time).
    pub fn full<'a>(
        &mut self,
        virtual_hosts: impl IntoIterator<Item = &'a Arc<ServedVirtualHost>>,
        endpoints: &Endpoints,
    ) -> Changes {
        let current = std::mem::take(&mut self.current);
        *self = Self {
            current,
            ..Self::new(self.config.clone())
        };
        let hosts: Vec<&ServedVirtualHost> = virtual_hosts.into_iter().map(AsRef::as_ref).collect();
        let mut dirty = Dirty {
            chains: true,
            ..Dirty::default()
        };
        self.add_hosts(&hosts, &mut dirty);
        // Whatever was served and is not any more goes too.
        let keys: Vec<(ResourceKind, String)> = self.current.keys().cloned().collect();
        dirty.stale = keys;
        self.assemble(&mut dirty, endpoints)
    }

    /// Takes in the virtual hosts whose fqdns are in `changed` (added, changed or
    /// removed: `lookup` gives the current host of an fqdn, `None` when there is none) and
    /// returns what changed in the resources. Hosts not named keep their translation, so
    /// `changed` must name every host that differs from the last call.
    pub fn update<'a, 'f>(
        &mut self,
        changed: impl IntoIterator<Item = &'f str>,
        lookup: impl Fn(&str) -> Option<&'a ServedVirtualHost>,
        endpoints: &Endpoints,
    ) -> Changes {
        let mut dirty = Dirty::default();
        let mut added = Vec::new();
        let mut old_chains = BTreeMap::new();
        for fqdn in changed {
            if let Some(old) = self.hosts.remove(fqdn) {
                self.release(fqdn, &old, &mut dirty);
                old_chains.insert(fqdn.to_owned(), old.chain.map(|(bytes, _)| bytes));
            }
            if let Some(vhost) = lookup(fqdn) {
                added.push(vhost);
            }
            old_chains.entry(fqdn.to_owned()).or_insert(None);
        }
        self.add_hosts(&added, &mut dirty);
        // `ingress_https` holds every filter chain: reassembled only when one changed (a
        // route of a TLS host changes its `https/<fqdn>` route configuration, not its chain).
        dirty.chains = old_chains
            .iter()
            .any(|(fqdn, old)| old.as_ref() != self.chains.get(fqdn).map(|(bytes, _)| bytes));
        self.assemble(&mut dirty, endpoints)
    }

    /// The new assignments of these EDS service names from `endpoints`, for a change of
    /// endpoints alone (nothing else changes).
    pub fn update_endpoints<'f>(
        &mut self,
        service_names: impl IntoIterator<Item = &'f str>,
        endpoints: &Endpoints,
    ) -> Changes {
        let mut dirty = Dirty::default();
        dirty.assignments.extend(
            service_names
                .into_iter()
                .filter(|name| self.assignments.contains_key(*name))
                .map(str::to_owned),
        );
        self.assemble(&mut dirty, endpoints)
    }

    /// Whether some cluster in use reads the endpoints of this Service: only then does a
    /// change of its endpoints change a resource.
    #[must_use]
    pub fn reads_endpoints_of(&self, service: &ingressroute_dag::ObjectRef) -> bool {
        self.assignments
            .values()
            .any(|a| a.readers > 0 && a.eds.service == *service)
    }

    /// The new assignments of every EDS service name of these Services, for a change of
    /// their endpoints alone (nothing else changes).
    pub fn update_endpoints_of(
        &mut self,
        services: &BTreeSet<ingressroute_dag::ObjectRef>,
        endpoints: &Endpoints,
    ) -> Changes {
        let names: Vec<String> = self
            .assignments
            .iter()
            .filter(|(_, a)| services.contains(&a.eds.service))
            .map(|(name, _)| name.clone())
            .collect();
        self.update_endpoints(names.iter().map(String::as_str), endpoints)
    }

    /// Translates hosts alone and takes in their parts.
    fn add_hosts(&mut self, hosts: &[&ServedVirtualHost], dirty: &mut Dirty) {
        let mut set = ClusterSet::default();
        let mut translated = Vec::with_capacity(hosts.len());
        for vhost in hosts {
            translated.push((vhost.fqdn.clone(), self.translate_host(vhost, &mut set)));
        }
        let (clusters, eds) = set.into_parts();
        for cluster in clusters {
            let name = cluster.name.clone();
            let service_name = eds_service_name(&cluster).map(str::to_owned);
            let eds = service_name.and_then(|s| eds.get(&s).map(|e| (s, e.clone())));
            // A cluster is named after what it is built from, except its Service: a
            // changed Service keeps the name, so the cluster is replaced, users kept.
            let resource = EncodedResource::new(
                ResourceKind::Cluster,
                name.clone(),
                &cluster,
                cluster_refs(&cluster).unwrap_or_default(),
            );
            dirty.clusters.insert(name.clone());
            match self.clusters.get_mut(&name) {
                Some(entry) => {
                    entry.resource = resource;
                    entry.eds = eds;
                }
                None => {
                    self.clusters.insert(
                        name,
                        ClusterEntry {
                            users: 0,
                            resource,
                            eds,
                        },
                    );
                }
            }
        }
        for (fqdn, host) in translated {
            for cluster in &host.clusters {
                let Some(entry) = self.clusters.get_mut(cluster) else {
                    continue;
                };
                entry.users += 1;
                if entry.users == 1
                    && let Some((service_name, eds)) = &entry.eds
                {
                    let assignment = self
                        .assignments
                        .entry(service_name.clone())
                        .or_insert_with(|| Assignment {
                            readers: 0,
                            eds: eds.clone(),
                        });
                    assignment.readers += 1;
                    assignment.eds = eds.clone();
                    dirty.assignments.insert(service_name.clone());
                }
            }
            if let Some(secret) = &host.secret {
                let shared = self.secrets.entry(secret.name.clone()).or_insert_with(|| Shared {
                    users: 0,
                    resource: secret.clone(),
                });
                shared.users += 1;
                shared.resource = secret.clone();
            }
            if let Some(plain) = &host.plain {
                self.route_configs
                    .entry(plain.route_config.clone())
                    .or_default()
                    .insert(plain.name.clone(), plain.clone());
            }
            if let Some(chain) = &host.chain {
                self.chains.insert(fqdn.clone(), chain.clone());
            }
            dirty.note(&fqdn, &host);
            self.hosts.insert(fqdn, host);
        }
    }

    /// Translates one host alone.
    fn translate_host<'a>(&self, vhost: &'a ServedVirtualHost, set: &mut ClusterSet<'a>) -> Host {
        let config = &self.config;
        let mut host = Host::default();
        if let Some(plain) = route::virtual_host(&vhost.fqdn, &vhost.routes, Listener::Http, set, &config.config_source)
        {
            let references = virtual_host_refs(&plain);
            host.clusters.extend(references.iter().map(|r| r.name.clone()));
            let route_config = match config.http_routes {
                HttpRoutes::Single => names::HTTP_ROUTE_CONFIG.to_owned(),
                HttpRoutes::Scoped { buckets } => {
                    let scope = route::host_scope(&vhost.fqdn, names::http_route_bucket(&vhost.fqdn, buckets));
                    host.scope = Some(EncodedResource::new(
                        ResourceKind::ScopedRouteConfiguration,
                        scope.name.clone(),
                        &scope,
                        crate::resources::scope_refs(&scope),
                    ));
                    scope.route_configuration_name
                }
            };
            host.plain = Some(Plain {
                route_config,
                name: plain.name.clone(),
                bytes: Bytes::from(plain.encode_to_vec()),
                references,
            });
        }
        if let Some(secure) = &vhost.secure {
            let mut https_configs = Vec::new();
            if let Some(chain) = tls_chain(vhost, secure, set, config, &mut https_configs) {
                if let (TlsMode::Terminate { secret, .. }, Some((name, _))) = (&secure.tls, &chain.terminate)
                    && let Some(pair) = secret.tls.as_ref()
                {
                    let secret = sds_secret(name.clone(), pair);
                    host.secret = Some(EncodedResource::new(
                        ResourceKind::Secret,
                        name.clone(),
                        &secret,
                        Vec::new(),
                    ));
                }
                let references = chain_refs(&chain);
                host.clusters.extend(
                    references
                        .iter()
                        .filter(|r| r.kind == ResourceKind::Cluster)
                        .map(|r| r.name.clone()),
                );
                let bytes = listener::filter_chain(chain, config).encode_to_vec();
                host.chain = Some((Bytes::from(bytes), references));
            }
            if let Some(config) = https_configs.pop() {
                let references = route_config_refs(&config);
                host.clusters.extend(references.iter().map(|r| r.name.clone()));
                host.https_routes = Some(EncodedResource::new(
                    ResourceKind::RouteConfiguration,
                    config.name.clone(),
                    &config,
                    references,
                ));
            }
        }
        host
    }

    /// Lets go of a host's parts, noting what must be reassembled or removed.
    fn release(&mut self, fqdn: &str, host: &Host, dirty: &mut Dirty) {
        dirty.note(fqdn, host);
        if let Some(plain) = &host.plain
            && let Some(config) = self.route_configs.get_mut(&plain.route_config)
        {
            config.remove(&plain.name);
        }
        if host.chain.is_some() {
            self.chains.remove(fqdn);
        }
        for cluster in &host.clusters {
            let Some(entry) = self.clusters.get_mut(cluster) else {
                continue;
            };
            entry.users = entry.users.saturating_sub(1);
            if entry.users == 0
                && let Some((service_name, _)) = &entry.eds
                && let Some(assignment) = self.assignments.get_mut(service_name)
            {
                assignment.readers = assignment.readers.saturating_sub(1);
                dirty.assignments.insert(service_name.clone());
            }
        }
        if let Some(secret) = &host.secret
            && let Some(shared) = self.secrets.get_mut(&secret.name)
        {
            shared.users = shared.users.saturating_sub(1);
        }
    }

    /// Reassembles what `dirty` names and returns what changed against `current`.
    fn assemble(&mut self, dirty: &mut Dirty, endpoints: &Endpoints) -> Changes {
        let single = matches!(self.config.http_routes, HttpRoutes::Single);
        let mut next: BTreeMap<(ResourceKind, String), Option<EncodedResource>> = BTreeMap::new();
        for key in std::mem::take(&mut dirty.stale) {
            next.insert(key, None);
        }

        // Plain HTTP: route configurations, scopes, and the listener that serves them.
        if single {
            dirty.route_configs.insert(names::HTTP_ROUTE_CONFIG.to_owned());
        }
        for name in &dirty.route_configs {
            let hosts = self.route_configs.get(name).filter(|h| !h.is_empty());
            let resource = (hosts.is_some() || single).then(|| plain_route_config(name, hosts));
            if hosts.is_none() {
                self.route_configs.remove(name);
            }
            next.insert((ResourceKind::RouteConfiguration, name.clone()), resource);
        }
        for fqdn in &dirty.fqdns {
            let host = self.hosts.get(fqdn);
            if let Some(scope) = dirty.scopes.get(fqdn) {
                let current = host.and_then(|h| h.scope.clone());
                next.insert((ResourceKind::ScopedRouteConfiguration, scope.clone()), current);
            }
            if dirty.https_routes.contains(fqdn) {
                let current = host.and_then(|h| h.https_routes.clone());
                next.insert(
                    (ResourceKind::RouteConfiguration, names::https_route_config_name(fqdn)),
                    current,
                );
            }
        }
        let serves_http = self.route_configs.values().any(|hosts| !hosts.is_empty());
        let http_listener = serves_http.then(|| {
            let listener = listener::http_listener(&self.config);
            let references = listener_refs(&listener).unwrap_or_default();
            EncodedResource::new(ResourceKind::Listener, listener.name.clone(), &listener, references)
        });
        next.insert((ResourceKind::Listener, names::HTTP_LISTENER.to_owned()), http_listener);

        // TLS: secrets and the `ingress_https` listener.
        for name in &dirty.secrets {
            let current = self
                .secrets
                .get(name)
                .filter(|s| s.users > 0)
                .map(|s| s.resource.clone());
            if current.is_none() {
                self.secrets.remove(name);
            }
            next.insert((ResourceKind::Secret, name.clone()), current);
        }
        if dirty.chains {
            let listener = (!self.chains.is_empty()).then(|| https_listener(&self.chains, &self.config));
            next.insert((ResourceKind::Listener, names::HTTPS_LISTENER.to_owned()), listener);
        }

        // Clusters, and the assignments they read.
        for name in &dirty.clusters {
            let current = self
                .clusters
                .get(name)
                .filter(|c| c.users > 0)
                .map(|c| c.resource.clone());
            if current.is_none() {
                self.clusters.remove(name);
            }
            next.insert((ResourceKind::Cluster, name.clone()), current);
        }
        for name in &dirty.assignments {
            let current = match self.assignments.get(name) {
                Some(assignment) if assignment.readers > 0 => {
                    let assignment =
                        endpoints.load_assignment(name, &assignment.eds.service, &assignment.eds.port_name);
                    Some(EncodedResource::new(
                        ResourceKind::ClusterLoadAssignment,
                        name.clone(),
                        &assignment,
                        Vec::new(),
                    ))
                }
                _ => {
                    self.assignments.remove(name);
                    None
                }
            };
            next.insert((ResourceKind::ClusterLoadAssignment, name.clone()), current);
        }

        let mut changes = Changes::default();
        for (key, resource) in next {
            match resource {
                Some(resource) => {
                    if self.current.get(&key) != Some(&resource) {
                        self.current.insert(key, resource.clone());
                        changes.upserts.push(resource);
                    }
                }
                None => {
                    if self.current.remove(&key).is_some() {
                        changes.removals.push(key);
                    }
                }
            }
        }
        changes
    }
}

/// What an update must reassemble.
#[derive(Debug, Default)]
struct Dirty {
    /// Resources served before a full translation, each gone unless assembled again.
    stale: Vec<(ResourceKind, String)>,
    /// The hosts taken in or let go of.
    fqdns: BTreeSet<String>,
    route_configs: BTreeSet<String>,
    /// Scope names by host.
    scopes: BTreeMap<String, String>,
    https_routes: BTreeSet<String>,
    chains: bool,
    secrets: BTreeSet<String>,
    clusters: BTreeSet<String>,
    assignments: BTreeSet<String>,
}

impl Dirty {
    /// Notes every part of the host `fqdn`.
    fn note(&mut self, fqdn: &str, host: &Host) {
        self.fqdns.insert(fqdn.to_owned());
        if let Some(plain) = &host.plain {
            self.route_configs.insert(plain.route_config.clone());
        }
        if let Some(scope) = &host.scope {
            self.scopes.insert(fqdn.to_owned(), scope.name.clone());
        }
        if host.https_routes.is_some() {
            self.https_routes.insert(fqdn.to_owned());
        }
        if let Some(secret) = &host.secret {
            self.secrets.insert(secret.name.clone());
        }
        self.clusters.extend(host.clusters.iter().cloned());
    }
}

/// What a TLS filter chain names: its route configuration or its TCP proxy's clusters, and
/// its certificate.
fn chain_refs(chain: &listener::TlsChain) -> Vec<Reference> {
    use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::tcp_proxy::ClusterSpecifier;
    let mut refs = Vec::new();
    match &chain.action {
        listener::ChainAction::Http { route_config } => {
            refs.push(Reference::new(ResourceKind::RouteConfiguration, route_config.clone()));
        }
        listener::ChainAction::Tcp(ClusterSpecifier::Cluster(name)) => {
            refs.push(Reference::new(ResourceKind::Cluster, name.clone()));
        }
        listener::ChainAction::Tcp(ClusterSpecifier::WeightedClusters(weighted)) => {
            refs.extend(
                weighted
                    .clusters
                    .iter()
                    .map(|c| Reference::new(ResourceKind::Cluster, c.name.clone())),
            );
        }
    }
    if let Some((secret, _)) = &chain.terminate {
        refs.push(Reference::new(ResourceKind::Secret, secret.clone()));
    }
    refs
}

/// A plain-HTTP route configuration from its hosts' encodings, sorted by name.
fn plain_route_config(name: &str, hosts: Option<&BTreeMap<String, Plain>>) -> EncodedResource {
    let empty = route::route_configuration(name, Vec::new());
    let with_one = route::route_configuration(name, vec![route_v3::VirtualHost::default()]);
    let hosts: Vec<&Plain> = hosts.map(|h| h.values().collect()).unwrap_or_default();
    let elements: Vec<&Bytes> = hosts.iter().map(|h| &h.bytes).collect();
    let bytes = splice(&empty.encode_to_vec(), &with_one.encode_to_vec(), 2, &elements);
    EncodedResource::from_any(
        ResourceKind::RouteConfiguration,
        name,
        pack_encoded(&route_v3::RouteConfiguration::type_url(), &bytes),
        hosts
            .iter()
            .flat_map(|h| h.references.iter().cloned())
            .collect::<Vec<_>>(),
    )
}

/// The `ingress_https` listener from its filter chains' encodings, sorted by fqdn.
fn https_listener(chains: &BTreeMap<String, Chain>, config: &EnvoyConfig) -> EncodedResource {
    let empty = listener::https_listener(Vec::new(), config);
    let mut with_one = empty.clone();
    with_one.filter_chains.push(listener_v3::FilterChain::default());
    let elements: Vec<&Bytes> = chains.values().map(|(bytes, _)| bytes).collect();
    let bytes = splice(&empty.encode_to_vec(), &with_one.encode_to_vec(), 3, &elements);
    let references: Vec<Reference> = chains.values().flat_map(|(_, refs)| refs.iter().cloned()).collect();
    EncodedResource::from_any(
        ResourceKind::Listener,
        names::HTTPS_LISTENER,
        pack_encoded(&listener_v3::Listener::type_url(), &bytes),
        references,
    )
}

/// The encoding of a message whose repeated field `field` holds `elements` (each the
/// encoding of one element), from the encoding of the message without them (`empty`) and
/// with one default element (`with_one`): protobuf puts a repeated field's elements
/// together where the field is encoded, which is where the two differ.
fn splice(empty: &[u8], with_one: &[u8], field: u32, elements: &[&Bytes]) -> Vec<u8> {
    let at = empty
        .iter()
        .zip(with_one)
        .position(|(a, b)| a != b)
        .unwrap_or(empty.len());
    let size: usize = elements.iter().map(|e| e.len() + 6).sum();
    let mut out = Vec::with_capacity(empty.len() + size);
    out.extend_from_slice(empty.get(..at).unwrap_or_default());
    for element in elements {
        encoding::encode_key(field, WireType::LengthDelimited, &mut out);
        encoding::encode_varint(u64::try_from(element.len()).unwrap_or(u64::MAX), &mut out);
        out.extend_from_slice(element);
    }
    out.extend_from_slice(empty.get(at..).unwrap_or_default());
    out
}

/// The encoded `google.protobuf.Any` of an encoded message of `type_url`, as
/// [`pack`](crate::pack) gives it.
fn pack_encoded(type_url: &str, value: &[u8]) -> Bytes {
    let mut buf = Vec::with_capacity(type_url.len() + value.len() + 22);
    encoding::encode_key(1, WireType::LengthDelimited, &mut buf);
    encoding::encode_varint(u64::try_from(type_url.len()).unwrap_or(u64::MAX), &mut buf);
    buf.extend_from_slice(type_url.as_bytes());
    if !value.is_empty() {
        encoding::encode_key(2, WireType::LengthDelimited, &mut buf);
        encoding::encode_varint(u64::try_from(value.len()).unwrap_or(u64::MAX), &mut buf);
        buf.extend_from_slice(value);
    }
    Bytes::from(buf)
}
