//! `convert --to httpproxy`: every valid IngressRoute becomes a `projectcontour.io/v1`
//! HTTPProxy of the same name and namespace, every TLSCertificateDelegation its
//! `projectcontour.io/v1` twin.
//!
//! Why one file of this length: the walk over an object's routes, its includes and its
//! tcpproxy share the prefix arithmetic and the warnings, and a third of it is unit tests.
//!
//! The heart of it is the prefix arithmetic. IngressRoute writes every route's `match` in
//! full; HTTPProxy writes it relative to the include chain, and Contour joins the chain's
//! prefix conditions by plain concatenation, collapsing runs of `/` ([`join_prefixes`]).
//! So a child delegated `/foo` gets `/bar` for its `/foo/bar`, and **no** condition for
//! its `/foo` (a `/` would make it `/foo/`). Each condition is checked by joining it
//! back: what cannot be written exactly is left out with a warning, never approximated.
//!
//! ```text
//!  IngressRoute root  /      ──▶ HTTPProxy root  routes: [{prefix: /}]
//!                     /foo ─┐                     includes: [{child, prefix: /foo}]
//!  IngressRoute child /foo ◀┘──▶ HTTPProxy child  routes: [{}]            (= /foo)
//!                     /foo/bar                    routes: [{prefix: /bar}] (= /foo/bar)
//! ```

use std::collections::BTreeMap;

use ingressroute_api::{
    Delegate, HealthCheck, INGRESS_CLASS_ANNOTATIONS, IngressRoute, Route as SourceRoute, Service as SourceService,
};
use ingressroute_dag::duration::parse_go_duration;
use ingressroute_dag::quote::go_quote;
use ingressroute_dag::{CurrentStatus, Delegation, ObjectRef};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::contour_v1::{self as v1, API_VERSION};
use super::{Source, Warning};

/// The ingress class annotation HTTPProxy reads.
const CLASS_ANNOTATION: &str = "projectcontour.io/ingress.class";

/// Health-check defaults of IngressRoute (docs/behaviour.md 4.9, decision D7), written
/// out because Contour's HTTPProxy defaults differ (a 10 s interval).
const HEALTH_CHECK_INTERVAL_SECONDS: i64 = 5;
const HEALTH_CHECK_TIMEOUT_SECONDS: i64 = 2;
const HEALTH_CHECK_UNHEALTHY_THRESHOLD: i64 = 3;
const HEALTH_CHECK_HEALTHY_THRESHOLD: i64 = 2;

/// Joins prefix conditions as Contour does (`mergePathMatchConditions`): concatenated,
/// every run of `/` collapsed to one, `/` when nothing is left.
#[must_use]
pub fn join_prefixes<'p>(prefixes: impl IntoIterator<Item = &'p str>) -> String {
    let mut joined = String::new();
    for prefix in prefixes {
        for c in prefix.chars() {
            if !(c == '/' && joined.ends_with('/')) {
                joined.push(c);
            }
        }
    }
    if joined.is_empty() { "/".to_owned() } else { joined }
}

/// The prefix conditions that give `prefix` back under an include chain whose prefix is
/// `base` (`""` for a root), best first: `None` is no condition at all. Empty when no
/// condition can (the rest does not start with `/` and `base` does not end with one, or
/// `prefix` holds `//`, which Contour collapses).
#[must_use]
pub fn relative_conditions(base: &str, prefix: &str) -> Vec<Option<String>> {
    let Some(rest) = prefix.strip_prefix(base) else {
        return Vec::new();
    };
    let mut candidates = Vec::new();
    if rest.is_empty() {
        if !base.is_empty() {
            candidates.push(None);
        }
        if base.ends_with('/') {
            candidates.push(Some("/".to_owned()));
        }
    } else if rest.starts_with('/') {
        candidates.push(Some(rest.to_owned()));
    } else if base.ends_with('/') {
        candidates.push(Some(format!("/{rest}")));
    }
    candidates.retain(|condition| join_prefixes([base, condition.as_deref().unwrap_or("")]) == prefix);
    candidates
}

