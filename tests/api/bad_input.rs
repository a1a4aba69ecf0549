//! Bad input, everywhere, on purpose: every RPC (walked from the compiled
//! descriptor set, so an RPC added to the protos is covered without a line
//! here) and both webhooks are fed arbitrary bytes and near-valid requests
//! by proptest. Whatever comes in, the answer is never a panic, an INTERNAL
//! (or a 500), a hang or an internal detail, stays small enough for every
//! gRPC client to read, and a refusal names its field.
//!
//! Case counts are bounded (`SWITCHBOARD_FUZZ_CASES` per entry point and
//! kind of input, default below) and the generator is seeded, so a run is
//! reproducible and takes seconds; raise the count (and set
//! `SWITCHBOARD_FUZZ_SEED` to explore other inputs) when hunting.

use std::time::Duration;

use proptest::{
    collection::vec,
    prelude::*,
    sample::select,
    test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner},
};
use prost::bytes::{Buf, BufMut};
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    Value,
};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
};
use tonic_types::StatusExt;

use crate::helpers::{
    AppOptions, TEST_TOKEN, TestApp, fake_ccai::FakeCcai, fake_focalscope::FakeFocalScope,
    fake_iadvize::FakeIadvize, fake_optico::FakeOptico,
};

/// Cases per entry point and kind of input when not told otherwise.
const DEFAULT_CASES: u32 = 24;
/// An answer later than this is a hang (vendor timeouts are 500 ms here).
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// What a whole status may take (message and details): the C++ and Python
/// clients give up at 16 KiB of metadata.
const MAX_STATUS_BYTES: usize = 12 * 1024;
/// Words that only an internal detail would put in an answer.
const INTERNAL_WORDS: &[&str] = &[
    "panicked",
    "sqlx",
    "sqlite",
    "postgres",
    "dberr",
    "database error",
    "src/",
    ".rs:",
    "backtrace",
    "stored data cannot be read",
];

/// A failure's text, short enough to read (inputs can be 60 KB).
fn short(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    match text.char_indices().nth(600) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text,
    }
}

