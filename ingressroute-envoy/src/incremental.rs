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
//!  virtual host ──translate alone──▶ its parts: plain VirtualHost bytes (in its bucket),
//!                                    scope, https route configuration, filter chain,
//!                                    secret; the clusters they name
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
//! [`translate`](crate::translate) after every step of random edit sequences). The
//! elements' bytes are then slices of the assembled resource, and every served resource
//! is kept once, where it is made, with no second index of what is served: at dataset L
//! (10,000 virtual hosts) the translator holds about 28 MiB, the encoded resources the
//! snapshot shares among them (`cargo bench -p ingressroute-pipeline --bench heap`).
//! Names are shared the same way (`Arc<str>`): a cluster's name is made once, for its
//! resource, the routes that name it and the translator's key; an EDS service name once,
//! for its cluster's reference, its assignment and the key; a route configuration's once
//! per translator.
//! What every host or upstream has is encoded directly, without prost messages (see
//! [`wire`](crate::wire)): a plain-HTTP virtual host ([`route::encoded_virtual_host`]), its
//! scope, a TLS host's `https/<fqdn>` route configuration, clusters (their rare parts, such
//! as health checks or upstream TLS, by prost in their place) and load assignments; the
//! TLS filter chains, secrets and listeners are still prost messages. Virtual hosts that
//! use one Secret share its encoding.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use envoy_types::pb::envoy::config::listener::v3 as listener_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use ingressroute_dag::{ServedRoute, ServedVirtualHost, TlsMode};
use prost::Message;
use prost::Name;
use prost::encoding::{self, WireType};
use rustc_hash::FxHashMap;

use crate::cluster::{ClusterSet, EdsService};
use crate::config::{EnvoyConfig, HttpRoutes};
use crate::endpoints::Endpoints;
use crate::listener;
use crate::names;
use crate::resources::{EncodedResource, Reference, ResourceKind, listener_refs};
use crate::route::{self, Listener};
use crate::translate::{HttpsRouteConfigs, SecretNames, sds_secret, tls_chain};

/// What one update changed: the resources to add or replace, and those to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Changes {
    /// New or changed resources, in no particular order.
    pub upserts: Vec<EncodedResource>,
    /// Resources that no longer exist, by kind and name, in no particular order.
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
            let key = (resource.kind, &*resource.name);
            self.removals.retain(|(kind, name)| (*kind, name.as_str()) != key);
            self.upserts.retain(|r| (r.kind, &*r.name) != key);
            self.upserts.push(resource);
        }
        for (kind, name) in later.removals {
            self.upserts.retain(|r| (r.kind, &*r.name) != (kind, name.as_str()));
            self.removals.push((kind, name));
        }
    }
}

/// The encoding of one element of a shared resource (a plain-HTTP `VirtualHost` in its route
/// configuration, a filter chain in `ingress_https`) and the names it uses. Once the
/// resource is assembled, `bytes` is a slice of the served resource's own buffer, so the
/// element is not kept twice.
#[derive(Debug, Clone)]
struct Part {
    bytes: Bytes,
    references: Vec<Reference>,
}

/// What the translator keeps of one virtual host; its plain-HTTP part is in
/// `route_configs` (see [`Translator::plain_key`]) and its filter chain in `chains`.
#[derive(Debug, Clone, Default)]
struct Host {
    /// Whether it has a plain-HTTP virtual host.
    plain: bool,
    /// Its scope (with [`HttpRoutes::Scoped`]).
    scope: Option<EncodedResource>,
    /// What only TLS hosts have (a few of them: kept apart so that a host stays small).
    tls: Option<Box<Tls>>,
}

/// The TLS parts of a host.
#[derive(Debug, Clone, Default)]
struct Tls {
    /// Its `https/<fqdn>` route configuration.
    https_routes: Option<EncodedResource>,
    /// Its TLS certificate.
    secret: Option<EncodedResource>,
    /// Whether it has an `ingress_https` filter chain.
    chain: bool,
}

impl Host {
    fn https_routes(&self) -> Option<&EncodedResource> {
        self.tls.as_ref().and_then(|t| t.https_routes.as_ref())
    }

    fn secret(&self) -> Option<&EncodedResource> {
        self.tls.as_ref().and_then(|t| t.secret.as_ref())
    }
}

/// One virtual host translated alone, before its parts are taken in.
struct Translated {
    fqdn: String,
    /// The plain-HTTP part, with where it is kept (see [`Translator::plain_key`]).
    plain: Option<((Arc<str>, String), Part)>,
    scope: Option<EncodedResource>,
    chain: Option<Part>,
    https_routes: Option<EncodedResource>,
    secret: Option<EncodedResource>,
}

