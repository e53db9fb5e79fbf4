//! What every translation benchmark needs: a generated dataset loaded into the DAG's
//! [`Objects`] and the [`Endpoints`] index.

use ingressroute_dag::Objects;
use ingressroute_envoy::Endpoints;
use ingressroute_fixtures::Dataset;

/// The dataset's IngressRoutes, Services and Secrets in an [`Objects`], and its v1
/// Endpoints in an [`Endpoints`].
pub(crate) fn load(data: &Dataset) -> (Objects, Endpoints) {
    let mut objects = Objects::new();
    for route in &data.ingress_routes {
        objects.insert_ingress_route(route.clone());
    }
    for service in &data.services {
        objects.insert_service(service);
    }
    for secret in &data.secrets {
        let _ = objects.insert_secret(secret);
    }
    let mut endpoints = Endpoints::new();
    for e in &data.endpoints {
        endpoints.insert(e);
    }
    (objects, endpoints)
}
