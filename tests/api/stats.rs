//! StatsService: the Optico call export and per-day counts against a local
//! Data API that pages as documented, and dial statistics computed from
//! dials and FocalScope callbacks driven through the real API.

use std::time::Duration;

use serde_json::json;
use switchboard::pb::v1::{
    self as proto, stats_service_client::StatsServiceClient, stream_call_updates_response::Update,
};
use tonic::{Code, Status, service::interceptor::InterceptedService, transport::Endpoint};

use crate::helpers::{
    AppOptions, AuthedChannel, BearerToken, Db, TEST_TOKEN, TestApp,
    fake_ccai::{self, FakeCcai},
    fake_focalscope::{Answer, FakeFocalScope},
    fake_optico_data::{Behaviour, DATA_API_KEY, FakeOpticoData, records},
    reason, violated_fields,
};

/// Pages the export task may have fetched beyond what the client read:
/// switchboard's own prefetch (`call_exports::PREFETCH_PAGES`, 2) plus one
/// page in the gRPC transport on each side.
const MAX_PAGES_AHEAD: usize = 4;
/// Long enough for an export task that was going to request another page to
/// have done so (a negative check, never a speed requirement).
const SETTLE: Duration = Duration::from_millis(500);

async fn stats(app: &TestApp) -> StatsServiceClient<AuthedChannel> {
    StatsServiceClient::new(app.channel_with_token(Some(TEST_TOKEN)).await)
}

/// A client whose HTTP/2 windows are the protocol's minimum, so that the
/// transport holds at most about a page of unread data and what the server
/// fetches ahead is visible at the fake.
async fn narrow_stats(app: &TestApp) -> StatsServiceClient<AuthedChannel> {
    let channel = Endpoint::from_shared(app.grpc_url())
        .unwrap()
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .unwrap();
    let token = format!("Bearer {TEST_TOKEN}").parse().unwrap();
    StatsServiceClient::new(InterceptedService::new(channel, BearerToken(Some(token))))
}

fn filter(start: &str, end: &str) -> proto::OpticoCallFilter {
    proto::OpticoCallFilter {
        start_date: start.into(),
        end_date: end.into(),
        ..Default::default()
    }
}

fn export_request(page_size: i32) -> proto::ExportCallsRequest {
    proto::ExportCallsRequest {
        filter: Some(filter("2014-05-05", "2014-05-15")),
        page_size,
    }
}

/// Every message of an export, and the status that ended it (None = OK).
async fn export_all(
    app: &TestApp,
    request: proto::ExportCallsRequest,
) -> (Vec<proto::ExportCallsResponse>, Option<Status>) {
    let mut stream = match stats(app).await.export_calls(request).await {
        Ok(response) => response.into_inner(),
        Err(status) => return (Vec::new(), Some(status)),
    };
    let mut messages = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(message)) => messages.push(message),
            Ok(None) => return (messages, None),
            Err(status) => return (messages, Some(status)),
        }
    }
}

fn visit_ids(messages: &[proto::ExportCallsResponse]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| m.records.iter().map(|r| r.visit_id.clone()))
        .collect()
}

fn expected_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

