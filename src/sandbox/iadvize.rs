//! Simulated iAdvize REST API 2.0: a handful of operators, two groups and
//! three skills held in memory, answered with the documented envelope,
//! filters and pagination, behind the `X-API-Key` header. Every few seconds
//! an operator's live availability changes (a chat starts or ends, someone
//! goes on a break, logs out or back in), so `WatchAgentAvailability` has
//! something to show. Statistics, conversations, transactions, satisfactions
//! and call meetings are in `super::iadvize_reports`.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono_tz::Tz;
use rand::Rng;
use serde_json::{Map, Value, json};
use tracing::debug;

use super::iadvize_reports::{self, Reports};

/// The API key the simulation accepts.
pub const SANDBOX_API_KEY: &str = "sandbox-iadvize-api-key";

/// Operator fields and how their form values are read.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Flag,
    Int,
    Texts,
    Ints,
}

const OPERATOR_FIELDS: &[(&str, Kind)] = &[
    ("name", Kind::Text),
    ("first_name", Kind::Text),
    ("pseudo", Kind::Text),
    ("email", Kind::Text),
    ("external_id", Kind::Text),
    ("role", Kind::Text),
    ("roles", Kind::Texts),
    ("chat_enabled", Kind::Flag),
    ("call_enabled", Kind::Flag),
    ("video_enabled", Kind::Flag),
    ("chat_max_number", Kind::Int),
    ("chat_and_call", Kind::Flag),
    ("chat_priority", Kind::Int),
    ("call_priority", Kind::Int),
    ("video_priority", Kind::Int),
    ("language_list", Kind::Texts),
    ("language_admin", Kind::Text),
    ("group_id", Kind::Int),
    ("website_list", Kind::Ints),
    ("skill_list", Kind::Ints),
    ("sso_key", Kind::Text),
];
const GROUP_FIELDS: &[(&str, Kind)] = &[
    ("name", Kind::Text),
    ("parent_id", Kind::Int),
    ("operator_list", Kind::Ints),
];
const WEBSITE_FIELDS: &[(&str, Kind)] = &[
    ("url", Kind::Text),
    ("label", Kind::Text),
    ("client_id", Kind::Int),
    ("currency", Kind::Text),
    ("language_admin", Kind::Text),
    ("timezone", Kind::Text),
];
const VISITOR_FIELDS: &[(&str, Kind)] = &[
    ("unique_id", Kind::Text),
    ("external_id", Kind::Text),
    ("lastname", Kind::Text),
    ("firstname", Kind::Text),
    ("address", Kind::Text),
    ("city", Kind::Text),
    ("zip", Kind::Text),
    ("country", Kind::Text),
    ("phone", Kind::Text),
    ("email", Kind::Text),
    ("browser", Kind::Text),
    ("website_id", Kind::Ints),
];
const SKILL_FIELDS: &[(&str, Kind)] = &[
    ("name", Kind::Text),
    ("order", Kind::Int),
    ("parent_id", Kind::Int),
];

#[derive(Debug, Clone, Copy, Default)]
struct Slots {
    enabled: bool,
    used: i64,
    max: i64,
    /// The operator made themself available on this channel.
    ready: bool,
}

