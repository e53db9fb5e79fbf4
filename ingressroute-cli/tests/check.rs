//! `ingressroute check` end to end: inputs, messages, output formats and exit codes,
//! through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{root, run, run_in, scratch, service, write_files};

/// A valid root with its Service, in the default namespace.
fn valid_pair(name: &str, fqdn: &str) -> String {
    format!("{}---\n{}", root("default", name, fqdn), service("default", "web"))
}

#[test]
fn a_valid_input_exits_0() {
    let dir = scratch("exit-0");
    write_files(&dir, &[("ok.yaml", &valid_pair("ok", "ok.example.com"))]);
    let run = run_in(&dir, &["check", "-o", "json", "ok.yaml"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.statuses(),
        [("default/ok".into(), "valid".into(), "valid IngressRoute".into())]
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn an_invalid_or_orphaned_ingress_route_exits_1() {
    let dir = scratch("exit-1");
    let orphan = "apiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata:\n  name: orphan\nspec:\n  routes:\n  - match: /\n";
    write_files(
        &dir,
        &[
            ("orphan.yaml", orphan),
            ("missing.yaml", &root("default", "missing", "m.example.com")),
        ],
    );
    let run = run_in(&dir, &["check", "-o", "json", "orphan.yaml"], "");
    assert_eq!(run.code, 1);
    assert_eq!(run.statuses()[0].1, "orphaned");
    let run = run_in(&dir, &["check", "-o", "json", "missing.yaml"], "");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.statuses(),
        [(
            "default/missing".into(),
            "invalid".into(),
            "Service [web:80] is invalid or missing".into()
        )]
    );
}

#[test]
fn an_unreadable_input_exits_2_even_when_something_is_invalid() {
    let dir = scratch("exit-2");
    write_files(&dir, &[("missing.yaml", &root("default", "missing", "m.example.com"))]);
    let run = run_in(
        &dir,
        &["check", "-o", "json", "missing.yaml", "does-not-exist.yaml"],
        "",
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr_lines(),
        ["error: does-not-exist.yaml: cannot read: No such file or directory (os error 2)"]
    );
    assert_eq!(run.statuses().len(), 1, "what could be read is still checked");
}

#[test]
fn stdin_is_read_for_a_dash() {
    let run = run_in(
        &scratch("stdin"),
        &["check", "-o", "json", "-"],
        &valid_pair("from-stdin", "stdin.example.com"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.statuses()[0].0, "default/from-stdin");

    let run = run_in(&scratch("stdin-error"), &["check", "-"], "kind: [\n");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("error: <stdin>: document 1 (line 1): "),
        "{}",
        run.stderr
    );
}

#[test]
fn directories_are_walked_recursively_in_sorted_order() {
    let dir = scratch("walk");
    write_files(
        &dir,
        &[
            ("manifests/b/deep/er/service.yml", &service("default", "web")),
            // The same IngressRoute twice: the later one in walk order wins.
            (
                "manifests/a/route.yaml",
                &root("default", "walked", "first.example.com"),
            ),
            (
                "manifests/b/route.json",
                r#"{"apiVersion": "contour.heptio.com/v1beta1", "kind": "IngressRoute",
                "metadata": {"name": "walked"}, "spec": {"virtualhost": {"fqdn": "second.example.com"},
                "routes": [{"match": "/", "services": [{"name": "web", "port": 80}]}]}}"#,
            ),
            (
                "manifests/c.yaml",
                &root("team", "other", "other.example.com").replace("name: web", "name: team-web"),
            ),
            ("manifests/d/team-web.YAML", &service("team", "team-web")),
            ("manifests/notes.txt", "this is not a manifest: ["),
            ("manifests/e/README.md", "# not a manifest either"),
        ],
    );
    let run = run_in(&dir, &["check", "manifests"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "\
NAMESPACE   NAME     FQDN                 STATUS   DESCRIPTION
default     walked   second.example.com   valid    valid IngressRoute
team        other    other.example.com    valid    valid IngressRoute
"
    );
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: manifests/b/route.json: document 1 (line 1): IngressRoute default/walked is defined again; \
          it replaces the one at manifests/a/route.yaml: document 1 (line 1)"
        ]
    );
}

