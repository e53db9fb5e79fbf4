//! Propagation: from saving a manifest file to the first `200` through Envoy, with 1k and
//! 10k virtual hosts loaded. A benchmark, not a test: it measures and reports, and fails
//! only when something is broken (a route never served, an update rejected).
//!
//! ```text
//!  manifests/ (temp)        services.yaml  N Services, v1 Endpoints at one loopback backend
//!                           routes.yaml    N root IngressRoutes host-<i>.bench.example.com
//!                           edited.yaml    one root IngressRoute, a new fqdn at every edit
//!       ▲ write, fsync, close, rename          │ inotify
//!       │                                      ▼
//!  bench ── t0                   ingressroute serve ── holdoff (100 ms quiet, 500 ms max)
//!       │                          reload ─ build ─ translate ─ snapshot ─ ADS (SotW)
//!       │                                      ▼
//!       └── GET http://edit-<k>…/ every 2 ms ─▶ Envoy (`serve --envoy`) ─▶ backend
//!           on one connection; latency = first 200 − t0
//! ```
//!
//! The harness is the end-to-end tests' (`tests/e2e/support`): the real `ingressroute`
//! binary, a real Envoy, backends on loopback, process groups and free ports.
//!
//! For each size the bench prints p50/p90/p99/max over the edits, and where the time went
//! per edit, from clocks that share the wall clock:
//!
//! * `serve`'s log (`RUST_LOG` adds `ingressroute_cli::serve::watch=debug`): when the
//!   change was noticed, and when the new snapshot was published (`serving ...`); the
//!   rebuild starts 100 ms after the last notice (the holdoff);
//! * Envoy's own log, its `config` logger set to debug after startup (`POST /logging`):
//!   when the RDS response arrived (1 ms resolution);
//! * Envoy's `http.ingress_http.rds.ingress_http.update_time` (1 ms): when Envoy had
//!   applied the new route configuration;
//! * the bench: when the first 200 came back;
//! * `/proc/<pid>/task/*/schedstat` of `serve` and Envoy: CPU time spent, and time spent
//!   runnable but waiting for a CPU (the machine being busy), from the write to the 200.
//!
//! It also prints Envoy's `update_duration` histograms, the encoded size of the resources
//! (the largest is what Envoy parses on every edit), and the same rebuild repeated in
//! process with the library `serve` runs (reload, merge, schema validation, DAG,
//! translation, snapshot, drops), phase by phase. For a CPU profile of `serve` itself,
//! attach `perf record --call-graph dwarf -p <pid>` to the pid it prints (the bench profile
//! keeps debug info).
//!
//! The holdoff rebuilds a change at once when the last rebuild is more than 500 ms old,
//! else 100 ms after the last change. With the default gap between edits, an edit that
//! is served quickly leaves the next one more than 500 ms after its rebuild: it is built
//! at once (`holdoff ends -> snapshot published` is then negative). `--gap-ms 50` keeps
//! every edit within 500 ms of the last rebuild, so each waits the 100 ms: the worst case.
//!
//! ```text
//! cargo bench -p ingressroute-cli --bench propagation                   # 1000 and 10000
//! cargo bench -p ingressroute-cli --bench propagation -- 1000 --edits 20
//! cargo bench -p ingressroute-cli --bench propagation -- --gap-ms 50    # every edit held
//! cargo bench -p ingressroute-cli --bench propagation -- --delta        # incremental ADS
//! ```
//!
//! Without an Envoy binary (`cargo xtask envoy`, or `ENVOY_BIN`) it says so loudly and
//! exits 0. Run without `--bench` (by `cargo test --benches`), it does nothing.

#![allow(
    missing_docs,
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/e2e/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser as _;
use ingressroute_cli::serve::ServeArgs;
use ingressroute_cli::serve::sources::Sources;
use ingressroute_envoy::ResourceKind;
use ingressroute_pipeline::Pipeline;
use ingressroute_xds::Snapshot;

use support::backend::Backend;
use support::client::{self, Connection};
use support::manifests::{root, service};
use support::world::{DEFAULT_LOG_FILTER, Lease};
use support::{Setup, World, eventually_within};

const USAGE: &str = "\
usage: cargo bench -p ingressroute-cli --bench propagation -- [SIZE...] [OPTIONS]

  SIZE            virtual hosts loaded (default: 1000 10000)
  --edits N       edits measured per size (default 50; p99 is the max below 100)
  --warmup N      edits made first and not measured (default 3)
  --poll-ms N     pause between two requests for the new route (default 2)
  --gap-ms N      pause after an edit is served, before the next (default 300, plus 0-99)
  --no-profile    skip the in-process rebuild profile
  --delta         Envoy speaks incremental ADS (a bootstrap from `ingressroute bootstrap
                  --delta`) instead of state of the world
  --no-envoy-debug
                  leave Envoy's `config` logger alone (by default it is set to debug
                  after startup, to time the arrival of each RDS response in Envoy)";