#[tokio::test]
async fn a_multi_thousand_export_streams_every_record_once_in_order_requesting_each_page_once() {
    let fake = FakeOpticoData::start(records(12_345)).await;
    let app = TestApp::spawn_with(fake.app_options()).await;
    let request = proto::ExportCallsRequest {
        filter: Some(proto::OpticoCallFilter {
            start_date: "2014-05-05".into(),
            end_date: "2014-05-15".into(),
            phone: "+33 1 23 45 67 89".into(),
            tracking_phone: "0033170000001".into(),
            caller_phone: "+33 6 00 00 00 05".into(),
            offline_phone_description: " Salon 2014 ".into(),
        }),
        page_size: 1000,
    };
    let (messages, end) = export_all(&app, request).await;
    assert!(end.is_none(), "{end:?}");

    // One message per Optico page, every record once, in Optico's order.
    assert_eq!(
        messages.iter().map(|m| m.page).collect::<Vec<_>>(),
        (1..=13).collect::<Vec<_>>()
    );
    assert!(messages.iter().all(|m| m.total_results == 12_345));
    assert!(messages[..12].iter().all(|m| m.records.len() == 1000));
    assert_eq!(visit_ids(&messages), expected_ids(12_345));
    // Each page requested once, in order, none skipped, none after the last.
    assert_eq!(fake.pages_requested(), (1..=13).collect::<Vec<_>>());
    for query in fake.requests() {
        for (key, value) in [
            ("api_key", DATA_API_KEY),
            ("type", "calls"),
            ("start_date", "2014-05-05"),
            ("end_date", "2014-05-15"),
            ("limit", "1000"),
            ("phone", "0033123456789"),
            ("tracking_phone", "0033170000001"),
            ("caller_phone", "0033600000005"),
            ("offline_phone_description", "Salon 2014"),
        ] {
            assert_eq!(query.get(key).map(String::as_str), Some(value), "{key}");
        }
        assert!(!query.contains_key("group_by_day"));
    }

    // Every documented field, typed.
    let record = &messages[0].records[5];
    // 2014-05-10 13:05:00 in Paris (CEST).
    assert_eq!(record.start_date.as_ref().unwrap().seconds, 1_399_719_900);
    assert_eq!(record.caller, "0033600000005");
    assert_eq!(record.tracking_number, "0033170000001");
    assert_eq!(record.phone, "0033123456789");
    assert_eq!(record.trigger_type(), proto::OpticoTriggerType::CallBack);
    assert_eq!(record.trigger_type_raw, "2");
    assert_eq!(record.source, "adwords");
    assert_eq!(record.url, "https://shop.example.com/espresso/x200");
    assert_eq!(record.referer, "google.fr");
    assert_eq!(record.keyword, "machine espresso");
    assert_eq!(
        record.call_path,
        [
            "https://shop.example.com/",
            "https://shop.example.com/espresso",
            "https://shop.example.com/espresso/x200"
        ]
    );
    assert_eq!(record.status, "succès");
    assert_eq!(record.duration_seconds, 5);
    assert_eq!(record.revenue, 12.5);
    assert_eq!(record.keypad, "1#");
    assert!(!record.is_redirect);
    assert!(!record.expired_redirect);
    let client_data = record.client_data.as_ref().unwrap();
    let Some(prost_types::value::Kind::StructValue(fields)) = &client_data.kind else {
        panic!("client_data should be an object: {client_data:?}");
    };
    assert_eq!(
        fields.fields["crm_id"].kind,
        Some(prost_types::value::Kind::StringValue("C-000005".into()))
    );
    assert_eq!(record.visit_id, "5");
}

#[tokio::test]
async fn an_empty_export_is_one_message_and_page_size_zero_asks_for_1000() {
    let fake = FakeOpticoData::start(Vec::new()).await;
    let app = TestApp::spawn_with(fake.app_options()).await;
    let (messages, end) = export_all(&app, export_request(0)).await;
    assert!(end.is_none(), "{end:?}");
    assert_eq!(messages.len(), 1);
    assert_eq!((messages[0].page, messages[0].total_results), (1, 0));
    assert!(messages[0].records.is_empty());
    assert_eq!(fake.pages_requested(), [1]);
    assert_eq!(fake.requests()[0]["limit"], "1000");
}

#[tokio::test]
async fn the_export_fetches_a_bounded_number_of_pages_ahead_and_stops_when_the_client_cancels() {
    // 20 pages of about 150 kB each: larger than the client's window.
    let fake = FakeOpticoData::start(records(10_000)).await;
    let app = TestApp::spawn_with(fake.app_options()).await;
    let mut stream = narrow_stats(&app)
        .await
        .export_calls(export_request(500))
        .await
        .unwrap()
        .into_inner();

    let mut read = 0;
    for pause_after in [1, 4] {
        while read < pause_after {
            let message = stream.message().await.unwrap().unwrap();
            read += 1;
            assert_eq!(message.page, read as i32);
        }
        // The task fetches ahead while the client does not read…
        fake.wait_for_requests(read + 2).await;
        tokio::time::sleep(SETTLE).await;
        // … but only a few pages.
        let requested = fake.pages_requested();
        assert!(
            requested.len() <= read + MAX_PAGES_AHEAD,
            "read {read} pages, {} requested: {requested:?}",
            requested.len()
        );
    }

    drop(stream);
    tokio::time::sleep(SETTLE).await;
    let at_cancel = fake.pages_requested();
    tokio::time::sleep(SETTLE).await;
    let requested = fake.pages_requested();
    assert_eq!(requested, at_cancel, "no page requested after the cancel");
    assert!(requested.len() < 20);
    assert_eq!(
        requested,
        (1..=requested.len() as u32).collect::<Vec<_>>(),
        "pages in order, none twice"
    );
}

