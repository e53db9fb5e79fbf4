//! Incremental builds ([`IncrementalDag`]) give what a full [`build`] gives, after every
//! change, and say exactly what changed.
//!
//! The property test starts from a generated world (`support/world.rs`, with ingress
//! classes, rejected objects, Services and Secrets present or not, and a
//! TLSCertificateDelegation on top) and applies random edits: objects replaced, removed
//! and inserted again, fqdns renamed (to collide or not), delegations added, moved and
//! removed (closing and breaking cycles), tcpproxy delegations, rejections and classes
//! toggled, Services, Secrets and the delegation changed, and objects named as changed
//! that did not change. After every batch of edits, the incremental result must equal a
//! fresh build: every status, every virtual host (all fields, route order), the graph
//! (as DOT and cycles) and the lookups; its change list must be exactly what differs from
//! the previous build; and every unchanged virtual host must be the previous `Arc`.
//!
//! The unit tests below pin the blast radius on small cases.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod support;

#[path = "support/world.rs"]
mod world;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ingressroute_api::{
    CertificateDelegation, INGRESS_CLASS_ANNOTATIONS, IngressRoute, TLSCertificateDelegation,
    TLSCertificateDelegationSpec,
};
use ingressroute_dag::{ChangedObjects, Config, Dag, DagUpdate, IncrementalDag, ObjectRef, Objects, build};
use k8s_openapi::api::core::v1 as core_v1;
use proptest::prelude::*;

use support::{Fixture, Item, Valid, assert_invalid, assert_status, delegate, r, route, svc, vhost};
use world::{FQDNS, GenObject, GenTarget, NAMESPACES, SERVICES, World, object, target, world};

// ----- comparing builds ---------------------------------------------------------------------

/// Every Service and Secret name the generated worlds may look up.
fn names() -> Vec<ObjectRef> {
    let mut names = Vec::new();
    for ns in NAMESPACES {
        for name in SERVICES.iter().chain(&["tls", "nope"]) {
            names.push(ObjectRef::new(ns, *name));
        }
    }
    names
}

/// The incremental DAG equals the fresh one in everything a caller can see.
fn same(incremental: &Dag, fresh: &Dag) -> Result<(), TestCaseError> {
    prop_assert_eq!(incremental.statuses(), fresh.statuses());
    prop_assert_eq!(incremental.virtual_hosts(), fresh.virtual_hosts());
    prop_assert_eq!(incremental.graph().to_dot(), fresh.graph().to_dot());
    prop_assert_eq!(incremental.graph().cycles(), fresh.graph().cycles());
    for name in names() {
        prop_assert_eq!(
            incremental.references_service(&name),
            fresh.references_service(&name),
            "service {}",
            name
        );
        prop_assert_eq!(
            incremental.references_secret(&name),
            fresh.references_secret(&name),
            "secret {}",
            name
        );
    }
    Ok(())
}

/// The change list is exactly what differs between two builds, and every virtual host
/// not in it is shared with the previous incremental DAG.
fn changes_are_exact(update: &DagUpdate, before: &Dag, after: &Dag, previous: &Dag) -> Result<(), TestCaseError> {
    let hosts = |dag: &Dag| -> BTreeMap<String, ingressroute_dag::ServedVirtualHost> {
        dag.virtual_hosts()
            .iter()
            .map(|v| (v.fqdn.clone(), v.as_ref().clone()))
            .collect()
    };
    let (old, new) = (hosts(before), hosts(after));
    let expected: BTreeSet<String> = old
        .keys()
        .chain(new.keys())
        .filter(|fqdn| old.get(*fqdn) != new.get(*fqdn))
        .cloned()
        .collect();
    prop_assert_eq!(&update.changes.virtual_hosts, &expected);

    let expected: BTreeSet<ObjectRef> = before
        .statuses()
        .keys()
        .chain(after.statuses().keys())
        .filter(|key| before.status(key) != after.status(key))
        .cloned()
        .collect();
    prop_assert_eq!(&update.changes.statuses, &expected);

    for host in update.dag.virtual_hosts() {
        if !update.changes.virtual_hosts.contains(&host.fqdn) {
            let shared = previous.virtual_hosts().iter().any(|old| Arc::ptr_eq(old, host));
            prop_assert!(shared, "{} is unchanged but not shared", host.fqdn);
        }
    }
    Ok(())
}

