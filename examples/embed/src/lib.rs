//! An IngressRoute controller of your own, built from the public API of the ingressroute
//! crates alone, on a Kubernetes version of its own choosing (k8s-openapi's `v1_33`).
//!
//! ```text
//!  manifests (YAML)                                  your tonic Router (one port)
//!    │ objects()                                       ├─ grpc.health.v1.Health  (ours: READY)
//!    ▼                                                 └─ xDS: ADS, LDS, RDS, ... ◀── Envoy
//!  relist() ─▶ Event ─▶ mpsc ─▶ Controller::run                      ▲
//!                                 │ Pipeline::apply                  │ Snapshots
//!                                 │ Holdoff (told the time)          │
//!                                 ▼                                  │
//!                               Pipeline::rebuild ─▶ Resources ─▶ Publisher
//!                                 │
//!                                 └─▶ statuses ─▶ status_changes ─▶ printed
//! ```
//!
//! The front end here reads files; a real one would feed the same [`Event`]s from a
//! Kubernetes watch (kube-runtime's `watcher` events map one to one) and write the
//! statuses back instead of printing them. Nothing here reaches into the crates beyond
//! their public API.
//!
//! What it does not do: watch a cluster, write statuses, or serve TLS to Envoy.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use ingressroute_api::{API_VERSION, lenient};
use ingressroute_dag::Config;
use ingressroute_envoy::{Changes, EnvoyConfig, ResourceKind};
use ingressroute_pipeline::{Decision, Holdoff, Pipeline, Statuses, Undecodable, status_changes};
use ingressroute_xds::tonic::transport::Server;
use ingressroute_xds::{Publisher, Services};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};

pub use ingressroute_pipeline::{Event, Kind, Object};

/// The health service name that is `SERVING` once the first snapshot is published (and
/// `NOT_SERVING` before): what a readiness probe of this controller asks for.
pub const READY: &str = "ingressroute-embed";