impl Slots {
    fn json(&self, connected: bool) -> Value {
        let busy = self.used >= self.max;
        json!({
            "enabled": self.enabled,
            "slot_number": self.used,
            "slot_max_number": self.max,
            "busy": busy,
            "available": connected && self.enabled && self.ready && !busy,
        })
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Live {
    connected: bool,
    chat: Slots,
    call: Slots,
    video: Slots,
}

impl Live {
    fn json(&self, id: i64) -> Value {
        json!({
            "id": id,
            "connected": self.connected,
            "chat": self.chat.json(self.connected),
            "call": self.call.json(self.connected),
            "video": self.video.json(self.connected),
        })
    }

    fn available(&self) -> bool {
        [self.chat, self.call, self.video]
            .iter()
            .any(|s| self.connected && s.enabled && s.ready && s.used < s.max)
    }
}

struct SimState {
    operators: BTreeMap<i64, Map<String, Value>>,
    live: BTreeMap<i64, Live>,
    groups: BTreeMap<i64, Map<String, Value>>,
    skills: BTreeMap<i64, Map<String, Value>>,
    clients: BTreeMap<i64, Map<String, Value>>,
    websites: BTreeMap<i64, Map<String, Value>>,
    tags: BTreeMap<i64, Map<String, Value>>,
    visitors: BTreeMap<i64, Map<String, Value>>,
    next_id: i64,
    next_conversation: i64,
}

#[derive(Clone)]
pub struct IadvizeSim {
    state: Arc<Mutex<SimState>>,
    /// Made up once; read only.
    reports: Arc<Reports>,
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl IadvizeSim {
    /// A simulation writing its dates on the clock of `timezone` (the
    /// `vendors.iadvize.timezone` switchboard reads them in).
    pub fn new(timezone: Tz) -> Self {
        let operator = |id: i64, name: &str, first: &str, group: Option<i64>, skills: &[i64]| {
            object(json!({
                "id": id, "name": name, "first_name": first, "pseudo": first,
                "email": format!("{}.{}@example.com", first.to_lowercase(), name.to_lowercase()),
                "external_id": format!("odigo-{id}"), "role": "operator", "roles": ["operator"],
                "chat_enabled": true, "call_enabled": true, "video_enabled": false,
                "chat_max_number": 3, "chat_and_call": false,
                "chat_priority": 10, "call_priority": 0, "video_priority": 0,
                "language_list": ["fr", "en"], "language_admin": "fr",
                "group_id": group, "website_list": [1, 2], "skill_list": skills,
                "sso_key": format!("sso-{id}"),
            }))
        };
        let operators = BTreeMap::from([
            (101, operator(101, "Martin", "Julie", None, &[])),
            (102, operator(102, "Bernard", "Lucas", None, &[])),
            (103, operator(103, "Dubois", "Emma", Some(1984), &[11])),
            (104, operator(104, "Moreau", "Hugo", Some(1984), &[11, 12])),
            (105, operator(105, "Laurent", "Chloe", Some(1985), &[13])),
        ]);
        let live = operators
            .keys()
            .map(|id| {
                let connected = *id != 105;
                let live = Live {
                    connected,
                    chat: Slots {
                        enabled: true,
                        used: id % 2,
                        max: 3,
                        ready: connected,
                    },
                    call: Slots {
                        enabled: true,
                        used: 0,
                        max: 1,
                        ready: *id == 102,
                    },
                    video: Slots {
                        enabled: false,
                        used: 0,
                        max: 1,
                        ready: false,
                    },
                };
                (*id, live)
            })
            .collect();
        let groups = BTreeMap::from([
            (
                1984,
                object(
                    json!({"id": 1984, "name": "Support", "created_at": "2024-03-01 09:00:00", "parent_id": null, "operator_list": [103, 104], "parent_list": []}),
                ),
            ),
            (
                1985,
                object(
                    json!({"id": 1985, "name": "Sales", "created_at": "2024-03-02 09:00:00", "parent_id": 1984, "operator_list": [105], "parent_list": [1984]}),
                ),
            ),
        ]);
        let skills = BTreeMap::from([
            (
                11,
                object(
                    json!({"id": 11, "name": "Espresso machines", "order": 1, "created_at": "2024-03-01 10:00:00", "parent_id": null, "operator_list": [103, 104]}),
                ),
            ),
            (
                12,
                object(
                    json!({"id": 12, "name": "Repairs", "order": 2, "created_at": "2024-03-01 10:05:00", "parent_id": 11, "operator_list": [104]}),
                ),
            ),
            (
                13,
                object(
                    json!({"id": 13, "name": "Wholesale", "order": 3, "created_at": "2024-03-02 11:00:00", "parent_id": null, "operator_list": [105]}),
                ),
            ),
        ]);
        // The websites (1 and 2) conversations happen on, and the tags (1 to
        // 4) and visitors (560 to 579) they carry, as the reports name them.
        let clients = BTreeMap::from([
            (
                1,
                object(json!({"id": 1, "lang": "fr", "premium_enabled": true})),
            ),
            (
                2,
                object(json!({"id": 2, "lang": "en", "premium_enabled": false})),
            ),
        ]);
        let website = |id: i64, url: &str, label: &str, client: i64, language: &str| {
            object(json!({
                "id": id, "url": url, "label": label, "client_id": client,
                "currency": "EUR", "language_admin": language, "timezone": "Europe/Paris",
            }))
        };
        let websites = BTreeMap::from([
            (1, website(1, "https://shop.example.com/", "Shop", 1, "fr")),
            (
                2,
                website(2, "https://pro.example.com/", "Pro shop", 1, "fr"),
            ),
            (
                3,
                website(3, "https://shop.example.co.uk/", "UK shop", 2, "en"),
            ),
        ]);
        let tags = ["vip", "complaint", "order", "returning"]
            .iter()
            .zip(1..)
            .map(|(name, id)| {
                let websites = if id % 2 == 0 {
                    json!([1, 2])
                } else {
                    json!([1])
                };
                (
                    id,
                    object(json!({"id": id, "name": name, "website_id": websites})),
                )
            })
            .collect();
        let visitors = (560..580)
            .map(|id: i64| {
                let (first, last) = [("Alice", "Petit"), ("Paul", "Roux"), ("Lea", "Blanc")]
                    [(id % 3) as usize];
                let visitor = object(json!({
                    "id": id,
                    "unique_id": iadvize_reports::visitor_uid(id),
                    "external_id": format!("customer-{id}"),
                    "lastname": last, "firstname": first,
                    "address": format!("{} rue de la Paix", id - 550),
                    "city": "Nantes", "zip": "44000", "country": "France",
                    "phone": format!("+33 6 12 34 {:02} {:02}", id % 100, id % 7),
                    "email": format!("{}.{}.{id}@example.com", first.to_lowercase(), last.to_lowercase()),
                    "browser": if id % 2 == 0 { "Firefox" } else { "Chrome" },
                    "website_id": [1 + id % 2],
                    "created_at": format!("2024-03-{:02} 10:00:00", 1 + id % 20),
                }));
                (id, visitor)
            })
            .collect();
        Self {
            state: Arc::new(Mutex::new(SimState {
                operators,
                live,
                groups,
                skills,
                clients,
                websites,
                tags,
                visitors,
                next_id: 2000,
                next_conversation: 139,
            })),
            reports: Arc::new(Reports::new(timezone, chrono::Utc::now())),
        }
    }

    pub(super) fn reports(&self) -> &Reports {
        &self.reports
    }

    /// Every operator's id and full name, for statistics per operator.
    pub(super) fn operator_names(&self) -> Vec<(i64, String)> {
        let text = |operator: &Map<String, Value>, key: &str| {
            operator
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        self.state()
            .operators
            .iter()
            .map(|(id, operator)| {
                let name = format!(
                    "{} {}",
                    text(operator, "first_name"),
                    text(operator, "name")
                );
                (*id, name.trim().to_owned())
            })
            .collect()
    }

    fn state(&self) -> MutexGuard<'_, SimState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/operator", get(list_operators).post(create_operator))
            .route("/operator/live", get(list_live))
            .route(
                "/operator/{id}",
                get(get_operator)
                    .put(update_operator)
                    .delete(delete_operator),
            )
            .route("/operator/{id}/live", get(get_live).put(set_live))
            .route("/operator/{id}/statistic", get(statistic))
            .route("/operator/{id}/profile", get(profile))
            .route("/group", get(list_groups).post(create_group))
            .route(
                "/group/{id}",
                get(get_group).put(update_group).delete(delete_group),
            )
            .route("/skill", get(list_skills).post(create_skill))
            .route(
                "/skill/{id}",
                get(get_skill).put(update_skill).delete(delete_skill),
            )
            .route("/client", get(list_clients))
            .route("/client/{id}", get(get_client))
            .route("/website", get(list_websites))
            .route("/website/{id}", get(get_website).put(update_website))
            .route("/tag", get(list_tags).post(create_tags))
            .route("/tag/{id}", get(get_tag))
            .route("/visitor", get(list_visitors).post(create_visitor))
            .route(
                "/visitor/{id}",
                get(get_visitor).put(update_visitor).delete(delete_visitor),
            )
            .route("/odigocallback/pickup", post(odigo_pickup))
            .route("/odigocallback/hangup", post(odigo_hangup))
            .merge(iadvize_reports::routes())
            .layer(middleware::from_fn(check_key))
            .with_state(self.clone())
    }

    /// Changes one operator's availability every `pace`, for ever.
    pub async fn simulate(self, pace: Duration) {
        loop {
            tokio::time::sleep(pace).await;
            self.change_one();
        }
    }

    /// A chat starts or ends, someone takes a break, logs out or back in.
    fn change_one(&self) {
        let mut state = self.state();
        let ids: Vec<i64> = state.live.keys().copied().collect();
        if ids.is_empty() {
            return;
        }
        let mut rng = rand::rng();
        let id = ids[rng.random_range(0..ids.len())];
        let Some(live) = state.live.get_mut(&id) else {
            return;
        };
        if !live.connected {
            live.connected = true;
            live.chat.ready = true;
        } else {
            match rng.random_range(0..10) {
                0..=3 => live.chat.used = (live.chat.used + 1).min(live.chat.max),
                4..=6 => live.chat.used = (live.chat.used - 1).max(0),
                7 => live.chat.ready = !live.chat.ready,
                8 => live.call.ready = !live.call.ready,
                _ => {
                    live.connected = false;
                    for slots in [&mut live.chat, &mut live.call, &mut live.video] {
                        slots.used = 0;
                        slots.ready = false;
                    }
                }
            }
        }
        debug!(operator_id = id, "sandbox iadvize availability changed");
    }
}

impl Default for IadvizeSim {
    fn default() -> Self {
        Self::new(chrono_tz::UTC)
    }
}

// ---- answers ----

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

pub(super) fn success(data: Value) -> Response {
    answer(
        StatusCode::OK,
        json!({ "meta": { "status": "success" }, "data": data }),
    )
}

pub(super) fn fail(status: StatusCode, message: String) -> Response {
    answer(
        status,
        json!({ "meta": { "status": "fail", "message": message } }),
    )
}

/// A `fail` answer not yet sent (small, unlike a `Response`).
pub(super) struct Fail(pub(super) StatusCode, pub(super) String);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        fail(self.0, self.1)
    }
}

pub(super) fn unknown(resource: &str, id: i64) -> Response {
    fail(
        StatusCode::NOT_FOUND,
        format!("Unknown '{resource}' with 'id' {id}."),
    )
}

async fn check_key(request: Request, next: Next) -> Response {
    let key = request
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok());
    if key == Some(SANDBOX_API_KEY) {
        next.run(request).await
    } else {
        answer(
            StatusCode::FORBIDDEN,
            json!({ "meta": { "status": "error", "message": "Forbidden" } }),
        )
    }
}

