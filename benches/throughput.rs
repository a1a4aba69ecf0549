//! Throughput of switchboard's durable paths, as ratios against a baseline
//! measured in the same run on the same machine:
//!
//! - baseline: bare durable commits — one row per transaction into a SQLite
//!   file with the same settings switchboard uses (WAL, synchronous=FULL),
//!   through sqlx, no HTTP, no switchboard code;
//! - ingest: Optico webhooks POSTed over HTTP to the real application, each
//!   acknowledged only after its event is committed (from 1 and from 8
//!   concurrent senders);
//! - fan-out: the same webhooks delivered to 1 and to 50 open
//!   StreamCallUpdates streams (time from the first POST to the last update
//!   received by every stream).
//!
//! Absolute numbers depend on the disk; the ratios say what switchboard adds
//! on top of the commit it cannot avoid. Run: `cargo bench --bench throughput`
//! (N webhooks per case: `SWITCHBOARD_BENCH_N`, default 2000).

use std::time::{Duration, Instant};

use switchboard::{
    app::Application,
    config::Settings,
    pb::v1::{self as proto, call_context_service_client::CallContextServiceClient},
};

const TOKEN: &str = "bench-token-0123456789abcdef";
const WEBHOOK_TOKEN: &str = "bench-webhook-0123456789";

fn payload(i: usize) -> String {
    format!(
        r#"{{"callId": {call}, "type": "view", "view": {{"id": {i}, "pageTitle": "Page {i}", "url": "http://www.test.com/{i}.html", "createdAt": "2018-01-02 09:25:41"}}, "cart": null, "order": null}}"#,
        call = 22_000_000 + i % 50,
    )
}

async fn baseline(dir: &std::path::Path, n: usize) -> Duration {
    use sea_orm::sqlx::{
        ConnectOptions, Connection,
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    };
    let options = SqliteConnectOptions::new()
        .filename(dir.join("baseline.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = options.connect().await.expect("baseline db");
    sea_orm::sqlx::query(
        "CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .expect("table");
    let started = Instant::now();
    for i in 0..n {
        let mut tx = conn.begin().await.expect("begin");
        sea_orm::sqlx::query("INSERT INTO log (payload) VALUES (?)")
            .bind(payload(i))
            .execute(&mut *tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
    }
    let elapsed = started.elapsed();
    let _ = conn.close().await;
    elapsed
}

struct App {
    http_url: String,
    grpc_url: String,
    stop: switchboard::app::ShutdownHandle,
    _dir: tempfile::TempDir,
}

async fn start_app() -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [
        ("SWITCHBOARD__SERVER__GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("SWITCHBOARD__SERVER__HTTP_ADDR", "127.0.0.1:0".to_owned()),
        (
            "SWITCHBOARD__DATABASE__URL",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("switchboard.db").display()
            ),
        ),
        ("SWITCHBOARD__AUTH__TOKENS", TOKEN.to_owned()),
        (
            "SWITCHBOARD__WEBHOOKS__OPTICO_TOKEN",
            WEBHOOK_TOKEN.to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = Settings::load_from(None, Some(env)).expect("settings");
    let app = Application::build(settings).await.expect("app");
    let (http, grpc) = (app.http_port(), app.grpc_port());
    let stop = app.shutdown_handle();
    tokio::spawn(app.run_until_stopped());
    App {
        http_url: format!("http://127.0.0.1:{http}/webhooks/optico/{WEBHOOK_TOKEN}"),
        grpc_url: format!("http://127.0.0.1:{grpc}"),
        stop,
        _dir: dir,
    }
}

/// POSTs webhooks `range` from `senders` concurrent clients; returns when all
/// are acknowledged.
async fn ingest(app: &App, range: std::ops::Range<usize>, senders: usize) {
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for sender in 0..senders {
        let (client, url) = (client.clone(), app.http_url.clone());
        let mine: Vec<usize> = range.clone().filter(|i| i % senders == sender).collect();
        tasks.push(tokio::spawn(async move {
            for i in mine {
                let response = client
                    .post(&url)
                    .form(&[("realtimeData", payload(i))])
                    .send()
                    .await
                    .expect("post");
                assert!(response.status().is_success());
            }
        }));
    }
    for task in tasks {
        task.await.expect("sender");
    }
}

/// Opens `count` streams from the current head, ingests `n` webhooks, and
/// returns the time until every stream has received all of them.
async fn fan_out(app: &App, offset: usize, n: usize, count: usize) -> Duration {
    let channel = tonic::transport::Endpoint::from_shared(app.grpc_url.clone())
        .expect("url")
        .connect()
        .await
        .expect("grpc");
    let token: tonic::metadata::MetadataValue<_> =
        format!("Bearer {TOKEN}").parse().expect("token");
    // Start after everything already in the log.
    let mut head = 0;
    {
        let mut client = CallContextServiceClient::new(channel.clone());
        let mut request = tonic::Request::new(proto::StreamCallUpdatesRequest::default());
        request
            .metadata_mut()
            .insert("authorization", token.clone());
        let mut stream = client
            .stream_call_updates(request)
            .await
            .expect("stream")
            .into_inner();
        while let Ok(Ok(Some(update))) =
            tokio::time::timeout(Duration::from_millis(300), stream.message()).await
        {
            head = head.max(update.sequence);
        }
    }
    let mut readers = Vec::new();
    for _ in 0..count {
        let mut client = CallContextServiceClient::new(channel.clone());
        let mut request = tonic::Request::new(proto::StreamCallUpdatesRequest {
            after_sequence: head,
            ..Default::default()
        });
        request
            .metadata_mut()
            .insert("authorization", token.clone());
        let mut stream = client
            .stream_call_updates(request)
            .await
            .expect("stream")
            .into_inner();
        readers.push(tokio::spawn(async move {
            let mut received = 0;
            while received < n {
                let update = stream.message().await.expect("healthy").expect("open");
                if !matches!(
                    update.update,
                    Some(proto::stream_call_updates_response::Update::Heartbeat(_))
                ) {
                    received += 1;
                }
            }
        }));
    }
    let started = Instant::now();
    ingest(app, offset..offset + n, 8).await;
    for reader in readers {
        reader.await.expect("reader");
    }
    started.elapsed()
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("SWITCHBOARD_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        switchboard::vendors::install_crypto_provider();
        let dir = tempfile::tempdir().expect("temp dir");
        let base = baseline(dir.path(), n).await;
        let base_rate = rate(n, base);
        println!("baseline: {n} durable SQLite commits in {base:.2?} = {base_rate:.0}/s");

        let app = start_app().await;
        let mut offset = 0;
        for senders in [1, 8] {
            let started = Instant::now();
            ingest(&app, offset..offset + n, senders).await;
            let elapsed = started.elapsed();
            offset += n;
            let r = rate(n, elapsed);
            println!(
                "ingest, {senders} sender(s): {n} webhooks acknowledged in {elapsed:.2?} = {r:.0}/s = {:.2}x baseline",
                r / base_rate
            );
        }
        for streams in [1, 50] {
            let elapsed = fan_out(&app, offset, n, streams).await;
            offset += n;
            let r = rate(n, elapsed);
            println!(
                "fan-out to {streams} stream(s): {n} webhooks ingested and delivered to every stream in {elapsed:.2?} = {r:.0}/s = {:.2}x baseline",
                r / base_rate
            );
        }
        app.stop.shutdown();
    });
}
