//! The result of a build.

use std::collections::{BTreeMap, BTreeSet};

use crate::{DelegationGraph, ObjectRef, ServedVirtualHost, Status};

/// What a build found: the virtual hosts to serve, a status for every IngressRoute, and
/// the delegation graph they came from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Dag {
    pub(crate) virtual_hosts: Vec<ServedVirtualHost>,
    pub(crate) statuses: BTreeMap<ObjectRef, Status>,
    pub(crate) graph: DelegationGraph,
    pub(crate) referenced_services: References,
    pub(crate) referenced_secrets: References,
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
}

impl Dag {
    /// The virtual hosts of valid roots that serve something, sorted by fqdn (unique,
    /// even ignoring ASCII case).
    #[must_use]
    pub fn virtual_hosts(&self) -> &[ServedVirtualHost] {
        &self.virtual_hosts
    }

    /// The status of every IngressRoute of the served ingress class, by namespace then
    /// name. IngressRoutes of other classes have none.
    #[must_use]
    pub fn statuses(&self) -> &BTreeMap<ObjectRef, Status> {
        &self.statuses
    }

    /// The status of one IngressRoute.
    #[must_use]
    pub fn status(&self, object: &ObjectRef) -> Option<&Status> {
        self.statuses.get(object)
    }

    /// The delegation graph of the build.
    #[must_use]
    pub fn graph(&self) -> &DelegationGraph {
        &self.graph
    }

    /// Whether the build looked up this Service (found or not). A change to a Service
    /// the build did not look up cannot change its result.
    #[must_use]
    pub fn references_service(&self, service: &ObjectRef) -> bool {
        self.referenced_services.contains(service)
    }

    /// Whether the build looked up this Secret (found or not), as a TLS certificate or a
    /// CA bundle. A change to a Secret the build did not look up cannot change its result.
    #[must_use]
    pub fn references_secret(&self, secret: &ObjectRef) -> bool {
        self.referenced_secrets.contains(secret)
    }
}
