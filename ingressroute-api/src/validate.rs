//! Client-side validation of a manifest against a CRD's `openAPIV3Schema`.
//!
//! Why one file of this length: it is one recursive walk over a schema and a value, with the
//! pruning and the CEL bridge that share its paths and findings; over two fifths of it
//! are the tests that pin the API server's behaviour, next to the rules they pin.
//!
//! [`SchemaValidator`] reports, as [`Finding`]s, what a Kubernetes API server would reject
//! when the object is created, plus the fields it would silently drop as unknown:
//!
//! ```text
//!  manifest (serde_json::Value)
//!    │
//!    ├─▶ structural walk ─────────────────────────────▶ type, required, bounds, lengths,
//!    │                                                   pattern, enum, unknown fields
//!    └─▶ pruned as the API server prunes ─▶ kube-cel ─▶ x-kubernetes-validations
//!        (unknown fields, non-nullable nulls)
//!
//!  ─▶ Vec<Finding>, sorted by path (numeric indices), then message
//! ```
//!
//! It does **not** check `format`, `multipleOf`, `uniqueItems`, `allOf`/`anyOf`/`oneOf`/
//! `not`, `x-kubernetes-list-type`, or anything inside `metadata` (name rules, labels,
//! annotations), and it does not evaluate transition rules (there is no old object on
//! create). It never fails on a bad object: every problem is a [`Finding`].
//!
//! Where the API server's behaviour is surprising, this module follows the API server
//! (each point is pinned by a test):
//!
//! * a `null` for a field that is not `nullable` is dropped before validation, as if the
//!   field were absent, so it is only reported when the field is required;
//! * a `null` for a `nullable` field with an `enum` is rejected unless the enum lists
//!   `null`;
//! * a number with an integral value (`80.0`) is accepted where an integer is expected;
//! * with a status subresource, `status` is dropped on create and not checked at all;
//! * `pattern` uses RE2 semantics (`\d`, `\s`, `\w` are ASCII-only), not Rust's Unicode
//!   classes.
//!
//! One deliberate difference: the API server skips *every* CEL rule once the object has a
//! type, required, enum or too-long error, and says so in one extra message. Here a rule
//! is only skipped when such an error lies inside the value it checks, so that fixing one
//! route does not reveal a second round of errors in another.

use std::{
    cmp::Ordering,
    collections::BTreeMap,
    fmt,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::LazyLock,
};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube_cel::{CompiledSchema, ErrorKind, RootContext, ValidationError, Validator};
use regex::Regex;
use serde_json::{Map, Number, Value};

use crate::{IngressRoute, TLSCertificateDelegation, VERSION};

/// How deep a schema may nest: kube-cel refuses deeper schemas (as the API server does at
/// registration). A schema generated from Rust types is nowhere near it.
const MAX_SCHEMA_DEPTH: usize = 64;

/// How deep a value kept by `x-kubernetes-preserve-unknown-fields` may nest before it is
/// handed to the CEL evaluator; the same limit serde_json puts on parsing.
const MAX_VALUE_DEPTH: usize = 128;

/// Why a [`SchemaValidator`] could not be built from a CRD.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The CRD does not define the requested version.
    #[error("the custom resource definition has no version {0:?}")]
    UnknownVersion(String),
    /// The requested version has no `openAPIV3Schema`.
    #[error("version {0:?} of the custom resource definition has no openAPIV3Schema")]
    MissingSchema(String),
    /// The schema could not be turned into JSON.
    #[error("cannot convert the openAPIV3Schema to JSON")]
    Json(#[source] serde_json::Error),
    /// The schema nests deeper than 64 levels, more than the CEL evaluator supports.
    #[error("the openAPIV3Schema nests deeper than {MAX_SCHEMA_DEPTH} levels")]
    TooDeep,
}

/// The result of building a [`SchemaValidator`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem found in an object.
///
/// `Display` prints `path: message`, e.g. `spec.routes[0].services[0].weight: must be >= 0`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Where the problem is, e.g. `spec.routes[0].services[0].weight`. Array elements are
    /// written `[i]`; a key that is not a plain identifier is written `["some key"]`. An
    /// empty path means the object itself.
    pub path: String,
    /// Whether the API server would reject the object, or only drop the field.
    pub kind: FindingKind,
    /// A short lowercase explanation, e.g. `must be >= 0` or
    /// `unknown field, did you mean "services"?`.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// What kind of problem a [`Finding`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FindingKind {
    /// The API server would refuse to create the object: a schema constraint or a CEL
    /// rule fails, or a rule cannot be evaluated.
    Rejected,
    /// The field is not in the schema. The API server accepts the object but drops the
    /// field (with a warning), so it is most likely a typo.
    UnknownField,
}

/// Checks objects against one version of a CRD's schema, including its CEL rules.
///
/// Build it once (patterns and rules are compiled up front) and call
/// [`validate`](Self::validate) for each object. [`validate_ingress_route`] and
/// [`validate_tls_certificate_delegation`] keep one for this crate's CRDs.
///
/// ```no_run
/// use ingressroute_api::{IngressRoute, validate::SchemaValidator};
/// use kube::CustomResourceExt;
///
/// let validator = SchemaValidator::from_crd(&IngressRoute::crd(), "v1beta1")?;
/// let object = serde_json::json!({"apiVersion": "contour.heptio.com/v1beta1"});
/// for finding in validator.validate(&object) {
///     println!("{finding}");
/// }
/// # Ok::<(), ingressroute_api::validate::Error>(())
/// ```
#[derive(Debug)]
pub struct SchemaValidator {
    root: Node,
    /// Whether the version has a status subresource, so that `status` is dropped on
    /// create.
    status_subresource: bool,
    compiled: CompiledSchema,
    cel: Validator,
    root_context: RootContext,
}

impl SchemaValidator {
    /// Builds a validator for `version` of `crd`, from its `openAPIV3Schema`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownVersion`] or [`Error::MissingSchema`] if the CRD has no schema for
    /// that version, [`Error::TooDeep`] if the schema nests deeper than 64 levels, and
    /// [`Error::Json`] if it cannot be converted to JSON. A pattern or a CEL rule that does
    /// not compile is not an error here: it is reported as a finding on every object that
    /// reaches it.
    pub fn from_crd(crd: &CustomResourceDefinition, version: &str) -> Result<Self> {
        let definition = crd
            .spec
            .versions
            .iter()
            .find(|v| v.name == version)
            .ok_or_else(|| Error::UnknownVersion(version.to_owned()))?;
        let props = definition
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .ok_or_else(|| Error::MissingSchema(version.to_owned()))?;
        let schema = serde_json::to_value(props).map_err(Error::Json)?;

        let mut root = Node::build(&schema, 0)?;
        root.add_object_meta();
        let status_subresource = definition.subresources.as_ref().is_some_and(|s| s.status.is_some());
        let group = &crd.spec.group;
        Ok(Self {
            root,
            status_subresource,
            compiled: kube_cel::compile_schema(&schema),
            cel: Validator::new(),
            root_context: RootContext {
                api_version: format!("{group}/{version}"),
                api_group: group.clone(),
                kind: crd.spec.names.kind.clone(),
            },
        })
    }

