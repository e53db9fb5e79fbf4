//! The graph of small worlds: statuses, references, missing objects, cycles, focus and
//! every format.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ingressroute_api::{IngressRoute, TLSCertificateDelegation};
use ingressroute_dag::{Config, CurrentStatus, ObjectRef, Objects, build};
use k8s_openapi::api::core::v1 as core_v1;
use serde_json::json;

use super::*;

fn route(value: serde_json::Value) -> IngressRoute {
    serde_json::from_value(value).unwrap()
}

fn service(namespace: &str, name: &str) -> core_v1::Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"name": "http", "port": 80}]}
    }))
    .unwrap()
}

/// A root delegating `/api` to a child, a child routing to a Service, a cycle of two,
/// an orphan, a delegation to a missing object, a TLS root with a missing Secret and a
/// certificate delegation.
fn world() -> Objects {
    let mut objects = Objects::new();
    objects.insert_service(&service("default", "web"));
    objects.insert_service(&service("team", "api"));
    for value in [
        json!({"metadata": {"name": "root", "namespace": "default"}, "spec": {
        "virtualhost": {"fqdn": "root.example.com"},
        "routes": [
            {"match": "/", "services": [{"name": "web", "port": 80, "weight": 10}]},
            {"match": "/api", "delegate": {"name": "child", "namespace": "team"}},
            {"match": "/loop", "delegate": {"name": "loop-a"}},
            {"match": "/gone", "delegate": {"name": "nowhere"}}
        ]}}),
        json!({"metadata": {"name": "child", "namespace": "team"}, "spec": {
            "routes": [{"match": "/api", "services": [{"name": "api", "port": 80}]}]}}),
        json!({"metadata": {"name": "loop-a", "namespace": "default"}, "spec": {
            "routes": [{"match": "/loop", "delegate": {"name": "loop-b"}}]}}),
        json!({"metadata": {"name": "loop-b", "namespace": "default"}, "spec": {
            "routes": [{"match": "/loop", "delegate": {"name": "loop-a"}}]}}),
        json!({"metadata": {"name": "lonely", "namespace": "default"}, "spec": {
            "routes": [{"match": "/", "services": [{"name": "web", "port": 80}]}]}}),
        json!({"metadata": {"name": "secure", "namespace": "team"}, "spec": {
            "virtualhost": {"fqdn": "secure.example.com", "tls": {"secretName": "certs/wildcard"}},
            "routes": [{"match": "/", "services": [{"name": "api", "port": 80}]}]}}),
    ] {
        objects.insert_ingress_route(route(value));
    }
    let delegation: TLSCertificateDelegation = serde_json::from_value(json!({
        "metadata": {"name": "share", "namespace": "certs"},
        "spec": {"delegations": [{"secretName": "wildcard", "targetNamespaces": ["team"]}]}
    }))
    .unwrap();
    objects.insert_delegation(delegation);
    objects
}

fn graph() -> ObjectGraph {
    let objects = world();
    let dag = build(&objects, &Config::default());
    ObjectGraph::new(&objects, &dag)
}

fn node<'a>(graph: &'a ObjectGraph, id: &str) -> &'a Node {
    graph
        .nodes()
        .iter()
        .find(|n| n.id() == id)
        .unwrap_or_else(|| panic!("no node {id}"))
}

fn edge_labels(graph: &ObjectGraph, from: &str, to: &str) -> Vec<(EdgeKind, String)> {
    graph
        .edges()
        .iter()
        .filter(|e| graph.nodes()[e.from].id() == from && graph.nodes()[e.to].id() == to)
        .map(|e| (e.kind, e.label.clone()))
        .collect()
}

