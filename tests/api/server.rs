//! The server around the services: health, reflection, authentication,
//! limits, HTTP endpoints, and start-up errors of the binary.

use std::process::Command;

use switchboard::pb::v1::{self as proto, call_context_service_client::CallContextServiceClient};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::{TEST_TOKEN, TestApp};

#[tokio::test]
async fn health_reports_every_service_serving_without_a_token() {
    let app = TestApp::spawn().await;
    let mut health = HealthClient::new(app.channel().await);
    for service in [
        "",
        "switchboard.v1.CallContextService",
        "switchboard.v1.AgentsService",
        "switchboard.v1.OutboundDialService",
        "switchboard.v1.StatsService",
    ] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
}

#[tokio::test]
async fn health_turns_not_serving_when_shutting_down() {
    let app = TestApp::spawn().await;
    let mut health = HealthClient::new(app.channel().await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "switchboard.v1.CallContextService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.next().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);
    app.shutdown_handle().shutdown();
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), watch.next())
        .await
        .expect("health watch reports in time");
    if let Some(Ok(update)) = next {
        assert_eq!(update.status(), ServingStatus::NotServing);
    }
}

#[tokio::test]
async fn reflection_lists_the_services_in_v1_and_v1alpha() {
    use tonic_reflection::pb::{v1, v1alpha};
    let app = TestApp::spawn().await;

    let mut client = v1::server_reflection_client::ServerReflectionClient::new(app.channel().await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("unexpected reflection answer: {response:?}");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "switchboard.v1.CallContextService",
        "switchboard.v1.AgentsService",
        "switchboard.v1.OutboundDialService",
        "switchboard.v1.StatsService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }

    let mut alpha =
        v1alpha::server_reflection_client::ServerReflectionClient::new(app.channel().await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "switchboard.v1.CallContextService".into(),
            ),
        ),
    };
    let mut responses = alpha
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    assert!(matches!(
        response.message_response,
        Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
    ));
}

