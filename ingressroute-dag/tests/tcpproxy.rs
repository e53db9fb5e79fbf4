#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! tcpproxy ([behaviour docs/behaviour.md#s2-4](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s2-4), [behaviour docs/behaviour.md#s1-6](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s1-6)) with decisions [D9](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d9) (errors stay visible, no crash on a delegate
//! without tcpproxy, weights honoured, no delegation to roots) and D15 (no empty status).

mod support;

use ingressroute_dag::{LoadBalancer, TlsMode};
use support::*;

/// Root `default/root` for `foo.com` terminating TLS with `default/cert`, and Services
/// `tcp1`, `tcp2` on 443 in `default`.
fn tls_root() -> Fixture {
    Fixture::new()
        .tls_secret("default/cert")
        .service("default/tcp1", &[443])
        .service("default/tcp2", &[443])
        .root("default/root", "foo.com")
        .tls("cert")
}

fn tcp(name: &str) -> (String, u32) {
    (format!("default/{name}:443"), 0)
}

#[test]
fn a_tls_root_proxies_tcp_to_its_services() {
    let dag = tls_root().tcpproxy([svc("tcp1", 443), svc("tcp2", 443)]).dag();
    assert_valid(&dag, "default/root");
    assert_eq!(tcp_upstreams(&dag, "foo.com"), [tcp("tcp1"), tcp("tcp2")]);
    let vhost = vhost(&dag, "foo.com");
    assert!(vhost.routes.is_empty());
    assert!(matches!(vhost.secure.as_ref().unwrap().tls, TlsMode::Terminate { .. }));
    assert_eq!(
        vhost.secure.as_ref().unwrap().tcp_proxy.as_ref().unwrap().source,
        r("default/root")
    );
}

#[test]
fn tcpproxy_weights_are_honoured() {
    // Decision D9: Contour ignored them.
    let dag = tls_root()
        .tcpproxy([svc("tcp1", 443).weight(80), svc("tcp2", 443).weight(20)])
        .dag();
    assert_eq!(
        tcp_upstreams(&dag, "foo.com"),
        [("default/tcp1:443".to_owned(), 80), ("default/tcp2:443".to_owned(), 20)]
    );
}

#[test]
fn tcpproxy_strategies_are_used_but_health_checks_and_validation_are_ignored() {
    // docs/behaviour.md#s1-5: only name, port and strategy (and, with D9, weight) matter for tcpproxy.
    let dag = tls_root()
        .default_strategy("Random")
        .default_health_check(health_check("/default"))
        .tcpproxy([
            svc("tcp1", 443)
                .health_check(health_check("/h"))
                .validation("missing", ""),
            svc("tcp2", 443).strategy("WeightedLeastRequest"),
        ])
        .dag();
    assert_valid(&dag, "default/root");
    let proxy = vhost(&dag, "foo.com").secure.clone().unwrap().tcp_proxy.unwrap();
    assert_eq!(proxy.clusters[0].cluster.load_balancer(), LoadBalancer::Random);
    assert_eq!(
        proxy.clusters[1].cluster.load_balancer(),
        LoadBalancer::WeightedLeastRequest
    );
    assert!(
        proxy
            .clusters
            .iter()
            .all(|c| c.cluster.health_check.is_none() && c.cluster.validation.is_none())
    );
}

// ----- errors on the root stay visible (D9) -------------------------------------------------

#[test]
fn a_tcpproxy_with_services_and_a_delegate_is_invalid() {
    let dag = tls_root()
        .tcpproxy((svc("tcp1", 443), delegate("child")))
        .route("/", svc("tcp1", 443))
        .dag();
    assert_invalid(
        &dag,
        "default/root",
        "tcpproxy: cannot specify services and delegate in the same tcpproxy",
    );
    assert!(dag.virtual_hosts().is_empty(), "D1: the routes are not served either");
}

