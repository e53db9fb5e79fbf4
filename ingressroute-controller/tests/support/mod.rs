//! What the controller's tests share: the fake API server, object builders that read like
//! the manifests they stand for, and small waiting and probing helpers.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

pub(crate) mod fake_api;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use ingressroute_api::{
    CertificateDelegation, Delegate, IngressRoute, IngressRouteSpec, Route, Service, TLSCertificateDelegation,
    TLSCertificateDelegationSpec, Tls, VirtualHost,
};
use ingressroute_controller::settings::RateLimit;
use ingressroute_controller::{Running, Settings};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::api::discovery::v1 as discovery_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use prost::Message;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub(crate) use fake_api::FakeApi;

/// How long a test waits for something that must happen.
pub(crate) const PATIENCE: Duration = Duration::from_secs(15);
/// How long a test waits to be sure something does not happen: longer than the holdoff's
/// 500 ms maximum.
pub(crate) const QUIET: Duration = Duration::from_millis(800);

/// The type URL of ClusterLoadAssignments.
pub(crate) const EDS: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

/// Settings for a controller under test: loopback listeners on free ports, no leader
/// election, fast status writes.
pub(crate) fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.xds_address = "127.0.0.1:0".parse().unwrap();
    settings.metrics_address = "127.0.0.1:0".parse().unwrap();
    settings.health_address = "127.0.0.1:0".parse().unwrap();
    settings.namespace = "ingressroute-system".into();
    settings.leader_election = None;
    settings.status_rate = RateLimit::new(1000.0, 1000);
    settings
}

/// Logs of the code under test, to the test's output (`RUST_LOG` selects; none by default).
pub(crate) fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    });
}

/// Starts a controller against `api`.
pub(crate) async fn start(api: &FakeApi, settings: Settings) -> Running {
    init_logs();
    ingressroute_controller::start(settings, api.client()).await.unwrap()
}

/// Starts a controller against `api` and waits until it is ready.
pub(crate) async fn start_ready(api: &FakeApi, settings: Settings) -> Running {
    let running = start(api, settings).await;
    tokio::time::timeout(PATIENCE, running.ready())
        .await
        .expect("the controller never became ready");
    running
}

/// Polls `check` until it holds, or fails the test after [`PATIENCE`].
pub(crate) async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `GET` over plain HTTP/1.1; the status code and the body.
pub(crate) async fn http_get(address: SocketAddr, path: &str) -> (u16, String) {
    http_request(address, path, "localhost").await
}

