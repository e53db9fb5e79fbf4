//! The status writer: a leader-only task that patches IngressRoute statuses.
//!
//! The event loop works out, after every build and every IngressRoute update, which
//! IngressRoutes have a status that differs from the one on the object, and records each
//! change in [`PendingStatuses`] (a map, and a queue of the keys that changed). This
//! task, while this replica leads, takes keys off the queue and writes them:
//!
//! ```text
//!  event loop ──set(key)──▶ PendingStatuses ──next()──▶ writer ──(rate limit)──▶
//!      ▲                    {entries, queue}            │ leader? (Lease)
//!      │                                                ▼
//!      └── watch: the written status clears the entry   PATCH …/ingressroutes/NAME/status
//!                                                        or …/ingressroutes/NAME
//!                                                        {"status": {...}} (merge patch)
//! ```
//!
//! * Where the status goes depends on the IngressRoute CRD, which API discovery tells at
//!   start ([`StatusMode`]): our CRD (`examples/deploy/00-crds.yaml`) has a status
//!   subresource, which takes nothing but `status` from a patch; Contour v1.0.1's has none
//!   (`subresources: {}`), and then, as Contour v1.0.1 did, the patch goes to the object
//!   itself (docs/behaviour.md#s5-4). Either way the patch holds nothing but `status`, with
//!   no resourceVersion precondition. A start in the second mode logs one warning saying how
//!   to switch. The mode follows a CRD replaced while running: a `404` from `/status` for an
//!   object discovery still lists, or a status the API server dropped from an object
//!   patch, makes the writer ask discovery again and switch.
//! * A status equal to the object's is never written; a status written once is not
//!   written again until the object changes (its resourceVersion) and still differs.
//! * `409 Conflict`, `429` and server errors are retried with a backoff; a `404` means the
//!   object is gone; other refusals are logged and not retried until the object changes.
//! * Losing the lead stops writing before the next request; gaining it writes everything
//!   pending.
//! * Every step costs O(log n) in the number of IngressRoutes: nothing is copied or
//!   rescanned per write, so 20 000 statuses take 20 000 small steps.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use ingressroute_api::{IngressRoute, IngressRouteStatus};
use ingressroute_dag::ObjectRef;
use ingressroute_pipeline::{StatusWrite, StatusWrites};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::{Api, Client, Resource as _};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::metrics::Metrics;
use crate::settings::RateLimit;
use ingressroute_envoy::error_chain;

/// The field manager named in status patches and Lease writes.
pub(crate) const FIELD_MANAGER: &str = "ingressroute-controller";

/// The first retry delay of a failed write; doubled per attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The statuses to write, shared by the event loop (which sets them) and the writer
/// (which takes the keys that changed).
#[derive(Debug, Default)]
pub(crate) struct PendingStatuses {
    state: Mutex<PendingState>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct PendingState {
    entries: StatusWrites,
    /// Keys whose entry changed since the writer last took them.
    queue: BTreeSet<ObjectRef>,
}

impl PendingStatuses {
    fn state(&self) -> std::sync::MutexGuard<'_, PendingState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets (or, with `None`, clears) the status to write for `key`.
    pub(crate) fn set(&self, key: &ObjectRef, entry: Option<StatusWrite>) {
        let mut state = self.state();
        let changed = match entry {
            Some(entry) => {
                state.entries.get(key) != Some(&entry) && {
                    state.entries.insert(key.clone(), entry);
                    true
                }
            }
            None => state.entries.remove(key).is_some(),
        };
        if changed {
            state.queue.insert(key.clone());
            drop(state);
            self.changed.notify_one();
        }
    }

    /// Replaces every entry (after a build), queueing only the keys that changed.
    pub(crate) fn replace_all(&self, entries: StatusWrites) {
        let mut state = self.state();
        let mut changed: Vec<ObjectRef> = state
            .entries
            .iter()
            .filter(|(k, v)| entries.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        changed.extend(entries.keys().filter(|k| !state.entries.contains_key(*k)).cloned());
        if changed.is_empty() {
            return;
        }
        state.entries = entries;
        state.queue.extend(changed);
        drop(state);
        self.changed.notify_one();
    }

    /// How many statuses are waiting to be written.
    pub(crate) fn len(&self) -> usize {
        self.state().entries.len()
    }

    /// The next key that changed, and its entry now (`None`: nothing to write any more).
    fn next(&self) -> Option<(ObjectRef, Option<StatusWrite>)> {
        let mut state = self.state();
        let key = state.queue.pop_first()?;
        let entry = state.entries.get(&key).cloned();
        Some((key, entry))
    }

    /// Queues `key` again.
    fn requeue(&self, key: ObjectRef) {
        self.state().queue.insert(key);
    }

    /// Queues every key (a new leader writes everything pending).
    fn requeue_all(&self) {
        let mut state = self.state();
        let keys: Vec<ObjectRef> = state.entries.keys().cloned().collect();
        state.queue.extend(keys);
    }
}

/// The status writes' rate limit: `governor`'s GCRA limiter, which behaves as a token
/// bucket of `burst` tokens refilled at `qps` per second, starting full.
///
/// The limiter reads tokio's clock (see [`TokioClock`]) and waits with `tokio::time::sleep`,
/// so that a wait is cancelled with the `select!` around it and follows tokio's paused
/// test clock.
pub(crate) struct TokenBucket {
    limiter: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<TokioInstant>>,
}

impl std::fmt::Debug for TokenBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBucket").finish_non_exhaustive()
    }
}

