//! The iAdvize half of StatsService, request side and answer side: reading
//! and checking the requests of GetStatistics and of the conversation,
//! transaction, satisfaction and call meeting RPCs into domain filters, and
//! turning what iAdvize returned back into proto.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use prost_types::Timestamp;

use crate::{
    domain::{
        FieldViolation, TimeRange, Violations,
        conversation::{
            CallMeeting, CallMeetingFilter, CallMeetingStatus, Conversation, ConversationChannel,
            ConversationFilter, ConversationLink, History, HistoryMessage, MessageKind,
            Satisfaction, SatisfactionFilter, Transaction, TransactionFilter,
            check_conversation_window,
        },
        operator::{id_list, optional_id, required_id},
        statistic::{
            Granularity, IndicatorValue, PeriodValue, ResourceStatistics, StatisticChannel,
            StatisticResource, Statistics, StatisticsQuery, check_indicators,
        },
    },
    pb::{self, v1 as proto},
};

// ---- requests ----

/// An optional client timestamp: unset = `None`.
fn optional_time(
    violations: &mut Violations,
    field: &str,
    value: Option<&Timestamp>,
) -> Option<Option<DateTime<Utc>>> {
    match value {
        None => Some(None),
        Some(value) => violations.check(pb::from_timestamp(field, value)).map(Some),
    }
}

/// `from` and `to`, each optional, `to` not before `from`.
fn time_range(
    violations: &mut Violations,
    from: Option<&Timestamp>,
    to: Option<&Timestamp>,
) -> Option<TimeRange> {
    let from = optional_time(violations, "from", from);
    let to = optional_time(violations, "to", to);
    let (from, to) = crate::all_some!(from, to)?;
    violations.check(TimeRange::new(from, to))
}

fn statistic_channel(value: proto::StatisticChannel) -> Option<StatisticChannel> {
    match value {
        proto::StatisticChannel::Unspecified => None,
        proto::StatisticChannel::Chat => Some(StatisticChannel::Chat),
        proto::StatisticChannel::Call => Some(StatisticChannel::Call),
        proto::StatisticChannel::Facebook => Some(StatisticChannel::Facebook),
        proto::StatisticChannel::Twitter => Some(StatisticChannel::Twitter),
        proto::StatisticChannel::FacebookBusinessOnMessenger => {
            Some(StatisticChannel::FacebookBusinessOnMessenger)
        }
        proto::StatisticChannel::Instagram => Some(StatisticChannel::Instagram),
        proto::StatisticChannel::Sms => Some(StatisticChannel::Sms),
        proto::StatisticChannel::Whatsapp => Some(StatisticChannel::Whatsapp),
        proto::StatisticChannel::Video => Some(StatisticChannel::Video),
    }
}

fn statistic_resource(value: proto::StatisticResource) -> Option<StatisticResource> {
    match value {
        proto::StatisticResource::Unspecified => None,
        proto::StatisticResource::Operator => Some(StatisticResource::Operator),
        proto::StatisticResource::Group => Some(StatisticResource::Group),
        proto::StatisticResource::Skill => Some(StatisticResource::Skill),
        proto::StatisticResource::Rule => Some(StatisticResource::Rule),
        proto::StatisticResource::ContactType => Some(StatisticResource::ContactType),
        proto::StatisticResource::PageType => Some(StatisticResource::PageType),
    }
}

fn granularity(value: proto::StatisticGranularity) -> Option<Granularity> {
    match value {
        proto::StatisticGranularity::Unspecified => None,
        proto::StatisticGranularity::Hour => Some(Granularity::Hour),
        proto::StatisticGranularity::Day => Some(Granularity::Day),
        proto::StatisticGranularity::Month => Some(Granularity::Month),
    }
}