// ----- the model the edits change -----------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Unset,
    Served,
    Other,
}

/// A generated world and everything around it that edits may change.
#[derive(Debug, Clone)]
struct Model {
    world: World,
    present: Vec<bool>,
    class: Vec<Class>,
    rejected: Vec<bool>,
    /// (namespace, Service) → port.
    services: BTreeMap<(usize, usize), i32>,
    /// Namespaces with the TLS Secret `tls`.
    secrets: BTreeSet<usize>,
    /// Namespace `a` delegates its Secret `tls` to `b` (0), to `*` (1), to `c` (2).
    delegation: Option<usize>,
}

/// What the objects should be.
#[derive(Debug, Clone, Default)]
struct Desired {
    routes: BTreeMap<ObjectRef, (IngressRoute, Option<String>)>,
    services: BTreeMap<ObjectRef, core_v1::Service>,
    secrets: BTreeMap<ObjectRef, core_v1::Secret>,
    delegations: BTreeMap<ObjectRef, TLSCertificateDelegation>,
}

impl Model {
    fn key(&self, i: usize) -> ObjectRef {
        ObjectRef::new(NAMESPACES[self.world.objects[i].namespace], world::name(i))
    }

    fn desired(&self) -> Desired {
        let mut desired = Desired::default();
        for i in 0..self.world.objects.len() {
            if !self.present[i] {
                continue;
            }
            let mut route = self.world.ingress_route(i);
            let class = match self.class[i] {
                Class::Unset => None,
                Class::Served => Some("contour"),
                Class::Other => Some("other"),
            };
            if let Some(class) = class {
                route.metadata.annotations = Some(BTreeMap::from([(
                    INGRESS_CLASS_ANNOTATIONS[i % INGRESS_CLASS_ANNOTATIONS.len()].to_owned(),
                    class.to_owned(),
                )]));
            }
            let rejection = self.rejected[i].then(|| format!("r{i} is rejected"));
            desired.routes.insert(self.key(i), (route, rejection));
        }
        for ((ns, name), port) in &self.services {
            let mut service = world::k8s_service(NAMESPACES[*ns], SERVICES[*name]);
            if let Some(ports) = service.spec.as_mut().and_then(|s| s.ports.as_mut()) {
                ports[0].port = *port;
            }
            desired
                .services
                .insert(ObjectRef::new(NAMESPACES[*ns], SERVICES[*name]), service);
        }
        for ns in &self.secrets {
            desired.secrets.insert(
                ObjectRef::new(NAMESPACES[*ns], "tls"),
                world::tls_secret(NAMESPACES[*ns], "tls"),
            );
        }
        if let Some(targets) = self.delegation {
            let target = ["b", "*", "c"][targets];
            let spec = TLSCertificateDelegationSpec {
                delegations: vec![CertificateDelegation {
                    secret_name: "tls".into(),
                    target_namespaces: vec![target.into()],
                }],
            };
            let mut delegation = TLSCertificateDelegation::new("share", spec);
            delegation.metadata.namespace = Some("a".into());
            desired.delegations.insert(ObjectRef::new("a", "share"), delegation);
        }
        desired
    }

