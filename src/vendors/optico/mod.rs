//! Optico Call Center API: `POST /agent-api/callStart` and
//! `POST /agent-api/setAgentToCall` (form-encoded, `apiKey` field), and the
//! `realtimeData` webhook payload. The Optico Data API (call exports) is in
//! [`data`].

pub mod data;
mod wire;

pub use wire::{DATE_FORMAT, format_date};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::{
    domain::{AgentName, CallerPhone, OpticoMatch, PhoneNumber, Provider, Update, quote},
    vendors::{Answer, Effect, Pipeline, VendorError, VendorErrorKind, endpoint, redact},
};

/// What switchboard needs from the Optico Call Center API.
#[async_trait]
pub trait OpticoCallCenter: Send + Sync {
    /// Matches an incoming call (`callStart`).
    async fn call_start(&self, request: &CallStart) -> Result<Vec<OpticoMatch>, VendorError>;
    /// Attaches an agent to a started call (`setAgentToCall`). Returns the
    /// agent Optico confirms in its answer (`{ callId, agent }`), which is
    /// what Optico recorded; `None` when the answer carried none.
    async fn set_agent_to_call(
        &self,
        call_id: i64,
        agent: &AgentName,
    ) -> Result<Option<AgentName>, VendorError>;
}

/// A `callStart` request, validated.
#[derive(Debug, Clone)]
pub struct CallStart {
    pub caller: CallerPhone,
    pub destination: PhoneNumber,
    pub start_time: DateTime<Utc>,
    pub agent: Option<AgentName>,
}

/// The Optico HTTP client.
pub struct OpticoClient {
    http: Pipeline,
    base_url: Url,
    api_key: SecretString,
    timezone: Tz,
}

impl OpticoClient {
    pub fn new(base_url: Url, api_key: SecretString, timezone: Tz, http: Pipeline) -> Self {
        Self {
            http,
            base_url,
            api_key,
            timezone,
        }
    }

    /// POSTs a form and reads the documented envelope. Every Call Center
    /// endpoint only records context, nobody is rung: a lost answer leaves
    /// nothing unknown, but a POST is still never retried.
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &impl serde::Serialize,
    ) -> Result<Vec<T>, VendorError> {
        let request = self.http.post(endpoint(&self.base_url, path)).form(form);
        let api_key = self.api_key.expose_secret();
        self.http
            .send(path, Effect::Write, request, |answer| {
                let envelope: wire::Envelope<T> = read_json(answer, api_key)?;
                match envelope.status.as_str() {
                    "OK" => Ok(envelope.results),
                    "NOK" => {
                        let message = redact(
                            envelope
                                .error
                                .as_deref()
                                .unwrap_or("request refused without a message"),
                            api_key,
                        );
                        Err(VendorError::new(
                            Provider::Optico,
                            classify_error(&message),
                            message,
                        ))
                    }
                    other => Err(VendorError::bad_response(
                        Provider::Optico,
                        format!("status {} (expected OK or NOK)", quote(other)),
                    )),
                }
            })
            .await
    }
}

/// Reads an Optico JSON answer, for both Optico APIs. A 5xx is
/// "unavailable". A body that is not the expected JSON is an undocumented
/// answer after a 2xx, and otherwise a refusal (of our configuration on
/// 401/403). Errors never hold the URL (it may carry a key) and `api_key` is
/// redacted from what they quote.
pub(crate) fn read_json<E: DeserializeOwned>(
    answer: Answer,
    api_key: &str,
) -> Result<E, VendorError> {
    let status = answer.status;
    if status.is_server_error() {
        return Err(VendorError::unavailable(
            Provider::Optico,
            format!("optico answered HTTP {}", status.as_u16()),
        ));
    }
    match serde_json::from_slice(&answer.body) {
        Ok(answer) => Ok(answer),
        // serde quotes offending values: keep any echo of the key out.
        Err(e) if status.is_success() => Err(VendorError::bad_response(
            Provider::Optico,
            redact(&format!("unreadable JSON ({e})"), api_key),
        )),
        Err(_) => Err(VendorError::new(
            Provider::Optico,
            if matches!(status.as_u16(), 401 | 403) {
                VendorErrorKind::Misconfigured
            } else {
                VendorErrorKind::Refused
            },
            format!("optico answered HTTP {}", status.as_u16()),
        )),
    }
}

/// One `realtimeData` webhook delivery, read: the Optico call it is about,
/// its kind (`view`, `cart` or `order`), the update and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Realtime {
    pub call_id: i64,
    pub kind: &'static str,
    pub update: Update,
    pub occurred_at: DateTime<Utc>,
}

