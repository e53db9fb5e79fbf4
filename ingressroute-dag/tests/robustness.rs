#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! Inputs meant to break things: very long chains and cycles, huge objects, empty strings
//! and unicode everywhere. Each must build without panicking (or overflowing the stack),
//! with the right statuses, quickly even in a debug build. There are no timing
//! assertions; a regression shows up as a slow test.

mod support;

use ingressroute_api as api;
use support::*;

/// `default/c00042`-style keys, so that namespace-then-name order is chain order.
fn link(i: usize) -> String {
    format!("default/c{i:05}")
}

/// A root delegating `/` down a chain of `len` children; the last serves `/` from `s1`.
fn chain(len: usize) -> Fixture {
    let mut fixture = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .route("/", delegate(&link(0)));
    for i in 0..len {
        fixture = fixture.child(&link(i));
        fixture = if i + 1 == len {
            fixture.route("/", svc("s1", 80))
        } else {
            fixture.route("/", delegate(&link(i + 1)))
        };
    }
    fixture
}

#[test]
fn a_ten_thousand_long_delegation_chain_is_served() {
    let dag = chain(10_000).dag();
    assert_valid(&dag, "default/root");
    assert_valid(&dag, &link(0));
    assert_valid(&dag, &link(9_999));
    assert!(dag.statuses().values().all(|s| s.current_status == Valid));
    assert_eq!(upstreams(route(vhost(&dag, "foo.com"), "/")), ["default/s1:80"]);
    assert_eq!(*route(vhost(&dag, "foo.com"), "/").source, r(&link(9_999)));
}

#[test]
fn a_ten_thousand_long_chain_has_no_cycles_and_renders_as_dot() {
    let dag = chain(10_000).dag();
    assert!(dag.graph().cycles().is_empty());
    assert_eq!(dag.graph().vertex_count(), 10_001);
    assert_eq!(dag.graph().delegation_count(), 10_000);
    let dot = dag.graph().to_dot();
    assert!(dot.contains(r#""default/c09999""#));
}

#[test]
fn a_ten_thousand_long_chain_without_a_root_is_orphaned() {
    let mut fixture = Fixture::new();
    for i in 0..10_000 {
        fixture = fixture.child(&link(i)).route("/", delegate(&link(i + 1)));
    }
    let dag = fixture.dag();
    assert_eq!(dag.statuses().len(), 10_000);
    assert!(dag.statuses().values().all(|s| s.current_status == Orphaned));
}

#[test]
fn a_ten_thousand_long_tcpproxy_chain_is_followed() {
    let mut fixture = Fixture::new()
        .tls_secret("default/cert")
        .service("default/db", &[5432])
        .root("default/root", "foo.com")
        .tls("cert")
        .tcpproxy(delegate(&link(0)));
    for i in 0..10_000 {
        fixture = fixture.child(&link(i));
        fixture = if i == 9_999 {
            fixture.tcpproxy(svc("db", 5432))
        } else {
            fixture.tcpproxy(delegate(&link(i + 1)))
        };
    }
    let dag = fixture.dag();
    assert!(dag.statuses().values().all(|s| s.current_status == Valid));
    assert_eq!(tcp_upstreams(&dag, "foo.com"), [("default/db:5432".to_owned(), 0)]);
}

#[test]
fn a_thousand_object_cycle_names_every_object_on_the_path() {
    let mut fixture = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .route("/", delegate(&link(0)))
        .child(&link(0))
        .route("/svc", svc("s1", 80))
        .route("/", delegate(&link(1)));
    for i in 1..1_000 {
        fixture = fixture.child(&link(i)).route("/", delegate(&link((i + 1) % 1_000)));
    }
    let dag = fixture.dag();
    let mut path = vec!["default/root".to_owned()];
    path.extend((0..1_000).map(link));
    path.push(link(0));
    assert_invalid(
        &dag,
        &link(999),
        &format!("route creates a delegation cycle: {}", path.join(" -> ")),
    );
    for i in 0..999 {
        assert_valid(&dag, &link(i));
    }
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/svc"]);

    let cycles = dag.graph().cycles();
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].len(), 1_000);
}

