//! The delegation graph: one vertex per IngressRoute, one edge per delegation.
//!
//! It is a petgraph graph inside, but petgraph stays out of the public API: callers get
//! vertices, delegations, cycles and DOT through the methods here, so petgraph can be
//! upgraded (or replaced) without breaking them.

use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::ObjectRef;
use crate::quote::go_quote;

/// What an edge of the [`DelegationGraph`] stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct Vertex {
    /// The IngressRoute.
    pub object: ObjectRef,
    /// Whether it has a `virtualhost` (is a root).
    pub root: bool,
}

/// The IngressRoutes of a build (those of the served ingress class) and their
/// delegations. Delegations to objects that do not exist have no edge.
///
/// Vertices are in namespace-then-name order and each object's delegations in route order
/// (its tcpproxy last), however the objects were inserted.
#[derive(Debug, Clone, Default)]
pub struct DelegationGraph {
    pub(crate) graph: DiGraph<Vertex, Delegation>,
}

impl DelegationGraph {
    /// The strongly connected components that hold a cycle (more than one vertex, or a
    /// vertex delegating to itself).
    pub(crate) fn cyclic_components(&self) -> impl Iterator<Item = Vec<NodeIndex>> + '_ {
        let components = if self.may_hold_a_cycle() {
            kosaraju_scc(&self.graph)
        } else {
            Vec::new()
        };
        components.into_iter().filter(|scc| match scc.as_slice() {
            [single] => self.graph.contains_edge(*single, *single),
            _ => true,
        })
    }

    /// Whether some vertex both delegates and is delegated to, as every vertex on a cycle
    /// is. Most graphs a build walks hold one root and the few objects it delegates to,
    /// with no such vertex: they need no search for components.
    fn may_hold_a_cycle(&self) -> bool {
        const DELEGATES: u8 = 1;
        const DELEGATED_TO: u8 = 2;
        let mut seen = vec![0u8; self.graph.node_count()];
        for edge in self.graph.raw_edges() {
            if let Some(from) = seen.get_mut(edge.source().index()) {
                *from |= DELEGATES;
            }
            if let Some(to) = seen.get_mut(edge.target().index()) {
                *to |= DELEGATED_TO;
            }
        }
        seen.contains(&(DELEGATES | DELEGATED_TO))
    }

    /// Every vertex, in namespace-then-name order.
    pub fn vertices(&self) -> impl ExactSizeIterator<Item = &Vertex> {
        self.graph.raw_nodes().iter().map(|node| &node.weight)
    }

    /// The roots (vertices with a `virtualhost`), in namespace-then-name order.
    pub fn roots(&self) -> impl Iterator<Item = &Vertex> {
        self.vertices().filter(|v| v.root)
    }

    /// The vertex of an object, if it is part of the graph (IngressRoutes of another
    /// ingress class are not).
    #[must_use]
    pub fn vertex(&self, object: &ObjectRef) -> Option<&Vertex> {
        self.index(object).and_then(|n| self.graph.node_weight(n))
    }

    /// How many IngressRoutes the graph holds.
    #[must_use]
    pub fn vertex_count(&self) -> usize {
        self.graph.node_count()
    }

    /// How many delegations (to objects that exist) the graph holds.
    #[must_use]
    pub fn delegation_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The delegations of `object` to objects that exist: each target with the kind of
    /// delegation, in route order, the tcpproxy's last.
    pub fn delegations(&self, object: &ObjectRef) -> impl Iterator<Item = (&ObjectRef, &Delegation)> {
        let mut edges: Vec<(&ObjectRef, &Delegation)> = self
            .index(object)
            .into_iter()
            .flat_map(|n| self.graph.edges(n))
            .filter_map(|e| Some((&self.graph.node_weight(e.target())?.object, e.weight())))
            .collect();
        // petgraph lists a vertex's edges newest first; they were added in route order.
        edges.reverse();
        edges.into_iter()
    }

    /// The index of an object's vertex.
    fn index(&self, object: &ObjectRef) -> Option<NodeIndex> {
        // Vertices are sorted by object, so a binary search finds them.
        self.graph
            .raw_nodes()
            .binary_search_by(|node| node.weight.object.cmp(object))
            .ok()
            .map(NodeIndex::new)
    }

    /// The objects delegating to `object`, with the kind of each delegation.
    pub fn delegators(&self, object: &ObjectRef) -> impl Iterator<Item = (&ObjectRef, &Delegation)> {
        self.index(object)
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