/// Converts every valid IngressRoute of `source` to an HTTPProxy and every
/// TLSCertificateDelegation to its `projectcontour.io/v1` kind; returns them (HTTPProxies
/// first, each kind by namespace and name) and the warnings (by object).
#[must_use]
pub fn convert(source: &Source<'_>) -> (Vec<v1::Object>, Vec<Warning>) {
    let mut objects = Vec::new();
    let mut warnings = Vec::new();
    let mut indexes = BTreeMap::new();
    for (object, status) in source.dag.statuses() {
        if status.current_status != CurrentStatus::Valid {
            warnings.push(Warning::new(
                object,
                "",
                super::not_converted(status.current_status, &status.description),
            ));
            continue;
        }
        if let Some(route) = source.routes.get(object) {
            let mut proxy = Proxy {
                source,
                object,
                route,
                warnings: Vec::new(),
                route_indexes: Vec::new(),
            };
            objects.push(v1::Object::HttpProxy(proxy.convert()));
            warnings.append(&mut proxy.warnings);
            indexes.insert(object.clone(), proxy.route_indexes);
        }
    }
    shadowing(source, &objects, &indexes, &mut warnings);
    for (object, delegation) in &source.delegations {
        objects.push(v1::Object::TlsCertificateDelegation(v1::TlsCertificateDelegation {
            api_version: API_VERSION.to_owned(),
            kind: "TLSCertificateDelegation".to_owned(),
            metadata: metadata(object, &delegation.metadata, None),
            spec: v1::TlsCertificateDelegationSpec {
                delegations: delegation
                    .spec
                    .delegations
                    .iter()
                    .map(|d| v1::CertificateDelegation {
                        secret_name: d.secret_name.clone(),
                        target_namespaces: d.target_namespaces.clone(),
                    })
                    .collect(),
            },
        }));
    }
    (objects, warnings)
}

/// Where a prefix is declared more than once in a host's tree, the route served can
/// differ: IngressRoute serves the last met walking routes in list order (a delegation
/// where it is listed, docs/behaviour.md 3.6), Contour adds an HTTPProxy's includes
/// before its own routes, and the last added wins. A warning on the route the HTTPProxies
/// would serve instead says so.
fn shadowing(
    source: &Source<'_>,
    objects: &[v1::Object],
    indexes: &BTreeMap<ObjectRef, Vec<usize>>,
    warnings: &mut Vec<Warning>,
) {
    let proxies: BTreeMap<ObjectRef, &v1::HttpProxy> = objects
        .iter()
        .filter_map(|o| match o {
            v1::Object::HttpProxy(p) => Some((ObjectRef::from_meta(&p.metadata), p)),
            v1::Object::TlsCertificateDelegation(_) => None,
        })
        .collect();
    for vhost in source.dag.virtual_hosts() {
        let mut served: BTreeMap<String, (ObjectRef, usize)> = BTreeMap::new();
        contour_walk(&proxies, indexes, &vhost.root, "", 0, &mut served);
        for route in &vhost.routes {
            let Some((winner, index)) = served.get(&route.prefix) else {
                continue;
            };
            if *winner != *route.source {
                let warning = Warning::new(
                    winner,
                    format!("spec.routes[{index}].match"),
                    format!(
                        "{} is also declared by {} on {}: IngressRoute served that one (the last in route order), the HTTPProxies serve this one (Contour adds includes before an HTTPProxy's own routes, and the last added wins)",
                        go_quote(&route.prefix),
                        route.source,
                        go_quote(&vhost.fqdn)
                    ),
                );
                if !warnings.contains(&warning) {
                    warnings.push(warning);
                }
            }
        }
    }
}

/// Walks an include tree as Contour does: includes first, then the HTTPProxy's own
/// routes; notes for every prefix the HTTPProxy and the index of its source route
/// (`indexes`: the source index of each HTTPProxy route, by HTTPProxy).
fn contour_walk(
    proxies: &BTreeMap<ObjectRef, &v1::HttpProxy>,
    indexes: &BTreeMap<ObjectRef, Vec<usize>>,
    object: &ObjectRef,
    mount: &str,
    depth: usize,
    served: &mut BTreeMap<String, (ObjectRef, usize)>,
) {
    // Converted trees are acyclic; the bound only guards against a bug.
    let Some(proxy) = proxies.get(object).filter(|_| depth < 256) else {
        return;
    };
    for include in &proxy.spec.includes {
        let condition = include.conditions.first().map_or("", |c| c.prefix.as_str());
        let child = ObjectRef::new(include.namespace.clone(), include.name.clone());
        let mount = if format!("{mount}{condition}").is_empty() {
            String::new()
        } else {
            join_prefixes([mount, condition])
        };
        contour_walk(proxies, indexes, &child, &mount, depth + 1, served);
    }
    let indexes = indexes.get(object).map_or(&[][..], Vec::as_slice);
    for (route, index) in proxy.spec.routes.iter().zip(indexes) {
        let condition = route.conditions.first().map_or("", |c| c.prefix.as_str());
        served.insert(join_prefixes([mount, condition]), (object.clone(), *index));
    }
}

