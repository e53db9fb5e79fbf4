#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! IngressRoutes inserted with `Objects::insert_rejected_ingress_route` (ones the API
//! server would refuse, or that decoded only leniently): they take part in the build,
//! get the first error the build finds on them or else the given description, and are
//! never served.

mod support;

use ingressroute_dag::{Objects, Reason, build};
use support::*;

const REJECTED: &str = "spec.routes[0].services[0].port: missing field";

#[test]
fn a_rejected_root_without_fqdn_gets_the_fqdn_message() {
    let dag = Fixture::new()
        .root("default/root", "")
        .route("/", svc("s1", 80))
        .rejected(REJECTED)
        .service("default/s1", &[80])
        .dag();
    assert_invalid(&dag, "default/root", "Spec.VirtualHost.Fqdn must be specified");
    assert_eq!(dag.status(&r("default/root")).unwrap().reason, Reason::FqdnMissing);
}

#[test]
fn a_rejected_root_with_a_valid_spec_gets_the_description_and_serves_nothing() {
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .route("/", svc("s1", 80))
        .rejected(REJECTED)
        .service("default/s1", &[80])
        .dag();
    assert_invalid(&dag, "default/root", REJECTED);
    let status = dag.status(&r("default/root")).unwrap();
    assert_eq!(status.reason, Reason::Rejected);
    assert_eq!(status.vhost.as_deref(), Some("foo.com"));
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_rejected_root_takes_part_in_duplicate_fqdn_detection() {
    let dag = Fixture::new()
        .root("default/a", "foo.com")
        .route("/", svc("s1", 80))
        .root("default/b", "foo.com")
        .route("/", svc("s1", 80))
        .rejected(REJECTED)
        .service("default/s1", &[80])
        .dag();
    let duplicate = "fqdn \"foo.com\" is used in multiple IngressRoutes: default/a, default/b";
    assert_invalid(&dag, "default/a", duplicate);
    assert_invalid(&dag, "default/b", duplicate);
}

#[test]
fn a_rejected_child_with_a_valid_spec_gets_the_description_and_is_not_served() {
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .route("/", svc("s1", 80))
        .route("/foo", delegate("child"))
        .child("default/child")
        .route("/foo", svc("s2", 80))
        .rejected(REJECTED)
        .service("default/s1", &[80])
        .service("default/s2", &[80])
        .dag();
    assert_valid(&dag, "default/root");
    assert_invalid(&dag, "default/child", REJECTED);
    let status = dag.status(&r("default/child")).unwrap();
    assert_eq!(status.reason, Reason::Rejected);
    assert_eq!(status.vhost.as_deref(), Some("foo.com"));
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/"]);
}

#[test]
fn a_rejected_child_gets_the_prefix_message_the_walk_finds_first() {
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .route("/foo", delegate("child"))
        .child("default/child")
        .route("", svc("s2", 80))
        .rejected(REJECTED)
        .service("default/s2", &[80])
        .dag();
    assert_invalid(
        &dag,
        "default/child",
        "the path prefix \"\" does not match the parent's path prefix \"/foo\"",
    );
}

#[test]
fn the_children_of_a_rejected_object_are_orphaned() {
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .route("/foo", delegate("child"))
        .child("default/child")
        .route("/foo", delegate("grandchild"))
        .rejected(REJECTED)
        .child("default/grandchild")
        .route("/foo", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_valid(&dag, "default/root");
    assert_invalid(&dag, "default/child", REJECTED);
    assert_orphaned(&dag, "default/grandchild");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn the_tcpproxy_of_a_rejected_child_is_not_served() {
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .tls("cert")
        .tcpproxy(delegate("tcp"))
        .child("default/tcp")
        .tcpproxy(delegate("backend"))
        .rejected(REJECTED)
        .child("default/backend")
        .tcpproxy(svc("db", 5432))
        .tls_secret("default/cert")
        .service("default/db", &[5432])
        .dag();
    assert_valid(&dag, "default/root");
    assert_invalid(&dag, "default/tcp", REJECTED);
    assert_orphaned(&dag, "default/backend");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_rejected_child_no_root_reaches_is_invalid_not_orphaned() {
    let dag = Fixture::new()
        .child("default/lonely")
        .route("/", svc("s1", 80))
        .rejected(REJECTED)
        .dag();
    assert_invalid(&dag, "default/lonely", REJECTED);
    assert_eq!(dag.status(&r("default/lonely")).unwrap().vhost, None);
}

#[test]
fn a_normal_insert_under_the_same_name_clears_the_rejection() {
    let fixture = Fixture::new()
        .root("default/root", "foo.com")
        .route("/foo", delegate("child"))
        .child("default/child")
        .route("/foo", svc("s1", 80))
        .service("default/s1", &[80]);
    let child = fixture
        .items()
        .iter()
        .find_map(|item| match item {
            Item::IngressRoute(ir) if ir.metadata.name.as_deref() == Some("child") => Some(ir.clone()),
            _ => None,
        })
        .unwrap();

    let mut objects: Objects = fixture.build();
    let key = objects.insert_rejected_ingress_route(child.clone(), REJECTED);
    assert_eq!(objects.rejection(&key), Some(REJECTED));
    let dag = build(&objects, fixture.config());
    assert_invalid(&dag, "default/child", REJECTED);
    assert_no_vhost(&dag, "foo.com");

    objects.insert_ingress_route(child.clone());
    assert_eq!(objects.rejection(&key), None);
    let dag = build(&objects, fixture.config());
    assert_valid(&dag, "default/child");
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/foo"]);

    objects.insert_rejected_ingress_route(child.clone(), REJECTED);
    assert!(objects.remove_ingress_route(&key));
    assert_eq!(objects.rejection(&key), None);
    objects.insert_ingress_route(child);
    assert_valid(&build(&objects, fixture.config()), "default/child");
}
