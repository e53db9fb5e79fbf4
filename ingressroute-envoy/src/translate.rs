//! The translation of a whole DAG into one consistent set of Envoy resources.

use std::collections::BTreeMap;
use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::config::route::v3 as route_v3;
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3 as tcp_proxy_v3;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3 as tls_v3;
use ingressroute_dag::{
    Dag, Secret, SecureVirtualHost, ServedRoute, ServedTcpProxy, ServedVirtualHost, TlsKeyPair, TlsMode,
};
use rustc_hash::FxHashMap;

use crate::cluster::ClusterSet;
use crate::config::{EnvoyConfig, HttpRoutes};
use crate::endpoints::Endpoints;
use crate::listener::{self, ChainAction, TlsChain};
use crate::names;
use crate::resources::Resources;
use crate::route::{self, Listener};

/// Translates a DAG into Envoy resources: listeners, route configurations, clusters,
/// cluster load assignments and secrets ([behaviour §4](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4) with decisions [D3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d3), [D7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d7), [D9](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d9), [D13](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d13), [D17](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d17)).
///
/// * `ingress_http` serves every virtual host with routes: from the route configuration of
///   its route bucket, `ingress_http/<bucket>`, picked by Scoped RDS (by default), or from
///   the one `ingress_http` route configuration (always present, possibly empty) with
///   [`HttpRoutes::Single`]; routes that must upgrade redirect to HTTPS.
/// * `ingress_https` has one filter chain per TLS virtual host, matched by SNI: TLS
///   terminated with the certificate over SDS and HTTP from the route configuration
///   `https/<fqdn>`, or a TCP proxy after termination or on the passed-through bytes.
/// * A listener is left out when it would have no filter chain.
/// * Only clusters that an emitted route or TCP proxy uses are produced, once each, and
///   one ClusterLoadAssignment per EDS service name they read, built from `endpoints`
///   (with no endpoint when there is none, so Envoy never waits for it).
///
/// Pure and deterministic: the same inputs always give resources that encode to the same
/// bytes, and the result always passes [`Resources::check_consistency`].
///
/// ```
/// use ingressroute_dag::{build, Config, Objects};
/// use ingressroute_envoy::{translate, EnvoyConfig, Endpoints};
///
/// let dag = build(&Objects::new(), &Config::default());
/// let resources = translate(&dag, &Endpoints::new(), &EnvoyConfig::default());
/// assert!(resources.listeners.is_empty());
/// assert!(resources.routes.is_empty()); // no virtual host, no route bucket
/// resources.check_consistency().unwrap();
/// ```
#[must_use]
pub fn translate(dag: &Dag, endpoints: &Endpoints, config: &EnvoyConfig) -> Resources {
    let mut clusters = ClusterSet::default();
    let mut secrets: BTreeMap<String, tls_v3::Secret> = BTreeMap::new();
    let mut secret_names = SecretNames::default();

    let mut vhosts: Vec<&ServedVirtualHost> = dag.virtual_hosts().iter().map(AsRef::as_ref).collect();
    vhosts.sort_by(|a, b| a.fqdn.cmp(&b.fqdn));
    let secure = vhosts.iter().filter(|v| v.secure.is_some()).count();
    let mut chains: Vec<TlsChain> = Vec::with_capacity(secure);

    // Plain HTTP: one route configuration, or one per route bucket with its scope. Each
    // virtual host goes straight into the list of its route configuration, reserved at
    // the most it can hold (a virtual host is over a kilobyte: no list is grown by
    // copying).
    let buckets: Vec<u16> = vhosts
        .iter()
        .map(|v| match config.http_routes {
            HttpRoutes::Single => 0,
            HttpRoutes::Scoped { buckets } => names::http_route_bucket(&v.fqdn, buckets),
        })
        .collect();
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for bucket in &buckets {
        *counts.entry(*bucket).or_default() += 1;
    }
    let scoped = matches!(config.http_routes, HttpRoutes::Scoped { .. });
    // Each bucket's route configuration name, written once rather than once per scope.
    let bucket_names: BTreeMap<u16, String> = if scoped {
        counts
            .keys()
            .map(|bucket| (*bucket, names::http_route_bucket_name(*bucket)))
            .collect()
    } else {
        BTreeMap::new()
    };
    let mut by_bucket: BTreeMap<u16, Vec<route_v3::VirtualHost>> = counts
        .into_iter()
        .map(|(bucket, hosts)| (bucket, Vec::with_capacity(hosts)))
        .collect();
    let mut scoped_routes = Vec::with_capacity(if scoped { vhosts.len() } else { 0 });
    let mut serves_http = false;
    for (v, bucket) in vhosts.iter().zip(buckets) {
        let Some(vhost) = route::virtual_host(&v.fqdn, &v.routes, Listener::Http, &mut clusters) else {
            continue;
        };
        serves_http = true;
        if scoped {
            let route_config = match bucket_names.get(&bucket) {
                Some(name) => name.clone(),
                None => names::http_route_bucket_name(bucket),
            };
            scoped_routes.push(route::host_scope(&v.fqdn, route_config));
        }
        by_bucket.entry(bucket).or_default().push(vhost);
    }
    let mut route_configs = Vec::with_capacity(by_bucket.len() + secure + 1);
    match config.http_routes {
        HttpRoutes::Single => route_configs.push(route::route_configuration(
            names::HTTP_ROUTE_CONFIG,
            by_bucket.into_values().next().unwrap_or_default(),
        )),
        HttpRoutes::Scoped { .. } => {
            // A bucket whose hosts all serve nothing over plain HTTP has no configuration.
            for (bucket, vhosts) in by_bucket.into_iter().filter(|(_, vhosts)| !vhosts.is_empty()) {
                let name = match bucket_names.get(&bucket) {
                    Some(name) => name.clone(),
                    None => names::http_route_bucket_name(bucket),
                };
                route_configs.push(route::route_configuration(&name, vhosts));
            }
            scoped_routes.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }

    // TLS, one filter chain per virtual host.
    for vhost in &vhosts {
        let Some(secure) = &vhost.secure else { continue };
        let Some(chain) = tls_chain(vhost, secure, &mut clusters, &mut secret_names, &mut route_configs) else {
            continue;
        };
        if let (TlsMode::Terminate { secret, .. }, Some((name, _))) = (&secure.tls, &chain.terminate)
            && let Some(pair) = secret.tls.as_ref()
        {
            secrets
                .entry(name.clone())
                .or_insert_with(|| sds_secret(name.clone(), pair));
        }
        chains.push(chain);
    }
    chains.sort_by(|a, b| a.fqdn.cmp(&b.fqdn));
    chains.dedup_by(|a, b| a.fqdn == b.fqdn);

    let mut listeners = Vec::new();
    if serves_http {
        listeners.push(listener::http_listener(config));
    }
    if !chains.is_empty() {
        listeners.push(listener::https_listener(chains, config));
    }
    listeners.sort_by(|a, b| a.name.cmp(&b.name));

    route_configs.sort_by(|a, b| a.name.cmp(&b.name));
    route_configs.dedup_by(|a, b| a.name == b.name);

    let (clusters, eds) = clusters.into_parts(&config.config_source);
    let endpoints = eds
        .iter()
        .map(|(name, eds)| endpoints.load_assignment(name, eds.service(), &eds.port_name))
        .collect();

    Resources {
        listeners,
        scoped_routes,
        routes: route_configs,
        clusters,
        endpoints,
        secrets: secrets.into_values().collect(),
    }
}

/// Where [`tls_chain`] puts the `https/<fqdn>` route configuration of a terminated
/// virtual host: prost messages for [`translate`], an encoding for the
/// [`Translator`](crate::Translator).
pub(crate) trait HttpsRouteConfigs<'a> {
    /// Adds the route configuration `name` of `routes`, the HTTPS routes of `fqdn`;
    /// `false` (adding nothing) when no route would serve anything.
    fn add(&mut self, name: &str, fqdn: &str, routes: &'a [ServedRoute], clusters: &mut ClusterSet<'a>) -> bool;
}