#[tokio::test]
async fn cancelling_during_a_page_request_abandons_it_and_requests_nothing_more() {
    let fake = FakeOpticoData::start(records(5_000)).await;
    // A held request is never dropped for taking too long.
    let app = TestApp::spawn_with(
        fake.app_options()
            .env("SWITCHBOARD__VENDORS__OPTICO__TIMEOUT_MS", 60_000),
    )
    .await;
    fake.hold_from(3);
    let mut stream = stats(&app)
        .await
        .export_calls(export_request(100))
        .await
        .unwrap()
        .into_inner();
    for page in 1..=2 {
        assert_eq!(stream.message().await.unwrap().unwrap().page, page);
    }
    fake.wait_for_requests(3).await;
    drop(stream);
    // switchboard drops the request for page 3 without waiting for it.
    fake.wait_for_abandoned(1).await;
    fake.release();
    tokio::time::sleep(SETTLE).await;
    assert_eq!(fake.pages_requested(), [1, 2, 3]);
}

#[tokio::test]
async fn shutdown_ends_a_running_export_with_a_resumable_error() {
    let fake = FakeOpticoData::start(records(5_000)).await;
    let app = TestApp::spawn_with(fake.app_options()).await;
    fake.hold_from(2);
    let mut stream = stats(&app)
        .await
        .export_calls(export_request(100))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().page, 1);
    fake.wait_for_requests(2).await;
    app.shutdown_handle().shutdown();
    let status = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("the stream ends at shutdown")
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(reason(&status), "SHUTTING_DOWN");
    assert!(status.message().contains("100 records"), "{status:?}");
    fake.release();
    app.stop().await;
}

