#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! TLS on roots: secret lookup and certificate delegation ([behaviour §2.3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s2-3) step 6, [behaviour §3.7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-7), decision
//! D11), minimum protocol version, passthrough, which routes redirect to HTTPS ([behaviour §3.5](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-5)) and
//! when a secure virtual host exists ([behaviour §3.6](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-6)).

mod support;

use ingressroute_dag::{SecureVirtualHost, TlsMode, TlsVersion};
use support::*;

fn tls_root(secret_name: &str) -> Fixture {
    Fixture::new()
        .root("default/basic", "foo.com")
        .tls(secret_name)
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
}

fn terminated(dag: &ingressroute_dag::Dag, fqdn: &str) -> (ingressroute_dag::ObjectRef, TlsVersion) {
    match &vhost(dag, fqdn).secure {
        Some(SecureVirtualHost {
            tls: TlsMode::Terminate {
                secret,
                minimum_protocol_version,
            },
            ..
        }) => (secret.meta.clone(), *minimum_protocol_version),
        other => panic!("{fqdn} does not terminate TLS: {other:?}"),
    }
}

#[test]
fn a_root_with_a_tls_secret_serves_https() {
    let dag = tls_root("cert").tls_secret("default/cert").dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(terminated(&dag, "foo.com"), (r("default/cert"), TlsVersion::V1_1));
    let vhost = vhost(&dag, "foo.com");
    assert_eq!(vhost.https_routes(), vhost.routes.as_slice());
    assert_eq!(prefixes(vhost), ["/"]);
}

#[test]
fn a_secret_name_with_an_empty_namespace_means_the_own_namespace() {
    let dag = tls_root("/cert").tls_secret("default/cert").dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(terminated(&dag, "foo.com").0, r("default/cert"));
}

#[test]
fn a_missing_tls_secret_is_invalid() {
    let dag = tls_root("missing").dag();
    assert_invalid(&dag, "default/basic", "TLS Secret [missing] not found or is malformed");
    assert!(
        dag.virtual_hosts().is_empty(),
        "a TLS failure serves nothing, not even HTTP"
    );
}

#[test]
fn a_missing_tls_secret_is_reported_as_written() {
    let dag = tls_root("secrets/missing").dag();
    assert_invalid(
        &dag,
        "default/basic",
        "TLS Secret [secrets/missing] not found or is malformed",
    );
}

#[test]
fn a_secret_name_with_a_second_slash_is_not_found() {
    let dag = tls_root("secrets/cert/extra").tls_secret("secrets/cert").dag();
    assert_invalid(
        &dag,
        "default/basic",
        "TLS Secret [secrets/cert/extra] not found or is malformed",
    );
}

#[test]
fn an_empty_secret_name_without_passthrough_is_not_found() {
    let dag = tls_root("").dag();
    assert_invalid(&dag, "default/basic", "TLS Secret [] not found or is malformed");
}

#[test]
fn a_ca_secret_is_not_a_tls_certificate() {
    let dag = tls_root("ca").ca_secret("default/ca").dag();
    assert_invalid(&dag, "default/basic", "TLS Secret [ca] not found or is malformed");
}

