//! Typed settings, layered once: built-in defaults (`config/default.toml`,
//! compiled in) → optional TOML file (`--config PATH` or `SWITCHBOARD_CONFIG`)
//! → environment `SWITCHBOARD__SECTION__KEY`.
//!
//! Secrets are `SecretString`: their `Debug` prints `[REDACTED]` and reading
//! them takes an explicit `expose_secret()`.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::{
    domain::Provider,
    vendors::{BreakerPolicy, PipelineSettings},
};

/// The defaults, also shipped as documentation in `config/default.toml`.
const DEFAULTS: &str = include_str!("../config/default.toml");
/// Environment prefix: `SWITCHBOARD__VENDORS__OPTICO__BASE_URL` sets
/// `vendors.optico.base_url`.
pub const ENV_PREFIX: &str = "SWITCHBOARD";
/// Environment variable naming a config file when `--config` is not given.
pub const CONFIG_FILE_ENV: &str = "SWITCHBOARD_CONFIG";
/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: &[&str] = &[
    "auth.tokens",
    "auth.read_only_tokens",
    "server.cors.allowed_origins",
];
/// Shortest secret accepted for bearer and webhook tokens.
const MIN_TOKEN_LEN: usize = 16;

/// A configuration problem, always naming the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn key(key: &str, problem: impl std::fmt::Display) -> Self {
        Self(format!("{key}: {problem}"))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub webhooks: WebhookSettings,
    pub streams: StreamSettings,
    pub vendors: VendorSettings,
    pub telemetry: TelemetrySettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub request_timeout_ms: u64,
    pub max_concurrent_requests: usize,
    pub max_concurrent_streams: u32,
    pub keepalive_interval_ms: u64,
    pub keepalive_timeout_ms: u64,
    pub drain_timeout_ms: u64,
    pub max_request_bytes: usize,
    /// How long an RPC waits for a place beyond `max_concurrent_requests`
    /// before RESOURCE_EXHAUSTED.
    pub max_queue_wait_ms: u64,
    pub http: HttpSettings,
    #[serde(default)]
    pub tls: TlsSettings,
    pub cors: CorsSettings,
    pub panel: PanelSettings,
}

/// Which browser origins may call the gRPC port over gRPC-Web.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    /// Exact origins (`https://agents.example.com`); `*` only when no token
    /// is in use. Empty: no cross-origin access.
    pub allowed_origins: Vec<String>,
}

/// The reference agent panel at `/panel/` on the HTTP port.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelSettings {
    pub enabled: bool,
    /// Where browsers reach the gRPC port (gRPC-Web), when not at the panel
    /// page's host name with `server.grpc_addr`'s port (behind a proxy or an
    /// ingress).
    pub grpc_web_url: Option<Url>,
}

/// The HTTP port (webhooks, probes, metrics), which faces the Internet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// A request's headers must have arrived this long after the connection
    /// opened or the previous answer was sent (so also the idle keep-alive
    /// limit).
    pub header_timeout_ms: u64,
    /// A webhook's body must have arrived whole this long after its headers.
    pub body_timeout_ms: u64,
    /// Connections open at once; more are closed on arrival.
    pub max_connections: usize,
    /// Connections open at once from one client address (0: no per-client
    /// limit, e.g. behind a proxy through which every client comes).
    pub max_connections_per_client: usize,
}

/// TLS on the gRPC port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
    /// mTLS: clients must present a certificate issued by one of these CAs
    /// (PEM).
    pub client_ca_path: Option<PathBuf>,
    /// How often the files are read again; changed ones are served to new
    /// connections without a restart.
    #[serde(default = "default_tls_reload_interval_ms")]
    pub reload_interval_ms: u64,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self {
            cert_path: None,
            key_path: None,
            client_ca_path: None,
            reload_interval_ms: default_tls_reload_interval_ms(),
        }
    }
}

