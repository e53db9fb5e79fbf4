//! The build: from [`Objects`] and a [`Config`] to a [`Dag`].
//!
//! It runs in two passes over the [`DelegationGraph`].
//!
//! 1. **Walk.** Roots are taken in namespace-then-name order. A root that passes the root
//!    checks (namespace, unique fqdn, fqdn, TLS) is evaluated as a whole: its tcpproxy
//!    and every one of its routes. Only when the whole object is valid does the walk
//!    follow its delegations, depth first in route order, evaluating each target the same
//!    way against the delegating route's prefix and the chain that led to it. Every
//!    evaluation is a *visit*; a target reached again from the same root through the same
//!    prefix reuses its visit, so shared sub-trees are walked once per root (no
//!    exponential blow-up on diamonds). The walk keeps its own stack, so a chain of any
//!    length cannot overflow the call stack. Errors are *findings*; an object with a
//!    finding on any visit is invalid (decision D2), and the first finding in walk order
//!    is its description. An object inserted as rejected is evaluated the same way but
//!    never followed; when no visit finds anything on it, its rejection is its finding.
//! 2. **Serve.** From every valid root, the visits are followed again, but only through
//!    objects without findings. Routes and TCP proxies of the visits reached this way are
//!    served; an IngressRoute none of whose visits is reached is orphaned (decision D1:
//!    an invalid object contributes nothing, and what only it leads to is not part of a
//!    valid chain). Where routes share a prefix, the one Contour would add last wins:
//!    depth first in route order, a shared visit counting again each time it is reached
//!    (§3.4, §3.6). Reading the visits backwards gives that answer while expanding each
//!    visit once.
//!
//! ```text
//!   Objects ──▶ DelegationGraph ──walk──▶ visits + findings ──serve──▶ VirtualHosts
//!                                                   └──────────────────▶ statuses
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;
use std::time::Duration;

use ingressroute_api::{self as api, INGRESS_CLASS_ANNOTATIONS, IngressRoute};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::dag::References;
use crate::duration::parse_go_duration;
use crate::external_name::is_refused_external_name;
use crate::graph::{Delegation, DelegationGraph, Vertex};
use crate::model::{
    Cluster, HealthCheck, RetryPolicy, Route, SecureVirtualHost, TcpProxy, Timeout, TlsMode, TlsVersion,
    UpstreamValidation, VirtualHost, WeightedCluster,
};
use crate::status::{Reason, Status, messages};
use crate::{Config, Dag, ObjectRef, Objects, Service};

/// Envoy's largest protobuf `Duration` in seconds is far larger, but Go's
/// `time.Duration` (whose rendering names clusters) ends here.
const MAX_SECONDS: i64 = i64::MAX / 1_000_000_000;
const MAX_U32: i64 = u32::MAX as i64;

/// Builds the DAG: virtual hosts to serve and a status for every IngressRoute of the
/// configured ingress class.
///
/// Pure and deterministic: the same objects and config always give the same result,
/// whatever order the objects were inserted in. It never panics on any input.
#[must_use]
pub fn build(objects: &Objects, config: &Config) -> Dag {
    let mut routes: Vec<(ObjectRef, &IngressRoute)> = Vec::new();
    let mut rejections: FxHashMap<usize, &str> = FxHashMap::default();
    for (ns, name, stored) in objects.ingress_routes.iter() {
        if !accepts_class(&stored.route, config) {
            continue;
        }
        if let Some(description) = &stored.rejection {
            rejections.insert(routes.len(), description);
        }
        routes.push((ObjectRef::new(ns, name), stored.route.as_ref()));
    }
    Builder::new(objects, config, &routes, rejections).run()
}

/// An error found on an object during the walk.
#[derive(Debug, Clone)]
struct Finding {
    reason: Reason,
    description: String,
}

impl Finding {
    fn new(reason: Reason, description: String) -> Self {
        Self { reason, description }
    }
}

type Check<T> = Result<T, Finding>;

/// One evaluation of an IngressRoute, reached through one prefix from one root.
#[derive(Debug)]
struct Visit {
    node: usize,
    /// The routes served and the HTTP delegations followed (as visits), in route order.
    items: Vec<Item>,
    /// The tcpproxy delegation followed from this visit.
    tcp_child: Option<usize>,
}

/// One route of a visit: served here, or delegated to another visit.
#[derive(Debug)]
enum Item {
    Route(Route),
    Child(usize),
    /// A route already moved into its virtual host.
    Served,
}

/// The chain of objects that led to the one being evaluated (never with repeats: a
/// cycle is refused before it is pushed), with constant-time membership so that cycle
/// checks stay linear in the length of a chain.
#[derive(Debug)]
struct Path {
    nodes: Vec<usize>,
    members: HashSet<usize>,
}

impl Path {
    fn new(first: usize) -> Self {
        Self {
            nodes: vec![first],
            members: HashSet::from([first]),
        }
    }

    fn push(&mut self, node: usize) {
        self.nodes.push(node);
        self.members.insert(node);
    }

    fn pop(&mut self) {
        if let Some(node) = self.nodes.pop() {
            self.members.remove(&node);
        }
    }

    fn contains(&self, node: usize) -> bool {
        self.members.contains(&node)
    }

    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
}

/// What a valid object's routes do, in route order.
enum Step<'a> {
    Serve(Route),
    Delegate { target: usize, prefix: &'a str },
}

/// What a valid object's tcpproxy does.
enum TcpStep {
    Serve(Vec<WeightedCluster>),
    Delegate(usize),
    Nothing,
}

