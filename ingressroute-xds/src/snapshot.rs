//! Immutable, versioned snapshots of [`Resources`], and the [`Publisher`] that hands them
//! to the server.
//!
//! A snapshot keeps, per kind, a sorted map from name to a shared [`Entry`]: the resource
//! encoded once, its version (the hash of its bytes) and the names it uses. A snapshot
//! derived from another ([`Snapshot::derive`]) shares every entry that did not change and
//! encodes only the resources given to it.
//!
//! ```text
//!   Snapshot ─┬─ clusters:  name ─▶ Arc<Entry { version, Any bytes, references }>
//!             ├─ endpoints: name ─▶ Arc<Entry>   ◀── shared with the previous snapshot
//!             └─ ...                                 unless upserted or removed
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use prost::{Message, Name};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::{Error, Result};
use ingressroute_envoy::{Inconsistency, Reference, ResourceKind, Resources, pack};

/// The type URL of each kind, as a `&'static str`, made once.
pub(crate) fn type_url(kind: ResourceKind) -> &'static str {
    static URLS: std::sync::LazyLock<PerKind<String>> =
        std::sync::LazyLock::new(|| PerKind::from_fn(ResourceKind::type_url));
    URLS.get(kind)
}

/// The order in which removals are sent: whatever refers to a resource lets go of it
/// before it goes (listeners name scopes and route configurations, scopes name route
/// configurations, which name clusters, which read endpoints; listeners and clusters name
/// secrets). Updates go in [`ResourceKind::ALL`].
pub(crate) const REMOVAL_ORDER: [ResourceKind; ResourceKind::ALL.len()] = [
    ResourceKind::Listener,
    ResourceKind::ScopedRouteConfiguration,
    ResourceKind::RouteConfiguration,
    ResourceKind::Cluster,
    ResourceKind::ClusterLoadAssignment,
    ResourceKind::Secret,
];

/// The kind a type URL names, if this server serves it.
pub(crate) fn kind_of(type_url: &str) -> Option<ResourceKind> {
    ResourceKind::ALL
        .into_iter()
        .find(|kind| self::type_url(*kind) == type_url)
}

/// One value per resource kind, in [`ResourceKind::ALL`] order (which holds every kind).
#[derive(Debug, Clone, Default)]
pub(crate) struct PerKind<T>([T; ResourceKind::ALL.len()]);

/// The position of `kind` in [`ResourceKind::ALL`], which lists every kind.
fn index(kind: ResourceKind) -> usize {
    ResourceKind::ALL.iter().position(|k| *k == kind).unwrap_or_default()
}

impl<T> PerKind<T> {
    /// Builds each value from its kind.
    pub(crate) fn from_fn(mut f: impl FnMut(ResourceKind) -> T) -> Self {
        Self(ResourceKind::ALL.map(&mut f))
    }

    /// Each value through `f`, in [`ResourceKind::ALL`] order.
    pub(crate) fn map<U>(self, f: impl FnMut(T) -> U) -> PerKind<U> {
        PerKind(self.0.map(f))
    }

    /// The value of `kind`.
    #[allow(clippy::indexing_slicing)] // `index` is below 5
    pub(crate) fn get(&self, kind: ResourceKind) -> &T {
        &self.0[index(kind)]
    }

    /// The value of `kind`, to change.
    #[allow(clippy::indexing_slicing)] // `index` is below 5
    pub(crate) fn get_mut(&mut self, kind: ResourceKind) -> &mut T {
        &mut self.0[index(kind)]
    }
}

impl<T, E> PerKind<Result<T, E>> {
    /// Every value, or the first error in [`ResourceKind::ALL`] order.
    fn transpose(self) -> Result<PerKind<T>, E> {
        let [a, b, c, d, e, f] = self.0;
        Ok(PerKind([a?, b?, c?, d?, e?, f?]))
    }
}

/// Hashes `(name, version)` pairs, or bytes, into a 16-hex-digit version.
#[derive(Default)]
pub(crate) struct VersionHasher(Sha256);

