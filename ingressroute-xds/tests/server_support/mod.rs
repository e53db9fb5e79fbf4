//! A server on loopback and clients that speak to it like Envoy, for the feature tests of
//! the xDS server: objects in (a [`World`](crate::support::World)), requests, responses
//! compared.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use envoy_types::pb::envoy::config::listener::v3 as listener_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::google::protobuf::Any;
use envoy_types::pb::google::rpc;
use ingressroute_envoy::{ResourceKind, Resources};
use ingressroute_xds::{Ack, Callbacks, Nack, Publisher, Response, Server, StreamInfo};
use prost::{Message, Name};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;

/// How long a test waits for a response that must come.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);
/// How long a test waits to be sure nothing comes.
pub(crate) const QUIET: Duration = Duration::from_millis(300);

/// The server, on a free loopback port, and the publisher feeding it.
pub(crate) struct Xds {
    pub(crate) publisher: Publisher,
    pub(crate) address: SocketAddr,
    pub(crate) metrics: Arc<Recorder>,
    stop: Option<oneshot::Sender<()>>,
    serving: JoinHandle<Result<(), ingressroute_xds::Error>>,
}

impl Xds {
    /// A server with nothing published yet.
    pub(crate) async fn start() -> Self {
        let publisher = Publisher::new();
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), publisher.snapshots())
            .await
            .unwrap();
        let metrics = Arc::new(Recorder::default());
        let server = server.with_callbacks(Arc::clone(&metrics));
        let address = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Self {
            publisher,
            address,
            metrics,
            stop: Some(stop),
            serving,
        }
    }

    /// A server serving `resources`.
    pub(crate) async fn serving(resources: &Resources) -> Self {
        let xds = Self::start().await;
        assert!(xds.publish(resources));
        xds
    }

    /// Publishes `resources`; whether anything changed.
    pub(crate) fn publish(&self, resources: &Resources) -> bool {
        self.publisher.publish_resources(resources).unwrap()
    }

    /// A channel to the server.
    pub(crate) async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// A new SotW ADS stream.
    pub(crate) async fn ads(&self) -> Sotw {
        let mut client =
            AggregatedDiscoveryServiceClient::new(self.channel().await).max_decoding_message_size(usize::MAX);
        let (tx, rx) = mpsc::channel(16);
        let inbound = client
            .stream_aggregated_resources(ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        Sotw { tx, inbound }
    }

    /// A new delta ADS stream.
    pub(crate) async fn delta(&self) -> Delta {
        let mut client =
            AggregatedDiscoveryServiceClient::new(self.channel().await).max_decoding_message_size(usize::MAX);
        let (tx, rx) = mpsc::channel(16);
        let inbound = client
            .delta_aggregated_resources(ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        Delta { tx, inbound }
    }

    /// Stops the server and waits until `serve` returns.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.serving)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
    }
}

/// Per type, what the callbacks were told.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TypeCounts {
    pub(crate) pushes: u64,
    pub(crate) resources: u64,
    pub(crate) removals: u64,
    pub(crate) bytes: u64,
    pub(crate) acks: u64,
    pub(crate) nacks: u64,
}

/// A NACK as the callbacks saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeenNack {
    pub(crate) stream: StreamInfo,
    pub(crate) kind: ResourceKind,
    pub(crate) version: String,
    pub(crate) code: i32,
    pub(crate) message: String,
    pub(crate) rejected: Vec<String>,
    pub(crate) sources: Vec<String>,
}

/// Callbacks that record everything they are told.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    counts: Mutex<std::collections::BTreeMap<ResourceKind, TypeCounts>>,
    pub(crate) opened: Mutex<Vec<StreamInfo>>,
    pub(crate) closed: Mutex<Vec<StreamInfo>>,
    pub(crate) responses: Mutex<Vec<(StreamInfo, Response)>>,
    pub(crate) acks: Mutex<Vec<(StreamInfo, Ack)>>,
    pub(crate) nacks: Mutex<Vec<SeenNack>>,
}

impl Recorder {
    fn count(&self, kind: ResourceKind, f: impl FnOnce(&mut TypeCounts)) {
        f(self.counts.lock().unwrap().entry(kind).or_default());
    }