#[tokio::test]
async fn rpcs_need_a_valid_bearer_token() {
    let app = TestApp::spawn().await;
    let request = proto::GetCallRequest {
        call: Some(crate::helpers::optico_ref("1")),
    };
    for token in [None, Some("wrong-token-0123456789"), Some("")] {
        let mut client = CallContextServiceClient::new(app.channel_with_token(token).await);
        let status = client.get_call(request.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{token:?}");
        assert!(!status.message().contains(TEST_TOKEN));
    }
    // Streams too.
    let mut client = CallContextServiceClient::new(app.channel_with_token(None).await);
    let status = client
        .stream_call_updates(proto::StreamCallUpdatesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // With the token, the request goes through (and the call is unknown).
    let mut client = CallContextServiceClient::new(app.channel_with_token(Some(TEST_TOKEN)).await);
    assert_eq!(
        client.get_call(request).await.unwrap_err().code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn oversized_requests_are_refused() {
    let app = TestApp::spawn().await;
    let status = app
        .calls()
        .await
        .start_call(proto::StartCallRequest {
            agent: "a".repeat(200_000),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
}

#[tokio::test]
async fn http_health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.http.get(app.http_url(path)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    assert_eq!(
        app.post_optico_form(crate::helpers::fake_optico::WEBHOOK_VIEW)
            .await
            .status(),
        200
    );
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchboard_webhooks_total"), "{metrics}");
    // The webhook token never shows up in metrics.
    assert!(!metrics.contains(crate::helpers::WEBHOOK_TOKEN));
}

#[test]
fn the_binary_refuses_bad_configuration_with_one_line_naming_the_key() {
    let binary = env!("CARGO_BIN_EXE_switchboard");
    let cases = [
        (
            vec![("SWITCHBOARD__SERVER__GRPC_ADDR", "not-an-address")],
            "server.grpc_addr",
        ),
        (vec![], "auth.tokens"),
        (
            vec![("SWITCHBOARD__VENDORS__OPTICO__TIMEZONE", "Nowhere/Land")],
            "vendors.optico.timezone",
        ),
        (
            vec![("SWITCHBOARD__DATABASE__URL", "mysql://user:hunter2@db/x")],
            "database.url",
        ),
        // A token list written as JSON becomes tokens nobody can send.
        (
            vec![(
                "SWITCHBOARD__AUTH__TOKENS",
                r#"["hunter2-0123456789","hunter2-9876543210"]"#,
            )],
            "auth.tokens",
        ),
    ];
    for (vars, key) in cases {
        let mut command = Command::new(binary);
        command.arg("serve").env_remove("SWITCHBOARD_CONFIG");
        for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD")) {
            command.env_remove(name);
        }
        if key != "auth.tokens" || !vars.is_empty() {
            command.env("SWITCHBOARD__AUTH__TOKENS", TEST_TOKEN);
        }
        for (name, value) in &vars {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert!(!output.status.success(), "{key}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<_> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].contains(key), "{stderr} should name {key}");
        assert!(!stderr.contains("hunter2"), "{stderr} leaks a secret");
    }
}

#[test]
fn help_and_version_work() {
    let binary = env!("CARGO_BIN_EXE_switchboard");
    let version = Command::new(binary).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["watch", "--help"],
        vec!["migrate", "--help"],
    ] {
        let output = Command::new(binary).args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        assert!(!output.stdout.is_empty());
    }
    let watch_help = Command::new(binary)
        .args(["watch", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&watch_help.stdout).contains("optico:"));
}

#[tokio::test]
async fn the_migrate_command_prepares_sqlite_and_postgres_databases() {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let postgres = crate::helpers::postgres::fresh_database().await;
    for url in [sqlite, postgres] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD")) {
            command.env_remove(name);
        }
        let output = command
            .arg("migrate")
            .env("SWITCHBOARD__DATABASE__URL", &url)
            .env("SWITCHBOARD__AUTH__TOKENS", TEST_TOKEN)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let db = Database::connect(url.as_str()).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) FROM seaql_migrations",
            ))
            .await
            .unwrap();
        let applied: i64 = rows[0].try_get_by_index(0).unwrap();
        use sea_orm_migration::MigratorTrait;
        let expected = switchboard::store::migration::Migrator::migrations().len() as i64;
        assert_eq!(applied, expected, "{url}");
    }
}

/// A fake OpenTelemetry collector: records the spans it is sent.
#[derive(Clone, Default)]
struct Collector(std::sync::Arc<std::sync::Mutex<Vec<OtlpSpan>>>);

type OtlpSpan = opentelemetry_proto::tonic::trace::v1::Span;

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService
    for Collector
{
    async fn export(
        &self,
        request: tonic::Request<
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
        >,
    ) -> Result<
        tonic::Response<
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse,
        >,
        tonic::Status,
    > {
        let mut spans = self.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(Default::default()))
    }
}

impl Collector {
    /// Listens on 127.0.0.1; returns the OTLP endpoint URL.
    async fn start(&self) -> String {
        use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(self.clone()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
        tokio::spawn(server);
        format!("http://127.0.0.1:{port}")
    }

    fn spans(&self) -> Vec<OtlpSpan> {
        self.0.lock().unwrap().clone()
    }
}

/// A span attribute as text (strings as they are, numbers in decimal).
fn attribute(span: &OtlpSpan, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|value| match value {
            Value::StringValue(s) => s.clone(),
            Value::IntValue(i) => i.to_string(),
            Value::BoolValue(b) => b.to_string(),
            other => format!("{other:?}"),
        })
}

/// The caller's trace context of the traced Dial.
const CALLER_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
/// The webhook sender's.
const SENDER_TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";

/// What a traced run of the binary gives: the exported spans, the log
/// lines and the fake PBX.
struct TracedRun {
    spans: Vec<OtlpSpan>,
    logs: String,
    focalscope: crate::helpers::fake_focalscope::FakeFocalScope,
}

