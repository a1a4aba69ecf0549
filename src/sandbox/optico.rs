//! Simulated Optico Call Center API: answers `callStart` and
//! `setAgentToCall` as the documentation shows, and for each started call
//! posts realtime webhooks (page views, a cart change, an order) over the
//! following seconds.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use axum::{Form, Json, Router, extract::State, routing::post};
use chrono::Utc;
use chrono_tz::Tz;
use serde_json::{Value, json};
use tracing::{debug, warn};

use crate::vendors::optico::{DATE_FORMAT, format_date};

/// The API key the simulation accepts.
pub const SANDBOX_API_KEY: &str = "sandbox-optico-api-key";

#[derive(Clone)]
pub struct OpticoSim {
    inner: Arc<Inner>,
}

struct Inner {
    next_call_id: AtomicI64,
    /// Started calls and their agent.
    calls: Mutex<HashMap<i64, Option<String>>>,
    /// Where realtime webhooks go, once the app is listening.
    webhook_url: OnceLock<String>,
    http: reqwest::Client,
    timezone: Tz,
    /// Pause between simulated caller actions.
    pace: Duration,
}

impl OpticoSim {
    pub fn new(timezone: Tz, pace: Duration, http: reqwest::Client) -> Self {
        Self {
            inner: Arc::new(Inner {
                // Unique across restarts on the same database: a restarted
                // sandbox must not hand out call ids it gave before.
                next_call_id: AtomicI64::new(Utc::now().timestamp_millis() / 100),
                calls: Mutex::new(HashMap::new()),
                webhook_url: OnceLock::new(),
                // Webhooks to our own port: 5 s is plenty.
                http,
                timezone,
                pace,
            }),
        }
    }

    pub fn set_webhook_url(&self, url: String) {
        let _ = self.inner.webhook_url.set(url);
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/agent-api/callStart", post(call_start))
            .route("/agent-api/setAgentToCall", post(set_agent_to_call))
            .with_state(self.clone())
    }
}

fn nok(message: impl Into<String>) -> Json<Value> {
    Json(json!({ "status": "NOK", "error": message.into() }))
}

fn check_key(form: &HashMap<String, String>) -> Result<(), Json<Value>> {
    match form.get("apiKey").map(String::as_str) {
        Some(SANDBOX_API_KEY) => Ok(()),
        Some(other) => Err(nok(format!(
            "Invalid API key `{}`",
            other.chars().take(12).collect::<String>()
        ))),
        None => Err(nok("Invalid API key ``")),
    }
}

async fn call_start(
    State(sim): State<OpticoSim>,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(answer) = check_key(&form) {
        return answer;
    }
    let Some(start_date) = form
        .get("startDate")
        .filter(|d| chrono::NaiveDateTime::parse_from_str(d, DATE_FORMAT).is_ok())
    else {
        return nok("startDate is required (Y-m-d H:i:s)");
    };
    if form.get("destinationPhone").is_none_or(|p| p.is_empty()) {
        return nok("destinationPhone is required");
    }
    let inner = &sim.inner;
    let call_id = inner.next_call_id.fetch_add(1, Ordering::Relaxed);
    let agent = form.get("agent").cloned().filter(|a| !a.is_empty());
    if let Ok(mut calls) = inner.calls.lock() {
        calls.insert(call_id, agent.clone());
    }
    let now = Utc::now();
    let at = |minutes_ago: i64| {
        format_date(now - chrono::Duration::minutes(minutes_ago), inner.timezone)
    };
    let answer = json!({
        "status": "OK",
        "resultsNb": 1,
        "results": [{
            "call": {
                "id": call_id,
                "startDate": start_date,
                "status": "OK_OUTCALL",
                "source": "Adwords",
                "referrer": null,
                "Keyword": "optico tracking",
                "agent": agent,
            },
            "views": [
                { "id": call_id * 10 + 1, "pageTitle": "Home", "url": "https://shop.example.com/", "createdAt": at(6) },
                { "id": call_id * 10 + 2, "pageTitle": "Espresso machines", "url": "https://shop.example.com/espresso", "createdAt": at(4) }
            ],
            "currentCart": {
                "id": call_id + 1000,
                "externalId": format!("cart-{call_id}"),
                "isLoggedIn": true,
                "currency": "EUR",
                "status": 0,
                "totalCost": 1000,
                "productsNb": 2,
                "createdAt": at(3),
                "products": [
                    { "id": 662315, "name": "Espresso machine", "quantity": 1, "costPerUnit": 896 },
                    { "id": 662316, "name": "Milk jug", "quantity": 1, "costPerUnit": 104 }
                ]
            },
            "orders": []
        }]
    });
    tokio::spawn(sim.clone().post_realtime(call_id));
    Json(answer)
}