    /// The counts of one type.
    pub(crate) fn of(&self, kind: ResourceKind) -> TypeCounts {
        self.counts.lock().unwrap().get(&kind).copied().unwrap_or_default()
    }

    /// The counts of every type, by type URL.
    pub(crate) fn by_type_url(&self) -> Vec<(String, TypeCounts)> {
        ResourceKind::ALL.iter().map(|k| (k.type_url(), self.of(*k))).collect()
    }

    /// Streams opened and not closed.
    pub(crate) fn connected_streams(&self) -> usize {
        self.opened.lock().unwrap().len() - self.closed.lock().unwrap().len()
    }

    /// Streams opened.
    pub(crate) fn total_streams(&self) -> usize {
        self.opened.lock().unwrap().len()
    }
}

impl Callbacks for Recorder {
    fn on_stream_opened(&self, stream: &StreamInfo) {
        self.opened.lock().unwrap().push(stream.clone());
    }

    fn on_stream_closed(&self, stream: &StreamInfo) {
        self.closed.lock().unwrap().push(stream.clone());
    }

    fn on_response(&self, stream: &StreamInfo, response: &Response) {
        self.count(response.kind, |c| {
            c.pushes += 1;
            c.resources += response.resources as u64;
            c.removals += response.removals as u64;
            c.bytes += response.bytes as u64;
        });
        self.responses.lock().unwrap().push((stream.clone(), response.clone()));
    }

    fn on_ack(&self, stream: &StreamInfo, ack: &Ack) {
        self.count(ack.kind, |c| c.acks += 1);
        self.acks.lock().unwrap().push((stream.clone(), ack.clone()));
    }

    fn on_nack(&self, stream: &StreamInfo, nack: &Nack<'_>) {
        self.count(nack.kind(), |c| c.nacks += 1);
        self.nacks.lock().unwrap().push(SeenNack {
            stream: stream.clone(),
            kind: nack.kind(),
            version: nack.version().to_owned(),
            code: nack.code(),
            message: nack.message().to_owned(),
            rejected: nack.rejected().map(str::to_owned).collect(),
            sources: nack.sources().into_iter().collect(),
        });
    }
}

/// A SotW stream, on ADS or on one type's service.
pub(crate) struct Sotw {
    pub(crate) tx: mpsc::Sender<DiscoveryRequest>,
    pub(crate) inbound: Streaming<DiscoveryResponse>,
}

impl Sotw {
    /// Sends a request.
    pub(crate) async fn send(&self, request: DiscoveryRequest) {
        self.tx.send(request).await.unwrap();
    }

    /// The next response, which must come.
    pub(crate) async fn recv(&mut self) -> DiscoveryResponse {
        tokio::time::timeout(PATIENCE, self.inbound.message())
            .await
            .expect("a response in time")
            .expect("no error")
            .expect("the stream is open")
    }

    /// Asserts that nothing comes for a while.
    pub(crate) async fn silent(&mut self) {
        if let Ok(message) = tokio::time::timeout(QUIET, self.inbound.message()).await {
            panic!("expected nothing, got {:?}", message.map(|m| m.map(|r| summary(&r))));
        }
    }

    /// Asks for `kind` (names, or wildcard when empty) and returns the answer.
    pub(crate) async fn subscribe(&mut self, kind: ResourceKind, names: &[&str]) -> DiscoveryResponse {
        self.send(request(kind, names)).await;
        self.recv().await
    }

    /// ACKs `response`, keeping the subscription `names`.
    pub(crate) async fn ack(&self, response: &DiscoveryResponse, names: &[&str]) {
        self.send(ack(response, names)).await;
    }
}

/// A delta stream.
pub(crate) struct Delta {
    pub(crate) tx: mpsc::Sender<DeltaDiscoveryRequest>,
    pub(crate) inbound: Streaming<DeltaDiscoveryResponse>,
}

impl Delta {
    /// Sends a request.
    pub(crate) async fn send(&self, request: DeltaDiscoveryRequest) {
        self.tx.send(request).await.unwrap();
    }

    /// The next response, which must come.
    pub(crate) async fn recv(&mut self) -> DeltaDiscoveryResponse {
        tokio::time::timeout(PATIENCE, self.inbound.message())
            .await
            .expect("a response in time")
            .expect("no error")
            .expect("the stream is open")
    }

