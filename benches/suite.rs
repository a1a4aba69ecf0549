//! switchboard's benchmark suite: each figure measured in the same run, on
//! the same machine, as its baseline, and printed as a table of both and
//! their ratio.
//!
//! | figure | baseline |
//! |---|---|
//! | webhook events durably stored per second, 1 / 8 / 32 senders, SQLite and PostgreSQL | bare single-row INSERT+COMMIT per second on the same database, 1 and 32 clients |
//! | StartCall (Optico played by a minimal local fake) and GetCall: requests per second, p50 / p99, 1 and 256 in flight | a bare tonic echo server, same load generator |
//! | delivery latency p50 / p99 from webhook POST to receipt, 1,000 and 10,000 open streams, all-calls and per-agent scope | a bare tonic server stream fed by `tokio::sync::broadcast`, same streams, same client |
//! | RSS per idle stream at 10,000 streams | the bare broadcast harness |
//! | PostgreSQL, two replicas: webhook into A, stream on B | stream on A |
//!
//! Every server (switchboard, the baselines) runs as its own process pinned
//! to core 0 and the load generator (this process) to core 1 when the
//! machine has two cores (`taskset`), so RSS is the server's own and the two
//! sides do not steal each other's CPU. The throwaway PostgreSQL is started
//! by this process and inherits its core. PostgreSQL runs with its
//! durable defaults (`fsync`, `synchronous_commit=on`), SQLite in WAL with
//! `synchronous=FULL`, as switchboard does. Traffic goes to 127.0.0.1 only;
//! every loop is bounded in count and in time.
//!
//! Run: `cargo bench --bench suite`. `SWITCHBOARD_BENCH_SCALE` (default 1.0)
//! scales the counts; `SWITCHBOARD_BENCH_ONLY=ingest,rpc,fanout,rss,replicas`
//! runs some sections (`ingest-sqlite`, `ingest-pg`: one backend); `SWITCHBOARD_BENCH_BIN` benchmarks another build of
//! switchboard (e.g. an older one, for a before/after; with
//! `SWITCHBOARD_BENCH_LEGACY=1` for builds without the stream limits and
//! vendor bulkheads).
//!
//! The same binary plays the baselines: run with `SWITCHBOARD_BENCH_ROLE`
//! set (`echo`, `broadcast`, `bare-commits`) it is that server instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../tests/api/helpers/postgres.rs"]
mod postgres;

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use switchboard::pb::v1::{self as proto, call_context_service_client::CallContextServiceClient};
use tonic::transport::{Channel, Endpoint};

const TOKEN: &str = "bench-token-0123456789abcdef";
const WEBHOOK_TOKEN: &str = "bench-webhook-0123456789";
/// Optico call ids of the calls the benchmark creates: `CALL_BASE + n`.
const CALL_BASE: i64 = 30_000_000;

/// Free port on 127.0.0.1 (the PostgreSQL helper uses it too).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn scale(n: usize) -> usize {
    let factor: f64 = std::env::var("SWITCHBOARD_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * factor) as usize).max(1)
}

fn section(name: &str) -> bool {
    match std::env::var("SWITCHBOARD_BENCH_ONLY") {
        Ok(only) => only.split(',').any(|s| s.trim() == name),
        Err(_) => true,
    }
}

fn main() {
    match std::env::var("SWITCHBOARD_BENCH_ROLE").as_deref() {
        Ok("echo") => return roles::echo(),
        Ok("broadcast") => return roles::broadcast(),
        Ok("bare-commits") => return roles::bare_commits(),
        Ok(other) => panic!("unknown SWITCHBOARD_BENCH_ROLE {other:?}"),
        Err(_) => {}
    }
    // `cargo test --benches` runs this with --test or --list: nothing to do.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    pin_self();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(suite::run());
}

/// Whether servers and the load generator get a core each (decided once,
/// before this process pins itself: after, it sees one core).
fn two_cores() -> bool {
    static TWO: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TWO.get_or_init(|| {
        std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
            && Command::new("taskset")
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success())
    })
}

/// Cores of the machine, counted before pinning.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The load generator on core 1 (before any thread exists: they inherit it).
fn pin_self() {
    cores();
    if two_cores() {
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", "1", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status();
    }
}

/// `program` to be run on the servers' core.
fn on_server_core(program: &str) -> Command {
    if two_cores() {
        let mut command = Command::new("taskset");
        command.args(["-c", "0", program]);
        command
    } else {
        Command::new(program)
    }
}

/// CPU time a process has used so far, all its threads, user and kernel
/// (`/proc/<pid>/task/*/schedstat`, nanoseconds): what a figure costs the
/// server's core, idle time excluded.
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// Resident memory of a process, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// The Optico realtime payload of view `view` of call `CALL_BASE + call`.
fn view_payload(call: i64, view: i64) -> String {
    format!(
        r#"{{"callId": {}, "type": "view", "view": {{"id": {view}, "pageTitle": "Espresso machine X200", "url": "https://shop.example.com/espresso/x200?ref={view}", "createdAt": "2026-11-23 10:00:02"}}, "cart": null, "order": null}}"#,
        CALL_BASE + call
    )
}

