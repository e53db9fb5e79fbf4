//! `ingressroute explain` checked against real traffic: for each URL of a world with
//! several virtual hosts, delegation across namespaces, weights, a prefix rewrite, TLS
//! (redirect, `permitInsecure`), a TLS-terminating `tcpproxy`, an invalid child, a Service without endpoints and hosts
//! or paths nobody serves, the binary explains the request from the served files, the
//! request goes through the real Envoy that `serve` configures from the same files, and
//! the answer must be what `explain` said: the backend behind one of the named Services'
//! endpoints (the only one with a single Service), the rewritten path, the 301 and its
//! `Location`, the 404 or the 503.

use std::collections::BTreeMap;
use std::process::Command;

use rustls::version::{TLS12, TLS13};

use crate::support::client::{Response, exchange, get_tls, tls_connect};
use crate::support::manifests::{service, tls_secret};
use crate::support::world::Lease;
use crate::support::{Setup, World, eventually};

const SITE: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: site, namespace: default}
spec:
  virtualhost: {fqdn: site.example.com}
  routes:
  - match: /
    services: [{name: home, port: 80}]
  - match: /api
    delegate: {name: api, namespace: team}
  - match: /old
    prefixRewrite: /new
    services: [{name: rewrite, port: 80}]
  - match: /split
    services: [{name: left, port: 80, weight: 50}, {name: right, port: 80, weight: 50}]
  - match: /broken
    delegate: {name: broken, namespace: team}
  - match: /empty
    services: [{name: empty, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: api, namespace: team}
spec:
  routes:
  - match: /api
    services: [{name: api-v1, port: 80, weight: 100}, {name: api-v2, port: 80, weight: 0}]
  - match: /api/v2
    services: [{name: api-v2, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: broken, namespace: team}
spec:
  routes:
  - match: /broken
    services: [{name: nothere, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: bare, namespace: default}
spec:
  virtualhost: {fqdn: bare.example.com}
  routes:
  - match: /only
    services: [{name: home, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: secure, namespace: default}
spec:
  virtualhost:
    fqdn: secure.example.com
    tls: {secretName: secure-tls}
  routes:
  - match: /
    services: [{name: sec, port: 80}]
  - match: /open
    permitInsecure: true
    services: [{name: open, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: tcp, namespace: default}
spec:
  virtualhost:
    fqdn: tcp.example.com
    tls: {secretName: tcp-tls}
  tcpproxy:
    services: [{name: tcp-echo, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: default}
spec: {ports: [{name: http, port: 80}]}
";

/// What `explain -o json URL <the world's manifests>` says, and its exit code.
fn explain(world: &World, url: &str) -> (serde_json::Value, i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_ingressroute"))
        .args(["explain", "-o", "json", url])
        .arg(world.manifests())
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{url}: not JSON ({e}): {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (json, output.status.code().unwrap())
}

/// The answer of the real Envoy to `GET URL`.
async fn send(world: &World, url: &str) -> Result<Response, String> {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    if scheme == "https" {
        let tls = world.ca().client(&[&TLS13, &TLS12]);
        get_tls(world.https, host, path, &tls).await
    } else {
        world.get(host, path).await
    }
}

/// The backends (by name) behind the endpoints of the Services `explain` names with a
/// weight above 0.
fn named_backends(explained: &serde_json::Value, ports: &BTreeMap<String, String>) -> Vec<String> {
    explained["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["weight"].as_u64().unwrap() > 0)
        .flat_map(|s| s["endpoints"].as_array().unwrap().iter())
        .map(|e| {
            let port = e.as_str().unwrap().rsplit(':').next().unwrap();
            ports.get(port).cloned().unwrap_or_else(|| panic!("no backend on {e}"))
        })
        .collect()
}

/// Checks one URL: Envoy's answer is what `explain` said.
async fn check(world: &World, url: &str, ports: &BTreeMap<String, String>) -> Result<String, String> {
    let (explained, code) = explain(world, url);
    let outcome = explained["outcome"].as_str().unwrap();
    if outcome == "tcp_proxied" {
        assert_eq!(code, 0, "{url}");
        let [backend] = named_backends(&explained, ports).try_into().unwrap();
        let host = url.trim_start_matches("https://").trim_end_matches('/');
        let tls = world.ca().client(&[&TLS13, &TLS12]);
        let mut stream = tls_connect(world.https, host, &tls).await?;
        let expected = format!("{backend}: ping");
        let reply = exchange(&mut stream, "ping", expected.len()).await?;
        if reply != expected {
            return Err(format!("{url}: {reply:?}, explain named {backend}"));
        }
        return Ok(backend);
    }
    let response = send(world, url).await?;
    match outcome {
        "proxied" => {
            assert_eq!(code, 0, "{url}");
            let backend = response.backend()?;
            let named = named_backends(&explained, ports);
            if !named.contains(&backend) {
                return Err(format!("{url}: answered by {backend}, explain named {named:?}"));
            }
            let path = response.echo()?.path;
            let expected = explained["route"]["rewrittenPath"].as_str().unwrap();
            if path != expected {
                return Err(format!("{url}: the backend saw {path}, explain said {expected}"));
            }
            Ok(backend)
        }
        "redirected" => {
            assert_eq!(code, 0, "{url}");
            let location = response.header("location").unwrap_or_default();
            if response.status != 301 || location != explained["route"]["location"] {
                return Err(format!(
                    "{url}: {} to {location:?}, explain said {explained}",
                    response.status
                ));
            }
            Ok(location.to_owned())
        }
        "not_found" | "unavailable" => {
            assert_eq!(code, 1, "{url}");
            let status = explained["status"].as_u64().unwrap();
            if u64::from(response.status) != status || response.backend().is_ok() {
                return Err(format!(
                    "{url}: {} {}, explain said {status}",
                    response.status, response.body
                ));
            }
            Ok(status.to_string())
        }
        other => panic!("{url}: unexpected outcome {other}"),
    }
}

#[tokio::test]
async fn every_explained_url_is_answered_by_what_explain_named() {
    let Some(mut s) = Setup::new("explain") else { return };
    let names = ["home", "api-v1", "api-v2", "rewrite", "left", "right", "sec", "open"];
    let backends = names.map(|name| s.http(name));
    let mut ports: BTreeMap<String, String> = backends.iter().map(|b| (b.port.to_string(), b.name.clone())).collect();
    let tcp_echo = s.tcp_echo("tcp-echo");
    ports.insert(tcp_echo.port.to_string(), tcp_echo.name.clone());
    let leaf = s.leaf(&["secure.example.com"]);
    let tcp_leaf = s.leaf(&["tcp.example.com"]);
    let services: String = backends
        .iter()
        .map(|b| {
            let namespace = if b.name.starts_with("api-") { "team" } else { "default" };
            service(namespace, &b.name, &[b])
        })
        .chain([service("default", "tcp-echo", &[&tcp_echo])])
        .collect();
    s.file("services.yaml", services);
    s.file(
        "secrets.yaml",
        [
            tls_secret("default", "secure-tls", &leaf),
            tls_secret("default", "tcp-tls", &tcp_leaf),
        ]
        .concat(),
    );
    s.file("routes.yaml", SITE);
    let world = Lease::own(s.start().await);

    // Served requests first, each until Envoy has the configuration; then the answers
    // Envoy gives before it has anything too (404), which must hold at once.
    let served: &[(&str, &str)] = &[
        ("http://site.example.com/", "home"),
        ("http://site.example.com/api/users", "api-v1"),
        ("http://site.example.com/api/v2/users", "api-v2"),
        ("http://site.example.com/old/page", "rewrite"),
        ("http://site.example.com/split", "left|right"),
        // The invalid child's /broken is not served: the root's / answers.
        ("http://site.example.com/broken/x", "home"),
        ("https://secure.example.com/x", "sec"),
        ("http://secure.example.com/open/door", "open"),
        (
            "http://secure.example.com/closed?q=1",
            "https://secure.example.com/closed?q=1",
        ),
        ("https://secure.example.com/open", "open"),
        ("https://tcp.example.com/", "tcp-echo"),
    ];
    for (url, expected) in served {
        let answer = eventually(&format!("{url} to be answered as explained"), || {
            check(&world, url, &ports)
        })
        .await;
        assert!(
            expected.split('|').any(|e| *e == answer),
            "{url}: answered by {answer}, expected {expected}"
        );
    }
    let (explained, _) = explain(&world, "http://site.example.com/broken/x");
    assert!(
        explained["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("a longer match is not served: IngressRoute team/broken (invalid"),
        "{explained}"
    );
    // A weighted split sends each request to one of the named Services; a weight of 0
    // never gets one.
    for _ in 0..20 {
        let answer = check(&world, "http://site.example.com/split", &ports).await.unwrap();
        assert!(answer == "left" || answer == "right", "{answer}");
        assert_eq!(
            check(&world, "http://site.example.com/api", &ports).await.unwrap(),
            "api-v1"
        );
    }
    let refused: &[(&str, &str)] = &[
        ("http://nobody.example.com/", "404"),
        ("http://bare.example.com/x", "404"),
        ("http://site.example.com/empty", "503"),
    ];
    for (url, expected) in refused {
        assert_eq!(check(&world, url, &ports).await.unwrap(), *expected, "{url}");
    }
    let (explained, code) = explain(&world, "http://bare.example.com/x");
    assert_eq!(code, 1);
    assert_eq!(explained["reason"], "no route of bare.example.com matches the path /x");
    world.assert_no_rejected_updates().await;
}
