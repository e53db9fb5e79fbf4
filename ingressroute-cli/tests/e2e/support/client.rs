//! Clients that go through Envoy: HTTP/1.1 (plain or TLS with SNI), raw TCP over TLS and
//! WebSocket. Every call returns `Err(String)` instead of panicking, so that it can be
//! retried by [`eventually`](super::eventually) while Envoy converges.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::{HeaderMap, Request};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::backend::Echo;
use super::pki::server_name;

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, as text.
    pub body: String,
}

impl Response {
    /// What the backend said, if a backend answered.
    pub fn echo(&self) -> Result<Echo, String> {
        serde_json::from_str(&self.body).map_err(|e| format!("not an echo ({e}): {} {}", self.status, self.body))
    }

    /// The name of the backend that answered (`x-backend`), or an error.
    pub fn backend(&self) -> Result<String, String> {
        self.headers
            .get("x-backend")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("no backend answered: {} {}", self.status, self.body))
    }

    /// A header's value, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One HTTP/1.1 connection, kept alive across requests.
pub struct Connection {
    sender: SendRequest<Empty<Bytes>>,
}

impl Connection {
    /// Opens a connection over any stream.
    pub async fn over(stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static) -> Result<Self, String> {
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { sender })
    }

    /// A plain connection to `address`.
    pub async fn plain(address: SocketAddr) -> Result<Self, String> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| format!("connect {address}: {e}"))?;
        Self::over(stream).await
    }

    /// A TLS connection to `address` with SNI `sni`, verified with `tls`.
    pub async fn tls(address: SocketAddr, sni: &str, tls: &Arc<ClientConfig>) -> Result<Self, String> {
        Self::over(tls_connect(address, sni, tls).await?).await
    }

    /// Sends `GET path` with `Host: host` and the extra `headers`, and reads the answer.
    pub async fn get(&mut self, host: &str, path: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
        let mut request = Request::get(path).header("host", host);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
        self.sender.ready().await.map_err(|e| format!("connection: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("GET {host}{path}: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("GET {host}{path}: body: {e}"))?
            .to_bytes();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// `GET http://<address><path>` with `Host: host`, on a new connection.
pub async fn get(address: SocketAddr, host: &str, path: &str) -> Result<Response, String> {
    Connection::plain(address).await?.get(host, path, &[]).await
}

/// `GET https://<address><path>` with SNI and `Host` `host`, on a new connection.
pub async fn get_tls(address: SocketAddr, host: &str, path: &str, tls: &Arc<ClientConfig>) -> Result<Response, String> {
    Connection::tls(address, host, tls).await?.get(host, path, &[]).await
}

/// A TLS connection to `address` with SNI `sni`, verified with `tls`.
pub async fn tls_connect(
    address: SocketAddr,
    sni: &str,
    tls: &Arc<ClientConfig>,
) -> Result<TlsStream<TcpStream>, String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect {address}: {e}"))?;
    TlsConnector::from(Arc::clone(tls))
        .connect(server_name(sni), stream)
        .await
        .map_err(|e| format!("TLS handshake with {sni}: {e}"))
}

/// Writes `message` on `stream` and reads until `expected` bytes came back.
pub async fn exchange(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    message: &str,
    expected: usize,
) -> Result<String, String> {
    stream
        .write_all(message.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut received = Vec::new();
    let mut buf = [0_u8; 1024];
    while received.len() < expected {
        let n = stream.read(&mut buf).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err(format!("closed after {:?}", String::from_utf8_lossy(&received)));
        }
        received.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&received).into_owned())
}
