//! Status diffs: which IngressRoutes need a status write, and how statuses changed between
//! two builds.
//!
//! ```text
//!  Dag statuses ──┐
//!                 ├──▶ status_writes: desired ≠ the object's own status ──▶ a writer
//!  Store objects ─┘                                                        (controller)
//!
//!  previous build's Statuses ─┐
//!                             ├──▶ status_changes ──▶ a log (serve)
//!  this build's Statuses ─────┘
//! ```
//!
//! What this module does **not** do: write anything. The controller's leader-only writer
//! patches the objects; `serve` logs the changes.

use std::collections::BTreeMap;
use std::fmt;

use ingressroute_api::{IngressRouteStatus, STATUS_INVALID};
use ingressroute_dag::{CurrentStatus, Dag, ObjectRef};

use crate::store::Store;

/// A status to write, and the object version it was computed against.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusWrite {
    /// The status the object should have.
    pub desired: IngressRouteStatus,
    /// The object's resourceVersion when it was seen with another status.
    pub resource_version: Option<String>,
}

/// Every IngressRoute whose status needs writing, by namespace then name.
pub type StatusWrites = BTreeMap<ObjectRef, StatusWrite>;

/// The status writes `dag` calls for: every stored IngressRoute whose computed status
/// differs from the one on the object, and every undecodable one not yet marked invalid.
#[must_use]
pub fn status_writes(dag: &Dag, store: &Store) -> StatusWrites {
    let mut writes = StatusWrites::new();
    for key in store.undecodable_routes().keys() {
        if let Some(write) = status_write(Some(dag), store, key) {
            writes.insert(key.clone(), write);
        }
    }
    for key in dag.statuses().keys() {
        if let Some(write) = status_write(Some(dag), store, key) {
            writes.insert(key.clone(), write);
        }
    }
    writes
}

/// The status write one IngressRoute needs now, if any: after it changed without a build,
/// or for a single lookup. `dag` is the last build (`None` before the first one: only
/// undecodable objects have a status then).
#[must_use]
pub fn status_write(dag: Option<&Dag>, store: &Store, key: &ObjectRef) -> Option<StatusWrite> {
    if let Some(undecodable) = store.undecodable_routes().get(key) {
        let desired = IngressRouteStatus {
            current_status: STATUS_INVALID.to_owned(),
            description: undecodable.description(),
        };
        return (undecodable.status.as_ref() != Some(&desired)).then(|| StatusWrite {
            desired,
            resource_version: undecodable.metadata.resource_version.clone(),
        });
    }
    let desired = dag?.status(key)?.to_api();
    store.ingress_route(key)?;
    (store.ingress_route_status(key) != Some(&desired)).then(|| StatusWrite {
        desired,
        resource_version: store.ingress_route_resource_version(key).map(str::to_owned),
    })
}

/// Statuses by IngressRoute, as compared between builds.
pub type Statuses = BTreeMap<ObjectRef, (CurrentStatus, String)>;

/// The statuses of a build, undecodable IngressRoutes of `store` included.
#[must_use]
pub fn statuses(dag: &Dag, store: &Store) -> Statuses {
    let mut statuses: Statuses = dag
        .statuses()
        .iter()
        .map(|(object, status)| (object.clone(), (status.current_status, status.description.clone())))
        .collect();
    for (key, undecodable) in store.undecodable_routes() {
        statuses.insert(key.clone(), (CurrentStatus::Invalid, undecodable.description()));
    }
    statuses
}

/// An IngressRoute whose status changed between two builds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusChange {
    /// The IngressRoute.
    pub object: ObjectRef,
    /// Its new status, or `None` when it is no longer there.
    pub status: Option<(CurrentStatus, String)>,
}

impl fmt::Display for StatusChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            Some((status, description)) => write!(f, "{}: {}: {description}", self.object, status.as_str()),
            None => write!(f, "{}: removed", self.object),
        }
    }
}

/// The IngressRoutes whose status differs between `old` and `new`, by namespace and name.
#[must_use]
pub fn status_changes(old: &Statuses, new: &Statuses) -> Vec<StatusChange> {
    let mut changes: Vec<StatusChange> = new
        .iter()
        .filter(|(object, status)| old.get(*object) != Some(*status))
        .map(|(object, status)| StatusChange {
            object: object.clone(),
            status: Some(status.clone()),
        })
        .collect();
    changes.extend(
        old.keys()
            .filter(|object| !new.contains_key(*object))
            .map(|object| StatusChange {
                object: object.clone(),
                status: None,
            }),
    );
    changes.sort_by(|a, b| a.object.cmp(&b.object));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(entries: &[(&str, CurrentStatus, &str)]) -> Statuses {
        entries
            .iter()
            .map(|(name, status, description)| (ObjectRef::new("default", *name), (*status, (*description).to_owned())))
            .collect()
    }

    #[test]
    fn only_new_changed_and_removed_statuses_are_reported() {
        let old = statuses(&[
            ("a", CurrentStatus::Valid, "valid IngressRoute"),
            ("b", CurrentStatus::Valid, "valid IngressRoute"),
            ("c", CurrentStatus::Valid, "valid IngressRoute"),
        ]);
        let new = statuses(&[
            ("a", CurrentStatus::Valid, "valid IngressRoute"),
            ("b", CurrentStatus::Invalid, "Service [web:80] is invalid or missing"),
            ("d", CurrentStatus::Valid, "valid IngressRoute"),
        ]);
        let lines: Vec<String> = status_changes(&old, &new).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "default/b: invalid: Service [web:80] is invalid or missing",
                "default/c: removed",
                "default/d: valid: valid IngressRoute",
            ]
        );
        assert!(status_changes(&new, &new).is_empty());
    }
}