/// The holdoff of `serve` after a recent rebuild (`ingressroute_pipeline::DELAY`; a change
/// more than `MAX_DELAY` after the last rebuild is built at once).
const HOLDOFF: Duration = ingressroute_pipeline::DELAY;
/// How long Envoy may take to start and serve everything.
const STARTUP: Duration = Duration::from_secs(600);
/// How long one edit may take to be served before the bench gives up.
const EDIT_PATIENCE: Duration = Duration::from_secs(60);
/// The file every edit rewrites.
const EDITED: &str = "edited.yaml";
/// How many times the in-process profile repeats the rebuild.
const PROFILE_ROUNDS: usize = 5;

#[derive(Debug)]
struct Options {
    sizes: Vec<usize>,
    edits: usize,
    warmup: usize,
    poll: Duration,
    gap: Duration,
    profile: bool,
    envoy_debug: bool,
    delta: bool,
    bench: bool,
    help: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            sizes: Vec::new(),
            edits: 50,
            warmup: 3,
            poll: Duration::from_millis(2),
            gap: Duration::from_millis(300),
            profile: true,
            envoy_debug: true,
            delta: false,
            bench: false,
            help: false,
        };
        let mut args = args.iter();
        let number = |flag: &str, value: Option<&String>| -> Result<u64, String> {
            value
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{flag} takes a number"))
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bench" => options.bench = true,
                "--help" | "-h" => options.help = true,
                "--no-profile" => options.profile = false,
                "--no-envoy-debug" => options.envoy_debug = false,
                "--delta" => options.delta = true,
                "--edits" => options.edits = usize::try_from(number(arg, args.next())?).unwrap(),
                "--warmup" => options.warmup = usize::try_from(number(arg, args.next())?).unwrap(),
                "--poll-ms" => options.poll = Duration::from_millis(number(arg, args.next())?),
                "--gap-ms" => options.gap = Duration::from_millis(number(arg, args.next())?),
                size => match size.parse::<usize>() {
                    Ok(n) if n > 0 => options.sizes.push(n),
                    _ => return Err(format!("unknown argument {size:?}")),
                },
            }
        }
        if options.sizes.is_empty() {
            options.sizes = vec![1_000, 10_000];
        }
        if options.edits == 0 {
            return Err("--edits must be at least 1".to_owned());
        }
        Ok(options)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match Options::parse(&args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("propagation: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if options.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if !options.bench {
        // `cargo test --benches` runs benchmarks without `--bench`: nothing to check here.
        println!("propagation: a benchmark; run it with `cargo bench -p ingressroute-cli --bench propagation`");
        return ExitCode::SUCCESS;
    }
    if let Err(message) = ingressroute_fixtures::find_envoy() {
        let banner = "!".repeat(78);
        // Straight to stderr, like the end-to-end tests' skip: a benchmark that did not run
        // must not pass for one that did.
        let _ = writeln!(
            std::io::stderr(),
            "\n{banner}\n!!! NOT RUN: the propagation benchmark needs Envoy.\n!!! {message}.\n\
             !!! Then: cargo bench -p ingressroute-cli --bench propagation\n{banner}\n"
        );
        return ExitCode::SUCCESS;
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "propagation: file edit -> first 200 through Envoy; holdoff {} ms quiet, {} ms max; \
         {} measured edits (+{} warm-up) per size, polling every {} ms on one connection; {} ADS; {} cores",
        HOLDOFF.as_millis(),
        ingressroute_pipeline::MAX_DELAY.as_millis(),
        options.edits,
        options.warmup,
        options.poll.as_millis(),
        if options.delta {
            "incremental (delta)"
        } else {
            "state-of-the-world"
        },
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    let mut outcomes = Vec::new();
    for &size in &options.sizes {
        let outcome = runtime.block_on(run(size, &options));
        outcome.print();
        outcomes.push(outcome);
    }
    print_summary(&outcomes);
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------
// Manifests

fn host(i: usize) -> String {
    format!("host-{i}.bench.example.com")
}

fn edit_host(k: usize) -> String {
    format!("edit-{k}.bench.example.com")
}

/// `services.yaml`: a Service (and its Endpoints) per virtual host, and one for the edited
/// IngressRoute, all at `backend`.
fn services(n: usize, backend: &Backend) -> String {
    let mut text: String = (0..n)
        .map(|i| service("default", &format!("svc-{i}"), &[backend]))
        .collect();
    text.push_str(&service("default", "edited", &[backend]));
    text
}

/// `routes.yaml`: `n` root IngressRoutes, each sending `/` to its own Service.
fn routes(n: usize) -> String {
    (0..n)
        .map(|i| root(&format!("vhost-{i}"), &host(i), &format!("svc-{i}")))
        .collect::<Vec<_>>()
        .join("---\n")
}

/// `edited.yaml` at edit `k`: the same IngressRoute with a new fqdn.
fn edited(k: usize) -> String {
    root("edited", &edit_host(k), "edited")
}

// ---------------------------------------------------------------------------------------
// Clocks

/// Microseconds since the Unix epoch, now.
fn wall_us() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros()).unwrap()
}

