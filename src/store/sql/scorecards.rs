//! Scorecards, reviews and coaching notes on SQL.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::SqlStore;
use super::changes::record_scorecard_change;
use super::filter::{Filtered, Param};
use crate::scoring::{Outcome, Scorecard};
use crate::store::changes::ChangeKind;
use crate::store::scorecards::{
    AuditAction, AuditEvent, CoachingNote, NewScorecard, ScorecardFilter, ScorecardRecord,
    ScorecardStore,
};
use crate::store::{StoreError, now_ms};

macro_rules! scorecard_columns {
    () => {
        "scorecard_id, call_id, agent_id, team_id, call_started_at_ms, created_at_ms, \
         machine_json, reviewed_json, review_revision, is_current"
    };
}

/// Stands for "no score" in bound parameters (scores are 0..100, fractions
/// 0..1); SQL turns
/// it back into NULL with `NULLIF`. Binding a typed NULL instead would let
/// PostgreSQL cache the statement with a text parameter type, and the next
/// real number would then fail to bind.
const NO_SCORE: f64 = -1.0;

fn score_param(score: Option<f64>) -> f64 {
    score.unwrap_or(NO_SCORE)
}

pub(super) fn to_json(card: &Scorecard) -> Result<String, StoreError> {
    serde_json::to_string(card).map_err(|error| StoreError::Corrupt(error.to_string()))
}

pub(super) fn from_json(text: &str) -> Result<Scorecard, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt(format!("scorecard: {error}")))
}

fn scorecard_from_row(row: &AnyRow) -> Result<ScorecardRecord, StoreError> {
    Ok(ScorecardRecord {
        scorecard_id: row.try_get("scorecard_id")?,
        call_id: row.try_get("call_id")?,
        agent_id: row.try_get("agent_id")?,
        team_id: row.try_get("team_id")?,
        call_started_at_ms: row.try_get("call_started_at_ms")?,
        created_at_ms: row.try_get("created_at_ms")?,
        machine: from_json(&row.try_get::<String, _>("machine_json")?)?,
        reviewed: from_json(&row.try_get::<String, _>("reviewed_json")?)?,
        review_revision: row.try_get("review_revision")?,
        is_current: row.try_get::<i64, _>("is_current")? != 0,
    })
}

fn event_from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        event_id: row.try_get("event_id")?,
        scorecard_id: row.try_get("scorecard_id")?,
        call_id: row.try_get("call_id")?,
        action: AuditAction::parse(&row.try_get::<String, _>("action")?)?,
        actor: row.try_get("actor")?,
        criterion_id: row.try_get("criterion_id")?,
        check_id: row.try_get("check_id")?,
        old_outcome: row.try_get("old_outcome")?,
        new_outcome: row.try_get("new_outcome")?,
        reason: row.try_get("reason")?,
        old_overall_score: row.try_get("old_overall_score")?,
        new_overall_score: row.try_get("new_overall_score")?,
        old_fraction: row.try_get("old_fraction")?,
        new_fraction: row.try_get("new_fraction")?,
        at_ms: row.try_get("at_ms")?,
    })
}

fn failed_checks(criterion: &crate::scoring::CriterionResult) -> i64 {
    criterion
        .checks
        .iter()
        .filter(|check| check.outcome == Outcome::Fail)
        .count() as i64
}

/// Writes the per-criterion rows that filters and trends read.
async fn write_criteria(
    transaction: &mut Transaction<'_, Any>,
    tenant_id: &str,
    scorecard: &NewScorecard,
    card: &Scorecard,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM scorecard_criteria WHERE tenant_id = $1 AND scorecard_id = $2")
        .bind(tenant_id)
        .bind(&scorecard.scorecard_id)
        .execute(&mut **transaction)
        .await?;
    for criterion in &card.criteria {
        sqlx::query(
            "INSERT INTO scorecard_criteria (tenant_id, scorecard_id, criterion_id, agent_id, \
             team_id, call_started_at_ms, is_current, score, failed_checks) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, NULLIF($7, -1.0), $8)",
        )
        .bind(tenant_id)
        .bind(&scorecard.scorecard_id)
        .bind(&criterion.criterion_id)
        .bind(&scorecard.agent_id)
        .bind(&scorecard.team_id)
        .bind(scorecard.call_started_at_ms)
        .bind(score_param(criterion.score))
        .bind(failed_checks(criterion))
        .execute(&mut **transaction)
        .await?;
    }
    Ok(())
}

