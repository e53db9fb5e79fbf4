#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! Routes and their services: every route-level status of [behaviour §2.5](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s2-5) and decisions [D3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d3), [D5](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d5), [D6](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d6)
//! and D8, what a route carries ([behaviour §3.5](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-5), [behaviour §4.7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-7)), and no partial acceptance (D1).

mod support;

use std::sync::Arc;
use std::time::Duration;

use ingressroute_dag::{LoadBalancer, ServedHealthCheck, ServedRetryPolicy, Timeout, UpstreamProtocol};
use support::*;

/// A root `default/basic` for `foo.com` with Services `s1` and `s2` on port 80.
fn basic() -> Fixture {
    Fixture::new()
        .root("default/basic", "foo.com")
        .service("default/s1", &[80])
        .service("default/s2", &[80])
}

// ----- route-level statuses (docs/behaviour.md#s2-5) ----------------------------------------------------------

#[test]
fn a_route_with_services_and_a_delegate_is_invalid() {
    let dag = basic()
        .route("/", (svc("s1", 80), delegate("child")))
        .child("default/child")
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": cannot specify services and delegate in the same route"#,
    );
    assert!(dag.virtual_hosts().is_empty());
    assert_orphaned(&dag, "default/child");
}

#[test]
fn websockets_on_a_route_with_several_services_is_invalid() {
    let dag = basic().route("/ws", [svc("s1", 80), svc("s2", 80)]).websockets().dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/ws": cannot specify multiple services and enable websockets"#,
    );
}

#[test]
fn websockets_on_a_route_with_one_service_is_valid() {
    let dag = basic().route("/ws", svc("s1", 80)).websockets().dag();
    assert_valid(&dag, "default/basic");
    assert!(route(vhost(&dag, "foo.com"), "/ws").websocket);
}

#[test]
fn a_service_port_outside_1_to_65535_is_invalid() {
    for port in [0, -1, 65536, i64::MAX] {
        let dag = basic().route("/", svc("s1", port)).dag();
        assert_invalid(
            &dag,
            "default/basic",
            r#"route "/": service "s1": port must be in the range 1-65535"#,
        );
    }
}

#[test]
fn a_missing_service_is_invalid() {
    let dag = basic().route("/", svc("missing", 80)).dag();
    assert_invalid(&dag, "default/basic", "Service [missing:80] is invalid or missing");
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn a_missing_port_on_an_existing_service_is_invalid() {
    let dag = basic().route("/", svc("s1", 8080)).dag();
    assert_invalid(&dag, "default/basic", "Service [s1:8080] is invalid or missing");
}

#[test]
fn a_service_in_another_namespace_cannot_be_used() {
    // Services always live in the IngressRoute's own namespace (docs/behaviour.md#s1-5).
    let dag = basic()
        .route("/", svc("remote", 80))
        .service("elsewhere/remote", &[80])
        .dag();
    assert_invalid(&dag, "default/basic", "Service [remote:80] is invalid or missing");
}

#[test]
fn a_negative_weight_is_invalid() {
    // Decision D5: Contour failed to decode the object instead.
    let dag = basic()
        .route("/", [svc("s1", 80).weight(10), svc("s2", 80).weight(-1)])
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": service "s2": weight must be greater than or equal to zero"#,
    );
}

#[test]
fn weights_adding_up_past_u32_max_are_invalid() {
    let dag = basic()
        .route("/", [svc("s1", 80).weight(4_294_967_295), svc("s2", 80).weight(1)])
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": the sum of all service weights must not exceed 4294967295"#,
    );
    let dag = basic()
        .route("/", [svc("s1", 80).weight(4_294_967_294), svc("s2", 80).weight(1)])
        .dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn a_match_with_control_characters_is_invalid() {
    // Not in Contour: Envoy rejects such a prefix, and with it every route of the listener.
    let dag = basic().route("/a\nb", svc("s1", 80)).dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/a\nb": match must not contain control characters"#,
    );
}

#[test]
fn a_prefix_rewrite_with_control_characters_is_invalid() {
    let dag = basic().route("/", svc("s1", 80)).prefix_rewrite("/x\u{7f}").dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": prefixRewrite must not contain control characters"#,
    );
}

