//! The command line of `ingressroute-controller` ([behaviour §5.1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s5-1) where a flag applies).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ingressroute_api::DEFAULT_INGRESS_CLASS;
use ingressroute_dag::duration::parse_go_duration;
use ingressroute_envoy::DEFAULT_ACCESS_LOG;
use ingressroute_xds::ServerTls;

use crate::settings::{
    DEFAULT_LEASE_NAME, DEFAULT_NAMESPACE, EndpointsApi, LeaderElection, RateLimit, SECRET_FIELD_SELECTOR, Settings,
    default_identity,
};

/// The flags of `ingressroute-controller`.
///
/// Names and defaults follow `contour serve` where Contour has the flag.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "ingressroute-controller",
    version,
    about = "Serve Envoy the IngressRoutes (contour.heptio.com/v1beta1) of a Kubernetes cluster over xDS, and write their statuses"
)]
#[allow(clippy::struct_excessive_bools)]
pub struct Args {
    /// A kubeconfig file to use instead of the usual discovery (in-cluster service
    /// account, then `$KUBECONFIG`, then `~/.kube/config`).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Use the pod's service account and nothing else.
    #[arg(long, conflicts_with = "kubeconfig")]
    pub incluster: bool,

    /// Talk to this API server URL, without credentials (for tests and `kubectl proxy`).
    #[arg(long, value_name = "URL", conflicts_with_all = ["kubeconfig", "incluster"])]
    pub api_server: Option<String>,

    /// The address the xDS (gRPC) server binds.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub xds_address: IpAddr,

    /// The port of the xDS server.
    #[arg(long, value_name = "N", default_value_t = 8001)]
    pub xds_port: u16,

    /// The CA certificate (PEM) that must have signed every Envoy's client certificate:
    /// xDS over mutual TLS. Needs `--contour-cert-file` and `--contour-key-file`.
    #[arg(long, env = "CONTOUR_CAFILE", value_name = "PATH", requires_all = ["contour_cert_file", "contour_key_file"])]
    pub contour_cafile: Option<PathBuf>,

    /// The xDS server's certificate (PEM); Envoy checks that it names `contour`.
    #[arg(long, env = "CONTOUR_CERT_FILE", value_name = "PATH", requires_all = ["contour_cafile", "contour_key_file"])]
    pub contour_cert_file: Option<PathBuf>,

    /// The xDS server's private key (PEM).
    #[arg(long, env = "CONTOUR_KEY_FILE", value_name = "PATH", requires_all = ["contour_cafile", "contour_cert_file"])]
    pub contour_key_file: Option<PathBuf>,

    /// Serve xDS in plaintext. Without it the three TLS files above are required, as
    /// Contour requires them.
    #[arg(long, conflicts_with_all = ["contour_cafile", "contour_cert_file", "contour_key_file"])]
    pub insecure: bool,

    /// The address Envoy's `ingress_http` listener binds.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0")]
    pub envoy_service_http_address: IpAddr,

    /// The port of Envoy's `ingress_http` listener.
    #[arg(long, value_name = "N", default_value_t = 8080)]
    pub envoy_service_http_port: u16,

    /// The address Envoy's `ingress_https` listener binds.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0")]
    pub envoy_service_https_address: IpAddr,

    /// The port of Envoy's `ingress_https` listener.
    #[arg(long, value_name = "N", default_value_t = 8443)]
    pub envoy_service_https_port: u16,

    /// Where the `ingress_http` listener writes its access log.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_ACCESS_LOG)]
    pub envoy_http_access_log: String,

    /// Where the `ingress_https` listener writes its access log.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_ACCESS_LOG)]
    pub envoy_https_access_log: String,

    /// Expect the PROXY protocol on Envoy's listeners.
    #[arg(long)]
    pub use_proxy_protocol: bool,