    /// Checks `object`, a whole manifest (`apiVersion`, `kind`, `metadata`, `spec`, ...)
    /// as decoded from JSON or YAML, and returns every finding, sorted by path (array
    /// indices in numeric order), then message. An empty list means the API server would
    /// accept the object and keep every field.
    #[must_use]
    pub fn validate(&self, object: &Value) -> Vec<Finding> {
        let mut walk = Walk {
            skip_status: self.status_subresource,
            ..Walk::default()
        };
        walk.check(&self.root, object, "");

        let pruned = walk.prune(&self.root, object, "", 0);
        let cel_findings = self.evaluate_rules(&pruned);
        let Walk {
            mut findings, blocking, ..
        } = walk;
        findings.extend(
            cel_findings
                .into_iter()
                .filter(|f| !blocking.iter().any(|b| is_within(b, &f.path))),
        );

        findings.sort_by(|a, b| {
            natural_cmp(&a.path, &b.path)
                .then_with(|| a.message.cmp(&b.message))
                .then_with(|| a.kind.cmp(&b.kind))
        });
        findings.dedup();
        findings
    }

    /// Runs the `x-kubernetes-validations` rules on the pruned object.
    fn evaluate_rules(&self, pruned: &Value) -> Vec<Finding> {
        // kube-cel and the cel interpreter are third-party code running on user data; a
        // panic there must not take the caller down.
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.cel
                .validate_compiled_with_context(&self.compiled, pruned, None, Some(&self.root_context))
        }));
        match outcome {
            Ok(Ok(())) => Vec::new(),
            Ok(Err(errors)) => errors.iter().map(rule_finding).collect(),
            Err(_) => vec![Finding {
                path: String::new(),
                kind: FindingKind::Rejected,
                message: "validation rules could not be evaluated: the evaluator panicked".into(),
            }],
        }
    }
}

/// Turns a kube-cel error into a finding: the rule's own message when it evaluated to
/// false, an explanation when it could not be evaluated at all.
fn rule_finding(error: &ValidationError) -> Finding {
    let message = match error.kind {
        ErrorKind::ValidationFailure => error.message.clone(),
        _ if error.rule.is_empty() => {
            format!("validation rule could not be evaluated: {}", error.message)
        }
        _ => format!(
            "validation rule {} could not be evaluated: {}",
            quote(&error.rule),
            error.message
        ),
    };
    Finding {
        path: error.field_path.clone(),
        kind: FindingKind::Rejected,
        message,
    }
}

/// Checks an IngressRoute manifest against the schema of [`IngressRoute::crd()`].
///
/// The validator is built on first use and kept for the life of the process.
#[must_use]
pub fn validate_ingress_route(object: &Value) -> Vec<Finding> {
    static VALIDATOR: LazyLock<Result<SchemaValidator>> =
        LazyLock::new(|| SchemaValidator::from_crd(&IngressRoute::crd(), VERSION));
    validate_with(&VALIDATOR, object)
}

/// Checks a TLSCertificateDelegation manifest against the schema of
/// [`TLSCertificateDelegation::crd()`].
///
/// The validator is built on first use and kept for the life of the process.
#[must_use]
pub fn validate_tls_certificate_delegation(object: &Value) -> Vec<Finding> {
    static VALIDATOR: LazyLock<Result<SchemaValidator>> =
        LazyLock::new(|| SchemaValidator::from_crd(&TLSCertificateDelegation::crd(), VERSION));
    validate_with(&VALIDATOR, object)
}

fn validate_with(validator: &Result<SchemaValidator>, object: &Value) -> Vec<Finding> {
    match validator {
        Ok(v) => v.validate(object),
        // Cannot happen for this crate's own CRDs (a unit test builds both), but a
        // validator that cannot be built must not pass every object.
        Err(e) => vec![Finding {
            path: String::new(),
            kind: FindingKind::Rejected,
            message: format!("the schema validator could not be built: {e}"),
        }],
    }
}

// ── The schema, compiled ─────────────────────────────────────────────────────────────

/// The JSON type a schema node demands (OpenAPI v3 in CRDs has exactly one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
}

impl JsonType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            "object" => Self::Object,
            "array" => Self::Array,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
        }
    }

    fn matches(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Integer => value.as_number().is_some_and(is_integer),
            Self::Number => value.is_number(),
            Self::Boolean => value.is_boolean(),
            Self::Object => value.is_object(),
            Self::Array => value.is_array(),
        }
    }
}

/// Whether the API server takes a JSON number as an integer. It decodes numbers that do
/// not parse as an `int64` into a `float64`, and accepts a float with an integral value
/// up to 2^53 where an integer is expected.
fn is_integer(n: &Number) -> bool {
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    n.as_i64().is_some() || n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() <= MAX_EXACT)
}

/// A `minimum` or `maximum`.
#[derive(Clone, Copy, Debug)]
struct Bound {
    value: f64,
    exclusive: bool,
}

/// A `pattern`, compiled with RE2 semantics, or the reason it does not compile.
#[derive(Debug)]
struct Pattern {
    source: String,
    regex: std::result::Result<Regex, String>,
}

/// What an object schema says about keys that are not in `properties`.
#[derive(Debug)]
enum Additional {
    /// No `additionalProperties` (or `false`): other keys are unknown and get pruned.
    Forbidden,
    /// `additionalProperties: true`: anything goes.
    Any,
    /// `additionalProperties: {schema}`: a map whose values follow the schema.
    Schema(Box<Node>),
}

/// One schema node, with everything the structural walk needs precomputed.
#[derive(Debug)]
struct Node {
    json_type: Option<JsonType>,
    nullable: bool,
    /// Whether the schema has a `default`, which the API server fills in for a missing
    /// field (or a null non-nullable one) before validating.
    has_default: bool,
    int_or_string: bool,
    preserve_unknown: bool,
    /// `metadata` of the object or of an embedded resource: its type is checked, nothing
    /// inside it is (the API server validates ObjectMeta with its own rules).
    object_meta: bool,
    enumeration: Vec<Value>,
    minimum: Option<Bound>,
    maximum: Option<Bound>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    pattern: Option<Pattern>,
    required: Vec<String>,
    properties: BTreeMap<String, Node>,
    items: Option<Box<Node>>,
    additional: Additional,
}

