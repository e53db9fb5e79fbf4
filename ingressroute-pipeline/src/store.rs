//! The store: every input object, kept as the build reads it, and what each change
//! affects.
//!
//! Why one file of this length: an eighth of it is tests, each change effect's beside the
//! code that decides it.
//!
//! Every event is applied, whatever it is. What [`Store::apply`] reports back
//! ([`Effect`]) says what the change calls for:
//!
//! * an IngressRoute whose spec, ingress class or rejection changed, or that came or
//!   went, and any TLSCertificateDelegation change: a rebuild;
//! * a Service or Secret whose routing-relevant content changed **and** that the last
//!   build looked up ([`Dag::references_service`], [`Dag::references_secret`]): a
//!   rebuild. Anything else about them cannot change the result;
//! * a change of a Service's ready endpoints: an EDS-only update, no rebuild;
//! * an IngressRoute update that changed nothing but its status, resourceVersion or
//!   managed fields: no rebuild, but its status may need writing again.
//!
//! The objects that made a rebuild necessary are named in [`Effect::changed`], so that a
//! build can be limited to what they reach.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use ingressroute_api::{INGRESS_CLASS_ANNOTATIONS, IngressRoute, IngressRouteStatus, TLSCertificateDelegation};
use ingressroute_dag::{Dag, ObjectRef, Objects, SecretError};
use ingressroute_envoy::{Endpoints, ServiceEndpoints};
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sha2::{Digest, Sha256};

use crate::object::{Event, Kind, Object, Undecodable};

/// The objects whose change calls for a rebuild, by kind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Changed {
    /// IngressRoutes (of the served class, before or after the change).
    pub ingress_routes: BTreeSet<ObjectRef>,
    /// TLSCertificateDelegations.
    pub delegations: BTreeSet<ObjectRef>,
    /// Services the last build looked up.
    pub services: BTreeSet<ObjectRef>,
    /// Secrets the last build looked up.
    pub secrets: BTreeSet<ObjectRef>,
}

impl Changed {
    /// Whether nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ingress_routes.is_empty()
            && self.delegations.is_empty()
            && self.services.is_empty()
            && self.secrets.is_empty()
    }

    /// Adds everything `other` names.
    pub fn extend(&mut self, other: &Changed) {
        self.ingress_routes.extend(other.ingress_routes.iter().cloned());
        self.delegations.extend(other.delegations.iter().cloned());
        self.services.extend(other.services.iter().cloned());
        self.secrets.extend(other.secrets.iter().cloned());
    }
}

/// What applying some events calls for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Effect {
    /// The DAG must be rebuilt.
    pub rebuild: bool,
    /// The objects that made the rebuild necessary (empty when something other than an
    /// object did, such as the first list).
    pub changed: Changed,
    /// Services whose ready endpoints changed.
    pub endpoints: BTreeSet<ObjectRef>,
    /// IngressRoutes whose stored copy changed: their status may need writing.
    pub routes: BTreeSet<ObjectRef>,
}

impl Effect {
    /// Whether nothing needs doing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.rebuild && self.endpoints.is_empty() && self.routes.is_empty()
    }

    /// Adds what `other` calls for.
    pub fn merge(&mut self, other: &Effect) {
        self.rebuild |= other.rebuild;
        self.changed.extend(&other.changed);
        self.endpoints.extend(other.endpoints.iter().cloned());
        self.routes.extend(other.routes.iter().cloned());
    }

    fn rebuild_for(&mut self, set: fn(&mut Changed) -> &mut BTreeSet<ObjectRef>, key: &ObjectRef) {
        self.rebuild = true;
        set(&mut self.changed).insert(key.clone());
    }
}

/// An IngressRoute as the store keeps it: the object the build reads, and the status and
/// resourceVersion of its latest version (newer than the object's own after an update
/// that changed nothing the build reads).
#[derive(Debug, Clone)]
struct StoredRoute {
    object: Arc<IngressRoute>,
    status: Option<IngressRouteStatus>,
    resource_version: Option<String>,
}

