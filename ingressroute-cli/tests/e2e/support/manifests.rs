//! Manifests for the objects the tests do not care to spell out: Services whose v1
//! Endpoints are the backends on 127.0.0.1, ExternalName Services, Secrets made from
//! test certificates, and the plainest root IngressRoute. The IngressRoutes a test is
//! about are written out in the test itself.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::backend::Backend;
use super::pki::{Ca, Leaf};

/// A root IngressRoute `default/name` for `fqdn`, sending `/` to the Service
/// `default/service` (port 80): one document, without a `---` before it (so that a file
/// of it alone has its lines where a test expects them).
pub fn root(name: &str, fqdn: &str, service: &str) -> String {
    format!(
        "apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {{name: {name}, namespace: default}}
spec:
  virtualhost: {{fqdn: {fqdn}}}
  routes:
  - match: /
    services: [{{name: {service}, port: 80}}]
"
    )
}

/// A Service `namespace/name` with port 80 (named `http`), and its Endpoints: one subset
/// per backend, `127.0.0.1` and the backend's port.
pub fn service(namespace: &str, name: &str, backends: &[&Backend]) -> String {
    service_with(namespace, name, "", "http", 80, backends)
}

/// A Service `namespace/name` with port 443 (named `https`) that speaks TLS to its
/// endpoints (`contour.heptio.com/upstream-protocol.tls: https`), and its Endpoints.
pub fn tls_service(namespace: &str, name: &str, backends: &[&Backend]) -> String {
    let annotations = "  annotations:\n    contour.heptio.com/upstream-protocol.tls: https\n";
    service_with(namespace, name, annotations, "https", 443, backends)
}

fn service_with(
    namespace: &str,
    name: &str,
    annotations: &str,
    port_name: &str,
    port: u16,
    backends: &[&Backend],
) -> String {
    let subsets: String = backends
        .iter()
        .map(|b| {
            format!(
                "- addresses: [{{ip: 127.0.0.1}}]\n  ports: [{{name: {port_name}, port: {}, protocol: TCP}}]\n",
                b.port
            )
        })
        .collect();
    format!(
        "---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {namespace}
{annotations}spec:
  ports:
  - name: {port_name}
    port: {port}
    protocol: TCP
---
apiVersion: v1
kind: Endpoints
metadata:
  name: {name}
  namespace: {namespace}
subsets:
{subsets}"
    )
}

/// An ExternalName Service `namespace/name` for `host`, whose one port is `port` (the
/// port Envoy connects to on `host`).
pub fn external_name(namespace: &str, name: &str, host: &str, port: u16) -> String {
    format!(
        "---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {namespace}
spec:
  type: ExternalName
  externalName: {host}
  ports:
  - name: http
    port: {port}
"
    )
}

/// A `kubernetes.io/tls` Secret with `leaf`'s certificate and key.
pub fn tls_secret(namespace: &str, name: &str, leaf: &Leaf) -> String {
    format!(
        "---
apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: {namespace}
type: kubernetes.io/tls
data:
  tls.crt: {}
  tls.key: {}
",
        STANDARD.encode(&leaf.cert_pem),
        STANDARD.encode(&leaf.key_pem)
    )
}

/// A Secret with `ca`'s certificate as `ca.crt` (for upstream validation).
pub fn ca_secret(namespace: &str, name: &str, ca: &Ca) -> String {
    format!(
        "---
apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: {namespace}
type: Opaque
data:
  ca.crt: {}
",
        STANDARD.encode(ca.pem())
    )
}