/// Pages `items` as iAdvize does (`page` from 1, `limit` 20 by default, 100
/// at most).
pub(super) fn paged(items: Vec<Value>, query: &BTreeMap<String, String>) -> Response {
    let number = |key: &str, default: usize| {
        query
            .get(key)
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| *v > 0)
            .unwrap_or(default)
    };
    let limit = number("limit", 20).min(100);
    let page = number("page", 1);
    let count = items.len();
    let pages = count.div_ceil(limit).max(1);
    let data: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    answer(
        StatusCode::OK,
        json!({
            "meta": { "status": "success" },
            "data": data,
            "pagination": { "page": page, "pages": pages, "limit": limit, "count": count },
        }),
    )
}

// ---- forms ----

/// Reads a form-encoded body into field values typed by `fields`; lists
/// come as `key[]=a&key[]=b`, an empty list as `key=`.
fn read_form(body: &[u8], fields: &[(&str, Kind)]) -> Result<Map<String, Value>, Fail> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        Fail(
            StatusCode::BAD_REQUEST,
            "Request body is not valid.".to_owned(),
        )
    })?;
    let mut values = Map::new();
    let invalid = |key: &str| {
        Fail(
            StatusCode::BAD_REQUEST,
            format!("Value of field '{key}' is not valid."),
        )
    };
    for (key, raw) in pairs {
        let (name, is_item) = match key.strip_suffix("[]") {
            Some(name) => (name.to_owned(), true),
            None => (key.clone(), false),
        };
        let Some((_, kind)) = fields.iter().find(|(f, _)| *f == name) else {
            // PHP ignores what it does not know.
            continue;
        };
        let value = match kind {
            Kind::Text => Value::String(raw),
            Kind::Flag => match raw.as_str() {
                "1" | "true" => Value::Bool(true),
                "0" | "false" => Value::Bool(false),
                _ => return Err(invalid(&name)),
            },
            Kind::Int => raw
                .parse::<i64>()
                .map(|n| {
                    if n == 0 && name.ends_with("_id") {
                        Value::Null
                    } else {
                        json!(n)
                    }
                })
                .map_err(|_| invalid(&name))?,
            Kind::Texts | Kind::Ints => {
                let list = values
                    .entry(name.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if is_item {
                    let item = match kind {
                        Kind::Ints => json!(raw.parse::<i64>().map_err(|_| invalid(&name))?),
                        _ => Value::String(raw),
                    };
                    if let Value::Array(items) = list {
                        items.push(item);
                    }
                } else if !raw.is_empty() {
                    return Err(invalid(&name));
                }
                continue;
            }
        };
        values.insert(name, value);
    }
    Ok(values)
}

