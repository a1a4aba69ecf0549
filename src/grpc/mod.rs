//! The gRPC services, one file per service: validate → domain → adapter or
//! store → proto.

pub mod agents;
pub mod auth;
pub mod browser;
pub mod call_context;
pub mod codec;
pub mod deadline;
pub mod iadvize;
pub mod limits;
pub mod methods;
pub mod metrics;
pub mod outbound_dial;
pub mod paging;
pub mod stats;

pub use agents::AgentsApi;