/// Checks a GetStatistics request: known enum values, positive ids,
/// `resource_id` only with `resource`, `to` not before `from`, and the
/// indicator rules of [`check_indicators`].
pub fn statistics_query(
    violations: &mut Violations,
    request: proto::GetStatisticsRequest,
) -> Option<StatisticsQuery> {
    let proto::GetStatisticsRequest {
        website_list,
        channel,
        resource,
        resource_id,
        indicators,
        from,
        to,
        granularity: granularity_value,
    } = request;
    let website_list = violations
        .check(id_list("website_list", &website_list))
        .map(|mut list| {
            list.sort_unstable();
            list.dedup();
            list
        });
    let channel = violations
        .check(pb::enum_value("channel", channel))
        .map(statistic_channel);
    let resource = violations
        .check(pb::enum_value("resource", resource))
        .map(statistic_resource);
    let resource_id = violations.check(optional_id("resource_id", resource_id));
    if let (Some(Some(_)), Some(None)) = (resource_id, resource) {
        violations.push(FieldViolation::new(
            "resource_id",
            "needs resource: say what kind of resource the id is (e.g. STATISTIC_RESOURCE_OPERATOR)",
        ));
    }
    let granularity = violations
        .check(pb::enum_value("granularity", granularity_value))
        .map(granularity);
    let range = time_range(violations, from.as_ref(), to.as_ref());
    // Checked even when the channel or granularity is itself invalid, so
    // that every wrong name is reported at once.
    let indicators = match check_indicators(&indicators, channel.flatten(), granularity.flatten()) {
        Ok(indicators) => Some(indicators),
        Err(found) => {
            for violation in found {
                violations.push(violation);
            }
            None
        }
    };
    let (website_list, channel, resource, resource_id, indicators, range, granularity) = crate::all_some!(
        website_list,
        channel,
        resource,
        resource_id,
        indicators,
        range,
        granularity
    )?;
    Some(StatisticsQuery {
        website_list,
        channel,
        resource,
        resource_id,
        indicators,
        range,
        granularity,
    })
}

fn conversation_channel(value: proto::ConversationChannel) -> Option<ConversationChannel> {
    match value {
        proto::ConversationChannel::Unspecified => None,
        proto::ConversationChannel::Chat => Some(ConversationChannel::Chat),
        proto::ConversationChannel::Call => Some(ConversationChannel::Call),
        proto::ConversationChannel::Video => Some(ConversationChannel::Video),
        proto::ConversationChannel::Social => Some(ConversationChannel::Social),
    }
}

/// The filters of ListConversations, the 3-month window checked on
/// iAdvize's clock (`tz`). Paging fields are read by the caller.
pub fn conversation_filter(
    violations: &mut Violations,
    request: &proto::ListConversationsRequest,
    tz: Tz,
) -> Option<ConversationFilter> {
    let proto::ListConversationsRequest {
        channel,
        from,
        to,
        website_id,
        operator_id,
        visitor_id,
        skill_id,
        tag_id,
        rule_id,
        page_size: _,
        page_token: _,
    } = request;
    let channel = violations
        .check(pb::enum_value("channel", *channel))
        .map(conversation_channel);
    let range = time_range(violations, from.as_ref(), to.as_ref())
        .and_then(|range| violations.check(check_conversation_window(&range, tz).map(|()| range)));
    let website_id = violations.check(optional_id("website_id", *website_id));
    let operator_id = violations.check(optional_id("operator_id", *operator_id));
    let visitor_id = violations.check(optional_id("visitor_id", *visitor_id));
    let skill_id = violations.check(optional_id("skill_id", *skill_id));
    let tag_id = violations.check(optional_id("tag_id", *tag_id));
    let rule_id = violations.check(optional_id("rule_id", *rule_id));
    Some(ConversationFilter {
        channel: channel?,
        range: range?,
        website_id: website_id?,
        operator_id: operator_id?,
        visitor_id: visitor_id?,
        skill_id: skill_id?,
        tag_id: tag_id?,
        rule_id: rule_id?,
    })
}

/// The filters of ListTransactions. Paging fields are read by the caller.
pub fn transaction_filter(
    violations: &mut Violations,
    request: &proto::ListTransactionsRequest,
) -> Option<TransactionFilter> {
    use proto::list_transactions_request::Conversation as Link;
    let proto::ListTransactionsRequest {
        website_id,
        operator_id,
        conversation,
        from,
        to,
        page_size: _,
        page_token: _,
    } = request;
    let website_id = violations.check(optional_id("website_id", *website_id));
    let operator_id = violations.check(optional_id("operator_id", *operator_id));
    let conversation = match conversation {
        None => Some(None),
        Some(Link::ConversationId(id)) => violations
            .check(required_id("conversation_id", *id))
            .map(|id| Some(ConversationLink::Conversation(id))),
        Some(Link::HasConversation(true)) => Some(Some(ConversationLink::Linked)),
        Some(Link::HasConversation(false)) => Some(Some(ConversationLink::Unlinked)),
    };
    let range = time_range(violations, from.as_ref(), to.as_ref());
    Some(TransactionFilter {
        website_id: website_id?,
        operator_id: operator_id?,
        conversation: conversation?,
        range: range?,
    })
}

