//! Certificates for mutual TLS between Envoy and the xDS server, made on the spot (what
//! `ingressroute certgen` writes, and what the tests use).

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// Why [`XdsCertificates::generate`] failed: the server name is not a usable DNS name, or
/// key generation or signing failed (the source says which).
#[derive(Debug, thiserror::Error)]
#[error("cannot make the xDS certificates")]
pub struct CertificateError(#[source] rcgen::Error);

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Pem {
    /// The certificate.
    pub certificate: String,
    /// The PKCS #8 private key.
    pub key: String,
}

/// How long the certificates are valid: a year, as Contour's `certgen`.
pub const CERTIFICATE_VALIDITY: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 60 * 60);

/// A fresh CA and the two certificates it signs for xDS over mutual TLS: the server's,
/// naming `server_name` (Envoy checks it: [`XDS_SUBJECT_ALT_NAME`] unless the bootstrap
/// says otherwise), and a client's (Envoy's). The CA's private key is not kept: nothing
/// else can be signed by it.
///
/// [`XDS_SUBJECT_ALT_NAME`]: ingressroute_envoy::bootstrap::XDS_SUBJECT_ALT_NAME
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct XdsCertificates {
    /// The CA certificate, PEM.
    pub ca: String,
    /// The xDS server's certificate.
    pub server: Pem,
    /// The client's (Envoy's) certificate.
    pub client: Pem,
}

impl XdsCertificates {
    /// Generates a CA and its two leaves, valid from an hour ago (for clocks that lag)
    /// for [`CERTIFICATE_VALIDITY`].
    ///
    /// # Errors
    ///
    /// If `server_name` is not a usable DNS name, or key generation or signing fails.
    pub fn generate(server_name: &str) -> Result<Self, CertificateError> {
        Self::generate_rcgen(server_name).map_err(CertificateError)
    }

    fn generate_rcgen(server_name: &str) -> Result<Self, rcgen::Error> {
        let not_before = time::OffsetDateTime::now_utc() - time::Duration::HOUR;
        let not_after = not_before + CERTIFICATE_VALIDITY;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.not_before = not_before;
        params.not_after = not_after;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "ingressroute xDS CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        let leaf = |name: &str, usage: ExtendedKeyUsagePurpose| -> Result<Pem, rcgen::Error> {
            let mut params = CertificateParams::new(vec![name.to_owned()])?;
            params.not_before = not_before;
            params.not_after = not_after;
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = vec![usage];
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            let key = KeyPair::generate()?;
            let certificate = params.signed_by(&key, &issuer)?;
            Ok(Pem {
                certificate: certificate.pem(),
                key: key.serialize_pem(),
            })
        };
        Ok(Self {
            server: leaf(server_name, ExtendedKeyUsagePurpose::ServerAuth)?,
            client: leaf("envoy", ExtendedKeyUsagePurpose::ClientAuth)?,
            ca: issuer.pem(),
        })
    }
}
