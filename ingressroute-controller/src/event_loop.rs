//! The one task that owns the objects: it applies watch events, rebuilds with Contour's
//! holdoff, publishes snapshots and works out which statuses need writing.
//!
//! ```text
//!  Event ─▶ Store::apply ─▶ Effect
//!              rebuild?  ── holdoff (100 ms quiet, 500 ms max) ─▶ build ─▶ translate
//!                                                                   │
//!              endpoints? ─▶ the ClusterLoadAssignments that read   ├─▶ Snapshot ─▶ Publisher
//!                            them, recomputed in the last resources ┘
//!              routes?   ─▶ PendingSet (desired status ≠ the object's) ─▶ status writer
//! ```
//!
//! Nothing is built, published or written before every watch has listed once, so Envoy
//! never sees a partial snapshot and no status is computed from half the objects.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ingressroute_api::IngressRouteStatus;
use ingressroute_dag::{Dag, ObjectRef, build};
use ingressroute_envoy::{EnvoyConfig, Resources, translate};
use ingressroute_xds::{Publisher, Snapshot};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, error, info};

use crate::metrics::{IngressRouteGauges, Metrics};
use crate::settings::Holdoff;
use crate::status::{Pending, PendingSet, PendingStatuses};
use crate::store::{Effect, Store};
use crate::watch::{Event, Malformed};

/// How many queued events are applied before acting on them.
const BATCH: usize = 1024;

/// The event loop's state.
#[derive(Debug)]
pub(crate) struct EventLoop {
    store: Store,
    dag_config: ingressroute_dag::Config,
    envoy_config: EnvoyConfig,
    holdoff: Holdoff,
    publisher: Publisher,
    metrics: Arc<Metrics>,
    pending: Arc<PendingStatuses>,
    ready_tx: watch::Sender<bool>,
    /// The last build. Its translation is not kept: Envoy's prost resources take several
    /// times the memory of the DAG and of the encoded snapshot together.
    dag: Option<Arc<Dag>>,
    /// The Services whose endpoints some ClusterLoadAssignment of the last build reads.
    eds_services: HashSet<ObjectRef>,
    last_rebuild: Instant,
    deadline: Option<Instant>,
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

impl EventLoop {
    /// An event loop that has seen nothing yet.
    pub(crate) fn new(
        dag_config: ingressroute_dag::Config,
        envoy_config: EnvoyConfig,
        holdoff: Holdoff,
        outputs: Outputs,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store: Store::new(&dag_config.ingress_class),
            dag_config,
            envoy_config,
            holdoff,
            publisher: outputs.publisher,
            metrics,
            pending: outputs.pending,
            ready_tx: outputs.ready,
            dag: None,
            eds_services: HashSet::new(),
            last_rebuild: Instant::now(),
            deadline: None,
        }
    }

    /// Runs until `shutdown` turns true or every watch has gone away.
    pub(crate) async fn run(mut self, mut events: mpsc::Receiver<Event>, mut shutdown: watch::Receiver<bool>) {
        // Contour starts the holdoff clock when the loop starts.
        self.last_rebuild = Instant::now();
        loop {
            let deadline = self.deadline;
            let event = tokio::select! {
                biased;
                _ = shutdown.changed() => return,
                () = sleep_until(deadline), if deadline.is_some() => None,
                event = events.recv() => match event {
                    Some(event) => Some(event),
                    None => return,
                },
            };
            let Some(event) = event else {
                self.deadline = None;
                self.rebuild();
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
            self.act(&effect);
        }
    }

    fn apply(&mut self, event: Event, effect: &mut Effect) {
        if let Event::Apply { object, .. } | Event::Delete(object) = &event {
            self.metrics.event(object.kind());
        }
        self.store.apply(event, self.dag.as_deref(), effect);
    }

    /// Does what a batch of events calls for.
    fn act(&mut self, effect: &Effect) {
        if self.dag.is_none() {
            if self.store.synced() {
                info!("every watch has listed; building the first snapshot");
                self.rebuild();
                self.ready_tx.send_replace(true);
                self.metrics.set_ready(true);
            }
            return;
        }
        if effect.is_empty() {
            debug!("nothing relevant changed");
            return;
        }
        let mut rebuilt = false;
        if effect.rebuild {
            if self.last_rebuild.elapsed() > self.holdoff.max_delay {
                self.deadline = None;
                self.rebuild();
                rebuilt = true;
            } else {
                self.deadline = Some(Instant::now() + self.holdoff.delay);
            }
        }
        if !rebuilt {
            if !effect.endpoints.is_empty() {
                self.update_endpoints(&effect.endpoints);
            }
            for key in &effect.routes {
                self.refresh_pending(key);
            }
        }
    }

    /// Builds the DAG, translates it and publishes the result; works out the statuses
    /// to write.
    fn rebuild(&mut self) {
        let started = std::time::Instant::now();
        let dag = Arc::new(blocking(|| build(&self.store.objects, &self.dag_config)));
        let built = started.elapsed();
        let (published, clusters, eds_services) = blocking(|| {
            let resources = translate(&dag, &self.store.endpoints, &self.envoy_config);
            let published = self.publish(&resources, &dag);
            (published, resources.clusters.len(), eds_services(&resources))
        });
        let took = started.elapsed();
        self.last_rebuild = Instant::now();
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
            clusters,
            changed = published,
            "rebuilt"
        );
        self.metrics
            .set_ingress_routes(IngressRouteGauges::of(&dag, &self.store));
        self.eds_services = eds_services;
        self.dag = Some(dag);
        self.recompute_pending();
    }

