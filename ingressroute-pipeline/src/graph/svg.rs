//! A laid-out SVG picture, drawn by [layout-rs](https://crates.io/crates/layout-rs) (a
//! Sugiyama layout in pure Rust) so that no Graphviz install is needed. Every node is a
//! group `<g data-id="Kind/namespace/name">` holding its shape and label; the colours are
//! those of the DOT output.

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

use super::{CYCLE, EdgeKind, Node, NodeKind, ObjectGraph, fill};

const FONT_SIZE: usize = 14;

/// `#rrggbb` as layout-rs's colour (opaque).
fn color(hex: &str) -> Color {
    let rgb = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
    Color::new((rgb << 8) | 0xff)
}

/// An XML attribute value: the five special characters escaped, control characters
/// dropped (layout-rs writes properties into the tag as they are).
fn attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Label text: control characters dropped (layout-rs escapes the rest).
fn text(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.chars().filter(|c| !c.is_control()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn element(node: &Node) -> Element {
    let label = text(&node.label_lines());
    let shape = match node.kind {
        NodeKind::Service => ShapeKind::new_circle(&label),
        _ => ShapeKind::new_box(&label),
    };
    let line = if node.in_cycle { color(CYCLE) } else { color("#555555") };
    let width = if node.in_cycle || node.fqdn.is_some() { 3 } else { 1 };
    let rounded = if node.kind == NodeKind::IngressRoute && node.fqdn.is_none() {
        12
    } else {
        0
    };
    let look = StyleAttr::new(line, width, Some(color(fill(node))), rounded, FONT_SIZE);
    let size = get_shape_size(Orientation::LeftToRight, &shape, FONT_SIZE, false);
    let properties = format!(
        "data-id=\"{}\" class=\"{}\"",
        attribute(&node.id()),
        attribute(node.kind.as_str())
    );
    Element::create_with_properties(shape, look, Orientation::LeftToRight, size, properties)
}

pub(super) fn render(graph: &ObjectGraph) -> String {
    let mut visual = VisualGraph::new(Orientation::LeftToRight);
    let handles: Vec<_> = graph.nodes().iter().map(|n| visual.add_node(element(n))).collect();
    for edge in graph.edges() {
        let (Some(from), Some(to)) = (handles.get(edge.from), handles.get(edge.to)) else {
            continue;
        };
        let style = match edge.kind {
            EdgeKind::Delegation | EdgeKind::Route => LineStyleKind::Normal,
            _ => LineStyleKind::Dashed,
        };
        let line = if edge.in_cycle { color(CYCLE) } else { color("#333333") };
        let look = StyleAttr::new(line, if edge.in_cycle { 3 } else { 1 }, None, 0, FONT_SIZE);
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            style,
            &text(std::slice::from_ref(&edge.label)),
            &look,
            &None,
            &None,
        );
        visual.add_edge(arrow, *from, *to);
    }
    let mut writer = SVGWriter::new();
    if graph.nodes().is_empty() {
        // layout-rs needs a node to lay out; an empty picture is an empty `<svg>`.
        return "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg width=\"0\" height=\"0\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\n".to_owned();
    }
    visual.do_it(false, false, false, &mut writer);
    let mut out = writer.finalize();
    out.push('\n');
    out
}
