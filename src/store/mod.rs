//! Persistence: sea-orm over SQLite (default, one file, WAL) or PostgreSQL,
//! with the same code and migrations. Repository functions return domain
//! types; entities stay in this module.
//!
//! ## The write path: group commit
//!
//! Every write is a job handed to [`Store::write`]. One committer task per
//! process runs whatever jobs queued while its previous commit ran, in one
//! transaction with one durable commit, and answers each job only once that
//! commit is on disk. At low load a batch is a single job (no added latency:
//! nothing waits for company unless `database.batch_wait_us` says so); under
//! load the cost of the commit (the fsync) is shared by the whole batch.
//! On SQLite "on disk" is the WAL's sync after COMMIT, done by a sync thread
//! while the next batch runs (`wal`): the batch's writers are answered, and
//! its events reach the tail, once that sync returns.
//!
//! Writers are serialised, which is what makes **sequence order commit
//! order**: a batch takes its `call_events.sequence` values and commits before
//! the next batch can take any, so a reader tailing `sequence > last` never
//! skips a sequence that commits late. It also makes get-or-create of calls by
//! vendor reference race-free across replicas.
//! - On SQLite the committer is the only writer (the file allows one; SQLite
//!   runs with one replica) and begins with `BEGIN IMMEDIATE`.
//! - On PostgreSQL each replica has its committer, and each batch first takes
//!   a transaction-scoped advisory lock: one lock per batch, not per write, so
//!   the cluster's ingest capacity is batches per second × batch size.
//!
//! A job that fails fails alone: the batch is rolled back and run again with
//! a savepoint around each job, so its neighbours commit and only the failing
//! job's caller gets the error. (The first run has no savepoints: they cost
//! two statements a job, and jobs rarely fail.) Jobs are therefore `Fn`, run
//! once or twice, and must only touch the database.
//!
//! After a commit that appended events, the committer hands them, with the
//! log head the batch started from, to the log tail (`crate::services::updates`), which
//! fans them out without reading them back; on PostgreSQL a NOTIFY tells the
//! other replicas, whose tails read the new rows from the log.

pub mod calls;
pub mod dial_stats;
mod entities;
pub mod events;
pub mod idempotency;
pub mod migration;
mod wal;

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, RuntimeErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::Instrument;

pub use calls::{CallFilter, CallPage, CallUpsert, LegEvent, PageCursor};
pub use events::{EventFilter, Recorded, RefAppend};
pub use wal::SyncHook;

use crate::domain::StoredEvent;

/// Key of the PostgreSQL advisory lock that serialises writers (an arbitrary
/// constant: "sw" "bd" in ASCII).
const WRITE_LOCK_KEY: i64 = 0x7377_6264;
/// Key of the advisory lock that serialises migrations of replicas starting
/// together ("sw" "mg").
const MIGRATE_LOCK_KEY: i64 = 0x7377_6d67;
/// The NOTIFY channel announcing committed events to other replicas. The
/// payload is `<replica id>:<highest sequence of the commit>`; listeners
/// skip their own and read the rows from the log.
pub const EVENTS_CHANNEL: &str = "switchboard_events";

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
    /// A vendor reference is already attached to another call.
    #[error("{0}")]
    RefConflict(String),
    /// The committer is gone (the process is shutting down).
    #[error("the database writer has stopped")]
    WriterStopped,
    /// The last write found the database unreachable: writes fail at once
    /// until the next attempt (see `Committer`).
    #[error("the database is unreachable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether retrying later can help (the database is unreachable, full,
    /// read-only for now, or busy), as opposed to a bug or corrupt data.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) => true,
            StoreError::Db(
                DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)),
            ) => match e.as_ref() {
                sea_orm::sqlx::Error::Io(_)
                | sea_orm::sqlx::Error::PoolTimedOut
                | sea_orm::sqlx::Error::PoolClosed
                | sea_orm::sqlx::Error::WorkerCrashed => true,
                sea_orm::sqlx::Error::Database(db) => {
                    db.code().as_deref().is_some_and(transient_code)
                }
                _ => false,
            },
            StoreError::Unavailable(_) | StoreError::WriterStopped => true,
            _ => false,
        }
    }
}

