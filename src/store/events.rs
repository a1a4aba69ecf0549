//! The durable event log (`call_events`) and the dedupe keys of vendor
//! deliveries.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::{
    StoreError, StoreResult, WriteTx,
    entities::{call_event, dedupe_key},
    from_micros, to_micros,
};
use crate::domain::{CallId, NewEvent, StoredEvent, Update};

/// Which events a stream wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub call_id: Option<CallId>,
    pub agent: Option<String>,
}

impl EventFilter {
    pub fn matches(&self, event: &StoredEvent) -> bool {
        self.call_id.as_ref().is_none_or(|id| *id == event.call_id)
            && self
                .agent
                .as_ref()
                .is_none_or(|agent| event.agent.as_deref() == Some(agent.as_str()))
    }
}

/// Outcome of appending an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored at this sequence.
    Stored(i64),
    /// Its dedupe key was seen within the retention: not stored again.
    Duplicate,
}

/// Whether a vendor delivery with this key was already stored.
pub async fn is_duplicate(tx: &WriteTx, dedupe_key: &str) -> StoreResult<bool> {
    Ok(dedupe_key::Entity::find_by_id(dedupe_key.to_owned())
        .one(tx.conn())
        .await?
        .is_some())
}

/// Appends one event of `call_id` to the log. `agent` is the call's agent now
/// (agent-scoped streams filter on it).
pub async fn append(
    tx: &mut WriteTx,
    call_id: &CallId,
    agent: Option<&str>,
    event: NewEvent,
) -> StoreResult<Recorded> {
    let received_at = Utc::now();
    // Claim the delivery's key first: a re-delivery stops here, having
    // written nothing.
    if let Some(key) = &event.dedupe_key {
        let claimed = dedupe_key::Entity::insert(dedupe_key::ActiveModel {
            key: Set(key.clone()),
            sequence: Set(None),
            created_at: Set(to_micros(received_at)),
        })
        .on_conflict(
            OnConflict::column(dedupe_key::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(tx.conn())
        .await?;
        if claimed == 0 {
            return Ok(Recorded::Duplicate);
        }
    }
    let payload = serde_json::to_string(&event.update)
        .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?;
    let inserted = call_event::Entity::insert(call_event::ActiveModel {
        call_id: Set(call_id.as_str().to_owned()),
        agent: Set(agent.map(str::to_owned)),
        kind: Set(event.update.kind().to_owned()),
        payload: Set(payload),
        occurred_at: Set(to_micros(event.occurred_at)),
        received_at: Set(to_micros(received_at)),
        ..Default::default()
    })
    .exec(tx.conn())
    .await?;
    let sequence = inserted.last_insert_id;
    if let Some(key) = event.dedupe_key {
        // Which event a delivery became, for whoever investigates one.
        dedupe_key::Entity::update_many()
            .col_expr(dedupe_key::Column::Sequence, Some(sequence).into())
            .filter(dedupe_key::Column::Key.eq(key))
            .exec(tx.conn())
            .await?;
    }
    tx.mark_appended(sequence);
    Ok(Recorded::Stored(sequence))
}

pub(super) fn to_domain(model: call_event::Model) -> StoreResult<StoredEvent> {
    let update: Update = serde_json::from_str(&model.payload)
        .map_err(|e| StoreError::Corrupt(format!("event {} payload: {e}", model.sequence)))?;
    Ok(StoredEvent {
        sequence: model.sequence,
        call_id: CallId::from_stored(model.call_id),
        agent: model.agent,
        occurred_at: from_micros(model.occurred_at),
        received_at: from_micros(model.received_at),
        update,
    })
}

/// Up to `limit` events after `after`, in sequence order.
pub async fn events_after(
    conn: &impl ConnectionTrait,
    after: i64,
    filter: &EventFilter,
    limit: u64,
) -> StoreResult<Vec<StoredEvent>> {
    let mut condition = Condition::all().add(call_event::Column::Sequence.gt(after));
    if let Some(call_id) = &filter.call_id {
        condition = condition.add(call_event::Column::CallId.eq(call_id.as_str()));
    }
    if let Some(agent) = &filter.agent {
        condition = condition.add(call_event::Column::Agent.eq(agent.as_str()));
    }
    call_event::Entity::find()
        .filter(condition)
        .order_by_asc(call_event::Column::Sequence)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Every update of one kind (e.g. "dial_event") of a call, in log order.
pub async fn updates_of(
    conn: &impl ConnectionTrait,
    call_id: &CallId,
    kind: &str,
) -> StoreResult<Vec<Update>> {
    call_event::Entity::find()
        .filter(call_event::Column::CallId.eq(call_id.as_str()))
        .filter(call_event::Column::Kind.eq(kind))
        .order_by_asc(call_event::Column::Sequence)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| to_domain(model).map(|event| event.update))
        .collect()
}

/// The highest sequence in the log (0 when empty).
pub async fn head_sequence(conn: &impl ConnectionTrait) -> StoreResult<i64> {
    let head: Option<Option<i64>> = call_event::Entity::find()
        .select_only()
        .column_as(Expr::col(call_event::Column::Sequence).max(), "head")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(head.flatten().unwrap_or(0))
}

/// Forgets dedupe keys stored before `before`; returns how many.
pub async fn prune_dedupe_keys(tx: &WriteTx, before: DateTime<Utc>) -> StoreResult<u64> {
    let result = dedupe_key::Entity::delete_many()
        .filter(dedupe_key::Column::CreatedAt.lt(to_micros(before)))
        .exec(tx.conn())
        .await?;
    Ok(result.rows_affected)
}