    /// Namespaces where root IngressRoutes may be defined, comma-separated; empty means
    /// any. `--ingressroute-root-namespaces` is the deprecated name.
    #[arg(
        long,
        value_name = "NS1,NS2",
        alias = "ingressroute-root-namespaces",
        default_value = ""
    )]
    pub root_namespaces: String,

    /// The ingress class served: IngressRoutes annotated with another class are ignored.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_INGRESS_CLASS)]
    pub ingress_class_name: String,

    /// Ignore `permitInsecure`: routes of TLS virtual hosts always redirect to HTTPS.
    #[arg(long)]
    pub disable_permit_insecure: bool,

    /// Allow ExternalName Services that point at loopback or link-local addresses (local
    /// development only).
    #[arg(long)]
    pub allow_loopback_external_names: bool,

    /// The controller's own namespace, where the leader-election Lease lives.
    #[arg(long, value_name = "NS", env = "CONTOUR_NAMESPACE", default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,

    /// The name of the leader-election Lease.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_LEASE_NAME)]
    pub leader_election_lease_name: String,

    /// How long a Lease is valid after its last renewal (Go duration).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = go_duration)]
    pub leader_election_lease_duration: Duration,

    /// How long a leader keeps trying to renew before it steps down (Go duration).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = go_duration)]
    pub leader_election_renew_deadline: Duration,

    /// How often a leader renews and a candidate retries (Go duration).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = go_duration)]
    pub leader_election_retry_period: Duration,

    /// Always act as the leader (write statuses) without a Lease.
    #[arg(long)]
    pub disable_leader_election: bool,

    /// Where `/metrics` is served.
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:8000")]
    pub metrics_address: SocketAddr,

    /// Where `/healthz` and `/readyz` are served (may equal `--metrics-address`).
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:8000")]
    pub health_address: SocketAddr,

    /// Watch `core/v1` Endpoints instead of `discovery.k8s.io/v1` EndpointSlices (for
    /// clusters older than Kubernetes 1.21). The ClusterRole must then grant `list` and
    /// `watch` on `endpoints` (the one in `examples/deploy` grants EndpointSlices only).
    #[arg(long)]
    pub use_endpoints: bool,

    /// Status writes per second, on average.
    #[arg(long, value_name = "QPS", default_value_t = 20.0, value_parser = positive_f64)]
    pub status_update_qps: f64,

    /// The largest burst of status writes.
    #[arg(long, value_name = "N", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..))]
    pub status_update_burst: u32,

    /// The field selector of the Secret watch; empty watches every Secret.
    #[arg(long, value_name = "SELECTOR", default_value = SECRET_FIELD_SELECTOR)]
    pub secret_field_selector: String,

    /// The log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn go_duration(s: &str) -> Result<Duration, String> {
    let nanos = parse_go_duration(s).map_err(|e| e.to_string())?;
    let nanos = u64::try_from(nanos).map_err(|_| format!("{s:?} is negative"))?;
    if nanos == 0 {
        return Err(format!("{s:?} must be longer than zero"));
    }
    Ok(Duration::from_nanos(nanos))
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(_) => Err(format!("{s:?} must be a positive number")),
        Err(e) => Err(e.to_string()),
    }
}

