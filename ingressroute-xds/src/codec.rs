//! The responses the server sends, and the tonic codec that writes them from the shared
//! encoded resources instead of encoding resource messages again for each stream.
//!
//! A `DiscoveryResponse` is `version_info` (1), `resources` (2, repeated `Any`),
//! `type_url` (4) and `nonce` (5); a `DeltaDiscoveryResponse` is `system_version_info` (1),
//! `resources` (2, repeated `Resource { version: 1, resource: 2 (Any), name: 3 }`),
//! `type_url` (4), `nonce` (5) and `removed_resources` (6). The encoded `Any` of each
//! resource is copied into the frame as it is.

use std::marker::PhantomData;
use std::sync::Arc;

use bytes::{BufMut, Bytes};
use envoy_types::pb::envoy::service::discovery::v3 as discovery_v3;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic_prost::ProstDecoder;

use crate::callbacks::Carried;
use crate::snapshot::{Entry, type_url};
use ingressroute_envoy::ResourceKind;

/// A message written by hand into an encode buffer.
pub(crate) trait Encode {
    /// The length of the encoded message.
    fn encoded_len(&self) -> usize;
    /// Writes the message (without a length prefix).
    fn encode_raw(&self, buf: &mut impl BufMut);
}

/// What the driver needs to know of a response to count it.
pub(crate) trait Pushed {
    /// The kind of the resources.
    fn kind(&self) -> ResourceKind;
    /// The version of the response.
    fn version(&self) -> &str;
    /// The nonce of the response.
    fn nonce(&self) -> &str;
    /// The resources carried.
    fn resource_count(&self) -> usize;
    /// The names removed.
    fn removal_count(&self) -> usize;
    /// The resources carried and the names removed, shared with the response.
    fn carried(&self) -> Carried;
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The length of a length-delimited field of `len` bytes; 0 for an empty string field,
/// which proto3 leaves out.
fn field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(as_u64(len)) + len
}

fn string_len(tag: u32, value: &str) -> usize {
    if value.is_empty() {
        0
    } else {
        field_len(tag, value.len())
    }
}

fn put_field(tag: u32, value: &[u8], buf: &mut impl BufMut) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(as_u64(value.len()), buf);
    buf.put_slice(value);
}

fn put_string(tag: u32, value: &str, buf: &mut impl BufMut) {
    if !value.is_empty() {
        put_field(tag, value.as_bytes(), buf);
    }
}

/// A state-of-the-world `DiscoveryResponse`.
#[derive(Debug)]
pub(crate) struct SotwResponse {
    pub(crate) kind: ResourceKind,
    pub(crate) version_info: String,
    pub(crate) nonce: String,
    pub(crate) resources: Arc<[Arc<Entry>]>,
}

impl Encode for SotwResponse {
    fn encoded_len(&self) -> usize {
        string_len(1, &self.version_info)
            + self.resources.iter().map(|e| field_len(2, e.any.len())).sum::<usize>()
            + string_len(4, type_url(self.kind))
            + string_len(5, &self.nonce)
    }

    fn encode_raw(&self, buf: &mut impl BufMut) {
        put_string(1, &self.version_info, buf);
        for entry in self.resources.iter() {
            put_field(2, &entry.any, buf);
        }
        put_string(4, type_url(self.kind), buf);
        put_string(5, &self.nonce, buf);
    }
}

impl Pushed for SotwResponse {
    fn kind(&self) -> ResourceKind {
        self.kind
    }
    fn version(&self) -> &str {
        &self.version_info
    }
    fn nonce(&self) -> &str {
        &self.nonce
    }
    fn resource_count(&self) -> usize {
        self.resources.len()
    }
    fn removal_count(&self) -> usize {
        0
    }
    fn carried(&self) -> Carried {
        Carried {
            resources: Arc::clone(&self.resources),
            removed: Arc::from([]),
        }
    }
}

/// An incremental `DeltaDiscoveryResponse`.
#[derive(Debug)]
pub(crate) struct DeltaResponse {
    pub(crate) kind: ResourceKind,
    pub(crate) system_version_info: String,
    pub(crate) nonce: String,
    pub(crate) resources: Arc<[Arc<Entry>]>,
    pub(crate) removed: Arc<[Arc<str>]>,
}