/// A root that passed its own checks, and what its walk found.
struct RootWalk {
    node: usize,
    fqdn: String,
    visit: usize,
    tls: Option<TlsMode>,
    /// Routes are also served over HTTPS (TLS terminated, no tcpproxy).
    https_routes: bool,
    /// The tcpproxy chain: visits in order and the step of each.
    tcp_chain: Vec<(usize, TcpStep)>,
}

struct Builder<'a> {
    objects: &'a Objects,
    config: &'a Config,
    /// IngressRoutes of the served class, sorted by (namespace, name); index = vertex.
    /// A shared slice, so that reading an object never borrows the builder.
    routes: &'a [(ObjectRef, &'a IngressRoute)],
    /// Vertex of each (namespace, name).
    index: FxHashMap<(&'a str, &'a str), usize>,
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
    found_services: FxHashMap<usize, &'a Service>,
    referenced_secrets: References,
}

impl<'a> Builder<'a> {
    fn new(
        objects: &'a Objects,
        config: &'a Config,
        routes: &'a [(ObjectRef, &'a IngressRoute)],
        rejections: FxHashMap<usize, &'a str>,
    ) -> Self {
        let index = routes
            .iter()
            .enumerate()
            .map(|(i, (key, _))| ((key.namespace.as_str(), key.name.as_str()), i))
            .collect();
        Self {
            objects,
            config,
            findings: vec![None; routes.len()],
            rejections,
            rejected_reached_from: FxHashMap::default(),
            routes,
            index,
            visits: Vec::new(),
            referenced_services: References::default(),
            found_services: FxHashMap::default(),
            referenced_secrets: References::default(),
        }
    }

    fn run(mut self) -> Dag {
        let graph = self.graph();
        let duplicates = self.duplicate_fqdns();

        // Pass 1: walk every root.
        let mut walks = Vec::new();
        for node in 0..self.routes.len() {
            let Some((key, route)) = self.routes.get(node) else {
                continue;
            };
            let Some(vhost) = &route.spec.virtualhost else { continue };
            if !self.config.allows_root_in(&key.namespace) {
                self.record(
                    node,
                    Finding::new(
                        Reason::RootNamespaceNotAllowed,
                        messages::ROOT_NAMESPACE_NOT_ALLOWED.into(),
                    ),
                    None,
                );
                continue;
            }
            if let Some(description) = duplicates.get(&node) {
                self.record(
                    node,
                    Finding::new(Reason::DuplicateFqdn, description.clone()),
                    Some(vhost.fqdn.clone()),
                );
                continue;
            }
            if let Some(walk) = self.walk_root(node) {
                walks.push(walk);
            }
        }

        self.reject_the_rest();

        // Pass 2: serve what valid chains reach.
        let mut served_from: Vec<Option<String>> = vec![None; self.routes.len()];
        let mut reached = vec![false; self.visits.len()];
        let mut virtual_hosts = Vec::new();
        for walk in walks {
            if self.is_invalid(walk.node) {
                continue;
            }
            self.mark_reached(walk.visit, &mut reached, &mut served_from, &walk.fqdn);
            if let Some(vhost) = self.virtual_host(walk, &reached) {
                virtual_hosts.push(vhost);
            }
        }
        // Fqdns are unique, so an unstable sort is deterministic.
        virtual_hosts.sort_unstable_by(|a, b| a.fqdn.cmp(&b.fqdn));

        // Objects are in (namespace, name) order already: the map is built in bulk.
        let mut statuses = Vec::with_capacity(self.routes.len());
        for (node, ((key, route), finding)) in self.routes.iter().zip(self.findings).enumerate() {
            let root_fqdn = route.spec.virtualhost.as_ref().map(|v| v.fqdn.clone());
            let status = match finding {
                Some((finding, vhost)) => Status::invalid(finding.reason, finding.description, vhost),
                None if root_fqdn.is_some() => Status::valid(root_fqdn),
                None => match served_from.get_mut(node).and_then(Option::take) {
                    Some(fqdn) => Status::valid(Some(fqdn)),
                    None => Status::orphaned(),
                },
            };
            statuses.push((key.clone(), status));
        }
        let statuses: BTreeMap<ObjectRef, Status> = statuses.into_iter().collect();

        let mut referenced_services = self.referenced_services;
        for service in self.found_services.values() {
            referenced_services.note(&service.meta.namespace, &service.meta.name);
        }
        Dag {
            virtual_hosts,
            statuses,
            graph,
            referenced_services,
            referenced_secrets: self.referenced_secrets,
        }
    }

    fn graph(&self) -> DelegationGraph {
        let mut graph = DiGraph::with_capacity(self.routes.len(), self.routes.len());
        for (key, route) in self.routes {
            graph.add_node(Vertex {
                object: key.clone(),
                root: route.spec.virtualhost.is_some(),
            });
        }
        for (node, (key, route)) in self.routes.iter().enumerate() {
            for (i, r) in route.spec.routes.iter().enumerate() {
                if let Some(target) = r.delegate.as_ref().and_then(|d| self.target(&key.namespace, d)) {
                    graph.add_edge(
                        NodeIndex::new(node),
                        NodeIndex::new(target),
                        Delegation::Route {
                            route: i,
                            prefix: r.match_.clone(),
                        },
                    );
                }
            }
            if let Some(target) = route
                .spec
                .tcpproxy
                .as_ref()
                .and_then(|t| t.delegate.as_ref())
                .and_then(|d| self.target(&key.namespace, d))
            {
                graph.add_edge(NodeIndex::new(node), NodeIndex::new(target), Delegation::TcpProxy);
            }
        }
        DelegationGraph { graph }
    }

    /// Roots that share an fqdn (ignoring ASCII case, as Envoy matches hosts), among those
    /// allowed by the root-namespace restriction (decision D10).
    fn duplicate_fqdns(&self) -> HashMap<usize, String> {
        let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
        for (node, (key, route)) in self.routes.iter().enumerate() {
            if let Some(vhost) = &route.spec.virtualhost
                && self.config.allows_root_in(&key.namespace)
            {
                groups.entry(vhost.fqdn.to_ascii_lowercase()).or_default().push(node);
            }
        }
        let mut duplicates = HashMap::new();
        for nodes in groups.values().filter(|nodes| nodes.len() > 1) {
            let mut members: Vec<String> = nodes
                .iter()
                .filter_map(|n| self.routes.get(*n))
                .map(|(key, _)| key.to_string())
                .collect();
            members.sort();
            for node in nodes {
                if let Some(fqdn) = self.routes.get(*node).and_then(|(_, r)| r.spec.virtualhost.as_ref()) {
                    duplicates.insert(*node, messages::duplicate_fqdn(&fqdn.fqdn, &members));
                }
            }
        }
        duplicates
    }

    fn target(&self, namespace: &str, delegate: &api::Delegate) -> Option<usize> {
        let ns = delegate
            .namespace
            .as_deref()
            .filter(|ns| !ns.is_empty())
            .unwrap_or(namespace);
        self.index.get(&(ns, delegate.name.as_str())).copied()
    }

    /// Looks up a Service, noting that the build depends on it, found or not.
    fn service(&mut self, namespace: &str, name: &str) -> Option<&'a Arc<Service>> {
        let objects: &'a Objects = self.objects;
        match objects.services.get(namespace, name) {
            Some(service) => {
                self.found_services.insert(Arc::as_ptr(service) as usize, service);
                Some(service)
            }
            None => {
                self.referenced_services.note(namespace, name);
                None
            }
        }
    }

    fn record(&mut self, node: usize, finding: Finding, vhost: Option<String>) {
        if let Some(slot) = self.findings.get_mut(node)
            && slot.is_none()
        {
            *slot = Some((finding, vhost));
        }
    }

    fn is_rejected(&self, node: usize) -> bool {
        self.rejections.contains_key(&node)
    }

    /// A rejected object passed its own checks on a walk from the root serving `fqdn`:
    /// the walk stops there (it is never followed), remembering the first such fqdn.
    fn note_rejected_reached(&mut self, node: usize, fqdn: &str) {
        self.rejected_reached_from
            .entry(node)
            .or_insert_with(|| fqdn.to_owned());
    }

    /// Gives every rejected object the walk found no error on its own description
    /// (a root's vhost is its fqdn; another object's, that of the first root that
    /// reached it).
    fn reject_the_rest(&mut self) {
        let mut rejected: Vec<(usize, &'a str)> = self.rejections.iter().map(|(n, d)| (*n, *d)).collect();
        rejected.sort_unstable();
        for (node, description) in rejected {
            let vhost = match self.routes.get(node).and_then(|(_, r)| r.spec.virtualhost.as_ref()) {
                Some(vhost) => Some(vhost.fqdn.clone()),
                None => self.rejected_reached_from.remove(&node),
            };
            self.record(node, Finding::new(Reason::Rejected, description.to_owned()), vhost);
        }
    }

    fn is_invalid(&self, node: usize) -> bool {
        self.findings.get(node).is_some_and(Option::is_some)
    }

    fn new_visit(&mut self, node: usize) -> usize {
        self.visits.push(Visit {
            node,
            items: Vec::new(),
            tcp_child: None,
        });
        self.visits.len() - 1
    }

    fn key(&self, node: usize) -> String {
        self.routes.get(node).map(|(k, _)| k.to_string()).unwrap_or_default()
    }

    // ----- pass 1 -------------------------------------------------------------------

    fn walk_root(&mut self, node: usize) -> Option<RootWalk> {
        let routes = self.routes;
        let (key, route) = routes.get(node)?;
        let vhost = route.spec.virtualhost.as_ref()?;
        let fqdn = vhost.fqdn.clone();
        let tls = match self.root_checks(key, vhost) {
            Ok(tls) => tls,
            Err(finding) => {
                let recorded_vhost = (finding.reason != Reason::FqdnMissing).then(|| fqdn.clone());
                self.record(node, finding, recorded_vhost);
                return None;
            }
        };
        let terminates = matches!(tls, Some(TlsMode::Terminate { .. }));
        let tcp_effective = route.spec.tcpproxy.is_some() && tls.is_some();
        let https_routes = terminates && route.spec.tcpproxy.is_none();

        // The root as a whole: tcpproxy, then routes.
        let mut path = Path::new(node);
        let evaluated = (|| -> Check<(Option<TcpStep>, Vec<Step<'a>>)> {
            let tcp = if tcp_effective {
                Some(self.tcp_steps(node, &path)?)
            } else {
                None
            };
            let steps = self.route_steps(node, "", &path, https_routes)?;
            Ok((tcp, steps))
        })();
        let (tcp, steps) = match evaluated {
            Ok(ok) => ok,
            Err(finding) => {
                self.record(node, finding, Some(fqdn));
                return None;
            }
        };
        if self.is_rejected(node) {
            return None;
        }
        let visit = self.new_visit(node);

        let tcp_chain = match tcp {
            Some(step) => self.walk_tcp(visit, node, step, &fqdn),
            None => Vec::new(),
        };
        self.walk_http(visit, node, steps, &mut path, https_routes, &fqdn);
        Some(RootWalk {
            node,
            fqdn,
            visit,
            tls,
            https_routes,
            tcp_chain,
        })
    }

    /// Phase B: fqdn and TLS. Returns the TLS mode, if any.
    fn root_checks(&mut self, key: &ObjectRef, vhost: &api::VirtualHost) -> Check<Option<TlsMode>> {
        let fqdn = vhost.fqdn.as_str();
        if fqdn.trim().is_empty() {
            return Err(Finding::new(Reason::FqdnMissing, messages::FQDN_MISSING.into()));
        }
        if fqdn.contains('*') {
            return Err(Finding::new(Reason::FqdnWildcard, messages::fqdn_wildcard(fqdn)));
        }
        if fqdn
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "/\\\"#?@:[]<>{}|^`".contains(c))
        {
            return Err(Finding::new(Reason::FqdnInvalid, messages::fqdn_invalid(fqdn)));
        }
        let Some(tls) = &vhost.tls else { return Ok(None) };
        if tls.secret_name.is_empty() && tls.passthrough {
            return Ok(Some(TlsMode::Passthrough));
        }
        let (secret_ns, secret_name) = match tls.secret_name.split_once('/') {
            Some(("", name)) => (key.namespace.as_str(), name),
            Some((ns, name)) => (ns, name),
            None => (key.namespace.as_str(), tls.secret_name.as_str()),
        };
        self.referenced_secrets.note(secret_ns, secret_name);
        let secret = self
            .objects
            .secrets
            .get(secret_ns, secret_name)
            .filter(|s| s.tls.is_some());
        let Some(secret) = secret else {
            return Err(Finding::new(
                Reason::TlsSecretNotFound,
                messages::tls_secret_not_found(&tls.secret_name),
            ));
        };
        if !self.delegation_permitted(secret_ns, secret_name, &key.namespace) {
            return Err(Finding::new(
                Reason::CertificateDelegationNotPermitted,
                messages::certificate_delegation_not_permitted(&tls.secret_name),
            ));
        }
        Ok(Some(TlsMode::Terminate {
            secret: Arc::clone(secret),
            minimum_protocol_version: TlsVersion::from_minimum_protocol_version(
                tls.minimum_protocol_version.as_deref(),
            ),
        }))
    }

    /// Whether IngressRoutes in `target_ns` may use Secret `secret_ns/secret_name`: the
    /// same namespace, or a TLSCertificateDelegation in the Secret's namespace naming the
    /// Secret and the target namespace or `*` (anywhere in the list, decision D11).
    fn delegation_permitted(&self, secret_ns: &str, secret_name: &str, target_ns: &str) -> bool {
        secret_ns == target_ns
            || self.objects.delegations.namespace(secret_ns).any(|d| {
                d.spec.delegations.iter().any(|entry| {
                    entry.secret_name == secret_name
                        && entry.target_namespaces.iter().any(|ns| ns == target_ns || ns == "*")
                })
            })
    }

    /// Follows a valid root's tcpproxy delegations. A child's finding records the root's
    /// fqdn as its vhost, as HTTP children's do (§2.4: the child inherits the vhost).
    fn walk_tcp(&mut self, root_visit: usize, root: usize, first: TcpStep, fqdn: &str) -> Vec<(usize, TcpStep)> {
        let mut chain = vec![(root_visit, first)];
        let mut path = Path::new(root);
        while let Some((parent_visit, TcpStep::Delegate(target))) = chain.last() {
            let (parent_visit, target) = (*parent_visit, *target);
            let visit = self.new_visit(target);
            if let Some(parent) = self.visits.get_mut(parent_visit) {
                parent.tcp_child = Some(visit);
            }
            match self.tcp_steps(target, &path) {
                Ok(step) => {
                    path.push(target);
                    chain.push((visit, step));
                    if self.is_rejected(target) {
                        self.note_rejected_reached(target, fqdn);
                        break;
                    }
                }
                Err(finding) => {
                    self.record(target, finding, Some(fqdn.to_owned()));
                    break;
                }
            }
        }
        chain
    }

    /// Follows a valid object's route delegations, depth first, with an explicit stack.
    fn walk_http(
        &mut self,
        root_visit: usize,
        root: usize,
        steps: Vec<Step<'a>>,
        path: &mut Path,
        https_routes: bool,
        fqdn: &str,
    ) {
        struct Frame<'s> {
            visit: usize,
            steps: std::vec::IntoIter<Step<'s>>,
        }
        let mut memo: FxHashMap<(usize, &'a str), usize> = FxHashMap::default();
        let mut stack = vec![Frame {
            visit: root_visit,
            steps: steps.into_iter(),
        }];
        debug_assert_eq!(path.nodes(), [root]);
        while let Some(frame) = stack.last_mut() {
            let parent_visit = frame.visit;
            match frame.steps.next() {
                None => {
                    stack.pop();
                    path.pop();
                }
                Some(Step::Serve(route)) => {
                    if let Some(parent) = self.visits.get_mut(parent_visit) {
                        parent.items.push(Item::Route(route));
                    }
                }
                Some(Step::Delegate { target, prefix }) => {
                    let visit = match memo.get(&(target, prefix)) {
                        Some(visit) => *visit,
                        None => {
                            let visit = self.new_visit(target);
                            memo.insert((target, prefix), visit);
                            match self.route_steps(target, prefix, path, https_routes) {
                                Ok(_) if self.is_rejected(target) => self.note_rejected_reached(target, fqdn),
                                Ok(steps) => {
                                    path.push(target);
                                    stack.push(Frame {
                                        visit,
                                        steps: steps.into_iter(),
                                    });
                                }
                                Err(finding) => self.record(target, finding, Some(fqdn.to_owned())),
                            }
                            visit
                        }
                    };
                    if let Some(parent) = self.visits.get_mut(parent_visit) {
                        parent.items.push(Item::Child(visit));
                    }
                }
            }
        }
    }

    /// Phase C for one object: its tcpproxy as a whole. `path` is the tcpproxy chain that
    /// led here (excluding `node`).
    fn tcp_steps(&mut self, node: usize, path: &Path) -> Check<TcpStep> {
        let routes = self.routes;
        let Some((key, route)) = routes.get(node) else {
            return Ok(TcpStep::Nothing);
        };
        let Some(tcp) = &route.spec.tcpproxy else {
            return Ok(TcpStep::Nothing);
        };
        if !tcp.services.is_empty() && tcp.delegate.is_some() {
            return Err(Finding::new(
                Reason::ServicesAndDelegate,
                messages::TCPPROXY_SERVICES_AND_DELEGATE.into(),
            ));
        }
        if !tcp.services.is_empty() {
            let mut clusters = Vec::with_capacity(tcp.services.len());
            let mut total: i64 = 0;
            for s in &tcp.services {
                let found = self
                    .service(&key.namespace, &s.name)
                    .and_then(|svc| Some((svc, svc.port(s.port)?)));
                let Some((service, port)) = found else {
                    return Err(Finding::new(
                        Reason::ServiceNotFound,
                        messages::tcpproxy_service_not_found(&key.namespace, &s.name, s.port),
                    ));
                };
                let weight = s.weight.unwrap_or(0);
                if weight < 0 {
                    return Err(Finding::new(
                        Reason::InvalidWeight,
                        messages::tcpproxy_negative_weight(&s.name),
                    ));
                }
                total = total.saturating_add(weight);
                if total > MAX_U32 {
                    return Err(Finding::new(
                        Reason::InvalidWeight,
                        messages::tcpproxy_total_weight_too_large(),
                    ));
                }
                if let Some(host) = &service.external_name
                    && is_refused_external_name(host, self.config.allow_loopback_external_names)
                {
                    return Err(Finding::new(
                        Reason::ExternalNameNotAllowed,
                        messages::tcpproxy_external_name_not_allowed(&s.name, host),
                    ));
                }
                let cluster = Cluster {
                    service: Arc::clone(service),
                    port: port.clone(),
                    strategy: s.strategy.clone().or_else(|| route.spec.strategy.clone()),
                    health_check: None,
                    validation: None,
                };
                clusters.push(WeightedCluster {
                    cluster: Arc::new(cluster),
                    weight: u32::try_from(weight).unwrap_or(0),
                });
            }
            return Ok(TcpStep::Serve(clusters));
        }
        let Some(delegate) = &tcp.delegate else {
            return Ok(TcpStep::Nothing);
        };
        let Some(target) = self.target(&key.namespace, delegate) else {
            return Ok(TcpStep::Nothing);
        };
        let Some((target_key, target_route)) = self.routes.get(target) else {
            return Ok(TcpStep::Nothing);
        };
        if target_route.spec.virtualhost.is_some() {
            return Err(Finding::new(Reason::DelegateToRoot, messages::DELEGATE_TO_ROOT.into()));
        }
        if target_route.spec.tcpproxy.is_none() {
            return Err(Finding::new(
                Reason::TcpProxyDelegateWithoutTcpProxy,
                messages::tcpproxy_delegate_without_tcpproxy(&target_key.namespace, &target_key.name),
            ));
        }
        if target == node || path.contains(target) {
            let chain = self.cycle_path(path, node, target);
            return Err(Finding::new(Reason::DelegationCycle, messages::tcpproxy_cycle(&chain)));
        }
        Ok(TcpStep::Delegate(target))
    }

    fn cycle_path(&self, path: &Path, node: usize, target: usize) -> Vec<String> {
        let mut chain: Vec<String> = path.nodes().iter().map(|n| self.key(*n)).collect();
        if path.nodes().last() != Some(&node) {
            chain.push(self.key(node));
        }
        chain.push(self.key(target));
        chain
    }

    /// Phase D for one object: every route, against `parent_prefix`. `path` is the chain
    /// of objects that led here (it may or may not already end with `node`).
    fn route_steps(&mut self, node: usize, parent_prefix: &str, path: &Path, https: bool) -> Check<Vec<Step<'a>>> {
        let routes = self.routes;
        let Some((key, route)) = routes.get(node) else {
            return Ok(Vec::new());
        };
        let mut steps = Vec::new();
        for r in &route.spec.routes {
            let m = r.match_.as_str();
            if m.chars().any(char::is_control) {
                return Err(Finding::new(
                    Reason::InvalidValue,
                    messages::control_characters(m, "match"),
                ));
            }
            if !r.services.is_empty() && r.delegate.is_some() {
                return Err(Finding::new(
                    Reason::ServicesAndDelegate,
                    messages::services_and_delegate(m),
                ));
            }
            if r.services.len() > 1 && r.enable_websockets {
                return Err(Finding::new(
                    Reason::WebsocketsWithMultipleServices,
                    messages::websockets_with_multiple_services(m),
                ));
            }
            if !r.services.is_empty() {
                if !prefix_matches(m, parent_prefix) {
                    return Err(Finding::new(
                        Reason::PrefixMismatch,
                        messages::prefix_mismatch(m, parent_prefix),
                    ));
                }
                steps.push(Step::Serve(self.route(key, route, r, https)?));
            } else if let Some(delegate) = &r.delegate {
                // Decision D4: delegating routes are held to the parent's prefix too.
                if !prefix_matches(m, parent_prefix) {
                    return Err(Finding::new(
                        Reason::PrefixMismatch,
                        messages::prefix_mismatch(m, parent_prefix),
                    ));
                }
                let Some(target) = self.target(&key.namespace, delegate) else {
                    continue;
                };
                if self
                    .routes
                    .get(target)
                    .is_some_and(|(_, t)| t.spec.virtualhost.is_some())
                {
                    return Err(Finding::new(Reason::DelegateToRoot, messages::DELEGATE_TO_ROOT.into()));
                }
                if target == node || path.contains(target) {
                    let chain = self.cycle_path(path, node, target);
                    return Err(Finding::new(Reason::DelegationCycle, messages::route_cycle(&chain)));
                }
                steps.push(Step::Delegate { target, prefix: m });
            }
        }
        Ok(steps)
    }

    /// Builds one route with services (§3.5), checking every service.
    fn route(&mut self, key: &ObjectRef, ir: &IngressRoute, r: &api::Route, https: bool) -> Check<Route> {
        let m = r.match_.as_str();
        let mut clusters = Vec::with_capacity(r.services.len());
        let mut total: i64 = 0;
        for s in &r.services {
            if !(1..=65535).contains(&s.port) {
                return Err(Finding::new(
                    Reason::PortOutOfRange,
                    messages::port_out_of_range(m, &s.name),
                ));
            }
            let weight = s.weight.unwrap_or(0);
            if weight < 0 {
                return Err(Finding::new(
                    Reason::InvalidWeight,
                    messages::negative_weight(m, &s.name),
                ));
            }
            let found = self
                .service(&key.namespace, &s.name)
                .and_then(|svc| Some((svc, svc.port(s.port)?)));
            let Some((service, port)) = found else {
                return Err(Finding::new(
                    Reason::ServiceNotFound,
                    messages::service_not_found(&s.name, s.port),
                ));
            };
            if let Some(host) = &service.external_name
                && is_refused_external_name(host, self.config.allow_loopback_external_names)
            {
                return Err(Finding::new(
                    Reason::ExternalNameNotAllowed,
                    messages::external_name_not_allowed(m, &s.name, host),
                ));
            }
            let validation = match (&s.validation, port.protocol) {
                (Some(v), Some(protocol)) if protocol.is_tls() => Some(self.validation(key, m, &s.name, v)?),
                _ => None,
            };
            let health_check = match s.health_check.as_ref().or(ir.spec.health_check.as_ref()) {
                Some(hc) => Some(health_check(m, &s.name, hc)?),
                None => None,
            };
            total = total.saturating_add(weight);
            if total > MAX_U32 {
                return Err(Finding::new(Reason::InvalidWeight, messages::total_weight_too_large(m)));
            }
            let cluster = Cluster {
                service: Arc::clone(service),
                port: port.clone(),
                strategy: s.strategy.clone().or_else(|| ir.spec.strategy.clone()),
                health_check,
                validation,
            };
            clusters.push(WeightedCluster {
                cluster: Arc::new(cluster),
                weight: u32::try_from(weight).unwrap_or(0),
            });
        }
        if r.prefix_rewrite.chars().any(char::is_control) {
            return Err(Finding::new(
                Reason::InvalidValue,
                messages::control_characters(m, "prefixRewrite"),
            ));
        }
        let timeout = timeout(m, r.timeout_policy.as_ref())?;
        let retry = retry(m, r.retry_policy.as_ref())?;
        let permit_insecure = r.permit_insecure && !self.config.disable_permit_insecure;
        Ok(Route {
            prefix: r.match_.clone(),
            clusters,
            websocket: r.enable_websockets,
            prefix_rewrite: Some(r.prefix_rewrite.clone()).filter(|p| !p.is_empty()),
            timeout,
            retry,
            https_redirect: https && !permit_insecure,
            source: key.clone(),
        })
    }

    /// Upstream validation (decision D3): the CA Secret is looked up in the
    /// IngressRoute's own namespace (decision D16).
    fn validation(
        &mut self,
        key: &ObjectRef,
        m: &str,
        service: &str,
        v: &api::UpstreamValidation,
    ) -> Check<UpstreamValidation> {
        self.referenced_secrets.note(&key.namespace, &v.ca_secret);
        let Some(ca) = self
            .objects
            .secrets
            .get(&key.namespace, &v.ca_secret)
            .filter(|s| s.ca.is_some())
        else {
            return Err(Finding::new(
                Reason::UpstreamValidation,
                messages::validation_secret(m, service),
            ));
        };
        let subject = v.subject_name.as_str();
        if subject.trim().is_empty() || subject.chars().any(char::is_control) || subject.len() > 255 {
            return Err(Finding::new(
                Reason::UpstreamValidation,
                messages::validation_subject_name(m, service),
            ));
        }
        Ok(UpstreamValidation {
            ca_secret: Arc::clone(ca),
            subject_name: subject.to_owned(),
        })
    }

    // ----- pass 2 -------------------------------------------------------------------

    /// Marks every visit reachable from `root_visit` through objects without findings.
    fn mark_reached(&self, root_visit: usize, reached: &mut [bool], served_from: &mut [Option<String>], fqdn: &str) {
        let mut stack = vec![root_visit];
        while let Some(v) = stack.pop() {
            let Some(visit) = self.visits.get(v) else { continue };
            if self.is_invalid(visit.node) || reached.get(v).copied().unwrap_or(true) {
                continue;
            }
            if let Some(r) = reached.get_mut(v) {
                *r = true;
            }
            if let Some(slot) = served_from.get_mut(visit.node) {
                slot.get_or_insert_with(|| fqdn.to_owned());
            }
            stack.extend(visit.items.iter().rev().filter_map(|item| match item {
                Item::Child(child) => Some(*child),
                Item::Route(_) | Item::Served => None,
            }));
            stack.extend(visit.tcp_child);
        }
    }

    /// The routes served from a root's visit, one per prefix, sorted by prefix.
    ///
    /// Contour adds routes depth first in route order, walking a delegation again every
    /// time it is reached, and the route added last for a prefix wins (§3.4, §3.6).
    /// Going through the items backwards instead, the first route met for a prefix is
    /// that last one, and a visit met a second time has nothing left to claim, so each
    /// visit is expanded once. Visits not reached (invalid objects, and what only they
    /// lead to) are skipped, delegations included (decision D1).
    fn routes_of(&mut self, root_visit: usize, reached: &[bool]) -> Vec<Route> {
        let is_reached = |visit: usize| reached.get(visit).copied().unwrap_or(false);
        // The winning route of each prefix, as (visit, item): found by reading, then
        // moved out (each visit belongs to one root, so nothing needs it afterwards).
        let mut winners: Vec<(usize, usize)> = Vec::new();
        {
            let mut prefixes: FxHashSet<&str> = FxHashSet::default();
            let mut expanded: FxHashSet<usize> = FxHashSet::default();
            let mut stack = Vec::new();
            if is_reached(root_visit)
                && let Some(visit) = self.visits.get(root_visit)
            {
                expanded.insert(root_visit);
                stack.push((root_visit, visit.items.iter().enumerate().rev()));
            }
            while let Some((visit, items)) = stack.last_mut() {
                let visit = *visit;
                match items.next() {
                    None => {
                        stack.pop();
                    }
                    Some((i, Item::Route(route))) => {
                        if prefixes.insert(route.prefix.as_str()) {
                            winners.push((visit, i));
                        }
                    }
                    Some((_, Item::Child(child))) => {
                        if is_reached(*child)
                            && expanded.insert(*child)
                            && let Some(next) = self.visits.get(*child)
                        {
                            stack.push((*child, next.items.iter().enumerate().rev()));
                        }
                    }
                    Some((_, Item::Served)) => {}
                }
            }
        }
        let mut routes: Vec<Route> = winners
            .into_iter()
            .filter_map(|(visit, i)| {
                let item = self.visits.get_mut(visit)?.items.get_mut(i)?;
                match std::mem::replace(item, Item::Served) {
                    Item::Route(route) => Some(route),
                    other => {
                        *item = other;
                        None
                    }
                }
            })
            .collect();
        routes.sort_unstable_by(|a, b| a.prefix.cmp(&b.prefix));
        routes
    }

    fn virtual_host(&mut self, walk: RootWalk, reached: &[bool]) -> Option<VirtualHost> {
        let is_reached = |visit: usize| reached.get(visit).copied().unwrap_or(false);
        let routes = self.routes_of(walk.visit, reached);

        let tcp_proxy = if walk.tcp_chain.iter().all(|(visit, _)| is_reached(*visit)) {
            match walk.tcp_chain.into_iter().next_back() {
                Some((visit, TcpStep::Serve(clusters))) => {
                    let source = self
                        .visits
                        .get(visit)
                        .and_then(|v| self.routes.get(v.node))
                        .map(|(k, _)| k.clone());
                    source.map(|source| TcpProxy { clusters, source })
                }
                _ => None,
            }
        } else {
            None
        };

        let secure = match walk.tls {
            Some(tls @ TlsMode::Terminate { .. })
                if tcp_proxy.is_some() || (walk.https_routes && !routes.is_empty()) =>
            {
                Some(SecureVirtualHost { tls, tcp_proxy })
            }
            Some(TlsMode::Passthrough) => tcp_proxy.map(|t| SecureVirtualHost {
                tls: TlsMode::Passthrough,
                tcp_proxy: Some(t),
            }),
            _ => None,
        };
        if routes.is_empty() && secure.is_none() {
            return None;
        }
        let root = self.routes.get(walk.node).map(|(k, _)| k.clone())?;
        Some(VirtualHost {
            fqdn: walk.fqdn,
            root,
            routes,
            secure,
        })
    }
}

