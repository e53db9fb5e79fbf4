#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! Which Secrets are usable ([behaviour §3.7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-7), decision [D12](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d12)): TLS key pairs in every PEM form, CA
//! bundles, and malformed Secrets treated as missing at once.

mod support;

use ingressroute_dag::{Objects, Secret, SecretError};
use support::*;

fn root_using(secret: k8s_openapi::api::core::v1::Secret) -> Fixture {
    Fixture::new()
        .root("default/basic", "foo.com")
        .tls("cert")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .secret(secret)
}

const NOT_FOUND: &str = "TLS Secret [cert] not found or is malformed";

#[test]
fn tls_secrets_in_every_key_form_are_usable() {
    for (name, cert, key) in [
        ("ec pkcs8", pem::EC_CERT, pem::EC_PKCS8_KEY),
        ("ec sec1", pem::EC_CERT, pem::EC_SEC1_KEY),
        (
            "ec sec1 after EC PARAMETERS",
            pem::EC_CERT,
            pem::EC_SEC1_WITH_PARAMS_KEY,
        ),
        ("rsa pkcs8", pem::RSA_CERT, pem::RSA_PKCS8_KEY),
        ("rsa pkcs1", pem::RSA_CERT, pem::RSA_PKCS1_KEY),
    ] {
        let secret = tls_secret("default/cert", cert, key);
        assert!(matches!(Secret::from_k8s(&secret), Ok(Some(_))), "{name}");
        let dag = root_using(secret).dag();
        assert_valid(&dag, "default/basic");
        assert!(vhost(&dag, "foo.com").secure.is_some(), "{name}");
    }
}