/// Reads a `realtimeData` payload as documented; the error says what does
/// not match, for the webhook's 400.
pub fn read_realtime(
    value: serde_json::Value,
    timezone: Tz,
    received_at: DateTime<Utc>,
) -> Result<Realtime, String> {
    // The path names the field that does not match (`view.createdAt`).
    let data: wire::RealtimeData = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "realtimeData".to_owned()
        } else {
            format!("realtimeData.{path}")
        };
        format!(
            "{field} does not match the documented payload: {}",
            e.into_inner()
        )
    })?;
    data.check_dates(timezone)?;
    if data.call_id <= 0 {
        return Err(format!(
            "realtimeData.callId must be positive, got {}",
            data.call_id
        ));
    }
    let missing = |field: &str| {
        format!(
            "realtimeData.type is {} but realtimeData.{field} is missing",
            quote(&data.kind)
        )
    };
    let (kind, update, occurred_at) = match data.kind.as_str() {
        "view" => {
            let view = data
                .view
                .ok_or_else(|| missing("view"))?
                .into_domain(timezone);
            // A view's createdAt is when the page was loaded: the event time.
            let at = view.created_at.unwrap_or(received_at);
            ("view", Update::View(view), at)
        }
        // A cart's or order's createdAt is when it was first created, not
        // when it changed: the change happened when Optico told us.
        "cart" => (
            "cart",
            Update::Cart(
                data.cart
                    .ok_or_else(|| missing("cart"))?
                    .into_domain(timezone),
            ),
            received_at,
        ),
        "order" => (
            "order",
            Update::Order(
                data.order
                    .ok_or_else(|| missing("order"))?
                    .into_domain(timezone),
            ),
            received_at,
        ),
        other => {
            return Err(format!(
                "realtimeData.type must be \"view\", \"cart\" or \"order\", got {}",
                quote(other)
            ));
        }
    };
    Ok(Realtime {
        call_id: data.call_id,
        kind,
        update,
        occurred_at,
    })
}

/// Maps an Optico `NOK` message to a kind. The doc documents one message
/// ("Invalid API key `…`"); others are classified by their wording.
pub fn classify_error(message: &str) -> VendorErrorKind {
    let lower = message.to_lowercase();
    if lower.contains("api key") || lower.contains("apikey") {
        VendorErrorKind::Misconfigured
    } else if lower.contains("not found") || lower.contains("unknown") || lower.contains("no call")
    {
        VendorErrorKind::NotFound
    } else if [
        "required",
        "invalid",
        "missing",
        "format",
        "well-formed",
        "well formed",
    ]
    .iter()
    .any(|word| lower.contains(word))
    {
        VendorErrorKind::InvalidArgument
    } else {
        VendorErrorKind::Refused
    }
}

#[async_trait]
impl OpticoCallCenter for OpticoClient {
    async fn call_start(&self, request: &CallStart) -> Result<Vec<OpticoMatch>, VendorError> {
        let form = wire::CallStartForm {
            api_key: self.api_key.expose_secret(),
            caller_phone: request
                .caller
                .number()
                .map_or("anonymous", PhoneNumber::key),
            destination_phone: request.destination.key(),
            start_date: wire::format_date(request.start_time, self.timezone),
            agent: request.agent.as_ref().map(AgentName::as_str),
        };
        let results: Vec<wire::CallStartResult> = self.post("agent-api/callStart", &form).await?;
        Ok(results
            .into_iter()
            .map(|result| result.into_domain(self.timezone))
            .collect())
    }

    async fn set_agent_to_call(
        &self,
        call_id: i64,
        agent: &AgentName,
    ) -> Result<Option<AgentName>, VendorError> {
        let form = wire::SetAgentForm {
            api_key: self.api_key.expose_secret(),
            call_id,
            agent: agent.as_str(),
        };
        let results: Vec<wire::SetAgentResult> =
            self.post("agent-api/setAgentToCall", &form).await?;
        match results.first() {
            Some(result) if result.call_id == call_id => confirmed_agent(result.agent.as_deref()),
            Some(result) => Err(VendorError::bad_response(
                Provider::Optico,
                format!(
                    "setAgentToCall answered for call {} instead of {call_id}",
                    result.call_id
                ),
            )),
            // An OK without a result still means Optico accepted it.
            None => Ok(None),
        }
    }
}

/// The agent of a `setAgentToCall` answer: Optico's own record of who is on
/// the call (it may have normalised the username), so it wins over the one
/// asked for. An empty echo says nothing; one that is no agent name at all
/// is not the documented answer.
fn confirmed_agent(agent: Option<&str>) -> Result<Option<AgentName>, VendorError> {
    match agent.map(str::trim) {
        None | Some("") => Ok(None),
        Some(agent) => AgentName::parse("agent", agent)
            .map(Some)
            .map_err(|violation| {
                VendorError::bad_response(
                    Provider::Optico,
                    format!(
                        "setAgentToCall confirmed an agent that {}",
                        violation.description
                    ),
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmed_agent_is_optico_s_echo() {
        assert_eq!(confirmed_agent(None).unwrap(), None);
        assert_eq!(confirmed_agent(Some(" ")).unwrap(), None);
        assert_eq!(
            confirmed_agent(Some("agent1@optico.fr"))
                .unwrap()
                .map(|a| a.as_str().to_owned())
                .as_deref(),
            Some("agent1@optico.fr")
        );
        assert_eq!(
            confirmed_agent(Some("a\u{7}b")).unwrap_err().kind,
            VendorErrorKind::BadResponse
        );
    }

    #[test]
    fn classifies_messages() {
        assert_eq!(
            classify_error("Invalid API key `[redacted]`"),
            VendorErrorKind::Misconfigured
        );
        assert_eq!(classify_error("Call not found"), VendorErrorKind::NotFound);
        assert_eq!(
            classify_error("destinationPhone is required"),
            VendorErrorKind::InvalidArgument
        );
        assert_eq!(classify_error("quota exceeded"), VendorErrorKind::Refused);
    }
}