/// Whether an IngressRoute belongs to the configured ingress class: the first class
/// annotation present decides; absent or empty means every class.
fn accepts_class(route: &IngressRoute, config: &Config) -> bool {
    let Some(annotations) = &route.metadata.annotations else {
        return true;
    };
    INGRESS_CLASS_ANNOTATIONS
        .iter()
        .find_map(|key| annotations.get(*key))
        .is_none_or(|class| class.is_empty() || *class == config.ingress_class)
}

/// Contour's prefix check: a child prefix lies under the parent's when, with a `/`
/// appended to each, it starts with the parent's. An empty parent allows anything; an
/// empty child fails under a non-empty parent.
fn prefix_matches(child: &str, parent: &str) -> bool {
    if parent.is_empty() {
        return true;
    }
    if child.is_empty() {
        return false;
    }
    // Compare `child + "/"` with `parent + "/"` (no slash added where one ends the
    // string) without building either.
    let mut child = with_slash(child);
    with_slash(parent).all(|p| child.next() == Some(p))
}

/// The bytes of `s` followed by a `/` unless it already ends with one.
fn with_slash(s: &str) -> impl Iterator<Item = u8> + '_ {
    let slash = (!s.ends_with('/')).then_some(b'/');
    s.bytes().chain(slash)
}