fn audit_insert<'q>(
    tenant_id: &'q str,
    event: &'q AuditEvent,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, event_id, scorecard_id, call_id, action, actor, \
         criterion_id, check_id, old_outcome, new_outcome, reason, old_overall_score, \
         new_overall_score, at_ms, old_fraction, new_fraction) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULLIF($12, -1.0), NULLIF($13, -1.0), $14, \
         NULLIF($15, -1.0), NULLIF($16, -1.0))",
    )
    .bind(tenant_id)
    .bind(&event.event_id)
    .bind(&event.scorecard_id)
    .bind(&event.call_id)
    .bind(event.action.as_str())
    .bind(&event.actor)
    .bind(&event.criterion_id)
    .bind(&event.check_id)
    .bind(&event.old_outcome)
    .bind(&event.new_outcome)
    .bind(&event.reason)
    .bind(score_param(event.old_overall_score))
    .bind(score_param(event.new_overall_score))
    .bind(event.at_ms)
    .bind(score_param(event.old_fraction))
    .bind(score_param(event.new_fraction))
}

/// Inserts a machine scorecard as the call's current one, with its
/// criterion rows and a `scored` audit event; earlier scorecards stop being current.
pub(super) async fn insert_scorecard(
    transaction: &mut Transaction<'_, Any>,
    tenant_id: &str,
    scorecard: &NewScorecard,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let card = &scorecard.card;
    let json = serde_json::to_string(card)
        .map_err(|error| sqlx::Error::Protocol(format!("scorecard JSON: {error}")))?;
    for statement in [
        "UPDATE scorecards SET is_current = 0 WHERE tenant_id = $1 AND call_id = $2",
        "UPDATE scorecard_criteria SET is_current = 0 WHERE tenant_id = $1 AND scorecard_id IN \
         (SELECT scorecard_id FROM scorecards WHERE tenant_id = $1 AND call_id = $2)",
    ] {
        sqlx::query(statement)
            .bind(tenant_id)
            .bind(&scorecard.call_id)
            .execute(&mut **transaction)
            .await?;
    }
    sqlx::query(
        "INSERT INTO scorecards (tenant_id, scorecard_id, call_id, agent_id, team_id, \
         call_started_at_ms, created_at_ms, rubric_id, rubric_version, rubric_hash, model_id, \
         machine_json, reviewed_json, overall_score, has_critical_failure, review_revision, \
         is_current) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, NULLIF($13, -1.0), $14, 0, 1)",
    )
    .bind(tenant_id)
    .bind(&scorecard.scorecard_id)
    .bind(&scorecard.call_id)
    .bind(&scorecard.agent_id)
    .bind(&scorecard.team_id)
    .bind(scorecard.call_started_at_ms)
    .bind(now)
    .bind(&card.rubric_id)
    .bind(card.rubric_version.to_string())
    .bind(&card.rubric_hash)
    .bind(&card.model_id)
    .bind(&json)
    .bind(score_param(card.overall_score))
    .bind(i64::from(!card.critical_failures.is_empty()))
    .execute(&mut **transaction)
    .await?;
    write_criteria(transaction, tenant_id, scorecard, card).await?;
    if let Some(task) = &scorecard.review {
        let subject = super::review_tasks::TaskSubject::from(scorecard);
        super::review_tasks::insert_task(transaction, tenant_id, &subject, task, now).await?;
    }
    let event = AuditEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        scorecard_id: scorecard.scorecard_id.clone(),
        call_id: scorecard.call_id.clone(),
        action: if scorecard.actor == "system" {
            AuditAction::Scored
        } else {
            AuditAction::Rescored
        },
        actor: scorecard.actor.clone(),
        criterion_id: String::new(),
        check_id: String::new(),
        old_outcome: String::new(),
        new_outcome: String::new(),
        reason: format!(
            "scored with rubric {} version {}",
            card.rubric_id, card.rubric_version
        ),
        old_overall_score: None,
        new_overall_score: card.overall_score,
        old_fraction: None,
        new_fraction: None,
        at_ms: now,
    };
    audit_insert(tenant_id, &event)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

