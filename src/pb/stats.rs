//! StatsService messages ↔ domain: the Optico call filter and export pages,
//! dial statistics rows, and (in [`reports`]) the iAdvize reports.

pub mod reports;
pub mod resources;

use chrono::{NaiveDate, TimeDelta};

use crate::{
    domain::{self, DialTally, FieldViolation, PhoneNumber, Provider, Violations},
    pb::{self, v1 as proto},
    services::call_exports::ExportPage,
    vendors::optico::data::{CallsQuery, DayCount, ExportedCall, MAX_LIMIT, MIN_LIMIT},
};

/// Records per Optico page when `page_size` is 0.
const DEFAULT_PAGE_SIZE: u32 = 1000;
/// Longest `offline_phone_description` accepted (a label, not a text).
const MAX_DESCRIPTION_LEN: usize = 255;

/// A Data API date: exactly `YYYY-MM-DD`, a real calendar day (chrono alone
/// would also take "2014-5-5").
pub fn day(field: &str, value: &str) -> Result<NaiveDate, FieldViolation> {
    if value.trim().is_empty() {
        return Err(FieldViolation::new(
            field,
            "is required: a date YYYY-MM-DD, e.g. \"2014-05-05\"",
        ));
    }
    let shaped = value.len() == 10
        && value.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| shaped)
        .ok_or_else(|| {
            FieldViolation::new(
                field,
                format!(
                    "is not a calendar date written YYYY-MM-DD, got {}",
                    domain::quote(value)
                ),
            )
        })
}

