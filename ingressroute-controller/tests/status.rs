//! Status writing: through the status subresource, only when it changed, retried on
//! conflict, and never touching anything but `status`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use ingressroute_api::{IngressRoute, IngressRouteStatus};
use k8s_openapi::api::core::v1 as core_v1;
use support::*;

fn valid() -> (String, String) {
    ("valid".into(), "valid IngressRoute".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_is_written_once_and_not_rewritten_when_unchanged() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    let running = start_ready(&api, settings()).await;
    eventually("the status is written", || {
        status_of(&api, "apps", "web") == Some(valid())
    })
    .await;

    // Rebuilds for other reasons, and the echo of the write itself, change nothing.
    api.apply(&service("apps", "other", "http", 80));
    api.apply(&root(
        "apps",
        "other",
        "other.example.com",
        vec![route("/", "other", 80)],
    ));
    eventually("the other status is written", || {
        status_of(&api, "apps", "other") == Some(valid())
    })
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(api.status_writes_of("apps", "web"), 1);
    assert_eq!(api.status_writes_of("apps", "other"), 1);
    assert_eq!(running.metrics().status_writes().ok, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_is_a_merge_patch_of_the_status_subresource_alone() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    let mut web = root("apps", "web", "web.example.com", vec![route("/", "web", 80)]);
    web.metadata.labels = Some([("team".to_owned(), "a".to_owned())].into());
    api.apply(&web);
    let _running = start_ready(&api, settings()).await;
    eventually("the status is written", || {
        status_of(&api, "apps", "web") == Some(valid())
    })
    .await;

    let patches = api.status_patches();
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0].content_type, "application/merge-patch+json");
    assert_eq!(
        patches[0].body,
        serde_json::json!({"status": {"currentStatus": "valid", "description": "valid IngressRoute"}})
    );
    assert!(api.requests().iter().any(|r| r.method == "PATCH"
        && r.path == "/apis/contour.heptio.com/v1beta1/namespaces/apps/ingressroutes/web/status"));
    let stored: IngressRoute = api.get("apps", "web").unwrap();
    assert_eq!(stored.spec, web.spec);
    assert_eq!(stored.metadata.labels, web.metadata.labels);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_status_write_is_retried() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    api.conflict_status_patches("apps", "web", 3);
    let running = start_ready(&api, settings()).await;

    eventually("the status is written in the end", || {
        status_of(&api, "apps", "web") == Some(valid())
    })
    .await;
    let codes: Vec<u16> = api.status_patches().iter().map(|p| p.code).collect();
    assert_eq!(codes, [409, 409, 409, 200]);
    assert_eq!(running.metrics().status_writes().conflict, 3);
    assert_eq!(running.metrics().status_writes().ok, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_equal_to_the_objects_is_never_written() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    let mut web = root("apps", "web", "web.example.com", vec![route("/", "web", 80)]);
    web.status = Some(IngressRouteStatus {
        current_status: "valid".into(),
        description: "valid IngressRoute".into(),
    });
    api.apply(&web);
    let running = start_ready(&api, settings()).await;
    tokio::time::sleep(QUIET).await;
    assert!(api.status_patches().is_empty());
    assert_eq!(running.metrics().status_writes().ok, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_only_update_causes_no_rebuild() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    let running = start_ready(&api, settings()).await;
    eventually("the status is written", || {
        status_of(&api, "apps", "web") == Some(valid())
    })
    .await;
    // The write comes back as a watch event that changed only the status and the
    // resourceVersion: two objects listed, then that one event.
    eventually("the write's echo arrived", || running.metrics().events() == 3).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(running.metrics().rebuilds(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_changed_by_someone_else_is_written_back() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    let _running = start_ready(&api, settings()).await;
    eventually("the status is written", || {
        status_of(&api, "apps", "web") == Some(valid())
    })
    .await;

    let mut tampered: IngressRoute = api.get("apps", "web").unwrap();
    tampered.status = Some(IngressRouteStatus {
        current_status: "invalid".into(),
        description: "written by someone else".into(),
    });
    api.apply(&tampered);
    eventually("the status is written back", || {
        api.status_writes_of("apps", "web") == 2
    })
    .await;
    assert_eq!(status_of(&api, "apps", "web"), Some(valid()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_follow_the_objects() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root(
        "apps",
        "web",
        "web.example.com",
        vec![delegate("/api", "teams", "api")],
    ));
    api.apply(&child("teams", "api", vec![route("/api", "api", 80)]));
    api.apply(&child("teams", "lonely", vec![route("/", "api", 80)]));
    let _running = start_ready(&api, settings()).await;
    eventually("every status is written", || {
        status_of(&api, "teams", "lonely").is_some() && status_of(&api, "teams", "api").is_some()
    })
    .await;
    assert_eq!(
        status_of(&api, "teams", "lonely").unwrap().0,
        "orphaned",
        "a child nothing delegates to"
    );
    assert_eq!(
        status_of(&api, "teams", "api").unwrap(),
        ("invalid".into(), "Service [api:80] is invalid or missing".into())
    );

    api.apply(&service("teams", "api", "http", 80));
    eventually("the child turns valid", || {
        status_of(&api, "teams", "api") == Some(valid())
    })
    .await;

    api.delete::<core_v1::Service>("teams", "api");
    eventually("the child turns invalid again", || {
        status_of(&api, "teams", "api").is_some_and(|(s, _)| s == "invalid")
    })
    .await;

    // A deleted IngressRoute is simply forgotten; nothing is written for it.
    let before = api.status_patches().len();
    api.delete::<IngressRoute>("teams", "lonely");
    tokio::time::sleep(QUIET).await;
    assert!(api.status_patches()[before..].iter().all(|p| p.name != "lonely"));
}