#[tokio::test]
async fn optico_errors_end_the_export_with_their_code_and_messages_and_the_key_redacted() {
    let fake = FakeOpticoData::start(records(250)).await;
    let app = TestApp::spawn_with(fake.app_options()).await;

    // A key problem is our configuration; Optico echoes part of the key.
    fake.behave(Behaviour::ErrorFrom {
        page: 1,
        errors: json!(["Invalid api_key 45ebcbe224c4bbb8"]),
    });
    let (messages, end) = export_all(&app, export_request(100)).await;
    assert!(messages.is_empty());
    let status = end.unwrap();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "VENDOR_MISCONFIGURED");
    assert!(
        status.message().contains("Invalid api_key [redacted]"),
        "{status:?}"
    );
    assert!(!status.message().contains("45ebcbe224c4"), "{status:?}");

    // Any other refusal is about the request; pages already sent stay.
    fake.behave(Behaviour::ErrorFrom {
        page: 2,
        errors: json!(["start_date must be before end_date", "phone is not valid"]),
    });
    let (messages, end) = export_all(&app, export_request(100)).await;
    assert_eq!(visit_ids(&messages), expected_ids(100));
    let status = end.unwrap();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("start_date must be before end_date; phone is not valid"),
        "{status:?}"
    );

    // GetCallsByDay maps them the same way.
    fake.behave(Behaviour::ErrorFrom {
        page: 1,
        errors: json!(["phone is not valid"]),
    });
    let status = stats(&app)
        .await
        .get_calls_by_day(proto::GetCallsByDayRequest {
            filter: Some(filter("2014-05-05", "2014-05-15")),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("phone is not valid"),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_failing_page_is_retried_a_couple_of_times_then_unavailable() {
    let fake = FakeOpticoData::start(records(250)).await;
    let app = TestApp::spawn_with(fake.app_options()).await;
    fake.fail_page(2, 1);
    let (messages, end) = export_all(&app, export_request(100)).await;
    assert!(end.is_none(), "{end:?}");
    assert_eq!(visit_ids(&messages), expected_ids(250));
    assert_eq!(fake.pages_requested(), [1, 2, 2, 3]);

    let fake = FakeOpticoData::start(records(250)).await;
    let app = TestApp::spawn_with(fake.app_options()).await;
    fake.fail_page(2, 100);
    let (messages, end) = export_all(&app, export_request(100)).await;
    assert_eq!(visit_ids(&messages), expected_ids(100));
    let status = end.unwrap();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("HTTP 503"), "{status:?}");
    assert_eq!(fake.pages_requested(), [1, 2, 2, 2]);
}

#[tokio::test]
async fn every_parameter_is_validated_before_any_vendor_request() {
    let fake = FakeOpticoData::start(records(10)).await;
    let app = TestApp::spawn_with(fake.app_options()).await;
    let with = |edit: fn(&mut proto::OpticoCallFilter)| {
        let mut f = filter("2014-05-05", "2014-05-15");
        edit(&mut f);
        Some(f)
    };
    let cases: Vec<(Option<proto::OpticoCallFilter>, i32, &[&str])> = vec![
        (None, 0, &["filter"]),
        (with(|f| f.start_date.clear()), 0, &["filter.start_date"]),
        (
            with(|f| f.end_date = "2014-5-15".into()),
            0,
            &["filter.end_date"],
        ),
        (
            with(|f| f.start_date = "2014-02-30".into()),
            0,
            &["filter.start_date"],
        ),
        (
            with(|f| f.start_date = "05/05/2014".into()),
            0,
            &["filter.start_date"],
        ),
        (
            with(|f| f.end_date = "2014-05-04".into()),
            0,
            &["filter.end_date"],
        ),
        (
            with(|f| f.phone = "not a number".into()),
            0,
            &["filter.phone"],
        ),
        (
            with(|f| f.tracking_phone = "12".into()),
            0,
            &["filter.tracking_phone"],
        ),
        (
            with(|f| f.caller_phone = "+33 6 12 x".into()),
            0,
            &["filter.caller_phone"],
        ),
        (
            with(|f| f.offline_phone_description = "Salon\u{7}".into()),
            0,
            &["filter.offline_phone_description"],
        ),
        (
            with(|f| f.offline_phone_description = "x".repeat(256)),
            0,
            &["filter.offline_phone_description"],
        ),
        (with(|_| {}), 9, &["page_size"]),
        (with(|_| {}), 5001, &["page_size"]),
        (with(|_| {}), -1, &["page_size"]),
        (
            Some(proto::OpticoCallFilter {
                start_date: "2014-13-01".into(),
                end_date: String::new(),
                phone: "abc".into(),
                ..Default::default()
            }),
            3,
            &[
                "filter.start_date",
                "filter.end_date",
                "filter.phone",
                "page_size",
            ],
        ),
    ];
    for (filter, page_size, fields) in cases {
        let (messages, end) = export_all(
            &app,
            proto::ExportCallsRequest {
                filter: filter.clone(),
                page_size,
            },
        )
        .await;
        assert!(messages.is_empty());
        let status = end.unwrap();
        assert_eq!(status.code(), Code::InvalidArgument, "{filter:?}");
        assert_eq!(violated_fields(&status), *fields, "{filter:?} {page_size}");
        if page_size == 0 {
            let status = stats(&app)
                .await
                .get_calls_by_day(proto::GetCallsByDayRequest {
                    filter: filter.clone(),
                })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
            assert_eq!(violated_fields(&status), *fields, "{filter:?}");
        }
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.pages_requested());
}

#[tokio::test]
async fn without_a_data_api_key_the_export_answers_failed_precondition_naming_it() {
    let app = TestApp::spawn().await;
    let (_, end) = export_all(&app, export_request(0)).await;
    let by_day = stats(&app)
        .await
        .get_calls_by_day(proto::GetCallsByDayRequest {
            filter: Some(filter("2014-05-05", "2014-05-15")),
        })
        .await
        .unwrap_err();
    for status in [end.unwrap(), by_day] {
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert!(
            status.message().contains("vendors.optico.data_api_key"),
            "{status:?}"
        );
        assert_eq!(reason(&status), "NOT_CONFIGURED");
    }
}

#[tokio::test]
async fn calls_by_day_reads_every_page_and_totals_match_the_rows() {
    let fake = FakeOpticoData::start(Vec::new()).await;
    let app = TestApp::spawn_with(fake.app_options()).await;
    // 6,001 days: two pages of the 5,000 rows switchboard asks for.
    let first_day = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let days: Vec<(String, i64, i64, i64)> = (0..6_001_i64)
        .map(|i| {
            let date = first_day + chrono::Duration::days(i);
            (
                date.format("%Y-%m-%d").to_string(),
                i % 50,
                (i % 50) * 61,
                i % 997,
            )
        })
        .collect();
    fake.set_days(
        days.iter()
            .map(|(date, calls, duration, cents)| {
                json!({
                    "date": date,
                    "calls": calls.to_string(),
                    "duration": duration,
                    "revenue": format!("{}.{:02}", cents / 100, cents % 100),
                })
            })
            .collect(),
    );
    let answer = stats(&app)
        .await
        .get_calls_by_day(proto::GetCallsByDayRequest {
            filter: Some(filter("2000-01-01", "2016-06-05")),
        })
        .await
        .unwrap()
        .into_inner();

    assert_eq!(fake.pages_requested(), [1, 2]);
    for query in fake.requests() {
        assert_eq!(query["group_by_day"], "1");
        assert_eq!(query["limit"], "5000");
        assert_eq!(query["type"], "calls");
        assert_eq!(query["start_date"], "2000-01-01");
        assert_eq!(query["end_date"], "2016-06-05");
    }
    assert_eq!(answer.rows.len(), 6_001);
    for (row, (date, calls, duration, cents)) in answer.rows.iter().zip(&days) {
        assert_eq!(&row.date, date);
        assert_eq!(row.calls, *calls);
        assert_eq!(row.duration_seconds, *duration);
        assert!(
            (row.revenue - *cents as f64 / 100.0).abs() < 1e-9,
            "{row:?}"
        );
    }
    let totals = answer.totals.unwrap();
    assert_eq!(totals.calls, days.iter().map(|d| d.1).sum::<i64>());
    assert_eq!(
        totals.duration_seconds,
        days.iter().map(|d| d.2).sum::<i64>()
    );
    let cents: i64 = days.iter().map(|d| d.3).sum();
    assert!(
        (totals.revenue - cents as f64 / 100.0).abs() < 1e-6,
        "{} vs {}",
        totals.revenue,
        cents as f64 / 100.0
    );
}

// ---- GetDialStats ----

const AGENT_A: &str = "ext-201";
const AGENT_B: &str = "ext-202";
const CCAI_AGENT: &str = "agent@example.com";

/// Dials through the FocalScope fake, which answers `{RequestID:<rid>}`.
async fn focalscope_dial(
    app: &TestApp,
    fake: &FakeFocalScope,
    agent: &str,
    rid: i64,
) -> Result<proto::Call, Status> {
    let body: &'static str = Box::leak(format!("{{RequestID:{rid}}}").into_boxed_str());
    fake.answer(Answer::Body(body));
    app.dials()
        .await
        .dial(proto::DialRequest {
            provider: proto::Provider::Focalscope.into(),
            agent: agent.into(),
            destination_number: "+33 6 12 34 56 78".into(),
            request_id: format!("stats-dial-{rid}"),
            ..Default::default()
        })
        .await
        .map(|response| response.into_inner().call.unwrap())
}

/// One FocalScope callback: `leg` "API" (agent) or "Outgoing" (customer).
async fn callback(app: &TestApp, rid: i64, leg: &str, event: &str) {
    let (call_id, code) = (
        rid * 10 + i64::from(leg == "Outgoing"),
        match event {
            "pickup" => 2,
            "missed" => 3,
            _ => 1,
        },
    );
    let response = app
        .focalscope_callback(&format!(
            "CallType={leg}&Event={event}&CallID={call_id}&RequestID={rid}&EventCode={code}&IsCallRecorded=&Guid={rid:08x}-0000-0000-0000-{call_id:012x}"
        ))
        .await;
    assert_eq!(response.status(), 200, "{leg} {event} of {rid}");
    // Spread the events a little so that durations differ.
    tokio::time::sleep(Duration::from_millis(20)).await;
}

fn micros(timestamp: &prost_types::Timestamp) -> i64 {
    timestamp.seconds * 1_000_000 + i64::from(timestamp.nanos) / 1_000
}

fn duration_micros(duration: &Option<prost_types::Duration>) -> Option<i64> {
    duration
        .as_ref()
        .map(|d| d.seconds * 1_000_000 + i64::from(d.nanos) / 1_000)
}

/// Every stored update of a call (replayed until the stream goes idle).
async fn updates_of(app: &TestApp, call_id: &str) -> Vec<proto::StreamCallUpdatesResponse> {
    let mut stream = app
        .stream(proto::StreamCallUpdatesRequest {
            call: Some(crate::helpers::id_ref(call_id)),
            ..Default::default()
        })
        .await;
    let mut updates = Vec::new();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("a heartbeat comes once the replay is done")
            .unwrap()
            .unwrap();
        match message.update {
            Some(Update::Heartbeat(_)) => return updates,
            _ => updates.push(message),
        }
    }
}

