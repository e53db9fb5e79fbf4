//! Properties over generated worlds: any DAG translates, without panicking, into a
//! consistent, deterministic set that keeps the rules Envoy enforces on load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::collections::BTreeSet;

use envoy_types::pb::envoy::config::route::v3 as route_v3;
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3 as tcp_proxy_v3;
use ingressroute_dag::TlsVersion;
use ingressroute_envoy::{AccessLogFormat, Resources};
use proptest::prelude::*;
use support::*;

const NAMESPACES: &[&str] = &["default", "team"];
const SERVICES: &[&str] = &["a", "b", "c"];
const OBJECTS: &[&str] = &["r0", "r1", "r2", "r3"];
const FQDNS: &[&str] = &["a.com", "b.com", "c.example.com", "d.example.com", "e.com"];
const PREFIXES: &[&str] = &["/", "/a", "/a/b", "/b", ""];
const TIMEOUTS: &[&str] = &["", "1s", "infinity", "0s", "250ms", "1m30s", "peanut"];
const IPS: &[&str] = &["10.0.0.1", "10.0.0.10", "10.0.0.2", "fd00::1"];

fn service_entry() -> impl Strategy<Value = Svc> {
    (
        prop::sample::select(SERVICES),
        prop::sample::select(&[80_i64, 443, 8080][..]),
        prop::option::of(0_i64..4),
        prop::option::of(prop::sample::select(&["Random", "Cookie", "RoundRobin", "odd"][..])),
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(name, port, weight, strategy, hc, validation)| {
            let mut s = svc(name, port);
            if let Some(w) = weight {
                s = s.weight(w);
            }
            if let Some(strategy) = strategy {
                s = s.strategy(strategy);
            }
            if hc {
                s = s.health_check(health_check("/healthz"));
            }
            if validation {
                s = s.validation("ca", "kuard.example.com");
            }
            s
        })
}

#[derive(Debug, Clone)]
enum RouteTarget {
    Services(Vec<Svc>),
    Delegate(String),
}

fn target() -> impl Strategy<Value = RouteTarget> {
    prop_oneof![
        3 => prop::collection::vec(service_entry(), 1..4).prop_map(RouteTarget::Services),
        1 => (prop::sample::select(NAMESPACES), prop::sample::select(OBJECTS))
            .prop_map(|(ns, name)| RouteTarget::Delegate(format!("{ns}/{name}"))),
    ]
}

#[derive(Debug, Clone)]
struct GenRoute {
    prefix: &'static str,
    target: RouteTarget,
    websockets: bool,
    permit_insecure: bool,
    timeout: Option<&'static str>,
    retry: Option<Option<i64>>,
}

fn route() -> impl Strategy<Value = GenRoute> {
    (
        prop::sample::select(PREFIXES),
        target(),
        prop::bool::weighted(0.15),
        any::<bool>(),
        prop::option::of(prop::sample::select(TIMEOUTS)),
        prop::option::of(prop::option::of(0_i64..3)),
    )
        .prop_map(
            |(prefix, target, websockets, permit_insecure, timeout, retry)| GenRoute {
                prefix,
                target,
                websockets,
                permit_insecure,
                timeout,
                retry,
            },
        )
}

#[derive(Debug, Clone)]
enum Tls {
    None,
    Terminate(&'static str, Option<&'static str>),
    Passthrough,
}

#[derive(Debug, Clone)]
struct GenIngressRoute {
    namespace: &'static str,
    name: &'static str,
    fqdn: Option<&'static str>,
    tls: Tls,
    routes: Vec<GenRoute>,
    tcpproxy: Option<RouteTarget>,
}

fn ingress_route() -> impl Strategy<Value = GenIngressRoute> {
    let tls = prop_oneof![
        2 => Just(Tls::None),
        2 => (
            prop::sample::select(&["tls", "tls", "tls", "team/tls", "missing"][..]),
            prop::option::of(prop::sample::select(&["1.1", "1.2", "1.3", "junk"][..]))
        )
            .prop_map(|(s, v)| Tls::Terminate(s, v)),
        1 => Just(Tls::Passthrough),
    ];
    (
        prop::sample::select(NAMESPACES),
        prop::sample::select(OBJECTS),
        prop::option::weighted(0.6, prop::sample::select(FQDNS)),
        tls,
        prop::collection::vec(route(), 0..4),
        prop::option::weighted(0.3, target()),
    )
        .prop_map(|(namespace, name, fqdn, tls, routes, tcpproxy)| GenIngressRoute {
            namespace,
            name,
            fqdn,
            tls,
            routes,
            tcpproxy,
        })
}

#[derive(Debug, Clone)]
struct GenService {
    namespace: &'static str,
    name: &'static str,
    named: bool,
    protocol: Option<&'static str>,
    external: bool,
    breakers: bool,
    endpoints: Vec<&'static str>,
}

