//! Dials and CCAI call creation, idempotent by `request_id` (AIP-155), and
//! the FocalScope callbacks that report their progress.
//!
//! A side-effecting request goes:
//! 1. reserve `<rpc>:<request_id>` with a digest of the parameters (a
//!    serialised write, so two identical requests racing — on one replica or
//!    several — cannot both win; the loser waits for the winner's outcome);
//! 2. call the vendor once — never retried automatically;
//! 3. record the outcome: the call (found again by every retry), a definitive
//!    refusal (replayed to retries), or, when the vendor may have acted
//!    without telling us (timeout, dropped connection), a call with status
//!    UNKNOWN. Only a failure that certainly did nothing at the vendor
//!    (refused connection) releases the reservation for a retry.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::{
    domain::{
        AgentName, Call, CallId, CallLookup, CallStatus, DialEvent, Direction, EmailAddress,
        FailureReason, Language, LegKind, NewEvent, OutboundPrefix, PhoneNumber, Provider,
        RecordingPermission, RefKind, RequestId, StatusChanged, Update, VendorRef, dial_status,
    },
    error::{Error, Result},
    store::{
        CallUpsert, LegEvent, Recorded, Store, StoreResult, WriteTx, calls, events,
        events::Prepared, idempotency, idempotency::Reservation,
    },
    vendors::{
        VendorError, VendorErrorKind,
        ccai::{self, CcaiCalls},
        focalscope::{Callback, FocalScopeDialer, FocalScopeRecordings, RecordedLeg, Recording},
    },
};

pub use crate::domain::EndUser;
use crate::domain::ccai::{CcaiCreated, NewCcaiCall};

/// A validated side-effecting request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum DialRequest {
    FocalScope {
        agent: AgentName,
        number: PhoneNumber,
        /// Skipped when absent so that a request's fingerprint is the one it
        /// had before prefixes existed (a retry across an upgrade matches).
        #[serde(skip_serializing_if = "Option::is_none")]
        prefix: Option<OutboundPrefix>,
    },
    CcaiOutbound {
        agent: EmailAddress,
        end_user: EndUser,
        outbound_number: Option<PhoneNumber>,
        language: Option<Language>,
    },
    CcaiInbound {
        menu_id: i64,
        end_user: EndUser,
        outbound_number: Option<PhoneNumber>,
        language: Option<Language>,
        recording: Option<RecordingPermission>,
    },
    CcaiScheduled {
        menu_id: Option<i64>,
        /// The parent call and its CCAI id.
        parent: Option<(CallId, i64)>,
        end_user: EndUser,
        language: Option<Language>,
        recording: Option<RecordingPermission>,
        scheduled_at: DateTime<Utc>,
    },
}