fn require(values: &Map<String, Value>, fields: &[&str]) -> Result<(), Fail> {
    for field in fields {
        if values
            .get(*field)
            .is_none_or(|v| v.as_str().is_some_and(str::is_empty))
        {
            return Err(Fail(
                StatusCode::BAD_REQUEST,
                format!("Field '{field}' is missing."),
            ));
        }
    }
    Ok(())
}

fn with_link(mut map: Map<String, Value>, resource: &str, id: i64) -> Value {
    map.insert("_link".to_owned(), json!(format!("/{resource}/{id}")));
    Value::Object(map)
}

// ---- operators ----

fn int(value: Option<&Value>) -> Option<i64> {
    value.and_then(Value::as_i64)
}

fn ints(value: Option<&Value>) -> Vec<i64> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

/// `*` matches any characters; otherwise the whole name must match.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.to_lowercase(), text.to_lowercase());
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text.as_str();
    for (index, part) in parts.iter().enumerate() {
        if index == 0 {
            match rest.strip_prefix(part) {
                Some(after) => rest = after,
                None => return false,
            }
        } else if index == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Whether an operator passes the documented `filters[...]`.
fn matches(
    id: i64,
    operator: &Map<String, Value>,
    live: &Live,
    query: &BTreeMap<String, String>,
) -> bool {
    let filter = |name: &str| query.get(&format!("filters[{name}]"));
    let number = |name: &str| filter(name).and_then(|v| v.parse::<i64>().ok());
    let websites = ints(operator.get("website_list"));
    if number("id").is_some_and(|f| f != id)
        || number("group_id").is_some_and(|f| int(operator.get("group_id")) != Some(f))
        || number("website_id").is_some_and(|f| !websites.contains(&f))
        || number("skill_id").is_some_and(|f| !ints(operator.get("skill_list")).contains(&f))
    {
        return false;
    }
    if let Some(list) = filter("website_list") {
        let wanted: Vec<i64> = list
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        if !wanted.iter().any(|w| websites.contains(w)) {
            return false;
        }
    }
    if let Some(name) = filter("name") {
        let own = operator.get("name").and_then(Value::as_str).unwrap_or("");
        if !wildcard_match(name, own) {
            return false;
        }
    }
    if filter("external_id")
        .is_some_and(|f| operator.get("external_id").and_then(Value::as_str) != Some(f.as_str()))
    {
        return false;
    }
    match filter("connected").map(String::as_str) {
        Some("1") => live.connected,
        Some("0") => !live.connected,
        _ => true,
    }
}

async fn list_operators(
    State(sim): State<IadvizeSim>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let state = sim.state();
    let full = query.get("full").is_some_and(|v| v == "1" || v == "true");
    let items = state
        .operators
        .iter()
        .filter(|(id, operator)| {
            matches(**id, operator, &state.live.get(id).copied().unwrap_or_default(), &query)
        })
        .map(|(id, operator)| {
            if full {
                with_link(operator.clone(), "operator", *id)
            } else {
                json!({ "id": id, "name": operator.get("name"), "_link": format!("/operator/{id}") })
            }
        })
        .collect();
    paged(items, &query)
}

async fn list_live(
    State(sim): State<IadvizeSim>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let state = sim.state();
    let named = |key: &str| query.contains_key(&format!("filters[{key}]"));
    let items = state
        .operators
        .iter()
        .filter_map(|(id, operator)| {
            let live = state.live.get(id).copied().unwrap_or_default();
            // The documented quirks: only available operators unless
            // `connected` is given, and operators in a group or with skills
            // only when the filter names one.
            let grouped = int(operator.get("group_id")).is_some()
                || !ints(operator.get("skill_list")).is_empty();
            let shown = (named("connected") || live.available())
                && (!grouped || named("group_id") || named("skill_id"))
                && matches(*id, operator, &live, &query);
            shown.then(|| live.json(*id))
        })
        .collect();
    paged(items, &query)
}

async fn get_operator(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    match sim.state().operators.get(&id) {
        Some(operator) => success(with_link(operator.clone(), "operator", id)),
        None => unknown("operator", id),
    }
}

async fn create_operator(State(sim): State<IadvizeSim>, body: Bytes) -> Response {
    let values = match read_form(&body, OPERATOR_FIELDS)
        .and_then(|v| require(&v, &["name", "email"]).map(|()| v))
    {
        Ok(values) => values,
        Err(refusal) => return refusal.into_response(),
    };
    let mut state = sim.state();
    state.next_id += 1;
    let id = state.next_id;
    let mut operator = object(json!({
        "id": id, "role": "operator", "roles": ["operator"], "chat_enabled": true,
        "call_enabled": false, "video_enabled": false, "chat_max_number": 3,
        "chat_and_call": false, "chat_priority": 0, "call_priority": 0, "video_priority": 0,
        "language_list": [], "language_admin": "en", "group_id": null, "website_list": [],
        "skill_list": [], "first_name": "", "pseudo": "", "external_id": "", "sso_key": "",
    }));
    operator.extend(values);
    state.operators.insert(id, operator.clone());
    state.live.insert(id, Live::default());
    success(with_link(operator, "operator", id))
}

async fn update_operator(
    State(sim): State<IadvizeSim>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let values = match read_form(&body, OPERATOR_FIELDS) {
        Ok(values) => values,
        Err(refusal) => return refusal.into_response(),
    };
    let mut state = sim.state();
    let Some(operator) = state.operators.get_mut(&id) else {
        return unknown("operator", id);
    };
    operator.extend(values);
    let operator = operator.clone();
    success(with_link(operator, "operator", id))
}

async fn delete_operator(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    let mut state = sim.state();
    if state.operators.remove(&id).is_none() {
        return unknown("operator", id);
    }
    state.live.remove(&id);
    answer(StatusCode::OK, json!({ "meta": { "status": "success" } }))
}

async fn get_live(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    match sim.state().live.get(&id) {
        Some(live) => success(live.json(id)),
        None => unknown("operator", id),
    }
}

async fn set_live(State(sim): State<IadvizeSim>, Path(id): Path<i64>, body: Bytes) -> Response {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "Request body is not valid.".to_owned(),
        );
    };
    let mut state = sim.state();
    let Some(live) = state.live.get_mut(&id) else {
        return unknown("operator", id);
    };
    let mut messages = Vec::new();
    for (key, value) in pairs {
        let flag = match value.as_str() {
            "1" => true,
            "0" => false,
            _ => {
                return fail(
                    StatusCode::BAD_REQUEST,
                    format!("Value of field '{key}' is not valid."),
                );
            }
        };
        if key == "connected" {
            if flag {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "Value of field 'connected' is not valid.".to_owned(),
                );
            }
            live.connected = false;
            for slots in [&mut live.chat, &mut live.call, &mut live.video] {
                slots.ready = false;
            }
            messages.push("Operator is now disconnected.".to_owned());
            continue;
        }
        let (channel, slots) = match key.as_str() {
            "chat[available]" => ("chat", &mut live.chat),
            "call[available]" => ("call", &mut live.call),
            "video[available]" => ("video", &mut live.video),
            _ => continue,
        };
        if flag && !live.connected {
            return fail(
                StatusCode::CONFLICT,
                "Operator is not connected.".to_owned(),
            );
        }
        slots.ready = flag;
        messages.push(format!(
            "Operator is now {} for {channel} channel.",
            if flag { "available" } else { "unavailable" }
        ));
    }
    answer(
        StatusCode::OK,
        json!({ "meta": { "status": "success", "message": messages.join(" ") } }),
    )
}

