//! What `check`, `render` and `serve` read, whatever the inputs look like: paths spelled
//! in every way, Kubernetes ConfigMap volumes, editor droppings, FIFOs. Every run has a
//! deadline, so that a hang fails the test instead of stalling the suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::io::Read as _;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{root, scratch, service, write_files};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long a run of `check` or `render` may take before it counts as hung.
const DEADLINE: Duration = Duration::from_secs(20);

/// What one run produced, or `None` in `code` when it had to be killed.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ingressroute"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` until `deadline`; kills it past that.
fn finish(mut child: Child, deadline: Duration) -> Outcome {
    let start = Instant::now();
    let status: Option<ExitStatus> = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout).unwrap();
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr).unwrap();
    }
    Outcome {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
    }
}

fn run(dir: &Path, args: &[&str]) -> Outcome {
    finish(spawn(dir, args), DEADLINE)
}

/// Starts `serve` on `paths` (in `dir`, no Envoy, any free xDS port), waits until its log
/// has `needle`, sends SIGTERM and returns what it did; `code` is `None` when it had to
/// be killed (it did not stop within a few seconds of SIGTERM).
fn serve_until(dir: &Path, paths: &[&str], needle: &str) -> Outcome {
    let mut args = vec!["serve", "--xds-address", "127.0.0.1:0"];
    args.extend_from_slice(paths);
    let mut child = spawn(dir, &args);
    let stderr = child.stderr.take().unwrap();
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut log = Vec::new();
    let start = Instant::now();
    while start.elapsed() < DEADLINE && !log.iter().any(|l: &String| l.contains(needle)) {
        if let Ok(line) = seen.recv_timeout(Duration::from_millis(100)) {
            log.push(line);
        }
    }
    let _ = kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), Signal::SIGTERM);
    let mut outcome = finish(child, Duration::from_secs(5));
    while let Ok(line) = seen.recv_timeout(Duration::from_millis(200)) {
        log.push(line);
    }
    outcome.stderr = log.join("\n");
    outcome
}

fn pair(name: &str, fqdn: &str) -> String {
    format!("{}---\n{}", root("default", name, fqdn), service("default", "web"))
}

#[test]
fn relative_absolute_dotted_and_linked_paths_read_the_same_files() {
    let dir = scratch("inputs-spellings");
    write_files(
        &dir,
        &[
            ("x/a.yaml", &pair("a", "a.example.com")),
            ("x/sub/b.yaml", &root("default", "b", "b.example.com")),
        ],
    );
    symlink("x", dir.join("link")).unwrap();
    let absolute = dir.join("x");
    let spellings = ["x", "./x", "x/../x", "link", "./link/", absolute.to_str().unwrap()];
    let expected = run(&dir, &["check", "-o", "json", "x"]);
    assert_eq!(expected.code, Some(0), "{}", expected.stderr);
    let rendered = run(&dir, &["render", "x"]);
    assert_eq!(rendered.code, Some(0), "{}", rendered.stderr);
    for path in spellings {
        let check = run(&dir, &["check", "-o", "json", path]);
        assert_eq!(check.code, Some(0), "{path}: {}", check.stderr);
        assert_eq!(check.stdout, expected.stdout, "{path}");
        assert_eq!(check.stderr, "", "{path}");
        let render = run(&dir, &["render", path]);
        assert_eq!(render.stdout, rendered.stdout, "{path}");
    }
}