#[test]
fn a_thousand_object_tcpproxy_cycle_names_every_object_on_the_path() {
    let mut fixture = Fixture::new()
        .tls_secret("default/cert")
        .root("default/root", "foo.com")
        .tls("cert")
        .tcpproxy(delegate(&link(0)));
    for i in 0..1_000 {
        fixture = fixture.child(&link(i)).tcpproxy(delegate(&link((i + 1) % 1_000)));
    }
    let dag = fixture.dag();
    let mut path = vec!["default/root".to_owned()];
    path.extend((0..1_000).map(link));
    path.push(link(0));
    assert_invalid(
        &dag,
        &link(999),
        &format!("tcpproxy creates a delegation cycle: {}", path.join(" -> ")),
    );
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn a_root_delegating_to_itself_by_route_and_tcpproxy_terminates() {
    let dag = Fixture::new()
        .tls_secret("default/cert")
        .root("default/root", "foo.com")
        .tls("cert")
        .tcpproxy(delegate("root"))
        .route("/", delegate("root"))
        .dag();
    assert_invalid(
        &dag,
        "default/root",
        "root ingressroute cannot delegate to another root ingressroute",
    );
    assert_eq!(dag.graph().cycles(), [vec![r("default/root")]]);
}

#[test]
fn a_lattice_with_a_billion_paths_is_walked_once_per_object() {
    // 30 layers of two objects, each delegating / to both objects of the next layer:
    // 2^30 paths from the root to the bottom, but only 60 objects.
    let node = |layer: usize, side: usize| format!("default/l{layer:02}-{side}");
    let mut fixture = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .route("/", delegate(&node(0, 0)))
        .route("/", delegate(&node(0, 1)));
    for layer in 0..30 {
        for side in 0..2 {
            fixture = fixture.child(&node(layer, side));
            fixture = if layer == 29 {
                fixture.route("/", svc("s1", 80))
            } else {
                fixture
                    .route("/", delegate(&node(layer + 1, 0)))
                    .route("/", delegate(&node(layer + 1, 1)))
            };
        }
    }
    let dag = fixture.dag();
    assert!(dag.statuses().values().all(|s| s.current_status == Valid));
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/"]);
}

#[test]
fn ten_thousand_routes_in_one_object_are_served() {
    let mut fixture = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com");
    for i in 0..10_000 {
        fixture = fixture.route(&format!("/r{i}"), svc("s1", 80));
    }
    let dag = fixture.dag();
    assert_valid(&dag, "default/root");
    assert_eq!(vhost(&dag, "foo.com").routes.len(), 10_000);
}

#[test]
fn ten_thousand_routes_with_one_match_collapse_to_the_last() {
    let mut fixture = Fixture::new()
        .service("default/s1", &[80, 81])
        .root("default/root", "foo.com");
    for i in 0..10_000 {
        fixture = fixture.route("/", svc("s1", if i == 9_999 { 81 } else { 80 }));
    }
    let dag = fixture.dag();
    assert_eq!(upstreams(route(vhost(&dag, "foo.com"), "/")), ["default/s1:81"]);
}

#[test]
fn ten_thousand_delegations_from_one_root_are_followed() {
    let mut fixture = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com");
    for i in 0..10_000 {
        fixture = fixture.route(&format!("/{i}"), delegate(&link(i)));
    }
    for i in 0..10_000 {
        fixture = fixture.child(&link(i)).route(&format!("/{i}/x"), svc("s1", 80));
    }
    let dag = fixture.dag();
    assert!(dag.statuses().values().all(|s| s.current_status == Valid));
    assert_eq!(vhost(&dag, "foo.com").routes.len(), 10_000);
}

#[test]
fn a_route_with_a_thousand_services_is_served() {
    let services: Vec<Svc> = (0..1_000).map(|_| svc("s1", 80).weight(1)).collect();
    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .route("/", services)
        .dag();
    assert_eq!(route(vhost(&dag, "foo.com"), "/").clusters.len(), 1_000);
}

#[test]
fn empty_strings_everywhere_do_not_panic() {
    let everything_empty = |ir: &mut api::IngressRoute| {
        let empty_service = api::Service {
            name: String::new(),
            port: 0,
            weight: Some(0),
            strategy: Some(String::new()),
            health_check: Some(Box::new(api::HealthCheck {
                path: String::new(),
                host: Some(String::new()),
                ..Default::default()
            })),
            validation: Some(Box::new(api::UpstreamValidation {
                ca_secret: String::new(),
                subject_name: String::new(),
            })),
        };
        let empty_delegate = api::Delegate {
            name: String::new(),
            namespace: Some(String::new()),
        };
        if let Some(vhost) = ir.spec.virtualhost.as_mut() {
            vhost.tls = Some(Box::new(api::Tls {
                secret_name: String::new(),
                minimum_protocol_version: Some(String::new()),
                passthrough: false,
            }));
        }
        ir.spec.routes = vec![
            api::Route {
                match_: String::new(),
                services: vec![empty_service.clone()],
                delegate: Some(Box::new(empty_delegate.clone())),
                prefix_rewrite: String::new(),
                timeout_policy: Some(Box::new(api::TimeoutPolicy {
                    request: Some(String::new()),
                })),
                retry_policy: Some(Box::new(api::RetryPolicy {
                    count: Some(0),
                    per_try_timeout: Some(String::new()),
                })),
                ..Default::default()
            },
            api::Route {
                match_: String::new(),
                delegate: Some(Box::new(empty_delegate.clone())),
                ..Default::default()
            },
            api::Route::default(),
        ];
        ir.spec.tcpproxy = Some(Box::new(api::TcpProxy {
            services: vec![empty_service],
            delegate: Some(empty_delegate),
        }));
        ir.spec.health_check = Some(Box::new(api::HealthCheck::default()));
        ir.spec.strategy = Some("".into());
        ir.metadata.annotations = Some([("projectcontour.io/ingress.class".to_owned(), String::new())].into());
    };
    let fixture = Fixture::new()
        .root("default/", "")
        .with(everything_empty)
        .root("named/root", "foo.com")
        .with(everything_empty)
        .child("other/")
        .with(everything_empty)
        .service_object(kube_service("default/").port(0).named_port("", 0).external_name(""))
        .secret(secret("default/", "", &[("", "")]))
        .secret(secret(
            "named/",
            "kubernetes.io/tls",
            &[("tls.crt", ""), ("tls.key", "")],
        ))
        .certificate_delegations("default/", &[("", &[""])]);
    let dag = fixture.dag();
    assert_invalid(&dag, "default/", "Spec.VirtualHost.Fqdn must be specified");
    assert_invalid(&dag, "named/root", "TLS Secret [] not found or is malformed");
    assert_orphaned(&dag, "other/");
    assert!(dag.virtual_hosts().is_empty());

    // Without TLS, the route checks are reached.
    let dag = Fixture::new()
        .root("named/root", "foo.com")
        .with(everything_empty)
        .with(|ir| ir.spec.virtualhost.as_mut().unwrap().tls = None)
        .dag();
    assert_invalid(
        &dag,
        "named/root",
        r#"route "": cannot specify services and delegate in the same route"#,
    );

    let dag = Fixture::new().root("named/root", "foo.com").route("", svc("", 0)).dag();
    assert_invalid(
        &dag,
        "named/root",
        r#"route "": service "": port must be in the range 1-65535"#,
    );
    let dag = Fixture::new()
        .root("named/root", "foo.com")
        .route("", svc("", 80))
        .dag();
    assert_invalid(&dag, "named/root", "Service [:80] is invalid or missing");
    let dag = Fixture::new()
        .root("named/root", "foo.com")
        .route("", delegate(""))
        .dag();
    assert_valid(&dag, "named/root");
}

#[test]
fn unicode_names_fqdns_and_matches_are_carried_verbatim() {
    let dag = Fixture::new()
        .service("名前空間/サービス", &[80])
        .root("名前空間/ルート", "bücher.例え.jp")
        .route("/café", delegate("子"))
        .child("名前空間/子")
        .route("/café/☕", svc("サービス", 80))
        .dag();
    assert_valid(&dag, "名前空間/ルート");
    assert_valid(&dag, "名前空間/子");
    assert_eq!(prefixes(vhost(&dag, "bücher.例え.jp")), ["/café/☕"]);
    assert_eq!(
        upstreams(route(vhost(&dag, "bücher.例え.jp"), "/café/☕")),
        ["名前空間/サービス:80"]
    );
}

#[test]
fn unicode_in_status_messages_is_quoted_like_go() {
    // Printable characters stay; invisible ones (here a right-to-left override, which
    // could disguise the message) are escaped as Go's %q does.
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .route("/ü", delegate("child"))
        .child("default/child")
        .route("/x\u{202e}y", svc("s1", 80))
        .dag();
    assert_invalid(
        &dag,
        "default/child",
        r#"the path prefix "/x\u202ey" does not match the parent's path prefix "/ü""#,
    );

    let dag = Fixture::new().root("default/root", "*.bücher.de").dag();
    assert_invalid(
        &dag,
        "default/root",
        r#"Spec.VirtualHost.Fqdn "*.bücher.de" cannot use wildcards"#,
    );

    let dag = Fixture::new()
        .root("default/a", "bücher.de")
        .root("default/b", "bücher.de")
        .dag();
    assert_invalid(
        &dag,
        "default/a",
        r#"fqdn "bücher.de" is used in multiple IngressRoutes: default/a, default/b"#,
    );
}

#[test]
fn very_long_strings_are_carried() {
    let long = format!("/{}", "a".repeat(100_000));
    let fqdn = format!("{}.com", "b".repeat(10_000));
    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", &fqdn)
        .route(&long, svc("s1", 80))
        .dag();
    assert_valid(&dag, "default/root");
    assert_eq!(prefixes(vhost(&dag, &fqdn)), [long.as_str()]);
}

#[test]
fn extreme_numbers_do_not_panic() {
    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .route("/", [svc("s1", 80).weight(i64::MAX), svc("s1", 80).weight(i64::MAX)])
        .dag();
    assert_invalid(
        &dag,
        "default/root",
        r#"route "/": the sum of all service weights must not exceed 4294967295"#,
    );

    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .route("/", svc("s1", 80).weight(i64::MIN))
        .retry(Some(i64::MIN), Some("-9223372036854775808ns"))
        .timeout("2562047h47m16.854775807s")
        .dag();
    assert_invalid(
        &dag,
        "default/root",
        r#"route "/": service "s1": weight must be greater than or equal to zero"#,
    );

    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .route("/", svc("s1", 80))
        .timeout("2562047h47m16.854775807s")
        .retry(Some(i64::MAX), None)
        .dag();
    assert_invalid(
        &dag,
        "default/root",
        r#"route "/": retryPolicy.count must be less than or equal to 4294967295"#,
    );

    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .route("/", svc("s1", 80))
        .timeout("9999999999h")
        .dag();
    assert_invalid(
        &dag,
        "default/root",
        r#"route "/": timeoutPolicy.request: invalid duration "9999999999h""#,
    );
}
