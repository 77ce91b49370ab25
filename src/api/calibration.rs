//! CalibrationService: sessions in which reviewers score the same calls
//! blind, and the agreement report on close (docs/calibration.md).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::ServiceState;
use super::convert::{self, required_id};
use super::paging::{decode_time_cursor, encode_time_cursor, finish_page, page_size};
use super::scorecard::rubric_status;
use super::status::{invalid, shown};
use super::timestamp;
use crate::auth::{Action, Principal, Role};
use crate::proto::calibration_service_server::CalibrationService;
use crate::proto::{self as pb};
use crate::review::calibration::{self, Agreement, RaterAgreement, Unit};
use crate::scoring::Outcome;
use crate::store::{
    AnswerSheet, CalibrationItem, CalibrationSession, CheckAnswer, StoreError, now_ms,
};

/// Most calls in one session: a calibration is a meeting's worth of work.
const MAX_CALLS: usize = 200;
/// Most reviewers in one session.
const MAX_REVIEWERS: usize = 50;
/// Longest session name.
const MAX_NAME_LEN: usize = 200;
/// Longest note on an answer sheet.
const MAX_NOTE_LEN: usize = 4_000;

/// The CalibrationService.
#[derive(Clone)]
pub struct CalibrationApi {
    state: Arc<ServiceState>,
}

impl CalibrationApi {
    /// Serves calibration sessions from the shared state.
    pub fn new(state: Arc<ServiceState>) -> Self {
        Self { state }
    }
}

/// One check of an item's scorecard, with the rubric's view of it.
struct CheckSpec {
    criterion_id: String,
    check_id: String,
    description: String,
    pass_at: Option<f64>,
    machine: Outcome,
    machine_fraction: Option<f64>,
}

/// What the caller may see of a session.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    /// A reviewer of an open session: own answers only, no machine results.
    Blind,
    /// An admin of an open session: who answered, not what.
    Progress,
    /// Anyone allowed, once closed.
    Everything,
}

fn state_error(error: StoreError) -> Status {
    match error {
        StoreError::Conflict(what) => Status::failed_precondition(what),
        other => other.into(),
    }
}

impl CalibrationApi {
    /// The session, if the caller may see it at all.
    async fn visible_session(
        &self,
        principal: &Principal,
        session_id: &str,
    ) -> Result<(CalibrationSession, View), Status> {
        let session = self
            .state
            .store
            .calibration(&principal.tenant_id, session_id)
            .await?;
        let reviewer = session.has_reviewer(&principal.key_id);
        let admin = principal.role.allows(Action::ManageCalibrations);
        if !reviewer && !admin {
            return Err(Status::permission_denied(
                "only the session's reviewers and admins may see it",
            ));
        }
        let view = match (session.closed_at_ms, reviewer) {
            (Some(_), _) => View::Everything,
            (None, true) => View::Blind,
            (None, false) => View::Progress,
        };
        Ok((session, view))
    }

