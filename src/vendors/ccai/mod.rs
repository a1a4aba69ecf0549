//! Google CCAI Platform calls API: `POST {base_url}/apps/api/v1/calls`
//! (outbound, inbound and scheduled calls) and the customer flags of a call,
//! with HTTP Basic auth (`company_key` / `company_secret`). The wire format
//! stays in this folder: the trait and the functions below speak domain
//! types only.

mod wire;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{
    domain::{
        CallStatus, EndUser, Provider, RecordingPermission,
        ccai::{
            CcaiAgent, CcaiCall, CcaiCreated, CcaiCreatedCall, CcaiEndUser, CcaiMenu, CcaiMenuPath,
            CcaiOfferEvent, CcaiParticipant, CcaiPhoto, CcaiTransfer, CcaiVideo, CustomerFlags,
            CustomerFlagsChange, NewCcaiCall,
        },
    },
    vendors::{Answer, Effect, Pipeline, VendorError, VendorErrorKind, endpoint, redact},
};

/// What switchboard needs from CCAI Platform.
#[async_trait]
pub trait CcaiCalls: Send + Sync {
    /// Creates a call (`POST /apps/api/v1/calls`); never retried.
    async fn create_call(&self, call: &NewCcaiCall) -> Result<CcaiCreated, VendorError>;
    async fn customer_flags(&self, ccai_call_id: i64) -> Result<CustomerFlags, VendorError>;
    async fn update_customer_flags(
        &self,
        ccai_call_id: i64,
        change: &CustomerFlagsChange,
    ) -> Result<CustomerFlags, VendorError>;
}

pub struct CcaiClient {
    http: Pipeline,
    base_url: Url,
    company_key: SecretString,
    company_secret: SecretString,
}

impl CcaiClient {
    pub fn new(
        base_url: Url,
        company_key: SecretString,
        company_secret: SecretString,
        http: Pipeline,
    ) -> Self {
        Self {
            http,
            base_url,
            company_key,
            company_secret,
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, endpoint(&self.base_url, path))
            .basic_auth(
                self.company_key.expose_secret(),
                Some(self.company_secret.expose_secret()),
            )
    }

    /// The vendor's message of an error answer, secrets redacted.
    fn error_message(&self, status: StatusCode, body: &[u8]) -> String {
        let message = serde_json::from_slice::<wire::ErrorBody>(body)
            .ok()
            .and_then(|e| e.message)
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| format!("ccai answered HTTP {}", status.as_u16()));
        self.redacted(&message)
    }

    fn redacted(&self, message: &str) -> String {
        let message = redact(message, self.company_key.expose_secret());
        redact(&message, self.company_secret.expose_secret())
    }

    fn read_created(&self, answer: Answer) -> Result<CcaiCreated, VendorError> {
        let vendor = Provider::Ccai;
        let status = answer.status;
        match status.as_u16() {
            201 => match serde_json::from_slice::<wire::CallObject>(&answer.body) {
                Ok(call) => Ok(CcaiCreated::Call(Box::new(created_call(call)))),
                // It answered success, so the call may well exist: the dial
                // path keeps it as UNKNOWN and never sends it again.
                Err(e) => Err(VendorError::bad_response(
                    vendor,
                    self.redacted(&format!("HTTP 201 whose body is not a call object ({e})")),
                )),
            },
            // The documentation shows an empty body or the request echoed
            // back as JSON; anything else (an HTML page, garbage) is not
            // CCAI accepting the call.
            200 | 202 => {
                let empty = answer.body.iter().all(u8::is_ascii_whitespace);
                let object = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
                    &answer.body,
                )
                .is_ok();
                if empty || object {
                    Ok(CcaiCreated::PendingAgentAction {
                        http_status: status.as_u16(),
                    })
                } else {
                    Err(VendorError::bad_response(
                        vendor,
                        format!(
                            "HTTP {} whose body is neither empty nor the documented JSON",
                            status.as_u16()
                        ),
                    ))
                }
            }
            502 | 503 => Err(VendorError::unavailable(
                vendor,
                format!("ccai answered HTTP {}", status.as_u16()),
            )),
            500..=599 => Err(VendorError::new(
                vendor,
                VendorErrorKind::OutcomeUnknown,
                format!(
                    "ccai answered HTTP {} to the call creation; it may have created the call",
                    status.as_u16()
                ),
            )),
            _ => Err(classify(status, &self.error_message(status, &answer.body))),
        }
    }

    fn read_flags(&self, ccai_call_id: i64, answer: Answer) -> Result<CustomerFlags, VendorError> {
        let vendor = Provider::Ccai;
        let status = answer.status;
        if status.is_success() {
            return serde_json::from_slice::<wire::CustomerFlag>(&answer.body)
                .map(|flag| CustomerFlags {
                    verified_customer: flag.verified_customer,
                    bad_actor: flag.bad_actor,
                    repeat_customer: flag.repeat_customer,
                })
                .map_err(|e| {
                    VendorError::bad_response(
                        vendor,
                        self.redacted(&format!("unreadable customer_flag ({e})")),
                    )
                });
        }
        if status.is_server_error() {
            return Err(VendorError::unavailable(
                vendor,
                format!("ccai answered HTTP {}", status.as_u16()),
            ));
        }
        // The documentation gives one meaning to a 404: "Ressource
        // introuvable : veuillez vérifier votre sous-domaine" — our
        // configuration, as on call creation, not an unknown call.
        if status == StatusCode::NOT_FOUND {
            return Err(VendorError::new(
                vendor,
                VendorErrorKind::Misconfigured,
                format!(
                    "ccai answered HTTP 404 to the customer_flag of call {ccai_call_id}: resource not found, check your subdomain (vendors.ccai.base_url)"
                ),
            ));
        }
        Err(classify(status, &self.error_message(status, &answer.body)))
    }
}

