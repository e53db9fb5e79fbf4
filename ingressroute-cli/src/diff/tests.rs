//! Diffs of small worlds, of generated worlds against themselves and against one
//! mutation of themselves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::path::Path;

use ingressroute_fixtures::{Dataset, Size};
use proptest::prelude::*;

use super::*;

fn loaded(text: &str) -> Loaded {
    let mut loaded = Loaded::new();
    loaded.add_str(Path::new("test.yaml"), text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
    loaded
}

fn diff(old: &str, new: &str) -> Vec<Change> {
    let config = Config::default();
    compare(
        &side(&loaded(old), &config).unwrap(),
        &side(&loaded(new), &config).unwrap(),
    )
}

const SERVICES: &str = "\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: canary, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: default}
subsets: [{addresses: [{ip: 10.0.0.1}, {ip: 10.0.0.2}], ports: [{name: http, port: 8080}]}]
";

fn world(weight: u32, timeout: &str) -> String {
    format!(
        "{SERVICES}---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {{name: root, namespace: default}}
spec:
  virtualhost: {{fqdn: root.example.com}}
  routes:
  - match: /
    services: [{{name: web, port: 80}}]
  - match: /api
    timeoutPolicy: {{request: {timeout}}}
    services: [{{name: web, port: 80, weight: {weight}}}, {{name: canary, port: 80, weight: 10}}]
"
    )
}

#[test]
fn a_world_against_itself_has_no_changes() {
    let changes = diff(&world(90, "5s"), &world(90, "5s"));
    assert!(changes.is_empty(), "{changes:#?}");
    assert_eq!(to_text(&changes), "no changes\n");
}

#[test]
fn a_weight_change_is_one_route_change_in_its_virtual_host() {
    let changes = diff(&world(90, "5s"), &world(50, "5s"));
    assert_eq!(changes.len(), 1, "{changes:#?}");
    let change = &changes[0];
    assert_eq!(change.section, Section::VirtualHost("root.example.com".into()));
    assert_eq!(change.subject, "http route /api");
    assert_eq!(change.effect, Effect::Routes);
    assert_eq!(change.fields.len(), 1, "{:#?}", change.fields);
    assert!(change.fields[0].path.ends_with(".weight"), "{}", change.fields[0].path);
    assert_eq!(change.fields[0].old, Some(90.into()));
    assert_eq!(change.fields[0].new, Some(50.into()));
}

#[test]
fn a_status_change_names_both_statuses_and_the_new_description() {
    let broken = world(90, "5s").replace("name: canary, port: 80", "name: nothere, port: 80");
    let changes = diff(&world(90, "5s"), &broken);
    let text = to_text(&changes);
    assert!(
        text.contains(
            "IngressRoute statuses:\n  ~ default/root: valid -> invalid: Service [nothere:80] is invalid or missing\n"
        ),
        "{text}"
    );
    assert!(changes.iter().any(makes_invalid));
    // The root serves nothing any more: the host, its routes and clusters go.
    assert!(
        changes
            .iter()
            .any(|c| c.subject == "http virtual host" && c.kind == ChangeKind::Removed)
    );
    assert!(changes.iter().any(|c| c.effect == Effect::Listeners), "{text}");
}

#[test]
fn tls_minimum_version_is_a_listener_change_that_drains() {
    let tls = |version: &str| {
        format!(
            "{SERVICES}---
apiVersion: v1
kind: Secret
metadata: {{name: cert, namespace: default}}
type: kubernetes.io/tls
stringData:
  tls.crt: |
{}
  tls.key: |
{}
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {{name: root, namespace: default}}
spec:
  virtualhost: {{fqdn: a.example.com, tls: {{secretName: cert, minimumProtocolVersion: \"{version}\"}}}}
  routes: [{{match: /, services: [{{name: web, port: 80}}]}}]
",
            indent(ingressroute_fixtures::CERTIFICATE_PEM),
            indent(ingressroute_fixtures::PRIVATE_KEY_PEM)
        )
    };
    let changes = diff(&tls("1.2"), &tls("1.3"));
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].effect, Effect::Listeners);
    assert_eq!(changes[0].section, Section::VirtualHost("a.example.com".into()));
    assert_eq!(changes[0].subject, "listener ingress_https filter chain a.example.com");
    let json: serde_json::Value = serde_json::from_str(&to_json(&changes)).unwrap();
    assert_eq!(json["drainsListeners"], true);
    assert_eq!(json["changes"][0]["virtualHost"], "a.example.com");
    // A Secret shows by name only, never its data.
    let secretless = diff(
        &tls("1.2"),
        &tls("1.2").replace("name: cert, namespace", "name: other, namespace"),
    );
    let text = to_text(&secretless);
    assert!(text.contains("secret default/cert"), "{text}");
    assert!(!text.contains("BEGIN"), "{text}");
}

fn indent(pem: &str) -> String {
    pem.lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
        .trim_end()
        .to_owned()
}

#[test]
fn endpoints_compare_as_a_set_of_addresses() {
    let swapped = world(90, "5s").replace("{ip: 10.0.0.1}, {ip: 10.0.0.2}", "{ip: 10.0.0.2}, {ip: 10.0.0.1}");
    assert!(diff(&world(90, "5s"), &swapped).is_empty());
    let more = world(90, "5s").replace("{ip: 10.0.0.2}]", "{ip: 10.0.0.2}, {ip: 10.0.0.3}]");
    let changes = diff(&world(90, "5s"), &more);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].subject, "endpoints default/web/http");
    assert_eq!(changes[0].fields[0].new, Some("10.0.0.3:8080".into()));
}

#[test]
fn reordered_documents_are_not_a_change() {
    let text = world(90, "5s");
    let mut documents: Vec<&str> = text.split("---\n").collect();
    documents.reverse();
    assert!(diff(&text, &documents.join("---\n")).is_empty());
}

/// A generated world as manifests: `roots` roots, each with `routes` routes to its own
/// Services (weights `weights`), every other one with a delegated child.
fn generated(roots: usize, routes: usize, weights: &[u32]) -> String {
    let mut text = String::new();
    for r in 0..roots {
        for s in 0..routes {
            let _ = write!(
                text,
                "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{r}-{s}, namespace: ns-{r}}}\nspec: {{ports: [{{name: http, port: 80}}]}}\n---\napiVersion: v1\nkind: Endpoints\nmetadata: {{name: svc-{r}-{s}, namespace: ns-{r}}}\nsubsets: [{{addresses: [{{ip: 10.{r}.{s}.1}}], ports: [{{name: http, port: 8080}}]}}]\n"
            );
        }
        let _ = write!(
            text,
            "---\napiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata: {{name: root-{r}, namespace: ns-{r}}}\nspec:\n  virtualhost: {{fqdn: host-{r}.example.com}}\n  routes:\n"
        );
        for s in 0..routes {
            let weight = weights
                .get((r * routes + s) % weights.len().max(1))
                .copied()
                .unwrap_or(1);
            let _ = write!(
                text,
                "  - match: /p{s}\n    services: [{{name: svc-{r}-{s}, port: 80, weight: {weight}}}, {{name: svc-{r}-0, port: 80, weight: 1}}]\n"
            );
        }
        if r % 2 == 0 {
            let _ = write!(
                text,
                "  - match: /child\n    delegate: {{name: child-{r}}}\n---\napiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata: {{name: child-{r}, namespace: ns-{r}}}\nspec:\n  routes: [{{match: /child, services: [{{name: svc-{r}-0, port: 80}}]}}]\n"
            );
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_generated_world_against_itself_is_empty(
        roots in 1usize..5,
        routes in 1usize..4,
        weights in proptest::collection::vec(1u32..100, 1..6),
    ) {
        let text = generated(roots, routes, &weights);
        let changes = diff(&text, &text);
        prop_assert!(changes.is_empty(), "{:#?}", changes);
    }

    #[test]
    fn a_mutated_route_lists_exactly_that_route_and_field(
        roots in 1usize..5,
        routes in 1usize..4,
        weights in proptest::collection::vec(1u32..100, 1..6),
        pick in any::<proptest::sample::Index>(),
        mutation in 0usize..3,
        bump in 1u32..50,
    ) {
        let old = generated(roots, routes, &weights);
        let (r, s) = { let i = pick.index(roots * routes); (i / routes, i % routes) };
        let head = format!("  - match: /p{s}\n    services: [{{name: svc-{r}-{s}, port: 80, weight: ");
        let at = old.find(&head).expect("the route is in the world");
        let (new, path, value) = match mutation {
            // The weight of svc-r-s on its own route.
            0 => {
                let start = at + head.len();
                let end = start + old[start..].find('}').expect("the weight ends");
                let weight: u32 = old[start..end].parse().expect("a weight");
                let new = format!("{}{}{}", &old[..start], weight + bump, &old[end..]);
                (new, ".weight", serde_json::Value::from(weight + bump))
            }
            // A request timeout on the route.
            1 => {
                let line = format!("  - match: /p{s}\n");
                let new = old.replacen(&head, &format!("{line}    timeoutPolicy: {{request: {bump}s}}\n{}", &head[line.len()..]), 1);
                (new, "route.timeout", serde_json::Value::from(format!("{bump}s")))
            }
            // A prefix rewrite on the route.
            _ => {
                let line = format!("  - match: /p{s}\n");
                let new = old.replacen(&head, &format!("{line}    prefixRewrite: /v{bump}\n{}", &head[line.len()..]), 1);
                (new, "route.prefix_rewrite", serde_json::Value::from(format!("/v{bump}")))
            }
        };
        let changes = diff(&old, &new);
        prop_assert_eq!(changes.len(), 1, "{:#?}", changes);
        let change = &changes[0];
        prop_assert_eq!(&change.section, &Section::VirtualHost(format!("host-{r}.example.com")));
        prop_assert_eq!(&change.subject, &format!("http route /p{s}"));
        prop_assert_eq!(change.effect, Effect::Routes);
        prop_assert_eq!(change.kind, ChangeKind::Changed);
        prop_assert_eq!(change.fields.len(), 1, "{:#?}", change.fields);
        prop_assert!(change.fields[0].path.ends_with(path), "{}", change.fields[0].path);
        prop_assert_eq!(&change.fields[0].new, &Some(value));
    }
}

/// The generated dataset S as manifests (JSON objects one after another).
fn dataset_text(data: &Dataset) -> String {
    let mut text = String::new();
    for route in &data.ingress_routes {
        text.push_str(&serde_json::to_string(route).unwrap());
    }
    for service in &data.services {
        text.push_str(&serde_json::to_string(service).unwrap());
    }
    for endpoints in &data.endpoints {
        text.push_str(&serde_json::to_string(endpoints).unwrap());
    }
    for secret in &data.secrets {
        text.push_str(&serde_json::to_string(secret).unwrap());
    }
    text
}

fn loaded_json(text: &str) -> Loaded {
    let mut loaded = Loaded::new();
    loaded.add_str(Path::new("dataset.json"), text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
    loaded
}

#[test]
fn the_generated_dataset_against_itself_is_empty_and_against_one_new_timeout_lists_it() {
    let mut data = Dataset::generate(Size::S);
    let config = Config::default();
    let old = side(&loaded_json(&dataset_text(&data)), &config).unwrap();
    assert!(!old.resources.routes.is_empty());
    assert!(compare(&old, &old.clone()).is_empty());
    let same = side(&loaded_json(&dataset_text(&data)), &config).unwrap();
    assert!(compare(&old, &same).is_empty());

    let route = &mut data.ingress_routes[7];
    let fqdn = route.spec.virtualhost.as_ref().unwrap().fqdn.clone();
    let prefix = route.spec.routes[0].match_.clone();
    route.spec.routes[0].timeout_policy = Some(Box::new(ingressroute_api::TimeoutPolicy {
        request: Some("7s".into()),
    }));
    let new = side(&loaded_json(&dataset_text(&data)), &config).unwrap();
    let changes = compare(&old, &new);
    let routes: Vec<&Change> = changes.iter().filter(|c| c.effect == Effect::Routes).collect();
    assert_eq!(routes.len(), changes.len(), "only routes change: {changes:#?}");
    assert!(!routes.is_empty());
    for change in &routes {
        assert_eq!(change.section, Section::VirtualHost(fqdn.clone()));
        assert!(
            change.subject.ends_with(&format!("route {prefix}")),
            "{}",
            change.subject
        );
        assert_eq!(change.fields.len(), 1, "{:#?}", change.fields);
        assert_eq!(change.fields[0].path, "route.timeout");
        assert_eq!(change.fields[0].new, Some("7s".into()));
    }
}

#[test]
fn new_cluster_settings_are_one_changed_cluster_and_one_changed_reference() {
    let checked = |interval: u32| {
        world(90, "5s").replace(
            "  - match: /\n    services: [{name: web, port: 80}]",
            &format!("  - match: /\n    services: [{{name: web, port: 80, healthCheck: {{path: /h, intervalSeconds: {interval}}}}}]"),
        )
    };
    let changes = diff(&checked(5), &checked(9));
    let subjects: Vec<&str> = changes.iter().map(|c| c.subject.as_str()).collect();
    assert_eq!(subjects, ["http route /", "cluster default/web/80"], "{changes:#?}");
    let reference = &changes[0].fields;
    assert_eq!(reference.len(), 1, "{reference:#?}");
    assert_eq!(reference[0].path, "route.cluster");
    let cluster: Vec<&str> = changes[1].fields.iter().map(|f| f.path.as_str()).collect();
    assert!(cluster.contains(&"health_checks[0].interval"), "{cluster:?}");
    assert!(cluster.contains(&"name"), "{cluster:?}");
}
