//! The store on both backends: migrations, correlation by reference, the
//! event log, dedupe retention, and sequence order = commit order under
//! concurrent writers with a tailing reader.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use chrono::Utc;
use secrecy::SecretString;
use switchboard::{
    domain::{
        CallLookup, CallStatus, Direction, NewEvent, PageView, Provider, RefKind, Update, VendorRef,
    },
    services::updates::{StreamItem, StreamOptions, Updates},
    store::{
        CallUpsert, EventFilter, Recorded, RefAppend, Store, StoreError, calls, events,
        events::Prepared,
    },
};
use tokio_stream::StreamExt;
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

/// Starts the log tail of `store` (heartbeats every 30 s); cancel the token
/// to stop it.
async fn start_tail(
    store: &Store,
    buffer: usize,
    poll_interval: Duration,
) -> (Updates, CancellationToken) {
    let stop = CancellationToken::new();
    let options = StreamOptions {
        heartbeat: Duration::from_secs(30),
        max_lifetime: None,
        buffer,
        poll_interval,
    };
    let updates = Updates::start(store.clone(), stop.clone(), options)
        .await
        .unwrap();
    (updates, stop)
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

fn prepared(event: NewEvent) -> Prepared {
    Prepared::new(event).unwrap()
}

fn keyed(key: &str, id: i64) -> Prepared {
    prepared(NewEvent {
        dedupe_key: Some(key.into()),
        ..view(id)
    })
}

async fn correlation_and_log(store: Store) {
    // Migrations are idempotent.
    store.migrate().await.unwrap();
    let optico = VendorRef::new(RefKind::OpticoCallId, "22122563");
    let (id, created, first) = store
        .write({
            let optico = optico.clone();
            move |tx| {
                let optico = optico.clone();
                Box::pin(async move {
                    let (id, created) =
                        calls::find_or_create_by_ref(tx, &optico, optico_call).await?;
                    calls::add_refs(
                        tx,
                        &id,
                        &[VendorRef::new(
                            RefKind::CallUuid,
                            "bfa2dbc8-ab8a-34c8-f243-c2aad8c446ff",
                        )],
                    )
                    .await?;
                    let first = events::append(tx, &id, None, &keyed("k1", 1)).await?;
                    Ok((id, created, first))
                })
            }
        })
        .await
        .unwrap();
    assert!(created);
    let Recorded::Stored(first) = first else {
        panic!("stored")
    };

    // Same reference: same call. Same dedupe key: not stored again.
    let (again, created, dup, second) = store
        .write({
            let (optico, id) = (optico.clone(), id.clone());
            move |tx| {
                let (optico, id) = (optico.clone(), id.clone());
                Box::pin(async move {
                    let (again, created) =
                        calls::find_or_create_by_ref(tx, &optico, || unreachable!()).await?;
                    let dup = events::append(tx, &id, None, &keyed("k1", 1)).await?;
                    let second =
                        events::append(tx, &id, Some("agent@x.fr"), &prepared(view(2))).await?;
                    Ok((again, created, dup, second))
                })
            }
        })
        .await
        .unwrap();
    assert_eq!((again.clone(), created), (id.clone(), false));
    assert_eq!(dup, Recorded::Duplicate);
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
    // A reference cannot move to another call; the failed write leaves
    // nothing behind.
    let moved = store
        .write({
            let optico = optico.clone();
            move |tx| {
                let optico = optico.clone();
                Box::pin(async move {
                    let other = calls::insert_call(
                        tx,
                        CallUpsert::new(
                            Direction::Outbound,
                            Provider::FocalScope,
                            CallStatus::Dialing,
                            Utc::now(),
                        ),
                        &[],
                    )
                    .await?;
                    calls::add_refs(tx, &other, std::slice::from_ref(&optico)).await
                })
            }
        })
        .await;
    assert!(moved.is_err());
    let everything = calls::list_calls(store.connection(), &Default::default(), 10, None)
        .await
        .unwrap();
    assert_eq!(everything.calls.len(), 1, "the failed write's call is gone");

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
    let (forward, backward) = store
        .write({
            let id = id.clone();
            move |tx| {
                let id = id.clone();
                Box::pin(async move {
                    let forward =
                        calls::advance_status(tx, &id, CallStatus::Ended, None, None).await?;
                    let backward =
                        calls::advance_status(tx, &id, CallStatus::Connected, None, None).await?;
                    Ok((forward, backward))
                })
            }
        })
        .await
        .unwrap();
    assert!(forward.is_some());
    assert!(backward.is_none());

    // Dedupe keys past the retention are forgotten.
    let pruned = store
        .write(|tx| {
            Box::pin(async move {
                events::prune_dedupe_keys(tx, Utc::now() + chrono::Duration::hours(1)).await
            })
        })
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    let redelivered = store
        .write({
            let id = id.clone();
            move |tx| {
                let id = id.clone();
                Box::pin(async move { events::append(tx, &id, None, &keyed("k1", 1)).await })
            }
        })
        .await
        .unwrap();
    assert!(matches!(redelivered, Recorded::Stored(_)));
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
/// skips nothing only if sequence order is commit order. The writers go
/// through `stores` (on PostgreSQL, several stores are several replicas:
/// separate committers and pools, ordered only by the advisory lock); the
/// subscriber is on the first.
async fn concurrent_writers_and_a_tailing_reader(
    stores: Vec<Store>,
    writers: usize,
    per_writer: usize,
) {
    // Only commits of this store and NOTIFY from the others wake the
    // tail: the safety-net poll would hide a skipped sequence.
    let (updates, stop) = start_tail(&stores[0], 100_000, Duration::from_secs(600)).await;
    // Read while the writers write, so what is checked is the order the
    // tail publishes in (a reader that fell behind would catch up from the
    // log after the fact, and see every sequence whatever the order).
    let mut subscription = updates.subscribe(EventFilter::default(), 0);
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some(item) = subscription.next().await {
            if let StreamItem::Event(event) = item.expect("no error") {
                let _ = seen_tx.send(event.sequence);
            }
        }
    });

    let mut tasks = Vec::new();
    for writer in 0..writers {
        let store = stores[writer % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut committed = Vec::new();
            for i in 0..per_writer {
                let reference = VendorRef::new(
                    RefKind::OpticoCallId,
                    format!("{}", writer * 1_000_000 + i + 1),
                );
                // Keep some transactions open a little longer than others
                // so commits race.
                let linger = i % 3 == 0;
                let sequences = store
                    .write(move |tx| {
                        let reference = reference.clone();
                        Box::pin(async move {
                            let (id, _) =
                                calls::find_or_create_by_ref(tx, &reference, optico_call).await?;
                            // Two events per write.
                            let mut sequences = Vec::new();
                            for n in 0..2 {
                                if let Recorded::Stored(sequence) =
                                    events::append(tx, &id, None, &prepared(view(n))).await?
                                {
                                    sequences.push(sequence);
                                }
                            }
                            if linger {
                                tokio::time::sleep(Duration::from_millis(2)).await;
                            }
                            Ok(sequences)
                        })
                    })
                    .await
                    .unwrap();
                committed.extend(sequences);
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
        let sequence = tokio::time::timeout(Duration::from_secs(10), seen_rx.recv())
            .await
            .expect("the reader keeps up (a skipped sequence never arrives)")
            .expect("subscription open");
        seen.push(sequence);
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
    reader.abort();
    stop.cancel();
}

#[tokio::test]
async fn sequence_order_is_commit_order_on_postgres() {
    let url = SecretString::from(fresh_database().await);
    let mut stores = Vec::new();
    for _ in 0..4 {
        let store = Store::connect(&url, 8).await.unwrap();
        store.migrate().await.unwrap();
        stores.push(store);
    }
    concurrent_writers_and_a_tailing_reader(stores, 16, 40).await;
}

#[tokio::test]
async fn sequence_order_is_commit_order_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_writers_and_a_tailing_reader(vec![sqlite_store(&dir).await], 8, 40).await;
}

/// Concurrent writers with failing ones among them: each failing write
/// alone is refused, its neighbours in the same batches commit, and the
/// tail sees every committed sequence with none skipped or half-written.
async fn a_failing_write_fails_alone(store: Store) {
    let (updates, stop) = start_tail(&store, 1024, Duration::from_secs(600)).await;
    let mut subscription = updates.subscribe(EventFilter::default(), 0);
    // A call owning the reference the failing writes try to take.
    let owned = VendorRef::new(RefKind::OpticoCallId, "1");
    new_call(&store, std::slice::from_ref(&owned)).await;

    let writes = 300;
    let mut tasks = Vec::new();
    for n in 0..writes {
        let (store, owned) = (store.clone(), owned.clone());
        tasks.push(tokio::spawn(async move {
            let failing = n % 50 == 25;
            let result = store
                .write(move |tx| {
                    let owned = owned.clone();
                    Box::pin(async move {
                        let fields = optico_call();
                        let id = calls::insert_call(tx, fields, &[]).await?;
                        let Recorded::Stored(sequence) =
                            events::append(tx, &id, None, &prepared(view(n))).await?
                        else {
                            unreachable!("no dedupe key")
                        };
                        if failing {
                            // After it wrote a call and an event: all of it
                            // must go.
                            calls::add_refs(tx, &id, std::slice::from_ref(&owned)).await?;
                        }
                        Ok(sequence)
                    })
                })
                .await;
            (failing, result)
        }));
    }
    let mut committed = BTreeSet::new();
    for task in tasks {
        let (failing, result) = task.await.unwrap();
        match (failing, result) {
            (false, Ok(sequence)) => {
                committed.insert(sequence);
            }
            (true, Err(StoreError::RefConflict(_))) => {}
            (failing, result) => panic!("write (failing: {failing}) answered {result:?}"),
        }
    }
    assert_eq!(committed.len(), writes as usize - 6);
    let mut seen = Vec::new();
    while seen.len() < committed.len() {
        let item = tokio::time::timeout(Duration::from_secs(10), subscription.next())
            .await
            .expect("the tail keeps up")
            .expect("open")
            .expect("no error");
        if let StreamItem::Event(event) = item {
            seen.push(event.sequence);
        }
    }
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), committed);
    // Nothing of the failing writes is in the log or the calls.
    let log = events::events_after(store.connection(), 0, &EventFilter::default(), 1000)
        .await
        .unwrap();
    assert_eq!(
        log.iter().map(|e| e.sequence).collect::<BTreeSet<_>>(),
        committed
    );
    let calls = calls::list_calls(store.connection(), &Default::default(), 500, None)
        .await
        .unwrap();
    assert_eq!(calls.calls.len(), committed.len() + 1);
    stop.cancel();
}

