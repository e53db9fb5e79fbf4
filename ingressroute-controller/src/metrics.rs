//! The controller's metrics, kept and exposed (Prometheus text format 0.0.4) with
//! `prometheus-client`.
//!
//! Why one file of this length: each metric's registration, its collector and its test stay
//! together, so that a name or a label cannot change in one place only; a fifth of it is
//! tests.
//!
//! Counters, gauges and the histogram are `prometheus-client` metrics in one registry. What
//! is known only when scraped is encoded by collectors at that moment: the IngressRoute
//! gauges (replaced as a whole after every build, so that a namespace that no longer has any
//! IngressRoute disappears), the pending statuses and the xDS server's counters.
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
//! The `contour_*` names and labels are Contour's ([behaviour §5.4](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s5-4)). Unlike Contour, every
//! replica sets the IngressRoute gauges (each computes the same statuses); select the
//! leader with `ingressroute_leader == 1` to count once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::xds_metrics::{TypeMetrics, XdsMetrics};
use ingressroute_dag::{CurrentStatus, Dag};
use ingressroute_envoy::ResourceKind;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use ingressroute_pipeline::{Kind, Store};

use crate::status::PendingStatuses;

/// The upper bounds of the rebuild-duration histogram's buckets, in seconds.
const REBUILD_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The `vhost` label of an invalid IngressRoute that has none (Contour's).
const UNKNOWN_VHOST: &str = "unknown";

/// The `Content-Type` of [`Metrics::render`]'s output.
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// One label: its name, and its value.
type Label<'a> = [(&'static str, &'a str); 1];

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
        for key in store.undecodable_routes().keys() {
            *gauges.total.entry(key.namespace.clone()).or_default() += 1;
            *gauges
                .invalid
                .entry((key.namespace.clone(), UNKNOWN_VHOST.to_owned()))
                .or_default() += 1;
        }
        gauges
    }
}

/// Everything the controller counts. Shared by its tasks; read by `/metrics` and tests.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    ingress_routes: Arc<Mutex<IngressRouteGauges>>,
    rebuild_duration: Histogram,
    last_rebuild_unix: Gauge,
    rebuilds: Counter,
    published: Family<Label<'static>, Counter>,
    snapshot_errors: Counter,
    events: Family<Label<'static>, Counter>,
    watch_errors: Family<Label<'static>, Counter>,
    malformed: Family<Label<'static>, Counter>,
    status_writes: Family<Label<'static>, Counter>,
    leader: Gauge,
    ready: Gauge,
    xds: Arc<XdsMetrics>,
    pending: Arc<OnceLock<Arc<PendingStatuses>>>,
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

/// The `result` labels of `ingressroute_status_writes_total`.
const STATUS_RESULTS: [&str; 4] = ["ok", "conflict", "not_found", "error"];
/// The `trigger` labels of `ingressroute_snapshots_published_total`.
const TRIGGERS: [&str; 2] = ["rebuild", "endpoints"];

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A family with every value of its one label present from the start (at 0).
fn family(label: &'static str, values: impl IntoIterator<Item = &'static str>) -> Family<Label<'static>, Counter> {
    let family = Family::<Label<'static>, Counter>::default();
    for value in values {
        let _ = family.get_or_create(&[(label, value)]);
    }
    family
}

fn count(family: &Family<Label<'static>, Counter>, label: Label<'static>) -> u64 {
    family.get(&label).map_or(0, |c| c.get())
}

impl Default for Metrics {
    fn default() -> Self {
        let kinds = || Kind::ALL.map(Kind::as_str);
        let mut metrics = Self {
            registry: Registry::default(),
            ingress_routes: Arc::default(),
            rebuild_duration: Histogram::new(REBUILD_BUCKETS),
            last_rebuild_unix: Gauge::default(),
            rebuilds: Counter::default(),
            published: family("trigger", TRIGGERS),
            snapshot_errors: Counter::default(),
            events: family("kind", kinds()),
            watch_errors: family("kind", kinds()),
            malformed: family("kind", kinds()),
            status_writes: family("result", STATUS_RESULTS),
            leader: Gauge::default(),
            ready: Gauge::default(),
            xds: Arc::default(),
            pending: Arc::default(),
        };
        metrics.register();
        metrics
    }
}

