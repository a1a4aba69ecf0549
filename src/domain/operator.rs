//! iAdvize operators ("agents"), their live availability, groups and skills,
//! as switchboard speaks of them: what is read back, what may be written, and
//! the filters of the lists. Values here are validated (built by the gRPC
//! layer's checks or read from iAdvize).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{FieldViolation, quote};

/// Longest free text sent to iAdvize (names, pseudonyms, external ids).
const MAX_TEXT_LEN: usize = 255;

/// An iAdvize role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRole {
    Expert,
    Operator,
    Manager,
    Admin,
}

impl OperatorRole {
    /// The iAdvize spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorRole::Expert => "expert",
            OperatorRole::Operator => "operator",
            OperatorRole::Manager => "manager",
            OperatorRole::Admin => "admin",
        }
    }

    /// Reads the iAdvize spelling; `None` for a role this version does not
    /// know (iAdvize may add some).
    pub fn from_vendor(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "expert" => Some(OperatorRole::Expert),
            "operator" => Some(OperatorRole::Operator),
            "manager" => Some(OperatorRole::Manager),
            "admin" => Some(OperatorRole::Admin),
            _ => None,
        }
    }
}

/// An operator as iAdvize returned it. `None` means iAdvize did not send the
/// field (lists without `full`), so that false and 0 stay meaningful.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Operator {
    pub id: i64,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub pseudo: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    /// Deprecated by iAdvize in favour of `roles`.
    pub role: Option<OperatorRole>,
    pub roles: Vec<OperatorRole>,
    pub chat_enabled: Option<bool>,
    pub call_enabled: Option<bool>,
    pub video_enabled: Option<bool>,
    pub chat_max_number: Option<i32>,
    pub chat_and_call: Option<bool>,
    pub chat_priority: Option<i32>,
    pub call_priority: Option<i32>,
    pub video_priority: Option<i32>,
    pub language_list: Vec<String>,
    pub language_admin: Option<String>,
    pub group_id: Option<i64>,
    pub website_list: Vec<i64>,
    pub skill_list: Vec<i64>,
    pub sso_key: Option<String>,
}

/// Operator fields to write (CreateAgent: every field the client set;
/// UpdateAgent: the fields of the update mask). `Some` = sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperatorFields {
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub pseudo: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub role: Option<OperatorRole>,
    pub roles: Option<Vec<OperatorRole>>,
    pub chat_enabled: Option<bool>,
    pub call_enabled: Option<bool>,
    pub video_enabled: Option<bool>,
    pub chat_max_number: Option<i32>,
    pub chat_and_call: Option<bool>,
    pub chat_priority: Option<Priority>,
    pub call_priority: Option<Priority>,
    pub video_priority: Option<Priority>,
    pub language_list: Option<Vec<LanguageCode>>,
    pub language_admin: Option<AdminLanguage>,
    pub group_id: Option<i64>,
    pub website_list: Option<Vec<i64>>,
    pub skill_list: Option<Vec<i64>>,
    pub sso_key: Option<String>,
}

/// The iAdvize `connected` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionFilter {
    Online,
    Offline,
}

/// Which operators a list or a watch covers; `None` = not sent. Equal
/// filters (website order aside) share one availability poller, so the
/// website list is kept sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct OperatorFilter {
    pub id: Option<i64>,
    pub group_id: Option<i64>,
    pub website_id: Option<i64>,
    pub website_list: Vec<i64>,
    pub skill_id: Option<i64>,
    pub name: Option<String>,
    pub external_id: Option<String>,
    pub connected: Option<ConnectionFilter>,
}

impl OperatorFilter {
    /// Sorts and dedupes `website_list`: its order means nothing to iAdvize.
    pub fn normalized(mut self) -> Self {
        self.website_list.sort_unstable();
        self.website_list.dedup();
        self
    }
}

/// The live state of one channel of an operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelState {
    pub enabled: bool,
    pub slot_number: i32,
    pub slot_max_number: i32,
    pub busy: bool,
    pub available: bool,
}

/// The live availability of one operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Availability {
    pub operator_id: i64,
    pub connected: bool,
    pub chat: ChannelState,
    pub call: ChannelState,
    pub video: ChannelState,
}

/// A channel of an operator's availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Chat,
    Call,
    Video,
}

