//! TenantService: an admin's view of the tenant's settings and their audit.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::optional_id;
use super::paging::{decode_time_cursor, encode_time_cursor, finish_page, page_size};
use super::status::invalid;
use super::timestamp;
use crate::audio::mask::MaskSound;
use crate::auth::{Action, Principal};
use crate::proto::tenant_service_server::TenantService;
use crate::proto::{self as pb};
use crate::store::{
    AudioRedactionPolicy, RetentionPolicy, ReviewSamplingPolicy, SettingsSection, Store,
    TenantAction, TenantEvent, TenantSettings,
};

/// Ten years: longer is a mistake, not a policy.
const MAX_RETENTION_DAYS: u32 = 3650;

/// The TenantService.
#[derive(Clone)]
pub struct TenantApi {
    store: Arc<dyn Store>,
    /// Whether the operator configured a key to seal kept originals.
    can_seal: bool,
}

impl TenantApi {
    /// Serves settings from `store`; `can_seal` when originals can be kept.
    pub fn new(store: Arc<dyn Store>, can_seal: bool) -> Self {
        Self { store, can_seal }
    }
}

fn etag(version: i64) -> String {
    format!("v{version}")
}

fn version_of(etag: &str) -> Result<Option<i64>, Status> {
    if etag.is_empty() {
        return Ok(None);
    }
    etag.strip_prefix('v')
        .and_then(|number| number.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            invalid(
                "settings.etag",
                "pass back an etag unchanged, or leave it empty",
            )
        })
}

fn settings_to_wire(settings: &TenantSettings) -> pb::TenantSettings {
    pb::TenantSettings {
        retention: Some(pb::RetentionPolicy {
            audio_days: settings.retention.audio_days,
            transcript_days: settings.retention.transcript_days,
        }),
        audio_redaction: Some(pb::AudioRedactionPolicy {
            sound: match settings.audio_redaction.sound {
                MaskSound::Silence => pb::MaskSound::Silence,
                MaskSound::Tone => pb::MaskSound::Tone,
            } as i32,
            keep_original: settings.audio_redaction.keep_original,
        }),
        review_sampling: Some(pb::ReviewSamplingPolicy {
            random_percent: settings.review_sampling.random_percent,
            critical_failures: settings.review_sampling.critical_failures,
            low_confidence_below: settings.review_sampling.low_confidence_below,
            lowest_per_team: settings.review_sampling.lowest_per_team,
            round_robin: settings.review_sampling.round_robin.clone(),
        }),
        etag: etag(settings.version),
        updated_at: settings.updated_at_ms.map(timestamp),
        updated_by: settings.updated_by.clone(),
    }
}

fn event_to_wire(event: &TenantEvent) -> pb::TenantEvent {
    let action = match event.action {
        TenantAction::SettingsChanged => pb::TenantEventAction::SettingsChanged,
        TenantAction::AudioPurged => pb::TenantEventAction::AudioPurged,
        TenantAction::TranscriptPurged => pb::TenantEventAction::TranscriptPurged,
    };
    pb::TenantEvent {
        event_id: event.event_id.clone(),
        action: action as i32,
        actor: event.actor.clone(),
        call_id: event.call_id.clone(),
        detail: event.detail.clone(),
        at: Some(timestamp(event.at_ms)),
    }
}

fn days(field: &str, value: u32) -> Result<u32, Status> {
    if value > MAX_RETENTION_DAYS {
        return Err(invalid(
            field,
            format!("at most {MAX_RETENTION_DAYS} days (0 keeps the data)"),
        ));
    }
    Ok(value)
}

