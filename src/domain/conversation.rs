//! iAdvize conversations (with their history of messages), and what follows
//! them: transactions, satisfaction surveys and call meetings. Read back from
//! iAdvize, listed with the documented filters.

use chrono::{DateTime, Months, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{FieldViolation, time_range::TimeRange};

/// How far apart `from` and `to` of a conversation list may be: iAdvize
/// answers at most 3 months of conversations.
pub const CONVERSATION_WINDOW_MONTHS: u32 = 3;

/// A conversation's channel (and the `filters[channel]` of the list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationChannel {
    Chat,
    Call,
    Video,
    /// Social network conversations: a filter value only.
    Social,
}

impl ConversationChannel {
    /// The iAdvize spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationChannel::Chat => "chat",
            ConversationChannel::Call => "call",
            ConversationChannel::Video => "video",
            ConversationChannel::Social => "social",
        }
    }

    /// Reads the iAdvize spelling; `None` for one this version does not know.
    pub fn from_vendor(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "chat" => Some(ConversationChannel::Chat),
            "call" => Some(ConversationChannel::Call),
            "video" => Some(ConversationChannel::Video),
            "social" => Some(ConversationChannel::Social),
            _ => None,
        }
    }
}

/// The kind of one history message, by iAdvize's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// 1.
    OperatorText,
    /// 2.
    VisitorText,
    /// 3: software notification ("The chat rule has been activated.",
    /// "OPERATOR_CHAT_CLOSE").
    Notification,
    /// 5: a URL.
    Link,
    /// 6.
    OperatorRichContent,
    /// 7.
    VisitorRichContent,
    /// A number the doc does not list (4, 8…): kept, not dropped.
    Other(i32),
}

impl MessageKind {
    pub fn from_code(code: i32) -> Self {
        match code {
            1 => MessageKind::OperatorText,
            2 => MessageKind::VisitorText,
            3 => MessageKind::Notification,
            5 => MessageKind::Link,
            6 => MessageKind::OperatorRichContent,
            7 => MessageKind::VisitorRichContent,
            other => MessageKind::Other(other),
        }
    }

    pub fn code(self) -> i32 {
        match self {
            MessageKind::OperatorText => 1,
            MessageKind::VisitorText => 2,
            MessageKind::Notification => 3,
            MessageKind::Link => 5,
            MessageKind::OperatorRichContent => 6,
            MessageKind::VisitorRichContent => 7,
            MessageKind::Other(code) => code,
        }
    }
}

/// One entry of a conversation history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryMessage {
    pub kind: MessageKind,
    /// When iAdvize recorded it; `None` when its date could not be read.
    pub time: Option<DateTime<Utc>>,
    /// Text, URL or notification code.
    pub content: String,
    /// The sender's clock, milliseconds since the epoch (text messages).
    pub client_timestamp_ms: Option<i64>,
}

/// A conversation history: parsed, or iAdvize's text when it could not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum History {
    Messages(Vec<HistoryMessage>),
    Unreadable(String),
}

impl Default for History {
    fn default() -> Self {
        History::Messages(Vec::new())
    }
}

/// An iAdvize conversation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    pub id: i64,
    /// `None` when absent or not a channel this version knows.
    pub channel: Option<ConversationChannel>,
    pub visitor_uid: Option<String>,
    pub history: History,
    pub operator_answer: bool,
    pub operator_closed: bool,
    pub waiting_list: bool,
    pub page_type: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub website_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub skill_id: Option<i64>,
    pub tag_list: Vec<i64>,
    pub rule_id: Option<i64>,
    pub xmpp_id: Option<String>,
}

/// The filters of the conversation list; `None` = not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConversationFilter {
    pub channel: Option<ConversationChannel>,
    /// At most [`CONVERSATION_WINDOW_MONTHS`] long (see
    /// [`check_conversation_window`]).
    pub range: TimeRange,
    pub website_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub visitor_id: Option<i64>,
    pub skill_id: Option<i64>,
    pub tag_id: Option<i64>,
    pub rule_id: Option<i64>,
}

/// iAdvize's rule: "A request cannot fetch the conversations for a period
/// over 3 months." With one end open, iAdvize itself takes 3 months from the
/// other, so only a window with both ends can break it.
///
/// The months are calendar months on iAdvize's clock (`tz`, the zone the
/// filters are written in), to the second as they are sent: `to` may be at
/// most `from` plus 3 months, where adding months keeps the day of the month,
/// or takes the month's last day when it has fewer days (Nov 30 + 3 months
/// = Feb 28 or 29). The violation names `to`.
pub fn check_conversation_window(range: &TimeRange, tz: Tz) -> Result<(), FieldViolation> {
    let (Some(from), Some(to)) = (range.from, range.to) else {
        return Ok(());
    };
    let seconds = |time: DateTime<Utc>| {
        let local = time.with_timezone(&tz).naive_local();
        local.with_nanosecond(0).unwrap_or(local)
    };
    let (from_local, to_local) = (seconds(from), seconds(to));
    let latest = from_local.checked_add_months(Months::new(CONVERSATION_WINDOW_MONTHS));
    if latest.is_none_or(|latest| to_local > latest) {
        return Err(FieldViolation::new(
            "to",
            format!(
                "is more than {CONVERSATION_WINDOW_MONTHS} months after from ({from_local} to {to_local} in {tz}): iAdvize lists at most {CONVERSATION_WINDOW_MONTHS} months of conversations per request; ask for a longer period in several requests"
            ),
        ));
    }
    Ok(())
}

