//! The shared pollers behind WatchAgentAvailability.
//!
//! iAdvize has no push, so switchboard polls `GET /operator/live`. One poller
//! runs per distinct filter, however many clients watch it:
//!
//! 1. the first watcher of a filter starts its poller; later ones join it and
//!    get its latest snapshot at once (or the first poll's when none yet);
//! 2. after each poll the poller compares with the previous one and
//!    broadcasts the differences once; it never waits for a watcher: a
//!    watcher that falls further behind than the broadcast buffer skips the
//!    differences it missed and gets the poller's latest snapshot instead
//!    (availability is a state, so a fresh snapshot loses nothing);
//! 3. a retryable failure (iAdvize down, slow, 5xx) is broadcast and polling
//!    goes on; the next good poll sends a full snapshot again. A failure no
//!    retry can fix (bad key, unknown filter value) ends every watcher with
//!    its status and stops the poller;
//! 4. the poller stops as soon as its last watcher leaves, and everything
//!    stops at server shutdown (watchers get a resumable UNAVAILABLE).
//!
//! Each watcher has its own task, which adds heartbeats on idle streams.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::{
    domain::operator::{Availability, AvailabilityChange, OperatorFilter},
    error::Error,
    services::updates::STREAM_BUFFER,
    vendors::{
        VendorError, VendorErrorKind,
        iadvize::{Iadvize, MAX_LIMIT, PageRequest},
    },
};

/// Most pages read per poll (100 operators each): a guard against an answer
/// that never says it is the last page.
const MAX_PAGES: u32 = 100;
/// How long a watcher's final error may wait for room in its stream.
const FINAL_SEND_WAIT: Duration = Duration::from_secs(5);

/// Every operator matching a filter, as of one poll, by operator id.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub observed_at: DateTime<Utc>,
    pub agents: BTreeMap<i64, Availability>,
}

/// One difference between two polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta {
    /// An operator now matches the filter.
    Added(Availability),
    /// An operator no longer matches the filter (its last known state).
    Removed(Availability),
    /// An operator's connection or one of its channels changed.
    Changed(AvailabilityChange),
}

/// What a watcher receives.
#[derive(Debug, Clone)]
pub enum WatchItem {
    Snapshot(Arc<Snapshot>),
    Delta {
        observed_at: DateTime<Utc>,
        delta: Delta,
    },
    /// A poll failed in a way a later poll may not; polling goes on.
    VendorError {
        observed_at: DateTime<Utc>,
        error: VendorError,
    },
    Heartbeat {
        at: DateTime<Utc>,
    },
}

/// What a poller broadcasts after a poll.
#[derive(Debug)]
enum PollEvent {
    Snapshot(Arc<Snapshot>),
    Deltas {
        observed_at: DateTime<Utc>,
        deltas: Vec<Delta>,
    },
    Failed {
        observed_at: DateTime<Utc>,
        error: VendorError,
    },
    /// The poller stopped for good with this error.
    Ended(VendorError),
}

/// Starts, shares and stops the pollers.
#[derive(Clone)]
pub struct AvailabilityWatch {
    hub: Arc<Hub>,
}

struct Hub {
    iadvize: Arc<dyn Iadvize>,
    interval: Duration,
    heartbeat: Duration,
    buffer: usize,
    shutdown: CancellationToken,
    pollers: Mutex<HashMap<OperatorFilter, Arc<Poller>>>,
}

impl Poller {
    /// A receiver of what follows the latest poll, and that poll's result.
    /// Both are read under the poller's lock, so the receiver sees exactly
    /// the differences that follow that snapshot.
    fn subscribe(&self) -> (broadcast::Receiver<Arc<PollEvent>>, Initial) {
        let state = lock(&self.state);
        let live = state.sender.subscribe();
        let initial = match (&state.latest, &state.last_failure) {
            (Some(snapshot), _) => Initial::Snapshot(snapshot.clone()),
            (None, Some(error)) => Initial::Failure(error.clone()),
            (None, None) => Initial::Nothing,
        };
        (live, initial)
    }
}

struct Poller {
    filter: OperatorFilter,
    /// Cancelled when the last watcher leaves.
    stop: CancellationToken,
    state: Mutex<PollerState>,
}

struct PollerState {
    sender: broadcast::Sender<Arc<PollEvent>>,
    /// The last good poll, `None` before the first and after a failure (the
    /// next good poll is then sent whole).
    latest: Option<Arc<Snapshot>>,
    /// The failure of the last poll, for watchers joining during an outage.
    last_failure: Option<VendorError>,
    watchers: usize,
}

