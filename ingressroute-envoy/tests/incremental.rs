//! The incremental translation equals a translation from scratch after every step of
//! random edit sequences: every resource byte for byte, and what each one names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use ingressroute_dag::{Dag, ServedVirtualHost};
use ingressroute_envoy::{Changes, EncodedResource, HttpRoutes, ResourceKind, Resources, Translator, pack};
use proptest::prelude::*;
use support::*;

/// One root IngressRoute of a generated world.
#[derive(Debug, Clone)]
struct Root {
    fqdn: usize,
    /// Routes: (prefix, service, weight, options), options a set of [`ROUTE_OPTIONS`] bits.
    routes: Vec<(usize, usize, i64, u8)>,
    /// TLS: none, terminated with the certificate, or passed through with a TCP proxy.
    tls: u8,
    tcpproxy: Option<usize>,
    /// A delegated route to the shared child.
    delegates: bool,
    permit_insecure: bool,
}

const FQDNS: [&str; 6] = [
    "a.com",
    "b.com",
    "C.com",
    "d.example.com",
    "e.example.com",
    "f.example.com",
];
const PREFIXES: [&str; 4] = ["/", "/api", "/api/v2", "/static"];
const SERVICES: [&str; 3] = ["kuard", "api", "ext"];
/// How many options a route may have besides its upstream, one bit each: websockets, a prefix
/// rewrite, a timeout, no timeout at all, retries, retries with a per-try timeout, cookie
/// session affinity.
const ROUTE_OPTIONS: u8 = 7;

fn root() -> impl Strategy<Value = Root> {
    (
        0..FQDNS.len(),
        prop::collection::vec(
            (
                0..PREFIXES.len(),
                0..SERVICES.len(),
                0i64..3,
                any::<u8>().prop_map(|o| o & ((1 << ROUTE_OPTIONS) - 1)),
            ),
            0..4,
        ),
        0u8..3,
        prop::option::of(0..SERVICES.len()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(fqdn, routes, tls, tcpproxy, delegates, permit_insecure)| Root {
            fqdn,
            routes,
            tls,
            tcpproxy,
            delegates,
            permit_insecure,
        })
}

/// A world: roots, a child, and whether each Service and the secret exist.
#[derive(Debug, Clone)]
struct Spec {
    roots: Vec<Root>,
    child_service: usize,
    services: [bool; 3],
    secret: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(root(), 0..5),
        0..SERVICES.len(),
        [any::<bool>(), any::<bool>(), any::<bool>()],
        any::<bool>(),
    )
        .prop_map(|(roots, child_service, services, secret)| Spec {
            roots,
            child_service,
            services,
            secret,
        })
}

/// One edit of a world.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, Root),
    Remove(usize),
    Add(Root),
    ToggleService(usize),
    ToggleSecret,
    ChildService(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..5, root()).prop_map(|(i, r)| Edit::Replace(i, r)),
        (0usize..5).prop_map(Edit::Remove),
        root().prop_map(Edit::Add),
        (0..SERVICES.len()).prop_map(Edit::ToggleService),
        Just(Edit::ToggleSecret),
        (0..SERVICES.len()).prop_map(Edit::ChildService),
    ]
}

impl Spec {
    fn apply(&mut self, edit: &Edit) {
        match edit {
            Edit::Replace(i, root) => {
                if let Some(slot) = self.roots.get_mut(*i) {
                    *slot = root.clone();
                }
            }
            Edit::Remove(i) => {
                if *i < self.roots.len() {
                    self.roots.remove(*i);
                }
            }
            Edit::Add(root) => self.roots.push(root.clone()),
            Edit::ToggleService(i) => self.services[*i] = !self.services[*i],
            Edit::ToggleSecret => self.secret = !self.secret,
            Edit::ChildService(i) => self.child_service = *i,
        }
    }