impl VersionHasher {
    /// Adds one resource.
    pub(crate) fn add(&mut self, name: &str, version: &str) {
        // Names cannot hold NUL, so the pairs cannot run into each other.
        self.0.update(name.as_bytes());
        self.0.update([0]);
        self.0.update(version.as_bytes());
        self.0.update([0]);
    }

    /// The version of everything added.
    pub(crate) fn finish(self) -> String {
        short_hex(&self.0.finalize())
    }
}

/// The version of some encoded bytes.
fn content_version(bytes: &[u8]) -> String {
    short_hex(&Sha256::digest(bytes))
}

fn short_hex(digest: &[u8]) -> String {
    hex::encode(digest.get(..8).unwrap_or_default())
}

/// One version of one resource, encoded once and shared by every stream that sends it.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The resource's name.
    pub(crate) name: Arc<str>,
    /// The hash of [`Entry::any`].
    pub(crate) version: String,
    /// The encoded `google.protobuf.Any` (type URL and value).
    pub(crate) any: Bytes,
    /// An empty `ClusterLoadAssignment` standing in for a name that does not exist.
    pub(crate) placeholder: bool,
    /// The names the resource uses, which must exist in the same snapshot.
    pub(crate) references: Box<[Reference]>,
}

impl Entry {
    /// Packs `message` into an encoded `google.protobuf.Any`, in one pass.
    fn new<M: Message + Name>(name: &str, message: &M, references: Vec<Reference>) -> Self {
        let any = pack(message);
        Self {
            name: Arc::from(name),
            version: content_version(&any),
            any,
            placeholder: false,
            references: references.into_boxed_slice(),
        }
    }

    /// The empty `ClusterLoadAssignment` sent for an EDS name that does not exist, so that
    /// Envoy's cluster warming does not wait for it forever.
    pub(crate) fn placeholder(name: &Arc<str>) -> Arc<Self> {
        let assignment = endpoint_v3::ClusterLoadAssignment {
            cluster_name: name.to_string(),
            ..Default::default()
        };
        let any = pack(&assignment);
        Arc::new(Self {
            name: Arc::clone(name),
            version: content_version(&any),
            any,
            placeholder: true,
            references: Box::default(),
        })
    }

    /// What a reconnecting delta client says it has: a version, without the bytes.
    pub(crate) fn held(name: Arc<str>, version: String) -> Arc<Self> {
        Arc::new(Self {
            name,
            version,
            any: Bytes::new(),
            placeholder: false,
            references: Box::default(),
        })
    }
}

/// From this many resources on, [`Snapshot::new`] encodes each kind on a thread of its own.
const PARALLEL_ENCODING: usize = 1000;

static SERIAL: AtomicU64 = AtomicU64::new(1);

/// The resources of one kind, sorted by name.
pub(crate) type Entries = BTreeMap<Arc<str>, Arc<Entry>>;

/// The resources of one kind in one snapshot.
#[derive(Debug, Clone)]
pub(crate) struct KindSnapshot {
    /// Unique per distinct content of a kind; an unchanged kind keeps its serial from one
    /// snapshot to the next.
    pub(crate) serial: u64,
    /// The serial of the kind this one was compared with (0: none).
    pub(crate) parent: u64,
    /// The hash of every `(name, version)`.
    pub(crate) version: String,
    /// By name.
    pub(crate) entries: Entries,
    /// The names added, changed or removed since `parent`, sorted.
    pub(crate) changed: Vec<Arc<str>>,
}

/// Encodes `list` as entries, with the names each resource uses.
fn encode<'a, M: Message + Name + 'a>(
    list: impl IntoIterator<Item = &'a M>,
    references: Vec<(&str, Vec<Reference>)>,
) -> Vec<Arc<Entry>> {
    list.into_iter()
        .zip(references)
        .map(|(message, (name, references))| Arc::new(Entry::new(name, message, references)))
        .collect()
}