/// Locks a mutex, also after a panic elsewhere: the state it guards is
/// replaced whole at each step, so it is never half-written.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AvailabilityWatch {
    /// `interval`: between polls; `heartbeat`: on idle streams; `buffer`:
    /// poll results a watcher may fall behind by; `shutdown` ends everything.
    pub fn new(
        iadvize: Arc<dyn Iadvize>,
        interval: Duration,
        heartbeat: Duration,
        buffer: usize,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            hub: Arc::new(Hub {
                iadvize,
                interval,
                heartbeat,
                buffer: buffer.max(1),
                shutdown,
                pollers: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Watches the operators matching `filter` (normalised by the caller).
    /// The watch ends when the receiver is dropped, at shutdown, or with an
    /// error no retry can fix.
    pub fn watch(&self, filter: OperatorFilter) -> mpsc::Receiver<Result<WatchItem, Error>> {
        let (out, receiver) = mpsc::channel(STREAM_BUFFER);
        let (poller, live, initial) = self.hub.join(filter);
        let watcher = Watcher {
            membership: Membership {
                hub: self.hub.clone(),
                poller,
            },
            out,
        };
        tokio::spawn(watcher.run(live, initial));
        receiver
    }

    /// Pollers running now (one per distinct watched filter).
    pub fn pollers(&self) -> usize {
        lock(&self.hub.pollers).len()
    }
}

/// What a joining watcher starts with.
enum Initial {
    Snapshot(Arc<Snapshot>),
    Failure(VendorError),
    Nothing,
}

impl Hub {
    /// Joins (or starts) the poller of `filter`. Subscribing and reading the
    /// latest snapshot happen under the poller's lock, so the watcher sees
    /// exactly the differences that follow that snapshot.
    fn join(
        self: &Arc<Self>,
        filter: OperatorFilter,
    ) -> (Arc<Poller>, broadcast::Receiver<Arc<PollEvent>>, Initial) {
        let mut pollers = lock(&self.pollers);
        let poller = match pollers.get(&filter) {
            Some(poller) => poller.clone(),
            None => {
                let (sender, _) = broadcast::channel(self.buffer);
                let poller = Arc::new(Poller {
                    filter: filter.clone(),
                    stop: self.shutdown.child_token(),
                    state: Mutex::new(PollerState {
                        sender,
                        latest: None,
                        last_failure: None,
                        watchers: 0,
                    }),
                });
                pollers.insert(filter, poller.clone());
                metrics::gauge!("switchboard_availability_pollers").set(pollers.len() as f64);
                debug!(filter = ?poller.filter, "availability poller starting");
                tokio::spawn(self.clone().poll_until_stopped(poller.clone()));
                poller
            }
        };
        lock(&poller.state).watchers += 1;
        let (live, initial) = poller.subscribe();
        (poller, live, initial)
    }

    /// A watcher left: the last one stops the poller.
    fn leave(&self, poller: &Arc<Poller>) {
        let mut pollers = lock(&self.pollers);
        let mut state = lock(&poller.state);
        state.watchers = state.watchers.saturating_sub(1);
        if state.watchers == 0 {
            poller.stop.cancel();
            // Only if still registered: a poller that ended on an error was
            // removed already, and a new one may hold its place.
            if pollers
                .get(&poller.filter)
                .is_some_and(|p| Arc::ptr_eq(p, poller))
            {
                pollers.remove(&poller.filter);
            }
            metrics::gauge!("switchboard_availability_pollers").set(pollers.len() as f64);
            debug!(filter = ?poller.filter, "last watcher left; availability poller stopping");
        }
    }

    async fn poll_until_stopped(self: Arc<Self>, poller: Arc<Poller>) {
        let mut tick = tokio::time::interval(self.interval);
        // A slow poll delays the next one rather than causing a burst.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = poller.stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let result = tokio::select! {
                _ = poller.stop.cancelled() => return,
                result = poll_all(self.iadvize.as_ref(), &poller.filter) => result,
            };
            let observed_at = Utc::now();
            match result {
                Ok(agents) => {
                    metrics::counter!("switchboard_availability_polls_total", "outcome" => "ok")
                        .increment(1);
                    poller.record(Snapshot {
                        observed_at,
                        agents,
                    });
                }
                Err(error) if retryable(&error) => {
                    metrics::counter!("switchboard_availability_polls_total", "outcome" => "failed")
                        .increment(1);
                    warn!(filter = ?poller.filter, error = %error, "availability poll failed; polling goes on");
                    let mut state = lock(&poller.state);
                    state.latest = None;
                    state.last_failure = Some(error.clone());
                    let _ = state
                        .sender
                        .send(Arc::new(PollEvent::Failed { observed_at, error }));
                }
                Err(error) => {
                    metrics::counter!("switchboard_availability_polls_total", "outcome" => "ended")
                        .increment(1);
                    info!(filter = ?poller.filter, error = %error, "availability poll refused; ending its watches");
                    self.end(&poller, error);
                    return;
                }
            }
        }
    }

    /// Stops a poller for good: unregistered first, so that new watchers
    /// start afresh, then its watchers are told why.
    fn end(&self, poller: &Arc<Poller>, error: VendorError) {
        let mut pollers = lock(&self.pollers);
        if pollers
            .get(&poller.filter)
            .is_some_and(|p| Arc::ptr_eq(p, poller))
        {
            pollers.remove(&poller.filter);
        }
        metrics::gauge!("switchboard_availability_pollers").set(pollers.len() as f64);
        drop(pollers);
        let state = lock(&poller.state);
        let _ = state.sender.send(Arc::new(PollEvent::Ended(error)));
    }
}

