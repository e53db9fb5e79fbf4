//! The one task that owns the objects: it feeds watch events to the
//! [`Pipeline`](ingressroute_pipeline::Pipeline), rebuilds with Contour's holdoff, publishes
//! snapshots and hands the statuses to write to the status writer.
//!
//! ```text
//!  Event ─▶ Pipeline::apply ─▶ Effect
//!              rebuild?  ── Holdoff (100 ms quiet, 500 ms max) ─▶ build ─▶ translate
//!                                                                   │
//!              endpoints? ─▶ the ClusterLoadAssignments that read   ├─▶ Snapshot ─▶ Publisher
//!                            them, recomputed in the last resources ┘
//!              routes?   ─▶ status_write (desired ≠ the object's) ─▶ PendingStatuses ─▶ writer
//! ```
//!
//! Nothing is built, published or written before every watch has listed once, so Envoy
//! never sees a partial snapshot and no status is computed from half the objects.
//!
//! What this module does **not** do: decide what a change affects, when to rebuild or
//! which status differs; `ingressroute-pipeline` does, for `ingressroute serve` too.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ingressroute_dag::{Dag, ObjectRef};
use ingressroute_envoy::Changes;
use ingressroute_pipeline::graph::ObjectGraph;
use ingressroute_pipeline::{Decision, Effect, Event, Holdoff, Object, Pipeline};
use ingressroute_xds::Publisher;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, error, info};

use crate::http::GraphRequest;
use crate::metrics::{IngressRouteGauges, Metrics};
use crate::settings;
use crate::status::PendingStatuses;

/// How many queued events are applied before acting on them.
const BATCH: usize = 1024;

/// The event loop's state.
#[derive(Debug)]
pub(crate) struct EventLoop {
    /// The objects and the last build. Its translation is not kept: Envoy's prost
    /// resources take several times the memory of the DAG and of the encoded snapshot
    /// together.
    pipeline: Pipeline,
    holdoff: settings::Holdoff,
    publisher: Publisher,
    metrics: Arc<Metrics>,
    pending: Arc<PendingStatuses>,
    ready_tx: watch::Sender<bool>,
}

/// The channels the event loop reports on.
#[derive(Debug)]
pub(crate) struct Outputs {
    /// Where snapshots go.
    pub(crate) publisher: Publisher,
    /// Where the statuses to write go.
    pub(crate) pending: Arc<PendingStatuses>,
    /// Turns true once the first snapshot is published.
    pub(crate) ready: watch::Sender<bool>,
}

/// The holdoff's clock: tokio's, so that tests with paused time control it too.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

