//! Feature tests of the xDS server's incremental (delta) ADS streams: objects in, requests
//! over loopback, responses compared.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod server_support;
#[path = "../../ingressroute-envoy/tests/support/mod.rs"]
mod support;

use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DeltaDiscoveryResponse};
use envoy_types::pb::google::rpc;
use ingressroute_envoy::ResourceKind::{Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, Secret};
use ingressroute_envoy::{ResourceKind, Resources};
use server_support::*;
use support::{kube_service, svc};

fn strs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// Subscribes to everything of `resources` like Envoy and ACKs each answer.
async fn subscribe_everything(delta: &mut Delta, resources: &Resources) {
    for kind in ResourceKind::ALL {
        let names = if matches!(kind, Listener | Cluster) {
            Vec::new()
        } else {
            all(resources, kind)
        };
        let response = delta.subscribe(kind, &strs(&names)).await;
        assert_eq!(delta_names(&response), all(resources, kind), "{kind}");
        delta.ack(&response).await;
    }
    delta.silent().await;
}

/// Every response until the stream is quiet.
async fn drain(delta: &mut Delta) -> Vec<(ResourceKind, Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    while let Ok(Ok(Some(response))) = tokio::time::timeout(QUIET, delta.inbound.message()).await {
        out.push(delta_summary(&response));
    }
    out
}

fn nack(response: &DeltaDiscoveryResponse, message: &str) -> DeltaDiscoveryRequest {
    DeltaDiscoveryRequest {
        type_url: response.type_url.clone(),
        response_nonce: response.nonce.clone(),
        error_detail: Some(rpc::Status {
            code: 3,
            message: message.into(),
            details: Vec::new(),
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_legacy_wildcard_gets_every_cluster_and_listener_with_their_versions() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut delta = xds.delta().await;
    let cds = delta.subscribe(Cluster, &[]).await;
    assert_eq!(delta_names(&cds), all(&resources, Cluster));
    assert!(cds.removed_resources.is_empty());
    let snapshot = xds.publisher.current().unwrap();
    for resource in &cds.resources {
        assert_eq!(
            Some(resource.version.as_str()),
            snapshot.resource_version(Cluster, &resource.name)
        );
    }
    let lds = delta.subscribe(Listener, &[]).await;
    assert_eq!(delta_names(&lds), ["ingress_http", "ingress_https"]);
}

#[tokio::test]
async fn one_changed_endpoint_sends_exactly_one_assignment_to_each_delta_stream() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut delta = xds.delta().await;
        subscribe_everything(&mut delta, &resources).await;
        streams.push(delta);
    }
    let api = named(&resources, ClusterLoadAssignment, "api");
    let before = xds.metrics.of(ClusterLoadAssignment);

    assert!(xds.publish(&shop_with("10.0.0.3").translate()));
    for delta in &mut streams {
        let eds = delta.recv().await;
        assert_eq!(delta_summary(&eds), (ClusterLoadAssignment, vec![api.clone()], vec![]));
        delta.ack(&eds).await;
    }
    for delta in &mut streams {
        delta.silent().await;
    }
    let after = xds.metrics.of(ClusterLoadAssignment);
    assert_eq!(after.pushes - before.pushes, 3);
    assert_eq!(after.resources - before.resources, 3);
    assert_eq!(after.acks - before.acks, 3);
}

#[tokio::test]
async fn a_removed_cluster_is_named_in_removed_resources_after_the_route_lets_go_of_it() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut delta = xds.delta().await;
    subscribe_everything(&mut delta, &resources).await;
    let api_cluster = named(&resources, Cluster, "default/api/");
    let api = named(&resources, ClusterLoadAssignment, "api");

    let shrunk = support::World::new()
        .with_config(|c| c.http_routes = ingressroute_envoy::HttpRoutes::Single)
        .root("default/kuard", "kuard.example.com")
        .route("/", svc("kuard", 80))
        .service(kube_service("default/kuard").port(80))
        .endpoints("default/kuard", &[("", &["10.0.0.1"], 8080)])
        .translate();
    assert!(xds.publish(&shrunk));
    assert_eq!(
        drain(&mut delta).await,
        [
            (RouteConfiguration, vec!["ingress_http".to_owned()], vec![]),
            (Cluster, vec![], vec![api_cluster]),
            // Envoy still watches the name until it has removed the cluster.
            (ClusterLoadAssignment, vec![api], vec![]),
        ]
    );
}

#[tokio::test]
async fn a_removed_listener_is_named_in_removed_resources() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut delta = xds.delta().await;
    subscribe_everything(&mut delta, &resources).await;
    let secret = named(&resources, Secret, "tls");

    assert!(xds.publish(&shop().translate()));
    let responses = drain(&mut delta).await;
    let position = |wanted: &(ResourceKind, Vec<String>, Vec<String>)| responses.iter().position(|r| r == wanted);
    let lds = position(&(Listener, vec![], vec!["ingress_https".to_owned()])).expect("ingress_https removed");
    let rds = position(&(RouteConfiguration, vec![], vec!["https/secure.example.com".to_owned()]))
        .expect("https/secure removed");
    let sds = position(&(Secret, vec![], vec![secret])).expect("the secret removed");
    assert!(lds < rds && rds < sds, "{responses:?}");
}

