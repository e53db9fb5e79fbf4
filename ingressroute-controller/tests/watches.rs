//! Watches: the initial list, then additions, updates and deletions of every watched kind,
//! as the served snapshot shows them; and the changes that must cost nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use ingressroute_api::{INGRESS_CLASS_ANNOTATIONS, IngressRoute};
use ingressroute_controller::settings::EndpointsApi;
use ingressroute_envoy::ResourceKind;
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::api::discovery::v1 as discovery_v1;
use support::*;

/// The route configuration of `fqdn`'s route bucket.
fn bucket(fqdn: &str) -> String {
    use ingressroute_envoy::names;
    names::http_route_bucket_name(names::http_route_bucket(
        fqdn,
        ingressroute_envoy::DEFAULT_HTTP_ROUTE_BUCKETS,
    ))
}

fn clusters(running: &ingressroute_controller::Running) -> Vec<String> {
    served(running, ResourceKind::Cluster)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_initial_list_of_every_kind_is_served_once_synced() {
    let api = FakeApi::start().await;
    api.apply(&tls_root(
        "apps",
        "kuard",
        "kuard.example.com",
        "certs/wildcard",
        vec![route("/", "kuard", 80)],
    ));
    api.apply(&service("apps", "kuard", "http", 80));
    api.apply(&endpoint_slice(
        "apps",
        "kuard",
        "kuard-1",
        &["10.0.0.1", "10.0.0.2"],
        "http",
        8080,
    ));
    api.apply(&tls_secret("certs", "wildcard"));
    api.apply(&delegation("certs", "wildcard", "wildcard", &["apps"]));

    let running = start_ready(&api, settings()).await;

    assert_eq!(
        served(&running, ResourceKind::Listener),
        ["ingress_http", "ingress_https"]
    );
    assert_eq!(
        served(&running, ResourceKind::RouteConfiguration),
        ["https/kuard.example.com", bucket("kuard.example.com").as_str()]
    );
    assert_eq!(
        served(&running, ResourceKind::ScopedRouteConfiguration),
        ["ingress_http/kuard.example.com"]
    );
    assert_eq!(clusters(&running).len(), 1);
    assert_eq!(
        served(&running, ResourceKind::ClusterLoadAssignment),
        ["apps/kuard/http"]
    );
    assert_eq!(served(&running, ResourceKind::Secret).len(), 1);
    assert_eq!(
        served_endpoints(running.xds_address(), "apps/kuard/http").await,
        ["10.0.0.1:8080", "10.0.0.2:8080"]
    );
    assert_eq!(running.metrics().rebuilds(), 1, "one build for the whole initial list");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_routes_added_updated_and_deleted_are_served_and_withdrawn() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "one", "http", 80));
    api.apply(&service("apps", "two", "http", 80));
    let running = start_ready(&api, settings()).await;
    assert!(served(&running, ResourceKind::Listener).is_empty());

    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "one", 80)]));
    eventually("the new root is served", || clusters(&running).len() == 1).await;
    let first = clusters(&running);
    assert!(first[0].starts_with("apps/one/80/"), "{first:?}");
    assert_eq!(served(&running, ResourceKind::Listener), ["ingress_http"]);

    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "two", 80)]));
    eventually("the update is served", || {
        clusters(&running)
            .first()
            .is_some_and(|c| c.starts_with("apps/two/80/"))
    })
    .await;

    api.delete::<IngressRoute>("apps", "web");
    eventually("the deletion is served", || clusters(&running).is_empty()).await;
    assert!(served(&running, ResourceKind::Listener).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_added_updated_and_deleted_change_clusters_and_statuses() {
    let api = FakeApi::start().await;
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    let running = start_ready(&api, settings()).await;
    assert!(clusters(&running).is_empty());
    eventually("the missing service is reported", || {
        status_of(&api, "apps", "web").is_some_and(|(s, _)| s == "invalid")
    })
    .await;

    api.apply(&service("apps", "web", "http", 80));
    eventually("the service is served", || clusters(&running).len() == 1).await;
    eventually("the route is valid", || {
        status_of(&api, "apps", "web").is_some_and(|(s, _)| s == "valid")
    })
    .await;

    // A port renamed: the EDS name follows.
    api.apply(&service("apps", "web", "web", 80));
    eventually("the renamed port is served", || {
        served(&running, ResourceKind::ClusterLoadAssignment) == ["apps/web/web"]
    })
    .await;

    api.delete::<core_v1::Service>("apps", "web");
    eventually("the deleted service is withdrawn", || clusters(&running).is_empty()).await;
    eventually("the route is invalid again", || {
        status_of(&api, "apps", "web").is_some_and(|(s, _)| s == "invalid")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_added_updated_and_deleted_change_tls() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&tls_root(
        "apps",
        "web",
        "web.example.com",
        "web-tls",
        vec![route("/", "web", 80)],
    ));
    let running = start_ready(&api, settings()).await;
    assert!(served(&running, ResourceKind::Secret).is_empty());

    api.apply(&tls_secret("apps", "web-tls"));
    eventually("the certificate is served", || {
        served(&running, ResourceKind::Secret).len() == 1
            && served(&running, ResourceKind::Listener) == ["ingress_http", "ingress_https"]
    })
    .await;

    // The same certificate with a new label: nothing to rebuild.
    let rebuilds = running.metrics().rebuilds();
    let mut relabelled = tls_secret("apps", "web-tls");
    relabelled.metadata.labels = Some([("team".to_owned(), "a".to_owned())].into());
    api.apply(&relabelled);
    tokio::time::sleep(QUIET).await;
    assert_eq!(running.metrics().rebuilds(), rebuilds);

    // A certificate that no longer parses is treated as missing at once (docs/decisions.md#d12).
    let mut broken = tls_secret("apps", "web-tls");
    broken
        .data
        .as_mut()
        .unwrap()
        .insert("tls.crt".into(), k8s_openapi::ByteString(b"garbage".to_vec()));
    api.apply(&broken);
    eventually("the broken certificate is withdrawn", || {
        served(&running, ResourceKind::Secret).is_empty()
    })
    .await;

    api.apply(&tls_secret("apps", "web-tls"));
    eventually("the certificate is back", || {
        served(&running, ResourceKind::Secret).len() == 1
    })
    .await;
    api.delete::<core_v1::Secret>("apps", "web-tls");
    eventually("the deleted certificate is withdrawn", || {
        served(&running, ResourceKind::Secret).is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegations_added_and_deleted_grant_and_revoke_certificates() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&tls_secret("certs", "wildcard"));
    api.apply(&tls_root(
        "apps",
        "web",
        "web.example.com",
        "certs/wildcard",
        vec![route("/", "web", 80)],
    ));
    let running = start_ready(&api, settings()).await;
    assert!(served(&running, ResourceKind::Secret).is_empty());
    eventually("the missing delegation is reported", || {
        status_of(&api, "apps", "web").is_some_and(|(_, d)| d == "certs/wildcard: certificate delegation not permitted")
    })
    .await;

    api.apply(&delegation("certs", "wildcard", "wildcard", &["apps"]));
    eventually("the delegated certificate is served", || {
        served(&running, ResourceKind::Secret).len() == 1
    })
    .await;

    api.apply(&delegation("certs", "wildcard", "wildcard", &["other"]));
    eventually("the narrowed delegation revokes it", || {
        served(&running, ResourceKind::Secret).is_empty()
    })
    .await;

    api.apply(&delegation("certs", "wildcard", "wildcard", &["*"]));
    eventually("the wildcard grants it", || {
        served(&running, ResourceKind::Secret).len() == 1
    })
    .await;
    api.delete::<ingressroute_api::TLSCertificateDelegation>("certs", "wildcard");
    eventually("the deleted delegation revokes it", || {
        served(&running, ResourceKind::Secret).is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_slices_go_straight_to_eds_without_a_rebuild() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    let running = start_ready(&api, settings()).await;
    let xds = running.xds_address();
    assert!(served_endpoints(xds, "apps/web/http").await.is_empty());
    let rebuilds = running.metrics().rebuilds();
    let snapshot = running.snapshot().unwrap();

    api.apply(&endpoint_slice("apps", "web", "web-a", &["10.0.0.1"], "http", 8080));
    eventually("the slice is served", || running.metrics().published().1 == 1).await;
    assert_eq!(served_endpoints(xds, "apps/web/http").await, ["10.0.0.1:8080"]);

    // A second slice of the same Service is merged with the first.
    api.apply(&endpoint_slice("apps", "web", "web-b", &["10.0.1.1"], "http", 8080));
    eventually("both slices are served", || running.metrics().published().1 == 2).await;
    assert_eq!(
        served_endpoints(xds, "apps/web/http").await,
        ["10.0.0.1:8080", "10.0.1.1:8080"]
    );

    api.apply(&endpoint_slice("apps", "web", "web-a", &["10.0.0.9"], "http", 8080));
    eventually("the update is served", || running.metrics().published().1 == 3).await;
    assert_eq!(
        served_endpoints(xds, "apps/web/http").await,
        ["10.0.0.9:8080", "10.0.1.1:8080"]
    );

    api.delete::<discovery_v1::EndpointSlice>("apps", "web-a");
    api.delete::<discovery_v1::EndpointSlice>("apps", "web-b");
    eventually("the deletions are served", || running.metrics().published().1 >= 4).await;
    eventually("no endpoint is left", || {
        running.snapshot().is_some_and(|s| {
            s.resource_version(ResourceKind::ClusterLoadAssignment, "apps/web/http")
                == snapshot.resource_version(ResourceKind::ClusterLoadAssignment, "apps/web/http")
        })
    })
    .await;

    assert_eq!(
        running.metrics().rebuilds(),
        rebuilds,
        "endpoints never rebuild the DAG"
    );
    let now = running.snapshot().unwrap();
    for kind in [
        ResourceKind::Listener,
        ResourceKind::RouteConfiguration,
        ResourceKind::Cluster,
        ResourceKind::Secret,
    ] {
        assert_eq!(now.version(kind), snapshot.version(kind), "{kind:?} changed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_of_a_service_no_cluster_reads_are_not_pushed() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    let running = start_ready(&api, settings()).await;
    let events = running.metrics().events();

    api.apply(&endpoint_slice("apps", "batch", "batch-a", &["10.9.0.1"], "http", 8080));
    eventually("the slice arrived", || running.metrics().events() > events).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(running.metrics().published(), (1, 0));
    assert_eq!(running.metrics().rebuilds(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_v1_endpoints_are_watched_with_use_endpoints() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    api.apply(&endpoints("apps", "web", &["10.0.0.1"], "http", 8080));
    // A slice is ignored in this mode.
    api.apply(&endpoint_slice("apps", "web", "web-a", &["10.0.0.2"], "http", 8080));
    let mut settings = settings();
    settings.endpoints_api = EndpointsApi::Endpoints;
    let running = start_ready(&api, settings).await;
    let xds = running.xds_address();
    assert_eq!(served_endpoints(xds, "apps/web/http").await, ["10.0.0.1:8080"]);

    api.apply(&endpoints("apps", "web", &["10.0.0.1", "10.0.0.3"], "http", 8080));
    eventually("the update is served", || running.metrics().published().1 == 1).await;
    assert_eq!(
        served_endpoints(xds, "apps/web/http").await,
        ["10.0.0.1:8080", "10.0.0.3:8080"]
    );

    api.delete::<core_v1::Endpoints>("apps", "web");
    eventually("the deletion is served", || running.metrics().published().1 == 2).await;
    assert!(served_endpoints(xds, "apps/web/http").await.is_empty());
    assert!(
        api.requests()
            .iter()
            .all(|r| !r.path.starts_with("/apis/discovery.k8s.io")),
        "EndpointSlices are not watched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relist_after_410_gone_drops_what_was_deleted_meanwhile() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "one", "http", 80));
    api.apply(&service("apps", "two", "http", 80));
    api.apply(&root("apps", "one", "one.example.com", vec![route("/", "one", 80)]));
    api.apply(&root("apps", "two", "two.example.com", vec![route("/", "two", 80)]));
    let running = start_ready(&api, settings()).await;
    assert_eq!(clusters(&running).len(), 2);

    api.delete_unseen::<IngressRoute>("apps", "two");
    eventually("the relist notices the deletion", || clusters(&running).len() == 1).await;
    assert!(clusters(&running)[0].starts_with("apps/one/"));
    // The watches resumed: a later change still arrives.
    api.delete::<IngressRoute>("apps", "one");
    eventually("later events still arrive", || clusters(&running).is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_release_secrets_are_filtered_out_by_the_api_server() {
    let api = FakeApi::start().await;
    api.apply(&helm_secret("apps", "sh.helm.release.v1.web.v1", 1));
    let running = start_ready(&api, settings()).await;
    let events = running.metrics().events();

    api.apply(&helm_secret("apps", "sh.helm.release.v1.web.v2", 2));
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        running.metrics().events(),
        events,
        "the Helm Secret never reached the controller"
    );
    assert_eq!(running.metrics().rebuilds(), 1);
    let secret_watches: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/secrets")
        .collect();
    assert!(!secret_watches.is_empty());
    assert!(
        secret_watches
            .iter()
            .all(|r| r.query.contains("fieldSelector=type%21%3Dhelm.sh%2Frelease.v1")),
        "{secret_watches:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_nothing_uses_cause_no_rebuild_and_no_push() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    let running = start_ready(&api, settings()).await;
    let version = |kind| running.snapshot().unwrap().version(kind).to_owned();
    let before: Vec<String> = ResourceKind::ALL.into_iter().map(version).collect();
    let events = running.metrics().events();

    // An application's Opaque Secret, created and changed.
    api.apply(&app_secret("apps", "db", "hunter2"));
    api.apply(&app_secret("apps", "db", "hunter3"));
    // A Service nothing routes to, created, changed and deleted.
    api.apply(&service("apps", "batch", "http", 80));
    api.apply(&service("apps", "batch", "http", 81));
    api.delete::<core_v1::Service>("apps", "batch");
    // The routed Service's status changes (a load balancer address): routing reads none of it.
    let mut with_status = service("apps", "web", "http", 80);
    with_status.status = Some(core_v1::ServiceStatus {
        load_balancer: Some(core_v1::LoadBalancerStatus {
            ingress: Some(vec![core_v1::LoadBalancerIngress {
                ip: Some("192.0.2.1".into()),
                ..core_v1::LoadBalancerIngress::default()
            }]),
        }),
        ..core_v1::ServiceStatus::default()
    });
    api.apply(&with_status);
    // An IngressRoute of another ingress class.
    let mut other = root("apps", "other", "other.example.com", vec![route("/", "web", 80)]);
    other.metadata.annotations = Some([(INGRESS_CLASS_ANNOTATIONS[0].to_owned(), "other".to_owned())].into());
    api.apply(&other);
    // The routed IngressRoute relabelled.
    let mut relabelled = root("apps", "web", "web.example.com", vec![route("/", "web", 80)]);
    relabelled.metadata.labels = Some([("team".to_owned(), "a".to_owned())].into());
    relabelled.status = api.get::<IngressRoute>("apps", "web").unwrap().status;
    api.apply(&relabelled);

    eventually("every event arrived", || running.metrics().events() >= events + 8).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(running.metrics().rebuilds(), 1);
    assert_eq!(running.metrics().published(), (1, 0));
    let after: Vec<String> = ResourceKind::ALL.into_iter().map(version).collect();
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_namespaces_restrict_where_roots_may_live() {
    let api = FakeApi::start().await;
    api.apply(&service("roots", "web", "http", 80));
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root(
        "roots",
        "allowed",
        "allowed.example.com",
        vec![route("/", "web", 80)],
    ));
    api.apply(&root(
        "apps",
        "refused",
        "refused.example.com",
        vec![route("/", "web", 80)],
    ));
    let mut settings = settings();
    settings.dag.root_namespaces = vec!["roots".into()];
    let running = start_ready(&api, settings).await;

    let clusters = clusters(&running);
    assert_eq!(clusters.len(), 1);
    assert!(clusters[0].starts_with("roots/web/"), "{clusters:?}");
    eventually("both statuses are written", || {
        status_of(&api, "roots", "allowed").is_some() && status_of(&api, "apps", "refused").is_some()
    })
    .await;
    assert_eq!(
        status_of(&api, "roots", "allowed").unwrap(),
        ("valid".into(), "valid IngressRoute".into())
    );
    assert_eq!(
        status_of(&api, "apps", "refused").unwrap(),
        (
            "invalid".into(),
            "root IngressRoute cannot be defined in this namespace".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_children_in_other_namespaces_are_served_under_the_root() {
    let api = FakeApi::start().await;
    api.apply(&service("teams", "api", "http", 80));
    api.apply(&root(
        "roots",
        "web",
        "web.example.com",
        vec![delegate("/api", "teams", "api")],
    ));
    let running = start_ready(&api, settings()).await;
    eventually("the missing child is reported", || {
        status_of(&api, "roots", "web").is_some()
    })
    .await;
    assert!(clusters(&running).is_empty());

    api.apply(&child("teams", "api", vec![route("/api", "api", 80)]));
    eventually("the child is served", || clusters(&running).len() == 1).await;
    eventually("the child is valid", || {
        status_of(&api, "teams", "api").is_some_and(|(s, _)| s == "valid")
    })
    .await;
}

/// An IngressRoute whose `port` is a string, as a CRD without a schema lets through.
fn malformed_root(namespace: &str, name: &str, fqdn: &str) -> serde_json::Value {
    serde_json::json!({
        "metadata": {"namespace": namespace, "name": name},
        "spec": {
            "virtualhost": {"fqdn": fqdn},
            "routes": [{"match": "/", "services": [{"name": "web", "port": "eighty"}]}],
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_ingress_route_is_invalid_and_takes_nothing_else_down() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "good", "good.example.com", vec![route("/", "web", 80)]));
    api.apply_json::<IngressRoute>(malformed_root("apps", "bad", "bad.example.com"));
    // A TLSCertificateDelegation that does not decode is skipped too.
    api.apply_json::<ingressroute_api::TLSCertificateDelegation>(serde_json::json!({
        "metadata": {"namespace": "certs", "name": "broken"},
        "spec": {"delegations": "everything"},
    }));

    // The initial list holds both, and the controller still becomes ready.
    let running = start_ready(&api, settings()).await;
    let bad_status = || status_of(&api, "apps", "bad");
    eventually("the malformed one is invalid, naming the field", || {
        bad_status().is_some_and(|(status, description)| {
            status == "invalid"
                && description.starts_with(
                    "cannot decode the IngressRoute: spec.routes[0].services[0].port: invalid type: string \"eighty\"",
                )
        })
    })
    .await;
    eventually("the good one is valid", || {
        status_of(&api, "apps", "good") == Some(("valid".into(), "valid IngressRoute".into()))
    })
    .await;
    assert_eq!(clusters(&running).len(), 1);
    // Counted when listed, and again when the echo of its own status write brings it
    // back (still malformed): the count settles at 2, whichever arrives first.
    let malformed = |kind: &str| {
        let line = format!("ingressroute_malformed_objects_total{{kind=\"{kind}\"}} ");
        let text = running.metrics().render();
        text.lines()
            .find_map(|l| l.strip_prefix(line.as_str()))
            .and_then(|v| v.parse::<u64>().ok())
    };
    eventually(
        "the malformed one is counted on the list and on its status echo",
        || malformed("ingressroute") == Some(2),
    )
    .await;
    assert_eq!(
        malformed("tlscertificatedelegation"),
        Some(1),
        "it has no status to echo"
    );

    // Fixed, it is served; broken again, it is withdrawn and invalid again.
    api.apply(&service("apps", "other", "http", 80));
    api.apply(&root("apps", "bad", "bad.example.com", vec![route("/", "other", 80)]));
    eventually("the fixed one is valid", || {
        bad_status() == Some(("valid".into(), "valid IngressRoute".into()))
    })
    .await;
    let routes = || served(&running, ResourceKind::RouteConfiguration);
    eventually("both are served", || clusters(&running).len() == 2).await;
    api.apply_json::<IngressRoute>(malformed_root("apps", "bad", "bad.example.com"));
    eventually("the broken one is withdrawn", || clusters(&running).len() == 1).await;
    eventually("and invalid again", || {
        bad_status().is_some_and(|(status, _)| status == "invalid")
    })
    .await;
    assert_eq!(routes(), [bucket("good.example.com")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingress_route_missing_a_required_field_gets_contours_status_as_under_a_crd_without_a_schema() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "good", "good.example.com", vec![route("/", "web", 80)]));
    // Contour v1.0.1's CRD has no schema: the API server stores these as they are.
    api.apply_json::<IngressRoute>(serde_json::json!({
        "metadata": {"namespace": "apps", "name": "no-fqdn"},
        "spec": {
            "virtualhost": {},
            "routes": [{"match": "/", "services": [{"name": "web", "port": 80}]}],
        },
    }));
    api.apply_json::<IngressRoute>(serde_json::json!({
        "metadata": {"namespace": "apps", "name": "no-match"},
        "spec": {
            "virtualhost": {"fqdn": "m.example.com"},
            "routes": [{"services": [{"name": "web", "port": 80}]}],
        },
    }));
    let running = start_ready(&api, settings()).await;
    eventually("Contour's status where the build has one", || {
        status_of(&api, "apps", "no-fqdn") == Some(("invalid".into(), "Spec.VirtualHost.Fqdn must be specified".into()))
    })
    .await;
    eventually("the missing field named where it has none", || {
        status_of(&api, "apps", "no-match")
            == Some((
                "invalid".into(),
                "cannot decode the IngressRoute: spec.routes[0].match: is required".into(),
            ))
    })
    .await;
    eventually("the good one is valid", || {
        status_of(&api, "apps", "good") == Some(("valid".into(), "valid IngressRoute".into()))
    })
    .await;
    assert_eq!(
        served(&running, ResourceKind::RouteConfiguration),
        [bucket("good.example.com")],
        "neither is served"
    );
}
