//! Client-side validation of whole manifests, written as YAML the way users write them.
#![cfg(feature = "validate")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use ingressroute_api::validate::{Finding, FindingKind, validate_ingress_route, validate_tls_certificate_delegation};

/// YAML 1.2 scalars, as the CLI reads them (`yes` is a string).
fn yaml(text: &str) -> serde_json::Value {
    serde_saphyr::from_str_with_options(text, serde_saphyr::options! { strict_booleans: true }).unwrap()
}

/// The findings as `path: message` lines, with `(unknown)` after unknown fields.
fn lines(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| match f.kind {
            FindingKind::UnknownField => format!("{f} (unknown)"),
            _ => f.to_string(),
        })
        .collect()
}

#[test]
fn a_documented_root_is_valid() {
    let object = yaml(
        r#"
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata:
  name: home
  namespace: default
spec:
  virtualhost:
    fqdn: home.example.com
    tls:
      secretName: www-admin/wildcard
      minimumProtocolVersion: "1.2"
  strategy: WeightedLeastRequest
  healthCheck:
    path: /healthz
    intervalSeconds: 5
  routes:
    - match: /
      services:
        - name: home
          port: 80
          weight: 90
        - name: home-canary
          port: 80
          weight: 10
          strategy: Cookie
      timeoutPolicy:
        request: 1m30s
      retryPolicy:
        count: 3
        perTryTimeout: 150ms
    - match: /blog
      delegate:
        name: blog
        namespace: marketing
      permitInsecure: true
"#,
    );
    assert_eq!(lines(&validate_ingress_route(&object)), Vec::<String>::new());
}

#[test]
fn a_broken_route_reports_every_problem_in_path_order() {
    let object = yaml(
        r#"
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata:
  name: home
  namespace: default
spec:
  virtualhost:
    fqdn: "*.example.com"
  routes:
    - match: /
      services:
        - name: home
          port: 80
          weight: -1
    - match: api
      service:
        - name: api
          port: 8080
    - match: /admin
      services:
        - name: admin
          port: 70000
          strategy: LeastConnections
      delegate:
        name: admin
    - services:
        - port: "80"
"#,
    );
    assert_eq!(
        lines(&validate_ingress_route(&object)),
        [
            r#"spec.routes[0].services[0].weight: must be >= 0"#,
            r#"spec.routes[1].match: must match pattern "^/""#,
            r#"spec.routes[1].service: unknown field, did you mean "services"? (unknown)"#,
            // Enum errors block the route's CEL rule, as in the API server.
            r#"spec.routes[2].services[0].port: must be <= 65535"#,
            r#"spec.routes[2].services[0].strategy: must be one of "RoundRobin", "WeightedLeastRequest", "Random", "Cookie""#,
            r#"spec.routes[3].match: is required"#,
            r#"spec.routes[3].services[0].name: is required"#,
            r#"spec.routes[3].services[0].port: must be of type integer"#,
            r#"spec.virtualhost.fqdn: must match pattern "^[^*\\s]+$""#,
        ]
    );
}

#[test]
fn services_and_delegate_in_one_route_break_the_cel_rule() {
    let object = yaml(
        r#"
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: home, namespace: default}
spec:
  routes:
    - match: /
      services: [{name: home, port: 80}]
      delegate: {name: other}
    - match: /ws
      enableWebsockets: true
      services: [{name: a, port: 80}, {name: b, port: 80}]
  tcpproxy:
    services: [{name: db, port: 5432}]
    delegate: {name: db}
"#,
    );
    assert_eq!(
        validate_ingress_route(&object),
        [
            Finding {
                path: "spec.routes[0]".into(),
                kind: FindingKind::Rejected,
                message: "cannot specify services and delegate in the same route".into(),
            },
            Finding {
                path: "spec.routes[1]".into(),
                kind: FindingKind::Rejected,
                message: "cannot specify multiple services and enable websockets".into(),
            },
            Finding {
                path: "spec.tcpproxy".into(),
                kind: FindingKind::Rejected,
                message: "cannot specify services and delegate in the same tcpproxy".into(),
            },
        ]
    );
}

#[test]
fn findings_print_as_the_cli_shows_them() {
    let object = yaml(
        r#"
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: basic, namespace: default}
spec:
  virtualhost: {fqdn: foo-basic.bar.com}
  routes:
    - match: /
      service: [{name: s1, port: 80}]
    - match: /w
      services: [{name: s1, port: 80, weight: -5}]
"#,
    );
    let printed: Vec<String> = validate_ingress_route(&object)
        .iter()
        .map(|f| format!("default/basic: {f}"))
        .collect();
    assert_eq!(
        printed,
        [
            r#"default/basic: spec.routes[0].service: unknown field, did you mean "services"?"#,
            "default/basic: spec.routes[1].services[0].weight: must be >= 0",
        ]
    );
}

#[test]
fn a_tls_certificate_delegation_is_checked_against_its_own_schema() {
    let valid = yaml(
        r#"
apiVersion: contour.heptio.com/v1beta1
kind: TLSCertificateDelegation
metadata: {name: wildcard, namespace: www-admin}
spec:
  delegations:
    - secretName: example-com-wildcard
      targetNamespaces: [example-com, "*"]
"#,
    );
    assert_eq!(validate_tls_certificate_delegation(&valid), []);

    let broken = yaml(
        r#"
apiVersion: contour.heptio.com/v1beta1
kind: TLSCertificateDelegation
metadata: {name: wildcard, namespace: www-admin}
spec:
  delegations:
    - secretName: ""
      targetNamespace: [example-com]
    - targetNamespaces: example-com
"#,
    );
    assert_eq!(
        lines(&validate_tls_certificate_delegation(&broken)),
        [
            "spec.delegations[0].secretName: must be at least 1 characters long",
            r#"spec.delegations[0].targetNamespace: unknown field, did you mean "targetNamespaces"? (unknown)"#,
            "spec.delegations[1].secretName: is required",
            "spec.delegations[1].targetNamespaces: must be of type array",
        ]
    );
}

#[test]
fn yaml_scalars_are_typed_as_yaml_1_2_reads_them() {
    // `permitInsecure: yes` is a string in YAML 1.2 (as read here); kubectl's YAML 1.1
    // reader would make it a boolean. The validator sees what it is given.
    let object = yaml(
        r#"
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: home, namespace: default}
spec:
  routes:
    - match: /
      permitInsecure: yes
      services: [{name: home, port: 80.0}]
"#,
    );
    assert_eq!(
        lines(&validate_ingress_route(&object)),
        ["spec.routes[0].permitInsecure: must be of type boolean"]
    );
}
