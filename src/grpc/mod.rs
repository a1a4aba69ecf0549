//! The gRPC services, one file per service: validate → domain → adapter or
//! store → proto.

pub mod auth;
pub mod call_context;
pub mod outbound_dial;
pub mod paging;

use crate::pb::v1::{agents_service_server::AgentsService, stats_service_server::StatsService};

/// AgentsService: every RPC answers UNIMPLEMENTED until its issue lands.
pub struct AgentsApi;
impl AgentsService for AgentsApi {}

/// StatsService: every RPC answers UNIMPLEMENTED until its issue lands.
pub struct StatsApi;
impl StatsService for StatsApi {}
