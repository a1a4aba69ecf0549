//! OutboundDialService messages ↔ domain: who a call reaches, CCAI menu
//! ids and recording permission, the call returned.

use super::v1 as proto;
use crate::domain::{
    self, EndUser, FieldViolation, PhoneNumber, RecordingPermission, Violations, parse_ticket_id,
};

/// The leg of a GetCallRecording: the customer's unless told.
pub fn recording_leg(field: &str, value: i32) -> Result<domain::LegKind, FieldViolation> {
    match proto::LegKind::try_from(value) {
        Ok(proto::LegKind::Unspecified | proto::LegKind::Customer) => Ok(domain::LegKind::Customer),
        Ok(proto::LegKind::Agent) => Ok(domain::LegKind::Agent),
        Err(_) => Err(FieldViolation::new(
            field,
            format!("must be LEG_KIND_CUSTOMER (the default) or LEG_KIND_AGENT, got {value}"),
        )),
    }
}

/// One message of a GetCallRecording stream; `head` (content type and
/// length) goes in the first only.
pub fn recording_chunk(
    head: Option<(Option<String>, Option<u64>)>,
    data: Vec<u8>,
) -> proto::GetCallRecordingResponse {
    let (content_type, content_length) = head.unwrap_or_default();
    proto::GetCallRecordingResponse {
        content_type: content_type.unwrap_or_default(),
        content_length: content_length.and_then(|length| i64::try_from(length).ok()),
        data,
    }
}

/// The number or the ticket: one of them is required. `number_field` names
/// the request's number field in errors.
pub fn end_user(
    violations: &mut Violations,
    number_field: &str,
    number: &str,
    ticket_id: &str,
) -> Option<EndUser> {
    let ticket_id = violations.check(parse_ticket_id("ticket_id", ticket_id))?;
    let number = if number.trim().is_empty() {
        if ticket_id.is_none() {
            violations.push(FieldViolation::new(
                number_field,
                "is required unless ticket_id is set",
            ));
            return None;
        }
        None
    } else {
        Some(violations.check(PhoneNumber::parse(number_field, number))?)
    };
    Some(EndUser { number, ticket_id })
}

pub fn recording_permission(
    violations: &mut Violations,
    value: i32,
) -> Option<Option<RecordingPermission>> {
    match proto::RecordingPermission::try_from(value) {
        Ok(proto::RecordingPermission::Unspecified) => Some(None),
        Ok(proto::RecordingPermission::NotAsked) => Some(Some(RecordingPermission::NotAsked)),
        Ok(proto::RecordingPermission::Granted) => Some(Some(RecordingPermission::Granted)),
        Ok(proto::RecordingPermission::Denied) => Some(Some(RecordingPermission::Denied)),
        Err(_) => {
            violations.push(FieldViolation::new(
                "recording_permission",
                format!("has unknown value {value}"),
            ));
            None
        }
    }
}

pub fn parse_menu_id(
    violations: &mut Violations,
    value: i64,
    required: bool,
) -> Option<Option<i64>> {
    match value {
        0 if !required => Some(None),
        0 => {
            violations.push(FieldViolation::new(
                "menu_id",
                "is required (a positive CCAI menu id)",
            ));
            None
        }
        v if v < 0 => {
            violations.push(FieldViolation::new(
                "menu_id",
                format!("must be positive, got {v}"),
            ));
            None
        }
        v => Some(Some(v)),
    }
}

pub fn response_call(call: &domain::Call) -> Option<proto::Call> {
    Some(super::call(call))
}
