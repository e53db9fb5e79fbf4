//! Decoding an IngressRoute or a TLSCertificateDelegation the way Contour's Go structs
//! decode it: a missing field is its zero value, only a wrong type is an error.
//!
//! ```text
//!  serde_json::Value ──▶ walk with the CRD's openAPIV3Schema:
//!                          required field missing or null ─▶ zero value ("", 0, false,
//!                                                            [], {}), path recorded
//!                          optional field null            ─▶ dropped (as if absent)
//!                          list item null                 ─▶ zero value
//!                    ──▶ typed decode (serde) ──▶ Lenient { object, missing }
//!                                            └─▶ Error { path, message } (a wrong type)
//! ```
//!
//! The typed structs stay strict (a missing `match` does not decode) and so does the
//! CRD generated from them: what the API server refuses is still refused by
//! [`crate::validate`]. This module is for consumers that must still say something
//! about such an object, as Contour would: an IngressRoute without `virtualhost.fqdn`
//! decodes here with an empty fqdn and gets Contour's status for it (`Spec.VirtualHost.Fqdn
//! must be specified`), where strict decoding would leave nothing to give a status to.
//!
//! What it does **not** do: validate anything (ranges, patterns, rules) or decode
//! `metadata` leniently (a malformed name is a type error like any other).

use std::fmt;
use std::sync::LazyLock;

use kube::CustomResourceExt as _;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{IngressRoute, TLSCertificateDelegation, VERSION};

/// An object decoded leniently, and the required fields it lacked.
#[derive(Debug, Clone, PartialEq)]
pub struct Lenient<T> {
    /// The object, with zero values where required fields were missing (or `null`).
    pub object: T,
    /// The paths of the required fields that were missing, e.g. `spec.virtualhost.fqdn`,
    /// in the order the object was walked: at each level the missing fields first, then
    /// the fields present in alphabetical order, each with what is inside it (so
    /// `spec.routes[0].match` comes before `spec.virtualhost.fqdn`); empty when the
    /// object decodes strictly too.
    pub missing: Vec<String>,
}

impl<T> Lenient<T> {
    /// Whether the object lacked nothing required.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Why an object does not decode even leniently: a field has the wrong type.
///
/// `Display` prints `path: message`, e.g. `spec.routes[0].services[0].port: invalid
/// type: string "eighty", expected i64`, as the controller's `cannot decode the
/// IngressRoute: ...` status does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", if .path.is_empty() { .message.clone() } else { format!("{}: {}", .path, .message) })]
pub struct Error {
    /// The path of the offending field, e.g. `spec.routes[2].services[0].port`; empty
    /// for the object itself.
    pub path: String,
    /// What is wrong, as serde says it.
    pub message: String,
}

/// Decodes an IngressRoute as Contour's Go struct would (see the module documentation).
///
/// # Errors
///
/// [`Error`] when a field has the wrong type.
pub fn ingress_route(value: &Value) -> Result<Lenient<IngressRoute>, Error> {
    static SCHEMA: LazyLock<Value> = LazyLock::new(|| schema(&IngressRoute::crd()));
    decode(&SCHEMA, value)
}

/// Decodes a TLSCertificateDelegation as Contour's Go struct would (see the module
/// documentation).
///
/// # Errors
///
/// [`Error`] when a field has the wrong type.
pub fn tls_certificate_delegation(value: &Value) -> Result<Lenient<TLSCertificateDelegation>, Error> {
    static SCHEMA: LazyLock<Value> = LazyLock::new(|| schema(&TLSCertificateDelegation::crd()));
    decode(&SCHEMA, value)
}

/// The `openAPIV3Schema` of this crate's version of a CRD; `null` if it has none (it
/// always has: a unit test builds both).
fn schema(crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition) -> Value {
    crd.spec
        .versions
        .iter()
        .find(|v| v.name == VERSION)
        .and_then(|v| v.schema.as_ref())
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or(Value::Null)
}

fn decode<T: DeserializeOwned>(schema: &Value, value: &Value) -> Result<Lenient<T>, Error> {
    let mut filled = value.clone();
    let mut missing = Vec::new();
    fill(schema, &mut filled, &mut Path::root(), &mut missing);
    match serde_path_to_error::deserialize::<_, T>(&filled) {
        Ok(object) => Ok(Lenient { object, missing }),
        Err(error) => {
            let path = error.path().to_string();
            Err(Error {
                path: if path == "." { String::new() } else { path },
                message: error.into_inner().to_string(),
            })
        }
    }
}

/// A field path as the rest of the crate writes it: `spec.routes[0].match`.
#[derive(Debug)]
struct Path(String);

impl Path {
    fn root() -> Self {
        Self(String::new())
    }

    fn key(&self, key: &str) -> Self {
        if self.0.is_empty() {
            Self(key.to_owned())
        } else {
            Self(format!("{}.{key}", self.0))
        }
    }

    fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Fills in zero values for missing required fields and `null`s, recording the paths of
/// the required fields that were missing. Values of the wrong type are left for serde
/// to report.
fn fill(schema: &Value, value: &mut Value, path: &mut Path, missing: &mut Vec<String>) {
    match value {
        Value::Object(map) if schema.get("type").and_then(Value::as_str) == Some("object") => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                // A map (`additionalProperties`) or an opaque object: nothing to fill.
                return;
            };
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            // An optional `null` is absent, as in Go; a required one is missing.
            map.retain(|key, v| !v.is_null() || required.contains(&key.as_str()));
            for name in &required {
                if map.get(*name).is_none_or(Value::is_null) {
                    let field = properties.get(*name).unwrap_or(&Value::Null);
                    map.insert((*name).to_owned(), zero(field));
                    missing.push(path.key(name).to_string());
                }
            }
            fill_properties(properties, map, path, missing);
        }
        Value::Array(items) if schema.get("type").and_then(Value::as_str) == Some("array") => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            for (i, item) in items.iter_mut().enumerate() {
                if item.is_null() {
                    *item = zero(item_schema);
                }
                fill(item_schema, item, &mut path.index(i), missing);
            }
        }
        _ => {}
    }
}

