//! Why nothing serves a request, in terms of the IngressRoutes: no root for the fqdn, an
//! invalid root, an fqdn claimed twice, no matching route, or a match that only an
//! IngressRoute that is not valid (or a delegation to one that does not exist) has.

use ingressroute_dag::{CurrentStatus, ObjectRef, TlsMode};

use super::envoy::Missing;
use super::model::{self, Model};
use super::request::{Request, Scheme};
use super::{Explanation, object_name};

/// The reason Envoy stopped, in terms of the model.
pub(super) fn stop_reason(
    stop: &Missing,
    request: &Request,
    fqdn: &str,
    served: Option<&ingressroute_dag::ServedVirtualHost>,
    roots: &[(ObjectRef, CurrentStatus, String, bool)],
) -> String {
    let host = &request.host;
    if let Missing::Route = stop {
        return format!("no route of {fqdn} matches the path {}", request.path);
    }
    if let Missing::RouteConfiguration(name) = stop {
        return format!("the route configuration {name} is missing from the resources");
    }
    let duplicates: Vec<String> = roots.iter().filter(|r| r.3).map(|r| object_name(&r.0)).collect();
    if !duplicates.is_empty() {
        let description = roots.iter().find(|r| r.3).map(|r| r.2.clone()).unwrap_or_default();
        return format!(
            "the fqdn {host} is claimed twice, by {}: {description}",
            duplicates.join(" and ")
        );
    }
    if let Some((root, status, description, _)) = roots.iter().find(|r| r.1 != CurrentStatus::Valid) {
        return format!(
            "the root IngressRoute {} of {host} is {}: {description}",
            object_name(root),
            status.as_str()
        );
    }
    if let Some(vhost) = served {
        let secure = vhost.secure.as_ref();
        return match (request.scheme, secure) {
            (Scheme::Http, Some(s)) if s.tcp_proxy.is_some() || matches!(s.tls, TlsMode::Passthrough) => format!(
                "{host} is a TLS {} virtual host of {}: it is served on https only",
                if s.tcp_proxy.is_some() {
                    "tcpproxy"
                } else {
                    "passthrough"
                },
                object_name(&vhost.root)
            ),
            (Scheme::Https, None) => format!(
                "{host} has no TLS (spec.virtualhost.tls) in its root {}: it is served on http only, and Envoy \
                 closes a TLS connection for it",
                object_name(&vhost.root)
            ),
            _ => format!(
                "the root {} of {host} serves nothing on this listener",
                object_name(&vhost.root)
            ),
        };
    }
    if let Some((root, ..)) = roots.first() {
        return format!(
            "the root IngressRoute {} of {host} is valid but has no route served on this listener",
            object_name(root)
        );
    }
    match (stop, request.scheme) {
        (Missing::FilterChain | Missing::Listener, Scheme::Https) => {
            format!("no root IngressRoute has fqdn {host} with TLS: Envoy closes the TLS connection")
        }
        _ => format!("no root IngressRoute has fqdn {host}"),
    }
}

/// Names the IngressRoutes that are not valid and would have matched: as the reason of a
/// 404 (`matched` `None`), or as a note when a shorter route serves instead.
pub(super) fn not_served_candidates(
    explanation: &mut Explanation,
    model: &Model<'_>,
    root: Option<&ObjectRef>,
    path: &str,
    matched: Option<&str>,
) {
    let candidates = model.candidates(root, path);
    let longer = |c: &&model::Candidate| matched.is_none_or(|m| c.r#match.len() > m.len());
    let mut unserved: Vec<String> = candidates
        .iter()
        .filter(longer)
        .map(|c| {
            format!(
                "IngressRoute {} ({}: {}) has the route {}",
                object_name(&c.object),
                c.status.as_str(),
                c.description,
                c.r#match
            )
        })
        .collect();
    if let Some(root) = root {
        unserved.extend(
            model
                .missing_delegates(root, path)
                .into_iter()
                .filter(|(_, m, _)| matched.is_none_or(|matched| m.len() > matched.len()))
                .map(|(object, m, target)| {
                    format!(
                        "IngressRoute {} delegates {m} to {}, which does not exist",
                        object_name(&object),
                        object_name(&target)
                    )
                }),
        );
    }
    if matched.is_none() {
        let mut unserved = unserved.into_iter();
        if let Some(first) = unserved.next() {
            let reason = explanation.reason.get_or_insert_with(String::new);
            reason.push_str("; the only match is not served: ");
            reason.push_str(&first);
        }
        explanation
            .notes
            .extend(unserved.map(|c| format!("also not served: {c}")));
    } else {
        explanation.notes.extend(
            unserved
                .into_iter()
                .map(|c| format!("a longer match is not served: {c}")),
        );
    }
}
