//! Browsers on the gRPC port: gRPC-Web (binary and text, unary and server
//! streaming, HTTP/1.1 and HTTP/2) beside native gRPC, CORS for the allowed
//! origins only, read-only tokens, and `buf curl --protocol grpcweb`.

use std::time::Duration;

use base64::Engine as _;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use prost::Message;
use switchboard::pb::v1::{
    self as proto, call_context_service_client::CallContextServiceClient,
    outbound_dial_service_client::OutboundDialServiceClient, stream_call_updates_response::Update,
};
use tonic::{Code, Request, metadata::MetadataValue};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_web::GrpcWebClientLayer;

use crate::helpers::{
    AppOptions, TEST_TOKEN, TestApp,
    fake_optico::{WEBHOOK_CART, WEBHOOK_VIEW},
    http_client, next_update,
};

const READ_ONLY_TOKEN: &str = "read-only-token-0123456789";
const ORIGIN: &str = "https://agents.example.com";
const WAIT: Duration = Duration::from_secs(10);
const STREAM_PATH: &str = "/switchboard.v1.CallContextService/StreamCallUpdates";

async fn browser_app() -> TestApp {
    TestApp::spawn_with(
        AppOptions::default()
            .env("SWITCHBOARD__AUTH__READ_ONLY_TOKENS", READ_ONLY_TOKEN)
            .env("SWITCHBOARD__SERVER__CORS__ALLOWED_ORIGINS", ORIGIN),
    )
    .await
}

fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", value);
    request
}

