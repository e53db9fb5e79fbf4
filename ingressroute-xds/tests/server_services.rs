//! Feature tests of the xDS server's services and transport: the separate LDS, RDS, CDS,
//! EDS and SDS services, errors, message sizes, metrics and shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod server_support;
#[path = "../../ingressroute-envoy/tests/support/mod.rs"]
mod support;

use envoy_types::pb::envoy::service::cluster::v3::cluster_discovery_service_client::ClusterDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use envoy_types::pb::envoy::service::endpoint::v3::endpoint_discovery_service_client::EndpointDiscoveryServiceClient;
use envoy_types::pb::envoy::service::listener::v3::listener_discovery_service_client::ListenerDiscoveryServiceClient;
use envoy_types::pb::envoy::service::route::v3::route_discovery_service_client::RouteDiscoveryServiceClient;
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_client::SecretDiscoveryServiceClient;
use ingressroute_envoy::ResourceKind::{self, Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, Secret};
use server_support::*;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Opens a SotW stream with `$client`'s `$method` on `$xds`.
macro_rules! sotw {
    ($xds:expr, $client:ident, $method:ident) => {{
        let mut client = $client::new($xds.channel().await);
        let (tx, rx) = mpsc::channel(16);
        let inbound = client.$method(ReceiverStream::new(rx)).await.unwrap().into_inner();
        Sotw { tx, inbound }
    }};
}

#[tokio::test]
async fn the_separate_listener_cluster_and_endpoint_services_serve_their_type() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;

    let mut lds = sotw!(xds, ListenerDiscoveryServiceClient, stream_listeners);
    assert_eq!(
        summary(&lds.subscribe(Listener, &[]).await),
        (Listener, vec!["ingress_http".to_owned()])
    );

    let mut cds = sotw!(xds, ClusterDiscoveryServiceClient, stream_clusters);
    assert_eq!(names(&cds.subscribe(Cluster, &[]).await), all(&resources, Cluster));

    let mut eds = sotw!(xds, EndpointDiscoveryServiceClient, stream_endpoints);
    let kuard = named(&resources, ClusterLoadAssignment, "kuard");
    let response = eds.subscribe(ClusterLoadAssignment, &[&kuard]).await;
    assert_eq!(names(&response), std::slice::from_ref(&kuard));
    eds.ack(&response, &[&kuard]).await;

    // A change reaches the separate stream too, and only the one it concerns.
    assert!(xds.publish(&shop_with("10.0.0.3").translate()));
    lds.silent().await;
    cds.silent().await;
    eds.silent().await;
    assert_eq!(xds.metrics.connected_streams(), 3);
}

#[tokio::test]
async fn the_separate_route_and_secret_services_serve_their_type() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut rds = sotw!(xds, RouteDiscoveryServiceClient, stream_routes);
    let response = rds.subscribe(RouteConfiguration, &["ingress_http"]).await;
    assert_eq!(names(&response), ["ingress_http"]);
    let mut sds = sotw!(xds, SecretDiscoveryServiceClient, stream_secrets);
    let secret = named(&resources, Secret, "tls");
    assert_eq!(names(&sds.subscribe(Secret, &[&secret]).await), [secret]);
}

#[tokio::test]
async fn a_request_without_a_type_url_takes_the_type_of_its_service() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut cds = sotw!(xds, ClusterDiscoveryServiceClient, stream_clusters);
    cds.send(DiscoveryRequest::default()).await;
    assert_eq!(names(&cds.recv().await), all(&resources, Cluster));
}

#[tokio::test]
async fn the_separate_delta_service_sends_changes_only() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut client = EndpointDiscoveryServiceClient::new(xds.channel().await);
    let (tx, rx) = mpsc::channel(16);
    let inbound = client
        .delta_endpoints(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let mut eds = Delta { tx, inbound };
    let names = all(&resources, ClusterLoadAssignment);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let response = eds.subscribe(ClusterLoadAssignment, &names).await;
    eds.ack(&response).await;
    assert!(xds.publish(&shop_with("10.0.0.3").translate()));
    let api = named(&resources, ClusterLoadAssignment, "api");
    assert_eq!(
        delta_summary(&eds.recv().await),
        (ClusterLoadAssignment, vec![api], vec![])
    );
}