async fn set_agent_to_call(
    State(sim): State<OpticoSim>,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(answer) = check_key(&form) {
        return answer;
    }
    let Some(call_id) = form.get("callId").and_then(|id| id.parse::<i64>().ok()) else {
        return nok("callId is required");
    };
    let Some(agent) = form.get("agent").filter(|a| !a.is_empty()).cloned() else {
        return nok("agent is required");
    };
    let known = match sim.inner.calls.lock() {
        Ok(mut calls) => calls
            .get_mut(&call_id)
            .map(|slot| *slot = Some(agent.clone()))
            .is_some(),
        Err(_) => false,
    };
    if !known {
        return nok(format!("Unknown callId {call_id}"));
    }
    Json(
        json!({ "status": "OK", "resultsNb": 1, "results": [{ "callId": call_id, "agent": agent }] }),
    )
}

impl OpticoSim {
    /// The caller keeps browsing during the call: two page views, a cart
    /// change, then an order.
    async fn post_realtime(self, call_id: i64) {
        let inner = &self.inner;
        let tz = inner.timezone;
        let now = || format_date(Utc::now(), tz);
        let steps: [&(dyn Fn() -> serde_json::Value + Send + Sync); 4] = [
            &|| json!({ "callId": call_id, "type": "view", "view": { "id": call_id * 10 + 3, "pageTitle": "Espresso machine X200", "url": "https://shop.example.com/espresso/x200", "createdAt": now() }, "cart": null, "order": null }),
            &|| json!({ "callId": call_id, "type": "view", "view": { "id": call_id * 10 + 4, "pageTitle": "Delivery options", "url": "https://shop.example.com/delivery", "createdAt": now() }, "cart": null, "order": null }),
            &|| {
                json!({ "callId": call_id, "type": "cart", "view": null, "order": null, "cart": {
                "id": call_id + 1000, "externalId": format!("cart-{call_id}"), "isLoggedIn": true, "currency": "EUR", "status": 0,
                "totalCost": 1045, "productsNb": 3, "createdAt": now(),
                "products": [
                    { "id": 662315, "externalId": "SKU-001", "name": "Espresso machine", "quantity": 1, "costPerUnit": 896, "details": [] },
                    { "id": 662316, "externalId": "SKU-002", "name": "Milk jug", "quantity": 1, "costPerUnit": 104, "details": [] },
                    { "id": 662317, "externalId": "SKU-003", "name": "Descaler", "quantity": 1, "costPerUnit": 45, "details": [] }
                ] } })
            },
            &|| {
                json!({ "callId": call_id, "type": "order", "view": null, "cart": null, "order": {
                "id": call_id + 2000, "externalId": format!("ORD-{call_id}"), "cartId": call_id + 1000, "externalCartId": format!("cart-{call_id}"),
                "agent": null, "status": "Completed", "isSale": true, "currency": "EUR", "totalCost": 1045, "source": "Adwords", "createdAt": now(),
                "products": [] } })
            },
        ];
        for step in steps {
            tokio::time::sleep(inner.pace).await;
            let payload = step();
            let Some(url) = inner.webhook_url.get() else {
                return;
            };
            let form = [("realtimeData", payload.to_string())];
            match inner
                .http
                .post(url)
                .timeout(Duration::from_secs(5))
                .form(&form)
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => {
                    debug!(call_id, "sandbox optico webhook delivered")
                }
                Ok(response) => warn!(
                    call_id,
                    status = response.status().as_u16(),
                    "sandbox optico webhook refused"
                ),
                Err(e) => warn!(call_id, error = %e, "sandbox optico webhook failed"),
            }
        }
    }
}
