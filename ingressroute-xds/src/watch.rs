//! What one stream wants of one type and what it was sent: the state both protocols share.
//!
//! A [`Watch`] keeps the subscription (wildcard and names) and `known`, the version of
//! each resource the stream was sent (and, for SotW, its bytes, since every SotW response
//! carries them all again). [`Watch::refresh`] compares both with a snapshot of the kind
//! and says what to send. Usually only the names the snapshot changed, or the subscription
//! changed, are looked at; a stream that skipped a snapshot compares everything.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::snapshot::{Entry, KindSnapshot, VersionSum};
use ingressroute_envoy::ResourceKind;

/// A name's share of [`Watch::names_hash`]: SipHash with fixed keys, so a set's sum does
/// not depend on order and two different sets of the same size agree with a chance of
/// about 2^-64.
fn name_hash(name: &[u8]) -> u64 {
    use std::hash::Hasher as _;
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(name);
    hasher.finish()
}

/// Names whose subscription changed since the last refresh.
#[derive(Debug)]
enum Dirty {
    Names(BTreeSet<Arc<str>>),
    All,
}

/// What a refresh found.
#[derive(Debug, Default)]
pub(crate) struct Diff {
    /// New or changed resources: sent first.
    pub(crate) upserts: Vec<Arc<Entry>>,
    /// EDS names that stopped existing and become empty placeholders: sent with the
    /// removals, after the other types let go of them.
    pub(crate) late: Vec<Arc<Entry>>,
    /// Resources that stopped existing while subscribed.
    pub(crate) removed: Vec<Arc<str>>,
    /// Names just subscribed that do not exist (delta streams report them as removed).
    pub(crate) missing: Vec<Arc<str>>,
}

/// One type on one stream.
#[derive(Debug)]
pub(crate) struct Watch {
    pub(crate) kind: ResourceKind,
    /// Whether a first request was seen.
    pub(crate) started: bool,
    /// SotW: subscribed by the legacy wildcard (no names on the first request).
    legacy: bool,
    wildcard: bool,
    names: BTreeSet<Arc<str>>,
    /// The sum of the [`name_hash`] of each of `names`: a request repeating the
    /// subscription is recognised without looking each name up.
    names_hash: u64,
    /// What the stream was sent (or, reconnecting, says it has), by name.
    pub(crate) known: BTreeMap<Arc<str>, Arc<Entry>>,
    /// The serial of the kind snapshot `known` is up to date with, but for `dirty`.
    base: u64,
    dirty: Dirty,
    /// The nonce of the latest response of this type.
    pub(crate) nonce: Option<String>,
    /// The version of the latest response of this type.
    pub(crate) version: String,
    /// Whether a response of this type was sent (or found unnecessary) on this stream.
    pub(crate) answered: bool,
    /// The resources the latest response sent anew, to name them if it is rejected.
    pub(crate) in_flight: Vec<Arc<str>>,
}

impl Watch {
    pub(crate) fn new(kind: ResourceKind) -> Self {
        Self {
            kind,
            started: false,
            legacy: false,
            wildcard: false,
            names: BTreeSet::new(),
            names_hash: 0,
            known: BTreeMap::new(),
            base: 0,
            dirty: Dirty::All,
            nonce: None,
            version: String::new(),
            answered: false,
            in_flight: Vec::new(),
        }
    }

    /// LDS, CDS and SRDS take the legacy wildcard: no names on the first request.
    fn takes_legacy_wildcard(&self) -> bool {
        matches!(
            self.kind,
            ResourceKind::Listener | ResourceKind::Cluster | ResourceKind::ScopedRouteConfiguration
        )
    }

    fn mark(&mut self, name: &Arc<str>) {
        if let Dirty::Names(names) = &mut self.dirty {
            names.insert(Arc::clone(name));
        }
    }

    /// A SotW request's names: the whole subscription, as the bytes they came in (see
    /// [`SotwRequest`](crate::codec::SotwRequest)); a name that is not UTF-8 is read
    /// lossily (it names nothing this server has).
    pub(crate) fn set_names<N: AsRef<[u8]>>(&mut self, requested: &[N]) {
        if !self.started {
            self.started = true;
            self.legacy = requested.is_empty() && self.takes_legacy_wildcard();
        } else if !requested.is_empty() {
            self.legacy = false;
        }
        let wildcard = self.legacy || requested.iter().any(|n| n.as_ref() == b"*");
        if wildcard == self.wildcard && self.same_names(requested) {
            return;
        }
        if wildcard != self.wildcard {
            self.wildcard = wildcard;
            self.dirty = Dirty::All;
        }
        let names: BTreeSet<Arc<str>> = requested
            .iter()
            .map(AsRef::as_ref)
            .filter(|n| *n != b"*")
            .map(|n| Arc::from(String::from_utf8_lossy(n)))
            .collect();
        let changed: Vec<Arc<str>> = names.symmetric_difference(&self.names).cloned().collect();
        for name in &changed {
            self.mark(name);
        }
        self.names_hash = names
            .iter()
            .fold(0, |sum, name| sum.wrapping_add(name_hash(name.as_bytes())));
        self.names = names;
    }

