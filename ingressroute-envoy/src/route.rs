//! RDS: route configurations, virtual hosts and routes ([behaviour §4.5](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-5) to [behaviour §4.8](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-8), decision [D17](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d17)).

use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use ingressroute_dag::{Cluster, ServedRoute, Timeout, WeightedCluster};

use crate::cluster::ClusterSet;
use crate::names;
use crate::proto;
use crate::wire;

/// The header every route configuration adds to requests: when Envoy received them.
pub const REQUEST_START_HEADER: &str = "x-request-start";
/// Its value: seconds since the epoch with milliseconds.
pub const REQUEST_START_VALUE: &str = "t=%START_TIME(%s.%3f)%";
/// The cookie of session affinity (strategy `Cookie`).
pub const SESSION_AFFINITY_COOKIE: &str = "X-Contour-Session-Affinity";

/// One upstream of a weighted split, with its cluster name and effective weight.
#[derive(Debug)]
pub(crate) struct Weighted<'a> {
    pub(crate) name: Arc<str>,
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
        request_headers_to_add: vec![request_start_header()],
        ..Default::default()
    }
}

/// The `x-request-start` header every route configuration adds.
fn request_start_header() -> core_v3::HeaderValueOption {
    core_v3::HeaderValueOption {
        header: Some(core_v3::HeaderValue {
            key: REQUEST_START_HEADER.to_owned(),
            value: REQUEST_START_VALUE.to_owned(),
            ..Default::default()
        }),
        // Contour's `append: true`; the deprecated `append` is left unset.
        append_action: core_v3::header_value_option::HeaderAppendAction::AppendIfExistsOrAdd.into(),
        ..Default::default()
    }
}

/// The `type_url` of a packed `RouteConfiguration`.
const ROUTE_CONFIGURATION_TYPE_URL: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

/// The [`route_configuration`] of the one virtual host of `fqdn`, packed as
/// [`pack`](crate::pack) packs it and written directly, with the names of the clusters
/// it uses (sorted, without repeats); `None` when it would have no route.
pub(crate) fn encoded_route_configuration<'a>(
    name: &str,
    fqdn: &str,
    routes: &'a [ServedRoute],
    listener: Listener,
    clusters: &mut ClusterSet<'a>,
) -> Option<(Vec<u8>, Vec<Arc<str>>)> {
    static REQUEST_START: std::sync::LazyLock<Vec<u8>> =
        std::sync::LazyLock::new(|| prost::Message::encode_to_vec(&request_start_header()));
    let (vhost, names) = encoded_virtual_host(&names::virtual_host_name(fqdn), fqdn, routes, listener, clusters)?;
    let capacity = name.len() + vhost.len() + REQUEST_START.len() + 16;
    let any = wire::any(ROUTE_CONFIGURATION_TYPE_URL, capacity, |buf| {
        // RouteConfiguration: name = 1, virtual_hosts = 2, request_headers_to_add = 6.
        wire::string(1, name, buf);
        wire::encoded_message(2, &vhost, buf);
        wire::encoded_message(6, &REQUEST_START, buf);
    });
    Some((any, names))
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

/// The `type_url` of a packed `ScopedRouteConfiguration`.
const SCOPE_TYPE_URL: &str = "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration";

/// The [`host_scope`] of `fqdn`, packed as [`pack`](crate::pack) packs it and written
/// directly, with its name.
pub(crate) fn encoded_host_scope(fqdn: &str, route_configuration_name: &str) -> (String, Vec<u8>) {
    let name = names::http_scope_name(fqdn);
    // The key is the name's lowercased fqdn.
    let key = name.get(names::HTTP_ROUTE_CONFIG.len() + 1..).unwrap_or_default();
    let capacity = name.len() + key.len() + route_configuration_name.len() + 12;
    let any = wire::any(SCOPE_TYPE_URL, capacity, |buf| {
        // ScopedRouteConfiguration: name = 1, route_configuration_name = 2, key = 3
        // (Key: fragments = 1; Fragment: string_key = 1, a oneof).
        wire::string(1, &name, buf);
        wire::string(2, route_configuration_name, buf);
        wire::message(3, buf, |buf| {
            wire::message(1, buf, |buf| wire::oneof_string(1, key, buf));
        });
    });
    (name, any)
}

/// Which listener a virtual host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// `ingress_http`: routes that must upgrade to HTTPS redirect there.
    Http,
    /// `ingress_https`: every route is served.
    Https,
}

