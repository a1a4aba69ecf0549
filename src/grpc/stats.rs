//! StatsService: the Optico call export and per-day counts (Data API),
//! iAdvize statistics, conversations, transactions, satisfactions and call
//! meetings (their request checks and answers in [`reports`]), and dial
//! statistics from switchboard's own records.

mod reports;

use std::{collections::HashMap, sync::Arc};

use chrono::{NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, codegen::BoxStream};

use super::iadvize::{ListRequest, not_configured};
use crate::{
    call_exports::{CallExports, ExportPage},
    domain::{
        AgentName, DialFacts, DialTally, FieldViolation, PhoneNumber, Provider, Violations,
        operator::required_id,
    },
    error::Error,
    pb::{
        self,
        v1::{self as proto, stats_service_server::StatsService},
    },
    store::{
        Store,
        dial_stats::{self, DialFilter},
    },
    vendors::{
        iadvize::IadvizeReports,
        optico::data::{CallsQuery, DayCount, ExportedCall, MAX_LIMIT, MIN_LIMIT},
    },
};

/// Records per Optico page when `page_size` is 0.
const DEFAULT_PAGE_SIZE: u32 = 1000;
/// Longest `offline_phone_description` accepted (a label, not a text).
const MAX_DESCRIPTION_LEN: usize = 255;

pub struct StatsApi {
    exports: CallExports,
    store: Store,
    iadvize: Option<Arc<dyn IadvizeReports>>,
    /// The zone iAdvize's dates and filters are written in; the 3-month
    /// conversation window is counted on its clock.
    iadvize_timezone: Tz,
}

impl StatsApi {
    /// `iadvize` is `None` when `vendors.iadvize.api_key` is not set: the
    /// iAdvize RPCs then answer FAILED_PRECONDITION after validating their
    /// request.
    pub fn new(
        exports: CallExports,
        store: Store,
        iadvize: Option<Arc<dyn IadvizeReports>>,
        iadvize_timezone: Tz,
    ) -> Self {
        Self {
            exports,
            store,
            iadvize,
            iadvize_timezone,
        }
    }

    fn iadvize(&self) -> Result<&dyn IadvizeReports, Error> {
        self.iadvize.as_deref().ok_or_else(not_configured)
    }
}

/// A Data API date: exactly `YYYY-MM-DD`, a real calendar day (chrono alone
/// would also take "2014-5-5").
fn day(field: &str, value: &str) -> Result<NaiveDate, FieldViolation> {
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
                format!("is not a calendar date written YYYY-MM-DD, got {value:?}"),
            )
        })
}

