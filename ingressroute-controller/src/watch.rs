//! The watches: one kube-runtime [`watcher`] per kind, feeding one channel of [`Event`]s.
//!
//! Raw watcher events are used instead of reflector stores, so that no second copy of any
//! object is kept: each object is reduced here, in the watch task, to what the event loop
//! needs (no `managedFields`, no `last-applied-configuration`, only the Secret keys and
//! Service fields routing reads, endpoints as addresses), and then sent on.
//!
//! ```text
//!  IngressRoute ─────────────┐
//!  TLSCertificateDelegation ─┤
//!  Service ──────────────────┤ watcher ─▶ reduce ─▶ Event ─▶ mpsc ─▶ event loop
//!  Secret (field selector) ──┤   (list, then watch; relist on 410 Gone, backoff on errors)
//!  EndpointSlice | Endpoints ┘
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt as _;
use ingressroute_api::{IngressRoute, IngressRouteStatus, TLSCertificateDelegation, lenient};
use ingressroute_dag::ObjectRef;
use ingressroute_envoy::{Endpoint, ServiceEndpoints, error_chain};
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::api::discovery::v1 as discovery_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use kube::{Api, Client, Resource};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use ingressroute_pipeline::{Event, Kind, Object, Undecodable, missing_field_description};

use crate::metrics::Metrics;
use crate::settings::{EndpointsApi, Settings};

/// An object of kind `K` that decodes on its own: one malformed object in a list must
/// not fail the list (kube's watcher would retry it forever and see nothing else).
/// Metadata decodes apart from the rest, so a malformed object still has a name.
#[derive(Debug, Clone)]
pub(crate) struct Lenient<K> {
    metadata: ObjectMeta,
    decoded: Result<K, Failure>,
}

/// Why a [`Lenient`] object did not decode strictly, its status, and the object as sent
/// (to decode it as Contour would, see [`ingressroute_api::lenient`]).
#[derive(Debug, Clone)]
struct Failure {
    message: String,
    status: Option<IngressRouteStatus>,
    value: serde_json::Value,
}

impl<K: Resource<DynamicType = ()>> Resource for Lenient<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl<'de, K: DeserializeOwned> Deserialize<'de> for Lenient<K> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        // Without readable metadata there is no object to speak of: that fails the list
        // (and the API server never sends one).
        let metadata = match value.get("metadata") {
            Some(meta) => ObjectMeta::deserialize(meta).map_err(serde::de::Error::custom)?,
            None => ObjectMeta::default(),
        };
        let decoded = match serde_path_to_error::deserialize(&value) {
            Ok(object) => Ok(object),
            Err(error) => Err(Failure {
                message: error.to_string(),
                status: value
                    .get("status")
                    .and_then(|s| IngressRouteStatus::deserialize(s).ok()),
                value,
            }),
        };
        Ok(Self { metadata, decoded })
    }
}

impl<K> Lenient<K> {
    /// What is known of an object that does not decode.
    fn undecodable(metadata: ObjectMeta, kind: Kind, status: Option<IngressRouteStatus>, error: String) -> Object {
        Object::Undecodable(Arc::new(Undecodable::new(
            kind,
            reduce_meta(metadata, true, false),
            status,
            error,
        )))
    }
}

impl Lenient<IngressRoute> {
    /// The IngressRoute; if it does not decode strictly, decoded as Contour would: a
    /// required field missing makes it invalid (with Contour's status where the build
    /// has one), a field of the wrong type makes it undecodable.
    fn into_object(self) -> Object {
        let failure = match self.decoded {
            Ok(route) => return Object::IngressRoute(Arc::new(reduce_ingress_route(route))),
            Err(failure) => failure,
        };
        match lenient::ingress_route(&failure.value) {
            Ok(decoded) => {
                let route = Arc::new(reduce_ingress_route(decoded.object));
                match decoded.missing.first() {
                    Some(missing) => Object::RejectedIngressRoute {
                        route,
                        description: missing_field_description(missing),
                    },
                    None => Object::IngressRoute(route),
                }
            }
            Err(error) => Self::undecodable(self.metadata, Kind::IngressRoute, failure.status, error.to_string()),
        }
    }
}

