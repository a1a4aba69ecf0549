//! The iAdvize REST API 2.0 wire format, field for field as documented
//! (snake_case, the `meta` / `data` / `pagination` envelope, dates as
//! `YYYY-MM-DD HH:MM:SS` without a zone), and its conversion into domain
//! types. The documentation writes its examples in JavaScript notation; the
//! API sends JSON, which PHP makes loose about numbers and booleans, so every
//! scalar is read leniently.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::{
    domain::operator::{
        AdminLanguage, Availability, ChannelState, ConnectionFilter, GroupFields, LanguageCode,
        OdigoCall, OdigoConversation, Operator, OperatorFields, OperatorFilter, OperatorGroup,
        OperatorProfile, OperatorRole, OperatorStatistics, Priority, SetAvailability, Skill,
        SkillFields, SkillFilter,
    },
    vendors::wire::{
        int_list, int_or_string, loose_bool, number_or_string, opt_int_or_string, opt_loose_bool,
    },
};

/// iAdvize's date format.
pub(super) const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Every answer: `meta.status` is "success", "fail" (the request is wrong) or
/// "error" (e.g. "Forbidden"); `data` is an object or a list; lists carry
/// `pagination`.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    pub meta: Meta,
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Meta {
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(super) struct Pagination {
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub page: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub pages: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub count: Option<i64>,
}

/// An operator (`/operator`, `/operator/{id}`). Lists without `full=1` carry
/// only some fields, so every field may be absent.
#[derive(Debug, Deserialize)]
pub(super) struct WireOperator {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub pseudo: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_loose_bool")]
    pub chat_enabled: Option<bool>,
    #[serde(default, deserialize_with = "opt_loose_bool")]
    pub call_enabled: Option<bool>,
    #[serde(default, deserialize_with = "opt_loose_bool")]
    pub video_enabled: Option<bool>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub chat_max_number: Option<i64>,
    #[serde(default, deserialize_with = "opt_loose_bool")]
    pub chat_and_call: Option<bool>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub chat_priority: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub call_priority: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub video_priority: Option<i64>,
    #[serde(default)]
    pub language_list: Option<Vec<String>>,
    #[serde(default)]
    pub language_admin: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub group_id: Option<i64>,
    #[serde(default, deserialize_with = "int_list")]
    pub website_list: Vec<i64>,
    #[serde(default, deserialize_with = "int_list")]
    pub skill_list: Vec<i64>,
    #[serde(default)]
    pub sso_key: Option<String>,
}

/// One channel of `/operator/live`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireChannel {
    #[serde(default, deserialize_with = "loose_bool")]
    pub enabled: bool,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub slot_number: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub slot_max_number: Option<i64>,
    #[serde(default, deserialize_with = "loose_bool")]
    pub busy: bool,
    #[serde(default, deserialize_with = "loose_bool")]
    pub available: bool,
}

/// One operator of `/operator/live` (or `/operator/{id}/live`).
#[derive(Debug, Deserialize)]
pub(super) struct WireLive {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default, deserialize_with = "loose_bool")]
    pub connected: bool,
    #[serde(default)]
    pub chat: Option<WireChannel>,
    #[serde(default)]
    pub call: Option<WireChannel>,
    #[serde(default)]
    pub video: Option<WireChannel>,
}

/// `/operator/{id}/statistic`.
#[derive(Debug, Deserialize)]
pub(super) struct WireStatistic {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub conversation_number: Option<i64>,
    #[serde(default, deserialize_with = "number_or_string")]
    pub satisfaction_global_rate: f64,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub experience: Option<i64>,
}

/// `/operator/{id}/profile`.
#[derive(Debug, Deserialize)]
pub(super) struct WireProfile {
    #[serde(deserialize_with = "int_or_string")]
    pub user_id: i64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub facebook: Option<String>,
    #[serde(default)]
    pub twitter: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

/// `/group`, `/group/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct WireGroup {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub parent_id: Option<i64>,
    #[serde(default, deserialize_with = "int_list")]
    pub operator_list: Vec<i64>,
    #[serde(default, deserialize_with = "int_list")]
    pub parent_list: Vec<i64>,
}

/// `/skill`, `/skill/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct WireSkill {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub order: Option<i64>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub parent_id: Option<i64>,
    #[serde(default, deserialize_with = "int_list")]
    pub operator_list: Vec<i64>,
}

/// `/odigocallback/pickup` answer.
#[derive(Debug, Deserialize)]
pub(super) struct WirePickup {
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub targeting_rule_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub website_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub conversation_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub skill_id: Option<i64>,
    #[serde(default)]
    pub visitor_phone_number: Option<String>,
    #[serde(default)]
    pub visitor_uid: Option<String>,
}

