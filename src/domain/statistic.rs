//! iAdvize statistics (GET /statistic): the channels, resources and
//! granularities a request may name, every indicator of the documentation's
//! tables with the channels it is available on, the rules a request must
//! follow, and the typed results.

use chrono::{DateTime, Utc};

use super::{FieldViolation, quote, time_range::TimeRange};

/// The `filters[channel]` of a statistics request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatisticChannel {
    Chat,
    Call,
    Video,
    Facebook,
    Twitter,
    FacebookBusinessOnMessenger,
    Instagram,
    Sms,
    Whatsapp,
}

impl StatisticChannel {
    /// The iAdvize spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StatisticChannel::Chat => "chat",
            StatisticChannel::Call => "call",
            StatisticChannel::Video => "video",
            StatisticChannel::Facebook => "facebook",
            StatisticChannel::Twitter => "twitter",
            StatisticChannel::FacebookBusinessOnMessenger => "facebookBusinessOnMessenger",
            StatisticChannel::Instagram => "instagram",
            StatisticChannel::Sms => "sms",
            StatisticChannel::Whatsapp => "whatsapp",
        }
    }
}

/// What statistics are grouped by (`filters[resource]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatisticResource {
    Operator,
    Group,
    Skill,
    Rule,
    ContactType,
    PageType,
}

impl StatisticResource {
    /// The iAdvize spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StatisticResource::Operator => "operator",
            StatisticResource::Group => "group",
            StatisticResource::Skill => "skill",
            StatisticResource::Rule => "rule",
            StatisticResource::ContactType => "contact_type",
            StatisticResource::PageType => "page_type",
        }
    }
}

/// Values per period (`filters[granularity]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    Hour,
    Day,
    Month,
}

impl Granularity {
    /// The iAdvize spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
            Granularity::Month => "month",
        }
    }
}

use StatisticChannel::{
    Call, Chat, Facebook, FacebookBusinessOnMessenger, Sms, Twitter, Video, Whatsapp,
};

/// The documentation's "available on …" lines. No table lists instagram,
/// although the channel filter does.
const ALL_BUT_INSTAGRAM: &[StatisticChannel] = &[
    Chat,
    Call,
    Video,
    Facebook,
    Twitter,
    FacebookBusinessOnMessenger,
    Sms,
    Whatsapp,
];
const CHAT_ONLY: &[StatisticChannel] = &[Chat];
const CHAT_AND_VIDEO: &[StatisticChannel] = &[Chat, Video];
const CHAT_CALL_AND_VIDEO: &[StatisticChannel] = &[Chat, Call, Video];