pub fn description(field: &str, value: &str) -> Result<Option<String>, FieldViolation> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > MAX_DESCRIPTION_LEN || trimmed.chars().any(char::is_control) {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {MAX_DESCRIPTION_LEN} printable characters"),
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

/// Validates an `OpticoCallFilter`; violations name `filter.<field>`.
pub fn calls_query(
    violations: &mut Violations,
    filter: Option<&proto::OpticoCallFilter>,
) -> Option<CallsQuery> {
    let Some(proto::OpticoCallFilter {
        start_date,
        end_date,
        phone,
        tracking_phone,
        caller_phone,
        offline_phone_description,
    }) = filter
    else {
        violations.push(FieldViolation::new(
            "filter",
            "is required: set at least filter.start_date and filter.end_date",
        ));
        return None;
    };
    let start_date = violations.check(day("filter.start_date", start_date));
    let end_date = violations.check(day("filter.end_date", end_date));
    if let (Some(start), Some(end)) = (start_date, end_date)
        && end < start
    {
        violations.push(FieldViolation::new(
            "filter.end_date",
            format!("is before filter.start_date ({start})"),
        ));
    }
    let phone = violations.check(PhoneNumber::parse_optional("filter.phone", phone));
    let tracking_phone = violations.check(PhoneNumber::parse_optional(
        "filter.tracking_phone",
        tracking_phone,
    ));
    let caller_phone = violations.check(PhoneNumber::parse_optional(
        "filter.caller_phone",
        caller_phone,
    ));
    let offline_phone_description = violations.check(description(
        "filter.offline_phone_description",
        offline_phone_description,
    ));
    let (start_date, end_date, phone, tracking_phone, caller_phone, offline_phone_description) = crate::all_some!(
        start_date,
        end_date,
        phone,
        tracking_phone,
        caller_phone,
        offline_phone_description
    )?;
    Some(CallsQuery {
        start_date,
        end_date,
        phone,
        tracking_phone,
        caller_phone,
        offline_phone_description,
    })
}

/// `page_size`: 0 means the default, otherwise Optico's `limit` bounds.
pub fn export_page_size(value: i32) -> Result<u32, FieldViolation> {
    match value {
        0 => Ok(DEFAULT_PAGE_SIZE),
        v if (i64::from(MIN_LIMIT)..=i64::from(MAX_LIMIT)).contains(&i64::from(v)) => Ok(v as u32),
        v => Err(FieldViolation::new(
            "page_size",
            format!(
                "must be 0 (for {DEFAULT_PAGE_SIZE}) or from {MIN_LIMIT} to {MAX_LIMIT} (Optico's limit), got {v}"
            ),
        )),
    }
}

pub fn trigger_type(raw: &str) -> proto::OpticoTriggerType {
    match raw {
        "1" => proto::OpticoTriggerType::Normal,
        "2" => proto::OpticoTriggerType::CallBack,
        "3" => proto::OpticoTriggerType::AutomaticRule,
        "4" => proto::OpticoTriggerType::ManualInvitation,
        _ => proto::OpticoTriggerType::Unspecified,
    }
}

pub fn call_record(call: ExportedCall) -> proto::OpticoCallRecord {
    let ExportedCall {
        start_date,
        caller,
        tracking_number,
        phone,
        trigger_type: trigger_type_raw,
        source,
        url,
        referer,
        keyword,
        call_path,
        status,
        duration_seconds,
        revenue,
        keypad,
        is_redirect,
        expired_redirect,
        client_data,
        visit_id,
    } = call;
    proto::OpticoCallRecord {
        start_date: pb::opt_timestamp(start_date),
        caller,
        tracking_number,
        phone,
        trigger_type: trigger_type(&trigger_type_raw).into(),
        trigger_type_raw,
        source,
        url,
        referer,
        keyword,
        call_path,
        status,
        duration_seconds,
        revenue,
        keypad,
        is_redirect,
        expired_redirect,
        client_data: Some(pb::json_value(&client_data)),
        visit_id,
    }
}

pub fn export_page(page: ExportPage) -> proto::ExportCallsResponse {
    let ExportPage {
        records,
        total_results,
        page,
    } = page;
    proto::ExportCallsResponse {
        records: records.into_iter().map(call_record).collect(),
        total_results,
        page: i32::try_from(page).unwrap_or(i32::MAX),
    }
}

pub fn day_row(day: DayCount) -> proto::CallsByDayRow {
    let DayCount {
        date,
        calls,
        duration_seconds,
        revenue,
    } = day;
    proto::CallsByDayRow {
        date,
        calls,
        duration_seconds,
        revenue,
    }
}

/// The dial's provider (FocalScope or CCAI); Optico is refused.
pub fn dial_provider(violations: &mut Violations, value: i32) -> Option<Option<Provider>> {
    match proto::Provider::try_from(value) {
        Ok(proto::Provider::Unspecified) => Some(None),
        Ok(proto::Provider::Focalscope) => Some(Some(Provider::FocalScope)),
        Ok(proto::Provider::Ccai) => Some(Some(Provider::Ccai)),
        Ok(proto::Provider::Optico) => {
            violations.push(FieldViolation::new(
                "provider",
                "Optico calls are not dials: use PROVIDER_FOCALSCOPE or PROVIDER_CCAI, or leave it unset for both",
            ));
            None
        }
        Err(_) => {
            violations.push(FieldViolation::new(
                "provider",
                format!("has unknown value {value}"),
            ));
            None
        }
    }
}

pub fn duration(delta: TimeDelta) -> Option<prost_types::Duration> {
    delta
        .to_std()
        .ok()
        .and_then(|d| prost_types::Duration::try_from(d).ok())
}

pub fn dial_stats_row(
    provider: Option<Provider>,
    agent: Option<String>,
    mut tally: DialTally,
) -> proto::DialStatsRow {
    let summary = tally.summary();
    proto::DialStatsRow {
        provider: provider
            .map_or(proto::Provider::Unspecified, pb::provider)
            .into(),
        agent: agent.unwrap_or_default(),
        dials: tally.dials,
        answered_by_agent: tally.answered_by_agent,
        connected: tally.connected,
        missed_by_agent: tally.missed_by_agent,
        missed_by_customer: tally.missed_by_customer,
        failed: tally.failed,
        unknown: tally.unknown,
        answer_rate: summary.answer_rate,
        time_to_pickup_p50: summary.time_to_pickup_p50.and_then(duration),
        time_to_pickup_p95: summary.time_to_pickup_p95.and_then(duration),
        talk_time_total: duration(summary.talk_time_total),
        talk_time_average: summary.talk_time_average.and_then(duration),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_real_and_written_in_full() {
        assert_eq!(
            day("d", "2014-05-05").unwrap(),
            NaiveDate::from_ymd_opt(2014, 5, 5).unwrap()
        );
        assert_eq!(
            day("d", "2024-02-29").unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        for bad in [
            "",
            "2014-5-5",
            "2014-02-30",
            "2023-02-29",
            "05/05/2014",
            "2014-05-05 ",
            "2014-05-05T00:00:00",
            "+014-05-05",
        ] {
            assert_eq!(day("d", bad).unwrap_err().field, "d", "{bad:?}");
        }
    }

    #[test]
    fn page_sizes_follow_the_optico_limit() {
        assert_eq!(export_page_size(0).unwrap(), 1000);
        assert_eq!(export_page_size(10).unwrap(), 10);
        assert_eq!(export_page_size(5000).unwrap(), 5000);
        for bad in [-1, 1, 9, 5001, i32::MAX] {
            assert_eq!(export_page_size(bad).unwrap_err().field, "page_size");
        }
    }

    #[test]
    fn trigger_types() {
        assert_eq!(trigger_type("2"), proto::OpticoTriggerType::CallBack);
        assert_eq!(trigger_type("9"), proto::OpticoTriggerType::Unspecified);
        assert_eq!(trigger_type(""), proto::OpticoTriggerType::Unspecified);
    }
}
