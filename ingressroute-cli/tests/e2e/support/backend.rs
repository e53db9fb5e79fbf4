//! Backends on loopback. Each binds `127.0.0.1:0` at once (so its port is known before
//! the manifests are written) and serves on the runtime it is given.
//!
//! * [`Backend::http`]: answers every request with JSON: its name, the method, the path
//!   and the headers it saw ([`Echo`]). `?delay_ms=N` makes it wait N ms first (a slow
//!   backend on demand), `/healthz` answers 200 or 503 as [`Backend::set_healthy`] says
//!   (and is not counted as a hit).
//! * [`Backend::flaky`]: the same, but every other request (1st, 3rd, ...) gets a 503.
//! * [`Backend::https`]: the HTTP backend behind TLS.
//! * [`Backend::tcp_echo`] and [`Backend::tls_echo`]: send back every byte, prefixed
//!   once per connection with `<name>: `.
//! * [`Backend::websocket`]: a WebSocket server that answers each text message with
//!   `<name>: <message>`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message;

use super::pki::Leaf;

/// What an HTTP backend says about a request it answered.
#[derive(Debug, Clone, Deserialize)]
pub struct Echo {
    /// The backend's name.
    pub backend: String,
    /// The request method.
    pub method: String,
    /// The path and query, as the backend saw them.
    pub path: String,
    /// The request headers, lowercase names (repeated headers joined with `, `).
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Http,
    Flaky,
}

#[derive(Debug)]
struct State {
    name: String,
    kind: Kind,
    healthy: AtomicBool,
    hits: AtomicU64,
}

/// A backend listening on `127.0.0.1:<port>`. Cheap to clone; it stops when the runtime
/// it serves on shuts down.
#[derive(Debug, Clone)]
pub struct Backend {
    /// Its name, in every answer.
    pub name: String,
    /// Its port on 127.0.0.1.
    pub port: u16,
    state: Arc<State>,
}

impl Backend {
    fn bind(name: &str, kind: Kind) -> (std::net::TcpListener, Self) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            name: name.to_owned(),
            kind,
            healthy: AtomicBool::new(true),
            hits: AtomicU64::new(0),
        });
        (
            listener,
            Self {
                name: name.to_owned(),
                port,
                state,
            },
        )
    }

    /// An HTTP echo backend.
    pub fn http(runtime: &Handle, name: &str) -> Self {
        Self::serve_http(runtime, name, Kind::Http, None)
    }

    /// An HTTP echo backend that answers every other request (the first, the third, ...)
    /// with 503.
    pub fn flaky(runtime: &Handle, name: &str) -> Self {
        Self::serve_http(runtime, name, Kind::Flaky, None)
    }

    /// An HTTP echo backend behind TLS with `leaf`'s certificate.
    pub fn https(runtime: &Handle, name: &str, leaf: &Leaf) -> Self {
        Self::serve_http(runtime, name, Kind::Http, Some(leaf.server(&[b"http/1.1"])))
    }

    fn serve_http(runtime: &Handle, name: &str, kind: Kind, tls: Option<Arc<ServerConfig>>) -> Self {
        let (listener, backend) = Self::bind(name, kind);
        let state = Arc::clone(&backend.state);
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            let acceptor = tls.map(TlsAcceptor::from);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&state);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(request, Arc::clone(&state)));
                    let builder = hyper::server::conn::http1::Builder::new();
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                });
            }
        });
        backend
    }

    /// A raw TCP echo backend.
    pub fn tcp_echo(runtime: &Handle, name: &str) -> Self {
        Self::serve_echo(runtime, name, None)
    }

    /// A TCP echo backend behind TLS with `leaf`'s certificate (for TLS passthrough).
    pub fn tls_echo(runtime: &Handle, name: &str, leaf: &Leaf) -> Self {
        Self::serve_echo(runtime, name, Some(leaf.server(&[])))
    }

    fn serve_echo(runtime: &Handle, name: &str, tls: Option<Arc<ServerConfig>>) -> Self {
        let (listener, backend) = Self::bind(name, Kind::Http);
        let state = Arc::clone(&backend.state);
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            let acceptor = tls.map(TlsAcceptor::from);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                state.hits.fetch_add(1, Ordering::Relaxed);
                let name = state.name.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                echo(stream, &name).await;
                            }
                        }
                        None => echo(stream, &name).await,
                    }
                });
            }
        });
        backend
    }

    /// A WebSocket echo backend.
    pub fn websocket(runtime: &Handle, name: &str) -> Self {
        let (listener, backend) = Self::bind(name, Kind::Http);
        let state = Arc::clone(&backend.state);
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    state.hits.fetch_add(1, Ordering::Relaxed);
                    while let Some(Ok(message)) = socket.next().await {
                        if let Message::Text(text) = message {
                            let reply = format!("{}: {}", state.name, text.as_str());
                            if socket.send(Message::text(reply)).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        backend
    }

    /// The address Envoy should send to.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Requests answered (HTTP, not counting `/healthz`), or connections accepted (TCP,
    /// WebSocket).
    pub fn hits(&self) -> u64 {
        self.state.hits.load(Ordering::Relaxed)
    }

    /// Makes `/healthz` answer 200 (healthy) or 503.
    pub fn set_healthy(&self, healthy: bool) {
        self.state.healthy.store(healthy, Ordering::Relaxed);
    }
}

async fn answer(
    request: Request<hyper::body::Incoming>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("x-backend", state.name.as_str())
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    if request.uri().path() == "/healthz" {
        let healthy = state.healthy.load(Ordering::Relaxed);
        return Ok(reply(if healthy { 200 } else { 503 }, String::new()));
    }
    let hit = state.hits.fetch_add(1, Ordering::Relaxed);
    let delay = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("delay_ms="))
        .and_then(|ms| ms.parse::<u64>().ok());
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if state.kind == Kind::Flaky && hit.is_multiple_of(2) {
        return Ok(reply(503, format!("{} fails this one", state.name)));
    }
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in request.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let body = serde_json::json!({
        "backend": state.name,
        "method": request.method().as_str(),
        "path": request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/"),
        "headers": headers,
    });
    Ok(reply(200, body.to_string()))
}

async fn echo(mut stream: impl AsyncRead + AsyncWrite + Unpin, name: &str) {
    if stream.write_all(format!("{name}: ").as_bytes()).await.is_err() {
        return;
    }
    let mut buf = [0_u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
