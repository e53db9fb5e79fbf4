//! `/debug/dag`: the live delegation graph on the metrics listener, in every format,
//! following the cluster.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_graph_is_served_as_dot_and_in_every_other_format() {
    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&root(
        "apps",
        "web",
        "web.example.com",
        vec![route("/", "web", 80), delegate("/api", "teams", "api")],
    ));
    api.apply(&child("teams", "api", vec![route("/api", "missing", 80)]));
    api.apply(&child("teams", "lonely", vec![route("/", "web", 80)]));
    let running = start_ready(&api, settings()).await;

    let (code, dot) = http_get(running.metrics_address(), "/debug/dag").await;
    assert_eq!(code, 200, "{dot}");
    assert!(dot.starts_with("digraph ingressroute {"), "{dot}");
    assert!(
        dot.contains("\"IngressRoute/apps/web\" -> \"IngressRoute/teams/api\" [label=\"/api\"];"),
        "{dot}"
    );
    assert!(dot.contains("label=\"Service\\nteams/missing\\nmissing\""), "{dot}");

    let (code, json) = http_get(running.metrics_address(), "/debug/dag?format=json").await;
    assert_eq!(code, 200);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let status = |id: &str| {
        json["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == id)
            .map(|n| n["status"].clone())
    };
    assert_eq!(status("IngressRoute/apps/web"), Some("valid".into()));
    assert_eq!(status("IngressRoute/teams/api"), Some("invalid".into()));
    assert_eq!(status("IngressRoute/teams/lonely"), Some("orphaned".into()));

    let (code, svg) = http_get(running.metrics_address(), "/debug/dag?format=svg").await;
    assert_eq!(code, 200);
    assert!(svg.contains("data-id=\"IngressRoute/teams/lonely\""), "{svg}");
    let (code, mermaid) = http_get(running.metrics_address(), "/debug/dag?format=mermaid").await;
    assert_eq!(code, 200);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    let (code, error) = http_get(running.metrics_address(), "/debug/dag?format=png").await;
    assert_eq!(code, 400);
    assert!(error.contains("unknown graph format \"png\""), "{error}");

    let (code, focused) = http_get(running.metrics_address(), "/debug/dag?focus=teams/api&format=json").await;
    assert_eq!(code, 200);
    let focused: serde_json::Value = serde_json::from_str(&focused).unwrap();
    let ids: Vec<&str> = focused["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "IngressRoute/apps/web",
            "IngressRoute/teams/api",
            "Service/teams/missing"
        ]
    );
    let (code, error) = http_get(running.metrics_address(), "/debug/dag?focus=teams/absent").await;
    assert_eq!(code, 404);
    assert_eq!(error, "no object teams/absent in the graph\n");

    // It follows the cluster: a new child appears once rebuilt.
    api.apply(&child("teams", "newcomer", vec![route("/", "web", 80)]));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !http_get(running.metrics_address(), "/debug/dag")
        .await
        .1
        .contains("IngressRoute/teams/newcomer")
    {
        assert!(tokio::time::Instant::now() < deadline, "the new child was never drawn");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_is_on_the_metrics_listener_only() {
    let api = FakeApi::start().await;
    let mut settings = settings();
    settings.health_address = "127.0.0.1:0".parse().unwrap();
    settings.metrics_address = "127.0.0.2:0".parse().unwrap();
    let running = start_ready(&api, settings).await;
    assert_eq!(http_get(running.health_address(), "/debug/dag").await.0, 404);
    let (code, dot) = http_get(running.metrics_address(), "/debug/dag").await;
    assert_eq!(code, 200);
    assert!(dot.starts_with("digraph ingressroute {"), "{dot}");
}