#[test]
fn every_ingress_route_is_a_node_with_its_status() {
    let graph = graph();
    let root = node(&graph, "IngressRoute/default/root");
    assert_eq!(root.fqdn.as_deref(), Some("root.example.com"));
    // A delegation to nothing serves nothing, and leaves the root valid (as Contour).
    assert_eq!(root.current_status(), Some(CurrentStatus::Valid));
    assert_eq!(
        node(&graph, "IngressRoute/default/lonely").current_status(),
        Some(CurrentStatus::Orphaned)
    );
    assert_eq!(
        node(&graph, "IngressRoute/team/child").current_status(),
        Some(CurrentStatus::Valid)
    );
    assert!(node(&graph, "IngressRoute/default/loop-a").in_cycle);
    assert!(node(&graph, "IngressRoute/default/loop-b").in_cycle);
    assert!(!root.in_cycle);
}

#[test]
fn edges_are_labelled_with_the_match_that_delegates_or_routes() {
    let graph = graph();
    assert_eq!(
        edge_labels(&graph, "IngressRoute/default/root", "IngressRoute/team/child"),
        [(EdgeKind::Delegation, "/api".to_owned())]
    );
    assert_eq!(
        edge_labels(&graph, "IngressRoute/default/root", "Service/default/web"),
        [(EdgeKind::Route, "/ :80 weight 10".to_owned())]
    );
    assert_eq!(
        edge_labels(&graph, "IngressRoute/team/secure", "Secret/certs/wildcard"),
        [(EdgeKind::TlsSecret, "tls".to_owned())]
    );
    assert_eq!(
        edge_labels(&graph, "TLSCertificateDelegation/certs/share", "Secret/certs/wildcard"),
        [(EdgeKind::CertificateDelegation, "to team".to_owned())]
    );
    let cycle: Vec<bool> = graph
        .edges()
        .iter()
        .filter(|e| e.kind == EdgeKind::Delegation)
        .map(|e| e.in_cycle)
        .collect();
    assert_eq!(cycle.iter().filter(|c| **c).count(), 2, "loop-a -> loop-b -> loop-a");
}

#[test]
fn references_to_absent_objects_are_missing_nodes() {
    let graph = graph();
    assert!(node(&graph, "IngressRoute/default/nowhere").missing);
    assert!(node(&graph, "Secret/certs/wildcard").missing);
    assert!(!node(&graph, "Service/default/web").missing);
    assert!(!node(&graph, "IngressRoute/default/root").missing);
}

#[test]
fn focus_on_a_root_keeps_its_tree_and_on_a_child_its_ancestors() {
    let graph = graph();
    let root = graph.focus(&ObjectRef::new("default", "root")).unwrap();
    let ids: Vec<String> = root.nodes().iter().map(Node::id).collect();
    assert!(ids.contains(&"IngressRoute/team/child".to_owned()));
    assert!(ids.contains(&"Service/team/api".to_owned()));
    assert!(!ids.contains(&"IngressRoute/default/lonely".to_owned()), "{ids:?}");
    assert!(!ids.contains(&"IngressRoute/team/secure".to_owned()), "{ids:?}");

    let child = graph.focus(&ObjectRef::new("team", "child")).unwrap();
    let ids: Vec<String> = child.nodes().iter().map(Node::id).collect();
    assert_eq!(
        ids,
        [
            "IngressRoute/default/root",
            "IngressRoute/team/child",
            "Service/team/api"
        ]
    );
    assert_eq!(child.edges().len(), 2);
    assert!(graph.focus(&ObjectRef::new("default", "absent")).is_err());
}

#[test]
fn dot_marks_statuses_cycles_and_missing_objects() {
    let dot = GraphFormat::Dot.render(&graph());
    assert!(dot.starts_with("digraph ingressroute {\n"), "{dot}");
    assert!(dot.contains("\"IngressRoute/default/root\" -> \"IngressRoute/team/child\" [label=\"/api\"];"));
    assert!(
        dot.contains(
            "\"IngressRoute/default/loop-a\" -> \"IngressRoute/default/loop-b\" [label=\"/loop\", color=\"#d32f2f\""
        ),
        "{dot}"
    );
    assert!(
        dot.contains("label=\"IngressRoute\\ndefault/lonely\\norphaned\""),
        "{dot}"
    );
    assert!(
        dot.contains("label=\"IngressRoute\\ndefault/nowhere\\nmissing\""),
        "{dot}"
    );
}