/// What can go wrong in this controller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The manifests are not YAML.
    #[error("the manifests are not valid YAML")]
    Yaml(#[source] serde_saphyr::Error),
    /// A document of the manifests is not an object the pipeline takes.
    #[error("document {document}: {message}")]
    Document {
        /// Its position, from 1.
        document: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A build gave resources that do not refer to each other consistently (a bug of
    /// the translation; the snapshot Envoy has is kept).
    #[error("cannot publish the build")]
    Publish(#[source] ingressroute_xds::Error),
    /// The statuses could not be written out.
    #[error("cannot print the statuses")]
    Print(#[source] std::io::Error),
    /// The gRPC server failed.
    #[error("the gRPC server failed")]
    Serve(#[source] ingressroute_xds::tonic::transport::Error),
}

/// The objects of a YAML stream of manifests (`---`-separated documents): IngressRoutes,
/// TLSCertificateDelegations, Services, Secrets and `v1` Endpoints. A document without a
/// namespace is in `default`, as `kubectl apply` puts it.
///
/// An IngressRoute the API server would refuse still becomes an object, so that it gets a
/// status: one that lacks a required field is decoded leniently (as Contour's Go structs
/// decode it) and one with a field of the wrong type becomes [`Undecodable`].
///
/// # Errors
///
/// [`Error::Yaml`] when the text is not YAML, [`Error::Document`] for a document of
/// another kind, or one of our kinds that does not decode.
pub fn objects(yaml: &str) -> Result<Vec<Object>, Error> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(yaml).map_err(Error::Yaml)?;
    let mut objects = Vec::new();
    for (index, mut document) in documents.into_iter().enumerate() {
        if document.is_null() {
            continue;
        }
        let error = |message: String| Error::Document {
            document: index + 1,
            message,
        };
        if let Some(metadata) = document.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.entry("namespace").or_insert_with(|| Value::from("default"));
        }
        let text = |key: &str| document.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (api_version, kind) = (text("apiVersion"), text("kind"));
        let object = match (api_version.as_str(), kind.as_str()) {
            (API_VERSION, "IngressRoute") => ingress_route(&document).map_err(error)?,
            (API_VERSION, "TLSCertificateDelegation") => Object::Delegation(Arc::new(decode(document).map_err(error)?)),
            ("v1", "Service") => Object::Service(Arc::new(decode(document).map_err(error)?)),
            ("v1", "Secret") => Object::Secret(Arc::new(decode(document).map_err(error)?)),
            ("v1", "Endpoints") => Object::from_endpoints(&decode(document).map_err(error)?),
            _ => return Err(error(format!("{api_version} {kind} is not an input of the pipeline"))),
        };
        objects.push(object);
    }
    Ok(objects)
}

fn decode<T: serde::de::DeserializeOwned>(document: Value) -> Result<T, String> {
    serde_json::from_value(document).map_err(|e| e.to_string())
}

/// Strictly, else leniently, else as an [`Undecodable`] IngressRoute.
fn ingress_route(document: &Value) -> Result<Object, String> {
    let route = match lenient::ingress_route(document) {
        Ok(decoded) => match decoded.missing.first() {
            None => Object::IngressRoute(Arc::new(decoded.object)),
            Some(field) => Object::RejectedIngressRoute {
                route: Arc::new(decoded.object),
                description: format!("cannot decode the IngressRoute: {field}: missing field"),
            },
        },
        Err(error) => {
            let metadata: ObjectMeta = document
                .get("metadata")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| format!("metadata: {e}"))?
                .unwrap_or_default();
            let status = document
                .get("status")
                .cloned()
                .and_then(|status| serde_json::from_value(status).ok());
            Object::Undecodable(Arc::new(Undecodable::new(
                Kind::IngressRoute,
                metadata,
                status,
                error.to_string(),
            )))
        }
    };
    Ok(route)
}

/// A whole (re)list of every kind, as a watch starts: `Init`, the objects of that kind,
/// `InitDone`. Sent again with other objects, it replaces them: the store works out what
/// changed.
#[must_use]
pub fn relist(objects: &[Object]) -> Vec<Event> {
    let mut events = Vec::new();
    for kind in Kind::ALL {
        events.push(Event::Init(kind));
        events.extend(
            objects
                .iter()
                .filter(|object| object.kind() == kind)
                .map(|object| Event::InitApply(object.clone())),
        );
        events.push(Event::InitDone(kind));
    }
    events
}

/// The controller: the pipeline, what it publishes to Envoy, and its readiness.
#[derive(Debug)]
pub struct Controller {
    pipeline: Pipeline,
    publisher: Publisher,
    health: HealthReporter,
    /// The statuses last printed.
    statuses: Statuses,
}

impl Controller {
    /// A controller with these DAG and Envoy settings; nothing is served to Envoy before
    /// its first build.
    #[must_use]
    pub fn new(config: Config, envoy: EnvoyConfig) -> Self {
        Self {
            pipeline: Pipeline::new(config, envoy),
            publisher: Publisher::new(),
            health: HealthReporter::new(),
            statuses: Statuses::new(),
        }
    }

    /// The gRPC services of this controller, to serve (see [`Grpc::serve`]) while it runs.
    #[must_use]
    pub fn grpc(&self) -> Grpc {
        Grpc {
            xds: Services::new(self.publisher.snapshots(), ()),
            health: self.health.clone(),
        }
    }

    /// Applies `events` until their channel closes. Once every kind has been listed, a
    /// change rebuilds with Contour's holdoff; each build is published to Envoy and the
    /// status of every IngressRoute whose status changed is written to `out`, one line
    /// each (`default/web: valid: valid IngressRoute`). A change of endpoints that no
    /// route uses rebuilds nothing; one that a cluster reads only republishes endpoints.
    ///
    /// # Errors
    ///
    /// [`Error::Publish`] if a build is inconsistent, [`Error::Print`] if `out` fails.
    pub async fn run(mut self, mut events: mpsc::Receiver<Event>, mut out: impl Write) -> Result<(), Error> {
        self.health.set_service_status(READY, ServingStatus::NotServing).await;
        let mut holdoff = Holdoff::new(Instant::now());
        loop {
            let due = holdoff.deadline();
            let event = tokio::select! {
                event = events.recv() => event,
                () = sleep_until(due), if due.is_some() => {
                    self.rebuild(&mut out).await?;
                    holdoff.rebuilt(Instant::now());
                    continue;
                }
            };
            let Some(event) = event else { return Ok(()) };
            let effect = self.pipeline.apply(event);
            if !self.pipeline.store().synced() {
                continue;
            }
            if effect.rebuild || self.pipeline.dag().is_none() {
                let now = Instant::now();
                if matches!(holdoff.changed(now), Decision::RebuildNow) {
                    self.rebuild(&mut out).await?;
                    holdoff.rebuilt(now);
                }
            } else if self.pipeline.endpoints_matter(&effect.endpoints) {
                let changes = self.pipeline.update_endpoints(&effect.endpoints);
                self.publish(changes)?;
            }
        }
    }

    /// Publishes what changed, derived from the served snapshot (or everything, the first
    /// time).
    fn publish(&self, changes: Changes) -> Result<bool, Error> {
        let pipeline = &self.pipeline;
        let resolver = |_: ResourceKind, _: &str| Vec::new();
        self.publisher
            .publish_changes(changes.upserts, changes.removals, || pipeline.resources(), resolver)
            .map_err(Error::Publish)
    }

    async fn rebuild(&mut self, out: &mut impl Write) -> Result<(), Error> {
        let rebuild = self.pipeline.rebuild();
        self.publish(rebuild.resources)?;
        self.health.set_service_status(READY, ServingStatus::Serving).await;
        let statuses = self.pipeline.statuses();
        for change in status_changes(&self.statuses, &statuses) {
            writeln!(out, "{change}").map_err(Error::Print)?;
        }
        out.flush().map_err(Error::Print)?;
        self.statuses = statuses;
        Ok(())
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// The gRPC services of a [`Controller`]: the standard health service (ours) and the xDS
/// services, on one tonic router.
#[derive(Debug, Clone)]
pub struct Grpc {
    xds: Services,
    health: HealthReporter,
}

impl Grpc {
    /// Serves both on `listener` until `shutdown` completes; then ends the xDS streams
    /// (which never end by themselves) so that the server can stop.
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] when the server fails.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let health = HealthServer::new(HealthService::from_health_reporter(self.health));
        let router = self.xds.add_to(Server::builder().add_service(health));
        let xds = self.xds;
        router
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
                shutdown.await;
                xds.end_streams();
            })
            .await
            .map_err(Error::Serve)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_without_a_namespace_is_in_default_and_empty_documents_are_skipped() {
        let objects = objects("---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\n").unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].kind(), Kind::Service);
        assert_eq!(objects[0].key().to_string(), "default/web");
    }

    #[test]
    fn an_ingress_route_that_does_not_decode_still_becomes_an_object() {
        let yaml = "apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: broken, namespace: team}
spec:
  virtualhost: {fqdn: a.example.com}
  routes: [{match: /, services: [{name: web, port: eighty}]}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: lacking, namespace: team}
spec:
  routes: [{services: [{name: web, port: 80}]}]
";
        let objects = objects(yaml).unwrap();
        let [
            Object::Undecodable(broken),
            Object::RejectedIngressRoute { description, .. },
        ] = objects.as_slice()
        else {
            panic!("{objects:?}");
        };
        assert_eq!(broken.key.to_string(), "team/broken");
        assert!(
            broken.error.starts_with("spec.routes[0].services[0].port"),
            "{}",
            broken.error
        );
        assert_eq!(
            description,
            "cannot decode the IngressRoute: spec.routes[0].match: missing field"
        );
    }

    #[test]
    fn a_kind_the_pipeline_does_not_take_is_an_error_naming_the_document() {
        let error = objects("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\n")
            .unwrap_err();
        assert_eq!(error.to_string(), "document 2: v1 Pod is not an input of the pipeline");
    }

    #[test]
    fn a_relist_lists_every_kind_with_its_objects() {
        let objects = objects("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n").unwrap();
        let events = relist(&objects);
        assert_eq!(events.len(), 2 * Kind::ALL.len() + 1);
        let service = events
            .iter()
            .position(|event| matches!(event, Event::InitApply(Object::Service(_))))
            .unwrap();
        assert!(matches!(events[service - 1], Event::Init(Kind::Service)));
        assert!(matches!(events[service + 1], Event::InitDone(Kind::Service)));
    }
}
