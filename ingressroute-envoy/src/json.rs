//! Envoy resources as proto3 JSON, the way Envoy's `/config_dump` shows them: proto
//! field names (`route_config_name`), default values left out, `Any` values with their
//! `@type`, durations as `"0.250s"`.
//!
//! Conversion goes through [`prost_reflect`] with the descriptors of the Envoy API
//! messages this crate uses (`envoy.descriptors.bin`, generated from the `.proto` files
//! of `envoy-types` by `cargo xtask descriptors`).
//!
//! # Secrets
//!
//! [`to_json`] and [`resources_to_json`] print everything, private keys included.
//! [`to_json_with`], [`to_typed_json`] and [`typed_resources`] take a [`Secrets`]: with
//! [`Secrets::Redacted`] every field Envoy's API marks `udpa.annotations.sensitive` (a TLS
//! private key, a key password, session ticket keys, ...) is replaced the way Envoy's
//! `/config_dump` does it: strings become `[redacted]`, other scalars are cleared. One
//! difference, for the reader's sake: where Envoy writes a redacted `DataSource` as
//! `inline_bytes: W3JlZGFjdGVkXQ==` (the base64 of `[redacted]`), this module writes
//! `inline_string: "[redacted]"`, which is what Envoy shows for a key given inline as a
//! string.

use std::collections::HashSet;
use std::sync::LazyLock;

use prost::{Message, Name};
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, FieldDescriptor, ReflectMessage, SerializeOptions,
    Value as ProtoValue,
};
use serde::Serialize;
use serde_json::Value;

/// Errors converting between prost messages and JSON.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The embedded descriptor set does not know this message type.
    #[error("no descriptor for message type {0}")]
    UnknownType(String),
    /// The message's bytes do not decode with its descriptor.
    #[error("cannot decode {type_name}")]
    Decode {
        /// The message type.
        type_name: String,
        /// Why.
        #[source]
        source: prost::DecodeError,
    },
    /// The message cannot be written as JSON, or JSON does not match the message type.
    #[error("{type_name} as JSON")]
    Json {
        /// The message type.
        type_name: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// A `Result` with a [`JsonError`].
pub type Result<T, E = JsonError> = std::result::Result<T, E>;

static DESCRIPTORS: &[u8] = include_bytes!("envoy.descriptors.bin");

/// The descriptors of every Envoy API message this crate produces or reads.
///
/// An empty pool only if the embedded descriptor set is corrupt, which a unit test
/// rules out.
pub(crate) fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: LazyLock<DescriptorPool> =
        LazyLock::new(|| DescriptorPool::decode(DESCRIPTORS).unwrap_or_else(|_| DescriptorPool::new()));
    &POOL
}

fn options() -> SerializeOptions {
    SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(true)
        .stringify_64_bit_integers(true)
}

/// A prost message as proto3 JSON.
///
/// # Errors
///
/// Fails if the message type is not among the Envoy API descriptors embedded in this crate.
pub fn to_json<M: Message + Name>(message: &M) -> Result<Value> {
    bytes_to_json(&M::full_name(), &message.encode_to_vec())
}

/// An encoded message of type `type_name` (fully qualified, no type URL prefix) as
/// proto3 JSON.
///
/// # Errors
///
/// Fails if the type is unknown or the bytes do not decode.
pub fn bytes_to_json(type_name: &str, bytes: &[u8]) -> Result<Value> {
    bytes_to_json_with(type_name, bytes, Secrets::Shown)
}

/// Whether JSON shows the sensitive fields of a message (see [the module
/// documentation](self#secrets)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Secrets {
    /// Sensitive fields are replaced by [`REDACTED`], as in Envoy's `/config_dump`: safe
    /// to print, log or commit. The default.
    #[default]
    Redacted,
    /// Everything is shown, private keys included: what Envoy actually receives.
    Shown,
}

/// What a redacted string shows: `[redacted]`, as in Envoy's `/config_dump`.
pub const REDACTED: &str = "[redacted]";

/// A prost message as proto3 JSON, with its sensitive fields redacted or not.
///
/// # Errors
///
/// As [`to_json`].
pub fn to_json_with<M: Message + Name>(message: &M, secrets: Secrets) -> Result<Value> {
    bytes_to_json_with(&M::full_name(), &message.encode_to_vec(), secrets)
}

