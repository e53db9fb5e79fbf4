//! Pass 1, the walk: from each admitted root, depth first along the graph's edges in
//! route order, evaluating every object against the prefix and the chain that reached
//! it, and recording what it finds.
//!
//! ```text
//!   root ──route /a──▶ child (visit: prefix /a) ──route /a/b──▶ grandchild (visit: /a/b)
//!     └────tcpproxy──▶ tcp child (visit) ──tcpproxy──▶ ...
//! ```
//!
//! The walk keeps explicit stacks (chains of 10,000 objects exist) and memoises visits
//! per (root, object, prefix) so that diamonds stay linear. It serves nothing itself:
//! [`serve`](super::serve) reads the visits afterwards.

use rustc_hash::FxHashMap;

use ingressroute_api::IngressRoute;

use super::{Builder, Check, Finding};
use crate::ObjectRef;
use crate::model::{ServedRoute, TlsMode, WeightedCluster};
use crate::status::{Reason, messages};

/// One evaluation of an IngressRoute, reached through one prefix from one root.
#[derive(Debug)]
pub(super) struct Visit {
    /// The object.
    pub(super) node: usize,
    /// The routes served and the HTTP delegations followed (as visits), in route order.
    pub(super) items: Vec<Item>,
    /// The tcpproxy delegation followed from this visit.
    pub(super) tcp_child: Option<usize>,
}

/// One route of a visit: served here, or delegated to another visit.
#[derive(Debug)]
pub(super) enum Item {
    /// A route with services.
    Route(ServedRoute),
    /// A delegation, to this visit.
    Child(usize),
    /// A route already moved into its virtual host.
    Served,
}

/// The chain of objects that led to the one being evaluated: the walk's explicit stack
/// (never with repeats: a cycle is refused before it is pushed), with constant-time
/// membership so that cycle checks stay linear in the length of a chain. One per build,
/// reset for every chain.
#[derive(Debug)]
pub(super) struct Path {
    nodes: Vec<usize>,
    /// Indexed by vertex.
    members: Vec<bool>,
}

impl Path {
    /// An empty path for a graph of `vertices` vertices.
    pub(super) fn new(vertices: usize) -> Self {
        Self {
            nodes: Vec::new(),
            members: vec![false; vertices],
        }
    }

    /// Starts a new chain at `first`.
    fn reset(&mut self, first: usize) {
        while !self.nodes.is_empty() {
            self.pop();
        }
        self.push(first);
    }

    fn push(&mut self, node: usize) {
        self.nodes.push(node);
        if let Some(member) = self.members.get_mut(node) {
            *member = true;
        }
    }

    fn pop(&mut self) {
        if let Some(node) = self.nodes.pop()
            && let Some(member) = self.members.get_mut(node)
        {
            *member = false;
        }
    }

    fn contains(&self, node: usize) -> bool {
        self.members.get(node).copied().unwrap_or(false)
    }

    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
}

/// What a valid object's routes do, in route order.
enum Step<'a> {
    Serve(ServedRoute),
    Delegate { target: usize, prefix: &'a str },
}

/// What a valid object's tcpproxy does.
pub(super) enum TcpStep {
    /// Proxy to these clusters.
    Serve(Vec<WeightedCluster>),
    /// Delegate to this object.
    Delegate(usize),
    /// No tcpproxy, or a delegation to an object that does not exist.
    Nothing,
}

/// A root that passed its own checks, and what its walk found.
pub(super) struct RootWalk {
    /// The root.
    pub(super) node: usize,
    /// Its fqdn.
    pub(super) fqdn: String,
    /// Its visit.
    pub(super) visit: usize,
    /// How its TLS listener treats connections, if it has TLS.
    pub(super) tls: Option<TlsMode>,
    /// Routes are also served over HTTPS (TLS terminated, no tcpproxy).
    pub(super) https_routes: bool,
    /// The tcpproxy chain: visits in order and the step of each (empty when the root's
    /// tcpproxy takes no effect).
    pub(super) tcp_chain: Vec<(usize, TcpStep)>,
}

