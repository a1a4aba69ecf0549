//! The Optico Data API wire format, named as its (French) documentation
//! names it: `GET /data-api?api_key=…&type=calls&start_date=…&end_date=…`
//! answers `{status, total_results, next_page, results, errors}`; a call
//! record spells one key `tracking number` (with a space) and lists its pages
//! in `call_path`, separated by newlines.

use serde::{Deserialize, Deserializer, Serialize};

use crate::vendors::wire::{
    loose_bool, number_or_string, opt_int_or_string, opt_page_number, opt_text, seconds,
};

/// The only `type` the documentation offers ("Appel").
pub(super) const TYPE_CALLS: &str = "calls";
/// `status` of a successful answer; the other documented value is "ERROR".
pub(super) const STATUS_OK: &str = "OK";
pub(super) const STATUS_ERROR: &str = "ERROR";

/// The query string of a Data API request. It carries the API key: never
/// log it, nor the URL built from it.
#[derive(Debug, Serialize)]
pub(super) struct DataQuery<'a> {
    pub api_key: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub start_date: String,
    pub end_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_phone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_phone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline_phone_description: Option<&'a str>,
    pub page: u32,
    pub limit: u32,
    /// Sent as `1`, the documentation's example value (absent = not grouped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by_day: Option<u8>,
}

/// Every Data API answer.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope<T> {
    pub status: String,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub total_results: Option<i64>,
    #[serde(default, deserialize_with = "opt_page_number")]
    pub next_page: Option<i64>,
    #[serde(default = "Option::default")]
    pub results: Option<Vec<T>>,
    /// Documented as an array; its items are read as whatever they are
    /// (strings, or objects when a field is named).
    #[serde(default)]
    pub errors: Option<serde_json::Value>,
}

/// One call of `results` (`type=calls`).
#[derive(Debug, Deserialize)]
pub(super) struct WireCall {
    /// `Y-m-d H:i:s` in Optico's time zone.
    #[serde(default, deserialize_with = "opt_text")]
    pub start_date: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub caller: Option<String>,
    #[serde(
        rename = "tracking number",
        alias = "tracking_number",
        default,
        deserialize_with = "opt_text"
    )]
    pub tracking_number: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub phone: Option<String>,
    /// "1" normal, "2" call back, "3" automatic rule, "4" manual invitation.
    #[serde(default, deserialize_with = "opt_text")]
    pub trigger_type: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub referer: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub keyword: Option<String>,
    #[serde(default, deserialize_with = "call_path")]
    pub call_path: Vec<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    pub duration: i64,
    #[serde(default, deserialize_with = "number_or_string")]
    pub revenue: f64,
    #[serde(default, deserialize_with = "opt_text")]
    pub keypad: Option<String>,
    #[serde(default, deserialize_with = "loose_bool")]
    pub is_redirect: bool,
    #[serde(default, deserialize_with = "loose_bool")]
    pub expired_redirect: bool,
    /// Free-form: passed through as given.
    #[serde(default)]
    pub client_data: serde_json::Value,
    #[serde(default, deserialize_with = "opt_text")]
    pub visit_id: Option<String>,
}

/// One row of `results` with `group_by_day`.
#[derive(Debug, Deserialize)]
pub(super) struct WireDay {
    #[serde(default, deserialize_with = "opt_text")]
    pub date: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub calls: Option<i64>,
    #[serde(default, deserialize_with = "seconds")]
    pub duration: i64,
    #[serde(default, deserialize_with = "number_or_string")]
    pub revenue: f64,
}

/// `call_path`: pages separated by "\n" (also "\r\n"), oldest first; blank
/// lines dropped. An array of pages is accepted as well.
fn call_path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Path {
        Text(String),
        List(Vec<String>),
    }
    let pages = match Option::<Path>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(Path::Text(text)) => text.split('\n').map(str::to_owned).collect(),
        Some(Path::List(pages)) => pages,
    };
    Ok(pages
        .into_iter()
        .map(|page| page.trim().to_owned())
        .filter(|page| !page.is_empty())
        .collect())
}

/// The messages of an `errors` value, each as text.
pub(super) fn error_messages(errors: Option<&serde_json::Value>) -> Vec<String> {
    use serde_json::Value;
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match errors {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        Some(Value::Object(fields)) => fields
            .iter()
            .map(|(field, value)| format!("{field}: {}", text(value)))
            .collect(),
        Some(other) => vec![text(other)],
    }
    .into_iter()
    .filter(|message| !message.trim().is_empty())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_documented_call() {
        let call: WireCall = serde_json::from_str(
            r#"{
                "start_date": "2014-05-05 10:12:00",
                "caller": "0033612345678",
                "tracking number": "0033170000001",
                "phone": "0033123456789",
                "trigger_type": "2",
                "source": "adwords",
                "url": "https://shop.example.com/",
                "referer": "google.fr",
                "keyword": "espresso",
                "call_path": "https://shop.example.com/\nhttps://shop.example.com/espresso\n",
                "status": "succès",
                "duration": "125",
                "revenue": "12.5",
                "keypad": "1#",
                "is_redirect": "0",
                "expired_redirect": 1,
                "client_data": {"crm": 42},
                "visit_id": 987654
            }"#,
        )
        .unwrap();
        assert_eq!(call.tracking_number.as_deref(), Some("0033170000001"));
        assert_eq!(
            call.call_path,
            [
                "https://shop.example.com/",
                "https://shop.example.com/espresso"
            ]
        );
        assert_eq!(call.trigger_type.as_deref(), Some("2"));
        assert_eq!(call.duration, 125);
        assert_eq!(call.revenue, 12.5);
        assert!(!call.is_redirect);
        assert!(call.expired_redirect);
        assert_eq!(call.client_data, serde_json::json!({"crm": 42}));
        assert_eq!(call.visit_id.as_deref(), Some("987654"));
    }

    #[test]
    fn reads_errors_in_any_shape() {
        let envelope: Envelope<WireCall> = serde_json::from_str(
            r#"{"status": "ERROR", "errors": ["start_date is required", "limit must be between 10 and 5000"]}"#,
        )
        .unwrap();
        assert_eq!(envelope.status, STATUS_ERROR);
        assert_eq!(
            error_messages(envelope.errors.as_ref()),
            [
                "start_date is required",
                "limit must be between 10 and 5000"
            ]
        );
        assert_eq!(
            error_messages(Some(&serde_json::json!({"limit": "too big"}))),
            ["limit: too big"]
        );
        assert_eq!(
            error_messages(Some(&serde_json::json!("bad key"))),
            ["bad key"]
        );
        assert!(error_messages(None).is_empty());
    }
}
