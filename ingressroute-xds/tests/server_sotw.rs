//! Feature tests of the xDS server's state-of-the-world ADS streams: objects in, requests
//! over loopback, responses compared.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod server_support;
#[path = "../../ingressroute-envoy/tests/support/mod.rs"]
mod support;

use envoy_types::pb::envoy::config::route::v3 as route_v3;
use envoy_types::pb::google::protobuf::Any;
use ingressroute_envoy::ResourceKind::{Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, Secret};
use ingressroute_envoy::{ResourceKind, Resources};
use ingressroute_xds::Snapshot;
use prost::Message;
use server_support::*;
use support::{kube_service, svc};

fn anys(resources: &Resources, kind: ResourceKind) -> Vec<Any> {
    resources.encoded(kind).into_iter().map(|(_, any)| any).collect()
}

fn strs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// Subscribes to everything of `resources` like Envoy (wildcard LDS/CDS, every EDS, RDS and
/// SDS name) and ACKs each answer.
async fn subscribe_everything(ads: &mut Sotw, resources: &Resources) {
    for kind in ResourceKind::ALL {
        let names = if matches!(kind, Listener | Cluster) {
            Vec::new()
        } else {
            all(resources, kind)
        };
        let response = ads.subscribe(kind, &strs(&names)).await;
        assert_eq!(names_of(&response), all(resources, kind), "{kind}");
        ads.ack(&response, &strs(&names)).await;
    }
    ads.silent().await;
}

fn names_of(response: &envoy_types::pb::envoy::service::discovery::v3::DiscoveryResponse) -> Vec<String> {
    names(response)
}

/// Every response until the stream is quiet, as `(kind, names)`.
async fn drain(ads: &mut Sotw) -> Vec<(ResourceKind, Vec<String>)> {
    let mut out = Vec::new();
    while let Ok(Ok(Some(response))) = tokio::time::timeout(QUIET, ads.inbound.message()).await {
        out.push(summary(&response));
    }
    out
}

#[tokio::test]
async fn the_first_request_on_ads_gets_every_listener_and_cluster() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;

    let cds = ads.subscribe(Cluster, &[]).await;
    assert_eq!(cds.type_url, Cluster.type_url());
    assert_eq!(cds.resources, anys(&resources, Cluster));
    assert!(!cds.nonce.is_empty());
    assert_eq!(cds.version_info, xds.publisher.current().unwrap().version(Cluster));

    let lds = ads.subscribe(Listener, &[]).await;
    assert_eq!(names(&lds), ["ingress_http", "ingress_https"]);
    assert_eq!(lds.resources, anys(&resources, Listener));
    assert_ne!(lds.nonce, cds.nonce);
}

#[tokio::test]
async fn named_route_endpoint_and_secret_subscriptions_get_exactly_those_resources() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let kuard = named(&resources, ClusterLoadAssignment, "kuard");
    let secret = named(&resources, Secret, "tls");

    let eds = ads.subscribe(ClusterLoadAssignment, &[&kuard]).await;
    assert_eq!(names(&eds), std::slice::from_ref(&kuard));
    assert_eq!(addresses(&assignment(&eds, &kuard)), ["10.0.0.1:8080"]);

    let rds = ads.subscribe(RouteConfiguration, &["https/secure.example.com"]).await;
    assert_eq!(names(&rds), ["https/secure.example.com"]);

    let sds = ads.subscribe(Secret, &[&secret]).await;
    assert_eq!(names(&sds), [secret]);
    assert_eq!(sds.resources, anys(&resources, Secret));
}

#[tokio::test]
async fn acking_the_current_version_sends_nothing() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let cds = ads.subscribe(Cluster, &[]).await;
    ads.ack(&cds, &[]).await;
    ads.silent().await;
    assert_eq!(xds.metrics.of(Cluster).acks, 1);
    assert_eq!(xds.metrics.of(Cluster).pushes, 1);
}

#[tokio::test]
async fn publishing_identical_content_sends_nothing() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    subscribe_everything(&mut ads, &resources).await;
    let before = xds.metrics.by_type_url();

    assert!(
        !xds.publish(&secure_shop().translate()),
        "the same content is no change"
    );
    ads.silent().await;
    assert_eq!(xds.metrics.by_type_url(), before);
}

