//! `ingressroute certgen`: the Secrets for xDS over mutual TLS, as a `List` for
//! `kubectl apply -f -`. That the two certificates work together is shown by the
//! controller's deployment test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{run, scratch};

fn secrets(yaml: &str) -> Vec<serde_json::Value> {
    let list: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    list["items"].as_array().unwrap().clone()
}

#[test]
fn certgen_writes_the_server_and_envoy_secrets_with_a_shared_ca() {
    let out = run(&["certgen"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let items = secrets(&out.stdout);
    let names: Vec<&str> = items.iter().map(|s| s["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ingressroute-xds", "envoy-xds"]);
    for secret in &items {
        assert_eq!(secret["kind"], "Secret");
        assert_eq!(secret["type"], "kubernetes.io/tls");
        assert_eq!(secret["metadata"]["namespace"], "projectcontour");
        let data = &secret["stringData"];
        assert!(
            data["tls.crt"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(
            data["tls.key"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert_eq!(data["ca.crt"], items[0]["stringData"]["ca.crt"]);
    }
    assert_ne!(items[0]["stringData"]["tls.crt"], items[1]["stringData"]["tls.crt"]);
    // Fresh certificates every time.
    let again = secrets(&run(&["certgen"]).stdout);
    assert_ne!(again[0]["stringData"]["ca.crt"], items[0]["stringData"]["ca.crt"]);
}

#[test]
fn certgen_takes_a_namespace_and_an_output_file() {
    let dir = scratch("certgen");
    let file = dir.join("secrets.yaml");
    let out = run(&["certgen", "--namespace", "edge", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let items = secrets(&std::fs::read_to_string(&file).unwrap());
    assert!(items.iter().all(|s| s["metadata"]["namespace"] == "edge"));
}
