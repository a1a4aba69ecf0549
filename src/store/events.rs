//! The durable event log (`call_events`), with the dedupe key of the vendor
//! delivery each event came from.
//!
//! The hot statements are written as SQL rather than built with sea-query:
//! they are the whole cost of a webhook, each is one round trip, and their
//! text is fixed, so the driver prepares each once per connection. `?`
//! placeholders are turned into PostgreSQL's `$n` once per statement.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, Value, sea_query::Expr, sea_query::ExprTrait,
};

use super::{StoreError, StoreResult, WriteTx, entities::call_event, from_micros, to_micros};
use crate::domain::{CallId, NewEvent, StoredEvent, Update, VendorRef};

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

/// An event ready to append: serialised before it reaches the committer, so
/// the one writer spends its time on SQL, not on JSON.
#[derive(Debug, Clone)]
pub struct Prepared {
    update: Update,
    payload: String,
    occurred_at: DateTime<Utc>,
    dedupe_key: Option<String>,
}

impl Prepared {
    pub fn new(event: NewEvent) -> StoreResult<Self> {
        let payload = serde_json::to_string(&event.update)
            .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?;
        Ok(Self {
            update: event.update,
            payload,
            // Stored with microsecond precision: the live copy says what a
            // replay from the log will.
            occurred_at: from_micros(to_micros(event.occurred_at)),
            dedupe_key: event.dedupe_key,
        })
    }

    pub fn dedupe_key(&self) -> Option<&str> {
        self.dedupe_key.as_deref()
    }
}

/// A statement written with `?` placeholders, in each backend's dialect.
pub(super) struct Sql {
    text: &'static str,
    postgres: OnceLock<String>,
}

impl Sql {
    pub(super) const fn new(text: &'static str) -> Self {
        Self {
            text,
            postgres: OnceLock::new(),
        }
    }

    pub(super) fn statement(
        &self,
        backend: DbBackend,
        values: impl IntoIterator<Item = Value>,
    ) -> Statement {
        let text = match backend {
            DbBackend::Postgres => self.postgres.get_or_init(|| {
                let mut numbered = String::with_capacity(self.text.len() + 16);
                let mut n = 0;
                for c in self.text.chars() {
                    if c == '?' {
                        n += 1;
                        numbered.push('$');
                        numbered.push_str(&n.to_string());
                    } else {
                        numbered.push(c);
                    }
                }
                numbered
            }),
            _ => self.text,
        };
        Statement::from_sql_and_values(backend, text, values)
    }
}

/// Claim, insert and sequence in one statement: a re-delivery conflicts on
/// the UNIQUE dedupe key and inserts nothing (NULL keys never conflict).
static INSERT_EVENT: Sql = Sql::new(
    "INSERT INTO call_events (call_id, agent, kind, payload, occurred_at, received_at, dedupe_key) \
     VALUES (?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (dedupe_key) DO NOTHING \
     RETURNING sequence",
);

/// The same for an event of the call a vendor reference names, with the
/// call's agent read in the same statement: a webhook for a known call is
/// this one statement. No row back: a re-delivery, or no such call yet.
static INSERT_EVENT_BY_REF: Sql = Sql::new(
    "INSERT INTO call_events (call_id, agent, kind, payload, occurred_at, received_at, dedupe_key) \
     SELECT r.call_id, c.agent, ?, ?, ?, ?, ? \
     FROM call_refs r JOIN calls c ON c.id = r.call_id \
     WHERE r.vendor = ? AND r.kind = ? AND r.value = ? \
     ON CONFLICT (dedupe_key) DO NOTHING \
     RETURNING sequence, call_id, agent",
);

/// Up to this many events per combined statement.
const MAX_COMBINED: usize = 64;

