//! The incremental (delta) protocol: only what changed is sent, and what went away is named
//! in `removed_resources`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::service::discovery::v3 as discovery_v3;
use tracing::debug;

use crate::Result;
use crate::callbacks::Variant;
use crate::codec::DeltaResponse;
use crate::snapshot::{Entry, KindSnapshot, REMOVAL_ORDER, Snapshot};
use crate::stream::{Observer, Protocol, next_nonce, resolve, unknown_type};
use crate::watch::Watch;
use ingressroute_envoy::ResourceKind;

/// One delta stream.
#[derive(Debug)]
pub(crate) struct Delta {
    only: Option<ResourceKind>,
    watches: BTreeMap<ResourceKind, Watch>,
    nonces: u64,
    warned: BTreeSet<String>,
}

impl Delta {
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

/// Records and builds a response of `resources` and `removed`, if there is anything to say,
/// or if this is the first answer of the type on the stream (Envoy waits for one).
fn respond(
    watch: &mut Watch,
    snapshot: &KindSnapshot,
    resources: Vec<Arc<Entry>>,
    removed: Vec<Arc<str>>,
    nonces: &mut u64,
) -> Option<DeltaResponse> {
    let first = !watch.answered;
    watch.answered = true;
    if resources.is_empty() && removed.is_empty() && !first {
        return None;
    }
    let nonce = next_nonce(nonces);
    watch.nonce = Some(nonce.clone());
    watch.version.clone_from(&snapshot.version);
    watch.in_flight = resources.iter().map(|e| Arc::clone(&e.name)).collect();
    Some(DeltaResponse {
        kind: watch.kind,
        system_version_info: snapshot.version.clone(),
        nonce,
        resources: resources.into(),
        removed: removed.into(),
    })
}

impl Protocol for Delta {
    type Request = discovery_v3::DeltaDiscoveryRequest;
    type Response = DeltaResponse;
    const VARIANT: Variant = Variant::Delta;

    fn service(&self) -> Option<ResourceKind> {
        self.only
    }

    fn node(request: &Self::Request) -> Option<&core_v3::Node> {
        request.node.as_ref()
    }

    fn on_request(
        &mut self,
        request: Self::Request,
        snapshot: Option<&Snapshot>,
        observer: &Observer<'_>,
    ) -> Result<Vec<DeltaResponse>> {
        let Some(kind) = resolve(self.only, &request.type_url)? else {
            unknown_type(&mut self.warned, &request.type_url);
            return Ok(Vec::new());
        };
        let watch = self.watches.entry(kind).or_insert_with(|| Watch::new(kind));
        if !request.response_nonce.is_empty() {
            if watch.nonce.as_deref() == Some(request.response_nonce.as_str()) {
                match &request.error_detail {
                    Some(error) => observer.nacked(watch, error, snapshot),
                    None => observer.acked(watch),
                }
            } else {
                // Its ACK or NACK is out of date, but its subscription changes still count:
                // Envoy sends them only once.
                debug!(type_url = %request.type_url, nonce = %request.response_nonce, "stale nonce");
            }
        }
        let first = !watch.started;
        watch.change_names(&request.resource_names_subscribe, &request.resource_names_unsubscribe);
        if first {
            watch.hold(request.initial_resource_versions);
        }
        let Some(snapshot) = snapshot else {
            return Ok(Vec::new());
        };
        let snapshot = snapshot.kind(kind);
        let diff = watch.refresh(snapshot);
        let mut resources = diff.upserts;
        resources.extend(diff.late);
        watch.apply(&resources, &diff.removed);
        let mut removed = diff.removed;
        removed.extend(diff.missing);
        Ok(respond(watch, snapshot, resources, removed, &mut self.nonces)
            .into_iter()
            .collect())
    }

    fn on_snapshot(&mut self, snapshot: &Snapshot) -> Vec<DeltaResponse> {
        let mut responses = Vec::new();
        let mut second = BTreeMap::new();
        let mut clusters = Vec::new();
        for kind in ResourceKind::ALL {
            let Some(watch) = self.watches.get_mut(&kind) else {
                continue;
            };
            if !watch.started {
                continue;
            }
            let kind_snapshot = snapshot.kind(kind);
            let diff = watch.refresh_in_pass(kind_snapshot, &mut clusters);
            // First pass: what is new or changed.
            watch.apply(&diff.upserts, &[]);
            responses.extend(respond(
                watch,
                kind_snapshot,
                diff.upserts,
                Vec::new(),
                &mut self.nonces,
            ));
            let mut removed = diff.removed;
            removed.extend(diff.missing);
            if !diff.late.is_empty() || !removed.is_empty() {
                second.insert(kind, (diff.late, removed));
            }
        }
        // Second pass: what went away, referrers first.
        for kind in REMOVAL_ORDER {
            let Some((late, removed)) = second.remove(&kind) else {
                continue;
            };
            let Some(watch) = self.watches.get_mut(&kind) else {
                continue;
            };
            watch.apply(&late, &removed);
            responses.extend(respond(watch, snapshot.kind(kind), late, removed, &mut self.nonces));
        }
        responses
    }
}