/// Name, namespace and labels of the source, and the ingress class as HTTPProxy reads it.
fn metadata(object: &ObjectRef, source: &ObjectMeta, class: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(object.name.clone()),
        namespace: Some(object.namespace.clone()),
        labels: source.labels.clone().filter(|labels| !labels.is_empty()),
        annotations: class.map(|class| BTreeMap::from([(CLASS_ANNOTATION.to_owned(), class.to_owned())])),
        ..ObjectMeta::default()
    }
}

/// Where a non-root is included: by which route of which valid parent, at which
/// (absolute) prefix.
#[derive(Debug, Clone)]
struct Base {
    parent: ObjectRef,
    route: usize,
    prefix: String,
}

/// The conversion of one valid IngressRoute.
struct Proxy<'s, 'a> {
    source: &'s Source<'a>,
    object: &'s ObjectRef,
    route: &'a IngressRoute,
    warnings: Vec<Warning>,
    /// The index in `spec.routes` of each HTTPProxy route written.
    route_indexes: Vec<usize>,
}

impl Proxy<'_, '_> {
    fn warn(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning::new(self.object, field, message));
    }

    fn convert(&mut self) -> v1::HttpProxy {
        let spec = &self.route.spec;
        let class = self.route.metadata.annotations.as_ref().and_then(|annotations| {
            INGRESS_CLASS_ANNOTATIONS
                .iter()
                .find_map(|key| annotations.get(*key))
                .filter(|class| !class.is_empty())
        });
        let bases = self.bases();
        let conditions = self.conditions(&bases);
        let mut includes = Vec::new();
        let mut routes = Vec::new();
        for (index, (route, condition)) in spec.routes.iter().zip(conditions).enumerate() {
            let field = format!("spec.routes[{index}]");
            let Some(condition) = condition else {
                let base = bases.first().map_or("", |b| b.prefix.as_str());
                let why = if base.is_empty() {
                    "an HTTPProxy prefix condition must start with \"/\" and has no \"//\"".to_owned()
                } else if !route.match_.starts_with(base) {
                    format!(
                        "it lies above the include prefix {}, and every prefix of an included HTTPProxy starts with its include prefix",
                        go_quote(base)
                    )
                } else {
                    format!(
                        "under the include prefix {}, Contour joins prefixes by concatenation (collapsing \"//\") and each must start with \"/\"",
                        go_quote(base)
                    )
                };
                self.warn(
                    format!("{field}.match"),
                    format!(
                        "{} cannot be written as an HTTPProxy condition: {why}; the route is left out",
                        go_quote(&route.match_)
                    ),
                );
                continue;
            };
            let conditions: Vec<v1::MatchCondition> = condition
                .into_iter()
                .map(|prefix| v1::MatchCondition { prefix })
                .collect();
            if let Some(delegate) = &route.delegate {
                if let Some((name, namespace)) =
                    self.include(&format!("{field}.delegate"), delegate, &go_quote(&route.match_))
                {
                    includes.push(v1::Include {
                        name,
                        namespace,
                        conditions,
                    });
                }
            } else if !route.services.is_empty() {
                routes.push(self.http_route(&field, route, conditions));
                self.route_indexes.push(index);
            }
            // A route with neither services nor a delegate serves nothing; so does
            // leaving it out.
        }
        let tls = spec.virtualhost.as_ref().and_then(|vh| vh.tls.as_deref());
        let terminates = tls.is_some_and(|tls| !tls.secret_name.is_empty());
        let is_root = spec.virtualhost.is_some();
        // A root's tcpproxy is only used with TLS (dropped, unwarned, without); a child's,
        // when it is delegated to.
        let used = !is_root || terminates || tls.is_some_and(|tls| tls.passthrough);
        let tcpproxy = spec
            .tcpproxy
            .as_ref()
            .filter(|_| used)
            .and_then(|tcp| self.tcpproxy(tcp));
        let passes_through = !terminates && tls.is_some_and(|tls| tls.passthrough) && tcpproxy.is_some();
        let virtualhost = spec.virtualhost.as_ref().map(|vh| v1::VirtualHost {
            fqdn: vh.fqdn.clone(),
            tls: vh.tls.as_ref().and_then(|tls| {
                if terminates {
                    Some(v1::Tls {
                        secret_name: tls.secret_name.clone(),
                        minimum_protocol_version: tls.minimum_protocol_version.clone().filter(|v| !v.is_empty()),
                        passthrough: false,
                    })
                } else if passes_through {
                    Some(v1::Tls {
                        passthrough: true,
                        ..v1::Tls::default()
                    })
                } else {
                    // `passthrough` without a tcpproxy: IngressRoute serves the routes
                    // over plain HTTP only, and so does an HTTPProxy without TLS.
                    None
                }
            }),
        });
        v1::HttpProxy {
            api_version: API_VERSION.to_owned(),
            kind: "HTTPProxy".to_owned(),
            metadata: metadata(self.object, &self.route.metadata, class.map(String::as_str)),
            spec: v1::HttpProxySpec {
                virtualhost,
                includes,
                routes,
                tcpproxy,
            },
        }
    }

    /// Where this object is included: nowhere for a root (its prefixes are absolute);
    /// for a child, every route of a valid parent that delegates to it, in walk order.
    fn bases(&self) -> Vec<Base> {
        if self.route.spec.virtualhost.is_some() {
            return Vec::new();
        }
        let dag = self.source.dag;
        let mut bases: Vec<Base> = dag
            .graph()
            .delegators(self.object)
            .filter(|(parent, _)| {
                dag.status(parent)
                    .is_some_and(|s| s.current_status == CurrentStatus::Valid)
            })
            .filter_map(|(parent, delegation)| match delegation {
                Delegation::Route { route, prefix } => Some(Base {
                    parent: parent.clone(),
                    route: *route,
                    prefix: prefix.clone(),
                }),
                _ => None,
            })
            .collect();
        bases.sort_by(|a, b| (&a.parent, a.route).cmp(&(&b.parent, b.route)));
        bases
    }

    /// The condition of every route (outer `None`: none can be written), the same under
    /// every base where possible; a warning names the parents whose prefixes disagree.
    fn conditions(&mut self, bases: &[Base]) -> Vec<Option<Option<String>>> {
        let routes = &self.route.spec.routes;
        // A child reached through a tcpproxy only: its routes are not served, and are
        // written as absolute prefixes.
        let prefixes: Vec<&str> = if bases.is_empty() {
            vec![""]
        } else {
            bases.iter().map(|b| b.prefix.as_str()).collect()
        };
        let mut disagreements = Vec::new();
        let conditions = routes
            .iter()
            .enumerate()
            .map(|(index, route)| {
                let candidates: Vec<Vec<Option<String>>> = prefixes
                    .iter()
                    .map(|base| relative_conditions(base, &route.match_))
                    .collect();
                let first = candidates.first()?;
                let common = first
                    .iter()
                    .find(|c| candidates.iter().all(|others| others.contains(c)))
                    .cloned();
                if common.is_none() && !first.is_empty() {
                    disagreements.push(index);
                }
                common.or_else(|| first.first().cloned())
            })
            .collect();
        if !disagreements.is_empty() {
            let parents: Vec<String> = bases
                .iter()
                .map(|b| format!("{} spec.routes[{}] ({})", b.parent, b.route, go_quote(&b.prefix)))
                .collect();
            let routes: Vec<String> = disagreements.iter().map(|i| format!("spec.routes[{i}]")).collect();
            self.warn(
                "",
                format!(
                    "delegated at prefixes that need different HTTPProxy conditions for {}: {}; converted for the first, the others need an HTTPProxy of their own",
                    routes.join(", "),
                    parents.join(" and ")
                ),
            );
        }
        conditions
    }

    /// The `(name, namespace)` a delegation of `what` (a quoted prefix, or "the
    /// tcpproxy") becomes, or `None` when the target is not converted (invalid or
    /// orphaned: leaving the include out serves what IngressRoute served).
    fn include(&mut self, field: &str, delegate: &Delegate, what: &str) -> Option<(String, String)> {
        let namespace = delegate
            .namespace
            .clone()
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| self.object.namespace.clone());
        let target = ObjectRef::new(namespace.clone(), delegate.name.clone());
        match self.source.dag.status(&target) {
            Some(status) if status.current_status == CurrentStatus::Valid => {}
            Some(status) => {
                self.warn(
                    field,
                    format!(
                        "{target} is {} and not converted: the include is left out, so {what} stays unserved as it was",
                        status.current_status,
                    ),
                );
                return None;
            }
            None => {
                let what = if self.source.routes.contains_key(&target) {
                    "is of another ingress class"
                } else {
                    "does not exist"
                };
                self.warn(
                    field,
                    format!(
                        "includes {target}, which {what}: IngressRoute ignored such a delegation, but Contour (since v1.1) reports a missing include as an error on the HTTPProxy: the whole HTTPProxy is invalid in early versions, the prefix answers 502 in later ones"
                    ),
                );
            }
        }
        Some((delegate.name.clone(), namespace))
    }

    fn http_route(&mut self, field: &str, route: &SourceRoute, conditions: Vec<v1::MatchCondition>) -> v1::Route {
        let services = route
            .services
            .iter()
            .enumerate()
            .map(|(index, service)| self.service(&format!("{field}.services[{index}]"), service, true))
            .collect();
        let load_balancer_policy = self.load_balancer_policy(field, &route.services);
        let health_check_policy = self.health_check_policy(field, &route.services);
        let timeout_policy = route
            .timeout_policy
            .as_ref()
            .and_then(|t| t.request.as_deref())
            .filter(|request| !request.is_empty())
            .map(|request| v1::TimeoutPolicy {
                response: duration_or_infinity(request),
            });
        let retry_policy = route.retry_policy.as_ref().map(|retry| v1::RetryPolicy {
            // 0 or absent means one retry in IngressRoute (docs/behaviour.md 1.4).
            count: Some(retry.count.unwrap_or(0).max(1)),
            per_try_timeout: retry
                .per_try_timeout
                .as_deref()
                .filter(|t| !t.is_empty() && !is_no_timeout(t))
                .map(str::to_owned),
        });
        let path_rewrite_policy = (!route.prefix_rewrite.is_empty()).then(|| {
            if route.prefix_rewrite == "/" && !route.match_.ends_with('/') {
                self.warn(
                    format!("{field}.prefixRewrite"),
                    format!(
                        "\"/\" after {}: IngressRoute forwards {} as {}, HTTPProxy's replacePrefix removes the slashes after the prefix ({}); match {} instead to keep one meaning",
                        go_quote(&route.match_),
                        go_quote(&format!("{}/x", route.match_)),
                        go_quote("//x"),
                        go_quote("/x"),
                        go_quote(&format!("{}/", route.match_)),
                    ),
                );
            }
            v1::PathRewritePolicy {
                replace_prefix: vec![v1::ReplacePrefix {
                    prefix: None,
                    replacement: route.prefix_rewrite.clone(),
                }],
            }
        });
        v1::Route {
            conditions,
            services,
            enable_websockets: route.enable_websockets,
            permit_insecure: route.permit_insecure,
            timeout_policy,
            retry_policy,
            health_check_policy,
            load_balancer_policy,
            path_rewrite_policy,
        }
    }

    /// One upstream; `http` carries the upstream protocol and validation (a tcpproxy
    /// uses neither in IngressRoute).
    fn service(&mut self, field: &str, service: &SourceService, http: bool) -> v1::Service {
        let reference = ObjectRef::new(self.object.namespace.clone(), service.name.clone());
        let k8s = self.source.services.get(&reference);
        let protocol = k8s
            .and_then(|k8s| k8s.port(service.port))
            .and_then(|port| port.protocol);
        if let Some(external) = k8s.and_then(|k8s| k8s.external_name.as_deref()) {
            self.warn(
                field,
                format!(
                    "Service {reference} is an ExternalName Service ({}): Contour serves those only with enableExternalNameService, off by default since v1.18",
                    go_quote(external)
                ),
            );
        }
        if let Some(legacy) = self.source.legacy_annotations.get(&reference) {
            let renamed: Vec<String> = legacy
                .iter()
                .map(|key| key.replacen("contour.heptio.com/", "projectcontour.io/", 1))
                .collect();
            self.warn(
                field,
                format!(
                    "Service {reference} sets circuit-breaker limits with {}, which later Contours do not read: annotate it with {} instead",
                    legacy.join(", "),
                    renamed.join(", ")
                ),
            );
        }
        let speaks_tls = protocol.is_some_and(|p| p.is_tls());
        v1::Service {
            name: service.name.clone(),
            port: service.port,
            protocol: protocol.filter(|_| http).map(|p| p.as_str().to_owned()),
            // Validation only has an effect on a port that speaks TLS
            // (docs/behaviour.md 1.5).
            validation: service
                .validation
                .as_ref()
                .filter(|_| http && speaks_tls)
                .map(|v| v1::UpstreamValidation {
                    ca_secret: v.ca_secret.clone(),
                    subject_name: v.subject_name.clone(),
                }),
            weight: service.weight,
        }
    }

    /// The strategy every service of a route (or tcpproxy at `field`) shares: the first
    /// service's (with the object's default); a warning for each service that differs.
    fn load_balancer_policy(&mut self, field: &str, services: &[SourceService]) -> Option<v1::LoadBalancerPolicy> {
        let default = self.route.spec.strategy.as_deref().map(str::to_owned);
        let strategy = |service: &SourceService| service.strategy.clone().or_else(|| default.clone());
        let first = services.first().and_then(strategy);
        let first = first.as_deref();
        for (index, service) in services.iter().enumerate().skip(1) {
            let this = strategy(service);
            let this = this.as_deref();
            if balancer(this) != balancer(first) {
                self.warn(
                    format!("{field}.services[{index}].strategy"),
                    format!(
                        "{} here, {} on the first service: an HTTPProxy route has one loadBalancerPolicy, and the first service's applies to every service",
                        go_quote(balancer(this)),
                        go_quote(balancer(first))
                    ),
                );
            }
        }
        first.map(|s| v1::LoadBalancerPolicy {
            strategy: balancer(Some(s)).to_owned(),
        })
    }

    /// The health check every service of a route shares: the first service's (with the
    /// object's default), every number written out; a warning for each that differs.
    fn health_check_policy(&mut self, field: &str, services: &[SourceService]) -> Option<v1::HealthCheckPolicy> {
        let default = self.route.spec.health_check.as_deref();
        let policy = |service: &SourceService| service.health_check.as_deref().or(default).map(health_check_policy);
        let first = services.first().and_then(policy);
        for (index, service) in services.iter().enumerate().skip(1) {
            let this = policy(service);
            if this != first {
                let describe = |p: &Option<v1::HealthCheckPolicy>| match p {
                    Some(p) => format!("a health check of {}", go_quote(&p.path)),
                    None => "no health check".to_owned(),
                };
                self.warn(
                    format!("{field}.services[{index}].healthCheck"),
                    format!(
                        "{} here, {} on the first service: an HTTPProxy route has one healthCheckPolicy, and the first service's applies to every service",
                        describe(&this),
                        describe(&first)
                    ),
                );
            }
        }
        first
    }

    fn tcpproxy(&mut self, tcp: &ingressroute_api::TcpProxy) -> Option<v1::TcpProxy> {
        let include = match &tcp.delegate {
            Some(delegate) => {
                let (name, namespace) = self.include("spec.tcpproxy.delegate", delegate, "the tcpproxy")?;
                Some(v1::TcpProxyInclude { name, namespace })
            }
            None => None,
        };
        if include.is_none() && tcp.services.is_empty() {
            return None;
        }
        let services = tcp
            .services
            .iter()
            .enumerate()
            .map(|(index, service)| self.service(&format!("spec.tcpproxy.services[{index}]"), service, false))
            .collect();
        Some(v1::TcpProxy {
            load_balancer_policy: self.load_balancer_policy("spec.tcpproxy", &tcp.services),
            services,
            include,
        })
    }
}

