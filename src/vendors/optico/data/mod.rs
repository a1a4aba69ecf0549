//! Optico Data API: `GET {base_url}/data-api` exports calls (`type=calls`),
//! one page per request, or their counts per day (`group_by_day`).
//!
//! The API key travels in the query string, so neither a URL nor a request
//! is ever logged, and Optico's messages are redacted before they go
//! anywhere.

mod wire;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::{read_json, wire::parse_date};
use crate::{
    domain::{PhoneNumber, Provider},
    vendors::{Effect, Pipeline, VendorError, VendorErrorKind, endpoint, redact},
};

/// The documented bounds of `limit` (records per page).
pub const MIN_LIMIT: u32 = 10;
pub const MAX_LIMIT: u32 = 5000;

/// Which calls a request covers, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CallsQuery {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub phone: Option<PhoneNumber>,
    pub tracking_phone: Option<PhoneNumber>,
    pub caller_phone: Option<PhoneNumber>,
    pub offline_phone_description: Option<String>,
}

/// One call of an export, every documented field.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedCall {
    /// `start_date`; `None` when Optico's date cannot be read.
    pub start_date: Option<DateTime<Utc>>,
    pub caller: String,
    pub tracking_number: String,
    pub phone: String,
    /// `trigger_type` as sent ("1" to "4" are documented).
    pub trigger_type: String,
    pub source: String,
    pub url: String,
    pub referer: String,
    pub keyword: String,
    pub call_path: Vec<String>,
    pub status: String,
    pub duration_seconds: i64,
    pub revenue: f64,
    pub keypad: String,
    pub is_redirect: bool,
    pub expired_redirect: bool,
    pub client_data: serde_json::Value,
    pub visit_id: String,
}

/// The calls of one day (`group_by_day`).
#[derive(Debug, Clone, PartialEq)]
pub struct DayCount {
    /// "YYYY-MM-DD" as Optico gave it.
    pub date: String,
    pub calls: i64,
    pub duration_seconds: i64,
    pub revenue: f64,
}

/// One page of a Data API answer.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPage<T> {
    pub records: Vec<T>,
    /// `total_results`: records of the whole request, all pages together.
    pub total_results: i64,
    /// `next_page`, when Optico says there is one.
    pub next_page: Option<i64>,
}

/// What switchboard needs from the Optico Data API.
#[async_trait]
pub trait OpticoDataApi: Send + Sync {
    /// Page `page` (from 1) of the calls, `limit` per page.
    async fn calls(
        &self,
        query: &CallsQuery,
        page: u32,
        limit: u32,
    ) -> Result<DataPage<ExportedCall>, VendorError>;

    /// Page `page` (from 1) of the per-day counts, `limit` days per page.
    async fn calls_by_day(
        &self,
        query: &CallsQuery,
        page: u32,
        limit: u32,
    ) -> Result<DataPage<DayCount>, VendorError>;
}

/// The Optico Data API HTTP client.
pub struct OpticoDataClient {
    http: Pipeline,
    base_url: Url,
    api_key: SecretString,
    timezone: Tz,
}

impl OpticoDataClient {
    pub fn new(base_url: Url, api_key: SecretString, timezone: Tz, http: Pipeline) -> Self {
        Self {
            http,
            base_url,
            api_key,
            timezone,
        }
    }

    fn query<'a>(
        &'a self,
        query: &'a CallsQuery,
        page: u32,
        limit: u32,
        group_by_day: bool,
    ) -> wire::DataQuery<'a> {
        let date = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        wire::DataQuery {
            api_key: self.api_key.expose_secret(),
            kind: wire::TYPE_CALLS,
            start_date: date(query.start_date),
            end_date: date(query.end_date),
            phone: query.phone.as_ref().map(PhoneNumber::key),
            tracking_phone: query.tracking_phone.as_ref().map(PhoneNumber::key),
            caller_phone: query.caller_phone.as_ref().map(PhoneNumber::key),
            offline_phone_description: query.offline_phone_description.as_deref(),
            page,
            limit,
            group_by_day: group_by_day.then_some(1),
        }
    }

    /// GETs one page; the pipeline retries a failure that is safe to
    /// retry (a GET changes nothing at Optico).
    async fn get<T: DeserializeOwned>(
        &self,
        query: &wire::DataQuery<'_>,
    ) -> Result<DataPage<T>, VendorError> {
        let request = self
            .http
            .get(endpoint(&self.base_url, "data-api"))
            .query(query);
        let api_key = self.api_key.expose_secret();
        self.http
            .send("data-api", Effect::Read, request, |answer| {
                let envelope: wire::Envelope<T> = read_json(answer, api_key)?;
                read_page(envelope, api_key)
            })
            .await
    }
}

