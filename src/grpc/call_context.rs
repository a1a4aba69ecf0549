//! CallContextService: validate → domain → CallDesk / updates → proto.

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, codegen::BoxStream};

use super::paging;
use crate::{
    domain::{
        AgentName, CallerPhone, FieldViolation, PhoneNumber, Violations, ccai::CustomerFlagsChange,
    },
    error::Error,
    pb::{
        self,
        v1::{self as proto, call_context_service_server::CallContextService},
    },
    services::calls::CallDesk,
    services::dials::{CcaiTarget, Dialer},
    services::updates::{StreamItem, Updates},
    store::{CallFilter, EventFilter, PageCursor, calls},
    vendors::optico::CallStart,
};

const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 500;

pub struct CallContextApi {
    desk: CallDesk,
    dialer: Dialer,
    updates: Updates,
}

impl CallContextApi {
    pub fn new(desk: CallDesk, dialer: Dialer, updates: Updates) -> Self {
        Self {
            desk,
            dialer,
            updates,
        }
    }
}

#[tonic::async_trait]
impl CallContextService for CallContextApi {
    type StreamCallUpdatesStream = BoxStream<proto::StreamCallUpdatesResponse>;

    async fn start_call(
        &self,
        request: Request<proto::StartCallRequest>,
    ) -> Result<Response<proto::StartCallResponse>, Status> {
        let proto::StartCallRequest {
            caller_phone,
            destination_phone,
            start_time,
            agent,
        } = request.into_inner();
        let mut violations = Violations::new();
        let caller = violations.check(CallerPhone::parse("caller_phone", &caller_phone));
        let destination =
            violations.check(PhoneNumber::parse("destination_phone", &destination_phone));
        let start_time =
            violations.check(pb::required_timestamp("start_time", start_time.as_ref()));
        let agent = violations.check(AgentName::parse_optional("agent", &agent));
        let (caller, destination, start_time, agent) =
            violations.finish(crate::all_some!(caller, destination, start_time, agent))?;
        let started = self
            .desk
            .start_call(CallStart {
                caller,
                destination,
                start_time,
                agent,
            })
            .await?;
        Ok(Response::new(proto::StartCallResponse {
            call: Some(pb::call(&started.call)),
            matches: started.matches.iter().map(pb::optico_context).collect(),
        }))
    }

    async fn assign_agent(
        &self,
        request: Request<proto::AssignAgentRequest>,
    ) -> Result<Response<proto::AssignAgentResponse>, Status> {
        let proto::AssignAgentRequest { call, agent } = request.into_inner();
        let mut violations = Violations::new();
        let lookup = violations.check(pb::call_lookup("call", call.as_ref()));
        let agent = violations.check(AgentName::parse("agent", &agent));
        let (lookup, agent) = violations.finish(crate::all_some!(lookup, agent))?;
        let call = self.desk.assign_agent(&lookup, &agent).await?;
        Ok(Response::new(proto::AssignAgentResponse {
            call: Some(pb::call(&call)),
        }))
    }

    async fn get_call(
        &self,
        request: Request<proto::GetCallRequest>,
    ) -> Result<Response<proto::GetCallResponse>, Status> {
        let proto::GetCallRequest { call } = request.into_inner();
        let lookup = pb::call_lookup("call", call.as_ref())?;
        let call = self.desk.get_call(&lookup).await?;
        Ok(Response::new(proto::GetCallResponse {
            call: Some(pb::call(&call)),
        }))
    }

    async fn list_calls(
        &self,
        request: Request<proto::ListCallsRequest>,
    ) -> Result<Response<proto::ListCallsResponse>, Status> {
        let proto::ListCallsRequest {
            agent,
            phone,
            start_time_from,
            start_time_to,
            status,
            provider,
            page_size,
            page_token,
        } = request.into_inner();
        let mut violations = Violations::new();
        let page_size = violations.check(paging::page_size(
            page_size,
            DEFAULT_PAGE_SIZE,
            MAX_PAGE_SIZE,
        ));
        let agent = violations
            .check(AgentName::parse_optional("agent", &agent))
            .flatten();
        let phone_key = if phone.trim().is_empty() {
            None
        } else {
            violations
                .check(PhoneNumber::parse("phone", &phone))
                .map(|p| p.key().to_owned())
        };
        let started_from = start_time_from
            .as_ref()
            .and_then(|t| violations.check(pb::from_timestamp("start_time_from", t)));
        let started_before = start_time_to
            .as_ref()
            .and_then(|t| violations.check(pb::from_timestamp("start_time_to", t)));
        if let (Some(from), Some(to)) = (started_from, started_before)
            && from > to
        {
            violations.push(FieldViolation::new(
                "start_time_to",
                "is before start_time_from",
            ));
        }
        let status = violations
            .check(pb::enum_value::<proto::CallStatus>("status", status))
            .and_then(pb::call_status_from);
        let provider = violations
            .check(pb::enum_value::<proto::Provider>("provider", provider))
            .and_then(pb::provider_from);
        let filter = CallFilter {
            agent: agent.map(|a| a.as_str().to_owned()),
            phone_key,
            started_from,
            started_before,
            status,
            provider,
        };
        let fingerprint = paging::fingerprint(&filter);
        let cursor = violations.check(paging::decode_token::<PageCursor>(
            &page_token,
            &fingerprint,
        ));
        let (page_size, cursor) = violations.finish(crate::all_some!(page_size, cursor))?;
        let page = calls::list_calls(
            self.desk.store().connection(),
            &filter,
            page_size,
            cursor.as_ref(),
        )
        .await?;
        Ok(Response::new(proto::ListCallsResponse {
            calls: page.calls.iter().map(pb::call).collect(),
            next_page_token: page
                .next
                .map(|cursor| paging::encode_token(&cursor, &fingerprint))
                .unwrap_or_default(),
        }))
    }

