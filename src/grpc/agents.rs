//! AgentsService: validate → domain → iAdvize adapter or availability
//! pollers → proto.

use std::sync::Arc;

use tokio_stream::{StreamExt, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, codegen::BoxStream};

use super::{
    iadvize::{ListRequest, next_page_token, not_configured, page_request, total_size},
    paging,
};
use crate::{
    domain::{
        FieldViolation, Violations,
        operator::{SetAvailability, SkillFilter, optional_id, required_id},
    },
    error::Error,
    pb::{
        agents::{
            AgentField, GroupField, SkillField, WebsiteField, agent, availability, client,
            create_request, group, group_fields, odigo_call, operator_fields, operator_filter,
            skill, skill_fields, update_request, watch_message, website, website_fields,
        },
        v1::{self as proto, agents_service_server::AgentsService},
    },
    services::availability::AvailabilityWatch,
    vendors::{
        VendorError,
        iadvize::{Iadvize, IadvizeResources},
    },
};

pub struct AgentsApi {
    iadvize: Option<Arc<dyn Iadvize>>,
    watch: Option<AvailabilityWatch>,
    resources: Option<Arc<dyn IadvizeResources>>,
}

impl AgentsApi {
    /// `None` when `vendors.iadvize.api_key` is not set: every RPC then
    /// answers FAILED_PRECONDITION after validating its request.
    pub fn new(iadvize: Option<Arc<dyn Iadvize>>, watch: Option<AvailabilityWatch>) -> Self {
        Self {
            iadvize,
            watch,
            resources: None,
        }
    }

    /// Clients and websites, read and written through the same iAdvize
    /// client (`None` when `vendors.iadvize.api_key` is not set).
    pub fn with_resources(mut self, resources: Option<Arc<dyn IadvizeResources>>) -> Self {
        self.resources = resources;
        self
    }

    fn iadvize(&self) -> Result<&dyn Iadvize, Error> {
        self.iadvize.as_deref().ok_or_else(not_configured)
    }

    fn resources(&self) -> Result<&dyn IadvizeResources, Error> {
        self.resources.as_deref().ok_or_else(not_configured)
    }
}

/// A vendor error whose field (as iAdvize names it) is renamed the way the
/// client spells it, e.g. `email` → `agent.email`.
fn vendor_error(mut error: VendorError, rename: impl Fn(&str) -> String) -> Error {
    error.field = error.field.map(|field| rename(&field));
    Error::Vendor(error)
}

fn nested(prefix: &'static str) -> impl Fn(&str) -> String {
    move |field| format!("{prefix}.{field}")
}

// ---- the service ----

#[tonic::async_trait]
impl AgentsService for AgentsApi {
    type WatchAgentAvailabilityStream = BoxStream<proto::WatchAgentAvailabilityResponse>;

    async fn list_agents(
        &self,
        request: Request<proto::ListAgentsRequest>,
    ) -> Result<Response<proto::ListAgentsResponse>, Status> {
        let proto::ListAgentsRequest {
            filter,
            full,
            page_size,
            page_token,
        } = request.into_inner();
        let mut violations = Violations::new();
        let filter = operator_filter(&mut violations, "filter", filter);
        let fingerprint = paging::fingerprint(&("agents", &filter, full));
        let page = page_request(&mut violations, page_size, &page_token, &fingerprint);
        let (filter, page) = violations.finish(crate::all_some!(filter, page))?;
        let listed = self.iadvize()?.list_operators(&filter, full, page).await?;
        Ok(Response::new(proto::ListAgentsResponse {
            next_page_token: next_page_token(listed.next_page, page, &fingerprint),
            total_size: total_size(listed.total_size),
            agents: listed.items.into_iter().map(agent).collect(),
        }))
    }

    async fn get_agent(
        &self,
        request: Request<proto::GetAgentRequest>,
    ) -> Result<Response<proto::GetAgentResponse>, Status> {
        let proto::GetAgentRequest { agent_id } = request.into_inner();
        let id = required_id("agent_id", agent_id)?;
        let operator = self.iadvize()?.get_operator(id).await?;
        Ok(Response::new(proto::GetAgentResponse {
            agent: Some(agent(operator)),
        }))
    }