    /// Whether `requested` (but `"*"`) lists exactly the names subscribed now, in any
    /// order. Every SotW request repeats the whole subscription (an ACK of endpoints lists
    /// every cluster's name, in no particular order): this hashes each name once instead
    /// of looking it up in the set, which at 10,000 names is most of the cost of an ACK.
    fn same_names<N: AsRef<[u8]>>(&self, requested: &[N]) -> bool {
        let explicit = || requested.iter().map(AsRef::as_ref).filter(|n| *n != b"*");
        explicit().count() == self.names.len()
            && explicit().fold(0u64, |sum, name| sum.wrapping_add(name_hash(name))) == self.names_hash
    }

    /// A delta request's first-request rules and subscription changes.
    pub(crate) fn change_names(&mut self, subscribe: &[String], unsubscribe: &[String]) {
        if !self.started {
            self.started = true;
            if subscribe.is_empty() && self.takes_legacy_wildcard() {
                self.wildcard = true;
                self.dirty = Dirty::All;
            }
        }
        for name in subscribe {
            if name == "*" {
                self.wildcard = true;
                self.dirty = Dirty::All;
            } else {
                let name: Arc<str> = Arc::from(name.as_str());
                self.mark(&name);
                if self.names.insert(Arc::clone(&name)) {
                    self.names_hash = self.names_hash.wrapping_add(name_hash(name.as_bytes()));
                }
            }
        }
        for name in unsubscribe {
            if name == "*" {
                self.wildcard = false;
                self.dirty = Dirty::All;
            } else {
                let name: Arc<str> = Arc::from(name.as_str());
                self.mark(&name);
                if self.names.remove(&name) {
                    self.names_hash = self.names_hash.wrapping_sub(name_hash(name.as_bytes()));
                }
            }
        }
    }

    /// The versions a reconnecting delta client says it has.
    pub(crate) fn hold(&mut self, versions: impl IntoIterator<Item = (String, String)>) {
        for (name, version) in versions {
            let name: Arc<str> = Arc::from(name);
            self.known.insert(Arc::clone(&name), Entry::held(name, version));
        }
    }

    fn covers(&self, name: &str) -> bool {
        self.wildcard || self.names.contains(name)
    }

    /// Compares the subscription and what was sent with `snapshot`. Forgets at once the
    /// names no longer subscribed (Envoy forgot them); the rest is for the caller to send
    /// and then [`apply`](Watch::apply).
    pub(crate) fn refresh(&mut self, snapshot: &KindSnapshot) -> Diff {
        let candidates: Vec<Arc<str>> = match &self.dirty {
            Dirty::Names(dirty) if self.base == snapshot.serial => dirty.iter().cloned().collect(),
            Dirty::Names(dirty) if self.base != 0 && self.base == snapshot.parent => {
                let mut names: BTreeSet<Arc<str>> = dirty.clone();
                names.extend(
                    snapshot
                        .changed
                        .iter()
                        .filter(|n| self.covers(n) || self.known.contains_key(n.as_ref()))
                        .cloned(),
                );
                names.into_iter().collect()
            }
            _ => {
                let mut names: BTreeSet<Arc<str>> = self.names.clone();
                names.extend(self.known.keys().cloned());
                if self.wildcard {
                    names.extend(snapshot.entries.keys().cloned());
                }
                names.into_iter().collect()
            }
        };
        // Names to report missing: all on the first refresh, then the newly subscribed.
        let first = self.base == 0;
        let newly: BTreeSet<Arc<str>> = match &self.dirty {
            Dirty::Names(dirty) => dirty.clone(),
            Dirty::All => BTreeSet::new(),
        };
        let mut diff = Diff::default();
        for name in candidates {
            let known = self.known.get(&name);
            if !self.covers(&name) {
                // Unsubscribed: Envoy dropped it, and so do we.
                self.known.remove(&name);
                continue;
            }
            let desired = match snapshot.get(&name) {
                Some(entry) => Some(Arc::clone(entry)),
                None if self.kind == ResourceKind::ClusterLoadAssignment && self.names.contains(&name) => {
                    Some(Entry::placeholder(&name))
                }
                None => None,
            };
            match (desired, known) {
                (Some(entry), None) => diff.upserts.push(entry),
                (Some(entry), Some(old)) if entry.version != old.version => {
                    if entry.placeholder && !old.placeholder {
                        diff.late.push(entry);
                    } else {
                        diff.upserts.push(entry);
                    }
                }
                (Some(_), Some(_)) => {}
                (None, Some(_)) => diff.removed.push(name),
                (None, None) => {
                    if (first || newly.contains(&name)) && self.names.contains(&name) {
                        diff.missing.push(name);
                    }
                }
            }
        }
        self.base = snapshot.serial;
        self.dirty = Dirty::Names(BTreeSet::new());
        diff
    }

