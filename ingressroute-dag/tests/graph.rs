#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! `Dag::graph()` (the delegation graph: vertices, edges, cycles, DOT) and what a build
//! records as looked up (`references_service`, `references_secret`).

mod support;

use ingressroute_dag::{Delegation, Vertex};
use support::*;

fn sample() -> Fixture {
    Fixture::new()
        .root("default/root", "foo.com")
        .tls("secrets/cert")
        .route("/", svc("s1", 80))
        .route("/a", delegate("team/a"))
        .route("/missing", delegate("nobody"))
        .tcpproxy(delegate("team/tcp"))
        .child("team/a")
        .route("/a", delegate("b"))
        .child("team/b")
        .route("/a", delegate("a"))
        .child("team/tcp")
        .tcpproxy(svc("db", 5432))
        .child("team/lonely")
}

#[test]
fn every_ingress_route_is_a_vertex_in_namespace_then_name_order() {
    let dag = sample().dag();
    let vertices: Vec<&Vertex> = dag.graph().vertices().collect();
    let objects: Vec<String> = vertices.iter().map(|v| v.object.to_string()).collect();
    assert_eq!(objects, ["default/root", "team/a", "team/b", "team/lonely", "team/tcp"]);
    let roots: Vec<bool> = vertices.iter().map(|v| v.root).collect();
    assert_eq!(roots, [true, false, false, false, false]);
    for object in &objects {
        assert!(dag.graph().vertex(&r(object)).is_some(), "{object}");
    }
    assert!(dag.graph().vertex(&r("nobody")).is_none());
}

#[test]
fn every_delegation_to_an_existing_object_is_an_edge() {
    let dag = sample().dag();
    let graph = dag.graph();
    let delegators: Vec<(String, Delegation)> = graph
        .delegators(&r("team/a"))
        .map(|(o, d)| (o.to_string(), d.clone()))
        .collect();
    assert_eq!(
        delegators.len(),
        2,
        "the root and team/b delegate to team/a: {delegators:?}"
    );
    assert!(delegators.contains(&(
        "default/root".into(),
        Delegation::Route {
            route: 1,
            prefix: "/a".into()
        }
    )));
    assert!(delegators.contains(&(
        "team/b".into(),
        Delegation::Route {
            route: 0,
            prefix: "/a".into()
        }
    )));
    let tcp: Vec<(String, Delegation)> = graph
        .delegators(&r("team/tcp"))
        .map(|(o, d)| (o.to_string(), d.clone()))
        .collect();
    assert_eq!(tcp, [("default/root".to_owned(), Delegation::TcpProxy)]);
    assert_eq!(graph.delegators(&r("team/lonely")).count(), 0);
    assert_eq!(graph.delegation_count(), 4, "no edge to the missing object");
}

#[test]
fn delegations_of_an_object_come_in_route_order_with_the_tcpproxy_last() {
    let dag = sample().dag();
    let delegations: Vec<(String, Delegation)> = dag
        .graph()
        .delegations(&r("default/root"))
        .map(|(o, d)| (o.to_string(), d.clone()))
        .collect();
    assert_eq!(
        delegations,
        [
            (
                "team/a".to_owned(),
                Delegation::Route {
                    route: 1,
                    prefix: "/a".into()
                }
            ),
            ("team/tcp".to_owned(), Delegation::TcpProxy),
        ],
        "no edge to the missing object"
    );
    assert_eq!(dag.graph().delegations(&r("team/lonely")).count(), 0);
    assert_eq!(dag.graph().delegations(&r("nobody")).count(), 0);
}

#[test]
fn roots_are_the_vertices_with_a_virtualhost() {
    let dag = sample().root("other/root", "bar.com").dag();
    let roots: Vec<String> = dag.graph().roots().map(|v| v.object.to_string()).collect();
    assert_eq!(roots, ["default/root", "other/root"]);
    assert_eq!(dag.graph().vertex_count(), 6);
}

#[test]
fn cycles_finds_every_cycle() {
    let dag = sample()
        .child("x/self")
        .route("/", delegate("self"))
        .child("x/p")
        .tcpproxy(delegate("q"))
        .child("x/q")
        .tcpproxy(delegate("p"))
        .dag();
    assert_eq!(
        dag.graph().cycles(),
        [
            vec![r("team/a"), r("team/b")],
            vec![r("x/p"), r("x/q")],
            vec![r("x/self")],
        ]
    );
}

