//! How `serve --envoy` ends when it is not given the chance to clean up.

use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::support::envoy_binary;
use crate::support::world::free_port;

/// Kills the process group of `serve` (Envoy included) however the test ends.
struct Group(Pid);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = killpg(self.0, Signal::SIGKILL);
    }
}

/// Whether `pid` is gone: no such process, or a zombie waiting for a parent to reap it
/// (it holds no ports and runs nothing).
fn gone(pid: Pid) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // `pid (comm) S ...`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

fn wait_until(patience: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn envoy_dies_with_a_killed_serve_and_no_temporary_file_remains() {
    let Some(envoy) = envoy_binary() else { return };
    let scratch = tempfile::Builder::new()
        .prefix("ingressroute-e2e-sigkill-")
        .tempdir()
        .unwrap();
    let tmp = scratch.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/local");
    let [http, https, admin, xds, stats] = [(); 5].map(|()| format!("127.0.0.1:{}", free_port()));
    let port = |address: &str| address.rsplit_once(':').unwrap().1.to_owned();

    let mut serve = Command::new(env!("CARGO_BIN_EXE_ingressroute"))
        .arg("serve")
        .args(["--xds-address", &xds])
        .args(["--http-address", "127.0.0.1"])
        .args(["--http-port", &port(&http)])
        .args(["--https-port", &port(&https)])
        .args(["--admin-address", &admin])
        .args(["--stats-address", &stats])
        .arg("--envoy")
        .arg(&envoy)
        .arg(&manifests)
        .env("TMPDIR", &tmp)
        .env("RUST_LOG", "info")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let serve_pid = Pid::from_raw(i32::try_from(serve.id()).unwrap());
    let _group = Group(serve_pid);

    // "envoy started pid=N ...", then Envoy's admin interface answering.
    let mut lines = BufReader::new(serve.stderr.take().unwrap()).lines();
    let envoy_pid = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.split_once("envoy started pid=")?.1;
            rest.split_whitespace().next()?.parse::<i32>().ok()
        })
        .map(Pid::from_raw)
        .expect("serve logs Envoy's pid");
    std::thread::spawn(move || lines.for_each(drop));
    assert!(
        wait_until(Duration::from_secs(30), || std::net::TcpStream::connect(&admin).is_ok()),
        "Envoy's admin interface never answered"
    );

    kill(serve_pid, Signal::SIGKILL).unwrap();
    serve.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || gone(envoy_pid)),
        "Envoy (pid {envoy_pid}) outlived serve"
    );
    assert!(
        wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(&admin).is_err()),
        "Envoy's admin port is still open"
    );
    assert_eq!(entries(&tmp), Vec::<String>::new(), "serve left files in TMPDIR");
}
