//! `ingressroute certgen`: the Secrets for xDS over mutual TLS in a cluster, as a
//! Kubernetes `List` to pipe into `kubectl apply -f -` (Contour's `contour certgen`).
//!
//! ```text
//!  fresh CA ──signs──▶ server certificate (DNS name `contour`) ──▶ Secret ingressroute-xds
//!           └─signs──▶ client certificate (Envoy)                ──▶ Secret envoy-xds
//! ```
//!
//! Both Secrets are `kubernetes.io/tls` with `tls.crt`, `tls.key` and the CA as `ca.crt`;
//! the CA's key is thrown away. `examples/deploy` mounts them: the controller's
//! `--contour-cafile/--contour-cert-file/--contour-key-file` and the Envoy init
//! container's `--envoy-cafile/--envoy-cert-file/--envoy-key-file` point into them.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use ingressroute_envoy::bootstrap::XDS_SUBJECT_ALT_NAME;
use ingressroute_xds::{Pem, XdsCertificates};
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::load::STDIN;

/// The Secret holding the xDS server's certificate.
pub const SERVER_SECRET: &str = "ingressroute-xds";
/// The Secret holding Envoy's client certificate.
pub const CLIENT_SECRET: &str = "envoy-xds";

/// `ingressroute certgen`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct CertgenArgs {
    /// The namespace of the Secrets: the controller's and Envoy's.
    #[arg(long, value_name = "NS", default_value = "projectcontour")]
    pub namespace: String,

    /// Where to write the Secrets (YAML); `-` writes standard output.
    #[arg(value_name = "FILE|-", default_value = STDIN)]
    pub output: PathBuf,
}

/// Why `certgen` could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The certificates could not be made.
    #[error("cannot generate the certificates")]
    Generate(#[source] ingressroute_xds::CertificateError),
    /// The Secrets could not be serialised.
    #[error("cannot render YAML")]
    Serialize(#[source] serde_yaml::Error),
    /// The output could not be written.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file (`-` for standard output).
        path: PathBuf,
        /// What failed.
        #[source]
        source: io::Error,
    },
}

/// The two Secrets of fresh certificates, in `namespace`.
///
/// # Errors
///
/// [`Error::Generate`] if a key or certificate cannot be made.
pub fn secrets(namespace: &str) -> Result<[core_v1::Secret; 2], Error> {
    let certificates = XdsCertificates::generate(XDS_SUBJECT_ALT_NAME).map_err(Error::Generate)?;
    let secret = |name: &str, pem: &Pem| core_v1::Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_owned(),
                "ingressroute-certgen".to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        type_: Some("kubernetes.io/tls".to_owned()),
        string_data: Some(BTreeMap::from([
            ("ca.crt".to_owned(), certificates.ca.clone()),
            ("tls.crt".to_owned(), pem.certificate.clone()),
            ("tls.key".to_owned(), pem.key.clone()),
        ])),
        ..core_v1::Secret::default()
    };
    Ok([
        secret(SERVER_SECRET, &certificates.server),
        secret(CLIENT_SECRET, &certificates.client),
    ])
}

/// Runs `ingressroute certgen`: writes a `List` of the two Secrets to `args.output`, or
/// to `stdout` when it is `-`.
///
/// # Errors
///
/// [`Error::Write`] when the output cannot be written; the others as [`secrets`].
pub fn run(args: &CertgenArgs, stdout: &mut impl Write) -> Result<(), Error> {
    let items = secrets(&args.namespace)?
        .iter()
        .map(|secret| {
            let mut value = serde_yaml::to_value(secret).map_err(Error::Serialize)?;
            if let serde_yaml::Value::Mapping(map) = &mut value {
                map.insert("apiVersion".into(), "v1".into());
                map.insert("kind".into(), "Secret".into());
            }
            Ok(value)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mut list = serde_yaml::Mapping::new();
    list.insert("apiVersion".into(), "v1".into());
    list.insert("kind".into(), "List".into());
    list.insert("items".into(), serde_yaml::Value::Sequence(items));
    let text = serde_yaml::to_string(&list).map_err(Error::Serialize)?;
    crate::write_output(&args.output, &text, stdout).map_err(|source| Error::Write {
        path: args.output.clone(),
        source,
    })
}