#[tokio::test]
async fn one_changed_endpoint_sends_only_its_assignment() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    subscribe_everything(&mut ads, &resources).await;
    let api = named(&resources, ClusterLoadAssignment, "api");
    let kuard = named(&resources, ClusterLoadAssignment, "kuard");

    let changed = shop_with("10.0.0.3").translate();
    assert!(xds.publish(&changed));
    let eds = ads.recv().await;
    // Only listeners and clusters carry the whole state in SotW: Envoy updates the
    // assignment a response names and keeps kuard's as it is.
    assert_eq!(summary(&eds), (ClusterLoadAssignment, vec![api.clone()]));
    assert_eq!(addresses(&assignment(&eds, &api)), ["10.0.0.3:8080"]);
    assert_eq!(eds.resources, vec![changed.encoded(ClusterLoadAssignment)[0].1.clone()]);
    ads.ack(&eds, &[&api, &kuard]).await;
    ads.silent().await;

    // Its version is that of everything the stream holds: what a fresh subscription to
    // both names gets.
    let mut fresh = xds.ads().await;
    let whole = fresh.subscribe(ClusterLoadAssignment, &[&api, &kuard]).await;
    assert_eq!(names(&whole), [api, kuard]);
    assert_eq!(eds.version_info, whole.version_info);
}

#[tokio::test]
async fn a_rotated_secret_is_sent_alone() {
    let two_hosts = |tls: k8s_openapi::api::core::v1::Secret| {
        shop()
            .root("default/secure", "secure.example.com")
            .tls("tls")
            .route("/", svc("kuard", 80))
            .root("default/other", "other.example.com")
            .tls("other")
            .route("/", svc("kuard", 80))
            .secret(tls)
            .tls_secret("default/other")
    };
    let resources = two_hosts(support::secret(
        "default/tls",
        "kubernetes.io/tls",
        &[("tls.crt", support::CERT), ("tls.key", support::KEY)],
    ))
    .translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    subscribe_everything(&mut ads, &resources).await;
    let tls = named(&resources, Secret, "default/tls");

    let rotated = rcgen::generate_simple_self_signed(vec!["secure.example.com".to_owned()]).unwrap();
    let changed = two_hosts(support::secret(
        "default/tls",
        "kubernetes.io/tls",
        &[
            ("tls.crt", &rotated.cert.pem()),
            ("tls.key", &rotated.signing_key.serialize_pem()),
        ],
    ))
    .translate();
    assert!(xds.publish(&changed));
    // A secret's name holds a hash of its content: the listener takes the new one first...
    let responses = drain(&mut ads).await;
    assert_eq!(
        responses,
        [(Listener, vec!["ingress_http".to_owned(), "ingress_https".to_owned()])]
    );
    // ...then Envoy subscribes to it, and it comes alone (the other one did not change,
    // and the old one stays with Envoy until its listener lets go of it).
    let rotated = named(&changed, Secret, "default/tls");
    assert_ne!(rotated, tls);
    let other = named(&changed, Secret, "default/other");
    let sds = ads.subscribe(Secret, &[&tls, &rotated, &other]).await;
    assert_eq!(summary(&sds), (Secret, vec![rotated.clone()]));
    ads.ack(&sds, &[&rotated, &other]).await;
    ads.silent().await;
}

#[tokio::test]
async fn a_newly_subscribed_assignment_is_sent_at_once_without_the_others() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let api = named(&resources, ClusterLoadAssignment, "api");
    let kuard = named(&resources, ClusterLoadAssignment, "kuard");
    let first = ads.subscribe(ClusterLoadAssignment, &[&kuard]).await;
    assert_eq!(names(&first), std::slice::from_ref(&kuard));
    // A new cluster subscribes to its assignment, which did not change: it comes at once,
    // alone.
    ads.ack(&first, &[&api, &kuard]).await;
    let second = ads.recv().await;
    assert_eq!(summary(&second), (ClusterLoadAssignment, vec![api.clone()]));
    ads.ack(&second, &[&api, &kuard]).await;
    ads.silent().await;
}