/// (time to pickup, talk time) of a connected dial, in µs, from what the
/// API shows of it: its start, the customer's pickup, the first hang-up.
async fn dial_times(app: &TestApp, call: &proto::Call) -> (i64, Option<i64>) {
    let started = micros(call.start_time.as_ref().unwrap());
    let updates = updates_of(app, &call.id).await;
    let first = |wanted: &dyn Fn(&Update) -> bool| {
        updates
            .iter()
            .filter(|u| u.update.as_ref().is_some_and(wanted))
            .map(|u| micros(u.occurred_at.as_ref().unwrap()))
            .min()
    };
    let pickup = first(&|u| match u {
        Update::DialEvent(e) => {
            e.leg() == proto::LegKind::Customer && e.event() == proto::DialEventType::Pickup
        }
        Update::StatusChanged(s) => s.status() == proto::CallStatus::Connected,
        _ => false,
    })
    .expect("a connected dial");
    let hangup = first(&|u| match u {
        Update::DialEvent(e) => e.event() == proto::DialEventType::Hangup,
        Update::StatusChanged(s) => s.status() == proto::CallStatus::Ended,
        _ => false,
    });
    (
        (pickup - started).max(0),
        hangup.filter(|h| *h >= pickup).map(|h| h - pickup),
    )
}

