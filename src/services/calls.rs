//! What happens to calls, independent of how the request arrived (gRPC or a
//! vendor webhook): validated domain input in, vendor adapters and the store
//! called in the right order, domain types out.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::info;

use crate::{
    domain::{
        AgentAssigned, AgentName, Call, CallId, CallLookup, CallStatus, Direction, NewEvent,
        OpticoMatch, Provider, RefKind, StatusChanged, Update, VendorRef,
    },
    error::{Error, Result},
    store::{CallUpsert, Recorded, RefAppend, Store, calls, events, events::Prepared},
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
        let started = Prepared::new(new_event(
            Update::StatusChanged(StatusChanged {
                previous: None,
                status: CallStatus::Active,
                failure_reason: None,
                detail: None,
            }),
            request.start_time,
        ))?;
        // What Optico knew of the caller goes on the stream too, so that an
        // agent app that did not make this StartCall can show it as the
        // call rings.
        let matched = if matches.is_empty() {
            None
        } else {
            Some(Prepared::new(new_event(
                Update::OpticoMatches(matches.clone()),
                Utc::now(),
            ))?)
        };
        let job = Arc::new((refs, fields, started, matched));

        // A new call costs 4 statements (look up the refs, insert the call,
        // its refs, its first update), plus one for what Optico matched, and
        // is answered from what was written; a known one is completed and
        // read back after the commit.
        let written = self
            .store
            .write(move |tx| {
                let job = job.clone();
                Box::pin(async move {
                    let (refs, fields, started, matched) = &*job;
                    let mut existing = None;
                    for vendor_ref in refs {
                        if let Some(id) =
                            calls::find_call_id(tx.conn(), &CallLookup::Vendor(vendor_ref.clone()))
                                .await?
                        {
                            existing = Some(id);
                            break;
                        }
                    }
                    let Some(id) = existing else {
                        let call = calls::insert_call_record(tx, fields.clone(), refs).await?;
                        events::append(tx, &call.id, call.agent.as_deref(), started).await?;
                        if let Some(matched) = matched {
                            events::append(tx, &call.id, call.agent.as_deref(), matched).await?;
                        }
                        return Ok(Written::New(Box::new(call)));
                    };
                    let previous_agent = calls::agent_of(tx.conn(), &id).await?;
                    calls::complete_call(tx, &id, fields).await?;
                    calls::add_refs(tx, &id, refs).await?;
                    if let Some(agent) = &fields.agent
                        && previous_agent.as_deref() != Some(agent.as_str())
                    {
                        let update = Prepared::new(new_event(
                            Update::AgentAssigned(AgentAssigned {
                                agent: agent.clone(),
                                previous_agent: previous_agent.clone(),
                                confirmed_agent: None,
                                requested_agent: None,
                            }),
                            Utc::now(),
                        ))?;
                        events::append(tx, &id, Some(agent), &update).await?;
                    }
                    if let Some(matched) = matched {
                        let agent = fields.agent.as_deref().or(previous_agent.as_deref());
                        events::append(tx, &id, agent, matched).await?;
                    }
                    Ok(Written::Known(id))
                })
            })
            .await?;
        let call = match written {
            Written::New(call) => *call,
            Written::Known(id) => self.reload(&id).await?,
        };
        Ok(StartedCall { call, matches })
    }

    /// Optico setAgentToCall for a call with an Optico reference, then the
    /// agent recorded and announced (once: re-assigning the same agent
    /// changes nothing). The agent recorded is the one Optico confirms in its
    /// answer — what Optico itself recorded, so that our record and later
    /// Optico exports agree — and the update says so.
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
        let confirmed = self
            .optico()?
            .set_agent_to_call(optico_call_id, agent)
            .await?;
        let requested = agent.as_str().to_owned();
        let recorded = confirmed
            .as_ref()
            .map_or(requested.clone(), |c| c.as_str().to_owned());
        if recorded != requested {
            info!(call_id = %call.id, requested = %requested, confirmed = %recorded, "optico confirmed another agent than asked; recording optico's");
        }
        let confirmed = confirmed.map(|c| c.as_str().to_owned());
        let requested = (recorded != requested).then_some(requested);

        let id = call.id.clone();
        self.store
            .write(move |tx| {
                let (id, agent) = (id.clone(), recorded.clone());
                let (confirmed, requested) = (confirmed.clone(), requested.clone());
                Box::pin(async move {
                    let previous = calls::set_agent(tx, &id, &agent).await?;
                    if previous.as_deref() != Some(agent.as_str()) {
                        let update = Prepared::new(new_event(
                            Update::AgentAssigned(AgentAssigned {
                                agent: agent.clone(),
                                previous_agent: previous,
                                confirmed_agent: confirmed,
                                requested_agent: requested,
                            }),
                            Utc::now(),
                        ))?;
                        events::append(tx, &id, Some(&agent), &update).await?;
                    }
                    Ok(())
                })
            })
            .await?;
        self.reload(&call.id).await
    }

    /// Stores one Optico realtime update (view, cart or order) of Optico call
    /// `optico_call_id`, creating the call if Optico is faster than StartCall.
    /// Returns once committed; a re-delivery is recognised by `dedupe_key`.
    ///
    /// Statements: for a call already known, none of its own — every such
    /// webhook of a batch is inserted, with its dedupe claim, its call's
    /// agent and its sequence, by one `WITH v AS (VALUES (…), (…)) INSERT …
    /// SELECT … FROM v JOIN call_refs … ON CONFLICT DO NOTHING RETURNING` for
    /// the whole batch
    /// (`store::events::append_many_by_ref`; alone in its batch, the same
    /// for one row, `append_by_ref`). A re-delivery then costs two more
    /// (its own insert that does nothing, and the key's lookup), the first
    /// event of a call not yet known four more (the same two, the call and
    /// its reference, the event). Each batch adds BEGIN, one read of the log
    /// head and COMMIT, and on PostgreSQL the writers' advisory lock and a
    /// NOTIFY: 4 statements per batch on SQLite, 6 on PostgreSQL, whatever
    /// the number of webhooks in it. On SQLite the WAL's `fdatasync` follows
    /// the COMMIT, one for each batch or more (`store::wal`).
    pub async fn record_optico_update(
        &self,
        optico_call_id: i64,
        update: Update,
        occurred_at: DateTime<Utc>,
        dedupe_key: String,
    ) -> Result<Recorded> {
        let event = Prepared::new(NewEvent {
            update,
            occurred_at,
            dedupe_key: Some(dedupe_key),
        })?;
        let append = RefAppend::new(
            VendorRef::new(RefKind::OpticoCallId, optico_call_id.to_string()),
            event,
        )?;
        // A call first seen through a webhook started, as far as we know,
        // now (StartCall fills in its real start time later).
        let new_call = CallUpsert::new(
            Direction::Inbound,
            Provider::Optico,
            CallStatus::Active,
            Utc::now(),
        );
        let recorded = self.store.append_to_ref(append, new_call).await?;
        Ok(recorded)
    }
}

/// What StartCall's write did.
enum Written {
    New(Box<Call>),
    Known(CallId),
}

fn new_event(update: Update, occurred_at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        update,
        occurred_at,
        dedupe_key: None,
    }
}