/// One EndpointSlice.
#[derive(Debug)]
struct Slice {
    /// Its Service (`kubernetes.io/service-name`), if labelled.
    service: Option<ObjectRef>,
    /// Its ready endpoints; `None` when it is the only slice of its Service, whose
    /// endpoints in [`Store::endpoints`] are then exactly its own (most Services have one
    /// slice, and this keeps a second copy of their endpoints out of memory).
    endpoints: Option<ServiceEndpoints>,
}

/// Every input object and the bookkeeping that tells which change matters.
#[derive(Debug)]
pub struct Store {
    /// The DAG's input.
    objects: Objects,
    /// The ready endpoints of every Service.
    endpoints: Endpoints,
    ingress_class: String,
    /// The IngressRoutes (the same allocations as in `objects`), with the status and
    /// resourceVersion of their latest version.
    routes: HashMap<ObjectRef, StoredRoute>,
    /// The description of each IngressRoute known to be invalid before the build.
    rejections: HashMap<ObjectRef, String>,
    delegations: HashMap<ObjectRef, Arc<TLSCertificateDelegation>>,
    /// A hash of the type and the usable keys of every Secret that has any.
    secrets: HashMap<ObjectRef, [u8; 32]>,
    /// Why each Secret meant for IngressRoutes that cannot be used cannot.
    unusable_secrets: HashMap<ObjectRef, SecretError>,
    /// Each EndpointSlice's Service and ready endpoints.
    slices: HashMap<ObjectRef, Slice>,
    /// The slices of each Service, sorted (a vector: most Services have one slice, and a
    /// `BTreeSet` of one takes a node with room for eleven).
    slices_by_service: HashMap<ObjectRef, Vec<ObjectRef>>,
    /// The IngressRoutes of the served class that do not decode; they count as absent.
    undecodable: BTreeMap<ObjectRef, Arc<Undecodable>>,
    /// The TLSCertificateDelegations that do not decode.
    undecodable_delegations: HashSet<ObjectRef>,
    /// Keys listed so far by an ongoing (re)list, per kind.
    relisting: BTreeMap<Kind, HashSet<ObjectRef>>,
    /// Kinds whose first list is complete.
    synced: BTreeSet<Kind>,
}

impl Store {
    /// An empty store for a controller of `ingress_class`.
    #[must_use]
    pub fn new(ingress_class: &str) -> Self {
        Self {
            objects: Objects::new(),
            endpoints: Endpoints::new(),
            ingress_class: ingress_class.to_owned(),
            routes: HashMap::new(),
            rejections: HashMap::new(),
            delegations: HashMap::new(),
            secrets: HashMap::new(),
            unusable_secrets: HashMap::new(),
            slices: HashMap::new(),
            slices_by_service: HashMap::new(),
            undecodable: BTreeMap::new(),
            undecodable_delegations: HashSet::new(),
            relisting: BTreeMap::new(),
            synced: BTreeSet::new(),
        }
    }

    /// The DAG's input.
    #[must_use]
    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    /// The ready endpoints of every Service.
    #[must_use]
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The ingress class this store serves.
    #[must_use]
    pub fn ingress_class(&self) -> &str {
        &self.ingress_class
    }

    /// Whether the first list of every kind is complete.
    #[must_use]
    pub fn synced(&self) -> bool {
        Kind::ALL.iter().all(|k| self.synced.contains(k))
    }

    /// Whether the first list of `kind` is complete.
    #[must_use]
    pub fn is_synced(&self, kind: Kind) -> bool {
        self.synced.contains(&kind)
    }

    /// The stored IngressRoute `key` (rejected ones included), as the build reads it.
    ///
    /// An update that changes nothing the build reads (its status, its resourceVersion, a
    /// label: anything but its spec and ingress class) keeps the stored object, which the
    /// last build shares, instead of holding a second copy of every IngressRoute after
    /// the statuses are written. Its status and resourceVersion may then be older than
    /// [`Store::ingress_route_status`] and [`Store::ingress_route_resource_version`].
    #[must_use]
    pub fn ingress_route(&self, key: &ObjectRef) -> Option<&Arc<IngressRoute>> {
        self.routes.get(key).map(|r| &r.object)
    }

    /// Every stored IngressRoute (rejected ones included) as the build reads it (see
    /// [`Store::ingress_route`]), in no particular order.
    pub fn ingress_routes(&self) -> impl Iterator<Item = (&ObjectRef, &Arc<IngressRoute>)> {
        self.routes.iter().map(|(key, r)| (key, &r.object))
    }

