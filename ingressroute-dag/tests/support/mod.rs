//! Fixture builders and assertions shared by the DAG's integration tests.
//!
//! A [`Fixture`] reads like the objects it describes:
//!
//! ```text
//! Fixture::new()
//!     .root("default/basic", "foo.com")
//!     .route("/", svc("s1", 80))
//!     .service("default/s1", &[80])
//!     .dag();
//! ```
//!
//! Object keys are `namespace/name`; a key without `/` is in `default`. Methods that shape
//! an IngressRoute (`route`, `tls`, `tcpproxy`, ...) apply to the IngressRoute added last,
//! and route options (`websockets`, `timeout`, ...) to its last route.
#![allow(dead_code)]

use std::collections::BTreeMap;

use ingressroute_api as api;
use ingressroute_api::{
    CertificateDelegation, IngressRoute, IngressRouteSpec, TLSCertificateDelegation, TLSCertificateDelegationSpec,
};
pub(crate) use ingressroute_dag::CurrentStatus::{Invalid, Orphaned, Valid};
use ingressroute_dag::{
    ChangedObjects, Config, CurrentStatus, Dag, IncrementalDag, ObjectRef, Objects, ServedRoute, ServedVirtualHost,
    WeightedCluster,
};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The test PEMs of `tests/fixtures` (see the README there).
pub(crate) mod pem {
    /// The CA certificate (EC P-256).
    pub(crate) const CA_CERT: &str = include_str!("../fixtures/ca.crt");
    /// The CA's key.
    pub(crate) const CA_KEY: &str = include_str!("../fixtures/ca.key");
    /// An EC P-256 leaf for `foo.com`.
    pub(crate) const EC_CERT: &str = include_str!("../fixtures/ec-leaf.crt");
    /// Its key, PKCS#8.
    pub(crate) const EC_PKCS8_KEY: &str = include_str!("../fixtures/ec-pkcs8.key");
    /// Its key, SEC1.
    pub(crate) const EC_SEC1_KEY: &str = include_str!("../fixtures/ec-sec1.key");
    /// Its key, SEC1 after an `EC PARAMETERS` block.
    pub(crate) const EC_SEC1_WITH_PARAMS_KEY: &str = include_str!("../fixtures/ec-sec1-with-params.key");
    /// An RSA 2048 leaf for `foo.com`.
    pub(crate) const RSA_CERT: &str = include_str!("../fixtures/rsa-leaf.crt");
    /// Its key, PKCS#8.
    pub(crate) const RSA_PKCS8_KEY: &str = include_str!("../fixtures/rsa-pkcs8.key");
    /// Its key, PKCS#1.
    pub(crate) const RSA_PKCS1_KEY: &str = include_str!("../fixtures/rsa-pkcs1.key");
    /// An EC key of no certificate.
    pub(crate) const OTHER_EC_KEY: &str = include_str!("../fixtures/other-ec-pkcs8.key");
    /// An RSA key of no certificate.
    pub(crate) const OTHER_RSA_KEY: &str = include_str!("../fixtures/other-rsa-pkcs8.key");
}

// ----- references ------------------------------------------------------------------------

/// `namespace/name` as an [`ObjectRef`]; no `/` means namespace `default`.
pub(crate) fn r(key: &str) -> ObjectRef {
    match key.split_once('/') {
        Some((ns, name)) => ObjectRef::new(ns, name),
        None => ObjectRef::new("default", key),
    }
}

fn meta(key: &str) -> ObjectMeta {
    let key = r(key);
    ObjectMeta {
        namespace: Some(key.namespace),
        name: Some(key.name),
        ..Default::default()
    }
}

// ----- what routes and tcpproxies point at -------------------------------------------------

/// A service entry of a route or tcpproxy (`routes[].services[]`).
#[derive(Debug, Clone)]
pub(crate) struct Svc(pub(crate) api::Service);