/// The entries of `kind` in `resources`, encoded, in the order of `resources`.
fn encode_kind(resources: &Resources, kind: ResourceKind) -> Result<Vec<Arc<Entry>>, Inconsistency> {
    let references = resources.references(kind)?;
    Ok(match kind {
        ResourceKind::Listener => encode(&resources.listeners, references),
        ResourceKind::ScopedRouteConfiguration => encode(&resources.scoped_routes, references),
        ResourceKind::RouteConfiguration => encode(&resources.routes, references),
        ResourceKind::Cluster => encode(&resources.clusters, references),
        ResourceKind::ClusterLoadAssignment => encode(&resources.endpoints, references),
        ResourceKind::Secret => encode(&resources.secrets, references),
        _ => Vec::new(),
    })
}

/// The version of a kind: the hash of every `(name, version)`, in order.
fn kind_version(entries: &Entries) -> String {
    let mut hasher = VersionHasher::default();
    for (name, entry) in entries {
        hasher.add(name, &entry.version);
    }
    hasher.finish()
}

impl KindSnapshot {
    fn new(resources: &Resources, kind: ResourceKind) -> Result<Self, Inconsistency> {
        let mut entries = Entries::new();
        for entry in encode_kind(resources, kind)? {
            // The first of two of the same name wins (`Resources::check_consistency`
            // refuses duplicates before this matters).
            entries.entry(Arc::clone(&entry.name)).or_insert(entry);
        }
        Ok(Self::from_entries(entries))
    }

    /// A kind holding `entries`.
    fn from_entries(entries: Entries) -> Self {
        Self {
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
            parent: 0,
            version: kind_version(&entries),
            entries,
            changed: Vec::new(),
        }
    }

    /// The resource named `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Arc<Entry>> {
        self.entries.get(name)
    }

    /// This kind, compared with `old`: what changed, and the old bytes of what did not.
    fn relink(mut self, old: &KindSnapshot) -> Self {
        let mut changed = Vec::new();
        let mut olds = old.entries.iter().peekable();
        for (name, entry) in &mut self.entries {
            while let Some((o, _)) = olds.next_if(|(o, _)| *o < name) {
                changed.push(Arc::clone(o));
            }
            match olds.next_if(|(o, _)| *o == name) {
                Some((_, o)) if o.version == entry.version => *entry = Arc::clone(o),
                _ => changed.push(Arc::clone(name)),
            }
        }
        changed.extend(olds.map(|(o, _)| Arc::clone(o)));
        changed.sort();
        self.changed = changed;
        self.parent = old.serial;
        self
    }

    /// This kind with `removals` gone and `upserts` added or replaced, sharing every entry
    /// that did not change; `None` when nothing changed.
    fn derive(&self, upserts: Vec<Arc<Entry>>, removals: &BTreeSet<&str>) -> Option<Self> {
        let mut entries = self.entries.clone();
        let mut changed = BTreeSet::new();
        for name in removals {
            if let Some((name, _)) = entries.remove_entry(*name) {
                changed.insert(name);
            }
        }
        for entry in upserts {
            match entries.get(&entry.name) {
                Some(old) if old.version == entry.version => {}
                _ => {
                    changed.insert(Arc::clone(&entry.name));
                    entries.insert(Arc::clone(&entry.name), entry);
                }
            }
        }
        if changed.is_empty() {
            return None;
        }
        Some(Self {
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
            parent: self.serial,
            version: kind_version(&entries),
            entries,
            changed: changed.into_iter().collect(),
        })
    }
}

/// Checks that every name the resources of `kinds` use exists, and that every
/// ClusterLoadAssignment is read by a cluster: [`Resources::check_consistency`] on the
/// entries' references. It looks at the whole snapshot; a caller that knows which names
/// changed may one day look only at those and at whoever uses them.
fn check(kinds: &PerKind<Arc<KindSnapshot>>) -> Result<(), Inconsistency> {
    let mut read: BTreeSet<&str> = BTreeSet::new();
    for kind in ResourceKind::ALL {
        for (name, entry) in &kinds.get(kind).entries {
            for reference in &entry.references {
                if !kinds.get(reference.kind).entries.contains_key(reference.name.as_str()) {
                    return Err(Inconsistency::Missing {
                        referrer_kind: kind,
                        referrer: name.to_string(),
                        kind: reference.kind,
                        name: reference.name.clone(),
                    });
                }
                if kind == ResourceKind::Cluster && reference.kind == ResourceKind::ClusterLoadAssignment {
                    read.insert(&reference.name);
                }
            }
        }
    }
    let endpoints = &kinds.get(ResourceKind::ClusterLoadAssignment).entries;
    if let Some(unread) = endpoints.keys().find(|name| !read.contains(name.as_ref())) {
        return Err(Inconsistency::Unreferenced {
            kind: ResourceKind::ClusterLoadAssignment,
            name: unread.to_string(),
        });
    }
    Ok(())
}

