//! The names Envoy resources get: Contour's `hashname`, cluster, service, secret, virtual
//! host, listener and route configuration names.
//!
//! Names must be stable (the same input always gives the same name, so Envoy keeps its
//! connections and statistics across updates) and short enough for Envoy's statistics,
//! which is why Contour hashes long ones down to 60 bytes. Every function here follows
//! Contour v1.0.1 byte for byte for the ASCII names Kubernetes allows, plus decision [D7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d7)
//! (the health-check `host` feeds the cluster-name hash).

use ingressroute_dag::duration::format_go_duration;
use ingressroute_dag::{Cluster, K8sService, Secret, ServicePort};
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// The name of the plain HTTP listener, its HTTP connection manager's `stat_prefix` and its
/// route configuration.
pub const HTTP_LISTENER: &str = "ingress_http";
/// The name of the TLS listener and the `stat_prefix` of everything on it.
pub const HTTPS_LISTENER: &str = "ingress_https";
/// The route configuration of the plain HTTP listener.
pub const HTTP_ROUTE_CONFIG: &str = "ingress_http";

/// The longest name [`hashname`] produces for clusters, secrets and virtual hosts.
const MAX_NAME: usize = 60;
/// How many hex characters of the sha256 a truncated part keeps.
const SHORT_HASH: usize = 6;

/// Contour's `hashname(l, parts...)`: `parts` joined with `/` when that is shorter than
/// `l` bytes; otherwise the parts are shortened from the last to the first with
/// [`truncate`] (each to `l / parts.len()` bytes, marked with the first 6 hex characters
/// of the sha256 of the joined string) until the result is shorter than `l`; failing
/// that, the first `min(64, l)` hex characters of that sha256.
///
/// Lengths are in bytes. Go slices strings at any byte; this cuts at the nearest UTF-8
/// character boundary below instead, which is the same for the ASCII names Kubernetes
/// allows and never produces invalid UTF-8 (which protobuf strings must not hold).
///
/// ```
/// use ingressroute_envoy::names::hashname;
///
/// assert_eq!(hashname(60, &["default", "kuard", "80", "da39a3ee5e"]), "default/kuard/80/da39a3ee5e");
/// ```
#[must_use]
pub fn hashname(l: usize, parts: &[&str]) -> String {
    let joined = parts.join("/");
    if joined.len() < l {
        return joined;
    }
    let hash = hex::encode(Sha256::digest(joined.as_bytes()));
    let short = prefix(&hash, SHORT_HASH);
    let per_part = l.checked_div(parts.len()).unwrap_or(0);
    let mut parts: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
    for i in (0..parts.len()).rev() {
        if let Some(part) = parts.get_mut(i) {
            *part = truncate(per_part, part, short);
        }
        let joined = parts.join("/");
        if joined.len() < l {
            return joined;
        }
    }
    prefix(&hash, l.min(64)).to_owned()
}

/// Contour's `truncate(n, s, suffix)`: `s` if it has at most `n` bytes; otherwise the
/// first `n - len(suffix) - 1` bytes of `s`, a `-` and `suffix`; or, when `n` is too small
/// for that, the first `n` bytes of `suffix`.
///
/// ```
/// use ingressroute_envoy::names::truncate;
///
/// assert_eq!(truncate(15, "kbujbkuhdod66gjdmwmijz8xzgsx1nkfbrloezdjiulquzk4x3p0nnvpzi8r", "c83ceb"), "kbujbkuh-c83ceb");
/// assert_eq!(truncate(4, "kuard", "c83ceb"), "c83c");
/// ```
#[must_use]
pub fn truncate(n: usize, s: &str, suffix: &str) -> String {
    if n >= s.len() {
        return s.to_owned();
    }
    if n <= suffix.len() {
        return prefix(suffix, n).to_owned();
    }
    let keep = n.saturating_sub(suffix.len()).saturating_sub(1);
    format!("{}-{suffix}", prefix(s, keep))
}

/// The longest prefix of `s` of at most `n` bytes that ends on a character boundary.
fn prefix(s: &str, n: usize) -> &str {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    s.get(..end).unwrap_or_default()
}

