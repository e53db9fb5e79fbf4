//! `{"nodes": [...], "edges": [...]}`: the graph as data, keys documented in the CLI's
//! README (`ingressroute graph -o json`).

use serde_json::{Value, json};

use super::ObjectGraph;

pub(super) fn value(graph: &ObjectGraph) -> Value {
    let nodes: Vec<Value> = graph
        .nodes()
        .iter()
        .map(|node| {
            json!({
                "id": node.id(),
                "kind": node.kind.as_str(),
                "namespace": node.object.namespace,
                "name": node.object.name,
                "status": node.status.as_ref().map(|(status, _)| status.as_str()),
                "description": node.status.as_ref().map(|(_, description)| description),
                "fqdn": node.fqdn,
                "missing": node.missing,
                "inCycle": node.in_cycle,
            })
        })
        .collect();
    let edges: Vec<Value> = graph
        .edges()
        .iter()
        .filter_map(|edge| {
            Some(json!({
                "from": graph.nodes().get(edge.from)?.id(),
                "to": graph.nodes().get(edge.to)?.id(),
                "kind": edge.kind.as_str(),
                "label": edge.label,
                "inCycle": edge.in_cycle,
            }))
        })
        .collect();
    json!({ "nodes": nodes, "edges": edges })
}

pub(super) fn render(graph: &ObjectGraph) -> String {
    // A `Value` always serialises.
    let mut text = serde_json::to_string_pretty(&value(graph)).unwrap_or_default();
    text.push('\n');
    text
}
