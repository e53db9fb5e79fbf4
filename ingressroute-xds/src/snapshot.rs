//! Immutable, versioned snapshots of Envoy resources, and the [`Publisher`] that hands them
//! to the server.
//!
//! Why one file of this length: the snapshot, its derivation, its versions and its
//! consistency check keep one invariant together (a derived snapshot equals one built from
//! scratch); the [`Publisher`] that hands snapshots out is small. A fifth of it is tests.
//!
//! A snapshot keeps, per kind, a sorted map from name to a shared [`Entry`]: the resource's
//! encoded `google.protobuf.Any` (bytes shared with whoever encoded it), its version (a
//! hash of those bytes) and the names it uses. Beside them it keeps, per kind, how many
//! entries refer to each name. A snapshot derived from another ([`Snapshot::derive_encoded`])
//! costs time proportional to the change: it shares every entry, map node and count that
//! did not change, and updates the kind versions and checks consistency for the changed
//! names alone.
//!
//! ```text
//!   Snapshot ─┬─ kinds:      clusters:  OrdMap name ─▶ Arc<Entry { version, Any bytes, references }>
//!             │              endpoints: OrdMap ...   ◀── nodes shared with the parent snapshot
//!             │              ...                         but on the paths to changed names
//!             └─ referrers:  clusters:  OrdMap name ─▶ how many entries name it
//!                            ...
//! ```
//!
//! # The maps
//!
//! Entries and reference counts live in [`imbl::OrdMap`]s, persistent B-trees (up to 16
//! keys a node): cloning one is a reference count, and changing one name in a clone copies
//! the few nodes on its path (four levels at 10k names) instead of the whole map. Measured
//! at dataset L (10k clusters, 10k assignments, 10k scopes, 2k route configurations, 2k
//! secrets; `benches/snapshot.rs`), one IngressRoute's change (a route configuration, a
//! new cluster and its assignment) derives in 12-17 µs from encoded resources (35-45 µs
//! encoding them), where cloning a `BTreeMap` of each changed kind, hashing each of its
//! entries again and checking every reference of the snapshot took 13-18 ms. The price is
//! paid when building from scratch: [`Snapshot::new`] takes about 10% longer (220 ms
//! against 200 ms), mostly to count the references. A maintained crate, rather than
//! `Arc`ed chunks of our own, because a persistent B-tree also keeps lookups and ordered
//! walks (what streams do) logarithmic and linear.
//!
//! # Versions
//!
//! A resource's version is the first 8 bytes, in hex, of the SHA-256 of its encoded `Any`.
//! A kind's version must be a pure function of its `(name, version)` pairs, so that two
//! servers holding the same resources agree (docs/decisions.md#d14), and must be updated in
//! constant time when one resource changes. It is the first 16 hex digits of the sum,
//! modulo 2^128, over the kind's resources, of the first 16 bytes (big-endian) of
//! `SHA-256(name NUL version NUL)`: adding, removing or replacing one resource adds or
//! subtracts its share ([`VersionSum`]). Such sums are not collision resistant against
//! someone who picks thousands of names on purpose, so a kind's version decides little on
//! its own (whether a reconnecting SotW client already has everything): streams compare
//! each resource's version, and a snapshot built from scratch is compared with the served
//! one entry by entry.
//!
//! # Consistency
//!
//! Every snapshot is consistent: every name a resource uses exists, and every
//! ClusterLoadAssignment is named by some resource (a cluster). A snapshot from
//! [`Snapshot::new`] or [`Snapshot::from_encoded`] is checked whole, once, which also
//! counts the references to each name. A derivation checks only what it changed: the
//! names an upserted resource starts to use exist, no removed name is still counted as
//! used, and an assignment whose count drops to zero is removed (an added one is used).
//! When that finds a fault, the result is checked whole to report the same error as a
//! snapshot from scratch would.
//!
//! Nothing here decodes a resource: the rules that need the messages themselves (names
//! sorted in `Resources`, a listener taking scopes over Scoped RDS exactly when there are
//! scopes) are checked by [`Snapshot::new`], through [`Resources::check_consistency`],
//! and are otherwise for whoever encoded the resources.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use imbl::OrdMap;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::{Error, Result};
use ingressroute_envoy::{EncodedResource, Inconsistency, Reference, ResourceKind, Resources, pack};
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

    /// Each value and its kind through `f`, in [`ResourceKind::ALL`] order.
    fn map_kind<U>(self, mut f: impl FnMut(ResourceKind, T) -> U) -> PerKind<U> {
        let [a, b, c, d, e, g] = self.0;
        let [ka, kb, kc, kd, ke, kg] = ResourceKind::ALL;
        PerKind([f(ka, a), f(kb, b), f(kc, c), f(kd, d), f(ke, e), f(kg, g)])
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

/// The version of a set of resources, kept so that one resource can be added or taken away
/// in constant time: the sum, modulo 2^128, of each resource's [`Entry::share`] (see the
/// module's "Versions").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct VersionSum(u128);

impl VersionSum {
    /// Counts `entry` in.
    pub(crate) fn add(&mut self, entry: &Entry) {
        self.0 = self.0.wrapping_add(entry.share);
    }

    /// Counts `entry` out.
    fn remove(&mut self, entry: &Entry) {
        self.0 = self.0.wrapping_sub(entry.share);
    }

    /// The version: the sum's first 16 hex digits.
    pub(crate) fn version(self) -> String {
        format!("{:016x}", u64::try_from(self.0 >> 64).unwrap_or_default())
    }
}

/// A resource's share of its kind's version: the first 16 bytes of
/// `SHA-256(name NUL version NUL)` (names hold no NUL, so pairs cannot run into each other).
fn share(name: &str, version: &str) -> u128 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(version.as_bytes());
    hasher.update([0]);
    let digest = hasher.finalize();
    u128::from_be_bytes(digest.first_chunk::<16>().copied().unwrap_or_default())
}

