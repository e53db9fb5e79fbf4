//! Statuses and the exact status descriptions.
//!
//! Every description Contour v1.0.1 writes is reproduced word for word; the ones Contour
//! never produced (decisions [D3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d3)-D18, and checks that keep Envoy from rejecting a whole
//! configuration) follow the same style: lowercase, the route first, Go `%q` quoting.
//! All of them are built by the functions of [`messages`], and nowhere else.

use std::fmt;

use ingressroute_api::{IngressRouteStatus, STATUS_INVALID, STATUS_ORPHANED, STATUS_VALID};

/// The `currentStatus` of an IngressRoute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CurrentStatus {
    /// Served (roots: accepted; others: reached by a valid delegation chain).
    Valid,
    /// Has an error; nothing of it is served.
    Invalid,
    /// Not a root, and no valid delegation chain reaches it.
    Orphaned,
}

impl CurrentStatus {
    /// `valid`, `invalid` or `orphaned`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => STATUS_VALID,
            Self::Invalid => STATUS_INVALID,
            Self::Orphaned => STATUS_ORPHANED,
        }
    }
}

impl fmt::Display for CurrentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an IngressRoute has its status: a stable, machine-readable classification of the
/// description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// `valid IngressRoute`.
    Valid,
    /// Not reached by any valid delegation chain.
    Orphaned,
    /// Another root uses the same fqdn.
    DuplicateFqdn,
    /// A root outside the configured root namespaces.
    RootNamespaceNotAllowed,
    /// The fqdn is blank.
    FqdnMissing,
    /// The fqdn contains `*`.
    FqdnWildcard,
    /// The fqdn contains characters no host name has.
    FqdnInvalid,
    /// The TLS Secret is missing or unusable.
    TlsSecretNotFound,
    /// The TLS Secret is in another namespace that does not delegate it.
    CertificateDelegationNotPermitted,
    /// A route or tcpproxy has both services and a delegate.
    ServicesAndDelegate,
    /// Websockets on a route with several services.
    WebsocketsWithMultipleServices,
    /// A route's prefix is outside the delegating route's prefix.
    PrefixMismatch,
    /// A service port outside 1-65535.
    PortOutOfRange,
    /// A Service, or the port on it, does not exist.
    ServiceNotFound,
    /// A negative weight, or weights that add up past 2^32-1.
    InvalidWeight,
    /// Upstream validation without a usable CA Secret or subject name.
    UpstreamValidation,
    /// A delegation to a root IngressRoute.
    DelegateToRoot,
    /// A delegation back onto the chain that reached this object.
    DelegationCycle,
    /// A tcpproxy delegation to an IngressRoute without `tcpproxy`.
    TcpProxyDelegateWithoutTcpProxy,
    /// A timeout that does not parse.
    InvalidDuration,
    /// An `ExternalName` refused by decision [D18](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d18).
    ExternalNameNotAllowed,
    /// A value Envoy would reject: out-of-range numbers, control characters, an empty
    /// health-check path.
    InvalidValue,
    /// The object was inserted with
    /// [`Objects::insert_rejected_ingress_route`](crate::Objects::insert_rejected_ingress_route)
    /// (the API server would reject it, or it decoded only leniently) and the build found
    /// no other error on it; the description is the one given there.
    Rejected,
}

/// The status computed for one IngressRoute.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// `valid`, `invalid` or `orphaned`.
    pub current_status: CurrentStatus,
    /// The description, e.g. `valid IngressRoute`.
    pub description: String,
    /// The classification of the description.
    pub reason: Reason,
    /// The fqdn this object serves or was reached from, where known (for metric labels).
    pub vhost: Option<String>,
}

impl Status {
    /// The `valid` status.
    #[must_use]
    pub fn valid(vhost: Option<String>) -> Self {
        Self {
            current_status: CurrentStatus::Valid,
            description: messages::VALID.to_owned(),
            reason: Reason::Valid,
            vhost,
        }
    }

    /// The `orphaned` status.
    #[must_use]
    pub fn orphaned() -> Self {
        Self {
            current_status: CurrentStatus::Orphaned,
            description: messages::ORPHANED.to_owned(),
            reason: Reason::Orphaned,
            vhost: None,
        }
    }

    /// An `invalid` status.
    #[must_use]
    pub fn invalid(reason: Reason, description: String, vhost: Option<String>) -> Self {
        Self {
            current_status: CurrentStatus::Invalid,
            description,
            reason,
            vhost,
        }
    }

    /// The status as written to the object's `status` field.
    #[must_use]
    pub fn to_api(&self) -> IngressRouteStatus {
        IngressRouteStatus {
            current_status: self.current_status.as_str().to_owned(),
            description: self.description.clone(),
        }
    }
}

