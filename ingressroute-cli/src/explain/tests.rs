//! Unit tests of `explain`: small worlds written here, the bundled examples, and generated
//! worlds (with a property test).
//!
//! Why one file of this length: every test drives the same entry point (`explain` or an
//! `Explainer`) and shares its fixtures (`BASIC`, `TREE`, the examples, the generated
//! world built once); split by topic they would each repeat them.

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
    assert_eq!(
        e.reason.as_deref(),
        Some("no root IngressRoute has fqdn other.example.com")
    );
    assert_eq!(e.outcome.exit(), Outcome::Invalid);
}

/// Every file of a bundled examples directory, loaded together as `check` loads it.
fn examples(dir: &str) -> Explainer {
    let mut loaded = Loaded::new();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(dir);
    loaded.add_path(&path);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
    Explainer::new(&loaded, &Config::default(), &EnvoyConfig::default())
}

fn chain(e: &Explanation) -> Vec<(String, Option<String>, String)> {
    e.chain
        .iter()
        .map(|s| {
            (
                format!("{}/{}", s.namespace, s.name),
                s.r#match.clone(),
                s.status.clone(),
            )
        })
        .collect()
}

fn step(object: &str, r#match: Option<&str>) -> (String, Option<String>, String) {
    (object.to_owned(), r#match.map(str::to_owned), "valid".to_owned())
}

fn services(e: &Explanation) -> Vec<(String, u32, f64)> {
    e.services
        .iter()
        .map(|s| (format!("{}/{}:{}", s.namespace, s.name, s.port), s.weight, s.share))
        .collect()
}

#[test]
fn a_delegated_path_names_every_ingress_route_of_its_chain_with_its_match() {
    let x = examples("ingressroute");
    let e = x.explain("http://ns-root.bar.com/blog/archive/2019").unwrap();
    assert_eq!(e.outcome, ExplainOutcome::Proxied);
    assert_eq!(
        chain(&e),
        [
            step("default/namespace-delegation-root", Some("/blog")),
            step("marketing/blog", Some("/blog/archive")),
            step("marketing/blog-archive", Some("/blog/archive")),
        ]
    );
    assert_eq!(services(&e), [("marketing/archive:80".to_owned(), 1, 1.0)]);
    // A shorter path stops at the middle of the chain; the root's own route serves the rest.
    let e = x.explain("http://ns-root.bar.com/blog").unwrap();
    assert_eq!(e.chain.last().unwrap().name, "blog");
    let e = x.explain("http://ns-root.bar.com/other").unwrap();
    assert_eq!(chain(&e), [step("default/namespace-delegation-root", Some("/"))]);
}

#[test]
fn routes_are_tried_longest_prefix_first_as_envoy_orders_them() {
    let x = examples("ingressroute");
    let e = x.explain("http://strategy.bar.com/random/x").unwrap();
    let route = e.route.unwrap();
    assert_eq!(route.r#match, "/random");
    assert_eq!(e.services[0].lb_policy.as_deref(), Some("RANDOM"));
    assert_eq!(e.services[0].strategy.as_deref(), Some("Random"));
    // `/randomly` still starts with `/random`: Envoy's prefixes are not path segments.
    let e = x.explain("http://strategy.bar.com/randomly").unwrap();
    assert_eq!(e.route.unwrap().r#match, "/random");
    let e = x.explain("http://strategy.bar.com/").unwrap();
    assert_eq!(e.route.as_ref().unwrap().r#match, "/");
    assert_eq!(e.route.unwrap().index, 2, "after /round-robin and /random");
}

#[test]
fn weights_give_each_service_its_share_of_traffic() {
    let e = examples("ingressroute").explain("http://weights.bar.com/").unwrap();
    assert_eq!(
        services(&e),
        [
            ("default/weights-s1:80".to_owned(), 10, 0.1),
            ("default/weights-s2:80".to_owned(), 90, 0.9),
        ]
    );
}

#[test]
fn a_prefix_rewrite_gives_the_upstream_path() {
    let e = examples("ingressroute")
        .explain("http://app.example.com/service2/x?q=1")
        .unwrap();
    let route = e.route.unwrap();
    assert_eq!(route.prefix_rewrite.as_deref(), Some("/"));
    assert_eq!(route.rewritten_path.as_deref(), Some("//x?q=1"));
    let e = examples("ingressroute")
        .explain("http://app.example.com/a/./b/../c")
        .unwrap();
    assert_eq!(e.route.unwrap().rewritten_path.as_deref(), Some("/a/c"));
}

#[test]
fn timeout_retries_and_websockets_come_from_the_route() {
    let x = examples("ingressroute");
    let e = x.explain("http://timeout.bar.com/").unwrap();
    let route = e.route.unwrap();
    let retries = route.retries.unwrap();
    assert_eq!((retries.count, retries.retry_on.as_str()), (3, "5xx"));
    assert_eq!(retries.per_try_timeout.as_deref(), Some("150ms"));
    assert_eq!(route.timeout.as_deref(), Some("1s"));
    assert!(!route.websockets);
    let e = x.explain("http://timeout.bar.com/stream").unwrap();
    assert_eq!(e.route.unwrap().timeout.as_deref(), Some("infinity"));
    let e = x.explain("http://chat.example.com/websocket").unwrap();
    assert!(e.route.unwrap().websockets);
    let e = x.explain("http://chat.example.com/").unwrap();
    let route = e.route.unwrap();
    assert!(!route.websockets);
    assert_eq!(route.timeout.as_deref(), Some("15s (Envoy's default)"));
}

#[test]
fn health_checks_and_upstream_tls_come_from_the_clusters() {
    let x = examples("ingressroute");
    let e = x.explain("http://health.bar.com/").unwrap();
    let check = e.services[0].health_check.as_ref().unwrap();
    assert_eq!(check.path, "/healthy");
    assert_eq!(check.host.as_deref(), Some("s1-health.internal"));
    assert!(e.services[1].health_check.is_none());
    let e = x.explain("http://secure-backend.bar.com/").unwrap();
    let tls = e.services[0].upstream_tls.as_ref().unwrap();
    assert!(tls.validated);
    assert_eq!(tls.subject_names, ["backend.example.com"]);
    assert_eq!(
        e.services[0].validation_ca.as_deref(),
        Some("default/my-certificate-authority")
    );
}

#[test]
fn plain_http_to_a_tls_virtual_host_is_redirected_unless_the_route_permits_insecure() {
    let x = examples("ingressroute");
    let e = x.explain("http://foo3.bar.com/x?y=1").unwrap();
    assert_eq!((e.outcome, e.status), (ExplainOutcome::Redirected, Some(301)));
    let route = e.route.unwrap();
    assert_eq!(route.location.as_deref(), Some("https://foo3.bar.com/x?y=1"));
    assert!(e.services.is_empty());
    assert_eq!(e.outcome.exit(), Outcome::Valid);

    let e = x.explain("http://foo3.bar.com/blog/1").unwrap();
    assert_eq!(e.outcome, ExplainOutcome::Proxied);
    assert!(e.route.unwrap().permit_insecure);

    let e = x.explain("https://foo3.bar.com/x").unwrap();
    assert_eq!(e.outcome, ExplainOutcome::Proxied);
    let listener = e.listener.unwrap();
    assert_eq!(listener.name, "ingress_https");
    assert_eq!(listener.tls.as_deref(), Some("terminate"));
    assert_eq!(listener.server_names, ["foo3.bar.com"]);
    assert!(!e.route.unwrap().permit_insecure);
}

#[test]
fn tcp_proxies_say_passthrough_or_termination_and_their_upstreams() {
    let x = examples("ingressroute");
    let e = x.explain("https://tcp-passthrough.example.com/").unwrap();
    assert_eq!(e.outcome, ExplainOutcome::TcpProxied);
    assert_eq!(e.listener.as_ref().unwrap().tls.as_deref(), Some("passthrough"));
    assert!(e.virtual_host.as_ref().unwrap().tcp_proxy);
    assert_eq!(
        services(&e),
        [
            ("default/passthrough-otherservice:9443".to_owned(), 20, 0.2),
            ("default/passthrough-tcpservice:8443".to_owned(), 80, 0.8),
        ]
    );
    let e = x.explain("https://tcp.example.com/").unwrap();
    assert_eq!(e.listener.as_ref().unwrap().tls.as_deref(), Some("terminate"));
    assert_eq!(chain(&e), [step("default/tcp-termination", None)]);
    // Delegated: the chain goes through the tcpproxy delegation.
    let e = x.explain("https://tcp-delegation.example.com/").unwrap();
    assert_eq!(e.outcome, ExplainOutcome::TcpProxied);
    assert!(e.chain.len() >= 2, "{:?}", e.chain);
}

#[test]
fn https_to_a_virtual_host_without_tls_has_no_filter_chain() {
    let e = examples("ingressroute").explain("https://foo-basic.bar.com/").unwrap();
    assert_eq!((e.outcome, e.status), (ExplainOutcome::NotFound, None));
    assert!(e.reason.unwrap().contains("has no TLS (spec.virtualhost.tls)"));
}

#[test]
fn hosts_match_without_regard_to_case_and_with_a_port() {
    let x = examples("ingressroute");
    let e = x.explain("http://FOO-Basic.bar.com:8080/").unwrap();
    assert_eq!(e.outcome, ExplainOutcome::Proxied);
    assert_eq!(e.virtual_host.unwrap().fqdn, "foo-basic.bar.com");
}

#[test]
fn a_duplicate_fqdn_names_both_roots() {
    let e = examples("invalid").explain("http://duplicate.example.org/").unwrap();
    assert_eq!((e.outcome, e.status), (ExplainOutcome::NotFound, Some(404)));
    let reason = e.reason.unwrap();
    assert!(
        reason.starts_with(
            "the fqdn duplicate.example.org is claimed twice, by default/dup-fqdn-a and default/dup-fqdn-b"
        ),
        "{reason}"
    );
}

#[test]
fn an_invalid_root_is_named_with_its_status() {
    let e = examples("invalid")
        .explain("http://missing-service.example.org/")
        .unwrap();
    assert_eq!(e.outcome, ExplainOutcome::NotFound);
    assert_eq!(
        e.reason.as_deref(),
        Some(
            "the root IngressRoute default/missing-service of missing-service.example.org is invalid: \
             Service [missing-svc:80] is invalid or missing"
        )
    );
    let vhost = e.virtual_host.unwrap();
    assert_eq!(vhost.root_status.as_deref(), Some("invalid"));
}

#[test]
fn the_only_match_in_an_invalid_child_is_named() {
    let e = examples("invalid")
        .explain("http://prefix-outside-parent.example.org/bar/x")
        .unwrap();
    assert_eq!(e.outcome, ExplainOutcome::NotFound);
    let reason = e.reason.unwrap();
    assert!(
        reason.ends_with(
            "the only match is not served: IngressRoute default/prefix-child (invalid: the path prefix \"/bar\" \
             does not match the parent's path prefix \"/foo\") has the route /bar"
        ),
        "{reason}"
    );
}

const TREE: &str = "
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: root, namespace: default}
spec:
  virtualhost: {fqdn: tree.example.com}
  routes:
  - {match: /, services: [{name: web, port: 80}]}
  - {match: /api, delegate: {name: api}}
  - {match: /gone, delegate: {name: gone, namespace: elsewhere}}
  - {match: /empty, services: [{name: empty, port: 80}]}
  - {match: /half, services: [{name: web, port: 80, weight: 1}, {name: empty, port: 80, weight: 3}]}
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: api, namespace: default}
spec:
  routes:
  - {match: /api, services: [{name: nothere, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: default}
subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{name: http, port: 8080}]}]
";

#[test]
fn a_shorter_route_serving_instead_of_an_invalid_child_is_noted() {
    let e = explained(TREE, "http://tree.example.com/api/v1");
    assert_eq!(e.outcome, ExplainOutcome::Proxied);
    assert_eq!(e.route.unwrap().r#match, "/");
    assert_eq!(
        e.notes,
        [
            "a longer match is not served: IngressRoute default/api (invalid: Service [nothere:80] is invalid or \
             missing) has the route /api"
        ]
    );
}

#[test]
fn a_delegation_to_a_missing_ingress_route_is_noted() {
    let e = explained(TREE, "http://tree.example.com/gone");
    assert_eq!(
        e.notes,
        [
            "a longer match is not served: IngressRoute default/root delegates /gone to elsewhere/gone, which does not exist"
        ]
    );
}

#[test]
fn a_service_without_endpoints_is_unavailable() {
    let e = explained(TREE, "http://tree.example.com/empty");
    assert_eq!((e.outcome, e.status), (ExplainOutcome::Unavailable, Some(503)));
    assert_eq!(e.outcome.exit(), Outcome::Invalid);
    assert!(
        e.reason
            .unwrap()
            .starts_with("no endpoint, Envoy answers 503: Service default/empty port 80")
    );
    let e = explained(TREE, "http://tree.example.com/half");
    assert_eq!(e.outcome, ExplainOutcome::Proxied);
    assert_eq!(e.notes.len(), 1);
    assert!(
        e.notes[0].ends_with("has no endpoint: its share of requests (75%) get 503"),
        "{:?}",
        e.notes
    );
}

#[test]
fn a_root_whose_only_route_is_in_an_invalid_child_is_valid_and_serves_nothing() {
    let text = TREE
        .replace("  - {match: /, services: [{name: web, port: 80}]}\n", "")
        .replace("  - {match: /empty, services: [{name: empty, port: 80}]}\n", "")
        .replace(
            "  - {match: /half, services: [{name: web, port: 80, weight: 1}, {name: empty, port: 80, weight: 3}]}\n",
            "",
        );
    let e = explained(&text, "http://tree.example.com/api");
    assert_eq!(e.outcome, ExplainOutcome::NotFound);
    let reason = e.reason.unwrap();
    assert!(
        reason.contains("is valid but has no route served on this listener"),
        "{reason}"
    );
    assert!(reason.contains("IngressRoute default/api (invalid"), "{reason}");
}

#[test]
fn the_text_form_has_a_line_per_step() {
    let e = explained(BASIC, "http://root.example.com/x");
    let text = text::render(&e);
    let labels: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(
        labels,
        [
            "request",
            "outcome",
            "listener",
            "virtual",
            "route",
            "root",
            "route",
            "chain",
            "upstream",
            "timeout",
            "retries",
            "websockets",
            "services",
            "cluster",
            "load",
            "endpoints"
        ]
    );
}

#[test]
fn json_has_the_documented_keys() {
    let e = explained(BASIC, "http://root.example.com/x");
    let json = serde_json::to_value(&e).unwrap();
    for key in ["url", "outcome", "virtualHost", "route", "chain", "services", "reason"] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert_eq!(json["outcome"], "proxied");
    assert_eq!(json["virtualHost"]["fqdn"], "root.example.com");
    assert_eq!(json["virtualHost"]["root"], "default/root");
    assert_eq!(json["route"]["match"], "/");
    assert_eq!(json["route"]["rewrittenPath"], "/x");
    assert_eq!(json["chain"][0]["namespace"], "default");
    assert_eq!(json["chain"][0]["match"], "/");
    assert_eq!(json["chain"][0]["status"], "valid");
    let service = &json["services"][0];
    assert_eq!(
        (
            &service["namespace"],
            &service["name"],
            &service["port"],
            &service["weight"],
            &service["cluster"]
        ),
        (
            &serde_json::json!("default"),
            &serde_json::json!("web"),
            &serde_json::json!(80),
            &serde_json::json!(1),
            &serde_json::json!("default/web/80/da39a3ee5e")
        )
    );
}

/// A generated world as the loader would read it: every object as one JSON document.
fn generated(size: ingressroute_fixtures::Size) -> Explainer {
    let data = ingressroute_fixtures::Dataset::generate(size);
    let mut text = String::new();
    let mut push = |value: serde_json::Value| {
        text.push_str(&value.to_string());
        text.push('\n');
    };
    data.ingress_routes
        .iter()
        .for_each(|o| push(serde_json::to_value(o).unwrap()));
    data.services
        .iter()
        .for_each(|o| push(serde_json::to_value(o).unwrap()));
    data.endpoints
        .iter()
        .for_each(|o| push(serde_json::to_value(o).unwrap()));
    data.secrets.iter().for_each(|o| push(serde_json::to_value(o).unwrap()));
    let mut loaded = Loaded::new();
    loaded.add_str(Path::new("generated.json"), &text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics().first());
    Explainer::new(&loaded, &Config::default(), &EnvoyConfig::default())
}

/// For every served route of a generated world, on both listeners: what Envoy does
/// (traced through the resources) agrees with what the DAG says the route is.
/// The generated world of size M (1,000 roots delegating to 1,000 children), built once.
static WORLD_M: std::sync::LazyLock<Explainer> = std::sync::LazyLock::new(|| generated(ingressroute_fixtures::Size::M));

#[test]
fn every_route_of_a_generated_world_is_explained_as_the_dag_built_it() {
    let x = &*WORLD_M;
    let mut checked = 0;
    let mut delegated = 0;
    for vhost in x.dag.virtual_hosts() {
        for route in &vhost.routes {
            for https in [false, true] {
                let url = format!(
                    "{}://{}{}",
                    if https { "https" } else { "http" },
                    vhost.fqdn,
                    route.prefix
                );
                let e = x.explain(&url).unwrap();
                if https && vhost.secure.is_none() {
                    assert_eq!(e.outcome, ExplainOutcome::NotFound, "{url}");
                    continue;
                }
                if !https && vhost.secure.is_some() && route.https_redirect {
                    assert_eq!(e.outcome, ExplainOutcome::Redirected, "{url}");
                    assert_eq!(
                        e.route.unwrap().location.unwrap(),
                        format!("https://{}{}", vhost.fqdn, route.prefix)
                    );
                    continue;
                }
                assert_eq!(e.outcome, ExplainOutcome::Proxied, "{url}: {:?}", e.reason);
                assert_eq!(e.route.as_ref().unwrap().r#match, route.prefix, "{url}");
                let first = e.chain.first().unwrap();
                assert_eq!(
                    (&first.namespace, &first.name),
                    (&vhost.root.namespace, &vhost.root.name),
                    "{url}"
                );
                let last = e.chain.last().unwrap();
                assert_eq!(
                    (&last.namespace, &last.name),
                    (&route.source.namespace, &route.source.name),
                    "{url}"
                );
                assert_eq!(last.r#match.as_deref(), Some(route.prefix.as_str()));
                if e.chain.len() > 1 {
                    delegated += 1;
                }
                let mut expected: Vec<String> = route
                    .clusters
                    .iter()
                    .map(|c| {
                        format!(
                            "{}/{}:{}",
                            c.cluster.service.meta.namespace, c.cluster.service.meta.name, c.cluster.port.port
                        )
                    })
                    .collect();
                let mut actual: Vec<String> = services(&e).into_iter().map(|(s, ..)| s).collect();
                expected.sort();
                actual.sort();
                assert_eq!(actual, expected, "{url}");
                assert!(e.services.iter().all(|s| s.endpoints.len() == 2), "{url}");
                checked += 1;
            }
        }
    }
    assert!(
        checked > 1_000 && delegated > 100,
        "{checked} routes, {delegated} delegated"
    );
}

#[test]
fn hosts_of_a_generated_world_that_no_root_has_are_not_found() {
    let x = generated(ingressroute_fixtures::Size::S);
    let e = x.explain("http://host-100000.example.com/").unwrap();
    assert_eq!(
        e.reason.as_deref(),
        Some("no root IngressRoute has fqdn host-100000.example.com")
    );
}

#[test]
fn a_root_outside_the_root_namespaces_is_named_as_invalid() {
    let mut loaded = Loaded::new();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/invalid/root-in-non-root-namespace.only-with-root-namespaces.yaml");
    loaded.add_path(&path);
    let url = "http://root-outside-root-namespaces.example.org/";
    let config = check::config(Some("roots"), ingressroute_api::DEFAULT_INGRESS_CLASS);
    let e = explain(&loaded, &config, &EnvoyConfig::default(), url).unwrap();
    assert_eq!(e.outcome, ExplainOutcome::NotFound);
    assert_eq!(
        e.reason.as_deref(),
        Some(
            "the root IngressRoute team-x/root-outside-root-namespaces of root-outside-root-namespaces.example.org \
             is invalid: root IngressRoute cannot be defined in this namespace"
        )
    );
    let e = explain(&loaded, &Config::default(), &EnvoyConfig::default(), url).unwrap();
    assert_eq!(e.outcome, ExplainOutcome::Proxied);
}

#[test]
fn an_ingress_route_of_another_class_is_not_a_root() {
    let text = BASIC.replace(
        "metadata: {name: root, namespace: default}",
        "metadata: {name: root, namespace: default, annotations: {kubernetes.io/ingress.class: other}}",
    );
    let e = explained(&text, "http://root.example.com/");
    assert_eq!(
        e.reason.as_deref(),
        Some("no root IngressRoute has fqdn root.example.com")
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Envoy takes the first route whose prefix matches, in the translation's order; the
    /// DAG's meaning is the longest served prefix of the path. They agree on any path
    /// under any route of a generated world.
    #[test]
    fn the_route_envoy_picks_is_the_longest_served_prefix_of_the_path(
        host in 0_usize..1_000,
        route in 0_usize..8,
        suffix in "(/?[a-z0-9]{0,4}){0,3}",
    ) {
        let x = &*WORLD_M;
        let vhosts = x.dag.virtual_hosts();
        let vhost = &vhosts[host % vhosts.len()];
        let base = &vhost.routes[route % vhost.routes.len()].prefix;
        let path = format!("{base}{suffix}");
        let https = vhost.secure.is_some();
        let url = format!("{}://{}{path}", if https { "https" } else { "http" }, vhost.fqdn);
        let e = x.explain(&url).unwrap();
        let expected = vhost
            .routes
            .iter()
            .filter(|r| path.starts_with(r.prefix.as_str()))
            .max_by_key(|r| r.prefix.len())
            .unwrap();
        proptest::prop_assert_eq!(e.outcome, ExplainOutcome::Proxied, "{}", url);
        proptest::prop_assert_eq!(&e.route.unwrap().r#match, &expected.prefix, "{}", url);
        let last = e.chain.last().unwrap();
        proptest::prop_assert_eq!((&last.namespace, &last.name), (&expected.source.namespace, &expected.source.name));
    }
}

#[test]
fn a_root_that_does_not_decode_is_named_by_the_fqdn_it_was_written_with() {
    let text = BASIC.replace(
        "services: [{name: web, port: 80}]",
        "services: [{name: web, port: eighty}]",
    );
    let e = explained(&text, "http://root.example.com/");
    let reason = e.reason.unwrap();
    assert!(
        reason.starts_with(
            "the root IngressRoute default/root of root.example.com is invalid: cannot decode the IngressRoute: "
        ),
        "{reason}"
    );
}
