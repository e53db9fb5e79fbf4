//! RDS: route configurations, virtual hosts and routes ([behaviour §4.5](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-5) to [behaviour §4.8](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-8), decision [D17](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d17)).

use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use ingressroute_dag::{Cluster, ServedRoute, Timeout, WeightedCluster};

use crate::cluster::ClusterSet;
use crate::names;
use crate::proto;

/// The header every route configuration adds to requests: when Envoy received them.
pub const REQUEST_START_HEADER: &str = "x-request-start";
/// Its value: seconds since the epoch with milliseconds.
pub const REQUEST_START_VALUE: &str = "t=%START_TIME(%s.%3f)%";
/// The cookie of session affinity (strategy `Cookie`).
pub const SESSION_AFFINITY_COOKIE: &str = "X-Contour-Session-Affinity";

/// One upstream of a weighted split, with its cluster name and effective weight.
#[derive(Debug)]
pub(crate) struct Weighted<'a> {
    pub(crate) name: String,
    pub(crate) weight: u32,
    pub(crate) cluster: &'a Cluster,
}

/// The effective weights of a list of upstreams ([behaviour §4.8](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-8)): as written, except that when
/// every weight is 0 each becomes 1 (an even split), and a total beyond `u32::MAX` (which
/// Envoy rejects) is scaled down proportionally. Sorted by cluster name, then weight.
pub(crate) fn weighted<'a>(clusters: &'a [WeightedCluster], set: &mut ClusterSet<'a>) -> Vec<Weighted<'a>> {
    let total: u64 = clusters.iter().map(|c| u64::from(c.weight)).sum();
    let max = u64::from(u32::MAX);
    let mut entries: Vec<Weighted<'_>> = clusters
        .iter()
        .map(|c| {
            let weight = if total == 0 {
                1
            } else if total > max {
                u32::try_from(u128::from(c.weight) * u128::from(max) / u128::from(total)).unwrap_or(u32::MAX)
            } else {
                c.weight
            };
            Weighted {
                name: set.name(&c.cluster),
                weight,
                cluster: &c.cluster,
            }
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name).then(a.weight.cmp(&b.weight)));
    entries
}

/// A route configuration with its virtual hosts sorted by name and the `x-request-start`
/// header.
pub(crate) fn route_configuration(
    name: &str,
    mut virtual_hosts: Vec<route_v3::VirtualHost>,
) -> route_v3::RouteConfiguration {
    virtual_hosts.sort_by(|a, b| a.name.cmp(&b.name));
    route_v3::RouteConfiguration {
        name: name.to_owned(),
        virtual_hosts,
        request_headers_to_add: vec![core_v3::HeaderValueOption {
            header: Some(core_v3::HeaderValue {
                key: REQUEST_START_HEADER.to_owned(),
                value: REQUEST_START_VALUE.to_owned(),
                ..Default::default()
            }),
            // Contour's `append: true`; the deprecated `append` is left unset.
            append_action: core_v3::header_value_option::HeaderAppendAction::AppendIfExistsOrAdd.into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The Scoped RDS scope of a plain-HTTP virtual host: requests whose host (without port)
/// is its lowercased fqdn use its bucket's route configuration, named
/// `route_configuration_name` (see [`names::http_route_bucket_name`]).
pub(crate) fn host_scope(fqdn: &str, route_configuration_name: String) -> route_v3::ScopedRouteConfiguration {
    use route_v3::scoped_route_configuration::{Key, key};
    route_v3::ScopedRouteConfiguration {
        name: names::http_scope_name(fqdn),
        route_configuration_name,
        key: Some(Key {
            fragments: vec![key::Fragment {
                r#type: Some(key::fragment::Type::StringKey(fqdn.to_ascii_lowercase())),
            }],
        }),
        ..Default::default()
    }
}

/// Which listener a virtual host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// `ingress_http`: routes that must upgrade to HTTPS redirect there.
    Http,
    /// `ingress_https`: every route is served.
    Https,
}

/// The virtual host of an fqdn, or `None` when it would have no route (Envoy gets no
/// empty virtual hosts). Routes are ordered by prefix, descending byte-wise, so a longer
/// prefix always comes before the prefixes it extends.
pub(crate) fn virtual_host<'a>(
    fqdn: &str,
    routes: &'a [ServedRoute],
    listener: Listener,
    clusters: &mut ClusterSet<'a>,
) -> Option<route_v3::VirtualHost> {
    let mut ordered: Vec<&ServedRoute> = routes.iter().collect();
    ordered.sort_by(|a, b| b.prefix.as_bytes().cmp(a.prefix.as_bytes()));
    // Envoy routes are hundreds of bytes: each is built where it stays, in a list that
    // never grows.
    let mut routes: Vec<route_v3::Route> = Vec::with_capacity(ordered.len());
    for r in ordered {
        push_route(&mut routes, r, listener, clusters);
    }
    if routes.is_empty() {
        return None;
    }
    let mut any_port = String::with_capacity(fqdn.len() + 2);
    any_port.push_str(fqdn);
    any_port.push_str(":*");
    Some(route_v3::VirtualHost {
        name: names::virtual_host_name(fqdn),
        domains: vec![fqdn.to_owned(), any_port],
        routes,
        ..Default::default()
    })
}

/// Appends the Envoy route of `route` to `routes`, unless it has nothing to serve (no
/// upstream, which the DAG never produces, and no redirect).
fn push_route<'a>(
    routes: &mut Vec<route_v3::Route>,
    route: &'a ServedRoute,
    listener: Listener,
    clusters: &mut ClusterSet<'a>,
) {
    let redirect = listener == Listener::Http && route.https_redirect;
    if !redirect && route.clusters.is_empty() {
        return;
    }
    routes.push(route_v3::Route::default());
    let Some(slot) = routes.last_mut() else { return };
    slot.r#match = Some(route_v3::RouteMatch {
        path_specifier: Some(route_v3::route_match::PathSpecifier::Prefix(route.prefix.clone())),
        ..Default::default()
    });
    if redirect {
        slot.action = Some(route_v3::route::Action::Redirect(route_v3::RedirectAction {
            scheme_rewrite_specifier: Some(route_v3::redirect_action::SchemeRewriteSpecifier::HttpsRedirect(true)),
            ..Default::default()
        }));
        return;
    }
    if let route_v3::route::Action::Route(action) = slot
        .action
        .insert(route_v3::route::Action::Route(route_v3::RouteAction::default()))
    {
        route_action(action, route, clusters);
    }
}