#[tokio::test]
async fn unsubscribed_names_get_no_updates_and_subscribing_again_sends_them() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut delta = xds.delta().await;
    let api = named(&resources, ClusterLoadAssignment, "api");
    let kuard = named(&resources, ClusterLoadAssignment, "kuard");
    let eds = delta.subscribe(ClusterLoadAssignment, &[&api, &kuard]).await;
    delta.ack(&eds).await;

    delta.send(delta_request(ClusterLoadAssignment, &[], &[&api])).await;
    delta.silent().await;
    assert!(xds.publish(&shop_with("10.0.0.3").translate()));
    delta.silent().await;

    let eds = delta.subscribe(ClusterLoadAssignment, &[&api]).await;
    assert_eq!(delta_summary(&eds), (ClusterLoadAssignment, vec![api], vec![]));
}

#[tokio::test]
async fn initial_resource_versions_that_are_current_are_not_sent_again() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut delta = xds.delta().await;
    let cds = delta.subscribe(Cluster, &[]).await;
    let (first, rest) = cds.resources.split_first().unwrap();

    // Envoy reconnects holding the current version of every cluster but the first, which
    // it holds at an older version.
    let mut again = xds.delta().await;
    let mut request = delta_request(Cluster, &[], &[]);
    request.initial_resource_versions = rest.iter().map(|r| (r.name.clone(), r.version.clone())).collect();
    request
        .initial_resource_versions
        .insert(first.name.clone(), "0123456789abcdef".into());
    request
        .initial_resource_versions
        .insert("gone".into(), "fedcba9876543210".into());
    again.send(request).await;
    let response = again.recv().await;
    assert_eq!(
        delta_summary(&response),
        (Cluster, vec![first.name.clone()], vec!["gone".to_owned()])
    );
}

#[tokio::test]
async fn a_name_that_does_not_exist_is_reported_removed() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut delta = xds.delta().await;
    let rds = delta
        .subscribe(RouteConfiguration, &["ingress_http", "https/nope.example.com"])
        .await;
    assert_eq!(
        delta_summary(&rds),
        (
            RouteConfiguration,
            vec!["ingress_http".to_owned()],
            vec!["https/nope.example.com".to_owned()]
        )
    );
    delta.ack(&rds).await;
    delta.silent().await;
}

#[tokio::test]
async fn a_nack_is_counted_and_the_rejected_version_is_not_sent_again_but_later_changes_are() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut delta = xds.delta().await;
    subscribe_everything(&mut delta, &resources).await;
    let api = named(&resources, ClusterLoadAssignment, "api");

    assert!(xds.publish(&shop_with("10.0.0.3").translate()));
    let rejected = delta.recv().await;
    delta.send(nack(&rejected, "endpoint: bad address")).await;
    delta.silent().await;
    assert_eq!(xds.metrics.of(ClusterLoadAssignment).nacks, 1);

    assert!(xds.publish(&shop_with("10.0.0.4").translate()));
    let eds = delta.recv().await;
    assert_eq!(delta_summary(&eds), (ClusterLoadAssignment, vec![api], vec![]));
    assert_ne!(eds.resources[0].version, rejected.resources[0].version);
}

#[tokio::test]
async fn a_stale_nonce_still_carries_its_subscription_changes() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut delta = xds.delta().await;
    let api = named(&resources, ClusterLoadAssignment, "api");
    let kuard = named(&resources, ClusterLoadAssignment, "kuard");
    let first = delta.subscribe(ClusterLoadAssignment, &[&api]).await;
    assert!(xds.publish(&shop_with("10.0.0.3").translate()));
    let _second = delta.recv().await;

    let mut stale = delta_ack(&first);
    stale.resource_names_subscribe = vec![kuard.clone()];
    delta.send(stale).await;
    let third = delta.recv().await;
    assert_eq!(delta_summary(&third), (ClusterLoadAssignment, vec![kuard], vec![]));
    assert_eq!(
        xds.metrics.of(ClusterLoadAssignment).acks,
        0,
        "the stale ACK does not count"
    );
}

#[tokio::test]
async fn an_explicit_wildcard_subscribes_to_everything_and_can_be_dropped() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut delta = xds.delta().await;
    let rds = delta.subscribe(RouteConfiguration, &["*"]).await;
    assert_eq!(delta_names(&rds), all(&resources, RouteConfiguration));
    delta.ack(&rds).await;
    delta
        .send(delta_request(RouteConfiguration, &["ingress_http"], &["*"]))
        .await;
    delta.silent().await;
    // Only ingress_http is watched now: a change of the other is not sent.
    let changed = shop()
        .root("default/secure", "secure.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .route("/more", svc("kuard", 80))
        .tls_secret("default/tls")
        .translate();
    assert!(xds.publish(&changed));
    for (kind, names, _) in drain(&mut delta).await {
        assert_eq!(kind, RouteConfiguration);
        assert!(!names.contains(&"https/secure.example.com".to_owned()));
    }
}
