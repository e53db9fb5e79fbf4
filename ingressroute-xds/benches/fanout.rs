//! Fan-out of the xDS server: in-process ADS clients (100, then 500), each on its own
//! connection, all subscribed to everything of dataset L (`ingressroute-fixtures`), once
//! over SotW and once over delta.
//!
//! `cargo bench -p ingressroute-xds --bench fanout [-- CLIENTS...]` (default `100 500`)
//! prints, per number of clients and variant:
//! * `initial`: from the clients' first requests until every stream got every type;
//! * `route change`: one route added to one IngressRoute (then removed, then added, seven
//!   changes in all), from publish until every stream ACKed the new route
//!   configuration(s) (asserted to be only the changed ones);
//! * `endpoint change`: one address of one Endpoints object moved (then back, seven changes
//!   in all), from publish until every stream got it (asserted to be exactly one
//!   `ClusterLoadAssignment` per stream and nothing else, on both variants);
//! * the bytes and resources the server sent per type in each phase;
//!
//! then a table of both changes, SotW next to delta, with the goals of issue #13. The
//! snapshots are built before the clock starts (as the controller derives them from the
//! change): what is timed is the publish and the fan-out.
//!
//! Each client decodes the `DiscoveryResponse` (not the resources inside) and ACKs at once,
//! like an Envoy that accepts everything. Server and clients share the machine's cores.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest, DiscoveryResponse};
use ingressroute_api::Route;
use ingressroute_dag::{Config, build};
use ingressroute_envoy::{EnvoyConfig, ResourceKind, Resources, translate};
use ingressroute_fixtures::{Dataset, Size};
use ingressroute_xds::{Ack, Callbacks, Publisher, Response, Server, Snapshot, StreamInfo};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

const PATIENCE: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Sotw,
    Delta,
}

/// What a client saw: one response.
#[derive(Debug)]
struct Seen {
    client: usize,
    kind: ResourceKind,
    resources: usize,
    removed: usize,
}

fn kind_of(type_url: &str) -> ResourceKind {
    ResourceKind::ALL
        .into_iter()
        .find(|k| k.type_url() == type_url)
        .unwrap()
}

/// The names a client subscribes to: wildcard LDS/CDS, every other name, in the order of a
/// hash set (as Envoy lists them), not sorted.
fn subscriptions(resources: &Resources) -> Arc<BTreeMap<ResourceKind, Vec<String>>> {
    Arc::new(
        ResourceKind::ALL
            .into_iter()
            .map(|kind| {
                let names = match kind {
                    ResourceKind::Listener | ResourceKind::Cluster => Vec::new(),
                    _ => {
                        let mut names: Vec<String> = resources.names(kind).into_iter().map(str::to_owned).collect();
                        names.sort_by_cached_key(|name| {
                            use std::hash::{Hash as _, Hasher as _};
                            let mut hasher = std::hash::DefaultHasher::new();
                            name.hash(&mut hasher);
                            hasher.finish()
                        });
                        names
                    }
                };
                (kind, names)
            })
            .collect(),
    )
}

/// Writes requests encoded beforehand, reads responses with prost: a SotW ACK of endpoints
/// lists every subscribed name (10,000 at L), and 100 clients cloning and encoding those
/// lists on the benchmark's two cores would measure the clients, not the server. An ACK is
/// the encoded subscription with `version_info` and `response_nonce` appended (protobuf
/// messages concatenate as a merge).
#[derive(Debug, Clone, Copy, Default)]
struct PreEncoded;

impl tonic::codec::Codec for PreEncoded {
    type Encode = Vec<u8>;
    type Decode = DiscoveryResponse;
    type Encoder = PreEncoded;
    type Decoder = tonic_prost::ProstDecoder<DiscoveryResponse>;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncoded
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::new(tonic::codec::BufferSettings::default())
    }
}

impl tonic::codec::Encoder for PreEncoded {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use bytes::BufMut as _;
        dst.put_slice(&item);
        Ok(())
    }
}

