//! Domain ↔ protobuf conversions. Incoming messages are validated here, at
//! the edge, so handlers receive domain values only.

use std::collections::HashMap;

use tonic::Status;

use super::status::{invalid, shown, text};
use super::timestamp;
use crate::proto as pb;
use crate::scoring::{ConversationMetrics, Outcome, Scorecard};
use crate::store::{
    AuditAction, AuditEvent, CallRecord, CallStatus, CoachingNote, ScorecardRecord, Stage,
};
use crate::transcript::{MAX_MS, Segment, Speaker, Transcript, Word, is_language_code};

/// Longest accepted id or key from a client.
const MAX_ID_LEN: usize = 128;
/// Most segments accepted in a submitted transcript.
const MAX_SEGMENTS: usize = 20_000;

/// Epoch milliseconds of a protobuf timestamp.
pub fn epoch_ms(field: &str, value: &prost_types::Timestamp) -> Result<i64, Status> {
    if !(0..1_000_000_000).contains(&value.nanos) {
        return Err(invalid(field, "nanos out of range"));
    }
    value
        .seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(value.nanos / 1_000_000)))
        .ok_or_else(|| invalid(field, "out of range"))
}

/// A bounded, optional id: empty stays empty.
pub fn optional_id(field: &str, value: &str) -> Result<String, Status> {
    let value = value.trim();
    if value.len() > MAX_ID_LEN {
        return Err(invalid(field, format!("longer than {MAX_ID_LEN} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "contains a control character"));
    }
    Ok(value.to_string())
}

/// A bounded, required id.
pub fn required_id(field: &str, value: &str) -> Result<String, Status> {
    let value = optional_id(field, value)?;
    if value.is_empty() {
        return Err(invalid(field, "is required"));
    }
    Ok(value)
}

/// A `[start, end)` range of epoch ms from an optional TimeRange.
pub fn time_window(
    field: &str,
    range: Option<&pb::TimeRange>,
) -> Result<(Option<i64>, Option<i64>), Status> {
    let Some(range) = range else {
        return Ok((None, None));
    };
    let start = range
        .start
        .as_ref()
        .map(|t| epoch_ms(&format!("{field}.start"), t))
        .transpose()?;
    let end = range
        .end
        .as_ref()
        .map(|t| epoch_ms(&format!("{field}.end"), t))
        .transpose()?;
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        return Err(invalid(field, "end is before start"));
    }
    Ok((start, end))
}

/// The stored language-hint name.
pub fn language_hint_name(hint: i32) -> Result<&'static str, Status> {
    match pb::LanguageHint::try_from(hint) {
        Ok(pb::LanguageHint::Unspecified | pb::LanguageHint::Auto) => Ok("auto"),
        Ok(pb::LanguageHint::En) => Ok("en"),
        Ok(pb::LanguageHint::Id) => Ok("id"),
        Err(_) => Err(invalid(
            "metadata.language_hint",
            format!("unknown value {hint}"),
        )),
    }
}

/// The stored channel-layout name.
pub fn channel_layout_name(layout: i32) -> Result<&'static str, Status> {
    match pb::ChannelLayout::try_from(layout) {
        Ok(pb::ChannelLayout::Unspecified | pb::ChannelLayout::Mono) => Ok("mono"),
        Ok(pb::ChannelLayout::StereoAgentLeft) => Ok("agent_left"),
        Ok(pb::ChannelLayout::StereoAgentRight) => Ok("agent_right"),
        Err(_) => Err(invalid(
            "metadata.channel_layout",
            format!("unknown value {layout}"),
        )),
    }
}

fn language_hint_value(name: &str) -> pb::LanguageHint {
    match name {
        "en" => pb::LanguageHint::En,
        "id" => pb::LanguageHint::Id,
        _ => pb::LanguageHint::Auto,
    }
}

fn channel_layout_value(name: &str) -> pb::ChannelLayout {
    match name {
        "agent_left" => pb::ChannelLayout::StereoAgentLeft,
        "agent_right" => pb::ChannelLayout::StereoAgentRight,
        _ => pb::ChannelLayout::Mono,
    }
}

/// The wire status of a stored call status.
pub fn call_status(status: CallStatus) -> pb::CallStatus {
    match status {
        CallStatus::Queued => pb::CallStatus::Queued,
        CallStatus::Processing => pb::CallStatus::Processing,
        CallStatus::Scored => pb::CallStatus::Scored,
        CallStatus::Failed => pb::CallStatus::Failed,
    }
}