/// The first 10 hex characters of the sha1 of `bytes`.
fn short_sha1(bytes: &[u8]) -> String {
    let digest = Sha1::digest(bytes);
    hex::encode(digest.get(..5).unwrap_or_default())
}

/// Go's `Duration.String()` of whole seconds.
fn go_seconds(seconds: u64) -> String {
    let nanos = i64::try_from(seconds).unwrap_or(i64::MAX).saturating_mul(1_000_000_000);
    format_go_duration(nanos)
}

/// The name of the Envoy cluster for an upstream ([behaviour §4.9](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-9)):
/// `hashname(60, namespace, service, port, sha1(buf)[0..10])`, where `buf` concatenates
/// the strategy as written; for a health check the Go duration strings of its timeout and
/// interval and its unhealthy and healthy thresholds (each only when non-zero), its path
/// and (decision [D7](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d7)) its host when set; and for upstream validation the CA Secret's name
/// and the subject name.
///
/// Two upstreams get the same name exactly when Envoy must treat them the same, so
/// clusters can be shared between routes by name.
#[must_use]
pub fn cluster_name(cluster: &Cluster) -> String {
    let mut buf = cluster.strategy.clone().unwrap_or_default();
    if let Some(hc) = &cluster.health_check {
        if hc.timeout_seconds > 0 {
            buf.push_str(&go_seconds(hc.timeout_seconds));
        }
        if hc.interval_seconds > 0 {
            buf.push_str(&go_seconds(hc.interval_seconds));
        }
        if hc.unhealthy_threshold > 0 {
            buf.push_str(&hc.unhealthy_threshold.to_string());
        }
        if hc.healthy_threshold > 0 {
            buf.push_str(&hc.healthy_threshold.to_string());
        }
        buf.push_str(&hc.path);
        if let Some(host) = &hc.host {
            buf.push_str(host);
        }
    }
    if let Some(validation) = &cluster.validation {
        buf.push_str(&validation.ca_secret.meta.name);
        buf.push_str(&validation.subject_name);
    }
    let service = &cluster.service.meta;
    hashname(
        MAX_NAME,
        &[
            &service.namespace,
            &service.name,
            itoa::Buffer::new().format(cluster.port.port),
            &short_sha1(buf.as_bytes()),
        ],
    )
}

/// The `alt_stat_name` of a cluster: `namespace_service_port`, so statistics stay
/// readable when the name is hashed.
#[must_use]
pub fn alt_stat_name(service: &K8sService, port: &ServicePort) -> String {
    alt_stat_name_parts(service, port, &mut itoa::Buffer::new()).concat()
}

/// [`alt_stat_name`] in the parts it is made of, for an encoder that writes them one after
/// the other; `number` holds the port's digits.
pub(crate) fn alt_stat_name_parts<'a>(
    service: &'a K8sService,
    port: &ServicePort,
    number: &'a mut itoa::Buffer,
) -> [&'a str; 5] {
    [
        &service.meta.namespace,
        "_",
        &service.meta.name,
        "_",
        number.format(port.port),
    ]
}

/// The EDS service name of a Service port, which is also the name of its
/// ClusterLoadAssignment: `namespace/service/portName`, or `namespace/service` when the
/// port has no name.
#[must_use]
pub fn service_name(service: &K8sService, port: &ServicePort) -> String {
    endpoints_name(&service.meta.namespace, &service.meta.name, &port.name)
}

/// [`service_name`] from its parts.
#[must_use]
pub fn endpoints_name(namespace: &str, service: &str, port_name: &str) -> String {
    if port_name.is_empty() {
        join(&[namespace, service], "/")
    } else {
        join(&[namespace, service, port_name], "/")
    }
}

/// `parts` joined with `separator`, allocated once at its final length: names are made
/// for every cluster, scope and virtual host of a translation, and `format!` grows its
/// string a piece at a time.
fn join(parts: &[&str], separator: &str) -> String {
    let len = parts.iter().map(|p| p.len()).sum::<usize>() + separator.len() * parts.len().saturating_sub(1);
    let mut joined = String::with_capacity(len);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            joined.push_str(separator);
        }
        joined.push_str(part);
    }
    joined
}

