//! Prints the IngressRoute CRD as YAML.
use kube::CustomResourceExt;
fn main() {
    print!(
        "{}",
        serde_saphyr::to_string(&ingressroute_api::IngressRoute::crd()).unwrap_or_default()
    );
}
