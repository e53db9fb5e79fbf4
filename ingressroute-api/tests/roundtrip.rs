//! Every IngressRoute and TLSCertificateDelegation in `examples/` decodes, and survives
//! YAML → type → YAML → type unchanged. The examples are read at test time, whatever
//! they are; the test fails if it finds no IngressRoute at all, so it cannot pass
//! vacuously.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::{
    fmt::Debug,
    path::{Path, PathBuf},
};

use ingressroute_api::{API_VERSION, IngressRoute, TLSCertificateDelegation};
use serde::{Serialize, de::DeserializeOwned};

/// Every `*.yaml`/`*.yml` file below `dir`, sorted.
fn manifests(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Decodes `value`, re-encodes it as YAML, decodes that, and checks both decodings agree.
fn round_trip<T>(value: serde_json::Value, origin: &str)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let first: T = serde_json::from_value(value).unwrap_or_else(|e| panic!("{origin}: {e}"));
    let yaml = serde_saphyr::to_string(&first).unwrap_or_else(|e| panic!("{origin}: {e}"));
    let second: T = serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{origin}: re-reading: {e}\n{yaml}"));
    assert_eq!(first, second, "{origin}: changed in a round trip through\n{yaml}");
}

#[test]
fn every_example_round_trips_through_yaml() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let (mut routes, mut delegations) = (0, 0);
    for path in manifests(&examples) {
        let text = std::fs::read_to_string(&path).unwrap();
        let documents: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (i, value) in documents.into_iter().enumerate() {
            let origin = format!("{} (document {})", path.display(), i + 1);
            if value.get("apiVersion").and_then(|v| v.as_str()) != Some(API_VERSION) {
                continue;
            }
            match value.get("kind").and_then(|v| v.as_str()) {
                Some("IngressRoute") => {
                    round_trip::<IngressRoute>(value, &origin);
                    routes += 1;
                }
                Some("TLSCertificateDelegation") => {
                    round_trip::<TLSCertificateDelegation>(value, &origin);
                    delegations += 1;
                }
                _ => {}
            }
        }
    }
    assert!(routes > 0, "no IngressRoute found under {}", examples.display());
    eprintln!("round-tripped {routes} IngressRoutes and {delegations} TLSCertificateDelegations");
}
