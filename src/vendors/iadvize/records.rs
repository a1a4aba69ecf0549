//! The iAdvize records of what happens around conversations, as documented:
//! conversations (`/conversation.json-unicode?formatHistory=0`, history
//! included), transactions, satisfaction surveys and call meetings, read
//! leniently like every iAdvize answer, and the `filters[...]` of their
//! lists.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::wire::{Form, FormBuilder, format_date, parse_date};
use crate::{
    domain::{
        TimeRange,
        conversation::{
            CallMeeting, CallMeetingFilter, CallMeetingStatus, Conversation, ConversationChannel,
            ConversationFilter, ConversationLink, History, HistoryMessage, MessageKind,
            Satisfaction, SatisfactionFilter, Transaction, TransactionFilter,
        },
    },
    vendors::wire::{
        int_list, int_or_string, loose_bool, number_or_string, opt_int_or_string, opt_text,
    },
};

/// `/conversation.json-unicode`, `/conversation.json-unicode/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct WireConversation {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub channel: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub visitor_uid: Option<String>,
    /// Documented as a string; see [`read_history`] for what is accepted.
    #[serde(default)]
    pub history: Value,
    #[serde(default, deserialize_with = "loose_bool")]
    pub operator_answer: bool,
    #[serde(default, deserialize_with = "loose_bool")]
    pub operator_closed: bool,
    #[serde(default, deserialize_with = "loose_bool")]
    pub waitinglist: bool,
    #[serde(default, deserialize_with = "opt_text")]
    pub page_type: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub closed_at: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub website_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub operator_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub skill_id: Option<i64>,
    #[serde(default, deserialize_with = "int_list")]
    pub tag_list: Vec<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub rule_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub xmpp_id: Option<String>,
}

/// `/transaction`, `/transaction/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct WireTransaction {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub visitor_uid: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub visitor_email: Option<String>,
    #[serde(default, deserialize_with = "number_or_string")]
    pub amount: f64,
    #[serde(default, deserialize_with = "opt_text")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub website_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub operator_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub conversation_id: Option<i64>,
}

/// `/satisfaction`, `/satisfaction/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct WireSatisfaction {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default, deserialize_with = "number_or_string")]
    pub note_welcome: f64,
    #[serde(default, deserialize_with = "number_or_string")]
    pub note_resolution: f64,
    /// The doc spells the delay note `node_delay`; the spelling the other
    /// notes suggest is read too, should iAdvize ever fix it.
    #[serde(default, alias = "note_delay", deserialize_with = "number_or_string")]
    pub node_delay: f64,
    #[serde(default, deserialize_with = "opt_text")]
    pub comment: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub website_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub operator_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub conversation_id: Option<i64>,
}

/// `/callmeeting`, `/callmeeting/{id}`. The rule and skill ids are documented
/// as strings.
#[derive(Debug, Deserialize)]
pub(super) struct WireCallMeeting {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub phone_number: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub visitor_uid: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub start_at: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub website_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub targeting_rule_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub skill_id: Option<String>,
}

/// iAdvize writes "none" as null or 0 for its ids.
fn some_id(id: Option<i64>) -> Option<i64> {
    id.filter(|id| *id > 0)
}

/// An id iAdvize sends as text ("107"), kept as text; empty, or "0" (how
/// iAdvize writes "none" for its ids), is no id.
fn text_id(text: Option<String>) -> Option<String> {
    let text = text?.trim().to_owned();
    (!text.is_empty() && text != "0").then_some(text)
}

impl WireConversation {
    pub(super) fn into_domain(self, tz: Tz) -> Conversation {
        Conversation {
            id: self.id,
            channel: self
                .channel
                .as_deref()
                .and_then(ConversationChannel::from_vendor),
            visitor_uid: self.visitor_uid,
            history: read_history(&self.history, tz),
            operator_answer: self.operator_answer,
            operator_closed: self.operator_closed,
            waiting_list: self.waitinglist,
            page_type: self.page_type,
            created_at: parse_date(self.created_at.as_deref(), tz),
            closed_at: parse_date(self.closed_at.as_deref(), tz),
            website_id: some_id(self.website_id),
            operator_id: some_id(self.operator_id),
            skill_id: some_id(self.skill_id),
            tag_list: self.tag_list,
            rule_id: some_id(self.rule_id),
            xmpp_id: self.xmpp_id,
        }
    }
}