impl TokenBucket {
    /// A full bucket. A `qps` that is not a positive number counts as 1; a burst of 0 as 1.
    pub(crate) fn new(limit: RateLimit) -> Self {
        let qps = if limit.qps.is_finite() && limit.qps > 0.0 {
            limit.qps
        } else {
            1.0
        };
        let period = Duration::try_from_secs_f64(1.0 / qps)
            .ok()
            .filter(|p| !p.is_zero())
            .unwrap_or(Duration::from_nanos(1));
        let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::direct_with_clock(quota, TokioClock),
        }
    }

    /// Takes a token, waiting for one if needed. Cancel-safe: a cancelled wait takes
    /// nothing.
    pub(crate) async fn acquire(&self) {
        while let Err(not_until) = self.limiter.check() {
            tokio::time::sleep(not_until.wait_time_from(TokioClock.now())).await;
        }
    }
}

/// `governor`'s clock on tokio's time (which tests may pause).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TokioClock;

/// An instant of [`TokioClock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TokioInstant(Instant);

impl std::ops::Add<Nanos> for TokioInstant {
    type Output = Self;

    fn add(self, nanos: Nanos) -> Self {
        Self(self.0 + Duration::from(nanos))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        self.0.saturating_duration_since(earlier.0).into()
    }

    fn saturating_sub(&self, nanos: Nanos) -> Self {
        Self(self.0.checked_sub(Duration::from(nanos)).unwrap_or(self.0))
    }
}

impl Clock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        TokioInstant(Instant::now())
    }
}

/// Where statuses are written: it depends on the IngressRoute CRD installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusMode {
    /// The CRD has a status subresource (ours): merge patches of
    /// `…/ingressroutes/NAME/status`. RBAC: `patch` on `ingressroutes/status`.
    Subresource,
    /// The CRD has none (Contour v1.0.1's, `subresources: {}`): merge patches
    /// `{"status": …}` of `…/ingressroutes/NAME`, as Contour v1.0.1 sent them. RBAC:
    /// `patch` on `ingressroutes`.
    Object,
}

impl StatusMode {
    fn as_str(self) -> &'static str {
        match self {
            StatusMode::Subresource => "subresource",
            StatusMode::Object => "object",
        }
    }
}

/// Asks API discovery (`GET /apis/contour.heptio.com/v1beta1`, which every authenticated
/// user may read) whether the IngressRoute CRD serves a status subresource.
async fn discover_status_mode(client: &Client) -> Result<StatusMode, kube::Error> {
    let gvk = GroupVersionKind::gvk(
        &IngressRoute::group(&()),
        &IngressRoute::version(&()),
        &IngressRoute::kind(&()),
    );
    let (_, capabilities) = kube::discovery::pinned_kind(client, &gvk).await?;
    Ok(
        if capabilities
            .subresources
            .iter()
            .any(|(resource, _)| resource.plural == "status")
        {
            StatusMode::Subresource
        } else {
            StatusMode::Object
        },
    )
}

/// Logs the mode statuses are written in: a warning (once) when it is the object itself.
fn log_mode(mode: StatusMode, since: &str) {
    match mode {
        StatusMode::Subresource => info!(
            status_mode = mode.as_str(),
            "{since}: the IngressRoute CRD has a status subresource; statuses are written to it"
        ),
        StatusMode::Object => warn!(
            status_mode = mode.as_str(),
            "{since}: the IngressRoute CRD has no status subresource (as Contour v1.0.1's); \
             statuses are written as merge patches of the IngressRoutes themselves, which needs \
             `patch` on `ingressroutes`. To write them to the status subresource instead, install \
             the CRD that has one: kubectl apply -f examples/deploy/00-crds.yaml"
        ),
    }
}

