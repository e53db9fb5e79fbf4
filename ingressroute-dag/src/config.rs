//! What a build is configured with (the controller's flags that affect the DAG).

use ingressroute_api::DEFAULT_INGRESS_CLASS;

/// Settings that change how IngressRoutes are interpreted.
///
/// Construct with [`Config::default`] and set the fields you need.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Namespaces in which root IngressRoutes may be defined; empty means any.
    pub root_namespaces: Vec<String>,
    /// The ingress class served; IngressRoutes annotated with another non-empty class
    /// are ignored entirely. Defaults to `contour`.
    pub ingress_class: String,
    /// Ignore `permitInsecure`: routes of TLS virtual hosts always redirect to HTTPS.
    pub disable_permit_insecure: bool,
    /// Allow `ExternalName` Services that point at loopback, link-local or unspecified
    /// addresses or `localhost` (refused by default, decision [D18](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d18)). For local development
    /// only.
    pub allow_loopback_external_names: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            root_namespaces: Vec::new(),
            ingress_class: DEFAULT_INGRESS_CLASS.to_owned(),
            disable_permit_insecure: false,
            allow_loopback_external_names: false,
        }
    }
}

impl Config {
    /// Parses a comma-separated list of root namespaces as the `--root-namespaces` flag
    /// does: entries are trimmed and blank entries dropped, so an all-blank list means
    /// "unrestricted".
    #[must_use]
    pub fn parse_root_namespaces(list: &str) -> Vec<String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Whether a root IngressRoute may live in `namespace`.
    #[must_use]
    pub fn allows_root_in(&self, namespace: &str) -> bool {
        self.root_namespaces.is_empty() || self.root_namespaces.iter().any(|ns| ns == namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn root_namespaces_are_trimmed_and_blank_entries_dropped() {
        assert_eq!(Config::parse_root_namespaces(" roots, team-a ,,"), ["roots", "team-a"]);
        assert!(Config::parse_root_namespaces(" , ").is_empty());
    }

    #[test]
    fn no_root_namespaces_means_unrestricted() {
        let mut config = Config::default();
        assert!(config.allows_root_in("anything"));
        config.root_namespaces = vec!["roots".into()];
        assert!(config.allows_root_in("roots"));
        assert!(!config.allows_root_in("default"));
    }
}
