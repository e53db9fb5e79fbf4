//! A [`World`]: manifests in a temporary directory, the real `ingressroute serve` binary
//! serving them, a real Envoy configured by it, and the backends the manifests point at.
//!
//! # Processes
//!
//! `serve` starts in a process group of its own. By default it starts Envoy itself
//! (`--envoy`, state-of-the-world ADS), so Envoy is in that group too. With
//! [`Setup::delta`] the harness writes the bootstrap with `ingressroute bootstrap --delta`
//! and starts Envoy itself, in the same group. Dropping the world sends SIGTERM to
//! `serve` (which stops its Envoy and waits for it), waits for it, then kills whatever is
//! left in the group. A small `sh` watchdog kills the group too if the test process dies
//! without dropping the world.
//!
//! # Ports
//!
//! Backends bind port 0 and keep their socket. Envoy's listeners, admin interface and
//! `stats-health` listener and the xDS server get ports that were free a moment before
//! (bound to port 0 and released, never handed out twice by this process).
//!
//! # Sharing
//!
//! Envoy takes about a second to start, so tests of one topic share a world through
//! [`shared`]: the first test builds it, the others reuse it while any of them holds it,
//! and the last one to let go tears it down. Each test only touches its own virtual hosts
//! and backends, so tests stay independent.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::ops::Deref;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::runtime::Runtime;

use super::backend::Backend;
use super::client;
use super::pki::{Ca, Leaf};
use super::{PATIENCE, eventually};

/// A port that was free a moment ago and that this process never handed out before.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if GIVEN.lock().unwrap().get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
}

/// What `serve` logs unless [`Setup::log_filter`] says otherwise.
pub const DEFAULT_LOG_FILTER: &str = "info,ingressroute_envoy=debug";

/// The lines `serve` (and, in delta mode, Envoy) wrote.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<String>>>);

impl Logs {
    fn follow(&self, output: impl std::io::Read + Send + 'static, prefix: &'static str) {
        let lines = Arc::clone(&self.0);
        let echo = std::env::var("INGRESSROUTE_E2E_LOG").is_ok_and(|v| v == "1");
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines() {
                let Ok(line) = line else { return };
                let line = format!("{prefix}{line}");
                if echo {
                    let _ = writeln!(std::io::stderr(), "{line}");
                }
                lines.lock().unwrap().push(line);
            }
        });
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// How many lines so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// What a world is made of, before it starts.
pub struct Setup {
    name: String,
    envoy: PathBuf,
    /// Always `Some` until [`Setup::start`] takes it.
    runtime: Option<Runtime>,
    ca: Ca,
    files: Vec<(String, String)>,
    args: Vec<String>,
    log_filter: String,
    delta: bool,
    /// Where the manifests go, relative to the world's directory, and whether `serve`
    /// runs there with that relative path (as `cargo xtask demo` runs it in the
    /// repository) instead of getting the absolute path.
    served: (String, bool),
    backends: BTreeMap<String, Backend>,
}

impl Setup {
    /// A new world named `name`, or `None` (the test skips) when there is no Envoy.
    pub fn new(name: &str) -> Option<Self> {
        let envoy = super::envoy_binary()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(format!("backends-{name}"))
            .enable_all()
            .build()
            .unwrap();
        Some(Self {
            name: name.to_owned(),
            envoy,
            runtime: Some(runtime),
            ca: Ca::new(&format!("ingressroute e2e CA ({name})")),
            files: Vec::new(),
            args: Vec::new(),
            log_filter: DEFAULT_LOG_FILTER.to_owned(),
            delta: false,
            served: ("manifests".to_owned(), false),
            backends: BTreeMap::new(),
        })
    }

    /// The world's certificate authority.
    pub fn ca(&self) -> &Ca {
        &self.ca
    }

