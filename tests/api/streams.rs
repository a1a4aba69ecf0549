//! StreamCallUpdates: replay, live tail, resume, scopes, duplicates, slow
//! subscribers, heartbeats, shutdown.

use std::time::Duration;

use switchboard::pb::v1::{self as proto, stream_call_updates_response::Update};
use tonic::Code;

use crate::helpers::{
    AppOptions, TestApp, assert_no_update,
    fake_optico::{FakeOptico, WEBHOOK_CART, WEBHOOK_ORDER, WEBHOOK_VIEW},
    id_ref, next_update, optico_ref, violated_fields,
};

const WAIT: Duration = Duration::from_secs(5);

fn all_from(after_sequence: i64) -> proto::StreamCallUpdatesRequest {
    proto::StreamCallUpdatesRequest {
        call: None,
        agent: String::new(),
        after_sequence,
    }
}

async fn post_doc_webhooks(app: &TestApp) {
    // The documented payloads, as the documented form field and as JSON.
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);
    assert_eq!(app.post_optico_json(WEBHOOK_CART).await.status(), 200);
    assert_eq!(app.post_optico_form(WEBHOOK_ORDER).await.status(), 200);
}

fn assert_doc_updates(updates: &[proto::StreamCallUpdatesResponse]) {
    assert_eq!(updates.len(), 3);
    match &updates[0].update {
        Some(Update::View(view)) => {
            assert_eq!(view.id, 568536624);
            assert_eq!(view.url, "http://www.test.com/test.html");
            // 2018-01-02 09:25:41 in Paris.
            assert_eq!(view.create_time.as_ref().unwrap().seconds, 1514881541);
            assert_eq!(updates[0].occurred_at.as_ref().unwrap().seconds, 1514881541);
        }
        other => panic!("expected a view, got {other:?}"),
    }
    match &updates[1].update {
        Some(Update::Cart(cart)) => {
            assert_eq!(cart.total_cost, 1000.0);
            assert_eq!(cart.products.len(), 2);
            assert_eq!(cart.products[0].external_id, "SKU-001");
        }
        other => panic!("expected a cart, got {other:?}"),
    }
    match &updates[2].update {
        Some(Update::Order(order)) => {
            assert_eq!(order.id, 18676);
            assert_eq!(order.external_id, "ORD-2018-001");
            assert_eq!(order.cart_id, 80359);
            assert_eq!(order.status, "Completed");
            assert!(order.is_sale);
            assert_eq!(order.agent, "agent1@optico.fr");
            assert_eq!(order.products.len(), 1);
        }
        other => panic!("expected an order, got {other:?}"),
    }
    let call_id = &updates[0].call_id;
    assert!(updates.iter().all(|u| &u.call_id == call_id));
    assert!(updates.windows(2).all(|w| w[0].sequence < w[1].sequence));
}

#[tokio::test]
async fn delivers_the_documented_webhooks_live_and_resumes_exactly_after_a_sequence() {
    let app = TestApp::spawn().await;
    let mut live = app.stream(all_from(0)).await;
    post_doc_webhooks(&app).await;
    let mut updates = Vec::new();
    for _ in 0..3 {
        updates.push(next_update(&mut live, WAIT).await);
    }
    assert_doc_updates(&updates);

    // The webhook created the call: GetCall finds it by its Optico id.
    let call = app
        .calls()
        .await
        .get_call(proto::GetCallRequest {
            call: Some(optico_ref("22122563")),
        })
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(call.id, updates[0].call_id);

    // Resume after the first: exactly the second and third, then nothing.
    let mut resumed = app.stream(all_from(updates[0].sequence)).await;
    assert_eq!(next_update(&mut resumed, WAIT).await, updates[1]);
    assert_eq!(next_update(&mut resumed, WAIT).await, updates[2]);
    assert_no_update(&mut resumed, Duration::from_millis(300)).await;

    // Replay from 0 of one call by its Optico id gives the same three.
    let mut by_call = app
        .stream(proto::StreamCallUpdatesRequest {
            call: Some(optico_ref("22122563")),
            ..all_from(0)
        })
        .await;
    for expected in &updates {
        assert_eq!(&next_update(&mut by_call, WAIT).await, expected);
    }
}