/// A `GET` with a `Host` header.
pub(crate) async fn http_request(address: SocketAddr, path: &str, host: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_default();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

/// One SotW ADS request for `type_url` and `names`, and its first response.
pub(crate) async fn fetch(xds: SocketAddr, type_url: &str, names: &[&str]) -> DiscoveryResponse {
    let channel = tonic::transport::Channel::from_shared(format!("http://{xds}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = AggregatedDiscoveryServiceClient::new(channel).max_decoding_message_size(usize::MAX);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(DiscoveryRequest {
        node: Some(core_v3::Node {
            id: "test".into(),
            cluster: "test".into(),
            ..core_v3::Node::default()
        }),
        type_url: type_url.into(),
        resource_names: names.iter().map(|n| (*n).to_owned()).collect(),
        ..DiscoveryRequest::default()
    })
    .await
    .unwrap();
    let mut inbound = client
        .stream_aggregated_resources(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let response = tokio::time::timeout(PATIENCE, inbound.message())
        .await
        .expect("no xDS response")
        .unwrap()
        .unwrap();
    drop(tx);
    response
}

/// The `ip:port`s of an EDS name, as the xDS server serves them.
pub(crate) async fn served_endpoints(xds: SocketAddr, name: &str) -> Vec<String> {
    let response = fetch(xds, EDS, &[name]).await;
    let mut out = Vec::new();
    for any in response.resources {
        let assignment = endpoint_v3::ClusterLoadAssignment::decode(any.value.as_slice()).unwrap();
        for locality in assignment.endpoints {
            for lb in locality.lb_endpoints {
                if let Some(endpoint_v3::lb_endpoint::HostIdentifier::Endpoint(e)) = lb.host_identifier
                    && let Some(core_v3::address::Address::SocketAddress(s)) = e.address.and_then(|a| a.address)
                    && let Some(core_v3::socket_address::PortSpecifier::PortValue(port)) = s.port_specifier
                {
                    out.push(format!("{}:{port}", s.address));
                }
            }
        }
    }
    out
}

/// The metadata of `namespace/name`.
pub(crate) fn meta(namespace: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectMeta::default()
    }
}

/// A route of `prefix` to port `port` of Service `service`.
pub(crate) fn route(prefix: &str, service: &str, port: i64) -> Route {
    Route {
        match_: prefix.into(),
        services: vec![Service {
            name: service.into(),
            port,
            ..Service::default()
        }],
        ..Route::default()
    }
}

/// A route of `prefix` delegated to `namespace/name`.
pub(crate) fn delegate(prefix: &str, namespace: &str, name: &str) -> Route {
    Route {
        match_: prefix.into(),
        delegate: Some(Box::new(Delegate {
            name: name.into(),
            namespace: Some(namespace.into()),
        })),
        ..Route::default()
    }
}

/// A root IngressRoute for `fqdn`.
pub(crate) fn root(namespace: &str, name: &str, fqdn: &str, routes: Vec<Route>) -> IngressRoute {
    let mut route = IngressRoute::new(
        name,
        IngressRouteSpec {
            virtualhost: Some(VirtualHost {
                fqdn: fqdn.into(),
                tls: None,
            }),
            routes,
            ..IngressRouteSpec::default()
        },
    );
    route.metadata.namespace = Some(namespace.into());
    route
}

/// A root IngressRoute for `fqdn` that terminates TLS with `secret`.
pub(crate) fn tls_root(namespace: &str, name: &str, fqdn: &str, secret: &str, routes: Vec<Route>) -> IngressRoute {
    let mut route = root(namespace, name, fqdn, routes);
    if let Some(vhost) = route.spec.virtualhost.as_mut() {
        vhost.tls = Some(Box::new(Tls {
            secret_name: secret.into(),
            ..Tls::default()
        }));
    }
    route
}

/// An IngressRoute without a virtual host.
pub(crate) fn child(namespace: &str, name: &str, routes: Vec<Route>) -> IngressRoute {
    let mut route = IngressRoute::new(
        name,
        IngressRouteSpec {
            routes,
            ..IngressRouteSpec::default()
        },
    );
    route.metadata.namespace = Some(namespace.into());
    route
}

/// A Service with one named TCP port.
pub(crate) fn service(namespace: &str, name: &str, port_name: &str, port: i32) -> core_v1::Service {
    core_v1::Service {
        metadata: meta(namespace, name),
        spec: Some(core_v1::ServiceSpec {
            ports: Some(vec![core_v1::ServicePort {
                name: Some(port_name.into()),
                port,
                protocol: Some("TCP".into()),
                ..core_v1::ServicePort::default()
            }]),
            ..core_v1::ServiceSpec::default()
        }),
        status: None,
    }
}

/// An EndpointSlice of Service `service` with ready `addresses` on port `port_name`.
pub(crate) fn endpoint_slice(
    namespace: &str,
    service: &str,
    slice: &str,
    addresses: &[&str],
    port_name: &str,
    port: i32,
) -> discovery_v1::EndpointSlice {
    let mut metadata = meta(namespace, slice);
    metadata.labels = Some(BTreeMap::from([(
        "kubernetes.io/service-name".to_owned(),
        service.to_owned(),
    )]));
    discovery_v1::EndpointSlice {
        metadata,
        address_type: "IPv4".into(),
        endpoints: Some(
            addresses
                .iter()
                .map(|a| discovery_v1::Endpoint {
                    addresses: vec![(*a).to_owned()],
                    conditions: Some(discovery_v1::EndpointConditions {
                        ready: Some(true),
                        ..discovery_v1::EndpointConditions::default()
                    }),
                    ..discovery_v1::Endpoint::default()
                })
                .collect(),
        ),
        ports: Some(vec![discovery_v1::EndpointPort {
            name: Some(port_name.into()),
            port: Some(port),
            protocol: Some("TCP".into()),
            ..discovery_v1::EndpointPort::default()
        }]),
    }
}

/// `core/v1` Endpoints of Service `service` with ready `addresses` on port `port_name`.
pub(crate) fn endpoints(
    namespace: &str,
    service: &str,
    addresses: &[&str],
    port_name: &str,
    port: i32,
) -> core_v1::Endpoints {
    core_v1::Endpoints {
        metadata: meta(namespace, service),
        subsets: Some(vec![core_v1::EndpointSubset {
            addresses: Some(
                addresses
                    .iter()
                    .map(|a| core_v1::EndpointAddress {
                        ip: (*a).to_owned(),
                        ..core_v1::EndpointAddress::default()
                    })
                    .collect(),
            ),
            ports: Some(vec![core_v1::EndpointPort {
                name: Some(port_name.into()),
                port,
                protocol: Some("TCP".into()),
                ..core_v1::EndpointPort::default()
            }]),
            ..core_v1::EndpointSubset::default()
        }]),
    }
}

/// A `kubernetes.io/tls` Secret with the fixtures' certificate.
pub(crate) fn tls_secret(namespace: &str, name: &str) -> core_v1::Secret {
    core_v1::Secret {
        metadata: meta(namespace, name),
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            (
                "tls.crt".to_owned(),
                ByteString(ingressroute_fixtures::CERTIFICATE_PEM.as_bytes().to_vec()),
            ),
            (
                "tls.key".to_owned(),
                ByteString(ingressroute_fixtures::PRIVATE_KEY_PEM.as_bytes().to_vec()),
            ),
        ])),
        ..core_v1::Secret::default()
    }
}