/// Every status description, exact.
pub mod messages {
    use crate::quote::go_quote;

    /// The description of a valid IngressRoute.
    pub const VALID: &str = "valid IngressRoute";
    /// The description of an orphaned IngressRoute.
    pub const ORPHANED: &str = "this IngressRoute is not part of a delegation chain from a root IngressRoute";
    /// A root outside the root namespaces.
    pub const ROOT_NAMESPACE_NOT_ALLOWED: &str = "root IngressRoute cannot be defined in this namespace";
    /// A root whose fqdn is blank.
    pub const FQDN_MISSING: &str = "Spec.VirtualHost.Fqdn must be specified";
    /// A delegation to a root.
    pub const DELEGATE_TO_ROOT: &str = "root ingressroute cannot delegate to another root ingressroute";
    /// A tcpproxy with both services and a delegate.
    pub const TCPPROXY_SERVICES_AND_DELEGATE: &str =
        "tcpproxy: cannot specify services and delegate in the same tcpproxy";

    /// Roots sharing an fqdn; `members` are `namespace/name`, sorted and joined by the
    /// caller's order.
    #[must_use]
    pub fn duplicate_fqdn(fqdn: &str, members: &[String]) -> String {
        format!(
            "fqdn {} is used in multiple IngressRoutes: {}",
            go_quote(fqdn),
            members.join(", ")
        )
    }

    /// A wildcard fqdn.
    #[must_use]
    pub fn fqdn_wildcard(fqdn: &str) -> String {
        format!("Spec.VirtualHost.Fqdn {} cannot use wildcards", go_quote(fqdn))
    }

    /// An fqdn with characters no host name has (white space, control characters,
    /// `/`, ...), which Envoy would reject or never match.
    #[must_use]
    pub fn fqdn_invalid(fqdn: &str) -> String {
        format!("Spec.VirtualHost.Fqdn {} is not a valid host name", go_quote(fqdn))
    }

    /// A cross-namespace TLS Secret without a delegation.
    #[must_use]
    pub fn certificate_delegation_not_permitted(secret_name: &str) -> String {
        format!("{secret_name}: certificate delegation not permitted")
    }

    /// A missing or malformed TLS Secret.
    #[must_use]
    pub fn tls_secret_not_found(secret_name: &str) -> String {
        format!("TLS Secret [{secret_name}] not found or is malformed")
    }

    /// A route with both services and a delegate.
    #[must_use]
    pub fn services_and_delegate(route: &str) -> String {
        format!(
            "route {}: cannot specify services and delegate in the same route",
            go_quote(route)
        )
    }

    /// Websockets on a route with several services.
    #[must_use]
    pub fn websockets_with_multiple_services(route: &str) -> String {
        format!(
            "route {}: cannot specify multiple services and enable websockets",
            go_quote(route)
        )
    }

    /// A prefix outside the delegating route's prefix.
    #[must_use]
    pub fn prefix_mismatch(route: &str, parent: &str) -> String {
        format!(
            "the path prefix {} does not match the parent's path prefix {}",
            go_quote(route),
            go_quote(parent)
        )
    }

    /// A port outside 1-65535.
    #[must_use]
    pub fn port_out_of_range(route: &str, service: &str) -> String {
        format!(
            "route {}: service {}: port must be in the range 1-65535",
            go_quote(route),
            go_quote(service)
        )
    }

    /// A missing Service or port (no route prefix, as in Contour).
    #[must_use]
    pub fn service_not_found(service: &str, port: i64) -> String {
        format!("Service [{service}:{port}] is invalid or missing")
    }

    /// A negative weight (decision [D5](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d5)).
    #[must_use]
    pub fn negative_weight(route: &str, service: &str) -> String {
        format!(
            "route {}: service {}: weight must be greater than or equal to zero",
            go_quote(route),
            go_quote(service)
        )
    }

    /// Weights whose sum Envoy cannot represent.
    #[must_use]
    pub fn total_weight_too_large(route: &str) -> String {
        format!(
            "route {}: the sum of all service weights must not exceed 4294967295",
            go_quote(route)
        )
    }

    /// Upstream validation without a usable CA Secret (decision [D3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d3)).
    #[must_use]
    pub fn validation_secret(route: &str, service: &str) -> String {
        format!(
            "route {}: service {}: upstreamValidation requested but secret not found or misconfigured",
            go_quote(route),
            go_quote(service)
        )
    }