#[test]
fn the_first_error_in_route_order_is_reported() {
    let dag = basic()
        .route("/ok", svc("s1", 80))
        .route("/first", svc("missing", 80))
        .route("/second", (svc("s1", 80), delegate("x")))
        .dag();
    assert_invalid(&dag, "default/basic", "Service [missing:80] is invalid or missing");
}

#[test]
fn the_first_error_among_services_is_reported() {
    let dag = basic().route("/", [svc("missing", 80), svc("s1", 0)]).dag();
    assert_invalid(&dag, "default/basic", "Service [missing:80] is invalid or missing");
}

// ----- no partial acceptance (D1) -----------------------------------------------------------

#[test]
fn an_invalid_root_serves_none_of_its_valid_routes() {
    // Decision D1: Contour kept serving `/` (docs/behaviour.md#s2-7).
    let dag = basic()
        .route("/", svc("s1", 80))
        .route("/ws", [svc("s1", 80), svc("s2", 80)])
        .websockets()
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/ws": cannot specify multiple services and enable websockets"#,
    );
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn an_invalid_child_serves_none_of_its_valid_routes() {
    let dag = basic()
        .route("/", svc("s1", 80))
        .route("/child", delegate("child"))
        .child("default/child")
        .route("/child/ok", svc("s1", 80))
        .route("/child/bad", svc("missing", 80))
        .dag();
    assert_valid(&dag, "default/basic");
    assert_invalid(&dag, "default/child", "Service [missing:80] is invalid or missing");
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/"]);
}

// ----- upstream validation (D3) -------------------------------------------------------------

/// A root whose `/` goes to `secure:443`, a port annotated `tls`.
fn upstream_tls() -> Fixture {
    Fixture::new().root("default/basic", "foo.com").service_object(
        kube_service("default/secure")
            .named_port("https", 443)
            .annotate("contour.heptio.com/upstream-protocol.tls", "https"),
    )
}

#[test]
fn upstream_validation_with_a_ca_secret_and_subject_name_is_carried_to_the_cluster() {
    let dag = upstream_tls()
        .route("/", svc("secure", 443).validation("ca", "backend.example.com"))
        .ca_secret("default/ca")
        .dag();
    assert_valid(&dag, "default/basic");
    let cluster = &route(vhost(&dag, "foo.com"), "/").clusters[0].cluster;
    let validation = cluster.validation.as_ref().unwrap();
    assert_eq!(validation.subject_name, "backend.example.com");
    assert_eq!(validation.ca_secret.meta, r("default/ca"));
    assert_eq!(validation.ca_secret.ca.as_deref(), Some(pem::CA_CERT.as_bytes()));
    assert_eq!(cluster.port.protocol, Some(UpstreamProtocol::Tls));
}

#[test]
fn upstream_validation_without_its_ca_secret_is_invalid_and_serves_nothing() {
    // Decision D3: Contour hid this and installed the route without verification.
    let dag = upstream_tls()
        .route("/", svc("secure", 443).validation("ca", "backend.example.com"))
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": service "secure": upstreamValidation requested but secret not found or misconfigured"#,
    );
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn upstream_validation_with_a_secret_that_has_no_ca_is_invalid() {
    let dag = upstream_tls()
        .route("/", svc("secure", 443).validation("cert", "backend.example.com"))
        .tls_secret("default/cert")
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": service "secure": upstreamValidation requested but secret not found or misconfigured"#,
    );
}

#[test]
fn upstream_validation_with_a_ca_secret_of_another_namespace_is_invalid() {
    let dag = upstream_tls()
        .route("/", svc("secure", 443).validation("ca", "backend.example.com"))
        .ca_secret("other/ca")
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": service "secure": upstreamValidation requested but secret not found or misconfigured"#,
    );
}

#[test]
fn upstream_validation_without_a_subject_name_is_invalid_and_serves_nothing() {
    for subject in ["", "   "] {
        let dag = upstream_tls()
            .route("/", svc("secure", 443).validation("ca", subject))
            .ca_secret("default/ca")
            .dag();
        assert_invalid(
            &dag,
            "default/basic",
            r#"route "/": service "secure": upstreamValidation requested but subject alt name not found or misconfigured"#,
        );
        assert!(dag.virtual_hosts().is_empty());
    }
}

