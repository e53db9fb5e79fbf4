//! Certificates made at test time for mutual TLS between Envoy and the xDS server.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct Pem {
    /// The certificate.
    pub certificate: String,
    /// The PKCS #8 private key.
    pub key: String,
}

/// A fresh CA and the two certificates it signs for xDS over mutual TLS: the server's,
/// naming `server_name` (Envoy checks it), and a client's (Envoy's).
#[derive(Debug, Clone)]
pub struct XdsPki {
    /// The CA certificate, PEM.
    pub ca: String,
    /// The xDS server's certificate.
    pub server: Pem,
    /// The client's (Envoy's) certificate.
    pub client: Pem,
}

impl XdsPki {
    /// Generates a CA and its two leaves.
    ///
    /// # Errors
    ///
    /// If `server_name` is not a usable DNS name, or key generation or signing fails.
    pub fn generate(server_name: &str) -> Result<Self, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "xds test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        let leaf = |name: &str, usage: ExtendedKeyUsagePurpose| -> Result<Pem, rcgen::Error> {
            let mut params = CertificateParams::new(vec![name.to_owned()])?;
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