    /// Publishes `resources`; whether anything changed. An inconsistent set (a bug) is
    /// logged and the served snapshot kept.
    fn publish(&self, resources: &Resources, dag: &Arc<Dag>) -> bool {
        match Snapshot::new(resources) {
            Ok(snapshot) => {
                // A NACK names the IngressRoutes behind the rejected resource, found in
                // the DAG it came from only when one happens.
                let dag = Arc::clone(dag);
                let envoy = self.envoy_config.clone();
                let snapshot = snapshot.with_resolver(move |kind, name| {
                    ingressroute_envoy::sources(&dag, &envoy, kind, name)
                        .iter()
                        .map(ToString::to_string)
                        .collect()
                });
                self.publisher.publish(snapshot)
            }
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
    /// to Envoy (decision D14). Services no cluster reads change nothing and cost nothing.
    fn update_endpoints(&mut self, services: &BTreeSet<ObjectRef>) {
        if !services.iter().any(|s| self.eds_services.contains(s)) {
            debug!("endpoints changed that no cluster reads");
            return;
        }
        let endpoints = &self.store.endpoints;
        let published = blocking(|| {
            self.publisher
                .publish_endpoints(|name| endpoints.cluster_load_assignment(name))
        });
        if published {
            self.metrics.published_endpoints();
            debug!(services = services.len(), "endpoints published");
        }
    }

    /// The whole pending set, after a build.
    fn recompute_pending(&mut self) {
        let Some(dag) = &self.dag else { return };
        let mut pending = PendingSet::new();
        for (key, malformed) in self.store.malformed_routes() {
            if let Some(entry) = malformed_pending(malformed) {
                pending.insert(key.clone(), entry);
            }
        }
        for (key, status) in dag.statuses() {
            let desired = status.to_api();
            let Some(route) = self.store.ingress_route(key) else {
                continue;
            };
            if route.status.as_ref() != Some(&desired) {
                pending.insert(
                    key.clone(),
                    Pending {
                        desired,
                        resource_version: route.metadata.resource_version.clone(),
                    },
                );
            }
        }
        self.pending.replace_all(pending);
    }

    /// One IngressRoute's pending status, after it changed without a build.
    fn refresh_pending(&mut self, key: &ObjectRef) {
        if let Some(malformed) = self.store.malformed_routes().get(key) {
            self.pending.set(key, malformed_pending(malformed));
            return;
        }
        let desired = self.dag.as_ref().and_then(|d| d.status(key)).map(|s| s.to_api());
        let entry = match (desired, self.store.ingress_route(key)) {
            (Some(desired), Some(route)) if route.status.as_ref() != Some(&desired) => Some(Pending {
                desired,
                resource_version: route.metadata.resource_version.clone(),
            }),
            _ => None,
        };
        self.pending.set(key, entry);
    }
}

/// The status an IngressRoute that does not decode should have, unless it has it.
fn malformed_pending(malformed: &Malformed) -> Option<Pending> {
    let desired = IngressRouteStatus {
        current_status: "invalid".to_owned(),
        description: format!("cannot decode the IngressRoute: {}", malformed.error),
    };
    (malformed.status.as_ref() != Some(&desired)).then(|| Pending {
        desired,
        resource_version: malformed.metadata.resource_version.clone(),
    })
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

/// The Services whose endpoints the ClusterLoadAssignments read: their names are
/// `namespace/service[/port]` (never hashed; no part can hold a `/`).
fn eds_services(resources: &Resources) -> HashSet<ObjectRef> {
    resources
        .endpoints
        .iter()
        .filter_map(|assignment| {
            let mut parts = assignment.cluster_name.splitn(3, '/');
            Some(ObjectRef::new(parts.next()?, parts.next()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eds_names_name_their_service() {
        let mut resources = Resources::default();
        for name in ["default/kuard/http", "default/plain", "apps/web/https"] {
            resources.endpoints.push(ingressroute_envoy_cla(name));
        }
        let services = eds_services(&resources);
        assert_eq!(services.len(), 3);
        assert!(services.contains(&ObjectRef::new("default", "kuard")));
        assert!(services.contains(&ObjectRef::new("default", "plain")));
    }

    fn ingressroute_envoy_cla(name: &str) -> envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment {
        envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment {
            cluster_name: name.into(),
            ..Default::default()
        }
    }
}
