//! Test harness: the real application started on port 0 with a fresh
//! database, vendors played by local HTTP servers answering as their
//! documentation shows, and gRPC / HTTP clients for it.

pub mod ccai_doc;
pub mod fake_ccai;
pub mod fake_focalscope;
pub mod fake_iadvize;
pub mod fake_optico;
pub mod fake_optico_data;
pub mod postgres;
pub mod process;

use std::{collections::HashMap, time::Duration};

use switchboard::{
    app::{Application, ShutdownHandle},
    config::Settings,
    pb::v1::{self as proto, call_context_service_client::CallContextServiceClient},
};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tonic::{
    Request, Status,
    metadata::MetadataValue,
    service::interceptor::InterceptedService,
    transport::{Channel, Endpoint},
};

pub const TEST_TOKEN: &str = "test-token-0123456789abcdef";
pub const WEBHOOK_TOKEN: &str = "webhook-token-0123456789";
pub const FOCALSCOPE_TOKEN: &str = "focalscope-token-0123456789";
/// The API key of the Optico documentation.
pub const OPTICO_API_KEY: &str = "b7e2c8a14f9d3650a1e7c4d8b2f6a395e";

/// Which database a test app uses.
#[derive(Clone)]
pub enum Db {
    /// A fresh SQLite file in the app's temp dir.
    Sqlite,
    /// A given URL (e.g. a fresh PostgreSQL database, or a SQLite file shared
    /// by two app lifetimes).
    Url(String),
}

/// Options of a test app; `Default` gives SQLite and no vendor.
#[derive(Clone)]
pub struct AppOptions {
    pub db: Db,
    pub optico_url: Option<String>,
    pub iadvize_url: Option<String>,
    /// Extra SWITCHBOARD__… variables.
    pub env: Vec<(String, String)>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            db: Db::Sqlite,
            optico_url: None,
            iadvize_url: None,
            env: Vec::new(),
        }
    }
}

impl AppOptions {
    pub fn optico(mut self, url: &str) -> Self {
        self.optico_url = Some(url.to_owned());
        self
    }

    /// Points iAdvize at `url` with the fake's API key.
    pub fn iadvize(mut self, url: &str) -> Self {
        self.iadvize_url = Some(url.to_owned());
        self
    }

    pub fn env(mut self, key: &str, value: impl ToString) -> Self {
        self.env.push((key.to_owned(), value.to_string()));
        self
    }

    /// Points `vendors.focalscope.dial_url` at a fake.
    pub fn focalscope(self, fake: &fake_focalscope::FakeFocalScope) -> Self {
        self.env(
            "SWITCHBOARD__VENDORS__FOCALSCOPE__DIAL_URL",
            fake.dial_url(),
        )
    }

    /// Points `vendors.ccai.*` at a fake.
    pub fn ccai(self, fake: &fake_ccai::FakeCcai) -> Self {
        self.env("SWITCHBOARD__VENDORS__CCAI__BASE_URL", &fake.url)
            .env(
                "SWITCHBOARD__VENDORS__CCAI__COMPANY_KEY",
                fake_ccai::COMPANY_KEY,
            )
            .env(
                "SWITCHBOARD__VENDORS__CCAI__COMPANY_SECRET",
                fake_ccai::COMPANY_SECRET,
            )
    }

    pub fn db(mut self, db: Db) -> Self {
        self.db = db;
        self
    }
}

pub struct TestApp {
    pub grpc_port: u16,
    pub http_port: u16,
    shutdown: ShutdownHandle,
    task: Option<JoinHandle<()>>,
    pub http: reqwest::Client,
    /// Keeps the SQLite file alive for the app's lifetime.
    _dir: TempDir,
}

pub type AuthedChannel = InterceptedService<Channel, BearerToken>;

