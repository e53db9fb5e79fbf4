//! `ingressroute convert --to httpproxy`: every bundled example against golden files, the
//! cases of Contour's IngressRoute -> HTTPProxy migration guide, round trips through the
//! typed target structs, and the command's contract (stderr lines, exit codes).
//!
//! The golden files under `ingressroute-cli/tests/convert/` are rewritten with
//! `INGRESSROUTE_BLESS=1 cargo test -p ingressroute-cli --test convert`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::fs;
use std::path::Path;

use common::{assert_golden_of, run, run_in, workspace};
use ingressroute_cli::check::InputArgs;
use ingressroute_cli::check::Outcome;
use ingressroute_cli::convert::contour_v1::{HttpProxy, MatchCondition, Object};
use ingressroute_cli::convert::gateway::{self, Options};
use ingressroute_cli::convert::{self, Conversion, Objects, Target};
use ingressroute_cli::load::Loaded;
use ingressroute_dag::ObjectRef;

fn input() -> InputArgs {
    InputArgs {
        root_namespaces: None,
        ingress_class: "contour".into(),
        paths: Vec::new(),
    }
}

fn options() -> Options {
    Options::new(ObjectRef::new("ingressroute", "ingressroute"), false, "contour")
}

fn converted(text: &str, target: Target) -> Conversion {
    let mut loaded = Loaded::new();
    loaded.add_str(Path::new("test.yaml"), text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
    convert::convert(&loaded, &input(), target, &options())
}

fn conversion(text: &str) -> Conversion {
    converted(text, Target::Httpproxy)
}

fn proxy<'c>(conversion: &'c Conversion, namespace: &str, name: &str) -> &'c HttpProxy {
    let Objects::HttpProxy(objects) = &conversion.objects else {
        panic!("not HTTPProxies");
    };
    objects
        .iter()
        .find_map(|o| match o {
            Object::HttpProxy(p)
                if p.metadata.name.as_deref() == Some(name) && p.metadata.namespace.as_deref() == Some(namespace) =>
            {
                Some(p)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no HTTPProxy {namespace}/{name} in {objects:#?}"))
}

fn warnings(conversion: &Conversion) -> Vec<String> {
    conversion.warnings.iter().map(ToString::to_string).collect()
}

fn prefixes(conditions: &[MatchCondition]) -> Vec<&str> {
    conditions.iter().map(|c| c.prefix.as_str()).collect()
}

/// The files of an examples directory, sorted.
fn example_files(dir: &str) -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir(workspace().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    files.sort();
    files
}

/// Converts every example of `dir` with the real binary and compares stdout and
/// (exit code, stderr) with the golden files; every output reads back into the typed
/// structs and writes out the same.
fn examples_match_their_golden_files(dir: &str, target: &str) -> usize {
    let files = example_files(dir);
    for name in &files {
        let path = format!("{dir}/{name}.yaml");
        let run = run(&["convert", "--to", target, &path]);
        assert_ne!(run.code, 2, "{path}: {}", run.stderr);
        let golden = format!(
            "ingressroute-cli/tests/convert/{target}/{}/{name}",
            dir.trim_start_matches("examples/")
        );
        assert_golden_of("convert", &format!("{golden}.yaml"), &run.stdout);
        assert_golden_of(
            "convert",
            &format!("{golden}.stderr"),
            &format!("exit code {}\n{}", run.code, run.stderr),
        );
        if target == "httpproxy" {
            assert_round_trip::<Object>(&path, &run.stdout);
        } else {
            assert_round_trip::<gateway::Object>(&path, &run.stdout);
        }
        assert_eq!(
            run.code == 0,
            run.stderr.is_empty(),
            "{path}: exit 0 exactly when nothing is said: {}",
            run.stderr
        );
    }
    files.len()
}

/// Each YAML document of `stdout` decodes into the typed objects (which refuse unknown
/// fields) and encodes back to the same document.
fn assert_round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(what: &str, stdout: &str) {
    for document in stdout.split("---\n").filter(|d| !d.is_empty()) {
        let object: T = serde_saphyr::from_str(document).unwrap_or_else(|e| panic!("{what}: {e}\n{document}"));
        assert_eq!(serde_saphyr::to_string(&object).unwrap(), document, "{what}");
    }
}

#[test]
fn every_valid_example_converts_to_its_golden_httpproxies() {
    assert!(examples_match_their_golden_files("examples/ingressroute", "httpproxy") >= 25);
}

#[test]
fn every_invalid_example_converts_to_its_golden_httpproxies_and_warnings() {
    assert!(examples_match_their_golden_files("examples/invalid", "httpproxy") >= 20);
}

#[test]
fn every_valid_example_converts_to_its_golden_gateway_api_objects() {
    assert!(examples_match_their_golden_files("examples/ingressroute", "gateway-api") >= 25);
}

#[test]
fn every_invalid_example_converts_to_its_golden_gateway_api_objects_and_warnings() {
    assert!(examples_match_their_golden_files("examples/invalid", "gateway-api") >= 20);
}

#[test]
fn the_json_list_holds_the_same_objects_as_the_yaml_documents() {
    let yaml = run(&["convert", "--to", "httpproxy", "examples/ingressroute"]);
    let json = run(&["convert", "--to", "httpproxy", "-o", "json", "examples/ingressroute"]);
    assert_eq!((yaml.code, &yaml.stderr), (json.code, &json.stderr));
    let list = json.json();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    let from_json: Vec<Object> = serde_json::from_value(list["items"].clone()).unwrap();
    let from_yaml: Vec<Object> = yaml
        .stdout
        .split("---\n")
        .filter(|d| !d.is_empty())
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    assert_eq!(from_json, from_yaml);
    assert!(from_json.len() > 30);
    // Sorted: HTTPProxies, then TLSCertificateDelegations, each by namespace and name.
    let keys: Vec<(u8, String, String)> = from_json
        .iter()
        .map(|o| match o {
            Object::HttpProxy(p) => (
                0,
                p.metadata.namespace.clone().unwrap(),
                p.metadata.name.clone().unwrap(),
            ),
            Object::TlsCertificateDelegation(d) => (
                1,
                d.metadata.namespace.clone().unwrap(),
                d.metadata.name.clone().unwrap(),
            ),
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // Deterministic, whatever the order of the inputs.
    let mut files = example_files("examples/ingressroute");
    files.reverse();
    let paths: Vec<String> = files
        .iter()
        .map(|f| format!("examples/ingressroute/{f}.yaml"))
        .collect();
    let mut args = vec!["convert", "--to", "httpproxy"];
    args.extend(paths.iter().map(String::as_str));
    assert_eq!(run(&args).stdout, yaml.stdout);
}

#[test]
fn input_errors_exit_2_and_print_nothing() {
    let dir = common::scratch("convert-input-errors");
    common::write_files(&dir, &[("bad.yaml", "kind: [\n")]);
    let run = run_in(&dir, &["convert", "--to", "httpproxy", "bad.yaml"], "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .ends_with("error: nothing converted: some input cannot be read or parsed\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn standard_input_is_read_like_check_reads_it() {
    let text = fs::read_to_string(workspace().join("examples/ingressroute/basic.yaml")).unwrap();
    let piped = run_in(&workspace(), &["convert", "--to", "httpproxy", "-"], &text);
    let file = run(&["convert", "--to", "httpproxy", "examples/ingressroute/basic.yaml"]);
    assert_eq!((piped.code, &piped.stdout), (file.code, &file.stdout));
    assert_eq!(piped.code, 0);
}

// ---- Contour's migration guide (IngressRoute -> HTTPProxy) ----

const SERVICES: &str = "\
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: team}
spec: {ports: [{name: http, port: 80}]}
";

fn root(routes: &str) -> String {
    format!(
        "apiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata: {{name: root, namespace: default}}\nspec:\n  virtualhost: {{fqdn: app.example.com}}\n  routes: {routes}\n"
    )
}

fn child(namespace: &str, name: &str, matches: &[&str]) -> String {
    let routes: Vec<String> = matches
        .iter()
        .map(|m| format!("{{match: \"{m}\", services: [{{name: web, port: 80}}]}}"))
        .collect();
    format!(
        "---\napiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  routes: [{}]\n",
        routes.join(", ")
    )
}

#[test]
fn delegation_becomes_an_include_at_the_delegating_match_and_child_routes_relative_to_it() {
    let text = [
        root(
            "[{match: /, services: [{name: web, port: 80}]}, {match: /blog, delegate: {name: blog, namespace: team}}]",
        ),
        child("team", "blog", &["/blog", "/blog/", "/blog/archive"]),
        SERVICES.to_owned(),
    ]
    .concat();
    let conversion = conversion(&text);
    assert_eq!(warnings(&conversion), Vec::<String>::new());
    assert_eq!(conversion.outcome, Outcome::Valid);
    let root = proxy(&conversion, "default", "root");
    assert_eq!(root.spec.includes.len(), 1);
    assert_eq!(root.spec.includes[0].name, "blog");
    assert_eq!(root.spec.includes[0].namespace, "team");
    assert_eq!(prefixes(&root.spec.includes[0].conditions), ["/blog"]);
    assert_eq!(prefixes(&root.spec.routes[0].conditions), ["/"]);
    let blog = proxy(&conversion, "team", "blog");
    assert!(blog.spec.virtualhost.is_none());
    let conditions: Vec<Vec<&str>> = blog.spec.routes.iter().map(|r| prefixes(&r.conditions)).collect();
    // `/blog` itself gets no condition: a `/` would serve `/blog/`, not `/blog`.
    assert_eq!(conditions, [vec![], vec!["/"], vec!["/archive"]]);
}

#[test]
fn a_delegation_at_a_trailing_slash_joins_without_doubling_it() {
    let text = [
        root("[{match: /foo/, delegate: {name: foo}}]"),
        child("default", "foo", &["/foo/", "/foo/bar"]),
        SERVICES.to_owned(),
    ]
    .concat();
    let conversion = conversion(&text);
    assert_eq!(warnings(&conversion), Vec::<String>::new());
    let foo = proxy(&conversion, "default", "foo");
    let conditions: Vec<Vec<&str>> = foo.spec.routes.iter().map(|r| prefixes(&r.conditions)).collect();
    assert_eq!(conditions, [vec![], vec!["/bar"]]);
}

#[test]
fn a_child_of_two_parents_is_converted_once_when_its_conditions_agree() {
    // `/foo` and `/foo/` give `/bar` alike; `/foo/` itself is `/` under both.
    let text = [
        root("[{match: /foo, delegate: {name: shared}}]"),
        "---\n".to_owned(),
        root("[{match: /foo/, delegate: {name: shared}}]")
            .replace("name: root", "name: other")
            .replace("app.example.com", "other.example.com"),
        child("default", "shared", &["/foo/", "/foo/bar"]),
        SERVICES.to_owned(),
    ]
    .concat();
    let conversion = conversion(&text);
    assert_eq!(warnings(&conversion), Vec::<String>::new());
    let shared = proxy(&conversion, "default", "shared");
    let conditions: Vec<Vec<&str>> = shared.spec.routes.iter().map(|r| prefixes(&r.conditions)).collect();
    assert_eq!(conditions, [vec!["/"], vec!["/bar"]]);
}

#[test]
fn a_child_of_two_parents_whose_conditions_disagree_is_named_with_both_parents() {
    let text = [
        root("[{match: /, delegate: {name: shared}}, {match: /foo, delegate: {name: shared}}]"),
        child("default", "shared", &["/foo/bar"]),
        SERVICES.to_owned(),
    ]
    .concat();
    let conversion = conversion(&text);
    assert_eq!(
        warnings(&conversion),
        [
            "default/shared: delegated at prefixes that need different HTTPProxy conditions for spec.routes[0]: \
             default/root spec.routes[0] (\"/\") and default/root spec.routes[1] (\"/foo\"); \
             converted for the first, the others need an HTTPProxy of their own"
        ]
    );
    assert_eq!(conversion.outcome, Outcome::Invalid);
    let shared = proxy(&conversion, "default", "shared");
    assert_eq!(prefixes(&shared.spec.routes[0].conditions), ["/foo/bar"]);
}

#[test]
fn a_child_route_above_a_trailing_slash_delegation_is_left_out_with_a_warning() {
    // Contour's IngressRoute check appends a `/` to both prefixes, so `/foo` is under a
    // delegated `/foo/` (and serves `/foo` and `/foobar`). Every prefix of an HTTPProxy
    // included at `/foo/` starts with `/foo/`: no condition gives `/foo`.
    let text = [
        root("[{match: /foo/, delegate: {name: foo}}]"),
        child("default", "foo", &["/foo", "/foo/bar"]),
        SERVICES.to_owned(),
    ]
    .concat();
    let conversion = conversion(&text);
    assert_eq!(
        warnings(&conversion),
        [
            "default/foo: spec.routes[0].match: \"/foo\" cannot be written as an HTTPProxy condition: \
             it lies above the include prefix \"/foo/\", and every prefix of an included HTTPProxy starts with \
             its include prefix; the route is left out"
        ]
    );
    assert_eq!(conversion.outcome, Outcome::Invalid);
    let foo = proxy(&conversion, "default", "foo");
    let conditions: Vec<Vec<&str>> = foo.spec.routes.iter().map(|r| prefixes(&r.conditions)).collect();
    assert_eq!(conditions, [vec!["/bar"]]);
}

#[test]
fn a_delegation_to_a_missing_ingressroute_is_kept_as_an_include_with_a_warning() {
    let text = [
        root(
            "[{match: /, services: [{name: web, port: 80}]}, {match: /gone, delegate: {name: gone, namespace: team}}]",
        ),
        SERVICES.to_owned(),
    ]
    .concat();
    let conversion = conversion(&text);
    assert_eq!(
        warnings(&conversion),
        [
            "default/root: spec.routes[1].delegate: includes team/gone, which does not exist: IngressRoute \
             ignored such a delegation, but Contour (since v1.1) reports a missing include as an error on the \
             HTTPProxy: the whole HTTPProxy is invalid in early versions, the prefix answers 502 in later ones"
        ]
    );
    assert_eq!(conversion.outcome, Outcome::Invalid);
    let root = proxy(&conversion, "default", "root");
    assert_eq!(root.spec.includes[0].name, "gone");
    assert_eq!(prefixes(&root.spec.includes[0].conditions), ["/gone"]);
}

#[test]
fn tcpproxy_and_its_delegation_become_tcpproxy_and_tcpproxy_include() {
    let text = "\
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: root, namespace: default}
spec:
  virtualhost: {fqdn: tcp.example.com, tls: {passthrough: true}}
  tcpproxy: {delegate: {name: backend, namespace: team}}
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: backend, namespace: team}
spec:
  tcpproxy:
    services:
    - {name: web, port: 80, weight: 3, strategy: Random, healthCheck: {path: /ignored}}
"
    .to_owned()
        + SERVICES;
    let conversion = conversion(&text);
    assert_eq!(warnings(&conversion), Vec::<String>::new());
    let root = proxy(&conversion, "default", "root");
    let tls = root.spec.virtualhost.as_ref().unwrap().tls.as_ref().unwrap();
    assert!(tls.passthrough);
    let include = root.spec.tcpproxy.as_ref().unwrap().include.as_ref().unwrap();
    assert_eq!((include.name.as_str(), include.namespace.as_str()), ("backend", "team"));
    let backend = proxy(&conversion, "team", "backend").spec.tcpproxy.as_ref().unwrap();
    assert_eq!(backend.services[0].weight, Some(3));
    assert_eq!(backend.load_balancer_policy.as_ref().unwrap().strategy, "Random");
    // A tcpproxy's health check had no effect; it is dropped, not warned about.
    let json = serde_json::to_string(&backend).unwrap();
    assert!(!json.contains("ignored"), "{json}");
}

#[test]
fn tls_certificate_delegation_becomes_its_projectcontour_kind() {
    let run = run(&[
        "convert",
        "--to",
        "httpproxy",
        "examples/ingressroute/tls-certificate-delegation.yaml",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let delegations: Vec<&str> = run
        .stdout
        .split("---\n")
        .filter(|d| d.contains("kind: TLSCertificateDelegation"))
        .collect();
    assert!(!delegations.is_empty(), "{}", run.stdout);
    for document in delegations {
        assert!(document.starts_with("apiVersion: projectcontour.io/v1\n"), "{document}");
        let Object::TlsCertificateDelegation(delegation) = serde_saphyr::from_str::<Object>(document).unwrap() else {
            panic!("{document}");
        };
        assert!(!delegation.spec.delegations.is_empty());
    }
}

#[test]
fn every_route_field_maps_to_its_httpproxy_form() {
    let text = "\
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: root, namespace: default, annotations: {contour.heptio.com/ingress.class: contour}, labels: {app: web}}
spec:
  virtualhost: {fqdn: app.example.com, tls: {secretName: tls, minimumProtocolVersion: \"1.2\"}}
  strategy: Cookie
  routes:
  - match: /api/
    permitInsecure: true
    prefixRewrite: /v1/
    timeoutPolicy: {request: 0s}
    retryPolicy: {count: 0, perTryTimeout: 150ms}
    services:
    - name: secure
      port: 443
      weight: 10
      healthCheck: {path: /healthz, intervalSeconds: 0, timeoutSeconds: 9}
      validation: {caSecret: ca, subjectName: secure.example.com}
  - match: /ws
    enableWebsockets: true
    timeoutPolicy: {request: 1m30s}
    services: [{name: secure, port: 443}]
---
apiVersion: v1
kind: Service
metadata:
  name: secure
  namespace: default
  annotations: {contour.heptio.com/upstream-protocol.tls: \"443\"}
spec: {ports: [{name: https, port: 443}]}
---
apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: CRT, tls.key: KEY}
---
apiVersion: v1
kind: Secret
metadata: {name: ca, namespace: default}
type: Opaque
data: {ca.crt: CA}
";
    use base64::Engine as _;
    let ca = fs::read(workspace().join("examples/ingressroute/certs/ca.crt")).unwrap();
    let encode =
        |path: &str| base64::engine::general_purpose::STANDARD.encode(fs::read(workspace().join(path)).unwrap());
    let text = text
        .replace(
            "ca.crt: CA",
            &format!("ca.crt: {}", base64::engine::general_purpose::STANDARD.encode(ca)),
        )
        .replace(
            "tls.crt: CRT",
            &format!("tls.crt: {}", encode("examples/ingressroute/certs/testsecret.crt")),
        )
        .replace(
            "tls.key: KEY",
            &format!("tls.key: {}", encode("examples/ingressroute/certs/testsecret.key")),
        );
    let conversion = conversion(&text);
    assert_eq!(warnings(&conversion), Vec::<String>::new());
    let root = proxy(&conversion, "default", "root");
    let annotations = root.metadata.annotations.as_ref().unwrap();
    assert_eq!(annotations["projectcontour.io/ingress.class"], "contour");
    assert_eq!(root.metadata.labels.as_ref().unwrap()["app"], "web");
    let value = serde_json::to_value(root).unwrap();
    assert_eq!(
        value["spec"]["virtualhost"],
        serde_json::json!({"fqdn": "app.example.com", "tls": {"secretName": "tls", "minimumProtocolVersion": "1.2"}})
    );
    assert_eq!(
        value["spec"]["routes"][0],
        serde_json::json!({
            "conditions": [{"prefix": "/api/"}],
            "services": [{
                "name": "secure", "port": 443, "protocol": "tls",
                "validation": {"caSecret": "ca", "subjectName": "secure.example.com"},
                "weight": 10
            }],
            "permitInsecure": true,
            "timeoutPolicy": {"response": "infinity"},
            "retryPolicy": {"count": 1, "perTryTimeout": "150ms"},
            "healthCheckPolicy": {
                "path": "/healthz", "intervalSeconds": 5, "timeoutSeconds": 9,
                "unhealthyThresholdCount": 3, "healthyThresholdCount": 2
            },
            "loadBalancerPolicy": {"strategy": "Cookie"},
            "pathRewritePolicy": {"replacePrefix": [{"replacement": "/v1/"}]}
        })
    );
    assert_eq!(
        value["spec"]["routes"][1],
        serde_json::json!({
            "conditions": [{"prefix": "/ws"}],
            "services": [{"name": "secure", "port": 443, "protocol": "tls"}],
            "enableWebsockets": true,
            "timeoutPolicy": {"response": "1m30s"},
            "loadBalancerPolicy": {"strategy": "Cookie"}
        })
    );
}

#[test]
fn invalid_and_orphaned_ingressroutes_are_named_with_their_quoted_status() {
    let run = run(&["convert", "--to", "httpproxy", "examples/invalid/orphaned-child.yaml"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr_lines().contains(
            &"warning: default/orphaned-child: not converted: orphaned: \"this IngressRoute is not part of a delegation chain from a root IngressRoute\""
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("name: orphaned-child\n"), "{}", run.stdout);
}

/// The `## Convert` section of the README.
fn readme_convert_section() -> String {
    let readme = fs::read_to_string(workspace().join("ingressroute-cli/README.md")).unwrap();
    let start = readme.find("\n## Convert\n").expect("the README has a Convert section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_owned()
}

#[test]
fn the_readme_console_examples_are_what_the_command_prints() {
    let section = readme_convert_section();
    let mut checked = 0;
    for block in section.split("```console\n").skip(1) {
        let block = &block[..block.find("```").unwrap()];
        let (command, expected) = block.split_once('\n').unwrap();
        let args: Vec<&str> = command
            .strip_prefix("$ ingressroute ")
            .expect("a console block starts with the command")
            .split_whitespace()
            .collect();
        let run = run(&args);
        assert_eq!(run.stdout, expected, "{command}");
        assert_eq!(run.code, 0, "{}", run.stderr);
        checked += 1;
    }
    assert!(checked >= 1);
}

#[test]
fn the_readme_warning_lines_are_what_the_command_prints() {
    let section = readme_convert_section();
    let lines: Vec<&str> = section
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert!(lines.len() >= 2);
    let valid = run(&["convert", "--to", "httpproxy", "examples/ingressroute"]);
    let invalid = run(&["convert", "--to", "httpproxy", "examples/invalid"]);
    for line in lines {
        assert!(
            valid.stderr_lines().contains(&line) || invalid.stderr_lines().contains(&line),
            "{line}"
        );
    }
}

// ---- --to gateway-api ----

fn gateway_objects(conversion: &Conversion) -> &[gateway::Object] {
    let Objects::GatewayApi(objects) = &conversion.objects else {
        panic!("not Gateway API objects");
    };
    objects
}

fn http_route(conversion: &Conversion, namespace: &str, name: &str) -> serde_json::Value {
    gateway_objects(conversion)
        .iter()
        .find_map(|o| match o {
            gateway::Object::HttpRoute(r)
                if r.metadata.name.as_deref() == Some(name) && r.metadata.namespace.as_deref() == Some(namespace) =>
            {
                Some(serde_json::to_value(r).unwrap())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no HTTPRoute {namespace}/{name}"))
}

fn kinds(conversion: &Conversion) -> Vec<String> {
    gateway_objects(conversion)
        .iter()
        .map(|o| {
            let value = serde_json::to_value(o).unwrap();
            format!(
                "{} {}/{}",
                value["kind"].as_str().unwrap(),
                value["metadata"]["namespace"].as_str().unwrap(),
                value["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn gateway_api_delegation_keeps_an_httproute_per_ingressroute_and_admits_only_the_trees_namespaces() {
    let text = [
        root(
            "[{match: /, services: [{name: web, port: 80}]}, {match: /blog, delegate: {name: blog, namespace: team}}]",
        ),
        child("team", "blog", &["/blog", "/blog/archive"]),
        SERVICES.to_owned(),
    ]
    .concat();
    let conversion = converted(&text, Target::GatewayApi);
    assert_eq!(
        kinds(&conversion),
        [
            "Gateway ingressroute/ingressroute",
            "HTTPRoute default/root",
            "HTTPRoute team/blog"
        ]
    );
    let gateway = serde_json::to_value(&gateway_objects(&conversion)[0]).unwrap();
    assert_eq!(gateway["apiVersion"], "gateway.networking.k8s.io/v1");
    let listener = &gateway["spec"]["listeners"][0];
    assert_eq!(listener["name"], "http-app.example.com");
    assert_eq!(listener["hostname"], "app.example.com");
    assert_eq!(
        listener["allowedRoutes"]["namespaces"]["selector"]["matchExpressions"][0]["values"],
        serde_json::json!(["default", "team"])
    );
    let blog = http_route(&conversion, "team", "blog");
    let prefixes: Vec<&str> = blog["spec"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["matches"][0]["path"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        prefixes,
        ["/blog", "/blog/archive"],
        "the effective prefixes, as written"
    );
    assert_eq!(blog["spec"]["parentRefs"][0]["sectionName"], "http-app.example.com");
    // Prefix matching differs for every route but `/`, and each affected route is named.
    assert_eq!(
        warnings(&conversion),
        [
            "team/blog: spec.routes[0].match: IngressRoute's \"/blog\" also matched \"/blogx\", Gateway API's \
             PathPrefix \"/blog\" matches whole path segments only, so such requests go to a shorter prefix",
            "team/blog: spec.routes[1].match: IngressRoute's \"/blog/archive\" also matched \"/blog/archivex\", \
             Gateway API's PathPrefix \"/blog/archive\" matches whole path segments only, so such requests go to \
             a shorter prefix",
        ]
    );
    assert_eq!(conversion.outcome, Outcome::Invalid);
}

#[test]
fn gateway_api_tls_redirects_on_http_except_permit_insecure_routes() {
    let run = run(&[
        "convert",
        "--to",
        "gateway-api",
        "-o",
        "json",
        "examples/ingressroute/tls-insecure-route.yaml",
    ]);
    assert_ne!(run.code, 2, "{}", run.stderr);
    let items = run.json()["items"].as_array().unwrap().clone();
    let http: Vec<&serde_json::Value> = items
        .iter()
        .filter(|i| i["kind"] == "HTTPRoute" && i["metadata"]["name"].as_str().unwrap().ends_with("-http"))
        .collect();
    assert_eq!(http.len(), 1, "{items:#?}");
    let rules = http[0]["spec"]["rules"].as_array().unwrap();
    let redirects = rules
        .iter()
        .filter(|r| r["filters"][0]["requestRedirect"]["scheme"] == "https")
        .count();
    let forwarded = rules.iter().filter(|r| r["backendRefs"].is_array()).count();
    assert!(redirects >= 1 && forwarded >= 1, "{rules:#?}");
    assert!(
        http[0]["spec"]["parentRefs"][0]["sectionName"]
            .as_str()
            .unwrap()
            .starts_with("http-")
    );
}

#[test]
fn gateway_api_passthrough_becomes_a_tls_listener_and_a_tlsroute() {
    let run = run(&[
        "convert",
        "--to",
        "gateway-api",
        "-o",
        "json",
        "examples/ingressroute/tcpproxy-tls-passthrough.yaml",
    ]);
    let items = run.json()["items"].as_array().unwrap().clone();
    let listener = items[0]["spec"]["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["protocol"] == "TLS")
        .cloned()
        .unwrap_or_else(|| panic!("{items:#?}"));
    assert_eq!(listener["tls"]["mode"], "Passthrough");
    let route = items.iter().find(|i| i["kind"] == "TLSRoute").unwrap();
    assert_eq!(route["spec"]["parentRefs"][0]["sectionName"], listener["name"]);
    assert!(route["spec"]["rules"][0]["backendRefs"][0]["port"].is_number());
}

#[test]
fn gateway_api_grants_the_gateway_exactly_the_delegated_certificate() {
    let run = run(&[
        "convert",
        "--to",
        "gateway-api",
        "-o",
        "json",
        "examples/ingressroute/tls-certificate-delegation.yaml",
    ]);
    let items = run.json()["items"].as_array().unwrap().clone();
    let grants: Vec<&serde_json::Value> = items.iter().filter(|i| i["kind"] == "ReferenceGrant").collect();
    assert_eq!(grants.len(), 1, "{items:#?}");
    assert_eq!(grants[0]["metadata"]["namespace"], "www-admin");
    assert_eq!(
        grants[0]["spec"]["to"],
        serde_json::json!([{"group": "", "kind": "Secret", "name": "example-com-wildcard"}])
    );
    assert_eq!(
        grants[0]["spec"]["from"],
        serde_json::json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "ingressroute"}])
    );
}

#[test]
fn gateway_api_upstream_validation_becomes_a_backendtlspolicy() {
    let run = run(&[
        "convert",
        "--to",
        "gateway-api",
        "-o",
        "json",
        "examples/ingressroute/upstream-tls-validation.yaml",
    ]);
    let items = run.json()["items"].as_array().unwrap().clone();
    let policy = items
        .iter()
        .find(|i| i["kind"] == "BackendTLSPolicy")
        .unwrap_or_else(|| panic!("{items:#?}"));
    assert_eq!(policy["spec"]["validation"]["hostname"], "backend.example.com");
    assert_eq!(policy["spec"]["targetRefs"][0]["kind"], "Service");
    assert_eq!(
        policy["spec"]["validation"]["caCertificateRefs"][0]["name"],
        "my-certificate-authority"
    );
}

#[test]
fn gateway_api_attaches_to_an_existing_gateway_without_writing_one() {
    let run = run(&[
        "convert",
        "--to",
        "gateway-api",
        "--gateway",
        "infra/shared",
        "-o",
        "json",
        "examples/ingressroute/basic.yaml",
    ]);
    let items = run.json()["items"].as_array().unwrap().clone();
    assert!(items.iter().all(|i| i["kind"] != "Gateway"), "{items:#?}");
    let parent = &items[0]["spec"]["parentRefs"][0];
    assert_eq!(
        (parent["namespace"].as_str(), parent["name"].as_str()),
        (Some("infra"), Some("shared"))
    );
    assert!(parent.get("sectionName").is_none(), "its listeners are not known");

    let bad = common::run(&[
        "convert",
        "--to",
        "gateway-api",
        "--gateway",
        "shared",
        "examples/ingressroute/basic.yaml",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn gateway_api_warns_when_the_gateway_would_hold_more_listeners_than_allowed() {
    let roots: Vec<String> = (0..70)
        .map(|i| {
            root("[{match: /, services: [{name: web, port: 80}]}]")
                .replace("name: root", &format!("name: root-{i}"))
                .replace("app.example.com", &format!("app-{i}.example.com"))
        })
        .collect();
    let text = roots.join("---\n") + SERVICES;
    let conversion = converted(&text, Target::GatewayApi);
    assert_eq!(
        warnings(&conversion),
        [
            "ingressroute/ingressroute: spec.listeners: 70 listeners, and a Gateway holds at most 64: split the \
             hosts over several Gateways (or ListenerSets)"
        ]
    );
}

#[test]
fn gateway_api_names_the_ingressroute_whose_plain_http_route_name_is_taken() {
    let tls = "\
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: app, namespace: default}
spec:
  virtualhost: {fqdn: app.example.com, tls: {secretName: tls}}
  routes: [{match: /, services: [{name: web, port: 80}]}]
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: app-http, namespace: default}
spec:
  virtualhost: {fqdn: other.example.com}
  routes: [{match: /, services: [{name: web, port: 80}]}]
---
apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: CRT, tls.key: KEY}
";
    use base64::Engine as _;
    let encode =
        |path: &str| base64::engine::general_purpose::STANDARD.encode(fs::read(workspace().join(path)).unwrap());
    let text =
        tls.replace(
            "tls.crt: CRT",
            &format!("tls.crt: {}", encode("examples/ingressroute/certs/testsecret.crt")),
        )
        .replace(
            "tls.key: KEY",
            &format!("tls.key: {}", encode("examples/ingressroute/certs/testsecret.key")),
        ) + SERVICES;
    let conversion = converted(&text, Target::GatewayApi);
    assert_eq!(
        warnings(&conversion),
        [
            "default/app: its HTTPRoute for plain HTTP is named default/app-http, like the HTTPRoute of \
             IngressRoute default/app-http: rename one of them"
        ]
    );
}

#[test]
fn a_tcpproxy_on_a_root_without_tls_is_dropped_without_a_word() {
    let text = "\
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: root, namespace: default}
spec:
  virtualhost: {fqdn: plain.example.com}
  routes: [{match: /, services: [{name: web, port: 80}]}]
  tcpproxy: {delegate: {name: nowhere}}
"
    .to_owned()
        + SERVICES;
    let conversion = conversion(&text);
    assert_eq!(warnings(&conversion), Vec::<String>::new());
    assert_eq!(conversion.outcome, Outcome::Valid);
    assert!(proxy(&conversion, "default", "root").spec.tcpproxy.is_none());
}

#[test]
fn gateway_api_warns_about_more_rules_than_an_httproute_holds_and_lowercases_hosts() {
    let routes: Vec<String> = (0..17)
        .map(|i| format!("{{match: /r{i}/, services: [{{name: web, port: 80}}]}}"))
        .collect();
    let text = root(&format!("[{}]", routes.join(", "))).replace("app.example.com", "App.Example.com") + SERVICES;
    let conversion = converted(&text, Target::GatewayApi);
    let warnings = warnings(&conversion);
    assert!(
        warnings.contains(
            &"default/root: spec.routes: 17 rules, and an HTTPRoute holds at most 16: split the IngressRoute's \
              routes over several HTTPRoutes"
                .to_owned()
        ),
        "{warnings:#?}"
    );
    let route = http_route(&conversion, "default", "root");
    assert_eq!(route["spec"]["hostnames"], serde_json::json!(["app.example.com"]));
}

#[test]
fn a_prefix_declared_twice_in_a_tree_is_warned_where_contour_would_serve_the_other() {
    // IngressRoute serves the last met in route order: the child's `/x`, met after the
    // root's. Contour adds the child's (an include) before the root's own and keeps the
    // root's.
    let text = [
        root("[{match: /x, services: [{name: web, port: 80}]}, {match: /, delegate: {name: child}}]"),
        child("default", "child", &["/", "/x"]),
        SERVICES.to_owned(),
    ]
    .concat();
    let conversion = conversion(&text);
    assert_eq!(
        warnings(&conversion),
        [
            "default/root: spec.routes[0].match: \"/x\" is also declared by default/child on \"app.example.com\": \
             IngressRoute served that one (the last in route order), the HTTPProxies serve this one (Contour adds \
             includes before an HTTPProxy's own routes, and the last added wins)"
        ]
    );
    // Delegating first: both serve the root's.
    let text = [
        root("[{match: /, delegate: {name: child}}, {match: /x, services: [{name: web, port: 80}]}]"),
        child("default", "child", &["/", "/x"]),
        SERVICES.to_owned(),
    ]
    .concat();
    assert_eq!(warnings(&converted(&text, Target::Httpproxy)), Vec::<String>::new());
}

#[test]
fn an_ingressroute_that_does_not_decode_is_named_and_not_converted() {
    let text = root("[{match: /, services: [{name: web, port: eighty}]}]") + SERVICES;
    for target in [Target::Httpproxy, Target::GatewayApi] {
        let conversion = converted(&text, target);
        assert_eq!(
            warnings(&conversion),
            [
                "default/root: not converted: invalid: \"cannot decode the IngressRoute: spec.routes[0].services[0].port: \
                 invalid type: string \\\"eighty\\\", expected i64\""
            ],
            "{target:?}"
        );
        assert_eq!(conversion.outcome, Outcome::Invalid);
    }
}