impl<'a> HttpsRouteConfigs<'a> for Vec<route_v3::RouteConfiguration> {
    fn add(&mut self, name: &str, fqdn: &str, routes: &'a [ServedRoute], clusters: &mut ClusterSet<'a>) -> bool {
        let Some(vhost) = route::virtual_host(fqdn, routes, Listener::Https, clusters) else {
            return false;
        };
        self.push(route::route_configuration(name, vec![vhost]));
        true
    }
}

/// The filter chain of a TLS virtual host, or `None` when it would serve nothing (the DAG
/// never produces such a host). Adds the route configuration of an HTTP chain.
pub(crate) fn tls_chain<'a>(
    vhost: &'a ServedVirtualHost,
    secure: &'a SecureVirtualHost,
    clusters: &mut ClusterSet<'a>,
    secret_names: &mut SecretNames<'a>,
    route_configs: &mut impl HttpsRouteConfigs<'a>,
) -> Option<TlsChain> {
    let terminate = match &secure.tls {
        TlsMode::Terminate {
            secret,
            minimum_protocol_version,
        } => Some((secret_names.name(secret)?, *minimum_protocol_version)),
        TlsMode::Passthrough => None,
    };
    let action = match (&secure.tcp_proxy, &terminate) {
        (Some(proxy), _) => ChainAction::Tcp(tcp_proxy_clusters(proxy, clusters)?),
        (None, Some(_)) => {
            let name = names::https_route_config_name(&vhost.fqdn);
            if !route_configs.add(&name, &vhost.fqdn, vhost.https_routes(), clusters) {
                return None;
            }
            ChainAction::Http { route_config: name }
        }
        // Passthrough needs a TCP proxy.
        (None, None) => return None,
    };
    Some(TlsChain {
        fqdn: vhost.fqdn.clone(),
        terminate,
        action,
    })
}

