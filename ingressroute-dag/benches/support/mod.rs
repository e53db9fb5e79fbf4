//! What every DAG benchmark needs: a generated dataset loaded into [`Objects`].

use ingressroute_dag::Objects;
use ingressroute_fixtures::Dataset;

/// The dataset's IngressRoutes, Services and Secrets in an [`Objects`] (Secrets
/// validated and irrelevant ones dropped, as a controller would).
pub(crate) fn load(data: &Dataset) -> Objects {
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
    objects
}
