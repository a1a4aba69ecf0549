//! CallContextService against a fake Optico answering as documented.

use std::time::Duration;

use prost_types::Timestamp;
use switchboard::pb::v1::{self as proto, call_ref::Ref};
use tonic::Code;

use crate::helpers::{
    AppOptions, TestApp, closed_port,
    fake_optico::{Behaviour, FakeOptico},
    id_ref, optico_ref, violated_fields,
};

/// 2018-02-28 12:57:13 in Paris (the doc's example startDate).
fn doc_start_time() -> Timestamp {
    Timestamp {
        seconds: chrono::DateTime::parse_from_rfc3339("2018-02-28T11:57:13Z")
            .unwrap()
            .timestamp(),
        nanos: 0,
    }
}

fn start_request() -> proto::StartCallRequest {
    proto::StartCallRequest {
        caller_phone: "0033612345678".into(),
        destination_phone: "0033123456789".into(),
        start_time: Some(doc_start_time()),
        agent: "agent1@optico.fr".into(),
    }
}

async fn app_with_optico() -> (TestApp, FakeOptico) {
    let optico = FakeOptico::start().await;
    let app = TestApp::spawn_with(AppOptions::default().optico(&optico.url)).await;
    (app, optico)
}

#[tokio::test]
async fn start_call_returns_the_documented_context_and_sends_the_documented_form() {
    let (app, optico) = app_with_optico().await;
    let response = app
        .calls()
        .await
        .start_call(start_request())
        .await
        .unwrap()
        .into_inner();

    let call = response.call.expect("call");
    assert!(uuid::Uuid::parse_str(&call.id).is_ok());
    assert_eq!(call.status(), proto::CallStatus::Active);
    assert_eq!(call.provider(), proto::Provider::Optico);
    assert_eq!(call.agent, "agent1@optico.fr");
    assert_eq!(call.vendor_status, "OK_OUTCALL");
    assert!(
        call.refs
            .iter()
            .any(|r| r.kind() == proto::RefKind::OpticoCallId && r.value == "22122563")
    );

    assert_eq!(response.matches.len(), 1);
    let context = &response.matches[0];
    let optico_call = context.call.as_ref().unwrap();
    assert_eq!(optico_call.id, 22122563);
    assert_eq!(optico_call.keyword, "optico tracking");
    assert_eq!(optico_call.source, "Adwords");
    assert_eq!(optico_call.status, "OK_OUTCALL");
    assert_eq!(optico_call.referrer, "");
    // 2018-01-02 09:29:27 Paris time is 08:29:27 UTC.
    assert_eq!(optico_call.start_time.as_ref().unwrap().seconds, 1514881767);
    assert_eq!(context.views.len(), 2);
    assert_eq!(context.views[0].id, 568536624);
    assert_eq!(context.views[0].page_title, "Page title");
    assert_eq!(context.views[1].url, "http://www.test.com/test2.html");
    let cart = context.current_cart.as_ref().unwrap();
    assert_eq!(cart.total_cost, 1000.0);
    assert_eq!(cart.products_count, 2);
    assert_eq!(cart.currency, "EUR");
    assert!(cart.is_logged_in);
    assert_eq!(cart.external_id, "5a4b477e3a05e");
    assert_eq!(cart.products.len(), 2);
    assert_eq!(cart.products[0].cost_per_unit, 896.0);
    assert_eq!(cart.products[1].name, "Product 2");
    assert_eq!(context.orders.len(), 1);
    assert_eq!(context.orders[0].id, 18676);
    assert_eq!(context.orders[0].status, "Info");
    assert!(!context.orders[0].is_sale);

    let received = optico.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.path, "/agent-api/callStart");
    assert!(
        request
            .content_type
            .starts_with("application/x-www-form-urlencoded")
    );
    assert_eq!(request.form["apiKey"], crate::helpers::OPTICO_API_KEY);
    assert_eq!(request.form["callerPhone"], "0033612345678");
    assert_eq!(request.form["destinationPhone"], "0033123456789");
    assert_eq!(request.form["startDate"], "2018-02-28 12:57:13");
    assert_eq!(request.form["agent"], "agent1@optico.fr");
    assert_eq!(request.form.len(), 5);

    // GetCall by the Optico id finds the same call.
    let found = app
        .calls()
        .await
        .get_call(proto::GetCallRequest {
            call: Some(optico_ref("22122563")),
        })
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(found.id, call.id);
    let by_id = app
        .calls()
        .await
        .get_call(proto::GetCallRequest {
            call: Some(id_ref(&call.id)),
        })
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(by_id.id, call.id);
}