#[test]
fn a_certificate_chain_with_the_leaf_first_is_usable() {
    let chain = format!("{}{}", pem::RSA_CERT, pem::CA_CERT);
    let dag = root_using(tls_secret("default/cert", &chain, pem::RSA_PKCS1_KEY)).dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn the_key_pair_is_kept_verbatim() {
    let secret = Secret::from_k8s(&tls_secret("default/cert", pem::EC_CERT, pem::EC_SEC1_KEY))
        .unwrap()
        .unwrap();
    let pair = secret.tls.unwrap();
    assert_eq!(pair.certificate_chain, pem::EC_CERT.as_bytes());
    assert_eq!(pair.private_key, pem::EC_SEC1_KEY.as_bytes());
}

#[test]
fn the_private_key_never_appears_in_debug_output() {
    let secret = Secret::from_k8s(&tls_secret("default/cert", pem::EC_CERT, pem::EC_SEC1_KEY))
        .unwrap()
        .unwrap();
    let debug = format!("{secret:?}");
    assert!(debug.contains("redacted"), "{debug}");
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
}

#[test]
fn string_data_overrides_data() {
    let mut secret = tls_secret("default/cert", "garbage", "garbage");
    secret.string_data = Some(
        [
            ("tls.crt".to_owned(), pem::EC_CERT.to_owned()),
            ("tls.key".to_owned(), pem::EC_PKCS8_KEY.to_owned()),
        ]
        .into(),
    );
    let dag = root_using(secret).dag();
    assert_valid(&dag, "default/basic");
}

// ----- malformed TLS secrets (D12) ----------------------------------------------------------

#[track_caller]
fn assert_malformed(secret: k8s_openapi::api::core::v1::Secret, error: &SecretError) {
    let mut objects = Objects::new();
    assert_eq!(objects.insert_secret(&secret).as_ref(), Err(error));
    assert_eq!(objects.counts().secrets, 0);
    let dag = root_using(secret).dag();
    assert_invalid(&dag, "default/basic", NOT_FOUND);
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn a_tls_secret_whose_certificate_does_not_parse_is_treated_as_missing() {
    assert_malformed(
        tls_secret("default/cert", "not a certificate", pem::EC_PKCS8_KEY),
        &SecretError::Certificate("tls.crt"),
    );
    let truncated = pem::EC_CERT.replace("-----END CERTIFICATE-----", "");
    assert_malformed(
        tls_secret("default/cert", &truncated, pem::EC_PKCS8_KEY),
        &SecretError::Certificate("tls.crt"),
    );
    // A certificate block with a body that is not X.509.
    let bogus = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    assert_malformed(
        tls_secret("default/cert", bogus, pem::EC_PKCS8_KEY),
        &SecretError::Certificate("tls.crt"),
    );
}

#[test]
fn a_tls_secret_whose_key_does_not_parse_is_treated_as_missing() {
    // Contour counted an unparseable PRIVATE KEY block as a key (docs/behaviour.md#s6).
    let bogus = "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n";
    assert_malformed(tls_secret("default/cert", pem::EC_CERT, bogus), &SecretError::Key);
    let bogus_rsa = "-----BEGIN RSA PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END RSA PRIVATE KEY-----\n";
    assert_malformed(tls_secret("default/cert", pem::RSA_CERT, bogus_rsa), &SecretError::Key);
}

#[test]
fn a_tls_secret_without_a_key_block_is_treated_as_missing() {
    assert_malformed(
        tls_secret("default/cert", pem::EC_CERT, "no key here"),
        &SecretError::KeyCount(0),
    );
    // A certificate is not a key.
    assert_malformed(
        tls_secret("default/cert", pem::EC_CERT, pem::EC_CERT),
        &SecretError::KeyCount(0),
    );
}

#[test]
fn a_tls_secret_with_two_keys_is_treated_as_missing() {
    let two = format!("{}{}", pem::EC_PKCS8_KEY, pem::EC_SEC1_KEY);
    assert_malformed(
        tls_secret("default/cert", pem::EC_CERT, &two),
        &SecretError::KeyCount(2),
    );
}

#[test]
fn a_tls_secret_with_an_empty_or_absent_half_is_treated_as_missing() {
    assert_malformed(
        tls_secret("default/cert", "", pem::EC_PKCS8_KEY),
        &SecretError::MissingKey("tls.crt"),
    );
    assert_malformed(
        tls_secret("default/cert", pem::EC_CERT, ""),
        &SecretError::MissingKey("tls.key"),
    );
    assert_malformed(
        secret("default/cert", "kubernetes.io/tls", &[("tls.crt", pem::EC_CERT)]),
        &SecretError::MissingKey("tls.key"),
    );
}

#[test]
fn a_key_that_belongs_to_another_certificate_is_treated_as_missing() {
    assert_malformed(
        tls_secret("default/cert", pem::EC_CERT, pem::OTHER_EC_KEY),
        &SecretError::KeyMismatch,
    );
    assert_malformed(
        tls_secret("default/cert", pem::RSA_CERT, pem::OTHER_RSA_KEY),
        &SecretError::KeyMismatch,
    );
    assert_malformed(
        tls_secret("default/cert", pem::EC_CERT, pem::RSA_PKCS1_KEY),
        &SecretError::KeyMismatch,
    );
    assert_malformed(
        tls_secret("default/cert", pem::RSA_CERT, pem::EC_SEC1_KEY),
        &SecretError::KeyMismatch,
    );
    // The CA's own key does not match the leaf it signed.
    assert_malformed(
        tls_secret("default/cert", pem::EC_CERT, pem::CA_KEY),
        &SecretError::KeyMismatch,
    );
}

#[test]
fn the_key_must_match_the_first_certificate_of_the_chain() {
    let chain = format!("{}{}", pem::CA_CERT, pem::EC_CERT);
    assert_malformed(
        tls_secret("default/cert", &chain, pem::EC_PKCS8_KEY),
        &SecretError::KeyMismatch,
    );
}

#[test]
fn an_update_to_an_invalid_secret_removes_the_old_one() {
    // Decision D12: Contour kept serving the stale valid copy.
    let fixture = root_using(tls_secret("default/cert", pem::EC_CERT, pem::EC_PKCS8_KEY));
    let mut objects = fixture.build();
    let config = fixture.config().clone();
    assert_valid(&ingressroute_dag::build(&objects, &config), "default/basic");

    let broken = tls_secret("default/cert", pem::EC_CERT, pem::OTHER_EC_KEY);
    assert_eq!(objects.insert_secret(&broken), Err(SecretError::KeyMismatch));
    let dag = ingressroute_dag::build(&objects, &config);
    assert_invalid(&dag, "default/basic", NOT_FOUND);
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn an_update_to_an_unusable_type_removes_the_old_one() {
    let fixture = root_using(tls_secret("default/cert", pem::EC_CERT, pem::EC_PKCS8_KEY));
    let mut objects = fixture.build();
    let retyped = secret(
        "default/cert",
        "kubernetes.io/dockerconfigjson",
        &[(".dockerconfigjson", "{}")],
    );
    assert!(objects.insert_secret(&retyped).is_ok());
    assert_eq!(objects.counts().secrets, 0);
    assert_invalid(
        &ingressroute_dag::build(&objects, fixture.config()),
        "default/basic",
        NOT_FOUND,
    );
}

#[test]
fn removing_a_secret_makes_it_missing() {
    let fixture = root_using(tls_secret("default/cert", pem::EC_CERT, pem::EC_PKCS8_KEY));
    let mut objects = fixture.build();
    assert!(objects.remove_secret(&r("default/cert")));
    assert!(!objects.remove_secret(&r("default/cert")));
    assert_invalid(
        &ingressroute_dag::build(&objects, fixture.config()),
        "default/basic",
        NOT_FOUND,
    );
}

#[test]
fn a_tls_certificate_in_an_opaque_secret_is_not_usable() {
    let opaque = secret(
        "default/cert",
        "Opaque",
        &[("tls.crt", pem::EC_CERT), ("tls.key", pem::EC_PKCS8_KEY)],
    );
    assert!(matches!(Secret::from_k8s(&opaque), Ok(None)));
    assert_invalid(&root_using(opaque).dag(), "default/basic", NOT_FOUND);
}

// ----- CA secrets ---------------------------------------------------------------------------

#[test]
fn ca_secrets_of_type_opaque_or_none_are_usable() {
    for type_ in ["Opaque", ""] {
        let ca = Secret::from_k8s(&secret("default/ca", type_, &[("ca.crt", pem::CA_CERT)]))
            .unwrap()
            .unwrap();
        assert_eq!(ca.ca.as_deref(), Some(pem::CA_CERT.as_bytes()), "{type_:?}");
        assert!(ca.tls.is_none());
    }
}

#[test]
fn a_ca_secret_with_a_malformed_bundle_is_rejected() {
    let mut objects = Objects::new();
    let bad = secret("default/ca", "Opaque", &[("ca.crt", "not a certificate")]);
    assert_eq!(objects.insert_secret(&bad), Err(SecretError::Certificate("ca.crt")));
    assert_eq!(objects.counts().secrets, 0);
}

#[test]
fn an_opaque_secret_without_ca_crt_is_not_stored() {
    let mut objects = Objects::new();
    assert!(
        objects
            .insert_secret(&secret("default/other", "Opaque", &[("password", "hunter2")]))
            .is_ok()
    );
    assert!(
        objects
            .insert_secret(&secret("default/empty-ca", "Opaque", &[("ca.crt", "")]))
            .is_ok()
    );
    assert_eq!(objects.counts().secrets, 0);
}

#[test]
fn a_tls_secret_may_carry_a_ca_bundle_too() {
    let with_ca = secret(
        "default/cert",
        "kubernetes.io/tls",
        &[
            ("tls.crt", pem::EC_CERT),
            ("tls.key", pem::EC_PKCS8_KEY),
            ("ca.crt", pem::CA_CERT),
        ],
    );
    let parsed = Secret::from_k8s(&with_ca).unwrap().unwrap();
    assert!(parsed.tls.is_some());
    assert!(parsed.ca.is_some());
    // A malformed ca.crt spoils the whole Secret.
    let bad_ca = secret(
        "default/cert",
        "kubernetes.io/tls",
        &[
            ("tls.crt", pem::EC_CERT),
            ("tls.key", pem::EC_PKCS8_KEY),
            ("ca.crt", "junk"),
        ],
    );
    assert_eq!(Secret::from_k8s(&bad_ca), Err(SecretError::Certificate("ca.crt")));
}