#[test]
fn an_empty_directory_is_a_warning() {
    let dir = scratch("empty-dir");
    std::fs::create_dir_all(dir.join("nothing")).unwrap();
    let run = run_in(&dir, &["check", "-o", "json", "nothing"], "");
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "{\n  \"items\": []\n}\n");
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: nothing: no *.yaml, *.yml or *.json file found",
            "warning: no IngressRoutes found"
        ]
    );
}

#[test]
fn list_items_are_checked_in_yaml_and_json() {
    let dir = scratch("list");
    let item = |text: &str| format!("- {}\n", text.trim_end().replace('\n', "\n  "));
    let yaml_list = format!(
        "apiVersion: v1\nkind: List\nitems:\n{}{}",
        item(&root("default", "listed", "listed.example.com")),
        item(&service("default", "web"))
    );
    let json_list = r#"{"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "contour.heptio.com/v1beta1", "kind": "IngressRoute", "metadata": {"name": "json-listed"},
         "spec": {"virtualhost": {"fqdn": "json.example.com"}, "routes": [{"match": "/", "services": [{"name": "web", "port": 80}]}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "skipped"}}
    ]}"#;
    write_files(&dir, &[("list.yaml", &yaml_list), ("list.json", json_list)]);
    let run = run_in(&dir, &["check", "-o", "json", "list.yaml", "list.json"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let names: Vec<String> = run.statuses().into_iter().map(|(o, _, _)| o).collect();
    assert_eq!(names, ["default/json-listed", "default/listed"]);
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: list.json: document 1 (line 1): items[1]: skipping unsupported kind \"ConfigMap\" (apiVersion \"v1\")"
        ]
    );
}

#[test]
fn json_files_may_hold_several_objects() {
    let dir = scratch("json");
    let json = r#"{"apiVersion": "contour.heptio.com/v1beta1", "kind": "IngressRoute", "metadata": {"name": "j", "namespace": "default"},
  "spec": {"virtualhost": {"fqdn": "j.example.com"}, "routes": [{"match": "/", "services": [{"name": "web", "port": 80}]}]}}
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
{"apiVersion": "v1", "kind": "Service",
 "metadata": {"name": "broken"}, "spec": {"ports": [{"port": true}]}}
"#;
    write_files(&dir, &[("objects.json", json)]);
    let run = run_in(&dir, &["check", "-o", "json", "objects.json"], "");
    assert_eq!(run.code, 2);
    assert_eq!(
        run.statuses(),
        [("default/j".into(), "valid".into(), "valid IngressRoute".into())]
    );
    assert_eq!(
        run.stderr_lines(),
        ["error: objects.json: document 3 (line 4): spec.ports[0].port: invalid type: boolean `true`, expected i32"]
    );
}

/// Document 3 starts on line 25 and its third route has a string port.
const STRING_PORT: &str = "\
# Two good documents, then a bad one.
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata:
  name: good
spec:
  virtualhost:
    fqdn: good.example.com
  routes:
  - match: /
    services:
    - name: web
      port: 80
---

# The bad one.
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata:
  name: bad
spec:
  virtualhost:
    fqdn: bad.example.com
  routes:
  - match: /a
    services: [{name: web, port: 80}]
  - match: /b
    services: [{name: web, port: 80}]
  - match: /c
    services:
    - name: web
      port: \"80\"
";

