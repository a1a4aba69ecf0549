//! StatsService over a fake iAdvize answering as documented: GetStatistics
//! (filters, indicator / channel rules, granularity, answer shapes),
//! conversations (filters, the 3-month window, history parsing),
//! transactions, satisfactions and call meetings; the exact requests sent
//! (method, path, `filters[...]`, `full`, `page`, `limit`, `X-API-Key`),
//! error mapping, and bad input refused before iAdvize is called. Last, every
//! RPC against the sandbox's simulated iAdvize.

use axum::http::Method;
use chrono::{NaiveDateTime, TimeZone};
use prost_types::Timestamp;
use serde_json::json;
use switchboard::pb::v1::{self as proto, stats_service_client::StatsServiceClient};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{
    AppOptions, AuthedChannel, TEST_TOKEN, TestApp, assert_invalid,
    fake_iadvize::{
        DOC_CALL_MEETING_IDS, DOC_CONVERSATION_IDS, DOC_SATISFACTION_IDS, DOC_TRANSACTION_IDS,
        FakeIadvize, IADVIZE_API_KEY, Received,
    },
    pairs, reason, violated_fields,
};

const PARIS: &str = "Europe/Paris";

async fn app_with(options: AppOptions) -> (TestApp, FakeIadvize) {
    let iadvize = FakeIadvize::start().await;
    let app = TestApp::spawn_with(options.iadvize(&iadvize.url)).await;
    (app, iadvize)
}

/// The app with `vendors.iadvize.timezone` = UTC: the tests written on the
/// UTC clock (`utc(...)`), so that a wall clock and an instant read alike.
async fn app_with_iadvize() -> (TestApp, FakeIadvize) {
    app_with(AppOptions::default().env("SWITCHBOARD__VENDORS__IADVIZE__TIMEZONE", "UTC")).await
}

/// The app with `vendors.iadvize.timezone` = Europe/Paris (the default, made
/// explicit).
async fn app_in_paris() -> (TestApp, FakeIadvize) {
    app_with(AppOptions::default().env("SWITCHBOARD__VENDORS__IADVIZE__TIMEZONE", PARIS)).await
}

async fn stats(app: &TestApp) -> StatsServiceClient<AuthedChannel> {
    StatsServiceClient::new(app.channel_with_token(Some(TEST_TOKEN)).await)
}

/// A wall-clock time `YYYY-MM-DD HH:MM:SS` of `zone` as a Timestamp.
fn at(zone: &str, text: &str) -> Timestamp {
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
    let time = tz.from_local_datetime(&naive).single().unwrap();
    Timestamp {
        seconds: time.timestamp(),
        nanos: 0,
    }
}

fn utc(text: &str) -> Timestamp {
    at("UTC", text)
}

/// Asserts the request the fake got: GET `path` with the test key and
/// exactly `query`.
fn assert_get(request: &Received, path: &str, query: &[(&str, &str)]) {
    assert_eq!(request.method, Method::GET);
    assert_eq!(request.path, path);
    assert_eq!(request.api_key.as_deref(), Some(IADVIZE_API_KEY));
    assert_eq!(request.query, pairs(query));
}

// ---- GetStatistics ----

fn indicator(name: &str, value: Option<f64>) -> proto::StatisticIndicatorValue {
    proto::StatisticIndicatorValue {
        indicator: name.into(),
        value,
        periods: Vec::new(),
    }
}

fn period(label: &str, start: Option<Timestamp>, value: f64) -> proto::StatisticPeriodValue {
    proto::StatisticPeriodValue {
        period_start: start,
        value: Some(value),
        period: label.into(),
    }
}

