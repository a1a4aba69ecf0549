//! AgentsService messages ↔ domain: reading and checking requests (filters,
//! the fields of a create, update masks) into domain values, and domain
//! values back into proto; and the generic shapes of its Create and Update
//! RPCs, shared by agents, groups and skills.

use prost_types::FieldMask;
use tonic::{Code, Status};

use crate::{
    domain::{
        EmailAddress, FieldViolation, Invalid, PhoneNumber, Violations,
        operator::{
            AdminLanguage, Availability, AvailabilityChange, Channel, ChannelState,
            ConnectionFilter, GroupFields, LanguageCode, OdigoCall, Operator, OperatorFields,
            OperatorFilter, OperatorGroup, OperatorRole, Priority, Skill, SkillFields, id_list,
            optional_id, optional_text, required_id, required_text,
        },
        website::{
            Client, Website, WebsiteFields, WebsiteLanguage, currency as website_currency,
            time_zone_name, web_url,
        },
    },
    error::Error,
    pb::{self, v1 as proto},
    services::availability::{Delta, WatchItem},
};

/// A required message field: a violation when absent.
pub fn required<'a, T>(
    violations: &mut Violations,
    field: &str,
    what: &str,
    value: &'a Option<T>,
) -> Option<&'a T> {
    if value.is_none() {
        violations.push(FieldViolation::new(field, format!("is required: {what}")));
    }
    value.as_ref()
}

// ---- request fields ----

/// Reads an `AgentFilter` (absent = no filter); violations are named under
/// `field`, e.g. `filter.agent_id`.
pub fn operator_filter(
    violations: &mut Violations,
    field: &str,
    filter: Option<proto::AgentFilter>,
) -> Option<OperatorFilter> {
    let Some(proto::AgentFilter {
        agent_id,
        group_id,
        website_id,
        website_list,
        skill_id,
        name,
        external_id,
        connected,
    }) = filter
    else {
        return Some(OperatorFilter::default());
    };
    let at = |name: &str| format!("{field}.{name}");
    let id = violations.check(optional_id(&at("agent_id"), agent_id));
    let group_id = violations.check(optional_id(&at("group_id"), group_id));
    let website_id = violations.check(optional_id(&at("website_id"), website_id));
    let website_list = violations.check(id_list(&at("website_list"), &website_list));
    let skill_id = violations.check(optional_id(&at("skill_id"), skill_id));
    let name = violations.check(optional_text(&at("name"), &name));
    let external_id = violations.check(optional_text(&at("external_id"), &external_id));
    let connected = violations
        .check(pb::enum_value::<proto::AgentConnectionFilter>(
            &at("connected"),
            connected,
        ))
        .map(|connected| match connected {
            proto::AgentConnectionFilter::Unspecified => None,
            proto::AgentConnectionFilter::Online => Some(ConnectionFilter::Online),
            proto::AgentConnectionFilter::Offline => Some(ConnectionFilter::Offline),
        });
    Some(
        OperatorFilter {
            id: id?,
            group_id: group_id?,
            website_id: website_id?,
            website_list: website_list?,
            skill_id: skill_id?,
            name: name?,
            external_id: external_id?,
            connected: connected?,
        }
        .normalized(),
    )
}

/// Free text of a written field: trimmed, may be empty (an update clears it).
pub fn text(field: &str, value: &str) -> Result<String, FieldViolation> {
    optional_text(field, value).map(Option::unwrap_or_default)
}

pub fn role(field: &str, value: i32, expert_allowed: bool) -> Result<OperatorRole, FieldViolation> {
    match pb::enum_value::<proto::AgentRole>(field, value)? {
        proto::AgentRole::Unspecified => Err(FieldViolation::new(
            field,
            "is unspecified: use operator, manager, admin (or expert in roles)",
        )),
        proto::AgentRole::Expert if !expert_allowed => Err(FieldViolation::new(
            field,
            "cannot be expert (iAdvize only has expert in roles)",
        )),
        proto::AgentRole::Expert => Ok(OperatorRole::Expert),
        proto::AgentRole::Operator => Ok(OperatorRole::Operator),
        proto::AgentRole::Manager => Ok(OperatorRole::Manager),
        proto::AgentRole::Admin => Ok(OperatorRole::Admin),
    }
}

