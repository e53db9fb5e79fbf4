//! Kubernetes Services as the DAG sees them: ports, upstream protocol and
//! circuit-breaker annotations, ExternalName.
//!
//! A [`K8sService`] is read from a `k8s_openapi` Service once, when it enters [`Objects`],
//! so a rebuild never parses annotations again.
//!
//! [`Objects`]: crate::Objects

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core_v1;

use crate::ObjectRef;

/// The protocol Envoy speaks to an upstream port, from the
/// `contour.heptio.com/upstream-protocol.{h2,h2c,tls}` annotations (or their
/// `projectcontour.io/` twins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum UpstreamProtocol {
    /// HTTP/2 over TLS (ALPN `h2`).
    H2,
    /// HTTP/2 in clear text.
    H2c,
    /// HTTP/1.1 over TLS.
    Tls,
}

impl UpstreamProtocol {
    /// The annotation suffix naming this protocol (`h2`, `h2c`, `tls`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::H2 => "h2",
            Self::H2c => "h2c",
            Self::Tls => "tls",
        }
    }

    /// Whether Envoy must speak TLS to the upstream.
    #[must_use]
    pub fn is_tls(self) -> bool {
        matches!(self, Self::H2 | Self::Tls)
    }
}

/// Circuit-breaker limits from a Service's annotations; 0 means "not set".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CircuitBreakers {
    /// `max-connections`.
    pub max_connections: u32,
    /// `max-pending-requests`.
    pub max_pending_requests: u32,
    /// `max-requests`.
    pub max_requests: u32,
    /// `max-retries`.
    pub max_retries: u32,
}

impl CircuitBreakers {
    /// Whether any limit is set.
    #[must_use]
    pub fn is_set(&self) -> bool {
        *self != Self::default()
    }
}

/// One port of a [`K8sService`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ServicePort {
    /// The port's name; empty when unnamed.
    pub name: String,
    /// The Service port number (`spec.ports[].port`).
    pub port: i32,
    /// The upstream protocol annotated for this port, by name or number.
    pub protocol: Option<UpstreamProtocol>,
}

/// A Kubernetes Service, reduced to what routing needs.
///
/// Named for what it is: `ingressroute_api::Service` is something else, a route's
/// reference to a Service (`routes[].services[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct K8sService {
    /// Namespace and name.
    pub meta: ObjectRef,
    /// The ports, in `spec.ports` order.
    pub ports: Vec<ServicePort>,
    /// `spec.externalName` when `spec.type` is `ExternalName`.
    pub external_name: Option<String>,
    /// Circuit-breaker limits.
    pub circuit_breakers: CircuitBreakers,
}

const PROTOCOL_ANNOTATION_PREFIXES: [&str; 2] = [
    "contour.heptio.com/upstream-protocol.",
    "projectcontour.io/upstream-protocol.",
];

impl ServicePort {
    /// An unnamed (`name` empty) or named port with no upstream protocol annotated.
    #[must_use]
    pub fn new(name: impl Into<String>, port: i32) -> Self {
        Self {
            name: name.into(),
            port,
            protocol: None,
        }
    }
}

impl K8sService {
    /// A Service with no ports, no `externalName` and no circuit breakers (set the
    /// fields to change that); [`from_k8s`](Self::from_k8s) reads a real one.
    #[must_use]
    pub fn new(meta: ObjectRef) -> Self {
        Self {
            meta,
            ports: Vec::new(),
            external_name: None,
            circuit_breakers: CircuitBreakers::default(),
        }
    }

    /// Reads a Kubernetes Service. Objects without a namespace are in `default`.
    #[must_use]
    pub fn from_k8s(service: &core_v1::Service) -> Self {
        let meta = ObjectRef::from_meta(&service.metadata);
        let empty = BTreeMap::new();
        let annotations = service.metadata.annotations.as_ref().unwrap_or(&empty);

        // Later annotations overwrite earlier ones: contour.heptio.com first, then
        // projectcontour.io; h2, h2c, tls within each.
        let mut protocols: BTreeMap<&str, UpstreamProtocol> = BTreeMap::new();
        for prefix in PROTOCOL_ANNOTATION_PREFIXES {
            for protocol in [UpstreamProtocol::H2, UpstreamProtocol::H2c, UpstreamProtocol::Tls] {
                let key = format!("{prefix}{}", protocol.as_str());
                if let Some(value) = annotations.get(&key) {
                    for port in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        protocols.insert(port, protocol);
                    }
                }
            }
        }

