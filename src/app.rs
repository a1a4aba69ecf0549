//! `Application`: binds both listeners, wires every component once, and runs
//! until stopped, then drains.
//!
//! Shutdown order (SIGTERM, Ctrl-C, or `ShutdownHandle::shutdown`):
//! 1. health turns NOT_SERVING and `/readyz` 503, so balancers stop sending;
//! 2. open streams are ended by the app with a resumable UNAVAILABLE (tonic's
//!    graceful shutdown would otherwise wait for them for ever);
//! 3. the listeners stop accepting; in-flight unary calls and webhooks finish;
//! 4. whatever is still running after `server.drain_timeout_ms` is dropped.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::future::BoxFuture;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Server, server::TcpIncoming};
use tonic_health::ServingStatus;
use tonic_web::GrpcWebLayer;
use tower_http::validate_request::ValidateRequestHeaderLayer;
use tracing::{info, warn};

use crate::{
    config::Settings,
    grpc::{
        AgentsApi, auth::BearerAuth, browser::AllowedOrigins, call_context::CallContextApi,
        outbound_dial::OutboundDialApi, stats::StatsApi,
    },
    grpc::{limits::LimitsLayer, metrics::GrpcMetricsLayer},
    http::{
        self, HttpState,
        panel::PanelConfig,
        serve::HttpLimits,
        webhooks::{WebhookLimits, WebhookToken},
    },
    pb::{
        self,
        v1::{
            agents_service_server::AgentsServiceServer,
            call_context_service_server::CallContextServiceServer,
            outbound_dial_service_server::OutboundDialServiceServer,
            stats_service_server::StatsServiceServer,
        },
    },
    services::availability::AvailabilityWatch,
    services::call_exports::CallExports,
    services::calls::CallDesk,
    services::dials::Dialer,
    services::updates::Updates,
    store::{Store, StoreError, events},
    tls::{ReloadingTls, TlsFiles},
    vendors::{
        Pipeline,
        ccai::{CcaiCalls, CcaiClient},
        focalscope::{
            FocalScopeClient, FocalScopeDialer, FocalScopeRecordingClient, FocalScopeRecordings,
        },
        iadvize::{Iadvize, IadvizeClient, IadvizeReports, IadvizeResources},
        optico::{
            OpticoCallCenter, OpticoClient,
            data::{OpticoDataApi, OpticoDataClient},
        },
    },
};

/// Fully-qualified names of the switchboard services, as health reports them.
pub const SERVICE_NAMES: &[&str] = &[
    "switchboard.v1.CallContextService",
    "switchboard.v1.AgentsService",
    "switchboard.v1.OutboundDialService",
    "switchboard.v1.StatsService",
];

/// How often dedupe keys older than the retention are pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot start: {0}")]
    Other(String),
}

/// Stops a running application.
#[derive(Clone)]
pub struct ShutdownHandle(CancellationToken);

impl ShutdownHandle {
    pub fn shutdown(&self) {
        self.0.cancel();
    }
}

pub struct Application {
    settings: Settings,
    grpc_listener: TcpListener,
    http_listener: TcpListener,
    store: Store,
    calls: CallDesk,
    dialer: Dialer,
    exports: CallExports,
    /// One request pipeline per vendor (breaker, bulkhead, pacing), over
    /// the HTTP client they share.
    pipelines: VendorPipelines,
    /// Cancelled to start the shutdown sequence.
    stop: CancellationToken,
    /// Cancelled once health is NOT_SERVING: ends streams and the log reader.
    streams_stop: CancellationToken,
}

impl Application {
    /// Connects to and migrates the database, then binds both listeners (port
    /// 0 picks a free port; see `grpc_port` / `http_port`).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        crate::vendors::install_crypto_provider();
        // Before anything takes a metric handle (a handle taken before the
        // recorder exists records nothing).
        crate::metrics::handle();
        let store = Store::connect_with(
            &settings.database.url,
            settings.database.max_connections,
            settings.write_options(),
        )
        .await?;
        store.migrate().await?;
        let grpc_listener = bind("gRPC listener", settings.server.grpc_addr).await?;
        let http_listener = bind("HTTP listener", settings.server.http_addr).await?;