impl WireTransaction {
    pub(super) fn into_domain(self, tz: Tz) -> Transaction {
        Transaction {
            id: self.id,
            external_id: self.external_id,
            visitor_uid: self.visitor_uid,
            visitor_email: self.visitor_email,
            amount: self.amount,
            created_at: parse_date(self.created_at.as_deref(), tz),
            website_id: some_id(self.website_id),
            operator_id: some_id(self.operator_id),
            conversation_id: some_id(self.conversation_id),
        }
    }
}

impl WireSatisfaction {
    pub(super) fn into_domain(self, tz: Tz) -> Satisfaction {
        Satisfaction {
            id: self.id,
            note_welcome: self.note_welcome,
            note_resolution: self.note_resolution,
            note_delay: self.node_delay,
            comment: self.comment,
            created_at: parse_date(self.created_at.as_deref(), tz),
            website_id: some_id(self.website_id),
            operator_id: some_id(self.operator_id),
            conversation_id: some_id(self.conversation_id),
        }
    }
}

impl WireCallMeeting {
    pub(super) fn into_domain(self, tz: Tz) -> CallMeeting {
        CallMeeting {
            id: self.id,
            phone_number: self.phone_number,
            visitor_uid: self.visitor_uid,
            status: self
                .status
                .as_deref()
                .and_then(CallMeetingStatus::from_vendor),
            start_at: parse_date(self.start_at.as_deref(), tz),
            website_id: some_id(self.website_id),
            targeting_rule_id: text_id(self.targeting_rule_id),
            skill_id: text_id(self.skill_id),
        }
    }
}

// ---- history ----

/// Reads a conversation's `history`: a list of messages
/// `[type, "YYYY-MM-DD HH:MM:SS", content]`, text messages adding the
/// sender's clock in milliseconds as a 4th element.
///
/// The doc calls the field a string and prints its example between braces
/// (`{ [5,"…","http://test.com/"], [2,…], … }`, with a stray backtick), so
/// this takes, in order: a JSON list as such; a string holding a JSON list;
/// a string holding the list between braces, or with no brackets at all;
/// null or an empty string as no message. Anything else, or any entry that
/// is not such a list, leaves the whole text unread
/// ([`History::Unreadable`]) rather than half of it read.
pub(super) fn read_history(value: &Value, tz: Tz) -> History {
    let entries = match value {
        Value::Null => return History::Messages(Vec::new()),
        Value::Array(entries) => entries.clone(),
        Value::String(text) if text.trim().is_empty() => return History::Messages(Vec::new()),
        Value::String(text) => match history_entries(text) {
            Some(entries) => entries,
            None => return History::Unreadable(text.clone()),
        },
        other => return History::Unreadable(other.to_string()),
    };
    let messages: Option<Vec<HistoryMessage>> = entries
        .iter()
        .map(|entry| history_message(entry, tz))
        .collect();
    match messages {
        Some(messages) => History::Messages(messages),
        None => History::Unreadable(match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }),
    }
}

/// The entries of a history written as text (see [`read_history`]).
fn history_entries(text: &str) -> Option<Vec<Value>> {
    // The doc's example ends with a stray backtick; a trailing comma is
    // PHP's print habit.
    let trimmed = text.trim().trim_matches('`').trim();
    let list = |body: &str| {
        let body = body.trim().trim_end_matches(',');
        serde_json::from_str::<Vec<Value>>(&format!("[{body}]")).ok()
    };
    if let Ok(entries) = serde_json::from_str::<Vec<Value>>(trimmed) {
        return Some(entries);
    }
    if let Some(body) = trimmed
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
    {
        return list(body.trim().trim_end_matches('`'));
    }
    list(trimmed)
}

/// One `[type, date, content, client ms?]` entry; `None` when it is not one.
fn history_message(entry: &Value, tz: Tz) -> Option<HistoryMessage> {
    let items = entry.as_array()?;
    let code = match items.first()? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    let time = items.get(1).and_then(Value::as_str);
    let content = match items.get(2) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        // Rich content could come as an object: kept as its JSON text.
        Some(other) => other.to_string(),
    };
    let client_timestamp_ms = match items.get(3) {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    // The milliseconds are an instant whatever the zone; the date string is
    // only a wall clock (Europe/Paris in the doc's example), and to the
    // second: when both are given, the milliseconds win.
    let time = client_timestamp_ms
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .or_else(|| parse_date(time, tz));
    Some(HistoryMessage {
        kind: MessageKind::from_code(i32::try_from(code).ok()?),
        time,
        content,
        client_timestamp_ms,
    })
}

// ---- filters ----

