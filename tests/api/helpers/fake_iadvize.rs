//! A local HTTP server playing the iAdvize REST API 2.0: it answers every
//! documented route with the documentation's examples (as real JSON), pages
//! lists by `page` / `limit`, refuses a wrong `X-API-Key` with the documented
//! "Forbidden", and records every request it receives. Tests can script
//! answers per route (errors, outages, delays) and change the live
//! availability it serves.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// The key switchboard is configured with in these tests.
pub const IADVIZE_API_KEY: &str = "iadvize-test-key-5f0c2b9e7a41";

/// The documented operator fields, for ids 789, 456 and 123 (the ids of the
/// documentation's list example).
pub fn doc_operator(id: i64) -> Value {
    json!({
        "id": id,
        "name": "Doe",
        "first_name": "John",
        "pseudo": "Johnny",
        "email": format!("john.doe.{id}@example.com"),
        "external_id": format!("MyExternalId{id}"),
        "role": "manager",
        "roles": ["expert", "manager"],
        "chat_enabled": true,
        "call_enabled": false,
        "video_enabled": true,
        "chat_max_number": 4,
        "chat_and_call": false,
        "chat_priority": 10,
        "call_priority": 0,
        "video_priority": 10,
        "language_list": ["en", "fr"],
        "language_admin": "fr",
        "group_id": 1984,
        "website_list": [1, 2, 3],
        "skill_list": [12, 13],
        "sso_key": "sso-token-xyz",
        "_link": format!("/operator/{id}"),
    })
}

pub const DOC_OPERATOR_IDS: [i64; 3] = [789, 456, 123];

/// The documentation's `GET /operator/live` example.
pub fn doc_live_list() -> Value {
    json!([{
        "id": 456,
        "connected": true,
        "chat": { "enabled": true, "slot_number": 2, "slot_max_number": 4, "busy": false, "available": true },
        "call": { "enabled": false, "slot_number": 0, "slot_max_number": 1, "busy": false, "available": false },
        "video": { "enabled": false, "slot_number": 0, "slot_max_number": 1, "busy": false, "available": false }
    }])
}

/// The documentation's `GET /operator/123/live` example.
pub fn doc_live_one() -> Value {
    json!({
        "id": 123,
        "connected": false,
        "chat": { "enabled": false, "slot_number": 1, "slot_max_number": 2, "busy": false, "available": false },
        "call": { "enabled": true, "slot_number": 1, "slot_max_number": 1, "busy": true, "available": false },
        "video": { "enabled": false, "slot_number": 0, "slot_max_number": 1, "busy": false, "available": false }
    })
}

pub fn doc_group(id: i64) -> Value {
    json!({
        "id": id,
        "name": format!("Group {id}"),
        "created_at": "2013-08-22 14:12:45",
        "parent_id": 1987,
        "operator_list": [123, 456],
        "parent_list": [1987, 1],
        "_link": format!("/group/{id}"),
    })
}

pub fn doc_skill(id: i64) -> Value {
    json!({
        "id": id,
        "name": format!("Skill {id}"),
        "order": 2,
        "created_at": "2013-08-22 14:12:45",
        "parent_id": null,
        "operator_list": [123],
        "_link": format!("/skill/{id}"),
    })
}

