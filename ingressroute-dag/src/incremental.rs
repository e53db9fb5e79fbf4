//! Incremental builds: after a few objects change, a new [`Dag`] equal to what
//! [`build`](crate::build) gives, in time proportional to what the change can affect.
//! [`IncrementalDag`] says how; the walk of a single root is in `build/root.rs`.
//!
//! Why one file of this length: the per-root bookkeeping (dependencies, findings, which
//! roots to walk again) and the recombination of statuses keep one invariant together (the
//! result equals a full build) and change together; the walk itself is shared with the
//! full build in `build/`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use crate::build::{Dependency, Finding, PlainClusters, RootRun, TreeEntry, accepts_class, run_root, run_root_entry};
use crate::dag::{Entry, Lookups};
use crate::shared_map::SharedMap;
use crate::status::{CurrentStatus, Reason, Status, messages};
use crate::{Config, Dag, ObjectRef, Objects, ServedVirtualHost, StatusMap};

/// The objects that changed since the last build, by kind: what an
/// [`IncrementalDag::update`] needs to know.
///
/// Name every object inserted, replaced or removed (replacing an IngressRoute with or
/// without a rejection included). An object named that did not change costs time, never
/// correctness; an object that changed and is not named leaves the result stale.
/// Endpoints are not part of a build and need no rebuild.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangedObjects {
    /// IngressRoutes, of any ingress class.
    pub ingress_routes: BTreeSet<ObjectRef>,
    /// TLSCertificateDelegations.
    pub delegations: BTreeSet<ObjectRef>,
    /// Services.
    pub services: BTreeSet<ObjectRef>,
    /// Secrets.
    pub secrets: BTreeSet<ObjectRef>,
}

impl ChangedObjects {
    /// Nothing changed.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ingress_routes.is_empty()
            && self.delegations.is_empty()
            && self.services.is_empty()
            && self.secrets.is_empty()
    }
}

/// What an update changed in the [`Dag`]: exactly the virtual hosts and statuses that
/// differ from the previous one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DagChanges {
    /// The fqdns of virtual hosts added, removed or changed (any field, as `==` sees
    /// it). Any other virtual host is the same [`Arc`] as in the previous [`Dag`].
    pub virtual_hosts: BTreeSet<String>,
    /// The IngressRoutes whose status was added, removed or changed.
    pub statuses: BTreeSet<ObjectRef>,
}

impl DagChanges {
    /// Whether the [`Dag`] is the same as before.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.virtual_hosts.is_empty() && self.statuses.is_empty()
    }
}

/// The result of an [`IncrementalDag::update`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DagUpdate {
    /// The new DAG, equal to a full [`build`](crate::build) of the same objects.
    pub dag: Dag,
    /// What differs from the previous one.
    pub changes: DagChanges,
    /// The roots walked again: those the change could affect (see
    /// [`IncrementalDag`]), for logs and metrics.
    pub walked: BTreeSet<ObjectRef>,
}

