//! Leader election: two controllers on one API server; only the Lease holder writes
//! statuses, and the other takes over when it dies or leaves. Both serve xDS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::time::Duration;

use ingressroute_controller::Settings;
use ingressroute_controller::settings::LeaderElection;
use k8s_openapi::api::coordination::v1::Lease;
use support::*;

/// Settings of a replica named `identity`, with short Lease timings.
fn replica(identity: &str, lease: Duration) -> Settings {
    let mut election = LeaderElection::default();
    election.identity = identity.into();
    election.lease_name = "ingressroute".into();
    election.lease_duration = lease;
    election.renew_deadline = lease / 2;
    election.retry_period = Duration::from_millis(100);
    let mut settings = settings();
    settings.leader_election = Some(election);
    settings
}

fn holder(api: &FakeApi) -> Option<String> {
    api.get::<Lease>("ingressroute-system", "ingressroute")?
        .spec?
        .holder_identity
}

async fn leads(running: &ingressroute_controller::Running, within: Duration) {
    tokio::time::timeout(within, running.leading(true))
        .await
        .expect("never became the leader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_writes_and_the_other_takes_over_when_it_dies() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "first", "first.example.com", vec![route("/", "web", 80)]));
    let a = start_ready(&api, replica("a", Duration::from_secs(2))).await;
    leads(&a, PATIENCE).await;
    let b = start_ready(&api, replica("b", Duration::from_secs(2))).await;
    eventually("the leader writes the status", || {
        status_of(&api, "apps", "first").is_some()
    })
    .await;
    tokio::time::sleep(QUIET).await;
    assert!(!b.is_leader());
    assert_eq!(a.metrics().status_writes().ok, 1);
    assert_eq!(b.metrics().status_writes().ok, 0);
    assert!(b.snapshot().is_some(), "the follower serves xDS too");
    assert_eq!(holder(&api).as_deref(), Some("a"));

    // The leader dies without a word; meanwhile a new status becomes due.
    a.abort();
    api.apply(&root(
        "apps",
        "second",
        "second.example.com",
        vec![route("/", "web", 80)],
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(status_of(&api, "apps", "second").is_none(), "nobody leads yet");

    leads(&b, Duration::from_secs(5)).await;
    eventually("the new leader writes what was pending", || {
        status_of(&api, "apps", "second").is_some()
    })
    .await;
    assert_eq!(b.metrics().status_writes().ok, 1);
    assert_eq!(holder(&api).as_deref(), Some("b"));
    let lease = api
        .get::<Lease>("ingressroute-system", "ingressroute")
        .unwrap()
        .spec
        .unwrap();
    assert_eq!(lease.lease_duration_seconds, Some(2));
    assert_eq!(lease.lease_transitions, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_shuts_down_hands_the_lease_over_at_once() {
    let api = FakeApi::start().await;
    let a = start_ready(&api, replica("a", Duration::from_secs(30))).await;
    leads(&a, PATIENCE).await;
    let b = start_ready(&api, replica("b", Duration::from_secs(30))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!b.is_leader());

    a.shutdown().await;
    // Far sooner than the 30 s the Lease would take to expire.
    leads(&b, Duration::from_secs(3)).await;
    assert_eq!(holder(&api).as_deref(), Some("b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_cannot_renew_stops_writing() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    let a = start_ready(&api, replica("a", Duration::from_secs(2))).await;
    leads(&a, PATIENCE).await;

    api.make_unavailable("/apis/coordination.k8s.io/");
    tokio::time::timeout(Duration::from_secs(5), a.leading(false))
        .await
        .expect("still leading without a Lease");
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    tokio::time::sleep(QUIET).await;
    assert!(
        status_of(&api, "apps", "web").is_none(),
        "a former leader wrote a status"
    );

    api.restore();
    leads(&a, Duration::from_secs(5)).await;
    eventually("the status is written once leading again", || {
        status_of(&api, "apps", "web").is_some()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lease_write_names_the_controller_as_field_manager() {
    let api = FakeApi::start().await;
    let a = start_ready(&api, replica("a", Duration::from_secs(2))).await;
    leads(&a, PATIENCE).await;
    let lease_writes = || {
        api.requests()
            .into_iter()
            .filter(|r| r.path.contains("/leases") && (r.method == "POST" || r.method == "PUT"))
            .collect::<Vec<_>>()
    };
    // Created, renewed at least once, then handed back.
    eventually("the lease is renewed", || {
        lease_writes().iter().any(|r| r.method == "PUT")
    })
    .await;
    a.shutdown().await;
    assert_eq!(holder(&api), None, "handed back");
    let writes = lease_writes();
    assert!(writes.iter().any(|r| r.method == "POST"), "{writes:?}");
    for write in &writes {
        assert_eq!(
            write.param("fieldManager").as_deref(),
            Some("ingressroute-controller"),
            "{write:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_names_the_controller_and_its_version_as_user_agent() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));
    let a = start_ready(&api, replica("a", Duration::from_secs(2))).await;
    leads(&a, PATIENCE).await;
    eventually("the status is written", || status_of(&api, "apps", "web").is_some()).await;
    a.shutdown().await;

    let requests = api.requests();
    let expected = format!("ingressroute-controller/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(ingressroute_controller::USER_AGENT, expected);
    for method in ["GET", "POST", "PUT", "PATCH"] {
        assert!(
            requests.iter().any(|r| r.method == method),
            "no {method} in {requests:?}"
        );
    }
    assert!(requests.iter().any(|r| r.param("watch").as_deref() == Some("true")));
    for request in &requests {
        assert_eq!(request.user_agent.as_deref(), Some(expected.as_str()), "{request:?}");
    }
}