/// Every indicator of the documentation's tables, in their order, with the
/// channels of the table it is in.
pub const INDICATORS: &[(&str, &[StatisticChannel])] = &[
    // Contact indicators.
    (
        "contact_answered_after_first_message_duration",
        ALL_BUT_INSTAGRAM,
    ),
    ("contact_answered_duration", ALL_BUT_INSTAGRAM),
    (
        "contact_closed_after_last_message_duration",
        ALL_BUT_INSTAGRAM,
    ),
    ("contact_duration", ALL_BUT_INSTAGRAM),
    ("contact_number", ALL_BUT_INSTAGRAM),
    ("contact_sent_message_number", ALL_BUT_INSTAGRAM),
    ("contact_received_message_number", ALL_BUT_INSTAGRAM),
    ("contact_unanswered_number", ALL_BUT_INSTAGRAM),
    ("contact_missed_number", CHAT_ONLY),
    ("contact_missed_with_busy_operators_number", CHAT_ONLY),
    ("contact_missed_with_no_operators_number", CHAT_ONLY),
    ("contact_simultaneous_number", CHAT_ONLY),
    ("contact_waiting_abort_number", CHAT_AND_VIDEO),
    ("contact_waiting_answered_number", CHAT_AND_VIDEO),
    ("contact_waiting_before_quit_duration", CHAT_AND_VIDEO),
    ("contact_waiting_duration", CHAT_AND_VIDEO),
    ("contact_waiting_number", CHAT_AND_VIDEO),
    ("contact_per_hour_average_number", CHAT_CALL_AND_VIDEO),
    ("contact_per_hour_number", CHAT_CALL_AND_VIDEO),
    ("rule_contact_rate", CHAT_CALL_AND_VIDEO),
    ("rule_display_number", CHAT_CALL_AND_VIDEO),
    ("targeting_rule_triggered", CHAT_CALL_AND_VIDEO),
    // Presence indicators.
    ("max_and_partial_occupation_duration", CHAT_CALL_AND_VIDEO),
    ("max_occupation_duration", CHAT_CALL_AND_VIDEO),
    ("max_occupation_rate", CHAT_CALL_AND_VIDEO),
    ("non_production_duration", CHAT_CALL_AND_VIDEO),
    ("non_production_rate", CHAT_CALL_AND_VIDEO),
    ("presentation_duration", CHAT_CALL_AND_VIDEO),
    ("production_smoothed_duration", CHAT_CALL_AND_VIDEO),
    // The doc's line reads "…, twitter facebookBusinessOnMessenger, …": a
    // missing comma, not a channel named "twitter facebookBusinessOnMessenger".
    ("presence_duration", ALL_BUT_INSTAGRAM),
    ("presence_smoothed_duration", ALL_BUT_INSTAGRAM),
    ("occupation_rate", ALL_BUT_INSTAGRAM),
    ("non_occupation_duration", ALL_BUT_INSTAGRAM),
    ("non_occupation_rate", ALL_BUT_INSTAGRAM),
    ("max_and_partial_occupation_rate", ALL_BUT_INSTAGRAM),
    ("production_duration", ALL_BUT_INSTAGRAM),
    // Satisfaction indicators (occupation_duration sits in this table in the
    // doc, so it has this table's channels).
    ("satisfaction_delay_rate", CHAT_CALL_AND_VIDEO),
    ("satisfaction_global_rate", CHAT_CALL_AND_VIDEO),
    ("satisfaction_resolution_rate", CHAT_CALL_AND_VIDEO),
    ("satisfaction_respondent_number", CHAT_CALL_AND_VIDEO),
    ("satisfaction_respondent_rate", CHAT_CALL_AND_VIDEO),
    ("satisfaction_welcome_rate", CHAT_CALL_AND_VIDEO),
    ("occupation_duration", CHAT_CALL_AND_VIDEO),
    // Transactions indicators.
    ("conversion_rate", ALL_BUT_INSTAGRAM),
    ("cart_after_contact_amount", ALL_BUT_INSTAGRAM),
    ("cart_global_amount", ALL_BUT_INSTAGRAM),
    ("transaction_after_contact_amount", ALL_BUT_INSTAGRAM),
    ("transaction_after_contact_number", ALL_BUT_INSTAGRAM),
    ("transaction_total_amount", ALL_BUT_INSTAGRAM),
    ("transaction_total_number", ALL_BUT_INSTAGRAM),
    ("transaction_after_contact_duration", ALL_BUT_INSTAGRAM),
    (
        "transaction_after_conversation_amount_per_hour",
        ALL_BUT_INSTAGRAM,
    ),
    (
        "transaction_missed_with_busy_operators_amount",
        ALL_BUT_INSTAGRAM,
    ),
    (
        "transaction_missed_with_busy_operators_number",
        ALL_BUT_INSTAGRAM,
    ),
    (
        "transaction_missed_with_no_operators_amount",
        ALL_BUT_INSTAGRAM,
    ),
    (
        "transaction_missed_with_no_operators_number",
        ALL_BUT_INSTAGRAM,
    ),
    ("transaction_amount_per_conversation", ALL_BUT_INSTAGRAM),
];

/// The channels an indicator is available on; `None` for a name the doc
/// does not list.
pub fn indicator_channels(name: &str) -> Option<&'static [StatisticChannel]> {
    INDICATORS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, channels)| *channels)
}

fn channel_list(channels: &[StatisticChannel]) -> String {
    channels
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the requested indicators: each one a documented name, available
/// on `channel` when one is chosen, none twice, and exactly one when a
/// granularity is asked. Violations name `indicators[i]` or `granularity`.
pub fn check_indicators(
    names: &[String],
    channel: Option<StatisticChannel>,
    granularity: Option<Granularity>,
) -> Result<Vec<String>, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let mut checked: Vec<String> = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let field = format!("indicators[{index}]");
        let name = name.trim();
        let Some(channels) = indicator_channels(name) else {
            violations.push(FieldViolation::new(
                field,
                format!(
                    "{} is not an iAdvize indicator (see the documentation's indicator tables, e.g. \"contact_number\")",
                    quote(name)
                ),
            ));
            continue;
        };
        if let Some(channel) = channel
            && !channels.contains(&channel)
        {
            violations.push(FieldViolation::new(
                field,
                format!(
                    "{name} is not available on channel {}; it is available on {}",
                    channel.as_str(),
                    channel_list(channels)
                ),
            ));
            continue;
        }
        if checked.iter().any(|earlier| earlier == name) {
            violations.push(FieldViolation::new(field, format!("{name} is asked twice")));
            continue;
        }
        checked.push(name.to_owned());
    }
    if let Some(granularity) = granularity
        && names.len() != 1
    {
        violations.push(FieldViolation::new(
            "granularity",
            format!(
                "{} needs exactly one indicator (iAdvize gives values per period for one indicator only), got {}",
                granularity.as_str(),
                names.len()
            ),
        ));
    }
    if violations.is_empty() {
        Ok(checked)
    } else {
        Err(violations)
    }
}

