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

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_file_with_the_private_keys_is_readable_by_its_owner_only() {
    let dir = scratch("certgen-mode");
    let file = dir.join("secrets.yaml");
    let out = run(&["certgen", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(mode(&file), 0o600);
    assert!(std::fs::read_to_string(&file).unwrap().contains("BEGIN PRIVATE KEY"));
}

#[test]
fn an_existing_file_is_replaced_only_with_force() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch("certgen-force");
    let file = dir.join("secrets.yaml");
    std::fs::write(&file, "keep me\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let out = run(&["certgen", file.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        format!("error: {} exists; pass --force to replace it\n", file.display())
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");

    let out = run(&["certgen", "--force", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(secrets(&std::fs::read_to_string(&file).unwrap()).len(), 2);
    assert_eq!(mode(&file), 0o600, "the old file's permissions do not carry over");
}

#[test]
fn a_symbolic_link_is_not_followed() {
    let dir = scratch("certgen-symlink");
    let target = dir.join("elsewhere.yaml");
    let link = dir.join("secrets.yaml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = run(&["certgen", link.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!target.exists(), "nothing is written through the link");
}

#[test]
fn an_error_about_a_strange_file_name_stays_on_one_line() {
    let dir = scratch("certgen-strange-name");
    let file = dir.join("a\nb\u{1b}[2J.yaml");
    std::fs::write(&file, "").unwrap();
    let out = run(&["certgen", file.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr_lines().len(), 1, "{:?}", out.stderr);
    assert!(
        out.stderr
            .ends_with("/a\\nb\\u{1b}[2J.yaml exists; pass --force to replace it\n"),
        "{:?}",
        out.stderr
    );
}
