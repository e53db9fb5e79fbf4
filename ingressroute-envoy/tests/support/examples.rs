//! The bundled examples (`examples/ingressroute/*.yaml` at the workspace root) as
//! [`World`]s.
//!
//! Each file is self-contained: its IngressRoutes, TLSCertificateDelegations, Services,
//! Secrets and Endpoints, as YAML documents. They are read here with `serde-saphyr` alone,
//! not with the CLI's loader (which this crate must not depend on), so a document of
//! another kind or a malformed one fails the test that loads it.

use std::path::{Path, PathBuf};

use ingressroute_api as api;
use serde::de::DeserializeOwned;

use super::{Item, World};

/// `examples/ingressroute` of the workspace.
pub(crate) fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("examples")
        .join("ingressroute")
}

/// Every example, as (name, path), sorted by name; the name is the file stem.
pub(crate) fn all() -> Vec<(String, PathBuf)> {
    let mut examples: Vec<(String, PathBuf)> = std::fs::read_dir(dir())
        .expect("examples/ingressroute is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, path)
        })
        .collect();
    examples.sort();
    assert!(!examples.is_empty(), "no example in {}", dir().display());
    examples
}

fn decode<T: DeserializeOwned>(path: &Path, index: usize, value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{}: document {}: {e}", path.display(), index + 1))
}

/// The objects of one example file, in the order they are written.
pub(crate) fn items(path: &Path) -> Vec<Item> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut items = Vec::new();
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (index, value) in documents.into_iter().enumerate() {
        let api_version = value["apiVersion"].as_str().unwrap_or_default().to_owned();
        let kind = value["kind"].as_str().unwrap_or_default().to_owned();
        let item = match (api_version.as_str(), kind.as_str()) {
            (api::API_VERSION, "IngressRoute") => Item::IngressRoute(decode(path, index, value)),
            (api::API_VERSION, "TLSCertificateDelegation") => Item::Delegation(decode(path, index, value)),
            ("v1", "Service") => Item::Service(decode(path, index, value)),
            ("v1", "Secret") => Item::Secret(decode(path, index, value)),
            ("v1", "Endpoints") => Item::Endpoints(decode(path, index, value)),
            _ => panic!(
                "{}: document {}: unexpected {api_version}/{kind}",
                path.display(),
                index + 1
            ),
        };
        items.push(item);
    }
    items
}

/// One example file as a [`World`] with the default DAG and Envoy configs. Panics
/// unless every IngressRoute in it is valid: the examples are all valid, and a golden
/// file of an example that lost a route would otherwise pass unnoticed.
pub(crate) fn world(path: &Path) -> World {
    let world = items(path).into_iter().fold(World::new(), World::item);
    let dag = world.dag();
    let statuses = dag.statuses();
    assert!(!statuses.is_empty(), "{}: no IngressRoute", path.display());
    for (object, status) in statuses {
        assert_eq!(
            status.current_status,
            ingressroute_dag::CurrentStatus::Valid,
            "{}: {object}: {}",
            path.display(),
            status.description
        );
    }
    world
}
