//! The pipeline: a [`Store`], the configuration, and the last build.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use ingressroute_dag::{Config, Dag, ObjectRef};
use ingressroute_envoy::envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use ingressroute_envoy::{EnvoyConfig, Resources};

use crate::object::Event;
use crate::status::{self, StatusWrite, StatusWrites, Statuses};
use crate::store::{Changed, Effect, Store};

/// The objects, the configuration and the last build: everything between the events a
/// front end feeds in and the resources and statuses it gets out.
///
/// ```
/// use ingressroute_pipeline::{Event, Kind, Pipeline};
/// use ingressroute_dag::Config;
/// use ingressroute_envoy::EnvoyConfig;
///
/// let mut pipeline = Pipeline::new(Config::default(), EnvoyConfig::default());
/// for kind in Kind::ALL {
///     pipeline.apply(Event::Init(kind));
///     pipeline.apply(Event::InitDone(kind));
/// }
/// assert!(pipeline.store().synced());
/// let rebuild = pipeline.rebuild();
/// assert!(rebuild.dag.virtual_hosts().is_empty());
/// rebuild.resources.check_consistency().unwrap();
/// ```
#[derive(Debug)]
pub struct Pipeline {
    store: Store,
    config: Config,
    envoy: EnvoyConfig,
    dag: Option<Arc<Dag>>,
    /// What changed since the last build.
    changed: Changed,
    /// The Services whose endpoints some ClusterLoadAssignment of the last build reads.
    eds_services: HashSet<ObjectRef>,
}

/// What one build gives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rebuild {
    /// The DAG: virtual hosts, statuses, the delegation graph.
    pub dag: Arc<Dag>,
    /// The Envoy resources translated from it.
    pub resources: Resources,
    /// The objects whose change led to this build (empty for the first build, or when
    /// something other than an object asked for it).
    pub changed: Changed,
}

impl Pipeline {
    /// An empty pipeline for these DAG and Envoy settings.
    #[must_use]
    pub fn new(config: Config, envoy: EnvoyConfig) -> Self {
        Self {
            store: Store::new(&config.ingress_class),
            config,
            envoy,
            dag: None,
            changed: Changed::default(),
            eds_services: HashSet::new(),
        }
    }

    /// The objects.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The DAG settings.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The Envoy settings.
    #[must_use]
    pub fn envoy_config(&self) -> &EnvoyConfig {
        &self.envoy
    }

    /// The last build's DAG, if there was one.
    #[must_use]
    pub fn dag(&self) -> Option<&Arc<Dag>> {
        self.dag.as_ref()
    }

    /// Applies one event; returns what it calls for.
    pub fn apply(&mut self, event: Event) -> Effect {
        let mut effect = Effect::default();
        self.apply_into(event, &mut effect);
        effect
    }

    /// Applies one event, adding what it calls for to `effect` (to act once on a batch).
    pub fn apply_into(&mut self, event: Event, effect: &mut Effect) {
        let mut own = Effect::default();
        self.store.apply(event, self.dag.as_deref(), &mut own);
        self.changed.extend(&own.changed);
        effect.merge(&own);
    }

    /// Builds the DAG from the objects and translates it.
    #[must_use]
    pub fn rebuild(&mut self) -> Rebuild {
        let changed = std::mem::take(&mut self.changed);
        let dag = self.build();
        let resources = self.translate(&dag);
        Rebuild {
            dag,
            resources,
            changed,
        }
    }

    /// Builds the DAG alone (the first half of [`Pipeline::rebuild`], for callers that
    /// time the halves); it becomes the last build, and takes in every change so far.
    pub fn build(&mut self) -> Arc<Dag> {
        self.changed = Changed::default();
        let dag = Arc::new(ingressroute_dag::build(self.store.objects(), &self.config));
        self.dag = Some(Arc::clone(&dag));
        dag
    }

    /// Translates a DAG with the store's endpoints (the second half of
    /// [`Pipeline::rebuild`]), and notes which Services' endpoints its clusters read.
    #[must_use]
    pub fn translate(&mut self, dag: &Dag) -> Resources {
        let resources = ingressroute_envoy::translate(dag, self.store.endpoints(), &self.envoy);
        self.eds_services = eds_services(&resources);
        resources
    }

    /// Whether a change to the endpoints of these Services matters: some cluster of the
    /// last build reads them. When it does, [`Pipeline::cluster_load_assignment`] gives
    /// the new assignments; nothing needs rebuilding.
    #[must_use]
    pub fn endpoints_matter(&self, services: &BTreeSet<ObjectRef>) -> bool {
        services.iter().any(|s| self.eds_services.contains(s))
    }

    /// The ClusterLoadAssignment of an EDS service name (`namespace/service[/port]`), from
    /// the current endpoints.
    #[must_use]
    pub fn cluster_load_assignment(&self, service_name: &str) -> ClusterLoadAssignment {
        self.store.endpoints().cluster_load_assignment(service_name)
    }

    /// Every status write the last build calls for (empty before the first build).
    #[must_use]
    pub fn status_writes(&self) -> StatusWrites {
        match &self.dag {
            Some(dag) => status::status_writes(dag, &self.store),
            None => StatusWrites::new(),
        }
    }

    /// The status write one IngressRoute needs now, if any.
    #[must_use]
    pub fn status_write(&self, key: &ObjectRef) -> Option<StatusWrite> {
        status::status_write(self.dag.as_deref(), &self.store, key)
    }

    /// The statuses of the last build, undecodable IngressRoutes included (empty before
    /// the first build).
    #[must_use]
    pub fn statuses(&self) -> Statuses {
        match &self.dag {
            Some(dag) => status::statuses(dag, &self.store),
            None => Statuses::new(),
        }
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