/// Parses every item of a list; a bad one is named by its index.
pub fn each<T, U>(
    field: &str,
    values: &[T],
    parse: impl Fn(&str, &T) -> Result<U, FieldViolation>,
) -> Result<Vec<U>, FieldViolation> {
    values
        .iter()
        .enumerate()
        .map(|(index, value)| parse(&format!("{field}[{index}]"), value))
        .collect()
}

/// The Agent fields an update mask may name (every field but `id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentField {
    Name,
    FirstName,
    Pseudo,
    Email,
    ExternalId,
    Role,
    Roles,
    ChatEnabled,
    CallEnabled,
    VideoEnabled,
    ChatMaxNumber,
    ChatAndCall,
    ChatPriority,
    CallPriority,
    VideoPriority,
    LanguageList,
    LanguageAdmin,
    GroupId,
    WebsiteList,
    SkillList,
    SsoKey,
}

impl AgentField {
    pub const NAMES: &[(&str, AgentField)] = &[
        ("name", AgentField::Name),
        ("first_name", AgentField::FirstName),
        ("pseudo", AgentField::Pseudo),
        ("email", AgentField::Email),
        ("external_id", AgentField::ExternalId),
        ("role", AgentField::Role),
        ("roles", AgentField::Roles),
        ("chat_enabled", AgentField::ChatEnabled),
        ("call_enabled", AgentField::CallEnabled),
        ("video_enabled", AgentField::VideoEnabled),
        ("chat_max_number", AgentField::ChatMaxNumber),
        ("chat_and_call", AgentField::ChatAndCall),
        ("chat_priority", AgentField::ChatPriority),
        ("call_priority", AgentField::CallPriority),
        ("video_priority", AgentField::VideoPriority),
        ("language_list", AgentField::LanguageList),
        ("language_admin", AgentField::LanguageAdmin),
        ("group_id", AgentField::GroupId),
        ("website_list", AgentField::WebsiteList),
        ("skill_list", AgentField::SkillList),
        ("sso_key", AgentField::SsoKey),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupField {
    Name,
    ParentId,
    OperatorList,
}

impl GroupField {
    pub const NAMES: &[(&str, GroupField)] = &[
        ("name", GroupField::Name),
        ("parent_id", GroupField::ParentId),
        ("operator_list", GroupField::OperatorList),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkillField {
    Name,
    Order,
    ParentId,
}

impl SkillField {
    pub const NAMES: &[(&str, SkillField)] = &[
        ("name", SkillField::Name),
        ("order", SkillField::Order),
        ("parent_id", SkillField::ParentId),
    ];
}

/// `chatEnabled` → `chat_enabled` (a FieldMask's JSON form is camelCase; its
/// binary form, snake_case, passes unchanged).
pub fn snake_case(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.trim().chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads an update mask against the fields it may name.
pub fn parse_update_mask<F: Copy + PartialEq>(
    violations: &mut Violations,
    mask: Option<FieldMask>,
    names: &[(&str, F)],
    resource: &str,
) -> Option<Vec<F>> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    let allowed = names
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ");
    if paths.is_empty() {
        violations.push(FieldViolation::new(
            "update_mask",
            format!("is required: name the {resource} fields to change, among {allowed}"),
        ));
        return None;
    }
    let mut fields = Vec::new();
    let mut ok = true;
    for (index, path) in paths.iter().enumerate() {
        let name = snake_case(path);
        let field = format!("update_mask.paths[{index}]");
        match names.iter().find(|(n, _)| *n == name) {
            Some((_, f)) => {
                if !fields.contains(f) {
                    fields.push(*f);
                }
            }
            None => {
                ok = false;
                let why = match name.as_str() {
                    "*" => "`*` is not supported: name each field to change".to_owned(),
                    "id" => format!("`id` names the {resource} and cannot be changed"),
                    _ => format!(
                        "{} is not a field that can be changed: use {allowed}",
                        crate::domain::quote(path)
                    ),
                };
                violations.push(FieldViolation::new(field, why));
            }
        }
    }
    ok.then_some(fields)
}

/// Reads the Agent fields to write, checking each one that is sent: on
/// create (`masked` None) those set, on update those of the mask.
pub fn operator_fields(
    violations: &mut Violations,
    agent: &proto::Agent,
    masked: Option<&[AgentField]>,
) -> Option<OperatorFields> {
    #[allow(deprecated)]
    let proto::Agent {
        id: _,
        name,
        first_name,
        pseudo,
        email,
        external_id,
        role: agent_role,
        roles,
        chat_enabled,
        call_enabled,
        video_enabled,
        chat_max_number,
        chat_and_call,
        chat_priority,
        call_priority,
        video_priority,
        language_list,
        language_admin,
        group_id,
        website_list,
        skill_list,
        sso_key,
    } = agent;
    let mut failed = false;
    let wants = |field: AgentField, is_set: bool| masked.map_or(is_set, |m| m.contains(&field));
    // A field that is not sent stays `None`; one that is sent is parsed
    // (violations recorded, `failed` set).
    macro_rules! sent {
        ($field:expr, $is_set:expr, $parse:expr) => {
            if wants($field, $is_set) {
                let parsed = violations.check($parse);
                failed |= parsed.is_none();
                parsed
            } else {
                None
            }
        };
    }
    let fields = OperatorFields {
        name: sent!(
            AgentField::Name,
            !name.trim().is_empty(),
            text("agent.name", name)
        ),
        first_name: sent!(
            AgentField::FirstName,
            !first_name.trim().is_empty(),
            text("agent.first_name", first_name)
        ),
        pseudo: sent!(
            AgentField::Pseudo,
            !pseudo.trim().is_empty(),
            text("agent.pseudo", pseudo)
        ),
        email: sent!(
            AgentField::Email,
            !email.trim().is_empty(),
            EmailAddress::parse("agent.email", email).map(|e| e.as_str().to_owned())
        ),
        external_id: sent!(
            AgentField::ExternalId,
            !external_id.trim().is_empty(),
            text("agent.external_id", external_id)
        ),
        role: sent!(
            AgentField::Role,
            *agent_role != 0,
            role("agent.role", *agent_role, false)
        ),
        roles: sent!(
            AgentField::Roles,
            !roles.is_empty(),
            each("agent.roles", roles, |f, r| role(f, *r, true))
        ),
        chat_enabled: sent!(
            AgentField::ChatEnabled,
            chat_enabled.is_some(),
            Ok(chat_enabled.unwrap_or_default())
        ),
        call_enabled: sent!(
            AgentField::CallEnabled,
            call_enabled.is_some(),
            Ok(call_enabled.unwrap_or_default())
        ),
        video_enabled: sent!(
            AgentField::VideoEnabled,
            video_enabled.is_some(),
            Ok(video_enabled.unwrap_or_default())
        ),
        chat_max_number: sent!(
            AgentField::ChatMaxNumber,
            chat_max_number.is_some(),
            match chat_max_number.unwrap_or_default() {
                n if n < 0 => Err(FieldViolation::new(
                    "agent.chat_max_number",
                    format!("must be 0 or more, got {n}")
                )),
                n => Ok(n),
            }
        ),
        chat_and_call: sent!(
            AgentField::ChatAndCall,
            chat_and_call.is_some(),
            Ok(chat_and_call.unwrap_or_default())
        ),
        chat_priority: sent!(
            AgentField::ChatPriority,
            chat_priority.is_some(),
            Priority::parse("agent.chat_priority", chat_priority.unwrap_or_default())
        ),
        call_priority: sent!(
            AgentField::CallPriority,
            call_priority.is_some(),
            Priority::parse("agent.call_priority", call_priority.unwrap_or_default())
        ),
        video_priority: sent!(
            AgentField::VideoPriority,
            video_priority.is_some(),
            Priority::parse("agent.video_priority", video_priority.unwrap_or_default())
        ),
        language_list: sent!(
            AgentField::LanguageList,
            !language_list.is_empty(),
            each("agent.language_list", language_list, |f, l| {
                LanguageCode::parse(f, l)
            })
        ),
        language_admin: sent!(
            AgentField::LanguageAdmin,
            !language_admin.trim().is_empty(),
            AdminLanguage::parse("agent.language_admin", language_admin)
        ),
        group_id: sent!(
            AgentField::GroupId,
            *group_id != 0,
            optional_id("agent.group_id", *group_id).map(Option::unwrap_or_default)
        ),
        website_list: sent!(
            AgentField::WebsiteList,
            !website_list.is_empty(),
            id_list("agent.website_list", website_list)
        ),
        skill_list: sent!(
            AgentField::SkillList,
            !skill_list.is_empty(),
            id_list("agent.skill_list", skill_list)
        ),
        sso_key: sent!(
            AgentField::SsoKey,
            !sso_key.trim().is_empty(),
            text("agent.sso_key", sso_key)
        ),
    };
    (!failed).then_some(fields)
}

pub fn group_fields(
    violations: &mut Violations,
    group: &proto::Group,
    masked: Option<&[GroupField]>,
) -> Option<GroupFields> {
    let proto::Group {
        id: _,
        name,
        created_at: _,
        parent_id,
        operator_list,
        parent_list: _,
    } = group;
    let wants = |field: GroupField, is_set: bool| masked.map_or(is_set, |m| m.contains(&field));
    let name = if wants(GroupField::Name, true) {
        violations
            .check(required_text("group.name", name))
            .map(Some)
    } else {
        Some(None)
    };
    let parent_id = if wants(GroupField::ParentId, *parent_id != 0) {
        violations
            .check(optional_id("group.parent_id", *parent_id))
            .map(|id| Some(id.unwrap_or_default()))
    } else {
        Some(None)
    };
    let operator_list = if wants(GroupField::OperatorList, !operator_list.is_empty()) {
        violations
            .check(id_list("group.operator_list", operator_list))
            .map(Some)
    } else {
        Some(None)
    };
    Some(GroupFields {
        name: name?,
        parent_id: parent_id?,
        operator_list: operator_list?,
    })
}

pub fn skill_fields(
    violations: &mut Violations,
    skill: &proto::Skill,
    masked: Option<&[SkillField]>,
) -> Option<SkillFields> {
    #[allow(deprecated)]
    let proto::Skill {
        id: _,
        name,
        order,
        created_at: _,
        parent_id,
        operator_list: _,
    } = skill;
    let wants = |field: SkillField, is_set: bool| masked.map_or(is_set, |m| m.contains(&field));
    let name = if wants(SkillField::Name, true) {
        violations
            .check(required_text("skill.name", name))
            .map(Some)
    } else {
        Some(None)
    };
    let order = Some(wants(SkillField::Order, *order != 0).then_some(*order));
    let parent_id = if wants(SkillField::ParentId, *parent_id != 0) {
        violations
            .check(optional_id("skill.parent_id", *parent_id))
            .map(|id| Some(id.unwrap_or_default()))
    } else {
        Some(None)
    };
    Some(SkillFields {
        name: name?,
        order: order?,
        parent_id: parent_id?,
    })
}

pub fn odigo_call(
    violations: &mut Violations,
    operator_external_id: &str,
    website_id: i64,
    phone_number: &str,
) -> Option<OdigoCall> {
    let operator_external_id =
        violations.check(required_text("operator_external_id", operator_external_id));
    let website_id = violations.check(required_id("website_id", website_id));
    // Checked to be a phone number, but sent as Odigo wrote it.
    let phone_number = violations
        .check(PhoneNumber::parse("phone_number", phone_number))
        .map(|_| phone_number.trim().to_owned());
    Some(OdigoCall {
        operator_external_id: operator_external_id?,
        website_id: website_id?,
        phone_number: phone_number?,
    })
}

// ---- responses ----

pub fn agent_role(role: OperatorRole) -> proto::AgentRole {
    match role {
        OperatorRole::Expert => proto::AgentRole::Expert,
        OperatorRole::Operator => proto::AgentRole::Operator,
        OperatorRole::Manager => proto::AgentRole::Manager,
        OperatorRole::Admin => proto::AgentRole::Admin,
    }
}

#[allow(deprecated)]
pub fn agent(operator: Operator) -> proto::Agent {
    let Operator {
        id,
        name,
        first_name,
        pseudo,
        email,
        external_id,
        role,
        roles,
        chat_enabled,
        call_enabled,
        video_enabled,
        chat_max_number,
        chat_and_call,
        chat_priority,
        call_priority,
        video_priority,
        language_list,
        language_admin,
        group_id,
        website_list,
        skill_list,
        sso_key,
    } = operator;
    proto::Agent {
        id,
        name: name.unwrap_or_default(),
        first_name: first_name.unwrap_or_default(),
        pseudo: pseudo.unwrap_or_default(),
        email: email.unwrap_or_default(),
        external_id: external_id.unwrap_or_default(),
        role: role
            .map_or(proto::AgentRole::Unspecified, agent_role)
            .into(),
        roles: roles.into_iter().map(|r| agent_role(r).into()).collect(),
        chat_enabled,
        call_enabled,
        video_enabled,
        chat_max_number,
        chat_and_call,
        chat_priority,
        call_priority,
        video_priority,
        language_list,
        language_admin: language_admin.unwrap_or_default(),
        group_id: group_id.unwrap_or_default(),
        website_list,
        skill_list,
        sso_key: sso_key.unwrap_or_default(),
    }
}

pub fn channel(state: ChannelState) -> proto::ChannelAvailability {
    let ChannelState {
        enabled,
        slot_number,
        slot_max_number,
        busy,
        available,
    } = state;
    proto::ChannelAvailability {
        enabled,
        slot_number,
        slot_max_number,
        busy,
        available,
    }
}

pub fn availability(value: &Availability) -> proto::AgentAvailability {
    let Availability {
        operator_id,
        connected,
        chat,
        call,
        video,
    } = *value;
    proto::AgentAvailability {
        agent_id: operator_id,
        connected,
        chat: Some(channel(chat)),
        call: Some(channel(call)),
        video: Some(channel(video)),
    }
}

pub fn group(value: OperatorGroup) -> proto::Group {
    let OperatorGroup {
        id,
        name,
        created_at,
        parent_id,
        operator_list,
        parent_list,
    } = value;
    proto::Group {
        id,
        name: name.unwrap_or_default(),
        created_at: pb::opt_timestamp(created_at),
        parent_id: parent_id.unwrap_or_default(),
        operator_list,
        parent_list,
    }
}

#[allow(deprecated)]
pub fn skill(value: Skill) -> proto::Skill {
    let Skill {
        id,
        name,
        order,
        created_at,
        parent_id,
        operator_list,
    } = value;
    proto::Skill {
        id,
        name: name.unwrap_or_default(),
        order: order.unwrap_or_default(),
        created_at: pb::opt_timestamp(created_at),
        parent_id: parent_id.unwrap_or_default(),
        operator_list,
    }
}

/// The name of a gRPC code as clients spell it, e.g. "UNAVAILABLE".
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

pub fn availability_channel(channel: Channel) -> proto::AvailabilityChannel {
    match channel {
        Channel::Chat => proto::AvailabilityChannel::Chat,
        Channel::Call => proto::AvailabilityChannel::Call,
        Channel::Video => proto::AvailabilityChannel::Video,
    }
}

/// One watch item as a stream message.
pub fn watch_message(item: WatchItem) -> proto::WatchAgentAvailabilityResponse {
    use proto::watch_agent_availability_response::Event;
    let (observed_at, event) = match item {
        WatchItem::Snapshot(snapshot) => (
            snapshot.observed_at,
            Event::Snapshot(proto::AgentAvailabilitySnapshot {
                agents: snapshot.agents.values().map(availability).collect(),
            }),
        ),
        WatchItem::Delta { observed_at, delta } => (
            observed_at,
            match delta {
                Delta::Added(agent) => Event::AgentAdded(availability(&agent)),
                Delta::Removed(agent) => Event::AgentRemoved(availability(&agent)),
                Delta::Changed(AvailabilityChange::Connection {
                    operator_id,
                    before,
                    after,
                }) => Event::Change(proto::AgentAvailabilityChange {
                    agent_id: operator_id,
                    channel: proto::AvailabilityChannel::Connection.into(),
                    before: None,
                    after: None,
                    connected_before: before,
                    connected_after: after,
                }),
                Delta::Changed(AvailabilityChange::Channel {
                    operator_id,
                    channel: which,
                    before,
                    after,
                }) => Event::Change(proto::AgentAvailabilityChange {
                    agent_id: operator_id,
                    channel: availability_channel(which).into(),
                    before: Some(channel(before)),
                    after: Some(channel(after)),
                    connected_before: false,
                    connected_after: false,
                }),
            },
        ),
        WatchItem::VendorError { observed_at, error } => {
            let status = Status::from(Error::Vendor(error));
            (
                observed_at,
                Event::VendorError(proto::VendorError {
                    code: code_name(status.code()).to_owned(),
                    message: status.message().to_owned(),
                }),
            )
        }
        WatchItem::Heartbeat { at } => (at, Event::Heartbeat(proto::Heartbeat {})),
    };
    proto::WatchAgentAvailabilityResponse {
        observed_at: Some(pb::timestamp(observed_at)),
        event: Some(event),
    }
}

// ---- the shapes of Create and Update ----

/// What a create or update reads the resource's fields with: on create
/// (`masked` None) the fields that are set, on update those of the mask.
pub type ReadFields<P, M, F> = fn(&mut Violations, &P, Option<&[M]>) -> Option<F>;

/// A Create request's resource (`field`, e.g. "agent"): required, its set
/// fields read.
pub fn create_request<P, M, F>(
    field: &str,
    what: &str,
    value: &Option<P>,
    read: ReadFields<P, M, F>,
) -> Result<F, Invalid> {
    let mut violations = Violations::new();
    let fields = required(&mut violations, field, what, value)
        .and_then(|value| read(&mut violations, value, None));
    violations.finish(fields)
}

/// An Update request: its `update_mask` checked against `names`, the
/// resource (`field`) required with its id (`field.id`), the masked fields
/// read. `kind` names the resource in messages ("Agent").
pub fn update_request<P, M: Copy + PartialEq, F>(
    field: &str,
    kind: &str,
    names: &[(&str, M)],
    mask: Option<FieldMask>,
    value: &Option<P>,
    id: fn(&P) -> i64,
    read: ReadFields<P, M, F>,
) -> Result<(i64, F), Invalid> {
    let mut violations = Violations::new();
    let mask = parse_update_mask(&mut violations, mask, names, kind);
    let changed = required(
        &mut violations,
        field,
        &format!(
            "its id names the {}, its fields carry the new values",
            kind.to_lowercase()
        ),
        value,
    );
    let id =
        changed.and_then(|value| violations.check(required_id(&format!("{field}.id"), id(value))));
    let fields = mask
        .zip(changed)
        .and_then(|(mask, value)| read(&mut violations, value, Some(&mask)));
    violations.finish(crate::all_some!(id, fields))
}

// ---- clients and websites ----

/// The Website fields an update mask may name (every field but `id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebsiteField {
    Url,
    Label,
    ClientId,
    Currency,
    LanguageAdmin,
    Timezone,
}

impl WebsiteField {
    pub const NAMES: &[(&str, WebsiteField)] = &[
        ("url", WebsiteField::Url),
        ("label", WebsiteField::Label),
        ("client_id", WebsiteField::ClientId),
        ("currency", WebsiteField::Currency),
        ("language_admin", WebsiteField::LanguageAdmin),
        ("timezone", WebsiteField::Timezone),
    ];
}

/// The masked fields of a website update, each checked; every mask entry
/// is sent, whatever its value (an update has no "unset" to skip).
pub fn website_fields(
    violations: &mut Violations,
    website: &proto::Website,
    masked: Option<&[WebsiteField]>,
) -> Option<WebsiteFields> {
    let proto::Website {
        id: _,
        url,
        label,
        client_id,
        currency,
        language_admin,
        timezone,
    } = website;
    let wants = |field: WebsiteField| masked.is_some_and(|m| m.contains(&field));
    let mut failed = false;
    let mut sent = |field: WebsiteField, parse: &dyn Fn() -> Result<_, FieldViolation>| {
        if !wants(field) {
            return None;
        }
        let parsed = violations.check(parse());
        failed |= parsed.is_none();
        parsed
    };
    let url = sent(WebsiteField::Url, &|| web_url("website.url", url));
    let label = sent(WebsiteField::Label, &|| {
        required_text("website.label", label)
    });
    let currency = sent(WebsiteField::Currency, &|| {
        website_currency("website.currency", currency)
    });
    let timezone = sent(WebsiteField::Timezone, &|| {
        time_zone_name("website.timezone", timezone)
    });
    let client_id = if wants(WebsiteField::ClientId) {
        let parsed = violations.check(required_id("website.client_id", *client_id));
        failed |= parsed.is_none();
        parsed
    } else {
        None
    };
    let language_admin = if wants(WebsiteField::LanguageAdmin) {
        let parsed = violations.check(WebsiteLanguage::parse(
            "website.language_admin",
            language_admin,
        ));
        failed |= parsed.is_none();
        parsed
    } else {
        None
    };
    (!failed).then_some(WebsiteFields {
        url,
        label,
        client_id,
        currency,
        language_admin,
        timezone,
    })
}

pub fn client(value: Client) -> proto::Client {
    let Client {
        id,
        lang,
        premium_enabled,
    } = value;
    proto::Client {
        id,
        lang: lang.unwrap_or_default(),
        premium_enabled,
    }
}

pub fn website(value: Website) -> proto::Website {
    let Website {
        id,
        url,
        label,
        client_id,
        currency,
        language_admin,
        timezone,
    } = value;
    proto::Website {
        id,
        url: url.unwrap_or_default(),
        label: label.unwrap_or_default(),
        client_id: client_id.unwrap_or_default(),
        currency: currency.unwrap_or_default(),
        language_admin: language_admin.unwrap_or_default(),
        timezone: timezone.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_masks_accept_proto_and_json_names_only() {
        let mut violations = Violations::new();
        let mask = FieldMask {
            paths: vec!["chat_enabled".into(), "websiteList".into()],
        };
        assert_eq!(
            parse_update_mask(&mut violations, Some(mask), AgentField::NAMES, "Agent"),
            Some(vec![AgentField::ChatEnabled, AgentField::WebsiteList])
        );
        assert!(violations.is_empty());
        let mask = FieldMask {
            paths: vec!["id".into(), "*".into(), "nope".into()],
        };
        assert_eq!(
            parse_update_mask(&mut violations, Some(mask), AgentField::NAMES, "Agent"),
            None
        );
        let fields: Vec<_> = violations
            .into_result()
            .unwrap_err()
            .0
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "update_mask.paths[0]",
                "update_mask.paths[1]",
                "update_mask.paths[2]"
            ]
        );
    }

    #[test]
    fn created_agents_send_only_set_fields() {
        let mut violations = Violations::new();
        let agent = proto::Agent {
            name: "Doe".into(),
            chat_enabled: Some(false),
            ..Default::default()
        };
        let fields = operator_fields(&mut violations, &agent, None).unwrap();
        assert_eq!(
            fields,
            OperatorFields {
                name: Some("Doe".into()),
                chat_enabled: Some(false),
                ..Default::default()
            }
        );
    }

    #[test]
    fn every_code_has_its_name() {
        assert_eq!(code_name(Code::Unavailable), "UNAVAILABLE");
        assert_eq!(code_name(Code::FailedPrecondition), "FAILED_PRECONDITION");
    }
}