#[tokio::test]
async fn a_failing_write_fails_alone_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_failing_write_fails_alone(sqlite_store(&dir).await).await;
}

#[tokio::test]
async fn a_failing_write_fails_alone_on_postgres() {
    a_failing_write_fails_alone(postgres_store().await).await;
}

/// Streams are handed only the events of their scope: a per-agent stream
/// never sees another agent's events, a per-call stream another call's.
#[tokio::test]
async fn scoped_streams_receive_only_their_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let (updates, stop) = start_tail(&store, 64, Duration::from_secs(600)).await;
    let agents = ["a1@x.fr", "a2@x.fr", "a3@x.fr"];
    let mut ids = Vec::new();
    for agent in agents {
        let id = store
            .write(move |tx| {
                Box::pin(async move {
                    let mut fields = optico_call();
                    fields.agent = Some(agent.to_owned());
                    calls::insert_call(tx, fields, &[]).await
                })
            })
            .await
            .unwrap();
        ids.push(id);
    }
    let mut by_agent = updates.subscribe(
        EventFilter {
            agent: Some("a2@x.fr".into()),
            call_id: None,
        },
        0,
    );
    let mut by_call = updates.subscribe(
        EventFilter {
            agent: None,
            call_id: Some(ids[2].clone()),
        },
        0,
    );
    let mut all = updates.subscribe(EventFilter::default(), 0);
    for round in 0..5 {
        for (id, agent) in ids.iter().zip(agents) {
            let id = id.clone();
            store
                .write(move |tx| {
                    let id = id.clone();
                    Box::pin(async move {
                        events::append(tx, &id, Some(agent), &prepared(view(round))).await
                    })
                })
                .await
                .unwrap();
        }
    }
    let take = async |subscription: &mut switchboard::services::updates::Subscription, n: usize| {
        let mut events = Vec::new();
        while events.len() < n {
            match tokio::time::timeout(Duration::from_secs(5), subscription.next())
                .await
                .expect("delivered")
                .expect("open")
                .expect("no error")
            {
                StreamItem::Event(event) => events.push(event),
                StreamItem::Heartbeat { .. } => {}
            }
        }
        events
    };
    let agent_events = take(&mut by_agent, 5).await;
    assert!(
        agent_events
            .iter()
            .all(|e| e.agent.as_deref() == Some("a2@x.fr"))
    );
    let call_events = take(&mut by_call, 5).await;
    assert!(call_events.iter().all(|e| e.call_id == ids[2]));
    assert_eq!(take(&mut all, 15).await.len(), 15);
    // Nothing more for the scoped ones (the next write is a1's).
    let id = ids[0].clone();
    store
        .write(move |tx| {
            let id = id.clone();
            Box::pin(
                async move { events::append(tx, &id, Some("a1@x.fr"), &prepared(view(9))).await },
            )
        })
        .await
        .unwrap();
    assert_eq!(take(&mut all, 1).await[0].call_id, ids[0]);
    for scoped in [&mut by_agent, &mut by_call] {
        assert!(
            tokio::time::timeout(Duration::from_millis(200), scoped.next())
                .await
                .is_err(),
            "a scoped stream got another scope's event"
        );
    }
    stop.cancel();
}