#[test]
fn upstream_validation_on_a_child_uses_the_childs_namespace_even_outside_the_root_namespaces() {
    // Decision D16: Contour only saw Secrets of root namespaces.
    let dag = Fixture::new()
        .root_namespaces(&["roots"])
        .root("roots/basic", "foo.com")
        .route("/", delegate("team/child"))
        .child("team/child")
        .route("/", svc("secure", 443).validation("ca", "backend.example.com"))
        .service_object(
            kube_service("team/secure")
                .port(443)
                .annotate("projectcontour.io/upstream-protocol.tls", "443"),
        )
        .ca_secret("team/ca")
        .dag();
    assert_valid(&dag, "team/child");
    let cluster = &route(vhost(&dag, "foo.com"), "/").clusters[0].cluster;
    assert_eq!(cluster.validation.as_ref().unwrap().ca_secret.meta, r("team/ca"));
}

#[test]
fn upstream_validation_on_a_plain_port_is_ignored() {
    // docs/behaviour.md#s2-8: not an error, and the (missing) CA Secret is not even looked up.
    let dag = basic().route("/", svc("s1", 80).validation("missing", "")).dag();
    assert_valid(&dag, "default/basic");
    assert!(
        route(vhost(&dag, "foo.com"), "/").clusters[0]
            .cluster
            .validation
            .is_none()
    );
    assert!(!dag.references_secret(&r("default/missing")));
}

#[test]
fn upstream_validation_on_an_h2c_port_is_ignored() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .route("/", svc("grpc", 80).validation("missing", "x"))
        .service_object(
            kube_service("default/grpc")
                .port(80)
                .annotate("contour.heptio.com/upstream-protocol.h2c", "80"),
        )
        .dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn upstream_validation_applies_to_h2_ports() {
    // h2 speaks TLS too; Contour ignored validation there (docs/behaviour.md#s6).
    let fixture = Fixture::new()
        .root("default/basic", "foo.com")
        .route("/", svc("grpc", 443).validation("ca", "grpc.example.com"))
        .service_object(
            kube_service("default/grpc")
                .port(443)
                .annotate("contour.heptio.com/upstream-protocol.h2", "443"),
        );
    let dag = fixture.clone().dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": service "grpc": upstreamValidation requested but secret not found or misconfigured"#,
    );
    let dag = fixture.ca_secret("default/ca").dag();
    assert_valid(&dag, "default/basic");
    let cluster = &route(vhost(&dag, "foo.com"), "/").clusters[0].cluster;
    assert_eq!(cluster.port.protocol, Some(UpstreamProtocol::H2));
    assert_eq!(cluster.validation.as_ref().unwrap().subject_name, "grpc.example.com");
}

// ----- timeouts (D6, docs/behaviour.md#s4-7) ------------------------------------------------------------------

fn timeout_of(request: Option<&str>) -> Result<Timeout, String> {
    let mut fixture = basic().route("/", svc("s1", 80));
    if let Some(request) = request {
        fixture = fixture.timeout(request);
    }
    let dag = fixture.dag();
    let status = dag.status(&r("default/basic")).unwrap();
    match status.current_status {
        Valid => Ok(route(vhost(&dag, "foo.com"), "/").timeout),
        _ => Err(status.description.clone()),
    }
}

#[test]
fn an_absent_timeout_leaves_envoys_default() {
    assert_eq!(timeout_of(None), Ok(Timeout::Default));
}

#[test]
fn a_timeout_policy_without_a_request_timeout_leaves_envoys_default() {
    let dag = basic()
        .route("/", svc("s1", 80))
        .with(|ir| ir.spec.routes[0].timeout_policy = Some(Box::new(ingressroute_api::TimeoutPolicy { request: None })))
        .dag();
    assert_eq!(route(vhost(&dag, "foo.com"), "/").timeout, Timeout::Default);
}

#[test]
fn an_empty_timeout_leaves_envoys_default() {
    assert_eq!(timeout_of(Some("")), Ok(Timeout::Default));
}

#[test]
fn a_zero_timeout_means_no_timeout() {
    // Decision D6: Contour turned "0s" into Envoy's 15 s default.
    assert_eq!(timeout_of(Some("0s")), Ok(Timeout::Infinite));
    assert_eq!(timeout_of(Some("0")), Ok(Timeout::Infinite));
}

