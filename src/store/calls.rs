//! Calls, their vendor references and legs.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};

use super::{
    StoreError, StoreResult, WriteTx,
    entities::{call, call_leg, call_ref},
    from_micros, to_micros,
};
use crate::domain::{
    Call, CallId, CallLeg, CallLookup, CallStatus, DialEventType, Direction, FailureReason,
    LegKind, Provider, RefKind, StatusChanged, VendorRef,
};

/// The fields of a new call.
#[derive(Debug, Clone)]
pub struct CallUpsert {
    pub direction: Direction,
    pub provider: Provider,
    pub status: CallStatus,
    pub failure_reason: Option<FailureReason>,
    pub status_detail: Option<String>,
    pub vendor_status: Option<String>,
    pub caller_phone: Option<String>,
    pub destination_phone: Option<String>,
    pub agent: Option<String>,
    pub started_at: DateTime<Utc>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub vendor_data: Option<serde_json::Value>,
}

impl CallUpsert {
    pub fn new(
        direction: Direction,
        provider: Provider,
        status: CallStatus,
        started_at: DateTime<Utc>,
    ) -> Self {
        Self {
            direction,
            provider,
            status,
            failure_reason: None,
            status_detail: None,
            vendor_status: None,
            caller_phone: None,
            destination_phone: None,
            agent: None,
            started_at,
            scheduled_at: None,
            vendor_data: None,
        }
    }
}

/// ListCalls filters (all optional, combined with AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallFilter {
    pub agent: Option<String>,
    /// Comparison key of a phone number (see `PhoneNumber::key`).
    pub phone_key: Option<String>,
    pub started_from: Option<DateTime<Utc>>,
    pub started_before: Option<DateTime<Utc>>,
    pub status: Option<CallStatus>,
    pub provider: Option<Provider>,
}

/// Where the next ListCalls page starts: after this (started_at, id) in
/// newest-first order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCursor {
    pub started_at: i64,
    pub id: String,
}