/// The length of a `Resource { version, resource, name }` message.
fn resource_len(entry: &Entry) -> usize {
    string_len(1, &entry.version) + field_len(2, entry.any.len()) + string_len(3, &entry.name)
}

impl Encode for DeltaResponse {
    fn encoded_len(&self) -> usize {
        string_len(1, &self.system_version_info)
            + self
                .resources
                .iter()
                .map(|e| field_len(2, resource_len(e)))
                .sum::<usize>()
            + string_len(4, type_url(self.kind))
            + string_len(5, &self.nonce)
            + self.removed.iter().map(|name| field_len(6, name.len())).sum::<usize>()
    }

    fn encode_raw(&self, buf: &mut impl BufMut) {
        put_string(1, &self.system_version_info, buf);
        for entry in self.resources.iter() {
            encode_key(2, WireType::LengthDelimited, buf);
            encode_varint(as_u64(resource_len(entry)), buf);
            put_string(1, &entry.version, buf);
            put_field(2, &entry.any, buf);
            put_string(3, &entry.name, buf);
        }
        put_string(4, type_url(self.kind), buf);
        put_string(5, &self.nonce, buf);
        for name in self.removed.iter() {
            // Unlike the other strings, an empty name is still an entry of the list.
            put_field(6, name.as_bytes(), buf);
        }
    }
}

impl Pushed for DeltaResponse {
    fn kind(&self) -> ResourceKind {
        self.kind
    }
    fn version(&self) -> &str {
        &self.system_version_info
    }
    fn nonce(&self) -> &str {
        &self.nonce
    }
    fn resource_count(&self) -> usize {
        self.resources.len()
    }
    fn removal_count(&self) -> usize {
        self.removed.len()
    }
    fn carried(&self) -> Carried {
        Carried {
            resources: Arc::clone(&self.resources),
            removed: Arc::clone(&self.removed),
        }
    }
}

/// Decodes requests with prost and writes responses with [`Encode`].
#[derive(Debug)]
pub(crate) struct XdsCodec<Req, Resp>(PhantomData<fn() -> (Req, Resp)>);

impl<Req, Resp> Default for XdsCodec<Req, Resp> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

/// Writes one [`Encode`] response.
#[derive(Debug)]
pub(crate) struct XdsEncoder<Resp>(PhantomData<fn(Resp)>);

impl<Resp: Encode> Encoder for XdsEncoder<Resp> {
    type Item = Resp;
    type Error = Status;

    fn encode(&mut self, item: Resp, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(item.encoded_len());
        item.encode_raw(dst);
        Ok(())
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}

impl<Req, Resp> Codec for XdsCodec<Req, Resp>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: Encode + Send + 'static,
{
    type Encode = Resp;
    type Decode = Req;
    type Encoder = XdsEncoder<Resp>;
    type Decoder = RequestDecoder<Req>;

    fn encoder(&mut self) -> Self::Encoder {
        XdsEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder(ProstDecoder::new(BufferSettings::default()))
    }
}

/// A state-of-the-world `DiscoveryRequest` whose `resource_names` (field 3) are kept as
/// the bytes they came in, slices of the received message: every SotW request repeats
/// the whole subscription (an ACK of endpoints lists every cluster's name, 10,000 at
/// dataset L), and decoding each name into a `String` of its own, for a list that is
/// almost always the one before, was most of the cost of an ACK. The other fields are
/// decoded by prost into `request` (whose own `resource_names` stay empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SotwRequest {
    pub(crate) request: discovery_v3::DiscoveryRequest,
    pub(crate) names: Vec<Bytes>,
}

/// The field number of `DiscoveryRequest.resource_names`.
const RESOURCE_NAMES: u32 = 3;

impl prost::Message for SotwRequest {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        self.request.encode_raw(buf);
        prost::encoding::bytes::encode_repeated(RESOURCE_NAMES, &self.names, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if tag == RESOURCE_NAMES {
            // Over tonic's buffer, a slice of the message: no copy.
            prost::encoding::bytes::merge_repeated(wire_type, &mut self.names, buf, ctx)
        } else {
            self.request.merge_field(tag, wire_type, buf, ctx)
        }
    }

