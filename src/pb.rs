//! The generated protobuf/tonic code, the descriptor set served by
//! reflection, and conversions between proto messages and domain types.
//!
//! Conversions destructure proto messages field by field where they read
//! them, so a field added to the contract does not compile until it is
//! handled.

use chrono::{DateTime, TimeZone, Utc};
use prost_types::Timestamp;

use crate::domain::{
    self, CallId, CallLookup, FieldViolation, RefKind, StoredEvent, Update, VendorRef, ccai,
};

#[allow(clippy::all, clippy::pedantic, deprecated, missing_docs)]
pub mod v1 {
    tonic::include_proto!("switchboard.v1");
}

/// Encoded `FileDescriptorSet` of every switchboard proto (and its imports),
/// for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/switchboard_descriptor.bin"));

use v1 as pb;

// ---- times ----

pub fn timestamp(time: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

pub fn opt_timestamp(time: Option<DateTime<Utc>>) -> Option<Timestamp> {
    time.map(timestamp)
}

/// Reads a client timestamp; `field` names it in the error.
pub fn from_timestamp(field: &str, value: &Timestamp) -> Result<DateTime<Utc>, FieldViolation> {
    if !(0..1_000_000_000).contains(&value.nanos) {
        return Err(FieldViolation::new(field, "has nanos outside 0..999999999"));
    }
    Utc.timestamp_opt(value.seconds, value.nanos as u32)
        .single()
        .filter(|t| (1970..=9999).contains(&chrono::Datelike::year(t)))
        .ok_or_else(|| {
            FieldViolation::new(field, "is not a valid time between years 1970 and 9999")
        })
}

/// Reads a required client timestamp.
pub fn required_timestamp(
    field: &str,
    value: Option<&Timestamp>,
) -> Result<DateTime<Utc>, FieldViolation> {
    match value {
        Some(value) => from_timestamp(field, value),
        None => Err(FieldViolation::new(field, "is required")),
    }
}

/// Reads a proto enum field; a number the contract does not define is a
/// violation naming `field`.
pub fn enum_value<E: TryFrom<i32>>(field: &str, value: i32) -> Result<E, FieldViolation> {
    E::try_from(value).map_err(|_| FieldViolation::new(field, format!("has unknown value {value}")))
}

// ---- call references ----

/// Validates a `CallRef` (field `field`, e.g. "call") into a lookup.
pub fn call_lookup(field: &str, value: Option<&pb::CallRef>) -> Result<CallLookup, FieldViolation> {
    use pb::call_ref::Ref;
    let Some(pb::CallRef { r#ref }) = value else {
        return Err(FieldViolation::new(
            field,
            "is required: set one of id, optico_call_id, focalscope_request_id, focalscope_call_id, call_uuid, ccai_call_id",
        ));
    };
    let Some(reference) = r#ref else {
        return Err(FieldViolation::new(
            field,
            "is empty: set one of id, optico_call_id, focalscope_request_id, focalscope_call_id, call_uuid, ccai_call_id",
        ));
    };
    let numeric = |sub: &str, kind: RefKind, value: &str| -> Result<CallLookup, FieldViolation> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(FieldViolation::new(format!("{field}.{sub}"), "is empty"));
        }
        match trimmed.parse::<u64>() {
            Ok(number) if number > 0 => {
                Ok(CallLookup::Vendor(VendorRef::new(kind, number.to_string())))
            }
            _ => Err(FieldViolation::new(
                format!("{field}.{sub}"),
                format!("must be a positive integer, got {value:?}"),
            )),
        }
    };
    match reference {
        Ref::Id(id) => CallId::parse(&format!("{field}.id"), id).map(CallLookup::Id),
        Ref::OpticoCallId(value) => numeric("optico_call_id", RefKind::OpticoCallId, value),
        Ref::FocalscopeRequestId(value) => {
            numeric("focalscope_request_id", RefKind::FocalscopeRequestId, value)
        }
        Ref::FocalscopeCallId(value) => {
            numeric("focalscope_call_id", RefKind::FocalscopeCallId, value)
        }
        Ref::CcaiCallId(value) => numeric("ccai_call_id", RefKind::CcaiCallId, value),
        Ref::CallUuid(value) => {
            let trimmed = value.trim();
            let valid = !trimmed.is_empty()
                && trimmed.len() <= 64
                && trimmed.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if valid {
                Ok(CallLookup::Vendor(VendorRef::new(
                    RefKind::CallUuid,
                    trimmed.to_ascii_lowercase(),
                )))
            } else {
                Err(FieldViolation::new(
                    format!("{field}.call_uuid"),
                    format!("is not a FocalScope CallUUID (hex digits and dashes), got {value:?}"),
                ))
            }
        }
    }
}

