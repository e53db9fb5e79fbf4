//! `ingressroute graph`, run as a binary: on the bundled examples and on a generated
//! world, every object is a node in every format, and the SVG is XML with a group per
//! node.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{run, run_in, scratch};
use ingressroute_fixtures::{Dataset, Size};

/// The ids of the nodes of `graph -o json`.
fn json_ids(args: &[&str]) -> BTreeSet<String> {
    let mut full = vec!["graph", "-o", "json"];
    full.extend_from_slice(args);
    let run = run(&full);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The `data-id` of every group of an SVG document, parsed as XML.
fn svg_ids(svg: &str) -> Vec<String> {
    let document = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("the SVG is not XML: {e}\n{svg}"));
    assert_eq!(document.root_element().tag_name().name(), "svg");
    document
        .descendants()
        .filter(|n| n.has_tag_name("g"))
        .filter_map(|n| n.attribute("data-id").map(str::to_owned))
        .collect()
}

/// The IngressRoutes `check` reports, as graph ids.
fn checked_ids(args: &[&str]) -> BTreeSet<String> {
    let mut full = vec!["check", "-o", "json"];
    full.extend_from_slice(args);
    run(&full)
        .statuses()
        .into_iter()
        .map(|(object, _, _)| format!("IngressRoute/{object}"))
        .collect()
}

#[test]
fn every_example_object_is_one_node_of_the_svg_and_of_every_format() {
    for dir in ["examples/ingressroute", "examples/invalid"] {
        let ids = json_ids(&[dir]);
        let routes = checked_ids(&[dir]);
        assert!(
            routes.is_subset(&ids),
            "{dir}: {:?}",
            routes.difference(&ids).collect::<Vec<_>>()
        );
        assert!(ids.iter().any(|id| id.starts_with("Service/")));

        let svg = run(&["graph", "-o", "svg", dir]);
        assert_eq!(svg.code, 0, "{}", svg.stderr);
        let drawn = svg_ids(&svg.stdout);
        assert_eq!(drawn.len(), ids.len(), "one group per node in {dir}");
        assert_eq!(drawn.into_iter().collect::<BTreeSet<_>>(), ids, "{dir}");

        let dot = run(&["graph", dir]);
        let mermaid = run(&["graph", "-o", "mermaid", dir]);
        for id in &ids {
            assert!(
                dot.stdout.contains(&format!("\"{id}\" [label=")),
                "{id} in the DOT of {dir}"
            );
        }
        assert_eq!(
            mermaid.stdout.lines().filter(|l| l.contains(":::")).count(),
            ids.len(),
            "{dir}"
        );
    }
}

#[test]
fn the_invalid_examples_show_their_cycle_and_their_orphans() {
    let run = run(&["graph", "-o", "json", "examples/invalid"]);
    let json = run.json();
    let nodes = json["nodes"].as_array().unwrap();
    let node = |id: &str| {
        nodes
            .iter()
            .find(|n| n["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"))
    };
    assert_eq!(node("IngressRoute/default/orphaned-child")["status"], "orphaned");
    assert_eq!(node("IngressRoute/default/cycle-child")["inCycle"], true);
    assert!(
        json["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["inCycle"] == true && e["kind"] == "delegation")
    );
}

#[test]
fn focus_draws_one_tree_and_an_unknown_focus_fails() {
    let ids = json_ids(&["--focus", "marketing/blog-archive", "examples/ingressroute"]);
    assert_eq!(
        ids,
        BTreeSet::from(
            [
                "IngressRoute/default/namespace-delegation-root",
                "IngressRoute/marketing/blog",
                "IngressRoute/marketing/blog-archive",
                "Service/marketing/archive",
            ]
            .map(String::from)
        )
    );
    let unknown = run(&["graph", "--focus", "nowhere/none", "examples/ingressroute"]);
    assert_eq!(unknown.code, 2);
    assert_eq!(unknown.stdout, "");
    assert_eq!(unknown.stderr, "error: no object nowhere/none in the graph\n");
}

#[test]
fn unreadable_input_prints_no_graph() {
    let run = run(&["graph", "examples/does-not-exist.yaml"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .ends_with("error: no graph: some input cannot be read or parsed\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_generated_world_is_a_node_per_object_in_the_svg() {
    let data = Dataset::generate(Size::S);
    let dir = scratch("graph-generated");
    let mut text = String::new();
    for route in &data.ingress_routes {
        text.push_str(&serde_json::to_string(route).unwrap());
    }
    for service in &data.services {
        text.push_str(&serde_json::to_string(service).unwrap());
    }
    for secret in &data.secrets {
        text.push_str(&serde_json::to_string(secret).unwrap());
    }
    std::fs::write(dir.join("world.json"), text).unwrap();
    let run = run_in(&dir, &["graph", "-o", "svg", "world.json"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let drawn: BTreeSet<String> = svg_ids(&run.stdout).into_iter().collect();
    let mut expected: BTreeSet<String> = data
        .ingress_routes
        .iter()
        .map(|r| {
            format!(
                "IngressRoute/{}/{}",
                r.metadata.namespace.as_deref().unwrap(),
                r.metadata.name.as_deref().unwrap()
            )
        })
        .collect();
    expected.extend(data.services.iter().map(|s| {
        format!(
            "Service/{}/{}",
            s.metadata.namespace.as_deref().unwrap(),
            s.metadata.name.as_deref().unwrap()
        )
    }));
    // Every IngressRoute and Service (the TLS Secrets too, through the roots that use
    // them) is drawn.
    assert!(
        expected.is_subset(&drawn),
        "{:?}",
        expected.difference(&drawn).take(5).collect::<Vec<_>>()
    );
    assert!(drawn.iter().any(|id| id.starts_with("Secret/")));
}
