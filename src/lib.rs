//! switchboard: one typed gRPC API in front of contact-center vendor APIs.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod pb;
pub mod sandbox;
pub mod services;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod traces;
pub mod vendors;
