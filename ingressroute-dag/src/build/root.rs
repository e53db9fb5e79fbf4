//! One root on its own, for incremental builds: the same walk and serving as a full
//! build, over the part of the graph the root can reach.
//!
//! ```text
//!   root ──closure over delegations (names resolved in Objects)──▶ a small graph
//!        ──Builder: admit, walk (as build)──▶ findings, visits
//!        ──serve, with what other roots found invalid──▶ virtual host, reach
//! ```
//!
//! A root's walk reads nothing outside the objects its delegations lead to (through
//! objects that are not roots), the Services and Secrets those look up, the
//! TLSCertificateDelegations of its Secret's namespace, and whether its fqdn is shared;
//! so running the full build's [`Builder`] on that closure alone gives what the full
//! build's walk finds from this root. The closure may hold more than the walk visits
//! (routes after an error are not walked); the dependencies noted from it err on the
//! side of rewalking. Serving, unlike walking, depends on other roots: an object another
//! root found invalid is not served from this one either (decision [D1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d1)), which the
//! caller passes in as `invalid`.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use ingressroute_api::IngressRoute;

use super::walk::Path;
use super::{Builder, Finding, PlainClusters, accepts_class};
use crate::graph::DelegationGraph;
use crate::objects::StoredIngressRoute;
use crate::status::Reason;
use crate::{Config, ObjectRef, Objects, ServedVirtualHost};

/// What a root's result may depend on, by kind: the hashes of these name a root's
/// dependencies in an incremental build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dependency {
    /// An IngressRoute, existing or not, of any class: one the walk evaluated, or a
    /// delegation target it resolved.
    IngressRoute,
    /// A Service looked up, found or not.
    Service,
    /// A Secret looked up, found or not.
    Secret,
    /// The TLSCertificateDelegations of a namespace (the name is empty).
    Delegations,
    /// The roots sharing an fqdn, ignoring ASCII case (the namespace is the lowercased
    /// fqdn, the name is empty).
    Fqdn,
}

impl Dependency {
    /// A 64-bit hash of this kind of dependency on `namespace/name`. Distinct
    /// dependencies may collide, which only makes an incremental build re-walk more than
    /// it needs to; it never decides a result.
    pub(crate) fn hash(self, namespace: &str, name: &str) -> u64 {
        let mut hasher = FxHasher::default();
        (self as u8).hash(&mut hasher);
        namespace.hash(&mut hasher);
        name.hash(&mut hasher);
        hasher.finish()
    }

    /// The [`Fqdn`](Self::Fqdn) dependency of the roots sharing `fqdn`: its hash with the
    /// fqdn lowercased, without allocating for fqdns of up to 253 bytes (every valid one):
    /// a first build asks this twice of every root.
    pub(crate) fn fqdn(fqdn: &str) -> u64 {
        let mut buf = [0u8; 253];
        if let Some(lower) = buf.get_mut(..fqdn.len()) {
            lower.copy_from_slice(fqdn.as_bytes());
            lower.make_ascii_lowercase();
            // Lowercasing ASCII bytes keeps UTF-8 valid: only a longer fqdn goes on.
            if let Ok(lower) = std::str::from_utf8(lower) {
                return Self::Fqdn.hash(lower, "");
            }
        }
        Self::Fqdn.hash(&fqdn.to_ascii_lowercase(), "")
    }
}

/// A non-root IngressRoute a root's walk visited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TreeEntry {
    /// The IngressRoute (its stored reference, shared).
    pub(crate) object: Arc<ObjectRef>,
    /// A valid chain from the root reaches it (the root is valid and nothing invalid
    /// lies between them): served from this root.
    pub(crate) reached: bool,
    /// Serving took it as invalid: a finding of this walk, a rejection, or `invalid`.
    pub(crate) invalid: bool,
}

