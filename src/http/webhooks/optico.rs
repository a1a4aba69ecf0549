//! `POST /webhooks/optico/{token}`: Optico realtime data. The payload comes
//! as the form field `realtimeData` holding JSON (as documented) or as the
//! same JSON in an `application/json` body.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use super::super::AppState;
use crate::{
    domain::{quote, truncate},
    store::Recorded,
    vendors::optico,
};

/// A rejected delivery: status and a reason for the sender.
struct Rejection(StatusCode, String);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

/// A 400 with `reason`, bounded (serde quotes whole values in its errors).
fn bad_request(reason: impl Into<String>) -> Rejection {
    Rejection(
        StatusCode::BAD_REQUEST,
        truncate(&reason.into(), super::MAX_REASON_BYTES).into_owned(),
    )
}

pub async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.optico_webhook_token.accepts(&token) {
        // Neither the token nor the path is logged: the token is a secret.
        warn!(vendor = "optico", "webhook rejected: wrong token");
        super::count("optico", "unauthorized");
        return Rejection(StatusCode::UNAUTHORIZED, "invalid webhook token".to_owned())
            .into_response();
    }
    match accept(&state, &headers, &body).await {
        Ok(response) => response,
        Err(rejection) => {
            super::count("optico", "rejected");
            info!(vendor = "optico", status = rejection.0.as_u16(), reason = %rejection.1, "webhook rejected");
            rejection.into_response()
        }
    }
}

async fn accept(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, Rejection> {
    let limits = &state.webhook_limits;
    let json = payload_json(headers, body, limits)?;
    let value: serde_json::Value = serde_json::from_str(&json)
        .map_err(|e| bad_request(format!("realtimeData is not valid JSON: {e}")))?;
    limits
        .check_json(&value, "realtimeData")
        .map_err(bad_request)?;
    // serde_json maps keep keys sorted, so re-serialising gives the same text
    // for the same payload however Optico spaced or ordered it: a stable
    // dedupe key for re-deliveries.
    let dedupe_key = format!("optico:{}", hex::encode(canonical_digest(&value)));
    let data =
        optico::read_realtime(value, state.optico_timezone, Utc::now()).map_err(bad_request)?;
    match state
        .calls
        .record_optico_update(data.call_id, data.update, data.occurred_at, dedupe_key)
        .await
    {
        Ok(Recorded::Stored(sequence)) => {
            super::count("optico", "stored");
            debug!(
                vendor = "optico",
                optico_call_id = data.call_id,
                sequence,
                kind = data.kind,
                "webhook stored"
            );
            Ok((StatusCode::OK, "stored").into_response())
        }
        Ok(Recorded::Duplicate) => {
            super::count("optico", "duplicate");
            debug!(
                vendor = "optico",
                optico_call_id = data.call_id,
                "webhook re-delivery ignored"
            );
            Ok((StatusCode::OK, "duplicate").into_response())
        }
        Err(error) => {
            warn!(vendor = "optico", error = %error, "webhook could not be stored");
            super::count("optico", "error");
            // Not acknowledged: the vendor should deliver it again.
            Ok((
                StatusCode::SERVICE_UNAVAILABLE,
                [(axum::http::header::RETRY_AFTER, super::RETRY_AFTER_SECONDS)],
                "could not store the event; retry later",
            )
                .into_response())
        }
    }
}

/// SHA-256 of the payload's canonical JSON text (compact, keys sorted),
/// hashed as it is written rather than collected into a string first.
fn canonical_digest(value: &serde_json::Value) -> [u8; 32] {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    // Writing a `Value` to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut hashing, value);
    hashing.0.finalize().into()
}

/// The JSON text of the delivery, from the form field or the body.
fn payload_json(
    headers: &HeaderMap,
    body: &[u8],
    limits: &super::WebhookLimits,
) -> Result<String, Rejection> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/x-www-form-urlencoded" => {
            // Counted before decoding: a body of 64 KiB of `&` is 64 Ki fields.
            limits
                .check_fields(body.split(|b| *b == b'&').count(), "form body")
                .map_err(bad_request)?;
            // Only the field we read is decoded and copied (as serde_urlencoded
            // would: invalid UTF-8 becomes U+FFFD, and then fails as JSON).
            url::form_urlencoded::parse(body)
                .find(|(name, _)| name == "realtimeData")
                .map(|(_, value)| value.into_owned())
                .ok_or_else(|| bad_request("the form field realtimeData is missing"))
        }
        "application/json" => String::from_utf8(body.to_vec())
            .map_err(|_| bad_request("the JSON body is not UTF-8")),
        "" => Err(Rejection(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "missing Content-Type: send application/x-www-form-urlencoded (realtimeData=...) or application/json".to_owned(),
        )),
        other => Err(Rejection(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Type {}: send application/x-www-form-urlencoded (realtimeData=...) or application/json", quote(other)),
        )),
    }
}
