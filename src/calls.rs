//! What happens to calls, independent of how the request arrived (gRPC or a
//! vendor webhook): validated domain input in, vendor adapters and the store
//! called in the right order, domain types out.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::{
    domain::{
        AgentAssigned, AgentName, Call, CallId, CallLookup, CallStatus, Direction, NewEvent,
        OpticoMatch, Provider, RefKind, StatusChanged, Update, VendorRef,
    },
    error::{Error, Result},
    store::{CallUpsert, Recorded, Store, calls, events},
    vendors::optico::{CallStart, OpticoCallCenter},
};

/// The calls side of switchboard.
#[derive(Clone)]
pub struct CallDesk {
    store: Store,
    optico: Option<Arc<dyn OpticoCallCenter>>,
}

/// What StartCall returns.
pub struct StartedCall {
    pub call: Call,
    pub matches: Vec<OpticoMatch>,
}

impl CallDesk {
    pub fn new(store: Store, optico: Option<Arc<dyn OpticoCallCenter>>) -> Self {
        Self { store, optico }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn optico(&self) -> Result<&dyn OpticoCallCenter> {
        self.optico.as_deref().ok_or(Error::NotConfigured {
            what: "the Optico Call Center API",
            key: "vendors.optico.api_key",
        })
    }

    /// A call by any reference, or NOT_FOUND.
    pub async fn get_call(&self, lookup: &CallLookup) -> Result<Call> {
        calls::find_call(self.store.connection(), lookup)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "call",
                name: lookup.to_string(),
            })
    }

    async fn reload(&self, id: &CallId) -> Result<Call> {
        self.get_call(&CallLookup::Id(id.clone())).await
    }

    /// Optico callStart, then the call recorded with its Optico references.
    /// If Optico's call is already known (a webhook arrived first, or the
    /// client retried), that call is completed rather than duplicated.
    pub async fn start_call(&self, request: CallStart) -> Result<StartedCall> {
        let matches = self.optico()?.call_start(&request).await?;
        let refs: Vec<VendorRef> = matches
            .iter()
            .map(|m| VendorRef::new(RefKind::OpticoCallId, m.call.id.to_string()))
            .collect();
        let mut fields = CallUpsert::new(
            Direction::Inbound,
            Provider::Optico,
            CallStatus::Active,
            request.start_time,
        );
        fields.caller_phone = request.caller.number().map(|n| n.as_str().to_owned());
        fields.destination_phone = Some(request.destination.as_str().to_owned());
        fields.agent = request.agent.as_ref().map(|a| a.as_str().to_owned());
        fields.vendor_status = matches.first().and_then(|m| m.call.status.clone());

        let mut tx = self.store.begin_write().await?;
        let mut existing = None;
        for vendor_ref in &refs {
            if let Some(id) =
                calls::find_call_id(tx.conn(), &CallLookup::Vendor(vendor_ref.clone())).await?
            {
                existing = Some(id);
                break;
            }
        }
        let id = match existing {
            Some(id) => {
                let before = calls::load_call(tx.conn(), &id).await?;
                calls::complete_call(&tx, &id, &fields).await?;
                calls::add_refs(&tx, &id, &refs).await?;
                let previous_agent = before.and_then(|c| c.agent);
                if let Some(agent) = &fields.agent
                    && previous_agent.as_deref() != Some(agent.as_str())
                {
                    let update = Update::AgentAssigned(AgentAssigned {
                        agent: agent.clone(),
                        previous_agent,
                    });
                    events::append(&mut tx, &id, Some(agent), new_event(update, Utc::now()))
                        .await?;
                }
                id
            }
            None => {
                let agent = fields.agent.clone();
                let id = calls::insert_call(&tx, fields, &refs).await?;
                let update = Update::StatusChanged(StatusChanged {
                    previous: None,
                    status: CallStatus::Active,
                    failure_reason: None,
                    detail: None,
                });
                events::append(
                    &mut tx,
                    &id,
                    agent.as_deref(),
                    new_event(update, request.start_time),
                )
                .await?;
                id
            }
        };
        tx.commit().await?;
        Ok(StartedCall {
            call: self.reload(&id).await?,
            matches,
        })
    }

    /// Optico setAgentToCall for a call with an Optico reference, then the
    /// agent recorded and announced (once: re-assigning the same agent
    /// changes nothing).
    pub async fn assign_agent(&self, lookup: &CallLookup, agent: &AgentName) -> Result<Call> {
        let call = self.get_call(lookup).await?;
        let optico_call_id = call
            .ref_value(RefKind::OpticoCallId)
            .and_then(|value| value.parse::<i64>().ok())
            .ok_or_else(|| {
                Error::FailedPrecondition(format!(
                    "call {} has no Optico reference: AssignAgent works on calls started with StartCall or seen in Optico webhooks",
                    call.id
                ))
            })?;
        self.optico()?
            .set_agent_to_call(optico_call_id, agent)
            .await?;

        let mut tx = self.store.begin_write().await?;
        let previous = calls::set_agent(&tx, &call.id, agent.as_str()).await?;
        if previous.as_deref() != Some(agent.as_str()) {
            let update = Update::AgentAssigned(AgentAssigned {
                agent: agent.as_str().to_owned(),
                previous_agent: previous,
            });
            events::append(
                &mut tx,
                &call.id,
                Some(agent.as_str()),
                new_event(update, Utc::now()),
            )
            .await?;
        }
        tx.commit().await?;
        self.reload(&call.id).await
    }

    /// Stores one Optico realtime update (view, cart or order) of Optico call
    /// `optico_call_id`, creating the call if Optico is faster than StartCall.
    /// Returns once committed; a re-delivery is recognised by `dedupe_key`.
    pub async fn record_optico_update(
        &self,
        optico_call_id: i64,
        update: Update,
        occurred_at: DateTime<Utc>,
        dedupe_key: String,
    ) -> Result<Recorded> {
        let mut tx = self.store.begin_write().await?;
        let vendor_ref = VendorRef::new(RefKind::OpticoCallId, optico_call_id.to_string());
        // A call first seen through a webhook started, as far as we know,
        // now (StartCall fills in its real start time later).
        let (id, _created) = calls::find_or_create_by_ref(&tx, &vendor_ref, || {
            CallUpsert::new(
                Direction::Inbound,
                Provider::Optico,
                CallStatus::Active,
                Utc::now(),
            )
        })
        .await?;
        let agent = calls::load_call(tx.conn(), &id)
            .await?
            .and_then(|c| c.agent);
        let event = NewEvent {
            update,
            occurred_at,
            dedupe_key: Some(dedupe_key),
        };
        let recorded = events::append(&mut tx, &id, agent.as_deref(), event).await?;
        tx.commit().await?;
        Ok(recorded)
    }
}

fn new_event(update: Update, occurred_at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        update,
        occurred_at,
        dedupe_key: None,
    }
}
