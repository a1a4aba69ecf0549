//! StatsService: the Optico call export and per-day counts (Data API),
//! iAdvize statistics, conversations, transactions, satisfactions and call
//! meetings (their request checks and answers in
//! [`crate::pb::stats::reports`]), and dial
//! statistics from switchboard's own records.

use std::{collections::HashMap, sync::Arc};

use chrono::Utc;
use chrono_tz::Tz;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, codegen::BoxStream};

use super::iadvize::{ListRequest, not_configured, total_size};
use crate::{
    domain::{
        AgentName, DialFacts, DialTally, FieldViolation, Provider, Violations,
        operator::{optional_id, required_id},
    },
    error::Error,
    pb::{
        self,
        agents::{create_request, update_request},
        stats::{
            calls_query, day_row, dial_provider, dial_stats_row, export_page, export_page_size,
            reports,
            resources::{self, VisitorField},
        },
        v1::{self as proto, stats_service_server::StatsService},
    },
    services::call_exports::CallExports,
    store::{
        Store,
        dial_stats::{self, DialFilter},
    },
    vendors::{
        VendorError,
        iadvize::{IadvizeReports, IadvizeResources},
    },
};

pub struct StatsApi {
    exports: CallExports,
    store: Store,
    iadvize: Option<Arc<dyn IadvizeReports>>,
    /// Tags and visitors, through the same iAdvize client.
    resources: Option<Arc<dyn IadvizeResources>>,
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
            resources: None,
            iadvize_timezone,
        }
    }

    /// Tags and visitors (`None` when `vendors.iadvize.api_key` is not set).
    pub fn with_resources(mut self, resources: Option<Arc<dyn IadvizeResources>>) -> Self {
        self.resources = resources;
        self
    }

    fn iadvize(&self) -> Result<&dyn IadvizeReports, Error> {
        self.iadvize.as_deref().ok_or_else(not_configured)
    }

    fn resources(&self) -> Result<&dyn IadvizeResources, Error> {
        self.resources.as_deref().ok_or_else(not_configured)
    }
}

