//! The ready endpoints of every Service, by port name: what EDS serves.
//!
//! Kubernetes `Endpoints` are merged the way decision [D13](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d13) says: every ready address of
//! every subset, per port name, so a Service whose pods are split over subsets (pods with
//! different ports during a rollout) keeps all of them. Not-ready addresses are ignored,
//! and so are ports whose protocol is not TCP.
//!
//! ```text
//!  core/v1 Endpoints ──▶ ServiceEndpoints::from_k8s ─┐
//!                                                     ├──▶ Endpoints::insert_service
//!  discovery.k8s.io/v1 EndpointSlices ──▶ (merged by  │       (namespace/name → port name
//!    the controller with ServiceEndpoints::add) ──────┘        → sorted ip:port set)
//! ```

use std::net::IpAddr;

use envoy_types::pb::envoy::config::endpoint::v3 as endpoint_v3;
use ingressroute_dag::ObjectRef;
use k8s_openapi::api::core::v1 as core_v1;
use rustc_hash::FxHashMap;

use crate::wire;

/// One ready endpoint: an IP address and a port.
///
/// Ordered by the address **as a string**, then by port, which is the order Envoy gets
/// them in (as in Contour).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    address: String,
    port: u16,
}

impl Endpoint {
    /// An endpoint at `ip:port`.
    #[must_use]
    pub fn new(ip: IpAddr, port: u16) -> Self {
        Self {
            address: ip.to_string(),
            port,
        }
    }

    /// Reads an address and a port as Kubernetes writes them; `None` when the address is
    /// not an IP literal or the port is not in `1..=65535` (Envoy would reject the whole
    /// ClusterLoadAssignment for either).
    #[must_use]
    pub fn parse(address: &str, port: i32) -> Option<Self> {
        let ip: IpAddr = address.parse().ok()?;
        let port = u16::try_from(port).ok().filter(|p| *p != 0)?;
        Some(Self::new(ip, port))
    }

