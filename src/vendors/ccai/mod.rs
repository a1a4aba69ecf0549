//! Google CCAI Platform calls API: `POST {base_url}/apps/api/v1/calls`
//! (outbound, inbound and scheduled calls) and the customer flags of a call,
//! with HTTP Basic auth (`company_key` / `company_secret`).

pub mod wire;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{
    domain::Provider,
    vendors::{VendorError, VendorErrorKind, VendorHttp, endpoint, redact},
};

/// What a call-creation request produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// 201: the call exists, with its call object.
    Call(Box<wire::CallObject>),
    /// 200 or 202: accepted, but the agent must finish it in the CCAI widget
    /// (choose an outbound number, confirm a ticket call).
    PendingAgentAction { http_status: u16 },
}

/// What switchboard needs from CCAI Platform.
#[async_trait]
pub trait CcaiCalls: Send + Sync {
    async fn create_call(&self, body: &wire::CreateCallBody) -> Result<Created, VendorError>;
    async fn customer_flag(&self, ccai_call_id: i64) -> Result<wire::CustomerFlag, VendorError>;
    async fn update_customer_flag(
        &self,
        ccai_call_id: i64,
        patch: &wire::CustomerFlagPatch,
    ) -> Result<wire::CustomerFlag, VendorError>;
}

pub struct CcaiClient {
    http: VendorHttp,
    base_url: Url,
    company_key: SecretString,
    company_secret: SecretString,
}

/// Reads of customer flags are retried this many times on a transient
/// failure; creation requests never are.
const READ_RETRIES: u32 = 2;

impl CcaiClient {
    pub fn new(
        base_url: Url,
        company_key: SecretString,
        company_secret: SecretString,
        http: VendorHttp,
    ) -> Self {
        Self {
            http,
            base_url,
            company_key,
            company_secret,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, endpoint(&self.base_url, path))
            .basic_auth(
                self.company_key.expose_secret(),
                Some(self.company_secret.expose_secret()),
            )
    }

    /// The vendor's message of an error answer, secrets redacted.
    fn error_message(&self, status: StatusCode, body: &str) -> String {
        let message = serde_json::from_str::<wire::ErrorBody>(body)
            .ok()
            .and_then(|e| e.message)
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| format!("ccai answered HTTP {}", status.as_u16()));
        let message = redact(&message, self.company_key.expose_secret());
        redact(&message, self.company_secret.expose_secret())
    }

    fn record(endpoint: &'static str, started: Instant, result: &Result<impl Sized, VendorError>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(e) if e.kind == VendorErrorKind::OutcomeUnknown => "unknown",
            Err(e) if e.kind == VendorErrorKind::Unavailable => "unavailable",
            Err(_) => "refused",
        };
        metrics::histogram!("switchboard_vendor_request_seconds", "vendor" => "ccai", "endpoint" => endpoint, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
    }

    async fn create_inner(&self, body: &wire::CreateCallBody) -> Result<Created, VendorError> {
        let vendor = Provider::Ccai;
        // Call creation rings phones: a timeout or a dropped connection
        // leaves the outcome unknown, and it is never retried.
        let response = self
            .request(reqwest::Method::POST, "apps/api/v1/calls")
            .json(body)
            .send()
            .await
            .map_err(|e| VendorError::from_transport(vendor, &e, true))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| VendorError::from_transport(vendor, &e, true))?;
        match status.as_u16() {
            201 => serde_json::from_str::<wire::CallObject>(&text)
                .map(|call| Created::Call(Box::new(call)))
                .map_err(|e| {
                    VendorError::new(
                        vendor,
                        VendorErrorKind::OutcomeUnknown,
                        format!("ccai created the call but its answer could not be read ({e})"),
                    )
                }),
            200 | 202 => Ok(Created::PendingAgentAction {
                http_status: status.as_u16(),
            }),
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
            _ => {
                let message = self.error_message(status, &text);
                Err(classify(status, &message))
            }
        }
    }

    async fn read_flag(&self, ccai_call_id: i64) -> Result<wire::CustomerFlag, VendorError> {
        let vendor = Provider::Ccai;
        let mut attempt = 0;
        loop {
            let result = async {
                let response = self
                    .request(
                        reqwest::Method::GET,
                        &format!("apps/api/v1/calls/{ccai_call_id}/customer_flag"),
                    )
                    .send()
                    .await
                    .map_err(|e| VendorError::from_transport(vendor, &e, false))?;
                self.read_flag_answer(ccai_call_id, response, false).await
            }
            .await;
            match result {
                Err(e) if e.kind == VendorErrorKind::Unavailable && attempt < READ_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    async fn read_flag_answer(
        &self,
        ccai_call_id: i64,
        response: reqwest::Response,
        side_effect: bool,
    ) -> Result<wire::CustomerFlag, VendorError> {
        let vendor = Provider::Ccai;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| VendorError::from_transport(vendor, &e, side_effect))?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| {
                VendorError::bad_response(vendor, format!("unreadable customer_flag ({e})"))
            });
        }
        if status.is_server_error() {
            return Err(VendorError::unavailable(
                vendor,
                format!("ccai answered HTTP {}", status.as_u16()),
            ));
        }
        if status == StatusCode::NOT_FOUND {
            return Err(VendorError::new(
                vendor,
                VendorErrorKind::NotFound,
                format!(
                    "ccai knows no call {ccai_call_id} (HTTP 404; if every call is unknown, check vendors.ccai.base_url)"
                ),
            ));
        }
        let message = self.error_message(status, &text);
        Err(classify(status, &message))
    }
}

#[async_trait]
impl CcaiCalls for CcaiClient {
    async fn create_call(&self, body: &wire::CreateCallBody) -> Result<Created, VendorError> {
        let started = Instant::now();
        let result = self.create_inner(body).await;
        Self::record("create_call", started, &result);
        result
    }

    async fn customer_flag(&self, ccai_call_id: i64) -> Result<wire::CustomerFlag, VendorError> {
        let started = Instant::now();
        let result = self.read_flag(ccai_call_id).await;
        Self::record("customer_flag", started, &result);
        result
    }

    async fn update_customer_flag(
        &self,
        ccai_call_id: i64,
        patch: &wire::CustomerFlagPatch,
    ) -> Result<wire::CustomerFlag, VendorError> {
        let started = Instant::now();
        let result = async {
            let response = self
                .request(
                    reqwest::Method::PATCH,
                    &format!("apps/api/v1/calls/{ccai_call_id}/customer_flag"),
                )
                .json(patch)
                .send()
                .await
                .map_err(|e| VendorError::from_transport(Provider::Ccai, &e, false))?;
            match self.read_flag_answer(ccai_call_id, response, false).await {
                // The documentation shows no answer body for the PATCH: read
                // the flags back when it sends none.
                Err(e) if e.kind == VendorErrorKind::BadResponse => {
                    self.read_flag(ccai_call_id).await
                }
                other => other,
            }
        }
        .await;
        Self::record("update_customer_flag", started, &result);
        result
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