// ---- enums ----

pub fn provider(value: domain::Provider) -> pb::Provider {
    match value {
        domain::Provider::Optico => pb::Provider::Optico,
        domain::Provider::FocalScope => pb::Provider::Focalscope,
        domain::Provider::Ccai => pb::Provider::Ccai,
        // No call is ever stored with iAdvize as its provider.
        domain::Provider::Iadvize => pb::Provider::Unspecified,
    }
}

pub fn provider_from(value: pb::Provider) -> Option<domain::Provider> {
    match value {
        pb::Provider::Unspecified => None,
        pb::Provider::Optico => Some(domain::Provider::Optico),
        pb::Provider::Focalscope => Some(domain::Provider::FocalScope),
        pb::Provider::Ccai => Some(domain::Provider::Ccai),
    }
}

pub fn call_status(value: domain::CallStatus) -> pb::CallStatus {
    use domain::CallStatus as S;
    match value {
        S::Active => pb::CallStatus::Active,
        S::Dialing => pb::CallStatus::Dialing,
        S::AgentAnswered => pb::CallStatus::AgentAnswered,
        S::Connected => pb::CallStatus::Connected,
        S::Ended => pb::CallStatus::Ended,
        S::Failed => pb::CallStatus::Failed,
        S::Unknown => pb::CallStatus::Unknown,
        S::PendingAgentAction => pb::CallStatus::PendingAgentAction,
        S::Queued => pb::CallStatus::Queued,
        S::Scheduled => pb::CallStatus::Scheduled,
        S::Assigned => pb::CallStatus::Assigned,
    }
}

pub fn call_status_from(value: pb::CallStatus) -> Option<domain::CallStatus> {
    use domain::CallStatus as S;
    match value {
        pb::CallStatus::Unspecified => None,
        pb::CallStatus::Active => Some(S::Active),
        pb::CallStatus::Dialing => Some(S::Dialing),
        pb::CallStatus::AgentAnswered => Some(S::AgentAnswered),
        pb::CallStatus::Connected => Some(S::Connected),
        pb::CallStatus::Ended => Some(S::Ended),
        pb::CallStatus::Failed => Some(S::Failed),
        pb::CallStatus::Unknown => Some(S::Unknown),
        pb::CallStatus::PendingAgentAction => Some(S::PendingAgentAction),
        pb::CallStatus::Queued => Some(S::Queued),
        pb::CallStatus::Scheduled => Some(S::Scheduled),
        pb::CallStatus::Assigned => Some(S::Assigned),
    }
}

fn failure_reason(value: Option<domain::FailureReason>) -> pb::FailureReason {
    use domain::FailureReason as F;
    match value {
        None => pb::FailureReason::Unspecified,
        Some(F::AgentMissed) => pb::FailureReason::AgentMissed,
        Some(F::CustomerMissed) => pb::FailureReason::CustomerMissed,
        Some(F::AgentHungUp) => pb::FailureReason::AgentHungUp,
        Some(F::VendorFailed) => pb::FailureReason::VendorFailed,
    }
}

fn direction(value: domain::Direction) -> pb::CallDirection {
    match value {
        domain::Direction::Inbound => pb::CallDirection::Inbound,
        domain::Direction::Outbound => pb::CallDirection::Outbound,
    }
}

fn ref_kind(value: RefKind) -> pb::RefKind {
    match value {
        RefKind::OpticoCallId => pb::RefKind::OpticoCallId,
        RefKind::FocalscopeRequestId => pb::RefKind::FocalscopeRequestId,
        RefKind::FocalscopeCallId => pb::RefKind::FocalscopeCallId,
        RefKind::CallUuid => pb::RefKind::CallUuid,
        RefKind::CcaiCallId => pb::RefKind::CcaiCallId,
    }
}