/// What StartCall learnt from Optico goes on the stream too, for agent apps
/// that did not make the StartCall (the browser panel): the call's status,
/// then the matches, on the agent's stream.
#[tokio::test]
async fn start_call_streams_the_optico_matches_to_the_agent() {
    let (app, _optico) = app_with_optico().await;
    let mut stream = app
        .stream(proto::StreamCallUpdatesRequest {
            agent: "agent1@optico.fr".into(),
            ..Default::default()
        })
        .await;
    let call = app
        .calls()
        .await
        .start_call(start_request())
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    use proto::stream_call_updates_response::Update;
    let wait = Duration::from_secs(5);
    let status = crate::helpers::next_update(&mut stream, wait).await;
    assert!(matches!(status.update, Some(Update::StatusChanged(_))));
    let matched = crate::helpers::next_update(&mut stream, wait).await;
    assert_eq!(matched.call_id, call.id);
    assert!(matched.sequence > status.sequence);
    let Some(Update::OpticoMatches(matches)) = matched.update else {
        panic!("expected optico_matches, got {matched:?}");
    };
    assert_eq!(matches.matches.len(), 1);
    let context = &matches.matches[0];
    let optico_call = context.call.as_ref().unwrap();
    assert_eq!(optico_call.source, "Adwords");
    assert_eq!(optico_call.keyword, "optico tracking");
    assert_eq!(context.views.len(), 2);
    assert_eq!(context.current_cart.as_ref().unwrap().products.len(), 2);
    assert_eq!(context.orders.len(), 1);
}

#[tokio::test]
async fn private_callers_are_sent_as_anonymous_and_agent_is_optional() {
    let (app, optico) = app_with_optico().await;
    for caller in ["", "anonymous", "Anonymous"] {
        let mut request = start_request();
        request.caller_phone = caller.into();
        request.agent = String::new();
        let call = app
            .calls()
            .await
            .start_call(request)
            .await
            .unwrap()
            .into_inner()
            .call
            .unwrap();
        assert_eq!(call.caller_phone, "");
    }
    for received in optico.received() {
        assert_eq!(received.form["callerPhone"], "anonymous");
        assert!(!received.form.contains_key("agent"));
    }
}

#[tokio::test]
async fn a_repeated_start_call_for_the_same_optico_call_does_not_duplicate_it() {
    let (app, _optico) = app_with_optico().await;
    let first = app
        .calls()
        .await
        .start_call(start_request())
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    let second = app
        .calls()
        .await
        .start_call(start_request())
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(first.id, second.id);
    let list = app
        .calls()
        .await
        .list_calls(proto::ListCallsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.calls.len(), 1);
}

#[tokio::test]
async fn start_call_refuses_bad_input_naming_each_field_before_calling_optico() {
    let (app, optico) = app_with_optico().await;
    let cases: Vec<(proto::StartCallRequest, &[&str])> = vec![
        (
            proto::StartCallRequest {
                destination_phone: String::new(),
                ..start_request()
            },
            &["destination_phone"],
        ),
        (
            proto::StartCallRequest {
                destination_phone: "   ".into(),
                ..start_request()
            },
            &["destination_phone"],
        ),
        (
            proto::StartCallRequest {
                destination_phone: "call me".into(),
                ..start_request()
            },
            &["destination_phone"],
        ),
        (
            proto::StartCallRequest {
                destination_phone: "12".into(),
                ..start_request()
            },
            &["destination_phone"],
        ),
        (
            proto::StartCallRequest {
                caller_phone: "06-12-AB".into(),
                ..start_request()
            },
            &["caller_phone"],
        ),
        (
            proto::StartCallRequest {
                caller_phone: "+33 6 12 34 56 78 90 12 34 56".into(),
                ..start_request()
            },
            &["caller_phone"],
        ),
        (
            proto::StartCallRequest {
                start_time: None,
                ..start_request()
            },
            &["start_time"],
        ),
        (
            proto::StartCallRequest {
                start_time: Some(Timestamp {
                    seconds: 0,
                    nanos: -5,
                }),
                ..start_request()
            },
            &["start_time"],
        ),
        (
            proto::StartCallRequest {
                agent: "agent\u{7}".into(),
                ..start_request()
            },
            &["agent"],
        ),
        (
            proto::StartCallRequest {
                caller_phone: "x".into(),
                destination_phone: String::new(),
                start_time: None,
                agent: String::new(),
            },
            &["caller_phone", "destination_phone", "start_time"],
        ),
    ];
    for (request, fields) in cases {
        let status = app
            .calls()
            .await
            .start_call(request.clone())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(violated_fields(&status), fields, "{request:?}");
        for field in fields {
            assert!(
                status.message().contains(field),
                "{} should name {field}",
                status.message()
            );
        }
    }
    assert!(
        optico.received().is_empty(),
        "no vendor request for invalid input"
    );
}