async fn statistic(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    if !sim.state().operators.contains_key(&id) {
        return unknown("operator", id);
    }
    success(json!({
        "id": id,
        "conversation_number": 480 + id % 200,
        "satisfaction_global_rate": 0.8 + (id % 10) as f64 / 100.0,
        "experience": 5000 + id * 3,
    }))
}

async fn profile(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    let state = sim.state();
    let Some(operator) = state.operators.get(&id) else {
        return unknown("operator", id);
    };
    success(json!({
        "user_id": id,
        "status": "Je suis disponible pour vous aider",
        "description": format!("{} knows espresso machines inside out.", operator.get("first_name").and_then(Value::as_str).unwrap_or("")),
        "facebook": "",
        "twitter": "",
        "city": "Nantes",
        "country": "France",
    }))
}

// ---- groups and skills ----

fn list_of(
    items: &BTreeMap<i64, Map<String, Value>>,
    resource: &str,
    query: &BTreeMap<String, String>,
    keep: impl Fn(&Map<String, Value>) -> bool,
) -> Response {
    let items = items
        .iter()
        .filter(|(_, item)| keep(item))
        .map(|(id, item)| with_link(item.clone(), resource, *id))
        .collect();
    paged(items, query)
}

fn filter_id(query: &BTreeMap<String, String>, name: &str) -> Option<i64> {
    query
        .get(&format!("filters[{name}]"))
        .and_then(|v| v.parse().ok())
}

