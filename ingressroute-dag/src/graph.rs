//! The delegation graph: one vertex per IngressRoute, one edge per delegation.

use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use ingressroute_api::{Delegate, IngressRoute};
use rustc_hash::FxHashMap;

use crate::ObjectRef;
use crate::quote::go_quote;

/// What an edge of the [`DelegationGraph`] stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Delegation {
    /// `routes[route].delegate`, for the path prefix `prefix`.
    Route {
        /// The index of the delegating route in `spec.routes`.
        route: usize,
        /// The delegating route's `match`.
        prefix: String,
    },
    /// `tcpproxy.delegate`.
    TcpProxy,
}

/// One IngressRoute of the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vertex {
    /// The IngressRoute.
    pub object: ObjectRef,
    /// Whether it has a `virtualhost` (is a root).
    pub root: bool,
}

/// The IngressRoutes of a build (those of the served ingress class) and their
/// delegations. Delegations to objects that do not exist have no edge.
///
/// Vertices are added in namespace-then-name order and edges in route order, so indices
/// are the same for the same objects however they were inserted.
#[derive(Debug, Clone, Default)]
pub struct DelegationGraph {
    pub(crate) graph: DiGraph<Vertex, Delegation>,
}

impl DelegationGraph {
    /// The graph of these IngressRoutes, which must be sorted by namespace then name (the
    /// index of each is its vertex). This is the only place delegations are resolved:
    /// the walk follows the edges.
    pub(crate) fn new(routes: &[(ObjectRef, &IngressRoute)]) -> Self {
        let index: FxHashMap<(&str, &str), usize> = routes
            .iter()
            .enumerate()
            .map(|(i, (key, _))| ((key.namespace.as_str(), key.name.as_str()), i))
            .collect();
        let target = |namespace: &str, delegate: &Delegate| {
            let ns = delegate
                .namespace
                .as_deref()
                .filter(|ns| !ns.is_empty())
                .unwrap_or(namespace);
            index.get(&(ns, delegate.name.as_str())).copied().map(NodeIndex::new)
        };
        let mut graph = DiGraph::with_capacity(routes.len(), routes.len());
        for (key, route) in routes {
            graph.add_node(Vertex {
                object: key.clone(),
                root: route.spec.virtualhost.is_some(),
            });
        }
        for (node, (key, route)) in routes.iter().enumerate() {
            let node = NodeIndex::new(node);
            for (i, r) in route.spec.routes.iter().enumerate() {
                if let Some(target) = r.delegate.as_ref().and_then(|d| target(&key.namespace, d)) {
                    let delegation = Delegation::Route {
                        route: i,
                        prefix: r.match_.clone(),
                    };
                    graph.add_edge(node, target, delegation);
                }
            }
            let tcp_delegate = route.spec.tcpproxy.as_ref().and_then(|t| t.delegate.as_ref());
            if let Some(target) = tcp_delegate.and_then(|d| target(&key.namespace, d)) {
                graph.add_edge(node, target, Delegation::TcpProxy);
            }
        }
        Self { graph }
    }

    /// Whether a vertex is a root.
    pub(crate) fn is_root(&self, node: usize) -> bool {
        self.graph.node_weight(NodeIndex::new(node)).is_some_and(|v| v.root)
    }

    /// Every delegation of a vertex: the target and what the edge stands for, in no
    /// particular order.
    pub(crate) fn edges_from(&self, node: usize) -> impl Iterator<Item = (usize, &Delegation)> {
        self.graph
            .edges(NodeIndex::new(node))
            .map(|e| (e.target().index(), e.weight()))
    }

    /// Replaces `out` with the route delegations of a vertex as (route index, target),
    /// by *descending* route index, so that popping from the back meets them in route
    /// order. A reused buffer, because the walk asks for every object it evaluates.
    pub(crate) fn route_targets(&self, node: usize, out: &mut Vec<(usize, usize)>) {
        out.clear();
        // petgraph lists a vertex's edges newest first, and they were added in route order.
        out.extend(self.edges_from(node).filter_map(|(target, d)| match d {
            Delegation::Route { route, .. } => Some((*route, target)),
            Delegation::TcpProxy => None,
        }));
        if !out.is_sorted_by(|a, b| a.0 >= b.0) {
            out.sort_unstable_by_key(|(route, _)| std::cmp::Reverse(*route));
        }
    }

