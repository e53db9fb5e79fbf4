//! Graphviz DOT: IngressRoutes are boxes (roots bold), Services ellipses, Secrets notes
//! and TLSCertificateDelegations folders; the fill says the status (see `fill`), missing
//! objects are dashed, and delegation cycles are red and doubled.

use std::fmt::Write as _;

use super::{CYCLE, EdgeKind, Node, NodeKind, ObjectGraph, fill};

/// A DOT double-quoted string: `"` and `\` escaped, line breaks as `\n` (which DOT
/// shows as a line break), other control characters as `\u{..}` text.
pub(super) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn shape(node: &Node) -> &'static str {
    match node.kind {
        NodeKind::IngressRoute => "box",
        NodeKind::Service => "ellipse",
        NodeKind::Secret => "note",
        NodeKind::CertificateDelegation => "folder",
    }
}

fn style(node: &Node) -> String {
    let mut style = vec!["filled"];
    if node.fqdn.is_some() {
        style.push("bold");
    }
    if node.missing {
        style.push("dashed");
    }
    if node.kind == NodeKind::IngressRoute && node.fqdn.is_none() {
        style.push("rounded");
    }
    style.join(",")
}

pub(super) fn render(graph: &ObjectGraph) -> String {
    let mut out = String::from(
        "digraph ingressroute {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\"];\n",
    );
    for node in graph.nodes() {
        let mut attrs = format!(
            "label={}, shape={}, style={}, fillcolor={}",
            quote(&node.label_lines().join("\n")),
            shape(node),
            quote(&style(node)),
            quote(fill(node))
        );
        if node.in_cycle {
            let _ = write!(attrs, ", color={}, penwidth=2, peripheries=2", quote(CYCLE));
        }
        if let Some((_, description)) = &node.status {
            let _ = write!(attrs, ", tooltip={}", quote(description));
        }
        let _ = writeln!(out, "  {} [{attrs}];", quote(&node.id()));
    }
    for edge in graph.edges() {
        let (Some(from), Some(to)) = (graph.nodes().get(edge.from), graph.nodes().get(edge.to)) else {
            continue;
        };
        let mut attrs = format!("label={}", quote(&edge.label));
        match edge.kind {
            EdgeKind::TcpProxyDelegation | EdgeKind::TcpProxy => attrs.push_str(", style=dashed"),
            EdgeKind::TlsSecret | EdgeKind::CaSecret | EdgeKind::CertificateDelegation => {
                attrs.push_str(", style=dotted");
            }
            EdgeKind::Delegation | EdgeKind::Route => {}
        }
        if edge.in_cycle {
            let _ = write!(
                attrs,
                ", color={}, fontcolor={}, penwidth=2",
                quote(CYCLE),
                quote(CYCLE)
            );
        }
        let _ = writeln!(out, "  {} -> {} [{attrs}];", quote(&from.id()), quote(&to.id()));
    }
    out.push_str("}\n");
    out
}
