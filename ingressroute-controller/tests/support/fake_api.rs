//! A fake Kubernetes API server on loopback that speaks the real HTTP API, for a
//! `kube::Client` to talk to.
//!
//! What it implements, for any resource type (addressed as `/api/v1/...` or
//! `/apis/GROUP/VERSION/...`, cluster-wide or under `namespaces/NS/`):
//!
//! * **list** with `limit` and `continue` (the token carries the list's resourceVersion)
//!   and `fieldSelector` on `type` for Secrets (`type=X`, `type!=X`, comma-separated);
//! * **watch** (`?watch=true&resourceVersion=N`): every event after `N` from the event
//!   log, then new ones as they happen, as JSON lines; `N` older than the last
//!   compaction gets an `ERROR` event with code 410 (Gone), as the real server sends;
//!   the stream ends after `timeoutSeconds` or when the test disconnects every watch;
//! * **get**, **create** (`POST`, 409 AlreadyExists), **replace** (`PUT`, 409 Conflict
//!   on a stale `metadata.resourceVersion`), **delete**;
//! * **patch** with a JSON merge patch, of the `status` subresource (only `status` is
//!   taken from the patch, as the real server does) and of objects (whose `status` the
//!   real server ignores when the CRD has a status subresource);
//! * **discovery** of `contour.heptio.com/v1beta1`, which lists `ingressroutes/status` only
//!   while the IngressRoute CRD has a status subresource: ours by default, Contour
//!   v1.0.1's (none: `/status` answers 404, the object takes `status`) after
//!   [`FakeApi::set_status_subresource`]`(false)`.
//!
//! Tests change the world directly ([`FakeApi::apply`], [`FakeApi::delete`]), inject
//! conflicts ([`FakeApi::conflict_status_patches`]) and read back what the client did
//! ([`FakeApi::status_patches`], [`FakeApi::requests`], with their query and User-Agent).
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Identifies a resource type: its path prefix (`/api/v1` or `/apis/G/V`) and plural.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TypeKey {
    pub(crate) prefix: String,
    pub(crate) plural: String,
}

impl TypeKey {
    /// The type of `K`.
    pub(crate) fn of<K: Resource<DynamicType = ()>>() -> Self {
        let group = K::group(&());
        let version = K::version(&());
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        Self {
            prefix,
            plural: K::plural(&()).into_owned(),
        }
    }
}

/// One stored object.
#[derive(Debug, Clone)]
struct Stored {
    json: Arc<Vec<u8>>,
    /// A Secret's `type`, for field selectors.
    type_field: Option<String>,
    resource_version: u64,
}

/// One entry of the event log.
#[derive(Debug, Clone)]
struct Logged {
    rv: u64,
    key: TypeKey,
    namespace: String,
    kind: &'static str,
    object: Stored,
}

/// A patch of an IngressRoute (of its status subresource or of the object) the fake
/// received.
#[derive(Debug, Clone)]
pub(crate) struct StatusPatch {
    pub(crate) namespace: String,
    pub(crate) name: String,
    /// `Some("status")` for the status subresource, `None` for the object.
    pub(crate) subresource: Option<String>,
    pub(crate) content_type: String,
    pub(crate) body: Value,
    /// The HTTP status the fake answered.
    pub(crate) code: u16,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    /// The `User-Agent` header, if any.
    pub(crate) user_agent: Option<String>,
}

impl Request {
    /// The value of one query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then(|| percent_decode(value))
        })
    }
}

#[derive(Debug, Default)]
struct Inner {
    rv: u64,
    /// Watches from a resourceVersion older than this get 410 Gone.
    compacted: u64,
    objects: BTreeMap<TypeKey, BTreeMap<(String, String), Stored>>,
    log: Vec<Logged>,
    status_patches: Vec<StatusPatch>,
    requests: Vec<Request>,
    /// Status patches of these objects to refuse with 409, and how many more times.
    conflicts: BTreeMap<(String, String), u32>,
    /// Refuse every request to this path prefix with 503 while set.
    unavailable: Vec<String>,
    /// Whether to record every request (costly for big lists).
    record_requests: bool,
    /// Whether the IngressRoute CRD has a status subresource.
    status_subresource: bool,
}

#[derive(Debug)]
struct Shared {
    inner: Mutex<Inner>,
    /// The latest resourceVersion; wakes watches.
    changed: watch::Sender<u64>,
    /// Bumped to end every open watch.
    disconnect: watch::Sender<u64>,
}

