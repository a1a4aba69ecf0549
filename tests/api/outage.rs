//! The database goes away in the middle of a steady webhook load, and comes
//! back: senders get `200` or a prompt `503` with `Retry-After` and nothing
//! else, every `200` is in the log afterwards, nothing is stored twice,
//! `/readyz` tells the truth throughout, gRPC answers UNAVAILABLE with
//! RetryInfo, and an open stream resumes by itself.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use switchboard::pb::v1::{self as proto, stream_call_updates_response::Update};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{
    AppOptions, Db, TestApp, fake_optico::WEBHOOK_VIEW, next_update, optico_ref,
    postgres::PgCluster,
};

/// Each webhook is a new view of one of ten calls.
fn view(n: i64) -> String {
    WEBHOOK_VIEW
        .replace("22122563", &(41_000_000 + n % 10).to_string())
        .replace("568536624", &(71_000_000 + n).to_string())
}

/// What each delivery got: status (0 = no answer in time) and how long it
/// took.
type Outcomes = Arc<Mutex<BTreeMap<i64, (u16, Duration)>>>;

/// Four senders posting new views, one after the other each, until `stop`.
fn steady_load(
    app: &TestApp,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (Outcomes, Vec<tokio::task::JoinHandle<()>>) {
    let outcomes: Outcomes = Arc::default();
    let mut senders = Vec::new();
    for sender in 0..4i64 {
        let (outcomes, stop) = (outcomes.clone(), stop.clone());
        let url = app.http_url(&format!(
            "/webhooks/optico/{}",
            crate::helpers::WEBHOOK_TOKEN
        ));
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(8))
                .build()
                .unwrap();
            let mut n = sender;
            // Bounded: at most 2,000 deliveries per sender.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 8_000 {
                let started = Instant::now();
                let status = match client
                    .post(&url)
                    .form(&[("realtimeData", view(n))])
                    .send()
                    .await
                {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        if status == 503 {
                            assert!(
                                response.headers().contains_key("retry-after"),
                                "a 503 says when to retry"
                            );
                        }
                        status
                    }
                    Err(_) => 0,
                };
                outcomes
                    .lock()
                    .unwrap()
                    .insert(71_000_000 + n, (status, started.elapsed()));
                n += 4;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    (outcomes, senders)
}

/// Every view id in the log, with how many times it is there.
async fn logged_views(app: &TestApp) -> BTreeMap<i64, usize> {
    let marker = 79_999_999;
    let response = app
        .post_optico_form(&WEBHOOK_VIEW.replace("568536624", &marker.to_string()))
        .await;
    assert_eq!(response.status(), 200);
    let mut stream = app.stream(proto::StreamCallUpdatesRequest::default()).await;
    let mut views = BTreeMap::new();
    loop {
        let update = next_update(&mut stream, Duration::from_secs(10)).await;
        if let Some(Update::View(view)) = update.update {
            if view.id == marker {
                return views;
            }
            *views.entry(view.id).or_insert(0) += 1;
        }
    }
}

