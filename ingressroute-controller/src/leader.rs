//! Leader election with a `coordination.k8s.io/v1` Lease, the way client-go does it.
//!
//! ```text
//!  every retry period:
//!    GET lease ── 404 ──▶ POST lease {holder: me}                      ──▶ leader
//!        │
//!        ├─ held by another, seen unchanged for < its leaseDuration   ──▶ follower
//!        └─ otherwise: PUT lease {holder: me, renewTime: now}
//!                      with metadata.resourceVersion (409 if it moved) ──▶ leader
//!  a leader that cannot renew for the renew deadline steps down;
//!  on shutdown a leader hands the Lease back (holder cleared, duration 1 s).
//! ```
//!
//! Expiry is judged by this replica's own clock from when it last saw the Lease change
//! (client-go's `observedTime`), never by comparing another machine's timestamps. Every
//! write names the field manager `ingressroute-controller`.
//!
//! Why our own and not a crate: none fits kube 5 with these semantics.
//! * `kube-lease-manager` (0.13, kube 5) keeps the lead while it cannot reach the API server
//!   (a failed renewal is retried with a backoff, the leader flag stays set), so a replica
//!   cut off from the API server would go on writing statuses after another took over; it
//!   judges expiry by comparing the holder's `renewTime` with the local clock; it counts
//!   durations in whole seconds and renews a grace period before expiry, so neither
//!   `--leader-election-retry-period` nor `--leader-election-renew-deadline` can be kept.
//! * `kubert`'s lease module (0.25) is built on kube 1.1 and k8s-openapi 0.25.
//! * kube-runtime 5 has no leader election.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::metrics::Metrics;
use crate::settings::LeaderElection;
use crate::status::FIELD_MANAGER;
use ingressroute_envoy::error_chain;

/// Why a round of the election failed.
#[derive(Debug)]
enum Failure {
    /// The API server refused or could not be reached.
    Api(kube::Error),
    /// The round took longer than the time left to renew.
    Timeout(Duration),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Api(error) => f.write_str(&error_chain(error)),
            Failure::Timeout(after) => write!(f, "no answer within {after:?}"),
        }
    }
}

/// What a Lease looked like the last time it was read, and when.
#[derive(Debug)]
struct Observed {
    resource_version: Option<String>,
    holder: Option<String>,
    at: Instant,
}

/// The election of one replica.
#[derive(Debug)]
pub(crate) struct Elector {
    api: Api<Lease>,
    settings: LeaderElection,
    metrics: Arc<Metrics>,
    observed: Option<Observed>,
}

/// What every Lease write sends along: the field manager.
fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    }
}

