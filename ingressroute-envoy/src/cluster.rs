//! CDS: one Envoy cluster per distinct upstream ([behaviour §4.9](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-9) with decisions [D3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d3) and [D7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d7)).

use std::collections::BTreeMap;
use std::sync::Arc;

use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use envoy_types::pb::envoy::extensions::upstreams::http::v3 as upstream_http_v3;
use envoy_types::pb::envoy::r#type::matcher::v3 as matcher_v3;
use envoy_types::pb::envoy::r#type::v3 as type_v3;
use ingressroute_dag::{
    Cluster, K8sService, LoadBalancer, ObjectRef, ServedHealthCheck, ServedUpstreamValidation, UpstreamProtocol,
};
use prost::{Message, Name};
use rustc_hash::FxHashMap;

use crate::config::ConfigSource;
use crate::names;
use crate::proto;
use crate::resources::{Reference, ResourceKind, cluster_refs};
use crate::wire;

/// The `typed_extension_protocol_options` key of upstream HTTP protocol options.
pub const HTTP_PROTOCOL_OPTIONS: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
/// The `Host` header of health checks without one.
pub const DEFAULT_HEALTH_CHECK_HOST: &str = "contour-envoy-healthcheck";

/// Connect timeout of every cluster: 250 ms.
const CONNECT_TIMEOUT_MILLIS: u64 = 250;
/// Health-check defaults (decision [D7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d7): the documented 5 s interval).
const HEALTH_CHECK_TIMEOUT_SECONDS: u64 = 2;
const HEALTH_CHECK_INTERVAL_SECONDS: u64 = 5;
const HEALTH_CHECK_UNHEALTHY_THRESHOLD: u32 = 3;
const HEALTH_CHECK_HEALTHY_THRESHOLD: u32 = 2;
/// The longest SNI Envoy accepts.
const MAX_SNI_BYTES: usize = 255;

/// The Service port whose endpoints an EDS cluster uses: the Service shared with the
/// DAG (a translation makes one per cluster, and an incremental one keeps it).
#[derive(Debug, Clone)]
pub(crate) struct EdsService {
    pub(crate) service: Arc<K8sService>,
    pub(crate) port_name: String,
}

impl EdsService {
    /// The Service's reference, which its endpoints are stored under.
    pub(crate) fn service(&self) -> &ObjectRef {
        &self.service.meta
    }

    /// Whether both are the same copy of the same port (a Service inserted again makes
    /// a new copy, which replaces the kept one).
    pub(crate) fn is(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.service, &other.service) && self.port_name == other.port_name
    }
}

/// What a cluster's name is computed from, compared cheaply: the Service by identity
/// (every upstream of one build shares the Service's `Arc`), the rest by value.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ClusterKey<'a> {
    service: *const ingressroute_dag::K8sService,
    port: i32,
    strategy: Option<&'a str>,
    health_check: Option<&'a ServedHealthCheck>,
    validation: Option<(*const ingressroute_dag::Secret, &'a str)>,
}

impl<'a> ClusterKey<'a> {
    fn of(cluster: &'a Cluster) -> Self {
        Self {
            service: Arc::as_ptr(&cluster.service),
            port: cluster.port.port,
            strategy: cluster.strategy.as_deref(),
            health_check: cluster.health_check.as_deref(),
            validation: cluster
                .validation
                .as_ref()
                .map(|v| (Arc::as_ptr(&v.ca_secret), v.subject_name.as_str())),
        }
    }
}

/// The clusters a translation uses, by name, and the EDS services they read.
///
/// Adding a cluster only notes the upstream it is built from: the Envoy `Cluster`s
/// (kilobytes each) are built by [`into_parts`](Self::into_parts) straight into the
/// sorted list it returns, so none is boxed or moved around on the way.
#[derive(Debug, Default)]
pub(crate) struct ClusterSet<'a> {
    /// The upstream each cluster name is built from (the first one added of that name).
    clusters: BTreeMap<Arc<str>, &'a Cluster>,
    /// Each distinct upstream's name, and whether its cluster was added: a name hashes
    /// its inputs (SHA-1), and most upstreams are used by many routes. Shared, as every
    /// route that uses the upstream names it, and with the resources that name it.
    entries: Vec<(Arc<str>, bool)>,
    /// The entry of what a name is computed from.
    by_key: FxHashMap<ClusterKey<'a>, usize>,
    /// The entry of an upstream by its address: the routes of a build share one
    /// `Cluster` per plain upstream (see `ingressroute_dag`'s model), so most lookups
    /// take this, cheaper, way.
    by_address: FxHashMap<*const Cluster, usize>,
}