impl Args {
    /// The [`Settings`] these flags ask for.
    ///
    /// # Errors
    ///
    /// [`ArgsError::LeaderElectionTimings`] when the leader-election timings do not satisfy
    /// `retry period < renew deadline < lease duration` (client-go's rule);
    /// [`ArgsError::NoXdsTls`] without TLS files or `--insecure`; [`ArgsError::TlsFile`]
    /// when a TLS file cannot be read.
    pub fn settings(&self) -> Result<Settings, ArgsError> {
        let mut settings = Settings::default();
        let mut dag = ingressroute_dag::Config::default();
        dag.root_namespaces = ingressroute_dag::Config::parse_root_namespaces(&self.root_namespaces);
        dag.ingress_class.clone_from(&self.ingress_class_name);
        dag.disable_permit_insecure = self.disable_permit_insecure;
        dag.allow_loopback_external_names = self.allow_loopback_external_names;
        settings.dag = dag;

        settings.envoy.http_address = self.envoy_service_http_address;
        settings.envoy.http_port = self.envoy_service_http_port;
        settings.envoy.https_address = self.envoy_service_https_address;
        settings.envoy.https_port = self.envoy_service_https_port;
        settings.envoy.http_access_log.clone_from(&self.envoy_http_access_log);
        settings.envoy.https_access_log.clone_from(&self.envoy_https_access_log);
        settings.envoy.use_proxy_protocol = self.use_proxy_protocol;

        settings.xds_address = SocketAddr::new(self.xds_address, self.xds_port);
        settings.xds_tls = self.xds_tls()?;
        settings.metrics_address = self.metrics_address;
        settings.health_address = self.health_address;
        settings.namespace.clone_from(&self.namespace);
        settings.endpoints_api = if self.use_endpoints {
            EndpointsApi::Endpoints
        } else {
            EndpointsApi::EndpointSlices
        };
        settings.status_rate = RateLimit::new(self.status_update_qps, self.status_update_burst);
        settings.secret_field_selector = Some(self.secret_field_selector.trim().to_owned()).filter(|s| !s.is_empty());

        settings.leader_election = if self.disable_leader_election {
            None
        } else {
            let lease = self.leader_election_lease_duration;
            let renew = self.leader_election_renew_deadline;
            let retry = self.leader_election_retry_period;
            if !(retry < renew && renew < lease) {
                return Err(ArgsError::LeaderElectionTimings { lease, renew, retry });
            }
            let mut election = LeaderElection::default();
            election.lease_name.clone_from(&self.leader_election_lease_name);
            election.identity = default_identity();
            election.lease_duration = lease;
            election.renew_deadline = renew;
            election.retry_period = retry;
            Some(election)
        };
        Ok(settings)
    }
}

impl Args {
    /// The xDS server's TLS files, read; `None` with `--insecure`.
    fn xds_tls(&self) -> Result<Option<ServerTls>, ArgsError> {
        let (Some(ca), Some(cert), Some(key)) = (&self.contour_cafile, &self.contour_cert_file, &self.contour_key_file)
        else {
            return if self.insecure {
                Ok(None)
            } else {
                Err(ArgsError::NoXdsTls)
            };
        };
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|source| ArgsError::TlsFile {
                path: path.clone(),
                source,
            })
        };
        Ok(Some(ServerTls::new(read(cert)?, read(key)?, read(ca)?)))
    }
}