#[derive(Clone)]
pub struct BearerToken(pub Option<MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Settings for a test app: listeners on 127.0.0.1:0, test tokens, short
/// timeouts.
pub fn test_settings(dir: &std::path::Path, options: &AppOptions) -> Settings {
    let db_url = match &options.db {
        Db::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("switchboard.db").display()),
        Db::Url(url) => url.clone(),
    };
    let mut env: HashMap<String, String> = [
        ("SWITCHBOARD__SERVER__GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("SWITCHBOARD__SERVER__HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("SWITCHBOARD__SERVER__DRAIN_TIMEOUT_MS", "3000".to_owned()),
        ("SWITCHBOARD__DATABASE__URL", db_url),
        ("SWITCHBOARD__AUTH__TOKENS", TEST_TOKEN.to_owned()),
        (
            "SWITCHBOARD__WEBHOOKS__OPTICO_TOKEN",
            WEBHOOK_TOKEN.to_owned(),
        ),
        (
            "SWITCHBOARD__WEBHOOKS__FOCALSCOPE_TOKEN",
            FOCALSCOPE_TOKEN.to_owned(),
        ),
        ("SWITCHBOARD__VENDORS__OPTICO__TIMEOUT_MS", "500".to_owned()),
        (
            "SWITCHBOARD__VENDORS__FOCALSCOPE__TIMEOUT_MS",
            "500".to_owned(),
        ),
        ("SWITCHBOARD__VENDORS__CCAI__TIMEOUT_MS", "500".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(url) = &options.optico_url {
        env.insert("SWITCHBOARD__VENDORS__OPTICO__BASE_URL".into(), url.clone());
        env.insert(
            "SWITCHBOARD__VENDORS__OPTICO__API_KEY".into(),
            OPTICO_API_KEY.into(),
        );
    }
    if let Some(url) = &options.iadvize_url {
        env.insert(
            "SWITCHBOARD__VENDORS__IADVIZE__BASE_URL".into(),
            url.clone(),
        );
        env.insert(
            "SWITCHBOARD__VENDORS__IADVIZE__API_KEY".into(),
            fake_iadvize::IADVIZE_API_KEY.into(),
        );
        env.insert(
            "SWITCHBOARD__VENDORS__IADVIZE__TIMEOUT_MS".into(),
            "500".into(),
        );
    }
    for (key, value) in &options.env {
        env.insert(key.clone(), value.clone());
    }
    Settings::load_from(None, Some(env)).expect("test settings are valid")
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(AppOptions::default()).await
    }

    pub async fn spawn_with(options: AppOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = test_settings(dir.path(), &options);
        let app = Application::build(settings.clone())
            .await
            .expect("app builds");
        let (grpc_port, http_port) = (app.grpc_port(), app.http_port());
        let shutdown = app.shutdown_handle();
        let task = tokio::spawn(async move {
            app.run_until_stopped().await.expect("app runs");
        });
        Self {
            grpc_port,
            http_port,
            shutdown,
            task: Some(task),
            http: http_client(),
            _dir: dir,
        }
    }

    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(self.grpc_url())
            .expect("url")
            .connect()
            .await
            .expect("grpc connects")
    }

    /// A channel sending `token` (or nothing).
    pub async fn channel_with_token(&self, token: Option<&str>) -> AuthedChannel {
        let value = token.map(|t| format!("Bearer {t}").parse().expect("ascii token"));
        InterceptedService::new(self.channel().await, BearerToken(value))
    }

    pub async fn calls(&self) -> CallContextServiceClient<AuthedChannel> {
        CallContextServiceClient::new(self.channel_with_token(Some(TEST_TOKEN)).await)
    }

    /// POSTs an Optico realtime payload as the documented form field.
    pub async fn post_optico_form(&self, payload: &str) -> reqwest::Response {
        self.http
            .post(self.http_url(&format!("/webhooks/optico/{WEBHOOK_TOKEN}")))
            .form(&[("realtimeData", payload)])
            .send()
            .await
            .expect("webhook request")
    }

    /// POSTs an Optico realtime payload as a JSON body.
    pub async fn post_optico_json(&self, payload: &str) -> reqwest::Response {
        self.http
            .post(self.http_url(&format!("/webhooks/optico/{WEBHOOK_TOKEN}")))
            .header("content-type", "application/json")
            .body(payload.to_owned())
            .send()
            .await
            .expect("webhook request")
    }

    /// The FocalScope callback URL (without query).
    pub fn focalscope_callback_url(&self) -> String {
        self.http_url(&format!("/webhooks/focalscope/{FOCALSCOPE_TOKEN}"))
    }

    /// Sends a FocalScope callback (a query string as the URL adapter builds
    /// it).
    pub async fn focalscope_callback(&self, query: &str) -> reqwest::Response {
        self.http
            .get(format!("{}?{query}", self.focalscope_callback_url()))
            .send()
            .await
            .expect("callback request")
    }

    pub async fn dials(
        &self,
    ) -> switchboard::pb::v1::outbound_dial_service_client::OutboundDialServiceClient<AuthedChannel>
    {
        switchboard::pb::v1::outbound_dial_service_client::OutboundDialServiceClient::new(
            self.channel_with_token(Some(TEST_TOKEN)).await,
        )
    }

    /// GetCall by any reference.
    pub async fn get_call(&self, call: proto::CallRef) -> Result<proto::Call, Status> {
        self.calls()
            .await
            .get_call(proto::GetCallRequest { call: Some(call) })
            .await
            .map(|r| r.into_inner().call.expect("call"))
    }

    /// Opens StreamCallUpdates.
    pub async fn stream(
        &self,
        request: proto::StreamCallUpdatesRequest,
    ) -> tonic::Streaming<proto::StreamCallUpdatesResponse> {
        self.calls()
            .await
            .stream_call_updates(request)
            .await
            .expect("stream opens")
            .into_inner()
    }

    /// Stops the app and waits for it to drain.
    pub async fn stop(mut self) {
        self.shutdown.shutdown();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("app stops within its drain time")
                .expect("app task");
        }
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}

/// Reads the next non-heartbeat update, failing after `timeout`.
pub async fn next_update(
    stream: &mut tonic::Streaming<proto::StreamCallUpdatesResponse>,
    timeout: Duration,
) -> proto::StreamCallUpdatesResponse {
    loop {
        let message = tokio::time::timeout(timeout, stream.message())
            .await
            .expect("an update arrives in time")
            .expect("stream healthy")
            .expect("stream open");
        if !matches!(
            message.update,
            Some(proto::stream_call_updates_response::Update::Heartbeat(_))
        ) {
            return message;
        }
    }
}

/// Asserts nothing but heartbeats arrive for `wait`.
pub async fn assert_no_update(
    stream: &mut tonic::Streaming<proto::StreamCallUpdatesResponse>,
    wait: Duration,
) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.message()).await {
            Err(_) => return,
            Ok(Ok(Some(message))) => {
                if !matches!(
                    message.update,
                    Some(proto::stream_call_updates_response::Update::Heartbeat(_))
                ) {
                    panic!("unexpected update: {message:?}");
                }
            }
            Ok(other) => panic!("stream ended: {other:?}"),
        }
    }
}

