//! The comparison itself: two [`Side`]s in, the [`Change`]s out, with no I/O.
//!
//! Resources are matched by what they mean, never by position or by a name that only
//! encodes a position: virtual hosts by fqdn and listener (`http` or `https`, whatever
//! route configuration bucket holds them), routes by their `match`, filter chains by
//! their server names, clusters by name (a cluster whose settings changed, and so its
//! name's hash, is one changed cluster), endpoints by address, Secrets by
//! `namespace/name`. Values are compared as JSON trees, so key order and formatting
//! never count; what is left is a change Envoy would see.
//!
//! Why one file of this length: each kind of resource is matched and compared by the same
//! few helpers (keyed maps, JSON field paths, the effect of a change), and splitting them by
//! resource would spread one rule over several files.

use std::collections::{BTreeMap, BTreeSet};

use ingressroute_dag::{CurrentStatus, ObjectRef};
use ingressroute_envoy::json::TypedResources;
use serde_json::Value;

/// One build, as `diff` compares it: the Envoy resources (private keys included, never
/// printed) and every IngressRoute's status.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Side {
    /// The resources, as `render` prints them (with `--show-secrets`).
    pub resources: TypedResources,
    /// The status and description of every IngressRoute of the served class.
    pub statuses: BTreeMap<ObjectRef, (CurrentStatus, String)>,
}

/// What a change does to running traffic, from none to the most disruptive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Effect {
    /// An IngressRoute's status: nothing changes for traffic by itself.
    Status,
    /// Route configurations (RDS): applied in place, connections kept.
    Routes,
    /// Secrets (SDS): applied in place; new TLS handshakes use the new certificate.
    Secrets,
    /// Clusters or their endpoints (CDS, EDS): a changed cluster is warmed and replaced,
    /// its connection pools drained.
    Clusters,
    /// Listeners or filter chains (LDS): Envoy drains the connections of what changed.
    Listeners,
}

impl Effect {
    /// `status`, `routes`, `secrets`, `clusters` or `listeners`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Routes => "routes",
            Self::Secrets => "secrets",
            Self::Clusters => "clusters",
            Self::Listeners => "listeners",
        }
    }

    /// How the human output names it.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Status => "status only",
            Self::Routes => "routes, applied in place",
            Self::Secrets => "secrets, applied in place",
            Self::Clusters => "clusters/endpoints",
            Self::Listeners => "listeners: Envoy drains existing connections",
        }
    }
}

/// Whether something appeared, disappeared or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ChangeKind {
    /// Only in NEW.
    Added,
    /// Only in OLD.
    Removed,
    /// In both, different.
    Changed,
}

impl ChangeKind {
    /// `added`, `removed` or `changed`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
        }
    }

    /// `+`, `-` or `~`.
    #[must_use]
    pub fn marker(self) -> char {
        match self {
            Self::Added => '+',
            Self::Removed => '-',
            Self::Changed => '~',
        }
    }
}

/// Where a change is shown.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Section {
    /// IngressRoute statuses.
    Statuses,
    /// One virtual host: its routes and its TLS filter chain.
    VirtualHost(String),
    /// Listeners, apart from per-host filter chains.
    Listeners,
    /// Clusters and endpoints.
    Clusters,
    /// Secrets, by name only.
    Secrets,
}

/// One field that differs, as a path into the resource (`route.timeout`,
/// `route.weighted_clusters.clusters[1].weight`) and its values (`None`: absent).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Field {
    /// Where in the resource.
    pub path: String,
    /// The value in OLD.
    pub old: Option<Value>,
    /// The value in NEW.
    pub new: Option<Value>,
}

/// One change.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Change {
    /// What it does to traffic.
    pub effect: Effect,
    /// Where it is shown.
    pub section: Section,
    /// What changed: `http route /api`, `cluster default/web/80/da39a3ee5e`,
    /// `IngressRoute default/child`, ...
    pub subject: String,
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// The fields that differ (for a change; empty for Secrets, whose data is never
    /// shown). A status change lists `currentStatus` and `description` both, before and
    /// after, even the one that did not change.
    pub fields: Vec<Field>,
}

/// Every change from `old` to `new`, by section (statuses, then virtual hosts by fqdn,
/// listeners, clusters, secrets), then by subject.
#[must_use]
pub fn compare(old: &Side, new: &Side) -> Vec<Change> {
    let mut changes = Vec::new();
    statuses(old, new, &mut changes);
    routes(&old.resources, &new.resources, &mut changes);
    listeners(&old.resources, &new.resources, &mut changes);
    clusters(&old.resources, &new.resources, &mut changes);
    endpoints(&old.resources, &new.resources, &mut changes);
    secrets(&old.resources, &new.resources, &mut changes);
    changes.sort_by(|a, b| (&a.section, &a.subject).cmp(&(&b.section, &b.subject)));
    changes
}