async fn readyz(app: &TestApp) -> (u16, String) {
    let response = app
        .http
        .get(app.http_url("/readyz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .expect("/readyz answers within its probe timeout");
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

async fn check_outcomes_and_log(app: &TestApp, outcomes: &Outcomes) {
    let outcomes = outcomes.lock().unwrap().clone();
    let mut refused = 0;
    for (view, (status, took)) in &outcomes {
        match status {
            200 => {}
            503 => {
                refused += 1;
                assert!(
                    *took < Duration::from_secs(3),
                    "view {view}: the 503 took {took:?}"
                );
            }
            other => panic!("view {view} got {other} after {took:?}: only 200 or 503"),
        }
    }
    assert!(refused > 0, "the outage was felt");
    let logged = logged_views(app).await;
    for (view, (status, _)) in &outcomes {
        if *status == 200 {
            assert_eq!(logged.get(view), Some(&1), "acknowledged view {view}");
        }
    }
    assert!(logged.values().all(|&n| n == 1), "nothing stored twice");
}

#[tokio::test]
async fn postgres_stopped_mid_load_then_back() {
    // Commits wait for their WAL to reach the OS (synchronous_commit=on, as
    // in production): an immediate stop kills the server, not the OS, so
    // every acknowledged commit survives it (fsync can stay off).
    let settings = ["fsync=off", "full_page_writes=off", "max_connections=100"];
    let cluster = tokio::task::spawn_blocking(move || PgCluster::start(&settings))
        .await
        .unwrap()
        .expect("a throwaway cluster");
    let url = cluster.fresh_database().await;
    let app = TestApp::spawn_with(AppOptions::default().db(Db::Url(url))).await;
    let mut live = app.stream(proto::StreamCallUpdatesRequest::default()).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (outcomes, senders) = steady_load(&app, stop.clone());
    tokio::time::sleep(Duration::from_millis(800)).await;

    let cluster = Arc::new(cluster);
    tokio::task::spawn_blocking({
        let cluster = cluster.clone();
        move || cluster.stop_immediately()
    })
    .await
    .unwrap()
    .expect("pg_ctl stop -m immediate");
    let down = Instant::now();
    // While it is down: not ready (saying why), alive, and gRPC UNAVAILABLE
    // with RetryInfo and no pool internals.
    let mut saw_not_ready = false;
    while down.elapsed() < Duration::from_secs(10) {
        let (status, reason) = readyz(&app).await;
        if status == 503 {
            assert!(reason.contains("database"), "{reason}");
            saw_not_ready = true;
        }
        let health = app.http.get(app.http_url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let started = Instant::now();
        let error = app.get_call(optico_ref("41000001")).await;
        if let Err(status) = error
            && status.code() == Code::Unavailable
        {
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "UNAVAILABLE took {:?}",
                started.elapsed()
            );
            assert!(status.get_details_retry_info().is_some());
            assert!(
                !status.message().to_lowercase().contains("pool"),
                "{}",
                status.message()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        saw_not_ready,
        "/readyz said not ready while the database was down"
    );
    tokio::task::spawn_blocking({
        let cluster = cluster.clone();
        move || cluster.run()
    })
    .await
    .unwrap()
    .expect("postgres restarts");
    // Back: ready again by itself, and the senders' webhooks are stored.
    let deadline = Instant::now() + Duration::from_secs(20);
    while readyz(&app).await.0 != 200 {
        assert!(Instant::now() < deadline, "ready again after the restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }
    check_outcomes_and_log(&app, &outcomes).await;
    // The stream opened before the outage is still open and delivered up to
    // the end, in order, without a duplicate.
    let mut last = 0;
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let update = next_update(&mut live, Duration::from_secs(10)).await;
        assert!(update.sequence > last, "in order, no duplicate");
        last = update.sequence;
        if let Some(Update::View(view)) = update.update {
            seen.insert(view.id);
            if view.id == 79_999_999 {
                break;
            }
        }
    }
    let acknowledged: Vec<i64> = outcomes
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, (status, _))| *status == 200)
        .map(|(view, _)| *view)
        .collect();
    assert!(acknowledged.iter().all(|view| seen.contains(view)));
}

/// Makes the SQLite files unwritable (or writable again): `chattr +i` as
/// root (permission bits do not stop root), `chmod` otherwise.
fn set_writable(files: &[std::path::PathBuf], writable: bool) {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    for file in files.iter().filter(|f| f.exists()) {
        let ok = if root {
            std::process::Command::new("chattr")
                .arg(if writable { "-i" } else { "+i" })
                .arg(file)
                .status()
                .is_ok_and(|s| s.success())
        } else {
            std::process::Command::new("chmod")
                .arg(if writable { "u+w" } else { "a-w" })
                .arg(file)
                .status()
                .is_ok_and(|s| s.success())
        };
        assert!(
            ok,
            "cannot change {} to writable={writable}",
            file.display()
        );
    }
}

#[tokio::test]
async fn sqlite_file_unwritable_mid_load_then_writable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outage.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let app = TestApp::spawn_with(AppOptions::default().db(Db::Url(url))).await;
    let mut live = app.stream(proto::StreamCallUpdatesRequest::default()).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (outcomes, senders) = steady_load(&app, stop.clone());
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The database and its write-ahead log; not the shared-memory index,
    // which SQLite maps into memory (refusing it writes would be a SIGBUS,
    // not a disk that refuses writes).
    let files = [db.clone(), dir.path().join("outage.db-wal")];
    set_writable(&files, false);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let health = app.http.get(app.http_url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    set_writable(&files, true);
    let deadline = Instant::now() + Duration::from_secs(20);
    while readyz(&app).await.0 != 200 {
        assert!(Instant::now() < deadline, "ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }
    check_outcomes_and_log(&app, &outcomes).await;
    let mut last = 0;
    loop {
        let update = next_update(&mut live, Duration::from_secs(10)).await;
        assert!(update.sequence > last, "in order, no duplicate");
        last = update.sequence;
        if matches!(&update.update, Some(Update::View(view)) if view.id == 79_999_999) {
            break;
        }
    }
}
