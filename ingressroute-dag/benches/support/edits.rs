//! One-object edits of a loaded dataset, for the incremental benchmarks: each edit has
//! two versions, and applying them in turn changes the objects back and forth, so that
//! every update measured is a real change.

use std::sync::Arc;

use ingressroute_api::{IngressRoute, IngressRouteSpec, Route, Service, VirtualHost};
use ingressroute_dag::{ChangedObjects, ObjectRef, Objects};
use ingressroute_fixtures::Dataset;
use k8s_openapi::api::core::v1 as core_v1;

/// An edit of one object.
pub(crate) enum Edit {
    /// An IngressRoute replaced by another version, and back.
    IngressRoute(Arc<IngressRoute>, Arc<IngressRoute>),
    /// A Service replaced by another version, and back.
    Service(Box<core_v1::Service>, Box<core_v1::Service>),
    /// A root added, and removed again.
    NewRoot(Arc<IngressRoute>),
}

impl Edit {
    /// The route of a child in the middle of the dataset changes its prefix (`/api/v2`
    /// becomes `/api/v3`): its root's virtual host changes.
    pub(crate) fn child_prefix(data: &Dataset) -> Self {
        let child = find(data, "child-5000");
        let mut edited = child.clone();
        if let Some(route) = edited.spec.routes.iter_mut().find(|r| r.match_ == "/api/v2") {
            route.match_ = "/api/v3".into();
        }
        Self::IngressRoute(Arc::new(child), Arc::new(edited))
    }

    /// The route of a root in the middle of the dataset changes its Service: its
    /// virtual host changes.
    pub(crate) fn root_service(data: &Dataset) -> Self {
        let root = find(data, "root-5000");
        let mut edited = root.clone();
        let other = root
            .spec
            .routes
            .iter()
            .find(|r| r.match_ == "/static")
            .and_then(|r| r.services.first())
            .map(|s| s.name.clone());
        if let (Some(route), Some(other)) = (edited.spec.routes.iter_mut().find(|r| r.match_ == "/"), other) {
            route.services = vec![Service {
                name: other,
                port: 80,
                ..Service::default()
            }];
        }
        Self::IngressRoute(Arc::new(root), Arc::new(edited))
    }

    /// A Service used by a few roots changes its port number (80 to 81): the routes to
    /// it become invalid.
    pub(crate) fn service_port(data: &Dataset) -> Self {
        let service = data
            .services
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some("svc-1234"))
            .cloned()
            .unwrap_or_default();
        let mut edited = service.clone();
        if let Some(port) = edited
            .spec
            .as_mut()
            .and_then(|s| s.ports.as_mut())
            .and_then(|p| p.first_mut())
        {
            port.port = 81;
        }
        Self::Service(Box::new(service), Box::new(edited))
    }

    /// A Service no IngressRoute uses changes.
    pub(crate) fn unused_service(data: &Dataset) -> Self {
        let mut service = data.services.first().cloned().unwrap_or_default();
        service.metadata.name = Some("nobody-uses-this".into());
        let mut edited = service.clone();
        edited.metadata.labels = Some([("version".to_owned(), "2".to_owned())].into());
        if let Some(port) = edited
            .spec
            .as_mut()
            .and_then(|s| s.ports.as_mut())
            .and_then(|p| p.first_mut())
        {
            port.port = 81;
        }
        Self::Service(Box::new(service), Box::new(edited))
    }

    /// A new root with two routes (added, then removed).
    pub(crate) fn new_root(data: &Dataset) -> Self {
        let model = find(data, "root-5001");
        let mut root = IngressRoute::new(
            "root-new",
            IngressRouteSpec {
                virtualhost: Some(VirtualHost {
                    fqdn: "new.example.com".into(),
                    tls: None,
                }),
                routes: model
                    .spec
                    .routes
                    .iter()
                    .filter(|r| r.delegate.is_none())
                    .cloned()
                    .collect::<Vec<Route>>(),
                ..IngressRouteSpec::default()
            },
        );
        root.metadata.namespace = model.metadata.namespace.clone();
        Self::NewRoot(Arc::new(root))
    }

    /// Applies the first (`second == false`) or second version; returns what changed.
    pub(crate) fn apply(&self, objects: &mut Objects, second: bool) -> ChangedObjects {
        let mut changed = ChangedObjects::new();
        match self {
            Self::IngressRoute(a, b) => {
                let route = if second { b } else { a };
                changed
                    .ingress_routes
                    .insert(objects.insert_ingress_route(Arc::clone(route)));
            }
            Self::Service(a, b) => {
                let service = if second { b } else { a };
                changed.services.insert(objects.insert_service(service));
            }
            Self::NewRoot(root) => {
                let key = ObjectRef::from_meta(&root.metadata);
                if second {
                    objects.insert_ingress_route(Arc::clone(root));
                } else {
                    objects.remove_ingress_route(&key);
                }
                changed.ingress_routes.insert(key);
            }
        }
        changed
    }
}

fn find(data: &Dataset, name: &str) -> IngressRoute {
    data.ingress_routes
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(name))
        .cloned()
        .unwrap_or_default()
}