/// A prost message as the JSON of an `Any`, the way Envoy's `/config_dump` lists
/// resources: `@type` (its type URL) first, then its fields.
///
/// # Errors
///
/// As [`to_json`].
pub fn to_typed_json<M: Message + Name>(message: &M, secrets: Secrets) -> Result<Value> {
    to_json_with(message, secrets).map(with_type::<M>)
}

/// [`bytes_to_json`] with its sensitive fields redacted or not.
///
/// # Errors
///
/// Fails if the type is unknown or the bytes do not decode.
pub fn bytes_to_json_with(type_name: &str, bytes: &[u8], secrets: Secrets) -> Result<Value> {
    let descriptor = descriptor_pool()
        .get_message_by_name(type_name)
        .ok_or_else(|| JsonError::UnknownType(type_name.to_owned()))?;
    let mut message = DynamicMessage::decode(descriptor, bytes).map_err(|source| JsonError::Decode {
        type_name: type_name.to_owned(),
        source,
    })?;
    if secrets == Secrets::Redacted {
        redact(&mut message, false);
    }
    message
        .serialize_with_options(serde_json::value::Serializer, &options())
        .map_err(|source| JsonError::Json {
            type_name: type_name.to_owned(),
            source,
        })
}

/// A message of type `M` from proto3 JSON (unknown fields are errors).
///
/// # Errors
///
/// Fails if the JSON does not describe an `M`.
pub fn from_json<M: Message + Name + Default>(value: &Value) -> Result<M> {
    let type_name = M::full_name();
    let descriptor = descriptor_pool()
        .get_message_by_name(&type_name)
        .ok_or_else(|| JsonError::UnknownType(type_name.clone()))?;
    let dynamic =
        DynamicMessage::deserialize_with_options(descriptor, value, &DeserializeOptions::new()).map_err(|source| {
            JsonError::Json {
                type_name: type_name.clone(),
                source,
            }
        })?;
    M::decode(dynamic.encode_to_vec().as_slice()).map_err(|source| JsonError::Decode { type_name, source })
}

/// Wraps `json` as an `Any` in JSON: the same object with `@type` first.
#[must_use]
pub fn with_type<M: Name>(json: Value) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("@type".into(), Value::String(M::type_url()));
    if let Value::Object(fields) = json {
        object.extend(fields);
    }
    Value::Object(object)
}

/// Every resource of a [`Resources`](crate::Resources) as one JSON object with the lists
/// `listeners`, `scoped_routes`, `routes`, `clusters`, `endpoints` and `secrets`, each in the resources'
/// order. Object keys are sorted (`serde_json`'s map), so the output is as deterministic
/// as the resources; golden files use it.
///
/// # Errors
///
/// As [`to_json`].
pub fn resources_to_json(resources: &crate::Resources) -> Result<Value> {
    fn list<M: Message + Name>(items: &[M]) -> Result<Value> {
        items.iter().map(to_json).collect::<Result<Vec<_>>>().map(Value::Array)
    }
    let mut object = serde_json::Map::new();
    object.insert("listeners".into(), list(&resources.listeners)?);
    object.insert("scoped_routes".into(), list(&resources.scoped_routes)?);
    object.insert("routes".into(), list(&resources.routes)?);
    object.insert("clusters".into(), list(&resources.clusters)?);
    object.insert("endpoints".into(), list(&resources.endpoints)?);
    object.insert("secrets".into(), list(&resources.secrets)?);
    Ok(Value::Object(object))
}

