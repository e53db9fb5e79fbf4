//! The rules only roots have: the root namespaces, unique fqdns, the fqdn itself, and
//! TLS (the Secret, and TLSCertificateDelegations for a Secret in another namespace).
//!
//! What a root's routes and tcpproxy do is checked by the walk, as for any object.

use std::collections::HashMap;
use std::sync::Arc;

use ingressroute_api as api;

use super::{Builder, Check, Finding};
use crate::ObjectRef;
use crate::model::{TlsMode, TlsVersion};
use crate::status::{Reason, messages};

impl Builder<'_> {
    /// The checks a root passes before it is walked: its namespace may hold roots, and no
    /// other admitted root has its fqdn. Records the finding of a root that fails.
    pub(super) fn admit_root(
        &mut self,
        node: usize,
        key: &ObjectRef,
        vhost: &api::VirtualHost,
        duplicates: &HashMap<usize, String>,
    ) -> bool {
        if !self.config.allows_root_in(&key.namespace) {
            self.record(
                node,
                Finding::new(
                    Reason::RootNamespaceNotAllowed,
                    messages::ROOT_NAMESPACE_NOT_ALLOWED.into(),
                ),
                None,
            );
            return false;
        }
        if let Some(description) = duplicates.get(&node) {
            self.record(
                node,
                Finding::new(Reason::DuplicateFqdn, description.clone()),
                Some(vhost.fqdn.clone()),
            );
            return false;
        }
        true
    }

    /// Roots that share an fqdn (ignoring ASCII case, as Envoy matches hosts), among those
    /// allowed by the root-namespace restriction (decision [D10](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d10)).
    pub(super) fn duplicate_fqdns(&self) -> HashMap<usize, String> {
        let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
        for (node, (key, route)) in self.routes.iter().enumerate() {
            if let Some(vhost) = &route.spec.virtualhost
                && self.config.allows_root_in(&key.namespace)
            {
                groups.entry(vhost.fqdn.to_ascii_lowercase()).or_default().push(node);
            }
        }
        let mut duplicates = HashMap::new();
        for nodes in groups.values().filter(|nodes| nodes.len() > 1) {
            let mut members: Vec<String> = nodes
                .iter()
                .filter_map(|n| self.routes.get(*n))
                .map(|(key, _)| key.to_string())
                .collect();
            members.sort();
            for node in nodes {
                if let Some(fqdn) = self.routes.get(*node).and_then(|(_, r)| r.spec.virtualhost.as_ref()) {
                    duplicates.insert(*node, messages::duplicate_fqdn(&fqdn.fqdn, &members));
                }
            }
        }
        duplicates
    }

    /// Phase B: fqdn and TLS. Returns the TLS mode, if any.
    pub(super) fn root_checks(&mut self, key: &ObjectRef, vhost: &api::VirtualHost) -> Check<Option<TlsMode>> {
        let fqdn = vhost.fqdn.as_str();
        if fqdn.trim().is_empty() {
            return Err(Finding::new(Reason::FqdnMissing, messages::FQDN_MISSING.into()));
        }
        if fqdn.contains('*') {
            return Err(Finding::new(Reason::FqdnWildcard, messages::fqdn_wildcard(fqdn)));
        }
        if fqdn
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "/\\\"#?@:[]<>{}|^`".contains(c))
        {
            return Err(Finding::new(Reason::FqdnInvalid, messages::fqdn_invalid(fqdn)));
        }
        let Some(tls) = &vhost.tls else { return Ok(None) };
        if tls.secret_name.is_empty() && tls.passthrough {
            return Ok(Some(TlsMode::Passthrough));
        }
        let (secret_ns, secret_name) = match tls.secret_name.split_once('/') {
            Some(("", name)) => (key.namespace.as_str(), name),
            Some((ns, name)) => (ns, name),
            None => (key.namespace.as_str(), tls.secret_name.as_str()),
        };
        self.referenced_secrets.note(secret_ns, secret_name);
        let secret = self
            .objects
            .secrets
            .get(secret_ns, secret_name)
            .filter(|s| s.tls.is_some());
        let Some(secret) = secret else {
            return Err(Finding::new(
                Reason::TlsSecretNotFound,
                messages::tls_secret_not_found(&tls.secret_name),
            ));
        };
        if secret_ns != key.namespace {
            self.consulted_delegations.push(secret_ns.to_owned());
        }
        if !self.delegation_permitted(secret_ns, secret_name, &key.namespace) {
            return Err(Finding::new(
                Reason::CertificateDelegationNotPermitted,
                messages::certificate_delegation_not_permitted(&tls.secret_name),
            ));
        }
        Ok(Some(TlsMode::Terminate {
            secret: Arc::clone(secret),
            minimum_protocol_version: TlsVersion::from_minimum_protocol_version(
                tls.minimum_protocol_version.as_deref(),
            ),
        }))
    }

    /// Whether IngressRoutes in `target_ns` may use Secret `secret_ns/secret_name`: the
    /// same namespace, or a TLSCertificateDelegation in the Secret's namespace naming the
    /// Secret and the target namespace or `*` (anywhere in the list, decision [D11](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d11)).
    fn delegation_permitted(&self, secret_ns: &str, secret_name: &str, target_ns: &str) -> bool {
        secret_ns == target_ns
            || self.objects.delegations.namespace(secret_ns).any(|d| {
                d.spec.delegations.iter().any(|entry| {
                    entry.secret_name == secret_name
                        && entry.target_namespaces.iter().any(|ns| ns == target_ns || ns == "*")
                })
            })
    }
}