/// The statement inserting `rows` events of calls named by vendor references
/// at once (`rows` a power of two up to [`MAX_COMBINED`]: a batch is padded
/// with rows that match no call, so a handful of statement texts serve every
/// batch size and each is prepared once per connection). Rows whose call is
/// unknown or whose key conflicts insert nothing and return nothing.
/// `ORDER BY` keeps the order in which the events arrived. (A JSON array
/// unpacked by `json_each` was tried first: one text for every size, but
/// SQLite spent more on re-parsing each row's JSON than on inserting it.)
fn combined_insert(backend: DbBackend, rows: usize) -> &'static str {
    static SQLITE: OnceLock<Vec<String>> = OnceLock::new();
    static POSTGRES: OnceLock<Vec<String>> = OnceLock::new();
    let build = |postgres: bool| -> Vec<String> {
        let mut texts = Vec::new();
        let mut size = 1;
        while size <= MAX_COMBINED {
            // Parameters in the order they appear in the text; on SQLite
            // anonymous `?`: with numbered ones sqlx looks each name up in
            // SQLite's list of names, a linear walk per parameter
            // (quadratic in the batch, 3% of a webhook's instructions).
            let mut n = 1;
            let mut param = || {
                let text = if postgres {
                    format!("${n}")
                } else {
                    "?".to_owned()
                };
                n += 1;
                text
            };
            let values: Vec<String> = (0..size)
                .map(|_| {
                    let row: Vec<String> = (0..8).map(|_| param()).collect();
                    format!("({})", row.join(", "))
                })
                .collect();
            let received_at = param();
            let (cast_ord, cast_at) = if postgres {
                ("::int", "::bigint")
            } else {
                ("", "")
            };
            texts.push(format!(
                "WITH v(ord, kind, payload, occurred_at, dedupe_key, vendor, ref_kind, ref_value) \
                 AS (VALUES {values}) \
                 INSERT INTO call_events \
                 (call_id, agent, kind, payload, occurred_at, received_at, dedupe_key) \
                 SELECT r.call_id, c.agent, v.kind, v.payload, v.occurred_at{cast_at}, \
                        {received_at}{cast_at}, v.dedupe_key \
                 FROM v \
                 JOIN call_refs r ON r.vendor = v.vendor AND r.kind = v.ref_kind AND r.value = v.ref_value \
                 JOIN calls c ON c.id = r.call_id \
                 WHERE true \
                 ORDER BY v.ord{cast_ord} \
                 ON CONFLICT (dedupe_key) DO NOTHING \
                 RETURNING sequence, dedupe_key, call_id, agent",
                values = values.join(", ")
            ));
            size *= 2;
        }
        texts
    };
    let texts = match backend {
        DbBackend::Postgres => POSTGRES.get_or_init(|| build(true)),
        _ => SQLITE.get_or_init(|| build(false)),
    };
    let index = rows.next_power_of_two().trailing_zeros() as usize;
    texts.get(index).or(texts.last()).map_or("", String::as_str)
}

static FIND_DEDUPE_KEY: Sql = Sql::new("SELECT call_id FROM call_events WHERE dedupe_key = ?");

