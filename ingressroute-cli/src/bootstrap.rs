//! `ingressroute bootstrap`: the Envoy bootstrap that points an Envoy at `ingressroute
//! serve` over ADS.
//!
//! ```text
//!  --xds-address, --admin-address, --stats-address, --delta, --node-id
//!         │
//!         ▼
//!  BootstrapConfig ──▶ ingressroute_envoy::bootstrap ──▶ proto3 JSON ──▶ FILE | stdout
//! ```
//!
//! [`bootstrap_json`] is pure; [`run`] writes the result. `serve --envoy` writes the same
//! bootstrap (see [`crate::serve`]) for the Envoy it starts.

use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use ingressroute_envoy::json::{self, JsonError};
use ingressroute_envoy::{AdsApi, BootstrapConfig, XdsTls};

/// The default `--xds-address`, where `serve` listens.
pub const DEFAULT_XDS_ADDRESS: &str = "127.0.0.1:8001";
/// The default `--admin-address` of Envoy's admin interface.
pub const DEFAULT_ADMIN_ADDRESS: &str = "127.0.0.1:9001";
/// The default `--stats-address` of Envoy's `stats-health` listener (`/ready`, `/stats`).
pub const DEFAULT_STATS_ADDRESS: &str = "0.0.0.0:8002";
/// The node id Envoy sends by default.
pub const DEFAULT_NODE_ID: &str = "ingressroute";