fn leg_kind(value: domain::LegKind) -> pb::LegKind {
    match value {
        domain::LegKind::Agent => pb::LegKind::Agent,
        domain::LegKind::Customer => pb::LegKind::Customer,
    }
}

fn dial_event_type(value: domain::DialEventType) -> pb::DialEventType {
    match value {
        domain::DialEventType::Pickup => pb::DialEventType::Pickup,
        domain::DialEventType::Missed => pb::DialEventType::Missed,
        domain::DialEventType::Hangup => pb::DialEventType::Hangup,
    }
}

// ---- messages ----

pub fn call(value: &domain::Call) -> pb::Call {
    let domain::Call {
        id,
        direction: call_direction,
        provider: call_provider,
        status,
        failure_reason: reason,
        status_detail,
        vendor_status,
        caller_phone,
        destination_phone,
        agent,
        started_at,
        scheduled_at,
        created_at,
        updated_at,
        refs,
        legs,
        vendor_data,
    } = value;
    pb::Call {
        id: id.to_string(),
        direction: direction(*call_direction).into(),
        status: call_status(*status).into(),
        failure_reason: failure_reason(*reason).into(),
        provider: provider(*call_provider).into(),
        caller_phone: caller_phone.clone().unwrap_or_default(),
        destination_phone: destination_phone.clone().unwrap_or_default(),
        agent: agent.clone().unwrap_or_default(),
        start_time: Some(timestamp(*started_at)),
        create_time: Some(timestamp(*created_at)),
        update_time: Some(timestamp(*updated_at)),
        refs: refs
            .iter()
            .map(|r| pb::CallReference {
                kind: ref_kind(r.kind).into(),
                value: r.value.clone(),
            })
            .collect(),
        legs: legs.iter().map(call_leg).collect(),
        vendor_status: vendor_status.clone().unwrap_or_default(),
        status_detail: status_detail.clone().unwrap_or_default(),
        ccai: match call_provider {
            // The stored call object is read back by the CCAI adapter.
            domain::Provider::Ccai => vendor_data
                .as_ref()
                .and_then(crate::vendors::ccai::stored_call)
                .map(ccai_call),
            _ => None,
        },
        scheduled_time: opt_timestamp(*scheduled_at),
    }
}

fn call_leg(leg: &domain::CallLeg) -> pb::CallLeg {
    pb::CallLeg {
        kind: leg_kind(leg.kind).into(),
        focalscope_call_id: leg.focalscope_call_id.clone().unwrap_or_default(),
        call_uuid: leg.call_uuid.clone().unwrap_or_default(),
        last_event: leg
            .last_event
            .map_or(pb::DialEventType::Unspecified, dial_event_type)
            .into(),
        last_event_code: leg.last_event_code.unwrap_or_default(),
        recorded: leg.recorded,
        update_time: Some(timestamp(leg.updated_at)),
    }
}

// ---- CCAI call object ----

fn int32(value: Option<i64>) -> i32 {
    value
        .unwrap_or_default()
        .clamp(i32::MIN.into(), i32::MAX.into()) as i32
}

fn ccai_menu_path(path: ccai::CcaiMenuPath) -> pb::CcaiMenuPath {
    let ccai::CcaiMenuPath {
        items_count,
        name,
        materialized_path,
    } = path;
    pb::CcaiMenuPath {
        items_count: int32(items_count),
        name: name.unwrap_or_default(),
        materialized_path: materialized_path.unwrap_or_default(),
    }
}

fn ccai_agent(agent: ccai::CcaiAgent) -> pb::CcaiAgent {
    let ccai::CcaiAgent {
        id,
        name,
        last_name,
        first_name,
        agent_number,
        avatar_url,
    } = agent;
    pb::CcaiAgent {
        id: id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        first_name: first_name.unwrap_or_default(),
        agent_number: agent_number.unwrap_or_default(),
        avatar_url: avatar_url.unwrap_or_default(),
    }
}

