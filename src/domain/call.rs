//! What switchboard knows about a call: ids, references, status and legs.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{FieldViolation, quote};

/// switchboard's own call id: a UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct CallId(String);

impl CallId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        uuid::Uuid::parse_str(value.trim())
            .map(|uuid| Self(uuid.hyphenated().to_string()))
            .map_err(|_| {
                FieldViolation::new(
                    field,
                    format!("is not a call id (a UUID): {}", quote(value)),
                )
            })
    }

    /// Wraps an id read back from the database.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for CallId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Generates a string-backed enum with its database spelling, so the mapping
/// to and from stored text lives in one place per enum.
macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn from_stored(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_enum!(
    /// The vendor a call goes through, or that an error comes from (iAdvize
    /// never carries a call: it only names the vendor of a `VendorError`).
    Provider { Optico => "optico", FocalScope => "focalscope", Ccai => "ccai", Iadvize => "iadvize" }
);

stored_enum!(
    /// Which way a call goes.
    Direction { Inbound => "inbound", Outbound => "outbound" }
);

stored_enum!(
    /// Where a call stands. See `CallStatus::rank` for the forward-only rule.
    CallStatus {
        Active => "active",
        Dialing => "dialing",
        AgentAnswered => "agent_answered",
        Connected => "connected",
        Ended => "ended",
        Failed => "failed",
        Unknown => "unknown",
        PendingAgentAction => "pending_agent_action",
        Queued => "queued",
        Scheduled => "scheduled",
        Assigned => "assigned",
    }
);

impl CallStatus {
    /// Progress of a call. A status may only be replaced by one of a higher
    /// rank, so a late or replayed vendor event never moves a call back (a late
    /// pickup never reopens an ended call). `Unknown` ranks lowest: any news
    /// from the vendor resolves it.
    pub fn rank(self) -> u8 {
        match self {
            CallStatus::Unknown => 0,
            CallStatus::Scheduled | CallStatus::PendingAgentAction => 1,
            CallStatus::Dialing | CallStatus::Queued => 2,
            CallStatus::Assigned => 3,
            CallStatus::Active | CallStatus::AgentAnswered => 4,
            CallStatus::Connected => 5,
            CallStatus::Ended | CallStatus::Failed => 6,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, CallStatus::Ended | CallStatus::Failed)
    }

    /// Whether moving from `self` to `next` is progress.
    pub fn can_move_to(self, next: CallStatus) -> bool {
        next != self && next.rank() > self.rank()
    }
}

stored_enum!(
    /// Why a call failed.
    FailureReason {
        AgentMissed => "agent_missed",
        CustomerMissed => "customer_missed",
        AgentHungUp => "agent_hung_up",
        VendorFailed => "vendor_failed",
    }
);

stored_enum!(
    /// The kind of a vendor reference. The text is `vendor:kind` as stored in
    /// `call_refs` (vendor, kind) columns; see `RefKind::vendor`/`kind`.
    RefKind {
        OpticoCallId => "optico_call_id",
        FocalscopeRequestId => "focalscope_request_id",
        FocalscopeCallId => "focalscope_call_id",
        CallUuid => "call_uuid",
        CcaiCallId => "ccai_call_id",
    }
);

impl RefKind {
    /// The vendor column of `call_refs`.
    pub fn vendor(self) -> Provider {
        match self {
            RefKind::OpticoCallId => Provider::Optico,
            RefKind::FocalscopeRequestId | RefKind::FocalscopeCallId | RefKind::CallUuid => {
                Provider::FocalScope
            }
            RefKind::CcaiCallId => Provider::Ccai,
        }
    }

    /// The kind column of `call_refs`.
    pub fn kind(self) -> &'static str {
        match self {
            RefKind::OpticoCallId => "call_id",
            RefKind::FocalscopeRequestId => "request_id",
            RefKind::FocalscopeCallId => "call_id",
            RefKind::CallUuid => "call_uuid",
            RefKind::CcaiCallId => "call_id",
        }
    }

    pub fn from_columns(vendor: &str, kind: &str) -> Option<Self> {
        RefKind::ALL
            .iter()
            .copied()
            .find(|k| k.vendor().as_str() == vendor && k.kind() == kind)
    }
}

/// A vendor id of a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VendorRef {
    pub kind: RefKind,
    pub value: String,
}

impl VendorRef {
    pub fn new(kind: RefKind, value: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
        }
    }
}

/// A call named by any of its ids (the proto `CallRef`, validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallLookup {
    Id(CallId),
    Vendor(VendorRef),
}

impl fmt::Display for CallLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallLookup::Id(id) => write!(f, "id {id}"),
            CallLookup::Vendor(r) => write!(f, "{} {}", r.kind, r.value),
        }
    }
}

stored_enum!(
    /// The party a FocalScope leg rings.
    LegKind { Agent => "agent", Customer => "customer" }
);

stored_enum!(
    /// A FocalScope dial event.
    DialEventType { Pickup => "pickup", Missed => "missed", Hangup => "hangup" }
);

/// One FocalScope leg as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CallLeg {
    pub kind: LegKind,
    pub focalscope_call_id: Option<String>,
    pub call_uuid: Option<String>,
    pub last_event: Option<DialEventType>,
    pub last_event_code: Option<i32>,
    pub recorded: bool,
    pub updated_at: DateTime<Utc>,
}

/// A call with everything switchboard correlated for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub id: CallId,
    pub direction: Direction,
    pub provider: Provider,
    pub status: CallStatus,
    pub failure_reason: Option<FailureReason>,
    pub status_detail: Option<String>,
    pub vendor_status: Option<String>,
    pub caller_phone: Option<String>,
    pub destination_phone: Option<String>,
    pub agent: Option<String>,
    pub started_at: DateTime<Utc>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub refs: Vec<VendorRef>,
    pub legs: Vec<CallLeg>,
    /// Vendor-specific call data as JSON (the CCAI call object).
    pub vendor_data: Option<serde_json::Value>,
}

impl Call {
    pub fn ref_value(&self, kind: RefKind) -> Option<&str> {
        self.refs
            .iter()
            .find(|r| r.kind == kind)
            .map(|r| r.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_only_moves_forward() {
        use CallStatus::*;
        assert!(Dialing.can_move_to(AgentAnswered));
        assert!(AgentAnswered.can_move_to(Connected));
        assert!(Connected.can_move_to(Ended));
        assert!(Dialing.can_move_to(Failed));
        assert!(Unknown.can_move_to(Dialing));
        assert!(!Ended.can_move_to(AgentAnswered));
        assert!(!Ended.can_move_to(Failed));
        assert!(!Connected.can_move_to(AgentAnswered));
        assert!(!Dialing.can_move_to(Dialing));
    }

    #[test]
    fn ref_kinds_round_trip_their_columns() {
        for kind in RefKind::ALL {
            assert_eq!(
                RefKind::from_columns(kind.vendor().as_str(), kind.kind()),
                Some(*kind)
            );
        }
    }

    #[test]
    fn call_ids() {
        let id = CallId::new();
        assert_eq!(CallId::parse("call.id", id.as_str()).unwrap(), id);
        assert_eq!(
            CallId::parse("call.id", "nope").unwrap_err().field,
            "call.id"
        );
    }
}