/// A host's `https/<fqdn>` route configuration, encoded directly.
struct EncodedHttpsRoutes(Option<EncodedResource>);

impl<'a> HttpsRouteConfigs<'a> for EncodedHttpsRoutes {
    fn add(&mut self, name: &str, fqdn: &str, routes: &'a [ServedRoute], clusters: &mut ClusterSet<'a>) -> bool {
        let Some((any, names)) = route::encoded_route_configuration(name, fqdn, routes, Listener::Https, clusters)
        else {
            return false;
        };
        self.0 = Some(EncodedResource::from_any(
            ResourceKind::RouteConfiguration,
            name,
            Bytes::from(any),
            cluster_references(names),
        ));
        true
    }
}

/// References to the clusters `names`.
fn cluster_references(names: Vec<Arc<str>>) -> Vec<Reference> {
    names
        .into_iter()
        .map(|name| Reference::new(ResourceKind::Cluster, name))
        .collect()
}

/// The Secrets of the hosts of one [`Translator::add_hosts`]: their names and their
/// encodings, each made once (a Secret often serves several hosts; its name alone hashes
/// its certificate chain). By identity, as [`SecretNames`]: two Secrets of one name are
/// never taken for one another.
#[derive(Debug, Default)]
struct HostSecrets<'a> {
    names: SecretNames<'a>,
    encoded: FxHashMap<*const ingressroute_dag::Secret, EncodedResource>,
}

/// A resource several virtual hosts may use, with how many use it.
#[derive(Debug, Clone)]
struct Shared {
    users: usize,
    resource: EncodedResource,
}

/// A cluster, with how many virtual hosts use it and the EDS service name of the Service
/// port whose endpoints it reads (EDS clusters; the port itself is kept once, in its
/// [`Assignment`]).
#[derive(Debug, Clone)]
struct ClusterEntry {
    users: usize,
    resource: EncodedResource,
    eds: Option<Arc<str>>,
}

/// A ClusterLoadAssignment: how many clusters in use read it, and what is served of it.
#[derive(Debug, Clone)]
struct Assignment {
    readers: usize,
    eds: EdsService,
    served: Option<EncodedResource>,
}

impl Assignment {
    /// The ClusterLoadAssignment `name` of its Service port, from `endpoints`.
    fn encode(&self, name: Arc<str>, endpoints: &Endpoints) -> EncodedResource {
        let any = endpoints.encoded_load_assignment(&name, self.eds.service(), &self.eds.port_name);
        EncodedResource::from_any(ResourceKind::ClusterLoadAssignment, name, Bytes::from(any), Vec::new())
    }
}

/// The translation of a set of virtual hosts, kept to be updated one host at a time.
///
/// Every served resource is kept once, where it is made: a host's scope and `https/<fqdn>`
/// route configuration with the host, a cluster, assignment or secret with its reference
/// count, a plain-HTTP route configuration and the listeners as assembled. What an update
/// changes is found by comparing with the value each of those held before it.
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
    /// Hosts by fqdn. Hash maps where nothing depends on the order (what is served is
    /// sorted when listed): a first build of ten thousand hosts inserts into each map
    /// once per host, and string keys with long common prefixes make every B-tree
    /// comparison a `memcmp`.
    hosts: FxHashMap<String, Host>,
    /// Plain-HTTP route configurations (route buckets, or `ingress_http`): their virtual
    /// hosts' parts by virtual host name.
    route_configs: BTreeMap<Arc<str>, BTreeMap<String, Part>>,
    /// The names of the plain-HTTP route configurations a host may be kept in (every
    /// route bucket, or `ingress_http`), made once: every host names its own.
    route_config_names: Vec<Arc<str>>,
    /// `ingress_https` filter chains by fqdn.
    chains: BTreeMap<String, Part>,
    /// By name, the key shared with the resource's name (and the references to it).
    clusters: FxHashMap<Arc<str>, ClusterEntry>,
    assignments: FxHashMap<Arc<str>, Assignment>,
    secrets: FxHashMap<Arc<str>, Shared>,
    /// The assembled resources: plain-HTTP route configurations and the listeners.
    assembled: BTreeMap<(ResourceKind, String), EncodedResource>,
}

