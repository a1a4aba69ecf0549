//! The generated protobuf/tonic code, the descriptor set served by
//! reflection, and every conversion between proto messages and domain
//! types: what the services share here (times, enums, call references), the
//! rest in one file per service (`call_context`, `outbound_dial`, `agents`,
//! `stats`). gRPC handlers (`crate::grpc`) only validate through these,
//! call services and adapters, and map back.
//!
//! Conversions destructure proto messages field by field where they read
//! them, so a field added to the contract does not compile until it is
//! handled.

use chrono::{DateTime, TimeZone, Utc};
use prost_types::Timestamp;

use crate::domain::{self, CallId, CallLookup, FieldViolation, RefKind, VendorRef};

pub mod agents;
pub mod call_context;
pub mod outbound_dial;
pub mod stats;

// The call messages are used by every service that returns a call.
pub use call_context::{
    call, call_update, cart, heartbeat, json_value, optico_context, order, page_view,
};

#[allow(clippy::all, clippy::pedantic, deprecated, missing_docs)]
pub mod v1 {
    tonic::include_proto!("switchboard.v1");
    // Which messages are requests, for the codec (see build.rs).
    include!(concat!(env!("OUT_DIR"), "/switchboard_decode_roles.rs"));
}

/// Encoded `FileDescriptorSet` of every switchboard proto (and its imports),
/// for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/switchboard_descriptor.bin"));

use v1 as pb;

// ---- times ----

pub fn timestamp(time: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

pub fn opt_timestamp(time: Option<DateTime<Utc>>) -> Option<Timestamp> {
    time.map(timestamp)
}

/// Reads a client timestamp; `field` names it in the error.
pub fn from_timestamp(field: &str, value: &Timestamp) -> Result<DateTime<Utc>, FieldViolation> {
    if !(0..1_000_000_000).contains(&value.nanos) {
        return Err(FieldViolation::new(field, "has nanos outside 0..999999999"));
    }
    Utc.timestamp_opt(value.seconds, value.nanos as u32)
        .single()
        .filter(|t| (1970..=9999).contains(&chrono::Datelike::year(t)))
        .ok_or_else(|| {
            FieldViolation::new(field, "is not a valid time between years 1970 and 9999")
        })
}

/// Reads a required client timestamp.
pub fn required_timestamp(
    field: &str,
    value: Option<&Timestamp>,
) -> Result<DateTime<Utc>, FieldViolation> {
    match value {
        Some(value) => from_timestamp(field, value),
        None => Err(FieldViolation::new(field, "is required")),
    }
}

/// Reads a proto enum field; a number the contract does not define is a
/// violation naming `field`.
pub fn enum_value<E: TryFrom<i32>>(field: &str, value: i32) -> Result<E, FieldViolation> {
    E::try_from(value).map_err(|_| FieldViolation::new(field, format!("has unknown value {value}")))
}

// ---- call references ----

/// Validates a `CallRef` (field `field`, e.g. "call") into a lookup.
pub fn call_lookup(field: &str, value: Option<&pb::CallRef>) -> Result<CallLookup, FieldViolation> {
    use pb::call_ref::Ref;
    let Some(pb::CallRef { r#ref }) = value else {
        return Err(FieldViolation::new(
            field,
            "is required: set one of id, optico_call_id, focalscope_request_id, focalscope_call_id, call_uuid, ccai_call_id",
        ));
    };
    let Some(reference) = r#ref else {
        return Err(FieldViolation::new(
            field,
            "is empty: set one of id, optico_call_id, focalscope_request_id, focalscope_call_id, call_uuid, ccai_call_id",
        ));
    };
    let numeric = |sub: &str, kind: RefKind, value: &str| -> Result<CallLookup, FieldViolation> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(FieldViolation::new(format!("{field}.{sub}"), "is empty"));
        }
        match trimmed.parse::<u64>() {
            Ok(number) if number > 0 => {
                Ok(CallLookup::Vendor(VendorRef::new(kind, number.to_string())))
            }
            _ => Err(FieldViolation::new(
                format!("{field}.{sub}"),
                format!("must be a positive integer, got {}", domain::quote(value)),
            )),
        }
    };
    match reference {
        Ref::Id(id) => CallId::parse(&format!("{field}.id"), id).map(CallLookup::Id),
        Ref::OpticoCallId(value) => numeric("optico_call_id", RefKind::OpticoCallId, value),
        Ref::FocalscopeRequestId(value) => {
            numeric("focalscope_request_id", RefKind::FocalscopeRequestId, value)
        }
        Ref::FocalscopeCallId(value) => {
            numeric("focalscope_call_id", RefKind::FocalscopeCallId, value)
        }
        Ref::CcaiCallId(value) => numeric("ccai_call_id", RefKind::CcaiCallId, value),
        Ref::CallUuid(value) => {
            let trimmed = value.trim();
            let valid = !trimmed.is_empty()
                && trimmed.len() <= 64
                && trimmed.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if valid {
                Ok(CallLookup::Vendor(VendorRef::new(
                    RefKind::CallUuid,
                    trimmed.to_ascii_lowercase(),
                )))
            } else {
                Err(FieldViolation::new(
                    format!("{field}.call_uuid"),
                    format!(
                        "is not a FocalScope CallUUID (hex digits and dashes), got {}",
                        domain::quote(value)
                    ),
                ))
            }
        }
    }
}

