//! The objects of a build as a picture: IngressRoutes (with their status), the Services
//! they route to, the TLS Secrets and CA bundles they use and the TLSCertificateDelegations
//! that let them, joined by edges labelled with the `match` that delegates or routes.
//!
//! ```text
//!  Objects + Dag ──ObjectGraph::new──▶ nodes + edges ──focus (optional)──▶ ObjectGraph
//!                                                                          │
//!                                     GraphFormat::{Dot, Mermaid, Json, Svg}::render
//! ```
//!
//! `ingressroute graph` and the controller's `/debug/dag` both draw with this module, so
//! the picture of a manifest and of a live cluster are the same. It reads what a build
//! read ([`Objects`]) and what it found ([`Dag`]); nothing here talks to a cluster.
//!
//! What this module does **not** do: decide anything. Statuses, cycles and the delegation
//! edges come from the [`Dag`] (the same [`DelegationGraph`](ingressroute_dag::DelegationGraph)
//! that decided them); a reference to an object that does not exist is drawn as a
//! *missing* node so that the reason for an `invalid` status can be seen.
//!
//! Why one file of this length: the nodes, the edges, the focus and the query of
//! `/debug/dag` are one model that every format reads; the formats themselves are in their
//! own files.

mod dot;
mod json;
mod mermaid;
mod svg;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use ingressroute_api::{IngressRoute, TLSCertificateDelegation};
use ingressroute_dag::{CurrentStatus, Dag, ObjectRef, Objects};

/// What kind of object a [`Node`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum NodeKind {
    /// An IngressRoute (`contour.heptio.com/v1beta1`).
    IngressRoute,
    /// A Service an IngressRoute routes to.
    Service,
    /// A Secret: a TLS certificate or a CA bundle for upstream validation.
    Secret,
    /// A TLSCertificateDelegation.
    CertificateDelegation,
}

impl NodeKind {
    /// The object's Kubernetes kind: `IngressRoute`, `Service`, `Secret` or
    /// `TLSCertificateDelegation`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IngressRoute => "IngressRoute",
            Self::Service => "Service",
            Self::Secret => "Secret",
            Self::CertificateDelegation => "TLSCertificateDelegation",
        }
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object of an [`ObjectGraph`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Node {
    /// Its kind.
    pub kind: NodeKind,
    /// Its namespace and name.
    pub object: ObjectRef,
    /// For an IngressRoute that exists: its status and the status description.
    pub status: Option<(CurrentStatus, String)>,
    /// For a root IngressRoute: its `spec.virtualhost.fqdn`.
    pub fqdn: Option<String>,
    /// Referenced but absent: no such object (for an IngressRoute, none of the served
    /// ingress class; for a Secret, none that IngressRoutes can use).
    pub missing: bool,
    /// An IngressRoute that takes part in a delegation cycle.
    pub in_cycle: bool,
}

impl Node {
    /// A stable identifier, unique in the graph: `Kind/namespace/name`.
    #[must_use]
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.object)
    }

    /// The IngressRoute's status, if it has one.
    #[must_use]
    pub fn current_status(&self) -> Option<CurrentStatus> {
        self.status.as_ref().map(|(status, _)| *status)
    }

    /// The lines that describe the node in a picture: kind, `namespace/name`, then the
    /// fqdn and the status of an IngressRoute, or `missing`.
    #[must_use]
    pub fn label_lines(&self) -> Vec<String> {
        let mut lines = vec![self.kind.to_string(), self.object.to_string()];
        if let Some(fqdn) = &self.fqdn {
            lines.push(fqdn.clone());
        }
        if let Some((status, _)) = &self.status {
            lines.push(status.as_str().to_owned());
        }
        if self.missing {
            lines.push("missing".to_owned());
        }
        if self.in_cycle {
            lines.push("in a delegation cycle".to_owned());
        }
        lines
    }
}

