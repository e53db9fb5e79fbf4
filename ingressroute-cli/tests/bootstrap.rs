//! `ingressroute bootstrap`: the bootstrap Envoy needs to talk to `ingressroute serve`.
//! That Envoy accepts it is shown by the end-to-end tests (`tests/e2e`, the `tls` world
//! runs Envoy on it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{run, scratch};
use serde_json::json;

fn cluster<'a>(bootstrap: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    bootstrap["static_resources"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no cluster {name}"))
}

fn endpoint(cluster: &serde_json::Value) -> &serde_json::Value {
    &cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
}

#[test]
fn the_default_bootstrap_speaks_state_of_the_world_ads_to_127_0_0_1_8001() {
    let out = run(&["bootstrap", "-"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bootstrap = out.json();
    let ads = &bootstrap["dynamic_resources"]["ads_config"];
    assert_eq!(ads["api_type"], "GRPC");
    assert_eq!(ads["transport_api_version"], "V3");
    assert_eq!(ads["grpc_services"][0]["envoy_grpc"]["cluster_name"], "contour");
    assert_eq!(bootstrap["dynamic_resources"]["lds_config"]["ads"], json!({}));
    assert_eq!(bootstrap["dynamic_resources"]["cds_config"]["ads"], json!({}));
    assert_eq!(
        endpoint(cluster(&bootstrap, "contour")),
        &json!({"address": "127.0.0.1", "port_value": 8001})
    );
    assert_eq!(
        bootstrap["admin"]["address"]["socket_address"],
        json!({"address": "127.0.0.1", "port_value": 9001})
    );
    assert_eq!(bootstrap["node"]["id"], "ingressroute");
    assert!(out.stdout.ends_with("}\n"));
}

#[test]
fn delta_addresses_and_node_id_are_taken_from_the_flags() {
    let dir = scratch("bootstrap-flags");
    let file = dir.join("bootstrap.json");
    let out = run(&[
        "bootstrap",
        "--xds-address",
        "ingressroute.projectcontour:18001",
        "--admin-address",
        "127.0.0.1:19001",
        "--stats-address",
        "[::]:18002",
        "--delta",
        "--node-id",
        "edge-1",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "", "the bootstrap goes to the file");
    let bootstrap: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(bootstrap["dynamic_resources"]["ads_config"]["api_type"], "DELTA_GRPC");
    let contour = cluster(&bootstrap, "contour");
    assert_eq!(contour["type"], "STRICT_DNS");
    assert_eq!(
        endpoint(contour),
        &json!({"address": "ingressroute.projectcontour", "port_value": 18001})
    );
    assert_eq!(bootstrap["admin"]["address"]["socket_address"]["port_value"], 19001);
    assert_eq!(endpoint(cluster(&bootstrap, "service-stats"))["port_value"], 19001);
    let stats = &bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"];
    assert_eq!(stats["address"], "::");
    assert_eq!(stats["port_value"], 18002);
    assert_eq!(bootstrap["node"]["id"], "edge-1");
}

#[test]
fn the_envoy_tls_files_make_xds_mutual_tls_checking_the_servers_name() {
    let out = run(&[
        "bootstrap",
        "--envoy-cafile",
        "/certs/ca.crt",
        "--envoy-cert-file",
        "/certs/tls.crt",
        "--envoy-key-file",
        "/certs/tls.key",
        "-",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bootstrap = out.json();
    let socket = &cluster(&bootstrap, "contour")["transport_socket"];
    assert_eq!(socket["name"], "envoy.transport_sockets.tls");
    let common = &socket["typed_config"]["common_tls_context"];
    assert_eq!(
        common["tls_certificates"][0],
        json!({"certificate_chain": {"filename": "/certs/tls.crt"}, "private_key": {"filename": "/certs/tls.key"}})
    );
    let validation = &common["validation_context"];
    assert_eq!(validation["trusted_ca"], json!({"filename": "/certs/ca.crt"}));
    assert_eq!(
        validation["match_typed_subject_alt_names"][0]["matcher"]["exact"],
        "contour"
    );
    // Without the flags, plaintext.
    let plain = run(&["bootstrap", "-"]).json();
    assert!(cluster(&plain, "contour").get("transport_socket").is_none());
}

#[test]
fn the_envoy_tls_files_come_together_or_not_at_all() {
    let out = run(&["bootstrap", "--envoy-cafile", "/certs/ca.crt", "-"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--envoy-cert-file"), "{}", out.stderr);
}

#[test]
fn a_bad_address_is_refused_by_the_argument_parser() {
    let out = run(&["bootstrap", "--xds-address", "nowhere", "-"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("\"nowhere\" is not HOST:PORT"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn an_unwritable_output_is_an_error_with_exit_code_2() {
    let out = run(&["bootstrap", "/nonexistent-directory/bootstrap.json"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: cannot write /nonexistent-directory/bootstrap.json: "),
        "{}",
        out.stderr
    );
}