impl DialRequest {
    /// Digest of every parameter: the same `request_id` with other
    /// parameters is refused.
    fn fingerprint(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(json))
    }

    fn provider(&self) -> Provider {
        match self {
            DialRequest::FocalScope { .. } => Provider::FocalScope,
            _ => Provider::Ccai,
        }
    }

    /// The call's fields, before the vendor adds its own.
    fn call_fields(&self, status: CallStatus) -> CallUpsert {
        let now = Utc::now();
        let number = |n: &Option<PhoneNumber>| n.as_ref().map(|n| n.as_str().to_owned());
        match self {
            DialRequest::FocalScope { agent, number, .. } => {
                let mut fields =
                    CallUpsert::new(Direction::Outbound, Provider::FocalScope, status, now);
                fields.agent = Some(agent.as_str().to_owned());
                fields.destination_phone = Some(number.as_str().to_owned());
                fields
            }
            DialRequest::CcaiOutbound {
                agent,
                end_user,
                outbound_number,
                ..
            } => {
                let mut fields = CallUpsert::new(Direction::Outbound, Provider::Ccai, status, now);
                fields.agent = Some(agent.as_str().to_owned());
                fields.destination_phone = number(&end_user.number);
                fields.caller_phone = number(outbound_number);
                fields
            }
            DialRequest::CcaiInbound {
                end_user,
                outbound_number,
                ..
            } => {
                let mut fields = CallUpsert::new(Direction::Inbound, Provider::Ccai, status, now);
                fields.caller_phone = number(&end_user.number);
                fields.destination_phone = number(outbound_number);
                fields
            }
            DialRequest::CcaiScheduled {
                end_user,
                scheduled_at,
                ..
            } => {
                let mut fields = CallUpsert::new(Direction::Outbound, Provider::Ccai, status, now);
                fields.destination_phone = number(&end_user.number);
                fields.scheduled_at = Some(*scheduled_at);
                fields
            }
        }
    }

    /// The CCAI call to create (the CCAI adapter builds its request body).
    fn ccai_call(&self) -> Option<NewCcaiCall> {
        match self.clone() {
            DialRequest::FocalScope { .. } => None,
            DialRequest::CcaiOutbound {
                agent,
                end_user,
                outbound_number,
                language,
            } => Some(NewCcaiCall::Outbound {
                agent,
                end_user,
                outbound_number,
                language,
            }),
            DialRequest::CcaiInbound {
                menu_id,
                end_user,
                outbound_number,
                language,
                recording,
            } => Some(NewCcaiCall::Inbound {
                menu_id,
                end_user,
                outbound_number,
                language,
                recording,
            }),
            DialRequest::CcaiScheduled {
                menu_id,
                parent,
                end_user,
                language,
                recording,
                scheduled_at,
            } => Some(NewCcaiCall::Scheduled {
                menu_id,
                parent_call_id: parent.map(|(_, ccai_id)| ccai_id),
                end_user,
                language,
                recording,
                scheduled_at,
            }),
        }
    }
}

/// What the vendor said to a dial.
enum Accepted {
    FocalScope { request_id: i64 },
    Ccai(CcaiCreated),
}

/// Outbound dials, CCAI call creation, CCAI customer flags and FocalScope
/// callbacks.
#[derive(Clone)]
pub struct Dialer {
    store: Store,
    focalscope: Option<Arc<dyn FocalScopeDialer>>,
    recordings: Option<Arc<dyn FocalScopeRecordings>>,
    ccai: Option<Arc<dyn CcaiCalls>>,
    /// After this long, a reservation whose request never recorded an outcome
    /// (its process died mid-request) is settled as UNKNOWN. Longer than any
    /// vendor request can take.
    in_flight_limit: Duration,
}

/// How often a retry waiting on an in-flight twin looks again.
const WAIT_STEP: Duration = Duration::from_millis(50);

impl Dialer {
    pub fn new(
        store: Store,
        focalscope: Option<Arc<dyn FocalScopeDialer>>,
        ccai: Option<Arc<dyn CcaiCalls>>,
        longest_vendor_timeout: Duration,
    ) -> Self {
        Self {
            store,
            focalscope,
            recordings: None,
            ccai,
            in_flight_limit: longest_vendor_timeout * 2 + Duration::from_secs(5),
        }
    }

    /// FocalScope recordings, when `vendors.focalscope.recording_url` is set.
    pub fn with_recordings(mut self, recordings: Option<Arc<dyn FocalScopeRecordings>>) -> Self {
        self.recordings = recordings;
        self
    }

