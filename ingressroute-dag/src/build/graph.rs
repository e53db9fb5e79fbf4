//! The delegation graph as the build makes and reads it: delegations are resolved to
//! their targets here, once, and the walk asks the graph for the edges it follows and for
//! the cycles they may close.

use std::sync::Arc;

use ingressroute_api::{Delegate, IngressRoute};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use rustc_hash::FxHashMap;

use crate::ObjectRef;
use crate::graph::{Delegation, DelegationGraph, Vertex};

impl DelegationGraph {
    /// The graph of these IngressRoutes, which must be sorted by namespace then name (the
    /// index of each is its vertex). This is the only place delegations are resolved:
    /// the walk follows the edges.
    pub(crate) fn new(routes: &[(&Arc<ObjectRef>, &IngressRoute)]) -> Self {
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
                object: ObjectRef::clone(key),
                root: route.spec.virtualhost.is_some(),
            });
        }
        for (node, (key, route)) in routes.iter().enumerate() {
            let node = NodeIndex::new(node);
            for (i, r) in route.spec.routes.iter().enumerate() {
                if let Some(target) = r.delegate.as_deref().and_then(|d| target(&key.namespace, d)) {
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