    /// [`Watch::refresh`] in a pass over the kinds in make-before-break order, where clusters
    /// come before endpoints: a cluster watch leaves in `clusters` the clusters it sends
    /// anew; an EDS watch adds to its diff the ClusterLoadAssignments those read and Envoy
    /// already has unchanged. A new (or replaced) cluster on a name Envoy already subscribes
    /// to gets nothing by itself, since Envoy's subscription does not change (SotW) or says
    /// nothing (delta), and would wait for its initial fetch timeout (15 s) before it warms;
    /// sent right after the clusters, the assignments reach it at once.
    pub(crate) fn refresh_in_pass(&mut self, snapshot: &KindSnapshot, clusters: &mut Vec<Arc<Entry>>) -> Diff {
        let mut diff = self.refresh(snapshot);
        match self.kind {
            ResourceKind::Cluster => clusters.clone_from(&diff.upserts),
            ResourceKind::ClusterLoadAssignment => self.add_read_by(clusters, snapshot, &mut diff),
            _ => {}
        }
        diff
    }

    /// Adds to `diff` the assignments `clusters` read that this EDS watch holds unchanged.
    fn add_read_by(&self, clusters: &[Arc<Entry>], snapshot: &KindSnapshot, diff: &mut Diff) {
        let mut sending: BTreeSet<Arc<str>> = diff.upserts.iter().map(|e| Arc::clone(&e.name)).collect();
        for reference in clusters.iter().flat_map(|cluster| cluster.references.iter()) {
            if reference.kind != ResourceKind::ClusterLoadAssignment || !self.covers(&reference.name) {
                continue;
            }
            let (Some(held), Some(entry)) = (self.known.get(&*reference.name), snapshot.get(&reference.name)) else {
                continue;
            };
            if held.version == entry.version && sending.insert(Arc::clone(&entry.name)) {
                diff.upserts.push(Arc::clone(entry));
            }
        }
    }

    /// Records that `entries` were sent and `removed` were removed.
    pub(crate) fn apply(&mut self, entries: &[Arc<Entry>], removed: &[Arc<str>]) {
        for entry in entries {
            self.known.insert(Arc::clone(&entry.name), Arc::clone(entry));
        }
        for name in removed {
            self.known.remove(name);
        }
    }

