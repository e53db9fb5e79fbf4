//! The model half of `explain`: which IngressRoutes stand behind what Envoy does (the
//! root of a virtual host, the delegation chain of a route, the Services of a cluster),
//! and why nothing serves when nothing does.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use ingressroute_api::IngressRoute;
use ingressroute_dag::{
    CurrentStatus, Dag, Delegation, ObjectRef, Reason, ServedRoute, ServedVirtualHost, WeightedCluster,
};
use ingressroute_envoy::names;
use ingressroute_pipeline::Statuses;

use super::ChainStep;

/// An IngressRoute that is not valid and has a route whose `match` is a prefix of the
/// path: it would have served the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// The IngressRoute.
    pub(crate) object: ObjectRef,
    /// Its route's `match`.
    pub(crate) r#match: String,
    /// Its status, `invalid` or `orphaned`.
    pub(crate) status: CurrentStatus,
    /// Its status description.
    pub(crate) description: String,
}

/// The DAG, the statuses and the IngressRoutes of one build.
pub(crate) struct Model<'a> {
    dag: &'a Dag,
    statuses: &'a Statuses,
    ingress_routes: &'a BTreeMap<ObjectRef, Arc<IngressRoute>>,
    undecodable_fqdns: &'a BTreeMap<ObjectRef, String>,
}

impl<'a> Model<'a> {
    /// The model of a build: its DAG, its statuses (undecodable IngressRoutes included),
    /// the IngressRoutes that went into it and the fqdns of those that do not decode.
    pub(crate) fn new(
        dag: &'a Dag,
        statuses: &'a Statuses,
        ingress_routes: &'a BTreeMap<ObjectRef, Arc<IngressRoute>>,
        undecodable_fqdns: &'a BTreeMap<ObjectRef, String>,
    ) -> Self {
        Self {
            dag,
            statuses,
            ingress_routes,
            undecodable_fqdns,
        }
    }