impl Metrics {
    /// Puts every metric in the registry, in the order `/metrics` lists them. Help texts
    /// get their final full stop from `prometheus-client`, counters their `_total`.
    fn register(&mut self) {
        let r = &mut self.registry;
        r.register_collector(Box::new(IngressRouteCollector(Arc::clone(&self.ingress_routes))));
        r.register(
            "contour_dagrebuild_timestamp",
            "Timestamp of the last DAG rebuild",
            self.last_rebuild_unix.clone(),
        );
        r.register(
            "ingressroute_dag_rebuild_duration_seconds",
            "How long a DAG rebuild and translation took",
            self.rebuild_duration.clone(),
        );
        r.register("ingressroute_dag_rebuilds", "DAG rebuilds", self.rebuilds.clone());
        r.register(
            "ingressroute_snapshots_published",
            "xDS snapshots published that changed something",
            self.published.clone(),
        );
        r.register(
            "ingressroute_snapshot_errors",
            "Snapshots refused as inconsistent (the previous one stays served)",
            self.snapshot_errors.clone(),
        );
        r.register(
            "ingressroute_watch_events",
            "Watch events received",
            self.events.clone(),
        );
        r.register(
            "ingressroute_watch_errors",
            "Watch errors (retried)",
            self.watch_errors.clone(),
        );
        r.register(
            "ingressroute_malformed_objects",
            "Objects received that do not decode (treated as absent)",
            self.malformed.clone(),
        );
        r.register(
            "ingressroute_status_writes",
            "IngressRoute status writes",
            self.status_writes.clone(),
        );
        r.register(
            "ingressroute_leader",
            "1 when this replica holds the leader Lease",
            self.leader.clone(),
        );
        r.register(
            "ingressroute_ready",
            "1 once every watch has listed and the first snapshot is served",
            self.ready.clone(),
        );
        r.register_collector(Box::new(PendingCollector(Arc::clone(&self.pending))));
        r.register_collector(Box::new(XdsCollector(Arc::clone(&self.xds))));
    }