fn cases() -> u32 {
    std::env::var("SWITCHBOARD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// A seeded runner: the same inputs every run unless
/// `SWITCHBOARD_FUZZ_SEED` says otherwise. No regression files are written.
fn runner() -> TestRunner {
    let seed: u64 = std::env::var("SWITCHBOARD_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(13);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        // Each case is a round trip; shrinking a failure need not be exhaustive.
        max_shrink_iters: 256,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// Sends and receives raw protobuf bytes: requests that no generated client
/// would build.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining()).to_vec()))
    }
}

/// Every RPC of the switchboard services, from the descriptor set the
/// server is built from.
fn rpcs() -> Vec<MethodDescriptor> {
    let pool = DescriptorPool::decode(switchboard::pb::FILE_DESCRIPTOR_SET).unwrap();
    let rpcs: Vec<MethodDescriptor> = pool
        .services()
        .filter(|service| service.package_name() == "switchboard.v1")
        .flat_map(|service| service.methods().collect::<Vec<_>>())
        .collect();
    assert!(rpcs.len() >= 45, "only {} RPCs found", rpcs.len());
    rpcs
}

/// The answer to one raw request: the status it ended with (OK included).
/// The call is made as a bidirectional stream, which is the same on the
/// wire as every kind of RPC: one request message, then whatever comes.
async fn call_raw(
    channel: tonic::transport::Channel,
    rpc: &MethodDescriptor,
    body: Vec<u8>,
) -> Result<Status, String> {
    let path: http::uri::PathAndQuery =
        format!("/{}/{}", rpc.parent_service().full_name(), rpc.name())
            .parse()
            .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    let mut request = tonic::Request::new(tokio_stream::iter([body]));
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {TEST_TOKEN}").parse().unwrap(),
    );
    let exchange = async {
        grpc.ready().await.map_err(|e| e.to_string())?;
        let mut stream = match grpc.streaming(request, path, RawCodec).await {
            Ok(response) => response.into_inner(),
            Err(status) => return Ok(status),
        };
        if rpc.is_server_streaming() {
            // An open stream is an answer; its first message or end is read
            // if it comes soon.
            return Ok(
                match tokio::time::timeout(Duration::from_millis(300), stream.message()).await {
                    Ok(Err(status)) => status,
                    _ => Status::ok(""),
                },
            );
        }
        loop {
            match stream.message().await {
                Ok(Some(_)) => {}
                Ok(None) => return Ok(Status::ok("")),
                Err(status) => return Ok(status),
            }
        }
    };
    tokio::time::timeout(ANSWER_WITHIN, exchange)
        .await
        .map_err(|_| format!("no answer within {ANSWER_WITHIN:?}"))?
}

/// What every answer must be, whatever the request.
fn check_status(status: &Status) -> Result<(), String> {
    let details = status.get_error_details();
    let reason = details
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default();
    match status.code() {
        Code::Internal => return Err(format!("INTERNAL: {status:?}")),
        // UNKNOWN is only for a vendor's undocumented answer.
        Code::Unknown if !reason.starts_with("VENDOR_") => {
            return Err(format!("UNKNOWN: {status:?}"));
        }
        _ => {}
    }
    let size = status.message().len() + status.details().len();
    if size > MAX_STATUS_BYTES {
        return Err(format!("a status of {size} bytes: {}", status.message()));
    }
    let lower = status.message().to_lowercase();
    if let Some(word) = INTERNAL_WORDS.iter().find(|w| lower.contains(*w)) {
        return Err(format!("an internal detail ({word}): {}", status.message()));
    }
    if status.code() == Code::InvalidArgument {
        let violations = details
            .bad_request()
            .map(|b| b.field_violations.clone())
            .unwrap_or_default();
        if violations.is_empty() || violations.iter().any(|v| v.field.is_empty()) {
            return Err(format!("a refusal naming no field: {status:?}"));
        }
    }
    Ok(())
}

// ---- generators ----

/// Strings a client might send, right and wrong.
const SAMPLES: &[&str] = &[
    "+33 6 12 34 56 78",
    "0033123456789",
    "anonymous",
    "agent@optico.fr",
    "agent1@optico.fr",
    "ext 201",
    "22122563",
    "513",
    "1000000087849",
    "2018-01-02",
    "2018-01-02 09:25:41",
    "yesterday",
    "en",
    "fr",
    "xx",
    "01a23571-28a6-7275-8e57-94138510ef1d",
    "bfa2dbc8-ab8a-34c8-f243-c2aad8c446ff",
    "contact_number",
    "*",
    "id",
    "name",
    "-1",
    "0",
    "99999999999999999999999",
    "\u{0}",
    "😀",
    "'; DROP TABLE calls; --",
];

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(SAMPLES).prop_map(str::to_owned),
        2 => "[a-z0-9@.+ -]{0,16}",
        2 => "\\PC{0,24}",
        1 => (select(SAMPLES), "\\PC{0,4}").prop_map(|(s, tail)| format!("{s}{tail}")),
        1 => Just(String::new()),
        // A 60 KB value: the answer must quote only a short prefix of it.
        1 => Just("9".repeat(60_000)),
    ]
    .boxed()
}

/// Right values for what a field's name says it holds, so that near-valid
/// requests often pass validation and reach the store or a vendor.
fn hinted_text(field: &str) -> BoxedStrategy<String> {
    let samples: &'static [&'static str] = if field.contains("phone") || field.contains("number") {
        &[
            "+33 6 12 34 56 78",
            "0033123456789",
            "+33612345678",
            "anonymous",
        ]
    } else if field.contains("email") || field == "agent" {
        &["agent@optico.fr", "ext 201", "201"]
    } else if field == "request_id" {
        &["fuzz-1", "fuzz-2", "fuzz-3"]
    } else if field == "id" || field.ends_with("_id") {
        &[
            "22122563",
            "1",
            "513",
            "01a23571-28a6-7275-8e57-94138510ef1d",
        ]
    } else if field.contains("language") {
        &["en", "fr"]
    } else if field.contains("date") || field.contains("day") {
        &["2018-01-02", "2018-01-31"]
    } else {
        return text();
    };
    prop_oneof![3 => select(samples).prop_map(str::to_owned), 2 => text()].boxed()
}