/// A wire call status filter; `Unspecified` is no filter.
pub fn call_status_filter(value: i32) -> Result<Option<CallStatus>, Status> {
    match pb::CallStatus::try_from(value) {
        Ok(pb::CallStatus::Unspecified) => Ok(None),
        Ok(pb::CallStatus::Queued) => Ok(Some(CallStatus::Queued)),
        Ok(pb::CallStatus::Processing) => Ok(Some(CallStatus::Processing)),
        Ok(pb::CallStatus::Scored) => Ok(Some(CallStatus::Scored)),
        Ok(pb::CallStatus::Failed) => Ok(Some(CallStatus::Failed)),
        Err(_) => Err(invalid("status", format!("unknown value {value}"))),
    }
}

/// The wire stage of a stored stage.
pub fn call_stage(stage: Stage) -> pb::CallStage {
    match stage {
        Stage::Queued => pb::CallStage::Queued,
        Stage::Decoding => pb::CallStage::Decoding,
        Stage::Transcribing => pb::CallStage::Transcribing,
        Stage::Scoring => pb::CallStage::Scoring,
        Stage::Done => pb::CallStage::Done,
        Stage::Failed => pb::CallStage::Failed,
    }
}

/// A stored call on the wire.
pub fn call(record: &CallRecord) -> pb::Call {
    let call = &record.call;
    pb::Call {
        call_id: call.call_id.clone(),
        metadata: Some(pb::CallMetadata {
            external_call_id: call.external_call_id.clone(),
            agent_id: call.agent_id.clone(),
            team_id: call.team_id.clone(),
            queue: call.queue.clone(),
            call_started_at: Some(timestamp(call.call_started_at_ms)),
            language_hint: language_hint_value(&call.language_hint) as i32,
            channel_layout: channel_layout_value(&call.channel_layout) as i32,
            rubric_id: call.rubric_id.clone(),
            idempotency_key: call.idempotency_key.clone().unwrap_or_default(),
            // Declared at upload only; `audio_bytes` below is what arrived.
            audio_duration_ms: 0,
            audio_size_bytes: 0,
        }),
        status: call_status(record.status) as i32,
        failure_reason: record.failure_reason.clone(),
        attempts: u32::try_from(record.attempts).unwrap_or(0),
        audio_bytes: u64::try_from(call.audio_bytes).unwrap_or(0),
        created_at: Some(timestamp(record.created_at_ms)),
        updated_at: Some(timestamp(record.updated_at_ms)),
        latest_scorecard_id: record.latest_scorecard_id.clone().unwrap_or_default(),
        audio_purged_at: record.audio_purged_at_ms.map(timestamp),
        transcript_purged_at: record.transcript_purged_at_ms.map(timestamp),
        audio_redacted_at: record.audio_redacted_at_ms.map(timestamp),
    }
}

fn speaker(speaker: Speaker) -> pb::Speaker {
    match speaker {
        Speaker::Agent => pb::Speaker::Agent,
        Speaker::Customer => pb::Speaker::Customer,
        Speaker::Unknown => pb::Speaker::Unknown,
    }
}

/// A transcript on the wire.
pub fn transcript(transcript: &Transcript, model_id: &str) -> pb::Transcript {
    pb::Transcript {
        language: transcript.language.clone().unwrap_or_default(),
        segments: transcript
            .segments
            .iter()
            .map(|s| pb::TranscriptSegment {
                speaker: speaker(s.speaker) as i32,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                text: s.text.clone(),
                language: s.language.clone().unwrap_or_default(),
                confidence: s.confidence.unwrap_or(0.0),
                words: s
                    .words
                    .iter()
                    .map(|w| pb::TranscriptWord {
                        start_ms: w.start_ms,
                        end_ms: w.end_ms,
                        text: w.text.clone(),
                        confidence: w.confidence.unwrap_or(0.0),
                    })
                    .collect(),
                voice: s.voice.unwrap_or(0),
            })
            .collect(),
        model_id: model_id.to_string(),
        attribution: transcript
            .attribution
            .as_ref()
            .map(|checked| pb::SpeakerAttribution {
                cues: checked
                    .cues
                    .iter()
                    .map(|cue| pb::AttributionCue {
                        speaker: speaker(cue.speaker) as i32,
                        kind: cue.kind.clone(),
                        start_ms: cue.start_ms,
                        end_ms: cue.end_ms,
                        quote: cue.quote.clone(),
                    })
                    .collect(),
                warning: checked.warning.clone().unwrap_or_default(),
                voices: checked.voices.as_ref().map(|assigned| pb::VoiceAssignment {
                    voices: assigned
                        .voices
                        .iter()
                        .map(|role| pb::VoiceRole {
                            voice: role.voice,
                            speaker: speaker(role.speaker) as i32,
                            talk_ms: role.talk_ms,
                            first_ms: role.first_ms,
                            cues: role.cues.clone(),
                        })
                        .collect(),
                    reason: assigned.reason.clone(),
                }),
            }),
    }
}

