//! The store on both backends: migrations, correlation by reference, the
//! event log, dedupe retention, and sequence order = commit order under
//! concurrent writers with a tailing reader.

use std::{collections::BTreeSet, time::Duration};

use chrono::Utc;
use secrecy::SecretString;
use switchboard::{
    domain::{
        CallLookup, CallStatus, Direction, NewEvent, PageView, Provider, RefKind, Update, VendorRef,
    },
    store::{CallUpsert, EventFilter, Recorded, Store, calls, events},
    updates::{StreamItem, StreamOptions, Updates},
};
use tokio_util::sync::CancellationToken;

use crate::helpers::postgres::fresh_database;

async fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let store = Store::connect(&SecretString::from(url), 8).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn postgres_store() -> Store {
    let store = Store::connect(&SecretString::from(fresh_database().await), 20)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

fn view(id: i64) -> NewEvent {
    NewEvent {
        update: Update::View(PageView {
            id,
            page_title: Some(format!("page {id}")),
            url: None,
            created_at: None,
        }),
        occurred_at: Utc::now(),
        dedupe_key: None,
    }
}

async fn correlation_and_log(store: Store) {
    // Migrations are idempotent.
    store.migrate().await.unwrap();
    let optico = VendorRef::new(RefKind::OpticoCallId, "22122563");
    let mut tx = store.begin_write().await.unwrap();
    let (id, created) = calls::find_or_create_by_ref(&tx, &optico, || {
        CallUpsert::new(
            Direction::Inbound,
            Provider::Optico,
            CallStatus::Active,
            Utc::now(),
        )
    })
    .await
    .unwrap();
    assert!(created);
    calls::add_refs(
        &tx,
        &id,
        &[VendorRef::new(
            RefKind::CallUuid,
            "bfa2dbc8-ab8a-34c8-f243-c2aad8c446ff",
        )],
    )
    .await
    .unwrap();
    let first = events::append(
        &mut tx,
        &id,
        None,
        NewEvent {
            dedupe_key: Some("k1".into()),
            ..view(1)
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let Recorded::Stored(first) = first else {
        panic!("stored")
    };

    // Same reference: same call. Same dedupe key: not stored again.
    let mut tx = store.begin_write().await.unwrap();
    let (again, created) = calls::find_or_create_by_ref(&tx, &optico, || unreachable!())
        .await
        .unwrap();
    assert_eq!((again.clone(), created), (id.clone(), false));
    let dup = events::append(
        &mut tx,
        &id,
        None,
        NewEvent {
            dedupe_key: Some("k1".into()),
            ..view(1)
        },
    )
    .await
    .unwrap();
    assert_eq!(dup, Recorded::Duplicate);
    let second = events::append(&mut tx, &id, Some("agent@x.fr"), view(2))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let Recorded::Stored(second) = second else {
        panic!("stored")
    };
    assert!(second > first);

    // Found by either reference, with both refs.
    for lookup in [
        CallLookup::Vendor(optico.clone()),
        CallLookup::Vendor(VendorRef::new(
            RefKind::CallUuid,
            "bfa2dbc8-ab8a-34c8-f243-c2aad8c446ff",
        )),
        CallLookup::Id(id.clone()),
    ] {
        let call = calls::find_call(store.connection(), &lookup)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(call.id, id);
        assert_eq!(call.refs.len(), 2);
    }
    // A reference cannot move to another call.
    let tx = store.begin_write().await.unwrap();
    let other = calls::insert_call(
        &tx,
        CallUpsert::new(
            Direction::Outbound,
            Provider::FocalScope,
            CallStatus::Dialing,
            Utc::now(),
        ),
        &[],
    )
    .await
    .unwrap();
    assert!(
        calls::add_refs(&tx, &other, std::slice::from_ref(&optico))
            .await
            .is_err()
    );
    drop(tx);

    // The log, filtered.
    let all = events::events_after(store.connection(), 0, &EventFilter::default(), 100)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [first, second]
    );
    let by_agent = EventFilter {
        agent: Some("agent@x.fr".into()),
        call_id: None,
    };
    let agent_events = events::events_after(store.connection(), 0, &by_agent, 100)
        .await
        .unwrap();
    assert_eq!(agent_events.len(), 1);
    assert_eq!(
        events::head_sequence(store.connection()).await.unwrap(),
        second
    );

    // Status only moves forward.
    let tx = store.begin_write().await.unwrap();
    assert!(
        calls::advance_status(&tx, &id, CallStatus::Ended, None, None)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        calls::advance_status(&tx, &id, CallStatus::Connected, None, None)
            .await
            .unwrap()
            .is_none()
    );
    tx.commit().await.unwrap();

    // Dedupe keys past the retention are forgotten.
    let tx = store.begin_write().await.unwrap();
    assert_eq!(
        events::prune_dedupe_keys(&tx, Utc::now() + chrono::Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin_write().await.unwrap();
    let redelivered = events::append(
        &mut tx,
        &id,
        None,
        NewEvent {
            dedupe_key: Some("k1".into()),
            ..view(1)
        },
    )
    .await
    .unwrap();
    assert!(matches!(redelivered, Recorded::Stored(_)));
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn correlation_and_log_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    correlation_and_log(sqlite_store(&dir).await).await;
}

#[tokio::test]
async fn correlation_and_log_on_postgres() {
    correlation_and_log(postgres_store().await).await;
}

/// Many concurrent writers, one tailing subscriber: it must see every
/// committed sequence exactly once, in order — a reader tailing `seq > last`
/// skips nothing only if sequence order is commit order.
async fn concurrent_writers_and_a_tailing_reader(store: Store, writers: usize, per_writer: usize) {
    let stop = CancellationToken::new();
    let options = StreamOptions {
        heartbeat: Duration::from_secs(30),
        max_lifetime: None,
        buffer: 64,
        poll_interval: Duration::from_secs(2),
    };
    let updates = Updates::start(store.clone(), stop.clone(), options)
        .await
        .unwrap();
    let mut subscription = updates.subscribe(EventFilter::default(), 0);

    let mut tasks = Vec::new();
    for writer in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut committed = Vec::new();
            for i in 0..per_writer {
                let mut tx = store.begin_write().await.unwrap();
                let reference = VendorRef::new(
                    RefKind::OpticoCallId,
                    format!("{}", writer * 1_000_000 + i + 1),
                );
                let (id, _) = calls::find_or_create_by_ref(&tx, &reference, || {
                    CallUpsert::new(
                        Direction::Inbound,
                        Provider::Optico,
                        CallStatus::Active,
                        Utc::now(),
                    )
                })
                .await
                .unwrap();
                // Two events per transaction.
                for n in 0..2 {
                    if let Recorded::Stored(sequence) =
                        events::append(&mut tx, &id, None, view(n)).await.unwrap()
                    {
                        committed.push(sequence);
                    }
                }
                // Keep some transactions open a little longer than others so
                // commits race.
                if i % 3 == 0 {
                    tokio::task::yield_now().await;
                }
                tx.commit().await.unwrap();
            }
            committed
        }));
    }
    let mut expected = BTreeSet::new();
    for task in tasks {
        expected.extend(task.await.unwrap());
    }
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let item = tokio::time::timeout(Duration::from_secs(10), subscription.recv())
            .await
            .expect("the reader keeps up")
            .expect("subscription open")
            .expect("no error");
        if let StreamItem::Event(event) = item {
            seen.push(event.sequence);
        }
    }
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicate"
    );
    assert_eq!(
        seen.into_iter().collect::<BTreeSet<_>>(),
        expected,
        "every sequence"
    );
    stop.cancel();
}

#[tokio::test]
async fn sequence_order_is_commit_order_on_postgres() {
    concurrent_writers_and_a_tailing_reader(postgres_store().await, 16, 40).await;
}

#[tokio::test]
async fn sequence_order_is_commit_order_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_writers_and_a_tailing_reader(sqlite_store(&dir).await, 8, 40).await;
}
