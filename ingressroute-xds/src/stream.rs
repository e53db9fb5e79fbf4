//! One task per gRPC stream: it reads requests and snapshot changes, asks the protocol
//! (SotW or delta) what to send, and sends it.

use std::collections::BTreeSet;
use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::google::rpc;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use tracing::{Instrument, debug, warn};

use crate::callbacks::{Ack, Callbacks, Nack, Response, StreamInfo, Variant};
use crate::codec::{Encode, Pushed};
use crate::snapshot::{Slot, Snapshot, kind_of, type_url};
use crate::watch::Watch;
use crate::{Error, Result};
use ingressroute_envoy::ResourceKind;

/// Responses a stream may have queued before it waits for Envoy to read them.
const QUEUE: usize = 16;

/// A variant of the xDS protocol, as a state machine of one stream.
pub(crate) trait Protocol: Send + 'static {
    /// What Envoy sends.
    type Request: prost::Message + Default + Send + 'static;
    /// What the server sends.
    type Response: Encode + Pushed + Send + 'static;
    /// Which flavour this is.
    const VARIANT: Variant;

    /// The type of the single-type service the stream is on, `None` on ADS.
    fn service(&self) -> Option<ResourceKind>;

    /// The node of a request (Envoy sends it on the first one).
    fn node(request: &Self::Request) -> Option<&core_v3::Node>;

    /// Handles one request against `snapshot`, the one the stream last took in (`None`
    /// before the first publish).
    fn on_request(
        &mut self,
        request: Self::Request,
        snapshot: Option<&Snapshot>,
        observer: &Observer<'_>,
    ) -> Result<Vec<Self::Response>>;

    /// Takes in a new snapshot: what to send, in order.
    fn on_snapshot(&mut self, snapshot: &Snapshot) -> Vec<Self::Response>;
}

/// What every stream of a server shares.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) snapshots: watch::Receiver<Slot>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) callbacks: Arc<dyn Callbacks>,
}

impl std::fmt::Debug for dyn Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Callbacks")
    }
}

/// What a protocol reports ACKs and NACKs to: the callbacks, and the stream they concern.
pub(crate) struct Observer<'a> {
    callbacks: &'a dyn Callbacks,
    stream: &'a StreamInfo,
}

impl Observer<'_> {
    /// Envoy accepted the latest response of `watch`'s type.
    pub(crate) fn acked(&self, watch: &Watch) {
        self.callbacks.on_ack(
            self.stream,
            &Ack {
                kind: watch.kind,
                version: watch.version.clone(),
                nonce: watch.nonce.clone().unwrap_or_default(),
            },
        );
    }

    /// Envoy rejected the latest response of `watch`'s type.
    pub(crate) fn nacked(&self, watch: &Watch, error: &rpc::Status, snapshot: Option<&Snapshot>) {
        debug!(
            type_url = type_url(watch.kind),
            nonce = watch.nonce.as_deref().unwrap_or_default(),
            code = error.code,
            error = %error.message,
            rejected = watch.in_flight.len(),
            "envoy rejected a response (NACK)",
        );
        self.callbacks.on_nack(
            self.stream,
            &Nack {
                kind: watch.kind,
                version: &watch.version,
                nonce: watch.nonce.as_deref().unwrap_or_default(),
                code: error.code,
                message: &error.message,
                rejected: &watch.in_flight,
                snapshot,
            },
        );
    }
}

/// Starts the task of one stream and returns its responses.
pub(crate) fn spawn<P: Protocol>(
    protocol: P,
    inbound: Streaming<P::Request>,
    context: Context,
    id: u64,
) -> ReceiverStream<Result<P::Response, Status>> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let span = tracing::info_span!("xds_stream", id, node = tracing::field::Empty);
    tokio::spawn(drive(protocol, inbound, context, tx, id).instrument(span));
    ReceiverStream::new(rx)
}

/// Reports a stream closed when it ends, if it was reported opened (even if its task
/// panics).
struct Closer {
    callbacks: Arc<dyn Callbacks>,
    opened: Option<StreamInfo>,
}

impl Drop for Closer {
    fn drop(&mut self) {
        if let Some(stream) = self.opened.take() {
            self.callbacks.on_stream_closed(&stream);
        }
    }
}

async fn drive<P: Protocol>(
    protocol: P,
    inbound: Streaming<P::Request>,
    context: Context,
    tx: mpsc::Sender<Result<P::Response, Status>>,
    id: u64,
) {
    let stream = StreamInfo {
        id,
        service: protocol.service(),
        variant: P::VARIANT,
        node: None,
    };
    debug!("stream opened");
    if let Err(error) = run(protocol, inbound, context, stream, &tx).await {
        warn!(error = %ingressroute_envoy::error_chain(&error), "ending the stream");
        let _ = tx.send(Err(Status::from(error))).await;
    }
    debug!("stream closed");
}