/// The field names of a status's BadRequest details.
pub fn violated_fields(status: &Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// The `ErrorInfo` reason of a status, e.g. "VENDOR_NOT_FOUND".
pub fn reason(status: &Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

/// Asserts INVALID_ARGUMENT naming exactly `fields`.
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Status>, fields: &[&str]) {
    let status = result.expect_err("the request is refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(violated_fields(&status), fields, "{}", status.message());
}

/// Owned key / value pairs, as a fake vendor decodes a query or a form.
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An HTTP client for tests (with the TLS crypto provider the app installs;
/// reqwest is built without a default one).
pub fn http_client() -> reqwest::Client {
    switchboard::vendors::install_crypto_provider();
    reqwest::Client::new()
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A call reference by Optico id.
pub fn optico_ref(id: &str) -> proto::CallRef {
    proto::CallRef {
        r#ref: Some(proto::call_ref::Ref::OpticoCallId(id.to_owned())),
    }
}

/// A call reference of any kind.
pub fn call_ref(reference: proto::call_ref::Ref) -> proto::CallRef {
    proto::CallRef {
        r#ref: Some(reference),
    }
}

/// A call reference by switchboard id.
pub fn id_ref(id: &str) -> proto::CallRef {
    proto::CallRef {
        r#ref: Some(proto::call_ref::Ref::Id(id.to_owned())),
    }
}
