//! The xDS server's side of the controller's metrics: `XdsCallbacks` hears what the
//! server does (through `ingressroute_xds::Callbacks`) and counts it in [`Metrics`], which
//! keeps it in an [`XdsMetrics`] and exposes it as the `ingressroute_xds_*` families.
//! NACKs are also logged, with the IngressRoutes behind the rejected resources.
//!
//! ```text
//!   xDS stream ──on_stream_opened/closed, on_response, on_ack, on_nack──▶ XdsCallbacks
//!                                                                           │
//!                          Metrics::xds_* ◀─────────────────────────────────┘
//!                              │
//!                          XdsMetrics (per type URL) ──▶ /metrics
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ingressroute_envoy::ResourceKind;
use ingressroute_xds::{Ack, Callbacks, Nack, Response, StreamInfo};

use crate::metrics::Metrics;

#[derive(Debug, Default)]
struct Counters {
    pushes: AtomicU64,
    resources: AtomicU64,
    removals: AtomicU64,
    bytes: AtomicU64,
    acks: AtomicU64,
    nacks: AtomicU64,
}

/// What the xDS server did for one type URL, counted since the controller started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypeMetrics {
    /// Responses sent.
    pub pushes: u64,
    /// Resources those responses carried.
    pub resources: u64,
    /// Names sent in `removed_resources` (delta streams).
    pub removals: u64,
    /// Encoded bytes of those responses.
    pub bytes: u64,
    /// Responses Envoy accepted.
    pub acks: u64,
    /// Responses Envoy rejected (a request with `error_detail`).
    pub nacks: u64,
}

/// The xDS counters: streams connected, and per type URL the responses, resources and
/// bytes pushed and the ACKs and NACKs received.
#[derive(Debug, Default)]
pub struct XdsMetrics {
    connected: AtomicU64,
    streams: AtomicU64,
    by_kind: [Counters; ResourceKind::ALL.len()],
}

/// Where `kind` is counted: its position in `ResourceKind::ALL`, which lists every kind.
fn index(kind: ResourceKind) -> usize {
    ResourceKind::ALL.iter().position(|k| *k == kind).unwrap_or_default()
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl XdsMetrics {
    /// The streams open now.
    #[must_use]
    pub fn connected_streams(&self) -> u64 {
        self.connected.load(Ordering::Relaxed)
    }

    /// The streams opened since the controller started.
    #[must_use]
    pub fn total_streams(&self) -> u64 {
        self.streams.load(Ordering::Relaxed)
    }

    fn counters(&self, kind: ResourceKind) -> Option<&Counters> {
        self.by_kind.get(index(kind))
    }

    /// The counters of one kind.
    #[must_use]
    pub fn of(&self, kind: ResourceKind) -> TypeMetrics {
        let Some(c) = self.counters(kind) else {
            return TypeMetrics::default();
        };
        TypeMetrics {
            pushes: c.pushes.load(Ordering::Relaxed),
            resources: c.resources.load(Ordering::Relaxed),
            removals: c.removals.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            acks: c.acks.load(Ordering::Relaxed),
            nacks: c.nacks.load(Ordering::Relaxed),
        }
    }

    /// The counters of every type URL, in `ResourceKind::ALL` order.
    #[must_use]
    pub fn by_type_url(&self) -> Vec<(String, TypeMetrics)> {
        ResourceKind::ALL
            .iter()
            .map(|kind| (kind.type_url(), self.of(*kind)))
            .collect()
    }

    pub(crate) fn stream_opened(&self) {
        self.connected.fetch_add(1, Ordering::Relaxed);
        self.streams.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stream_closed(&self) {
        self.connected.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn pushed(&self, kind: ResourceKind, resources: usize, removals: usize, bytes: usize) {
        if let Some(c) = self.counters(kind) {
            c.pushes.fetch_add(1, Ordering::Relaxed);
            c.resources.fetch_add(as_u64(resources), Ordering::Relaxed);
            c.removals.fetch_add(as_u64(removals), Ordering::Relaxed);
            c.bytes.fetch_add(as_u64(bytes), Ordering::Relaxed);
        }
    }

    pub(crate) fn acked(&self, kind: ResourceKind) {
        if let Some(c) = self.counters(kind) {
            c.acks.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn nacked(&self, kind: ResourceKind) {
        if let Some(c) = self.counters(kind) {
            c.nacks.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The xDS server's callbacks: count in the controller's [`Metrics`], and log NACKs.
#[derive(Debug, Clone)]
pub(crate) struct XdsCallbacks(pub(crate) Arc<Metrics>);

impl Callbacks for XdsCallbacks {
    fn on_stream_opened(&self, _stream: &StreamInfo) {
        self.0.xds_stream_opened();
    }

    fn on_stream_closed(&self, _stream: &StreamInfo) {
        self.0.xds_stream_closed();
    }

    fn on_response(&self, _stream: &StreamInfo, response: &Response) {
        self.0
            .xds_pushed(response.kind, response.resources, response.removals, response.bytes);
    }

    fn on_ack(&self, _stream: &StreamInfo, ack: &Ack) {
        self.0.xds_acked(ack.kind);
    }

    fn on_nack(&self, stream: &StreamInfo, nack: &Nack<'_>) {
        self.0.xds_nacked(nack.kind());
        nack.log(stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_pushes_acks_and_nacks_are_counted_and_rendered_per_type_url() {
        let metrics = Metrics::default();
        let xds = metrics.xds();
        assert_eq!(xds.by_type_url().len(), ResourceKind::ALL.len());
        assert_eq!(xds.of(ResourceKind::Cluster), TypeMetrics::default());
        metrics.xds_stream_opened();
        metrics.xds_pushed(ResourceKind::Cluster, 3, 1, 120);
        metrics.xds_acked(ResourceKind::Cluster);
        metrics.xds_nacked(ResourceKind::Secret);
        assert_eq!(xds.connected_streams(), 1);
        metrics.xds_stream_closed();
        assert_eq!((xds.connected_streams(), xds.total_streams()), (0, 1));
        let clusters = xds.of(ResourceKind::Cluster);
        assert_eq!(
            (clusters.pushes, clusters.resources, clusters.removals, clusters.bytes),
            (1, 3, 1, 120)
        );
        assert_eq!((clusters.acks, clusters.nacks), (1, 0));
        assert_eq!(xds.of(ResourceKind::Secret).nacks, 1);
        let text = metrics.render();
        assert!(text.contains(&format!(
            "ingressroute_xds_pushed_bytes_total{{type_url=\"{}\"}} 120\n",
            ResourceKind::Cluster.type_url()
        )));
    }
}