    /// Starts the download of the recording of one leg of a FocalScope
    /// dial. Whether the leg was recorded is FocalScope's word in its
    /// callbacks (`IsCallRecorded`): a leg it never reported as recorded is
    /// NOT_FOUND without asking the PBX.
    pub async fn call_recording(&self, lookup: &CallLookup, leg: LegKind) -> Result<Recording> {
        let recordings = self.recordings.as_deref().ok_or(Error::NotConfigured {
            what: "FocalScope recordings",
            key: "vendors.focalscope.recording_url",
        })?;
        let call = calls::find_call(self.store.connection(), lookup)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "call",
                name: lookup.to_string(),
            })?;
        if call.provider != Provider::FocalScope {
            return Err(Error::FailedPrecondition(format!(
                "call {} is not a FocalScope dial: only FocalScope legs have recordings here",
                call.id
            )));
        }
        let leg_name = format!("{leg} leg of call {}", call.id);
        let found = call.legs.iter().find(|l| l.kind == leg);
        let Some(found) = found else {
            return Err(Error::NotFound {
                resource: "leg",
                name: format!("{leg_name} (FocalScope reported no event of it yet)"),
            });
        };
        let (true, Some(call_id)) = (found.recorded, found.focalscope_call_id.clone()) else {
            return Err(Error::NotFound {
                resource: "recording",
                name: format!(
                    "{leg_name}: FocalScope did not report it as recorded (IsCallRecorded empty)"
                ),
            });
        };
        let recording = recordings
            .recording(&RecordedLeg {
                call_id,
                call_uuid: found.call_uuid.clone(),
            })
            .await?;
        Ok(recording)
    }

    fn focalscope(&self) -> Result<&dyn FocalScopeDialer> {
        self.focalscope.as_deref().ok_or(Error::NotConfigured {
            what: "the FocalScope dial API",
            key: "vendors.focalscope.dial_url",
        })
    }

    pub fn ccai(&self) -> Result<&dyn CcaiCalls> {
        self.ccai.as_deref().ok_or(Error::NotConfigured {
            what: "CCAI Platform",
            key: "vendors.ccai.base_url",
        })
    }

    async fn load(&self, id: &CallId) -> Result<Call> {
        calls::load_call(self.store.connection(), id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "call",
                name: id.to_string(),
            })
    }

    /// Runs `request` once per `request_id` of `rpc` (see the module docs).
    pub async fn execute(
        &self,
        rpc: &str,
        request_id: &RequestId,
        request: DialRequest,
    ) -> Result<Call> {
        // Configuration first: an unconfigured vendor is no reason to reserve.
        match request.provider() {
            Provider::FocalScope => {
                self.focalscope()?;
            }
            _ => {
                self.ccai()?;
            }
        }
        let key = format!("{rpc}:{request_id}");
        let fingerprint = request.fingerprint();
        let deadline = tokio::time::Instant::now() + self.in_flight_limit + Duration::from_secs(1);
        loop {
            let stale_after = self.in_flight_limit;
            let job = Arc::new((key.clone(), fingerprint.clone(), request.clone()));
            let reservation = self
                .store
                .write(move |tx| {
                    let job = job.clone();
                    Box::pin(async move {
                        let (key, fingerprint, request) = &*job;
                        let reservation = idempotency::reserve(tx, key, fingerprint).await?;
                        if let Reservation::InFlight { since } = reservation
                            && (Utc::now() - since).to_std().unwrap_or_default() > stale_after
                        {
                            // The request that reserved this id never recorded
                            // its outcome: its process died while the vendor
                            // may have acted.
                            let id = settle_unknown(
                                tx,
                                key,
                                request,
                                "the request was interrupted before the vendor answered",
                            )
                            .await?;
                            return Ok(Reserve::Settled(id));
                        }
                        Ok(Reserve::Found(reservation))
                    })
                })
                .await?;
            let reservation = match reservation {
                Reserve::Settled(id) => {
                    warn!(rpc, request_id = %request_id, call_id = %id, "interrupted request settled as unknown");
                    return self.load(&id).await;
                }
                Reserve::Found(reservation) => reservation,
            };
            match reservation {
                Reservation::Reserved => break,
                Reservation::Done(id) => {
                    info!(rpc, request_id = %request_id, call_id = %id, "repeated request_id answered from the first result");
                    return self.load(&id).await;
                }
                Reservation::Failed { code, message } => {
                    return Err(replayed_refusal(request.provider(), &code, message));
                }
                Reservation::Mismatch => {
                    return Err(Error::invalid(
                        "request_id",
                        "was already used with different parameters: a retry must repeat the request unchanged, a new request needs a new request_id",
                    ));
                }
                Reservation::InFlight { since } => {
                    // Wait for the twin's outcome with plain reads, then look
                    // again under the lock.
                    loop {
                        if tokio::time::Instant::now() > deadline {
                            return Err(Error::FailedPrecondition(format!(
                                "request_id {request_id} is still being processed; retry later"
                            )));
                        }
                        tokio::time::sleep(WAIT_STEP).await;
                        let record = idempotency::lookup(self.store.connection(), &key).await?;
                        let settled = !record.as_ref().is_some_and(idempotency::is_pending);
                        let stale = (Utc::now() - since).to_std().unwrap_or_default()
                            > self.in_flight_limit;
                        if settled || stale {
                            break;
                        }
                    }
                }
            }
        }

        let outcome = match &request {
            DialRequest::FocalScope {
                agent,
                number,
                prefix,
            } => self
                .focalscope()?
                .dial(agent, number, prefix.as_ref())
                .await
                .map(|request_id| Accepted::FocalScope { request_id }),
            _ => match request.ccai_call() {
                Some(call) => self.ccai()?.create_call(&call).await.map(Accepted::Ccai),
                None => Err(VendorError::bad_response(
                    Provider::Ccai,
                    "no CCAI body for this request",
                )),
            },
        };
        self.record_outcome(rpc, request_id, &key, &request, outcome)
            .await
    }

    async fn record_outcome(
        &self,
        rpc: &str,
        request_id: &RequestId,
        key: &str,
        request: &DialRequest,
        outcome: std::result::Result<Accepted, VendorError>,
    ) -> Result<Call> {
        let (accepted, error) = match outcome {
            Ok(accepted) => (Some(accepted), None),
            Err(error) => (None, Some(error)),
        };
        let job = Arc::new((key.to_owned(), request.clone(), accepted, error.clone()));
        let recorded = self
            .store
            .write(move |tx| {
                let job = job.clone();
                Box::pin(async move {
                    let (key, request, accepted, error) = &*job;
                    record_outcome(tx, key, request, accepted.as_ref(), error.as_ref()).await
                })
            })
            .await?;
        match (recorded, error) {
            (Outcome::Accepted { id, status }, _) => {
                info!(rpc, request_id = %request_id, call_id = %id, status = %status, "dial accepted by the vendor");
                self.load(&id).await
            }
            (Outcome::Unknown(id), Some(error)) => {
                warn!(rpc, request_id = %request_id, call_id = %id, error = %error, "vendor outcome unknown; call kept as unknown");
                Err(Error::OutcomeUnknown { error, call_id: id })
            }
            (Outcome::Refused, Some(error)) => Err(Error::Vendor(error)),
            (Outcome::Unknown(_) | Outcome::Refused, None) => Err(Error::Store(
                crate::store::StoreError::Corrupt("a refusal was recorded without an error".into()),
            )),
        }
    }

    /// Stores one FocalScope callback: the leg, its references, a
    /// `dial_event` update, and the status it leads to. A callback whose dial
    /// has not committed yet creates the call (by RequestID) for the dial to
    /// find. Returns once committed.
    ///
    /// Statements, for a dial already recorded: one join finds the call with
    /// its agent and status; one inserts the update with its dedupe claim (a
    /// re-delivery stops there, having written nothing); one or two per leg
    /// id (CallID, CallUUID) attach them; two upsert the leg; one reads the
    /// dial's updates, which decide its status; one moves the status and one
    /// announces it when it changes — seven to eleven in all.
    pub async fn record_focalscope_callback(
        &self,
        callback: Callback,
        dedupe_key: String,
    ) -> Result<Recorded> {
        let dial_event = DialEvent {
            leg: callback.leg,
            event: callback.event,
            event_code: callback.event_code,
            recorded: callback.recorded,
            focalscope_call_id: Some(callback.call_id.clone()),
            call_uuid: callback.call_uuid.clone(),
            request_id: Some(callback.request_id.to_string()),
        };
        let event = Prepared::new(NewEvent {
            update: Update::DialEvent(dial_event),
            occurred_at: Utc::now(),
            dedupe_key: Some(dedupe_key),
        })?;
        let job = Arc::new((callback, event));
        let recorded = self
            .store
            .write(move |tx| {
                let job = job.clone();
                Box::pin(async move {
                    let (callback, event) = &*job;
                    record_callback(tx, callback, event).await
                })
            })
            .await?;
        Ok(recorded)
    }

    /// The CCAI call a request names. A `ccai_call_id` switchboard has never
    /// seen (an inbound CCAI call, one an agent made in the widget) is not
    /// refused: it is CCAI's to know, so it comes back as
    /// [`CcaiTarget::Unknown`] for the caller to ask CCAI, then
    /// [`Dialer::remember_ccai_call`] once CCAI has answered for it.
    pub async fn ccai_target(&self, lookup: &CallLookup) -> Result<CcaiTarget> {
        let Some(call) = calls::find_call(self.store.connection(), lookup).await? else {
            return match lookup {
                CallLookup::Vendor(vendor_ref) if vendor_ref.kind == RefKind::CcaiCallId => {
                    let id = vendor_ref.value.parse::<i64>().map_err(|_| {
                        Error::invalid("call.ccai_call_id", "must be a CCAI call id (an integer)")
                    })?;
                    Ok(CcaiTarget::Unknown(id))
                }
                _ => Err(Error::NotFound {
                    resource: "call",
                    name: lookup.to_string(),
                }),
            };
        };
        let ccai_id = call
            .ref_value(RefKind::CcaiCallId)
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| {
                Error::FailedPrecondition(format!(
                    "call {} is not a CCAI call (it has no ccai_call_id)",
                    call.id
                ))
            })?;
        Ok(CcaiTarget::Known(call.id, ccai_id))
    }

    /// Records a CCAI call switchboard did not create, by its CCAI id, once
    /// CCAI has answered for it, so that later lookups (GetCall, ListCalls,
    /// streams) find it. The reference is only ever created here, never moved:
    /// a call that already holds it (a twin request won the race) is the one
    /// returned.
    pub async fn remember_ccai_call(&self, ccai_call_id: i64) -> Result<CallId> {
        let vendor_ref = VendorRef::new(RefKind::CcaiCallId, ccai_call_id.to_string());
        let (id, created) = self
            .store
            .write(move |tx| {
                let vendor_ref = vendor_ref.clone();
                Box::pin(async move {
                    calls::find_or_create_by_ref(tx, &vendor_ref, || {
                        // What CCAI told us is only that the call exists: its
                        // direction is a guess (calls switchboard did not
                        // create reach the contact center) and its status
                        // unknown.
                        let mut fields = CallUpsert::new(
                            Direction::Inbound,
                            Provider::Ccai,
                            CallStatus::Unknown,
                            Utc::now(),
                        );
                        fields.status_detail = Some(
                            "a ccai call switchboard did not create, first named by its ccai_call_id"
                                .to_owned(),
                        );
                        fields
                    })
                    .await
                })
            })
            .await?;
        if created {
            info!(ccai_call_id, call_id = %id, "ccai call first seen by its ccai_call_id; recorded");
        }
        Ok(id)
    }

    /// The call and CCAI id of the parent of a scheduled call. A parent
    /// switchboard has never seen is checked with CCAI first (its
    /// customer_flag is the one documented read of a call), then recorded,
    /// so that a retry of the same request names the same parent.
    pub async fn ccai_parent(&self, lookup: &CallLookup) -> Result<(CallId, i64)> {
        match self.ccai_target(lookup).await? {
            CcaiTarget::Known(id, ccai_id) => Ok((id, ccai_id)),
            CcaiTarget::Unknown(ccai_id) => {
                self.ccai()?.customer_flags(ccai_id).await?;
                let id = self.remember_ccai_call(ccai_id).await?;
                Ok((id, ccai_id))
            }
        }
    }
}

