//! From the API's types to the served model: routes, clusters, health checks,
//! timeouts and retries, with every value checked so that Envoy accepts what is served.
//!
//! Each function here looks at one route or tcpproxy of one object; which objects are
//! evaluated, and against which prefix, is the walk's business.

use std::sync::{Arc, Weak};
use std::time::Duration;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use ingressroute_api::{self as api, IngressRoute};

use super::{Builder, Check, Finding};
use crate::duration::parse_go_duration;
use crate::external_name::is_refused_external_name;
use crate::model::{
    Cluster, ServedHealthCheck, ServedRetryPolicy, ServedRoute, ServedUpstreamValidation, Timeout, WeightedCluster,
};
use crate::status::{Reason, messages};
use crate::{K8sService, ObjectRef, Objects, ServicePort};

/// Envoy's largest protobuf `Duration` in seconds is far larger, but Go's
/// `time.Duration` (whose rendering names clusters) ends here.
const MAX_SECONDS: i64 = i64::MAX / 1_000_000_000;
const MAX_U32: i64 = u32::MAX as i64;

/// The upstreams without health check or validation, so that every route to the same
/// upstream shares one [`Cluster`] instead of holding its own copy (40,000 served routes
/// at dataset L, to 10,000 Services). A full build keeps one for its walk; an
/// incremental build keeps one across all its root walks and updates.
///
/// Clusters are held weakly: one lives as long as a served route holds it, and a live
/// one keeps its Service alive, so the address of a [`ServicePort`] inside that Service
/// names the same port for as long as the entry can be upgraded. Dead entries are
/// swept when the map has doubled since the last sweep.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlainClusters {
    /// By the address of the port inside its Service: the clusters of each strategy
    /// (most ports have one).
    by_port: FxHashMap<usize, SmallVec<[Weak<Cluster>; 1]>>,
    /// The number of ports after the last sweep.
    swept: usize,
}

impl PlainClusters {
    /// The cluster of `port` of `service` with `strategy`, no health check and no
    /// validation: the one already held by some route, or a new one.
    pub(crate) fn get(
        &mut self,
        service: &Arc<K8sService>,
        port: &ServicePort,
        strategy: Option<&str>,
    ) -> Arc<Cluster> {
        let clusters = self.by_port.entry(std::ptr::from_ref(port) as usize).or_default();
        let found = clusters.iter().find_map(|weak| {
            weak.upgrade()
                .filter(|c| Arc::ptr_eq(&c.service, service) && c.strategy.as_deref() == strategy)
        });
        if let Some(cluster) = found {
            return cluster;
        }
        clusters.retain(|weak| weak.strong_count() > 0);
        let cluster = Arc::new(Cluster {
            service: Arc::clone(service),
            port: port.clone(),
            strategy: strategy.map(str::to_owned),
            health_check: None,
            validation: None,
        });
        clusters.push(Arc::downgrade(&cluster));
        if self.by_port.len() > 2 * self.swept.max(1024) {
            self.by_port.retain(|_, clusters| {
                clusters.retain(|weak| weak.strong_count() > 0);
                !clusters.is_empty()
            });
            self.by_port.shrink_to_fit();
            self.swept = self.by_port.len();
        }
        cluster
    }
}

