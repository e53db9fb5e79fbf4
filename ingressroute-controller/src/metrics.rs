//! The controller's metrics, and their Prometheus text exposition (format 0.0.4).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `contour_ingressroute_total` | gauge | `namespace` |
//! | `contour_ingressroute_root_total` | gauge | `namespace` |
//! | `contour_ingressroute_valid_total` | gauge | `namespace`, `vhost` |
//! | `contour_ingressroute_invalid_total` | gauge | `namespace`, `vhost` (`unknown` when none) |
//! | `contour_ingressroute_orphaned_total` | gauge | `namespace` |
//! | `contour_dagrebuild_timestamp` | gauge | |
//! | `ingressroute_dag_rebuild_duration_seconds` | histogram | |
//! | `ingressroute_dag_rebuilds_total` | counter | |
//! | `ingressroute_snapshots_published_total` | counter | `trigger` (`rebuild`, `endpoints`) |
//! | `ingressroute_snapshot_errors_total` | counter | |
//! | `ingressroute_watch_events_total` | counter | `kind` |
//! | `ingressroute_watch_errors_total` | counter | `kind` |
//! | `ingressroute_malformed_objects_total` | counter | `kind` |
//! | `ingressroute_status_writes_total` | counter | `result` (`ok`, `conflict`, `not_found`, `error`) |
//! | `ingressroute_statuses_pending` | gauge | |
//! | `ingressroute_leader` | gauge | |
//! | `ingressroute_ready` | gauge | |
//! | `ingressroute_xds_connected_streams` | gauge | |
//! | `ingressroute_xds_streams_total` | counter | |
//! | `ingressroute_xds_pushes_total` | counter | `type_url` |
//! | `ingressroute_xds_pushed_resources_total` | counter | `type_url` |
//! | `ingressroute_xds_pushed_bytes_total` | counter | `type_url` |
//! | `ingressroute_xds_removals_total` | counter | `type_url` |
//! | `ingressroute_xds_acks_total` | counter | `type_url` |
//! | `ingressroute_xds_nacks_total` | counter | `type_url` |
//!
//! The `contour_*` names and labels are Contour's (spec §5.4). Unlike Contour, every
//! replica sets the IngressRoute gauges (each computes the same statuses); select the
//! leader with `ingressroute_leader == 1` to count once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use ingressroute_dag::{CurrentStatus, Dag};
use ingressroute_envoy::server;

use crate::status::PendingStatuses;
use crate::store::Store;
use crate::watch::Kind;

/// The upper bounds of the rebuild-duration histogram's buckets, in seconds.
const REBUILD_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The `vhost` label of an invalid IngressRoute that has none (Contour's).
const UNKNOWN_VHOST: &str = "unknown";

/// Counts of IngressRoutes by status, as Contour's gauges label them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IngressRouteGauges {
    total: BTreeMap<String, u64>,
    root: BTreeMap<String, u64>,
    valid: BTreeMap<(String, String), u64>,
    invalid: BTreeMap<(String, String), u64>,
    orphaned: BTreeMap<String, u64>,
}

