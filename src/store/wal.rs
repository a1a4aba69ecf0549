//! Durability of SQLite commits outside the write lock: the committer
//! commits with `synchronous=NORMAL` (SQLite writes the WAL frames but does
//! not fsync them) and this module's sync thread makes the WAL durable with
//! `fdatasync` while the committer already runs the next batch. Writers are
//! answered, and the batch's events handed to the log tail, only after the
//! sync that covers their commit: nothing is acknowledged before it is on
//! disk, exactly as with `synchronous=FULL`.
//!
//! Why: with `FULL`, SQLite syncs inside COMMIT, holding the one write lock,
//! so every batch waited for its fsync and the server's core sat idle
//! meanwhile (about a fifth of it at 32 webhook senders; `perf`). Here the
//! fsync of batch k overlaps the SQL of batch k+1, and batches committed
//! during one fsync share the next.
//!
//! What changes for readers: a committed batch is visible to other
//! connections before its sync. The event log must never show a sequence
//! that a power loss could give to another event, so log readers (stream
//! replays, the tail) keep only sequences up to [`DurableHead`]. Other reads
//! may see a write a moment before it is durable; its writer has not been
//! answered yet, and an unanswered write is retried by its sender
//! (webhooks are re-delivered, RPCs are retried and idempotent).
//!
//! The sync is done on our own descriptor of `<database>-wal`. SQLite
//! deletes that file only when its last connection closes, after a full
//! checkpoint into the (synced) database file; and it never re-links a
//! deleted file. So after each `fdatasync` the path is checked to still name
//! the file synced: if it names another (the WAL was deleted and made
//! again), that one is opened, its directory synced, and synced too; if it
//! names none, everything was checkpointed. SQLite offers no call to sync
//! the WAL alone (a checkpoint would also copy every page into the database
//! file), hence this.

use std::{
    fs::File,
    io,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Committed, Feed, Job, StoreError};

/// The highest sequence of the log known to be durable, for log readers.
/// `i64::MAX` until this process first commits events: everything committed
/// before was synced at start-up.
#[derive(Clone, Debug)]
pub struct DurableHead(Arc<AtomicI64>);

impl DurableHead {
    pub(super) fn new() -> Self {
        Self(Arc::new(AtomicI64::new(i64::MAX)))
    }

    /// The current value. A reader loads it *after* its query: a sequence
    /// it read at or below the value is durable.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Acquire)
    }

    /// Before the first commit of events by this process: the head it
    /// started from (read under the write lock) is durable.
    pub(super) fn start_at(&self, head: i64) {
        let _ = self
            .0
            .compare_exchange(i64::MAX, head, Ordering::AcqRel, Ordering::Acquire);
    }

    fn advance(&self, to: i64) {
        self.0.fetch_max(to, Ordering::AcqRel);
    }
}

/// A file to be made durable, by path: SQLite's WAL.
struct WalFile {
    path: PathBuf,
    /// The file open, with its device and inode.
    open: Option<(File, (u64, u64))>,
}

impl WalFile {
    /// Makes every write to the WAL so far durable (see the module docs).
    fn sync(&mut self) -> io::Result<()> {
        // Each turn either returns or finds a newer file at the path; more
        // than a few in one sync means something else keeps replacing it.
        for _ in 0..8 {
            if self.open.is_none() {
                match File::open(&self.path) {
                    Ok(file) => {
                        let meta = file.metadata()?;
                        // A new WAL's directory entry must survive too.
                        sync_parent(&self.path)?;
                        self.open = Some((file, (meta.dev(), meta.ino())));
                    }
                    // No WAL: every commit was checkpointed into the
                    // database file, which SQLite synced.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            let Some((file, synced)) = &self.open else {
                continue;
            };
            file.sync_data()?;
            match std::fs::metadata(&self.path) {
                Ok(meta) if (meta.dev(), meta.ino()) == *synced => return Ok(()),
                // Replaced since it was opened: sync the new one too.
                Ok(_) => self.open = None,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.open = None;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(
            "the WAL file kept being replaced while it was synced",
        ))
    }
}

fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

/// Called on the sync thread before each sync; an error fails the sync as
/// a failed `fdatasync` would (tests hold it to play a slow disk, or fail
/// it).
pub type SyncHook = Arc<dyn Fn() -> io::Result<()> + Send + Sync>;

/// A committed batch waiting for the sync that makes it durable.
pub(super) struct Unsynced {
    pub(super) jobs: Vec<Box<dyn Job>>,
    pub(super) committed: Option<Committed>,
}

/// Batches a sync may fall behind the committer before the committer waits
/// (each holds its writers, who wait anyway).
const MAX_UNSYNCED: usize = 64;

/// Longest a sync waits for the batch the committer is running, to cover
/// it too (see [`run`]).
const MAX_COALESCE: Duration = Duration::from_millis(2);

/// The sync thread's handle.
pub(super) struct Syncer {
    queue: std::sync::mpsc::Sender<(Unsynced, OwnedSemaphorePermit)>,
    /// Bounds the batches handed over and not yet answered.
    room: Arc<Semaphore>,
    /// Whether the committer is running a batch.
    committing: Arc<AtomicBool>,
    /// Set for good once a sync failed (see [`run`]).
    failed: Arc<AtomicBool>,
}

impl Syncer {
    /// Syncs `wal` once (so that whatever a previous process committed is
    /// durable before this one reports any of it), then starts the thread.
    pub(super) async fn start(
        wal: PathBuf,
        head: DurableHead,
        feed: Feed,
        outage: Arc<Mutex<Option<String>>>,
        hook: Option<SyncHook>,
        writes_waiting: Box<dyn Fn() -> bool + Send>,
    ) -> Result<Self, StoreError> {
        let mut wal = WalFile {
            path: wal,
            open: None,
        };
        let wal = tokio::task::spawn_blocking(move || wal.sync().map(|()| wal))
            .await
            .map_err(|e| StoreError::Unavailable(format!("the WAL sync did not run: {e}")))?
            .map_err(|e| {
                tracing::error!(error = %e, "cannot sync the SQLite WAL file");
                StoreError::Unavailable(SYNC_FAILED.to_owned())
            })?;
        let (queue, batches) = std::sync::mpsc::channel();
        let failed = Arc::new(AtomicBool::new(false));
        let committing = Arc::new(AtomicBool::new(false));
        let sync = SyncThread {
            wal,
            head,
            feed,
            outage,
            failed: failed.clone(),
            committing: committing.clone(),
            writes_waiting,
            hook,
        };
        std::thread::Builder::new()
            .name("sqlite-wal-sync".to_owned())
            .spawn(move || sync.run(batches))
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot start the WAL sync thread: {e}"))
            })?;
        Ok(Self {
            queue,
            room: Arc::new(Semaphore::new(MAX_UNSYNCED)),
            committing,
            failed,
        })
    }