/// A CCAI call named by a request (see [`Dialer::ccai_target`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CcaiTarget {
    /// A call switchboard has, with its CCAI id.
    Known(CallId, i64),
    /// A CCAI id switchboard has never seen.
    Unknown(i64),
}

impl CcaiTarget {
    pub fn ccai_id(&self) -> i64 {
        match self {
            CcaiTarget::Known(_, id) | CcaiTarget::Unknown(id) => *id,
        }
    }
}

/// What happened to a reserved request.
enum Reserve {
    Found(Reservation),
    /// Its reservation was stale and is now settled as UNKNOWN.
    Settled(CallId),
}

/// What recording a vendor's answer wrote.
enum Outcome {
    Accepted {
        id: CallId,
        status: CallStatus,
    },
    /// The vendor may have acted: the call is kept as UNKNOWN.
    Unknown(CallId),
    /// A refusal (recorded for retries) or nothing sent (released).
    Refused,
}

/// Settles a request whose outcome nobody will learn as a call with status
/// UNKNOWN (the vendor may have acted), which retries then get.
async fn settle_unknown(
    tx: &mut WriteTx,
    key: &str,
    request: &DialRequest,
    detail: &str,
) -> StoreResult<CallId> {
    let mut fields = request.call_fields(CallStatus::Unknown);
    fields.status_detail = Some(detail.to_owned());
    let id = calls::insert_call(tx, fields.clone(), &[]).await?;
    announce_new(tx, &id, &fields, CallStatus::Unknown, Some(detail)).await?;
    idempotency::complete(tx, key, &id).await?;
    Ok(id)
}