impl Lenient<TLSCertificateDelegation> {
    /// The TLSCertificateDelegation, or what is known of it when it does not decode (it
    /// counts as absent then, as one the API server would reject).
    fn into_object(self) -> Object {
        match self.decoded {
            Ok(delegation) => Object::Delegation(Arc::new(reduce_delegation(delegation))),
            Err(failure) => Self::undecodable(self.metadata, Kind::Delegation, failure.status, failure.message),
        }
    }
}

/// The label that ties an EndpointSlice to its Service.
pub(crate) const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The annotation `kubectl apply` keeps a whole copy of the object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The Secret keys an IngressRoute can use.
const SECRET_KEYS: [&str; 3] = ["tls.crt", "tls.key", "ca.crt"];

/// Starts one watch task per watched kind, all sending to `events`.
pub(crate) fn spawn_all(
    client: &Client,
    settings: &Settings,
    events: &mpsc::Sender<Event>,
    metrics: &Arc<Metrics>,
) -> Vec<JoinHandle<()>> {
    let config = watcher::Config::default();
    let mut secrets = watcher::Config::default();
    if let Some(selector) = &settings.secret_field_selector {
        secrets = secrets.fields(selector);
    }
    let mut tasks = vec![
        spawn(
            Api::<Lenient<IngressRoute>>::all(client.clone()),
            config.clone(),
            Kind::IngressRoute,
            events,
            metrics,
            |r| Some(r.into_object()),
        ),
        spawn(
            Api::<Lenient<TLSCertificateDelegation>>::all(client.clone()),
            config.clone(),
            Kind::Delegation,
            events,
            metrics,
            |d| Some(d.into_object()),
        ),
        spawn(
            Api::<core_v1::Service>::all(client.clone()),
            config.clone(),
            Kind::Service,
            events,
            metrics,
            |s| Some(Object::Service(Arc::new(reduce_service(s)))),
        ),
        spawn(
            Api::<core_v1::Secret>::all(client.clone()),
            secrets,
            Kind::Secret,
            events,
            metrics,
            |s| Some(Object::Secret(Arc::new(reduce_secret(s)))),
        ),
    ];
    tasks.push(match settings.endpoints_api {
        EndpointsApi::Endpoints => spawn(
            Api::<core_v1::Endpoints>::all(client.clone()),
            config,
            Kind::Endpoints,
            events,
            metrics,
            |e| Some(Object::from_endpoints(&e)),
        ),
        EndpointsApi::EndpointSlices => spawn(
            Api::<discovery_v1::EndpointSlice>::all(client.clone()),
            config,
            Kind::Endpoints,
            events,
            metrics,
            |s| Some(reduce_endpoint_slice(&s)),
        ),
    });
    tasks
}

/// Watches one kind until the receiver goes away. Errors are logged and counted; the
/// watcher backs off and relists by itself.
fn spawn<K>(
    api: Api<K>,
    config: watcher::Config,
    kind: Kind,
    events: &mpsc::Sender<Event>,
    metrics: &Arc<Metrics>,
    reduce: fn(K) -> Option<Object>,
) -> JoinHandle<()>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let events = events.clone();
    let metrics = Arc::clone(metrics);
    tokio::spawn(async move {
        let mut stream = Box::pin(watcher(api, config).default_backoff());
        while let Some(item) = stream.next().await {
            let event = match item {
                Ok(watcher::Event::Init) => {
                    debug!(%kind, "listing");
                    Event::Init(kind)
                }
                Ok(watcher::Event::InitApply(object)) => match reduce(object) {
                    Some(object) => Event::InitApply(object),
                    None => continue,
                },
                Ok(watcher::Event::InitDone) => {
                    debug!(%kind, "listed");
                    Event::InitDone(kind)
                }
                Ok(watcher::Event::Apply(object)) => match reduce(object) {
                    Some(object) => Event::Apply(object),
                    None => continue,
                },
                Ok(watcher::Event::Delete(object)) => Event::Delete(kind, ObjectRef::from_meta(object.meta())),
                Err(error) => {
                    metrics.watch_error(kind);
                    warn!(%kind, error = %error_chain(&error), "watch failed; retrying");
                    continue;
                }
            };
            if let Event::InitApply(object) | Event::Apply(object) = &event {
                match object {
                    Object::Undecodable(undecodable) => {
                        metrics.malformed(kind);
                        warn!(%kind, object = %undecodable.key, error = %undecodable.error, "cannot decode; treated as absent");
                    }
                    Object::RejectedIngressRoute { route, description } => {
                        metrics.malformed(kind);
                        warn!(%kind, object = %ObjectRef::from_meta(&route.metadata), error = %description, "a required field is missing; invalid, not served");
                    }
                    _ => {}
                }
            }
            if events.send(event).await.is_err() {
                return;
            }
        }
    })
}