#[tokio::test]
async fn a_rejected_assignment_is_not_sent_again_until_it_changes() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    subscribe_everything(&mut ads, &resources).await;
    let api = named(&resources, ClusterLoadAssignment, "api");
    let kuard = named(&resources, ClusterLoadAssignment, "kuard");
    let both = [api.as_str(), kuard.as_str()];

    assert!(xds.publish(&shop_with("10.0.0.3").translate()));
    let rejected = ads.recv().await;
    assert_eq!(summary(&rejected), (ClusterLoadAssignment, vec![api.clone()]));
    ads.send(nack(&rejected, &rejected.version_info, &both, "bad endpoint"))
        .await;
    ads.silent().await;
    assert_eq!(xds.metrics.of(ClusterLoadAssignment).nacks, 1);

    // kuard changes: its assignment goes out alone, without the rejected one.
    let moved = shop_at("10.0.0.7", "10.0.0.3").translate();
    assert!(xds.publish(&moved));
    let next = ads.recv().await;
    assert_eq!(summary(&next), (ClusterLoadAssignment, vec![kuard.clone()]));
    ads.ack(&next, &both).await;
    ads.silent().await;

    // The rejected one changes again: now it is sent.
    let fixed = shop_at("10.0.0.7", "10.0.0.4").translate();
    assert!(xds.publish(&fixed));
    let again = ads.recv().await;
    assert_eq!(summary(&again), (ClusterLoadAssignment, vec![api.clone()]));
    assert_eq!(addresses(&assignment(&again, &api)), ["10.0.0.4:8080"]);
}

#[tokio::test]
async fn an_unsubscribed_name_leaves_later_responses_and_its_changes_send_nothing() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let api = named(&resources, ClusterLoadAssignment, "api");
    let kuard = named(&resources, ClusterLoadAssignment, "kuard");
    let eds = ads.subscribe(ClusterLoadAssignment, &[&api, &kuard]).await;
    assert_eq!(names(&eds), [api.clone(), kuard.clone()]);
    // Envoy drops api: the state shrinks on its side, nothing needs to be sent.
    ads.ack(&eds, &[&kuard]).await;
    ads.silent().await;
    assert!(xds.publish(&shop_with("10.0.0.3").translate()));
    ads.silent().await;
    // When kuard changes, the response no longer carries api.
    let moved = shop_at("10.0.0.7", "10.0.0.3").translate();
    assert!(xds.publish(&moved));
    let eds = ads.recv().await;
    assert_eq!(summary(&eds), (ClusterLoadAssignment, vec![kuard.clone()]));
    assert_eq!(addresses(&assignment(&eds, &kuard)), ["10.0.0.7:8080"]);
}

#[tokio::test]
async fn a_name_without_endpoints_gets_an_empty_assignment() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let eds = ads.subscribe(ClusterLoadAssignment, &["default/nope"]).await;
    assert_eq!(names(&eds), ["default/nope"]);
    assert!(assignment(&eds, "default/nope").endpoints.is_empty());
    ads.ack(&eds, &["default/nope"]).await;
    ads.silent().await;
}

#[tokio::test]
async fn a_new_route_to_a_new_cluster_sends_the_cluster_before_the_route() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let cds = ads.subscribe(Cluster, &[]).await;
    ads.ack(&cds, &[]).await;
    let rds = ads.subscribe(RouteConfiguration, &["ingress_http"]).await;
    ads.ack(&rds, &["ingress_http"]).await;
    ads.silent().await;

    let grown = shop()
        .route("/new", svc("new", 80))
        .service(kube_service("default/new").port(80))
        .translate();
    let new_cluster = named(&grown, Cluster, "default/new/");
    assert!(xds.publish(&grown));

    let first = ads.recv().await;
    assert_eq!(summary(&first).0, Cluster, "the cluster comes first");
    assert!(names(&first).contains(&new_cluster));
    let second = ads.recv().await;
    assert_eq!(summary(&second), (RouteConfiguration, vec!["ingress_http".to_owned()]));
    let config = route_v3::RouteConfiguration::decode(second.resources[0].value.as_slice()).unwrap();
    assert!(
        format!("{config:?}").contains(&new_cluster),
        "the route uses the new cluster"
    );
    ads.silent().await;
}