    /// The IP address, in its canonical text form.
    #[must_use]
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn to_lb_endpoint(&self) -> endpoint_v3::LbEndpoint {
        endpoint_v3::LbEndpoint {
            host_identifier: Some(endpoint_v3::lb_endpoint::HostIdentifier::Endpoint(
                endpoint_v3::Endpoint {
                    address: Some(crate::proto::socket_address(&self.address, u32::from(self.port), false)),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }
}

/// The ready endpoints of one Service, by port name (`""` for an unnamed port).
///
/// Kept as sorted vectors rather than a map of sets: a `BTreeMap` or `BTreeSet` node has
/// room for eleven entries however few it holds, so a Service with one port and two
/// endpoints would weigh about 900 bytes instead of about 200 (every Service of a
/// cluster has a value here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceEndpoints {
    /// By port name, sorted; each port's endpoints sorted and distinct, never empty.
    ports: Vec<(String, Vec<Endpoint>)>,
}

impl ServiceEndpoints {
    /// No endpoints.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a Kubernetes `Endpoints` object (decision [D13](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d13)): for every subset, every ready
    /// address (`addresses`, not `notReadyAddresses`) with every port whose protocol is
    /// TCP or unset. Addresses that are not IP literals and ports outside `1..=65535` are
    /// skipped.
    #[must_use]
    pub fn from_k8s(endpoints: &core_v1::Endpoints) -> Self {
        let mut result = Self::new();
        for subset in endpoints.subsets.iter().flatten() {
            let addresses = subset.addresses.iter().flatten();
            let ports: Vec<&core_v1::EndpointPort> = subset
                .ports
                .iter()
                .flatten()
                .filter(|p| p.protocol.as_deref().is_none_or(|proto| proto == "TCP"))
                .collect();
            for address in addresses {
                for port in &ports {
                    if let Some(endpoint) = Endpoint::parse(&address.ip, port.port) {
                        result.add(port.name.clone().unwrap_or_default(), endpoint);
                    }
                }
            }
        }
        result
    }

    /// Adds a ready endpoint to the port named `port_name` (`""` for an unnamed port);
    /// returns whether it was new. This is how a controller that watches EndpointSlices
    /// merges every slice of a Service into one value.
    pub fn add(&mut self, port_name: impl Into<String>, endpoint: Endpoint) -> bool {
        let port_name = port_name.into();
        let endpoints = match self.ports.binary_search_by(|(name, _)| name.as_str().cmp(&port_name)) {
            Ok(i) => match self.ports.get_mut(i) {
                Some((_, endpoints)) => endpoints,
                None => return false,
            },
            Err(i) => {
                self.ports.insert(i, (port_name, vec![endpoint]));
                return true;
            }
        };
        match endpoints.binary_search(&endpoint) {
            Ok(_) => false,
            Err(i) => {
                endpoints.insert(i, endpoint);
                true
            }
        }
    }

    /// The endpoints of one port, sorted; empty for an unknown port.
    pub fn port(&self, port_name: &str) -> impl Iterator<Item = &Endpoint> {
        self.ports
            .binary_search_by(|(name, _)| name.as_str().cmp(port_name))
            .ok()
            .and_then(|i| self.ports.get(i))
            .into_iter()
            .flat_map(|(_, endpoints)| endpoints)
    }

    /// The port names that have endpoints, sorted.
    pub fn port_names(&self) -> impl Iterator<Item = &str> {
        self.ports.iter().map(|(name, _)| name.as_str())
    }

    /// Whether there is no endpoint at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    /// Gives back the room the vectors grew beyond what they hold (for a value that is
    /// kept, once it is complete).
    fn shrink_to_fit(&mut self) {
        for (_, endpoints) in &mut self.ports {
            endpoints.shrink_to_fit();
        }
        self.ports.shrink_to_fit();
    }
}

/// The ready endpoints of every Service, keyed by the Service's namespace and name.
///
/// Feed it from watches: [`insert`](Self::insert) on every add or update of a Kubernetes
/// `Endpoints`, [`remove`](Self::remove) on delete. Translation only reads the endpoints
/// of the Service ports that clusters use.
///
/// ```
/// use ingressroute_dag::ObjectRef;
/// use ingressroute_envoy::{Endpoint, Endpoints, ServiceEndpoints};
///
/// let mut ready = ServiceEndpoints::new();
/// ready.add("http", Endpoint::parse("10.0.0.1", 8080).unwrap());
/// let mut endpoints = Endpoints::new();
/// endpoints.insert_service(ObjectRef::new("default", "kuard"), ready);
/// let kuard = endpoints.get(&ObjectRef::new("default", "kuard")).unwrap();
/// assert_eq!(kuard.port("http").count(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Hashed: a translation looks up the endpoints of every cluster's Service, and a
    /// sorted map compares names at every level.
    services: FxHashMap<ObjectRef, ServiceEndpoints>,
}

impl Endpoints {
    /// No endpoints at all.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces the endpoints of the Service a Kubernetes `Endpoints` object
    /// belongs to (same namespace and name); returns that Service's reference. Objects
    /// without a namespace are in `default`.
    pub fn insert(&mut self, endpoints: &core_v1::Endpoints) -> ObjectRef {
        let key = ObjectRef::from_meta(&endpoints.metadata);
        self.insert_service(key.clone(), ServiceEndpoints::from_k8s(endpoints));
        key
    }

    /// Inserts or replaces the endpoints of a Service from already extracted addresses
    /// (for example merged from its EndpointSlices).
    pub fn insert_service(&mut self, service: ObjectRef, mut endpoints: ServiceEndpoints) {
        endpoints.shrink_to_fit();
        self.services.insert(service, endpoints);
    }

    /// Removes the endpoints of a Service; returns whether there were any stored.
    pub fn remove(&mut self, service: &ObjectRef) -> bool {
        self.services.remove(service).is_some()
    }

    /// The endpoints of a Service.
    #[must_use]
    pub fn get(&self, service: &ObjectRef) -> Option<&ServiceEndpoints> {
        self.services.get(service)
    }

    /// The Services with stored endpoints, by namespace then name.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectRef, &ServiceEndpoints)> {
        let mut services: Vec<(&ObjectRef, &ServiceEndpoints)> = self.services.iter().collect();
        services.sort_unstable_by(|a, b| a.0.cmp(b.0));
        services.into_iter()
    }

    /// How many Services have stored endpoints.
    #[must_use]
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// Whether no Service has stored endpoints.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// The ClusterLoadAssignment of an EDS service name (`namespace/service/portName`, or
    /// `namespace/service` for an unnamed port, as [`names::service_name`] writes them):
    /// what an EDS server answers for any requested name, empty for a name it does not know.
    ///
    /// [`names::service_name`]: crate::names::service_name
    #[must_use]
    pub fn cluster_load_assignment(&self, service_name: &str) -> endpoint_v3::ClusterLoadAssignment {
        let mut parts = service_name.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(namespace), Some(name), port_name) => self.load_assignment(
                service_name,
                &ObjectRef::new(namespace, name),
                port_name.unwrap_or_default(),
            ),
            _ => endpoint_v3::ClusterLoadAssignment {
                cluster_name: service_name.to_owned(),
                ..Default::default()
            },
        }
    }

    /// The ClusterLoadAssignment named `cluster_name` with the endpoints of one port of a
    /// Service: one locality holding every ready endpoint, or no locality at all when
    /// there is none (so Envoy gets an empty assignment instead of waiting for one).
    #[must_use]
    pub fn load_assignment(
        &self,
        cluster_name: &str,
        service: &ObjectRef,
        port_name: &str,
    ) -> endpoint_v3::ClusterLoadAssignment {
        let lb_endpoints: Vec<endpoint_v3::LbEndpoint> = self
            .get(service)
            .into_iter()
            .flat_map(|s| s.port(port_name))
            .map(Endpoint::to_lb_endpoint)
            .collect();
        let endpoints = if lb_endpoints.is_empty() {
            Vec::new()
        } else {
            vec![endpoint_v3::LocalityLbEndpoints {
                lb_endpoints,
                ..Default::default()
            }]
        };
        endpoint_v3::ClusterLoadAssignment {
            cluster_name: cluster_name.to_owned(),
            endpoints,
            ..Default::default()
        }
    }
}

