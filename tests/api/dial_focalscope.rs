//! Dial through FocalScope, its callbacks, and request_id idempotency.

use std::time::Duration;

use switchboard::pb::v1::{self as proto, call_ref::Ref, stream_call_updates_response::Update};
use tonic::Code;

use crate::helpers::{
    AppOptions, Db, TestApp, assert_no_update, call_ref, closed_port,
    fake_focalscope::{
        Answer, DOC_CALLBACKS, FakeFocalScope, FakeRecordings, Recording, recording_byte,
    },
    next_update, reason, violated_fields,
};

const WAIT: Duration = Duration::from_secs(5);

fn dial(request_id: &str) -> proto::DialRequest {
    proto::DialRequest {
        outbound_prefix: String::new(),
        provider: proto::Provider::Focalscope.into(),
        agent: "ext 201".into(),
        destination_number: "+33 6 12 34 56 78".into(),
        outbound_number: String::new(),
        ticket_id: String::new(),
        language: String::new(),
        request_id: request_id.into(),
    }
}

async fn app_with(fake: &FakeFocalScope) -> TestApp {
    TestApp::spawn_with(AppOptions::default().focalscope(fake)).await
}

fn status_of(call: &proto::Call) -> proto::CallStatus {
    call.status()
}

#[tokio::test]
async fn dial_sends_the_documented_request_and_correlates_every_id_even_when_a_callback_comes_first()
 {
    let fake = FakeFocalScope::start().await;
    let app = app_with(&fake).await;
    // The PBX calls back (agent pickup) before answering the dial.
    fake.call_back_first(&app.focalscope_callback_url(), &DOC_CALLBACKS[..1]);
    let mut live = app.stream(proto::StreamCallUpdatesRequest::default()).await;

    let call = app
        .dials()
        .await
        .dial(dial("dial-1"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(call.provider(), proto::Provider::Focalscope);
    assert_eq!(call.direction(), proto::CallDirection::Outbound);
    assert_eq!(call.agent, "ext 201");
    assert_eq!(call.destination_phone, "+33 6 12 34 56 78");
    // The early pickup already moved it past dialing.
    assert_eq!(status_of(&call), proto::CallStatus::AgentAnswered);
    let refs: Vec<_> = call
        .refs
        .iter()
        .map(|r| (r.kind(), r.value.as_str()))
        .collect();
    for expected in [
        (proto::RefKind::FocalscopeRequestId, "513"),
        (proto::RefKind::FocalscopeCallId, "1000000087849"),
        (
            proto::RefKind::CallUuid,
            "bfa2dbc8-ab8a-34c8-f243-c2aad8c446ff",
        ),
    ] {
        assert!(refs.contains(&expected), "{expected:?} in {refs:?}");
    }
    // The documented request: agent and number URL-encoded into the
    // template, the number as a desk phone dials it (keys only, `+` as 00).
    assert_eq!(fake.dials(), ["agent=ext%20201&number=0033612345678"]);

    for reference in [
        Ref::FocalscopeCallId("1000000087849".into()),
        Ref::CallUuid("bfa2dbc8-ab8a-34c8-f243-c2aad8c446ff".into()),
        Ref::FocalscopeRequestId("513".into()),
        Ref::Id(call.id.clone()),
    ] {
        assert_eq!(app.get_call(call_ref(reference)).await.unwrap().id, call.id);
    }

    // The remaining three documented callbacks.
    for query in &DOC_CALLBACKS[1..] {
        let response = app.focalscope_callback(query).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "stored");
    }
    let mut dial_events = Vec::new();
    let mut statuses = Vec::new();
    while dial_events.len() < 4 || statuses.last() != Some(&proto::CallStatus::Ended) {
        let update = next_update(&mut live, WAIT).await;
        assert_eq!(update.call_id, call.id);
        match update.update {
            Some(Update::DialEvent(event)) => dial_events.push(event),
            Some(Update::StatusChanged(change)) => statuses.push(change.status()),
            other => panic!("unexpected {other:?}"),
        }
    }
    let legs: Vec<_> = dial_events.iter().map(|e| (e.leg(), e.event())).collect();
    assert_eq!(
        legs,
        [
            (proto::LegKind::Agent, proto::DialEventType::Pickup),
            (proto::LegKind::Customer, proto::DialEventType::Pickup),
            (proto::LegKind::Customer, proto::DialEventType::Hangup),
            (proto::LegKind::Agent, proto::DialEventType::Hangup),
        ]
    );
    assert_eq!(dial_events[0].event_code, 2);
    assert!(!dial_events[0].recorded);
    assert!(dial_events[2].recorded);
    assert_eq!(dial_events[1].focalscope_call_id, "1000000087850");
    assert_eq!(dial_events[1].focalscope_request_id, "513");
    assert_eq!(
        statuses,
        [
            proto::CallStatus::AgentAnswered,
            proto::CallStatus::Connected,
            proto::CallStatus::Ended
        ]
    );

    let ended = app
        .get_call(call_ref(Ref::CallUuid(
            "923041af-adb5-a8ae-f29c-e60ea5e17448".into(),
        )))
        .await
        .unwrap();
    assert_eq!(ended.id, call.id);
    assert_eq!(status_of(&ended), proto::CallStatus::Ended);
    assert_eq!(ended.legs.len(), 2);
    for leg in &ended.legs {
        assert_eq!(leg.last_event(), proto::DialEventType::Hangup);
        assert!(leg.recorded);
        match leg.kind() {
            proto::LegKind::Agent => assert_eq!(leg.focalscope_call_id, "1000000087849"),
            proto::LegKind::Customer => {
                assert_eq!(leg.call_uuid, "923041af-adb5-a8ae-f29c-e60ea5e17448")
            }
            other => panic!("unexpected leg {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_repeated_callback_is_stored_and_emitted_once_and_late_events_never_reopen_a_call() {
    let fake = FakeFocalScope::start().await;
    let app = app_with(&fake).await;
    let call = app
        .dials()
        .await
        .dial(dial("dial-2"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    let mut stream = app
        .stream(proto::StreamCallUpdatesRequest {
            call: Some(call_ref(Ref::Id(call.id.clone()))),
            ..Default::default()
        })
        .await;
    // Replay: status dialing.
    assert!(matches!(
        next_update(&mut stream, WAIT).await.update,
        Some(Update::StatusChanged(_))
    ));

    assert_eq!(
        app.focalscope_callback(DOC_CALLBACKS[0])
            .await
            .text()
            .await
            .unwrap(),
        "stored"
    );
    assert_eq!(
        app.focalscope_callback(DOC_CALLBACKS[0])
            .await
            .text()
            .await
            .unwrap(),
        "duplicate"
    );
    // Out of order: the customer hangs up before its pickup arrives.
    assert_eq!(
        app.focalscope_callback(DOC_CALLBACKS[2]).await.status(),
        200
    );
    assert_eq!(
        app.focalscope_callback(DOC_CALLBACKS[1]).await.status(),
        200
    );
    let mut kinds = Vec::new();
    for _ in 0..5 {
        let update = next_update(&mut stream, WAIT).await;
        kinds.push(match update.update {
            Some(Update::DialEvent(e)) => format!("{:?}/{:?}", e.leg(), e.event()),
            Some(Update::StatusChanged(c)) => format!("status {:?}", c.status()),
            other => format!("{other:?}"),
        });
    }
    // The duplicate is not there; the late pickup is kept in the log with its
    // own time but moves nothing (no status change follows it).
    assert_eq!(
        kinds,
        [
            "Agent/Pickup",
            "status AgentAnswered",
            "Customer/Hangup",
            "status Ended",
            "Customer/Pickup"
        ]
    );
    assert_no_update(&mut stream, Duration::from_millis(300)).await;
    let call = app.get_call(call_ref(Ref::Id(call.id))).await.unwrap();
    assert_eq!(status_of(&call), proto::CallStatus::Ended);
}

#[tokio::test]
async fn missed_legs_fail_the_call_saying_which() {
    let fake = FakeFocalScope::start().await;
    let app = app_with(&fake).await;
    for (request_id, answer, queries, reason) in [
        (
            "agent-missed",
            "{RequestID:513}",
            vec![
                "CallType=API&Event=missed&CallID=11&RequestID=513&EventCode=3&IsCallRecorded=&Guid=aaaa",
            ],
            proto::FailureReason::AgentMissed,
        ),
        (
            "customer-missed",
            "{RequestID:514}",
            vec![
                "CallType=API&Event=pickup&CallID=21&RequestID=514&EventCode=2&IsCallRecorded=&Guid=bbbb",
                "CallType=Outgoing&Event=missed&CallID=22&RequestID=514&EventCode=3&IsCallRecorded=&Guid=cccc",
            ],
            proto::FailureReason::CustomerMissed,
        ),
    ] {
        fake.answer(Answer::Body(answer));
        let call = app
            .dials()
            .await
            .dial(dial(request_id))
            .await
            .unwrap()
            .into_inner()
            .call
            .unwrap();
        for query in queries {
            assert_eq!(app.focalscope_callback(query).await.status(), 200);
        }
        let call = app.get_call(call_ref(Ref::Id(call.id))).await.unwrap();
        assert_eq!(status_of(&call), proto::CallStatus::Failed, "{request_id}");
        assert_eq!(call.failure_reason(), reason, "{request_id}");
    }
}

#[tokio::test]
async fn callbacks_are_validated_and_authenticated() {
    let fake = FakeFocalScope::start().await;
    let app = app_with(&fake).await;
    let wrong = app
        .http
        .get(app.http_url(&format!(
            "/webhooks/focalscope/not-the-token-000?{}",
            DOC_CALLBACKS[0]
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    for (query, reason) in [
        ("", "CallType"),
        ("CallType=API&CallID=1&RequestID=513", "Event"),
        (
            "CallType=Inbound&Event=pickup&CallID=1&RequestID=513",
            "CallType",
        ),
        (
            "CallType=API&Event=answered&CallID=1&RequestID=513",
            "Event",
        ),
        ("CallType=API&Event=pickup&RequestID=513", "CallID"),
        ("CallType=API&Event=pickup&CallID=1", "RequestID"),
        (
            "CallType=API&Event=pickup&CallID=1&RequestID=5x3",
            "RequestID",
        ),
        (
            "CallType=API&Event=pickup&CallID=1&RequestID=513&EventCode=x",
            "EventCode",
        ),
        (
            "CallType=API&Event=pickup&CallID=1&RequestID=513&IsCallRecorded=maybe",
            "IsCallRecorded",
        ),
        (
            "CallType=API&Event=pickup&CallID=1&RequestID=513&Guid=not%20a%20uuid",
            "Guid",
        ),
    ] {
        let response = app.focalscope_callback(query).await;
        assert_eq!(response.status(), 400, "{query}");
        let body = response.text().await.unwrap();
        assert!(body.contains(reason), "{query}: {body}");
    }
    let status = app
        .get_call(call_ref(Ref::FocalscopeRequestId("513".into())))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "nothing stored");
}

#[tokio::test]
async fn a_repeated_request_id_makes_exactly_one_vendor_request_even_concurrently() {
    let fake = FakeFocalScope::start().await;
    let app = app_with(&fake).await;
    let first = app
        .dials()
        .await
        .dial(dial("same-id"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    let again = app
        .dials()
        .await
        .dial(dial("same-id"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(fake.dials().len(), 1);

    // Eight identical requests at the same moment, while the vendor is slow
    // to answer the one that goes through.
    let gate = fake.gate();
    let held = gate.lock().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut client = app.dials().await;
        tasks.push(tokio::spawn(async move {
            client.dial(dial("concurrent-id")).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(held);
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().into_inner().call.unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every request got the same call");
    assert_eq!(fake.dials().len(), 2, "one vendor request per request_id");

    // Same id, other parameters: refused, no vendor request.
    let mut other = dial("same-id");
    other.destination_number = "+33 6 99 99 99 99".into();
    let status = app.dials().await.dial(other).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["request_id"]);
    assert_eq!(fake.dials().len(), 2);
}

#[tokio::test]
async fn a_repeated_request_id_is_answered_from_the_first_result_after_a_restart() {
    let fake = FakeFocalScope::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Url(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("s.db").display()
    ));
    let app = TestApp::spawn_with(AppOptions::default().focalscope(&fake).db(db.clone())).await;
    let first = app
        .dials()
        .await
        .dial(dial("restart-id"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    app.stop().await;
    let app = TestApp::spawn_with(AppOptions::default().focalscope(&fake).db(db)).await;
    let again = app
        .dials()
        .await
        .dial(dial("restart-id"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(fake.dials().len(), 1);
}

#[tokio::test]
async fn a_timed_out_dial_is_kept_unknown_and_never_dialled_twice() {
    let fake = FakeFocalScope::start().await;
    let app = app_with(&fake).await;
    fake.answer(Answer::Slow(Duration::from_secs(2)));
    let status = app.dials().await.dial(dial("slow-id")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("UNKNOWN"), "{}", status.message());
    use tonic_types::StatusExt;
    let call_id = status.get_error_details().error_info().unwrap().metadata["call_id"].clone();
    let call = app
        .get_call(call_ref(Ref::Id(call_id.clone())))
        .await
        .unwrap();
    assert_eq!(status_of(&call), proto::CallStatus::Unknown);
    assert!(
        call.status_detail.contains("timed out"),
        "{}",
        call.status_detail
    );

    fake.answer(Answer::Documented);
    let retried = app
        .dials()
        .await
        .dial(dial("slow-id"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(retried.id, call_id);
    assert_eq!(status_of(&retried), proto::CallStatus::Unknown);
    assert_eq!(fake.dials().len(), 1, "never a second dial");
}

#[tokio::test]
async fn vendor_answers_map_to_codes() {
    let fake = FakeFocalScope::start().await;
    let app = app_with(&fake).await;
    // Quoted JSON is read too.
    fake.answer(Answer::Body(r#"{"RequestID": "777"}"#));
    let call = app
        .dials()
        .await
        .dial(dial("json"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert!(call.refs.iter().any(|r| r.value == "777"));
    // A proxy that did not pass the dial on: unavailable, and a retry may dial.
    fake.answer(Answer::Status(503));
    let status = app
        .dials()
        .await
        .dial(dial("unavailable"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    fake.answer(Answer::Documented);
    app.dials().await.dial(dial("unavailable")).await.unwrap();
    // A success without a RequestID: an undocumented answer, and it may be
    // dialling, so the call is kept as UNKNOWN and never dialled again.
    fake.answer(Answer::Body("OK"));
    let status = app.dials().await.dial(dial("garbage")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(reason(&status), "VENDOR_BAD_RESPONSE");
    let dials_so_far = fake.dials().len();
    fake.answer(Answer::Documented);
    let kept = app
        .dials()
        .await
        .dial(dial("garbage"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(status_of(&kept), proto::CallStatus::Unknown);
    assert_eq!(fake.dials().len(), dials_so_far, "never dialled twice");
    // Wrong URL: our configuration.
    fake.answer(Answer::Status(404));
    let status = app.dials().await.dial(dial("not-found")).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("vendors.focalscope.dial_url"));

    // Vendor down: unavailable, and the reservation is released.
    let down = TestApp::spawn_with(AppOptions::default().env(
        "SWITCHBOARD__VENDORS__FOCALSCOPE__DIAL_URL",
        format!(
            "http://127.0.0.1:{}/dial?a={{agent}}&n={{number}}",
            closed_port()
        ),
    ))
    .await;
    for _ in 0..2 {
        let status = down.dials().await.dial(dial("down")).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
    }
}

#[tokio::test]
async fn dial_refuses_bad_input_naming_each_field_before_any_vendor_request() {
    let fake = FakeFocalScope::start().await;
    let app = app_with(&fake).await;
    let cases: Vec<(proto::DialRequest, &[&str])> = vec![
        (
            proto::DialRequest {
                provider: 0,
                ..dial("a")
            },
            &["provider"],
        ),
        (
            proto::DialRequest {
                provider: proto::Provider::Optico.into(),
                ..dial("a")
            },
            &["provider"],
        ),
        (
            proto::DialRequest {
                provider: 42,
                ..dial("a")
            },
            &["provider"],
        ),
        (
            proto::DialRequest {
                agent: String::new(),
                ..dial("a")
            },
            &["agent"],
        ),
        (
            proto::DialRequest {
                destination_number: String::new(),
                ..dial("a")
            },
            &["destination_number"],
        ),
        (
            proto::DialRequest {
                destination_number: "0800-CALL-ME".into(),
                ..dial("a")
            },
            &["destination_number"],
        ),
        (
            proto::DialRequest {
                outbound_number: "+33 1 00 00 00 00".into(),
                ..dial("a")
            },
            &["outbound_number"],
        ),
        (
            proto::DialRequest {
                ticket_id: "123".into(),
                ..dial("a")
            },
            &["ticket_id"],
        ),
        (
            proto::DialRequest {
                language: "en".into(),
                ..dial("a")
            },
            &["language"],
        ),
        (
            proto::DialRequest {
                outbound_prefix: "9 1".into(),
                ..dial("a")
            },
            &["outbound_prefix"],
        ),
        (
            proto::DialRequest {
                outbound_prefix: "+9".into(),
                ..dial("a")
            },
            &["outbound_prefix"],
        ),
        (
            proto::DialRequest {
                outbound_prefix: "9".repeat(17),
                ..dial("a")
            },
            &["outbound_prefix"],
        ),
        (
            proto::DialRequest {
                request_id: String::new(),
                ..dial("a")
            },
            &["request_id"],
        ),
        (
            proto::DialRequest {
                request_id: "has spaces".into(),
                ..dial("a")
            },
            &["request_id"],
        ),
        (
            proto::DialRequest {
                request_id: "x".repeat(129),
                ..dial("a")
            },
            &["request_id"],
        ),
        (
            proto::DialRequest {
                agent: String::new(),
                destination_number: "1".into(),
                request_id: String::new(),
                ..dial("a")
            },
            &["request_id", "agent", "destination_number"],
        ),
    ];
    for (request, fields) in cases {
        let status = app.dials().await.dial(request.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(violated_fields(&status), fields, "{request:?}");
    }
    assert!(fake.dials().is_empty());

    let unconfigured = TestApp::spawn().await;
    let status = unconfigured
        .dials()
        .await
        .dial(dial("x"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("vendors.focalscope.dial_url"));
}

/// "Outbound queues are supported via prefixes, in the same way as dialed
/// from a desk phone": the PBX gets the prefix then the number's keys, never
/// the separators a client typed; the call keeps the number as typed.
#[tokio::test]
async fn an_outbound_prefix_is_dialled_before_the_numbers_keys() {
    let fake = FakeFocalScope::start().await;
    let app = app_with(&fake).await;
    for (index, (prefix, typed, sent)) in [
        ("*72#", "+33 (6) 12.34-56/78", "*72%230033612345678"),
        ("9", "(555) 123-4567", "95551234567"),
        ("", "06 12 34 56 78", "0612345678"),
    ]
    .into_iter()
    .enumerate()
    {
        let call = app
            .dials()
            .await
            .dial(proto::DialRequest {
                outbound_prefix: prefix.into(),
                destination_number: typed.into(),
                ..dial(&format!("prefixed-{index}"))
            })
            .await
            .unwrap()
            .into_inner()
            .call
            .unwrap();
        assert_eq!(call.destination_phone, typed, "kept as typed");
        assert_eq!(
            fake.dials().last().map(String::as_str),
            Some(format!("agent=ext%20201&number={sent}").as_str())
        );
    }
    // A prefix is FocalScope's: a CCAI dial with one is refused up front.
    let status = app
        .dials()
        .await
        .dial(proto::DialRequest {
            provider: proto::Provider::Ccai.into(),
            agent: "agent@example.com".into(),
            outbound_prefix: "9".into(),
            ..dial("ccai-prefixed")
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["outbound_prefix"]);
}

/// A PBX that hands out a `RequestID` an earlier, different dial already
/// holds (restarted, counter wrapped): the first call and its stored result
/// never change, the new dial gets its own call, and callbacks with that id
/// reach the newest dial.
#[tokio::test]
async fn a_request_id_reused_by_the_pbx_never_moves_the_first_call() {
    let fake = FakeFocalScope::start().await;
    let app = app_with(&fake).await;
    let first = app
        .dials()
        .await
        .dial(dial("first-dial"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    // The PBX answers {RequestID:513} again, for another agent and number.
    let mut second_request = dial("second-dial");
    second_request.agent = "ext 305".into();
    second_request.destination_number = "+33 1 23 45 67 89".into();
    let mut live = app.stream(proto::StreamCallUpdatesRequest::default()).await;
    let second = app
        .dials()
        .await
        .dial(second_request)
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_ne!(second.id, first.id, "the new dial gets its own call");
    assert_eq!(second.agent, "ext 305");
    assert_eq!(second.destination_phone, "+33 1 23 45 67 89");
    assert!(
        second
            .refs
            .iter()
            .any(|r| r.kind() == proto::RefKind::FocalscopeRequestId && r.value == "513"),
        "{:?}",
        second.refs
    );

    // The first call is as it was, by its id, by the RequestID it owns, and
    // for a retry of its request_id.
    let by_id = app
        .get_call(call_ref(Ref::Id(first.id.clone())))
        .await
        .unwrap();
    let by_request = app
        .get_call(call_ref(Ref::FocalscopeRequestId("513".into())))
        .await
        .unwrap();
    let retried = app
        .dials()
        .await
        .dial(dial("first-dial"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    for call in [&by_id, &by_request, &retried] {
        assert_eq!(call.id, first.id);
        assert_eq!(call.agent, "ext 201");
        assert_eq!(call.destination_phone, "+33 6 12 34 56 78");
        assert_eq!(status_of(call), proto::CallStatus::Dialing);
    }
    assert_eq!(fake.dials().len(), 2, "the retry sent nothing");

    // Callbacks with RequestID 513 now concern the newest dial.
    assert_eq!(
        app.focalscope_callback(DOC_CALLBACKS[0]).await.status(),
        200
    );
    loop {
        let update = next_update(&mut live, WAIT).await;
        if let Some(Update::DialEvent(_)) = update.update {
            assert_eq!(update.call_id, second.id);
            break;
        }
    }
    let first_after = app
        .get_call(call_ref(Ref::Id(first.id.clone())))
        .await
        .unwrap();
    assert_eq!(first_after, by_id, "the first call never changed");
    let metrics = app
        .http
        .get(app.http_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_vendor_id_reused_total"),
        "the clash is counted"
    );
}

/// A FocalScope dial whose four documented callbacks were delivered (both
/// legs hung up with `IsCallRecorded=1`), on an app whose
/// `vendors.focalscope.recording_url` points at `pbx`.
async fn recorded_dial(pbx: &FakeRecordings) -> (TestApp, FakeFocalScope, proto::Call) {
    let fake = FakeFocalScope::start().await;
    let app = TestApp::spawn_with(AppOptions::default().focalscope(&fake).env(
        "SWITCHBOARD__VENDORS__FOCALSCOPE__RECORDING_URL",
        pbx.recording_url(),
    ))
    .await;
    let call = app
        .dials()
        .await
        .dial(dial("recorded"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    for query in DOC_CALLBACKS {
        assert_eq!(app.focalscope_callback(query).await.status(), 200);
    }
    (app, fake, call)
}

fn recording_request(reference: Ref, leg: proto::LegKind) -> proto::GetCallRecordingRequest {
    proto::GetCallRecordingRequest {
        call: Some(call_ref(reference)),
        leg: leg.into(),
    }
}

const MIB: u64 = 1024 * 1024;

/// An 8 MiB recording sent slowly by the PBX (64 chunks, 20 ms apart, longer
/// in all than the 500 ms vendor timeout): the client has the first bytes
/// before the PBX has sent the last, and every byte arrives, in order.
#[tokio::test]
async fn a_recording_streams_through_as_the_pbx_sends_it() {
    let total = 8 * MIB;
    let pbx = FakeRecordings::start(Recording::Serve {
        total,
        chunk: 128 * 1024,
        delay: Duration::from_millis(20),
    })
    .await;
    let (app, _fake, call) = recorded_dial(&pbx).await;
    let started = std::time::Instant::now();
    let mut stream = app
        .dials()
        .await
        .get_call_recording(recording_request(
            Ref::Id(call.id.clone()),
            proto::LegKind::Unspecified,
        ))
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().expect("a first message");
    assert!(
        !pbx.finished(),
        "the first bytes arrived before the PBX finished sending"
    );
    assert_eq!(first.content_type, "audio/wav");
    assert_eq!(first.content_length, Some(total as i64));
    let mut received = first.data.len() as u64;
    let mut mismatch = first
        .data
        .iter()
        .enumerate()
        .find(|(i, b)| **b != recording_byte(*i as u64))
        .map(|(i, _)| i as u64);
    while let Some(message) = stream.message().await.unwrap() {
        assert!(message.content_type.is_empty() && message.content_length.is_none());
        assert!(message.data.len() <= 64 * 1024);
        for (i, byte) in message.data.iter().enumerate() {
            if mismatch.is_none() && *byte != recording_byte(received + i as u64) {
                mismatch = Some(received + i as u64);
            }
        }
        received += message.data.len() as u64;
    }
    assert_eq!(received, total);
    assert_eq!(mismatch, None, "the bytes are the PBX's, in order");
    assert!(started.elapsed() > Duration::from_millis(500));
    // The customer's leg by default, asked by its CallID and CallUUID.
    assert_eq!(
        pbx.requests(),
        ["/recording/1000000087850?uuid=923041af-adb5-a8ae-f29c-e60ea5e17448"]
    );

    // By any reference of the dial, and the agent's leg when asked.
    pbx.answer(Recording::Serve {
        total: 1000,
        chunk: 1000,
        delay: Duration::ZERO,
    });
    let mut stream = app
        .dials()
        .await
        .get_call_recording(recording_request(
            Ref::CallUuid("923041af-adb5-a8ae-f29c-e60ea5e17448".into()),
            proto::LegKind::Agent,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(message) = stream.message().await.unwrap() {
        bytes.extend(message.data);
    }
    assert_eq!(bytes.len(), 1000);
    assert_eq!(
        pbx.requests().last().map(String::as_str),
        Some("/recording/1000000087849?uuid=bfa2dbc8-ab8a-34c8-f243-c2aad8c446ff")
    );
}

/// Memory stays bounded whatever the size: a client that stops reading
/// stalls the PBX (nothing reads ahead on its behalf), far short of the
/// 256 MiB recording, which a server buffering the body would have read
/// from the local PBX within the pause.
#[tokio::test]
async fn a_client_that_stops_reading_stalls_the_pbx() {
    let total = 256 * MIB;
    let pbx = FakeRecordings::start(Recording::Serve {
        total,
        chunk: 64 * 1024,
        delay: Duration::ZERO,
    })
    .await;
    let (app, _fake, call) = recorded_dial(&pbx).await;
    let mut stream = app
        .dials()
        .await
        .get_call_recording(recording_request(
            Ref::FocalscopeRequestId("513".into()),
            proto::LegKind::Customer,
        ))
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().expect("a first message");
    assert_eq!(first.content_length, Some(total as i64));
    // The client stops reading; the transport's buffers fill, then the PBX
    // can send no more.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stalled_at = pbx.sent();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pbx.sent(), stalled_at, "the PBX is stalled, not slowed");
    assert!(
        stalled_at < 64 * MIB,
        "only the transport's buffers were filled: {stalled_at} bytes sent"
    );
    // Reading again resumes the download where it stopped.
    let mut received = first.data.len() as u64;
    while received < 8 * MIB {
        let message = stream.message().await.unwrap().expect("more bytes");
        assert_eq!(
            message.data.first().copied(),
            Some(recording_byte(received))
        );
        received += message.data.len() as u64;
    }
    assert!(pbx.sent() > stalled_at);
    drop(stream);
    let _ = call;
}

#[tokio::test]
async fn recording_errors_are_mapped_and_checked_before_any_pbx_request() {
    let pbx = FakeRecordings::start(Recording::Status(404)).await;

    // The key unset: FAILED_PRECONDITION naming it.
    let fake = FakeFocalScope::start().await;
    let unconfigured = app_with(&fake).await;
    let status = unconfigured
        .dials()
        .await
        .get_call_recording(recording_request(
            Ref::FocalscopeRequestId("513".into()),
            proto::LegKind::Customer,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status
            .message()
            .contains("vendors.focalscope.recording_url"),
        "{}",
        status.message()
    );

    let fake = FakeFocalScope::start().await;
    let app = TestApp::spawn_with(AppOptions::default().focalscope(&fake).env(
        "SWITCHBOARD__VENDORS__FOCALSCOPE__RECORDING_URL",
        pbx.recording_url(),
    ))
    .await;
    let call = app
        .dials()
        .await
        .dial(dial("not-yet-recorded"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    let get = |reference: Ref, leg: proto::LegKind| {
        let app = &app;
        async move {
            app.dials()
                .await
                .get_call_recording(recording_request(reference, leg))
                .await
                .map(|_| ())
                .unwrap_err()
        }
    };
    // No leg reported yet, then both picked up with IsCallRecorded empty:
    // NOT_FOUND, and the PBX is not asked.
    let status = get(Ref::Id(call.id.clone()), proto::LegKind::Customer).await;
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    for query in &DOC_CALLBACKS[..2] {
        assert_eq!(app.focalscope_callback(query).await.status(), 200);
    }
    for leg in [proto::LegKind::Customer, proto::LegKind::Agent] {
        let status = get(Ref::Id(call.id.clone()), leg).await;
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        assert!(
            status.message().contains("IsCallRecorded"),
            "{}",
            status.message()
        );
    }
    assert!(pbx.requests().is_empty(), "{:?}", pbx.requests());

    // Recorded, but the PBX answers 404: NOT_FOUND.
    for query in &DOC_CALLBACKS[2..] {
        assert_eq!(app.focalscope_callback(query).await.status(), 200);
    }
    let status = get(Ref::Id(call.id.clone()), proto::LegKind::Customer).await;
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(pbx.requests().len(), 1);
    // A PBX failing: UNAVAILABLE.
    pbx.answer(Recording::Status(503));
    let status = get(Ref::Id(call.id.clone()), proto::LegKind::Customer).await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    // Bad input, naming the field, before anything is looked up.
    let before = pbx.requests().len();
    let status = app
        .dials()
        .await
        .get_call_recording(proto::GetCallRecordingRequest {
            call: None,
            leg: proto::LegKind::Customer.into(),
        })
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["call"]);
    let status = app
        .dials()
        .await
        .get_call_recording(proto::GetCallRecordingRequest {
            call: Some(call_ref(Ref::Id(call.id.clone()))),
            leg: 42,
        })
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["leg"]);
    let status = get(Ref::FocalscopeCallId("12x".into()), proto::LegKind::Agent).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["call.focalscope_call_id"]);
    // An unknown call.
    let status = get(
        Ref::FocalscopeRequestId("999".into()),
        proto::LegKind::Agent,
    )
    .await;
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(pbx.requests().len(), before);
}