/// The service `name` (in the IngressRoute's namespace) on `port`.
pub(crate) fn svc(name: &str, port: i64) -> Svc {
    Svc(api::Service {
        name: name.into(),
        port,
        ..Default::default()
    })
}

impl Svc {
    /// Sets `weight`.
    pub(crate) fn weight(mut self, weight: i64) -> Self {
        self.0.weight = Some(weight);
        self
    }

    /// Sets `strategy`.
    pub(crate) fn strategy(mut self, strategy: &str) -> Self {
        self.0.strategy = Some(strategy.into());
        self
    }

    /// Sets `healthCheck`.
    pub(crate) fn health_check(mut self, health_check: api::HealthCheck) -> Self {
        self.0.health_check = Some(Box::new(health_check));
        self
    }

    /// Sets `validation`.
    pub(crate) fn validation(mut self, ca_secret: &str, subject_name: &str) -> Self {
        self.0.validation = Some(Box::new(api::UpstreamValidation {
            ca_secret: ca_secret.into(),
            subject_name: subject_name.into(),
        }));
        self
    }
}

/// A health check of `path` with every number left at its default.
pub(crate) fn health_check(path: &str) -> api::HealthCheck {
    api::HealthCheck {
        path: path.into(),
        ..Default::default()
    }
}

/// A delegation to `name` (same namespace) or `namespace/name`.
#[derive(Debug, Clone)]
pub(crate) struct Delegate(pub(crate) api::Delegate);

/// Delegates to `name` in the delegating object's namespace, or to `namespace/name`.
pub(crate) fn delegate(target: &str) -> Delegate {
    Delegate(match target.split_once('/') {
        Some((ns, name)) => api::Delegate {
            name: name.into(),
            namespace: Some(ns.into()),
        },
        None => api::Delegate {
            name: target.into(),
            namespace: None,
        },
    })
}

/// A route or tcpproxy with neither services nor a delegate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Nothing;

/// What a route or a tcpproxy points at: services, a delegate, both or nothing.
pub(crate) trait Target {
    /// The services and the delegate.
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>);
}

impl Target for Svc {
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>) {
        (vec![self.0], None)
    }
}

impl<const N: usize> Target for [Svc; N] {
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>) {
        (self.into_iter().map(|s| s.0).collect(), None)
    }
}

impl Target for Vec<Svc> {
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>) {
        (self.into_iter().map(|s| s.0).collect(), None)
    }
}

impl Target for Delegate {
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>) {
        (Vec::new(), Some(self.0))
    }
}

impl Target for (Svc, Delegate) {
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>) {
        (vec![self.0.0], Some(self.1.0))
    }
}

impl Target for Nothing {
    fn into_parts(self) -> (Vec<api::Service>, Option<api::Delegate>) {
        (Vec::new(), None)
    }
}

// ----- Kubernetes Services ------------------------------------------------------------------

/// A Kubernetes Service under construction.
#[derive(Debug, Clone)]
pub(crate) struct KubeService(pub(crate) core_v1::Service);

/// A `ClusterIP` Service `namespace/name` without ports.
pub(crate) fn kube_service(key: &str) -> KubeService {
    KubeService(core_v1::Service {
        metadata: meta(key),
        spec: Some(core_v1::ServiceSpec {
            ports: Some(Vec::new()),
            ..Default::default()
        }),
        status: None,
    })
}

impl KubeService {
    fn spec(&mut self) -> &mut core_v1::ServiceSpec {
        self.0.spec.get_or_insert_with(Default::default)
    }

    /// Adds an unnamed port.
    pub(crate) fn port(mut self, port: i32) -> Self {
        self.spec()
            .ports
            .get_or_insert_with(Vec::new)
            .push(core_v1::ServicePort {
                port,
                ..Default::default()
            });
        self
    }

