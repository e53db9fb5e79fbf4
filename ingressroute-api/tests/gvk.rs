//! Guards the identity of both custom resources: group, version, kind, names, scope,
//! subresources and printer columns. Changing any of these breaks every cluster that
//! already has the CRD installed, so it must be a deliberate edit here too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use ingressroute_api::{API_VERSION, GROUP, IngressRoute, TLSCertificateDelegation, VERSION};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion,
};
use kube::{CustomResourceExt, Resource};

fn only_version(crd: &CustomResourceDefinition) -> &CustomResourceDefinitionVersion {
    assert_eq!(crd.spec.versions.len(), 1, "exactly one version");
    let version = &crd.spec.versions[0];
    assert!(version.served && version.storage, "v1beta1 is served and stored");
    version
}

#[test]
fn group_and_version_are_contour_heptio_com_v1beta1() {
    assert_eq!(GROUP, "contour.heptio.com");
    assert_eq!(VERSION, "v1beta1");
    assert_eq!(API_VERSION, "contour.heptio.com/v1beta1");
    assert_eq!(IngressRoute::api_version(&()), API_VERSION);
    assert_eq!(TLSCertificateDelegation::api_version(&()), API_VERSION);
}

#[test]
fn ingress_route_is_a_namespaced_ingressroutes_resource() {
    let crd = IngressRoute::crd();
    assert_eq!(crd.metadata.name.as_deref(), Some("ingressroutes.contour.heptio.com"));
    assert_eq!(crd.spec.group, "contour.heptio.com");
    assert_eq!(crd.spec.names.kind, "IngressRoute");
    assert_eq!(crd.spec.names.plural, "ingressroutes");
    assert_eq!(crd.spec.names.singular.as_deref(), Some("ingressroute"));
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(only_version(&crd).name, "v1beta1");
    assert_eq!(IngressRoute::kind(&()), "IngressRoute");
    assert_eq!(IngressRoute::plural(&()), "ingressroutes");
}

#[test]
fn ingress_route_has_a_status_subresource() {
    let crd = IngressRoute::crd();
    let subresources = only_version(&crd).subresources.as_ref().expect("subresources");
    assert!(subresources.status.is_some(), "status subresource");
    assert!(subresources.scale.is_none(), "no scale subresource");
}

#[test]
fn ingress_route_prints_the_five_contour_columns() {
    let crd = IngressRoute::crd();
    let columns: Vec<(&str, &str, &str)> = only_version(&crd)
        .additional_printer_columns
        .as_ref()
        .expect("printer columns")
        .iter()
        .map(|c| (c.name.as_str(), c.json_path.as_str(), c.type_.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("FQDN", ".spec.virtualhost.fqdn", "string"),
            ("TLS Secret", ".spec.virtualhost.tls.secretName", "string"),
            ("First route", ".spec.routes[0].match", "string"),
            ("Status", ".status.currentStatus", "string"),
            ("Status Description", ".status.description", "string"),
        ]
    );
}

#[test]
fn tls_certificate_delegation_is_a_namespaced_tlscertificatedelegations_resource() {
    let crd = TLSCertificateDelegation::crd();
    assert_eq!(
        crd.metadata.name.as_deref(),
        Some("tlscertificatedelegations.contour.heptio.com")
    );
    assert_eq!(crd.spec.group, "contour.heptio.com");
    assert_eq!(crd.spec.names.kind, "TLSCertificateDelegation");
    assert_eq!(crd.spec.names.plural, "tlscertificatedelegations");
    assert_eq!(crd.spec.names.singular.as_deref(), Some("tlscertificatedelegation"));
    assert_eq!(crd.spec.scope, "Namespaced");
    let version = only_version(&crd);
    assert_eq!(version.name, "v1beta1");
    assert!(
        version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_none(),
        "TLSCertificateDelegation has no status"
    );
}
