//! The pipeline: a [`Store`], the configuration, and the last build.

use std::collections::BTreeSet;
use std::sync::Arc;

use ingressroute_dag::{ChangedObjects, Config, Dag, IncrementalDag, ObjectRef};
use ingressroute_envoy::envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use ingressroute_envoy::{Changes, EncodedResource, EnvoyConfig, Resources, Translator};

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
/// assert!(rebuild.resources.upserts.is_empty() && pipeline.resources().is_empty());
/// ```
///
/// # Incremental rebuilds
///
/// The first build is a full one; after it, a rebuild takes in only what changed since the
/// last one (the [`Changed`] objects the store reported): the DAG walks again only the
/// roots those objects can affect ([`IncrementalDag`]), the translation translates again
/// only the virtual hosts that differ ([`Translator`]), and [`Rebuild::resources`] lists
/// the resources to add, replace or remove, encoded, for an xDS server to derive its next
/// snapshot from. The result is always what a build from scratch gives (tests check it
/// after every step of random edit sequences).
#[derive(Debug)]
pub struct Pipeline {
    store: Store,
    config: Config,
    envoy: EnvoyConfig,
    dag: Option<Arc<Dag>>,
    /// The DAG kept for incremental updates, from the first build on.
    incremental: Option<IncrementalDag>,
    /// The translation, kept per virtual host.
    translator: Translator,
    /// What changed since the last build.
    changed: Changed,
    /// Services whose endpoints changed and whose assignments were not updated yet.
    endpoints_changed: BTreeSet<ObjectRef>,
    /// What the next translation must translate again.
    pending: Pending,
}

/// What a translation has to take in.
#[derive(Debug, Default)]
enum Pending {
    /// Everything (the first build).
    #[default]
    All,
    /// The virtual hosts with these fqdns.
    Hosts(BTreeSet<String>),
}

/// What one build gives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rebuild {
    /// The DAG: virtual hosts, statuses, the delegation graph.
    pub dag: Arc<Dag>,
    /// The Envoy resources that changed, encoded: what to add or replace, and what to
    /// remove, against the previous build (everything, the first time). Every resource
    /// served now is [`Pipeline::resources`].
    pub resources: Changes,
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
            translator: Translator::new(envoy.clone()),
            envoy,
            dag: None,
            incremental: None,
            changed: Changed::default(),
            endpoints_changed: BTreeSet::new(),
            pending: Pending::All,
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
        self.endpoints_changed.extend(own.endpoints.iter().cloned());
        effect.merge(&own);
    }

    /// Builds the DAG from the objects and translates it.
    #[must_use]
    pub fn rebuild(&mut self) -> Rebuild {
        let changed = self.changed.clone();
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
        let changed = std::mem::take(&mut self.changed);
        let dag = match &mut self.incremental {
            Some(incremental) => {
                let update = incremental.update(self.store.objects(), &changed_objects(&changed));
                if let Pending::Hosts(hosts) = &mut self.pending {
                    hosts.extend(update.changes.virtual_hosts);
                }
                update.dag
            }
            None => {
                let incremental = IncrementalDag::new(self.store.objects(), &self.config);
                let dag = incremental.dag();
                self.incremental = Some(incremental);
                self.pending = Pending::All;
                dag
            }
        };
        let dag = Arc::new(dag);
        self.dag = Some(Arc::clone(&dag));
        dag
    }

    /// Translates the last build (the second half of [`Pipeline::rebuild`]): only the
    /// virtual hosts that changed since the last translation, or everything the first
    /// time. Returns the resources that changed, encoded.
    pub fn translate(&mut self, dag: &Dag) -> Changes {
        let endpoints = self.store.endpoints();
        let endpoints_changed = std::mem::take(&mut self.endpoints_changed);
        let mut changes = match std::mem::replace(&mut self.pending, Pending::Hosts(BTreeSet::new())) {
            Pending::All => return self.translator.full(dag.virtual_hosts(), endpoints),
            Pending::Hosts(hosts) => {
                let lookup = |fqdn: &str| {
                    let hosts = dag.virtual_hosts();
                    hosts
                        .binary_search_by(|v| v.fqdn.as_str().cmp(fqdn))
                        .ok()
                        .and_then(|i| hosts.get(i))
                        .map(AsRef::as_ref)
                };
                self.translator
                    .update(hosts.iter().map(String::as_str), lookup, endpoints)
            }
        };
        // Endpoints that changed since the last translation, of hosts that did not.
        if !endpoints_changed.is_empty() {
            changes.extend(self.translator.update_endpoints_of(&endpoints_changed, endpoints));
        }
        changes
    }

    /// Every resource served now (after the last translation), encoded: what a snapshot
    /// built from scratch holds.
    #[must_use]
    pub fn resources(&self) -> Vec<EncodedResource> {
        self.translator.resources()
    }

    /// How many resources of `kind` are served now.
    #[must_use]
    pub fn resource_count(&self, kind: ingressroute_envoy::ResourceKind) -> usize {
        self.translator.len(kind)
    }

    /// The last build translated from scratch, as Envoy messages (for `render` and
    /// whoever wants to read the resources rather than serve them). `None` before the
    /// first build.
    #[must_use]
    pub fn translate_all(&self) -> Option<Resources> {
        let dag = self.dag.as_ref()?;
        Some(ingressroute_envoy::translate(dag, self.store.endpoints(), &self.envoy))
    }

    /// Whether a change to the endpoints of these Services matters: some cluster of the
    /// last translation reads them. When it does, [`Pipeline::update_endpoints`] gives the
    /// new assignments; nothing needs rebuilding.
    #[must_use]
    pub fn endpoints_matter(&self, services: &BTreeSet<ObjectRef>) -> bool {
        services.iter().any(|s| self.translator.reads_endpoints_of(s))
    }

    /// The ClusterLoadAssignments of these Services, after a change of their endpoints
    /// alone: the resources that changed, encoded (nothing else changes).
    pub fn update_endpoints(&mut self, services: &BTreeSet<ObjectRef>) -> Changes {
        self.endpoints_changed.retain(|s| !services.contains(s));
        self.translator.update_endpoints_of(services, self.store.endpoints())
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

/// The store's changes as the incremental DAG takes them.
fn changed_objects(changed: &Changed) -> ChangedObjects {
    let mut objects = ChangedObjects::new();
    objects.ingress_routes.clone_from(&changed.ingress_routes);
    objects.delegations.clone_from(&changed.delegations);
    objects.services.clone_from(&changed.services);
    objects.secrets.clone_from(&changed.secrets);
    objects
}