/// Records the vendor's answer to a reserved request (see the module docs).
async fn record_outcome(
    tx: &mut WriteTx,
    key: &str,
    request: &DialRequest,
    accepted: Option<&Accepted>,
    error: Option<&VendorError>,
) -> StoreResult<Outcome> {
    // A twin may have settled this request as unknown if we were very slow;
    // then that call is the one to complete.
    let settled = idempotency::lookup(tx.conn(), key)
        .await?
        .filter(|r| r.state == "done")
        .and_then(|r| r.call_id)
        .map(CallId::from_stored);
    let accepted = match (accepted, error) {
        (Some(accepted), _) => accepted,
        (None, Some(error)) => {
            return match error.kind {
                // The vendor may have acted: a timeout, a dropped
                // connection, or a success answer we cannot read.
                VendorErrorKind::OutcomeUnknown | VendorErrorKind::BadResponse => {
                    let id = match settled {
                        Some(id) => id,
                        None => settle_unknown(tx, key, request, &error.message).await?,
                    };
                    Ok(Outcome::Unknown(id))
                }
                VendorErrorKind::Unavailable
                | VendorErrorKind::CircuitOpen
                | VendorErrorKind::RateLimited => {
                    // Nothing reached the vendor: a retry may try again.
                    idempotency::release(tx, key).await?;
                    Ok(Outcome::Refused)
                }
                VendorErrorKind::InvalidArgument
                | VendorErrorKind::NotFound
                | VendorErrorKind::PermissionDenied
                | VendorErrorKind::Misconfigured
                | VendorErrorKind::Refused => {
                    let code = match &error.field {
                        Some(field) => format!("{}:{field}", error.kind.as_str()),
                        None => error.kind.as_str().to_owned(),
                    };
                    idempotency::fail(tx, key, &code, &error.message).await?;
                    Ok(Outcome::Refused)
                }
            };
        }
        (None, None) => {
            return Err(crate::store::StoreError::Corrupt(
                "a dial outcome with neither answer nor error".into(),
            ));
        }
    };

    let (status, vendor_ref, vendor_status, vendor_data) = match accepted {
        Accepted::FocalScope { request_id } => (
            CallStatus::Dialing,
            Some(VendorRef::new(
                RefKind::FocalscopeRequestId,
                request_id.to_string(),
            )),
            None,
            None,
        ),
        Accepted::Ccai(CcaiCreated::Call(call)) => (
            call.status,
            call.id
                .map(|id| VendorRef::new(RefKind::CcaiCallId, id.to_string())),
            call.vendor_status.clone(),
            Some(call.stored.clone()),
        ),
        Accepted::Ccai(CcaiCreated::PendingAgentAction { .. }) => {
            (CallStatus::PendingAgentAction, None, None, None)
        }
    };
    let mut fields = request.call_fields(status);
    fields.failure_reason = ccai_failure(status);
    fields.vendor_status = vendor_status;
    fields.vendor_data = vendor_data;
    if let Accepted::Ccai(CcaiCreated::PendingAgentAction { http_status }) = accepted {
        fields.status_detail = Some(format!(
            "ccai accepted the request (HTTP {http_status}); the agent must finish it in the CCAI widget"
        ));
    }
    if let Accepted::Ccai(CcaiCreated::Call(call)) = accepted
        && let Some(at) = call.scheduled_at
    {
        fields.scheduled_at = Some(at);
    }

    // An early callback may already have created the call under the vendor's
    // id: that call becomes the dial's call (its updates were already
    // streamed under its id). But an id that an earlier, different dial
    // holds (the PBX restarted, its counter wrapped) is a clash: that call
    // and its stored result stay as they are, and this dial gets its own.
    let mut clash = None;
    let early = match &vendor_ref {
        Some(vendor_ref) => {
            match calls::find_call_id(tx.conn(), &CallLookup::Vendor(vendor_ref.clone())).await? {
                Some(owner) if settled.as_ref() != Some(&owner) => {
                    // The owner's newest reuse, if any, may be this dial's
                    // early call.
                    let newest = calls::dial_of_request(tx, vendor_ref)
                        .await?
                        .map(|(id, _, _)| id)
                        .unwrap_or(owner);
                    if calls::is_dial_call(tx, &newest).await? {
                        clash = Some(vendor_ref.clone());
                        None
                    } else {
                        Some(newest)
                    }
                }
                found => found,
            }
        }
        None => None,
    };
    let refs: Vec<VendorRef> = match &clash {
        Some(_) => Vec::new(),
        None => vendor_ref.into_iter().collect(),
    };
    let id = match early.or(settled) {
        Some(id) => {
            calls::complete_call(tx, &id, &fields).await?;
            if !refs.is_empty() && !calls::try_add_ref(tx, &id, &refs[0]).await? {
                // Only a reused id can be owned elsewhere here: keep the owner.
                clash = refs.first().cloned();
            }
            let agent = fields.agent.clone();
            if let Some(change) =
                calls::advance_status(tx, &id, status, None, fields.status_detail.clone()).await?
            {
                let event = Prepared::new(status_event(change))?;
                events::append(tx, &id, agent.as_deref(), &event).await?;
            }
            id
        }
        None => {
            let id = calls::insert_call(tx, fields.clone(), &refs).await?;
            announce_new(tx, &id, &fields, status, fields.status_detail.as_deref()).await?;
            id
        }
    };
    if let Some(vendor_ref) = &clash {
        calls::supersede(tx, vendor_ref, &id).await?;
        metrics::counter!("switchboard_vendor_id_reused_total", "kind" => vendor_ref.kind.to_string()).increment(1);
        warn!(kind = %vendor_ref.kind, value = %vendor_ref.value, call_id = %id, "the vendor gave a new dial an id another call holds; that call is left as it is and later callbacks with this id go to the new dial");
    }
    idempotency::complete(tx, key, &id).await?;
    Ok(Outcome::Accepted { id, status })
}

