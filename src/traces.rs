//! Traces that join up: a span per RPC and per webhook named and described
//! with the OpenTelemetry semantic conventions (RPC: `rpc.system`,
//! `rpc.service`, `rpc.method`, `rpc.grpc.status_code`; HTTP:
//! `http.request.method`, `http.route`, `http.response.status_code`), whose
//! parent is the caller's W3C `traceparent` (gRPC metadata or HTTP header),
//! and the trace context sent on to vendors in the same header. Child spans
//! of vendor requests are made in `vendors::pipeline`, those of database
//! writes in `store`.
//!
//! The root spans carry a `trace_id` field, so every log line of a request,
//! text or JSON, names its trace (text: in the span prefix; JSON: in `span` /
//! `spans`).
//!
//! All of this is on only while spans are exported
//! (`telemetry.otlp_endpoint`, see [`crate::telemetry`]): otherwise there is
//! no trace to join, and nothing here costs more than reading a flag. Nor is
//! an HTTP request's span made then: webhook log lines carry their own
//! fields (vendor, call ids), and a span per delivery, its fields formatted
//! for the log layer and entered at every poll, was a few percent of a
//! webhook's CPU (bench, 32 senders). Unary RPC spans stay: they name the
//! method in the log lines of a failed request; streams get none (see
//! [`grpc_span`]).

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::{propagation::TextMapPropagator, trace::TraceContextExt};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Whether spans are exported (set once by `telemetry::init`).
static EXPORTING: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_exporting(on: bool) {
    EXPORTING.store(on, Ordering::Relaxed);
}

/// Whether spans are exported: what costs anything (links, propagation)
/// is done only then.
pub fn enabled() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Makes `span` a child of the trace context in `headers` (a W3C
/// `traceparent`, if any) and records its trace id in its `trace_id` field.
/// Call right after creating the span: a started span's parent is fixed.
fn continue_trace(span: &Span, headers: &http::HeaderMap) {
    if !enabled() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        // Fails only without the OpenTelemetry layer (then nothing is traced).
        let _ = span.set_parent(parent);
    }
    let trace_id = span.context().span().span_context().trace_id();
    span.record("trace_id", tracing::field::display(trace_id));
}

