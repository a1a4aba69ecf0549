//! iAdvize REST API 2.0: operators, their live availability, statistics and
//! profile, groups, skills and the Odigo call callbacks ([`Iadvize`]); and
//! the reports: statistics, conversations, transactions, satisfaction
//! surveys and call meetings ([`IadvizeReports`]). The API key goes in the
//! `X-API-Key` header; bodies are form-encoded as iAdvize's own client sends
//! them; every answer is the `meta` / `data` / `pagination` envelope.

mod records;
mod reports;
mod resources;
mod statistic;
mod wire;

pub use reports::IadvizeReports;
pub use resources::IadvizeResources;

use async_trait::async_trait;
use chrono_tz::Tz;
use reqwest::{Method, header::HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::{
    domain::{
        Provider,
        operator::{
            Availability, GroupFields, OdigoCall, OdigoConversation, Operator, OperatorFields,
            OperatorFilter, OperatorGroup, OperatorProfile, OperatorStatistics, SetAvailability,
            Skill, SkillFields, SkillFilter,
        },
    },
    vendors::{Answer, Effect, Pipeline, VendorError, VendorErrorKind, endpoint, redact},
};

/// The largest page iAdvize serves (`limit`).
pub const MAX_LIMIT: u32 = 100;

/// Which page of a list to read (`page` from 1, `limit` up to 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

/// One page of a list and whether another follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    /// The next page number, when iAdvize says there is one (or, without
    /// a `pagination` block, when this page came back full).
    pub next_page: Option<u32>,
    /// How many items the whole listing holds (`pagination.count`), when
    /// iAdvize says.
    pub total_size: Option<i64>,
}

