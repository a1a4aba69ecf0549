//! Overload and abusive clients: requests beyond `server.max_concurrent_requests`
//! wait a bounded time then get RESOURCE_EXHAUSTED; open streams bounded per
//! connection and in total; the HTTP port closes slow headers, slow bodies,
//! idle keep-alive connections and connections over its limits, and caps
//! webhook payloads; health answers within its probe timeout throughout.
//! Every load is bounded in count and time, on 127.0.0.1.

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use switchboard::pb::v1::{
    self as proto, agents_service_client::AgentsServiceClient,
    stats_service_client::StatsServiceClient,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt;

use crate::helpers::{
    AppOptions, FOCALSCOPE_TOKEN, TEST_TOKEN, TestApp, WEBHOOK_TOKEN,
    fake_optico::{Behaviour, FakeOptico, WEBHOOK_VIEW},
    optico_ref, reason,
};

/// The chart's probe timeout (`timeoutSeconds: 3`): health must answer
/// within it however loaded the server is.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest any step here may wait for something that must happen.
const BOUND: Duration = Duration::from_secs(15);

fn start_request() -> proto::StartCallRequest {
    proto::StartCallRequest {
        caller_phone: "0033612345678".into(),
        destination_phone: "0033123456789".into(),
        start_time: Some(prost_types::Timestamp {
            seconds: 1_514_881_200,
            nanos: 0,
        }),
        agent: "agent1@optico.fr".into(),
    }
}

/// `/healthz` and `/readyz` answer 200, each within the probe timeout.
async fn assert_probes_green(app: &TestApp) {
    for path in ["/healthz", "/readyz"] {
        let response = tokio::time::timeout(PROBE_TIMEOUT, app.http.get(app.http_url(path)).send())
            .await
            .unwrap_or_else(|_| panic!("{path} answers within the probe timeout"))
            .expect("probe request");
        assert_eq!(response.status(), 200, "{path}");
    }
}

async fn assert_grpc_health_serving(app: &TestApp) {
    let mut health = HealthClient::new(app.channel().await);
    let response = tokio::time::timeout(PROBE_TIMEOUT, health.check(HealthCheckRequest::default()))
        .await
        .expect("health answers within the probe timeout")
        .expect("health check");
    assert_eq!(
        response.into_inner().status(),
        ServingStatus::Serving,
        "grpc health"
    );
}

fn retry_delay(status: &tonic::Status) -> Option<Duration> {
    status
        .get_error_details()
        .retry_info()
        .and_then(|info| info.retry_delay)
}

fn error_key(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .and_then(|info| info.metadata.get("key").cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn requests_beyond_the_limit_wait_a_bounded_time_then_get_resource_exhausted() {
    let optico = FakeOptico::start().await;
    // Two StartCalls hold both places while the vendor takes 3 s.
    optico.behave(Behaviour::Slow(Duration::from_secs(3)));
    let app = TestApp::spawn_with(
        AppOptions::default()
            .optico(&optico.url)
            .env("SWITCHBOARD__VENDORS__OPTICO__TIMEOUT_MS", 10_000)
            .env("SWITCHBOARD__SERVER__MAX_CONCURRENT_REQUESTS", 2)
            .env("SWITCHBOARD__SERVER__MAX_QUEUE_WAIT_MS", 300),
    )
    .await;
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut calls = app.calls().await;
        busy.push(tokio::spawn(async move {
            calls.start_call(start_request()).await
        }));
    }
    let deadline = tokio::time::Instant::now() + BOUND;
    while optico.received().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "both calls reach the vendor"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A third waits (at most server.max_queue_wait_ms) and is refused while
    // the first two are still running: no unbounded queue.
    let started = tokio::time::Instant::now();
    let status = app
        .calls()
        .await
        .get_call(proto::GetCallRequest {
            call: Some(optico_ref("1")),
        })
        .await
        .expect_err("no place");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "it waited first"
    );
    assert!(
        busy.iter().all(|task| !task.is_finished()),
        "refused before a place freed up"
    );
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(reason(&status), "OVERLOADED");
    assert_eq!(error_key(&status), "server.max_concurrent_requests");
    assert!(status.message().contains("server.max_concurrent_requests"));
    assert!(retry_delay(&status).is_some(), "RetryInfo");

    // Health is exempt, on both ports.
    assert_grpc_health_serving(&app).await;
    assert_probes_green(&app).await;

    for task in busy {
        let answer = tokio::time::timeout(BOUND, task)
            .await
            .expect("the slow calls finish")
            .expect("task");
        assert!(answer.is_ok(), "{answer:?}");
    }
    // Places are given back.
    let status = app
        .calls()
        .await
        .get_call(proto::GetCallRequest {
            call: Some(optico_ref("1")),
        })
        .await
        .expect_err("unknown call");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

async fn open_stream(
    channel: &crate::helpers::AuthedChannel,
) -> Result<tonic::Streaming<proto::StreamCallUpdatesResponse>, tonic::Status> {
    proto::call_context_service_client::CallContextServiceClient::new(channel.clone())
        .stream_call_updates(proto::StreamCallUpdatesRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn open_streams_are_bounded_per_connection_and_in_total() {
    let app = TestApp::spawn_with(
        AppOptions::default()
            .env("SWITCHBOARD__STREAMS__MAX_OPEN", 3)
            .env("SWITCHBOARD__STREAMS__MAX_OPEN_PER_CONNECTION", 2),
    )
    .await;
    // One channel is one HTTP/2 connection.
    let first = app.channel_with_token(Some(TEST_TOKEN)).await;
    let second = app.channel_with_token(Some(TEST_TOKEN)).await;
    let a1 = open_stream(&first).await.expect("first stream");
    let _a2 = open_stream(&first).await.expect("second stream");
    let status = open_stream(&first)
        .await
        .expect_err("third on one connection");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(reason(&status), "TOO_MANY_STREAMS");
    assert_eq!(error_key(&status), "streams.max_open_per_connection");
    assert!(retry_delay(&status).is_some());

    // Another connection has room until the total is reached.
    let _b1 = open_stream(&second)
        .await
        .expect("a stream on another connection");
    let status = open_stream(&second).await.expect_err("over the total");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(error_key(&status), "streams.max_open");
    assert!(
        status.message().contains("streams.max_open"),
        "{}",
        status.message()
    );

    // The other streaming RPCs count too: refused before their handler
    // (which, unconfigured, would answer FAILED_PRECONDITION).
    let status = StatsServiceClient::new(second.clone())
        .export_calls(proto::ExportCallsRequest::default())
        .await
        .expect_err("ExportCalls is a stream");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let status = AgentsServiceClient::new(second.clone())
        .watch_agent_availability(proto::WatchAgentAvailabilityRequest::default())
        .await
        .expect_err("WatchAgentAvailability is a stream");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // A connection full of streams still carries unary calls and health.
    let status = proto::call_context_service_client::CallContextServiceClient::new(first.clone())
        .get_call(proto::GetCallRequest {
            call: Some(optico_ref("1")),
        })
        .await
        .expect_err("unknown call");
    assert_eq!(status.code(), Code::NotFound);
    assert_grpc_health_serving(&app).await;

    // A stream that ends gives its place back (the client's cancel reaches
    // the server asynchronously: retried, bounded).
    drop(a1);
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        match open_stream(&first).await {
            Ok(_stream) => break,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the place comes back"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A connection to the app's HTTP port from `source` (another loopback
/// address stands for another client).
async fn connect_from(app: &TestApp, source: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind a loopback source address");
    socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, app.http_port)))
        .await
        .expect("connect")
}

/// Reads until the server closes the connection (or `BOUND` passes);
/// returns what it sent and how long that took.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = tokio::time::Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(started + BOUND, stream.read(&mut buffer)).await {
            Err(_) => panic!(
                "the server kept the connection open for {BOUND:?}; it sent {:?}",
                String::from_utf8_lossy(&received)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

const PARTIAL_HEADER: &[u8] = b"POST /webhooks/optico/x HTTP/1.1\r\nHost: a\r\nX-Slow: ";

/// A client that opens a new connection for every request (no idle
/// connection in a pool for the server's keep-alive limit to close under it).
fn one_connection_per_request() -> reqwest::Client {
    switchboard::vendors::install_crypto_provider();
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

#[tokio::test]
async fn slow_headers_slow_bodies_and_idle_connections_are_closed_while_health_stays_green() {
    let app = TestApp::spawn_with(
        AppOptions::default()
            .env("SWITCHBOARD__SERVER__HTTP__HEADER_TIMEOUT_MS", 1000)
            .env("SWITCHBOARD__SERVER__HTTP__BODY_TIMEOUT_MS", 1000)
            .env("SWITCHBOARD__SERVER__HTTP__MAX_CONNECTIONS_PER_CLIENT", 16),
    )
    .await;
    let slow_client = Ipv4Addr::new(127, 0, 0, 2);

    // A slowloris client holds all its places with partial headers...
    let mut slow = Vec::new();
    for _ in 0..16 {
        let mut stream = connect_from(&app, slow_client).await;
        stream.write_all(PARTIAL_HEADER).await.expect("write");
        slow.push(stream);
    }
    // ...one more is closed on arrival, without an answer.
    let mut one_more = connect_from(&app, slow_client).await;
    let _ = one_more
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    let (answer, _) = read_until_closed(&mut one_more).await;
    assert!(answer.is_empty(), "{answer}");

    // Meanwhile other clients are served, under a bounded flood of webhooks
    // (64, six at a time).
    let http = one_connection_per_request();
    let url = app.http_url(&format!("/webhooks/optico/{WEBHOOK_TOKEN}"));
    let at_once = std::sync::Arc::new(tokio::sync::Semaphore::new(6));
    let flood: Vec<_> = (0..64)
        .map(|i| {
            let (http, url, at_once) = (http.clone(), url.clone(), at_once.clone());
            let payload = WEBHOOK_VIEW.replace("568536624", &(900_000 + i).to_string());
            tokio::spawn(async move {
                let _turn = at_once.acquire_owned().await;
                http.post(url)
                    .form(&[("realtimeData", payload)])
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    assert_probes_green(&app).await;
    for task in flood {
        let status = tokio::time::timeout(BOUND, task)
            .await
            .expect("webhooks answered")
            .expect("task")
            .expect("webhook request");
        assert_eq!(status, 200);
    }
    assert_probes_green(&app).await;

    // The partial headers are cut at server.http.header_timeout_ms (well
    // before BOUND).
    for stream in &mut slow {
        read_until_closed(stream).await;
    }
    // So the client has its places back (the server frees a place just
    // after closing: retried, bounded).
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let mut again = connect_from(&app, slow_client).await;
        let _ = again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .await;
        let (answer, _) = read_until_closed(&mut again).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A connection that sends nothing at all is closed too.
    let mut silent = connect_from(&app, Ipv4Addr::LOCALHOST).await;
    let (answer, _) = read_until_closed(&mut silent).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A body that never finishes gets 408 once server.http.body_timeout_ms
    // passed, and the connection is closed.
    let mut partial_body = connect_from(&app, Ipv4Addr::LOCALHOST).await;
    partial_body
        .write_all(
            format!(
                "POST /webhooks/optico/{WEBHOOK_TOKEN} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"callId\":"
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let (answer, _) = read_until_closed(&mut partial_body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("server.http.body_timeout_ms"), "{answer}");

    // An idle keep-alive connection is closed after the header timeout.
    let mut idle = connect_from(&app, Ipv4Addr::LOCALHOST).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .expect("write");
    let (answer, _) = read_until_closed(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_probes_green(&app).await;
}

#[tokio::test]
async fn connections_beyond_the_total_are_closed_on_arrival() {
    // A header timeout longer than BOUND: a connection closed within BOUND
    // was closed by the connection limit, not by the timeout.
    let app = TestApp::spawn_with(
        AppOptions::default()
            .env("SWITCHBOARD__SERVER__HTTP__HEADER_TIMEOUT_MS", 60_000)
            .env("SWITCHBOARD__SERVER__HTTP__MAX_CONNECTIONS", 4)
            .env("SWITCHBOARD__SERVER__HTTP__MAX_CONNECTIONS_PER_CLIENT", 0),
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = connect_from(&app, Ipv4Addr::LOCALHOST).await;
        stream.write_all(PARTIAL_HEADER).await.expect("write");
        held.push(stream);
    }
    // Accepted in order: once the fourth has been answered to (here: its
    // partial header read), the four hold every place. Giving the accept
    // loop a moment is enough; the assertion below does not depend on it
    // being short.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = connect_from(&app, Ipv4Addr::LOCALHOST).await;
    let _ = fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    let (answer, _) = read_until_closed(&mut fifth).await;
    assert!(answer.is_empty(), "{answer}");
    // Once the held ones go away, the port serves again.
    drop(held);
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let response = one_connection_per_request()
            .get(app.http_url("/healthz"))
            .send()
            .await;
        if response.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "places come back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn webhook_payloads_are_capped_in_fields_and_nesting() {
    let app = TestApp::spawn().await;
    // The documented payloads are well within the caps.
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);

    let url = app.http_url(&format!("/webhooks/optico/{WEBHOOK_TOKEN}"));
    let mut fields: Vec<(String, String)> =
        (0..40).map(|i| (format!("f{i}"), "x".into())).collect();
    fields.push(("realtimeData".into(), WEBHOOK_VIEW.into()));
    let response = app
        .http
        .post(&url)
        .form(&fields)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("webhooks.max_fields")
    );

    let deep = format!(
        r#"{{"callId": 22122563, "type": "view", "view": {}1{}}}"#,
        "[".repeat(20),
        "]".repeat(20)
    );
    let response = app.post_optico_json(&deep).await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("webhooks.max_json_depth")
    );

    let wide = format!(
        r#"{{"callId": 22122563, "type": "view", "view": [{}]}}"#,
        vec!["0"; 10_001].join(",")
    );
    let response = app.post_optico_json(&wide).await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("webhooks.max_json_values")
    );

    let query: Vec<String> = (0..40).map(|i| format!("P{i}=1")).collect();
    let response = app
        .http
        .get(format!(
            "{}?CallType=API&{}",
            app.http_url(&format!("/webhooks/focalscope/{FOCALSCOPE_TOKEN}")),
            query.join("&")
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("webhooks.max_fields")
    );
}