impl Translator {
    /// A translator with nothing translated yet.
    #[must_use]
    pub fn new(config: EnvoyConfig) -> Self {
        let route_config_names = match config.http_routes {
            HttpRoutes::Single => vec![Arc::from(names::HTTP_ROUTE_CONFIG)],
            HttpRoutes::Scoped { buckets } => (0..buckets.max(1))
                .map(|bucket| Arc::from(names::http_route_bucket_name(bucket)))
                .collect(),
        };
        Self {
            config,
            hosts: FxHashMap::default(),
            route_configs: BTreeMap::new(),
            route_config_names,
            chains: BTreeMap::new(),
            clusters: FxHashMap::default(),
            assignments: FxHashMap::default(),
            secrets: FxHashMap::default(),
            assembled: BTreeMap::new(),
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
        self.sorted().into_iter().cloned().collect()
    }

    /// How many resources of `kind` it serves now.
    #[must_use]
    pub fn len(&self, kind: ResourceKind) -> usize {
        self.served().filter(|r| r.kind == kind).count()
    }

    /// Whether it serves nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.served().next().is_none()
    }

    /// Every resource served now, in no particular order.
    fn served(&self) -> impl Iterator<Item = &EncodedResource> {
        self.assembled
            .values()
            .chain(self.hosts.values().flat_map(|h| h.scope.iter().chain(h.https_routes())))
            .chain(self.clusters.values().filter(|c| c.users > 0).map(|c| &c.resource))
            .chain(self.assignments.values().filter_map(|a| a.served.as_ref()))
            .chain(self.secrets.values().filter(|s| s.users > 0).map(|s| &s.resource))
    }