        let timezone = settings
            .optico_timezone()
            .map_err(|e| StartupError::Config(e.to_string()))?;
        let vendor_http = crate::vendors::http_client()
            .map_err(|e| StartupError::Other(format!("the vendor HTTP client: {e}")))?;
        let pipelines = VendorPipelines::new(&settings, &vendor_http);
        let optico: Option<Arc<dyn OpticoCallCenter>> =
            settings.vendors.optico.api_key.as_ref().map(|key| {
                Arc::new(OpticoClient::new(
                    settings.vendors.optico.base_url.clone(),
                    key.clone(),
                    timezone,
                    pipelines.optico.clone(),
                )) as Arc<dyn OpticoCallCenter>
            });
        if optico.is_none() {
            warn!(
                key = "vendors.optico.api_key",
                "optico is not configured; StartCall and AssignAgent will answer FAILED_PRECONDITION"
            );
        }
        if settings.webhooks.optico_token.is_none() {
            warn!(
                key = "webhooks.optico_token",
                "no optico webhook token configured; optico webhooks will be refused"
            );
        }
        let calls = CallDesk::new(store.clone(), optico);
        let streams_stop = CancellationToken::new();
        let exports = CallExports::new(
            build_optico_data(&settings, &pipelines, timezone),
            streams_stop.clone(),
        );
        let dialer = build_dialer(&settings, &pipelines, store.clone());
        if settings.webhooks.focalscope_token.is_none() {
            warn!(
                key = "webhooks.focalscope_token",
                "no focalscope webhook token configured; focalscope callbacks will be refused"
            );
        }
        Ok(Self {
            settings,
            grpc_listener,
            http_listener,
            store,
            calls,
            dialer,
            exports,
            pipelines,
            stop: CancellationToken::new(),
            streams_stop,
        })
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(0)
    }

    pub fn http_port(&self) -> u16 {
        self.http_listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(0)
    }

    /// Lets the panel served on this app's own HTTP port, opened on
    /// loopback, call the gRPC port (the sandbox's "works with no setting").
    pub fn allow_local_panel_origins(&mut self) {
        let port = self.http_port();
        for host in ["127.0.0.1", "localhost", "[::1]"] {
            let origin = format!("http://{host}:{port}");
            let origins = &mut self.settings.server.cors.allowed_origins;
            if !origins.iter().any(|o| o == "*" || *o == origin) {
                origins.push(origin);
            }
        }
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.stop.clone())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until the shutdown handle fires, then drains (see module docs).
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        let Self {
            settings,
            grpc_listener,
            http_listener,
            store,
            calls,
            dialer,
            exports,
            pipelines,
            stop,
            streams_stop,
        } = self;
        let updates = Updates::start(
            store.clone(),
            streams_stop.clone(),
            settings.stream_options(),
        )
        .await
        .map_err(|e| StartupError::Other(e.to_string()))?;
        tokio::spawn(prune_dedupe_keys(
            store.clone(),
            Duration::from_secs(settings.webhooks.dedupe_retention_hours * 3600),
            streams_stop.clone(),
        ));

        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_service_status("", ServingStatus::Serving).await;
        for name in SERVICE_NAMES {
            health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        let ready = Arc::new(AtomicBool::new(true));

        // Listeners stop accepting once `serve_stop` fires, which is after
        // health went NOT_SERVING and streams were told to end.
        let serve_stop = CancellationToken::new();
        tokio::spawn({
            let (stop, streams_stop, serve_stop, ready, health) = (
                stop.clone(),
                streams_stop.clone(),
                serve_stop.clone(),
                ready.clone(),
                health.clone(),
            );
            async move {
                stop.cancelled().await;
                info!("shutting down: health NOT_SERVING, ending streams, draining requests");
                ready.store(false, Ordering::Release);
                health
                    .set_service_status("", ServingStatus::NotServing)
                    .await;
                for name in SERVICE_NAMES {
                    health
                        .set_service_status(*name, ServingStatus::NotServing)
                        .await;
                }
                streams_stop.cancel();
                serve_stop.cancel();
            }
        });

        let iadvize_timezone = settings
            .iadvize_timezone()
            .map_err(|e| StartupError::Config(e.to_string()))?;
        let iadvize = build_iadvize(&settings, &pipelines, iadvize_timezone);
        let resources = iadvize
            .clone()
            .map(|client| client as Arc<dyn IadvizeResources>);
        let agents = agents_api(
            &settings,
            iadvize.clone(),
            settings.stream_options().heartbeat,
            streams_stop.clone(),
        )
        .with_resources(resources.clone());
        let grpc_addr = grpc_listener.local_addr().ok();
        let services = Services {
            call_context: CallContextApi::new(calls.clone(), dialer.clone(), updates),
            outbound_dial: OutboundDialApi::new(dialer.clone()),
            agents,
            stats: StatsApi::new(
                exports,
                store.clone(),
                iadvize.map(|client| client as Arc<dyn IadvizeReports>),
                iadvize_timezone,
            )
            .with_resources(resources),
        };
        let grpc = grpc_server(
            &settings,
            services,
            health_service,
            grpc_listener,
            serve_stop.clone(),
        )?;

        let state = Arc::new(HttpState {
            store: store.clone(),
            calls,
            dialer,
            optico_webhook_token: WebhookToken::new(settings.webhooks.optico_token.as_ref()),
            focalscope_webhook_token: WebhookToken::new(
                settings.webhooks.focalscope_token.as_ref(),
            ),
            optico_timezone: settings
                .optico_timezone()
                .map_err(|e| StartupError::Config(e.to_string()))?,
            ready,
            metrics: crate::metrics::handle(),
            webhook_limits: WebhookLimits::from_settings(&settings),
        });
        let panel = settings.server.panel.enabled.then(|| PanelConfig {
            grpc_web_url: settings
                .server
                .panel
                .grpc_web_url
                .as_ref()
                .map(|url| url.as_str().trim_end_matches('/').to_owned()),
            grpc_port: grpc_addr.map_or(0, |addr| addr.port()),
            tls: settings.server.tls.cert_path.is_some(),
            token_required: !settings.auth.allow_unauthenticated,
        });
        let http_addr = http_listener.local_addr().ok();
        if panel.is_some() {
            info!(http_addr = ?http_addr, "agent panel served at /panel/");
        }
        let http = http::serve::serve(
            http_listener,
            http::router(state, panel),
            HttpLimits::from_settings(&settings.server.http),
            serve_stop.clone(),
        );

        info!(grpc_addr = ?grpc_addr, http_addr = ?http_addr, "switchboard serving");
        let servers = async {
            let (grpc, ()) = tokio::join!(grpc, http);
            if let Err(e) = grpc {
                warn!(error = %e, "grpc server ended with an error");
            }
        };
        let drain_timeout = settings.drain_timeout();
        let drain_deadline = async {
            serve_stop.cancelled().await;
            tokio::time::sleep(drain_timeout).await;
        };
        tokio::select! {
            () = servers => info!("drained; bye"),
            () = drain_deadline => warn!(drain_timeout_ms = settings.server.drain_timeout_ms, "drain timed out; closing remaining connections"),
        }
        streams_stop.cancel();
        Ok(())
    }
}

