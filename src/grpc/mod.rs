//! The gRPC services, one file per service: validate → domain → adapter or
//! store → proto.

pub mod agents;
pub mod auth;
pub mod call_context;
pub mod outbound_dial;
pub mod paging;

pub use agents::AgentsApi;

use crate::pb::v1::stats_service_server::StatsService;

/// StatsService: every RPC answers UNIMPLEMENTED until its issue lands.
pub struct StatsApi;
impl StatsService for StatsApi {}