fn statuses(old: &Side, new: &Side, out: &mut Vec<Change>) {
    let keys: BTreeSet<&ObjectRef> = old.statuses.keys().chain(new.statuses.keys()).collect();
    for key in keys {
        let (before, after) = (old.statuses.get(key), new.statuses.get(key));
        if before == after {
            continue;
        }
        let kind = kind_of(before.is_some(), after.is_some());
        let status = |s: Option<&(CurrentStatus, String)>| s.map(|(status, _)| Value::from(status.as_str()));
        let description = |s: Option<&(CurrentStatus, String)>| s.map(|(_, d)| Value::from(d.as_str()));
        // The whole status on both sides, even the half that did not change.
        let fields = vec![
            Field {
                path: "currentStatus".to_owned(),
                old: status(before),
                new: status(after),
            },
            Field {
                path: "description".to_owned(),
                old: description(before),
                new: description(after),
            },
        ];
        out.push(Change {
            effect: Effect::Status,
            section: Section::Statuses,
            subject: format!("IngressRoute {key}"),
            kind,
            fields,
        });
    }
}

fn kind_of(old: bool, new: bool) -> ChangeKind {
    match (old, new) {
        (false, _) => ChangeKind::Added,
        (_, false) => ChangeKind::Removed,
        _ => ChangeKind::Changed,
    }
}

/// Compares two keyed collections, calling `change` for each key in either whose values
/// differ.
fn keyed<'a>(
    old: BTreeMap<String, &'a Value>,
    new: BTreeMap<String, &'a Value>,
    mut change: impl FnMut(&str, Option<&'a Value>, Option<&'a Value>),
) {
    let mut both: BTreeMap<String, (Option<&'a Value>, Option<&'a Value>)> = BTreeMap::new();
    for (key, value) in old {
        both.entry(key).or_default().0 = Some(value);
    }
    for (key, value) in new {
        both.entry(key).or_default().1 = Some(value);
    }
    for (key, (before, after)) in both {
        if before != after {
            change(&key, before, after);
        }
    }
}

fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The virtual hosts of the route configurations, by (fqdn, `http` | `https`): plain
/// HTTP hosts sit in `ingress_http` or a bucket `ingress_http/<n>` (derived from the
/// fqdn alone), TLS hosts in `https/<fqdn>`.
fn virtual_hosts(resources: &TypedResources) -> BTreeMap<(String, &'static str), &Value> {
    let mut hosts = BTreeMap::new();
    for config in &resources.routes {
        let side = if str_field(config, "name").starts_with("https") {
            "https"
        } else {
            "http"
        };
        for host in config
            .get("virtual_hosts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            hosts.insert((str_field(host, "name").to_owned(), side), host);
        }
    }
    hosts
}

/// A route's `match` as its key and label: the prefix (or path, regex) alone when it has
/// nothing else, else the compact JSON.
fn match_label(route: &Value) -> String {
    let Some(m) = route.get("match") else {
        return "(no match)".to_owned();
    };
    match m.as_object() {
        Some(map) if map.len() == 1 => map
            .values()
            .next()
            .and_then(Value::as_str)
            .map_or_else(|| m.to_string(), str::to_owned),
        _ => m.to_string(),
    }
}

fn routes(old: &TypedResources, new: &TypedResources, out: &mut Vec<Change>) {
    let (old_hosts, new_hosts) = (virtual_hosts(old), virtual_hosts(new));
    let keys: BTreeSet<&(String, &str)> = old_hosts.keys().chain(new_hosts.keys()).collect();
    for key in keys {
        let (fqdn, side) = (&key.0, key.1);
        let (before, after) = (old_hosts.get(key).copied(), new_hosts.get(key).copied());
        if before == after {
            continue;
        }
        let section = Section::VirtualHost(fqdn.clone());
        let (Some(before), Some(after)) = (before, after) else {
            out.push(Change {
                effect: Effect::Routes,
                section,
                subject: format!("{side} virtual host"),
                kind: kind_of(before.is_some(), after.is_some()),
                fields: Vec::new(),
            });
            continue;
        };
        // The host's own settings (domains, ...), then its routes by match.
        let mut fields = Vec::new();
        diff_values(
            "",
            Some(&without(before, "routes")),
            Some(&without(after, "routes")),
            &mut fields,
        );
        if !fields.is_empty() {
            out.push(Change {
                effect: Effect::Routes,
                section: section.clone(),
                subject: format!("{side} virtual host"),
                kind: ChangeKind::Changed,
                fields,
            });
        }
        let by_match = |host: &'_ Value| -> BTreeMap<String, Value> {
            host.get("routes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| (match_label(r), without(r, "match")))
                .collect()
        };
        let (old_routes, new_routes) = (by_match(before), by_match(after));
        keyed(
            old_routes.iter().map(|(k, v)| (k.clone(), v)).collect(),
            new_routes.iter().map(|(k, v)| (k.clone(), v)).collect(),
            |label, a, b| {
                let mut fields = Vec::new();
                if a.is_some() && b.is_some() {
                    diff_values("", a, b, &mut fields);
                }
                out.push(Change {
                    effect: Effect::Routes,
                    section: section.clone(),
                    subject: format!("{side} route {label}"),
                    kind: kind_of(a.is_some(), b.is_some()),
                    fields,
                });
            },
        );
    }
}