    fn world(&self, layout: HttpRoutes) -> World {
        let mut world = World::new().with_config(|c| c.http_routes = layout);
        for (i, root) in self.roots.iter().enumerate() {
            world = world.root(&format!("default/r{i}"), FQDNS[root.fqdn]);
            match root.tls {
                1 => world = world.tls("tls"),
                2 => world = world.passthrough(),
                _ => {}
            }
            if let Some(service) = root.tcpproxy {
                world = world.tcpproxy(svc(SERVICES[service], 80));
            }
            for (prefix, service, weight, options) in &root.routes {
                let option = |bit: u8| options & (1 << bit) != 0;
                let mut upstream = svc(SERVICES[*service], 80).weight(*weight);
                if option(6) {
                    upstream = upstream.strategy("Cookie");
                }
                world = world.route(PREFIXES[*prefix], upstream);
                if root.permit_insecure {
                    world = world.permit_insecure();
                }
                if option(0) {
                    world = world.websockets();
                }
                if option(1) {
                    world = world.prefix_rewrite("/v1");
                }
                if option(3) {
                    world = world.timeout("infinity");
                } else if option(2) {
                    world = world.timeout("1m30.5s");
                }
                if option(4) || option(5) {
                    world = world.retry(Some(i64::from(*options % 4)), option(5).then_some("150ms"));
                }
            }
            if root.delegates {
                world = world.route("/child", delegate("default/child"));
            }
        }
        world = world
            .child("default/child")
            .route("/child", svc(SERVICES[self.child_service], 80));
        for (i, exists) in self.services.iter().enumerate() {
            if *exists {
                let key = format!("default/{}", SERVICES[i]);
                let service = if SERVICES[i] == "ext" {
                    kube_service(&key).port(80).external_name("example.org")
                } else {
                    kube_service(&key).named_port("http", 80)
                };
                world = world
                    .service(service)
                    .endpoints(&key, &[("http", &["10.0.0.1", "10.0.0.2"], 8080)]);
            }
        }
        if self.secret {
            world = world.tls_secret("default/tls");
        }
        world
    }
}

/// Every resource of a translation, encoded, with what it names (as a set).
/// Resources by kind and name: their bytes and what they name.
type Served = BTreeMap<(ResourceKind, String), (Vec<u8>, BTreeSet<(ResourceKind, String)>)>;

fn expected(resources: &Resources) -> Served {
    let mut all = BTreeMap::new();
    for kind in ResourceKind::ALL {
        let references = resources.references(kind).unwrap();
        for ((name, any), (_, refs)) in resources.encoded(kind).into_iter().zip(references) {
            use prost::Message as _;
            let refs = refs.into_iter().map(|r| (r.kind, r.name.to_string())).collect();
            all.insert((kind, name), (any.encode_to_vec(), refs));
        }
    }
    all
}

fn actual(resources: &[EncodedResource]) -> Served {
    resources
        .iter()
        .map(|r| {
            let refs = r.references.iter().map(|r| (r.kind, r.name.to_string())).collect();
            ((r.kind, r.name.to_string()), (r.any.to_vec(), refs))
        })
        .collect()
}

/// The fqdns whose virtual host differs between two builds.
fn changed_hosts(old: &Dag, new: &Dag) -> BTreeSet<String> {
    let index = |dag: &Dag| -> BTreeMap<String, ServedVirtualHost> {
        dag.virtual_hosts()
            .iter()
            .map(|v| (v.fqdn.clone(), (**v).clone()))
            .collect()
    };
    let (old, new) = (index(old), index(new));
    old.keys()
        .chain(new.keys())
        .filter(|fqdn| old.get(*fqdn) != new.get(*fqdn))
        .cloned()
        .collect()
}

fn check(spec: &Spec, edits: &[Edit], layout: HttpRoutes) -> Result<(), TestCaseError> {
    let mut spec = spec.clone();
    let world = spec.world(layout);
    let mut dag = world.dag();
    let (_, endpoints) = World::inputs_from(world.items());
    let mut translator = Translator::new(world.config.clone());
    let changes = translator.full(dag.virtual_hosts(), &endpoints);
    prop_assert!(changes.removals.is_empty());
    prop_assert_eq!(actual(&translator.resources()), expected(&world.translate()));
    for edit in edits {
        spec.apply(edit);
        let world = spec.world(layout);
        let next = world.dag();
        let (_, endpoints) = World::inputs_from(world.items());
        let changed = changed_hosts(&dag, &next);
        let before = actual(&translator.resources());
        let changes = translator.update(
            changed.iter().map(String::as_str),
            |fqdn| next.virtual_hosts().iter().find(|v| v.fqdn == fqdn).map(|v| &**v),
            &endpoints,
        );
        let want = expected(&world.translate());
        prop_assert_eq!(actual(&translator.resources()), want.clone(), "after {:?}", edit);
        // The changes are exactly the difference.
        prop_assert_eq!(applied(before, &changes)?, want);
        dag = next;
    }
    // A relist from the first world straight to the last one: a full translation over
    // what was served changes exactly the difference, and leaves a translator that serves
    // what the incremental one does.
    let mut relisted = Translator::new(world.config.clone());
    relisted.full(world.dag().virtual_hosts(), &World::inputs_from(world.items()).1);
    let before = actual(&relisted.resources());
    let changes = relisted.full(dag.virtual_hosts(), &endpoints_now(&spec, layout));
    let relisted_served = applied(before, &changes)?;
    prop_assert_eq!(&relisted_served, &actual(&translator.resources()));
    prop_assert_eq!(actual(&relisted.resources()), relisted_served);
    Ok(())
}