impl EventLoop {
    /// An event loop that has seen nothing yet.
    pub(crate) fn new(
        dag_config: ingressroute_dag::Config,
        envoy_config: ingressroute_envoy::EnvoyConfig,
        holdoff: settings::Holdoff,
        outputs: Outputs,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            pipeline: Pipeline::new(dag_config, envoy_config),
            holdoff,
            publisher: outputs.publisher,
            metrics,
            pending: outputs.pending,
            ready_tx: outputs.ready,
        }
    }

    /// Runs until `shutdown` turns true or every watch has gone away; answers the graph
    /// requests of `/debug/dag` between events.
    pub(crate) async fn run(
        mut self,
        mut events: mpsc::Receiver<Event>,
        mut graphs: mpsc::Receiver<GraphRequest>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        // Contour starts the holdoff clock when the loop starts.
        let mut holdoff = Holdoff::with_delays(self.holdoff.delay, self.holdoff.max_delay, now());
        loop {
            let deadline = holdoff.deadline().map(Instant::from_std);
            let event = tokio::select! {
                biased;
                _ = shutdown.changed() => return,
                () = sleep_until(deadline), if deadline.is_some() => None,
                Some(reply) = graphs.recv() => {
                    self.answer(reply);
                    continue;
                }
                event = events.recv() => match event {
                    Some(event) => Some(event),
                    None => return,
                },
            };
            let Some(event) = event else {
                self.rebuild(&mut holdoff);
                continue;
            };
            let mut effect = Effect::default();
            self.apply(event, &mut effect);
            for _ in 1..BATCH {
                match events.try_recv() {
                    Ok(event) => self.apply(event, &mut effect),
                    Err(_) => break,
                }
            }
            self.act(&effect, &mut holdoff);
        }
    }

    /// The graph of the last build (the objects as they are now, with the statuses the
    /// last build gave them), `None` before the first build.
    fn answer(&self, reply: GraphRequest) {
        let graph = self
            .pipeline
            .dag()
            .map(|dag| blocking(|| ObjectGraph::new(self.pipeline.store().objects(), dag)));
        // The requester may have gone away.
        let _ = reply.send(graph);
    }

    fn apply(&mut self, event: Event, effect: &mut Effect) {
        let secret = match &event {
            Event::InitApply(object) | Event::Apply(object) => {
                self.metrics.event(object.kind());
                match object {
                    Object::Secret(secret) => Some(ObjectRef::from_meta(&secret.metadata)),
                    _ => None,
                }
            }
            Event::Delete(kind, _) => {
                self.metrics.event(*kind);
                None
            }
            _ => None,
        };
        self.pipeline.apply_into(event, effect);
        if let Some(key) = secret
            && let Some(error) = self.pipeline.store().unusable_secret(&key)
        {
            debug!(secret = %key, %error, "unusable secret");
        }
    }

    /// Does what a batch of events calls for.
    fn act(&mut self, effect: &Effect, holdoff: &mut Holdoff) {
        if self.pipeline.dag().is_none() {
            if self.pipeline.store().synced() {
                info!("every watch has listed; building the first snapshot");
                self.rebuild(holdoff);
            }
            return;
        }
        if effect.is_empty() {
            debug!("nothing relevant changed");
            return;
        }
        if effect.rebuild && holdoff.changed(now()) == Decision::RebuildNow {
            self.rebuild(holdoff);
            return;
        }
        if !effect.endpoints.is_empty() {
            self.update_endpoints(&effect.endpoints);
        }
        for key in &effect.routes {
            self.pending.set(key, self.pipeline.status_write(key));
        }
    }

    /// Builds the DAG, translates it and publishes the result; works out the statuses
    /// to write.
    fn rebuild(&mut self, holdoff: &mut Holdoff) {
        let started = std::time::Instant::now();
        let dag = blocking(|| self.pipeline.build());
        let built = started.elapsed();
        let (published, changed) = blocking(|| {
            let changes = self.pipeline.translate(&dag);
            let changed = changes.upserts.len() + changes.removals.len();
            (self.publish(changes, &dag), changed)
        });
        let took = started.elapsed();
        // Ready as soon as the first snapshot is out, before anything else is done.
        if self.ready_tx.send_if_modified(|ready| !std::mem::replace(ready, true)) {
            self.metrics.set_ready(true);
        }
        holdoff.rebuilt(now());
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        self.metrics.rebuilt(took, unix);
        if published {
            self.metrics.published_after_rebuild();
        }
        info!(
            build_ms = built.as_millis(),
            took_ms = took.as_millis(),
            virtual_hosts = dag.virtual_hosts().len(),
            resources_changed = changed,
            changed = published,
            "rebuilt"
        );
        self.metrics
            .set_ingress_routes(IngressRouteGauges::of(&dag, self.pipeline.store()));
        self.pending.replace_all(self.pipeline.status_writes());
    }

    /// Publishes what a translation changed, derived from the served snapshot (only the
    /// changed resources are hashed and checked); whether anything changed. An
    /// inconsistent set (a bug) is logged and the served snapshot kept.
    fn publish(&self, changes: Changes, dag: &Arc<Dag>) -> bool {
        // A NACK names the IngressRoutes behind the rejected resource, found in the DAG
        // it came from only when one happens.
        let resolver = ingressroute_pipeline::resolver(Arc::clone(dag), self.pipeline.envoy_config().clone());
        let pipeline = &self.pipeline;
        match self
            .publisher
            .publish_changes(changes.upserts, changes.removals, || pipeline.resources(), resolver)
        {
            Ok(published) => published,
            Err(error) => {
                self.metrics.snapshot_error();
                error!(error = %ingressroute_envoy::error_chain(&error), "refusing an inconsistent snapshot");
                false
            }
        }
    }

    /// Publishes the new endpoints of these Services without rebuilding or translating
    /// anything: the served snapshot's ClusterLoadAssignments are recomputed from the
    /// endpoints, everything else is kept, and only the assignments that changed are sent
    /// to Envoy (decision [D14](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d14)). Services no cluster reads change nothing and cost nothing.
    fn update_endpoints(&mut self, services: &BTreeSet<ObjectRef>) {
        if !self.pipeline.endpoints_matter(services) {
            debug!("endpoints changed that no cluster reads");
            return;
        }
        let changes = self.pipeline.update_endpoints(services);
        let Some(dag) = self.pipeline.dag().cloned() else {
            return;
        };
        let published = !changes.is_empty() && blocking(|| self.publish(changes, &dag));
        if published {
            self.metrics.published_endpoints();
            debug!(services = services.len(), "endpoints published");
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Runs CPU-heavy work without stalling the other tasks of a multi-threaded runtime.
fn blocking<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