#[tokio::test]
async fn optico_nok_is_failed_precondition_with_the_message_kept_and_the_key_redacted() {
    let (app, optico) = app_with_optico().await;
    optico.behave(Behaviour::InvalidKey);
    let status = app
        .calls()
        .await
        .start_call(start_request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("Invalid API key"),
        "{}",
        status.message()
    );
    // The vendor echoed the start of our key: it must not reach the client.
    assert!(
        !status.message().contains("b7e2c8a14f9d"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn optico_down_slow_or_failing_is_unavailable() {
    // Refused connection.
    let down = TestApp::spawn_with(
        AppOptions::default().optico(&format!("http://127.0.0.1:{}", closed_port())),
    )
    .await;
    let status = down
        .calls()
        .await
        .start_call(start_request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    // Slower than vendors.optico.timeout_ms (500 ms in tests).
    let (app, optico) = app_with_optico().await;
    optico.behave(Behaviour::Slow(Duration::from_secs(3)));
    let status = app
        .calls()
        .await
        .start_call(start_request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("timed out"),
        "{}",
        status.message()
    );

    // 5xx.
    optico.behave(Behaviour::ServerError);
    let status = app
        .calls()
        .await
        .start_call(start_request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("503"), "{}", status.message());
}

#[tokio::test]
async fn an_unconfigured_vendor_is_failed_precondition_naming_the_key() {
    let app = TestApp::spawn().await;
    let status = app
        .calls()
        .await
        .start_call(start_request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("vendors.optico.api_key"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn assign_agent_calls_set_agent_to_call_and_records_the_agent() {
    let (app, optico) = app_with_optico().await;
    let mut request = start_request();
    request.agent = String::new();
    let call = app
        .calls()
        .await
        .start_call(request)
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();

    for reference in [optico_ref("22122563"), id_ref(&call.id)] {
        let assigned = app
            .calls()
            .await
            .assign_agent(proto::AssignAgentRequest {
                call: Some(reference),
                agent: "agent1@optico.fr".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .call
            .unwrap();
        assert_eq!(assigned.id, call.id);
        assert_eq!(assigned.agent, "agent1@optico.fr");
    }
    let set_agent: Vec<_> = optico
        .received()
        .into_iter()
        .filter(|r| r.path == "/agent-api/setAgentToCall")
        .collect();
    assert_eq!(set_agent.len(), 2);
    assert_eq!(set_agent[0].form["callId"], "22122563");
    assert_eq!(set_agent[0].form["agent"], "agent1@optico.fr");
    assert_eq!(set_agent[0].form["apiKey"], crate::helpers::OPTICO_API_KEY);
    assert!(
        set_agent[0]
            .content_type
            .starts_with("application/x-www-form-urlencoded")
    );
}

/// Optico answers setAgentToCall with `{ callId, agent }`: the agent it
/// recorded. That is the agent switchboard records, and the update says so
/// (and which agent was asked for, when Optico confirmed another one).
#[tokio::test]
async fn assign_agent_records_the_agent_optico_confirms() {
    let (app, _optico) = app_with_optico().await;
    let mut request = start_request();
    request.agent = String::new();
    let call = app
        .calls()
        .await
        .start_call(request)
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    let mut updates = app
        .stream(proto::StreamCallUpdatesRequest {
            call: Some(id_ref(&call.id)),
            ..Default::default()
        })
        .await;
    // The fake answers as documented: `"agent": "agent1@optico.fr"`.
    let assigned = app
        .calls()
        .await
        .assign_agent(proto::AssignAgentRequest {
            call: Some(id_ref(&call.id)),
            agent: "Agent1@Optico.FR".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(assigned.agent, "agent1@optico.fr");
    let update = loop {
        let update = crate::helpers::next_update(&mut updates, Duration::from_secs(5)).await;
        if let Some(proto::stream_call_updates_response::Update::AgentAssigned(assigned)) =
            update.update
        {
            break assigned;
        }
    };
    assert_eq!(update.agent, "agent1@optico.fr");
    assert_eq!(update.confirmed_agent, "agent1@optico.fr");
    assert_eq!(update.requested_agent, "Agent1@Optico.FR");
    assert_eq!(update.previous_agent, "");
    let stored = app.get_call(id_ref(&call.id)).await.unwrap();
    assert_eq!(stored.agent, "agent1@optico.fr");
}

#[tokio::test]
async fn assign_agent_refuses_bad_input_and_unknown_calls() {
    let (app, optico) = app_with_optico().await;
    let cases = [
        (
            proto::AssignAgentRequest {
                call: None,
                agent: "a@b.fr".into(),
            },
            Code::InvalidArgument,
            Some("call"),
        ),
        (
            proto::AssignAgentRequest {
                call: Some(proto::CallRef { r#ref: None }),
                agent: "a@b.fr".into(),
            },
            Code::InvalidArgument,
            Some("call"),
        ),
        (
            proto::AssignAgentRequest {
                call: Some(optico_ref("abc")),
                agent: "a@b.fr".into(),
            },
            Code::InvalidArgument,
            Some("call.optico_call_id"),
        ),
        (
            proto::AssignAgentRequest {
                call: Some(id_ref("not-a-uuid")),
                agent: "a@b.fr".into(),
            },
            Code::InvalidArgument,
            Some("call.id"),
        ),
        (
            proto::AssignAgentRequest {
                call: Some(optico_ref("22122563")),
                agent: String::new(),
            },
            Code::InvalidArgument,
            Some("agent"),
        ),
        (
            proto::AssignAgentRequest {
                call: Some(optico_ref("999")),
                agent: "a@b.fr".into(),
            },
            Code::NotFound,
            None,
        ),
        (
            proto::AssignAgentRequest {
                call: Some(id_ref(&uuid::Uuid::now_v7().to_string())),
                agent: "a@b.fr".into(),
            },
            Code::NotFound,
            None,
        ),
    ];
    for (request, code, field) in cases {
        let status = app
            .calls()
            .await
            .assign_agent(request.clone())
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{request:?}: {status:?}");
        if let Some(field) = field {
            assert_eq!(violated_fields(&status), [field], "{request:?}");
        }
    }
    assert!(optico.received().is_empty());
}

#[tokio::test]
async fn get_call_refuses_bad_references_and_reports_unknown_calls() {
    let app = TestApp::spawn().await;
    let cases = [
        (None, Code::InvalidArgument),
        (
            Some(proto::CallRef {
                r#ref: Some(Ref::FocalscopeCallId("-4".into())),
            }),
            Code::InvalidArgument,
        ),
        (
            Some(proto::CallRef {
                r#ref: Some(Ref::CallUuid("zz top".into())),
            }),
            Code::InvalidArgument,
        ),
        (
            Some(proto::CallRef {
                r#ref: Some(Ref::CcaiCallId("397".into())),
            }),
            Code::NotFound,
        ),
        (Some(optico_ref("22122563")), Code::NotFound),
    ];
    for (call, code) in cases {
        let status = app
            .calls()
            .await
            .get_call(proto::GetCallRequest { call: call.clone() })
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{call:?}");
    }
}

#[tokio::test]
async fn list_calls_filters_and_pages() {
    let (app, _optico) = app_with_optico().await;
    // Three calls through webhooks (distinct Optico ids), one through StartCall.
    for id in [1001, 1002, 1003] {
        let payload =
            crate::helpers::fake_optico::WEBHOOK_VIEW.replace("22122563", &id.to_string());
        assert_eq!(app.post_optico_form(&payload).await.status(), 200);
    }
    app.calls().await.start_call(start_request()).await.unwrap();

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .calls()
            .await
            .list_calls(proto::ListCallsRequest {
                page_size: 3,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.calls.len() <= 3);
        seen.extend(page.calls.into_iter().map(|c| c.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 4);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "no call twice across pages");

    let by_agent = app
        .calls()
        .await
        .list_calls(proto::ListCallsRequest {
            agent: "agent1@optico.fr".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_agent.calls.len(), 1);
    let by_phone = app
        .calls()
        .await
        .list_calls(proto::ListCallsRequest {
            phone: "+33 6 12 34 56 78".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_phone.calls.len(), 1, "+33… matches 0033…");
    let by_time = app
        .calls()
        .await
        .list_calls(proto::ListCallsRequest {
            start_time_to: Some(Timestamp {
                seconds: doc_start_time().seconds + 1,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_time.calls.len(), 1);

    // Bad input.
    let bad = [
        (
            proto::ListCallsRequest {
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
        (
            proto::ListCallsRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            proto::ListCallsRequest {
                phone: "not a phone".into(),
                ..Default::default()
            },
            "phone",
        ),
        (
            proto::ListCallsRequest {
                status: 99,
                ..Default::default()
            },
            "status",
        ),
        (
            proto::ListCallsRequest {
                provider: 42,
                ..Default::default()
            },
            "provider",
        ),
        (
            proto::ListCallsRequest {
                start_time_from: Some(Timestamp {
                    seconds: 2_000_000_000,
                    nanos: 0,
                }),
                start_time_to: Some(Timestamp {
                    seconds: 1_000_000_000,
                    nanos: 0,
                }),
                ..Default::default()
            },
            "start_time_to",
        ),
    ];
    for (request, field) in bad {
        let status = app
            .calls()
            .await
            .list_calls(request.clone())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(violated_fields(&status), [field]);
    }
    // A token is bound to its filters.
    let first = app
        .calls()
        .await
        .list_calls(proto::ListCallsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let status = app
        .calls()
        .await
        .list_calls(proto::ListCallsRequest {
            page_size: 1,
            page_token: first.next_page_token,
            agent: "someone@else.fr".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["page_token"]);
}