/// What one write attempt came to.
enum Outcome {
    /// Written, or nothing left to write (the object is gone, or refused for good).
    Done,
    /// Try again later.
    Retry,
    /// The mode changed: write it again at once.
    Again,
}

/// The status-writing task's state.
pub(crate) struct StatusWriter {
    client: Client,
    /// IngressRoutes as untyped objects: a patch's answer decodes even when the object does
    /// not (as under a CRD without a schema).
    resource: ApiResource,
    /// Where statuses go (detected at the start of [`StatusWriter::run`]).
    mode: StatusMode,
    pending: Arc<PendingStatuses>,
    leader: watch::Receiver<bool>,
    bucket: TokenBucket,
    metrics: Arc<Metrics>,
    /// What was written (or given up on) per object, against which version.
    done: HashMap<ObjectRef, StatusWrite>,
    /// When each failed write may be retried, and how many attempts it has had.
    retry: HashMap<ObjectRef, (Instant, u32)>,
}

impl std::fmt::Debug for StatusWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusWriter")
            .field("mode", &self.mode)
            .field("done", &self.done.len())
            .field("retry", &self.retry.len())
            .finish_non_exhaustive()
    }
}

impl StatusWriter {
    /// A writer of the pending statuses, active while `leader` is true.
    pub(crate) fn new(
        client: Client,
        pending: Arc<PendingStatuses>,
        leader: watch::Receiver<bool>,
        rate: RateLimit,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            client,
            resource: ApiResource::erase::<IngressRoute>(&()),
            mode: StatusMode::Subresource,
            pending,
            leader,
            bucket: TokenBucket::new(rate),
            metrics,
            done: HashMap::new(),
            retry: HashMap::new(),
        }
    }

    /// Writes statuses until `shutdown` turns true.
    pub(crate) async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        tokio::select! {
            mode = discover_status_mode(&self.client) => match mode {
                Ok(mode) => {
                    self.mode = mode;
                    log_mode(mode, "at start");
                }
                Err(error) => warn!(
                    status_mode = self.mode.as_str(),
                    error = %error_chain(&error),
                    "at start: API discovery cannot tell whether the IngressRoute CRD has a \
                     status subresource; statuses are written to it, and to the objects if it \
                     turns out to be missing"
                ),
            },
            _ = shutdown.changed() => return,
        }
        let mut leading = false;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let now_leading = *self.leader.borrow_and_update();
            if now_leading && !leading {
                // Everything pending is this replica's to write now.
                self.pending.requeue_all();
            }
            leading = now_leading;
            if !leading {
                tokio::select! {
                    changed = self.leader.changed() => if changed.is_err() { return },
                    _ = shutdown.changed() => return,
                }
                continue;
            }
            let Some((key, entry)) = self.pending.next() else {
                // Nothing queued: wait for a change, the lead, or the next retry.
                let next_retry = self.retry.values().map(|(at, _)| *at).min();
                tokio::select! {
                    () = self.pending.changed.notified() => {}
                    changed = self.leader.changed() => if changed.is_err() { return },
                    () = sleep_until(next_retry) => self.requeue_due(),
                    _ = shutdown.changed() => return,
                }
                continue;
            };
            let Some(entry) = entry else {
                self.done.remove(&key);
                self.retry.remove(&key);
                if self.done.is_empty() {
                    // Every status written has come back: the table that held them all
                    // after the first build (20,000 at dataset L) is not kept around.
                    self.done.shrink_to_fit();
                }
                continue;
            };
            if self.done.get(&key) == Some(&entry) {
                continue;
            }
            if self.retry.get(&key).is_some_and(|(at, _)| *at > Instant::now()) {
                // Queued again when its retry is due.
                continue;
            }
            tokio::select! {
                () = self.bucket.acquire() => {}
                _ = self.leader.changed() => {
                    self.pending.requeue(key);
                    continue;
                }
                _ = shutdown.changed() => return,
            }
            if !*self.leader.borrow() {
                self.pending.requeue(key);
                continue;
            }
            match self.write(&key, &entry).await {
                Outcome::Done => {
                    self.retry.remove(&key);
                    self.done.insert(key, entry);
                }
                Outcome::Again => self.pending.requeue(key),
                Outcome::Retry => {
                    let attempts = self.retry.get(&key).map_or(0, |(_, n)| *n);
                    let delay = FIRST_BACKOFF.saturating_mul(1 << attempts.min(10)).min(MAX_BACKOFF);
                    self.retry.insert(key, (Instant::now() + delay, attempts + 1));
                }
            }
        }
    }

    /// Queues the failed writes whose retry is due.
    fn requeue_due(&mut self) {
        let now = Instant::now();
        let due: Vec<ObjectRef> = self
            .retry
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            if let Some((_, attempts)) = self.retry.get_mut(&key) {
                // Still counted, but due: `run` takes it now.
                let attempts = *attempts;
                self.retry.insert(key.clone(), (now, attempts));
            }
            self.pending.requeue(key);
        }
    }

    /// Patches one status, where [`StatusWriter::mode`] says.
    async fn write(&mut self, key: &ObjectRef, entry: &StatusWrite) -> Outcome {
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &key.namespace, &self.resource);
        let patch = serde_json::json!({ "status": entry.desired });
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let result = match self.mode {
            StatusMode::Subresource => api.patch_status(&key.name, &params, &Patch::Merge(&patch)).await,
            StatusMode::Object => api.patch(&key.name, &params, &Patch::Merge(&patch)).await,
        };
        match result {
            Ok(object) if self.mode == StatusMode::Object && !has_status(&object, &entry.desired) => {
                // A CRD with a status subresource ignores `status` in patches of the object.
                self.rediscover(key, StatusMode::Subresource).await
            }
            Ok(_) => {
                self.metrics.status_written();
                info!(
                    ingressroute = %key,
                    status = %entry.desired.current_status,
                    description = %entry.desired.description,
                    "status written"
                );
                Outcome::Done
            }
            Err(kube::Error::Api(status)) if status.is_conflict() => {
                self.metrics.status_conflict();
                debug!(ingressroute = %key, "status write conflicted; retrying");
                Outcome::Retry
            }
            Err(kube::Error::Api(status)) if status.is_not_found() && self.mode == StatusMode::Subresource => {
                // Gone, or no status subresource any more (the CRD was replaced).
                self.rediscover(key, StatusMode::Object).await
            }
            Err(kube::Error::Api(status)) if status.is_not_found() => {
                self.metrics.status_not_found();
                debug!(ingressroute = %key, "gone before its status was written");
                Outcome::Done
            }
            Err(kube::Error::Api(status)) if status.code == 429 || status.code >= 500 => {
                self.metrics.status_error();
                warn!(ingressroute = %key, error = %status, "status write failed; retrying");
                Outcome::Retry
            }
            Err(kube::Error::Api(status)) => {
                self.metrics.status_error();
                warn!(ingressroute = %key, error = %status, "status write refused");
                Outcome::Done
            }
            Err(error) => {
                self.metrics.status_error();
                warn!(ingressroute = %key, error = %error_chain(&error), "status write failed; retrying");
                Outcome::Retry
            }
        }
    }

    /// A write in the current mode did not land the way it would if the CRD were the one
    /// detected: asks discovery again, and switches to `suspected` if it says so.
    async fn rediscover(&mut self, key: &ObjectRef, suspected: StatusMode) -> Outcome {
        match discover_status_mode(&self.client).await {
            Ok(mode) if mode == suspected => {
                // The attempt is counted as failed; the write is sent again in the new mode.
                self.metrics.status_error();
                self.mode = mode;
                log_mode(mode, "the IngressRoute CRD changed");
                Outcome::Again
            }
            Ok(StatusMode::Subresource) => {
                // `/status` answered 404 and the CRD still serves it: the object is gone.
                self.metrics.status_not_found();
                debug!(ingressroute = %key, "gone before its status was written");
                Outcome::Done
            }
            Ok(StatusMode::Object) => {
                // Patched, but the status did not stick although the CRD has no status
                // subresource (an admission webhook?): not retried until the object changes.
                self.metrics.status_error();
                warn!(
                    ingressroute = %key,
                    "the API server accepted the status patch but did not keep the status"
                );
                Outcome::Done
            }
            Err(error) => {
                self.metrics.status_error();
                warn!(
                    ingressroute = %key,
                    error = %error_chain(&error),
                    "API discovery failed after a status write that did not land; retrying"
                );
                Outcome::Retry
            }
        }
    }
}

/// Whether `object` (as the API server answered a patch) has the status `desired`.
fn has_status(object: &DynamicObject, desired: &IngressRouteStatus) -> bool {
    object
        .data
        .get("status")
        .and_then(|status| serde_json::from_value::<IngressRouteStatus>(status.clone()).ok())
        .is_some_and(|status| status == *desired)
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_token_bucket_allows_its_burst_then_its_rate() {
        let bucket = TokenBucket::new(RateLimit::new(10.0, 3));
        let start = Instant::now();
        for _ in 0..3 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
        for _ in 0..5 {
            bucket.acquire().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(490) && took <= Duration::from_millis(520),
            "{took:?}"
        );
    }
}