/// One complete, consistent set of Envoy resources, encoded and versioned, ready to be
/// served: what a [`Publisher`] publishes.
///
/// Building one encodes every resource once; every stream sends those bytes.
#[derive(Debug)]
pub struct Snapshot {
    kinds: PerKind<Arc<KindSnapshot>>,
    sources: BTreeMap<(ResourceKind, String), Vec<String>>,
    resolver: Option<Resolver>,
}

/// Finds the objects behind a resource when a NACK needs them (see
/// [`Snapshot::with_resolver`]).
#[derive(Clone)]
struct Resolver(Arc<ResolveFn>);

/// See [`Resolver`].
type ResolveFn = dyn Fn(ResourceKind, &str) -> Vec<String> + Send + Sync;

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

impl Snapshot {
    /// Checks that `resources` are consistent, then encodes and versions them.
    ///
    /// # Errors
    ///
    /// [`Error::Inconsistent`] when [`Resources::check_consistency`] fails: a snapshot that
    /// names something it does not hold would leave Envoy waiting for it.
    ///
    /// Large sets are encoded on one thread per kind: a configuration with ten thousand
    /// virtual hosts is megabytes of protobuf, and Envoy waits for it.
    pub fn new(resources: &Resources) -> Result<Self> {
        let count: usize = ResourceKind::ALL.iter().map(|kind| resources.len(*kind)).sum();
        let kinds = if count < PARALLEL_ENCODING {
            resources.check_consistency().map_err(Error::Inconsistent)?;
            PerKind::from_fn(|kind| KindSnapshot::new(resources, kind).map(Arc::new))
                .transpose()
                .map_err(Error::Inconsistent)?
        } else {
            std::thread::scope(|scope| {
                let encoding = PerKind::from_fn(|kind| scope.spawn(move || KindSnapshot::new(resources, kind)));
                let consistent = resources.check_consistency();
                let kinds = encoding
                    .map(|handle| {
                        handle
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                            .map(Arc::new)
                    })
                    .transpose();
                consistent.and(kinds)
            })
            .map_err(Error::Inconsistent)?
        };
        Ok(Self {
            kinds,
            sources: BTreeMap::new(),
            resolver: None,
        })
    }

