//! Several switchboard processes on one PostgreSQL: a webhook reaching one
//! replica is streamed by the others, in order; a client resumes on another
//! replica after one is killed; a lost LISTEN connection is re-established
//! and nothing is missed; identical dials on two replicas ring once.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, Statement};
use switchboard::pb::v1::{self as proto, stream_call_updates_response::Update};

use crate::helpers::{
    assert_no_update,
    fake_focalscope::FakeFocalScope,
    fake_optico::{WEBHOOK_CART, WEBHOOK_ORDER, WEBHOOK_VIEW},
    next_update,
    postgres::fresh_database,
    process::Server,
};

const WAIT: Duration = Duration::from_secs(10);

fn kind(update: &proto::StreamCallUpdatesResponse) -> &'static str {
    match update.update {
        Some(Update::View(_)) => "view",
        Some(Update::Cart(_)) => "cart",
        Some(Update::Order(_)) => "order",
        _ => "other",
    }
}

#[tokio::test]
async fn replicas_on_postgres_fan_out_resume_and_dial_once() {
    let db_url = fresh_database().await;
    let focalscope = FakeFocalScope::start().await;
    let env = [
        ("SWITCHBOARD__DATABASE__URL", db_url.clone()),
        (
            "SWITCHBOARD__VENDORS__FOCALSCOPE__DIAL_URL",
            focalscope.dial_url(),
        ),
        // Only NOTIFY (or a listen reconnection) can wake a replica within
        // this test's waits: the safety-net poll is far away.
        (
            "SWITCHBOARD__STREAMS__POLL_INTERVAL_MS",
            "600000".to_owned(),
        ),
    ];
    // Three replicas starting together: they also race to migrate.
    let mut replicas = [
        Server::spawn(&env),
        Server::spawn(&env),
        Server::spawn(&env),
    ];
    for replica in &replicas {
        replica.wait_ready().await;
    }

    // A webhook into replica 0 reaches streams held by replicas 1 and 2.
    let mut on_1 = replicas[1].stream(0).await;
    let mut on_2 = replicas[2].stream(0).await;
    replicas[0].post_optico(WEBHOOK_VIEW).await;
    let view = next_update(&mut on_1, WAIT).await;
    assert_eq!(kind(&view), "view");
    assert_eq!(next_update(&mut on_2, WAIT).await, view);

    // Replica 1 dies mid-stream; more webhooks land on replica 0; the client
    // resumes on replica 2 exactly after what it saw.
    replicas[1].kill();
    replicas[0].post_optico(WEBHOOK_CART).await;
    replicas[0].post_optico(WEBHOOK_ORDER).await;
    let mut resumed = replicas[2].stream(view.sequence).await;
    let cart = next_update(&mut resumed, WAIT).await;
    let order = next_update(&mut resumed, WAIT).await;
    assert_eq!((kind(&cart), kind(&order)), ("cart", "order"));
    assert!(view.sequence < cart.sequence && cart.sequence < order.sequence);
    assert_no_update(&mut resumed, Duration::from_millis(300)).await;
    // The live stream on replica 2 saw the same, in the same order.
    assert_eq!(next_update(&mut on_2, WAIT).await, cart);
    assert_eq!(next_update(&mut on_2, WAIT).await, order);

    // Cut every LISTEN connection: the replicas reconnect and catch up from
    // the log, so an event committed meanwhile still arrives.
    let admin = Database::connect(db_url.as_str()).await.unwrap();
    let terminated = admin
        .query_all_raw(Statement::from_string(
            admin.get_database_backend(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'switchboard' AND query LIKE 'LISTEN%'",
        ))
        .await
        .unwrap();
    assert!(
        terminated.len() >= 2,
        "listen connections found: {}",
        terminated.len()
    );
    let next_view = WEBHOOK_VIEW.replace("568536624", "568530001");
    replicas[0].post_optico(&next_view).await;
    let after_cut = next_update(&mut on_2, WAIT).await;
    assert_eq!(kind(&after_cut), "view");
    assert!(after_cut.sequence > order.sequence);

    // The same dial sent to two replicas at the same moment rings once.
    let gate = focalscope.gate();
    let held = gate.lock().await;
    let dial = proto::DialRequest {
        provider: proto::Provider::Focalscope.into(),
        agent: "ext 201".into(),
        destination_number: "+33 6 12 34 56 78".into(),
        request_id: "replicated-dial".into(),
        ..Default::default()
    };
    let (mut to_0, mut to_2) = (replicas[0].dials().await, replicas[2].dials().await);
    let (first, second) = (dial.clone(), dial);
    let a = tokio::spawn(async move { to_0.dial(first).await });
    let b = tokio::spawn(async move { to_2.dial(second).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(held);
    let a = a.await.unwrap().unwrap().into_inner().call.unwrap();
    let b = b.await.unwrap().unwrap().into_inner().call.unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(
        focalscope.dials().len(),
        1,
        "one vendor request across replicas"
    );

    for replica in &mut replicas {
        replica.kill();
    }
}