/// Fills in the route action of a route with upstreams ([behaviour §4.6](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-6) and [behaviour §4.7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-7)).
fn route_action<'a>(action: &mut route_v3::RouteAction, route: &'a ServedRoute, clusters: &mut ClusterSet<'a>) {
    use route_v3::route_action::ClusterSpecifier;

    action.cluster_specifier = match route.clusters.as_slice() {
        [] => None,
        [single] => Some(ClusterSpecifier::Cluster(clusters.add(&single.cluster))),
        many => Some(ClusterSpecifier::WeightedClusters(route_v3::WeightedCluster {
            clusters: weighted(many, clusters)
                .into_iter()
                .map(|w| {
                    clusters.add(w.cluster);
                    route_v3::weighted_cluster::ClusterWeight {
                        name: w.name,
                        weight: proto::u32_value(w.weight),
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        })),
    };

    if route.has_cookie_affinity() {
        action.hash_policy = vec![route_v3::route_action::HashPolicy {
            policy_specifier: Some(route_v3::route_action::hash_policy::PolicySpecifier::Cookie(
                route_v3::route_action::hash_policy::Cookie {
                    name: SESSION_AFFINITY_COOKIE.to_owned(),
                    ttl: Some(proto::duration(Duration::ZERO)),
                    path: "/".to_owned(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }];
    }

    if route.websocket {
        action.upgrade_configs = vec![route_v3::route_action::UpgradeConfig {
            upgrade_type: "websocket".to_owned(),
            ..Default::default()
        }];
    }

    action.timeout = match route.timeout {
        Timeout::Default => None,
        Timeout::Infinite => Some(proto::duration(Duration::ZERO)),
        Timeout::Duration(d) => Some(proto::duration(d)),
    };

    action.retry_policy = route.retry.as_deref().map(|retry| route_v3::RetryPolicy {
        retry_on: "5xx".to_owned(),
        num_retries: proto::u32_value(retry.count.max(1)),
        per_try_timeout: retry.per_try_timeout.filter(|d| !d.is_zero()).map(proto::duration),
        ..Default::default()
    });

    if let Some(rewrite) = &route.prefix_rewrite {
        action.prefix_rewrite.clone_from(rewrite);
    }
}
