//! Running a real Envoy (`envoy --mode validate`) on what we generate.
//!
//! # Finding Envoy
//!
//! `ENVOY_BIN` if set, else `.envoy/venv/bin/envoy` of the workspace (installed by
//! `cargo xtask envoy`). Without a binary, [`binary`] fails the test under `CI=true` and
//! otherwise says loudly on stderr that the test is skipped and how to install Envoy.
//!
//! # What Envoy is given
//!
//! Envoy validates a bootstrap: only static resources are checked, and a resource that
//! is merely named (a route configuration over RDS, endpoints over EDS, a secret over
//! SDS) is never looked at. [`validation_bootstrap`] therefore makes every generated
//! resource static, changing as little as it can:
//!
//! * The base is our own [`bootstrap`](ingressroute_envoy::bootstrap()) with default
//!   settings, so it is validated too, and its ADS config is what the generated
//!   `ads: {}` config sources (RDS of the listeners, EDS of the clusters) refer to.
//! * **Listeners** are static listeners as generated, with one change: the
//!   `sds_config` of each `tls_certificate_sds_secret_configs` entry is removed. An SDS
//!   reference without a config source names a static secret; with one, Envoy would
//!   subscribe over ADS and never load the certificate.
//! * **Clusters** are static clusters exactly as generated (EDS over ADS, or
//!   `STRICT_DNS` for ExternalName Services).
//! * **Route configurations** are each additionally inlined (unchanged) into a listener
//!   of their own, `validate/routes/<name>` on `127.0.0.1:<20000 + i>`, whose HTTP
//!   connection manager has only the router filter. Inline route configurations get
//!   `validate_clusters`, so Envoy also checks that every cluster a route names exists.
//!   The generated listeners still refer to them over RDS.
//! * **Cluster load assignments** are each the (unchanged) `load_assignment` of a
//!   static `STATIC` cluster `validate/endpoints/<name>` with a 1 s connect timeout.
//! * **Secrets** are static secrets, unchanged (private keys included), which the
//!   listeners' SDS references above resolve to: Envoy loads each certificate and key
//!   and checks that they belong together.
//!
//! A bootstrap Envoy accepts but warns about (a deprecated field, which a later Envoy
//! release rejects) counts as rejected too.
//!
//! Validation binds no port and starts no worker; `--disable-hot-restart` keeps Envoy
//! out of `/dev/shm`, and each run gets its own `--base-id`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::bootstrap::v3::Bootstrap;
use envoy_types::pb::envoy::config::cluster::v3 as cluster_v3;
use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::listener::v3 as listener_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use envoy_types::pb::envoy::extensions::filters::http::router::v3 as router_v3;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm_v3;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use envoy_types::pb::google::protobuf::{Any, Duration as ProtoDuration};
use ingressroute_envoy::{BootstrapConfig, Resources, bootstrap, json};
use prost::{Message, Name};

/// The first port of the listeners that inline route configurations (never bound).
const ROUTE_LISTENER_PORT: u32 = 20_000;

/// The Envoy binary, or `None` (after saying so on stderr) when there is none and `CI`
/// is not `true`.
///
/// # Panics
///
/// Under `CI=true` when there is no binary.
pub(crate) fn binary() -> Option<PathBuf> {
    ingressroute_fixtures::envoy_binary("the Envoy tests of this file")
}

fn any<M: Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

/// Removes the config source of every SDS reference in a listener's downstream TLS
/// contexts, so that they name static secrets.
fn use_static_secrets(listener: &mut listener_v3::Listener) {
    for chain in &mut listener.filter_chains {
        let Some(socket) = &mut chain.transport_socket else {
            continue;
        };
        let Some(core_v3::transport_socket::ConfigType::TypedConfig(config)) = &mut socket.config_type else {
            continue;
        };
        if config.type_url != tls_v3::DownstreamTlsContext::type_url() {
            continue;
        }
        let mut context = tls_v3::DownstreamTlsContext::decode(config.value.as_slice()).unwrap();
        if let Some(common) = &mut context.common_tls_context {
            for sds in &mut common.tls_certificate_sds_secret_configs {
                sds.sds_config = None;
            }
        }
        *config = any(&context);
    }
}

