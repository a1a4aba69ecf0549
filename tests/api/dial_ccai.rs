//! CCAI Platform: outbound, inbound and scheduled calls, every documented
//! answer and error, customer flags, idempotency.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use prost_types::Timestamp;
use switchboard::pb::v1::{self as proto, call_ref::Ref};
use tonic::Code;

use crate::helpers::{
    AppOptions, TestApp, call_ref, ccai_doc,
    fake_ccai::{Answer, COMPANY_KEY, COMPANY_SECRET, FakeCcai},
    reason, violated_fields,
};

fn outbound(request_id: &str) -> proto::DialRequest {
    proto::DialRequest {
        outbound_prefix: String::new(),
        provider: proto::Provider::Ccai.into(),
        agent: "admin@somedomain.com".into(),
        destination_number: "+1 859-657-9625".into(),
        outbound_number: "+1 339-219-5276".into(),
        ticket_id: String::new(),
        language: "en".into(),
        request_id: request_id.into(),
    }
}

fn inbound(request_id: &str) -> proto::CreateInboundCallRequest {
    proto::CreateInboundCallRequest {
        menu_id: 9,
        end_user_number: "+82-10-6861-2345".into(),
        ticket_id: String::new(),
        language: "en".into(),
        recording_permission: proto::RecordingPermission::Granted.into(),
        outbound_number: String::new(),
        request_id: request_id.into(),
    }
}

fn in_a_day() -> Timestamp {
    Timestamp {
        seconds: chrono::Utc::now().timestamp() + 86_400,
        nanos: 421_000_000,
    }
}

fn scheduled(request_id: &str) -> proto::ScheduleCallRequest {
    proto::ScheduleCallRequest {
        menu_id: 9,
        end_user_number: "+82-10-6861-2345".into(),
        ticket_id: String::new(),
        language: "en".into(),
        recording_permission: proto::RecordingPermission::Granted.into(),
        scheduled_at: Some(in_a_day()),
        parent_call: None,
        request_id: request_id.into(),
    }
}

async fn app_with(fake: &FakeCcai) -> TestApp {
    TestApp::spawn_with(AppOptions::default().ccai(fake)).await
}