/// Builds the [`Dag`] again after changes, walking only the roots they can affect.
///
/// Holds the per-root results of the last build. [`new`](Self::new) does a full build;
/// [`update`](Self::update) takes the objects after a change and the keys that changed,
/// and gives a [`Dag`] equal to [`build`](crate::build) of those objects (statuses,
/// virtual hosts, graph, lookups) with the list of what differs.
///
/// # Per-root results
///
/// A full build walks every root in (namespace, name) order. Each root's walk depends
/// only on the objects it reaches and the names it looks up, so
/// it keeps, for every root, what its walk found and what it depended
/// on, and after a change re-walks only the roots whose walk touched a changed object:
///
/// ```text
///   changed keys ──dependents──▶ roots to re-walk ──walk each alone──▶ per-root results
///                                                                        │
///   statuses of the objects in their old and new trees ◀──combine all roots reaching them
///   roots whose tree holds an object that became (in)valid ──serve again──▶ virtual hosts
/// ```
///
/// [`new`](Self::new) takes the same steps for every root at once, with nothing to
/// compare against: roots take ids in root order, an object is invalid when any walk found
/// it so, and the virtual hosts and statuses are written once, in order. At dataset L it
/// took 1.0 to 1.2 times as long as [`build`](crate::build) on a 2-core machine
/// (`full_incremental` against `full_build` in
/// `cargo bench -p ingressroute-dag --bench incremental`).
///
/// # The blast radius
///
/// A root is re-walked when its last walk depended on a changed object:
///
/// * **IngressRoutes**: the root itself, every object its delegations lead to (not
///   through other roots), and every name a delegation resolved, whether an object of
///   the served class had it or not: an object a dangling delegation names, or whose
///   class annotation changes, is reached when it appears;
/// * **Services and Secrets** it looked up, found or not;
/// * **TLSCertificateDelegations** of the namespace of a TLS Secret it took from another
///   namespace;
/// * **the fqdn conflict set**: every root whose fqdn equals, ignoring ASCII case, the
///   old or the new fqdn of a changed root (the duplicate-fqdn description lists them
///   all).
///
/// Dependencies are tracked by 64-bit hashes, so a collision only re-walks a root that
/// did not need it. What a root's walk *finds* is its own; what it *serves* is not:
/// an object any root found invalid is served by none (decision [D1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d1)). So after the
/// re-walks, the roots whose tree holds an object that became valid or invalid are
/// served again (without changing what they found), and the status of every object in
/// the old and new trees of all those roots is combined again from the per-root results
/// of *every* root that visited it, in root order, as the full build decides it: the
/// first finding wins; a rejected object without one is rejected; otherwise it is valid
/// when a valid chain from some root reaches it (the first such root gives its vhost),
/// and orphaned when none does.
///
/// # Sharing
///
/// The result must be cheap at 20,000 IngressRoutes when one changed. Virtual hosts
/// are [`Arc`]s, kept from one [`Dag`] to the next while unchanged (compared by value
/// after a re-walk), in a list that is itself shared while no host changes. The
/// statuses live in a sorted map of chunks shared between versions ([`StatusMap`]): a
/// new version copies the chunks holding the changed statuses and shares the rest with
/// the previous [`Dag`], which the caller may still hold, where a `BTreeMap` would be
/// cloned whole (about 80,000 allocations at that size). The
/// [`DelegationGraph`](crate::DelegationGraph) is not kept at all: a [`Dag`] derives it
/// on first use.
///
/// What is kept per root is small: hashes of its dependencies, the objects its walk
/// visited, and its findings; not its visits nor its routes (a root is walked again to
/// serve it again).
///
/// # Example
///
/// ```
/// use ingressroute_dag::{ChangedObjects, Config, IncrementalDag, Objects, build};
///
/// let mut objects = Objects::new();
/// let config = Config::default();
/// let mut incremental = IncrementalDag::new(&objects, &config);
/// assert!(incremental.dag().virtual_hosts().is_empty());
///
/// // ... objects change: insert, replace or remove, noting each key ...
/// let mut changed = ChangedObjects::new();
/// # let route: ingressroute_dag::ingressroute_api::IngressRoute = serde_json::from_str(
/// #     r#"{"apiVersion":"contour.heptio.com/v1beta1","kind":"IngressRoute",
/// #         "metadata":{"name":"web","namespace":"default"},
/// #         "spec":{"virtualhost":{"fqdn":"web.example.com"},"routes":[]}}"#).unwrap();
/// changed.ingress_routes.insert(objects.insert_ingress_route(route));
/// let update = incremental.update(&objects, &changed);
/// assert_eq!(update.dag.statuses(), build(&objects, &config).statuses());
/// assert_eq!(update.changes.statuses.len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct IncrementalDag {
    config: Config,
    /// Every root of the served class, by id; `None` for free ids.
    slots: Vec<Option<RootSlot>>,
    free: Vec<u32>,
    ids: FxHashMap<Arc<ObjectRef>, u32>,
    /// The roots depending on each [`Dependency`] hash.
    dependents: FxHashMap<u64, SmallVec<[u32; 2]>>,
    /// The Services and Secrets looked up, with how many roots did.
    lookups: SharedMap<u64, u32>,
    statuses: SharedMap<Arc<ObjectRef>, Entry>,
    /// Sorted by fqdn; shared with the last [`Dag`] (copied on the next change).
    virtual_hosts: Arc<Vec<Arc<ServedVirtualHost>>>,
    /// The upstreams without health check or validation, shared by the routes of every
    /// root, as in a full build (each root's walk would otherwise make its own).
    clusters: PlainClusters,
}

/// What is kept of one root between builds.
#[derive(Debug, Clone)]
struct RootSlot {
    /// Its stored reference, shared.
    key: Arc<ObjectRef>,
    /// Its fqdn as written.
    fqdn: String,
    /// Dependency hashes (IngressRoutes, delegation namespaces, its fqdn conflict set),
    /// sorted.
    dependencies: Box<[u64]>,
    /// Services and Secrets looked up, as hashes, sorted.
    lookups: Box<[u64]>,
    /// The non-root objects its walk visited, sorted.
    tree: Box<[TreeEntry]>,
    /// What its walk found first on each object, sorted by object.
    findings: Box<[(ObjectRef, Finding, Option<String>)]>,
    /// Rejected objects its walk reached, sorted.
    rejected_reached: Box<[ObjectRef]>,
    /// It serves a virtual host (under `fqdn`).
    serves: bool,
}