/// What one root's walk and serving give.
#[derive(Debug)]
pub(crate) struct RootRun {
    /// The first finding of this walk on each object (the root included), with its
    /// vhost, by object.
    pub(crate) findings: Vec<(ObjectRef, Finding, Option<String>)>,
    /// Rejected objects the walk reached without finding an error on them, sorted.
    pub(crate) rejected_reached: Vec<ObjectRef>,
    /// The non-root objects visited, sorted by object.
    pub(crate) tree: Vec<TreeEntry>,
    /// Hashes of the IngressRoutes (other than the root) and TLSCertificateDelegation
    /// namespaces the result depends on, sorted and without repeats.
    pub(crate) dependencies: Vec<u64>,
    /// Hashes of the Services and Secrets looked up, sorted and without repeats.
    pub(crate) lookups: Vec<u64>,
    /// The virtual host served, if the root is valid and serves something.
    pub(crate) virtual_host: Option<ServedVirtualHost>,
}

/// Walks and serves the root `root` alone, as [`build`](super::build) would, given
/// `duplicate`, the description of its fqdn conflict if another root of an allowed
/// namespace shares its fqdn, and `invalid`, which says whether another root found a
/// non-root object invalid. Routes take their upstreams without health check or
/// validation from `clusters`, shared with other roots' walks. `None` when `root` is not
/// a root of the served class.
pub(crate) fn run_root(
    objects: &Objects,
    config: &Config,
    root: &ObjectRef,
    duplicate: Option<String>,
    invalid: &dyn Fn(&ObjectRef) -> bool,
    clusters: &mut PlainClusters,
) -> Option<RootRun> {
    let entry = objects.ingress_routes.get_entry(&root.namespace, &root.name)?;
    if !accepts_class(&entry.2.route, config) {
        return None;
    }
    run_root_entry(objects, config, entry, duplicate, invalid, clusters)
}