/// A host (a name, an IPv4 address or a bracketed IPv6 address) and a port: `HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// The host, without brackets.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl FromStr for HostPort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(address) = s.parse::<SocketAddr>() {
            return Ok(address.into());
        }
        let (host, port) = s.rsplit_once(':').ok_or_else(|| format!("{s:?} is not HOST:PORT"))?;
        let port = port
            .parse::<u16>()
            .map_err(|e| format!("{s:?}: the port {port:?} is not a number from 0 to 65535: {e}"))?;
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        if !valid {
            return Err(format!("{s:?}: {host:?} is not a host name or an IP address"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl From<SocketAddr> for HostPort {
    fn from(address: SocketAddr) -> Self {
        Self {
            host: address.ip().to_string(),
            port: address.port(),
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The arguments of `ingressroute bootstrap`.
#[derive(Debug, Clone, clap::Args)]
pub struct BootstrapArgs {
    /// Where the xDS server (`ingressroute serve`) listens, as Envoy reaches it: an IP
    /// address or a host name, and a port.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_XDS_ADDRESS)]
    pub xds_address: HostPort,

    /// Where Envoy's admin interface listens. Keep it on loopback: the admin interface can
    /// change and stop Envoy.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_ADMIN_ADDRESS)]
    pub admin_address: SocketAddr,

    /// Where Envoy's `stats-health` listener (`/ready` and `/stats` of the admin
    /// interface) listens.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_STATS_ADDRESS)]
    pub stats_address: SocketAddr,

    /// Use incremental ADS (`DELTA_GRPC`) instead of state of the world (`GRPC`).
    #[arg(long)]
    pub delta: bool,

    /// The node id Envoy sends to the xDS server.
    #[arg(long, value_name = "ID", default_value = DEFAULT_NODE_ID)]
    pub node_id: String,

    /// The CA certificate file (PEM) Envoy trusts for the xDS server's certificate, which
    /// must name `contour`: xDS over mutual TLS (as `contour bootstrap`). Needs
    /// `--envoy-cert-file` and `--envoy-key-file`. Envoy reads the files when it starts.
    #[arg(long, value_name = "PATH", requires_all = ["envoy_cert_file", "envoy_key_file"])]
    pub envoy_cafile: Option<String>,

    /// Envoy's client certificate file (PEM), signed by the CA the xDS server trusts.
    #[arg(long, value_name = "PATH", requires_all = ["envoy_cafile", "envoy_key_file"])]
    pub envoy_cert_file: Option<String>,

    /// Envoy's private key file (PEM).
    #[arg(long, value_name = "PATH", requires_all = ["envoy_cafile", "envoy_cert_file"])]
    pub envoy_key_file: Option<String>,

    /// Where to write the bootstrap (JSON); `-` writes standard output.
    #[arg(value_name = "FILE|-")]
    pub output: PathBuf,
}

impl BootstrapArgs {
    /// The bootstrap settings these arguments ask for.
    #[must_use]
    pub fn config(&self) -> BootstrapConfig {
        let mut config = bootstrap_config(
            &self.xds_address,
            self.admin_address,
            self.stats_address,
            self.delta,
            &self.node_id,
        );
        if let (Some(ca), Some(cert), Some(key)) = (&self.envoy_cafile, &self.envoy_cert_file, &self.envoy_key_file) {
            config.xds_tls = Some(XdsTls::new(ca, cert, key));
        }
        config
    }
}

/// The bootstrap settings of an Envoy that talks to the xDS server at `xds` over ADS
/// (incremental when `delta`), with its admin interface and `stats-health` listener at the
/// given addresses.
#[must_use]
pub fn bootstrap_config(
    xds: &HostPort,
    admin: SocketAddr,
    stats: SocketAddr,
    delta: bool,
    node_id: &str,
) -> BootstrapConfig {
    let mut config = BootstrapConfig::default();
    config.xds_address.clone_from(&xds.host);
    config.xds_port = xds.port;
    config.ads_api = if delta { AdsApi::DeltaGrpc } else { AdsApi::Grpc };
    config.admin_address = admin.ip();
    config.admin_port = admin.port();
    config.stats_address = stats.ip();
    config.stats_port = stats.port();
    node_id.clone_into(&mut config.node_id);
    config
}

/// The address Envoy should dial to reach a server bound to `bound`: the same, except that
/// an unspecified address (`0.0.0.0`, `::`) becomes loopback.
#[must_use]
pub fn dial_address(bound: SocketAddr) -> HostPort {
    let ip = match bound.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bound.port()).into()
}

/// Why `bootstrap` could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bootstrap could not be converted to JSON (a bug: every type in it is known).
    #[error("cannot convert the bootstrap to JSON")]
    Json(#[source] JsonError),
    /// The JSON could not be serialised.
    #[error("cannot render JSON")]
    Serialize(#[source] serde_json::Error),
    /// The output could not be written.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file (`-` for standard output).
        path: PathBuf,
        /// What failed.
        #[source]
        source: io::Error,
    },
}

/// The bootstrap for `config` as pretty-printed proto3 JSON, ending with a newline.
///
/// # Errors
///
/// [`Error::Json`] or [`Error::Serialize`], which would be bugs.
pub fn bootstrap_json(config: &BootstrapConfig) -> Result<String, Error> {
    let value = json::to_json(&ingressroute_envoy::bootstrap(config)).map_err(Error::Json)?;
    let mut text = serde_json::to_string_pretty(&value).map_err(Error::Serialize)?;
    text.push('\n');
    Ok(text)
}

/// Runs `ingressroute bootstrap`: writes the bootstrap to `args.output`, or to `stdout`
/// when it is `-`.
///
/// # Errors
///
/// [`Error::Write`] when the output cannot be written; the others as [`bootstrap_json`].
pub fn run(args: &BootstrapArgs, stdout: &mut impl Write) -> Result<(), Error> {
    let text = bootstrap_json(&args.config())?;
    crate::write_output(&args.output, &text, stdout).map_err(|source| Error::Write {
        path: args.output.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_takes_names_ipv4_and_bracketed_ipv6() {
        let parse = |s: &str| s.parse::<HostPort>();
        assert_eq!(
            parse("127.0.0.1:8001"),
            Ok(HostPort {
                host: "127.0.0.1".into(),
                port: 8001
            })
        );
        assert_eq!(
            parse("[::1]:18000"),
            Ok(HostPort {
                host: "::1".into(),
                port: 18000
            })
        );
        assert_eq!(
            parse("ingressroute.projectcontour:8001"),
            Ok(HostPort {
                host: "ingressroute.projectcontour".into(),
                port: 8001
            })
        );
        assert_eq!(parse("[::1]:18000").map(|h| h.to_string()), Ok("[::1]:18000".into()));
        for bad in ["8001", "host:", ":8001", "host:99999", "a b:1", "::1:80:x"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unspecified_bind_address_is_dialled_on_loopback() {
        assert_eq!(
            dial_address("0.0.0.0:8001".parse().unwrap()).to_string(),
            "127.0.0.1:8001"
        );
        assert_eq!(dial_address("[::]:8001".parse().unwrap()).to_string(), "[::1]:8001");
        assert_eq!(dial_address("10.1.2.3:7".parse().unwrap()).to_string(), "10.1.2.3:7");
    }
}