/// The load-balancing policy a strategy selects, by its HTTPProxy name: unknown and
/// absent strategies balance round robin.
fn balancer(strategy: Option<&str>) -> &'static str {
    match strategy {
        Some("WeightedLeastRequest") => "WeightedLeastRequest",
        Some("Random") => "Random",
        Some("Cookie") => "Cookie",
        _ => "RoundRobin",
    }
}

fn health_check_policy(check: &HealthCheck) -> v1::HealthCheckPolicy {
    let or = |value: Option<i64>, default: i64| value.filter(|v| *v > 0).unwrap_or(default);
    v1::HealthCheckPolicy {
        path: check.path.clone(),
        host: check.host.clone().filter(|h| !h.is_empty()),
        interval_seconds: or(check.interval_seconds, HEALTH_CHECK_INTERVAL_SECONDS),
        timeout_seconds: or(check.timeout_seconds, HEALTH_CHECK_TIMEOUT_SECONDS),
        unhealthy_threshold_count: or(check.unhealthy_threshold_count, HEALTH_CHECK_UNHEALTHY_THRESHOLD),
        healthy_threshold_count: or(check.healthy_threshold_count, HEALTH_CHECK_HEALTHY_THRESHOLD),
    }
}

/// Whether a duration means "no timeout" in IngressRoute (decision D6): `0s`, `0`,
/// `infinity`, `infinite`.
fn is_no_timeout(value: &str) -> bool {
    matches!(value, "infinity" | "infinite") || parse_go_duration(value) == Ok(0)
}

