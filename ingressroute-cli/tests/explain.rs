//! `ingressroute explain` run as a user runs it: exit codes, input errors, JSON, and the
//! examples of the CLI README, which are rewritten with
//! `INGRESSROUTE_BLESS=1 cargo test -p ingressroute-cli --test explain`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::fs;

use common::{BLESS, run, run_in, scratch, workspace, write_files};

#[test]
fn a_proxied_request_exits_0_and_a_404_exits_1() {
    let served = run(&[
        "explain",
        "http://foo-basic.bar.com/",
        "examples/ingressroute/basic.yaml",
    ]);
    assert_eq!(served.code, 0, "{}", served.stderr);
    assert!(
        served
            .stdout
            .starts_with("request       http://foo-basic.bar.com/\noutcome       proxied\n")
    );
    let missing = run(&["explain", "http://nobody.bar.com/", "examples/ingressroute/basic.yaml"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stdout
            .contains("reason        no root IngressRoute has fqdn nobody.bar.com\n"),
        "{}",
        missing.stdout
    );
    let redirected = run(&[
        "explain",
        "http://foo3.bar.com/",
        "examples/ingressroute/tls-insecure-route.yaml",
    ]);
    assert_eq!(redirected.code, 0, "{}", redirected.stdout);
    assert!(redirected.stdout.contains("outcome       redirected (301)\n"));
}

#[test]
fn json_output_has_the_documented_keys() {
    let run = run(&[
        "explain",
        "-o",
        "json",
        "http://weights.bar.com/x",
        "examples/ingressroute/upstream-weights.yaml",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["url"], "http://weights.bar.com/x");
    assert_eq!(json["outcome"], "proxied");
    assert_eq!(json["virtualHost"]["fqdn"], "weights.bar.com");
    assert_eq!(json["virtualHost"]["root"], "default/weight-shifting");
    assert_eq!(json["route"]["match"], "/");
    assert_eq!(json["route"]["rewrittenPath"], "/x");
    assert_eq!(json["chain"][0]["name"], "weight-shifting");
    assert_eq!(json["chain"][0]["status"], "valid");
    let weights: Vec<(String, u64, f64)> = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                format!(
                    "{}/{}:{}",
                    s["namespace"].as_str().unwrap(),
                    s["name"].as_str().unwrap(),
                    s["port"]
                ),
                s["weight"].as_u64().unwrap(),
                s["share"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weights,
        [
            ("default/weights-s1:80".to_owned(), 10, 0.1),
            ("default/weights-s2:80".to_owned(), 90, 0.9)
        ]
    );
    assert!(
        json["services"][0]["cluster"]
            .as_str()
            .unwrap()
            .starts_with("default/weights-s1/80/")
    );
    assert!(json["reason"].is_null());
}

#[test]
fn a_bad_url_is_an_input_error_that_names_it() {
    let run = run(&["explain", "ftp://x/", "examples/ingressroute/basic.yaml"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: URL \"ftp://x/\": the scheme must be http:// or https://\n"
    );
    let run = common::run(&["explain", "http://x:99999/", "examples/ingressroute/basic.yaml"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: URL \"http://x:99999/\": the port \"99999\" is not a number from 1 to 65535\n"
    );
}

#[test]
fn input_that_cannot_be_read_explains_nothing() {
    let dir = scratch("explain-broken-input");
    write_files(&dir, &[("bad.yaml", "kind: [unclosed\n")]);
    let run = run_in(&dir, &["explain", "http://x/", "bad.yaml"], "");
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    let lines = run.stderr_lines();
    assert!(lines[0].starts_with("error: bad.yaml"), "{}", run.stderr);
    assert_eq!(
        lines.last().copied(),
        Some("error: nothing explained: some input cannot be read or parsed")
    );
}

#[test]
fn manifests_are_read_from_standard_input() {
    let text = fs::read_to_string(workspace().join("examples/ingressroute/basic.yaml")).unwrap();
    let run = run_in(
        &workspace(),
        &["explain", "-o", "json", "http://foo-basic.bar.com/", "-"],
        &text,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["services"][0]["name"], "basic-s1");
}

/// One `$ ingressroute explain ...` example of the README: its command line, its output
/// and its exit code (`$ echo $?`), and where its output is in the README.
struct Example {
    args: Vec<String>,
    output: String,
    code: i32,
    output_span: (usize, usize),
}

fn readme_examples(readme: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut offset = 0;
    while let Some(start) = readme[offset..].find("```console\n$ ingressroute explain ") {
        let block = offset + start + "```console\n".len();
        let end = block + readme[block..].find("```\n").expect("the block ends");
        let text = &readme[block..end];
        let (command, rest) = text.split_once('\n').unwrap();
        let echo = rest.find("$ echo $?\n").expect("the example shows its exit code");
        let code = rest[echo + "$ echo $?\n".len()..].trim().parse().unwrap();
        let output_start = block + command.len() + 1;
        examples.push(Example {
            args: command
                .trim_start_matches("$ ingressroute ")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            output: rest[..echo].to_owned(),
            code,
            output_span: (output_start, output_start + echo),
        });
        offset = end;
    }
    examples
}

#[test]
fn the_readme_examples_are_what_explain_prints() {
    let path = workspace().join("ingressroute-cli/README.md");
    let readme = fs::read_to_string(&path).unwrap();
    let examples = readme_examples(&readme);
    assert!(examples.len() >= 2, "the README shows explain's output");
    let bless = std::env::var(BLESS).is_ok_and(|v| v == "1");
    let mut rewritten = readme.clone();
    // Last first, so that earlier spans stay where they are.
    for example in examples.iter().rev() {
        let args: Vec<&str> = example.args.iter().map(String::as_str).collect();
        let run = run(&args);
        assert_eq!(run.stderr, "", "{args:?}");
        if bless {
            rewritten.replace_range(example.output_span.0..example.output_span.1, &run.stdout);
            continue;
        }
        assert_eq!(run.code, example.code, "{args:?}");
        assert!(
            run.stdout == example.output,
            "the README's example of `ingressroute {}` differs; if the new output is right, rewrite it with \
             `{BLESS}=1 cargo test -p ingressroute-cli --test explain`\n--- README\n{}\n--- actual\n{}",
            args.join(" "),
            example.output,
            run.stdout
        );
    }
    if bless && rewritten != readme {
        fs::write(&path, rewritten).unwrap();
    }
}
