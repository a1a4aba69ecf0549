//! Vendor webhooks, one file per vendor: verify the token, decode, store,
//! acknowledge only once committed.

pub mod focalscope;
pub mod optico;

use std::time::{Duration, Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `Retry-After` of a webhook that could not be stored (the database is
/// unreachable): soon, since an outage is usually short and writes resume as
/// soon as it ends.
pub const RETRY_AFTER_SECONDS: &str = "2";

/// Longest reason a refused delivery is told (and logged): values in it are
/// quoted by a short prefix, and this bounds whatever else it holds.
pub const MAX_REASON_BYTES: usize = 1024;

/// The secret path segment of a vendor's webhook URL.
#[derive(Clone)]
pub struct WebhookToken(Option<[u8; 32]>);

impl WebhookToken {
    pub fn new(token: Option<&SecretString>) -> Self {
        Self(token.map(|t| Sha256::digest(t.expose_secret().as_bytes()).into()))
    }

    /// Constant-time comparison of digests (length and content hidden). An
    /// unconfigured token accepts nothing.
    pub fn accepts(&self, presented: &str) -> bool {
        match &self.0 {
            Some(expected) => {
                let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
                expected.ct_eq(&presented).into()
            }
            None => false,
        }
    }
}

/// Bounds of one webhook delivery (`webhooks.*`, `server.http.body_timeout_ms`).
#[derive(Debug, Clone, Copy)]
pub struct WebhookLimits {
    pub max_body_bytes: usize,
    pub body_timeout: Duration,
    pub max_fields: usize,
    pub max_json_depth: usize,
    pub max_json_values: usize,
}

impl WebhookLimits {
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let webhooks = &settings.webhooks;
        Self {
            max_body_bytes: webhooks.max_body_bytes,
            body_timeout: Duration::from_millis(settings.server.http.body_timeout_ms),
            max_fields: webhooks.max_fields,
            max_json_depth: webhooks.max_json_depth,
            max_json_values: webhooks.max_json_values,
        }
    }

    /// `count` form fields or query parameters, at most `webhooks.max_fields`.
    pub fn check_fields(&self, count: usize, what: &str) -> Result<(), String> {
        if count > self.max_fields {
            return Err(format!(
                "the {what} has more than {} fields (webhooks.max_fields)",
                self.max_fields
            ));
        }
        Ok(())
    }

    /// A JSON payload within `webhooks.max_json_depth` and
    /// `webhooks.max_json_values`. serde_json already refuses nesting past
    /// 128 while parsing, so walking the parsed value cannot overflow the
    /// stack; the body cap bounds what the parse allocated.
    pub fn check_json(&self, value: &serde_json::Value, what: &str) -> Result<(), String> {
        let mut values = 0usize;
        let mut pending = vec![(value, 1usize)];
        while let Some((value, depth)) = pending.pop() {
            if depth > self.max_json_depth {
                return Err(format!(
                    "{what} is nested more than {} levels deep (webhooks.max_json_depth)",
                    self.max_json_depth
                ));
            }
            let children: Box<dyn Iterator<Item = &serde_json::Value>> = match value {
                serde_json::Value::Array(items) => Box::new(items.iter()),
                serde_json::Value::Object(members) => Box::new(members.values()),
                _ => continue,
            };
            for child in children {
                values += 1;
                if values > self.max_json_values {
                    return Err(format!(
                        "{what} holds more than {} values (webhooks.max_json_values)",
                        self.max_json_values
                    ));
                }
                pending.push((child, depth + 1));
            }
        }
        Ok(())
    }
}

/// Reads a delivery's whole body before its handler runs, within
/// `server.http.body_timeout_ms` (408 beyond: a body trickled in or left
/// unfinished no longer holds the connection) and `webhooks.max_body_bytes`
/// (413 beyond).
pub async fn read_body_in_time(
    State(limits): State<WebhookLimits>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        limits.body_timeout,
        axum::body::to_bytes(body, limits.max_body_bytes),
    )
    .await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            return if too_large {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the body is larger than {} bytes (webhooks.max_body_bytes)",
                        limits.max_body_bytes
                    ),
                )
                    .into_response()
            } else {
                (StatusCode::BAD_REQUEST, "the body could not be read").into_response()
            };
        }
        Err(_) => {
            return (
                StatusCode::REQUEST_TIMEOUT,
                [(http::header::CONNECTION, "close")],
                format!(
                    "the body did not arrive within {} ms (server.http.body_timeout_ms)",
                    limits.body_timeout.as_millis()
                ),
            )
                .into_response();
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Times every delivery from its headers to the answer:
/// `switchboard_webhook_seconds{vendor, outcome, status}`; the outcome is
/// read from the status (`accepted` 2xx, `unauthorized` 401, `rejected`
/// other 4xx, `error` 5xx). `switchboard_webhooks_total{vendor, outcome}`
/// still tells stored deliveries from recognised duplicates.
pub async fn observe(request: Request, next: Next) -> Response {
    let vendor = match request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
    {
        Some(route) if route.starts_with("/webhooks/optico/") => "optico",
        Some(route) if route.starts_with("/webhooks/focalscope/") => "focalscope",
        _ => "unknown",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    webhook_seconds(vendor, status).record(started.elapsed().as_secs_f64());
    response
}

/// Counts a delivery in `switchboard_webhooks_total{vendor, outcome}`.
pub fn count(vendor: &'static str, outcome: &'static str) {
    static HANDLES: Handles<(&str, &str), metrics::Counter> = Handles::new();
    HANDLES
        .get((vendor, outcome), || {
            metrics::counter!("switchboard_webhooks_total", "vendor" => vendor, "outcome" => outcome)
        })
        .increment(1);
}

/// The `switchboard_webhook_seconds` histogram of a vendor and status.
fn webhook_seconds(vendor: &'static str, status: StatusCode) -> metrics::Histogram {
    static HANDLES: Handles<(&str, u16), metrics::Histogram> = Handles::new();
    HANDLES.get((vendor, status.as_u16()), || {
        let outcome = match status.as_u16() {
            200..=299 => "accepted",
            401 => "unauthorized",
            400..=499 => "rejected",
            _ => "error",
        };
        metrics::histogram!(
            "switchboard_webhook_seconds",
            "vendor" => vendor,
            "outcome" => outcome,
            "status" => status.as_str().to_owned(),
        )
    })
}

/// Metric handles by label values, each looked up in the recorder once: the
/// lookup (its key built, labels allocated and hashed) cost more than the
/// recording, at every delivery.
struct Handles<K, H>(std::sync::Mutex<Option<std::collections::HashMap<K, H>>>);

impl<K: Eq + std::hash::Hash, H: Clone> Handles<K, H> {
    const fn new() -> Self {
        Self(std::sync::Mutex::new(None))
    }

    fn get(&self, key: K, make: impl FnOnce() -> H) -> H {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_default()
            .entry(key)
            .or_insert_with(make)
            .clone()
    }
}
