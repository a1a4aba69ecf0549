//! The Prometheus recorder: one per process, rendering every latency and
//! size metric as a real histogram (`_bucket` lines, aggregatable across
//! replicas) rather than the exporter's default summary (quantiles per
//! process, which cannot be summed). docs/metrics.md lists every metric.

use std::{sync::OnceLock, time::Duration};

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::warn;

use crate::store::Store;

/// Buckets of every `*_seconds` histogram: from a fast local commit (1 ms)
/// to a vendor at its timeout and a long-lived stream (5 min).
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// Buckets of the group-commit batch sizes (writes and events per commit),
/// up to `database.batch_max_writes`' default.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
/// Histograms counted in items, not seconds.
const BATCH_HISTOGRAMS: &[&str] = &[
    "switchboard_log_batch_writes",
    "switchboard_log_batch_events",
];
/// How often the recorder folds recorded samples into its buckets when
/// nobody scrapes (otherwise they pile up in memory until the next scrape).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use (tests run several apps in
/// one process, which share it).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = install();
            describe();
            let upkeep = handle.clone();
            // A thread, not a task: the recorder outlives any one runtime
            // (each test has its own).
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_INTERVAL);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(error) = spawned {
                warn!(error = %error, "cannot start the metrics upkeep thread; samples are folded at each scrape only");
            }
            handle
        })
        .clone()
}

fn install() -> PrometheusHandle {
    let builder = with_buckets().unwrap_or_else(|error| {
        warn!(error = %error, "histogram buckets refused; histograms render as summaries");
        PrometheusBuilder::new()
    });
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    // Fails only if another recorder is installed; then ours only renders
    // what it records, which is nothing, but nothing breaks.
    if metrics::set_global_recorder(recorder).is_err() {
        warn!("a metrics recorder was already installed; /metrics will be empty");
    }
    handle
}

/// Buckets by name. A suffix match: whatever a module names its latency
/// histogram, if it ends in `_seconds` (the Prometheus convention) it is a
/// histogram. The builder refuses only an empty bucket list.
fn with_buckets() -> Result<PrometheusBuilder, BuildError> {
    let mut builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)?;
    for name in BATCH_HISTOGRAMS {
        builder =
            builder.set_buckets_for_metric(Matcher::Full((*name).to_owned()), BATCH_BUCKETS)?;
    }
    Ok(builder)
}

/// HELP and TYPE lines, so `/metrics` documents itself.
fn describe() {
    describe_counter!(
        "grpc_server_started_total",
        "RPCs started, by grpc_service, grpc_method and grpc_type"
    );
    describe_counter!(
        "grpc_server_handled_total",
        "RPCs completed, by grpc_service, grpc_method, grpc_type and grpc_code"
    );
    describe_histogram!(
        "grpc_server_handling_seconds",
        Unit::Seconds,
        "time from the request to the last message of the answer (a stream's whole life), by grpc_service, grpc_method, grpc_type and grpc_code"
    );
    describe_counter!(
        "switchboard_grpc_rejected_total",
        "RPCs refused by a server limit before any handler ran, by limit"
    );
    describe_gauge!(
        "switchboard_grpc_streams_open",
        "server-streaming RPCs open, counted against streams.max_open"
    );
    describe_counter!(
        "switchboard_webhooks_total",
        "webhook deliveries, by vendor and outcome"
    );
    describe_histogram!(
        "switchboard_webhook_seconds",
        Unit::Seconds,
        "webhook handling time, from the request's headers to the answer, by vendor, outcome and status"
    );
    describe_counter!(
        "switchboard_http_connections_refused_total",
        "HTTP-port connections closed on arrival, by limit"
    );
    describe_gauge!(
        "switchboard_http_connections_open",
        "connections open on the HTTP port"
    );
    describe_histogram!(
        "switchboard_vendor_request_seconds",
        Unit::Seconds,
        "vendor API requests, by vendor, endpoint and outcome"
    );
    describe_histogram!(
        "switchboard_log_commit_seconds",
        Unit::Seconds,
        "event log group commits: time of one batch's transaction"
    );
    describe_histogram!(
        "switchboard_log_batch_writes",
        Unit::Count,
        "writes committed together in one group commit"
    );
    describe_histogram!(
        "switchboard_log_batch_events",
        Unit::Count,
        "events appended to the log by one group commit"
    );
    describe_gauge!(
        "switchboard_log_head_sequence",
        "highest sequence this process committed"
    );
    describe_histogram!(
        "switchboard_stream_delivery_seconds",
        Unit::Seconds,
        "delivery lag of stream updates: from the event's receipt to its send on a stream"
    );
    describe_gauge!(
        "switchboard_streams_open",
        "StreamCallUpdates streams open, by scope (call, agent, all)"
    );
    describe_gauge!(
        "switchboard_db_pool_connections",
        "database pool connections, by state (in_use, idle)"
    );
    describe_gauge!(
        "switchboard_db_pool_max_connections",
        "database pool size limit (database.max_connections)"
    );
    describe_gauge!(
        "switchboard_db_writes_waiting",
        "writes queued for the group committer (waiting for a database connection and a commit)"
    );
    describe_counter!(
        "switchboard_stream_lagged_total",
        "times a stream's client fell behind its buffer and the stream caught up from the log"
    );
    describe_gauge!(
        "switchboard_availability_watchers",
        "WatchAgentAvailability streams open"
    );
    describe_gauge!(
        "switchboard_availability_pollers",
        "iAdvize availability pollers running (one per watched agent set)"
    );
    describe_counter!(
        "switchboard_availability_watch_lagged_total",
        "availability updates a slow WatchAgentAvailability client missed (it gets the latest state)"
    );
    describe_counter!(
        "switchboard_availability_polls_total",
        "iAdvize availability polls, by outcome"
    );
    describe_counter!(
        "switchboard_listen_reconnects_total",
        "PostgreSQL LISTEN connections lost and re-established"
    );
    describe_counter!(
        "switchboard_log_batch_retries_total",
        "group commits rerun after one of their writes failed"
    );
    describe_counter!(
        "switchboard_vendor_id_reused_total",
        "vendor ids seen again for a new call (kept on their first call), by kind"
    );
    describe_gauge!(
        "switchboard_vendor_circuit_state",
        "vendor circuit breaker state, by vendor and target: 0 closed, 1 half-open, 2 open"
    );
    describe_counter!(
        "switchboard_tls_handshake_failures_total",
        "gRPC-port TLS handshakes refused (no client certificate, another CA, not TLS), timed out, or over the limit"
    );
    describe_counter!(
        "switchboard_tls_reloads_total",
        "gRPC TLS material reloads from disk, by outcome"
    );
}

/// Samples what is read rather than recorded (the database pool), just
/// before a scrape renders.
pub fn sample(store: &Store) {
    let pool = store.pool_status();
    metrics::gauge!("switchboard_db_pool_connections", "state" => "in_use")
        .set(f64::from(pool.size.saturating_sub(pool.idle)));
    metrics::gauge!("switchboard_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("switchboard_db_pool_max_connections").set(f64::from(pool.max));
    metrics::gauge!("switchboard_db_writes_waiting").set(pool.queued_writes as f64);
}