/// Nearest-rank percentile.
fn percentile(values: &[i64], percent: usize) -> Option<i64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[derive(Debug, PartialEq)]
struct Counts {
    dials: i64,
    answered_by_agent: i64,
    connected: i64,
    missed_by_agent: i64,
    missed_by_customer: i64,
    failed: i64,
    unknown: i64,
}

fn counts(row: &proto::DialStatsRow) -> Counts {
    Counts {
        dials: row.dials,
        answered_by_agent: row.answered_by_agent,
        connected: row.connected,
        missed_by_agent: row.missed_by_agent,
        missed_by_customer: row.missed_by_customer,
        failed: row.failed,
        unknown: row.unknown,
    }
}

/// Checks the rates and durations of `row` against the dials' own times.
fn check_times(row: &proto::DialStatsRow, pickups: &[i64], talks: &[i64]) {
    let expected_rate = if row.dials == 0 {
        0.0
    } else {
        row.connected as f64 / row.dials as f64
    };
    assert!((row.answer_rate - expected_rate).abs() < 1e-12, "{row:?}");
    assert_eq!(
        duration_micros(&row.time_to_pickup_p50),
        percentile(pickups, 50)
    );
    assert_eq!(
        duration_micros(&row.time_to_pickup_p95),
        percentile(pickups, 95)
    );
    assert_eq!(
        duration_micros(&row.talk_time_total),
        Some(talks.iter().sum())
    );
    assert_eq!(
        duration_micros(&row.talk_time_average),
        (!talks.is_empty()).then(|| talks.iter().sum::<i64>() / talks.len() as i64)
    );
}

async fn dial_stats(
    app: &TestApp,
    request: proto::GetDialStatsRequest,
) -> Result<proto::GetDialStatsResponse, Status> {
    stats(app)
        .await
        .get_dial_stats(request)
        .await
        .map(|r| r.into_inner())
}