/// An iAdvize transaction (a sale).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transaction {
    pub id: i64,
    pub external_id: Option<String>,
    pub visitor_uid: Option<String>,
    pub visitor_email: Option<String>,
    pub amount: f64,
    pub created_at: Option<DateTime<Utc>>,
    pub website_id: Option<i64>,
    pub operator_id: Option<i64>,
    /// `None`: not linked to a conversation (iAdvize null).
    pub conversation_id: Option<i64>,
}

/// The `filters[conversation_id]` of the transaction list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationLink {
    /// Only the transactions of this conversation.
    Conversation(i64),
    /// Only those linked to some conversation (`!null`).
    Linked,
    /// Only those linked to none (`null`).
    Unlinked,
}

/// The filters of the transaction list; `None` = not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransactionFilter {
    pub website_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub conversation: Option<ConversationLink>,
    pub range: TimeRange,
}

/// An answer to an iAdvize satisfaction survey. Notes are percentages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Satisfaction {
    pub id: i64,
    pub note_welcome: f64,
    pub note_resolution: f64,
    pub note_delay: f64,
    pub comment: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub website_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub conversation_id: Option<i64>,
}

/// The filters of the satisfaction list; `None` = not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SatisfactionFilter {
    pub website_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub conversation_id: Option<i64>,
    pub range: TimeRange,
}

/// Where a call meeting stands (the doc's five values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMeetingStatus {
    Pending,
    Progress,
    Done,
    Failed,
    Working,
}

impl CallMeetingStatus {
    /// Reads the iAdvize spelling; `None` for one the doc does not list.
    pub fn from_vendor(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "pending" => Some(CallMeetingStatus::Pending),
            "progress" => Some(CallMeetingStatus::Progress),
            "done" => Some(CallMeetingStatus::Done),
            "failed" => Some(CallMeetingStatus::Failed),
            "working" => Some(CallMeetingStatus::Working),
            _ => None,
        }
    }
}

/// A call back booked by a visitor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallMeeting {
    pub id: i64,
    pub phone_number: Option<String>,
    pub visitor_uid: Option<String>,
    pub status: Option<CallMeetingStatus>,
    pub start_at: Option<DateTime<Utc>>,
    pub website_id: Option<i64>,
    /// Strings in the doc: kept as iAdvize writes them (trimmed, never
    /// empty).
    pub targeting_rule_id: Option<String>,
    pub skill_id: Option<String>,
}

/// The filters of the call meeting list; `None` = not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallMeetingFilter {
    pub website_id: Option<i64>,
    pub range: TimeRange,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn range(tz: Tz, from: &str, to: &str) -> TimeRange {
        let at = |text: &str| {
            let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
            tz.from_local_datetime(&naive)
                .single()
                .unwrap()
                .with_timezone(&Utc)
        };
        TimeRange::new(Some(at(from)), Some(at(to))).unwrap()
    }

    #[test]
    fn the_window_is_three_calendar_months_on_iadvizes_clock() {
        let utc = chrono_tz::UTC;
        let ok = |from, to| check_conversation_window(&range(utc, from, to), utc);
        assert!(ok("2013-08-22 00:00:00", "2013-11-22 00:00:00").is_ok());
        assert_eq!(
            ok("2013-08-22 00:00:00", "2013-11-22 00:00:01")
                .unwrap_err()
                .field,
            "to"
        );
        // A month's last day when the target month is shorter.
        assert!(ok("2023-11-30 12:00:00", "2024-02-29 12:00:00").is_ok());
        assert!(ok("2023-11-30 12:00:00", "2024-03-01 00:00:00").is_err());
        // Open ends are iAdvize's to bound.
        assert!(check_conversation_window(&TimeRange::default(), utc).is_ok());

        // In Paris, 2024-01-31 23:30 UTC is already February 1st: 3 months
        // later is May 1st 00:30 local, 2024-04-30 22:30 UTC.
        let paris = chrono_tz::Europe::Paris;
        let from = Utc.with_ymd_and_hms(2024, 1, 31, 23, 30, 0).single();
        let to = |h, m| Utc.with_ymd_and_hms(2024, 4, 30, h, m, 0).single();
        let window = |to| TimeRange::new(from, to).unwrap();
        assert!(check_conversation_window(&window(to(22, 30)), paris).is_ok());
        assert!(check_conversation_window(&window(to(22, 31)), paris).is_err());
        // In UTC the same instants are within April 30th 23:30.
        assert!(check_conversation_window(&window(to(22, 31)), utc).is_ok());
    }

    #[test]
    fn message_kinds_keep_unknown_numbers() {
        for code in [1, 2, 3, 5, 6, 7, 4, 8, 0] {
            assert_eq!(MessageKind::from_code(code).code(), code);
        }
        assert_eq!(MessageKind::from_code(4), MessageKind::Other(4));
        assert_eq!(MessageKind::from_code(5), MessageKind::Link);
    }
}
