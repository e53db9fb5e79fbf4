//! The xDS server over mutual TLS (Contour's `--contour-cafile`, `--contour-cert-file`,
//! `--contour-key-file`): a client with a certificate the CA signed is served; a client
//! without one, or one trusting another CA, gets nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use ingressroute_envoy::bootstrap::XDS_SUBJECT_ALT_NAME;
use ingressroute_envoy::{ResourceKind, Resources};
use ingressroute_xds::XdsCertificates;
use ingressroute_xds::{Error, Publisher, Server, ServerTls};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

const PATIENCE: Duration = Duration::from_secs(10);

fn server_tls(pki: &XdsCertificates) -> ServerTls {
    ServerTls::new(
        pki.server.certificate.clone().into_bytes(),
        pki.server.key.clone().into_bytes(),
        pki.ca.clone().into_bytes(),
    )
}

/// A TLS server on loopback serving an empty snapshot.
async fn serve(pki: &XdsCertificates) -> SocketAddr {
    let publisher = Publisher::new();
    publisher.publish_resources(&Resources::default()).unwrap();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), publisher.snapshots())
        .await
        .unwrap()
        .with_tls(&server_tls(pki))
        .unwrap();
    let address = server.local_addr();
    tokio::spawn(async move {
        let _keep = publisher;
        server.serve(std::future::pending()).await
    });
    address
}

/// One SotW request for clusters over a channel with `tls`; the response's type URL, or
/// the error.
async fn ask(address: SocketAddr, tls: ClientTlsConfig) -> Result<String, String> {
    let channel = Channel::from_shared(format!("https://{address}"))
        .unwrap()
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(DiscoveryRequest {
        type_url: ResourceKind::Cluster.type_url(),
        ..DiscoveryRequest::default()
    })
    .await
    .unwrap();
    let mut client = AggregatedDiscoveryServiceClient::new(channel);
    let mut inbound = client
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await
        .map_err(|e| format!("stream: {e}"))?
        .into_inner();
    let response = tokio::time::timeout(PATIENCE, inbound.message())
        .await
        .expect("an answer or an error in time")
        .map_err(|e| format!("message: {e}"))?
        .ok_or("the stream ended")?;
    Ok(response.type_url)
}

fn client_tls(ca: &str) -> ClientTlsConfig {
    ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name(XDS_SUBJECT_ALT_NAME)
}

#[tokio::test]
async fn a_client_with_a_certificate_the_ca_signed_is_served() {
    let pki = XdsCertificates::generate(XDS_SUBJECT_ALT_NAME).unwrap();
    let address = serve(&pki).await;
    let tls = client_tls(&pki.ca).identity(Identity::from_pem(&pki.client.certificate, &pki.client.key));
    assert_eq!(ask(address, tls).await.unwrap(), ResourceKind::Cluster.type_url());
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let pki = XdsCertificates::generate(XDS_SUBJECT_ALT_NAME).unwrap();
    let address = serve(&pki).await;
    let error = ask(address, client_tls(&pki.ca)).await.unwrap_err();
    assert!(!error.is_empty());
}

#[tokio::test]
async fn a_client_certificate_of_another_ca_is_refused() {
    let pki = XdsCertificates::generate(XDS_SUBJECT_ALT_NAME).unwrap();
    let other = XdsCertificates::generate(XDS_SUBJECT_ALT_NAME).unwrap();
    let address = serve(&pki).await;
    let tls = client_tls(&pki.ca).identity(Identity::from_pem(&other.client.certificate, &other.client.key));
    assert!(ask(address, tls).await.is_err());
}

#[tokio::test]
async fn a_plaintext_client_gets_nothing() {
    let pki = XdsCertificates::generate(XDS_SUBJECT_ALT_NAME).unwrap();
    let address = serve(&pki).await;
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await;
    let outcome = match channel {
        Err(error) => Err(error.to_string()),
        Ok(channel) => {
            let (_tx, rx) = tokio::sync::mpsc::channel::<DiscoveryRequest>(1);
            AggregatedDiscoveryServiceClient::new(channel)
                .stream_aggregated_resources(ReceiverStream::new(rx))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    assert!(outcome.is_err());
}

#[tokio::test]
async fn unusable_pem_is_refused_before_serving() {
    let pki = XdsCertificates::generate(XDS_SUBJECT_ALT_NAME).unwrap();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), Publisher::new().snapshots())
        .await
        .unwrap();
    let mut tls = server_tls(&pki);
    tls.key = b"not a key".to_vec();
    assert!(matches!(server.with_tls(&tls), Err(Error::Tls(_))));
}