fn default_tls_reload_interval_ms() -> u64 {
    10_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May hold a password: kept secret.
    pub url: SecretString,
    pub max_connections: u32,
    /// Most writes committed together in one transaction (group commit).
    pub batch_max_writes: usize,
    /// How long a batch may wait for company once it has a write, in
    /// microseconds (0: a batch is what queued during the previous commit).
    pub batch_wait_us: u64,
    /// Longest wait for a database connection, in ms: past it, a webhook
    /// answers 503 and an RPC UNAVAILABLE.
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub tokens: Vec<SecretString>,
    /// Tokens that may call only the reading RPCs (`Get*`, `List*`,
    /// `Stream*`, `Watch*`, `Export*`): the kind a browser may hold.
    pub read_only_tokens: Vec<SecretString>,
    pub allow_unauthenticated: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub optico_token: Option<SecretString>,
    pub focalscope_token: Option<SecretString>,
    pub max_body_bytes: usize,
    /// Most form fields (Optico) or query parameters (FocalScope) in one
    /// delivery.
    pub max_fields: usize,
    /// Deepest nesting of objects and arrays in an Optico JSON payload.
    pub max_json_depth: usize,
    /// Most values (object members and array elements, all levels) in an
    /// Optico JSON payload.
    pub max_json_values: usize,
    pub dedupe_retention_hours: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSettings {
    pub heartbeat_interval_ms: u64,
    pub buffer: usize,
    pub max_lifetime_ms: u64,
    pub poll_interval_ms: u64,
    /// Streaming RPCs open at once on this server.
    pub max_open: usize,
    /// Streaming RPCs open at once on one client connection.
    pub max_open_per_connection: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorSettings {
    pub optico: OpticoSettings,
    pub iadvize: IadvizeSettings,
    pub focalscope: FocalScopeSettings,
    pub ccai: CcaiSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpticoSettings {
    pub base_url: Url,
    pub api_key: Option<SecretString>,
    pub data_api_key: Option<SecretString>,
    pub timezone: String,
    pub timeout_ms: u64,
    /// Bulkhead: requests in flight to this vendor at once; more are refused
    /// at once (RESOURCE_EXHAUSTED) so a slow vendor holds only its share.
    pub max_in_flight: usize,
    /// Pacing: requests sent per second at most (unset or 0: unpaced).
    #[serde(default)]
    pub max_requests_per_second: Option<f64>,
    /// Largest answer body read from this vendor.
    pub max_answer_bytes: usize,
    pub breaker: BreakerSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IadvizeSettings {
    pub base_url: Url,
    pub api_key: Option<SecretString>,
    /// IANA name of the zone iAdvize's `YYYY-MM-DD HH:MM:SS` dates are in.
    pub timezone: String,
    pub timeout_ms: u64,
    /// Bulkhead: requests in flight to this vendor at once; more are refused
    /// at once (RESOURCE_EXHAUSTED) so a slow vendor holds only its share.
    pub max_in_flight: usize,
    /// Pacing: requests sent per second at most (unset or 0: unpaced).
    #[serde(default)]
    pub max_requests_per_second: Option<f64>,
    /// Largest answer body read from this vendor.
    pub max_answer_bytes: usize,
    pub breaker: BreakerSettings,
    pub poll_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FocalScopeSettings {
    pub dial_url: Option<String>,
    /// URL template of a leg's recording, with `{call_id}` and / or
    /// `{call_uuid}` (the leg's CallID and CallUUID), requested with GET.
    #[serde(default)]
    pub recording_url: Option<String>,
    pub timeout_ms: u64,
    /// Bulkhead: requests in flight to this vendor at once; more are refused
    /// at once (RESOURCE_EXHAUSTED) so a slow vendor holds only its share.
    pub max_in_flight: usize,
    /// Pacing: requests sent per second at most (unset or 0: unpaced).
    #[serde(default)]
    pub max_requests_per_second: Option<f64>,
    /// Largest answer body read from this vendor.
    pub max_answer_bytes: usize,
    pub breaker: BreakerSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CcaiSettings {
    pub base_url: Option<Url>,
    pub company_key: Option<SecretString>,
    pub company_secret: Option<SecretString>,
    pub timeout_ms: u64,
    /// Bulkhead: requests in flight to this vendor at once; more are refused
    /// at once (RESOURCE_EXHAUSTED) so a slow vendor holds only its share.
    pub max_in_flight: usize,
    /// Pacing: requests sent per second at most (unset or 0: unpaced).
    #[serde(default)]
    pub max_requests_per_second: Option<f64>,
    /// Largest answer body read from this vendor.
    pub max_answer_bytes: usize,
    pub breaker: BreakerSettings,
}

/// `vendors.<vendor>.breaker.*`: the circuit breaker of one vendor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSettings {
    pub enabled: bool,
    /// Consecutive failures (timeouts, connection errors, 5xx) that open it.
    pub failure_threshold: u32,
    /// How long it stays open before one probe request is let through.
    pub cool_down_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub otlp_endpoint: Option<Url>,
    pub log_format: LogFormat,
}

impl Settings {
    /// Loads defaults, then `file` (or the file named by `SWITCHBOARD_CONFIG`),
    /// then the process environment, and validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let settings = Self::load_unvalidated(file)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Like `load` without [`Settings::validate`], for callers that adjust
    /// the settings first (`serve --sandbox`) and validate after.
    pub fn load_unvalidated(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env_file = std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from);
        let file = file.map(Path::to_path_buf).or(env_file);
        Self::read(file.as_deref(), None)
    }

    /// Like `load`, with the environment given as a map (tests) instead of
    /// read from the process (`None`).
    pub fn load_from(
        file: Option<&Path>,
        env: Option<HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let settings = Self::read(file, env)?;
        settings.validate()?;
        Ok(settings)
    }

    fn read(
        file: Option<&Path>,
        env: Option<HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "config file {} does not exist or is not a file",
                    path.display()
                )));
            }
            builder = builder.add_source(
                config::File::from(path)
                    .format(config::FileFormat::Toml)
                    .required(true),
            );
        }
        let mut environment = config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .list_separator(",")
            .try_parsing(true)
            .ignore_empty(true)
            .source(env);
        for key in LIST_KEYS {
            environment = environment.with_list_parse_key(key);
        }
        builder
            .add_source(environment)
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| ConfigError(e.to_string()))
    }

    /// Checks what serde cannot: relations between keys, URL shapes, secrets
    /// long enough to be secrets.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let server = &self.server;
        for (key, value) in [
            ("server.request_timeout_ms", server.request_timeout_ms),
            ("server.keepalive_interval_ms", server.keepalive_interval_ms),
            ("server.keepalive_timeout_ms", server.keepalive_timeout_ms),
            ("server.drain_timeout_ms", server.drain_timeout_ms),
            ("server.max_queue_wait_ms", server.max_queue_wait_ms),
            (
                "server.http.header_timeout_ms",
                server.http.header_timeout_ms,
            ),
            ("server.http.body_timeout_ms", server.http.body_timeout_ms),
            (
                "server.tls.reload_interval_ms",
                server.tls.reload_interval_ms,
            ),
            (
                "database.acquire_timeout_ms",
                self.database.acquire_timeout_ms,
            ),
            (
                "streams.heartbeat_interval_ms",
                self.streams.heartbeat_interval_ms,
            ),
            ("vendors.optico.timeout_ms", self.vendors.optico.timeout_ms),
            (
                "vendors.iadvize.timeout_ms",
                self.vendors.iadvize.timeout_ms,
            ),
            (
                "vendors.iadvize.poll_interval_ms",
                self.vendors.iadvize.poll_interval_ms,
            ),
            (
                "vendors.focalscope.timeout_ms",
                self.vendors.focalscope.timeout_ms,
            ),
            ("vendors.ccai.timeout_ms", self.vendors.ccai.timeout_ms),
            (
                "webhooks.dedupe_retention_hours",
                self.webhooks.dedupe_retention_hours,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::key(key, "must be greater than 0"));
            }
        }
        for (key, value) in [
            (
                "server.max_concurrent_requests",
                server.max_concurrent_requests,
            ),
            ("server.max_request_bytes", server.max_request_bytes),
            ("webhooks.max_body_bytes", self.webhooks.max_body_bytes),
            ("streams.buffer", self.streams.buffer),
            ("streams.max_open", self.streams.max_open),
            (
                "streams.max_open_per_connection",
                self.streams.max_open_per_connection,
            ),
            ("server.http.max_connections", server.http.max_connections),
            ("webhooks.max_fields", self.webhooks.max_fields),
            ("webhooks.max_json_depth", self.webhooks.max_json_depth),
            ("webhooks.max_json_values", self.webhooks.max_json_values),
            ("database.batch_max_writes", self.database.batch_max_writes),
            (
                "database.max_connections",
                self.database.max_connections as usize,
            ),
            (
                "server.max_concurrent_streams",
                server.max_concurrent_streams as usize,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::key(key, "must be greater than 0"));
            }
        }
        match (&server.tls.cert_path, &server.tls.key_path) {
            (Some(_), None) => {
                return Err(ConfigError::key(
                    "server.tls.key_path",
                    "is required with server.tls.cert_path",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::key(
                    "server.tls.cert_path",
                    "is required with server.tls.key_path",
                ));
            }
            _ => {}
        }
        if server.tls.client_ca_path.is_some() && server.tls.cert_path.is_none() {
            return Err(ConfigError::key(
                "server.tls.client_ca_path",
                "needs server.tls.cert_path and key_path: client certificates are checked only over TLS",
            ));
        }

        let db_url = self.database.url.expose_secret();
        if !(db_url.starts_with("sqlite:")
            || db_url.starts_with("postgres://")
            || db_url.starts_with("postgresql://"))
        {
            // The URL may hold a password: say what is expected, not what was given.
            return Err(ConfigError::key(
                "database.url",
                "must start with sqlite: or postgres:// (value not shown: it may hold a password)",
            ));
        }

        let auth = &self.auth;
        if auth.tokens.is_empty() && auth.read_only_tokens.is_empty() && !auth.allow_unauthenticated
        {
            return Err(ConfigError::key(
                "auth.tokens",
                "no bearer token configured: set auth.tokens (SWITCHBOARD__AUTH__TOKENS=tok1,tok2), or auth.allow_unauthenticated=true for local use",
            ));
        }
        for token in &auth.tokens {
            check_token("auth.tokens", token)?;
        }
        for token in &auth.read_only_tokens {
            check_token("auth.read_only_tokens", token)?;
            // One token, one kind: otherwise which RPCs it may call depends
            // on which list is read first.
            if auth
                .tokens
                .iter()
                .any(|full| full.expose_secret() == token.expose_secret())
            {
                return Err(ConfigError::key(
                    "auth.read_only_tokens",
                    "a token is also in auth.tokens; give each token one kind",
                ));
            }
        }
        self.check_allowed_origins()?;
        if let Some(url) = &server.panel.grpc_web_url
            && !matches!(url.scheme(), "http" | "https")
        {
            return Err(ConfigError::key(
                "server.panel.grpc_web_url",
                "must be an http:// or https:// URL",
            ));
        }
        for (key, token) in [
            ("webhooks.optico_token", &self.webhooks.optico_token),
            ("webhooks.focalscope_token", &self.webhooks.focalscope_token),
        ] {
            if let Some(token) = token {
                check_token(key, token)?;
                if !token
                    .expose_secret()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
                {
                    return Err(ConfigError::key(
                        key,
                        "may only hold letters, digits and - _ . ~ (it is a URL path segment)",
                    ));
                }
            }
        }

        for (key, url) in [
            (
                "vendors.optico.base_url",
                Some(&self.vendors.optico.base_url),
            ),
            (
                "vendors.iadvize.base_url",
                Some(&self.vendors.iadvize.base_url),
            ),
            ("vendors.ccai.base_url", self.vendors.ccai.base_url.as_ref()),
            (
                "telemetry.otlp_endpoint",
                self.telemetry.otlp_endpoint.as_ref(),
            ),
        ] {
            if let Some(url) = url
                && !matches!(url.scheme(), "http" | "https")
            {
                return Err(ConfigError::key(key, "must be an http:// or https:// URL"));
            }
        }
        for vendor in [
            Provider::Optico,
            Provider::Iadvize,
            Provider::FocalScope,
            Provider::Ccai,
        ] {
            let limits = self.vendor_pipeline(vendor);
            let key = |name: &str| format!("vendors.{}.{name}", vendor.as_str());
            if limits.max_in_flight == 0 {
                return Err(ConfigError::key(
                    &key("max_in_flight"),
                    "must be greater than 0",
                ));
            }
            if limits.max_answer_bytes == 0 {
                return Err(ConfigError::key(
                    &key("max_answer_bytes"),
                    "must be greater than 0",
                ));
            }
            if let Some(rate) = limits.max_requests_per_second
                && !(rate.is_finite() && rate > 0.0)
            {
                return Err(ConfigError::key(
                    &key("max_requests_per_second"),
                    "must be a positive number of requests per second (0 or unset: unpaced)",
                ));
            }
            if let Some(breaker) = &limits.breaker {
                if breaker.failure_threshold == 0 {
                    return Err(ConfigError::key(
                        &key("breaker.failure_threshold"),
                        "must be greater than 0 (set breaker.enabled = false to turn it off)",
                    ));
                }
                if breaker.cool_down.is_zero() {
                    return Err(ConfigError::key(
                        &key("breaker.cool_down_ms"),
                        "must be greater than 0",
                    ));
                }
            }
        }
        self.optico_timezone()?;
        let ccai = &self.vendors.ccai;
        let ccai_set = [
            ccai.base_url.is_some(),
            ccai.company_key.is_some(),
            ccai.company_secret.is_some(),
        ];
        if ccai_set.contains(&true) {
            for (key, set) in [
                ("vendors.ccai.base_url", ccai_set[0]),
                ("vendors.ccai.company_key", ccai_set[1]),
                ("vendors.ccai.company_secret", ccai_set[2]),
            ] {
                if !set {
                    return Err(ConfigError::key(
                        key,
                        "is required once any vendors.ccai setting is set (base_url, company_key, company_secret)",
                    ));
                }
            }
        }
        self.iadvize_timezone()?;
        if let Some(template) = &self.vendors.focalscope.dial_url {
            for placeholder in ["{agent}", "{number}"] {
                if !template.contains(placeholder) {
                    return Err(ConfigError::key(
                        "vendors.focalscope.dial_url",
                        format!("must contain the {placeholder} placeholder"),
                    ));
                }
            }
            let probe = template.replace("{agent}", "a").replace("{number}", "1");
            match Url::parse(&probe) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                _ => {
                    return Err(ConfigError::key(
                        "vendors.focalscope.dial_url",
                        "must be an http:// or https:// URL template",
                    ));
                }
            }
        }
        if let Some(template) = &self.vendors.focalscope.recording_url {
            let key = "vendors.focalscope.recording_url";
            if !template.contains("{call_id}") && !template.contains("{call_uuid}") {
                return Err(ConfigError::key(
                    key,
                    "must contain the {call_id} or the {call_uuid} placeholder (or both): a URL naming no call cannot be a leg's recording",
                ));
            }
            let probe = template
                .replace("{call_id}", "1")
                .replace("{call_uuid}", "a");
            match Url::parse(&probe) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                _ => {
                    return Err(ConfigError::key(
                        key,
                        "must be an http:// or https:// URL template",
                    ));
                }
            }
        }
        Ok(())
    }

    /// `server.cors.allowed_origins`: exact origins, or `*` alone when no
    /// token is in use (a page anywhere may then call, so there must be
    /// nothing to steal).
    fn check_allowed_origins(&self) -> Result<(), ConfigError> {
        const KEY: &str = "server.cors.allowed_origins";
        let origins = &self.server.cors.allowed_origins;
        if origins.iter().any(|o| o == "*") {
            let auth = &self.auth;
            if !auth.allow_unauthenticated
                || !auth.tokens.is_empty()
                || !auth.read_only_tokens.is_empty()
            {
                return Err(ConfigError::key(
                    KEY,
                    "`*` is refused while bearer tokens are in use: list the exact origins of your agent apps (https://agents.example.com)",
                ));
            }
            if origins.len() > 1 {
                return Err(ConfigError::key(KEY, "`*` must be the only entry"));
            }
            return Ok(());
        }
        for origin in origins {
            if parse_origin(origin).is_none() {
                let shown: String = origin.chars().take(60).collect();
                return Err(ConfigError::key(
                    KEY,
                    format!(
                        "{shown:?} is not an exact origin: write scheme://host[:port] with no path, no wildcard and no trailing slash, e.g. https://agents.example.com"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The time zone Optico writes its `Y-m-d H:i:s` dates in.
    pub fn optico_timezone(&self) -> Result<chrono_tz::Tz, ConfigError> {
        self.vendors.optico.timezone.parse().map_err(|_| {
            ConfigError::key(
                "vendors.optico.timezone",
                "is not an IANA time zone name (e.g. Europe/Paris)",
            )
        })
    }

    /// The time zone iAdvize's `YYYY-MM-DD HH:MM:SS` dates are read in.
    pub fn iadvize_timezone(&self) -> Result<chrono_tz::Tz, ConfigError> {
        self.vendors.iadvize.timezone.parse().map_err(|_| {
            ConfigError::key(
                "vendors.iadvize.timezone",
                "is not an IANA time zone name (e.g. UTC or Europe/Paris)",
            )
        })
    }

    /// The request pipeline settings of one vendor (`vendors.<vendor>.*`).
    /// Optico's two APIs share one: they share `vendors.optico.base_url`.
    pub fn vendor_pipeline(&self, vendor: Provider) -> PipelineSettings {
        let v = &self.vendors;
        let (timeout_ms, max_in_flight, rate, max_answer_bytes, breaker) = match vendor {
            Provider::Optico => (
                v.optico.timeout_ms,
                v.optico.max_in_flight,
                v.optico.max_requests_per_second,
                v.optico.max_answer_bytes,
                &v.optico.breaker,
            ),
            Provider::Iadvize => (
                v.iadvize.timeout_ms,
                v.iadvize.max_in_flight,
                v.iadvize.max_requests_per_second,
                v.iadvize.max_answer_bytes,
                &v.iadvize.breaker,
            ),
            Provider::FocalScope => (
                v.focalscope.timeout_ms,
                v.focalscope.max_in_flight,
                v.focalscope.max_requests_per_second,
                v.focalscope.max_answer_bytes,
                &v.focalscope.breaker,
            ),
            Provider::Ccai => (
                v.ccai.timeout_ms,
                v.ccai.max_in_flight,
                v.ccai.max_requests_per_second,
                v.ccai.max_answer_bytes,
                &v.ccai.breaker,
            ),
        };
        let url = match vendor {
            Provider::Optico => Some(v.optico.base_url.clone()),
            Provider::Iadvize => Some(v.iadvize.base_url.clone()),
            Provider::Ccai => v.ccai.base_url.clone(),
            // The template's placeholders are not URL characters.
            Provider::FocalScope => v.focalscope.dial_url.as_deref().and_then(|template| {
                Url::parse(&template.replace("{agent}", "a").replace("{number}", "1")).ok()
            }),
        };
        let target = url
            .map(|url| match (url.host_str(), url.port_or_known_default()) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                (Some(host), None) => host.to_owned(),
                _ => String::new(),
            })
            .unwrap_or_default();
        PipelineSettings {
            vendor,
            target,
            timeout: Duration::from_millis(timeout_ms),
            max_in_flight,
            // 0 is how a file or the environment turns CCAI's default off.
            max_requests_per_second: rate.filter(|r| *r != 0.0),
            max_answer_bytes,
            breaker: breaker.enabled.then(|| BreakerPolicy {
                failure_threshold: breaker.failure_threshold,
                cool_down: Duration::from_millis(breaker.cool_down_ms),
            }),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database.url.expose_secret().starts_with("sqlite:")
    }

    pub fn stream_options(&self) -> crate::services::updates::StreamOptions {
        let streams = &self.streams;
        crate::services::updates::StreamOptions {
            heartbeat: Duration::from_millis(streams.heartbeat_interval_ms),
            max_lifetime: (streams.max_lifetime_ms > 0)
                .then(|| Duration::from_millis(streams.max_lifetime_ms)),
            buffer: streams.buffer,
            poll_interval: Duration::from_millis(streams.poll_interval_ms),
        }
    }

    pub fn write_options(&self) -> crate::store::WriteOptions {
        crate::store::WriteOptions {
            max_batch: self.database.batch_max_writes,
            max_wait: Duration::from_micros(self.database.batch_wait_us),
            acquire_timeout: Duration::from_millis(self.database.acquire_timeout_ms),
            before_wal_sync: None,
        }
    }

    pub fn grpc_limits(&self) -> crate::grpc::limits::LimitSettings {
        crate::grpc::limits::LimitSettings {
            max_concurrent_requests: self.server.max_concurrent_requests,
            max_queue_wait: Duration::from_millis(self.server.max_queue_wait_ms),
            max_open_streams: self.streams.max_open,
            max_open_streams_per_connection: self.streams.max_open_per_connection,
        }
    }

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.server.drain_timeout_ms)
    }
}

/// `origin` as a browser writes it in the `Origin` header (lowercase
/// scheme and host, no default port, no path), or `None` when it is not
/// exactly that.
pub fn parse_origin(origin: &str) -> Option<String> {
    let url = Url::parse(origin).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none_or(|h| h.contains('*'))
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    // `Url` adds a "/" path to every http URL: the serialised origin must be
    // exactly what was written, so a path, a query, a trailing slash, a
    // default port or upper case all refuse.
    let serialized = url.origin().ascii_serialization();
    (serialized == origin).then_some(serialized)
}

fn check_token(key: &str, token: &SecretString) -> Result<(), ConfigError> {
    let text = token.expose_secret();
    // A token is sent in a header or a URL path: one with quotes, brackets,
    // commas or spaces is almost surely a mistake in writing the list
    // (`SWITCHBOARD__AUTH__TOKENS='["a","b"]'` gives the tokens `["a"` and
    // `"b"]`), and would become a token nobody can send. Refused, naming
    // what was found (never the token: it is a secret).
    if let Some(found) = text.chars().find(|c| {
        c.is_whitespace()
            || c.is_control()
            || !c.is_ascii()
            || matches!(c, '"' | '\'' | '[' | ']' | '{' | '}' | ',' | '\\')
    }) {
        let what = match found {
            '"' | '\'' => "a quote".to_owned(),
            '[' | ']' => "a bracket".to_owned(),
            '{' | '}' => "a brace".to_owned(),
            c if c.is_whitespace() => "a space".to_owned(),
            c => format!("the character U+{:04X}", u32::from(c)),
        };
        return Err(ConfigError::key(
            key,
            format!(
                "a token holds {what}, which looks like a mistake: write a list of tokens as tok1,tok2 (comma-separated, no brackets, quotes or spaces; a TOML file takes [\"tok1\", \"tok2\"]), each of visible ASCII characters"
            ),
        ));
    }
    let len = text.chars().count();
    if len < MIN_TOKEN_LEN {
        return Err(ConfigError::key(
            key,
            format!(
                "a token is {len} characters long; use at least {MIN_TOKEN_LEN} random characters"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    const TOKEN: (&str, &str) = (
        "SWITCHBOARD__AUTH__TOKENS",
        "0123456789abcdef,fedcba9876543210",
    );

    #[test]
    fn defaults_then_environment() {
        let settings = Settings::load_from(
            None,
            env(&[
                TOKEN,
                (
                    "SWITCHBOARD__VENDORS__OPTICO__BASE_URL",
                    "http://127.0.0.1:9/",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(settings.server.grpc_addr.to_string(), "127.0.0.1:50051");
        assert_eq!(settings.server.http_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(
            settings.vendors.optico.base_url.as_str(),
            "http://127.0.0.1:9/"
        );
        assert_eq!(
            settings.vendors.iadvize.base_url.as_str(),
            "https://www.iadvize.com/api/2"
        );
        assert_eq!(settings.auth.tokens.len(), 2);
        assert!(settings.is_sqlite());
        assert_eq!(settings.vendors.optico.timeout_ms, 5000);
        assert_eq!(
            settings.iadvize_timezone().unwrap(),
            chrono_tz::Europe::Paris
        );
        assert_eq!(settings.vendors.iadvize.poll_interval_ms, 2000);
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "[server]\ngrpc_addr = \"0.0.0.0:6000\"\n[vendors.optico]\ntimeout_ms = 100\n",
        )
        .unwrap();
        let settings = Settings::load_from(
            Some(&path),
            env(&[TOKEN, ("SWITCHBOARD__VENDORS__OPTICO__TIMEOUT_MS", "250")]),
        )
        .unwrap();
        assert_eq!(settings.server.grpc_addr.to_string(), "0.0.0.0:6000");
        assert_eq!(settings.vendors.optico.timeout_ms, 250);
    }

    #[test]
    fn errors_name_the_key() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[TOKEN, ("SWITCHBOARD__SERVER__GRPC_ADDR", "nope")],
                "server.grpc_addr",
            ),
            (
                &[TOKEN, ("SWITCHBOARD__VENDORS__OPTICO__TIMEOUT_MS", "soon")],
                "vendors.optico.timeout_ms",
            ),
            (
                &[TOKEN, ("SWITCHBOARD__VENDORS__OPTICO__TIMEOUT_MS", "0")],
                "vendors.optico.timeout_ms",
            ),
            (
                &[
                    TOKEN,
                    ("SWITCHBOARD__VENDORS__OPTICO__TIMEZONE", "Mars/Olympus"),
                ],
                "vendors.optico.timezone",
            ),
            (
                &[TOKEN, ("SWITCHBOARD__VENDORS__IADVIZE__TIMEZONE", "Paris")],
                "vendors.iadvize.timezone",
            ),
            (
                &[
                    TOKEN,
                    (
                        "SWITCHBOARD__VENDORS__FOCALSCOPE__DIAL_URL",
                        "http://pbx/dial?n={number}",
                    ),
                ],
                "vendors.focalscope.dial_url",
            ),
            (
                &[
                    TOKEN,
                    (
                        "SWITCHBOARD__VENDORS__FOCALSCOPE__RECORDING_URL",
                        "http://pbx/recording",
                    ),
                ],
                "vendors.focalscope.recording_url",
            ),
            (
                &[
                    TOKEN,
                    (
                        "SWITCHBOARD__VENDORS__FOCALSCOPE__RECORDING_URL",
                        "ftp://pbx/{call_id}",
                    ),
                ],
                "vendors.focalscope.recording_url",
            ),
            (
                &[TOKEN, ("SWITCHBOARD__WEBHOOKS__OPTICO_TOKEN", "short")],
                "webhooks.optico_token",
            ),
            (
                &[
                    TOKEN,
                    ("SWITCHBOARD__DATABASE__URL", "mysql://u:hunter2@h/db"),
                ],
                "database.url",
            ),
            (
                &[
                    TOKEN,
                    ("SWITCHBOARD__SERVER__TLS__CLIENT_CA_PATH", "/etc/ca.crt"),
                ],
                "server.tls.client_ca_path",
            ),
            (
                &[TOKEN, ("SWITCHBOARD__STREAMS__MAX_OPEN", "0")],
                "streams.max_open",
            ),
            (
                &[TOKEN, ("SWITCHBOARD__SERVER__HTTP__HEADER_TIMEOUT_MS", "0")],
                "server.http.header_timeout_ms",
            ),
            (&[("SWITCHBOARD__AUTH__TOKENS", "short")], "auth.tokens"),
            (
                &[(
                    "SWITCHBOARD__AUTH__TOKENS",
                    r#"["0123456789abcdef","fedcba9876543210"]"#,
                )],
                "auth.tokens",
            ),
            (
                &[(
                    "SWITCHBOARD__AUTH__TOKENS",
                    "0123456789abcdef, fedcba9876543210",
                )],
                "auth.tokens",
            ),
            (
                &[
                    TOKEN,
                    (
                        "SWITCHBOARD__AUTH__READ_ONLY_TOKENS",
                        "'0123456789abcdefgh'",
                    ),
                ],
                "auth.read_only_tokens",
            ),
            (
                &[
                    TOKEN,
                    (
                        "SWITCHBOARD__WEBHOOKS__OPTICO_TOKEN",
                        "\"0123456789abcdef\"",
                    ),
                ],
                "webhooks.optico_token",
            ),
            (&[], "auth.tokens"),
            (
                &[TOKEN, ("SWITCHBOARD__VENDORS__OPTICO__BASE_URL", "ftp://x")],
                "vendors.optico.base_url",
            ),
        ];
        for (vars, key) in cases {
            let err = Settings::load_from(None, env(vars))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err} should name {key}");
            assert!(!err.contains("hunter2"), "{err} leaks a secret");
            assert!(!err.contains('\n'), "{err} should be one line");
        }
    }

    #[test]
    fn read_only_tokens_and_origins_are_checked() {
        let settings = Settings::load_from(
            None,
            env(&[
                ("SWITCHBOARD__AUTH__READ_ONLY_TOKENS", "ro-0123456789abcdef"),
                (
                    "SWITCHBOARD__SERVER__CORS__ALLOWED_ORIGINS",
                    "https://agents.example.com,http://127.0.0.1:8080",
                ),
            ]),
        )
        .expect("read-only tokens alone are enough");
        assert_eq!(settings.auth.read_only_tokens.len(), 1);
        assert_eq!(
            settings.server.cors.allowed_origins,
            ["https://agents.example.com", "http://127.0.0.1:8080"]
        );
        assert!(!settings.server.panel.enabled);

        let refused: &[(&[(&str, &str)], &str)] = &[
            (
                &[TOKEN, ("SWITCHBOARD__AUTH__READ_ONLY_TOKENS", "short")],
                "auth.read_only_tokens",
            ),
            (
                &[
                    TOKEN,
                    ("SWITCHBOARD__AUTH__READ_ONLY_TOKENS", "0123456789abcdef"),
                ],
                "also in auth.tokens",
            ),
            (
                &[TOKEN, ("SWITCHBOARD__SERVER__CORS__ALLOWED_ORIGINS", "*")],
                "`*` is refused",
            ),
            (
                &[
                    ("SWITCHBOARD__AUTH__ALLOW_UNAUTHENTICATED", "true"),
                    (
                        "SWITCHBOARD__SERVER__CORS__ALLOWED_ORIGINS",
                        "*,https://a.example.com",
                    ),
                ],
                "only entry",
            ),
        ];
        for (vars, expected) in refused {
            let err = Settings::load_from(None, env(vars))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err} should say {expected}");
            assert!(!err.contains("0123456789abcdef"), "{err} leaks a token");
        }
        for origin in [
            "https://agents.example.com/",
            "https://agents.example.com/panel",
            "https://*.example.com",
            "agents.example.com",
            "HTTPS://agents.example.com",
            "https://agents.example.com:443",
            "ftp://agents.example.com",
            "https://user@agents.example.com",
        ] {
            let err = Settings::load_from(
                None,
                env(&[
                    TOKEN,
                    ("SWITCHBOARD__SERVER__CORS__ALLOWED_ORIGINS", origin),
                ]),
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("server.cors.allowed_origins") && err.contains("exact origin"),
                "{origin}: {err}"
            );
        }
        // `*` is fine when nothing needs a token.
        Settings::load_from(
            None,
            env(&[
                ("SWITCHBOARD__AUTH__ALLOW_UNAUTHENTICATED", "true"),
                ("SWITCHBOARD__SERVER__CORS__ALLOWED_ORIGINS", "*"),
            ]),
        )
        .unwrap();
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "[vendors.optico]\napikey = \"x\"\n").unwrap();
        let err = Settings::load_from(Some(&path), env(&[TOKEN]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("apikey"), "{err}");
    }

    #[test]
    fn secrets_are_not_printed() {
        let settings = Settings::load_from(
            None,
            env(&[
                TOKEN,
                (
                    "SWITCHBOARD__VENDORS__OPTICO__API_KEY",
                    "b7e2c8a14f9d3650a1e7c4d8b2f6a395e",
                ),
            ]),
        )
        .unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("b7e2c8a14f9d"));
        assert!(!printed.contains("0123456789abcdef"));
    }
}