    /// Translates `virtual_hosts` from scratch, forgetting the hosts it had; returns what
    /// changed against what it served before (everything, the first time).
    pub fn full<'a>(
        &mut self,
        virtual_hosts: impl IntoIterator<Item = &'a Arc<ServedVirtualHost>>,
        endpoints: &Endpoints,
    ) -> Changes {
        // Everything is translated again, so nothing needs tracking on the way: the
        // changes are the difference between the old translator and the new one.
        let old = std::mem::replace(self, Self::new(self.config.clone()));
        let hosts: Vec<&ServedVirtualHost> = virtual_hosts.into_iter().map(AsRef::as_ref).collect();
        self.add_hosts(&hosts, None);
        self.assemble_all(endpoints);
        if old.is_empty() {
            // A first build: everything is new, and nothing needs comparing (or sorting).
            // At most this many (a host serves a scope or an https route configuration).
            let capacity = self.assembled.len()
                + 2 * self.hosts.len()
                + self.clusters.len()
                + self.assignments.len()
                + self.secrets.len();
            let mut upserts = Vec::with_capacity(capacity);
            upserts.extend(self.served().cloned());
            return Changes {
                upserts,
                removals: Vec::new(),
            };
        }
        let mut changes = Changes::default();
        let mut after = self.sorted().into_iter().peekable();
        let mut before = old.sorted().into_iter().peekable();
        loop {
            let order = match (before.peek(), after.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(old), Some(new)) => (old.kind, &*old.name).cmp(&(new.kind, &*new.name)),
            };
            match order {
                std::cmp::Ordering::Less => changes
                    .removals
                    .extend(before.next().map(|old| (old.kind, old.name.to_string()))),
                std::cmp::Ordering::Greater => changes.upserts.extend(after.next().cloned()),
                std::cmp::Ordering::Equal => {
                    if let (Some(old), Some(new)) = (before.next(), after.next())
                        && old != new
                    {
                        changes.upserts.push(new.clone());
                    }
                }
            }
        }
        changes
    }

    /// Every resource served now, sorted by kind and name, borrowed.
    fn sorted(&self) -> Vec<&EncodedResource> {
        let mut resources: Vec<&EncodedResource> = self.served().collect();
        resources.sort_unstable_by(|a, b| (a.kind, &*a.name).cmp(&(b.kind, &*b.name)));
        resources
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
                let chain = self.release(fqdn, &old, &mut dirty);
                old_chains.insert(fqdn.to_owned(), chain.map(|part| part.bytes));
            }
            if let Some(vhost) = lookup(fqdn) {
                added.push(vhost);
            }
            old_chains.entry(fqdn.to_owned()).or_insert(None);
        }
        self.add_hosts(&added, Some(&mut dirty));
        // `ingress_https` holds every filter chain: reassembled only when one changed (a
        // route of a TLS host changes its `https/<fqdn>` route configuration, not its chain).
        dirty.chains = old_chains
            .iter()
            .any(|(fqdn, old)| old.as_ref() != self.chains.get(fqdn).map(|part| &part.bytes));
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
            .any(|a| a.readers > 0 && a.eds.service() == service)
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
            .filter(|(_, a)| services.contains(a.eds.service()))
            .map(|(name, _)| name.to_string())
            .collect();
        self.update_endpoints(names.iter().map(String::as_str), endpoints)
    }

    /// Where the plain-HTTP part of the host `fqdn` is kept: its route configuration and
    /// its virtual host's name (the order inside that configuration).
    fn plain_key(&self, fqdn: &str) -> (Arc<str>, String) {
        // `new` made the name of every route configuration a host can be kept in.
        let route_config = match self.config.http_routes {
            HttpRoutes::Single => match self.route_config_names.first() {
                Some(made) => Arc::clone(made),
                None => Arc::from(names::HTTP_ROUTE_CONFIG),
            },
            HttpRoutes::Scoped { buckets } => {
                let bucket = names::http_route_bucket(fqdn, buckets);
                match self.route_config_names.get(usize::from(bucket)) {
                    Some(made) => Arc::clone(made),
                    None => Arc::from(names::http_route_bucket_name(bucket)),
                }
            }
        };
        (route_config, names::virtual_host_name(fqdn))
    }

    /// Translates hosts alone and takes in their parts, noting in `dirty` what must be
    /// reassembled (`None` when everything will be, see [`Translator::assemble_all`]).
    fn add_hosts(&mut self, hosts: &[&ServedVirtualHost], mut dirty: Option<&mut Dirty>) {
        let mut set = ClusterSet::default();
        let mut secrets = HostSecrets::default();
        let mut translated = Vec::with_capacity(hosts.len());
        for vhost in hosts {
            translated.push(self.translate_host(vhost, &mut set, &mut secrets));
        }
        self.hosts.reserve(hosts.len());
        // Most of them new, on a first build.
        self.clusters.reserve(set.len());
        self.assignments.reserve(set.len());
        let clusters = &mut self.clusters;
        let eds = set.each_encoded(&self.config.config_source, |cluster, service_name| {
            let name = cluster.name;
            let eds = service_name.cloned();
            // A cluster is named after what it is built from, except its Service: a
            // changed Service keeps the name, so the cluster is replaced, users kept.
            let resource = EncodedResource::from_any(
                ResourceKind::Cluster,
                Arc::clone(&name),
                Bytes::from(cluster.any),
                cluster.references,
            );
            match clusters.get_mut(&*name) {
                Some(entry) => {
                    if let Some(dirty) = dirty.as_deref_mut() {
                        dirty.capture_cluster(&name, entry);
                    }
                    entry.resource = resource;
                    entry.eds = eds;
                }
                None => {
                    if let Some(dirty) = dirty.as_deref_mut() {
                        dirty.clusters.entry(name.to_string()).or_insert(None);
                    }
                    clusters.insert(
                        name,
                        ClusterEntry {
                            users: 0,
                            resource,
                            eds,
                        },
                    );
                }
            }
        });
        for host in translated {
            let plain = host.plain.as_ref().map(|(_, part)| part);
            let clusters = clusters_of(plain, host.chain.as_ref(), host.https_routes.as_ref());
            for cluster in clusters {
                let Some(entry) = self.clusters.get_mut(cluster) else {
                    continue;
                };
                if let Some(dirty) = dirty.as_deref_mut() {
                    dirty.capture_cluster(cluster, entry);
                }
                entry.users += 1;
                if entry.users == 1
                    && let Some(service_name) = &entry.eds
                    && let Some(eds) = eds.get(&**service_name)
                {
                    match self.assignments.get_mut(&**service_name) {
                        Some(assignment) => {
                            assignment.readers += 1;
                            if !assignment.eds.is(eds) {
                                assignment.eds = eds.clone();
                            }
                        }
                        None => {
                            self.assignments.insert(
                                Arc::clone(service_name),
                                Assignment {
                                    readers: 1,
                                    eds: eds.clone(),
                                    served: None,
                                },
                            );
                        }
                    }
                    if let Some(dirty) = dirty.as_deref_mut() {
                        dirty.assignments.insert(service_name.to_string());
                    }
                }
            }
            if let Some(secret) = &host.secret {
                let shared = self.secrets.entry(secret.name.clone()).or_insert_with(|| Shared {
                    users: 0,
                    resource: secret.clone(),
                });
                if let Some(dirty) = dirty.as_deref_mut() {
                    dirty.capture_secret(&secret.name, shared);
                }
                shared.users += 1;
                shared.resource = secret.clone();
            }
            if let Some(dirty) = dirty.as_deref_mut() {
                dirty.fqdns.insert(host.fqdn.clone());
                for key in host
                    .scope
                    .iter()
                    .chain(&host.https_routes)
                    .map(|r| (r.kind, r.name.to_string()))
                {
                    dirty.hosted.entry(key).or_insert(None);
                }
            }
            let has_plain = host.plain.is_some();
            if let Some(((route_config, name), plain)) = host.plain {
                if let Some(dirty) = dirty.as_deref_mut() {
                    dirty.route_configs.insert(route_config.to_string());
                }
                self.route_configs.entry(route_config).or_default().insert(name, plain);
            }
            let has_chain = host.chain.is_some();
            if let Some(chain) = host.chain {
                self.chains.insert(host.fqdn.clone(), chain);
            }
            let tls = (host.https_routes.is_some() || host.secret.is_some() || has_chain).then(|| {
                Box::new(Tls {
                    https_routes: host.https_routes,
                    secret: host.secret,
                    chain: has_chain,
                })
            });
            self.hosts.insert(
                host.fqdn,
                Host {
                    plain: has_plain,
                    scope: host.scope,
                    tls,
                },
            );
        }
    }

    /// Translates one host alone.
    fn translate_host<'a>(
        &self,
        vhost: &'a ServedVirtualHost,
        set: &mut ClusterSet<'a>,
        secrets: &mut HostSecrets<'a>,
    ) -> Translated {
        let config = &self.config;
        let mut host = Translated {
            fqdn: vhost.fqdn.clone(),
            plain: None,
            scope: None,
            chain: None,
            https_routes: None,
            secret: None,
        };
        // A host without routes (a TCP proxy) has no plain part: its key is not made.
        let key = (!vhost.routes.is_empty()).then(|| self.plain_key(&vhost.fqdn));
        if let Some((route_config, name)) = key
            && let Some((plain, clusters)) =
                route::encoded_virtual_host(&name, &vhost.fqdn, &vhost.routes, Listener::Http, set)
        {
            if let HttpRoutes::Scoped { .. } = config.http_routes {
                let (scope, any) = route::encoded_host_scope(&vhost.fqdn, &route_config);
                host.scope = Some(EncodedResource::from_any(
                    ResourceKind::ScopedRouteConfiguration,
                    scope,
                    Bytes::from(any),
                    vec![Reference::new(ResourceKind::RouteConfiguration, route_config.clone())],
                ));
            }
            let part = Part {
                references: cluster_references(clusters),
                bytes: Bytes::from(plain),
            };
            host.plain = Some(((route_config, name), part));
        }
        if let Some(secure) = &vhost.secure {
            let mut https_configs = EncodedHttpsRoutes(None);
            if let Some(chain) = tls_chain(vhost, secure, set, &mut secrets.names, &mut https_configs) {
                if let (TlsMode::Terminate { secret, .. }, Some((name, _))) = (&secure.tls, &chain.terminate)
                    && let Some(pair) = secret.tls.as_ref()
                {
                    let resource = secrets.encoded.entry(Arc::as_ptr(secret)).or_insert_with(|| {
                        let secret = sds_secret(name.clone(), pair);
                        EncodedResource::new(ResourceKind::Secret, name.clone(), &secret, Vec::new())
                    });
                    host.secret = Some(resource.clone());
                }
                let references = chain_refs(&chain);
                let bytes = listener::filter_chain(chain, config).encode_to_vec();
                host.chain = Some(Part {
                    bytes: Bytes::from(bytes),
                    references,
                });
            }
            host.https_routes = https_configs.0;
        }
        host
    }

    /// Lets go of a host's parts, noting what must be reassembled or removed; returns its
    /// filter chain.
    fn release(&mut self, fqdn: &str, host: &Host, dirty: &mut Dirty) -> Option<Part> {
        dirty.fqdns.insert(fqdn.to_owned());
        for resource in host.scope.iter().chain(host.https_routes()) {
            dirty
                .hosted
                .entry((resource.kind, resource.name.to_string()))
                .or_insert_with(|| Some(resource.clone()));
        }
        let plain = if host.plain {
            let (route_config, name) = self.plain_key(fqdn);
            let part = self.route_configs.get_mut(&*route_config).and_then(|c| c.remove(&name));
            dirty.route_configs.insert(route_config.to_string());
            part
        } else {
            None
        };
        let chain = if host.tls.as_ref().is_some_and(|t| t.chain) {
            self.chains.remove(fqdn)
        } else {
            None
        };
        for cluster in clusters_of(plain.as_ref(), chain.as_ref(), host.https_routes()) {
            let Some(entry) = self.clusters.get_mut(cluster) else {
                continue;
            };
            dirty.capture_cluster(cluster, entry);
            entry.users = entry.users.saturating_sub(1);
            if entry.users == 0
                && let Some(service_name) = &entry.eds
                && let Some(assignment) = self.assignments.get_mut(&**service_name)
            {
                assignment.readers = assignment.readers.saturating_sub(1);
                dirty.assignments.insert(service_name.to_string());
            }
        }
        if let Some(secret) = host.secret()
            && let Some(shared) = self.secrets.get_mut(&*secret.name)
        {
            dirty.capture_secret(&secret.name, shared);
            shared.users = shared.users.saturating_sub(1);
        }
        chain
    }

    /// Assembles every shared resource after [`Translator::add_hosts`] took in every host
    /// of a new translator (what [`Translator::full`] does): what [`Translator::assemble`]
    /// gives when everything is dirty, without noting what each resource was before.
    fn assemble_all(&mut self, endpoints: &Endpoints) {
        let single = matches!(self.config.http_routes, HttpRoutes::Single);
        self.route_configs.retain(|_, hosts| !hosts.is_empty());
        let mut assembled: Vec<((ResourceKind, String), EncodedResource)> = self
            .route_configs
            .iter_mut()
            .map(|(name, hosts)| {
                let key = (ResourceKind::RouteConfiguration, name.to_string());
                (key, plain_route_config(Arc::clone(name), Some(hosts)))
            })
            .collect();
        if single && self.route_configs.is_empty() {
            let name = names::HTTP_ROUTE_CONFIG;
            assembled.push((
                (ResourceKind::RouteConfiguration, name.to_owned()),
                plain_route_config(Arc::from(name), None),
            ));
        }
        if !self.route_configs.is_empty() {
            let resource = http_listener(&self.config);
            assembled.push(((ResourceKind::Listener, names::HTTP_LISTENER.to_owned()), resource));
        }
        if !self.chains.is_empty() {
            let listener = https_listener(&mut self.chains, &self.config);
            assembled.push(((ResourceKind::Listener, names::HTTPS_LISTENER.to_owned()), listener));
        }
        self.assembled.extend(assembled);
        self.secrets.retain(|_, shared| shared.users > 0);
        self.clusters.retain(|_, cluster| cluster.users > 0);
        self.assignments.retain(|_, assignment| assignment.readers > 0);
        for (name, assignment) in &mut self.assignments {
            assignment.served = Some(assignment.encode(Arc::clone(name), endpoints));
        }
    }

    /// Reassembles what `dirty` names and returns what changed against what was served.
    fn assemble(&mut self, dirty: &mut Dirty, endpoints: &Endpoints) -> Changes {
        let single = matches!(self.config.http_routes, HttpRoutes::Single);
        // Each dirty resource: what was served before and what is now.
        let mut next: BTreeMap<(ResourceKind, String), Slot> = BTreeMap::new();

        // Plain HTTP: route configurations, scopes, and the listener that serves them.
        if single {
            dirty.route_configs.insert(names::HTTP_ROUTE_CONFIG.to_owned());
        }
        for name in &dirty.route_configs {
            let key = (ResourceKind::RouteConfiguration, name.clone());
            let hosts = self.route_configs.get_mut(name.as_str()).filter(|h| !h.is_empty());
            let has_hosts = hosts.is_some();
            let resource = (has_hosts || single).then(|| plain_route_config(Arc::from(name.as_str()), hosts));
            if !has_hosts {
                self.route_configs.remove(name.as_str());
            }
            next.insert(key.clone(), Slot::assembled(self.assembled.remove(&key), resource));
        }
        for (key, before) in std::mem::take(&mut dirty.hosted) {
            next.insert(key, Slot::held(before, None));
        }
        for fqdn in &dirty.fqdns {
            let Some(host) = self.hosts.get(fqdn) else {
                continue;
            };
            for resource in host.scope.iter().chain(host.https_routes()) {
                if let Some(slot) = next.get_mut(&(resource.kind, resource.name.to_string())) {
                    slot.now = Some(resource.clone());
                }
            }
        }
        let serves_http = self.route_configs.values().any(|hosts| !hosts.is_empty());
        let http_listener = serves_http.then(|| http_listener(&self.config));
        let key = (ResourceKind::Listener, names::HTTP_LISTENER.to_owned());
        next.insert(key.clone(), Slot::assembled(self.assembled.remove(&key), http_listener));

        // TLS: secrets and the `ingress_https` listener.
        for (name, before) in std::mem::take(&mut dirty.secrets) {
            let now = self
                .secrets
                .get(name.as_str())
                .filter(|s| s.users > 0)
                .map(|s| s.resource.clone());
            if now.is_none() {
                self.secrets.remove(name.as_str());
            }
            next.insert((ResourceKind::Secret, name), Slot::held(before, now));
        }
        if dirty.chains {
            let key = (ResourceKind::Listener, names::HTTPS_LISTENER.to_owned());
            let listener = (!self.chains.is_empty()).then(|| https_listener(&mut self.chains, &self.config));
            next.insert(key.clone(), Slot::assembled(self.assembled.remove(&key), listener));
        }

        // Clusters, and the assignments they read.
        for (name, before) in std::mem::take(&mut dirty.clusters) {
            let now = self
                .clusters
                .get(name.as_str())
                .filter(|c| c.users > 0)
                .map(|c| c.resource.clone());
            if now.is_none() {
                self.clusters.remove(name.as_str());
            }
            next.insert((ResourceKind::Cluster, name), Slot::held(before, now));
        }
        let mut changes = Changes::default();
        for name in &dirty.assignments {
            let Some(assignment) = self.assignments.get_mut(name.as_str()) else {
                continue;
            };
            if assignment.readers > 0 {
                let now = assignment.encode(Arc::from(name.as_str()), endpoints);
                if assignment.served.as_ref() != Some(&now) {
                    assignment.served = Some(now.clone());
                    changes.upserts.push(now);
                }
            } else {
                if assignment.served.is_some() {
                    changes
                        .removals
                        .push((ResourceKind::ClusterLoadAssignment, name.clone()));
                }
                self.assignments.remove(name.as_str());
            }
        }

        for ((kind, name), slot) in next {
            match slot.now {
                Some(resource) => {
                    let changed = slot.before.as_ref() != Some(&resource);
                    if slot.assembled {
                        self.assembled.insert((kind, name), resource.clone());
                    }
                    if changed {
                        changes.upserts.push(resource);
                    }
                }
                None => {
                    if slot.before.is_some() {
                        changes.removals.push((kind, name));
                    }
                }
            }
        }
        changes
            .upserts
            .sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        changes.removals.sort();
        changes
    }
}