/// The filters of ListSatisfactions. Paging fields are read by the caller.
pub fn satisfaction_filter(
    violations: &mut Violations,
    request: &proto::ListSatisfactionsRequest,
) -> Option<SatisfactionFilter> {
    let proto::ListSatisfactionsRequest {
        website_id,
        operator_id,
        conversation_id,
        from,
        to,
        page_size: _,
        page_token: _,
    } = request;
    let website_id = violations.check(optional_id("website_id", *website_id));
    let operator_id = violations.check(optional_id("operator_id", *operator_id));
    let conversation_id = violations.check(optional_id("conversation_id", *conversation_id));
    let range = time_range(violations, from.as_ref(), to.as_ref());
    Some(SatisfactionFilter {
        website_id: website_id?,
        operator_id: operator_id?,
        conversation_id: conversation_id?,
        range: range?,
    })
}

/// The filters of ListCallMeetings. Paging fields are read by the caller.
pub fn call_meeting_filter(
    violations: &mut Violations,
    request: &proto::ListCallMeetingsRequest,
) -> Option<CallMeetingFilter> {
    let proto::ListCallMeetingsRequest {
        website_id,
        from,
        to,
        page_size: _,
        page_token: _,
    } = request;
    let website_id = violations.check(optional_id("website_id", *website_id));
    let range = time_range(violations, from.as_ref(), to.as_ref());
    Some(CallMeetingFilter {
        website_id: website_id?,
        range: range?,
    })
}

// ---- answers ----

fn period_value(value: PeriodValue) -> proto::StatisticPeriodValue {
    let PeriodValue {
        period,
        start,
        value,
    } = value;
    proto::StatisticPeriodValue {
        period_start: pb::opt_timestamp(start),
        value,
        period,
    }
}

fn indicator_value(value: IndicatorValue) -> proto::StatisticIndicatorValue {
    let IndicatorValue {
        indicator,
        value,
        periods,
    } = value;
    proto::StatisticIndicatorValue {
        indicator,
        value,
        periods: periods.into_iter().map(period_value).collect(),
    }
}

pub fn statistics(value: Statistics) -> proto::GetStatisticsResponse {
    let Statistics { resources } = value;
    proto::GetStatisticsResponse {
        resources: resources
            .into_iter()
            .map(|resource| {
                let ResourceStatistics {
                    resource_id,
                    resource_name,
                    indicators,
                } = resource;
                proto::ResourceStatistics {
                    resource_id,
                    resource_name: resource_name.unwrap_or_default(),
                    indicators: indicators.into_iter().map(indicator_value).collect(),
                }
            })
            .collect(),
    }
}

fn message_type(kind: MessageKind) -> i32 {
    use proto::ConversationMessageType as Type;
    match kind {
        MessageKind::OperatorText => Type::OperatorText.into(),
        MessageKind::VisitorText => Type::VisitorText.into(),
        MessageKind::Notification => Type::Notification.into(),
        MessageKind::Link => Type::Link.into(),
        MessageKind::OperatorRichContent => Type::OperatorRichContent.into(),
        MessageKind::VisitorRichContent => Type::VisitorRichContent.into(),
        // The contract passes kinds it does not name through as their
        // number.
        MessageKind::Other(code) => code,
    }
}

fn history_message(message: HistoryMessage) -> proto::ConversationMessage {
    let HistoryMessage {
        kind,
        time,
        content,
        client_timestamp_ms,
    } = message;
    proto::ConversationMessage {
        r#type: message_type(kind),
        time: pb::opt_timestamp(time),
        content,
        client_timestamp_ms,
    }
}

pub fn conversation(value: Conversation) -> proto::Conversation {
    let Conversation {
        id,
        channel,
        visitor_uid,
        history,
        operator_answer,
        operator_closed,
        waiting_list,
        page_type,
        created_at,
        closed_at,
        website_id,
        operator_id,
        skill_id,
        tag_list,
        rule_id,
        xmpp_id,
    } = value;
    let (history, history_raw) = match history {
        History::Messages(messages) => (
            messages.into_iter().map(history_message).collect(),
            String::new(),
        ),
        History::Unreadable(text) => (Vec::new(), text),
    };
    let channel = match channel {
        None => proto::ConversationChannel::Unspecified,
        Some(ConversationChannel::Chat) => proto::ConversationChannel::Chat,
        Some(ConversationChannel::Call) => proto::ConversationChannel::Call,
        Some(ConversationChannel::Video) => proto::ConversationChannel::Video,
        Some(ConversationChannel::Social) => proto::ConversationChannel::Social,
    };
    proto::Conversation {
        id,
        channel: channel.into(),
        visitor_uid: visitor_uid.unwrap_or_default(),
        history,
        history_raw,
        operator_answer,
        operator_closed,
        waiting_list,
        page_type: page_type.unwrap_or_default(),
        created_at: pb::opt_timestamp(created_at),
        closed_at: pb::opt_timestamp(closed_at),
        website_id: website_id.unwrap_or_default(),
        operator_id: operator_id.unwrap_or_default(),
        skill_id: skill_id.unwrap_or_default(),
        tag_list,
        rule_id: rule_id.unwrap_or_default(),
        xmpp_id: xmpp_id.unwrap_or_default(),
    }
}