#[test]
fn cycles_are_found_whether_or_not_a_root_reaches_them() {
    let dag = Fixture::new()
        .child("a")
        .route("/", delegate("b"))
        .child("b")
        .route("/", delegate("c"))
        .child("c")
        .route("/", delegate("a"))
        .dag();
    assert_eq!(dag.graph().cycles(), [vec![r("a"), r("b"), r("c")]]);
    assert_orphaned(&dag, "default/a");
}

#[test]
fn a_graph_without_cycles_has_none() {
    let dag = Fixture::new()
        .root("root", "foo.com")
        .route("/", delegate("a"))
        .child("a")
        .dag();
    assert!(dag.graph().cycles().is_empty());
}

#[test]
fn dot_output_mentions_every_object_and_delegation() {
    let dag = sample().dag();
    let dot = dag.graph().to_dot();
    assert!(dot.starts_with("digraph delegation {\n"), "{dot}");
    assert!(dot.ends_with("}\n"), "{dot}");
    for object in ["default/root", "team/a", "team/b", "team/lonely", "team/tcp"] {
        assert!(dot.contains(&format!("\"{object}\"")), "{object} missing from\n{dot}");
    }
    assert!(dot.contains("shape=box"), "roots are boxes:\n{dot}");
    assert!(dot.contains("n0 -> n1 [label=\"/a\", style=solid];"), "{dot}");
    assert!(dot.contains("n0 -> n4 [label=\"tcpproxy\", style=dashed];"), "{dot}");
}

#[test]
fn dot_output_escapes_labels() {
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .route("/\"quoted\"\n", delegate("a"))
        .child("a")
        .dag();
    let dot = dag.graph().to_dot();
    assert!(dot.contains(r#"label="/\"quoted\"\n""#), "{dot}");
}

#[test]
fn filtered_ingress_routes_are_not_in_the_graph() {
    let dag = sample()
        .child("team/other-class")
        .annotate("kubernetes.io/ingress.class", "nginx")
        .dag();
    assert!(dag.graph().vertex(&r("team/other-class")).is_none());
    assert!(!dag.graph().to_dot().contains("other-class"));
}

#[test]
fn the_dag_records_the_secrets_it_looked_up() {
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .tls("secrets/cert")
        .route("/", svc("s1", 80))
        .root("default/other", "other.com")
        .tls("/own")
        .route("/", svc("secure", 443).validation("ca", "backend"))
        .service_object(
            kube_service("default/secure")
                .port(443)
                .annotate("projectcontour.io/upstream-protocol.tls", "443"),
        )
        .root("default/passthrough", "pass.com")
        .passthrough()
        .dag();
    assert!(
        dag.references_secret(&r("secrets/cert")),
        "cross-namespace TLS secret, missing"
    );
    assert!(dag.references_secret(&r("default/own")), "own-namespace TLS secret");
    assert!(
        !dag.references_secret(&r("default/ca")),
        "the route check stopped at the missing TLS secret"
    );
    assert!(!dag.references_secret(&r("default/")), "passthrough looks nothing up");
}

#[test]
fn the_dag_records_ca_secrets_it_looked_up() {
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .route("/", svc("secure", 443).validation("ca", "backend"))
        .service_object(
            kube_service("default/secure")
                .port(443)
                .annotate("projectcontour.io/upstream-protocol.tls", "443"),
        )
        .dag();
    assert!(dag.references_secret(&r("default/ca")));
    assert!(!dag.references_secret(&r("other/ca")));
}

#[test]
fn the_dag_records_tcpproxy_services_it_looked_up() {
    let dag = sample()
        .service("default/s1", &[80])
        .tls_secret("secrets/cert")
        .certificate_delegation("secrets/d", "cert", &["*"])
        .dag();
    assert_valid(&dag, "default/root");
    assert_invalid(&dag, "team/tcp", "tcpproxy: service team/db/5432: not found");
    assert!(dag.references_service(&r("team/db")), "missing, but looked up");
    assert!(dag.references_service(&r("default/s1")));
}