/// The version of some encoded bytes.
fn content_version(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes).get(..8).unwrap_or_default())
}

/// One version of one resource, encoded once and shared by every stream that sends it.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The resource's name.
    pub(crate) name: Arc<str>,
    /// The hash of [`Entry::any`].
    pub(crate) version: String,
    /// This resource's share of its kind's version (see [`VersionSum`]).
    pub(crate) share: u128,
    /// The encoded `google.protobuf.Any` (type URL and value).
    pub(crate) any: Bytes,
    /// An empty `ClusterLoadAssignment` standing in for a name that does not exist.
    pub(crate) placeholder: bool,
    /// The names the resource uses, which must exist in the same snapshot: sorted, without
    /// repeats. Shared with the [`EncodedResource`] it came from when that list already is
    /// (an incremental translation's are), rather than copied for every resource.
    pub(crate) references: Arc<[Reference]>,
}

impl Entry {
    /// The resource `name`, encoded as `any`, using `references`; versioned here.
    fn new(name: Arc<str>, any: Bytes, references: Arc<[Reference]>) -> Self {
        let references = if references.is_sorted_by(|a, b| a < b) {
            references
        } else {
            let mut sorted = references.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            Arc::from(sorted)
        };
        let version = content_version(&any);
        Self {
            share: share(&name, &version),
            name,
            version,
            any,
            placeholder: false,
            references,
        }
    }

    /// The entry of an encoded resource, sharing its bytes.
    fn encoded(resource: EncodedResource) -> Self {
        Self::new(resource.name, resource.any, resource.references)
    }

    /// The empty `ClusterLoadAssignment` sent for an EDS name that does not exist, so that
    /// Envoy's cluster warming does not wait for it forever.
    pub(crate) fn placeholder(name: &Arc<str>) -> Arc<Self> {
        let assignment = endpoint_v3::ClusterLoadAssignment {
            cluster_name: name.to_string(),
            ..Default::default()
        };
        let mut entry = Self::new(Arc::clone(name), pack(&assignment), Arc::default());
        entry.placeholder = true;
        Arc::new(entry)
    }

    /// What a reconnecting delta client says it has: a version, without the bytes.
    pub(crate) fn held(name: Arc<str>, version: String) -> Arc<Self> {
        Arc::new(Self {
            share: share(&name, &version),
            name,
            version,
            any: Bytes::new(),
            placeholder: false,
            references: Arc::default(),
        })
    }
}

/// From this many resources on, a snapshot is built (encoded and hashed) on one thread per
/// kind.
const PARALLEL_ENCODING: usize = 1000;

static SERIAL: AtomicU64 = AtomicU64::new(1);

/// The resources of one kind, sorted by name.
pub(crate) type Entries = OrdMap<Arc<str>, Arc<Entry>>;

/// How many entries of a snapshot use each name of one kind; names nobody uses are absent.
type Referrers = OrdMap<Arc<str>, u32>;

/// The resources of one kind in one snapshot.
#[derive(Debug, Clone)]
pub(crate) struct KindSnapshot {
    /// Unique per distinct content of a kind; an unchanged kind keeps its serial from one
    /// snapshot to the next.
    pub(crate) serial: u64,
    /// The serial of the kind this one was compared with (0: none).
    pub(crate) parent: u64,
    /// The version of every `(name, version)`: [`VersionSum::version`] of `sum`.
    pub(crate) version: String,
    sum: VersionSum,
    /// By name.
    pub(crate) entries: Entries,
    /// The names added, changed or removed since `parent`, sorted.
    pub(crate) changed: Vec<Arc<str>>,
}

/// The resources of `kind` in `resources`, encoded, in the order of `resources`.
fn encode_kind(resources: &Resources, kind: ResourceKind) -> Result<Vec<EncodedResource>, Inconsistency> {
    fn encode<M: prost::Message + prost::Name>(
        kind: ResourceKind,
        list: &[M],
        references: Vec<(&str, Vec<Reference>)>,
    ) -> Vec<EncodedResource> {
        list.iter()
            .zip(references)
            .map(|(message, (name, references))| EncodedResource::new(kind, name, message, references))
            .collect()
    }
    let references = resources.references(kind)?;
    Ok(match kind {
        ResourceKind::Listener => encode(kind, &resources.listeners, references),
        ResourceKind::ScopedRouteConfiguration => encode(kind, &resources.scoped_routes, references),
        ResourceKind::RouteConfiguration => encode(kind, &resources.routes, references),
        ResourceKind::Cluster => encode(kind, &resources.clusters, references),
        ResourceKind::ClusterLoadAssignment => encode(kind, &resources.endpoints, references),
        ResourceKind::Secret => encode(kind, &resources.secrets, references),
        _ => Vec::new(),
    })
}