pub struct CallPage {
    pub calls: Vec<Call>,
    pub next: Option<PageCursor>,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(super) fn parse_stored<T>(
    parse: impl Fn(&str) -> Option<T>,
    text: &str,
    column: &str,
) -> StoreResult<T> {
    parse(text).ok_or_else(|| corrupt(format!("unknown {column} {text:?}")))
}

async fn to_domain(conn: &impl ConnectionTrait, model: call::Model) -> StoreResult<Call> {
    let refs = call_ref::Entity::find()
        .filter(call_ref::Column::CallId.eq(&model.id))
        .order_by_asc(call_ref::Column::CreatedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(|r| {
            RefKind::from_columns(&r.vendor, &r.kind)
                .map(|kind| VendorRef::new(kind, unscoped(&r.value).to_owned()))
                .ok_or_else(|| corrupt(format!("unknown reference {}:{}", r.vendor, r.kind)))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let provider = parse_stored(Provider::from_stored, &model.provider, "provider")?;
    // Only FocalScope dials have legs: other calls skip the query.
    let legs = if provider == Provider::FocalScope {
        load_legs(conn, &model.id).await?
    } else {
        Vec::new()
    };
    Ok(Call {
        id: CallId::from_stored(model.id),
        direction: parse_stored(Direction::from_stored, &model.direction, "direction")?,
        provider,
        status: parse_stored(CallStatus::from_stored, &model.status, "status")?,
        failure_reason: model
            .failure_reason
            .as_deref()
            .map(|r| parse_stored(FailureReason::from_stored, r, "failure reason"))
            .transpose()?,
        status_detail: model.status_detail,
        vendor_status: model.vendor_status,
        caller_phone: model.caller_phone,
        destination_phone: model.destination_phone,
        agent: model.agent,
        started_at: from_micros(model.started_at),
        scheduled_at: model.scheduled_at.map(from_micros),
        created_at: from_micros(model.created_at),
        updated_at: from_micros(model.updated_at),
        refs,
        legs,
        vendor_data: model
            .vendor_data
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(format!("vendor_data: {e}")))?,
    })
}

async fn load_legs(conn: &impl ConnectionTrait, call_id: &str) -> StoreResult<Vec<CallLeg>> {
    call_leg::Entity::find()
        .filter(call_leg::Column::CallId.eq(call_id))
        .order_by_asc(call_leg::Column::Kind)
        .all(conn)
        .await?
        .into_iter()
        .map(|leg| {
            Ok(CallLeg {
                kind: parse_stored(LegKind::from_stored, &leg.kind, "leg kind")?,
                focalscope_call_id: leg.focalscope_call_id,
                call_uuid: leg.call_uuid,
                last_event: leg
                    .last_event
                    .as_deref()
                    .map(|e| parse_stored(DialEventType::from_stored, e, "dial event"))
                    .transpose()?,
                last_event_code: leg.last_event_code,
                recorded: leg.recorded,
                updated_at: from_micros(leg.updated_at),
            })
        })
        .collect::<StoreResult<Vec<_>>>()
}

/// The id of the call a reference names, if any.
pub async fn find_call_id(
    conn: &impl ConnectionTrait,
    lookup: &CallLookup,
) -> StoreResult<Option<CallId>> {
    match lookup {
        CallLookup::Id(id) => Ok(call::Entity::find_by_id(id.as_str().to_owned())
            .one(conn)
            .await?
            .map(|m| CallId::from_stored(m.id))),
        CallLookup::Vendor(vendor_ref) => Ok(call_ref::Entity::find_by_id((
            vendor_ref.kind.vendor().as_str().to_owned(),
            vendor_ref.kind.kind().to_owned(),
            vendor_ref.value.clone(),
        ))
        .one(conn)
        .await?
        .map(|r| CallId::from_stored(r.call_id))),
    }
}

/// The agent of a call (one column).
pub async fn agent_of(conn: &impl ConnectionTrait, id: &CallId) -> StoreResult<Option<String>> {
    let agent: Option<Option<String>> = call::Entity::find_by_id(id.as_str().to_owned())
        .select_only()
        .column(call::Column::Agent)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(agent.flatten())
}

/// A call with its refs and legs.
pub async fn load_call(conn: &impl ConnectionTrait, id: &CallId) -> StoreResult<Option<Call>> {
    match call::Entity::find_by_id(id.as_str().to_owned())
        .one(conn)
        .await?
    {
        Some(model) => Ok(Some(to_domain(conn, model).await?)),
        None => Ok(None),
    }
}

/// The call a reference names, with its refs and legs: two queries (three
/// for a FocalScope dial, which has legs). A vendor reference is joined to
/// its call rather than resolved first.
pub async fn find_call(
    conn: &impl ConnectionTrait,
    lookup: &CallLookup,
) -> StoreResult<Option<Call>> {
    let model = match lookup {
        CallLookup::Id(id) => {
            call::Entity::find_by_id(id.as_str().to_owned())
                .one(conn)
                .await?
        }
        CallLookup::Vendor(vendor_ref) => {
            call::Entity::find()
                .join(
                    sea_orm::JoinType::InnerJoin,
                    call::Entity::belongs_to(call_ref::Entity)
                        .from(call::Column::Id)
                        .to(call_ref::Column::CallId)
                        .into(),
                )
                .filter(call_ref::Column::Vendor.eq(vendor_ref.kind.vendor().as_str()))
                .filter(call_ref::Column::Kind.eq(vendor_ref.kind.kind()))
                .filter(call_ref::Column::Value.eq(vendor_ref.value.as_str()))
                .one(conn)
                .await?
        }
    };
    match model {
        Some(model) => Ok(Some(to_domain(conn, model).await?)),
        None => Ok(None),
    }
}

fn phone_key(phone: Option<&str>) -> Option<String> {
    phone.and_then(crate::domain::PhoneNumber::key_of)
}

/// Inserts a new call with its references.
pub async fn insert_call(
    tx: &WriteTx,
    fields: CallUpsert,
    refs: &[VendorRef],
) -> StoreResult<CallId> {
    Ok(insert_call_record(tx, fields, refs).await?.id)
}

/// Inserts a new call with its references and returns it as stored (no read
/// back: a new call is what was written, with no legs yet).
pub async fn insert_call_record(
    tx: &WriteTx,
    fields: CallUpsert,
    refs: &[VendorRef],
) -> StoreResult<Call> {
    let id = CallId::new();
    let now = Utc::now();
    let vendor_data = fields
        .vendor_data
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| corrupt(format!("vendor_data: {e}")))?;
    call::Entity::insert(call::ActiveModel {
        id: Set(id.as_str().to_owned()),
        direction: Set(fields.direction.as_str().to_owned()),
        provider: Set(fields.provider.as_str().to_owned()),
        status: Set(fields.status.as_str().to_owned()),
        failure_reason: Set(fields.failure_reason.map(|r| r.as_str().to_owned())),
        status_detail: Set(fields.status_detail.clone()),
        vendor_status: Set(fields.vendor_status.clone()),
        caller_phone_key: Set(phone_key(fields.caller_phone.as_deref())),
        caller_phone: Set(fields.caller_phone.clone()),
        destination_phone_key: Set(phone_key(fields.destination_phone.as_deref())),
        destination_phone: Set(fields.destination_phone.clone()),
        agent: Set(fields.agent.clone()),
        started_at: Set(to_micros(fields.started_at)),
        scheduled_at: Set(fields.scheduled_at.map(to_micros)),
        created_at: Set(to_micros(now)),
        updated_at: Set(to_micros(now)),
        vendor_data: Set(vendor_data),
    })
    .exec_without_returning(tx.conn())
    .await?;
    add_refs(tx, &id, refs).await?;
    // Stored times have microsecond precision: hand back what a read gives.
    let now = from_micros(to_micros(now));
    let at = |time: DateTime<Utc>| from_micros(to_micros(time));
    Ok(Call {
        id,
        direction: fields.direction,
        provider: fields.provider,
        status: fields.status,
        failure_reason: fields.failure_reason,
        status_detail: fields.status_detail,
        vendor_status: fields.vendor_status,
        caller_phone: fields.caller_phone,
        destination_phone: fields.destination_phone,
        agent: fields.agent,
        started_at: at(fields.started_at),
        scheduled_at: fields.scheduled_at.map(at),
        created_at: now,
        updated_at: now,
        refs: refs.to_vec(),
        legs: Vec::new(),
        vendor_data: fields.vendor_data,
    })
}

/// Attaches references to a call. A reference already attached to this call
/// is left alone; one attached to another call is an error (a vendor id names
/// one call).
pub async fn add_refs(tx: &WriteTx, id: &CallId, refs: &[VendorRef]) -> StoreResult<()> {
    let now = to_micros(Utc::now());
    for vendor_ref in refs {
        let inserted = call_ref::Entity::insert(call_ref::ActiveModel {
            vendor: Set(vendor_ref.kind.vendor().as_str().to_owned()),
            kind: Set(vendor_ref.kind.kind().to_owned()),
            value: Set(vendor_ref.value.clone()),
            call_id: Set(id.as_str().to_owned()),
            created_at: Set(now),
            superseded_by: Set(None),
        })
        .on_conflict(
            OnConflict::columns([
                call_ref::Column::Vendor,
                call_ref::Column::Kind,
                call_ref::Column::Value,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(tx.conn())
        .await?;
        if inserted == 0 {
            let owner = find_call_id(tx.conn(), &CallLookup::Vendor(vendor_ref.clone())).await?;
            if owner.as_ref() != Some(id) {
                return Err(StoreError::RefConflict(format!(
                    "{} {} already belongs to another call",
                    vendor_ref.kind, vendor_ref.value
                )));
            }
        }
    }
    Ok(())
}

/// Attaches a reference unless it already belongs to another call; returns
/// whether it is now attached to `id`. For vendor callbacks, where refusing
/// the whole delivery over one conflicting id would lose the event.
pub async fn try_add_ref(tx: &WriteTx, id: &CallId, vendor_ref: &VendorRef) -> StoreResult<bool> {
    match find_call_id(tx.conn(), &CallLookup::Vendor(vendor_ref.clone())).await? {
        Some(owner) => Ok(&owner == id),
        None => {
            add_refs(tx, id, std::slice::from_ref(vendor_ref)).await?;
            Ok(true)
        }
    }
}

/// The call a vendor reference names, created from `fields` when there is
/// none yet (a webhook or callback can arrive before the RPC that caused it
/// has committed; it is kept and the RPC later finds this call). Returns the
/// call id and whether it was created.
pub async fn find_or_create_by_ref(
    tx: &WriteTx,
    vendor_ref: &VendorRef,
    fields: impl FnOnce() -> CallUpsert,
) -> StoreResult<(CallId, bool)> {
    // Writers are serialised (see `WriteTx`), so nobody can create the same
    // reference between this read and the insert.
    if let Some(id) = find_call_id(tx.conn(), &CallLookup::Vendor(vendor_ref.clone())).await? {
        return Ok((id, false));
    }
    let id = insert_call(tx, fields(), std::slice::from_ref(vendor_ref)).await?;
    Ok((id, true))
}

/// A vendor id reused for another call is stored for that call as
/// `<id>@<unix micros of the reuse>` (the plain id stays with its first
/// call); the call shows it without the scope.
const REUSE_SCOPE: char = '@';

fn unscoped(value: &str) -> &str {
    value.split_once(REUSE_SCOPE).map_or(value, |(id, _)| id)
}

/// The call a FocalScope callback belongs to, by its `RequestID`: the newest
/// dial that got this id (see [`supersede`]). Returns the call's id, agent
/// and status in one query.
pub async fn dial_of_request(
    tx: &WriteTx,
    vendor_ref: &VendorRef,
) -> StoreResult<Option<(CallId, Option<String>, CallStatus)>> {
    static FIND: super::events::Sql = super::events::Sql::new(
        "SELECT c.id, c.agent, c.status FROM call_refs r \
         JOIN calls c ON c.id = COALESCE(r.superseded_by, r.call_id) \
         WHERE r.vendor = ? AND r.kind = ? AND r.value = ?",
    );
    let row = tx
        .conn()
        .query_one_raw(FIND.statement(
            tx.backend(),
            [
                vendor_ref.kind.vendor().as_str().into(),
                vendor_ref.kind.kind().into(),
                vendor_ref.value.clone().into(),
            ],
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    let status: String = row.try_get_by_index(2)?;
    Ok(Some((
        CallId::from_stored(row.try_get_by_index::<String>(0)?),
        row.try_get_by_index(1)?,
        parse_stored(CallStatus::from_stored, &status, "status")?,
    )))
}

/// Whether a dial (an RPC with a `request_id`) produced this call, as
/// opposed to a vendor callback that arrived before its dial was recorded.
pub async fn is_dial_call(tx: &WriteTx, id: &CallId) -> StoreResult<bool> {
    use super::entities::idempotency;
    Ok(idempotency::Entity::find()
        .filter(idempotency::Column::CallId.eq(id.as_str()))
        .one(tx.conn())
        .await?
        .is_some())
}

/// Records that the vendor handed `vendor_ref`, which belongs to another
/// call, to `id` as well: the reference stays with its owner, untouched;
/// `id` gets it scoped by the time of the reuse, and the owner's row points
/// at `id` so the vendor's later callbacks with this id reach the newest
/// call.
pub async fn supersede(tx: &WriteTx, vendor_ref: &VendorRef, id: &CallId) -> StoreResult<()> {
    let scoped = VendorRef::new(
        vendor_ref.kind,
        format!("{}{REUSE_SCOPE}{}", vendor_ref.value, to_micros(Utc::now())),
    );
    add_refs(tx, id, std::slice::from_ref(&scoped)).await?;
    call_ref::Entity::update_many()
        .col_expr(
            call_ref::Column::SupersededBy,
            Some(id.as_str().to_owned()).into(),
        )
        .filter(call_ref::Column::Vendor.eq(vendor_ref.kind.vendor().as_str()))
        .filter(call_ref::Column::Kind.eq(vendor_ref.kind.kind()))
        .filter(call_ref::Column::Value.eq(vendor_ref.value.as_str()))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Moves a call to `status` if that is progress (statuses only move forward)
/// and returns the change, or `None` when the call stays as it is.
pub async fn advance_status(
    tx: &WriteTx,
    id: &CallId,
    status: CallStatus,
    failure_reason: Option<FailureReason>,
    detail: Option<String>,
) -> StoreResult<Option<StatusChanged>> {
    let Some(model) = call::Entity::find_by_id(id.as_str().to_owned())
        .one(tx.conn())
        .await?
    else {
        return Err(corrupt(format!("call {id} vanished during a write")));
    };
    let current = parse_stored(CallStatus::from_stored, &model.status, "status")?;
    advance_status_from(tx, id, current, status, failure_reason, detail).await
}

/// [`advance_status`] for a caller that read the current status in this
/// transaction already (one statement instead of two).
pub async fn advance_status_from(
    tx: &WriteTx,
    id: &CallId,
    current: CallStatus,
    status: CallStatus,
    failure_reason: Option<FailureReason>,
    detail: Option<String>,
) -> StoreResult<Option<StatusChanged>> {
    if !current.can_move_to(status) {
        return Ok(None);
    }
    call::Entity::update_many()
        .col_expr(call::Column::Status, status.as_str().into())
        .col_expr(
            call::Column::FailureReason,
            failure_reason.map(|r| r.as_str().to_owned()).into(),
        )
        .col_expr(call::Column::StatusDetail, detail.clone().into())
        .col_expr(call::Column::UpdatedAt, to_micros(Utc::now()).into())
        .filter(call::Column::Id.eq(id.as_str()))
        .exec(tx.conn())
        .await?;
    Ok(Some(StatusChanged {
        previous: Some(current),
        status,
        failure_reason,
        detail,
    }))
}

/// Sets the call's agent; returns the previous one.
pub async fn set_agent(tx: &WriteTx, id: &CallId, agent: &str) -> StoreResult<Option<String>> {
    let Some(model) = call::Entity::find_by_id(id.as_str().to_owned())
        .one(tx.conn())
        .await?
    else {
        return Err(corrupt(format!("call {id} vanished during a write")));
    };
    call::Entity::update_many()
        .col_expr(call::Column::Agent, agent.into())
        .col_expr(call::Column::UpdatedAt, to_micros(Utc::now()).into())
        .filter(call::Column::Id.eq(id.as_str()))
        .exec(tx.conn())
        .await?;
    Ok(model.agent)
}

/// Fills in what a call learnt later — StartCall after an Optico webhook
/// created it, or a dial's answer after an early FocalScope callback did:
/// direction, provider, start time, and phones, agent, vendor status,
/// schedule and vendor data when given.
pub async fn complete_call(tx: &WriteTx, id: &CallId, fields: &CallUpsert) -> StoreResult<()> {
    let mut update = call::Entity::update_many()
        .col_expr(call::Column::UpdatedAt, to_micros(Utc::now()).into())
        .col_expr(call::Column::Direction, fields.direction.as_str().into())
        .col_expr(call::Column::Provider, fields.provider.as_str().into())
        .col_expr(call::Column::StartedAt, to_micros(fields.started_at).into())
        .filter(call::Column::Id.eq(id.as_str()));
    if let Some(phone) = &fields.caller_phone {
        update = update
            .col_expr(call::Column::CallerPhone, phone.clone().into())
            .col_expr(call::Column::CallerPhoneKey, phone_key(Some(phone)).into());
    }
    if let Some(phone) = &fields.destination_phone {
        update = update
            .col_expr(call::Column::DestinationPhone, phone.clone().into())
            .col_expr(
                call::Column::DestinationPhoneKey,
                phone_key(Some(phone)).into(),
            );
    }
    if let Some(agent) = &fields.agent {
        update = update.col_expr(call::Column::Agent, agent.clone().into());
    }
    if let Some(vendor_status) = &fields.vendor_status {
        update = update.col_expr(call::Column::VendorStatus, vendor_status.clone().into());
    }
    if let Some(scheduled_at) = fields.scheduled_at {
        update = update.col_expr(
            call::Column::ScheduledAt,
            Some(to_micros(scheduled_at)).into(),
        );
    }
    if let Some(data) = &fields.vendor_data {
        let text = serde_json::to_string(data).map_err(|e| corrupt(format!("vendor_data: {e}")))?;
        update = update.col_expr(call::Column::VendorData, Some(text).into());
    }
    update.exec(tx.conn()).await?;
    Ok(())
}

/// One FocalScope callback on a leg, as `upsert_leg` records it.
#[derive(Debug, Clone)]
pub struct LegEvent<'a> {
    pub kind: LegKind,
    pub focalscope_call_id: Option<&'a str>,
    pub call_uuid: Option<&'a str>,
    pub event: DialEventType,
    pub event_code: Option<i32>,
    pub recorded: bool,
    /// Vendor time order of the event (when it was received).
    pub at: DateTime<Utc>,
}

/// Records the latest event of a FocalScope leg. Returns false (and changes
/// nothing but ids and the recorded flag) when the stored event is newer than
/// this one.
pub async fn upsert_leg(tx: &WriteTx, id: &CallId, leg_event: &LegEvent<'_>) -> StoreResult<bool> {
    let LegEvent {
        kind,
        focalscope_call_id,
        call_uuid,
        event,
        event_code,
        recorded,
        at,
    } = leg_event.clone();
    let now = to_micros(Utc::now());
    let existing = call_leg::Entity::find_by_id((id.as_str().to_owned(), kind.as_str().to_owned()))
        .one(tx.conn())
        .await?;
    let event_at = to_micros(at);
    match existing {
        None => {
            call_leg::Entity::insert(call_leg::ActiveModel {
                call_id: Set(id.as_str().to_owned()),
                kind: Set(kind.as_str().to_owned()),
                focalscope_call_id: Set(focalscope_call_id.map(str::to_owned)),
                call_uuid: Set(call_uuid.map(str::to_owned)),
                last_event: Set(Some(event.as_str().to_owned())),
                last_event_code: Set(event_code),
                last_event_at: Set(Some(event_at)),
                recorded: Set(recorded),
                updated_at: Set(now),
            })
            .exec_without_returning(tx.conn())
            .await?;
            Ok(true)
        }
        Some(leg) => {
            let newer = leg.last_event_at.is_none_or(|at| event_at >= at);
            let mut update = call_leg::Entity::update_many()
                .col_expr(call_leg::Column::UpdatedAt, now.into())
                // A recorded flag, once seen, stays.
                .col_expr(
                    call_leg::Column::Recorded,
                    (leg.recorded || recorded).into(),
                )
                .filter(call_leg::Column::CallId.eq(id.as_str()))
                .filter(call_leg::Column::Kind.eq(kind.as_str()));
            if leg.focalscope_call_id.is_none() && focalscope_call_id.is_some() {
                update = update.col_expr(
                    call_leg::Column::FocalscopeCallId,
                    focalscope_call_id.map(str::to_owned).into(),
                );
            }
            if leg.call_uuid.is_none() && call_uuid.is_some() {
                update = update.col_expr(
                    call_leg::Column::CallUuid,
                    call_uuid.map(str::to_owned).into(),
                );
            }
            if newer {
                update = update
                    .col_expr(
                        call_leg::Column::LastEvent,
                        Some(event.as_str().to_owned()).into(),
                    )
                    .col_expr(call_leg::Column::LastEventCode, event_code.into())
                    .col_expr(call_leg::Column::LastEventAt, Some(event_at).into());
            }
            update.exec(tx.conn()).await?;
            Ok(newer)
        }
    }
}

/// One page of calls, newest start first.
pub async fn list_calls(
    conn: &impl ConnectionTrait,
    filter: &CallFilter,
    page_size: u64,
    after: Option<&PageCursor>,
) -> StoreResult<CallPage> {
    let mut condition = Condition::all();
    if let Some(agent) = &filter.agent {
        condition = condition.add(call::Column::Agent.eq(agent.as_str()));
    }
    if let Some(key) = &filter.phone_key {
        condition = condition.add(
            Condition::any()
                .add(call::Column::CallerPhoneKey.eq(key.as_str()))
                .add(call::Column::DestinationPhoneKey.eq(key.as_str())),
        );
    }
    if let Some(from) = filter.started_from {
        condition = condition.add(call::Column::StartedAt.gte(to_micros(from)));
    }
    if let Some(before) = filter.started_before {
        condition = condition.add(call::Column::StartedAt.lt(to_micros(before)));
    }
    if let Some(status) = filter.status {
        condition = condition.add(call::Column::Status.eq(status.as_str()));
    }
    if let Some(provider) = filter.provider {
        condition = condition.add(call::Column::Provider.eq(provider.as_str()));
    }
    if let Some(cursor) = after {
        condition = condition.add(
            Condition::any()
                .add(call::Column::StartedAt.lt(cursor.started_at))
                .add(
                    Condition::all()
                        .add(call::Column::StartedAt.eq(cursor.started_at))
                        .add(call::Column::Id.lt(cursor.id.as_str())),
                ),
        );
    }
    // One extra row tells whether there is a next page.
    let mut models = call::Entity::find()
        .filter(condition)
        .order_by_desc(call::Column::StartedAt)
        .order_by_desc(call::Column::Id)
        .limit(page_size + 1)
        .all(conn)
        .await?;
    let has_more = models.len() as u64 > page_size;
    models.truncate(page_size as usize);
    let next = if has_more {
        models.last().map(|m| PageCursor {
            started_at: m.started_at,
            id: m.id.clone(),
        })
    } else {
        None
    };
    let mut calls = Vec::with_capacity(models.len());
    for model in models {
        calls.push(to_domain(conn, model).await?);
    }
    Ok(CallPage { calls, next })
}