/// Flags that parse but do not make sense together.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArgsError {
    /// Neither the xDS TLS files nor `--insecure`.
    #[error(
        "xDS needs TLS: give --contour-cafile, --contour-cert-file and --contour-key-file, or --insecure to serve it in plaintext"
    )]
    NoXdsTls,
    /// An xDS TLS file cannot be read.
    #[error("cannot read {}", path.display())]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The leader-election timings are out of order.
    #[error("leader election needs retry period ({retry:?}) < renew deadline ({renew:?}) < lease duration ({lease:?})")]
    LeaderElectionTimings {
        /// `--leader-election-lease-duration`.
        lease: Duration,
        /// `--leader-election-renew-deadline`.
        renew: Duration,
        /// `--leader-election-retry-period`.
        retry: Duration,
    },
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn the_defaults_are_contours() {
        // Contour refuses to serve xDS in plaintext unless told to.
        let args = Args::try_parse_from(["ingressroute-controller"]).unwrap();
        assert!(matches!(args.settings(), Err(ArgsError::NoXdsTls)));
        let args = Args::try_parse_from(["ingressroute-controller", "--insecure"]).unwrap();
        let settings = args.settings().unwrap();
        assert_eq!(settings.xds_tls, None);
        assert_eq!(settings.xds_address, "127.0.0.1:8001".parse().unwrap());
        assert_eq!(settings.envoy.http_port, 8080);
        assert_eq!(settings.envoy.https_port, 8443);
        assert_eq!(settings.dag.ingress_class, "contour");
        assert!(settings.dag.root_namespaces.is_empty());
        let election = settings.leader_election.unwrap();
        assert_eq!(election.lease_duration, Duration::from_secs(15));
        assert_eq!(election.renew_deadline, Duration::from_secs(10));
        assert_eq!(election.retry_period, Duration::from_secs(2));
        assert_eq!(settings.endpoints_api, EndpointsApi::EndpointSlices);
    }

    #[test]
    fn the_deprecated_root_namespaces_flag_is_the_same_setting() {
        let args = Args::try_parse_from(["x", "--insecure", "--ingressroute-root-namespaces", " a, b ,,"]).unwrap();
        assert_eq!(args.settings().unwrap().dag.root_namespaces, ["a", "b"]);
        let args = Args::try_parse_from(["x", "--insecure", "--root-namespaces", "c"]).unwrap();
        assert_eq!(args.settings().unwrap().dag.root_namespaces, ["c"]);
    }

    #[test]
    fn leader_election_timings_out_of_order_are_refused() {
        let args = Args::try_parse_from(["x", "--insecure", "--leader-election-renew-deadline", "20s"]).unwrap();
        assert!(matches!(args.settings(), Err(ArgsError::LeaderElectionTimings { .. })));
        let args = Args::try_parse_from([
            "x",
            "--insecure",
            "--leader-election-renew-deadline",
            "20s",
            "--disable-leader-election",
        ])
        .unwrap();
        assert!(args.settings().unwrap().leader_election.is_none());
    }

    #[test]
    fn durations_are_go_durations() {
        let args = Args::try_parse_from(["x", "--leader-election-retry-period", "1.5s"]).unwrap();
        assert_eq!(args.leader_election_retry_period, Duration::from_millis(1500));
        assert!(Args::try_parse_from(["x", "--leader-election-retry-period", "2"]).is_err());
        assert!(Args::try_parse_from(["x", "--leader-election-retry-period", "0s"]).is_err());
    }

    #[test]
    fn an_empty_secret_field_selector_watches_every_secret() {
        let args = Args::try_parse_from(["x", "--insecure", "--secret-field-selector", ""]).unwrap();
        assert_eq!(args.settings().unwrap().secret_field_selector, None);
    }

    #[test]
    fn the_three_tls_files_are_read_together() {
        let dir = std::env::temp_dir().join(format!("ingressroute-controller-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, content) in [("ca.crt", "CA"), ("tls.crt", "CERT"), ("tls.key", "KEY")] {
            std::fs::write(dir.join(name), content).unwrap();
        }
        let path = |name: &str| dir.join(name).display().to_string();
        let (ca, cert, key) = (path("ca.crt"), path("tls.crt"), path("tls.key"));
        let flags = [
            "x",
            "--contour-cafile",
            &ca,
            "--contour-cert-file",
            &cert,
            "--contour-key-file",
            &key,
        ];
        let tls = Args::try_parse_from(flags)
            .unwrap()
            .settings()
            .unwrap()
            .xds_tls
            .unwrap();
        assert_eq!(
            (tls.client_ca.as_slice(), tls.certificate.as_slice(), tls.key.as_slice()),
            (&b"CA"[..], &b"CERT"[..], &b"KEY"[..])
        );

        // Not one without the others, and not with --insecure.
        assert!(Args::try_parse_from(["x", "--contour-cafile", &ca]).is_err());
        assert!(Args::try_parse_from(["x", "--contour-cafile", &ca, "--contour-cert-file", &cert]).is_err());
        assert!(Args::try_parse_from([flags.as_slice(), &["--insecure"]].concat()).is_err());

        // A file that cannot be read is named.
        let missing = path("missing.key");
        let args = Args::try_parse_from([
            "x",
            "--contour-cafile",
            &ca,
            "--contour-cert-file",
            &cert,
            "--contour-key-file",
            &missing,
        ])
        .unwrap();
        let error = args.settings().unwrap_err();
        assert!(matches!(&error, ArgsError::TlsFile { path, .. } if path.ends_with("missing.key")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