    /// Asserts that nothing comes for a while.
    pub(crate) async fn silent(&mut self) {
        if let Ok(message) = tokio::time::timeout(QUIET, self.inbound.message()).await {
            panic!(
                "expected nothing, got {:?}",
                message.map(|m| m.map(|r| delta_summary(&r)))
            );
        }
    }

    /// Subscribes to `names` of `kind` (the legacy wildcard when empty) and returns the
    /// answer.
    pub(crate) async fn subscribe(&mut self, kind: ResourceKind, names: &[&str]) -> DeltaDiscoveryResponse {
        self.send(delta_request(kind, names, &[])).await;
        self.recv().await
    }

    /// ACKs `response`.
    pub(crate) async fn ack(&self, response: &DeltaDiscoveryResponse) {
        self.send(delta_ack(response)).await;
    }
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// A first SotW request for `names` of `kind`.
pub(crate) fn request(kind: ResourceKind, names: &[&str]) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: kind.type_url(),
        resource_names: strings(names),
        node: Some(envoy_types::pb::envoy::config::core::v3::Node {
            id: "test-envoy".into(),
            cluster: "test".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The ACK of `response`.
pub(crate) fn ack(response: &DiscoveryResponse, names: &[&str]) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: response.type_url.clone(),
        version_info: response.version_info.clone(),
        response_nonce: response.nonce.clone(),
        resource_names: strings(names),
        ..Default::default()
    }
}

/// The NACK of `response` by an Envoy that had `version_info` before.
pub(crate) fn nack(
    response: &DiscoveryResponse,
    version_info: &str,
    names: &[&str],
    message: &str,
) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: response.type_url.clone(),
        version_info: version_info.into(),
        response_nonce: response.nonce.clone(),
        resource_names: strings(names),
        error_detail: Some(rpc::Status {
            code: 3,
            message: message.into(),
            details: Vec::new(),
        }),
        ..Default::default()
    }
}

/// A delta request.
pub(crate) fn delta_request(kind: ResourceKind, subscribe: &[&str], unsubscribe: &[&str]) -> DeltaDiscoveryRequest {
    DeltaDiscoveryRequest {
        type_url: kind.type_url(),
        resource_names_subscribe: strings(subscribe),
        resource_names_unsubscribe: strings(unsubscribe),
        ..Default::default()
    }
}

/// The delta ACK of `response`.
pub(crate) fn delta_ack(response: &DeltaDiscoveryResponse) -> DeltaDiscoveryRequest {
    DeltaDiscoveryRequest {
        type_url: response.type_url.clone(),
        response_nonce: response.nonce.clone(),
        ..Default::default()
    }
}

/// The kind of a type URL.
pub(crate) fn kind(type_url: &str) -> ResourceKind {
    ResourceKind::ALL
        .into_iter()
        .find(|k| k.type_url() == type_url)
        .unwrap_or_else(|| panic!("unknown type {type_url}"))
}

/// The name inside a packed resource.
pub(crate) fn resource_name(any: &Any) -> String {
    let value = any.value.as_slice();
    match kind(&any.type_url) {
        ResourceKind::Listener => listener_v3::Listener::decode(value).unwrap().name,
        ResourceKind::RouteConfiguration => route_v3::RouteConfiguration::decode(value).unwrap().name,
        ResourceKind::ScopedRouteConfiguration => route_v3::ScopedRouteConfiguration::decode(value).unwrap().name,
        ResourceKind::Cluster => cluster_v3::Cluster::decode(value).unwrap().name,
        ResourceKind::ClusterLoadAssignment => endpoint_v3::ClusterLoadAssignment::decode(value).unwrap().cluster_name,
        ResourceKind::Secret => tls_v3::Secret::decode(value).unwrap().name,
        other => panic!("unexpected {other}"),
    }
}

/// The names of the resources of a SotW response.
pub(crate) fn names(response: &DiscoveryResponse) -> Vec<String> {
    response.resources.iter().map(resource_name).collect()
}

/// The names of the resources of a delta response.
pub(crate) fn delta_names(response: &DeltaDiscoveryResponse) -> Vec<String> {
    response
        .resources
        .iter()
        .map(|r| {
            let name = resource_name(r.resource.as_ref().unwrap());
            assert_eq!(name, r.name, "a delta resource is named as what it holds");
            name
        })
        .collect()
}