#[tokio::test]
async fn a_new_cluster_reading_an_assignment_the_stream_holds_gets_it_again_after_the_cluster() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    subscribe_everything(&mut ads, &resources).await;
    let kuard = named(&resources, ClusterLoadAssignment, "kuard");

    // Another strategy for kuard: a new cluster on the same assignment, which Envoy already
    // watches (its subscription does not change, so it would ask for nothing).
    let grown = shop().route("/random", svc("kuard", 80).strategy("Random")).translate();
    assert!(xds.publish(&grown));
    let responses = drain(&mut ads).await;
    let kinds: Vec<ResourceKind> = responses.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        [Cluster, ClusterLoadAssignment, RouteConfiguration],
        "{responses:?}"
    );
    assert_eq!(responses[1].1, [kuard]);
}

#[tokio::test]
async fn one_change_is_sent_clusters_then_endpoints_then_listeners_then_routes() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    subscribe_everything(&mut ads, &resources).await;

    // One publish that changes every type Envoy subscribed to but secrets: a new route and
    // cluster, new api endpoints, and a new TLS virtual host (a listener filter chain).
    let changed = support::World::new()
        .with_config(|c| c.http_routes = ingressroute_envoy::HttpRoutes::Single)
        .root("default/kuard", "kuard.example.com")
        .route("/", svc("kuard", 80))
        .route("/api", svc("api", 80))
        .route("/new", svc("new", 80))
        .service(kube_service("default/kuard").port(80))
        .service(kube_service("default/api").port(80))
        .service(kube_service("default/new").port(80))
        .endpoints("default/kuard", &[("", &["10.0.0.1"], 8080)])
        .endpoints("default/api", &[("", &["10.0.0.9"], 8080)])
        .root("default/secure", "secure.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .root("default/other", "other.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .tls_secret("default/tls")
        .translate();
    assert!(xds.publish(&changed));
    let kinds: Vec<ResourceKind> = drain(&mut ads).await.into_iter().map(|(kind, _)| kind).collect();
    assert_eq!(kinds, [Cluster, ClusterLoadAssignment, Listener, RouteConfiguration]);
}

#[tokio::test]
async fn a_removed_route_and_cluster_go_routes_first_then_clusters_then_endpoints() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    subscribe_everything(&mut ads, &resources).await;
    let api_cluster = named(&resources, Cluster, "default/api/");
    let kuard_cluster = named(&resources, Cluster, "default/kuard/");
    let api = named(&resources, ClusterLoadAssignment, "api");

    let shrunk = support::World::new()
        .with_config(|c| c.http_routes = ingressroute_envoy::HttpRoutes::Single)
        .root("default/kuard", "kuard.example.com")
        .route("/", svc("kuard", 80))
        .service(kube_service("default/kuard").port(80))
        .endpoints("default/kuard", &[("", &["10.0.0.1"], 8080)])
        .translate();
    assert!(xds.publish(&shrunk));
    let responses = drain(&mut ads).await;
    assert_eq!(
        responses,
        [
            // The route configuration stops using the cluster first...
            (RouteConfiguration, vec!["ingress_http".to_owned()]),
            // ...then the cluster is absent from the next CDS state...
            (Cluster, vec![kuard_cluster]),
            // ...and the endpoints Envoy still watches become an empty placeholder, sent
            // alone (kuard's did not change).
            (ClusterLoadAssignment, vec![api.clone()]),
        ]
    );
    assert!(!responses.iter().any(|(_, names)| names.contains(&api_cluster)));
}

#[tokio::test]
async fn a_removed_listener_is_absent_from_the_next_lds_response_and_its_secret_is_not_sent() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    subscribe_everything(&mut ads, &resources).await;

    assert!(xds.publish(&shop().translate()));
    let responses = drain(&mut ads).await;
    let position = |wanted: &(ResourceKind, Vec<String>)| responses.iter().position(|r| r == wanted);
    let lds = position(&(Listener, vec!["ingress_http".to_owned()])).expect("ingress_https is absent");
    // No SDS response: a secret goes when no listener refers to it any more, and a
    // state-of-the-world SDS response need not list what Envoy keeps.
    assert!(!responses.iter().any(|(kind, _)| *kind == Secret), "{responses:?}");
    // Route configurations are sent one by one as they change: `ingress_http` (which lost
    // the redirect of secure.example.com) before the listener goes; `https/secure...`
    // cannot be removed by a state-of-the-world response, Envoy drops it with its listener.
    let rds = position(&(RouteConfiguration, vec!["ingress_http".to_owned()])).expect("ingress_http changed");
    assert!(rds < lds, "{responses:?}");
    assert_eq!(
        responses.iter().filter(|(kind, _)| *kind == RouteConfiguration).count(),
        1,
        "{responses:?}"
    );
}