impl<'a> Builder<'a> {
    /// Walks an admitted root: evaluates it as a whole, then follows its tcpproxy chain
    /// and its route delegations. `None` when the root itself has a finding (recorded)
    /// or is rejected.
    pub(super) fn walk_root(&mut self, node: usize, path: &mut Path) -> Option<RootWalk> {
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
        path.reset(node);
        let evaluated = (|| -> Check<(Option<TcpStep>, Vec<Step<'a>>)> {
            let tcp = if tcp_effective {
                Some(self.tcp_steps(node, path)?)
            } else {
                None
            };
            let steps = self.route_steps(node, "", path, https_routes)?;
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
        if let Some(root) = self.visits.get_mut(visit) {
            root.items.reserve_exact(steps.len());
        }

        let tcp_chain = match tcp {
            Some(step) => self.walk_tcp(visit, node, step, path, &fqdn),
            None => Vec::new(),
        };
        path.reset(node);
        self.walk_http(visit, node, steps, path, https_routes, &fqdn);
        Some(RootWalk {
            node,
            fqdn,
            visit,
            tls,
            https_routes,
            tcp_chain,
        })
    }

    /// Follows a valid root's tcpproxy delegations. A child's finding records the root's
    /// fqdn as its vhost, as HTTP children's do ([behaviour §2.4](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s2-4): the child inherits the vhost).
    fn walk_tcp(
        &mut self,
        root_visit: usize,
        root: usize,
        first: TcpStep,
        path: &mut Path,
        fqdn: &str,
    ) -> Vec<(usize, TcpStep)> {
        let mut chain = vec![(root_visit, first)];
        path.reset(root);
        while let Some((parent_visit, TcpStep::Delegate(target))) = chain.last() {
            let (parent_visit, target) = (*parent_visit, *target);
            let visit = self.new_visit(target);
            if let Some(parent) = self.visits.get_mut(parent_visit) {
                parent.tcp_child = Some(visit);
            }
            match self.tcp_steps(target, path) {
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
                                    if let Some(child) = self.visits.get_mut(visit) {
                                        child.items.reserve_exact(steps.len());
                                    }
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
            return Ok(TcpStep::Serve(self.tcp_clusters(key, route, tcp)?));
        }
        let Some(target) = self.graph.tcp_target(node) else {
            return Ok(TcpStep::Nothing);
        };
        let Some((target_key, target_route)) = self.routes.get(target) else {
            return Ok(TcpStep::Nothing);
        };
        if self.graph.is_root(target) {
            return Err(Finding::new(Reason::DelegateToRoot, messages::DELEGATE_TO_ROOT.into()));
        }
        if target_route.spec.tcpproxy.is_none() {
            return Err(Finding::new(
                Reason::TcpProxyDelegateWithoutTcpProxy,
                messages::tcpproxy_delegate_without_tcpproxy(&target_key.namespace, &target_key.name),
            ));
        }
        if self.closes_cycle(node, target, path) {
            let chain = self.cycle_path(path, node, target);
            return Err(Finding::new(Reason::DelegationCycle, messages::tcpproxy_cycle(&chain)));
        }
        Ok(TcpStep::Delegate(target))
    }

    /// Whether delegating from `node` to `target` closes a cycle on the walk's path: the
    /// delegation must lie on a cycle of the graph, and the walk must have come through
    /// `target` (or be delegating to `node` itself).
    fn closes_cycle(&self, node: usize, target: usize, path: &Path) -> bool {
        self.cycles.on_cycle(node, target) && (target == node || path.contains(target))
    }

    /// The cycle as the walk met it: the path, `node` and `target`.
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
        let mut targets = std::mem::take(&mut self.route_targets);
        self.graph.route_targets(node, &mut targets);
        let steps = self.route_steps_with(node, key, route, &mut targets, parent_prefix, path, https);
        self.route_targets = targets;
        steps
    }

    /// [`route_steps`](Self::route_steps), with the object's route delegations as
    /// (route index, target) by descending route index.
    #[allow(clippy::too_many_arguments)]
    fn route_steps_with(
        &mut self,
        node: usize,
        key: &ObjectRef,
        route: &'a IngressRoute,
        targets: &mut Vec<(usize, usize)>,
        parent_prefix: &str,
        path: &Path,
        https: bool,
    ) -> Check<Vec<Step<'a>>> {
        let mut steps = Vec::with_capacity(route.spec.routes.len());
        for (i, r) in route.spec.routes.iter().enumerate() {
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
                steps.push(Step::Serve(self.route(node, key, route, r, https)?));
            } else if r.delegate.is_some() {
                // Decision D4: delegating routes are held to the parent's prefix too.
                if !prefix_matches(m, parent_prefix) {
                    return Err(Finding::new(
                        Reason::PrefixMismatch,
                        messages::prefix_mismatch(m, parent_prefix),
                    ));
                }
                // The graph's edge for this route; none when the target does not exist.
                while targets.last().is_some_and(|(route, _)| *route < i) {
                    targets.pop();
                }
                let Some(target) = targets.pop_if(|(route, _)| *route == i).map(|(_, target)| target) else {
                    continue;
                };
                if self.graph.is_root(target) {
                    return Err(Finding::new(Reason::DelegateToRoot, messages::DELEGATE_TO_ROOT.into()));
                }
                if self.closes_cycle(node, target, path) {
                    let chain = self.cycle_path(path, node, target);
                    return Err(Finding::new(Reason::DelegationCycle, messages::route_cycle(&chain)));
                }
                steps.push(Step::Delegate { target, prefix: m });
            }
        }
        Ok(steps)
    }

    fn new_visit(&mut self, node: usize) -> usize {
        self.visits.push(Visit {
            node,
            items: Vec::new(),
            tcp_child: None,
        });
        self.visits.len() - 1
    }

    pub(super) fn is_rejected(&self, node: usize) -> bool {
        self.rejections.contains_key(&node)
    }

    /// A rejected object passed its own checks on a walk from the root serving `fqdn`:
    /// the walk stops there (it is never followed), remembering the first such fqdn.
    fn note_rejected_reached(&mut self, node: usize, fqdn: &str) {
        self.rejected_reached_from
            .entry(node)
            .or_insert_with(|| fqdn.to_owned());
    }
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
