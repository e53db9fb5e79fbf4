//! Status writing: only when it changed, retried on conflict, never touching anything but
//! `status`; through the status subresource under our CRD, through the object under
//! Contour v1.0.1's CRD (which has none), and following a CRD replaced while running.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};

use ingressroute_api::{IngressRoute, IngressRouteStatus};
use k8s_openapi::api::core::v1 as core_v1;
use support::*;

fn valid() -> (String, String) {
    ("valid".into(), "valid IngressRoute".into())
}

/// The IngressRoute CRD installed in the fake cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crd {
    /// `examples/deploy/00-crds.yaml`: with a status subresource.
    Ours,
    /// Contour v1.0.1's: `subresources: {}`.
    Contours,
}

async fn cluster(crd: Crd) -> FakeApi {
    let api = FakeApi::start().await;
    api.set_status_subresource(crd == Crd::Ours);
    api
}

/// Where statuses of `namespace/name` go under `crd`.
fn status_path(crd: Crd, namespace: &str, name: &str) -> String {
    let object = format!("/apis/contour.heptio.com/v1beta1/namespaces/{namespace}/ingressroutes/{name}");
    match crd {
        Crd::Ours => format!("{object}/status"),
        Crd::Contours => object,
    }
}

/// The successful IngressRoute patches, as `(path they went to, count)`-comparable paths.
fn patched_paths(api: &FakeApi) -> Vec<String> {
    api.requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.path)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_is_written_once_and_not_rewritten_when_unchanged() {
    written_once_and_not_rewritten_when_unchanged(Crd::Ours).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_status_subresource_a_status_is_written_once_and_not_rewritten_when_unchanged() {
    written_once_and_not_rewritten_when_unchanged(Crd::Contours).await;
}

async fn written_once_and_not_rewritten_when_unchanged(crd: Crd) {
    let api = cluster(crd).await;
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
    let paths = patched_paths(&api);
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths.contains(&status_path(crd, "apps", "web")), "{paths:?}");
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
    let request = api.requests().into_iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(
        request.path,
        "/apis/contour.heptio.com/v1beta1/namespaces/apps/ingressroutes/web/status"
    );
    assert_eq!(
        request.param("fieldManager").as_deref(),
        Some("ingressroute-controller")
    );
    let stored: IngressRoute = api.get("apps", "web").unwrap();
    assert_eq!(stored.spec, web.spec);
    assert_eq!(stored.metadata.labels, web.metadata.labels);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_status_subresource_a_status_is_a_merge_patch_of_the_object_holding_only_status() {
    let api = cluster(Crd::Contours).await;
    api.apply(&service("apps", "web", "http", 80));
    let mut web = root("apps", "web", "web.example.com", vec![route("/", "web", 80)]);
    web.metadata.labels = Some([("team".to_owned(), "a".to_owned())].into());
    api.apply(&web);
    let _running = start_ready(&api, settings()).await;
    eventually("the status is written", || {
        status_of(&api, "apps", "web") == Some(valid())
    })
    .await;

    // As Contour v1.0.1: `{"status": ...}` merged into the object, no resourceVersion.
    let patches = api.status_patches();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0].subresource, None);
    assert_eq!(patches[0].content_type, "application/merge-patch+json");
    assert_eq!(
        patches[0].body,
        serde_json::json!({"status": {"currentStatus": "valid", "description": "valid IngressRoute"}})
    );
    let request = api.requests().into_iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(
        request.path,
        "/apis/contour.heptio.com/v1beta1/namespaces/apps/ingressroutes/web"
    );
    assert_eq!(
        request.param("fieldManager").as_deref(),
        Some("ingressroute-controller")
    );
    // Discovery said so before any write: no 404 from `/status` first.
    assert!(api.requests().iter().all(|r| !r.path.ends_with("/status")));
    let stored: IngressRoute = api.get("apps", "web").unwrap();
    assert_eq!(stored.spec, web.spec);
    assert_eq!(stored.metadata.labels, web.metadata.labels);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_status_write_is_retried() {
    conflicting_write_is_retried(Crd::Ours).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_status_subresource_a_conflicting_status_write_is_retried() {
    conflicting_write_is_retried(Crd::Contours).await;
}

async fn conflicting_write_is_retried(crd: Crd) {
    let api = cluster(crd).await;
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
    // The controller counts the write once it has the answer.
    eventually("the write is counted", || running.metrics().status_writes().ok == 1).await;
    assert_eq!(running.metrics().status_writes().conflict, 3);
    assert!(
        patched_paths(&api)
            .iter()
            .all(|p| *p == status_path(crd, "apps", "web"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_equal_to_the_objects_is_never_written() {
    equal_status_is_never_written(Crd::Ours).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_status_subresource_a_status_equal_to_the_objects_is_never_written() {
    equal_status_is_never_written(Crd::Contours).await;
}

async fn equal_status_is_never_written(crd: Crd) {
    let api = cluster(crd).await;
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
    follow_the_objects(Crd::Ours).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_status_subresource_statuses_follow_the_objects() {
    follow_the_objects(Crd::Contours).await;
}

async fn follow_the_objects(crd: Crd) {
    let api = cluster(crd).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_from_the_status_subresource_of_an_existing_object_switches_to_the_object() {
    let api = cluster(Crd::Ours).await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    let running = start_ready(&api, settings()).await;
    eventually("the status is written", || {
        status_of(&api, "apps", "web") == Some(valid())
    })
    .await;

    // Contour's CRD replaces ours while the controller runs.
    api.set_status_subresource(false);
    api.apply(&root("apps", "other", "other.example.com", vec![route("/", "web", 80)]));
    eventually("the new status is written", || {
        status_of(&api, "apps", "other") == Some(valid())
    })
    .await;
    let attempts: Vec<(Option<String>, u16)> = api
        .status_patches()
        .iter()
        .filter(|p| p.name == "other")
        .map(|p| (p.subresource.clone(), p.code))
        .collect();
    assert_eq!(attempts, [(Some("status".to_owned()), 404), (None, 200)]);
    eventually("the write is counted", || running.metrics().status_writes().ok == 2).await;
    let writes = running.metrics().status_writes();
    assert_eq!(
        (writes.not_found, writes.error),
        (0, 1),
        "the 404 is a failed attempt, not a gone object"
    );

    // And the next status goes to the object at once.
    api.apply(&root("apps", "third", "third.example.com", vec![route("/", "web", 80)]));
    eventually("the third status is written", || {
        status_of(&api, "apps", "third") == Some(valid())
    })
    .await;
    let third: Vec<_> = api.status_patches().into_iter().filter(|p| p.name == "third").collect();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].subresource, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_from_the_status_subresource_of_a_deleted_object_is_not_found() {
    let api = cluster(Crd::Ours).await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    // Three conflicts leave the test 700 ms of backoff to delete the object; the
    // controller does not hear of the deletion before it retries.
    api.conflict_status_patches("apps", "web", 3);
    let running = start_ready(&api, settings()).await;
    eventually("the first attempt conflicted", || !api.status_patches().is_empty()).await;
    api.delete_quietly::<IngressRoute>("apps", "web");
    eventually("the last retry finds it gone", || {
        running.metrics().status_writes().not_found == 1
    })
    .await;
    let attempts: Vec<(Option<String>, u16)> = api
        .status_patches()
        .iter()
        .map(|p| (p.subresource.clone(), p.code))
        .collect();
    let status = || Some("status".to_owned());
    assert_eq!(
        attempts,
        [(status(), 409), (status(), 409), (status(), 409), (status(), 404)]
    );
    assert_eq!(running.metrics().status_writes().error, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crd_that_gains_the_status_subresource_is_written_through_it() {
    let api = cluster(Crd::Contours).await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    let _running = start_ready(&api, settings()).await;
    eventually("the status is written", || {
        status_of(&api, "apps", "web") == Some(valid())
    })
    .await;

    // `kubectl apply -f examples/deploy/00-crds.yaml`: the object now ignores `status`.
    api.set_status_subresource(true);
    api.apply(&root("apps", "other", "other.example.com", vec![route("/", "web", 80)]));
    eventually("the new status is written", || {
        status_of(&api, "apps", "other") == Some(valid())
    })
    .await;
    let attempts: Vec<(Option<String>, u16)> = api
        .status_patches()
        .iter()
        .filter(|p| p.name == "other")
        .map(|p| (p.subresource.clone(), p.code))
        .collect();
    assert_eq!(attempts, [(None, 200), (Some("status".to_owned()), 200)]);
}

/// What the code under test logged, as text.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures this thread's logs at INFO and above until the guard drops: with a
    /// current-thread runtime, every task of the controller logs here.
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Runs a controller against `crd` until three statuses are written; its logs.
async fn logs_writing_three_statuses(crd: Crd) -> Vec<String> {
    let logs = Logs::default();
    let _guard = logs.capture();
    let api = cluster(crd).await;
    api.apply(&service("apps", "web", "http", 80));
    for name in ["a", "b", "c"] {
        api.apply(&root(
            "apps",
            name,
            &format!("{name}.example.com"),
            vec![route("/", "web", 80)],
        ));
    }
    let running = start_ready(&api, settings()).await;
    eventually("every status is written", || running.metrics().status_writes().ok == 3).await;
    running.shutdown().await;
    logs.lines()
}

#[tokio::test]
async fn without_a_status_subresource_one_warning_at_start_says_how_to_switch() {
    let lines = logs_writing_three_statuses(Crd::Contours).await;
    let warnings: Vec<&String> = lines.iter().filter(|l| l.contains("status subresource")).collect();
    assert_eq!(warnings.len(), 1, "{lines:#?}");
    let warning = warnings[0];
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("at start"), "{warning}");
    assert!(warning.contains("status_mode=\"object\""), "{warning}");
    assert!(
        warning.contains("kubectl apply -f examples/deploy/00-crds.yaml"),
        "{warning}"
    );
}

#[tokio::test]
async fn with_a_status_subresource_the_mode_is_logged_once_at_info() {
    let lines = logs_writing_three_statuses(Crd::Ours).await;
    let notes: Vec<&String> = lines.iter().filter(|l| l.contains("status subresource")).collect();
    assert_eq!(notes.len(), 1, "{lines:#?}");
    assert!(notes[0].contains("INFO"), "{}", notes[0]);
    assert!(notes[0].contains("status_mode=\"subresource\""), "{}", notes[0]);
    assert!(lines.iter().all(|l| !l.contains("WARN")), "{lines:#?}");
}