async fn list_groups(
    State(sim): State<IadvizeSim>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let parent = filter_id(&query, "parent_id");
    list_of(&sim.state().groups, "group", &query, |group| {
        parent.is_none_or(|p| int(group.get("parent_id")) == Some(p))
    })
}

async fn list_skills(
    State(sim): State<IadvizeSim>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let parent = filter_id(&query, "parent_id");
    let operator = filter_id(&query, "operator_id");
    list_of(&sim.state().skills, "skill", &query, |skill| {
        parent.is_none_or(|p| int(skill.get("parent_id")) == Some(p))
            && operator.is_none_or(|o| ints(skill.get("operator_list")).contains(&o))
    })
}

/// Which collection a handler works on.
#[derive(Clone, Copy)]
enum Collection {
    Groups,
    Skills,
    Clients,
    Websites,
    Tags,
    Visitors,
}

impl Collection {
    fn resource(self) -> &'static str {
        match self {
            Collection::Groups => "group",
            Collection::Skills => "skill",
            Collection::Clients => "client",
            Collection::Websites => "website",
            Collection::Tags => "tag",
            Collection::Visitors => "visitor",
        }
    }

    fn fields(self) -> &'static [(&'static str, Kind)] {
        match self {
            Collection::Groups => GROUP_FIELDS,
            Collection::Skills => SKILL_FIELDS,
            Collection::Websites => WEBSITE_FIELDS,
            Collection::Visitors => VISITOR_FIELDS,
            // Read only, or written as JSON (tags).
            Collection::Clients | Collection::Tags => &[],
        }
    }

    fn items(self, state: &mut SimState) -> &mut BTreeMap<i64, Map<String, Value>> {
        match self {
            Collection::Groups => &mut state.groups,
            Collection::Skills => &mut state.skills,
            Collection::Clients => &mut state.clients,
            Collection::Websites => &mut state.websites,
            Collection::Tags => &mut state.tags,
            Collection::Visitors => &mut state.visitors,
        }
    }
}