/// The `cluster_name` of an ExternalName cluster's inline load assignment:
/// `namespace/service/portName`, keeping the trailing `/` when the port has no name, as
/// Contour does (Envoy only uses it in logs).
#[must_use]
pub fn external_name_load_assignment_name(service: &K8sService, port: &ServicePort) -> String {
    join(&[&service.meta.namespace, &service.meta.name, &port.name], "/")
}

/// The SDS name of a TLS Secret ([behaviour §4.10](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-10)):
/// `hashname(60, namespace, name, sha1(tls.crt)[0..10])`, so it changes whenever the
/// certificate does and Envoy never mixes an old key with a new certificate. `None` for a
/// Secret without a key pair.
#[must_use]
pub fn secret_name(secret: &Secret) -> Option<String> {
    let tls = secret.tls.as_ref()?;
    Some(hashname(
        MAX_NAME,
        &[
            &secret.meta.namespace,
            &secret.meta.name,
            &short_sha1(&tls.certificate_chain),
        ],
    ))
}

/// The name of the Envoy virtual host of an fqdn: `hashname(60, fqdn)`, which is the fqdn
/// itself when shorter than 60 bytes and its sha256 (60 hex characters) otherwise.
#[must_use]
pub fn virtual_host_name(fqdn: &str) -> String {
    hashname(MAX_NAME, &[fqdn])
}

/// The route bucket of an fqdn among `buckets` (see [`HttpRoutes`](crate::HttpRoutes)):
/// the polynomial hash `h = h * 31 + byte` modulo 2^32 over the bytes of the fqdn with
/// ASCII letters lowercased, modulo `buckets` (0 counts as 1). Stable across releases: a
/// virtual host keeps its bucket, so Envoy keeps its route configuration.
#[must_use]
pub fn http_route_bucket(fqdn: &str, buckets: u16) -> u16 {
    let mut hash: u64 = 0;
    for byte in fqdn.bytes() {
        hash = (hash * 31 + u64::from(byte.to_ascii_lowercase())) % (1 << 32);
    }
    let bucket = hash % u64::from(buckets.max(1));
    u16::try_from(bucket).unwrap_or(0)
}

/// The route configuration of a route bucket: `ingress_http/<bucket>`.
#[must_use]
pub fn http_route_bucket_name(bucket: u16) -> String {
    format!("{HTTP_ROUTE_CONFIG}/{bucket}")
}

/// The Scoped RDS scope of a plain-HTTP virtual host: `ingress_http/<fqdn>`, the fqdn
/// lowercased as its key is.
#[must_use]
pub fn http_scope_name(fqdn: &str) -> String {
    let mut name = join(&[HTTP_ROUTE_CONFIG, fqdn], "/");
    // The prefix is lowercase already.
    name.make_ascii_lowercase();
    name
}

/// The Lua filter of the `ingress_http` listener with [`HttpRoutes::Scoped`](crate::HttpRoutes::Scoped).
///
/// Envoy picks a request's scope from its `Host` (`:authority`, without the port) as
/// written, while scope keys are lowercased fqdns: a host with an uppercase letter is
/// lowercased here and the route looked up again, so hosts match without regard to case
/// as virtual host domains do. Hosts already in lowercase (nearly all) are left alone, and
/// their route is known before any filter runs.
pub const HTTP_HOST_LOWERCASE_LUA: &str = r#"-- ingressroute: match the Host without regard to case (see the Scoped RDS keys).
function envoy_on_request(request)
  local headers = request:headers()
  local host = headers:get(":authority")
  if host and string.find(host, "%u") then
    headers:replace(":authority", string.lower(host))
    request:clearRouteCache()
  end
end
"#;