#[test]
fn a_secret_in_another_namespace_without_delegation_is_not_permitted() {
    let dag = tls_root("secrets/cert").tls_secret("secrets/cert").dag();
    assert_invalid(
        &dag,
        "default/basic",
        "secrets/cert: certificate delegation not permitted",
    );
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn a_missing_and_undelegated_secret_reports_not_found() {
    // The lookup happens before the delegation check (docs/behaviour.md#s2-3 6e).
    let dag = tls_root("secrets/cert").dag();
    assert_invalid(
        &dag,
        "default/basic",
        "TLS Secret [secrets/cert] not found or is malformed",
    );
}

#[test]
fn a_delegated_secret_can_be_used_by_the_target_namespace() {
    let dag = tls_root("secrets/cert")
        .tls_secret("secrets/cert")
        .certificate_delegation("secrets/delegation", "cert", &["default"])
        .dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(terminated(&dag, "foo.com").0, r("secrets/cert"));
}

#[test]
fn a_star_delegation_lets_every_namespace_use_the_secret() {
    let dag = tls_root("secrets/cert")
        .tls_secret("secrets/cert")
        .certificate_delegation("secrets/delegation", "cert", &["*"])
        .dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn a_star_anywhere_in_the_target_namespaces_lets_every_namespace_use_the_secret() {
    // Decision D11: Contour only honoured `*` as the sole entry.
    let dag = tls_root("secrets/cert")
        .tls_secret("secrets/cert")
        .certificate_delegation("secrets/delegation", "cert", &["team-a", "*"])
        .dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn a_delegation_to_other_namespaces_is_not_permitted() {
    let dag = tls_root("secrets/cert")
        .tls_secret("secrets/cert")
        .certificate_delegation("secrets/delegation", "cert", &["team-a", "team-b"])
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        "secrets/cert: certificate delegation not permitted",
    );
}

#[test]
fn a_delegation_with_no_target_namespaces_grants_nothing() {
    let dag = tls_root("secrets/cert")
        .tls_secret("secrets/cert")
        .certificate_delegation("secrets/delegation", "cert", &[])
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        "secrets/cert: certificate delegation not permitted",
    );
}

#[test]
fn a_delegation_of_another_secret_grants_nothing() {
    let dag = tls_root("secrets/cert")
        .tls_secret("secrets/cert")
        .certificate_delegation("secrets/delegation", "other", &["*"])
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        "secrets/cert: certificate delegation not permitted",
    );
}

#[test]
fn a_delegation_outside_the_secrets_namespace_grants_nothing() {
    let dag = tls_root("secrets/cert")
        .tls_secret("secrets/cert")
        .certificate_delegation("default/delegation", "cert", &["*"])
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        "secrets/cert: certificate delegation not permitted",
    );
}

#[test]
fn any_entry_of_any_delegation_in_the_namespace_can_grant() {
    let dag = tls_root("secrets/cert")
        .tls_secret("secrets/cert")
        .certificate_delegations("secrets/first", &[("other", &["*"])])
        .certificate_delegations("secrets/second", &[("unrelated", &["default"]), ("cert", &["default"])])
        .dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn the_minimum_protocol_version_maps_1_2_and_1_3_and_anything_else_to_1_1() {
    for (version, expected) in [
        ("1.3", TlsVersion::V1_3),
        ("1.2", TlsVersion::V1_2),
        ("1.1", TlsVersion::V1_1),
        ("1.0", TlsVersion::V1_1),
        ("", TlsVersion::V1_1),
        ("TLSv1.3", TlsVersion::V1_1),
        ("garbage", TlsVersion::V1_1),
    ] {
        let dag = tls_root("cert")
            .minimum_protocol_version(version)
            .tls_secret("default/cert")
            .dag();
        // docs/behaviour.md#s2-8: an invalid minimumProtocolVersion is not an error.
        assert_valid(&dag, "default/basic");
        assert_eq!(terminated(&dag, "foo.com").1, expected, "{version:?}");
    }
}

// ----- HTTPS redirects (docs/behaviour.md#s3-5) ---------------------------------------------------------------

#[test]
fn routes_of_a_tls_root_redirect_plain_http_to_https() {
    let dag = tls_root("cert").tls_secret("default/cert").dag();
    assert!(route(vhost(&dag, "foo.com"), "/").https_redirect);
}

#[test]
fn permit_insecure_serves_a_route_over_plain_http_too() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .tls("cert")
        .route("/", svc("s1", 80))
        .route("/insecure", svc("s1", 80))
        .permit_insecure()
        .service("default/s1", &[80])
        .tls_secret("default/cert")
        .dag();
    let vhost = vhost(&dag, "foo.com");
    assert!(route(vhost, "/").https_redirect);
    assert!(!route(vhost, "/insecure").https_redirect);
    assert_eq!(vhost.https_routes().len(), 2, "both are served over HTTPS");
}

#[test]
fn disable_permit_insecure_makes_every_tls_route_redirect() {
    let dag = Fixture::new()
        .disable_permit_insecure()
        .root("default/basic", "foo.com")
        .tls("cert")
        .route("/insecure", svc("s1", 80))
        .permit_insecure()
        .service("default/s1", &[80])
        .tls_secret("default/cert")
        .dag();
    assert!(route(vhost(&dag, "foo.com"), "/insecure").https_redirect);
}

