//! Which IngressRoutes are behind an Envoy resource, for the report of a resource Envoy
//! rejects (a NACK).
//!
//! What this module does **not** do: compute anything before it is asked. The answer is
//! worked out from the DAG the resource was translated from only when Envoy rejects one,
//! which is rare; a front end hands [`resolver`] to its xDS server (for example
//! `ingressroute_xds::Snapshot::with_resolver`).

use std::sync::Arc;

use ingressroute_dag::Dag;
use ingressroute_envoy::{EnvoyConfig, ResourceKind};

/// Names (`namespace/name`) the IngressRoutes behind the resource `name` of `kind`,
/// translated from `dag` with `envoy` (see [`ingressroute_envoy::sources`]).
pub fn resolver(
    dag: Arc<Dag>,
    envoy: EnvoyConfig,
) -> impl Fn(ResourceKind, &str) -> Vec<String> + Send + Sync + 'static {
    move |kind, name| {
        ingressroute_envoy::sources(&dag, &envoy, kind, name)
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}