pub fn transaction(value: Transaction) -> proto::Transaction {
    let Transaction {
        id,
        external_id,
        visitor_uid,
        visitor_email,
        amount,
        created_at,
        website_id,
        operator_id,
        conversation_id,
    } = value;
    proto::Transaction {
        id,
        external_id: external_id.unwrap_or_default(),
        visitor_uid: visitor_uid.unwrap_or_default(),
        visitor_email: visitor_email.unwrap_or_default(),
        amount,
        created_at: pb::opt_timestamp(created_at),
        website_id: website_id.unwrap_or_default(),
        operator_id: operator_id.unwrap_or_default(),
        conversation_id,
    }
}

pub fn satisfaction(value: Satisfaction) -> proto::Satisfaction {
    let Satisfaction {
        id,
        note_welcome,
        note_resolution,
        note_delay,
        comment,
        created_at,
        website_id,
        operator_id,
        conversation_id,
    } = value;
    proto::Satisfaction {
        id,
        note_welcome,
        note_resolution,
        note_delay,
        comment: comment.unwrap_or_default(),
        created_at: pb::opt_timestamp(created_at),
        website_id: website_id.unwrap_or_default(),
        operator_id: operator_id.unwrap_or_default(),
        conversation_id: conversation_id.unwrap_or_default(),
    }
}

/// A string id as the deprecated integer field carries it: a positive
/// integer, else 0.
fn int_id(id: Option<&str>) -> i64 {
    id.and_then(|id| id.parse().ok())
        .filter(|id: &i64| *id > 0)
        .unwrap_or_default()
}

// The deprecated integer ids are still filled, for the clients reading them.
#[allow(deprecated)]
pub fn call_meeting(value: CallMeeting) -> proto::CallMeeting {
    let CallMeeting {
        id,
        phone_number,
        visitor_uid,
        status,
        start_at,
        website_id,
        targeting_rule_id,
        skill_id,
    } = value;
    let status = match status {
        None => proto::CallMeetingStatus::Unspecified,
        Some(CallMeetingStatus::Pending) => proto::CallMeetingStatus::Pending,
        Some(CallMeetingStatus::Progress) => proto::CallMeetingStatus::Progress,
        Some(CallMeetingStatus::Done) => proto::CallMeetingStatus::Done,
        Some(CallMeetingStatus::Failed) => proto::CallMeetingStatus::Failed,
        Some(CallMeetingStatus::Working) => proto::CallMeetingStatus::Working,
    };
    proto::CallMeeting {
        id,
        phone_number: phone_number.unwrap_or_default(),
        visitor_uid: visitor_uid.unwrap_or_default(),
        status: status.into(),
        start_at: pb::opt_timestamp(start_at),
        website_id: website_id.unwrap_or_default(),
        targeting_rule_id: int_id(targeting_rule_id.as_deref()),
        skill_id: int_id(skill_id.as_deref()),
        targeting_rule_ref: targeting_rule_id.unwrap_or_default(),
        skill_ref: skill_id.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(violations: Violations) -> Vec<String> {
        violations
            .into_result()
            .err()
            .map(|invalid| invalid.0)
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn every_statistics_rule_is_reported_at_once() {
        let mut violations = Violations::new();
        let request = proto::GetStatisticsRequest {
            website_list: vec![3, -1],
            channel: 99,
            resource: 0,
            resource_id: 32,
            indicators: vec!["contact_number".into(), "nope".into()],
            from: Some(Timestamp {
                seconds: 100,
                nanos: 0,
            }),
            to: Some(Timestamp {
                seconds: 99,
                nanos: 0,
            }),
            granularity: proto::StatisticGranularity::Day.into(),
        };
        assert_eq!(statistics_query(&mut violations, request), None);
        assert_eq!(
            fields(violations),
            [
                "website_list[1]",
                "channel",
                "resource_id",
                "to",
                "indicators[1]",
                "granularity"
            ]
        );
    }

    #[test]
    fn unknown_message_kinds_keep_their_number() {
        assert_eq!(message_type(MessageKind::Link), 5);
        assert_eq!(message_type(MessageKind::Other(9)), 9);
    }
}
