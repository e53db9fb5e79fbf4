//! Small builders of Envoy messages shared by listeners, routes and clusters: addresses,
//! durations, config sources, typed configs and access logs.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use envoy_types::pb::envoy::config::accesslog::v3 as accesslog_v3;
use envoy_types::pb::envoy::config::core::v3 as core_v3;
use envoy_types::pb::envoy::extensions::access_loggers::file::v3 as file_v3;
use envoy_types::pb::google::protobuf as pb;
use prost::{Message, Name};

use crate::config::{AccessLogFormat, ConfigSource, json_field_operator};

/// The name of the file access logger.
pub(crate) const FILE_ACCESS_LOG: &str = "envoy.access_loggers.file";
/// The name of the TLS transport socket.
pub(crate) const TLS_TRANSPORT_SOCKET: &str = "envoy.transport_sockets.tls";

/// The largest duration protobuf allows (10,000 years).
const MAX_DURATION_SECONDS: u64 = 315_576_000_000;

/// A protobuf `Duration`, clamped to what protobuf can hold.
pub(crate) fn duration(d: Duration) -> pb::Duration {
    let seconds = d.as_secs().min(MAX_DURATION_SECONDS);
    pb::Duration {
        seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// A protobuf `Duration` of whole seconds.
pub(crate) fn seconds(s: u64) -> pb::Duration {
    duration(Duration::from_secs(s))
}

/// A protobuf `Duration` of whole milliseconds.
pub(crate) fn millis(ms: u64) -> pb::Duration {
    duration(Duration::from_millis(ms))
}

pub(crate) fn bool_value(value: bool) -> Option<pb::BoolValue> {
    Some(pb::BoolValue { value })
}

pub(crate) fn u32_value(value: u32) -> Option<pb::UInt32Value> {
    Some(pb::UInt32Value { value })
}

/// Packs a message into an `Any` with its type URL.
pub(crate) fn any<M: Message + Name>(message: &M) -> pb::Any {
    pb::Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

/// A TCP socket address; `ipv4_compat` lets an IPv6 listener on `::` take IPv4 too.
pub(crate) fn socket_address(address: &str, port: u32, ipv4_compat: bool) -> core_v3::Address {
    core_v3::Address {
        address: Some(core_v3::address::Address::SocketAddress(core_v3::SocketAddress {
            protocol: core_v3::socket_address::Protocol::Tcp.into(),
            address: address.to_owned(),
            port_specifier: Some(core_v3::socket_address::PortSpecifier::PortValue(port)),
            ipv4_compat,
            ..Default::default()
        })),
    }
}

/// The address a listener binds: IPv6 `::` also accepts IPv4 ([behaviour §4.1](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s4-1)).
pub(crate) fn listener_address(ip: IpAddr, port: u16) -> core_v3::Address {
    let ipv4_compat = matches!(ip, IpAddr::V6(v6) if v6.is_unspecified());
    socket_address(&ip.to_string(), u32::from(port), ipv4_compat)
}

/// The v3 config source of RDS, EDS and SDS.
pub(crate) fn config_source(source: &ConfigSource) -> core_v3::ConfigSource {
    use core_v3::config_source::ConfigSourceSpecifier;
    let specifier = match source {
        ConfigSource::Ads => ConfigSourceSpecifier::Ads(core_v3::AggregatedConfigSource {}),
        ConfigSource::Grpc { cluster } => ConfigSourceSpecifier::ApiConfigSource(core_v3::ApiConfigSource {
            api_type: core_v3::api_config_source::ApiType::Grpc.into(),
            transport_api_version: core_v3::ApiVersion::V3.into(),
            grpc_services: vec![core_v3::GrpcService {
                target_specifier: Some(core_v3::grpc_service::TargetSpecifier::EnvoyGrpc(
                    core_v3::grpc_service::EnvoyGrpc {
                        cluster_name: cluster.clone(),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            }],
            ..Default::default()
        }),
    };
    core_v3::ConfigSource {
        resource_api_version: core_v3::ApiVersion::V3.into(),
        config_source_specifier: Some(specifier),
        ..Default::default()
    }
}

/// A transport socket with a TLS context (`DownstreamTlsContext` or `UpstreamTlsContext`).
pub(crate) fn tls_transport_socket<M: Message + Name>(context: &M) -> core_v3::TransportSocket {
    core_v3::TransportSocket {
        name: TLS_TRANSPORT_SOCKET.to_owned(),
        config_type: Some(core_v3::transport_socket::ConfigType::TypedConfig(any(context))),
    }
}

/// The file access log of a listener.
pub(crate) fn file_access_log(path: &str, format: &AccessLogFormat) -> accesslog_v3::AccessLog {
    let json_fields: Vec<&String> = match format {
        AccessLogFormat::Json(fields) => fields.iter().filter(|f| json_field_operator(f).is_some()).collect(),
        AccessLogFormat::Envoy => Vec::new(),
    };
    // No known JSON field at all: Envoy's default format rather than empty JSON objects.
    let typed_config = if json_fields.is_empty() {
        any(&file_v3::FileAccessLog {
            path: path.to_owned(),
            access_log_format: None,
        })
    } else {
        json_file_access_log(path, &json_fields)
    };
    accesslog_v3::AccessLog {
        name: FILE_ACCESS_LOG.to_owned(),
        config_type: Some(accesslog_v3::access_log::ConfigType::TypedConfig(typed_config)),
        ..Default::default()
    }
}

/// A `FileAccessLog` with `log_format.json_format`, encoded with the struct's keys sorted.
///
/// The prost type of `google.protobuf.Struct` keeps its fields in a `HashMap`, which would
/// encode them in a different order on every run and break byte-for-byte determinism. The
/// mirror messages below have the same field numbers and types, with a `BTreeMap`, so the
/// bytes decode as the real `FileAccessLog`.
fn json_file_access_log(path: &str, fields: &[&String]) -> pb::Any {
    let fields: BTreeMap<String, pb::Value> = fields
        .iter()
        .filter_map(|name| {
            let operator = json_field_operator(name)?;
            Some((
                (*name).clone(),
                pb::Value {
                    kind: Some(pb::value::Kind::StringValue(operator.to_owned())),
                },
            ))
        })
        .collect();
    let message = SortedJsonFileAccessLog {
        path: path.to_owned(),
        log_format: Some(SortedJsonFormatString {
            json_format: Some(SortedStruct { fields }),
        }),
    };
    pb::Any {
        type_url: file_v3::FileAccessLog::type_url(),
        value: message.encode_to_vec(),
    }
}

/// `envoy.extensions.access_loggers.file.v3.FileAccessLog` with only `path` and
/// `log_format`.
#[derive(Clone, PartialEq, Message)]
struct SortedJsonFileAccessLog {
    #[prost(string, tag = "1")]
    path: String,
    #[prost(message, optional, tag = "5")]
    log_format: Option<SortedJsonFormatString>,
}

/// `envoy.config.core.v3.SubstitutionFormatString` with only `json_format`.
#[derive(Clone, PartialEq, Message)]
struct SortedJsonFormatString {
    #[prost(message, optional, tag = "2")]
    json_format: Option<SortedStruct>,
}

/// `google.protobuf.Struct` with its fields in key order.
#[derive(Clone, PartialEq, Message)]
struct SortedStruct {
    #[prost(btree_map = "string, message", tag = "1")]
    fields: BTreeMap<String, pb::Value>,
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    #[test]
    fn a_json_access_log_decodes_as_a_file_access_log_with_known_fields_only() {
        let log = file_access_log(
            "/dev/stdout",
            &AccessLogFormat::Json(vec!["authority".into(), "nonsense".into(), "@timestamp".into()]),
        );
        let Some(accesslog_v3::access_log::ConfigType::TypedConfig(any)) = log.config_type else {
            panic!("no typed config");
        };
        assert_eq!(
            any.type_url,
            "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
        );
        let decoded = file_v3::FileAccessLog::decode(any.value.as_slice()).unwrap();
        assert_eq!(decoded.path, "/dev/stdout");
        let Some(file_v3::file_access_log::AccessLogFormat::LogFormat(format)) = decoded.access_log_format else {
            panic!("no log_format");
        };
        let Some(core_v3::substitution_format_string::Format::JsonFormat(json)) = format.format else {
            panic!("no json_format");
        };
        let mut keys: Vec<&String> = json.fields.keys().collect();
        keys.sort();
        assert_eq!(keys, ["@timestamp", "authority"]);
        assert_eq!(
            json.fields["authority"].kind,
            Some(pb::value::Kind::StringValue("%REQ(:AUTHORITY)%".into()))
        );
    }

    #[test]
    fn json_access_logs_encode_the_same_bytes_every_time() {
        let format = AccessLogFormat::json();
        let first = file_access_log("/dev/stdout", &format).encode_to_vec();
        for _ in 0..20 {
            assert_eq!(file_access_log("/dev/stdout", &format).encode_to_vec(), first);
        }
    }

    #[test]
    fn json_without_a_known_field_falls_back_to_the_envoy_format() {
        let log = file_access_log("/dev/stdout", &AccessLogFormat::Json(vec!["nonsense".into()]));
        assert_eq!(log, file_access_log("/dev/stdout", &AccessLogFormat::Envoy));
    }

    #[test]
    fn the_envoy_format_leaves_the_format_unset() {
        let log = file_access_log("/var/log/envoy.log", &AccessLogFormat::Envoy);
        let Some(accesslog_v3::access_log::ConfigType::TypedConfig(any)) = log.config_type else {
            panic!("no typed config");
        };
        let decoded = file_v3::FileAccessLog::decode(any.value.as_slice()).unwrap();
        assert_eq!(decoded.path, "/var/log/envoy.log");
        assert_eq!(decoded.access_log_format, None);
    }

    #[test]
    fn durations_are_clamped_to_protobufs_range() {
        assert_eq!(
            duration(Duration::from_millis(250)),
            pb::Duration {
                seconds: 0,
                nanos: 250_000_000
            }
        );
        assert_eq!(seconds(u64::MAX).seconds, 315_576_000_000);
    }

    #[test]
    fn only_the_ipv6_unspecified_listener_address_is_ipv4_compatible() {
        let compat = |ip: IpAddr| match listener_address(ip, 80).address {
            Some(core_v3::address::Address::SocketAddress(s)) => s.ipv4_compat,
            _ => panic!("not a socket address"),
        };
        assert!(compat(IpAddr::V6(Ipv6Addr::UNSPECIFIED)));
        assert!(!compat(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert!(!compat("0.0.0.0".parse().unwrap()));
    }

    #[test]
    fn config_sources_are_v3() {
        let ads = config_source(&ConfigSource::Ads);
        assert_eq!(ads.resource_api_version, i32::from(core_v3::ApiVersion::V3));
        let grpc = config_source(&ConfigSource::Grpc {
            cluster: "contour".into(),
        });
        let Some(core_v3::config_source::ConfigSourceSpecifier::ApiConfigSource(api)) = grpc.config_source_specifier
        else {
            panic!("not an api config source");
        };
        assert_eq!(api.transport_api_version, i32::from(core_v3::ApiVersion::V3));
        assert_eq!(api.api_type, i32::from(core_v3::api_config_source::ApiType::Grpc));
    }
}
