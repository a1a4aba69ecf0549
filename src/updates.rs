//! The event log reader and the fan-out feeding every stream.
//!
//! One reader task per process tails `call_events` (woken after each local
//! commit, and by PostgreSQL NOTIFY for other replicas' commits) and
//! broadcasts each new event once, in sequence order. Subscribers never poll
//! the database while they keep up:
//!
//! 1. subscribe to the broadcast first, then replay the log after the
//!    client's `after_sequence` (anything committed before the subscription is
//!    in the database; anything after it arrives on the broadcast);
//! 2. tail the broadcast, skipping sequences already delivered;
//! 3. a subscriber that falls behind the broadcast buffer (a slow client) is
//!    told it lagged, and catches up from the log itself: it never holds up
//!    the reader or other subscribers, and never loses an event.
//!
//! No gap, because sequence order is commit order (see `store`); no
//! duplicate, because a subscriber only delivers sequences above the last it
//! delivered.

use std::{sync::Arc, time::Duration};

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::{
    domain::StoredEvent,
    error::Error,
    store::{EventFilter, Store, events},
};

/// Events read from the log per query.
const BATCH: u64 = 500;
/// Items buffered per stream between its task and the gRPC transport.
pub const STREAM_BUFFER: usize = 64;

/// What a subscriber receives.
#[derive(Debug, Clone)]
pub enum StreamItem {
    Event(Arc<StoredEvent>),
    /// Nothing happened for a while; `last_sequence` is the last delivered.
    Heartbeat {
        last_sequence: i64,
    },
}

/// How streams behave (`streams.*` settings).
#[derive(Debug, Clone, Copy)]
pub struct StreamOptions {
    /// Heartbeat on an idle stream.
    pub heartbeat: Duration,
    /// Streams end (resumably) after this long, if set.
    pub max_lifetime: Option<Duration>,
    /// How far (in updates) a subscriber may fall behind the broadcast before
    /// it catches up from the log instead.
    pub buffer: usize,
    /// Safety net: the reader also looks at the log this often, in case a
    /// wake-up was missed.
    pub poll_interval: Duration,
}

#[derive(Clone)]
pub struct Updates {
    store: Store,
    sender: broadcast::Sender<Arc<StoredEvent>>,
    shutdown: CancellationToken,
    options: StreamOptions,
}

impl Updates {
    /// Starts the log reader (and, on PostgreSQL, the listener for other
    /// replicas' commits). `shutdown` ends them and every stream.
    pub async fn start(
        store: Store,
        shutdown: CancellationToken,
        options: StreamOptions,
    ) -> Result<Self, Error> {
        let (sender, _) = broadcast::channel(options.buffer.max(1));
        // Streams replay anything up to the current head from the log; the
        // reader broadcasts what commits after it.
        let head = events::head_sequence(store.connection()).await?;
        let updates = Self {
            store,
            sender,
            shutdown,
            options,
        };
        tokio::spawn(updates.clone().read_log(head));
        if updates.store.is_postgres() {
            let (store, stop) = (updates.store.clone(), updates.shutdown.clone());
            tokio::spawn(async move { store.listen_for_commits(stop).await });
        }
        Ok(updates)
    }

    async fn read_log(self, mut last: i64) {
        let all = EventFilter::default();
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = self.store.committed() => {}
                _ = tokio::time::sleep(self.options.poll_interval) => {}
            }
            loop {
                match events::events_after(self.store.connection(), last, &all, BATCH).await {
                    Ok(batch) => {
                        let full = batch.len() as u64 == BATCH;
                        for event in batch {
                            last = event.sequence;
                            metrics::gauge!("switchboard_log_head_sequence").set(last as f64);
                            // No receivers is fine: nobody is streaming.
                            let _ = self.sender.send(Arc::new(event));
                        }
                        if !full {
                            break;
                        }
                    }
                    Err(error) => {
                        warn!(error = %error, "event log read failed; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        break;
                    }
                }
            }
        }
    }

    /// Starts a subscription delivering events matching `filter` after
    /// `after_sequence`, then live ones, into the returned receiver. The
    /// subscription ends when the receiver is dropped, at shutdown, or after
    /// the configured maximum lifetime (with a resumable error).
    pub fn subscribe(
        &self,
        filter: EventFilter,
        after_sequence: i64,
    ) -> mpsc::Receiver<Result<StreamItem, Error>> {
        let (out, receiver) = mpsc::channel(STREAM_BUFFER);
        // Subscribe before replaying: see the module docs.
        let live = self.sender.subscribe();
        let subscriber = Subscriber {
            updates: self.clone(),
            filter,
            last: after_sequence,
            out,
        };
        tokio::spawn(subscriber.run(live));
        receiver
    }
}

