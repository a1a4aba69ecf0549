//! Vendor adapters, one module per vendor. Each owns its wire types (serde
//! structs named as in the vendor's documentation), its HTTP client and its
//! error classification, and speaks domain types and [`VendorError`] to the
//! rest of switchboard. Services never see vendor JSON; adapters never see
//! protobuf.

mod breaker;
pub mod ccai;
mod error;
pub mod focalscope;
pub mod iadvize;
pub mod optico;
mod pipeline;
mod wire;

use std::time::Duration;

pub use breaker::BreakerPolicy;
pub use error::{VendorError, VendorErrorKind, redact};
pub use pipeline::{Answer, Download, Effect, Outcome, Pipeline, PipelineSettings, with_deadline};

/// The HTTP client all adapters share, built once at start-up: no automatic
/// redirects (a redirected POST could be replayed by the client library) and
/// no automatic retries (reqwest does none; a dial must never be sent twice).
/// Fails only when the TLS backend cannot start.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Joins an endpoint path onto a vendor base URL, keeping the base's own path
/// (e.g. iAdvize `https://www.iadvize.com/api/2` + `operator/live`).
pub fn endpoint(base: &url::Url, path: &str) -> String {
    format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Installs ring as the process's TLS crypto provider (reqwest and tonic use
/// rustls; we build it with ring only). Idempotent.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