    /// The status of the latest version of the IngressRoute `key`; `None` when there is
    /// no such IngressRoute or it has no status.
    #[must_use]
    pub fn ingress_route_status(&self, key: &ObjectRef) -> Option<&IngressRouteStatus> {
        self.routes.get(key).and_then(|r| r.status.as_ref())
    }

    /// The resourceVersion of the latest version of the IngressRoute `key`.
    #[must_use]
    pub fn ingress_route_resource_version(&self, key: &ObjectRef) -> Option<&str> {
        self.routes.get(key).and_then(|r| r.resource_version.as_deref())
    }

    /// Why the stored Secret `key` cannot be used, when it is meant for IngressRoutes (a
    /// TLS or CA Secret) but malformed; it counts as missing (decision [D12](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d12)).
    #[must_use]
    pub fn unusable_secret(&self, key: &ObjectRef) -> Option<&SecretError> {
        self.unusable_secrets.get(key)
    }

    /// The IngressRoutes of the served class that do not decode.
    #[must_use]
    pub fn undecodable_routes(&self) -> &BTreeMap<ObjectRef, Arc<Undecodable>> {
        &self.undecodable
    }

    /// Whether the IngressRoute belongs to the served ingress class (its first class
    /// annotation is absent, empty or ours).
    #[must_use]
    pub fn accepts(&self, metadata: &ObjectMeta) -> bool {
        class(metadata).is_none_or(|c| c.is_empty() || c == self.ingress_class)
    }

    /// Applies one event and adds what it calls for to `effect`; `dag` is the last build,
    /// if any (before the first build every change is relevant).
    pub fn apply(&mut self, event: Event, dag: Option<&Dag>, effect: &mut Effect) {
        match event {
            Event::Init(kind) => {
                self.relisting.insert(kind, HashSet::new());
            }
            Event::InitApply(object) => {
                if let Some(seen) = self.relisting.get_mut(&object.kind()) {
                    seen.insert(object.key());
                }
                self.upsert(object, dag, effect);
            }
            Event::Apply(object) => self.upsert(object, dag, effect),
            Event::Delete(kind, key) => self.delete(kind, &key, dag, effect),
            Event::InitDone(kind) => {
                if let Some(seen) = self.relisting.remove(&kind) {
                    let gone: Vec<ObjectRef> = self.keys(kind).into_iter().filter(|k| !seen.contains(k)).collect();
                    for key in gone {
                        self.delete(kind, &key, dag, effect);
                    }
                }
                self.synced.insert(kind);
            }
        }
    }

    /// The keys stored of one kind (slices and Services fed by Endpoints, for
    /// [`Kind::Endpoints`]).
    fn keys(&self, kind: Kind) -> Vec<ObjectRef> {
        match kind {
            Kind::IngressRoute => self.routes.keys().chain(self.undecodable.keys()).cloned().collect(),
            Kind::Delegation => self
                .delegations
                .keys()
                .chain(&self.undecodable_delegations)
                .cloned()
                .collect(),
            Kind::Service => self.objects.services().map(|s| s.meta.clone()).collect(),
            Kind::Secret => self.secrets.keys().cloned().collect(),
            Kind::Endpoints => {
                let mut keys: Vec<ObjectRef> = self.slices.keys().cloned().collect();
                // Services fed from core/v1 Endpoints have no slice.
                keys.extend(
                    self.endpoints
                        .iter()
                        .map(|(k, _)| k)
                        .filter(|k| !self.slices_by_service.contains_key(*k))
                        .cloned(),
                );
                keys
            }
        }
    }