/// SQLite result codes (primary code in the low byte of the extended one):
/// BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN — the file is busy, or
/// cannot be written for now. PostgreSQL SQLSTATEs: connection exceptions
/// (08…), serialization failure and deadlock (40001, 40P01), lock not
/// available (55P03), operator intervention (57P01–57P03: shutdown, crash,
/// cannot connect now), insufficient resources (53…).
fn transient_code(code: &str) -> bool {
    if let Ok(sqlite) = code.parse::<i32>() {
        return matches!(sqlite & 0xff, 5 | 6 | 8 | 10 | 13 | 14);
    }
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03"
        )
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How the committer gathers writes (`database.batch_*` settings).
#[derive(Clone)]
pub struct WriteOptions {
    /// Most jobs in one transaction.
    pub max_batch: usize,
    /// How long a batch may wait for more jobs once it has one (0: none; a
    /// batch is what queued while the previous commit ran).
    pub max_wait: Duration,
    /// Longest wait for a connection (or to open one).
    pub acquire_timeout: Duration,
    /// SQLite: run before each sync of the WAL (fault injection in tests;
    /// `None` in the service).
    pub before_wal_sync: Option<SyncHook>,
}

impl std::fmt::Debug for WriteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteOptions")
            .field("max_batch", &self.max_batch)
            .field("max_wait", &self.max_wait)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("before_wal_sync", &self.before_wal_sync.is_some())
            .finish()
    }
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            max_batch: 512,
            max_wait: Duration::ZERO,
            acquire_timeout: Duration::from_secs(2),
            before_wal_sync: None,
        }
    }
}

/// Events of one commit, for the log tail.
#[derive(Debug)]
pub struct Committed {
    /// The highest sequence in the log before this batch (read under the
    /// writers' lock): the tail has missed nothing if it has published up to
    /// here.
    pub prev_head: i64,
    /// The batch's events, in sequence order.
    pub events: Vec<Arc<StoredEvent>>,
}

/// Where durable commits' events go: the log tail, once it is attached.
/// Shared by the store, the committer and (SQLite) the WAL sync thread,
/// whichever answers a batch's writers.
#[derive(Clone, Default)]
struct Feed(Arc<Mutex<Option<mpsc::UnboundedSender<Committed>>>>);

impl Feed {
    fn attach(&self, tail: mpsc::UnboundedSender<Committed>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(tail);
        }
    }

    fn send(&self, committed: Committed) {
        if let Ok(feed) = self.0.lock()
            && let Some(feed) = feed.as_ref()
        {
            // A closed feed means nobody streams: nothing to do.
            let _ = feed.send(committed);
        }
    }
}

/// What [`Store::pool_status`] reports.
#[derive(Debug, Clone, Copy)]
pub struct PoolStatus {
    /// Connections open (in use or idle).
    pub size: u32,
    pub idle: u32,
    /// `database.max_connections`.
    pub max: u32,
    /// Writes queued for the group committer.
    pub queued_writes: usize,
}

/// The database handle. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    backend: DbBackend,
    /// Jobs for the committer.
    writer: mpsc::Sender<Box<dyn Job>>,
    /// Where committed events go (the log tail, once started).
    feed: Feed,
    /// Signalled when another replica committed (PostgreSQL NOTIFY).
    remote_commits: Arc<Notify>,
    /// Names this process in NOTIFY payloads, so it skips its own.
    replica: Arc<str>,
    /// Why the last write failed for want of a database, while it lasts.
    outage: Arc<Mutex<Option<String>>>,
    /// The highest durable sequence of the log (see `wal`).
    durable: wal::DurableHead,
}

/// What a SQLite connection is for.
#[derive(Clone, Copy, PartialEq)]
enum SqliteRole {
    /// The read pool.
    Reader,
    /// The committer's connection, SQLite syncing in COMMIT (where the WAL
    /// cannot be synced on its own).
    Writer,
    /// The committer's connection, the sync thread syncing after COMMIT
    /// (see `wal`).
    WriterSyncedAfter,
}

/// The connection settings of every SQLite connection.
fn sqlite_options(
    opts: sea_orm::sqlx::sqlite::SqliteConnectOptions,
    role: SqliteRole,
) -> sea_orm::sqlx::sqlite::SqliteConnectOptions {
    use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
    // WAL: readers never block the writer. FULL: a commit is on disk before
    // the event it holds is acknowledged, even on power loss (NORMAL only
    // survives process crashes) — unless the sync thread does that sync
    // (see `wal`).
    let synchronous = match role {
        SqliteRole::WriterSyncedAfter => SqliteSynchronous::Normal,
        SqliteRole::Reader | SqliteRole::Writer => SqliteSynchronous::Full,
    };
    let opts = opts
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .create_if_missing(true)
        // Statement journals (a multi-row INSERT inside a savepoint needs
        // one) in memory: on disk, each batch created, wrote and unlinked a
        // temporary file (seen with `strace -c`: five syscalls per batch).
        // They only serve statement rollback, never durability.
        .pragma("temp_store", "memory");
    if role == SqliteRole::Reader {
        return opts;
    }
    // The writer's page cache at 64 MiB rather than 2: the log's indexes
    // take a random leaf per event (the dedupe key, the call), and leaves
    // that fell out of the cache were read again from the OS at each batch.
    opts.pragma("cache_size", "-65536")
}