impl RootSlot {
    /// A root before its walk: all it depends on yet is its fqdn conflict set, when its
    /// namespace may hold roots.
    fn unwalked(key: Arc<ObjectRef>, fqdn: &str, config: &Config) -> Self {
        let dependencies: Box<[u64]> = if config.allows_root_in(&key.namespace) {
            Box::new([Dependency::fqdn(fqdn)])
        } else {
            Box::default()
        };
        Self {
            key,
            fqdn: fqdn.to_owned(),
            dependencies,
            lookups: Box::default(),
            tree: Box::default(),
            findings: Box::default(),
            rejected_reached: Box::default(),
            serves: false,
        }
    }

    fn tree_entry(&self, object: &ObjectRef) -> Option<&TreeEntry> {
        let i = self.tree.binary_search_by(|e| (*e.object).cmp(object)).ok()?;
        self.tree.get(i)
    }

    fn finding(&self, object: &ObjectRef) -> Option<(&Finding, &Option<String>)> {
        let i = self.findings.binary_search_by(|(o, _, _)| o.cmp(object)).ok()?;
        self.findings.get(i).map(|(_, finding, vhost)| (finding, vhost))
    }
}

/// At most this many virtual hosts change in place; more are merged in one sort.
const IN_PLACE_HOSTS: usize = 32;

impl IncrementalDag {
    /// A full build of `objects`, kept for updates. `config` holds for every update: a
    /// new configuration needs a new `IncrementalDag`.
    #[must_use]
    pub fn new(objects: &Objects, config: &Config) -> Self {
        let mut this = Self {
            config: config.clone(),
            ..Self::default()
        };
        this.first_build(objects);
        this.slots.shrink_to_fit();
        this.ids.shrink_to_fit();
        this.dependents.shrink_to_fit();
        this
    }

    /// The DAG of the last build.
    #[must_use]
    pub fn dag(&self) -> Dag {
        Dag {
            virtual_hosts: Arc::clone(&self.virtual_hosts),
            statuses: StatusMap {
                entries: self.statuses.clone(),
            },
            graph: OnceLock::new(),
            lookups: Lookups::Tracked(self.lookups.clone()),
        }
    }

    /// The configuration every build uses.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Builds again after `changed` objects changed: `objects` are all the objects now.
    /// The returned [`Dag`] equals [`build`](crate::build) of `objects` with this
    /// configuration, provided `changed` names every object that changed since the last
    /// build.
    pub fn update(&mut self, objects: &Objects, changed: &ChangedObjects) -> DagUpdate {
        let mut rewalk = BTreeSet::new();
        for key in &changed.ingress_routes {
            self.dependents_of(Dependency::IngressRoute.hash(&key.namespace, &key.name), &mut rewalk);
            if let Some(slot) = self.slot(key) {
                rewalk.insert(key.clone());
                self.dependents_of(Dependency::fqdn(&slot.fqdn), &mut rewalk);
            }
            if let Some(stored) = objects.ingress_routes.get(key)
                && accepts_class(&stored.route, &self.config)
                && let Some(vhost) = &stored.route.spec.virtualhost
            {
                rewalk.insert(key.clone());
                self.dependents_of(Dependency::fqdn(&vhost.fqdn), &mut rewalk);
            }
        }
        for key in &changed.delegations {
            self.dependents_of(Dependency::Delegations.hash(&key.namespace, ""), &mut rewalk);
        }
        for key in &changed.services {
            self.dependents_of(Dependency::Service.hash(&key.namespace, &key.name), &mut rewalk);
        }
        for key in &changed.secrets {
            self.dependents_of(Dependency::Secret.hash(&key.namespace, &key.name), &mut rewalk);
        }
        let (changes, walked) = self.apply(objects, &rewalk, changed.ingress_routes.clone());
        DagUpdate {
            dag: self.dag(),
            changes,
            walked,
        }
    }

    /// Adds the roots depending on `hash` to `roots`.
    fn dependents_of(&self, hash: u64, roots: &mut BTreeSet<ObjectRef>) {
        for id in self.dependents.get(&hash).into_iter().flatten() {
            if let Some(slot) = self.slot_by_id(*id) {
                roots.insert(ObjectRef::clone(&slot.key));
            }
        }
    }

