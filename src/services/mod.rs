//! The application services: what the gRPC handlers and webhooks call.
//! Each takes domain types, talks to vendors through their traits
//! (`crate::vendors`) and to the database through `crate::store`, and knows
//! nothing of protobuf or HTTP.
//!
//! - [`calls`]: the call desk (Optico calls, webhook updates, agent assignment);
//! - [`dials`]: outbound dials, idempotent by request id (FocalScope, CCAI);
//! - [`availability`]: iAdvize operator availability, polled and watched;
//! - [`call_exports`]: Optico Data API exports, paged;
//! - [`updates`]: the event log's reader and the stream fan-out.

pub mod availability;
pub mod call_exports;
pub mod calls;
pub mod dials;
pub mod updates;
