//! The Optico Call Center API wire format, field for field as documented
//! (camelCase, `Keyword` with a capital K, dates as `Y-m-d H:i:s` in Optico's
//! time zone), and its conversion into domain types.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{Cart, OpticoCallInfo, OpticoMatch, Order, PageView, Product},
    vendors::wire::{int_or_string, loose_bool, number_or_string, opt_int_or_string},
};

/// Optico's date format (PHP `Y-m-d H:i:s`).
pub const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Every Call Center API answer: `status` "OK" or "NOK", then `resultsNb` and
/// `results` on success or `error` on failure.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope<T> {
    pub status: String,
    /// Documented; switchboard counts `results` itself.
    #[allow(dead_code)]
    #[serde(rename = "resultsNb", default)]
    pub results_nb: Option<i64>,
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
    #[serde(default)]
    pub error: Option<String>,
}

/// `callStart` request fields (form-encoded).
#[derive(Debug, Serialize)]
pub(super) struct CallStartForm<'a> {
    #[serde(rename = "apiKey")]
    pub api_key: &'a str,
    #[serde(rename = "callerPhone")]
    pub caller_phone: &'a str,
    #[serde(rename = "destinationPhone")]
    pub destination_phone: &'a str,
    #[serde(rename = "startDate")]
    pub start_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<&'a str>,
}

/// `setAgentToCall` request fields (form-encoded).
#[derive(Debug, Serialize)]
pub(super) struct SetAgentForm<'a> {
    #[serde(rename = "apiKey")]
    pub api_key: &'a str,
    #[serde(rename = "callId")]
    pub call_id: i64,
    pub agent: &'a str,
}

/// One `callStart` result.
#[derive(Debug, Deserialize)]
pub(super) struct CallStartResult {
    pub call: WireCall,
    #[serde(default)]
    pub views: Option<Vec<WireView>>,
    #[serde(rename = "currentCart", default)]
    pub current_cart: Option<WireCart>,
    #[serde(default)]
    pub orders: Option<Vec<WireOrder>>,
}

/// One `setAgentToCall` result.
#[derive(Debug, Deserialize)]
pub(super) struct SetAgentResult {
    #[serde(rename = "callId", deserialize_with = "int_or_string")]
    pub call_id: i64,
    /// The agent Optico recorded (the documented echo): what switchboard
    /// records and announces.
    #[serde(default)]
    pub agent: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireCall {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(rename = "startDate", default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub referrer: Option<String>,
    /// Spelled `Keyword` in the documentation; `keyword` accepted too.
    #[serde(rename = "Keyword", alias = "keyword", default)]
    pub keyword: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireView {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(rename = "pageTitle", default)]
    pub page_title: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(rename = "createdAt", default)]
    pub created_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireProduct {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(rename = "externalId", default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub quantity: Option<i64>,
    #[serde(rename = "costPerUnit", default, deserialize_with = "number_or_string")]
    pub cost_per_unit: f64,
    #[serde(default)]
    pub details: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireCart {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(rename = "externalId", default)]
    pub external_id: Option<String>,
    #[serde(rename = "isLoggedIn", default, deserialize_with = "loose_bool")]
    pub is_logged_in: bool,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub status: Option<i64>,
    #[serde(rename = "totalCost", default, deserialize_with = "number_or_string")]
    pub total_cost: f64,
    #[serde(rename = "productsNb", default, deserialize_with = "opt_int_or_string")]
    pub products_nb: Option<i64>,
    #[serde(rename = "createdAt", default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub products: Option<Vec<WireProduct>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireOrder {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(rename = "externalId", default)]
    pub external_id: Option<String>,
    #[serde(rename = "cartId", default, deserialize_with = "opt_int_or_string")]
    pub cart_id: Option<i64>,
    #[serde(rename = "externalCartId", default)]
    pub external_cart_id: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(rename = "isSale", default, deserialize_with = "loose_bool")]
    pub is_sale: bool,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(rename = "totalCost", default, deserialize_with = "number_or_string")]
    pub total_cost: f64,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(rename = "createdAt", default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub products: Option<Vec<WireProduct>>,
}

/// The `realtimeData` webhook payload.
#[derive(Debug, Deserialize)]
pub(super) struct RealtimeData {
    #[serde(rename = "callId", deserialize_with = "int_or_string")]
    pub call_id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub view: Option<WireView>,
    #[serde(default)]
    pub cart: Option<WireCart>,
    #[serde(default)]
    pub order: Option<WireOrder>,
}

/// [`DATE_FORMAT`] read once: `NaiveDateTime::parse_from_str` and
/// `format` re-read the format string at every call (1% of a webhook's CPU,
/// `perf`).
fn date_items() -> &'static [chrono::format::Item<'static>] {
    static ITEMS: std::sync::LazyLock<Vec<chrono::format::Item<'static>>> =
        std::sync::LazyLock::new(|| chrono::format::StrftimeItems::new(DATE_FORMAT).collect());
    &ITEMS
}

/// `NaiveDateTime::parse_from_str(text, DATE_FORMAT)`, with the format read
/// once.
fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    let mut parsed = chrono::format::Parsed::new();
    chrono::format::parse(&mut parsed, text, date_items().iter()).ok()?;
    parsed.to_naive_datetime_with_offset(0).ok()
}

