//! Simulated Optico Data API (`GET /data-api`): about 35 calls a day on
//! every day, the same calls for the same day on every run (they derive
//! from the date), paged as documented — `total_results`, `next_page`,
//! `limit` from 10 to 5000 — and grouped per day with `group_by_day`.
//! Errors answer `status: ERROR` with an `errors` array.

use std::collections::HashMap;

use axum::{Json, Router, extract::Query, routing::get};
use chrono::{Datelike, Duration as Days, NaiveDate, NaiveTime};
use serde_json::{Value, json};

use crate::vendors::optico::DATE_FORMAT;

/// The Data API key the simulation accepts.
pub const SANDBOX_DATA_API_KEY: &str = "sandbox-optico-data-api-key";

/// The numbers calls go to (the `phone` filter).
const DESTINATIONS: [&str; 3] = ["0033123456789", "0033144556677", "0033155667788"];
/// Static numbers (not tracked on a site) and their descriptions, for the
/// `offline_phone_description` filter.
const STATIC_NUMBERS: [(&str, &str); 2] = [
    ("0033170000901", "Catalogue 2026"),
    ("0033170000902", "Salon de Paris"),
];
const SOURCES: [&str; 5] = ["traffic direct", "adwords", "Google", "Yahoo", "Bing"];
const STATUSES: [&str; 3] = ["succès", "occupé", "aucune réponse"];
const PAGES: [&str; 5] = [
    "https://shop.example.com/",
    "https://shop.example.com/espresso",
    "https://shop.example.com/espresso/x200",
    "https://shop.example.com/delivery",
    "https://shop.example.com/contact",
];

pub fn router() -> Router {
    Router::new().route("/data-api", get(data_api))
}

fn error(messages: &[String]) -> Json<Value> {
    Json(json!({ "status": "ERROR", "errors": messages }))
}