/// The settings of one Service; which Services exist is decided per (namespace, name).
fn service_settings() -> impl Strategy<Value = (bool, Option<&'static str>, bool, bool, Vec<&'static str>)> {
    (
        any::<bool>(),
        prop::option::weighted(0.3, prop::sample::select(&["tls", "h2", "h2c"][..])),
        prop::bool::weighted(0.15),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(IPS), 0..3),
    )
}

/// Most of the Services routes can name exist.
fn services() -> impl Strategy<Value = Vec<GenService>> {
    prop::collection::vec(
        prop::option::weighted(0.85, service_settings()),
        NAMESPACES.len() * SERVICES.len(),
    )
    .prop_map(|settings| {
        let keys = NAMESPACES
            .iter()
            .flat_map(|ns| SERVICES.iter().map(move |name| (*ns, *name)));
        keys.zip(settings)
            .filter_map(|((namespace, name), settings)| {
                let (named, protocol, external, breakers, endpoints) = settings?;
                Some(GenService {
                    namespace,
                    name,
                    named,
                    protocol,
                    external,
                    breakers,
                    endpoints,
                })
            })
            .collect()
    })
}

#[derive(Debug, Clone)]
struct Generated {
    ingress_routes: Vec<GenIngressRoute>,
    services: Vec<GenService>,
    secrets: Vec<(&'static str, bool)>,
    json_log: bool,
    proxy_protocol: bool,
    minimum: TlsVersion,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop::collection::vec(ingress_route(), 1..7),
        services(),
        (
            prop::bool::weighted(0.9),
            prop::bool::weighted(0.9),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(a, b, c, d)| {
                [("default/tls", a), ("team/tls", b), ("default/ca", c), ("team/ca", d)]
                    .into_iter()
                    .filter(|(_, present)| *present)
                    .map(|(key, _)| (key, key.ends_with("/tls")))
                    .collect::<Vec<_>>()
            }),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(&[TlsVersion::V1_1, TlsVersion::V1_2, TlsVersion::V1_3][..]),
    )
        .prop_map(
            |(ingress_routes, services, secrets, json_log, proxy_protocol, minimum)| Generated {
                ingress_routes,
                services,
                secrets,
                json_log,
                proxy_protocol,
                minimum,
            },
        )
}

fn apply_target(world: World, prefix: &str, target: &RouteTarget) -> World {
    match target {
        RouteTarget::Services(services) => world.route(prefix, services.clone()),
        RouteTarget::Delegate(to) => world.route(prefix, delegate(to)),
    }
}

fn world(g: &Generated) -> World {
    // Objects with the same key would replace each other in insertion order; a real input
    // has one object per key, so keep the first.
    let mut seen = BTreeSet::new();
    let mut w = World::new().with_config(|c| {
        c.use_proxy_protocol = g.proxy_protocol;
        c.minimum_tls_version = g.minimum;
        if g.json_log {
            c.access_log_format = AccessLogFormat::json();
        }
    });
    for ir in &g.ingress_routes {
        let key = format!("{}/{}", ir.namespace, ir.name);
        if !seen.insert(format!("ir {key}")) {
            continue;
        }
        w = match ir.fqdn {
            Some(fqdn) => {
                let mut w = w.root(&key, fqdn);
                w = match ir.tls {
                    Tls::None => w,
                    Tls::Terminate(secret, version) => {
                        let w = w.tls(secret);
                        match version {
                            Some(v) => w.minimum_protocol_version(v),
                            None => w,
                        }
                    }
                    Tls::Passthrough => w.passthrough(),
                };
                w
            }
            None => w.child(&key),
        };
        for r in &ir.routes {
            w = apply_target(w, r.prefix, &r.target);
            if r.websockets {
                w = w.websockets();
            }
            if r.permit_insecure {
                w = w.permit_insecure();
            }
            if let Some(t) = r.timeout {
                w = w.timeout(t);
            }
            if let Some(count) = r.retry {
                w = w.retry(count, Some("100ms"));
            }
        }
        if let Some(tcp) = &ir.tcpproxy {
            w = match tcp {
                RouteTarget::Services(services) => w.tcpproxy(services.clone()),
                RouteTarget::Delegate(to) => w.tcpproxy(delegate(to)),
            };
        }
    }
    for s in &g.services {
        let key = format!("{}/{}", s.namespace, s.name);
        if !seen.insert(format!("svc {key}")) {
            continue;
        }
        let mut k = kube_service(&key);
        for port in [80, 443, 8080] {
            k = if s.named {
                k.named_port(&format!("p{port}"), port)
            } else {
                k.port(port)
            };
        }
        if let Some(protocol) = s.protocol {
            k = k.annotate(&format!("projectcontour.io/upstream-protocol.{protocol}"), "443,p443");
        }
        if s.external {
            k = k.external_name("example.org");
        }
        if s.breakers {
            k = k.annotate("projectcontour.io/max-connections", "10");
        }
        w = w.service(k);
        if !s.endpoints.is_empty() {
            let name = if s.named { "p80" } else { "" };
            w = w.endpoints(&key, &[(name, &s.endpoints, 8080)]);
        }
    }
    for (key, tls) in &g.secrets {
        if !seen.insert(format!("secret {key}")) {
            continue;
        }
        w = if *tls || key.ends_with("/tls") {
            w.tls_secret(key)
        } else {
            w.ca_secret(key)
        };
    }
    w
}