fn agent_name(n: usize) -> String {
    format!("agent{n}@optico.fr")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A server process (switchboard or a baseline), killed on drop.
struct Proc {
    child: Child,
    grpc_port: u16,
    http_port: u16,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    fn webhook_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/webhooks/optico/{WEBHOOK_TOKEN}",
            self.http_port
        )
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = client
                .get(format!("http://127.0.0.1:{}/readyz", self.http_port))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "server not ready in 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sum and count of a Prometheus histogram or summary on `/metrics`.
    async fn metric_sum_count(&self, name: &str) -> Option<(f64, f64)> {
        let text = reqwest::get(format!("http://127.0.0.1:{}/metrics", self.http_port))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let value = |suffix: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{name}{suffix} ")))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        };
        Some((value("_sum")?, value("_count")?))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A profiler wrapping the server (SWITCHBOARD_BENCH_WRAP) writes
        // its data on SIGINT, and would leave it truncated on SIGKILL.
        if std::env::var_os("SWITCHBOARD_BENCH_WRAP").is_some() {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts switchboard (`SWITCHBOARD_BENCH_BIN` or this build's) with `env`.
fn start_switchboard(env: &[(String, String)]) -> Proc {
    let bin = std::env::var("SWITCHBOARD_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_switchboard").to_owned());
    let (grpc_port, http_port) = (closed_port(), closed_port());
    // SWITCHBOARD_BENCH_WRAP="valgrind --tool=massif" and the like: the
    // server under a profiler.
    let mut command = match std::env::var("SWITCHBOARD_BENCH_WRAP") {
        Ok(wrap) => {
            let mut words = wrap.split_whitespace();
            let mut command = on_server_core(words.next().unwrap_or("env"));
            command.args(words).arg(&bin);
            command
        }
        Err(_) => on_server_core(&bin),
    };
    command.arg("serve");
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD__")) {
        command.env_remove(name);
    }
    command
        .env(
            "SWITCHBOARD__SERVER__GRPC_ADDR",
            format!("127.0.0.1:{grpc_port}"),
        )
        .env(
            "SWITCHBOARD__SERVER__HTTP_ADDR",
            format!("127.0.0.1:{http_port}"),
        )
        .env("SWITCHBOARD__AUTH__TOKENS", TOKEN)
        .env("SWITCHBOARD__WEBHOOKS__OPTICO_TOKEN", WEBHOOK_TOKEN)
        // Room for 10,000 streams over the load generator's connections.
        .env("SWITCHBOARD__SERVER__MAX_CONCURRENT_STREAMS", "1000")
        .env("SWITCHBOARD__SERVER__MAX_CONCURRENT_REQUESTS", "20000");
    // Builds from before the stream limits existed refuse these keys.
    if std::env::var_os("SWITCHBOARD_BENCH_LEGACY").is_none() {
        command
            .env("SWITCHBOARD__STREAMS__MAX_OPEN", "20000")
            .env("SWITCHBOARD__STREAMS__MAX_OPEN_PER_CONNECTION", "1000");
    }
    // Its own log level (info): what a user runs; the lines go nowhere.
    command.env_remove("RUST_LOG");
    let legacy = std::env::var_os("SWITCHBOARD_BENCH_LEGACY").is_some();
    for (name, value) in env {
        if legacy && name.ends_with("MAX_IN_FLIGHT") {
            continue;
        }
        command.env(name, value);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("switchboard starts");
    Proc {
        child,
        grpc_port,
        http_port,
    }
}

/// Starts this binary as a baseline server; it prints `READY <grpc> <http>`.
fn start_role(role: &str, args: &[String]) -> Proc {
    let exe = std::env::current_exe().expect("own path");
    let mut command = on_server_core(&exe.display().to_string());
    let mut child = command
        .args(args)
        .env("SWITCHBOARD_BENCH_ROLE", role)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("baseline server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("READY line");
    let mut words = line.split_whitespace().skip(1);
    let mut port = || words.next().and_then(|p| p.parse().ok()).expect("port");
    let (grpc_port, http_port) = (port(), port());
    Proc {
        child,
        grpc_port,
        http_port,
    }
}

/// Runs the bare-commit baseline on the servers' core; returns commits/s.
fn bare_commits(url: &str, clients: usize, commits: usize) -> f64 {
    let exe = std::env::current_exe().expect("own path");
    let output = on_server_core(&exe.display().to_string())
        .args([url, &clients.to_string(), &commits.to_string()])
        .env("SWITCHBOARD_BENCH_ROLE", "bare-commits")
        .stderr(Stdio::inherit())
        .output()
        .expect("bare commits run");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0)
}

/// gRPC connections to a server, with the bench token on every request.
async fn channels(url: &str, count: usize) -> Vec<Channel> {
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        channels.push(
            Endpoint::from_shared(url.to_owned())
                .expect("url")
                .http2_adaptive_window(true)
                .connect()
                .await
                .expect("grpc connects"),
        );
    }
    channels
}

fn authed<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {TOKEN}").parse().expect("ascii"),
    );
    request
}

/// One line of the final table.
struct Row {
    figure: String,
    value: String,
    baseline: String,
    ratio: Option<f64>,
    /// What the ratio should be, and whether it is.
    target: Option<(String, bool)>,
}

#[derive(Default)]
struct Report {
    rows: Mutex<Vec<Row>>,
    notes: Mutex<Vec<String>>,
}

impl Report {
    fn row(
        &self,
        figure: impl Into<String>,
        value: impl Into<String>,
        baseline: impl Into<String>,
        ratio: Option<f64>,
        target: Option<(String, bool)>,
    ) {
        let row = Row {
            figure: figure.into(),
            value: value.into(),
            baseline: baseline.into(),
            ratio,
            target,
        };
        println!(
            "  {} | {} | {} | {}",
            row.figure,
            row.value,
            row.baseline,
            row.ratio.map_or("-".into(), |r| format!("{r:.2}x"))
        );
        self.rows.lock().unwrap().push(row);
    }

    fn note(&self, note: impl Into<String>) {
        let note = note.into();
        println!("  note: {note}");
        self.notes.lock().unwrap().push(note);
    }

    fn print(&self) {
        println!();
        println!("| figure | switchboard | baseline | ratio | target |");
        println!("|---|---|---|---|---|");
        for row in self.rows.lock().unwrap().iter() {
            let target = match &row.target {
                Some((target, true)) => format!("{target}: met"),
                Some((target, false)) => format!("{target}: **missed**"),
                None => String::new(),
            };
            println!(
                "| {} | {} | {} | {} | {} |",
                row.figure,
                row.value,
                row.baseline,
                row.ratio.map_or("-".into(), |r| format!("{r:.2}x")),
                target
            );
        }
        for note in self.notes.lock().unwrap().iter() {
            println!("\n{note}");
        }
    }
}

mod suite {
    use super::*;

    pub async fn run() {
        switchboard::vendors::install_crypto_provider();
        let report = Report::default();
        println!(
            "switchboard benchmark suite ({}; cores: {})",
            if two_cores() {
                "servers on core 0, load generator on core 1"
            } else {
                "one core: not pinned"
            },
            cores()
        );
        let pg = if section("ingest") || section("ingest-pg") || section("replicas") {
            match tokio::task::spawn_blocking(|| {
                postgres::PgCluster::start(&[
                    "max_connections=300",
                    "shared_preload_libraries=pg_stat_statements",
                ])
            })
            .await
            .expect("pg start task")
            {
                Ok(cluster) => Some(cluster),
                Err(e) => {
                    report.note(format!("PostgreSQL figures skipped: {e}"));
                    None
                }
            }
        } else {
            None
        };
        let optico = fake_optico::start().await;
        if section("ingest") || section("ingest-sqlite") {
            ingest::run(&report, None).await;
        }
        if (section("ingest") || section("ingest-pg"))
            && let Some(pg) = &pg
        {
            ingest::run(&report, Some(pg)).await;
        }
        if section("rpc") {
            rpc::run(&report, &optico).await;
        }
        if section("fanout") || section("rss") {
            fanout::run(&report, &optico).await;
        }
        if section("replicas")
            && let Some(pg) = &pg
        {
            replicas::run(&report, pg).await;
        }
        report.print();
    }
}

