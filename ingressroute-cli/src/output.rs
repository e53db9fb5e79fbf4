//! Rendering statuses as a table, JSON or YAML, and the lines `check` and `render`
//! print on standard error.
//!
//! Pure functions from [`Item`]s to text; what is printed where is decided by the
//! caller. The JSON and YAML shapes are a contract relied on by tooling:
//!
//! ```text
//! {"items": [{"apiVersion": "contour.heptio.com/v1beta1", "kind": "IngressRoute",
//!             "namespace": "default", "name": "basic",
//!             "status": {"currentStatus": "valid", "description": "valid IngressRoute"},
//!             "fqdn": "basic.example.com",
//!             "rejections": [{"field": "spec.routes[0].services[0].weight",
//!                             "message": "must be >= 0"}]}]}
//! ```
//!
//! with keys in exactly that order (`fqdn` is `null` for an IngressRoute that is not a
//! root, `rejections` lists what the API server would refuse at creation time and is
//! empty when it would accept the object), and the table looks like `kubectl get`.
//!
//! Nothing here panics, whatever the strings: table cells of any length are padded by
//! hand (`format!`'s width argument is limited to `u16`), and control characters in
//! cells and in [`stderr_line`]s are escaped, so one item or one message is one line.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use ingressroute_api::API_VERSION;
use serde::{Deserialize, Serialize};
use unicode_width::UnicodeWidthChar as _;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The object's own `spec.virtualhost.fqdn`; `None` for IngressRoutes that are not
    /// roots (no `virtualhost`).
    pub fqdn: Option<String>,
    /// What the API server would reject about the object when it is created (the CRD
    /// schema), so that tools need not read standard error; empty when it would accept
    /// it.
    pub rejections: Vec<Rejection>,
}

impl Item {
    /// An IngressRoute's item, without rejections (see [`Item::with_rejections`]).
    #[must_use]
    pub fn ingress_route(
        namespace: &str,
        name: &str,
        fqdn: Option<&str>,
        current_status: &str,
        description: &str,
    ) -> Self {
        Self {
            api_version: API_VERSION.to_owned(),
            kind: "IngressRoute".to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            status: ItemStatus {
                current_status: current_status.to_owned(),
                description: description.to_owned(),
            },
            fqdn: fqdn.map(str::to_owned),
            rejections: Vec::new(),
        }
    }

    /// The same item with these creation-time rejections.
    #[must_use]
    pub fn with_rejections(mut self, rejections: Vec<Rejection>) -> Self {
        self.rejections = rejections;
        self
    }
}

/// `status` of an [`Item`], as the IngressRoute's `status` field would be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatus {
    /// `valid`, `invalid` or `orphaned`.
    pub current_status: String,
    /// The status description.
    pub description: String,
}

/// Something the API server would reject when the object is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The path of the offending field in the object, e.g.
    /// `spec.routes[0].services[0].weight`; empty for the object itself.
    pub field: String,
    /// What is wrong, e.g. `must be >= 0`.
    pub message: String,
}

/// `{"items": [...]}`: what [`json`] and [`yaml`] write, and what reads them back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Items {
    /// The items, in the order they were given.
    pub items: Vec<Item>,
}

#[derive(Serialize)]
struct ItemsRef<'a> {
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
    let mut text = serde_json::to_string_pretty(&ItemsRef { items }).map_err(Error::Json)?;
    text.push('\n');
    Ok(text)
}

/// The same structure as [`json`], as YAML.
///
/// # Errors
///
/// [`Error::Yaml`] if serialisation fails.
pub fn yaml(items: &[Item]) -> Result<String> {
    serde_saphyr::to_string(&ItemsRef { items }).map_err(Error::Yaml)
}

const HEADERS: [&str; 5] = ["NAMESPACE", "NAME", "FQDN", "STATUS", "DESCRIPTION"];

/// Space between columns, as `kubectl get` pads them.
const PADDING: usize = 3;