/// Every resource of a [`Resources`](crate::Resources) as JSON, one list per kind, each
/// element with its `@type` ([`to_typed_json`]). Serialises (with `serde_json` or
/// `serde-saphyr`) as one object with the keys `listeners`, `scoped_routes`, `routes`,
/// `clusters`, `endpoints` and `secrets`, in that order: what `ingressroute render` prints and what
/// the golden files of this crate hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TypedResources {
    /// `envoy.config.listener.v3.Listener`s.
    pub listeners: Vec<Value>,
    /// `envoy.config.route.v3.ScopedRouteConfiguration`s.
    pub scoped_routes: Vec<Value>,
    /// `envoy.config.route.v3.RouteConfiguration`s.
    pub routes: Vec<Value>,
    /// `envoy.config.cluster.v3.Cluster`s.
    pub clusters: Vec<Value>,
    /// `envoy.config.endpoint.v3.ClusterLoadAssignment`s.
    pub endpoints: Vec<Value>,
    /// `envoy.extensions.transport_sockets.tls.v3.Secret`s.
    pub secrets: Vec<Value>,
}

/// Every resource of a [`Resources`](crate::Resources) as a [`TypedResources`], in the
/// resources' order, with sensitive fields redacted or not. Object keys inside a
/// resource are sorted (`serde_json`'s map), so the output is as deterministic as the
/// resources.
///
/// # Errors
///
/// As [`to_json`].
pub fn typed_resources(resources: &crate::Resources, secrets: Secrets) -> Result<TypedResources> {
    fn list<M: Message + Name>(items: &[M], secrets: Secrets) -> Result<Vec<Value>> {
        items.iter().map(|item| to_typed_json(item, secrets)).collect()
    }
    Ok(TypedResources {
        listeners: list(&resources.listeners, secrets)?,
        scoped_routes: list(&resources.scoped_routes, secrets)?,
        routes: list(&resources.routes, secrets)?,
        clusters: list(&resources.clusters, secrets)?,
        endpoints: list(&resources.endpoints, secrets)?,
        secrets: list(&resources.secrets, secrets)?,
    })
}

/// The full names (`package.Message.field`) of every field marked
/// `udpa.annotations.sensitive` in the [`descriptor_pool`].
fn sensitive_fields() -> &'static HashSet<String> {
    static SENSITIVE: LazyLock<HashSet<String>> = LazyLock::new(|| {
        let pool = descriptor_pool();
        let Some(extension) = pool.get_extension_by_name("udpa.annotations.sensitive") else {
            return HashSet::new();
        };
        pool.all_messages()
            .flat_map(|message| message.fields().collect::<Vec<_>>())
            .filter(|field| {
                let options = field.options();
                options.has_extension(&extension) && options.get_extension(&extension).as_bool() == Some(true)
            })
            .map(|field| field.full_name().to_owned())
            .collect()
    });
    &SENSITIVE
}

/// The message Envoy reads keys and passwords from.
const DATA_SOURCE: &str = "envoy.config.core.v3.DataSource";
/// `google.protobuf.Any`: its `value` is redacted as the message its `type_url` names.
const ANY: &str = "google.protobuf.Any";

/// Redacts `message` in place as Envoy's `MessageUtil::redact` does: below a sensitive
/// field, strings become [`REDACTED`], bytes the bytes of it, other scalars are cleared;
/// messages (including those packed in an `Any`) are walked. A sensitive `DataSource`
/// becomes `inline_string: "[redacted]"`.
fn redact(message: &mut DynamicMessage, sensitive: bool) {
    let descriptor = message.descriptor();
    if sensitive && descriptor.full_name() == DATA_SOURCE {
        *message = DynamicMessage::new(descriptor);
        message.set_field_by_name("inline_string", ProtoValue::String(REDACTED.to_owned()));
        return;
    }
    if descriptor.full_name() == ANY {
        redact_any(message, sensitive);
        return;
    }
    let mut cleared: Vec<FieldDescriptor> = Vec::new();
    for (field, value) in message.fields_mut() {
        let sensitive = sensitive || sensitive_fields().contains(field.full_name());
        if !redact_value(value, sensitive) {
            cleared.push(field);
        }
    }
    for field in &cleared {
        message.clear_field(field);
    }
}

/// Redacts one field value; `false` when the field must be cleared instead (a
/// sensitive number, enum or bool, or a list or map holding one).
fn redact_value(value: &mut ProtoValue, sensitive: bool) -> bool {
    match value {
        ProtoValue::Message(message) => {
            redact(message, sensitive);
            true
        }
        ProtoValue::List(items) => items.iter_mut().all(|item| redact_value(item, sensitive)),
        ProtoValue::Map(entries) => entries.values_mut().all(|entry| redact_value(entry, sensitive)),
        ProtoValue::String(text) => {
            if sensitive {
                REDACTED.clone_into(text);
            }
            true
        }
        ProtoValue::Bytes(bytes) => {
            if sensitive {
                *bytes = prost::bytes::Bytes::from_static(REDACTED.as_bytes());
            }
            true
        }
        _ => !sensitive,
    }
}