    /// Re-walks `rewalk` (roots, old or new), serves again what that calls for, and
    /// gives a status again to every object in `affected` and in the trees involved.
    /// Returns what changed and the roots walked.
    fn apply(
        &mut self,
        objects: &Objects,
        rewalk: &BTreeSet<ObjectRef>,
        mut affected: BTreeSet<ObjectRef>,
    ) -> (DagChanges, BTreeSet<ObjectRef>) {
        // The old results of the roots to re-walk go; their trees' statuses are redone.
        let mut old_hosts: BTreeSet<String> = BTreeSet::new();
        for key in rewalk {
            if let Some(slot) = self.remove_slot(key) {
                affected.extend(slot.tree.iter().map(|e| ObjectRef::clone(&e.object)));
                affected.insert(ObjectRef::clone(&slot.key));
                if slot.serves {
                    old_hosts.insert(slot.fqdn);
                }
            }
        }

        // The roots now present join their fqdn conflict sets before any is walked.
        let mut walked: Vec<u32> = Vec::new();
        for key in rewalk {
            let Some(stored) = objects.ingress_routes.get(key) else {
                continue;
            };
            let Some(vhost) = &stored.route.spec.virtualhost else {
                continue;
            };
            if !accepts_class(&stored.route, &self.config) {
                continue;
            }
            let slot = RootSlot::unwalked(Arc::clone(&stored.key), &vhost.fqdn, &self.config);
            walked.push(self.insert_slot(slot));
        }

        // Walk them, each alone, serving with what it found itself.
        let mut runs: Vec<(u32, RootRun)> = Vec::with_capacity(walked.len());
        let mut clusters = std::mem::take(&mut self.clusters);
        for id in &walked {
            let Some(slot) = self.slot_by_id(*id) else { continue };
            let duplicate = self.duplicate(slot);
            if let Some(run) = run_root(objects, &self.config, &slot.key, duplicate, &|_| false, &mut clusters) {
                runs.push((*id, run));
            }
        }
        let mut hosts: BTreeMap<u32, Option<ServedVirtualHost>> = BTreeMap::new();
        let walked_ids: FxHashSet<u32> = runs.iter().map(|(id, _)| *id).collect();
        for (id, run) in runs {
            affected.extend(run.tree.iter().map(|e| ObjectRef::clone(&e.object)));
            hosts.insert(id, self.keep(id, run));
        }

        // Objects whose validity changed: roots not walked whose tree holds one serve
        // again, as do walked roots that served something another root finds invalid.
        let mut now_invalid: FxHashMap<ObjectRef, bool> = FxHashMap::default();
        let mut reserve: BTreeSet<u32> = BTreeSet::new();
        for object in affected.iter().cloned() {
            if self.ids.contains_key(&object) || !self.is_member(objects, &object) {
                continue;
            }
            let visitors = self.visitors(&object);
            let invalid =
                objects.rejection(&object).is_some() || visitors.iter().any(|slot| slot.finding(&object).is_some());
            if invalid != self.was_invalid(&object) {
                let others = visitors.iter().filter_map(|slot| self.ids.get(&slot.key));
                reserve.extend(others.filter(|id| !walked_ids.contains(id)));
            }
            now_invalid.insert(object, invalid);
        }
        let is_invalid = |object: &ObjectRef| {
            now_invalid
                .get(object)
                .copied()
                .unwrap_or_else(|| self.was_invalid(object))
        };
        for id in &walked_ids {
            let Some(slot) = self.slot_by_id(*id) else { continue };
            if slot.tree.iter().any(|e| !e.invalid && is_invalid(&e.object)) {
                reserve.insert(*id);
            }
        }
        let mut served_again: Vec<(u32, RootRun)> = Vec::new();
        for id in &reserve {
            let Some(slot) = self.slot_by_id(*id) else { continue };
            let duplicate = self.duplicate(slot);
            if let Some(run) = run_root(objects, &self.config, &slot.key, duplicate, &is_invalid, &mut clusters) {
                served_again.push((*id, run));
            }
        }
        self.clusters = clusters;
        for (id, mut run) in served_again {
            if let Some(Some(slot)) = self.slots.get_mut(id as usize) {
                if !hosts.contains_key(&id) && slot.serves {
                    old_hosts.insert(slot.fqdn.clone());
                }
                affected.extend(run.tree.iter().map(|e| ObjectRef::clone(&e.object)));
                slot.tree = std::mem::take(&mut run.tree).into();
            }
            hosts.insert(id, run.virtual_host.take());
        }

        let walked: BTreeSet<ObjectRef> = hosts
            .keys()
            .filter_map(|id| self.slot_by_id(*id))
            .map(|slot| ObjectRef::clone(&slot.key))
            .collect();
        let statuses = self.restatus(objects, affected);
        let virtual_hosts = self.rehost(&old_hosts, hosts);
        let changes = DagChanges {
            virtual_hosts,
            statuses,
        };
        (changes, walked)
    }

