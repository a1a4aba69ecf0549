//! FocalScope dial API: a GET on the configured URL template
//! (`vendors.focalscope.dial_url`, `{agent}` and `{number}` substituted,
//! URL-encoded) answers the request id as `{RequestID:513}`; call events come
//! back later through the URL adapter callbacks
//! (`GET /webhooks/focalscope/{token}?CallType=…`).

mod recording;

pub use recording::{FocalScopeRecordingClient, FocalScopeRecordings, RecordedLeg, Recording};

use async_trait::async_trait;
use serde::Deserialize;

use crate::{
    domain::{AgentName, DialEventType, LegKind, OutboundPrefix, PhoneNumber, Provider, quote},
    vendors::{Answer, Effect, Pipeline, VendorError, VendorErrorKind},
};

/// What switchboard needs from FocalScope.
#[async_trait]
pub trait FocalScopeDialer: Send + Sync {
    /// Rings `agent`, then `number` (through the outbound queue of
    /// `prefix`, when given); returns FocalScope's RequestID.
    async fn dial(
        &self,
        agent: &AgentName,
        number: &PhoneNumber,
        prefix: Option<&OutboundPrefix>,
    ) -> Result<i64, VendorError>;
}

pub struct FocalScopeClient {
    http: Pipeline,
    /// Validated at start-up to contain both placeholders and to be an
    /// http(s) URL (see `Settings::validate`).
    dial_url: String,
}

impl FocalScopeClient {
    pub fn new(dial_url: String, http: Pipeline) -> Self {
        Self { http, dial_url }
    }

    /// The dial URL for `agent` and `number`, each URL-encoded so that a
    /// `+`, `&` or space cannot change the request's meaning.
    pub fn dial_url(&self, agent: &str, number: &str) -> String {
        self.dial_url
            .replace("{agent}", &encode(agent))
            .replace("{number}", &encode(number))
    }
}

/// What the PBX is asked to dial: the keys a desk phone would press, the
/// queue prefix first ("outbound queues are supported via prefixes, in the
/// same way as dialed from a desk phone"), then the number's digits, never
/// the spaces, dashes or `+` a client typed.
pub fn dialled(number: &PhoneNumber, prefix: Option<&OutboundPrefix>) -> String {
    let prefix = prefix.map(OutboundPrefix::as_str).unwrap_or("");
    format!("{prefix}{}", number.dialable())
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        // form encoding writes spaces as '+', which a path would keep.
        .replace('+', "%20")
}

