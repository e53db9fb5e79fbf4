//! Plain HTTP features, on one shared Envoy that `serve --envoy` starts (state-of-the-world
//! ADS). Each test has virtual hosts and backends of its own.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Weak};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::support::client::Connection;
use crate::support::manifests::{external_name, service};
use crate::support::world::{Lease, shared};
use crate::support::{Setup, World, eventually, eventually_within};

static WORLD: LazyLock<tokio::sync::Mutex<Weak<World>>> = LazyLock::new(Default::default);

async fn world() -> Option<Lease> {
    shared(&WORLD, || async {
        let mut s = Setup::new("http")?;
        let [a, b, c, team] = ["a", "b", "c", "team"].map(|name| s.http(name));
        let [w1, w2] = ["w1", "w2"].map(|name| s.http(name));
        let flaky = s.flaky("flaky");
        let [sticky1, sticky2] = ["sticky-1", "sticky-2"].map(|name| s.http(name));
        let [healthy1, healthy2] = ["healthy-1", "healthy-2"].map(|name| s.http(name));
        let ws = s.websocket("ws");

        s.file(
            "services.yaml",
            [
                service("default", "a", &[&a]),
                service("default", "b", &[&b]),
                service("default", "c", &[&c]),
                service("team", "team", &[&team]),
                service("default", "w1", &[&w1]),
                service("default", "w2", &[&w2]),
                service("default", "flaky", &[&flaky]),
                service("default", "sticky", &[&sticky1, &sticky2]),
                service("default", "health", &[&healthy1, &healthy2]),
                service("default", "ws", &[&ws]),
                external_name("default", "loopback", "localhost", 80),
            ]
            .concat(),
        );
        s.file("hosts.yaml", HOSTS);
        s.file("prefixes.yaml", PREFIXES);
        s.file("delegation.yaml", DELEGATION);
        s.file("aliases.yaml", ALIASES);
        s.file("weights.yaml", WEIGHTS);
        s.file("rewrite.yaml", REWRITE);
        s.file("timeouts-retries.yaml", TIMEOUTS_RETRIES);
        s.file("affinity.yaml", AFFINITY);
        s.file("health.yaml", HEALTH);
        s.file("websockets.yaml", WEBSOCKETS);
        s.file("externalname.yaml", EXTERNAL_NAME);
        Some(s.start().await)
    })
    .await
}

/// The backend that answers `GET http://<host><path>`, once the route is there.
async fn backend_of(world: &World, host: &str, path: &str) -> String {
    eventually(&format!("{host}{path} to be served"), || async {
        world.get(host, path).await?.backend()
    })
    .await
}