/// `kind: [names]` of a SotW response, for messages and comparisons.
pub(crate) fn summary(response: &DiscoveryResponse) -> (ResourceKind, Vec<String>) {
    (kind(&response.type_url), names(response))
}

/// `kind: [names] - [removed]` of a delta response.
pub(crate) fn delta_summary(response: &DeltaDiscoveryResponse) -> (ResourceKind, Vec<String>, Vec<String>) {
    (
        kind(&response.type_url),
        delta_names(response),
        response.removed_resources.clone(),
    )
}

/// The `ClusterLoadAssignment` named `name` of a SotW EDS response.
pub(crate) fn assignment(response: &DiscoveryResponse, name: &str) -> endpoint_v3::ClusterLoadAssignment {
    response
        .resources
        .iter()
        .map(|any| endpoint_v3::ClusterLoadAssignment::decode(any.value.as_slice()).unwrap())
        .find(|cla| cla.cluster_name == name)
        .unwrap_or_else(|| panic!("no assignment {name}"))
}

/// The addresses of an assignment, as `ip:port`.
pub(crate) fn addresses(cla: &endpoint_v3::ClusterLoadAssignment) -> Vec<String> {
    use envoy_types::pb::envoy::config::core::v3 as core_v3;
    let mut out = Vec::new();
    for locality in &cla.endpoints {
        for lb in &locality.lb_endpoints {
            let Some(endpoint_v3::lb_endpoint::HostIdentifier::Endpoint(endpoint)) = &lb.host_identifier else {
                continue;
            };
            let Some(core_v3::address::Address::SocketAddress(socket)) =
                endpoint.address.as_ref().and_then(|a| a.address.as_ref())
            else {
                continue;
            };
            let Some(core_v3::socket_address::PortSpecifier::PortValue(port)) = socket.port_specifier else {
                continue;
            };
            out.push(format!("{}:{port}", socket.address));
        }
    }
    out
}

/// Whether `M` is the message of `kind`.
pub(crate) fn is<M: Name>(kind: ResourceKind) -> bool {
    M::type_url() == kind.type_url()
}

// ----- worlds ------------------------------------------------------------------------------

use crate::support::{World, kube_service, svc};

/// kuard.example.com: `/` to kuard and `/api` to api, each with one endpoint (`api_ip`).
/// Plain HTTP in Contour's one `ingress_http` route configuration, which the protocol
/// tests name (route buckets have their own tests).
pub(crate) fn shop_with(api_ip: &str) -> World {
    shop_at("10.0.0.1", api_ip)
}

/// [`shop_with`], kuard's endpoint at `kuard_ip`.
pub(crate) fn shop_at(kuard_ip: &str, api_ip: &str) -> World {
    World::new()
        .with_config(|c| c.http_routes = ingressroute_envoy::HttpRoutes::Single)
        .root("default/kuard", "kuard.example.com")
        .route("/", svc("kuard", 80))
        .route("/api", svc("api", 80))
        .service(kube_service("default/kuard").port(80))
        .service(kube_service("default/api").port(80))
        .endpoints("default/kuard", &[("", &[kuard_ip], 8080)])
        .endpoints("default/api", &[("", &[api_ip], 8080)])
}

/// [`shop_with`] its first api address.
pub(crate) fn shop() -> World {
    shop_with("10.0.0.2")
}

/// [`shop`] and a TLS virtual host, secure.example.com, to kuard.
pub(crate) fn secure_shop() -> World {
    shop()
        .root("default/secure", "secure.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .tls_secret("default/tls")
}

/// The names of `kind` in `resources`, owned.
pub(crate) fn all(resources: &Resources, kind: ResourceKind) -> Vec<String> {
    resources.names(kind).into_iter().map(str::to_owned).collect()
}

/// The one name of `kind` in `resources` that contains `part`.
pub(crate) fn named(resources: &Resources, kind: ResourceKind, part: &str) -> String {
    let found: Vec<String> = all(resources, kind).into_iter().filter(|n| n.contains(part)).collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind} containing {part:?} in {:?}",
        all(resources, kind)
    );
    found.into_iter().next().unwrap()
}