fn integer() -> BoxedStrategy<i64> {
    prop_oneof![
        Just(0i64),
        Just(1),
        Just(-1),
        1i64..2_000,
        1_500_000_000i64..1_900_000_000,
        any::<i64>(),
        Just(i64::MAX),
        Just(i64::MIN),
    ]
    .boxed()
}

/// Near-valid messages of `descriptor`: each field set or not, with values
/// right or wrong for what it names.
fn message(descriptor: MessageDescriptor, depth: u32) -> BoxedStrategy<DynamicMessage> {
    let fields: Vec<FieldDescriptor> = descriptor.fields().filter(|f| !f.is_map()).collect();
    let values: Vec<BoxedStrategy<Option<Value>>> = fields
        .iter()
        .map(|field| proptest::option::weighted(0.85, field_value(field, depth)).boxed())
        .collect();
    values
        .prop_map(move |values| {
            let mut message = DynamicMessage::new(descriptor.clone());
            for (field, value) in fields.iter().zip(values) {
                if let Some(value) = value {
                    message.set_field(field, value);
                }
            }
            message
        })
        .boxed()
}

fn field_value(field: &FieldDescriptor, depth: u32) -> BoxedStrategy<Value> {
    let single = match field.kind() {
        Kind::String => hinted_text(field.name()).prop_map(Value::String).boxed(),
        kind => kind_value(kind, depth),
    };
    if field.is_list() {
        vec(single, 0..4).prop_map(Value::List).boxed()
    } else {
        single
    }
}

fn kind_value(kind: Kind, depth: u32) -> BoxedStrategy<Value> {
    match kind {
        Kind::String => text().prop_map(Value::String).boxed(),
        Kind::Bytes => vec(any::<u8>(), 0..32)
            .prop_map(|b| Value::Bytes(b.into()))
            .boxed(),
        Kind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            integer().prop_map(|v| Value::I32(v as i32)).boxed()
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => integer().prop_map(Value::I64).boxed(),
        Kind::Uint32 | Kind::Fixed32 => integer().prop_map(|v| Value::U32(v as u32)).boxed(),
        Kind::Uint64 | Kind::Fixed64 => integer().prop_map(|v| Value::U64(v as u64)).boxed(),
        Kind::Float => any::<f32>().prop_map(Value::F32).boxed(),
        Kind::Double => any::<f64>().prop_map(Value::F64).boxed(),
        Kind::Enum(descriptor) => {
            let numbers: Vec<i32> = descriptor.values().map(|v| v.number()).collect();
            prop_oneof![4 => select(numbers), 1 => any::<i32>()]
                .prop_map(Value::EnumNumber)
                .boxed()
        }
        Kind::Message(descriptor) if depth < 3 => message(descriptor, depth + 1)
            .prop_map(Value::Message)
            .boxed(),
        Kind::Message(descriptor) => Just(Value::Message(DynamicMessage::new(descriptor))).boxed(),
    }
}

/// The body of a request to `rpc`: arbitrary bytes, a near-valid message,
/// or a near-valid message with some bytes changed or cut.
fn request_body(rpc: &MethodDescriptor) -> BoxedStrategy<Vec<u8>> {
    let valid = message(rpc.input(), 0).prop_map(|m| prost::Message::encode_to_vec(&m));
    prop_oneof![
        2 => vec(any::<u8>(), 0..64),
        3 => valid.clone(),
        2 => (valid, vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), any::<bool>())
            .prop_map(|(mut bytes, changes, cut)| {
                if !bytes.is_empty() {
                    for (index, byte) in &changes {
                        let at = index.index(bytes.len());
                        bytes[at] = *byte;
                    }
                    if cut {
                        let at = changes[0].0.index(bytes.len());
                        bytes.truncate(at);
                    }
                }
                bytes
            }),
    ]
    .boxed()
}

/// An app with every vendor played by its fake, so that what passes
/// validation goes on to a vendor.
async fn app_with_vendors() -> TestApp {
    let optico = FakeOptico::start().await;
    let iadvize = FakeIadvize::start().await;
    let focalscope = FakeFocalScope::start().await;
    let ccai = FakeCcai::start().await;
    TestApp::spawn_with(
        AppOptions::default()
            .optico(&optico.url)
            .iadvize(&iadvize.url)
            .focalscope(&focalscope)
            .ccai(&ccai),
    )
    .await
}