/// Reads an Optico date in `tz`. In an answer to our request, an empty or
/// malformed date becomes `None` rather than failing the whole answer: a
/// date is context, not identity. (A webhook is stricter: see
/// [`check_date`].)
pub(super) fn parse_date(text: Option<&str>, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text?.trim();
    let naive = parse_naive(text)?;
    // At a DST fold, take the earlier instant. A time in a DST gap does not
    // exist; PHP (Optico's side) reads it an hour later, and so do we.
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::TimeDelta::hours(1)))
                .earliest()
        })
        .map(|local| local.with_timezone(&Utc))
}

/// Checks a webhook date: absent, `null` or empty is "no date"; anything
/// else must be a date as documented (`Y-m-d H:i:s`, e.g.
/// `2018-01-02 09:25:41`). A payload whose date cannot be read is refused
/// rather than stored with some other time in its place. `field` names it.
pub(super) fn check_date(field: &str, text: Option<&str>, tz: Tz) -> Result<(), String> {
    match text.map(str::trim) {
        None | Some("") => Ok(()),
        Some(value) => match parse_date(Some(value), tz) {
            Some(_) => Ok(()),
            None => Err(format!(
                "{field} is not a date written Y-m-d H:i:s (e.g. 2018-01-02 09:25:41), got {}",
                crate::domain::quote(value)
            )),
        },
    }
}

impl RealtimeData {
    /// Checks what the webhook's documented payload must hold beyond its
    /// types: for now, that every `createdAt` is a date.
    pub(super) fn check_dates(&self, tz: Tz) -> Result<(), String> {
        if let Some(view) = &self.view {
            check_date(
                "realtimeData.view.createdAt",
                view.created_at.as_deref(),
                tz,
            )?;
        }
        if let Some(cart) = &self.cart {
            check_date(
                "realtimeData.cart.createdAt",
                cart.created_at.as_deref(),
                tz,
            )?;
        }
        if let Some(order) = &self.order {
            check_date(
                "realtimeData.order.createdAt",
                order.created_at.as_deref(),
                tz,
            )?;
        }
        Ok(())
    }
}

