//! Metrics of every RPC, in the conventions of go-grpc-prometheus (the names
//! most Grafana dashboards and alerts for gRPC expect):
//!
//! - `grpc_server_started_total{grpc_service, grpc_method, grpc_type}`
//! - `grpc_server_handled_total{grpc_service, grpc_method, grpc_type, grpc_code}`
//! - `grpc_server_handling_seconds{grpc_service, grpc_method, grpc_type, grpc_code}`,
//!   a histogram; the one addition to the convention is `grpc_code` on it,
//!   so latency can be read for successes alone.
//!
//! An RPC is handled when its last message is sent (the status in the
//! trailers, or in the headers of a trailers-only answer) — for a stream,
//! when it ends; an answer dropped before that (the client cancelled or
//! went away) is counted `Canceled`. Method labels come only from the
//! served RPCs ([`Methods`]); any other path is `unknown`.
//!
//! The layer sits inside gRPC-Web's translation, so browser calls are
//! measured like native ones, and outside the token check and the server
//! limits, so refusals (UNAUTHENTICATED, RESOURCE_EXHAUSTED) are counted.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use futures::future::BoxFuture;
use http::{HeaderMap, Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::{Code, body::Body};
use tower::{Layer, Service};

use crate::grpc::methods::{Method, Methods};

#[derive(Clone, Default)]
pub struct GrpcMetricsLayer;

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

#[derive(Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, ReqBody> Service<Request<ReqBody>> for GrpcMetrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let method = Methods::get().lookup(request.uri().path());
        let started = Instant::now();
        metrics::counter!(
            "grpc_server_started_total",
            "grpc_service" => method.service,
            "grpc_method" => method.method,
            "grpc_type" => method.kind.as_str(),
        )
        .increment(1);
        Box::pin(async move {
            let mut handled = Handled {
                method,
                started,
                done: false,
            };
            let response = match inner.call(request).await {
                Ok(response) => response,
                Err(error) => {
                    // The transport turns this into a broken stream.
                    handled.finish(Code::Unknown);
                    return Err(error);
                }
            };
            // A trailers-only answer (every error tonic returns early)
            // carries its status in the headers.
            if let Some(code) = status_code(response.headers()) {
                handled.finish(code);
            }
            Ok(response.map(|body| Body::new(Measured { body, handled })))
        })
    }
}

/// Records the RPC once, when it ends.
struct Handled {
    method: Method,
    started: Instant,
    done: bool,
}

impl Handled {
    fn finish(&mut self, code: Code) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let Method {
            service,
            method,
            kind,
        } = self.method;
        let code = code_label(code);
        metrics::counter!(
            "grpc_server_handled_total",
            "grpc_service" => service,
            "grpc_method" => method,
            "grpc_type" => kind.as_str(),
            "grpc_code" => code,
        )
        .increment(1);
        metrics::histogram!(
            "grpc_server_handling_seconds",
            "grpc_service" => service,
            "grpc_method" => method,
            "grpc_type" => kind.as_str(),
            "grpc_code" => code,
        )
        .record(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Handled {
    fn drop(&mut self) {
        // Dropped before the status was sent: the client cancelled or the
        // connection went away.
        self.finish(Code::Cancelled);
    }
}

fn status_code(headers: &HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// The code as go-grpc-prometheus writes it (Go's `codes.Code.String()`).
fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// The answer body, watched for the status in its trailers.
struct Measured {
    body: Body,
    handled: Handled,
}

impl HttpBody for Measured {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_code) {
                    this.handled.finish(code);
                }
            }
            Poll::Ready(Some(Err(_))) => this.handled.finish(Code::Unknown),
            // Ended without a status: not a valid gRPC answer.
            Poll::Ready(None) => this.handled.finish(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