    /// The version of everything `known`, as a SotW `version_info`; `snapshot`'s own
    /// version when `known` is exactly the snapshot (a wildcard watch), to save the hashing.
    pub(crate) fn known_version(&self, snapshot: &KindSnapshot) -> String {
        // A wildcard watch knows every resource of the snapshot it was refreshed with, and
        // anything more (a placeholder, a resource kept until the removal pass) makes it
        // longer.
        if self.wildcard && self.base == snapshot.serial && self.known.len() == snapshot.entries.len() {
            return snapshot.version.clone();
        }
        let mut sum = VersionSum::default();
        for entry in self.known.values() {
            sum.add(entry);
        }
        sum.version()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;

    use super::*;
    use crate::Publisher;
    use ingressroute_envoy::Resources;

    /// Secrets `names`, each holding `content`.
    fn secrets(names: &[(&str, &str)]) -> Resources {
        let mut resources = Resources::default();
        for (name, content) in names {
            resources.secrets.push(tls_v3::Secret {
                name: (*name).into(),
                r#type: Some(tls_v3::secret::Type::GenericSecret(tls_v3::GenericSecret {
                    secret: Some(envoy_types::pb::envoy::config::core::v3::DataSource {
                        specifier: Some(
                            envoy_types::pb::envoy::config::core::v3::data_source::Specifier::InlineString(
                                (*content).into(),
                            ),
                        ),
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
            });
        }
        resources
    }

    fn versions(watch: &Watch) -> BTreeMap<String, String> {
        watch
            .known
            .iter()
            .map(|(n, e)| (n.to_string(), e.version.clone()))
            .collect()
    }

    fn refresh_and_apply(watch: &mut Watch, snapshot: &KindSnapshot) -> Diff {
        let diff = watch.refresh(snapshot);
        watch.apply(&diff.upserts, &[]);
        watch.apply(&diff.late, &diff.removed);
        diff
    }

    #[test]
    fn following_every_snapshot_ends_where_a_fresh_look_at_the_last_one_does() {
        let steps = [
            secrets(&[("a", "1"), ("b", "1"), ("c", "1")]),
            secrets(&[("a", "2"), ("b", "1"), ("c", "1")]),
            secrets(&[("a", "2"), ("c", "1"), ("d", "1")]),
            secrets(&[("a", "2"), ("c", "1"), ("d", "1")]),
            secrets(&[("b", "3"), ("d", "2")]),
            secrets(&[]),
            secrets(&[("a", "4"), ("e", "1")]),
        ];
        let publisher = Publisher::new();
        let mut wildcard = Watch::new(ResourceKind::Secret);
        wildcard.change_names(&["*".to_owned()], &[]);
        let mut named = Watch::new(ResourceKind::Secret);
        named.set_names(&["a".to_owned(), "d".to_owned()]);
        for (i, resources) in steps.iter().enumerate() {
            publisher.publish_resources(resources).unwrap();
            let snapshot = publisher.current().unwrap();
            let kind = snapshot.kind(ResourceKind::Secret);
            let wildcard_diff = refresh_and_apply(&mut wildcard, kind);
            refresh_and_apply(&mut named, kind);

            let mut fresh_wildcard = Watch::new(ResourceKind::Secret);
            fresh_wildcard.change_names(&["*".to_owned()], &[]);
            refresh_and_apply(&mut fresh_wildcard, kind);
            let mut fresh_named = Watch::new(ResourceKind::Secret);
            fresh_named.set_names(&["a".to_owned(), "d".to_owned()]);
            refresh_and_apply(&mut fresh_named, kind);
            assert_eq!(versions(&wildcard), versions(&fresh_wildcard), "step {i}");
            assert_eq!(versions(&named), versions(&fresh_named), "step {i}");
            if i == 3 {
                assert!(wildcard_diff.upserts.is_empty() && wildcard_diff.removed.is_empty());
            }
        }
    }

    #[test]
    fn a_sotw_request_repeating_the_subscription_in_any_order_changes_nothing() {
        let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let mut watch = Watch::new(ResourceKind::ClusterLoadAssignment);
        watch.set_names(&owned(&["a", "b", "c"]));
        watch.dirty = Dirty::Names(BTreeSet::new());
        for same in [&["a", "b", "c"][..], &["c", "a", "b"], &["b", "*", "c", "a"]] {
            assert!(watch.same_names(&owned(same)), "{same:?}");
        }
        for other in [
            &["a", "b"][..],
            &["a", "b", "d"],
            &["a", "b", "c", "d"],
            &["a", "a", "b"],
        ] {
            assert!(!watch.same_names(&owned(other)), "{other:?}");
            let mut changed = Watch::new(ResourceKind::ClusterLoadAssignment);
            changed.set_names(&owned(&["a", "b", "c"]));
            changed.dirty = Dirty::Names(BTreeSet::new());
            changed.set_names(&owned(other));
            assert!(
                matches!(&changed.dirty, Dirty::Names(names) if !names.is_empty()),
                "{other:?} marks what changed"
            );
        }
    }

    #[test]
    fn a_sotw_watch_takes_the_legacy_wildcard_only_for_listeners_and_clusters() {
        let mut clusters = Watch::new(ResourceKind::Cluster);
        clusters.set_names::<String>(&[]);
        assert!(clusters.wildcard);
        clusters.set_names::<String>(&[]);
        assert!(clusters.wildcard, "still wildcard while names stay empty");
        clusters.set_names(&["x".to_owned()]);
        assert!(!clusters.wildcard);
        clusters.set_names::<String>(&[]);
        assert!(
            !clusters.wildcard,
            "empty names after explicit ones subscribe to nothing"
        );

        let mut routes = Watch::new(ResourceKind::RouteConfiguration);
        routes.set_names::<String>(&[]);
        assert!(!routes.wildcard);
        routes.set_names(&["*".to_owned()]);
        assert!(routes.wildcard);
    }
}