/// The CCAI call object of a CCAI call.
pub fn ccai_call(call: ccai::CcaiCall) -> pb::CcaiCall {
    let ccai::CcaiCall {
        id,
        parent_id,
        lang,
        call_type,
        status,
        created_at,
        queued_at,
        assigned_at,
        connected_at,
        ends_at,
        scheduled_at,
        wait_duration,
        call_duration,
        hold_duration,
        rating,
        has_feedback,
        voip_provider,
        out_ticket_id,
        out_ticket_url,
        verified,
        recording_url,
        recording_permission,
        voicemail_reason,
        deflection,
        disconnected_by,
        fail_details,
        fail_reason,
        support_number,
        selected_menu,
        menu_path,
        agent_info,
        end_user,
        photos,
        videos,
        transfers,
        participants,
        offer_type,
        offer_events,
        answer_type,
        outbound_number,
    } = call;
    pb::CcaiCall {
        id: id.unwrap_or_default(),
        parent_id: parent_id.unwrap_or_default(),
        lang: lang.unwrap_or_default(),
        call_type: call_type.unwrap_or_default(),
        status: status.unwrap_or_default(),
        created_at: opt_timestamp(created_at),
        queued_at: opt_timestamp(queued_at),
        assigned_at: opt_timestamp(assigned_at),
        connected_at: opt_timestamp(connected_at),
        ends_at: opt_timestamp(ends_at),
        scheduled_at: opt_timestamp(scheduled_at),
        wait_duration: int32(wait_duration),
        call_duration: int32(call_duration),
        hold_duration: int32(hold_duration),
        rating: int32(rating),
        has_feedback: has_feedback.unwrap_or_default(),
        voip_provider: voip_provider.unwrap_or_default(),
        out_ticket_id: out_ticket_id.unwrap_or_default(),
        out_ticket_url: out_ticket_url.unwrap_or_default(),
        verified: verified.unwrap_or_default(),
        recording_url: recording_url.unwrap_or_default(),
        recording_permission: recording_permission.unwrap_or_default(),
        voicemail_reason: voicemail_reason.unwrap_or_default(),
        deflection: deflection.unwrap_or_default(),
        disconnected_by: disconnected_by.unwrap_or_default(),
        fail_details: fail_details.unwrap_or_default(),
        fail_reason: fail_reason.unwrap_or_default(),
        support_number: support_number.unwrap_or_default(),
        selected_menu: selected_menu.map(|menu| pb::CcaiMenu {
            id: menu.id.unwrap_or_default(),
            name: menu.name.unwrap_or_default(),
            parent_id: menu.parent_id.unwrap_or_default(),
            position: int32(menu.position),
            deleted: menu.deleted.unwrap_or_default(),
            hidden: menu.hidden.unwrap_or_default(),
            menu_type: menu.menu_type.unwrap_or_default(),
            output_msg: menu.output_msg.unwrap_or_default(),
        }),
        menu_path: menu_path.map(ccai_menu_path),
        agent_info: agent_info.map(ccai_agent),
        end_user: end_user.map(|user| pb::CcaiEndUser {
            id: user.id.unwrap_or_default(),
            identifier: user.identifier.unwrap_or_default(),
            out_contact_id: user.out_contact_id.unwrap_or_default(),
        }),
        photos: photos
            .into_iter()
            .map(|p| pb::CcaiPhoto {
                id: p.id.unwrap_or_default(),
                photo_type: p.photo_type.unwrap_or_default(),
                url: p.url.unwrap_or_default(),
            })
            .collect(),
        videos: videos
            .into_iter()
            .map(|v| pb::CcaiVideo {
                id: v.id.unwrap_or_default(),
                url: v.url.unwrap_or_default(),
            })
            .collect(),
        transfers: transfers
            .into_iter()
            .map(|t| pb::CcaiTransfer {
                id: t.id.unwrap_or_default(),
                status: t.status.unwrap_or_default(),
                fail_reason: t.fail_reason.unwrap_or_default(),
                created_at: opt_timestamp(t.created_at),
                from_menu: t.from_menu.map(ccai_menu_path),
                to_menu: t.to_menu.map(ccai_menu_path),
                from_agent: t.from_agent.map(ccai_agent),
                to_agent: t.to_agent.map(ccai_agent),
            })
            .collect(),
        participants: participants
            .into_iter()
            .map(|p| pb::CcaiParticipant {
                id: p.id.unwrap_or_default(),
                r#type: p.kind.unwrap_or_default(),
                status: p.status.unwrap_or_default(),
                call_id: p.call_id.unwrap_or_default(),
                user_id: p.user_id.unwrap_or_default(),
                end_user_id: p.end_user_id.unwrap_or_default(),
                call_duration: int32(p.call_duration),
                hold_duration: int32(p.hold_duration),
                connected_at: opt_timestamp(p.connected_at),
                ended_at: opt_timestamp(p.ended_at),
                fail_reason: p.fail_reason.unwrap_or_default(),
            })
            .collect(),
        offer_type: offer_type.unwrap_or_default(),
        offer_events: offer_events
            .into_iter()
            .map(|e| pb::CcaiOfferEvent {
                casting_time: opt_timestamp(e.casting_time),
                group: e.group.unwrap_or_default(),
            })
            .collect(),
        answer_type: answer_type.unwrap_or_default(),
        outbound_number: outbound_number.unwrap_or_default(),
    }
}