/// The retention policy after applying the masked fields of `wanted`.
fn updated_retention(
    current: RetentionPolicy,
    wanted: Option<&pb::RetentionPolicy>,
    paths: &[String],
) -> Result<Option<RetentionPolicy>, Status> {
    let wanted = wanted.copied().unwrap_or_default();
    let mut policy = current;
    let mut touched = false;
    for path in paths {
        match path.as_str() {
            "retention" => {
                policy.audio_days = days("settings.retention.audio_days", wanted.audio_days)?;
                policy.transcript_days =
                    days("settings.retention.transcript_days", wanted.transcript_days)?;
            }
            "retention.audio_days" => {
                policy.audio_days = days("settings.retention.audio_days", wanted.audio_days)?;
            }
            "retention.transcript_days" => {
                policy.transcript_days =
                    days("settings.retention.transcript_days", wanted.transcript_days)?;
            }
            _ => continue,
        }
        touched = true;
    }
    Ok(touched.then_some(policy))
}

/// The audio redaction policy after applying the masked fields of `wanted`.
/// Keeping originals needs the operator's sealing key.
fn updated_audio_redaction(
    current: AudioRedactionPolicy,
    wanted: Option<&pb::AudioRedactionPolicy>,
    paths: &[String],
    can_seal: bool,
) -> Result<Option<AudioRedactionPolicy>, Status> {
    let wanted = wanted.copied().unwrap_or_default();
    let named = |field: &str| {
        paths
            .iter()
            .any(|p| p == "audio_redaction" || *p == format!("audio_redaction.{field}"))
    };
    if !named("sound") && !named("keep_original") {
        return Ok(None);
    }
    let mut policy = current;
    if named("sound") {
        policy.sound = match pb::MaskSound::try_from(wanted.sound) {
            Ok(pb::MaskSound::Unspecified | pb::MaskSound::Silence) => MaskSound::Silence,
            Ok(pb::MaskSound::Tone) => MaskSound::Tone,
            Err(_) => {
                return Err(invalid(
                    "settings.audio_redaction.sound",
                    format!(
                        "unknown value {}; use MASK_SOUND_SILENCE or MASK_SOUND_TONE",
                        wanted.sound
                    ),
                ));
            }
        };
    }
    if named("keep_original") {
        if wanted.keep_original && !can_seal {
            return Err(Status::failed_precondition(
                "settings.audio_redaction.keep_original: the operator has not configured \
                 audio_encryption_key_file, so originals cannot be kept encrypted",
            ));
        }
        policy.keep_original = wanted.keep_original;
    }
    Ok(Some(policy))
}

/// The sampling rules after applying the masked fields of `wanted`.
fn updated_review_sampling(
    current: ReviewSamplingPolicy,
    wanted: Option<&pb::ReviewSamplingPolicy>,
    paths: &[String],
) -> Result<Option<ReviewSamplingPolicy>, Status> {
    let wanted = wanted.cloned().unwrap_or_default();
    let named = |field: &str| {
        paths
            .iter()
            .any(|p| p == "review_sampling" || *p == format!("review_sampling.{field}"))
    };
    let mut policy = current;
    let mut touched = false;
    if named("random_percent") {
        if wanted.random_percent > 100 {
            return Err(invalid(
                "settings.review_sampling.random_percent",
                "must be from 0 to 100",
            ));
        }
        policy.random_percent = wanted.random_percent;
        touched = true;
    }
    if named("critical_failures") {
        policy.critical_failures = wanted.critical_failures;
        touched = true;
    }
    if named("low_confidence_below") {
        if !(0.0..=1.0).contains(&wanted.low_confidence_below) {
            return Err(invalid(
                "settings.review_sampling.low_confidence_below",
                "must be from 0 to 1 (0: off)",
            ));
        }
        policy.low_confidence_below = wanted.low_confidence_below;
        touched = true;
    }
    if named("lowest_per_team") {
        if wanted.lowest_per_team > 100 {
            return Err(invalid(
                "settings.review_sampling.lowest_per_team",
                "must be from 0 to 100",
            ));
        }
        policy.lowest_per_team = wanted.lowest_per_team;
        touched = true;
    }
    if named("round_robin") {
        if wanted.round_robin.len() > 100 {
            return Err(invalid(
                "settings.review_sampling.round_robin",
                "at most 100 reviewers",
            ));
        }
        for reviewer in &wanted.round_robin {
            optional_id("settings.review_sampling.round_robin", reviewer)?;
            if reviewer.is_empty() {
                return Err(invalid(
                    "settings.review_sampling.round_robin",
                    "a reviewer's key id is empty",
                ));
            }
        }
        policy.round_robin = wanted.round_robin.clone();
        touched = true;
    }
    Ok(touched.then_some(policy))
}