    fn upsert(&mut self, object: Object, dag: Option<&Dag>, effect: &mut Effect) {
        match object {
            Object::IngressRoute(route) => self.upsert_route(route, None, effect),
            Object::RejectedIngressRoute { route, description } => self.upsert_route(route, Some(description), effect),
            Object::Delegation(delegation) => {
                let key = ObjectRef::from_meta(&delegation.metadata);
                self.undecodable_delegations.remove(&key);
                let old = self.delegations.insert(key.clone(), Arc::clone(&delegation));
                self.objects.insert_delegation(Arc::clone(&delegation));
                if old.is_none_or(|old| old.spec != delegation.spec) {
                    effect.rebuild_for(|c| &mut c.delegations, &key);
                }
            }
            Object::Service(service) => {
                // What routing reads of a Service is kept once, in the DAG's input: the
                // copy it replaces tells a relevant change from a status update.
                let old = self.objects.service(&ObjectRef::from_meta(&service.metadata)).cloned();
                let key = self.objects.insert_service(&service);
                if old.as_deref() != self.objects.service(&key).map(AsRef::as_ref)
                    && dag.is_none_or(|d| d.references_service(&key))
                {
                    effect.rebuild_for(|c| &mut c.services, &key);
                }
            }
            Object::Secret(secret) => {
                let key = ObjectRef::from_meta(&secret.metadata);
                let fingerprint = fingerprint(&secret);
                // An unusable Secret is not stored (docs/decisions.md#d12); why is kept for
                // front ends that report it.
                match self.objects.insert_secret(&secret) {
                    Ok(_) => self.unusable_secrets.remove(&key),
                    Err(error) => self.unusable_secrets.insert(key.clone(), error),
                };
                let old = match fingerprint {
                    Some(f) => self.secrets.insert(key.clone(), f),
                    None => self.secrets.remove(&key),
                };
                if old != fingerprint && dag.is_none_or(|d| d.references_secret(&key)) {
                    effect.rebuild_for(|c| &mut c.secrets, &key);
                }
            }
            Object::EndpointSlice {
                slice,
                service,
                endpoints,
            } => self.upsert_slice(slice, service, endpoints, effect),
            Object::Endpoints { service, endpoints } => self.set_endpoints(&service, endpoints, effect),
            Object::Undecodable(undecodable) => self.upsert_undecodable(undecodable, dag, effect),
        }
    }

    fn upsert_route(&mut self, route: Arc<IngressRoute>, rejection: Option<String>, effect: &mut Effect) {
        let key = ObjectRef::from_meta(&route.metadata);
        let was_undecodable = self.undecodable.remove(&key).is_some();
        let old_rejection = match &rejection {
            Some(description) => self.rejections.insert(key.clone(), description.clone()),
            None => self.rejections.remove(&key),
        };
        let latest = StoredRoute {
            status: route.status.clone(),
            resource_version: route.metadata.resource_version.clone(),
            object: Arc::clone(&route),
        };
        let old = self.routes.insert(key.clone(), latest);
        let relevant = match &old {
            None => self.accepts(&route.metadata),
            Some(old) => {
                let old = &old.object;
                let rejection_changed = old_rejection.as_ref() != self.rejections.get(&key);
                let read_changed =
                    old.spec != route.spec || class(&old.metadata) != class(&route.metadata) || rejection_changed;
                if !read_changed && !was_undecodable {
                    // Nothing the build reads changed: the stored object stays, shared with
                    // the last build; only the latest status and resourceVersion are kept.
                    if let Some(stored) = self.routes.get_mut(&key) {
                        stored.object = Arc::clone(old);
                    }
                    effect.routes.insert(key);
                    return;
                }
                read_changed && (self.accepts(&old.metadata) || self.accepts(&route.metadata))
            }
        };
        match rejection {
            Some(description) => self.objects.insert_rejected_ingress_route(route, description),
            None => self.objects.insert_ingress_route(route),
        };
        if relevant || was_undecodable {
            effect.rebuild_for(|c| &mut c.ingress_routes, &key);
        }
        effect.routes.insert(key);
    }

    /// An object that does not decode takes the place of its last good version, as if
    /// that had been deleted; an IngressRoute of the served class is remembered for its
    /// status.
    fn upsert_undecodable(&mut self, undecodable: Arc<Undecodable>, dag: Option<&Dag>, effect: &mut Effect) {
        let key = undecodable.key.clone();
        match undecodable.kind {
            Kind::IngressRoute => {
                self.delete(Kind::IngressRoute, &key, dag, effect);
                if self.accepts(&undecodable.metadata) {
                    self.undecodable.insert(key.clone(), undecodable);
                } else {
                    self.undecodable.remove(&key);
                }
                effect.routes.insert(key);
            }
            Kind::Delegation => {
                self.delete(Kind::Delegation, &key, dag, effect);
                self.undecodable_delegations.insert(key);
            }
            // Only the custom resources are decoded leniently.
            Kind::Service | Kind::Secret | Kind::Endpoints => {}
        }
    }