    /// The checks of an item's scorecard; `None` once the call is deleted.
    async fn item_checks(
        &self,
        tenant: &str,
        item: &CalibrationItem,
    ) -> Result<Option<Vec<CheckSpec>>, Status> {
        let record = match self
            .state
            .store
            .get_scorecard(tenant, &item.scorecard_id)
            .await
        {
            Ok(record) => record,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        let card = &record.machine;
        let rubric = self
            .state
            .pipeline
            .rubrics
            .resolve(
                tenant,
                &card.rubric_id,
                Some(&card.rubric_version.to_string()),
            )
            .await
            .map_err(rubric_status)?;
        let checks = card
            .criteria
            .iter()
            .flat_map(|criterion| {
                let rubric = &rubric;
                criterion.checks.iter().map(move |check| CheckSpec {
                    criterion_id: criterion.criterion_id.clone(),
                    check_id: check.check_id.clone(),
                    description: check.description.clone(),
                    pass_at: rubric
                        .rubric
                        .check(&criterion.criterion_id, &check.check_id)
                        .and_then(|c| c.detector.pass_at()),
                    machine: check.outcome,
                    machine_fraction: check.fraction,
                })
            })
            .collect();
        Ok(Some(checks))
    }

    async fn session_to_wire(
        &self,
        tenant: &str,
        session: &CalibrationSession,
        view: View,
        with_checks: bool,
    ) -> Result<pb::CalibrationSession, Status> {
        let answered: BTreeMap<String, Vec<String>> = if with_checks && view != View::Blind {
            let mut answered: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for sheet in self
                .state
                .store
                .answer_sheets(tenant, &session.session_id, None)
                .await?
            {
                answered
                    .entry(sheet.call_id)
                    .or_default()
                    .push(sheet.reviewer);
            }
            answered
        } else {
            BTreeMap::new()
        };
        let mut items = Vec::with_capacity(session.items.len());
        for item in &session.items {
            let checks = if with_checks {
                self.item_checks(tenant, item).await?.unwrap_or_default()
            } else {
                Vec::new()
            };
            items.push(pb::CalibrationItem {
                call_id: item.call_id.clone(),
                scorecard_id: item.scorecard_id.clone(),
                checks: checks
                    .iter()
                    .map(|check| check_to_wire(check, view == View::Everything))
                    .collect(),
                answered_by: answered.get(&item.call_id).cloned().unwrap_or_default(),
            });
        }
        Ok(pb::CalibrationSession {
            session_id: session.session_id.clone(),
            name: session.name.clone(),
            state: if session.closed_at_ms.is_some() {
                pb::CalibrationState::Closed
            } else {
                pb::CalibrationState::Open
            } as i32,
            items,
            reviewers: session.reviewers.clone(),
            created_by: session.created_by.clone(),
            created_at: Some(timestamp(session.created_at_ms)),
            closed_at: session.closed_at_ms.map(timestamp),
        })
    }

    /// The report of a closed session.
    async fn report(
        &self,
        tenant: &str,
        session: &CalibrationSession,
    ) -> Result<pb::CalibrationReport, Status> {
        let sheets = self
            .state
            .store
            .answer_sheets(tenant, &session.session_id, None)
            .await?;
        let mut units = Vec::new();
        let mut described: BTreeMap<(String, String), (String, bool)> = BTreeMap::new();
        let mut calls = 0;
        for item in &session.items {
            let Some(checks) = self.item_checks(tenant, item).await? else {
                continue;
            };
            calls += 1;
            for check in checks {
                let answers = sheets
                    .iter()
                    .filter(|sheet| sheet.call_id == item.call_id)
                    .filter_map(|sheet| {
                        let answer = sheet.answers.iter().find(|a| {
                            a.criterion_id == check.criterion_id && a.check_id == check.check_id
                        })?;
                        Some((sheet.reviewer.clone(), answer.outcome))
                    })
                    .collect();
                described
                    .entry((check.criterion_id.clone(), check.check_id.clone()))
                    .or_insert((check.description.clone(), check.pass_at.is_some()));
                units.push(Unit {
                    criterion_id: check.criterion_id,
                    check_id: check.check_id,
                    machine: check.machine,
                    answers,
                });
            }
        }
        let report = calibration::report(&session.reviewers, &units);
        Ok(pb::CalibrationReport {
            session_id: session.session_id.clone(),
            calls,
            overall: Some(agreement_to_wire(&report.overall)),
            criteria: report
                .criteria
                .iter()
                .map(|(criterion_id, agreement)| pb::CriterionAgreement {
                    criterion_id: criterion_id.clone(),
                    agreement: Some(agreement_to_wire(agreement)),
                })
                .collect(),
            checks: report
                .checks
                .iter()
                .map(|(key, agreement)| {
                    let (description, graded) = described.get(key).cloned().unwrap_or_default();
                    pb::CheckAgreement {
                        criterion_id: key.0.clone(),
                        check_id: key.1.clone(),
                        description,
                        graded,
                        agreement: Some(agreement_to_wire(agreement)),
                    }
                })
                .collect(),
            pairs: report.pairs.iter().map(rater_to_wire).collect(),
        })
    }
}

fn check_to_wire(check: &CheckSpec, with_machine: bool) -> pb::CalibrationCheck {
    pb::CalibrationCheck {
        criterion_id: check.criterion_id.clone(),
        check_id: check.check_id.clone(),
        description: check.description.clone(),
        graded: check.pass_at.is_some(),
        pass_at: check.pass_at,
        machine_outcome: with_machine.then(|| convert::outcome(check.machine) as i32),
        machine_fraction: check.machine_fraction.filter(|_| with_machine),
    }
}

fn sheet_to_wire(sheet: &AnswerSheet) -> pb::CalibrationAnswerSheet {
    pb::CalibrationAnswerSheet {
        call_id: sheet.call_id.clone(),
        reviewer: sheet.reviewer.clone(),
        answers: sheet
            .answers
            .iter()
            .map(|answer| pb::CalibrationAnswer {
                criterion_id: answer.criterion_id.clone(),
                check_id: answer.check_id.clone(),
                outcome: convert::outcome(answer.outcome) as i32,
                fraction: answer.fraction,
            })
            .collect(),
        note: sheet.note.clone(),
        answered_at: Some(timestamp(sheet.answered_at_ms)),
    }
}

fn rater_to_wire(rater: &RaterAgreement) -> pb::RaterAgreement {
    pb::RaterAgreement {
        rater: rater.rater.clone(),
        against: rater.against.clone(),
        items: rater.items,
        percent_agreement: rater.percent_agreement,
        cohen_kappa: rater.cohen_kappa,
    }
}

fn agreement_to_wire(agreement: &Agreement) -> pb::Agreement {
    let reviewers = &agreement.reviewers;
    pb::Agreement {
        reviewers: Some(pb::ReviewerAgreement {
            items: reviewers.items,
            complete_items: reviewers.complete_items,
            percent_agreement: reviewers.percent_agreement,
            cohen_kappa: reviewers.cohen_kappa,
            fleiss_kappa: reviewers.fleiss_kappa,
        }),
        reviewers_with_consensus: agreement
            .reviewers_with_consensus
            .iter()
            .map(rater_to_wire)
            .collect(),
        machine_with_consensus: Some(rater_to_wire(&agreement.machine_with_consensus)),
        no_consensus: agreement.no_consensus,
    }
}

/// Distinct, well-formed ids from a repeated field, within `range`.
fn distinct_ids(
    field: &str,
    values: &[String],
    range: std::ops::RangeInclusive<usize>,
) -> Result<Vec<String>, Status> {
    if !range.contains(&values.len()) {
        return Err(invalid(
            field,
            format!(
                "give {} to {} (got {})",
                range.start(),
                range.end(),
                values.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut ids = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let id = required_id(&format!("{field}[{index}]"), value)?;
        if !seen.insert(id.clone()) {
            return Err(invalid(field, format!("{} is listed twice", shown(&id))));
        }
        ids.push(id);
    }
    Ok(ids)
}

/// A reviewer's answers checked against the call's checks: exactly one per
/// check, outcomes consistent with fractions.
fn validate_answers(
    checks: &[CheckSpec],
    answers: &[pb::CalibrationAnswer],
) -> Result<Vec<CheckAnswer>, Status> {
    let mut given: BTreeMap<(String, String), CheckAnswer> = BTreeMap::new();
    for (index, answer) in answers.iter().enumerate() {
        let field = format!("answers[{index}]");
        let criterion_id = required_id(&format!("{field}.criterion_id"), &answer.criterion_id)?;
        let check_id = required_id(&format!("{field}.check_id"), &answer.check_id)?;
        let check = checks
            .iter()
            .find(|c| c.criterion_id == criterion_id && c.check_id == check_id)
            .ok_or_else(|| {
                invalid(
                    &field,
                    format!("the call's scorecard has no check {criterion_id}/{check_id}"),
                )
            })?;
        let outcome = match (answer.fraction, check.pass_at) {
            (Some(fraction), Some(pass_at)) => {
                if !(0.0..=1.0).contains(&fraction) {
                    return Err(invalid(&format!("{field}.fraction"), "must be from 0 to 1"));
                }
                let implied = if fraction >= pass_at {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                };
                if answer.outcome != 0
                    && convert::outcome_from_wire(&format!("{field}.outcome"), answer.outcome)?
                        != implied
                {
                    return Err(invalid(
                        &format!("{field}.outcome"),
                        format!(
                            "disagrees with fraction {fraction}: the check passes at {pass_at}"
                        ),
                    ));
                }
                implied
            }
            (Some(_), None) => {
                return Err(invalid(
                    &format!("{field}.fraction"),
                    format!("check {criterion_id}/{check_id} is pass/fail; give outcome only"),
                ));
            }
            (None, _) => convert::outcome_from_wire(&format!("{field}.outcome"), answer.outcome)?,
        };
        let key = (criterion_id.clone(), check_id.clone());
        let stored = CheckAnswer {
            criterion_id,
            check_id,
            outcome,
            fraction: answer.fraction.map(crate::scoring::round_fraction),
        };
        if given.insert(key, stored).is_some() {
            return Err(invalid(
                &field,
                format!(
                    "check {}/{} is answered twice",
                    check.criterion_id, check.check_id
                ),
            ));
        }
    }
    let missing: Vec<String> = checks
        .iter()
        .filter(|c| !given.contains_key(&(c.criterion_id.clone(), c.check_id.clone())))
        .map(|c| format!("{}/{}", c.criterion_id, c.check_id))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(
            "answers",
            format!(
                "every check needs an answer; missing {}",
                missing.join(", ")
            ),
        ));
    }
    // In the scorecard's order.
    Ok(checks
        .iter()
        .filter_map(|c| given.remove(&(c.criterion_id.clone(), c.check_id.clone())))
        .collect())
}

#[tonic::async_trait]
impl CalibrationService for CalibrationApi {
    async fn create_calibration_session(
        &self,
        request: Request<pb::CreateCalibrationSessionRequest>,
    ) -> Result<Response<pb::CreateCalibrationSessionResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageCalibrations)?;
        let message = request.get_ref();
        let tenant = &principal.tenant_id;
        let name = super::status::text("name", &message.name)?
            .trim()
            .to_string();
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(invalid("name", format!("give 1 to {MAX_NAME_LEN} bytes")));
        }
        let call_ids = distinct_ids("call_ids", &message.call_ids, 1..=MAX_CALLS)?;
        let reviewers = distinct_ids("reviewers", &message.reviewers, 2..=MAX_REVIEWERS)?;
        let now = now_ms();
        let keys = self.state.store.list_api_keys(tenant, false).await?;
        for reviewer in &reviewers {
            let usable = keys.iter().any(|key| {
                key.key_id == *reviewer
                    && matches!(key.role, Role::Reviewer | Role::Admin)
                    && key.revoked_at_ms.is_none()
                    && key.expires_at_ms.is_none_or(|at| at > now)
            });
            if !usable {
                return Err(invalid(
                    "reviewers",
                    format!(
                        "{} is not an active reviewer or admin key of this tenant",
                        shown(reviewer)
                    ),
                ));
            }
        }
        let mut items = Vec::with_capacity(call_ids.len());
        for call_id in call_ids {
            let call = self.state.store.get_call(tenant, &call_id).await?;
            let scorecard_id = call.latest_scorecard_id.ok_or_else(|| {
                Status::failed_precondition(format!(
                    "call_ids: call {} has no scorecard yet",
                    shown(&call_id)
                ))
            })?;
            items.push(CalibrationItem {
                call_id,
                scorecard_id,
            });
        }
        let session = CalibrationSession {
            session_id: uuid::Uuid::now_v7().to_string(),
            name,
            items,
            reviewers,
            created_by: principal.key_id.clone(),
            created_at_ms: now,
            closed_at_ms: None,
        };
        self.state
            .store
            .create_calibration(tenant, &session)
            .await?;
        Ok(Response::new(pb::CreateCalibrationSessionResponse {
            session: Some(
                self.session_to_wire(tenant, &session, View::Progress, true)
                    .await?,
            ),
        }))
    }

    async fn get_calibration_session(
        &self,
        request: Request<pb::GetCalibrationSessionRequest>,
    ) -> Result<Response<pb::GetCalibrationSessionResponse>, Status> {
        let principal = Principal::of(&request)?;
        let session_id = required_id("session_id", &request.get_ref().session_id)?;
        let (session, view) = self.visible_session(principal, &session_id).await?;
        let tenant = &principal.tenant_id;
        let store = &self.state.store;
        let sheets = match view {
            View::Progress => Vec::new(),
            View::Blind => {
                store
                    .answer_sheets(tenant, &session_id, Some(&principal.key_id))
                    .await?
            }
            View::Everything => store.answer_sheets(tenant, &session_id, None).await?,
        };
        Ok(Response::new(pb::GetCalibrationSessionResponse {
            session: Some(self.session_to_wire(tenant, &session, view, true).await?),
            sheets: sheets.iter().map(sheet_to_wire).collect(),
        }))
    }

    async fn list_calibration_sessions(
        &self,
        request: Request<pb::ListCalibrationSessionsRequest>,
    ) -> Result<Response<pb::ListCalibrationSessionsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReviewScorecards)?;
        let message = request.get_ref();
        let limit = page_size(message.page_size)?;
        let before = decode_time_cursor(&message.page_token)?;
        // Admins see every session; reviewers the ones they answer in.
        let reviewer = (!principal.role.allows(Action::ManageCalibrations))
            .then_some(principal.key_id.as_str());
        let tenant = &principal.tenant_id;
        let mut sessions = self
            .state
            .store
            .list_calibrations(tenant, reviewer, before, limit + 1)
            .await?;
        let next_page_token = finish_page(&mut sessions, limit, |session| {
            encode_time_cursor(session.created_at_ms, &session.session_id)
        });
        let mut wire = Vec::with_capacity(sessions.len());
        for session in &sessions {
            wire.push(
                self.session_to_wire(tenant, session, View::Progress, false)
                    .await?,
            );
        }
        Ok(Response::new(pb::ListCalibrationSessionsResponse {
            sessions: wire,
            next_page_token,
        }))
    }

    async fn submit_calibration_answers(
        &self,
        request: Request<pb::SubmitCalibrationAnswersRequest>,
    ) -> Result<Response<pb::SubmitCalibrationAnswersResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReviewScorecards)?;
        let message = request.get_ref();
        let session_id = required_id("session_id", &message.session_id)?;
        let call_id = required_id("call_id", &message.call_id)?;
        let note = super::status::text("note", &message.note)?.trim();
        if note.len() > MAX_NOTE_LEN {
            return Err(invalid("note", format!("longer than {MAX_NOTE_LEN} bytes")));
        }
        let tenant = &principal.tenant_id;
        let session = self.state.store.calibration(tenant, &session_id).await?;
        if !session.has_reviewer(&principal.key_id) {
            return Err(Status::permission_denied(
                "only the session's reviewers answer in it",
            ));
        }
        if session.closed_at_ms.is_some() {
            return Err(Status::failed_precondition(format!(
                "calibration session {session_id:?} is closed"
            )));
        }
        let item = session
            .items
            .iter()
            .find(|item| item.call_id == call_id)
            .ok_or_else(|| {
                invalid(
                    "call_id",
                    format!("{} is not in this session", shown(&call_id)),
                )
            })?;
        let checks = self.item_checks(tenant, item).await?.ok_or_else(|| {
            Status::failed_precondition(format!("call {call_id:?} has been deleted"))
        })?;
        let answers = validate_answers(&checks, &message.answers)?;
        let sheet = AnswerSheet {
            call_id,
            reviewer: principal.key_id.clone(),
            answers,
            note: self.state.pipeline.redactor.redact_text(note),
            answered_at_ms: now_ms(),
        };
        self.state
            .store
            .put_answer_sheet(tenant, &session_id, &sheet)
            .await
            .map_err(state_error)?;
        Ok(Response::new(pb::SubmitCalibrationAnswersResponse {
            sheet: Some(sheet_to_wire(&sheet)),
        }))
    }

    async fn close_calibration_session(
        &self,
        request: Request<pb::CloseCalibrationSessionRequest>,
    ) -> Result<Response<pb::CloseCalibrationSessionResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageCalibrations)?;
        let session_id = required_id("session_id", &request.get_ref().session_id)?;
        let tenant = &principal.tenant_id;
        let session = self
            .state
            .store
            .close_calibration(tenant, &session_id, now_ms())
            .await
            .map_err(state_error)?;
        Ok(Response::new(pb::CloseCalibrationSessionResponse {
            report: Some(self.report(tenant, &session).await?),
            session: Some(
                self.session_to_wire(tenant, &session, View::Everything, true)
                    .await?,
            ),
        }))
    }

    async fn get_calibration_report(
        &self,
        request: Request<pb::GetCalibrationReportRequest>,
    ) -> Result<Response<pb::GetCalibrationReportResponse>, Status> {
        let principal = Principal::of(&request)?;
        let session_id = required_id("session_id", &request.get_ref().session_id)?;
        let (session, view) = self.visible_session(principal, &session_id).await?;
        if view != View::Everything {
            return Err(Status::failed_precondition(format!(
                "calibration session {session_id:?} is open; its report comes when it closes"
            )));
        }
        Ok(Response::new(pb::GetCalibrationReportResponse {
            report: Some(self.report(&principal.tenant_id, &session).await?),
        }))
    }
}

/// `FAILED_PRECONDITION` when the caller judges `call_id` blind in an open
/// calibration session: its machine answers stay hidden until it closes.
pub(super) async fn hidden_while_calibrating(
    state: &ServiceState,
    principal: &Principal,
    call_id: &str,
) -> Result<(), Status> {
    match state
        .store
        .open_calibration_of(&principal.tenant_id, &principal.key_id, call_id)
        .await?
    {
        Some(session_id) => Err(Status::failed_precondition(format!(
            "call {call_id:?} is in calibration session {session_id:?}, which you answer blind; \
             its scorecard opens when the session closes"
        ))),
        None => Ok(()),
    }
}

/// The calls whose scorecards the caller judges blind in open calibration
/// sessions: list views and exports leave them out.
pub(super) async fn blind_calls(
    state: &ServiceState,
    principal: &Principal,
) -> Result<std::collections::HashSet<String>, Status> {
    Ok(state
        .store
        .open_calibration_calls(&principal.tenant_id, &principal.key_id)
        .await?
        .into_iter()
        .collect())
}
