//! The vendor request pipeline seen from outside: a hanging vendor ties up
//! only its own share, circuit breakers open, fail fast and recover, pacing
//! keeps CCAI under its rate, every outcome lands in the latency histogram,
//! and INTERNAL / UNKNOWN errors are logged with the id the client gets.

use std::{collections::HashSet, time::Duration};

use reqwest::Method;
use switchboard::pb::v1::{self as proto, agents_service_client::AgentsServiceClient};
use tokio::sync::mpsc;
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_types::StatusExt;

use crate::helpers::{
    AppOptions, AuthedChannel, TEST_TOKEN, TestApp,
    fake_ccai::FakeCcai,
    fake_iadvize::FakeIadvize,
    fake_optico::{Behaviour, FakeOptico, WEBHOOK_VIEW},
    process::Server,
    reason,
};

async fn agents(app: &TestApp) -> AgentsServiceClient<AuthedChannel> {
    AgentsServiceClient::new(app.channel_with_token(Some(TEST_TOKEN)).await)
}

fn target(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
}

/// The Prometheus text of the app.
async fn metrics(app: &TestApp) -> String {
    app.http
        .get(app.http_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Whether a line of `metrics` starts with `name` and holds every label.
fn has_series(metrics: &str, name: &str, labels: &[(&str, &str)]) -> bool {
    metrics.lines().any(|line| {
        line.starts_with(name)
            && labels
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}=\"{value}\"")))
    })
}