/// The time of a `serve` log line (`2025-11-26T17:21:06.123456Z  INFO ...`, UTC), in
/// microseconds since the Unix epoch.
fn log_time_us(line: &str) -> Option<i64> {
    let stamp = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut hms = hms.splitn(3, ':').map(str::parse::<i64>);
    let (h, m, s) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    let micros: i64 = format!("{fraction:0<6}").get(..6)?.parse().ok()?;
    let seconds = days_from_civil(year, month, day) * 86_400 + h * 3_600 + m * 60 + s;
    Some(seconds * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `/proc/loadavg`'s three averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

// ---------------------------------------------------------------------------------------
// One size

/// One measured edit. Times are µs since the Unix epoch, from the bench's clock, `serve`'s
/// log and Envoy's log and stats, which share the machine's wall clock.
#[derive(Debug, Clone)]
struct Edit {
    /// From the write (after fsync and close) to the first 200.
    latency: Duration,
    /// Requests sent until the 200.
    polls: u32,
    /// The write returned.
    written: i64,
    /// `serve` noticed the change: first and last notice before the rebuild.
    noticed: Option<(i64, i64)>,
    /// `serve` published the new snapshot (`serving ...`).
    published: Option<i64>,
    /// Envoy received the RDS response (its `config` log at debug, 1 ms resolution).
    received: Option<i64>,
    /// Envoy had applied it: RDS `update_time` (1 ms resolution).
    applied: Option<i64>,
    /// The 200 came back.
    answered: i64,
    /// How many snapshots `serve` published for this edit.
    rebuilds: usize,
    /// From the write to the 200, per [`THREADS`]: (on a CPU, waiting for one), in ms.
    cpu: [Option<(f64, f64)>; 4],
}

/// The threads whose CPU time each edit records.
const THREADS: [&str; 4] = [
    "serve, main thread (watch loop, rebuild)",
    "serve, all threads (+ xDS server, logs)",
    "Envoy, main thread (xDS, apply)",
    "Envoy, all threads (+ workers: the polls)",
];

/// Where the CPU time of `serve` and its Envoy goes, from `/proc/<pid>/task/*/schedstat`.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    serve: u32,
    envoy: Option<u32>,
}

impl Cpu {
    /// `serve` and the Envoy it started.
    fn of(world: &World) -> Self {
        let serve = world.serve_pid().expect("serve runs");
        let envoy = std::fs::read_dir("/proc").ok().and_then(|entries| {
            entries.filter_map(Result::ok).find_map(|entry| {
                let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
                // `pid (comm) state ppid ...`; the command may hold spaces and parentheses.
                let (comm, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
                let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
                (ppid == serve && comm == "envoy").then_some(pid)
            })
        });
        Self { serve, envoy }
    }

    /// Nanoseconds (on a CPU, waiting for one) so far, per [`THREADS`].
    fn sample(self) -> [Option<(u64, u64)>; 4] {
        fn read(path: &Path) -> Option<(u64, u64)> {
            let text = std::fs::read_to_string(path).ok()?;
            let mut fields = text.split_whitespace().map(str::parse::<u64>);
            Some((fields.next()?.ok()?, fields.next()?.ok()?))
        }
        fn thread(pid: u32) -> Option<(u64, u64)> {
            read(Path::new(&format!("/proc/{pid}/task/{pid}/schedstat")))
        }
        fn process(pid: u32) -> Option<(u64, u64)> {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
            Some(
                tasks
                    .filter_map(Result::ok)
                    .filter_map(|task| read(&task.path().join("schedstat")))
                    .fold((0, 0), |(a, b), (c, d)| (a + c, b + d)),
            )
        }
        [
            thread(self.serve),
            process(self.serve),
            self.envoy.and_then(thread),
            self.envoy.and_then(process),
        ]
    }

    /// What happened between two samples, in ms.
    fn between(before: [Option<(u64, u64)>; 4], after: [Option<(u64, u64)>; 4]) -> [Option<(f64, f64)>; 4] {
        let ms = |ns: u64| ns as f64 / 1_000_000.0;
        std::array::from_fn(|i| {
            let ((run0, wait0), (run1, wait1)) = (before[i]?, after[i]?);
            Some((ms(run1.saturating_sub(run0)), ms(wait1.saturating_sub(wait0))))
        })
    }
}

/// The phases of an edit, end to end.
const PHASES: [&str; 6] = [
    "write -> serve notices (<0: before write returned)",
    "notice -> holdoff ends (100 ms after last notice)",
    "holdoff ends -> snapshot published (rebuild)",
    "published -> Envoy received RDS (xDS send)",
    "received -> Envoy applied RDS",
    "RDS applied -> first 200 seen",
];

impl Edit {
    /// The duration of each of [`PHASES`] in ms, where the timestamps are known; without
    /// the time of arrival in Envoy, the two Envoy phases are one.
    fn phases(&self) -> Option<[Option<f64>; 6]> {
        let (first, last) = self.noticed?;
        let published = self.published?;
        let applied = self.applied?;
        let ms = |us: i64| us as f64 / 1_000.0;
        let holdoff_end = last + i64::try_from(HOLDOFF.as_micros()).unwrap();
        Some([
            Some(ms(first - self.written)),
            Some(ms(holdoff_end - first)),
            Some(ms(published - holdoff_end)),
            self.received.map(|r| ms(r - published)),
            self.received.map(|r| ms(applied - r)),
            Some(ms(self.answered - applied)),
        ])
    }

    /// From the publish to Envoy having applied the route configuration, in ms.
    fn to_envoy(&self) -> Option<f64> {
        Some((self.applied? - self.published?) as f64 / 1_000.0)
    }
}

/// What one size gives.
#[derive(Debug)]
struct Outcome {
    size: usize,
    load_before: String,
    load_after: String,
    ready: Duration,
    sampled: Duration,
    edits: Vec<Edit>,
    envoy_counters: Vec<(String, u64, u64)>,
    envoy_durations: Vec<Histogram>,
    resources: Vec<KindSize>,
    profile: Option<Profile>,
}

/// Runs the bench for `n` virtual hosts.
async fn run(n: usize, options: &Options) -> Outcome {
    let load_before = load_average();
    println!("\n== {n} virtual hosts: generating manifests, starting serve and Envoy (load average {load_before})");
    let mut setup = Setup::new(&format!("propagation-{n}")).expect("Envoy was found");
    let backend = setup.http("backend");
    setup.log_filter(&format!("{DEFAULT_LOG_FILTER},ingressroute_cli::serve::watch=debug"));
    if options.delta {
        setup.delta();
    }
    setup.file("services.yaml", services(n, &backend));
    setup.file("routes.yaml", routes(n));
    setup.file(EDITED, edited(0));

    let started = Instant::now();
    let world = Lease::own(setup.start_unready().await);
    eventually_within(STARTUP, "Envoy to be live", || async {
        let response = client::get(world.admin, "admin", "/ready").await?;
        (response.status == 200).then_some(()).ok_or(response.body)
    })
    .await;
    let ready = started.elapsed();
    let samples: Vec<String> = (0..8)
        .map(|k| host(k * n / 8))
        .chain([host(n - 1), edit_host(0)])
        .collect();
    for sample in &samples {
        eventually_within(STARTUP, &format!("{sample} to be served"), || async {
            world.get(sample, "/").await?.backend()
        })
        .await;
    }
    let sampled = started.elapsed();
    println!(
        "   Envoy live after {:.1} s, {} sample hosts served after {:.1} s",
        ready.as_secs_f64(),
        samples.len(),
        sampled.as_secs_f64()
    );

    if options.envoy_debug {
        envoy_log_level(&world, "config", "debug").await;
    }
    let mut connection = Connection::plain(world.http).await.unwrap();
    let cpu = Cpu::of(&world);
    println!(
        "   serve pid {}, Envoy pid {}",
        cpu.serve,
        cpu.envoy.map_or("?".to_owned(), |pid| pid.to_string())
    );
    let mut counters_before = Vec::new();
    let mut edits = Vec::new();
    for k in 1..=options.warmup + options.edits {
        if k == options.warmup + 1 {
            counters_before = envoy_counters(&world).await;
        }
        let edit = edit(&world, &mut connection, cpu, k, options).await;
        if k > options.warmup {
            edits.push(edit);
        }
        let jitter = Duration::from_millis((k as u64).wrapping_mul(2_654_435_761) % 100);
        tokio::time::sleep(options.gap + jitter).await;
    }
    world.assert_no_rejected_updates().await;
    let counters_after = envoy_counters(&world).await;
    let envoy_counters = counters_after
        .into_iter()
        .map(|(name, after)| {
            let before = counters_before.iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| *v);
            (name, before, after)
        })
        .collect();
    // Envoy merges histograms when it flushes its stats, every 5 s.
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    let envoy_durations = envoy_durations(&world).await;
    let load_after = load_average();

    let copy = copy_manifests(world.manifests());
    drop(world);
    let (resources, profile) = profile(copy.path(), options.profile.then_some(PROFILE_ROUNDS));
    Outcome {
        size: n,
        load_before,
        load_after,
        ready,
        sampled,
        edits,
        envoy_counters,
        envoy_durations,
        resources,
        profile,
    }
}

/// Makes edit `k` and waits for its first 200.
async fn edit(world: &World, connection: &mut Connection, cpu: Cpu, k: usize, options: &Options) -> Edit {
    let host = edit_host(k);
    let mark = world.logs().len();
    let cpu_before = cpu.sample();
    world.write(EDITED, &edited(k));
    let t0 = Instant::now();
    let written = wall_us();
    let mut polls = 0_u32;
    loop {
        polls += 1;
        match connection.get(&host, "/", &[]).await {
            Ok(response) if response.status == 200 => {
                assert_eq!(response.backend().unwrap(), "backend", "{host}");
                break;
            }
            Ok(_) => {}
            Err(_) => {
                if let Ok(fresh) = Connection::plain(world.http).await {
                    *connection = fresh;
                }
            }
        }
        assert!(
            t0.elapsed() < EDIT_PATIENCE,
            "edit {k}: {host} not served {EDIT_PATIENCE:?} after the write"
        );
        tokio::time::sleep(options.poll).await;
    }
    let latency = t0.elapsed();
    let answered = wall_us();
    let cpu = Cpu::between(cpu_before, cpu.sample());

    // The log lines of the publish (and of Envoy) may still be on their way through pipes.
    let lines = eventually_within(Duration::from_secs(10), "serve and Envoy to log the update", || async {
        let lines: Vec<String> = world.logs().lines().into_iter().skip(mark).collect();
        let published = lines.iter().any(|line| is_publish(line));
        let accepted = !options.envoy_debug || lines.iter().any(|line| is_rds(line, "accepted"));
        (published && accepted)
            .then_some(lines)
            .ok_or_else(|| "not yet".to_owned())
    })
    .await;
    let published_at = lines.iter().position(|line| is_publish(line));
    let notices: Vec<i64> = lines
        .iter()
        .take(published_at.unwrap_or(lines.len()))
        .filter(|line| line.contains("change noticed"))
        .filter_map(|line| log_time_us(line))
        .collect();
    let received = lines
        .iter()
        .find(|line| is_rds(line, "Received gRPC message"))
        .and_then(|line| envoy_log_time_us(line));
    // The latest update of any plain-HTTP route configuration (`ingress_http`, or the
    // route buckets `ingress_http/<n>`).
    let applied = world
        .stats("update_time")
        .await
        .into_iter()
        .filter(|(name, _)| name.starts_with("http.ingress_http.rds.ingress_http"))
        .map(|(_, ms)| ms)
        .max()
        .map(|ms| i64::try_from(ms).unwrap() * 1_000);
    Edit {
        latency,
        polls,
        written,
        noticed: notices.first().zip(notices.last()).map(|(a, b)| (*a, *b)),
        published: published_at.and_then(|i| log_time_us(&lines[i])),
        received,
        applied,
        answered,
        rebuilds: lines.iter().filter(|line| is_publish(line)).count(),
        cpu,
    }
}

/// Whether a line is Envoy's `config` log about an RDS response, containing `what`.
fn is_rds(line: &str, what: &str) -> bool {
    line.contains("envoy.config.route.v3.RouteConfiguration") && line.contains(what)
}

/// The time of a line of Envoy's own log, as `serve` forwards it (`... envoy: [2025-11-26
/// 17:21:06.123][pid][debug][config] ...`): Envoy's stamp (local time, 1 ms), or `serve`'s
/// when the two are more than a second apart (a time zone other than UTC).
fn envoy_log_time_us(line: &str) -> Option<i64> {
    let forwarded = log_time_us(line)?;
    let stamp = line.split_once("envoy: [")?.1.split_once(']')?.0;
    let own = log_time_us(&format!("{}Z", stamp.replacen(' ', "T", 1)))?;
    Some(if (own - forwarded).abs() < 1_000_000 {
        own
    } else {
        forwarded
    })
}

/// Sets the level of one of Envoy's loggers (`POST /logging?<logger>=<level>`).
async fn envoy_log_level(world: &World, logger: &str, level: &str) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(world.admin).await.unwrap();
    let request = format!(
        "POST /logging?{logger}={level} HTTP/1.1\r\nhost: admin\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

/// Whether a `serve` log line says a new snapshot is served.
fn is_publish(line: &str) -> bool {
    line.contains("ingressroute_cli::serve: serving ")
}

/// Envoy's xDS update counters (LDS, CDS, SRDS, and RDS of the plain-HTTP route
/// configurations, summed over them: there is one per route bucket).
async fn envoy_counters(world: &World) -> Vec<(String, u64)> {
    let mut counters = world.stats("update_success").await;
    counters.extend(world.stats("update_attempt").await);
    let mut summed: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for (name, value) in counters {
        if name.starts_with("listener_manager.lds")
            || name.starts_with("cluster_manager.cds")
            || name.contains("scoped_rds")
        {
            *summed.entry(name).or_default() += value;
        } else if let Some(rest) = name.strip_prefix("http.ingress_http.rds.ingress_http") {
            let counter = rest.rsplit('.').next().unwrap_or_default();
            *summed
                .entry(format!("http.ingress_http.rds.ingress_http*.{counter} (all)"))
                .or_default() += value;
        }
    }
    summed.into_iter().collect()
}

/// One of Envoy's histograms: its name, and (quantile, cumulative value) pairs.
type Histogram = (String, Vec<(f64, Option<f64>)>);

/// Envoy's `update_duration` histograms (ms) of LDS, CDS and RDS (not the EDS one of each
/// cluster), as (quantile, cumulative value) pairs.
async fn envoy_durations(world: &World) -> Vec<Histogram> {
    let Ok(response) = client::get(world.admin, "admin", "/stats?format=json&filter=update_duration").await else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&response.body) else {
        return Vec::new();
    };
    let mut durations = Vec::new();
    for entry in json["stats"].as_array().into_iter().flatten() {
        let histograms = &entry["histograms"];
        let Some(quantiles) = histograms["supported_quantiles"].as_array() else {
            continue;
        };
        let quantiles: Vec<f64> = quantiles.iter().filter_map(serde_json::Value::as_f64).collect();
        for computed in histograms["computed_quantiles"].as_array().into_iter().flatten() {
            let name = computed["name"].as_str().unwrap_or_default().to_owned();
            // One EDS subscription per cluster and one RDS per route bucket: thousands
            // of lines; the route buckets are summarised below.
            if name.starts_with("cluster.") {
                continue;
            }
            let values = computed["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| v["cumulative"].as_f64());
            durations.push((name, quantiles.iter().copied().zip(values).collect()));
        }
    }
    // The route buckets: the worst of each quantile over them, on one line.
    let (buckets, mut others): (Vec<Histogram>, Vec<Histogram>) = durations
        .into_iter()
        .partition(|(name, _)| name.starts_with("http.ingress_http.rds.ingress_http/"));
    if let Some((_, first)) = buckets.first() {
        let worst = first
            .iter()
            .enumerate()
            .map(|(i, (q, _))| {
                let values = buckets.iter().filter_map(|(_, qs)| qs.get(i).and_then(|(_, v)| *v));
                (*q, values.reduce(f64::max))
            })
            .collect();
        others.push((
            format!(
                "http.ingress_http.rds.ingress_http/* ({} buckets, worst)",
                buckets.len()
            ),
            worst,
        ));
    }
    others
}

/// A copy of the served manifests, for the in-process profile.
fn copy_manifests(from: &Path) -> tempfile::TempDir {
    let copy = tempfile::Builder::new()
        .prefix("ingressroute-propagation-")
        .tempdir()
        .unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
    }
    copy
}

// ---------------------------------------------------------------------------------------
// In process: the resources pushed, and the rebuild of `serve` phase by phase

/// The resources of one kind: how many, their encoded bytes, the largest.
#[derive(Debug)]
struct KindSize {
    kind: ResourceKind,
    count: usize,
    bytes: usize,
    largest: Option<(String, usize)>,
}

/// The median time of each phase of one rebuild, as `serve` does it on an edit.
#[derive(Debug)]
struct Profile {
    initial_load: Duration,
    phases: Vec<(&'static str, Duration)>,
}

/// The sizes of the resources served for the manifests in `dir`, and, with `rounds`, the
/// rebuild after an edit of [`EDITED`] timed phase by phase (`rounds` times, medians).
fn profile(dir: &Path, rounds: Option<usize>) -> (Vec<KindSize>, Option<Profile>) {
    let cli = ingressroute_cli::Cli::parse_from([
        "ingressroute",
        "serve",
        "--http-address",
        "127.0.0.1",
        dir.to_str().unwrap(),
    ]);
    let ingressroute_cli::Command::Serve(args) = cli.command else {
        panic!("serve arguments");
    };
    let args: ServeArgs = args;
    let (config, envoy) = (args.config(), args.envoy_config());

    let mut sources = Sources::new(vec![dir.to_owned()]);
    let started = Instant::now();
    assert!(sources.reload());
    let initial_load = started.elapsed();
    let mut pipeline = Pipeline::new(config, envoy);
    let mut fed = ingressroute_cli::serve::fed::Fed::default();
    fed.feed(&mut pipeline, &sources.merged());
    let _ = pipeline.rebuild();
    let all = pipeline.resources();
    let mut snapshot = Snapshot::from_encoded(all.clone()).unwrap();
    let resources = ResourceKind::ALL
        .into_iter()
        .map(|kind| {
            let encoded: Vec<_> = all.iter().filter(|r| r.kind == kind).collect();
            KindSize {
                kind,
                count: encoded.len(),
                bytes: encoded.iter().map(|r| r.any.len()).sum(),
                largest: encoded
                    .iter()
                    .max_by_key(|r| r.any.len())
                    .map(|r| (r.name.to_string(), r.any.len())),
            }
        })
        .collect();
    drop(all);
    let Some(rounds) = rounds else {
        return (resources, None);
    };

    let mut samples: Vec<Vec<(&'static str, Duration)>> = Vec::new();
    for round in 0..rounds {
        std::fs::write(dir.join(EDITED), edited(1_000_000 + round)).unwrap();
        let mut phases = Vec::new();
        let mut time = |name: &'static str, started: Instant| phases.push((name, started.elapsed()));

        let t = Instant::now();
        assert!(sources.reload());
        time("reload (read every file, parse the edited one)", t);
        let t = Instant::now();
        let loaded = sources.merged();
        time("merge (clone every file's manifests)", t);
        let t = Instant::now();
        for manifest in loaded.manifests() {
            if manifest.object.kind() == ingressroute_cli::load::Kind::IngressRoute {
                std::hint::black_box(ingressroute_api::validate::validate_ingress_route(&manifest.raw));
            }
        }
        time("  of check: CRD schema validation", t);
        let t = Instant::now();
        let effect = fed.feed(&mut pipeline, &loaded);
        time("feed (what changed: the edited file's objects)", t);
        assert!(effect.rebuild);
        let t = Instant::now();
        let dag = pipeline.build();
        time("build (DAG)", t);
        let t = Instant::now();
        let translated = pipeline.translate(&dag);
        time("translate", t);
        let t = Instant::now();
        let report = ingressroute_cli::check::diagnostics(
            &loaded,
            &dag,
            pipeline.store(),
            ingressroute_cli::check::Schema::AlreadyValidated,
        );
        let statuses = pipeline.statuses();
        time("statuses and diagnostics (for the log)", t);
        let t = Instant::now();
        let next = snapshot
            .derive_encoded(translated.upserts.clone(), translated.removals.clone())
            .unwrap();
        let previous = std::mem::replace(&mut snapshot, next);
        time("snapshot (derived: hash and check what changed)", t);
        // What a rebuild of `serve` lets go of: the merged copy, the build (the pipeline
        // keeps its DAG until the next one), and (when the next snapshot replaces it) the
        // snapshot.
        drop(dag);
        let t = Instant::now();
        drop(loaded);
        time("drop the merged manifests", t);
        let t = Instant::now();
        drop((translated, report, statuses));
        time("drop the build (resources, statuses, report)", t);
        let t = Instant::now();
        drop(previous);
        time("drop a snapshot", t);
        samples.push(phases);
    }
    let phases = samples[0]
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let mut times: Vec<Duration> = samples.iter().map(|s| s[i].1).collect();
            times.sort();
            (*name, times[times.len() / 2])
        })
        .collect();
    (resources, Some(Profile { initial_load, phases }))
}

// ---------------------------------------------------------------------------------------
// Reports

/// The nearest-rank `p`th percentile of sorted `values`.
fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1_000.0)
}