#[tokio::test]
async fn a_webhook_delivered_twice_is_stored_and_emitted_once() {
    let app = TestApp::spawn().await;
    let mut live = app.stream(all_from(0)).await;
    let first = app.post_optico_form(WEBHOOK_VIEW).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.text().await.unwrap(), "stored");
    // Same payload, other encoding and key order: still the same delivery.
    let reordered: serde_json::Value = serde_json::from_str(WEBHOOK_VIEW).unwrap();
    let second = app.post_optico_json(&reordered.to_string()).await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.text().await.unwrap(), "duplicate");
    let update = next_update(&mut live, WAIT).await;
    assert!(matches!(update.update, Some(Update::View(_))));
    assert_no_update(&mut live, Duration::from_millis(500)).await;
    let mut replay = app.stream(all_from(0)).await;
    next_update(&mut replay, WAIT).await;
    assert_no_update(&mut replay, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn streams_by_call_and_by_agent_see_only_their_updates() {
    let optico = FakeOptico::start().await;
    let app = TestApp::spawn_with(AppOptions::default().optico(&optico.url)).await;
    // Call A: Optico 22122563, started with StartCall, then assigned.
    let call_a = app
        .calls()
        .await
        .start_call(proto::StartCallRequest {
            caller_phone: String::new(),
            destination_phone: "0033123456789".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            agent: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    let mut agent_stream = app
        .stream(proto::StreamCallUpdatesRequest {
            agent: "agent1@optico.fr".into(),
            ..all_from(0)
        })
        .await;
    app.calls()
        .await
        .assign_agent(proto::AssignAgentRequest {
            call: Some(id_ref(&call_a.id)),
            agent: "agent1@optico.fr".into(),
        })
        .await
        .unwrap();
    let assigned = next_update(&mut agent_stream, WAIT).await;
    match assigned.update {
        Some(Update::AgentAssigned(a)) => {
            assert_eq!(a.agent, "agent1@optico.fr");
            assert_eq!(a.previous_agent, "");
        }
        other => panic!("expected agent_assigned, got {other:?}"),
    }
    // A webhook for call A now reaches the agent's stream; one for call B
    // (another Optico id, no agent) does not.
    let call_b_view = WEBHOOK_VIEW.replace("22122563", "777");
    assert_eq!(app.post_optico_form(&call_b_view).await.status(), 200);
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);
    let view = next_update(&mut agent_stream, WAIT).await;
    assert_eq!(view.call_id, call_a.id);
    assert!(matches!(view.update, Some(Update::View(_))));

    let mut call_b = app
        .stream(proto::StreamCallUpdatesRequest {
            call: Some(optico_ref("777")),
            ..all_from(0)
        })
        .await;
    let only = next_update(&mut call_b, WAIT).await;
    assert_ne!(only.call_id, call_a.id);
    assert_no_update(&mut call_b, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn stream_requests_are_validated() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            proto::StreamCallUpdatesRequest {
                call: Some(optico_ref("1")),
                agent: "a@b.fr".into(),
                after_sequence: 0,
            },
            Code::InvalidArgument,
            Some("agent"),
        ),
        (all_from(-1), Code::InvalidArgument, Some("after_sequence")),
        (
            proto::StreamCallUpdatesRequest {
                call: Some(optico_ref("x1")),
                ..all_from(0)
            },
            Code::InvalidArgument,
            Some("call.optico_call_id"),
        ),
        (
            proto::StreamCallUpdatesRequest {
                call: Some(optico_ref("424242")),
                ..all_from(0)
            },
            Code::NotFound,
            None,
        ),
    ];
    for (request, code, field) in cases {
        let status = app
            .calls()
            .await
            .stream_call_updates(request.clone())
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{request:?}");
        if let Some(field) = field {
            assert_eq!(violated_fields(&status), [field]);
        }
    }
}

#[tokio::test]
async fn a_slow_subscriber_catches_up_from_the_log_without_holding_up_others() {
    // A broadcast buffer of 4 updates: a subscriber that does not read falls
    // behind at once and must catch up from the database.
    let app =
        TestApp::spawn_with(AppOptions::default().env("SWITCHBOARD__STREAMS__BUFFER", 4)).await;
    let mut slow = app.stream(all_from(0)).await;
    let mut fast = app.stream(all_from(0)).await;
    const N: usize = 200;
    let mut fast_seen = Vec::new();
    for i in 0..N {
        let payload = WEBHOOK_VIEW.replace("568536624", &(1_000 + i).to_string());
        assert_eq!(app.post_optico_form(&payload).await.status(), 200);
        // The fast one keeps up while the slow one reads nothing.
        fast_seen.push(next_update(&mut fast, WAIT).await.sequence);
    }
    let mut slow_seen = Vec::new();
    while slow_seen.len() < N {
        slow_seen.push(next_update(&mut slow, WAIT).await.sequence);
    }
    assert_eq!(
        fast_seen, slow_seen,
        "same updates, same order, no gap, no duplicate"
    );
    assert!(fast_seen.windows(2).all(|w| w[0] < w[1]));
    assert_no_update(&mut slow, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn idle_streams_get_heartbeats() {
    let app = TestApp::spawn_with(
        AppOptions::default().env("SWITCHBOARD__STREAMS__HEARTBEAT_INTERVAL_MS", 200),
    )
    .await;
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);
    let mut stream = app.stream(all_from(0)).await;
    let first = next_update(&mut stream, WAIT).await;
    let heartbeat = tokio::time::timeout(WAIT, stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        matches!(heartbeat.update, Some(Update::Heartbeat(_))),
        "{heartbeat:?}"
    );
    assert_eq!(
        heartbeat.sequence, first.sequence,
        "a heartbeat carries the last delivered sequence"
    );
    assert!(heartbeat.call_id.is_empty());
}

#[tokio::test]
async fn shutdown_ends_open_streams_with_a_resumable_status_and_drains() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);
    let mut stream = app.stream(all_from(0)).await;
    let first = next_update(&mut stream, WAIT).await;
    let started = std::time::Instant::now();
    let handle = app.shutdown_handle();
    handle.shutdown();
    let status = loop {
        match tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("stream ends in time")
        {
            Ok(Some(_heartbeat)) => continue,
            Ok(None) => panic!("stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status
            .message()
            .contains(&format!("after_sequence={}", first.sequence)),
        "{}",
        status.message()
    );
    app.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "drained well within the drain timeout"
    );
}

#[tokio::test]
async fn streams_work_on_postgres_too() {
    let url = crate::helpers::postgres::fresh_database().await;
    let app = TestApp::spawn_with(AppOptions::default().db(crate::helpers::Db::Url(url))).await;
    let mut live = app.stream(all_from(0)).await;
    post_doc_webhooks(&app).await;
    let mut updates = Vec::new();
    for _ in 0..3 {
        updates.push(next_update(&mut live, WAIT).await);
    }
    assert_doc_updates(&updates);
    let mut resumed = app.stream(all_from(updates[1].sequence)).await;
    assert_eq!(next_update(&mut resumed, WAIT).await, updates[2]);
    assert_no_update(&mut resumed, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn streams_end_resumably_after_their_maximum_lifetime() {
    let app = TestApp::spawn_with(
        AppOptions::default().env("SWITCHBOARD__STREAMS__MAX_LIFETIME_MS", 700),
    )
    .await;
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);
    let mut stream = app.stream(all_from(0)).await;
    let first = next_update(&mut stream, WAIT).await;
    let status = loop {
        match tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("stream ends in time")
        {
            Ok(Some(_heartbeat)) => continue,
            Ok(None) => panic!("stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("maximum lifetime"),
        "{}",
        status.message()
    );
    assert!(
        status
            .message()
            .contains(&format!("after_sequence={}", first.sequence))
    );
    // Reconnecting with that sequence resumes with what came next.
    assert_eq!(app.post_optico_json(WEBHOOK_CART).await.status(), 200);
    let mut resumed = app.stream(all_from(first.sequence)).await;
    assert!(matches!(
        next_update(&mut resumed, WAIT).await.update,
        Some(Update::Cart(_))
    ));
}
