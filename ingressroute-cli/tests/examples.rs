//! The committed examples, checked by the real binary: `examples/ingressroute` is all
//! valid, and every file of `examples/invalid` gets the statuses its comments promise.
//!
//! The expected JSON files under `examples/expected/` are rewritten with
//! `INGRESSROUTE_BLESS=1 cargo test -p ingressroute-cli --test examples`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::{assert_golden, run, workspace};

const ROOT_NAMESPACES_FILE: &str = "examples/invalid/root-in-non-root-namespace.only-with-root-namespaces.yaml";

#[test]
fn every_documented_example_is_valid_and_matches_the_expected_output() {
    let run = run(&["check", "-o", "json", "examples/ingressroute"]);
    assert_eq!(run.stderr, "", "the examples load without a single warning");
    assert_golden("examples/expected/ingressroute.check.json", &run.stdout);
    let not_valid: Vec<_> = run
        .statuses()
        .into_iter()
        .filter(|(_, status, _)| status != "valid")
        .collect();
    assert!(not_valid.is_empty(), "every example is valid: {not_valid:#?}");
    assert_eq!(run.code, 0);
}

#[test]
fn the_invalid_examples_match_the_expected_output() {
    let run = run(&["check", "-o", "json", "examples/invalid"]);
    assert_golden("examples/expected/invalid.check.json", &run.stdout);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn the_root_namespace_example_is_invalid_only_with_root_namespaces() {
    let run = run(&[
        "check",
        "--root-namespaces",
        "roots",
        "-o",
        "json",
        ROOT_NAMESPACES_FILE,
    ]);
    assert_golden(
        "examples/expected/root-in-non-root-namespace.only-with-root-namespaces.check.json",
        &run.stdout,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stderr, "");

    let unrestricted = common::run(&["check", "-o", "json", ROOT_NAMESPACES_FILE]);
    assert_eq!(unrestricted.code, 0, "{}", unrestricted.stderr);
}

/// What a file of `examples/invalid` says about itself.
#[derive(Debug)]
struct Expectation {
    /// The `# expect <status>: <description>` line, split.
    headline: (String, String),
    /// `--root-namespaces` value (`None` for no flag) → object → (status, description).
    statuses: BTreeMap<Option<String>, BTreeMap<String, (String, String)>>,
}

fn split_status(text: &str) -> Option<(String, String)> {
    let (status, description) = text.split_once(": ")?;
    Some((status.trim().to_owned(), description.to_owned()))
}

fn parse_expectation(text: &str) -> Result<Expectation, String> {
    let mut lines = text.lines();
    let first = lines.next().ok_or("the file is empty")?;
    let headline = first
        .strip_prefix("# expect ")
        .ok_or("the first line is not `# expect <status>: <description>`")?;
    let (status, description) = split_status(headline).ok_or("the first line has no description")?;
    // "invalid (only when checked with ...)" keeps only the status word.
    let status = status.split_whitespace().next().unwrap_or_default().to_owned();

    let mut statuses: BTreeMap<Option<String>, BTreeMap<String, (String, String)>> = BTreeMap::new();
    let mut block = lines.skip_while(|l| !l.starts_with("# Expected status of every IngressRoute"));
    block.next().ok_or("there is no \"Expected status\" block")?;
    for line in block.take_while(|l| l.starts_with("#   ")) {
        let entry = line.trim_start_matches('#').trim();
        let (flag, entry) = if let Some(rest) = entry.strip_prefix("with --root-namespaces=") {
            let (value, entry) = rest.split_once(':').ok_or_else(|| format!("bad line {line:?}"))?;
            (Some(value.to_owned()), entry.trim())
        } else if let Some(rest) = entry.strip_prefix("without a restriction:") {
            (None, rest.trim())
        } else {
            (None, entry)
        };
        let (object, rest) = entry.split_once(": ").ok_or_else(|| format!("bad line {line:?}"))?;
        let expected = split_status(rest).ok_or_else(|| format!("bad line {line:?}"))?;
        statuses.entry(flag).or_default().insert(object.to_owned(), expected);
    }
    if statuses.is_empty() {
        return Err("the \"Expected status\" block is empty".into());
    }
    Ok(Expectation {
        headline: (status, description),
        statuses,
    })
}

#[test]
fn every_invalid_example_gets_the_statuses_its_comments_promise() {
    let mut files: Vec<_> = fs::read_dir(workspace().join("examples/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "found only {} files", files.len());

    let mut mismatches = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(workspace()).unwrap().to_str().unwrap().to_owned();
        let expectation = match parse_expectation(&fs::read_to_string(path).unwrap()) {
            Ok(e) => e,
            Err(e) => {
                mismatches.push(format!("{relative}: {e}"));
                continue;
            }
        };
        let mut headline_seen = false;
        for (flag, expected) in &expectation.statuses {
            let mut args = vec!["check", "-o", "json"];
            if let Some(namespaces) = flag {
                args.extend(["--root-namespaces", namespaces]);
            }
            args.push(&relative);
            let run = run(&args);
            if run.code == 2 {
                mismatches.push(format!("{relative}: cannot be loaded: {}", run.stderr));
                continue;
            }
            let actual: BTreeMap<String, (String, String)> = run
                .statuses()
                .into_iter()
                .map(|(object, status, description)| (object, (status, description)))
                .collect();
            if &actual != expected {
                mismatches.push(format!(
                    "{relative} (root namespaces {flag:?}):\n  expected {expected:#?}\n  got {actual:#?}"
                ));
            }
            let all_valid = actual.values().all(|(status, _)| status == "valid");
            let want = if all_valid { 0 } else { 1 };
            if run.code != want {
                mismatches.push(format!(
                    "{relative} (root namespaces {flag:?}): exit code {} instead of {want}",
                    run.code
                ));
            }
            headline_seen |= actual.values().any(|s| *s == expectation.headline);
        }
        if !headline_seen {
            mismatches.push(format!(
                "{relative}: no IngressRoute has the status of the first line {:?}",
                expectation.headline
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatch(es):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