/// What an [`Edge`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum EdgeKind {
    /// `routes[].delegate`: labelled with the route's `match`.
    Delegation,
    /// `tcpproxy.delegate`.
    TcpProxyDelegation,
    /// `routes[].services[]`: labelled with the `match`, the port and any weight.
    Route,
    /// `tcpproxy.services[]`: labelled with the port.
    TcpProxy,
    /// `virtualhost.tls.secretName`.
    TlsSecret,
    /// `services[].validation.caSecret`.
    CaSecret,
    /// A TLSCertificateDelegation lets namespaces use a Secret: labelled with them.
    CertificateDelegation,
}

impl EdgeKind {
    /// A short name: `delegation`, `tcpproxy-delegation`, `route`, `tcpproxy`, `tls`,
    /// `ca` or `certificate-delegation`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delegation => "delegation",
            Self::TcpProxyDelegation => "tcpproxy-delegation",
            Self::Route => "route",
            Self::TcpProxy => "tcpproxy",
            Self::TlsSecret => "tls",
            Self::CaSecret => "ca",
            Self::CertificateDelegation => "certificate-delegation",
        }
    }

    /// Whether it delegates from one IngressRoute to another.
    #[must_use]
    pub fn delegates(self) -> bool {
        matches!(self, Self::Delegation | Self::TcpProxyDelegation)
    }
}

/// One reference between two objects of an [`ObjectGraph`]: several references of the
/// same kind between the same two objects (two routes to one Service) are one edge
/// whose label lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Edge {
    /// The index of the referring node in [`ObjectGraph::nodes`].
    pub from: usize,
    /// The index of the referred node.
    pub to: usize,
    /// What the reference is.
    pub kind: EdgeKind,
    /// The `match` that delegates or routes (and port, weight), the namespaces a
    /// certificate is delegated to, or `tls` / `ca`.
    pub label: String,
    /// A delegation between two IngressRoutes of the same cycle.
    pub in_cycle: bool,
}

/// The objects of a build and their references, ready to draw. Nodes are sorted by kind
/// (IngressRoutes first), then namespace and name; edges by their ends, so the same
/// objects always give the same picture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectGraph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

/// A `--focus` that names no node of the graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no object {0} in the graph")]
#[non_exhaustive]
pub struct NotInGraph(pub ObjectRef);

impl ObjectGraph {
    /// The graph of a build: every IngressRoute `dag` has a status for (those of the
    /// served ingress class), as found in `objects`, with what it references, and every
    /// TLSCertificateDelegation of `objects` with the Secrets it delegates.
    #[must_use]
    pub fn new(objects: &Objects, dag: &Dag) -> Self {
        let services: BTreeSet<ObjectRef> = objects.services().map(|s| s.meta.clone()).collect();
        let secrets: BTreeSet<ObjectRef> = objects.secrets().map(|s| s.meta.clone()).collect();
        let cyclic: BTreeSet<ObjectRef> = dag.graph().cycles().into_iter().flatten().collect();
        let mut builder = Builder::default();
        for route in objects.ingress_routes() {
            let key = ObjectRef::from_meta(&route.metadata);
            let Some(status) = dag.status(&key) else {
                continue;
            };
            let node = builder.node(NodeKind::IngressRoute, &key);
            node.status = Some((status.current_status, status.description.clone()));
            node.fqdn = route.spec.virtualhost.as_ref().map(|v| v.fqdn.clone());
            node.in_cycle = cyclic.contains(&key);
            builder.references(&key, route);
        }
        for delegation in objects.delegations() {
            builder.certificate_delegation(delegation);
        }
        builder.finish(|kind, object| match kind {
            NodeKind::IngressRoute => dag.status(object).is_none(),
            NodeKind::Service => !services.contains(object),
            NodeKind::Secret => !secrets.contains(object),
            NodeKind::CertificateDelegation => false,
        })
    }

    /// The nodes.
    #[must_use]
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The edges.
    #[must_use]
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The index of the node of `object`: the IngressRoute of that name if there is one,
    /// else the first other object of that name.
    #[must_use]
    pub fn find(&self, object: &ObjectRef) -> Option<usize> {
        self.nodes.iter().position(|n| &n.object == object)
    }