    fn encoded_len(&self) -> usize {
        self.request.encoded_len() + prost::encoding::bytes::encoded_len_repeated(RESOURCE_NAMES, &self.names)
    }

    fn clear(&mut self) {
        self.request.clear();
        self.names.clear();
    }
}

/// Decodes requests with prost.
#[derive(Debug)]
pub(crate) struct RequestDecoder<Req>(ProstDecoder<Req>);

impl<Req: prost::Message + Default> Decoder for RequestDecoder<Req> {
    type Item = Req;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Req>, Status> {
        self.0.decode(src)
    }
}

#[cfg(test)]
mod tests {

    use envoy_types::pb::google::protobuf::Any;
    use prost::Message;

    use super::*;

    fn entry(name: &str) -> Arc<Entry> {
        Entry::placeholder(&Arc::from(name))
    }

    fn encode(message: &impl Encode) -> Vec<u8> {
        let mut buf = Vec::new();
        message.encode_raw(&mut buf);
        assert_eq!(buf.len(), message.encoded_len());
        buf
    }

    #[test]
    fn a_sotw_request_keeps_its_names_as_bytes_and_the_rest_as_prost_decodes_it() {
        let request = discovery_v3::DiscoveryRequest {
            version_info: "v1".into(),
            resource_names: vec!["b".into(), "a".into(), String::new()],
            type_url: ResourceKind::ClusterLoadAssignment.type_url(),
            response_nonce: "3".into(),
            ..Default::default()
        };
        let bytes = bytes::Bytes::from(request.encode_to_vec());
        let decoded = SotwRequest::decode(bytes.clone()).unwrap();
        assert_eq!(decoded.names, [&b"b"[..], b"a", b""]);
        assert_eq!(
            decoded.request,
            discovery_v3::DiscoveryRequest {
                resource_names: Vec::new(),
                ..request.clone()
            }
        );
        // And back: the same message.
        assert_eq!(
            discovery_v3::DiscoveryRequest::decode(decoded.encode_to_vec().as_slice()).unwrap(),
            request
        );
    }

    #[test]
    fn a_sotw_response_decodes_as_a_discovery_response() {
        let response = SotwResponse {
            kind: ResourceKind::ClusterLoadAssignment,
            version_info: "abc".into(),
            nonce: "7".into(),
            resources: vec![entry("a"), entry("b")].into(),
        };
        let decoded = discovery_v3::DiscoveryResponse::decode(encode(&response).as_slice()).unwrap();
        assert_eq!(decoded.version_info, "abc");
        assert_eq!(decoded.nonce, "7");
        assert_eq!(decoded.type_url, ResourceKind::ClusterLoadAssignment.type_url());
        let expected: Vec<Any> = response
            .resources
            .iter()
            .map(|e| Any::decode(e.any.as_ref()).unwrap())
            .collect();
        assert_eq!(decoded.resources, expected);
    }

    #[test]
    fn a_delta_response_decodes_as_a_delta_discovery_response() {
        let response = DeltaResponse {
            kind: ResourceKind::Cluster,
            system_version_info: String::new(),
            nonce: "1".into(),
            resources: vec![entry("a")].into(),
            removed: vec![Arc::from("gone"), Arc::from("")].into(),
        };
        let decoded = discovery_v3::DeltaDiscoveryResponse::decode(encode(&response).as_slice()).unwrap();
        assert_eq!(decoded.system_version_info, "");
        assert_eq!(decoded.removed_resources, vec!["gone".to_owned(), String::new()]);
        let [resource] = decoded.resources.as_slice() else {
            panic!("one resource expected")
        };
        assert_eq!(resource.name, "a");
        assert_eq!(resource.version, response.resources.first().unwrap().version);
        assert_eq!(
            resource.resource.as_ref().unwrap().encode_to_vec(),
            response.resources.first().unwrap().any.to_vec()
        );
    }
}
