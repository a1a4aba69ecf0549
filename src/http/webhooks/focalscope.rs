//! `GET /webhooks/focalscope/{token}?CallType=&Event=&CallID=&RequestID=
//! &EventCode=&IsCallRecorded=&Guid=`: the FocalScope URL adapter's event
//! callbacks.

use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use super::super::AppState;
use crate::{domain::truncate, store::Recorded, vendors::focalscope::CallbackParams};

pub async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let outcome = |outcome: &'static str| {
        super::count("focalscope", outcome);
    };
    if !state.focalscope_webhook_token.accepts(&token) {
        warn!(vendor = "focalscope", "webhook rejected: wrong token");
        outcome("unauthorized");
        return (StatusCode::UNAUTHORIZED, "invalid webhook token").into_response();
    }
    let query = query.unwrap_or_default();
    if let Err(reason) = state
        .webhook_limits
        .check_fields(query.split('&').count(), "query string")
    {
        outcome("rejected");
        return (StatusCode::BAD_REQUEST, reason).into_response();
    }
    let params: CallbackParams = match serde_urlencoded::from_str(&query) {
        Ok(params) => params,
        Err(e) => {
            outcome("rejected");
            return (
                StatusCode::BAD_REQUEST,
                truncate(
                    &format!("the query string cannot be read: {e}"),
                    super::MAX_REASON_BYTES,
                )
                .into_owned(),
            )
                .into_response();
        }
    };
    let callback = match params.validate() {
        Ok(callback) => callback,
        Err(reason) => {
            outcome("rejected");
            info!(vendor = "focalscope", reason = %reason, "webhook rejected");
            return (
                StatusCode::BAD_REQUEST,
                truncate(&reason, super::MAX_REASON_BYTES).into_owned(),
            )
                .into_response();
        }
    };
    // The same callback delivered twice has the same parameters: their digest
    // identifies the delivery.
    let canonical = format!(
        "{:?}|{:?}|{}|{}|{:?}|{}|{:?}",
        callback.leg,
        callback.event,
        callback.call_id,
        callback.request_id,
        callback.event_code,
        callback.recorded,
        callback.call_uuid
    );
    let dedupe_key = format!(
        "focalscope:{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let request_id = callback.request_id;
    match state
        .dialer
        .record_focalscope_callback(callback, dedupe_key)
        .await
    {
        Ok(Recorded::Stored(sequence)) => {
            outcome("stored");
            debug!(
                vendor = "focalscope",
                request_id, sequence, "webhook stored"
            );
            (StatusCode::OK, "stored").into_response()
        }
        Ok(Recorded::Duplicate) => {
            outcome("duplicate");
            debug!(
                vendor = "focalscope",
                request_id, "webhook re-delivery ignored"
            );
            (StatusCode::OK, "duplicate").into_response()
        }
        Err(error) => {
            outcome("error");
            warn!(vendor = "focalscope", error = %error, "webhook could not be stored");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(axum::http::header::RETRY_AFTER, super::RETRY_AFTER_SECONDS)],
                "could not store the event; retry later",
            )
                .into_response()
        }
    }
}
