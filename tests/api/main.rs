#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The one integration-test binary: starts the real application on port 0
//! with a fresh database, vendors played by local HTTP servers answering as
//! their documentation shows.

mod helpers;

mod agents;
mod bad_input;
mod browser;
mod call_context;
mod dial_ccai;
mod dial_focalscope;
mod iadvize_resources;
mod metrics;
mod outage;
mod overload;
mod panel;
mod replicas;
mod resilience;
mod restart;
mod sandbox;
mod server;
mod stats;
mod stats_iadvize;
mod store;
mod streams;
mod tls;
mod webhooks;