/// The WAL file of a SQLite database on disk that is in WAL mode; `None`
/// for PostgreSQL, an in-memory database, or a file SQLite could not put in
/// WAL mode.
async fn wal_path(db: &DatabaseConnection, url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr;
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let options = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    if !std::fs::metadata(file).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mode = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA journal_mode",
        ))
        .await
        .ok()??
        .try_get_by_index::<String>(0)
        .ok()?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "sqlite is not in WAL mode: every commit syncs in place");
        return None;
    }
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    Some(wal.into())
}

impl Store {
    /// Connects (creating the SQLite file if needed) with the default write
    /// batching. Does not migrate.
    pub async fn connect(url: &SecretString, max_connections: u32) -> StoreResult<Self> {
        Self::connect_with(url, max_connections, WriteOptions::default()).await
    }

    /// Connects and starts the committer.
    pub async fn connect_with(
        url: &SecretString,
        max_connections: u32,
        write: WriteOptions,
    ) -> StoreResult<Self> {
        let url = url.expose_secret();
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections)
            .min_connections(1)
            // Short: while the database is unreachable, a request should
            // hear so promptly (webhooks answer 503, RPCs UNAVAILABLE), not
            // wait for the pool to give up.
            .connect_timeout(write.acquire_timeout)
            .acquire_timeout(write.acquire_timeout)
            .sqlx_logging(false)
            // Names our sessions in pg_stat_activity (ignored by SQLite).
            .set_application_name("switchboard")
            .map_sqlx_sqlite_opts(|opts| sqlite_options(opts, SqliteRole::Reader))
            // A local file needs no liveness probe before each use (the
            // probe is a query of its own).
            .map_sqlx_sqlite_pool_opts(|pool| pool.test_before_acquire(false));
        // The committer's own connection: writes never queue behind reads
        // for one, and a connection a failed write may have left mid-
        // transaction is thrown away rather than handed to a reader.
        let mut write_options = options.clone();
        write_options
            .max_connections(1)
            .min_connections(0)
            // No liveness probe before each batch (a round trip of its own):
            // a failed batch replaces the connection instead.
            .test_before_acquire(false)
            .map_sqlx_sqlite_opts(|opts| sqlite_options(opts, SqliteRole::Writer));
        let db = Database::connect(options).await?;
        let backend = db.get_database_backend();
        let max_batch = write.max_batch.max(1);
        // Room for a few batches: beyond that, writers wait to queue
        // (backpressure) rather than piling up in memory.
        let (writer, jobs) = mpsc::channel(max_batch * 4);
        let feed = Feed::default();
        let replica: Arc<str> = Arc::from(uuid::Uuid::new_v4().simple().to_string());
        let outage = Arc::new(Mutex::new(None));
        let durable = wal::DurableHead::new();
        // SQLite with a WAL on disk: commits sync outside the write lock
        // (see `wal`). Otherwise (an in-memory database, a file system
        // without WAL support) SQLite syncs in COMMIT.
        let syncer = match wal_path(&db, url).await {
            Some(path) => {
                write_options.map_sqlx_sqlite_opts(|opts| {
                    sqlite_options(opts, SqliteRole::WriterSyncedAfter)
                });
                Some(
                    wal::Syncer::start(
                        path,
                        durable.clone(),
                        feed.clone(),
                        outage.clone(),
                        write.before_wal_sync.clone(),
                        {
                            let queue = writer.downgrade();
                            Box::new(move || {
                                queue
                                    .upgrade()
                                    .is_some_and(|q| q.capacity() < q.max_capacity())
                            })
                        },
                    )
                    .await?,
                )
            }
            None => None,
        };
        tokio::spawn(
            Committer {
                db: None,
                connect: write_options,
                backend,
                replica: replica.clone(),
                feed: feed.clone(),
                options: WriteOptions { max_batch, ..write },
                outage: outage.clone(),
                down: None,
                syncer,
                durable: durable.clone(),
            }
            .run(jobs),
        );
        Ok(Self {
            replica,
            outage,
            db,
            backend,
            writer,
            feed,
            remote_commits: Arc::new(Notify::new()),
            durable,
        })
    }

    /// Applies pending migrations. On PostgreSQL, replicas starting at the
    /// same moment take turns (a session advisory lock), so no two apply the
    /// same migration.
    pub async fn migrate(&self) -> StoreResult<()> {
        if self.backend != DbBackend::Postgres {
            migration::Migrator::up(&self.db, None).await?;
            return Ok(());
        }
        // The lock lives on its own connection, outside the pool: the
        // migrations need the pool's connections (a pool of one would
        // otherwise deadlock).
        use sea_orm::sqlx::Connection;
        let options = self.db.get_postgres_connection_pool().connect_options();
        let mut lock = sea_orm::sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(sqlx_error)?;
        sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATE_LOCK_KEY)
            .execute(&mut lock)
            .await
            .map_err(sqlx_error)?;
        let result = migration::Migrator::up(&self.db, None).await;
        // Closing the session releases the lock too; unlocking first keeps
        // that explicit.
        let unlocked = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATE_LOCK_KEY)
            .execute(&mut lock)
            .await;
        let _ = lock.close().await;
        result?;
        unlocked.map_err(sqlx_error)?;
        Ok(())
    }

    /// On PostgreSQL, LISTENs for commits of other replicas and signals
    /// [`Store::remote_commit`] for each, until `stop`. Our own notifications
    /// are skipped: the committer already handed those events to the tail. A
    /// lost listen connection is re-established, and the tail is woken after
    /// each (re)connection: notifications sent meanwhile are lost, but the
    /// tail catches up from the log, so no event is.
    pub async fn listen_for_commits(&self, stop: tokio_util::sync::CancellationToken) {
        use sea_orm::sqlx::postgres::PgListener;
        if self.backend != DbBackend::Postgres {
            return;
        }
        let pool = self.db.get_postgres_connection_pool().clone();
        let mut backoff = Duration::from_millis(100);
        loop {
            let connected = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen(EVENTS_CHANNEL).await?;
                Ok::<_, sea_orm::sqlx::Error>(listener)
            };
            let mut listener = tokio::select! {
                _ = stop.cancelled() => return,
                connected = connected => match connected {
                    Ok(listener) => listener,
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot listen for other replicas' commits; retrying");
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                },
            };
            backoff = Duration::from_millis(100);
            tracing::info!(
                channel = EVENTS_CHANNEL,
                "listening for other replicas' commits"
            );
            self.remote_commits.notify_one();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    received = listener.try_recv() => match received {
                        Ok(Some(notification)) => {
                            let own = notification
                                .payload()
                                .split_once(':')
                                .is_some_and(|(replica, _)| replica == &*self.replica);
                            if !own {
                                self.remote_commits.notify_one();
                            }
                        }
                        Ok(None) => {
                            // sqlx reconnects (and listens again) on the next
                            // call; catch up on what was missed meanwhile.
                            metrics::counter!("switchboard_listen_reconnects_total").increment(1);
                            tracing::warn!("listen connection lost; reconnecting and catching up from the log");
                            self.remote_commits.notify_one();
                        }
                        Err(e) => {
                            metrics::counter!("switchboard_listen_reconnects_total").increment(1);
                            tracing::warn!(error = %e, "listen connection failed; reconnecting and catching up from the log");
                            self.remote_commits.notify_one();
                            break;
                        }
                    },
                }
            }
        }
    }

    /// Checks the database answers and takes writes (for `/readyz`).
    pub async fn ping(&self) -> StoreResult<()> {
        if let Some(reason) = self.outage() {
            return Err(StoreError::Unavailable(reason));
        }
        self.db.ping().await?;
        Ok(())
    }

    /// Why writes currently fail for want of a database, if they do.
    pub fn outage(&self) -> Option<String> {
        self.outage.lock().ok().and_then(|o| o.clone())
    }

    /// The highest sequence of the log known to be durable: readers of the
    /// log keep only events up to it, loading it *after* their query (see
    /// `wal`). `i64::MAX` where every commit is durable when visible
    /// (PostgreSQL, or SQLite syncing in COMMIT).
    pub fn durable_log_head(&self) -> i64 {
        self.durable.get()
    }

    pub fn is_postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The pool's connections and the writes queued for the committer, for
    /// `/metrics`. sqlx does not tell how many tasks wait for a connection;
    /// the writes waiting for a commit are the queue that grows when the
    /// database is slow.
    pub fn pool_status(&self) -> PoolStatus {
        let (size, idle, max) = match self.backend {
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            DbBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            // Settings accept only sqlite: and postgres:// URLs.
            _ => (0, 0, 0),
        };
        PoolStatus {
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max,
            queued_writes: self.writer.max_capacity() - self.writer.capacity(),
        }
    }

    /// Resolves when another replica committed events since the last call
    /// (a permit is kept if nobody was waiting).
    pub async fn remote_commit(&self) {
        self.remote_commits.notified().await;
    }

    /// Hands every later commit's events to `feed` (the log tail). Replaces
    /// any previous feed.
    pub fn attach_feed(&self, feed: mpsc::UnboundedSender<Committed>) {
        self.feed.attach(feed);
    }

    /// Runs `work` in the next batch (see the module docs) and returns its
    /// result once the batch's commit is durable. `work` may run twice (the
    /// second time in its own savepoint, if a neighbour failed), so it must
    /// only touch the database through the transaction it is given.
    ///
    /// Dropping the returned future does not cancel the write: once queued,
    /// it commits (or fails) with its batch.
    pub async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'t> Fn(&'t mut WriteTx) -> BoxFuture<'t, StoreResult<T>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let span = crate::traces::write_span(self.backend);
        let job = Box::new(Pending {
            work,
            result: None,
            reply,
            span: span.clone(),
        });
        async {
            self.writer
                .send(job)
                .await
                .map_err(|_| StoreError::WriterStopped)?;
            answer.await.map_err(|_| StoreError::WriterStopped)?
        }
        .instrument(span)
        .await
    }
}