/// A runtime of its own: proptest runs cases synchronously, each blocking
/// on its round trip while the app serves on the runtime's workers.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn every_rpc_answers_arbitrary_and_near_valid_requests_properly() {
    let runtime = runtime();
    let app = runtime.block_on(app_with_vendors());
    let channel = runtime.block_on(app.channel());
    let mut failures = Vec::new();
    // How the answers went, to show the inputs reach past decoding.
    let codes = std::sync::Mutex::new(std::collections::BTreeMap::<String, u32>::new());
    for rpc in rpcs() {
        let result = runner().run(&request_body(&rpc), |body| {
            let status = runtime
                .block_on(call_raw(channel.clone(), &rpc, body))
                .map_err(TestCaseError::fail)?;
            *codes
                .lock()
                .unwrap()
                .entry(format!("{:?}", status.code()))
                .or_default() += 1;
            check_status(&status).map_err(TestCaseError::fail)
        });
        if let Err(failure) = result {
            failures.push(format!("{}: {}", rpc.full_name(), short(failure)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let codes = codes.into_inner().unwrap();
    eprintln!("answers: {codes:?}");
    // Near-valid requests get past validation: to the store, the vendors
    // (played by fakes) or their refusals.
    let past_validation: u32 = codes
        .iter()
        .filter(|(code, _)| !matches!(code.as_str(), "InvalidArgument" | "OutOfRange"))
        .map(|(_, n)| n)
        .sum();
    assert!(past_validation > 0, "{codes:?}");
    drop(app);
}

#[tokio::test]
async fn a_request_that_is_not_protobuf_is_invalid_argument_on_every_rpc() {
    let app = TestApp::spawn().await;
    let channel = app.channel().await;
    for rpc in rpcs() {
        // Field 1 with wire type 7 (none such); field 1 cut short; a string
        // that is not UTF-8 or a nested message that is not one.
        for body in [
            vec![0x0f],
            vec![0x0a, 0x05, 0x01],
            vec![0x0a, 0x02, 0xc3, 0x28],
        ] {
            let status = call_raw(channel.clone(), &rpc, body.clone()).await.unwrap();
            // The last may happen to be valid for a message whose field 1
            // is bytes: then it is judged like any other request.
            if body[0] == 0x0f || body.len() == 3 {
                assert_eq!(
                    status.code(),
                    Code::InvalidArgument,
                    "{} {body:02x?}: {status:?}",
                    rpc.full_name()
                );
                assert!(
                    status.message().contains("is not valid protobuf"),
                    "{status:?}"
                );
            }
            check_status(&status).unwrap_or_else(|e| panic!("{}: {e}", rpc.full_name()));
        }
    }
}

#[tokio::test]
async fn a_huge_bad_value_is_quoted_by_a_short_prefix() {
    use switchboard::pb::v1 as proto;
    let app = TestApp::spawn().await;
    let huge = "x".repeat(60_000);
    let status = app
        .dials()
        .await
        .dial(proto::DialRequest {
            provider: proto::Provider::Ccai.into(),
            agent: "agent@example.com".into(),
            destination_number: "+33 6 12 34 56 78".into(),
            language: huge.clone(),
            request_id: "huge-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "{}",
        short(status.message())
    );
    assert_eq!(crate::helpers::violated_fields(&status), ["language"]);
    assert!(
        status.message().contains("60000 bytes"),
        "{}",
        status.message()
    );
    let size = status.message().len() + status.details().len();
    assert!(size < 2048, "{size} bytes of status");
}

// ---- webhooks ----

/// A JSON value of any shape, shallow.
fn json_value() -> BoxedStrategy<serde_json::Value> {
    use serde_json::Value as Json;
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        integer().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        text().prop_map(Json::String),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Json::Array),
            vec(("[a-zA-Z]{1,10}", inner), 0..4)
                .prop_map(|fields| Json::Object(fields.into_iter().collect())),
        ]
    })
    .boxed()
}