/// A submitted transcript, validated: every problem names its segment.
pub fn transcript_from_wire(wire: &pb::Transcript) -> Result<Transcript, Status> {
    if wire.segments.is_empty() {
        return Err(invalid("transcript.segments", "must not be empty"));
    }
    if wire.segments.len() > MAX_SEGMENTS {
        return Err(invalid(
            "transcript.segments",
            format!("more than {MAX_SEGMENTS} segments"),
        ));
    }
    text("transcript.model_id", &wire.model_id)?;
    let language = match wire.language.trim() {
        "" => None,
        code if is_language_code(code) => Some(code.to_string()),
        other => {
            return Err(invalid(
                "transcript.language",
                format!(
                    "{} is not an ISO 639-1 code such as \"en\" or \"id\"",
                    shown(other)
                ),
            ));
        }
    };
    let mut segments = Vec::with_capacity(wire.segments.len());
    for (index, segment) in wire.segments.iter().enumerate() {
        let field = format!("transcript.segments[{index}]");
        let who = match pb::Speaker::try_from(segment.speaker) {
            Ok(pb::Speaker::Agent) => Speaker::Agent,
            Ok(pb::Speaker::Customer) => Speaker::Customer,
            Ok(pb::Speaker::Unknown | pb::Speaker::Unspecified) => Speaker::Unknown,
            Err(_) => return Err(invalid(&format!("{field}.speaker"), "unknown value")),
        };
        if segment.end_ms > MAX_MS {
            return Err(invalid(
                &format!("{field}.end_ms"),
                format!("must be at most {MAX_MS} (a day)"),
            ));
        }
        if segment.end_ms < segment.start_ms {
            return Err(invalid(&format!("{field}.end_ms"), "is before start_ms"));
        }
        let segment_language = segment.language.trim();
        if !segment_language.is_empty() && !is_language_code(segment_language) {
            return Err(invalid(
                &format!("{field}.language"),
                "is not an ISO 639-1 code such as \"en\" or \"id\"",
            ));
        }
        if !(0.0..=1.0).contains(&segment.confidence) {
            return Err(invalid(
                &format!("{field}.confidence"),
                "must be from 0 to 1",
            ));
        }
        let mut words = Vec::with_capacity(segment.words.len());
        for (w, word) in segment.words.iter().enumerate() {
            let word_field = format!("{field}.words[{w}]");
            if word.end_ms > MAX_MS || word.end_ms < word.start_ms {
                return Err(invalid(
                    &format!("{word_field}.end_ms"),
                    format!("must be from start_ms to {MAX_MS}"),
                ));
            }
            if !(0.0..=1.0).contains(&word.confidence) {
                return Err(invalid(
                    &format!("{word_field}.confidence"),
                    "must be from 0 to 1",
                ));
            }
            words.push(Word {
                start_ms: word.start_ms,
                end_ms: word.end_ms,
                text: text(&format!("{word_field}.text"), &word.text)?.to_owned(),
                confidence: (word.confidence > 0.0).then_some(word.confidence),
            });
        }
        segments.push(Segment {
            speaker: who,
            start_ms: segment.start_ms,
            end_ms: segment.end_ms,
            text: text(&format!("{field}.text"), &segment.text)?.to_owned(),
            language: Some(segment_language.to_string()).filter(|l| !l.is_empty()),
            confidence: (segment.confidence > 0.0).then_some(segment.confidence),
            words,
            voice: (segment.voice > 0).then_some(segment.voice),
        });
    }
    // Scoring reads segments in time order.
    segments.sort_by_key(|s| (s.start_ms, s.end_ms));
    let mut transcript = Transcript {
        language,
        segments,
        attribution: None,
    };
    crate::speakers::name_unnamed_voices(&mut transcript);
    Ok(transcript)
}