impl SqlStore {
    /// Stores a review of `record` in the caller's transaction: the reviewed
    /// card, its criteria, the audit event and the change; false (nothing
    /// written) when someone reviewed it since `expected_revision`.
    pub(super) async fn review_in(
        &self,
        transaction: &mut Transaction<'_, Any>,
        tenant_id: &str,
        record: ScorecardRecord,
        expected_revision: i64,
        reviewed: &Scorecard,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let json = to_json(reviewed)?;
        let updated = sqlx::query(
            "UPDATE scorecards SET reviewed_json = $1, overall_score = NULLIF($2, -1.0), \
             has_critical_failure = $3, review_revision = review_revision + 1 \
             WHERE tenant_id = $4 AND scorecard_id = $5 AND review_revision = $6",
        )
        .bind(&json)
        .bind(score_param(reviewed.overall_score))
        .bind(i64::from(!reviewed.critical_failures.is_empty()))
        .bind(tenant_id)
        .bind(&record.scorecard_id)
        .bind(expected_revision)
        .execute(&mut **transaction)
        .await?
        .rows_affected();
        if updated != 1 {
            return Ok(false);
        }
        let is_current = record.is_current;
        let keys = NewScorecard {
            review: None,
            scorecard_id: record.scorecard_id,
            call_id: record.call_id,
            agent_id: record.agent_id,
            team_id: record.team_id,
            call_started_at_ms: record.call_started_at_ms,
            card: reviewed.clone(),
            actor: event.actor.clone(),
        };
        write_criteria(transaction, tenant_id, &keys, reviewed).await?;
        if !is_current {
            sqlx::query(
                "UPDATE scorecard_criteria SET is_current = 0 WHERE tenant_id = $1 AND scorecard_id = $2",
            )
            .bind(tenant_id)
            .bind(&keys.scorecard_id)
            .execute(&mut **transaction)
            .await?;
        }
        audit_insert(tenant_id, event)
            .execute(&mut **transaction)
            .await?;
        record_scorecard_change(
            transaction,
            self.kind,
            ChangeKind::ScorecardReviewed,
            tenant_id,
            &keys.call_id,
            &keys.scorecard_id,
        )
        .await?;
        Ok(true)
    }

