//! switchboard's own vocabulary: validated newtypes built at the edge (once
//! parsed, a phone number is valid), the call and its status rules, and call
//! updates. Nothing here knows about tonic, sea-orm or reqwest.

mod agent;
mod call;
pub mod ccai;
pub mod conversation;
mod dial;
mod dial_stats;
pub mod operator;
mod phone;
pub mod statistic;
mod time_range;
mod update;
mod validation;
pub mod website;

pub use agent::{AgentName, EmailAddress};
pub use call::{
    Call, CallId, CallLeg, CallLookup, CallStatus, DialEventType, Direction, FailureReason,
    LegKind, Provider, RefKind, VendorRef,
};
pub use ccai::EndUser;
pub use dial::{
    Language, OutboundPrefix, RecordingPermission, RequestId, dial_status, parse_ticket_id,
};
pub use dial_stats::{DialFacts, DialOutcome, DialSummary, DialTally};
pub use phone::{CallerPhone, PhoneNumber};
pub use time_range::TimeRange;
pub use update::{
    AgentAssigned, Cart, DialEvent, NewEvent, OpticoCallInfo, OpticoMatch, Order, PageView,
    Product, StatusChanged, StoredEvent, Update,
};
pub use validation::{FieldViolation, Invalid, Violations, quote, truncate};
