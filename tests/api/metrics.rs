//! `/metrics` after some traffic: RPCs, webhooks, vendor requests, commits
//! and stream delivery are Prometheus histograms (`_bucket` lines, no
//! summaries), gauges for open streams and the database pool.

use std::time::Duration;

use switchboard::pb::v1 as proto;
use tonic::Code;

use crate::helpers::{
    AppOptions, TestApp,
    fake_optico::{FakeOptico, WEBHOOK_VIEW},
    next_update, optico_ref,
};

/// The lines of `metrics` for `name` (exactly that family member) whose
/// labels contain every one of `labels`.
fn lines<'a>(metrics: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    metrics
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
                && labels.iter().all(|label| line.contains(label))
        })
        .collect()
}

fn assert_histogram(metrics: &str, name: &str, labels: &[&str]) {
    let buckets = lines(metrics, &format!("{name}_bucket"), labels);
    assert!(
        buckets.len() > 1 && buckets.iter().any(|l| l.contains("le=\"+Inf\"")),
        "{name} with {labels:?} is not a histogram:\n{}",
        lines(metrics, name, &[]).join("\n")
    );
    assert!(
        !lines(metrics, &format!("{name}_count"), labels).is_empty(),
        "{name}_count"
    );
    assert!(
        lines(metrics, name, &["quantile="]).is_empty(),
        "{name} is rendered as a summary"
    );
}

#[tokio::test]
async fn metrics_show_histograms_for_rpcs_webhooks_vendors_commits_and_stream_lag() {
    let optico = FakeOptico::start().await;
    let app = TestApp::spawn_with(AppOptions::default().optico(&optico.url)).await;
    let mut calls = app.calls().await;

    // An RPC calling the vendor, one refused, a stream fed by a webhook.
    let started = calls
        .start_call(proto::StartCallRequest {
            caller_phone: "0033612345678".into(),
            destination_phone: "0033123456789".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: 1_514_881_200,
                nanos: 0,
            }),
            agent: "agent1@optico.fr".into(),
        })
        .await
        .expect("StartCall");
    drop(started);
    let status = calls
        .get_call(proto::GetCallRequest {
            call: Some(optico_ref("999999")),
        })
        .await
        .expect_err("unknown call");
    assert_eq!(status.code(), Code::NotFound);
    let mut stream = app
        .stream(proto::StreamCallUpdatesRequest {
            call: Some(optico_ref("22122563")),
            ..Default::default()
        })
        .await;
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);
    next_update(&mut stream, Duration::from_secs(10)).await;
    // A refused webhook, for the outcome label.
    let refused = app
        .http
        .post(app.http_url("/webhooks/optico/not-the-token-0123456789"))
        .form(&[("realtimeData", WEBHOOK_VIEW)])
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 401);

    let metrics = app
        .http
        .get(app.http_url("/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");

    // gRPC, go-grpc-prometheus names and labels.
    let get_call = [
        "grpc_service=\"switchboard.v1.CallContextService\"",
        "grpc_method=\"GetCall\"",
        "grpc_type=\"unary\"",
        "grpc_code=\"NotFound\"",
    ];
    assert_histogram(&metrics, "grpc_server_handling_seconds", &get_call);
    assert!(!lines(&metrics, "grpc_server_handled_total", &get_call).is_empty());
    assert_histogram(
        &metrics,
        "grpc_server_handling_seconds",
        &["grpc_method=\"StartCall\"", "grpc_code=\"OK\""],
    );
    assert!(
        !lines(
            &metrics,
            "grpc_server_started_total",
            &[
                "grpc_method=\"StreamCallUpdates\"",
                "grpc_type=\"server_stream\""
            ]
        )
        .is_empty()
    );
    // Webhooks, by vendor and outcome.
    assert_histogram(
        &metrics,
        "switchboard_webhook_seconds",
        &[
            "vendor=\"optico\"",
            "outcome=\"accepted\"",
            "status=\"200\"",
        ],
    );
    assert_histogram(
        &metrics,
        "switchboard_webhook_seconds",
        &["vendor=\"optico\"", "outcome=\"unauthorized\""],
    );
    // The vendor request of StartCall.
    assert_histogram(
        &metrics,
        "switchboard_vendor_request_seconds",
        &["vendor=\"optico\""],
    );
    // The event log's group commits, and the stream's delivery lag.
    assert_histogram(&metrics, "switchboard_log_commit_seconds", &[]);
    assert_histogram(&metrics, "switchboard_log_batch_writes", &[]);
    assert_histogram(&metrics, "switchboard_log_batch_events", &[]);
    assert_histogram(&metrics, "switchboard_stream_delivery_seconds", &[]);
    // Gauges: open streams by scope, the database pool.
    assert!(
        !lines(&metrics, "switchboard_streams_open", &["scope=\"call\""]).is_empty(),
        "{metrics}"
    );
    for state in ["in_use", "idle"] {
        assert!(
            !lines(
                &metrics,
                "switchboard_db_pool_connections",
                &[&format!("state=\"{state}\"")]
            )
            .is_empty(),
            "pool {state}"
        );
    }
    assert!(!lines(&metrics, "switchboard_db_pool_max_connections", &[]).is_empty());
    assert!(!lines(&metrics, "switchboard_db_writes_waiting", &[]).is_empty());
    // Every histogram is one: no summary anywhere.
    assert!(
        !metrics.contains("quantile=\""),
        "a summary is rendered:\n{}",
        metrics
            .lines()
            .filter(|l| l.contains("quantile="))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Self-describing.
    assert!(metrics.contains("# HELP grpc_server_handling_seconds"));
}
