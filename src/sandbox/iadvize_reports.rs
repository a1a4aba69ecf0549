//! The simulated iAdvize's reports: statistics invented on the fly (the same
//! question gets the same numbers), and a few weeks of conversations (with a
//! realistic history), transactions, satisfaction surveys and call meetings,
//! the same ids and contents on every run, dated back from the time the
//! sandbox starts. Filters, paging and the 3-month window of conversations
//! behave as documented.

use std::collections::BTreeMap;

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{
    DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::iadvize::{Fail, IadvizeSim, fail, paged, success, unknown};
use crate::domain::statistic::indicator_channels;

const DATE: &str = "%Y-%m-%d %H:%M:%S";
/// What iAdvize answers when no indicator is asked (its own choice).
const DEFAULT_INDICATORS: [&str; 3] = ["contact_number", "contact_duration", "conversion_rate"];
/// More periods than this in one answer is refused.
const MAX_PERIODS: usize = 1000;

/// The made-up records, each with what its list filters on.
pub(super) struct Reports {
    tz: Tz,
    conversations: Vec<(Filterable, Value)>,
    transactions: Vec<(Filterable, Value)>,
    satisfactions: Vec<(Filterable, Value)>,
    call_meetings: Vec<(Filterable, Value)>,
}

/// What a record is filtered by (some of it, like a conversation's visitor
/// id, is not among its fields).
#[derive(Default)]
struct Filterable {
    id: i64,
    at: NaiveDateTime,
    ints: BTreeMap<&'static str, i64>,
    tags: Vec<i64>,
    channel: &'static str,
    /// None: a transaction linked to no conversation.
    conversation_id: Option<i64>,
}

const OPENERS: [(&str, &str); 4] = [
    (
        "Does the X200 come with a milk frother?",
        "Yes, it does. Here is the product sheet.",
    ),
    (
        "I would like to know if my order has been sent",
        "I check it, thank you for your patience. Your order has been shipped.",
    ),
    (
        "Can I descale the Barista Pro with vinegar?",
        "Better not: use the descaler of the kit, here is how.",
    ),
    (
        "Do you deliver to Belgium?",
        "We do, in 3 to 5 days, free above 50 EUR.",
    ),
];
const CHANNELS: [&str; 5] = ["chat", "chat", "call", "chat", "video"];
const PAGE_TYPES: [&str; 4] = ["product", "cart", "home", "checkout"];
const SKILLS: [i64; 3] = [11, 12, 13];
const MEETING_STATUSES: [&str; 5] = ["pending", "progress", "done", "failed", "working"];
const COMMENTS: [&str; 4] = [
    "Quick and helpful",
    "",
    "The agent knew the machine well",
    "Waited a bit long",
];

fn local(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    tz.from_local_datetime(&naive)
        .earliest()
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}

fn text(naive: NaiveDateTime) -> String {
    naive.format(DATE).to_string()
}

impl Reports {
    /// Records around `now` (local time of `tz`), whole seconds.
    pub(super) fn new(tz: Tz, now: DateTime<Utc>) -> Self {
        let now = now.with_timezone(&tz).naive_local();
        let now = now.with_nanosecond(0).unwrap_or(now);
        let mut reports = Reports {
            tz,
            conversations: Vec::new(),
            transactions: Vec::new(),
            satisfactions: Vec::new(),
            call_meetings: Vec::new(),
        };
        for i in 0..60_i64 {
            reports.add_conversation(i, now - Duration::minutes(i * 7 * 60 + 13 * i + 5));
        }
        for i in 0..30_i64 {
            reports.add_transaction(i, now);
        }
        for i in 0..12_i64 {
            let start = now + Duration::hours((i - 6) * 3);
            let start = start
                .with_minute(0)
                .and_then(|t| t.with_second(0))
                .unwrap_or(start);
            let id = 3001 + i;
            let filterable = Filterable {
                id,
                at: start,
                ints: BTreeMap::from([("website_id", 1 + i % 2)]),
                ..Default::default()
            };
            reports.call_meetings.push((
                filterable,
                json!({
                    "id": id,
                    "phone_number": format!("06140377{:02}", 35 + i),
                    "visitor_uid": visitor_uid(700 + i),
                    "status": MEETING_STATUSES[(i % 5) as usize],
                    "start_at": text(start),
                    "website_id": 1 + i % 2,
                    "targeting_rule_id": "107",
                    "skill_id": if i % 4 == 3 { String::new() } else { SKILLS[(i % 3) as usize].to_string() },
                    "_link": format!("/callmeeting/{id}"),
                }),
            ));
        }
        reports
    }

    fn add_conversation(&mut self, i: i64, created: NaiveDateTime) {
        let id = 5001 + i;
        let channel = CHANNELS[(i % 5) as usize];
        let operator_id = 101 + i % 5;
        let website_id = 1 + i % 2;
        let skill_id = SKILLS[(i % 3) as usize];
        let visitor_id = 560 + i % 20;
        let answered = i % 9 != 8;
        let (question, answer) = OPENERS[(i % 4) as usize];
        let mut history = Vec::new();
        let mut at = created;
        let mut say = |kind: i64, after: i64, content: &str, client: bool| {
            at += Duration::seconds(after);
            let mut message = vec![json!(kind), json!(text(at)), json!(content)];
            if client {
                // The sender's clock runs a little off iAdvize's.
                let ms = local(self.tz, at).timestamp_millis() + 180 + i * 7;
                message.push(json!(ms));
            }
            history.push(Value::Array(message));
        };
        say(5, 0, "https://shop.example.com/espresso/x200", false);
        say(2, 2, "Hello", true);
        say(3, 8, "The chat rule has been activated.", false);
        if answered {
            say(1, 12, "Hello, how can I help you?", true);
            say(2, 40, question, true);
            say(1, 25, answer, true);
            if i % 3 == 0 {
                say(6, 5, "https://shop.example.com/img/x200-sheet.png", false);
            }
            if i % 7 == 0 {
                say(
                    7,
                    30,
                    "https://uploads.example.com/visitor/photo-1.jpg",
                    false,
                );
            }
            say(2, 20, "Thanks, goodbye", true);
            say(1, 8, "Goodbye", true);
            say(3, 20, "OPERATOR_CHAT_CLOSE", false);
        } else {
            say(3, 300, "VISITOR_CHAT_CLOSE", false);
        }
        let closed = at;
        let filterable = Filterable {
            id,
            at: created,
            ints: BTreeMap::from([
                ("website_id", website_id),
                ("operator_id", operator_id),
                ("visitor_id", visitor_id),
                ("skill_id", skill_id),
                ("rule_id", 107 + i % 2),
            ]),
            tags: vec![1 + i % 4],
            channel,
            conversation_id: Some(id),
        };
        // With json-unicode and formatHistory=0 the history is a string
        // holding the JSON list of messages.
        let conversation = json!({
            "id": id,
            "channel": channel,
            "visitor_uid": visitor_uid(visitor_id),
            "history": Value::Array(history).to_string(),
            "operator_answer": answered,
            "operator_closed": answered && i % 2 == 0,
            "waitinglist": i % 4 == 0,
            "page_type": PAGE_TYPES[(i % 4) as usize],
            "created_at": text(created),
            "closed_at": text(closed),
            "website_id": website_id,
            "operator_id": if answered { json!(operator_id) } else { Value::Null },
            "skill_id": skill_id,
            "tag_list": [1 + i % 4],
            "rule_id": 107 + i % 2,
            "xmpp_id": format!("6f1c3a62-1b7f-4c8e-9d2a-{:012x}", id * 7919),
            "_link": format!("/conversation/{id}"),
        });
        if answered && i % 3 == 0 {
            let satisfaction_id = 7001 + i;
            let notes = [100.0, 75.0, 50.0, 87.5];
            self.satisfactions.push((
                Filterable {
                    id: satisfaction_id,
                    at: closed + Duration::minutes(1),
                    ints: BTreeMap::from([
                        ("website_id", website_id),
                        ("operator_id", operator_id),
                        ("conversation_id", id),
                    ]),
                    ..Default::default()
                },
                json!({
                    "id": satisfaction_id,
                    "note_welcome": notes[(i % 4) as usize],
                    "note_resolution": notes[((i + 1) % 4) as usize],
                    "node_delay": notes[((i + 2) % 4) as usize],
                    "comment": COMMENTS[(i % 4) as usize],
                    "created_at": text(closed + Duration::minutes(1)),
                    "website_id": website_id,
                    "operator_id": operator_id,
                    "conversation_id": id,
                    "_link": format!("/satisfaction/{satisfaction_id}"),
                }),
            ));
        }
        self.conversations.push((filterable, conversation));
    }

    fn add_transaction(&mut self, i: i64, now: NaiveDateTime) {
        let id = 9001 + i;
        // Two in three follow a conversation (every other one).
        let conversation = (i % 3 != 2)
            .then(|| self.conversations.get((2 * i) as usize))
            .flatten()
            .map(|(filterable, _)| filterable);
        let (at, website_id, operator_id, conversation_id) = match conversation {
            Some(c) => (
                c.at + Duration::minutes(20),
                c.ints.get("website_id").copied().unwrap_or(1),
                c.ints.get("operator_id").copied(),
                Some(c.id),
            ),
            None => (now - Duration::hours(5 * i + 1), 1 + i % 2, None, None),
        };
        let amount = 20.0 + ((i * 37) % 300) as f64 + 0.99;
        self.transactions.push((
            Filterable {
                id,
                at,
                ints: [
                    Some(("website_id", website_id)),
                    operator_id.map(|o| ("operator_id", o)),
                ]
                .into_iter()
                .flatten()
                .collect(),
                conversation_id,
                ..Default::default()
            },
            json!({
                "id": id,
                "external_id": format!("ORDER-{id}"),
                "visitor_uid": visitor_uid(560 + i % 20),
                "visitor_email": format!("visitor{}@example.com", i % 20),
                "amount": amount,
                "created_at": text(at),
                "website_id": website_id,
                "operator_id": operator_id,
                "conversation_id": conversation_id,
                "_link": format!("/transaction/{id}"),
            }),
        ));
    }
}

pub(super) fn visitor_uid(visitor_id: i64) -> String {
    format!("0a1572b7cc5027fe443f42{:022x}", visitor_id * 2_654_435_761)
}

pub(super) fn routes() -> Router<IadvizeSim> {
    Router::new()
        .route("/statistic", get(statistic))
        .route("/conversation.json-unicode", get(list_conversations))
        .route("/conversation.json-unicode/{id}", get(get_conversation))
        .route("/transaction", get(list_transactions))
        .route("/transaction/{id}", get(get_transaction))
        .route("/satisfaction", get(list_satisfactions))
        .route("/satisfaction/{id}", get(get_satisfaction))
        .route("/callmeeting", get(list_call_meetings))
        .route("/callmeeting/{id}", get(get_call_meeting))
}

type Params = Query<BTreeMap<String, String>>;

fn filter<'q>(query: &'q BTreeMap<String, String>, name: &str) -> Option<&'q str> {
    query
        .get(&format!("filters[{name}]"))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`, as the filters take dates.
fn filter_date(
    query: &BTreeMap<String, String>,
    name: &str,
) -> Result<Option<NaiveDateTime>, Fail> {
    let Some(value) = filter(query, name) else {
        return Ok(None);
    };
    NaiveDateTime::parse_from_str(value, DATE)
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .map(Some)
        .ok_or_else(|| invalid(name))
}

fn invalid(name: &str) -> Fail {
    Fail(
        StatusCode::BAD_REQUEST,
        format!("Value of field '{name}' is not valid."),
    )
}

/// Keeps the records passing the id filters `names`, the date window and,
/// when given, `more`.
fn listed(
    records: &[(Filterable, Value)],
    query: &BTreeMap<String, String>,
    names: &[&str],
    window: (Option<NaiveDateTime>, Option<NaiveDateTime>),
    more: impl Fn(&Filterable) -> bool,
) -> Response {
    let mut wanted = Vec::new();
    for name in names {
        if let Some(value) = filter(query, name) {
            match value.parse::<i64>() {
                Ok(id) => wanted.push((*name, id)),
                Err(_) => return invalid(name).into_response(),
            }
        }
    }
    let (from, to) = window;
    let items = records
        .iter()
        .filter(|(record, _)| {
            wanted
                .iter()
                .all(|(name, id)| record.ints.get(name) == Some(id))
                && from.is_none_or(|from| record.at >= from)
                && to.is_none_or(|to| record.at <= to)
                && more(record)
        })
        .map(|(_, value)| value.clone())
        .collect();
    paged(items, query)
}

fn get_one(records: &[(Filterable, Value)], resource: &str, id: i64) -> Response {
    match records.iter().find(|(record, _)| record.id == id) {
        Some((_, value)) => success(value.clone()),
        None => unknown(resource, id),
    }
}

/// Both ends of a window from the filters.
fn window(
    query: &BTreeMap<String, String>,
) -> Result<(Option<NaiveDateTime>, Option<NaiveDateTime>), Fail> {
    Ok((filter_date(query, "from")?, filter_date(query, "to")?))
}

async fn list_conversations(State(sim): State<IadvizeSim>, Query(query): Params) -> Response {
    let reports = sim.reports();
    let (from, to) = match window(&query) {
        Ok(window) => window,
        Err(refusal) => return refusal.into_response(),
    };
    let three_months = |t: NaiveDateTime, back: bool| {
        if back {
            t.checked_sub_months(Months::new(3))
        } else {
            t.checked_add_months(Months::new(3))
        }
    };
    // The documented rules of the window.
    let (from, to) = match (from, to) {
        (None, None) => {
            let now = Utc::now().with_timezone(&reports.tz).naive_local();
            (three_months(now, true), Some(now))
        }
        (Some(from), None) => (Some(from), three_months(from, false)),
        (None, Some(to)) => (three_months(to, true), Some(to)),
        (Some(from), Some(to)) => {
            if three_months(from, false).is_none_or(|latest| to > latest) {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "A request cannot fetch the conversations for a period over 3 months."
                        .to_owned(),
                );
            }
            (Some(from), Some(to))
        }
    };
    let channel = filter(&query, "channel");
    let tag = match filter(&query, "tag_id").map(str::parse::<i64>) {
        None => None,
        Some(Ok(tag)) => Some(tag),
        Some(Err(_)) => return invalid("tag_id").into_response(),
    };
    listed(
        &reports.conversations,
        &query,
        &[
            "website_id",
            "operator_id",
            "visitor_id",
            "skill_id",
            "rule_id",
        ],
        (from, to),
        |c| {
            channel.is_none_or(|wanted| c.channel == wanted)
                && tag.is_none_or(|t| c.tags.contains(&t))
        },
    )
}

async fn get_conversation(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    get_one(&sim.reports().conversations, "conversation", id)
}

async fn list_transactions(State(sim): State<IadvizeSim>, Query(query): Params) -> Response {
    let window = match window(&query) {
        Ok(window) => window,
        Err(refusal) => return refusal.into_response(),
    };
    // A number, or null / !null for "linked to none" / "to some".
    let link = filter(&query, "conversation_id");
    let conversation: Option<Option<i64>> = match link {
        None | Some("null" | "!null") => None,
        Some(value) => match value.parse() {
            Ok(id) => Some(Some(id)),
            Err(_) => return invalid("conversation_id").into_response(),
        },
    };
    listed(
        &sim.reports().transactions,
        &query,
        &["website_id", "operator_id"],
        window,
        |t| match (link, conversation) {
            (Some("null"), _) => t.conversation_id.is_none(),
            (Some("!null"), _) => t.conversation_id.is_some(),
            (_, Some(wanted)) => t.conversation_id == wanted,
            _ => true,
        },
    )
}

async fn get_transaction(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    get_one(&sim.reports().transactions, "transaction", id)
}

async fn list_satisfactions(State(sim): State<IadvizeSim>, Query(query): Params) -> Response {
    match window(&query) {
        Ok(window) => listed(
            &sim.reports().satisfactions,
            &query,
            &["website_id", "operator_id", "conversation_id"],
            window,
            |_| true,
        ),
        Err(refusal) => refusal.into_response(),
    }
}

async fn get_satisfaction(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    get_one(&sim.reports().satisfactions, "satisfaction", id)
}

async fn list_call_meetings(State(sim): State<IadvizeSim>, Query(query): Params) -> Response {
    match window(&query) {
        Ok(window) => listed(
            &sim.reports().call_meetings,
            &query,
            &["website_id"],
            window,
            |_| true,
        ),
        Err(refusal) => refusal.into_response(),
    }
}

async fn get_call_meeting(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    get_one(&sim.reports().call_meetings, "callmeeting", id)
}

// ---- statistics ----

/// A value that looks like the indicator's unit and is the same for the
/// same question: a count, seconds, a rate from 0 to 1, or an amount.
fn made_up(indicator: &str, resource: &str, period: &str) -> Value {
    let seed = format!("{indicator}/{resource}/{period}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    let unit = (seed % 10_000) as f64 / 10_000.0;
    if indicator.ends_with("_rate") {
        json!((unit * 100.0).round() / 100.0)
    } else if indicator.ends_with("_duration") {
        json!((20.0 + unit * 580.0).round())
    } else if indicator.ends_with("_amount")
        || indicator.ends_with("_per_hour")
        || indicator.ends_with("_per_conversation")
    {
        json!((unit * 500_000.0).round() / 100.0)
    } else {
        json!((unit * 200.0).round())
    }
}

/// The periods of `[from, to]` at `granularity`, labelled as iAdvize might.
fn periods(granularity: &str, from: NaiveDateTime, to: NaiveDateTime) -> Option<Vec<String>> {
    let mut labels = Vec::new();
    let (mut at, step): (NaiveDateTime, fn(NaiveDateTime) -> Option<NaiveDateTime>) =
        match granularity {
            "hour" => (from.with_minute(0)?.with_second(0)?, |t| {
                Some(t + Duration::hours(1))
            }),
            "day" => (from.date().and_hms_opt(0, 0, 0)?, |t| {
                Some(t + Duration::days(1))
            }),
            "month" => (from.date().with_day(1)?.and_hms_opt(0, 0, 0)?, |t| {
                t.checked_add_months(Months::new(1))
            }),
            _ => return None,
        };
    while at <= to {
        if labels.len() == MAX_PERIODS {
            return None;
        }
        labels.push(match granularity {
            "hour" => at.format("%Y-%m-%d %H:00:00").to_string(),
            "day" => at.format("%Y-%m-%d").to_string(),
            _ => at.format("%Y-%m").to_string(),
        });
        at = step(at)?;
    }
    Some(labels)
}

async fn statistic(State(sim): State<IadvizeSim>, Query(query): Params) -> Response {
    let indicators: Vec<String> = match filter(&query, "indicators") {
        None => DEFAULT_INDICATORS.map(str::to_owned).to_vec(),
        Some(list) => list.split(',').map(|i| i.trim().to_owned()).collect(),
    };
    if indicators.iter().any(|i| indicator_channels(i).is_none()) {
        return invalid("indicators").into_response();
    }
    let (from, to) = match window(&query) {
        Ok(window) => window,
        Err(refusal) => return refusal.into_response(),
    };
    let today = Utc::now().with_timezone(&sim.reports().tz).date_naive();
    let from = from.or_else(|| (today - Duration::days(6)).and_hms_opt(0, 0, 0));
    let to = to.or_else(|| today.and_hms_opt(23, 59, 59));
    let labels = match (filter(&query, "granularity"), from, to) {
        (None, ..) => None,
        (Some(_), ..) if indicators.len() != 1 => return invalid("granularity").into_response(),
        (Some(granularity), Some(from), Some(to)) => match periods(granularity, from, to) {
            Some(labels) => Some(labels),
            None => return invalid("granularity").into_response(),
        },
        (Some(_), ..) => return invalid("granularity").into_response(),
    };
    let scope = format!(
        "{}/{}/{}",
        filter(&query, "channel").unwrap_or("all"),
        filter(&query, "website_list").unwrap_or("all"),
        from.map(text).unwrap_or_default()
    );
    let block = |resource: &str| {
        let mut block = Map::new();
        for indicator in &indicators {
            let key = format!("{scope}/{resource}");
            let value = match &labels {
                None => made_up(indicator, &key, "total"),
                Some(labels) => Value::Object(
                    labels
                        .iter()
                        .map(|label| (label.clone(), made_up(indicator, &key, label)))
                        .collect(),
                ),
            };
            block.insert(indicator.clone(), value);
        }
        block
    };
    let resource = filter(&query, "resource");
    let resources: Vec<(Value, String)> = match resource {
        None => return success(Value::Object(block("all"))),
        Some("operator") => sim
            .operator_names()
            .into_iter()
            .map(|(id, name)| (json!(id), name))
            .collect(),
        Some("group") => vec![
            (json!(1984), "Support".into()),
            (json!(1985), "Sales".into()),
        ],
        Some("skill") => vec![
            (json!(11), "Espresso machines".into()),
            (json!(12), "Repairs".into()),
            (json!(13), "Wholesale".into()),
        ],
        Some("rule") => vec![
            (json!(107), "Product page invitation".into()),
            (json!(108), "Cart abandonment".into()),
        ],
        Some("contact_type") => ["chat", "call", "video"]
            .map(|t| (json!(t), t.to_owned()))
            .to_vec(),
        Some("page_type") => PAGE_TYPES.map(|t| (json!(t), t.to_owned())).to_vec(),
        Some(_) => return invalid("resource").into_response(),
    };
    let only = filter(&query, "resource_id");
    let rows: Vec<Value> = resources
        .into_iter()
        .filter(|(id, _)| {
            only.is_none_or(|only| {
                id.as_i64()
                    .map_or(id.as_str() == Some(only), |id| id.to_string() == only)
            })
        })
        .map(|(id, name)| {
            let mut row = block(&id.to_string());
            row.insert("id".into(), id);
            row.insert("name".into(), json!(name));
            Value::Object(row)
        })
        .collect();
    success(Value::Array(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_cover_the_window() {
        let at = |t: &str| NaiveDateTime::parse_from_str(t, DATE).unwrap_or_default();
        assert_eq!(
            periods("day", at("2026-01-01 10:00:00"), at("2026-01-03 00:00:00"))
                .unwrap_or_default(),
            ["2026-01-01", "2026-01-02", "2026-01-03"]
        );
        assert_eq!(
            periods(
                "month",
                at("2026-01-31 10:00:00"),
                at("2026-03-01 00:00:00")
            )
            .unwrap_or_default(),
            ["2026-01", "2026-02", "2026-03"]
        );
        assert_eq!(
            periods("hour", at("2026-01-01 10:30:00"), at("2026-01-01 11:00:00"))
                .unwrap_or_default(),
            ["2026-01-01 10:00:00", "2026-01-01 11:00:00"]
        );
        assert!(periods("hour", at("2020-01-01 00:00:00"), at("2026-01-01 00:00:00")).is_none());
    }

    #[test]
    fn records_hang_together() {
        let reports = Reports::new(chrono_tz::Europe::Paris, Utc::now());
        assert_eq!(reports.conversations.len(), 60);
        let ids: Vec<i64> = reports.conversations.iter().map(|(c, _)| c.id).collect();
        for (transaction, _) in &reports.transactions {
            if let Some(id) = transaction.conversation_id {
                assert!(ids.contains(&id));
            }
        }
        assert!(
            reports
                .transactions
                .iter()
                .any(|(t, _)| t.conversation_id.is_none())
        );
        assert!(!reports.satisfactions.is_empty());
        let history = reports.conversations[0].1["history"]
            .as_str()
            .unwrap_or_default();
        let messages: Vec<Value> = serde_json::from_str(history).unwrap_or_default();
        assert!(messages.len() >= 8, "{history}");
    }
}