/// Reads the dial answer. The documentation shows `{RequestID:513}` — not
/// JSON (unquoted key) and not JSON5 either (its placeholder `{RequestID:00000}`
/// has a zero-padded number) — so it is parsed by hand; quoted JSON
/// (`{"RequestID": 513}`, `{"RequestID": "513"}`) is accepted too.
pub fn parse_request_id(body: &str) -> Option<i64> {
    let inner = body.trim().strip_prefix('{')?.strip_suffix('}')?;
    let (key, value) = inner.split_once(':')?;
    let key = key.trim().trim_matches('"').trim_matches('\'');
    if !key.eq_ignore_ascii_case("RequestID") {
        return None;
    }
    let value = value.trim().trim_matches('"').trim_matches('\'').trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

#[async_trait]
impl FocalScopeDialer for FocalScopeClient {
    async fn dial(
        &self,
        agent: &AgentName,
        number: &PhoneNumber,
        prefix: Option<&OutboundPrefix>,
    ) -> Result<i64, VendorError> {
        // A dial rings phones even though it is a GET: a timeout means the
        // outcome is unknown, and it is never retried.
        let request = self
            .http
            .get(self.dial_url(agent.as_str(), &dialled(number, prefix)));
        self.http
            .send("dial", Effect::SideEffect, request, read_dial_answer)
            .await
    }
}

fn read_dial_answer(answer: Answer) -> Result<i64, VendorError> {
    let vendor = Provider::FocalScope;
    let status = answer.status;
    let body = answer.text();
    match status.as_u16() {
        // It answered success, so it may well be dialling: the dial path
        // keeps the call as UNKNOWN.
        200..=299 => parse_request_id(&body).ok_or_else(|| {
            VendorError::bad_response(
                vendor,
                "focalscope accepted the dial but answered without a RequestID ({RequestID:N} expected)",
            )
        }),
        // A proxy or an overloaded PBX refusing before taking the request.
        502 | 503 => Err(VendorError::unavailable(
            vendor,
            format!("focalscope answered HTTP {}", status.as_u16()),
        )),
        500..=599 => Err(VendorError::new(
            vendor,
            VendorErrorKind::OutcomeUnknown,
            format!(
                "focalscope answered HTTP {} to the dial; it may have dialled",
                status.as_u16()
            ),
        )),
        401 | 403 | 404 => Err(VendorError::new(
            vendor,
            VendorErrorKind::Misconfigured,
            format!(
                "focalscope answered HTTP {}: check vendors.focalscope.dial_url",
                status.as_u16()
            ),
        )),
        400 | 422 => Err(VendorError::new(
            vendor,
            VendorErrorKind::InvalidArgument,
            format!(
                "focalscope refused the dial (HTTP {}): {}",
                status.as_u16(),
                first_line(&body)
            ),
        )),
        other => Err(VendorError::new(
            vendor,
            VendorErrorKind::Refused,
            format!(
                "focalscope refused the dial (HTTP {other}): {}",
                first_line(&body)
            ),
        )),
    }
}

fn first_line(body: &str) -> String {
    body.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// The URL adapter's callback parameters, as configured in FocalScope:
/// `CallType={{CallTypeName}}&Event={{DialApiEventName}}&CallID={{CallID}}
/// &RequestID={{DialApiRequestID}}&EventCode={{DialApiEventCode}}
/// &IsCallRecorded={{IsCallRecorded}}&Guid={{CallUUID}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct CallbackParams {
    #[serde(rename = "CallType")]
    pub call_type: Option<String>,
    #[serde(rename = "Event")]
    pub event: Option<String>,
    #[serde(rename = "CallID")]
    pub call_id: Option<String>,
    #[serde(rename = "RequestID")]
    pub request_id: Option<String>,
    #[serde(rename = "EventCode")]
    pub event_code: Option<String>,
    #[serde(rename = "IsCallRecorded")]
    pub is_call_recorded: Option<String>,
    #[serde(rename = "Guid")]
    pub guid: Option<String>,
}

/// A callback, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub leg: LegKind,
    pub event: DialEventType,
    pub call_id: String,
    pub request_id: i64,
    pub event_code: Option<i32>,
    pub recorded: bool,
    pub call_uuid: Option<String>,
}

fn digits(name: &str, value: Option<&str>) -> Result<String, String> {
    match value.map(str::trim) {
        None | Some("") => Err(format!("{name} is missing")),
        Some(v) if v.bytes().all(|b| b.is_ascii_digit()) && v.len() <= 20 => Ok(v.to_owned()),
        Some(v) => Err(format!("{name} must be digits, got {}", quote(v))),
    }
}