    /// The part of the graph around `object` (see [`find`](Self::find)): what it
    /// references, directly or not (a root's whole tree), and what references it (an
    /// object's ancestors up to their roots).
    ///
    /// # Errors
    ///
    /// [`NotInGraph`] when no node is `object`.
    pub fn focus(&self, object: &ObjectRef) -> Result<Self, NotInGraph> {
        let start = self.find(object).ok_or_else(|| NotInGraph(object.clone()))?;
        let mut keep = self.reach(start, |e| (e.from, e.to));
        keep.extend(self.reach(start, |e| (e.to, e.from)));
        let index: BTreeMap<usize, usize> = keep.iter().enumerate().map(|(new, old)| (*old, new)).collect();
        let nodes = keep.iter().filter_map(|i| self.nodes.get(*i).cloned()).collect();
        let edges = self
            .edges
            .iter()
            .filter_map(|e| {
                Some(Edge {
                    from: *index.get(&e.from)?,
                    to: *index.get(&e.to)?,
                    ..e.clone()
                })
            })
            .collect();
        Ok(Self { nodes, edges })
    }

    /// The nodes reachable from `start` along edges read as (from, to) by `ends`, in
    /// time linear in the size of the graph.
    fn reach(&self, start: usize, ends: impl Fn(&Edge) -> (usize, usize)) -> BTreeSet<usize> {
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for edge in &self.edges {
            let (from, to) = ends(edge);
            if let Some(list) = next.get_mut(from) {
                list.push(to);
            }
        }
        let mut seen = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            for &to in next.get(n).into_iter().flatten() {
                if seen.insert(to) {
                    stack.push(to);
                }
            }
        }
        seen
    }
}

/// A node's identity while the graph is built.
type Key = (NodeKind, ObjectRef);

/// Collects nodes and edges by identity, then numbers them in order.
#[derive(Default)]
struct Builder {
    nodes: BTreeMap<Key, Node>,
    /// (from, to, kind) -> the labels of the references it stands for.
    edges: BTreeMap<(Key, Key, EdgeKind), Vec<String>>,
}

impl Builder {
    fn node(&mut self, kind: NodeKind, object: &ObjectRef) -> &mut Node {
        self.nodes.entry((kind, object.clone())).or_insert_with(|| Node {
            kind,
            object: object.clone(),
            status: None,
            fqdn: None,
            missing: false,
            in_cycle: false,
        })
    }

    fn edge(&mut self, from: (NodeKind, &ObjectRef), to: (NodeKind, ObjectRef), kind: EdgeKind, label: String) {
        self.node(to.0, &to.1);
        let labels = self.edges.entry(((from.0, from.1.clone()), to, kind)).or_default();
        if !labels.contains(&label) {
            labels.push(label);
        }
    }

    /// The references of one IngressRoute.
    fn references(&mut self, key: &ObjectRef, route: &IngressRoute) {
        let from = (NodeKind::IngressRoute, key);
        let in_namespace = |name: &str| ObjectRef::new(key.namespace.clone(), name);
        let spec = &route.spec;
        if let Some(tls) = spec.virtualhost.as_ref().and_then(|v| v.tls.as_deref())
            && !tls.secret_name.is_empty()
        {
            // `namespace/name` names a delegated certificate (see behaviour §3).
            let secret = match tls.secret_name.split_once('/') {
                Some((ns, name)) => ObjectRef::new(ns, name),
                None => in_namespace(&tls.secret_name),
            };
            self.edge(from, (NodeKind::Secret, secret), EdgeKind::TlsSecret, "tls".to_owned());
        }
        for r in &spec.routes {
            if let Some(delegate) = &r.delegate {
                self.delegation(key, delegate, EdgeKind::Delegation, r.match_.clone());
            }
            for service in &r.services {
                self.service(key, service, EdgeKind::Route, &r.match_);
            }
        }
        if let Some(tcpproxy) = &spec.tcpproxy {
            if let Some(delegate) = &tcpproxy.delegate {
                self.delegation(key, delegate, EdgeKind::TcpProxyDelegation, "tcpproxy".to_owned());
            }
            for service in &tcpproxy.services {
                self.service(key, service, EdgeKind::TcpProxy, "tcpproxy");
            }
        }
    }

