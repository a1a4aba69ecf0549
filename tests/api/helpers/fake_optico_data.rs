//! A local HTTP server playing the Optico Data API (`GET /data-api`): pages
//! through a dataset the test gives it exactly as documented
//! (`status`, `total_results`, `next_page`, `results`), records every
//! request's query, and can hold pages back, fail them, or answer
//! `status: ERROR`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::AppOptions;

/// The API key of the Data API documentation.
pub const DATA_API_KEY: &str = "45ebcbe224c4bbb8d1882654b33b9823";

/// How the fake answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Pages of the dataset, as documented.
    Documented,
    /// `{"status": "ERROR", "errors": <errors>}` from this page on.
    ErrorFrom { page: u32, errors: Value },
}

struct Inner {
    records: Vec<Value>,
    days: Vec<Value>,
    requests: Vec<HashMap<String, String>>,
    /// Requests whose client went away before they were answered.
    abandoned: usize,
    behaviour: Behaviour,
    /// Page → how many more times it answers HTTP 503.
    failures: HashMap<u32, u32>,
}

#[derive(Clone)]
pub struct FakeOpticoData {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    /// Requests for this page or a later one wait until it changes.
    hold_from: Arc<watch::Sender<Option<u32>>>,
}

/// `n` distinct documented call records: record `i` has `visit_id` `i`, so a
/// test can tell every record apart and check their order.
pub fn records(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "start_date": format!("2014-05-{:02} {:02}:{:02}:{:02}", 5 + i % 10, 8 + i % 10, i % 60, (i / 60) % 60),
                "caller": format!("00336{:08}", i),
                "tracking number": "0033170000001",
                "phone": "0033123456789",
                "trigger_type": ((i % 4) + 1).to_string(),
                "source": "adwords",
                "url": "https://shop.example.com/espresso/x200",
                "referer": "google.fr",
                "keyword": "machine espresso",
                "call_path": "https://shop.example.com/\nhttps://shop.example.com/espresso\nhttps://shop.example.com/espresso/x200",
                "status": "succès",
                "duration": (i % 600).to_string(),
                "revenue": "12.50",
                "keypad": "1#",
                "is_redirect": "0",
                "expired_redirect": 0,
                "client_data": { "crm_id": format!("C-{i:06}") },
                "visit_id": i.to_string(),
            })
        })
        .collect()
}

impl FakeOpticoData {
    pub async fn start(records: Vec<Value>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (hold_from, _) = watch::channel(None);
        let fake = Self {
            url,
            inner: Arc::new(Mutex::new(Inner {
                records,
                days: Vec::new(),
                requests: Vec::new(),
                abandoned: 0,
                behaviour: Behaviour::Documented,
                failures: HashMap::new(),
            })),
            hold_from: Arc::new(hold_from),
        };
        let router = Router::new()
            .route("/data-api", get(answer))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    /// App options pointing `vendors.optico.base_url` here with the data
    /// API key set.
    pub fn app_options(&self) -> AppOptions {
        AppOptions::default()
            .env("SWITCHBOARD__VENDORS__OPTICO__BASE_URL", &self.url)
            .env("SWITCHBOARD__VENDORS__OPTICO__DATA_API_KEY", DATA_API_KEY)
    }

    /// The `group_by_day` rows answered (by day, as given).
    pub fn set_days(&self, days: Vec<Value>) {
        self.inner.lock().unwrap().days = days;
    }

    pub fn behave(&self, behaviour: Behaviour) {
        self.inner.lock().unwrap().behaviour = behaviour;
    }

    /// Answers HTTP 503 to the next `times` requests of `page`.
    pub fn fail_page(&self, page: u32, times: u32) {
        self.inner.lock().unwrap().failures.insert(page, times);
    }

    /// Holds requests for `page` and later pages (recorded, unanswered)
    /// until `release`.
    pub fn hold_from(&self, page: u32) {
        self.hold_from.send_replace(Some(page));
    }

    pub fn release(&self) {
        self.hold_from.send_replace(None);
    }

    /// The query of every request received, in arrival order.
    pub fn requests(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The `page` of every request received, in arrival order.
    pub fn pages_requested(&self) -> Vec<u32> {
        self.requests()
            .iter()
            .map(|query| query.get("page").and_then(|p| p.parse().ok()).unwrap_or(0))
            .collect()
    }

    /// Waits until `n` requests arrived (panics after 10 s).
    pub async fn wait_for_requests(&self, n: usize) {
        self.wait_until(|inner| inner.requests.len() >= n, &format!("{n} requests"))
            .await;
    }

    /// Waits until `n` requests were abandoned by their client while held
    /// (panics after 10 s).
    pub async fn wait_for_abandoned(&self, n: usize) {
        self.wait_until(
            |inner| inner.abandoned >= n,
            &format!("{n} abandoned requests"),
        )
        .await;
    }

    async fn wait_until(&self, done: impl Fn(&Inner) -> bool, what: &str) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while !done(&self.inner.lock().unwrap()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {what}; pages requested: {:?}",
                self.pages_requested()
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

struct Pending(Option<FakeOpticoData>);

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(fake) = &self.0 {
            fake.inner.lock().unwrap().abandoned += 1;
        }
    }
}

async fn answer(
    State(fake): State<FakeOpticoData>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let page: u32 = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(1000);
    let grouped = query.contains_key("group_by_day");
    fake.inner.lock().unwrap().requests.push(query);
    // Counts the request as abandoned if the server drops this handler
    // (hyper does when the client closes the connection) while it is held.
    let mut pending = Pending(Some(fake.clone()));
    let mut hold = fake.hold_from.subscribe();
    while hold.borrow_and_update().is_some_and(|from| page >= from) {
        if hold.changed().await.is_err() {
            break;
        }
    }
    pending.0 = None;
    let mut inner = fake.inner.lock().unwrap();
    if let Some(left) = inner.failures.get_mut(&page)
        && *left > 0
    {
        *left -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "<html>busy</html>").into_response();
    }
    if let Behaviour::ErrorFrom { page: from, errors } = &inner.behaviour
        && page >= *from
    {
        return Json(json!({ "status": "ERROR", "errors": errors })).into_response();
    }
    let dataset = if grouped { &inner.days } else { &inner.records };
    let total = dataset.len();
    let first = (page.saturating_sub(1) as usize * limit).min(total);
    let last = (page as usize * limit).min(total);
    let mut body = json!({
        "status": "OK",
        "total_results": total,
        "results": &dataset[first..last],
    });
    if last < total {
        body["next_page"] = json!(page + 1);
    }
    Json(body).into_response()
}