fn read_page<T>(envelope: wire::Envelope<T>, api_key: &str) -> Result<DataPage<T>, VendorError> {
    match envelope.status.as_str() {
        wire::STATUS_OK => {
            let total_results = envelope.total_results.ok_or_else(|| {
                VendorError::bad_response(Provider::Optico, "status OK without total_results")
            })?;
            Ok(DataPage {
                records: envelope.results.unwrap_or_default(),
                total_results,
                next_page: envelope.next_page,
            })
        }
        wire::STATUS_ERROR => {
            let messages: Vec<String> = wire::error_messages(envelope.errors.as_ref())
                .iter()
                .map(|m| redact(m, api_key))
                .collect();
            Err(VendorError::new(
                Provider::Optico,
                classify_errors(&messages),
                if messages.is_empty() {
                    "data api refused the request without a message".to_owned()
                } else {
                    messages.join("; ")
                },
            ))
        }
        other => Err(VendorError::bad_response(
            Provider::Optico,
            format!(
                "status {} (expected OK or ERROR)",
                crate::domain::quote(other)
            ),
        )),
    }
}

/// Kind of a `status: ERROR` answer: a key problem is our configuration,
/// anything else is about the request's parameters (the only other input).
pub fn classify_errors(messages: &[String]) -> VendorErrorKind {
    let about_key = messages.iter().any(|message| {
        let lower = message.to_lowercase();
        lower.contains("api key") || lower.contains("api_key") || lower.contains("apikey")
    });
    if about_key {
        VendorErrorKind::Misconfigured
    } else {
        VendorErrorKind::InvalidArgument
    }
}

fn text(value: Option<String>) -> String {
    value.unwrap_or_default()
}

impl wire::WireCall {
    pub fn into_exported(self, tz: Tz) -> ExportedCall {
        let wire::WireCall {
            start_date,
            caller,
            tracking_number,
            phone,
            trigger_type,
            source,
            url,
            referer,
            keyword,
            call_path,
            status,
            duration,
            revenue,
            keypad,
            is_redirect,
            expired_redirect,
            client_data,
            visit_id,
        } = self;
        ExportedCall {
            start_date: parse_date(start_date.as_deref(), tz),
            caller: text(caller),
            tracking_number: text(tracking_number),
            phone: text(phone),
            trigger_type: text(trigger_type).trim().to_owned(),
            source: text(source),
            url: text(url),
            referer: text(referer),
            keyword: text(keyword),
            call_path,
            status: text(status),
            duration_seconds: duration,
            revenue,
            keypad: text(keypad),
            is_redirect,
            expired_redirect,
            client_data,
            visit_id: text(visit_id),
        }
    }
}

impl From<wire::WireDay> for DayCount {
    fn from(day: wire::WireDay) -> Self {
        let wire::WireDay {
            date,
            calls,
            duration,
            revenue,
        } = day;
        DayCount {
            date: text(date),
            calls: calls.unwrap_or(0),
            duration_seconds: duration,
            revenue,
        }
    }
}

#[async_trait]
impl OpticoDataApi for OpticoDataClient {
    async fn calls(
        &self,
        query: &CallsQuery,
        page: u32,
        limit: u32,
    ) -> Result<DataPage<ExportedCall>, VendorError> {
        let page: DataPage<wire::WireCall> =
            self.get(&self.query(query, page, limit, false)).await?;
        Ok(DataPage {
            records: page
                .records
                .into_iter()
                .map(|call| call.into_exported(self.timezone))
                .collect(),
            total_results: page.total_results,
            next_page: page.next_page,
        })
    }

    async fn calls_by_day(
        &self,
        query: &CallsQuery,
        page: u32,
        limit: u32,
    ) -> Result<DataPage<DayCount>, VendorError> {
        let page: DataPage<wire::WireDay> = self.get(&self.query(query, page, limit, true)).await?;
        Ok(DataPage {
            records: page.records.into_iter().map(DayCount::from).collect(),
            total_results: page.total_results,
            next_page: page.next_page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_errors_are_configuration_the_rest_are_parameters() {
        assert_eq!(
            classify_errors(&["Invalid api_key".to_owned()]),
            VendorErrorKind::Misconfigured
        );
        assert_eq!(
            classify_errors(&["start_date is not a valid date".to_owned()]),
            VendorErrorKind::InvalidArgument
        );
        assert_eq!(classify_errors(&[]), VendorErrorKind::InvalidArgument);
    }

    #[test]
    fn the_query_names_every_documented_parameter() {
        let client = OpticoDataClient::new(
            Url::parse("http://127.0.0.1:9").unwrap(),
            SecretString::from("k".repeat(32)),
            chrono_tz::Europe::Paris,
            crate::vendors::Pipeline::new(
                &crate::vendors::http_client().unwrap(),
                crate::vendors::PipelineSettings::plain(
                    Provider::Optico,
                    std::time::Duration::from_secs(1),
                ),
            ),
        );
        let query = CallsQuery {
            start_date: NaiveDate::from_ymd_opt(2014, 5, 5).unwrap(),
            end_date: NaiveDate::from_ymd_opt(2014, 5, 15).unwrap(),
            phone: Some(PhoneNumber::parse("phone", "+33 1 23 45 67 89").unwrap()),
            tracking_phone: None,
            caller_phone: None,
            offline_phone_description: Some("Salon 2014".to_owned()),
        };
        let encoded = serde_urlencoded::to_string(client.query(&query, 5, 1500, true)).unwrap();
        assert_eq!(
            encoded,
            format!(
                "api_key={}&type=calls&start_date=2014-05-05&end_date=2014-05-15&phone=0033123456789&offline_phone_description=Salon+2014&page=5&limit=1500&group_by_day=1",
                "k".repeat(32)
            )
        );
    }
}