/// The request pipeline of each vendor, built once. Optico's two APIs share
/// one: they share `vendors.optico.base_url`, so one breaker, bulkhead and
/// pace cover both.
struct VendorPipelines {
    optico: Pipeline,
    iadvize: Pipeline,
    focalscope: Pipeline,
    ccai: Pipeline,
}

impl VendorPipelines {
    fn new(settings: &Settings, http: &reqwest::Client) -> Self {
        use crate::domain::Provider;
        let pipeline = |vendor| Pipeline::new(http, settings.vendor_pipeline(vendor));
        Self {
            optico: pipeline(Provider::Optico),
            iadvize: pipeline(Provider::Iadvize),
            focalscope: pipeline(Provider::FocalScope),
            ccai: pipeline(Provider::Ccai),
        }
    }
}

/// The Optico Data API client, when `vendors.optico.data_api_key` is set.
fn build_optico_data(
    settings: &Settings,
    pipelines: &VendorPipelines,
    timezone: chrono_tz::Tz,
) -> Option<Arc<dyn OpticoDataApi>> {
    let optico = &settings.vendors.optico;
    let Some(key) = &optico.data_api_key else {
        warn!(
            key = "vendors.optico.data_api_key",
            "the optico data api is not configured; ExportCalls and GetCallsByDay will answer FAILED_PRECONDITION"
        );
        return None;
    };
    Some(Arc::new(OpticoDataClient::new(
        optico.base_url.clone(),
        key.clone(),
        timezone,
        pipelines.optico.clone(),
    )))
}