impl Elector {
    /// An elector for the Lease `settings.lease_name` in `namespace`.
    pub(crate) fn new(client: Client, namespace: &str, settings: LeaderElection, metrics: Arc<Metrics>) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            settings,
            metrics,
            observed: None,
        }
    }

    /// Campaigns, leads and renews until `shutdown` turns true, publishing leadership on
    /// `leader`. A leader releases the Lease on the way out.
    pub(crate) async fn run(mut self, leader: watch::Sender<bool>, mut shutdown: watch::Receiver<bool>) {
        let identity = self.settings.identity.clone();
        let mut last_renewal: Option<Instant> = None;
        loop {
            let leading = *leader.borrow();
            // A leader must renew within the renew deadline: the client retries server
            // errors by itself, so a request may take that long and is cut off there.
            let budget = match last_renewal.filter(|_| leading) {
                Some(at) => self.settings.renew_deadline.saturating_sub(at.elapsed()),
                None => self.settings.renew_deadline,
            };
            let round = tokio::time::timeout(budget.max(Duration::from_millis(10)), self.try_acquire_or_renew());
            let outcome = match round.await {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure::Timeout(budget)),
            };
            match outcome {
                Ok(true) => {
                    last_renewal = Some(Instant::now());
                    if !leading {
                        info!(%identity, lease = %self.settings.lease_name, "became the leader");
                        self.set(&leader, true);
                    }
                }
                Ok(false) => {
                    if leading {
                        warn!(%identity, "lost the lease to another replica; no longer writing statuses");
                        self.set(&leader, false);
                    }
                }
                Err(error) => {
                    let message = error.to_string();
                    if leading && last_renewal.is_none_or(|at| at.elapsed() >= self.settings.renew_deadline) {
                        warn!(%identity, error = %message, "could not renew the lease in time; no longer the leader");
                        self.set(&leader, false);
                    } else {
                        debug!(%identity, error = %message, "lease request failed");
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.settings.retry_period) => {}
                _ = shutdown.changed() => {
                    if *leader.borrow() {
                        self.release().await;
                        self.set(&leader, false);
                    }
                    return;
                }
            }
        }
    }

    fn set(&self, leader: &watch::Sender<bool>, value: bool) {
        self.metrics.set_leader(value);
        leader.send_replace(value);
    }

    fn lease_seconds(&self) -> i32 {
        let seconds = self.settings.lease_duration.as_secs_f64().ceil();
        // Bounded by the check below; a Lease needs at least a second.
        if seconds >= f64::from(i32::MAX) {
            i32::MAX
        } else {
            (seconds as i32).max(1)
        }
    }

    /// One round: takes or renews the Lease if it may. `Ok(true)`: this replica holds it.
    async fn try_acquire_or_renew(&mut self) -> Result<bool, Failure> {
        let now = MicroTime(Timestamp::now());
        let identity = self.settings.identity.clone();
        let Some(lease) = self
            .api
            .get_opt(&self.settings.lease_name)
            .await
            .map_err(Failure::Api)?
        else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.settings.lease_name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(identity),
                    lease_duration_seconds: Some(self.lease_seconds()),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&post_params(), &lease).await {
                Ok(created) => {
                    self.observe(&created);
                    Ok(true)
                }
                Err(kube::Error::Api(status)) if status.is_already_exists() || status.is_conflict() => Ok(false),
                Err(error) => Err(Failure::Api(error)),
            };
        };

        self.observe(&lease);
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let ours = holder.as_deref() == Some(identity.as_str());
        if let Some(holder) = &holder
            && !ours
        {
            let duration =
                Duration::from_secs(u64::try_from(spec.lease_duration_seconds.unwrap_or_default()).unwrap_or_default());
            let seen_for = self.observed.as_ref().map_or(Duration::ZERO, |o| o.at.elapsed());
            if seen_for < duration {
                debug!(%holder, "the lease is held by another replica");
                return Ok(false);
            }
            info!(%holder, "the lease expired; taking it over");
        }

        let transitions = spec.lease_transitions.unwrap_or_default();
        let mut updated = lease.clone();
        updated.spec = Some(LeaseSpec {
            holder_identity: Some(identity),
            lease_duration_seconds: Some(self.lease_seconds()),
            acquire_time: if ours { spec.acquire_time } else { Some(now.clone()) },
            renew_time: Some(now),
            lease_transitions: Some(if ours {
                transitions
            } else {
                transitions.saturating_add(1)
            }),
            ..spec
        });
        match self
            .api
            .replace(&self.settings.lease_name, &post_params(), &updated)
            .await
        {
            Ok(replaced) => {
                self.observe(&replaced);
                Ok(true)
            }
            // Someone else wrote it first (its resourceVersion moved on).
            Err(kube::Error::Api(status)) if status.is_conflict() => Ok(false),
            Err(error) => Err(Failure::Api(error)),
        }
    }

    /// Notes a Lease as seen now if it changed since it was last seen.
    fn observe(&mut self, lease: &Lease) {
        let resource_version = lease.metadata.resource_version.clone();
        let holder = lease.spec.as_ref().and_then(|s| s.holder_identity.clone());
        let unchanged = self
            .observed
            .as_ref()
            .is_some_and(|o| o.resource_version == resource_version && o.holder == holder);
        if !unchanged {
            self.observed = Some(Observed {
                resource_version,
                holder,
                at: Instant::now(),
            });
        }
    }

    /// Hands the Lease back so that another replica need not wait for it to expire.
    async fn release(&mut self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.settings.lease_name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else { return };
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return;
        }
        let now = MicroTime(Timestamp::now());
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.acquire_time = Some(now.clone());
        spec.renew_time = Some(now);
        match self
            .api
            .replace(&self.settings.lease_name, &post_params(), &lease)
            .await
        {
            Ok(_) => info!(identity = %self.settings.identity, "released the lease"),
            Err(error) => warn!(error = %error_chain(&error), "could not release the lease"),
        }
    }
}