    fn edit(&mut self, edit: &Edit, changed: &mut ChangedObjects) {
        let n = self.world.objects.len();
        match edit {
            Edit::Replace(i, object) => {
                let i = i % n;
                let namespace = self.world.objects[i].namespace;
                self.world.objects[i] = GenObject {
                    namespace,
                    ..object.clone()
                };
            }
            Edit::Toggle(i) => self.present[i % n] = !self.present[i % n],
            Edit::Fqdn(i, fqdn) => {
                let o = &mut self.world.objects[i % n];
                let tls = o.root.take().and_then(|(_, tls)| tls);
                o.root = Some((*fqdn, tls));
            }
            Edit::Unroot(i) => self.world.objects[i % n].root = None,
            Edit::Delegate(i, k, to) => {
                let o = &mut self.world.objects[i % n];
                if o.routes.is_empty() {
                    o.routes.push(world::GenRoute {
                        prefix: 0,
                        services: Vec::new(),
                        delegate: None,
                        websockets: false,
                        timeout: None,
                    });
                }
                let len = o.routes.len();
                let route = &mut o.routes[k % len];
                route.services.clear();
                route.delegate = Some(to.clone());
            }
            Edit::Serve(i, k) => {
                let o = &mut self.world.objects[i % n];
                if !o.routes.is_empty() {
                    let len = o.routes.len();
                    let route = &mut o.routes[k % len];
                    route.delegate = None;
                    if route.services.is_empty() {
                        route.services.push(world::GenService {
                            name: 0,
                            port: 80,
                            weight: None,
                        });
                    }
                }
            }
            Edit::TcpDelegate(i, to) => {
                self.world.objects[i % n].tcp = to.as_ref().map(|t| (Vec::new(), Some(t.clone())));
            }
            Edit::Reject(i) => self.rejected[i % n] = !self.rejected[i % n],
            Edit::Class(i, class) => self.class[i % n] = *class,
            Edit::Service(ns, name, port) => match port {
                Some(port) => {
                    self.services.insert((*ns, *name), *port);
                }
                None => {
                    self.services.remove(&(*ns, *name));
                }
            },
            Edit::Secret(ns) => {
                if !self.secrets.remove(ns) {
                    self.secrets.insert(*ns);
                }
            }
            Edit::Delegation(targets) => self.delegation = *targets,
            Edit::Touch(i) => {
                changed.ingress_routes.insert(self.key(i % n));
                changed.services.insert(ObjectRef::new("a", "s1"));
            }
        }
    }
}

/// Brings `objects` from `old` to `new`, noting every key that changed.
fn apply(objects: &mut Objects, old: &Desired, new: &Desired, changed: &mut ChangedObjects) {
    fn diff<'a, T: PartialEq>(
        old: &'a BTreeMap<ObjectRef, T>,
        new: &'a BTreeMap<ObjectRef, T>,
    ) -> Vec<(&'a ObjectRef, Option<&'a T>)> {
        let keys: BTreeSet<&ObjectRef> = old.keys().chain(new.keys()).collect();
        keys.into_iter()
            .filter(|key| old.get(*key) != new.get(*key))
            .map(|key| (key, new.get(key)))
            .collect()
    }
    for (key, route) in diff(&old.routes, &new.routes) {
        match route {
            Some((route, None)) => objects.insert_ingress_route(route.clone()),
            Some((route, Some(rejection))) => objects.insert_rejected_ingress_route(route.clone(), rejection),
            None => {
                objects.remove_ingress_route(key);
                key.clone()
            }
        };
        changed.ingress_routes.insert(key.clone());
    }
    for (key, service) in diff(&old.services, &new.services) {
        match service {
            Some(service) => objects.insert_service(service),
            None => {
                objects.remove_service(key);
                key.clone()
            }
        };
        changed.services.insert(key.clone());
    }
    for (key, secret) in diff(&old.secrets, &new.secrets) {
        match secret {
            Some(secret) => {
                objects.insert_secret(secret).unwrap();
            }
            None => {
                objects.remove_secret(key);
            }
        }
        changed.secrets.insert(key.clone());
    }
    for (key, delegation) in diff(&old.delegations, &new.delegations) {
        match delegation {
            Some(delegation) => objects.insert_delegation(delegation.clone()),
            None => {
                objects.remove_delegation(key);
                key.clone()
            }
        };
        changed.delegations.insert(key.clone());
    }
}