    async fn create_agent(
        &self,
        request: Request<proto::CreateAgentRequest>,
    ) -> Result<Response<proto::CreateAgentResponse>, Status> {
        let proto::CreateAgentRequest { agent: new_agent } = request.into_inner();
        let fields = create_request(
            "agent",
            "the operator to create",
            &new_agent,
            operator_fields,
        )?;
        let created = self
            .iadvize()?
            .create_operator(&fields)
            .await
            .map_err(|e| vendor_error(e, nested("agent")))?;
        Ok(Response::new(proto::CreateAgentResponse {
            agent: Some(agent(created)),
        }))
    }

    async fn update_agent(
        &self,
        request: Request<proto::UpdateAgentRequest>,
    ) -> Result<Response<proto::UpdateAgentResponse>, Status> {
        let proto::UpdateAgentRequest {
            agent: changed,
            update_mask,
        } = request.into_inner();
        let (id, fields) = update_request(
            "agent",
            "Agent",
            AgentField::NAMES,
            update_mask,
            &changed,
            |agent| agent.id,
            operator_fields,
        )?;
        let updated = self
            .iadvize()?
            .update_operator(id, &fields)
            .await
            .map_err(|e| vendor_error(e, nested("agent")))?;
        Ok(Response::new(proto::UpdateAgentResponse {
            agent: Some(agent(updated)),
        }))
    }

    async fn delete_agent(
        &self,
        request: Request<proto::DeleteAgentRequest>,
    ) -> Result<Response<proto::DeleteAgentResponse>, Status> {
        let proto::DeleteAgentRequest { agent_id } = request.into_inner();
        let id = required_id("agent_id", agent_id)?;
        self.iadvize()?.delete_operator(id).await?;
        Ok(Response::new(proto::DeleteAgentResponse {}))
    }

    async fn list_agent_availability(
        &self,
        request: Request<proto::ListAgentAvailabilityRequest>,
    ) -> Result<Response<proto::ListAgentAvailabilityResponse>, Status> {
        let proto::ListAgentAvailabilityRequest {
            filter,
            page_size,
            page_token,
        } = request.into_inner();
        let mut violations = Violations::new();
        let filter = operator_filter(&mut violations, "filter", filter);
        let list = ListRequest::check(violations, "availability", filter, page_size, &page_token)?;
        let listed = self
            .iadvize()?
            .list_availability(&list.filter, list.page)
            .await?;
        Ok(Response::new(proto::ListAgentAvailabilityResponse {
            agents: listed.items.iter().map(availability).collect(),
            next_page_token: list.next_page_token(listed.next_page),
            total_size: total_size(listed.total_size),
        }))
    }

    async fn get_agent_availability(
        &self,
        request: Request<proto::GetAgentAvailabilityRequest>,
    ) -> Result<Response<proto::GetAgentAvailabilityResponse>, Status> {
        let proto::GetAgentAvailabilityRequest { agent_id } = request.into_inner();
        let id = required_id("agent_id", agent_id)?;
        let live = self.iadvize()?.get_availability(id).await?;
        Ok(Response::new(proto::GetAgentAvailabilityResponse {
            availability: Some(availability(&live)),
        }))
    }

    async fn set_agent_availability(
        &self,
        request: Request<proto::SetAgentAvailabilityRequest>,
    ) -> Result<Response<proto::SetAgentAvailabilityResponse>, Status> {
        let proto::SetAgentAvailabilityRequest {
            agent_id,
            chat_available,
            call_available,
            video_available,
            disconnect,
        } = request.into_inner();
        let mut violations = Violations::new();
        let id = violations.check(required_id("agent_id", agent_id));
        let any_channel =
            chat_available.is_some() || call_available.is_some() || video_available.is_some();
        let change = match (disconnect, any_channel) {
            (true, false) => Some(SetAvailability::Disconnect),
            (false, true) => Some(SetAvailability::Channels {
                chat: chat_available,
                call: call_available,
                video: video_available,
            }),
            (true, true) => {
                violations.push(FieldViolation::new(
                    "disconnect",
                    "cannot be combined with chat_available, call_available or video_available: disconnect alone, or set channels",
                ));
                None
            }
            (false, false) => {
                violations.push(FieldViolation::new(
                    "chat_available",
                    "nothing to set: give chat_available, call_available or video_available, or disconnect",
                ));
                None
            }
        };
        let (id, change) = violations.finish(crate::all_some!(id, change))?;
        let message = self
            .iadvize()?
            .set_availability(id, &change)
            .await
            .map_err(|e| {
                vendor_error(e, |field| match field {
                    "chat[available]" | "chat" => "chat_available".to_owned(),
                    "call[available]" | "call" => "call_available".to_owned(),
                    "video[available]" | "video" => "video_available".to_owned(),
                    "connected" => "disconnect".to_owned(),
                    other => other.to_owned(),
                })
            })?;
        Ok(Response::new(proto::SetAgentAvailabilityResponse {
            message,
        }))
    }