/// Writes a time as Optico expects it: `Y-m-d H:i:s` in `tz`.
pub fn format_date(time: DateTime<Utc>, tz: Tz) -> String {
    time.with_timezone(&tz)
        .format_with_items(date_items().iter())
        .to_string()
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl WireProduct {
    pub(super) fn into_domain(self) -> Product {
        Product {
            id: self.id,
            external_id: non_empty(self.external_id),
            name: self.name,
            quantity: self.quantity.unwrap_or(0),
            cost_per_unit: self.cost_per_unit,
            details: self.details.unwrap_or_default(),
        }
    }
}

impl WireView {
    pub(super) fn into_domain(self, tz: Tz) -> PageView {
        PageView {
            id: self.id,
            created_at: parse_date(self.created_at.as_deref(), tz),
            page_title: self.page_title,
            url: self.url,
        }
    }
}

impl WireCart {
    pub(super) fn into_domain(self, tz: Tz) -> Cart {
        Cart {
            id: self.id,
            external_id: non_empty(self.external_id),
            is_logged_in: self.is_logged_in,
            currency: non_empty(self.currency),
            status: self
                .status
                .unwrap_or(0)
                .clamp(i32::MIN.into(), i32::MAX.into()) as i32,
            total_cost: self.total_cost,
            products_count: self.products_nb.unwrap_or(0).clamp(0, i32::MAX.into()) as i32,
            created_at: parse_date(self.created_at.as_deref(), tz),
            products: self
                .products
                .unwrap_or_default()
                .into_iter()
                .map(WireProduct::into_domain)
                .collect(),
        }
    }
}

impl WireOrder {
    pub(super) fn into_domain(self, tz: Tz) -> Order {
        Order {
            id: self.id,
            external_id: non_empty(self.external_id),
            cart_id: self.cart_id,
            external_cart_id: non_empty(self.external_cart_id),
            agent: non_empty(self.agent),
            status: self.status,
            is_sale: self.is_sale,
            currency: non_empty(self.currency),
            total_cost: self.total_cost,
            source: non_empty(self.source),
            created_at: parse_date(self.created_at.as_deref(), tz),
            products: self
                .products
                .unwrap_or_default()
                .into_iter()
                .map(WireProduct::into_domain)
                .collect(),
        }
    }
}

impl CallStartResult {
    pub(super) fn into_domain(self, tz: Tz) -> OpticoMatch {
        let call = self.call;
        OpticoMatch {
            call: OpticoCallInfo {
                id: call.id,
                start_date: parse_date(call.start_date.as_deref(), tz),
                status: non_empty(call.status),
                source: non_empty(call.source),
                referrer: non_empty(call.referrer),
                keyword: non_empty(call.keyword),
                agent: non_empty(call.agent),
            },
            views: self
                .views
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.into_domain(tz))
                .collect(),
            current_cart: self.current_cart.map(|c| c.into_domain(tz)),
            orders: self
                .orders
                .unwrap_or_default()
                .into_iter()
                .map(|o| o.into_domain(tz))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_in_optico_time() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let time = parse_date(Some("2018-02-28 12:57:13"), tz).unwrap();
        assert_eq!(time.to_rfc3339(), "2018-02-28T11:57:13+00:00");
        assert_eq!(format_date(time, tz), "2018-02-28 12:57:13");
        assert_eq!(parse_date(Some("28/02/2018"), tz), None);
        assert_eq!(parse_date(None, tz), None);
        // 02:30 does not exist in Paris on 2018-03-25: read as 03:30 CEST.
        let gap = parse_date(Some("2018-03-25 02:30:00"), tz).unwrap();
        assert_eq!(gap.to_rfc3339(), "2018-03-25T01:30:00+00:00");
    }

    #[test]
    fn webhook_dates_are_dates_or_nothing() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        for fine in [None, Some(""), Some(" "), Some("2018-01-02 09:25:41")] {
            assert_eq!(check_date("f", fine, tz), Ok(()), "{fine:?}");
        }
        for bad in [
            "yesterday",
            "2018-01-02",
            "2018-02-30 10:00:00",
            "02/01/2018 09:25",
        ] {
            let error = check_date("realtimeData.view.createdAt", Some(bad), tz).unwrap_err();
            assert!(error.starts_with("realtimeData.view.createdAt "), "{error}");
        }
    }
}
