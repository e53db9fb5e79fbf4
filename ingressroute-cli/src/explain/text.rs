//! The human form of an [`Explanation`]: one step per line, a label and what it says,
//! the model behind it indented below. Control characters in names are escaped as in
//! `check`'s table.

use std::fmt::Write as _;

use super::{Explanation, ServiceStep};
use crate::output::escape_control;

const WIDTH: usize = 14;

fn line(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "{label:<WIDTH$}{}", escape_control(value));
}

fn more(out: &mut String, value: &str) {
    line(out, "", &format!("  {value}"));
}

/// The explanation as text, ending with a newline.
pub(crate) fn render(e: &Explanation) -> String {
    let mut out = String::new();
    line(&mut out, "request", &e.url);
    let outcome = match e.status {
        Some(status) => format!("{} ({status})", e.outcome.as_str()),
        None => e.outcome.as_str().to_owned(),
    };
    line(&mut out, "outcome", &outcome);
    if let Some(reason) = &e.reason {
        line(&mut out, "reason", reason);
    }
    match &e.listener {
        Some(listener) => {
            let mut text = listener.name.clone();
            if let Some(address) = &listener.address {
                let _ = write!(text, " on {address}");
            }
            line(&mut out, "listener", &text);
            if let Some(tls) = &listener.tls {
                let mut chain = format!("filter chain for {}: TLS {tls}", listener.server_names.join(", "));
                if let Some(version) = &listener.minimum_tls_version {
                    let _ = write!(chain, ", minimum TLS {version}");
                }
                if let Some(secret) = &listener.secret {
                    let _ = write!(chain, ", certificate {secret}");
                }
                more(&mut out, &chain);
            }
        }
        None => line(&mut out, "listener", "none"),
    }
    if let Some(vhost) = &e.virtual_host {
        let mut text = vhost.fqdn.clone();
        if vhost.tcp_proxy {
            text.push_str(" (tcpproxy)");
        } else if vhost.tls {
            text.push_str(" (TLS)");
        }
        line(&mut out, "virtual host", &text);
        if let Some(configuration) = &vhost.route_configuration {
            let mut text = format!("route configuration {configuration}");
            if let Some(scope) = &vhost.scope {
                let _ = write!(text, " (scope {scope})");
            }
            more(&mut out, &text);
        }
        match (&vhost.root, &vhost.root_status) {
            (Some(root), Some(status)) => line(&mut out, "root", &format!("{root} ({status})")),
            (Some(root), None) => line(&mut out, "root", root),
            _ => line(&mut out, "root", "none"),
        }
    }
    if let Some(route) = &e.route {
        line(
            &mut out,
            "route",
            &format!("#{} prefix {} ({})", route.index, route.r#match, route.action),
        );
        if let Some(location) = &route.location {
            more(&mut out, &format!("301 to {location}"));
        }
        if route.permit_insecure {
            more(&mut out, "permitInsecure: served on plain HTTP");
        }
    }
    for (i, step) in e.chain.iter().enumerate() {
        let label = if i == 0 { "chain" } else { "" };
        let arrow = if i == 0 { "" } else { "-> " };
        let r#match = step
            .r#match
            .as_deref()
            .map(|m| format!(" match {m}"))
            .unwrap_or_default();
        line(
            &mut out,
            label,
            &format!("{arrow}{}/{}{match} ({})", step.namespace, step.name, step.status),
        );
    }
    if let Some(route) = &e.route
        && route.action == "route"
    {
        if let Some(path) = &route.rewritten_path {
            let text = match &route.prefix_rewrite {
                Some(rewrite) => format!("{path} (prefixRewrite {rewrite})"),
                None => path.clone(),
            };
            line(&mut out, "upstream path", &text);
        }
        if let Some(timeout) = &route.timeout {
            line(&mut out, "timeout", timeout);
        }
        let retries = match &route.retries {
            Some(r) => {
                let mut text = format!("{} on {}", r.count, r.retry_on);
                if let Some(per_try) = &r.per_try_timeout {
                    let _ = write!(text, ", {per_try} per try");
                }
                text
            }
            None => "none".to_owned(),
        };
        line(&mut out, "retries", &retries);
        line(&mut out, "websockets", if route.websockets { "yes" } else { "no" });
    }
    for (i, service) in e.services.iter().enumerate() {
        service_lines(&mut out, if i == 0 { "services" } else { "" }, service);
    }
    for note in &e.notes {
        line(&mut out, "note", note);
    }
    out
}

fn service_lines(out: &mut String, label: &str, s: &ServiceStep) {
    line(
        out,
        label,
        &format!(
            "{}/{} port {}: weight {}, {:.0}% of traffic",
            s.namespace,
            s.name,
            s.port,
            s.weight,
            s.share * 100.0
        ),
    );
    let mut cluster = format!("cluster {}", s.cluster);
    if let Some(discovery) = &s.discovery {
        let _ = write!(cluster, " ({discovery}");
        if let Some(eds) = &s.eds_name {
            let _ = write!(cluster, " {eds}");
        }
        cluster.push(')');
    }
    if let Some(protocol) = &s.protocol {
        let _ = write!(cluster, ", {protocol}");
    }
    more(out, &cluster);
    let mut lb = format!("load balancing {}", s.lb_policy.as_deref().unwrap_or("unknown"));
    if let Some(strategy) = &s.strategy {
        let _ = write!(lb, " (strategy {strategy})");
    }
    more(out, &lb);
    if let Some(check) = &s.health_check {
        let mut text = format!(
            "health check {} every {}s, timeout {}s, unhealthy after {}, healthy after {}",
            check.path,
            check.interval_seconds,
            check.timeout_seconds,
            check.unhealthy_threshold,
            check.healthy_threshold
        );
        if let Some(host) = &check.host {
            let _ = write!(text, ", Host {host}");
        }
        more(out, &text);
    }
    if let Some(tls) = &s.upstream_tls {
        let mut text = "upstream TLS".to_owned();
        if let Some(sni) = &tls.sni {
            let _ = write!(text, ", SNI {sni}");
        }
        if tls.validated {
            let _ = write!(text, ", validated for {}", tls.subject_names.join(", "));
            if let Some(ca) = &s.validation_ca {
                let _ = write!(text, " against CA {ca}");
            }
        } else {
            text.push_str(", not validated");
        }
        more(out, &text);
    }
    let endpoints = if s.endpoints.is_empty() {
        "none".to_owned()
    } else {
        s.endpoints.join(", ")
    };
    more(out, &format!("endpoints {endpoints}"));
}