    /// Upstream validation without a usable subject name (decision [D3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d3)).
    #[must_use]
    pub fn validation_subject_name(route: &str, service: &str) -> String {
        format!(
            "route {}: service {}: upstreamValidation requested but subject alt name not found or misconfigured",
            go_quote(route),
            go_quote(service)
        )
    }

    /// A delegation back onto the chain; `path` is the chain followed by the target.
    #[must_use]
    pub fn route_cycle(path: &[String]) -> String {
        format!("route creates a delegation cycle: {}", path.join(" -> "))
    }

    /// A tcpproxy delegation back onto the chain.
    #[must_use]
    pub fn tcpproxy_cycle(path: &[String]) -> String {
        format!("tcpproxy creates a delegation cycle: {}", path.join(" -> "))
    }

    /// A tcpproxy service that does not resolve.
    #[must_use]
    pub fn tcpproxy_service_not_found(namespace: &str, name: &str, port: i64) -> String {
        format!("tcpproxy: service {namespace}/{name}/{port}: not found")
    }

    /// A tcpproxy delegation to an IngressRoute without `tcpproxy` (decision [D9](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d9)).
    #[must_use]
    pub fn tcpproxy_delegate_without_tcpproxy(namespace: &str, name: &str) -> String {
        format!("tcpproxy: delegate {namespace}/{name} has no tcpproxy")
    }

    /// A negative tcpproxy weight (decision [D9](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d9) honours weights).
    #[must_use]
    pub fn tcpproxy_negative_weight(service: &str) -> String {
        format!(
            "tcpproxy: service {}: weight must be greater than or equal to zero",
            go_quote(service)
        )
    }

    /// tcpproxy weights whose sum Envoy cannot represent.
    #[must_use]
    pub fn tcpproxy_total_weight_too_large() -> String {
        "tcpproxy: the sum of all service weights must not exceed 4294967295".to_owned()
    }

    /// A timeout that does not parse (decision [D6](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d6)); `field` is
    /// `timeoutPolicy.request` or `retryPolicy.perTryTimeout`.
    #[must_use]
    pub fn invalid_duration(route: &str, field: &str, value: &str) -> String {
        format!(
            "route {}: {field}: invalid duration {}",
            go_quote(route),
            go_quote(value)
        )
    }

    /// An `ExternalName` refused by decision [D18](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d18), on a route.
    #[must_use]
    pub fn external_name_not_allowed(route: &str, service: &str, host: &str) -> String {
        format!(
            "route {}: service {}: externalName {} is not allowed",
            go_quote(route),
            go_quote(service),
            go_quote(host)
        )
    }

    /// An `ExternalName` refused by decision [D18](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d18), on a tcpproxy.
    #[must_use]
    pub fn tcpproxy_external_name_not_allowed(service: &str, host: &str) -> String {
        format!(
            "tcpproxy: service {}: externalName {} is not allowed",
            go_quote(service),
            go_quote(host)
        )
    }

    /// A route field that must not contain control characters (Envoy rejects them in
    /// header values and paths).
    #[must_use]
    pub fn control_characters(route: &str, field: &str) -> String {
        format!("route {}: {field} must not contain control characters", go_quote(route))
    }

    /// A service field that must not contain control characters.
    #[must_use]
    pub fn service_control_characters(route: &str, service: &str, field: &str) -> String {
        format!(
            "route {}: service {}: {field} must not contain control characters",
            go_quote(route),
            go_quote(service)
        )
    }

    /// An empty health-check path, which Envoy rejects.
    #[must_use]
    pub fn health_check_path_empty(route: &str, service: &str) -> String {
        format!(
            "route {}: service {}: healthCheck.path must not be empty",
            go_quote(route),
            go_quote(service)
        )
    }

    /// A negative number where Envoy needs zero or more.
    #[must_use]
    pub fn service_field_negative(route: &str, service: &str, field: &str) -> String {
        format!(
            "route {}: service {}: {field} must be greater than or equal to zero",
            go_quote(route),
            go_quote(service)
        )
    }

    /// A number above what Envoy accepts.
    #[must_use]
    pub fn service_field_too_large(route: &str, service: &str, field: &str, max: u64) -> String {
        format!(
            "route {}: service {}: {field} must be less than or equal to {max}",
            go_quote(route),
            go_quote(service)
        )
    }

    /// A negative route-level number.
    #[must_use]
    pub fn route_field_negative(route: &str, field: &str) -> String {
        format!(
            "route {}: {field} must be greater than or equal to zero",
            go_quote(route)
        )
    }

    /// A route-level number above what Envoy accepts.
    #[must_use]
    pub fn route_field_too_large(route: &str, field: &str, max: u64) -> String {
        format!("route {}: {field} must be less than or equal to {max}", go_quote(route))
    }
}