const HOSTS: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: host-a, namespace: default}
spec:
  virtualhost: {fqdn: a.example.com}
  routes:
  - match: /
    services: [{name: a, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: host-b, namespace: default}
spec:
  virtualhost: {fqdn: b.example.com}
  routes:
  - match: /
    services: [{name: b, port: 80}]
";

#[tokio::test]
async fn host_routing_sends_each_fqdn_to_its_own_backend_and_other_hosts_get_404() {
    let Some(world) = world().await else { return };
    assert_eq!(backend_of(&world, "a.example.com", "/").await, "a");
    assert_eq!(backend_of(&world, "b.example.com", "/x").await, "b");
    let echo = world
        .get("a.example.com", "/some/path?q=1")
        .await
        .unwrap()
        .echo()
        .unwrap();
    assert_eq!(
        (echo.path.as_str(), echo.headers["host"].as_str()),
        ("/some/path?q=1", "a.example.com")
    );
    let unknown = world.get("unknown.example.com", "/").await.unwrap();
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn a_host_matches_its_fqdn_whatever_its_case_and_port() {
    let Some(world) = world().await else { return };
    assert_eq!(backend_of(&world, "a.example.com", "/").await, "a");
    for host in ["A.Example.COM", "a.example.com:8080", "B.EXAMPLE.com:80"] {
        let response = world.get(host, "/").await.unwrap();
        assert_eq!(response.status, 200, "{host}: {}", response.body);
        let echo = response.echo().unwrap();
        let expected = if host.starts_with(['a', 'A']) { "a" } else { "b" };
        assert_eq!(response.backend().unwrap(), expected, "{host}");
        // Only a mixed-case host is lowercased on its way (Envoy's scopes are keyed by the
        // lowercased fqdn); the port is kept.
        assert_eq!(echo.headers["host"], host.to_ascii_lowercase(), "{host}");
    }
    let unknown = world.get("A.Example.COM.other", "/").await.unwrap();
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    world.assert_no_rejected_updates().await;
}

const PREFIXES: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: prefixes, namespace: default}
spec:
  virtualhost: {fqdn: prefixes.example.com}
  routes:
  - match: /
    services: [{name: a, port: 80}]
  - match: /api/v2
    services: [{name: c, port: 80}]
  - match: /api
    services: [{name: b, port: 80}]
";

#[tokio::test]
async fn the_longest_matching_prefix_wins_whatever_the_order_of_the_routes() {
    let Some(world) = world().await else { return };
    assert_eq!(backend_of(&world, "prefixes.example.com", "/").await, "a");
    for (path, expected) in [
        ("/index.html", "a"),
        ("/api", "b"),
        ("/api/users", "b"),
        ("/api/v2", "c"),
        ("/api/v2/users", "c"),
        ("/other/api", "a"),
    ] {
        assert_eq!(
            world
                .get("prefixes.example.com", path)
                .await
                .unwrap()
                .backend()
                .unwrap(),
            expected,
            "{path}"
        );
    }
    world.assert_no_rejected_updates().await;
}

const DELEGATION: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: delegating, namespace: default}
spec:
  virtualhost: {fqdn: delegation.example.com}
  routes:
  - match: /
    delegate: {name: same-namespace-child}
  - match: /team
    delegate: {name: team-child, namespace: team}
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: same-namespace-child, namespace: default}
spec:
  routes:
  - match: /
    services: [{name: c, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: team-child, namespace: team}
spec:
  routes:
  - match: /team
    services: [{name: team, port: 80}]
";

#[tokio::test]
async fn delegation_within_a_namespace_serves_the_childs_routes() {
    let Some(world) = world().await else { return };
    assert_eq!(backend_of(&world, "delegation.example.com", "/").await, "c");
    assert_eq!(
        world
            .get("delegation.example.com", "/anything")
            .await
            .unwrap()
            .backend()
            .unwrap(),
        "c"
    );
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn delegation_across_namespaces_serves_the_other_namespaces_service() {
    let Some(world) = world().await else { return };
    assert_eq!(backend_of(&world, "delegation.example.com", "/team").await, "team");
    assert_eq!(
        world
            .get("delegation.example.com", "/team/members")
            .await
            .unwrap()
            .backend()
            .unwrap(),
        "team"
    );
    world.assert_no_rejected_updates().await;
}

const ALIASES: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: alias-www, namespace: default}
spec:
  virtualhost: {fqdn: www.alias.example.com}
  routes:
  - match: /
    delegate: {name: alias-shared}
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: alias-bare, namespace: default}
spec:
  virtualhost: {fqdn: alias.example.com}
  routes:
  - match: /
    delegate: {name: alias-shared}
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: alias-shared, namespace: default}
spec:
  routes:
  - match: /
    services: [{name: b, port: 80}]
  - match: /static
    services: [{name: c, port: 80}]
";

#[tokio::test]
async fn aliases_serve_the_same_delegated_routes_under_both_names() {
    let Some(world) = world().await else { return };
    for host in ["www.alias.example.com", "alias.example.com"] {
        assert_eq!(backend_of(&world, host, "/").await, "b", "{host}");
        assert_eq!(
            world.get(host, "/static/logo.png").await.unwrap().backend().unwrap(),
            "c",
            "{host}"
        );
    }
    world.assert_no_rejected_updates().await;
}

const WEIGHTS: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: weights, namespace: default}
spec:
  virtualhost: {fqdn: weights.example.com}
  routes:
  - match: /
    services:
    - {name: w1, port: 80, weight: 20}
    - {name: w2, port: 80, weight: 80}
  - match: /even
    services:
    - {name: w1, port: 80}
    - {name: w2, port: 80}
";

