//! A Mermaid flowchart (GitHub renders it in Markdown): nodes `n0`, `n1`, ... with
//! quoted labels, one class per status, tcpproxy references dashed, delegation cycles in
//! red.

use std::fmt::Write as _;

use super::{CYCLE, EdgeKind, Node, NodeKind, ObjectGraph, fill};

/// Text inside a Mermaid `"..."` label: `"`, `#`, `<`, `>` and `&` as Mermaid's entity
/// codes (so nothing is read as markup), control characters dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The class of a node, one of the `classDef`s.
fn class(node: &Node) -> &'static str {
    match (node.current_status(), node.missing) {
        (_, true) => "missing",
        (Some(ingressroute_dag::CurrentStatus::Valid), _) => "valid",
        (Some(ingressroute_dag::CurrentStatus::Invalid), _) => "invalid",
        (Some(ingressroute_dag::CurrentStatus::Orphaned), _) => "orphaned",
        _ => "object",
    }
}

/// The opening and closing brackets of a node's shape.
fn brackets(node: &Node) -> (&'static str, &'static str) {
    match node.kind {
        NodeKind::IngressRoute if node.fqdn.is_some() => ("[", "]"),
        NodeKind::IngressRoute => ("(", ")"),
        NodeKind::Service => ("([", "])"),
        NodeKind::Secret => ("[/", "/]"),
        NodeKind::CertificateDelegation => ("[[", "]]"),
    }
}

pub(super) fn render(graph: &ObjectGraph) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, node) in graph.nodes().iter().enumerate() {
        let label = node
            .label_lines()
            .iter()
            .map(|l| escape(l))
            .collect::<Vec<_>>()
            .join("<br/>");
        let (open, close) = brackets(node);
        let _ = writeln!(out, "  n{i}{open}\"{label}\"{close}:::{}", class(node));
    }
    let mut cycle_edges = Vec::new();
    for (i, edge) in graph.edges().iter().enumerate() {
        let arrow = match edge.kind {
            EdgeKind::TcpProxyDelegation | EdgeKind::TcpProxy => "-.->",
            EdgeKind::TlsSecret | EdgeKind::CaSecret | EdgeKind::CertificateDelegation => "-.->",
            EdgeKind::Delegation | EdgeKind::Route => "-->",
        };
        let _ = writeln!(
            out,
            "  n{} {arrow}|\"{}\"| n{}",
            edge.from,
            escape(&edge.label),
            edge.to
        );
        if edge.in_cycle {
            cycle_edges.push(i.to_string());
        }
    }
    // One class per fill of `fill`, in the order of its cases.
    let mut classes: Vec<(&str, &str)> = Vec::new();
    for node in graph.nodes() {
        if !classes.iter().any(|(c, _)| *c == class(node)) {
            classes.push((class(node), fill(node)));
        }
    }
    classes.sort_unstable();
    for (class, fill_of) in classes {
        let dashed = if class == "missing" || class == "orphaned" {
            ",stroke-dasharray:5 5"
        } else {
            ""
        };
        let _ = writeln!(out, "  classDef {class} fill:{fill_of},stroke:#555{dashed}");
    }
    let cyclic: Vec<String> = graph
        .nodes()
        .iter()
        .enumerate()
        .filter(|(_, n)| n.in_cycle)
        .map(|(i, _)| format!("n{i}"))
        .collect();
    // `style` takes one node at a time.
    for id in &cyclic {
        let _ = writeln!(out, "  style {id} stroke:{CYCLE},stroke-width:3px");
    }
    if !cycle_edges.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:{CYCLE},stroke-width:3px",
            cycle_edges.join(",")
        );
    }
    out
}
