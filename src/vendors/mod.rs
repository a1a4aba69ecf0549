//! Vendor adapters, one module per vendor. Each owns its wire types (serde
//! structs named as in the vendor's documentation), its HTTP client and its
//! error classification, and speaks domain types and [`VendorError`] to the
//! rest of switchboard. Services never see vendor JSON; adapters never see
//! protobuf.

pub mod ccai;
mod error;
pub mod focalscope;
pub mod iadvize;
pub mod optico;
mod wire;

use std::time::{Duration, Instant};

pub use error::{VendorError, VendorErrorKind, redact};

use crate::domain::Provider;

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

/// An adapter's handle on the shared client: every request it makes carries
/// the vendor's own timeout (`vendors.<vendor>.timeout_ms`).
#[derive(Clone)]
pub struct VendorHttp {
    client: reqwest::Client,
    timeout: Duration,
}

impl VendorHttp {
    pub fn new(client: &reqwest::Client, timeout: Duration) -> Self {
        Self {
            client: client.clone(),
            timeout,
        }
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        url: impl reqwest::IntoUrl,
    ) -> reqwest::RequestBuilder {
        self.client.request(method, url).timeout(self.timeout)
    }

    pub fn get(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, url)
    }

    pub fn post(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, url)
    }
}

/// Records how long a vendor request took and how it ended (ok, refused, or
/// unavailable) in `switchboard_vendor_request_seconds`. `endpoint` must not
/// hold ids or secrets (it is a metrics label).
pub fn record_request<T>(
    vendor: Provider,
    endpoint: String,
    started: Instant,
    result: &Result<T, VendorError>,
) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(e) => match e.kind {
            VendorErrorKind::Unavailable | VendorErrorKind::OutcomeUnknown => "unavailable",
            _ => "refused",
        },
    };
    metrics::histogram!("switchboard_vendor_request_seconds", "vendor" => vendor.as_str(), "endpoint" => endpoint, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
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
