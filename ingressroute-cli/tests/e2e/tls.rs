//! TLS features, on one shared Envoy that the harness starts with a bootstrap from
//! `ingressroute bootstrap --delta`, so that incremental ADS (and SDS over it) is tested
//! against a real Envoy too. Certificates are made at test time by the world's CA.

use std::sync::{LazyLock, Weak};

use rustls::version::{TLS12, TLS13};

use crate::support::client::{exchange, get_tls, tls_connect};
use crate::support::manifests::{ca_secret, service, tls_secret, tls_service};
use crate::support::world::{Lease, shared};
use crate::support::{Setup, World, eventually};

static WORLD: LazyLock<tokio::sync::Mutex<Weak<World>>> = LazyLock::new(Default::default);

async fn world() -> Option<Lease> {
    shared(&WORLD, || async {
        let mut s = Setup::new("tls")?;
        s.delta();
        let secure = s.leaf(&["secure.example.com"]);
        let other = s.leaf(&["other.example.com"]);
        let modern = s.leaf(&["modern.example.com"]);
        let delegated = s.leaf(&["app.delegated.example.com", "stolen.delegated.example.com"]);
        let tcp = s.leaf(&["tcp.example.com"]);
        let upstream = s.leaf(&["backend.internal"]);
        let pass = s.leaf(&["pass.example.com"]);

        let [a, b, apps] = ["a", "b", "apps"].map(|name| s.http(name));
        let secure_backend = s.https("secure-backend", &upstream);
        let echo = s.tcp_echo("echo");
        let pass_echo = s.tls_echo("pass-echo", &pass);

        let ca = ca_secret("default", "backend-ca", s.ca());
        s.file(
            "secrets.yaml",
            [
                tls_secret("default", "secure-tls", &secure),
                tls_secret("default", "other-tls", &other),
                tls_secret("default", "modern-tls", &modern),
                tls_secret("default", "tcp-tls", &tcp),
                tls_secret("certs", "delegated-tls", &delegated),
                ca,
            ]
            .concat(),
        );
        s.file(
            "services.yaml",
            [
                service("default", "a", &[&a]),
                service("default", "b", &[&b]),
                service("apps", "apps", &[&apps]),
                service("others", "others", &[&apps]),
                tls_service("default", "secure-backend", &[&secure_backend]),
                service("default", "echo", &[&echo]),
                service("default", "pass-echo", &[&pass_echo]),
            ]
            .concat(),
        );
        s.file("tls.yaml", TLS);
        s.file("delegation.yaml", DELEGATION);
        s.file("upstream.yaml", UPSTREAM);
        s.file("tcpproxy.yaml", TCPPROXY);
        Some(s.start().await)
    })
    .await
}

/// The backend that answers `GET https://<host><path>` (SNI and Host `host`), once served.
async fn backend_of(world: &World, host: &str, path: &str) -> String {
    let tls = world.ca().client(&[&TLS13, &TLS12]);
    eventually(&format!("https://{host}{path} to be served"), || async {
        get_tls(world.https, host, path, &tls).await?.backend()
    })
    .await
}

