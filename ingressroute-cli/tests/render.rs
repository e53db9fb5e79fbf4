//! `ingressroute render` end to end, through the real binary: the structure and
//! `@type`s of what it prints, YAML, secret redaction and exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{root, run, run_in, scratch, service, workspace, write_files};
use serde_json::Value;

const LISTENER: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
const ROUTE_CONFIGURATION: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const SCOPED_ROUTE_CONFIGURATION: &str = "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration";
const CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const CLUSTER_LOAD_ASSIGNMENT: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
const SECRET: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

/// The `@type` and `name` (or `cluster_name`) of each resource of a list.
fn types_and_names(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            let name = r.get("name").or_else(|| r.get("cluster_name")).expect("a name");
            (
                r["@type"].as_str().unwrap().to_owned(),
                name.as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(type_url: &str, names: &[&str]) -> Vec<(String, String)> {
    names.iter().map(|n| (type_url.to_owned(), (*n).to_owned())).collect()
}

#[test]
fn basic_renders_every_resource_with_its_type() {
    let run = run(&["render", "examples/ingressroute/basic.yaml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    // One object, the lists in xDS order.
    let keys: Vec<usize> = [
        "listeners",
        "scoped_routes",
        "routes",
        "clusters",
        "endpoints",
        "secrets",
    ]
    .iter()
    .map(|k| run.stdout.find(&format!("\n  \"{k}\": [")).expect(k))
    .collect();
    assert!(keys.is_sorted(), "{}", run.stdout);
    let json = run.json();
    assert_eq!(json.as_object().unwrap().len(), 6);
    let bucket = ingressroute_envoy::names::http_route_bucket_name(ingressroute_envoy::names::http_route_bucket(
        "foo-basic.bar.com",
        ingressroute_envoy::DEFAULT_HTTP_ROUTE_BUCKETS,
    ));

    assert_eq!(types_and_names(&json["listeners"]), pairs(LISTENER, &["ingress_http"]));
    assert_eq!(types_and_names(&json["routes"]), pairs(ROUTE_CONFIGURATION, &[&bucket]));
    assert_eq!(
        types_and_names(&json["scoped_routes"]),
        pairs(SCOPED_ROUTE_CONFIGURATION, &["ingress_http/foo-basic.bar.com"])
    );
    assert_eq!(
        types_and_names(&json["clusters"]),
        pairs(CLUSTER, &["default/basic-s1/80/da39a3ee5e"])
    );
    assert_eq!(
        types_and_names(&json["endpoints"]),
        pairs(CLUSTER_LOAD_ASSIGNMENT, &["default/basic-s1/http"])
    );
    assert_eq!(json["secrets"], serde_json::json!([]));

    let vhost = &json["routes"][0]["virtual_hosts"][0];
    assert_eq!(
        vhost["domains"],
        serde_json::json!(["foo-basic.bar.com", "foo-basic.bar.com:*"])
    );
    assert_eq!(vhost["routes"][0]["route"]["cluster"], "default/basic-s1/80/da39a3ee5e");
    // The v1 Endpoints of the input, sorted by IP.
    let addresses: Vec<&str> = json["endpoints"][0]["endpoints"][0]["lb_endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint"]["address"]["socket_address"]["address"].as_str().unwrap())
        .collect();
    assert!(!addresses.is_empty());
    assert!(addresses.is_sorted(), "{addresses:?}");
    // Typed configs inside resources carry their own @type, as in Envoy's config_dump.
    assert_eq!(
        json["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["@type"],
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    );
}

#[test]
fn yaml_output_is_the_same_object() {
    let json = run(&["render", "examples/ingressroute/tls.yaml"]);
    let yaml = run(&["render", "-o", "yaml", "examples/ingressroute/tls.yaml"]);
    assert_eq!(yaml.code, 0, "{}", yaml.stderr);
    assert!(yaml.stdout.starts_with("listeners:\n"), "{}", yaml.stdout);
    let from_yaml: Value = serde_saphyr::from_str(&yaml.stdout).unwrap();
    assert_eq!(from_yaml, json.json());
}

#[test]
fn private_keys_are_redacted_unless_asked_for() {
    let redacted = run(&["render", "examples/ingressroute/tls.yaml"]);
    assert_eq!(redacted.code, 0, "{}", redacted.stderr);
    let json = redacted.json();
    let secrets = types_and_names(&json["secrets"]);
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].0, SECRET);
    assert!(secrets[0].1.starts_with("default/testsecret/"), "{secrets:?}");
    let certificate = &json["secrets"][0]["tls_certificate"];
    assert_eq!(
        certificate["private_key"],
        serde_json::json!({"inline_string": "[redacted]"})
    );
    assert!(certificate["certificate_chain"]["inline_bytes"].is_string());

    // The key as the Secret has it, base64 of the PEM.
    let example = std::fs::read_to_string(workspace().join("examples/ingressroute/tls.yaml")).unwrap();
    let key = example
        .lines()
        .find_map(|l| l.trim().strip_prefix("tls.key: "))
        .expect("the example has a tls.key");
    assert!(!redacted.stdout.contains(key));

    let shown = run(&["render", "--show-secrets", "examples/ingressroute/tls.yaml"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert_eq!(
        shown.json()["secrets"][0]["tls_certificate"]["private_key"]["inline_bytes"],
        key
    );
    // Nothing else changes.
    let mut without_key = shown.json();
    without_key["secrets"][0]["tls_certificate"]["private_key"] = serde_json::json!({"inline_string": "[redacted]"});
    assert_eq!(without_key, json);
}

#[test]
fn render_prints_the_golden_files_of_ingressroute_envoy() {
    // ingressroute-envoy's golden files hold `render -o yaml` of each example, loaded
    // with its own test loader: both loaders must give the same objects.
    let mut names: Vec<String> = std::fs::read_dir(workspace().join("examples/ingressroute"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() > 20, "{names:?}");
    for name in names {
        let run = run(&["render", "-o", "yaml", &format!("examples/ingressroute/{name}.yaml")]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let golden =
            std::fs::read_to_string(workspace().join(format!("ingressroute-envoy/tests/golden/{name}/resources.yaml")))
                .unwrap();
        assert!(run.stdout == golden, "{name}: render differs from its golden file");
    }
}

#[test]
fn invalid_ingress_routes_are_summarised_on_stderr_and_do_not_fail_the_render() {
    let run = run(&[
        "render",
        "examples/ingressroute/basic.yaml",
        "examples/invalid/orphaned-child.yaml",
        "examples/invalid/missing-service.yaml",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: examples/invalid/missing-service.yaml: document 1 (line 6): IngressRoute default/missing-service: \
             invalid, not rendered: Service [missing-svc:80] is invalid or missing",
            "warning: examples/invalid/orphaned-child.yaml: document 1 (line 6): IngressRoute default/orphaned-child: \
             orphaned, not rendered: this IngressRoute is not part of a delegation chain from a root IngressRoute",
        ]
    );
    // Only the valid root is served.
    let json = run.json();
    let vhosts = json["routes"][0]["virtual_hosts"].as_array().unwrap();
    assert_eq!(vhosts.len(), 1);
    assert_eq!(vhosts[0]["name"], "foo-basic.bar.com");
}

#[test]
fn schema_rejections_are_reported_and_not_rendered_but_do_not_fail_the_render() {
    let dir = scratch("render-schema");
    // `strategy` is an enum in the schema; the DAG ignores unknown strategies.
    let text = format!(
        "{}---\n{}",
        root("default", "web", "web.example.com"),
        service("default", "web")
    )
    .replace("      port: 80\n", "      port: 80\n      strategy: Fastest\n");
    write_files(&dir, &[("web.yaml", &text)]);
    let run = run_in(&dir, &["render", "web.yaml"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "warning: web.yaml: document 1 (line 1): IngressRoute default/web: spec.routes[0].services[0].strategy: "
        ) && lines[0].ends_with("(the API server would reject this object)"),
        "{lines:?}"
    );
    // An object the API server would reject does not exist: nothing of it is rendered.
    assert!(
        lines[1].starts_with(
            "warning: web.yaml: document 1 (line 1): IngressRoute default/web: invalid, not rendered: the API server would reject this IngressRoute: spec.routes[0].services[0].strategy: "
        ),
        "{lines:?}"
    );
    assert_eq!(run.json()["listeners"], serde_json::json!([]));
}

#[test]
fn unreadable_input_exits_2_and_prints_nothing() {
    let dir = scratch("render-exit-2");
    write_files(
        &dir,
        &[
            (
                "ok.yaml",
                &format!(
                    "{}---\n{}",
                    root("default", "ok", "ok.example.com"),
                    service("default", "web")
                ),
            ),
            ("broken.yaml", "apiVersion: v1\nkind: Service\nmetadata: [\n"),
        ],
    );
    let run = run_in(&dir, &["render", "ok.yaml", "broken.yaml"], "");
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    let lines = run.stderr_lines();
    assert!(
        lines[0].starts_with("error: broken.yaml: document 1 (line 3): "),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("error: nothing rendered: some input cannot be read or parsed")
    );

    let missing = run_in(&dir, &["render", "does-not-exist.yaml"], "");
    assert_eq!(missing.code, 2);
    assert_eq!(missing.stdout, "");
}

#[test]
fn a_command_line_without_paths_exits_2() {
    let run = run(&["render"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("PATH"), "{}", run.stderr);
}

#[test]
fn stdin_and_root_namespaces_work_as_for_check() {
    let text = format!(
        "{}---\n{}",
        root("team", "web", "web.example.com"),
        service("team", "web")
    );
    let run_default = run_in(&scratch("render-stdin"), &["render", "-"], &text);
    assert_eq!(run_default.code, 0, "{}", run_default.stderr);
    assert_eq!(run_default.json()["listeners"][0]["name"], "ingress_http");

    let restricted = run_in(
        &scratch("render-root-namespaces"),
        &["render", "--root-namespaces", "roots", "-"],
        &text,
    );
    assert_eq!(restricted.code, 0, "{}", restricted.stderr);
    assert_eq!(restricted.json()["listeners"], serde_json::json!([]));
    assert_eq!(restricted.stderr_lines().len(), 1, "{}", restricted.stderr);
    assert!(
        restricted
            .stderr
            .starts_with("warning: <stdin>: document 1 (line 1): IngressRoute team/web: invalid, not rendered: "),
        "{}",
        restricted.stderr
    );
}

#[test]
fn another_ingress_class_is_ignored_with_a_warning() {
    let text = format!("{}---\n{}", root("default", "web", "web.example.com"), service("default", "web")).replace(
        "  name: web\n  namespace: default\nspec:\n  virtualhost",
        "  name: web\n  namespace: default\n  annotations:\n    kubernetes.io/ingress.class: other\nspec:\n  virtualhost",
    );
    assert!(text.contains("ingress.class"), "{text}");
    let run = run_in(&scratch("render-class"), &["render", "-"], &text);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["listeners"], serde_json::json!([]));
    assert!(
        run.stderr
            .starts_with("warning: <stdin>: document 1 (line 1): IngressRoute default/web: ignored: "),
        "{}",
        run.stderr
    );
    let served = run_in(
        &scratch("render-class-served"),
        &["render", "--ingress-class", "other", "-"],
        &text,
    );
    assert_eq!(served.json()["listeners"][0]["name"], "ingress_http");
}