/// Generated clients over gRPC-Web (tonic-web's client layer on a hyper
/// client): HTTP/1.1, or HTTP/2 with prior knowledge.
async fn grpc_web_calls(app: &TestApp, http2: bool) {
    let mut builder = Client::builder(TokioExecutor::new());
    builder.http2_only(http2);
    let client = builder.build_http();
    let service = tower::ServiceBuilder::new()
        .layer(GrpcWebClientLayer::new())
        .service(client);
    let origin: http::Uri = app.grpc_url().parse().expect("uri");
    let what = if http2 { "HTTP/2" } else { "HTTP/1.1" };

    // Health needs no token, as before.
    let health = HealthClient::with_origin(service.clone(), origin.clone())
        .check(HealthCheckRequest {
            service: "switchboard.v1.CallContextService".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("health over gRPC-Web {what}: {e}"))
        .into_inner();
    assert_eq!(health.status(), ServingStatus::Serving);

    let mut calls = CallContextServiceClient::with_origin(service.clone(), origin.clone());
    // Unary with an error status (a trailers-only answer).
    let status = calls
        .get_call(bearer(
            proto::GetCallRequest {
                call: Some(crate::helpers::optico_ref("999")),
            },
            TEST_TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{what}: {status:?}");
    let status = calls
        .get_call(proto::GetCallRequest {
            call: Some(crate::helpers::optico_ref("999")),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{what}");

    // Server streaming, with a read-only token.
    let mut stream = calls
        .stream_call_updates(bearer(
            proto::StreamCallUpdatesRequest::default(),
            READ_ONLY_TOKEN,
        ))
        .await
        .unwrap_or_else(|e| panic!("stream over gRPC-Web {what}: {e}"))
        .into_inner();
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);
    let update = tokio::time::timeout(WAIT, async {
        loop {
            let update = stream.message().await.expect("stream").expect("update");
            if !matches!(update.update, Some(Update::Heartbeat(_))) {
                return update;
            }
        }
    })
    .await
    .expect("the view arrives over gRPC-Web");
    assert!(matches!(update.update, Some(Update::View(_))), "{what}");

    // Dialling with the read-only token is refused, naming the RPC.
    let status = OutboundDialServiceClient::with_origin(service, origin)
        .dial(bearer(
            proto::DialRequest {
                provider: proto::Provider::Focalscope.into(),
                agent: "ext-201".into(),
                destination_number: "+33612345678".into(),
                request_id: "web-1".into(),
                ..Default::default()
            },
            READ_ONLY_TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{what}");
    assert!(
        status
            .message()
            .contains("switchboard.v1.OutboundDialService/Dial")
    );
}

#[tokio::test]
async fn grpc_web_binary_serves_unary_and_streams_over_http1_and_http2() {
    let app = browser_app().await;
    grpc_web_calls(&app, false).await;
    grpc_web_calls(&app, true).await;
    // Native gRPC on the same port is unchanged.
    let mut native = app.stream(proto::StreamCallUpdatesRequest::default()).await;
    assert!(matches!(
        next_update(&mut native, WAIT).await.update,
        Some(Update::View(_))
    ));
}

/// One gRPC-Web frame: flag byte, big-endian length, payload.
fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Splits a decoded gRPC-Web body into its frames; `None` while the last
/// frame is incomplete.
fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        if body.len() < 5 + len {
            break;
        }
        out.push((body[0], body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    out
}

/// A grpc-web-text body: each chunk is base64 on its own, so padding may
/// appear mid-body; decode piece by piece (a piece ends after its padding).
/// An incomplete last piece is left out.
fn decode_text(text: &str) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    let mut piece = String::new();
    let mut chars = text.chars().filter(|c| !c.is_whitespace()).peekable();
    while let Some(c) = chars.next() {
        piece.push(c);
        if c == '=' && chars.peek() != Some(&'=') {
            out.extend(b64.decode(&piece).expect("base64 piece"));
            piece.clear();
        }
    }
    // Unpadded: whole 4-character groups decode now.
    let whole = piece.len() / 4 * 4;
    if let Ok(bytes) = b64.decode(&piece[..whole]) {
        out.extend(bytes);
    }
    out
}

#[tokio::test]
async fn grpc_web_text_serves_unary_and_streams() {
    let app = browser_app().await;
    let client = http_client();
    let b64 = base64::engine::general_purpose::STANDARD;

    // Unary: grpc-web-text health check, base64 both ways.
    let body = frame(
        0,
        &HealthCheckRequest {
            service: String::new(),
        }
        .encode_to_vec(),
    );
    let response = client
        .post(format!("{}/grpc.health.v1.Health/Check", app.grpc_url()))
        .header("content-type", "application/grpc-web-text")
        .header("accept", "application/grpc-web-text")
        .header("x-grpc-web", "1")
        .body(b64.encode(&body))
        .send()
        .await
        .expect("grpc-web-text over HTTP/1.1");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_11);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/grpc-web-text")
    );
    let text = response.text().await.unwrap();
    let answer = frames(&decode_text(&text));
    let reply = tonic_health::pb::HealthCheckResponse::decode(&answer[0].1[..]).unwrap();
    assert_eq!(reply.status(), ServingStatus::Serving);
    let trailers = String::from_utf8(answer.last().unwrap().1.clone()).unwrap();
    assert_eq!(answer.last().unwrap().0 & 0x80, 0x80, "trailer frame");
    assert!(trailers.contains("grpc-status:0"), "{trailers}");

    // Server streaming over grpc-web-text: updates arrive while the
    // response is still open.
    let body = frame(
        0,
        &proto::StreamCallUpdatesRequest::default().encode_to_vec(),
    );
    let mut response = client
        .post(format!("{}{STREAM_PATH}", app.grpc_url()))
        .header("content-type", "application/grpc-web-text")
        .header("accept", "application/grpc-web-text")
        .header("authorization", format!("Bearer {READ_ONLY_TOKEN}"))
        .body(b64.encode(&body))
        .send()
        .await
        .expect("stream opens");
    assert_eq!(response.status(), 200);
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);
    assert_eq!(app.post_optico_form(WEBHOOK_CART).await.status(), 200);
    let mut text = String::new();
    let mut kinds = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while kinds.len() < 2 {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("updates stream in within seconds")
            .expect("body")
            .expect("open stream");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        kinds = frames(&decode_text(&text))
            .into_iter()
            .filter(|(flag, _)| *flag == 0)
            .filter_map(|(_, payload)| {
                match proto::StreamCallUpdatesResponse::decode(&payload[..])
                    .ok()?
                    .update?
                {
                    Update::View(_) => Some("view"),
                    Update::Cart(_) => Some("cart"),
                    _ => None,
                }
            })
            .collect();
    }
    assert_eq!(kinds, ["view", "cart"]);
}

#[tokio::test]
async fn cors_preflights_answer_allowed_origins_only() {
    let app = browser_app().await;
    let client = http_client();
    let preflight = |origin: &'static str| {
        client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}{STREAM_PATH}", app.grpc_url()),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,x-grpc-web,x-user-agent,grpc-timeout",
            )
            .send()
    };

    let allowed = preflight(ORIGIN).await.expect("preflight");
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let header = |name: &str| {
        allowed
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .unwrap_or_default()
    };
    assert_eq!(header("access-control-allow-origin"), ORIGIN);
    assert!(header("access-control-allow-methods").contains("post"));
    for name in [
        "authorization",
        "content-type",
        "x-grpc-web",
        "grpc-timeout",
        "x-user-agent",
    ] {
        assert!(
            header("access-control-allow-headers").contains(name),
            "{name} allowed"
        );
    }
    assert!(header("access-control-max-age").parse::<u64>().unwrap() >= 600);
    // The actual request's answer lets the page read the gRPC status.
    let actual = client
        .post(format!("{}{STREAM_PATH}", app.grpc_url()))
        .header("origin", ORIGIN)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(frame(0, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(actual.headers()["access-control-allow-origin"], ORIGIN);
    let exposed = actual.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(exposed.contains(name), "{name} exposed: {exposed}");
    }
    // Unauthenticated, and still readable by the page.
    assert_eq!(actual.headers()["grpc-status"], "16");

    for origin in [
        "https://evil.example.com",
        "https://agents.example.com:8443",
        "http://agents.example.com",
    ] {
        let refused = preflight(origin).await.expect("preflight");
        let cors: Vec<_> = refused
            .headers()
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{origin} got CORS headers: {cors:?}");
    }
}

#[tokio::test]
async fn no_origin_is_allowed_by_default() {
    let app = TestApp::spawn().await;
    let response = http_client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}{STREAM_PATH}", app.grpc_url()),
        )
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-"))
    );
}