/// The encoded resources of every kind of `resources`.
fn encode_all(resources: &Resources) -> Result<Vec<EncodedResource>, Inconsistency> {
    let mut all = Vec::new();
    for kind in ResourceKind::ALL {
        all.extend(encode_kind(resources, kind)?);
    }
    Ok(all)
}

/// What a derivation changed, for the incremental consistency check: borrowed from the
/// parent's entries and the upserted ones.
#[derive(Debug, Default)]
struct Changes<'a> {
    /// The change of the count of references to each `(kind, name)`.
    references: BTreeMap<(ResourceKind, &'a str), i64>,
    /// Names that stopped existing.
    gone: Vec<(ResourceKind, &'a str)>,
    /// Names that started existing.
    added: Vec<(ResourceKind, &'a str)>,
}

impl<'a> Changes<'a> {
    /// Counts the references of an entry that used `old` and now uses `new` (both sorted
    /// without repeats): only the difference.
    fn count(&mut self, old: &'a [Reference], new: &'a [Reference]) {
        let (mut old, mut new) = (old.iter().peekable(), new.iter().peekable());
        loop {
            let (reference, delta) = match (old.peek(), new.peek()) {
                (None, None) => return,
                (Some(o), Some(n)) if o == n => {
                    old.next();
                    new.next();
                    continue;
                }
                (Some(o), Some(n)) if o < n => (old.next(), -1),
                (Some(_), None) => (old.next(), -1),
                _ => (new.next(), 1),
            };
            if let Some(reference) = reference {
                *self.references.entry((reference.kind, &*reference.name)).or_default() += delta;
            }
        }
    }
}

impl KindSnapshot {
    /// A kind holding `list`, which must have distinct names.
    fn from_entries(kind: ResourceKind, mut list: Vec<Arc<Entry>>) -> Result<Self, Inconsistency> {
        // Inserted in order, each insertion stays on the map's rightmost, cached, path.
        list.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let duplicate = list.windows(2).find_map(|pair| match pair {
            [a, b] if a.name == b.name => Some(a.name.to_string()),
            _ => None,
        });
        if let Some(name) = duplicate {
            return Err(Inconsistency::Duplicate { kind, name });
        }
        let mut sum = VersionSum::default();
        let mut entries = Entries::new();
        for entry in list {
            sum.add(&entry);
            entries.insert(Arc::clone(&entry.name), entry);
        }
        Ok(Self {
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
            parent: 0,
            version: sum.version(),
            sum,
            entries,
            changed: Vec::new(),
        })
    }

    /// A kind holding the resources `list` (all of `kind`), versioned here.
    fn from_encoded(kind: ResourceKind, list: Vec<EncodedResource>) -> Result<Self, Inconsistency> {
        Self::from_entries(kind, list.into_iter().map(|r| Arc::new(Entry::encoded(r))).collect())
    }

    /// The resource named `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Arc<Entry>> {
        self.entries.get(name)
    }

    /// This kind compared with `old`, entry by entry: what changed, and `old`'s entries
    /// where the versions are the same (so that streams keep sharing them); `None` when
    /// nothing changed.
    fn relink(mut self, old: &KindSnapshot) -> Option<Self> {
        let mut changed = Vec::new();
        let mut same = Vec::new();
        let mut olds = old.entries.iter().peekable();
        for (name, entry) in &self.entries {
            while let Some((o, _)) = olds.next_if(|(o, _)| *o < name) {
                changed.push(Arc::clone(o));
            }
            match olds.next_if(|(o, _)| *o == name) {
                Some((_, o)) if o.version == entry.version => {
                    if !Arc::ptr_eq(o, entry) {
                        same.push(Arc::clone(o));
                    }
                }
                _ => changed.push(Arc::clone(name)),
            }
        }
        changed.extend(olds.map(|(o, _)| Arc::clone(o)));
        if changed.is_empty() {
            return None;
        }
        for entry in same {
            self.entries.insert(Arc::clone(&entry.name), entry);
        }
        changed.sort();
        self.changed = changed;
        self.parent = old.serial;
        Some(self)
    }

    /// This kind with `removals` gone and `upserts` added or replaced, sharing every entry
    /// that did not change, and noting in `changes` what changed; `None` when nothing did.
    /// A name both removed and upserted is upserted.
    fn derive<'a>(
        &'a self,
        kind: ResourceKind,
        upserts: &'a BTreeMap<Arc<str>, Arc<Entry>>,
        removals: &BTreeSet<&str>,
        changes: &mut Changes<'a>,
    ) -> Option<Self> {
        let mut entries = self.entries.clone();
        let mut sum = self.sum;
        let mut changed = Vec::new();
        for name in removals {
            if upserts.contains_key(*name) {
                continue;
            }
            let Some(old) = self.entries.get(*name) else {
                continue;
            };
            entries.remove(*name);
            sum.remove(old);
            changes.count(&old.references, &[]);
            changes.gone.push((kind, old.name.as_ref()));
            changed.push(Arc::clone(&old.name));
        }
        for (name, entry) in upserts {
            let old = self.entries.get(name.as_ref());
            if old.is_some_and(|old| old.version == entry.version) {
                continue;
            }
            match old {
                Some(old) => {
                    sum.remove(old);
                    changes.count(&old.references, &entry.references);
                }
                None => {
                    changes.count(&[], &entry.references);
                    changes.added.push((kind, name.as_ref()));
                }
            }
            sum.add(entry);
            entries.insert(Arc::clone(name), Arc::clone(entry));
            changed.push(Arc::clone(name));
        }
        if changed.is_empty() {
            return None;
        }
        changed.sort();
        Some(Self {
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
            parent: self.serial,
            version: sum.version(),
            sum,
            entries,
            changed,
        })
    }
}

