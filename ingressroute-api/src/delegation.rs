//! The `TLSCertificateDelegation` custom resource.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `spec` of a TLSCertificateDelegation: which Secrets of this object's namespace
/// IngressRoutes in other namespaces may use as their TLS certificate.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "contour.heptio.com",
    version = "v1beta1",
    kind = "TLSCertificateDelegation",
    plural = "tlscertificatedelegations",
    singular = "tlscertificatedelegation",
    namespaced,
    derive = "PartialEq",
    derive = "Default",
    doc = "TLSCertificateDelegation lets IngressRoutes in other namespaces use TLS Secrets of this namespace."
)]
#[serde(rename_all = "camelCase")]
pub struct TLSCertificateDelegationSpec {
    /// One entry per delegated Secret.
    #[serde(default)]
    pub delegations: Vec<CertificateDelegation>,
}

/// Permission for some namespaces to use one Secret of the delegation's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateDelegation {
    /// The Secret's name, in the TLSCertificateDelegation's own namespace.
    #[schemars(length(min = 1))]
    pub secret_name: String,

    /// The namespaces allowed to use the Secret; `*` allows every namespace. An empty
    /// list grants nothing.
    #[serde(default)]
    pub target_namespaces: Vec<String>,
}