fn get_item(sim: &IadvizeSim, collection: Collection, id: i64) -> Response {
    let mut state = sim.state();
    match collection.items(&mut state).get(&id) {
        Some(item) => success(with_link(item.clone(), collection.resource(), id)),
        None => unknown(collection.resource(), id),
    }
}

fn create_item(sim: &IadvizeSim, collection: Collection, body: &[u8]) -> Response {
    let values = match read_form(body, collection.fields())
        .and_then(|v| require(&v, &["name"]).map(|()| v))
    {
        Ok(values) => values,
        Err(refusal) => return refusal.into_response(),
    };
    let mut state = sim.state();
    state.next_id += 1;
    let id = state.next_id;
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let mut item =
        object(json!({ "id": id, "created_at": now, "parent_id": null, "operator_list": [] }));
    item.extend(values);
    collection.items(&mut state).insert(id, item.clone());
    success(with_link(item, collection.resource(), id))
}

fn update_item(sim: &IadvizeSim, collection: Collection, id: i64, body: &[u8]) -> Response {
    let values = match read_form(body, collection.fields()) {
        Ok(values) => values,
        Err(refusal) => return refusal.into_response(),
    };
    let mut state = sim.state();
    let Some(item) = collection.items(&mut state).get_mut(&id) else {
        return unknown(collection.resource(), id);
    };
    item.extend(values);
    let item = item.clone();
    success(with_link(item, collection.resource(), id))
}

fn delete_item(sim: &IadvizeSim, collection: Collection, id: i64) -> Response {
    let mut state = sim.state();
    match collection.items(&mut state).remove(&id) {
        Some(_) => answer(StatusCode::OK, json!({ "meta": { "status": "success" } })),
        None => unknown(collection.resource(), id),
    }
}

async fn get_group(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    get_item(&sim, Collection::Groups, id)
}
async fn create_group(State(sim): State<IadvizeSim>, body: Bytes) -> Response {
    create_item(&sim, Collection::Groups, &body)
}
async fn update_group(State(sim): State<IadvizeSim>, Path(id): Path<i64>, body: Bytes) -> Response {
    update_item(&sim, Collection::Groups, id, &body)
}
async fn delete_group(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    delete_item(&sim, Collection::Groups, id)
}
async fn get_skill(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    get_item(&sim, Collection::Skills, id)
}
async fn create_skill(State(sim): State<IadvizeSim>, body: Bytes) -> Response {
    create_item(&sim, Collection::Skills, &body)
}
async fn update_skill(State(sim): State<IadvizeSim>, Path(id): Path<i64>, body: Bytes) -> Response {
    update_item(&sim, Collection::Skills, id, &body)
}
async fn delete_skill(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    delete_item(&sim, Collection::Skills, id)
}

// ---- clients, websites, tags and visitors ----

async fn list_clients(
    State(sim): State<IadvizeSim>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    list_of(&sim.state().clients, "client", &query, |_| true)
}
async fn get_client(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    get_item(&sim, Collection::Clients, id)
}
async fn list_websites(
    State(sim): State<IadvizeSim>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    list_of(&sim.state().websites, "website", &query, |_| true)
}
async fn get_website(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    get_item(&sim, Collection::Websites, id)
}
async fn update_website(
    State(sim): State<IadvizeSim>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    update_item(&sim, Collection::Websites, id, &body)
}
async fn list_tags(
    State(sim): State<IadvizeSim>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let website = filter_id(&query, "website_id");
    // A tag's `website_id` is a list, or one id as the doc's create answer
    // writes it.
    list_of(&sim.state().tags, "tag", &query, |tag| {
        website.is_none_or(|w| {
            let websites = tag.get("website_id");
            int(websites) == Some(w) || ints(websites).contains(&w)
        })
    })
}
async fn get_tag(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    get_item(&sim, Collection::Tags, id)
}

/// `POST /tag`: a JSON array of `{name, website_id}`, all created or none.
async fn create_tags(State(sim): State<IadvizeSim>, body: Bytes) -> Response {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
        return Fail(
            StatusCode::BAD_REQUEST,
            "Request body is not valid.".to_owned(),
        )
        .into_response();
    };
    let mut new = Vec::new();
    for item in &items {
        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.trim().is_empty() {
            return fail(StatusCode::BAD_REQUEST, "Field 'name' is missing.".into());
        }
        let Some(website) = int(item.get("website_id")) else {
            return fail(
                StatusCode::BAD_REQUEST,
                "Field 'website_id' is missing.".into(),
            );
        };
        if !sim.state().websites.contains_key(&website) {
            return fail(
                StatusCode::BAD_REQUEST,
                "Value of field 'website_id' is not valid.".into(),
            );
        }
        new.push((name.to_owned(), website));
    }
    let mut state = sim.state();
    let created: Vec<Value> = new
        .into_iter()
        .map(|(name, website)| {
            state.next_id += 1;
            let id = state.next_id;
            let tag = object(json!({"id": id, "name": name, "website_id": website}));
            state.tags.insert(id, tag.clone());
            with_link(tag, "tag", id)
        })
        .collect();
    success(Value::Array(created))
}

