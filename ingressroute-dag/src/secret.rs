//! Kubernetes Secrets as the DAG sees them: validated TLS key pairs and CA bundles.
//!
//! A Secret enters [`Objects`] only if it is usable (decision [D12](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d12)): a
//! `kubernetes.io/tls` Secret needs at least one X.509 `CERTIFICATE` in `tls.crt` and
//! exactly one private key in `tls.key` that parses and, where the key says which public
//! key it belongs to, matches the first certificate; a CA Secret (type `Opaque` or empty)
//! needs a `ca.crt` of X.509 certificates and no `tls.crt`/`tls.key`. Anything else is
//! treated as missing, so an invalid update removes the previous copy at once.
//!
//! [`Objects`]: crate::Objects

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1 as core_v1;
use x509_parser::pem::Pem;
use x509_parser::public_key::PublicKey;

use crate::ObjectRef;

/// The certificate chain and private key of a `kubernetes.io/tls` Secret.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsKeyPair {
    /// `tls.crt`: PEM certificates, leaf first.
    pub certificate_chain: Vec<u8>,
    /// `tls.key`: one PEM private key.
    pub private_key: Vec<u8>,
}

impl TlsKeyPair {
    /// A key pair as given, unchecked ([`Secret::from_k8s`] checks the ones it reads).
    #[must_use]
    pub fn new(certificate_chain: Vec<u8>, private_key: Vec<u8>) -> Self {
        Self {
            certificate_chain,
            private_key,
        }
    }
}

impl fmt::Debug for TlsKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsKeyPair")
            .field(
                "certificate_chain",
                &format_args!("{} bytes", self.certificate_chain.len()),
            )
            .field("private_key", &format_args!("<redacted>"))
            .finish()
    }
}

/// A usable Secret: a TLS key pair, a CA bundle, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Secret {
    /// Namespace and name.
    pub meta: ObjectRef,
    /// The key pair, for `kubernetes.io/tls` Secrets.
    pub tls: Option<TlsKeyPair>,
    /// `ca.crt`: PEM CA certificates for upstream validation.
    pub ca: Option<Vec<u8>>,
}

/// Why a Secret that looks meant for IngressRoutes cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// `tls.crt` or `tls.key` is missing or empty in a `kubernetes.io/tls` Secret.
    MissingKey(&'static str),
    /// `tls.crt` or `ca.crt` holds no parseable X.509 certificate.
    Certificate(&'static str),
    /// `tls.key` does not hold exactly one private key.
    KeyCount(usize),
    /// The private key in `tls.key` does not parse.
    Key,
    /// The private key does not belong to the first certificate of `tls.crt`.
    KeyMismatch,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingKey(key) => write!(f, "{key} is missing or empty"),
            Self::Certificate(key) => write!(f, "{key} holds no valid PEM certificate"),
            Self::KeyCount(n) => write!(f, "tls.key must hold exactly one PEM private key, found {n}"),
            Self::Key => f.write_str("tls.key does not hold a valid private key"),
            Self::KeyMismatch => f.write_str("tls.key does not belong to the certificate in tls.crt"),
        }
    }
}

impl std::error::Error for SecretError {}

const TLS_TYPE: &str = "kubernetes.io/tls";

impl Secret {
    /// A Secret with neither a key pair nor a CA bundle, for callers that fill the fields
    /// themselves (nothing is checked); [`from_k8s`](Self::from_k8s) reads a real one.
    #[must_use]
    pub fn new(meta: ObjectRef) -> Self {
        Self {
            meta,
            tls: None,
            ca: None,
        }
    }