/// Metadata without what nothing here reads: managed fields, the last-applied copy,
/// owner references, labels (kept only where asked).
fn reduce_meta(meta: ObjectMeta, keep_annotations: bool, keep_labels: bool) -> ObjectMeta {
    let annotations = if keep_annotations {
        meta.annotations.map(|mut a| {
            a.remove(LAST_APPLIED);
            a
        })
    } else {
        None
    };
    ObjectMeta {
        name: meta.name,
        namespace: meta.namespace,
        resource_version: meta.resource_version,
        generation: meta.generation,
        uid: meta.uid,
        annotations,
        labels: if keep_labels { meta.labels } else { None },
        ..ObjectMeta::default()
    }
}

/// An IngressRoute without managed fields and the last-applied copy (the ingress-class
/// annotations are kept).
///
/// Every list in it is shrunk to its length: serde grows a `Vec` it decodes to at least
/// four elements, so a route's single service would otherwise take the room of four, which
/// is most of what 20 000 IngressRoutes weigh.
pub(crate) fn reduce_ingress_route(mut route: IngressRoute) -> IngressRoute {
    route.metadata = reduce_meta(route.metadata, true, false);
    let spec = &mut route.spec;
    for r in &mut spec.routes {
        r.services.shrink_to_fit();
    }
    spec.routes.shrink_to_fit();
    if let Some(proxy) = spec.tcpproxy.as_mut() {
        proxy.services.shrink_to_fit();
    }
    route
}

/// A TLSCertificateDelegation without managed fields and annotations.
pub(crate) fn reduce_delegation(mut delegation: TLSCertificateDelegation) -> TLSCertificateDelegation {
    delegation.metadata = reduce_meta(delegation.metadata, false, false);
    for d in &mut delegation.spec.delegations {
        d.target_namespaces.shrink_to_fit();
    }
    delegation.spec.delegations.shrink_to_fit();
    delegation
}

/// A Service with its annotations (upstream protocols, circuit breakers) and the spec
/// fields routing reads: type, ExternalName and ports.
pub(crate) fn reduce_service(service: core_v1::Service) -> core_v1::Service {
    let spec = service.spec.map(|spec| core_v1::ServiceSpec {
        type_: spec.type_,
        external_name: spec.external_name,
        ports: spec.ports,
        ..core_v1::ServiceSpec::default()
    });
    core_v1::Service {
        metadata: reduce_meta(service.metadata, true, false),
        spec,
        status: None,
    }
}

/// A Secret with only its type and the keys an IngressRoute can use.
pub(crate) fn reduce_secret(secret: core_v1::Secret) -> core_v1::Secret {
    fn keep<V>(map: Option<BTreeMap<String, V>>) -> Option<BTreeMap<String, V>> {
        map.map(|m| {
            m.into_iter()
                .filter(|(k, _)| SECRET_KEYS.contains(&k.as_str()))
                .collect::<BTreeMap<_, _>>()
        })
        .filter(|m| !m.is_empty())
    }
    core_v1::Secret {
        metadata: reduce_meta(secret.metadata, false, false),
        type_: secret.type_,
        data: keep(secret.data),
        string_data: keep(secret.string_data),
        immutable: None,
    }
}

