//! Pass 2, serving: each valid root's virtual host from the visits of its walk, through
//! objects without findings only (decision [D1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d1)).

use rustc_hash::FxHashSet;

use super::Builder;
use super::walk::{Item, RootWalk, TcpStep};
use crate::ObjectRef;
use crate::model::{SecureVirtualHost, ServedRoute, ServedTcpProxy, ServedVirtualHost, TlsMode};

impl Builder<'_> {
    /// The routes served from a root's visit, one per prefix, sorted by prefix.
    ///
    /// Contour adds routes depth first in route order, walking a delegation again every
    /// time it is reached, and the route added last for a prefix wins ([behaviour §3.4](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-4), [behaviour §3.6](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-6)).
    /// Going through the items backwards instead, the first route met for a prefix is
    /// that last one, and a visit met a second time has nothing left to claim, so each
    /// visit is expanded once. Visits not reached (invalid objects, and what only they
    /// lead to) are skipped, delegations included (decision [D1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d1)).
    fn routes_of(&mut self, root_visit: usize) -> Vec<ServedRoute> {
        // Read from a valid root, a visit is reached when its object has no finding.
        let is_reached = |visit: usize| self.visits.get(visit).is_some_and(|v| !self.is_invalid(v.node));
        // The winning route of each prefix, as (visit, item): found by reading, then
        // moved out (each visit belongs to one root, so nothing needs it afterwards).
        let mut winners: Vec<(usize, usize)> = Vec::new();
        {
            // Sized for the root's own items: most roots serve about that many routes.
            let items = self.visits.get(root_visit).map_or(0, |v| v.items.len());
            let mut prefixes: FxHashSet<&str> = FxHashSet::with_capacity_and_hasher(items, Default::default());
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
        let mut routes: Vec<ServedRoute> = winners
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

    pub(super) fn virtual_host(&mut self, walk: RootWalk) -> Option<ServedVirtualHost> {
        let routes = self.routes_of(walk.visit);

        let is_reached = |visit: usize| self.visits.get(visit).is_some_and(|v| !self.is_invalid(v.node));
        let tcp_proxy = if walk.tcp_chain.iter().all(|(visit, _)| is_reached(*visit)) {
            match walk.tcp_chain.into_iter().next_back() {
                Some((visit, TcpStep::Serve(clusters))) => {
                    let source = self
                        .visits
                        .get(visit)
                        .and_then(|v| self.routes.get(v.node))
                        .map(|(k, _)| ObjectRef::clone(k));
                    source.map(|source| ServedTcpProxy { clusters, source })
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
        let root = self.routes.get(walk.node).map(|(k, _)| ObjectRef::clone(k))?;
        Some(ServedVirtualHost {
            fqdn: walk.fqdn,
            root,
            routes,
            secure,
        })
    }
}