    /// The first build: what [`apply`](Self::apply) does for every root of an empty
    /// state, with nothing to compare against, so the bookkeeping is done once for all:
    /// roots take ids in (namespace, name) order, so that a list by id is in root order,
    /// and every status is new.
    fn first_build(&mut self, objects: &Objects) {
        // Which objects are of the served class, asked once each (the statuses below
        // go through the objects in the same order).
        let accepted: Vec<bool> = objects
            .ingress_routes
            .iter()
            .map(|(_, _, stored)| accepts_class(&stored.route, &self.config))
            .collect();

        // The roots join their fqdn conflict sets before any is walked. Almost every root
        // is alone in its set: only the sets joined twice are looked at again.
        let mut entries = Vec::new();
        let mut shared_fqdns: FxHashSet<u64> = FxHashSet::default();
        // Roughly what the roots will depend on: fqdns, the objects they delegate to, the
        // Services and Secrets they look up (one table now, instead of one per doubling).
        self.dependents.reserve(2 * accepted.len());
        for ((namespace, name, stored), accepted) in objects.ingress_routes.iter().zip(&accepted) {
            let Some(vhost) = &stored.route.spec.virtualhost else {
                continue;
            };
            if !accepted {
                continue;
            }
            entries.push((namespace, name, stored));
            let slot = RootSlot::unwalked(Arc::clone(&stored.key), &vhost.fqdn, &self.config);
            let id = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
            self.register(id, &slot.dependencies, &[]);
            if let Some(hash) = slot.dependencies.first()
                && self.dependents.get(hash).is_some_and(|roots| roots.len() > 1)
            {
                shared_fqdns.insert(*hash);
            }
            self.ids.insert(Arc::clone(&slot.key), id);
            self.slots.push(Some(slot));
        }

        // Walk each alone, serving with what it found itself.
        let mut clusters = std::mem::take(&mut self.clusters);
        let mut runs: Vec<Option<RootRun>> = Vec::with_capacity(self.slots.len());
        for (slot, entry) in self.slots.iter().flatten().zip(entries) {
            let shared = slot
                .dependencies
                .first()
                .is_some_and(|hash| shared_fqdns.contains(hash));
            let duplicate = if shared { self.duplicate(slot) } else { None };
            runs.push(run_root_entry(
                objects,
                &self.config,
                entry,
                duplicate,
                &|_| false,
                &mut clusters,
            ));
        }

        // An object some walk found invalid, or rejected, is served by no root: the roots
        // that served it serve again (nothing was invalid before).
        let found: FxHashSet<&ObjectRef> = runs
            .iter()
            .flatten()
            .flat_map(|run| run.findings.iter().map(|(object, _, _)| object))
            .collect();
        let is_invalid = |object: &ObjectRef| {
            (found.contains(object) || objects.rejection(object).is_some())
                && !self.ids.contains_key(object)
                && self.is_member(objects, object)
        };
        let mut served_again: Vec<(usize, RootRun)> = Vec::new();
        for (id, run) in runs.iter().enumerate() {
            let Some(run) = run else { continue };
            // Its own walk took rejected objects as invalid already: only what another
            // walk found can make it serve again.
            let serves_invalid = |e: &TreeEntry| !e.invalid && found.contains(&*e.object) && is_invalid(&e.object);
            if found.is_empty() || !run.tree.iter().any(serves_invalid) {
                continue;
            }
            let Some(slot) = self.slots.get(id).and_then(Option::as_ref) else {
                continue;
            };
            let duplicate = self.duplicate(slot);
            if let Some(again) = run_root(objects, &self.config, &slot.key, duplicate, &is_invalid, &mut clusters) {
                served_again.push((id, again));
            }
        }
        drop(found);
        self.clusters = clusters;
        for (id, again) in served_again {
            // What it found stays that of its first walk; what it serves is new.
            if let Some(Some(run)) = runs.get_mut(id) {
                run.tree = again.tree;
                run.virtual_host = again.virtual_host;
            }
        }

        // Each root keeps what it found and depended on.
        // The lookups of every root are counted at once: the counts are a sorted map,
        // which is built far faster from a sorted list than by one insertion per lookup.
        let mut hosts: Vec<Arc<ServedVirtualHost>> = Vec::new();
        let mut lookups: Vec<u64> = Vec::new();
        for (id, run) in runs.into_iter().enumerate() {
            let Some(run) = run else { continue };
            let host = self.keep_counting(u32::try_from(id).unwrap_or(u32::MAX), run, Some(&mut lookups));
            if let Some(Some(slot)) = self.slots.get_mut(id) {
                slot.serves = host.is_some();
            }
            hosts.extend(host.map(Arc::new));
        }
        lookups.sort_unstable();
        debug_assert!(self.lookups.is_empty(), "a first build counts lookups from none");
        self.lookups = SharedMap::from_sorted(
            lookups
                .chunk_by(|a, b| a == b)
                .filter_map(|same| Some((*same.first()?, u32::try_from(same.len()).unwrap_or(u32::MAX)))),
        );
        hosts.sort_unstable_by(|a, b| a.fqdn.cmp(&b.fqdn));
        self.virtual_hosts = Arc::new(hosts);

        // Every status is new, and the map is cut from the list. The roots' slots were
        // made above in the objects' order, so a root's slot is the next one, and an
        // object that is not the next slot's has none: no lookups.
        let mut slots = self.slots.iter().flatten().peekable();
        let mut entries: Vec<(Arc<ObjectRef>, Entry)> = Vec::with_capacity(accepted.iter().filter(|a| **a).count());
        entries.extend(
            objects
                .ingress_routes
                .iter()
                .zip(&accepted)
                .filter(|(_, accepted)| **accepted)
                .map(|((_, _, stored), _)| {
                    let object = Arc::clone(&stored.key);
                    // The slot's key is the stored one: compared by address first.
                    let status = match slots.next_if(|slot| slot.key == stored.key) {
                        Some(slot) => Self::root_status(slot, stored.rejection.as_deref()),
                        None => {
                            debug_assert!(self.slot(&object).is_none(), "{object}: slots out of order");
                            self.combined_status(&object, stored.rejection.as_deref())
                        }
                    };
                    let route = Arc::clone(&stored.route);
                    (object, Entry { status, route })
                }),
        );
        self.statuses = SharedMap::from_sorted(entries);
    }