const TLS: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: secure, namespace: default}
spec:
  virtualhost:
    fqdn: secure.example.com
    tls: {secretName: secure-tls}
  routes:
  - match: /
    services: [{name: a, port: 80}]
  - match: /insecure
    permitInsecure: true
    services: [{name: b, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: other, namespace: default}
spec:
  virtualhost:
    fqdn: other.example.com
    tls: {secretName: other-tls}
  routes:
  - match: /
    services: [{name: b, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: modern, namespace: default}
spec:
  virtualhost:
    fqdn: modern.example.com
    tls: {secretName: modern-tls, minimumProtocolVersion: \"1.3\"}
  routes:
  - match: /
    services: [{name: a, port: 80}]
";

#[tokio::test]
async fn tls_is_terminated_with_the_certificate_of_the_requested_server_name() {
    let Some(world) = world().await else { return };
    // The client checks the certificate against the CA and the name it asked for, so a
    // successful request proves Envoy picked the right certificate by SNI.
    assert_eq!(backend_of(&world, "secure.example.com", "/").await, "a");
    assert_eq!(backend_of(&world, "other.example.com", "/").await, "b");
    let tls = world.ca().client(&[&TLS13]);
    let echo = get_tls(world.https, "secure.example.com", "/x", &tls)
        .await
        .unwrap()
        .echo()
        .unwrap();
    assert_eq!(echo.headers["x-forwarded-proto"], "https");
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn plain_http_to_a_tls_virtual_host_is_redirected_with_301() {
    let Some(world) = world().await else { return };
    backend_of(&world, "secure.example.com", "/").await;
    let response = world.get("secure.example.com", "/page?x=1").await.unwrap();
    assert_eq!(response.status, 301, "{}", response.body);
    assert_eq!(response.header("location"), Some("https://secure.example.com/page?x=1"));
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn permit_insecure_serves_its_route_over_plain_http_too() {
    let Some(world) = world().await else { return };
    assert_eq!(backend_of(&world, "secure.example.com", "/insecure").await, "b");
    let response = world.get("secure.example.com", "/insecure").await.unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.backend().unwrap(), "b");
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn a_tls_1_2_client_is_refused_where_tls_1_3_is_required() {
    let Some(world) = world().await else { return };
    assert_eq!(backend_of(&world, "modern.example.com", "/").await, "a");
    let tls12 = world.ca().client(&[&TLS12]);
    let refused = tls_connect(world.https, "modern.example.com", &tls12).await;
    assert!(refused.is_err(), "TLS 1.2 was accepted for modern.example.com");
    // The same client is fine where the default minimum applies.
    let response = get_tls(world.https, "secure.example.com", "/", &tls12).await.unwrap();
    assert_eq!(response.backend().unwrap(), "a");
    world.assert_no_rejected_updates().await;
}

const DELEGATION: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: TLSCertificateDelegation
metadata: {name: delegation, namespace: certs}
spec:
  delegations:
  - secretName: delegated-tls
    targetNamespaces: [apps]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: delegated, namespace: apps}
spec:
  virtualhost:
    fqdn: app.delegated.example.com
    tls: {secretName: certs/delegated-tls}
  routes:
  - match: /
    services: [{name: apps, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: not-delegated, namespace: others}
spec:
  virtualhost:
    fqdn: stolen.delegated.example.com
    tls: {secretName: certs/delegated-tls}
  routes:
  - match: /
    services: [{name: others, port: 80}]
";

#[tokio::test]
async fn a_delegated_certificate_serves_only_the_namespaces_it_is_delegated_to() {
    let Some(world) = world().await else { return };
    assert_eq!(backend_of(&world, "app.delegated.example.com", "/").await, "apps");
    world
        .wait_for_log(0, &["status: others/not-delegated: invalid", "certs/delegated-tls"])
        .await;
    let tls = world.ca().client(&[&TLS13, &TLS12]);
    let refused = tls_connect(world.https, "stolen.delegated.example.com", &tls).await;
    assert!(
        refused.is_err(),
        "no certificate is served for stolen.delegated.example.com"
    );
    world.assert_no_rejected_updates().await;
}

const UPSTREAM: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: upstream, namespace: default}
spec:
  virtualhost: {fqdn: upstream.example.com}
  routes:
  - match: /
    services:
    - name: secure-backend
      port: 443
      validation: {caSecret: backend-ca, subjectName: backend.internal}
  - match: /wrong-name
    services:
    - name: secure-backend
      port: 443
      validation: {caSecret: backend-ca, subjectName: wrong.internal}
";

#[tokio::test]
async fn upstream_tls_is_verified_against_the_ca_and_the_subject_name() {
    let Some(world) = world().await else { return };
    let echo = eventually("upstream.example.com to be served over TLS", || async {
        world.get("upstream.example.com", "/").await?.echo()
    })
    .await;
    assert_eq!(echo.backend, "secure-backend");
    for _ in 0..3 {
        let response = world.get("upstream.example.com", "/wrong-name").await.unwrap();
        assert_eq!(response.status, 503, "a wrong subject name fails: {}", response.body);
        assert!(response.backend().is_err());
    }
    world.assert_no_rejected_updates().await;
}

const TCPPROXY: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: tcp-termination, namespace: default}
spec:
  virtualhost:
    fqdn: tcp.example.com
    tls: {secretName: tcp-tls}
  tcpproxy:
    services: [{name: echo, port: 80}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: tcp-passthrough, namespace: default}
spec:
  virtualhost:
    fqdn: pass.example.com
    tls: {passthrough: true}
  tcpproxy:
    services: [{name: pass-echo, port: 80}]
";

#[tokio::test]
async fn tcpproxy_terminates_tls_and_forwards_the_bytes_to_the_backend() {
    let Some(world) = world().await else { return };
    let tls = world.ca().client(&[&TLS13, &TLS12]);
    let reply = eventually("tcp.example.com to be proxied", || async {
        let mut stream = tls_connect(world.https, "tcp.example.com", &tls).await?;
        exchange(&mut stream, "ping", "echo: ping".len()).await
    })
    .await;
    assert_eq!(reply, "echo: ping");
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn tcpproxy_passes_tls_through_to_a_backend_that_terminates_it() {
    let Some(world) = world().await else { return };
    // Envoy has no certificate for pass.example.com: only the backend does, so a verified
    // handshake proves the TLS session is the backend's.
    let tls = world.ca().client(&[&TLS13, &TLS12]);
    let reply = eventually("pass.example.com to be passed through", || async {
        let mut stream = tls_connect(world.https, "pass.example.com", &tls).await?;
        exchange(&mut stream, "ping", "pass-echo: ping".len()).await
    })
    .await;
    assert_eq!(reply, "pass-echo: ping");
    world.assert_no_rejected_updates().await;
}
