//! In-process simulations of the vendors for `serve --sandbox`: a newcomer
//! runs switchboard with no vendor credentials and sees calls, webhooks and
//! stream updates happen.
//!
//! The simulations listen on 127.0.0.1 (a free port) and the settings are
//! pointed at them; webhooks are posted back to switchboard's own HTTP port.

pub mod ccai;
pub mod focalscope;
pub mod iadvize;
mod iadvize_reports;
pub mod optico;
pub mod optico_data;

use std::{net::SocketAddr, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tracing::{info, warn};
use url::Url;

use crate::{app::random_token, config::Settings};

/// How long the simulated caller waits between actions.
const PACE: Duration = Duration::from_millis(1500);
/// How often a simulated iAdvize operator's availability changes.
const IADVIZE_PACE: Duration = Duration::from_secs(3);

pub struct Sandbox {
    addr: SocketAddr,
    optico: optico::OpticoSim,
    focalscope: focalscope::FocalScopeSim,
}

impl Sandbox {
    /// Starts the simulations on 127.0.0.1.
    pub async fn start(settings: &Settings) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let timezone = settings
            .optico_timezone()
            .unwrap_or(chrono_tz::Europe::Paris);
        let http = crate::vendors::http_client().map_err(std::io::Error::other)?;
        let optico = optico::OpticoSim::new(timezone, PACE, http.clone());
        let focalscope = focalscope::FocalScopeSim::new(PACE, http);
        let iadvize = iadvize::IadvizeSim::new(
            settings
                .iadvize_timezone()
                .unwrap_or(chrono_tz::Europe::Paris),
        );
        tokio::spawn(iadvize.clone().simulate(IADVIZE_PACE));
        let router = axum::Router::new()
            .nest("/optico", optico.router().merge(optico_data::router()))
            .nest("/focalscope", focalscope.router())
            .nest("/ccai", ccai::CcaiSim::new().router())
            .nest("/iadvize", iadvize.router());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                warn!(error = %e, "sandbox vendor server stopped");
            }
        });
        info!(%addr, "sandbox vendors listening");
        Ok(Self {
            addr,
            optico,
            focalscope,
        })
    }

    fn url(&self, path: &str) -> Result<Url, url::ParseError> {
        Url::parse(&format!("http://{}/{path}", self.addr))
    }

    /// Points the vendor settings at the simulations and opens the doors a
    /// local user expects: no bearer token needed when gRPC listens on
    /// loopback only, webhook tokens generated when not set.
    pub fn apply(&self, settings: &mut Settings) -> Result<(), url::ParseError> {
        settings.vendors.optico.base_url = self.url("optico")?;
        settings.vendors.optico.api_key = Some(SecretString::from(optico::SANDBOX_API_KEY));
        settings.vendors.optico.data_api_key =
            Some(SecretString::from(optico_data::SANDBOX_DATA_API_KEY));
        settings.vendors.focalscope.dial_url = Some(format!(
            "{}?agent={{agent}}&number={{number}}",
            self.url("focalscope/dial")?
        ));
        settings.vendors.focalscope.recording_url = Some(format!(
            "{}?call_id={{call_id}}&call_uuid={{call_uuid}}",
            self.url("focalscope/recording")?
        ));
        settings.vendors.ccai.base_url = Some(self.url("ccai")?);
        settings.vendors.ccai.company_key = Some(SecretString::from(ccai::SANDBOX_COMPANY_KEY));
        settings.vendors.ccai.company_secret =
            Some(SecretString::from(ccai::SANDBOX_COMPANY_SECRET));
        settings.vendors.iadvize.base_url = self.url("iadvize")?;
        settings.vendors.iadvize.api_key = Some(SecretString::from(iadvize::SANDBOX_API_KEY));
        if settings.webhooks.optico_token.is_none() {
            settings.webhooks.optico_token = Some(random_token());
        }
        if settings.webhooks.focalscope_token.is_none() {
            settings.webhooks.focalscope_token = Some(random_token());
        }
        // The reference agent panel, at /panel/ on the HTTP port; its own
        // origin is allowed once the port is known
        // (`Application::allow_local_panel_origins`).
        settings.server.panel.enabled = true;
        if settings.server.grpc_addr.ip().is_loopback() {
            settings.auth.allow_unauthenticated = true;
        } else if settings.auth.tokens.is_empty() {
            warn!(
                "sandbox: gRPC listens beyond loopback, so bearer tokens are still required (auth.tokens)"
            );
        }
        Ok(())
    }

    /// Tells the simulations where switchboard's webhooks listen.
    pub fn connect_webhooks(&self, settings: &Settings, http_port: u16) {
        if let Some(token) = &settings.webhooks.optico_token {
            self.optico.set_webhook_url(format!(
                "http://127.0.0.1:{http_port}/webhooks/optico/{}",
                token.expose_secret()
            ));
        }
        if let Some(token) = &settings.webhooks.focalscope_token {
            self.focalscope.set_callback_url(format!(
                "http://127.0.0.1:{http_port}/webhooks/focalscope/{}",
                token.expose_secret()
            ));
        }
    }
}
