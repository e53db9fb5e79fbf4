//! The input of a build: every object the DAG may look at, keyed by namespace and name.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use ingressroute_api::{IngressRoute, TLSCertificateDelegation};
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rustc_hash::FxHashMap;

use crate::{K8sService, Secret, SecretError};

/// The identity of a namespaced object: its namespace and name.
///
/// Ordered by namespace, then name, which is the order every build walks objects in
/// (decision [D2](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d2)). Displayed as `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ObjectRef {
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl ObjectRef {
    /// The namespace objects without one live in, as `kubectl` assumes.
    pub const DEFAULT_NAMESPACE: &'static str = "default";

    /// A reference to `namespace/name`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The reference of an object's metadata; no namespace means `default`, no name
    /// means the empty name.
    #[must_use]
    pub fn from_meta(meta: &ObjectMeta) -> Self {
        Self {
            namespace: meta
                .namespace
                .clone()
                .filter(|ns| !ns.is_empty())
                .unwrap_or_else(|| Self::DEFAULT_NAMESPACE.to_owned()),
            name: meta.name.clone().unwrap_or_default(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A namespace-then-name index that can be queried with borrowed strings.
#[derive(Debug, Clone)]
pub(crate) struct Index<T>(BTreeMap<String, BTreeMap<String, T>>);

impl<T> Default for Index<T> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<T> Index<T> {
    pub(crate) fn insert(&mut self, key: &ObjectRef, value: T) -> Option<T> {
        self.0
            .entry(key.namespace.clone())
            .or_default()
            .insert(key.name.clone(), value)
    }

    fn remove(&mut self, key: &ObjectRef) -> Option<T> {
        let names = self.0.get_mut(&key.namespace)?;
        let removed = names.remove(&key.name);
        if names.is_empty() {
            self.0.remove(&key.namespace);
        }
        removed
    }

    pub(crate) fn get(&self, key: &ObjectRef) -> Option<&T> {
        self.0.get(&key.namespace)?.get(&key.name)
    }

    /// The entry of `namespace/name`, with the index's own copy of the two strings.
    pub(crate) fn get_entry(&self, namespace: &str, name: &str) -> Option<(&str, &str, &T)> {
        let (namespace, names) = self.0.get_key_value(namespace)?;
        let (name, value) = names.get_key_value(name)?;
        Some((namespace, name, value))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str, &T)> {
        self.0
            .iter()
            .flat_map(|(ns, names)| names.iter().map(move |(name, v)| (ns.as_str(), name.as_str(), v)))
    }

    pub(crate) fn namespace(&self, namespace: &str) -> impl Iterator<Item = &T> {
        self.0.get(namespace).into_iter().flat_map(BTreeMap::values)
    }

    fn len(&self) -> usize {
        self.0.values().map(BTreeMap::len).sum()
    }
}

/// A namespace-then-name index for lookups only: hashed, so a lookup costs one hash per
/// level whatever the size. Iterate with [`HashIndex::sorted`] where order matters.
///
/// With the Fx hash, as the incremental build's other indexes by object name: every
/// route of a build looks up its Services here, and names are short strings, for which
/// the default SipHash costs several times more.
#[derive(Debug, Clone)]
pub(crate) struct HashIndex<T>(FxHashMap<String, FxHashMap<String, T>>);

impl<T> Default for HashIndex<T> {
    fn default() -> Self {
        Self(FxHashMap::default())
    }
}

impl<T> HashIndex<T> {
    pub(crate) fn get(&self, namespace: &str, name: &str) -> Option<&T> {
        self.0.get(namespace)?.get(name)
    }

    fn insert(&mut self, key: &ObjectRef, value: T) -> Option<T> {
        self.0
            .entry(key.namespace.clone())
            .or_default()
            .insert(key.name.clone(), value)
    }

    fn remove(&mut self, key: &ObjectRef) -> Option<T> {
        let names = self.0.get_mut(&key.namespace)?;
        let removed = names.remove(&key.name);
        if names.is_empty() {
            self.0.remove(&key.namespace);
        }
        removed
    }

    /// Every entry, by namespace then name.
    fn sorted(&self) -> Vec<&T> {
        let mut entries: Vec<(&str, &str, &T)> = self
            .0
            .iter()
            .flat_map(|(ns, names)| names.iter().map(move |(name, v)| (ns.as_str(), name.as_str(), v)))
            .collect();
        entries.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        entries.into_iter().map(|(_, _, v)| v).collect()
    }

    fn len(&self) -> usize {
        self.0.values().map(FxHashMap::len).sum()
    }
}

/// An IngressRoute as stored: the object, and why it must never be served if it was
/// inserted as rejected.
#[derive(Debug, Clone)]
pub(crate) struct StoredIngressRoute {
    /// Its reference, made once: every build's walk shares it (as the source of the
    /// routes it serves) instead of making its own.
    pub(crate) key: Arc<ObjectRef>,
    pub(crate) route: Arc<IngressRoute>,
    /// The description given to [`Objects::insert_rejected_ingress_route`].
    pub(crate) rejection: Option<String>,
}

/// Every object a build may look at: IngressRoutes, TLSCertificateDelegations, Services
/// and Secrets.
///
/// Objects are keyed by namespace and name; inserting an object with the key of one
/// already present replaces it. Services and Secrets are reduced to what routing needs
/// when they are inserted, so rebuilding is cheap and Secrets that IngressRoutes cannot
/// use cost nothing. The order of insertion never matters (decision [D2](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d2)).
#[derive(Debug, Clone, Default)]
pub struct Objects {
    pub(crate) ingress_routes: Index<StoredIngressRoute>,
    pub(crate) delegations: Index<Arc<TLSCertificateDelegation>>,
    pub(crate) services: HashIndex<Arc<K8sService>>,
    pub(crate) secrets: HashIndex<Arc<Secret>>,
}

impl Objects {
    /// An empty set of objects.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces an IngressRoute; returns its reference.
    ///
    /// Replacing an IngressRoute inserted with
    /// [`insert_rejected_ingress_route`](Self::insert_rejected_ingress_route) clears its
    /// rejection.
    pub fn insert_ingress_route(&mut self, route: impl Into<Arc<IngressRoute>>) -> ObjectRef {
        self.insert_stored(route.into(), None)
    }

    /// Inserts or replaces an IngressRoute that must never be served, with the reason as
    /// its status description; returns its reference.
    ///
    /// This is for an object the API server would reject, or one that decoded only
    /// leniently (required fields missing and filled with zero values): a source that
    /// cannot trust the object still wants it in the build, so that the rest of the
    /// configuration sees what the cluster sees. Such an object takes part in the build
    /// like any other: it is a vertex of the [`DelegationGraph`](crate::DelegationGraph)
    /// with its delegations, a root takes part in the duplicate-fqdn and root checks,
    /// and its own errors are found as usual. But it behaves as an invalid IngressRoute
    /// (decision [D1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d1)): it contributes no route and no TCP proxy, and what only it
    /// delegates to is orphaned. Its status is `invalid`, described by the first error
    /// the build finds on it (e.g. `Spec.VirtualHost.Fqdn must be specified` for a root
    /// whose fqdn is missing) or, when the build finds none, by `description`, with
    /// [`Reason::Rejected`](crate::Reason::Rejected).
    ///
    /// Inserting the object again with [`insert_ingress_route`](Self::insert_ingress_route),
    /// or removing it, clears the rejection.
    pub fn insert_rejected_ingress_route(
        &mut self,
        route: impl Into<Arc<IngressRoute>>,
        description: impl Into<String>,
    ) -> ObjectRef {
        self.insert_stored(route.into(), Some(description.into()))
    }

    fn insert_stored(&mut self, route: Arc<IngressRoute>, rejection: Option<String>) -> ObjectRef {
        let key = ObjectRef::from_meta(&route.metadata);
        let stored = StoredIngressRoute {
            key: Arc::new(key.clone()),
            route,
            rejection,
        };
        self.ingress_routes.insert(&key, stored);
        key
    }

    /// The description an IngressRoute was inserted with by
    /// [`insert_rejected_ingress_route`](Self::insert_rejected_ingress_route), if it is
    /// stored as rejected.
    #[must_use]
    pub fn rejection(&self, key: &ObjectRef) -> Option<&str> {
        self.ingress_routes
            .get(key)
            .and_then(|stored| stored.rejection.as_deref())
    }

    /// Removes an IngressRoute; returns whether it was present.
    pub fn remove_ingress_route(&mut self, key: &ObjectRef) -> bool {
        self.ingress_routes.remove(key).is_some()
    }

    /// Inserts or replaces a TLSCertificateDelegation; returns its reference.
    pub fn insert_delegation(&mut self, delegation: impl Into<Arc<TLSCertificateDelegation>>) -> ObjectRef {
        let delegation = delegation.into();
        let key = ObjectRef::from_meta(&delegation.metadata);
        self.delegations.insert(&key, delegation);
        key
    }

    /// Removes a TLSCertificateDelegation; returns whether it was present.
    pub fn remove_delegation(&mut self, key: &ObjectRef) -> bool {
        self.delegations.remove(key).is_some()
    }

    /// Inserts or replaces a Service; returns its reference.
    pub fn insert_service(&mut self, service: &core_v1::Service) -> ObjectRef {
        let service = K8sService::from_k8s(service);
        let key = service.meta.clone();
        self.services.insert(&key, Arc::new(service));
        key
    }

    /// The stored Service `key`, as routing reads it.
    #[must_use]
    pub fn service(&self, key: &ObjectRef) -> Option<&Arc<K8sService>> {
        self.services.get(&key.namespace, &key.name)
    }

    /// Removes a Service; returns whether it was present.
    pub fn remove_service(&mut self, key: &ObjectRef) -> bool {
        self.services.remove(key).is_some()
    }

    /// Inserts or replaces a Secret if IngressRoutes can use it.
    ///
    /// A Secret IngressRoutes cannot use (another type, an `Opaque` Secret without
    /// `ca.crt`) is not stored, and neither is a malformed one; either way a previous
    /// copy under the same name is removed (decision [D12](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d12)).
    ///
    /// # Errors
    ///
    /// Returns why a Secret of a usable kind was rejected, so tools can report it.
    pub fn insert_secret(&mut self, secret: &core_v1::Secret) -> Result<ObjectRef, SecretError> {
        let key = ObjectRef::from_meta(&secret.metadata);
        match Secret::from_k8s(secret) {
            Ok(Some(secret)) => {
                self.secrets.insert(&key, Arc::new(secret));
                Ok(key)
            }
            Ok(None) => {
                self.secrets.remove(&key);
                Ok(key)
            }
            Err(e) => {
                self.secrets.remove(&key);
                Err(e)
            }
        }
    }

    /// Removes a Secret; returns whether it was stored.
    pub fn remove_secret(&mut self, key: &ObjectRef) -> bool {
        self.secrets.remove(key).is_some()
    }

    /// The IngressRoutes, by namespace then name (rejected ones included).
    pub fn ingress_routes(&self) -> impl Iterator<Item = &Arc<IngressRoute>> {
        self.ingress_routes.iter().map(|(_, _, stored)| &stored.route)
    }

    /// The stored Services, by namespace then name.
    pub fn services(&self) -> impl Iterator<Item = &Arc<K8sService>> {
        self.services.sorted().into_iter()
    }

    /// The stored (usable) Secrets, by namespace then name.
    pub fn secrets(&self) -> impl Iterator<Item = &Arc<Secret>> {
        self.secrets.sorted().into_iter()
    }

    /// The TLSCertificateDelegations, by namespace then name.
    pub fn delegations(&self) -> impl Iterator<Item = &Arc<TLSCertificateDelegation>> {
        self.delegations.iter().map(|(_, _, d)| d)
    }

    /// How many objects of each kind are stored.
    #[must_use]
    pub fn counts(&self) -> ObjectCounts {
        ObjectCounts {
            ingress_routes: self.ingress_routes.len(),
            delegations: self.delegations.len(),
            services: self.services.len(),
            secrets: self.secrets.len(),
        }
    }
}

/// How many objects of each kind an [`Objects`] holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectCounts {
    /// IngressRoutes.
    pub ingress_routes: usize,
    /// TLSCertificateDelegations.
    pub delegations: usize,
    /// Services.
    pub services: usize,
    /// Usable Secrets (others are not stored).
    pub secrets: usize,
}
