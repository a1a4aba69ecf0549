//! The CCAI Platform calls API wire format: the request body of
//! `POST /apps/api/v1/calls`, the call object it answers (every documented
//! field), errors (`{"message": …}`) and customer flags.
//!
//! The call object is also what switchboard stores for a CCAI call
//! (`calls.vendor_data`), so these types serialise back to the vendor's
//! names.

use serde::{Deserialize, Serialize};

use crate::vendors::wire::loose_bool;

/// `call_type` values of the three call kinds.
pub(super) const OUTBOUND: &str = "Voice Outbound (API)";
pub(super) const INBOUND: &str = "Voice Inbound (API)";
pub(super) const SCHEDULED: &str = "Voice Scheduled (API)";

/// Body of `POST /apps/api/v1/calls`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(super) struct CreateCallBody {
    pub call_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub menu_id: Option<i64>,
    /// Parent call of a scheduled call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_user_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<String>,
    /// recording_permission_not_asked / _granted / _denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_permission: Option<&'static str>,
}

/// A vendor error answer.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorBody {
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Menu {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub parent_id: Option<i64>,
    pub position: Option<i64>,
    pub deleted: Option<bool>,
    /// Documented as a string, shown as a boolean in examples.
    pub hidden: Option<serde_json::Value>,
    pub menu_type: Option<String>,
    pub output_msg: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct MenuPath {
    pub items_count: Option<i64>,
    pub name: Option<String>,
    pub materialized_path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Agent {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub agent_number: Option<String>,
    pub avatar_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct EndUser {
    pub id: Option<i64>,
    pub identifier: Option<String>,
    pub out_contact_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Photo {
    pub id: Option<i64>,
    pub photo_type: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Video {
    pub id: Option<i64>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Transfer {
    pub id: Option<i64>,
    pub status: Option<String>,
    pub fail_reason: Option<String>,
    pub created_at: Option<String>,
    pub from_menu: Option<MenuPath>,
    pub to_menu: Option<MenuPath>,
    pub from_agent: Option<Agent>,
    pub to_agent: Option<Agent>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Participant {
    pub id: Option<i64>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    pub call_id: Option<i64>,
    pub user_id: Option<i64>,
    pub end_user_id: Option<i64>,
    pub call_duration: Option<i64>,
    pub hold_duration: Option<i64>,
    pub connected_at: Option<String>,
    pub ended_at: Option<String>,
    pub fail_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct OfferEvent {
    pub casting_time: Option<String>,
    pub group: Option<String>,
}

/// The CCAI call object. Every field is optional: examples leave many null.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct CallObject {
    pub id: Option<i64>,
    pub parent_id: Option<i64>,
    pub lang: Option<String>,
    pub call_type: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<String>,
    pub queued_at: Option<String>,
    pub assigned_at: Option<String>,
    pub connected_at: Option<String>,
    pub ends_at: Option<String>,
    pub scheduled_at: Option<String>,
    pub wait_duration: Option<i64>,
    pub call_duration: Option<i64>,
    pub hold_duration: Option<i64>,
    pub rating: Option<i64>,
    pub has_feedback: Option<bool>,
    pub voip_provider: Option<String>,
    pub out_ticket_id: Option<String>,
    pub out_ticket_url: Option<String>,
    pub verified: Option<bool>,
    pub recording_url: Option<String>,
    pub recording_permission: Option<String>,
    pub voicemail_reason: Option<String>,
    pub deflection: Option<String>,
    pub disconnected_by: Option<String>,
    pub fail_details: Option<String>,
    pub fail_reason: Option<String>,
    pub support_number: Option<String>,
    pub selected_menu: Option<Menu>,
    pub menu_path: Option<MenuPath>,
    pub agent_info: Option<Agent>,
    pub end_user: Option<EndUser>,
    #[serde(default)]
    pub photos: Vec<Photo>,
    #[serde(default)]
    pub videos: Vec<Video>,
    #[serde(default)]
    pub transfers: Vec<Transfer>,
    #[serde(default)]
    pub deflection_details: Vec<serde_json::Value>,
    #[serde(default)]
    pub participants: Vec<Participant>,
    pub offer_type: Option<String>,
    #[serde(default)]
    pub offer_events: Vec<OfferEvent>,
    pub answer_type: Option<String>,
    pub outbound_number: Option<String>,
}

/// `GET /apps/api/v1/calls/:id/customer_flag` answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(super) struct CustomerFlag {
    #[serde(default, deserialize_with = "loose_bool")]
    pub verified_customer: bool,
    #[serde(default, deserialize_with = "loose_bool")]
    pub bad_actor: bool,
    /// The PATCH body of the documentation spells it `repeat_customers`.
    #[serde(default, alias = "repeat_customers", deserialize_with = "loose_bool")]
    pub repeat_customer: bool,
}

/// `PATCH /apps/api/v1/calls/:id/customer_flag` body, with the documented
/// field names (`repeat_customers`, plural, as the documentation writes it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(super) struct CustomerFlagPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_customer: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_actor: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_customers: Option<bool>,
}
