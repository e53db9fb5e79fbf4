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
//!
//! The output holds private keys: a file is created readable by its owner only (mode
//! 0600, given when the file is created, so it is never readable by others even for a
//! moment), and an existing file is replaced only with `--force` (it is removed and
//! created anew, so its old, possibly wider, permissions do not carry over).

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

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

    /// Where to write the Secrets (YAML); `-` writes standard output. The file is
    /// created with mode 0600 (it holds private keys).
    #[arg(value_name = "FILE|-", default_value = STDIN)]
    pub output: PathBuf,

    /// Replace FILE if it exists (by default an existing file is left alone).
    #[arg(long)]
    pub force: bool,
}

/// Why `certgen` could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The certificates could not be made.
    #[error("cannot generate the certificates")]
    Generate(#[source] ingressroute_xds::CertificateError),
    /// The Secrets could not be turned into JSON values.
    #[error("cannot convert the Secrets")]
    Json(#[source] serde_json::Error),
    /// The Secrets could not be serialised.
    #[error("cannot render YAML")]
    Serialize(#[source] serde_saphyr::SerializeError),
    /// The output file exists and `--force` was not given.
    #[error("{} exists; pass --force to replace it", .path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
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

/// Runs `ingressroute certgen`: writes a `List` of the two Secrets to `args.output`
/// (created with mode 0600), or to `stdout` when it is `-`.
///
/// # Errors
///
/// [`Error::Exists`] when the file exists and `args.force` is not set, [`Error::Write`]
/// when the output cannot be written; the others as [`secrets`].
pub fn run(args: &CertgenArgs, stdout: &mut impl Write) -> Result<(), Error> {
    let items = secrets(&args.namespace)?
        .iter()
        .map(|secret| {
            let mut value = serde_json::to_value(secret).map_err(Error::Json)?;
            if let serde_json::Value::Object(map) = &mut value {
                map.insert("apiVersion".into(), "v1".into());
                map.insert("kind".into(), "Secret".into());
            }
            Ok(value)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let text = serde_saphyr::to_string(&list).map_err(Error::Serialize)?;
    let write_error = |source| Error::Write {
        path: args.output.clone(),
        source,
    };
    if args.output.as_os_str() == STDIN {
        return stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(write_error);
    }
    write_private(&args.output, &text, args.force)
}

/// Writes `text` into a new file at `path` that only its owner can read, replacing an
/// existing file only when `force` is set.
fn write_private(path: &Path, text: &str, force: bool) -> Result<(), Error> {
    let write_error = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    if force {
        // Removed rather than truncated: an existing file keeps its permissions.
        match fs::remove_file(path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(write_error(error)),
            _ => {}
        }
    }
    // `create_new` also refuses a symbolic link at `path`, dangling or not.
    let mut file = match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Error::Exists { path: path.to_owned() });
        }
        Err(error) => return Err(write_error(error)),
    };
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(write_error)
}
