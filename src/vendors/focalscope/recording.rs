//! FocalScope call recordings. The Call API "supports initiating a call and
//! downloading of call recording via HTTP requests" but documents no URL
//! for the download, as it documents none for the dial: like the dial, it
//! is a URL template, `vendors.focalscope.recording_url`, with `{call_id}`
//! (the leg's CallID) and `{call_uuid}` (its CallUUID, the callbacks'
//! `Guid`), requested with GET. The answer's body is the recording, passed
//! on as it arrives.

use async_trait::async_trait;
use reqwest::{StatusCode, header::HeaderMap};

use super::encode;
use crate::{
    domain::Provider,
    vendors::{Download, Pipeline, VendorError, VendorErrorKind},
};

/// The leg whose recording is asked for, by its FocalScope ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedLeg {
    pub call_id: String,
    pub call_uuid: Option<String>,
}

/// A recording being downloaded: what the PBX said of it, then its bytes.
pub struct Recording {
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub body: Download,
}

/// What switchboard needs from FocalScope for recordings.
#[async_trait]
pub trait FocalScopeRecordings: Send + Sync {
    /// Starts the download of `leg`'s recording: returns once the PBX has
    /// answered with its headers.
    async fn recording(&self, leg: &RecordedLeg) -> Result<Recording, VendorError>;
}

pub struct FocalScopeRecordingClient {
    http: Pipeline,
    /// Validated at start-up to hold a placeholder and to be an http(s)
    /// URL (see `Settings::validate`).
    recording_url: String,
}

impl FocalScopeRecordingClient {
    pub fn new(recording_url: String, http: Pipeline) -> Self {
        Self {
            http,
            recording_url,
        }
    }

    /// The recording URL of `leg`, each id URL-encoded; `None` when the
    /// template needs the leg's CallUUID and FocalScope never sent one.
    pub fn recording_url(&self, leg: &RecordedLeg) -> Option<String> {
        let url = self
            .recording_url
            .replace("{call_id}", &encode(&leg.call_id));
        if url.contains("{call_uuid}") {
            let uuid = leg.call_uuid.as_deref()?;
            return Some(url.replace("{call_uuid}", &encode(uuid)));
        }
        Some(url)
    }
}

#[async_trait]
impl FocalScopeRecordings for FocalScopeRecordingClient {
    async fn recording(&self, leg: &RecordedLeg) -> Result<Recording, VendorError> {
        let url = self.recording_url(leg).ok_or_else(|| {
            VendorError::new(
                Provider::FocalScope,
                VendorErrorKind::NotFound,
                format!(
                    "leg {} has no CallUUID (its callbacks carried no Guid), which vendors.focalscope.recording_url needs",
                    leg.call_id
                ),
            )
        })?;
        let (head, body) = self
            .http
            .download("recording", self.http.get(url), read_head)
            .await?;
        Ok(Recording {
            content_type: head.content_type,
            content_length: head.content_length,
            body,
        })
    }
}

/// What the PBX's answer headers say of the recording.
struct Head {
    content_type: Option<String>,
    content_length: Option<u64>,
}

fn read_head(status: StatusCode, headers: &HeaderMap) -> Result<Head, VendorError> {
    let vendor = Provider::FocalScope;
    match status.as_u16() {
        200 => Ok(Head {
            content_type: headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.len() <= 200)
                .map(str::to_owned),
            content_length: headers
                .get(reqwest::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()),
        }),
        404 | 410 => Err(VendorError::new(
            vendor,
            VendorErrorKind::NotFound,
            format!(
                "focalscope has no such recording (HTTP {})",
                status.as_u16()
            ),
        )),
        401 | 403 => Err(VendorError::new(
            vendor,
            VendorErrorKind::Misconfigured,
            format!(
                "focalscope answered HTTP {}: check vendors.focalscope.recording_url",
                status.as_u16()
            ),
        )),
        500..=599 => Err(VendorError::unavailable(
            vendor,
            format!("focalscope answered HTTP {}", status.as_u16()),
        )),
        other => Err(VendorError::new(
            vendor,
            VendorErrorKind::BadResponse,
            format!("focalscope answered HTTP {other} to a recording download (200 expected)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(template: &str) -> FocalScopeRecordingClient {
        FocalScopeRecordingClient::new(
            template.into(),
            Pipeline::new(
                &crate::vendors::http_client().unwrap(),
                crate::vendors::PipelineSettings::plain(
                    Provider::FocalScope,
                    std::time::Duration::from_secs(1),
                ),
            ),
        )
    }

    #[test]
    fn substitutes_the_leg_ids_url_encoded() {
        let leg = RecordedLeg {
            call_id: "1000000087850".into(),
            call_uuid: Some("923041af-adb5".into()),
        };
        assert_eq!(
            client("http://pbx/rec/{call_id}?g={call_uuid}").recording_url(&leg),
            Some("http://pbx/rec/1000000087850?g=923041af-adb5".into())
        );
        let no_uuid = RecordedLeg {
            call_uuid: None,
            ..leg.clone()
        };
        assert_eq!(
            client("http://pbx/{call_uuid}").recording_url(&no_uuid),
            None
        );
        assert_eq!(
            client("http://pbx/{call_id}").recording_url(&no_uuid),
            Some("http://pbx/1000000087850".into())
        );
    }

    #[test]
    fn reads_the_answer_status() {
        let headers = HeaderMap::new();
        assert!(read_head(StatusCode::OK, &headers).is_ok());
        for (status, kind) in [
            (404, VendorErrorKind::NotFound),
            (403, VendorErrorKind::Misconfigured),
            (503, VendorErrorKind::Unavailable),
            (302, VendorErrorKind::BadResponse),
        ] {
            let error = read_head(StatusCode::from_u16(status).unwrap(), &headers)
                .err()
                .unwrap();
            assert_eq!(error.kind, kind, "{status}");
        }
    }
}