/// The kinds in the order their names are looked for when a reference is missing, and
/// the referring kinds within each: the order [`Resources::check_consistency`] reports in.
const MISSING_ORDER: [ResourceKind; ResourceKind::ALL.len()] = [
    ResourceKind::RouteConfiguration,
    ResourceKind::ScopedRouteConfiguration,
    ResourceKind::Cluster,
    ResourceKind::Secret,
    ResourceKind::ClusterLoadAssignment,
    ResourceKind::Listener,
];

/// The referring kinds, in the order [`Resources::check_consistency`] reports in.
const REFERRER_ORDER: [ResourceKind; ResourceKind::ALL.len()] = [
    ResourceKind::Listener,
    ResourceKind::ScopedRouteConfiguration,
    ResourceKind::RouteConfiguration,
    ResourceKind::Cluster,
    ResourceKind::ClusterLoadAssignment,
    ResourceKind::Secret,
];

/// The first missing reference of `kinds`, in the order of [`MISSING_ORDER`] and
/// [`REFERRER_ORDER`], then by referrer name.
fn first_missing(kinds: &PerKind<Arc<KindSnapshot>>) -> Option<Inconsistency> {
    for target in MISSING_ORDER {
        for referrer_kind in REFERRER_ORDER {
            for (referrer, entry) in &kinds.get(referrer_kind).entries {
                for reference in entry.references.iter().filter(|r| r.kind == target) {
                    if !kinds.get(target).entries.contains_key(&*reference.name) {
                        return Some(Inconsistency::Missing {
                            referrer_kind,
                            referrer: referrer.to_string(),
                            kind: target,
                            name: reference.name.to_string(),
                        });
                    }
                }
            }
        }
    }
    None
}

/// Checks a whole snapshot and counts its references: every name a resource uses exists,
/// and every ClusterLoadAssignment is named by some resource (a cluster, in practice).
/// What [`Resources::check_consistency`] checks of references, on entries; the first
/// fault is reported as it would report it.
fn tally(kinds: &PerKind<Arc<KindSnapshot>>) -> Result<PerKind<Referrers>, Inconsistency> {
    // Every name used (and who uses it), by kind, sorted by name: then a walk beside the
    // sorted entries finds each name's entry and count without a lookup per reference.
    let mut used: PerKind<Vec<(&str, ResourceKind, &Arc<str>)>> = PerKind::default();
    for kind in ResourceKind::ALL {
        for (referrer, entry) in &kinds.get(kind).entries {
            for reference in entry.references.iter() {
                used.get_mut(reference.kind).push((&*reference.name, kind, referrer));
            }
        }
    }
    let mut referrers: PerKind<Referrers> = PerKind::default();
    for kind in ResourceKind::ALL {
        let names = used.get_mut(kind);
        names.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut entries = kinds.get(kind).entries.keys().peekable();
        let counts = referrers.get_mut(kind);
        for run in names.chunk_by(|a, b| a.0 == b.0) {
            let Some(&(name, referrer_kind, referrer)) = run.first() else {
                continue;
            };
            while entries.next_if(|entry| entry.as_ref() < name).is_some() {}
            let Some(entry) = entries.next_if(|entry| entry.as_ref() == name) else {
                // Reported as a check from scratch reports the first one.
                return Err(first_missing(kinds).unwrap_or_else(|| Inconsistency::Missing {
                    referrer_kind,
                    referrer: referrer.to_string(),
                    kind,
                    name: name.to_owned(),
                }));
            };
            counts.insert(Arc::clone(entry), u32::try_from(run.len()).unwrap_or(u32::MAX));
        }
    }
    let read = referrers.get(ResourceKind::ClusterLoadAssignment);
    let endpoints = &kinds.get(ResourceKind::ClusterLoadAssignment).entries;
    if let Some(unread) = endpoints.keys().find(|name| !read.contains_key(name.as_ref())) {
        return Err(Inconsistency::Unreferenced {
            kind: ResourceKind::ClusterLoadAssignment,
            name: unread.to_string(),
        });
    }
    Ok(referrers)
}