    /// Adds a named port.
    pub(crate) fn named_port(mut self, name: &str, port: i32) -> Self {
        self.spec()
            .ports
            .get_or_insert_with(Vec::new)
            .push(core_v1::ServicePort {
                name: Some(name.into()),
                port,
                ..Default::default()
            });
        self
    }

    /// Adds an annotation.
    pub(crate) fn annotate(mut self, key: &str, value: &str) -> Self {
        self.0
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Makes it an `ExternalName` Service pointing at `host`.
    pub(crate) fn external_name(mut self, host: &str) -> Self {
        let spec = self.spec();
        spec.type_ = Some("ExternalName".into());
        spec.external_name = Some(host.into());
        self
    }
}

// ----- Secrets ------------------------------------------------------------------------------

/// A Secret `namespace/name` of type `type_` (none when empty) with `data`.
pub(crate) fn secret(key: &str, type_: &str, data: &[(&str, &str)]) -> core_v1::Secret {
    core_v1::Secret {
        metadata: meta(key),
        type_: Some(type_.to_owned()).filter(|t| !t.is_empty()),
        data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

/// A `kubernetes.io/tls` Secret with this certificate chain and key.
pub(crate) fn tls_secret(key: &str, cert: &str, private_key: &str) -> core_v1::Secret {
    secret(key, "kubernetes.io/tls", &[("tls.crt", cert), ("tls.key", private_key)])
}

/// An `Opaque` Secret whose `ca.crt` is the test CA.
pub(crate) fn ca_secret(key: &str) -> core_v1::Secret {
    secret(key, "Opaque", &[("ca.crt", pem::CA_CERT)])
}

// ----- the fixture --------------------------------------------------------------------------

/// One input object.
// A fixture holds a few dozen of them: boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// An IngressRoute.
    IngressRoute(IngressRoute),
    /// An IngressRoute inserted as rejected, with the description.
    RejectedIngressRoute(IngressRoute, String),
    /// A Service.
    Service(core_v1::Service),
    /// A Secret.
    Secret(core_v1::Secret),
    /// A TLSCertificateDelegation.
    Delegation(TLSCertificateDelegation),
}

/// A set of objects and a [`Config`], built up like prose.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fixture {
    items: Vec<Item>,
    /// The index in `items` of the IngressRoute being shaped.
    current: Option<usize>,
    config: Config,
}

impl Fixture {
    /// No objects, the default config.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    // --- IngressRoutes ---

    /// Adds a root IngressRoute `key` for `fqdn`.
    pub(crate) fn root(self, key: &str, fqdn: &str) -> Self {
        self.ingress_route(key, Some(fqdn))
    }

    /// Adds a non-root IngressRoute `key` (one that only serves what is delegated to it).
    pub(crate) fn child(self, key: &str) -> Self {
        self.ingress_route(key, None)
    }

    fn ingress_route(mut self, key: &str, fqdn: Option<&str>) -> Self {
        let spec = IngressRouteSpec {
            virtualhost: fqdn.map(|fqdn| api::VirtualHost {
                fqdn: fqdn.into(),
                tls: None,
            }),
            ..Default::default()
        };
        let mut ir = IngressRoute::new("", spec);
        ir.metadata = meta(key);
        self.items.push(Item::IngressRoute(ir));
        self.current = Some(self.items.len() - 1);
        self
    }

    /// Edits the current IngressRoute freely.
    pub(crate) fn with(mut self, edit: impl FnOnce(&mut IngressRoute)) -> Self {
        edit(self.current_mut());
        self
    }

    fn current_mut(&mut self) -> &mut IngressRoute {
        let index = self.current.expect("add an IngressRoute first");
        match &mut self.items[index] {
            Item::IngressRoute(ir) | Item::RejectedIngressRoute(ir, _) => ir,
            _ => panic!("the current item is not an IngressRoute"),
        }
    }

