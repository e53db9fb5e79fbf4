//! RDS: route configurations, virtual hosts, route order and route actions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use support::*;

fn kuard() -> KubeService {
    kube_service("default/kuard").port(80)
}

fn one_route(world: &World) -> route_v3::Route {
    let resources = world.translate();
    let routes = http_routes(&resources, "foo.com");
    assert_eq!(routes.len(), 1);
    routes[0].clone()
}

fn basic() -> World {
    World::new().root("default/foo", "foo.com").service(kuard())
}

#[test]
#[allow(deprecated)] // reads the deprecated `append` to check it is unset
fn every_route_configuration_adds_the_request_start_header() {
    let resources = World::new()
        .root("default/foo", "foo.example.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .service(kuard())
        .tls_secret("default/tls")
        .translate();
    assert_eq!(resources.routes.len(), 2);
    for config in &resources.routes {
        assert_eq!(config.request_headers_to_add.len(), 1);
        let option = &config.request_headers_to_add[0];
        let header = option.header.as_ref().unwrap();
        assert_eq!(
            (header.key.as_str(), header.value.as_str()),
            ("x-request-start", "t=%START_TIME(%s.%3f)%")
        );
        assert_eq!(option.append, None, "the deprecated append is not used");
        assert_eq!(
            option.append_action,
            i32::from(core_v3::header_value_option::HeaderAppendAction::AppendIfExistsOrAdd)
        );
    }
}

#[test]
fn virtual_hosts_are_named_by_hashname_and_match_any_port() {
    let long = format!("{}.example.com", "a".repeat(60));
    let resources = World::new()
        .root("default/foo", "foo.com")
        .route("/", svc("kuard", 80))
        .root("default/long", &long)
        .route("/", svc("kuard", 80))
        .service(kuard())
        .with_config(|c| c.http_routes = ingressroute_envoy::HttpRoutes::Single)
        .translate();
    let config = route_config(&resources, "ingress_http");
    let names: Vec<&str> = config.virtual_hosts.iter().map(|v| v.name.as_str()).collect();
    let long_name = ingressroute_envoy::names::virtual_host_name(&long);
    assert_eq!(long_name.len(), 60);
    let mut expected = vec!["foo.com", long_name.as_str()];
    expected.sort_unstable();
    assert_eq!(names, expected, "sorted by name");
    let foo = config.virtual_hosts.iter().find(|v| v.name == "foo.com").unwrap();
    assert_eq!(foo.domains, ["foo.com", "foo.com:*"]);
}

#[test]
fn routes_are_ordered_by_prefix_descending_byte_wise() {
    let resources = basic()
        .route("/", svc("kuard", 80))
        .route("/a", svc("kuard", 80))
        .route("/ab", svc("kuard", 80))
        .route("/b", svc("kuard", 80))
        .route("/B", svc("kuard", 80))
        .translate();
    let prefixes: Vec<&str> = http_routes(&resources, "foo.com").iter().map(prefix).collect();
    assert_eq!(prefixes, ["/b", "/ab", "/a", "/B", "/"]);
}

#[test]
fn a_single_service_is_named_directly() {
    let route = one_route(&basic().route("/", svc("kuard", 80).weight(7)));
    assert_eq!(
        route_clusters(action(&route)),
        [("default/kuard/80/da39a3ee5e".to_owned(), None)]
    );
    let action = action(&route);
    assert!(action.hash_policy.is_empty());
    assert!(action.upgrade_configs.is_empty());
    assert!(action.timeout.is_none());
    assert!(action.retry_policy.is_none());
    assert!(action.prefix_rewrite.is_empty());
}

#[test]
#[allow(deprecated)] // reads the deprecated `total_weight` to check it is unset
fn weighted_clusters_are_sorted_by_name_then_weight_without_a_total() {
    let route = one_route(
        &basic()
            .route(
                "/",
                [
                    svc("kuard", 80).weight(30).strategy("Random"),
                    svc("kuard", 80).weight(70),
                    svc("kuard", 80).weight(10),
                ],
            )
            .service(kuard()),
    );
    let Some(route_v3::route_action::ClusterSpecifier::WeightedClusters(weighted)) = &action(&route).cluster_specifier
    else {
        panic!("not weighted")
    };
    assert_eq!(weighted.total_weight, None);
    assert_eq!(
        route_clusters(action(&route)),
        [
            ("default/kuard/80/58d888c08a".to_owned(), Some(30)),
            ("default/kuard/80/da39a3ee5e".to_owned(), Some(10)),
            ("default/kuard/80/da39a3ee5e".to_owned(), Some(70)),
        ]
    );
}

#[test]
fn weights_that_are_all_zero_become_one_each() {
    let route = one_route(&basic().route("/", [svc("kuard", 80).strategy("Random"), svc("kuard", 80)]));
    assert_eq!(
        route_clusters(action(&route)),
        [
            ("default/kuard/80/58d888c08a".to_owned(), Some(1)),
            ("default/kuard/80/da39a3ee5e".to_owned(), Some(1)),
        ]
    );
}

#[test]
fn unweighted_services_next_to_weighted_ones_get_no_traffic() {
    let route = one_route(&basic().route("/", [svc("kuard", 80).strategy("Random").weight(5), svc("kuard", 80)]));
    assert_eq!(
        route_clusters(action(&route)),
        [
            ("default/kuard/80/58d888c08a".to_owned(), Some(5)),
            ("default/kuard/80/da39a3ee5e".to_owned(), Some(0)),
        ]
    );
}

#[test]
fn prefix_rewrite_and_websockets_are_passed_on() {
    let route = one_route(&basic().route("/", svc("kuard", 80)).prefix_rewrite("/app").websockets());
    let action = action(&route);
    assert_eq!(action.prefix_rewrite, "/app");
    assert_eq!(action.upgrade_configs.len(), 1);
    assert_eq!(action.upgrade_configs[0].upgrade_type, "websocket");
}

#[test]
fn a_cookie_strategy_adds_the_session_affinity_hash_policy() {
    let route = one_route(&basic().route(
        "/",
        [svc("kuard", 80).strategy("Cookie"), svc("kuard", 80).strategy("Random")],
    ));
    let action = action(&route);
    assert_eq!(action.hash_policy.len(), 1);
    let Some(route_v3::route_action::hash_policy::PolicySpecifier::Cookie(cookie)) =
        &action.hash_policy[0].policy_specifier
    else {
        panic!("not a cookie")
    };
    assert_eq!(cookie.name, "X-Contour-Session-Affinity");
    assert_eq!(cookie.path, "/");
    let ttl = cookie.ttl.unwrap();
    assert_eq!((ttl.seconds, ttl.nanos), (0, 0));
}

#[test]
fn only_the_exact_cookie_strategy_adds_a_hash_policy() {
    let route = one_route(&basic().route("/", svc("kuard", 80).strategy("cookie")));
    assert!(action(&route).hash_policy.is_empty());
}

#[test]
fn timeouts_map_to_envoy_route_timeouts() {
    let timeout = |value: &str| {
        let route = one_route(&basic().route("/", svc("kuard", 80)).timeout(value));
        action(&route).timeout.map(|d| (d.seconds, d.nanos))
    };
    assert_eq!(timeout("1m30s"), Some((90, 0)));
    assert_eq!(timeout("250ms"), Some((0, 250_000_000)));
    assert_eq!(timeout("infinity"), Some((0, 0)));
    assert_eq!(timeout("0s"), Some((0, 0)), "docs/decisions.md#d6: 0s means no timeout");
    assert_eq!(timeout(""), None, "Envoy's default");
}

#[test]
fn retries_retry_on_5xx() {
    let route = one_route(&basic().route("/", svc("kuard", 80)).retry(Some(3), Some("150ms")));
    let retry = action(&route).retry_policy.clone().unwrap();
    assert_eq!(retry.retry_on, "5xx");
    assert_eq!(retry.num_retries.unwrap().value, 3);
    let per_try = retry.per_try_timeout.unwrap();
    assert_eq!((per_try.seconds, per_try.nanos), (0, 150_000_000));

    let route = one_route(&basic().route("/", svc("kuard", 80)).retry(None, None));
    let retry = action(&route).retry_policy.clone().unwrap();
    assert_eq!(retry.num_retries.unwrap().value, 1, "a count of 0 means 1");
    assert_eq!(retry.per_try_timeout, None);
}

fn secure_world() -> World {
    World::new()
        .root("default/foo", "foo.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .route("/insecure", svc("kuard", 80))
        .permit_insecure()
        .service(kuard())
        .tls_secret("default/tls")
}

#[test]
fn tls_routes_redirect_on_http_unless_insecure_is_permitted() {
    let resources = secure_world().translate();
    let http = http_routes(&resources, "foo.com");
    assert_eq!(prefix(&http[0]), "/insecure");
    action(&http[0]);
    assert_eq!(prefix(&http[1]), "/");
    let Some(route_v3::route::Action::Redirect(redirect)) = &http[1].action else {
        panic!("not a redirect")
    };
    assert_eq!(
        redirect.scheme_rewrite_specifier,
        Some(route_v3::redirect_action::SchemeRewriteSpecifier::HttpsRedirect(true))
    );
    assert_eq!(redirect.response_code, 0, "Envoy's default, 301");
}

#[test]
fn every_route_is_served_on_https() {
    let resources = secure_world().translate();
    let https = routes(route_config(&resources, "https/foo.com"), "foo.com");
    assert_eq!(https.len(), 2);
    for route in https {
        action(route);
    }
    assert!(
        !resources.routes.iter().any(|c| c.name == "ingress_https"),
        "docs/decisions.md#d17: no shared ingress_https route configuration"
    );
}

#[test]
fn routes_of_one_tls_host_never_leak_into_another() {
    let resources = secure_world()
        .root("default/bar", "bar.com")
        .tls("tls")
        .route("/bar", svc("kuard", 80))
        .translate();
    let foo = route_config(&resources, "https/foo.com");
    assert_eq!(foo.virtual_hosts.len(), 1);
    let bar = route_config(&resources, "https/bar.com");
    assert_eq!(bar.virtual_hosts.len(), 1);
    assert_eq!(routes(bar, "bar.com").iter().map(prefix).collect::<Vec<_>>(), ["/bar"]);
    assert_eq!(http_virtual_hosts(&resources).len(), 2);
}

#[test]
fn delegated_routes_are_served_on_the_roots_host() {
    let resources = World::new()
        .root("default/foo", "foo.com")
        .route("/", svc("kuard", 80))
        .route("/blog", delegate("blog/child"))
        .child("blog/child")
        .route("/blog", svc("blog", 8080))
        .service(kuard())
        .service(kube_service("blog/blog").named_port("http", 8080))
        .translate();
    let http = http_routes(&resources, "foo.com");
    assert_eq!(http.iter().map(prefix).collect::<Vec<_>>(), ["/blog", "/"]);
    assert_eq!(
        route_clusters(action(&http[0])),
        [("blog/blog/8080/da39a3ee5e".to_owned(), None)]
    );
}
