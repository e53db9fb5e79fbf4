//! End to end: the `ingressroute-controller` binary against the fake API server, a real
//! Envoy bootstrapped to it over mutual TLS (`--contour-cafile` and friends on one side,
//! the bootstrap's client certificate on the other), and HTTP traffic through Envoy to
//! loopback backends listed in EndpointSlices.
//!
//! Envoy is `ENVOY_BIN`, or `.envoy/venv/bin/envoy` of the workspace (`cargo xtask
//! envoy`). Without one the test says so loudly and passes; under `CI=true` it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use ingressroute_envoy::{BootstrapConfig, XdsTls, bootstrap, json};
use support::*;
use tokio::process::{Child, Command};

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP server on loopback that answers every request with `body`.
async fn backend(body: &'static str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_request| async move {
                    Ok::<_, Infallible>(hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(
                        body,
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

/// Waits until `GET http://address/` with `Host: host` answers 200 with `body`.
async fn wait_for_body(address: SocketAddr, host: &str, body: &str, processes: &mut [&mut Child]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    let mut last = (0, String::new());
    loop {
        for process in processes.iter_mut() {
            if let Ok(Some(status)) = process.try_wait() {
                panic!("a process exited early: {status}");
            }
        }
        if let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(address)).await
        {
            drop(stream);
            last = http_request(address, "/", host).await;
            if last.0 == 200 && last.1 == body {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Envoy never answered {body:?}; last answer: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn metric(text: &str, prefix: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix:?} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_routes_traffic_to_the_endpoints_of_an_endpoint_slice() {
    let Some(envoy) = ingressroute_fixtures::envoy_binary("the end-to-end Envoy test") else {
        return;
    };
    let first = backend("hello from the first backend").await;
    let second = backend("hello from the second backend").await;

    let api = FakeApi::start().await;
    api.apply(&service("apps", "web", "http", 80));
    api.apply(&endpoint_slice(
        "apps",
        "web",
        "web-1",
        &["127.0.0.1"],
        "http",
        i32::from(first.port()),
    ));
    api.apply(&root("apps", "web", "web.example.com", vec![route("/", "web", 80)]));

    let dir = std::env::temp_dir().join(format!("ingressroute-controller-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (xds_port, http_port, admin_port, stats_port, probes_port) =
        (free_port(), free_port(), free_port(), free_port(), free_port());
    let probes: SocketAddr = format!("127.0.0.1:{probes_port}").parse().unwrap();

    // xDS over mutual TLS, as in a cluster.
    let pki = ingressroute_xds::XdsCertificates::generate(ingressroute_envoy::bootstrap::XDS_SUBJECT_ALT_NAME).unwrap();
    let file = |name: &str, content: &str| {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    };
    let ca = file("ca.crt", &pki.ca);
    let (server_cert, server_key) = (
        file("xds.crt", &pki.server.certificate),
        file("xds.key", &pki.server.key),
    );
    let (envoy_cert, envoy_key) = (
        file("envoy.crt", &pki.client.certificate),
        file("envoy.key", &pki.client.key),
    );

    let controller_log = std::fs::File::create(dir.join("controller.log")).unwrap();
    let mut controller = Command::new(env!("CARGO_BIN_EXE_ingressroute-controller"))
        .args(["--api-server", &api.url()])
        .args(["--xds-address", "127.0.0.1", "--xds-port", &xds_port.to_string()])
        .args(["--envoy-service-http-address", "127.0.0.1"])
        .args(["--envoy-service-http-port", &http_port.to_string()])
        .args(["--envoy-service-https-address", "127.0.0.1"])
        .args(["--envoy-service-https-port", &free_port().to_string()])
        .args([
            "--metrics-address",
            &probes.to_string(),
            "--health-address",
            &probes.to_string(),
        ])
        .args(["--contour-cafile", &ca, "--contour-cert-file", &server_cert])
        .args(["--contour-key-file", &server_key])
        .args(["--disable-leader-election", "--log-format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(controller_log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(probes)).await
            && http_get(probes, "/readyz").await.0 == 200
        {
            break;
        }
        assert!(
            controller.try_wait().unwrap().is_none(),
            "the controller exited; see {}",
            dir.display()
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "the controller never became ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut config = BootstrapConfig::default();
    config.xds_address = "127.0.0.1".into();
    config.xds_port = xds_port;
    config.admin_port = admin_port;
    config.stats_address = "127.0.0.1".parse().unwrap();
    config.stats_port = stats_port;
    config.xds_tls = Some(XdsTls::new(ca, envoy_cert, envoy_key));
    let bootstrap_path = dir.join("envoy.json");
    let value = json::to_json(&bootstrap(&config)).unwrap();
    std::fs::write(&bootstrap_path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    let envoy_log = std::fs::File::create(dir.join("envoy.log")).unwrap();
    let mut envoy = Command::new(&envoy)
        .arg("-c")
        .arg(&bootstrap_path)
        .args(["--disable-hot-restart", "--concurrency", "1", "--log-level", "warn"])
        .args(["--base-id", &(std::process::id() % 100_000 + 7).to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(envoy_log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let envoy_http: SocketAddr = format!("127.0.0.1:{http_port}").parse().unwrap();
    wait_for_body(
        envoy_http,
        "web.example.com",
        "hello from the first backend",
        &mut [&mut controller, &mut envoy],
    )
    .await;
    assert_eq!(http_request(envoy_http, "/", "other.example.com").await.0, 404);

    // The backend moves: only EDS changes, and Envoy follows.
    api.apply(&endpoint_slice(
        "apps",
        "web",
        "web-1",
        &["127.0.0.1"],
        "http",
        i32::from(second.port()),
    ));
    wait_for_body(
        envoy_http,
        "web.example.com",
        "hello from the second backend",
        &mut [&mut controller, &mut envoy],
    )
    .await;

    let (_, text) = http_get(probes, "/metrics").await;
    assert_eq!(metric(&text, "ingressroute_dag_rebuilds_total "), 1, "{text}");
    assert_eq!(
        metric(&text, "ingressroute_snapshots_published_total{trigger=\"endpoints\"}"),
        1
    );
    assert_eq!(metric(&text, "ingressroute_xds_connected_streams "), 1);
    for kind in [
        "listener.v3.Listener",
        "cluster.v3.Cluster",
        "endpoint.v3.ClusterLoadAssignment",
    ] {
        let prefix = format!("ingressroute_xds_nacks_total{{type_url=\"type.googleapis.com/envoy.config.{kind}\"}}");
        assert_eq!(metric(&text, &prefix), 0, "{kind} was rejected; see {}", dir.display());
        let prefix = format!("ingressroute_xds_acks_total{{type_url=\"type.googleapis.com/envoy.config.{kind}\"}}");
        assert!(metric(&text, &prefix) >= 1, "{kind} was never accepted");
    }

    // The controller stops cleanly on SIGTERM.
    let pid = controller.id().unwrap();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = tokio::time::timeout(PATIENCE, controller.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let _ = envoy.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}
