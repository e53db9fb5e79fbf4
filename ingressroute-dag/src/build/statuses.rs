//! Statuses: what no valid chain reaches is orphaned, rejected objects without another
//! finding get their rejection, and every IngressRoute of the build gets exactly one
//! status.

use std::sync::Arc;

use super::walk::RootWalk;
use super::{Builder, Finding};
use crate::ObjectRef;
use crate::graph::Delegation;
use crate::status::{Reason, Status};

impl<'a> Builder<'a> {
    /// Gives every rejected object the walk found no error on its own description
    /// (a root's vhost is its fqdn; another object's, that of the first root that
    /// reached it).
    pub(super) fn reject_the_rest(&mut self) {
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

    /// For every object a valid chain reaches, the fqdn of the first valid root (in walk
    /// order) that reaches it; `None` for the orphans.
    ///
    /// Reachability over the graph, through objects without findings (decision [D1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d1)), along
    /// the delegations the walk follows: a root's route delegations and, when its TLS
    /// makes the tcpproxy take effect, its tcpproxy delegation; from there, route
    /// delegations lead on to route delegations and tcpproxy ones to tcpproxy ones.
    /// Each (object, kind of delegation) is expanded once for all roots: whatever an
    /// earlier root reached already has its fqdn.
    pub(super) fn served_from(&self, walks: &[RootWalk]) -> Vec<Option<String>> {
        let mut served_from: Vec<Option<String>> = vec![None; self.routes.len()];
        let mut expanded = vec![[false; 2]; self.routes.len()];
        let mut stack: Vec<(usize, bool)> = Vec::new();
        for walk in walks {
            let tcp_effective = !walk.tcp_chain.is_empty();
            stack.extend(self.graph.edges_from(walk.node).filter_map(|(target, d)| match d {
                Delegation::Route { .. } => Some((target, true)),
                Delegation::TcpProxy => tcp_effective.then_some((target, false)),
            }));
            while let Some((node, http)) = stack.pop() {
                if self.is_invalid(node) {
                    continue;
                }
                let Some(seen) = expanded.get_mut(node).and_then(|e| e.get_mut(usize::from(http))) else {
                    continue;
                };
                if std::mem::replace(seen, true) {
                    continue;
                }
                if let Some(slot) = served_from.get_mut(node) {
                    slot.get_or_insert_with(|| walk.fqdn.clone());
                }
                stack.extend(self.graph.edges_from(node).filter_map(|(target, d)| {
                    (matches!(d, Delegation::Route { .. }) == http).then_some((target, http))
                }));
            }
        }
        served_from
    }

    /// The status of every IngressRoute of the build, from the findings and what valid
    /// chains reach.
    pub(super) fn statuses(&mut self, mut served_from: Vec<Option<String>>) -> Vec<(Arc<ObjectRef>, Status)> {
        // Objects are in (namespace, name) order already.
        let mut statuses = Vec::with_capacity(self.routes.len());
        for (node, ((key, route), finding)) in self.routes.iter().zip(std::mem::take(&mut self.findings)).enumerate() {
            let root_fqdn = route.spec.virtualhost.as_ref().map(|v| v.fqdn.clone());
            let status = match finding {
                Some((finding, vhost)) => Status::invalid(finding.reason, finding.description, vhost),
                None if root_fqdn.is_some() => Status::valid(root_fqdn),
                None => match served_from.get_mut(node).and_then(Option::take) {
                    Some(fqdn) => Status::valid(Some(fqdn)),
                    None => Status::orphaned(),
                },
            };
            statuses.push((Arc::clone(key), status));
        }
        statuses
    }
}