/// Reads an iAdvize date in `tz`. Empty or malformed dates become `None`
/// rather than failing the whole answer: a creation date is informative.
/// Besides the documented `YYYY-MM-DD HH:MM:SS`, the ISO form with a `T`
/// (some resources are documented as "DateTime" only) is read in `tz` too,
/// and one carrying its own offset is taken as it says.
pub(super) fn parse_date(text: Option<&str>, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text?.trim();
    if let Ok(exact) = DateTime::parse_from_rfc3339(text) {
        return Some(exact.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(text, DATE_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    local_time(naive, tz)
}

/// A wall-clock time of `tz` as an instant. At a DST fold, the earlier
/// instant; in a DST gap, there is none.
pub(super) fn local_time(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|local| local.with_timezone(&Utc))
}

/// An instant written as iAdvize filters take it: `YYYY-MM-DD HH:MM:SS` on
/// the clock of `tz`, sub-seconds dropped.
pub(super) fn format_date(time: DateTime<Utc>, tz: Tz) -> String {
    time.with_timezone(&tz).format(DATE_FORMAT).to_string()
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn clamp_i32(value: i64) -> i32 {
    value.clamp(i32::MIN.into(), i32::MAX.into()) as i32
}

impl WireOperator {
    pub(super) fn into_domain(self) -> Operator {
        Operator {
            id: self.id,
            name: non_empty(self.name),
            first_name: non_empty(self.first_name),
            pseudo: non_empty(self.pseudo),
            email: non_empty(self.email),
            external_id: non_empty(self.external_id),
            role: self.role.as_deref().and_then(OperatorRole::from_vendor),
            roles: self
                .roles
                .unwrap_or_default()
                .iter()
                .filter_map(|r| OperatorRole::from_vendor(r))
                .collect(),
            chat_enabled: self.chat_enabled,
            call_enabled: self.call_enabled,
            video_enabled: self.video_enabled,
            chat_max_number: self.chat_max_number.map(clamp_i32),
            chat_and_call: self.chat_and_call,
            chat_priority: self.chat_priority.map(clamp_i32),
            call_priority: self.call_priority.map(clamp_i32),
            video_priority: self.video_priority.map(clamp_i32),
            language_list: self.language_list.unwrap_or_default(),
            language_admin: non_empty(self.language_admin),
            // iAdvize writes no group as null or 0.
            group_id: self.group_id.filter(|id| *id > 0),
            website_list: self.website_list,
            skill_list: self.skill_list,
            sso_key: non_empty(self.sso_key),
        }
    }
}

impl WireChannel {
    fn into_domain(self) -> ChannelState {
        ChannelState {
            enabled: self.enabled,
            slot_number: self.slot_number.map_or(0, clamp_i32),
            slot_max_number: self.slot_max_number.map_or(0, clamp_i32),
            busy: self.busy,
            available: self.available,
        }
    }
}

impl WireLive {
    pub(super) fn into_domain(self) -> Availability {
        let channel = |c: Option<WireChannel>| c.unwrap_or_default().into_domain();
        Availability {
            operator_id: self.id,
            connected: self.connected,
            chat: channel(self.chat),
            call: channel(self.call),
            video: channel(self.video),
        }
    }
}

impl WireStatistic {
    pub(super) fn into_domain(self) -> OperatorStatistics {
        OperatorStatistics {
            operator_id: self.id,
            conversation_number: self.conversation_number.unwrap_or(0),
            satisfaction_global_rate: self.satisfaction_global_rate,
            experience: self.experience.unwrap_or(0),
        }
    }
}

impl WireProfile {
    pub(super) fn into_domain(self) -> OperatorProfile {
        OperatorProfile {
            operator_id: self.user_id,
            status: non_empty(self.status),
            description: non_empty(self.description),
            facebook: non_empty(self.facebook),
            twitter: non_empty(self.twitter),
            city: non_empty(self.city),
            country: non_empty(self.country),
        }
    }
}

impl WireGroup {
    pub(super) fn into_domain(self, tz: Tz) -> OperatorGroup {
        OperatorGroup {
            id: self.id,
            name: non_empty(self.name),
            created_at: parse_date(self.created_at.as_deref(), tz),
            parent_id: self.parent_id.filter(|id| *id > 0),
            operator_list: self.operator_list,
            parent_list: self.parent_list,
        }
    }
}

impl WireSkill {
    pub(super) fn into_domain(self, tz: Tz) -> Skill {
        Skill {
            id: self.id,
            name: non_empty(self.name),
            order: self.order.map(clamp_i32),
            created_at: parse_date(self.created_at.as_deref(), tz),
            parent_id: self.parent_id.filter(|id| *id > 0),
            operator_list: self.operator_list,
        }
    }
}

impl WirePickup {
    pub(super) fn into_domain(self) -> OdigoConversation {
        OdigoConversation {
            targeting_rule_id: self.targeting_rule_id.unwrap_or(0),
            website_id: self.website_id.unwrap_or(0),
            conversation_id: self.conversation_id.unwrap_or(0),
            skill_id: self.skill_id,
            visitor_phone_number: non_empty(self.visitor_phone_number),
            visitor_uid: non_empty(self.visitor_uid),
        }
    }
}

// ---- requests ----

/// Form fields of a request body, in order; a key may repeat (lists).
pub(super) type Form = Vec<(String, String)>;

fn flag(value: bool) -> String {
    if value { "1" } else { "0" }.to_owned()
}

/// A form body (or a query) built from optional fields: `None` is not sent.
#[derive(Default)]
pub(super) struct FormBuilder(Form);

impl FormBuilder {
    pub(super) fn value(mut self, key: &str, value: Option<impl ToString>) -> Self {
        if let Some(value) = value {
            self.0.push((key.to_owned(), value.to_string()));
        }
        self
    }

    /// Booleans as iAdvize writes them: 1 or 0.
    fn flag(self, key: &str, value: Option<bool>) -> Self {
        self.value(key, value.map(flag))
    }

    /// A list the way PHP reads one (`key[]=a&key[]=b`, what iAdvize's own
    /// PHP client sends). PHP cannot express an empty array in a form, so an
    /// empty list is sent as `key=` (an empty value), which clears it.
    pub(super) fn list<T: ToString>(mut self, key: &str, values: Option<&[T]>) -> Self {
        match values {
            None => {}
            Some([]) => self.0.push((key.to_owned(), String::new())),
            Some(values) => {
                for value in values {
                    self.0.push((format!("{key}[]"), value.to_string()));
                }
            }
        }
        self
    }

    pub(super) fn build(self) -> Form {
        self.0
    }
}

/// The operator fields to POST / PUT, form-encoded as iAdvize's own client
/// does. Only `Some` fields are sent.
pub(super) fn operator_form(fields: &OperatorFields) -> Form {
    let OperatorFields {
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
    } = fields;
    let roles: Option<Vec<&str>> = roles
        .as_ref()
        .map(|roles| roles.iter().map(|r| r.as_str()).collect());
    let languages: Option<Vec<&str>> = language_list
        .as_ref()
        .map(|languages| languages.iter().map(LanguageCode::as_str).collect());
    FormBuilder::default()
        .value("name", name.as_ref())
        .value("first_name", first_name.as_ref())
        .value("pseudo", pseudo.as_ref())
        .value("email", email.as_ref())
        .value("external_id", external_id.as_ref())
        .value("sso_key", sso_key.as_ref())
        .value("role", role.map(OperatorRole::as_str))
        .list("roles", roles.as_deref())
        .flag("chat_enabled", *chat_enabled)
        .flag("call_enabled", *call_enabled)
        .flag("video_enabled", *video_enabled)
        .flag("chat_and_call", *chat_and_call)
        .value("chat_max_number", *chat_max_number)
        .value("chat_priority", chat_priority.map(Priority::value))
        .value("call_priority", call_priority.map(Priority::value))
        .value("video_priority", video_priority.map(Priority::value))
        .list("language_list", languages.as_deref())
        .value(
            "language_admin",
            language_admin.as_ref().map(AdminLanguage::as_str),
        )
        .value("group_id", *group_id)
        .list("website_list", website_list.as_deref())
        .list("skill_list", skill_list.as_deref())
        .build()
}

pub(super) fn group_form(fields: &GroupFields) -> Form {
    let GroupFields {
        name,
        parent_id,
        operator_list,
    } = fields;
    FormBuilder::default()
        .value("name", name.as_ref())
        .value("parent_id", *parent_id)
        .list("operator_list", operator_list.as_deref())
        .build()
}

pub(super) fn skill_form(fields: &SkillFields) -> Form {
    let SkillFields {
        name,
        order,
        parent_id,
    } = fields;
    FormBuilder::default()
        .value("name", name.as_ref())
        .value("order", *order)
        .value("parent_id", *parent_id)
        .build()
}

/// `PUT /operator/{id}/live` fields.
pub(super) fn availability_form(change: &SetAvailability) -> Form {
    match change {
        SetAvailability::Disconnect => FormBuilder::default().value("connected", Some(0)),
        SetAvailability::Channels { chat, call, video } => FormBuilder::default()
            .flag("chat[available]", *chat)
            .flag("call[available]", *call)
            .flag("video[available]", *video),
    }
    .build()
}

/// `POST /odigocallback/{pickup,hangup}` fields.
pub(super) fn odigo_form(call: &OdigoCall) -> Form {
    let OdigoCall {
        operator_external_id,
        website_id,
        phone_number,
    } = call;
    FormBuilder::default()
        .value("operator_external_id", Some(operator_external_id))
        .value("website_id", Some(website_id))
        .value("phone_number", Some(phone_number))
        .build()
}

/// The `filters[...]` query parameters of an operator list.
pub(super) fn operator_filters(filter: &OperatorFilter) -> Form {
    let OperatorFilter {
        id,
        group_id,
        website_id,
        website_list,
        skill_id,
        name,
        external_id,
        connected,
    } = filter;
    let websites = (!website_list.is_empty()).then(|| {
        website_list
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    });
    FormBuilder::default()
        .value("filters[id]", *id)
        .value("filters[group_id]", *group_id)
        .value("filters[website_id]", *website_id)
        .value("filters[website_list]", websites)
        .value("filters[skill_id]", *skill_id)
        .value("filters[name]", name.as_ref())
        .value("filters[external_id]", external_id.as_ref())
        .value(
            "filters[connected]",
            connected.map(|c| match c {
                ConnectionFilter::Online => 1,
                ConnectionFilter::Offline => 0,
            }),
        )
        .build()
}

/// The `filters[...]` query parameters of the skill list.
pub(super) fn skill_filters(filter: &SkillFilter) -> Form {
    let SkillFilter {
        operator_id,
        parent_id,
    } = filter;
    FormBuilder::default()
        .value("filters[operator_id]", *operator_id)
        .value("filters[parent_id]", *parent_id)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_live_example_and_loose_scalars() {
        let live: WireLive = serde_json::from_str(
            r#"{"id": "456", "connected": 1,
                "chat": {"enabled": true, "slot_number": "2", "slot_max_number": 4, "busy": false, "available": "1"}}"#,
        )
        .unwrap();
        let live = live.into_domain();
        assert_eq!(live.operator_id, 456);
        assert!(live.connected);
        assert_eq!(live.chat.slot_number, 2);
        assert!(live.chat.available);
        assert_eq!(live.call, ChannelState::default());
    }

    #[test]
    fn operators_without_full_have_absent_fields() {
        let operator: WireOperator =
            serde_json::from_str(r#"{"id": 789, "_link": "/operator/789"}"#).unwrap();
        let operator = operator.into_domain();
        assert_eq!(operator.id, 789);
        assert_eq!(operator.chat_enabled, None);
        assert_eq!(operator.chat_priority, None);
        assert!(operator.roles.is_empty());
    }

    #[test]
    fn dates_are_read_in_the_configured_zone() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let time = parse_date(Some("2013-08-22 14:12:45"), paris).unwrap();
        assert_eq!(time.to_rfc3339(), "2013-08-22T12:12:45+00:00");
        assert_eq!(parse_date(Some("22/08/2013"), paris), None);
        assert_eq!(
            parse_date(Some("2013-08-22T14:12:45"), paris),
            Some(time),
            "the ISO form, read in the zone"
        );
        assert_eq!(
            parse_date(Some("2013-08-22T14:12:45+02:00"), chrono_tz::UTC),
            Some(time),
            "an offset given wins"
        );
        assert_eq!(format_date(time, paris), "2013-08-22 14:12:45");
    }

    #[test]
    fn forms_send_only_set_fields_and_lists_the_php_way() {
        let fields = OperatorFields {
            name: Some("Doe".into()),
            chat_enabled: Some(false),
            chat_priority: Some(Priority::parse("p", 10).unwrap()),
            website_list: Some(vec![1, 2]),
            skill_list: Some(vec![]),
            ..Default::default()
        };
        let form = operator_form(&fields);
        assert_eq!(
            form,
            [
                ("name", "Doe"),
                ("chat_enabled", "0"),
                ("chat_priority", "10"),
                ("website_list[]", "1"),
                ("website_list[]", "2"),
                ("skill_list", ""),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let change = SetAvailability::Channels {
            chat: Some(true),
            call: None,
            video: Some(false),
        };
        assert_eq!(
            availability_form(&change),
            [("chat[available]", "1"), ("video[available]", "0")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn filters_are_sent_as_documented() {
        let filter = OperatorFilter {
            website_list: vec![3, 1, 2],
            name: Some("*uli*".into()),
            connected: Some(ConnectionFilter::Offline),
            ..Default::default()
        }
        .normalized();
        assert_eq!(
            operator_filters(&filter),
            [
                ("filters[website_list]", "1,2,3"),
                ("filters[name]", "*uli*"),
                ("filters[connected]", "0"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }
}
