//! The controller under dataset L, fed through the fake API server as watch events.
//!
//! `cargo bench -p ingressroute-controller --bench watch_load` runs the
//! `ingressroute-controller` binary as a child process against an in-process fake API
//! server (so the fake's own memory is not counted), and prints:
//!
//! * the time from the last watch event to a complete snapshot (every IngressRoute of
//!   dataset L built, translated and published);
//! * the time until every status is written, and the child's steady and peak RSS
//!   (`VmRSS`, `VmHWM` of `/proc/PID/status`; goal: steady RSS <= 150 MB);
//! * what an irrelevant event costs (a Helm release Secret, filtered out by the API
//!   server, and an application's Opaque Secret that reaches the controller): rebuilds and
//!   xDS pushes, which must both be 0;
//! * what one endpoint change costs: rebuilds (must be 0), pushes by type (only EDS), and
//!   the time until an ADS client sees it;
//! * what one IngressRoute change costs (30 edits of a root's route, each after a quiet
//!   period): the time from the event to the new route configuration of its route bucket
//!   on an ADS stream, p50/p90/p99, and the rebuilds' durations;
//! * the time a second controller takes to list everything and become ready (the
//!   initial-list path), and its RSS.
//!
//! Dataset L: 10k roots + 10k children in 200 namespaces, 50k routes, 10k Services with
//! one EndpointSlice each (derived from the dataset's Endpoints), 2k TLS Secrets and 20k
//! Helm release Secrets.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use ingressroute_fixtures::{Dataset, Size};
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::api::discovery::v1 as discovery_v1;
use support::{FakeApi, app_secret, helm_secret, http_get};
use tokio::process::{Child, Command};

/// jemalloc's settings in the Deployment: freed memory goes back to the OS within a second.
const MALLOC_CONF: &str = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:1";

const CDS: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const EDS: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
const RDS: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

