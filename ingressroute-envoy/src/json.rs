//! Envoy resources as proto3 JSON, the way Envoy's `/config_dump` shows them: proto
//! field names (`route_config_name`), default values left out, `Any` values with their
//! `@type`, durations as `"0.250s"`.
//!
//! Conversion goes through [`prost_reflect`] with the descriptors of the Envoy API
//! messages this crate uses (`envoy.descriptors.bin`, generated from the `.proto` files
//! of `envoy-types` by `cargo xtask descriptors`).

use std::sync::LazyLock;

use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, SerializeOptions};
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
pub fn descriptor_pool() -> &'static DescriptorPool {
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
/// Fails if the message type is not in the [`descriptor_pool`].
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
    let descriptor = descriptor_pool()
        .get_message_by_name(type_name)
        .ok_or_else(|| JsonError::UnknownType(type_name.to_owned()))?;
    let message = DynamicMessage::decode(descriptor, bytes).map_err(|source| JsonError::Decode {
        type_name: type_name.to_owned(),
        source,
    })?;
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
/// `listeners`, `routes`, `clusters`, `endpoints` and `secrets`, each in the resources'
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
    object.insert("routes".into(), list(&resources.routes)?);
    object.insert("clusters".into(), list(&resources.clusters)?);
    object.insert("endpoints".into(), list(&resources.endpoints)?);
    object.insert("secrets".into(), list(&resources.secrets)?);
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::cluster::v3::Cluster;
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