/// A resource an update may change: what was served before (`None`: nothing), what is
/// served now, and whether the translator keeps it among the assembled ones.
struct Slot {
    before: Option<EncodedResource>,
    now: Option<EncodedResource>,
    assembled: bool,
}

impl Slot {
    fn assembled(before: Option<EncodedResource>, now: Option<EncodedResource>) -> Self {
        Self {
            before,
            now,
            assembled: true,
        }
    }

    fn held(before: Option<EncodedResource>, now: Option<EncodedResource>) -> Self {
        Self {
            before,
            now,
            assembled: false,
        }
    }
}

/// The clusters a host's parts use, each once.
fn clusters_of<'a>(
    plain: Option<&'a Part>,
    chain: Option<&'a Part>,
    https_routes: Option<&'a EncodedResource>,
) -> Vec<&'a str> {
    // A few names per host: a sorted list, not a set.
    let mut names: Vec<&str> = plain
        .into_iter()
        .chain(chain)
        .flat_map(|part| part.references.iter())
        .chain(https_routes.into_iter().flat_map(|r| r.references.iter()))
        .filter(|r| r.kind == ResourceKind::Cluster)
        .map(|r| &*r.name)
        .collect();
    if chain.is_none() && https_routes.is_none() {
        // A plain-HTTP part alone (most hosts) names its clusters sorted, each once
        // (`route::encoded_virtual_host`).
        debug_assert!(names.is_sorted_by(|a, b| a < b), "unsorted cluster references");
    } else {
        names.sort_unstable();
        names.dedup();
    }
    names
}

