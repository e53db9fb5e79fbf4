//! Unit tests of `explain` on small worlds.

use std::path::Path;

use super::*;

fn loaded(text: &str) -> Loaded {
    let mut loaded = Loaded::new();
    loaded.add_str(Path::new("test.yaml"), text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
    loaded
}

fn explained(text: &str, url: &str) -> Explanation {
    explain(&loaded(text), &Config::default(), &EnvoyConfig::default(), url).unwrap()
}

const BASIC: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: root, namespace: default}
spec:
  virtualhost: {fqdn: root.example.com}
  routes: [{match: /, services: [{name: web, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: default}
subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{name: http, port: 8080}]}]
";

#[test]
fn a_basic_root_proxies_to_its_service_and_names_cluster_and_endpoints() {
    let e = explained(BASIC, "http://root.example.com/x");
    assert_eq!(e.outcome, ExplainOutcome::Proxied);
    let vhost = e.virtual_host.unwrap();
    assert_eq!(vhost.fqdn, "root.example.com");
    assert_eq!(vhost.root.as_deref(), Some("default/root"));
    assert_eq!(e.route.as_ref().unwrap().r#match, "/");
    assert_eq!(e.route.as_ref().unwrap().rewritten_path.as_deref(), Some("/x"));
    assert_eq!(e.chain.len(), 1);
    assert_eq!(e.chain[0].name, "root");
    assert_eq!(e.services.len(), 1);
    assert_eq!(e.services[0].name, "web");
    assert_eq!(e.services[0].cluster, "default/web/80/da39a3ee5e");
    assert_eq!(e.services[0].endpoints, ["10.0.0.1:8080"]);
    assert_eq!(e.outcome.exit(), Outcome::Valid);
}

#[test]
fn an_unknown_host_is_not_found_because_no_root_has_it() {
    let e = explained(BASIC, "http://other.example.com/");
    assert_eq!(e.outcome, ExplainOutcome::NotFound);
    assert_eq!(e.reason.as_deref(), Some("no root IngressRoute has fqdn other.example.com"));
    assert_eq!(e.outcome.exit(), Outcome::Invalid);
}