impl<'a> ClusterSet<'a> {
    /// The name of an upstream's cluster, without adding the cluster.
    pub(crate) fn name(&mut self, cluster: &'a Cluster) -> Arc<str> {
        let index = self.entry(cluster);
        self.entries
            .get(index)
            .map(|(name, _)| Arc::clone(name))
            .unwrap_or_else(|| Arc::from(""))
    }

    /// The index in `entries` of an upstream's entry, made if new.
    fn entry(&mut self, cluster: &'a Cluster) -> usize {
        let address: *const Cluster = cluster;
        if let Some(index) = self.by_address.get(&address) {
            return *index;
        }
        let entries = &mut self.entries;
        let index = *self.by_key.entry(ClusterKey::of(cluster)).or_insert_with(|| {
            entries.push((Arc::from(names::cluster_name(cluster)), false));
            entries.len() - 1
        });
        self.by_address.insert(address, index);
        index
    }

    /// Adds the cluster of an upstream, unless one of that name is there already (the
    /// name hashes everything the cluster is built from); returns its name.
    pub(crate) fn add(&mut self, cluster: &'a Cluster) -> Arc<str> {
        let index = self.entry(cluster);
        let Some((name, added)) = self.entries.get_mut(index) else {
            return Arc::from("");
        };
        if !*added {
            *added = true;
            if !self.clusters.contains_key(&**name) {
                self.clusters.insert(Arc::clone(name), cluster);
            }
        }
        Arc::clone(name)
    }

    /// How many clusters were added.
    pub(crate) fn len(&self) -> usize {
        self.clusters.len()
    }

    /// The clusters, sorted by name, and the EDS services they use, sorted by service name.
    pub(crate) fn into_parts(self, source: &ConfigSource) -> (Vec<cluster_v3::Cluster>, BTreeMap<String, EdsService>) {
        let mut clusters = Vec::with_capacity(self.clusters.len());
        let eds = self.each(source, |cluster, _| clusters.push(cluster));
        (clusters, eds)
    }

    /// Hands each cluster, in name order, to `take` with the EDS service name it reads
    /// (`None` for an ExternalName Service), one at a time: a caller that encodes them
    /// never holds them all (kilobytes each). Returns the EDS services they use, sorted by
    /// service name.
    pub(crate) fn each(
        self,
        source: &ConfigSource,
        mut take: impl FnMut(cluster_v3::Cluster, Option<&str>),
    ) -> BTreeMap<String, EdsService> {
        let mut eds = BTreeMap::new();
        self.visit(
            |service_name| service_name,
            |name, cluster, service_name| {
                take(
                    build(name.to_string(), cluster, service_name.cloned(), source),
                    service_name.map(String::as_str),
                );
            },
            |name, service| {
                eds.insert(name, service);
            },
        );
        eds
    }

    /// As [`each`](Self::each), handing each cluster encoded instead (the packed `Any`
    /// that [`pack`](crate::pack) makes of it, with its references), written without
    /// building the message ([`encode`]); the EDS services come unsorted.
    pub(crate) fn each_encoded(
        self,
        source: &ConfigSource,
        mut take: impl FnMut(EncodedCluster, Option<&Arc<str>>),
    ) -> FxHashMap<Arc<str>, EdsService> {
        let eds_config = proto::config_source(source).encode_to_vec();
        let mut eds = FxHashMap::default();
        self.visit(
            Arc::from,
            |name, cluster, service_name| take(encode(name, cluster, service_name, &eds_config), service_name),
            |name, service| {
                eds.insert(name, service);
            },
        );
        eds
    }

    /// Hands each cluster's name, upstream and EDS service name to `take`, in name order,
    /// and each EDS service it reads to `read`, the EDS service name made once, as
    /// `service_name` turns it (a `String` for prost messages; an `Arc<str>` the encoded
    /// cluster's reference shares). The cluster's name is shared with the routes that name
    /// it.
    fn visit<N>(
        self,
        service_name: impl Fn(String) -> N,
        mut take: impl FnMut(Arc<str>, &Cluster, Option<&N>),
        mut read: impl FnMut(N, EdsService),
    ) {
        for (name, cluster) in self.clusters {
            let service_name: Option<N> = cluster
                .service
                .external_name
                .is_none()
                .then(|| service_name(names::service_name(&cluster.service, &cluster.port)));
            take(name, cluster, service_name.as_ref());
            if let Some(service_name) = service_name {
                read(
                    service_name,
                    EdsService {
                        service: Arc::clone(&cluster.service),
                        port_name: cluster.port.name.clone(),
                    },
                );
            }
        }
    }
}