        let spec = service.spec.as_ref();
        let ports = spec
            .and_then(|s| s.ports.as_ref())
            .map(|ports| {
                ports
                    .iter()
                    .map(|p| {
                        let name = p.name.clone().unwrap_or_default();
                        let protocol = protocols
                            .get(name.as_str())
                            .filter(|_| !name.is_empty())
                            .or_else(|| protocols.get(p.port.to_string().as_str()))
                            .copied();
                        ServicePort {
                            name,
                            port: p.port,
                            protocol,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();

        let external_name = spec
            .filter(|s| s.type_.as_deref() == Some("ExternalName"))
            .map(|s| s.external_name.clone().unwrap_or_default());

        let limit = |key: &str| -> u32 {
            annotations
                .get(&format!("projectcontour.io/{key}"))
                .or_else(|| annotations.get(&format!("contour.heptio.com/{key}")))
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        };
        let circuit_breakers = CircuitBreakers {
            max_connections: limit("max-connections"),
            max_pending_requests: limit("max-pending-requests"),
            max_requests: limit("max-requests"),
            max_retries: limit("max-retries"),
        };

        Self {
            meta,
            ports,
            external_name,
            circuit_breakers,
        }
    }

    /// Finds the port an IngressRoute service entry means by `port`: the first port whose
    /// number is `port` or whose name is `port` written in decimal.
    #[must_use]
    pub fn port(&self, port: i64) -> Option<&ServicePort> {
        // The decimal form is only written out when a port's number does not match and
        // its name could: most lookups match the first port by number and allocate
        // nothing.
        let mut decimal: Option<String> = None;
        self.ports.iter().find(|p| {
            i64::from(p.port) == port
                || (!p.name.is_empty() && p.name == *decimal.get_or_insert_with(|| port.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ServicePort as K8sPort, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn service(annotations: &[(&str, &str)], ports: &[(Option<&str>, i32)]) -> core_v1::Service {
        core_v1::Service {
            metadata: ObjectMeta {
                name: Some("kuard".into()),
                namespace: Some("default".into()),
                annotations: Some(annotations.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                ports: Some(
                    ports
                        .iter()
                        .map(|(name, port)| K8sPort {
                            name: name.map(Into::into),
                            port: *port,
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            status: None,
        }
    }

    #[test]
    fn ports_match_by_number_or_by_a_name_that_is_the_number() {
        let svc = K8sService::from_k8s(&service(&[], &[(Some("http"), 80), (Some("8080"), 9000)]));
        assert_eq!(svc.port(80).map(|p| p.name.as_str()), Some("http"));
        assert_eq!(svc.port(8080).map(|p| p.port), Some(9000));
        assert!(svc.port(443).is_none());
    }

    #[test]
    fn protocol_annotations_match_port_name_before_number_and_later_prefixes_win() {
        let svc = K8sService::from_k8s(&service(
            &[
                ("contour.heptio.com/upstream-protocol.h2", "https, 8443"),
                ("projectcontour.io/upstream-protocol.tls", "8443"),
            ],
            &[(Some("https"), 443), (None, 8443), (Some("plain"), 80)],
        ));
        let protocols: Vec<_> = svc.ports.iter().map(|p| p.protocol).collect();
        assert_eq!(
            protocols,
            [Some(UpstreamProtocol::H2), Some(UpstreamProtocol::Tls), None]
        );
    }

    #[test]
    fn circuit_breakers_prefer_projectcontour_and_ignore_garbage() {
        let svc = K8sService::from_k8s(&service(
            &[
                ("contour.heptio.com/max-connections", "10"),
                ("projectcontour.io/max-connections", "20"),
                ("contour.heptio.com/max-requests", "lots"),
                ("contour.heptio.com/max-retries", "-1"),
                ("contour.heptio.com/max-pending-requests", "7"),
            ],
            &[(None, 80)],
        ));
        assert_eq!(
            svc.circuit_breakers,
            CircuitBreakers {
                max_connections: 20,
                max_pending_requests: 7,
                max_requests: 0,
                max_retries: 0
            }
        );
    }
}