/// The `type_url` of a packed `ClusterLoadAssignment`.
const LOAD_ASSIGNMENT_TYPE_URL: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

impl Endpoints {
    /// [`load_assignment`](Self::load_assignment) packed as [`pack`](crate::pack) packs it,
    /// written directly (every Service of a first build has one: writing ten thousand
    /// without building them as messages first is what this is for).
    pub(crate) fn encoded_load_assignment(&self, cluster_name: &str, service: &ObjectRef, port_name: &str) -> Vec<u8> {
        let service = self.get(service);
        // An endpoint takes about 30 bytes (an IPv4 address).
        let count = service.map_or(0, |s| s.port(port_name).count());
        let capacity = cluster_name.len() + 8 + 30 * count;
        let mut endpoints = service.into_iter().flat_map(|s| s.port(port_name)).peekable();
        wire::any(LOAD_ASSIGNMENT_TYPE_URL, capacity, |buf| {
            // ClusterLoadAssignment: cluster_name = 1, endpoints = 2 (LocalityLbEndpoints:
            // lb_endpoints = 2).
            wire::string(1, cluster_name, buf);
            if endpoints.peek().is_some() {
                wire::message(2, buf, |buf| {
                    for endpoint in endpoints {
                        wire::message(2, buf, |buf| endpoint.encode_lb_endpoint(buf));
                    }
                });
            }
        })
    }
}