/// A minimal Optico Call Center API: callStart answers one match whose call
/// id comes from the caller's number (`CALL_BASE + n` for `00336nnnnnnnn`).
mod fake_optico {
    use axum::{Form, Router, routing::post};

    pub struct FakeOptico {
        pub url: String,
    }

    #[derive(serde::Deserialize)]
    struct CallStart {
        #[serde(rename = "callerPhone")]
        caller_phone: Option<String>,
    }

    async fn call_start(Form(form): Form<CallStart>) -> String {
        let n: i64 = form
            .caller_phone
            .as_deref()
            .and_then(|p| p.strip_prefix("00336"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        format!(
            r#"{{"status":"OK","resultsNb":1,"results":[{{"call":{{"id":{},"startDate":"2026-11-23 10:00:00","status":"OK_OUTCALL","source":"Adwords","referrer":null,"Keyword":"espresso","agent":null}},"views":[],"currentCart":null,"orders":[]}}]}}"#,
            super::CALL_BASE + n
        )
    }

    pub async fn start() -> FakeOptico {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let router = Router::new().route("/agent-api/callStart", post(call_start));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeOptico { url }
    }
}

/// `n` in the number the fake Optico turns into call `CALL_BASE + n`.
fn caller_of(n: usize) -> String {
    format!("00336{n:08}")
}

/// POSTs `payloads` from `senders` concurrent clients, each waiting for its
/// answer before the next; stops at `deadline`. Returns how many were
/// acknowledged with 200 and how long it took.
async fn post_all(
    url: &str,
    payloads: Vec<String>,
    senders: usize,
    deadline: Duration,
) -> (usize, Duration) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(senders)
        .build()
        .expect("client");
    let queue = Arc::new(Mutex::new(payloads));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let stop = started + deadline;
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (client, url, queue, acknowledged) = (
            client.clone(),
            url.to_owned(),
            queue.clone(),
            acknowledged.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < stop {
                let Some(payload) = queue.lock().unwrap().pop() else {
                    return;
                };
                let sent = client
                    .post(&url)
                    .form(&[("realtimeData", payload)])
                    .send()
                    .await;
                if sent.is_ok_and(|r| r.status().is_success()) {
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    (
        acknowledged.load(Ordering::Relaxed) as usize,
        started.elapsed(),
    )
}

mod ingest {
    use super::*;

    /// The concurrent senders measured: 1, 8 and 32, or the comma-separated
    /// counts of `SWITCHBOARD_BENCH_SENDERS` (e.g. `32` alone, to profile
    /// one level of load).
    fn sender_counts() -> Vec<usize> {
        std::env::var("SWITCHBOARD_BENCH_SENDERS")
            .ok()
            .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
            .filter(|v: &Vec<usize>| !v.is_empty())
            .unwrap_or_else(|| vec![1, 8, 32])
    }

    /// Statements and commits PostgreSQL ran for the database so far, as
    /// pg_stat_statements counts them (COMMIT is a statement there; the
    /// cumulative statistics views lag by up to a second).
    async fn pg_counters(url: &str) -> Option<(f64, f64)> {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let db = Database::connect(url).await.ok()?;
        let _ = db
            .execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .await;
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COALESCE(sum(calls), 0)::float8, \
                        COALESCE(sum(calls) FILTER (WHERE upper(query) = 'COMMIT'), 0)::float8 \
                 FROM pg_stat_statements s \
                 WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND s.query NOT ILIKE '%pg_stat_statements%'",
            ))
            .await
            .ok()??;
        let statements: f64 = row.try_get_by_index(0).ok()?;
        let commits: f64 = row.try_get_by_index(1).ok()?;
        let _ = db.close().await;
        Some((statements, commits))
    }

    pub async fn run(report: &Report, pg: Option<&postgres::PgCluster>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (backend, url, bare_url) = match pg {
            None => (
                "SQLite",
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("switchboard.db").display()
                ),
                format!("sqlite://{}", dir.path().join("bare.db").display()),
            ),
            Some(pg) => {
                let url = pg.fresh_database().await;
                let bare = pg.fresh_database().await;
                ("PostgreSQL", url, bare)
            }
        };
        println!("\n# webhook ingest on {backend}");
        let n = scale(4000);
        // The baseline before and after switchboard's runs: a disk's flush
        // time drifts by a third within minutes on a virtual machine, so
        // each figure is compared with the mean of the two (both printed).
        let before_1 = bare_commits(&bare_url, 1, scale(2000));
        let before_32 = bare_commits(&bare_url, 32, scale(4000));
        println!("  bare commits: {before_1:.0}/s (1 client), {before_32:.0}/s (32 clients)");
        let mut rates = Vec::new();

        let server = start_switchboard(&[("SWITCHBOARD__DATABASE__URL".into(), url.clone())]);
        server.wait_ready().await;
        // Fifty calls, each created by its first view; then views of known
        // calls, the steady state of a contact center.
        let first: Vec<String> = (0..50).map(|c| view_payload(c, c)).collect();
        post_all(&server.webhook_url(), first, 8, Duration::from_secs(30)).await;
        let mut next_view = 1_000_000i64;
        for senders in sender_counts() {
            let payloads: Vec<String> = (0..n)
                .map(|i| {
                    next_view += 1;
                    view_payload(i as i64 % 50, next_view)
                })
                .collect();
            let counters_before = match pg {
                Some(_) => pg_counters(&url).await,
                None => None,
            };
            let batches_before = server
                .metric_sum_count("switchboard_log_batch_writes")
                .await;
            let syncs_before = server
                .metric_sum_count("switchboard_log_sync_seconds")
                .await;
            let cpu_before = cpu_time(server.pid());
            let (stored, elapsed) = post_all(
                &server.webhook_url(),
                payloads,
                senders,
                Duration::from_secs(60),
            )
            .await;
            let cpu = cpu_time(server.pid()).saturating_sub(cpu_before);
            let rate = stored as f64 / elapsed.as_secs_f64();
            println!(
                "  {senders} sender(s): {:.1} µs of server CPU per webhook ({:.0}% of its core)",
                cpu.as_secs_f64() * 1e6 / stored.max(1) as f64,
                100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64()
            );
            rates.push((senders, rate));
            let batches_after = server
                .metric_sum_count("switchboard_log_batch_writes")
                .await;
            if let (Some((s0, c0)), Some((s1, c1))) = (batches_before, batches_after)
                && c1 > c0
            {
                println!(
                    "  {senders} sender(s): {:.1} writes per commit on average",
                    (s1 - s0) / (c1 - c0)
                );
                // SQLite: the WAL syncs after COMMIT, each covering one
                // commit or more (src/store/wal.rs).
                let syncs_after = server
                    .metric_sum_count("switchboard_log_sync_seconds")
                    .await;
                if let (Some((_, y0)), Some((_, y1))) = (syncs_before, syncs_after)
                    && y1 > y0
                {
                    println!(
                        "  {senders} sender(s): {:.2} commits per WAL sync",
                        (c1 - c0) / (y1 - y0)
                    );
                }
            }
            if let (Some((st0, co0)), Some((st1, co1))) = (counters_before, pg_counters(&url).await)
            {
                report.note(format!(
                    "{backend}, {senders} sender(s): {:.2} SQL statements and {:.3} commits per webhook (pg_stat_statements)",
                    (st1 - st0) / stored.max(1) as f64,
                    (co1 - co0) / stored.max(1) as f64
                ));
            }
        }
        drop(server);
        let after_1 = bare_commits(&bare_url, 1, scale(2000));
        let after_32 = bare_commits(&bare_url, 32, scale(4000));
        println!("  bare commits after: {after_1:.0}/s (1 client), {after_32:.0}/s (32 clients)");
        let (bare_1, bare_32) = ((before_1 + after_1) / 2.0, (before_32 + after_32) / 2.0);
        report.note(format!(
            "{backend} bare commits/s, before and after switchboard's runs: {before_1:.0} and {after_1:.0} (1 client), {before_32:.0} and {after_32:.0} (32 clients); ratios use the means"
        ));
        for (senders, rate) in rates {
            let target = match senders {
                32 => Some((
                    "≥ 3x bare (1 client), ≥ 1x bare (32 clients)".to_owned(),
                    rate >= 3.0 * bare_1 && rate >= bare_32,
                )),
                _ => None,
            };
            report.row(
                format!("{backend}: webhooks stored/s, {senders} sender(s)"),
                format!("{rate:.0}/s"),
                format!("{bare_1:.0}/s bare commits, 1 client"),
                Some(rate / bare_1),
                target,
            );
            if senders == 32 {
                report.row(
                    format!("{backend}: webhooks stored/s, 32 senders vs 32 bare clients"),
                    format!("{rate:.0}/s"),
                    format!("{bare_32:.0}/s bare commits, 32 clients"),
                    Some(rate / bare_32),
                    None,
                );
            }
        }
    }
}

/// Runs `requests` calls of `call` with `in_flight` at a time over
/// `channels`; returns the rate and sorted latencies.
async fn load<F, Fut>(
    channels: &[Channel],
    in_flight: usize,
    requests: usize,
    deadline: Duration,
    call: F,
) -> (f64, Vec<Duration>)
where
    F: Fn(Channel, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let stop = started + deadline;
    let mut tasks = Vec::new();
    for worker in 0..in_flight {
        let (call, next, channel) = (
            call.clone(),
            next.clone(),
            channels[worker % channels.len()].clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            while Instant::now() < stop {
                let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                if n >= requests {
                    break;
                }
                let sent = Instant::now();
                if call(channel.clone(), n).await {
                    latencies.push(sent.elapsed());
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (mine, failed) = task.await.expect("load worker");
        latencies.extend(mine);
        failures += failed;
    }
    let elapsed = started.elapsed();
    if failures > 0 {
        println!("  ({failures} requests failed)");
    }
    latencies.sort();
    (latencies.len() as f64 / elapsed.as_secs_f64(), latencies)
}

/// A StartCall of the caller the fake Optico turns into call `CALL_BASE + n`.
fn start_call_request(n: usize) -> proto::StartCallRequest {
    proto::StartCallRequest {
        caller_phone: caller_of(n),
        destination_phone: "0033123456789".into(),
        start_time: Some(prost_types::Timestamp {
            seconds: 1_795_000_000,
            nanos: 0,
        }),
        agent: String::new(),
    }
}

mod rpc {
    use super::*;

    async fn measure(
        url: &str,
        label: &str,
        offset: usize,
        requests: usize,
    ) -> Vec<(String, usize, f64, Vec<Duration>)> {
        let mut results = Vec::new();
        for in_flight in [1usize, 256] {
            let connections = if in_flight == 1 { 1 } else { 4 };
            let channels = channels(url, connections).await;
            let count = if in_flight == 1 {
                requests / 4
            } else {
                requests
            };
            let base = offset + in_flight * 1_000_000;
            let (rate, latencies) = load(
                &channels,
                in_flight,
                count,
                Duration::from_secs(60),
                move |channel, n| async move {
                    CallContextServiceClient::new(channel)
                        .start_call(authed(start_call_request(base + n)))
                        .await
                        .is_ok()
                },
            )
            .await;
            results.push(("StartCall".to_owned(), in_flight, rate, latencies));
            let (rate, latencies) = load(
                &channels,
                in_flight,
                count,
                Duration::from_secs(60),
                move |channel, n| async move {
                    let reference = proto::CallRef {
                        r#ref: Some(proto::call_ref::Ref::OpticoCallId(
                            (CALL_BASE + (base + n % count) as i64).to_string(),
                        )),
                    };
                    CallContextServiceClient::new(channel)
                        .get_call(authed(proto::GetCallRequest {
                            call: Some(reference),
                        }))
                        .await
                        .is_ok()
                },
            )
            .await;
            results.push(("GetCall".to_owned(), in_flight, rate, latencies));
        }
        println!("  {label}: done");
        results
    }

    pub async fn run(report: &Report, optico: &fake_optico::FakeOptico) {
        println!("\n# StartCall and GetCall");
        let dir = tempfile::tempdir().expect("temp dir");
        let requests = scale(20_000);
        let server = start_switchboard(&[
            (
                "SWITCHBOARD__DATABASE__URL".into(),
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("switchboard.db").display()
                ),
            ),
            (
                "SWITCHBOARD__VENDORS__OPTICO__BASE_URL".into(),
                optico.url.clone(),
            ),
            (
                "SWITCHBOARD__VENDORS__OPTICO__API_KEY".into(),
                "b7e2c8a14f9d3650a1e7c4d8b2f6a395e".into(),
            ),
            // 256 StartCalls in flight: room for all of them at Optico (the
            // default bulkhead, 64, would refuse the rest at once).
            (
                "SWITCHBOARD__VENDORS__OPTICO__MAX_IN_FLIGHT".into(),
                "512".into(),
            ),
        ]);
        server.wait_ready().await;
        let ours = measure(&server.grpc_url(), "switchboard", 0, requests).await;
        drop(server);
        let echo = start_role("echo", &[]);
        let bare = measure(&echo.grpc_url(), "echo", 0, requests).await;
        drop(echo);
        for ((rpc, in_flight, rate, latencies), (_, _, echo_rate, echo_latencies)) in
            ours.iter().zip(&bare)
        {
            let (p50, p99) = (percentile(latencies, 0.5), percentile(latencies, 0.99));
            let (e50, e99) = (
                percentile(echo_latencies, 0.5),
                percentile(echo_latencies, 0.99),
            );
            let target = (rpc == "StartCall" && *in_flight == 256).then(|| {
                (
                    "≥ 0.25x echo, p50 ≤ 4x echo's".to_owned(),
                    *rate >= 0.25 * echo_rate && p50 <= e50 * 4,
                )
            });
            report.row(
                format!("{rpc}, {in_flight} in flight: requests/s"),
                format!("{rate:.0}/s"),
                format!("{echo_rate:.0}/s echo"),
                Some(rate / echo_rate),
                target,
            );
            report.row(
                format!("{rpc}, {in_flight} in flight: p50 / p99"),
                format!("{:.2} / {:.2} ms", ms(p50), ms(p99)),
                format!("{:.2} / {:.2} ms echo", ms(e50), ms(e99)),
                Some(ms(p50) / ms(e50).max(0.001)),
                None,
            );
        }
    }
}

mod fanout {
    use super::*;

