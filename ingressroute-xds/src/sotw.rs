//! The state-of-the-world protocol: a response of listeners or clusters (or scoped route
//! configurations) carries everything of its type the stream subscribed to; a response of
//! any other type carries the resources that changed or were newly asked for (see
//! `sends_changes_only`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use tracing::debug;

use crate::Result;
use crate::callbacks::Variant;
use crate::codec::{SotwRequest, SotwResponse};
use crate::snapshot::{Entry, KindSnapshot, REMOVAL_ORDER, Snapshot};
use crate::stream::{Observer, Protocol, next_nonce, resolve, unknown_type};
use crate::watch::Watch;
use ingressroute_envoy::ResourceKind;

/// One SotW stream.
#[derive(Debug)]
pub(crate) struct Sotw {
    only: Option<ResourceKind>,
    watches: BTreeMap<ResourceKind, SotwWatch>,
    nonces: u64,
    warned: BTreeSet<String>,
}

/// A [`Watch`] and the version Envoy says it has.
#[derive(Debug)]
struct SotwWatch {
    watch: Watch,
    /// The `version_info` of Envoy's latest request: on a new stream, what it already has.
    client_version: String,
}

impl Sotw {
    /// A stream of the aggregated service (`None`) or of one type's service.
    pub(crate) fn new(only: Option<ResourceKind>) -> Self {
        Self {
            only,
            watches: BTreeMap::new(),
            nonces: 0,
            warned: BTreeSet::new(),
        }
    }
}

/// The response to send for `w`, if one is due: `due` holds the names sent anew when the
/// state changed; the first response of a stream is due anyway, unless Envoy (reconnecting)
/// already has exactly that version. The first response, and every response of a type sent
/// whole, carries everything `w` knows; later ones of the other types carry `due`.
fn respond(
    w: &mut SotwWatch,
    snapshot: &KindSnapshot,
    due: Option<Vec<Arc<str>>>,
    nonces: &mut u64,
) -> Option<SotwResponse> {
    let first = !w.watch.answered;
    w.watch.answered = true;
    if !first && due.is_none() {
        return None;
    }
    let version_info = w.watch.known_version(snapshot);
    if first && !w.client_version.is_empty() && w.client_version == version_info {
        debug!(type_url = snapshot_type(w), version = %version_info, "envoy already has this version");
        return None;
    }
    let in_flight = due.unwrap_or_else(|| w.watch.known.keys().cloned().collect());
    let resources: Vec<Arc<Entry>> = if first || !sends_changes_only(w.watch.kind) {
        w.watch.known.values().cloned().collect()
    } else {
        let changed: Vec<Arc<Entry>> = in_flight
            .iter()
            .filter_map(|name| w.watch.known.get(name).cloned())
            .collect();
        if changed.is_empty() {
            // Nothing to send: a resource Envoy still names cannot be removed in this
            // variant (it lets go of it when no listener, scope or cluster names it).
            return None;
        }
        changed
    };
    let nonce = next_nonce(nonces);
    w.watch.nonce = Some(nonce.clone());
    w.watch.version.clone_from(&version_info);
    w.watch.in_flight = in_flight;
    Some(SotwResponse {
        kind: w.watch.kind,
        version_info,
        nonce,
        resources: resources.into(),
    })
}

/// Whether a SotW response of `kind` after the first carries only what changed.
///
/// In the xDS protocol only Listener and Cluster responses carry the whole state in SotW
/// (and, in Envoy, scoped route configurations: a scope a response leaves out is
/// removed). Every other type is grouped per resource, as in the incremental variant: a
/// response may carry any subset of the subscribed names, Envoy updates only the watches
/// whose names it carries, and a resource a response leaves out stays as it is (it goes
/// when no listener or cluster refers to it any more). So a response of route
/// configurations, endpoints or secrets carries only those that changed or were newly
/// asked for: one endpoint change is one ClusterLoadAssignment on the wire, not all of
/// them (the fan-out Contour fixed in v1.32).
fn sends_changes_only(kind: ResourceKind) -> bool {
    !matches!(
        kind,
        ResourceKind::Listener | ResourceKind::Cluster | ResourceKind::ScopedRouteConfiguration
    )
}