#[test]
fn dot_quotes_what_it_prints() {
    assert_eq!(dot::quote("a\"b\\c\nd\u{1b}"), "\"a\\\"b\\\\c\\nd\\\\u{1b}\"");
}

#[test]
fn mermaid_has_a_node_per_object_and_a_class_per_status() {
    let graph = graph();
    let text = GraphFormat::Mermaid.render(&graph);
    assert!(text.starts_with("flowchart LR\n"));
    for (i, _) in graph.nodes().iter().enumerate() {
        assert!(text.contains(&format!("  n{i}")), "{text}");
    }
    for class in ["valid", "invalid", "orphaned", "missing"] {
        assert!(text.contains(&format!("classDef {class} ")), "{text}");
    }
    assert!(text.contains("linkStyle "), "{text}");
}

#[test]
fn json_lists_nodes_and_edges_by_id() {
    let graph = graph();
    let value: serde_json::Value = serde_json::from_str(&GraphFormat::Json.render(&graph)).unwrap();
    assert_eq!(value["nodes"].as_array().unwrap().len(), graph.nodes().len());
    assert_eq!(value["edges"].as_array().unwrap().len(), graph.edges().len());
    let lonely = value["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "IngressRoute/default/lonely")
        .unwrap();
    assert_eq!(lonely["status"], "orphaned");
    assert_eq!(lonely["kind"], "IngressRoute");
}

#[test]
fn svg_is_xml_with_a_group_per_node() {
    let graph = graph();
    let svg = GraphFormat::Svg.render(&graph);
    // Every node's group, by its `data-id`, exactly once.
    for node in graph.nodes() {
        let needle = format!("data-id=\"{}\"", node.id());
        assert_eq!(svg.matches(&needle).count(), 1, "{needle} in\n{svg}");
    }
    assert!(svg.trim_end().ends_with("</svg>"));
}

#[test]
fn an_empty_build_is_an_empty_picture_in_every_format() {
    let graph = ObjectGraph::new(&Objects::new(), &build(&Objects::new(), &Config::default()));
    assert!(graph.nodes().is_empty());
    assert_eq!(GraphFormat::Dot.render(&graph).lines().last(), Some("}"));
    assert!(GraphFormat::Svg.render(&graph).contains("<svg"));
    assert_eq!(
        GraphFormat::Json.render(&graph),
        "{\n  \"edges\": [],\n  \"nodes\": []\n}\n"
    );
}

#[test]
fn formats_parse_from_their_names() {
    for format in GraphFormat::ALL {
        assert_eq!(format.as_str().parse::<GraphFormat>(), Ok(format));
    }
    assert!("png".parse::<GraphFormat>().is_err());
}

#[test]
fn a_query_picks_the_format_and_the_focus() {
    assert_eq!(GraphQuery::parse(None), Ok(GraphQuery::default()));
    assert_eq!(GraphQuery::parse(None).unwrap().format, GraphFormat::Dot);
    let query = GraphQuery::parse(Some("x=1&format=svg&focus=team%2Fchild")).unwrap();
    assert_eq!(query.format, GraphFormat::Svg);
    assert_eq!(query.focus, Some(ObjectRef::new("team", "child")));
    assert_eq!(
        GraphQuery::parse(Some("format=png")),
        Err(BadQuery::Format(UnknownFormat("png".to_owned())))
    );
    assert_eq!(
        GraphQuery::parse(Some("focus=child")),
        Err(BadQuery::Focus("child".to_owned()))
    );
    assert!(GraphQuery::parse(Some("focus=%zz")).is_err());

    let graph = graph();
    let focused = GraphQuery::parse(Some("focus=team/child&format=json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&focused.answer(&graph).unwrap()).unwrap();
    assert_eq!(value["nodes"].as_array().unwrap().len(), 3);
    let absent = GraphQuery::parse(Some("focus=team/absent")).unwrap();
    assert_eq!(absent.answer(&graph), Err(NotInGraph(ObjectRef::new("team", "absent"))));
}