/// Writes the trace context of `span` into `headers` as `traceparent` (and
/// `tracestate`), for a request to a vendor.
pub fn inject(span: &Span, headers: &mut http::HeaderMap) {
    if !enabled() {
        return;
    }
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

/// The longest service or method name put in a span: the path is the
/// client's, and an unknown one is only "unknown" (no unbounded names).
const MAX_RPC_NAME: usize = 100;

/// `(rpc.service, rpc.method)` of a gRPC path `/package.Service/Method`.
fn rpc_names(path: &str) -> (&str, &str) {
    let named = |s: &str| {
        !s.is_empty()
            && s.len() <= MAX_RPC_NAME
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    match path.strip_prefix('/').and_then(|p| p.split_once('/')) {
        Some((service, method)) if named(service) && named(method) => (service, method),
        _ => ("unknown", "unknown"),
    }
}

/// The span of one RPC (tower-http's `TraceLayer` makes it for each
/// request on the gRPC port, and keeps it open until the response body,
/// with its trailers, is sent).
pub fn grpc_span<B>(request: &http::Request<B>) -> Span {
    // Not exporting: a stream's span would only name its method in log
    // lines, and it lives as long as the stream (hours, for an agent's),
    // holding its formatted fields: a tenth of an idle stream's memory.
    if !enabled()
        && crate::grpc::methods::Methods::get()
            .lookup(request.uri().path())
            .kind
            .streams_answers()
    {
        return Span::none();
    }
    let (service, method) = rpc_names(request.uri().path());
    let span = tracing::info_span!(
        "grpc",
        otel.name = %format_args!("{service}/{method}"),
        otel.kind = "server",
        otel.status_code = Empty,
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = Empty,
        trace_id = Empty,
    );
    continue_trace(&span, request.headers());
    span
}

/// Records the gRPC status of an RPC from the headers (a trailers-only
/// answer, e.g. any error of a unary RPC) or the trailers that hold it.
/// Exactly one of the two holds `grpc-status`, so it is recorded once.
pub fn record_grpc_status(headers: Option<&http::HeaderMap>, span: &Span) {
    let Some(code) = headers
        .and_then(|h| h.get("grpc-status"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    span.record("rpc.grpc.status_code", code);
    // The server-side codes the conventions count as errors.
    if matches!(code, 2 | 4 | 12 | 13 | 14 | 15) {
        span.record("otel.status_code", "ERROR");
    }
}

/// The span of one HTTP request (webhooks, health, metrics, panel). The
/// route is the template (`/webhooks/optico/{token}`), never the path: a
/// webhook path carries a secret token.
pub fn http_span<B>(request: &http::Request<B>) -> Span {
    if !enabled() {
        return Span::none();
    }
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(axum::extract::MatchedPath::as_str);
    let method = request.method().as_str();
    let span = tracing::info_span!(
        "http",
        otel.name = %format_args!("{method} {}", route.unwrap_or("unmatched")),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = route.unwrap_or("unmatched"),
        http.response.status_code = Empty,
        trace_id = Empty,
    );
    continue_trace(&span, request.headers());
    span
}

/// Records the status of an HTTP answer; a 5xx is an error of ours.
pub fn record_http_status(status: http::StatusCode, span: &Span) {
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}

// ---- database writes ----
//
// A batch of the group commit (`crate::store`) serves many requests, and a
// span has one parent. So the batch gets a span of its own, `db.batch`, the
// root of its own trace, *linked* to the write of every request it commits;
// and each request gets `db.commit`, a child of its own span lasting from
// queueing its write to the durable commit of the batch holding it, with the
// batch's size, linked back to the batch. A request's trace thus shows its
// commit (and how long it waited for it) and leads to the batch; the
// batch's trace shows every write it served. Making the batch the child of
// one request would put it in that request's trace and in no other; a copy
// under each request would cost the committer a span per write.
//
// Both are made only while tracing, so that the committer's loop pays one
// flag read per batch when it is off.

fn db_system(backend: sea_orm::DbBackend) -> &'static str {
    match backend {
        sea_orm::DbBackend::Postgres => "postgresql",
        sea_orm::DbBackend::Sqlite => "sqlite",
        // Not one switchboard connects to (sea-orm's enum is open).
        _ => "other_sql",
    }
}

/// The span of one request's write, until its batch is durably committed
/// (`Span::none()` while tracing is off).
pub fn write_span(backend: sea_orm::DbBackend) -> Span {
    if !enabled() {
        return Span::none();
    }
    tracing::info_span!(
        "db.commit",
        otel.name = "commit",
        otel.kind = "client",
        db.system.name = db_system(backend),
        db.operation.name = "commit",
        db.operation.batch.size = Empty,
    )
}

/// The span of one batch of the group commit, linked to the writes it
/// serves (and they to it). `Span::none()`, without looking at `writes`,
/// while tracing is off.
pub fn commit_span<'a>(
    backend: sea_orm::DbBackend,
    writes: impl ExactSizeIterator<Item = &'a Span>,
) -> Span {
    if !enabled() {
        return Span::none();
    }
    let size = writes.len();
    // No parent: a batch belongs to no one request (see above).
    let span = tracing::info_span!(
        parent: None,
        "db.batch",
        otel.name = "commit batch",
        otel.kind = "client",
        db.system.name = db_system(backend),
        db.operation.name = "commit",
        db.operation.batch.size = size,
    );
    let batch = span.context().span().span_context().clone();
    for write in writes {
        span.add_link(write.context().span().span_context().clone());
        write.add_link(batch.clone());
        write.record("db.operation.batch.size", size);
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_names_come_from_well_formed_paths_only() {
        assert_eq!(
            rpc_names("/switchboard.v1.OutboundDialService/Dial"),
            ("switchboard.v1.OutboundDialService", "Dial")
        );
        for junk in [
            "/",
            "",
            "/a",
            "/a/b/c",
            "/a b/c",
            &format!("/{}/x", "a".repeat(200)),
        ] {
            assert_eq!(rpc_names(junk), ("unknown", "unknown"), "{junk}");
        }
    }
}