/// splitmix64: a fixed pseudo-random number per (day, index, salt).
fn mix(day: i64, index: u64, salt: u64) -> u64 {
    let mut z = (day as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(salt.wrapping_mul(0x94D0_49BB_1331_11EB));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<T: Copy>(items: &[T], value: u64) -> T {
    items[(value % items.len() as u64) as usize]
}

/// One simulated call with the fields the filters look at.
struct SimCall {
    day: NaiveDate,
    destination: &'static str,
    tracking: String,
    caller: String,
    description: Option<&'static str>,
    record: Value,
    duration: i64,
    revenue: f64,
}

/// The calls of one day, in time order.
fn calls_of(day: NaiveDate) -> Vec<SimCall> {
    let n = i64::from(day.num_days_from_ce());
    let count = 20 + mix(n, 0, 0) % 31;
    let mut seconds: Vec<u32> = (0..count)
        .map(|i| 8 * 3600 + (mix(n, i, 1) % (11 * 3600)) as u32)
        .collect();
    seconds.sort_unstable();
    seconds
        .into_iter()
        .enumerate()
        .map(|(i, second)| {
            let i = i as u64;
            let r = |salt| mix(n, i, salt);
            let time = NaiveTime::from_num_seconds_from_midnight_opt(second, 0).unwrap_or_default();
            let destination = pick(&DESTINATIONS, r(2));
            let is_static = r(3) % 10 == 0;
            let (tracking, description) = if is_static {
                let (number, description) = pick(&STATIC_NUMBERS, r(4));
                (number.to_owned(), Some(description))
            } else {
                (format!("00331700{:05}", r(4) % 100), None)
            };
            let caller = format!("00336{:08}", r(5) % 100_000_000);
            let status = pick(&STATUSES, r(6));
            let duration = if status == "succès" { 20 + (r(7) % 900) as i64 } else { 0 };
            let revenue = if status == "succès" { (r(8) % 40_000) as f64 / 100.0 } else { 0.0 };
            let path: Vec<&str> = PAGES[..1 + (r(9) % PAGES.len() as u64) as usize].to_vec();
            let record = json!({
                "start_date": day.and_time(time).format(DATE_FORMAT).to_string(),
                "caller": caller,
                "tracking number": tracking,
                "phone": destination,
                "trigger_type": (1 + r(10) % 4).to_string(),
                "source": if is_static { "offline" } else { pick(&SOURCES, r(11)) },
                "url": if is_static { "" } else { path[path.len() - 1] },
                "referer": if is_static { "" } else { "google.fr" },
                "keyword": if is_static { "" } else { "machine espresso" },
                "call_path": if is_static { String::new() } else { path.join("\n") },
                "status": status,
                "duration": duration.to_string(),
                "revenue": format!("{revenue:.2}"),
                "keypad": if r(12) % 4 == 0 { "1" } else { "" },
                "is_redirect": u8::from(status == "aucune réponse" && r(13) % 2 == 0),
                "expired_redirect": u8::from(r(14) % 50 == 0),
                "client_data": if is_static { json!({ "campaign": description }) } else { Value::Null },
                "visit_id": if is_static { String::new() } else { format!("{}", 10_000_000 + r(15) % 90_000_000) },
            });
            SimCall {
                day,
                destination,
                tracking,
                caller,
                description,
                record,
                duration,
                revenue,
            }
        })
        .collect()
}

fn date(
    query: &HashMap<String, String>,
    name: &str,
    errors: &mut Vec<String>,
) -> Option<NaiveDate> {
    let parsed = query
        .get(name)
        .and_then(|value| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok());
    if parsed.is_none() {
        errors.push(format!("{name} is required and must be a date Y-m-d"));
    }
    parsed
}

fn number(
    query: &HashMap<String, String>,
    name: &str,
    default: i64,
    errors: &mut Vec<String>,
) -> i64 {
    match query.get(name) {
        None => default,
        Some(value) => value.parse().unwrap_or_else(|_| {
            errors.push(format!("{name} must be an integer"));
            default
        }),
    }
}

async fn data_api(Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    if query.get("api_key").map(String::as_str) != Some(SANDBOX_DATA_API_KEY) {
        return error(&["Invalid api_key".to_owned()]);
    }
    let mut errors = Vec::new();
    if query.get("type").map(String::as_str) != Some("calls") {
        errors.push("type must be \"calls\"".to_owned());
    }
    let start = date(&query, "start_date", &mut errors);
    let end = date(&query, "end_date", &mut errors);
    let page = number(&query, "page", 1, &mut errors);
    let limit = number(&query, "limit", 1000, &mut errors);
    if page < 1 {
        errors.push("page must be 1 or more".to_owned());
    }
    if !(10..=5000).contains(&limit) {
        errors.push("limit must be between 10 and 5000".to_owned());
    }
    let (Some(start), Some(end)) = (start, end) else {
        return error(&errors);
    };
    if end < start {
        errors.push("end_date is before start_date".to_owned());
    }
    if end - start > Days::days(3660) {
        errors.push("the period may not exceed 10 years".to_owned());
    }
    if !errors.is_empty() {
        return error(&errors);
    }
    let filter = |name: &str| query.get(name).filter(|v| !v.is_empty());
    let (phone, tracking, caller, description) = (
        filter("phone"),
        filter("tracking_phone"),
        filter("caller_phone"),
        filter("offline_phone_description"),
    );
    let calls = start
        .iter_days()
        .take_while(|day| *day <= end)
        .flat_map(calls_of)
        .filter(|call| phone.is_none_or(|p| p == call.destination))
        .filter(|call| tracking.is_none_or(|t| *t == call.tracking))
        .filter(|call| caller.is_none_or(|c| *c == call.caller))
        .filter(|call| description.is_none_or(|d| Some(d.as_str()) == call.description));
    let grouped = matches!(
        query.get("group_by_day").map(String::as_str),
        Some("1" | "true")
    );
    let results: Vec<Value> = if grouped {
        let mut days: Vec<(NaiveDate, i64, i64, f64)> = Vec::new();
        for call in calls {
            match days.last_mut() {
                Some(last) if last.0 == call.day => {
                    last.1 += 1;
                    last.2 += call.duration;
                    last.3 += call.revenue;
                }
                _ => days.push((call.day, 1, call.duration, call.revenue)),
            }
        }
        days.into_iter()
            .map(|(day, calls, duration, revenue)| {
                json!({ "date": day.format("%Y-%m-%d").to_string(), "calls": calls, "duration": duration, "revenue": format!("{revenue:.2}") })
            })
            .collect()
    } else {
        calls.map(|call| call.record).collect()
    };
    let total = results.len() as i64;
    let first = ((page - 1) * limit).min(total) as usize;
    let last = (page * limit).min(total) as usize;
    let mut answer = json!({
        "status": "OK",
        "total_results": total,
        "results": &results[first..last],
    });
    if page * limit < total {
        answer["next_page"] = json!(page + 1);
    }
    Json(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_the_same_on_every_run_and_in_time_order() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let first: Vec<Value> = calls_of(day).into_iter().map(|c| c.record).collect();
        let again: Vec<Value> = calls_of(day).into_iter().map(|c| c.record).collect();
        assert_eq!(first, again);
        assert!((20..=50).contains(&first.len()));
        let times: Vec<&str> = first
            .iter()
            .map(|r| r["start_date"].as_str().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
    }
}
