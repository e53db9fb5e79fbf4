//! Counters of what the server did, per type URL, for a metrics endpoint or a test.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::snapshot::{PerKind, type_url};
use ingressroute_envoy::ResourceKind;

#[derive(Debug, Default)]
struct Counters {
    pushes: AtomicU64,
    resources: AtomicU64,
    removals: AtomicU64,
    bytes: AtomicU64,
    acks: AtomicU64,
    nacks: AtomicU64,
}

/// What the server did for one type URL, counted since it started.
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

/// Counters shared by every stream of a [`Server`](crate::Server): streams connected, and
/// per type URL the responses, resources and bytes pushed and the ACKs and NACKs received.
#[derive(Debug, Default)]
pub struct Metrics {
    connected: AtomicU64,
    streams: AtomicU64,
    by_kind: PerKind<Counters>,
}

impl Metrics {
    /// The streams open now.
    #[must_use]
    pub fn connected_streams(&self) -> u64 {
        self.connected.load(Ordering::Relaxed)
    }

    /// The streams opened since the server started.
    #[must_use]
    pub fn total_streams(&self) -> u64 {
        self.streams.load(Ordering::Relaxed)
    }

    /// The counters of one kind.
    #[must_use]
    pub fn of(&self, kind: ResourceKind) -> TypeMetrics {
        let c = self.by_kind.get(kind);
        TypeMetrics {
            pushes: c.pushes.load(Ordering::Relaxed),
            resources: c.resources.load(Ordering::Relaxed),
            removals: c.removals.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            acks: c.acks.load(Ordering::Relaxed),
            nacks: c.nacks.load(Ordering::Relaxed),
        }
    }

    /// The counters of every type URL, in [`ResourceKind::ALL`] order.
    #[must_use]
    pub fn by_type_url(&self) -> Vec<(&'static str, TypeMetrics)> {
        ResourceKind::ALL
            .iter()
            .map(|kind| (type_url(*kind), self.of(*kind)))
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
        let c = self.by_kind.get(kind);
        c.pushes.fetch_add(1, Ordering::Relaxed);
        c.resources.fetch_add(as_u64(resources), Ordering::Relaxed);
        c.removals.fetch_add(as_u64(removals), Ordering::Relaxed);
        c.bytes.fetch_add(as_u64(bytes), Ordering::Relaxed);
    }

    pub(crate) fn acked(&self, kind: ResourceKind) {
        self.by_kind.get(kind).acks.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn nacked(&self, kind: ResourceKind) {
        self.by_kind.get(kind).nacks.fetch_add(1, Ordering::Relaxed);
    }
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