/// The goal for p99 at `size` virtual hosts, if there is one (the incremental rebuilds'
/// goals, docs/decisions.md#d48).
fn goal(size: usize) -> Option<Duration> {
    match size {
        1_000 => Some(Duration::from_millis(150)),
        10_000 => Some(Duration::from_millis(300)),
        _ => None,
    }
}

impl Outcome {
    fn latencies(&self) -> Vec<Duration> {
        let mut latencies: Vec<Duration> = self.edits.iter().map(|e| e.latency).collect();
        latencies.sort();
        latencies
    }

    fn print(&self) {
        let latencies = self.latencies();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "   {} edits: p50 {}, p90 {}, p99 {}, max {} (min {}); median {} requests per edit",
            latencies.len(),
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 90.0)),
            ms(percentile(&latencies, 99.0)),
            ms(percentile(&latencies, 100.0)),
            ms(percentile(&latencies, 0.0)),
            {
                let mut polls: Vec<u32> = self.edits.iter().map(|e| e.polls).collect();
                polls.sort_unstable();
                percentile(&polls, 50.0)
            },
        );
        let multiple = self.edits.iter().filter(|e| e.rebuilds != 1).count();
        if multiple > 0 {
            let _ = writeln!(out, "   {multiple} edits were not published exactly once");
        }

        let phases: Vec<[Option<f64>; 6]> = self.edits.iter().filter_map(Edit::phases).collect();
        let _ = writeln!(
            out,
            "   where the time goes ({} of {} edits with every timestamp), ms:",
            phases.len(),
            self.edits.len()
        );
        let _ = writeln!(out, "     {:<50} {:>8} {:>8} {:>8}", "phase", "p50", "p90", "max");
        let row = |out: &mut String, name: &str, mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            if !values.is_empty() {
                let _ = writeln!(
                    out,
                    "     {name:<50} {:>8.1} {:>8.1} {:>8.1}",
                    percentile(&values, 50.0),
                    percentile(&values, 90.0),
                    percentile(&values, 100.0)
                );
            }
        };
        for (i, name) in PHASES.iter().enumerate() {
            row(&mut out, name, phases.iter().filter_map(|p| p[i]).collect());
        }
        row(
            &mut out,
            "  (published -> Envoy applied RDS)",
            self.edits.iter().filter_map(Edit::to_envoy).collect(),
        );

        let _ = writeln!(
            out,
            "   CPU time from the write to the 200 (ms; 'waiting' = runnable, no CPU free):"
        );
        let _ = writeln!(
            out,
            "     {:<44} {:>10} {:>10} {:>10} {:>10}",
            "", "on CPU p50", "p90", "waiting p50", "p90"
        );
        for (i, name) in THREADS.iter().enumerate() {
            let mut run: Vec<f64> = self.edits.iter().filter_map(|e| Some(e.cpu[i]?.0)).collect();
            let mut wait: Vec<f64> = self.edits.iter().filter_map(|e| Some(e.cpu[i]?.1)).collect();
            if run.is_empty() {
                continue;
            }
            run.sort_by(f64::total_cmp);
            wait.sort_by(f64::total_cmp);
            let _ = writeln!(
                out,
                "     {name:<44} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                percentile(&run, 50.0),
                percentile(&run, 90.0),
                percentile(&wait, 50.0),
                percentile(&wait, 90.0)
            );
        }

        let _ = writeln!(out, "   Envoy xDS updates during the measured edits (before -> after):");
        for (name, before, after) in &self.envoy_counters {
            let _ = writeln!(out, "     {name:<56} {before:>6} -> {after:>6}");
        }
        let _ = writeln!(
            out,
            "   Envoy update_duration (ms, whole run incl. the initial update):"
        );
        for (name, quantiles) in &self.envoy_durations {
            let shown: Vec<String> = quantiles
                .iter()
                .filter(|(q, _)| [50.0, 90.0, 99.0, 100.0].contains(q))
                .map(|(q, v)| format!("P{q}={}", v.map_or("-".to_owned(), |v| format!("{v:.1}"))))
                .collect();
            let _ = writeln!(out, "     {name:<56} {}", shown.join(" "));
        }

        let _ = writeln!(out, "   resources served (encoded protobuf):");
        for kind in &self.resources {
            let largest = kind
                .largest
                .as_ref()
                .map_or(String::new(), |(name, bytes)| format!("; largest {name:?}: {bytes} B"));
            let _ = writeln!(
                out,
                "     {:<24} {:>6} resources, {:>10} B{largest}",
                kind.kind.to_string(),
                kind.count,
                kind.bytes
            );
        }
        if let Some(profile) = &self.profile {
            let _ = writeln!(
                out,
                "   the same rebuild in process (median of {PROFILE_ROUNDS}; initial load of every file: {}):",
                ms(profile.initial_load)
            );
            for (name, time) in &profile.phases {
                let _ = writeln!(out, "     {name:<60} {:>10}", ms(*time));
            }
        }
        let _ = writeln!(
            out,
            "   load average: {} before, {} after",
            self.load_before, self.load_after
        );
        print!("{out}");
    }
}

fn print_summary(outcomes: &[Outcome]) {
    println!("\nfile edit -> first 200 through Envoy (holdoff 100 ms quiet / 500 ms max)");
    println!(
        "{:>7} {:>5} {:>9} {:>9} {:>9} {:>9}  {:>14}  {:>7}  load avg before / after",
        "vhosts", "edits", "p50", "p90", "p99", "max", "goal (p99)", "met"
    );
    for outcome in outcomes {
        let latencies = outcome.latencies();
        let p99 = percentile(&latencies, 99.0);
        let (goal, met) = match goal(outcome.size) {
            Some(goal) => (format!("<= {}", ms(goal)), if p99 <= goal { "yes" } else { "NO" }),
            None => ("-".to_owned(), "-"),
        };
        println!(
            "{:>7} {:>5} {:>9} {:>9} {:>9} {:>9}  {goal:>14}  {met:>7}  {} / {}",
            outcome.size,
            latencies.len(),
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 90.0)),
            ms(p99),
            ms(percentile(&latencies, 100.0)),
            outcome.load_before,
            outcome.load_after,
        );
    }
}
