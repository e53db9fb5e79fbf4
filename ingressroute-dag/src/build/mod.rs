//! The build: from [`Objects`] and a [`Config`] to a [`Dag`].
//!
//! The [`DelegationGraph`] is built first: it is the only place a delegation is
//! resolved to its target. Then two passes run over it.
//!
//! 1. **Walk.** Roots are taken in namespace-then-name order. A root that passes the root
//!    checks (namespace, unique fqdn, fqdn, TLS) is evaluated as a whole: its tcpproxy
//!    and every one of its routes. Only when the whole object is valid does the walk
//!    follow its edges, depth first in route order, evaluating each target the same way
//!    against the delegating route's prefix and the chain that led to it. A delegation
//!    closes a cycle when it lies on a cycle of the graph (a strongly connected
//!    component) and its target is on the walk's path; the path names the cycle. Every
//!    evaluation is a *visit*; a target reached again from the same root through the
//!    same prefix reuses its visit, so shared sub-trees are walked once per root (no
//!    exponential blow-up on diamonds). The walk keeps its own stack, so a chain of any
//!    length cannot overflow the call stack. Errors are *findings*; an object with a
//!    finding on any visit is invalid (decision [D2](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d2)), and the first finding in walk order
//!    is its description. An object inserted as rejected is evaluated the same way but
//!    never followed; when no visit finds anything on it, its rejection is its finding.
//! 2. **Serve.** An object is reached when the graph leads to it from a valid root
//!    through objects without findings, along the kinds of delegation the walk follows;
//!    an IngressRoute that is not reached is orphaned (decision [D1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d1): an invalid object
//!    contributes nothing, and what only it leads to is not part of a valid chain). The
//!    routes and TCP proxies of each valid root's visits of objects without findings are
//!    served. Where routes share a prefix, the one Contour would add last wins: depth
//!    first in route order, a shared visit counting again each time it is reached
//!    ([behaviour §3.4](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-4), [behaviour §3.6](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-6)). Reading the visits backwards gives that answer while expanding each
//!    visit once.
//!
//! ```text
//!   Objects ──▶ DelegationGraph ──walk──▶ visits + findings ──serve──▶ VirtualHosts
//!                      └──────────reachability──────────────────────▶ statuses
//! ```
//!
//! One file per reason to change: this one runs the passes in order; [`graph`] builds
//! the graph and answers the walk's questions about it; [`roots`] holds the rules only
//! roots have (namespace, fqdn, TLS and certificate delegation); [`walk`] follows the
//! delegations and evaluates each object against its chain; [`convert`] turns the API's
//! routes, services, health checks, timeouts and retries into the served model;
//! [`serve`] assembles each root's virtual host; [`statuses`] decides what is orphaned
//! and gives every IngressRoute its status.

mod convert;
mod graph;
mod root;
mod roots;
mod serve;
mod statuses;
mod walk;

use std::sync::{Arc, OnceLock};

use rustc_hash::FxHashMap;

use ingressroute_api::{INGRESS_CLASS_ANNOTATIONS, IngressRoute};

use crate::dag::{Entry, Lookups, References, StatusMap};
use crate::graph::DelegationGraph;
use crate::shared_map::SharedMap;
use crate::status::Reason;
use crate::{Config, Dag, K8sService, ObjectRef, Objects, ServedVirtualHost, Status};

pub(crate) use self::convert::PlainClusters;
pub(crate) use self::root::{Dependency, RootRun, TreeEntry, run_root, run_root_entry};

use self::graph::CycleMembership;
use self::walk::{Path, Visit};

/// Builds the DAG: virtual hosts to serve and a status for every IngressRoute of the
/// configured ingress class.
///
/// Pure and deterministic: the same objects and config always give the same result,
/// whatever order the objects were inserted in. It never panics on any input.
#[must_use]
pub fn build(objects: &Objects, config: &Config) -> Dag {
    let mut routes: Vec<RouteEntry<'_>> = Vec::new();
    let mut shared: Vec<&Arc<IngressRoute>> = Vec::new();
    let mut rejections: FxHashMap<usize, &str> = FxHashMap::default();
    for (_, _, stored) in objects.ingress_routes.iter() {
        if !accepts_class(&stored.route, config) {
            continue;
        }
        if let Some(description) = &stored.rejection {
            rejections.insert(routes.len(), description);
        }
        routes.push((&stored.key, stored.route.as_ref()));
        shared.push(&stored.route);
    }
    let graph = DelegationGraph::new(&routes);
    let run = Builder::new(objects, config, &routes, &graph, rejections, PlainClusters::default()).run();
    let entries = SharedMap::from_sorted(run.statuses.into_iter().zip(shared).map(|((key, status), route)| {
        let route = Arc::clone(route);
        (key, Entry { status, route })
    }));
    Dag {
        virtual_hosts: Arc::new(run.virtual_hosts),
        statuses: StatusMap { entries },
        graph: OnceLock::from(graph),
        lookups: Lookups::Noted {
            services: run.referenced_services,
            secrets: run.referenced_secrets,
        },
    }
}

/// What a full run of the passes gives, before it becomes a [`Dag`].
struct Run {
    virtual_hosts: Vec<Arc<ServedVirtualHost>>,
    /// In (namespace, name) order: one per IngressRoute of the build.
    statuses: Vec<(Arc<ObjectRef>, Status)>,
    referenced_services: References,
    referenced_secrets: References,
}

/// An error found on an object during the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) reason: Reason,
    pub(crate) description: String,
}

impl Finding {
    pub(crate) fn new(reason: Reason, description: String) -> Self {
        Self { reason, description }
    }
}