/// Records one FocalScope callback (see `Dialer::record_focalscope_callback`).
async fn record_callback(
    tx: &mut WriteTx,
    callback: &Callback,
    event: &Prepared,
) -> StoreResult<Recorded> {
    let request_ref = VendorRef::new(
        RefKind::FocalscopeRequestId,
        callback.request_id.to_string(),
    );
    let (id, agent, status) = match calls::dial_of_request(tx, &request_ref).await? {
        Some(found) => found,
        None => {
            // The first callback of a dial not recorded yet — unless this is
            // a re-delivery whose call was since renamed.
            if let Some(key) = event.dedupe_key()
                && events::delivered_to(tx, key).await?.is_some()
            {
                return Ok(Recorded::Duplicate);
            }
            let fields = CallUpsert::new(
                Direction::Outbound,
                Provider::FocalScope,
                CallStatus::Unknown,
                Utc::now(),
            );
            let id = calls::insert_call(tx, fields, std::slice::from_ref(&request_ref)).await?;
            info!(request_id = callback.request_id, call_id = %id, "focalscope callback arrived before its dial was recorded; kept");
            (id, None, CallStatus::Unknown)
        }
    };
    let recorded = events::append(tx, &id, agent.as_deref(), event).await?;
    if recorded == Recorded::Duplicate {
        return Ok(recorded);
    }
    let mut leg_refs = vec![VendorRef::new(
        RefKind::FocalscopeCallId,
        callback.call_id.clone(),
    )];
    if let Some(uuid) = &callback.call_uuid {
        leg_refs.push(VendorRef::new(RefKind::CallUuid, uuid.clone()));
    }
    for vendor_ref in &leg_refs {
        if !calls::try_add_ref(tx, &id, vendor_ref).await? {
            warn!(kind = %vendor_ref.kind, value = %vendor_ref.value, call_id = %id, "focalscope id already belongs to another call; not attached");
        }
    }
    calls::upsert_leg(
        tx,
        &id,
        &LegEvent {
            kind: callback.leg,
            focalscope_call_id: Some(&callback.call_id),
            call_uuid: callback.call_uuid.as_deref(),
            event: callback.event,
            event_code: callback.event_code,
            recorded: callback.recorded,
            at: Utc::now(),
        },
    )
    .await?;
    // Every leg event seen so far decides the status, whatever their
    // arrival order; the status only moves forward.
    let seen: Vec<_> = events::updates_of(tx.conn(), &id, "dial_event")
        .await?
        .into_iter()
        .filter_map(|update| match update {
            Update::DialEvent(event) => Some((event.leg, event.event)),
            _ => None,
        })
        .collect();
    let (next, reason) = dial_status(&seen);
    if let Some(change) = calls::advance_status_from(tx, &id, status, next, reason, None).await? {
        let change = Prepared::new(status_event(change))?;
        events::append(tx, &id, agent.as_deref(), &change).await?;
    }
    Ok(recorded)
}

