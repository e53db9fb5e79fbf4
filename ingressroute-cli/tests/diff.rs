//! `ingressroute diff`, run as a binary: exit codes, `--fail-on invalid`, JSON, standard
//! input, and every bundled example against itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{run, run_in, scratch, workspace, write_files};

#[test]
fn every_example_against_itself_is_no_change() {
    for dir in ["examples/ingressroute", "examples/invalid", "examples/diff/before"] {
        let run = run(&["diff", dir, dir]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "no changes\n"),
            "{dir}: {}",
            run.stderr
        );
    }
    // Each file of the examples against itself, on its own.
    for entry in std::fs::read_dir(workspace().join("examples/ingressroute")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let path = path.to_str().unwrap();
            let run = run(&["diff", "-o", "json", path, path]);
            assert_eq!(run.code, 0, "{path}: {}", run.stdout);
            assert_eq!(run.json()["changes"], serde_json::json!([]), "{path}");
        }
    }
}

#[test]
fn the_bundled_change_is_classed_by_effect_in_json() {
    let run = run(&["diff", "-o", "json", "examples/diff/before", "examples/diff/after"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["drainsListeners"], true);
    assert_eq!(json["summary"]["listeners"], 1);
    assert_eq!(json["summary"]["status"], 1);
    let status = &json["changes"][0];
    assert_eq!(status["subject"], "IngressRoute shop/cart");
    assert_eq!(status["fields"][0]["old"], "valid");
    assert_eq!(status["fields"][0]["new"], "invalid");
    assert!(
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["section"] == "virtualHost")
            .all(|c| c["virtualHost"] == "shop.example.com")
    );
}

#[test]
fn fail_on_invalid_ignores_changes_that_break_nothing() {
    let breaking = run(&[
        "diff",
        "--fail-on",
        "invalid",
        "examples/diff/before",
        "examples/diff/after",
    ]);
    assert_eq!(breaking.code, 1);
    // Backwards, the child is repaired: changes, but nothing becomes invalid.
    let repairing = run(&[
        "diff",
        "--fail-on",
        "invalid",
        "examples/diff/after",
        "examples/diff/before",
    ]);
    assert_eq!(repairing.code, 0, "{}", repairing.stdout);
    assert!(
        repairing
            .stdout
            .contains("shop/cart: invalid -> valid: valid IngressRoute")
    );
    let plain = run(&["diff", "examples/diff/after", "examples/diff/before"]);
    assert_eq!(plain.code, 1);
}

#[test]
fn standard_input_can_be_one_side() {
    let dir = scratch("diff-stdin");
    let new = std::fs::read_to_string(workspace().join("examples/diff/after/shop.yaml")).unwrap();
    write_files(
        &dir,
        &[(
            "old.yaml",
            &std::fs::read_to_string(workspace().join("examples/diff/before/shop.yaml")).unwrap(),
        )],
    );
    let run = run_in(&dir, &["diff", "old.yaml", "-"], &new);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("virtual host shop.example.com:"), "{}", run.stdout);
}

#[test]
fn unreadable_input_is_exit_code_2_and_prints_nothing() {
    let run = run(&["diff", "examples/diff/before", "examples/diff/nowhere"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("examples/diff/nowhere"), "{}", run.stderr);
    assert!(
        run.stderr
            .ends_with("error: no diff: some input cannot be read or parsed\n")
    );
}