/// Appends one event of `call_id` to the log. `agent` is the call's agent now
/// (agent-scoped streams filter on it). One statement (plus, once per batch,
/// the read of the log head).
pub async fn append(
    tx: &mut WriteTx,
    call_id: &CallId,
    agent: Option<&str>,
    event: &Prepared,
) -> StoreResult<Recorded> {
    tx.note_head().await?;
    let received_at = from_micros(to_micros(Utc::now()));
    let row = tx
        .conn()
        .query_one_raw(INSERT_EVENT.statement(
            tx.backend(),
            [
                call_id.as_str().into(),
                agent.map(str::to_owned).into(),
                event.update.kind().into(),
                event.payload.clone().into(),
                to_micros(event.occurred_at).into(),
                to_micros(received_at).into(),
                event.dedupe_key.clone().into(),
            ],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(Recorded::Duplicate);
    };
    let sequence: i64 = row.try_get_by_index(0)?;
    tx.appended(StoredEvent {
        sequence,
        call_id: call_id.clone(),
        agent: agent.map(str::to_owned),
        occurred_at: event.occurred_at,
        received_at,
        update: event.update.clone(),
    });
    Ok(Recorded::Stored(sequence))
}

/// Appends an event to the call `vendor_ref` names, if that call exists:
/// `None` when it does not (the caller creates it and uses [`append`]).
/// For a known call this is one statement; a re-delivery costs a second,
/// to tell it from an unknown call.
pub async fn append_by_ref(
    tx: &mut WriteTx,
    vendor_ref: &VendorRef,
    event: &Prepared,
) -> StoreResult<Option<(CallId, Recorded)>> {
    tx.note_head().await?;
    let received_at = from_micros(to_micros(Utc::now()));
    let row = tx
        .conn()
        .query_one_raw(INSERT_EVENT_BY_REF.statement(
            tx.backend(),
            [
                event.update.kind().into(),
                event.payload.clone().into(),
                to_micros(event.occurred_at).into(),
                to_micros(received_at).into(),
                event.dedupe_key.clone().into(),
                vendor_ref.kind.vendor().as_str().into(),
                vendor_ref.kind.kind().into(),
                vendor_ref.value.clone().into(),
            ],
        ))
        .await?;
    if let Some(row) = row {
        let sequence: i64 = row.try_get_by_index(0)?;
        let call_id = CallId::from_stored(row.try_get_by_index::<String>(1)?);
        let agent: Option<String> = row.try_get_by_index(2)?;
        tx.appended(StoredEvent {
            sequence,
            call_id: call_id.clone(),
            agent,
            occurred_at: event.occurred_at,
            received_at,
            update: event.update.clone(),
        });
        return Ok(Some((call_id, Recorded::Stored(sequence))));
    }
    if let Some(key) = &event.dedupe_key
        && let Some(call_id) = delivered_to(tx, key).await?
    {
        return Ok(Some((call_id, Recorded::Duplicate)));
    }
    Ok(None)
}

/// An event for the call a vendor reference names, which the committer may
/// insert together with the other such events of its batch (see
/// [`append_many_by_ref`]).
#[derive(Debug, Clone)]
pub struct RefAppend {
    pub vendor_ref: VendorRef,
    pub event: Prepared,
}

impl RefAppend {
    /// `event` must carry a dedupe key (it is how a row of the combined
    /// statement finds its writer).
    pub fn new(vendor_ref: VendorRef, event: Prepared) -> StoreResult<Self> {
        if event.dedupe_key.is_none() {
            return Err(StoreError::Corrupt(
                "a combined append needs a dedupe key".to_owned(),
            ));
        }
        Ok(Self { vendor_ref, event })
    }
}

/// Appends many events of calls named by vendor references in one
/// statement. Returns, per item, `Some` when it was stored, `None` when its
/// call is unknown or its dedupe key was already stored (or repeated within
/// `items`): the caller then handles it alone ([`append_by_ref`]).
pub async fn append_many_by_ref(
    tx: &mut WriteTx,
    items: &[&RefAppend],
) -> StoreResult<Vec<Option<Recorded>>> {
    tx.note_head().await?;
    let received_at = from_micros(to_micros(Utc::now()));
    let backend = tx.backend();
    let mut returned = Vec::with_capacity(items.len());
    let mut ord = 0i32;
    for chunk in items.chunks(MAX_COMBINED) {
        let rows = chunk.len().next_power_of_two();
        let mut values: Vec<Value> = Vec::with_capacity(1 + rows * 8);
        for item in chunk {
            let event = &item.event;
            values.extend([
                ord.into(),
                event.update.kind().into(),
                event.payload.clone().into(),
                to_micros(event.occurred_at).into(),
                event.dedupe_key.clone().into(),
                item.vendor_ref.kind.vendor().as_str().into(),
                item.vendor_ref.kind.kind().into(),
                item.vendor_ref.value.clone().into(),
            ]);
            ord += 1;
        }
        // Padding: rows that name no call (an empty vendor), insert nothing.
        for _ in chunk.len()..rows {
            values.extend([
                ord.into(),
                "".into(),
                "".into(),
                0i64.into(),
                Option::<String>::None.into(),
                "".into(),
                "".into(),
                "".into(),
            ]);
            ord += 1;
        }
        values.push(to_micros(received_at).into());
        returned.extend(
            tx.conn()
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    combined_insert(backend, rows),
                    values,
                ))
                .await?,
        );
    }
    // Which item each key belongs to: the first with it (a repeat within
    // the batch conflicted, and is a re-delivery).
    let mut by_key = std::collections::HashMap::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        if let Some(key) = item.event.dedupe_key.as_deref() {
            by_key.entry(key).or_insert(n);
        }
    }
    let mut outcome = vec![None; items.len()];
    let mut stored = Vec::with_capacity(returned.len());
    for row in returned {
        let sequence: i64 = row.try_get_by_index(0)?;
        let key: String = row.try_get_by_index(1)?;
        let call_id = CallId::from_stored(row.try_get_by_index::<String>(2)?);
        let agent: Option<String> = row.try_get_by_index(3)?;
        let Some(&n) = by_key.get(key.as_str()) else {
            return Err(StoreError::Corrupt(format!(
                "a combined append returned an unknown key {key:?}"
            )));
        };
        outcome[n] = Some(Recorded::Stored(sequence));
        stored.push(StoredEvent {
            sequence,
            call_id,
            agent,
            occurred_at: items[n].event.occurred_at,
            received_at,
            update: items[n].event.update.clone(),
        });
    }
    // RETURNING's order is the backend's; the tail needs the log's.
    stored.sort_by_key(|e| e.sequence);
    for event in stored {
        tx.appended(event);
    }
    Ok(outcome)
}

/// The call a vendor delivery with this key was stored for, if it was
/// (within the retention).
pub async fn delivered_to(tx: &WriteTx, dedupe_key: &str) -> StoreResult<Option<CallId>> {
    let row = tx
        .conn()
        .query_one_raw(FIND_DEDUPE_KEY.statement(tx.backend(), [dedupe_key.into()]))
        .await?;
    row.map(|row| Ok(CallId::from_stored(row.try_get_by_index::<String>(0)?)))
        .transpose()
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
    events_between(conn, after, None, filter, limit).await
}

/// Up to `limit` events after `after` and at most `until`, in sequence order.
pub async fn events_between(
    conn: &impl ConnectionTrait,
    after: i64,
    until: Option<i64>,
    filter: &EventFilter,
    limit: u64,
) -> StoreResult<Vec<StoredEvent>> {
    let mut condition = Condition::all().add(call_event::Column::Sequence.gt(after));
    if let Some(until) = until {
        condition = condition.add(call_event::Column::Sequence.lte(until));
    }
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

/// Forgets the dedupe keys of deliveries received before `before` (their
/// events stay); returns how many.
pub async fn prune_dedupe_keys(tx: &WriteTx, before: DateTime<Utc>) -> StoreResult<u64> {
    let result = call_event::Entity::update_many()
        .col_expr(
            call_event::Column::DedupeKey,
            Expr::value(Value::String(None)),
        )
        .filter(call_event::Column::DedupeKey.is_not_null())
        .filter(call_event::Column::ReceivedAt.lt(to_micros(before)))
        .exec(tx.conn())
        .await?;
    Ok(result.rows_affected)
}