impl Store {
    /// Appends `append`'s event to the call its vendor reference names, or,
    /// when no call has the reference yet, to a new call made of `new_call`
    /// and the reference. Like [`Store::write`], but the committer inserts
    /// all such appends of a batch in one statement (the hot path of a
    /// webhook: one statement per batch, not per webhook).
    pub async fn append_to_ref(
        &self,
        append: events::RefAppend,
        new_call: CallUpsert,
    ) -> StoreResult<events::Recorded> {
        let (reply, answer) = oneshot::channel();
        let span = crate::traces::write_span(self.backend);
        let job = Box::new(RefAppendJob {
            append,
            new_call,
            result: None,
            reply,
            span: span.clone(),
        });
        async {
            self.writer
                .send(job)
                .await
                .map_err(|_| StoreError::WriterStopped)?;
            answer.await.map_err(|_| StoreError::WriterStopped)?
        }
        .instrument(span)
        .await
    }
}

/// The job of [`Store::append_to_ref`].
struct RefAppendJob {
    append: events::RefAppend,
    new_call: CallUpsert,
    result: Option<StoreResult<events::Recorded>>,
    reply: oneshot::Sender<StoreResult<events::Recorded>>,
    span: tracing::Span,
}

impl Job for RefAppendJob {
    fn span(&self) -> &tracing::Span {
        &self.span
    }