impl Node {
    /// A node that accepts anything of `json_type`.
    fn of_type(json_type: Option<JsonType>) -> Self {
        Self {
            json_type,
            nullable: false,
            has_default: false,
            int_or_string: false,
            preserve_unknown: false,
            object_meta: false,
            enumeration: Vec::new(),
            minimum: None,
            maximum: None,
            min_length: None,
            max_length: None,
            min_items: None,
            max_items: None,
            min_properties: None,
            max_properties: None,
            pattern: None,
            required: Vec::new(),
            properties: BTreeMap::new(),
            items: None,
            additional: Additional::Forbidden,
        }
    }

    /// Compiles a schema node and its children. Recursion follows the schema, which is
    /// bounded by [`MAX_SCHEMA_DEPTH`].
    fn build(schema: &Value, depth: usize) -> Result<Self> {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(Error::TooDeep);
        }
        let Some(s) = schema.as_object() else {
            // `true`/`false` schemas do not occur in CRDs; treat them as "anything".
            let mut node = Self::of_type(None);
            node.preserve_unknown = true;
            return Ok(node);
        };
        let flag = |key: &str| s.get(key).and_then(Value::as_bool).unwrap_or(false);
        let count = |key: &str| s.get(key).and_then(Value::as_u64);
        let bound = |key: &str, exclusive: &str| {
            s.get(key).and_then(Value::as_f64).map(|value| Bound {
                value,
                exclusive: flag(exclusive),
            })
        };

        let mut node = Self::of_type(s.get("type").and_then(Value::as_str).and_then(JsonType::parse));
        node.nullable = flag("nullable");
        node.has_default = s.contains_key("default");
        node.int_or_string = flag("x-kubernetes-int-or-string");
        node.preserve_unknown = flag("x-kubernetes-preserve-unknown-fields");
        node.enumeration = s.get("enum").and_then(Value::as_array).cloned().unwrap_or_default();
        node.minimum = bound("minimum", "exclusiveMinimum");
        node.maximum = bound("maximum", "exclusiveMaximum");
        node.min_length = count("minLength");
        node.max_length = count("maxLength");
        node.min_items = count("minItems");
        node.max_items = count("maxItems");
        node.min_properties = count("minProperties");
        node.max_properties = count("maxProperties");
        node.pattern = s.get("pattern").and_then(Value::as_str).map(|source| Pattern {
            source: source.to_owned(),
            regex: Regex::new(&re2_to_rust(source)).map_err(|e| e.to_string()),
        });
        node.required = s
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (name, child) in props {
                node.properties.insert(name.clone(), Self::build(child, depth + 1)?);
            }
        }
        if let Some(items) = s.get("items") {
            node.items = Some(Box::new(Self::build(items, depth + 1)?));
        }
        node.additional = match s.get("additionalProperties") {
            None | Some(Value::Bool(false)) => Additional::Forbidden,
            Some(Value::Bool(true)) => Additional::Any,
            Some(child) => Additional::Schema(Box::new(Self::build(child, depth + 1)?)),
        };
        if flag("x-kubernetes-embedded-resource") {
            node.add_object_meta();
        }
        Ok(node)
    }

    /// Adds `apiVersion`, `kind` and `metadata` where the schema leaves them out, as the
    /// API server does for the object itself and for embedded resources.
    fn add_object_meta(&mut self) {
        for (name, json_type) in [("apiVersion", JsonType::String), ("kind", JsonType::String)] {
            self.properties
                .entry(name.to_owned())
                .or_insert_with(|| Self::of_type(Some(json_type)));
        }
        let metadata = self
            .properties
            .entry("metadata".to_owned())
            .or_insert_with(|| Self::of_type(Some(JsonType::Object)));
        metadata.object_meta = true;
    }

    /// Whether keys outside `properties` are unknown (and pruned by the API server).
    fn forbids_unknown_keys(&self) -> bool {
        (self.json_type == Some(JsonType::Object) || !self.properties.is_empty())
            && matches!(self.additional, Additional::Forbidden)
            && !self.preserve_unknown
    }

    /// The schema of `key`'s value in an object, if it has one.
    fn child(&self, key: &str) -> Option<&Node> {
        match (self.properties.get(key), &self.additional) {
            (Some(child), _) => Some(child),
            (None, Additional::Schema(child)) => Some(child),
            _ => None,
        }
    }
}

// ── The structural walk ──────────────────────────────────────────────────────────────

/// Findings of the structural walk, and where the API server would stop before running
/// CEL rules.
#[derive(Debug, Default)]
struct Walk {
    /// Whether `status` is thrown away on create (the version has a status
    /// subresource), so that it is neither checked nor seen by the rules.
    skip_status: bool,
    findings: Vec<Finding>,
    /// Paths of type, required, enum and too-long/too-many errors: a CEL rule on a value
    /// that contains one of them is not evaluated.
    blocking: Vec<String>,
}

impl Walk {
    fn reject(&mut self, path: &str, message: String) {
        self.findings.push(Finding {
            path: path.to_owned(),
            kind: FindingKind::Rejected,
            message,
        });
    }

    fn block(&mut self, path: &str, message: String) {
        self.blocking.push(path.to_owned());
        self.reject(path, message);
    }

    /// Whether `key` is the top-level `status` that the API server drops on create.
    fn is_dropped_status(&self, path: &str, key: &str) -> bool {
        self.skip_status && path.is_empty() && key == "status"
    }

    /// Checks `value` against `node`. Recursion follows the schema, never the value alone,
    /// so a hostile, deeply nested value cannot overflow the stack.
    fn check(&mut self, node: &Node, value: &Value, path: &str) {
        if value.is_null() {
            // The type validator lets null through only when nullable; the enum check
            // still runs on it.
            if !node.nullable && (node.json_type.is_some() || node.int_or_string) {
                self.block(path, type_message(node));
            } else if !node.enumeration.is_empty() && !node.enumeration.contains(&Value::Null) {
                self.block(path, enum_message(&node.enumeration));
            }
            return;
        }
        let type_ok = match node.json_type {
            Some(t) => t.matches(value),
            None if node.int_or_string => JsonType::Integer.matches(value) || value.is_string(),
            None => true,
        };
        if !type_ok {
            self.block(path, type_message(node));
            return;
        }

        match value {
            Value::Number(n) => self.check_number(node, n, path),
            Value::String(s) => self.check_string(node, s, path),
            Value::Array(items) => self.check_array(node, items, path),
            Value::Object(map) => self.check_object(node, map, path),
            Value::Bool(_) | Value::Null => {}
        }
        if !node.enumeration.is_empty() && !node.enumeration.iter().any(|e| json_equal(e, value)) {
            self.block(path, enum_message(&node.enumeration));
        }
    }