    /// Inserts the current IngressRoute as rejected (one the API server would refuse),
    /// with this description.
    pub(crate) fn rejected(mut self, description: &str) -> Self {
        let index = self.current.expect("add an IngressRoute first");
        let ir = self.current_mut().clone();
        self.items[index] = Item::RejectedIngressRoute(ir, description.into());
        self
    }

    fn last_route(&mut self) -> &mut api::Route {
        self.current_mut().spec.routes.last_mut().expect("add a route first")
    }

    /// Adds a route for `prefix` to `target` (services, a delegate, both or [`Nothing`]).
    pub(crate) fn route(mut self, prefix: &str, target: impl Target) -> Self {
        let (services, delegate) = target.into_parts();
        self.current_mut().spec.routes.push(api::Route {
            match_: prefix.into(),
            services,
            delegate: delegate.map(Box::new),
            ..Default::default()
        });
        self
    }

    /// Enables websockets on the last route.
    pub(crate) fn websockets(mut self) -> Self {
        self.last_route().enable_websockets = true;
        self
    }

    /// Sets `permitInsecure` on the last route.
    pub(crate) fn permit_insecure(mut self) -> Self {
        self.last_route().permit_insecure = true;
        self
    }

    /// Sets `prefixRewrite` on the last route.
    pub(crate) fn prefix_rewrite(mut self, rewrite: &str) -> Self {
        self.last_route().prefix_rewrite = rewrite.into();
        self
    }

    /// Sets `timeoutPolicy.request` on the last route.
    pub(crate) fn timeout(mut self, request: &str) -> Self {
        self.last_route().timeout_policy = Some(Box::new(api::TimeoutPolicy {
            request: Some(request.into()),
        }));
        self
    }

    /// Sets `retryPolicy` on the last route.
    pub(crate) fn retry(mut self, count: Option<i64>, per_try_timeout: Option<&str>) -> Self {
        self.last_route().retry_policy = Some(Box::new(api::RetryPolicy {
            count,
            per_try_timeout: per_try_timeout.map(Into::into),
        }));
        self
    }

    /// Terminates TLS with `secret_name` (`name` or `namespace/name`).
    pub(crate) fn tls(mut self, secret_name: &str) -> Self {
        self.vhost_mut().tls = Some(Box::new(api::Tls {
            secret_name: secret_name.into(),
            ..Default::default()
        }));
        self
    }

    /// Sets `minimumProtocolVersion` (after [`tls`](Self::tls)).
    pub(crate) fn minimum_protocol_version(mut self, version: &str) -> Self {
        self.vhost_mut()
            .tls
            .as_mut()
            .expect("set tls first")
            .minimum_protocol_version = Some(version.into());
        self
    }

    /// TLS passthrough: no `secretName`, `passthrough: true`.
    pub(crate) fn passthrough(mut self) -> Self {
        self.vhost_mut().tls = Some(Box::new(api::Tls {
            secret_name: String::new(),
            passthrough: true,
            ..Default::default()
        }));
        self
    }

    fn vhost_mut(&mut self) -> &mut api::VirtualHost {
        self.current_mut()
            .spec
            .virtualhost
            .as_mut()
            .expect("only roots have a virtualhost")
    }

    /// Sets `tcpproxy` to `target` (services, a delegate, both or [`Nothing`]).
    pub(crate) fn tcpproxy(mut self, target: impl Target) -> Self {
        let (services, delegate) = target.into_parts();
        self.current_mut().spec.tcpproxy = Some(Box::new(api::TcpProxy { services, delegate }));
        self
    }

    /// Sets the spec-level default `healthCheck` (decision [D8](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d8)).
    pub(crate) fn default_health_check(mut self, health_check: api::HealthCheck) -> Self {
        self.current_mut().spec.health_check = Some(Box::new(health_check));
        self
    }

    /// Sets the spec-level default `strategy` (decision [D8](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d8)).
    pub(crate) fn default_strategy(mut self, strategy: &str) -> Self {
        self.current_mut().spec.strategy = Some(strategy.into());
        self
    }