async fn list_visitors(
    State(sim): State<IadvizeSim>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let text = |name: &str| query.get(&format!("filters[{name}]")).cloned();
    let (unique_id, external_id) = (text("unique_id"), text("external_id"));
    let website = filter_id(&query, "website_id");
    let matches = |visitor: &Map<String, Value>, key: &str, wanted: &Option<String>| {
        wanted.as_deref().is_none_or(|wanted| {
            wildcard_match(
                wanted,
                visitor.get(key).and_then(Value::as_str).unwrap_or_default(),
            )
        })
    };
    list_of(&sim.state().visitors, "visitor", &query, |visitor| {
        matches(visitor, "unique_id", &unique_id)
            && matches(visitor, "external_id", &external_id)
            && website.is_none_or(|w| ints(visitor.get("website_id")).contains(&w))
    })
}
async fn get_visitor(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    get_item(&sim, Collection::Visitors, id)
}
async fn create_visitor(State(sim): State<IadvizeSim>, body: Bytes) -> Response {
    let values = match read_form(&body, VISITOR_FIELDS) {
        Ok(values) => values,
        Err(refusal) => return refusal.into_response(),
    };
    let mut state = sim.state();
    state.next_id += 1;
    let id = state.next_id;
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let mut visitor = object(json!({
        "id": id,
        "unique_id": iadvize_reports::visitor_uid(id),
        "website_id": [],
        "created_at": now,
    }));
    visitor.extend(values);
    state.visitors.insert(id, visitor.clone());
    success(with_link(visitor, "visitor", id))
}
async fn update_visitor(
    State(sim): State<IadvizeSim>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    update_item(&sim, Collection::Visitors, id, &body)
}
async fn delete_visitor(State(sim): State<IadvizeSim>, Path(id): Path<i64>) -> Response {
    delete_item(&sim, Collection::Visitors, id)
}

// ---- Odigo callbacks ----

const ODIGO_FIELDS: &[(&str, Kind)] = &[
    ("operator_external_id", Kind::Text),
    ("website_id", Kind::Int),
    ("phone_number", Kind::Text),
];

fn odigo_call(sim: &IadvizeSim, body: &[u8]) -> Result<Map<String, Value>, Fail> {
    let values = read_form(body, ODIGO_FIELDS)?;
    require(
        &values,
        &["operator_external_id", "website_id", "phone_number"],
    )?;
    let external_id = values.get("operator_external_id").and_then(Value::as_str);
    let known = sim
        .state()
        .operators
        .values()
        .any(|o| o.get("external_id").and_then(Value::as_str) == external_id);
    if !known {
        return Err(Fail(
            StatusCode::NOT_FOUND,
            format!(
                "Unknown 'operator' with 'external_id' {}.",
                external_id.unwrap_or("")
            ),
        ));
    }
    Ok(values)
}

async fn odigo_pickup(State(sim): State<IadvizeSim>, body: Bytes) -> Response {
    let values = match odigo_call(&sim, &body) {
        Ok(values) => values,
        Err(refusal) => return refusal.into_response(),
    };
    let conversation_id = {
        let mut state = sim.state();
        state.next_conversation += 1;
        state.next_conversation
    };
    success(json!({
        "targeting_rule_id": 107,
        "website_id": values.get("website_id"),
        "conversation_id": conversation_id,
        "skill_id": null,
        "visitor_phone_number": values.get("phone_number"),
        "visitor_uid": format!("{:x}", conversation_id * 7_919_993),
    }))
}

async fn odigo_hangup(State(sim): State<IadvizeSim>, body: Bytes) -> Response {
    match odigo_call(&sim, &body) {
        Ok(_) => success(json!([])),
        Err(refusal) => refusal.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*uli*", "Julie"));
        assert!(wildcard_match("mar*", "Martin"));
        assert!(!wildcard_match("mar*", "Amar"));
        assert!(wildcard_match("*tin", "Martin"));
        assert!(wildcard_match("martin", "Martin"));
        assert!(!wildcard_match("mart", "Martin"));
    }

    #[test]
    fn forms_read_lists_the_php_way() {
        let values = read_form(
            b"name=Doe&website_list%5B%5D=1&website_list%5B%5D=2&skill_list=&chat_enabled=0",
            OPERATOR_FIELDS,
        )
        .unwrap_or_default();
        assert_eq!(values["name"], json!("Doe"));
        assert_eq!(values["website_list"], json!([1, 2]));
        assert_eq!(values["skill_list"], json!([]));
        assert_eq!(values["chat_enabled"], json!(false));
    }
}
