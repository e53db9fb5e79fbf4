//! The README's examples of the commands whose output is shown in full (`graph`, `diff`)
//! are what the binary prints: each `$ ingressroute ...` line of a `console` block is run
//! in the workspace root, its standard output compared with the lines below it, and a
//! following `$ echo $?` with its exit code.
//!
//! `INGRESSROUTE_BLESS=1 cargo test -p ingressroute-cli --test readme` rewrites the
//! outputs in the README (review the diff).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::fs;

use common::{BLESS, run, workspace};

/// The subcommands whose README examples are complete and checked.
const CHECKED: [&str; 2] = ["graph", "diff"];

const README: &str = "ingressroute-cli/README.md";

/// One checked example: where its output lines are in the README, and what it prints.
struct Example {
    command: String,
    /// The README lines of the expected output: `start..end`.
    start: usize,
    end: usize,
    indent: String,
    actual: Vec<String>,
    /// The expected exit code (`$ echo $?` after it), and the actual one.
    code: Option<(usize, i32)>,
}

fn examples(lines: &[&str]) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed != "```console" {
            i += 1;
            continue;
        }
        let indent = line[..line.len() - trimmed.len()].to_owned();
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_start() == "```")
            .expect("the console block is closed");
        let body: Vec<&str> = lines[i + 1..end]
            .iter()
            .map(|l| l.strip_prefix(indent.as_str()).unwrap_or(l))
            .collect();
        let commands: Vec<usize> = (0..body.len()).filter(|&k| body[k].starts_with("$ ")).collect();
        for (n, &k) in commands.iter().enumerate() {
            let command = &body[k][2..];
            let args: Vec<&str> = command.split_whitespace().collect();
            if args.first() != Some(&"ingressroute") || !CHECKED.contains(&args.get(1).copied().unwrap_or_default()) {
                continue;
            }
            let output_end = commands.get(n + 1).copied().unwrap_or(body.len());
            let ran = run(&args[1..]);
            assert!(ran.stderr.is_empty(), "`{command}` wrote to stderr: {}", ran.stderr);
            let code = match commands.get(n + 1) {
                Some(&e) if body[e] == "$ echo $?" => Some((i + 1 + e + 1, ran.code)),
                _ => None,
            };
            examples.push(Example {
                command: command.to_owned(),
                start: i + 1 + k + 1,
                end: i + 1 + output_end,
                indent: indent.clone(),
                actual: ran.stdout.lines().map(str::to_owned).collect(),
                code,
            });
        }
        i = end + 1;
    }
    examples
}

#[test]
fn the_readme_shows_what_graph_and_diff_print() {
    let path = workspace().join(README);
    let text = fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let examples = examples(&lines);
    for command in CHECKED {
        assert!(
            examples
                .iter()
                .any(|e| e.command.starts_with(&format!("ingressroute {command}"))),
            "the README has no example of `ingressroute {command}`"
        );
    }
    if std::env::var(BLESS).is_ok_and(|v| v == "1") {
        let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        // From the last example up, so earlier line numbers stay right.
        for example in examples.iter().rev() {
            if let Some((line, code)) = example.code {
                out[line] = format!("{}{code}", example.indent);
            }
            let actual = example.actual.iter().map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("{}{l}", example.indent)
                }
            });
            out.splice(example.start..example.end, actual);
        }
        fs::write(&path, out.join("\n") + "\n").unwrap();
        return;
    }
    for example in &examples {
        let expected: Vec<&str> = lines[example.start..example.end]
            .iter()
            .map(|l| l.strip_prefix(example.indent.as_str()).unwrap_or(l))
            .collect();
        assert_eq!(
            expected, example.actual,
            "`{}` in {README} differs from its output; if the new output is right, run \
             `{BLESS}=1 cargo test -p ingressroute-cli --test readme` and review the diff",
            example.command
        );
        if let Some((line, code)) = example.code {
            assert_eq!(
                lines[line].trim(),
                code.to_string(),
                "the exit code of `{}`",
                example.command
            );
        }
    }
}