/// `referrers`, the counts of a consistent snapshot, after `changes` made it `kinds`; `None`
/// when `kinds` is not consistent.
fn recount(
    mut referrers: PerKind<Referrers>,
    kinds: &PerKind<Arc<KindSnapshot>>,
    changes: &Changes<'_>,
) -> Option<PerKind<Referrers>> {
    for (&(kind, name), &delta) in &changes.references {
        let counts = referrers.get_mut(kind);
        let after = i64::from(counts.get(name).copied().unwrap_or_default()) + delta;
        if delta > 0 {
            // Newly used: it must exist.
            let (name, _) = kinds.get(kind).entries.get_key_value(name)?;
            counts.insert(Arc::clone(name), u32::try_from(after).ok()?);
        } else if after <= 0 {
            counts.remove(name);
            // An assignment nobody reads any more must go.
            if kind == ResourceKind::ClusterLoadAssignment && kinds.get(kind).entries.contains_key(name) {
                return None;
            }
        } else if let Some(count) = counts.get_mut(name) {
            *count = u32::try_from(after).ok()?;
        }
    }
    // What went must not be used any more, and a new assignment must be read.
    let used = |(kind, name): &(ResourceKind, &str)| referrers.get(*kind).contains_key(*name);
    if changes.gone.iter().any(used)
        || changes
            .added
            .iter()
            .any(|added| added.0 == ResourceKind::ClusterLoadAssignment && !used(added))
    {
        return None;
    }
    Some(referrers)
}

/// One complete, consistent set of Envoy resources, encoded and versioned, ready to be
/// served: what a [`Publisher`] publishes.
///
/// Each resource is encoded once; every stream sends those bytes.
#[derive(Debug)]
pub struct Snapshot {
    kinds: PerKind<Arc<KindSnapshot>>,
    /// How many entries use each name, by the kind of the name.
    referrers: PerKind<Referrers>,
    sources: OrdMap<(ResourceKind, String), Vec<String>>,
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

/// Builds each kind from its input with `build` (on a thread per kind when there are
/// `count` resources or more), while `check` runs on this thread.
fn build_kinds<T: Send>(
    inputs: PerKind<T>,
    count: usize,
    build: impl Fn(ResourceKind, T) -> Result<KindSnapshot, Inconsistency> + Sync,
    check: impl FnOnce() -> Result<(), Inconsistency>,
) -> Result<PerKind<Arc<KindSnapshot>>, Inconsistency> {
    if count < PARALLEL_ENCODING {
        check()?;
        return inputs
            .map_kind(|kind, input| build(kind, input).map(Arc::new))
            .transpose();
    }
    std::thread::scope(|scope| {
        let build = &build;
        let building = inputs.map_kind(|kind, input| scope.spawn(move || build(kind, input)));
        let consistent = check();
        let kinds = building
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    .map(Arc::new)
            })
            .transpose();
        consistent.and(kinds)
    })
}