fn range_filters(builder: FormBuilder, range: &TimeRange, tz: Tz) -> FormBuilder {
    let date = |time: Option<DateTime<Utc>>| time.map(|t| format_date(t, tz));
    builder
        .value("filters[from]", date(range.from))
        .value("filters[to]", date(range.to))
}

/// The `filters[...]` of the conversation list, in the doc's order.
pub(super) fn conversation_filters(filter: &ConversationFilter, tz: Tz) -> Form {
    let ConversationFilter {
        channel,
        range,
        website_id,
        operator_id,
        visitor_id,
        skill_id,
        tag_id,
        rule_id,
    } = filter;
    let builder = FormBuilder::default().value("filters[channel]", channel.map(|c| c.as_str()));
    range_filters(builder, range, tz)
        .value("filters[website_id]", *website_id)
        .value("filters[operator_id]", *operator_id)
        .value("filters[visitor_id]", *visitor_id)
        .value("filters[skill_id]", *skill_id)
        .value("filters[tag_id]", *tag_id)
        .value("filters[rule_id]", *rule_id)
        .build()
}

/// The `filters[...]` of the transaction list, in the doc's order.
pub(super) fn transaction_filters(filter: &TransactionFilter, tz: Tz) -> Form {
    let TransactionFilter {
        website_id,
        operator_id,
        conversation,
        range,
    } = filter;
    let conversation = conversation.map(|link| match link {
        ConversationLink::Conversation(id) => id.to_string(),
        ConversationLink::Linked => "!null".to_owned(),
        ConversationLink::Unlinked => "null".to_owned(),
    });
    let builder = FormBuilder::default()
        .value("filters[website_id]", *website_id)
        .value("filters[operator_id]", *operator_id)
        .value("filters[conversation_id]", conversation);
    range_filters(builder, range, tz).build()
}

/// The `filters[...]` of the satisfaction list, in the doc's order.
pub(super) fn satisfaction_filters(filter: &SatisfactionFilter, tz: Tz) -> Form {
    let SatisfactionFilter {
        website_id,
        operator_id,
        conversation_id,
        range,
    } = filter;
    let builder = FormBuilder::default()
        .value("filters[website_id]", *website_id)
        .value("filters[operator_id]", *operator_id)
        .value("filters[conversation_id]", *conversation_id);
    range_filters(builder, range, tz).build()
}