#[test]
fn a_string_port_is_reported_with_file_document_line_and_field() {
    let dir = scratch("string-port");
    write_files(&dir, &[("examples/x.yaml", STRING_PORT)]);
    let run = run_in(&dir, &["check", "-o", "json", "examples/x.yaml"], "");
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: examples/x.yaml: document 3 (line 25): spec.routes[2].services[0].port: invalid type: string \"80\", expected i64",
            "error: examples/x.yaml: document 3 (line 25): IngressRoute default/bad: spec.routes[2].services[0].port: must be of type integer (the API server would reject this object)",
        ]
    );
    // The API server would reject it: exit code 1, and a status that says why.
    assert_eq!(run.code, 1);
    // One bad document does not stop the others.
    assert_eq!(
        run.statuses(),
        [
            (
                "default/bad".into(),
                "invalid".into(),
                "cannot decode the IngressRoute: spec.routes[2].services[0].port: invalid type: string \"80\", expected i64"
                    .into()
            ),
            ("default/good".into(), "valid".into(), "valid IngressRoute".into())
        ]
    );
}

#[test]
fn a_yaml_syntax_error_reports_its_line_in_the_file() {
    let dir = scratch("syntax");
    let text = format!(
        "{}---\n{}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [broken\n",
        root("default", "ok", "ok.example.com"),
        service("default", "web")
    );
    // root(): 13 lines, service(): 9 lines; the third document starts on line 25 and
    // breaks on line 28, which stands for the document that does not parse.
    write_files(&dir, &[("bad.yaml", &text)]);
    let run = run_in(&dir, &["check", "-o", "json", "bad.yaml"], "");
    assert_eq!(run.code, 2);
    assert_eq!(run.statuses().len(), 1, "the good documents are still checked");
    assert_eq!(
        run.stderr_lines(),
        ["error: bad.yaml: document 3 (line 28): unclosed bracket '[' at line 28, column 9"]
    );
}

#[test]
fn odd_inputs_are_errors_or_nothing_but_never_a_crash() {
    let dir = scratch("odd");
    write_files(
        &dir,
        &[
            ("a-empty.yaml", ""),
            ("b-only-comments.yaml", "# nothing\n---\n---\n# still nothing\n"),
            // An empty document, like one with nothing but comments.
            ("c-null.yaml", "null\n"),
            ("d-scalar.yaml", "just a string\n"),
            ("e-list.yaml", "apiVersion: v1\nkind: List\n"),
            ("f-no-metadata.yaml", "apiVersion: v1\nkind: Service\nspec: {}\n"),
            (
                "g-no-name.json",
                r#"{"apiVersion": "contour.heptio.com/v1beta1", "kind": "IngressRoute", "metadata": {"namespace": "x"}, "spec": {}}"#,
            ),
            ("h-sequence.yaml", "- a\n- b\n"),
        ],
    );
    std::fs::write(dir.join("i-binary.yaml"), [0xff_u8, 0xfe, 0x00, 0x01, 0x80]).unwrap();
    let run = run_in(&dir, &["check", "-o", "json", "."], "");
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "{\n  \"items\": []\n}\n");
    assert_eq!(
        run.stderr_lines(),
        [
            "error: ./d-scalar.yaml: document 1 (line 1): expected a Kubernetes object, found a string",
            "warning: ./e-list.yaml: document 1 (line 1): List has no items",
            "error: ./f-no-metadata.yaml: document 1 (line 1): metadata: is required",
            "error: ./g-no-name.json: document 1 (line 1): metadata.name: is required",
            "error: ./h-sequence.yaml: document 1 (line 1): expected a Kubernetes object, found an array",
            "error: ./i-binary.yaml: cannot read: stream did not contain valid UTF-8",
        ],
        "no \"no IngressRoutes found\" after errors that say why"
    );
}

#[test]
fn unknown_fields_are_warnings_with_a_suggestion() {
    let dir = scratch("unknown-field");
    let text = valid_pair("basic", "basic.example.com").replace("    services:", "    service: []\n    services:");
    write_files(&dir, &[("basic.yaml", &text)]);
    let run = run_in(&dir, &["check", "-o", "json", "basic.yaml"], "");
    assert_eq!(
        run.stderr_lines(),
        ["warning: basic.yaml: document 1 (line 1): IngressRoute default/basic: \
             spec.routes[0].service: unknown field, did you mean \"services\"?"]
    );
    assert_eq!(run.code, 0, "warnings do not change the exit code");
}

