//! The dials GetDialStats counts, read in batches: calls created by
//! OutboundDialService.Dial with their `status_changed` and `dial_event`
//! updates.
//!
//! A dial is a call that an idempotency record `Dial:<request_id>` completed
//! with (see `dials`): that is exact, where guessing from the call's columns
//! would also count CCAI scheduled calls or FocalScope callbacks nobody
//! dialled through switchboard.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{
    StoreResult,
    calls::parse_stored,
    entities::{call, call_event, idempotency},
    events, from_micros, idempotency as idempotency_records, to_micros,
};
use crate::domain::{CallStatus, FailureReason, Provider, Update};

/// The `rpc` OutboundDialService.Dial reserves its request ids under.
const DIAL_RPC: &str = "Dial";
/// Dials read per query (and their updates in one more query).
const BATCH: u64 = 500;

/// Which dials to read.
#[derive(Debug, Clone, PartialEq)]
pub struct DialFilter {
    /// `started_at` from (included) …
    pub from: DateTime<Utc>,
    /// … to (excluded).
    pub to: DateTime<Utc>,
    pub provider: Option<Provider>,
    pub agent: Option<String>,
}

/// One dial with what its statistics are derived from.
#[derive(Debug, Clone, PartialEq)]
pub struct DialRecord {
    pub provider: Provider,
    pub agent: Option<String>,
    pub status: CallStatus,
    pub failure_reason: Option<FailureReason>,
    pub started_at: DateTime<Utc>,
    /// Its `status_changed` and `dial_event` updates with their
    /// `occurred_at`, in log order.
    pub updates: Vec<(DateTime<Utc>, Update)>,
}

type DialRow = (String, String, Option<String>, String, Option<String>, i64);

/// Calls `each` with every dial matching `filter`, oldest first. Memory
/// stays bounded by one batch, whatever the range.
pub async fn for_each_dial(
    conn: &impl ConnectionTrait,
    filter: &DialFilter,
    mut each: impl FnMut(DialRecord),
) -> StoreResult<()> {
    let mut after: Option<(i64, String)> = None;
    loop {
        let mut condition = Condition::all()
            .add(idempotency_records::completed_for(DIAL_RPC))
            .add(call::Column::StartedAt.gte(to_micros(filter.from)))
            .add(call::Column::StartedAt.lt(to_micros(filter.to)));
        if let Some(provider) = filter.provider {
            condition = condition.add(call::Column::Provider.eq(provider.as_str()));
        }
        if let Some(agent) = &filter.agent {
            condition = condition.add(call::Column::Agent.eq(agent.as_str()));
        }
        if let Some((started_at, id)) = &after {
            condition = condition.add(
                Condition::any()
                    .add(call::Column::StartedAt.gt(*started_at))
                    .add(
                        Condition::all()
                            .add(call::Column::StartedAt.eq(*started_at))
                            .add(call::Column::Id.gt(id.as_str())),
                    ),
            );
        }
        let rows: Vec<DialRow> = call::Entity::find()
            .select_only()
            .columns([
                call::Column::Id,
                call::Column::Provider,
                call::Column::Agent,
                call::Column::Status,
                call::Column::FailureReason,
                call::Column::StartedAt,
            ])
            .join(
                JoinType::InnerJoin,
                call::Entity::belongs_to(idempotency::Entity)
                    .from(call::Column::Id)
                    .to(idempotency::Column::CallId)
                    .into(),
            )
            .filter(condition)
            .order_by_asc(call::Column::StartedAt)
            .order_by_asc(call::Column::Id)
            .limit(BATCH)
            .into_tuple()
            .all(conn)
            .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = Some((last.5, last.0.clone()));
        let full = rows.len() as u64 == BATCH;

        let mut updates = updates_of_calls(conn, rows.iter().map(|row| row.0.clone())).await?;
        for (id, provider, agent, status, failure_reason, started_at) in rows {
            each(DialRecord {
                provider: parse_stored(Provider::from_stored, &provider, "provider")?,
                agent,
                status: parse_stored(CallStatus::from_stored, &status, "status")?,
                failure_reason: failure_reason
                    .map(|r| parse_stored(FailureReason::from_stored, &r, "failure reason"))
                    .transpose()?,
                started_at: from_micros(started_at),
                updates: updates.remove(&id).unwrap_or_default(),
            });
        }
        if !full {
            return Ok(());
        }
    }
}

/// The `status_changed` and `dial_event` updates of some calls, by call id,
/// in log order.
async fn updates_of_calls(
    conn: &impl ConnectionTrait,
    call_ids: impl IntoIterator<Item = String>,
) -> StoreResult<HashMap<String, Vec<(DateTime<Utc>, Update)>>> {
    let models = call_event::Entity::find()
        .filter(call_event::Column::CallId.is_in(call_ids))
        .filter(call_event::Column::Kind.is_in(["status_changed", "dial_event"]))
        .order_by_asc(call_event::Column::Sequence)
        .all(conn)
        .await?;
    let mut by_call: HashMap<String, Vec<(DateTime<Utc>, Update)>> = HashMap::new();
    for model in models {
        let event = events::to_domain(model)?;
        by_call
            .entry(event.call_id.as_str().to_owned())
            .or_default()
            .push((event.occurred_at, event.update));
    }
    Ok(by_call)
}