impl IngressRouteGauges {
    /// The gauges of a build: every IngressRoute with a status, by namespace (and vhost).
    pub(crate) fn of(dag: &Dag, store: &Store) -> Self {
        let mut gauges = Self::default();
        for (key, status) in dag.statuses() {
            let ns = key.namespace.clone();
            *gauges.total.entry(ns.clone()).or_default() += 1;
            if store.ingress_route(key).is_some_and(|r| r.spec.virtualhost.is_some()) {
                *gauges.root.entry(ns.clone()).or_default() += 1;
            }
            match status.current_status {
                CurrentStatus::Valid => {
                    *gauges
                        .valid
                        .entry((ns, status.vhost.clone().unwrap_or_default()))
                        .or_default() += 1;
                }
                CurrentStatus::Invalid => {
                    let vhost = status
                        .vhost
                        .clone()
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| UNKNOWN_VHOST.to_owned());
                    *gauges.invalid.entry((ns, vhost)).or_default() += 1;
                }
                CurrentStatus::Orphaned => *gauges.orphaned.entry(ns).or_default() += 1,
                // A status this controller does not know yet has no gauge of its own; it
                // still counts in `total`.
                _ => {}
            }
        }
        // Objects that do not decode are invalid, with no known virtual host.
        for key in store.malformed_routes().keys() {
            *gauges.total.entry(key.namespace.clone()).or_default() += 1;
            *gauges
                .invalid
                .entry((key.namespace.clone(), UNKNOWN_VHOST.to_owned()))
                .or_default() += 1;
        }
        gauges
    }
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; REBUILD_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Everything the controller counts. Shared by its tasks; read by `/metrics` and tests.
#[derive(Debug, Default)]
pub struct Metrics {
    ingress_routes: Mutex<IngressRouteGauges>,
    rebuild: Mutex<Histogram>,
    last_rebuild_unix: AtomicU64,
    rebuilds: AtomicU64,
    published_rebuild: AtomicU64,
    published_endpoints: AtomicU64,
    snapshot_errors: AtomicU64,
    events: [AtomicU64; 5],
    watch_errors: [AtomicU64; 5],
    malformed: [AtomicU64; 5],
    status_ok: AtomicU64,
    status_conflict: AtomicU64,
    status_not_found: AtomicU64,
    status_error: AtomicU64,
    leader: AtomicBool,
    ready: AtomicBool,
    xds: OnceLock<Arc<server::Metrics>>,
    pending: OnceLock<Arc<PendingStatuses>>,
}

