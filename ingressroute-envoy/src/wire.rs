//! Protobuf fields written directly, as prost writes them: singular scalars and strings
//! only when not their default, members of a oneof and elements of a repeated field
//! always, fields in tag order.
//!
//! Our own rather than prost's `encoding` functions because those take owned values and
//! need a nested message's length before its content is written; here a nested message
//! is written in place and its length filled in after. Used where the translator writes
//! encodings without building prost messages first (virtual hosts, clusters, load
//! assignments: see `docs/decisions.md`, D48); every such encoder is tested byte for byte
//! against prost's encoding of the message [`translate`](crate::translate) builds.

use std::time::Duration;

use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint};

/// A string field that is not in a oneof: left out when empty.
pub(crate) fn string(tag: u32, value: &str, buf: &mut Vec<u8>) {
    if !value.is_empty() {
        oneof_string(tag, value, buf);
    }
}

/// A string that is always written: a oneof member or an element of a repeated field.
pub(crate) fn oneof_string(tag: u32, value: &str, buf: &mut Vec<u8>) {
    oneof_string_of(tag, &[value], buf);
}

/// As [`oneof_string`], of the string that `parts` make one after the other.
pub(crate) fn oneof_string_of(tag: u32, parts: &[&str], buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(parts.iter().map(|p| p.len() as u64).sum(), buf);
    for part in parts {
        buf.extend_from_slice(part.as_bytes());
    }
}

/// A bool in a oneof.
pub(crate) fn oneof_bool(tag: u32, value: bool, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::Varint, buf);
    encode_varint(u64::from(value), buf);
}

/// A `uint32` field: left out when 0.
pub(crate) fn uint32(tag: u32, value: u32, buf: &mut Vec<u8>) {
    if value != 0 {
        oneof_uint32(tag, value, buf);
    }
}

/// A `uint32` in a oneof: written even when 0.
pub(crate) fn oneof_uint32(tag: u32, value: u32, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::Varint, buf);
    encode_varint(u64::from(value), buf);
}

/// An enum field that is not in a oneof: left out when 0.
pub(crate) fn enumeration(tag: u32, value: i32, buf: &mut Vec<u8>) {
    if value != 0 {
        oneof_enumeration(tag, value, buf);
    }
}

/// An enum in a oneof: written even when 0. A negative value takes ten bytes, as prost
/// writes an `int32`.
pub(crate) fn oneof_enumeration(tag: u32, value: i32, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::Varint, buf);
    encode_varint(i64::from(value) as u64, buf);
}

/// The fields of a `google.protobuf.Duration` (as [`proto::duration`](crate::proto::duration)
/// makes it): seconds = 1, nanos = 2.
pub(crate) fn duration(value: Duration, buf: &mut Vec<u8>) {
    let d = crate::proto::duration(value);
    if d.seconds != 0 {
        encode_key(1, WireType::Varint, buf);
        encode_varint(d.seconds as u64, buf);
    }
    if d.nanos != 0 {
        encode_key(2, WireType::Varint, buf);
        encode_varint(i64::from(d.nanos) as u64, buf);
    }
}

/// A message field (always written, even when empty): its key, its length, then what
/// `body` writes. The length takes one byte until the body is written; a body of 128
/// bytes or more moves over for the longer varint.
pub(crate) fn message(tag: u32, buf: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    encode_key(tag, WireType::LengthDelimited, buf);
    let at = buf.len();
    buf.push(0);
    body(buf);
    let len = buf.len() - at - 1;
    if let Ok(short) = u8::try_from(len)
        && short < 0x80
    {
        if let Some(slot) = buf.get_mut(at) {
            *slot = short;
        }
        return;
    }
    let mut varint = Vec::with_capacity(10);
    encode_varint(len as u64, &mut varint);
    buf.splice(at..=at, varint);
}

/// A message field whose encoding is `encoded`.
pub(crate) fn encoded_message(tag: u32, encoded: &[u8], buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(encoded.len() as u64, buf);
    buf.extend_from_slice(encoded);
}

/// The fields that `message` sets, as prost writes them: a message of which only some
/// fields are set writes exactly those, in tag order.
pub(crate) fn prost_fields(message: &impl Message, buf: &mut Vec<u8>) {
    message.encode_raw(buf);
}

/// A `google.protobuf.Any { type_url = 1, value = 2 }` of the message of type `type_url`
/// that `body` writes, as [`pack`](crate::pack) gives it: the value is left out when
/// empty. `capacity` is a guess at the value's length; the result holds no spare
/// capacity (it is kept as a served resource, whose bytes are counted against the
/// controller's memory).
pub(crate) fn any(type_url: &str, capacity: usize, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut buf = Vec::with_capacity(type_url.len() + capacity + 8);
    string(1, type_url, &mut buf);
    let start = buf.len();
    message(2, &mut buf, body);
    // Key and a one-byte length: the value was empty.
    if buf.len() == start + 2 {
        buf.truncate(start);
    }
    buf.shrink_to_fit();
    buf
}