impl<'a> Builder<'a> {
    /// Looks up a Service, noting that the build depends on it, found or not.
    fn service(&mut self, namespace: &str, name: &str) -> Option<&'a Arc<K8sService>> {
        let objects: &'a Objects = self.objects;
        match objects.services.get(namespace, name) {
            Some(service) => {
                self.found_services.insert(Arc::as_ptr(service) as usize, service);
                Some(service)
            }
            None => {
                self.referenced_services.note(namespace, name);
                None
            }
        }
    }

    /// The clusters of a tcpproxy with services, checking every service.
    pub(super) fn tcp_clusters(
        &mut self,
        key: &ObjectRef,
        route: &IngressRoute,
        tcp: &api::TcpProxy,
    ) -> Check<Vec<WeightedCluster>> {
        let mut clusters = Vec::with_capacity(tcp.services.len());
        let mut total: i64 = 0;
        for s in &tcp.services {
            let found = self
                .service(&key.namespace, &s.name)
                .and_then(|svc| Some((svc, svc.port(s.port)?)));
            let Some((service, port)) = found else {
                return Err(Finding::new(
                    Reason::ServiceNotFound,
                    messages::tcpproxy_service_not_found(&key.namespace, &s.name, s.port),
                ));
            };
            let weight = s.weight.unwrap_or(0);
            if weight < 0 {
                return Err(Finding::new(
                    Reason::InvalidWeight,
                    messages::tcpproxy_negative_weight(&s.name),
                ));
            }
            total = total.saturating_add(weight);
            if total > MAX_U32 {
                return Err(Finding::new(
                    Reason::InvalidWeight,
                    messages::tcpproxy_total_weight_too_large(),
                ));
            }
            if let Some(host) = &service.external_name
                && is_refused_external_name(host, self.config.allow_loopback_external_names)
            {
                return Err(Finding::new(
                    Reason::ExternalNameNotAllowed,
                    messages::tcpproxy_external_name_not_allowed(&s.name, host),
                ));
            }
            let cluster = Cluster {
                service: Arc::clone(service),
                port: port.clone(),
                strategy: s
                    .strategy
                    .clone()
                    .or_else(|| route.spec.strategy.as_deref().map(str::to_owned)),
                health_check: None,
                validation: None,
            };
            clusters.push(WeightedCluster {
                cluster: Arc::new(cluster),
                weight: u32::try_from(weight).unwrap_or(0),
            });
        }
        Ok(clusters)
    }

    /// Builds one route with services ([behaviour §3.5](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s3-5)), checking every service.
    pub(super) fn route(
        &mut self,
        node: usize,
        key: &ObjectRef,
        ir: &'a IngressRoute,
        r: &'a api::Route,
        https: bool,
    ) -> Check<ServedRoute> {
        let m = r.match_.as_str();
        let mut clusters = Vec::with_capacity(r.services.len());
        let mut total: i64 = 0;
        for s in &r.services {
            if !(1..=65535).contains(&s.port) {
                return Err(Finding::new(
                    Reason::PortOutOfRange,
                    messages::port_out_of_range(m, &s.name),
                ));
            }
            let weight = s.weight.unwrap_or(0);
            if weight < 0 {
                return Err(Finding::new(
                    Reason::InvalidWeight,
                    messages::negative_weight(m, &s.name),
                ));
            }
            let found = self
                .service(&key.namespace, &s.name)
                .and_then(|svc| Some((svc, svc.port(s.port)?)));
            let Some((service, port)) = found else {
                return Err(Finding::new(
                    Reason::ServiceNotFound,
                    messages::service_not_found(&s.name, s.port),
                ));
            };
            if let Some(host) = &service.external_name
                && is_refused_external_name(host, self.config.allow_loopback_external_names)
            {
                return Err(Finding::new(
                    Reason::ExternalNameNotAllowed,
                    messages::external_name_not_allowed(m, &s.name, host),
                ));
            }
            let validation = match (&s.validation, port.protocol) {
                (Some(v), Some(protocol)) if protocol.is_tls() => Some(Box::new(self.validation(key, m, &s.name, v)?)),
                _ => None,
            };
            let health_check = match s.health_check.as_deref().or(ir.spec.health_check.as_deref()) {
                Some(hc) => Some(Box::new(health_check(m, &s.name, hc)?)),
                None => None,
            };
            total = total.saturating_add(weight);
            if total > MAX_U32 {
                return Err(Finding::new(Reason::InvalidWeight, messages::total_weight_too_large(m)));
            }
            let strategy = s.strategy.as_deref().or(ir.spec.strategy.as_deref());
            let cluster = if health_check.is_none() && validation.is_none() {
                self.plain_clusters.get(service, port, strategy)
            } else {
                Arc::new(Cluster {
                    service: Arc::clone(service),
                    port: port.clone(),
                    strategy: strategy.map(str::to_owned),
                    health_check,
                    validation,
                })
            };
            clusters.push(WeightedCluster {
                cluster,
                weight: u32::try_from(weight).unwrap_or(0),
            });
        }
        if r.prefix_rewrite.chars().any(char::is_control) {
            return Err(Finding::new(
                Reason::InvalidValue,
                messages::control_characters(m, "prefixRewrite"),
            ));
        }
        let timeout = timeout(m, r.timeout_policy.as_deref())?;
        let retry = retry(m, r.retry_policy.as_deref())?;
        let permit_insecure = r.permit_insecure && !self.config.disable_permit_insecure;
        let source = self.source(node).unwrap_or_else(|| Arc::new(key.clone()));
        Ok(ServedRoute {
            prefix: r.match_.clone(),
            clusters,
            websocket: r.enable_websockets,
            prefix_rewrite: Some(r.prefix_rewrite.clone()).filter(|p| !p.is_empty()),
            timeout,
            retry: retry.map(Box::new),
            https_redirect: https && !permit_insecure,
            source,
        })
    }

    /// Upstream validation (decision [D3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d3)): the CA Secret is looked up in the
    /// IngressRoute's own namespace (decision [D16](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d16)).
    fn validation(
        &mut self,
        key: &ObjectRef,
        m: &str,
        service: &str,
        v: &api::UpstreamValidation,
    ) -> Check<ServedUpstreamValidation> {
        self.referenced_secrets.note(&key.namespace, &v.ca_secret);
        let Some(ca) = self
            .objects
            .secrets
            .get(&key.namespace, &v.ca_secret)
            .filter(|s| s.ca.is_some())
        else {
            return Err(Finding::new(
                Reason::UpstreamValidation,
                messages::validation_secret(m, service),
            ));
        };
        let subject = v.subject_name.as_str();
        if subject.trim().is_empty() || subject.chars().any(char::is_control) || subject.len() > 255 {
            return Err(Finding::new(
                Reason::UpstreamValidation,
                messages::validation_subject_name(m, service),
            ));
        }
        Ok(ServedUpstreamValidation {
            ca_secret: Arc::clone(ca),
            subject_name: subject.to_owned(),
        })
    }
}