/// One EndpointSlice per Endpoints object, with the same ready addresses and ports.
fn slices(endpoints: &[core_v1::Endpoints]) -> Vec<discovery_v1::EndpointSlice> {
    endpoints
        .iter()
        .map(|e| {
            let name = e.metadata.name.clone().unwrap();
            let mut metadata = support::meta(e.metadata.namespace.as_deref().unwrap(), &format!("{name}-x1"));
            metadata.labels = Some(BTreeMap::from([("kubernetes.io/service-name".to_owned(), name)]));
            let subsets = e.subsets.clone().unwrap_or_default();
            discovery_v1::EndpointSlice {
                metadata,
                address_type: "IPv4".into(),
                endpoints: Some(
                    subsets
                        .iter()
                        .flat_map(|s| s.addresses.iter().flatten())
                        .map(|a| discovery_v1::Endpoint {
                            addresses: vec![a.ip.clone()],
                            conditions: Some(discovery_v1::EndpointConditions {
                                ready: Some(true),
                                ..discovery_v1::EndpointConditions::default()
                            }),
                            ..discovery_v1::Endpoint::default()
                        })
                        .collect(),
                ),
                ports: Some(
                    subsets
                        .iter()
                        .flat_map(|s| s.ports.iter().flatten())
                        .map(|p| discovery_v1::EndpointPort {
                            name: p.name.clone(),
                            port: Some(p.port),
                            protocol: p.protocol.clone(),
                            ..discovery_v1::EndpointPort::default()
                        })
                        .collect(),
                ),
            }
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A controller binary running against the fake.
struct Controller {
    child: Child,
    xds: SocketAddr,
    probes: SocketAddr,
}

impl Controller {
    fn spawn(api: &FakeApi, log: &std::path::Path) -> Self {
        let xds: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let probes: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ingressroute-controller"))
            .args(["--api-server", &api.url()])
            .args(["--xds-address", "127.0.0.1", "--xds-port", &xds.port().to_string()])
            .args([
                "--metrics-address",
                &probes.to_string(),
                "--health-address",
                &probes.to_string(),
            ])
            .args(["--disable-leader-election", "--insecure"])
            .args(["--status-update-qps", "5000", "--status-update-burst", "5000"])
            .env("RUST_LOG", "warn")
            // As the Deployment in examples/deploy/03-controller.yaml sets it.
            .env("_RJEM_MALLOC_CONF", MALLOC_CONF)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        Self { child, xds, probes }
    }

    async fn ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            assert!(self.child.try_wait().unwrap().is_none(), "the controller exited");
            if tokio::net::TcpStream::connect(self.probes).await.is_ok()
                && http_get(self.probes, "/readyz").await.0 == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "never ready");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn metrics(&self) -> String {
        http_get(self.probes, "/metrics").await.1
    }

    /// The sum of every sample whose line starts with `prefix`.
    async fn metric(&self, prefix: &str) -> u64 {
        sum(&self.metrics().await, prefix)
    }

    /// `(VmRSS, VmHWM)` in MiB.
    fn rss(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id().unwrap())).unwrap();
        let field = |name: &str| -> f64 {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .unwrap()
                / 1024.0
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

fn sum(text: &str, prefix: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Responses an ADS client received, by type URL: count and arrival times.
type Seen = Arc<Mutex<Vec<(String, Instant)>>>;

/// An ADS stream subscribed to every cluster and to the endpoints of `eds`.
async fn ads(xds: SocketAddr, eds: &str) -> Seen {
    ads_of(xds, &[(CDS, vec![]), (EDS, vec![eds.to_owned()])]).await
}

/// An ADS stream subscribed to these types and names.
async fn ads_of(xds: SocketAddr, subscriptions: &[(&str, Vec<String>)]) -> Seen {
    let channel = tonic::transport::Channel::from_shared(format!("http://{xds}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = AggregatedDiscoveryServiceClient::new(channel).max_decoding_message_size(usize::MAX);
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let node = Some(core_v3::Node {
        id: "bench".into(),
        ..core_v3::Node::default()
    });
    for (type_url, names) in subscriptions {
        tx.send(DiscoveryRequest {
            node: node.clone(),
            type_url: (*type_url).into(),
            resource_names: names.clone(),
            ..DiscoveryRequest::default()
        })
        .await
        .unwrap();
    }
    let mut inbound = client
        .stream_aggregated_resources(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        let _keep = tx;
        while let Ok(Some(response)) = inbound.message().await {
            record.lock().unwrap().push((response.type_url, Instant::now()));
        }
    });
    seen
}

fn count(seen: &Seen, type_url: &str) -> usize {
    seen.lock().unwrap().iter().filter(|(t, _)| t == type_url).count()
}

async fn settle(controller: &Controller, what: &str, mut done: impl FnMut(&str) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let text = controller.metrics().await;
        if done(&text) {
            return start.elapsed();
        }
        if start.elapsed() > Duration::from_secs(120) {
            let interesting: Vec<&str> = text
                .lines()
                .filter(|l| {
                    !l.starts_with('#') && (l.contains("status") || l.contains("rebuild") || l.contains("events"))
                })
                .collect();
            panic!("timed out waiting for {what}:\n{}", interesting.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then skip the work.
    if !std::env::args().any(|a| a == "--bench") {
        println!("watch_load: run with `cargo bench -p ingressroute-controller --bench watch_load`");
        return;
    }
    let data = Dataset::generate(Size::L);
    let slices = slices(&data.endpoints);
    let routes = data.ingress_routes.len() as u64;
    let (helm, tls): (Vec<_>, Vec<_>) = data
        .secrets
        .iter()
        .cloned()
        .partition(|s| s.type_.as_deref() == Some("helm.sh/release.v1"));
    println!(
        "dataset L: {} IngressRoutes ({} routes), {} Services, {} EndpointSlices, {} TLS Secrets, {} Helm Secrets",
        data.ingress_routes.len(),
        data.route_count(),
        data.services.len(),
        slices.len(),
        tls.len(),
        helm.len()
    );

    let api = FakeApi::start().await;
    api.record_requests(false);
    let dir = std::env::temp_dir().join(format!("ingressroute-controller-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut controller = Controller::spawn(&api, &dir.join("controller.log"));
    controller.ready().await;
    let (rss, _) = controller.rss();
    println!("empty cluster: ready, RSS {rss:.1} MiB");

    // Everything arrives as watch events: Services, Secrets and slices first, then the
    // IngressRoutes.
    let fed = Instant::now();
    api.apply_all(&data.services);
    api.apply_all(&tls);
    api.apply_all(&helm);
    api.apply_all(&slices);
    api.apply_all(&data.ingress_routes);
    let last_event = Instant::now();
    println!(
        "fed {} objects as watch events in {:.2?}",
        data.services.len() + tls.len() + helm.len() + slices.len() + data.ingress_routes.len(),
        last_event - fed
    );
    let complete = settle(&controller, "a complete snapshot", |m| {
        sum(m, "contour_ingressroute_valid_total") == routes
    })
    .await;
    let rebuilds = controller.metric("ingressroute_dag_rebuilds_total ").await;
    println!(
        "last event -> complete snapshot: {complete:.2?} ({rebuilds} rebuilds in all; rebuild time histogram sum {:.3} s)",
        controller
            .metrics()
            .await
            .lines()
            .find(|l| l.starts_with("ingressroute_dag_rebuild_duration_seconds_sum"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or_default()
    );
    let events = controller.metric("ingressroute_watch_events_total").await;
    println!(
        "watch events received: {events} (the {} Helm Secrets were filtered out by the API server)",
        helm.len()
    );

    // A status can be written twice when a rebuild changes it before the first write's
    // echo arrives; done means nothing pending and at least one write per IngressRoute.
    let writes = settle(&controller, "every status written", |m| {
        sum(m, "ingressroute_statuses_pending ") == 0
            && sum(m, "ingressroute_status_writes_total{result=\"ok\"}") >= routes
    })
    .await;
    let patches = controller
        .metric("ingressroute_status_writes_total{result=\"ok\"}")
        .await;
    println!("every status written {writes:.2?} later ({patches} merge patches for {routes} IngressRoutes)");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss, hwm) = controller.rss();
    println!(
        "steady RSS: {rss:.1} MiB (peak {hwm:.1} MiB); goal <= 150 MB ({:.1} MB)",
        rss * 1.048_576
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (rss, _) = controller.rss();
    println!("RSS 10 s later: {rss:.1} MiB");

    // An ADS client, to count pushes.
    let target = "apps-7/svc-7/http";
    let seen = ads(controller.xds, target).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&seen, CDS) == 0 || count(&seen, EDS) == 0 {
        assert!(Instant::now() < deadline, "no initial ADS responses");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pushes = |m: &str| sum(m, "ingressroute_xds_pushes_total");

    // Irrelevant events.
    let before = controller.metrics().await;
    let (cds, eds) = (count(&seen, CDS), count(&seen, EDS));
    api.apply(&helm_secret("apps-1", "sh.helm.release.v1.app-1.v1", 9));
    api.apply(&app_secret("apps-1", "database", "s3cret"));
    api.apply(&app_secret("apps-1", "database", "s3cret-rotated"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = controller.metrics().await;
    println!(
        "irrelevant events (1 Helm Secret, 2 Opaque Secret changes): {} watch events reached the controller, {} rebuilds, {} xDS pushes ({} CDS, {} EDS responses on the ADS stream)",
        sum(&after, "ingressroute_watch_events_total") - sum(&before, "ingressroute_watch_events_total"),
        sum(&after, "ingressroute_dag_rebuilds_total ") - sum(&before, "ingressroute_dag_rebuilds_total "),
        pushes(&after) - pushes(&before),
        count(&seen, CDS) - cds,
        count(&seen, EDS) - eds,
    );

    // One endpoint change.
    let before = controller.metrics().await;
    let (cds, eds) = (count(&seen, CDS), count(&seen, EDS));
    let mut moved = slices
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some("svc-7-x1"))
        .unwrap()
        .clone();
    moved.endpoints.as_mut().unwrap()[0].addresses = vec!["10.255.0.7".into()];
    let changed = Instant::now();
    api.apply(&moved);
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&seen, EDS) == eds {
        assert!(
            Instant::now() < deadline,
            "the endpoint change never reached the ADS client"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let arrived = seen.lock().unwrap().iter().rev().find(|(t, _)| t == EDS).unwrap().1;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = controller.metrics().await;
    let delta = |name: &str| sum(&after, name) - sum(&before, name);
    println!(
        "one endpoint change: {} rebuilds, {} EDS-only publishes, pushes: {} CDS / {} EDS / {} LDS / {} RDS / {} SDS ({} CDS, {} EDS responses on the ADS stream); event -> EDS response {:.2?}",
        delta("ingressroute_dag_rebuilds_total "),
        delta("ingressroute_snapshots_published_total{trigger=\"endpoints\"}"),
        delta("ingressroute_xds_pushes_total{type_url=\"type.googleapis.com/envoy.config.cluster.v3.Cluster\"}"),
        delta(
            "ingressroute_xds_pushes_total{type_url=\"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment\"}"
        ),
        delta("ingressroute_xds_pushes_total{type_url=\"type.googleapis.com/envoy.config.listener.v3.Listener\"}"),
        delta(
            "ingressroute_xds_pushes_total{type_url=\"type.googleapis.com/envoy.config.route.v3.RouteConfiguration\"}"
        ),
        delta(
            "ingressroute_xds_pushes_total{type_url=\"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret\"}"
        ),
        count(&seen, CDS) - cds,
        count(&seen, EDS) - eds,
        arrived - changed,
    );
    let (rss, hwm) = controller.rss();
    println!("RSS 5 s after the endpoint change: {rss:.1} MiB (peak {hwm:.1} MiB)");

    // One IngressRoute change at a time, each after a quiet period (Contour's holdoff
    // builds it at once): event -> the route bucket's new route configuration on ADS.
    let root = data
        .ingress_routes
        .iter()
        .find(|r| {
            r.spec.virtualhost.as_ref().is_some_and(|v| v.tls.is_none())
                && r.spec.routes.iter().any(|r| !r.services.is_empty())
        })
        .expect("a plain root")
        .clone();
    let fqdn = root.spec.virtualhost.as_ref().unwrap().fqdn.clone();
    let bucket = ingressroute_envoy::names::http_route_bucket_name(ingressroute_envoy::names::http_route_bucket(
        &fqdn,
        ingressroute_envoy::DEFAULT_HTTP_ROUTE_BUCKETS,
    ));
    let routes_seen = ads_of(controller.xds, &[(RDS, vec![bucket.clone()])]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&routes_seen, RDS) == 0 {
        assert!(Instant::now() < deadline, "no initial RDS response for {bucket}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = controller.metrics().await;
    let rebuild_sum = |m: &str| {
        m.lines()
            .find(|l| l.starts_with("ingressroute_dag_rebuild_duration_seconds_sum"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or_default()
    };
    let mut latencies = Vec::new();
    for k in 0..30 {
        let mut edited = root.clone();
        if let Some(route) = edited.spec.routes.iter_mut().find(|r| !r.services.is_empty()) {
            route.match_ = format!("/edited-{k}");
        }
        let seen_before = count(&routes_seen, RDS);
        let changed = Instant::now();
        api.apply(&edited);
        let deadline = Instant::now() + Duration::from_secs(30);
        while count(&routes_seen, RDS) == seen_before {
            assert!(Instant::now() < deadline, "edit {k} never reached the ADS client");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let arrived = routes_seen
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(t, _)| t == RDS)
            .unwrap()
            .1;
        latencies.push(arrived - changed);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let after = controller.metrics().await;
    latencies.sort();
    let at = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    let rebuilds = sum(&after, "ingressroute_dag_rebuilds_total ") - sum(&before, "ingressroute_dag_rebuilds_total ");
    println!(
        "one IngressRoute change ({} edits of {fqdn}'s route, route bucket {bucket}): event -> route configuration on ADS p50 {:.2?} p90 {:.2?} p99 {:.2?} max {:.2?}; {rebuilds} rebuilds, {:.2} ms each on average",
        latencies.len(),
        at(50),
        at(90),
        at(99),
        latencies[latencies.len() - 1],
        (rebuild_sum(&after) - rebuild_sum(&before)) * 1000.0 / rebuilds.max(1) as f64,
    );
    let (rss, hwm) = controller.rss();
    println!("RSS after the IngressRoute changes: {rss:.1} MiB (peak {hwm:.1} MiB)");

    // The initial-list path: a second controller finds everything there.
    let started = Instant::now();
    let mut second = Controller::spawn(&api, &dir.join("second.log"));
    second.ready().await;
    let ready = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss, hwm) = second.rss();
    println!(
        "a second controller listing everything: ready in {ready:.2?}, RSS 5 s later {rss:.1} MiB (peak {hwm:.1} MiB)"
    );

    let _ = controller.child.kill().await;
    let _ = second.child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}