/// What one Envoy route says, decided once for both ways a route is produced: as a prost
/// message ([`virtual_host`], for [`translate`](crate::translate)) and encoded directly
/// ([`encoded_virtual_host`], for the [`Translator`](crate::Translator)), so that the two
/// cannot disagree on anything but the encoding.
#[derive(Debug)]
struct RoutePlan<'a> {
    prefix: &'a str,
    /// `None`: redirect to HTTPS.
    action: Option<ActionPlan<'a>>,
}

/// The route action of a route with upstreams ([behaviour §4.6](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-6) and [behaviour §4.7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-7)).
#[derive(Debug)]
struct ActionPlan<'a> {
    upstreams: Upstreams,
    cookie_affinity: bool,
    websocket: bool,
    /// `Some(ZERO)`: no timeout at all.
    timeout: Option<Duration>,
    /// Retries and the timeout of each try.
    retry: Option<(u32, Option<Duration>)>,
    prefix_rewrite: &'a str,
}

/// Where a route sends requests: one cluster, or several by weight.
#[derive(Debug)]
enum Upstreams {
    Single(Arc<str>),
    Weighted(Vec<(Arc<str>, u32)>),
}

impl Upstreams {
    fn names(&self) -> impl Iterator<Item = &Arc<str>> {
        let (single, weighted) = match self {
            Upstreams::Single(name) => (Some(name), &[][..]),
            Upstreams::Weighted(many) => (None, many.as_slice()),
        };
        single.into_iter().chain(weighted.iter().map(|(name, _)| name))
    }
}

/// The routes of a virtual host, ordered by prefix, descending byte-wise, so a longer
/// prefix always comes before the prefixes it extends; routes with nothing to serve (no
/// upstream, which the DAG never produces, and no redirect) are left out.
fn plans<'a>(routes: &'a [ServedRoute], listener: Listener, clusters: &mut ClusterSet<'a>) -> Vec<RoutePlan<'a>> {
    let mut ordered: Vec<&ServedRoute> = routes.iter().collect();
    ordered.sort_by(|a, b| b.prefix.as_bytes().cmp(a.prefix.as_bytes()));
    ordered
        .into_iter()
        .filter_map(|route| {
            let redirect = listener == Listener::Http && route.https_redirect;
            if redirect {
                return Some(RoutePlan {
                    prefix: &route.prefix,
                    action: None,
                });
            }
            let upstreams = match route.clusters.as_slice() {
                [] => return None,
                [single] => Upstreams::Single(clusters.add(&single.cluster)),
                many => Upstreams::Weighted(
                    weighted(many, clusters)
                        .into_iter()
                        .map(|w| {
                            clusters.add(w.cluster);
                            (w.name, w.weight)
                        })
                        .collect(),
                ),
            };
            Some(RoutePlan {
                prefix: &route.prefix,
                action: Some(ActionPlan {
                    upstreams,
                    cookie_affinity: route.has_cookie_affinity(),
                    websocket: route.websocket,
                    timeout: match route.timeout {
                        Timeout::Default => None,
                        Timeout::Infinite => Some(Duration::ZERO),
                        Timeout::Duration(d) => Some(d),
                    },
                    retry: route
                        .retry
                        .as_deref()
                        .map(|retry| (retry.count.max(1), retry.per_try_timeout.filter(|d| !d.is_zero()))),
                    prefix_rewrite: route.prefix_rewrite.as_deref().unwrap_or_default(),
                }),
            })
        })
        .collect()
}

