//! One check override as a reviewer decides it, shared by `OverrideCheck`
//! and accepting a dispute: the reviewed card after it and its audit event.

use tonic::Status;

use super::ServiceState;
use super::convert;
use super::scorecard::rubric_status;
use super::status::invalid;
use crate::scoring::{CheckRef, Outcome, ReviewedResult, Scorecard, override_check};
use crate::store::{AuditAction, AuditEvent, ScorecardRecord, now_ms};

/// The reviewed card of `record` with `check` changed to `new_outcome` or
/// `new_fraction` (0..1, graded checks; the outcome follows from the
/// check's `pass_at`), and the audit event recording it by `actor`.
#[allow(clippy::too_many_arguments)]
pub async fn plan_override(
    state: &ServiceState,
    tenant: &str,
    actor: &str,
    record: &ScorecardRecord,
    check: CheckRef,
    new_outcome: Option<Outcome>,
    new_fraction: Option<f64>,
    reason: String,
) -> Result<(Scorecard, AuditEvent), Status> {
    let CheckRef {
        criterion_id,
        check_id,
    } = &check;
    if let Some(fraction) = new_fraction
        && !(0.0..=1.0).contains(&fraction)
    {
        return Err(invalid("new_fraction", "must be from 0 to 1"));
    }
    let current = record
        .reviewed
        .criteria
        .iter()
        .filter(|c| c.criterion_id == *criterion_id)
        .flat_map(|c| c.checks.iter())
        .find(|c| c.check_id == *check_id)
        .ok_or_else(|| {
            Status::not_found(format!(
                "check {criterion_id}/{check_id} not found in scorecard {}",
                record.scorecard_id
            ))
        })?;
    let old_outcome = current.outcome;
    let old_fraction = current.fraction;
    // A not-applicable check carries no points: the rubric version says what it is worth.
    let rubric = state
        .pipeline
        .rubrics
        .resolve(
            tenant,
            &record.machine.rubric_id,
            Some(&record.machine.rubric_version.to_string()),
        )
        .await
        .map_err(rubric_status)?;
    let rubric_check = rubric.rubric.check(criterion_id, check_id);
    let points = rubric_check.map_or(current.possible, |c| c.points);
    let pass_at = rubric_check.and_then(|c| c.detector.pass_at());
    let decision = match (new_fraction, pass_at) {
        (Some(fraction), Some(pass_at)) => {
            let implied = if fraction >= pass_at {
                Outcome::Pass
            } else {
                Outcome::Fail
            };
            if new_outcome.is_some_and(|o| o != implied) {
                return Err(invalid(
                    "new_outcome",
                    format!(
                        "disagrees with new_fraction {fraction}: the check passes at {pass_at}; leave new_outcome unset"
                    ),
                ));
            }
            ReviewedResult::Fraction { fraction, pass_at }
        }
        (Some(_), None) => {
            return Err(invalid(
                "new_fraction",
                format!("check {criterion_id}/{check_id} is pass/fail; give new_outcome instead"),
            ));
        }
        (None, _) => ReviewedResult::Outcome(
            new_outcome.ok_or_else(|| invalid("new_outcome", "is required"))?,
        ),
    };
    let mut reviewed = record.reviewed.clone();
    override_check(&mut reviewed, &check, decision, points);
    let after = reviewed
        .criteria
        .iter()
        .filter(|c| c.criterion_id == *criterion_id)
        .flat_map(|c| c.checks.iter())
        .find(|c| c.check_id == *check_id);
    let new_outcome = after.map_or(Outcome::NotApplicable, |c| c.outcome);
    let new_fraction = after.and_then(|c| c.fraction);
    let event = AuditEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        scorecard_id: record.scorecard_id.clone(),
        call_id: record.call_id.clone(),
        action: AuditAction::CheckOverridden,
        actor: actor.to_string(),
        criterion_id: check.criterion_id.clone(),
        check_id: check.check_id.clone(),
        old_outcome: convert::outcome_name(old_outcome).to_string(),
        new_outcome: convert::outcome_name(new_outcome).to_string(),
        reason,
        old_overall_score: record.reviewed.overall_score,
        new_overall_score: reviewed.overall_score,
        old_fraction,
        new_fraction,
        at_ms: now_ms(),
    };
    Ok((reviewed, event))
}