    /// Keeps in the slot of root `id` what its walk found and looked up, and registers
    /// what it depended on (the fqdn conflict set it joined before the walk, and what the
    /// walk reached); returns the virtual host the walk serves.
    fn keep(&mut self, id: u32, run: RootRun) -> Option<ServedVirtualHost> {
        self.keep_counting(id, run, None)
    }

    /// [`keep`](Self::keep), leaving the counts of the lookups to the caller when it
    /// passes `lookups` (a first build counts every root's at once): the root's lookups
    /// are added to it instead.
    fn keep_counting(&mut self, id: u32, run: RootRun, lookups: Option<&mut Vec<u64>>) -> Option<ServedVirtualHost> {
        let mut all = run.dependencies;
        if let Some(slot) = self.slot_by_id(id) {
            all.extend_from_slice(&slot.dependencies);
        }
        all.sort_unstable();
        all.dedup();
        // Registering a root again under a hash it is registered under changes nothing.
        match lookups {
            Some(lookups) => {
                self.register_dependents(id, &all, &run.lookups);
                lookups.extend_from_slice(&run.lookups);
            }
            None => self.register(id, &all, &run.lookups),
        }
        if let Some(Some(slot)) = self.slots.get_mut(id as usize) {
            slot.dependencies = all.into();
            slot.lookups = run.lookups.into();
            slot.tree = run.tree.into();
            slot.findings = run.findings.into();
            slot.rejected_reached = run.rejected_reached.into();
        }
        run.virtual_host
    }

    /// Gives every object of `affected` its status again from the per-root results;
    /// returns those whose status changed.
    fn restatus(&mut self, objects: &Objects, affected: BTreeSet<ObjectRef>) -> BTreeSet<ObjectRef> {
        let mut changed = BTreeSet::new();
        for object in affected {
            let stored = objects
                .ingress_routes
                .get(&object)
                .filter(|stored| accepts_class(&stored.route, &self.config));
            let Some(stored) = stored else {
                if self.statuses.remove(&object).is_some() {
                    changed.insert(object);
                }
                continue;
            };
            let status = self.status(&object, stored.rejection.as_deref());
            match self.statuses.get(&object) {
                Some(entry) if entry.status == status && Arc::ptr_eq(&entry.route, &stored.route) => {}
                old => {
                    if old.is_none_or(|entry| entry.status != status) {
                        changed.insert(object.clone());
                    }
                    let route = Arc::clone(&stored.route);
                    self.statuses.insert(Arc::clone(&stored.key), Entry { status, route });
                }
            }
        }
        changed
    }

