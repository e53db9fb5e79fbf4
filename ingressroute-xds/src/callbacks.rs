//! What the server tells its owner while it serves: streams opened and closed, responses
//! sent, and Envoy's ACKs and NACKs. The owner decides what to do with them (count them
//! as metrics, log them); the server itself neither counts nor logs them above `DEBUG`.
//!
//! ```text
//!   Envoy ──request──▶ stream task ──▶ on_stream_opened (first request: node id known)
//!                          │        ──▶ on_ack / on_nack (a request answering the latest
//!                          │             response of its type)
//!   Envoy ◀──response──────┤        ──▶ on_response (type, version, counts, bytes)
//!                          └─ ends  ──▶ on_stream_closed
//! ```
//!
//! Every method has an empty default, so an implementation names only what it wants. They
//! run on the stream's task, between two responses: keep them short (a counter, a log
//! line), and hand anything slow to a task of your own.

use std::collections::BTreeSet;
use std::sync::Arc;

use ingressroute_envoy::ResourceKind;

use crate::snapshot::{Entry, Snapshot};

/// Which flavour of the xDS protocol a stream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// State of the world (`Stream*` methods): a listener or cluster response carries
    /// everything subscribed of its type; other types carry what changed.
    StateOfTheWorld,
    /// Incremental (`Delta*` methods): only what changed, and the names removed.
    Delta,
}

/// One gRPC stream, as the callbacks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamInfo {
    /// Unique among the streams of one server.
    pub id: u64,
    /// The type of the single-type service the stream is on (LDS, RDS, CDS, EDS, SDS),
    /// or `None` on the aggregated service (ADS).
    pub service: Option<ResourceKind>,
    /// State of the world or delta.
    pub variant: Variant,
    /// The node id Envoy sent (`--service-node`, or the bootstrap's `node.id`), when the
    /// stream's first request had one.
    pub node: Option<String>,
}

/// A response the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    /// The type of its resources.
    pub kind: ResourceKind,
    /// Its `version_info` (state of the world) or `system_version_info` (delta).
    pub version: String,
    /// Its nonce.
    pub nonce: String,
    /// The resources it carried.
    pub resources: usize,
    /// The names in its `removed_resources` (delta streams; 0 on state of the world).
    pub removals: usize,
    /// Its encoded size in bytes (the gRPC message, without framing).
    pub bytes: usize,
    /// What it carried and removed, by name: shared with the response, not copied.
    pub(crate) carried: Carried,
}

impl Response {
    /// The names of the resources it carried, in the order sent.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.carried.resources.iter().map(|entry| &*entry.name)
    }

    /// The names in its `removed_resources` (delta streams; none on state of the world).
    pub fn removed(&self) -> impl Iterator<Item = &str> {
        self.carried.removed.iter().map(|name| &**name)
    }
}

/// The resources a [`Response`] carried and the names it removed.
#[derive(Clone)]
pub(crate) struct Carried {
    pub(crate) resources: Arc<[Arc<Entry>]>,
    pub(crate) removed: Arc<[Arc<str>]>,
}

impl std::fmt::Debug for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Carried")
            .field(
                "resources",
                &self.resources.iter().map(|e| &*e.name).collect::<Vec<_>>(),
            )
            .field("removed", &self.removed)
            .finish()
    }
}

impl PartialEq for Carried {
    fn eq(&self, other: &Self) -> bool {
        self.removed == other.removed
            && self.resources.len() == other.resources.len()
            && self
                .resources
                .iter()
                .zip(other.resources.iter())
                .all(|(a, b)| a.name == b.name && a.version == b.version)
    }
}

impl Eq for Carried {}

/// Envoy accepted the latest response of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ack {
    /// The type of the response.
    pub kind: ResourceKind,
    /// The version of the response accepted (see [`Response::version`]).
    pub version: String,
    /// The nonce of the response accepted.
    pub nonce: String,
}

/// Envoy rejected the latest response of a type and keeps its last good configuration.
///
/// The objects behind the rejected resources (for example the IngressRoutes that produced
/// them) are found only when asked for, with [`Nack::sources`].
#[derive(Debug, Clone, Copy)]
pub struct Nack<'a> {
    pub(crate) kind: ResourceKind,
    pub(crate) version: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) code: i32,
    pub(crate) message: &'a str,
    pub(crate) rejected: &'a [Arc<str>],
    pub(crate) snapshot: Option<&'a Snapshot>,
}