    /// Where an event goes: to every stream (all-calls scope) or to one
    /// agent's stream.
    #[derive(Clone, Copy, PartialEq)]
    pub enum Scope {
        All,
        Agent,
    }

    /// Opens `count` streams; for the agent scope, stream `k` follows agent
    /// `k`. Returns them with their agent index.
    async fn open_streams(
        url: &str,
        count: usize,
        scope: Scope,
        after_sequence: i64,
    ) -> Vec<(usize, tonic::Streaming<proto::StreamCallUpdatesResponse>)> {
        // 200 streams per connection, like many agent apps behind a few
        // proxies.
        let channels = channels(url, count.div_ceil(200)).await;
        let semaphore = Arc::new(tokio::sync::Semaphore::new(256));
        let mut opening = Vec::new();
        for k in 0..count {
            let (channel, semaphore) = (channels[k / 200].clone(), semaphore.clone());
            opening.push(tokio::spawn(async move {
                let _permit = semaphore.acquire().await.expect("semaphore");
                let request = proto::StreamCallUpdatesRequest {
                    agent: match scope {
                        Scope::All => String::new(),
                        Scope::Agent => agent_name(k),
                    },
                    after_sequence,
                    ..Default::default()
                };
                let stream = CallContextServiceClient::new(channel)
                    .stream_call_updates(authed(request))
                    .await
                    .expect("stream opens")
                    .into_inner();
                (k, stream)
            }));
        }
        let mut streams = Vec::with_capacity(count);
        for task in opening {
            streams.push(task.await.expect("open"));
        }
        streams
    }