    fn run<'t>(&'t mut self, tx: &'t mut WriteTx) -> BoxFuture<'t, bool> {
        Box::pin(async move {
            let outcome = async {
                let append = &self.append;
                if let Some((_, recorded)) =
                    events::append_by_ref(tx, &append.vendor_ref, &append.event).await?
                {
                    return Ok(recorded);
                }
                let id = calls::insert_call(
                    tx,
                    self.new_call.clone(),
                    std::slice::from_ref(&append.vendor_ref),
                )
                .await?;
                events::append(tx, &id, self.new_call.agent.as_deref(), &append.event).await
            }
            .await;
            let ok = outcome.is_ok();
            self.result = Some(outcome);
            ok
        })
    }

    fn ref_append(&self) -> Option<&events::RefAppend> {
        Some(&self.append)
    }

    fn combined(&mut self, recorded: events::Recorded) {
        self.result = Some(Ok(recorded));
    }

    fn answer(self: Box<Self>, committed: StoreResult<()>) {
        let answer = match (self.result, committed) {
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(error)) => Err(error),
            (None, Ok(())) => Err(StoreError::Corrupt(
                "a write was answered without being run".to_owned(),
            )),
        };
        let _ = self.reply.send(answer);
    }
}

/// A boxed future borrowing for `'t` (what write jobs return).
pub type BoxFuture<'t, T> = Pin<Box<dyn Future<Output = T> + Send + 't>>;

/// A queued write, its result type erased for the committer.
trait Job: Send {
    /// Runs the work; returns whether it succeeded.
    fn run<'t>(&'t mut self, tx: &'t mut WriteTx) -> BoxFuture<'t, bool>;
    /// An append the committer may combine with the batch's others into one
    /// statement (see [`Store::append_to_ref`]).
    fn ref_append(&self) -> Option<&events::RefAppend> {
        None
    }
    /// The combined statement stored this job's event: it need not run.
    fn combined(&mut self, _recorded: events::Recorded) {}
    /// Answers the writer once its batch is settled (`committed` is the
    /// batch's outcome; a job that failed reports its own error whatever it).
    fn answer(self: Box<Self>, committed: StoreResult<()>);
    /// The writer's span (`Span::none()` while tracing is off).
    fn span(&self) -> &tracing::Span;
}