    /// Adds an annotation to the current IngressRoute.
    pub(crate) fn annotate(mut self, key: &str, value: &str) -> Self {
        self.current_mut()
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    // --- other objects ---

    /// Adds a Service `key` with these unnamed ports.
    pub(crate) fn service(self, key: &str, ports: &[i32]) -> Self {
        let service = ports.iter().fold(kube_service(key), |s, p| s.port(*p));
        self.service_object(service)
    }

    /// Adds a Service built with [`kube_service`].
    pub(crate) fn service_object(mut self, service: KubeService) -> Self {
        self.items.push(Item::Service(service.0));
        self
    }

    /// Adds a usable TLS Secret `key` (the EC leaf and its PKCS#8 key).
    pub(crate) fn tls_secret(self, key: &str) -> Self {
        self.secret(tls_secret(key, pem::EC_CERT, pem::EC_PKCS8_KEY))
    }

    /// Adds a CA Secret `key` (`ca.crt` is the test CA).
    pub(crate) fn ca_secret(self, key: &str) -> Self {
        self.secret(ca_secret(key))
    }

    /// Adds any Secret; one that is not usable is simply not stored.
    pub(crate) fn secret(mut self, secret: core_v1::Secret) -> Self {
        self.items.push(Item::Secret(secret));
        self
    }

    /// Adds a TLSCertificateDelegation `key` with one entry: `secret_name` to `targets`.
    pub(crate) fn certificate_delegation(self, key: &str, secret_name: &str, targets: &[&str]) -> Self {
        self.certificate_delegations(key, &[(secret_name, targets)])
    }

    /// Adds a TLSCertificateDelegation `key` with these entries.
    pub(crate) fn certificate_delegations(mut self, key: &str, entries: &[(&str, &[&str])]) -> Self {
        let spec = TLSCertificateDelegationSpec {
            delegations: entries
                .iter()
                .map(|(secret_name, targets)| CertificateDelegation {
                    secret_name: (*secret_name).into(),
                    target_namespaces: targets.iter().map(|t| (*t).to_owned()).collect(),
                })
                .collect(),
        };
        let mut delegation = TLSCertificateDelegation::new("", spec);
        delegation.metadata = meta(key);
        self.items.push(Item::Delegation(delegation));
        self
    }

    // --- config ---

    /// Restricts roots to these namespaces.
    pub(crate) fn root_namespaces(mut self, namespaces: &[&str]) -> Self {
        self.config.root_namespaces = namespaces.iter().map(|ns| (*ns).to_owned()).collect();
        self
    }

    /// Serves this ingress class instead of `contour`.
    pub(crate) fn ingress_class(mut self, class: &str) -> Self {
        self.config.ingress_class = class.into();
        self
    }

    /// Sets `disablePermitInsecure`.
    pub(crate) fn disable_permit_insecure(mut self) -> Self {
        self.config.disable_permit_insecure = true;
        self
    }

    /// Allows ExternalNames on loopback (`--allow-loopback-external-names`).
    pub(crate) fn allow_loopback_external_names(mut self) -> Self {
        self.config.allow_loopback_external_names = true;
        self
    }

    // --- building ---

    /// The config.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The objects, in the order they were added.
    pub(crate) fn items(&self) -> &[Item] {
        &self.items
    }

    /// The objects, inserted in the order they were added.
    pub(crate) fn build(&self) -> Objects {
        objects_from(self.items.iter())
    }

    /// The objects, inserted in reverse order.
    pub(crate) fn build_reversed(&self) -> Objects {
        objects_from(self.items.iter().rev())
    }

    /// The objects, inserted in a pseudo-random order chosen by `seed`.
    pub(crate) fn build_shuffled(&self, seed: u64) -> Objects {
        let mut items: Vec<&Item> = self.items.iter().collect();
        shuffle(&mut items, seed);
        objects_from(items)
    }

    /// Builds the DAG of the objects with the config.
    ///
    /// Every test that builds this way also checks incremental builds against it: an
    /// [`IncrementalDag`] of all the objects, and (for fixtures of at most
    /// [`ONE_AT_A_TIME`] objects: a chain growing by one link re-walks it all every time)
    /// one updated after inserting each object in turn, must give the same statuses and
    /// virtual hosts.
    pub(crate) fn dag(&self) -> Dag {
        let objects = self.build();
        let dag = ingressroute_dag::build(&objects, &self.config);
        let whole = IncrementalDag::new(&objects, &self.config).dag();
        assert_eq!(whole.statuses(), dag.statuses(), "incremental build of the whole");
        assert_eq!(
            whole.virtual_hosts(),
            dag.virtual_hosts(),
            "incremental build of the whole"
        );
        if self.items.len() > ONE_AT_A_TIME {
            return dag;
        }
        let mut objects = Objects::new();
        let mut incremental = IncrementalDag::new(&objects, &self.config);
        let mut last = incremental.dag();
        for item in &self.items {
            let mut changed = ChangedObjects::new();
            match item {
                Item::IngressRoute(ir) => {
                    changed.ingress_routes.insert(objects.insert_ingress_route(ir.clone()));
                }
                Item::RejectedIngressRoute(ir, description) => {
                    let key = objects.insert_rejected_ingress_route(ir.clone(), description.clone());
                    changed.ingress_routes.insert(key);
                }
                Item::Service(s) => {
                    changed.services.insert(objects.insert_service(s));
                }
                Item::Secret(s) => {
                    let _ = objects.insert_secret(s);
                    changed.secrets.insert(ObjectRef::from_meta(&s.metadata));
                }
                Item::Delegation(d) => {
                    changed.delegations.insert(objects.insert_delegation(d.clone()));
                }
            }
            last = incremental.update(&objects, &changed).dag;
        }
        assert_eq!(
            last.statuses(),
            dag.statuses(),
            "incremental build, one object at a time"
        );
        assert_eq!(
            last.virtual_hosts(),
            dag.virtual_hosts(),
            "incremental build, one object at a time"
        );
        dag
    }
}

/// The most objects a fixture inserts one at a time into an incremental build.
const ONE_AT_A_TIME: usize = 200;

/// Inserts objects in the given order. Unusable Secrets are left out, as a controller
/// would.
pub(crate) fn objects_from<'a>(items: impl IntoIterator<Item = &'a Item>) -> Objects {
    let mut objects = Objects::new();
    for item in items {
        match item {
            Item::IngressRoute(ir) => {
                objects.insert_ingress_route(ir.clone());
            }
            Item::RejectedIngressRoute(ir, description) => {
                objects.insert_rejected_ingress_route(ir.clone(), description.clone());
            }
            Item::Service(s) => {
                objects.insert_service(s);
            }
            Item::Secret(s) => {
                let _ = objects.insert_secret(s);
            }
            Item::Delegation(d) => {
                objects.insert_delegation(d.clone());
            }
        }
    }
    objects
}

/// A Fisher-Yates shuffle driven by a small xorshift generator, so orders are
/// reproducible without a dependency.
pub(crate) fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = usize::try_from(state % (i as u64 + 1)).unwrap();
        items.swap(i, j);
    }
}