/// The SDS names of the Secrets a translation uses, each computed once: a name hashes the
/// certificate chain, and a Secret often serves several virtual hosts. Secrets are told
/// apart by identity (every virtual host of one build shares the Secret's `Arc`).
#[derive(Debug, Default)]
pub(crate) struct SecretNames<'a> {
    /// By address, with the Secret borrowed: its address cannot be reused by another
    /// while the map lives.
    names: FxHashMap<*const Secret, (&'a Secret, Option<String>)>,
}

impl<'a> SecretNames<'a> {
    /// The name of `secret`'s SDS secret, `None` when it has no key pair.
    pub(crate) fn name(&mut self, secret: &'a Arc<Secret>) -> Option<String> {
        self.names
            .entry(Arc::as_ptr(secret))
            .or_insert_with(|| (secret, names::secret_name(secret)))
            .1
            .clone()
    }
}

/// Where a TCP proxy sends connections ([behaviour §4.4](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-4) with decision [D9](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d9)): weights as for HTTP
/// routes, except that upstreams of weight 0 are left out (the TCP proxy rejects weight
/// 0; they would get no connections anyway), and a single upstream is named directly.
fn tcp_proxy_clusters<'a>(
    proxy: &'a ServedTcpProxy,
    clusters: &mut ClusterSet<'a>,
) -> Option<tcp_proxy_v3::tcp_proxy::ClusterSpecifier> {
    use tcp_proxy_v3::tcp_proxy::{ClusterSpecifier, WeightedCluster, weighted_cluster::ClusterWeight};

    let entries: Vec<_> = route::weighted(&proxy.clusters, clusters)
        .into_iter()
        .filter(|w| w.weight > 0)
        .collect();
    match entries.as_slice() {
        [] => None,
        [single] => Some(ClusterSpecifier::Cluster(clusters.add(single.cluster).to_string())),
        many => Some(ClusterSpecifier::WeightedClusters(WeightedCluster {
            clusters: many
                .iter()
                .map(|w| ClusterWeight {
                    name: clusters.add(w.cluster).to_string(),
                    weight: w.weight,
                    ..Default::default()
                })
                .collect(),
        })),
    }
}

/// The SDS secret of a TLS key pair ([behaviour §4.10](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-10)).
pub(crate) fn sds_secret(name: String, pair: &TlsKeyPair) -> tls_v3::Secret {
    let inline = |bytes: &[u8]| core_v3::DataSource {
        specifier: Some(core_v3::data_source::Specifier::InlineBytes(bytes.to_vec())),
        ..Default::default()
    };
    tls_v3::Secret {
        name,
        r#type: Some(tls_v3::secret::Type::TlsCertificate(tls_v3::TlsCertificate {
            certificate_chain: Some(inline(&pair.certificate_chain)),
            private_key: Some(inline(&pair.private_key)),
            ..Default::default()
        })),
    }
}