/// A `kubectl get`-style table: left-aligned columns NAMESPACE, NAME, FQDN, STATUS and
/// DESCRIPTION, each as wide as its widest cell plus three spaces, the last one not
/// padded. Empty when there are no items.
///
/// Widths are terminal columns, character by character as `wcwidth` counts them
/// ([`unicode_width`]): a CJK character or an emoji takes two, a combining mark none. Control characters are escaped (see [`escape_control`]),
/// so every item is one line whatever its strings.
#[must_use]
pub fn table(items: &[Item]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let rows: Vec<[Cow<'_, str>; 5]> = std::iter::once(HEADERS.map(Cow::Borrowed))
        .chain(items.iter().map(|item| {
            [
                item.namespace.as_str(),
                item.name.as_str(),
                item.fqdn.as_deref().unwrap_or_default(),
                item.status.current_status.as_str(),
                item.status.description.as_str(),
            ]
            .map(escape_control)
        }))
        .collect();
    let mut widths = [0_usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(columns(cell));
        }
    }
    let mut out = String::new();
    for row in &rows {
        let start = out.len();
        let last = row.len().saturating_sub(1);
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            out.push_str(cell);
            if i != last {
                // By hand: `{:<width$}` panics on widths over `u16::MAX`.
                let fill = (width + PADDING).saturating_sub(columns(cell));
                out.extend(std::iter::repeat_n(' ', fill));
            }
        }
        // Only the padding: the last cell's own white space is kept.
        let end = start + out[start..].trim_end_matches(' ').len();
        out.truncate(end);
        out.push('\n');
    }
    out
}