    async fn watch_agent_availability(
        &self,
        request: Request<proto::WatchAgentAvailabilityRequest>,
    ) -> Result<Response<Self::WatchAgentAvailabilityStream>, Status> {
        let proto::WatchAgentAvailabilityRequest { filter } = request.into_inner();
        let mut violations = Violations::new();
        let filter = operator_filter(&mut violations, "filter", filter);
        let filter = violations.finish(filter)?;
        let watch = self.watch.as_ref().ok_or_else(not_configured)?;
        let items = watch.watch(filter);
        let stream = ReceiverStream::new(items).map(|item| match item {
            Ok(item) => Ok(watch_message(item)),
            Err(error) => Err(Status::from(error)),
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_agent_statistics(
        &self,
        request: Request<proto::GetAgentStatisticsRequest>,
    ) -> Result<Response<proto::GetAgentStatisticsResponse>, Status> {
        let proto::GetAgentStatisticsRequest { agent_id } = request.into_inner();
        let id = required_id("agent_id", agent_id)?;
        let statistics = self.iadvize()?.operator_statistics(id).await?;
        Ok(Response::new(proto::GetAgentStatisticsResponse {
            statistics: Some(proto::AgentStatistics {
                agent_id: statistics.operator_id,
                conversation_number: statistics.conversation_number,
                satisfaction_global_rate: statistics.satisfaction_global_rate,
                experience: statistics.experience,
            }),
        }))
    }

    async fn get_agent_profile(
        &self,
        request: Request<proto::GetAgentProfileRequest>,
    ) -> Result<Response<proto::GetAgentProfileResponse>, Status> {
        let proto::GetAgentProfileRequest { agent_id } = request.into_inner();
        let id = required_id("agent_id", agent_id)?;
        let profile = self.iadvize()?.operator_profile(id).await?;
        Ok(Response::new(proto::GetAgentProfileResponse {
            profile: Some(proto::AgentProfile {
                agent_id: profile.operator_id,
                status: profile.status.unwrap_or_default(),
                description: profile.description.unwrap_or_default(),
                facebook: profile.facebook.unwrap_or_default(),
                twitter: profile.twitter.unwrap_or_default(),
                city: profile.city.unwrap_or_default(),
                country: profile.country.unwrap_or_default(),
            }),
        }))
    }

    async fn list_groups(
        &self,
        request: Request<proto::ListGroupsRequest>,
    ) -> Result<Response<proto::ListGroupsResponse>, Status> {
        let proto::ListGroupsRequest {
            parent_id,
            page_size,
            page_token,
        } = request.into_inner();
        let mut violations = Violations::new();
        let parent_id = violations.check(optional_id("parent_id", parent_id));
        let list = ListRequest::check(violations, "groups", parent_id, page_size, &page_token)?;
        let listed = self.iadvize()?.list_groups(list.filter, list.page).await?;
        Ok(Response::new(proto::ListGroupsResponse {
            next_page_token: list.next_page_token(listed.next_page),
            total_size: total_size(listed.total_size),
            groups: listed.items.into_iter().map(group).collect(),
        }))
    }

    async fn get_group(
        &self,
        request: Request<proto::GetGroupRequest>,
    ) -> Result<Response<proto::GetGroupResponse>, Status> {
        let proto::GetGroupRequest { group_id } = request.into_inner();
        let id = required_id("group_id", group_id)?;
        let found = self.iadvize()?.get_group(id).await?;
        Ok(Response::new(proto::GetGroupResponse {
            group: Some(group(found)),
        }))
    }

    async fn create_group(
        &self,
        request: Request<proto::CreateGroupRequest>,
    ) -> Result<Response<proto::CreateGroupResponse>, Status> {
        let proto::CreateGroupRequest { group: new_group } = request.into_inner();
        let fields = create_request("group", "the group to create", &new_group, group_fields)?;
        let created = self
            .iadvize()?
            .create_group(&fields)
            .await
            .map_err(|e| vendor_error(e, nested("group")))?;
        Ok(Response::new(proto::CreateGroupResponse {
            group: Some(group(created)),
        }))
    }

    async fn update_group(
        &self,
        request: Request<proto::UpdateGroupRequest>,
    ) -> Result<Response<proto::UpdateGroupResponse>, Status> {
        let proto::UpdateGroupRequest {
            group: changed,
            update_mask,
        } = request.into_inner();
        let (id, fields) = update_request(
            "group",
            "Group",
            GroupField::NAMES,
            update_mask,
            &changed,
            |group| group.id,
            group_fields,
        )?;
        let updated = self
            .iadvize()?
            .update_group(id, &fields)
            .await
            .map_err(|e| vendor_error(e, nested("group")))?;
        Ok(Response::new(proto::UpdateGroupResponse {
            group: Some(group(updated)),
        }))
    }

    async fn delete_group(
        &self,
        request: Request<proto::DeleteGroupRequest>,
    ) -> Result<Response<proto::DeleteGroupResponse>, Status> {
        let proto::DeleteGroupRequest { group_id } = request.into_inner();
        let id = required_id("group_id", group_id)?;
        self.iadvize()?.delete_group(id).await?;
        Ok(Response::new(proto::DeleteGroupResponse {}))
    }

    async fn list_skills(
        &self,
        request: Request<proto::ListSkillsRequest>,
    ) -> Result<Response<proto::ListSkillsResponse>, Status> {
        let proto::ListSkillsRequest {
            operator_id,
            parent_id,
            page_size,
            page_token,
        } = request.into_inner();
        let mut violations = Violations::new();
        let operator_id = violations.check(optional_id("operator_id", operator_id));
        let parent_id = violations.check(optional_id("parent_id", parent_id));
        let filter =
            crate::all_some!(operator_id, parent_id).map(|(operator_id, parent_id)| SkillFilter {
                operator_id,
                parent_id,
            });
        let list = ListRequest::check(violations, "skills", filter, page_size, &page_token)?;
        let listed = self.iadvize()?.list_skills(&list.filter, list.page).await?;
        Ok(Response::new(proto::ListSkillsResponse {
            next_page_token: list.next_page_token(listed.next_page),
            total_size: total_size(listed.total_size),
            skills: listed.items.into_iter().map(skill).collect(),
        }))
    }

    async fn get_skill(
        &self,
        request: Request<proto::GetSkillRequest>,
    ) -> Result<Response<proto::GetSkillResponse>, Status> {
        let proto::GetSkillRequest { skill_id } = request.into_inner();
        let id = required_id("skill_id", skill_id)?;
        let found = self.iadvize()?.get_skill(id).await?;
        Ok(Response::new(proto::GetSkillResponse {
            skill: Some(skill(found)),
        }))
    }

    async fn create_skill(
        &self,
        request: Request<proto::CreateSkillRequest>,
    ) -> Result<Response<proto::CreateSkillResponse>, Status> {
        let proto::CreateSkillRequest { skill: new_skill } = request.into_inner();
        let fields = create_request("skill", "the skill to create", &new_skill, skill_fields)?;
        let created = self
            .iadvize()?
            .create_skill(&fields)
            .await
            .map_err(|e| vendor_error(e, nested("skill")))?;
        Ok(Response::new(proto::CreateSkillResponse {
            skill: Some(skill(created)),
        }))
    }

    async fn update_skill(
        &self,
        request: Request<proto::UpdateSkillRequest>,
    ) -> Result<Response<proto::UpdateSkillResponse>, Status> {
        let proto::UpdateSkillRequest {
            skill: changed,
            update_mask,
        } = request.into_inner();
        let (id, fields) = update_request(
            "skill",
            "Skill",
            SkillField::NAMES,
            update_mask,
            &changed,
            |skill| skill.id,
            skill_fields,
        )?;
        let updated = self
            .iadvize()?
            .update_skill(id, &fields)
            .await
            .map_err(|e| vendor_error(e, nested("skill")))?;
        Ok(Response::new(proto::UpdateSkillResponse {
            skill: Some(skill(updated)),
        }))
    }

    async fn delete_skill(
        &self,
        request: Request<proto::DeleteSkillRequest>,
    ) -> Result<Response<proto::DeleteSkillResponse>, Status> {
        let proto::DeleteSkillRequest { skill_id } = request.into_inner();
        let id = required_id("skill_id", skill_id)?;
        self.iadvize()?.delete_skill(id).await?;
        Ok(Response::new(proto::DeleteSkillResponse {}))
    }

    async fn notify_call_pickup(
        &self,
        request: Request<proto::NotifyCallPickupRequest>,
    ) -> Result<Response<proto::NotifyCallPickupResponse>, Status> {
        let proto::NotifyCallPickupRequest {
            operator_external_id,
            website_id,
            phone_number,
        } = request.into_inner();
        let mut violations = Violations::new();
        let call = odigo_call(
            &mut violations,
            &operator_external_id,
            website_id,
            &phone_number,
        );
        let call = violations.finish(call)?;
        let conversation = self
            .iadvize()?
            .odigo_pickup(&call)
            .await
            .map_err(|e| vendor_error(e, str::to_owned))?;
        Ok(Response::new(proto::NotifyCallPickupResponse {
            targeting_rule_id: conversation.targeting_rule_id,
            website_id: conversation.website_id,
            conversation_id: conversation.conversation_id,
            skill_id: conversation.skill_id,
            visitor_phone_number: conversation.visitor_phone_number.unwrap_or_default(),
            visitor_uid: conversation.visitor_uid.unwrap_or_default(),
        }))
    }

    async fn notify_call_hangup(
        &self,
        request: Request<proto::NotifyCallHangupRequest>,
    ) -> Result<Response<proto::NotifyCallHangupResponse>, Status> {
        let proto::NotifyCallHangupRequest {
            operator_external_id,
            website_id,
            phone_number,
        } = request.into_inner();
        let mut violations = Violations::new();
        let call = odigo_call(
            &mut violations,
            &operator_external_id,
            website_id,
            &phone_number,
        );
        let call = violations.finish(call)?;
        self.iadvize()?
            .odigo_hangup(&call)
            .await
            .map_err(|e| vendor_error(e, str::to_owned))?;
        Ok(Response::new(proto::NotifyCallHangupResponse {}))
    }

    async fn list_clients(
        &self,
        request: Request<proto::ListClientsRequest>,
    ) -> Result<Response<proto::ListClientsResponse>, Status> {
        let proto::ListClientsRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let list = ListRequest::check(
            Violations::new(),
            "clients",
            Some(()),
            page_size,
            &page_token,
        )?;
        let listed = self.resources()?.list_clients(list.page).await?;
        Ok(Response::new(proto::ListClientsResponse {
            next_page_token: list.next_page_token(listed.next_page),
            total_size: total_size(listed.total_size),
            clients: listed.items.into_iter().map(client).collect(),
        }))
    }

    async fn get_client(
        &self,
        request: Request<proto::GetClientRequest>,
    ) -> Result<Response<proto::GetClientResponse>, Status> {
        let proto::GetClientRequest { client_id } = request.into_inner();
        let id = required_id("client_id", client_id)?;
        let found = self.resources()?.get_client(id).await?;
        Ok(Response::new(proto::GetClientResponse {
            client: Some(client(found)),
        }))
    }

    async fn list_websites(
        &self,
        request: Request<proto::ListWebsitesRequest>,
    ) -> Result<Response<proto::ListWebsitesResponse>, Status> {
        let proto::ListWebsitesRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let list = ListRequest::check(
            Violations::new(),
            "websites",
            Some(()),
            page_size,
            &page_token,
        )?;
        let listed = self.resources()?.list_websites(list.page).await?;
        Ok(Response::new(proto::ListWebsitesResponse {
            next_page_token: list.next_page_token(listed.next_page),
            total_size: total_size(listed.total_size),
            websites: listed.items.into_iter().map(website).collect(),
        }))
    }

    async fn get_website(
        &self,
        request: Request<proto::GetWebsiteRequest>,
    ) -> Result<Response<proto::GetWebsiteResponse>, Status> {
        let proto::GetWebsiteRequest { website_id } = request.into_inner();
        let id = required_id("website_id", website_id)?;
        let found = self.resources()?.get_website(id).await?;
        Ok(Response::new(proto::GetWebsiteResponse {
            website: Some(website(found)),
        }))
    }

    async fn update_website(
        &self,
        request: Request<proto::UpdateWebsiteRequest>,
    ) -> Result<Response<proto::UpdateWebsiteResponse>, Status> {
        let proto::UpdateWebsiteRequest {
            website: changed,
            update_mask,
        } = request.into_inner();
        let (id, fields) = update_request(
            "website",
            "Website",
            WebsiteField::NAMES,
            update_mask,
            &changed,
            |website| website.id,
            website_fields,
        )?;
        let updated = self
            .resources()?
            .update_website(id, &fields)
            .await
            .map_err(|e| vendor_error(e, nested("website")))?;
        Ok(Response::new(proto::UpdateWebsiteResponse {
            website: Some(website(updated)),
        }))
    }
}