fn snapshot_type(w: &SotwWatch) -> &'static str {
    crate::snapshot::type_url(w.watch.kind)
}

fn names(entries: &[Arc<crate::snapshot::Entry>]) -> Vec<Arc<str>> {
    entries.iter().map(|e| Arc::clone(&e.name)).collect()
}

impl Protocol for Sotw {
    type Request = SotwRequest;
    type Response = SotwResponse;
    const VARIANT: Variant = Variant::StateOfTheWorld;

    fn service(&self) -> Option<ResourceKind> {
        self.only
    }

    fn node(request: &Self::Request) -> Option<&core_v3::Node> {
        request.request.node.as_ref()
    }

    fn on_request(
        &mut self,
        request: Self::Request,
        snapshot: Option<&Snapshot>,
        observer: &Observer<'_>,
    ) -> Result<Vec<SotwResponse>> {
        let SotwRequest {
            request,
            names: requested,
        } = request;
        let Some(kind) = resolve(self.only, &request.type_url)? else {
            unknown_type(&mut self.warned, &request.type_url);
            return Ok(Vec::new());
        };
        let w = self.watches.entry(kind).or_insert_with(|| SotwWatch {
            watch: Watch::new(kind),
            client_version: String::new(),
        });
        if !request.response_nonce.is_empty() {
            if w.watch.nonce.as_deref() != Some(request.response_nonce.as_str()) {
                // Envoy sends an up-to-date request after it reads the newer response.
                debug!(type_url = %request.type_url, nonce = %request.response_nonce, "stale nonce ignored");
                return Ok(Vec::new());
            }
            match &request.error_detail {
                Some(error) => observer.nacked(&w.watch, error, snapshot),
                None => observer.acked(&w.watch),
            }
        }
        w.client_version = request.version_info;
        w.watch.set_names(&requested);
        let Some(snapshot) = snapshot else {
            return Ok(Vec::new());
        };
        let snapshot = snapshot.kind(kind);
        let diff = w.watch.refresh(snapshot);
        let mut anew = diff.upserts;
        anew.extend(diff.late);
        w.watch.apply(&anew, &diff.removed);
        let due = (!anew.is_empty() || !diff.removed.is_empty()).then(|| names(&anew));
        Ok(respond(w, snapshot, due, &mut self.nonces).into_iter().collect())
    }

    fn on_snapshot(&mut self, snapshot: &Snapshot) -> Vec<SotwResponse> {
        let mut responses = Vec::new();
        let mut second = BTreeMap::new();
        let mut clusters = Vec::new();
        for kind in ResourceKind::ALL {
            let Some(w) = self.watches.get_mut(&kind) else { continue };
            if !w.watch.started {
                continue;
            }
            let kind_snapshot = snapshot.kind(kind);
            let diff = w.watch.refresh_in_pass(kind_snapshot, &mut clusters);
            // First pass: what is new or changed, keeping what is going away.
            w.watch.apply(&diff.upserts, &[]);
            let due = (!diff.upserts.is_empty()).then(|| names(&diff.upserts));
            responses.extend(respond(w, kind_snapshot, due, &mut self.nonces));
            if !diff.late.is_empty() || !diff.removed.is_empty() {
                second.insert(kind, (diff.late, diff.removed));
            }
        }
        // Second pass: let go of what is gone, referrers first.
        for kind in REMOVAL_ORDER {
            let Some((late, removed)) = second.remove(&kind) else {
                continue;
            };
            let Some(w) = self.watches.get_mut(&kind) else { continue };
            w.watch.apply(&late, &removed);
            responses.extend(respond(w, snapshot.kind(kind), Some(names(&late)), &mut self.nonces));
        }
        responses
    }
}