/// The dialing side: FocalScope when `vendors.focalscope.dial_url` is set,
/// CCAI when `vendors.ccai.*` is (validated all-or-nothing).
fn build_dialer(settings: &Settings, pipelines: &VendorPipelines, store: Store) -> Dialer {
    let vendors = &settings.vendors;
    let focalscope_timeout = Duration::from_millis(vendors.focalscope.timeout_ms);
    let ccai_timeout = Duration::from_millis(vendors.ccai.timeout_ms);
    let focalscope = vendors.focalscope.dial_url.as_ref().map(|url| {
        Arc::new(FocalScopeClient::new(
            url.clone(),
            pipelines.focalscope.clone(),
        )) as Arc<dyn FocalScopeDialer>
    });
    let recordings = vendors.focalscope.recording_url.as_ref().map(|url| {
        Arc::new(FocalScopeRecordingClient::new(
            url.clone(),
            pipelines.focalscope.clone(),
        )) as Arc<dyn FocalScopeRecordings>
    });
    let ccai = match (
        &vendors.ccai.base_url,
        &vendors.ccai.company_key,
        &vendors.ccai.company_secret,
    ) {
        (Some(url), Some(key), Some(secret)) => Some(Arc::new(CcaiClient::new(
            url.clone(),
            key.clone(),
            secret.clone(),
            pipelines.ccai.clone(),
        )) as Arc<dyn CcaiCalls>),
        _ => None,
    };
    if focalscope.is_none() {
        warn!(
            key = "vendors.focalscope.dial_url",
            "focalscope is not configured; FocalScope dials will answer FAILED_PRECONDITION"
        );
    }
    if ccai.is_none() {
        warn!(
            key = "vendors.ccai.base_url",
            "ccai is not configured; CCAI RPCs will answer FAILED_PRECONDITION"
        );
    }
    Dialer::new(
        store,
        focalscope,
        ccai,
        // A dial may wait for CCAI's pacing up to its RPC's deadline before
        // it is sent: no twin may settle it as interrupted before then.
        focalscope_timeout
            .max(ccai_timeout)
            .max(Duration::from_millis(settings.server.request_timeout_ms)),
    )
    .with_recordings(recordings)
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { what, addr, source })
}

/// The gRPC server future: every service behind its layers, serving
/// `listener` until `stop` fires.
/// The four switchboard services, ready to serve.
struct Services {
    call_context: CallContextApi,
    outbound_dial: OutboundDialApi,
    agents: AgentsApi,
    stats: StatsApi,
}

fn grpc_server(
    settings: &Settings,
    services: Services,
    health_service: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    listener: TcpListener,
    stop: CancellationToken,
) -> Result<impl Future<Output = Result<(), tonic::transport::Error>> + Send, StartupError> {
    let Services {
        call_context,
        outbound_dial,
        agents,
        stats,
    } = services;
    let server_settings = &settings.server;
    let auth = BearerAuth::new(
        &settings.auth.tokens,
        &settings.auth.read_only_tokens,
        settings.auth.allow_unauthenticated,
    );
    let origins = AllowedOrigins::new(
        server_settings
            .cors
            .allowed_origins
            .iter()
            .map(String::as_str),
    );
    if !server_settings.cors.allowed_origins.is_empty() {
        info!(origins = ?server_settings.cors.allowed_origins, "grpc-web: cross-origin calls allowed");
    }
    let max_request = server_settings.max_request_bytes;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| StartupError::Other(format!("reflection: {e}")))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| StartupError::Other(format!("reflection: {e}")))?;

    // TLS (when set) is ours, not tonic's: see `tls` (reloaded from disk).
    let tls = match TlsFiles::from_settings(&server_settings.tls) {
        Some(files) => Some(ReloadingTls::load(files).map_err(StartupError::Config)?),
        None => None,
    };
    let builder = Server::builder();
    let server = builder
        // gRPC-Web (tonic-web) on the same port: browsers speak it over
        // HTTP/1.1 as well as HTTP/2; native gRPC is unchanged.
        .accept_http1(true)
        // Deadline of unary calls (and of a stream's first response, not of
        // the stream itself); clients may ask for less with grpc-timeout.
        .timeout(Duration::from_millis(server_settings.request_timeout_ms))
        .max_concurrent_streams(server_settings.max_concurrent_streams)
        // Pings keep long-lived streams alive through proxies and detect
        // dead peers.
        .http2_keepalive_interval(Some(Duration::from_millis(
            server_settings.keepalive_interval_ms,
        )))
        .http2_keepalive_timeout(Some(Duration::from_millis(
            server_settings.keepalive_timeout_ms,
        )))
        .tcp_keepalive(Some(Duration::from_secs(60)))
        // Outermost first: the RPC's span (see crate::traces), open until
        // its status is sent, so that it covers every layer below; CORS, so
        // that preflights (which carry no token) are answered and every
        // answer to an allowed origin carries its CORS headers; gRPC-Web
        // translated to gRPC; metrics, which see every RPC as gRPC, refusals
        // included; the bearer tokens, judged on the RPC's path (health and
        // reflection stay open); then the server limits (requests waiting a
        // bounded time, open streams), which unauthenticated calls never
        // reach; last, the RPC's deadline made known to vendor requests.
        .layer(
            tower_http::trace::TraceLayer::new_for_grpc()
                .make_span_with(crate::traces::grpc_span)
                .on_request(())
                .on_response(
                    |response: &::http::Response<_>, _: Duration, span: &tracing::Span| {
                        crate::traces::record_grpc_status(Some(response.headers()), span);
                    },
                )
                .on_eos(
                    |trailers: Option<&::http::HeaderMap>, _: Duration, span: &tracing::Span| {
                        crate::traces::record_grpc_status(trailers, span);
                    },
                )
                // Failures are logged where they happen (crate::error).
                .on_failure(()),
        )
        .layer(origins.layer())
        .layer(GrpcWebLayer::new())
        .layer(GrpcMetricsLayer)
        .layer(ValidateRequestHeaderLayer::custom(auth))
        .layer(LimitsLayer::new(settings.grpc_limits()))
        // Vendor requests see the RPC's deadline (pacing waits up to it).
        .layer(crate::grpc::deadline::DeadlineLayer::new(
            Duration::from_millis(server_settings.request_timeout_ms),
        ))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            CallContextServiceServer::new(call_context).max_decoding_message_size(max_request),
        )
        .add_service(AgentsServiceServer::new(agents).max_decoding_message_size(max_request))
        .add_service(
            OutboundDialServiceServer::new(outbound_dial).max_decoding_message_size(max_request),
        )
        .add_service(StatsServiceServer::new(stats).max_decoding_message_size(max_request));
    let server: BoxFuture<'static, Result<(), tonic::transport::Error>> = match tls {
        Some(tls) => {
            tokio::spawn(tls.clone().watch(
                Duration::from_millis(server_settings.tls.reload_interval_ms),
                stop.clone(),
            ));
            Box::pin(server.serve_with_incoming_shutdown(
                crate::tls::incoming(listener, tls, stop.clone()),
                stop.cancelled_owned(),
            ))
        }
        None => Box::pin(server.serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            stop.cancelled_owned(),
        )),
    };
    Ok(server)
}