fn description(field: &str, value: &str) -> Result<Option<String>, FieldViolation> {
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
fn calls_query(
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
fn export_page_size(value: i32) -> Result<u32, FieldViolation> {
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

fn trigger_type(raw: &str) -> proto::OpticoTriggerType {
    match raw {
        "1" => proto::OpticoTriggerType::Normal,
        "2" => proto::OpticoTriggerType::CallBack,
        "3" => proto::OpticoTriggerType::AutomaticRule,
        "4" => proto::OpticoTriggerType::ManualInvitation,
        _ => proto::OpticoTriggerType::Unspecified,
    }
}

fn call_record(call: ExportedCall) -> proto::OpticoCallRecord {
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

fn export_page(page: ExportPage) -> proto::ExportCallsResponse {
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

fn day_row(day: DayCount) -> proto::CallsByDayRow {
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
fn dial_provider(violations: &mut Violations, value: i32) -> Option<Option<Provider>> {
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

fn duration(delta: TimeDelta) -> Option<prost_types::Duration> {
    delta
        .to_std()
        .ok()
        .and_then(|d| prost_types::Duration::try_from(d).ok())
}

fn dial_stats_row(
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

#[tonic::async_trait]
impl StatsService for StatsApi {
    type ExportCallsStream = BoxStream<proto::ExportCallsResponse>;

    async fn export_calls(
        &self,
        request: Request<proto::ExportCallsRequest>,
    ) -> Result<Response<Self::ExportCallsStream>, Status> {
        let proto::ExportCallsRequest { filter, page_size } = request.into_inner();
        let mut violations = Violations::new();
        let query = calls_query(&mut violations, filter.as_ref());
        let limit = violations.check(export_page_size(page_size));
        let (query, limit) = violations
            .finish(crate::all_some!(query, limit))?;
        let pages = self.exports.export(query, limit)?;
        let stream = pages.map(|page| page.map(export_page).map_err(Status::from));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_calls_by_day(
        &self,
        request: Request<proto::GetCallsByDayRequest>,
    ) -> Result<Response<proto::GetCallsByDayResponse>, Status> {
        let proto::GetCallsByDayRequest { filter } = request.into_inner();
        let mut violations = Violations::new();
        let query = calls_query(&mut violations, filter.as_ref());
        let query = violations.finish(query)?;
        let by_day = self.exports.calls_by_day(&query).await?;
        Ok(Response::new(proto::GetCallsByDayResponse {
            rows: by_day.days.into_iter().map(day_row).collect(),
            totals: Some(proto::CallsByDayTotals {
                calls: by_day.calls,
                duration_seconds: by_day.duration_seconds,
                revenue: by_day.revenue,
            }),
        }))
    }

    async fn get_statistics(
        &self,
        request: Request<proto::GetStatisticsRequest>,
    ) -> Result<Response<proto::GetStatisticsResponse>, Status> {
        let mut violations = Violations::new();
        let query = reports::statistics_query(&mut violations, request.into_inner());
        let query = violations.finish(query)?;
        let statistics = self
            .iadvize()?
            .statistics(&query)
            .await?;
        Ok(Response::new(reports::statistics(statistics)))
    }

    async fn list_conversations(
        &self,
        request: Request<proto::ListConversationsRequest>,
    ) -> Result<Response<proto::ListConversationsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let filter = reports::conversation_filter(&mut violations, &request, self.iadvize_timezone);
        let list = ListRequest::check(
            violations,
            "conversations",
            filter,
            request.page_size,
            &request.page_token,
        )?;
        let listed = self
            .iadvize()?
            .list_conversations(&list.filter, list.page)
            .await?;
        Ok(Response::new(proto::ListConversationsResponse {
            next_page_token: list.next_page_token(listed.next_page),
            conversations: listed
                .items
                .into_iter()
                .map(reports::conversation)
                .collect(),
        }))
    }

    async fn get_conversation(
        &self,
        request: Request<proto::GetConversationRequest>,
    ) -> Result<Response<proto::GetConversationResponse>, Status> {
        let proto::GetConversationRequest { conversation_id } = request.into_inner();
        let id = required_id("conversation_id", conversation_id)?;
        let found = self
            .iadvize()?
            .get_conversation(id)
            .await?;
        Ok(Response::new(proto::GetConversationResponse {
            conversation: Some(reports::conversation(found)),
        }))
    }

    async fn list_transactions(
        &self,
        request: Request<proto::ListTransactionsRequest>,
    ) -> Result<Response<proto::ListTransactionsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let filter = reports::transaction_filter(&mut violations, &request);
        let list = ListRequest::check(
            violations,
            "transactions",
            filter,
            request.page_size,
            &request.page_token,
        )?;
        let listed = self
            .iadvize()?
            .list_transactions(&list.filter, list.page)
            .await?;
        Ok(Response::new(proto::ListTransactionsResponse {
            next_page_token: list.next_page_token(listed.next_page),
            transactions: listed.items.into_iter().map(reports::transaction).collect(),
        }))
    }

    async fn get_transaction(
        &self,
        request: Request<proto::GetTransactionRequest>,
    ) -> Result<Response<proto::GetTransactionResponse>, Status> {
        let proto::GetTransactionRequest { transaction_id } = request.into_inner();
        let id = required_id("transaction_id", transaction_id)?;
        let found = self
            .iadvize()?
            .get_transaction(id)
            .await?;
        Ok(Response::new(proto::GetTransactionResponse {
            transaction: Some(reports::transaction(found)),
        }))
    }

    async fn list_satisfactions(
        &self,
        request: Request<proto::ListSatisfactionsRequest>,
    ) -> Result<Response<proto::ListSatisfactionsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let filter = reports::satisfaction_filter(&mut violations, &request);
        let list = ListRequest::check(
            violations,
            "satisfactions",
            filter,
            request.page_size,
            &request.page_token,
        )?;
        let listed = self
            .iadvize()?
            .list_satisfactions(&list.filter, list.page)
            .await?;
        Ok(Response::new(proto::ListSatisfactionsResponse {
            next_page_token: list.next_page_token(listed.next_page),
            satisfactions: listed
                .items
                .into_iter()
                .map(reports::satisfaction)
                .collect(),
        }))
    }

    async fn get_satisfaction(
        &self,
        request: Request<proto::GetSatisfactionRequest>,
    ) -> Result<Response<proto::GetSatisfactionResponse>, Status> {
        let proto::GetSatisfactionRequest { satisfaction_id } = request.into_inner();
        let id = required_id("satisfaction_id", satisfaction_id)?;
        let found = self
            .iadvize()?
            .get_satisfaction(id)
            .await?;
        Ok(Response::new(proto::GetSatisfactionResponse {
            satisfaction: Some(reports::satisfaction(found)),
        }))
    }

    async fn list_call_meetings(
        &self,
        request: Request<proto::ListCallMeetingsRequest>,
    ) -> Result<Response<proto::ListCallMeetingsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let filter = reports::call_meeting_filter(&mut violations, &request);
        let list = ListRequest::check(
            violations,
            "call meetings",
            filter,
            request.page_size,
            &request.page_token,
        )?;
        let listed = self
            .iadvize()?
            .list_call_meetings(&list.filter, list.page)
            .await?;
        Ok(Response::new(proto::ListCallMeetingsResponse {
            next_page_token: list.next_page_token(listed.next_page),
            call_meetings: listed
                .items
                .into_iter()
                .map(reports::call_meeting)
                .collect(),
        }))
    }

    async fn get_call_meeting(
        &self,
        request: Request<proto::GetCallMeetingRequest>,
    ) -> Result<Response<proto::GetCallMeetingResponse>, Status> {
        let proto::GetCallMeetingRequest { call_meeting_id } = request.into_inner();
        let id = required_id("call_meeting_id", call_meeting_id)?;
        let found = self
            .iadvize()?
            .get_call_meeting(id)
            .await?;
        Ok(Response::new(proto::GetCallMeetingResponse {
            call_meeting: Some(reports::call_meeting(found)),
        }))
    }

    async fn get_dial_stats(
        &self,
        request: Request<proto::GetDialStatsRequest>,
    ) -> Result<Response<proto::GetDialStatsResponse>, Status> {
        let proto::GetDialStatsRequest {
            from,
            to,
            provider,
            agent,
            group_by,
        } = request.into_inner();
        let mut violations = Violations::new();
        let from = violations.check(pb::required_timestamp("from", from.as_ref()));
        let to_given = to.is_some();
        let to = match &to {
            Some(to) => violations.check(pb::from_timestamp("to", to)),
            None => Some(Utc::now()),
        };
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            violations.push(if to_given {
                FieldViolation::new("to", format!("must be after from ({})", from.to_rfc3339()))
            } else {
                FieldViolation::new("from", "must be in the past when to is unset (meaning now)")
            });
        }
        let provider = dial_provider(&mut violations, provider);
        let agent = violations.check(AgentName::parse_optional("agent", &agent));
        let group_by = violations.check(pb::enum_value::<proto::DialStatsGroupBy>(
            "group_by", group_by,
        ));
        let (from, to, provider, agent, group_by) = violations
            .finish(crate::all_some!(from, to, provider, agent, group_by))?;
        let (by_provider, by_agent) = match group_by {
            proto::DialStatsGroupBy::Unspecified => (false, false),
            proto::DialStatsGroupBy::Provider => (true, false),
            proto::DialStatsGroupBy::Agent => (false, true),
            proto::DialStatsGroupBy::ProviderAndAgent => (true, true),
        };
        let filter = DialFilter {
            from,
            to,
            provider,
            agent: agent.map(|a| a.as_str().to_owned()),
        };
        let mut overall = DialTally::default();
        let mut groups: HashMap<(Option<Provider>, Option<String>), DialTally> = HashMap::new();
        dial_stats::for_each_dial(self.store.connection(), &filter, |dial| {
            let facts = DialFacts::derive(
                dial.status,
                dial.failure_reason,
                dial.updates.iter().map(|(at, update)| (*at, update)),
            );
            overall.add(dial.started_at, &facts);
            if by_provider || by_agent {
                let key = (
                    by_provider.then_some(dial.provider),
                    // Dial requires an agent; an empty one would only come
                    // from data written some other way.
                    by_agent.then(|| dial.agent.clone().unwrap_or_default()),
                );
                groups.entry(key).or_default().add(dial.started_at, &facts);
            }
        })
        .await?;
        let mut groups: Vec<_> = groups.into_iter().collect();
        // By provider (in the enum's order), then agent.
        groups.sort_by_cached_key(|((provider, agent), _)| {
            (
                provider.map_or(0, |p| pb::provider(p) as i32),
                agent.clone(),
            )
        });
        Ok(Response::new(proto::GetDialStatsResponse {
            rows: groups
                .into_iter()
                .map(|((provider, agent), tally)| dial_stats_row(provider, agent, tally))
                .collect(),
            overall: Some(dial_stats_row(None, None, overall)),
        }))
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