impl CallbackParams {
    /// Checks the parameters against the documented table; the error says
    /// which parameter is wrong and why.
    pub fn validate(&self) -> Result<Callback, String> {
        let leg = match self.call_type.as_deref().map(str::trim) {
            Some(t) if t.eq_ignore_ascii_case("API") => LegKind::Agent,
            Some(t) if t.eq_ignore_ascii_case("Outgoing") => LegKind::Customer,
            None | Some("") => return Err("CallType is missing".into()),
            Some(other) => {
                return Err(format!(
                    "CallType must be API or Outgoing, got {}",
                    quote(other)
                ));
            }
        };
        let event = match self.event.as_deref().map(|e| e.trim().to_ascii_lowercase()) {
            Some(e) if e == "pickup" => DialEventType::Pickup,
            Some(e) if e == "missed" => DialEventType::Missed,
            Some(e) if e == "hangup" => DialEventType::Hangup,
            None => return Err("Event is missing".into()),
            Some(e) if e.is_empty() => return Err("Event is missing".into()),
            Some(other) => {
                return Err(format!(
                    "Event must be pickup, missed or hangup, got {}",
                    quote(&other)
                ));
            }
        };
        let call_id = digits("CallID", self.call_id.as_deref())?;
        let request_id = digits("RequestID", self.request_id.as_deref())?
            .parse::<i64>()
            .map_err(|_| "RequestID is out of range".to_owned())?;
        let event_code = match self.event_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => Some(
                code.parse::<i32>()
                    .map_err(|_| format!("EventCode must be an integer, got {}", quote(code)))?,
            ),
        };
        let recorded = match self.is_call_recorded.as_deref().map(str::trim) {
            None | Some("") | Some("0") => false,
            Some("1") => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                return Err(format!(
                    "IsCallRecorded must be empty, 0 or 1, got {}",
                    quote(other)
                ));
            }
        };
        let call_uuid = match self.guid.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(g) if g.len() <= 64 && g.chars().all(|c| c.is_ascii_hexdigit() || c == '-') => {
                Some(g.to_ascii_lowercase())
            }
            Some(other) => {
                return Err(format!(
                    "Guid must be a CallUUID (hex digits and dashes), got {}",
                    quote(other)
                ));
            }
        };
        Ok(Callback {
            leg,
            event,
            call_id,
            request_id,
            event_code,
            recorded,
            call_uuid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_answer_and_json() {
        assert_eq!(parse_request_id("{RequestID:513}"), Some(513));
        assert_eq!(parse_request_id(" {RequestID:00000}\n"), Some(0));
        assert_eq!(parse_request_id(r#"{"RequestID": 513}"#), Some(513));
        assert_eq!(parse_request_id(r#"{"RequestID":"513"}"#), Some(513));
        for bad in [
            "",
            "513",
            "{RequestID:}",
            "{Request:513}",
            "{RequestID:51x}",
            "<html>",
            "{RequestID:-1}",
        ] {
            assert_eq!(parse_request_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn substitutes_url_encoded_values() {
        let client = FocalScopeClient::new(
            "http://pbx/dial?agent={agent}&number={number}".into(),
            crate::vendors::Pipeline::new(
                &crate::vendors::http_client().unwrap(),
                crate::vendors::PipelineSettings::plain(
                    Provider::FocalScope,
                    std::time::Duration::from_secs(1),
                ),
            ),
        );
        assert_eq!(
            client.dial_url("ext 12&x", "+33 6 12"),
            "http://pbx/dial?agent=ext%2012%26x&number=%2B33%206%2012"
        );
    }

    #[test]
    fn dials_keys_only_with_the_prefix_first() {
        let number = PhoneNumber::parse("n", "+33 6 12-34.56").unwrap();
        assert_eq!(dialled(&number, None), "00336123456");
        let prefix = OutboundPrefix::parse_optional("p", "*9#").unwrap();
        assert_eq!(dialled(&number, prefix.as_ref()), "*9#00336123456");
    }

    fn params(query: &str) -> CallbackParams {
        serde_urlencoded::from_str(query).unwrap()
    }

    #[test]
    fn validates_the_documented_callbacks() {
        let callback = params("CallType=API&Event=pickup&CallID=1000000087849&RequestID=513&EventCode=2&IsCallRecorded=&Guid=bfa2dbc8-ab8a-34c8-f243-c2aad8c446ff")
            .validate()
            .unwrap();
        assert_eq!(callback.leg, LegKind::Agent);
        assert_eq!(callback.event, DialEventType::Pickup);
        assert_eq!(callback.request_id, 513);
        assert_eq!(callback.event_code, Some(2));
        assert!(!callback.recorded);
        let hangup = params("CallType=Outgoing&Event=hangup&CallID=1000000087850&RequestID=513&EventCode=1&IsCallRecorded=1&Guid=923041af-adb5-a8ae-f29c-e60ea5e17448")
            .validate()
            .unwrap();
        assert_eq!(hangup.leg, LegKind::Customer);
        assert!(hangup.recorded);
        for (query, reason) in [
            ("Event=pickup&CallID=1&RequestID=1", "CallType"),
            (
                "CallType=Inbound&Event=pickup&CallID=1&RequestID=1",
                "CallType",
            ),
            ("CallType=API&Event=ring&CallID=1&RequestID=1", "Event"),
            ("CallType=API&Event=pickup&RequestID=1", "CallID"),
            ("CallType=API&Event=pickup&CallID=1", "RequestID"),
            (
                "CallType=API&Event=pickup&CallID=1&RequestID=x",
                "RequestID",
            ),
            (
                "CallType=API&Event=pickup&CallID=1&RequestID=1&EventCode=two",
                "EventCode",
            ),
            (
                "CallType=API&Event=pickup&CallID=1&RequestID=1&IsCallRecorded=yes",
                "IsCallRecorded",
            ),
            (
                "CallType=API&Event=pickup&CallID=1&RequestID=1&Guid=<script>",
                "Guid",
            ),
        ] {
            let error = params(query).validate().unwrap_err();
            assert!(error.contains(reason), "{query}: {error}");
        }
    }
}