    fn check_number(&mut self, node: &Node, n: &Number, path: &str) {
        if let Some(min) = node.minimum {
            match (compare(n, min.value), min.exclusive) {
                (Some(Ordering::Less), _) | (Some(Ordering::Equal), true) => {
                    let op = if min.exclusive { ">" } else { ">=" };
                    self.reject(path, format!("must be {op} {}", format_bound(min.value)));
                }
                _ => {}
            }
        }
        if let Some(max) = node.maximum {
            match (compare(n, max.value), max.exclusive) {
                (Some(Ordering::Greater), _) | (Some(Ordering::Equal), true) => {
                    let op = if max.exclusive { "<" } else { "<=" };
                    self.reject(path, format!("must be {op} {}", format_bound(max.value)));
                }
                _ => {}
            }
        }
    }

    fn check_string(&mut self, node: &Node, s: &str, path: &str) {
        // Lengths count Unicode code points, as Go's utf8.RuneCountInString does.
        let length = s.chars().count() as u64;
        if let Some(min) = node.min_length
            && length < min
        {
            self.reject(path, format!("must be at least {min} characters long"));
        }
        if let Some(max) = node.max_length
            && length > max
        {
            self.block(path, format!("must be at most {max} characters long"));
        }
        if let Some(pattern) = &node.pattern {
            match &pattern.regex {
                Ok(regex) if regex.is_match(s) => {}
                Ok(_) => self.reject(path, format!("must match pattern {}", quote(&pattern.source))),
                Err(e) => self.reject(
                    path,
                    format!("pattern {} could not be checked: {e}", quote(&pattern.source)),
                ),
            }
        }
    }

    fn check_array(&mut self, node: &Node, items: &[Value], path: &str) {
        let count = items.len() as u64;
        if let Some(min) = node.min_items
            && count < min
        {
            self.reject(path, format!("must have at least {min} items"));
        }
        if let Some(max) = node.max_items
            && count > max
        {
            self.block(path, format!("must have at most {max} items"));
        }
        if let Some(item_node) = &node.items {
            for (i, item) in items.iter().enumerate() {
                self.check(item_node, item, &index_path(path, i));
            }
        }
    }

    fn check_object(&mut self, node: &Node, map: &Map<String, Value>, path: &str) {
        if node.object_meta {
            return;
        }
        let count = map.len() as u64;
        if let Some(min) = node.min_properties
            && count < min
        {
            self.reject(path, format!("must have at least {min} properties"));
        }
        if let Some(max) = node.max_properties
            && count > max
        {
            self.block(path, format!("must have at most {max} properties"));
        }
        for name in &node.required {
            let present = match (map.get(name), node.child(name)) {
                (None, child) => child.is_some_and(|c| c.has_default),
                // A null for a non-nullable field is dropped before validation (or
                // replaced by the default).
                (Some(Value::Null), Some(child)) => child.nullable || child.has_default,
                (Some(_), _) => true,
            };
            if !present {
                self.block(&key_path(path, name), "is required".into());
            }
        }
        for (key, value) in map {
            if self.is_dropped_status(path, key) {
                continue;
            }
            match node.child(key) {
                Some(child) if value.is_null() && !child.nullable => {}
                Some(child) => self.check(child, value, &key_path(path, key)),
                None if node.forbids_unknown_keys() => {
                    let message = match suggestion(key, node.properties.keys()) {
                        Some(known) => format!("unknown field, did you mean {}?", quote(known)),
                        None => "unknown field".to_owned(),
                    };
                    self.findings.push(Finding {
                        path: key_path(path, key),
                        kind: FindingKind::UnknownField,
                        message,
                    });
                }
                None => {}
            }
        }
    }

    /// The object as the API server hands it to the CEL rules: unknown fields and nulls of
    /// non-nullable fields dropped, `metadata` reduced to `name` and `generateName`.
    /// Recursion follows the schema, except below `x-kubernetes-preserve-unknown-fields`,
    /// where it stops at [`MAX_VALUE_DEPTH`].
    fn prune(&mut self, node: &Node, value: &Value, path: &str, depth: usize) -> Value {
        match value {
            Value::Object(map) if node.object_meta => Value::Object(
                map.iter()
                    .filter(|(k, v)| matches!(k.as_str(), "name" | "generateName") && v.is_string())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            Value::Object(map) => {
                let mut kept = Map::new();
                for (key, child_value) in map {
                    if self.is_dropped_status(path, key) {
                        continue;
                    }
                    let child_path = key_path(path, key);
                    match node.child(key) {
                        Some(child) if child_value.is_null() && !child.nullable => {}
                        Some(child) => {
                            let pruned = self.prune(child, child_value, &child_path, depth + 1);
                            kept.insert(key.clone(), pruned);
                        }
                        None if node.preserve_unknown || matches!(node.additional, Additional::Any) => {
                            let copy = self.copy_bounded(child_value, &child_path, depth + 1);
                            kept.insert(key.clone(), copy);
                        }
                        None => {}
                    }
                }
                Value::Object(kept)
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let item_path = index_path(path, i);
                        match &node.items {
                            Some(item_node) => self.prune(item_node, item, &item_path, depth + 1),
                            None => self.copy_bounded(item, &item_path, depth + 1),
                        }
                    })
                    .collect(),
            ),
            scalar => scalar.clone(),
        }
    }

    /// Copies a value the schema says nothing about, refusing to go deeper than
    /// [`MAX_VALUE_DEPTH`].
    fn copy_bounded(&mut self, value: &Value, path: &str, depth: usize) -> Value {
        let nested = match value {
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => false,
        };
        if nested && depth >= MAX_VALUE_DEPTH {
            self.block(path, format!("is nested more than {MAX_VALUE_DEPTH} levels deep"));
            return Value::Null;
        }
        match value {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.copy_bounded(item, &index_path(path, i), depth + 1))
                    .collect(),
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.copy_bounded(v, &key_path(path, k), depth + 1)))
                    .collect(),
            ),
            scalar => scalar.clone(),
        }
    }
}

// ── Messages and paths ───────────────────────────────────────────────────────────────

fn type_message(node: &Node) -> String {
    match node.json_type {
        Some(t) => format!("must be of type {}", t.name()),
        None => "must be of type integer or string".to_owned(),
    }
}

fn enum_message(values: &[Value]) -> String {
    let listed: Vec<String> = values.iter().map(Value::to_string).collect();
    format!("must be one of {}", listed.join(", "))
}

/// A JSON string literal: `"services"`.
fn quote(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// A bound as written in a schema, without the `.0` that JSON numbers carry: `65535`.
fn format_bound(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Compares a JSON number with a schema bound, exactly for integers.
fn compare(n: &Number, bound: f64) -> Option<Ordering> {
    if let Some(i) = n.as_i64()
        && bound.fract() == 0.0
        && bound.abs() < 9.0e18
    {
        return Some(i128::from(i).cmp(&(bound as i128)));
    }
    n.as_f64()?.partial_cmp(&bound)
}

/// Enum membership: numbers compare by value (`80` equals `80.0`), everything else
/// exactly.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// `parent.key`, or `parent["key"]` when the key is not a plain identifier.
fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{}]", quote(key)),
    }
}

fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Whether `inner` is `outer` or a path below it.
fn is_within(inner: &str, outer: &str) -> bool {
    outer.is_empty()
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Orders paths so that `routes[2]` comes before `routes[10]`: runs of digits compare as
/// numbers, everything else byte by byte.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        let (mut rest_a, mut rest_b) = (a.chars(), b.chars());
        match (rest_a.next(), rest_b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (digits_a, after_a) = split_digits(a);
                let (digits_b, after_b) = split_digits(b);
                let (value_a, value_b) = (digits_a.trim_start_matches('0'), digits_b.trim_start_matches('0'));
                let order = value_a
                    .len()
                    .cmp(&value_b.len())
                    .then_with(|| value_a.cmp(value_b))
                    .then_with(|| digits_a.len().cmp(&digits_b.len()));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (after_a, after_b);
            }
            (Some(x), Some(y)) if x != y => return x.cmp(&y),
            (Some(_), Some(_)) => (a, b) = (rest_a.as_str(), rest_b.as_str()),
        }
    }
}

fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at_checked(end).unwrap_or((s, ""))
}

/// The closest known property name to a misspelled `key`, if one is close enough to be a
/// plausible typo: at most `max(2, len / 3)` edits, ignoring case.
fn suggestion<'a>(key: &str, known: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    let length = key.chars().count();
    if length > 256 {
        return None;
    }
    let limit = 2.max(length / 3);
    let key = key.to_lowercase();
    known
        .map(|k| (strsim::levenshtein(&key, &k.to_lowercase()), k.as_str()))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Rewrites the Perl classes of an RE2 pattern (what the API server runs) to their ASCII