/// A cluster written directly: its name, its packed `Any` and the resources it names.
#[derive(Debug)]
pub(crate) struct EncodedCluster {
    pub(crate) name: Arc<str>,
    pub(crate) any: Vec<u8>,
    pub(crate) references: Vec<Reference>,
}

fn lb_policy(lb: LoadBalancer) -> cluster_v3::cluster::LbPolicy {
    match lb {
        LoadBalancer::WeightedLeastRequest => cluster_v3::cluster::LbPolicy::LeastRequest,
        LoadBalancer::Random => cluster_v3::cluster::LbPolicy::Random,
        LoadBalancer::Cookie => cluster_v3::cluster::LbPolicy::RingHash,
        LoadBalancer::RoundRobin => cluster_v3::cluster::LbPolicy::RoundRobin,
    }
}

/// Builds the Envoy cluster `name` of an upstream; `service_name` is the EDS service name
/// of its Service port, `None` for an ExternalName Service.
fn build(name: String, cluster: &Cluster, service_name: Option<String>, source: &ConfigSource) -> cluster_v3::Cluster {
    use cluster_v3::cluster::{ClusterDiscoveryType, DiscoveryType};

    let service = &cluster.service;
    let port = &cluster.port;
    let mut result = cluster_v3::Cluster {
        name,
        alt_stat_name: names::alt_stat_name(service, port),
        connect_timeout: Some(proto::millis(CONNECT_TIMEOUT_MILLIS)),
        common_lb_config: Some(cluster_v3::cluster::CommonLbConfig {
            healthy_panic_threshold: Some(type_v3::Percent { value: 0.0 }),
            ..Default::default()
        }),
        lb_policy: lb_policy(cluster.load_balancer()).into(),
        ..extras(cluster)
    };
    match (&service.external_name, service_name) {
        (Some(_), _) => {
            result.cluster_discovery_type = Some(ClusterDiscoveryType::Type(DiscoveryType::StrictDns.into()));
        }
        (None, service_name) => {
            result.cluster_discovery_type = Some(ClusterDiscoveryType::Type(DiscoveryType::Eds.into()));
            result.eds_cluster_config = Some(cluster_v3::cluster::EdsClusterConfig {
                eds_config: Some(proto::config_source(source)),
                service_name: service_name.unwrap_or_else(|| names::service_name(service, port)),
            });
        }
    }
    result
}

/// Whether an upstream's cluster has any of the fields [`extras`] sets (most have none).
fn has_extras(cluster: &Cluster) -> bool {
    cluster.health_check.is_some()
        || cluster.service.circuit_breakers.is_set()
        || cluster.service.external_name.is_some()
        || matches!(
            cluster.port.protocol,
            Some(UpstreamProtocol::Tls | UpstreamProtocol::H2 | UpstreamProtocol::H2c)
        )
}