/// A Helm release Secret (`helm.sh/release.v1`), with `revision` in its data.
pub(crate) fn helm_secret(namespace: &str, name: &str, revision: u8) -> core_v1::Secret {
    core_v1::Secret {
        metadata: meta(namespace, name),
        type_: Some("helm.sh/release.v1".into()),
        data: Some(BTreeMap::from([(
            "release".to_owned(),
            ByteString(vec![revision; 4096]),
        )])),
        ..core_v1::Secret::default()
    }
}

/// An `Opaque` Secret of an application, which no IngressRoute can use.
pub(crate) fn app_secret(namespace: &str, name: &str, password: &str) -> core_v1::Secret {
    core_v1::Secret {
        metadata: meta(namespace, name),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            "password".to_owned(),
            ByteString(password.as_bytes().to_vec()),
        )])),
        ..core_v1::Secret::default()
    }
}

/// A TLSCertificateDelegation of `secret` to `targets`.
pub(crate) fn delegation(namespace: &str, name: &str, secret: &str, targets: &[&str]) -> TLSCertificateDelegation {
    let mut delegation = TLSCertificateDelegation::new(
        name,
        TLSCertificateDelegationSpec {
            delegations: vec![CertificateDelegation {
                secret_name: secret.into(),
                target_namespaces: targets.iter().map(|t| (*t).to_owned()).collect(),
            }],
        },
    );
    delegation.metadata.namespace = Some(namespace.into());
    delegation
}

/// The status the fake holds for an IngressRoute: `(currentStatus, description)`.
/// Read as JSON, so that it works for an IngressRoute that does not decode too.
pub(crate) fn status_of(api: &FakeApi, namespace: &str, name: &str) -> Option<(String, String)> {
    let route = api.get_json::<IngressRoute>(namespace, name)?;
    let status = route.get("status")?;
    Some((
        status.get("currentStatus")?.as_str()?.to_owned(),
        status.get("description")?.as_str()?.to_owned(),
    ))
}

/// The names of one kind of resource in the served snapshot.
pub(crate) fn served(running: &Running, kind: ingressroute_envoy::ResourceKind) -> Vec<String> {
    running
        .snapshot()
        .map(|s| s.names(kind).map(str::to_owned).collect())
        .unwrap_or_default()
}
