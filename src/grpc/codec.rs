//! The codec of every switchboard service (build.rs sets it as tonic's
//! `codec_path`): tonic-prost's, except for what a request that is not valid
//! protobuf gets.
//!
//! tonic-prost answers any decoding failure with INTERNAL, which clients read
//! as a server bug and may retry. A request the server cannot decode is the
//! client's mistake: INVALID_ARGUMENT, naming the field prost got stuck in,
//! through the one error mapping (`crate::error`). tonic 0.14 has no hook for
//! this other than the codec (a layer would have to recognise tonic-prost's
//! INTERNAL by its message text), hence this wrapper.
//!
//! Clients generated from the same protos share the codec; there a response
//! that cannot be decoded is still INTERNAL (the server's fault), which is why
//! each message says which side it is on (`Decoded`, implemented by build.rs
//! for every RPC's request and response).

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstDecoder, ProstEncoder};

use crate::{domain::FieldViolation, error::Error};

/// Which side decodes a message: implemented by build.rs for every request
/// and response message of the switchboard services.
pub trait Decoded {
    /// The full protobuf name of a request message (`None` for a response).
    const REQUEST: Option<&'static str>;
}

/// The encode buffer a response starts with: 1 KiB, not tonic's 8 KiB.
/// tonic allocates it as a response starts, before its first message, and a
/// stream keeps it while it waits: of an idle stream's memory, massif put
/// these 8 KiB first (10,000 idle streams, `cargo bench --bench suite`). A
/// call update is a few hundred bytes; a bigger response grows the buffer
/// as it is encoded (a doubling per step, a few steps for the largest page).
const ENCODE_BUFFER: usize = 1024;
/// Encoded bytes handed to the transport at once, at most: tonic's default.
const ENCODE_YIELD: usize = 32 * 1024;

/// tonic-prost's codec, with a request that cannot be decoded answered
/// INVALID_ARGUMENT (see the module docs).
#[derive(Debug, Clone)]
pub struct ProtoCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for ProtoCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for ProtoCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Decoded + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProtoDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::new(ENCODE_BUFFER, ENCODE_YIELD))
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProtoDecoder(ProstDecoder::new(BufferSettings::default()))
    }
}

/// Decodes `U`; see [`ProtoCodec`].
#[derive(Debug)]
pub struct ProtoDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default + Decoded> Decoder for ProtoDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let Some(request) = U::REQUEST else {
            return self.0.decode(buf);
        };
        U::decode(buf)
            .map(Some)
            .map_err(|error| malformed(request, &error))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// INVALID_ARGUMENT for a request prost could not decode, naming the field
/// prost names (`call.ref`), or `request` when it failed before any field.
fn malformed(message: &str, error: &prost::DecodeError) -> Status {
    let (field, reason) = decode_error_field(&error.to_string());
    Error::from(FieldViolation::new(
        field,
        format!("is not valid protobuf for {message}: {reason}"),
    ))
    .into()
}

/// Splits prost's error text, `failed to decode Protobuf message:
/// Inner.field: Outer.field: reason` (innermost first), into the field path
/// as a client spells it (`field.field`, outermost first) and the reason.
/// prost keeps the (message, field) stack private; its text is the only way
/// to it.
fn decode_error_field(text: &str) -> (String, String) {
    let mut rest = text
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(text);
    let mut fields = Vec::new();
    while let Some((location, tail)) = rest.split_once(": ") {
        let Some((message, field)) = location.split_once('.') else {
            break;
        };
        let is_name =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let field = field.strip_prefix("r#").unwrap_or(field);
        if !is_name(message) || !is_name(field) {
            break;
        }
        fields.push(field);
        rest = tail;
    }
    fields.reverse();
    let field = if fields.is_empty() {
        "request".to_owned()
    } else {
        fields.join(".")
    };
    (field, rest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_decode_error_names_the_nested_field() {
        // GetCallRequest.call (1) = CallRef { optico_call_id (2): not UTF-8 }.
        let bytes = [0x0a, 0x03, 0x12, 0x01, 0xff];
        let error = <crate::pb::v1::GetCallRequest as Message>::decode(&bytes[..]).unwrap_err();
        let status = malformed("switchboard.v1.GetCallRequest", &error);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status
                .message()
                .starts_with("invalid request: call.ref: is not valid protobuf"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn names_the_field_prost_got_stuck_in() {
        assert_eq!(
            decode_error_field(
                "failed to decode Protobuf message: CallRef.r#ref: GetCallRequest.call: invalid string value: data is not UTF-8 encoded"
            ),
            (
                "call.ref".to_owned(),
                "invalid string value: data is not UTF-8 encoded".to_owned()
            )
        );
        assert_eq!(
            decode_error_field("failed to decode Protobuf message: invalid wire type value: 7"),
            (
                "request".to_owned(),
                "invalid wire type value: 7".to_owned()
            )
        );
    }
}
