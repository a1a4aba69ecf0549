//! OutboundDialService: validate → DialRequest → Dialer (idempotent) → proto.

use chrono::Utc;
use tonic::{Request, Response, Status, codegen::BoxStream};

use crate::{
    domain::{
        AgentName, EmailAddress, FieldViolation, Language, OutboundPrefix, PhoneNumber, RequestId,
        Violations,
    },
    pb::{
        self,
        outbound_dial::{
            end_user, parse_menu_id, recording_chunk, recording_leg, recording_permission,
            response_call,
        },
        v1::{self as proto, outbound_dial_service_server::OutboundDialService},
    },
    services::dials::{DialRequest, Dialer},
    vendors::focalscope::Recording,
};

pub struct OutboundDialApi {
    dialer: Dialer,
}

impl OutboundDialApi {
    pub fn new(dialer: Dialer) -> Self {
        Self { dialer }
    }
}

/// Largest piece of a recording per message: small enough to keep each
/// message far below clients' 4 MiB default, large enough to cost little
/// framing.
const MAX_RECORDING_CHUNK: usize = 64 * 1024;

/// The recording's bytes as messages, read from the PBX only as the client
/// takes them: the stream is polled by tonic when the client's HTTP/2 window
/// has room, and each poll reads at most one chunk from the PBX, so a client
/// that stops reading stops the download (TCP backpressure reaches the PBX)
/// and memory stays at one chunk plus the transport's buffers whatever the
/// recording's size. No task or channel in between: nothing reads ahead.
fn recording_messages(recording: Recording) -> BoxStream<proto::GetCallRecordingResponse> {
    struct State {
        body: crate::vendors::Download,
        head: Option<(Option<String>, Option<u64>)>,
        rest: prost::bytes::Bytes,
        done: bool,
    }
    let state = State {
        head: Some((recording.content_type, recording.content_length)),
        body: recording.body,
        rest: prost::bytes::Bytes::new(),
        done: false,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        while state.rest.is_empty() {
            match state.body.chunk().await {
                Ok(Some(chunk)) => state.rest = chunk,
                Ok(None) => {
                    state.done = true;
                    // An empty recording still says what it is.
                    let head = state.head.take()?;
                    return Some((Ok(recording_chunk(Some(head), Vec::new())), state));
                }
                Err(error) => {
                    state.done = true;
                    tracing::warn!(error = %error, "focalscope recording download failed midway");
                    return Some((Err(Status::from(error)), state));
                }
            }
        }
        let take = state.rest.len().min(MAX_RECORDING_CHUNK);
        let data = state.rest.split_to(take).to_vec();
        let message = recording_chunk(state.head.take(), data);
        Some((Ok(message), state))
    }))
}

#[tonic::async_trait]
impl OutboundDialService for OutboundDialApi {
    type GetCallRecordingStream = BoxStream<proto::GetCallRecordingResponse>;

    async fn get_call_recording(
        &self,
        request: Request<proto::GetCallRecordingRequest>,
    ) -> Result<Response<Self::GetCallRecordingStream>, Status> {
        let proto::GetCallRecordingRequest { call, leg } = request.into_inner();
        let mut violations = Violations::new();
        let lookup = violations.check(pb::call_lookup("call", call.as_ref()));
        let leg = violations.check(recording_leg("leg", leg));
        let (lookup, leg) = violations.finish(crate::all_some!(lookup, leg))?;
        let recording = self.dialer.call_recording(&lookup, leg).await?;
        Ok(Response::new(recording_messages(recording)))
    }