#[test]
fn infinity_and_infinite_mean_no_timeout() {
    assert_eq!(timeout_of(Some("infinity")), Ok(Timeout::Infinite));
    // Decision D6: documented as meaning no timeout; Contour got there only because it
    // failed to parse.
    assert_eq!(timeout_of(Some("infinite")), Ok(Timeout::Infinite));
}

#[test]
fn a_go_duration_is_the_timeout() {
    assert_eq!(timeout_of(Some("1s")), Ok(Timeout::Duration(Duration::from_secs(1))));
    assert_eq!(
        timeout_of(Some("1m30s")),
        Ok(Timeout::Duration(Duration::from_secs(90)))
    );
    assert_eq!(
        timeout_of(Some("250ms")),
        Ok(Timeout::Duration(Duration::from_millis(250)))
    );
}

#[test]
fn a_negative_timeout_means_no_timeout() {
    // Decision D6 does not mention negative durations, so docs/behaviour.md#s4-7 stands: a value below
    // zero is infinite.
    assert_eq!(timeout_of(Some("-1s")), Ok(Timeout::Infinite));
}

#[test]
fn a_timeout_that_does_not_parse_is_invalid() {
    // Decision D6: Contour silently made these infinite.
    for value in ["peanut", "600", "1d", "1 s", "INFINITY"] {
        assert_eq!(
            timeout_of(Some(value)),
            Err(format!(
                r#"route "/": timeoutPolicy.request: invalid duration "{value}""#
            )),
            "{value:?}"
        );
    }
}

// ----- retries (docs/behaviour.md#s4-7) -----------------------------------------------------------------------

fn retry_of(count: Option<i64>, per_try_timeout: Option<&str>) -> Result<Option<ServedRetryPolicy>, String> {
    let dag = basic().route("/", svc("s1", 80)).retry(count, per_try_timeout).dag();
    let status = dag.status(&r("default/basic")).unwrap();
    match status.current_status {
        Valid => Ok(route(vhost(&dag, "foo.com"), "/").retry.as_deref().copied()),
        _ => Err(status.description.clone()),
    }
}

#[test]
fn a_route_without_a_retry_policy_has_no_retries() {
    let dag = basic().route("/", svc("s1", 80)).dag();
    assert_eq!(route(vhost(&dag, "foo.com"), "/").retry, None);
}

#[test]
fn a_retry_count_of_zero_or_none_means_one() {
    let once = Ok(Some(ServedRetryPolicy::new(1, None)));
    assert_eq!(retry_of(Some(0), None), once);
    assert_eq!(retry_of(None, None), once);
}

#[test]
fn a_retry_count_is_carried() {
    assert_eq!(retry_of(Some(7), None), Ok(Some(ServedRetryPolicy::new(7, None))));
    assert_eq!(
        retry_of(Some(4_294_967_295), None),
        Ok(Some(ServedRetryPolicy::new(u32::MAX, None)))
    );
}