/// How many of `count` requests each backend answered.
async fn spread(world: &World, host: &str, path: &str, count: usize) -> BTreeMap<String, usize> {
    let mut connection = Connection::plain(world.http).await.unwrap();
    let mut counts = BTreeMap::new();
    for _ in 0..count {
        let backend = connection.get(host, path, &[]).await.unwrap().backend().unwrap();
        *counts.entry(backend).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn weights_split_2000_requests_within_five_percent() {
    let Some(world) = world().await else { return };
    backend_of(&world, "weights.example.com", "/").await;
    let counts = spread(&world, "weights.example.com", "/", 2000).await;
    let share = |name: &str| counts.get(name).copied().unwrap_or_default() as f64 / 2000.0;
    assert!((share("w1") - 0.20).abs() <= 0.05, "{counts:?}");
    assert!((share("w2") - 0.80).abs() <= 0.05, "{counts:?}");

    // Without weights, the services share the traffic equally.
    let counts = spread(&world, "weights.example.com", "/even", 2000).await;
    let share = |name: &str| counts.get(name).copied().unwrap_or_default() as f64 / 2000.0;
    assert!((share("w1") - 0.5).abs() <= 0.05, "{counts:?}");
    world.assert_no_rejected_updates().await;
}

const REWRITE: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: rewrite, namespace: default}
spec:
  virtualhost: {fqdn: rewrite.example.com}
  routes:
  - match: /old
    prefixRewrite: /new
    services: [{name: a, port: 80}]
";

#[tokio::test]
async fn a_prefix_rewrite_changes_the_path_the_backend_sees_and_keeps_the_original() {
    let Some(world) = world().await else { return };
    backend_of(&world, "rewrite.example.com", "/old").await;
    let echo = world
        .get("rewrite.example.com", "/old/page?x=1")
        .await
        .unwrap()
        .echo()
        .unwrap();
    assert_eq!(echo.path, "/new/page?x=1");
    assert_eq!(echo.headers["x-envoy-original-path"], "/old/page?x=1");
    world.assert_no_rejected_updates().await;
}

const TIMEOUTS_RETRIES: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: timeouts-retries, namespace: default}
spec:
  virtualhost: {fqdn: resilience.example.com}
  routes:
  - match: /slow
    timeoutPolicy: {request: 500ms}
    services: [{name: a, port: 80}]
  - match: /retried
    retryPolicy: {count: 3}
    services: [{name: flaky, port: 80}]
  - match: /fragile
    services: [{name: flaky, port: 80}]
";

#[tokio::test]
async fn a_request_timeout_answers_504_when_the_backend_is_too_slow() {
    let Some(world) = world().await else { return };
    assert_eq!(backend_of(&world, "resilience.example.com", "/slow").await, "a");
    let started = Instant::now();
    let response = world
        .get("resilience.example.com", "/slow?delay_ms=5000")
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(response.status, 504, "{}", response.body);
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "answered after {took:?}"
    );
    let quick = world.get("resilience.example.com", "/slow?delay_ms=50").await.unwrap();
    assert_eq!(quick.status, 200);
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn retries_hide_a_backend_that_fails_every_other_request() {
    let Some(world) = world().await else { return };
    eventually("/retried to be served", || async {
        let response = world.get("resilience.example.com", "/retried").await?;
        (response.status == 200)
            .then_some(())
            .ok_or(format!("{}", response.status))
    })
    .await;
    let flaky = world.backend("flaky");
    let before = flaky.hits();
    for i in 0..10 {
        let response = world.get("resilience.example.com", "/retried").await.unwrap();
        assert_eq!(response.status, 200, "request {i}: {}", response.body);
    }
    assert!(
        flaky.hits() - before >= 15,
        "retries reached the backend: {}",
        flaky.hits() - before
    );

    // The same backend without a retry policy fails every other request.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(world.get("resilience.example.com", "/fragile").await.unwrap().status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 5, "{statuses:?}");
    world.assert_no_rejected_updates().await;
}

const AFFINITY: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: sticky, namespace: default}
spec:
  virtualhost: {fqdn: sticky.example.com}
  routes:
  - match: /
    services: [{name: sticky, port: 80, strategy: Cookie}]
";

#[tokio::test]
async fn cookie_affinity_keeps_a_client_on_one_backend() {
    let Some(world) = world().await else { return };
    backend_of(&world, "sticky.example.com", "/").await;

    // Without the cookie, every request may land anywhere (and gets a new cookie).
    let mut seen = BTreeMap::<String, usize>::new();
    let mut cookie = None;
    for _ in 0..60 {
        let response = world.get("sticky.example.com", "/").await.unwrap();
        *seen.entry(response.backend().unwrap()).or_default() += 1;
        let set_cookie = response.header("set-cookie").expect("a session cookie").to_owned();
        assert!(set_cookie.starts_with("X-Contour-Session-Affinity="), "{set_cookie}");
        cookie.get_or_insert(set_cookie.split(';').next().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 2, "both backends serve new clients: {seen:?}");

    // With it, every request lands on the same backend.
    let cookie = cookie.unwrap();
    let mut connection = Connection::plain(world.http).await.unwrap();
    let mut backends = BTreeMap::<String, usize>::new();
    for _ in 0..40 {
        let response = connection
            .get("sticky.example.com", "/", &[("cookie", &cookie)])
            .await
            .unwrap();
        *backends.entry(response.backend().unwrap()).or_default() += 1;
    }
    assert_eq!(backends.len(), 1, "{cookie} sticks to one backend: {backends:?}");
    world.assert_no_rejected_updates().await;
}

const HEALTH: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: health, namespace: default}
spec:
  virtualhost: {fqdn: health.example.com}
  routes:
  - match: /
    services:
    - name: health
      port: 80
      healthCheck:
        path: /healthz
        intervalSeconds: 1
        timeoutSeconds: 1
        unhealthyThresholdCount: 1
        healthyThresholdCount: 1