    /// Appends an audit event that changes no score, in the caller's transaction.
    pub(super) async fn audit_in(
        transaction: &mut Transaction<'_, Any>,
        tenant_id: &str,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        audit_insert(tenant_id, event)
            .execute(&mut **transaction)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl ScorecardStore for SqlStore {
    async fn get_scorecard(
        &self,
        tenant_id: &str,
        scorecard_id: &str,
    ) -> Result<ScorecardRecord, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            scorecard_columns!(),
            " FROM scorecards WHERE tenant_id = $1 AND scorecard_id = $2"
        ))
        .bind(tenant_id)
        .bind(scorecard_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("scorecard {scorecard_id:?}")))?;
        scorecard_from_row(&row)
    }

    async fn list_scorecards(
        &self,
        tenant_id: &str,
        filter: &ScorecardFilter,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<ScorecardRecord>, StoreError> {
        let mut query = Filtered::new(
            concat!(
                "SELECT ",
                scorecard_columns!(),
                " FROM scorecards s WHERE s.tenant_id = $1"
            ),
            vec![Param::Text(tenant_id.to_string())],
        );
        let text = |value: &Option<String>| value.clone().map(Param::Text);
        for (fragment, value) in [
            ("s.agent_id = ?", text(&filter.agent_id)),
            ("s.team_id = ?", text(&filter.team_id)),
            ("s.call_id = ?", text(&filter.call_id)),
            (
                "s.call_started_at_ms >= ?",
                filter.started_from_ms.map(Param::Int),
            ),
            (
                "s.call_started_at_ms < ?",
                filter.started_before_ms.map(Param::Int),
            ),
            ("s.overall_score >= ?", filter.min_score.map(Param::Float)),
            ("s.overall_score <= ?", filter.max_score.map(Param::Float)),
            (
                "s.has_critical_failure = ?",
                filter
                    .has_critical_failure
                    .map(|v| Param::Int(i64::from(v))),
            ),
            (
                "EXISTS (SELECT 1 FROM scorecard_criteria c WHERE c.tenant_id = s.tenant_id \
                 AND c.scorecard_id = s.scorecard_id AND c.criterion_id = ? AND c.failed_checks > 0)",
                text(&filter.failed_criterion_id),
            ),
            ("s.rubric_id = ?", text(&filter.rubric_id)),
            (
                "s.review_revision > ?",
                filter.reviewed_only.then_some(Param::Int(0)),
            ),
        ] {
            if let Some(value) = value {
                query.and(fragment, vec![value]);
            }
        }
        if let Some((after_ms, after_id)) = after {
            query.and(
                "(s.call_started_at_ms < ? OR (s.call_started_at_ms = ? AND s.scorecard_id < ?))",
                vec![
                    Param::Int(after_ms),
                    Param::Int(after_ms),
                    Param::Text(after_id),
                ],
            );
        }
        query.tail(
            "ORDER BY s.call_started_at_ms DESC, s.scorecard_id DESC LIMIT ?",
            Param::Int(i64::from(limit)),
        );
        let rows = query.build().fetch_all(self.pool()).await?;
        rows.iter().map(scorecard_from_row).collect()
    }

    async fn insert_rescore(
        &self,
        tenant_id: &str,
        scorecard: &NewScorecard,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        insert_scorecard(&mut transaction, tenant_id, scorecard).await?;
        sqlx::query(
            "UPDATE calls SET latest_scorecard_id = $1, updated_at_ms = $2 \
             WHERE tenant_id = $3 AND call_id = $4",
        )
        .bind(&scorecard.scorecard_id)
        .bind(now_ms())
        .bind(tenant_id)
        .bind(&scorecard.call_id)
        .execute(&mut *transaction)
        .await?;
        record_scorecard_change(
            &mut transaction,
            self.kind,
            ChangeKind::ScorecardRescored,
            tenant_id,
            &scorecard.call_id,
            &scorecard.scorecard_id,
        )
        .await?;
        transaction.commit().await?;
        self.changes_committed();
        Ok(())
    }

    async fn apply_review(
        &self,
        tenant_id: &str,
        scorecard_id: &str,
        expected_revision: i64,
        reviewed: &Scorecard,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let record = self.get_scorecard(tenant_id, scorecard_id).await?;
        let mut transaction = self.pool().begin().await?;
        if !self
            .review_in(
                &mut transaction,
                tenant_id,
                record,
                expected_revision,
                reviewed,
                event,
            )
            .await?
        {
            transaction.rollback().await?;
            return Ok(false);
        }
        transaction.commit().await?;
        self.changes_committed();
        Ok(true)
    }

    async fn list_audit_events(
        &self,
        tenant_id: &str,
        scorecard_id: &str,
        after_event_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT event_id, scorecard_id, call_id, action, actor, criterion_id, check_id, \
             old_outcome, new_outcome, reason, old_overall_score, new_overall_score, at_ms, \
             old_fraction, new_fraction \
             FROM audit_events WHERE tenant_id = $1 AND scorecard_id = $2 AND event_id > $3 \
             ORDER BY event_id LIMIT $4",
        )
        .bind(tenant_id)
        .bind(scorecard_id)
        .bind(after_event_id.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn add_coaching_note(
        &self,
        tenant_id: &str,
        note: &CoachingNote,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO coaching_notes (tenant_id, note_id, agent_id, author, text, scorecard_id, \
             criterion_id, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant_id)
        .bind(&note.note_id)
        .bind(&note.agent_id)
        .bind(&note.author)
        .bind(&note.text)
        .bind(&note.scorecard_id)
        .bind(&note.criterion_id)
        .bind(note.created_at_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn list_coaching_notes(
        &self,
        tenant_id: &str,
        agent_id: &str,
        before_note_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CoachingNote>, StoreError> {
        let rows = sqlx::query(
            "SELECT note_id, agent_id, author, text, scorecard_id, criterion_id, created_at_ms \
             FROM coaching_notes WHERE tenant_id = $1 AND agent_id = $2 \
             AND ($3 = '' OR note_id < $3) ORDER BY note_id DESC LIMIT $4",
        )
        .bind(tenant_id)
        .bind(agent_id)
        .bind(before_note_id.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CoachingNote {
                    note_id: row.try_get("note_id")?,
                    agent_id: row.try_get("agent_id")?,
                    author: row.try_get("author")?,
                    text: row.try_get("text")?,
                    scorecard_id: row.try_get("scorecard_id")?,
                    criterion_id: row.try_get("criterion_id")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                })
            })
            .collect()
    }
}