    /// A snapshot like this one, with per kind the resources of `upserts` added (or
    /// replacing those of the same name) and the `(kind, name)`s of `removals` gone. Only
    /// the resources of `upserts` are encoded; every other resource keeps its entry, bytes
    /// and version, and a kind nothing changed in is shared whole. The result has the same
    /// versions and bytes as [`Snapshot::new`] of the resulting resources.
    ///
    /// A name both removed and upserted is upserted; a name upserted twice takes the last.
    /// The sources and the resolver are kept; add to them with [`Snapshot::with_source`],
    /// or replace the resolver with [`Snapshot::with_resolver`].
    ///
    /// This is how a change to one virtual host among thousands is served without encoding
    /// the others again (hand the result to [`Publisher::publish`]).
    ///
    /// # Errors
    ///
    /// [`Error::Inconsistent`] when a resource of the result names one that does not exist,
    /// or a ClusterLoadAssignment is read by no cluster (checked over the whole result for
    /// now), or a resource of `upserts` holds a malformed typed config.
    pub fn derive<S: AsRef<str>>(
        &self,
        upserts: &Resources,
        removals: impl IntoIterator<Item = (ResourceKind, S)>,
    ) -> Result<Self> {
        let removals: Vec<(ResourceKind, S)> = removals.into_iter().collect();
        let mut kinds = self.kinds.clone();
        for kind in ResourceKind::ALL {
            let removed: BTreeSet<&str> = removals
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, name)| name.as_ref())
                .collect();
            let upserted = encode_kind(upserts, kind).map_err(Error::Inconsistent)?;
            if removed.is_empty() && upserted.is_empty() {
                continue;
            }
            if let Some(derived) = self.kinds.get(kind).derive(upserted, &removed) {
                *kinds.get_mut(kind) = Arc::new(derived);
            }
        }
        check(&kinds).map_err(Error::Inconsistent)?;
        Ok(Self {
            kinds,
            sources: self.sources.clone(),
            resolver: self.resolver.clone(),
        })
    }

    /// Sets how to find the objects behind a resource when Envoy rejects it, computed only
    /// then (for example [`ingressroute_envoy::sources`] over the DAG the resources came from). Its
    /// answers are added to those given to [`Snapshot::with_source`].
    #[must_use]
    pub fn with_resolver(
        mut self,
        resolver: impl Fn(ResourceKind, &str) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.resolver = Some(Resolver(Arc::new(resolver)));
        self
    }

    /// Notes that the resource `name` of `kind` was produced by `source` (for example the
    /// `namespace/name` of an IngressRoute), so that a NACK of it names the object to fix.
    /// A resource may have several sources. Sources do not change versions.
    #[must_use]
    pub fn with_source(mut self, kind: ResourceKind, name: impl Into<String>, source: impl Into<String>) -> Self {
        self.sources.entry((kind, name.into())).or_default().push(source.into());
        self
    }

    /// The version of all the resources of `kind`: the hash of their names and versions.
    #[must_use]
    pub fn version(&self, kind: ResourceKind) -> &str {
        &self.kinds.get(kind).version
    }

    /// The version of one resource (a hash of its encoded bytes), if it exists.
    #[must_use]
    pub fn resource_version(&self, kind: ResourceKind, name: &str) -> Option<&str> {
        self.kinds.get(kind).get(name).map(|e| e.version.as_str())
    }

    /// The encoded `google.protobuf.Any` of one resource, as every response carries it,
    /// if it exists.
    #[must_use]
    pub fn encoded(&self, kind: ResourceKind, name: &str) -> Option<&[u8]> {
        self.kinds.get(kind).get(name).map(|e| e.any.as_ref())
    }

    /// The names of the resources of `kind`, in order.
    pub fn names(&self, kind: ResourceKind) -> impl Iterator<Item = &str> {
        self.kinds.get(kind).entries.keys().map(AsRef::as_ref)
    }

    /// The objects that produced a resource: those given to [`Snapshot::with_source`] and
    /// those the [resolver](Snapshot::with_resolver) finds, sorted and without repeats.
    #[must_use]
    pub fn sources(&self, kind: ResourceKind, name: &str) -> Vec<String> {
        let mut sources: Vec<String> = self.sources.get(&(kind, name.to_owned())).cloned().unwrap_or_default();
        if let Some(Resolver(resolve)) = &self.resolver {
            sources.extend(resolve(kind, name));
        }
        sources.sort();
        sources.dedup();
        sources
    }

    pub(crate) fn kind(&self, kind: ResourceKind) -> &Arc<KindSnapshot> {
        self.kinds.get(kind)
    }

    /// This snapshot following `previous`: unchanged kinds are `previous`'s own, changed
    /// ones know what changed. Also says whether anything changed.
    fn follow(mut self, previous: Option<&Snapshot>) -> (Self, bool) {
        let Some(previous) = previous else {
            return (self, true);
        };
        let mut changed = false;
        for kind in ResourceKind::ALL {
            let old = previous.kinds.get(kind);
            let slot = self.kinds.get_mut(kind);
            if old.version == slot.version {
                *slot = Arc::clone(old);
            } else if slot.parent == old.serial {
                // Derived from exactly this kind: it knows what changed already.
                changed = true;
            } else {
                changed = true;
                let taken = std::mem::replace(slot, Arc::clone(old));
                let new = Arc::try_unwrap(taken).unwrap_or_else(|shared| (*shared).clone());
                *slot = Arc::new(new.relink(old));
            }
        }
        (self, changed)
    }
}