/// Rules Envoy enforces when it loads the resources, beyond references (which
/// `check_consistency` covers).
fn assert_envoy_rules(resources: &Resources) {
    for listener in &resources.listeners {
        assert!(
            !listener.filter_chains.is_empty(),
            "{} has filter chains",
            listener.name
        );
        let mut server_names = BTreeSet::new();
        for chain in &listener.filter_chains {
            assert_eq!(chain.filters.len(), 1);
            if let Some(m) = &chain.filter_chain_match {
                for name in &m.server_names {
                    assert!(server_names.insert(name.clone()), "server name {name} is unique");
                }
            }
            if chain.filters[0].name == "envoy.filters.network.tcp_proxy" {
                let proxy: tcp_proxy_v3::TcpProxy = unpack(filter_config(&chain.filters[0]));
                if let Some(tcp_proxy_v3::tcp_proxy::ClusterSpecifier::WeightedClusters(w)) = proxy.cluster_specifier {
                    assert!(w.clusters.len() >= 2);
                    assert!(
                        w.clusters.iter().all(|c| c.weight >= 1),
                        "tcp_proxy weights are at least 1"
                    );
                }
            }
        }
    }
    for config in &resources.routes {
        let mut domains = BTreeSet::new();
        for vhost in &config.virtual_hosts {
            assert!(!vhost.routes.is_empty());
            assert!(!vhost.name.is_empty() && vhost.name.len() <= 64);
            for domain in &vhost.domains {
                assert!(domains.insert(domain.to_ascii_lowercase()), "domain {domain} is unique");
            }
            for route in &vhost.routes {
                if let Some(route_v3::route::Action::Route(action)) = &route.action
                    && let Some(route_v3::route_action::ClusterSpecifier::WeightedClusters(w)) =
                        &action.cluster_specifier
                {
                    let total: u64 = w
                        .clusters
                        .iter()
                        .map(|c| u64::from(c.weight.map_or(0, |w| w.value)))
                        .sum();
                    assert!(total > 0 && total <= u64::from(u32::MAX), "weights sum to {total}");
                }
            }
        }
    }
    for cluster in &resources.clusters {
        assert!(cluster.name.len() <= 64, "{}", cluster.name);
        for hc in &cluster.health_checks {
            assert!(hc.timeout.is_some_and(|d| d.seconds > 0 || d.nanos > 0));
            assert!(hc.interval.is_some_and(|d| d.seconds > 0 || d.nanos > 0));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_dag_translates_into_a_consistent_set(g in generated()) {
        let world = world(&g);
        // `translate` checks consistency itself.
        let resources = world.translate();
        assert_envoy_rules(&resources);
    }

    #[test]
    fn any_dag_translates_to_the_same_bytes_whatever_the_insertion_order(g in generated()) {
        let world = world(&g);
        prop_assert_eq!(bytes(&world.translate()), bytes(&world.translate_reversed()));
    }
}

#[test]
fn generated_worlds_cover_every_resource_kind() {
    // A fixed, rich world from the generator's vocabulary, so the properties above are
    // known to reach listeners, routes, clusters, endpoints and secrets.
    let g = Generated {
        ingress_routes: vec![
            GenIngressRoute {
                namespace: "default",
                name: "r0",
                fqdn: Some("a.com"),
                tls: Tls::Terminate("tls", Some("1.2")),
                routes: vec![GenRoute {
                    prefix: "/",
                    target: RouteTarget::Services(vec![svc("a", 80).weight(1), svc("b", 80)]),
                    websockets: false,
                    permit_insecure: true,
                    timeout: Some("1s"),
                    retry: Some(None),
                }],
                tcpproxy: None,
            },
            GenIngressRoute {
                namespace: "default",
                name: "r1",
                fqdn: Some("b.com"),
                tls: Tls::Passthrough,
                routes: vec![],
                tcpproxy: Some(RouteTarget::Services(vec![svc("a", 80)])),
            },
        ],
        services: vec![
            GenService {
                namespace: "default",
                name: "a",
                named: true,
                protocol: None,
                external: false,
                breakers: true,
                endpoints: vec!["10.0.0.1"],
            },
            GenService {
                namespace: "default",
                name: "b",
                named: false,
                protocol: Some("h2"),
                external: false,
                breakers: false,
                endpoints: vec![],
            },
        ],
        secrets: vec![("default/tls", true)],
        json_log: true,
        proxy_protocol: true,
        minimum: TlsVersion::V1_1,
    };
    let resources = world(&g).translate();
    assert_envoy_rules(&resources);
    assert_eq!(resources.listeners.len(), 2);
    assert_eq!(resources.routes.len(), 2);
    assert_eq!(resources.clusters.len(), 2);
    assert_eq!(resources.endpoints.len(), 2);
    assert_eq!(resources.secrets.len(), 1);
}
