//! CallContextService messages ↔ domain: the call (refs, legs, CCAI call
//! object), its updates as stream messages, Optico's context, CCAI customer
//! flags, and call references as the CLI writes them.

use chrono::Utc;

use super::{call_lookup, call_status, opt_timestamp, provider, timestamp, v1 as pb};
use crate::domain::{self, CallLookup, RefKind, StoredEvent, Update, ccai};

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
/// A CCAI number that may be null: `None` stays unset (never 0).
fn opt_int32(value: Option<i64>) -> Option<i32> {
    value.map(|v| v.clamp(i32::MIN.into(), i32::MAX.into()) as i32)
}

// The deprecated fields (0 / false for null) are still filled for existing
// clients, beside the ones that keep null apart.
#[allow(deprecated)]
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
        deflection_details,
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
        wait_duration_seconds: opt_int32(wait_duration),
        call_duration_seconds: opt_int32(call_duration),
        hold_duration_seconds: opt_int32(hold_duration),
        rating_given: opt_int32(rating),
        feedback_left: has_feedback,
        end_user_verified: verified,
        deflection_details: deflection_details.iter().map(json_value).collect(),
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
                call_duration_seconds: opt_int32(p.call_duration),
                hold_duration_seconds: opt_int32(p.hold_duration),
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
            confirmed_agent: assigned.confirmed_agent.clone().unwrap_or_default(),
            requested_agent: assigned.requested_agent.clone().unwrap_or_default(),
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

pub fn customer_flags(flag: &ccai::CustomerFlags) -> pb::CustomerFlags {
    let ccai::CustomerFlags {
        verified_customer,
        bad_actor,
        repeat_customer,
    } = flag;
    pb::CustomerFlags {
        verified_customer: *verified_customer,
        bad_actor: *bad_actor,
        repeat_customer: *repeat_customer,
    }
}

/// The lookup a CLI user means by `--call REF`: `optico:22122563`,
/// `focalscope-request:513`, `focalscope-call:…`, `uuid:…`, `ccai:397`,
/// `id:…` or a bare switchboard id.
pub fn parse_cli_call_ref(value: &str) -> Result<pb::CallRef, String> {
    use pb::call_ref::Ref;
    let (kind, rest) = value.split_once(':').unwrap_or(("id", value));
    let reference = match kind {
        "id" => Ref::Id(rest.to_owned()),
        "optico" => Ref::OpticoCallId(rest.to_owned()),
        "focalscope-request" => Ref::FocalscopeRequestId(rest.to_owned()),
        "focalscope-call" => Ref::FocalscopeCallId(rest.to_owned()),
        "uuid" => Ref::CallUuid(rest.to_owned()),
        "ccai" => Ref::CcaiCallId(rest.to_owned()),
        other => {
            return Err(format!(
                "unknown reference kind {other:?}: use id, optico, focalscope-request, focalscope-call, uuid or ccai"
            ));
        }
    };
    let reference = pb::CallRef {
        r#ref: Some(reference),
    };
    call_lookup("call", Some(&reference)).map_err(|v| v.to_string())?;
    Ok(reference)
}

impl From<CallLookup> for pb::CallRef {
    fn from(lookup: CallLookup) -> Self {
        use pb::call_ref::Ref;
        let reference = match lookup {
            CallLookup::Id(id) => Ref::Id(id.to_string()),
            CallLookup::Vendor(vendor_ref) => match vendor_ref.kind {
                RefKind::OpticoCallId => Ref::OpticoCallId(vendor_ref.value),
                RefKind::FocalscopeRequestId => Ref::FocalscopeRequestId(vendor_ref.value),
                RefKind::FocalscopeCallId => Ref::FocalscopeCallId(vendor_ref.value),
                RefKind::CallUuid => Ref::CallUuid(vendor_ref.value),
                RefKind::CcaiCallId => Ref::CcaiCallId(vendor_ref.value),
            },
        };
        pb::CallRef {
            r#ref: Some(reference),
        }
    }
}