/// What switchboard needs from iAdvize.
#[async_trait]
pub trait Iadvize: Send + Sync {
    async fn list_operators(
        &self,
        filter: &OperatorFilter,
        full: bool,
        page: PageRequest,
    ) -> Result<Listed<Operator>, VendorError>;
    async fn get_operator(&self, id: i64) -> Result<Operator, VendorError>;
    async fn create_operator(&self, fields: &OperatorFields) -> Result<Operator, VendorError>;
    async fn update_operator(
        &self,
        id: i64,
        fields: &OperatorFields,
    ) -> Result<Operator, VendorError>;
    async fn delete_operator(&self, id: i64) -> Result<(), VendorError>;
    async fn list_availability(
        &self,
        filter: &OperatorFilter,
        page: PageRequest,
    ) -> Result<Listed<Availability>, VendorError>;
    async fn get_availability(&self, id: i64) -> Result<Availability, VendorError>;
    /// Returns iAdvize's message.
    async fn set_availability(
        &self,
        id: i64,
        change: &SetAvailability,
    ) -> Result<String, VendorError>;
    async fn operator_statistics(&self, id: i64) -> Result<OperatorStatistics, VendorError>;
    async fn operator_profile(&self, id: i64) -> Result<OperatorProfile, VendorError>;
    async fn list_groups(
        &self,
        parent_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Listed<OperatorGroup>, VendorError>;
    async fn get_group(&self, id: i64) -> Result<OperatorGroup, VendorError>;
    async fn create_group(&self, fields: &GroupFields) -> Result<OperatorGroup, VendorError>;
    async fn update_group(
        &self,
        id: i64,
        fields: &GroupFields,
    ) -> Result<OperatorGroup, VendorError>;
    async fn delete_group(&self, id: i64) -> Result<(), VendorError>;
    async fn list_skills(
        &self,
        filter: &SkillFilter,
        page: PageRequest,
    ) -> Result<Listed<Skill>, VendorError>;
    async fn get_skill(&self, id: i64) -> Result<Skill, VendorError>;
    async fn create_skill(&self, fields: &SkillFields) -> Result<Skill, VendorError>;
    async fn update_skill(&self, id: i64, fields: &SkillFields) -> Result<Skill, VendorError>;
    async fn delete_skill(&self, id: i64) -> Result<(), VendorError>;
    async fn odigo_pickup(&self, call: &OdigoCall) -> Result<OdigoConversation, VendorError>;
    async fn odigo_hangup(&self, call: &OdigoCall) -> Result<(), VendorError>;
}

/// The iAdvize HTTP client.
pub struct IadvizeClient {
    http: Pipeline,
    base_url: Url,
    api_key: SecretString,
    timezone: Tz,
}

/// A request body: a form, as iAdvize's own client sends most of them, or
/// JSON where the doc says so (`POST /tag` takes an array of objects).
#[derive(Clone, Copy)]
enum Body<'a> {
    Form(&'a wire::Form),
    Json(&'a serde_json::Value),
}

/// A successful answer: `data`, `pagination` and `meta.message` as sent.
struct Success {
    data: Option<serde_json::Value>,
    pagination: Option<wire::Pagination>,
    message: Option<String>,
}

impl IadvizeClient {
    pub fn new(base_url: Url, api_key: SecretString, timezone: Tz, http: Pipeline) -> Self {
        Self {
            http,
            base_url,
            api_key,
            timezone,
        }
    }

    /// Sends one request through the pipeline (which retries a GET that
    /// failed in a retryable way; never a POST, PUT or DELETE).
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<Body<'_>>,
    ) -> Result<Success, VendorError> {
        // POSTs create something at iAdvize (an operator, a conversation):
        // when one times out, it may have happened. PUT and DELETE set a
        // state, so a lost answer leaves nothing uncertain.
        let effect = match method {
            Method::GET => Effect::Read,
            Method::POST => Effect::SideEffect,
            _ => Effect::Write,
        };
        let side_effect = effect == Effect::SideEffect;
        let mut key = HeaderValue::from_str(self.api_key.expose_secret()).map_err(|_| {
            VendorError::new(
                Provider::Iadvize,
                VendorErrorKind::Misconfigured,
                "vendors.iadvize.api_key is not a valid HTTP header value",
            )
        })?;
        key.set_sensitive(true);
        let mut request = self
            .http
            .request(method, endpoint(&self.base_url, path))
            .header("X-API-Key", key)
            .header(reqwest::header::ACCEPT, "application/json");
        if !query.is_empty() {
            request = request.query(query);
        }
        match body {
            Some(Body::Form(form)) => request = request.form(form),
            Some(Body::Json(json)) => request = request.json(json),
            None => {}
        }
        self.http
            .send(&endpoint_label(path), effect, request, |answer| {
                self.read_envelope(answer, side_effect)
            })
            .await
    }

    fn read_envelope(&self, answer: Answer, side_effect: bool) -> Result<Success, VendorError> {
        let status = answer.status;
        let envelope: Option<wire::Envelope> = serde_json::from_slice(&answer.body).ok();
        let Some(envelope) = envelope else {
            return Err(http_failure(status, side_effect));
        };
        let message = envelope
            .meta
            .message
            .map(|m| redact(&m, self.api_key.expose_secret()));
        match envelope.meta.status.as_str() {
            "success" => Ok(Success {
                data: envelope.data,
                pagination: envelope.pagination,
                message,
            }),
            "fail" | "error" => {
                let text = message.unwrap_or_else(|| {
                    format!(
                        "iadvize refused the request (status {:?}, HTTP {}) without a message",
                        envelope.meta.status,
                        status.as_u16()
                    )
                });
                Err(classify(
                    &envelope.meta.status,
                    status.as_u16(),
                    side_effect,
                    text,
                ))
            }
            other => Err(VendorError::bad_response(
                Provider::Iadvize,
                format!(
                    "meta.status {} (expected success, fail or error)",
                    crate::domain::quote(other)
                ),
            )),
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<T, VendorError> {
        let answer = self.call(Method::GET, path, query, None).await?;
        data(answer.data)
    }

    /// Reads one page of a list, each item read as `W` and turned into a
    /// domain value by `into`.
    async fn list<W: DeserializeOwned, T>(
        &self,
        path: &str,
        mut query: wire::Form,
        page: PageRequest,
        into: impl Fn(W) -> T,
    ) -> Result<Listed<T>, VendorError> {
        let limit = page.limit.min(MAX_LIMIT);
        query.push(("page".to_owned(), page.page.to_string()));
        query.push(("limit".to_owned(), limit.to_string()));
        let answer = self.call(Method::GET, path, &query, None).await?;
        // An empty list may come as `data: []`, null or nothing at all.
        let items: Vec<W> = match answer.data {
            None | Some(serde_json::Value::Null) => Vec::new(),
            data => self::data(data)?,
        };
        let next_page = next_page(answer.pagination, page.page, limit, items.len());
        Ok(Listed {
            items: items.into_iter().map(into).collect(),
            next_page,
            total_size: answer.pagination.and_then(|p| p.count).filter(|c| *c >= 0),
        })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: &wire::Form,
    ) -> Result<T, VendorError> {
        let answer = self.call(method, path, &[], Some(Body::Form(form))).await?;
        data(answer.data)
    }

    async fn delete(&self, path: &str) -> Result<(), VendorError> {
        self.call(Method::DELETE, path, &[], None).await.map(|_| ())
    }
}

/// The page after `page`, if any. iAdvize's `pagination.pages` says when
/// given; a list without it (the doc's `GET /operator/live` example has no
/// `pagination` at all) is walked on until a page comes back short, since a
/// full page may well have a next one.
fn next_page(
    pagination: Option<wire::Pagination>,
    page: u32,
    limit: u32,
    items: usize,
) -> Option<u32> {
    if items == 0 {
        return None;
    }
    let pages = pagination.and_then(|p| Some((p.page, p.pages?)));
    match pages {
        Some((current, pages)) => {
            let current = current.unwrap_or(i64::from(page));
            (current < pages)
                .then(|| u32::try_from(current + 1).ok())
                .flatten()
        }
        None if items >= limit as usize => page.checked_add(1),
        None => None,
    }
}

/// Reads `data` as `T`.
fn data<T: DeserializeOwned>(data: Option<serde_json::Value>) -> Result<T, VendorError> {
    let Some(value) = data else {
        return Err(VendorError::bad_response(
            Provider::Iadvize,
            "a success without data",
        ));
    };
    serde_json::from_value(value)
        .map_err(|e| VendorError::bad_response(Provider::Iadvize, format!("unreadable data ({e})")))
}

/// A metrics label without ids: `operator/123/live` → `operator/{id}/live`.
fn endpoint_label(path: &str) -> String {
    path.split('/')
        .map(|part| {
            if !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// An answer that is not the documented envelope: judged by its HTTP status.
fn http_failure(status: reqwest::StatusCode, side_effect: bool) -> VendorError {
    let code = status.as_u16();
    let message = format!("iadvize answered HTTP {code} without its JSON envelope");
    match code {
        // Without the envelope, these are not iAdvize judging the request
        // but our key or base URL being wrong.
        401 | 403 | 404 => VendorError::new(
            Provider::Iadvize,
            VendorErrorKind::Misconfigured,
            format!("{message}; check vendors.iadvize.base_url and api_key"),
        ),
        // Overloaded or down: the request was not taken.
        429 | 503 => VendorError::unavailable(Provider::Iadvize, message),
        500..=599 if side_effect => VendorError::new(
            Provider::Iadvize,
            VendorErrorKind::OutcomeUnknown,
            format!("{message}; iadvize may have acted on the request, which is not retried"),
        ),
        500..=599 => VendorError::unavailable(Provider::Iadvize, message),
        _ => VendorError::bad_response(Provider::Iadvize, format!("HTTP {code} without JSON")),
    }
}

/// Maps an iAdvize `fail` / `error` answer to a kind, keeping the message and
/// naming the field when iAdvize does ("Field 'x' is missing.", "Value of
/// field 'x' is not valid.").
pub fn classify(status: &str, http_status: u16, side_effect: bool, message: String) -> VendorError {
    let lower = message.to_lowercase();
    let kind = if lower.contains("forbidden")
        || lower.contains("api key")
        || lower.contains("unauthori")
        || http_status == 401
        || http_status == 403
    {
        VendorErrorKind::Misconfigured
    } else if lower.starts_with("unknown") {
        VendorErrorKind::NotFound
    } else if field_named(&message).is_some()
        || ["missing", "not valid", "invalid", "required"]
            .iter()
            .any(|word| lower.contains(word))
    {
        VendorErrorKind::InvalidArgument
    } else if status == "error" || http_status >= 500 {
        // `error` is iAdvize failing, not refusing: retryable for a read,
        // of unknown outcome for a POST.
        if side_effect {
            VendorErrorKind::OutcomeUnknown
        } else {
            VendorErrorKind::Unavailable
        }
    } else {
        VendorErrorKind::Refused
    };
    let mut error = match kind {
        VendorErrorKind::Unavailable => VendorError::unavailable(Provider::Iadvize, message),
        kind => VendorError::new(Provider::Iadvize, kind, message),
    };
    if kind == VendorErrorKind::InvalidArgument
        && let Some(field) = field_named(&error.message)
    {
        error = error.with_field(field);
    }
    error
}

/// The field an iAdvize message names: `... field 'x' ...`.
fn field_named(message: &str) -> Option<String> {
    // ASCII lowercasing keeps byte offsets valid in `message`.
    let lower = message.to_ascii_lowercase();
    let start = lower.find("field '")? + "field '".len();
    let rest = message.get(start..)?;
    let name = &rest[..rest.find('\'')?];
    (!name.is_empty()).then(|| name.to_owned())
}

#[async_trait]
impl Iadvize for IadvizeClient {
    async fn list_operators(
        &self,
        filter: &OperatorFilter,
        full: bool,
        page: PageRequest,
    ) -> Result<Listed<Operator>, VendorError> {
        let mut query = wire::operator_filters(filter);
        if full {
            query.push(("full".to_owned(), "1".to_owned()));
        }
        self.list("operator", query, page, wire::WireOperator::into_domain)
            .await
    }

    async fn get_operator(&self, id: i64) -> Result<Operator, VendorError> {
        let operator: wire::WireOperator = self.get(&format!("operator/{id}"), &[]).await?;
        Ok(operator.into_domain())
    }

    async fn create_operator(&self, fields: &OperatorFields) -> Result<Operator, VendorError> {
        let operator: wire::WireOperator = self
            .send(Method::POST, "operator", &wire::operator_form(fields))
            .await?;
        Ok(operator.into_domain())
    }

    async fn update_operator(
        &self,
        id: i64,
        fields: &OperatorFields,
    ) -> Result<Operator, VendorError> {
        let operator: wire::WireOperator = self
            .send(
                Method::PUT,
                &format!("operator/{id}"),
                &wire::operator_form(fields),
            )
            .await?;
        Ok(operator.into_domain())
    }

    async fn delete_operator(&self, id: i64) -> Result<(), VendorError> {
        self.delete(&format!("operator/{id}")).await
    }

    async fn list_availability(
        &self,
        filter: &OperatorFilter,
        page: PageRequest,
    ) -> Result<Listed<Availability>, VendorError> {
        let query = wire::operator_filters(filter);
        self.list("operator/live", query, page, wire::WireLive::into_domain)
            .await
    }

    async fn get_availability(&self, id: i64) -> Result<Availability, VendorError> {
        let live: wire::WireLive = self.get(&format!("operator/{id}/live"), &[]).await?;
        Ok(live.into_domain())
    }

    async fn set_availability(
        &self,
        id: i64,
        change: &SetAvailability,
    ) -> Result<String, VendorError> {
        let form = wire::availability_form(change);
        let answer = self
            .call(
                Method::PUT,
                &format!("operator/{id}/live"),
                &[],
                Some(Body::Form(&form)),
            )
            .await?;
        Ok(answer.message.unwrap_or_default())
    }

    async fn operator_statistics(&self, id: i64) -> Result<OperatorStatistics, VendorError> {
        let statistic: wire::WireStatistic =
            self.get(&format!("operator/{id}/statistic"), &[]).await?;
        Ok(statistic.into_domain())
    }

    async fn operator_profile(&self, id: i64) -> Result<OperatorProfile, VendorError> {
        let profile: wire::WireProfile = self.get(&format!("operator/{id}/profile"), &[]).await?;
        Ok(profile.into_domain())
    }

    async fn list_groups(
        &self,
        parent_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Listed<OperatorGroup>, VendorError> {
        // The contract lists groups with all their fields.
        let mut query = vec![("full".to_owned(), "1".to_owned())];
        if let Some(parent_id) = parent_id {
            query.push(("filters[parent_id]".to_owned(), parent_id.to_string()));
        }
        self.list("group", query, page, |g: wire::WireGroup| {
            g.into_domain(self.timezone)
        })
        .await
    }

    async fn get_group(&self, id: i64) -> Result<OperatorGroup, VendorError> {
        let group: wire::WireGroup = self.get(&format!("group/{id}"), &[]).await?;
        Ok(group.into_domain(self.timezone))
    }

    async fn create_group(&self, fields: &GroupFields) -> Result<OperatorGroup, VendorError> {
        let group: wire::WireGroup = self
            .send(Method::POST, "group", &wire::group_form(fields))
            .await?;
        Ok(group.into_domain(self.timezone))
    }

    async fn update_group(
        &self,
        id: i64,
        fields: &GroupFields,
    ) -> Result<OperatorGroup, VendorError> {
        let group: wire::WireGroup = self
            .send(
                Method::PUT,
                &format!("group/{id}"),
                &wire::group_form(fields),
            )
            .await?;
        Ok(group.into_domain(self.timezone))
    }

    async fn delete_group(&self, id: i64) -> Result<(), VendorError> {
        self.delete(&format!("group/{id}")).await
    }

    async fn list_skills(
        &self,
        filter: &SkillFilter,
        page: PageRequest,
    ) -> Result<Listed<Skill>, VendorError> {
        let mut query = vec![("full".to_owned(), "1".to_owned())];
        query.extend(wire::skill_filters(filter));
        self.list("skill", query, page, |s: wire::WireSkill| {
            s.into_domain(self.timezone)
        })
        .await
    }

    async fn get_skill(&self, id: i64) -> Result<Skill, VendorError> {
        let skill: wire::WireSkill = self.get(&format!("skill/{id}"), &[]).await?;
        Ok(skill.into_domain(self.timezone))
    }

    async fn create_skill(&self, fields: &SkillFields) -> Result<Skill, VendorError> {
        let skill: wire::WireSkill = self
            .send(Method::POST, "skill", &wire::skill_form(fields))
            .await?;
        Ok(skill.into_domain(self.timezone))
    }

    async fn update_skill(&self, id: i64, fields: &SkillFields) -> Result<Skill, VendorError> {
        let skill: wire::WireSkill = self
            .send(
                Method::PUT,
                &format!("skill/{id}"),
                &wire::skill_form(fields),
            )
            .await?;
        Ok(skill.into_domain(self.timezone))
    }

    async fn delete_skill(&self, id: i64) -> Result<(), VendorError> {
        self.delete(&format!("skill/{id}")).await
    }

    async fn odigo_pickup(&self, call: &OdigoCall) -> Result<OdigoConversation, VendorError> {
        let pickup: wire::WirePickup = self
            .send(
                Method::POST,
                "odigocallback/pickup",
                &wire::odigo_form(call),
            )
            .await?;
        Ok(pickup.into_domain())
    }

    async fn odigo_hangup(&self, call: &OdigoCall) -> Result<(), VendorError> {
        // iAdvize answers `data: []`: nothing to read.
        self.call(
            Method::POST,
            "odigocallback/hangup",
            &[],
            Some(Body::Form(&wire::odigo_form(call))),
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: &str, message: &str) -> (VendorErrorKind, Option<String>) {
        let error = classify(status, 200, false, message.to_owned());
        (error.kind, error.field)
    }

    #[test]
    fn classifies_the_documented_messages() {
        assert_eq!(
            kind("error", "Forbidden"),
            (VendorErrorKind::Misconfigured, None)
        );
        assert_eq!(
            kind("fail", "Unknown 'operator' with 'id' 456."),
            (VendorErrorKind::NotFound, None)
        );
        assert_eq!(
            kind("fail", "Unknown 'my_resource' with 'id' 456"),
            (VendorErrorKind::NotFound, None)
        );
        assert_eq!(
            kind("fail", "Field 'my_field_2' is missing."),
            (VendorErrorKind::InvalidArgument, Some("my_field_2".into()))
        );
        assert_eq!(
            kind("fail", "Value of field 'my_field' is not valid."),
            (VendorErrorKind::InvalidArgument, Some("my_field".into()))
        );
        assert_eq!(
            kind("error", "Internal error"),
            (VendorErrorKind::Unavailable, None)
        );
        assert_eq!(
            classify("error", 500, true, "Internal error".into()).kind,
            VendorErrorKind::OutcomeUnknown
        );
        assert_eq!(
            kind("fail", "Period over 3 months").0,
            VendorErrorKind::Refused
        );
    }

    #[test]
    fn lists_without_pagination_walk_on_until_a_short_page() {
        let paginated = |page, pages| {
            Some(wire::Pagination {
                page: Some(page),
                pages: Some(pages),
                limit: Some(2),
                count: Some(3),
            })
        };
        assert_eq!(next_page(paginated(1, 2), 1, 2, 2), Some(2));
        assert_eq!(next_page(paginated(2, 2), 2, 2, 1), None);
        // iAdvize's word wins over the page's length.
        assert_eq!(next_page(paginated(1, 1), 1, 2, 2), None);
        // No pagination: a full page may have a next one, a short one is
        // the last, an empty one too.
        assert_eq!(next_page(None, 1, 2, 2), Some(2));
        assert_eq!(next_page(None, 2, 2, 1), None);
        assert_eq!(next_page(None, 3, 2, 0), None);
        let countless = Some(wire::Pagination {
            page: Some(1),
            pages: None,
            limit: None,
            count: None,
        });
        assert_eq!(next_page(countless, 1, 2, 2), Some(2));
    }

    #[test]
    fn endpoint_labels_hide_ids() {
        assert_eq!(endpoint_label("operator/123/live"), "operator/{id}/live");
        assert_eq!(endpoint_label("operator/live"), "operator/live");
    }
}
