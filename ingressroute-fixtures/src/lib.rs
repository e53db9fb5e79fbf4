//! Generated datasets of IngressRoutes, Services, Endpoints and Secrets, shaped like a
//! real multi-tenant cluster, for benchmarks and load tests.
//!
//! | size | roots | children (other namespaces) | routes | Services | TLS Secrets | other Secrets |
//! |------|------:|----------------------------:|-------:|---------:|------------:|--------------:|
//! | S    |   100 |                           0 |    500 |      100 |          20 |             0 |
//! | M    | 1 000 |                       1 000 |  5 000 |    1 000 |         200 |             0 |
//! | L    | 10 000|                      10 000 | 50 000 |   10 000 |       2 000 |        20 000 |
//!
//! With children, every root `root-<i>` (namespace `apps-<i % 100>`, host
//! `host-<i>.example.com`) has two routes to its own Services and delegates `/api` to
//! `child-<i>` in namespace `teams-<i % 100>`, which serves `/api` and `/api/v2`. Every
//! fifth root terminates TLS with a Secret of its namespace. The "other" Secrets are Helm
//! release Secrets, which an IngressRoute consumer must ignore cheaply.
//!
//! Everything is deterministic: the same size always gives the same objects.
//!
//! [`envoy_binary`] finds the Envoy the tests and benchmarks of every crate run.

mod envoy;

use std::collections::BTreeMap;

use ingressroute_api::{Delegate, IngressRoute, IngressRouteSpec, Route, Service, Tls, VirtualHost};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub use envoy::{envoy_binary, find_envoy};

/// A certificate for `*.example.com` (EC P-256, valid for 100 years), shared by every
/// generated TLS Secret.
pub const CERTIFICATE_PEM: &str = include_str!("pem/wildcard.crt");
/// The certificate's private key (PKCS#8).
pub const PRIVATE_KEY_PEM: &str = include_str!("pem/wildcard.key");

/// The size of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    /// 100 roots, 500 routes.
    S,
    /// 1k roots + 1k children, 5k routes, 1k Services, 200 TLS.
    M,
    /// 10k roots + 10k children, 50k routes, 10k Services, 2k TLS + 20k other Secrets.
    L,
}

impl Size {
    /// Every size, smallest first.
    pub const ALL: [Size; 3] = [Size::S, Size::M, Size::L];

    fn shape(self) -> Shape {
        match self {
            Size::S => Shape {
                roots: 100,
                children: false,
                services: 100,
                other_secrets: 0,
            },
            Size::M => Shape {
                roots: 1_000,
                children: true,
                services: 1_000,
                other_secrets: 0,
            },
            Size::L => Shape {
                roots: 10_000,
                children: true,
                services: 10_000,
                other_secrets: 20_000,
            },
        }
    }

    /// `S`, `M` or `L`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Size::S => "S",
            Size::M => "M",
            Size::L => "L",
        }
    }
}

struct Shape {
    roots: usize,
    children: bool,
    services: usize,
    other_secrets: usize,
}

/// The objects of one dataset.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Roots and children.
    pub ingress_routes: Vec<IngressRoute>,
    /// One Service per backend, one named port each.
    pub services: Vec<core_v1::Service>,
    /// One Endpoints object per Service, two ready addresses each.
    pub endpoints: Vec<core_v1::Endpoints>,
    /// TLS Secrets first, then the irrelevant ones.
    pub secrets: Vec<core_v1::Secret>,
}

const NAMESPACES: usize = 100;

impl Dataset {
    /// Generates the dataset of `size`.
    #[must_use]
    pub fn generate(size: Size) -> Self {
        let shape = size.shape();
        let mut data = Dataset::default();
        // Services: half in the roots' namespaces, half in the children's (all in the
        // roots' namespaces when there are no children).
        let per_side = if shape.children {
            shape.services / 2
        } else {
            shape.services
        };
        for s in 0..per_side {
            let ns = format!("apps-{}", s % NAMESPACES);
            data.push_service(&ns, &format!("svc-{s}"), s);
            if shape.children {
                let ns = format!("teams-{}", s % NAMESPACES);
                data.push_service(&ns, &format!("svc-{s}"), per_side + s);
            }
        }
        for i in 0..shape.roots {
            let ns = format!("apps-{}", i % NAMESPACES);
            // A service of this root's namespace: services s with s % 100 == i % 100.
            let svc = |k: usize| format!("svc-{}", (i + k * NAMESPACES) % per_side);
            let tls = i % 5 == 0;
            let mut routes = vec![route("/", &svc(0)), route("/static", &svc(1))];
            if shape.children {
                routes.push(Route {
                    match_: "/api".into(),
                    delegate: Some(Box::new(Delegate {
                        name: format!("child-{i}"),
                        namespace: Some(format!("teams-{}", i % NAMESPACES)),
                    })),
                    ..Route::default()
                });
            } else {
                routes.extend([
                    route("/api", &svc(2)),
                    route("/api/v2", &svc(3)),
                    route("/login", &svc(4)),
                ]);
            }
            data.ingress_routes.push(ingress_route(
                &ns,
                &format!("root-{i}"),
                IngressRouteSpec {
                    virtualhost: Some(VirtualHost {
                        fqdn: format!("host-{i}.example.com"),
                        tls: tls.then(|| {
                            Box::new(Tls {
                                secret_name: format!("tls-{i}"),
                                ..Tls::default()
                            })
                        }),
                    }),
                    routes,
                    ..IngressRouteSpec::default()
                },
            ));
            if tls {
                data.secrets.push(tls_secret(&ns, &format!("tls-{i}")));
            }
            if shape.children {
                let child_ns = format!("teams-{}", i % NAMESPACES);
                data.ingress_routes.push(ingress_route(
                    &child_ns,
                    &format!("child-{i}"),
                    IngressRouteSpec {
                        routes: vec![route("/api", &svc(2)), route("/api/v2", &svc(3))],
                        ..IngressRouteSpec::default()
                    },
                ));
            }
        }
        for s in 0..shape.other_secrets {
            data.secrets.push(helm_secret(
                &format!("apps-{}", s % NAMESPACES),
                &format!("sh.helm.release.v1.app-{s}.v1"),
            ));
        }
        data
    }

