//! Whole translations compared with reviewed golden files: every bundled example and a
//! few hand-made cases (`support/cases.rs`), each in `tests/golden/<case>/resources.yaml`.
//!
//! A golden file holds exactly what `ingressroute render -o yaml` prints for the case:
//! one object with the lists `listeners`, `routes`, `clusters`, `endpoints` and
//! `secrets`, each resource as proto3 JSON with its `@type`, written as YAML, private keys
//! redacted as `[redacted]` (`json::typed_resources` with `Secrets::Redacted`).
//!
//! `INGRESSROUTE_BLESS=1 cargo test -p ingressroute-envoy --test golden` rewrites them
//! (and only then); review the diff like code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::collections::BTreeSet;

use ingressroute_envoy::json::{self, Secrets};
use support::cases::{self, BLESS, Case};

const COMMAND: &str = "INGRESSROUTE_BLESS=1 cargo test -p ingressroute-envoy --test golden";

fn bless() -> bool {
    std::env::var(BLESS).is_ok_and(|v| v == "1")
}

/// The golden text of a case.
fn render(case: &Case) -> String {
    let typed = json::typed_resources(&case.resources(), Secrets::Redacted).unwrap();
    serde_saphyr::to_string(&typed).unwrap()
}

/// Compares a case with its golden file (or rewrites it when blessing); `Err` describes
/// the difference.
fn check(case: &Case) -> Result<(), String> {
    let actual = render(case);
    let path = case.golden_path();
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return Ok(());
    }
    let expected = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if expected == actual {
        return Ok(());
    }
    let (line, want, got) = expected
        .lines()
        .chain(std::iter::repeat("<end of file>"))
        .zip(actual.lines().chain(std::iter::repeat("<end of file>")))
        .enumerate()
        .find(|(_, (want, got))| want != got)
        .map(|(i, (want, got))| (i + 1, want, got))
        .unwrap_or((0, "", ""));
    Err(format!(
        "{} differs at line {line}:\n  golden: {want}\n  actual: {got}",
        path.display()
    ))
}

fn check_all(cases: &[Case]) {
    let failures: Vec<String> = cases.iter().filter_map(|case| check(case).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ; if the new output is right, run `{COMMAND}` and review the diff\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_example_translates_to_its_golden_file() {
    check_all(&cases::examples());
}

#[test]
fn the_hand_made_cases_translate_to_their_golden_files() {
    check_all(&cases::hand_made());
}

#[test]
fn every_golden_directory_belongs_to_a_case() {
    let cases: BTreeSet<String> = cases::all().into_iter().map(|c| c.name).collect();
    let dirs: BTreeSet<String> = std::fs::read_dir(cases::golden_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let stale: Vec<&String> = dirs.difference(&cases).collect();
    assert!(
        stale.is_empty(),
        "golden directories without a case (delete them): {stale:?}"
    );
}

#[test]
fn golden_files_never_hold_a_private_key() {
    for case in cases::all() {
        let text = render(&case);
        assert!(!text.contains("LS0tLS1CRUdJTiBQUklWQVRF"), "{}", case.name); // "-----BEGIN PRIVATE"
        assert!(!text.contains("LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVk"), "{}", case.name); // "-----BEGIN RSA PRIVATE KEY"
        assert!(!text.contains("LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS"), "{}", case.name); // "-----BEGIN EC PRIVATE KEY"
        for secret in case.resources().secrets {
            assert!(
                text.contains("inline_string: \"[redacted]\""),
                "{}: secret {} is not redacted",
                case.name,
                secret.name
            );
        }
    }
}