pub fn page_view(view: &domain::PageView) -> pb::PageView {
    pb::PageView {
        id: view.id,
        page_title: view.page_title.clone().unwrap_or_default(),
        url: view.url.clone().unwrap_or_default(),
        create_time: opt_timestamp(view.created_at),
    }
}

pub fn json_value(value: &serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match value {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(json_value).collect(),
        }),
        serde_json::Value::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map
                .iter()
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

fn product(product: &domain::Product) -> pb::Product {
    pb::Product {
        id: product.id,
        external_id: product.external_id.clone().unwrap_or_default(),
        name: product.name.clone().unwrap_or_default(),
        quantity: product.quantity,
        cost_per_unit: product.cost_per_unit,
        details: product.details.iter().map(json_value).collect(),
    }
}

pub fn cart(cart: &domain::Cart) -> pb::Cart {
    pb::Cart {
        id: cart.id,
        external_id: cart.external_id.clone().unwrap_or_default(),
        is_logged_in: cart.is_logged_in,
        currency: cart.currency.clone().unwrap_or_default(),
        status: cart.status,
        total_cost: cart.total_cost,
        products_count: cart.products_count,
        create_time: opt_timestamp(cart.created_at),
        products: cart.products.iter().map(product).collect(),
    }
}

pub fn order(order: &domain::Order) -> pb::Order {
    pb::Order {
        id: order.id,
        external_id: order.external_id.clone().unwrap_or_default(),
        cart_id: order.cart_id.unwrap_or_default(),
        external_cart_id: order.external_cart_id.clone().unwrap_or_default(),
        agent: order.agent.clone().unwrap_or_default(),
        status: order.status.clone().unwrap_or_default(),
        is_sale: order.is_sale,
        currency: order.currency.clone().unwrap_or_default(),
        total_cost: order.total_cost,
        source: order.source.clone().unwrap_or_default(),
        create_time: opt_timestamp(order.created_at),
        products: order.products.iter().map(product).collect(),
    }
}

pub fn optico_context(value: &domain::OpticoMatch) -> pb::OpticoCallContext {
    let call = &value.call;
    pb::OpticoCallContext {
        call: Some(pb::OpticoCall {
            id: call.id,
            start_time: opt_timestamp(call.start_date),
            status: call.status.clone().unwrap_or_default(),
            source: call.source.clone().unwrap_or_default(),
            referrer: call.referrer.clone().unwrap_or_default(),
            keyword: call.keyword.clone().unwrap_or_default(),
            agent: call.agent.clone().unwrap_or_default(),
        }),
        views: value.views.iter().map(page_view).collect(),
        current_cart: value.current_cart.as_ref().map(cart),
        orders: value.orders.iter().map(order).collect(),
    }
}