impl<'a> Nack<'a> {
    /// The type of the rejected response.
    #[must_use]
    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    /// The version of the rejected response.
    #[must_use]
    pub fn version(&self) -> &'a str {
        self.version
    }

    /// The nonce of the rejected response.
    #[must_use]
    pub fn nonce(&self) -> &'a str {
        self.nonce
    }

    /// The gRPC status code of Envoy's `error_detail`.
    #[must_use]
    pub fn code(&self) -> i32 {
        self.code
    }

    /// Envoy's message: why it rejected the response.
    #[must_use]
    pub fn message(&self) -> &'a str {
        self.message
    }

    /// The names of the resources the rejected response sent anew (on state of the world,
    /// those that changed since the last accepted response: the likely culprits).
    pub fn rejected(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        self.rejected.iter().map(AsRef::as_ref)
    }

    /// The objects behind the rejected resources, sorted and without repeats: those the
    /// served snapshot was given with [`Snapshot::with_source`] or finds with its
    /// [resolver](Snapshot::with_resolver). Worked out on each call.
    #[must_use]
    pub fn sources(&self) -> BTreeSet<String> {
        let mut sources = BTreeSet::new();
        if let Some(snapshot) = self.snapshot {
            for name in self.rejected {
                sources.extend(snapshot.sources(self.kind, name));
            }
        }
        sources
    }

    /// Logs this NACK as one `WARN` line (target `ingressroute_xds::callbacks`): the node,
    /// the type, nonce and code, Envoy's message, the first [`Nack::NAMES_LOGGED`] rejected
    /// resources (and how many more) and the objects behind them. What the controller and
    /// `ingressroute serve` do with a NACK; an owner calls it from [`Callbacks::on_nack`].
    pub fn log(&self, stream: &StreamInfo) {
        let rejected: Vec<&str> = self.rejected().take(Self::NAMES_LOGGED).collect();
        tracing::warn!(
            node = stream.node.as_deref().unwrap_or_default(),
            type_url = %self.kind().type_url(),
            nonce = self.nonce(),
            code = self.code(),
            error = %self.message(),
            rejected = ?rejected,
            more_rejected = self.rejected().len().saturating_sub(Self::NAMES_LOGGED),
            ingressroutes = ?self.sources(),
            "envoy rejected a response (NACK) and keeps its last good configuration",
        );
    }

    /// How many rejected resource names [`Nack::log`] lists before it just counts the rest.
    pub const NAMES_LOGGED: usize = 16;
}

/// What the owner of a server is told while it serves (go-control-plane's `Callbacks`).
/// Every method does nothing unless implemented.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use ingressroute_xds::{Callbacks, Nack, StreamInfo};
///
/// #[derive(Debug, Default)]
/// struct CountNacks(AtomicU64);
///
/// impl Callbacks for CountNacks {
///     fn on_nack(&self, _stream: &StreamInfo, nack: &Nack<'_>) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         eprintln!("{} rejected: {} (from {:?})", nack.kind(), nack.message(), nack.sources());
///     }
/// }
/// ```
pub trait Callbacks: Send + Sync + 'static {
    /// A stream sent its first request (which names Envoy's node, usually).
    fn on_stream_opened(&self, stream: &StreamInfo) {
        let _ = stream;
    }

    /// A stream that was opened ended: Envoy went away, the stream failed, or the server
    /// is shutting down.
    fn on_stream_closed(&self, stream: &StreamInfo) {
        let _ = stream;
    }

    /// A response was handed to the stream.
    fn on_response(&self, stream: &StreamInfo, response: &Response) {
        let _ = (stream, response);
    }

    /// Envoy accepted the latest response of a type.
    fn on_ack(&self, stream: &StreamInfo, ack: &Ack) {
        let _ = (stream, ack);
    }

    /// Envoy rejected the latest response of a type. The rejected versions are not sent
    /// again; the next change is.
    fn on_nack(&self, stream: &StreamInfo, nack: &Nack<'_>) {
        let _ = (stream, nack);
    }
}

/// No callbacks.
impl Callbacks for () {}

impl<C: Callbacks + ?Sized> Callbacks for Arc<C> {
    fn on_stream_opened(&self, stream: &StreamInfo) {
        (**self).on_stream_opened(stream);
    }

    fn on_stream_closed(&self, stream: &StreamInfo) {
        (**self).on_stream_closed(stream);
    }

    fn on_response(&self, stream: &StreamInfo, response: &Response) {
        (**self).on_response(stream, response);
    }

    fn on_ack(&self, stream: &StreamInfo, ack: &Ack) {
        (**self).on_ack(stream, ack);
    }

    fn on_nack(&self, stream: &StreamInfo, nack: &Nack<'_>) {
        (**self).on_nack(stream, nack);
    }
}
