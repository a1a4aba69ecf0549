//! The log tail and the fan-out feeding every StreamCallUpdates stream.
//!
//! One tail task per process publishes every committed event once, in
//! sequence order:
//! - this process's commits arrive from the committer with their events (no
//!   read back), and with the log head their batch started from: when the
//!   tail has published up to that head, nothing can be missing; otherwise
//!   it first reads the gap from the log (another replica's commit whose
//!   NOTIFY has not arrived yet);
//! - other replicas' commits are read from the log when their NOTIFY
//!   arrives, and on a slow safety-net poll.
//!
//! Subscribers are indexed by scope: a stream of one call or one agent is
//! only handed that call's or agent's events; only all-calls streams see
//! every event. Each subscriber has a slot — a queue that is empty (and
//! allocates nothing) while the client keeps up — and a waker; publishing
//! pushes into the matching slots and wakes them. No task, channel or timer
//! is kept per stream: a stream is a `Stream` polled by the transport, and
//! its deadlines (next heartbeat, end of lifetime) are a field of its slot
//! that one clock task looks at for every slot each tick (a tokio timer per
//! stream cost about 120 bytes, a third of what switchboard itself kept per
//! idle stream). So an idle stream costs a few hundred bytes, and a deadline
//! is met within one tick (a tenth of the heartbeat interval, or of the
//! maximum lifetime if shorter; 10 ms to 1 s).
//!
//! A stream:
//! 1. registers its slot first, then replays the log after the client's
//!    `after_sequence` (anything committed before the registration is in the
//!    database; anything after it reaches the slot);
//! 2. then delivers from its slot, skipping sequences already delivered;
//! 3. a slot that fills up (a client that stopped reading) is emptied and
//!    marked lagged; the stream catches up from the log itself, so a slow
//!    client never holds up the tail or other streams, and loses nothing.
//!
//! No gap, because sequence order is commit order (see `store`); no
//! duplicate, because a stream only delivers sequences above the last it
//! delivered.

use std::{
    collections::{HashMap, VecDeque},
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll, Waker},
    time::Duration,
};

use futures::Stream;
use tokio::{
    sync::mpsc,
    time::{Instant, Sleep},
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::{
    domain::StoredEvent,
    error::Error,
    store::{BoxFuture, Committed, EventFilter, Store, StoreResult, events},
};

/// Events read from the log per query.
const BATCH: u64 = 500;
/// How soon a stream reads the log again after the database failed it.
const LOG_RETRY: Duration = Duration::from_millis(500);
/// Items buffered per stream between its task and the gRPC transport (for
/// the streams that still use a task: agent availability watches).
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
    /// How many updates a stream may have waiting for its client before it
    /// catches up from the log instead.
    pub buffer: usize,
    /// Safety net: the tail also looks at the log this often, in case a
    /// wake-up was missed.
    pub poll_interval: Duration,
}

/// The scope a stream is indexed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Scope {
    All,
    Call(String),
    Agent(String),
}

impl Scope {
    fn of(filter: &EventFilter) -> Self {
        match (&filter.call_id, &filter.agent) {
            (Some(call_id), _) => Scope::Call(call_id.as_str().to_owned()),
            (None, Some(agent)) => Scope::Agent(agent.clone()),
            (None, None) => Scope::All,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::Call(_) => "call",
            Scope::Agent(_) => "agent",
        }
    }
}

#[derive(Default)]
struct SlotState {
    /// Published events the stream has not taken yet.
    queue: VecDeque<Arc<StoredEvent>>,
    /// The queue overflowed and was emptied: catch up from the log.
    lagged: bool,
    /// The server is shutting down.
    closed: bool,
    waker: Option<Waker>,
    /// When the parked stream wants polling even if no event comes (its
    /// next heartbeat or the end of its lifetime): the clock wakes it.
    wake_at: Option<Instant>,
}

#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
}

type Members = HashMap<u64, Arc<Slot>>;