/// A checked statistics request; `None` / empty = not sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatisticsQuery {
    /// Sorted, without duplicates (the order means nothing to iAdvize).
    pub website_list: Vec<i64>,
    pub channel: Option<StatisticChannel>,
    pub resource: Option<StatisticResource>,
    /// Only with `resource`.
    pub resource_id: Option<i64>,
    pub indicators: Vec<String>,
    pub range: TimeRange,
    /// Only with exactly one indicator.
    pub granularity: Option<Granularity>,
}

/// The statistics iAdvize returned: one entry per resource, or a single one
/// when not grouped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statistics {
    pub resources: Vec<ResourceStatistics>,
}

/// The indicators of one resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceStatistics {
    /// 0 when not grouped or when the resource's key is not a number.
    pub resource_id: i64,
    /// The resource's name or (non-numeric) key as iAdvize gave it.
    pub resource_name: Option<String>,
    pub indicators: Vec<IndicatorValue>,
}

/// One indicator: its value over the range, its values per period, or both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndicatorValue {
    pub indicator: String,
    pub value: Option<f64>,
    /// Oldest first.
    pub periods: Vec<PeriodValue>,
}

/// The value of one indicator over one period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeriodValue {
    /// As iAdvize wrote it.
    pub period: String,
    /// `period` read as a date, when it is one.
    pub start: Option<DateTime<Utc>>,
    pub value: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    fn fields(result: Result<Vec<String>, Vec<FieldViolation>>) -> Vec<String> {
        result
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect::<Vec<_>>()
    }

    #[test]
    fn the_tables_list_57_distinct_indicators() {
        assert_eq!(INDICATORS.len(), 57);
        let mut names: Vec<_> = INDICATORS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 57);
        assert!(
            INDICATORS
                .iter()
                .all(|(_, c)| !c.contains(&StatisticChannel::Instagram))
        );
    }

    #[test]
    fn indicators_follow_their_table_channels() {
        use StatisticChannel::*;
        let ok = |list: &[&str], channel| check_indicators(&names(list), channel, None);
        assert_eq!(
            ok(&[" contact_number ", "conversion_rate"], Some(Whatsapp)).unwrap(),
            ["contact_number", "conversion_rate"]
        );
        assert!(ok(&["contact_missed_number"], Some(Chat)).is_ok());
        assert_eq!(
            fields(ok(&["contact_missed_number"], Some(Call))),
            ["indicators[0]"]
        );
        assert!(ok(&["contact_waiting_duration"], Some(Video)).is_ok());
        assert!(ok(&["contact_waiting_duration"], Some(Call)).is_err());
        assert!(ok(&["satisfaction_global_rate"], Some(Call)).is_ok());
        assert!(ok(&["satisfaction_global_rate"], Some(Sms)).is_err());
        assert!(ok(&["presence_duration"], Some(FacebookBusinessOnMessenger)).is_ok());
        assert!(ok(&["max_occupation_rate"], Some(Twitter)).is_err());
        assert!(ok(&["contact_number"], Some(Instagram)).is_err());
        // Without a channel, names are only checked to be known.
        assert!(ok(&["contact_missed_number", "occupation_duration"], None).is_ok());
        assert_eq!(
            fields(ok(&["contact_number", "nope", "contact_number"], None)),
            ["indicators[1]", "indicators[2]"]
        );
    }

    #[test]
    fn a_granularity_needs_exactly_one_indicator() {
        let day = Some(Granularity::Day);
        assert!(check_indicators(&names(&["contact_number"]), None, day).is_ok());
        assert_eq!(
            fields(check_indicators(&names(&[]), None, day)),
            ["granularity"]
        );
        assert_eq!(
            fields(check_indicators(
                &names(&["contact_number", "contact_duration"]),
                None,
                day
            )),
            ["granularity"]
        );
    }
}