    fn delete(&mut self, kind: Kind, key: &ObjectRef, dag: Option<&Dag>, effect: &mut Effect) {
        match kind {
            Kind::IngressRoute => {
                if self.undecodable.remove(key).is_some() {
                    effect.routes.insert(key.clone());
                }
                self.rejections.remove(key);
                if let Some(old) = self.routes.remove(key) {
                    self.objects.remove_ingress_route(key);
                    if self.accepts(&old.object.metadata) {
                        effect.rebuild_for(|c| &mut c.ingress_routes, key);
                    }
                    effect.routes.insert(key.clone());
                }
            }
            Kind::Delegation => {
                self.undecodable_delegations.remove(key);
                if self.delegations.remove(key).is_some() {
                    self.objects.remove_delegation(key);
                    effect.rebuild_for(|c| &mut c.delegations, key);
                }
            }
            Kind::Service => {
                if self.objects.remove_service(key) && dag.is_none_or(|d| d.references_service(key)) {
                    effect.rebuild_for(|c| &mut c.services, key);
                }
            }
            Kind::Secret => {
                self.objects.remove_secret(key);
                self.unusable_secrets.remove(key);
                if self.secrets.remove(key).is_some() && dag.is_none_or(|d| d.references_secret(key)) {
                    effect.rebuild_for(|c| &mut c.secrets, key);
                }
            }
            Kind::Endpoints => {
                if let Some(slice) = self.slices.remove(key) {
                    if let Some(service) = slice.service {
                        self.remove_slice_from(&service, key, effect);
                    }
                } else {
                    self.set_endpoints(key, ServiceEndpoints::new(), effect);
                }
            }
        }
    }

    fn upsert_slice(
        &mut self,
        slice: ObjectRef,
        service: Option<ObjectRef>,
        endpoints: ServiceEndpoints,
        effect: &mut Effect,
    ) {
        let old_service = self.slices.get(&slice).and_then(|s| s.service.clone());
        if let Some(old) = old_service.filter(|old| Some(old) != service.as_ref()) {
            // Relabelled to another Service.
            self.remove_slice_from(&old, &slice, effect);
        }
        let Some(service) = service else {
            self.slices.insert(
                slice,
                Slice {
                    service: None,
                    endpoints: None,
                },
            );
            return;
        };
        let siblings: Vec<ObjectRef> = self
            .slices_by_service
            .get(&service)
            .into_iter()
            .flatten()
            .filter(|s| **s != slice)
            .cloned()
            .collect();
        let slices = self
            .slices_by_service
            .entry(service.clone())
            .or_insert_with(|| Vec::with_capacity(1));
        if let Err(i) = slices.binary_search(&slice) {
            slices.insert(i, slice.clone());
        }
        if siblings.is_empty() {
            self.slices.insert(
                slice,
                Slice {
                    service: Some(service.clone()),
                    endpoints: None,
                },
            );
            self.set_endpoints(&service, endpoints, effect);
            return;
        }
        // A sole sibling keeps its endpoints only in `self.endpoints`: copy them out
        // before they are merged with this slice's.
        for sibling in siblings {
            let current = self.endpoints.get(&service).cloned().unwrap_or_default();
            if let Some(entry) = self.slices.get_mut(&sibling)
                && entry.endpoints.is_none()
            {
                entry.endpoints = Some(current);
            }
        }
        self.slices.insert(
            slice,
            Slice {
                service: Some(service.clone()),
                endpoints: Some(endpoints),
            },
        );
        self.merge_slices(&service, effect);
    }

    /// Takes a slice away from its Service and recomputes the Service's endpoints.
    fn remove_slice_from(&mut self, service: &ObjectRef, slice: &ObjectRef, effect: &mut Effect) {
        if let Some(slices) = self.slices_by_service.get_mut(service) {
            if let Ok(i) = slices.binary_search(slice) {
                slices.remove(i);
            }
            if slices.is_empty() {
                self.slices_by_service.remove(service);
            }
        }
        let remaining: Vec<ObjectRef> = self
            .slices_by_service
            .get(service)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        self.merge_slices(service, effect);
        if let [only] = remaining.as_slice()
            && let Some(entry) = self.slices.get_mut(only)
        {
            // The only slice left: its endpoints are the Service's now.
            entry.endpoints = None;
        }
    }