/// meaning: in the `regex` crate `\d`, `\s` and `\w` are Unicode-aware, so `[^*\s]` would
/// refuse a no-break space that Kubernetes accepts.
fn re2_to_rust(pattern: &str) -> String {
    const DIGIT: &str = "0-9";
    const SPACE: &str = r"\t\n\x0C\r ";
    const WORD: &str = "0-9A-Za-z_";
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(escaped) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let set = match escaped.to_ascii_lowercase() {
                    'd' => Some(DIGIT),
                    's' => Some(SPACE),
                    'w' => Some(WORD),
                    _ => None,
                };
                match (set, escaped.is_ascii_uppercase(), in_class) {
                    (Some(set), false, false) => out.push_str(&format!("[{set}]")),
                    (Some(set), false, true) => out.push_str(set),
                    // A negated class nests, which the regex crate allows inside a class.
                    (Some(set), true, _) => out.push_str(&format!("[^{set}]")),
                    (None, _, _) => {
                        out.push('\\');
                        out.push(escaped);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                // A `]` right after the opening bracket is a literal.
                if chars.peek() == Some(&']') {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            '[' if chars.peek() == Some(&':') => {
                // A POSIX class such as `[:alpha:]`; the regex crate reads it the same way.
                out.push('[');
                for p in chars.by_ref() {
                    out.push(p);
                    if p == ']' {
                        break;
                    }
                }
            }
            '[' => out.push_str(r"\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            // Set operators in the regex crate (`&&`, `~~`), plain characters in RE2.
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A valid root IngressRoute with one route and one service, to be broken by the
    /// tests.
    fn home() -> Value {
        json!({
            "apiVersion": "contour.heptio.com/v1beta1",
            "kind": "IngressRoute",
            "metadata": {"name": "home", "namespace": "default"},
            "spec": {
                "virtualhost": {"fqdn": "home.example.com"},
                "routes": [{
                    "match": "/",
                    "services": [{"name": "home", "port": 80}]
                }]
            }
        })
    }

    /// Sets the value at a JSON pointer, creating the last key.
    fn with(mut object: Value, pointer: &str, value: Value) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        match object.pointer_mut(parent).unwrap() {
            Value::Object(map) => {
                map.insert(key.to_owned(), value);
            }
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
            other => panic!("cannot set {pointer} in {other}"),
        }
        object
    }

    fn without(mut object: Value, pointer: &str) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        object.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(key);
        object
    }

    fn rejected(path: &str, message: &str) -> Finding {
        Finding {
            path: path.into(),
            kind: FindingKind::Rejected,
            message: message.into(),
        }
    }

    fn unknown(path: &str, message: &str) -> Finding {
        Finding {
            path: path.into(),
            kind: FindingKind::UnknownField,
            message: message.into(),
        }
    }

    /// A validator for a hand-written schema, for the keywords our CRDs do not use.
    fn validator_for(schema: Value) -> SchemaValidator {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget", "plural": "widgets"},
                "scope": "Namespaced",
                "versions": [{
                    "name": "v1",
                    "served": true,
                    "storage": true,
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {"spec": null}
                    }}
                }]
            }
        });
        let crd = with(crd, "/spec/versions/0/schema/openAPIV3Schema/properties/spec", schema);
        let crd: CustomResourceDefinition = serde_json::from_value(crd).unwrap();
        SchemaValidator::from_crd(&crd, "v1").unwrap()
    }

    fn delegation(target_namespaces: Value) -> Value {
        let object = json!({
            "apiVersion": "contour.heptio.com/v1beta1",
            "kind": "TLSCertificateDelegation",
            "metadata": {"name": "wildcard", "namespace": "www-admin"},
            "spec": {"delegations": [{"secretName": "wildcard"}]}
        });
        with(object, "/spec/delegations/0/targetNamespaces", target_namespaces)
    }

    fn widget(spec: Value) -> Value {
        let object = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        with(object, "/spec", spec)
    }

    #[test]
    fn both_validators_build() {
        SchemaValidator::from_crd(&IngressRoute::crd(), VERSION).unwrap();
        SchemaValidator::from_crd(&TLSCertificateDelegation::crd(), VERSION).unwrap();
    }

    #[test]
    fn an_unknown_version_is_an_error() {
        let err = SchemaValidator::from_crd(&IngressRoute::crd(), "v1").unwrap_err();
        assert!(matches!(err, Error::UnknownVersion(ref v) if v == "v1"), "{err}");
    }

    #[test]
    fn valid_object_has_no_findings() {
        assert_eq!(validate_ingress_route(&home()), []);
    }

    #[test]
    fn negative_weight_is_rejected() {
        let object = with(home(), "/spec/routes/0/services/0/weight", json!(-1));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.routes[0].services[0].weight", "must be >= 0")]
        );
    }

    #[test]
    fn port_above_65535_is_rejected() {
        let object = with(home(), "/spec/routes/0/services/0/port", json!(65536));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.routes[0].services[0].port", "must be <= 65535")]
        );
    }

    #[test]
    fn port_zero_is_below_the_minimum() {
        let object = with(home(), "/spec/routes/0/services/0/port", json!(0));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.routes[0].services[0].port", "must be >= 1")]
        );
    }

    #[test]
    fn match_without_leading_slash_must_match_the_pattern() {
        let object = with(home(), "/spec/routes/0/match", json!("api"));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.routes[0].match", r#"must match pattern "^/""#)]
        );
    }

    #[test]
    fn unknown_strategy_must_be_one_of_the_listed_values() {
        let object = with(home(), "/spec/routes/0/services/0/strategy", json!("roundrobin"));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected(
                "spec.routes[0].services[0].strategy",
                r#"must be one of "RoundRobin", "WeightedLeastRequest", "Random", "Cookie""#
            )]
        );
    }

    #[test]
    fn missing_match_is_required() {
        let object = without(home(), "/spec/routes/0/match");
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.routes[0].match", "is required")]
        );
    }

    #[test]
    fn missing_spec_is_required() {
        let object = without(home(), "/spec");
        assert_eq!(validate_ingress_route(&object), [rejected("spec", "is required")]);
    }

    #[test]
    fn quoted_port_must_be_of_type_integer() {
        let object = with(home(), "/spec/routes/0/services/0/port", json!("80"));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.routes[0].services[0].port", "must be of type integer")]
        );
    }

    #[test]
    fn each_json_type_is_named_in_its_message() {
        let cases = [
            (
                "/spec/virtualhost/fqdn",
                json!(7),
                "spec.virtualhost.fqdn",
                "must be of type string",
            ),
            (
                "/spec/routes/0/enableWebsockets",
                json!("yes"),
                "spec.routes[0].enableWebsockets",
                "must be of type boolean",
            ),
            (
                "/spec/virtualhost",
                json!("home.example.com"),
                "spec.virtualhost",
                "must be of type object",
            ),
            (
                "/spec/routes",
                json!({"match": "/"}),
                "spec.routes",
                "must be of type array",
            ),
            (
                "/spec/routes/0/services/0/port",
                json!(80.5),
                "spec.routes[0].services[0].port",
                "must be of type integer",
            ),
        ];
        for (pointer, value, path, message) in cases {
            let object = with(home(), pointer, value);
            assert_eq!(validate_ingress_route(&object), [rejected(path, message)], "{pointer}");
        }
    }

    #[test]
    fn a_valid_tls_certificate_delegation_has_no_findings() {
        assert_eq!(validate_tls_certificate_delegation(&delegation(json!(["*"]))), []);
    }

    #[test]
    fn target_namespaces_must_be_an_array() {
        assert_eq!(
            validate_tls_certificate_delegation(&delegation(json!("*"))),
            [rejected(
                "spec.delegations[0].targetNamespaces",
                "must be of type array"
            )]
        );
    }

    #[test]
    fn a_number_type_accepts_fractions() {
        let validator =
            validator_for(json!({"type": "object", "properties": {"ratio": {"type": "number", "maximum": 1}}}));
        assert_eq!(validator.validate(&widget(json!({"ratio": 0.5}))), []);
        assert_eq!(
            validator.validate(&widget(json!({"ratio": 1.5}))),
            [rejected("spec.ratio", "must be <= 1")]
        );
        assert_eq!(
            validator.validate(&widget(json!({"ratio": "half"}))),
            [rejected("spec.ratio", "must be of type number")]
        );
    }

    #[test]
    fn empty_service_name_must_be_at_least_one_character_long() {
        let object = with(home(), "/spec/routes/0/services/0/name", json!(""));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected(
                "spec.routes[0].services[0].name",
                "must be at least 1 characters long"
            )]
        );
    }

    #[test]
    fn services_with_delegate_violates_the_cel_rule() {
        let object = with(home(), "/spec/routes/0/delegate", json!({"name": "blog"}));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected(
                "spec.routes[0]",
                "cannot specify services and delegate in the same route"
            )]
        );
    }

    #[test]
    fn websockets_with_two_services_violates_the_cel_rule() {
        let object = with(home(), "/spec/routes/0/enableWebsockets", json!(true));
        let object = with(
            object,
            "/spec/routes/0/services",
            json!([{"name": "a", "port": 80}, {"name": "b", "port": 80}]),
        );
        assert_eq!(
            validate_ingress_route(&object),
            [rejected(
                "spec.routes[0]",
                "cannot specify multiple services and enable websockets"
            )]
        );
    }

    #[test]
    fn tcpproxy_with_services_and_delegate_violates_the_cel_rule() {
        let object = with(
            home(),
            "/spec/tcpproxy",
            json!({"services": [{"name": "db", "port": 5432}], "delegate": {"name": "db"}}),
        );
        assert_eq!(
            validate_ingress_route(&object),
            [rejected(
                "spec.tcpproxy",
                "cannot specify services and delegate in the same tcpproxy"
            )]
        );
    }

    #[test]
    fn misspelled_services_suggests_services() {
        let object = home();
        let route = object.pointer("/spec/routes/0").unwrap().clone();
        let mut route = route.as_object().unwrap().clone();
        let services = route.remove("services").unwrap();
        route.insert("service".into(), services);
        let object = with(object, "/spec/routes/0", Value::Object(route));
        assert_eq!(
            validate_ingress_route(&object),
            [unknown(
                "spec.routes[0].service",
                r#"unknown field, did you mean "services"?"#
            )]
        );
    }

    #[test]
    fn a_suggestion_ignores_case() {
        let object = with(home(), "/spec/routes/0/services/0/healthcheck", json!({"path": "/"}));
        assert_eq!(
            validate_ingress_route(&object),
            [unknown(
                "spec.routes[0].services[0].healthcheck",
                r#"unknown field, did you mean "healthCheck"?"#
            )]
        );
    }

    #[test]
    fn an_unknown_field_far_from_every_name_has_no_suggestion() {
        let object = with(home(), "/spec/routes/0/rewrite", json!("/api"));
        assert_eq!(
            validate_ingress_route(&object),
            [unknown("spec.routes[0].rewrite", "unknown field")]
        );
    }

    #[test]
    fn top_level_fields_are_known_and_a_typo_among_them_is_not() {
        let object = with(home(), "/sepc", json!({}));
        assert_eq!(
            validate_ingress_route(&object),
            [unknown("sepc", r#"unknown field, did you mean "spec"?"#)]
        );
    }

    #[test]
    fn an_odd_key_is_quoted_in_the_path() {
        let object = with(home(), "/spec/virtualhost/tls secret", json!("x"));
        assert_eq!(
            validate_ingress_route(&object),
            [unknown(r#"spec.virtualhost["tls secret"]"#, "unknown field")]
        );
    }

    #[test]
    fn metadata_is_not_checked() {
        let object = with(home(), "/metadata/annotations", json!({"a": {"deeply": ["nested", 1]}}));
        let object = with(object, "/metadata/nmae", json!(3));
        assert_eq!(validate_ingress_route(&object), []);
        let object = with(home(), "/metadata", json!("home"));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("metadata", "must be of type object")]
        );
    }

    #[test]
    fn status_is_dropped_on_create_and_not_checked() {
        let object = with(home(), "/status", json!({"currentStatus": 1, "colour": "red"}));
        assert_eq!(validate_ingress_route(&object), []);
    }

    #[test]
    fn a_root_that_is_not_an_object_is_one_finding() {
        assert_eq!(
            validate_ingress_route(&json!([1, 2])),
            [rejected("", "must be of type object")]
        );
        assert_eq!(
            validate_ingress_route(&json!(null)),
            [rejected("", "must be of type object")]
        );
    }

    #[test]
    fn null_for_a_nullable_field_is_accepted() {
        let object = with(home(), "/spec/routes/0/services/0/weight", Value::Null);
        let object = with(object, "/spec/tcpproxy", Value::Null);
        assert_eq!(validate_ingress_route(&object), []);
    }

    #[test]
    fn null_for_a_nullable_enum_is_rejected_like_the_api_server_does() {
        let object = with(home(), "/spec/routes/0/services/0/strategy", Value::Null);
        assert_eq!(
            validate_ingress_route(&object),
            [rejected(
                "spec.routes[0].services[0].strategy",
                r#"must be one of "RoundRobin", "WeightedLeastRequest", "Random", "Cookie""#
            )]
        );
    }

    #[test]
    fn null_for_a_non_nullable_field_is_dropped_and_only_missed_when_required() {
        let object = with(home(), "/spec/routes/0/enableWebsockets", Value::Null);
        assert_eq!(validate_ingress_route(&object), []);
        let object = with(home(), "/spec/routes/0/match", Value::Null);
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.routes[0].match", "is required")]
        );
        let object = with(home(), "/spec/routes/0", Value::Null);
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.routes[0]", "must be of type object")]
        );
    }

    #[test]
    fn an_integral_float_is_an_integer() {
        let object = with(home(), "/spec/routes/0/services/0/port", json!(80.0));
        assert_eq!(validate_ingress_route(&object), []);
        let object = with(home(), "/spec/routes/0/services/0/port", json!(1e6));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.routes[0].services[0].port", "must be <= 65535")]
        );
        let object = with(home(), "/spec/routes/0/services/0/weight", json!(u64::MAX));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.routes[0].services[0].weight", "must be of type integer")]
        );
    }

    #[test]
    fn the_fqdn_pattern_uses_re2_whitespace() {
        // Go's `\s` is ASCII only: a no-break space passes, a plain space does not.
        let object = with(home(), "/spec/virtualhost/fqdn", json!("home\u{a0}example.com"));
        assert_eq!(validate_ingress_route(&object), []);
        let object = with(home(), "/spec/virtualhost/fqdn", json!("*.example.com"));
        assert_eq!(
            validate_ingress_route(&object),
            [rejected("spec.virtualhost.fqdn", r#"must match pattern "^[^*\\s]+$""#)]
        );
    }

    #[test]
    fn a_type_error_inside_a_route_skips_that_routes_rules_only() {
        let object = with(home(), "/spec/routes/0/delegate", json!({"name": "blog"}));
        let object = with(object, "/spec/routes/0/enableWebsockets", json!("yes"));
        let mut routes = object.pointer("/spec/routes").unwrap().as_array().unwrap().clone();
        routes.push(json!({"match": "/b", "services": [{"name": "b", "port": 80}], "delegate": {"name": "b"}}));
        let object = with(object, "/spec/routes", Value::Array(routes));
        assert_eq!(
            validate_ingress_route(&object),
            [
                rejected("spec.routes[0].enableWebsockets", "must be of type boolean"),
                rejected(
                    "spec.routes[1]",
                    "cannot specify services and delegate in the same route"
                ),
            ]
        );
    }

    #[test]
    fn a_misspelled_field_is_pruned_before_the_rules_run() {
        let object = with(home(), "/spec/routes/0/delegat", json!({"name": "blog"}));
        assert_eq!(
            validate_ingress_route(&object),
            [unknown(
                "spec.routes[0].delegat",
                r#"unknown field, did you mean "delegate"?"#
            )]
        );
    }

    #[test]
    fn findings_are_sorted_by_path_with_numeric_indices_then_message() {
        let routes: Vec<Value> = (0..12).map(|i| json!({"match": format!("r{i}")})).collect();
        let object = with(home(), "/spec/routes", Value::Array(routes));
        let paths: Vec<String> = validate_ingress_route(&object).into_iter().map(|f| f.path).collect();
        let expected: Vec<String> = (0..12).map(|i| format!("spec.routes[{i}].match")).collect();
        assert_eq!(paths, expected);

        let object = with(home(), "/spec/routes/0/services/0/weight", json!(-1));
        let object = with(object, "/spec/routes/0/services/0/port", json!(0));
        let object = with(object, "/spec/routes/0/services/0/nmae", json!("x"));
        let found = validate_ingress_route(&object);
        assert_eq!(
            found,
            [
                unknown(
                    "spec.routes[0].services[0].nmae",
                    r#"unknown field, did you mean "name"?"#
                ),
                rejected("spec.routes[0].services[0].port", "must be >= 1"),
                rejected("spec.routes[0].services[0].weight", "must be >= 0"),
            ]
        );
    }

    #[test]
    fn a_deeply_nested_value_does_not_overflow() {
        let mut deep = Value::Null;
        for _ in 0..200_000 {
            deep = Value::Array(vec![deep]);
        }
        let object = with(home(), "/spec/routes/0/services/0/labels", deep);
        // Dropping a value this deep would recurse as deep; leak it instead.
        let object = std::mem::ManuallyDrop::new(object);
        assert_eq!(
            validate_ingress_route(&object),
            [unknown("spec.routes[0].services[0].labels", "unknown field")]
        );
    }

    #[test]
    fn a_deeply_nested_preserved_value_is_refused_not_overflowed() {
        let validator = validator_for(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
        // Built by hand: `json!` would serialize the nested value recursively.
        let mut deep = Value::Null;
        for _ in 0..200_000 {
            deep = Value::Object(Map::from_iter([("a".to_owned(), deep)]));
        }
        let object = with(widget(json!({})), "/spec/free", deep);
        let object = std::mem::ManuallyDrop::new(object);
        let found = validator.validate(&object);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].message, "is nested more than 128 levels deep");
        assert!(found[0].path.starts_with("spec.free.a.a"), "{}", found[0].path);
    }

    #[test]
    fn maps_preserved_fields_and_int_or_string_follow_their_schemas() {
        let validator = validator_for(json!({
            "type": "object",
            "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "port": {"x-kubernetes-int-or-string": true},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
                "shape": {"type": "object", "minProperties": 1, "maxProperties": 1},
                "open": {"type": "object", "additionalProperties": true}
            }
        }));
        let object = widget(json!({
            "labels": {"a": "abc", "b": "abcd", "c": 1},
            "free": {"anything": {"goes": [1]}},
            "port": "http",
            "tags": ["x", "y", "z"],
            "shape": {"a": 1, "b": 2},
            "open": {"x": [null]}
        }));
        assert_eq!(
            validator.validate(&object),
            [
                rejected("spec.labels.b", "must be at most 3 characters long"),
                rejected("spec.labels.c", "must be of type string"),
                rejected("spec.shape", "must have at most 1 properties"),
                unknown("spec.shape.a", "unknown field"),
                unknown("spec.shape.b", "unknown field"),
                rejected("spec.tags", "must have at most 2 items"),
            ]
        );
        let object = widget(json!({"port": true, "tags": [], "shape": {}}));
        assert_eq!(
            validator.validate(&object),
            [
                rejected("spec.port", "must be of type integer or string"),
                rejected("spec.shape", "must have at least 1 properties"),
                rejected("spec.tags", "must have at least 1 items"),
            ]
        );
    }

    #[test]
    fn a_required_field_with_a_default_is_filled_in_not_missing() {
        let validator = validator_for(json!({
            "type": "object",
            "required": ["mode", "name"],
            "properties": {
                "mode": {"type": "string", "default": "fast"},
                "name": {"type": "string"}
            }
        }));
        assert_eq!(
            validator.validate(&widget(json!({"mode": null}))),
            [rejected("spec.name", "is required")]
        );
    }

    #[test]
    fn exclusive_bounds_exclude_the_bound() {
        let validator = validator_for(json!({
            "type": "object",
            "properties": {"n": {
                "type": "integer", "minimum": 0, "exclusiveMinimum": true,
                "maximum": 10, "exclusiveMaximum": true
            }}
        }));
        assert_eq!(
            validator.validate(&widget(json!({"n": 0}))),
            [rejected("spec.n", "must be > 0")]
        );
        assert_eq!(
            validator.validate(&widget(json!({"n": 10}))),
            [rejected("spec.n", "must be < 10")]
        );
        assert_eq!(validator.validate(&widget(json!({"n": 5}))), []);
    }

    #[test]
    fn a_rule_that_does_not_compile_is_reported_not_panicked() {
        let validator = validator_for(json!({
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.n >", "message": "n"}]
        }));
        let found = validator.validate(&widget(json!({"n": 1})));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "spec");
        assert_eq!(found[0].kind, FindingKind::Rejected);
        assert!(
            found[0]
                .message
                .starts_with(r#"validation rule "self.n >" could not be evaluated: "#),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_rule_on_a_missing_field_is_an_evaluation_error() {
        let validator = validator_for(json!({
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.n > 0", "message": "n must be positive"}]
        }));
        assert_eq!(
            validator.validate(&widget(json!({"n": 0}))),
            [rejected("spec", "n must be positive")]
        );
        let found = validator.validate(&widget(json!({})));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("could not be evaluated"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_pattern_that_does_not_compile_is_reported() {
        let validator = validator_for(json!({
            "type": "object",
            "properties": {"s": {"type": "string", "pattern": "(?<=a)b"}}
        }));
        let found = validator.validate(&widget(json!({"s": "ab"})));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .message
                .starts_with(r#"pattern "(?<=a)b" could not be checked: "#),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn re2_classes_become_ascii() {
        assert_eq!(re2_to_rust(r"^\d+$"), "^[0-9]+$");
        assert_eq!(re2_to_rust(r"[^*\s]"), r"[^*\t\n\x0C\r ]");
        assert_eq!(re2_to_rust(r"[a\W]"), "[a[^0-9A-Za-z_]]");
        assert_eq!(re2_to_rust(r"\S\."), r"[^\t\n\x0C\r ]\.");
        assert_eq!(re2_to_rust(r"[]a[:alpha:]]\\d"), r"[\]a[:alpha:]]\\d");
        assert_eq!(re2_to_rust(crate::DURATION_PATTERN), crate::DURATION_PATTERN);
        // `&&` and `~~` are set operators in the regex crate and plain characters in RE2.
        let class = Regex::new(&re2_to_rust("^[a&&b~~]+$")).unwrap();
        assert!(class.is_match("a&b~"));
        for pattern in [r"[]a]", r"[[:alpha:]\d]", r"\", r"\p{Greek}\w", "[^]x]"] {
            let _ = Regex::new(&re2_to_rust(pattern));
        }
    }

    #[test]
    fn durations_follow_the_duration_pattern() {
        let object = with(home(), "/spec/routes/0/timeoutPolicy", json!({"request": "1m30s"}));
        assert_eq!(validate_ingress_route(&object), []);
        let object = with(
            home(),
            "/spec/routes/0/retryPolicy",
            json!({"perTryTimeout": "10 seconds", "count": -1}),
        );
        let pattern = quote(crate::DURATION_PATTERN);
        assert_eq!(
            validate_ingress_route(&object),
            [
                rejected("spec.routes[0].retryPolicy.count", "must be >= 0"),
                rejected(
                    "spec.routes[0].retryPolicy.perTryTimeout",
                    &format!("must match pattern {pattern}")
                ),
            ]
        );
    }

    #[test]
    fn a_suggestion_counts_edits_in_characters_within_a_third_of_the_key() {
        let known: Vec<String> = ["services", "strategy", "match"].map(String::from).into();
        assert_eq!(suggestion("service", known.iter()), Some("services"));
        assert_eq!(suggestion("MATHC", known.iter()), Some("match"));
        // Two accented letters are two edits, not four bytes' worth.
        assert_eq!(suggestion("sérvîces", known.iter()), Some("services"));
        assert_eq!(suggestion("srvcs", known.iter()), None);
        assert_eq!(suggestion("rewrite", known.iter()), None);
    }

    #[test]
    fn natural_order_compares_digit_runs_as_numbers() {
        assert_eq!(natural_cmp("a[2]", "a[10]"), Ordering::Less);
        assert_eq!(natural_cmp("a[10].b", "a[10].a"), Ordering::Greater);
        assert_eq!(natural_cmp("a", "a[0]"), Ordering::Less);
        assert_eq!(natural_cmp("a[01]", "a[1]"), Ordering::Greater);
        assert_eq!(natural_cmp("é1", "é1"), Ordering::Equal);
    }
}