struct Subscriber {
    updates: Updates,
    filter: EventFilter,
    last: i64,
    out: mpsc::Sender<Result<StreamItem, Error>>,
}

/// Why a subscriber stopped delivering.
enum Stop {
    /// The client went away.
    Gone,
    /// We end the stream, telling the client why (resumable).
    End(Error),
}

impl Subscriber {
    async fn run(mut self, mut live: broadcast::Receiver<Arc<StoredEvent>>) {
        metrics::gauge!("switchboard_stream_subscribers").increment(1.0);
        let stop = self.deliver_all(&mut live).await;
        metrics::gauge!("switchboard_stream_subscribers").decrement(1.0);
        if let Stop::End(error) = stop {
            // Best effort: a client that stopped reading does not get it, and
            // must not keep the task (or a draining server) waiting.
            let _ = self.out.try_send(Err(error));
        }
    }

    async fn deliver_all(&mut self, live: &mut broadcast::Receiver<Arc<StoredEvent>>) -> Stop {
        if let Err(stop) = self.catch_up().await {
            return stop;
        }
        let options = self.updates.options;
        let lifetime_end = options
            .max_lifetime
            .map(|d| tokio::time::Instant::now() + d);
        let mut heartbeat = tokio::time::interval_at(
            tokio::time::Instant::now() + options.heartbeat,
            options.heartbeat,
        );
        loop {
            tokio::select! {
                biased;
                _ = self.updates.shutdown.cancelled() => return self.resumable("the server is shutting down"),
                _ = self.out.closed() => return Stop::Gone,
                _ = sleep_until_opt(lifetime_end) => return self.resumable("the stream reached its maximum lifetime"),
                received = live.recv() => match received {
                    Ok(event) => {
                        if event.sequence > self.last && self.filter.matches(&event) {
                            if let Err(stop) = self.send(StreamItem::Event(event.clone())).await {
                                return stop;
                            }
                            self.last = event.sequence;
                            heartbeat.reset();
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        metrics::counter!("switchboard_stream_lagged_total").increment(1);
                        debug!(skipped, last = self.last, "stream lagged behind the broadcast; catching up from the log");
                        if let Err(stop) = self.catch_up().await {
                            return stop;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return self.resumable("the server is shutting down"),
                },
                _ = heartbeat.tick() => {
                    if let Err(stop) = self.send(StreamItem::Heartbeat { last_sequence: self.last }).await {
                        return stop;
                    }
                }
            }
        }
    }

    /// Delivers every matching event of the log after `self.last`.
    async fn catch_up(&mut self) -> Result<(), Stop> {
        loop {
            let batch = events::events_after(
                self.updates.store.connection(),
                self.last,
                &self.filter,
                BATCH,
            )
            .await
            .map_err(|e| {
                warn!(error = %e, "stream replay from the log failed");
                Stop::End(Error::Store(e))
            })?;
            let full = batch.len() as u64 == BATCH;
            for event in batch {
                let sequence = event.sequence;
                self.send(StreamItem::Event(Arc::new(event))).await?;
                self.last = sequence;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Sends one item, waiting while the client is slow, but not past
    /// shutdown.
    async fn send(&self, item: StreamItem) -> Result<(), Stop> {
        tokio::select! {
            sent = self.out.send(Ok(item)) => sent.map_err(|_| Stop::Gone),
            _ = self.updates.shutdown.cancelled() => Err(self.resumable("the server is shutting down")),
        }
    }

    fn resumable(&self, why: &str) -> Stop {
        Stop::End(Error::ShuttingDown(format!(
            "{why}; reconnect with after_sequence={} to resume",
            self.last
        )))
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