    /// The head of the log: after it, a stream sees only what comes next.
    async fn head(url: &str) -> i64 {
        let channel = channels(url, 1).await.remove(0);
        let mut stream = CallContextServiceClient::new(channel)
            .stream_call_updates(authed(proto::StreamCallUpdatesRequest::default()))
            .await
            .expect("stream")
            .into_inner();
        let mut head = 0;
        while let Ok(Ok(Some(update))) =
            tokio::time::timeout(Duration::from_millis(300), stream.message()).await
        {
            head = head.max(update.sequence);
        }
        head
    }

    pub struct Outcome {
        pub latencies: Vec<Duration>,
        pub missing: usize,
    }

    /// Opens the streams on `stream_url`, posts `events` webhooks to
    /// `webhook_url` at `interval`, and measures POST → receipt for every
    /// delivery. Event `i` concerns call (and agent) `target(i)`.
    pub async fn deliver(
        stream_url: &str,
        webhook_url: &str,
        streams: usize,
        scope: Scope,
        events: usize,
        interval: Duration,
        first_view: i64,
    ) -> Outcome {
        let after = head(stream_url).await;
        let opened = open_streams(stream_url, streams, scope, after).await;
        let target = move |i: usize| match scope {
            Scope::All => i % 50,
            Scope::Agent => (i * 7919) % streams,
        };
        // When each event's POST was sent, in µs since `epoch`.
        let epoch = Instant::now();
        let sent: Arc<Vec<AtomicU64>> = Arc::new((0..events).map(|_| AtomicU64::new(0)).collect());
        let mut readers = Vec::new();
        for (k, mut stream) in opened {
            let expected = match scope {
                Scope::All => events,
                Scope::Agent => (0..events).filter(|&i| target(i) == k).count(),
            };
            let sent = sent.clone();
            readers.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(expected);
                let deadline = Instant::now() + Duration::from_secs(60);
                while latencies.len() < expected {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let Ok(Ok(Some(update))) = tokio::time::timeout(left, stream.message()).await
                    else {
                        break;
                    };
                    if let Some(proto::stream_call_updates_response::Update::View(view)) =
                        update.update
                    {
                        let i = (view.id - first_view) as usize;
                        if let Some(at) = sent.get(i) {
                            let now = epoch.elapsed().as_micros() as u64;
                            latencies.push(Duration::from_micros(
                                now.saturating_sub(at.load(Ordering::Acquire)),
                            ));
                        }
                    }
                }
                (expected, latencies, stream)
            }));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let client = reqwest::Client::new();
        let mut tick = tokio::time::interval(interval);
        for i in 0..events {
            tick.tick().await;
            let payload = view_payload(target(i) as i64, first_view + i as i64);
            sent[i].store(epoch.elapsed().as_micros() as u64, Ordering::Release);
            let client = client.clone();
            let url = webhook_url.to_owned();
            // Not awaited in line: the POSTs keep their schedule even if one
            // is slow to be answered.
            tokio::spawn(async move {
                let _ = client
                    .post(&url)
                    .form(&[("realtimeData", payload)])
                    .send()
                    .await;
            });
        }
        let mut latencies = Vec::new();
        let mut missing = 0;
        let mut keep = Vec::new();
        for reader in readers {
            let (expected, mine, stream) = reader.await.expect("reader");
            missing += expected - mine.len();
            latencies.extend(mine);
            keep.push(stream);
        }
        drop(keep);
        latencies.sort();
        Outcome { latencies, missing }
    }

    /// How much the resident memory of the server `pid` grows per stream
    /// while `count` all-calls streams are open on `stream_url` and idle (no
    /// event is sent to them).
    async fn idle_rss(stream_url: &str, pid: u32, count: usize) -> f64 {
        let after = head(stream_url).await;
        let before = rss(pid);
        let opened = open_streams(stream_url, count, Scope::All, after).await;
        // The last streams opened are settled on the server's side.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let per_stream = (rss(pid) as f64 - before as f64) / count as f64;
        drop(opened);
        per_stream
    }

    pub async fn run(report: &Report, optico: &fake_optico::FakeOptico) {
        println!("\n# stream fan-out");
        let dir = tempfile::tempdir().expect("temp dir");
        let server = start_switchboard(&[
            (
                "SWITCHBOARD__DATABASE__URL".into(),
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("switchboard.db").display()
                ),
            ),
            (
                "SWITCHBOARD__VENDORS__OPTICO__BASE_URL".into(),
                optico.url.clone(),
            ),
            (
                "SWITCHBOARD__VENDORS__OPTICO__API_KEY".into(),
                "b7e2c8a14f9d3650a1e7c4d8b2f6a395e".into(),
            ),
            // 256 StartCalls in flight: room for all of them at Optico (the
            // default bulkhead, 64, would refuse the rest at once).
            (
                "SWITCHBOARD__VENDORS__OPTICO__MAX_IN_FLIGHT".into(),
                "512".into(),
            ),
        ]);
        server.wait_ready().await;
        // 10,000 calls, call n with agent n (Optico call CALL_BASE + n).
        let channels = channels(&server.grpc_url(), 4).await;
        let (_, created) = load(
            &channels,
            256,
            10_000,
            Duration::from_secs(120),
            |channel, n| async move {
                let mut request = start_call_request(n);
                request.agent = agent_name(n);
                CallContextServiceClient::new(channel)
                    .start_call(authed(request))
                    .await
                    .is_ok()
            },
        )
        .await;
        assert_eq!(
            created.len(),
            10_000,
            "the calls of the fan-out are created"
        );
        let harness = start_role("broadcast", &[]);
        let harness_webhook = format!("http://127.0.0.1:{}/publish", harness.http_port);
        // Memory first, on both processes as they are after start-up (and,
        // for switchboard, after creating the calls): measured after the
        // latency cases, the figure depended on how much of those cases'
        // freed memory each allocator happened to hand out again (the
        // harness's fell from 3.0 to 2.6 KB, switchboard's stayed at 3.2).
        let ours_rss = idle_rss(&server.grpc_url(), server.pid(), 10_000).await;
        let bare_rss = idle_rss(&harness.grpc_url(), harness.pid(), 10_000).await;
        report.row(
            "RSS per idle stream, 10,000 streams",
            format!("{:.1} KB", ours_rss / 1024.0),
            format!("{:.1} KB broadcast harness", bare_rss / 1024.0),
            Some(ours_rss / bare_rss),
            Some(("≤ 1.1x harness".to_owned(), ours_rss <= 1.1 * bare_rss)),
        );
        if !section("fanout") {
            return;
        }
        let mut first_view = 5_000_000i64;
        let cases: Vec<(usize, Scope, usize, Duration)> = vec![
            (1_000, Scope::All, scale(40), Duration::from_millis(50)),
            (1_000, Scope::Agent, scale(400), Duration::from_millis(5)),
            (10_000, Scope::All, scale(20), Duration::from_millis(250)),
            (10_000, Scope::Agent, scale(400), Duration::from_millis(5)),
        ];
        for (streams, scope, events, interval) in cases {
            let scope_name = match scope {
                Scope::All => "all-calls",
                Scope::Agent => "per-agent",
            };
            let ours = deliver(
                &server.grpc_url(),
                &server.webhook_url(),
                streams,
                scope,
                events,
                interval,
                first_view,
            )
            .await;
            first_view += 100_000;
            let bare = deliver(
                &harness.grpc_url(),
                &harness_webhook,
                streams,
                scope,
                events,
                interval,
                first_view,
            )
            .await;
            first_view += 100_000;
            if ours.missing + bare.missing > 0 {
                report.note(format!(
                    "{streams} {scope_name} streams: {} deliveries missing from switchboard, {} from the harness (timed out)",
                    ours.missing, bare.missing
                ));
            }
            let (p50, p99) = (
                percentile(&ours.latencies, 0.5),
                percentile(&ours.latencies, 0.99),
            );
            let (b50, b99) = (
                percentile(&bare.latencies, 0.5),
                percentile(&bare.latencies, 0.99),
            );
            let target = match (streams, scope) {
                (1_000, _) => Some((
                    "p99 ≤ 1.2x harness".to_owned(),
                    p99.as_secs_f64() <= 1.2 * b99.as_secs_f64(),
                )),
                (10_000, Scope::Agent) => Some(("p99 below the harness".to_owned(), p99 < b99)),
                _ => None,
            };
            report.row(
                format!("delivery POST → receipt, {streams} {scope_name} streams: p50 / p99"),
                format!("{:.2} / {:.2} ms", ms(p50), ms(p99)),
                format!("{:.2} / {:.2} ms broadcast harness", ms(b50), ms(b99)),
                Some(ms(p99) / ms(b99).max(0.001)),
                target,
            );
        }
    }
}

