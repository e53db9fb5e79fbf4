//! The result of a build.
//!
//! A [`Dag`] is cheap to produce again after a small change (see
//! [`IncrementalDag`](crate::IncrementalDag)): its virtual hosts are shared
//! ([`Arc`]), its statuses live in a map whose versions share their storage (a new
//! version that changes a few statuses copies a few chunks of 64 entries, not 20,000
//! entries; see `shared_map.rs`), and its [`DelegationGraph`] is built on first use
//! from the IngressRoutes the statuses map keeps alongside each status.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use ingressroute_api::IngressRoute;

use crate::shared_map::{self, SharedMap};
use crate::{DelegationGraph, ObjectRef, ServedVirtualHost, Status};

/// What a build found: the virtual hosts to serve, a status for every IngressRoute, and
/// the delegation graph they came from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Dag {
    /// Shared as a whole too: a `Dag` made after a change that served nothing new
    /// costs no copy of the list.
    pub(crate) virtual_hosts: Arc<Vec<Arc<ServedVirtualHost>>>,
    pub(crate) statuses: StatusMap,
    /// Filled by [`build`](crate::build); derived from `statuses` on first use otherwise.
    pub(crate) graph: OnceLock<DelegationGraph>,
    pub(crate) lookups: Lookups,
}

/// The Services and Secrets a build looked up, found or not.
#[derive(Debug, Clone)]
pub(crate) enum Lookups {
    /// By name, as a full build notes them.
    Noted { services: References, secrets: References },
    /// By [`dependency`](crate::build::Dependency) hash, with how many roots looked each
    /// up, as an incremental build tracks them.
    Tracked(SharedMap<u64, u32>),
}

impl Default for Lookups {
    fn default() -> Self {
        Self::Noted {
            services: References::default(),
            secrets: References::default(),
        }
    }
}

/// The namespaces and names a build looked up, found or not. Queried with borrowed
/// strings, so noting a name already noted allocates nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct References(BTreeMap<String, BTreeSet<String>>);

impl References {
    pub(crate) fn note(&mut self, namespace: &str, name: &str) {
        match self.0.get_mut(namespace) {
            Some(names) => {
                if !names.contains(name) {
                    names.insert(name.to_owned());
                }
            }
            None => {
                self.0.insert(namespace.to_owned(), BTreeSet::from([name.to_owned()]));
            }
        }
    }

    fn contains(&self, object: &ObjectRef) -> bool {
        self.0
            .get(&object.namespace)
            .is_some_and(|names| names.contains(&object.name))
    }

    /// Every (namespace, name) noted.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .flat_map(|(ns, names)| names.iter().map(move |name| (ns.as_str(), name.as_str())))
    }
}

impl Dag {
    /// The virtual hosts of valid roots that serve something, sorted by fqdn (unique,
    /// even ignoring ASCII case).
    ///
    /// Shared: an [`IncrementalDag`](crate::IncrementalDag) hands the same [`Arc`] to
    /// every `Dag` for as long as the host does not change, so a translation can skip an
    /// unchanged host by pointer ([`Arc::ptr_eq`]).
    #[must_use]
    pub fn virtual_hosts(&self) -> &[Arc<ServedVirtualHost>] {
        &self.virtual_hosts
    }

    /// The status of every IngressRoute of the served ingress class, by namespace then
    /// name. IngressRoutes of other classes have none.
    #[must_use]
    pub fn statuses(&self) -> &StatusMap {
        &self.statuses
    }

    /// The status of one IngressRoute.
    #[must_use]
    pub fn status(&self, object: &ObjectRef) -> Option<&Status> {
        self.statuses.get(object)
    }

    /// The delegation graph of the build.
    ///
    /// A `Dag` from an [`IncrementalDag`](crate::IncrementalDag) builds it on the first
    /// call (in time linear in the number of IngressRoutes) and keeps it.
    #[must_use]
    pub fn graph(&self) -> &DelegationGraph {
        self.graph.get_or_init(|| {
            let routes: Vec<(&Arc<ObjectRef>, &IngressRoute)> = self
                .statuses
                .entries
                .iter()
                .map(|(key, entry)| (key, entry.route.as_ref()))
                .collect();
            DelegationGraph::new(&routes)
        })
    }

