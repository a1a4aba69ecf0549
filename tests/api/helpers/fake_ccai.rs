//! A local HTTP server playing the CCAI Platform calls API: answers what a
//! test tells it to (by default the documented 201 of an outbound call) and
//! records every request with its Authorization header and JSON body.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};

use super::ccai_doc;

pub const COMPANY_KEY: &str = "company-key-0123";
pub const COMPANY_SECRET: &str = "company-secret-s3cr3t-value";

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub authorization: String,
    pub content_type: String,
    pub body: serde_json::Value,
    /// When the request arrived.
    pub at: std::time::Instant,
}

#[derive(Debug, Clone)]
pub enum Answer {
    /// Status and JSON (or empty) body.
    Json(u16, String),
    /// Answers 201 (documented outbound call) after this delay.
    Slow(Duration),
}

#[derive(Clone)]
pub struct FakeCcai {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    answer: Arc<Mutex<Answer>>,
    flags: Arc<Mutex<String>>,
    /// The HTTP status of the customer_flag answers (200 unless told).
    flags_status: Arc<Mutex<u16>>,
}

impl FakeCcai {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = Self {
            url,
            received: Arc::default(),
            answer: Arc::new(Mutex::new(Answer::Json(
                201,
                ccai_doc::OUTBOUND_CREATED.into(),
            ))),
            flags: Arc::new(Mutex::new(
                r#"{"verified_customer": true, "bad_actor": false, "repeat_customer": true}"#
                    .into(),
            )),
            flags_status: Arc::new(Mutex::new(200)),
        };
        let router = Router::new()
            .route("/apps/api/v1/calls", post(answer))
            .route(
                "/apps/api/v1/calls/{id}/customer_flag",
                get(flag).patch(flag),
            )
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    pub fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    pub fn answer_json(&self, status: u16, body: &str) {
        self.answer(Answer::Json(status, body.to_owned()));
    }

    pub fn flags_answer(&self, body: &str) {
        *self.flags.lock().unwrap() = body.to_owned();
    }

    /// Answers the customer_flag endpoints with this status from now on.
    pub fn flags_status(&self, status: u16) {
        *self.flags_status.lock().unwrap() = status;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn creations(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/apps/api/v1/calls")
            .collect()
    }
}

fn record(fake: &FakeCcai, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    fake.received.lock().unwrap().push(Received {
        method: method.to_string(),
        path: uri.path().to_owned(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: serde_json::from_slice(body).unwrap_or(serde_json::Value::Null),
        at: std::time::Instant::now(),
    });
}

fn json_response(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    if body.is_empty() {
        status.into_response()
    } else {
        (status, [("content-type", "application/json")], body).into_response()
    }
}

async fn answer(
    State(fake): State<FakeCcai>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&fake, &method, &uri, &headers, &body);
    let answer = fake.answer.lock().unwrap().clone();
    match answer {
        Answer::Json(status, body) => json_response(status, body),
        Answer::Slow(delay) => {
            tokio::time::sleep(delay).await;
            json_response(201, ccai_doc::OUTBOUND_CREATED.into())
        }
    }
}

async fn flag(
    State(fake): State<FakeCcai>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&fake, &method, &uri, &headers, &body);
    let status = *fake.flags_status.lock().unwrap();
    if status != 200 {
        // The documented 404: "Ressource introuvable : veuillez vérifier
        // votre sous-domaine".
        return json_response(status, String::new());
    }
    let flags = fake.flags.lock().unwrap().clone();
    json_response(200, flags)
}