mod replicas {
    use super::*;

    pub async fn run(report: &Report, pg: &postgres::PgCluster) {
        println!("\n# two replicas on PostgreSQL");
        let url = pg.fresh_database().await;
        let env = [("SWITCHBOARD__DATABASE__URL".to_owned(), url)];
        let a = start_switchboard(&env);
        a.wait_ready().await;
        let b = start_switchboard(&env);
        b.wait_ready().await;
        // The calls exist before streams open.
        let first: Vec<String> = (0..50).map(|c| view_payload(c, c)).collect();
        post_all(&a.webhook_url(), first, 8, Duration::from_secs(30)).await;
        let events = scale(300);
        let same = fanout::deliver(
            &a.grpc_url(),
            &a.webhook_url(),
            10,
            fanout::Scope::All,
            events,
            Duration::from_millis(10),
            8_000_000,
        )
        .await;
        let cross = fanout::deliver(
            &b.grpc_url(),
            &a.webhook_url(),
            10,
            fanout::Scope::All,
            events,
            Duration::from_millis(10),
            8_100_000,
        )
        .await;
        let (p50, p99) = (
            percentile(&cross.latencies, 0.5),
            percentile(&cross.latencies, 0.99),
        );
        let (s50, s99) = (
            percentile(&same.latencies, 0.5),
            percentile(&same.latencies, 0.99),
        );
        report.row(
            "PostgreSQL: webhook into A, stream on B: p50 / p99",
            format!("{:.2} / {:.2} ms", ms(p50), ms(p99)),
            format!("{:.2} / {:.2} ms stream on A", ms(s50), ms(s99)),
            Some(ms(p99) / ms(s99).max(0.001)),
            Some((
                "p99 within 5 ms of same-replica".to_owned(),
                p99 <= s99 + Duration::from_millis(5),
            )),
        );
        if same.missing + cross.missing > 0 {
            report.note(format!(
                "replicas: {} deliveries missing on A, {} on B",
                same.missing, cross.missing
            ));
        }
    }
}