#[test]
fn a_configmap_volume_is_read_once_and_follows_an_atomic_swap() {
    let dir = scratch("inputs-configmap");
    let volume = dir.join("volume");
    let first = volume.join("..2026_01_01_00_00_00.000000001");
    write_files(
        &first,
        &[
            ("hello.yaml", &pair("hello", "one.example.com")),
            ("other.yaml", &service("default", "other")),
        ],
    );
    symlink("..2026_01_01_00_00_00.000000001", volume.join("..data")).unwrap();
    symlink("..data/hello.yaml", volume.join("hello.yaml")).unwrap();
    symlink("..data/other.yaml", volume.join("other.yaml")).unwrap();

    let check = run(&dir, &["check", "volume"]);
    assert_eq!(check.code, Some(0), "{}", check.stderr);
    assert_eq!(check.stderr, "", "no \"defined again\" warnings");
    assert!(check.stdout.contains("one.example.com"), "{}", check.stdout);

    // The kubelet's update: a new timestamped directory, a new `..data` link renamed
    // over the old one, the old directory removed.
    let second = volume.join("..2026_01_02_00_00_00.000000002");
    write_files(
        &second,
        &[
            ("hello.yaml", &pair("hello", "two.example.com")),
            ("other.yaml", &service("default", "other")),
        ],
    );
    symlink("..2026_01_02_00_00_00.000000002", volume.join("..data_tmp")).unwrap();
    std::fs::rename(volume.join("..data_tmp"), volume.join("..data")).unwrap();
    std::fs::remove_dir_all(&first).unwrap();

    let check = run(&dir, &["check", "volume"]);
    assert_eq!(check.code, Some(0), "{}", check.stderr);
    assert_eq!(check.stderr, "");
    assert!(check.stdout.contains("two.example.com"), "{}", check.stdout);
    let served = serve_until(&dir, &["volume"], "serving");
    assert!(!served.stderr.contains("defined again"), "{}", served.stderr);
    assert_eq!(served.code, Some(0), "{}", served.stderr);
}

#[test]
fn editor_droppings_and_hidden_files_are_not_read() {
    let dir = scratch("inputs-droppings");
    write_files(
        &dir,
        &[
            ("d/a.yaml", &pair("a", "a.example.com")),
            ("d/a.yaml~", "kind: ["),
            ("d/.a.yaml.swp", "kind: ["),
            ("d/#a.yaml#", "kind: ["),
            ("d/.hidden/b.yaml", "kind: ["),
        ],
    );
    // Emacs's lock file: a dangling link named like the file.
    symlink("user@host.4242:1700000000", dir.join("d/.#a.yaml")).unwrap();
    for command in ["check", "render"] {
        let out = run(&dir, &[command, "d"]);
        assert_eq!(out.code, Some(0), "{command}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{command}");
    }
}

