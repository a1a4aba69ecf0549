//! What switchboard knows of CCAI Platform calls, in its own terms: the calls
//! it asks CCAI to create, what CCAI answered, the call object it keeps (as
//! read from CCAI's answer) and the customer flags of a call. The wire
//! format is the CCAI adapter's business (`vendors::ccai`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{CallStatus, EmailAddress, Language, PhoneNumber, RecordingPermission};

/// Who a call reaches: a number, or the contact of a CRM ticket (which CCAI
/// prefers when both are given).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndUser {
    pub number: Option<PhoneNumber>,
    pub ticket_id: Option<String>,
}

/// A call for CCAI to create, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum NewCcaiCall {
    Outbound {
        agent: EmailAddress,
        end_user: EndUser,
        outbound_number: Option<PhoneNumber>,
        language: Option<Language>,
    },
    Inbound {
        menu_id: i64,
        end_user: EndUser,
        outbound_number: Option<PhoneNumber>,
        language: Option<Language>,
        recording: Option<RecordingPermission>,
    },
    Scheduled {
        menu_id: Option<i64>,
        /// CCAI's id of the parent call.
        parent_call_id: Option<i64>,
        end_user: EndUser,
        language: Option<Language>,
        recording: Option<RecordingPermission>,
        scheduled_at: DateTime<Utc>,
    },
}

/// What CCAI answered to a call creation.
#[derive(Debug, Clone, PartialEq)]
pub enum CcaiCreated {
    /// 201: the call exists.
    Call(Box<CcaiCreatedCall>),
    /// 200 or 202: accepted, but the agent must finish it in the CCAI widget
    /// (choose an outbound number, confirm a ticket call).
    PendingAgentAction { http_status: u16 },
}

/// A created call, as the dial path records it.
#[derive(Debug, Clone, PartialEq)]
pub struct CcaiCreatedCall {
    /// CCAI's call id, when it sent one.
    pub id: Option<i64>,
    /// Our status for CCAI's.
    pub status: CallStatus,
    /// CCAI's own status word.
    pub vendor_status: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The call object to keep with the call (`calls.vendor_data`): opaque
    /// here, read back with `vendors::ccai::stored_call`.
    pub stored: serde_json::Value,
}

/// The customer flags of a CCAI call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CustomerFlags {
    pub verified_customer: bool,
    pub bad_actor: bool,
    pub repeat_customer: bool,
}

/// A change of customer flags: `None` leaves a flag as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CustomerFlagsChange {
    pub verified_customer: Option<bool>,
    pub bad_actor: Option<bool>,
    pub repeat_customer: Option<bool>,
}

/// CCAI's call object, every documented field; times parsed (an unreadable
/// time is `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CcaiCall {
    pub id: Option<i64>,
    pub parent_id: Option<i64>,
    pub lang: Option<String>,
    pub call_type: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub queued_at: Option<DateTime<Utc>>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub connected_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
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
    pub selected_menu: Option<CcaiMenu>,
    pub menu_path: Option<CcaiMenuPath>,
    pub agent_info: Option<CcaiAgent>,
    pub end_user: Option<CcaiEndUser>,
    pub photos: Vec<CcaiPhoto>,
    pub videos: Vec<CcaiVideo>,
    pub transfers: Vec<CcaiTransfer>,
    /// Each item as CCAI sent it: its documentation shows only empty lists.
    pub deflection_details: Vec<serde_json::Value>,
    pub participants: Vec<CcaiParticipant>,
    pub offer_type: Option<String>,
    pub offer_events: Vec<CcaiOfferEvent>,
    pub answer_type: Option<String>,
    pub outbound_number: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CcaiMenu {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub parent_id: Option<i64>,
    pub position: Option<i64>,
    pub deleted: Option<bool>,
    /// Documented as a string, shown as a boolean in examples: kept as text.
    pub hidden: Option<String>,
    pub menu_type: Option<String>,
    pub output_msg: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CcaiMenuPath {
    pub items_count: Option<i64>,
    pub name: Option<String>,
    pub materialized_path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CcaiAgent {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub agent_number: Option<String>,
    pub avatar_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CcaiEndUser {
    pub id: Option<i64>,
    pub identifier: Option<String>,
    pub out_contact_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CcaiPhoto {
    pub id: Option<i64>,
    pub photo_type: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CcaiVideo {
    pub id: Option<i64>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CcaiTransfer {
    pub id: Option<i64>,
    pub status: Option<String>,
    pub fail_reason: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub from_menu: Option<CcaiMenuPath>,
    pub to_menu: Option<CcaiMenuPath>,
    pub from_agent: Option<CcaiAgent>,
    pub to_agent: Option<CcaiAgent>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CcaiParticipant {
    pub id: Option<i64>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub call_id: Option<i64>,
    pub user_id: Option<i64>,
    pub end_user_id: Option<i64>,
    pub call_duration: Option<i64>,
    pub hold_duration: Option<i64>,
    pub connected_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub fail_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CcaiOfferEvent {
    pub casting_time: Option<DateTime<Utc>>,
    pub group: Option<String>,
}
