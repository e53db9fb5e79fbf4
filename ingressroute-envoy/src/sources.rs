//! Which IngressRoutes produced an Envoy resource: what to fix when Envoy rejects it.
//!
//! Computed on demand from the [`Dag`] a translation came from (a NACK is rare; keeping a
//! source list for every resource of every build would cost more than it saves).

use std::collections::BTreeSet;

use ingressroute_dag::{Dag, ServedRoute, ServedVirtualHost, TlsMode, WeightedCluster};

use crate::{EnvoyConfig, HttpRoutes, ResourceKind, names};

/// The IngressRoutes behind the resource `name` of `kind` in the translation of `dag`:
///
/// * a listener: the roots of the virtual hosts it serves;
/// * `ingress_http` (with [`HttpRoutes::Single`]): the roots and route sources of every
///   plain-HTTP virtual host; a route bucket `ingress_http/<bucket>`: those of the
///   plain-HTTP virtual hosts in that bucket; the scope `ingress_http/<fqdn>` and
///   `https/<fqdn>`: that host's root and route sources;
/// * a cluster: every route or TCP proxy that sends traffic to it, and their roots;
/// * a ClusterLoadAssignment: the same for the clusters that read it;
/// * a secret: the roots whose TLS certificate it is.
///
/// Unknown names give an empty set.
#[must_use]
pub fn sources(
    dag: &Dag,
    config: &EnvoyConfig,
    kind: ResourceKind,
    name: &str,
) -> BTreeSet<ingressroute_dag::ObjectRef> {
    let mut found = BTreeSet::new();
    let add_routes = |vhost: &ServedVirtualHost, routes: &[ServedRoute], found: &mut BTreeSet<_>| {
        found.insert(vhost.root.clone());
        found.extend(routes.iter().map(|r| (*r.source).clone()));
    };
    for vhost in dag.virtual_hosts() {
        match kind {
            ResourceKind::Listener => {
                let serves = match name {
                    names::HTTP_LISTENER => !vhost.routes.is_empty(),
                    names::HTTPS_LISTENER => vhost.secure.is_some(),
                    _ => false,
                };
                if serves {
                    found.insert(vhost.root.clone());
                }
            }
            ResourceKind::RouteConfiguration | ResourceKind::ScopedRouteConfiguration => {
                let http = match config.http_routes {
                    HttpRoutes::Single => kind == ResourceKind::RouteConfiguration && name == names::HTTP_ROUTE_CONFIG,
                    HttpRoutes::Scoped { buckets } => match kind {
                        ResourceKind::ScopedRouteConfiguration => name == names::http_scope_name(&vhost.fqdn),
                        _ => name == names::http_route_bucket_name(names::http_route_bucket(&vhost.fqdn, buckets)),
                    },
                };
                if http && !vhost.routes.is_empty() {
                    add_routes(vhost, &vhost.routes, &mut found);
                } else if kind == ResourceKind::RouteConfiguration
                    && name == names::https_route_config_name(&vhost.fqdn)
                {
                    add_routes(vhost, vhost.https_routes(), &mut found);
                }
            }
            ResourceKind::Cluster | ResourceKind::ClusterLoadAssignment => {
                let uses = |clusters: &[WeightedCluster]| {
                    clusters.iter().any(|w| match kind {
                        ResourceKind::Cluster => names::cluster_name(&w.cluster) == name,
                        _ => {
                            w.cluster.service.external_name.is_none()
                                && names::service_name(&w.cluster.service, &w.cluster.port) == name
                        }
                    })
                };
                for route in vhost.routes.iter().filter(|r| uses(&r.clusters)) {
                    found.insert(vhost.root.clone());
                    found.insert((*route.source).clone());
                }
                if let Some(tcp) = vhost.secure.as_ref().and_then(|s| s.tcp_proxy.as_ref())
                    && uses(&tcp.clusters)
                {
                    found.insert(vhost.root.clone());
                    found.insert(tcp.source.clone());
                }
            }
            ResourceKind::Secret => {
                if let Some(TlsMode::Terminate { secret, .. }) = vhost.secure.as_ref().map(|s| &s.tls)
                    && names::secret_name(secret).as_deref() == Some(name)
                {
                    found.insert(vhost.root.clone());
                }
            }
        }
    }
    found
}