/// The baselines, run as their own processes.
mod roles {
    use super::*;
    use switchboard::pb::v1::call_context_service_server::{
        CallContextService, CallContextServiceServer,
    };
    use tokio_stream::StreamExt;
    use tonic::{Request, Response, Status, codegen::BoxStream};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// The call a bare server answers with: the shape switchboard returns.
    fn canned_call(optico_id: String) -> proto::Call {
        proto::Call {
            id: "01a2350c-ec17-74e0-a498-77f42e12f49b".into(),
            direction: proto::CallDirection::Inbound.into(),
            status: proto::CallStatus::Active.into(),
            provider: proto::Provider::Optico.into(),
            caller_phone: "0033600000001".into(),
            destination_phone: "0033123456789".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: 1_795_000_000,
                nanos: 0,
            }),
            create_time: Some(prost_types::Timestamp {
                seconds: 1_795_000_000,
                nanos: 0,
            }),
            update_time: Some(prost_types::Timestamp {
                seconds: 1_795_000_000,
                nanos: 0,
            }),
            refs: vec![proto::CallReference {
                kind: proto::RefKind::OpticoCallId.into(),
                value: optico_id,
            }],
            vendor_status: "OK_OUTCALL".into(),
            ..Default::default()
        }
    }

    /// What a bare server does: answer at once, or stream a broadcast.
    struct Bare {
        events: Option<tokio::sync::broadcast::Sender<Arc<proto::StreamCallUpdatesResponse>>>,
        /// The agent of each event (bench call n has agent n).
        agents: Arc<Mutex<BTreeMap<i64, String>>>,
    }

    #[tonic::async_trait]
    impl CallContextService for Bare {
        type StreamCallUpdatesStream = BoxStream<proto::StreamCallUpdatesResponse>;

        async fn start_call(
            &self,
            request: Request<proto::StartCallRequest>,
        ) -> Result<Response<proto::StartCallResponse>, Status> {
            let request = request.into_inner();
            let mut call = canned_call(request.caller_phone.clone());
            call.caller_phone = request.caller_phone;
            Ok(Response::new(proto::StartCallResponse {
                call: Some(call),
                matches: vec![proto::OpticoCallContext {
                    call: Some(proto::OpticoCall {
                        id: CALL_BASE,
                        start_time: Some(prost_types::Timestamp {
                            seconds: 1_795_000_000,
                            nanos: 0,
                        }),
                        status: "OK_OUTCALL".into(),
                        source: "Adwords".into(),
                        keyword: "espresso".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            }))
        }

        async fn get_call(
            &self,
            request: Request<proto::GetCallRequest>,
        ) -> Result<Response<proto::GetCallResponse>, Status> {
            let id = match request.into_inner().call.and_then(|c| c.r#ref) {
                Some(proto::call_ref::Ref::OpticoCallId(id)) => id,
                _ => String::new(),
            };
            Ok(Response::new(proto::GetCallResponse {
                call: Some(canned_call(id)),
            }))
        }

        async fn stream_call_updates(
            &self,
            request: Request<proto::StreamCallUpdatesRequest>,
        ) -> Result<Response<Self::StreamCallUpdatesStream>, Status> {
            let Some(events) = &self.events else {
                return Err(Status::unimplemented("echo server"));
            };
            let agent = request.into_inner().agent;
            let agents = self.agents.clone();
            let stream = tokio_stream::wrappers::BroadcastStream::new(events.subscribe())
                .filter_map(move |event| {
                    let event = event.ok()?;
                    if !agent.is_empty() {
                        let agents = agents.lock().ok()?;
                        if agents.get(&event.sequence).map(String::as_str) != Some(agent.as_str()) {
                            return None;
                        }
                    }
                    Some(Ok((*event).clone()))
                });
            Ok(Response::new(Box::pin(stream)))
        }

        async fn assign_agent(
            &self,
            _: Request<proto::AssignAgentRequest>,
        ) -> Result<Response<proto::AssignAgentResponse>, Status> {
            Err(Status::unimplemented("bare server"))
        }

        async fn list_calls(
            &self,
            _: Request<proto::ListCallsRequest>,
        ) -> Result<Response<proto::ListCallsResponse>, Status> {
            Err(Status::unimplemented("bare server"))
        }

        async fn get_customer_flags(
            &self,
            _: Request<proto::GetCustomerFlagsRequest>,
        ) -> Result<Response<proto::GetCustomerFlagsResponse>, Status> {
            Err(Status::unimplemented("bare server"))
        }

        async fn update_customer_flags(
            &self,
            _: Request<proto::UpdateCustomerFlagsRequest>,
        ) -> Result<Response<proto::UpdateCustomerFlagsResponse>, Status> {
            Err(Status::unimplemented("bare server"))
        }
    }

    /// Serves `bare` on a free gRPC port (and `/readyz`, `/publish` on an HTTP
    /// port), prints `READY <grpc> <http>`, and runs until killed.
    async fn serve(bare: Bare) {
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let http = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (events, agents) = (bare.events.clone(), bare.agents.clone());
        println!(
            "READY {} {}",
            grpc.local_addr().expect("addr").port(),
            http.local_addr().expect("addr").port()
        );
        let sequence = Arc::new(AtomicU64::new(0));
        let router = axum::Router::new()
            .route("/readyz", axum::routing::get(|| async { "ready" }))
            .route(
                "/publish",
                axum::routing::post(
                    move |axum::Form(form): axum::Form<BTreeMap<String, String>>| {
                        let (events, agents, sequence) =
                            (events.clone(), agents.clone(), sequence.clone());
                        async move { publish(form, events, agents, &sequence) }
                    },
                ),
            );
        tokio::spawn(async move {
            let _ = axum::serve(http, router).await;
        });
        // The same transport settings as switchboard's.
        let _ = tonic::transport::Server::builder()
            .max_concurrent_streams(1000)
            .add_service(CallContextServiceServer::new(bare))
            .serve_with_incoming(
                tonic::transport::server::TcpIncoming::from(grpc).with_nodelay(Some(true)),
            )
            .await;
    }

    /// The harness's "webhook": the same Optico payload, parsed, turned into
    /// the update switchboard would send, and broadcast — no database.
    fn publish(
        form: BTreeMap<String, String>,
        events: Option<tokio::sync::broadcast::Sender<Arc<proto::StreamCallUpdatesResponse>>>,
        agents: Arc<Mutex<BTreeMap<i64, String>>>,
        sequence: &AtomicU64,
    ) -> &'static str {
        let Some(events) = events else { return "no" };
        let Some(json) = form
            .get("realtimeData")
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        else {
            return "bad";
        };
        let call = json["callId"].as_i64().unwrap_or(0) - CALL_BASE;
        let view = &json["view"];
        let sequence = sequence.fetch_add(1, Ordering::Relaxed) as i64 + 1;
        if let Ok(mut agents) = agents.lock() {
            agents.insert(sequence, agent_name(call as usize));
        }
        let update = proto::StreamCallUpdatesResponse {
            sequence,
            call_id: "01a2350c-ec17-74e0-a498-77f42e12f49b".into(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_795_000_000,
                nanos: 0,
            }),
            update: Some(proto::stream_call_updates_response::Update::View(
                proto::PageView {
                    id: view["id"].as_i64().unwrap_or(0),
                    page_title: view["pageTitle"].as_str().unwrap_or("").to_owned(),
                    url: view["url"].as_str().unwrap_or("").to_owned(),
                    create_time: Some(prost_types::Timestamp {
                        seconds: 1_795_000_000,
                        nanos: 0,
                    }),
                },
            )),
        };
        let _ = events.send(Arc::new(update));
        "stored"
    }

    pub fn echo() {
        runtime().block_on(serve(Bare {
            events: None,
            agents: Arc::default(),
        }));
    }

    pub fn broadcast() {
        let (events, _) = tokio::sync::broadcast::channel(4096);
        runtime().block_on(serve(Bare {
            events: Some(events),
            agents: Arc::default(),
        }));
    }

    /// `<url> <clients> <commits>`: bare single-row INSERT+COMMIT from
    /// `clients` connections; prints commits per second.
    pub fn bare_commits() {
        let args: Vec<String> = std::env::args().collect();
        let (url, clients, commits) = (
            args[1].clone(),
            args[2].parse::<usize>().expect("clients"),
            args[3].parse::<usize>().expect("commits"),
        );
        let rate = runtime().block_on(async move {
            use sea_orm::sqlx::{self, ConnectOptions, Connection};
            enum Conn {
                Sqlite(sqlx::SqliteConnection),
                Postgres(sqlx::PgConnection),
            }
            let payload = view_payload(1, 1);
            let sqlite = url.starts_with("sqlite:");
            let next = Arc::new(AtomicU64::new(0));
            let mut connections = Vec::new();
            for _ in 0..clients {
                if sqlite {
                    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
                    let options: SqliteConnectOptions = url.parse().expect("sqlite url");
                    let mut conn = options
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Full)
                        .busy_timeout(Duration::from_secs(60))
                        .connect()
                        .await
                        .expect("sqlite");
                    sqlx::query("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL)")
                        .execute(&mut conn)
                        .await
                        .expect("table");
                    connections.push(Conn::Sqlite(conn));
                } else {
                    let mut conn = sqlx::PgConnection::connect(&url).await.expect("postgres");
                    sqlx::query("CREATE TABLE IF NOT EXISTS log (seq BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL)")
                        .execute(&mut conn)
                        .await
                        .expect("table");
                    connections.push(Conn::Postgres(conn));
                }
            }
            let started = Instant::now();
            let stop = started + Duration::from_secs(60);
            let mut tasks = Vec::new();
            for conn in connections {
                let (next, payload) = (next.clone(), payload.clone());
                tasks.push(tokio::spawn(async move {
                    let mut conn = conn;
                    while Instant::now() < stop
                        && (next.fetch_add(1, Ordering::Relaxed) as usize) < commits
                    {
                        match &mut conn {
                            Conn::Sqlite(conn) => {
                                let mut tx = conn
                                    .begin_with("BEGIN IMMEDIATE")
                                    .await
                                    .expect("begin");
                                sqlx::query("INSERT INTO log (payload) VALUES (?)")
                                    .bind(&payload)
                                    .execute(&mut *tx)
                                    .await
                                    .expect("insert");
                                tx.commit().await.expect("commit");
                            }
                            Conn::Postgres(conn) => {
                                let mut tx = conn.begin().await.expect("begin");
                                sqlx::query("INSERT INTO log (payload) VALUES ($1)")
                                    .bind(&payload)
                                    .execute(&mut *tx)
                                    .await
                                    .expect("insert");
                                tx.commit().await.expect("commit");
                            }
                        }
                    }
                }));
            }
            for task in tasks {
                task.await.expect("client");
            }
            let done = (next.load(Ordering::Relaxed) as usize).min(commits);
            done as f64 / started.elapsed().as_secs_f64()
        });
        println!("{rate}");
    }
}