    /// The status of an IngressRoute of the served class, inserted as rejected with
    /// `rejection` if it was.
    fn status(&self, object: &ObjectRef, rejection: Option<&str>) -> Status {
        match self.slot(object) {
            Some(slot) => Self::root_status(slot, rejection),
            None => self.combined_status(object, rejection),
        }
    }

    /// A root's status: its own walk's finding, its rejection (see [`status`](Self::status)),
    /// or valid.
    fn root_status(slot: &RootSlot, rejection: Option<&str>) -> Status {
        if let Some((finding, vhost)) = slot.finding(&slot.key) {
            return Status::invalid(finding.reason, finding.description.clone(), vhost.clone());
        }
        if let Some(description) = rejection {
            return Status::invalid(Reason::Rejected, description.to_owned(), Some(slot.fqdn.clone()));
        }
        Status::valid(Some(slot.fqdn.clone()))
    }

    /// A non-root's status, from every root whose walk visited it, in root order: the
    /// first finding; else its rejection (with the fqdn of the first root that reached
    /// it); else valid from the first root a valid chain reaches it from; else orphaned.
    fn combined_status(&self, object: &ObjectRef, rejection: Option<&str>) -> Status {
        let visitors = self.visitors(object);
        if let Some((finding, vhost)) = visitors.iter().find_map(|slot| slot.finding(object)) {
            return Status::invalid(finding.reason, finding.description.clone(), vhost.clone());
        }
        if let Some(description) = rejection {
            let vhost = visitors
                .iter()
                .find(|slot| slot.rejected_reached.binary_search(object).is_ok())
                .map(|slot| slot.fqdn.clone());
            return Status::invalid(Reason::Rejected, description.to_owned(), vhost);
        }
        match visitors
            .iter()
            .find(|slot| slot.tree_entry(object).is_some_and(|e| e.reached))
        {
            Some(slot) => Status::valid(Some(slot.fqdn.clone())),
            None => Status::orphaned(),
        }
    }

    /// The roots whose last walk visited `object`, in root order.
    fn visitors(&self, object: &ObjectRef) -> SmallVec<[&RootSlot; 4]> {
        let hash = Dependency::IngressRoute.hash(&object.namespace, &object.name);
        let mut visitors: SmallVec<[&RootSlot; 4]> = self
            .dependents
            .get(&hash)
            .into_iter()
            .flatten()
            .filter_map(|id| self.slot_by_id(*id))
            .filter(|slot| slot.tree_entry(object).is_some())
            .collect();
        visitors.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        visitors
    }

    /// Whether the last build found `object` invalid.
    fn was_invalid(&self, object: &ObjectRef) -> bool {
        self.statuses
            .get(object)
            .is_some_and(|entry| entry.status.current_status == CurrentStatus::Invalid)
    }

    /// Whether `object` is an IngressRoute of the served class.
    fn is_member(&self, objects: &Objects, object: &ObjectRef) -> bool {
        objects
            .ingress_routes
            .get(object)
            .is_some_and(|stored| accepts_class(&stored.route, &self.config))
    }

    /// The duplicate-fqdn description of a root, when other roots of allowed namespaces
    /// share its fqdn ignoring ASCII case.
    fn duplicate(&self, slot: &RootSlot) -> Option<String> {
        if !self.config.allows_root_in(&slot.key.namespace) {
            return None;
        }
        let hash = Dependency::fqdn(&slot.fqdn);
        let members = self
            .dependents
            .get(&hash)
            .into_iter()
            .flatten()
            .filter_map(|id| self.slot_by_id(*id))
            .filter(|other| {
                self.config.allows_root_in(&other.key.namespace) && other.fqdn.eq_ignore_ascii_case(&slot.fqdn)
            });
        // Almost every root is alone: the description is only written for a conflict.
        members.clone().nth(1)?;
        let mut members: Vec<String> = members.map(|other| other.key.to_string()).collect();
        members.sort();
        Some(messages::duplicate_fqdn(&slot.fqdn, &members))
    }