    /// A delegation from the IngressRoute `key` (its own namespace when the delegate names
    /// none).
    fn delegation(&mut self, key: &ObjectRef, delegate: &ingressroute_api::Delegate, kind: EdgeKind, label: String) {
        let target = ObjectRef::new(
            delegate.namespace.clone().unwrap_or_else(|| key.namespace.clone()),
            delegate.name.clone(),
        );
        self.edge(
            (NodeKind::IngressRoute, key),
            (NodeKind::IngressRoute, target),
            kind,
            label,
        );
    }

    /// A Service that the IngressRoute `key` routes to, labelled `<what> :<port>` and its
    /// weight, and the CA Secret that validates it.
    fn service(&mut self, key: &ObjectRef, service: &ingressroute_api::Service, kind: EdgeKind, what: &str) {
        let mut label = format!("{what} :{}", service.port);
        if let Some(weight) = service.weight {
            label.push_str(&format!(" weight {weight}"));
        }
        let target = ObjectRef::new(key.namespace.clone(), service.name.clone());
        self.edge((NodeKind::IngressRoute, key), (NodeKind::Service, target), kind, label);
        self.ca_secret(key, service);
    }

    fn ca_secret(&mut self, key: &ObjectRef, service: &ingressroute_api::Service) {
        if let Some(validation) = &service.validation {
            let secret = ObjectRef::new(key.namespace.clone(), validation.ca_secret.clone());
            self.edge(
                (NodeKind::IngressRoute, key),
                (NodeKind::Secret, secret),
                EdgeKind::CaSecret,
                format!("ca for {}", service.name),
            );
        }
    }

    fn certificate_delegation(&mut self, delegation: &TLSCertificateDelegation) {
        let key = ObjectRef::from_meta(&delegation.metadata);
        self.node(NodeKind::CertificateDelegation, &key);
        for d in &delegation.spec.delegations {
            let secret = ObjectRef::new(key.namespace.clone(), d.secret_name.clone());
            let label = format!("to {}", d.target_namespaces.join(","));
            self.edge(
                (NodeKind::CertificateDelegation, &key),
                (NodeKind::Secret, secret),
                EdgeKind::CertificateDelegation,
                label,
            );
        }
    }

    /// Numbers the nodes and edges; `missing` says which referenced objects are absent.
    fn finish(self, missing: impl Fn(NodeKind, &ObjectRef) -> bool) -> ObjectGraph {
        let index: BTreeMap<&(NodeKind, ObjectRef), usize> =
            self.nodes.keys().enumerate().map(|(i, key)| (key, i)).collect();
        let edges = self
            .edges
            .iter()
            .filter_map(|((from, to, kind), labels)| {
                let (from_node, to_node) = (self.nodes.get(from)?, self.nodes.get(to)?);
                Some(Edge {
                    from: *index.get(from)?,
                    to: *index.get(to)?,
                    kind: *kind,
                    label: labels.join(", "),
                    in_cycle: kind.delegates() && from_node.in_cycle && to_node.in_cycle,
                })
            })
            .collect();
        let nodes = self
            .nodes
            .into_values()
            .map(|mut node| {
                node.missing = node.status.is_none() && missing(node.kind, &node.object);
                node
            })
            .collect();
        ObjectGraph { nodes, edges }
    }
}

/// How to print an [`ObjectGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    #[default]
    Dot,
    /// A Mermaid flowchart (rendered by GitHub in Markdown).
    Mermaid,
    /// `{"nodes": [...], "edges": [...]}`.
    Json,
    /// A laid-out SVG picture, drawn without an external tool.
    Svg,
}

impl GraphFormat {
    /// Every format.
    pub const ALL: [Self; 4] = [Self::Dot, Self::Mermaid, Self::Json, Self::Svg];

