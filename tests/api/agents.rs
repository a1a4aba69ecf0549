//! AgentsService against a fake iAdvize answering as documented: every RPC,
//! the exact requests sent (method, path, `filters[...]`, `page`, `limit`,
//! `full`, `X-API-Key`, form bodies), paging, error mapping, validation, and
//! the shared availability pollers of WatchAgentAvailability.

use std::time::Duration;

use axum::http::Method;
use prost_types::FieldMask;
use serde_json::json;
use switchboard::pb::v1::{
    self as proto, agents_service_client::AgentsServiceClient,
    watch_agent_availability_response::Event,
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{
    AppOptions, AuthedChannel, TEST_TOKEN, TestApp, assert_invalid, closed_port,
    fake_iadvize::{DOC_OPERATOR_IDS, FakeIadvize, IADVIZE_API_KEY},
    pairs, reason, violated_fields,
};

const WAIT: Duration = Duration::from_secs(5);
/// Poll interval of the watch tests: short, so tests are quick, yet long
/// enough for a test to act between two polls.
const POLL_MS: u64 = 150;

async fn app_with_iadvize() -> (TestApp, FakeIadvize) {
    app_with(AppOptions::default()).await
}

async fn app_with(options: AppOptions) -> (TestApp, FakeIadvize) {
    let iadvize = FakeIadvize::start().await;
    let app = TestApp::spawn_with(
        options
            .iadvize(&iadvize.url)
            .env("SWITCHBOARD__VENDORS__IADVIZE__POLL_INTERVAL_MS", POLL_MS),
    )
    .await;
    (app, iadvize)
}

async fn client(app: &TestApp) -> AgentsServiceClient<AuthedChannel> {
    AgentsServiceClient::new(app.channel_with_token(Some(TEST_TOKEN)).await)
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

fn assert_form_request(request: &crate::helpers::fake_iadvize::Received) {
    assert_eq!(request.api_key.as_deref(), Some(IADVIZE_API_KEY));
    assert!(
        request
            .content_type
            .starts_with("application/x-www-form-urlencoded"),
        "{}",
        request.content_type
    );
    assert!(request.query.is_empty(), "{:?}", request.query);
}

#[allow(deprecated)]
fn assert_doc_agent(agent: &proto::Agent, id: i64) {
    assert_eq!(agent.id, id);
    assert_eq!(agent.name, "Doe");
    assert_eq!(agent.first_name, "John");
    assert_eq!(agent.pseudo, "Johnny");
    assert_eq!(agent.email, format!("john.doe.{id}@example.com"));
    assert_eq!(agent.external_id, format!("MyExternalId{id}"));
    assert_eq!(agent.role(), proto::AgentRole::Manager);
    assert_eq!(
        agent.roles().collect::<Vec<_>>(),
        [proto::AgentRole::Expert, proto::AgentRole::Manager]
    );
    assert_eq!(agent.chat_enabled, Some(true));
    assert_eq!(agent.call_enabled, Some(false));
    assert_eq!(agent.video_enabled, Some(true));
    assert_eq!(agent.chat_max_number, Some(4));
    assert_eq!(agent.chat_and_call, Some(false));
    assert_eq!(agent.chat_priority, Some(10));
    assert_eq!(agent.call_priority, Some(0));
    assert_eq!(agent.video_priority, Some(10));
    assert_eq!(agent.language_list, ["en", "fr"]);
    assert_eq!(agent.language_admin, "fr");
    assert_eq!(agent.group_id, 1984);
    assert_eq!(agent.website_list, [1, 2, 3]);
    assert_eq!(agent.skill_list, [12, 13]);
    assert_eq!(agent.sso_key, "sso-token-xyz");
}

// ---- operators ----

#[tokio::test]
async fn list_agents_sends_every_filter_and_pages_across_iadvize_pages() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    let filter = proto::AgentFilter {
        agent_id: 123,
        group_id: 1984,
        website_id: 1,
        website_list: vec![3, 1, 2],
        skill_id: 12,
        name: "*uli*".into(),
        external_id: "MyExternalId".into(),
        connected: proto::AgentConnectionFilter::Online.into(),
    };
    let first = agents
        .list_agents(proto::ListAgentsRequest {
            filter: Some(filter.clone()),
            full: true,
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let request = iadvize.single();
    assert_eq!(request.method, Method::GET);
    assert_eq!(request.path, "/operator");
    assert_eq!(request.api_key.as_deref(), Some(IADVIZE_API_KEY));
    assert_eq!(
        request.query,
        pairs(&[
            ("filters[id]", "123"),
            ("filters[group_id]", "1984"),
            ("filters[website_id]", "1"),
            ("filters[website_list]", "1,2,3"),
            ("filters[skill_id]", "12"),
            ("filters[name]", "*uli*"),
            ("filters[external_id]", "MyExternalId"),
            ("filters[connected]", "1"),
            ("full", "1"),
            ("page", "1"),
            ("limit", "2"),
        ])
    );
    assert_eq!(first.agents.len(), 2);
    assert_doc_agent(&first.agents[0], 789);
    assert_doc_agent(&first.agents[1], 456);
    assert!(!first.next_page_token.is_empty());

    // The same filter (websites in another order) continues the listing;
    // the first page size is kept although another is asked.
    let second = agents
        .list_agents(proto::ListAgentsRequest {
            filter: Some(proto::AgentFilter {
                website_list: vec![2, 3, 1],
                ..filter.clone()
            }),
            full: true,
            page_size: 50,
            page_token: first.next_page_token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let request = iadvize.received().pop().unwrap();
    assert_eq!(request.query("page"), Some("2"));
    assert_eq!(request.query("limit"), Some("2"));
    assert_eq!(request.query("filters[name]"), Some("*uli*"));
    assert_eq!(second.agents.len(), 1);
    assert_doc_agent(&second.agents[0], 123);
    assert!(second.next_page_token.is_empty(), "last page");
}

#[tokio::test]
async fn list_agents_without_full_or_filters_sends_only_the_page() {
    let (app, iadvize) = app_with_iadvize().await;
    let response = client(&app)
        .await
        .list_agents(proto::ListAgentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let request = iadvize.single();
    assert_eq!(request.query, pairs(&[("page", "1"), ("limit", "20")]));
    let ids: Vec<i64> = response.agents.iter().map(|a| a.id).collect();
    assert_eq!(ids, DOC_OPERATOR_IDS);
    // Fields iAdvize did not send stay absent, not false or 0.
    let agent = &response.agents[0];
    assert_eq!(agent.chat_enabled, None);
    assert_eq!(agent.chat_priority, None);
    assert_eq!(agent.chat_max_number, None);
    assert!(agent.name.is_empty());
    assert!(response.next_page_token.is_empty());

    // Offline operators are asked with connected=0; big pages are capped.
    client(&app)
        .await
        .list_agents(proto::ListAgentsRequest {
            filter: Some(proto::AgentFilter {
                connected: proto::AgentConnectionFilter::Offline.into(),
                ..Default::default()
            }),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap();
    let request = iadvize.received().pop().unwrap();
    assert_eq!(
        request.query,
        pairs(&[("filters[connected]", "0"), ("page", "1"), ("limit", "100")])
    );
}

#[tokio::test]
async fn page_tokens_only_continue_the_listing_they_came_from() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    let first = agents
        .list_agents(proto::ListAgentsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let sent = iadvize.received().len();
    for request in [
        // Another filter.
        proto::ListAgentsRequest {
            filter: Some(proto::AgentFilter {
                group_id: 7,
                ..Default::default()
            }),
            page_token: first.next_page_token.clone(),
            ..Default::default()
        },
        // `full` changed.
        proto::ListAgentsRequest {
            full: true,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        },
        // Not a token at all.
        proto::ListAgentsRequest {
            page_token: "not-a-token!".into(),
            ..Default::default()
        },
    ] {
        assert_invalid(agents.list_agents(request).await, &["page_token"]);
    }
    // Nor does a ListAgents token work for ListAgentAvailability.
    assert_invalid(
        agents
            .list_agent_availability(proto::ListAgentAvailabilityRequest {
                page_token: first.next_page_token.clone(),
                ..Default::default()
            })
            .await,
        &["page_token"],
    );
    assert_eq!(iadvize.received().len(), sent, "iAdvize was not called");
}

#[tokio::test]
async fn get_agent_returns_every_documented_field() {
    let (app, iadvize) = app_with_iadvize().await;
    let agent = client(&app)
        .await
        .get_agent(proto::GetAgentRequest { agent_id: 123 })
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap();
    assert_doc_agent(&agent, 123);
    let request = iadvize.single();
    assert_eq!(request.method, Method::GET);
    assert_eq!(request.path, "/operator/123");
    assert!(request.query.is_empty());
    assert_eq!(request.api_key.as_deref(), Some(IADVIZE_API_KEY));
}

#[allow(deprecated)]
#[tokio::test]
async fn create_agent_posts_every_set_field_form_encoded() {
    let (app, iadvize) = app_with_iadvize().await;
    let created = client(&app)
        .await
        .create_agent(proto::CreateAgentRequest {
            agent: Some(proto::Agent {
                id: 999,
                name: "Doe".into(),
                first_name: "John".into(),
                pseudo: "Johnny".into(),
                email: "john.doe@example.com".into(),
                external_id: "MyExternalId".into(),
                role: proto::AgentRole::Manager.into(),
                roles: vec![
                    proto::AgentRole::Expert.into(),
                    proto::AgentRole::Manager.into(),
                ],
                chat_enabled: Some(true),
                call_enabled: Some(false),
                video_enabled: None,
                chat_max_number: Some(4),
                chat_and_call: Some(false),
                chat_priority: Some(10),
                call_priority: Some(0),
                video_priority: None,
                language_list: vec!["en".into(), "FR".into()],
                language_admin: "fr".into(),
                group_id: 1984,
                website_list: vec![1, 2],
                skill_list: vec![],
                sso_key: "sso".into(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap();
    assert_doc_agent(&created, 124);
    let request = iadvize.single();
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/operator");
    assert_form_request(&request);
    assert_eq!(
        request.form,
        pairs(&[
            ("name", "Doe"),
            ("first_name", "John"),
            ("pseudo", "Johnny"),
            ("email", "john.doe@example.com"),
            ("external_id", "MyExternalId"),
            ("sso_key", "sso"),
            ("role", "manager"),
            ("roles[]", "expert"),
            ("roles[]", "manager"),
            ("chat_enabled", "1"),
            ("call_enabled", "0"),
            ("chat_and_call", "0"),
            ("chat_max_number", "4"),
            ("chat_priority", "10"),
            ("call_priority", "0"),
            ("language_list[]", "en"),
            ("language_list[]", "fr"),
            ("language_admin", "fr"),
            ("group_id", "1984"),
            ("website_list[]", "1"),
            ("website_list[]", "2"),
        ]),
        "unset fields (video, skills, id) are not sent"
    );
}

#[tokio::test]
async fn update_agent_puts_exactly_the_masked_fields() {
    let (app, iadvize) = app_with_iadvize().await;
    let updated = client(&app)
        .await
        .update_agent(proto::UpdateAgentRequest {
            agent: Some(proto::Agent {
                id: 456,
                name: "ignored: not in the mask".into(),
                chat_enabled: Some(false),
                website_list: vec![4],
                ..Default::default()
            }),
            // Proto names and their JSON (camelCase) spelling alike.
            update_mask: mask(&[
                "chat_enabled",
                "websiteList",
                "skill_list",
                "group_id",
                "chat_priority",
            ]),
        })
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap();
    assert_doc_agent(&updated, 456);
    let request = iadvize.single();
    assert_eq!(request.method, Method::PUT);
    assert_eq!(request.path, "/operator/456");
    assert_form_request(&request);
    assert_eq!(
        request.form,
        pairs(&[
            ("chat_enabled", "0"),
            ("chat_priority", "0"),
            ("group_id", "0"),
            ("website_list[]", "4"),
            ("skill_list", ""),
        ]),
        "masked fields are sent even when false, 0 or empty"
    );
}

#[tokio::test]
async fn delete_agent_sends_delete() {
    let (app, iadvize) = app_with_iadvize().await;
    client(&app)
        .await
        .delete_agent(proto::DeleteAgentRequest { agent_id: 789 })
        .await
        .unwrap();
    let request = iadvize.single();
    assert_eq!(request.method, Method::DELETE);
    assert_eq!(request.path, "/operator/789");
    assert_eq!(request.api_key.as_deref(), Some(IADVIZE_API_KEY));
}

// ---- live availability, statistics, profile ----

fn channel(
    enabled: bool,
    slot_number: i32,
    slot_max_number: i32,
    busy: bool,
    available: bool,
) -> Option<proto::ChannelAvailability> {
    Some(proto::ChannelAvailability {
        enabled,
        slot_number,
        slot_max_number,
        busy,
        available,
    })
}

fn doc_live_456() -> proto::AgentAvailability {
    proto::AgentAvailability {
        agent_id: 456,
        connected: true,
        chat: channel(true, 2, 4, false, true),
        call: channel(false, 0, 1, false, false),
        video: channel(false, 0, 1, false, false),
    }
}

#[tokio::test]
async fn list_agent_availability_sends_the_filter_and_reads_the_documented_example() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    let response = agents
        .list_agent_availability(proto::ListAgentAvailabilityRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.agents, [doc_live_456()]);
    assert!(response.next_page_token.is_empty());
    let request = iadvize.single();
    assert_eq!(request.method, Method::GET);
    assert_eq!(request.path, "/operator/live");
    assert_eq!(request.query, pairs(&[("page", "1"), ("limit", "20")]));

    // Offline operators of a group need both filters, as the doc says.
    agents
        .list_agent_availability(proto::ListAgentAvailabilityRequest {
            filter: Some(proto::AgentFilter {
                group_id: 1984,
                connected: proto::AgentConnectionFilter::Offline.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let request = iadvize.received().pop().unwrap();
    assert_eq!(
        request.query,
        pairs(&[
            ("filters[group_id]", "1984"),
            ("filters[connected]", "0"),
            ("page", "1"),
            ("limit", "20"),
        ])
    );

    // The documented answer carries no pagination: a full page may have a
    // next one (walked until a short page), a short one is the last.
    iadvize.answer_times(
        Method::GET,
        "/operator/live",
        200,
        &json!({ "meta": { "status": "success" }, "data": [
            { "id": 456, "connected": true,
              "chat": { "enabled": true, "slot_number": 2, "slot_max_number": 4, "busy": false, "available": true },
              "call": { "enabled": false, "slot_number": 0, "slot_max_number": 1, "busy": false, "available": false },
              "video": { "enabled": false, "slot_number": 0, "slot_max_number": 1, "busy": false, "available": false } }
        ] })
        .to_string(),
        1,
    );
    let response = agents
        .list_agent_availability(proto::ListAgentAvailabilityRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.agents, [doc_live_456()]);
    assert!(!response.next_page_token.is_empty(), "a full page");
    assert_eq!(response.total_size, 0, "no count given");
    iadvize.answer(
        Method::GET,
        "/operator/live",
        200,
        r#"{"meta": {"status": "success"}, "data": []}"#,
    );
    let last = agents
        .list_agent_availability(proto::ListAgentAvailabilityRequest {
            page_size: 1,
            page_token: response.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(last.agents.is_empty());
    assert!(last.next_page_token.is_empty(), "an empty page is the last");
    assert_eq!(iadvize.received().pop().unwrap().query("page"), Some("2"));
}

#[tokio::test]
async fn list_agent_availability_pages() {
    let (app, iadvize) = app_with_iadvize().await;
    let agent = |id: i64| {
        json!({ "id": id, "connected": true,
                "chat": { "enabled": true, "slot_number": 0, "slot_max_number": 2, "busy": false, "available": true } })
    };
    iadvize.set_live(json!([agent(1), agent(2), agent(3)]));
    let mut agents = client(&app).await;
    let mut token = String::new();
    let mut ids = Vec::new();
    loop {
        let page = agents
            .list_agent_availability(proto::ListAgentAvailabilityRequest {
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        ids.extend(page.agents.iter().map(|a| a.agent_id));
        // A channel iAdvize left out reads as all false / 0.
        assert!(
            page.agents
                .iter()
                .all(|a| a.video == channel(false, 0, 0, false, false))
        );
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(ids, [1, 2, 3]);
    let pages: Vec<_> = iadvize
        .received()
        .iter()
        .map(|r| {
            (
                r.query("page").unwrap().to_owned(),
                r.query("limit").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        [
            ("1".to_owned(), "2".to_owned()),
            ("2".to_owned(), "2".to_owned())
        ]
    );
}

#[tokio::test]
async fn get_agent_availability_reads_the_documented_example() {
    let (app, iadvize) = app_with_iadvize().await;
    let availability = client(&app)
        .await
        .get_agent_availability(proto::GetAgentAvailabilityRequest { agent_id: 123 })
        .await
        .unwrap()
        .into_inner()
        .availability
        .unwrap();
    assert_eq!(
        availability,
        proto::AgentAvailability {
            agent_id: 123,
            connected: false,
            chat: channel(false, 1, 2, false, false),
            call: channel(true, 1, 1, true, false),
            video: channel(false, 0, 1, false, false),
        }
    );
    let request = iadvize.single();
    assert_eq!(
        (request.method, request.path.as_str()),
        (Method::GET, "/operator/123/live")
    );
}

#[tokio::test]
async fn set_agent_availability_puts_the_channels_or_a_disconnect() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    let response = agents
        .set_agent_availability(proto::SetAgentAvailabilityRequest {
            agent_id: 123,
            chat_available: Some(true),
            call_available: None,
            video_available: Some(false),
            disconnect: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        response.message,
        "Operator is now available for chat channel."
    );
    let request = iadvize.single();
    assert_eq!(request.method, Method::PUT);
    assert_eq!(request.path, "/operator/123/live");
    assert_form_request(&request);
    assert_eq!(
        request.form,
        pairs(&[("chat[available]", "1"), ("video[available]", "0")])
    );

    agents
        .set_agent_availability(proto::SetAgentAvailabilityRequest {
            agent_id: 123,
            disconnect: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let request = iadvize.received().pop().unwrap();
    assert_eq!(request.form, pairs(&[("connected", "0")]));
}

#[tokio::test]
async fn statistics_and_profile_read_the_documented_examples() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    let statistics = agents
        .get_agent_statistics(proto::GetAgentStatisticsRequest { agent_id: 123 })
        .await
        .unwrap()
        .into_inner()
        .statistics
        .unwrap();
    assert_eq!(
        statistics,
        proto::AgentStatistics {
            agent_id: 123,
            conversation_number: 589,
            satisfaction_global_rate: 0.86,
            experience: 5630,
        }
    );
    let profile = agents
        .get_agent_profile(proto::GetAgentProfileRequest { agent_id: 123 })
        .await
        .unwrap()
        .into_inner()
        .profile
        .unwrap();
    assert_eq!(
        profile,
        proto::AgentProfile {
            agent_id: 123,
            status: "Je suis disponible pour vous aider".into(),
            description: "Passionné par la menuiserie depuis plusieurs années, j'aime vous apporter des conseils.".into(),
            facebook: "john.doe".into(),
            twitter: "johndoe45".into(),
            city: "Nantes".into(),
            country: "France".into(),
        }
    );
    let paths: Vec<_> = iadvize
        .received()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        paths,
        [
            (Method::GET, "/operator/123/statistic".to_owned()),
            (Method::GET, "/operator/123/profile".to_owned()),
        ]
    );
}

// ---- groups and skills ----

/// 2013-08-22 14:12:45 in Paris (the default `vendors.iadvize.timezone`,
/// summer time): 12:12:45 UTC.
const DOC_CREATED_AT: i64 = 1377180765 - 7200;

#[tokio::test]
async fn groups_list_get_create_update_delete() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    let first = agents
        .list_groups(proto::ListGroupsRequest {
            parent_id: 1987,
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let request = iadvize.single();
    assert_eq!(
        (request.method.clone(), request.path.as_str()),
        (Method::GET, "/group")
    );
    assert_eq!(
        request.query,
        pairs(&[
            ("full", "1"),
            ("filters[parent_id]", "1987"),
            ("page", "1"),
            ("limit", "2"),
        ])
    );
    assert_eq!(
        first.groups[0],
        proto::Group {
            id: 1984,
            name: "Group 1984".into(),
            created_at: Some(prost_types::Timestamp {
                seconds: DOC_CREATED_AT,
                nanos: 0
            }),
            parent_id: 1987,
            operator_list: vec![123, 456],
            parent_list: vec![1987, 1],
        }
    );
    let second = agents
        .list_groups(proto::ListGroupsRequest {
            parent_id: 1987,
            page_size: 0,
            page_token: first.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.groups.len(), 1);
    assert_eq!(second.groups[0].id, 1986);
    assert!(second.next_page_token.is_empty());

    let group = agents
        .get_group(proto::GetGroupRequest { group_id: 1985 })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    assert_eq!(group.id, 1985);
    assert_eq!(iadvize.received().pop().unwrap().path, "/group/1985");

    let created = agents
        .create_group(proto::CreateGroupRequest {
            group: Some(proto::Group {
                id: 5,
                name: "Support".into(),
                parent_id: 1984,
                operator_list: vec![123, 456],
                parent_list: vec![9],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    assert_eq!(created.id, 1990);
    let request = iadvize.received().pop().unwrap();
    assert_eq!(
        (request.method.clone(), request.path.as_str()),
        (Method::POST, "/group")
    );
    assert_form_request(&request);
    assert_eq!(
        request.form,
        pairs(&[
            ("name", "Support"),
            ("parent_id", "1984"),
            ("operator_list[]", "123"),
            ("operator_list[]", "456"),
        ])
    );

    agents
        .update_group(proto::UpdateGroupRequest {
            group: Some(proto::Group {
                id: 1984,
                name: "not sent".into(),
                ..Default::default()
            }),
            update_mask: mask(&["parent_id", "operatorList"]),
        })
        .await
        .unwrap();
    let request = iadvize.received().pop().unwrap();
    assert_eq!(
        (request.method.clone(), request.path.as_str()),
        (Method::PUT, "/group/1984")
    );
    assert_eq!(
        request.form,
        pairs(&[("parent_id", "0"), ("operator_list", "")]),
        "0 detaches, an empty list clears"
    );

    agents
        .delete_group(proto::DeleteGroupRequest { group_id: 1984 })
        .await
        .unwrap();
    let request = iadvize.received().pop().unwrap();
    assert_eq!(
        (request.method, request.path.as_str()),
        (Method::DELETE, "/group/1984")
    );
}

#[allow(deprecated)]
#[tokio::test]
async fn skills_list_get_create_update_delete() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    let listed = agents
        .list_skills(proto::ListSkillsRequest {
            operator_id: 123,
            parent_id: 7,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let request = iadvize.single();
    assert_eq!(
        (request.method.clone(), request.path.as_str()),
        (Method::GET, "/skill")
    );
    assert_eq!(
        request.query,
        pairs(&[
            ("full", "1"),
            ("filters[operator_id]", "123"),
            ("filters[parent_id]", "7"),
            ("page", "1"),
            ("limit", "20"),
        ])
    );
    assert_eq!(
        listed.skills[0],
        proto::Skill {
            id: 1984,
            name: "Skill 1984".into(),
            order: 2,
            created_at: Some(prost_types::Timestamp {
                seconds: DOC_CREATED_AT,
                nanos: 0
            }),
            parent_id: 0,
            operator_list: vec![123],
        }
    );
    assert_eq!(listed.skills.len(), 3);
    assert!(listed.next_page_token.is_empty());

    agents
        .get_skill(proto::GetSkillRequest { skill_id: 1985 })
        .await
        .unwrap();
    assert_eq!(iadvize.received().pop().unwrap().path, "/skill/1985");

    let created = agents
        .create_skill(proto::CreateSkillRequest {
            skill: Some(proto::Skill {
                name: "Espresso".into(),
                order: 3,
                parent_id: 0,
                operator_list: vec![1],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .skill
        .unwrap();
    assert_eq!(created.id, 1990);
    let request = iadvize.received().pop().unwrap();
    assert_eq!(
        (request.method.clone(), request.path.as_str()),
        (Method::POST, "/skill")
    );
    assert_form_request(&request);
    assert_eq!(request.form, pairs(&[("name", "Espresso"), ("order", "3")]));

    agents
        .update_skill(proto::UpdateSkillRequest {
            skill: Some(proto::Skill {
                id: 1985,
                name: "Repairs".into(),
                ..Default::default()
            }),
            update_mask: mask(&["name", "order", "parent_id"]),
        })
        .await
        .unwrap();
    let request = iadvize.received().pop().unwrap();
    assert_eq!(
        (request.method.clone(), request.path.as_str()),
        (Method::PUT, "/skill/1985")
    );
    assert_eq!(
        request.form,
        pairs(&[("name", "Repairs"), ("order", "0"), ("parent_id", "0")])
    );

    agents
        .delete_skill(proto::DeleteSkillRequest { skill_id: 1985 })
        .await
        .unwrap();
    let request = iadvize.received().pop().unwrap();
    assert_eq!(
        (request.method, request.path.as_str()),
        (Method::DELETE, "/skill/1985")
    );
}

#[tokio::test]
async fn dates_are_read_in_the_configured_iadvize_time_zone() {
    let (app, _iadvize) =
        app_with(AppOptions::default().env("SWITCHBOARD__VENDORS__IADVIZE__TIMEZONE", "UTC")).await;
    let group = client(&app)
        .await
        .get_group(proto::GetGroupRequest { group_id: 1984 })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    // 14:12:45 read as UTC, two hours after the same clock in Paris.
    assert_eq!(group.created_at.unwrap().seconds, DOC_CREATED_AT + 7200);
}

// ---- Odigo callbacks ----

#[tokio::test]
async fn odigo_pickup_and_hangup_post_the_documented_form() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    let conversation = agents
        .notify_call_pickup(proto::NotifyCallPickupRequest {
            operator_external_id: "odigo-42".into(),
            website_id: 1,
            phone_number: "0614037735".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        conversation,
        proto::NotifyCallPickupResponse {
            targeting_rule_id: 107,
            website_id: 1,
            conversation_id: 139,
            skill_id: None,
            visitor_phone_number: "0614037735".into(),
            visitor_uid: "0a1572b7cc5027fe443f4203eaf0b98d4cbea6d313afa".into(),
        }
    );
    agents
        .notify_call_hangup(proto::NotifyCallHangupRequest {
            operator_external_id: "odigo-42".into(),
            website_id: 1,
            phone_number: "0614037735".into(),
        })
        .await
        .unwrap();
    let received = iadvize.received();
    assert_eq!(received.len(), 2);
    for (request, path) in received
        .iter()
        .zip(["/odigocallback/pickup", "/odigocallback/hangup"])
    {
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.path, path);
        assert_form_request(request);
        assert_eq!(
            request.form,
            pairs(&[
                ("operator_external_id", "odigo-42"),
                ("website_id", "1"),
                ("phone_number", "0614037735"),
            ])
        );
    }
}

// ---- validation ----

#[allow(deprecated)]
#[tokio::test]
async fn bad_input_is_refused_naming_each_field_before_iadvize_is_called() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;

    assert_invalid(
        agents
            .list_agents(proto::ListAgentsRequest {
                page_size: -1,
                filter: Some(proto::AgentFilter {
                    agent_id: -5,
                    website_list: vec![1, 0],
                    name: "a\u{7}b".into(),
                    connected: 9,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await,
        &[
            "filter.agent_id",
            "filter.website_list[1]",
            "filter.name",
            "filter.connected",
            "page_size",
        ],
    );
    assert_invalid(
        agents
            .get_agent(proto::GetAgentRequest { agent_id: 0 })
            .await,
        &["agent_id"],
    );
    assert_invalid(
        agents
            .delete_agent(proto::DeleteAgentRequest { agent_id: -1 })
            .await,
        &["agent_id"],
    );
    assert_invalid(
        agents
            .create_agent(proto::CreateAgentRequest { agent: None })
            .await,
        &["agent"],
    );
    assert_invalid(
        agents
            .create_agent(proto::CreateAgentRequest {
                agent: Some(proto::Agent {
                    name: "Doe".into(),
                    email: "not-an-email".into(),
                    role: proto::AgentRole::Expert.into(),
                    roles: vec![proto::AgentRole::Operator.into(), 99],
                    chat_max_number: Some(-1),
                    chat_priority: Some(5),
                    call_priority: Some(10),
                    video_priority: Some(0),
                    language_list: vec!["en".into(), "eng".into()],
                    language_admin: "it".into(),
                    group_id: -3,
                    skill_list: vec![-1],
                    ..Default::default()
                }),
            })
            .await,
        &[
            "agent.email",
            "agent.role",
            "agent.roles[1]",
            "agent.chat_max_number",
            "agent.chat_priority",
            "agent.language_list[1]",
            "agent.language_admin",
            "agent.group_id",
            "agent.skill_list[0]",
        ],
    );
    assert_invalid(
        agents
            .update_agent(proto::UpdateAgentRequest {
                agent: Some(proto::Agent::default()),
                update_mask: None,
            })
            .await,
        &["update_mask", "agent.id"],
    );
    assert_invalid(
        agents
            .update_agent(proto::UpdateAgentRequest {
                agent: Some(proto::Agent {
                    id: 123,
                    ..Default::default()
                }),
                update_mask: mask(&["id", "*", "nope"]),
            })
            .await,
        &[
            "update_mask.paths[0]",
            "update_mask.paths[1]",
            "update_mask.paths[2]",
        ],
    );
    assert_invalid(
        agents
            .update_agent(proto::UpdateAgentRequest {
                agent: Some(proto::Agent {
                    id: 123,
                    video_priority: Some(3),
                    email: String::new(),
                    ..Default::default()
                }),
                update_mask: mask(&["video_priority", "email"]),
            })
            .await,
        &["agent.email", "agent.video_priority"],
    );
    assert_invalid(
        agents
            .update_agent(proto::UpdateAgentRequest {
                agent: None,
                update_mask: mask(&["name"]),
            })
            .await,
        &["agent"],
    );
    for (request, fields) in [
        (
            proto::SetAgentAvailabilityRequest::default(),
            vec!["agent_id", "chat_available"],
        ),
        (
            proto::SetAgentAvailabilityRequest {
                agent_id: 1,
                call_available: Some(true),
                disconnect: true,
                ..Default::default()
            },
            vec!["disconnect"],
        ),
    ] {
        assert_invalid(agents.set_agent_availability(request).await, &fields);
    }
    assert_invalid(
        agents
            .get_agent_availability(proto::GetAgentAvailabilityRequest { agent_id: 0 })
            .await,
        &["agent_id"],
    );
    assert_invalid(
        agents
            .list_agent_availability(proto::ListAgentAvailabilityRequest {
                page_size: -2,
                filter: Some(proto::AgentFilter {
                    group_id: -1,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await,
        &["filter.group_id", "page_size"],
    );
    assert_invalid(
        agents
            .get_agent_statistics(proto::GetAgentStatisticsRequest { agent_id: 0 })
            .await,
        &["agent_id"],
    );
    assert_invalid(
        agents
            .get_agent_profile(proto::GetAgentProfileRequest { agent_id: -3 })
            .await,
        &["agent_id"],
    );
    assert_invalid(
        agents
            .list_groups(proto::ListGroupsRequest {
                parent_id: -1,
                page_size: -1,
                ..Default::default()
            })
            .await,
        &["parent_id", "page_size"],
    );
    assert_invalid(
        agents
            .get_group(proto::GetGroupRequest { group_id: 0 })
            .await,
        &["group_id"],
    );
    assert_invalid(
        agents
            .create_group(proto::CreateGroupRequest {
                group: Some(proto::Group {
                    operator_list: vec![0],
                    ..Default::default()
                }),
            })
            .await,
        &["group.name", "group.operator_list[0]"],
    );
    assert_invalid(
        agents
            .update_group(proto::UpdateGroupRequest {
                group: Some(proto::Group {
                    id: 1984,
                    ..Default::default()
                }),
                update_mask: mask(&["created_at"]),
            })
            .await,
        &["update_mask.paths[0]"],
    );
    assert_invalid(
        agents
            .delete_group(proto::DeleteGroupRequest { group_id: -4 })
            .await,
        &["group_id"],
    );
    assert_invalid(
        agents
            .list_skills(proto::ListSkillsRequest {
                operator_id: -1,
                ..Default::default()
            })
            .await,
        &["operator_id"],
    );
    assert_invalid(
        agents
            .get_skill(proto::GetSkillRequest { skill_id: 0 })
            .await,
        &["skill_id"],
    );
    assert_invalid(
        agents
            .create_skill(proto::CreateSkillRequest {
                skill: Some(proto::Skill {
                    parent_id: -2,
                    ..Default::default()
                }),
            })
            .await,
        &["skill.name", "skill.parent_id"],
    );
    assert_invalid(
        agents
            .update_skill(proto::UpdateSkillRequest {
                skill: Some(proto::Skill {
                    id: 0,
                    ..Default::default()
                }),
                update_mask: mask(&["operator_list"]),
            })
            .await,
        &["update_mask.paths[0]", "skill.id"],
    );
    assert_invalid(
        agents
            .delete_skill(proto::DeleteSkillRequest { skill_id: 0 })
            .await,
        &["skill_id"],
    );
    assert_invalid(
        agents
            .notify_call_pickup(proto::NotifyCallPickupRequest::default())
            .await,
        &["operator_external_id", "website_id", "phone_number"],
    );
    assert_invalid(
        agents
            .notify_call_hangup(proto::NotifyCallHangupRequest {
                operator_external_id: "odigo-42".into(),
                website_id: -1,
                phone_number: "call me".into(),
            })
            .await,
        &["website_id", "phone_number"],
    );
    assert_invalid(
        agents
            .watch_agent_availability(proto::WatchAgentAvailabilityRequest {
                filter: Some(proto::AgentFilter {
                    skill_id: -1,
                    connected: 5,
                    ..Default::default()
                }),
            })
            .await,
        &["filter.skill_id", "filter.connected"],
    );
    assert!(
        iadvize.received().is_empty(),
        "iAdvize was called: {:#?}",
        iadvize.received()
    );
}

// ---- error mapping ----

#[tokio::test]
async fn unknown_resources_are_not_found_with_the_iadvize_message() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    let status = agents
        .get_agent(proto::GetAgentRequest { agent_id: 999 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status
            .message()
            .contains("Unknown 'operator' with 'id' 999."),
        "{}",
        status.message()
    );
    assert_eq!(reason(&status), "VENDOR_NOT_FOUND");
    // The delete example of the doc, without its final period.
    iadvize.answer(
        Method::DELETE,
        "/group/456",
        200,
        r#"{"meta": {"status": "fail", "message": "Unknown 'group' with 'id' 456"}}"#,
    );
    let status = agents
        .delete_group(proto::DeleteGroupRequest { group_id: 456 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("Unknown 'group' with 'id' 456"));
}

#[tokio::test]
async fn iadvize_field_errors_are_invalid_argument_naming_the_field() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    iadvize.answer(
        Method::POST,
        "/operator",
        400,
        r#"{"meta": {"status": "fail", "message": "Field 'email' is missing."}}"#,
    );
    let status = agents
        .create_agent(proto::CreateAgentRequest {
            agent: Some(proto::Agent {
                name: "Doe".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("Field 'email' is missing."));
    assert_eq!(violated_fields(&status), ["agent.email"]);
    assert_eq!(reason(&status), "VENDOR_INVALID_ARGUMENT");

    iadvize.answer(
        Method::PUT,
        "/operator/123/live",
        400,
        r#"{"meta": {"status": "fail", "message": "Value of field 'chat[available]' is not valid."}}"#,
    );
    let status = agents
        .set_agent_availability(proto::SetAgentAvailabilityRequest {
            agent_id: 123,
            chat_available: Some(true),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["chat_available"]);
}

#[tokio::test]
async fn forbidden_is_failed_precondition_and_the_key_never_leaks() {
    let (app, iadvize) = app_with(AppOptions::default().env(
        "SWITCHBOARD__VENDORS__IADVIZE__API_KEY",
        "wrong-key-7d1e9a3c5b",
    ))
    .await;
    let status = client(&app)
        .await
        .get_agent(proto::GetAgentRequest { agent_id: 123 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("Forbidden"),
        "{}",
        status.message()
    );
    assert_eq!(reason(&status), "VENDOR_MISCONFIGURED");
    assert_eq!(
        iadvize.single().api_key.as_deref(),
        Some("wrong-key-7d1e9a3c5b"),
        "sent as X-API-Key, once: a refusal is not retried"
    );

    // A message echoing the key is redacted.
    let (app, iadvize) = app_with_iadvize().await;
    iadvize.answer(
        Method::GET,
        "/operator/123",
        403,
        &json!({ "meta": { "status": "error", "message": format!("Invalid key {IADVIZE_API_KEY}") } })
            .to_string(),
    );
    let status = client(&app)
        .await
        .get_agent(proto::GetAgentRequest { agent_id: 123 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        !status.message().contains(IADVIZE_API_KEY),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("[redacted]"),
        "{}",
        status.message()
    );

    // A page that is not iAdvize's (a wrong base URL) is our configuration
    // too, not an unknown operator.
    iadvize.answer(Method::GET, "/operator/456", 404, "<html>Not Found</html>");
    let status = client(&app)
        .await
        .get_agent(proto::GetAgentRequest { agent_id: 456 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("vendors.iadvize.base_url"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn outages_are_unavailable_and_only_reads_are_retried() {
    // More failures in a row than the breaker's default threshold: this
    // test is about retries (the breaker has its own tests).
    let (app, iadvize) = app_with(AppOptions::default().env(
        "SWITCHBOARD__VENDORS__IADVIZE__BREAKER__FAILURE_THRESHOLD",
        100,
    ))
    .await;
    let mut agents = client(&app).await;
    let html = "<html>down for maintenance</html>";

    // A read that keeps failing: tried three times, then UNAVAILABLE.
    iadvize.answer(Method::GET, "/operator/123", 503, html);
    let status = agents
        .get_agent(proto::GetAgentRequest { agent_id: 123 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.get_error_details().retry_info().is_some());
    assert_eq!(iadvize.requests(Method::GET, "/operator/123").len(), 3);

    // A read that fails once is answered by the retry.
    iadvize.clear_answers();
    iadvize.answer_times(Method::GET, "/operator/456/statistic", 502, html, 1);
    agents
        .get_agent_statistics(proto::GetAgentStatisticsRequest { agent_id: 456 })
        .await
        .unwrap();
    assert_eq!(
        iadvize
            .requests(Method::GET, "/operator/456/statistic")
            .len(),
        2
    );

    // A write is never sent twice.
    iadvize.answer(Method::POST, "/operator", 503, html);
    iadvize.answer(Method::PUT, "/operator/123/live", 500, html);
    iadvize.answer(Method::DELETE, "/skill/5", 503, html);
    let status = agents
        .create_agent(proto::CreateAgentRequest {
            agent: Some(proto::Agent {
                name: "Doe".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let status = agents
        .set_agent_availability(proto::SetAgentAvailabilityRequest {
            agent_id: 123,
            chat_available: Some(false),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let status = agents
        .delete_skill(proto::DeleteSkillRequest { skill_id: 5 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    for (method, path) in [
        (Method::POST, "/operator"),
        (Method::PUT, "/operator/123/live"),
        (Method::DELETE, "/skill/5"),
    ] {
        assert_eq!(iadvize.requests(method, path).len(), 1, "{path}");
    }

    // iAdvize's own `error` status on a read is retryable too.
    iadvize.answer(
        Method::GET,
        "/group/1",
        200,
        r#"{"meta": {"status": "error", "message": "Internal error"}}"#,
    );
    let status = agents
        .get_group(proto::GetGroupRequest { group_id: 1 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("Internal error"));
}

#[tokio::test]
async fn timeouts_are_unavailable_and_a_timed_out_post_is_of_unknown_outcome() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut agents = client(&app).await;
    // Longer than the 500 ms timeout of the test settings.
    iadvize.delay(Method::GET, "/operator/123/profile", Duration::from_secs(2));
    iadvize.delay(
        Method::POST,
        "/odigocallback/pickup",
        Duration::from_secs(2),
    );
    let status = agents
        .get_agent_profile(proto::GetAgentProfileRequest { agent_id: 123 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(reason(&status), "VENDOR_UNAVAILABLE");
    let status = agents
        .notify_call_pickup(proto::NotifyCallPickupRequest {
            operator_external_id: "odigo-42".into(),
            website_id: 1,
            phone_number: "0614037735".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(reason(&status), "VENDOR_OUTCOME_UNKNOWN");
    assert_eq!(
        iadvize
            .requests(Method::POST, "/odigocallback/pickup")
            .len(),
        1
    );
}

#[tokio::test]
async fn unreachable_iadvize_is_unavailable() {
    let app = TestApp::spawn_with(
        AppOptions::default().iadvize(&format!("http://127.0.0.1:{}/api/2", closed_port())),
    )
    .await;
    let status = client(&app)
        .await
        .list_groups(proto::ListGroupsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("could not be reached"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn without_an_api_key_every_rpc_is_failed_precondition_after_validation() {
    let app = TestApp::spawn().await;
    let mut agents = client(&app).await;
    let status = agents
        .get_agent(proto::GetAgentRequest { agent_id: 123 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("vendors.iadvize.api_key"));
    assert_eq!(reason(&status), "NOT_CONFIGURED");
    let status = agents
        .watch_agent_availability(proto::WatchAgentAvailabilityRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    // Bad input is still reported as such.
    assert_invalid(
        agents
            .get_agent(proto::GetAgentRequest { agent_id: 0 })
            .await,
        &["agent_id"],
    );
}

// ---- WatchAgentAvailability ----

type Watch = tonic::Streaming<proto::WatchAgentAvailabilityResponse>;

async fn watch(app: &TestApp, filter: Option<proto::AgentFilter>) -> Watch {
    client(app)
        .await
        .watch_agent_availability(proto::WatchAgentAvailabilityRequest { filter })
        .await
        .expect("watch opens")
        .into_inner()
}

/// The next event that is not a heartbeat.
async fn next_event(stream: &mut Watch) -> Event {
    loop {
        let message = tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("a message in time")
            .expect("stream healthy")
            .expect("stream open");
        assert!(message.observed_at.is_some());
        match message.event.expect("an event") {
            Event::Heartbeat(_) => continue,
            event => return event,
        }
    }
}

fn live(id: i64, connected: bool, chat_slots: i32, chat_available: bool) -> serde_json::Value {
    json!({
        "id": id, "connected": connected,
        "chat": { "enabled": true, "slot_number": chat_slots, "slot_max_number": 4, "busy": false, "available": chat_available },
        "call": { "enabled": false, "slot_number": 0, "slot_max_number": 1, "busy": false, "available": false },
        "video": { "enabled": false, "slot_number": 0, "slot_max_number": 1, "busy": false, "available": false }
    })
}

#[tokio::test]
async fn a_watch_starts_with_a_snapshot_then_sends_each_change() {
    let (app, iadvize) = app_with_iadvize().await;
    let filter = proto::AgentFilter {
        group_id: 1984,
        connected: proto::AgentConnectionFilter::Online.into(),
        ..Default::default()
    };
    let mut stream = watch(&app, Some(filter)).await;
    match next_event(&mut stream).await {
        Event::Snapshot(snapshot) => assert_eq!(snapshot.agents, [doc_live_456()]),
        other => panic!("expected a snapshot, got {other:?}"),
    }

    // 456 takes a chat and 789 logs in, in one poll.
    iadvize.set_live(json!([live(456, true, 3, true), live(789, true, 0, true)]));
    match next_event(&mut stream).await {
        Event::Change(change) => {
            assert_eq!(change.agent_id, 456);
            assert_eq!(change.channel(), proto::AvailabilityChannel::Chat);
            assert_eq!(change.before, channel(true, 2, 4, false, true));
            assert_eq!(change.after, channel(true, 3, 4, false, true));
        }
        other => panic!("expected a change, got {other:?}"),
    }
    match next_event(&mut stream).await {
        Event::AgentAdded(agent) => {
            assert_eq!(agent.agent_id, 789);
            assert!(agent.connected);
        }
        other => panic!("expected an addition, got {other:?}"),
    }

    // 456 disconnects (connection and chat change); 789 leaves the list.
    iadvize.set_live(json!([live(456, false, 3, false)]));
    match next_event(&mut stream).await {
        Event::Change(change) => {
            assert_eq!(change.agent_id, 456);
            assert_eq!(change.channel(), proto::AvailabilityChannel::Connection);
            assert!(change.connected_before);
            assert!(!change.connected_after);
        }
        other => panic!("expected a connection change, got {other:?}"),
    }
    match next_event(&mut stream).await {
        Event::Change(change) => {
            assert_eq!(change.channel(), proto::AvailabilityChannel::Chat);
            assert!(!change.after.unwrap().available);
        }
        other => panic!("expected a chat change, got {other:?}"),
    }
    match next_event(&mut stream).await {
        Event::AgentRemoved(agent) => assert_eq!(agent.agent_id, 789),
        other => panic!("expected a removal, got {other:?}"),
    }

    // Every poll asked for the filter, all pages of 100.
    let polls = iadvize.requests(Method::GET, "/operator/live");
    assert!(polls.len() >= 3);
    for poll in polls {
        assert_eq!(poll.api_key.as_deref(), Some(IADVIZE_API_KEY));
        assert_eq!(
            poll.query,
            pairs(&[
                ("filters[group_id]", "1984"),
                ("filters[connected]", "1"),
                ("page", "1"),
                ("limit", "100"),
            ])
        );
    }
}

#[tokio::test]
async fn a_snapshot_holds_every_page() {
    let (app, iadvize) = app_with_iadvize().await;
    let operators: Vec<_> = (1..=250).map(|id| live(id, true, 0, true)).collect();
    iadvize.set_live(json!(operators));
    let mut stream = watch(&app, None).await;
    match next_event(&mut stream).await {
        Event::Snapshot(snapshot) => {
            let ids: Vec<i64> = snapshot.agents.iter().map(|a| a.agent_id).collect();
            assert_eq!(ids, (1..=250).collect::<Vec<_>>());
        }
        other => panic!("expected a snapshot, got {other:?}"),
    }
    let pages: Vec<_> = iadvize
        .requests(Method::GET, "/operator/live")
        .iter()
        .take(3)
        .map(|r| r.query("page").unwrap().to_owned())
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);
}

/// The chat slot counts a watcher sees over `changes` changes of operator
/// 456, whose count the fake raises at every poll.
async fn observed_slots(stream: &mut Watch, changes: usize) -> Vec<(i32, i32)> {
    let mut seen = Vec::new();
    while seen.len() < changes {
        match next_event(stream).await {
            Event::Change(change) => {
                seen.push((
                    change.before.unwrap().slot_number,
                    change.after.unwrap().slot_number,
                ));
            }
            Event::Snapshot(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    seen
}

#[tokio::test]
async fn watchers_of_one_filter_share_one_poller() {
    let (app, iadvize) = app_with_iadvize().await;
    iadvize.tick_live();
    // Equal filters, websites in another order.
    let filter = |websites: Vec<i64>| {
        Some(proto::AgentFilter {
            website_list: websites,
            ..Default::default()
        })
    };
    let mut first = watch(&app, filter(vec![1, 2])).await;
    let mut second = watch(&app, filter(vec![2, 1])).await;
    let seen_first = observed_slots(&mut first, 5).await;
    let seen_second = observed_slots(&mut second, 5).await;
    // One poller: every poll is one step, seen by both. Two pollers would
    // share the fake's counter and each watcher would see jumps of two.
    for seen in [&seen_first, &seen_second] {
        assert!(
            seen.iter().all(|(before, after)| after - before == 1),
            "{seen:?}"
        );
        assert!(seen.windows(2).all(|w| w[0].1 == w[1].0), "{seen:?}");
    }
    let last_seen = seen_first
        .last()
        .unwrap()
        .1
        .max(seen_second.last().unwrap().1);
    let polls = iadvize.live_polls() as i32;
    assert!(
        polls <= last_seen + 3,
        "{polls} polls for {last_seen} observed states: more than one poller"
    );
    for poll in iadvize.requests(Method::GET, "/operator/live") {
        assert_eq!(poll.query("filters[website_list]"), Some("1,2"));
    }
}

/// Waits until the fake's poll count stops moving for a few intervals.
async fn polls_once_settled(iadvize: &FakeIadvize) -> usize {
    let interval = Duration::from_millis(POLL_MS);
    let mut last = iadvize.live_polls();
    for _ in 0..20 {
        tokio::time::sleep(interval * 4).await;
        let now = iadvize.live_polls();
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("polling never stopped ({last} polls)");
}

#[tokio::test]
async fn the_poller_stops_when_the_last_watcher_leaves() {
    let (app, iadvize) = app_with_iadvize().await;
    iadvize.tick_live();
    let mut first = watch(&app, None).await;
    let mut second = watch(&app, None).await;
    observed_slots(&mut first, 1).await;
    observed_slots(&mut second, 1).await;
    drop(first);
    // The other watcher keeps its poller.
    observed_slots(&mut second, 3).await;
    drop(second);
    let stopped_at = polls_once_settled(&iadvize).await;
    tokio::time::sleep(Duration::from_millis(POLL_MS * 5)).await;
    assert_eq!(iadvize.live_polls(), stopped_at, "nobody watches: no polls");

    // A new watcher starts a new poller, with a fresh snapshot.
    let mut third = watch(&app, None).await;
    assert!(matches!(next_event(&mut third).await, Event::Snapshot(_)));
    assert!(iadvize.live_polls() > stopped_at);
}

#[tokio::test]
async fn a_vendor_error_mid_watch_is_reported_and_the_watch_recovers() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut stream = watch(&app, None).await;
    assert!(matches!(next_event(&mut stream).await, Event::Snapshot(_)));

    iadvize.answer(
        Method::GET,
        "/operator/live",
        503,
        "<html>maintenance</html>",
    );
    match next_event(&mut stream).await {
        Event::VendorError(error) => {
            assert_eq!(error.code, "UNAVAILABLE");
            assert!(error.message.contains("HTTP 503"), "{}", error.message);
        }
        other => panic!("expected a vendor error, got {other:?}"),
    }
    // A watcher joining during the outage hears of it at once.
    let mut late = watch(&app, None).await;
    assert!(matches!(next_event(&mut late).await, Event::VendorError(_)));

    // iAdvize is back, with a change made during the outage: both get a
    // fresh snapshot (not itemised changes).
    iadvize.set_live(json!([live(456, true, 1, true)]));
    iadvize.clear_answers();
    for stream in [&mut stream, &mut late] {
        let snapshot = loop {
            match next_event(stream).await {
                Event::VendorError(_) => continue,
                Event::Snapshot(snapshot) => break snapshot,
                other => panic!("expected a snapshot, got {other:?}"),
            }
        };
        assert_eq!(snapshot.agents.len(), 1);
        assert_eq!(snapshot.agents[0].chat.as_ref().unwrap().slot_number, 1);
    }
}

#[tokio::test]
async fn a_refusal_no_retry_can_fix_ends_the_watch_with_its_status() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut stream = watch(&app, None).await;
    assert!(matches!(next_event(&mut stream).await, Event::Snapshot(_)));
    iadvize.answer(
        Method::GET,
        "/operator/live",
        403,
        r#"{"meta": {"status": "error", "message": "Forbidden"}}"#,
    );
    let status = loop {
        match tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("the stream ends in time")
        {
            Ok(Some(_heartbeat_or_nothing_new)) => continue,
            Ok(None) => panic!("ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("Forbidden"));

    // Once fixed, a new watch starts a new poller.
    iadvize.clear_answers();
    let mut again = watch(&app, None).await;
    assert!(matches!(next_event(&mut again).await, Event::Snapshot(_)));
}

#[tokio::test]
async fn idle_watches_get_heartbeats() {
    let (app, _iadvize) =
        app_with(AppOptions::default().env("SWITCHBOARD__STREAMS__HEARTBEAT_INTERVAL_MS", 200))
            .await;
    let mut stream = watch(&app, None).await;
    assert!(matches!(next_event(&mut stream).await, Event::Snapshot(_)));
    // Nothing changes at iAdvize: the next messages are heartbeats.
    for _ in 0..2 {
        let message = tokio::time::timeout(WAIT, stream.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(
            matches!(message.event, Some(Event::Heartbeat(_))),
            "{message:?}"
        );
    }
}

#[tokio::test]
async fn shutdown_ends_watches_with_a_resumable_unavailable() {
    let (app, _iadvize) = app_with_iadvize().await;
    let mut stream = watch(&app, None).await;
    assert!(matches!(next_event(&mut stream).await, Event::Snapshot(_)));
    app.shutdown_handle().shutdown();
    let status = loop {
        match tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("the stream ends in time")
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(reason(&status), "SHUTTING_DOWN");
    app.stop().await;
}