/// What changed about one operator between two polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvailabilityChange {
    Connection {
        operator_id: i64,
        before: bool,
        after: bool,
    },
    Channel {
        operator_id: i64,
        channel: Channel,
        before: ChannelState,
        after: ChannelState,
    },
}

/// SetAgentAvailability, validated: at least one channel, or a disconnect
/// alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAvailability {
    Channels {
        chat: Option<bool>,
        call: Option<bool>,
        video: Option<bool>,
    },
    Disconnect,
}

/// An operator's statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OperatorStatistics {
    pub operator_id: i64,
    pub conversation_number: i64,
    pub satisfaction_global_rate: f64,
    pub experience: i64,
}

/// An operator's public profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorProfile {
    pub operator_id: i64,
    pub status: Option<String>,
    pub description: Option<String>,
    pub facebook: Option<String>,
    pub twitter: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
}

/// An operator group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorGroup {
    pub id: i64,
    pub name: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub parent_id: Option<i64>,
    pub operator_list: Vec<i64>,
    pub parent_list: Vec<i64>,
}

/// Group fields to write; `Some` = sent (`parent_id` 0 detaches).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupFields {
    pub name: Option<String>,
    pub parent_id: Option<i64>,
    pub operator_list: Option<Vec<i64>>,
}

/// A skill.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skill {
    pub id: i64,
    pub name: Option<String>,
    pub order: Option<i32>,
    pub created_at: Option<DateTime<Utc>>,
    pub parent_id: Option<i64>,
    /// Deprecated by iAdvize.
    pub operator_list: Vec<i64>,
}

/// Skill fields to write; `Some` = sent (`parent_id` 0 detaches).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkillFields {
    pub name: Option<String>,
    pub order: Option<i32>,
    pub parent_id: Option<i64>,
}

/// Filters of the skill list; `None` = not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SkillFilter {
    pub operator_id: Option<i64>,
    pub parent_id: Option<i64>,
}

/// An Odigo call event (pick-up or hang-up) to tell iAdvize about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdigoCall {
    pub operator_external_id: String,
    pub website_id: i64,
    pub phone_number: String,
}

/// The conversation iAdvize attached to a picked-up Odigo call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OdigoConversation {
    pub targeting_rule_id: i64,
    pub website_id: i64,
    pub conversation_id: i64,
    pub skill_id: Option<i64>,
    pub visitor_phone_number: Option<String>,
    pub visitor_uid: Option<String>,
}

/// A chat / call / video priority: iAdvize knows only 0 and 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority(i32);

impl Priority {
    pub fn parse(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match value {
            0 | 10 => Ok(Self(value)),
            other => Err(FieldViolation::new(
                field,
                format!("must be 0 or 10 (the iAdvize priorities), got {other}"),
            )),
        }
    }

    pub fn value(self) -> i32 {
        self.0
    }
}

/// An ISO 639-1 language code, e.g. "en", kept lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageCode(String);