/// What an update must reassemble, with what was served before of what a host or a
/// reference count holds (`None`: nothing), noted before the update first touched it.
#[derive(Debug, Default)]
struct Dirty {
    /// The hosts taken in or let go of.
    fqdns: BTreeSet<String>,
    route_configs: BTreeSet<String>,
    /// Scopes and `https/<fqdn>` route configurations of those hosts.
    hosted: BTreeMap<(ResourceKind, String), Option<EncodedResource>>,
    chains: bool,
    secrets: BTreeMap<String, Option<EncodedResource>>,
    clusters: BTreeMap<String, Option<EncodedResource>>,
    assignments: BTreeSet<String>,
}

impl Dirty {
    /// Notes a cluster about to change, with what it served before any change.
    fn capture_cluster(&mut self, name: &str, entry: &ClusterEntry) {
        if !self.clusters.contains_key(name) {
            let served = (entry.users > 0).then(|| entry.resource.clone());
            self.clusters.insert(name.to_owned(), served);
        }
    }

    /// Notes a secret about to change, with what it served before any change.
    fn capture_secret(&mut self, name: &str, shared: &Shared) {
        if !self.secrets.contains_key(name) {
            let served = (shared.users > 0).then(|| shared.resource.clone());
            self.secrets.insert(name.to_owned(), served);
        }
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

/// A plain-HTTP route configuration from its hosts' parts, sorted by name; the parts then
/// point into its bytes.
fn plain_route_config(name: Arc<str>, hosts: Option<&mut BTreeMap<String, Part>>) -> EncodedResource {
    let empty = route::route_configuration(&name, Vec::new());
    let with_one = route::route_configuration(&name, vec![route_v3::VirtualHost::default()]);
    let mut parts: Vec<&mut Part> = hosts.map(|h| h.values_mut().collect()).unwrap_or_default();
    let any = splice(
        &route_v3::RouteConfiguration::type_url(),
        &empty.encode_to_vec(),
        &with_one.encode_to_vec(),
        2,
        &mut parts,
    );
    let references: Vec<Reference> = parts.iter().flat_map(|p| p.references.iter().cloned()).collect();
    EncodedResource::from_any(ResourceKind::RouteConfiguration, name, any, references)
}

/// The `ingress_http` listener.
fn http_listener(config: &EnvoyConfig) -> EncodedResource {
    let listener = listener::http_listener(config);
    let references = listener_refs(&listener).unwrap_or_default();
    EncodedResource::new(ResourceKind::Listener, listener.name.clone(), &listener, references)
}

/// The `ingress_https` listener from its filter chains, sorted by fqdn; the chains then
/// point into its bytes.
fn https_listener(chains: &mut BTreeMap<String, Part>, config: &EnvoyConfig) -> EncodedResource {
    let empty = listener::https_listener(Vec::new(), config);
    let mut with_one = empty.clone();
    with_one.filter_chains.push(listener_v3::FilterChain::default());
    let mut parts: Vec<&mut Part> = chains.values_mut().collect();
    let any = splice(
        &listener_v3::Listener::type_url(),
        &empty.encode_to_vec(),
        &with_one.encode_to_vec(),
        3,
        &mut parts,
    );
    let references: Vec<Reference> = parts.iter().flat_map(|p| p.references.iter().cloned()).collect();
    EncodedResource::from_any(ResourceKind::Listener, names::HTTPS_LISTENER, any, references)
}

/// The encoded `google.protobuf.Any` (as [`pack`](crate::pack) gives it) of a message of
/// `type_url` whose repeated field `field` holds `parts` (each the encoding of one
/// element), from the encoding of the message without them (`empty`) and with one default
/// element (`with_one`): protobuf puts a repeated field's elements together where the
/// field is encoded, which is where the two differ. Each part's bytes then become a slice
/// of the result, so that they are not kept twice.
fn splice(type_url: &str, empty: &[u8], with_one: &[u8], field: u32, parts: &mut [&mut Part]) -> Bytes {
    let at = empty
        .iter()
        .zip(with_one)
        .position(|(a, b)| a != b)
        .unwrap_or(empty.len());
    let length = |len: usize| u64::try_from(len).unwrap_or(u64::MAX);
    let value_len = empty.len()
        + parts
            .iter()
            .map(|p| encoding::key_len(field) + encoding::encoded_len_varint(length(p.bytes.len())) + p.bytes.len())
            .sum::<usize>();
    let mut buf = Vec::with_capacity(type_url.len() + value_len + 22);
    encoding::encode_key(1, WireType::LengthDelimited, &mut buf);
    encoding::encode_varint(length(type_url.len()), &mut buf);
    buf.extend_from_slice(type_url.as_bytes());
    if value_len > 0 {
        encoding::encode_key(2, WireType::LengthDelimited, &mut buf);
        encoding::encode_varint(length(value_len), &mut buf);
    }
    buf.extend_from_slice(empty.get(..at).unwrap_or_default());
    let mut spans = Vec::with_capacity(parts.len());
    for part in parts.iter() {
        encoding::encode_key(field, WireType::LengthDelimited, &mut buf);
        encoding::encode_varint(length(part.bytes.len()), &mut buf);
        let start = buf.len();
        buf.extend_from_slice(&part.bytes);
        spans.push(start..buf.len());
    }
    buf.extend_from_slice(empty.get(at..).unwrap_or_default());
    let any = Bytes::from(buf);
    for (part, span) in parts.iter_mut().zip(spans) {
        part.bytes = any.slice(span);
    }
    any
}
