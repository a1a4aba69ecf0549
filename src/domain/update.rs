//! Updates of a call: what `call_events` stores and StreamCallUpdates sends.
//!
//! These are switchboard's own types (serde, stored as JSON in the log), not a
//! vendor's wire format: vendor adapters convert into them, the gRPC layer
//! converts out of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CallId, CallStatus, DialEventType, FailureReason, LegKind};

/// A page the caller loaded (Optico view).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageView {
    pub id: i64,
    pub page_title: Option<String>,
    pub url: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A product of a cart or order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub quantity: i64,
    pub cost_per_unit: f64,
    #[serde(default)]
    pub details: Vec<serde_json::Value>,
}

/// The caller's cart (Optico cart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub id: i64,
    pub external_id: Option<String>,
    pub is_logged_in: bool,
    pub currency: Option<String>,
    pub status: i32,
    pub total_cost: f64,
    pub products_count: i32,
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub products: Vec<Product>,
}

/// An order (Optico order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: i64,
    pub external_id: Option<String>,
    pub cart_id: Option<i64>,
    pub external_cart_id: Option<String>,
    pub agent: Option<String>,
    pub status: Option<String>,
    pub is_sale: bool,
    pub currency: Option<String>,
    pub total_cost: f64,
    pub source: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub products: Vec<Product>,
}

/// A FocalScope callback on one leg.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DialEvent {
    pub leg: LegKind,
    pub event: DialEventType,
    pub event_code: Option<i32>,
    pub recorded: bool,
    pub focalscope_call_id: Option<String>,
    pub call_uuid: Option<String>,
    pub request_id: Option<String>,
}

/// A new agent on the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentAssigned {
    pub agent: String,
    pub previous_agent: Option<String>,
    /// Set when `agent` is what Optico confirmed in its `setAgentToCall`
    /// answer (absent from updates stored before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_agent: Option<String>,
    /// The agent AssignAgent asked for, when Optico confirmed another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_agent: Option<String>,
}

/// The call's status moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChanged {
    pub previous: Option<CallStatus>,
    pub status: CallStatus,
    pub failure_reason: Option<FailureReason>,
    pub detail: Option<String>,
}

/// One update of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Update {
    View(PageView),
    Cart(Cart),
    Order(Order),
    DialEvent(DialEvent),
    AgentAssigned(AgentAssigned),
    StatusChanged(StatusChanged),
    /// StartCall matched the call: what Optico knew of the caller then.
    OpticoMatches(Vec<OpticoMatch>),
}

impl Update {
    /// The `kind` column of `call_events`.
    pub fn kind(&self) -> &'static str {
        match self {
            Update::View(_) => "view",
            Update::Cart(_) => "cart",
            Update::Order(_) => "order",
            Update::DialEvent(_) => "dial_event",
            Update::AgentAssigned(_) => "agent_assigned",
            Update::StatusChanged(_) => "status_changed",
            Update::OpticoMatches(_) => "optico_matches",
        }
    }
}

/// An update to append to the log.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub update: Update,
    /// When the vendor says it happened (received time when it does not say).
    pub occurred_at: DateTime<Utc>,
    /// Identifies a vendor delivery: a second event with the same key within
    /// the retention is recognised as a re-delivery and not stored again.
    pub dedupe_key: Option<String>,
}

/// An update as committed to the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the log; commit order.
    pub sequence: i64,
    pub call_id: CallId,
    /// The call's agent when the update was committed (for agent streams).
    pub agent: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub update: Update,
}

/// The Optico record of a matched call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpticoCallInfo {
    pub id: i64,
    pub start_date: Option<DateTime<Utc>>,
    pub status: Option<String>,
    pub source: Option<String>,
    pub referrer: Option<String>,
    pub keyword: Option<String>,
    pub agent: Option<String>,
}

/// One call Optico matched, with what the caller did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpticoMatch {
    pub call: OpticoCallInfo,
    pub views: Vec<PageView>,
    pub current_cart: Option<Cart>,
    pub orders: Vec<Order>,
}
