//! The changes as text (grouped by virtual host, one line per change and one per field)
//! or as JSON (keys documented in the CLI's README).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::compare::{Change, Effect, Field, Section};
use crate::output::escape_control;

/// A value in one line: strings as they are, the rest as compact JSON, `(none)` for
/// absent.
fn show(value: Option<&Value>) -> String {
    match value {
        None => "(none)".to_owned(),
        Some(Value::String(s)) => escape_control(s).into_owned(),
        Some(other) => escape_control(&other.to_string()).into_owned(),
    }
}

fn field_line(field: &Field) -> String {
    let path = if field.path.is_empty() { "(value)" } else { &field.path };
    format!("{path}: {} -> {}", show(field.old.as_ref()), show(field.new.as_ref()))
}

fn heading(section: &Section) -> String {
    match section {
        Section::Statuses => "IngressRoute statuses".to_owned(),
        Section::VirtualHost(fqdn) => format!("virtual host {}", escape_control(fqdn)),
        Section::Listeners => "listeners".to_owned(),
        Section::Clusters => "clusters and endpoints".to_owned(),
        Section::Secrets => "secrets (by name only)".to_owned(),
    }
}

/// The changes as a readable view: one block per section (statuses, then each virtual
/// host, listeners, clusters, secrets), `+`/`-`/`~` and the effect on each change, the
/// fields that differ below it, and a summary by effect. `no changes` when there is
/// none.
#[must_use]
pub fn text(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no changes\n".to_owned();
    }
    let mut out = String::new();
    let mut section: Option<&Section> = None;
    for change in changes {
        if section != Some(&change.section) {
            if section.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}:", heading(&change.section));
            section = Some(&change.section);
        }
        if change.effect == Effect::Status {
            let pick = |path: &str, old: bool| {
                change
                    .fields
                    .iter()
                    .find(|f| f.path == path)
                    .and_then(|f| if old { f.old.as_ref() } else { f.new.as_ref() })
            };
            let subject = change.subject.trim_start_matches("IngressRoute ");
            let mut line = format!(
                "  {} {}: {} -> {}",
                change.kind.marker(),
                escape_control(subject),
                show(pick("currentStatus", true)),
                show(pick("currentStatus", false))
            );
            if let Some(description) = pick("description", false) {
                let _ = write!(line, ": {}", show(Some(description)));
            }
            let _ = writeln!(out, "{line}");
            continue;
        }
        let _ = writeln!(
            out,
            "  {} {} [{}]",
            change.kind.marker(),
            escape_control(&change.subject),
            change.effect.describe()
        );
        if change.effect == Effect::Secrets && change.kind == super::ChangeKind::Changed {
            out.push_str("      data changed (not shown)\n");
        }
        for field in &change.fields {
            let _ = writeln!(out, "      {}", field_line(field));
        }
    }
    out.push('\n');
    out.push_str(&summary_line(changes));
    out
}

fn counts(changes: &[Change]) -> BTreeMap<Effect, usize> {
    let mut counts = BTreeMap::new();
    for change in changes {
        *counts.entry(change.effect).or_insert(0) += 1;
    }
    counts
}

fn summary_line(changes: &[Change]) -> String {
    let parts: Vec<String> = counts(changes)
        .into_iter()
        .map(|(effect, n)| format!("{n} {}", effect.describe()))
        .collect();
    let noun = if changes.len() == 1 { "change" } else { "changes" };
    format!("{} {noun}: {}\n", changes.len(), parts.join("; "))
}

/// The changes as JSON: `changes` (each with `effect`, `section`, `virtualHost`,
/// `subject`, `change` and `fields` of `path`, `old`, `new`), `summary` (a count per
/// effect) and `drainsListeners`.
#[must_use]
pub fn json(changes: &[Change]) -> String {
    let items: Vec<Value> = changes
        .iter()
        .map(|change| {
            let (section, host) = match &change.section {
                Section::Statuses => ("statuses", None),
                Section::VirtualHost(fqdn) => ("virtualHost", Some(fqdn.as_str())),
                Section::Listeners => ("listeners", None),
                Section::Clusters => ("clusters", None),
                Section::Secrets => ("secrets", None),
            };
            let fields: Vec<Value> = change
                .fields
                .iter()
                .map(|f| json!({"path": f.path, "old": f.old, "new": f.new}))
                .collect();
            json!({
                "effect": change.effect.as_str(),
                "section": section,
                "virtualHost": host,
                "subject": change.subject,
                "change": change.kind.as_str(),
                "fields": fields,
            })
        })
        .collect();
    let summary: serde_json::Map<String, Value> = counts(changes)
        .into_iter()
        .map(|(effect, n)| (effect.as_str().to_owned(), Value::from(n)))
        .collect();
    let value = json!({
        "changes": items,
        "summary": summary,
        "drainsListeners": changes.iter().any(|c| c.effect == Effect::Listeners),
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}