    /// `dot`, `mermaid`, `json` or `svg`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dot => "dot",
            Self::Mermaid => "mermaid",
            Self::Json => "json",
            Self::Svg => "svg",
        }
    }

    /// The HTTP content type of the format.
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Dot => "text/vnd.graphviz; charset=utf-8",
            Self::Mermaid => "text/plain; charset=utf-8",
            Self::Json => "application/json",
            Self::Svg => "image/svg+xml",
        }
    }

    /// The graph in this format, ending with a newline.
    #[must_use]
    pub fn render(self, graph: &ObjectGraph) -> String {
        match self {
            Self::Dot => dot::render(graph),
            Self::Mermaid => mermaid::render(graph),
            Self::Json => json::render(graph),
            Self::Svg => svg::render(graph),
        }
    }
}

/// What a `/debug/dag` request asks for, in the controller and in `ingressroute serve`:
/// `?format=dot|mermaid|json|svg` (DOT without one) and `?focus=namespace/name` (the
/// part of the graph around that object, see [`ObjectGraph::focus`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GraphQuery {
    /// `format=`.
    pub format: GraphFormat,
    /// `focus=`.
    pub focus: Option<ObjectRef>,
}

/// A `/debug/dag` query that cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadQuery {
    /// `format=` names no format.
    #[error(transparent)]
    Format(#[from] UnknownFormat),
    /// `focus=` is not `namespace/name`.
    #[error("focus must be namespace/name, got {0:?}")]
    Focus(String),
}

impl GraphQuery {
    /// Reads the query string of a URL (`format=svg&focus=apps/web`); other parameters
    /// are ignored, values are percent-decoded.
    ///
    /// # Errors
    ///
    /// [`BadQuery`] when `format=` or `focus=` cannot be used.
    pub fn parse(query: Option<&str>) -> Result<Self, BadQuery> {
        let mut parsed = Self::default();
        for pair in query.into_iter().flat_map(|query| query.split('&')) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_decode(value);
            match key {
                "format" => parsed.format = decoded.as_deref().unwrap_or(value).parse()?,
                "focus" => {
                    let text = decoded.ok_or_else(|| BadQuery::Focus(value.to_owned()))?;
                    match text.split_once('/') {
                        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                            parsed.focus = Some(ObjectRef::new(ns, name));
                        }
                        _ => return Err(BadQuery::Focus(text)),
                    }
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// The graph, focused if asked, in the format asked.
    ///
    /// # Errors
    ///
    /// [`NotInGraph`] when the focus is not in the graph.
    pub fn answer(&self, graph: &ObjectGraph) -> Result<String, NotInGraph> {
        match &self.focus {
            Some(object) => Ok(self.format.render(&graph.focus(object)?)),
            None => Ok(self.format.render(graph)),
        }
    }
}

/// `%XX` sequences decoded, `+` as a space; `None` when that is not UTF-8 or a `%` is not
/// followed by two hex digits.
fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        match first {
            b'%' => {
                let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = tail.get(2..)?;
            }
            b'+' => {
                bytes.push(b' ');
                rest = tail;
            }
            other => {
                bytes.push(other);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).ok()
}

/// A format name that is not `dot`, `mermaid`, `json` or `svg`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown graph format {0:?} (expected dot, mermaid, json or svg)")]
#[non_exhaustive]
pub struct UnknownFormat(pub String);

impl FromStr for GraphFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// The fill colour of a node: green for valid, red for invalid, grey for orphaned,
/// yellow for missing, light blue for the other kinds.
fn fill(node: &Node) -> &'static str {
    match (node.current_status(), node.missing) {
        (_, true) => "#fff3b0",
        (Some(CurrentStatus::Valid), _) => "#c8e6c9",
        (Some(CurrentStatus::Invalid), _) => "#ffcdd2",
        (Some(CurrentStatus::Orphaned), _) => "#e0e0e0",
        (Some(_), _) => "#ffffff",
        (None, false) => "#e3f2fd",
    }
}

/// The colour of a cycle's nodes and edges.
const CYCLE: &str = "#d32f2f";

#[cfg(test)]
mod tests;