#[tokio::test]
async fn outbound_call_sends_the_documented_request_with_basic_auth_and_returns_the_call_object() {
    let fake = FakeCcai::start().await;
    let app = app_with(&fake).await;
    let call = app
        .dials()
        .await
        .dial(outbound("out-1"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();

    let creations = fake.creations();
    assert_eq!(creations.len(), 1);
    let request = &creations[0];
    assert_eq!(
        request.authorization,
        format!(
            "Basic {}",
            STANDARD.encode(format!("{COMPANY_KEY}:{COMPANY_SECRET}"))
        )
    );
    assert!(request.content_type.starts_with("application/json"));
    assert_eq!(
        request.body,
        serde_json::json!({
            "call_type": "Voice Outbound (API)",
            "agent_email": "admin@somedomain.com",
            "end_user_number": "+1 859-657-9625",
            "outbound_number": "+1 339-219-5276",
            "lang": "en"
        })
    );

    assert_eq!(call.provider(), proto::Provider::Ccai);
    assert_eq!(call.status(), proto::CallStatus::Assigned);
    assert_eq!(call.vendor_status, "assigned");
    assert_eq!(call.agent, "admin@somedomain.com");
    assert!(
        call.refs
            .iter()
            .any(|r| r.kind() == proto::RefKind::CcaiCallId && r.value == "397")
    );
    let ccai = call.ccai.as_ref().expect("the CCAI call object");
    assert_eq!(ccai.id, 397);
    assert_eq!(ccai.call_type, "Voice Outbound (API)");
    assert_eq!(ccai.voip_provider, "voip_provider_twilio");
    assert_eq!(ccai.outbound_number, "+1 339-219-5276");
    assert_eq!(ccai.answer_type, "manual");
    assert_eq!(ccai.created_at.as_ref().unwrap().seconds, 1559870850);
    assert!(ccai.assigned_at.is_some());
    assert!(ccai.connected_at.is_none());
    let agent = ccai.agent_info.as_ref().unwrap();
    assert_eq!(
        (agent.id, agent.name.as_str(), agent.first_name.as_str()),
        (1, "Admin UJET", "Admin")
    );
    assert_eq!(ccai.participants.len(), 2);
    assert_eq!(ccai.participants[0].r#type, "agent");
    assert_eq!(ccai.participants[1].r#type, "end_user");
    assert_eq!(ccai.participants[1].call_id, 397);
    // Nothing dropped, null kept apart from 0 / false: the documented object
    // has "rating": null, 0 durations, false booleans, null participant
    // durations and empty deflection_details.
    assert_eq!(ccai.rating_given, None);
    assert_eq!(
        (
            ccai.wait_duration_seconds,
            ccai.call_duration_seconds,
            ccai.hold_duration_seconds
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(ccai.feedback_left, Some(false));
    assert_eq!(ccai.end_user_verified, Some(false));
    assert_eq!(ccai.participants[0].call_duration_seconds, None);
    assert_eq!(ccai.participants[0].hold_duration_seconds, None);
    assert!(ccai.deflection_details.is_empty());

    // Found by its CCAI id, with the same typed object.
    let found = app
        .get_call(call_ref(Ref::CcaiCallId("397".into())))
        .await
        .unwrap();
    assert_eq!(found.id, call.id);
    assert_eq!(found.ccai, call.ccai);
}

/// Values the documented example leaves null or empty: a rating, a null
/// boolean and a duration, and deflection_details items, whatever their shape.
#[tokio::test]
async fn the_call_object_keeps_nulls_and_deflection_details() {
    let fake = FakeCcai::start().await;
    let app = app_with(&fake).await;
    let mut object: serde_json::Value = serde_json::from_str(ccai_doc::OUTBOUND_CREATED).unwrap();
    object["rating"] = serde_json::json!(0);
    object["verified"] = serde_json::Value::Null;
    object["has_feedback"] = serde_json::json!(true);
    object["wait_duration"] = serde_json::Value::Null;
    object["participants"][0]["call_duration"] = serde_json::json!(42);
    object["deflection_details"] =
        serde_json::json!([{ "type": "sms", "sent": true, "count": 2 }, "voicemail"]);
    fake.answer_json(201, &object.to_string());
    let call = app
        .dials()
        .await
        .dial(outbound("nulls"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    let ccai = call.ccai.as_ref().unwrap();
    assert_eq!(ccai.rating_given, Some(0), "a 0 rating is not no rating");
    assert_eq!(ccai.end_user_verified, None);
    assert_eq!(ccai.feedback_left, Some(true));
    assert_eq!(ccai.wait_duration_seconds, None);
    assert_eq!(ccai.participants[0].call_duration_seconds, Some(42));
    assert_eq!(ccai.deflection_details.len(), 2);
    assert_eq!(
        ccai.deflection_details[1],
        prost_types::Value {
            kind: Some(prost_types::value::Kind::StringValue("voicemail".into()))
        }
    );
    let Some(prost_types::value::Kind::StructValue(first)) = &ccai.deflection_details[0].kind
    else {
        panic!("{:?}", ccai.deflection_details[0]);
    };
    assert_eq!(
        first.fields["type"].kind,
        Some(prost_types::value::Kind::StringValue("sms".into()))
    );
    // The same after a reload from the store.
    let found = app
        .get_call(call_ref(Ref::Id(call.id.clone())))
        .await
        .unwrap();
    assert_eq!(found.ccai, call.ccai);
}

#[tokio::test]
async fn outbound_call_by_ticket_and_accepted_answers() {
    let fake = FakeCcai::start().await;
    let app = app_with(&fake).await;
    fake.answer_json(201, ccai_doc::OUTBOUND_TICKET_CREATED);
    let mut request = outbound("ticket");
    request.destination_number = String::new();
    request.ticket_id = "71450".into();
    let call = app
        .dials()
        .await
        .dial(request)
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(fake.creations()[0].body["ticket_id"], "71450");
    assert!(fake.creations()[0].body.get("end_user_number").is_none());
    assert_eq!(call.ccai.as_ref().unwrap().out_ticket_id, "71450");
    assert_eq!(
        call.ccai
            .as_ref()
            .unwrap()
            .end_user
            .as_ref()
            .unwrap()
            .out_contact_id,
        "381630957514"
    );

    // 200 (choose an outbound number) and 202 (finish in the widget).
    for (status, body, id) in [
        (200, ccai_doc::ACCEPTED_CHOOSE_NUMBER, "accepted-200"),
        (202, "", "accepted-202"),
    ] {
        fake.answer_json(status, body);
        let call = app
            .dials()
            .await
            .dial(outbound(id))
            .await
            .unwrap()
            .into_inner()
            .call
            .unwrap();
        assert_eq!(
            call.status(),
            proto::CallStatus::PendingAgentAction,
            "{status}"
        );
        assert!(
            call.status_detail.contains("widget"),
            "{}",
            call.status_detail
        );
        let again = app
            .get_call(call_ref(Ref::Id(call.id.clone())))
            .await
            .unwrap();
        assert_eq!(again.status(), proto::CallStatus::PendingAgentAction);
    }
}

#[tokio::test]
async fn inbound_and_scheduled_calls_send_the_documented_bodies() {
    let fake = FakeCcai::start().await;
    let app = app_with(&fake).await;
    fake.answer_json(201, ccai_doc::INBOUND_CREATED);
    let call = app
        .dials()
        .await
        .create_inbound_call(inbound("in-1"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(
        fake.creations()[0].body,
        serde_json::json!({
            "call_type": "Voice Inbound (API)",
            "lang": "en",
            "menu_id": 9,
            "end_user_number": "+82-10-6861-2345",
            "recording_permission": "recording_permission_granted"
        })
    );
    assert_eq!(call.status(), proto::CallStatus::Queued);
    assert_eq!(call.direction(), proto::CallDirection::Inbound);
    assert_eq!(
        call.ccai
            .as_ref()
            .unwrap()
            .selected_menu
            .as_ref()
            .unwrap()
            .name,
        "Lock Star"
    );
    assert_eq!(call.ccai.as_ref().unwrap().offer_events[0].group, "Group 1");
    let parent_id = call.id.clone();

    fake.answer_json(201, ccai_doc::SCHEDULED_CREATED);
    let request = scheduled("sched-1");
    let asked_at = request.scheduled_at.unwrap().seconds;
    let call = app
        .dials()
        .await
        .schedule_call(request)
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    let body = &fake.creations()[1].body;
    assert_eq!(body["call_type"], "Voice Scheduled (API)");
    assert_eq!(body["menu_id"], 9);
    let at = chrono::DateTime::parse_from_rfc3339(body["scheduled_at"].as_str().unwrap()).unwrap();
    assert_eq!(at.timestamp(), asked_at);
    assert!(call.scheduled_time.is_some());

    // Scheduled as a follow-up of the inbound call: CCAI gets its call_id.
    let mut request = scheduled("sched-2");
    request.menu_id = 0;
    request.parent_call = Some(call_ref(Ref::Id(parent_id)));
    app.dials().await.schedule_call(request).await.unwrap();
    let body = &fake.creations()[2].body;
    assert_eq!(body["call_id"], 515);
    assert!(body.get("menu_id").is_none());

    // A parent by a ccai_call_id switchboard never saw (an inbound CCAI call)
    // is CCAI's to know: checked with CCAI, recorded, and sent as call_id.
    let mut request = scheduled("sched-3");
    request.menu_id = 0;
    request.parent_call = Some(call_ref(Ref::CcaiCallId("424242".into())));
    app.dials()
        .await
        .schedule_call(request.clone())
        .await
        .unwrap();
    assert!(
        fake.received()
            .iter()
            .any(|r| r.method == "GET" && r.path == "/apps/api/v1/calls/424242/customer_flag"),
        "ccai was asked about the parent"
    );
    assert_eq!(fake.creations()[3].body["call_id"], 424242);
    let parent = app
        .get_call(call_ref(Ref::CcaiCallId("424242".into())))
        .await
        .unwrap();
    assert_eq!(parent.provider(), proto::Provider::Ccai);
    // A retry of the same request names the same (now known) parent: the
    // first result, no second call.
    app.dials().await.schedule_call(request).await.unwrap();
    assert_eq!(fake.creations().len(), 4);

    // A CCAI 404 means "check your subdomain": our configuration.
    fake.flags_status(404);
    let mut request = scheduled("sched-4");
    request.menu_id = 0;
    request.parent_call = Some(call_ref(Ref::CcaiCallId("525252".into())));
    let status = app.dials().await.schedule_call(request).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("subdomain"),
        "{}",
        status.message()
    );
    assert_eq!(fake.creations().len(), 4);
    // A parent named by our id must be one switchboard has.
    let mut request = scheduled("sched-5");
    request.parent_call = Some(call_ref(Ref::Id(uuid::Uuid::now_v7().to_string())));
    let status = app.dials().await.schedule_call(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(fake.creations().len(), 4);
}

#[tokio::test]
async fn every_documented_error_maps_to_its_code_with_the_message_kept() {
    let fake = FakeCcai::start().await;
    let app = app_with(&fake).await;
    let cases = [
        (
            "Agent is not available to take this call",
            Code::FailedPrecondition,
        ),
        (
            "Agent does not have access to make calls",
            Code::PermissionDenied,
        ),
        ("Not a valid agent email", Code::InvalidArgument),
        ("Agent email required", Code::InvalidArgument),
        (
            "ticket_id or end_user_number required",
            Code::InvalidArgument,
        ),
        ("end_user_number is not well-formed", Code::InvalidArgument),
        ("end_user_number is not well formed", Code::InvalidArgument),
        ("end_user_number is required", Code::InvalidArgument),
        ("Contact not found", Code::NotFound),
        ("Invalid call type", Code::InvalidArgument),
        (
            "Menu is in 'manual redirection' state, can't accept calls",
            Code::FailedPrecondition,
        ),
        (
            "Menu is in 'after hours' state, can't accept incoming calls",
            Code::FailedPrecondition,
        ),
        ("menu_id is required", Code::InvalidArgument),
        ("menu_id is not well formed", Code::InvalidArgument),
        ("menu_id 9999 is not found", Code::NotFound),
        (
            "Only IVR and mobile menu IDs are permitted",
            Code::InvalidArgument,
        ),
        (
            "Only mobile and web menu IDs are permitted",
            Code::InvalidArgument,
        ),
        ("Language 'fr' is not available", Code::FailedPrecondition),
        ("Language 'xy' is not found", Code::NotFound),
        ("scheduled_at is required", Code::InvalidArgument),
        ("A brand new refusal", Code::FailedPrecondition),
    ];
    for (i, (message, code)) in cases.iter().enumerate() {
        fake.answer_json(400, &serde_json::json!({ "message": message }).to_string());
        // Each through the RPC that documents it; the mapping is the same.
        let status = match i % 3 {
            0 => app
                .dials()
                .await
                .dial(outbound(&format!("err-{i}")))
                .await
                .map(|_| ()),
            1 => app
                .dials()
                .await
                .create_inbound_call(inbound(&format!("err-{i}")))
                .await
                .map(|_| ()),
            _ => app
                .dials()
                .await
                .schedule_call(scheduled(&format!("err-{i}")))
                .await
                .map(|_| ()),
        }
        .unwrap_err();
        assert_eq!(status.code(), *code, "{message}");
        assert!(
            status.message().contains(message),
            "{message}: {}",
            status.message()
        );
    }
    // Our configuration: bad credentials or subdomain.
    for status_code in [401, 404] {
        fake.answer_json(status_code, "");
        let status = app
            .dials()
            .await
            .dial(outbound(&format!("cfg-{status_code}")))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status_code}");
        assert!(!status.message().contains(COMPANY_SECRET));
    }
}

#[tokio::test]
async fn refusals_are_replayed_and_unknown_outcomes_kept_for_the_same_request_id() {
    let fake = FakeCcai::start().await;
    let app = app_with(&fake).await;
    fake.answer_json(
        400,
        r#"{"message": "Agent is not available to take this call"}"#,
    );
    for _ in 0..2 {
        let status = app.dials().await.dial(outbound("busy")).await.unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition);
    }
    assert_eq!(
        fake.creations().len(),
        1,
        "the refusal is replayed, not re-sent"
    );

    // A creation that fails with 500 may have happened: unknown, never re-sent.
    fake.answer_json(500, "");
    let status = app
        .dials()
        .await
        .dial(outbound("five-hundred"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    fake.answer_json(201, ccai_doc::OUTBOUND_CREATED);
    let call = app
        .dials()
        .await
        .dial(outbound("five-hundred"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(call.status(), proto::CallStatus::Unknown);
    // And a timeout.
    fake.answer(Answer::Slow(Duration::from_secs(2)));
    let status = app.dials().await.dial(outbound("slow")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let call = app
        .dials()
        .await
        .dial(outbound("slow"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(call.status(), proto::CallStatus::Unknown);
    assert_eq!(fake.creations().len(), 3);

    // Success, then retries: one request.
    fake.answer_json(201, ccai_doc::OUTBOUND_CREATED);
    let first = app
        .dials()
        .await
        .create_inbound_call(inbound("ok"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    let again = app
        .dials()
        .await
        .create_inbound_call(inbound("ok"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(fake.creations().len(), 4);
    // request_ids are per RPC: the same id on another RPC is another request.
    app.dials()
        .await
        .schedule_call(scheduled("ok"))
        .await
        .unwrap();
    assert_eq!(fake.creations().len(), 5);
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_before_any_vendor_request() {
    let fake = FakeCcai::start().await;
    let app = app_with(&fake).await;
    let dials: Vec<(proto::DialRequest, &[&str])> = vec![
        (
            proto::DialRequest {
                agent: "admin".into(),
                ..outbound("a")
            },
            &["agent"],
        ),
        (
            proto::DialRequest {
                agent: String::new(),
                ..outbound("a")
            },
            &["agent"],
        ),
        (
            proto::DialRequest {
                destination_number: "123abc".into(),
                ..outbound("a")
            },
            &["destination_number"],
        ),
        (
            proto::DialRequest {
                destination_number: String::new(),
                ..outbound("a")
            },
            &["destination_number"],
        ),
        (
            proto::DialRequest {
                outbound_number: "++1".into(),
                ..outbound("a")
            },
            &["outbound_number"],
        ),
        (
            proto::DialRequest {
                language: "xx".into(),
                ..outbound("a")
            },
            &["language"],
        ),
        (
            proto::DialRequest {
                language: "english".into(),
                ..outbound("a")
            },
            &["language"],
        ),
        (
            proto::DialRequest {
                ticket_id: "t\u{0}".into(),
                ..outbound("a")
            },
            &["ticket_id"],
        ),
    ];
    for (request, fields) in dials {
        let status = app.dials().await.dial(request.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(violated_fields(&status), fields, "{request:?}");
    }
    let inbounds: Vec<(proto::CreateInboundCallRequest, &[&str])> = vec![
        (
            proto::CreateInboundCallRequest {
                menu_id: 0,
                ..inbound("a")
            },
            &["menu_id"],
        ),
        (
            proto::CreateInboundCallRequest {
                menu_id: -9,
                ..inbound("a")
            },
            &["menu_id"],
        ),
        (
            proto::CreateInboundCallRequest {
                end_user_number: String::new(),
                ..inbound("a")
            },
            &["end_user_number"],
        ),
        (
            proto::CreateInboundCallRequest {
                end_user_number: "+1 999-657-12ab".into(),
                ..inbound("a")
            },
            &["end_user_number"],
        ),
        (
            proto::CreateInboundCallRequest {
                language: "zz".into(),
                ..inbound("a")
            },
            &["language"],
        ),
        (
            proto::CreateInboundCallRequest {
                recording_permission: 7,
                ..inbound("a")
            },
            &["recording_permission"],
        ),
        (
            proto::CreateInboundCallRequest {
                request_id: String::new(),
                ..inbound("a")
            },
            &["request_id"],
        ),
    ];
    for (request, fields) in inbounds {
        let status = app
            .dials()
            .await
            .create_inbound_call(request.clone())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(violated_fields(&status), fields, "{request:?}");
    }
    let past = Timestamp {
        seconds: chrono::Utc::now().timestamp() - 60,
        nanos: 0,
    };
    let schedules: Vec<(proto::ScheduleCallRequest, &[&str])> = vec![
        (
            proto::ScheduleCallRequest {
                scheduled_at: None,
                ..scheduled("a")
            },
            &["scheduled_at"],
        ),
        (
            proto::ScheduleCallRequest {
                scheduled_at: Some(past),
                ..scheduled("a")
            },
            &["scheduled_at"],
        ),
        (
            proto::ScheduleCallRequest {
                menu_id: 0,
                ..scheduled("a")
            },
            &["menu_id"],
        ),
        (
            proto::ScheduleCallRequest {
                parent_call: Some(call_ref(Ref::CcaiCallId("x".into()))),
                ..scheduled("a")
            },
            &["parent_call.ccai_call_id"],
        ),
        (
            proto::ScheduleCallRequest {
                end_user_number: String::new(),
                ..scheduled("a")
            },
            &["end_user_number"],
        ),
    ];
    for (request, fields) in schedules {
        let status = app
            .dials()
            .await
            .schedule_call(request.clone())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(violated_fields(&status), fields, "{request:?}");
    }
    assert!(
        fake.received().is_empty(),
        "no vendor request for invalid input"
    );

    let unconfigured = TestApp::spawn().await;
    let status = unconfigured
        .dials()
        .await
        .create_inbound_call(inbound("x"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("vendors.ccai.base_url"));
}

#[tokio::test]
async fn customer_flags_are_read_and_updated_by_any_reference() {
    let fake = FakeCcai::start().await;
    let app = app_with(&fake).await;
    let call = app
        .dials()
        .await
        .dial(outbound("flags"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    let calls = || app.calls();
    for reference in [Ref::Id(call.id.clone()), Ref::CcaiCallId("397".into())] {
        let flags = calls()
            .await
            .get_customer_flags(proto::GetCustomerFlagsRequest {
                call: Some(call_ref(reference)),
            })
            .await
            .unwrap()
            .into_inner()
            .flags
            .unwrap();
        assert!(flags.verified_customer && !flags.bad_actor && flags.repeat_customer);
    }
    let gets: Vec<_> = fake
        .received()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[0].path, "/apps/api/v1/calls/397/customer_flag");
    assert!(gets[0].authorization.starts_with("Basic "));

    fake.flags_answer(r#"{"verified_customer": true, "bad_actor": true, "repeat_customer": true}"#);
    let updated = calls()
        .await
        .update_customer_flags(proto::UpdateCustomerFlagsRequest {
            call: Some(call_ref(Ref::CcaiCallId("397".into()))),
            verified_customer: None,
            bad_actor: Some(true),
            repeat_customer: Some(true),
        })
        .await
        .unwrap()
        .into_inner()
        .flags
        .unwrap();
    assert!(updated.bad_actor);
    let patch = fake
        .received()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(patch.path, "/apps/api/v1/calls/397/customer_flag");
    // The documented PATCH body names the flag `repeat_customers`.
    assert_eq!(
        patch.body,
        serde_json::json!({ "bad_actor": true, "repeat_customers": true })
    );

    // Bad input and wrong calls, no vendor request.
    let before = fake.received().len();
    let status = calls()
        .await
        .update_customer_flags(proto::UpdateCustomerFlagsRequest {
            call: Some(call_ref(Ref::Id(call.id.clone()))),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = calls()
        .await
        .get_customer_flags(proto::GetCustomerFlagsRequest { call: None })
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), violated_fields(&status)),
        (Code::InvalidArgument, vec!["call".to_owned()])
    );
    // A call that is not a CCAI call.
    let optico_call = {
        let payload = crate::helpers::fake_optico::WEBHOOK_VIEW;
        assert_eq!(app.post_optico_form(payload).await.status(), 200);
        app.get_call(call_ref(Ref::OpticoCallId("22122563".into())))
            .await
            .unwrap()
    };
    let status = calls()
        .await
        .get_customer_flags(proto::GetCustomerFlagsRequest {
            call: Some(call_ref(Ref::Id(optico_call.id))),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(fake.received().len(), before);
}

/// A real inbound CCAI call never went through switchboard: its flags are
/// CCAI's to give, by its ccai_call_id, and the call is recorded so later
/// lookups find it. A 404 on these endpoints means "check your subdomain".
#[tokio::test]
async fn customer_flags_of_a_call_switchboard_never_saw_reach_ccai() {
    let fake = FakeCcai::start().await;
    let app = app_with(&fake).await;
    let unseen = || Some(call_ref(Ref::CcaiCallId("8675309".into())));
    assert_eq!(
        app.get_call(unseen().unwrap()).await.unwrap_err().code(),
        Code::NotFound
    );
    let flags = app
        .calls()
        .await
        .get_customer_flags(proto::GetCustomerFlagsRequest { call: unseen() })
        .await
        .unwrap()
        .into_inner()
        .flags
        .unwrap();
    assert!(flags.verified_customer && !flags.bad_actor && flags.repeat_customer);
    let received = fake.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "GET");
    assert_eq!(received[0].path, "/apps/api/v1/calls/8675309/customer_flag");
    assert!(received[0].authorization.starts_with("Basic "));

    // Recorded: found by its reference and by our id, once.
    let call = app.get_call(unseen().unwrap()).await.unwrap();
    assert_eq!(call.provider(), proto::Provider::Ccai);
    assert!(
        call.refs
            .iter()
            .any(|r| r.kind() == proto::RefKind::CcaiCallId && r.value == "8675309")
    );
    let updated = app
        .calls()
        .await
        .update_customer_flags(proto::UpdateCustomerFlagsRequest {
            call: Some(call_ref(Ref::Id(call.id.clone()))),
            bad_actor: Some(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .flags
        .unwrap();
    assert!(updated.verified_customer);
    let patch = fake.received().pop().unwrap();
    assert_eq!(patch.method, "PATCH");
    assert_eq!(patch.path, "/apps/api/v1/calls/8675309/customer_flag");
    assert_eq!(
        app.get_call(unseen().unwrap()).await.unwrap().id,
        call.id,
        "the same call, not a second record"
    );

    // An update of another unseen call reaches CCAI and records it too.
    let other = || Some(call_ref(Ref::CcaiCallId("4242".into())));
    app.calls()
        .await
        .update_customer_flags(proto::UpdateCustomerFlagsRequest {
            call: other(),
            repeat_customer: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        fake.received().pop().unwrap().path,
        "/apps/api/v1/calls/4242/customer_flag"
    );
    assert!(app.get_call(other().unwrap()).await.is_ok());

    // The documented 404 ("check your subdomain") is our configuration, and
    // nothing is recorded for the id.
    fake.flags_status(404);
    let unknown = || Some(call_ref(Ref::CcaiCallId("1".into())));
    for status in [
        app.calls()
            .await
            .get_customer_flags(proto::GetCustomerFlagsRequest { call: unknown() })
            .await
            .unwrap_err(),
        app.calls()
            .await
            .update_customer_flags(proto::UpdateCustomerFlagsRequest {
                call: unknown(),
                bad_actor: Some(false),
                ..Default::default()
            })
            .await
            .unwrap_err(),
        app.calls()
            .await
            .get_customer_flags(proto::GetCustomerFlagsRequest {
                call: Some(call_ref(Ref::Id(call.id.clone()))),
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(
            status.message().contains("subdomain"),
            "{}",
            status.message()
        );
        assert_eq!(reason(&status), "VENDOR_MISCONFIGURED");
    }
    assert_eq!(
        app.get_call(unknown().unwrap()).await.unwrap_err().code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn an_undocumented_success_is_unknown_and_the_call_kept_unknown_never_redialled() {
    let fake = FakeCcai::start().await;
    let app = TestApp::spawn_with(
        AppOptions::default()
            .ccai(&fake)
            // Smaller than the documented 201 answer.
            .env("SWITCHBOARD__VENDORS__CCAI__MAX_ANSWER_BYTES", 512),
    )
    .await;
    for (request_id, status_code, body) in [
        ("html-201", 201, "<html><body>Welcome</body></html>"),
        ("garbage-200", 200, "OK!"),
        ("html-202", 202, "<html>accepted?</html>"),
        // Larger than vendors.ccai.max_answer_bytes.
        ("oversized-201", 201, ccai_doc::OUTBOUND_CREATED),
    ] {
        fake.answer_json(status_code, body);
        let sent = fake.creations().len();
        let status = app
            .dials()
            .await
            .dial(outbound(request_id))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unknown, "{request_id}: {status:?}");
        assert_eq!(
            crate::helpers::reason(&status),
            "VENDOR_BAD_RESPONSE",
            "{request_id}"
        );
        if request_id == "oversized-201" {
            assert!(
                status.message().contains("vendors.ccai.max_answer_bytes"),
                "{}",
                status.message()
            );
        }
        // The vendor may have dialled: the retry gets the call, kept as
        // UNKNOWN, and CCAI is not asked again.
        fake.answer_json(201, ccai_doc::OUTBOUND_CREATED);
        let call = app
            .dials()
            .await
            .dial(outbound(request_id))
            .await
            .unwrap()
            .into_inner()
            .call
            .unwrap();
        assert_eq!(call.status(), proto::CallStatus::Unknown, "{request_id}");
        assert_eq!(fake.creations().len(), sent + 1, "{request_id}");
    }
    // The documented empty 202 still means the agent finishes in the widget.
    fake.answer_json(202, "");
    let call = app
        .dials()
        .await
        .dial(outbound("empty-202"))
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(call.status(), proto::CallStatus::PendingAgentAction);
}