/// Runs the binary exporting to a fake collector, with `log_format`: one
/// Dial and one webhook, each with its caller's `traceparent`, and an open
/// stream; then SIGTERM, which must drain, end the stream resumably and
/// flush the traces.
async fn traced_run(log_format: &str) -> TracedRun {
    let collector = Collector::default();
    let endpoint = collector.start().await;
    let focalscope = crate::helpers::fake_focalscope::FakeFocalScope::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut switchboard = crate::helpers::process::Server::spawn_logging_to(
        &[
            (
                "SWITCHBOARD__DATABASE__URL",
                format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
            ),
            ("SWITCHBOARD__TELEMETRY__OTLP_ENDPOINT", endpoint),
            ("SWITCHBOARD__TELEMETRY__LOG_FORMAT", log_format.to_owned()),
            (
                "SWITCHBOARD__VENDORS__FOCALSCOPE__DIAL_URL",
                focalscope.dial_url(),
            ),
            // Stored webhooks are logged at debug.
            ("RUST_LOG", "info,switchboard::http=debug".to_owned()),
        ],
        &log,
    );
    switchboard.wait_ready().await;

    let mut dial = tonic::Request::new(proto::DialRequest {
        provider: proto::Provider::Focalscope.into(),
        agent: "ext 201".into(),
        destination_number: "+33 6 12 34 56 78".into(),
        request_id: "traced-dial-1".into(),
        ..Default::default()
    });
    dial.metadata_mut().insert(
        "traceparent",
        format!("00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01")
            .parse()
            .unwrap(),
    );
    switchboard.dials().await.dial(dial).await.unwrap();

    let webhook = crate::helpers::http_client()
        .post(format!(
            "http://127.0.0.1:{}/webhooks/optico/{}",
            switchboard.http_port,
            crate::helpers::WEBHOOK_TOKEN
        ))
        .header(
            "traceparent",
            format!("00-{SENDER_TRACE_ID}-b7ad6b7169203331-01"),
        )
        .form(&[("realtimeData", crate::helpers::fake_optico::WEBHOOK_VIEW)])
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 200);
    // A stream that has read everything stored so far (the dial's and the
    // webhook's updates), then waits.
    let mut stream = switchboard.stream(0).await;
    loop {
        let update =
            crate::helpers::next_update(&mut stream, std::time::Duration::from_secs(5)).await;
        if matches!(
            update.update,
            Some(proto::stream_call_updates_response::Update::View(_))
        ) {
            break;
        }
    }

    let started = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || switchboard.terminate())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "exits within the drain time"
    );
    // The open stream was ended by the server, resumably.
    let end = stream.message().await;
    assert!(
        matches!(&end, Err(s) if s.code() == Code::Unavailable) || matches!(end, Ok(None)),
        "{end:?}"
    );
    TracedRun {
        spans: collector.spans(),
        logs: std::fs::read_to_string(&log).unwrap(),
        focalscope,
    }
}