async fn run<P: Protocol>(
    mut protocol: P,
    mut inbound: Streaming<P::Request>,
    context: Context,
    mut stream: StreamInfo,
    tx: &mpsc::Sender<Result<P::Response, Status>>,
) -> Result<()> {
    let Context {
        mut snapshots,
        mut shutdown,
        callbacks,
    } = context;
    let mut closer = Closer {
        callbacks: Arc::clone(&callbacks),
        opened: None,
    };
    // Requests are answered from the snapshot the stream last took in, never a newer one:
    // a newer one is taken in whole, in make-before-break order, by `on_snapshot`.
    let mut current = snapshots.borrow_and_update().clone();
    // The snapshot `current` replaced, kept until the responses to the new one are sent.
    let mut retired: Slot = None;
    let mut publisher_gone = false;
    loop {
        let responses = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            () = tx.closed() => return Ok(()),
            changed = snapshots.changed(), if !publisher_gone => {
                if changed.is_err() {
                    // Every publisher is gone: keep serving the last snapshot.
                    publisher_gone = true;
                    continue;
                }
                let next = snapshots.borrow_and_update().clone();
                retired = std::mem::replace(&mut current, next);
                match &current {
                    Some(snapshot) => protocol.on_snapshot(snapshot),
                    None => Vec::new(),
                }
            }
            message = inbound.message() => match message {
                Ok(Some(request)) => {
                    if closer.opened.is_none() {
                        if let Some(node) = P::node(&request) {
                            tracing::Span::current().record("node", node.id.as_str());
                            debug!(cluster = %node.cluster, "node identified");
                            stream.node = Some(node.id.clone());
                        }
                        callbacks.on_stream_opened(&stream);
                        closer.opened = Some(stream.clone());
                    }
                    let observer = Observer {
                        callbacks: callbacks.as_ref(),
                        stream: &stream,
                    };
                    protocol.on_request(request, current.as_deref(), &observer)?
                }
                Ok(None) => return Ok(()),
                Err(status) => {
                    debug!(%status, "the client ended the stream");
                    return Ok(());
                }
            },
        };
        for response in responses {
            callbacks.on_response(
                &stream,
                &Response {
                    kind: response.kind(),
                    version: response.version().to_owned(),
                    nonce: response.nonce().to_owned(),
                    resources: response.resource_count(),
                    removals: response.removal_count(),
                    bytes: response.encoded_len(),
                    carried: response.carried(),
                },
            );
            if tx.send(Ok(response)).await.is_err() {
                return Ok(());
            }
        }
        retire(retired.take());
    }
}

/// Drops a snapshot a stream no longer serves. The last holder of one frees what only it
/// held (the changed resources, and whatever its resolver keeps, such as a DAG), which
/// can take tens of milliseconds: that happens on a blocking thread, so the stream and
/// its runtime worker go on at once.
fn retire(snapshot: Slot) {
    match snapshot {
        Some(snapshot) if Arc::strong_count(&snapshot) == 1 => {
            // Without a runtime (never, in a server) it is dropped here.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                drop(runtime.spawn_blocking(move || drop(snapshot)));
            }
        }
        _ => {}
    }
}

/// The kind a request's type URL names on a service serving `only` (or every kind).
/// `Ok(None)` for a type this server does not serve, on the aggregated service.
pub(crate) fn resolve(only: Option<ResourceKind>, url: &str) -> Result<Option<ResourceKind>> {
    match only {
        Some(kind) if url.is_empty() || url == type_url(kind) => Ok(Some(kind)),
        Some(kind) => Err(Error::WrongTypeUrl {
            expected: kind,
            type_url: url.to_owned(),
        }),
        None if url.is_empty() => Err(Error::MissingTypeUrl),
        None => Ok(kind_of(url)),
    }
}

/// Warns, once per stream and type URL, that a type is not served.
pub(crate) fn unknown_type(warned: &mut BTreeSet<String>, url: &str) {
    if warned.insert(url.to_owned()) {
        warn!(
            type_url = url,
            "envoy asked for a type this server does not serve; it is not answered"
        );
    }
}

/// A fresh nonce of a stream.
pub(crate) fn next_nonce(counter: &mut u64) -> String {
    *counter += 1;
    counter.to_string()
}