/// The value the server watches: `None` until the first publish.
pub(crate) type Slot = Option<Arc<Snapshot>>;

/// The handle through which the owner of the objects publishes snapshots. Cheap to clone;
/// every clone publishes to the same servers.
#[derive(Debug, Clone)]
pub struct Publisher {
    tx: Arc<watch::Sender<Slot>>,
}

impl Default for Publisher {
    fn default() -> Self {
        Self::new()
    }
}

impl Publisher {
    /// A publisher with nothing published yet: a server reading it accepts streams but
    /// answers nothing until the first [`publish`](Publisher::publish) (the ready gate).
    #[must_use]
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(None)),
        }
    }

    /// Replaces the served snapshot and wakes every stream if any resource changed.
    /// Returns whether one did (a snapshot with the same content wakes nothing).
    pub fn publish(&self, snapshot: Snapshot) -> bool {
        let mut snapshot = Some(snapshot);
        self.tx.send_if_modified(|slot| {
            let Some(next) = snapshot.take() else { return false };
            let (next, changed) = next.follow(slot.as_deref());
            // Stored even when unchanged, so that new sources are used; not announced.
            *slot = Some(Arc::new(next));
            changed
        })
    }

    /// Publishes the served snapshot again with new ClusterLoadAssignments and nothing
    /// else changed: `assignment` gives the one for each EDS name the snapshot serves (for
    /// example [`Endpoints::cluster_load_assignment`](ingressroute_envoy::Endpoints::cluster_load_assignment)).
    /// This is how an endpoint change goes straight to EDS without translating anything
    /// else; since the set of names stays the same, the snapshot stays consistent.
    ///
    /// Returns whether any assignment changed; `false` when nothing is published yet. Call
    /// it from the task that publishes: a snapshot published meanwhile by another would be
    /// overwritten.
    pub fn publish_endpoints(&self, mut assignment: impl FnMut(&str) -> endpoint_v3::ClusterLoadAssignment) -> bool {
        let Some(current) = self.current() else {
            return false;
        };
        let entries = current
            .kind(ResourceKind::ClusterLoadAssignment)
            .entries
            .keys()
            .map(|name| {
                let mut assignment = assignment(name);
                assignment.cluster_name = name.to_string();
                (Arc::clone(name), Arc::new(Entry::new(name, &assignment, Vec::new())))
            })
            .collect();
        let mut kinds = current.kinds.clone();
        *kinds.get_mut(ResourceKind::ClusterLoadAssignment) = Arc::new(KindSnapshot::from_entries(entries));
        self.publish(Snapshot {
            kinds,
            sources: current.sources.clone(),
            resolver: current.resolver.clone(),
        })
    }

    /// Builds a [`Snapshot`] of `resources` and publishes it.
    ///
    /// # Errors
    ///
    /// [`Error::Inconsistent`] as [`Snapshot::new`]; the served snapshot is kept.
    pub fn publish_resources(&self, resources: &Resources) -> Result<bool> {
        Ok(self.publish(Snapshot::new(resources)?))
    }

    /// The snapshots as a server reads them.
    #[must_use]
    pub fn snapshots(&self) -> Snapshots {
        Snapshots {
            rx: self.tx.subscribe(),
        }
    }

    /// The snapshot served now, if one was published.
    #[must_use]
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.tx.borrow().clone()
    }
}

/// The reading side of a [`Publisher`]: what a [`Server`](crate::Server) serves from.
#[derive(Debug, Clone)]
pub struct Snapshots {
    rx: watch::Receiver<Slot>,
}