/// A request timeout as HTTPProxy writes it: `infinity` for none, else as written.
fn duration_or_infinity(value: &str) -> String {
    if is_no_timeout(value) {
        "infinity".to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contour_joins_prefixes_by_concatenation_collapsing_slashes() {
        assert_eq!(join_prefixes(["/foo", "/bar"]), "/foo/bar");
        assert_eq!(join_prefixes(["/foo/", "/bar"]), "/foo/bar");
        assert_eq!(join_prefixes(["/foo", ""]), "/foo");
        assert_eq!(join_prefixes(["/foo", "/"]), "/foo/");
        assert_eq!(join_prefixes(["", ""]), "/");
        assert_eq!(join_prefixes(["/", "//a"]), "/a");
    }

    #[test]
    fn a_child_route_gets_its_prefix_relative_to_the_delegated_one() {
        assert_eq!(relative_conditions("/foo", "/foo/bar"), [Some("/bar".to_owned())]);
        assert_eq!(relative_conditions("/foo", "/foo"), [None], "no condition, not /");
        assert_eq!(relative_conditions("/foo", "/foo/"), [Some("/".to_owned())]);
        assert_eq!(relative_conditions("/foo/", "/foo/bar"), [Some("/bar".to_owned())]);
        assert_eq!(relative_conditions("/foo/", "/foo/"), [None, Some("/".to_owned())]);
        assert_eq!(relative_conditions("/", "/"), [None, Some("/".to_owned())]);
        assert_eq!(relative_conditions("", "/"), [Some("/".to_owned())]);
        assert_eq!(relative_conditions("", "/foo"), [Some("/foo".to_owned())]);
    }

    #[test]
    fn what_contour_cannot_join_back_has_no_condition() {
        assert!(relative_conditions("/foo", "/foobar").is_empty(), "no leading slash");
        assert!(relative_conditions("", "").is_empty());
        assert!(relative_conditions("", "foo").is_empty());
        assert!(relative_conditions("", "/a//b").is_empty(), "Contour collapses //");
        assert!(relative_conditions("/foo", "/bar").is_empty(), "not under the base");
    }

    #[test]
    fn zero_and_infinite_timeouts_are_infinity_and_others_stay_as_written() {
        for value in ["0s", "0", "infinity", "infinite", "0ms"] {
            assert_eq!(duration_or_infinity(value), "infinity", "{value}");
        }
        assert_eq!(duration_or_infinity("1m30s"), "1m30s");
    }

    #[test]
    fn health_check_numbers_are_written_out_with_ingressroutes_defaults() {
        let policy = health_check_policy(&HealthCheck {
            path: "/healthz".into(),
            interval_seconds: Some(0),
            timeout_seconds: Some(7),
            ..HealthCheck::default()
        });
        assert_eq!(
            policy,
            v1::HealthCheckPolicy {
                path: "/healthz".into(),
                host: None,
                interval_seconds: 5,
                timeout_seconds: 7,
                unhealthy_threshold_count: 3,
                healthy_threshold_count: 2,
            }
        );
    }
}