/// The one iAdvize client (AgentsService, its availability pollers and
/// StatsService share it), when `vendors.iadvize.api_key` is set.
fn build_iadvize(
    settings: &Settings,
    pipelines: &VendorPipelines,
    timezone: chrono_tz::Tz,
) -> Option<Arc<IadvizeClient>> {
    let iadvize_settings = &settings.vendors.iadvize;
    let Some(key) = &iadvize_settings.api_key else {
        warn!(
            key = "vendors.iadvize.api_key",
            "iadvize is not configured; AgentsService and the iadvize rpcs of StatsService will answer FAILED_PRECONDITION"
        );
        return None;
    };
    Some(Arc::new(IadvizeClient::new(
        iadvize_settings.base_url.clone(),
        key.clone(),
        timezone,
        pipelines.iadvize.clone(),
    )))
}

/// AgentsService over iAdvize, with the availability pollers of its watch
/// stream (ended by `streams_stop`). Unconfigured without a client.
fn agents_api(
    settings: &Settings,
    iadvize: Option<Arc<IadvizeClient>>,
    heartbeat: Duration,
    streams_stop: CancellationToken,
) -> AgentsApi {
    let Some(client) = iadvize else {
        return AgentsApi::new(None, None);
    };
    let iadvize: Arc<dyn Iadvize> = client;
    let watch = AvailabilityWatch::new(
        iadvize.clone(),
        Duration::from_millis(settings.vendors.iadvize.poll_interval_ms),
        heartbeat,
        settings.streams.buffer,
        streams_stop,
    );
    AgentsApi::new(Some(iadvize), Some(watch))
}

/// Forgets dedupe keys past the retention, hourly.
async fn prune_dedupe_keys(store: Store, retention: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(PRUNE_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Ok(retention) = chrono::Duration::from_std(retention) else {
            return;
        };
        let before = chrono::Utc::now() - retention;
        let result = store
            .write(move |tx| Box::pin(async move { events::prune_dedupe_keys(tx, before).await }))
            .await;
        match result {
            Ok(0) => {}
            Ok(pruned) => info!(pruned, "pruned expired webhook dedupe keys"),
            Err(e) => warn!(error = %e, "pruning dedupe keys failed; will retry"),
        }
    }
}

/// A random URL-safe token, for sandbox defaults.
pub fn random_token() -> SecretString {
    use rand::Rng;
    let bytes: [u8; 24] = rand::rng().random();
    SecretString::from(hex::encode(bytes))
}
