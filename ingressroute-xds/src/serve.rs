//! The entry point: bind a socket and serve every xDS service on it until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::server::{ServerTlsConfig, TcpIncoming};
use tonic::transport::{Certificate, Identity};

use crate::callbacks::Callbacks;
use crate::service::{DEFAULT_MAX_MESSAGE_SIZE, Services};
use crate::snapshot::Snapshots;
use crate::{Error, Result};

/// gRPC and HTTP/2 settings of a [`Server`]. The defaults are Contour's, with larger
/// messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The largest message accepted or sent. Envoy's requests list every EDS name it
    /// watches, and the first response of a type carries every resource of it: 64 MiB.
    pub max_message_size: usize,
    /// How often an HTTP/2 ping checks an idle connection: 60 s.
    pub keepalive_interval: Duration,
    /// How long a ping may go unanswered before the connection is closed: 20 s.
    pub keepalive_timeout: Duration,
    /// Streams allowed at once on one connection: 2^20.
    pub max_concurrent_streams: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            keepalive_interval: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
            max_concurrent_streams: 1 << 20,
        }
    }
}

/// Mutual TLS for the xDS server, as Contour's `--contour-cafile`, `--contour-cert-file`
/// and `--contour-key-file`: the server presents its certificate, and every client (Envoy)
/// must present one signed by the CA. Envoy checks that the server's certificate names
/// [`XDS_SUBJECT_ALT_NAME`](ingressroute_envoy::bootstrap::XDS_SUBJECT_ALT_NAME) (see
/// [`XdsTls`](ingressroute_envoy::XdsTls) for Envoy's side).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerTls {
    /// The server's certificate chain (PEM).
    pub certificate: Vec<u8>,
    /// The server's private key (PEM).
    pub key: Vec<u8>,
    /// The CA certificate(s) a client certificate must be signed by (PEM).
    pub client_ca: Vec<u8>,
}

impl ServerTls {
    /// TLS with these PEM contents.
    #[must_use]
    pub fn new(certificate: Vec<u8>, key: Vec<u8>, client_ca: Vec<u8>) -> Self {
        Self {
            certificate,
            key,
            client_ca,
        }
    }

    fn config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.certificate, &self.key))
            .client_ca_root(Certificate::from_pem(&self.client_ca))
    }
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("certificate", &format_args!("{} bytes", self.certificate.len()))
            .field("key", &format_args!("<redacted>"))
            .field("client_ca", &format_args!("{} bytes", self.client_ca.len()))
            .finish()
    }
}

/// An xDS server bound to a socket, serving the snapshots of a [`Publisher`]
/// ([`Snapshots`]) until [`serve`](Server::serve)'s shutdown future completes: the
/// [`Services`] on a tonic server of their own, for callers that run no other gRPC
/// service. To add the xDS services to your own tonic server instead, use [`Services`].
///
/// [`Publisher`]: crate::Publisher
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    address: SocketAddr,
    snapshots: Snapshots,
    callbacks: Arc<dyn Callbacks>,
    config: ServerConfig,
    tls: Option<ServerTlsConfig>,
}

impl Server {
    /// Binds `address` (port 0 picks a free port; see [`local_addr`](Server::local_addr)).
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] if the socket cannot be bound.
    pub async fn bind(address: SocketAddr, snapshots: Snapshots) -> Result<Self> {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| Error::Bind { address, source })?;
        Self::from_listener(listener, snapshots)
    }

    /// Serves on a socket bound already.
    ///
    /// # Errors
    ///
    /// [`Error::LocalAddress`] if the socket's address cannot be read.
    pub fn from_listener(listener: TcpListener, snapshots: Snapshots) -> Result<Self> {
        let address = listener.local_addr().map_err(Error::LocalAddress)?;
        Ok(Self {
            listener,
            address,
            snapshots,
            callbacks: Arc::new(()),
            config: ServerConfig::default(),
            tls: None,
        })
    }

    /// Serves over mutual TLS: clients without a certificate signed by `tls`'s CA are
    /// refused during the handshake.
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when the certificate, key or CA is not usable PEM.
    pub fn with_tls(mut self, tls: &ServerTls) -> Result<Self> {
        let config = tls.config();
        // Parses everything now, so that a bad file fails here and not when serving.
        tonic::transport::Server::builder()
            .tls_config(config.clone())
            .map_err(Error::Tls)?;
        self.tls = Some(config);
        Ok(self)
    }

    /// Replaces the gRPC and HTTP/2 settings.
    #[must_use]
    pub fn with_config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The address the server listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Tells `callbacks` what the server does: streams opened and closed, responses sent,
    /// ACKs and NACKs (none by default).
    #[must_use]
    pub fn with_callbacks(mut self, callbacks: impl Callbacks) -> Self {
        self.callbacks = Arc::new(callbacks);
        self
    }

    /// Serves until `shutdown` completes, then ends every stream and returns once the
    /// connections are closed.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] if the gRPC server fails.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<()> {
        let services =
            Services::new(self.snapshots, self.callbacks).with_max_message_size(self.config.max_message_size);
        let ending = services.clone();
        let incoming = TcpIncoming::from(self.listener).with_nodelay(Some(true));
        let signal = async move {
            shutdown.await;
            tracing::info!("xDS server shutting down");
            // xDS streams never end by themselves: end them, so that the connections close.
            ending.end_streams();
        };
        tracing::info!(address = %self.address, tls = self.tls.is_some(), "xDS server listening");
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = self.tls {
            builder = builder.tls_config(tls).map_err(Error::Tls)?;
        }
        let router = builder
            .http2_keepalive_interval(Some(self.config.keepalive_interval))
            .http2_keepalive_timeout(Some(self.config.keepalive_timeout))
            .max_concurrent_streams(self.config.max_concurrent_streams)
            .add_routes(services.to_routes());
        router
            .serve_with_incoming_shutdown(incoming, signal)
            .await
            .map_err(Error::Transport)
    }
}