/// Redacts the message packed in an `Any`, when the pool knows its type.
fn redact_any(any: &mut DynamicMessage, sensitive: bool) {
    let type_url = any
        .get_field_by_name("type_url")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let type_name = type_url.rsplit('/').next().unwrap_or_default();
    let Some(descriptor) = descriptor_pool().get_message_by_name(type_name) else {
        return;
    };
    let bytes = any
        .get_field_by_name("value")
        .and_then(|v| v.as_bytes().cloned())
        .unwrap_or_default();
    let Ok(mut inner) = DynamicMessage::decode(descriptor, bytes) else {
        return;
    };
    redact(&mut inner, sensitive);
    any.set_field_by_name("value", ProtoValue::Bytes(inner.encode_to_vec().into()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::cluster::v3::Cluster;
    use envoy_types::pb::envoy::config::core::v3::{DataSource, TransportSocket, data_source, transport_socket};
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
        CommonTlsContext, Secret, TlsCertificate, UpstreamTlsContext, secret,
    };
    use envoy_types::pb::google::protobuf::Duration;

    #[test]
    fn the_embedded_descriptors_decode() {
        let pool = DescriptorPool::decode(DESCRIPTORS).expect("descriptor set decodes");
        assert!(pool.get_message_by_name("envoy.config.listener.v3.Listener").is_some());
        assert!(
            pool.get_message_by_name("envoy.config.bootstrap.v3.Bootstrap")
                .is_some()
        );
    }

    #[test]
    fn messages_render_with_proto_field_names_and_without_defaults() {
        let cluster = Cluster {
            name: "default/kuard/80/da39a3ee5e".into(),
            connect_timeout: Some(Duration {
                seconds: 0,
                nanos: 250_000_000,
            }),
            ..Cluster::default()
        };
        assert_eq!(
            to_json(&cluster).unwrap(),
            serde_json::json!({"name": "default/kuard/80/da39a3ee5e", "connect_timeout": "0.250s"})
        );
    }

    #[test]
    fn every_resource_kind_has_a_descriptor() {
        for kind in crate::ResourceKind::ALL {
            let url = kind.type_url();
            let name = url.trim_start_matches("type.googleapis.com/");
            assert!(descriptor_pool().get_message_by_name(name).is_some(), "{name}");
        }
    }

    #[test]
    fn resources_render_as_one_object_of_lists() {
        let resources = crate::Resources {
            clusters: vec![Cluster {
                name: "c".into(),
                ..Cluster::default()
            }],
            ..crate::Resources::default()
        };
        let json = resources_to_json(&resources).unwrap();
        assert_eq!(json["clusters"][0]["name"], "c");
        assert_eq!(json["listeners"], serde_json::json!([]));
    }

    fn secret_with_key(key: &[u8]) -> Secret {
        Secret {
            name: "default/tls/0123456789".into(),
            r#type: Some(secret::Type::TlsCertificate(TlsCertificate {
                certificate_chain: Some(inline_bytes(b"certificate")),
                private_key: Some(inline_bytes(key)),
                ..TlsCertificate::default()
            })),
        }
    }

    fn inline_bytes(bytes: &[u8]) -> DataSource {
        DataSource {
            specifier: Some(data_source::Specifier::InlineBytes(bytes.to_vec())),
            ..DataSource::default()
        }
    }

    #[test]
    fn the_private_key_is_a_sensitive_field() {
        assert!(sensitive_fields().contains("envoy.extensions.transport_sockets.tls.v3.TlsCertificate.private_key"));
        assert!(
            !sensitive_fields().contains("envoy.extensions.transport_sockets.tls.v3.TlsCertificate.certificate_chain")
        );
    }

    #[test]
    fn a_redacted_secret_hides_its_private_key_like_envoys_config_dump() {
        let json = to_json_with(&secret_with_key(b"private key"), Secrets::Redacted).unwrap();
        assert_eq!(
            json["tls_certificate"]["private_key"],
            serde_json::json!({"inline_string": "[redacted]"})
        );
        // "certificate" in base64: the certificate is not sensitive.
        assert_eq!(
            json["tls_certificate"]["certificate_chain"]["inline_bytes"],
            "Y2VydGlmaWNhdGU="
        );
        assert_eq!(json["name"], "default/tls/0123456789");
    }

    #[test]
    fn shown_secrets_keep_the_private_key() {
        let secret = secret_with_key(b"private key");
        let json = to_json_with(&secret, Secrets::Shown).unwrap();
        assert_eq!(json, to_json(&secret).unwrap());
        assert_eq!(
            json["tls_certificate"]["private_key"]["inline_bytes"],
            "cHJpdmF0ZSBrZXk="
        );
    }

    #[test]
    fn redaction_reaches_into_typed_configs() {
        let context = UpstreamTlsContext {
            common_tls_context: Some(CommonTlsContext {
                tls_certificates: vec![TlsCertificate {
                    private_key: Some(inline_bytes(b"private key")),
                    password: Some(DataSource {
                        specifier: Some(data_source::Specifier::InlineString("hunter2".into())),
                        ..DataSource::default()
                    }),
                    ..TlsCertificate::default()
                }],
                ..CommonTlsContext::default()
            }),
            sni: "backend.example.com".into(),
            ..UpstreamTlsContext::default()
        };
        let cluster = Cluster {
            name: "c".into(),
            transport_socket: Some(TransportSocket {
                name: "envoy.transport_sockets.tls".into(),
                config_type: Some(transport_socket::ConfigType::TypedConfig(crate::proto::any(&context))),
            }),
            ..Cluster::default()
        };
        let json = to_json_with(&cluster, Secrets::Redacted).unwrap();
        let typed = &json["transport_socket"]["typed_config"];
        assert_eq!(
            typed["@type"],
            "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
        );
        assert_eq!(typed["sni"], "backend.example.com");
        let certificate = &typed["common_tls_context"]["tls_certificates"][0];
        assert_eq!(
            certificate["private_key"],
            serde_json::json!({"inline_string": "[redacted]"})
        );
        assert_eq!(
            certificate["password"],
            serde_json::json!({"inline_string": "[redacted]"})
        );
        assert!(!json.to_string().contains("hunter2"));
    }

    #[test]
    fn typed_json_starts_with_the_type_url() {
        let json = to_typed_json(&secret_with_key(b"k"), Secrets::Redacted).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["@type", "name", "tls_certificate"]);
        assert_eq!(
            json["@type"],
            "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
        );
    }

    #[test]
    fn typed_resources_list_the_kinds_in_xds_order() {
        let resources = crate::Resources {
            clusters: vec![Cluster {
                name: "c".into(),
                ..Cluster::default()
            }],
            secrets: vec![secret_with_key(b"private key")],
            ..crate::Resources::default()
        };
        let typed = typed_resources(&resources, Secrets::Redacted).unwrap();
        let text = serde_json::to_string(&typed).unwrap();
        assert!(
            text.starts_with(r#"{"listeners":[],"scoped_routes":[],"routes":[],"clusters":[{"@type":"type.googleapis.com/envoy.config.cluster.v3.Cluster","name":"c"}],"endpoints":[],"secrets":["#),
            "{text}"
        );
        assert!(
            text.contains(r#""private_key":{"inline_string":"[redacted]"}"#),
            "{text}"
        );
        let shown = typed_resources(&resources, Secrets::Shown).unwrap();
        assert_eq!(
            shown.secrets[0]["tls_certificate"]["private_key"]["inline_bytes"],
            "cHJpdmF0ZSBrZXk="
        );
    }

    #[test]
    fn json_reads_back_into_the_same_message() {
        let cluster = Cluster {
            name: "c".into(),
            alt_stat_name: "a".into(),
            ..Cluster::default()
        };
        let back: Cluster = from_json(&to_json(&cluster).unwrap()).unwrap();
        assert_eq!(back, cluster);
    }
}
