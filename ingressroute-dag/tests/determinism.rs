#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! Decision D2: the same objects give the same result whatever order they were inserted
//! in, and an object reached through several paths gets a well-defined status.

mod support;

use ingressroute_dag::{Dag, build};
use support::*;

/// Many features at once: aliases, a diamond, a cycle, cross-namespace TLS, tcpproxy
/// delegation, duplicate fqdns, an orphan, an invalid child, a filtered object.
fn everything() -> Fixture {
    Fixture::new()
        .service("default/s1", &[80])
        .service("default/s2", &[80])
        .service("team/s1", &[80, 8080])
        .service("team/db", &[5432])
        .service_object(
            kube_service("team/secure")
                .port(443)
                .annotate("projectcontour.io/upstream-protocol.tls", "443"),
        )
        .tls_secret("secrets/wildcard")
        .certificate_delegation("secrets/delegation", "wildcard", &["default", "team"])
        .ca_secret("team/ca")
        .root("default/one", "one.com")
        .tls("secrets/wildcard")
        .route("/", svc("s1", 80))
        .route("/", delegate("team/app"))
        .route("/diamond", delegate("team/left"))
        .route("/diamond", delegate("team/right"))
        .root("default/two", "two.com")
        .route("/", delegate("team/app"))
        .route("/cycle", delegate("team/cycle-a"))
        .root("team/tcp", "tcp.com")
        .tls("secrets/wildcard")
        .tcpproxy(delegate("backend"))
        .root("default/dup-a", "Dup.com")
        .route("/", svc("s1", 80))
        .root("team/dup-b", "dup.com")
        .route("/", svc("s1", 80))
        .child("team/app")
        .route("/", svc("s1", 80).weight(3))
        .route("/team/secure", svc("secure", 443).validation("ca", "backend.team"))
        .route("/team/broken", delegate("broken"))
        .child("team/broken")
        .route("/team/broken", svc("missing", 80))
        .child("team/left")
        .route("/diamond", delegate("bottom"))
        .child("team/right")
        .route("/diamond", delegate("bottom"))
        .child("team/bottom")
        .route("/diamond/x", svc("s1", 8080))
        .child("team/cycle-a")
        .route("/cycle", delegate("cycle-b"))
        .child("team/cycle-b")
        .route("/cycle", delegate("cycle-a"))
        .child("team/backend")
        .tcpproxy([svc("db", 5432).weight(1), svc("s1", 80).weight(2)])
        .child("team/orphan")
        .route("/", svc("s1", 80))
        .child("team/filtered")
        .annotate("kubernetes.io/ingress.class", "nginx")
        .route("/", svc("s1", 80))
}

fn dag_of(objects: &ingressroute_dag::Objects, fixture: &Fixture) -> Dag {
    build(objects, fixture.config())
}

#[track_caller]
fn assert_same(a: &Dag, b: &Dag) {
    assert_eq!(a.statuses(), b.statuses());
    assert_eq!(a.virtual_hosts(), b.virtual_hosts());
    assert_eq!(format!("{:?}", a.virtual_hosts()), format!("{:?}", b.virtual_hosts()));
    assert_eq!(a.graph().to_dot(), b.graph().to_dot());
    assert_eq!(a.graph().cycles(), b.graph().cycles());
}

#[test]
fn the_everything_fixture_exercises_every_kind_of_status() {
    let dag = everything().dag();
    assert_valid(&dag, "default/one");
    assert_valid(&dag, "default/two");
    assert_valid(&dag, "team/app");
    assert_valid(&dag, "team/bottom");
    assert_valid(&dag, "team/backend");
    assert_invalid(&dag, "team/broken", "Service [missing:80] is invalid or missing");
    assert_invalid(
        &dag,
        "team/cycle-b",
        "route creates a delegation cycle: default/two -> team/cycle-a -> team/cycle-b -> team/cycle-a",
    );
    assert_invalid(
        &dag,
        "team/dup-b",
        r#"fqdn "dup.com" is used in multiple IngressRoutes: default/dup-a, team/dup-b"#,
    );
    assert_orphaned(&dag, "team/orphan");
    assert_no_status(&dag, "team/filtered");
    assert_eq!(fqdns(&dag), ["one.com", "tcp.com", "two.com"]);
    assert_eq!(prefixes(vhost(&dag, "one.com")), ["/", "/diamond/x", "/team/secure"]);
    assert_eq!(
        tcp_upstreams(&dag, "tcp.com"),
        [("team/db:5432".to_owned(), 1), ("team/s1:80".to_owned(), 2)]
    );
}

#[test]
fn the_same_objects_in_any_insertion_order_give_the_same_result() {
    let fixture = everything();
    let reference = dag_of(&fixture.build(), &fixture);
    assert_same(&reference, &dag_of(&fixture.build_reversed(), &fixture));
    for seed in 0..50 {
        assert_same(&reference, &dag_of(&fixture.build_shuffled(seed), &fixture));
    }
}

#[test]
fn building_twice_gives_the_same_result() {
    let fixture = everything();
    let objects = fixture.build();
    assert_same(&dag_of(&objects, &fixture), &dag_of(&objects, &fixture));
}

