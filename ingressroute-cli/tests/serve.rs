//! `ingressroute serve` failing before it serves anything. Serving itself, with a real
//! Envoy, is tested end to end in `tests/e2e`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::run;

#[test]
fn standard_input_cannot_be_served() {
    let out = run(&["serve", "-"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("error: serve reads files and directories; standard input (`-`) cannot be watched"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_xds_address_in_use_is_an_error_with_exit_code_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = run(&["serve", "--xds-address", &address, "examples/local"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("error: the xDS server failed: cannot listen on {address}: ")),
        "{}",
        out.stderr
    );
}

#[test]
fn the_local_example_is_valid() {
    let out = run(&["check", "examples/local"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("hello.local"), "{}", out.stdout);
}

/// A plain HTTP/1.1 `GET`: the status code and the body.
fn http_get(address: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((code, body))
}

#[test]
fn debug_address_serves_the_graph_of_the_last_build() {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = common::scratch("serve-debug-address");
    common::write_files(
        &dir,
        &[
            ("root.yaml", &common::root("default", "home", "home.example.com")),
            ("web.yaml", &common::service("default", "web")),
        ],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_ingressroute"))
        .args([
            "serve",
            "--xds-address",
            "127.0.0.1:0",
            "--debug-address",
            "127.0.0.1:0",
            ".",
        ])
        .current_dir(&dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    // Keeps reading stderr so that `serve` never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("serving the delegation graph at /debug/dag")
                && let Some(address) = line.split("address=").nth(1)
            {
                let _ = address_tx.send(address.split_whitespace().next().unwrap_or_default().to_owned());
            }
        }
    });
    let address = address_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("serve says where /debug/dag is");

    let until = |what: &str, check: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    until("the graph is served", &|| {
        http_get(&address, "/debug/dag").is_some_and(|(code, body)| {
            code == 200 && body.contains("\"IngressRoute/default/home\" -> \"Service/default/web\" [label=\"/ :80\"];")
        })
    });
    let (code, json) = http_get(&address, "/debug/dag?format=json").unwrap();
    assert_eq!(code, 200);
    assert!(json.contains("\"status\": \"valid\""), "{json}");
    assert_eq!(http_get(&address, "/debug/dag?format=gif").unwrap().0, 400);

    // It follows the files.
    common::write_files(
        &dir,
        &[("other.yaml", &common::root("default", "away", "away.example.com"))],
    );
    until("the new root is drawn", &|| {
        http_get(&address, "/debug/dag?format=mermaid").is_some_and(|(_, body)| body.contains("default/away"))
    });
    child.kill().unwrap();
    child.wait().unwrap();
}
