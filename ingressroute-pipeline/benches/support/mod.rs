//! What every pipeline benchmark needs: a generated dataset as the objects a watch delivers.

use std::sync::Arc;

use ingressroute_fixtures::Dataset;
use ingressroute_pipeline::{Kind, Object};

/// The dataset's IngressRoutes, Services, Secrets and Endpoints, each with its kind, as a
/// watch delivers them.
pub(crate) fn objects(data: &Dataset) -> Vec<(Kind, Object)> {
    data.ingress_routes
        .iter()
        .map(|r| (Kind::IngressRoute, Object::IngressRoute(Arc::new(r.clone()))))
        .chain(
            data.services
                .iter()
                .map(|s| (Kind::Service, Object::Service(Arc::new(s.clone())))),
        )
        .chain(
            data.secrets
                .iter()
                .map(|s| (Kind::Secret, Object::Secret(Arc::new(s.clone())))),
        )
        .chain(
            data.endpoints
                .iter()
                .map(|e| (Kind::Endpoints, Object::from_endpoints(e))),
        )
        .collect()
}