impl Snapshot {
    /// Checks that `resources` are consistent, then encodes and versions them: [`pack`]
    /// each resource, then what [`Snapshot::from_encoded`] does.
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
        let kinds = build_kinds(
            PerKind::<()>::default(),
            count,
            |kind, ()| KindSnapshot::from_encoded(kind, encode_kind(resources, kind)?),
            || resources.check_consistency(),
        )
        .map_err(Error::Inconsistent)?;
        Self::checked(kinds)
    }

    /// The snapshot of resources already encoded (by an incremental translation, say):
    /// the same versions and bytes as [`Snapshot::new`] of the same resources as
    /// [`Resources`], without encoding anything. The bytes are shared, not copied; each
    /// resource is hashed for its version, and the whole is checked once.
    ///
    /// The resources may come in any order; kinds and names are sorted here.
    ///
    /// # Errors
    ///
    /// [`Error::Inconsistent`] when two resources of a kind have the same name, a resource
    /// uses a name that does not exist, or a ClusterLoadAssignment is used by nothing. What
    /// [`Resources::check_consistency`] finds only by decoding the messages (a listener
    /// taking scopes over Scoped RDS while there is no scope) is for whoever made the
    /// resources to check.
    pub fn from_encoded(resources: impl IntoIterator<Item = EncodedResource>) -> Result<Self> {
        let mut by_kind: PerKind<Vec<EncodedResource>> = PerKind::default();
        for resource in resources {
            by_kind.get_mut(resource.kind).push(resource);
        }
        let count = ResourceKind::ALL.iter().map(|kind| by_kind.get(*kind).len()).sum();
        let kinds = build_kinds(by_kind, count, KindSnapshot::from_encoded, || Ok(())).map_err(Error::Inconsistent)?;
        Self::checked(kinds)
    }

    /// The snapshot of `kinds`, checked whole.
    fn checked(kinds: PerKind<Arc<KindSnapshot>>) -> Result<Self> {
        let referrers = tally(&kinds).map_err(Error::Inconsistent)?;
        Ok(Self {
            kinds,
            referrers,
            sources: OrdMap::new(),
            resolver: None,
        })
    }

    /// A snapshot like this one, with per kind the resources of `upserts` added (or
    /// replacing those of the same name) and the `(kind, name)`s of `removals` gone: the
    /// resources of `upserts` are encoded, then it is [`Snapshot::derive_encoded`].
    ///
    /// # Errors
    ///
    /// [`Error::Inconsistent`] as [`Snapshot::derive_encoded`], or when a resource of
    /// `upserts` holds a malformed typed config.
    pub fn derive<S: AsRef<str>>(
        &self,
        upserts: &Resources,
        removals: impl IntoIterator<Item = (ResourceKind, S)>,
    ) -> Result<Self> {
        let upserts = encode_all(upserts).map_err(Error::Inconsistent)?;
        self.derive_encoded(upserts, removals)
    }

    /// A snapshot like this one, with per kind the resources of `upserts` added (or
    /// replacing those of the same name) and the `(kind, name)`s of `removals` gone, in time
    /// proportional to the change (and the logarithm of the number of resources): every
    /// other resource keeps its entry, bytes and version, a kind nothing changed in is
    /// shared whole, and only the changed names are checked for consistency. The result
    /// has the same versions and bytes as [`Snapshot::new`] of the resulting resources.
    ///
    /// A name both removed and upserted is upserted; a name upserted twice takes the last;
    /// removing a name that does not exist does nothing. An upserted resource with the
    /// same bytes as the one it replaces changes nothing (its references are taken to be
    /// the same too: they follow from the bytes). The sources and the resolver are kept;
    /// add to them with [`Snapshot::with_source`], or replace the resolver with
    /// [`Snapshot::with_resolver`].
    ///
    /// This is how a change to one virtual host among thousands is served without encoding
    /// or looking at the others again (hand the result to [`Publisher::publish`], which
    /// then compares nothing: the result knows what changed).
    ///
    /// # Errors
    ///
    /// [`Error::Inconsistent`] when the result would not be consistent, with the error
    /// [`Snapshot::from_encoded`] of the resulting resources gives: a resource of `upserts`
    /// uses a name that does not exist, a removed resource is still used, or a
    /// ClusterLoadAssignment would be used by nothing.
    pub fn derive_encoded<S: AsRef<str>>(
        &self,
        upserts: impl IntoIterator<Item = EncodedResource>,
        removals: impl IntoIterator<Item = (ResourceKind, S)>,
    ) -> Result<Self> {
        let mut upserted: PerKind<BTreeMap<Arc<str>, Arc<Entry>>> = PerKind::default();
        for resource in upserts {
            let kind = resource.kind;
            // The same bytes again: the entry they already have, without hashing them.
            let entry = match self.kinds.get(kind).get(&resource.name) {
                Some(old) if old.any == resource.any => Arc::clone(old),
                _ => Arc::new(Entry::encoded(resource)),
            };
            upserted.get_mut(kind).insert(Arc::clone(&entry.name), entry);
        }
        let removals: Vec<(ResourceKind, S)> = removals.into_iter().collect();
        let mut removed: PerKind<BTreeSet<&str>> = PerKind::default();
        for (kind, name) in &removals {
            removed.get_mut(*kind).insert(name.as_ref());
        }
        self.derive_entries(&upserted, &removed)
    }

    /// [`Snapshot::derive_encoded`] of entries.
    fn derive_entries(
        &self,
        upserts: &PerKind<BTreeMap<Arc<str>, Arc<Entry>>>,
        removals: &PerKind<BTreeSet<&str>>,
    ) -> Result<Self> {
        let mut kinds = self.kinds.clone();
        let mut changes = Changes::default();
        for kind in ResourceKind::ALL {
            let (upserts, removals) = (upserts.get(kind), removals.get(kind));
            if upserts.is_empty() && removals.is_empty() {
                continue;
            }
            if let Some(derived) = self.kinds.get(kind).derive(kind, upserts, removals, &mut changes) {
                *kinds.get_mut(kind) = Arc::new(derived);
            }
        }
        let referrers = match recount(self.referrers.clone(), &kinds, &changes) {
            Some(referrers) => referrers,
            // Checked whole, to report what a snapshot from scratch would.
            None => tally(&kinds).map_err(Error::Inconsistent)?,
        };
        Ok(Self {
            kinds,
            referrers,
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

    /// The version of all the resources of `kind`: 16 hex digits, the first 64 bits of
    /// the sum, modulo 2^128, over the kind's resources, of the first 16 bytes (big-endian)
    /// of `SHA-256(name NUL version NUL)`. The same for the same resources on any server,
    /// however the snapshot was made, and updated per changed resource when derived.
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
    /// ones know what changed. Also says whether anything changed. A kind derived from
    /// `previous`'s own is taken as it is; any other is compared entry by entry.
    fn follow(mut self, previous: Option<&Snapshot>) -> (Self, bool) {
        let Some(previous) = previous else {
            return (self, true);
        };
        let mut changed = false;
        for kind in ResourceKind::ALL {
            let old = previous.kinds.get(kind);
            let slot = self.kinds.get_mut(kind);
            if slot.serial == old.serial {
                continue;
            }
            if slot.parent == old.serial {
                // Derived from exactly this kind, with a change: it knows what changed.
                changed = true;
                continue;
            }
            let taken = std::mem::replace(slot, Arc::clone(old));
            let new = Arc::try_unwrap(taken).unwrap_or_else(|shared| (*shared).clone());
            if let Some(new) = new.relink(old) {
                changed = true;
                *slot = Arc::new(new);
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
    /// Set when [`Publisher::publish_changes`] refused a set of changes: the served
    /// snapshot no longer matches what the changes are relative to.
    diverged: Arc<std::sync::atomic::AtomicBool>,
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
            diverged: Arc::default(),
        }
    }

    /// Publishes the served snapshot with `upserts` added or replaced and `removals` gone
    /// ([`Snapshot::derive_encoded`]), or, when nothing is served yet or an earlier set of
    /// changes was refused, a snapshot of `all()` from scratch ([`Snapshot::from_encoded`]):
    /// the shape of an incremental translation (`ingressroute-pipeline`'s `Rebuild`), which
    /// says what changed and can list everything. `resolver` names the objects behind a
    /// resource Envoy rejects (see [`Snapshot::with_resolver`]).
    ///
    /// Returns whether any resource changed. Call it from the task that publishes.
    ///
    /// # Errors
    ///
    /// [`Error::Inconsistent`] when neither the derived snapshot nor one from scratch is
    /// consistent (a bug in whatever produced them): the served snapshot stays, and the
    /// next call builds from scratch again.
    pub fn publish_changes<S: AsRef<str>>(
        &self,
        upserts: impl IntoIterator<Item = EncodedResource>,
        removals: impl IntoIterator<Item = (ResourceKind, S)>,
        all: impl FnOnce() -> Vec<EncodedResource>,
        resolver: impl Fn(ResourceKind, &str) -> Vec<String> + Send + Sync + 'static,
    ) -> Result<bool> {
        use std::sync::atomic::Ordering;
        let derived = match self.current() {
            Some(current) if !self.diverged.load(Ordering::Relaxed) => current.derive_encoded(upserts, removals).ok(),
            _ => None,
        };
        let snapshot = match derived {
            Some(snapshot) => snapshot,
            // Nothing served yet, out of step, or refused: everything, from scratch.
            None => match Snapshot::from_encoded(all()) {
                Ok(snapshot) => snapshot,
                Err(error) => {
                    self.diverged.store(true, Ordering::Relaxed);
                    return Err(error);
                }
            },
        };
        self.diverged.store(false, Ordering::Relaxed);
        Ok(self.publish(snapshot.with_resolver(resolver)))
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
    /// else; since the set of names stays the same, the snapshot stays consistent. Each
    /// assignment is encoded and compared with the served bytes; those that differ make a
    /// [derived](Snapshot::derive_encoded) snapshot, so nothing else is hashed or compared
    /// again.
    ///
    /// Returns whether any assignment changed; `false` when nothing is published yet. Call
    /// it from the task that publishes: a snapshot published meanwhile by another would be
    /// overwritten.
    pub fn publish_endpoints(&self, mut assignment: impl FnMut(&str) -> endpoint_v3::ClusterLoadAssignment) -> bool {
        let Some(current) = self.current() else {
            return false;
        };
        let mut upserts: PerKind<BTreeMap<Arc<str>, Arc<Entry>>> = PerKind::default();
        for (name, old) in &current.kind(ResourceKind::ClusterLoadAssignment).entries {
            let mut assignment = assignment(name);
            assignment.cluster_name = name.to_string();
            let any = pack(&assignment);
            if any != old.any {
                let entry = Entry::new(Arc::clone(name), any, Arc::default());
                upserts
                    .get_mut(ResourceKind::ClusterLoadAssignment)
                    .insert(Arc::clone(name), Arc::new(entry));
            }
        }
        if upserts.get(ResourceKind::ClusterLoadAssignment).is_empty() {
            return false;
        }
        // The same names, using nothing: always consistent.
        match current.derive_entries(&upserts, &PerKind::default()) {
            Ok(derived) => self.publish(derived),
            Err(error) => {
                tracing::error!(%error, "new endpoints made the snapshot inconsistent");
                false
            }
        }
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
            let packed = KindSnapshot::from_encoded(kind, encode_kind(&resources, kind).unwrap()).unwrap();
            let encoded = resources.encoded(kind);
            assert_eq!(packed.entries.len(), expected);
            for (entry, (name, any)) in packed.entries.values().zip(encoded) {
                assert_eq!(*entry.name, *name);
                assert_eq!(entry.any.as_ref(), prost::Message::encode_to_vec(&any).as_slice());
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
            let alone = KindSnapshot::from_encoded(kind, encode_kind(&resources, kind).unwrap()).unwrap();
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

    /// `count` secrets named `secret-<i>`, each holding `content`.
    fn secrets(count: usize, content: &str) -> Resources {
        use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
        let mut resources = Resources::default();
        for i in 0..count {
            resources.secrets.push(tls_v3::Secret {
                name: format!("secret-{i}"),
                r#type: Some(tls_v3::secret::Type::GenericSecret(tls_v3::GenericSecret {
                    secret: Some(envoy_types::pb::envoy::config::core::v3::DataSource {
                        specifier: Some(
                            envoy_types::pb::envoy::config::core::v3::data_source::Specifier::InlineString(
                                content.into(),
                            ),
                        ),
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
            });
        }
        resources
    }

    #[test]
    fn a_kind_version_is_the_documented_sum_of_each_resource_share() {
        let snapshot = Snapshot::new(&secrets(3, "x")).unwrap();
        let mut sum: u128 = 0;
        for name in ["secret-0", "secret-1", "secret-2"] {
            let any = snapshot.encoded(ResourceKind::Secret, name).unwrap();
            let version = hex::encode(&Sha256::digest(any)[..8]);
            assert_eq!(
                snapshot.resource_version(ResourceKind::Secret, name),
                Some(version.as_str())
            );
            let pair = Sha256::digest(format!("{name}\0{version}\0"));
            sum = sum.wrapping_add(u128::from_be_bytes(pair[..16].try_into().unwrap()));
        }
        assert_eq!(snapshot.version(ResourceKind::Secret), format!("{:016x}", sum >> 64));
        assert_eq!(snapshot.version(ResourceKind::Listener), "0000000000000000");
    }

    #[test]
    fn a_derivation_counts_references_as_a_count_from_scratch_does() {
        use envoy_types::pb::envoy::config::route::v3 as route_v3;
        fn config(name: &str, clusters: &[usize]) -> route_v3::RouteConfiguration {
            let route = |cluster: &usize| route_v3::Route {
                action: Some(route_v3::route::Action::Route(route_v3::RouteAction {
                    cluster_specifier: Some(route_v3::route_action::ClusterSpecifier::Cluster(format!(
                        "apps/s{cluster:05}/http"
                    ))),
                    ..Default::default()
                })),
                ..Default::default()
            };
            route_v3::RouteConfiguration {
                name: name.into(),
                virtual_hosts: vec![route_v3::VirtualHost {
                    name: "host".into(),
                    routes: clusters.iter().map(route).collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }
        }
        let mut resources = eds_resources(4, true);
        resources.routes = vec![config("a", &[0, 1, 1]), config("b", &[1, 2])];
        let mut snapshot = Snapshot::new(&resources).unwrap();
        type Step = (Vec<route_v3::RouteConfiguration>, Vec<(ResourceKind, &'static str)>);
        let steps: Vec<Step> = vec![
            (vec![config("a", &[0, 3])], vec![]),
            (vec![config("c", &[3])], vec![(ResourceKind::RouteConfiguration, "b")]),
            (vec![], vec![(ResourceKind::RouteConfiguration, "a")]),
            (vec![config("a", &[0, 1, 2]), config("c", &[])], vec![]),
        ];
        for (i, (routes, removals)) in steps.into_iter().enumerate() {
            let mut upserts = Resources::default();
            upserts.routes = routes;
            snapshot = snapshot.derive(&upserts, removals).unwrap();
            let scratch = tally(&snapshot.kinds).unwrap();
            for kind in ResourceKind::ALL {
                assert_eq!(snapshot.referrers.get(kind), scratch.get(kind), "step {i}: {kind}");
            }
        }
        let clusters = snapshot.referrers.get(ResourceKind::Cluster);
        assert_eq!(clusters.get("apps/s00001/http"), Some(&1));
        assert_eq!(clusters.get("apps/s00003/http"), None);
    }

    #[test]
    fn a_snapshot_built_from_scratch_is_compared_with_the_served_one_entry_by_entry() {
        let publisher = Publisher::new();
        publisher.publish_resources(&secrets(3, "x")).unwrap();
        let first = publisher.current().unwrap();
        let mut changed = secrets(3, "x");
        changed.secrets.truncate(1);
        changed.secrets.extend(secrets(3, "y").secrets.into_iter().skip(1));
        let mut next = Snapshot::new(&changed).unwrap();
        // Even a kind version equal to the served one (as a collision of sums would make
        // it) does not hide the change.
        Arc::make_mut(next.kinds.get_mut(ResourceKind::Secret)).version =
            first.version(ResourceKind::Secret).to_owned();
        assert!(publisher.publish(next));
        let served = publisher.current().unwrap();
        let (old, new) = (first.kind(ResourceKind::Secret), served.kind(ResourceKind::Secret));
        assert_eq!(new.changed, [Arc::from("secret-1"), Arc::from("secret-2")]);
        assert_eq!(new.parent, old.serial);
        assert!(Arc::ptr_eq(&old.entries["secret-0"], &new.entries["secret-0"]));
        assert!(Arc::ptr_eq(
            first.kind(ResourceKind::Cluster),
            served.kind(ResourceKind::Cluster)
        ));
    }
}