impl Snapshots {
    /// The snapshot served now, if one was published.
    #[must_use]
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.rx.borrow().clone()
    }

    pub(crate) fn into_receiver(self) -> watch::Receiver<Slot> {
        self.rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_urls_match_the_resource_kinds() {
        for kind in ResourceKind::ALL {
            assert_eq!(type_url(kind), kind.type_url());
            assert_eq!(kind_of(&kind.type_url()), Some(kind));
        }
        assert_eq!(kind_of("type.googleapis.com/envoy.config.core.v3.Node"), None);
    }

    #[test]
    fn an_empty_publish_then_the_same_content_again_changes_nothing() {
        let publisher = Publisher::new();
        assert!(publisher.current().is_none());
        assert!(publisher.publish_resources(&Resources::default()).unwrap());
        let first = publisher.current().unwrap();
        assert!(!publisher.publish_resources(&Resources::default()).unwrap());
        let second = publisher.current().unwrap();
        for kind in ResourceKind::ALL {
            assert!(Arc::ptr_eq(first.kind(kind), second.kind(kind)));
        }
    }

    #[test]
    fn a_packed_resource_is_the_encoded_any_of_it() {
        let mut resources = Resources::default();
        resources.endpoints.push(endpoint_v3::ClusterLoadAssignment {
            cluster_name: "default/kuard".into(),
            ..Default::default()
        });
        for (kind, expected) in [(ResourceKind::ClusterLoadAssignment, 1), (ResourceKind::Listener, 0)] {
            let packed = KindSnapshot::new(&resources, kind).unwrap();
            let encoded = resources.encoded(kind);
            assert_eq!(packed.entries.len(), expected);
            for (entry, (name, any)) in packed.entries.values().zip(encoded) {
                assert_eq!(*entry.name, *name);
                assert_eq!(entry.any.as_ref(), any.encode_to_vec().as_slice());
            }
        }
    }

    #[test]
    fn new_endpoints_replace_only_the_assignments_that_changed() {
        let publisher = Publisher::new();
        assert!(!publisher.publish_endpoints(|_| unreachable!("nothing is published")));
        let mut resources = Resources::default();
        for name in ["apps/a/http", "apps/b"] {
            use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
            resources.clusters.push(cluster_v3::Cluster {
                name: name.into(),
                cluster_discovery_type: Some(cluster_v3::cluster::ClusterDiscoveryType::Type(
                    cluster_v3::cluster::DiscoveryType::Eds.into(),
                )),
                ..Default::default()
            });
            resources.endpoints.push(endpoint_v3::ClusterLoadAssignment {
                cluster_name: name.into(),
                ..Default::default()
            });
        }
        let published = publisher.publish_resources(&resources).unwrap();
        assert!(published);
        let first = publisher.current().unwrap();

        let mut endpoints = ingressroute_envoy::Endpoints::new();
        let mut a = ingressroute_envoy::ServiceEndpoints::new();
        a.add("http", ingressroute_envoy::Endpoint::new([10, 0, 0, 1].into(), 8080));
        endpoints.insert_service(ingressroute_dag::ObjectRef::new("apps", "a"), a);
        assert!(publisher.publish_endpoints(|name| endpoints.cluster_load_assignment(name)));

        let second = publisher.current().unwrap();
        let eds = second.kind(ResourceKind::ClusterLoadAssignment);
        assert_eq!(eds.changed, [Arc::from("apps/a/http")]);
        assert_eq!(eds.parent, first.kind(ResourceKind::ClusterLoadAssignment).serial);
        assert!(Arc::ptr_eq(
            &eds.entries["apps/b"],
            &first.kind(ResourceKind::ClusterLoadAssignment).entries["apps/b"]
        ));
        for kind in [ResourceKind::Listener, ResourceKind::Cluster, ResourceKind::Secret] {
            assert!(Arc::ptr_eq(first.kind(kind), second.kind(kind)));
        }
        // The same endpoints again change nothing.
        assert!(!publisher.publish_endpoints(|name| endpoints.cluster_load_assignment(name)));
    }

    #[test]
    fn a_derived_snapshot_encodes_only_what_it_is_given_and_shares_the_rest() {
        let base = Snapshot::new(&eds_resources(3, true)).unwrap();
        let mut upserts = Resources::default();
        upserts.endpoints.push(endpoint_v3::ClusterLoadAssignment {
            cluster_name: "apps/s00001/http".into(),
            policy: Some(endpoint_v3::cluster_load_assignment::Policy {
                overprovisioning_factor: Some(envoy_types::pb::google::protobuf::UInt32Value { value: 140 }),
                ..Default::default()
            }),
            ..Default::default()
        });
        let derived = base.derive(&upserts, [(ResourceKind::Listener, "absent")]).unwrap();
        for kind in [ResourceKind::Listener, ResourceKind::Cluster, ResourceKind::Secret] {
            assert!(Arc::ptr_eq(base.kind(kind), derived.kind(kind)), "{kind}");
        }
        let (old, new) = (
            Arc::clone(base.kind(ResourceKind::ClusterLoadAssignment)),
            Arc::clone(derived.kind(ResourceKind::ClusterLoadAssignment)),
        );
        assert_eq!(new.parent, old.serial);
        assert_eq!(new.changed, [Arc::from("apps/s00001/http")]);
        for name in ["apps/s00000/http", "apps/s00002/http"] {
            assert!(Arc::ptr_eq(&old.entries[name], &new.entries[name]), "{name}");
        }
        assert_ne!(
            old.entries["apps/s00001/http"].version,
            new.entries["apps/s00001/http"].version
        );

        // Published after its base, it is taken as it is: it knows what changed.
        let publisher = Publisher::new();
        publisher.publish(base);
        assert!(publisher.publish(derived));
        let served = publisher.current().unwrap();
        assert!(Arc::ptr_eq(served.kind(ResourceKind::ClusterLoadAssignment), &new));
        // The same content again changes nothing.
        let again = served.derive(&upserts, Vec::<(ResourceKind, String)>::new()).unwrap();
        assert!(Arc::ptr_eq(again.kind(ResourceKind::ClusterLoadAssignment), &new));
        assert!(!publisher.publish(again));
    }

    /// `count` EDS clusters and, with `assignments`, their ClusterLoadAssignments.
    fn eds_resources(count: usize, assignments: bool) -> Resources {
        use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
        let mut resources = Resources::default();
        for i in 0..count {
            let name = format!("apps/s{i:05}/http");
            resources.clusters.push(cluster_v3::Cluster {
                name: name.clone(),
                cluster_discovery_type: Some(cluster_v3::cluster::ClusterDiscoveryType::Type(
                    cluster_v3::cluster::DiscoveryType::Eds.into(),
                )),
                ..Default::default()
            });
            if assignments {
                resources.endpoints.push(endpoint_v3::ClusterLoadAssignment {
                    cluster_name: name,
                    ..Default::default()
                });
            }
        }
        resources
    }

    #[test]
    fn large_sets_encoded_in_parallel_equal_one_kind_at_a_time() {
        let resources = eds_resources(PARALLEL_ENCODING, true);
        let snapshot = Snapshot::new(&resources).unwrap();
        for kind in ResourceKind::ALL {
            let alone = KindSnapshot::new(&resources, kind).unwrap();
            assert_eq!(snapshot.version(kind), alone.version, "{kind}");
            assert_eq!(snapshot.kind(kind).entries.len(), alone.entries.len());
        }
        assert_eq!(snapshot.names(ResourceKind::Cluster).count(), PARALLEL_ENCODING);
    }

    #[test]
    fn large_inconsistent_sets_are_refused_too() {
        for count in [1, PARALLEL_ENCODING] {
            let error = Snapshot::new(&eds_resources(count, false)).unwrap_err();
            assert!(matches!(error, Error::Inconsistent(_)), "{count}: {error}");
        }
    }

    #[test]
    fn placeholders_are_versioned_by_content() {
        let name: Arc<str> = Arc::from("default/kuard");
        assert_eq!(Entry::placeholder(&name).version, Entry::placeholder(&name).version);
        assert_ne!(
            Entry::placeholder(&name).version,
            Entry::placeholder(&Arc::from("default/other")).version
        );
    }
}
