//! Browsers on the gRPC port: CORS for gRPC-Web (`server.cors.allowed_origins`).
//!
//! tower-http's `CorsLayer` does the CORS work. It answers every preflight
//! with `access-control-allow-methods` / `-headers` / `-max-age` and leaves
//! out only `access-control-allow-origin` when the origin is not allowed; the
//! contract is stricter: a request from an origin not in the list gets no
//! CORS header at all. So a tower `Steer` sends requests from allowed origins
//! through the CORS layer and every other request (other origins, and
//! non-browser clients, which send no `Origin`) straight past it.

use std::{collections::HashSet, sync::Arc, time::Duration};

use http::{
    HeaderName, HeaderValue, Method, Request,
    header::{AUTHORIZATION, CONTENT_TYPE, ORIGIN},
};
use tower::{
    Layer,
    steer::{Picker, Steer},
    util::Either,
};
use tower_http::cors::{AllowOrigin, Cors, CorsLayer};

/// How long a browser may cache a preflight answer. Chromium caps it at two
/// hours; a removed origin is still refused on the actual request, whose
/// answer carries no `access-control-allow-origin` once it is gone.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(7200);

/// Request headers a gRPC-Web client sends (connect-web, grpc-web).
const ALLOWED_HEADERS: [HeaderName; 5] = [
    AUTHORIZATION,
    CONTENT_TYPE,
    HeaderName::from_static("x-grpc-web"),
    HeaderName::from_static("grpc-timeout"),
    HeaderName::from_static("x-user-agent"),
];

/// Response headers a gRPC-Web client reads: the status of a trailers-only
/// answer (errors) comes in headers.
const EXPOSED_HEADERS: [HeaderName; 3] = [
    HeaderName::from_static("grpc-status"),
    HeaderName::from_static("grpc-message"),
    HeaderName::from_static("grpc-status-details-bin"),
];

/// The origins allowed to call, as browsers send them in `Origin`.
#[derive(Clone, Debug)]
pub struct AllowedOrigins {
    any: bool,
    exact: Arc<HashSet<HeaderValue>>,
}

impl AllowedOrigins {
    /// From validated settings: exact origins, or `*` alone.
    pub fn new<'a>(origins: impl IntoIterator<Item = &'a str>) -> Self {
        let mut any = false;
        let mut exact = HashSet::new();
        for origin in origins {
            if origin == "*" {
                any = true;
            } else if let Ok(value) = HeaderValue::from_str(origin) {
                exact.insert(value);
            }
        }
        Self {
            any,
            exact: Arc::new(exact),
        }
    }

    pub fn allows(&self, origin: Option<&HeaderValue>) -> bool {
        origin.is_some_and(|origin| self.any || self.exact.contains(origin))
    }

    /// The CORS layer for gRPC-Web from these origins.
    pub fn layer(&self) -> BrowserCorsLayer {
        let allow_origin = if self.any {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(self.exact.iter().cloned())
        };
        BrowserCorsLayer {
            cors: CorsLayer::new()
                .allow_origin(allow_origin)
                .allow_methods([Method::POST])
                .allow_headers(ALLOWED_HEADERS)
                .expose_headers(EXPOSED_HEADERS)
                .max_age(PREFLIGHT_MAX_AGE),
            origins: self.clone(),
        }
    }
}

/// CORS for allowed origins only; see the module docs.
#[derive(Clone)]
pub struct BrowserCorsLayer {
    cors: CorsLayer,
    origins: AllowedOrigins,
}

impl<S: Clone> Layer<S> for BrowserCorsLayer {
    type Service = Steer<Either<Cors<S>, S>, ByOrigin, Request<tonic::body::Body>>;

    fn layer(&self, inner: S) -> Self::Service {
        Steer::new(
            [
                Either::Left(self.cors.layer(inner.clone())),
                Either::Right(inner),
            ],
            ByOrigin(self.origins.clone()),
        )
    }
}

/// Picks the CORS path (0) for an allowed `Origin`, the plain one (1) else.
#[derive(Clone)]
pub struct ByOrigin(AllowedOrigins);

impl<S, B> Picker<S, Request<B>> for ByOrigin {
    fn pick(&mut self, request: &Request<B>, _services: &[S]) -> usize {
        if self.0.allows(request.headers().get(ORIGIN)) {
            0
        } else {
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_origins_are_allowed() {
        let origins = AllowedOrigins::new(["https://agents.example.com"]);
        let value = |s: &'static str| HeaderValue::from_static(s);
        assert!(origins.allows(Some(&value("https://agents.example.com"))));
        assert!(!origins.allows(Some(&value("https://agents.example.com:8443"))));
        assert!(!origins.allows(Some(&value("https://evil.example.com"))));
        assert!(!origins.allows(None));
        let none = AllowedOrigins::new([]);
        assert!(!none.allows(Some(&value("https://agents.example.com"))));
        let any = AllowedOrigins::new(["*"]);
        assert!(any.allows(Some(&value("https://anywhere.example"))));
        assert!(!any.allows(None));
    }
}