#[test]
fn removing_and_reinserting_an_object_gives_the_same_result() {
    let fixture = everything();
    let mut objects = fixture.build();
    let reference = dag_of(&objects, &fixture);
    let app = fixture
        .items()
        .iter()
        .find_map(|item| match item {
            Item::IngressRoute(ir) if ir.metadata.name.as_deref() == Some("app") => Some(ir.clone()),
            _ => None,
        })
        .unwrap();
    assert!(objects.remove_ingress_route(&r("team/app")));
    assert_ne!(dag_of(&objects, &fixture).statuses(), reference.statuses());
    objects.insert_ingress_route(app);
    assert_same(&reference, &dag_of(&objects, &fixture));
}

// ----- several paths to one object ----------------------------------------------------------

/// Roots `a` and `b` (names chosen by the caller, so walk order is theirs) both delegate
/// to `shared`, whose route `/y` lies under `a`'s `/` but not under `b`'s `/x`.
fn two_paths(first: &str, first_prefix: &str, second: &str, second_prefix: &str) -> Fixture {
    Fixture::new()
        .service("default/s1", &[80])
        .service(&format!("{}/s1", r(first).namespace), &[80])
        .service(&format!("{}/s1", r(second).namespace), &[80])
        .root(first, &format!("{}.com", first.replace('/', "-")))
        .route("/", svc("s1", 80))
        .route(first_prefix, delegate("default/shared"))
        .root(second, &format!("{}.com", second.replace('/', "-")))
        .route("/", svc("s1", 80))
        .route(second_prefix, delegate("default/shared"))
        .child("default/shared")
        .route("/y", svc("s1", 80))
}

#[test]
fn an_object_valid_on_one_path_and_invalid_on_another_is_invalid() {
    // The invalid path comes second in walk order, and still wins.
    let dag = two_paths("default/a", "/", "default/b", "/x").dag();
    assert_invalid(
        &dag,
        "default/shared",
        r#"the path prefix "/y" does not match the parent's path prefix "/x""#,
    );
    // D1: nothing of it is served, not even under the root where it was fine.
    assert_eq!(prefixes(vhost(&dag, "default-a.com")), ["/"]);
    assert_valid(&dag, "default/a");
    assert_valid(&dag, "default/b");

    // The same with the invalid path first.
    let dag = two_paths("default/a", "/x", "default/b", "/").dag();
    assert_invalid(
        &dag,
        "default/shared",
        r#"the path prefix "/y" does not match the parent's path prefix "/x""#,
    );
    assert_eq!(prefixes(vhost(&dag, "default-b.com")), ["/"]);
}

#[test]
fn an_object_invalid_on_several_paths_reports_the_first_in_walk_order() {
    // Roots are walked by namespace, then name.
    let dag = two_paths("default/b", "/x", "default/a", "/z").dag();
    assert_invalid(
        &dag,
        "default/shared",
        r#"the path prefix "/y" does not match the parent's path prefix "/z""#,
    );

    let dag = two_paths("alpha/z", "/x", "beta/a", "/z").dag();
    assert_invalid(
        &dag,
        "default/shared",
        r#"the path prefix "/y" does not match the parent's path prefix "/x""#,
    );

    // Insertion order does not matter.
    let fixture = two_paths("alpha/z", "/x", "beta/a", "/z");
    for seed in 0..10 {
        let dag = dag_of(&fixture.build_shuffled(seed), &fixture);
        assert_invalid(
            &dag,
            "default/shared",
            r#"the path prefix "/y" does not match the parent's path prefix "/x""#,
        );
    }
}

#[test]
fn within_one_root_the_first_invalid_path_in_route_order_is_reported() {
    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .route("/", delegate("shared"))
        .route("/b", delegate("shared"))
        .route("/a", delegate("shared"))
        .child("default/shared")
        .route("/y", svc("s1", 80))
        .dag();
    assert_invalid(
        &dag,
        "default/shared",
        r#"the path prefix "/y" does not match the parent's path prefix "/b""#,
    );
}

#[test]
fn depth_first_order_decides_which_path_is_first() {
    // The root reaches `shared` through `deep` (route 1, depth 2) before its own route 2.
    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("default/root", "foo.com")
        .route("/d", delegate("deep"))
        .route("/s", delegate("shared"))
        .child("default/deep")
        .route("/d", delegate("shared"))
        .child("default/shared")
        .route("/y", svc("s1", 80))
        .dag();
    assert_invalid(
        &dag,
        "default/shared",
        r#"the path prefix "/y" does not match the parent's path prefix "/d""#,
    );
}

#[test]
fn a_valid_childs_vhost_is_the_first_root_reaching_it() {
    let dag = Fixture::new()
        .service("default/s1", &[80])
        .root("zeta/root", "z.com")
        .route("/", delegate("default/shared"))
        .root("alpha/root", "a.com")
        .route("/", delegate("default/shared"))
        .child("default/shared")
        .route("/", svc("s1", 80))
        .dag();
    assert_eq!(
        dag.status(&r("default/shared")).unwrap().vhost.as_deref(),
        Some("a.com")
    );
}