    /// The committer starts (true) or ends (false) a batch.
    pub(super) fn set_committing(&self, on: bool) {
        self.committing.store(on, Ordering::Release);
    }

    /// Hands a committed batch over; its writers are answered after its
    /// sync. Gives it back if the thread is gone.
    pub(super) async fn hand(&self, batch: Unsynced) -> Result<(), Unsynced> {
        let Ok(permit) = self.room.clone().acquire_owned().await else {
            return Err(batch);
        };
        self.queue.send((batch, permit)).map_err(|e| e.0.0)
    }

    /// Whether a sync failed: from then on writes are refused.
    pub(super) fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }
}

/// What writers and `/readyz` are told once a sync failed. After a failed
/// fsync the kernel may have dropped the pages it could not write, and a
/// second fsync may then succeed without them (PostgreSQL stops for the
/// same reason): only a restart, which recovers the log from what the
/// file really holds, is safe.
pub(super) const SYNC_FAILED: &str =
    "the database file could not be synced to disk; restart switchboard";

/// The sync thread.
struct SyncThread {
    wal: WalFile,
    head: DurableHead,
    feed: Feed,
    outage: Arc<Mutex<Option<String>>>,
    failed: Arc<AtomicBool>,
    committing: Arc<AtomicBool>,
    /// Whether writes are queued for the committer.
    writes_waiting: Box<dyn Fn() -> bool + Send>,
    hook: Option<SyncHook>,
}

impl SyncThread {
    fn run(mut self, batches: std::sync::mpsc::Receiver<(Unsynced, OwnedSemaphorePermit)>) {
        let sync_seconds = metrics::histogram!("switchboard_log_sync_seconds");
        let mut pending = Vec::new();
        // Ends when the committer (the only sender) is gone, once every
        // batch it handed over is answered.
        while let Ok(first) = batches.recv() {
            pending.push(first);
            let hooked = self.hook.as_ref().map_or(Ok(()), |hook| hook());
            // Whatever else committed meanwhile shares this sync. If the
            // committer is running a batch, or has writes queued for the
            // next, that one too, when it comes soon: a sync costs the core
            // about as much as a batch's SQL (on virtual disks the flush is
            // CPU time), and at low load nothing is queued, so nothing
            // waits.
            while let Ok(more) = batches.try_recv() {
                pending.push(more);
            }
            if (self.committing.load(Ordering::Acquire) || (self.writes_waiting)())
                && let Ok(next) = batches.recv_timeout(MAX_COALESCE)
            {
                pending.push(next);
                while let Ok(more) = batches.try_recv() {
                    pending.push(more);
                }
            }
            let started = Instant::now();
            let synced = if self.failed.load(Ordering::Acquire) {
                Err(None)
            } else {
                hooked.and_then(|()| self.wal.sync()).map_err(Some)
            };
            sync_seconds.record(started.elapsed());
            match synced {
                Ok(()) => self.synced(&mut pending),
                Err(error) => self.failed(&mut pending, error),
            }
        }
    }

    fn synced(&self, pending: &mut Vec<(Unsynced, OwnedSemaphorePermit)>) {
        let top = pending
            .iter()
            .filter_map(|(b, _)| b.committed.as_ref()?.events.last())
            .map(|e| e.sequence)
            .max();
        if let Some(top) = top {
            self.head.advance(top);
        }
        for (batch, _permit) in pending.drain(..) {
            if let Some(committed) = batch.committed {
                self.feed.send(committed);
            }
            for job in batch.jobs {
                job.answer(Ok(()));
            }
        }
    }

    fn failed(
        &self,
        pending: &mut Vec<(Unsynced, OwnedSemaphorePermit)>,
        error: Option<io::Error>,
    ) {
        if let Some(error) = error {
            tracing::error!(error = %error, "cannot sync the SQLite WAL file: writes are refused until switchboard restarts");
            self.failed.store(true, Ordering::Release);
            if let Ok(mut outage) = self.outage.lock() {
                *outage = Some(SYNC_FAILED.to_owned());
            }
        }
        for (batch, _permit) in pending.drain(..) {
            for job in batch.jobs {
                job.answer(Err(StoreError::Unavailable(SYNC_FAILED.to_owned())));
            }
        }
    }
}