    /// Reads a Kubernetes Secret. `stringData` overrides `data`, as the API server would
    /// merge them.
    ///
    /// Returns `Ok(None)` for Secrets IngressRoutes cannot use at all (other types, or
    /// an `Opaque` Secret without `ca.crt`), which are not worth storing.
    ///
    /// # Errors
    ///
    /// Returns a [`SecretError`] when the Secret is of a usable kind but malformed; such a
    /// Secret must be treated as missing.
    pub fn from_k8s(secret: &core_v1::Secret) -> Result<Option<Self>, SecretError> {
        let meta = ObjectRef::from_meta(&secret.metadata);
        let mut data: BTreeMap<&str, &[u8]> = BTreeMap::new();
        if let Some(d) = &secret.data {
            for (k, v) in d {
                data.insert(k, &v.0);
            }
        }
        if let Some(d) = &secret.string_data {
            for (k, v) in d {
                data.insert(k, v.as_bytes());
            }
        }
        let non_empty = |key: &str| data.get(key).copied().filter(|v| !v.is_empty());

        let ca = match non_empty("ca.crt") {
            Some(ca) => {
                if count_certificates(ca) == 0 {
                    return Err(SecretError::Certificate("ca.crt"));
                }
                Some(ca.to_vec())
            }
            None => None,
        };

        match secret.type_.as_deref() {
            Some(TLS_TYPE) => {
                let cert = non_empty("tls.crt").ok_or(SecretError::MissingKey("tls.crt"))?;
                let key = non_empty("tls.key").ok_or(SecretError::MissingKey("tls.key"))?;
                validate_key_pair(cert, key)?;
                Ok(Some(Self {
                    meta,
                    tls: Some(TlsKeyPair {
                        certificate_chain: cert.to_vec(),
                        private_key: key.to_vec(),
                    }),
                    ca,
                }))
            }
            None | Some("" | "Opaque") => {
                if data.contains_key("tls.crt") || data.contains_key("tls.key") || ca.is_none() {
                    return Ok(None);
                }
                Ok(Some(Self { meta, tls: None, ca }))
            }
            Some(_) => Ok(None),
        }
    }
}

fn count_certificates(pem: &[u8]) -> usize {
    Pem::iter_from_buffer(pem)
        .filter_map(Result::ok)
        .filter(|block| block.label == "CERTIFICATE" && block.parse_x509().is_ok())
        .count()
}

/// What a private key tells about its public key, for matching against a certificate.
enum KeyPublic {
    Rsa(Vec<u8>),
    Ec(Vec<u8>),
    Unknown,
}

fn validate_key_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), SecretError> {
    let certs: Vec<Pem> = Pem::iter_from_buffer(cert_pem)
        .filter_map(Result::ok)
        .filter(|b| b.label == "CERTIFICATE")
        .collect();
    let leaf = certs
        .iter()
        .find_map(|b| b.parse_x509().ok())
        .ok_or(SecretError::Certificate("tls.crt"))?;

    let mut keys = Vec::new();
    for block in Pem::iter_from_buffer(key_pem) {
        let Ok(block) = block else { return Err(SecretError::Key) };
        match block.label.as_str() {
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => keys.push(block),
            _ => {}
        }
    }
    let [key] = keys.as_slice() else {
        return Err(SecretError::KeyCount(keys.len()));
    };
    let public = parse_private_key(&key.label, &key.contents).ok_or(SecretError::Key)?;

    let matches = match (public, leaf.public_key().parsed()) {
        (KeyPublic::Rsa(modulus), Ok(PublicKey::RSA(rsa))) => strip_zeros(rsa.modulus) == strip_zeros(&modulus),
        (KeyPublic::Ec(point), Ok(PublicKey::EC(ec))) => ec.data() == point.as_slice(),
        (KeyPublic::Rsa(_), Ok(_)) => false,
        (KeyPublic::Ec(_), Ok(PublicKey::RSA(_))) => false,
        _ => true,
    };
    if matches { Ok(()) } else { Err(SecretError::KeyMismatch) }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

fn parse_private_key(label: &str, der: &[u8]) -> Option<KeyPublic> {
    match label {
        "RSA PRIVATE KEY" => rsa_public(der),
        "EC PRIVATE KEY" => ec_public(der),
        _ => {
            let info = pkcs8::PrivateKeyInfo::try_from(der).ok()?;
            match info.algorithm.oid.to_string().as_str() {
                RSA_ENCRYPTION => rsa_public(info.private_key),
                EC_PUBLIC_KEY => ec_public(info.private_key),
                _ => Some(KeyPublic::Unknown),
            }
        }
    }
}

fn rsa_public(der: &[u8]) -> Option<KeyPublic> {
    let key = pkcs1::RsaPrivateKey::try_from(der).ok()?;
    Some(KeyPublic::Rsa(key.modulus.as_bytes().to_vec()))
}

fn ec_public(der: &[u8]) -> Option<KeyPublic> {
    let key = sec1::EcPrivateKey::try_from(der).ok()?;
    Some(key.public_key.map_or(KeyPublic::Unknown, |p| KeyPublic::Ec(p.to_vec())))
}