#[test]
fn routes_without_tls_never_redirect() {
    let dag = Fixture::new()
        .disable_permit_insecure()
        .root("default/basic", "foo.com")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert!(!route(vhost(&dag, "foo.com"), "/").https_redirect);
}

#[test]
fn delegated_routes_inherit_the_https_redirect() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .tls("cert")
        .route("/", delegate("child"))
        .child("default/child")
        .route("/", svc("s1", 80))
        .route("/insecure", svc("s1", 80))
        .permit_insecure()
        .service("default/s1", &[80])
        .tls_secret("default/cert")
        .dag();
    let vhost = vhost(&dag, "foo.com");
    assert!(route(vhost, "/").https_redirect);
    assert!(!route(vhost, "/insecure").https_redirect);
    assert_eq!(vhost.https_routes().len(), 2);
}

// ----- when a secure virtual host exists (docs/behaviour.md#s3-6) ---------------------------------------------

#[test]
fn a_tls_root_with_zero_routes_serves_nothing() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .tls("cert")
        .tls_secret("default/cert")
        .dag();
    assert_valid(&dag, "default/basic");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_tls_root_whose_routes_are_all_delegated_away_to_nothing_serves_nothing() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .tls("cert")
        .route("/", delegate("missing"))
        .tls_secret("default/cert")
        .dag();
    assert_valid(&dag, "default/basic");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_tls_root_with_a_tcpproxy_serves_its_routes_over_plain_http_only() {
    // docs/behaviour.md#s2-3 step 8: enforceTLS is off when there is a tcpproxy, so routes neither redirect
    // nor appear on the TLS listener, which belongs to the TCP proxy.
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .tls("cert")
        .tcpproxy(svc("tcp", 443))
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .service("default/tcp", &[443])
        .tls_secret("default/cert")
        .dag();
    let vhost = vhost(&dag, "foo.com");
    assert!(!route(vhost, "/").https_redirect);
    assert!(vhost.https_routes().is_empty());
    assert_eq!(tcp_upstreams(&dag, "foo.com"), [("default/tcp:443".to_owned(), 0)]);
    assert!(matches!(vhost.secure.as_ref().unwrap().tls, TlsMode::Terminate { .. }));
}

#[test]
fn a_tls_root_with_an_empty_tcpproxy_has_no_secure_side() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .tls("cert")
        .tcpproxy(Nothing)
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .tls_secret("default/cert")
        .dag();
    assert_valid(&dag, "default/basic");
    let vhost = vhost(&dag, "foo.com");
    assert!(vhost.secure.is_none());
    assert!(!route(vhost, "/").https_redirect);
    assert!(vhost.https_routes().is_empty());
}

#[test]
fn passthrough_without_a_tcpproxy_serves_routes_over_plain_http_only() {
    // docs/behaviour.md#s2-8: not an error.
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .passthrough()
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_valid(&dag, "default/basic");
    let vhost = vhost(&dag, "foo.com");
    assert!(vhost.secure.is_none());
    assert!(!route(vhost, "/").https_redirect);
}

#[test]
fn passthrough_with_a_tcpproxy_forwards_tls_untouched() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .passthrough()
        .tcpproxy(svc("tcp", 8443))
        .service("default/tcp", &[8443])
        .dag();
    assert_valid(&dag, "default/basic");
    let vhost = vhost(&dag, "foo.com");
    assert_eq!(vhost.secure.as_ref().unwrap().tls, TlsMode::Passthrough);
    assert_eq!(tcp_upstreams(&dag, "foo.com"), [("default/tcp:8443".to_owned(), 0)]);
    assert!(vhost.routes.is_empty());
    assert!(vhost.https_routes().is_empty());
}

#[test]
fn passthrough_is_ignored_when_a_secret_name_is_given() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .with(|ir| {
            ir.spec.virtualhost.as_mut().unwrap().tls = Some(Box::new(ingressroute_api::Tls {
                secret_name: "cert".into(),
                passthrough: true,
                ..Default::default()
            }));
        })
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .tls_secret("default/cert")
        .dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(terminated(&dag, "foo.com").0, r("default/cert"));
    assert!(route(vhost(&dag, "foo.com"), "/").https_redirect);
}