/// `value` without the object key `key`.
fn without(value: &Value, key: &str) -> Value {
    let mut value = value.clone();
    if let Some(map) = value.as_object_mut() {
        map.remove(key);
    }
    value
}

/// The server names of a filter chain, `(default)` for one without.
fn chain_key(chain: &Value) -> String {
    let names: Vec<&str> = chain
        .pointer("/filter_chain_match/server_names")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if names.is_empty() {
        "(default)".to_owned()
    } else {
        names.join(",")
    }
}

fn index_by<'a>(values: &'a [Value], key: &impl Fn(&Value) -> String) -> BTreeMap<String, &'a Value> {
    values.iter().map(|v| (key(v), v)).collect()
}

fn by_name<'a>(values: &'a [Value], key: &str) -> BTreeMap<String, &'a Value> {
    values.iter().map(|v| (str_field(v, key).to_owned(), v)).collect()
}

fn listeners(old: &TypedResources, new: &TypedResources, out: &mut Vec<Change>) {
    keyed(
        by_name(&old.listeners, "name"),
        by_name(&new.listeners, "name"),
        |name, a, b| {
            let (Some(a), Some(b)) = (a, b) else {
                out.push(Change {
                    effect: Effect::Listeners,
                    section: Section::Listeners,
                    subject: format!("listener {name}"),
                    kind: kind_of(a.is_some(), b.is_some()),
                    fields: Vec::new(),
                });
                return;
            };
            let mut fields = Vec::new();
            diff_values(
                "",
                Some(&without(a, "filter_chains")),
                Some(&without(b, "filter_chains")),
                &mut fields,
            );
            if !fields.is_empty() {
                out.push(Change {
                    effect: Effect::Listeners,
                    section: Section::Listeners,
                    subject: format!("listener {name}"),
                    kind: ChangeKind::Changed,
                    fields,
                });
            }
            let chains = |l: &'_ Value| -> Vec<(String, Value)> {
                l.get("filter_chains")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| (chain_key(c), c.clone()))
                    .collect()
            };
            let (old_chains, new_chains) = (chains(a), chains(b));
            keyed(
                old_chains.iter().map(|(k, v)| (k.clone(), v)).collect(),
                new_chains.iter().map(|(k, v)| (k.clone(), v)).collect(),
                |key, x, y| {
                    let mut fields = Vec::new();
                    if x.is_some() && y.is_some() {
                        diff_values("", x, y, &mut fields);
                    }
                    // A chain for one host is shown with that host.
                    let section = if key.contains(',') || key == "(default)" {
                        Section::Listeners
                    } else {
                        Section::VirtualHost(key.to_owned())
                    };
                    out.push(Change {
                        effect: Effect::Listeners,
                        section,
                        subject: format!("listener {name} filter chain {key}"),
                        kind: kind_of(x.is_some(), y.is_some()),
                        fields,
                    });
                },
            );
        },
    );
}

/// A cluster's name without its settings hash (`default/web/80/da39a3ee5e` →
/// `default/web/80`): the key that pairs a cluster whose settings changed.
fn cluster_stem(name: &str) -> &str {
    match name.rsplit_once('/') {
        Some((stem, hash)) if hash.len() == 10 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => stem,
        _ => name,
    }
}

fn clusters(old: &TypedResources, new: &TypedResources, out: &mut Vec<Change>) {
    // Clusters of the same name are the same; of those left, one removed and one added
    // of the same Service and port (the stem) are one cluster whose settings, and so
    // name hash, changed. Anything else is added or removed under its full name.
    let (old_names, new_names) = (by_name(&old.clusters, "name"), by_name(&new.clusters, "name"));
    let mut by_stem: BTreeMap<&str, (Vec<&Value>, Vec<&Value>)> = BTreeMap::new();
    for (name, value) in &old_names {
        if !new_names.contains_key(name) {
            by_stem.entry(cluster_stem(name)).or_default().0.push(value);
        }
    }
    for (name, value) in &new_names {
        match old_names.get(name) {
            Some(before) if before != value => {
                let mut fields = Vec::new();
                diff_values("", Some(before), Some(value), &mut fields);
                out.push(cluster_change(name, ChangeKind::Changed, fields));
            }
            Some(_) => {}
            None => by_stem.entry(cluster_stem(name)).or_default().1.push(value),
        }
    }
    for (stem, (removed, added)) in by_stem {
        if let ([before], [after]) = (removed.as_slice(), added.as_slice()) {
            let mut fields = Vec::new();
            diff_values("", Some(before), Some(after), &mut fields);
            out.push(cluster_change(stem, ChangeKind::Changed, fields));
            continue;
        }
        for value in removed {
            out.push(cluster_change(
                str_field(value, "name"),
                ChangeKind::Removed,
                Vec::new(),
            ));
        }
        for value in added {
            out.push(cluster_change(str_field(value, "name"), ChangeKind::Added, Vec::new()));
        }
    }
}