/// The value of the circuit gauge of `vendor` at `target`.
fn circuit_state(metrics: &str, vendor: &str, target: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| {
            line.starts_with("switchboard_vendor_circuit_state{")
                && line.contains(&format!("vendor=\"{vendor}\""))
                && line.contains(&format!("target=\"{target}\""))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_hanging_vendor_ties_up_only_its_own_share() {
    let optico = FakeOptico::start().await;
    // Hangs far longer than the test lasts.
    optico.behave(Behaviour::Slow(Duration::from_secs(60)));
    let iadvize = FakeIadvize::start().await;
    let app = TestApp::spawn_with(
        AppOptions::default()
            .optico(&optico.url)
            .iadvize(&iadvize.url)
            .env("SWITCHBOARD__SERVER__MAX_CONCURRENT_REQUESTS", 8)
            .env("SWITCHBOARD__VENDORS__OPTICO__MAX_IN_FLIGHT", 2)
            .env("SWITCHBOARD__VENDORS__OPTICO__TIMEOUT_MS", 30_000),
    )
    .await;

    // More StartCalls than the whole server's request limit.
    let (done, mut results) = mpsc::channel(16);
    let calls = app.calls().await;
    for _ in 0..12 {
        let (mut calls, done) = (calls.clone(), done.clone());
        tokio::spawn(async move {
            let result = calls
                .start_call(proto::StartCallRequest {
                    caller_phone: "0612345678".into(),
                    destination_phone: "0170000000".into(),
                    start_time: Some(prost_types::Timestamp {
                        seconds: 1_700_000_000,
                        nanos: 0,
                    }),
                    agent: String::new(),
                })
                .await;
            let _ = done.send(result.map(|_| ())).await;
        });
    }
    eventually("two StartCalls reach the hanging optico", || {
        optico.received().len() == 2
    })
    .await;
    // The ten others are refused at once by optico's bulkhead, with a hint.
    for _ in 0..10 {
        let status = tokio::time::timeout(Duration::from_secs(10), results.recv())
            .await
            .expect("refused while optico still hangs")
            .unwrap()
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(reason(&status), "VENDOR_RATE_LIMITED");
        assert!(status.message().contains("vendors.optico.max_in_flight"));
        assert!(status.get_error_details().retry_info().is_some());
    }
    assert_eq!(optico.received().len(), 2);

    // Meanwhile the other vendors' RPCs, webhooks and health are served:
    // each well before the 60 s optico hang could free anything.
    let bound = Duration::from_secs(10);
    let agent = tokio::time::timeout(
        bound,
        agents(&app)
            .await
            .get_agent(proto::GetAgentRequest { agent_id: 123 }),
    )
    .await
    .expect("GetAgent answers while optico hangs")
    .unwrap()
    .into_inner();
    assert_eq!(agent.agent.unwrap().id, 123);
    let webhook = tokio::time::timeout(bound, app.post_optico_form(WEBHOOK_VIEW))
        .await
        .expect("the webhook answers while optico hangs");
    assert_eq!(webhook.status(), 200);
    let health = tokio::time::timeout(
        bound,
        HealthClient::new(app.channel().await).check(HealthCheckRequest {
            service: String::new(),
        }),
    )
    .await
    .expect("health answers while optico hangs");
    assert!(health.is_ok());
    // Optico itself is still tied up at its own bound only.
    assert_eq!(optico.received().len(), 2);
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_and_recovers_by_itself() {
    let iadvize = FakeIadvize::start().await;
    let app = TestApp::spawn_with(
        AppOptions::default()
            .iadvize(&iadvize.url)
            .env("SWITCHBOARD__VENDORS__IADVIZE__TIMEOUT_MS", 300)
            .env(
                "SWITCHBOARD__VENDORS__IADVIZE__BREAKER__FAILURE_THRESHOLD",
                3,
            )
            .env("SWITCHBOARD__VENDORS__IADVIZE__BREAKER__COOL_DOWN_MS", 1500),
    )
    .await;
    let at = target(&iadvize.url);
    let mut client = agents(&app).await;
    assert_eq!(
        circuit_state(&metrics(&app).await, "iadvize", &at),
        Some(0.0)
    );

    // iAdvize hangs: a read is tried three times, each timing out.
    iadvize.delay(Method::GET, "/operator/123", Duration::from_secs(30));
    let status = client
        .get_agent(proto::GetAgentRequest { agent_id: 123 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(reason(&status), "VENDOR_UNAVAILABLE");
    assert_eq!(iadvize.requests(Method::GET, "/operator/123").len(), 3);
    assert_eq!(
        circuit_state(&metrics(&app).await, "iadvize", &at),
        Some(2.0)
    );

    // Open: every iAdvize RPC fails at once, nothing reaches iAdvize.
    let requests_so_far = iadvize.received().len();
    for _ in 0..3 {
        let status = client
            .get_agent(proto::GetAgentRequest { agent_id: 123 })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(reason(&status), "VENDOR_CIRCUIT_OPEN");
        let retry = status.get_error_details().retry_info().cloned().unwrap();
        let delay = retry.retry_delay.unwrap();
        assert!(delay <= Duration::from_millis(1500), "{delay:?}");
    }
    let status = client
        .get_agent_profile(proto::GetAgentProfileRequest { agent_id: 123 })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "VENDOR_CIRCUIT_OPEN");
    assert_eq!(iadvize.received().len(), requests_so_far);

    // iAdvize answers again: after the cool-down one probe goes through,
    // and its success closes the circuit.
    iadvize.clear_answers();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let agent = client
        .get_agent(proto::GetAgentRequest { agent_id: 123 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(agent.agent.unwrap().id, 123);
    assert_eq!(
        circuit_state(&metrics(&app).await, "iadvize", &at),
        Some(0.0)
    );
    client
        .get_agent_profile(proto::GetAgentProfileRequest { agent_id: 123 })
        .await
        .unwrap();
}

#[tokio::test]
async fn refusals_never_open_the_breaker() {
    let iadvize = FakeIadvize::start().await;
    let app = TestApp::spawn_with(AppOptions::default().iadvize(&iadvize.url).env(
        "SWITCHBOARD__VENDORS__IADVIZE__BREAKER__FAILURE_THRESHOLD",
        2,
    ))
    .await;
    iadvize.answer(
        Method::GET,
        "/operator/9",
        400,
        r#"{"meta": {"status": "fail", "message": "Unknown 'operator' with 'id' 9."}}"#,
    );
    let mut client = agents(&app).await;
    for _ in 0..6 {
        let status = client
            .get_agent(proto::GetAgentRequest { agent_id: 9 })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(reason(&status), "VENDOR_NOT_FOUND");
    }
    // Each refusal reached iAdvize once: not retried, never cut off.
    assert_eq!(iadvize.requests(Method::GET, "/operator/9").len(), 6);
    assert_eq!(
        circuit_state(&metrics(&app).await, "iadvize", &target(&iadvize.url)),
        Some(0.0)
    );
}

fn paced_dial(index: usize) -> proto::DialRequest {
    proto::DialRequest {
        outbound_prefix: String::new(),
        provider: proto::Provider::Ccai.into(),
        agent: "admin@somedomain.com".into(),
        destination_number: format!("+33 6 12 34 56 {index:02}"),
        outbound_number: String::new(),
        ticket_id: String::new(),
        language: "en".into(),
        request_id: format!("burst-{index}"),
    }
}

#[tokio::test]
async fn a_burst_of_ccai_dials_reaches_ccai_at_the_configured_rate_each_once() {
    const RATE: usize = 20;
    const DIALS: usize = 50;
    let ccai = FakeCcai::start().await;
    let app = TestApp::spawn_with(
        AppOptions::default()
            .ccai(&ccai)
            .env("SWITCHBOARD__VENDORS__CCAI__MAX_REQUESTS_PER_SECOND", RATE),
    )
    .await;
    let dials = app.dials().await;
    let mut tasks = Vec::new();
    for index in 0..DIALS {
        let mut dials = dials.clone();
        tasks.push(tokio::spawn(
            async move { dials.dial(paced_dial(index)).await },
        ));
    }
    for task in tasks {
        task.await.unwrap().expect("every paced dial succeeds");
    }

    let creations = ccai.creations();
    assert_eq!(creations.len(), DIALS, "each dial sent exactly once");
    let numbers: HashSet<String> = creations
        .iter()
        .map(|r| r.body["end_user_number"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(numbers.len(), DIALS, "no dial sent twice");
    // Never more than RATE requests within a second, as CCAI saw them
    // (a few ms of slack for the loopback's own scheduling).
    let mut arrivals: Vec<_> = creations.iter().map(|r| r.at).collect();
    arrivals.sort();
    for window in arrivals.windows(RATE + 1) {
        let spread = window[RATE] - window[0];
        assert!(
            spread >= Duration::from_millis(1000 - 30),
            "{} requests within {spread:?}",
            RATE + 1
        );
    }
}

#[tokio::test]
async fn a_dial_that_cannot_be_paced_before_its_deadline_is_refused_unsent() {
    let ccai = FakeCcai::start().await;
    let app = TestApp::spawn_with(
        AppOptions::default()
            .ccai(&ccai)
            .env("SWITCHBOARD__VENDORS__CCAI__MAX_REQUESTS_PER_SECOND", 0.5),
    )
    .await;
    let mut dials = app.dials().await;
    dials.dial(paced_dial(1)).await.unwrap();
    // The next slot is 2 s away; this request has 300 ms.
    let mut request = tonic::Request::new(paced_dial(2));
    request.set_timeout(Duration::from_millis(300));
    let status = dials.dial(request).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(reason(&status), "VENDOR_RATE_LIMITED");
    let delay = status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .unwrap();
    assert!(delay > Duration::from_millis(300), "{delay:?}");
    assert_eq!(ccai.creations().len(), 1, "the refused dial was not sent");
    // Nothing was sent, so the same request_id may try again, and does.
    tokio::time::sleep(delay).await;
    dials.dial(paced_dial(2)).await.unwrap();
    assert_eq!(ccai.creations().len(), 2);
}

#[tokio::test]
async fn every_outcome_lands_in_the_latency_histogram_with_its_label() {
    let iadvize = FakeIadvize::start().await;
    let app = TestApp::spawn_with(
        AppOptions::default()
            .iadvize(&iadvize.url)
            .env("SWITCHBOARD__VENDORS__IADVIZE__TIMEOUT_MS", 300)
            // Requests 200 ms apart: one with a shorter deadline is refused.
            .env("SWITCHBOARD__VENDORS__IADVIZE__MAX_REQUESTS_PER_SECOND", 5)
            .env(
                "SWITCHBOARD__VENDORS__IADVIZE__BREAKER__FAILURE_THRESHOLD",
                4,
            ),
    )
    .await;
    let mut client = agents(&app).await;

    // ok
    client
        .get_agent(proto::GetAgentRequest { agent_id: 123 })
        .await
        .unwrap();
    // rate_limited: the next slot is past this request's deadline.
    let mut request = tonic::Request::new(proto::GetAgentRequest { agent_id: 456 });
    request.set_timeout(Duration::from_millis(50));
    let status = client.get_agent(request).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    // refused
    iadvize.answer(
        Method::GET,
        "/group/1",
        400,
        r#"{"meta": {"status": "fail", "message": "Unknown 'group' with 'id' 1."}}"#,
    );
    let status = client
        .get_group(proto::GetGroupRequest { group_id: 1 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    // bad_response: a success that is not the documented envelope.
    iadvize.answer(Method::GET, "/operator/123/profile", 200, "<html>hi</html>");
    let status = client
        .get_agent_profile(proto::GetAgentProfileRequest { agent_id: 123 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(reason(&status), "VENDOR_BAD_RESPONSE");
    // timeout (three attempts: three failures for the breaker)
    iadvize.delay(
        Method::GET,
        "/operator/123/statistic",
        Duration::from_secs(30),
    );
    let status = client
        .get_agent_statistics(proto::GetAgentStatisticsRequest { agent_id: 123 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    // unavailable: the fourth failure opens the circuit, so the retry of
    // this read is circuit_open.
    iadvize.answer(Method::GET, "/skill/5", 503, "<html>down</html>");
    let status = client
        .get_skill(proto::GetSkillRequest { skill_id: 5 })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "VENDOR_CIRCUIT_OPEN");
    assert_eq!(iadvize.requests(Method::GET, "/skill/5").len(), 1);

    let metrics = metrics(&app).await;
    let at = target(&iadvize.url);
    for (endpoint, outcome) in [
        ("operator/{id}", "ok"),
        ("operator/{id}", "rate_limited"),
        ("group/{id}", "refused"),
        ("operator/{id}/profile", "bad_response"),
        ("operator/{id}/statistic", "timeout"),
        ("skill/{id}", "unavailable"),
        ("skill/{id}", "circuit_open"),
    ] {
        assert!(
            has_series(
                &metrics,
                "switchboard_vendor_request_seconds_count",
                &[
                    ("vendor", "iadvize"),
                    ("target", &at),
                    ("endpoint", endpoint),
                    ("outcome", outcome),
                ],
            ),
            "no {outcome} for {endpoint} in:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn an_unknown_error_is_logged_with_the_id_the_client_received() {
    let ccai = FakeCcai::start().await;
    ccai.answer_json(201, "<html><body>Bad gateway</body></html>");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let env = [
        (
            "SWITCHBOARD__DATABASE__URL",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("switchboard.db").display()
            ),
        ),
        ("SWITCHBOARD__VENDORS__CCAI__BASE_URL", ccai.url.clone()),
        (
            "SWITCHBOARD__VENDORS__CCAI__COMPANY_KEY",
            crate::helpers::fake_ccai::COMPANY_KEY.to_owned(),
        ),
        (
            "SWITCHBOARD__VENDORS__CCAI__COMPANY_SECRET",
            crate::helpers::fake_ccai::COMPANY_SECRET.to_owned(),
        ),
    ];
    let mut server = Server::spawn_logging_to(&env, &log);
    server.wait_ready().await;
    let status = server.dials().await.dial(paced_dial(7)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown, "{status:?}");
    assert_eq!(reason(&status), "VENDOR_BAD_RESPONSE");
    let details = status.get_error_details();
    let error_id = details.error_info().unwrap().metadata["error_id"].clone();
    assert!(
        status.message().contains(&error_id),
        "the client's message names the id: {}",
        status.message()
    );
    server.terminate();
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<_> = logged.lines().filter(|l| l.contains(&error_id)).collect();
    assert_eq!(lines.len(), 1, "logged once with its id:\n{logged}");
    assert!(lines[0].contains("VENDOR_BAD_RESPONSE"), "{}", lines[0]);
    assert!(!logged.contains(crate::helpers::fake_ccai::COMPANY_SECRET));
}
