//! The iAdvize account resources against a fake iAdvize answering as
//! documented: clients and websites (AgentsService), tags and visitors
//! (StatsService); the exact requests sent (method, path, `filters[...]`,
//! `full`, `page`, `limit`, form and JSON bodies), paging and `total_size`,
//! lists without `pagination`, error mapping, bad input refused before
//! iAdvize is called, and every RPC against the sandbox's simulated iAdvize.

use axum::http::Method;
use prost_types::{FieldMask, Timestamp};
use serde_json::{Value, json};
use switchboard::pb::v1::{
    self as proto, agents_service_client::AgentsServiceClient,
    stats_service_client::StatsServiceClient,
};
use tonic::Code;

use crate::helpers::{
    AppOptions, AuthedChannel, TEST_TOKEN, TestApp, assert_invalid,
    fake_iadvize::{FakeIadvize, IADVIZE_API_KEY, Received},
    pairs,
};

async fn app_with_iadvize() -> (TestApp, FakeIadvize) {
    let iadvize = FakeIadvize::start().await;
    let app = TestApp::spawn_with(AppOptions::default().iadvize(&iadvize.url)).await;
    (app, iadvize)
}

async fn agents(app: &TestApp) -> AgentsServiceClient<AuthedChannel> {
    AgentsServiceClient::new(app.channel_with_token(Some(TEST_TOKEN)).await)
}