/// The fake API server.
#[derive(Debug)]
pub(crate) struct FakeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
        self.shared.disconnect.send_modify(|g| *g += 1);
    }
}

impl FakeApi {
    /// A fake with no objects, on a free loopback port.
    pub(crate) async fn start() -> Self {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                rv: 1,
                record_requests: true,
                status_subresource: true,
                ..Inner::default()
            }),
            changed: watch::Sender::new(1),
            disconnect: watch::Sender::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::clone(&shared);
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = Arc::clone(&state);
            async move { handle(&state, &method, &uri, &headers, &body) }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { address, shared, task }
    }

    /// The server's URL.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A client for this server, built as the controller builds its own.
    pub(crate) fn client(&self) -> kube::Client {
        ingressroute_controller::client_from(kube::Config::new(self.url().parse().unwrap())).unwrap()
    }

    /// Serves the IngressRoute CRD with (ours, the default) or without (Contour v1.0.1's)
    /// a status subresource, as if the CRD were replaced.
    pub(crate) fn set_status_subresource(&self, on: bool) {
        self.shared.inner.lock().unwrap().status_subresource = on;
    }

    /// Stops recording requests (for big benchmarks).
    pub(crate) fn record_requests(&self, record: bool) {
        self.shared.inner.lock().unwrap().record_requests = record;
    }

    /// Creates or replaces an object (ADDED or MODIFIED); returns its resourceVersion.
    pub(crate) fn apply<K: Resource<DynamicType = ()> + Serialize>(&self, object: &K) -> u64 {
        let mut value = serde_json::to_value(object).unwrap();
        value["apiVersion"] = json!(K::api_version(&()));
        value["kind"] = json!(K::kind(&()));
        self.apply_value(&TypeKey::of::<K>(), value)
    }

    /// Creates or replaces an object of `K` given as JSON, which need not decode as `K`
    /// (as under a CRD without a schema); returns its resourceVersion.
    pub(crate) fn apply_json<K: Resource<DynamicType = ()>>(&self, mut value: Value) -> u64 {
        value["apiVersion"] = json!(K::api_version(&()));
        value["kind"] = json!(K::kind(&()));
        self.apply_value(&TypeKey::of::<K>(), value)
    }

    /// Creates or replaces many objects at once, waking watches once.
    pub(crate) fn apply_all<K: Resource<DynamicType = ()> + Serialize>(&self, objects: &[K]) {
        let key = TypeKey::of::<K>();
        let mut inner = self.shared.inner.lock().unwrap();
        for object in objects {
            let mut value = serde_json::to_value(object).unwrap();
            value["apiVersion"] = json!(K::api_version(&()));
            value["kind"] = json!(K::kind(&()));
            upsert(&mut inner, &key, value);
        }
        let rv = inner.rv;
        drop(inner);
        self.shared.changed.send_replace(rv);
    }

    fn apply_value(&self, key: &TypeKey, value: Value) -> u64 {
        let mut inner = self.shared.inner.lock().unwrap();
        let rv = upsert(&mut inner, key, value);
        drop(inner);
        self.shared.changed.send_replace(rv);
        rv
    }

    /// Deletes an object (DELETED); whether it existed.
    pub(crate) fn delete<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str) -> bool {
        let mut inner = self.shared.inner.lock().unwrap();
        let removed = remove(&mut inner, &TypeKey::of::<K>(), namespace, name, true);
        let rv = inner.rv;
        drop(inner);
        self.shared.changed.send_replace(rv);
        removed
    }

    /// Deletes an object without telling any watch, forgets the event log and ends every
    /// watch: the watches come back with a resourceVersion that is now too old, get 410
    /// Gone and must relist to notice.
    pub(crate) fn delete_unseen<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str) {
        let mut inner = self.shared.inner.lock().unwrap();
        remove(&mut inner, &TypeKey::of::<K>(), namespace, name, false);
        inner.compacted = inner.rv;
        inner.log.clear();
        // Under the lock: a watch that reads the log after this sees the disconnection.
        self.shared.disconnect.send_modify(|g| *g += 1);
        drop(inner);
    }

    /// Deletes an object without any watch event, as if the event were still on its way.
    pub(crate) fn delete_quietly<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str) {
        let mut inner = self.shared.inner.lock().unwrap();
        remove(&mut inner, &TypeKey::of::<K>(), namespace, name, false);
    }

    /// Ends every open watch (clients resume from their last resourceVersion).
    pub(crate) fn disconnect_watches(&self) {
        self.shared.disconnect.send_modify(|g| *g += 1);
    }

    /// The stored object, typed.
    pub(crate) fn get<K: Resource<DynamicType = ()> + DeserializeOwned>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<K> {
        let inner = self.shared.inner.lock().unwrap();
        let stored = inner
            .objects
            .get(&TypeKey::of::<K>())?
            .get(&(namespace.to_owned(), name.to_owned()))?;
        Some(serde_json::from_slice(&stored.json).unwrap())
    }

    /// The stored object as JSON.
    pub(crate) fn get_json<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str) -> Option<Value> {
        let inner = self.shared.inner.lock().unwrap();
        let stored = inner
            .objects
            .get(&TypeKey::of::<K>())?
            .get(&(namespace.to_owned(), name.to_owned()))?;
        Some(serde_json::from_slice(&stored.json).unwrap())
    }

    /// How many objects of `K` are stored.
    pub(crate) fn count<K: Resource<DynamicType = ()>>(&self) -> usize {
        let inner = self.shared.inner.lock().unwrap();
        inner.objects.get(&TypeKey::of::<K>()).map_or(0, BTreeMap::len)
    }

    /// Refuses the next `times` patches of IngressRoute `namespace/name` (of its status or
    /// of the object) with 409 Conflict.
    pub(crate) fn conflict_status_patches(&self, namespace: &str, name: &str, times: u32) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.conflicts.insert((namespace.to_owned(), name.to_owned()), times);
    }

    /// Answers 503 to every request whose path starts with `prefix` until
    /// [`FakeApi::restore`] is called.
    pub(crate) fn make_unavailable(&self, prefix: &str) {
        self.shared.inner.lock().unwrap().unavailable.push(prefix.to_owned());
    }

    /// Undoes every [`FakeApi::make_unavailable`].
    pub(crate) fn restore(&self) {
        self.shared.inner.lock().unwrap().unavailable.clear();
    }

    /// The IngressRoute patches received so far (of statuses or of objects).
    pub(crate) fn status_patches(&self) -> Vec<StatusPatch> {
        self.shared.inner.lock().unwrap().status_patches.clone()
    }

    /// The successful status patches of one object.
    pub(crate) fn status_writes_of(&self, namespace: &str, name: &str) -> usize {
        self.status_patches()
            .iter()
            .filter(|p| p.namespace == namespace && p.name == name && p.code == 200)
            .count()
    }

    /// The requests received so far.
    pub(crate) fn requests(&self) -> Vec<Request> {
        self.shared.inner.lock().unwrap().requests.clone()
    }
}