/// A listener that serves `route_config` inline, on `127.0.0.1:port`.
fn route_listener(route_config: &route_v3::RouteConfiguration, port: u32) -> listener_v3::Listener {
    let hcm = hcm_v3::HttpConnectionManager {
        stat_prefix: "validate".into(),
        route_specifier: Some(hcm_v3::http_connection_manager::RouteSpecifier::RouteConfig(
            route_config.clone(),
        )),
        http_filters: vec![hcm_v3::HttpFilter {
            name: ingressroute_envoy::ROUTER.into(),
            config_type: Some(hcm_v3::http_filter::ConfigType::TypedConfig(any(
                &router_v3::Router::default(),
            ))),
            ..Default::default()
        }],
        ..Default::default()
    };
    listener_v3::Listener {
        name: format!("validate/routes/{}", route_config.name),
        address: Some(core_v3::Address {
            address: Some(core_v3::address::Address::SocketAddress(core_v3::SocketAddress {
                address: "127.0.0.1".into(),
                port_specifier: Some(core_v3::socket_address::PortSpecifier::PortValue(port)),
                ..Default::default()
            })),
        }),
        filter_chains: vec![listener_v3::FilterChain {
            filters: vec![listener_v3::Filter {
                name: ingressroute_envoy::HTTP_CONNECTION_MANAGER.into(),
                config_type: Some(listener_v3::filter::ConfigType::TypedConfig(any(&hcm))),
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The bootstrap that makes Envoy validate every resource of `resources` (see the
/// module documentation for what is transformed and why).
pub(crate) fn validation_bootstrap(resources: &Resources) -> Bootstrap {
    let mut bootstrap = bootstrap(&BootstrapConfig::default());
    let statics = bootstrap.static_resources.get_or_insert_with(Default::default);

    statics
        .listeners
        .extend(resources.listeners.iter().cloned().map(|mut listener| {
            use_static_secrets(&mut listener);
            listener
        }));
    statics.listeners.extend(
        resources
            .routes
            .iter()
            .zip(ROUTE_LISTENER_PORT..)
            .map(|(route_config, port)| route_listener(route_config, port)),
    );

    statics.clusters.extend(resources.clusters.iter().cloned());
    statics
        .clusters
        .extend(resources.endpoints.iter().map(|assignment| cluster_v3::Cluster {
            name: format!("validate/endpoints/{}", assignment.cluster_name),
            cluster_discovery_type: Some(cluster_v3::cluster::ClusterDiscoveryType::Type(
                cluster_v3::cluster::DiscoveryType::Static.into(),
            )),
            connect_timeout: Some(ProtoDuration { seconds: 1, nanos: 0 }),
            load_assignment: Some(assignment.clone()),
            ..Default::default()
        }));

    statics.secrets.extend(resources.secrets.iter().cloned());
    bootstrap
}

/// What Envoy said about a bootstrap it rejected.
#[derive(Debug)]
pub(crate) struct Rejection {
    /// The bootstrap file, kept for debugging.
    pub(crate) path: PathBuf,
    /// The exit code.
    pub(crate) code: Option<i32>,
    /// stderr and stdout.
    pub(crate) output: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Envoy rejected {} (exit code {:?}):\n{}",
            self.path.display(),
            self.code,
            self.output.trim_end()
        )
    }
}

/// A `--base-id` no other run of this process uses (Envoy's default, 0, is shared by
/// every Envoy on the machine).
fn base_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    (std::process::id() % 40_000) * 100 + NEXT.fetch_add(1, Ordering::Relaxed) % 100
}

/// Writes `bootstrap` as JSON to `<target tmp>/envoy-validate/<name>.json` and runs
/// `envoy --mode validate` on it; returns how long Envoy took, or what it said when it
/// rejected the bootstrap or warned about a deprecated field.
pub(crate) fn validate(envoy: &Path, name: &str, bootstrap: &Bootstrap) -> Result<Duration, Rejection> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("envoy-validate");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.json", name.replace('/', "_")));
    let text = serde_json::to_string_pretty(&json::to_json(bootstrap).unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    let started = Instant::now();
    let output = Command::new(envoy)
        .args(["--mode", "validate", "--disable-hot-restart", "--log-level", "warn"])
        .arg("--base-id")
        .arg(base_id().to_string())
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", envoy.display()));
    let took = started.elapsed();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    if output.status.success() && !said.to_lowercase().contains("deprecated") {
        Ok(took)
    } else {
        Err(Rejection {
            path,
            code: output.status.code(),
            output: said,
        })
    }
}
