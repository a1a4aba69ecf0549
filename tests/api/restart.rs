//! Durability across a `kill -9`: the real binary is killed mid-stream and
//! restarted on the same database; a client resumes from its last sequence
//! and gets exactly what it missed, then live updates.

use std::time::Duration;

use switchboard::pb::v1 as proto;

use crate::helpers::{
    assert_no_update, closed_port,
    fake_optico::{WEBHOOK_CART, WEBHOOK_ORDER, WEBHOOK_VIEW},
    next_update,
    process::Server,
};

#[tokio::test]
async fn streams_resume_with_no_gap_and_no_duplicate_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("switchboard.db").display()
    );
    let env = [("SWITCHBOARD__DATABASE__URL", db_url)];
    let (grpc_port, http_port) = (closed_port(), closed_port());
    const WAIT: Duration = Duration::from_secs(10);

    let mut server = Server::spawn_on(grpc_port, http_port, &env);
    server.wait_ready().await;
    let mut live = server.stream(0).await;
    server.post_optico(WEBHOOK_VIEW).await;
    let first = next_update(&mut live, WAIT).await;
    // Acknowledged (200) means committed: these survive the kill even though
    // the client never saw them.
    server.post_optico(WEBHOOK_CART).await;
    server.post_optico(WEBHOOK_ORDER).await;
    server.kill();

    let mut server = Server::spawn_on(grpc_port, http_port, &env);
    server.wait_ready().await;
    let mut resumed = server.stream(first.sequence).await;
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
    server.post_optico(&next_view).await;
    let live_again = next_update(&mut resumed, WAIT).await;
    assert!(live_again.sequence > order.sequence);
    // The re-delivery of a pre-crash webhook is still recognised.
    server.post_optico(WEBHOOK_ORDER).await;
    assert_no_update(&mut resumed, Duration::from_millis(500)).await;
    server.kill();
}