/// The route configuration of a TLS virtual host (decision [D17](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d17)): `https/<fqdn>`.
#[must_use]
pub fn https_route_config_name(fqdn: &str) -> String {
    join(&["https", fqdn], "/")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ingressroute_dag::{ObjectRef, ServedHealthCheck, ServedUpstreamValidation, TlsKeyPair};

    use super::*;

    fn service(namespace: &str, name: &str) -> Arc<K8sService> {
        Arc::new(K8sService::new(ObjectRef::new(namespace, name)))
    }

    fn port(name: &str, port: i32) -> ServicePort {
        ServicePort::new(name, port)
    }

    fn cluster(strategy: Option<&str>) -> Cluster {
        let mut cluster = Cluster::new(service("default", "kuard"), port("http", 80));
        cluster.strategy = strategy.map(Into::into);
        cluster
    }

    fn health_check(path: &str) -> ServedHealthCheck {
        ServedHealthCheck::new(path)
    }

    fn hash_of(cluster: &Cluster) -> String {
        cluster_name(cluster).rsplit('/').next().unwrap().to_owned()
    }

    #[test]
    fn route_buckets_hash_the_lowercased_fqdn() {
        assert_eq!(http_route_bucket("", 256), 0);
        // 'a' = 97; "ab" = 97 * 31 + 98 = 3105.
        assert_eq!(http_route_bucket("a", 256), 97);
        assert_eq!(http_route_bucket("ab", 256), 3105 % 256);
        assert_eq!(http_route_bucket("AB", 256), http_route_bucket("ab", 256));
        assert_eq!(http_route_bucket("anything.example.com", 1), 0);
        assert_eq!(http_route_bucket("anything.example.com", 0), 0);
        // A long name wraps modulo 2^32 on the way.
        let long = "x".repeat(1000);
        let mut h: u64 = 0;
        for _ in 0..1000 {
            h = (h * 31 + 120) % (1 << 32);
        }
        assert_eq!(u64::from(http_route_bucket(&long, 65535)), h % 65535);
        assert_eq!(http_route_bucket_name(17), "ingress_http/17");
        assert_eq!(http_scope_name("Foo.Example.COM"), "ingress_http/foo.example.com");
    }

    #[test]
    fn short_names_are_joined_unchanged() {
        assert_eq!(
            hashname(60, &["default", "kuard", "80", "da39a3ee5e"]),
            "default/kuard/80/da39a3ee5e"
        );
        assert_eq!(cluster_name(&cluster(None)), "default/kuard/80/da39a3ee5e");
    }

    #[test]
    fn a_long_service_name_is_truncated_with_a_hash_suffix() {
        let c = Cluster::new(
            service(
                "default",
                "kbujbkuhdod66gjdmwmijz8xzgsx1nkfbrloezdjiulquzk4x3p0nnvpzi8r",
            ),
            port("http", 8080),
        );
        assert_eq!(cluster_name(&c), "default/kbujbkuh-c83ceb/8080/da39a3ee5e");
    }

    #[test]
    fn names_of_exactly_the_limit_are_hashed() {
        let name = "a".repeat(60);
        let hashed = hashname(60, &[&name]);
        assert_eq!(hashed.len(), 60);
        assert_ne!(hashed, name);
        assert_eq!(hashname(60, &[&"a".repeat(59)]), "a".repeat(59));
    }

    #[test]
    fn a_single_long_part_collapses_to_the_sha256() {
        let fqdn = format!("{}.example.com", "x".repeat(80));
        let expected = hex::encode(Sha256::digest(fqdn.as_bytes()));
        assert_eq!(virtual_host_name(&fqdn), expected[..60]);
    }

    #[test]
    fn parts_are_truncated_from_the_last_until_the_name_fits() {
        let long = "x".repeat(60);
        let name = hashname(60, &["default", "kuard", &long]);
        let hash = hash_of_str(&format!("default/kuard/{long}"));
        assert_eq!(name, format!("default/kuard/{}-{}", "x".repeat(13), &hash[..6]));
    }

    #[test]
    fn a_name_too_long_even_after_truncating_every_part_is_the_hash() {
        let parts = ["a".repeat(30), "b".repeat(30), "c".repeat(30)];
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        let hash = hash_of_str(&refs.join("/"));
        assert_eq!(hashname(20, &refs), hash[..20]);
        assert_eq!(
            hashname(100, &["x".repeat(200).as_str()]),
            hash_of_str(&"x".repeat(200))[..64]
        );
    }

    fn hash_of_str(s: &str) -> String {
        hex::encode(Sha256::digest(s.as_bytes()))
    }

    #[test]
    fn truncate_follows_contour() {
        assert_eq!(truncate(10, "short", "abcdef"), "short");
        assert_eq!(truncate(5, "longer", "abcdef"), "abcde");
        assert_eq!(truncate(6, "longest", "abcdef"), "abcdef");
        assert_eq!(truncate(6, "longer", "abcdef"), "longer");
        assert_eq!(truncate(8, "longername", "abcdef"), "l-abcdef");
    }

    #[test]
    fn truncate_never_splits_a_character() {
        assert_eq!(truncate(9, "ééééé", "ab"), "ééé-ab");
        assert!(hashname(8, &["ééééé", "ü"]).len() <= 64);
    }

    #[test]
    fn hashname_of_nothing_is_empty() {
        assert_eq!(hashname(60, &[]), "");
        assert_eq!(hashname(0, &[]), "");
    }

    #[test]
    fn strategies_give_contours_known_hashes() {
        assert_eq!(hash_of(&cluster(None)), "da39a3ee5e");
        assert_eq!(hash_of(&cluster(Some(""))), "da39a3ee5e");
        assert_eq!(hash_of(&cluster(Some("RoundRobin"))), "f3b72af6a9");
        assert_eq!(hash_of(&cluster(Some("WeightedLeastRequest"))), "8bf87fefba");
        assert_eq!(hash_of(&cluster(Some("Random"))), "58d888c08a");
    }

    #[test]
    fn a_health_check_path_alone_gives_contours_known_hash() {
        let mut c = cluster(None);
        c.health_check = Some(Box::new(health_check("/healthz")));
        assert_eq!(hash_of(&c), "bc862a33ca");
    }

    #[test]
    fn health_check_numbers_feed_the_hash_as_go_durations() {
        let mut hc = health_check("/healthz");
        hc.timeout_seconds = 2;
        hc.interval_seconds = 90;
        hc.unhealthy_threshold = 3;
        hc.healthy_threshold = 1;
        let mut c = cluster(Some("Random"));
        c.health_check = Some(Box::new(hc));
        assert_eq!(hash_of(&c), short_sha1(b"Random2s1m30s31/healthz"));
    }

    #[test]
    fn the_health_check_host_is_part_of_the_hash() {
        let mut hc = health_check("/healthz");
        hc.host = Some("example.com".into());
        let mut with_host = cluster(None);
        with_host.health_check = Some(Box::new(hc));
        assert_eq!(hash_of(&with_host), short_sha1(b"/healthzexample.com"));
        assert_ne!(hash_of(&with_host), "bc862a33ca");
    }

    #[test]
    fn upstream_validation_gives_contours_known_hash() {
        let mut ca = Secret::new(ObjectRef::new("default", "foo"));
        ca.ca = Some(b"ca".to_vec());
        let mut c = cluster(None);
        c.validation = Some(Box::new(ServedUpstreamValidation::new(Arc::new(ca), "subjname")));
        assert_eq!(hash_of(&c), "98c0f31c72");
    }

    #[test]
    fn service_names_drop_an_empty_port_name() {
        let svc = service("default", "kuard");
        assert_eq!(service_name(&svc, &port("http", 80)), "default/kuard/http");
        assert_eq!(service_name(&svc, &port("", 80)), "default/kuard");
        assert_eq!(
            external_name_load_assignment_name(&svc, &port("", 80)),
            "default/kuard/"
        );
        assert_eq!(alt_stat_name(&svc, &port("", 80)), "default_kuard_80");
    }

    #[test]
    fn secret_names_hash_the_certificate() {
        let mut secret = Secret::new(ObjectRef::new("default", "tls"));
        secret.tls = Some(TlsKeyPair::new(b"cert".to_vec(), b"key".to_vec()));
        assert_eq!(
            secret_name(&secret).unwrap(),
            format!("default/tls/{}", short_sha1(b"cert"))
        );
        let mut ca_only = secret;
        ca_only.tls = None;
        assert_eq!(secret_name(&ca_only), None);
    }

    #[test]
    fn virtual_host_and_route_config_names() {
        assert_eq!(virtual_host_name("foo.com"), "foo.com");
        assert_eq!(https_route_config_name("foo.com"), "https/foo.com");
    }
}