    async fn stream_call_updates(
        &self,
        request: Request<proto::StreamCallUpdatesRequest>,
    ) -> Result<Response<Self::StreamCallUpdatesStream>, Status> {
        let proto::StreamCallUpdatesRequest {
            call,
            agent,
            after_sequence,
        } = request.into_inner();
        let mut violations = Violations::new();
        let lookup = call
            .as_ref()
            .and_then(|c| violations.check(pb::call_lookup("call", Some(c))));
        let agent = violations
            .check(AgentName::parse_optional("agent", &agent))
            .flatten();
        if call.is_some() && agent.is_some() {
            violations.push(FieldViolation::new(
                "agent",
                "set at most one of call and agent",
            ));
        }
        if after_sequence < 0 {
            violations.push(FieldViolation::new(
                "after_sequence",
                format!("must not be negative, got {after_sequence}"),
            ));
        }
        violations.into_result()?;
        let call_id = match &lookup {
            Some(lookup) => Some(
                calls::find_call_id(self.desk.store().connection(), lookup)
                    .await?
                    .ok_or_else(|| Error::NotFound {
                        resource: "call",
                        name: lookup.to_string(),
                    })?,
            ),
            None => None,
        };
        let filter = EventFilter {
            call_id,
            agent: agent.map(|a| a.as_str().to_owned()),
        };
        let items = self.updates.subscribe(filter, after_sequence);
        let stream = items.map(|item| match item {
            Ok(StreamItem::Event(event)) => Ok(pb::call_update(&event)),
            Ok(StreamItem::Heartbeat { last_sequence }) => Ok(pb::heartbeat(last_sequence)),
            Err(error) => Err(Status::from(error)),
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_customer_flags(
        &self,
        request: Request<proto::GetCustomerFlagsRequest>,
    ) -> Result<Response<proto::GetCustomerFlagsResponse>, Status> {
        let proto::GetCustomerFlagsRequest { call } = request.into_inner();
        let lookup = pb::call_lookup("call", call.as_ref())?;
        let ccai = self.dialer.ccai()?;
        let target = self.dialer.ccai_target(&lookup).await?;
        let flag = ccai.customer_flags(target.ccai_id()).await?;
        if let CcaiTarget::Unknown(ccai_call_id) = target {
            self.dialer.remember_ccai_call(ccai_call_id).await?;
        }
        Ok(Response::new(proto::GetCustomerFlagsResponse {
            flags: Some(pb::call_context::customer_flags(&flag)),
        }))
    }

    async fn update_customer_flags(
        &self,
        request: Request<proto::UpdateCustomerFlagsRequest>,
    ) -> Result<Response<proto::UpdateCustomerFlagsResponse>, Status> {
        let proto::UpdateCustomerFlagsRequest {
            call,
            verified_customer,
            bad_actor,
            repeat_customer,
        } = request.into_inner();
        let mut violations = Violations::new();
        let lookup = violations.check(pb::call_lookup("call", call.as_ref()));
        if verified_customer.is_none() && bad_actor.is_none() && repeat_customer.is_none() {
            violations.push(FieldViolation::new(
                "verified_customer",
                "set at least one of verified_customer, bad_actor, repeat_customer",
            ));
        }
        let lookup = violations.finish(lookup)?;
        let ccai = self.dialer.ccai()?;
        let target = self.dialer.ccai_target(&lookup).await?;
        let change = CustomerFlagsChange {
            verified_customer,
            bad_actor,
            repeat_customer,
        };
        let flag = ccai
            .update_customer_flags(target.ccai_id(), &change)
            .await?;
        if let CcaiTarget::Unknown(ccai_call_id) = target {
            self.dialer.remember_ccai_call(ccai_call_id).await?;
        }
        Ok(Response::new(proto::UpdateCustomerFlagsResponse {
            flags: Some(pb::call_context::customer_flags(&flag)),
        }))
    }
}

pub use crate::pb::call_context::parse_cli_call_ref;