fn timeout(m: &str, policy: Option<&api::TimeoutPolicy>) -> Check<Timeout> {
    let Some(value) = policy.and_then(|p| p.request.as_deref()).filter(|v| !v.is_empty()) else {
        return Ok(Timeout::Default);
    };
    if value == "infinity" || value == "infinite" {
        return Ok(Timeout::Infinite);
    }
    match parse_go_duration(value) {
        Ok(nanos) if nanos > 0 => Ok(Timeout::Duration(Duration::from_nanos(nanos.unsigned_abs()))),
        Ok(_) => Ok(Timeout::Infinite),
        Err(_) => Err(Finding::new(
            Reason::InvalidDuration,
            messages::invalid_duration(m, "timeoutPolicy.request", value),
        )),
    }
}

fn retry(m: &str, policy: Option<&api::RetryPolicy>) -> Check<Option<ServedRetryPolicy>> {
    let Some(policy) = policy else { return Ok(None) };
    let count = policy.count.unwrap_or(0);
    if count < 0 {
        return Err(Finding::new(
            Reason::InvalidValue,
            messages::route_field_negative(m, "retryPolicy.count"),
        ));
    }
    let count = u32::try_from(count)
        .map_err(|_| {
            Finding::new(
                Reason::InvalidValue,
                messages::route_field_too_large(m, "retryPolicy.count", u32::MAX.into()),
            )
        })?
        .max(1);
    let per_try_timeout = match policy.per_try_timeout.as_deref().filter(|v| !v.is_empty()) {
        None | Some("infinity" | "infinite") => None,
        Some(value) => match parse_go_duration(value) {
            Ok(nanos) if nanos > 0 => Some(Duration::from_nanos(nanos.unsigned_abs())),
            Ok(_) => None,
            Err(_) => {
                return Err(Finding::new(
                    Reason::InvalidDuration,
                    messages::invalid_duration(m, "retryPolicy.perTryTimeout", value),
                ));
            }
        },
    };
    Ok(Some(ServedRetryPolicy { count, per_try_timeout }))
}

fn health_check(m: &str, service: &str, hc: &api::HealthCheck) -> Check<ServedHealthCheck> {
    if hc.path.is_empty() {
        return Err(Finding::new(
            Reason::InvalidValue,
            messages::health_check_path_empty(m, service),
        ));
    }
    for (field, value) in [
        ("healthCheck.path", Some(&hc.path)),
        ("healthCheck.host", hc.host.as_ref()),
    ] {
        if value.is_some_and(|v| v.chars().any(char::is_control)) {
            return Err(Finding::new(
                Reason::InvalidValue,
                messages::service_control_characters(m, service, field),
            ));
        }
    }
    let number = |field: &str, value: Option<i64>, max: i64| -> Check<u64> {
        let value = value.unwrap_or(0);
        if value < 0 {
            return Err(Finding::new(
                Reason::InvalidValue,
                messages::service_field_negative(m, service, field),
            ));
        }
        if value > max {
            return Err(Finding::new(
                Reason::InvalidValue,
                messages::service_field_too_large(m, service, field, max.unsigned_abs()),
            ));
        }
        Ok(value.unsigned_abs())
    };
    let interval_seconds = number("healthCheck.intervalSeconds", hc.interval_seconds, MAX_SECONDS)?;
    let timeout_seconds = number("healthCheck.timeoutSeconds", hc.timeout_seconds, MAX_SECONDS)?;
    let unhealthy = number(
        "healthCheck.unhealthyThresholdCount",
        hc.unhealthy_threshold_count,
        MAX_U32,
    )?;
    let healthy = number("healthCheck.healthyThresholdCount", hc.healthy_threshold_count, MAX_U32)?;
    Ok(ServedHealthCheck {
        path: hc.path.clone(),
        host: hc.host.clone().filter(|h| !h.is_empty()),
        interval_seconds,
        timeout_seconds,
        unhealthy_threshold: u32::try_from(unhealthy).unwrap_or(u32::MAX),
        healthy_threshold: u32::try_from(healthy).unwrap_or(u32::MAX),
    })
}