// ----- edits --------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Edit {
    /// Object i gets a new spec (in its namespace).
    Replace(usize, GenObject),
    /// Object i is removed, or inserted again.
    Toggle(usize),
    /// Object i becomes a root of this fqdn (keeping its TLS).
    Fqdn(usize, usize),
    /// Object i is no longer a root.
    Unroot(usize),
    /// Route k of object i delegates to a target.
    Delegate(usize, usize, GenTarget),
    /// Route k of object i serves a Service instead of delegating.
    Serve(usize, usize),
    /// Object i's tcpproxy delegates to a target, or goes.
    TcpDelegate(usize, Option<GenTarget>),
    /// Object i's rejection is toggled.
    Reject(usize),
    /// Object i's ingress class.
    Class(usize, Class),
    /// A Service gets this port, or goes.
    Service(usize, usize, Option<i32>),
    /// A namespace's TLS Secret is toggled.
    Secret(usize),
    /// Namespace `a`'s TLSCertificateDelegation.
    Delegation(Option<usize>),
    /// Object i (and Service `a/s1`) named as changed, unchanged.
    Touch(usize),
}

fn edit(n: usize, roots: usize) -> impl Strategy<Value = Edit> {
    let i = 0..n;
    prop_oneof![
        4 => (i.clone(), object(n, roots, n)).prop_map(|(i, o)| Edit::Replace(i, o)),
        2 => i.clone().prop_map(Edit::Toggle),
        3 => (i.clone(), 0..FQDNS.len()).prop_map(|(i, f)| Edit::Fqdn(i, f)),
        1 => i.clone().prop_map(Edit::Unroot),
        4 => (i.clone(), 0..5_usize, target(n, roots)).prop_map(|(i, k, t)| Edit::Delegate(i, k, t)),
        2 => (i.clone(), 0..5_usize).prop_map(|(i, k)| Edit::Serve(i, k)),
        1 => (i.clone(), prop::option::of(target(n, roots))).prop_map(|(i, t)| Edit::TcpDelegate(i, t)),
        1 => i.clone().prop_map(Edit::Reject),
        1 => (i.clone(), prop_oneof![Just(Class::Unset), Just(Class::Served), Just(Class::Other)])
            .prop_map(|(i, c)| Edit::Class(i, c)),
        2 => (0..NAMESPACES.len(), 0..SERVICES.len(), prop::option::of(prop_oneof![Just(80), Just(8080)]))
            .prop_map(|(ns, s, p)| Edit::Service(ns, s, p)),
        1 => (0..NAMESPACES.len()).prop_map(Edit::Secret),
        1 => prop::option::of(0..3_usize).prop_map(Edit::Delegation),
        1 => i.prop_map(Edit::Touch),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    model: Model,
    /// Batches of edits: one update after each batch.
    batches: Vec<Vec<Edit>>,
}

fn case() -> impl Strategy<Value = Case> {
    world().prop_flat_map(|world| {
        let n = world.objects.len();
        let roots = world.objects.iter().take_while(|o| o.root.is_some()).count().max(1);
        let class = prop_oneof![10 => Just(Class::Unset), 2 => Just(Class::Served), 1 => Just(Class::Other)];
        (
            Just(world),
            prop::collection::vec(class, n),
            prop::collection::vec(prop::bool::weighted(0.05), n),
            prop::collection::vec(prop::collection::vec(edit(n, roots), 1..4), 1..16),
            prop::option::weighted(0.3, 0..3_usize),
        )
            .prop_map(|(world, class, rejected, batches, delegation)| {
                let n = world.objects.len();
                Case {
                    model: Model {
                        world,
                        present: vec![true; n],
                        class,
                        rejected,
                        services: BTreeMap::from([((0, 0), 80), ((1, 0), 80), ((0, 1), 80)]),
                        secrets: BTreeSet::from([0, 1]),
                        delegation,
                    },
                    batches,
                }
            })
    })
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let mut model = case.model.clone();
    let config: Config = model.world.config();
    let mut desired = model.desired();
    let mut objects = Objects::new();
    apply(&mut objects, &Desired::default(), &desired, &mut ChangedObjects::new());

    let mut incremental = IncrementalDag::new(&objects, &config);
    let mut previous = incremental.dag();
    let mut before = build(&objects, &config);
    same(&previous, &before)?;

    for (step, batch) in case.batches.iter().enumerate() {
        let mut changed = ChangedObjects::new();
        for edit in batch {
            model.edit(edit, &mut changed);
        }
        let next = model.desired();
        apply(&mut objects, &desired, &next, &mut changed);
        desired = next;

        let update = incremental.update(&objects, &changed);
        let after = build(&objects, &config);
        let dot = after.graph().to_dot();
        same(&update.dag, &after).map_err(|e| TestCaseError::fail(format!("after batch {step}: {e}\n{dot}")))?;
        changes_are_exact(&update, &before, &after, &previous)
            .map_err(|e| TestCaseError::fail(format!("changes of batch {step}: {e}\n{dot}")))?;
        previous = update.dag;
        before = after;
    }
    Ok(())
}

proptest! {
    // 2,000 worlds with 1-15 batches of 1-3 edits: about 16,000 updates, each compared
    // with a full build.
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn every_update_gives_what_a_full_build_gives(case in case()) {
        check(&case)?;
    }
}

// ----- the blast radius ---------------------------------------------------------------------

/// The objects that differ between two fixtures, by kind.
fn changed_between(before: &Fixture, after: &Fixture) -> ChangedObjects {
    fn key(item: &Item) -> (u8, ObjectRef) {
        match item {
            Item::IngressRoute(ir) | Item::RejectedIngressRoute(ir, _) => (0, ObjectRef::from_meta(&ir.metadata)),
            Item::Service(s) => (1, ObjectRef::from_meta(&s.metadata)),
            Item::Secret(s) => (2, ObjectRef::from_meta(&s.metadata)),
            Item::Delegation(d) => (3, ObjectRef::from_meta(&d.metadata)),
        }
    }
    fn same_item(a: &Item, b: &Item) -> bool {
        match (a, b) {
            (Item::IngressRoute(a), Item::IngressRoute(b)) => a == b,
            (Item::RejectedIngressRoute(a, x), Item::RejectedIngressRoute(b, y)) => a == b && x == y,
            (Item::Service(a), Item::Service(b)) => a == b,
            (Item::Secret(a), Item::Secret(b)) => a == b,
            (Item::Delegation(a), Item::Delegation(b)) => a == b,
            _ => false,
        }
    }
    let index = |fixture: &Fixture| -> BTreeMap<(u8, ObjectRef), Item> {
        fixture.items().iter().map(|item| (key(item), item.clone())).collect()
    };
    let (old, new) = (index(before), index(after));
    let mut changed = ChangedObjects::new();
    for (kind, key) in old.keys().chain(new.keys()) {
        let differs = match (old.get(&(*kind, key.clone())), new.get(&(*kind, key.clone()))) {
            (Some(a), Some(b)) => !same_item(a, b),
            _ => true,
        };
        if differs {
            let set = match kind {
                0 => &mut changed.ingress_routes,
                1 => &mut changed.services,
                2 => &mut changed.secrets,
                _ => &mut changed.delegations,
            };
            set.insert(key.clone());
        }
    }
    changed
}

/// Builds `before` incrementally, updates to `after`, checks the result against a full
/// build, and returns the update.
fn step(before: &Fixture, after: &Fixture) -> DagUpdate {
    let mut incremental = IncrementalDag::new(&before.build(), before.config());
    let objects = after.build();
    let update = incremental.update(&objects, &changed_between(before, after));
    let fresh = build(&objects, after.config());
    assert_eq!(update.dag.statuses(), fresh.statuses());
    assert_eq!(update.dag.virtual_hosts(), fresh.virtual_hosts());
    update
}

fn keys(keys: &[&str]) -> BTreeSet<ObjectRef> {
    keys.iter().map(|k| r(k)).collect()
}

/// Two roots, each with a child, and Services.
fn two_sites() -> Fixture {
    Fixture::new()
        .root("one", "one.com")
        .route("/", delegate("one-child"))
        .child("one-child")
        .route("/", svc("s1", 80))
        .root("two", "two.com")
        .route("/", delegate("two-child"))
        .child("two-child")
        .route("/", svc("s2", 80))
        .service("s1", &[80])
        .service("s2", &[80])
        .service("unused", &[80])
}

#[test]
fn a_change_to_an_unrelated_service_walks_nothing_and_changes_nothing() {
    let before = two_sites();
    let after = two_sites().service("unused", &[81]);
    let update = step(&before, &after);
    assert_eq!(update.walked, BTreeSet::new());
    assert!(update.changes.is_empty());
}

#[test]
fn a_change_to_a_service_walks_the_roots_that_looked_it_up() {
    let before = two_sites();
    let after = two_sites().service("s1", &[81]);
    let update = step(&before, &after);
    assert_eq!(update.walked, keys(&["one"]));
    assert_eq!(update.changes.statuses, keys(&["one-child"]));
    assert_eq!(update.changes.virtual_hosts, BTreeSet::from(["one.com".to_owned()]));
    assert_invalid(&update.dag, "one-child", "Service [s1:80] is invalid or missing");
}

#[test]
fn a_child_shared_by_two_roots_walks_both() {
    let shared = |prefix: &str| {
        Fixture::new()
            .root("one", "one.com")
            .route("/", delegate("shared"))
            .root("two", "two.com")
            .route("/", delegate("shared"))
            .root("three", "three.com")
            .route("/", svc("s1", 80))
            .child("shared")
            .route(prefix, svc("s1", 80))
            .service("s1", &[80])
    };
    let update = step(&shared("/"), &shared("/x"));
    assert_eq!(update.walked, keys(&["one", "two"]));
    assert_eq!(
        update.changes.virtual_hosts,
        BTreeSet::from(["one.com".to_owned(), "two.com".to_owned()])
    );
}

#[test]
fn an_object_a_dangling_delegation_names_is_reached_when_it_appears() {
    let before = Fixture::new()
        .root("root", "root.com")
        .route("/", svc("s1", 80))
        .route("/late", delegate("late"))
        .service("s1", &[80]);
    let after = before.clone().child("late").route("/late", svc("s1", 80));
    let update = step(&before, &after);
    assert_eq!(update.walked, keys(&["root"]));
    assert_status(&update.dag, "late", Valid, "valid IngressRoute");
    assert_eq!(
        update.dag.status(&r("late")).unwrap().vhost.as_deref(),
        Some("root.com")
    );
    assert_eq!(update.changes.statuses, keys(&["late"]));
    assert_eq!(update.changes.virtual_hosts, BTreeSet::from(["root.com".to_owned()]));
}

#[test]
fn renaming_an_fqdn_away_unblocks_the_duplicate() {
    let roots = |second: &str| {
        Fixture::new()
            .root("first", "site.com")
            .route("/", svc("s1", 80))
            .root("second", second)
            .route("/", svc("s1", 80))
            .root("bystander", "other.com")
            .route("/", svc("s1", 80))
            .service("s1", &[80])
    };
    let update = step(&roots("SITE.com"), &roots("new.com"));
    assert_eq!(update.walked, keys(&["first", "second"]));
    assert_eq!(update.changes.statuses, keys(&["first", "second"]));
    assert_eq!(
        update.changes.virtual_hosts,
        BTreeSet::from(["new.com".to_owned(), "site.com".to_owned()])
    );
    assert_status(&update.dag, "first", Valid, "valid IngressRoute");

    // And back: both are duplicates again, and serve nothing.
    let update = step(&roots("new.com"), &roots("SITE.com"));
    assert_eq!(update.walked, keys(&["first", "second"]));
    assert_invalid(
        &update.dag,
        "first",
        "fqdn \"site.com\" is used in multiple IngressRoutes: default/first, default/second",
    );
}

#[test]
fn an_object_another_root_finds_invalid_is_not_served_from_a_root_that_did_not_change() {
    // `shared` is fine under `/` (from `one`) and invalid under `/x` (from `two`): a
    // change to `two` alone changes what `one` serves.
    let sites = |two_prefix: &str| {
        Fixture::new()
            .root("one", "one.com")
            .route("/", delegate("shared"))
            .root("two", "two.com")
            .route(two_prefix, delegate("shared"))
            .child("shared")
            .route("/", svc("s1", 80))
            .service("s1", &[80])
    };
    let update = step(&sites("/"), &sites("/x"));
    assert_eq!(update.walked, keys(&["one", "two"]));
    assert!(update.dag.virtual_hosts().is_empty());
    assert_eq!(
        update.changes.virtual_hosts,
        BTreeSet::from(["one.com".to_owned(), "two.com".to_owned()])
    );
}

#[test]
fn a_certificate_delegation_walks_the_roots_that_consulted_its_namespace() {
    let sites = |targets: &[&str]| {
        Fixture::new()
            .root("apps/web", "web.com")
            .tls("certs/wildcard")
            .route("/", svc("s1", 80))
            .root("apps/plain", "plain.com")
            .route("/", svc("s1", 80))
            .service("apps/s1", &[80])
            .tls_secret("certs/wildcard")
            .certificate_delegation("certs/share", "wildcard", targets)
    };
    let update = step(&sites(&["other"]), &sites(&["apps"]));
    assert_eq!(update.walked, keys(&["apps/web"]));
    assert_status(&update.dag, "apps/web", Valid, "valid IngressRoute");
}

#[test]
fn an_unchanged_virtual_host_stays_the_same_arc() {
    let fixture = two_sites();
    let objects = fixture.build();
    let mut incremental = IncrementalDag::new(&objects, fixture.config());
    let previous = incremental.dag();
    let mut changed = ChangedObjects::new();
    changed.ingress_routes.insert(r("one"));
    let update = incremental.update(&objects, &changed);
    assert_eq!(update.walked, keys(&["one"]));
    assert!(update.changes.is_empty());
    assert_eq!(previous.virtual_hosts().len(), 2);
    for (old, new) in previous.virtual_hosts().iter().zip(update.dag.virtual_hosts()) {
        assert!(Arc::ptr_eq(old, new), "{}", new.fqdn);
    }
}

#[test]
fn routes_of_different_roots_share_the_cluster_of_an_upstream_across_updates() {
    let fixture = Fixture::new()
        .root("one", "one.com")
        .route("/", svc("s1", 80))
        .root("two", "two.com")
        .route("/", svc("s1", 80))
        .route("/x", svc("s1", 80).strategy("Random"))
        .service("s1", &[80]);
    let objects = fixture.build();
    let mut incremental = IncrementalDag::new(&objects, fixture.config());
    let cluster =
        |dag: &Dag, fqdn: &str, prefix: &str| Arc::clone(&route(vhost(dag, fqdn), prefix).clusters[0].cluster);
    let first = incremental.dag();
    assert!(Arc::ptr_eq(
        &cluster(&first, "one.com", "/"),
        &cluster(&first, "two.com", "/")
    ));
    assert!(!Arc::ptr_eq(
        &cluster(&first, "one.com", "/"),
        &cluster(&first, "two.com", "/x")
    ));

    // A root walked again takes the cluster the other root still holds.
    let mut changed = ChangedObjects::new();
    changed.ingress_routes.insert(r("one"));
    let update = incremental.update(&objects, &changed);
    assert_eq!(update.walked, keys(&["one"]));
    assert!(Arc::ptr_eq(
        &cluster(&update.dag, "one.com", "/"),
        &cluster(&first, "two.com", "/")
    ));
}