type Check<T> = Result<T, Finding>;

/// An IngressRoute of a build: its stored reference and the object.
type RouteEntry<'a> = (&'a Arc<ObjectRef>, &'a IngressRoute);

/// One build in progress: the inputs, the graph, and what the passes found so far.
/// Each file of this module adds the methods of one responsibility.
struct Builder<'a> {
    objects: &'a Objects,
    config: &'a Config,
    /// IngressRoutes of the served class, sorted by (namespace, name); index = vertex.
    /// A shared slice, so that reading an object never borrows the builder.
    routes: &'a [RouteEntry<'a>],
    /// The delegations to follow: the walk resolves none itself.
    graph: &'a DelegationGraph,
    /// Where a delegation can close a cycle, so that only those are checked against the
    /// walk's path.
    cycles: CycleMembership,
    /// A reused buffer for the route delegations of the object being evaluated.
    route_targets: Vec<(usize, usize)>,
    findings: Vec<Option<(Finding, Option<String>)>>,
    /// Objects inserted as rejected, with their description: evaluated like any other
    /// but never followed or served, and invalid with this description when the walk
    /// finds nothing else.
    rejections: FxHashMap<usize, &'a str>,
    /// The fqdn of the first root whose walk reached each rejected object.
    rejected_reached_from: FxHashMap<usize, String>,
    visits: Vec<Visit>,
    /// Services that were looked up and not found.
    referenced_services: References,
    /// Services that were found, by address (noting them by name for every route that
    /// uses them would cost more than the rest of the lookup).
    found_services: FxHashMap<usize, &'a K8sService>,
    /// The upstreams without health check or validation that routes share.
    plain_clusters: PlainClusters,
    referenced_secrets: References,
    /// The namespaces whose TLSCertificateDelegations were consulted.
    consulted_delegations: Vec<String>,
}

impl<'a> Builder<'a> {
    fn new(
        objects: &'a Objects,
        config: &'a Config,
        routes: &'a [RouteEntry<'a>],
        graph: &'a DelegationGraph,
        rejections: FxHashMap<usize, &'a str>,
        plain_clusters: PlainClusters,
    ) -> Self {
        Self {
            objects,
            config,
            findings: vec![None; routes.len()],
            rejections,
            rejected_reached_from: FxHashMap::default(),
            routes,
            graph,
            cycles: graph.cycle_membership(),
            route_targets: Vec::new(),
            visits: Vec::new(),
            referenced_services: References::default(),
            found_services: FxHashMap::default(),
            plain_clusters,
            referenced_secrets: References::default(),
            consulted_delegations: Vec::new(),
        }
    }

    /// Walks, serves and gives statuses.
    fn run(mut self) -> Run {
        let duplicates = self.duplicate_fqdns();
        let mut path = Path::new(self.routes.len());

        // Pass 1: walk every root.
        let mut walks = Vec::new();
        for node in 0..self.routes.len() {
            let Some((key, route)) = self.routes.get(node) else {
                continue;
            };
            let Some(vhost) = &route.spec.virtualhost else { continue };
            if !self.admit_root(node, key, vhost, &duplicates) {
                continue;
            }
            if let Some(walk) = self.walk_root(node, &mut path) {
                walks.push(walk);
            }
        }

        self.reject_the_rest();

        // Pass 2: serve what valid chains reach.
        walks.retain(|walk| !self.is_invalid(walk.node));
        let served_from = self.served_from(&walks);
        let mut virtual_hosts = Vec::new();
        for walk in walks {
            if let Some(vhost) = self.virtual_host(walk) {
                virtual_hosts.push(Arc::new(vhost));
            }
        }
        // Fqdns are unique, so an unstable sort is deterministic.
        virtual_hosts.sort_unstable_by(|a, b| a.fqdn.cmp(&b.fqdn));
        virtual_hosts.shrink_to_fit();

        let statuses = self.statuses(served_from);

        let mut referenced_services = self.referenced_services;
        for service in self.found_services.values() {
            referenced_services.note(&service.meta.namespace, &service.meta.name);
        }
        Run {
            virtual_hosts,
            statuses,
            referenced_services,
            referenced_secrets: self.referenced_secrets,
        }
    }

    /// Records a finding on an object, unless it has one already: the first finding in
    /// walk order is its description (decision [D2](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d2)).
    fn record(&mut self, node: usize, finding: Finding, vhost: Option<String>) {
        if let Some(slot) = self.findings.get_mut(node)
            && slot.is_none()
        {
            *slot = Some((finding, vhost));
        }
    }

    fn is_invalid(&self, node: usize) -> bool {
        self.findings.get(node).is_some_and(Option::is_some)
    }

    /// The reference of an object that its served routes share.
    fn source(&self, node: usize) -> Option<Arc<ObjectRef>> {
        self.routes.get(node).map(|(key, _)| Arc::clone(key))
    }

    /// `namespace/name` of an object.
    fn key(&self, node: usize) -> String {
        self.routes.get(node).map(|(k, _)| k.to_string()).unwrap_or_default()
    }
}

/// Whether an IngressRoute belongs to the configured ingress class: the first class
/// annotation present decides; absent or empty means every class.
pub(crate) fn accepts_class(route: &IngressRoute, config: &Config) -> bool {
    let Some(annotations) = &route.metadata.annotations else {
        return true;
    };
    INGRESS_CLASS_ANNOTATIONS
        .iter()
        .find_map(|key| annotations.get(*key))
        .is_none_or(|class| class.is_empty() || *class == config.ingress_class)
}