    async fn dial(
        &self,
        request: Request<proto::DialRequest>,
    ) -> Result<Response<proto::DialResponse>, Status> {
        let proto::DialRequest {
            provider,
            agent,
            destination_number,
            outbound_number,
            ticket_id,
            language,
            request_id,
            outbound_prefix,
        } = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse("request_id", &request_id));
        let dial = match proto::Provider::try_from(provider) {
            Ok(proto::Provider::Focalscope) => {
                for (field, value) in [
                    ("outbound_number", &outbound_number),
                    ("ticket_id", &ticket_id),
                    ("language", &language),
                ] {
                    if !value.trim().is_empty() {
                        violations.push(FieldViolation::new(
                            field,
                            "is only used with PROVIDER_CCAI",
                        ));
                    }
                }
                let agent = violations.check(AgentName::parse("agent", &agent));
                let number = violations.check(PhoneNumber::parse(
                    "destination_number",
                    &destination_number,
                ));
                let prefix = violations.check(OutboundPrefix::parse_optional(
                    "outbound_prefix",
                    &outbound_prefix,
                ));
                crate::all_some!(agent, number, prefix).map(|(agent, number, prefix)| {
                    DialRequest::FocalScope {
                        agent,
                        number,
                        prefix,
                    }
                })
            }
            Ok(proto::Provider::Ccai) => {
                if !outbound_prefix.trim().is_empty() {
                    violations.push(FieldViolation::new(
                        "outbound_prefix",
                        "is only used with PROVIDER_FOCALSCOPE",
                    ));
                }
                let agent = violations.check(EmailAddress::parse("agent", &agent));
                let end_user = end_user(
                    &mut violations,
                    "destination_number",
                    &destination_number,
                    &ticket_id,
                );
                let outbound_number = violations.check(PhoneNumber::parse_optional(
                    "outbound_number",
                    &outbound_number,
                ));
                let language = violations.check(Language::parse_optional("language", &language));
                crate::all_some!(agent, end_user, outbound_number, language).map(
                    |(agent, end_user, outbound_number, language)| DialRequest::CcaiOutbound {
                        agent,
                        end_user,
                        outbound_number,
                        language,
                    },
                )
            }
            Ok(proto::Provider::Unspecified) => {
                violations.push(FieldViolation::new(
                    "provider",
                    "is required: PROVIDER_FOCALSCOPE or PROVIDER_CCAI",
                ));
                None
            }
            Ok(proto::Provider::Optico) | Err(_) => {
                violations.push(FieldViolation::new(
                    "provider",
                    "must be PROVIDER_FOCALSCOPE or PROVIDER_CCAI (Optico does not dial)",
                ));
                None
            }
        };
        let (request_id, dial) = violations.finish(crate::all_some!(request_id, dial))?;
        let call = self.dialer.execute("Dial", &request_id, dial).await?;
        Ok(Response::new(proto::DialResponse {
            call: response_call(&call),
        }))
    }

    async fn create_inbound_call(
        &self,
        request: Request<proto::CreateInboundCallRequest>,
    ) -> Result<Response<proto::CreateInboundCallResponse>, Status> {
        let proto::CreateInboundCallRequest {
            menu_id,
            end_user_number,
            ticket_id,
            language,
            recording_permission: recording,
            outbound_number,
            request_id,
        } = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse("request_id", &request_id));
        let menu = parse_menu_id(&mut violations, menu_id, true).flatten();
        let end_user = end_user(
            &mut violations,
            "end_user_number",
            &end_user_number,
            &ticket_id,
        );
        let language = violations.check(Language::parse_optional("language", &language));
        let recording = recording_permission(&mut violations, recording);
        let outbound_number = violations.check(PhoneNumber::parse_optional(
            "outbound_number",
            &outbound_number,
        ));
        let (request_id, menu_id, end_user, language, recording, outbound_number) = violations
            .finish(crate::all_some!(
                request_id,
                menu,
                end_user,
                language,
                recording,
                outbound_number
            ))?;
        let call = self
            .dialer
            .execute(
                "CreateInboundCall",
                &request_id,
                DialRequest::CcaiInbound {
                    menu_id,
                    end_user,
                    outbound_number,
                    language,
                    recording,
                },
            )
            .await?;
        Ok(Response::new(proto::CreateInboundCallResponse {
            call: response_call(&call),
        }))
    }

    async fn schedule_call(
        &self,
        request: Request<proto::ScheduleCallRequest>,
    ) -> Result<Response<proto::ScheduleCallResponse>, Status> {
        let proto::ScheduleCallRequest {
            menu_id: menu,
            end_user_number,
            ticket_id,
            language,
            recording_permission: recording,
            scheduled_at,
            parent_call,
            request_id,
        } = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse("request_id", &request_id));
        let parent_lookup = match &parent_call {
            Some(reference) => violations
                .check(pb::call_lookup("parent_call", Some(reference)))
                .map(Some),
            None => Some(None),
        };
        let menu = parse_menu_id(&mut violations, menu, parent_call.is_none());
        let end_user = end_user(
            &mut violations,
            "end_user_number",
            &end_user_number,
            &ticket_id,
        );
        let language = violations.check(Language::parse_optional("language", &language));
        let recording = recording_permission(&mut violations, recording);
        let scheduled_at = violations.check(pb::required_timestamp(
            "scheduled_at",
            scheduled_at.as_ref(),
        ));
        if let Some(at) = scheduled_at
            && at <= Utc::now()
        {
            violations.push(FieldViolation::new(
                "scheduled_at",
                format!("must be in the future, got {}", at.to_rfc3339()),
            ));
        }
        let (request_id, parent_lookup, menu_id, end_user, language, recording, scheduled_at) =
            violations.finish(crate::all_some!(
                request_id,
                parent_lookup,
                menu,
                end_user,
                language,
                recording,
                scheduled_at
            ))?;
        // The parent must be a CCAI call: one switchboard knows, or a
        // ccai_call_id CCAI answers for (checked, then recorded).
        let parent = match &parent_lookup {
            Some(lookup) => Some(self.dialer.ccai_parent(lookup).await?),
            None => None,
        };
        let call = self
            .dialer
            .execute(
                "ScheduleCall",
                &request_id,
                DialRequest::CcaiScheduled {
                    menu_id,
                    parent,
                    end_user,
                    language,
                    recording,
                    scheduled_at,
                },
            )
            .await?;
        Ok(Response::new(proto::ScheduleCallResponse {
            call: response_call(&call),
        }))
    }
}