    fn push_service(&mut self, namespace: &str, name: &str, index: usize) {
        self.services.push(core_v1::Service {
            metadata: meta(namespace, name),
            spec: Some(core_v1::ServiceSpec {
                ports: Some(vec![core_v1::ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    target_port: Some(IntOrString::Int(8080)),
                    protocol: Some("TCP".into()),
                    ..core_v1::ServicePort::default()
                }]),
                ..core_v1::ServiceSpec::default()
            }),
            status: None,
        });
        let ip = |k: usize| format!("10.{}.{}.{}", (index >> 8) & 0xff, index & 0xff, 10 + k);
        self.endpoints.push(core_v1::Endpoints {
            metadata: meta(namespace, name),
            subsets: Some(vec![core_v1::EndpointSubset {
                addresses: Some(
                    (0..2)
                        .map(|k| core_v1::EndpointAddress {
                            ip: ip(k),
                            ..core_v1::EndpointAddress::default()
                        })
                        .collect(),
                ),
                ports: Some(vec![core_v1::EndpointPort {
                    name: Some("http".into()),
                    port: 8080,
                    protocol: Some("TCP".into()),
                    ..core_v1::EndpointPort::default()
                }]),
                ..core_v1::EndpointSubset::default()
            }]),
        });
    }

    /// How many routes the IngressRoutes declare (serving and delegating).
    #[must_use]
    pub fn route_count(&self) -> usize {
        self.ingress_routes.iter().map(|r| r.spec.routes.len()).sum()
    }
}

fn meta(namespace: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectMeta::default()
    }
}

fn ingress_route(namespace: &str, name: &str, spec: IngressRouteSpec) -> IngressRoute {
    let mut route = IngressRoute::new(name, spec);
    route.metadata.namespace = Some(namespace.into());
    route
}

fn route(prefix: &str, service: &str) -> Route {
    Route {
        match_: prefix.into(),
        services: vec![Service {
            name: service.into(),
            port: 80,
            ..Service::default()
        }],
        ..Route::default()
    }
}

fn tls_secret(namespace: &str, name: &str) -> core_v1::Secret {
    let data = BTreeMap::from([
        ("tls.crt".to_owned(), ByteString(CERTIFICATE_PEM.as_bytes().to_vec())),
        ("tls.key".to_owned(), ByteString(PRIVATE_KEY_PEM.as_bytes().to_vec())),
    ]);
    core_v1::Secret {
        metadata: meta(namespace, name),
        type_: Some("kubernetes.io/tls".into()),
        data: Some(data),
        ..core_v1::Secret::default()
    }
}

fn helm_secret(namespace: &str, name: &str) -> core_v1::Secret {
    // Helm stores a gzipped, base64-encoded release; a few KiB of opaque bytes.
    let release: Vec<u8> = (0..4096_u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    core_v1::Secret {
        metadata: meta(namespace, name),
        type_: Some("helm.sh/release.v1".into()),
        data: Some(BTreeMap::from([("release".to_owned(), ByteString(release))])),
        ..core_v1::Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasets_have_the_documented_shape() {
        let s = Dataset::generate(Size::S);
        assert_eq!(
            (
                s.ingress_routes.len(),
                s.route_count(),
                s.services.len(),
                s.secrets.len()
            ),
            (100, 500, 100, 20)
        );
        let m = Dataset::generate(Size::M);
        assert_eq!(
            (
                m.ingress_routes.len(),
                m.route_count(),
                m.services.len(),
                m.secrets.len()
            ),
            (2_000, 5_000, 1_000, 200)
        );
        let l = Dataset::generate(Size::L);
        assert_eq!(
            (
                l.ingress_routes.len(),
                l.route_count(),
                l.services.len(),
                l.secrets.len()
            ),
            (20_000, 50_000, 10_000, 22_000)
        );
        assert_eq!(l.endpoints.len(), l.services.len());
    }
}