/// A new call's first update: its status.
async fn announce_new(
    tx: &mut WriteTx,
    id: &CallId,
    fields: &CallUpsert,
    status: CallStatus,
    detail: Option<&str>,
) -> StoreResult<()> {
    let change = StatusChanged {
        previous: None,
        status,
        failure_reason: None,
        detail: detail.map(str::to_owned),
    };
    let event = Prepared::new(status_event(change))?;
    events::append(tx, id, fields.agent.as_deref(), &event).await?;
    Ok(())
}

fn status_event(change: StatusChanged) -> NewEvent {
    NewEvent {
        update: Update::StatusChanged(change),
        occurred_at: Utc::now(),
        dedupe_key: None,
    }
}

/// Rebuilds a refusal recorded for a request_id.
fn replayed_refusal(vendor: Provider, code: &str, message: String) -> Error {
    let (kind, field) = code
        .split_once(':')
        .map_or((code, None), |(k, f)| (k, Some(f)));
    let kind = VendorErrorKind::from_stored(kind).unwrap_or(VendorErrorKind::Refused);
    let error = VendorError::new(vendor, kind, message);
    Error::Vendor(match field {
        Some(field) => error.with_field(field),
        None => error,
    })
}

/// Our status for a CCAI call status (the mapping lives with the CCAI
/// adapter).
pub fn ccai_status(status: Option<&str>) -> CallStatus {
    ccai::call_status(status)
}

/// Failure reason of a CCAI status.
pub fn ccai_failure(status: CallStatus) -> Option<FailureReason> {
    (status == CallStatus::Failed).then_some(FailureReason::VendorFailed)
}