#[tokio::test]
async fn read_only_tokens_read_but_cannot_change_anything() {
    let app = browser_app().await;
    let channel = app.channel_with_token(Some(READ_ONLY_TOKEN)).await;
    let mut calls = CallContextServiceClient::new(channel.clone());
    let mut stream = calls
        .stream_call_updates(proto::StreamCallUpdatesRequest::default())
        .await
        .expect("a read-only token streams")
        .into_inner();
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);
    let view = next_update(&mut stream, WAIT).await;
    let call = calls
        .get_call(proto::GetCallRequest {
            call: Some(crate::helpers::id_ref(&view.call_id)),
        })
        .await
        .expect("a read-only token reads a call");
    assert_eq!(call.into_inner().call.unwrap().id, view.call_id);
    calls
        .list_calls(proto::ListCallsRequest::default())
        .await
        .expect("a read-only token lists calls");

    let status = OutboundDialServiceClient::new(channel)
        .dial(proto::DialRequest {
            provider: proto::Provider::Focalscope.into(),
            agent: "ext-201".into(),
            destination_number: "+33612345678".into(),
            request_id: "read-only-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status
            .message()
            .contains("switchboard.v1.OutboundDialService/Dial"),
        "{}",
        status.message()
    );
    assert_eq!(crate::helpers::reason(&status), "READ_ONLY_TOKEN");
    for (status, rpc) in [
        (
            calls
                .start_call(proto::StartCallRequest::default())
                .await
                .unwrap_err(),
            "StartCall",
        ),
        (
            calls
                .assign_agent(proto::AssignAgentRequest::default())
                .await
                .unwrap_err(),
            "AssignAgent",
        ),
    ] {
        assert_eq!(status.code(), Code::PermissionDenied, "{rpc}");
        assert!(status.message().contains(rpc));
    }
    // A full token still may: the dial gets past authentication (and fails
    // on configuration, FocalScope not being set up here).
    let status = app
        .dials()
        .await
        .dial(proto::DialRequest {
            provider: proto::Provider::Focalscope.into(),
            agent: "ext-201".into(),
            destination_number: "+33612345678".into(),
            request_id: "full-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

/// `buf curl --protocol grpcweb` (the schema read by server reflection,
/// itself over gRPC-Web) streams StreamCallUpdates. Needs the buf binary of
/// `npm install`; skipped where it is missing.
#[tokio::test]
async fn buf_curl_streams_over_grpc_web() {
    let buf = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/buf");
    if !buf.exists() {
        eprintln!(
            "skipped: {} is missing (run `npm install` to get buf)",
            buf.display()
        );
        return;
    }
    // Streams end after 3 s (resumable UNAVAILABLE), so buf curl returns.
    let app = TestApp::spawn_with(
        AppOptions::default()
            .env("SWITCHBOARD__AUTH__READ_ONLY_TOKENS", READ_ONLY_TOKEN)
            .env("SWITCHBOARD__STREAMS__MAX_LIFETIME_MS", 3000),
    )
    .await;
    assert_eq!(app.post_optico_form(WEBHOOK_VIEW).await.status(), 200);
    let output = tokio::process::Command::new(&buf)
        .args([
            "curl",
            "--protocol",
            "grpcweb",
            "-H",
            &format!("authorization: Bearer {READ_ONLY_TOKEN}"),
            "-d",
            r#"{"afterSequence": "0"}"#,
            &format!("{}{STREAM_PATH}", app.grpc_url()),
        ])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), output)
        .await
        .expect("buf curl ends when the stream does")
        .expect("buf curl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains(r#""view""#) && stdout.contains("Page title"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    // The stream ended as streams end on their lifetime: resumable.
    assert!(stderr.contains("unavailable"), "stderr: {stderr}");
}