#[async_trait]
impl CcaiCalls for CcaiClient {
    async fn create_call(&self, call: &NewCcaiCall) -> Result<CcaiCreated, VendorError> {
        // Call creation rings phones: a timeout or a dropped connection
        // leaves the outcome unknown, and it is never retried.
        let request = self
            .request(Method::POST, "apps/api/v1/calls")
            .json(&create_call_body(call));
        self.http
            .send("create_call", Effect::SideEffect, request, |answer| {
                self.read_created(answer)
            })
            .await
    }

    async fn customer_flags(&self, ccai_call_id: i64) -> Result<CustomerFlags, VendorError> {
        let request = self.request(
            Method::GET,
            &format!("apps/api/v1/calls/{ccai_call_id}/customer_flag"),
        );
        self.http
            .send("customer_flag", Effect::Read, request, |answer| {
                self.read_flags(ccai_call_id, answer)
            })
            .await
    }

    async fn update_customer_flags(
        &self,
        ccai_call_id: i64,
        change: &CustomerFlagsChange,
    ) -> Result<CustomerFlags, VendorError> {
        let patch = wire::CustomerFlagPatch {
            verified_customer: change.verified_customer,
            bad_actor: change.bad_actor,
            repeat_customers: change.repeat_customer,
        };
        let request = self
            .request(
                Method::PATCH,
                &format!("apps/api/v1/calls/{ccai_call_id}/customer_flag"),
            )
            .json(&patch);
        let result = self
            .http
            .send("update_customer_flag", Effect::Write, request, |answer| {
                self.read_flags(ccai_call_id, answer)
            })
            .await;
        match result {
            // The documentation shows no answer body for the PATCH: read the
            // flags back when it sends none.
            Err(e) if e.kind == VendorErrorKind::BadResponse => {
                self.customer_flags(ccai_call_id).await
            }
            other => other,
        }
    }
}

