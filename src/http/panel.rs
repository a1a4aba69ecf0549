//! The reference agent panel at `/panel/` (`server.panel.enabled`): a static
//! page whose gRPC-Web client is generated from the protos and bundled by
//! `npm run build:panel` (web/panel/). The bundle is committed and embedded
//! here, so a machine with only cargo still serves the panel; CI rebuilds it
//! and fails if the committed one differs.
//!
//! `/panel/config.json` tells the page where the gRPC port is and whether a
//! token is needed: both are only known once the listeners are bound.

use axum::{
    Router,
    http::header::{self, HeaderName},
    response::{IntoResponse, Redirect},
    routing::get,
};
use serde::Serialize;

const INDEX_HTML: &str = include_str!("../../web/panel/index.html");
const PANEL_CSS: &str = include_str!("../../web/panel/panel.css");
const PANEL_JS: &str = include_str!("../../web/panel/dist/panel.js");

/// The page runs only its own script and style; it talks to the gRPC port,
/// which is another origin (another port, or `server.panel.grpc_web_url`).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' http: https:; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What the page reads from `config.json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelConfig {
    /// `server.panel.grpc_web_url`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_web_url: Option<String>,
    /// The gRPC port, reached at the page's host name otherwise.
    pub grpc_port: u16,
    /// Whether the gRPC port speaks TLS.
    pub tls: bool,
    /// False when gRPC calls need no token (`auth.allow_unauthenticated`).
    pub token_required: bool,
}

/// The panel's routes, for the HTTP router.
pub fn routes<S: Clone + Send + Sync + 'static>(config: PanelConfig) -> Router<S> {
    let config = serde_json::to_string(&config).unwrap_or_else(|_| "{}".to_owned());
    Router::new()
        .route("/panel", get(|| async { Redirect::permanent("/panel/") }))
        .route(
            "/panel/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/panel/panel.css",
            get(|| async { asset("text/css; charset=utf-8", PANEL_CSS) }),
        )
        .route(
            "/panel/panel.js",
            get(|| async { asset("text/javascript; charset=utf-8", PANEL_JS) }),
        )
        .route(
            "/panel/config.json",
            get(move || {
                let config = config.clone();
                async move { asset("application/json", config) }
            }),
        )
}

fn asset(content_type: &'static str, body: impl Into<String>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Small, and the binary may change under the same URLs.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                HeaderName::from_static("content-security-policy"),
                CONTENT_SECURITY_POLICY,
            ),
        ],
        body.into(),
    )
}
