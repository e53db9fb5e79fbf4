//! `convert --to gateway-api`: what the DAG serves, as Gateway API objects
//! (`gateway.networking.k8s.io/v1`, standard channel, through the typed structs of the
//! `gateway-api` crate 0.22): a `Gateway`, an `HTTPRoute` per IngressRoute that serves
//! routes, a `TLSRoute` per passed-through or terminated tcpproxy, `BackendTLSPolicy` for
//! upstream validation and `ReferenceGrant`s for the Gateway's certificates in other
//! namespaces.
//!
//! Why one file of this length: the listeners, the routes and the warnings are worked out
//! in one pass over the DAG's virtual hosts.
//!
//! It converts what the DAG **serves** (`ServedVirtualHost`), not the objects as written:
//! effective prefixes, shadowed routes, redirects and certificates are resolved already.
//! Each IngressRoute keeps its own HTTPRoute in its own namespace; delegation becomes the
//! listener's `allowedRoutes`, which admits exactly the namespaces the IngressRoute tree
//! reached for that host (never `All`), so the conversion grants no more than the source.
//!
//! ```text
//!  ServedVirtualHost fqdn ──▶ listeners http-<fqdn> (80), https-<fqdn> or tls-<fqdn> (443)
//!        routes by source ──▶ HTTPRoute <name> (https, or http when not TLS)
//!                             HTTPRoute <name>-http (redirects, permitInsecure routes)
//!        tcp_proxy        ──▶ TLSRoute <source name>
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use gateway_api::backendtlspolicies::{
    BackendTlsPolicy, BackendTlsPolicySpec, BackendTlsPolicyTargetRefs, BackendTlsPolicyValidation,
    BackendTlsPolicyValidationCaCertificateRefs,
};
use gateway_api::gateways::{
    Gateway, GatewayListeners, GatewayListenersAllowedRoutes, GatewayListenersAllowedRoutesKinds,
    GatewayListenersAllowedRoutesNamespaces, GatewayListenersAllowedRoutesNamespacesFrom,
    GatewayListenersAllowedRoutesNamespacesSelector, GatewayListenersAllowedRoutesNamespacesSelectorMatchExpressions,
    GatewayListenersTls, GatewayListenersTlsCertificateRefs, GatewayListenersTlsMode, GatewaySpec,
};
use gateway_api::httproutes::{
    HttpRoute, HttpRouteParentRefs, HttpRouteRules, HttpRouteRulesBackendRefs, HttpRouteRulesFilters,
    HttpRouteRulesFiltersRequestRedirect, HttpRouteRulesFiltersRequestRedirectScheme, HttpRouteRulesFiltersType,
    HttpRouteRulesFiltersUrlRewrite, HttpRouteRulesFiltersUrlRewritePath, HttpRouteRulesFiltersUrlRewritePathType,
    HttpRouteRulesMatches, HttpRouteRulesMatchesPath, HttpRouteRulesMatchesPathType, HttpRouteRulesTimeouts,
    HttpRouteSpec,
};
use gateway_api::referencegrants::{ReferenceGrant, ReferenceGrantFrom, ReferenceGrantSpec, ReferenceGrantTo};
use gateway_api::tlsroutes::{TlsRoute, TlsRouteParentRefs, TlsRouteRules, TlsRouteRulesBackendRefs, TlsRouteSpec};
use ingressroute_dag::quote::go_quote;
use ingressroute_dag::{
    CurrentStatus, LoadBalancer, ObjectRef, ServedRoute, ServedVirtualHost, Timeout, TlsMode, TlsVersion,
    UpstreamProtocol, WeightedCluster,
};
use serde::{Deserialize, Serialize};

use super::{Source, Warning};

/// The API group of every object written.
pub const GROUP: &str = "gateway.networking.k8s.io";

/// The most listeners a Gateway may have (the CRD's `maxItems`).
const MAX_LISTENERS: usize = 64;

/// The most rules an HTTPRoute may have (the CRD's `maxItems`).
const MAX_RULES: usize = 16;

/// Where the HTTPRoutes and TLSRoutes attach.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The Gateway, written by the conversion unless `existing`.
    pub gateway: ObjectRef,
    /// Attach to this existing Gateway instead of writing one (its listeners are not
    /// known, so routes name no `sectionName`).
    pub existing: bool,
    /// `gatewayClassName` of the Gateway written.
    pub class: String,
}

