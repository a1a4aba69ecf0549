//! Persistence: sea-orm over SQLite (default, one file, WAL) or PostgreSQL,
//! with the same code and migrations. Repository functions return domain
//! types; entities stay in this module.
//!
//! Every write goes through [`WriteTx`], which serialises writers:
//! - on SQLite, an in-process gate plus `BEGIN IMMEDIATE` (SQLite allows one
//!   writer; queueing in-process beats busy-waiting on the file lock);
//! - on PostgreSQL, a transaction-scoped advisory lock taken first thing.
//!
//! That serialisation is what makes **sequence order commit order**: a
//! transaction takes its `call_events.sequence` values while holding the lock
//! and commits before the next writer can take any, so a reader tailing
//! `sequence > last` never skips a sequence that commits late. It also makes
//! get-or-create of calls by vendor reference race-free across replicas.

pub mod calls;
pub mod dial_stats;
mod entities;
pub mod events;
pub mod idempotency;
pub mod migration;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, RuntimeErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

pub use calls::{CallFilter, CallPage, CallUpsert, LegEvent, PageCursor};
pub use events::{EventFilter, Recorded};

/// Key of the PostgreSQL advisory lock that serialises writers (an arbitrary
/// constant: "sw" "bd" in ASCII).
const WRITE_LOCK_KEY: i64 = 0x7377_6264;
/// Key of the advisory lock that serialises migrations of replicas starting
/// together ("sw" "mg").
const MIGRATE_LOCK_KEY: i64 = 0x7377_6d67;
/// The NOTIFY channel announcing committed events to other replicas. The
/// payload is the highest sequence of the commit; listeners read the rows
/// from the log.
pub const EVENTS_CHANNEL: &str = "switchboard_events";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether retrying later can help (connection trouble, lock timeouts),
    /// as opposed to a bug or corrupt data.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) => true,
            StoreError::Db(
                DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)),
            ) => {
                match e.as_ref() {
                    sea_orm::sqlx::Error::Io(_)
                    | sea_orm::sqlx::Error::PoolTimedOut
                    | sea_orm::sqlx::Error::PoolClosed => true,
                    sea_orm::sqlx::Error::Database(db) => {
                        // SQLite busy/locked; PostgreSQL serialization or
                        // lock-timeout failures and admin shutdown.
                        matches!(
                            db.code().as_deref(),
                            Some("5" | "6" | "40001" | "40P01" | "55P03" | "57P01")
                        )
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database handle. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    backend: DbBackend,
    /// SQLite only: one writer at a time, queued in-process.
    write_gate: Option<Arc<Mutex<()>>>,
    /// Signalled after every commit that appended events: wakes the log reader.
    committed: Arc<Notify>,
}

impl Store {
    /// Connects (creating the SQLite file if needed). Does not migrate.
    pub async fn connect(url: &SecretString, max_connections: u32) -> StoreResult<Self> {
        let url = url.expose_secret();
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            // Names our sessions in pg_stat_activity (ignored by SQLite).
            .set_application_name("switchboard")
            .map_sqlx_sqlite_opts(|opts| {
                use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
                // WAL: readers never block the writer. FULL: a commit is on
                // disk before the event it holds is acknowledged, even on
                // power loss (NORMAL only survives process crashes).
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    .create_if_missing(true)
            })
            // A local file needs no liveness probe before each use (the
            // probe is a query of its own).
            .map_sqlx_sqlite_pool_opts(|pool| pool.test_before_acquire(false));
        let db = Database::connect(options).await?;
        let backend = db.get_database_backend();
        Ok(Self {
            write_gate: (backend == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            db,
            backend,
            committed: Arc::new(Notify::new()),
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

    /// On PostgreSQL, LISTENs for commits of other replicas and wakes the log
    /// reader for each, until `stop`. A lost listen connection is
    /// re-established, and the reader is woken after each (re)connection:
    /// notifications sent meanwhile are lost, but the reader catches up from
    /// the log, so no event is.
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
                        tokio::time::sleep(backoff).await;
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
            self.notify_committed();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    received = listener.try_recv() => match received {
                        Ok(Some(_notification)) => self.notify_committed(),
                        Ok(None) => {
                            // sqlx reconnects (and listens again) on the next
                            // call; catch up on what was missed meanwhile.
                            metrics::counter!("switchboard_listen_reconnects_total").increment(1);
                            tracing::warn!("listen connection lost; reconnecting and catching up from the log");
                            self.notify_committed();
                        }
                        Err(e) => {
                            metrics::counter!("switchboard_listen_reconnects_total").increment(1);
                            tracing::warn!(error = %e, "listen connection failed; reconnecting and catching up from the log");
                            self.notify_committed();
                            break;
                        }
                    },
                }
            }
        }
    }

    /// Checks the database answers (for `/readyz`).
    pub async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await?;
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Resolves when a write that appended events has committed since the
    /// last call (a permit is kept if nobody was waiting).
    pub async fn committed(&self) {
        self.committed.notified().await;
    }

    /// Wakes the log reader as if a write had committed (used when another
    /// replica committed, learnt through PostgreSQL NOTIFY).
    pub fn notify_committed(&self) {
        self.committed.notify_one();
    }

    /// Starts a serialised write transaction (see the module docs).
    pub async fn begin_write(&self) -> StoreResult<WriteTx> {
        let gate = match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        let tx = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        if self.backend == DbBackend::Postgres {
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [WRITE_LOCK_KEY.into()],
            ))
            .await?;
        }
        Ok(WriteTx {
            tx,
            _gate: gate,
            appended: None,
            committed: self.committed.clone(),
            backend: self.backend,
        })
    }
}

/// A write transaction holding the writers' lock until commit or drop
/// (dropping rolls back).
pub struct WriteTx {
    tx: DatabaseTransaction,
    _gate: Option<OwnedMutexGuard<()>>,
    /// The highest sequence appended in this transaction, if any.
    appended: Option<i64>,
    committed: Arc<Notify>,
    backend: DbBackend,
}

impl WriteTx {
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.tx
    }

    /// Commits, then wakes the log reader if events were appended: nothing is
    /// announced before it is durable.
    pub async fn commit(self) -> StoreResult<()> {
        let appended = self.appended;
        let committed = self.committed.clone();
        if let (Some(sequence), DbBackend::Postgres) = (appended, self.backend) {
            // Other replicas learn of the commit through NOTIFY, which
            // PostgreSQL delivers only once this transaction commits.
            self.tx
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [EVENTS_CHANNEL.into(), sequence.to_string().into()],
                ))
                .await?;
        }
        self.tx.commit().await?;
        if appended.is_some() {
            committed.notify_one();
        }
        Ok(())
    }

    pub(crate) fn mark_appended(&mut self, sequence: i64) {
        self.appended = Some(self.appended.map_or(sequence, |s| s.max(sequence)));
    }
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