/// [`run_root`] of the root whose entry in `objects` (namespace, name, object) the caller
/// has at hand already, and knows to be of the served class.
pub(crate) fn run_root_entry(
    objects: &Objects,
    config: &Config,
    (root_ns, root_name, stored): (&str, &str, &StoredIngressRoute),
    duplicate: Option<String>,
    invalid: &dyn Fn(&ObjectRef) -> bool,
    clusters: &mut PlainClusters,
) -> Option<RootRun> {
    let vhost = stored.route.spec.virtualhost.as_ref()?;

    // The closure: every object of the class the root's delegations lead to, not going
    // through other roots (the walk stops at them with an error).
    // Not the root itself: a changed root is always walked again.
    let mut dependencies = Vec::new();
    let mut found: Vec<(&str, &str, &StoredIngressRoute)> = vec![(root_ns, root_name, stored)];
    let mut seen: FxHashSet<(&str, &str)> = FxHashSet::default();
    seen.insert((root_ns, root_name));
    let mut next = 0;
    while let Some(&(namespace, _, object)) = found.get(next) {
        let expand = next == 0 || object.route.spec.virtualhost.is_none();
        next += 1;
        if !expand {
            continue;
        }
        let spec = &object.route.spec;
        let delegates = spec
            .routes
            .iter()
            .filter_map(|r| r.delegate.as_deref())
            .chain(spec.tcpproxy.as_ref().and_then(|t| t.delegate.as_ref()));
        for delegate in delegates {
            // Resolved as the graph resolves it.
            let target_ns = delegate
                .namespace
                .as_deref()
                .filter(|ns| !ns.is_empty())
                .unwrap_or(namespace);
            dependencies.push(Dependency::IngressRoute.hash(target_ns, &delegate.name));
            if let Some((ns, name, target)) = objects.ingress_routes.get_entry(target_ns, &delegate.name)
                && accepts_class(&target.route, config)
                && seen.insert((ns, name))
            {
                found.push((ns, name, target));
            }
        }
    }
    found.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let routes: Vec<(&Arc<ObjectRef>, &IngressRoute)> = found
        .iter()
        .map(|(_, _, object)| (&object.key, object.route.as_ref()))
        .collect();
    let rejections: FxHashMap<usize, &str> = found
        .iter()
        .enumerate()
        .filter_map(|(node, (_, _, object))| Some((node, object.rejection.as_deref()?)))
        .collect();
    let node = found
        .iter()
        .position(|(ns, name, _)| (*ns, *name) == (root_ns, root_name))?;
    let key = routes.get(node)?.0;

    // The walk, as the full build's.
    let graph = DelegationGraph::new(&routes);
    let mut builder = Builder::new(objects, config, &routes, &graph, rejections, std::mem::take(clusters));
    let duplicates: HashMap<usize, String> = duplicate.map(|d| (node, d)).into_iter().collect();
    let mut path = Path::new(routes.len());
    let walk = if builder.admit_root(node, key, vhost, &duplicates) {
        builder.walk_root(node, &mut path)
    } else {
        None
    };

    let findings = builder
        .findings
        .iter()
        .zip(&routes)
        .filter_map(|(finding, (key, _))| {
            let (finding, vhost) = finding.as_ref()?;
            Some((ObjectRef::clone(key), finding.clone(), vhost.clone()))
        })
        .collect();
    let mut rejected_reached: Vec<ObjectRef> = builder
        .rejected_reached_from
        .keys()
        .filter_map(|n| routes.get(*n).map(|(key, _)| ObjectRef::clone(key)))
        .collect();
    rejected_reached.sort_unstable();
    let mut visited = vec![false; routes.len()];
    for visit in &builder.visits {
        if let Some(slot) = visited.get_mut(visit.node) {
            *slot = true;
        }
    }

    // Serving: what this walk found, rejected objects, and what other roots found
    // invalid are all invalid (a placeholder finding marks them; only its presence
    // counts from here on).
    let mut invalid_nodes = vec![false; routes.len()];
    for (n, ((object, _), slot)) in routes.iter().zip(&mut invalid_nodes).enumerate() {
        let is_invalid = builder.is_invalid(n) || builder.is_rejected(n) || (n != node && invalid(object));
        if is_invalid && !builder.is_invalid(n) {
            builder.record(n, Finding::new(Reason::Rejected, String::new()), None);
        }
        *slot = is_invalid;
    }
    let (reach, virtual_host) = match walk {
        Some(walk) if !builder.is_invalid(walk.node) => {
            let reach = builder.served_from(std::slice::from_ref(&walk));
            (reach, builder.virtual_host(walk))
        }
        _ => (Vec::new(), None),
    };
    *clusters = std::mem::take(&mut builder.plain_clusters);
    let tree = routes
        .iter()
        .enumerate()
        .filter(|(n, _)| *n != node && visited.get(*n).copied().unwrap_or(false))
        .map(|(n, (object, _))| TreeEntry {
            object: Arc::clone(object),
            reached: reach.get(n).is_some_and(Option::is_some),
            invalid: invalid_nodes.get(n).copied().unwrap_or(false),
        })
        .collect();

    let mut lookups: Vec<u64> = builder
        .referenced_services
        .iter()
        .map(|(ns, name)| Dependency::Service.hash(ns, name))
        .chain(
            builder
                .found_services
                .values()
                .map(|s| Dependency::Service.hash(&s.meta.namespace, &s.meta.name)),
        )
        .chain(
            builder
                .referenced_secrets
                .iter()
                .map(|(ns, name)| Dependency::Secret.hash(ns, name)),
        )
        .collect();
    lookups.sort_unstable();
    lookups.dedup();
    dependencies.extend(
        builder
            .consulted_delegations
            .iter()
            .map(|ns| Dependency::Delegations.hash(ns, "")),
    );
    dependencies.sort_unstable();
    dependencies.dedup();

    Some(RootRun {
        findings,
        rejected_reached,
        tree,
        dependencies,
        lookups,
        virtual_host,
    })
}

#[cfg(test)]
mod tests {
    use super::Dependency;

    #[test]
    fn an_fqdn_dependency_is_the_hash_of_the_lowercased_fqdn() {
        let long = format!("{}.Example.COM", "A".repeat(300));
        for fqdn in [
            "",
            "web.example.com",
            "Web.Example.COM",
            "ünïcode.Example",
            long.as_str(),
        ] {
            assert_eq!(
                Dependency::fqdn(fqdn),
                Dependency::Fqdn.hash(&fqdn.to_ascii_lowercase(), ""),
                "{fqdn}"
            );
        }
        assert_eq!(Dependency::fqdn("WEB.example.com"), Dependency::fqdn("web.EXAMPLE.com"));
    }
}