/// Webhook appends gathered into one statement per batch: known calls,
/// calls not seen yet, re-deliveries of stored events and repeats within
/// the same batch — each key stored once, each repeat answered Duplicate,
/// every new call created once with its reference.
async fn combined_appends(store: Store) {
    let known: Vec<VendorRef> = (0..5)
        .map(|n| VendorRef::new(RefKind::OpticoCallId, format!("{}", 500 + n)))
        .collect();
    for vendor_ref in &known {
        new_call(&store, std::slice::from_ref(vendor_ref)).await;
    }
    let append = |call: usize, key: usize| {
        RefAppend::new(
            VendorRef::new(RefKind::OpticoCallId, format!("{}", 500 + call)),
            keyed(&format!("combined-{key}"), key as i64),
        )
        .unwrap()
    };
    // Already stored before the batches: its repeats are re-deliveries.
    assert!(matches!(
        store
            .append_to_ref(append(0, 0), optico_call())
            .await
            .unwrap(),
        Recorded::Stored(_)
    ));
    // 400 appends at once: 200 distinct keys, each sent twice; calls 0..9
    // (5..9 are new).
    let mut tasks = Vec::new();
    for n in 0..400usize {
        let store = store.clone();
        let key = n % 200;
        let item = append(key % 10, key);
        let fields = optico_call();
        tasks.push(tokio::spawn(async move {
            (key, store.append_to_ref(item, fields).await.unwrap())
        }));
    }
    let mut stored = BTreeMap::new();
    let mut duplicates = 0;
    for task in tasks {
        match task.await.unwrap() {
            (key, Recorded::Stored(sequence)) => {
                assert!(
                    stored.insert(key, sequence).is_none(),
                    "key {key} stored twice"
                );
            }
            (_, Recorded::Duplicate) => duplicates += 1,
        }
    }
    assert_eq!(stored.len(), 199, "every key but the pre-stored one");
    assert!(!stored.contains_key(&0));
    assert_eq!(duplicates, 201);
    let log = events::events_after(store.connection(), 0, &EventFilter::default(), 1000)
        .await
        .unwrap();
    assert_eq!(log.len(), 200);
    let listed = calls::list_calls(store.connection(), &Default::default(), 100, None)
        .await
        .unwrap();
    assert_eq!(listed.calls.len(), 10, "each new call created once");
    for call in &listed.calls {
        assert_eq!(call.refs.len(), 1);
        let id = &call.id;
        assert_eq!(log.iter().filter(|e| &e.call_id == id).count(), 20);
    }
}