    /// A certificate for `names`, signed by the world's CA.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.ca.leaf(names)
    }

    fn handle(&self) -> tokio::runtime::Handle {
        self.runtime.as_ref().unwrap().handle().clone()
    }

    fn add(&mut self, backend: Backend) -> Backend {
        assert!(
            self.backends.insert(backend.name.clone(), backend.clone()).is_none(),
            "two backends named {}",
            backend.name
        );
        backend
    }

    /// An HTTP echo backend (see [`Backend::http`]).
    pub fn http(&mut self, name: &str) -> Backend {
        let backend = Backend::http(&self.handle(), name);
        self.add(backend)
    }

    /// An HTTP echo backend that fails every other request (see [`Backend::flaky`]).
    pub fn flaky(&mut self, name: &str) -> Backend {
        let backend = Backend::flaky(&self.handle(), name);
        self.add(backend)
    }

    /// An HTTPS echo backend (see [`Backend::https`]).
    pub fn https(&mut self, name: &str, leaf: &Leaf) -> Backend {
        let backend = Backend::https(&self.handle(), name, leaf);
        self.add(backend)
    }

    /// A TCP echo backend (see [`Backend::tcp_echo`]).
    pub fn tcp_echo(&mut self, name: &str) -> Backend {
        let backend = Backend::tcp_echo(&self.handle(), name);
        self.add(backend)
    }

    /// A TLS echo backend (see [`Backend::tls_echo`]).
    pub fn tls_echo(&mut self, name: &str, leaf: &Leaf) -> Backend {
        let backend = Backend::tls_echo(&self.handle(), name, leaf);
        self.add(backend)
    }

    /// A WebSocket echo backend (see [`Backend::websocket`]).
    pub fn websocket(&mut self, name: &str) -> Backend {
        let backend = Backend::websocket(&self.handle(), name);
        self.add(backend)
    }

    /// A manifest file, relative to the served directory.
    pub fn file(&mut self, path: &str, content: impl Into<String>) {
        self.files.push((path.to_owned(), content.into()));
    }

    /// An extra argument for `ingressroute serve`.
    pub fn arg(&mut self, arg: &str) {
        self.args.push(arg.to_owned());
    }

    /// `RUST_LOG` for `serve`, instead of [`DEFAULT_LOG_FILTER`].
    pub fn log_filter(&mut self, filter: &str) {
        filter.clone_into(&mut self.log_filter);
    }

    /// The manifests go to `path` (relative to the world's directory), and `serve` runs
    /// in the world's directory with `path` as given: a relative path, as `cargo xtask
    /// demo` runs `serve ... examples/local` in the repository.
    pub fn relative(&mut self, path: &str) {
        self.served = (path.to_owned(), true);
    }

    /// Envoy speaks incremental ADS, with a bootstrap from `ingressroute bootstrap
    /// --delta`, instead of being started by `serve --envoy`.
    pub fn delta(&mut self) {
        self.delta = true;
    }

    /// Writes the manifests, starts `serve` and Envoy, and waits until Envoy is live.
    pub async fn start(self) -> World {
        let mut world = self.launch();
        world.wait_admin(true).await;
        world
    }

    /// Like [`Setup::start`], but only waits until Envoy's admin interface answers, live
    /// or not (for a world that serves nothing yet).
    pub async fn start_unready(self) -> World {
        let mut world = self.launch();
        world.wait_admin(false).await;
        world
    }

    fn launch(mut self) -> World {
        let dir = tempfile::Builder::new()
            .prefix(&format!("ingressroute-e2e-{}-", self.name))
            .tempdir()
            .unwrap();
        let manifests = dir.path().join(&self.served.0);
        for (path, content) in &self.files {
            let path = manifests.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
        }
        let [http, https, admin, xds, stats] = [(); 5].map(|()| SocketAddr::from(([127, 0, 0, 1], free_port())));
        let logs = Logs::default();

        let mut serve = Command::new(env!("CARGO_BIN_EXE_ingressroute"));
        serve
            .arg("serve")
            .args(["--xds-address", &xds.to_string()])
            .args(["--http-address", "127.0.0.1"])
            .args(["--http-port", &http.port().to_string()])
            .args(["--https-port", &https.port().to_string()])
            .args(["--admin-address", &admin.to_string()])
            .args(["--stats-address", &stats.to_string()])
            .args(&self.args);
        if !self.delta {
            serve.arg("--envoy").arg(&self.envoy);
        }
        if self.served.1 {
            serve.current_dir(dir.path()).arg(&self.served.0);
        } else {
            serve.arg(&manifests);
        }
        serve
            .env("RUST_LOG", &self.log_filter)
            .env_remove("RUST_LOG_STYLE")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut serve = serve.spawn().unwrap();
        let group = Pid::from_raw(i32::try_from(serve.id()).unwrap());
        logs.follow(serve.stderr.take().unwrap(), "");
        let reaper = reaper(group);

        let envoy = self.delta.then(|| {
            let bootstrap = dir.path().join("bootstrap.json");
            let status = Command::new(env!("CARGO_BIN_EXE_ingressroute"))
                .arg("bootstrap")
                .args(["--xds-address", &xds.to_string()])
                .args(["--admin-address", &admin.to_string()])
                .args(["--stats-address", &stats.to_string()])
                .args(["--node-id", &format!("e2e-{}", self.name)])
                .arg("--delta")
                .arg(&bootstrap)
                .status()
                .unwrap();
            assert!(status.success(), "ingressroute bootstrap failed: {status}");
            let mut envoy = Command::new(&self.envoy)
                .arg("-c")
                .arg(&bootstrap)
                .args(["--disable-hot-restart", "--log-level", "warn"])
                .args(["--base-id", &admin.port().to_string()])
                .process_group(group.as_raw())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            logs.follow(envoy.stdout.take().unwrap(), "envoy: ");
            logs.follow(envoy.stderr.take().unwrap(), "envoy: ");
            envoy
        });

        World {
            name: self.name.clone(),
            dir,
            manifests,
            http,
            https,
            admin,
            logs,
            ca: std::mem::replace(&mut self.ca, Ca::new("unused")),
            backends: std::mem::take(&mut self.backends),
            serve: Some(serve),
            envoy,
            group,
            reaper: Some(reaper),
            runtime: self.runtime.take(),
        }
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        // A runtime may not be dropped inside another one (tests are async).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A watchdog that kills `group` once this test process is gone.
fn reaper(group: Pid) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(
            "while kill -0 \"$0\" 2>/dev/null; do sleep 0.5; done; \
             kill -TERM -- \"-$1\" 2>/dev/null; sleep 5; kill -KILL -- \"-$1\" 2>/dev/null",
        )
        .arg(std::process::id().to_string())
        .arg(group.as_raw().to_string())
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// `serve`, Envoy and the backends of one set of manifests.
pub struct World {
    /// A name for messages.
    pub name: String,
    dir: tempfile::TempDir,
    manifests: PathBuf,
    /// Envoy's HTTP listener.
    pub http: SocketAddr,
    /// Envoy's HTTPS listener.
    pub https: SocketAddr,
    /// Envoy's admin interface.
    pub admin: SocketAddr,
    logs: Logs,
    ca: Ca,
    backends: BTreeMap<String, Backend>,
    serve: Option<Child>,
    envoy: Option<Child>,
    group: Pid,
    reaper: Option<Child>,
    runtime: Option<Runtime>,
}

impl World {
    /// Waits until the admin interface answers `/ready` with 200 (`live`) or with anything.
    async fn wait_admin(&mut self, live: bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(serve) = &mut self.serve
                && let Ok(Some(status)) = serve.try_wait()
            {
                panic!(
                    "{}: ingressroute serve exited ({status}) before Envoy was live:\n{}",
                    self.name,
                    self.logs.lines().join("\n")
                );
            }
            if let Ok(response) = client::get(self.admin, "admin", "/ready").await
                && (response.status == 200 || !live)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: Envoy was not live after {PATIENCE:?}:\n{}",
                self.name,
                self.logs.lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The world's certificate authority.
    pub fn ca(&self) -> &Ca {
        &self.ca
    }

    /// The backend named `name`.
    pub fn backend(&self, name: &str) -> &Backend {
        self.backends
            .get(name)
            .unwrap_or_else(|| panic!("no backend named {name}"))
    }

    /// The process id of `serve` (Envoy, with `--envoy`, is its child).
    pub fn serve_pid(&self) -> Option<u32> {
        self.serve.as_ref().map(Child::id)
    }

    /// The served directory.
    pub fn manifests(&self) -> &Path {
        &self.manifests
    }

    /// Replaces a manifest file the way an editor saves: a new file, flushed to disk and
    /// closed, renamed over the old. When this returns, the change is there to be seen.
    pub fn write(&self, path: &str, content: &str) {
        let path = self.manifests.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // Outside the served directory, so that `serve` only sees the rename.
        let scratch = self
            .dir
            .path()
            .join(format!("{}.saving", path.file_name().unwrap().to_string_lossy()));
        let mut file = std::fs::File::create(&scratch).unwrap();
        file.write_all(content.as_bytes()).unwrap();
        file.sync_all().unwrap();
        drop(file);
        std::fs::rename(&scratch, &path).unwrap();
    }

    /// Rewrites a manifest file in place (truncated and written, as some editors save).
    pub fn write_in_place(&self, path: &str, content: &str) {
        std::fs::write(self.manifests.join(path), content).unwrap();
    }

    /// Removes a manifest file.
    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.manifests.join(path)).unwrap();
    }

    /// What `serve` (and Envoy in delta mode) logged so far.
    pub fn logs(&self) -> &Logs {
        &self.logs
    }

    /// Waits until a log line after the first `since` lines contains every one of
    /// `needles`; returns it.
    pub async fn wait_for_log(&self, since: usize, needles: &[&str]) -> String {
        eventually(&format!("a log line with {needles:?}"), || async {
            self.logs
                .lines()
                .into_iter()
                .skip(since)
                .find(|line| needles.iter().all(|n| line.contains(n)))
                .ok_or_else(|| "not yet".to_owned())
        })
        .await
    }

    /// `GET http://<envoy><path>` with `Host: host`.
    pub async fn get(&self, host: &str, path: &str) -> Result<client::Response, String> {
        client::get(self.http, host, path).await
    }

    /// Envoy's admin `/stats` lines whose name contains `filter`, as (name, value).
    pub async fn stats(&self, filter: &str) -> Vec<(String, u64)> {
        let response = client::get(self.admin, "admin", &format!("/stats?filter={filter}"))
            .await
            .unwrap();
        assert_eq!(response.status, 200, "{}", response.body);
        response
            .body
            .lines()
            .filter_map(|line| line.split_once(": "))
            .filter_map(|(name, value)| Some((name.to_owned(), value.trim().parse().ok()?)))
            .collect()
    }

    /// Asserts that Envoy rejected no update (every `*.update_rejected` counter: LDS, CDS,
    /// and each RDS, EDS and SDS subscription, is zero) and that `serve` logged no NACK.
    pub async fn assert_no_rejected_updates(&self) {
        let stats = self.stats("update_rejected").await;
        assert!(
            stats
                .iter()
                .any(|(name, _)| name == "cluster_manager.cds.update_rejected"),
            "the CDS counter exists: {stats:?}"
        );
        assert!(
            stats
                .iter()
                .any(|(name, _)| name == "listener_manager.lds.update_rejected"),
            "the LDS counter exists: {stats:?}"
        );
        let rejected: Vec<&(String, u64)> = stats.iter().filter(|(_, value)| *value > 0).collect();
        let nacks: Vec<String> = self
            .logs
            .lines()
            .into_iter()
            .filter(|line| line.contains("NACK"))
            .collect();
        assert!(
            rejected.is_empty() && nacks.is_empty(),
            "{}: Envoy rejected updates: {rejected:?}\n{}",
            self.name,
            nacks.join("\n")
        );
    }

    /// The admin `/config_dump`, as JSON.
    pub async fn config_dump(&self) -> serde_json::Value {
        let response = client::get(self.admin, "admin", "/config_dump").await.unwrap();
        serde_json::from_str(&response.body).unwrap()
    }

    fn stop(&mut self) {
        if let Some(mut serve) = self.serve.take() {
            if let Ok(None) = serve.try_wait() {
                let _ = kill(Pid::from_raw(i32::try_from(serve.id()).unwrap()), Signal::SIGTERM);
                let deadline = Instant::now() + Duration::from_secs(10);
                while matches!(serve.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            let _ = killpg(self.group, Signal::SIGKILL);
            let _ = serve.wait();
        }
        if let Some(mut envoy) = self.envoy.take() {
            let _ = envoy.kill();
            let _ = envoy.wait();
        }
        if let Some(mut reaper) = self.reaper.take() {
            let _ = reaper.kill();
            let _ = reaper.wait();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Stops everything, and returns how `serve` exited (for the test of clean shutdown).
    pub fn shut_down(mut self) -> std::process::ExitStatus {
        let mut serve = self.serve.take().unwrap();
        let _ = kill(Pid::from_raw(i32::try_from(serve.id()).unwrap()), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = serve.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "serve did not stop within 10 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        self.stop();
        status
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A test's hold on a world; when the test fails, the world's logs are printed.
pub struct Lease(Arc<World>);

impl Lease {
    /// A hold on a world of one's own.
    pub fn own(world: World) -> Self {
        Self(Arc::new(world))
    }

    /// The world itself, without the printing of logs on failure.
    pub fn into_inner(self) -> Arc<World> {
        let world = Arc::clone(&self.0);
        drop(self);
        world
    }
}

impl Deref for Lease {
    type Target = World;

    fn deref(&self) -> &World {
        &self.0
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let lines = self.0.logs.lines();
            let start = lines.len().saturating_sub(300);
            let _ = writeln!(
                std::io::stderr(),
                "----- the last lines of world {:?} (serve, Envoy) -----\n{}\n-----",
                self.0.name,
                lines.get(start..).unwrap_or_default().join("\n")
            );
        }
    }
}

/// The world in `slot`, or a new one from `make` when no test holds one now.
pub async fn shared<F, Fut>(slot: &tokio::sync::Mutex<Weak<World>>, make: F) -> Option<Lease>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Option<World>>,
{
    let mut slot = slot.lock().await;
    if let Some(world) = slot.upgrade() {
        return Some(Lease(world));
    }
    let world = Arc::new(make().await?);
    *slot = Arc::downgrade(&world);
    Some(Lease(world))
}
