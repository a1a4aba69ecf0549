//! The `switchboard` command line: `serve`, `migrate` and `watch`.

use std::{path::PathBuf, time::Duration};

use clap::{Parser, Subcommand};
use tonic::{Code, Request, metadata::MetadataValue, transport::Endpoint};

use crate::{
    app::Application,
    config::Settings,
    grpc::call_context::parse_cli_call_ref,
    pb::v1::{
        self as proto, StreamCallUpdatesRequest,
        call_context_service_client::CallContextServiceClient,
        stream_call_updates_response::Update,
    },
    sandbox::Sandbox,
    store::Store,
    telemetry,
};

/// switchboard — one typed gRPC API in front of contact-center vendors
/// (Optico, iAdvize, FocalScope, CCAI Platform).
///
/// Try it with no vendor account:  switchboard serve --sandbox
/// then, in another terminal:      switchboard watch
#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about,
    long_about,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: gRPC on server.grpc_addr, webhooks and health on
    /// server.http_addr. Applies database migrations first.
    ///
    /// Settings come from built-in defaults, then the TOML file (--config or
    /// SWITCHBOARD_CONFIG), then SWITCHBOARD__SECTION__KEY environment
    /// variables (e.g. SWITCHBOARD__VENDORS__OPTICO__API_KEY). See
    /// config/default.toml for every key.
    Serve {
        /// TOML settings file.
        #[arg(long, value_name = "PATH", env = "SWITCHBOARD_CONFIG")]
        config: Option<PathBuf>,
        /// Simulate the vendors in-process (no credentials needed): started
        /// calls get page views and cart changes by webhook within seconds.
        /// On loopback, gRPC clients need no token. Also serves the agent
        /// panel at http://127.0.0.1:8080/panel/?agent=julie.martin@example.com
        /// (on server.http_addr).
        #[arg(long)]
        sandbox: bool,
    },
    /// Apply database migrations (database.url) and exit.
    Migrate {
        /// TOML settings file.
        #[arg(long, value_name = "PATH", env = "SWITCHBOARD_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Tail StreamCallUpdates and print one line per update. Reconnects on
    /// its own, resuming after the last sequence it printed.
    ///
    /// Examples:
    ///   switchboard watch                         every call
    ///   switchboard watch --call optico:22122563  one call, by Optico callId
    ///   switchboard watch --agent agent1@optico.fr --after 120
    Watch {
        /// One call: id:<switchboard id> (or a bare id), optico:<callId>,
        /// focalscope-request:<RequestID>, focalscope-call:<CallID>,
        /// uuid:<CallUUID> or ccai:<call id>.
        #[arg(long, value_name = "REF", conflicts_with = "agent")]
        call: Option<String>,
        /// Only calls handled by this agent.
        #[arg(long, value_name = "EMAIL")]
        agent: Option<String>,
        /// Start after this sequence (0 replays the whole log).
        #[arg(long, value_name = "SEQ", default_value_t = 0)]
        after: i64,
        /// switchboard's gRPC address.
        #[arg(
            long,
            value_name = "URL",
            default_value = "http://127.0.0.1:50051",
            env = "SWITCHBOARD_ADDR"
        )]
        addr: String,
        /// Bearer token (one of the server's auth.tokens).
        #[arg(
            long,
            value_name = "T",
            env = "SWITCHBOARD_TOKEN",
            hide_env_values = true
        )]
        token: Option<String>,
    },
}

/// Runs a parsed command; the error is one line for stderr.
pub async fn run(cli: Cli) -> Result<(), String> {
    crate::vendors::install_crypto_provider();
    match cli.command {
        Command::Serve { config, sandbox } => serve(config, sandbox).await,
        Command::Migrate { config } => migrate(config).await,
        Command::Watch {
            call,
            agent,
            after,
            addr,
            token,
        } => watch(call, agent, after, addr, token).await,
    }
}

