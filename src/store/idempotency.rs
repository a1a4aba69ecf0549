//! Idempotency records (AIP-155): a side-effecting RPC reserves its
//! `request_id` before calling the vendor and records the outcome after, so a
//! retry — concurrent, later, or after a restart, on any replica — gets the
//! first outcome and never a second vendor request.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
};

use super::{StoreResult, WriteTx, entities::idempotency, from_micros, to_micros};
use crate::domain::CallId;

/// What a reservation attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved: the caller makes the vendor request and records the outcome.
    Reserved,
    /// Another request with this id is in flight since `since`.
    InFlight { since: DateTime<Utc> },
    /// Completed with this call.
    Done(CallId),
    /// Refused by the vendor: the same refusal is replayed.
    Failed { code: String, message: String },
    /// The id was used with other parameters.
    Mismatch,
}

const PENDING: &str = "pending";
const DONE: &str = "done";
const FAILED: &str = "failed";

/// Reserves `key` for a request with `fingerprint`, or reports what holds it.
/// Writers are serialised, so two concurrent reservations cannot both win.
pub async fn reserve(tx: &WriteTx, key: &str, fingerprint: &str) -> StoreResult<Reservation> {
    if let Some(record) = idempotency::Entity::find_by_id(key.to_owned())
        .one(tx.conn())
        .await?
    {
        if record.fingerprint != fingerprint {
            return Ok(Reservation::Mismatch);
        }
        return Ok(match (record.state.as_str(), record.call_id) {
            (DONE, Some(call_id)) => Reservation::Done(CallId::from_stored(call_id)),
            (FAILED, _) => Reservation::Failed {
                code: record.error_code.unwrap_or_default(),
                message: record.error_message.unwrap_or_default(),
            },
            _ => Reservation::InFlight {
                since: from_micros(record.created_at),
            },
        });
    }
    let now = to_micros(Utc::now());
    idempotency::Entity::insert(idempotency::ActiveModel {
        key: Set(key.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        state: Set(PENDING.to_owned()),
        call_id: Set(None),
        error_code: Set(None),
        error_message: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(tx.conn())
    .await?;
    Ok(Reservation::Reserved)
}

/// The current record of `key`, without reserving (a plain read: waiting
/// retries poll with it rather than taking the writers' lock).
pub async fn lookup(
    conn: &impl ConnectionTrait,
    key: &str,
) -> StoreResult<Option<idempotency::Model>> {
    Ok(idempotency::Entity::find_by_id(key.to_owned())
        .one(conn)
        .await?)
}

/// Whether the record is still in flight (a request holds it).
pub fn is_pending(record: &idempotency::Model) -> bool {
    record.state == PENDING
}

/// Records of `rpc` that completed with a call (keys `<rpc>:<request_id>`).
/// A LIKE prefix rather than a key range: PostgreSQL compares text by the
/// database's collation, which may ignore punctuation such as ':'. (SQLite's
/// LIKE ignores ASCII case; rpc names differ by more than case.)
pub fn completed_for(rpc: &str) -> Condition {
    Condition::all()
        .add(idempotency::Column::Key.starts_with(format!("{rpc}:")))
        .add(idempotency::Column::State.eq(DONE))
}

/// Records that the request produced `call_id`.
pub async fn complete(tx: &WriteTx, key: &str, call_id: &CallId) -> StoreResult<()> {
    idempotency::Entity::update_many()
        .col_expr(idempotency::Column::State, DONE.into())
        .col_expr(
            idempotency::Column::CallId,
            Some(call_id.as_str().to_owned()).into(),
        )
        .col_expr(idempotency::Column::UpdatedAt, to_micros(Utc::now()).into())
        .filter(idempotency::Column::Key.eq(key))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Records a definitive refusal, replayed to retries.
pub async fn fail(tx: &WriteTx, key: &str, code: &str, message: &str) -> StoreResult<()> {
    idempotency::Entity::update_many()
        .col_expr(idempotency::Column::State, FAILED.into())
        .col_expr(idempotency::Column::ErrorCode, Some(code.to_owned()).into())
        .col_expr(
            idempotency::Column::ErrorMessage,
            Some(message.to_owned()).into(),
        )
        .col_expr(idempotency::Column::UpdatedAt, to_micros(Utc::now()).into())
        .filter(idempotency::Column::Key.eq(key))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Forgets a reservation whose request certainly did nothing at the vendor
/// (refused connection, or our own failure before sending): a retry may try
/// again.
pub async fn release(tx: &WriteTx, key: &str) -> StoreResult<()> {
    idempotency::Entity::delete_many()
        .filter(idempotency::Column::Key.eq(key))
        .filter(idempotency::Column::State.eq(PENDING))
        .exec(tx.conn())
        .await?;
    Ok(())
}