/// The fields of an upstream's cluster that only some clusters have, alone in a
/// `Cluster`: the ExternalName address (DNS lookup family and inline load assignment),
/// health checks, circuit breakers, upstream TLS and HTTP/2. Empty unless
/// [`has_extras`].
fn extras(cluster: &Cluster) -> cluster_v3::Cluster {
    use cluster_v3::cluster::DnsLookupFamily;

    let service = &cluster.service;
    let port = &cluster.port;
    let mut result = cluster_v3::Cluster::default();
    if let Some(host) = &service.external_name {
        // Names like `localhost` (allowed for local development) resolve to IPv4
        // first, where the default AUTO would try IPv6 first.
        result.dns_lookup_family = DnsLookupFamily::V4Preferred.into();
        let port_value = u32::try_from(port.port).unwrap_or(0);
        // An IPv6 literal may be written in brackets; Envoy wants the bare address.
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        result.load_assignment = Some(endpoint_v3::ClusterLoadAssignment {
            cluster_name: names::external_name_load_assignment_name(service, port),
            endpoints: vec![endpoint_v3::LocalityLbEndpoints {
                lb_endpoints: vec![endpoint_v3::LbEndpoint {
                    host_identifier: Some(endpoint_v3::lb_endpoint::HostIdentifier::Endpoint(
                        endpoint_v3::Endpoint {
                            address: Some(proto::socket_address(host, port_value, false)),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
    }

    if let Some(hc) = &cluster.health_check {
        result.health_checks = vec![health_check(hc)];
        result.ignore_health_on_host_removal = true;
    }

    if service.circuit_breakers.is_set() {
        let limits = &service.circuit_breakers;
        let limit = |value: u32| (value > 0).then(|| proto::u32_value(value)).flatten();
        result.circuit_breakers = Some(cluster_v3::CircuitBreakers {
            thresholds: vec![cluster_v3::circuit_breakers::Thresholds {
                max_connections: limit(limits.max_connections),
                max_pending_requests: limit(limits.max_pending_requests),
                max_requests: limit(limits.max_requests),
                max_retries: limit(limits.max_retries),
                ..Default::default()
            }],
            ..Default::default()
        });
    }

    match port.protocol {
        Some(UpstreamProtocol::Tls) => {
            result.transport_socket = Some(upstream_tls(cluster.validation.as_deref(), &[]));
        }
        Some(UpstreamProtocol::H2) => {
            result.transport_socket = Some(upstream_tls(cluster.validation.as_deref(), &["h2"]));
            set_http2(&mut result);
        }
        Some(UpstreamProtocol::H2c) => set_http2(&mut result),
        // `UpstreamProtocol` is non-exhaustive: anything new is spoken as plain HTTP/1.1
        // until this crate learns it.
        _ => {}
    }
    result
}

/// The `type_url` of a packed `Cluster`.
const CLUSTER_TYPE_URL: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

/// The cluster [`build`] makes, packed as [`pack`](crate::pack) packs it, written
/// directly: the fields every cluster has are written here, the [`extras`] of the few
/// upstreams that have them by prost, each in its place in tag order. `eds_config` is the
/// encoded EDS config source.
fn encode(name: Arc<str>, cluster: &Cluster, service_name: Option<&Arc<str>>, eds_config: &[u8]) -> EncodedCluster {
    use cluster_v3::cluster::DiscoveryType;

    let mut references = Vec::new();
    // Cluster tags up to 24 (health checks 8, circuit breakers 10, DNS lookup family 17,
    // transport socket 24), then 32 and above (ignore_health_on_host_removal 32, load
    // assignment 33, typed_extension_protocol_options 36): around the common ones, 27 and 28.
    debug_assert!(
        has_extras(cluster) || extras(cluster) == cluster_v3::Cluster::default(),
        "has_extras misses a field extras sets"
    );
    let extras = has_extras(cluster).then(|| {
        let mut early = extras(cluster);
        let late = cluster_v3::Cluster {
            ignore_health_on_host_removal: std::mem::take(&mut early.ignore_health_on_host_removal),
            load_assignment: early.load_assignment.take(),
            typed_extension_protocol_options: std::mem::take(&mut early.typed_extension_protocol_options),
            ..Default::default()
        };
        references = cluster_refs(&early).unwrap_or_default();
        (early, late)
    });
    let mut port = itoa::Buffer::new();
    let alt_stat_name = names::alt_stat_name_parts(&cluster.service, &cluster.port, &mut port);
    let alt_stat_name_len: usize = alt_stat_name.iter().map(|part| part.len()).sum();
    // What every cluster writes (about 40 bytes) and its names.
    let capacity = 40 + name.len() + eds_config.len() + 2 * service_name.map_or(alt_stat_name_len, |s| s.len());
    let any = wire::any(CLUSTER_TYPE_URL, capacity, |buf| {
        wire::string(1, &name, buf);
        match service_name {
            Some(service_name) => {
                // type = 2 (a oneof), eds_cluster_config = 3 (eds_config = 1, service_name = 2).
                wire::oneof_enumeration(2, DiscoveryType::Eds.into(), buf);
                wire::message(3, buf, |buf| {
                    wire::encoded_message(1, eds_config, buf);
                    wire::string(2, service_name, buf);
                });
            }
            None => wire::oneof_enumeration(2, DiscoveryType::StrictDns.into(), buf),
        }
        // connect_timeout = 4, lb_policy = 6.
        wire::message(4, buf, |buf| {
            wire::duration(std::time::Duration::from_millis(CONNECT_TIMEOUT_MILLIS), buf);
        });
        wire::enumeration(6, lb_policy(cluster.load_balancer()).into(), buf);
        if let Some((early, _)) = &extras {
            wire::prost_fields(early, buf);
        }
        // common_lb_config = 27 (healthy_panic_threshold = 1: a Percent of 0, empty).
        wire::message(27, buf, |buf| wire::message(1, buf, |_| {}));
        // alt_stat_name = 28, never empty.
        wire::oneof_string_of(28, &alt_stat_name, buf);
        if let Some((_, late)) = &extras {
            wire::prost_fields(late, buf);
        }
    });
    if let Some(service_name) = service_name {
        references.push(Reference::new(
            ResourceKind::ClusterLoadAssignment,
            Arc::clone(service_name),
        ));
    }
    EncodedCluster { name, any, references }
}

/// An active HTTP health check with the defaults of decision [D7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d7) for every zero.
fn health_check(hc: &ServedHealthCheck) -> core_v3::HealthCheck {
    let or = |value: u64, default: u64| if value > 0 { value } else { default };
    let or32 = |value: u32, default: u32| if value > 0 { value } else { default };
    let interval = or(hc.interval_seconds, HEALTH_CHECK_INTERVAL_SECONDS);
    core_v3::HealthCheck {
        timeout: Some(proto::seconds(or(hc.timeout_seconds, HEALTH_CHECK_TIMEOUT_SECONDS))),
        interval: Some(proto::seconds(interval)),
        // Envoy checks a cluster that has not carried traffic yet only every
        // `no_traffic_interval` (60 s by default), whatever `interval` says: a new
        // upstream would be reported healthy or unhealthy a minute late. Use the interval
        // the IngressRoute asked for.
        no_traffic_interval: Some(proto::seconds(interval)),
        unhealthy_threshold: proto::u32_value(or32(hc.unhealthy_threshold, HEALTH_CHECK_UNHEALTHY_THRESHOLD)),
        healthy_threshold: proto::u32_value(or32(hc.healthy_threshold, HEALTH_CHECK_HEALTHY_THRESHOLD)),
        health_checker: Some(core_v3::health_check::HealthChecker::HttpHealthCheck(
            core_v3::health_check::HttpHealthCheck {
                path: hc.path.clone(),
                host: hc
                    .host
                    .clone()
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| DEFAULT_HEALTH_CHECK_HOST.to_owned()),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// The upstream TLS transport socket: verification against the CA and the subject name
/// (sent as SNI too, decision [D3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d3)) when validation is in effect, and `alpn`.
fn upstream_tls(validation: Option<&ServedUpstreamValidation>, alpn: &[&str]) -> core_v3::TransportSocket {
    let validation_context = validation.and_then(|v| {
        let ca = v.ca_secret.ca.as_ref().filter(|ca| !ca.is_empty())?;
        Some(tls_v3::common_tls_context::ValidationContextType::ValidationContext(
            tls_v3::CertificateValidationContext {
                trusted_ca: Some(core_v3::DataSource {
                    specifier: Some(core_v3::data_source::Specifier::InlineBytes(ca.clone())),
                    ..Default::default()
                }),
                match_typed_subject_alt_names: vec![tls_v3::SubjectAltNameMatcher {
                    san_type: tls_v3::subject_alt_name_matcher::SanType::Dns.into(),
                    matcher: Some(matcher_v3::StringMatcher {
                        match_pattern: Some(matcher_v3::string_matcher::MatchPattern::Exact(v.subject_name.clone())),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ))
    });
    let sni = match (&validation_context, validation) {
        (Some(_), Some(v)) if v.subject_name.len() <= MAX_SNI_BYTES => v.subject_name.clone(),
        _ => String::new(),
    };
    proto::tls_transport_socket(&tls_v3::UpstreamTlsContext {
        common_tls_context: Some(tls_v3::CommonTlsContext {
            alpn_protocols: alpn.iter().map(|p| (*p).to_owned()).collect(),
            validation_context_type: validation_context,
            ..Default::default()
        }),
        sni,
        ..Default::default()
    })
}

/// Makes Envoy speak HTTP/2 to the upstream (the v3 replacement of
/// `http2_protocol_options`).
fn set_http2(cluster: &mut cluster_v3::Cluster) {
    let options = upstream_http_v3::HttpProtocolOptions {
        upstream_protocol_options: Some(
            upstream_http_v3::http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(
                upstream_http_v3::http_protocol_options::ExplicitHttpConfig {
                    protocol_config: Some(
                        upstream_http_v3::http_protocol_options::explicit_http_config::ProtocolConfig::Http2ProtocolOptions(
                            core_v3::Http2ProtocolOptions::default(),
                        ),
                    ),
                },
            ),
        ),
        ..Default::default()
    };
    debug_assert_eq!(
        upstream_http_v3::HttpProtocolOptions::full_name(),
        HTTP_PROTOCOL_OPTIONS
    );
    // A single entry: the map type is a `HashMap`, which only encodes deterministically
    // with at most one entry.
    cluster
        .typed_extension_protocol_options
        .insert(HTTP_PROTOCOL_OPTIONS.to_owned(), proto::any(&options));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_type_url_is_prosts() {
        assert_eq!(CLUSTER_TYPE_URL, cluster_v3::Cluster::type_url());
    }
}
