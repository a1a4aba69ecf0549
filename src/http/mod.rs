//! The HTTP side (axum, `server.http_addr`): vendor webhooks, `/healthz`,
//! `/readyz`, `/metrics`, and the agent panel at `/panel/` when enabled.

pub mod panel;
pub mod serve;
pub mod webhooks;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    middleware,
    response::IntoResponse,
    routing::{get, post},
};
use chrono_tz::Tz;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::trace::TraceLayer;

use crate::{
    services::{calls::CallDesk, dials::Dialer},
    store::Store,
};
use webhooks::{WebhookLimits, WebhookToken};

/// What HTTP handlers share: one `Arc`, since axum clones the state for
/// every request (cloning the fields one by one cost ~2k instructions per
/// webhook, measured with callgrind).
pub type AppState = Arc<HttpState>;

/// The fields of [`AppState`].
pub struct HttpState {
    pub store: Store,
    pub calls: CallDesk,
    pub dialer: Dialer,
    pub optico_webhook_token: WebhookToken,
    pub focalscope_webhook_token: WebhookToken,
    pub optico_timezone: Tz,
    /// False while starting and once draining: `/readyz` answers 503.
    pub ready: Arc<AtomicBool>,
    pub metrics: PrometheusHandle,
    pub webhook_limits: WebhookLimits,
}

pub fn router(state: AppState, panel: Option<panel::PanelConfig>) -> Router {
    let limits = state.webhook_limits;
    let webhooks = Router::new()
        .route("/webhooks/optico/{token}", post(webhooks::optico::receive))
        .route(
            "/webhooks/focalscope/{token}",
            get(webhooks::focalscope::receive),
        )
        // Outermost first (axum applies the last layer outermost): timed;
        // the whole body read within its deadline and cap (408, 413)
        // before any handler runs.
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            limits,
            webhooks::read_body_in_time,
        ))
        .layer(middleware::from_fn(webhooks::observe));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(webhooks)
        .merge(panel.map(panel::routes).unwrap_or_default())
        .layer(
            // One span per request, named by the route template, never the
            // path: webhook paths carry secret tokens (see crate::traces).
            TraceLayer::new_for_http()
                .make_span_with(crate::traces::http_span)
                .on_response(
                    |response: &axum::response::Response, _: Duration, span: &tracing::Span| {
                        crate::traces::record_http_status(response.status(), span);
                    },
                ),
        )
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if !state.ready.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining".to_owned());
    }
    // Within a probe's usual one-second timeout, whatever the database does.
    match tokio::time::timeout(Duration::from_millis(800), state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready".to_owned()),
        Ok(Err(crate::store::StoreError::Unavailable(reason))) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {reason}"),
        ),
        Ok(Err(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable: it does not answer queries".to_owned(),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable: no answer within 800 ms".to_owned(),
        ),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::metrics::sample(&state.store);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}