/// The terminal columns `text` takes, the sum of its characters' (as `wcswidth`
/// counts; terminals differ on emoji sequences, and most count this way).
fn columns(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `text` with every control character (`\n`, `\t`, ESC, DEL, C1 controls, ...) escaped
/// as Rust does (`\n`, `\t`, `\u{1b}`), so that it stays on one line and cannot drive
/// the terminal; borrowed when there is nothing to escape.
#[must_use]
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(escaped, "{}", c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// How serious a line on standard error is: its first word, as `kubectl` and `cargo`
/// write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// Something could not be read, or would be refused: the command fails.
    Error,
    /// Worth knowing; the exit code does not change.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line for standard error, without its newline: `error: ` or `warning: ` and
/// `message` with control characters escaped (see [`escape_control`]), so that a name
/// or a message from a manifest can neither break the line nor drive the terminal.
#[must_use]
pub fn stderr_line(severity: Severity, message: &dyn fmt::Display) -> String {
    format!("{severity}: {}", escape_control(&message.to_string()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn items() -> Vec<Item> {
        vec![
            Item::ingress_route(
                "default",
                "basic",
                Some("foo-basic.bar.com"),
                "valid",
                "valid IngressRoute",
            ),
            Item::ingress_route(
                "marketing",
                "child",
                None,
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
      },
      "fqdn": "foo-basic.bar.com",
      "rejections": []
    }
  ]
}
"#
        );
    }

    #[test]
    fn json_carries_a_null_fqdn_and_the_rejections() {
        let item = items()[1].clone().with_rejections(vec![Rejection {
            field: "spec.routes[0].services[0].weight".into(),
            message: "must be >= 0".into(),
        }]);
        let value: serde_json::Value = serde_json::from_str(&json(&[item]).unwrap()).unwrap();
        assert_eq!(value["items"][0]["fqdn"], serde_json::Value::Null);
        assert_eq!(
            value["items"][0]["rejections"],
            serde_json::json!([{"field": "spec.routes[0].services[0].weight", "message": "must be >= 0"}])
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
            "items:\n- apiVersion: contour.heptio.com/v1beta1\n  kind: IngressRoute\n  namespace: default\n  name: basic\n  status:\n    currentStatus: valid\n    description: valid IngressRoute\n  fqdn: foo-basic.bar.com\n  rejections: []\n"
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
        let item = Item::ingress_route("default", "a\nb", None, "valid", "x\ty\u{1b}[2J");
        let text = table(&[item]);
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("a\\nb"), "{text}");
        assert!(text.contains("x\\ty\\u{1b}[2J"), "{text}");
    }

    #[test]
    fn columns_are_as_wide_as_the_terminal_shows_them() {
        // `é` is one column, each CJK character two, `e` + a combining acute one.
        let item = Item::ingress_route("défault", "名前", Some("e\u{301}"), "valid", "d");
        assert_eq!(
            table(&[item]),
            "NAMESPACE   NAME   FQDN   STATUS   DESCRIPTION\ndéfault     名前   e\u{301}      valid    d\n"
        );
    }

    #[test]
    fn a_cell_wider_than_u16_does_not_panic() {
        // `{:<width$}` panics ("Formatting argument out of range") past 65,535.
        let long = "x".repeat(70_000);
        let item = Item::ingress_route(&long, "name", None, "valid", "d");
        let text = table(&[item]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].find("NAME "), Some(70_003));
        assert_eq!(lines[1].find("name"), Some(70_003));
    }

    #[test]
    fn stderr_lines_start_with_their_severity_and_escape_control_characters() {
        assert_eq!(
            stderr_line(Severity::Error, &"a.yaml: IngressRoute default/x\ny\u{1b}]0;"),
            "error: a.yaml: IngressRoute default/x\\ny\\u{1b}]0;"
        );
        assert_eq!(stderr_line(Severity::Warning, &"plain"), "warning: plain");
    }

    /// Any character, with control characters, wide characters (CJK, emoji) and
    /// combining marks made likely.
    fn any_char() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => any::<char>(),
            2 => prop::char::range('\u{0}', '\u{9f}'),
            1 => prop::char::range('\u{4e00}', '\u{9fff}'),
            1 => prop::char::range('\u{1f300}', '\u{1faff}'),
            1 => prop::char::range('\u{300}', '\u{36f}'),
            1 => Just('\u{200d}'),
            1 => Just('\u{fe0f}'),
            1 => Just(' '),
        ]
    }

    /// A string of up to 64 such characters, or a piece of them repeated up to 1 MB.
    fn any_string() -> impl Strategy<Value = String> {
        let short = || prop::collection::vec(any_char(), 0..64).prop_map(String::from_iter);
        prop_oneof![
            8 => short(),
            1 => (short(), 1..1_000_000_usize).prop_map(|(piece, bytes)| {
                let times = bytes / piece.len().max(1);
                piece.repeat(times.max(1))
            }),
        ]
    }

    fn any_item() -> impl Strategy<Value = Item> {
        (
            [any_string(), any_string(), any_string(), any_string()],
            prop::option::of(any_string()),
            prop::collection::vec((any_string(), any_string()), 0..3),
        )
            .prop_map(|([namespace, name, status, description], fqdn, rejections)| {
                Item::ingress_route(&namespace, &name, fqdn.as_deref(), &status, &description).with_rejections(
                    rejections
                        .into_iter()
                        .map(|(field, message)| Rejection { field, message })
                        .collect(),
                )
            })
    }

    /// The terminal column at which each header starts.
    fn header_columns(header: &str) -> Vec<usize> {
        let mut from = 0;
        HEADERS
            .iter()
            .map(|title| {
                let byte = from + header[from..].find(title).unwrap();
                from = byte + title.len();
                columns(&header[..byte])
            })
            .collect()
    }

    /// The byte offset of terminal column `column` in `line`, if a character starts there.
    fn byte_at_column(line: &str, column: usize) -> Option<usize> {
        let mut width = 0;
        for (byte, c) in line.char_indices() {
            if width == column {
                return Some(byte);
            }
            width += c.width().unwrap_or(0);
        }
        (width == column).then_some(line.len())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn json_and_yaml_read_back_as_the_same_items(items in prop::collection::vec(any_item(), 0..4)) {
            let text = json(&items).unwrap();
            let back: Items = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&back.items, &items);
            let text = yaml(&items).unwrap();
            let back: Items = serde_saphyr::from_str(&text).unwrap();
            prop_assert_eq!(&back.items, &items);
        }

        #[test]
        fn every_table_line_is_one_item_with_aligned_columns(items in prop::collection::vec(any_item(), 1..4)) {
            let text = table(&items);
            prop_assert!(text.ends_with('\n'));
            let lines: Vec<&str> = text.split_terminator('\n').collect();
            prop_assert!(lines.iter().all(|line| !line.chars().any(char::is_control)));
            prop_assert_eq!(lines.len(), items.len() + 1);
            let columns = header_columns(lines[0]);
            for (line, item) in lines[1..].iter().zip(&items) {
                let cells = [
                    item.namespace.as_str(),
                    item.name.as_str(),
                    item.fqdn.as_deref().unwrap_or_default(),
                    item.status.current_status.as_str(),
                    item.status.description.as_str(),
                ];
                for (i, (cell, column)) in cells.iter().zip(&columns).enumerate() {
                    let cell = escape_control(cell);
                    let byte = byte_at_column(line, *column);
                    // Trailing padding is trimmed: a line may end before an empty cell.
                    let Some(byte) = byte else {
                        prop_assert!(cells[i..].iter().all(|c| c.trim_end_matches(' ').is_empty()), "{}", line);
                        break;
                    };
                    let rest = &line[byte..];
                    let expected = if cells[i + 1..].iter().all(|c| c.trim_end_matches(' ').is_empty()) {
                        cell.trim_end_matches(' ')
                    } else {
                        &cell
                    };
                    prop_assert!(rest.starts_with(expected), "cell {} is not at column {}", i, column);
                    if i > 0 {
                        prop_assert!(line[..byte].ends_with("   "), "no padding before cell {}", i);
                    }
                }
            }
        }
    }
}