/// One stored event as a stream message.
pub fn call_update(event: &StoredEvent) -> pb::StreamCallUpdatesResponse {
    use pb::stream_call_updates_response::Update as U;
    let update = match &event.update {
        Update::View(view) => U::View(page_view(view)),
        Update::Cart(value) => U::Cart(cart(value)),
        Update::Order(value) => U::Order(order(value)),
        Update::DialEvent(dial) => U::DialEvent(pb::DialEvent {
            leg: leg_kind(dial.leg).into(),
            event: dial_event_type(dial.event).into(),
            event_code: dial.event_code.unwrap_or_default(),
            recorded: dial.recorded,
            focalscope_call_id: dial.focalscope_call_id.clone().unwrap_or_default(),
            call_uuid: dial.call_uuid.clone().unwrap_or_default(),
            focalscope_request_id: dial.request_id.clone().unwrap_or_default(),
        }),
        Update::AgentAssigned(assigned) => U::AgentAssigned(pb::AgentAssigned {
            agent: assigned.agent.clone(),
            previous_agent: assigned.previous_agent.clone().unwrap_or_default(),
        }),
        Update::StatusChanged(changed) => U::StatusChanged(pb::StatusChanged {
            previous_status: changed
                .previous
                .map_or(pb::CallStatus::Unspecified, call_status)
                .into(),
            status: call_status(changed.status).into(),
            failure_reason: failure_reason(changed.failure_reason).into(),
            detail: changed.detail.clone().unwrap_or_default(),
        }),
        Update::OpticoMatches(matches) => U::OpticoMatches(pb::OpticoMatches {
            matches: matches.iter().map(optico_context).collect(),
        }),
    };
    pb::StreamCallUpdatesResponse {
        sequence: event.sequence,
        call_id: event.call_id.to_string(),
        occurred_at: Some(timestamp(event.occurred_at)),
        update: Some(update),
    }
}

pub fn heartbeat(last_sequence: i64) -> pb::StreamCallUpdatesResponse {
    pb::StreamCallUpdatesResponse {
        sequence: last_sequence,
        call_id: String::new(),
        occurred_at: Some(timestamp(Utc::now())),
        update: Some(pb::stream_call_updates_response::Update::Heartbeat(
            pb::Heartbeat {},
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::call_ref::Ref;

    fn lookup(reference: Ref) -> Result<CallLookup, FieldViolation> {
        call_lookup(
            "call",
            Some(&pb::CallRef {
                r#ref: Some(reference),
            }),
        )
    }

    #[test]
    fn call_refs_validate_and_name_the_field() {
        assert_eq!(
            lookup(Ref::OpticoCallId("22122563".into())).unwrap(),
            CallLookup::Vendor(VendorRef::new(RefKind::OpticoCallId, "22122563"))
        );
        assert_eq!(
            lookup(Ref::OpticoCallId("abc".into())).unwrap_err().field,
            "call.optico_call_id"
        );
        assert_eq!(
            lookup(Ref::OpticoCallId("".into())).unwrap_err().field,
            "call.optico_call_id"
        );
        assert_eq!(lookup(Ref::Id("x".into())).unwrap_err().field, "call.id");
        assert_eq!(
            lookup(Ref::CallUuid("not a uuid!".into()))
                .unwrap_err()
                .field,
            "call.call_uuid"
        );
        assert!(lookup(Ref::CallUuid("BFA2DBC8-ab8a-34c8-f243-c2aad8c446ff".into())).is_ok());
        assert_eq!(call_lookup("call", None).unwrap_err().field, "call");
        assert_eq!(
            call_lookup("call", Some(&pb::CallRef { r#ref: None }))
                .unwrap_err()
                .field,
            "call"
        );
    }

    #[test]
    fn timestamps_are_checked() {
        assert!(
            from_timestamp(
                "t",
                &Timestamp {
                    seconds: 0,
                    nanos: -1
                }
            )
            .is_err()
        );
        assert!(
            from_timestamp(
                "t",
                &Timestamp {
                    seconds: -10,
                    nanos: 0
                }
            )
            .is_err()
        );
        assert!(
            from_timestamp(
                "t",
                &Timestamp {
                    seconds: 1_700_000_000,
                    nanos: 0
                }
            )
            .is_ok()
        );
        assert_eq!(
            required_timestamp("start_time", None).unwrap_err().field,
            "start_time"
        );
    }
}