impl Poller {
    /// Keeps a good poll and broadcasts what it changed (everything, when
    /// there is no previous poll to compare with).
    fn record(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        let mut state = lock(&self.state);
        let event = match &state.latest {
            None => Some(PollEvent::Snapshot(snapshot.clone())),
            Some(previous) => {
                let deltas = diff(&previous.agents, &snapshot.agents);
                (!deltas.is_empty()).then_some(PollEvent::Deltas {
                    observed_at: snapshot.observed_at,
                    deltas,
                })
            }
        };
        state.latest = Some(snapshot);
        state.last_failure = None;
        if let Some(event) = event {
            // No receiver is fine: the last watcher is leaving.
            let _ = state.sender.send(Arc::new(event));
        }
    }
}

/// Whether polling again may help: iAdvize down, slow or confused. Refusals
/// (bad key, unknown filter value, bad request) will not change by waiting.
fn retryable(error: &VendorError) -> bool {
    match error.kind {
        VendorErrorKind::Unavailable
        | VendorErrorKind::OutcomeUnknown
        | VendorErrorKind::BadResponse
        | VendorErrorKind::CircuitOpen
        | VendorErrorKind::RateLimited => true,
        VendorErrorKind::InvalidArgument
        | VendorErrorKind::NotFound
        | VendorErrorKind::PermissionDenied
        | VendorErrorKind::Misconfigured
        | VendorErrorKind::Refused => false,
    }
}

/// Reads every page of `/operator/live` for `filter`.
async fn poll_all(
    iadvize: &dyn Iadvize,
    filter: &OperatorFilter,
) -> Result<BTreeMap<i64, Availability>, VendorError> {
    let mut agents = BTreeMap::new();
    let mut page = 1;
    loop {
        let listed = iadvize
            .list_availability(
                filter,
                PageRequest {
                    page,
                    limit: MAX_LIMIT,
                },
            )
            .await?;
        // An operator seen twice (the list moved between pages) counts once,
        // with its later state.
        for agent in listed.items {
            agents.insert(agent.operator_id, agent);
        }
        match listed.next_page {
            Some(next) if next > page && next <= MAX_PAGES => page = next,
            Some(next) if next > MAX_PAGES => {
                warn!(
                    pages = MAX_PAGES,
                    "operator/live has more pages than a poll reads; the rest is left out"
                );
                return Ok(agents);
            }
            _ => return Ok(agents),
        }
    }
}

/// The differences from `before` to `after`, by operator id: additions,
/// removals, then per operator connection and channel changes.
pub fn diff(
    before: &BTreeMap<i64, Availability>,
    after: &BTreeMap<i64, Availability>,
) -> Vec<Delta> {
    let mut deltas = Vec::new();
    for (id, now) in after {
        match before.get(id) {
            None => deltas.push(Delta::Added(*now)),
            Some(then) => deltas.extend(then.changes_to(now).into_iter().map(Delta::Changed)),
        }
    }
    for (id, then) in before {
        if !after.contains_key(id) {
            deltas.push(Delta::Removed(*then));
        }
    }
    deltas.sort_by_key(|delta| match delta {
        Delta::Added(a) | Delta::Removed(a) => a.operator_id,
        Delta::Changed(
            AvailabilityChange::Connection { operator_id, .. }
            | AvailabilityChange::Channel { operator_id, .. },
        ) => *operator_id,
    });
    deltas
}

