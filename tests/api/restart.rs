//! Durability across a `kill -9`: the real binary is killed mid-stream and
//! restarted on the same database; a client resumes from its last sequence
//! and gets exactly what it missed, then live updates.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use switchboard::pb::v1::{self as proto, call_context_service_client::CallContextServiceClient};

use crate::helpers::{
    BearerToken, TEST_TOKEN, WEBHOOK_TOKEN, assert_no_update, closed_port,
    fake_optico::{WEBHOOK_CART, WEBHOOK_ORDER, WEBHOOK_VIEW},
    next_update,
};

struct Server {
    child: Child,
    grpc_port: u16,
    http_port: u16,
}

fn spawn_server(db_url: &str, grpc_port: u16, http_port: u16) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command.arg("serve");
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD")) {
        command.env_remove(name);
    }
    let child = command
        .env(
            "SWITCHBOARD__SERVER__GRPC_ADDR",
            format!("127.0.0.1:{grpc_port}"),
        )
        .env(
            "SWITCHBOARD__SERVER__HTTP_ADDR",
            format!("127.0.0.1:{http_port}"),
        )
        .env("SWITCHBOARD__DATABASE__URL", db_url)
        .env("SWITCHBOARD__AUTH__TOKENS", TEST_TOKEN)
        .env("SWITCHBOARD__WEBHOOKS__OPTICO_TOKEN", WEBHOOK_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("switchboard starts");
    Server {
        child,
        grpc_port,
        http_port,
    }
}

async fn wait_ready(server: &Server) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client
            .get(format!("http://127.0.0.1:{}/readyz", server.http_port))
            .send()
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false);
        if ready {
            return;
        }
        assert!(Instant::now() < deadline, "server not ready in 30s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post(server: &Server, payload: &str) {
    let response = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/webhooks/optico/{WEBHOOK_TOKEN}",
            server.http_port
        ))
        .form(&[("realtimeData", payload)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn stream(
    server: &Server,
    after_sequence: i64,
) -> tonic::Streaming<proto::StreamCallUpdatesResponse> {
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{}", server.grpc_port))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let token = BearerToken(Some(format!("Bearer {TEST_TOKEN}").parse().unwrap()));
    let mut client = CallContextServiceClient::new(
        tonic::service::interceptor::InterceptedService::new(channel, token),
    );
    client
        .stream_call_updates(proto::StreamCallUpdatesRequest {
            after_sequence,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn streams_resume_with_no_gap_and_no_duplicate_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("switchboard.db").display()
    );
    let (grpc_port, http_port) = (closed_port(), closed_port());
    const WAIT: Duration = Duration::from_secs(10);

    let mut server = spawn_server(&db_url, grpc_port, http_port);
    wait_ready(&server).await;
    let mut live = stream(&server, 0).await;
    post(&server, WEBHOOK_VIEW).await;
    let first = next_update(&mut live, WAIT).await;
    // Acknowledged (200) means committed: these survive the kill even though
    // the client never saw them.
    post(&server, WEBHOOK_CART).await;
    post(&server, WEBHOOK_ORDER).await;
    server.child.kill().expect("SIGKILL");
    server.child.wait().unwrap();

    let mut server = spawn_server(&db_url, grpc_port, http_port);
    wait_ready(&server).await;
    let mut resumed = stream(&server, first.sequence).await;
    let cart = next_update(&mut resumed, WAIT).await;
    let order = next_update(&mut resumed, WAIT).await;
    assert!(matches!(
        cart.update,
        Some(proto::stream_call_updates_response::Update::Cart(_))
    ));
    assert!(matches!(
        order.update,
        Some(proto::stream_call_updates_response::Update::Order(_))
    ));
    assert!(first.sequence < cart.sequence && cart.sequence < order.sequence);
    assert_eq!(cart.call_id, first.call_id);
    // Then live, after the restart.
    let next_view = WEBHOOK_VIEW.replace("568536624", "568536999");
    post(&server, &next_view).await;
    let live_again = next_update(&mut resumed, WAIT).await;
    assert!(live_again.sequence > order.sequence);
    // The re-delivery of a pre-crash webhook is still recognised.
    post(&server, WEBHOOK_ORDER).await;
    assert_no_update(&mut resumed, Duration::from_millis(500)).await;

    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