/// What was served, `before`, with `changes` applied; fails when a removal removes
/// nothing or an upsert changes nothing (the changes must be exactly the difference).
fn applied(mut before: Served, changes: &Changes) -> Result<Served, TestCaseError> {
    for (kind, name) in &changes.removals {
        prop_assert!(
            before.remove(&(*kind, name.clone())).is_some(),
            "removed {} {}",
            kind,
            name
        );
    }
    for (key, value) in actual(&changes.upserts) {
        let previous = before.insert(key, value.clone());
        prop_assert_ne!(previous, Some(value), "an unchanged upsert");
    }
    Ok(before)
}

/// The endpoints of the world `spec` describes now.
fn endpoints_now(spec: &Spec, layout: HttpRoutes) -> ingressroute_envoy::Endpoints {
    World::inputs_from(spec.world(layout).items()).1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn incremental_translation_equals_a_fresh_one_after_every_edit_in_route_buckets(
        spec in spec(),
        edits in prop::collection::vec(edit(), 1..12),
    ) {
        check(&spec, &edits, HttpRoutes::Scoped { buckets: 3 })?;
    }

    #[test]
    fn incremental_translation_equals_a_fresh_one_after_every_edit_in_contours_layout(
        spec in spec(),
        edits in prop::collection::vec(edit(), 1..12),
    ) {
        check(&spec, &edits, HttpRoutes::Single)?;
    }
}

/// Every golden case and bundled example: a full translation gives what `translate` does.
#[test]
fn a_full_translation_of_every_golden_case_is_translate_encoded() {
    for case in support::cases::all() {
        let (_, endpoints) = World::inputs_from(case.world.items());
        let mut translator = Translator::new(case.world.config.clone());
        let changes = translator.full(case.world.dag().virtual_hosts(), &endpoints);
        assert_eq!(actual(&changes.upserts), expected(&case.resources()), "{}", case.name);
    }
}

#[test]
fn a_full_translation_serves_what_translate_gives_and_drops_what_is_gone() {
    let world = World::new()
        .root("default/a", "a.com")
        .route("/", svc("kuard", 80))
        .root("default/s", "s.com")
        .tls("tls")
        .route("/", svc("kuard", 80))
        .service(kube_service("default/kuard").named_port("http", 80))
        .tls_secret("default/tls");
    let (_, endpoints) = World::inputs_from(world.items());
    let mut translator = Translator::new(world.config.clone());
    let first = translator.full(world.dag().virtual_hosts(), &endpoints);
    assert_eq!(actual(&first.upserts), expected(&world.translate()));
    // Everything gone: a full translation of nothing removes every resource.
    let gone = translator.full(std::iter::empty(), &endpoints);
    assert!(gone.upserts.is_empty());
    assert_eq!(gone.removals.len(), first.upserts.len());
    assert!(translator.resources().is_empty());
    // The packing of a resource is `pack` of its message.
    let listener = &world.translate().listeners[0];
    let again = translator.full(world.dag().virtual_hosts(), &endpoints);
    let served = again
        .upserts
        .iter()
        .find(|r| r.kind == ResourceKind::Listener && *r.name == *listener.name)
        .unwrap();
    assert_eq!(served.any, pack(listener));
}

#[test]
fn an_endpoints_change_updates_only_the_assignments_of_that_service() {
    let world = |ip: &str| {
        World::new()
            .root("default/a", "a.com")
            .route("/", svc("kuard", 80))
            .route("/api", svc("api", 80))
            .service(kube_service("default/kuard").named_port("http", 80))
            .service(kube_service("default/api").named_port("http", 80))
            .endpoints("default/kuard", &[("http", &["10.0.0.1"], 8080)])
            .endpoints("default/api", &[("http", &[ip], 8080)])
    };
    let first = world("10.0.0.2");
    let (_, endpoints) = World::inputs_from(first.items());
    let mut translator = Translator::new(first.config.clone());
    translator.full(first.dag().virtual_hosts(), &endpoints);
    let api = ingressroute_dag::ObjectRef::new("default", "api");
    assert!(translator.reads_endpoints_of(&api));
    assert!(!translator.reads_endpoints_of(&ingressroute_dag::ObjectRef::new("default", "other")));

    let second = world("10.0.0.3");
    let (_, endpoints) = World::inputs_from(second.items());
    let changes = translator.update_endpoints_of(&BTreeSet::from([api]), &endpoints);
    assert!(changes.removals.is_empty());
    assert_eq!(
        changes.upserts.iter().map(|r| (r.kind, &*r.name)).collect::<Vec<_>>(),
        [(ResourceKind::ClusterLoadAssignment, "default/api/http")]
    );
    assert_eq!(actual(&translator.resources()), expected(&second.translate()));
}