#[tokio::test]
async fn a_nack_reaches_the_callbacks_with_the_objects_behind_it_and_a_later_good_snapshot_is_still_sent() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let rds = ads.subscribe(RouteConfiguration, &["ingress_http"]).await;
    ads.ack(&rds, &["ingress_http"]).await;
    let cds = ads.subscribe(Cluster, &[]).await;
    ads.ack(&cds, &[]).await;

    let grown = shop().route("/new", svc("kuard", 80)).translate();
    assert!(
        xds.publisher.publish(Snapshot::new(&grown).unwrap().with_source(
            RouteConfiguration,
            "ingress_http",
            "default/kuard"
        ))
    );
    let rejected = ads.recv().await;
    assert_eq!(summary(&rejected).0, RouteConfiguration);
    ads.send(nack(
        &rejected,
        &rds.version_info,
        &["ingress_http"],
        "route: bad regex",
    ))
    .await;
    // The same version is not sent again.
    ads.silent().await;
    assert_eq!(xds.metrics.of(RouteConfiguration).nacks, 1);
    assert_eq!(xds.metrics.of(Cluster).nacks, 0);
    let nacks = xds.metrics.nacks.lock().unwrap().clone();
    let [seen] = nacks.as_slice() else {
        panic!("one NACK: {nacks:?}")
    };
    assert_eq!(seen.kind, RouteConfiguration);
    assert_eq!(seen.message, "route: bad regex");
    assert_eq!(seen.code, 3);
    assert_eq!(seen.version, rejected.version_info);
    assert_eq!(seen.rejected, ["ingress_http"]);
    assert_eq!(seen.sources, ["default/kuard"]);
    assert_eq!(seen.stream.node.as_deref(), Some("test-envoy"));

    // A later change, of another type and of the same one, is sent as usual.
    let later = shop()
        .route("/new", svc("kuard", 80))
        .route("/newer", svc("other", 80))
        .service(kube_service("default/other").port(80))
        .translate();
    assert!(xds.publish(&later));
    let cds = ads.recv().await;
    assert_eq!(summary(&cds).0, Cluster);
    let rds = ads.recv().await;
    assert_eq!(summary(&rds).0, RouteConfiguration);
    assert_ne!(rds.version_info, rejected.version_info);
    assert_eq!(rds.resources, anys(&later, RouteConfiguration));
}

#[tokio::test]
async fn a_request_with_a_stale_nonce_is_ignored() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let first = ads.subscribe(RouteConfiguration, &["ingress_http"]).await;
    // A change is sent before Envoy answered the first response...
    let grown = shop()
        .route("/new", svc("kuard", 80))
        .root("default/secure", "secure.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .tls_secret("default/tls");
    assert!(xds.publish(&grown.translate()));
    let second = ads.recv().await;
    assert_ne!(first.nonce, second.nonce);
    // ...so its request answering the first one, which also subscribes more, is stale.
    let both = ["https/secure.example.com", "ingress_http"];
    ads.ack(&first, &both).await;
    ads.silent().await;
    assert_eq!(xds.metrics.of(RouteConfiguration).acks, 0);
    // The up-to-date request is served.
    ads.ack(&second, &both).await;
    let third = ads.recv().await;
    assert_eq!(
        names(&third),
        ["https/secure.example.com"],
        "only what Envoy does not have yet"
    );
}

#[tokio::test]
async fn nothing_is_answered_before_the_first_publish() {
    let xds = Xds::start().await;
    let mut ads = xds.ads().await;
    ads.send(request(Cluster, &[])).await;
    ads.send(request(Listener, &[])).await;
    ads.silent().await;
    assert_eq!(xds.metrics.connected_streams(), 1);

    let resources = shop().translate();
    assert!(xds.publish(&resources));
    let cds = ads.recv().await;
    assert_eq!(cds.resources, anys(&resources, Cluster));
    let lds = ads.recv().await;
    assert_eq!(lds.resources, anys(&resources, Listener));
}