#[tokio::test]
async fn combined_appends_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    combined_appends(sqlite_store(&dir).await).await;
}

#[tokio::test]
async fn combined_appends_on_postgres() {
    combined_appends(postgres_store().await).await;
}

/// A gate the WAL sync thread waits at (a slow disk), or fails at (a disk
/// that cannot sync).
#[derive(Default)]
struct SyncGate {
    state: std::sync::Mutex<(bool, bool)>,
    changed: std::sync::Condvar,
    syncs: std::sync::atomic::AtomicUsize,
}

impl SyncGate {
    fn set(&self, held: bool, failing: bool) {
        *self.state.lock().unwrap() = (held, failing);
        self.changed.notify_all();
    }

    fn hook(self: &std::sync::Arc<Self>) -> switchboard::store::SyncHook {
        let gate = self.clone();
        std::sync::Arc::new(move || {
            let mut state = gate.state.lock().unwrap();
            while state.0 {
                state = gate.changed.wait(state).unwrap();
            }
            gate.syncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if state.1 {
                return Err(std::io::Error::other("injected: the disk cannot sync"));
            }
            Ok(())
        })
    }
}

async fn gated_sqlite_store(dir: &tempfile::TempDir, gate: &std::sync::Arc<SyncGate>) -> Store {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let write = switchboard::store::WriteOptions {
        before_wal_sync: Some(gate.hook()),
        ..Default::default()
    };
    let store = Store::connect_with(&SecretString::from(url), 8, write)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

/// The fields of an active inbound Optico call, as a webhook makes it.
fn optico_call() -> CallUpsert {
    CallUpsert::new(
        Direction::Inbound,
        Provider::Optico,
        CallStatus::Active,
        Utc::now(),
    )
}

/// A new active Optico call holding `refs`.
async fn new_call(store: &Store, refs: &[VendorRef]) -> switchboard::domain::CallId {
    let refs = refs.to_vec();
    store
        .write(move |tx| {
            let refs = refs.clone();
            Box::pin(async move {
                let fields = optico_call();
                calls::insert_call(tx, fields, &refs).await
            })
        })
        .await
        .unwrap()
}

async fn append_to(
    store: &Store,
    id: &switchboard::domain::CallId,
    view_id: i64,
) -> Result<Recorded, StoreError> {
    let id = id.clone();
    store
        .write(move |tx| {
            let id = id.clone();
            Box::pin(async move { events::append(tx, &id, None, &prepared(view(view_id))).await })
        })
        .await
}

/// On SQLite a batch commits without waiting for the disk and is synced
/// afterwards (src/store/wal.rs): its writer is answered only after that
/// sync, and no stream — live or replaying — shows its event before.
#[tokio::test]
async fn sqlite_writers_and_streams_wait_for_the_wal_sync() {
    let dir = tempfile::tempdir().unwrap();
    let gate = std::sync::Arc::new(SyncGate::default());
    let store = gated_sqlite_store(&dir, &gate).await;
    // The safety-net poll reads the log often: it too must not show
    // the unsynced event.
    let (updates, stop) = start_tail(&store, 64, Duration::from_millis(20)).await;
    let id = new_call(&store, &[]).await;
    let Recorded::Stored(first) = append_to(&store, &id, 1).await.unwrap() else {
        panic!("stored")
    };
    let mut live = updates.subscribe(EventFilter::default(), 0);
    let next_event = async |stream: &mut switchboard::services::updates::Subscription,
                            wait: Duration| {
        loop {
            match tokio::time::timeout(wait, stream.next()).await {
                Err(_) => return None,
                Ok(item) => match item.expect("open").expect("no error") {
                    StreamItem::Event(event) => return Some(event.sequence),
                    StreamItem::Heartbeat { .. } => {}
                },
            }
        }
    };
    assert_eq!(
        next_event(&mut live, Duration::from_secs(5)).await,
        Some(first)
    );

    // The disk stalls: the next write commits, and is not answered.
    gate.set(true, false);
    let writer = tokio::spawn({
        let (store, id) = (store.clone(), id.clone());
        async move { append_to(&store, &id, 2).await.unwrap() }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while events::head_sequence(store.connection()).await.unwrap() <= first {
        assert!(std::time::Instant::now() < deadline, "the write commits");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = events::head_sequence(store.connection()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!writer.is_finished(), "answered before its sync");
    assert_eq!(store.durable_log_head(), first);
    // Neither the live stream nor one replaying the log shows it.
    let mut replaying = updates.subscribe(EventFilter::default(), 0);
    assert_eq!(
        next_event(&mut replaying, Duration::from_secs(5)).await,
        Some(first)
    );
    assert_eq!(
        next_event(&mut replaying, Duration::from_millis(150)).await,
        None
    );
    assert_eq!(
        next_event(&mut live, Duration::from_millis(150)).await,
        None
    );

    // The disk catches up: the writer is answered, both streams get it.
    gate.set(false, false);
    assert_eq!(writer.await.unwrap(), Recorded::Stored(second));
    assert_eq!(store.durable_log_head(), second);
    assert_eq!(
        next_event(&mut live, Duration::from_secs(5)).await,
        Some(second)
    );
    assert_eq!(
        next_event(&mut replaying, Duration::from_secs(5)).await,
        Some(second)
    );
    assert!(gate.syncs.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    stop.cancel();
}

/// A failed sync is never retried (after a failed fsync the kernel may have
/// dropped the pages; a second one could succeed without them): the batch's
/// writers get an error, every later write is refused at once, and the
/// store reports why until it is restarted.
#[tokio::test]
async fn sqlite_a_failed_wal_sync_refuses_writes_until_restart() {
    let dir = tempfile::tempdir().unwrap();
    let gate = std::sync::Arc::new(SyncGate::default());
    let store = gated_sqlite_store(&dir, &gate).await;
    let id = new_call(&store, &[]).await;
    gate.set(false, true);
    for view_id in [1, 2] {
        let refused = append_to(&store, &id, view_id).await.expect_err("refused");
        assert!(
            matches!(&refused, StoreError::Unavailable(reason) if reason.contains("restart")),
            "{refused:?}"
        );
        assert!(refused.is_transient());
    }
    // The second write never reached the disk's sync.
    assert_eq!(gate.syncs.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(
        store
            .outage()
            .is_some_and(|reason| reason.contains("synced"))
    );
    assert!(store.ping().await.is_err());
    // A restarted store (the disk now fine) has a consistent log.
    drop(store);
    let restarted = sqlite_store(&dir).await;
    assert!(restarted.ping().await.is_ok());
    assert!(events::head_sequence(restarted.connection()).await.unwrap() <= 1);
    // What was acknowledged before the failure is there.
    assert!(
        calls::load_call(restarted.connection(), &id)
            .await
            .unwrap()
            .is_some()
    );
}