/// The `filters[...]` of the call meeting list, in the doc's order.
pub(super) fn call_meeting_filters(filter: &CallMeetingFilter, tz: Tz) -> Form {
    let CallMeetingFilter { website_id, range } = filter;
    let builder = FormBuilder::default().value("filters[website_id]", *website_id);
    range_filters(builder, range, tz).build()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The doc's way of printing a history: between braces, a stray
    /// backtick after the last entry. (The API tests read its whole example.)
    const PRINTED: &str = r#"{
  [5,"2016-02-16 11:24:21","http://test.com/"],
  [2,"2016-02-16 11:24:23","Hello",1455618264049],
  [3,"2016-02-16 11:26:43","OPERATOR_CHAT_CLOSE"]`
}"#;

    fn messages(history: History) -> Vec<HistoryMessage> {
        match history {
            History::Messages(messages) => messages,
            History::Unreadable(text) => panic!("unreadable: {text}"),
        }
    }

    #[test]
    fn the_doc_example_as_printed_a_json_string_or_a_json_list() {
        let utc = chrono_tz::UTC;
        let paris = chrono_tz::Europe::Paris;
        let printed = messages(read_history(&json!(PRINTED), paris));
        assert_eq!(printed.len(), 3);
        assert_eq!(printed[0].kind, MessageKind::Link);
        assert_eq!(printed[0].content, "http://test.com/");
        assert_eq!(printed[0].client_timestamp_ms, None);
        assert_eq!(printed[1].kind, MessageKind::VisitorText);
        assert_eq!(printed[1].client_timestamp_ms, Some(1_455_618_264_049));
        // The milliseconds say the instant (the string is Paris time, a
        // second off the sender's clock).
        assert_eq!(
            printed[1].time.unwrap().to_rfc3339(),
            "2016-02-16T10:24:24.049+00:00"
        );
        // Without milliseconds, the string in Paris time (UTC+1 in winter).
        assert_eq!(
            printed[0].time.unwrap().to_rfc3339(),
            "2016-02-16T10:24:21+00:00"
        );
        assert_eq!(printed[2].kind, MessageKind::Notification);
        assert_eq!(printed[2].content, "OPERATOR_CHAT_CLOSE");

        let list = json!([
            [
                1,
                "2016-02-16 11:24:43",
                "Hello, how can I help you?",
                1455618283869_i64
            ],
            ["6", "2016-02-16 11:24:21", "http://img.png/"],
            [7, "2016-02-16 11:24:21", "http://img.png/", null],
            [4, "2016-02-16 11:24:22", "?"]
        ]);
        let as_list = messages(read_history(&list, utc));
        let as_text = messages(read_history(&json!(list.to_string()), utc));
        assert_eq!(as_list, as_text);
        let kinds: Vec<_> = as_list.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                MessageKind::OperatorText,
                MessageKind::OperatorRichContent,
                MessageKind::VisitorRichContent,
                MessageKind::Other(4)
            ]
        );
        assert_eq!(as_list[2].client_timestamp_ms, None);
        assert_eq!(
            as_list[0].time,
            DateTime::<Utc>::from_timestamp_millis(1_455_618_283_869),
            "the milliseconds win whatever the zone"
        );
    }

    #[test]
    fn date_filters_are_written_on_the_paris_clock_winter_and_summer() {
        let paris = chrono_tz::Europe::Paris;
        let instant = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        let filter = CallMeetingFilter {
            website_id: None,
            range: TimeRange::new(
                Some(instant("2016-02-16T10:24:21Z")),
                Some(instant("2016-07-01T22:30:00Z")),
            )
            .unwrap(),
        };
        assert_eq!(
            call_meeting_filters(&filter, paris),
            [
                ("filters[from]", "2016-02-16 11:24:21"),
                ("filters[to]", "2016-07-02 00:30:00"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn empty_and_unreadable_histories() {
        let utc = chrono_tz::UTC;
        assert_eq!(read_history(&Value::Null, utc), History::Messages(vec![]));
        assert_eq!(read_history(&json!(""), utc), History::Messages(vec![]));
        assert_eq!(read_history(&json!("[]"), utc), History::Messages(vec![]));
        for text in [
            "Hello there",
            "[[\"x\", \"2016-02-16 11:24:21\", \"a\"]]",
            "[1, 2]",
        ] {
            assert_eq!(
                read_history(&json!(text), utc),
                History::Unreadable(text.to_owned()),
                "{text}"
            );
        }
    }

    #[test]
    fn records_read_loosely_and_ids_of_none_are_none() {
        let tz = chrono_tz::Europe::Paris;
        let transaction: WireTransaction = serde_json::from_value(json!({
            "id": "7", "external_id": 1234, "visitor_uid": "abc", "visitor_email": "a@b.c",
            "amount": "99.90", "created_at": "2016-02-16 11:24:21", "website_id": 1,
            "operator_id": 0, "conversation_id": null
        }))
        .unwrap();
        let transaction = transaction.into_domain(tz);
        assert_eq!(transaction.external_id.as_deref(), Some("1234"));
        assert_eq!(transaction.amount, 99.9);
        assert_eq!(transaction.operator_id, None);
        assert_eq!(transaction.conversation_id, None);
        assert_eq!(
            transaction.created_at.unwrap().to_rfc3339(),
            "2016-02-16T10:24:21+00:00"
        );

        let meeting: WireCallMeeting = serde_json::from_value(json!({
            "id": 3, "status": "Done", "targeting_rule_id": "107", "skill_id": "",
            "start_at": "2015-03-31 19:00:00"
        }))
        .unwrap();
        let meeting = meeting.into_domain(tz);
        assert_eq!(meeting.status, Some(CallMeetingStatus::Done));
        assert_eq!(meeting.targeting_rule_id.as_deref(), Some("107"));
        assert_eq!(meeting.skill_id, None);

        let satisfaction: WireSatisfaction =
            serde_json::from_value(json!({"id": 1, "note_delay": 0.5})).unwrap();
        assert_eq!(satisfaction.into_domain(tz).note_delay, 0.5);
    }

    #[test]
    fn filters_are_written_as_documented() {
        let tz = chrono_tz::Europe::Paris;
        let from = parse_date(Some("2013-08-22 00:00:00"), tz);
        let filter = TransactionFilter {
            operator_id: Some(3),
            conversation: Some(ConversationLink::Linked),
            range: TimeRange::new(from, None).unwrap(),
            ..Default::default()
        };
        assert_eq!(
            transaction_filters(&filter, tz),
            [
                ("filters[operator_id]", "3"),
                ("filters[conversation_id]", "!null"),
                ("filters[from]", "2013-08-22 00:00:00"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }
}