#[test]
fn a_fifo_named_like_a_manifest_is_skipped_with_a_warning_and_never_opened() {
    let dir = scratch("inputs-fifo");
    write_files(&dir, &[("d/a.yaml", &pair("a", "a.example.com"))]);
    nix::unistd::mkfifo(&dir.join("d/p.yaml"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let warning = "d/p.yaml: not a regular file (a FIFO); skipped";
    for command in ["check", "render"] {
        let out = run(&dir, &[command, "d"]);
        assert_ne!(out.code, None, "{command} hung on the FIFO");
        assert_eq!(out.code, Some(0), "{command}: {}", out.stderr);
        assert!(out.stderr.contains(warning), "{command}: {}", out.stderr);
    }
    let served = serve_until(&dir, &["d"], "serving");
    assert!(served.stderr.contains(warning), "{}", served.stderr);
    assert_eq!(served.code, Some(0), "serve stops on SIGTERM: {}", served.stderr);
}

#[test]
fn sigterm_stops_serve_while_it_parses_a_large_file() {
    let dir = scratch("inputs-sigterm-while-parsing");
    // Tens of thousands of documents: seconds of parsing in a debug build.
    let big: String = (0..60_000)
        .map(|i| root("default", &format!("r{i}"), &format!("r{i}.example.com")))
        .collect::<Vec<_>>()
        .join("---\n");
    write_files(&dir, &[("d/big.yaml", &big)]);
    let mut child = spawn(&dir, &["serve", "--xds-address", "127.0.0.1:0", "d"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "serve is running");
    let signalled = Instant::now();
    let _ = kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), Signal::SIGTERM);
    let out = finish(child, Duration::from_secs(5));
    assert_eq!(
        out.code,
        Some(0),
        "serve stopped {:?} after SIGTERM: {}",
        signalled.elapsed(),
        out.stderr
    );
    assert!(out.stderr.contains("SIGTERM: shutting down"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("serving listeners"),
        "the file was still being read when SIGTERM came: {}",
        out.stderr
    );
}

/// Malformed Secrets that carry `key` (a PEM private key) in every wrong place: `data`
/// as a string, data values as numbers, lists and maps, `stringData` of the wrong shape,
/// base64 garbage, a List item, JSON, YAML that does not parse, unusable TLS Secrets.
fn malformed_secrets(key: &str) -> Vec<(String, String)> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(key);
    let quoted = serde_json::to_string(key).unwrap();
    let secret = |name: &str, body: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\ntype: kubernetes.io/tls\n{body}\n")
    };
    let mut files = vec![
        ("data-string.yaml", secret("a", &format!("data: {quoted}"))),
        ("data-base64-string.yaml", secret("b", &format!("data: {b64}"))),
        ("data-number.yaml", secret("c", "data: {tls.key: 1234567890}")),
        ("data-list.yaml", secret("d", &format!("data: {{tls.key: [{b64}]}}"))),
        (
            "data-map.yaml",
            secret("e", &format!("data: {{tls.key: {{k: {b64}}}}}")),
        ),
        (
            "data-garbage.yaml",
            secret("f", &format!("data: {{tls.key: {quoted}}}")),
        ),
        ("string-data-string.yaml", secret("g", &format!("stringData: {quoted}"))),
        (
            "string-data-list.yaml",
            secret("h", &format!("stringData: {{tls.key: [{quoted}]}}")),
        ),
        (
            "string-data-map.yaml",
            secret("i", &format!("stringData: {{tls.key: {{k: {quoted}}}}}")),
        ),
        (
            "list.yaml",
            format!(
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {{name: j}}\n  data: {quoted}\n"
            ),
        ),
        (
            "secret.json",
            format!(r#"{{"apiVersion": "v1", "kind": "Secret", "metadata": {{"name": "k"}}, "data": {quoted}}}"#),
        ),
        ("unterminated.yaml", secret("l", &format!("data: {{tls.key: \"{b64}"))),
        (
            "bad-indent.yaml",
            secret("m", &format!("stringData:\n  tls.key: |\n{key}\n  tls.crt: x")),
        ),
        (
            "unusable.yaml",
            secret("n", &format!("stringData: {{tls.key: {quoted}, tls.crt: {quoted}}}")),
        ),
        ("no-cert.yaml", secret("o", &format!("data: {{tls.key: {b64}}}"))),
        (
            "route.yaml",
            root("default", "r", "r.example.com")
                .replace("fqdn: r.example.com", "fqdn: r.example.com\n    tls: {secretName: n}"),
        ),
    ];
    files.push(("web.yaml", service("default", "web")));
    files.into_iter().map(|(name, text)| (name.to_owned(), text)).collect()
}

#[test]
fn no_output_of_check_render_or_serve_holds_a_secrets_key_material() {
    use base64::Engine as _;
    let dir = scratch("inputs-secrets");
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    for (name, text) in malformed_secrets(&key) {
        write_files(&dir, &[(&format!("d/{name}"), &text)]);
    }
    // The key's lines, and its base64 form in pieces: none may show anywhere.
    let b64 = base64::engine::general_purpose::STANDARD.encode(&key);
    let mut needles: Vec<String> = key
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .map(str::to_owned)
        .collect();
    needles.extend(
        b64.as_bytes()
            .chunks(24)
            .map(|c| String::from_utf8_lossy(c).into_owned()),
    );

    let mut outputs = Vec::new();
    for args in [
        vec!["check", "d"],
        vec!["check", "-o", "json", "d"],
        vec!["check", "-o", "yaml", "d"],
        vec!["render", "d"],
        vec!["render", "-o", "yaml", "d"],
    ] {
        let out = run(&dir, &args);
        assert_ne!(out.code, None, "{args:?} hung");
        outputs.push((format!("{args:?}"), format!("{}\n{}", out.stdout, out.stderr)));
    }
    let served = serve_until(&dir, &["d"], "serving");
    assert_eq!(served.code, Some(0), "{}", served.stderr);
    outputs.push(("serve".to_owned(), served.stderr));

    for (what, output) in &outputs {
        assert!(
            output.contains("data"),
            "{what} said something about the Secrets: {output}"
        );
        for needle in &needles {
            assert!(
                !output.contains(needle.as_str()),
                "{what} printed key material {needle:?}:\n{output}"
            );
        }
    }
}