fn timeout(m: &str, policy: Option<&api::TimeoutPolicy>) -> Check<Timeout> {
    let Some(value) = policy.and_then(|p| p.request.as_deref()).filter(|v| !v.is_empty()) else {
        return Ok(Timeout::Default);
    };
    if value == "infinity" || value == "infinite" {
        return Ok(Timeout::Infinite);
    }
    match parse_go_duration(value) {
        Ok(nanos) if nanos > 0 => Ok(Timeout::Duration(Duration::from_nanos(nanos.unsigned_abs()))),
        Ok(_) => Ok(Timeout::Infinite),
        Err(_) => Err(Finding::new(
            Reason::InvalidDuration,
            messages::invalid_duration(m, "timeoutPolicy.request", value),
        )),
    }
}

fn retry(m: &str, policy: Option<&api::RetryPolicy>) -> Check<Option<RetryPolicy>> {
    let Some(policy) = policy else { return Ok(None) };
    let count = policy.count.unwrap_or(0);
    if count < 0 {
        return Err(Finding::new(
            Reason::InvalidValue,
            messages::route_field_negative(m, "retryPolicy.count"),
        ));
    }
    let count = u32::try_from(count)
        .map_err(|_| {
            Finding::new(
                Reason::InvalidValue,
                messages::route_field_too_large(m, "retryPolicy.count", u32::MAX.into()),
            )
        })?
        .max(1);
    let per_try_timeout = match policy.per_try_timeout.as_deref().filter(|v| !v.is_empty()) {
        None | Some("infinity" | "infinite") => None,
        Some(value) => match parse_go_duration(value) {
            Ok(nanos) if nanos > 0 => Some(Duration::from_nanos(nanos.unsigned_abs())),
            Ok(_) => None,
            Err(_) => {
                return Err(Finding::new(
                    Reason::InvalidDuration,
                    messages::invalid_duration(m, "retryPolicy.perTryTimeout", value),
                ));
            }
        },
    };
    Ok(Some(RetryPolicy { count, per_try_timeout }))
}

