//! Durability across a `kill -9`: the real binary is killed mid-stream and
//! restarted on the same database; a client resumes from its last sequence
//! and gets exactly what it missed, then live updates.

use std::time::Duration;

use switchboard::pb::v1 as proto;

use crate::helpers::{
    WEBHOOK_TOKEN, assert_no_update, closed_port,
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

/// A `kill -9` while batches of concurrent webhooks are being committed:
/// after the restart every acknowledged webhook is in the log, none is
/// half-written (each created a call, its reference and its event, or
/// nothing), and delivering them all again stores only the missing ones.
#[tokio::test]
async fn a_kill_9_during_group_commits_loses_no_acknowledged_write_and_half_writes_none() {
    use std::{
        collections::BTreeSet,
        sync::{Arc, Mutex},
    };
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("switchboard.db").display()
    );
    let env = [("SWITCHBOARD__DATABASE__URL", db_url)];
    let (grpc_port, http_port) = (closed_port(), closed_port());
    let url = format!("http://127.0.0.1:{http_port}/webhooks/optico/{WEBHOOK_TOKEN}");
    // Each webhook is the first view of its own call.
    let payload = |n: u64| {
        WEBHOOK_VIEW
            .replace("22122563", &(40_000_000 + n).to_string())
            .replace("568536624", &(70_000_000 + n).to_string())
    };
    const SENDERS: u64 = 32;
    const PER_SENDER: u64 = 100;

    let mut server = Server::spawn_on(grpc_port, http_port, &env);
    server.wait_ready().await;
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut senders = Vec::new();
    for sender in 0..SENDERS {
        let (acknowledged, url) = (acknowledged.clone(), url.clone());
        senders.push(tokio::spawn(async move {
            let client = crate::helpers::http_client();
            for i in 0..PER_SENDER {
                let n = sender * PER_SENDER + i;
                match client
                    .post(&url)
                    .form(&[("realtimeData", payload(n))])
                    .send()
                    .await
                {
                    Ok(response) if response.status() == 200 => {
                        acknowledged.lock().unwrap().insert(70_000_000 + n as i64);
                    }
                    // The server is gone: nothing more to send.
                    _ => return,
                }
            }
        }));
    }
    // Kill it once a few hundred writes are acknowledged, in the middle of
    // the load (batches in flight).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 200 {
        assert!(std::time::Instant::now() < deadline, "the load started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    for sender in senders {
        sender.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        (acknowledged.len() as u64) < SENDERS * PER_SENDER,
        "killed mid-load"
    );

    let mut server = Server::spawn_on(grpc_port, http_port, &env);
    server.wait_ready().await;
    let stored = stored_views(&server).await;
    for view in &acknowledged {
        assert!(stored.contains_key(view), "acknowledged view {view} lost");
    }
    // Nothing half-written: every stored event's call has its reference.
    let mut calls = server.calls().await;
    for (view, call_id) in &stored {
        let optico_id = (view - 70_000_000 + 40_000_000).to_string();
        let call = calls
            .get_call(proto::GetCallRequest {
                call: Some(crate::helpers::optico_ref(&optico_id)),
            })
            .await
            .unwrap_or_else(|e| panic!("call of view {view} by its reference: {e}"))
            .into_inner()
            .call
            .unwrap();
        assert_eq!(&call.id, call_id);
    }
    let listed = calls
        .list_calls(proto::ListCallsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut call_count = listed.calls.len();
    let mut token = listed.next_page_token;
    while !token.is_empty() {
        let page = calls
            .list_calls(proto::ListCallsRequest {
                page_size: 500,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        call_count += page.calls.len();
        token = page.next_page_token;
    }
    // (Plus the call of the marker view `stored_views` appended.)
    assert_eq!(call_count, stored.len() + 1, "no call without its event");

    // The senders deliver everything again: each is stored exactly once.
    let mut senders = Vec::new();
    for sender in 0..SENDERS {
        let url = url.clone();
        senders.push(tokio::spawn(async move {
            let client = crate::helpers::http_client();
            for i in 0..PER_SENDER {
                let response = client
                    .post(&url)
                    .form(&[("realtimeData", payload(sender * PER_SENDER + i))])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            }
        }));
    }
    for sender in senders {
        sender.await.unwrap();
    }
    let after = stored_views(&server).await;
    assert_eq!(after.len() as u64, SENDERS * PER_SENDER, "each view once");
    server.kill();
}

/// Every stored view id with its call, read from the whole log by a stream
/// (up to a marker view appended now, which it leaves out).
async fn stored_views(server: &Server) -> std::collections::BTreeMap<i64, String> {
    use std::sync::atomic::{AtomicI64, Ordering};
    static MARKERS: AtomicI64 = AtomicI64::new(90_000_000);
    let marker = MARKERS.fetch_add(1, Ordering::Relaxed);
    server
        .post_optico(
            &WEBHOOK_VIEW
                .replace("22122563", "49999999")
                .replace("568536624", &marker.to_string()),
        )
        .await;
    let mut stream = server.stream(0).await;
    let mut views = std::collections::BTreeMap::new();
    loop {
        let update = next_update(&mut stream, Duration::from_secs(10)).await;
        if let Some(proto::stream_call_updates_response::Update::View(view)) = update.update {
            if view.id == marker {
                return views;
            }
            if (70_000_000..90_000_000).contains(&view.id) {
                assert!(
                    views.insert(view.id, update.call_id).is_none(),
                    "view {} stored twice",
                    view.id
                );
            }
        }
    }
}