    /// Recomputes a Service's endpoints from all of its slices.
    fn merge_slices(&mut self, service: &ObjectRef, effect: &mut Effect) {
        let mut merged = ServiceEndpoints::new();
        for slice in self.slices_by_service.get(service).into_iter().flatten() {
            let own = self.slices.get(slice).and_then(|s| s.endpoints.as_ref());
            let endpoints = own.or_else(|| self.endpoints.get(service));
            if let Some(endpoints) = endpoints {
                for port in endpoints.port_names() {
                    for endpoint in endpoints.port(port) {
                        merged.add(port, endpoint.clone());
                    }
                }
            }
        }
        self.set_endpoints(service, merged, effect);
    }

    /// Stores a Service's endpoints (none: removed) and notes whether they changed.
    fn set_endpoints(&mut self, service: &ObjectRef, endpoints: ServiceEndpoints, effect: &mut Effect) {
        let changed = match self.endpoints.get(service) {
            Some(old) => *old != endpoints,
            None => !endpoints.is_empty(),
        };
        if !changed {
            return;
        }
        if endpoints.is_empty() {
            self.endpoints.remove(service);
        } else {
            self.endpoints.insert_service(service.clone(), endpoints);
        }
        effect.endpoints.insert(service.clone());
    }
}

/// The ingress class named in an object's metadata: the first class annotation present
/// (docs/behaviour.md#s1-9).
fn class(metadata: &ObjectMeta) -> Option<&str> {
    let annotations = metadata.annotations.as_ref()?;
    INGRESS_CLASS_ANNOTATIONS
        .iter()
        .find_map(|key| annotations.get(*key))
        .map(String::as_str)
}

/// A hash of what routing reads of a Secret (its type and data), or `None` when it has
/// no data.
fn fingerprint(secret: &core_v1::Secret) -> Option<[u8; 32]> {
    let data = secret.data.as_ref().filter(|d| !d.is_empty());
    let string_data = secret.string_data.as_ref().filter(|d| !d.is_empty());
    if data.is_none() && string_data.is_none() {
        return None;
    }
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update(u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_le_bytes());
        hash.update(bytes);
    };
    field(secret.type_.as_deref().unwrap_or_default().as_bytes());
    for (key, value) in data.into_iter().flatten() {
        field(b"d");
        field(key.as_bytes());
        field(&value.0);
    }
    for (key, value) in string_data.into_iter().flatten() {
        field(b"s");
        field(key.as_bytes());
        field(value.as_bytes());
    }
    Some(hash.finalize().into())
}

#[cfg(test)]
mod tests {
    use ingressroute_envoy::Endpoint;

    use super::*;

    fn ready(addresses: &[&str]) -> ServiceEndpoints {
        let mut endpoints = ServiceEndpoints::new();
        for a in addresses {
            endpoints.add("http", Endpoint::parse(a, 8080).unwrap());
        }
        endpoints
    }

    fn slice(store: &mut Store, name: &str, service: &str, addresses: &[&str]) -> Effect {
        let mut effect = Effect::default();
        let object = Object::EndpointSlice {
            slice: ObjectRef::new("ns", name),
            service: Some(ObjectRef::new("ns", service)),
            endpoints: ready(addresses),
        };
        store.apply(Event::Apply(object), None, &mut effect);
        effect
    }

    fn delete(store: &mut Store, name: &str) -> Effect {
        let mut effect = Effect::default();
        store.apply(
            Event::Delete(Kind::Endpoints, ObjectRef::new("ns", name)),
            None,
            &mut effect,
        );
        effect
    }

    fn addresses(store: &Store, service: &str) -> Vec<String> {
        store
            .endpoints
            .get(&ObjectRef::new("ns", service))
            .map(|e| e.port("http").map(|e| e.address().to_owned()).collect())
            .unwrap_or_default()
    }

    fn copies(store: &Store) -> usize {
        store.slices.values().filter(|s| s.endpoints.is_some()).count()
    }