// ----- assertions ---------------------------------------------------------------------------

/// Asserts the status of `key`: its `currentStatus` and exact description.
#[track_caller]
pub(crate) fn assert_status(dag: &Dag, key: &str, current: CurrentStatus, description: &str) {
    let status = dag
        .status(&r(key))
        .unwrap_or_else(|| panic!("{key} has no status; statuses: {:#?}", dag.statuses()));
    assert_eq!(
        (status.current_status, status.description.as_str()),
        (current, description),
        "status of {key}"
    );
}

/// Asserts `key` is `valid IngressRoute`.
#[track_caller]
pub(crate) fn assert_valid(dag: &Dag, key: &str) {
    assert_status(dag, key, Valid, "valid IngressRoute");
}

/// Asserts `key` is orphaned.
#[track_caller]
pub(crate) fn assert_orphaned(dag: &Dag, key: &str) {
    assert_status(
        dag,
        key,
        Orphaned,
        "this IngressRoute is not part of a delegation chain from a root IngressRoute",
    );
}

/// Asserts `key` is invalid with exactly `description`.
#[track_caller]
pub(crate) fn assert_invalid(dag: &Dag, key: &str, description: &str) {
    assert_status(dag, key, Invalid, description);
}

/// Asserts `key` has no status at all (it was not considered).
#[track_caller]
pub(crate) fn assert_no_status(dag: &Dag, key: &str) {
    assert!(
        dag.status(&r(key)).is_none(),
        "{key} has a status: {:?}",
        dag.status(&r(key))
    );
}