struct Pending<T, F> {
    work: F,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
    span: tracing::Span,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send + 'static,
    F: for<'t> Fn(&'t mut WriteTx) -> BoxFuture<'t, StoreResult<T>> + Send + 'static,
{
    fn run<'t>(&'t mut self, tx: &'t mut WriteTx) -> BoxFuture<'t, bool> {
        let work = (self.work)(tx);
        let result = &mut self.result;
        Box::pin(async move {
            let outcome = work.await;
            let ok = outcome.is_ok();
            *result = Some(outcome);
            ok
        })
    }

    fn answer(self: Box<Self>, committed: StoreResult<()>) {
        let answer = match (self.result, committed) {
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(error)) => Err(error),
            (None, Ok(())) => Err(StoreError::Corrupt(
                "a write was answered without being run".to_owned(),
            )),
        };
        // The writer may have gone away; the write stands all the same.
        let _ = self.reply.send(answer);
    }

    fn span(&self) -> &tracing::Span {
        &self.span
    }
}

/// How one run of a batch ended.
enum Attempt {
    /// Committed; these events were appended after `prev_head`.
    Committed {
        prev_head: i64,
        events: Vec<Arc<StoredEvent>>,
    },
    /// A job failed in a run without savepoints; rolled back.
    JobFailed,
    /// The transaction itself failed (begin, lock, savepoint or commit).
    Failed(StoreError),
}

/// The one writer of this process (see the module docs).
struct Committer {
    /// Its connection (a pool of one), opened on first use and after a
    /// failure.
    db: Option<DatabaseConnection>,
    connect: ConnectOptions,
    backend: DbBackend,
    replica: Arc<str>,
    feed: Feed,
    options: WriteOptions,
    /// Set while the database is unreachable (shared with `Store::outage`).
    outage: Arc<Mutex<Option<String>>>,
    /// While unreachable: why, when to try again, and the current wait.
    down: Option<(String, Instant, Duration)>,
    /// SQLite with a WAL: makes commits durable after COMMIT (see `wal`).
    syncer: Option<wal::Syncer>,
    durable: wal::DurableHead,
}

/// While the database is unreachable, writes fail at once — a webhook gets
/// its 503 in microseconds, not after a connection timeout — except one
/// batch every so often, which tries for real: the first that succeeds ends
/// the outage. The wait between tries doubles from the first to the last.
const OUTAGE_RETRY_FIRST: Duration = Duration::from_millis(100);
const OUTAGE_RETRY_LAST: Duration = Duration::from_secs(1);