/// An object with the documented keys of a view, cart or order (each
/// present or not, any value) and maybe others.
fn optico_object() -> BoxedStrategy<serde_json::Value> {
    const KEYS: &[&str] = &[
        "id",
        "pageTitle",
        "url",
        "createdAt",
        "externalId",
        "isLoggedIn",
        "currency",
        "status",
        "totalCost",
        "productsNb",
        "products",
        "cartId",
        "externalCartId",
        "agent",
        "isSale",
        "source",
        "quantity",
        "costPerUnit",
    ];
    let documented: Vec<BoxedStrategy<Option<(String, serde_json::Value)>>> = KEYS
        .iter()
        .map(|key| {
            proptest::option::weighted(0.6, json_value().prop_map(move |v| (key.to_string(), v)))
                .boxed()
        })
        .collect();
    (documented, vec(("[a-zA-Z]{1,8}", json_value()), 0..2))
        .prop_map(|(documented, extra)| {
            serde_json::Value::Object(documented.into_iter().flatten().chain(extra).collect())
        })
        .boxed()
}

/// A realtimeData payload: near-valid (documented keys, values right or
/// wrong) or any JSON at all.
fn realtime_data() -> BoxedStrategy<serde_json::Value> {
    let near_valid = (
        prop_oneof![
            integer().prop_map(serde_json::Value::from),
            text().prop_map(serde_json::Value::from),
            json_value(),
        ],
        prop_oneof![
            3 => select(&["view", "cart", "order"][..]).prop_map(str::to_owned),
            1 => text(),
        ],
        proptest::option::of(optico_object()),
        proptest::option::of(optico_object()),
        proptest::option::of(optico_object()),
    )
        .prop_map(|(call_id, kind, view, cart, order)| {
            serde_json::json!({
                "callId": call_id, "type": kind, "view": view, "cart": cart, "order": order,
            })
        });
    prop_oneof![4 => near_valid, 1 => json_value()].boxed()
}

/// How a delivery is sent: the documented form field, a JSON body, or any
/// bytes with any content type.
#[derive(Debug, Clone)]
enum Delivery {
    Form(String),
    Json(String),
    Raw(Option<String>, Vec<u8>),
}

fn delivery() -> BoxedStrategy<Delivery> {
    prop_oneof![
        3 => realtime_data().prop_map(|v| Delivery::Form(v.to_string())),
        2 => realtime_data().prop_map(|v| Delivery::Json(v.to_string())),
        1 => "\\PC{0,40}".prop_map(Delivery::Form),
        1 => (
            proptest::option::of(prop_oneof![
                Just("application/json".to_owned()),
                Just("application/x-www-form-urlencoded".to_owned()),
                "[a-z/;=+-]{0,30}",
            ]),
            vec(any::<u8>(), 0..128),
        )
            .prop_map(|(content_type, body)| Delivery::Raw(content_type, body)),
    ]
    .boxed()
}

/// What every webhook answer must be: 200, or a 4xx saying what is wrong
/// (naming one of `fields` when it is a 400), short, with no internal detail.
async fn check_webhook(response: reqwest::Response, fields: &[&str]) -> Result<(), String> {
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    if status.is_server_error() {
        return Err(format!("{status}: {body}"));
    }
    if !matches!(status.as_u16(), 200 | 400 | 413 | 415) {
        return Err(format!("unexpected {status}: {body}"));
    }
    if body.len() > 2048 {
        return Err(format!("a {}-byte answer", body.len()));
    }
    let lower = body.to_lowercase();
    if let Some(word) = INTERNAL_WORDS.iter().find(|w| lower.contains(*w)) {
        return Err(format!("an internal detail ({word}): {body}"));
    }
    if status == 400 && !fields.iter().any(|field| body.contains(field)) {
        return Err(format!("a refusal naming none of {fields:?}: {body}"));
    }
    Ok(())
}