fn cluster_change(name: &str, kind: ChangeKind, fields: Vec<Field>) -> Change {
    Change {
        effect: Effect::Clusters,
        section: Section::Clusters,
        subject: format!("cluster {name}"),
        kind,
        fields,
    }
}

/// The `address:port` of every endpoint of an assignment.
fn addresses(assignment: &Value) -> BTreeSet<String> {
    let mut addresses = BTreeSet::new();
    for locality in assignment
        .get("endpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for lb in locality
            .get("lb_endpoints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(socket) = lb.pointer("/endpoint/address/socket_address") {
                addresses.insert(format!(
                    "{}:{}",
                    str_field(socket, "address"),
                    socket.get("port_value").map(Value::to_string).unwrap_or_default()
                ));
            }
        }
    }
    addresses
}

fn endpoints(old: &TypedResources, new: &TypedResources, out: &mut Vec<Change>) {
    keyed(
        by_name(&old.endpoints, "cluster_name"),
        by_name(&new.endpoints, "cluster_name"),
        |name, a, b| {
            let mut fields = Vec::new();
            if let (Some(a), Some(b)) = (a, b) {
                let (before, after) = (addresses(a), addresses(b));
                for gone in before.difference(&after) {
                    fields.push(Field {
                        path: "endpoints".to_owned(),
                        old: Some(Value::from(gone.as_str())),
                        new: None,
                    });
                }
                for added in after.difference(&before) {
                    fields.push(Field {
                        path: "endpoints".to_owned(),
                        old: None,
                        new: Some(Value::from(added.as_str())),
                    });
                }
                diff_values(
                    "",
                    Some(&without(a, "endpoints")),
                    Some(&without(b, "endpoints")),
                    &mut fields,
                );
                if fields.is_empty() {
                    // Only the order of the same endpoints changed: not a change.
                    return;
                }
            }
            out.push(Change {
                effect: Effect::Clusters,
                section: Section::Clusters,
                subject: format!("endpoints {name}"),
                kind: kind_of(a.is_some(), b.is_some()),
                fields,
            });
        },
    );
}

fn secrets(old: &TypedResources, new: &TypedResources, out: &mut Vec<Change>) {
    // Secret names end with a hash of their data, like clusters.
    let key = |v: &Value| cluster_stem(str_field(v, "name")).to_owned();
    keyed(
        index_by(&old.secrets, &key),
        index_by(&new.secrets, &key),
        |name, a, b| {
            out.push(Change {
                effect: Effect::Secrets,
                section: Section::Secrets,
                subject: format!("secret {name}"),
                kind: kind_of(a.is_some(), b.is_some()),
                fields: Vec::new(),
            });
        },
    );
}

/// The leaves that differ between two JSON values, with their paths under `path`.
/// Objects are compared key by key; arrays element by element when they have the same
/// length, and arrays of named objects (`name`) name by name; anything else that differs
/// is one field.
pub(crate) fn diff_values(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<Field>) {
    if old == new {
        return;
    }
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                diff_values(&join(key), a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if named(a) && named(b) => {
            // Named by cluster (or Secret) when that is unambiguous on both sides, so a
            // reference to a cluster whose settings hash changed is one changed name.
            let stems_unique = |values: &[Value]| {
                let stems: BTreeSet<&str> = values.iter().map(|v| cluster_stem(str_field(v, "name"))).collect();
                stems.len() == values.len()
            };
            let (a, b) = if stems_unique(a) && stems_unique(b) {
                let key = |v: &Value| cluster_stem(str_field(v, "name")).to_owned();
                (index_by(a, &key), index_by(b, &key))
            } else {
                (by_name(a, "name"), by_name(b, "name"))
            };
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                diff_values(&format!("{path}[{key}]"), a.get(key).copied(), b.get(key).copied(), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_values(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        _ => out.push(Field {
            path: path.to_owned(),
            old: old.cloned(),
            new: new.cloned(),
        }),
    }
}

/// Whether every element is an object with a distinct string `name`.
fn named(values: &[Value]) -> bool {
    let names: BTreeSet<&str> = values
        .iter()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .collect();
    !values.is_empty() && names.len() == values.len()
}