    /// Whether the build looked up this Service (found or not). A change to a Service
    /// the build did not look up cannot change its result.
    ///
    /// A `Dag` from an [`IncrementalDag`](crate::IncrementalDag) tracks lookups by a
    /// 64-bit hash: in the unlikely event of a collision it answers `true` for a Service
    /// it did not look up (which costs a needless rebuild), never `false` for one it did.
    #[must_use]
    pub fn references_service(&self, service: &ObjectRef) -> bool {
        match &self.lookups {
            Lookups::Noted { services, .. } => services.contains(service),
            Lookups::Tracked(lookups) => {
                let hash = crate::build::Dependency::Service.hash(&service.namespace, &service.name);
                lookups.contains_key(&hash)
            }
        }
    }

    /// Whether the build looked up this Secret (found or not), as a TLS certificate or a
    /// CA bundle. A change to a Secret the build did not look up cannot change its result.
    ///
    /// Like [`references_service`](Self::references_service), a `Dag` from an
    /// [`IncrementalDag`](crate::IncrementalDag) may rarely answer `true` in excess.
    #[must_use]
    pub fn references_secret(&self, secret: &ObjectRef) -> bool {
        match &self.lookups {
            Lookups::Noted { secrets, .. } => secrets.contains(secret),
            Lookups::Tracked(lookups) => {
                let hash = crate::build::Dependency::Secret.hash(&secret.namespace, &secret.name);
                lookups.contains_key(&hash)
            }
        }
    }
}

/// One IngressRoute of a build: its status, and the object (from which the
/// [`DelegationGraph`] is derived when asked for).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) status: Status,
    pub(crate) route: Arc<IngressRoute>,
}

/// The status of every IngressRoute of a build, by namespace then name: a map with
/// the read-only methods of a `BTreeMap<ObjectRef, Status>`.
///
/// Cloning it is cheap whatever its size, and two versions that differ in a few
/// statuses share everything else (in chunks of up to 128 statuses), so that an
/// [`IncrementalDag`](crate::IncrementalDag) can hand out a new [`Dag`] after every change
/// while the previous one is still in use.
#[derive(Clone, Default)]
pub struct StatusMap {
    /// By each IngressRoute's stored reference, shared.
    pub(crate) entries: SharedMap<Arc<ObjectRef>, Entry>,
}

impl StatusMap {
    /// How many IngressRoutes have a status.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no IngressRoute has a status.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The status of one IngressRoute.
    #[must_use]
    pub fn get(&self, object: &ObjectRef) -> Option<&Status> {
        self.entries.get(object).map(|entry| &entry.status)
    }

    /// Whether an IngressRoute has a status (is of the served ingress class).
    #[must_use]
    pub fn contains_key(&self, object: &ObjectRef) -> bool {
        self.entries.contains_key(object)
    }

    /// Every IngressRoute with its status, by namespace then name.
    #[must_use]
    pub fn iter(&self) -> StatusIter<'_> {
        StatusIter(self.entries.iter())
    }

    /// Every IngressRoute with a status, by namespace then name.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &ObjectRef> + ExactSizeIterator {
        self.entries.iter().map(|(key, _)| &**key)
    }

    /// Every status, by namespace then name of its IngressRoute.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Status> + ExactSizeIterator {
        self.entries.iter().map(|(_, entry)| &entry.status)
    }
}

impl PartialEq for StatusMap {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for StatusMap {}

impl fmt::Debug for StatusMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a StatusMap {
    type Item = (&'a ObjectRef, &'a Status);
    type IntoIter = StatusIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The iterator of [`StatusMap::iter`].
#[derive(Clone)]
pub struct StatusIter<'a>(shared_map::Iter<'a, Arc<ObjectRef>, Entry>);

impl fmt::Debug for StatusIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusIter").finish_non_exhaustive()
    }
}

impl<'a> Iterator for StatusIter<'a> {
    type Item = (&'a ObjectRef, &'a Status);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(key, entry)| (&**key, &entry.status))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for StatusIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(key, entry)| (&**key, &entry.status))
    }
}

impl ExactSizeIterator for StatusIter<'_> {}
