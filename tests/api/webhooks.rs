//! POST /webhooks/optico/{token}: every bad delivery on purpose.

use std::time::Duration;

use switchboard::pb::v1 as proto;

use crate::helpers::{
    AppOptions, TestApp, WEBHOOK_TOKEN, assert_no_update, fake_optico::WEBHOOK_VIEW,
};

async fn nothing_stored(app: &TestApp) {
    let mut stream = app.stream(proto::StreamCallUpdatesRequest::default()).await;
    assert_no_update(&mut stream, Duration::from_millis(300)).await;
    let calls = app
        .calls()
        .await
        .list_calls(proto::ListCallsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(calls.calls.is_empty(), "nothing stored: {calls:?}");
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_401_and_stores_nothing() {
    let app = TestApp::spawn().await;
    for token in ["wrong-token-0123456789", "webhook-token-012345678", "x"] {
        let response = app
            .http
            .post(app.http_url(&format!("/webhooks/optico/{token}")))
            .form(&[("realtimeData", WEBHOOK_VIEW)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{token}");
    }
    let response = app
        .http
        .post(app.http_url("/webhooks/optico/"))
        .form(&[("realtimeData", WEBHOOK_VIEW)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    nothing_stored(&app).await;
}

#[tokio::test]
async fn webhooks_are_refused_when_no_token_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::test_settings(dir.path(), &AppOptions::default());
    settings.webhooks.optico_token = None;
    let app = switchboard::app::Application::build(settings)
        .await
        .unwrap();
    let port = app.http_port();
    let handle = app.shutdown_handle();
    let task = tokio::spawn(app.run_until_stopped());
    let response = crate::helpers::http_client()
        .post(format!(
            "http://127.0.0.1:{port}/webhooks/optico/{WEBHOOK_TOKEN}"
        ))
        .form(&[("realtimeData", WEBHOOK_VIEW)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    handle.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn malformed_payloads_are_400_with_a_reason_and_store_nothing() {
    let app = TestApp::spawn().await;
    let cases: Vec<(&str, String, &str)> = vec![
        ("not json", "{callId: 1".into(), "not valid JSON"),
        ("json not an object", "[1,2]".into(), "documented payload"),
        (
            "no callId",
            r#"{"type":"view","view":{"id":1}}"#.into(),
            "callId",
        ),
        (
            "callId not a number",
            r#"{"callId":"abc","type":"view","view":{"id":1}}"#.into(),
            "integer",
        ),
        (
            "negative callId",
            WEBHOOK_VIEW.replace("22122563", "-3"),
            "positive",
        ),
        (
            "unknown type",
            WEBHOOK_VIEW.replace("\"type\": \"view\"", "\"type\": \"call\""),
            "type",
        ),
        (
            "type without its object",
            WEBHOOK_VIEW.replace("\"type\": \"view\"", "\"type\": \"cart\""),
            "realtimeData.cart",
        ),
        (
            "view without id",
            r#"{"callId":1,"type":"view","view":{"url":"x"}}"#.into(),
            "id",
        ),
    ];
    for (what, payload, reason) in cases {
        let response = app.post_optico_form(&payload).await;
        assert_eq!(response.status(), 400, "{what}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains(reason),
            "{what}: {body:?} should mention {reason:?}"
        );
    }
    // A form without the realtimeData field.
    let response = app
        .http
        .post(app.http_url(&format!("/webhooks/optico/{WEBHOOK_TOKEN}")))
        .form(&[("data", WEBHOOK_VIEW)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("realtimeData"));
    // No or an unsupported content type.
    for content_type in [None, Some("text/plain")] {
        let mut request = app
            .http
            .post(app.http_url(&format!("/webhooks/optico/{WEBHOOK_TOKEN}")))
            .body(WEBHOOK_VIEW);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
    }
    nothing_stored(&app).await;
}

#[tokio::test]
async fn bodies_over_the_cap_are_413() {
    let app = TestApp::spawn_with(
        AppOptions::default().env("SWITCHBOARD__WEBHOOKS__MAX_BODY_BYTES", 1024),
    )
    .await;
    let big = WEBHOOK_VIEW.replace("Page title", &"x".repeat(4096));
    let response = app.post_optico_json(&big).await;
    assert_eq!(response.status(), 413);
    nothing_stored(&app).await;
    // Just under the cap is fine.
    assert_eq!(app.post_optico_json(WEBHOOK_VIEW).await.status(), 200);
}