// ---- enums ----

pub fn provider(value: domain::Provider) -> pb::Provider {
    match value {
        domain::Provider::Optico => pb::Provider::Optico,
        domain::Provider::FocalScope => pb::Provider::Focalscope,
        domain::Provider::Ccai => pb::Provider::Ccai,
        // No call is ever stored with iAdvize as its provider.
        domain::Provider::Iadvize => pb::Provider::Unspecified,
    }
}

pub fn provider_from(value: pb::Provider) -> Option<domain::Provider> {
    match value {
        pb::Provider::Unspecified => None,
        pb::Provider::Optico => Some(domain::Provider::Optico),
        pb::Provider::Focalscope => Some(domain::Provider::FocalScope),
        pb::Provider::Ccai => Some(domain::Provider::Ccai),
    }
}

pub fn call_status(value: domain::CallStatus) -> pb::CallStatus {
    use domain::CallStatus as S;
    match value {
        S::Active => pb::CallStatus::Active,
        S::Dialing => pb::CallStatus::Dialing,
        S::AgentAnswered => pb::CallStatus::AgentAnswered,
        S::Connected => pb::CallStatus::Connected,
        S::Ended => pb::CallStatus::Ended,
        S::Failed => pb::CallStatus::Failed,
        S::Unknown => pb::CallStatus::Unknown,
        S::PendingAgentAction => pb::CallStatus::PendingAgentAction,
        S::Queued => pb::CallStatus::Queued,
        S::Scheduled => pb::CallStatus::Scheduled,
        S::Assigned => pb::CallStatus::Assigned,
    }
}

pub fn call_status_from(value: pb::CallStatus) -> Option<domain::CallStatus> {
    use domain::CallStatus as S;
    match value {
        pb::CallStatus::Unspecified => None,
        pb::CallStatus::Active => Some(S::Active),
        pb::CallStatus::Dialing => Some(S::Dialing),
        pb::CallStatus::AgentAnswered => Some(S::AgentAnswered),
        pb::CallStatus::Connected => Some(S::Connected),
        pb::CallStatus::Ended => Some(S::Ended),
        pb::CallStatus::Failed => Some(S::Failed),
        pb::CallStatus::Unknown => Some(S::Unknown),
        pb::CallStatus::PendingAgentAction => Some(S::PendingAgentAction),
        pb::CallStatus::Queued => Some(S::Queued),
        pb::CallStatus::Scheduled => Some(S::Scheduled),
        pb::CallStatus::Assigned => Some(S::Assigned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::call_ref::Ref;

    fn lookup(reference: Ref) -> Result<CallLookup, FieldViolation> {
        call_lookup(
            "call",
            Some(&pb::CallRef {
                r#ref: Some(reference),
            }),
        )
    }

    #[test]
    fn call_refs_validate_and_name_the_field() {
        assert_eq!(
            lookup(Ref::OpticoCallId("22122563".into())).unwrap(),
            CallLookup::Vendor(VendorRef::new(RefKind::OpticoCallId, "22122563"))
        );
        assert_eq!(
            lookup(Ref::OpticoCallId("abc".into())).unwrap_err().field,
            "call.optico_call_id"
        );
        assert_eq!(
            lookup(Ref::OpticoCallId("".into())).unwrap_err().field,
            "call.optico_call_id"
        );
        assert_eq!(lookup(Ref::Id("x".into())).unwrap_err().field, "call.id");
        assert_eq!(
            lookup(Ref::CallUuid("not a uuid!".into()))
                .unwrap_err()
                .field,
            "call.call_uuid"
        );
        assert!(lookup(Ref::CallUuid("BFA2DBC8-ab8a-34c8-f243-c2aad8c446ff".into())).is_ok());
        assert_eq!(call_lookup("call", None).unwrap_err().field, "call");
        assert_eq!(
            call_lookup("call", Some(&pb::CallRef { r#ref: None }))
                .unwrap_err()
                .field,
            "call"
        );
    }

    #[test]
    fn timestamps_are_checked() {
        assert!(
            from_timestamp(
                "t",
                &Timestamp {
                    seconds: 0,
                    nanos: -1
                }
            )
            .is_err()
        );
        assert!(
            from_timestamp(
                "t",
                &Timestamp {
                    seconds: -10,
                    nanos: 0
                }
            )
            .is_err()
        );
        assert!(
            from_timestamp(
                "t",
                &Timestamp {
                    seconds: 1_700_000_000,
                    nanos: 0
                }
            )
            .is_ok()
        );
        assert_eq!(
            required_timestamp("start_time", None).unwrap_err().field,
            "start_time"
        );
    }
}
