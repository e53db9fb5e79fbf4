//! `ingressroute serve` failing before it serves anything. Serving itself, with a real
//! Envoy, is tested end to end in `tests/e2e`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::run;

#[test]
fn standard_input_cannot_be_served() {
    let out = run(&["serve", "-"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("error: serve reads files and directories; standard input (`-`) cannot be watched"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_xds_address_in_use_is_an_error_with_exit_code_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = run(&["serve", "--xds-address", &address, "examples/local"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("error: the xDS server failed: cannot listen on {address}: ")),
        "{}",
        out.stderr
    );
}

#[test]
fn the_local_example_is_valid() {
    let out = run(&["check", "examples/local"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("hello.local"), "{}", out.stdout);
}