impl Endpoint {
    /// The fields of [`to_lb_endpoint`](Self::to_lb_endpoint)'s encoding: LbEndpoint
    /// endpoint = 1 (a oneof), Endpoint address = 1, Address socket_address = 1 (a oneof),
    /// SocketAddress protocol = 1 (TCP, the default), address = 2, port_value = 3 (a oneof).
    fn encode_lb_endpoint(&self, buf: &mut Vec<u8>) {
        wire::message(1, buf, |buf| {
            wire::message(1, buf, |buf| {
                wire::message(1, buf, |buf| {
                    wire::string(2, &self.address, buf);
                    wire::oneof_uint32(3, u32::from(self.port), buf);
                });
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, EndpointSubset};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn address(ip: &str) -> EndpointAddress {
        EndpointAddress {
            ip: ip.into(),
            ..Default::default()
        }
    }

    fn port(name: Option<&str>, port: i32, protocol: Option<&str>) -> EndpointPort {
        EndpointPort {
            name: name.map(Into::into),
            port,
            protocol: protocol.map(Into::into),
            ..Default::default()
        }
    }

    fn k8s(subsets: Vec<EndpointSubset>) -> core_v1::Endpoints {
        core_v1::Endpoints {
            metadata: ObjectMeta {
                name: Some("kuard".into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            subsets: Some(subsets),
        }
    }

    fn listed(endpoints: &ServiceEndpoints, port: &str) -> Vec<String> {
        endpoints
            .port(port)
            .map(|e| format!("{}:{}", e.address(), e.port()))
            .collect()
    }

    #[test]
    fn all_ready_addresses_of_all_subsets_are_merged_per_port_name() {
        let endpoints = ServiceEndpoints::from_k8s(&k8s(vec![
            EndpointSubset {
                addresses: Some(vec![address("10.0.0.2"), address("10.0.0.1")]),
                ports: Some(vec![port(Some("http"), 8080, Some("TCP"))]),
                ..Default::default()
            },
            EndpointSubset {
                addresses: Some(vec![address("10.0.0.3")]),
                not_ready_addresses: Some(vec![address("10.0.0.9")]),
                ports: Some(vec![port(Some("http"), 9090, None)]),
            },
        ]));
        assert_eq!(
            listed(&endpoints, "http"),
            ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:9090"]
        );
    }

    #[test]
    fn not_ready_addresses_and_non_tcp_ports_are_ignored() {
        let endpoints = ServiceEndpoints::from_k8s(&k8s(vec![EndpointSubset {
            addresses: None,
            not_ready_addresses: Some(vec![address("10.0.0.9")]),
            ports: Some(vec![port(Some("http"), 8080, None)]),
        }]));
        assert!(endpoints.is_empty());
        let endpoints = ServiceEndpoints::from_k8s(&k8s(vec![EndpointSubset {
            addresses: Some(vec![address("10.0.0.1")]),
            ports: Some(vec![
                port(Some("dns"), 53, Some("UDP")),
                port(Some("sctp"), 9, Some("SCTP")),
            ]),
            ..Default::default()
        }]));
        assert!(endpoints.is_empty());
    }

    #[test]
    fn endpoints_sort_by_address_as_a_string_then_port() {
        let endpoints = ServiceEndpoints::from_k8s(&k8s(vec![EndpointSubset {
            addresses: Some(vec![address("10.0.0.10"), address("10.0.0.9"), address("10.0.0.10")]),
            ports: Some(vec![port(None, 80, None), port(None, 443, None)]),
            ..Default::default()
        }]));
        // "10.0.0.10" < "10.0.0.9" as strings; ports compare as numbers.
        assert_eq!(
            listed(&endpoints, ""),
            ["10.0.0.10:80", "10.0.0.10:443", "10.0.0.9:80", "10.0.0.9:443"]
        );
    }

    #[test]
    fn garbage_addresses_and_ports_are_skipped() {
        let endpoints = ServiceEndpoints::from_k8s(&k8s(vec![EndpointSubset {
            addresses: Some(vec![address("not-an-ip"), address("fd00::1"), address("10.0.0.1")]),
            ports: Some(vec![
                port(Some("http"), 0, None),
                port(Some("big"), 70000, None),
                port(Some("ok"), 80, None),
            ]),
            ..Default::default()
        }]));
        assert_eq!(listed(&endpoints, "ok"), ["10.0.0.1:80", "fd00::1:80"]);
        assert_eq!(endpoints.port_names().collect::<Vec<_>>(), ["ok"]);
    }

    #[test]
    fn insert_replaces_and_remove_forgets() {
        let mut index = Endpoints::new();
        let key = index.insert(&k8s(vec![EndpointSubset {
            addresses: Some(vec![address("10.0.0.1")]),
            ports: Some(vec![port(Some("http"), 80, None)]),
            ..Default::default()
        }]));
        assert_eq!(key, ObjectRef::new("default", "kuard"));
        index.insert(&k8s(vec![]));
        assert!(index.get(&key).unwrap().is_empty());
        assert_eq!(index.len(), 1);
        assert!(index.remove(&key));
        assert!(!index.remove(&key));
        assert!(index.is_empty());
    }

    #[test]
    fn a_load_assignment_without_endpoints_has_no_locality() {
        let index = Endpoints::new();
        let cla = index.load_assignment("default/kuard/http", &ObjectRef::new("default", "kuard"), "http");
        assert_eq!(cla.cluster_name, "default/kuard/http");
        assert!(cla.endpoints.is_empty());
    }

    #[test]
    fn load_assignments_can_be_looked_up_by_eds_service_name() {
        let mut ready = ServiceEndpoints::new();
        ready.add("http", Endpoint::parse("10.0.0.1", 80).unwrap());
        ready.add("", Endpoint::parse("10.0.0.2", 81).unwrap());
        let mut index = Endpoints::new();
        index.insert_service(ObjectRef::new("default", "kuard"), ready);
        let named = index.cluster_load_assignment("default/kuard/http");
        assert_eq!(named.cluster_name, "default/kuard/http");
        assert_eq!(named.endpoints[0].lb_endpoints.len(), 1);
        let unnamed = index.cluster_load_assignment("default/kuard");
        assert_eq!(unnamed.endpoints[0].lb_endpoints.len(), 1);
        for unknown in ["default/kuard/metrics", "default/other", "nonsense", ""] {
            let cla = index.cluster_load_assignment(unknown);
            assert_eq!(cla.cluster_name, unknown);
            assert!(cla.endpoints.is_empty());
        }
    }

    #[test]
    fn a_load_assignment_written_directly_is_what_prost_encodes() {
        let mut ready = ServiceEndpoints::new();
        ready.add("http", Endpoint::parse("10.0.0.2", 80).unwrap());
        ready.add("http", Endpoint::parse("10.0.0.1", 65535).unwrap());
        ready.add("", Endpoint::parse("fd00::1", 1).unwrap());
        for i in 0..20 {
            // Enough endpoints for a locality of more than 127 bytes (a longer length).
            ready.add("many", Endpoint::parse(&format!("10.1.0.{i}"), 8080).unwrap());
        }
        let mut index = Endpoints::new();
        let key = ObjectRef::new("default", "kuard");
        index.insert_service(key.clone(), ready);
        let cases = [
            ("default/kuard/http", &key, "http"),
            ("default/kuard", &key, ""),
            ("default/kuard/many", &key, "many"),
            ("default/kuard/missing", &key, "missing"),
            ("default/other", &ObjectRef::new("default", "other"), ""),
            ("", &ObjectRef::new("default", "other"), ""),
        ];
        for (name, service, port) in cases {
            assert_eq!(
                index.encoded_load_assignment(name, service, port),
                crate::pack(&index.load_assignment(name, service, port)).to_vec(),
                "{name}"
            );
        }
        assert_eq!(
            LOAD_ASSIGNMENT_TYPE_URL,
            <endpoint_v3::ClusterLoadAssignment as prost::Name>::type_url()
        );
    }

    #[test]
    fn a_load_assignment_has_one_locality_with_the_sorted_endpoints() {
        let mut ready = ServiceEndpoints::new();
        ready.add("http", Endpoint::parse("10.0.0.2", 80).unwrap());
        ready.add("http", Endpoint::parse("10.0.0.1", 80).unwrap());
        assert!(!ready.add("http", Endpoint::parse("10.0.0.1", 80).unwrap()));
        let mut index = Endpoints::new();
        let key = ObjectRef::new("default", "kuard");
        index.insert_service(key.clone(), ready);
        let cla = index.load_assignment("default/kuard/http", &key, "http");
        assert_eq!(cla.endpoints.len(), 1);
        assert_eq!(cla.endpoints[0].lb_endpoints.len(), 2);
    }
}