#[test]
fn what_the_api_server_would_reject_is_reported_and_fails_the_check() {
    let dir = scratch("rejected");
    let text = valid_pair("home", "home.example.com").replace("      port: 80\n", "      port: 80\n      weight: -1\n");
    write_files(&dir, &[("home.yaml", &text)]);
    let run = run_in(&dir, &["check", "-o", "json", "home.yaml"], "");
    assert_eq!(
        run.stderr_lines(),
        ["error: home.yaml: document 1 (line 1): IngressRoute default/home: \
             spec.routes[0].services[0].weight: must be >= 0 (the API server would reject this object)"]
    );
    assert_eq!(run.statuses()[0].1, "invalid", "the status is still computed");
    assert_eq!(run.code, 1);
    // Tools need not read stderr: the item carries its creation-time rejections.
    let item = &run.json()["items"][0];
    assert_eq!(item["fqdn"], "home.example.com");
    assert_eq!(
        item["rejections"],
        serde_json::json!([{"field": "spec.routes[0].services[0].weight", "message": "must be >= 0"}])
    );
}

#[test]
fn a_schema_rejection_fails_the_check_even_when_every_status_is_valid() {
    let dir = scratch("rejected-delegation");
    let delegation = "apiVersion: contour.heptio.com/v1beta1\nkind: TLSCertificateDelegation\nmetadata:\n  name: d\n  namespace: certs\nspec:\n  delegations:\n  - secretName: \"\"\n    targetNamespaces: [\"*\"]\n";
    write_files(
        &dir,
        &[
            ("ok.yaml", &valid_pair("ok", "ok.example.com")),
            ("delegation.yaml", delegation),
        ],
    );
    let run = run_in(&dir, &["check", "-o", "json", "ok.yaml", "delegation.yaml"], "");
    assert_eq!(run.statuses()[0].1, "valid");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with(
            "error: delegation.yaml: document 1 (line 1): TLSCertificateDelegation certs/d: \
             spec.delegations[0].secretName: "
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].ends_with(" (the API server would reject this object)"),
        "{}",
        lines[0]
    );
    assert_eq!(run.code, 1);
}

#[test]
fn unsupported_kinds_are_skipped_with_one_warning_each() {
    let dir = scratch("unsupported");
    let text = format!(
        "{}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata:\n  name: p\n",
        valid_pair("ok", "ok.example.com")
    );
    write_files(&dir, &[("mixed.yaml", &text)]);
    let run = run_in(&dir, &["check", "mixed.yaml"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: mixed.yaml: document 3 (line 25): skipping unsupported kind \"Deployment\" (apiVersion \"apps/v1\")",
            "warning: mixed.yaml: document 4 (line 30): skipping unsupported kind \"HTTPProxy\" (apiVersion \"projectcontour.io/v1\")",
        ]
    );
}

#[test]
fn the_table_looks_like_kubectl_get() {
    let dir = scratch("table");
    let child = "apiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata:\n  name: child\n  namespace: marketing\nspec:\n  routes:\n  - match: /blog\n";
    write_files(
        &dir,
        &[("a.yaml", &valid_pair("basic", "foo-basic.bar.com")), ("b.yaml", child)],
    );
    let run = run_in(&dir, &["check", "a.yaml", "b.yaml"], "");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "\
NAMESPACE   NAME    FQDN                STATUS     DESCRIPTION
default     basic   foo-basic.bar.com   valid      valid IngressRoute
marketing   child                       orphaned   this IngressRoute is not part of a delegation chain from a root IngressRoute
"
    );
    let explicit = run_in(&dir, &["check", "-o", "table", "a.yaml", "b.yaml"], "");
    assert_eq!(explicit.stdout, run.stdout);
}