/// A vendor error whose field (as iAdvize names it) is put under the
/// request's resource, e.g. `email` → `visitor.email`; the website of a tag
/// iAdvize refuses is `tags.website_id` (which tag, iAdvize does not say).
fn vendor_error(mut error: VendorError, resource: &str) -> Error {
    error.field = error.field.map(|field| {
        if resource == "visitor" && field == "website_id" {
            "visitor.website_ids".to_owned()
        } else {
            format!("{resource}.{field}")
        }
    });
    Error::Vendor(error)
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
        let (query, limit) = violations.finish(crate::all_some!(query, limit))?;
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
        let statistics = self.iadvize()?.statistics(&query).await?;
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
            total_size: total_size(listed.total_size),
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
        let found = self.iadvize()?.get_conversation(id).await?;
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
            total_size: total_size(listed.total_size),
            transactions: listed.items.into_iter().map(reports::transaction).collect(),
        }))
    }

    async fn get_transaction(
        &self,
        request: Request<proto::GetTransactionRequest>,
    ) -> Result<Response<proto::GetTransactionResponse>, Status> {
        let proto::GetTransactionRequest { transaction_id } = request.into_inner();
        let id = required_id("transaction_id", transaction_id)?;
        let found = self.iadvize()?.get_transaction(id).await?;
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
            total_size: total_size(listed.total_size),
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
        let found = self.iadvize()?.get_satisfaction(id).await?;
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
            total_size: total_size(listed.total_size),
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
        let found = self.iadvize()?.get_call_meeting(id).await?;
        Ok(Response::new(proto::GetCallMeetingResponse {
            call_meeting: Some(reports::call_meeting(found)),
        }))
    }

    async fn list_tags(
        &self,
        request: Request<proto::ListTagsRequest>,
    ) -> Result<Response<proto::ListTagsResponse>, Status> {
        let proto::ListTagsRequest {
            website_id,
            page_size,
            page_token,
        } = request.into_inner();
        let mut violations = Violations::new();
        let website_id = violations.check(optional_id("website_id", website_id));
        let list = ListRequest::check(violations, "tags", website_id, page_size, &page_token)?;
        let listed = self.resources()?.list_tags(list.filter, list.page).await?;
        Ok(Response::new(proto::ListTagsResponse {
            next_page_token: list.next_page_token(listed.next_page),
            total_size: total_size(listed.total_size),
            tags: listed.items.into_iter().map(resources::tag).collect(),
        }))
    }

    async fn get_tag(
        &self,
        request: Request<proto::GetTagRequest>,
    ) -> Result<Response<proto::GetTagResponse>, Status> {
        let proto::GetTagRequest { tag_id } = request.into_inner();
        let id = required_id("tag_id", tag_id)?;
        let found = self.resources()?.get_tag(id).await?;
        Ok(Response::new(proto::GetTagResponse {
            tag: Some(resources::tag(found)),
        }))
    }

    async fn create_tags(
        &self,
        request: Request<proto::CreateTagsRequest>,
    ) -> Result<Response<proto::CreateTagsResponse>, Status> {
        let proto::CreateTagsRequest { tags } = request.into_inner();
        let mut violations = Violations::new();
        let tags = resources::new_tags(&mut violations, &tags);
        let tags = violations.finish(tags)?;
        let created = self
            .resources()?
            .create_tags(&tags)
            .await
            .map_err(|e| vendor_error(e, "tags"))?;
        Ok(Response::new(proto::CreateTagsResponse {
            tags: created.into_iter().map(resources::tag).collect(),
        }))
    }

    async fn list_visitors(
        &self,
        request: Request<proto::ListVisitorsRequest>,
    ) -> Result<Response<proto::ListVisitorsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let filter = resources::visitor_filter(&mut violations, &request);
        let list = ListRequest::check(
            violations,
            "visitors",
            filter,
            request.page_size,
            &request.page_token,
        )?;
        let listed = self
            .resources()?
            .list_visitors(&list.filter, list.page)
            .await?;
        Ok(Response::new(proto::ListVisitorsResponse {
            next_page_token: list.next_page_token(listed.next_page),
            total_size: total_size(listed.total_size),
            visitors: listed.items.into_iter().map(resources::visitor).collect(),
        }))
    }

    async fn get_visitor(
        &self,
        request: Request<proto::GetVisitorRequest>,
    ) -> Result<Response<proto::GetVisitorResponse>, Status> {
        let proto::GetVisitorRequest { visitor_id } = request.into_inner();
        let id = required_id("visitor_id", visitor_id)?;
        let found = self.resources()?.get_visitor(id).await?;
        Ok(Response::new(proto::GetVisitorResponse {
            visitor: Some(resources::visitor(found)),
        }))
    }

    async fn create_visitor(
        &self,
        request: Request<proto::CreateVisitorRequest>,
    ) -> Result<Response<proto::CreateVisitorResponse>, Status> {
        let proto::CreateVisitorRequest { visitor } = request.into_inner();
        let fields = create_request(
            "visitor",
            "the visitor to create",
            &visitor,
            resources::visitor_fields,
        )?;
        let created = self
            .resources()?
            .create_visitor(&fields)
            .await
            .map_err(|e| vendor_error(e, "visitor"))?;
        Ok(Response::new(proto::CreateVisitorResponse {
            visitor: Some(resources::visitor(created)),
        }))
    }

    async fn update_visitor(
        &self,
        request: Request<proto::UpdateVisitorRequest>,
    ) -> Result<Response<proto::UpdateVisitorResponse>, Status> {
        let proto::UpdateVisitorRequest {
            visitor,
            update_mask,
        } = request.into_inner();
        let (id, fields) = update_request(
            "visitor",
            "Visitor",
            VisitorField::NAMES,
            update_mask,
            &visitor,
            |visitor| visitor.id,
            resources::visitor_fields,
        )?;
        let updated = self
            .resources()?
            .update_visitor(id, &fields)
            .await
            .map_err(|e| vendor_error(e, "visitor"))?;
        Ok(Response::new(proto::UpdateVisitorResponse {
            visitor: Some(resources::visitor(updated)),
        }))
    }

    async fn delete_visitor(
        &self,
        request: Request<proto::DeleteVisitorRequest>,
    ) -> Result<Response<proto::DeleteVisitorResponse>, Status> {
        let proto::DeleteVisitorRequest { visitor_id } = request.into_inner();
        let id = required_id("visitor_id", visitor_id)?;
        self.resources()?.delete_visitor(id).await?;
        Ok(Response::new(proto::DeleteVisitorResponse {}))
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
        let (from, to, provider, agent, group_by) =
            violations.finish(crate::all_some!(from, to, provider, agent, group_by))?;
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
