//! The checks the API server makes of `metadata.name` and `metadata.namespace` when an
//! object is created, as [`Finding`]s of kind [`FindingKind::Rejected`].
//!
//! ```text
//!  IngressRoute, TLSCertificateDelegation, Secret, Endpoints  name: DNS-1123 subdomain
//!  Service                                                    name: DNS-1035 label
//!  every kind                                                 namespace: DNS-1123 label
//! ```
//!
//! The rules are those of Kubernetes' `IsDNS1123Subdomain`, `IsDNS1123Label` and
//! `IsDNS1035Label`: lowercase letters, digits and `-` (and `.` between the labels of a
//! subdomain), starting and ending with a letter or digit (a DNS-1035 label starts with
//! a letter), at most 63 characters for a label and 253 for a subdomain.
//!
//! What this module does **not** do: check `generateName`, labels or annotations, which
//! no object here uses. It is our own because no maintained crate checks Kubernetes
//! names, and the rules fit in a screen.

use ingressroute_api::validate::{Finding, FindingKind};
use serde_json::Value;

use crate::load::Kind;

/// The longest DNS-1123 or DNS-1035 label.
const MAX_LABEL: usize = 63;

/// The longest DNS-1123 subdomain.
const MAX_SUBDOMAIN: usize = 253;

/// The rules the API server applies to a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// `IsDNS1123Subdomain`.
    Subdomain,
    /// `IsDNS1123Label`.
    Label,
    /// `IsDNS1035Label`.
    Dns1035Label,
}

impl Rule {
    /// What is wrong with `name`, in the API server's terms; `None` when it is valid.
    fn check(self, name: &str) -> Option<String> {
        let (max, what, example) = match self {
            Self::Subdomain => (MAX_SUBDOMAIN, "a lowercase RFC 1123 subdomain", "'example.com'"),
            Self::Label => (MAX_LABEL, "a lowercase RFC 1123 label", "'my-name' or '123-abc'"),
            Self::Dns1035Label => (MAX_LABEL, "a DNS-1035 label", "'my-name' or 'abc-123'"),
        };
        if name.len() > max {
            return Some(format!("must be no more than {max} characters"));
        }
        let valid = match self {
            Self::Subdomain => name.split('.').all(is_label),
            Self::Label => is_label(name),
            Self::Dns1035Label => is_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase()),
        };
        (!valid).then(|| {
            let chars = if self == Self::Subdomain {
                "lowercase alphanumeric characters, '-' or '.'"
            } else {
                "lowercase alphanumeric characters or '-'"
            };
            let start = if self == Self::Dns1035Label {
                "start with a lowercase letter"
            } else {
                "start with an alphanumeric character"
            };
            format!("{name:?} is not {what}: it must consist of {chars}, {start} and end with an alphanumeric character (e.g. {example})")
        })
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn is_label(label: &str) -> bool {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !label.is_empty()
        && label.chars().all(|c| alphanumeric(c) || c == '-')
        && label.starts_with(alphanumeric)
        && label.ends_with(alphanumeric)
}

/// The API server's findings about the name and namespace of an object of `kind`
/// (`raw` is the whole object); empty when both are valid or absent.
#[must_use]
pub fn findings(kind: Kind, raw: &Value) -> Vec<Finding> {
    let name_rule = match kind {
        Kind::Service => Rule::Dns1035Label,
        Kind::IngressRoute | Kind::TlsCertificateDelegation | Kind::Secret | Kind::Endpoints => Rule::Subdomain,
    };
    let meta = raw.get("metadata");
    [("name", name_rule), ("namespace", Rule::Label)]
        .into_iter()
        .filter_map(|(field, rule)| {
            let value = meta?.get(field)?.as_str()?;
            // An absent namespace is the default one; an empty name is refused earlier.
            if value.is_empty() {
                return None;
            }
            rule.check(value).map(|message| Finding {
                path: format!("metadata.{field}"),
                kind: FindingKind::Rejected,
                message,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(kind: Kind, name: &str, namespace: &str) -> Vec<String> {
        findings(kind, &json!({"metadata": {"name": name, "namespace": namespace}}))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn valid_names_have_no_findings() {
        for name in ["a", "web", "web-1", "1web", "a.b.c", "x".repeat(253).as_str()] {
            assert!(messages(Kind::IngressRoute, name, "default").is_empty(), "{name}");
        }
        assert!(messages(Kind::Service, "web-1", "kube-system").is_empty());
        assert!(messages(Kind::Service, &"x".repeat(63), "default").is_empty());
    }

    #[test]
    fn names_follow_the_rules_of_their_kind() {
        assert_eq!(
            messages(Kind::IngressRoute, "Web", "default"),
            [
                "metadata.name: \"Web\" is not a lowercase RFC 1123 subdomain: it must consist of lowercase alphanumeric characters, '-' or '.', start with an alphanumeric character and end with an alphanumeric character (e.g. 'example.com')"
            ]
        );
        for name in ["-web", "web-", "web_1", "a..b", ".a", "a b"] {
            assert_eq!(messages(Kind::Secret, name, "default").len(), 1, "{name}");
        }
        // A Service name is a DNS-1035 label: no dot, and a letter first.
        for name in ["1web", "a.b"] {
            assert!(messages(Kind::IngressRoute, name, "default").is_empty(), "{name}");
            assert_eq!(messages(Kind::Service, name, "default").len(), 1, "{name}");
        }
        assert_eq!(
            messages(Kind::Service, &"x".repeat(64), "default"),
            ["metadata.name: must be no more than 63 characters"]
        );
        assert_eq!(
            messages(Kind::Endpoints, &"x".repeat(254), "default"),
            ["metadata.name: must be no more than 253 characters"]
        );
    }

    #[test]
    fn namespaces_are_labels() {
        assert_eq!(messages(Kind::IngressRoute, "r", "a.b").len(), 1);
        assert_eq!(
            messages(Kind::TlsCertificateDelegation, "d", "Prod"),
            [
                "metadata.namespace: \"Prod\" is not a lowercase RFC 1123 label: it must consist of lowercase alphanumeric characters or '-', start with an alphanumeric character and end with an alphanumeric character (e.g. 'my-name' or '123-abc')"
            ]
        );
        assert!(findings(Kind::Service, &json!({"metadata": {"name": "web"}})).is_empty());
    }
}
