//! Helpers shared by the integration tests: run the real `ingressroute` binary, make
//! scratch directories, compare with golden files.

#![allow(dead_code, unreachable_pub)]

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stderr lines.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// `namespace/name` → (`currentStatus`, `description`) from `-o json` output.
    pub fn statuses(&self) -> Vec<(String, String, String)> {
        self.json()["items"]
            .as_array()
            .expect("items is an array")
            .iter()
            .map(|item| {
                (
                    format!(
                        "{}/{}",
                        item["namespace"].as_str().unwrap(),
                        item["name"].as_str().unwrap()
                    ),
                    item["status"]["currentStatus"].as_str().unwrap().to_owned(),
                    item["status"]["description"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

/// The workspace root; the binary runs there, so relative paths in messages are stable.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is in the workspace")
        .to_owned()
}

/// Runs `ingressroute ARGS` in `dir` with `stdin`.
pub fn run_in(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ingressroute"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin is written");
    let output = child.wait_with_output().expect("the binary finishes");
    Run {
        code: output
            .status
            .code()
            .expect("the binary exits with a code, not a signal"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `ingressroute ARGS` in the workspace root, with empty stdin.
pub fn run(args: &[&str]) -> Run {
    run_in(&workspace(), args, "")
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("ingressroute-cli")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("the scratch directory is created");
    dir
}

/// Writes `files` (relative path, content) under `dir`, creating directories.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().expect("a file has a parent")).expect("the directory is created");
        fs::write(&path, content).expect("the file is written");
    }
}

/// The environment variable that makes golden tests rewrite their expected files.
pub const BLESS: &str = "INGRESSROUTE_BLESS";

/// Compares `actual` with the committed file `relative` (to the workspace root), or
/// rewrites the file when `INGRESSROUTE_BLESS=1`.
pub fn assert_golden(relative: &str, actual: &str) {
    assert_golden_of("examples", relative, actual);
}

/// [`assert_golden`] for the integration test `test`, which the hint names.
pub fn assert_golden_of(test: &str, relative: &str, actual: &str) {
    let path = workspace().join(relative);
    if std::env::var(BLESS).is_ok_and(|v| v == "1") {
        fs::create_dir_all(path.parent().expect("a file has a parent")).expect("the directory is created");
        fs::write(&path, actual).expect("the golden file is written");
        return;
    }
    let hint = format!(
        "if the new output is right, regenerate the expected files with \
         `{BLESS}=1 cargo test -p ingressroute-cli --test {test}` and review the diff"
    );
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {relative}: {e}; {hint}"));
    assert!(
        expected == actual,
        "the output differs from {relative}; {hint}\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

/// A Service `name` in `namespace` with one port 80.
pub fn service(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  ports:\n  - name: http\n    port: 80\n"
    )
}

/// A root IngressRoute `name` in `namespace` for `fqdn`, routing `/` to Service `web`.
pub fn root(namespace: &str, name: &str, fqdn: &str) -> String {
    format!(
        "apiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  virtualhost:\n    fqdn: {fqdn}\n  routes:\n  - match: /\n    services:\n    - name: web\n      port: 80\n"
    )
}