impl LanguageCode {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let code = value.trim().to_ascii_lowercase();
        if code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase()) {
            Ok(Self(code))
        } else {
            Err(FieldViolation::new(
                field,
                format!(
                    "is not a two-letter ISO 639-1 language code (e.g. \"en\"): {}",
                    quote(value)
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The language of an operator's admin screens: iAdvize offers de, en, es
/// and fr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminLanguage(LanguageCode);

impl AdminLanguage {
    const ALLOWED: [&str; 4] = ["de", "en", "es", "fr"];

    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let code = LanguageCode::parse(field, value)?;
        if Self::ALLOWED.contains(&code.as_str()) {
            Ok(Self(code))
        } else {
            Err(FieldViolation::new(
                field,
                format!("must be one of de, en, es or fr, got {}", quote(value)),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// An iAdvize id that must be given: positive.
pub fn required_id(field: &str, value: i64) -> Result<i64, FieldViolation> {
    if value > 0 {
        Ok(value)
    } else if value == 0 {
        Err(FieldViolation::new(field, "is required (a positive id)"))
    } else {
        Err(FieldViolation::new(
            field,
            format!("must be a positive id, got {value}"),
        ))
    }
}

/// An optional iAdvize id: 0 = not set, negative is an error.
pub fn optional_id(field: &str, value: i64) -> Result<Option<i64>, FieldViolation> {
    match value {
        0 => Ok(None),
        v if v > 0 => Ok(Some(v)),
        v => Err(FieldViolation::new(
            field,
            format!("must be a positive id (or 0 for none), got {v}"),
        )),
    }
}

/// A list of ids, each positive; a bad one is named by its index.
pub fn id_list(field: &str, values: &[i64]) -> Result<Vec<i64>, FieldViolation> {
    for (index, value) in values.iter().enumerate() {
        if *value <= 0 {
            return Err(FieldViolation::new(
                format!("{field}[{index}]"),
                format!("must be a positive id, got {value}"),
            ));
        }
    }
    Ok(values.to_vec())
}

/// Free text sent to iAdvize: trimmed, at most 255 characters, no control
/// characters. Empty gives `None`.
pub fn optional_text(field: &str, value: &str) -> Result<Option<String>, FieldViolation> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > MAX_TEXT_LEN {
        return Err(FieldViolation::new(
            field,
            format!("is longer than {MAX_TEXT_LEN} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldViolation::new(field, "contains control characters"));
    }
    Ok(Some(trimmed.to_owned()))
}

/// Like [`optional_text`], but empty is an error.
pub fn required_text(field: &str, value: &str) -> Result<String, FieldViolation> {
    optional_text(field, value)?.ok_or_else(|| FieldViolation::new(field, "is required"))
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Channel::Chat => "chat",
            Channel::Call => "call",
            Channel::Video => "video",
        })
    }
}

impl Availability {
    /// The state of one channel.
    pub fn channel(&self, channel: Channel) -> ChannelState {
        match channel {
            Channel::Chat => self.chat,
            Channel::Call => self.call,
            Channel::Video => self.video,
        }
    }

    /// What changed from `self` (the earlier poll) to `later`, connection
    /// first, then chat, call and video.
    pub fn changes_to(&self, later: &Availability) -> Vec<AvailabilityChange> {
        let mut changes = Vec::new();
        if self.connected != later.connected {
            changes.push(AvailabilityChange::Connection {
                operator_id: later.operator_id,
                before: self.connected,
                after: later.connected,
            });
        }
        for channel in [Channel::Chat, Channel::Call, Channel::Video] {
            let (before, after) = (self.channel(channel), later.channel(channel));
            if before != after {
                changes.push(AvailabilityChange::Channel {
                    operator_id: later.operator_id,
                    channel,
                    before,
                    after,
                });
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_0_or_10() {
        assert_eq!(Priority::parse("p", 10).unwrap().value(), 10);
        assert_eq!(Priority::parse("p", 0).unwrap().value(), 0);
        assert_eq!(
            Priority::parse("agent.chat_priority", 5).unwrap_err().field,
            "agent.chat_priority"
        );
    }

    #[test]
    fn languages() {
        assert_eq!(LanguageCode::parse("l", " EN ").unwrap().as_str(), "en");
        assert!(LanguageCode::parse("l", "eng").is_err());
        assert!(LanguageCode::parse("l", "e1").is_err());
        assert_eq!(AdminLanguage::parse("l", "fr").unwrap().as_str(), "fr");
        assert!(AdminLanguage::parse("l", "it").is_err());
    }

    #[test]
    fn ids_and_text() {
        assert_eq!(required_id("id", 3).unwrap(), 3);
        assert!(required_id("id", 0).is_err());
        assert!(required_id("id", -1).is_err());
        assert_eq!(optional_id("id", 0).unwrap(), None);
        assert!(optional_id("id", -2).is_err());
        assert_eq!(id_list("w", &[1, -2]).unwrap_err().field, "w[1]");
        assert_eq!(optional_text("n", "  ").unwrap(), None);
        assert!(optional_text("n", "a\u{7}").is_err());
        assert!(required_text("n", "").is_err());
    }

    #[test]
    fn changes_list_connection_then_channels() {
        let before = Availability {
            operator_id: 7,
            connected: true,
            ..Default::default()
        };
        let mut after = before;
        after.connected = false;
        after.call.available = true;
        let changes = before.changes_to(&after);
        assert_eq!(changes.len(), 2);
        assert!(matches!(
            changes[0],
            AvailabilityChange::Connection {
                operator_id: 7,
                before: true,
                after: false
            }
        ));
        assert!(matches!(
            changes[1],
            AvailabilityChange::Channel {
                channel: Channel::Call,
                ..
            }
        ));
        assert!(before.changes_to(&before).is_empty());
    }
}