#[tokio::test]
async fn a_dial_is_traced_under_the_callers_trace_from_rpc_to_vendor_to_commit() {
    let TracedRun {
        spans,
        logs,
        focalscope,
    } = traced_run("json").await;
    let caller_trace = hex::decode(CALLER_TRACE_ID).unwrap();
    let in_trace: Vec<&OtlpSpan> = spans
        .iter()
        .filter(|s| s.trace_id == caller_trace)
        .collect();
    let names: Vec<&str> = in_trace.iter().map(|s| s.name.as_str()).collect();
    let find = |name: &str| {
        in_trace
            .iter()
            .find(|s| s.name == name)
            .copied()
            .unwrap_or_else(|| panic!("no {name:?} span in the caller's trace: {names:?}"))
    };

    // The RPC, a child of the caller's span, after the RPC conventions.
    let rpc = find("switchboard.v1.OutboundDialService/Dial");
    assert_eq!(rpc.parent_span_id, hex::decode(CALLER_SPAN_ID).unwrap());
    assert_eq!(rpc.kind, 2, "SERVER");
    for (key, value) in [
        ("rpc.system", "grpc"),
        ("rpc.service", "switchboard.v1.OutboundDialService"),
        ("rpc.method", "Dial"),
        ("rpc.grpc.status_code", "0"),
    ] {
        assert_eq!(attribute(rpc, key).as_deref(), Some(value), "{key}");
    }

    // The vendor request, under the RPC, whose context the PBX was sent.
    let vendor = in_trace
        .iter()
        .find(|s| attribute(s, "vendor").as_deref() == Some("focalscope"))
        .unwrap_or_else(|| panic!("no focalscope request span: {names:?}"));
    assert_eq!(vendor.kind, 3, "CLIENT");
    assert_eq!(attribute(vendor, "endpoint").as_deref(), Some("dial"));
    assert_eq!(
        attribute(vendor, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        attribute(vendor, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        attribute(vendor, "http.response.status_code").as_deref(),
        Some("200")
    );
    let sent = focalscope.traceparents();
    assert_eq!(
        sent,
        [Some(format!(
            "00-{CALLER_TRACE_ID}-{}-01",
            hex::encode(&vendor.span_id)
        ))],
        "the PBX got the vendor request's trace context"
    );
    // Nothing of the URL (which may hold a key or the caller's number).
    for span in &spans {
        for kv in &span.attributes {
            let text = format!("{:?}", kv.value);
            assert!(
                !text.contains("33612345678") && !text.contains("number="),
                "{kv:?}"
            );
        }
    }

    // The commit of the dial's write, linked to its batch and back.
    let commit = find("commit");
    assert_eq!(
        attribute(commit, "db.system.name").as_deref(),
        Some("sqlite")
    );
    assert!(attribute(commit, "db.operation.batch.size").is_some());
    let batch_link = commit.links.first().expect("the commit links to its batch");
    let batch = spans
        .iter()
        .find(|s| s.span_id == batch_link.span_id)
        .expect("the batch span was exported");
    assert_eq!(batch.name, "commit batch");
    assert!(
        batch
            .links
            .iter()
            .any(|l| l.span_id == commit.span_id && l.trace_id == caller_trace),
        "the batch links to the writes it served"
    );
    // Every span of the trace descends from the caller's.
    let ids: Vec<&Vec<u8>> = in_trace.iter().map(|s| &s.span_id).collect();
    for span in &in_trace {
        assert!(
            span.parent_span_id == hex::decode(CALLER_SPAN_ID).unwrap()
                || ids.contains(&&span.parent_span_id),
            "{} has a parent outside the trace",
            span.name
        );
    }

    // The webhook: its own span in its sender's trace, with the route
    // template and never the path (it holds the token).
    let sender_trace = hex::decode(SENDER_TRACE_ID).unwrap();
    let webhook = spans
        .iter()
        .find(|s| s.trace_id == sender_trace && attribute(s, "http.route").is_some())
        .expect("the webhook's span is in its sender's trace");
    assert_eq!(webhook.name, "POST /webhooks/optico/{token}");
    assert_eq!(
        attribute(webhook, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        attribute(webhook, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert!(
        spans
            .iter()
            .any(|s| s.trace_id == sender_trace && s.name == "commit"),
        "the webhook's commit is in its trace"
    );
    let exported = format!("{spans:?}");
    assert!(
        !exported.contains(crate::helpers::WEBHOOK_TOKEN),
        "a span holds the token"
    );

    // Every log line of the Dial names its trace (JSON: in its spans).
    let dial_lines: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("dial accepted by the vendor"))
        .collect();
    assert!(!dial_lines.is_empty(), "{logs}");
    for line in dial_lines {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        let spans = json["spans"].as_array().expect("spans listed");
        assert!(
            spans.iter().any(|s| s["trace_id"] == CALLER_TRACE_ID),
            "{line}"
        );
    }
}

#[tokio::test]
async fn text_log_lines_name_their_trace() {
    let TracedRun { logs, .. } = traced_run("text").await;
    let dial_lines: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("dial accepted by the vendor"))
        .collect();
    assert!(!dial_lines.is_empty(), "{logs}");
    for line in dial_lines {
        assert!(
            line.contains(&format!("trace_id={CALLER_TRACE_ID}")),
            "{line}"
        );
    }
    let webhook_lines: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("webhook stored"))
        .collect();
    assert!(!webhook_lines.is_empty(), "{logs}");
    for line in webhook_lines {
        assert!(
            line.contains(&format!("trace_id={SENDER_TRACE_ID}")),
            "{line}"
        );
    }
}

#[tokio::test]
async fn watch_prints_one_line_per_update_and_refuses_bad_references() {
    let app = TestApp::spawn().await;
    for payload in [
        crate::helpers::fake_optico::WEBHOOK_VIEW,
        crate::helpers::fake_optico::WEBHOOK_CART,
        crate::helpers::fake_optico::WEBHOOK_ORDER,
    ] {
        assert_eq!(app.post_optico_form(payload).await.status(), 200);
    }
    let binary = env!("CARGO_BIN_EXE_switchboard");
    let mut child = tokio::process::Command::new(binary)
        .args([
            "watch",
            "--call",
            "optico:22122563",
            "--after",
            "0",
            "--addr",
            &app.grpc_url(),
            "--token",
            TEST_TOKEN,
        ])
        .env_remove("SWITCHBOARD_TOKEN")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let line = tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line())
            .await
            .expect("a line in time")
            .unwrap()
            .expect("watch still running");
        seen.push(line);
    }
    assert!(
        seen[0].contains("view") && seen[0].contains("http://www.test.com/test.html"),
        "{seen:?}"
    );
    assert!(
        seen[1].contains("cart") && seen[1].contains("1000"),
        "{seen:?}"
    );
    assert!(
        seen[2].contains("order") && seen[2].contains("(sale)"),
        "{seen:?}"
    );
    child.kill().await.unwrap();

    for args in [
        vec!["watch", "--call", "telepathy:1"],
        vec!["watch", "--call", "optico:abc"],
        vec!["watch", "--call", "optico:1", "--agent", "a@b.fr"],
    ] {
        let output = Command::new(binary).args(&args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        assert!(!output.stderr.is_empty());
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs_even_at_debug_level() {
    let optico = crate::helpers::fake_optico::FakeOptico::start().await;
    optico.behave(crate::helpers::fake_optico::Behaviour::InvalidKey);
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (grpc_port, http_port) = (crate::helpers::closed_port(), crate::helpers::closed_port());
    let api_key = crate::helpers::OPTICO_API_KEY;
    // A PostgreSQL URL with a password (the test cluster trusts local
    // connections, so any password is accepted).
    let db_password = "db-pass-0123456789";
    let db_url = crate::helpers::postgres::fresh_database().await.replace(
        "postgres://postgres@",
        &format!("postgres://postgres:{db_password}@"),
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD")) {
        command.env_remove(name);
    }
    let mut child = command
        .arg("serve")
        .env(
            "SWITCHBOARD__SERVER__GRPC_ADDR",
            format!("127.0.0.1:{grpc_port}"),
        )
        .env(
            "SWITCHBOARD__SERVER__HTTP_ADDR",
            format!("127.0.0.1:{http_port}"),
        )
        .env("SWITCHBOARD__DATABASE__URL", &db_url)
        .env("SWITCHBOARD__AUTH__TOKENS", TEST_TOKEN)
        .env(
            "SWITCHBOARD__WEBHOOKS__OPTICO_TOKEN",
            crate::helpers::WEBHOOK_TOKEN,
        )
        .env("SWITCHBOARD__VENDORS__OPTICO__BASE_URL", &optico.url)
        .env("SWITCHBOARD__VENDORS__OPTICO__API_KEY", api_key)
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let client = crate::helpers::http_client();
    let base = format!("http://127.0.0.1:{http_port}");
    let mut ready = false;
    for _ in 0..300 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready);
    // A webhook with the right token, one with a wrong token, an RPC with the
    // bearer token, one whose vendor echoes our key.
    for token in [crate::helpers::WEBHOOK_TOKEN, "wrong-token-0123456789"] {
        client
            .post(format!("{base}/webhooks/optico/{token}"))
            .form(&[("realtimeData", crate::helpers::fake_optico::WEBHOOK_VIEW)])
            .send()
            .await
            .unwrap();
    }
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{grpc_port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let token = crate::helpers::BearerToken(Some(format!("Bearer {TEST_TOKEN}").parse().unwrap()));
    let mut calls = CallContextServiceClient::new(
        tonic::service::interceptor::InterceptedService::new(channel, token),
    );
    let status = calls
        .start_call(proto::StartCallRequest {
            destination_phone: "0033123456789".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();

    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("webhook stored"),
        "the log was written: {logs}"
    );
    for secret in [
        api_key,
        &api_key[..12],
        TEST_TOKEN,
        crate::helpers::WEBHOOK_TOKEN,
        db_password,
    ] {
        assert!(!logs.contains(secret), "{secret} found in the logs");
    }
}