/// The ready endpoints of an EndpointSlice: every address of every endpoint whose `ready`
/// condition is true or unknown, with every port whose protocol is TCP or unset. FQDN
/// slices have no IP addresses and give nothing.
pub(crate) fn reduce_endpoint_slice(slice: &discovery_v1::EndpointSlice) -> Object {
    let key = ObjectRef::from_meta(&slice.metadata);
    let service = slice
        .metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get(SERVICE_NAME_LABEL))
        .filter(|name| !name.is_empty())
        .map(|name| ObjectRef::new(key.namespace.clone(), name.clone()));
    let mut endpoints = ServiceEndpoints::new();
    if slice.address_type != "FQDN" {
        let ports: Vec<(String, i32)> = slice
            .ports
            .iter()
            .flatten()
            .filter(|p| p.protocol.as_deref().is_none_or(|proto| proto == "TCP"))
            .filter_map(|p| Some((p.name.clone().unwrap_or_default(), p.port?)))
            .collect();
        for endpoint in slice.endpoints.iter().flatten() {
            // "A nil value should be interpreted as ready" (the API's doc).
            let ready = endpoint.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            if !ready {
                continue;
            }
            for address in &endpoint.addresses {
                for (name, port) in &ports {
                    if let Some(e) = Endpoint::parse(address, *port) {
                        endpoints.add(name.clone(), e);
                    }
                }
            }
        }
    }
    Object::EndpointSlice {
        slice: key,
        service,
        endpoints,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::ByteString;

    use super::*;

    #[test]
    fn secrets_keep_only_the_keys_routing_reads() {
        let secret = core_v1::Secret {
            metadata: ObjectMeta {
                name: Some("s".into()),
                namespace: Some("ns".into()),
                annotations: Some(BTreeMap::from([(LAST_APPLIED.into(), "{...}".into())])),
                ..ObjectMeta::default()
            },
            type_: Some("kubernetes.io/tls".into()),
            data: Some(BTreeMap::from([
                ("tls.crt".into(), ByteString(b"c".to_vec())),
                ("tls.key".into(), ByteString(b"k".to_vec())),
                ("other".into(), ByteString(vec![0; 4096])),
            ])),
            ..core_v1::Secret::default()
        };
        let reduced = reduce_secret(secret);
        assert_eq!(reduced.data.unwrap().len(), 2);
        assert!(reduced.metadata.annotations.is_none());
        assert_eq!(reduced.metadata.name.as_deref(), Some("s"));
    }

    #[test]
    fn endpoint_slices_keep_ready_tcp_endpoints_of_their_service() {
        let slice = discovery_v1::EndpointSlice {
            metadata: ObjectMeta {
                name: Some("kuard-abcde".into()),
                namespace: Some("default".into()),
                labels: Some(BTreeMap::from([(SERVICE_NAME_LABEL.into(), "kuard".into())])),
                ..ObjectMeta::default()
            },
            address_type: "IPv4".into(),
            endpoints: Some(vec![
                discovery_v1::Endpoint {
                    addresses: vec!["10.0.0.1".into()],
                    ..discovery_v1::Endpoint::default()
                },
                discovery_v1::Endpoint {
                    addresses: vec!["10.0.0.2".into()],
                    conditions: Some(discovery_v1::EndpointConditions {
                        ready: Some(false),
                        ..discovery_v1::EndpointConditions::default()
                    }),
                    ..discovery_v1::Endpoint::default()
                },
            ]),
            ports: Some(vec![
                discovery_v1::EndpointPort {
                    name: Some("http".into()),
                    port: Some(8080),
                    protocol: Some("TCP".into()),
                    ..discovery_v1::EndpointPort::default()
                },
                discovery_v1::EndpointPort {
                    name: Some("dns".into()),
                    port: Some(53),
                    protocol: Some("UDP".into()),
                    ..discovery_v1::EndpointPort::default()
                },
            ]),
        };
        let Object::EndpointSlice {
            slice,
            service,
            endpoints,
        } = reduce_endpoint_slice(&slice)
        else {
            panic!("not a slice");
        };
        assert_eq!(slice, ObjectRef::new("default", "kuard-abcde"));
        assert_eq!(service, Some(ObjectRef::new("default", "kuard")));
        let http: Vec<_> = endpoints.port("http").map(|e| e.address().to_owned()).collect();
        assert_eq!(http, ["10.0.0.1"]);
        assert_eq!(endpoints.port_names().collect::<Vec<_>>(), ["http"]);
    }
}