#[test]
fn a_negative_retry_count_is_invalid() {
    assert_eq!(
        retry_of(Some(-1), None),
        Err(r#"route "/": retryPolicy.count must be greater than or equal to zero"#.into())
    );
}

#[test]
fn a_retry_count_past_u32_max_is_invalid() {
    assert_eq!(
        retry_of(Some(4_294_967_296), None),
        Err(r#"route "/": retryPolicy.count must be less than or equal to 4294967295"#.into())
    );
}

#[test]
fn a_per_try_timeout_is_carried() {
    assert_eq!(
        retry_of(Some(3), Some("150ms")),
        Ok(Some(ServedRetryPolicy::new(3, Some(Duration::from_millis(150)))))
    );
}

#[test]
fn a_zero_empty_or_infinite_per_try_timeout_is_left_unset() {
    for value in ["", "0s", "0", "-1s", "infinity", "infinite"] {
        assert_eq!(
            retry_of(Some(2), Some(value)),
            Ok(Some(ServedRetryPolicy::new(2, None))),
            "{value:?}"
        );
    }
}

#[test]
fn a_per_try_timeout_that_does_not_parse_is_invalid() {
    // Decision D6, "retryPolicy.perTryTimeout likewise".
    assert_eq!(
        retry_of(Some(2), Some("soon")),
        Err(r#"route "/": retryPolicy.perTryTimeout: invalid duration "soon""#.into())
    );
}

// ----- health checks and strategies (D8) ----------------------------------------------------

fn hc(path: &str, interval: i64, timeout: i64, unhealthy: i64, healthy: i64) -> ingressroute_api::HealthCheck {
    ingressroute_api::HealthCheck {
        path: path.into(),
        host: Some("probe.example.com".into()),
        interval_seconds: Some(interval),
        timeout_seconds: Some(timeout),
        unhealthy_threshold_count: Some(unhealthy),
        healthy_threshold_count: Some(healthy),
    }
}

#[test]
fn a_service_health_check_is_carried_to_its_cluster() {
    let dag = basic()
        .route("/", svc("s1", 80).health_check(hc("/healthz", 5, 2, 3, 2)))
        .dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(
        route(vhost(&dag, "foo.com"), "/").clusters[0].cluster.health_check,
        Some(Box::new({
            let mut expected = ServedHealthCheck::new("/healthz");
            expected.host = Some("probe.example.com".into());
            expected.interval_seconds = 5;
            expected.timeout_seconds = 2;
            expected.unhealthy_threshold = 3;
            expected.healthy_threshold = 2;
            expected
        }))
    );
}

#[test]
fn absent_health_check_numbers_are_zero_meaning_the_default() {
    let dag = basic()
        .route("/", svc("s1", 80).health_check(health_check("/healthz")))
        .dag();
    assert_eq!(
        route(vhost(&dag, "foo.com"), "/").clusters[0].cluster.health_check,
        Some(Box::new(ServedHealthCheck::new("/healthz")))
    );
}

#[test]
fn the_ingress_route_health_check_is_the_default_for_every_service() {
    let dag = basic()
        .default_health_check(health_check("/default"))
        .route("/", [svc("s1", 80), svc("s2", 80).health_check(health_check("/own"))])
        .route("/other", svc("s2", 80))
        .dag();
    assert_valid(&dag, "default/basic");
    let vhost = vhost(&dag, "foo.com");
    let path = |prefix: &str, i: usize| {
        route(vhost, prefix).clusters[i]
            .cluster
            .health_check
            .clone()
            .unwrap()
            .path
    };
    assert_eq!(path("/", 0), "/default");
    assert_eq!(
        path("/", 1),
        "/own",
        "a service's own health check overrides the default"
    );
    assert_eq!(path("/other", 0), "/default");
}

#[test]
fn the_ingress_route_health_check_does_not_reach_delegated_children() {
    let dag = basic()
        .default_health_check(health_check("/default"))
        .route("/", delegate("child"))
        .child("default/child")
        .route("/", svc("s1", 80))
        .dag();
    assert!(
        route(vhost(&dag, "foo.com"), "/").clusters[0]
            .cluster
            .health_check
            .is_none()
    );
}

#[test]
fn the_ingress_route_strategy_is_the_default_for_every_service() {
    let dag = basic()
        .default_strategy("Random")
        .route("/", [svc("s1", 80), svc("s2", 80).strategy("Cookie")])
        .dag();
    let route = route(vhost(&dag, "foo.com"), "/");
    assert_eq!(route.clusters[0].cluster.strategy.as_deref(), Some("Random"));
    assert_eq!(route.clusters[0].cluster.load_balancer(), LoadBalancer::Random);
    assert_eq!(route.clusters[1].cluster.strategy.as_deref(), Some("Cookie"));
    assert_eq!(route.clusters[1].cluster.load_balancer(), LoadBalancer::Cookie);
    assert!(route.has_cookie_affinity());
}

#[test]
fn strategies_select_load_balancers_case_sensitively() {
    for (strategy, expected) in [
        (Some("RoundRobin"), LoadBalancer::RoundRobin),
        (Some("WeightedLeastRequest"), LoadBalancer::WeightedLeastRequest),
        (Some("Random"), LoadBalancer::Random),
        (Some("Cookie"), LoadBalancer::Cookie),
        (Some("cookie"), LoadBalancer::RoundRobin),
        (None, LoadBalancer::RoundRobin),
    ] {
        let service = match strategy {
            Some(s) => svc("s1", 80).strategy(s),
            None => svc("s1", 80),
        };
        let dag = basic().route("/", service).dag();
        let route = route(vhost(&dag, "foo.com"), "/");
        assert_eq!(route.clusters[0].cluster.load_balancer(), expected, "{strategy:?}");
        assert_eq!(route.has_cookie_affinity(), expected == LoadBalancer::Cookie);
    }
}

#[test]
fn an_unknown_strategy_is_kept_verbatim_and_is_not_an_error() {
    // docs/behaviour.md#s2-8; the raw string feeds the cluster name.
    let dag = basic().route("/", svc("s1", 80).strategy("Fastest")).dag();
    assert_valid(&dag, "default/basic");
    let cluster = &route(vhost(&dag, "foo.com"), "/").clusters[0].cluster;
    assert_eq!(cluster.strategy.as_deref(), Some("Fastest"));
    assert_eq!(cluster.load_balancer(), LoadBalancer::RoundRobin);
}

#[test]
fn a_health_check_with_an_empty_path_is_invalid() {
    let dag = basic().route("/", svc("s1", 80).health_check(health_check(""))).dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": service "s1": healthCheck.path must not be empty"#,
    );
}

#[test]
fn an_empty_default_health_check_path_is_reported_on_the_first_service() {
    let dag = basic()
        .default_health_check(health_check(""))
        .route("/", svc("s1", 80))
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": service "s1": healthCheck.path must not be empty"#,
    );
}

#[test]
fn health_check_numbers_out_of_range_are_invalid() {
    // docs/behaviour.md#s4-9 passes negative seconds to Envoy, which rejects them with the whole cluster.
    let cases = [
        (
            hc("/h", -1, 0, 0, 0),
            "healthCheck.intervalSeconds must be greater than or equal to zero",
        ),
        (
            hc("/h", 0, -5, 0, 0),
            "healthCheck.timeoutSeconds must be greater than or equal to zero",
        ),
        (
            hc("/h", 0, 0, -1, 0),
            "healthCheck.unhealthyThresholdCount must be greater than or equal to zero",
        ),
        (
            hc("/h", 0, 0, 0, -1),
            "healthCheck.healthyThresholdCount must be greater than or equal to zero",
        ),
        (
            hc("/h", 0, 0, 4_294_967_296, 0),
            "healthCheck.unhealthyThresholdCount must be less than or equal to 4294967295",
        ),
        (
            hc("/h", 0, 0, 0, 4_294_967_296),
            "healthCheck.healthyThresholdCount must be less than or equal to 4294967295",
        ),
        (
            hc("/h", i64::MAX, 0, 0, 0),
            "healthCheck.intervalSeconds must be less than or equal to 9223372036",
        ),
    ];
    for (check, message) in cases {
        let dag = basic().route("/", svc("s1", 80).health_check(check)).dag();
        assert_invalid(&dag, "default/basic", &format!(r#"route "/": service "s1": {message}"#));
    }
}

#[test]
fn a_health_check_with_control_characters_is_invalid() {
    let mut check = health_check("/h");
    check.host = Some("a\r\nb".into());
    let dag = basic().route("/", svc("s1", 80).health_check(check)).dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": service "s1": healthCheck.host must not contain control characters"#,
    );
}

// ----- what a route carries (docs/behaviour.md#s3-5) ----------------------------------------------------------

#[test]
fn a_route_carries_its_options() {
    let dag = basic()
        .route("/app", svc("s1", 80))
        .prefix_rewrite("/")
        .websockets()
        .dag();
    let route = route(vhost(&dag, "foo.com"), "/app");
    assert_eq!(route.prefix, "/app");
    assert_eq!(route.prefix_rewrite.as_deref(), Some("/"));
    assert!(route.websocket);
    assert!(!route.https_redirect);
    assert_eq!(route.timeout, Timeout::Default);
    assert_eq!(route.retry, None);
    assert_eq!(*route.source, r("default/basic"));
}

#[test]
fn an_empty_prefix_rewrite_means_no_rewrite() {
    let dag = basic().route("/app", svc("s1", 80)).prefix_rewrite("").dag();
    assert_eq!(route(vhost(&dag, "foo.com"), "/app").prefix_rewrite, None);
}

#[test]
fn services_and_weights_are_kept_in_list_order() {
    let dag = basic()
        .route("/", [svc("s2", 80).weight(10), svc("s1", 80).weight(90), svc("s2", 80)])
        .dag();
    let route = route(vhost(&dag, "foo.com"), "/");
    assert_eq!(upstreams(route), ["default/s2:80", "default/s1:80", "default/s2:80"]);
    let weights: Vec<u32> = route.clusters.iter().map(|c| c.weight).collect();
    assert_eq!(weights, [10, 90, 0]);
}

#[test]
fn a_route_may_match_the_empty_prefix_on_a_root() {
    // Accepted by Contour (docs/behaviour.md#s7), matches everything.
    let dag = basic().route("", svc("s1", 80)).dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(prefixes(vhost(&dag, "foo.com")), [""]);
}

#[test]
fn a_match_is_used_byte_for_byte_even_without_a_leading_slash() {
    let dag = basic().route("api", svc("s1", 80)).route("/blog", svc("s2", 80)).dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/blog", "api"]);
}

#[test]
fn a_later_route_with_the_same_match_replaces_the_earlier_one() {
    // docs/behaviour.md#s2-8 and docs/behaviour.md#s3-6: not an error.
    let dag = basic().route("/", svc("s1", 80)).route("/", svc("s2", 80)).dag();
    assert_valid(&dag, "default/basic");
    let vhost = vhost(&dag, "foo.com");
    assert_eq!(prefixes(vhost), ["/"]);
    assert_eq!(upstreams(route(vhost, "/")), ["default/s2:80"]);
}

#[test]
fn routes_are_listed_once_per_prefix_sorted_by_prefix() {
    let dag = basic()
        .route("/b", svc("s1", 80))
        .route("/", svc("s1", 80))
        .route("/a", svc("s1", 80))
        .route("/b", svc("s2", 80))
        .dag();
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/", "/a", "/b"]);
}

#[test]
fn a_route_to_a_port_named_by_its_number_is_resolved() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .route("/", svc("s1", 8080))
        .service_object(kube_service("default/s1").named_port("8080", 9000))
        .dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(upstreams(route(vhost(&dag, "foo.com"), "/")), ["default/s1:9000"]);
}

#[test]
fn a_childs_own_default_health_check_and_strategy_apply_to_its_services() {
    let dag = basic()
        .route("/", delegate("child"))
        .child("default/child")
        .default_health_check(health_check("/child"))
        .default_strategy("WeightedLeastRequest")
        .route("/", svc("s1", 80))
        .dag();
    let cluster = &route(vhost(&dag, "foo.com"), "/").clusters[0].cluster;
    assert_eq!(cluster.health_check.as_ref().unwrap().path, "/child");
    assert_eq!(cluster.load_balancer(), LoadBalancer::WeightedLeastRequest);
}

#[test]
fn a_ca_secret_name_is_a_bare_name_in_the_ingress_routes_namespace() {
    // docs/behaviour.md#s1-5: there is no `namespace/name` syntax for caSecret.
    let dag = upstream_tls()
        .route("/", svc("secure", 443).validation("other/ca", "backend.example.com"))
        .ca_secret("other/ca")
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"route "/": service "secure": upstreamValidation requested but secret not found or misconfigured"#,
    );
}

#[test]
fn routes_to_the_same_upstream_share_one_cluster_and_different_upstreams_do_not() {
    let dag = basic()
        .route("/a", svc("s1", 80))
        .route("/b", svc("s1", 80))
        .route("/c", svc("s1", 80).strategy("Random"))
        .route("/d", svc("s2", 80))
        .dag();
    let host = vhost(&dag, "foo.com");
    let cluster = |prefix: &str| &route(host, prefix).clusters[0].cluster;
    assert!(Arc::ptr_eq(cluster("/a"), cluster("/b")));
    assert!(!Arc::ptr_eq(cluster("/a"), cluster("/c")));
    assert_eq!(cluster("/c").strategy.as_deref(), Some("Random"));
    assert!(!Arc::ptr_eq(cluster("/a"), cluster("/d")));
    assert_eq!(cluster("/d").service.meta.name, "s2");
}