    /// Replaces the virtual hosts of the roots in `hosts` (`old` are the fqdns they
    /// served before); returns the fqdns whose host changed.
    fn rehost(&mut self, old: &BTreeSet<String>, hosts: BTreeMap<u32, Option<ServedVirtualHost>>) -> BTreeSet<String> {
        let mut removed: FxHashMap<String, Arc<ServedVirtualHost>> = FxHashMap::default();
        let mut added: Vec<ServedVirtualHost> = Vec::new();
        for (id, host) in hosts {
            if let Some(Some(slot)) = self.slots.get_mut(id as usize) {
                slot.serves = host.is_some();
            }
            added.extend(host);
        }
        // Hosts served again as they were leave the list (and the `Arc` sharing it with
        // the last `Dag`) alone.
        let unchanged = |host: &ServedVirtualHost| {
            old.contains(&host.fqdn)
                && self
                    .virtual_hosts
                    .binary_search_by(|v| v.fqdn.cmp(&host.fqdn))
                    .ok()
                    .and_then(|i| self.virtual_hosts.get(i))
                    .is_some_and(|v| **v == *host)
        };
        if added.len() == old.len() && added.iter().all(unchanged) {
            return BTreeSet::new();
        }
        let virtual_hosts = Arc::make_mut(&mut self.virtual_hosts);
        let in_place = old.len() + added.len() <= IN_PLACE_HOSTS;
        if in_place {
            for fqdn in old {
                if let Ok(i) = virtual_hosts.binary_search_by(|v| v.fqdn.as_str().cmp(fqdn)) {
                    let host = virtual_hosts.remove(i);
                    removed.insert(fqdn.clone(), host);
                }
            }
        } else {
            let old: FxHashSet<&str> = old.iter().map(String::as_str).collect();
            let mut kept = Vec::with_capacity(virtual_hosts.len());
            for host in std::mem::take(virtual_hosts) {
                if old.contains(host.fqdn.as_str()) {
                    removed.insert(host.fqdn.clone(), host);
                } else {
                    kept.push(host);
                }
            }
            *virtual_hosts = kept;
        }
        let mut changed = BTreeSet::new();
        for host in added {
            let host = match removed.remove(&host.fqdn) {
                Some(previous) if *previous == host => previous,
                _ => {
                    changed.insert(host.fqdn.clone());
                    Arc::new(host)
                }
            };
            if in_place {
                match virtual_hosts.binary_search_by(|v| v.fqdn.cmp(&host.fqdn)) {
                    Ok(i) => {
                        if let Some(slot) = virtual_hosts.get_mut(i) {
                            *slot = host;
                        }
                    }
                    Err(i) => virtual_hosts.insert(i, host),
                }
            } else {
                virtual_hosts.push(host);
            }
        }
        if !in_place {
            virtual_hosts.sort_unstable_by(|a, b| a.fqdn.cmp(&b.fqdn));
        }
        changed.extend(removed.into_keys());
        changed
    }

    fn slot(&self, key: &ObjectRef) -> Option<&RootSlot> {
        self.ids.get(key).and_then(|id| self.slot_by_id(*id))
    }

    fn slot_by_id(&self, id: u32) -> Option<&RootSlot> {
        self.slots.get(id as usize).and_then(Option::as_ref)
    }

    /// Stores a root with its dependencies.
    fn insert_slot(&mut self, slot: RootSlot) -> u32 {
        let key = Arc::clone(&slot.key);
        let dependencies = slot.dependencies.clone();
        let lookups = slot.lookups.clone();
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(free) = self.slots.get_mut(id as usize) {
                    *free = Some(slot);
                }
                id
            }
            None => {
                self.slots.push(Some(slot));
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.ids.insert(key, id);
        self.register(id, &dependencies, &lookups);
        id
    }

    /// Forgets a root and its dependencies.
    fn remove_slot(&mut self, key: &ObjectRef) -> Option<RootSlot> {
        let id = self.ids.remove(key)?;
        let slot = self.slots.get_mut(id as usize)?.take()?;
        self.free.push(id);
        self.unregister(id, &slot.dependencies, &slot.lookups);
        Some(slot)
    }

    fn register(&mut self, id: u32, dependencies: &[u64], lookups: &[u64]) {
        self.register_dependents(id, dependencies, lookups);
        for hash in lookups {
            match self.lookups.get_mut(hash) {
                Some(count) => *count += 1,
                None => {
                    self.lookups.insert(*hash, 1);
                }
            }
        }
    }

    /// The part of [`register`](Self::register) that notes root `id` as a dependent of
    /// each hash; the lookups are not counted.
    fn register_dependents(&mut self, id: u32, dependencies: &[u64], lookups: &[u64]) {
        for hash in dependencies.iter().chain(lookups) {
            let roots = self.dependents.entry(*hash).or_default();
            if !roots.contains(&id) {
                roots.push(id);
            }
        }
    }

    fn unregister(&mut self, id: u32, dependencies: &[u64], lookups: &[u64]) {
        for hash in dependencies.iter().chain(lookups) {
            if let Some(roots) = self.dependents.get_mut(hash) {
                roots.retain(|r| *r != id);
                if roots.is_empty() {
                    self.dependents.remove(hash);
                }
            }
        }
        for hash in lookups {
            if let Some(count) = self.lookups.get_mut(hash) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.lookups.remove(hash);
                }
            }
        }
    }
}