/// Conversation metrics on the wire.
pub fn metrics(metrics: &ConversationMetrics) -> pb::ConversationMetrics {
    pb::ConversationMetrics {
        duration_ms: metrics.duration_ms,
        agent_talk_ratio: metrics.agent_talk_ratio.unwrap_or(0.0),
        longest_silence_ms: metrics.longest_silence_ms,
        hold_count: metrics.hold_count,
        interruption_count: metrics.interruptions.unwrap_or(0),
        agent_words_per_minute: metrics.agent_words_per_minute.unwrap_or(0.0),
        time_to_greeting_ms: metrics.time_to_greeting_ms,
        unexplained_amount_changes: metrics.unexplained_amount_changes,
    }
}

/// A check outcome on the wire.
pub fn outcome(outcome: Outcome) -> pb::CheckOutcome {
    match outcome {
        Outcome::Pass => pb::CheckOutcome::Pass,
        Outcome::Fail => pb::CheckOutcome::Fail,
        Outcome::NotApplicable => pb::CheckOutcome::NotApplicable,
    }
}

/// A wire outcome as a domain one; `Unspecified` is an error naming `field`.
pub fn outcome_from_wire(field: &str, value: i32) -> Result<Outcome, Status> {
    match pb::CheckOutcome::try_from(value) {
        Ok(pb::CheckOutcome::Pass) => Ok(Outcome::Pass),
        Ok(pb::CheckOutcome::Fail) => Ok(Outcome::Fail),
        Ok(pb::CheckOutcome::NotApplicable) => Ok(Outcome::NotApplicable),
        _ => Err(invalid(field, "must be PASS, FAIL or NOT_APPLICABLE")),
    }
}

/// The stored name of an outcome.
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::NotApplicable => "not_applicable",
    }
}

fn outcome_from_name(name: &str) -> pb::CheckOutcome {
    match name {
        "pass" => pb::CheckOutcome::Pass,
        "fail" => pb::CheckOutcome::Fail,
        "not_applicable" => pb::CheckOutcome::NotApplicable,
        _ => pb::CheckOutcome::Unspecified,
    }
}

/// Latest review per (criterion, check), from a scorecard's audit events.
pub type Reviews = HashMap<(String, String), pb::CheckOverride>;

/// Collects the latest override of each check.
pub fn reviews(events: &[AuditEvent]) -> Reviews {
    let mut latest = Reviews::new();
    for event in events {
        if event.action == AuditAction::CheckOverridden {
            latest.insert(
                (event.criterion_id.clone(), event.check_id.clone()),
                pb::CheckOverride {
                    outcome: outcome_from_name(&event.new_outcome) as i32,
                    reason: event.reason.clone(),
                    reviewer: event.actor.clone(),
                    at: Some(timestamp(event.at_ms)),
                    fraction: event.new_fraction,
                },
            );
        }
    }
    latest
}