impl Options {
    /// Routes attach to `gateway`, written with `class` unless `existing`.
    #[must_use]
    pub fn new(gateway: ObjectRef, existing: bool, class: impl Into<String>) -> Self {
        Self {
            gateway,
            existing,
            class: class.into(),
        }
    }
}

/// One Gateway API object, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Object {
    /// The Gateway.
    Gateway(Box<Gateway>),
    /// An HTTPRoute.
    HttpRoute(Box<HttpRoute>),
    /// A TLSRoute.
    TlsRoute(Box<TlsRoute>),
    /// A BackendTLSPolicy.
    BackendTlsPolicy(Box<BackendTlsPolicy>),
    /// A ReferenceGrant.
    ReferenceGrant(Box<ReferenceGrant>),
}

impl<'de> Deserialize<'de> for Object {
    /// By `kind`, into the typed struct of that kind.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(deserializer)?;
        let kind = value
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let object = match kind {
            "Gateway" => serde_json::from_value(value).map(|o| Self::Gateway(Box::new(o))),
            "HTTPRoute" => serde_json::from_value(value).map(|o| Self::HttpRoute(Box::new(o))),
            "TLSRoute" => serde_json::from_value(value).map(|o| Self::TlsRoute(Box::new(o))),
            "BackendTLSPolicy" => serde_json::from_value(value).map(|o| Self::BackendTlsPolicy(Box::new(o))),
            "ReferenceGrant" => serde_json::from_value(value).map(|o| Self::ReferenceGrant(Box::new(o))),
            other => return Err(D::Error::custom(format!("unknown kind {other:?}"))),
        };
        object.map_err(D::Error::custom)
    }
}

impl Object {
    /// Sort key: the order kinds are printed in, then namespace and name.
    fn key(&self) -> (u8, Option<&str>, Option<&str>) {
        let (order, meta) = match self {
            Self::Gateway(o) => (0, &o.metadata),
            Self::HttpRoute(o) => (1, &o.metadata),
            Self::TlsRoute(o) => (2, &o.metadata),
            Self::BackendTlsPolicy(o) => (3, &o.metadata),
            Self::ReferenceGrant(o) => (4, &o.metadata),
        };
        (order, meta.namespace.as_deref(), meta.name.as_deref())
    }
}

/// A listener name for a host: the kind, then the host, lowercased (a DNS subdomain, as
/// `sectionName` wants; hostnames are lowercased likewise, as Gateway API requires).
fn listener_name(kind: &str, fqdn: &str) -> String {
    format!("{kind}-{}", fqdn.to_ascii_lowercase())
}