#[derive(Default)]
struct Index {
    all: Members,
    calls: HashMap<String, Members>,
    agents: HashMap<String, Members>,
    closed: bool,
    /// The highest sequence handed to the slots (written under this lock,
    /// so a stream registering sees exactly which events it will get).
    published: i64,
}

impl Index {
    /// Every subscriber's slot, whatever its scope.
    fn slots(&self) -> impl Iterator<Item = &Arc<Slot>> {
        self.all
            .values()
            .chain(self.calls.values().flat_map(|m| m.values()))
            .chain(self.agents.values().flat_map(|m| m.values()))
    }

    fn members(&mut self, scope: &Scope) -> Option<&mut Members> {
        match scope {
            Scope::All => Some(&mut self.all),
            Scope::Call(id) => self.calls.get_mut(id),
            Scope::Agent(agent) => self.agents.get_mut(agent),
        }
    }
}

/// The subscribers, by scope.
struct Hub {
    index: Mutex<Index>,
    next_id: AtomicU64,
    /// Per-stream queue bound (`streams.buffer`).
    buffer: usize,
}

impl Hub {
    /// Registers a slot; returns its id, and the highest sequence published
    /// before it: every later one reaches the slot.
    fn register(&self, scope: &Scope) -> (u64, Arc<Slot>, i64) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot::default());
        let mut published = 0;
        if let Ok(mut index) = self.index.lock() {
            published = index.published;
            if index.closed
                && let Ok(mut state) = slot.state.lock()
            {
                state.closed = true;
            }
            let members = match scope {
                Scope::All => &mut index.all,
                Scope::Call(call_id) => index.calls.entry(call_id.clone()).or_default(),
                Scope::Agent(agent) => index.agents.entry(agent.clone()).or_default(),
            };
            members.insert(id, slot.clone());
        }
        (id, slot, published)
    }

    fn unregister(&self, scope: &Scope, id: u64) {
        let Ok(mut index) = self.index.lock() else {
            return;
        };
        let now_empty = match index.members(scope) {
            Some(members) => {
                members.remove(&id);
                members.is_empty()
            }
            None => false,
        };
        if now_empty {
            // Keep no empty map per call or agent that nobody streams.
            match scope {
                Scope::All => {}
                Scope::Call(call_id) => {
                    index.calls.remove(call_id);
                }
                Scope::Agent(agent) => {
                    index.agents.remove(agent);
                }
            }
        }
    }

    /// Hands each event to the streams it matches, in order.
    fn publish(&self, events: &[Arc<StoredEvent>]) {
        let Ok(mut index) = self.index.lock() else {
            return;
        };
        if let Some(last) = events.last() {
            index.published = last.sequence;
        }
        for event in events {
            let call = index.calls.get(event.call_id.as_str());
            let agent = event.agent.as_deref().and_then(|a| index.agents.get(a));
            let targets = index
                .all
                .values()
                .chain(call.into_iter().flat_map(|m| m.values()))
                .chain(agent.into_iter().flat_map(|m| m.values()));
            for slot in targets {
                self.push(slot, event);
            }
        }
    }

    fn push(&self, slot: &Slot, event: &Arc<StoredEvent>) {
        let waker = {
            let Ok(mut state) = slot.state.lock() else {
                return;
            };
            if state.closed || state.lagged {
                return;
            }
            if state.queue.len() >= self.buffer {
                // The client stopped reading: free what waited and let the
                // stream catch up from the log when it reads again.
                state.lagged = true;
                state.queue = VecDeque::new();
            } else {
                state.queue.push_back(event.clone());
            }
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes the parked streams whose deadline is `now` or past.
    fn wake_due(&self, now: Instant) {
        let mut due = Vec::new();
        if let Ok(index) = self.index.lock() {
            for slot in index.slots() {
                if let Ok(mut state) = slot.state.lock()
                    && state.wake_at.is_some_and(|at| at <= now)
                {
                    state.wake_at = None;
                    due.extend(state.waker.take());
                }
            }
        }
        for waker in due {
            waker.wake();
        }
    }

    /// Ends every stream, now and to come.
    fn close(&self) {
        let Ok(mut index) = self.index.lock() else {
            return;
        };
        index.closed = true;
        for slot in index.slots() {
            let waker = slot.state.lock().ok().and_then(|mut state| {
                state.closed = true;
                state.waker.take()
            });
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

struct Shared {
    store: Store,
    hub: Hub,
    options: StreamOptions,
    delivery_lag: metrics::Histogram,
}

/// The log tail and its subscribers. Cheap to clone.
#[derive(Clone)]
pub struct Updates {
    shared: Arc<Shared>,
}

impl Updates {
    /// Starts the log tail (and, on PostgreSQL, the listener for other
    /// replicas' commits). `shutdown` ends them and every stream.
    pub async fn start(
        store: Store,
        shutdown: CancellationToken,
        options: StreamOptions,
    ) -> Result<Self, Error> {
        // Attach first, then read the head: a commit before the head read is
        // at or below it (streams replay it from the log), one after it
        // reaches the feed.
        let (feed, local) = mpsc::unbounded_channel();
        store.attach_feed(feed);
        // Read before the durable head: the head may hold sequences that are
        // not durable yet, and those reach the feed once they are.
        let head = events::head_sequence(store.connection())
            .await?
            .min(store.durable_log_head());
        let shared = Arc::new(Shared {
            hub: Hub {
                index: Mutex::new(Index {
                    published: head,
                    ..Index::default()
                }),
                next_id: AtomicU64::new(0),
                buffer: options.buffer.max(1),
            },
            store,
            options,
            delivery_lag: metrics::histogram!("switchboard_stream_delivery_seconds"),
        });
        tokio::spawn(
            Tail {
                shared: shared.clone(),
                last: head,
            }
            .run(local, shutdown.clone()),
        );
        tokio::spawn(clock(shared.clone(), shutdown.clone()));
        if shared.store.is_postgres() {
            let (store, stop) = (shared.store.clone(), shutdown);
            tokio::spawn(async move { store.listen_for_commits(stop).await });
        }
        Ok(Self { shared })
    }

    /// A stream of the events matching `filter` after `after_sequence`, then
    /// of live ones. It ends when dropped, at shutdown, or after the
    /// configured maximum lifetime (with a resumable error).
    pub fn subscribe(&self, filter: EventFilter, after_sequence: i64) -> Subscription {
        let scope = Scope::of(&filter);
        let (id, slot, published) = self.shared.hub.register(&scope);
        metrics::gauge!("switchboard_streams_open", "scope" => scope.label()).increment(1.0);
        let options = self.shared.options;
        let now = Instant::now();
        let lifetime_end = options.max_lifetime.map(|d| now + d);
        let mut subscription = Subscription {
            shared: self.shared.clone(),
            id,
            scope,
            slot,
            filter,
            last: after_sequence,
            state: State::Live,
            heartbeat_due: now + options.heartbeat,
            lifetime_end,
            done: false,
        };
        // Subscribed: now replay (see the module docs) — unless the client
        // has seen everything published so far: then the slot brings it
        // all, and a stream resuming live costs no query (nor the memory of
        // one waiting for a connection, when thousands reconnect at once).
        if after_sequence < published {
            subscription.state = subscription.catch_up();
        }
        subscription
    }
}

/// How often the clock looks at the streams' deadlines: a tenth of the
/// shortest of them, between 10 ms and 1 s.
fn clock_tick(options: &StreamOptions) -> Duration {
    let shortest = options.max_lifetime.map_or(options.heartbeat, |lifetime| {
        lifetime.min(options.heartbeat)
    });
    (shortest / 10).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Wakes parked streams at their deadlines (see the module docs), until
/// `shutdown`.
async fn clock(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(clock_tick(&shared.options));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => shared.hub.wake_due(Instant::now()),
        }
    }
}

/// The tail task (see the module docs).
struct Tail {
    shared: Arc<Shared>,
    /// The highest sequence published.
    last: i64,
}

impl Tail {
    async fn run(
        mut self,
        mut local: mpsc::UnboundedReceiver<Committed>,
        shutdown: CancellationToken,
    ) {
        let mut poll = tokio::time::interval(self.shared.options.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batches = Vec::new();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                received = local.recv_many(&mut batches, 64) => {
                    if received == 0 {
                        break;
                    }
                    for committed in batches.drain(..) {
                        if committed.prev_head > self.last
                            && !self.read_log(Some(committed.prev_head), &shutdown).await
                        {
                            break;
                        }
                        let fresh = committed.events.partition_point(|e| e.sequence <= self.last);
                        self.publish(&committed.events[fresh..]);
                    }
                }
                _ = self.shared.store.remote_commit() => {
                    self.read_log(None, &shutdown).await;
                }
                _ = poll.tick() => {
                    self.read_log(None, &shutdown).await;
                }
            }
        }
        self.shared.hub.close();
    }

    fn publish(&mut self, events: &[Arc<StoredEvent>]) {
        if let Some(last) = events.last() {
            self.shared.hub.publish(events);
            self.last = last.sequence;
        }
    }

    /// Publishes what the log holds after `last` (up to `until`, which must
    /// then be reached: the gap before a local batch is retried until read
    /// or shutdown). Returns false at shutdown.
    async fn read_log(&mut self, until: Option<i64>, shutdown: &CancellationToken) -> bool {
        let all = EventFilter::default();
        loop {
            let read = events::events_between(
                self.shared.store.connection(),
                self.last,
                until,
                &all,
                BATCH,
            )
            .await;
            match read {
                Ok(mut batch) => {
                    let full = batch.len() as u64 == BATCH;
                    // What is not durable yet comes from the committer once
                    // it is.
                    let durable = durable_only(&mut batch, self.shared.store.durable_log_head());
                    let batch: Vec<_> = batch.into_iter().map(Arc::new).collect();
                    self.publish(&batch);
                    if !full || !durable {
                        return true;
                    }
                }
                Err(error) => {
                    warn!(error = %error, "event log read failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return false,
                        _ = tokio::time::sleep(LOG_RETRY) => {}
                    }
                    if until.is_none() {
                        return true;
                    }
                }
            }
        }
    }
}

/// Drops the events above `durable` (the log's durable head, loaded after
/// the read that gave `events`, which are in sequence order); returns
/// whether none was dropped.
fn durable_only(events: &mut Vec<StoredEvent>, durable: i64) -> bool {
    let keep = events.partition_point(|e| e.sequence <= durable);
    let all = keep == events.len();
    events.truncate(keep);
    all
}

enum State {
    /// Reading the log after `last`.
    CatchUp(BoxFuture<'static, StoreResult<Vec<StoredEvent>>>),
    /// Delivering what the log read gave; `full` means read again after.
    Replaying {
        events: std::vec::IntoIter<StoredEvent>,
        full: bool,
    },
    /// Delivering from the slot.
    Live,
    /// The log could not be read (the database is unreachable): read again
    /// at this time. The stream stays open meanwhile.
    Retry(Pin<Box<Sleep>>),
}

/// One StreamCallUpdates subscription (see the module docs).
pub struct Subscription {
    shared: Arc<Shared>,
    id: u64,
    scope: Scope,
    slot: Arc<Slot>,
    filter: EventFilter,
    last: i64,
    state: State,
    /// Pushed forward by every delivery (the clock may wake the stream at
    /// an earlier value; it then parks again until this one).
    heartbeat_due: Instant,
    lifetime_end: Option<Instant>,
    done: bool,
}

impl Subscription {
    fn catch_up(&self) -> State {
        let (store, filter, last) = (self.shared.store.clone(), self.filter.clone(), self.last);
        State::CatchUp(Box::pin(async move {
            let mut events = events::events_after(store.connection(), last, &filter, BATCH).await?;
            // Never a sequence that is not durable yet: it reaches the slot
            // once it is (the slot was registered before this read).
            durable_only(&mut events, store.durable_log_head());
            Ok(events)
        }))
    }

    fn resumable(&mut self, why: &str) -> Poll<Option<Result<StreamItem, Error>>> {
        self.done = true;
        Poll::Ready(Some(Err(Error::ShuttingDown(format!(
            "{why}; reconnect with after_sequence={} to resume",
            self.last
        )))))
    }

    fn delivered(&mut self, event: Arc<StoredEvent>) -> Poll<Option<Result<StreamItem, Error>>> {
        self.last = event.sequence;
        self.heartbeat_due = Instant::now() + self.shared.options.heartbeat;
        let lag = (chrono::Utc::now() - event.received_at)
            .to_std()
            .unwrap_or_default();
        self.shared.delivery_lag.record(lag.as_secs_f64());
        Poll::Ready(Some(Ok(StreamItem::Event(event))))
    }
}

impl Stream for Subscription {
    type Item = Result<StreamItem, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match &mut this.state {
                State::CatchUp(read) => match read.as_mut().poll(cx) {
                    Poll::Ready(Ok(batch)) => {
                        let full = batch.len() as u64 == BATCH;
                        this.state = State::Replaying {
                            events: batch.into_iter(),
                            full,
                        };
                    }
                    Poll::Ready(Err(error)) if error.is_transient() => {
                        debug!(error = %error, "stream replay from the log failed; retrying");
                        this.state = State::Retry(Box::pin(tokio::time::sleep(LOG_RETRY)));
                    }
                    Poll::Ready(Err(error)) => {
                        warn!(error = %error, "stream replay from the log failed");
                        this.done = true;
                        return Poll::Ready(Some(Err(Error::Store(error))));
                    }
                    Poll::Pending => break,
                },
                State::Retry(wait) => match wait.as_mut().poll(cx) {
                    Poll::Ready(()) => this.state = this.catch_up(),
                    Poll::Pending => break,
                },
                State::Replaying { events, full } => match events.next() {
                    Some(event) if event.sequence > this.last => {
                        return this.delivered(Arc::new(event));
                    }
                    Some(_) => {}
                    None => {
                        this.state = if *full { this.catch_up() } else { State::Live };
                    }
                },
                State::Live => {
                    let mut lagged = false;
                    let mut next = None;
                    if let Ok(mut state) = this.slot.state.lock() {
                        if state.lagged {
                            state.lagged = false;
                            lagged = true;
                        } else {
                            while let Some(event) = state.queue.pop_front() {
                                if event.sequence > this.last && this.filter.matches(&event) {
                                    next = Some(event);
                                    break;
                                }
                            }
                        }
                    }
                    if let Some(event) = next {
                        return this.delivered(event);
                    }
                    if !lagged {
                        break;
                    }
                    metrics::counter!("switchboard_stream_lagged_total").increment(1);
                    debug!(
                        last = this.last,
                        "stream fell behind; catching up from the log"
                    );
                    this.state = this.catch_up();
                }
            }
        }
        // Nothing to deliver now: a heartbeat, or the end, if due.
        let now = Instant::now();
        if this.lifetime_end.is_some_and(|end| now >= end) {
            return this.resumable("the stream reached its maximum lifetime");
        }
        if now >= this.heartbeat_due {
            this.heartbeat_due = now + this.shared.options.heartbeat;
            return Poll::Ready(Some(Ok(StreamItem::Heartbeat {
                last_sequence: this.last,
            })));
        }
        // Else park until the next event, shutdown, or (the clock) the next
        // deadline.
        let wake_at = this
            .lifetime_end
            .map_or(this.heartbeat_due, |end| end.min(this.heartbeat_due));
        let (closed, waiting) = match this.slot.state.lock() {
            Ok(mut state) => {
                match &state.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => state.waker = Some(cx.waker().clone()),
                }
                state.wake_at = Some(wake_at);
                (state.closed, !state.queue.is_empty() || state.lagged)
            }
            Err(_) => (true, false),
        };
        if closed {
            return this.resumable("the server is shutting down");
        }
        if waiting && matches!(this.state, State::Live) {
            // Published after the look at the slot above and before the
            // waker was in place (another worker thread): poll again.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shared.hub.unregister(&self.scope, self.id);
        metrics::gauge!("switchboard_streams_open", "scope" => self.scope.label()).decrement(1.0);
    }
}
