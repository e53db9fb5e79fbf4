//! The xDS services mounted on a tonic server the caller builds, next to a gRPC service of
//! its own (the standard health service): both answer on the same port, and ending the
//! streams lets the caller's server shut down gracefully.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use envoy_types::pb::envoy::service::cluster::v3::cluster_discovery_service_client::ClusterDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use ingressroute_envoy::{ResourceKind, Resources};
use ingressroute_xds::tonic::transport::Server;
use ingressroute_xds::tonic::transport::server::Router;
use ingressroute_xds::{Publisher, Services};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_server::HealthServer};

const PATIENCE: Duration = Duration::from_secs(10);

/// The caller's own gRPC service: the standard health service, reporting "shop" serving.
async fn health_service() -> HealthServer<impl tonic_health::pb::health_server::Health> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("shop", tonic_health::ServingStatus::Serving)
        .await;
    health
}

/// Serves the caller's `router` on a free loopback port until `stop` fires; then the xDS
/// streams are ended, as a caller does.
async fn serve(
    router: Router,
    xds: Services,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    JoinHandle<Result<(), tonic::transport::Error>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(
        router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
            let _ = stopped.await;
            xds.end_streams();
        }),
    );
    (address, stop, serving)
}

async fn channel(address: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn health_of(channel: Channel, service: &str) -> ServingStatus {
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap();
    response.into_inner().status()
}

/// The answer to a first SotW request for clusters on ADS.
async fn clusters_over_ads(
    channel: Channel,
) -> (
    tonic::Streaming<envoy_types::pb::envoy::service::discovery::v3::DiscoveryResponse>,
    tokio::sync::mpsc::Sender<DiscoveryRequest>,
    usize,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(DiscoveryRequest {
        type_url: ResourceKind::Cluster.type_url(),
        ..DiscoveryRequest::default()
    })
    .await
    .unwrap();
    let mut inbound = AggregatedDiscoveryServiceClient::new(channel)
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let response = tokio::time::timeout(PATIENCE, inbound.message())
        .await
        .expect("an answer in time")
        .unwrap()
        .expect("a response");
    assert_eq!(response.type_url, ResourceKind::Cluster.type_url());
    (inbound, tx, response.resources.len())
}

#[tokio::test]
async fn ads_added_to_the_callers_router_answers_on_the_port_of_the_callers_health_service() {
    let publisher = Publisher::new();
    publisher.publish_resources(&Resources::default()).unwrap();
    let xds = Services::new(publisher.snapshots(), ());
    let router = xds.add_to(Server::builder().add_service(health_service().await));
    let (address, stop, serving) = serve(router, xds).await;
    let channel = channel(address).await;

    assert_eq!(health_of(channel.clone(), "shop").await, ServingStatus::Serving);
    let (mut inbound, _requests, resources) = clusters_over_ads(channel.clone()).await;
    assert_eq!(resources, 0);
    // A single-type service is mounted too.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(DiscoveryRequest::default()).await.unwrap();
    let mut cds = ClusterDiscoveryServiceClient::new(channel)
        .stream_clusters(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let response = tokio::time::timeout(PATIENCE, cds.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(response.type_url, ResourceKind::Cluster.type_url());

    // The caller's graceful shutdown ends the open xDS streams and returns.
    let _ = stop.send(());
    tokio::time::timeout(PATIENCE, serving)
        .await
        .expect("the caller's server stops once the streams end")
        .unwrap()
        .unwrap();
    let end = tokio::time::timeout(PATIENCE, inbound.message()).await.unwrap();
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
}

#[tokio::test]
async fn the_services_as_routes_serve_next_to_the_callers_service_too() {
    let publisher = Publisher::new();
    publisher.publish_resources(&Resources::default()).unwrap();
    let xds = Services::new(publisher.snapshots(), ());
    let router = Server::builder()
        .add_routes(xds.to_routes())
        .add_service(health_service().await);
    let (address, stop, serving) = serve(router, xds).await;
    let channel = channel(address).await;
    assert_eq!(health_of(channel.clone(), "shop").await, ServingStatus::Serving);
    let (_inbound, _requests, _) = clusters_over_ads(channel).await;
    let _ = stop.send(());
    tokio::time::timeout(PATIENCE, serving).await.unwrap().unwrap().unwrap();
}
