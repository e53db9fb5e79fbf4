//! The committed CRDs in `examples/deploy/00-crds.yaml` are what the types generate, so
//! that a change to a type cannot land without the CRD users install.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;

use ingressroute_api::{IngressRoute, TLSCertificateDelegation};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

const FIX: &str = "examples/deploy/00-crds.yaml is out of date: run `cargo xtask crds` and commit the result";

#[test]
fn committed_crds_match_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/deploy/00-crds.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `cargo xtask crds`", path.display()));
    let committed: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&text).expect(FIX);
    let generated = [IngressRoute::crd(), TLSCertificateDelegation::crd()];
    assert_eq!(committed.len(), generated.len(), "{FIX}");
    for (committed, generated) in committed.iter().zip(&generated) {
        assert!(
            committed == generated,
            "{FIX}\n\ncommitted:\n{}\ngenerated:\n{}",
            serde_saphyr::to_string(committed).unwrap(),
            serde_saphyr::to_string(generated).unwrap()
        );
    }
}