async fn sotw_client(
    client: usize,
    channel: Channel,
    names: Arc<BTreeMap<ResourceKind, Vec<String>>>,
    seen: mpsc::UnboundedSender<Seen>,
) {
    use prost::Message as _;
    let subscriptions: BTreeMap<String, Vec<u8>> = ResourceKind::ALL
        .into_iter()
        .map(|kind| {
            let request = DiscoveryRequest {
                type_url: kind.type_url(),
                resource_names: names[&kind].clone(),
                ..Default::default()
            };
            (kind.type_url(), request.encode_to_vec())
        })
        .collect();
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    grpc.ready().await.unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>(64);
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
    );
    let mut inbound = grpc
        .streaming(tonic::Request::new(ReceiverStream::new(rx)), path, PreEncoded)
        .await
        .unwrap()
        .into_inner();
    for kind in ResourceKind::ALL {
        tx.send(subscriptions[&kind.type_url()].clone()).await.unwrap();
    }
    while let Ok(Some(response)) = inbound.message().await {
        let kind = kind_of(&response.type_url);
        let mut ack = subscriptions[&response.type_url].clone();
        DiscoveryRequest {
            version_info: response.version_info.clone(),
            response_nonce: response.nonce.clone(),
            ..Default::default()
        }
        .encode(&mut ack)
        .unwrap();
        if tx.send(ack).await.is_err() {
            return;
        }
        let _ = seen.send(Seen {
            client,
            kind,
            resources: response.resources.len(),
            removed: 0,
        });
    }
}