/// Inserts or replaces `value` under `key`, logging the event; returns the new version.
fn upsert(inner: &mut Inner, key: &TypeKey, mut value: Value) -> u64 {
    inner.rv += 1;
    let rv = inner.rv;
    let namespace = value["metadata"]["namespace"].as_str().unwrap_or_default().to_owned();
    let name = value["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    value["metadata"]["resourceVersion"] = json!(rv.to_string());
    let type_field = value["type"].as_str().map(str::to_owned);
    let stored = Stored {
        json: Arc::new(serde_json::to_vec(&value).unwrap()),
        type_field,
        resource_version: rv,
    };
    let existed = inner
        .objects
        .entry(key.clone())
        .or_default()
        .insert((namespace.clone(), name), stored.clone())
        .is_some();
    inner.log.push(Logged {
        rv,
        key: key.clone(),
        namespace,
        kind: if existed { "MODIFIED" } else { "ADDED" },
        object: stored,
    });
    rv
}

fn remove(inner: &mut Inner, key: &TypeKey, namespace: &str, name: &str, log: bool) -> bool {
    let Some(old) = inner
        .objects
        .get_mut(key)
        .and_then(|objects| objects.remove(&(namespace.to_owned(), name.to_owned())))
    else {
        return false;
    };
    inner.rv += 1;
    let rv = inner.rv;
    if log {
        let mut value: Value = serde_json::from_slice(&old.json).unwrap();
        value["metadata"]["resourceVersion"] = json!(rv.to_string());
        inner.log.push(Logged {
            rv,
            key: key.clone(),
            namespace: namespace.to_owned(),
            kind: "DELETED",
            object: Stored {
                json: Arc::new(serde_json::to_vec(&value).unwrap()),
                type_field: old.type_field,
                resource_version: rv,
            },
        });
    }
    true
}

/// Where a request points.
#[derive(Debug)]
struct Target {
    key: TypeKey,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (prefix, rest) = match *parts.first()? {
        "api" if parts.len() >= 3 => (format!("/api/{}", parts[1]), &parts[2..]),
        "apis" if parts.len() >= 4 => (format!("/apis/{}/{}", parts[1], parts[2]), &parts[3..]),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_owned()), rest),
        _ => (None, rest),
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some((*name).to_owned()), None),
        [plural, name, sub] => (*plural, Some((*name).to_owned()), Some((*sub).to_owned())),
        _ => return None,
    };
    Some(Target {
        key: TypeKey {
            prefix,
            plural: plural.to_owned(),
        },
        namespace,
        name,
        subresource,
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(uri: &Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// A field selector on `type`: every clause must hold.
#[derive(Debug, Clone, Default)]
struct Selector(Vec<(String, bool)>);

impl Selector {
    fn parse(s: Option<&String>) -> Result<Self, String> {
        let mut clauses = Vec::new();
        for clause in s
            .map(String::as_str)
            .unwrap_or_default()
            .split(',')
            .filter(|c| !c.is_empty())
        {
            let (field, value, equal) = if let Some((f, v)) = clause.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = clause.split_once("==") {
                (f, v, true)
            } else if let Some((f, v)) = clause.split_once('=') {
                (f, v, true)
            } else {
                return Err(format!("invalid selector {clause:?}"));
            };
            if field != "type" {
                return Err(format!("field label not supported: {field}"));
            }
            clauses.push((value.to_owned(), equal));
        }
        Ok(Self(clauses))
    }

    fn matches(&self, stored: &Stored) -> bool {
        let value = stored.type_field.as_deref().unwrap_or_default();
        self.0.iter().all(|(v, equal)| (value == v) == *equal)
    }
}

fn status_response(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    json_response(code, serde_json::to_vec(&body).unwrap())
}

fn json_response(code: StatusCode, body: Vec<u8>) -> Response {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
}

fn handle(shared: &Arc<Shared>, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    let params = query(uri);
    {
        let mut inner = shared.inner.lock().unwrap();
        if inner.record_requests {
            inner.requests.push(Request {
                method: method.clone(),
                path: uri.path().to_owned(),
                query: uri.query().unwrap_or_default().to_owned(),
                user_agent: headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            });
        }
        if inner.unavailable.iter().any(|p| uri.path().starts_with(p)) {
            return status_response(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "unavailable");
        }
    }
    if *method == Method::GET && uri.path() == CONTOUR_GROUP_VERSION {
        return discovery(shared);
    }
    let Some(target) = parse_path(uri.path()) else {
        return status_response(StatusCode::NOT_FOUND, "NotFound", "no such path");
    };
    if target.key.plural == "ingressroutes"
        && target.subresource.is_some()
        && !shared.inner.lock().unwrap().status_subresource
    {
        let patch = (*method == Method::PATCH).then(|| serde_json::from_slice::<Value>(body).ok());
        if let Some(Some(body)) = patch {
            let mut inner = shared.inner.lock().unwrap();
            inner.status_patches.push(StatusPatch {
                namespace: target.namespace.clone().unwrap_or_default(),
                name: target.name.clone().unwrap_or_default(),
                subresource: target.subresource.clone(),
                content_type: content_type(headers),
                body,
                code: 404,
            });
        }
        // What the API server answers for a subresource the CRD does not declare.
        return status_response(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        );
    }
    let selector = match Selector::parse(params.get("fieldSelector")) {
        Ok(s) => s,
        Err(e) => return status_response(StatusCode::BAD_REQUEST, "BadRequest", &e),
    };
    let watching = params.get("watch").is_some_and(|w| w == "true" || w == "1");
    match (method, &target.name) {
        (&Method::GET, None) if watching => watch_response(shared, &target, &params, selector),
        (&Method::GET, None) => list(shared, &target, &params, &selector),
        (&Method::GET, Some(name)) => get(shared, &target, name),
        (&Method::POST, None) => create(shared, &target, body),
        (&Method::PUT, Some(name)) => replace(shared, &target, name, body),
        (&Method::PATCH, Some(name)) => patch(shared, &target, name, headers, body),
        (&Method::DELETE, Some(name)) => {
            let ns = target.namespace.clone().unwrap_or_default();
            let mut inner = shared.inner.lock().unwrap();
            let removed = remove(&mut inner, &target.key, &ns, name, true);
            let rv = inner.rv;
            drop(inner);
            shared.changed.send_replace(rv);
            if removed {
                json_response(
                    StatusCode::OK,
                    serde_json::to_vec(&json!({"kind": "Status", "status": "Success"})).unwrap(),
                )
            } else {
                status_response(StatusCode::NOT_FOUND, "NotFound", "not found")
            }
        }
        _ => status_response(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "not supported"),
    }
}

/// The group version of the Contour CRDs, as discovery serves it.
const CONTOUR_GROUP_VERSION: &str = "/apis/contour.heptio.com/v1beta1";

/// The `APIResourceList` of `contour.heptio.com/v1beta1`.
fn discovery(shared: &Shared) -> Response {
    let verbs = json!([
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch"
    ]);
    let mut resources = vec![json!({
        "name": "ingressroutes", "singularName": "ingressroute", "namespaced": true,
        "kind": "IngressRoute", "verbs": verbs,
    })];
    if shared.inner.lock().unwrap().status_subresource {
        resources.push(json!({
            "name": "ingressroutes/status", "singularName": "", "namespaced": true,
            "kind": "IngressRoute", "verbs": ["get", "patch", "update"],
        }));
    }
    resources.push(json!({
        "name": "tlscertificatedelegations", "singularName": "tlscertificatedelegation",
        "namespaced": true, "kind": "TLSCertificateDelegation", "verbs": verbs,
    }));
    let list = json!({
        "kind": "APIResourceList", "apiVersion": "v1",
        "groupVersion": "contour.heptio.com/v1beta1", "resources": resources,
    });
    json_response(StatusCode::OK, serde_json::to_vec(&list).unwrap())
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn list_kind(target: &Target, inner: &Inner) -> (String, String) {
    // The kind of the first stored object, or a guess from the plural.
    let kind = inner
        .objects
        .get(&target.key)
        .and_then(|o| o.values().next())
        .and_then(|s| serde_json::from_slice::<Value>(&s.json).ok())
        .and_then(|v| v["kind"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "Object".to_owned());
    let api_version = target
        .key
        .prefix
        .trim_start_matches("/apis/")
        .trim_start_matches("/api/")
        .to_owned();
    (format!("{kind}List"), api_version)
}

fn list(shared: &Shared, target: &Target, params: &BTreeMap<String, String>, selector: &Selector) -> Response {
    let inner = shared.inner.lock().unwrap();
    let limit: usize = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let (rv, offset) = match params.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let (rv, offset) = token.split_once(':').unwrap();
            (rv.parse::<u64>().unwrap(), offset.parse::<usize>().unwrap())
        }
        None => (inner.rv, 0),
    };
    let items: Vec<&Stored> = inner
        .objects
        .get(&target.key)
        .into_iter()
        .flat_map(|objects| objects.iter())
        .filter(|((ns, _), _)| target.namespace.as_ref().is_none_or(|n| n == ns))
        .map(|(_, stored)| stored)
        .filter(|stored| selector.matches(stored))
        .collect();
    let page: Vec<&Stored> = items.iter().skip(offset).take(limit).copied().collect();
    let next = offset + page.len();
    let continue_token = if next < items.len() {
        format!("{rv}:{next}")
    } else {
        String::new()
    };
    let (kind, api_version) = list_kind(target, &inner);
    let mut body = Vec::with_capacity(page.iter().map(|s| s.json.len() + 1).sum::<usize>() + 256);
    body.extend_from_slice(
        format!(
            "{{\"apiVersion\":{},\"kind\":{},\"metadata\":{{\"resourceVersion\":\"{rv}\",\"continue\":{}}},\"items\":[",
            json!(api_version),
            json!(kind),
            json!(continue_token)
        )
        .as_bytes(),
    );
    for (i, stored) in page.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&stored.json);
    }
    body.extend_from_slice(b"]}");
    json_response(StatusCode::OK, body)
}

fn get(shared: &Shared, target: &Target, name: &str) -> Response {
    let inner = shared.inner.lock().unwrap();
    let ns = target.namespace.clone().unwrap_or_default();
    match inner
        .objects
        .get(&target.key)
        .and_then(|o| o.get(&(ns, name.to_owned())))
    {
        Some(stored) => json_response(StatusCode::OK, stored.json.to_vec()),
        None => status_response(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{} {name:?} not found", target.key.plural),
        ),
    }
}

fn create(shared: &Shared, target: &Target, body: &Bytes) -> Response {
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return status_response(StatusCode::BAD_REQUEST, "BadRequest", "not JSON");
    };
    let ns = target.namespace.clone().unwrap_or_default();
    if !ns.is_empty() {
        value["metadata"]["namespace"] = json!(ns);
    }
    let name = value["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let mut inner = shared.inner.lock().unwrap();
    if inner
        .objects
        .get(&target.key)
        .is_some_and(|o| o.contains_key(&(ns.clone(), name.clone())))
    {
        return status_response(
            StatusCode::CONFLICT,
            "AlreadyExists",
            &format!("{name:?} already exists"),
        );
    }
    let rv = upsert(&mut inner, &target.key, value);
    let json = inner.objects[&target.key][&(ns, name)].json.to_vec();
    drop(inner);
    shared.changed.send_replace(rv);
    json_response(StatusCode::CREATED, json)
}

fn replace(shared: &Shared, target: &Target, name: &str, body: &Bytes) -> Response {
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return status_response(StatusCode::BAD_REQUEST, "BadRequest", "not JSON");
    };
    let ns = target.namespace.clone().unwrap_or_default();
    if !ns.is_empty() {
        value["metadata"]["namespace"] = json!(ns);
    }
    let mut inner = shared.inner.lock().unwrap();
    let Some(current) = inner
        .objects
        .get(&target.key)
        .and_then(|o| o.get(&(ns.clone(), name.to_owned())))
        .cloned()
    else {
        return status_response(StatusCode::NOT_FOUND, "NotFound", &format!("{name:?} not found"));
    };
    if let Some(expected) = value["metadata"]["resourceVersion"].as_str()
        && expected != current.resource_version.to_string()
    {
        return status_response(
            StatusCode::CONFLICT,
            "Conflict",
            "the object has been modified; please apply your changes to the latest version and try again",
        );
    }
    let rv = upsert(&mut inner, &target.key, value);
    let json = inner.objects[&target.key][&(ns, name.to_owned())].json.to_vec();
    drop(inner);
    shared.changed.send_replace(rv);
    json_response(StatusCode::OK, json)
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = json!({});
            }
            let object = target.as_object_mut().unwrap();
            for (k, v) in fields {
                if v.is_null() {
                    object.remove(k);
                } else {
                    merge(object.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn patch(shared: &Shared, target: &Target, name: &str, headers: &HeaderMap, body: &Bytes) -> Response {
    let content_type = content_type(headers);
    let Ok(patch) = serde_json::from_slice::<Value>(body) else {
        return status_response(StatusCode::BAD_REQUEST, "BadRequest", "not JSON");
    };
    let ns = target.namespace.clone().unwrap_or_default();
    let mut inner = shared.inner.lock().unwrap();
    let ingress_route = target.key.plural == "ingressroutes";
    let to_status = target.subresource.as_deref() == Some("status");
    // Only IngressRoutes may lack the status subresource.
    let status_subresource = inner.status_subresource || !ingress_route;
    let record = |inner: &mut Inner, code: u16| {
        if ingress_route {
            inner.status_patches.push(StatusPatch {
                namespace: ns.clone(),
                name: name.to_owned(),
                subresource: target.subresource.clone(),
                content_type: content_type.clone(),
                body: patch.clone(),
                code,
            });
        }
    };
    if content_type != "application/merge-patch+json" {
        record(&mut inner, 415);
        return status_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "merge patches only",
        );
    }
    if ingress_route
        && let Some(left) = inner
            .conflicts
            .get_mut(&(ns.clone(), name.to_owned()))
            .filter(|n| **n > 0)
    {
        *left -= 1;
        record(&mut inner, 409);
        return status_response(
            StatusCode::CONFLICT,
            "Conflict",
            "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again",
        );
    }
    let Some(current) = inner
        .objects
        .get(&target.key)
        .and_then(|o| o.get(&(ns.clone(), name.to_owned())))
        .cloned()
    else {
        record(&mut inner, 404);
        return status_response(StatusCode::NOT_FOUND, "NotFound", &format!("{name:?} not found"));
    };
    let mut value: Value = serde_json::from_slice(&current.json).unwrap();
    if to_status {
        // The status subresource takes nothing but `status` from a patch.
        if let Some(s) = patch.get("status") {
            let mut just_status = json!({});
            just_status["status"] = s.clone();
            merge(&mut value, &just_status);
        }
    } else if status_subresource {
        // The object takes everything but `status` when the CRD has a status subresource.
        let mut without_status = patch.clone();
        if let Some(fields) = without_status.as_object_mut() {
            fields.remove("status");
        }
        merge(&mut value, &without_status);
    } else {
        merge(&mut value, &patch);
    }
    record(&mut inner, 200);
    // As the real server: a patch that changes nothing changes no resourceVersion.
    let unchanged = serde_json::from_slice::<Value>(&current.json).unwrap() == value;
    if unchanged {
        return json_response(StatusCode::OK, current.json.to_vec());
    }
    let rv = upsert(&mut inner, &target.key, value);
    let json = inner.objects[&target.key][&(ns, name.to_owned())].json.to_vec();
    drop(inner);
    shared.changed.send_replace(rv);
    json_response(StatusCode::OK, json)
}

fn event_line(kind: &str, object: &[u8]) -> Bytes {
    let mut line = Vec::with_capacity(object.len() + 32);
    line.extend_from_slice(b"{\"type\":\"");
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(b"\",\"object\":");
    line.extend_from_slice(object);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

fn watch_response(
    shared: &Arc<Shared>,
    target: &Target,
    params: &BTreeMap<String, String>,
    selector: Selector,
) -> Response {
    let from: Option<u64> = params
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0);
    let timeout = Duration::from_secs(
        params
            .get("timeoutSeconds")
            .and_then(|t| t.parse().ok())
            .unwrap_or(1800),
    );
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    let shared = Arc::clone(shared);
    let key = target.key.clone();
    let namespace = target.namespace.clone();
    tokio::spawn(async move {
        let mut changed = shared.changed.subscribe();
        let mut disconnect = shared.disconnect.subscribe();
        disconnect.mark_unchanged();
        let deadline = tokio::time::Instant::now() + timeout;
        let matches =
            |ns: &str, stored: &Stored| namespace.as_deref().is_none_or(|n| n == ns) && selector.matches(stored);
        // Where to start.
        let (initial, start) = {
            let inner = shared.inner.lock().unwrap();
            match from {
                Some(rv) if rv < inner.compacted => {
                    let gone = json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": format!("too old resource version: {rv} ({})", inner.compacted),
                        "reason": "Expired", "code": 410,
                    });
                    (vec![event_line("ERROR", &serde_json::to_vec(&gone).unwrap())], None)
                }
                Some(rv) => (Vec::new(), Some(rv)),
                // No version: the current objects first, as ADDED.
                None => (
                    inner
                        .objects
                        .get(&key)
                        .into_iter()
                        .flatten()
                        .filter(|((ns, _), s)| matches(ns, s))
                        .map(|(_, s)| event_line("ADDED", &s.json))
                        .collect(),
                    Some(inner.rv),
                ),
            }
        };
        for line in initial {
            if tx.send(Ok(line)).await.is_err() {
                return;
            }
        }
        let Some(mut cursor) = start else { return };
        loop {
            changed.mark_unchanged();
            let lines: Vec<Bytes> = {
                let inner = shared.inner.lock().unwrap();
                let start = inner.log.partition_point(|e| e.rv <= cursor);
                let lines = inner.log[start..]
                    .iter()
                    .filter(|e| e.key == key && matches(&e.namespace, &e.object))
                    .map(|e| event_line(e.kind, &e.object.json))
                    .collect();
                cursor = cursor.max(inner.rv);
                lines
            };
            // A disconnected watch sends nothing more, so that its client resumes from
            // the version it had when the test disconnected it.
            if disconnect.has_changed().unwrap_or(true) {
                return;
            }
            for line in lines {
                if tx.send(Ok(line)).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                biased;
                _ = disconnect.changed() => return,
                _ = changed.changed() => {}
                () = tokio::time::sleep_until(deadline) => return,
                () = tx.closed() => return,
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)))
        .unwrap()
}