#[test]
fn a_tcpproxy_service_that_does_not_resolve_is_invalid() {
    let dag = tls_root().tcpproxy([svc("tcp1", 443), svc("missing", 8443)]).dag();
    assert_invalid(
        &dag,
        "default/root",
        "tcpproxy: service default/missing/8443: not found",
    );
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn a_tcpproxy_service_port_missing_on_the_service_is_invalid() {
    let dag = tls_root().tcpproxy(svc("tcp1", 444)).dag();
    assert_invalid(&dag, "default/root", "tcpproxy: service default/tcp1/444: not found");
}

#[test]
fn a_negative_tcpproxy_weight_is_invalid() {
    let dag = tls_root()
        .tcpproxy([svc("tcp1", 443), svc("tcp2", 443).weight(-3)])
        .dag();
    assert_invalid(
        &dag,
        "default/root",
        r#"tcpproxy: service "tcp2": weight must be greater than or equal to zero"#,
    );
}

#[test]
fn tcpproxy_weights_adding_up_past_u32_max_are_invalid() {
    let dag = tls_root()
        .tcpproxy([svc("tcp1", 443).weight(4_294_967_295), svc("tcp2", 443).weight(1)])
        .dag();
    assert_invalid(
        &dag,
        "default/root",
        "tcpproxy: the sum of all service weights must not exceed 4294967295",
    );
}

#[test]
fn a_tcpproxy_error_is_reported_before_route_errors() {
    // Phase C runs before phase D (docs/behaviour.md#s2-3).
    let dag = tls_root()
        .tcpproxy(svc("missing", 443))
        .route("/", svc("also-missing", 80))
        .dag();
    assert_invalid(&dag, "default/root", "tcpproxy: service default/missing/443: not found");
}

// ----- delegation ---------------------------------------------------------------------------

#[test]
fn a_tcpproxy_can_be_delegated() {
    let dag = tls_root()
        .tcpproxy(delegate("team/backend"))
        .child("team/backend")
        .tcpproxy(svc("db", 5432))
        .service("team/db", &[5432])
        .dag();
    assert_valid(&dag, "default/root");
    assert_valid(&dag, "team/backend");
    assert_eq!(tcp_upstreams(&dag, "foo.com"), [("team/db:5432".to_owned(), 0)]);
    let proxy = vhost(&dag, "foo.com").secure.clone().unwrap().tcp_proxy.unwrap();
    assert_eq!(proxy.source, r("team/backend"));
}

#[test]
fn a_tcpproxy_delegation_chain_is_followed_to_its_end() {
    let dag = tls_root()
        .tcpproxy(delegate("a"))
        .child("default/a")
        .tcpproxy(delegate("b"))
        .child("default/b")
        .tcpproxy(svc("tcp2", 443))
        .dag();
    for key in ["default/root", "default/a", "default/b"] {
        assert_valid(&dag, key);
    }
    assert_eq!(tcp_upstreams(&dag, "foo.com"), [tcp("tcp2")]);
}

#[test]
fn a_tcpproxy_delegate_without_a_tcpproxy_is_invalid() {
    // Decision D9: Contour crashed on a nil pointer here.
    let dag = tls_root()
        .tcpproxy(delegate("child"))
        .child("default/child")
        .route("/", svc("tcp1", 443))
        .dag();
    assert_invalid(&dag, "default/root", "tcpproxy: delegate default/child has no tcpproxy");
    assert_orphaned(&dag, "default/child");
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn a_tcpproxy_delegate_without_a_tcpproxy_further_down_is_reported_on_the_delegating_child() {
    let dag = tls_root()
        .tcpproxy(delegate("a"))
        .child("default/a")
        .tcpproxy(delegate("other/b"))
        .child("other/b")
        .dag();
    assert_valid(&dag, "default/root");
    assert_invalid(&dag, "default/a", "tcpproxy: delegate other/b has no tcpproxy");
    assert_orphaned(&dag, "other/b");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_tcpproxy_delegating_to_a_root_is_invalid() {
    // Decision D9: Contour allowed it, unlike HTTP delegation.
    let dag = tls_root()
        .tcpproxy(delegate("other"))
        .root("default/other", "other.com")
        .tcpproxy(svc("tcp1", 443))
        .dag();
    assert_invalid(
        &dag,
        "default/root",
        "root ingressroute cannot delegate to another root ingressroute",
    );
}

#[test]
fn a_tcpproxy_delegating_to_its_own_root_is_invalid() {
    let dag = tls_root().tcpproxy(delegate("root")).dag();
    assert_invalid(
        &dag,
        "default/root",
        "root ingressroute cannot delegate to another root ingressroute",
    );
}

#[test]
fn a_tcpproxy_delegation_cycle_names_the_whole_path() {
    let dag = tls_root()
        .tcpproxy(delegate("a"))
        .child("default/a")
        .tcpproxy(delegate("b"))
        .child("default/b")
        .tcpproxy(delegate("a"))
        .dag();
    assert_invalid(
        &dag,
        "default/b",
        "tcpproxy creates a delegation cycle: default/root -> default/a -> default/b -> default/a",
    );
    assert_valid(&dag, "default/a");
    assert_valid(&dag, "default/root");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_tcpproxy_delegating_to_itself_is_a_cycle() {
    let dag = tls_root()
        .tcpproxy(delegate("a"))
        .child("default/a")
        .tcpproxy(delegate("a"))
        .dag();
    assert_invalid(
        &dag,
        "default/a",
        "tcpproxy creates a delegation cycle: default/root -> default/a -> default/a",
    );
}

#[test]
fn errors_of_a_tcpproxy_delegated_child_are_visible_on_the_child() {
    let dag = tls_root()
        .tcpproxy(delegate("a"))
        .child("default/a")
        .tcpproxy(svc("missing", 443))
        .dag();
    assert_valid(&dag, "default/root");
    assert_invalid(&dag, "default/a", "tcpproxy: service default/missing/443: not found");
    let status = dag.status(&r("default/a")).unwrap();
    assert_eq!(
        status.vhost.as_deref(),
        Some("foo.com"),
        "docs/behaviour.md#s2-4: the child inherits the vhost"
    );
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_tcpproxy_delegated_child_with_an_empty_tcpproxy_is_valid() {
    // Decision D15: Contour wrote an empty currentStatus here.
    let dag = tls_root()
        .tcpproxy(delegate("a"))
        .child("default/a")
        .tcpproxy(Nothing)
        .dag();
    assert_valid(&dag, "default/a");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_tcpproxy_delegated_child_delegating_to_a_missing_object_is_valid() {
    let dag = tls_root()
        .tcpproxy(delegate("a"))
        .child("default/a")
        .tcpproxy(delegate("nobody"))
        .dag();
    assert_valid(&dag, "default/a");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_tcpproxy_delegation_to_a_missing_object_is_not_an_error() {
    let dag = tls_root()
        .tcpproxy(delegate("nobody"))
        .route("/", svc("tcp1", 443))
        .dag();
    assert_valid(&dag, "default/root");
    let vhost = vhost(&dag, "foo.com");
    assert!(vhost.secure.is_none());
    assert!(!route(vhost, "/").https_redirect);
}

#[test]
fn a_tcpproxy_delegated_childs_routes_are_ignored() {
    let dag = tls_root()
        .tcpproxy(delegate("a"))
        .child("default/a")
        .tcpproxy(svc("tcp1", 443))
        .route("/", svc("missing", 80))
        .dag();
    assert_valid(&dag, "default/a");
    assert!(vhost(&dag, "foo.com").routes.is_empty());
}

#[test]
fn a_child_reached_by_http_and_by_tcpproxy_is_checked_both_ways() {
    let dag = tls_root()
        .tcpproxy(delegate("a"))
        .route("/", delegate("a"))
        .child("default/a")
        .tcpproxy(svc("tcp1", 443))
        .route("/", svc("missing", 80))
        .dag();
    assert_invalid(&dag, "default/a", "Service [missing:80] is invalid or missing");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_tcpproxy_child_of_an_invalid_root_is_orphaned() {
    let dag = tls_root()
        .tcpproxy(delegate("a"))
        .route("/", svc("missing", 80))
        .child("default/a")
        .tcpproxy(svc("tcp1", 443))
        .dag();
    assert_invalid(&dag, "default/root", "Service [missing:80] is invalid or missing");
    assert_orphaned(&dag, "default/a");
}

// ----- when a tcpproxy does nothing (docs/behaviour.md#s2-8) --------------------------------------------------

#[test]
fn an_empty_tcpproxy_is_not_an_error() {
    let dag = tls_root().tcpproxy(Nothing).dag();
    assert_valid(&dag, "default/root");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_tcpproxy_without_tls_is_ignored() {
    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .tcpproxy(svc("s1", 80))
        .route("/", svc("s1", 80))
        .dag();
    assert_valid(&dag, "default/root");
    assert!(vhost(&dag, "foo.com").secure.is_none());
}

#[test]
fn a_tcpproxy_without_tls_is_not_even_checked() {
    // It never takes effect, so its errors do not matter (docs/behaviour.md#s2-3 step 7).
    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .tcpproxy((svc("missing", 80), delegate("nobody")))
        .route("/", svc("s1", 80))
        .child("default/orphan")
        .dag();
    assert_valid(&dag, "default/root");
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/"]);
}

#[test]
fn a_tcpproxy_delegation_without_tls_leaves_the_child_orphaned() {
    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .tcpproxy(delegate("a"))
        .child("default/a")
        .tcpproxy(svc("s1", 80))
        .dag();
    assert_orphaned(&dag, "default/a");
}

#[test]
fn a_passthrough_root_proxies_tcp_without_terminating() {
    let dag = Fixture::new()
        .service("default/tcp1", &[443])
        .root("default/root", "foo.com")
        .passthrough()
        .tcpproxy(delegate("a"))
        .child("default/a")
        .tcpproxy(svc("tcp1", 443))
        .dag();
    assert_valid(&dag, "default/a");
    assert_eq!(
        vhost(&dag, "foo.com").secure.as_ref().unwrap().tls,
        TlsMode::Passthrough
    );
    assert_eq!(tcp_upstreams(&dag, "foo.com"), [tcp("tcp1")]);
}
