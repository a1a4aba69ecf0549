//! Logs and traces: `tracing` with lowercase structured messages, printed as
//! text or JSON lines on stderr, and exported over OTLP/gRPC when
//! `telemetry.otlp_endpoint` is set.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogFormat, TelemetrySettings};

/// Quiet defaults for chatty dependencies; override with RUST_LOG.
const DEFAULT_FILTER: &str =
    "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,h2=warn,hyper=warn,tower=warn,reqwest=warn";
/// What is exported as traces: switchboard's own request spans, whatever
/// RUST_LOG says (turning log lines down must not turn tracing off).
const TRACE_FILTER: &str = "warn,switchboard=info";

/// Flushes exported traces when dropped.
pub struct TelemetryGuard(Option<SdkTracerProvider>);

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("switchboard: flushing traces failed: {e}");
        }
    }
}

/// Installs the global subscriber. Call once, from `main`.
pub fn init(settings: &TelemetrySettings) -> Result<TelemetryGuard, String> {
    // RUST_LOG filters log lines only; the trace export has its own filter.
    let log_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let fmt = match settings.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            // Colours only on a terminal: not as escape codes in a log file
            // or a container's log.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .with_filter(log_filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .with_filter(log_filter)
            .boxed(),
    };
    let provider = match &settings.otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.as_str())
                .build()
                .map_err(|e| {
                    format!("telemetry.otlp_endpoint: cannot build the OTLP exporter: {e}")
                })?;
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(Resource::builder().with_service_name("switchboard").build())
                    .build(),
            )
        }
        None => None,
    };
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("switchboard"))
            .with_filter(EnvFilter::new(TRACE_FILTER))
    });
    tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
    crate::traces::set_exporting(provider.is_some());
    Ok(TelemetryGuard(provider))
}