async fn delta_client(
    client: usize,
    channel: Channel,
    names: Arc<BTreeMap<ResourceKind, Vec<String>>>,
    seen: mpsc::UnboundedSender<Seen>,
) {
    let mut grpc = AggregatedDiscoveryServiceClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    let (tx, rx) = mpsc::channel(64);
    let mut inbound = grpc
        .delta_aggregated_resources(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    for kind in ResourceKind::ALL {
        tx.send(DeltaDiscoveryRequest {
            type_url: kind.type_url(),
            resource_names_subscribe: names[&kind].clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    while let Ok(Some(response)) = inbound.message().await {
        let ack = DeltaDiscoveryRequest {
            type_url: response.type_url.clone(),
            response_nonce: response.nonce.clone(),
            ..Default::default()
        };
        if tx.send(ack).await.is_err() {
            return;
        }
        let _ = seen.send(Seen {
            client,
            kind: kind_of(&response.type_url),
            resources: response.resources.len(),
            removed: response.removed_resources.len(),
        });
    }
}

/// What the server sent and was told, per type: counted by the benchmark's callbacks.
#[derive(Debug, Clone, Copy, Default)]
struct TypeMetrics {
    pushes: u64,
    resources: u64,
    removals: u64,
    bytes: u64,
    acks: u64,
}

#[derive(Debug, Default)]
struct Metrics(std::sync::Mutex<BTreeMap<ResourceKind, TypeMetrics>>);

impl Metrics {
    fn of(&self, kind: ResourceKind) -> TypeMetrics {
        self.0.lock().unwrap().get(&kind).copied().unwrap_or_default()
    }
}

impl Callbacks for Metrics {
    fn on_response(&self, _: &StreamInfo, response: &Response) {
        let mut all = self.0.lock().unwrap();
        let m = all.entry(response.kind).or_default();
        m.pushes += 1;
        m.resources += response.resources as u64;
        m.removals += response.removals as u64;
        m.bytes += response.bytes as u64;
    }

    fn on_ack(&self, _: &StreamInfo, ack: &Ack) {
        self.0.lock().unwrap().entry(ack.kind).or_default().acks += 1;
    }
}

fn totals(metrics: &Metrics) -> BTreeMap<ResourceKind, TypeMetrics> {
    ResourceKind::ALL.into_iter().map(|k| (k, metrics.of(k))).collect()
}

fn print_sent(before: &BTreeMap<ResourceKind, TypeMetrics>, metrics: &Metrics) {
    for kind in ResourceKind::ALL {
        let (b, a) = (before[&kind], metrics.of(kind));
        if a.pushes == b.pushes {
            continue;
        }
        println!(
            "      {:<24} {:>6} responses {:>9} resources {:>6} removed {:>12} bytes",
            kind.to_string(),
            a.pushes - b.pushes,
            a.resources - b.resources,
            a.removals - b.removals,
            a.bytes - b.bytes,
        );
    }
}

/// Waits until `done` says the responses seen so far are enough; returns them.
async fn wait_for(seen: &mut mpsc::UnboundedReceiver<Seen>, mut done: impl FnMut(&[Seen]) -> bool) -> Vec<Seen> {
    let mut all = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while !done(&all) {
            all.push(seen.recv().await.unwrap());
        }
    })
    .await
    .expect("the clients converge");
    all
}

/// Whether every one of `clients` saw a response of each of `kinds`.
fn everyone_saw(seen: &[Seen], kinds: &[ResourceKind], clients: usize) -> bool {
    let mut got = vec![0usize; clients];
    let mut marks = vec![[false; ResourceKind::ALL.len()]; clients];
    for s in seen {
        if let Some(i) = kinds.iter().position(|k| *k == s.kind)
            && !marks[s.client][i]
        {
            marks[s.client][i] = true;
            got[s.client] += 1;
        }
    }
    got.iter().all(|n| *n == kinds.len())
}

/// How many times each change is made (and undone) per run.
const REPEATS: usize = 7;

/// What one run measured of the two changes: the time of each, and what the last one sent.
#[derive(Debug, Clone)]
struct Measured {
    route: Vec<Duration>,
    route_resources: u64,
    route_bytes: u64,
    endpoint: Vec<Duration>,
    endpoint_bytes: u64,
}

/// The median and the largest of `times`, in milliseconds.
fn spread(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    let max = sorted.last().copied().unwrap_or_default();
    format!("median {:.1} ms, max {:.1} ms", ms(median), ms(max))
}

async fn run(variant: Variant, clients: usize, data: &Dataset, config: &EnvoyConfig) -> Measured {
    println!("{variant:?}, {clients} ADS clients, dataset L");
    let (objects, endpoints) = support::load(data);
    let dag = build(&objects, &Config::default());
    let resources = translate(&dag, &endpoints, config);
    let publisher = Publisher::new();
    let started = Instant::now();
    resources.check_consistency().unwrap();
    let check = started.elapsed();
    let started = Instant::now();
    let snapshot = Snapshot::new(&resources).unwrap();
    let built = started.elapsed();
    assert!(publisher.publish(snapshot));
    println!("    Snapshot::new {built:?} (of which the consistency check {check:?}, the rest encoding and hashing)");

    let metrics = Arc::new(Metrics::default());
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), publisher.snapshots())
        .await
        .unwrap()
        .with_callbacks(Arc::clone(&metrics));
    let address = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    let names = subscriptions(&resources);
    let mut channels = Vec::new();
    for _ in 0..clients {
        channels.push(
            Channel::from_shared(format!("http://{address}"))
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
    }
    let (tx, mut seen) = mpsc::unbounded_channel();
    let before = totals(&metrics);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (client, channel) in channels.into_iter().enumerate() {
        let names = Arc::clone(&names);
        let tx = tx.clone();
        tasks.push(match variant {
            Variant::Sotw => tokio::spawn(sotw_client(client, channel, names, tx)),
            Variant::Delta => tokio::spawn(delta_client(client, channel, names, tx)),
        });
    }
    wait_for(&mut seen, |s| everyone_saw(s, &ResourceKind::ALL, clients)).await;
    println!("    initial snapshot to every stream: {:?}", t0.elapsed());
    print_sent(&before, &metrics);
    // Let the last ACKs arrive.
    let acks_wanted = (ResourceKind::ALL.len() * clients) as u64;
    while ResourceKind::ALL.iter().map(|k| metrics.of(*k).acks).sum::<u64>() < acks_wanted {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    // One route more on one IngressRoute.
    let mut changed = data.clone();
    let root = changed
        .ingress_routes
        .iter_mut()
        .find(|ir| ir.spec.virtualhost.is_some() && ir.spec.routes.iter().any(|r| !r.services.is_empty()))
        .unwrap();
    let services = root
        .spec
        .routes
        .iter()
        .find(|r| !r.services.is_empty())
        .unwrap()
        .services
        .clone();
    root.spec.routes.push(Route {
        match_: "/fanout-bench".into(),
        services,
        ..Default::default()
    });
    let (objects, _) = support::load(&changed);
    let dag = build(&objects, &Config::default());
    let routed = translate(&dag, &endpoints, config);
    let changed_routes = changed_names(&resources, &routed, ResourceKind::RouteConfiguration).len();
    // The route goes in and out again, REPEATS times: each time a change of the same size.
    let mut route = Vec::new();
    let (mut route_resources, mut route_bytes) = (0, 0);
    for i in 0..REPEATS {
        let (from, to) = if i % 2 == 0 {
            (&resources, &routed)
        } else {
            (&routed, &resources)
        };
        let next = derived(&publisher, from, to);
        let before = totals(&metrics);
        let acks_before = metrics.of(ResourceKind::RouteConfiguration).acks;
        let t0 = Instant::now();
        assert!(publisher.publish(next));
        let published = t0.elapsed();
        let pushes = loop {
            let now = metrics.of(ResourceKind::RouteConfiguration);
            let pushed = now.pushes - before[&ResourceKind::RouteConfiguration].pushes;
            if pushed >= clients as u64 && now.acks - acks_before >= pushed {
                break pushed;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        route.push(t0.elapsed());
        let route_seen = wait_for(&mut seen, |s| {
            s.iter().filter(|s| s.kind == ResourceKind::RouteConfiguration).count() >= pushes as usize
        })
        .await;
        assert!(route_seen.iter().all(|s| s.kind == ResourceKind::RouteConfiguration));
        let sent = metrics.of(ResourceKind::RouteConfiguration);
        route_resources = sent.resources - before[&ResourceKind::RouteConfiguration].resources;
        assert_eq!(
            route_resources,
            (changed_routes * clients) as u64,
            "only the changed route configurations, once per stream"
        );
        route_bytes = sent.bytes - before[&ResourceKind::RouteConfiguration].bytes;
        if i == 0 {
            println!(
                "    route change ({changed_routes} route configuration(s) changed), every stream ACKed: {:?} (publish {published:?}, {pushes} RDS responses)",
                route[0]
            );
            print_sent(&before, &metrics);
        }
    }
    println!("    route change x{REPEATS}: {}", spread(&route));

    // One address of one Endpoints object, moved and back, REPEATS times.
    let mut moved = changed.clone();
    let target = moved.endpoints.first_mut().unwrap();
    let address = target.subsets.as_mut().unwrap()[0]
        .addresses
        .as_mut()
        .unwrap()
        .first_mut()
        .unwrap();
    address.ip = "10.255.255.254".into();
    let (_, endpoints) = support::load(&moved);
    let moved_resources = translate(&dag, &endpoints, config);
    let mut endpoint = Vec::new();
    let mut endpoint_bytes = 0;
    for i in 0..REPEATS {
        let (from, to) = if i % 2 == 0 {
            (&routed, &moved_resources)
        } else {
            (&moved_resources, &routed)
        };
        let next = derived(&publisher, from, to);
        let before = totals(&metrics);
        let t0 = Instant::now();
        assert!(publisher.publish(next));
        let published = t0.elapsed();
        let eds = wait_for(&mut seen, |s| {
            everyone_saw(s, &[ResourceKind::ClusterLoadAssignment], clients)
        })
        .await;
        endpoint.push(t0.elapsed());
        // Nothing else comes.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut eds = eds;
        while let Ok(s) = seen.try_recv() {
            eds.push(s);
        }
        assert_eq!(eds.len(), clients, "one response per stream, nothing else: {eds:?}");
        assert!(
            eds.iter()
                .all(|s| s.kind == ResourceKind::ClusterLoadAssignment && s.removed == 0)
        );
        assert!(
            eds.iter().all(|s| s.resources == 1),
            "exactly one CLA per {variant:?} stream"
        );
        endpoint_bytes =
            metrics.of(ResourceKind::ClusterLoadAssignment).bytes - before[&ResourceKind::ClusterLoadAssignment].bytes;
        if i == 0 {
            println!(
                "    endpoint change to every stream: {:?} (publish {published:?})",
                endpoint[0]
            );
            print_sent(&before, &metrics);
        }
    }
    println!("    endpoint change x{REPEATS}: {}", spread(&endpoint));

    let _ = stop.send(());
    for task in tasks {
        task.abort();
    }
    serving.await.unwrap().unwrap();
    Measured {
        route,
        route_resources,
        route_bytes,
        endpoint,
        endpoint_bytes,
    }
}

/// The names of `kind` whose bytes differ between `before` and `after`, or that only
/// `after` has.
fn changed_names(before: &Resources, after: &Resources, kind: ResourceKind) -> std::collections::BTreeSet<String> {
    let old: BTreeMap<String, _> = before.encoded(kind).into_iter().collect();
    after
        .encoded(kind)
        .into_iter()
        .filter(|(name, any)| old.get(name) != Some(any))
        .map(|(name, _)| name)
        .collect()
}

/// The served snapshot with what differs between `before` and `after` (as the controller
/// derives it from a change), built before the clock starts.
fn derived(publisher: &Publisher, before: &Resources, after: &Resources) -> Snapshot {
    let changed = |kind| changed_names(before, after, kind);
    let mut upserts = after.clone();
    let listeners = changed(ResourceKind::Listener);
    upserts.listeners.retain(|r| listeners.contains(&r.name));
    let scopes = changed(ResourceKind::ScopedRouteConfiguration);
    upserts.scoped_routes.retain(|r| scopes.contains(&r.name));
    let routes = changed(ResourceKind::RouteConfiguration);
    upserts.routes.retain(|r| routes.contains(&r.name));
    let clusters = changed(ResourceKind::Cluster);
    upserts.clusters.retain(|r| clusters.contains(&r.name));
    let assignments = changed(ResourceKind::ClusterLoadAssignment);
    upserts.endpoints.retain(|r| assignments.contains(&r.cluster_name));
    let secrets = changed(ResourceKind::Secret);
    upserts.secrets.retain(|r| secrets.contains(&r.name));
    let removals: Vec<(ResourceKind, String)> = ResourceKind::ALL
        .into_iter()
        .flat_map(|kind| {
            let now: std::collections::BTreeSet<&str> = after.names(kind).into_iter().collect();
            before
                .names(kind)
                .into_iter()
                .filter(|name| !now.contains(name))
                .map(|name| (kind, name.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    publisher.current().unwrap().derive(&upserts, removals).unwrap()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this too, without it:
    // do not run minutes of fan-out in a debug build then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("fanout: run with `cargo bench -p ingressroute-xds --bench fanout`");
        return;
    }
    let counts: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let counts = if counts.is_empty() { vec![100, 500] } else { counts };
    let data = Dataset::generate(Size::L);
    let config = EnvoyConfig::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut table = Vec::new();
    for clients in counts {
        let sotw = runtime.block_on(run(Variant::Sotw, clients, &data, &config));
        let delta = runtime.block_on(run(Variant::Delta, clients, &data, &config));
        table.push((clients, sotw, delta));
    }
    println!();
    println!("| clients | one change (x{REPEATS}) | SotW | delta | SotW/delta bytes | goal (SotW, #13) |");
    println!("|---|---|---|---|---|---|");
    for (clients, sotw, delta) in table {
        let route_goal = if clients <= 100 {
            "all ACKed <= 200 ms"
        } else {
            "all ACKed <= 1 s"
        };
        println!(
            "| {clients} | route added/removed | {}; {} RCs, {} B | {}; {} RCs, {} B | {:.2} | {route_goal} |",
            spread(&sotw.route),
            sotw.route_resources,
            sotw.route_bytes,
            spread(&delta.route),
            delta.route_resources,
            delta.route_bytes,
            ratio(sotw.route_bytes, delta.route_bytes),
        );
        let endpoint_goal = if clients <= 100 {
            "1 CLA/stream, <= 2x bytes, <= 100 ms"
        } else {
            "1 CLA/stream"
        };
        println!(
            "| {clients} | endpoint moved/back | {}; {} B | {}; {} B | {:.2} | {endpoint_goal} |",
            spread(&sotw.endpoint),
            sotw.endpoint_bytes,
            spread(&delta.endpoint),
            delta.endpoint_bytes,
            ratio(sotw.endpoint_bytes, delta.endpoint_bytes),
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[allow(clippy::cast_precision_loss)]
fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b.max(1) as f64
}
