//! `/healthz`, `/readyz` and `/metrics`, and the ready gate: nothing is served before
//! every watched kind has been listed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_xds_wait_for_the_first_list_of_every_kind() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    api.make_unavailable("/apis/discovery.k8s.io/");
    let running = start(&api, settings()).await;

    // An Envoy that connects now gets no answer: no partial snapshot is ever served.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", running.xds_address()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = AggregatedDiscoveryServiceClient::new(channel);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(DiscoveryRequest {
        node: Some(core_v3::Node {
            id: "envoy".into(),
            ..core_v3::Node::default()
        }),
        type_url: "type.googleapis.com/envoy.config.cluster.v3.Cluster".into(),
        ..DiscoveryRequest::default()
    })
    .await
    .unwrap();
    let mut inbound = client
        .stream_aggregated_resources(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(http_get(running.health_address(), "/healthz").await.0, 200);
    assert_eq!(http_get(running.health_address(), "/readyz").await.0, 503);
    assert!(!running.is_ready());
    assert!(running.snapshot().is_none());
    assert_eq!(running.metrics().rebuilds(), 0);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), inbound.message())
            .await
            .is_err(),
        "xDS answered before the watches were synced"
    );

    api.restore();
    let response = tokio::time::timeout(PATIENCE, inbound.message())
        .await
        .expect("xDS never answered")
        .unwrap()
        .unwrap();
    assert_eq!(response.resources.len(), 1, "the whole snapshot, at once");
    // The event loop publishes the snapshot, then says it is ready: the response may
    // arrive a moment before the readiness does.
    tokio::time::timeout(PATIENCE, async {
        while !running.is_ready() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("never ready after the first snapshot was served");
    assert_eq!(http_get(running.health_address(), "/readyz").await.0, 200);
    drop(tx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_ingressroutes_by_status_as_contour_does() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root(
        "apps",
        "web",
        "web.example.com",
        vec![delegate("/api", "teams", "api")],
    ));
    api.apply(&child("teams", "api", vec![route("/api", "missing", 80)]));
    api.apply(&child("teams", "lonely", vec![route("/", "web", 80)]));
    api.apply(&root("apps", "blank", " ", vec![route("/", "web", 80)]));
    let running = start_ready(&api, settings()).await;
    eventually("every status is written", || api.status_patches().len() == 4).await;

    let (code, text) = http_get(running.metrics_address(), "/metrics").await;
    assert_eq!(code, 200);
    for line in [
        "contour_ingressroute_total{namespace=\"apps\"} 2",
        "contour_ingressroute_total{namespace=\"teams\"} 2",
        "contour_ingressroute_root_total{namespace=\"apps\"} 2",
        "contour_ingressroute_valid_total{namespace=\"apps\",vhost=\"web.example.com\"} 1",
        "contour_ingressroute_invalid_total{namespace=\"apps\",vhost=\"unknown\"} 1",
        "contour_ingressroute_invalid_total{namespace=\"teams\",vhost=\"web.example.com\"} 1",
        "contour_ingressroute_orphaned_total{namespace=\"teams\"} 1",
        "ingressroute_dag_rebuilds_total 1",
        "ingressroute_dag_rebuild_duration_seconds_count 1",
        "ingressroute_status_writes_total{result=\"ok\"} 4",
        "ingressroute_leader 1",
        "ingressroute_ready 1",
        "ingressroute_xds_connected_streams 0",
        "ingressroute_xds_nacks_total{type_url=\"type.googleapis.com/envoy.config.cluster.v3.Cluster\"} 0",
        "ingressroute_watch_events_total{kind=\"ingressroute\"}",
    ] {
        assert!(text.lines().any(|l| l.starts_with(line)), "no {line:?} in\n{text}");
    }
    assert!(
        text.contains("# TYPE ingressroute_dag_rebuild_duration_seconds histogram"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_probes_can_listen_apart() {
    let api = FakeApi::start().await;
    let mut settings = settings();
    settings.health_address = "127.0.0.1:0".parse().unwrap();
    settings.metrics_address = "127.0.0.2:0".parse().unwrap();
    let running = start_ready(&api, settings).await;
    assert_ne!(running.health_address(), running.metrics_address());
    assert_eq!(http_get(running.health_address(), "/readyz").await.0, 200);
    assert_eq!(http_get(running.health_address(), "/metrics").await.0, 404);
    assert_eq!(http_get(running.metrics_address(), "/metrics").await.0, 200);
    assert_eq!(http_get(running.metrics_address(), "/healthz").await.0, 404);
}