impl Committer {
    async fn run(mut self, mut queue: mpsc::Receiver<Box<dyn Job>>) {
        let max = self.options.max_batch;
        let mut jobs: Vec<Box<dyn Job>> = Vec::with_capacity(max);
        // Ends when every Store handle (every sender) is gone.
        while queue.recv_many(&mut jobs, max).await > 0 {
            if !self.options.max_wait.is_zero() && jobs.len() < max {
                let deadline = tokio::time::Instant::now() + self.options.max_wait;
                while jobs.len() < max {
                    let room = max - jobs.len();
                    match tokio::time::timeout_at(deadline, queue.recv_many(&mut jobs, room)).await
                    {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            }
            if let Some(syncer) = &self.syncer {
                syncer.set_committing(true);
            }
            self.commit_batch(&mut jobs).await;
            if let Some(syncer) = &self.syncer {
                syncer.set_committing(false);
            }
            jobs.clear();
        }
    }

    fn set_outage(&self, reason: Option<String>) {
        if let Ok(mut outage) = self.outage.lock() {
            *outage = reason;
        }
    }

    async fn commit_batch(&mut self, jobs: &mut Vec<Box<dyn Job>>) {
        let started = Instant::now();
        let size = jobs.len();
        if self.syncer.as_ref().is_some_and(wal::Syncer::failed) {
            metrics::counter!("switchboard_log_writes_refused_total").increment(size as u64);
            let error = StoreError::Unavailable(wal::SYNC_FAILED.to_owned());
            for job in jobs.drain(..) {
                job.answer(Err(error.clone()));
            }
            return;
        }
        if let Some((reason, retry_at, _)) = &self.down
            && Instant::now() < *retry_at
        {
            metrics::counter!("switchboard_log_writes_refused_total").increment(size as u64);
            let error = StoreError::Unavailable(reason.clone());
            for job in jobs.drain(..) {
                job.answer(Err(error.clone()));
            }
            return;
        }
        let span = crate::traces::commit_span(self.backend, jobs.iter().map(|job| job.span()));
        let mut attempt = self.attempt(jobs, false).instrument(span.clone()).await;
        if matches!(attempt, Attempt::JobFailed) {
            metrics::counter!("switchboard_log_batch_retries_total").increment(1);
            attempt = self.attempt(jobs, true).instrument(span.clone()).await;
        }
        if matches!(attempt, Attempt::Failed(_)) {
            span.record("otel.status_code", "ERROR");
        }
        metrics::histogram!("switchboard_log_commit_seconds").record(started.elapsed());
        metrics::histogram!("switchboard_log_batch_writes").record(size as f64);
        let outcome = match attempt {
            Attempt::Committed { prev_head, events } => {
                if self.down.take().is_some() {
                    tracing::info!("database reachable again: writes resume");
                    self.set_outage(None);
                }
                let committed = (!events.is_empty()).then(|| {
                    metrics::histogram!("switchboard_log_batch_events").record(events.len() as f64);
                    if let Some(last) = events.last() {
                        metrics::gauge!("switchboard_log_head_sequence").set(last.sequence as f64);
                    }
                    Committed { prev_head, events }
                });
                if let Some(syncer) = &self.syncer {
                    // Answered, and fed to the tail, once synced. Not
                    // committing any more: the sync must not wait for a
                    // next batch that may never come.
                    syncer.set_committing(false);
                    let batch = wal::Unsynced {
                        jobs: std::mem::take(jobs),
                        committed,
                    };
                    if let Err(batch) = syncer.hand(batch).await {
                        *jobs = batch.jobs;
                        for job in jobs.drain(..) {
                            job.answer(Err(StoreError::WriterStopped));
                        }
                    }
                    return;
                }
                if let Some(committed) = committed {
                    self.feed.send(committed);
                }
                Ok(())
            }
            Attempt::Failed(error) => {
                if error.is_transient() {
                    let wait = match &self.down {
                        Some((_, _, wait)) => (*wait * 2).min(OUTAGE_RETRY_LAST),
                        None => {
                            tracing::error!(error = %error, "database unreachable: writes fail at once until it answers again");
                            OUTAGE_RETRY_FIRST
                        }
                    };
                    let reason = short_reason(&error);
                    self.set_outage(Some(reason.clone()));
                    self.down = Some((reason, Instant::now() + wait, wait));
                } else {
                    tracing::warn!(error = %error, writes = size, "write batch failed; its writers get the error");
                }
                Err(error)
            }
            Attempt::JobFailed => Err(StoreError::Corrupt(
                "a write batch failed twice without a failing write".to_owned(),
            )),
        };
        for job in jobs.drain(..) {
            job.answer(outcome.clone());
        }
    }

    /// Runs every job in one transaction, each in its own savepoint when
    /// `savepoints`, and commits.
    /// The committer's connection, opened if needed.
    async fn connection(&mut self) -> StoreResult<DatabaseConnection> {
        if let Some(db) = &self.db {
            return Ok(db.clone());
        }
        let db = Database::connect(self.connect.clone()).await?;
        self.db = Some(db.clone());
        Ok(db)
    }

    /// Closes the connection after a failure: whatever state the failed
    /// transaction left it in (a rollback that failed leaves it inside a
    /// transaction, where the next "commit" would only release a savepoint)
    /// goes with it.
    async fn reset_connection(&mut self) {
        if let Some(db) = self.db.take() {
            let _ = db.close().await;
        }
    }

    async fn attempt(&mut self, jobs: &mut [Box<dyn Job>], savepoints: bool) -> Attempt {
        let attempt = self.attempt_on_connection(jobs, savepoints).await;
        if matches!(attempt, Attempt::Failed(_)) {
            self.reset_connection().await;
        }
        attempt
    }

    async fn attempt_on_connection(
        &mut self,
        jobs: &mut [Box<dyn Job>],
        savepoints: bool,
    ) -> Attempt {
        let db = match self.connection().await {
            Ok(db) => db,
            Err(e) => return Attempt::Failed(e),
        };
        let tx = match db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        {
            Ok(tx) => tx,
            Err(e) => return Attempt::Failed(e.into()),
        };
        if self.backend == DbBackend::Postgres
            && let Err(e) = tx
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_xact_lock($1)",
                    [WRITE_LOCK_KEY.into()],
                ))
                .await
        {
            return Attempt::Failed(e.into());
        }
        let mut tx = WriteTx {
            tx,
            backend: self.backend,
            prev_head: None,
            appended: Vec::new(),
        };
        // The batch's appends to known calls, in one statement; the rest
        // (and any whose call is new, or that re-deliver) run one by one.
        // Not when retrying with savepoints: then each job is on its own.
        let mut done = vec![false; jobs.len()];
        if !savepoints {
            let combinable: Vec<usize> = (0..jobs.len())
                .filter(|&n| jobs[n].ref_append().is_some())
                .collect();
            if combinable.len() > 1 {
                let items: Vec<&events::RefAppend> = combinable
                    .iter()
                    .filter_map(|&n| jobs[n].ref_append())
                    .collect();
                match events::append_many_by_ref(&mut tx, &items).await {
                    Ok(outcomes) => {
                        for (&n, outcome) in combinable.iter().zip(outcomes) {
                            if let Some(recorded) = outcome {
                                jobs[n].combined(recorded);
                                done[n] = true;
                            }
                        }
                    }
                    Err(_) => {
                        let _ = tx.tx.rollback().await;
                        return Attempt::JobFailed;
                    }
                }
            }
        }
        for (job, done) in jobs.iter_mut().zip(done) {
            if done {
                continue;
            }
            if savepoints && let Err(e) = tx.tx.execute_unprepared("SAVEPOINT job").await {
                return Attempt::Failed(e.into());
            }
            let mark = tx.appended.len();
            let ok = job.run(&mut tx).await;
            if !ok {
                if !savepoints {
                    return match tx.tx.rollback().await {
                        Ok(()) => Attempt::JobFailed,
                        // Not rolled back: the connection goes (see
                        // `reset_connection`), and the jobs are run again on
                        // a new one.
                        Err(e) => {
                            self.reset_connection().await;
                            tracing::warn!(error = %e, "rollback failed; retrying the batch on a new connection");
                            Attempt::JobFailed
                        }
                    };
                }
                tx.appended.truncate(mark);
                if let Err(e) = tx.tx.execute_unprepared("ROLLBACK TO SAVEPOINT job").await {
                    return Attempt::Failed(e.into());
                }
            }
            if savepoints && let Err(e) = tx.tx.execute_unprepared("RELEASE SAVEPOINT job").await {
                return Attempt::Failed(e.into());
            }
        }
        let WriteTx {
            tx,
            prev_head,
            appended,
            ..
        } = tx;
        if let (Some(last), DbBackend::Postgres) = (appended.last(), self.backend) {
            // Other replicas learn of the commit through NOTIFY, which
            // PostgreSQL delivers only once this transaction commits.
            let payload = format!("{}:{}", self.replica, last.sequence);
            if let Err(e) = tx
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [EVENTS_CHANNEL.into(), payload.into()],
                ))
                .await
            {
                return Attempt::Failed(e.into());
            }
        }
        if let (Some(_), Some(head)) = (&self.syncer, prev_head) {
            // From this commit on, the log may hold sequences not yet synced.
            self.durable.start_at(head);
        }
        match tx.commit().await {
            Ok(()) => Attempt::Committed {
                prev_head: prev_head.unwrap_or(0),
                events: appended,
            },
            Err(e) => Attempt::Failed(e.into()),
        }
    }
}