#[test]
fn yaml_output_has_the_json_structure() {
    let dir = scratch("yaml-output");
    write_files(&dir, &[("a.yaml", &valid_pair("basic", "foo-basic.bar.com"))]);
    let run = run_in(&dir, &["check", "-o", "yaml", "a.yaml"], "");
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        "items:\n- apiVersion: contour.heptio.com/v1beta1\n  kind: IngressRoute\n  namespace: default\n  name: basic\n  status:\n    currentStatus: valid\n    description: valid IngressRoute\n  fqdn: foo-basic.bar.com\n  rejections: []\n"
    );
}

#[test]
fn ingress_routes_of_another_class_are_ignored_with_a_warning() {
    let dir = scratch("ingress-class");
    let annotated = |name: &str, fqdn: &str, key: &str, class: &str| {
        root("default", name, fqdn).replace(
            "  namespace: default\n",
            &format!("  namespace: default\n  annotations:\n    {key}: \"{class}\"\n"),
        )
    };
    write_files(
        &dir,
        &[
            ("a.yaml", &valid_pair("plain", "plain.example.com")),
            (
                "b.yaml",
                &annotated("nginx", "nginx.example.com", "kubernetes.io/ingress.class", "nginx"),
            ),
            (
                "c.yaml",
                &annotated(
                    "contour",
                    "contour.example.com",
                    "contour.heptio.com/ingress.class",
                    "contour",
                ),
            ),
            (
                "d.yaml",
                &annotated("empty", "empty.example.com", "projectcontour.io/ingress.class", ""),
            ),
        ],
    );
    let run = run_in(&dir, &["check", "-o", "json", "."], "");
    let names: Vec<String> = run.statuses().into_iter().map(|(o, _, _)| o).collect();
    assert_eq!(names, ["default/contour", "default/empty", "default/plain"]);
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: ./b.yaml: document 1 (line 1): IngressRoute default/nginx: ignored: \
             its ingress class \"nginx\" is not the one served (\"contour\")"
        ]
    );
    assert_eq!(run.code, 0);

    let run = run_in(&dir, &["check", "--ingress-class", "nginx", "-o", "json", "."], "");
    let names: Vec<String> = run.statuses().into_iter().map(|(o, _, _)| o).collect();
    assert_eq!(names, ["default/empty", "default/nginx", "default/plain"]);
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: ./c.yaml: document 1 (line 1): IngressRoute default/contour: ignored: \
             its ingress class \"contour\" is not the one served (\"nginx\")"
        ]
    );
}

#[test]
fn root_namespaces_restrict_where_roots_may_live() {
    let out = run(&[
        "check",
        "--root-namespaces",
        "roots",
        "-o",
        "json",
        "examples/ingressroute/root-namespaces.yaml",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.statuses().iter().all(|(_, status, _)| status == "valid"));

    let out = run(&[
        "check",
        "--root-namespaces=other, roots2",
        "-o",
        "json",
        "examples/ingressroute/root-namespaces.yaml",
    ]);
    assert_eq!(out.code, 1);
    let statuses = out.statuses();
    let roots: Vec<_> = statuses.iter().filter(|(o, _, _)| o.starts_with("roots/")).collect();
    assert!(!roots.is_empty());
    for (_, status, description) in roots {
        assert_eq!(
            (status.as_str(), description.as_str()),
            ("invalid", "root IngressRoute cannot be defined in this namespace")
        );
    }

    let out = run(&[
        "check",
        "--root-namespaces",
        " , ",
        "-o",
        "json",
        "examples/ingressroute/root-namespaces.yaml",
    ]);
    assert_eq!(out.code, 0, "a blank list means no restriction");
}

#[test]
fn an_unusable_secret_is_reported() {
    let dir = scratch("secret");
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: foo\ntype: kubernetes.io/tls\ndata:\n  tls.crt: \"\"\n  tls.key: \"\"\n";
    write_files(&dir, &[("secret.yaml", secret)]);
    let run = run_in(&dir, &["check", "-o", "json", "secret.yaml"], "");
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: secret.yaml: document 1 (line 1): Secret default/foo: not usable: tls.crt is missing or empty",
            "warning: no IngressRoutes found"
        ]
    );
    assert_eq!(run.code, 0);
}