    /// The served virtual host of `fqdn` (case-insensitive).
    pub(crate) fn virtual_host(&self, fqdn: &str) -> Option<&'a ServedVirtualHost> {
        self.dag
            .virtual_hosts()
            .iter()
            .find(|vhost| vhost.fqdn.eq_ignore_ascii_case(fqdn))
            .map(|vhost| &**vhost)
    }

    /// The status and description of an IngressRoute (`orphaned` for one the build does
    /// not know, which cannot happen for an object of the same build).
    pub(crate) fn status(&self, object: &ObjectRef) -> (CurrentStatus, String) {
        self.statuses
            .get(object)
            .cloned()
            .unwrap_or((CurrentStatus::Orphaned, String::new()))
    }

    /// Every IngressRoute whose `spec.virtualhost.fqdn` is `fqdn` (case-insensitive),
    /// those that do not decode included, with its status and whether its status says
    /// the fqdn is claimed twice.
    pub(crate) fn roots_of(&self, fqdn: &str) -> Vec<(ObjectRef, CurrentStatus, String, bool)> {
        let decoded = self.ingress_routes.iter().filter(|(_, route)| {
            route
                .spec
                .virtualhost
                .as_ref()
                .is_some_and(|vhost| vhost.fqdn.eq_ignore_ascii_case(fqdn))
        });
        let undecodable = self
            .undecodable_fqdns
            .iter()
            .filter(|(_, written)| written.eq_ignore_ascii_case(fqdn));
        decoded
            .map(|(object, _)| object)
            .chain(undecodable.map(|(object, _)| object))
            .map(|object| {
                let (status, description) = self.status(object);
                let duplicate = self
                    .dag
                    .status(object)
                    .is_some_and(|s| s.reason == Reason::DuplicateFqdn);
                (object.clone(), status, description, duplicate)
            })
            .collect()
    }

    /// The served route of `vhost` with this prefix, among the routes of the listener
    /// (`https`: the TLS listener's).
    pub(crate) fn route(vhost: &'a ServedVirtualHost, prefix: &str, https: bool) -> Option<&'a ServedRoute> {
        let routes = if https { vhost.https_routes() } else { &vhost.routes };
        routes.iter().find(|route| route.prefix == prefix)
    }

    /// The delegation chain from `root` to `source`: each IngressRoute on the way with
    /// the `match` of its route that leads on (for `source`, `prefix` itself; for a TCP
    /// proxy, no match). The first path whose matches are prefixes of `prefix` wins.
    pub(crate) fn chain(&self, root: &ObjectRef, source: &ObjectRef, prefix: Option<&str>) -> Vec<ChainStep> {
        let graph = self.dag.graph();
        let mut visited = BTreeSet::new();
        let mut path: Vec<(ObjectRef, Option<String>)> = Vec::new();
        if !self.find(graph, root, source, prefix, &mut visited, &mut path) {
            path = vec![(source.clone(), None)];
        }
        path.into_iter()
            .map(|(object, r#match)| {
                let r#match = r#match.or_else(|| prefix.map(str::to_owned));
                let (status, description) = self.status(&object);
                ChainStep {
                    namespace: object.namespace,
                    name: object.name,
                    r#match,
                    status: status.as_str().to_owned(),
                    description,
                }
            })
            .collect()
    }

    fn find(
        &self,
        graph: &ingressroute_dag::DelegationGraph,
        at: &ObjectRef,
        target: &ObjectRef,
        prefix: Option<&str>,
        visited: &mut BTreeSet<ObjectRef>,
        path: &mut Vec<(ObjectRef, Option<String>)>,
    ) -> bool {
        if !visited.insert(at.clone()) {
            return false;
        }
        if at == target {
            path.push((at.clone(), None));
            return true;
        }
        for (child, delegation) in graph.delegations(at) {
            let r#match = match (delegation, prefix) {
                (Delegation::Route { prefix: via, .. }, Some(prefix)) if prefix.starts_with(via.as_str()) => {
                    Some(via.clone())
                }
                (Delegation::TcpProxy, None) => None,
                _ => continue,
            };
            path.push((at.clone(), r#match));
            if self.find(graph, child, target, prefix, visited, path) {
                return true;
            }
            path.pop();
        }
        false
    }

    /// The IngressRoutes that are not valid and have a route matching `path` among
    /// `root` and those it delegates to (directly or not, whatever their status), the
    /// longest match first. Orphans that no IngressRoute of the tree delegates to are
    /// not named: nothing ties them to this virtual host.
    pub(crate) fn candidates(&self, root: Option<&ObjectRef>, path: &str) -> Vec<Candidate> {
        let tree = root.map(|root| self.tree(root)).unwrap_or_default();
        let mut found: Vec<Candidate> = Vec::new();
        for (object, route) in self.ingress_routes {
            let (status, description) = self.status(object);
            if status == CurrentStatus::Valid || !tree.contains(object) {
                continue;
            }
            let best = route
                .spec
                .routes
                .iter()
                .map(|r| r.match_.as_str())
                .filter(|m| !m.is_empty() && path.starts_with(m))
                .max_by_key(|m| m.len());
            if let Some(r#match) = best {
                found.push(Candidate {
                    object: object.clone(),
                    r#match: r#match.to_owned(),
                    status,
                    description,
                });
            }
        }
        found.sort_by(|a, b| b.r#match.len().cmp(&a.r#match.len()).then(a.object.cmp(&b.object)));
        found
    }

    /// The routes of `root`'s tree whose `match` is a prefix of `path` and that delegate
    /// to an IngressRoute that does not exist: (delegating IngressRoute, match, target).
    pub(crate) fn missing_delegates(&self, root: &ObjectRef, path: &str) -> Vec<(ObjectRef, String, ObjectRef)> {
        let mut missing = Vec::new();
        for object in self.tree(root) {
            let Some(route) = self.ingress_routes.get(&object) else {
                continue;
            };
            for r in &route.spec.routes {
                let Some(delegate) = &r.delegate else { continue };
                let target = ObjectRef::new(
                    delegate.namespace.clone().unwrap_or_else(|| object.namespace.clone()),
                    delegate.name.clone(),
                );
                if !r.match_.is_empty() && path.starts_with(&r.match_) && !self.ingress_routes.contains_key(&target) {
                    missing.push((object.clone(), r.match_.clone(), target));
                }
            }
        }
        missing
    }

    /// `root` and every IngressRoute it delegates to, whatever their status.
    fn tree(&self, root: &ObjectRef) -> BTreeSet<ObjectRef> {
        let graph = self.dag.graph();
        let mut seen = BTreeSet::from([root.clone()]);
        let mut queue = VecDeque::from([root.clone()]);
        while let Some(at) = queue.pop_front() {
            for (child, _) in graph.delegations(&at) {
                if seen.insert(child.clone()) {
                    queue.push_back(child.clone());
                }
            }
        }
        seen
    }
}

/// The upstream of a served route (or TCP proxy) that Envoy knows as `cluster`.
pub(crate) fn upstream_of<'a>(clusters: &'a [WeightedCluster], cluster: &str) -> Option<&'a WeightedCluster> {
    clusters.iter().find(|c| names::cluster_name(&c.cluster) == cluster)
}