/// A duration as Gateway API writes it (`1h2m3s4ms`; `0s` disables the timeout).
fn gateway_duration(duration: std::time::Duration) -> String {
    if duration.is_zero() {
        return "0s".to_owned();
    }
    // Gateway API's smallest unit is the millisecond; a shorter timeout is rounded up,
    // never down to the 0 that disables it.
    let total = duration.as_millis().max(1);
    let parts = [
        (total / 3_600_000, "h"),
        (total / 60_000 % 60, "m"),
        (total / 1_000 % 60, "s"),
        (total % 1_000, "ms"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}

/// The listener a host's routes attach to, and who may attach.
#[derive(Debug, Default)]
struct Listeners {
    list: Vec<GatewayListeners>,
}

impl Listeners {
    fn add(
        &mut self,
        gateway: &ObjectRef,
        name: String,
        fqdn: &str,
        (protocol, port, kind): (&str, i32, &str),
        tls: Option<GatewayListenersTls>,
        namespaces: &BTreeSet<String>,
    ) {
        let allowed = if namespaces.len() == 1 && namespaces.contains(&gateway.namespace) {
            GatewayListenersAllowedRoutesNamespaces {
                from: Some(GatewayListenersAllowedRoutesNamespacesFrom::Same),
                selector: None,
            }
        } else {
            GatewayListenersAllowedRoutesNamespaces {
                from: Some(GatewayListenersAllowedRoutesNamespacesFrom::Selector),
                selector: Some(GatewayListenersAllowedRoutesNamespacesSelector {
                    match_expressions: Some(vec![GatewayListenersAllowedRoutesNamespacesSelectorMatchExpressions {
                        key: "kubernetes.io/metadata.name".to_owned(),
                        operator: "In".to_owned(),
                        values: Some(namespaces.iter().cloned().collect()),
                    }]),
                    match_labels: None,
                }),
            }
        };
        self.list.push(GatewayListeners {
            allowed_routes: Some(GatewayListenersAllowedRoutes {
                kinds: Some(vec![GatewayListenersAllowedRoutesKinds {
                    group: Some(GROUP.to_owned()),
                    kind: kind.to_owned(),
                }]),
                namespaces: Some(allowed),
            }),
            hostname: Some(fqdn.to_ascii_lowercase()),
            name,
            port,
            protocol: protocol.to_owned(),
            tls,
        });
    }
}

/// An HTTPRoute being assembled: its hosts, listeners and rules.
#[derive(Debug, Default)]
struct RouteBuilder {
    hostnames: BTreeSet<String>,
    sections: BTreeSet<String>,
    rules: Vec<HttpRouteRules>,
}

/// The conversion.
struct Converter<'s, 'a> {
    source: &'s Source<'a>,
    options: &'s Options,
    warnings: Vec<Warning>,
}

/// Converts what `source`'s DAG serves to Gateway API objects attached to `options`'
/// Gateway; returns them (the Gateway, HTTPRoutes, TLSRoutes, BackendTLSPolicies,
/// ReferenceGrants, each kind by namespace and name) and the warnings (by object).
#[must_use]
pub fn convert(source: &Source<'_>, options: &Options) -> (Vec<Object>, Vec<Warning>) {
    let mut converter = Converter {
        source,
        options,
        warnings: Vec::new(),
    };
    let objects = converter.convert();
    (objects, converter.warnings)
}

impl Converter<'_, '_> {
    fn warn(&mut self, object: &ObjectRef, field: impl Into<String>, message: impl Into<String>) {
        let warning = Warning::new(object, field, message);
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// The index in `spec.routes` of the route a served route came from (the last with
    /// its match, as the DAG keeps the last).
    fn route_index(&self, route: &ServedRoute) -> Option<usize> {
        let object = self.source.routes.get(&route.source)?;
        object
            .spec
            .routes
            .iter()
            .rposition(|r| r.match_ == route.prefix && !r.services.is_empty())
    }

    fn parent(&self, section: Option<&str>) -> HttpRouteParentRefs {
        HttpRouteParentRefs {
            group: Some(GROUP.to_owned()),
            kind: Some("Gateway".to_owned()),
            name: self.options.gateway.name.clone(),
            namespace: Some(self.options.gateway.namespace.clone()),
            section_name: section.filter(|_| !self.options.existing).map(str::to_owned),
            port: None,
        }
    }

    fn convert(&mut self) -> Vec<Object> {
        for (object, status) in self.source.dag.statuses() {
            if status.current_status != CurrentStatus::Valid {
                self.warn(
                    object,
                    "",
                    super::not_converted(status.current_status, &status.description),
                );
            }
        }
        let gateway = self.options.gateway.clone();
        let mut listeners = Listeners::default();
        let mut routes: BTreeMap<(ObjectRef, bool), RouteBuilder> = BTreeMap::new();
        let mut tls_routes = Vec::new();
        let mut policies: BTreeMap<ObjectRef, BackendTlsPolicy> = BTreeMap::new();
        let mut grants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut conflicts: Vec<(ServedRoute, String)> = Vec::new();
        let vhosts: Vec<Arc<ServedVirtualHost>> = self.source.dag.virtual_hosts().to_vec();
        for vhost in &vhosts {
            let fqdn = vhost.fqdn.as_str();
            let http_namespaces: BTreeSet<String> = vhost.routes.iter().map(|r| r.source.namespace.clone()).collect();
            let secure = vhost.secure.as_ref();
            let https = secure.is_some_and(|s| matches!(s.tls, TlsMode::Terminate { .. }) && s.tcp_proxy.is_none());
            if !vhost.routes.is_empty() {
                listeners.add(
                    &gateway,
                    listener_name("http", fqdn),
                    fqdn,
                    ("HTTP", 80, "HTTPRoute"),
                    None,
                    &http_namespaces,
                );
            }
            let tls_namespaces: BTreeSet<String> = secure
                .and_then(|s| s.tcp_proxy.as_ref())
                .map(|tcp| BTreeSet::from([tcp.source.namespace.clone()]))
                .unwrap_or_default();
            if let Some(secure) = secure {
                let certificate = match &secure.tls {
                    TlsMode::Terminate {
                        secret,
                        minimum_protocol_version,
                    } => {
                        if *minimum_protocol_version != TlsVersion::V1_1 {
                            self.warn(
                                &vhost.root,
                                "spec.virtualhost.tls.minimumProtocolVersion",
                                "Gateway API core has no minimum TLS version (a listener's tls.options are implementation-specific); dropped",
                            );
                        }
                        let secret = &secret.meta;
                        if secret.namespace != gateway.namespace {
                            grants
                                .entry(secret.namespace.clone())
                                .or_default()
                                .insert(secret.name.clone());
                        }
                        Some(GatewayListenersTls {
                            certificate_refs: Some(vec![GatewayListenersTlsCertificateRefs {
                                group: Some(String::new()),
                                kind: Some("Secret".to_owned()),
                                name: secret.name.clone(),
                                namespace: Some(secret.namespace.clone()).filter(|ns| *ns != gateway.namespace),
                            }]),
                            mode: Some(GatewayListenersTlsMode::Terminate),
                            options: None,
                        })
                    }
                    TlsMode::Passthrough => None,
                };
                if https {
                    listeners.add(
                        &gateway,
                        listener_name("https", fqdn),
                        fqdn,
                        ("HTTPS", 443, "HTTPRoute"),
                        certificate,
                        &http_namespaces,
                    );
                } else if let Some(tcp) = &secure.tcp_proxy {
                    let tls = certificate.unwrap_or(GatewayListenersTls {
                        certificate_refs: None,
                        mode: Some(GatewayListenersTlsMode::Passthrough),
                        options: None,
                    });
                    if tls.mode == Some(GatewayListenersTlsMode::Terminate) {
                        self.warn(
                            &vhost.root,
                            "spec.tcpproxy",
                            "TLS termination in front of a TLSRoute is extended support in Gateway API: check that the implementation has it",
                        );
                    }
                    listeners.add(
                        &gateway,
                        listener_name("tls", fqdn),
                        fqdn,
                        ("TLS", 443, "TLSRoute"),
                        Some(tls),
                        &tls_namespaces,
                    );
                    let backend_refs = tcp
                        .clusters
                        .iter()
                        .map(|c| {
                            let (name, port, weight) = backend(c, &tcp.clusters);
                            TlsRouteRulesBackendRefs {
                                group: None,
                                kind: None,
                                name,
                                namespace: None,
                                port: Some(port),
                                weight,
                            }
                        })
                        .collect();
                    tls_routes.push(TlsRoute::new(
                        &tcp.source.name,
                        TlsRouteSpec {
                            hostnames: vec![fqdn.to_ascii_lowercase()],
                            parent_refs: Some(vec![{
                                let p = self.parent(Some(&listener_name("tls", fqdn)));
                                TlsRouteParentRefs {
                                    group: p.group,
                                    kind: p.kind,
                                    name: p.name,
                                    namespace: p.namespace,
                                    port: None,
                                    section_name: p.section_name,
                                }
                            }]),
                            rules: vec![TlsRouteRules {
                                backend_refs,
                                name: None,
                            }],
                        },
                    ));
                    if let Some(last) = tls_routes.last_mut() {
                        last.metadata.namespace = Some(tcp.source.namespace.clone());
                    }
                }
            }
            // HTTP routes, by the IngressRoute that declared them.
            for route in &vhost.routes {
                self.route_warnings(route, &mut policies);
                let secure_rule = self.rule(route, false);
                // On a TLS host the HTTPS listener serves every route; the HTTP listener
                // redirects, except permitInsecure routes.
                let (main_section, plain) = if https {
                    let rule = if route.https_redirect {
                        self.rule(route, true)
                    } else {
                        secure_rule.clone()
                    };
                    (listener_name("https", fqdn), Some(rule))
                } else {
                    (listener_name("http", fqdn), None)
                };
                for (insecure, rule, section) in [(false, Some(secure_rule), main_section)]
                    .into_iter()
                    .chain(plain.map(|rule| (true, Some(rule), listener_name("http", fqdn))))
                {
                    let builder = routes.entry(((*route.source).clone(), insecure)).or_default();
                    builder.hostnames.insert(fqdn.to_ascii_lowercase());
                    builder.sections.insert(section);
                    let Some(rule) = rule else { continue };
                    // A child served on several hosts: one rule per prefix, which must be
                    // the same on every host (it is, unless the hosts differ in TLS).
                    match builder.rules.iter().find(|r| r.matches == rule.matches) {
                        None => builder.rules.push(rule),
                        Some(existing) if *existing == rule => {}
                        Some(_) => conflicts.push((route.clone(), fqdn.to_owned())),
                    }
                }
            }
        }
        for (route, fqdn) in conflicts {
            let field = self
                .route_index(&route)
                .map_or_else(|| "spec.routes".to_owned(), |i| format!("spec.routes[{i}]"));
            self.warn(
                &route.source,
                field,
                format!(
                    "served differently on {} than on another host (TLS redirect or not), and an HTTPRoute rule is the same for all its hostnames: converted as on the first host",
                    go_quote(&fqdn)
                ),
            );
        }
        if listeners.list.len() > MAX_LISTENERS && !self.options.existing {
            self.warn(
                &gateway,
                "spec.listeners",
                format!(
                    "{} listeners, and a Gateway holds at most {MAX_LISTENERS}: split the hosts over several Gateways (or ListenerSets)",
                    listeners.list.len()
                ),
            );
        }
        for (source, insecure) in routes.keys() {
            let clash = ObjectRef::new(source.namespace.clone(), format!("{}-http", source.name));
            if *insecure && routes.contains_key(&(clash.clone(), false)) {
                self.warn(
                    source,
                    "",
                    format!(
                        "its HTTPRoute for plain HTTP is named {clash}, like the HTTPRoute of IngressRoute {clash}: rename one of them"
                    ),
                );
            }
        }
        let mut objects = Vec::new();
        if !self.options.existing {
            let mut gateway_object = Gateway::new(
                &gateway.name,
                GatewaySpec {
                    gateway_class_name: self.options.class.clone(),
                    listeners: listeners.list,
                    ..GatewaySpec::default()
                },
            );
            gateway_object.metadata.namespace = Some(gateway.namespace.clone());
            objects.push(Object::Gateway(Box::new(gateway_object)));
        }
        for ((source, insecure), builder) in routes {
            if builder.rules.len() > MAX_RULES {
                self.warn(
                    &source,
                    "spec.routes",
                    format!(
                        "{} rules, and an HTTPRoute holds at most {MAX_RULES}: split the IngressRoute's routes over several HTTPRoutes",
                        builder.rules.len()
                    ),
                );
            }
            let name = if insecure {
                format!("{}-http", source.name)
            } else {
                source.name.clone()
            };
            let mut route = HttpRoute::new(
                &name,
                HttpRouteSpec {
                    hostnames: Some(builder.hostnames.into_iter().collect()),
                    parent_refs: Some(builder.sections.iter().map(|s| self.parent(Some(s))).collect()),
                    rules: Some(builder.rules),
                },
            );
            route.metadata.namespace = Some(source.namespace.clone());
            objects.push(Object::HttpRoute(Box::new(route)));
        }
        objects.extend(tls_routes.into_iter().map(|r| Object::TlsRoute(Box::new(r))));
        objects.extend(policies.into_values().map(|p| Object::BackendTlsPolicy(Box::new(p))));
        for (namespace, secrets) in grants {
            let mut grant = ReferenceGrant::new(
                &format!("{}-{}-tls", gateway.namespace, gateway.name),
                ReferenceGrantSpec {
                    from: vec![ReferenceGrantFrom {
                        group: GROUP.to_owned(),
                        kind: "Gateway".to_owned(),
                        namespace: gateway.namespace.clone(),
                    }],
                    to: secrets
                        .into_iter()
                        .map(|name| ReferenceGrantTo {
                            group: String::new(),
                            kind: "Secret".to_owned(),
                            name: Some(name),
                        })
                        .collect(),
                },
            );
            grant.metadata.namespace = Some(namespace);
            objects.push(Object::ReferenceGrant(Box::new(grant)));
        }
        objects.sort_by(|a, b| a.key().cmp(&b.key()));
        self.warnings.sort_by(|a, b| a.object.cmp(&b.object));
        objects
    }

    /// The rule of a served route: its PathPrefix, backends, rewrite and timeout; or,
    /// with `redirect`, the 301 to HTTPS in its place.
    fn rule(&self, route: &ServedRoute, redirect: bool) -> HttpRouteRules {
        let matches = Some(vec![HttpRouteRulesMatches {
            path: Some(HttpRouteRulesMatchesPath {
                r#type: Some(HttpRouteRulesMatchesPathType::PathPrefix),
                value: Some(route.prefix.clone()),
            }),
            ..HttpRouteRulesMatches::default()
        }]);
        if redirect {
            return HttpRouteRules {
                filters: Some(vec![HttpRouteRulesFilters {
                    r#type: HttpRouteRulesFiltersType::RequestRedirect,
                    request_redirect: Some(HttpRouteRulesFiltersRequestRedirect {
                        scheme: Some(HttpRouteRulesFiltersRequestRedirectScheme::Https),
                        status_code: Some(301),
                        ..HttpRouteRulesFiltersRequestRedirect::default()
                    }),
                    ..HttpRouteRulesFilters::default()
                }]),
                matches,
                ..HttpRouteRules::default()
            };
        }
        let backend_refs = route
            .clusters
            .iter()
            .map(|c| {
                let (name, port, weight) = backend(c, &route.clusters);
                HttpRouteRulesBackendRefs {
                    name,
                    port: Some(port),
                    weight,
                    ..HttpRouteRulesBackendRefs::default()
                }
            })
            .collect();
        let filters = route.prefix_rewrite.as_ref().map(|replacement| {
            vec![HttpRouteRulesFilters {
                r#type: HttpRouteRulesFiltersType::UrlRewrite,
                url_rewrite: Some(HttpRouteRulesFiltersUrlRewrite {
                    hostname: None,
                    path: Some(HttpRouteRulesFiltersUrlRewritePath {
                        r#type: HttpRouteRulesFiltersUrlRewritePathType::ReplacePrefixMatch,
                        replace_prefix_match: Some(replacement.clone()),
                        replace_full_path: None,
                    }),
                }),
                ..HttpRouteRulesFilters::default()
            }]
        });
        let timeouts = match route.timeout {
            Timeout::Default => None,
            Timeout::Infinite => Some("0s".to_owned()),
            Timeout::Duration(d) => Some(gateway_duration(d)),
        }
        .map(|request| HttpRouteRulesTimeouts {
            request: Some(request),
            backend_request: None,
        });
        HttpRouteRules {
            backend_refs: Some(backend_refs),
            filters,
            matches,
            timeouts,
            ..HttpRouteRules::default()
        }
    }

    /// What Gateway API core cannot say about a served route, as warnings on its
    /// IngressRoute's fields; BackendTLSPolicies for its validated upstreams.
    fn route_warnings(&mut self, route: &ServedRoute, policies: &mut BTreeMap<ObjectRef, BackendTlsPolicy>) {
        let object = route.source.clone();
        let field = match self.route_index(route) {
            Some(index) => format!("spec.routes[{index}]"),
            None => "spec.routes".to_owned(),
        };
        if route.prefix != "/" {
            let prefix = go_quote(&route.prefix);
            let message = match route.prefix.strip_suffix('/') {
                Some(bare) => format!(
                    "IngressRoute's {prefix} did not match {}, Gateway API's PathPrefix {prefix} does (it ignores a trailing slash)",
                    go_quote(bare)
                ),
                None => format!(
                    "IngressRoute's {prefix} also matched {}, Gateway API's PathPrefix {prefix} matches whole path segments only, so such requests go to a shorter prefix",
                    go_quote(&format!("{}x", route.prefix))
                ),
            };
            self.warn(&object, format!("{field}.match"), message);
        }
        if route.websocket {
            self.warn(
                &object,
                format!("{field}.enableWebsockets"),
                "websocket upgrades are implementation-specific in Gateway API (most implementations allow them)",
            );
        }
        if route.retry.is_some() {
            self.warn(
                &object,
                format!("{field}.retryPolicy"),
                "retries are not in Gateway API's standard channel (HTTPRoute retry is experimental); dropped",
            );
        }
        if route.prefix_rewrite.as_deref() == Some("/") && !route.prefix.ends_with('/') {
            self.warn(
                &object,
                format!("{field}.prefixRewrite"),
                format!(
                    "\"/\" after {}: IngressRoute forwarded {} as {}, Gateway API's ReplacePrefixMatch gives {}",
                    go_quote(&route.prefix),
                    go_quote(&format!("{}/x", route.prefix)),
                    go_quote("//x"),
                    go_quote("/x")
                ),
            );
        }
        for (index, weighted) in route.clusters.iter().enumerate() {
            let service_field = format!("{field}.services[{index}]");
            let cluster = &weighted.cluster;
            if cluster.health_check.is_some() {
                self.warn(
                    &object,
                    format!("{service_field}.healthCheck"),
                    "active health checks have no Gateway API equivalent; dropped",
                );
            }
            match cluster.load_balancer() {
                LoadBalancer::RoundRobin => {}
                LoadBalancer::Cookie => self.warn(
                    &object,
                    format!("{service_field}.strategy"),
                    "cookie session affinity is not in Gateway API's standard channel (sessionPersistence is experimental); dropped",
                ),
                other => self.warn(
                    &object,
                    format!("{service_field}.strategy"),
                    format!("{other:?} load balancing has no Gateway API equivalent; dropped"),
                ),
            }
            let service = &cluster.service;
            if service.circuit_breakers.is_set() {
                self.warn(
                    &object,
                    &service_field,
                    format!(
                        "Service {}'s circuit-breaker limits (max-* annotations) have no Gateway API equivalent; dropped",
                        service.meta
                    ),
                );
            }
            if service.external_name.is_some() {
                self.warn(
                    &object,
                    &service_field,
                    format!(
                        "Service {} is an ExternalName Service: implementation-specific as a backendRef",
                        service.meta
                    ),
                );
            }
            match cluster.port.protocol {
                Some(UpstreamProtocol::H2c) => self.warn(
                    &object,
                    &service_field,
                    format!(
                        "h2c to Service {} port {}: Gateway API reads it from the port's appProtocol: set appProtocol: kubernetes.io/h2c",
                        service.meta, cluster.port.port
                    ),
                ),
                Some(protocol) if protocol.is_tls() => match &cluster.validation {
                    Some(validation) => {
                        let key = ObjectRef::new(
                            service.meta.namespace.clone(),
                            format!("{}-{}", service.meta.name, cluster.port.port),
                        );
                        let ca = &validation.ca_secret.meta;
                        self.warn(
                            &object,
                            format!("{service_field}.validation"),
                            format!(
                                "BackendTLSPolicy {key} reads the CA from ConfigMap {ca}: create it with the ca.crt of Secret {ca}{}",
                                if protocol == UpstreamProtocol::H2 {
                                    "; h2 is negotiated only if the implementation offers ALPN h2"
                                } else {
                                    ""
                                }
                            ),
                        );
                        let mut policy = BackendTlsPolicy::new(
                            &key.name,
                            BackendTlsPolicySpec {
                                options: None,
                                target_refs: vec![BackendTlsPolicyTargetRefs {
                                    group: String::new(),
                                    kind: "Service".to_owned(),
                                    name: service.meta.name.clone(),
                                    section_name: Some(cluster.port.name.clone()).filter(|n| !n.is_empty()),
                                }],
                                validation: BackendTlsPolicyValidation {
                                    ca_certificate_refs: Some(vec![BackendTlsPolicyValidationCaCertificateRefs {
                                        group: String::new(),
                                        kind: "ConfigMap".to_owned(),
                                        name: ca.name.clone(),
                                    }]),
                                    hostname: validation.subject_name.clone(),
                                    subject_alt_names: None,
                                    well_known_ca_certificates: None,
                                },
                            },
                        );
                        policy.metadata.namespace = Some(key.namespace.clone());
                        policies.insert(key, policy);
                    }
                    None => self.warn(
                        &object,
                        &service_field,
                        format!(
                            "TLS to Service {} port {} without validation: Gateway API core has no unverified upstream TLS (a BackendTLSPolicy needs a CA)",
                            service.meta, cluster.port.port
                        ),
                    ),
                },
                _ => {}
            }
        }
    }
}

/// A backend's Service name, port and weight; weights are left out when all are zero
/// (IngressRoute split evenly, Gateway API's default weight 1 does the same).
fn backend(cluster: &WeightedCluster, all: &[WeightedCluster]) -> (String, i32, Option<i32>) {
    let weight = if all.iter().all(|c| c.weight == 0) {
        None
    } else {
        Some(i32::try_from(cluster.weight).unwrap_or(i32::MAX))
    };
    (
        cluster.cluster.service.meta.name.clone(),
        cluster.cluster.port.port,
        weight,
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn durations_are_written_in_gateway_api_units() {
        assert_eq!(gateway_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(gateway_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(gateway_duration(Duration::from_secs(3_661)), "1h1m1s");
        assert_eq!(gateway_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn listener_names_are_subdomains() {
        assert_eq!(listener_name("https", "Foo.Example.com"), "https-foo.example.com");
    }
}