/// The transaction a write job runs in: the batch's, holding the writers'
/// lock. Jobs do not commit or roll back; the committer does.
pub struct WriteTx {
    tx: DatabaseTransaction,
    backend: DbBackend,
    /// The log head before this batch, read at its first append.
    prev_head: Option<i64>,
    /// Events appended by this batch's jobs so far, in sequence order.
    appended: Vec<Arc<StoredEvent>>,
}

impl WriteTx {
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.tx
    }

    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Before the batch's first append: the log head it starts from. Read
    /// under the writers' lock, so every sequence at or below it committed
    /// before this batch and every one above it is this batch's. Batches
    /// that append nothing never pay for it.
    pub(crate) async fn note_head(&mut self) -> StoreResult<()> {
        if self.prev_head.is_none() {
            self.prev_head = Some(events::head_sequence(&self.tx).await?);
        }
        Ok(())
    }

    pub(crate) fn appended(&mut self, event: StoredEvent) {
        self.appended.push(Arc::new(event));
    }
}

/// What to tell a client about an outage: the kind of failure, never the
/// driver's text (it can hold addresses, SQL or values).
fn short_reason(error: &StoreError) -> String {
    let reason = match error {
        StoreError::Db(DbErr::ConnectionAcquire(_)) => "no connection could be had in time",
        StoreError::Db(
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)),
        ) => match e.as_ref() {
            sea_orm::sqlx::Error::Io(_) => "the connection failed",
            sea_orm::sqlx::Error::PoolTimedOut => "no connection could be had in time",
            sea_orm::sqlx::Error::Database(_) => "the database refused the write for now",
            _ => "the database failed",
        },
        StoreError::Db(DbErr::Conn(_)) => "the connection failed",
        _ => "the database failed",
    };
    reason.to_owned()
}

fn sqlx_error(error: sea_orm::sqlx::Error) -> StoreError {
    StoreError::Db(DbErr::Conn(RuntimeErr::SqlxError(Arc::new(error))))
}

/// Unix microseconds, the storage form of every time (see `migration`).
pub(crate) fn to_micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

pub(crate) fn from_micros(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}
