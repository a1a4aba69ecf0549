//! Simulated CCAI Platform calls API: documented answers for outbound,
//! inbound and scheduled calls, documented errors (an agent whose email
//! starts with "busy" is not available; missing fields), and customer flags.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

pub const SANDBOX_COMPANY_KEY: &str = "sandbox-ccai-company-key";
pub const SANDBOX_COMPANY_SECRET: &str = "sandbox-ccai-company-secret";

#[derive(Clone, Default)]
pub struct CcaiSim {
    next_id: Arc<AtomicI64>,
    flags: Arc<Mutex<HashMap<i64, Value>>>,
}

impl CcaiSim {
    pub fn new() -> Self {
        Self {
            next_id: Arc::new(AtomicI64::new(Utc::now().timestamp_millis() / 1000)),
            flags: Arc::default(),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/apps/api/v1/calls", post(create_call))
            .route(
                "/apps/api/v1/calls/{id}/customer_flag",
                get(get_flag).patch(patch_flag),
            )
            .with_state(self.clone())
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{SANDBOX_COMPANY_KEY}:{SANDBOX_COMPANY_SECRET}"))
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn error(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
}

fn text(body: &Value, key: &str) -> Option<String> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

async fn create_call(
    State(sim): State<CcaiSim>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "message": "Unauthorized" })),
        )
            .into_response();
    }
    let call_type = text(&body, "call_type").unwrap_or_default();
    let (status, kind) = match call_type.as_str() {
        "Voice Outbound (API)" | "OutboundCall" => ("assigned", "outbound"),
        "Voice Inbound (API)" | "IncomingCall" => ("queued", "inbound"),
        "Voice Scheduled (API)" | "ScheduledCall" => ("scheduled", "scheduled"),
        _ => return error("Invalid call type"),
    };
    let ticket = text(&body, "ticket_id");
    let number = text(&body, "end_user_number");
    if kind == "outbound" {
        match text(&body, "agent_email") {
            None => return error("Agent email required"),
            Some(email) if !email.contains('@') => return error("Not a valid agent email"),
            Some(email) if email.starts_with("busy") => {
                return error("Agent is not available to take this call");
            }
            Some(_) => {}
        }
        if ticket.is_none() && number.is_none() {
            return error("ticket_id or end_user_number required");
        }
    } else {
        if body.get("menu_id").is_none() && body.get("call_id").is_none() {
            return error("menu_id is required");
        }
        if ticket.is_none() && number.is_none() {
            return error("end_user_number is required");
        }
        if kind == "scheduled" && body.get("scheduled_at").is_none() {
            return error("scheduled_at is required");
        }
    }
    let id = sim.next_id.fetch_add(1, Ordering::Relaxed);
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let menu = body.get("menu_id").and_then(Value::as_i64).map(|menu_id| {
        json!({ "id": menu_id, "name": "Sandbox menu", "parent_id": null, "position": 0, "deleted": false, "menu_type": "ivr_menu", "output_msg": "You selected the sandbox menu.", "hidden": false })
    });
    let agent = (kind == "outbound").then(|| {
        json!({ "id": 1, "agent_number": null, "name": "Sandbox Agent", "last_name": "Agent", "first_name": "Sandbox", "avatar_url": "https://example.com/avatar.png" })
    });
    let mut participants = vec![
        json!({ "id": id * 10 + 1, "type": "end_user", "status": "waiting", "call_id": id, "user_id": null, "end_user_id": 75, "call_duration": null, "hold_duration": null, "connected_at": null, "ended_at": null, "fail_reason": "nothing" }),
    ];
    if kind == "outbound" {
        participants.insert(0, json!({ "id": id * 10, "type": "agent", "status": "waiting", "call_id": id, "user_id": 1, "end_user_id": null, "call_duration": null, "hold_duration": null, "connected_at": null, "ended_at": null, "fail_reason": "nothing" }));
    }
    let call = json!({
        "id": id, "parent_id": body.get("call_id"), "lang": text(&body, "lang").unwrap_or_else(|| "en".into()),
        "call_type": call_type, "status": status, "created_at": now,
        "queued_at": (kind != "outbound").then(|| now.clone()), "assigned_at": (kind == "outbound").then(|| now.clone()),
        "connected_at": null, "ends_at": null, "scheduled_at": body.get("scheduled_at"),
        "wait_duration": 0, "call_duration": 0, "hold_duration": 0, "rating": null, "has_feedback": false,
        "voip_provider": "voip_provider_twilio", "out_ticket_id": ticket, "out_ticket_url": null, "verified": false,
        "recording_url": null, "recording_permission": "not_asked", "voicemail_reason": "not_voicemail",
        "deflection": "no_deflection", "disconnected_by": "disconnected_by_unknown", "fail_reason": "nothing",
        "fail_details": null, "support_number": null, "selected_menu": menu,
        "menu_path": body.get("menu_id").map(|m| json!({ "items_count": 1, "name": "Sandbox menu", "materialized_path": m.to_string() })),
        "agent_info": agent, "end_user": { "id": 75, "identifier": null, "out_contact_id": "389391400633" },
        "photos": [], "videos": [], "transfers": [], "deflection_details": [], "participants": participants,
        "offer_type": null, "offer_events": [], "answer_type": "manual",
        "outbound_number": text(&body, "outbound_number").unwrap_or_else(|| "+1 339-219-5276".into()),
    });
    if let Ok(mut flags) = sim.flags.lock() {
        flags.insert(
            id,
            json!({ "verified_customer": false, "bad_actor": false, "repeat_customer": false }),
        );
    }
    (StatusCode::CREATED, Json(call)).into_response()
}

async fn get_flag(State(sim): State<CcaiSim>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    // Any id is a call CCAI knows: calls that came in to the contact center
    // (not created here) have their flags too, all unset at first.
    match sim.flags.lock() {
        Ok(flags) => Json(flags.get(&id).cloned().unwrap_or_else(unset_flags)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The flags of a call nobody flagged yet.
fn unset_flags() -> Value {
    json!({ "verified_customer": false, "bad_actor": false, "repeat_customer": false })
}

async fn patch_flag(
    State(sim): State<CcaiSim>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(mut flags) = sim.flags.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let flag = flags.entry(id).or_insert_with(unset_flags);
    for (from, to) in [
        ("verified_customer", "verified_customer"),
        ("bad_actor", "bad_actor"),
        ("repeat_customers", "repeat_customer"),
    ] {
        if let Some(value) = body.get(from) {
            flag[to] = value.clone();
        }
    }
    Json(flag.clone()).into_response()
}