/// The doc's "Conversation history types example", exactly as printed
/// (between braces, with the stray backtick), as the `history` string.
pub const DOC_HISTORY: &str = r#"{
  [5,"2016-02-16 11:24:21","http://test.com/"],
  [2,"2016-02-16 11:24:23","Hello",1455618264049],
  [3,"2016-02-16 11:24:31","The chat rule has been activated."],
  [1,"2016-02-16 11:24:43","Hello, how can I help you?",1455618283869],
  [2,"2016-02-16 11:25:26","I would like to know if my order: xxx has been sent",1455618327321],
  [1,"2016-02-16 11:25:45","I check it, thank you for your patience",1455618346030],
  [1,"2016-02-16 11:26:02","Your order has been shipped",1455618363054],
  [2,"2016-02-16 11:26:09","Thanks, goodbye",1455618370072],
  [1,"2016-02-16 11:26:17","Goodbye",1455618377364],
  [3,"2016-02-16 11:26:43","OPERATOR_CHAT_CLOSE"]`
}"#;

/// Conversation ids the fake knows (666 is the doc's).
pub const DOC_CONVERSATION_IDS: [i64; 3] = [666, 667, 668];

/// Every documented conversation field. 666 carries the doc's history as
/// printed; 667 the same messages as a JSON list; 668 as a JSON string.
pub fn doc_conversation(id: i64) -> Value {
    let messages = json!([
        [5, "2016-02-16 11:24:21", "http://test.com/"],
        [2, "2016-02-16 11:24:23", "Hello", 1455618264049_i64],
        [6, "2016-02-16 11:24:30", "http://img.png/"],
        [7, "2016-02-16 11:24:31", "http://img.png/"],
    ]);
    let history = match id {
        666 => json!(DOC_HISTORY),
        667 => messages,
        _ => json!(messages.to_string()),
    };
    json!({
        "id": id,
        "channel": "chat",
        "visitor_uid": "0a1572b7cc5027fe443f4203eaf0b98d4cbea6d313afa",
        "history": history,
        "operator_answer": true,
        "operator_closed": "1",
        "waitinglist": 0,
        "page_type": "product",
        "created_at": "2016-02-16 11:24:21",
        "closed_at": "2016-02-16 11:26:43",
        "website_id": 1,
        "operator_id": 123,
        "skill_id": "12",
        "tag_list": [3, "4"],
        "rule_id": 107,
        "xmpp_id": "6f1c3a62-1b7f-4c8e-9d2a-5e0b7c4d1f20",
        "_link": format!("/conversation/{id}"),
    })
}

pub const DOC_TRANSACTION_IDS: [i64; 3] = [123, 124, 125];

/// Every documented transaction field; 125 is linked to no conversation
/// and no operator (iAdvize null).
pub fn doc_transaction(id: i64) -> Value {
    let linked = id != 125;
    json!({
        "id": id,
        "external_id": format!("ORDER-{id}"),
        "visitor_uid": "0a1572b7cc5027fe443f4203eaf0b98d4cbea6d313afa",
        "visitor_email": "visitor@example.com",
        "amount": if linked { json!(129.9) } else { json!("45.50") },
        "created_at": "2016-02-16 11:30:00",
        "website_id": 1,
        "operator_id": if linked { json!(123) } else { Value::Null },
        "conversation_id": if linked { json!(666) } else { Value::Null },
        "_link": format!("/transaction/{id}"),
    })
}

pub const DOC_SATISFACTION_IDS: [i64; 2] = [123, 124];

/// Every documented satisfaction field, the delay note spelled `node_delay`
/// as in the doc.
pub fn doc_satisfaction(id: i64) -> Value {
    json!({
        "id": id,
        "note_welcome": 100,
        "note_resolution": "75.5",
        "node_delay": 50.0,
        "comment": "Quick and helpful",
        "created_at": "2016-02-16 11:27:00",
        "website_id": 1,
        "operator_id": 123,
        "conversation_id": 666,
        "_link": format!("/satisfaction/{id}"),
    })
}

pub const DOC_CALL_MEETING_IDS: [i64; 2] = [123, 124];

/// Every documented call meeting field; the rule and skill ids are strings
/// as documented.
pub fn doc_call_meeting(id: i64) -> Value {
    json!({
        "id": id,
        "phone_number": "0614037735",
        "visitor_uid": "0a1572b7cc5027fe443f4203eaf0b98d4cbea6d313afa",
        "status": if id == 123 { "pending" } else { "done" },
        "start_at": "2015-03-31 19:00:00",
        "website_id": 1,
        "targeting_rule_id": "107",
        "skill_id": "12",
        "_link": format!("/callmeeting/{id}"),
    })
}

/// The documented client fields (the doc lists them, shows no example).
pub fn doc_client(id: i64) -> Value {
    json!({ "id": id, "lang": "fr", "premium_enabled": id == 1, "_link": format!("/client/{id}") })
}

pub const DOC_CLIENT_IDS: [i64; 2] = [1, 2];

/// The documented website fields.
pub fn doc_website(id: i64) -> Value {
    json!({
        "id": id,
        "url": format!("https://www.example{id}.com/"),
        "label": format!("Website {id}"),
        "client_id": 1,
        "currency": "EUR",
        "language_admin": "fr",
        "timezone": "Europe/Paris",
        "_link": format!("/website/{id}"),
    })
}

pub const DOC_WEBSITE_IDS: [i64; 2] = [1, 2];

/// A tag as the doc's create answer shows one (one `website_id`).
pub fn doc_tag(id: i64) -> Value {
    json!({ "id": id, "name": if id == 123 { "my_value" } else { "my_value_2" }, "website_id": 1, "_link": format!("/tag/{id}") })
}

pub const DOC_TAG_IDS: [i64; 2] = [123, 124];

/// The 14 documented visitor fields (`website_id` a list).
pub fn doc_visitor(id: i64) -> Value {
    json!({
        "id": id,
        "unique_id": "0a1572b7cc5027fe443f4203eaf0b98d4cbea6d313afa",
        "external_id": format!("MyExternalId{id}"),
        "lastname": "Doe",
        "firstname": "John",
        "address": "1 rue de la Paix",
        "city": "Nantes",
        "zip": "44000",
        "country": "France",
        "phone": "0614037735",
        "email": "john.doe@example.com",
        "browser": "Firefox",
        "website_id": [1, 2],
        "created_at": "2016-02-16 11:24:21",
        "_link": format!("/visitor/{id}"),
    })
}

pub const DOC_VISITOR_IDS: [i64; 2] = [560, 561];

/// The fake's GET /statistic answer, in the shapes switchboard reads
/// (the doc shows none): not grouped, `{indicator: value}`; grouped by
/// operator, a list of `{id, name, indicator: value}`; with a granularity,
/// `{indicator: {period: value}}`. The n-th indicator asked is worth
/// 10 × n (operator 456 adds 1; the second period adds 2).
fn doc_statistics(received: &Received) -> Value {
    let indicators: Vec<String> = received
        .query("filters[indicators]")
        .unwrap_or("contact_number")
        .split(',')
        .map(str::to_owned)
        .collect();
    let periods: Option<[&str; 2]> = match received.query("filters[granularity]") {
        Some("hour") => Some(["2017-03-01 10:00:00", "2017-03-01 11:00:00"]),
        Some("day") => Some(["2017-03-01", "2017-03-02"]),
        Some("month") => Some(["2017-03", "2017-04"]),
        _ => None,
    };
    let block = |extra: f64| {
        let mut block = serde_json::Map::new();
        for (index, name) in indicators.iter().enumerate() {
            let value = 10.0 * (index + 1) as f64 + extra;
            block.insert(
                name.clone(),
                match periods {
                    Some([first, second]) => json!({ first: value, second: value + 2.0 }),
                    None => json!(value),
                },
            );
        }
        block
    };
    match received.query("filters[resource]") {
        None => Value::Object(block(0.0)),
        Some(_) => {
            let row = |id: i64, name: &str, extra: f64| {
                let mut row = block(extra);
                row.insert("id".into(), json!(id));
                row.insert("name".into(), json!(name));
                Value::Object(row)
            };
            json!([row(123, "John Doe", 0.0), row(456, "Jane Roe", 1.0)])
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    pub api_key: Option<String>,
    pub content_type: String,
    /// Decoded form-body pairs, in order (keys repeat for lists).
    pub form: Vec<(String, String)>,
    /// The body as sent (JSON bodies: `POST /tag`).
    pub body: Vec<u8>,
}

impl Received {
    pub fn query(&self, key: &str) -> Option<&str> {
        pair(&self.query, key)
    }
}

fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A scripted answer for one route.
#[derive(Debug, Clone)]
struct Scripted {
    method: Method,
    path: String,
    status: u16,
    body: String,
    delay: Option<Duration>,
    /// How many more times; `None` = until cleared.
    remaining: Option<usize>,
}

struct Inner {
    received: Vec<Received>,
    scripted: Vec<Scripted>,
    live: Value,
    /// Each `/operator/live` request adds one to the chat `slot_number` of
    /// every operator served, so that every poll is a change.
    ticking: bool,
    live_polls: i64,
}

#[derive(Clone)]
pub struct FakeIadvize {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeIadvize {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/api/2", listener.local_addr().expect("addr"));
        let fake = Self {
            url,
            inner: Arc::new(Mutex::new(Inner {
                received: Vec::new(),
                scripted: Vec::new(),
                live: doc_live_list(),
                ticking: false,
                live_polls: 0,
            })),
        };
        let router = Router::new().fallback(answer).with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    /// Answers `method path` (path after `/api/2`, e.g. "/operator/456")
    /// with `status` and `body` from now on.
    pub fn answer(&self, method: Method, path: &str, status: u16, body: &str) {
        self.script(method, path, status, body, None, None);
    }

    /// Like [`answer`] for the next `times` requests only.
    pub fn answer_times(&self, method: Method, path: &str, status: u16, body: &str, times: usize) {
        self.script(method, path, status, body, None, Some(times));
    }

    /// Answers the documented way, but only after `delay`.
    pub fn delay(&self, method: Method, path: &str, delay: Duration) {
        self.script(method, path, 0, "", Some(delay), None);
    }

    fn script(
        &self,
        method: Method,
        path: &str,
        status: u16,
        body: &str,
        delay: Option<Duration>,
        remaining: Option<usize>,
    ) {
        self.inner.lock().unwrap().scripted.push(Scripted {
            method,
            path: path.to_owned(),
            status,
            body: body.to_owned(),
            delay,
            remaining,
        });
    }

    /// Back to the documented answers.
    pub fn clear_answers(&self) {
        self.inner.lock().unwrap().scripted.clear();
    }

    /// What `/operator/live` serves (a JSON list of operators).
    pub fn set_live(&self, live: Value) {
        self.inner.lock().unwrap().live = live;
    }

    /// Makes every `/operator/live` request a change (see `Inner::ticking`).
    pub fn tick_live(&self) {
        self.inner.lock().unwrap().ticking = true;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Requests received for `method path`.
    pub fn requests(&self, method: Method, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    /// The only request received, failing when there are others.
    pub fn single(&self) -> Received {
        let received = self.received();
        assert_eq!(received.len(), 1, "exactly one request: {received:#?}");
        received.into_iter().next().unwrap()
    }

    pub fn live_polls(&self) -> usize {
        self.requests(Method::GET, "/operator/live").len()
    }
}

fn envelope(data: Value) -> Value {
    json!({ "meta": { "status": "success" }, "data": data })
}

fn fail(message: String) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        json!({ "meta": { "status": "fail", "message": message } }),
    )
}

/// Pages `items` by the request's `page` and `limit` (20 by default).
fn paged(items: Vec<Value>, received: &Received) -> Value {
    let number = |key: &str, default: usize| {
        received
            .query(key)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let (page, limit) = (number("page", 1).max(1), number("limit", 20).max(1));
    let count = items.len();
    let data: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    json!({
        "meta": { "status": "success" },
        "data": data,
        "pagination": { "page": page, "pages": count.div_ceil(limit).max(1), "limit": limit, "count": count },
    })
}

/// The documented answer of a request.
fn documented(fake: &FakeIadvize, received: &Received) -> (StatusCode, Value) {
    let ok = |value: Value| (StatusCode::OK, value);
    let path = received.path.trim_start_matches('/');
    let parts: Vec<&str> = path.split('/').collect();
    let id = parts.get(1).and_then(|p| p.parse::<i64>().ok());
    let unknown = |resource: &str, id: i64| fail(format!("Unknown '{resource}' with 'id' {id}."));
    let full = received.query("full") == Some("1");
    match (&received.method, parts.as_slice()) {
        (&Method::GET, ["operator"]) => {
            let items = DOC_OPERATOR_IDS
                .iter()
                .map(|id| {
                    if full {
                        doc_operator(*id)
                    } else {
                        json!({ "id": id, "_link": format!("/operator/{id}") })
                    }
                })
                .collect();
            ok(paged(items, received))
        }
        (&Method::POST, ["operator"]) => ok(envelope(doc_operator(124))),
        (&Method::GET, ["operator", "live"]) => {
            let mut inner = fake.inner.lock().unwrap();
            inner.live_polls += 1;
            let mut live = inner.live.clone();
            if inner.ticking
                && let Some(items) = live.as_array_mut()
            {
                for item in items {
                    item["chat"]["slot_number"] = json!(inner.live_polls);
                }
            }
            let items = live.as_array().cloned().unwrap_or_default();
            // The doc's GET /operator/live example has no `pagination`.
            let mut page = paged(items, received);
            if let Some(object) = page.as_object_mut() {
                object.remove("pagination");
            }
            ok(page)
        }
        (_, ["operator", _, ..]) if id.is_some_and(|id| !DOC_OPERATOR_IDS.contains(&id)) => {
            unknown("operator", id.unwrap_or_default())
        }
        (&Method::GET, ["operator", _]) => ok(envelope(doc_operator(id.unwrap_or_default()))),
        (&Method::PUT, ["operator", _]) => ok(envelope(doc_operator(id.unwrap_or_default()))),
        (&Method::DELETE, ["operator", _]) => ok(json!({ "meta": { "status": "success" } })),
        (&Method::GET, ["operator", _, "live"]) => {
            let mut live = doc_live_one();
            live["id"] = json!(id);
            ok(envelope(live))
        }
        (&Method::PUT, ["operator", _, "live"]) => ok(json!({
            "meta": { "status": "success", "message": "Operator is now available for chat channel." }
        })),
        (&Method::GET, ["operator", _, "statistic"]) => ok(envelope(json!({
            "id": id, "conversation_number": 589, "satisfaction_global_rate": 0.86, "experience": 5630
        }))),
        (&Method::GET, ["operator", _, "profile"]) => ok(envelope(json!({
            "user_id": id,
            "status": "Je suis disponible pour vous aider",
            "description": "Passionné par la menuiserie depuis plusieurs années, j'aime vous apporter des conseils.",
            "facebook": "john.doe",
            "twitter": "johndoe45",
            "city": "Nantes",
            "country": "France"
        }))),
        (&Method::GET, ["group"]) => ok(paged(
            vec![doc_group(1984), doc_group(1985), doc_group(1986)],
            received,
        )),
        (&Method::POST, ["group"]) => ok(envelope(doc_group(1990))),
        (&Method::GET, ["skill"]) => ok(paged(
            vec![doc_skill(1984), doc_skill(1985), doc_skill(1986)],
            received,
        )),
        (&Method::POST, ["skill"]) => ok(envelope(doc_skill(1990))),
        (&Method::GET | &Method::PUT, ["group", _]) => {
            ok(envelope(doc_group(id.unwrap_or_default())))
        }
        (&Method::GET | &Method::PUT, ["skill", _]) => {
            ok(envelope(doc_skill(id.unwrap_or_default())))
        }
        (&Method::DELETE, ["group" | "skill", _]) => ok(json!({ "meta": { "status": "success" } })),
        (&Method::POST, ["odigocallback", "pickup"]) => ok(envelope(json!({
            "targeting_rule_id": 107,
            "website_id": 1,
            "conversation_id": 139,
            "skill_id": null,
            "visitor_phone_number": "0614037735",
            "visitor_uid": "0a1572b7cc5027fe443f4203eaf0b98d4cbea6d313afa"
        }))),
        (&Method::POST, ["odigocallback", "hangup"]) => ok(envelope(json!([]))),
        (&Method::GET, ["statistic"]) => ok(envelope(doc_statistics(received))),
        (&Method::GET, ["conversation.json-unicode"]) => ok(paged(
            DOC_CONVERSATION_IDS.map(doc_conversation).to_vec(),
            received,
        )),
        (&Method::GET, ["transaction"]) => ok(paged(
            DOC_TRANSACTION_IDS.map(doc_transaction).to_vec(),
            received,
        )),
        (&Method::GET, ["satisfaction"]) => ok(paged(
            DOC_SATISFACTION_IDS.map(doc_satisfaction).to_vec(),
            received,
        )),
        (&Method::GET, ["callmeeting"]) => ok(paged(
            DOC_CALL_MEETING_IDS.map(doc_call_meeting).to_vec(),
            received,
        )),
        (&Method::GET, ["client"]) => ok(paged(DOC_CLIENT_IDS.map(doc_client).to_vec(), received)),
        (&Method::GET, ["website"]) => {
            ok(paged(DOC_WEBSITE_IDS.map(doc_website).to_vec(), received))
        }
        (&Method::GET, ["tag"]) => ok(paged(DOC_TAG_IDS.map(doc_tag).to_vec(), received)),
        (&Method::GET, ["visitor"]) => {
            ok(paged(DOC_VISITOR_IDS.map(doc_visitor).to_vec(), received))
        }
        // The doc's create answer: one tag per object sent, ids from 123.
        (&Method::POST, ["tag"]) => {
            let sent: Vec<Value> = serde_json::from_slice(&received.body).unwrap_or_default();
            let created: Vec<Value> = sent
                .iter()
                .zip(123..)
                .map(|(tag, id)| {
                    json!({ "id": id, "name": tag["name"], "website_id": tag["website_id"], "_link": format!("/tag/{id}") })
                })
                .collect();
            ok(envelope(Value::Array(created)))
        }
        (&Method::POST, ["visitor"]) => ok(envelope(doc_visitor(562))),
        (&Method::PUT | &Method::DELETE, ["website" | "visitor", _])
            if id.is_some_and(|id| {
                !(if parts[0] == "website" {
                    &DOC_WEBSITE_IDS
                } else {
                    &DOC_VISITOR_IDS
                })
                .contains(&id)
            }) =>
        {
            unknown(parts[0], id.unwrap_or_default())
        }
        (&Method::PUT, ["website", _]) => ok(envelope(doc_website(id.unwrap_or_default()))),
        (&Method::PUT, ["visitor", _]) => ok(envelope(doc_visitor(id.unwrap_or_default()))),
        (&Method::DELETE, ["visitor", _]) => ok(json!({ "meta": { "status": "success" } })),
        (&Method::GET, [resource, _]) => {
            let id = id.unwrap_or_default();
            let (name, known, read): (&str, &[i64], fn(i64) -> Value) = match *resource {
                "conversation.json-unicode" => {
                    ("conversation", &DOC_CONVERSATION_IDS, doc_conversation)
                }
                "transaction" => ("transaction", &DOC_TRANSACTION_IDS, doc_transaction),
                "satisfaction" => ("satisfaction", &DOC_SATISFACTION_IDS, doc_satisfaction),
                "callmeeting" => ("callmeeting", &DOC_CALL_MEETING_IDS, doc_call_meeting),
                "client" => ("client", &DOC_CLIENT_IDS, doc_client),
                "website" => ("website", &DOC_WEBSITE_IDS, doc_website),
                "tag" => ("tag", &DOC_TAG_IDS, doc_tag),
                "visitor" => ("visitor", &DOC_VISITOR_IDS, doc_visitor),
                _ => {
                    return (
                        StatusCode::NOT_FOUND,
                        json!({ "meta": { "status": "fail", "message": format!("No route {path}") } }),
                    );
                }
            };
            if known.contains(&id) {
                ok(envelope(read(id)))
            } else {
                unknown(name, id)
            }
        }
        _ => (
            StatusCode::NOT_FOUND,
            json!({ "meta": { "status": "fail", "message": format!("No route {path}") } }),
        ),
    }
}

async fn answer(
    State(fake): State<FakeIadvize>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = Received {
        method: method.clone(),
        path: uri
            .path()
            .strip_prefix("/api/2")
            .unwrap_or(uri.path())
            .to_owned(),
        query: serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default(),
        api_key: headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        form: serde_urlencoded::from_bytes(&body).unwrap_or_default(),
        body: body.to_vec(),
    };
    let scripted = {
        let mut inner = fake.inner.lock().unwrap();
        inner.received.push(received.clone());
        let found = inner
            .scripted
            .iter_mut()
            .find(|s| s.method == method && s.path == received.path)
            .map(|s| {
                if let Some(remaining) = &mut s.remaining {
                    *remaining -= 1;
                }
                s.clone()
            });
        inner.scripted.retain(|s| s.remaining != Some(0));
        found
    };
    if received.api_key.as_deref() != Some(IADVIZE_API_KEY) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({ "meta": { "status": "error", "message": "Forbidden" } })),
        )
            .into_response();
    }
    if let Some(scripted) = scripted {
        if let Some(delay) = scripted.delay {
            tokio::time::sleep(delay).await;
        } else {
            return (
                StatusCode::from_u16(scripted.status).unwrap(),
                [("content-type", "application/json")],
                scripted.body,
            )
                .into_response();
        }
    }
    let (status, body) = documented(&fake, &received);
    (status, axum::Json(body)).into_response()
}