/// The virtual host for `fqdn`; fails if there is none.
#[track_caller]
pub(crate) fn vhost<'a>(dag: &'a Dag, fqdn: &str) -> &'a ServedVirtualHost {
    dag.virtual_hosts().iter().find(|v| v.fqdn == fqdn).unwrap_or_else(|| {
        let fqdns: Vec<&str> = dag.virtual_hosts().iter().map(|v| v.fqdn.as_str()).collect();
        panic!(
            "no virtual host {fqdn:?}; there are {fqdns:?}; statuses: {:#?}",
            dag.statuses()
        )
    })
}

/// Asserts nothing is served for `fqdn`.
#[track_caller]
pub(crate) fn assert_no_vhost(dag: &Dag, fqdn: &str) {
    assert!(
        dag.virtual_hosts().iter().all(|v| v.fqdn != fqdn),
        "{fqdn} is served: {:#?}",
        vhost(dag, fqdn)
    );
}

/// The fqdns served.
pub(crate) fn fqdns(dag: &Dag) -> Vec<&str> {
    dag.virtual_hosts().iter().map(|v| v.fqdn.as_str()).collect()
}

/// The prefixes of a virtual host's routes.
pub(crate) fn prefixes(vhost: &ServedVirtualHost) -> Vec<&str> {
    vhost.routes.iter().map(|r| r.prefix.as_str()).collect()
}

/// The route for `prefix`; fails if there is none.
#[track_caller]
pub(crate) fn route<'a>(vhost: &'a ServedVirtualHost, prefix: &str) -> &'a ServedRoute {
    vhost
        .routes
        .iter()
        .find(|r| r.prefix == prefix)
        .unwrap_or_else(|| panic!("no route {prefix:?} on {}; routes {:?}", vhost.fqdn, prefixes(vhost)))
}

/// `namespace/name:port` of a weighted cluster.
pub(crate) fn upstream(cluster: &WeightedCluster) -> String {
    format!("{}:{}", cluster.cluster.service.meta, cluster.cluster.port.port)
}

/// `namespace/name:port` of every upstream of a route.
pub(crate) fn upstreams(route: &ServedRoute) -> Vec<String> {
    route.clusters.iter().map(upstream).collect()
}

/// `namespace/name:port` and weight of every upstream of the TCP proxy of `fqdn`.
#[track_caller]
pub(crate) fn tcp_upstreams(dag: &Dag, fqdn: &str) -> Vec<(String, u32)> {
    let secure = vhost(dag, fqdn)
        .secure
        .as_ref()
        .unwrap_or_else(|| panic!("{fqdn} has no TLS side"));
    let proxy = secure
        .tcp_proxy
        .as_ref()
        .unwrap_or_else(|| panic!("{fqdn} has no TCP proxy"));
    proxy.clusters.iter().map(|c| (upstream(c), c.weight)).collect()
}
