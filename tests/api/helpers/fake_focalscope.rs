//! A local HTTP server playing the FocalScope dial API: answers
//! `{RequestID:513}` as documented, records each dial, and can call
//! switchboard back before answering (the PBX can be that fast).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};

/// The four documented callbacks of RequestID 513, in order.
pub const DOC_CALLBACKS: [&str; 4] = [
    "CallType=API&Event=pickup&CallID=1000000087849&RequestID=513&EventCode=2&IsCallRecorded=&Guid=bfa2dbc8-ab8a-34c8-f243-c2aad8c446ff",
    "CallType=Outgoing&Event=pickup&CallID=1000000087850&RequestID=513&EventCode=2&IsCallRecorded=&Guid=923041af-adb5-a8ae-f29c-e60ea5e17448",
    "CallType=Outgoing&Event=hangup&CallID=1000000087850&RequestID=513&EventCode=1&IsCallRecorded=1&Guid=923041af-adb5-a8ae-f29c-e60ea5e17448",
    "CallType=API&Event=hangup&CallID=1000000087849&RequestID=513&EventCode=1&IsCallRecorded=1&Guid=bfa2dbc8-ab8a-34c8-f243-c2aad8c446ff",
];

#[derive(Debug, Clone)]
pub enum Answer {
    /// `{RequestID:513}` exactly as documented.
    Documented,
    /// A given body with status 200.
    Body(&'static str),
    /// A bare HTTP status.
    Status(u16),
    /// Answers after this delay (to exceed switchboard's timeout).
    Slow(Duration),
}

#[derive(Clone)]
pub struct FakeFocalScope {
    pub url: String,
    dials: Arc<Mutex<Vec<String>>>,
    /// The `traceparent` header of each dial (W3C trace context).
    traceparents: Arc<Mutex<Vec<Option<String>>>>,
    answer: Arc<Mutex<Answer>>,
    /// Callbacks (query strings) sent to `callback_url` before answering.
    early: Arc<Mutex<Vec<String>>>,
    callback_url: Arc<Mutex<Option<String>>>,
    /// Held during a dial, so a test can keep it in flight.
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl FakeFocalScope {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = Self {
            url,
            dials: Arc::default(),
            traceparents: Arc::default(),
            answer: Arc::new(Mutex::new(Answer::Documented)),
            early: Arc::default(),
            callback_url: Arc::default(),
            gate: Arc::default(),
        };
        let router = Router::new()
            .route("/dial", get(dial))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    /// The `vendors.focalscope.dial_url` template pointing here.
    pub fn dial_url(&self) -> String {
        format!("{}/dial?agent={{agent}}&number={{number}}", self.url)
    }

    pub fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    /// Before answering the next dials, call switchboard back with these.
    pub fn call_back_first(&self, callback_url: &str, queries: &[&str]) {
        *self.callback_url.lock().unwrap() = Some(callback_url.to_owned());
        *self.early.lock().unwrap() = queries.iter().map(|q| q.to_string()).collect();
    }

    /// The query strings of the dials received.
    pub fn dials(&self) -> Vec<String> {
        self.dials.lock().unwrap().clone()
    }

    /// The `traceparent` header each dial came with.
    pub fn traceparents(&self) -> Vec<Option<String>> {
        self.traceparents.lock().unwrap().clone()
    }

    pub fn gate(&self) -> Arc<tokio::sync::Mutex<()>> {
        self.gate.clone()
    }
}

async fn dial(
    State(fake): State<FakeFocalScope>,
    headers: axum::http::HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    fake.dials.lock().unwrap().push(query.unwrap_or_default());
    fake.traceparents.lock().unwrap().push(
        headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    let _held = fake.gate.lock().await;
    let early: Vec<String> = fake.early.lock().unwrap().clone();
    let callback_url = fake.callback_url.lock().unwrap().clone();
    if let Some(base) = callback_url {
        for query in early {
            let response = super::http_client()
                .get(format!("{base}?{query}"))
                .send()
                .await
                .expect("callback delivered");
            assert_eq!(response.status(), 200, "early callback accepted");
        }
    }
    let answer = fake.answer.lock().unwrap().clone();
    match answer {
        Answer::Documented => "{RequestID:513}".into_response(),
        Answer::Body(body) => body.into_response(),
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Slow(delay) => {
            tokio::time::sleep(delay).await;
            "{RequestID:513}".into_response()
        }
    }
}

/// The byte at `offset` of the fake's recordings: a pattern that does not
/// repeat at any chunk size, so a reordered, lost or repeated chunk shows.
pub fn recording_byte(offset: u64) -> u8 {
    (offset.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (offset >> 16) as u8
}

/// How the fake PBX answers recording downloads.
#[derive(Debug, Clone)]
pub enum Recording {
    /// 200 `audio/wav` with a Content-Length, `total` bytes generated as
    /// they are sent, `chunk` at a time with `delay` before each.
    Serve {
        total: u64,
        chunk: usize,
        delay: Duration,
    },
    /// A bare HTTP status.
    Status(u16),
}

/// A local PBX serving leg recordings at `/recording/{call_id}?uuid=…`,
/// counting what it has handed to its connection.
#[derive(Clone)]
pub struct FakeRecordings {
    pub url: String,
    answer: Arc<Mutex<Recording>>,
    requests: Arc<Mutex<Vec<String>>>,
    sent: Arc<std::sync::atomic::AtomicU64>,
    finished: Arc<std::sync::atomic::AtomicBool>,
}

impl FakeRecordings {
    pub async fn start(answer: Recording) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = Self {
            url,
            answer: Arc::new(Mutex::new(answer)),
            requests: Arc::default(),
            sent: Arc::default(),
            finished: Arc::default(),
        };
        let router = Router::new()
            .route("/recording/{call_id}", get(recording))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    /// The `vendors.focalscope.recording_url` template pointing here.
    pub fn recording_url(&self) -> String {
        format!("{}/recording/{{call_id}}?uuid={{call_uuid}}", self.url)
    }

    pub fn answer(&self, answer: Recording) {
        *self.answer.lock().unwrap() = answer;
    }

    /// Path and query of each download asked for.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Bytes handed to the connection so far (by every download).
    pub fn sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether a download's last byte has been handed to the connection.
    pub fn finished(&self) -> bool {
        self.finished.load(std::sync::atomic::Ordering::SeqCst)
    }
}

async fn recording(State(fake): State<FakeRecordings>, uri: axum::http::Uri) -> Response {
    fake.requests.lock().unwrap().push(
        uri.path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
    );
    let answer = fake.answer.lock().unwrap().clone();
    let (total, chunk, delay) = match answer {
        Recording::Status(code) => return StatusCode::from_u16(code).unwrap().into_response(),
        Recording::Serve {
            total,
            chunk,
            delay,
        } => (total, chunk as u64, delay),
    };
    let state = (0u64, fake.clone());
    let body = futures::stream::unfold(state, move |(offset, fake)| async move {
        if offset >= total {
            fake.finished
                .store(true, std::sync::atomic::Ordering::SeqCst);
            return None;
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let end = (offset + chunk).min(total);
        let bytes: Vec<u8> = (offset..end).map(recording_byte).collect();
        fake.sent
            .fetch_add(end - offset, std::sync::atomic::Ordering::SeqCst);
        Some((
            Ok::<_, std::io::Error>(axum::body::Bytes::from(bytes)),
            (end, fake),
        ))
    });
    (
        [
            ("content-type", "audio/wav".to_owned()),
            ("content-length", total.to_string()),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}