    /// DAG rebuilds done so far.
    #[must_use]
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds.get()
    }

    /// Snapshots published that changed something, after a rebuild or after an
    /// endpoints-only (EDS) update, in that order.
    #[must_use]
    pub fn published(&self) -> (u64, u64) {
        (
            count(&self.published, [("trigger", "rebuild")]),
            count(&self.published, [("trigger", "endpoints")]),
        )
    }

    /// The status writes so far.
    #[must_use]
    pub fn status_writes(&self) -> StatusWrites {
        let result = |value| count(&self.status_writes, [("result", value)]);
        StatusWrites {
            ok: result("ok"),
            conflict: result("conflict"),
            not_found: result("not_found"),
            error: result("error"),
        }
    }

    /// Watch events received so far, all kinds together.
    #[must_use]
    pub fn events(&self) -> u64 {
        Kind::ALL
            .iter()
            .map(|kind| count(&self.events, [("kind", kind.as_str())]))
            .sum()
    }

    /// The xDS server's counters.
    #[must_use]
    pub fn xds(&self) -> &XdsMetrics {
        &self.xds
    }

    pub(crate) fn xds_stream_opened(&self) {
        self.xds.stream_opened();
    }

    pub(crate) fn xds_stream_closed(&self) {
        self.xds.stream_closed();
    }

    pub(crate) fn xds_pushed(&self, kind: ResourceKind, resources: usize, removals: usize, bytes: usize) {
        self.xds.pushed(kind, resources, removals, bytes);
    }

    pub(crate) fn xds_acked(&self, kind: ResourceKind) {
        self.xds.acked(kind);
    }

    pub(crate) fn xds_nacked(&self, kind: ResourceKind) {
        self.xds.nacked(kind);
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
        self.rebuilds.inc();
        self.last_rebuild_unix
            .set(i64::try_from(unix_seconds).unwrap_or(i64::MAX));
        self.rebuild_duration.observe(took.as_secs_f64());
    }

    pub(crate) fn published_after_rebuild(&self) {
        self.published.get_or_create(&[("trigger", "rebuild")]).inc();
    }

    pub(crate) fn published_endpoints(&self) {
        self.published.get_or_create(&[("trigger", "endpoints")]).inc();
    }

    pub(crate) fn snapshot_error(&self) {
        self.snapshot_errors.inc();
    }

    pub(crate) fn event(&self, kind: Kind) {
        self.events.get_or_create(&[("kind", kind.as_str())]).inc();
    }

    pub(crate) fn watch_error(&self, kind: Kind) {
        self.watch_errors.get_or_create(&[("kind", kind.as_str())]).inc();
    }

    pub(crate) fn malformed(&self, kind: Kind) {
        self.malformed.get_or_create(&[("kind", kind.as_str())]).inc();
    }

    pub(crate) fn set_ingress_routes(&self, gauges: IngressRouteGauges) {
        *lock(&self.ingress_routes) = gauges;
    }

    fn status_result(&self, result: &'static str) {
        self.status_writes.get_or_create(&[("result", result)]).inc();
    }

    pub(crate) fn status_written(&self) {
        self.status_result("ok");
    }

    pub(crate) fn status_conflict(&self) {
        self.status_result("conflict");
    }

    pub(crate) fn status_not_found(&self) {
        self.status_result("not_found");
    }

    pub(crate) fn status_error(&self) {
        self.status_result("error");
    }

    pub(crate) fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// Every metric in the Prometheus text format (0.0.4).
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail, nor can our collectors.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// Encodes a gauge family from its rows.
fn gauges<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (L, u64)>,
) -> std::fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in rows {
        ConstGauge::new(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Encodes one gauge without labels.
fn gauge(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> std::fmt::Result {
    ConstGauge::new(value).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

fn by_namespace(values: &BTreeMap<String, u64>) -> impl Iterator<Item = (Label<'_>, u64)> {
    values.iter().map(|(ns, n)| ([("namespace", ns.as_str())], *n))
}

fn by_vhost(values: &BTreeMap<(String, String), u64>) -> impl Iterator<Item = ([(&'static str, &str); 2], u64)> {
    values
        .iter()
        .map(|((ns, vhost), n)| ([("namespace", ns.as_str()), ("vhost", vhost.as_str())], *n))
}

/// The `contour_ingressroute_*` gauges of the last build.
#[derive(Debug)]
struct IngressRouteCollector(Arc<Mutex<IngressRouteGauges>>);

impl Collector for IngressRouteCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let g = lock(&self.0);
        gauges(
            &mut encoder,
            "contour_ingressroute_total",
            "Total number of IngressRoutes.",
            by_namespace(&g.total),
        )?;
        gauges(
            &mut encoder,
            "contour_ingressroute_root_total",
            "Total number of root IngressRoutes.",
            by_namespace(&g.root),
        )?;
        gauges(
            &mut encoder,
            "contour_ingressroute_valid_total",
            "Total number of valid IngressRoutes.",
            by_vhost(&g.valid),
        )?;
        gauges(
            &mut encoder,
            "contour_ingressroute_invalid_total",
            "Total number of invalid IngressRoutes.",
            by_vhost(&g.invalid),
        )?;
        gauges(
            &mut encoder,
            "contour_ingressroute_orphaned_total",
            "Total number of orphaned IngressRoutes.",
            by_namespace(&g.orphaned),
        )
    }
}

/// `ingressroute_statuses_pending`, read from the status writer's queue when scraped.
#[derive(Debug)]
struct PendingCollector(Arc<OnceLock<Arc<PendingStatuses>>>);

impl Collector for PendingCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let pending = self.0.get().map_or(0, |p| p.len());
        gauge(
            &mut encoder,
            "ingressroute_statuses_pending",
            "IngressRoute statuses computed but not yet seen on their objects.",
            u64::try_from(pending).unwrap_or(u64::MAX),
        )
    }
}

/// The xDS server's counters (see [`crate::xds_metrics`]), read when scraped.
#[derive(Debug)]
struct XdsCollector(Arc<XdsMetrics>);

impl Collector for XdsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let xds = &self.0;
        gauge(
            &mut encoder,
            "ingressroute_xds_connected_streams",
            "xDS streams open now.",
            xds.connected_streams(),
        )?;
        let metric = encoder.encode_descriptor(
            "ingressroute_xds_streams",
            "xDS streams opened.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(xds.total_streams()).encode(metric)?;
        let by_type = xds.by_type_url();
        type Field = fn(&TypeMetrics) -> u64;
        let families: [(&str, &str, Field); 6] = [
            ("ingressroute_xds_pushes", "xDS responses sent.", |m| m.pushes),
            (
                "ingressroute_xds_pushed_resources",
                "Resources in xDS responses.",
                |m| m.resources,
            ),
            (
                "ingressroute_xds_pushed_bytes",
                "Encoded bytes of xDS responses.",
                |m| m.bytes,
            ),
            (
                "ingressroute_xds_removals",
                "Names removed on delta xDS streams.",
                |m| m.removals,
            ),
            ("ingressroute_xds_acks", "xDS responses Envoy accepted.", |m| m.acks),
            ("ingressroute_xds_nacks", "xDS responses Envoy rejected.", |m| m.nacks),
        ];
        for (name, help, field) in families {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (type_url, m) in &by_type {
                let labels = [("type_url", type_url.as_str())];
                ConstCounter::new(field(m)).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::default();
        let mut gauges = IngressRouteGauges::default();
        gauges.invalid.insert(("apps".to_owned(), "a\"b\\c\nd".to_owned()), 1);
        metrics.set_ingress_routes(gauges);
        let text = metrics.render();
        assert!(
            text.contains("contour_ingressroute_invalid_total{namespace=\"apps\",vhost=\"a\\\"b\\\\c\\nd\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn a_namespace_without_ingressroutes_any_more_leaves_the_gauges() {
        let metrics = Metrics::default();
        let mut gauges = IngressRouteGauges::default();
        gauges.total.insert("apps".to_owned(), 2);
        metrics.set_ingress_routes(gauges);
        assert!(
            metrics
                .render()
                .contains("contour_ingressroute_total{namespace=\"apps\"} 2\n")
        );
        metrics.set_ingress_routes(IngressRouteGauges::default());
        let text = metrics.render();
        assert!(!text.contains("namespace=\"apps\""), "{text}");
        assert!(text.contains("# TYPE contour_ingressroute_total gauge\n"), "{text}");
    }

    #[test]
    fn a_rebuild_lands_in_every_bucket_at_or_above_its_duration() {
        let metrics = Metrics::default();
        metrics.rebuilt(Duration::from_millis(30), 1_700_000_000);
        let text = metrics.render();
        assert!(text.contains("ingressroute_dag_rebuild_duration_seconds_bucket{le=\"0.025\"} 0\n"));
        assert!(text.contains("ingressroute_dag_rebuild_duration_seconds_bucket{le=\"0.05\"} 1\n"));
        assert!(text.contains("ingressroute_dag_rebuild_duration_seconds_bucket{le=\"1\"} 1\n"));
        assert!(text.contains("ingressroute_dag_rebuild_duration_seconds_bucket{le=\"+Inf\"} 1\n"));
        assert!(text.contains("ingressroute_dag_rebuild_duration_seconds_count 1\n"));
        assert!(text.contains("contour_dagrebuild_timestamp 1700000000\n"));
    }

    #[test]
    fn names_types_and_help_are_the_documented_ones() {
        let metrics = Metrics::default();
        let text = metrics.render();
        for (name, kind, help) in [
            ("contour_ingressroute_total", "gauge", "Total number of IngressRoutes."),
            (
                "contour_dagrebuild_timestamp",
                "gauge",
                "Timestamp of the last DAG rebuild.",
            ),
            (
                "ingressroute_dag_rebuild_duration_seconds",
                "histogram",
                "How long a DAG rebuild and translation took.",
            ),
            ("ingressroute_dag_rebuilds_total", "counter", "DAG rebuilds."),
            (
                "ingressroute_status_writes_total",
                "counter",
                "IngressRoute status writes.",
            ),
            (
                "ingressroute_statuses_pending",
                "gauge",
                "IngressRoute statuses computed but not yet seen on their objects.",
            ),
            (
                "ingressroute_leader",
                "gauge",
                "1 when this replica holds the leader Lease.",
            ),
            ("ingressroute_xds_streams_total", "counter", "xDS streams opened."),
            (
                "ingressroute_xds_nacks_total",
                "counter",
                "xDS responses Envoy rejected.",
            ),
        ] {
            assert!(
                text.contains(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n")),
                "{name}:\n{text}"
            );
        }
        for line in [
            "ingressroute_status_writes_total{result=\"not_found\"} 0\n",
            "ingressroute_snapshots_published_total{trigger=\"endpoints\"} 0\n",
            "ingressroute_watch_errors_total{kind=\"tlscertificatedelegation\"} 0\n",
            "ingressroute_statuses_pending 0\n",
            "ingressroute_ready 0\n",
        ] {
            assert!(text.contains(line), "{line}:\n{text}");
        }
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