/// The body of `POST /apps/api/v1/calls` for `call`.
fn create_call_body(call: &NewCcaiCall) -> wire::CreateCallBody {
    let number = |end_user: &EndUser| end_user.number.as_ref().map(|n| n.as_str().to_owned());
    let lang = |language: &Option<crate::domain::Language>| {
        language.as_ref().map(|l| l.as_str().to_owned())
    };
    let empty = wire::CreateCallBody {
        call_type: wire::OUTBOUND,
        agent_email: None,
        menu_id: None,
        call_id: None,
        ticket_id: None,
        end_user_number: None,
        outbound_number: None,
        lang: None,
        scheduled_at: None,
        recording_permission: None,
    };
    match call {
        NewCcaiCall::Outbound {
            agent,
            end_user,
            outbound_number,
            language,
        } => wire::CreateCallBody {
            call_type: wire::OUTBOUND,
            agent_email: Some(agent.as_str().to_owned()),
            ticket_id: end_user.ticket_id.clone(),
            end_user_number: number(end_user),
            outbound_number: outbound_number.as_ref().map(|n| n.as_str().to_owned()),
            lang: lang(language),
            ..empty
        },
        NewCcaiCall::Inbound {
            menu_id,
            end_user,
            outbound_number,
            language,
            recording,
        } => wire::CreateCallBody {
            call_type: wire::INBOUND,
            menu_id: Some(*menu_id),
            ticket_id: end_user.ticket_id.clone(),
            end_user_number: number(end_user),
            outbound_number: outbound_number.as_ref().map(|n| n.as_str().to_owned()),
            lang: lang(language),
            recording_permission: recording.map(recording_permission),
            ..empty
        },
        NewCcaiCall::Scheduled {
            menu_id,
            parent_call_id,
            end_user,
            language,
            recording,
            scheduled_at,
        } => wire::CreateCallBody {
            call_type: wire::SCHEDULED,
            menu_id: *menu_id,
            call_id: *parent_call_id,
            ticket_id: end_user.ticket_id.clone(),
            end_user_number: number(end_user),
            lang: lang(language),
            scheduled_at: Some(scheduled_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            recording_permission: recording.map(recording_permission),
            ..empty
        },
    }
}

/// The CCAI `recording_permission` value.
fn recording_permission(permission: RecordingPermission) -> &'static str {
    match permission {
        RecordingPermission::NotAsked => "recording_permission_not_asked",
        RecordingPermission::Granted => "recording_permission_granted",
        RecordingPermission::Denied => "recording_permission_denied",
    }
}

/// Our status for a CCAI call status (see the CCAI call state table).
pub fn call_status(status: Option<&str>) -> CallStatus {
    match status.unwrap_or("") {
        "selecting" | "queued" => CallStatus::Queued,
        "assigned" | "connecting" | "switching" => CallStatus::Assigned,
        "connected" | "action_only" => CallStatus::Connected,
        "finished"
        | "recovered"
        | "action_only_finished"
        | "deflected"
        | "voicemail"
        | "voicemail_received"
        | "voicemail_read" => CallStatus::Ended,
        "failed" => CallStatus::Failed,
        "scheduled" => CallStatus::Scheduled,
        _ => CallStatus::Dialing,
    }
}

fn created_call(call: wire::CallObject) -> CcaiCreatedCall {
    CcaiCreatedCall {
        id: call.id,
        status: call_status(call.status.as_deref()),
        vendor_status: call.status.clone(),
        scheduled_at: time(&call.scheduled_at),
        // Stored as CCAI sent it (every documented field, vendor names), so
        // nothing of it is lost if switchboard learns to read more.
        stored: serde_json::to_value(&call).unwrap_or(serde_json::Value::Null),
    }
}

/// The CCAI call object kept with a call (`calls.vendor_data`), read back;
/// `None` when it is not one.
pub fn stored_call(stored: &serde_json::Value) -> Option<CcaiCall> {
    let call: wire::CallObject = serde_json::from_value(stored.clone()).ok()?;
    Some(call_object(call))
}