#[tokio::test]
async fn an_empty_snapshot_still_answers_the_first_request() {
    let resources = support::World::new().translate();
    assert!(resources.listeners.is_empty());
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let lds = ads.subscribe(Listener, &[]).await;
    assert!(lds.resources.is_empty());
    assert!(!lds.version_info.is_empty());
}

#[tokio::test]
async fn a_reconnecting_envoy_that_has_the_current_version_gets_nothing() {
    let resources = shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let cds = ads.subscribe(Cluster, &[]).await;
    let eds_names = all(&resources, ClusterLoadAssignment);
    let eds = ads.subscribe(ClusterLoadAssignment, &strs(&eds_names)).await;

    let mut again = xds.ads().await;
    again.send(ack(&cds, &[]).with_nonce("")).await;
    again.send(ack(&eds, &strs(&eds_names)).with_nonce("")).await;
    again.silent().await;
    // But one with an older version is answered.
    let mut stale = xds.ads().await;
    let mut old = request(Cluster, &[]);
    old.version_info = "0123456789abcdef".into();
    stale.send(old).await;
    assert_eq!(stale.recv().await.resources, cds.resources);
}

trait WithNonce {
    fn with_nonce(self, nonce: &str) -> Self;
}

impl WithNonce for envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest {
    fn with_nonce(mut self, nonce: &str) -> Self {
        self.response_nonce = nonce.into();
        self
    }
}

#[tokio::test]
async fn host_scopes_are_a_wildcard_subscription_sent_whole_before_their_route_configurations() {
    use ingressroute_envoy::ResourceKind::ScopedRouteConfiguration;
    let world = |hosts: &[&str]| {
        let mut world = support::World::new().service(kube_service("default/kuard").port(80));
        for (i, host) in hosts.iter().enumerate() {
            world = world.root(&format!("default/r{i}"), host).route("/", svc("kuard", 80));
        }
        world.translate()
    };
    let two = world(&["a.example.com", "b.example.com"]);
    assert_eq!(two.scoped_routes.len(), 2);
    let xds = Xds::serving(&two).await;
    let mut ads = xds.ads().await;

    let srds = ads.subscribe(ScopedRouteConfiguration, &[]).await;
    assert_eq!(srds.type_url, ScopedRouteConfiguration.type_url());
    assert_eq!(srds.resources, anys(&two, ScopedRouteConfiguration));
    ads.ack(&srds, &[]).await;
    let buckets = all(&two, RouteConfiguration);
    let bucket_names: Vec<&str> = buckets.iter().map(String::as_str).collect();
    let rds = ads.subscribe(RouteConfiguration, &bucket_names).await;
    assert_eq!(names(&rds), buckets, "the scopes' route configurations");
    ads.ack(&rds, &bucket_names).await;

    // A third host: the whole scope list again (Envoy drops a scope a state-of-the-world
    // response leaves out).
    let three = world(&["a.example.com", "b.example.com", "c.example.com"]);
    assert!(xds.publish(&three));
    let scopes = loop {
        let response = ads.recv().await;
        if summary(&response).0 == ScopedRouteConfiguration {
            break response;
        }
    };
    assert_eq!(scopes.resources, anys(&three, ScopedRouteConfiguration));
    assert_eq!(names(&scopes).len(), 3);
}

#[tokio::test]
async fn a_changed_route_configuration_is_sent_alone_after_the_first_response() {
    let resources = secure_shop().translate();
    let xds = Xds::serving(&resources).await;
    let mut ads = xds.ads().await;
    let both = ["https/secure.example.com", "ingress_http"];
    let first = ads.subscribe(RouteConfiguration, &both).await;
    assert_eq!(names(&first), both, "the first response carries everything subscribed");
    ads.ack(&first, &both).await;

    // A route of kuard.example.com only: `ingress_http` changes, `https/secure...` does not.
    let grown = shop()
        .route("/new", svc("kuard", 80))
        .root("default/secure", "secure.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .tls_secret("default/tls");
    assert!(xds.publish(&grown.translate()));
    let second = ads.recv().await;
    assert_eq!(summary(&second), (RouteConfiguration, vec!["ingress_http".to_owned()]));
    assert_ne!(second.version_info, first.version_info);
}