    /// The target of a vertex's tcpproxy delegation.
    pub(crate) fn tcp_target(&self, node: usize) -> Option<usize> {
        self.edges_from(node)
            .find_map(|(target, d)| matches!(d, Delegation::TcpProxy).then_some(target))
    }

    /// The strongly connected components that hold a cycle (more than one vertex, or a
    /// vertex delegating to itself).
    fn cyclic_components(&self) -> impl Iterator<Item = Vec<NodeIndex>> + '_ {
        kosaraju_scc(&self.graph)
            .into_iter()
            .filter(|scc| match scc.as_slice() {
                [single] => self.graph.contains_edge(*single, *single),
                _ => true,
            })
    }

    /// Which cycle each vertex is part of, for the walk.
    pub(crate) fn cycle_membership(&self) -> CycleMembership {
        let mut component = vec![0; self.graph.node_count()];
        for (id, scc) in (1..).zip(self.cyclic_components()) {
            for n in scc {
                if let Some(slot) = component.get_mut(n.index()) {
                    *slot = id;
                }
            }
        }
        CycleMembership { component }
    }

    /// The underlying petgraph graph.
    #[must_use]
    pub fn inner(&self) -> &DiGraph<Vertex, Delegation> {
        &self.graph
    }

    /// The vertex of an object, if it is part of the graph.
    #[must_use]
    pub fn find(&self, object: &ObjectRef) -> Option<NodeIndex> {
        // Vertices are sorted by object, so a binary search finds them.
        let count = self.graph.node_count();
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let vertex = self.graph.node_weight(NodeIndex::new(mid))?;
            match vertex.object.cmp(object) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(NodeIndex::new(mid)),
            }
        }
        None
    }

    /// The objects delegating to `object`, with the kind of each delegation.
    pub fn delegators(&self, object: &ObjectRef) -> impl Iterator<Item = (&ObjectRef, &Delegation)> {
        self.find(object)
            .into_iter()
            .flat_map(|n| self.graph.edges_directed(n, Direction::Incoming))
            .filter_map(|e| Some((&self.graph.node_weight(e.source())?.object, e.weight())))
    }

    /// Every set of objects that delegate to each other in a cycle (strongly connected
    /// components with more than one vertex, or a vertex delegating to itself), each
    /// sorted, in a stable order.
    ///
    /// Iterative (Kosaraju over petgraph's explicit-stack DFS): petgraph's `tarjan_scc`
    /// recurses once per vertex and overflows the stack on a 10,000-long chain.
    #[must_use]
    pub fn cycles(&self) -> Vec<Vec<ObjectRef>> {
        let mut cycles: Vec<Vec<ObjectRef>> = self
            .cyclic_components()
            .map(|scc| {
                let mut objects: Vec<ObjectRef> = scc
                    .iter()
                    .filter_map(|n| self.graph.node_weight(*n))
                    .map(|v| v.object.clone())
                    .collect();
                objects.sort();
                objects
            })
            .collect();
        cycles.sort();
        cycles
    }

    /// The graph in Graphviz DOT, for debugging: roots are boxes, tcpproxy delegations
    /// dashed.
    #[must_use]
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph delegation {\n");
        for n in self.graph.node_indices() {
            if let Some(v) = self.graph.node_weight(n) {
                let shape = if v.root { "box" } else { "ellipse" };
                let _ = writeln!(
                    out,
                    "  n{} [label={}, shape={shape}];",
                    n.index(),
                    go_quote(&v.object.to_string())
                );
            }
        }
        for e in self.graph.edge_references() {
            let (label, style) = match e.weight() {
                Delegation::Route { prefix, .. } => (go_quote(prefix), "solid"),
                Delegation::TcpProxy => ("\"tcpproxy\"".to_owned(), "dashed"),
            };
            let _ = writeln!(
                out,
                "  n{} -> n{} [label={label}, style={style}];",
                e.source().index(),
                e.target().index()
            );
        }
        out.push_str("}\n");
        out
    }
}

/// The strongly connected component holding a cycle that each vertex belongs to, if any:
/// a delegation can close a cycle only between two vertices of the same one.
#[derive(Debug)]
pub(crate) struct CycleMembership {
    /// 0: in no cycle; otherwise the component's number.
    component: Vec<u32>,
}

impl CycleMembership {
    /// Whether a delegation from `from` to `to` lies on a cycle of the graph.
    pub(crate) fn on_cycle(&self, from: usize, to: usize) -> bool {
        match (self.component.get(from), self.component.get(to)) {
            (Some(a), Some(b)) => *a != 0 && a == b,
            _ => false,
        }
    }
}