#[test]
fn stdout_stays_machine_readable_when_there_are_warnings() {
    let dir = scratch("stdout-clean");
    let text = format!(
        "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\n42\n",
        valid_pair("ok", "ok.example.com")
    );
    write_files(&dir, &[("mixed.yaml", &text)]);
    let run = run_in(&dir, &["check", "-o", "json", "mixed.yaml"], "");
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(run.stderr_lines().len(), 2);
}

#[test]
fn bad_arguments_are_refused() {
    assert_eq!(run(&["check"]).code, 2, "a PATH is required");
    assert_eq!(run(&["check", "-o", "xml", "examples/ingressroute"]).code, 2);
}

#[test]
fn a_cell_longer_than_65535_characters_does_not_crash_the_table() {
    // The table used to pad with `{:<width$}`, which panics past `u16::MAX`.
    let dir = scratch("huge-cell");
    let fqdn = format!("{}.example.com", "a".repeat(70_000));
    write_files(&dir, &[("huge.yaml", &valid_pair("huge", &fqdn))]);
    let run = run_in(&dir, &["check", "huge.yaml"], "");
    assert_ne!(run.code, 101, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(lines[1].starts_with("default     huge   aaaa"), "{}", &lines[1][..40]);
    assert_eq!(lines[0].find("STATUS"), lines[1].find("valid"));
}

#[test]
fn every_stderr_line_is_an_error_or_a_warning_with_control_characters_escaped() {
    let dir = scratch("stderr-format");
    // A name with an escape sequence that would turn a terminal red, and a field the
    // schema does not know: a warning that names the object.
    let sneaky = valid_pair("x", "x.example.com")
        .replace("  name: x\n", "  name: \"a\\e[31mb\\nc\"\n")
        .replace("    services:", "    service: []\n    services:");
    write_files(
        &dir,
        &[
            ("sneaky.yaml", &sneaky),
            ("bad.yaml", "apiVersion: v1\nkind: Service\nmetadata: [\n"),
            (
                "other.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
            ),
        ],
    );
    let run = run_in(&dir, &["check", "-o", "json", "."], "");
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    for line in &lines {
        assert!(
            line.starts_with("error: ./") || line.starts_with("warning: ./"),
            "{line}"
        );
        assert!(line.contains(": document 1 (line "), "{line}");
    }
    assert!(lines[0].starts_with("error: ./bad.yaml: "), "{}", lines[0]);
    assert!(lines[1].starts_with("warning: ./other.yaml: "), "{}", lines[1]);
    // Such a name is not one the API server accepts, which is said on a line of its own.
    assert!(
        lines[2].starts_with(
            "error: ./sneaky.yaml: document 1 (line 1): IngressRoute default/a\\u{1b}[31mb\\nc: metadata.name: "
        ),
        "{}",
        lines[2]
    );
    assert_eq!(
        lines[3],
        "warning: ./sneaky.yaml: document 1 (line 1): IngressRoute default/a\\u{1b}[31mb\\nc: \
         spec.routes[0].service: unknown field, did you mean \"services\"?"
    );
    // The name is kept as it is in the JSON output.
    assert_eq!(run.json()["items"][0]["name"], "a\u{1b}[31mb\nc");

    let table = run_in(&dir, &["check", "sneaky.yaml"], "");
    assert!(table.stdout.contains("a\\u{1b}[31mb\\nc"), "{}", table.stdout);
    assert_eq!(table.stdout.lines().count(), 2);
}