/// A watcher's place in its poller; leaving happens on drop, however the
/// watcher ends.
struct Membership {
    hub: Arc<Hub>,
    poller: Arc<Poller>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.hub.leave(&self.poller);
    }
}

struct Watcher {
    membership: Membership,
    out: mpsc::Sender<Result<WatchItem, Error>>,
}

/// Why a watcher stopped.
enum Stop {
    /// The client went away.
    Gone,
    /// We end the stream with this error.
    End(Error),
    /// The server is shutting down.
    Shutdown,
}

impl Watcher {
    async fn run(self, mut live: broadcast::Receiver<Arc<PollEvent>>, initial: Initial) {
        metrics::gauge!("switchboard_availability_watchers").increment(1.0);
        let stop = self.deliver(&mut live, initial).await;
        metrics::gauge!("switchboard_availability_watchers").decrement(1.0);
        match stop {
            Stop::Gone => {}
            Stop::Shutdown => {
                // Best effort: a draining server waits for nobody.
                let _ = self.out.try_send(Err(Error::ShuttingDown(
                    "the server is shutting down; reconnect to watch again (the first message is a fresh snapshot)".to_owned(),
                )));
            }
            Stop::End(error) => {
                let shutdown = self.membership.hub.shutdown.clone();
                tokio::select! {
                    _ = self.out.send(Err(error)) => {}
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(FINAL_SEND_WAIT) => {}
                }
            }
        }
    }

    /// Sends what a (re)joining watcher starts with; returns whether the
    /// watcher now holds a snapshot to apply differences to.
    async fn start_from(&self, initial: Initial) -> Result<bool, Stop> {
        match initial {
            Initial::Snapshot(snapshot) => {
                self.send(WatchItem::Snapshot(snapshot)).await?;
                Ok(true)
            }
            Initial::Failure(error) => {
                // An error is dated when it is sent (see the contract).
                let observed_at = Utc::now();
                self.send(WatchItem::VendorError { observed_at, error })
                    .await?;
                Ok(false)
            }
            Initial::Nothing => Ok(false),
        }
    }