fn time(value: &Option<String>) -> Option<DateTime<Utc>> {
    value
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn menu_path(path: wire::MenuPath) -> CcaiMenuPath {
    let wire::MenuPath {
        items_count,
        name,
        materialized_path,
    } = path;
    CcaiMenuPath {
        items_count,
        name,
        materialized_path,
    }
}

fn agent(agent: wire::Agent) -> CcaiAgent {
    let wire::Agent {
        id,
        name,
        last_name,
        first_name,
        agent_number,
        avatar_url,
    } = agent;
    CcaiAgent {
        id,
        name,
        last_name,
        first_name,
        agent_number,
        avatar_url,
    }
}

/// The call-object mapping, field by field: a field added to the wire type
/// does not compile until it is handled here.
fn call_object(call: wire::CallObject) -> CcaiCall {
    let wire::CallObject {
        id,
        parent_id,
        lang,
        call_type,
        status,
        created_at,
        queued_at,
        assigned_at,
        connected_at,
        ends_at,
        scheduled_at,
        wait_duration,
        call_duration,
        hold_duration,
        rating,
        has_feedback,
        voip_provider,
        out_ticket_id,
        out_ticket_url,
        verified,
        recording_url,
        recording_permission,
        voicemail_reason,
        deflection,
        disconnected_by,
        fail_details,
        fail_reason,
        support_number,
        selected_menu,
        menu_path: path,
        agent_info,
        end_user,
        photos,
        videos,
        transfers,
        deflection_details,
        participants,
        offer_type,
        offer_events,
        answer_type,
        outbound_number,
    } = call;
    CcaiCall {
        id,
        parent_id,
        lang,
        call_type,
        status,
        created_at: time(&created_at),
        queued_at: time(&queued_at),
        assigned_at: time(&assigned_at),
        connected_at: time(&connected_at),
        ends_at: time(&ends_at),
        scheduled_at: time(&scheduled_at),
        wait_duration,
        call_duration,
        hold_duration,
        rating,
        has_feedback,
        voip_provider,
        out_ticket_id,
        out_ticket_url,
        verified,
        recording_url,
        recording_permission,
        voicemail_reason,
        deflection,
        disconnected_by,
        fail_details,
        fail_reason,
        support_number,
        selected_menu: selected_menu.map(|menu| {
            let wire::Menu {
                id,
                name,
                parent_id,
                position,
                deleted,
                hidden,
                menu_type,
                output_msg,
            } = menu;
            CcaiMenu {
                id,
                name,
                parent_id,
                position,
                deleted,
                hidden: match hidden {
                    Some(serde_json::Value::String(s)) => Some(s),
                    Some(serde_json::Value::Null) | None => None,
                    Some(other) => Some(other.to_string()),
                },
                menu_type,
                output_msg,
            }
        }),
        menu_path: path.map(menu_path),
        agent_info: agent_info.map(agent),
        end_user: end_user.map(|user| {
            let wire::EndUser {
                id,
                identifier,
                out_contact_id,
            } = user;
            CcaiEndUser {
                id,
                identifier,
                out_contact_id,
            }
        }),
        photos: photos
            .into_iter()
            .map(|p| CcaiPhoto {
                id: p.id,
                photo_type: p.photo_type,
                url: p.url,
            })
            .collect(),
        videos: videos
            .into_iter()
            .map(|v| CcaiVideo {
                id: v.id,
                url: v.url,
            })
            .collect(),
        transfers: transfers
            .into_iter()
            .map(|t| CcaiTransfer {
                id: t.id,
                status: t.status,
                fail_reason: t.fail_reason,
                created_at: time(&t.created_at),
                from_menu: t.from_menu.map(menu_path),
                to_menu: t.to_menu.map(menu_path),
                from_agent: t.from_agent.map(agent),
                to_agent: t.to_agent.map(agent),
            })
            .collect(),
        deflection_details,
        participants: participants
            .into_iter()
            .map(|p| CcaiParticipant {
                id: p.id,
                kind: p.kind,
                status: p.status,
                call_id: p.call_id,
                user_id: p.user_id,
                end_user_id: p.end_user_id,
                call_duration: p.call_duration,
                hold_duration: p.hold_duration,
                connected_at: time(&p.connected_at),
                ended_at: time(&p.ended_at),
                fail_reason: p.fail_reason,
            })
            .collect(),
        offer_type,
        offer_events: offer_events
            .into_iter()
            .map(|e| CcaiOfferEvent {
                casting_time: time(&e.casting_time),
                group: e.group,
            })
            .collect(),
        answer_type,
        outbound_number,
    }
}

/// Maps a CCAI error answer to a kind, naming the CCAI field it is about.
/// Every message of the documentation is listed; others are classified by
/// their wording.
pub fn classify(status: StatusCode, message: &str) -> VendorError {
    use VendorErrorKind::*;
    let vendor = Provider::Ccai;
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return VendorError::new(
            vendor,
            Misconfigured,
            format!("{message} (check vendors.ccai.company_key and company_secret)"),
        );
    }
    if status == StatusCode::NOT_FOUND {
        return VendorError::new(
            vendor,
            Misconfigured,
            format!("{message} (resource not found: check the subdomain in vendors.ccai.base_url)"),
        );
    }
    let lower = message.to_ascii_lowercase();
    let (kind, field): (VendorErrorKind, Option<&str>) = match lower.as_str() {
        "agent is not available to take this call" => (Refused, None),
        "agent does not have access to make calls" => (PermissionDenied, None),
        "not a valid agent email" | "agent email required" => {
            (InvalidArgument, Some("agent_email"))
        }
        "ticket_id or end_user_number required" => (InvalidArgument, Some("end_user_number")),
        "end_user_number is not well-formed"
        | "end_user_number is not well formed"
        | "end_user_number is required" => (InvalidArgument, Some("end_user_number")),
        "contact not found" => (NotFound, Some("ticket_id")),
        "invalid call type" => (InvalidArgument, Some("call_type")),
        "menu_id is required" | "menu_id is not well formed" => (InvalidArgument, Some("menu_id")),
        "only ivr and mobile menu ids are permitted"
        | "only mobile and web menu ids are permitted" => (InvalidArgument, Some("menu_id")),
        "scheduled_at is required" => (InvalidArgument, Some("scheduled_at")),
        m if m.starts_with("menu is in 'manual redirection' state")
            || m.starts_with("menu is in 'after hours' state") =>
        {
            (Refused, None)
        }
        m if m.starts_with("menu_id ") && m.ends_with(" is not found") => {
            (NotFound, Some("menu_id"))
        }
        m if m.starts_with("language '") && m.ends_with("is not found") => (NotFound, Some("lang")),
        m if m.starts_with("language '") && m.ends_with("is not available") => {
            (Refused, Some("lang"))
        }
        m if m.contains("not found") => (NotFound, None),
        m if m.contains("not well")
            || m.contains("required")
            || m.contains("invalid")
            || m.contains("not valid") =>
        {
            (InvalidArgument, None)
        }
        m if m.contains("not available") || m.contains("state") => (Refused, None),
        _ => (Refused, None),
    };
    let error = VendorError::new(vendor, kind, message);
    match field {
        Some(field) if kind == InvalidArgument => error.with_field(field),
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_message_has_its_code() {
        use VendorErrorKind::*;
        let bad = StatusCode::BAD_REQUEST;
        for (message, kind) in [
            ("Agent is not available to take this call", Refused),
            ("Agent does not have access to make calls", PermissionDenied),
            ("Not a valid agent email", InvalidArgument),
            ("Agent email required", InvalidArgument),
            ("ticket_id or end_user_number required", InvalidArgument),
            ("end_user_number is not well-formed", InvalidArgument),
            ("end_user_number is not well formed", InvalidArgument),
            ("end_user_number is required", InvalidArgument),
            ("Contact not found", NotFound),
            ("Invalid call type", InvalidArgument),
            (
                "Menu is in 'manual redirection' state, can't accept calls",
                Refused,
            ),
            (
                "Menu is in 'after hours' state, can't accept incoming calls",
                Refused,
            ),
            ("menu_id is required", InvalidArgument),
            ("menu_id is not well formed", InvalidArgument),
            ("menu_id 9999 is not found", NotFound),
            (
                "Only IVR and mobile menu IDs are permitted",
                InvalidArgument,
            ),
            (
                "Only mobile and web menu IDs are permitted",
                InvalidArgument,
            ),
            ("Language 'fr' is not available", Refused),
            ("Language 'xy' is not found", NotFound),
            ("scheduled_at is required", InvalidArgument),
            ("Something new went wrong", Refused),
        ] {
            let error = classify(bad, message);
            assert_eq!(error.kind, kind, "{message}");
            assert_eq!(error.message, message);
        }
        assert_eq!(classify(StatusCode::UNAUTHORIZED, "x").kind, Misconfigured);
        assert_eq!(classify(StatusCode::NOT_FOUND, "x").kind, Misconfigured);
    }
}