fn timestamp(time: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

#[tokio::test]
async fn dial_stats_match_the_dials_and_callbacks_they_were_fed() {
    dial_stats_scenario(Db::Sqlite).await;
}

#[tokio::test]
async fn dial_stats_match_on_postgres_too() {
    let url = crate::helpers::postgres::fresh_database().await;
    dial_stats_scenario(Db::Url(url)).await;
}

/// Dials of every outcome through the real API (FocalScope callbacks in and
/// out of order, a CCAI dial, a timed-out dial, and calls that are not
/// dials), then every number of GetDialStats checked against them.
async fn dial_stats_scenario(db: Db) {
    let focalscope = FakeFocalScope::start().await;
    let ccai = FakeCcai::start().await;
    let app = TestApp::spawn_with(
        AppOptions::default()
            .db(db)
            .focalscope(&focalscope)
            .ccai(&ccai)
            .env("SWITCHBOARD__STREAMS__HEARTBEAT_INTERVAL_MS", 300),
    )
    .await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);

    // Connected, talked, both legs hung up.
    let d1 = focalscope_dial(&app, &focalscope, AGENT_A, 1001)
        .await
        .unwrap();
    for (leg, event) in [
        ("API", "pickup"),
        ("Outgoing", "pickup"),
        ("Outgoing", "hangup"),
        ("API", "hangup"),
    ] {
        callback(&app, 1001, leg, event).await;
    }
    // Connected and still talking.
    let d2 = focalscope_dial(&app, &focalscope, AGENT_A, 1002)
        .await
        .unwrap();
    callback(&app, 1002, "API", "pickup").await;
    callback(&app, 1002, "Outgoing", "pickup").await;
    // The agent missed it.
    focalscope_dial(&app, &focalscope, AGENT_B, 1003)
        .await
        .unwrap();
    callback(&app, 1003, "API", "missed").await;
    // The customer missed it.
    focalscope_dial(&app, &focalscope, AGENT_B, 1004)
        .await
        .unwrap();
    for (leg, event) in [("API", "pickup"), ("Outgoing", "missed"), ("API", "hangup")] {
        callback(&app, 1004, leg, event).await;
    }
    let middle = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The agent hung up before the customer answered.
    focalscope_dial(&app, &focalscope, AGENT_A, 1005)
        .await
        .unwrap();
    callback(&app, 1005, "API", "pickup").await;
    callback(&app, 1005, "API", "hangup").await;
    // Still ringing the agent.
    focalscope_dial(&app, &focalscope, AGENT_B, 1006)
        .await
        .unwrap();
    // Callbacks out of order: the customer's hang-up arrives before its
    // pickup. Connected, talk time unknown.
    let d7 = focalscope_dial(&app, &focalscope, AGENT_A, 1007)
        .await
        .unwrap();
    for (leg, event) in [
        ("API", "pickup"),
        ("Outgoing", "hangup"),
        ("Outgoing", "pickup"),
        ("API", "hangup"),
    ] {
        callback(&app, 1007, leg, event).await;
    }
    // A CCAI dial, assigned to its agent.
    app.dials()
        .await
        .dial(proto::DialRequest {
            provider: proto::Provider::Ccai.into(),
            agent: CCAI_AGENT.into(),
            destination_number: "+1 205-123-4567".into(),
            request_id: "stats-ccai-1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // The dial timed out: it may or may not have rung (UNKNOWN).
    focalscope.answer(Answer::Slow(Duration::from_millis(1500)));
    let status = app
        .dials()
        .await
        .dial(proto::DialRequest {
            provider: proto::Provider::Focalscope.into(),
            agent: AGENT_B.into(),
            destination_number: "+33 6 12 34 56 78".into(),
            request_id: "stats-dial-1008".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    // Not dials: a scheduled CCAI call, and callbacks of a dial switchboard
    // did not make.
    ccai.answer(fake_ccai::Answer::Json(
        201,
        crate::helpers::ccai_doc::OUTBOUND_CREATED
            .replace("\"id\": 397", "\"id\": 399")
            .replace("\"status\": \"assigned\"", "\"status\": \"scheduled\""),
    ));
    app.dials()
        .await
        .schedule_call(proto::ScheduleCallRequest {
            menu_id: 9,
            end_user_number: "+82-10-6861-2345".into(),
            scheduled_at: Some(timestamp(chrono::Utc::now() + chrono::Duration::days(1))),
            request_id: "stats-scheduled-1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    callback(&app, 4242, "API", "pickup").await;

    let (p1, t1) = dial_times(&app, &d1).await;
    let (p2, t2) = dial_times(&app, &d2).await;
    let (p7, t7) = dial_times(&app, &d7).await;
    assert!(
        t1.is_some() && t2.is_none() && t7.is_none(),
        "{t1:?} {t2:?} {t7:?}"
    );
    let talks: Vec<i64> = t1.into_iter().collect();

    // Overall, and split every way.
    let answer = dial_stats(
        &app,
        proto::GetDialStatsRequest {
            from: Some(timestamp(since)),
            group_by: proto::DialStatsGroupBy::ProviderAndAgent.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let overall = answer.overall.unwrap();
    assert_eq!(
        counts(&overall),
        Counts {
            dials: 9,
            answered_by_agent: 5,
            connected: 3,
            missed_by_agent: 1,
            missed_by_customer: 1,
            failed: 1,
            unknown: 1,
        }
    );
    assert_eq!(overall.provider(), proto::Provider::Unspecified);
    assert!(overall.agent.is_empty());
    check_times(&overall, &[p1, p2, p7], &talks);

    let rows: Vec<_> = answer
        .rows
        .iter()
        .map(|r| (r.provider(), r.agent.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (proto::Provider::Focalscope, AGENT_A),
            (proto::Provider::Focalscope, AGENT_B),
            (proto::Provider::Ccai, CCAI_AGENT),
        ]
    );
    let a = &answer.rows[0];
    assert_eq!(
        counts(a),
        Counts {
            dials: 4,
            answered_by_agent: 4,
            connected: 3,
            missed_by_agent: 0,
            missed_by_customer: 0,
            failed: 1,
            unknown: 0,
        }
    );
    check_times(a, &[p1, p2, p7], &talks);
    let b = &answer.rows[1];
    assert_eq!(
        counts(b),
        Counts {
            dials: 4,
            answered_by_agent: 1,
            connected: 0,
            missed_by_agent: 1,
            missed_by_customer: 1,
            failed: 0,
            unknown: 1,
        }
    );
    check_times(b, &[], &[]);
    let c = &answer.rows[2];
    assert_eq!(
        counts(c),
        Counts {
            dials: 1,
            answered_by_agent: 0,
            connected: 0,
            missed_by_agent: 0,
            missed_by_customer: 0,
            failed: 0,
            unknown: 0,
        }
    );
    check_times(c, &[], &[]);

    // Split by provider only, then by agent only.
    let by_provider = dial_stats(
        &app,
        proto::GetDialStatsRequest {
            from: Some(timestamp(since)),
            group_by: proto::DialStatsGroupBy::Provider.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let rows: Vec<_> = by_provider
        .rows
        .iter()
        .map(|r| (r.provider(), r.agent.as_str(), r.dials, r.connected))
        .collect();
    assert_eq!(
        rows,
        [
            (proto::Provider::Focalscope, "", 8, 3),
            (proto::Provider::Ccai, "", 1, 0)
        ]
    );
    let by_agent = dial_stats(
        &app,
        proto::GetDialStatsRequest {
            from: Some(timestamp(since)),
            group_by: proto::DialStatsGroupBy::Agent.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let rows: Vec<_> = by_agent
        .rows
        .iter()
        .map(|r| (r.provider(), r.agent.as_str(), r.dials))
        .collect();
    assert_eq!(
        rows,
        [
            (proto::Provider::Unspecified, CCAI_AGENT, 1),
            (proto::Provider::Unspecified, AGENT_A, 4),
            (proto::Provider::Unspecified, AGENT_B, 4),
        ]
    );

    // Filters: provider, agent, and the time range [from, to).
    let only = |request: proto::GetDialStatsRequest| {
        let app = &app;
        async move {
            let answer = dial_stats(app, request).await.unwrap();
            assert!(answer.rows.is_empty(), "not grouped: no rows");
            counts(&answer.overall.unwrap())
        }
    };
    let ccai_only = only(proto::GetDialStatsRequest {
        from: Some(timestamp(since)),
        provider: proto::Provider::Ccai.into(),
        ..Default::default()
    })
    .await;
    assert_eq!((ccai_only.dials, ccai_only.connected), (1, 0));
    let agent_b = only(proto::GetDialStatsRequest {
        from: Some(timestamp(since)),
        agent: format!(" {AGENT_B} "),
        ..Default::default()
    })
    .await;
    assert_eq!(agent_b, counts(b));
    let before_middle = only(proto::GetDialStatsRequest {
        from: Some(timestamp(since)),
        to: Some(timestamp(middle)),
        ..Default::default()
    })
    .await;
    // d1 to d4.
    assert_eq!(
        before_middle,
        Counts {
            dials: 4,
            answered_by_agent: 3,
            connected: 2,
            missed_by_agent: 1,
            missed_by_customer: 1,
            failed: 0,
            unknown: 0,
        }
    );
    let after_middle = only(proto::GetDialStatsRequest {
        from: Some(timestamp(middle)),
        ..Default::default()
    })
    .await;
    assert_eq!(after_middle.dials, 5);
    let nothing = dial_stats(
        &app,
        proto::GetDialStatsRequest {
            from: Some(timestamp(chrono::Utc::now() + chrono::Duration::hours(1))),
            to: Some(timestamp(chrono::Utc::now() + chrono::Duration::hours(2))),
            group_by: proto::DialStatsGroupBy::ProviderAndAgent.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(nothing.rows.is_empty(), "groups without dials are left out");
    let overall = nothing.overall.unwrap();
    assert_eq!(overall.dials, 0);
    check_times(&overall, &[], &[]);
}

#[tokio::test]
async fn dial_stats_parameters_are_validated() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now();
    let cases: Vec<(proto::GetDialStatsRequest, &[&str])> = vec![
        (proto::GetDialStatsRequest::default(), &["from"]),
        (
            proto::GetDialStatsRequest {
                from: Some(timestamp(now)),
                to: Some(timestamp(now)),
                ..Default::default()
            },
            &["to"],
        ),
        (
            proto::GetDialStatsRequest {
                from: Some(timestamp(now)),
                to: Some(timestamp(now - chrono::Duration::hours(1))),
                ..Default::default()
            },
            &["to"],
        ),
        (
            proto::GetDialStatsRequest {
                from: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                }),
                ..Default::default()
            },
            &["from"],
        ),
        (
            proto::GetDialStatsRequest {
                from: Some(timestamp(now + chrono::Duration::hours(1))),
                ..Default::default()
            },
            &["from"],
        ),
        (
            proto::GetDialStatsRequest {
                from: Some(timestamp(now)),
                provider: proto::Provider::Optico.into(),
                ..Default::default()
            },
            &["provider"],
        ),
        (
            proto::GetDialStatsRequest {
                from: Some(timestamp(now)),
                provider: 42,
                agent: "bad\u{1}agent".into(),
                group_by: 9,
                ..Default::default()
            },
            &["provider", "agent", "group_by"],
        ),
    ];
    for (request, fields) in cases {
        let status = dial_stats(&app, request.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(violated_fields(&status), *fields, "{request:?}");
    }
    // Without `to`, the range ends now; an empty database counts nothing.
    let answer = dial_stats(
        &app,
        proto::GetDialStatsRequest {
            from: Some(timestamp(now - chrono::Duration::days(1))),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(answer.overall.unwrap().dials, 0);
}