#[tokio::test]
async fn another_type_on_a_single_type_service_ends_the_stream_as_invalid_argument() {
    let xds = Xds::serving(&shop().translate()).await;
    let mut lds = sotw!(xds, ListenerDiscoveryServiceClient, stream_listeners);
    lds.send(request(Cluster, &[])).await;
    let status = tokio::time::timeout(PATIENCE, lds.inbound.message())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("listener"), "{}", status.message());
}

#[tokio::test]
async fn a_request_without_a_type_url_on_ads_ends_the_stream_as_invalid_argument() {
    let xds = Xds::serving(&shop().translate()).await;
    let mut delta = xds.delta().await;
    delta.send(DeltaDiscoveryRequest::default()).await;
    let status = tokio::time::timeout(PATIENCE, delta.inbound.message())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn a_type_the_server_does_not_serve_is_not_answered_and_the_others_still_are() {
    let xds = Xds::serving(&shop().translate()).await;
    let mut ads = xds.ads().await;
    ads.send(DiscoveryRequest {
        type_url: "type.googleapis.com/envoy.config.route.v3.VirtualHost".into(),
        ..Default::default()
    })
    .await;
    ads.silent().await;
    assert_eq!(summary(&ads.subscribe(Listener, &[]).await).0, Listener);
}

#[tokio::test]
async fn fetch_is_unimplemented() {
    let xds = Xds::serving(&shop().translate()).await;
    let mut client = ClusterDiscoveryServiceClient::new(xds.channel().await);
    let status = client.fetch_clusters(request(Cluster, &[])).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);
}

#[tokio::test]
async fn requests_larger_than_grpcs_default_four_mebibytes_are_accepted() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut client = AggregatedDiscoveryServiceClient::new(xds.channel().await).max_decoding_message_size(usize::MAX);
    let (tx, rx) = mpsc::channel(16);
    let mut inbound = client
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<String> = (0..60_000)
        .map(|i| format!("namespace-{i:05}/{}", "x".repeat(80)))
        .collect();
    names.push(named(&resources, ClusterLoadAssignment, "kuard"));
    let request = DiscoveryRequest {
        type_url: ClusterLoadAssignment.type_url(),
        resource_names: names,
        ..Default::default()
    };
    assert!(prost::Message::encoded_len(&request) > 4 << 20);
    tx.send(request).await.unwrap();
    let response = tokio::time::timeout(PATIENCE, inbound.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(response.resources.len(), 60_001);
}

#[tokio::test]
async fn callbacks_count_streams_pushes_and_bytes_per_type() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let cds = ads.subscribe(Cluster, &[]).await;
    let lds = ads.subscribe(Listener, &[]).await;
    assert_eq!(xds.metrics.connected_streams(), 1);
    let clusters = xds.metrics.of(Cluster);
    assert_eq!(clusters.pushes, 1);
    assert_eq!(clusters.resources, 2);
    assert_eq!(clusters.bytes, prost::Message::encoded_len(&cds) as u64);
    assert_eq!(xds.metrics.of(Listener).bytes, prost::Message::encoded_len(&lds) as u64);
    let by_url = xds.metrics.by_type_url();
    assert_eq!(by_url.len(), ResourceKind::ALL.len());
    assert!(
        by_url
            .iter()
            .any(|(url, m)| *url == Cluster.type_url() && m.pushes == 1)
    );

    drop(ads);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while xds.metrics.connected_streams() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(xds.metrics.connected_streams(), 0);
    assert_eq!(xds.metrics.total_streams(), 1);
}

