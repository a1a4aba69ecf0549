//! OutboundDialService messages ↔ domain: who a call reaches, CCAI menu
//! ids and recording permission, the call returned.

use super::v1 as proto;
use crate::domain::{
    self, EndUser, FieldViolation, PhoneNumber, RecordingPermission, Violations, parse_ticket_id,
};

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