/// The status writes counted so far, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusWrites {
    /// Written.
    pub ok: u64,
    /// Refused with `409 Conflict` (retried).
    pub conflict: u64,
    /// The IngressRoute was gone.
    pub not_found: u64,
    /// Any other failure (retried when transient).
    pub error: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Metrics {
    /// DAG rebuilds done so far.
    #[must_use]
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds.load(Ordering::Relaxed)
    }

    /// Snapshots published that changed something, after a rebuild or after an
    /// endpoints-only (EDS) update, in that order.
    #[must_use]
    pub fn published(&self) -> (u64, u64) {
        (
            self.published_rebuild.load(Ordering::Relaxed),
            self.published_endpoints.load(Ordering::Relaxed),
        )
    }

    /// The status writes so far.
    #[must_use]
    pub fn status_writes(&self) -> StatusWrites {
        StatusWrites {
            ok: self.status_ok.load(Ordering::Relaxed),
            conflict: self.status_conflict.load(Ordering::Relaxed),
            not_found: self.status_not_found.load(Ordering::Relaxed),
            error: self.status_error.load(Ordering::Relaxed),
        }
    }

    /// Watch events received so far, all kinds together.
    #[must_use]
    pub fn events(&self) -> u64 {
        self.events.iter().map(|e| e.load(Ordering::Relaxed)).sum()
    }

    /// The xDS server's counters, once it runs.
    #[must_use]
    pub fn xds(&self) -> Option<&Arc<server::Metrics>> {
        self.xds.get()
    }

    pub(crate) fn set_xds(&self, xds: Arc<server::Metrics>) {
        let _ = self.xds.set(xds);
    }

    pub(crate) fn set_pending(&self, pending: Arc<PendingStatuses>) {
        let _ = self.pending.set(pending);
    }

    /// Statuses computed but not yet seen on their objects.
    #[must_use]
    pub fn statuses_pending(&self) -> usize {
        self.pending.get().map_or(0, |p| p.len())
    }

    pub(crate) fn rebuilt(&self, took: Duration, unix_seconds: u64) {
        self.rebuilds.fetch_add(1, Ordering::Relaxed);
        self.last_rebuild_unix.store(unix_seconds, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        let mut h = lock(&self.rebuild);
        for (bucket, bound) in h.buckets.iter_mut().zip(REBUILD_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    pub(crate) fn published_after_rebuild(&self) {
        self.published_rebuild.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn published_endpoints(&self) {
        self.published_endpoints.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot_error(&self) {
        self.snapshot_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn event(&self, kind: Kind) {
        if let Some(c) = self.events.get(kind.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn watch_error(&self, kind: Kind) {
        if let Some(c) = self.watch_errors.get(kind.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn malformed(&self, kind: Kind) {
        if let Some(c) = self.malformed.get(kind.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_ingress_routes(&self, gauges: IngressRouteGauges) {
        *lock(&self.ingress_routes) = gauges;
    }

    pub(crate) fn status_written(&self) {
        self.status_ok.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn status_conflict(&self) {
        self.status_conflict.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn status_not_found(&self) {
        self.status_not_found.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn status_error(&self) {
        self.status_error.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Every metric in the Prometheus text format.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        {
            let g = lock(&self.ingress_routes);
            by_namespace(
                &mut out,
                "contour_ingressroute_total",
                "Total number of IngressRoutes.",
                &g.total,
            );
            by_namespace(
                &mut out,
                "contour_ingressroute_root_total",
                "Total number of root IngressRoutes.",
                &g.root,
            );
            by_vhost(
                &mut out,
                "contour_ingressroute_valid_total",
                "Total number of valid IngressRoutes.",
                &g.valid,
            );
            by_vhost(
                &mut out,
                "contour_ingressroute_invalid_total",
                "Total number of invalid IngressRoutes.",
                &g.invalid,
            );
            by_namespace(
                &mut out,
                "contour_ingressroute_orphaned_total",
                "Total number of orphaned IngressRoutes.",
                &g.orphaned,
            );
        }
        header(
            &mut out,
            "contour_dagrebuild_timestamp",
            "Timestamp of the last DAG rebuild.",
            "gauge",
        );
        sample(
            &mut out,
            "contour_dagrebuild_timestamp",
            "",
            self.last_rebuild_unix.load(Ordering::Relaxed),
        );
        {
            let h = lock(&self.rebuild);
            let name = "ingressroute_dag_rebuild_duration_seconds";
            header(
                &mut out,
                name,
                "How long a DAG rebuild and translation took.",
                "histogram",
            );
            for (count, bound) in h.buckets.iter().zip(REBUILD_BUCKETS) {
                sample(&mut out, &format!("{name}_bucket"), &format!("le=\"{bound}\""), *count);
            }
            sample(&mut out, &format!("{name}_bucket"), "le=\"+Inf\"", h.count);
            let _ = writeln!(out, "{name}_sum {}", h.sum);
            sample(&mut out, &format!("{name}_count"), "", h.count);
        }
        counter(
            &mut out,
            "ingressroute_dag_rebuilds_total",
            "DAG rebuilds.",
            self.rebuilds(),
        );
        header(
            &mut out,
            "ingressroute_snapshots_published_total",
            "xDS snapshots published that changed something.",
            "counter",
        );
        let (rebuild, endpoints) = self.published();
        sample(
            &mut out,
            "ingressroute_snapshots_published_total",
            "trigger=\"rebuild\"",
            rebuild,
        );
        sample(
            &mut out,
            "ingressroute_snapshots_published_total",
            "trigger=\"endpoints\"",
            endpoints,
        );
        counter(
            &mut out,
            "ingressroute_snapshot_errors_total",
            "Snapshots refused as inconsistent (the previous one stays served).",
            self.snapshot_errors.load(Ordering::Relaxed),
        );
        per_kind(
            &mut out,
            "ingressroute_watch_events_total",
            "Watch events received.",
            &self.events,
        );
        per_kind(
            &mut out,
            "ingressroute_watch_errors_total",
            "Watch errors (retried).",
            &self.watch_errors,
        );
        per_kind(
            &mut out,
            "ingressroute_malformed_objects_total",
            "Objects received that do not decode (treated as absent).",
            &self.malformed,
        );
        header(
            &mut out,
            "ingressroute_status_writes_total",
            "IngressRoute status writes.",
            "counter",
        );
        let w = self.status_writes();
        for (result, n) in [
            ("ok", w.ok),
            ("conflict", w.conflict),
            ("not_found", w.not_found),
            ("error", w.error),
        ] {
            sample(
                &mut out,
                "ingressroute_status_writes_total",
                &format!("result=\"{result}\""),
                n,
            );
        }
        header(
            &mut out,
            "ingressroute_statuses_pending",
            "IngressRoute statuses computed but not yet seen on their objects.",
            "gauge",
        );
        sample(
            &mut out,
            "ingressroute_statuses_pending",
            "",
            u64::try_from(self.statuses_pending()).unwrap_or(u64::MAX),
        );
        header(
            &mut out,
            "ingressroute_leader",
            "1 when this replica holds the leader Lease.",
            "gauge",
        );
        sample(
            &mut out,
            "ingressroute_leader",
            "",
            u64::from(self.leader.load(Ordering::Relaxed)),
        );
        header(
            &mut out,
            "ingressroute_ready",
            "1 once every watch has listed and the first snapshot is served.",
            "gauge",
        );
        sample(
            &mut out,
            "ingressroute_ready",
            "",
            u64::from(self.ready.load(Ordering::Relaxed)),
        );
        if let Some(xds) = self.xds.get() {
            render_xds(&mut out, xds);
        }
        out
    }
}

fn render_xds(out: &mut String, xds: &server::Metrics) {
    header(
        out,
        "ingressroute_xds_connected_streams",
        "xDS streams open now.",
        "gauge",
    );
    sample(out, "ingressroute_xds_connected_streams", "", xds.connected_streams());
    counter(
        out,
        "ingressroute_xds_streams_total",
        "xDS streams opened.",
        xds.total_streams(),
    );
    let by_type = xds.by_type_url();
    type Field = fn(&server::TypeMetrics) -> u64;
    let families: [(&str, &str, Field); 6] = [
        ("ingressroute_xds_pushes_total", "xDS responses sent.", |m| m.pushes),
        (
            "ingressroute_xds_pushed_resources_total",
            "Resources in xDS responses.",
            |m| m.resources,
        ),
        (
            "ingressroute_xds_pushed_bytes_total",
            "Encoded bytes of xDS responses.",
            |m| m.bytes,
        ),
        (
            "ingressroute_xds_removals_total",
            "Names removed on delta xDS streams.",
            |m| m.removals,
        ),
        ("ingressroute_xds_acks_total", "xDS responses Envoy accepted.", |m| {
            m.acks
        }),
        ("ingressroute_xds_nacks_total", "xDS responses Envoy rejected.", |m| {
            m.nacks
        }),
    ];
    for (name, help, field) in families {
        header(out, name, help, "counter");
        for (type_url, m) in &by_type {
            sample(out, name, &format!("type_url=\"{}\"", escape(type_url)), field(m));
        }
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: u64) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, help, "counter");
    sample(out, name, "", value);
}

fn per_kind(out: &mut String, name: &str, help: &str, values: &[AtomicU64; 5]) {
    header(out, name, help, "counter");
    for (kind, value) in Kind::ALL.iter().zip(values) {
        sample(out, name, &format!("kind=\"{kind}\""), value.load(Ordering::Relaxed));
    }
}

fn by_namespace(out: &mut String, name: &str, help: &str, values: &BTreeMap<String, u64>) {
    header(out, name, help, "gauge");
    for (ns, n) in values {
        sample(out, name, &format!("namespace=\"{}\"", escape(ns)), *n);
    }
}

fn by_vhost(out: &mut String, name: &str, help: &str, values: &BTreeMap<(String, String), u64>) {
    header(out, name, help, "gauge");
    for ((ns, vhost), n) in values {
        sample(
            out,
            name,
            &format!("namespace=\"{}\",vhost=\"{}\"", escape(ns), escape(vhost)),
            *n,
        );
    }
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn a_rebuild_lands_in_every_bucket_at_or_above_its_duration() {
        let metrics = Metrics::default();
        metrics.rebuilt(Duration::from_millis(30), 1_700_000_000);
        let text = metrics.render();
        assert!(text.contains("ingressroute_dag_rebuild_duration_seconds_bucket{le=\"0.025\"} 0\n"));
        assert!(text.contains("ingressroute_dag_rebuild_duration_seconds_bucket{le=\"0.05\"} 1\n"));
        assert!(text.contains("ingressroute_dag_rebuild_duration_seconds_bucket{le=\"+Inf\"} 1\n"));
        assert!(text.contains("ingressroute_dag_rebuild_duration_seconds_count 1\n"));
        assert!(text.contains("contour_dagrebuild_timestamp 1700000000\n"));
    }

    #[test]
    fn every_sample_line_has_a_type_line_before_it() {
        let text = Metrics::default().render();
        let mut typed = std::collections::BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                typed.insert(rest.split(' ').next().unwrap().to_owned());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .filter(|f| typed.contains(*f))
                    .unwrap_or(name);
                assert!(typed.contains(family), "{line}");
            }
        }
    }
}