fn health_check(m: &str, service: &str, hc: &api::HealthCheck) -> Check<HealthCheck> {
    if hc.path.is_empty() {
        return Err(Finding::new(
            Reason::InvalidValue,
            messages::health_check_path_empty(m, service),
        ));
    }
    for (field, value) in [
        ("healthCheck.path", Some(&hc.path)),
        ("healthCheck.host", hc.host.as_ref()),
    ] {
        if value.is_some_and(|v| v.chars().any(char::is_control)) {
            return Err(Finding::new(
                Reason::InvalidValue,
                messages::service_control_characters(m, service, field),
            ));
        }
    }
    let number = |field: &str, value: Option<i64>, max: i64| -> Check<u64> {
        let value = value.unwrap_or(0);
        if value < 0 {
            return Err(Finding::new(
                Reason::InvalidValue,
                messages::service_field_negative(m, service, field),
            ));
        }
        if value > max {
            return Err(Finding::new(
                Reason::InvalidValue,
                messages::service_field_too_large(m, service, field, max.unsigned_abs()),
            ));
        }
        Ok(value.unsigned_abs())
    };
    let interval_seconds = number("healthCheck.intervalSeconds", hc.interval_seconds, MAX_SECONDS)?;
    let timeout_seconds = number("healthCheck.timeoutSeconds", hc.timeout_seconds, MAX_SECONDS)?;
    let unhealthy = number(
        "healthCheck.unhealthyThresholdCount",
        hc.unhealthy_threshold_count,
        MAX_U32,
    )?;
    let healthy = number("healthCheck.healthyThresholdCount", hc.healthy_threshold_count, MAX_U32)?;
    Ok(HealthCheck {
        path: hc.path.clone(),
        host: hc.host.clone().filter(|h| !h.is_empty()),
        interval_seconds,
        timeout_seconds,
        unhealthy_threshold: u32::try_from(unhealthy).unwrap_or(u32::MAX),
        healthy_threshold: u32::try_from(healthy).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::prefix_matches;

    #[test]
    fn prefixes_match_on_segment_boundaries() {
        assert!(prefix_matches("/foo", "/foo"));
        assert!(prefix_matches("/foo/", "/foo"));
        assert!(prefix_matches("/foo/x", "/foo"));
        assert!(!prefix_matches("/foobar", "/foo"));
        assert!(prefix_matches("/anything", "/"));
        assert!(prefix_matches("", ""));
        assert!(!prefix_matches("", "/foo"));
        assert!(prefix_matches("/x", ""));
    }
}
