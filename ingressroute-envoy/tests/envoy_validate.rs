//! Envoy accepts everything we generate: every golden case (every bundled example and the
//! hand-made cases) is given to a real `envoy --mode validate`, with every listener,
//! route configuration, cluster, cluster load assignment and secret made static (see
//! `support/envoy.rs` for exactly how and why).
//!
//! Envoy comes from `ENVOY_BIN`, else `.envoy/venv/bin/envoy` (`cargo xtask envoy`).
//! Without it the tests are skipped loudly, or fail under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::secret::Type;
use envoy_types::pb::google::protobuf::Duration as ProtoDuration;
use ingressroute_envoy::{BootstrapConfig, Resources, bootstrap};
use support::cases::{self, Case};
use support::envoy::{self, validation_bootstrap};

/// How many Envoys validate at once.
const THREADS: usize = 2;

#[test]
fn envoy_accepts_every_golden_case() {
    let Some(envoy) = envoy::binary() else { return };
    let cases: Vec<Case> = cases::all();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(String, Result<Duration, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let bootstrap = validation_bootstrap(&case.resources());
                    let result = envoy::validate(&envoy, &case.name, &bootstrap).map_err(|r| r.to_string());
                    results.lock().unwrap().push((case.name.clone(), result));
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    assert_eq!(results.len(), cases.len());
    let total: Duration = results.iter().filter_map(|(_, r)| r.as_ref().ok()).sum();
    eprintln!(
        "validated {} cases with {THREADS} threads in {:.2?} (Envoy busy {:.2?} in all)",
        cases.len(),
        started.elapsed(),
        total
    );
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|(name, result)| result.err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases rejected:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn envoy_accepts_the_bootstrap_with_delta_ads_and_tls_to_the_xds_server() {
    let Some(envoy) = envoy::binary() else { return };
    let certs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ingressroute/certs");
    let file = |name: &str| certs.join(name).to_string_lossy().into_owned();
    let mut config = BootstrapConfig::default();
    config.ads_api = ingressroute_envoy::AdsApi::DeltaGrpc;
    config.xds_address = "ingressroute.projectcontour.svc".into();
    config.xds_tls = Some(ingressroute_envoy::XdsTls::new(
        file("ca.crt"),
        file("testsecret.crt"),
        file("testsecret.key"),
    ));
    config.admin_address = "::".parse().unwrap();
    config.stats_address = "::".parse().unwrap();
    if let Err(rejection) = envoy::validate(&envoy, "bootstrap-delta-tls", &bootstrap(&config)) {
        panic!("{rejection}");
    }
}

/// The resources of the `basic` example.
fn basic() -> Resources {
    cases::examples()
        .into_iter()
        .find(|c| c.name == "basic")
        .expect("the basic example")
        .resources()
}

#[test]
fn validation_fails_on_an_invalid_field_value() {
    let Some(envoy) = envoy::binary() else { return };
    let mut resources = basic();
    // `connect_timeout` must be greater than zero (a protoc-gen-validate rule).
    resources.clusters[0].connect_timeout = Some(ProtoDuration { seconds: 0, nanos: 0 });
    let rejection = envoy::validate(&envoy, "invalid-connect-timeout", &validation_bootstrap(&resources))
        .expect_err("Envoy rejects a zero connect_timeout");
    assert!(
        rejection.output.contains("ConnectTimeout"),
        "the rejection names the field: {rejection}"
    );
}

#[test]
#[allow(deprecated)] // Setting the deprecated field is the point.
fn validation_fails_on_a_deprecated_field() {
    let Some(envoy) = envoy::binary() else { return };
    let mut resources = basic();
    // Contour's v2 `append: true`, deprecated in v3 for `append_action`.
    resources.routes[0].request_headers_to_add[0].append =
        Some(envoy_types::pb::google::protobuf::BoolValue { value: true });
    let rejection = envoy::validate(&envoy, "deprecated-append", &validation_bootstrap(&resources))
        .expect_err("a deprecated field counts as rejected");
    assert_eq!(rejection.code, Some(0), "Envoy itself accepts it: {rejection}");
    assert!(
        rejection.output.contains("HeaderValueOption.append"),
        "the warning names the field: {rejection}"
    );
}

#[test]
fn validation_fails_on_a_route_to_a_missing_cluster() {
    let Some(envoy) = envoy::binary() else { return };
    let mut resources = basic();
    // The inlined route configuration names a cluster that is not there.
    resources.clusters.clear();
    let rejection = envoy::validate(&envoy, "missing-cluster", &validation_bootstrap(&resources))
        .expect_err("Envoy rejects a route to an unknown cluster");
    assert!(
        rejection.output.contains("unknown cluster"),
        "the rejection names the reason: {rejection}"
    );
}

#[test]
fn validation_fails_on_a_key_that_does_not_match_its_certificate() {
    let Some(envoy) = envoy::binary() else { return };
    let mut resources = cases::examples()
        .into_iter()
        .find(|c| c.name == "tls")
        .expect("the tls example")
        .resources();
    let other = cases::examples()
        .into_iter()
        .find(|c| c.name == "permit-insecure")
        .expect("the permit-insecure example")
        .resources();
    // The certificate of one Secret with the key of another.
    let Some(Type::TlsCertificate(theirs)) = &other.secrets[0].r#type else {
        panic!("a TLS certificate")
    };
    let Some(Type::TlsCertificate(ours)) = &mut resources.secrets[0].r#type else {
        panic!("a TLS certificate")
    };
    ours.private_key = theirs.private_key.clone();
    let rejection = envoy::validate(&envoy, "mismatched-key", &validation_bootstrap(&resources))
        .expect_err("Envoy rejects a key that does not belong to the certificate");
    assert!(
        rejection.output.to_lowercase().contains("private key"),
        "the rejection is about the key: {rejection}"
    );
}

/// Envoy refuses a route configuration with two virtual hosts whose domains differ only
/// in case: it matches the `Host` header case-insensitively, so they are duplicates.
/// This is why the DAG treats fqdns that differ only in case as duplicates ([behaviour §2.2](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s2-2))
/// rather than let one bad pair of IngressRoutes make Envoy reject the whole update.
#[test]
fn envoy_rejects_virtual_hosts_whose_domains_differ_only_in_case() {
    let Some(envoy) = envoy::binary() else { return };
    let mut resources = basic();
    let route_config = resources
        .routes
        .iter_mut()
        .find(|r| r.name.starts_with("ingress_http/"))
        .expect("a route bucket of ingress_http");
    let mut shouting = route_config.virtual_hosts[0].clone();
    shouting.name = shouting.name.to_uppercase();
    shouting.domains = shouting.domains.iter().map(|d| d.to_uppercase()).collect();
    assert_ne!(shouting.domains, route_config.virtual_hosts[0].domains);
    route_config.virtual_hosts.push(shouting);
    let rejection = envoy::validate(&envoy, "case-duplicate-domains", &validation_bootstrap(&resources))
        .expect_err("Envoy rejects domains that differ only in case");
    assert!(
        rejection
            .output
            .contains("Only unique values for domains are permitted"),
        "the rejection is about duplicate domains: {rejection}"
    );
}