    async fn deliver(
        &self,
        live: &mut broadcast::Receiver<Arc<PollEvent>>,
        initial: Initial,
    ) -> Stop {
        let hub = &self.membership.hub;
        // Differences only make sense on top of a snapshot.
        let mut synced = match self.start_from(initial).await {
            Ok(synced) => synced,
            Err(stop) => return stop,
        };
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + hub.heartbeat, hub.heartbeat);
        loop {
            let sent = tokio::select! {
                biased;
                _ = hub.shutdown.cancelled() => return Stop::Shutdown,
                _ = self.out.closed() => return Stop::Gone,
                received = live.recv() => match received {
                    Ok(event) => match event.as_ref() {
                        PollEvent::Snapshot(snapshot) => {
                            synced = true;
                            self.send(WatchItem::Snapshot(snapshot.clone())).await
                        }
                        PollEvent::Deltas { observed_at, deltas } if synced => {
                            let mut result = Ok(());
                            for delta in deltas {
                                result = self.send(WatchItem::Delta { observed_at: *observed_at, delta: *delta }).await;
                                if result.is_err() {
                                    break;
                                }
                            }
                            result
                        }
                        PollEvent::Deltas { .. } => Ok(()),
                        PollEvent::Failed { observed_at, error } => {
                            synced = false;
                            self.send(WatchItem::VendorError { observed_at: *observed_at, error: error.clone() }).await
                        }
                        PollEvent::Ended(error) => return Stop::End(Error::Vendor(error.clone())),
                    },
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        // Missed differences are replaced by the latest
                        // snapshot; what follows it arrives on the fresh
                        // receiver.
                        metrics::counter!("switchboard_availability_watch_lagged_total").increment(1);
                        debug!(skipped, "availability watcher fell behind its poller; resynchronising from the latest snapshot");
                        let (fresh, initial) = self.membership.poller.subscribe();
                        *live = fresh;
                        match self.start_from(initial).await {
                            Ok(now_synced) => {
                                synced = now_synced;
                                Ok(())
                            }
                            Err(stop) => Err(stop),
                        }
                    }
                    // The poller is gone without a word: only at shutdown.
                    Err(broadcast::error::RecvError::Closed) => return Stop::Shutdown,
                },
                _ = heartbeat.tick() => self.send(WatchItem::Heartbeat { at: Utc::now() }).await,
            };
            match sent {
                Ok(()) => heartbeat.reset(),
                Err(stop) => return stop,
            }
        }
    }

    /// Sends one item, waiting while the client is slow, but not past
    /// shutdown.
    async fn send(&self, item: WatchItem) -> Result<(), Stop> {
        tokio::select! {
            sent = self.out.send(Ok(item)) => sent.map_err(|_| Stop::Gone),
            _ = self.membership.hub.shutdown.cancelled() => Err(Stop::Shutdown),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::{
        domain::{
            Provider,
            operator::{
                GroupFields, OdigoCall, OdigoConversation, Operator, OperatorFields, OperatorGroup,
                OperatorProfile, OperatorStatistics, SetAvailability, Skill, SkillFields,
                SkillFilter,
            },
        },
        vendors::iadvize::Listed,
    };

    /// Answers /operator/live with operator 1, whose chat slot count goes up
    /// by one at every poll; counts the polls.
    #[derive(Default)]
    struct Ticking {
        polls: AtomicUsize,
        slots: AtomicI32,
    }

    fn nothing<T>() -> Result<T, VendorError> {
        Err(VendorError::unavailable(
            Provider::Iadvize,
            "not in this test",
        ))
    }

    #[async_trait]
    impl Iadvize for Ticking {
        async fn list_availability(
            &self,
            _: &OperatorFilter,
            _: PageRequest,
        ) -> Result<Listed<Availability>, VendorError> {
            self.polls.fetch_add(1, Ordering::SeqCst);
            let mut agent = Availability {
                operator_id: 1,
                connected: true,
                ..Default::default()
            };
            agent.chat.slot_number = self.slots.fetch_add(1, Ordering::SeqCst);
            Ok(Listed {
                items: vec![agent],
                next_page: None,
                total_size: None,
            })
        }
        async fn list_operators(
            &self,
            _: &OperatorFilter,
            _: bool,
            _: PageRequest,
        ) -> Result<Listed<Operator>, VendorError> {
            nothing()
        }
        async fn get_operator(&self, _: i64) -> Result<Operator, VendorError> {
            nothing()
        }
        async fn create_operator(&self, _: &OperatorFields) -> Result<Operator, VendorError> {
            nothing()
        }
        async fn update_operator(
            &self,
            _: i64,
            _: &OperatorFields,
        ) -> Result<Operator, VendorError> {
            nothing()
        }
        async fn delete_operator(&self, _: i64) -> Result<(), VendorError> {
            nothing()
        }
        async fn get_availability(&self, _: i64) -> Result<Availability, VendorError> {
            nothing()
        }
        async fn set_availability(
            &self,
            _: i64,
            _: &SetAvailability,
        ) -> Result<String, VendorError> {
            nothing()
        }
        async fn operator_statistics(&self, _: i64) -> Result<OperatorStatistics, VendorError> {
            nothing()
        }
        async fn operator_profile(&self, _: i64) -> Result<OperatorProfile, VendorError> {
            nothing()
        }
        async fn list_groups(
            &self,
            _: Option<i64>,
            _: PageRequest,
        ) -> Result<Listed<OperatorGroup>, VendorError> {
            nothing()
        }
        async fn get_group(&self, _: i64) -> Result<OperatorGroup, VendorError> {
            nothing()
        }
        async fn create_group(&self, _: &GroupFields) -> Result<OperatorGroup, VendorError> {
            nothing()
        }
        async fn update_group(
            &self,
            _: i64,
            _: &GroupFields,
        ) -> Result<OperatorGroup, VendorError> {
            nothing()
        }
        async fn delete_group(&self, _: i64) -> Result<(), VendorError> {
            nothing()
        }
        async fn list_skills(
            &self,
            _: &SkillFilter,
            _: PageRequest,
        ) -> Result<Listed<Skill>, VendorError> {
            nothing()
        }
        async fn get_skill(&self, _: i64) -> Result<Skill, VendorError> {
            nothing()
        }
        async fn create_skill(&self, _: &SkillFields) -> Result<Skill, VendorError> {
            nothing()
        }
        async fn update_skill(&self, _: i64, _: &SkillFields) -> Result<Skill, VendorError> {
            nothing()
        }
        async fn delete_skill(&self, _: i64) -> Result<(), VendorError> {
            nothing()
        }
        async fn odigo_pickup(&self, _: &OdigoCall) -> Result<OdigoConversation, VendorError> {
            nothing()
        }
        async fn odigo_hangup(&self, _: &OdigoCall) -> Result<(), VendorError> {
            nothing()
        }
    }

    fn hub(iadvize: Arc<Ticking>, buffer: usize) -> AvailabilityWatch {
        AvailabilityWatch::new(
            iadvize,
            Duration::from_millis(5),
            Duration::from_secs(60),
            buffer,
            CancellationToken::new(),
        )
    }

    async fn next(receiver: &mut mpsc::Receiver<Result<WatchItem, Error>>) -> WatchItem {
        tokio::time::timeout(Duration::from_secs(5), receiver.recv())
            .await
            .expect("an item in time")
            .expect("stream open")
            .expect("no error")
    }

    #[tokio::test]
    async fn a_watcher_that_falls_behind_resynchronises_without_holding_up_others() {
        let iadvize = Arc::new(Ticking::default());
        let watch = hub(iadvize.clone(), 16);
        let mut slow = watch.watch(OperatorFilter::default());
        let mut fast = watch.watch(OperatorFilter::default());
        // The fast watcher sees every poll while the slow one reads nothing,
        // well past its stream buffer plus the broadcast buffer.
        let mut last_slots = None;
        let mut seen = 0;
        while seen < STREAM_BUFFER + 60 {
            match next(&mut fast).await {
                WatchItem::Snapshot(_) => {}
                WatchItem::Delta {
                    delta: Delta::Changed(AvailabilityChange::Channel { before, after, .. }),
                    ..
                } => {
                    if let Some(last) = last_slots {
                        assert_eq!(before.slot_number, last, "no poll skipped");
                    }
                    last_slots = Some(after.slot_number);
                    seen += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // The slow one gets what fitted in its buffer, then, having missed
        // polls, a fresh snapshot; the differences after it chain on it with
        // no poll skipped.
        let slots = |snapshot: &Snapshot| snapshot.agents[&1].chat.slot_number;
        let mut snapshots = 0;
        let mut last = None;
        while snapshots < 2 {
            if let WatchItem::Snapshot(snapshot) = next(&mut slow).await {
                snapshots += 1;
                last = Some(slots(&snapshot));
            }
        }
        for _ in 0..5 {
            match next(&mut slow).await {
                WatchItem::Delta {
                    delta: Delta::Changed(AvailabilityChange::Channel { before, after, .. }),
                    ..
                } => {
                    assert_eq!(
                        Some(before.slot_number),
                        last,
                        "chains on the fresh snapshot"
                    );
                    last = Some(after.slot_number);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(watch.pollers(), 1, "one poller for both");
    }

    #[tokio::test]
    async fn watchers_of_one_filter_share_a_poller_that_stops_with_the_last() {
        let iadvize = Arc::new(Ticking::default());
        let watch = hub(iadvize.clone(), 64);
        let mut first = watch.watch(OperatorFilter::default());
        let mut second = watch.watch(OperatorFilter::default());
        let other = watch.watch(OperatorFilter {
            group_id: Some(3),
            ..Default::default()
        });
        assert_eq!(watch.pollers(), 2);
        for receiver in [&mut first, &mut second] {
            assert!(matches!(next(receiver).await, WatchItem::Snapshot(_)));
        }
        drop(other);
        drop(first);
        drop(second);
        // Watchers leave when their task notices the closed stream.
        tokio::time::timeout(Duration::from_secs(5), async {
            while watch.pollers() > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("pollers stop once nobody watches");
        let polls = iadvize.polls.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            iadvize.polls.load(Ordering::SeqCst) <= polls + 1,
            "at most one poll in flight after the stop"
        );
    }

    #[test]
    fn diff_orders_by_operator() {
        let agent = |id: i64, connected: bool| Availability {
            operator_id: id,
            connected,
            ..Default::default()
        };
        let before: BTreeMap<_, _> = [(1, agent(1, true)), (3, agent(3, true))].into();
        let after: BTreeMap<_, _> = [(2, agent(2, true)), (3, agent(3, false))].into();
        let deltas = diff(&before, &after);
        assert_eq!(
            deltas,
            [
                Delta::Removed(agent(1, true)),
                Delta::Added(agent(2, true)),
                Delta::Changed(AvailabilityChange::Connection {
                    operator_id: 3,
                    before: true,
                    after: false
                }),
            ]
        );
    }
}