";

/// How long Envoy may take to act on a health check that fails. Envoy checks a cluster
/// that has never carried traffic only every `no_traffic_interval` (60 s by default, and
/// the translation does not set it), so the first check after the one at startup may come
/// a minute later, whatever `intervalSeconds` says; after that, checks run every second.
const HEALTH_PATIENCE: Duration = Duration::from_secs(90);

#[tokio::test]
async fn an_unhealthy_backend_stops_receiving_traffic_and_gets_it_back_when_healthy() {
    let Some(world) = world().await else { return };
    let healthy2 = world.backend("healthy-2");
    let both = || async {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..20 {
            seen.insert(world.get("health.example.com", "/").await?.backend()?);
        }
        (seen.len() == 2).then_some(()).ok_or(format!("only {seen:?}"))
    };
    eventually("both backends to serve", both).await;

    healthy2.set_healthy(false);
    let only_first = || async {
        for _ in 0..20 {
            let backend = world.get("health.example.com", "/").await?.backend()?;
            if backend != "healthy-1" {
                return Err(format!("{backend} still serves"));
            }
        }
        Ok(())
    };
    eventually_within(HEALTH_PATIENCE, "healthy-2 to be taken out", only_first).await;
    let hits = healthy2.hits();
    for _ in 0..30 {
        assert_eq!(
            world.get("health.example.com", "/").await.unwrap().backend().unwrap(),
            "healthy-1"
        );
    }
    assert_eq!(healthy2.hits(), hits, "the unhealthy backend got no request");

    healthy2.set_healthy(true);
    eventually_within(HEALTH_PATIENCE, "healthy-2 to be back", both).await;
    world.assert_no_rejected_updates().await;
}

const WEBSOCKETS: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: websockets, namespace: default}
spec:
  virtualhost: {fqdn: ws.example.com}
  routes:
  - match: /chat
    enableWebsockets: true
    services: [{name: ws, port: 80}]
  - match: /plain
    services: [{name: ws, port: 80}]
";

async fn websocket_echo(world: &World, path: &str) -> Result<String, String> {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;

    let stream = TcpStream::connect(world.http).await.map_err(|e| e.to_string())?;
    let (mut socket, response) = tokio_tungstenite::client_async(format!("ws://ws.example.com{path}"), stream)
        .await
        .map_err(|e| format!("upgrade refused: {e}"))?;
    assert_eq!(response.status(), 101);
    socket.send(Message::text("hello")).await.map_err(|e| e.to_string())?;
    match socket.next().await {
        Some(Ok(Message::Text(text))) => Ok(text.as_str().to_owned()),
        other => Err(format!("unexpected {other:?}")),
    }
}

#[tokio::test]
async fn websockets_upgrade_only_on_routes_that_enable_them() {
    let Some(world) = world().await else { return };
    let reply = eventually("the WebSocket route", || websocket_echo(&world, "/chat")).await;
    assert_eq!(reply, "ws: hello");
    // Envoy refuses an upgrade that the route does not allow.
    let refused = websocket_echo(&world, "/plain").await;
    assert!(refused.as_ref().is_err_and(|e| e.contains("403")), "{refused:?}");
    assert_eq!(
        world.backend("ws").hits(),
        1,
        "only the allowed upgrade reached the backend"
    );
    world.assert_no_rejected_updates().await;
}

const EXTERNAL_NAME: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: external, namespace: default}
spec:
  virtualhost: {fqdn: external.example.com}
  routes:
  - match: /
    services: [{name: loopback, port: 80}]
";

#[tokio::test]
async fn an_external_name_on_loopback_is_refused_by_default() {
    let Some(world) = world().await else { return };
    let line = world.wait_for_log(0, &["status: default/external: invalid"]).await;
    assert!(
        line.contains(r#"externalName \"localhost\" is not allowed"#)
            || line.contains(r#"externalName "localhost" is not allowed"#),
        "{line}"
    );
    // Other virtual hosts are served, this one is not.
    backend_of(&world, "a.example.com", "/").await;
    let response = world.get("external.example.com", "/").await.unwrap();
    assert_eq!(response.status, 404, "{}", response.body);
    world.assert_no_rejected_updates().await;
}