#[tokio::test]
async fn get_statistics_sends_every_filter_and_types_the_values() {
    let (app, iadvize) = app_in_paris().await;
    let response = stats(&app)
        .await
        .get_statistics(proto::GetStatisticsRequest {
            website_list: vec![32, 123, 24, 32],
            channel: proto::StatisticChannel::Chat.into(),
            resource: proto::StatisticResource::Operator.into(),
            resource_id: 123,
            indicators: vec![
                "contact_number".into(),
                "contact_missed_number".into(),
                "satisfaction_global_rate".into(),
            ],
            from: Some(at(PARIS, "2017-03-01 00:00:00")),
            // Sub-seconds are dropped, the time written on Paris' clock.
            to: Some(Timestamp {
                nanos: 999_000_000,
                ..at(PARIS, "2017-03-31 23:59:59")
            }),
            granularity: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_get(
        &iadvize.single(),
        "/statistic",
        &[
            ("filters[website_list]", "24,32,123"),
            ("filters[channel]", "chat"),
            ("filters[resource]", "operator"),
            ("filters[resource_id]", "123"),
            (
                "filters[indicators]",
                "contact_number,contact_missed_number,satisfaction_global_rate",
            ),
            ("filters[from]", "2017-03-01 00:00:00"),
            ("filters[to]", "2017-03-31 23:59:59"),
        ],
    );
    let operator = |id: i64, name: &str, extra: f64| proto::ResourceStatistics {
        resource_id: id,
        resource_name: name.into(),
        indicators: vec![
            indicator("contact_number", Some(10.0 + extra)),
            indicator("contact_missed_number", Some(20.0 + extra)),
            indicator("satisfaction_global_rate", Some(30.0 + extra)),
        ],
    };
    assert_eq!(
        response.resources,
        [
            operator(123, "John Doe", 0.0),
            operator(456, "Jane Roe", 1.0)
        ]
    );
}

#[tokio::test]
async fn get_statistics_without_filters_sends_none_and_gives_one_overall_result() {
    let (app, iadvize) = app_with_iadvize().await;
    let response = stats(&app)
        .await
        .get_statistics(proto::GetStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_get(&iadvize.single(), "/statistic", &[]);
    assert_eq!(
        response.resources,
        [proto::ResourceStatistics {
            resource_id: 0,
            resource_name: String::new(),
            indicators: vec![indicator("contact_number", Some(10.0))],
        }]
    );
}

#[tokio::test]
async fn a_granularity_gives_one_value_per_period_oldest_first() {
    let (app, iadvize) = app_in_paris().await;
    let mut client = stats(&app).await;
    for (granularity, name, labels, starts) in [
        (
            proto::StatisticGranularity::Day,
            "day",
            ["2017-03-01", "2017-03-02"],
            ["2017-03-01 00:00:00", "2017-03-02 00:00:00"],
        ),
        (
            proto::StatisticGranularity::Hour,
            "hour",
            ["2017-03-01 10:00:00", "2017-03-01 11:00:00"],
            ["2017-03-01 10:00:00", "2017-03-01 11:00:00"],
        ),
        (
            proto::StatisticGranularity::Month,
            "month",
            ["2017-03", "2017-04"],
            // April begins in summer time.
            ["2017-03-01 00:00:00", "2017-04-01 00:00:00"],
        ),
    ] {
        let response = client
            .get_statistics(proto::GetStatisticsRequest {
                channel: proto::StatisticChannel::Call.into(),
                indicators: vec!["transaction_total_amount".into()],
                granularity: granularity.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_get(
            &iadvize.received().pop().unwrap(),
            "/statistic",
            &[
                ("filters[channel]", "call"),
                ("filters[indicators]", "transaction_total_amount"),
                ("filters[granularity]", name),
            ],
        );
        assert_eq!(
            response.resources[0].indicators,
            [proto::StatisticIndicatorValue {
                indicator: "transaction_total_amount".into(),
                value: None,
                periods: vec![
                    period(labels[0], Some(at(PARIS, starts[0])), 10.0),
                    period(labels[1], Some(at(PARIS, starts[1])), 12.0),
                ],
            }],
            "{name}"
        );
    }
}

#[tokio::test]
async fn other_plausible_answer_shapes_read_the_same() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = stats(&app).await;
    let request = proto::GetStatisticsRequest {
        resource: proto::StatisticResource::Operator.into(),
        indicators: vec!["contact_number".into()],
        granularity: proto::StatisticGranularity::Day.into(),
        ..Default::default()
    };
    let expected = |id: i64, first: f64, second: f64| proto::ResourceStatistics {
        resource_id: id,
        resource_name: String::new(),
        indicators: vec![proto::StatisticIndicatorValue {
            indicator: "contact_number".into(),
            value: None,
            periods: vec![
                period("2017-03-01", Some(utc("2017-03-01 00:00:00")), first),
                period("2017-03-02", Some(utc("2017-03-02 00:00:00")), second),
            ],
        }],
    };
    for data in [
        // Rows per resource and day.
        json!([
            {"operator_id": 123, "date": "2017-03-02", "contact_number": "5"},
            {"operator_id": 123, "date": "2017-03-01", "contact_number": 12},
            {"operator_id": 456, "date": "2017-03-01", "contact_number": 1},
            {"operator_id": 456, "date": "2017-03-02", "contact_number": 0},
        ]),
        // Keyed by resource id, then by indicator and day.
        json!({
            "123": {"contact_number": [{"date": "2017-03-01", "value": 12}, {"date": "2017-03-02", "value": 5}]},
            "456": {"contact_number": [["2017-03-01", 1], ["2017-03-02", 0]]},
        }),
    ] {
        iadvize.clear_answers();
        iadvize.answer(
            Method::GET,
            "/statistic",
            200,
            &json!({"meta": {"status": "success"}, "data": data}).to_string(),
        );
        let response = client
            .get_statistics(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            response.resources,
            [expected(123, 12.0, 5.0), expected(456, 1.0, 0.0)],
            "{data}"
        );
    }

    // An answer that fits no plausible shape is reported, not guessed at.
    iadvize.clear_answers();
    iadvize.answer(
        Method::GET,
        "/statistic",
        200,
        r#"{"meta": {"status": "success"}, "data": "42 contacts"}"#,
    );
    let status = client.get_statistics(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown, "{status:?}");
    assert_eq!(reason(&status), "VENDOR_BAD_RESPONSE");
}

#[tokio::test]
async fn indicators_must_be_documented_and_available_on_the_channel() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = stats(&app).await;
    let ask = |channel: proto::StatisticChannel, indicators: &[&str]| proto::GetStatisticsRequest {
        channel: channel.into(),
        indicators: indicators.iter().map(|i| i.to_string()).collect(),
        ..Default::default()
    };
    use proto::StatisticChannel as C;
    // (channel, indicators, the ones refused)
    let cases: &[(C, &[&str], &[&str])] = &[
        // Chat only.
        (
            C::Call,
            &["contact_number", "contact_missed_number"],
            &["indicators[1]"],
        ),
        (
            C::Video,
            &["contact_simultaneous_number"],
            &["indicators[0]"],
        ),
        // Chat and video.
        (C::Call, &["contact_waiting_duration"], &["indicators[0]"]),
        // Chat, call and video.
        (
            C::Sms,
            &[
                "rule_contact_rate",
                "satisfaction_global_rate",
                "max_occupation_rate",
                "occupation_duration",
            ],
            &[
                "indicators[0]",
                "indicators[1]",
                "indicators[2]",
                "indicators[3]",
            ],
        ),
        (
            C::Twitter,
            &["presence_duration", "non_production_duration"],
            &["indicators[1]"],
        ),
        // No table lists instagram.
        (
            C::Instagram,
            &["contact_number", "conversion_rate"],
            &["indicators[0]", "indicators[1]"],
        ),
        // Unknown names and duplicates, whatever the channel.
        (
            C::Chat,
            &["contact_number", "contacts", "", "contact_number"],
            &["indicators[1]", "indicators[2]", "indicators[3]"],
        ),
        (C::Unspecified, &["Contact_Number"], &["indicators[0]"]),
    ];
    for (channel, indicators, refused) in cases {
        let status = client
            .get_statistics(ask(*channel, indicators))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{channel:?} {indicators:?}"
        );
        assert_eq!(violated_fields(&status), *refused, "{}", status.message());
    }
    // The message says where an indicator is available.
    let status = client
        .get_statistics(ask(C::Call, &["contact_waiting_duration"]))
        .await
        .unwrap_err();
    assert!(
        status
            .message()
            .contains("not available on channel call; it is available on chat, video"),
        "{}",
        status.message()
    );
    assert!(iadvize.received().is_empty(), "iAdvize was called");

    // Each of the doc's tables on a channel it lists, and anything known
    // without a channel.
    for (channel, indicators) in [
        (
            C::Whatsapp,
            vec![
                "contact_answered_duration",
                "presence_smoothed_duration",
                "transaction_amount_per_conversation",
            ],
        ),
        (
            C::FacebookBusinessOnMessenger,
            vec!["max_and_partial_occupation_rate", "cart_global_amount"],
        ),
        (
            C::Chat,
            vec![
                "contact_missed_with_no_operators_number",
                "contact_waiting_abort_number",
            ],
        ),
        (
            C::Video,
            vec![
                "contact_waiting_before_quit_duration",
                "targeting_rule_triggered",
                "satisfaction_respondent_number",
            ],
        ),
        (
            C::Call,
            vec!["production_smoothed_duration", "occupation_duration"],
        ),
        (
            C::Unspecified,
            vec!["contact_missed_number", "contact_waiting_number"],
        ),
    ] {
        client
            .get_statistics(ask(channel, &indicators))
            .await
            .unwrap_or_else(|e| panic!("{channel:?} {indicators:?}: {e:?}"));
    }
    assert_eq!(iadvize.requests(Method::GET, "/statistic").len(), 6);
}

#[tokio::test]
async fn get_statistics_refuses_bad_input_before_iadvize_is_called() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = stats(&app).await;
    let one = vec!["contact_number".to_owned()];
    let two = vec!["contact_number".to_owned(), "contact_duration".to_owned()];
    let cases = [
        // A granularity needs exactly one indicator.
        (
            proto::GetStatisticsRequest {
                indicators: two,
                granularity: proto::StatisticGranularity::Day.into(),
                ..Default::default()
            },
            vec!["granularity"],
        ),
        (
            proto::GetStatisticsRequest {
                granularity: proto::StatisticGranularity::Hour.into(),
                ..Default::default()
            },
            vec!["granularity"],
        ),
        // from <= to.
        (
            proto::GetStatisticsRequest {
                from: Some(utc("2017-03-02 00:00:00")),
                to: Some(utc("2017-03-01 23:59:59")),
                ..Default::default()
            },
            vec!["to"],
        ),
        (
            proto::GetStatisticsRequest {
                from: Some(Timestamp {
                    seconds: 1,
                    nanos: -1,
                }),
                ..Default::default()
            },
            vec!["from"],
        ),
        // Enum values the contract does not define.
        (
            proto::GetStatisticsRequest {
                channel: 42,
                resource: 42,
                granularity: 42,
                indicators: one.clone(),
                ..Default::default()
            },
            vec!["channel", "resource", "granularity"],
        ),
        // resource_id needs resource; ids are positive.
        (
            proto::GetStatisticsRequest {
                resource_id: 32,
                ..Default::default()
            },
            vec!["resource_id"],
        ),
        (
            proto::GetStatisticsRequest {
                resource: proto::StatisticResource::Skill.into(),
                resource_id: -32,
                website_list: vec![1, 0],
                ..Default::default()
            },
            vec!["website_list[1]", "resource_id"],
        ),
    ];
    for (request, fields) in cases {
        assert_invalid(client.get_statistics(request).await, &fields);
    }
    assert!(iadvize.received().is_empty(), "iAdvize was called");

    // The edges are fine: from == to, one indicator with a granularity.
    client
        .get_statistics(proto::GetStatisticsRequest {
            indicators: one,
            granularity: proto::StatisticGranularity::Month.into(),
            from: Some(utc("2017-03-01 00:00:00")),
            to: Some(utc("2017-03-01 00:00:00")),
            ..Default::default()
        })
        .await
        .unwrap();
}

// ---- conversations ----

/// The messages of the doc's history example, typed.
fn doc_history() -> Vec<proto::ConversationMessage> {
    use proto::ConversationMessageType as T;
    [
        (T::Link, "2016-02-16 11:24:21", "http://test.com/", None),
        (
            T::VisitorText,
            "2016-02-16 11:24:23",
            "Hello",
            Some(1455618264049),
        ),
        (
            T::Notification,
            "2016-02-16 11:24:31",
            "The chat rule has been activated.",
            None,
        ),
        (
            T::OperatorText,
            "2016-02-16 11:24:43",
            "Hello, how can I help you?",
            Some(1455618283869),
        ),
        (
            T::VisitorText,
            "2016-02-16 11:25:26",
            "I would like to know if my order: xxx has been sent",
            Some(1455618327321),
        ),
        (
            T::OperatorText,
            "2016-02-16 11:25:45",
            "I check it, thank you for your patience",
            Some(1455618346030),
        ),
        (
            T::OperatorText,
            "2016-02-16 11:26:02",
            "Your order has been shipped",
            Some(1455618363054),
        ),
        (
            T::VisitorText,
            "2016-02-16 11:26:09",
            "Thanks, goodbye",
            Some(1455618370072),
        ),
        (
            T::OperatorText,
            "2016-02-16 11:26:17",
            "Goodbye",
            Some(1455618377364),
        ),
        (
            T::Notification,
            "2016-02-16 11:26:43",
            "OPERATOR_CHAT_CLOSE",
            None,
        ),
    ]
    .into_iter()
    .map(|(kind, time, content, client)| proto::ConversationMessage {
        r#type: kind.into(),
        // The milliseconds, when given, are the instant; the string is a
        // Paris wall clock.
        time: Some(client.map_or_else(|| at(PARIS, time), millis)),
        content: content.into(),
        client_timestamp_ms: client,
    })
    .collect()
}

fn millis(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// With the default zone, the doc's history example reads as the instants
/// its milliseconds say, and its date strings agree with them to the second
/// (they are Paris time: 11:24:43 is 10:24:43 UTC, 1455618283869 ms).
#[tokio::test]
async fn the_doc_history_times_are_the_instants_its_milliseconds_say() {
    let (app, _iadvize) = app_with(AppOptions::default()).await;
    let conversation = stats(&app)
        .await
        .get_conversation(proto::GetConversationRequest {
            conversation_id: 666,
        })
        .await
        .unwrap()
        .into_inner()
        .conversation
        .unwrap();
    assert_eq!(conversation.history.len(), 10);
    for message in &conversation.history {
        let time = message.time.unwrap();
        if let Some(ms) = message.client_timestamp_ms {
            assert_eq!(time, millis(ms), "{}", message.content);
        }
    }
    let hello = &conversation.history[3];
    assert_eq!(hello.content, "Hello, how can I help you?");
    assert_eq!(hello.time, Some(millis(1455618283869)));
    // 11:24:43 Paris (winter, UTC+1) is within the second of the ms value.
    assert_eq!(at(PARIS, "2016-02-16 11:24:43").seconds, 1455618283);
    // A message without milliseconds: its string, in Paris time.
    assert_eq!(
        conversation.history[0].time,
        Some(at(PARIS, "2016-02-16 11:24:21"))
    );
    assert_eq!(
        conversation.created_at,
        Some(at(PARIS, "2016-02-16 11:24:21"))
    );
}

#[tokio::test]
async fn get_conversation_reads_every_field_and_the_doc_history() {
    let (app, iadvize) = app_in_paris().await;
    let conversation = stats(&app)
        .await
        .get_conversation(proto::GetConversationRequest {
            conversation_id: 666,
        })
        .await
        .unwrap()
        .into_inner()
        .conversation
        .unwrap();
    assert_get(
        &iadvize.single(),
        "/conversation.json-unicode/666",
        &[("formatHistory", "0")],
    );
    assert_eq!(
        conversation,
        proto::Conversation {
            id: 666,
            channel: proto::ConversationChannel::Chat.into(),
            visitor_uid: "0a1572b7cc5027fe443f4203eaf0b98d4cbea6d313afa".into(),
            history: doc_history(),
            history_raw: String::new(),
            operator_answer: true,
            operator_closed: true,
            waiting_list: false,
            page_type: "product".into(),
            created_at: Some(at(PARIS, "2016-02-16 11:24:21")),
            closed_at: Some(at(PARIS, "2016-02-16 11:26:43")),
            website_id: 1,
            operator_id: 123,
            skill_id: 12,
            tag_list: vec![3, 4],
            rule_id: 107,
            xmpp_id: "6f1c3a62-1b7f-4c8e-9d2a-5e0b7c4d1f20".into(),
        }
    );
}

#[tokio::test]
async fn histories_as_json_lists_keep_rich_content_and_unknown_kinds_and_unreadable_ones_stay_raw()
{
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = stats(&app).await;
    let listed = client
        .list_conversations(proto::ListConversationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<i64> = listed.conversations.iter().map(|c| c.id).collect();
    assert_eq!(ids, DOC_CONVERSATION_IDS);
    // 667 sends its history as a JSON list, 668 as a JSON string: the same.
    assert_eq!(
        listed.conversations[1].history,
        listed.conversations[2].history
    );
    let kinds: Vec<i32> = listed.conversations[1]
        .history
        .iter()
        .map(|m| m.r#type)
        .collect();
    use proto::ConversationMessageType as T;
    assert_eq!(
        kinds,
        [
            T::Link,
            T::VisitorText,
            T::OperatorRichContent,
            T::VisitorRichContent
        ]
        .map(i32::from)
    );
    assert_eq!(
        listed.conversations[1].history[2].content,
        "http://img.png/"
    );
    assert_eq!(listed.conversations[1].history[2].client_timestamp_ms, None);

    // A kind the doc does not list is kept as its number.
    let history = r#"[[4,"2016-02-16 11:24:21","?"],[1,"2016-02-16 11:24:43","Hi",1455618283869]]"#;
    iadvize.answer(
        Method::GET,
        "/conversation.json-unicode/667",
        200,
        &json!({"meta": {"status": "success"}, "data": {"id": 667, "history": history}})
            .to_string(),
    );
    let conversation = client
        .get_conversation(proto::GetConversationRequest {
            conversation_id: 667,
        })
        .await
        .unwrap()
        .into_inner()
        .conversation
        .unwrap();
    assert_eq!(conversation.history.len(), 2);
    assert_eq!(conversation.history[0].r#type, 4);
    assert_eq!(conversation.history[0].content, "?");
    assert!(conversation.history_raw.is_empty());
    // Fields iAdvize left out are empty, never made up.
    assert_eq!(
        conversation.channel(),
        proto::ConversationChannel::Unspecified
    );
    assert_eq!(conversation.created_at, None);
    assert_eq!(conversation.closed_at, None);

    // A history switchboard cannot read is handed over as it came.
    let history = "Visitor: Hello\nOperator: Hi";
    iadvize.answer(
        Method::GET,
        "/conversation.json-unicode/668",
        200,
        &json!({"meta": {"status": "success"}, "data": {"id": 668, "history": history}})
            .to_string(),
    );
    let conversation = client
        .get_conversation(proto::GetConversationRequest {
            conversation_id: 668,
        })
        .await
        .unwrap()
        .into_inner()
        .conversation
        .unwrap();
    assert!(conversation.history.is_empty());
    assert_eq!(conversation.history_raw, history);
}

#[tokio::test]
async fn list_conversations_sends_every_filter_on_the_documented_path_and_pages() {
    let (app, iadvize) = app_in_paris().await;
    let mut client = stats(&app).await;
    let request = proto::ListConversationsRequest {
        channel: proto::ConversationChannel::Social.into(),
        from: Some(at(PARIS, "2013-08-22 00:00:00")),
        to: Some(at(PARIS, "2013-08-25 18:30:00")),
        website_id: 1,
        operator_id: 123,
        visitor_id: 560,
        skill_id: 12,
        tag_id: 3,
        rule_id: 107,
        page_size: 2,
        page_token: String::new(),
    };
    let first = client
        .list_conversations(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_get(
        &iadvize.single(),
        "/conversation.json-unicode",
        &[
            ("formatHistory", "0"),
            ("filters[channel]", "social"),
            ("filters[from]", "2013-08-22 00:00:00"),
            ("filters[to]", "2013-08-25 18:30:00"),
            ("filters[website_id]", "1"),
            ("filters[operator_id]", "123"),
            ("filters[visitor_id]", "560"),
            ("filters[skill_id]", "12"),
            ("filters[tag_id]", "3"),
            ("filters[rule_id]", "107"),
            ("full", "1"),
            ("page", "1"),
            ("limit", "2"),
        ],
    );
    assert_eq!(first.conversations.len(), 2);
    assert_eq!(first.conversations[0].history, doc_history());
    assert!(!first.next_page_token.is_empty());

    let second = client
        .list_conversations(proto::ListConversationsRequest {
            page_token: first.next_page_token.clone(),
            page_size: 0,
            ..request.clone()
        })
        .await
        .unwrap()
        .into_inner();
    let sent = iadvize.received().pop().unwrap();
    assert_eq!(
        (sent.query("page"), sent.query("limit")),
        (Some("2"), Some("2"))
    );
    assert_eq!(sent.query("filters[rule_id]"), Some("107"));
    assert_eq!(second.conversations.len(), 1);
    assert_eq!(second.conversations[0].id, 668);
    assert!(second.next_page_token.is_empty());

    // The token belongs to these filters.
    assert_invalid(
        client
            .list_conversations(proto::ListConversationsRequest {
                rule_id: 108,
                page_token: first.next_page_token,
                ..request
            })
            .await,
        &["page_token"],
    );
    assert_eq!(iadvize.received().len(), 2);
}

#[tokio::test]
async fn conversations_over_more_than_three_months_are_refused_naming_to() {
    let (app, iadvize) = app_in_paris().await;
    let mut client = stats(&app).await;
    let window = |from: &str, to: &str| proto::ListConversationsRequest {
        from: Some(at(PARIS, from)),
        to: Some(at(PARIS, to)),
        ..Default::default()
    };
    for (from, to) in [
        ("2013-08-22 00:00:00", "2013-11-22 00:00:01"),
        ("2013-01-01 00:00:00", "2014-01-01 00:00:00"),
        // Nov 30 + 3 months is the last day of February.
        ("2023-11-30 12:00:00", "2024-03-01 00:00:00"),
    ] {
        let status = client
            .list_conversations(window(from, to))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), ["to"], "{from} → {to}");
        assert!(
            status.message().contains("more than 3 months after from"),
            "{}",
            status.message()
        );
    }
    // to before from is its own error.
    assert_invalid(
        client
            .list_conversations(window("2013-08-22 00:00:00", "2013-08-21 00:00:00"))
            .await,
        &["to"],
    );
    assert!(iadvize.received().is_empty(), "iAdvize was called");

    // Exactly three months, and open ends (iAdvize's 3-month defaults), pass.
    for request in [
        window("2013-08-22 00:00:00", "2013-11-22 00:00:00"),
        window("2023-11-30 12:00:00", "2024-02-29 12:00:00"),
        proto::ListConversationsRequest {
            from: Some(at(PARIS, "2010-01-01 00:00:00")),
            ..Default::default()
        },
        proto::ListConversationsRequest {
            to: Some(at(PARIS, "2030-01-01 00:00:00")),
            ..Default::default()
        },
    ] {
        client.list_conversations(request).await.unwrap();
    }
    let sent: Vec<_> = iadvize
        .received()
        .iter()
        .map(|r| {
            (
                r.query("filters[from]").map(str::to_owned),
                r.query("filters[to]").map(str::to_owned),
            )
        })
        .collect();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        sent,
        [
            (some("2013-08-22 00:00:00"), some("2013-11-22 00:00:00")),
            (some("2023-11-30 12:00:00"), some("2024-02-29 12:00:00")),
            (some("2010-01-01 00:00:00"), None),
            (None, some("2030-01-01 00:00:00")),
        ]
    );

    // Should iAdvize still judge the window too long, its refusal is kept.
    iadvize.answer(
        Method::GET,
        "/conversation.json-unicode",
        200,
        r#"{"meta": {"status": "fail", "message": "Period can not be over 3 months."}}"#,
    );
    let status = client
        .list_conversations(window("2013-08-22 00:00:00", "2013-11-22 00:00:00"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status
            .message()
            .contains("Period can not be over 3 months.")
    );
}

// ---- transactions ----

#[tokio::test]
async fn list_transactions_sends_each_conversation_filter_and_types_every_field() {
    let (app, iadvize) = app_in_paris().await;
    let mut client = stats(&app).await;
    use proto::list_transactions_request::Conversation as Link;
    let base = proto::ListTransactionsRequest {
        website_id: 1,
        operator_id: 123,
        conversation: None,
        from: Some(at(PARIS, "2017-03-01 00:00:00")),
        to: Some(at(PARIS, "2017-03-30 12:00:00")),
        page_size: 500,
        page_token: String::new(),
    };
    for (link, sent) in [
        (Some(Link::ConversationId(666)), Some("666")),
        (Some(Link::HasConversation(true)), Some("!null")),
        (Some(Link::HasConversation(false)), Some("null")),
        (None, None),
    ] {
        let listed = client
            .list_transactions(proto::ListTransactionsRequest {
                conversation: link,
                ..base.clone()
            })
            .await
            .unwrap()
            .into_inner();
        let mut query = vec![
            ("filters[website_id]", "1"),
            ("filters[operator_id]", "123"),
        ];
        if let Some(sent) = sent {
            query.push(("filters[conversation_id]", sent));
        }
        query.extend([
            ("filters[from]", "2017-03-01 00:00:00"),
            ("filters[to]", "2017-03-30 12:00:00"),
            ("full", "1"),
            ("page", "1"),
            ("limit", "100"),
        ]);
        assert_get(&iadvize.received().pop().unwrap(), "/transaction", &query);
        assert_eq!(listed.transactions.len(), DOC_TRANSACTION_IDS.len());
        assert!(listed.next_page_token.is_empty());
    }
    assert_eq!(iadvize.received().len(), 4);

    let listed = client
        .list_transactions(proto::ListTransactionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.transactions[0],
        proto::Transaction {
            id: 123,
            external_id: "ORDER-123".into(),
            visitor_uid: "0a1572b7cc5027fe443f4203eaf0b98d4cbea6d313afa".into(),
            visitor_email: "visitor@example.com".into(),
            amount: 129.9,
            created_at: Some(at(PARIS, "2016-02-16 11:30:00")),
            website_id: 1,
            operator_id: 123,
            conversation_id: Some(666),
        }
    );
    // Linked to nothing: no conversation id (not 0), no operator.
    let unlinked = &listed.transactions[2];
    assert_eq!((unlinked.id, unlinked.amount), (125, 45.5));
    assert_eq!(unlinked.conversation_id, None);
    assert_eq!(unlinked.operator_id, 0);

    let transaction = client
        .get_transaction(proto::GetTransactionRequest {
            transaction_id: 124,
        })
        .await
        .unwrap()
        .into_inner()
        .transaction
        .unwrap();
    assert_eq!(transaction.id, 124);
    assert_get(&iadvize.received().pop().unwrap(), "/transaction/124", &[]);
}

// ---- satisfactions ----

#[tokio::test]
async fn satisfactions_list_with_their_filters_and_read_every_field() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = stats(&app).await;
    let first = client
        .list_satisfactions(proto::ListSatisfactionsRequest {
            website_id: 1,
            operator_id: 123,
            conversation_id: 666,
            from: Some(utc("2016-02-01 00:00:00")),
            to: Some(utc("2016-02-29 23:59:59")),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_get(
        &iadvize.single(),
        "/satisfaction",
        &[
            ("filters[website_id]", "1"),
            ("filters[operator_id]", "123"),
            ("filters[conversation_id]", "666"),
            ("filters[from]", "2016-02-01 00:00:00"),
            ("filters[to]", "2016-02-29 23:59:59"),
            ("full", "1"),
            ("page", "1"),
            ("limit", "1"),
        ],
    );
    assert_eq!(
        first.satisfactions,
        [proto::Satisfaction {
            id: 123,
            note_welcome: 100.0,
            note_resolution: 75.5,
            // iAdvize's `node_delay`.
            note_delay: 50.0,
            comment: "Quick and helpful".into(),
            created_at: Some(utc("2016-02-16 11:27:00")),
            website_id: 1,
            operator_id: 123,
            conversation_id: 666,
        }]
    );
    assert!(!first.next_page_token.is_empty());
    // A token from another list is refused.
    assert_invalid(
        client
            .list_transactions(proto::ListTransactionsRequest {
                page_token: first.next_page_token,
                ..Default::default()
            })
            .await,
        &["page_token"],
    );

    let satisfaction = client
        .get_satisfaction(proto::GetSatisfactionRequest {
            satisfaction_id: DOC_SATISFACTION_IDS[1],
        })
        .await
        .unwrap()
        .into_inner()
        .satisfaction
        .unwrap();
    assert_eq!(satisfaction.id, 124);
    assert_get(&iadvize.received().pop().unwrap(), "/satisfaction/124", &[]);
    assert_eq!(iadvize.received().len(), 2);
}

// ---- call meetings ----

#[tokio::test]
// The deprecated integer ids are still filled, and checked.
#[allow(deprecated)]
async fn call_meetings_list_with_their_filters_and_read_every_field() {
    let (app, iadvize) = app_in_paris().await;
    let mut client = stats(&app).await;
    let listed = client
        .list_call_meetings(proto::ListCallMeetingsRequest {
            website_id: 1,
            // The doc's example period.
            from: Some(at(PARIS, "2015-03-31 19:00:00")),
            to: Some(at(PARIS, "2015-06-30 18:00:00")),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_get(
        &iadvize.single(),
        "/callmeeting",
        &[
            ("filters[website_id]", "1"),
            ("filters[from]", "2015-03-31 19:00:00"),
            ("filters[to]", "2015-06-30 18:00:00"),
            ("full", "1"),
            ("page", "1"),
            ("limit", "20"),
        ],
    );
    assert_eq!(
        listed.call_meetings[0],
        proto::CallMeeting {
            id: 123,
            phone_number: "0614037735".into(),
            visitor_uid: "0a1572b7cc5027fe443f4203eaf0b98d4cbea6d313afa".into(),
            status: proto::CallMeetingStatus::Pending.into(),
            start_at: Some(at(PARIS, "2015-03-31 19:00:00")),
            website_id: 1,
            targeting_rule_id: 107,
            skill_id: 12,
            targeting_rule_ref: "107".into(),
            skill_ref: "12".into(),
        }
    );
    assert_eq!(
        listed.call_meetings[1].status(),
        proto::CallMeetingStatus::Done
    );

    let meeting = client
        .get_call_meeting(proto::GetCallMeetingRequest {
            call_meeting_id: DOC_CALL_MEETING_IDS[1],
        })
        .await
        .unwrap()
        .into_inner()
        .call_meeting
        .unwrap();
    assert_eq!(meeting.id, 124);
    assert_get(&iadvize.received().pop().unwrap(), "/callmeeting/124", &[]);
}

/// With the default zone, `from` / `to` go to iAdvize on the Paris clock:
/// one hour ahead of UTC in winter, two in summer.
#[tokio::test]
async fn date_filters_are_written_in_paris_time_by_default_winter_and_summer() {
    let (app, iadvize) = app_with(AppOptions::default()).await;
    stats(&app)
        .await
        .list_call_meetings(proto::ListCallMeetingsRequest {
            website_id: 1,
            from: Some(utc("2015-03-01 18:00:00")),
            to: Some(utc("2015-05-31 22:30:00")),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap();
    let request = iadvize.single();
    assert_eq!(
        request.query("filters[from]"),
        Some("2015-03-01 19:00:00"),
        "winter: UTC+1"
    );
    assert_eq!(
        request.query("filters[to]"),
        Some("2015-06-01 00:30:00"),
        "summer: UTC+2"
    );
}

// ---- errors ----

#[tokio::test]
async fn iadvize_refusals_and_outages_map_to_their_codes() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = stats(&app).await;

    // Unknown ids are NOT_FOUND with iAdvize's message, for every Get.
    let conversation = client
        .get_conversation(proto::GetConversationRequest {
            conversation_id: 999,
        })
        .await
        .map(|_| ());
    let transaction = client
        .get_transaction(proto::GetTransactionRequest {
            transaction_id: 999,
        })
        .await
        .map(|_| ());
    let satisfaction = client
        .get_satisfaction(proto::GetSatisfactionRequest {
            satisfaction_id: 999,
        })
        .await
        .map(|_| ());
    let meeting = client
        .get_call_meeting(proto::GetCallMeetingRequest {
            call_meeting_id: 999,
        })
        .await
        .map(|_| ());
    for (result, resource) in [
        (conversation, "conversation"),
        (transaction, "transaction"),
        (satisfaction, "satisfaction"),
        (meeting, "callmeeting"),
    ] {
        let status = result.unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{resource}");
        assert_eq!(reason(&status), "VENDOR_NOT_FOUND");
        assert!(
            status
                .message()
                .contains(&format!("Unknown '{resource}' with 'id' 999.")),
            "{}",
            status.message()
        );
    }

    // A filter iAdvize refuses is INVALID_ARGUMENT naming it.
    iadvize.answer(
        Method::GET,
        "/statistic",
        400,
        r#"{"meta": {"status": "fail", "message": "Value of field 'indicators' is not valid."}}"#,
    );
    let status = client
        .get_statistics(proto::GetStatisticsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["indicators"]);

    // Down: a read is tried three times, then UNAVAILABLE with a retry hint.
    iadvize.answer(Method::GET, "/transaction", 503, "<html>maintenance</html>");
    let status = client
        .list_transactions(proto::ListTransactionsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.get_error_details().retry_info().is_some());
    assert_eq!(iadvize.requests(Method::GET, "/transaction").len(), 3);
}

#[tokio::test]
async fn a_wrong_key_is_failed_precondition_and_never_shown() {
    let (app, iadvize) = app_with(AppOptions::default().env(
        "SWITCHBOARD__VENDORS__IADVIZE__API_KEY",
        "wrong-key-3b8f0d6e2a",
    ))
    .await;
    let status = stats(&app)
        .await
        .list_call_meetings(proto::ListCallMeetingsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "VENDOR_MISCONFIGURED");
    assert!(
        status.message().contains("Forbidden"),
        "{}",
        status.message()
    );
    assert!(
        !status.message().contains("wrong-key"),
        "{}",
        status.message()
    );
    assert_eq!(
        iadvize.single().api_key.as_deref(),
        Some("wrong-key-3b8f0d6e2a")
    );
}

// ---- bad input, every RPC ----

#[tokio::test]
async fn every_rpc_refuses_bad_input_before_iadvize_is_called() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = stats(&app).await;
    let late = Some(utc("2017-03-02 00:00:00"));
    let early = Some(utc("2017-03-01 00:00:00"));
    let bad_time = Some(Timestamp {
        seconds: 0,
        nanos: 2_000_000_000,
    });

    assert_invalid(
        client
            .list_conversations(proto::ListConversationsRequest {
                channel: 9,
                from: late,
                to: early,
                website_id: -1,
                operator_id: -1,
                visitor_id: -1,
                skill_id: -1,
                tag_id: -1,
                rule_id: -1,
                page_size: -1,
                page_token: String::new(),
            })
            .await,
        &[
            "channel",
            "to",
            "website_id",
            "operator_id",
            "visitor_id",
            "skill_id",
            "tag_id",
            "rule_id",
            "page_size",
        ],
    );
    assert_invalid(
        client
            .list_conversations(proto::ListConversationsRequest {
                from: bad_time,
                page_token: "not-a-token".into(),
                ..Default::default()
            })
            .await,
        &["from", "page_token"],
    );
    for id in [0, -1] {
        assert_invalid(
            client
                .get_conversation(proto::GetConversationRequest {
                    conversation_id: id,
                })
                .await,
            &["conversation_id"],
        );
        assert_invalid(
            client
                .get_transaction(proto::GetTransactionRequest { transaction_id: id })
                .await,
            &["transaction_id"],
        );
        assert_invalid(
            client
                .get_satisfaction(proto::GetSatisfactionRequest {
                    satisfaction_id: id,
                })
                .await,
            &["satisfaction_id"],
        );
        assert_invalid(
            client
                .get_call_meeting(proto::GetCallMeetingRequest {
                    call_meeting_id: id,
                })
                .await,
            &["call_meeting_id"],
        );
    }
    use proto::list_transactions_request::Conversation as Link;
    for conversation_id in [0, -5] {
        assert_invalid(
            client
                .list_transactions(proto::ListTransactionsRequest {
                    conversation: Some(Link::ConversationId(conversation_id)),
                    ..Default::default()
                })
                .await,
            &["conversation_id"],
        );
    }
    assert_invalid(
        client
            .list_transactions(proto::ListTransactionsRequest {
                website_id: -1,
                operator_id: -2,
                from: late,
                to: early,
                page_size: -5,
                ..Default::default()
            })
            .await,
        &["website_id", "operator_id", "to", "page_size"],
    );
    assert_invalid(
        client
            .list_satisfactions(proto::ListSatisfactionsRequest {
                website_id: -1,
                operator_id: -1,
                conversation_id: -1,
                from: late,
                to: early,
                page_size: -1,
                page_token: String::new(),
            })
            .await,
        &[
            "website_id",
            "operator_id",
            "conversation_id",
            "to",
            "page_size",
        ],
    );
    assert_invalid(
        client
            .list_call_meetings(proto::ListCallMeetingsRequest {
                website_id: -1,
                from: late,
                to: bad_time,
                page_size: -1,
                page_token: "%%%".into(),
            })
            .await,
        &["website_id", "to", "page_size", "page_token"],
    );
    assert!(
        iadvize.received().is_empty(),
        "iAdvize was called: {:#?}",
        iadvize.received()
    );
}

#[tokio::test]
async fn without_an_api_key_the_iadvize_rpcs_are_failed_precondition_after_validation() {
    let app = TestApp::spawn().await;
    let mut client = stats(&app).await;
    let results = [
        client
            .get_statistics(proto::GetStatisticsRequest::default())
            .await
            .map(|_| ()),
        client
            .list_conversations(proto::ListConversationsRequest::default())
            .await
            .map(|_| ()),
        client
            .get_conversation(proto::GetConversationRequest { conversation_id: 1 })
            .await
            .map(|_| ()),
        client
            .list_transactions(proto::ListTransactionsRequest::default())
            .await
            .map(|_| ()),
        client
            .get_transaction(proto::GetTransactionRequest { transaction_id: 1 })
            .await
            .map(|_| ()),
        client
            .list_satisfactions(proto::ListSatisfactionsRequest::default())
            .await
            .map(|_| ()),
        client
            .get_satisfaction(proto::GetSatisfactionRequest { satisfaction_id: 1 })
            .await
            .map(|_| ()),
        client
            .list_call_meetings(proto::ListCallMeetingsRequest::default())
            .await
            .map(|_| ()),
        client
            .get_call_meeting(proto::GetCallMeetingRequest { call_meeting_id: 1 })
            .await
            .map(|_| ()),
    ];
    for (index, result) in results.into_iter().enumerate() {
        let status = result.unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "rpc {index}");
        assert_eq!(reason(&status), "NOT_CONFIGURED");
        assert!(status.message().contains("vendors.iadvize.api_key"));
    }
    // Bad input is still reported as such.
    assert_invalid(
        client
            .get_statistics(proto::GetStatisticsRequest {
                indicators: vec!["nope".into()],
                ..Default::default()
            })
            .await,
        &["indicators[0]"],
    );
}

// ---- the sandbox ----

#[tokio::test]
async fn the_sandbox_iadvize_answers_every_rpc() {
    use switchboard::sandbox::iadvize::{IadvizeSim, SANDBOX_API_KEY};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = IadvizeSim::new(chrono_tz::UTC).router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    // The app reads dates on the simulation's clock (UTC here).
    let app = TestApp::spawn_with(
        AppOptions::default()
            .iadvize(&url)
            .env("SWITCHBOARD__VENDORS__IADVIZE__API_KEY", SANDBOX_API_KEY)
            .env("SWITCHBOARD__VENDORS__IADVIZE__TIMEZONE", "UTC"),
    )
    .await;
    let mut client = stats(&app).await;

    // Statistics: overall, per operator, per day.
    let overall = client
        .get_statistics(proto::GetStatisticsRequest {
            channel: proto::StatisticChannel::Chat.into(),
            indicators: vec!["contact_number".into(), "satisfaction_global_rate".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overall.resources.len(), 1);
    let values: Vec<_> = overall.resources[0]
        .indicators
        .iter()
        .map(|i| (i.indicator.as_str(), i.value.is_some()))
        .collect();
    assert_eq!(
        values,
        [("contact_number", true), ("satisfaction_global_rate", true)]
    );
    let per_operator = client
        .get_statistics(proto::GetStatisticsRequest {
            resource: proto::StatisticResource::Operator.into(),
            indicators: vec!["contact_number".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(per_operator.resources.len() > 1);
    assert!(
        per_operator
            .resources
            .iter()
            .all(|r| r.resource_id > 0 && !r.resource_name.is_empty())
    );
    let daily = client
        .get_statistics(proto::GetStatisticsRequest {
            indicators: vec!["contact_number".into()],
            granularity: proto::StatisticGranularity::Day.into(),
            from: Some(utc("2026-01-01 00:00:00")),
            to: Some(utc("2026-01-07 23:59:59")),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let periods = &daily.resources[0].indicators[0].periods;
    assert_eq!(periods.len(), 7);
    assert!(
        periods
            .iter()
            .all(|p| p.period_start.is_some() && p.value.is_some())
    );

    // Conversations with a parsed history; then one by id.
    let conversations = client
        .list_conversations(proto::ListConversationsRequest {
            page_size: 5,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(conversations.conversations.len(), 5);
    assert!(!conversations.next_page_token.is_empty());
    let first = &conversations.conversations[0];
    assert!(first.history.len() >= 4, "{first:?}");
    assert!(first.history_raw.is_empty());
    let again = client
        .get_conversation(proto::GetConversationRequest {
            conversation_id: first.id,
        })
        .await
        .unwrap()
        .into_inner()
        .conversation
        .unwrap();
    assert_eq!(&again, first);
    // The sandbox applies the filters.
    let calls = client
        .list_conversations(proto::ListConversationsRequest {
            channel: proto::ConversationChannel::Call.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!calls.conversations.is_empty());
    assert!(
        calls
            .conversations
            .iter()
            .all(|c| c.channel() == proto::ConversationChannel::Call)
    );

    // Transactions, with and without a conversation.
    use proto::list_transactions_request::Conversation as Link;
    for linked in [true, false] {
        let transactions = client
            .list_transactions(proto::ListTransactionsRequest {
                conversation: Some(Link::HasConversation(linked)),
                page_size: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .transactions;
        assert!(!transactions.is_empty());
        assert!(
            transactions
                .iter()
                .all(|t| t.conversation_id.is_some() == linked)
        );
    }
    let transaction = client
        .list_transactions(proto::ListTransactionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .transactions
        .remove(0);
    client
        .get_transaction(proto::GetTransactionRequest {
            transaction_id: transaction.id,
        })
        .await
        .unwrap();

    // Satisfactions and call meetings.
    let satisfaction = client
        .list_satisfactions(proto::ListSatisfactionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .satisfactions
        .remove(0);
    assert!(satisfaction.conversation_id > 0);
    client
        .get_satisfaction(proto::GetSatisfactionRequest {
            satisfaction_id: satisfaction.id,
        })
        .await
        .unwrap();
    let meeting = client
        .list_call_meetings(proto::ListCallMeetingsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .call_meetings
        .remove(0);
    assert_ne!(meeting.status(), proto::CallMeetingStatus::Unspecified);
    client
        .get_call_meeting(proto::GetCallMeetingRequest {
            call_meeting_id: meeting.id,
        })
        .await
        .unwrap();
    let status = client
        .get_call_meeting(proto::GetCallMeetingRequest { call_meeting_id: 1 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}
