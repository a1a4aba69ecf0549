//! Simulated FocalScope dial API: a dial answers `{RequestID:N}` as
//! documented, then the URL adapter's callbacks of both legs follow over the
//! next seconds. An agent whose name contains "busy" misses the call; a
//! number ending in 0 does not answer.

use std::{
    collections::HashMap,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use tracing::{debug, warn};

#[derive(Clone)]
pub struct FocalScopeSim {
    inner: Arc<Inner>,
}

struct Inner {
    next_request_id: AtomicI64,
    next_call_id: AtomicI64,
    callback_url: OnceLock<String>,
    http: reqwest::Client,
    pace: Duration,
}

impl FocalScopeSim {
    pub fn new(pace: Duration, http: reqwest::Client) -> Self {
        let seed = chrono::Utc::now().timestamp_millis();
        Self {
            inner: Arc::new(Inner {
                // Unique across restarts on the same database.
                next_request_id: AtomicI64::new(seed / 100),
                next_call_id: AtomicI64::new(1_000_000_000_000 + seed % 1_000_000_000 * 100),
                callback_url: OnceLock::new(),
                // Webhooks to our own port: 5 s is plenty.
                http,
                pace,
            }),
        }
    }

    /// Where callbacks go: switchboard's `/webhooks/focalscope/{token}`.
    pub fn set_callback_url(&self, url: String) {
        let _ = self.inner.callback_url.set(url);
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/dial", get(dial))
            .route("/recording", get(recording))
            .with_state(self.clone())
    }
}

async fn dial(
    State(sim): State<FocalScopeSim>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (Some(agent), Some(number)) = (query.get("agent"), query.get("number")) else {
        return (StatusCode::BAD_REQUEST, "agent and number are required").into_response();
    };
    let request_id = sim.inner.next_request_id.fetch_add(1, Ordering::Relaxed);
    let agent_call = sim.inner.next_call_id.fetch_add(2, Ordering::Relaxed);
    let script = script(agent, number);
    tokio::spawn(sim.clone().call_back(request_id, agent_call, script));
    // Exactly the documented shape: not JSON (unquoted key).
    format!("{{RequestID:{request_id}}}").into_response()
}

/// Seconds of the simulated recordings.
const RECORDING_SECONDS: u32 = 3;
const SAMPLE_RATE: u32 = 8000;

/// Serves a leg's recording: a few seconds of a quiet 440 Hz tone as
/// 8 kHz 16-bit mono WAV (what a PBX records), the same for every leg,
/// generated on request.
async fn recording(Query(query): Query<HashMap<String, String>>) -> Response {
    let known = query
        .get("call_id")
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    if !known {
        return (StatusCode::NOT_FOUND, "no such recording").into_response();
    }
    ([("content-type", "audio/wav")], tone_wav()).into_response()
}

fn tone_wav() -> Vec<u8> {
    let samples = SAMPLE_RATE * RECORDING_SECONDS;
    let data_len = samples * 2;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    wav.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..samples {
        let t = f64::from(n) / f64::from(SAMPLE_RATE);
        let sample = (f64::sin(2.0 * std::f64::consts::PI * 440.0 * t) * 3000.0) as i16;
        wav.extend_from_slice(&sample.to_le_bytes());
    }
    wav
}

/// (CallType, Event, EventCode, IsCallRecorded) of each callback, in order.
fn script(agent: &str, number: &str) -> Vec<(&'static str, &'static str, u8, &'static str)> {
    if agent.to_ascii_lowercase().contains("busy") {
        return vec![("API", "missed", 3, "")];
    }
    if number.ends_with('0') {
        return vec![
            ("API", "pickup", 2, ""),
            ("Outgoing", "missed", 3, ""),
            ("API", "hangup", 1, ""),
        ];
    }
    vec![
        ("API", "pickup", 2, ""),
        ("Outgoing", "pickup", 2, ""),
        ("Outgoing", "hangup", 1, "1"),
        ("API", "hangup", 1, "1"),
    ]
}

impl FocalScopeSim {
    async fn call_back(
        self,
        request_id: i64,
        agent_call: i64,
        script: Vec<(&'static str, &'static str, u8, &'static str)>,
    ) {
        let agent_uuid = uuid::Uuid::new_v4().to_string();
        let customer_uuid = uuid::Uuid::new_v4().to_string();
        for (call_type, event, code, recorded) in script {
            tokio::time::sleep(self.inner.pace).await;
            let Some(url) = self.inner.callback_url.get() else {
                return;
            };
            let (call_id, guid) = if call_type == "API" {
                (agent_call, &agent_uuid)
            } else {
                (agent_call + 1, &customer_uuid)
            };
            let query = [
                ("CallType", call_type.to_owned()),
                ("Event", event.to_owned()),
                ("CallID", call_id.to_string()),
                ("RequestID", request_id.to_string()),
                ("EventCode", code.to_string()),
                ("IsCallRecorded", recorded.to_owned()),
                ("Guid", guid.clone()),
            ];
            match self
                .inner
                .http
                .get(url)
                .timeout(Duration::from_secs(5))
                .query(&query)
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => debug!(
                    request_id,
                    call_type, event, "sandbox focalscope callback delivered"
                ),
                Ok(response) => warn!(
                    request_id,
                    status = response.status().as_u16(),
                    "sandbox focalscope callback refused"
                ),
                Err(e) => warn!(request_id, error = %e, "sandbox focalscope callback failed"),
            }
        }
    }
}