async fn stats(app: &TestApp) -> StatsServiceClient<AuthedChannel> {
    StatsServiceClient::new(app.channel_with_token(Some(TEST_TOKEN)).await)
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

fn assert_get(request: &Received, path: &str, query: &[(&str, &str)]) {
    assert_eq!(
        (&request.method, request.path.as_str()),
        (&Method::GET, path)
    );
    assert_eq!(request.query, pairs(query));
    assert_eq!(request.api_key.as_deref(), Some(IADVIZE_API_KEY));
}

fn assert_form(request: &Received, method: Method, path: &str, form: &[(&str, &str)]) {
    assert_eq!((&request.method, request.path.as_str()), (&method, path));
    assert!(
        request
            .content_type
            .starts_with("application/x-www-form-urlencoded"),
        "{}",
        request.content_type
    );
    assert!(request.query.is_empty(), "{:?}", request.query);
    assert_eq!(request.form, pairs(form));
}

// ---- clients ----

#[tokio::test]
async fn clients_are_listed_and_read_with_every_documented_field() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = agents(&app).await;
    let first = client
        .list_clients(proto::ListClientsRequest {
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_get(
        &iadvize.single(),
        "/client",
        &[("full", "1"), ("page", "1"), ("limit", "1")],
    );
    assert_eq!(
        first.clients,
        [proto::Client {
            id: 1,
            lang: "fr".into(),
            premium_enabled: Some(true),
        }]
    );
    assert_eq!(first.total_size, 2, "pagination.count");
    assert!(!first.next_page_token.is_empty());
    let second = client
        .list_clients(proto::ListClientsRequest {
            page_size: 0,
            page_token: first.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.clients[0].premium_enabled, Some(false));
    assert!(second.next_page_token.is_empty());
    let request = iadvize.received().pop().unwrap();
    assert_eq!(request.query("page"), Some("2"));
    assert_eq!(request.query("limit"), Some("1"), "the first page's size");

    let one = client
        .get_client(proto::GetClientRequest { client_id: 2 })
        .await
        .unwrap()
        .into_inner()
        .client
        .unwrap();
    assert_eq!(one.id, 2);
    assert_get(&iadvize.received().pop().unwrap(), "/client/2", &[]);

    let status = client
        .get_client(proto::GetClientRequest { client_id: 999 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("Unknown 'client' with 'id' 999"));
}

// ---- websites ----

#[tokio::test]
async fn websites_are_listed_read_and_updated_by_field_mask() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = agents(&app).await;
    let listed = client
        .list_websites(proto::ListWebsitesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_get(
        &iadvize.single(),
        "/website",
        &[("full", "1"), ("page", "1"), ("limit", "20")],
    );
    let documented = proto::Website {
        id: 1,
        url: "https://www.example1.com/".into(),
        label: "Website 1".into(),
        client_id: 1,
        currency: "EUR".into(),
        language_admin: "fr".into(),
        timezone: "Europe/Paris".into(),
    };
    assert_eq!(listed.websites[0], documented);
    assert_eq!(listed.websites.len(), 2);
    assert_eq!(listed.total_size, 2);
    assert!(listed.next_page_token.is_empty());

    let one = client
        .get_website(proto::GetWebsiteRequest { website_id: 1 })
        .await
        .unwrap()
        .into_inner()
        .website
        .unwrap();
    assert_eq!(one, documented);
    assert_get(&iadvize.received().pop().unwrap(), "/website/1", &[]);

    // Exactly the masked fields are sent, checked and normalised.
    let updated = client
        .update_website(proto::UpdateWebsiteRequest {
            website: Some(proto::Website {
                id: 2,
                label: "  New label ".into(),
                currency: "usd".into(),
                language_admin: "ko".into(),
                timezone: "America/New_York".into(),
                url: "https://ignored.example.com/".into(),
                ..Default::default()
            }),
            update_mask: mask(&["label", "currency", "languageAdmin", "timezone"]),
        })
        .await
        .unwrap()
        .into_inner()
        .website
        .unwrap();
    assert_eq!(updated.id, 2);
    assert_form(
        &iadvize.received().pop().unwrap(),
        Method::PUT,
        "/website/2",
        &[
            ("label", "New label"),
            ("currency", "USD"),
            ("language_admin", "ko"),
            ("timezone", "America/New_York"),
        ],
    );

    // iAdvize's refusals map as for operators.
    iadvize.answer(
        Method::PUT,
        "/website/1",
        400,
        r#"{"meta": {"status": "fail", "message": "Value of field 'url' is not valid."}}"#,
    );
    let result = client
        .update_website(proto::UpdateWebsiteRequest {
            website: Some(proto::Website {
                id: 1,
                url: "https://www.example.com/".into(),
                ..Default::default()
            }),
            update_mask: mask(&["url"]),
        })
        .await;
    assert_invalid(result, &["website.url"]);
    let status = client
        .update_website(proto::UpdateWebsiteRequest {
            website: Some(proto::Website {
                id: 999,
                label: "x".into(),
                ..Default::default()
            }),
            update_mask: mask(&["label"]),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn bad_client_and_website_requests_are_refused_before_iadvize_is_called() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = agents(&app).await;
    assert_invalid(
        client
            .get_client(proto::GetClientRequest { client_id: 0 })
            .await,
        &["client_id"],
    );
    assert_invalid(
        client
            .get_website(proto::GetWebsiteRequest { website_id: -1 })
            .await,
        &["website_id"],
    );
    assert_invalid(
        client
            .list_clients(proto::ListClientsRequest {
                page_size: -1,
                page_token: String::new(),
            })
            .await,
        &["page_size"],
    );
    assert_invalid(
        client
            .list_websites(proto::ListWebsitesRequest {
                page_size: 0,
                page_token: "not-a-token".into(),
            })
            .await,
        &["page_token"],
    );
    assert_invalid(
        client
            .update_website(proto::UpdateWebsiteRequest {
                website: Some(proto::Website {
                    id: 1,
                    ..Default::default()
                }),
                update_mask: mask(&["id", "nope"]),
            })
            .await,
        &["update_mask.paths[0]", "update_mask.paths[1]"],
    );
    assert_invalid(
        client
            .update_website(proto::UpdateWebsiteRequest {
                website: Some(proto::Website {
                    id: 1,
                    url: "www.example.com".into(),
                    currency: "euro".into(),
                    language_admin: "xx".into(),
                    timezone: "Paris".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["url", "currency", "language_admin", "timezone"]),
            })
            .await,
        &[
            "website.url",
            "website.currency",
            "website.timezone",
            "website.language_admin",
        ],
    );
    assert_invalid(
        client
            .update_website(proto::UpdateWebsiteRequest {
                website: None,
                update_mask: None,
            })
            .await,
        &["update_mask", "website"],
    );
    assert!(iadvize.received().is_empty(), "{:?}", iadvize.received());
}

// ---- tags ----

#[tokio::test]
async fn tags_are_listed_read_and_created_several_at_once_as_json() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = stats(&app).await;
    let listed = client
        .list_tags(proto::ListTagsRequest {
            website_id: 1,
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_get(
        &iadvize.single(),
        "/tag",
        &[
            ("filters[website_id]", "1"),
            ("full", "1"),
            ("page", "1"),
            ("limit", "20"),
        ],
    );
    assert_eq!(
        listed.tags[0],
        proto::Tag {
            id: 123,
            name: "my_value".into(),
            website_ids: vec![1],
        }
    );
    assert_eq!(listed.total_size, 2);

    let tag = client
        .get_tag(proto::GetTagRequest { tag_id: 124 })
        .await
        .unwrap()
        .into_inner()
        .tag
        .unwrap();
    assert_eq!(tag.name, "my_value_2");
    assert_get(&iadvize.received().pop().unwrap(), "/tag/124", &[]);

    // The doc's create: a JSON array of {name, website_id}, its answer read.
    let created = client
        .create_tags(proto::CreateTagsRequest {
            tags: vec![
                proto::NewTag {
                    name: "my_value".into(),
                    website_id: 1,
                },
                proto::NewTag {
                    name: " my_value_2 ".into(),
                    website_id: 1,
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let request = iadvize.received().pop().unwrap();
    assert_eq!(
        (&request.method, request.path.as_str()),
        (&Method::POST, "/tag")
    );
    assert!(
        request.content_type.starts_with("application/json"),
        "{}",
        request.content_type
    );
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        json!([
            {"name": "my_value", "website_id": 1},
            {"name": "my_value_2", "website_id": 1}
        ])
    );
    assert_eq!(
        created.tags,
        [
            proto::Tag {
                id: 123,
                name: "my_value".into(),
                website_ids: vec![1],
            },
            proto::Tag {
                id: 124,
                name: "my_value_2".into(),
                website_ids: vec![1],
            },
        ]
    );

    // A POST is never retried: an outage leaves it uncertain, sent once.
    iadvize.answer(Method::POST, "/tag", 500, "<html>oops</html>");
    let status = client
        .create_tags(proto::CreateTagsRequest {
            tags: vec![proto::NewTag {
                name: "x".into(),
                website_id: 1,
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(iadvize.requests(Method::POST, "/tag").len(), 2);

    let status = client
        .get_tag(proto::GetTagRequest { tag_id: 5 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

// ---- visitors ----

fn doc_visitor(id: i64) -> proto::Visitor {
    proto::Visitor {
        id,
        unique_id: "0a1572b7cc5027fe443f4203eaf0b98d4cbea6d313afa".into(),
        external_id: format!("MyExternalId{id}"),
        lastname: "Doe".into(),
        firstname: "John".into(),
        address: "1 rue de la Paix".into(),
        city: "Nantes".into(),
        zip: "44000".into(),
        country: "France".into(),
        phone: "0614037735".into(),
        email: "john.doe@example.com".into(),
        browser: "Firefox".into(),
        website_ids: vec![1, 2],
        // 2016-02-16 11:24:21 in Paris (winter, UTC+1), the default zone.
        created_at: Some(Timestamp {
            seconds: 1455618261,
            nanos: 0,
        }),
    }
}

#[tokio::test]
async fn visitors_are_listed_read_created_updated_and_deleted() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = stats(&app).await;
    let listed = client
        .list_visitors(proto::ListVisitorsRequest {
            unique_id: "0a1572b7*".into(),
            external_id: "MyExternalId560".into(),
            website_id: 2,
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_get(
        &iadvize.single(),
        "/visitor",
        &[
            ("filters[unique_id]", "0a1572b7*"),
            ("filters[external_id]", "MyExternalId560"),
            ("filters[website_id]", "2"),
            ("full", "1"),
            ("page", "1"),
            ("limit", "1"),
        ],
    );
    assert_eq!(listed.visitors, [doc_visitor(560)]);
    assert_eq!(listed.total_size, 2);
    assert!(!listed.next_page_token.is_empty());

    let one = client
        .get_visitor(proto::GetVisitorRequest { visitor_id: 561 })
        .await
        .unwrap()
        .into_inner()
        .visitor
        .unwrap();
    assert_eq!(one, doc_visitor(561));
    assert_get(&iadvize.received().pop().unwrap(), "/visitor/561", &[]);

    // A create sends the set fields (id and created_at are not written).
    let created = client
        .create_visitor(proto::CreateVisitorRequest {
            visitor: Some(proto::Visitor {
                id: 77,
                lastname: "Doe".into(),
                email: " john.doe@example.com ".into(),
                phone: "+33 6 14 03 77 35".into(),
                website_ids: vec![1],
                created_at: Some(Timestamp::default()),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .visitor
        .unwrap();
    assert_eq!(created.id, 562);
    assert_form(
        &iadvize.received().pop().unwrap(),
        Method::POST,
        "/visitor",
        &[
            ("lastname", "Doe"),
            ("phone", "+33 6 14 03 77 35"),
            ("email", "john.doe@example.com"),
            ("website_id[]", "1"),
        ],
    );

    // An update sends exactly the masked fields, empty ones clearing.
    client
        .update_visitor(proto::UpdateVisitorRequest {
            visitor: Some(proto::Visitor {
                id: 560,
                city: "Paris".into(),
                lastname: "ignored".into(),
                ..Default::default()
            }),
            update_mask: mask(&["city", "email", "websiteIds"]),
        })
        .await
        .unwrap();
    assert_form(
        &iadvize.received().pop().unwrap(),
        Method::PUT,
        "/visitor/560",
        &[("city", "Paris"), ("email", ""), ("website_id", "")],
    );

    client
        .delete_visitor(proto::DeleteVisitorRequest { visitor_id: 561 })
        .await
        .unwrap();
    let request = iadvize.received().pop().unwrap();
    assert_eq!(
        (request.method, request.path.as_str()),
        (Method::DELETE, "/visitor/561")
    );

    let status = client
        .delete_visitor(proto::DeleteVisitorRequest { visitor_id: 999 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("Unknown 'visitor' with 'id' 999"));

    // A field iAdvize refuses is named the client's way.
    iadvize.answer(
        Method::POST,
        "/visitor",
        400,
        r#"{"meta": {"status": "fail", "message": "Value of field 'website_id' is not valid."}}"#,
    );
    let result = client
        .create_visitor(proto::CreateVisitorRequest {
            visitor: Some(proto::Visitor {
                website_ids: vec![9],
                ..Default::default()
            }),
        })
        .await;
    assert_invalid(result, &["visitor.website_ids"]);
}

#[tokio::test]
async fn bad_tag_and_visitor_requests_are_refused_before_iadvize_is_called() {
    let (app, iadvize) = app_with_iadvize().await;
    let mut client = stats(&app).await;
    assert_invalid(
        client.get_tag(proto::GetTagRequest { tag_id: 0 }).await,
        &["tag_id"],
    );
    assert_invalid(
        client
            .list_tags(proto::ListTagsRequest {
                website_id: -3,
                page_size: -1,
                page_token: String::new(),
            })
            .await,
        &["website_id", "page_size"],
    );
    assert_invalid(
        client
            .create_tags(proto::CreateTagsRequest { tags: vec![] })
            .await,
        &["tags"],
    );
    assert_invalid(
        client
            .create_tags(proto::CreateTagsRequest {
                tags: vec![proto::NewTag {
                    name: String::new(),
                    website_id: 0,
                }],
            })
            .await,
        &["tags[0].name", "tags[0].website_id"],
    );
    assert_invalid(
        client
            .create_tags(proto::CreateTagsRequest {
                tags: vec![
                    proto::NewTag {
                        name: "x".into(),
                        website_id: 1,
                    };
                    101
                ],
            })
            .await,
        &["tags"],
    );
    assert_invalid(
        client
            .get_visitor(proto::GetVisitorRequest { visitor_id: -5 })
            .await,
        &["visitor_id"],
    );
    assert_invalid(
        client
            .delete_visitor(proto::DeleteVisitorRequest { visitor_id: 0 })
            .await,
        &["visitor_id"],
    );
    assert_invalid(
        client
            .list_visitors(proto::ListVisitorsRequest {
                unique_id: "a\u{7}b".into(),
                website_id: -1,
                ..Default::default()
            })
            .await,
        &["unique_id", "website_id"],
    );
    assert_invalid(
        client
            .create_visitor(proto::CreateVisitorRequest { visitor: None })
            .await,
        &["visitor"],
    );
    assert_invalid(
        client
            .create_visitor(proto::CreateVisitorRequest {
                visitor: Some(proto::Visitor {
                    email: "nope".into(),
                    website_ids: vec![1, -2],
                    ..Default::default()
                }),
            })
            .await,
        &["visitor.email", "visitor.website_ids[1]"],
    );
    assert_invalid(
        client
            .update_visitor(proto::UpdateVisitorRequest {
                visitor: Some(proto::Visitor {
                    id: 560,
                    ..Default::default()
                }),
                update_mask: mask(&["created_at", "*"]),
            })
            .await,
        &["update_mask.paths[0]", "update_mask.paths[1]"],
    );
    assert_invalid(
        client
            .update_visitor(proto::UpdateVisitorRequest {
                visitor: Some(proto::Visitor::default()),
                update_mask: mask(&["city"]),
            })
            .await,
        &["visitor.id"],
    );
    assert!(iadvize.received().is_empty(), "{:?}", iadvize.received());
}

// ---- lists without pagination ----

/// The doc's `GET /operator/live` example has no `pagination`: a full page
/// is not the last one; the listing walks on until a short page.
#[tokio::test]
async fn a_list_without_pagination_is_walked_until_a_short_page() {
    let (app, iadvize) = app_with_iadvize().await;
    let live = |id: i64| json!({"id": id, "connected": true, "chat": {"enabled": true, "slot_number": 0, "slot_max_number": 2, "busy": false, "available": true}});
    iadvize.set_live(json!([live(1), live(2), live(3)]));
    let mut client = agents(&app).await;
    let mut ids = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_agent_availability(proto::ListAgentAvailabilityRequest {
                filter: None,
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert_eq!(page.total_size, 0, "iAdvize gave no count");
        ids.extend(page.agents.iter().map(|a| a.agent_id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(ids, [1, 2, 3], "every row");
    assert_eq!(pages, 2);
    let requested: Vec<_> = iadvize
        .requests(Method::GET, "/operator/live")
        .iter()
        .map(|r| r.query("page").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(requested, ["1", "2"]);
}

// ---- the sandbox ----

#[tokio::test]
async fn the_sandbox_iadvize_serves_clients_websites_tags_and_visitors() {
    use switchboard::sandbox::iadvize::{IadvizeSim, SANDBOX_API_KEY};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = IadvizeSim::new(chrono_tz::Europe::Paris).router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let app = TestApp::spawn_with(
        AppOptions::default()
            .iadvize(&url)
            .env("SWITCHBOARD__VENDORS__IADVIZE__API_KEY", SANDBOX_API_KEY),
    )
    .await;
    let mut agents = agents(&app).await;
    let mut stats = stats(&app).await;

    let clients = agents
        .list_clients(proto::ListClientsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(clients.clients.len(), 2);
    let websites = agents
        .list_websites(proto::ListWebsitesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .websites;
    assert!(websites.iter().any(|w| w.id == 1) && websites.iter().any(|w| w.id == 2));
    let client_ids: Vec<i64> = clients.clients.iter().map(|c| c.id).collect();
    assert!(websites.iter().all(|w| client_ids.contains(&w.client_id)));
    let updated = agents
        .update_website(proto::UpdateWebsiteRequest {
            website: Some(proto::Website {
                id: 2,
                label: "Renamed".into(),
                ..Default::default()
            }),
            update_mask: mask(&["label"]),
        })
        .await
        .unwrap()
        .into_inner()
        .website
        .unwrap();
    assert_eq!(updated.label, "Renamed");
    assert_eq!(updated.currency, "EUR", "the other fields kept");

    // The tags and visitors the sandbox's conversations carry exist.
    let conversation = stats
        .list_conversations(proto::ListConversationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .conversations
        .remove(0);
    let tag = stats
        .get_tag(proto::GetTagRequest {
            tag_id: conversation.tag_list[0],
        })
        .await
        .unwrap()
        .into_inner()
        .tag
        .unwrap();
    assert!(!tag.name.is_empty());
    let visitors = stats
        .list_visitors(proto::ListVisitorsRequest {
            unique_id: conversation.visitor_uid.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .visitors;
    assert_eq!(visitors.len(), 1, "{}", conversation.visitor_uid);
    assert!(visitors[0].created_at.is_some());

    let created = stats
        .create_tags(proto::CreateTagsRequest {
            tags: vec![
                proto::NewTag {
                    name: "new".into(),
                    website_id: 1,
                },
                proto::NewTag {
                    name: "newer".into(),
                    website_id: 2,
                },
            ],
        })
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(created.len(), 2);
    assert_eq!(created[1].website_ids, [2]);

    let visitor = stats
        .create_visitor(proto::CreateVisitorRequest {
            visitor: Some(proto::Visitor {
                lastname: "Doe".into(),
                website_ids: vec![1],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .visitor
        .unwrap();
    assert_eq!(visitor.lastname, "Doe");
    let changed = stats
        .update_visitor(proto::UpdateVisitorRequest {
            visitor: Some(proto::Visitor {
                id: visitor.id,
                city: "Lyon".into(),
                ..Default::default()
            }),
            update_mask: mask(&["city"]),
        })
        .await
        .unwrap()
        .into_inner()
        .visitor
        .unwrap();
    assert_eq!(
        (changed.city.as_str(), changed.lastname.as_str()),
        ("Lyon", "Doe")
    );
    stats
        .delete_visitor(proto::DeleteVisitorRequest {
            visitor_id: visitor.id,
        })
        .await
        .unwrap();
    let status = stats
        .get_visitor(proto::GetVisitorRequest {
            visitor_id: visitor.id,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}