fn fill_properties(
    properties: &Map<String, Value>,
    map: &mut Map<String, Value>,
    path: &Path,
    missing: &mut Vec<String>,
) {
    for (key, sub) in map.iter_mut() {
        if let Some(field) = properties.get(key) {
            fill(field, sub, &mut path.key(key), missing);
        }
    }
}

/// Go's zero value for a field of this schema: `""`, `0`, `false`, `[]`, or an object
/// with the zero values of its own required fields.
fn zero(schema: &Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => Value::String(String::new()),
        Some("integer" | "number") => Value::from(0),
        Some("boolean") => Value::Bool(false),
        Some("array") => Value::Array(Vec::new()),
        Some("object") => {
            let mut object = Value::Object(Map::new());
            // The fields inside a missing field are not reported: the field is.
            fill(schema, &mut object, &mut Path::root(), &mut Vec::new());
            object
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn route(spec: &Value) -> Value {
        json!({
            "apiVersion": "contour.heptio.com/v1beta1",
            "kind": "IngressRoute",
            "metadata": {"name": "r", "namespace": "default"},
            "spec": spec,
        })
    }

    #[test]
    fn both_schemas_are_there() {
        static ROUTE: LazyLock<Value> = LazyLock::new(|| schema(&IngressRoute::crd()));
        static DELEGATION: LazyLock<Value> = LazyLock::new(|| schema(&TLSCertificateDelegation::crd()));
        assert_eq!(ROUTE["type"], "object");
        assert_eq!(DELEGATION["type"], "object");
    }

    #[test]
    fn a_complete_object_decodes_as_strictly() {
        let value = route(&json!({
            "virtualhost": {"fqdn": "a.example.com"},
            "routes": [{"match": "/", "services": [{"name": "web", "port": 80}]}],
        }));
        let decoded = ingress_route(&value).unwrap();
        assert!(decoded.is_complete());
        let strict: IngressRoute = serde_json::from_value(value).unwrap();
        assert_eq!(decoded.object, strict);
    }

    #[test]
    fn missing_required_fields_are_zero_values_and_the_first_is_named() {
        let value = route(&json!({
            "virtualhost": {},
            "routes": [
                {"services": [{"name": "web"}, {"port": 80}]},
                null,
                {"match": "/b", "delegate": {}, "services": null},
            ],
        }));
        let decoded = ingress_route(&value).unwrap();
        assert_eq!(
            decoded.missing,
            [
                "spec.routes[0].match",
                "spec.routes[0].services[0].port",
                "spec.routes[0].services[1].name",
                "spec.routes[2].delegate.name",
                "spec.virtualhost.fqdn",
            ]
        );
        let spec = &decoded.object.spec;
        assert_eq!(spec.virtualhost.as_ref().unwrap().fqdn, "");
        assert_eq!(spec.routes.len(), 3);
        assert_eq!(spec.routes[0].match_, "");
        assert_eq!(spec.routes[0].services[0].port, 0);
        assert_eq!(spec.routes[0].services[1].name, "");
        assert_eq!(spec.routes[1], crate::Route::default(), "a null item is a zero item");
        assert!(spec.routes[2].services.is_empty(), "an optional null is absent");
        assert_eq!(spec.routes[2].delegate.as_ref().unwrap().name, "");
    }

    #[test]
    fn a_missing_or_null_spec_is_an_empty_one() {
        for spec in [None, Some(Value::Null)] {
            let mut value = route(&json!({}));
            match spec {
                Some(spec) => value["spec"] = spec,
                None => drop(value.as_object_mut().unwrap().remove("spec")),
            }
            let decoded = ingress_route(&value).unwrap();
            assert_eq!(decoded.missing, ["spec"]);
            assert_eq!(decoded.object.spec, crate::IngressRouteSpec::default());
        }
    }

    #[test]
    fn a_wrong_type_is_an_error_with_its_path() {
        let value = route(&json!({"routes": [{"match": "/", "services": [{"name": "web", "port": "eighty"}]}]}));
        let error = ingress_route(&value).unwrap_err();
        assert_eq!(error.path, "spec.routes[0].services[0].port");
        assert_eq!(
            error.to_string(),
            "spec.routes[0].services[0].port: invalid type: string \"eighty\", expected i64"
        );
        let value = route(&json!({"routes": {"match": "/"}}));
        assert_eq!(ingress_route(&value).unwrap_err().path, "spec.routes");
    }

    #[test]
    fn a_delegation_without_a_secret_name_decodes_with_an_empty_one() {
        let value = json!({
            "apiVersion": "contour.heptio.com/v1beta1",
            "kind": "TLSCertificateDelegation",
            "metadata": {"name": "d", "namespace": "default"},
            "spec": {"delegations": [{"targetNamespaces": ["*"]}]},
        });
        let decoded = tls_certificate_delegation(&value).unwrap();
        assert_eq!(decoded.missing, ["spec.delegations[0].secretName"]);
        assert_eq!(decoded.object.spec.delegations[0].secret_name, "");
        assert_eq!(decoded.object.spec.delegations[0].target_namespaces, ["*"]);
    }
}