async fn serve(config: Option<PathBuf>, sandbox: bool) -> Result<(), String> {
    let mut settings = if sandbox {
        Settings::load_unvalidated(config.as_deref())
    } else {
        Settings::load(config.as_deref())
    }
    .map_err(|e| e.to_string())?;
    let _telemetry = telemetry::init(&settings.telemetry)?;
    let sandbox = if sandbox {
        let sandbox = Sandbox::start(&settings)
            .await
            .map_err(|e| format!("cannot start the sandbox: {e}"))?;
        sandbox
            .apply(&mut settings)
            .map_err(|e| format!("cannot start the sandbox: {e}"))?;
        settings.validate().map_err(|e| e.to_string())?;
        Some(sandbox)
    } else {
        None
    };
    let mut app = Application::build(settings.clone())
        .await
        .map_err(|e| e.to_string())?;
    if let Some(sandbox) = &sandbox {
        sandbox.connect_webhooks(&settings, app.http_port());
        app.allow_local_panel_origins();
        tracing::info!(
            panel = %format!("http://127.0.0.1:{}/panel/?agent=julie.martin@example.com", app.http_port()),
            "sandbox agent panel: start calls with that agent to see them live"
        );
        tracing::info!(
            grpc = %format!("127.0.0.1:{}", app.grpc_port()),
            "sandbox ready: start a call with `buf curl --protocol grpc --http2-prior-knowledge -d '{{\"destinationPhone\":\"0033123456789\",\"startTime\":\"2026-01-01T10:00:00Z\"}}' http://127.0.0.1:{}/switchboard.v1.CallContextService/StartCall` and follow it with `switchboard watch`",
            app.grpc_port()
        );
    }
    let shutdown = app.shutdown_handle();
    tokio::spawn(async move {
        wait_for_stop_signal().await;
        shutdown.shutdown();
    });
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

async fn migrate(config: Option<PathBuf>) -> Result<(), String> {
    let settings = Settings::load(config.as_deref()).map_err(|e| e.to_string())?;
    let _telemetry = telemetry::init(&settings.telemetry)?;
    let store = Store::connect(&settings.database.url, 1)
        .await
        .map_err(|e| format!("database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("database: {e}"))?;
    tracing::info!("migrations applied");
    Ok(())
}

/// SIGTERM (Kubernetes) or Ctrl-C.
async fn wait_for_stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn watch(
    call: Option<String>,
    agent: Option<String>,
    after: i64,
    addr: String,
    token: Option<String>,
) -> Result<(), String> {
    let call = call.as_deref().map(parse_cli_call_ref).transpose()?;
    let authorization = token
        .map(|t| {
            MetadataValue::try_from(format!("Bearer {t}"))
                .map_err(|_| "--token holds characters not allowed in a header".to_owned())
        })
        .transpose()?;
    let endpoint = Endpoint::from_shared(addr.clone())
        .map_err(|e| format!("--addr {addr:?} is not a URL: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_while_idle(true);
    let mut last = after;
    let mut backoff = Duration::from_millis(250);
    loop {
        let outcome = async {
            let channel = endpoint
                .connect()
                .await
                .map_err(|e| (true, format!("cannot connect to {addr}: {e}")))?;
            let mut client = CallContextServiceClient::new(channel);
            let mut request = Request::new(StreamCallUpdatesRequest {
                call: call.clone(),
                agent: agent.clone().unwrap_or_default(),
                after_sequence: last,
            });
            if let Some(value) = &authorization {
                request
                    .metadata_mut()
                    .insert("authorization", value.clone());
            }
            let mut stream = client
                .stream_call_updates(request)
                .await
                .map_err(|status| (retryable(&status), describe(&status)))?
                .into_inner();
            loop {
                match stream.message().await {
                    Ok(Some(update)) => {
                        if let Some(line) = format_update(&update) {
                            println!("{line}");
                            last = update.sequence;
                        }
                    }
                    Ok(None) => return Err((true, "the server closed the stream".to_owned())),
                    Err(status) => return Err((retryable(&status), describe(&status))),
                }
            }
        };
        let stop = wait_for_stop_signal();
        tokio::select! {
            result = outcome => match result {
                Ok(()) => return Ok(()),
                Err((false, message)) => return Err(message),
                Err((true, message)) => {
                    eprintln!("switchboard watch: {message}; reconnecting after sequence {last}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            },
            () = stop => return Ok(()),
        }
    }
}

fn retryable(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::DeadlineExceeded | Code::Aborted
    )
}

fn describe(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

fn text_or<'a>(value: &'a str, fallback: &'a str) -> &'a str {
    if value.is_empty() { fallback } else { value }
}

/// One readable line per update; `None` for heartbeats.
pub fn format_update(update: &proto::StreamCallUpdatesResponse) -> Option<String> {
    let time = update
        .occurred_at
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let what = match update.update.as_ref()? {
        Update::Heartbeat(_) => return None,
        Update::View(view) => format!(
            "view            {} <{}>",
            text_or(&view.page_title, "(untitled)"),
            view.url
        ),
        Update::Cart(cart) => format!(
            "cart            {} product(s), total {} {}",
            cart.products_count, cart.total_cost, cart.currency
        ),
        Update::Order(order) => format!(
            "order           #{} {} total {} {}{}",
            order.id,
            text_or(&order.status, "?"),
            order.total_cost,
            order.currency,
            if order.is_sale { " (sale)" } else { "" }
        ),
        Update::DialEvent(event) => format!(
            "dial_event      {} leg {} (code {}{})",
            leg_name(event.leg),
            event_name(event.event),
            event.event_code,
            if event.recorded { ", recorded" } else { "" }
        ),
        Update::AgentAssigned(assigned) => format!(
            "agent_assigned  {} (was {})",
            assigned.agent,
            text_or(&assigned.previous_agent, "nobody")
        ),
        Update::OpticoMatches(matches) => {
            let first = matches.matches.first().and_then(|m| m.call.as_ref());
            format!(
                "optico_matches  {} match(es), source {}, keyword {}",
                matches.matches.len(),
                text_or(first.map_or("", |c| c.source.as_str()), "?"),
                text_or(first.map_or("", |c| c.keyword.as_str()), "?"),
            )
        }
        Update::StatusChanged(changed) => format!(
            "status_changed  {}{}",
            status_name(changed.status),
            if changed.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", changed.detail)
            }
        ),
    };
    Some(format!(
        "#{:<6} {time}  call {}  {what}",
        update.sequence, update.call_id
    ))
}

fn leg_name(value: i32) -> &'static str {
    match proto::LegKind::try_from(value) {
        Ok(proto::LegKind::Agent) => "agent",
        Ok(proto::LegKind::Customer) => "customer",
        _ => "unknown",
    }
}

fn event_name(value: i32) -> &'static str {
    match proto::DialEventType::try_from(value) {
        Ok(proto::DialEventType::Pickup) => "pickup",
        Ok(proto::DialEventType::Missed) => "missed",
        Ok(proto::DialEventType::Hangup) => "hangup",
        _ => "unknown",
    }
}

fn status_name(value: i32) -> String {
    proto::CallStatus::try_from(value)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("CALL_STATUS_")
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|_| value.to_string())
}