/// The domains of an fqdn's virtual host, each as the fqdn and a suffix: the fqdn, and
/// the fqdn with any port. In two parts so that the encoding writes them without making
/// the strings.
fn domains(fqdn: &str) -> [[&str; 2]; 2] {
    [[fqdn, ""], [fqdn, ":*"]]
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
    let plans = plans(routes, listener, clusters);
    if plans.is_empty() {
        return None;
    }
    // Envoy routes are hundreds of bytes: each is built where it stays, in a list that
    // never grows.
    let mut routes: Vec<route_v3::Route> = Vec::with_capacity(plans.len());
    for plan in plans {
        routes.push(route_v3::Route::default());
        if let Some(slot) = routes.last_mut() {
            fill_route(slot, plan);
        }
    }
    Some(route_v3::VirtualHost {
        name: names::virtual_host_name(fqdn),
        domains: domains(fqdn).iter().map(|parts| parts.concat()).collect(),
        routes,
        ..Default::default()
    })
}

/// Fills in the Envoy route of a plan.
fn fill_route(slot: &mut route_v3::Route, plan: RoutePlan<'_>) {
    use route_v3::route_action::ClusterSpecifier;

    slot.r#match = Some(route_v3::RouteMatch {
        path_specifier: Some(route_v3::route_match::PathSpecifier::Prefix(plan.prefix.to_owned())),
        ..Default::default()
    });
    let Some(plan) = plan.action else {
        slot.action = Some(route_v3::route::Action::Redirect(route_v3::RedirectAction {
            scheme_rewrite_specifier: Some(route_v3::redirect_action::SchemeRewriteSpecifier::HttpsRedirect(true)),
            ..Default::default()
        }));
        return;
    };
    let route_v3::route::Action::Route(action) = slot
        .action
        .insert(route_v3::route::Action::Route(route_v3::RouteAction::default()))
    else {
        return;
    };
    action.cluster_specifier = Some(match plan.upstreams {
        Upstreams::Single(name) => ClusterSpecifier::Cluster(name.to_string()),
        Upstreams::Weighted(many) => ClusterSpecifier::WeightedClusters(route_v3::WeightedCluster {
            clusters: many
                .into_iter()
                .map(|(name, weight)| route_v3::weighted_cluster::ClusterWeight {
                    name: name.to_string(),
                    weight: proto::u32_value(weight),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
    });
    if plan.cookie_affinity {
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
    if plan.websocket {
        action.upgrade_configs = vec![route_v3::route_action::UpgradeConfig {
            upgrade_type: WEBSOCKET.to_owned(),
            ..Default::default()
        }];
    }
    action.timeout = plan.timeout.map(proto::duration);
    action.retry_policy = plan.retry.map(|(count, per_try_timeout)| route_v3::RetryPolicy {
        retry_on: RETRY_ON.to_owned(),
        num_retries: proto::u32_value(count),
        per_try_timeout: per_try_timeout.map(proto::duration),
        ..Default::default()
    });
    plan.prefix_rewrite.clone_into(&mut action.prefix_rewrite);
}

/// The upgrade type of websocket routes.
const WEBSOCKET: &str = "websocket";
/// What routes with retries retry on.
const RETRY_ON: &str = "5xx";

/// The encoding of what [`virtual_host`] gives (byte for byte what prost makes of it), and
/// the clusters it names, sorted, each once; `None` as for [`virtual_host`]. `name` is
/// the virtual host's name, [`names::virtual_host_name`] of `fqdn` (the caller has it).
///
/// A translation of ten thousand virtual hosts spent much of its time building prost
/// messages, measuring them (prost measures a nested message once per level above it)
/// and dropping them; written directly, each field is written once, and a nested
/// message's length is filled in after it (see [`wire`]).
pub(crate) fn encoded_virtual_host<'a>(
    name: &str,
    fqdn: &str,
    routes: &'a [ServedRoute],
    listener: Listener,
    clusters: &mut ClusterSet<'a>,
) -> Option<(Vec<u8>, Vec<Arc<str>>)> {
    let plans = plans(routes, listener, clusters);
    if plans.is_empty() {
        return None;
    }
    let mut names: Vec<&Arc<str>> = plans
        .iter()
        .filter_map(|p| p.action.as_ref())
        .flat_map(|a| a.upstreams.names())
        .collect();
    names.sort_unstable();
    names.dedup();
    let names = names.into_iter().map(Arc::clone).collect();

    let mut buf = Vec::with_capacity(64 + plans.len() * 160);
    // VirtualHost: name = 1, domains = 2, routes = 3.
    wire::string(1, name, &mut buf);
    for parts in domains(fqdn) {
        wire::oneof_string_of(2, &parts, &mut buf);
    }
    for plan in &plans {
        wire::message(3, &mut buf, |buf| encode_route(plan, buf));
    }
    Some((buf, names))
}

/// A route's encoding, field by field in tag order as prost writes it.
fn encode_route(plan: &RoutePlan<'_>, buf: &mut Vec<u8>) {
    // Route: match = 1, route = 2, redirect = 3. RouteMatch: prefix = 1.
    wire::message(1, buf, |buf| wire::oneof_string(1, plan.prefix, buf));
    let Some(action) = &plan.action else {
        // RedirectAction: https_redirect = 4.
        wire::message(3, buf, |buf| wire::oneof_bool(4, true, buf));
        return;
    };
    wire::message(2, buf, |buf| {
        // RouteAction: cluster = 1, weighted_clusters = 3, prefix_rewrite = 5, timeout = 8,
        // retry_policy = 9, hash_policy = 15, upgrade_configs = 25.
        match &action.upstreams {
            Upstreams::Single(name) => wire::oneof_string(1, name, buf),
            Upstreams::Weighted(many) => wire::message(3, buf, |buf| {
                for (name, weight) in many {
                    // ClusterWeight: name = 1, weight = 2 (UInt32Value: value = 1).
                    wire::message(1, buf, |buf| {
                        wire::string(1, name, buf);
                        wire::message(2, buf, |buf| wire::uint32(1, *weight, buf));
                    });
                }
            }),
        }
        wire::string(5, action.prefix_rewrite, buf);
        if let Some(timeout) = action.timeout {
            wire::message(8, buf, |buf| wire::duration(timeout, buf));
        }
        if let Some((count, per_try_timeout)) = action.retry {
            // RetryPolicy: retry_on = 1, num_retries = 2, per_try_timeout = 3.
            wire::message(9, buf, |buf| {
                wire::string(1, RETRY_ON, buf);
                wire::message(2, buf, |buf| wire::uint32(1, count, buf));
                if let Some(timeout) = per_try_timeout {
                    wire::message(3, buf, |buf| wire::duration(timeout, buf));
                }
            });
        }
        if action.cookie_affinity {
            // HashPolicy: cookie = 2. Cookie: name = 1, ttl = 2, path = 3.
            wire::message(15, buf, |buf| {
                wire::message(2, buf, |buf| {
                    wire::string(1, SESSION_AFFINITY_COOKIE, buf);
                    wire::message(2, buf, |buf| wire::duration(Duration::ZERO, buf));
                    wire::string(3, "/", buf);
                });
            });
        }
        if action.websocket {
            // UpgradeConfig: upgrade_type = 1.
            wire::message(25, buf, |buf| wire::string(1, WEBSOCKET, buf));
        }
    });
}

#[cfg(test)]
mod tests {
    use prost::Name;

    use super::*;

    #[test]
    fn the_route_configuration_type_url_is_prosts() {
        assert_eq!(ROUTE_CONFIGURATION_TYPE_URL, route_v3::RouteConfiguration::type_url());
        assert_eq!(SCOPE_TYPE_URL, route_v3::ScopedRouteConfiguration::type_url());
    }

    #[test]
    fn a_scope_written_directly_is_what_prost_encodes() {
        for fqdn in ["example.com", "Mixed.Case.Example.COM", "", "a"] {
            let (name, any) = encoded_host_scope(fqdn, "ingress_http/7");
            let scope = host_scope(fqdn, "ingress_http/7".to_owned());
            assert_eq!(name, scope.name);
            assert_eq!(any, crate::pack(&scope).to_vec(), "{fqdn}");
        }
    }
}