/// Waits until the recorder saw `count` streams closed.
async fn closed_streams(xds: &Xds, count: usize) -> Vec<ingressroute_xds::StreamInfo> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while xds.metrics.closed.lock().unwrap().len() < count && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    xds.metrics.closed.lock().unwrap().clone()
}

#[tokio::test]
async fn the_callbacks_hear_of_each_stream_with_its_service_variant_and_node() {
    use ingressroute_xds::Variant;
    let xds = Xds::serving(&shop().translate()).await;
    let mut lds = sotw!(xds, ListenerDiscoveryServiceClient, stream_listeners);
    let _ = lds.subscribe(Listener, &[]).await;
    let mut delta = xds.delta().await;
    let _ = delta.subscribe(Cluster, &[]).await;

    let opened = xds.metrics.opened.lock().unwrap().clone();
    assert_eq!(opened.len(), 2, "{opened:?}");
    assert_eq!(opened[0].service, Some(Listener));
    assert_eq!(opened[0].variant, Variant::StateOfTheWorld);
    assert_eq!(opened[0].node.as_deref(), Some("test-envoy"));
    assert_eq!(opened[1].service, None, "ADS");
    assert_eq!(opened[1].variant, Variant::Delta);
    assert_eq!(opened[1].node, None, "the delta requests of these tests name no node");
    assert_ne!(opened[0].id, opened[1].id);

    drop(lds);
    let closed = closed_streams(&xds, 1).await;
    assert_eq!(closed, [opened[0].clone()]);
    drop(delta);
    assert_eq!(closed_streams(&xds, 2).await.len(), 2);
}

#[tokio::test]
async fn the_callbacks_hear_of_each_response_and_the_ack_of_its_version() {
    let xds = Xds::serving(&shop().translate()).await;
    let mut ads = xds.ads().await;
    let cds = ads.subscribe(Cluster, &[]).await;
    let responses = xds.metrics.responses.lock().unwrap().clone();
    let [(stream, response)] = responses.as_slice() else {
        panic!("one response: {responses:?}")
    };
    assert_eq!(stream.service, None);
    assert_eq!(response.kind, Cluster);
    assert_eq!(response.version, cds.version_info);
    assert_eq!(response.nonce, cds.nonce);
    assert_eq!(response.resources, cds.resources.len());
    assert_eq!(response.removals, 0);
    assert_eq!(response.bytes, prost::Message::encoded_len(&cds));
    assert!(xds.metrics.acks.lock().unwrap().is_empty());

    ads.ack(&cds, &[]).await;
    ads.silent().await;
    let acks = xds.metrics.acks.lock().unwrap().clone();
    let [(_, ack)] = acks.as_slice() else {
        panic!("one ACK: {acks:?}")
    };
    assert_eq!(
        (ack.kind, ack.version.as_str(), ack.nonce.as_str()),
        (Cluster, cds.version_info.as_str(), cds.nonce.as_str())
    );
    assert!(xds.metrics.nacks.lock().unwrap().is_empty());
}

#[tokio::test]
async fn shutdown_ends_open_streams_and_serve_returns() {
    let xds = Xds::serving(&shop().translate()).await;
    let mut ads = xds.ads().await;
    let _ = ads.subscribe(Cluster, &[]).await;
    xds.stop().await;
    let end = tokio::time::timeout(PATIENCE, ads.inbound.message()).await.unwrap();
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
}

#[tokio::test]
async fn an_inconsistent_snapshot_is_refused_and_the_served_one_kept() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut broken = resources.clone();
    broken.clusters.clear();
    let error = xds.publisher.publish_resources(&broken).unwrap_err();
    assert!(matches!(error, ingressroute_xds::Error::Inconsistent(_)), "{error}");
    let mut ads = xds.ads().await;
    assert_eq!(names(&ads.subscribe(Cluster, &[]).await), all(&resources, Cluster));
}