    #[test]
    fn a_sole_slice_keeps_no_second_copy_and_siblings_merge() {
        let mut store = Store::new("contour");
        assert_eq!(slice(&mut store, "a", "web", &["10.0.0.1"]).endpoints.len(), 1);
        assert_eq!(addresses(&store, "web"), ["10.0.0.1"]);
        assert_eq!(copies(&store), 0);

        slice(&mut store, "b", "web", &["10.0.0.2"]);
        assert_eq!(addresses(&store, "web"), ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(copies(&store), 2);

        slice(&mut store, "a", "web", &["10.0.0.3"]);
        assert_eq!(addresses(&store, "web"), ["10.0.0.2", "10.0.0.3"]);

        delete(&mut store, "b");
        assert_eq!(addresses(&store, "web"), ["10.0.0.3"]);
        assert_eq!(copies(&store), 0);

        // The remaining slice still updates its Service alone.
        slice(&mut store, "a", "web", &["10.0.0.4"]);
        assert_eq!(addresses(&store, "web"), ["10.0.0.4"]);
        assert!(!delete(&mut store, "a").endpoints.is_empty());
        assert!(store.endpoints.is_empty());
    }

    #[test]
    fn a_relabelled_slice_moves_its_endpoints_to_the_other_service() {
        let mut store = Store::new("contour");
        slice(&mut store, "a", "web", &["10.0.0.1"]);
        slice(&mut store, "b", "web", &["10.0.0.2"]);
        let effect = slice(&mut store, "b", "api", &["10.0.0.2"]);
        assert_eq!(effect.endpoints.len(), 2);
        assert_eq!(addresses(&store, "web"), ["10.0.0.1"]);
        assert_eq!(addresses(&store, "api"), ["10.0.0.2"]);
        assert_eq!(copies(&store), 0);
    }

    #[test]
    fn an_unchanged_slice_changes_nothing() {
        let mut store = Store::new("contour");
        slice(&mut store, "a", "web", &["10.0.0.1"]);
        assert!(slice(&mut store, "a", "web", &["10.0.0.1"]).is_empty());
    }

    fn route(resource_version: &str, prefix: &str, status: Option<&str>) -> Arc<IngressRoute> {
        let mut route: IngressRoute = serde_json::from_value(serde_json::json!({
            "apiVersion": "contour.heptio.com/v1beta1",
            "kind": "IngressRoute",
            "metadata": {"name": "web", "namespace": "ns", "resourceVersion": resource_version},
            "spec": {
                "virtualhost": {"fqdn": "web.example.com"},
                "routes": [{"match": prefix, "services": [{"name": "web", "port": 80}]}]
            }
        }))
        .unwrap();
        route.status = status.map(|s| IngressRouteStatus {
            current_status: s.to_owned(),
            description: String::new(),
        });
        Arc::new(route)
    }

    fn apply_route(store: &mut Store, route: &Arc<IngressRoute>) -> Effect {
        let mut effect = Effect::default();
        store.apply(Event::Apply(Object::IngressRoute(Arc::clone(route))), None, &mut effect);
        effect
    }

    #[test]
    fn an_update_the_build_does_not_read_keeps_the_shared_object_and_the_latest_status() {
        let key = ObjectRef::new("ns", "web");
        let mut store = Store::new("contour");
        let first = route("1", "/", None);
        assert!(apply_route(&mut store, &first).rebuild);

        // A status write comes back: same spec, new status and resourceVersion.
        let written = route("2", "/", Some("valid"));
        let effect = apply_route(&mut store, &written);
        assert!(!effect.rebuild);
        assert!(effect.routes.contains(&key));
        assert!(Arc::ptr_eq(store.ingress_route(&key).unwrap(), &first));
        assert_eq!(store.ingress_route_status(&key).unwrap().current_status, "valid");
        assert_eq!(store.ingress_route_resource_version(&key), Some("2"));
        assert_eq!(Arc::strong_count(&written), 1, "the new copy is not kept");

        // A change the build reads replaces the object.
        let edited = route("3", "/api", Some("valid"));
        assert!(apply_route(&mut store, &edited).rebuild);
        assert!(Arc::ptr_eq(store.ingress_route(&key).unwrap(), &edited));
        assert_eq!(store.ingress_route_resource_version(&key), Some("3"));
    }
}