#[test]
fn the_optico_webhook_answers_arbitrary_and_near_valid_deliveries_properly() {
    let runtime = runtime();
    let app = runtime.block_on(TestApp::spawn());
    let url = app.http_url(&format!(
        "/webhooks/optico/{}",
        crate::helpers::WEBHOOK_TOKEN
    ));
    let client = crate::helpers::http_client();
    let send = |delivery: Delivery| {
        let request = match delivery {
            Delivery::Form(json) => client.post(&url).form(&[("realtimeData", json)]),
            Delivery::Json(json) => client
                .post(&url)
                .header("content-type", "application/json")
                .body(json),
            Delivery::Raw(content_type, body) => {
                let request = client.post(&url).body(body);
                match content_type {
                    Some(content_type) => request.header("content-type", content_type),
                    None => request,
                }
            }
        };
        runtime.block_on(async {
            let response = tokio::time::timeout(ANSWER_WITHIN, request.send())
                .await
                .map_err(|_| "no answer in time".to_owned())?
                .map_err(|e| e.to_string())?;
            check_webhook(response, &["realtimeData", "Content-Type", "body"]).await
        })
    };
    let mut runner = runner();
    let result = runner.run(&delivery(), |d| send(d).map_err(TestCaseError::fail));
    if let Err(failure) = result {
        panic!("{}", short(failure));
    }
    drop(app);
}

/// FocalScope's callback parameters, as the URL adapter documents them.
const FOCALSCOPE_PARAMS: &[&str] = &[
    "CallType",
    "Event",
    "CallID",
    "RequestID",
    "EventCode",
    "IsCallRecorded",
    "Guid",
];

fn focalscope_query() -> BoxedStrategy<String> {
    let value = prop_oneof![
        2 => select(&["API", "Outgoing", "pickup", "missed", "hangup", "1", "0", ""][..])
            .prop_map(str::to_owned),
        // At most 4 KB: a URI holds at most 64 KiB, and the client
        // refuses to send more.
        2 => text().prop_map(|t| t.chars().take(4096).collect::<String>()),
        1 => "[0-9]{1,25}",
    ];
    let near_valid = vec(
        (
            prop_oneof![4 => select(FOCALSCOPE_PARAMS).prop_map(str::to_owned), 1 => "[A-Za-z]{1,8}"],
            value,
        ),
        0..9,
    )
    .prop_map(|pairs| serde_urlencoded::to_string(pairs).unwrap());
    // Any text as the query, including malformed escapes (`%zz`).
    prop_oneof![4 => near_valid, 1 => "[ -~]{0,60}".prop_map(|q| q.replace(['#', ' '], "%"))]
        .boxed()
}

#[test]
fn the_focalscope_callback_answers_arbitrary_and_near_valid_queries_properly() {
    let runtime = runtime();
    let app = runtime.block_on(TestApp::spawn());
    let base = app.focalscope_callback_url();
    let client = crate::helpers::http_client();
    let mut fields: Vec<&str> = FOCALSCOPE_PARAMS.to_vec();
    fields.push("query string");
    let mut runner = runner();
    let result = runner.run(&focalscope_query(), |query| {
        let request = client.get(format!("{base}?{query}"));
        runtime
            .block_on(async {
                let response = tokio::time::timeout(ANSWER_WITHIN, request.send())
                    .await
                    .map_err(|_| "no answer in time".to_owned())?
                    .map_err(|e| e.to_string())?;
                check_webhook(response, &fields).await
            })
            .map_err(TestCaseError::fail)
    });
    if let Err(failure) = result {
        panic!("{}", short(failure));
    }
    drop(app);
}

#[tokio::test]
async fn an_optico_date_that_is_not_a_date_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let view =
        crate::helpers::fake_optico::WEBHOOK_VIEW.replace("2018-01-02 09:25:41", "yesterday");
    assert!(view.contains("yesterday"), "the doc's payload changed");
    for response in [
        app.post_optico_form(&view).await,
        app.post_optico_json(&view).await,
    ] {
        assert_eq!(response.status(), 400);
        let body = response.text().await.unwrap();
        assert!(body.contains("realtimeData.view.createdAt"), "{body}");
        assert!(body.contains("\"yesterday\""), "{body}");
    }
    // Nothing was stored: the stream has nothing to replay.
    let mut stream = app
        .stream(switchboard::pb::v1::StreamCallUpdatesRequest::default())
        .await;
    crate::helpers::assert_no_update(&mut stream, Duration::from_millis(300)).await;
    // The documented date is accepted.
    assert_eq!(
        app.post_optico_form(crate::helpers::fake_optico::WEBHOOK_VIEW)
            .await
            .status(),
        200
    );
}