/// Scores on the wire; `reviews` annotates the checks a reviewer changed.
pub fn score_result(card: &Scorecard, reviews: Option<&Reviews>) -> pb::ScoreResult {
    pb::ScoreResult {
        overall_score: card.overall_score,
        critical_failures: card
            .critical_failures
            .iter()
            .map(|c| pb::CheckRef {
                criterion_id: c.criterion_id.clone(),
                check_id: c.check_id.clone(),
            })
            .collect(),
        criteria: card
            .criteria
            .iter()
            .map(|criterion| pb::CriterionResult {
                criterion_id: criterion.criterion_id.clone(),
                name: criterion.name.clone(),
                weight: criterion.weight,
                score: criterion.score,
                earned_points: criterion.earned,
                possible_points: criterion.possible,
                checks: criterion
                    .checks
                    .iter()
                    .map(|check| pb::CheckResult {
                        check_id: check.check_id.clone(),
                        description: check.description.clone(),
                        outcome: outcome(check.outcome) as i32,
                        critical: check.critical,
                        earned_points: check.earned,
                        possible_points: check.possible,
                        reason: check.reason.clone(),
                        evidence: check.evidence.iter().map(evidence).collect(),
                        review: reviews.and_then(|r| {
                            r.get(&(criterion.criterion_id.clone(), check.check_id.clone()))
                                .cloned()
                        }),
                        fraction: check.fraction,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// One piece of evidence on the wire.
pub fn evidence(evidence: &crate::scoring::Evidence) -> pb::Evidence {
    pb::Evidence {
        segment_index: u32::try_from(evidence.segment_index).unwrap_or(u32::MAX),
        speaker: speaker(evidence.speaker) as i32,
        start_ms: evidence.start_ms,
        end_ms: evidence.end_ms,
        quote: evidence.quote.clone(),
        turn_score: evidence.turn_score,
        markers: evidence
            .markers
            .iter()
            .map(|m| pb::EvidenceMarker {
                kind: m.kind.to_string(),
                weight: m.weight,
                start_ms: m.start_ms,
                end_ms: m.end_ms,
                quote: m.quote.clone(),
            })
            .collect(),
    }
}

/// A stored scorecard on the wire, with its reviews.
pub fn scorecard(record: &ScorecardRecord, events: &[AuditEvent]) -> pb::Scorecard {
    let reviews = reviews(events);
    let machine = &record.machine;
    pb::Scorecard {
        scorecard_id: record.scorecard_id.clone(),
        call_id: record.call_id.clone(),
        agent_id: record.agent_id.clone(),
        team_id: record.team_id.clone(),
        call_started_at: Some(timestamp(record.call_started_at_ms)),
        created_at: Some(timestamp(record.created_at_ms)),
        rubric_id: machine.rubric_id.clone(),
        rubric_version: machine.rubric_version.to_string(),
        rubric_content_hash: machine.rubric_hash.clone(),
        model_id: machine.model_id.clone(),
        machine_result: Some(score_result(machine, None)),
        reviewed_result: Some(score_result(&record.reviewed, Some(&reviews))),
        metrics: Some(metrics(&machine.metrics)),
        scorer: Some(pb::ScorerVersions {
            detectors: machine.scorer.detectors.clone().into_iter().collect(),
            lexicons: machine.scorer.lexicons.clone(),
            encoder: machine.scorer.encoder.clone().unwrap_or_default(),
        }),
        review_revision: u64::try_from(record.review_revision).unwrap_or_default(),
    }
}

/// An audit event on the wire.
pub fn audit_event(event: &AuditEvent) -> pb::AuditEvent {
    pb::AuditEvent {
        event_id: event.event_id.clone(),
        scorecard_id: event.scorecard_id.clone(),
        call_id: event.call_id.clone(),
        action: match event.action {
            AuditAction::Scored => pb::AuditAction::Scored,
            AuditAction::CheckOverridden => pb::AuditAction::CheckOverridden,
            AuditAction::Rescored => pb::AuditAction::Rescored,
            AuditAction::Confirmed => pb::AuditAction::Confirmed,
            AuditAction::DisputeOpened => pb::AuditAction::DisputeOpened,
            AuditAction::DisputeAccepted => pb::AuditAction::DisputeAccepted,
            AuditAction::DisputeRejected => pb::AuditAction::DisputeRejected,
            AuditAction::Acknowledged => pb::AuditAction::Acknowledged,
        } as i32,
        actor: event.actor.clone(),
        criterion_id: event.criterion_id.clone(),
        check_id: event.check_id.clone(),
        old_outcome: outcome_from_name(&event.old_outcome) as i32,
        new_outcome: outcome_from_name(&event.new_outcome) as i32,
        reason: event.reason.clone(),
        old_overall_score: event.old_overall_score,
        new_overall_score: event.new_overall_score,
        at: Some(timestamp(event.at_ms)),
        old_fraction: event.old_fraction,
        new_fraction: event.new_fraction,
    }
}

/// A coaching note on the wire.
pub fn coaching_note(note: &CoachingNote) -> pb::CoachingNote {
    pb::CoachingNote {
        note_id: note.note_id.clone(),
        agent_id: note.agent_id.clone(),
        author: note.author.clone(),
        text: note.text.clone(),
        scorecard_id: note.scorecard_id.clone(),
        criterion_id: note.criterion_id.clone(),
        created_at: Some(timestamp(note.created_at_ms)),
    }
}