const KNOWN_PATHS: [&str; 12] = [
    "retention",
    "retention.audio_days",
    "retention.transcript_days",
    "audio_redaction",
    "audio_redaction.sound",
    "audio_redaction.keep_original",
    "review_sampling",
    "review_sampling.random_percent",
    "review_sampling.critical_failures",
    "review_sampling.low_confidence_below",
    "review_sampling.lowest_per_team",
    "review_sampling.round_robin",
];

#[tonic::async_trait]
impl TenantService for TenantApi {
    async fn get_tenant_settings(
        &self,
        request: Request<pb::GetTenantSettingsRequest>,
    ) -> Result<Response<pb::GetTenantSettingsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageTenant)?;
        let settings = self.store.tenant_settings(&principal.tenant_id).await?;
        Ok(Response::new(pb::GetTenantSettingsResponse {
            settings: Some(settings_to_wire(&settings)),
        }))
    }

    async fn update_tenant_settings(
        &self,
        request: Request<pb::UpdateTenantSettingsRequest>,
    ) -> Result<Response<pb::UpdateTenantSettingsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageTenant)?;
        let message = request.get_ref();
        let paths = message
            .update_mask
            .as_ref()
            .map(|mask| mask.paths.clone())
            .unwrap_or_default();
        if paths.is_empty() {
            return Err(invalid(
                "update_mask",
                format!("name the fields to write: {}", KNOWN_PATHS.join(", ")),
            ));
        }
        if let Some(unknown) = paths.iter().find(|p| !KNOWN_PATHS.contains(&p.as_str())) {
            return Err(invalid(
                "update_mask",
                format!(
                    "unknown path {}; known: {}",
                    super::status::shown(unknown),
                    KNOWN_PATHS.join(", ")
                ),
            ));
        }
        let wanted = message.settings.clone().unwrap_or_default();
        let expected = version_of(&wanted.etag)?;
        let current = self.store.tenant_settings(&principal.tenant_id).await?;
        let mut sections = Vec::new();
        if let Some(policy) =
            updated_retention(current.retention, wanted.retention.as_ref(), &paths)?
        {
            sections.push(SettingsSection::Retention(policy));
        }
        if let Some(policy) = updated_audio_redaction(
            current.audio_redaction,
            wanted.audio_redaction.as_ref(),
            &paths,
            self.can_seal,
        )? {
            sections.push(SettingsSection::AudioRedaction(policy));
        }
        if let Some(policy) = updated_review_sampling(
            current.review_sampling,
            wanted.review_sampling.as_ref(),
            &paths,
        )? {
            sections.push(SettingsSection::ReviewSampling(policy));
        }
        let settings = self
            .store
            .update_tenant_settings(&principal.tenant_id, &sections, expected, &principal.key_id)
            .await?;
        tracing::info!(actor = %principal.key_id, paths = ?paths, "tenant settings updated");
        Ok(Response::new(pb::UpdateTenantSettingsResponse {
            settings: Some(settings_to_wire(&settings)),
        }))
    }

    async fn list_tenant_events(
        &self,
        request: Request<pb::ListTenantEventsRequest>,
    ) -> Result<Response<pb::ListTenantEventsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageTenant)?;
        let message = request.get_ref();
        let limit = page_size(message.page_size)?;
        let after = decode_time_cursor(&message.page_token)?;
        let mut events = self
            .store
            .list_tenant_events(&principal.tenant_id, after, limit + 1)
            .await?;
        let next_page_token = finish_page(&mut events, limit, |event| {
            encode_time_cursor(event.at_ms, &event.event_id)
        });
        Ok(Response::new(pb::ListTenantEventsResponse {
            events: events.iter().map(event_to_wire).collect(),
            next_page_token,
        }))
    }
}
