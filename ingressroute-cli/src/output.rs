//! Rendering statuses as a table, JSON or YAML.
//!
//! Pure functions from [`Item`]s to text; what is printed where is decided by the
//! caller. The JSON and YAML shapes are a contract relied on by tooling:
//!
//! ```text
//! {"items": [{"apiVersion": "contour.heptio.com/v1beta1", "kind": "IngressRoute",
//!             "namespace": "default", "name": "basic",
//!             "status": {"currentStatus": "valid", "description": "valid IngressRoute"}}]}
//! ```
//!
//! with keys in exactly that order, and the table looks like `kubectl get`.

use std::fmt::Write as _;

use ingressroute_api::API_VERSION;
use serde::Serialize;

/// How `check` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum Format {
    /// Columns NAMESPACE, NAME, FQDN, STATUS and DESCRIPTION, like `kubectl get`.
    #[default]
    Table,
    /// `{"items": [...]}`, pretty-printed.
    Json,
    /// The same structure as JSON, as YAML.
    Yaml,
}

/// Why a result could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Serialising to JSON failed.
    #[error("cannot render JSON")]
    Json(#[source] serde_json::Error),
    /// Serialising to YAML failed.
    #[error("cannot render YAML")]
    Yaml(#[source] serde_saphyr::SerializeError),
}

/// The result of rendering.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The status of one IngressRoute, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// Always `contour.heptio.com/v1beta1`.
    pub api_version: String,
    /// Always `IngressRoute`.
    pub kind: String,
    /// The namespace (`default` for objects without one).
    pub namespace: String,
    /// The name.
    pub name: String,
    /// The computed status.
    pub status: ItemStatus,
    /// The object's own `spec.virtualhost.fqdn`; empty for IngressRoutes that are not
    /// roots. Shown in the table only.
    #[serde(skip)]
    pub fqdn: String,
}

impl Item {
    /// An IngressRoute's item.
    #[must_use]
    pub fn ingress_route(namespace: &str, name: &str, fqdn: &str, current_status: &str, description: &str) -> Self {
        Self {
            api_version: API_VERSION.to_owned(),
            kind: "IngressRoute".to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            status: ItemStatus {
                current_status: current_status.to_owned(),
                description: description.to_owned(),
            },
            fqdn: fqdn.to_owned(),
        }
    }
}

/// `status` of an [`Item`], as the IngressRoute's `status` field would be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatus {
    /// `valid`, `invalid` or `orphaned`.
    pub current_status: String,
    /// The status description.
    pub description: String,
}

#[derive(Serialize)]
struct Items<'a> {
    items: &'a [Item],
}

/// Renders `items` in `format`; the text ends with a newline unless it is empty (a table
/// without items is empty, as `kubectl get` prints nothing on standard output then).
///
/// # Errors
///
/// [`Error::Json`] or [`Error::Yaml`] if serialisation fails, which plain strings never
/// make it do.
pub fn render(format: Format, items: &[Item]) -> Result<String> {
    match format {
        Format::Table => Ok(table(items)),
        Format::Json => json(items),
        Format::Yaml => yaml(items),
    }
}

/// `{"items": [...]}`, pretty-printed with two-space indentation and a final newline.
///
/// # Errors
///
/// [`Error::Json`] if serialisation fails.
pub fn json(items: &[Item]) -> Result<String> {
    let mut text = serde_json::to_string_pretty(&Items { items }).map_err(Error::Json)?;
    text.push('\n');
    Ok(text)
}

/// The same structure as [`json`], as YAML.
///
/// # Errors
///
/// [`Error::Yaml`] if serialisation fails.
pub fn yaml(items: &[Item]) -> Result<String> {
    serde_saphyr::to_string(&Items { items }).map_err(Error::Yaml)
}

const HEADERS: [&str; 5] = ["NAMESPACE", "NAME", "FQDN", "STATUS", "DESCRIPTION"];

/// Space between columns, as `kubectl get` pads them.
const PADDING: usize = 3;

/// A `kubectl get`-style table: left-aligned columns NAMESPACE, NAME, FQDN, STATUS and
/// DESCRIPTION, each as wide as its widest cell plus three spaces, the last one not
/// padded. Empty when there are no items.
#[must_use]
pub fn table(items: &[Item]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let rows: Vec<[String; 5]> = std::iter::once(HEADERS.map(str::to_owned))
        .chain(items.iter().map(|item| {
            [
                &item.namespace,
                &item.name,
                &item.fqdn,
                &item.status.current_status,
                &item.status.description,
            ]
            .map(|cell| printable(cell))
        }))
        .collect();
    let mut widths = [0_usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        let last = row.len().saturating_sub(1);
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}", w = width + PADDING);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A cell with control characters escaped, so that one item stays on one line.
fn printable(cell: &str) -> String {
    if cell.chars().any(char::is_control) {
        cell.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Item> {
        vec![
            Item::ingress_route("default", "basic", "foo-basic.bar.com", "valid", "valid IngressRoute"),
            Item::ingress_route(
                "marketing",
                "child",
                "",
                "orphaned",
                "this IngressRoute is not part of a delegation chain from a root IngressRoute",
            ),
        ]
    }

    #[test]
    fn json_has_the_contract_shape_and_key_order() {
        let text = json(&items()[..1]).unwrap();
        assert_eq!(
            text,
            r#"{
  "items": [
    {
      "apiVersion": "contour.heptio.com/v1beta1",
      "kind": "IngressRoute",
      "namespace": "default",
      "name": "basic",
      "status": {
        "currentStatus": "valid",
        "description": "valid IngressRoute"
      }
    }
  ]
}
"#
        );
    }

    #[test]
    fn json_without_items_is_an_empty_list() {
        assert_eq!(json(&[]).unwrap(), "{\n  \"items\": []\n}\n");
    }

    #[test]
    fn yaml_has_the_same_structure() {
        let text = yaml(&items()[..1]).unwrap();
        assert_eq!(
            text,
            "items:\n- apiVersion: contour.heptio.com/v1beta1\n  kind: IngressRoute\n  namespace: default\n  name: basic\n  status:\n    currentStatus: valid\n    description: valid IngressRoute\n"
        );
        assert_eq!(yaml(&[]).unwrap(), "items: []\n");
    }

    #[test]
    fn the_table_pads_columns_like_kubectl() {
        assert_eq!(
            table(&items()),
            "\
NAMESPACE   NAME    FQDN                STATUS     DESCRIPTION
default     basic   foo-basic.bar.com   valid      valid IngressRoute
marketing   child                       orphaned   this IngressRoute is not part of a delegation chain from a root IngressRoute
"
        );
    }

    #[test]
    fn an_empty_table_prints_nothing() {
        assert_eq!(table(&[]), "");
        assert_eq!(render(Format::Table, &[]).unwrap(), "");
    }

    #[test]
    fn table_cells_stay_on_one_line() {
        let item = Item::ingress_route("default", "a\nb", "", "valid", "x\ty");
        let text = table(&[item]);
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("a\\nb"), "{text}");
        assert!(text.contains("x\\ty"), "{text}");
    }

    #[test]
    fn wide_characters_count_once() {
        let item = Item::ingress_route("défault", "é", "", "valid", "d");
        assert_eq!(
            table(&[item]),
            "NAMESPACE   NAME   FQDN   STATUS   DESCRIPTION\ndéfault     é             valid    d\n"
        );
    }
}
