//! Calls and the job queue on SQL.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::changes::{record_call_change, record_call_changes, record_call_deleted};
use super::scorecards::insert_scorecard;
use super::{SqlStore, is_unique_violation};
use crate::config::DatabaseKind;
use crate::store::calls::{
    CallFilter, CallRecord, CallStatus, CallStore, ClaimedJob, NewCall, QueueStats, RedactedAudio,
    Stage, Submitted,
};
use crate::store::changes::ChangeKind;
use crate::store::scorecards::NewScorecard;
use crate::store::{StoreError, now_ms};

macro_rules! call_columns {
    () => {
        "call_id, tenant_id, external_call_id, agent_id, team_id, queue, call_started_at_ms, \
         language_hint, channel_layout, rubric_id, idempotency_key, audio_key, audio_bytes, \
         status, stage, progress, failure_reason, attempts, transcript_json, \
         latest_scorecard_id, created_at_ms, updated_at_ms, audio_purged_at_ms, \
         transcript_purged_at_ms, audio_redacted_at_ms, sealed_audio_key"
    };
}

/// Claims skip rows other workers hold (PostgreSQL); SQLite has one writer.
const CLAIM_POSTGRES: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1, \
     lease_owner = $1, lease_expires_at_ms = $2, updated_at_ms = $3 \
     WHERE job_id = (SELECT j.job_id FROM jobs j JOIN tenants t ON t.tenant_id = j.tenant_id \
       WHERE (j.state = 'queued' AND j.available_at_ms <= $3) \
          OR (j.state = 'running' AND j.lease_expires_at_ms < $3 AND j.attempts < j.max_attempts) \
       ORDER BY t.last_claimed_at_ms, j.created_at_ms, j.job_id LIMIT 1 \
       FOR UPDATE OF j SKIP LOCKED) \
     RETURNING job_id, tenant_id, call_id, attempts, max_attempts, trace_context";

const CLAIM_SQLITE: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1, \
     lease_owner = $1, lease_expires_at_ms = $2, updated_at_ms = $3 \
     WHERE job_id = (SELECT j.job_id FROM jobs j JOIN tenants t ON t.tenant_id = j.tenant_id \
       WHERE (j.state = 'queued' AND j.available_at_ms <= $3) \
          OR (j.state = 'running' AND j.lease_expires_at_ms < $3 AND j.attempts < j.max_attempts) \
       ORDER BY t.last_claimed_at_ms, j.created_at_ms, j.job_id LIMIT 1) \
     RETURNING job_id, tenant_id, call_id, attempts, max_attempts, trace_context";

/// How an attempt ends: the job's and the call's next state.
struct AttemptEnd {
    job_state: &'static str,
    available_at_ms: i64,
    attempts_delta: i64,
    call_status: CallStatus,
    stage: Stage,
}

const FAILED: AttemptEnd = AttemptEnd {
    job_state: "failed",
    available_at_ms: 0,
    attempts_delta: 0,
    call_status: CallStatus::Failed,
    stage: Stage::Failed,
};

fn requeued(available_at_ms: i64, attempts_delta: i64) -> AttemptEnd {
    AttemptEnd {
        job_state: "queued",
        available_at_ms,
        attempts_delta,
        call_status: CallStatus::Queued,
        stage: Stage::Queued,
    }
}

pub(super) fn call_from_row(row: &AnyRow) -> Result<CallRecord, StoreError> {
    Ok(CallRecord {
        call: NewCall {
            call_id: row.try_get("call_id")?,
            tenant_id: row.try_get("tenant_id")?,
            external_call_id: row.try_get("external_call_id")?,
            agent_id: row.try_get("agent_id")?,
            team_id: row.try_get("team_id")?,
            queue: row.try_get("queue")?,
            call_started_at_ms: row.try_get("call_started_at_ms")?,
            language_hint: row.try_get("language_hint")?,
            channel_layout: row.try_get("channel_layout")?,
            rubric_id: row.try_get("rubric_id")?,
            idempotency_key: row.try_get("idempotency_key")?,
            audio_key: row.try_get("audio_key")?,
            audio_bytes: row.try_get("audio_bytes")?,
            trace_context: String::new(),
        },
        status: CallStatus::parse(&row.try_get::<String, _>("status")?)?,
        stage: Stage::parse(&row.try_get::<String, _>("stage")?)?,
        progress: row.try_get("progress")?,
        failure_reason: row.try_get("failure_reason")?,
        attempts: row.try_get("attempts")?,
        transcript_json: row.try_get("transcript_json")?,
        latest_scorecard_id: row.try_get("latest_scorecard_id")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        audio_purged_at_ms: row.try_get("audio_purged_at_ms")?,
        transcript_purged_at_ms: row.try_get("transcript_purged_at_ms")?,
        audio_redacted_at_ms: row.try_get("audio_redacted_at_ms")?,
        sealed_audio_key: row.try_get("sealed_audio_key")?,
    })
}

async fn insert_call(
    transaction: &mut Transaction<'_, Any>,
    call: &NewCall,
    status: CallStatus,
    stage: Stage,
    transcript_json: Option<&str>,
    latest_scorecard_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(concat!(
        "INSERT INTO calls (",
        call_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, '', 0, \
         $17, $18, $19, $19, NULL, NULL, NULL, NULL)"
    ))
    .bind(&call.call_id)
    .bind(&call.tenant_id)
    .bind(&call.external_call_id)
    .bind(&call.agent_id)
    .bind(&call.team_id)
    .bind(&call.queue)
    .bind(call.call_started_at_ms)
    .bind(&call.language_hint)
    .bind(&call.channel_layout)
    .bind(&call.rubric_id)
    .bind(call.idempotency_key.as_deref())
    .bind(call.audio_key.as_deref())
    .bind(call.audio_bytes)
    .bind(status.as_str())
    .bind(stage.as_str())
    .bind(if stage == Stage::Done { 1.0 } else { 0.0 })
    .bind(transcript_json)
    .bind(latest_scorecard_id)
    .bind(now)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// The call as its creating transaction sees it: the answer needs no read
/// on another pooled connection, which may not see the commit yet (seen on
/// SQLite while its files refused writes).
async fn call_in(
    transaction: &mut Transaction<'_, Any>,
    tenant_id: &str,
    call_id: &str,
) -> Result<CallRecord, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        call_columns!(),
        " FROM calls WHERE tenant_id = $1 AND call_id = $2"
    ))
    .bind(tenant_id)
    .bind(call_id)
    .fetch_one(&mut **transaction)
    .await?;
    call_from_row(&row)
}

impl SqlStore {
    /// The earlier call when a submission's idempotency key was seen before.
    async fn duplicate_of(&self, call: &NewCall) -> Result<Option<CallRecord>, StoreError> {
        match &call.idempotency_key {
            Some(key) => {
                self.find_call_by_idempotency_key(&call.tenant_id, key)
                    .await
            }
            None => Ok(None),
        }
    }

    /// Resolves a unique-key race on the idempotency key into the winner's call.
    async fn created_or_duplicate(
        &self,
        call: &NewCall,
        result: Result<CallRecord, StoreError>,
    ) -> Result<Submitted, StoreError> {
        match result {
            Ok(created) => Ok(Submitted::Created(created)),
            Err(StoreError::Database(error)) if is_unique_violation(&error) => {
                match self.duplicate_of(call).await? {
                    Some(existing) => Ok(Submitted::Duplicate(existing)),
                    None => Err(StoreError::Database(error)),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Moves a job and its call to a terminal or waiting state, if the lease is still held.
    async fn finish_attempt(
        &self,
        job: &ClaimedJob,
        end: AttemptEnd,
        reason: &str,
    ) -> Result<(), StoreError> {
        let AttemptEnd {
            job_state,
            available_at_ms,
            attempts_delta,
            call_status,
            stage,
        } = end;
        let now = now_ms();
        let mut transaction = self.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE jobs SET state = $1, available_at_ms = $2, attempts = attempts + $3, \
             lease_owner = NULL, lease_expires_at_ms = NULL, last_error = $4, updated_at_ms = $5 \
             WHERE job_id = $6 AND lease_owner = $7 AND state = 'running'",
        )
        .bind(job_state)
        .bind(available_at_ms)
        .bind(attempts_delta)
        .bind(reason)
        .bind(now)
        .bind(&job.job_id)
        .bind(&job.owner)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if updated == 1 {
            sqlx::query(
                "UPDATE calls SET status = $1, stage = $2, progress = 0, failure_reason = $3, \
                 attempts = (SELECT attempts FROM jobs WHERE job_id = $4), updated_at_ms = $5 \
                 WHERE tenant_id = $6 AND call_id = $7",
            )
            .bind(call_status.as_str())
            .bind(stage.as_str())
            .bind(reason)
            .bind(&job.job_id)
            .bind(now)
            .bind(&job.tenant_id)
            .bind(&job.call_id)
            .execute(&mut *transaction)
            .await?;
            let change = if stage == Stage::Failed {
                ChangeKind::CallFailed
            } else {
                ChangeKind::CallQueued
            };
            record_call_change(
                &mut transaction,
                self.kind,
                change,
                &job.tenant_id,
                &job.call_id,
                now,
            )
            .await?;
        }
        transaction.commit().await?;
        self.changes_committed();
        Ok(())
    }
}

#[async_trait]
impl CallStore for SqlStore {
    async fn find_call_by_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<CallRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            call_columns!(),
            " FROM calls WHERE tenant_id = $1 AND idempotency_key = $2"
        ))
        .bind(tenant_id)
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(call_from_row).transpose()
    }

    async fn waiting_calls(&self, tenant_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query(
            "SELECT COUNT(*) AS waiting FROM jobs WHERE tenant_id = $1 AND state IN ('queued', 'running')",
        )
        .bind(tenant_id)
        .fetch_one(self.pool())
        .await?
        .try_get("waiting")?)
    }

    async fn submit_call(
        &self,
        call: &NewCall,
        max_attempts: i64,
        max_queued: i64,
    ) -> Result<Submitted, StoreError> {
        if let Some(existing) = self.duplicate_of(call).await? {
            return Ok(Submitted::Duplicate(existing));
        }
        let waiting = self.waiting_calls(&call.tenant_id).await?;
        if waiting >= max_queued {
            return Err(StoreError::QueueFull(waiting));
        }
        let result = async {
            let mut transaction = self.pool().begin().await?;
            insert_call(
                &mut transaction,
                call,
                CallStatus::Queued,
                Stage::Queued,
                None,
                None,
            )
            .await?;
            let now = now_ms();
            sqlx::query(
                "INSERT INTO jobs (job_id, tenant_id, call_id, state, attempts, max_attempts, \
                 available_at_ms, created_at_ms, updated_at_ms, trace_context) \
                 VALUES ($1, $2, $3, 'queued', 0, $4, $5, $5, $5, $6)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(&call.tenant_id)
            .bind(&call.call_id)
            .bind(max_attempts)
            .bind(now)
            .bind(&call.trace_context)
            .execute(&mut *transaction)
            .await?;
            record_call_change(
                &mut transaction,
                self.kind,
                ChangeKind::CallQueued,
                &call.tenant_id,
                &call.call_id,
                now,
            )
            .await?;
            let created = call_in(&mut transaction, &call.tenant_id, &call.call_id).await?;
            transaction.commit().await?;
            self.changes_committed();
            Ok(created)
        }
        .await;
        self.created_or_duplicate(call, result).await
    }

    async fn submit_scored_call(
        &self,
        call: &NewCall,
        transcript_json: &str,
        scorecard: &NewScorecard,
    ) -> Result<Submitted, StoreError> {
        if let Some(existing) = self.duplicate_of(call).await? {
            return Ok(Submitted::Duplicate(existing));
        }
        let result = async {
            let mut transaction = self.pool().begin().await?;
            insert_call(
                &mut transaction,
                call,
                CallStatus::Scored,
                Stage::Done,
                Some(transcript_json),
                Some(&scorecard.scorecard_id),
            )
            .await?;
            insert_scorecard(&mut transaction, &call.tenant_id, scorecard).await?;
            record_call_change(
                &mut transaction,
                self.kind,
                ChangeKind::CallScored,
                &call.tenant_id,
                &call.call_id,
                now_ms(),
            )
            .await?;
            let created = call_in(&mut transaction, &call.tenant_id, &call.call_id).await?;
            transaction.commit().await?;
            self.changes_committed();
            Ok(created)
        }
        .await;
        self.created_or_duplicate(call, result).await
    }

    async fn get_call(&self, tenant_id: &str, call_id: &str) -> Result<CallRecord, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            call_columns!(),
            " FROM calls WHERE tenant_id = $1 AND call_id = $2"
        ))
        .bind(tenant_id)
        .bind(call_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("call {call_id:?}")))?;
        call_from_row(&row)
    }

    async fn list_calls(
        &self,
        tenant_id: &str,
        filter: &CallFilter,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let (after_ms, after_id) = after.unwrap_or((i64::MAX, String::new()));
        let rows = sqlx::query(concat!(
            "SELECT ",
            call_columns!(),
            " FROM calls WHERE tenant_id = $1 \
              AND ($2 = '' OR agent_id = $2) AND ($3 = '' OR team_id = $3) \
              AND ($4 = '' OR status = $4) \
              AND call_started_at_ms >= $5 AND call_started_at_ms < $6 \
              AND (created_at_ms < $7 OR (created_at_ms = $7 AND call_id < $8) OR $8 = '') \
              ORDER BY created_at_ms DESC, call_id DESC LIMIT $9"
        ))
        .bind(tenant_id)
        .bind(filter.agent_id.as_deref().unwrap_or(""))
        .bind(filter.team_id.as_deref().unwrap_or(""))
        .bind(filter.status.map(CallStatus::as_str).unwrap_or(""))
        .bind(filter.started_from_ms.unwrap_or(i64::MIN))
        .bind(filter.started_before_ms.unwrap_or(i64::MAX))
        .bind(after_ms)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(call_from_row).collect()
    }

    async fn delete_call(&self, tenant_id: &str, call_id: &str) -> Result<Vec<String>, StoreError> {
        let call = self.get_call(tenant_id, call_id).await?;
        let mut transaction = self.pool().begin().await?;
        for statement in [
            "DELETE FROM scorecard_criteria WHERE tenant_id = $1 AND scorecard_id IN \
             (SELECT scorecard_id FROM scorecards WHERE tenant_id = $1 AND call_id = $2)",
            "DELETE FROM audit_events WHERE tenant_id = $1 AND call_id = $2",
            // Notes written about this call's scorecards go with it.
            "DELETE FROM coaching_notes WHERE tenant_id = $1 AND scorecard_id IN \
             (SELECT scorecard_id FROM scorecards WHERE tenant_id = $1 AND call_id = $2)",
            "DELETE FROM scorecards WHERE tenant_id = $1 AND call_id = $2",
            "DELETE FROM review_tasks WHERE tenant_id = $1 AND call_id = $2",
            "DELETE FROM disputes WHERE tenant_id = $1 AND call_id = $2",
            "DELETE FROM calibration_answers WHERE tenant_id = $1 AND call_id = $2",
            "DELETE FROM calibration_items WHERE tenant_id = $1 AND call_id = $2",
            "DELETE FROM jobs WHERE tenant_id = $1 AND call_id = $2",
            "DELETE FROM change_events WHERE tenant_id = $1 AND call_id = $2",
            "DELETE FROM calls WHERE tenant_id = $1 AND call_id = $2",
        ] {
            sqlx::query(statement)
                .bind(tenant_id)
                .bind(call_id)
                .execute(&mut *transaction)
                .await?;
        }
        record_call_deleted(&mut transaction, self.kind, tenant_id, call_id, now_ms()).await?;
        transaction.commit().await?;
        self.changes_committed();
        Ok(call
            .call
            .audio_key
            .into_iter()
            .chain(call.sealed_audio_key)
            .collect())
    }

    async fn set_progress(
        &self,
        job: &ClaimedJob,
        stage: Stage,
        progress: f64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut transaction = self.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE calls SET status = 'processing', stage = $1, progress = $2, updated_at_ms = $3 \
             WHERE tenant_id = $4 AND call_id = $5 AND status IN ('queued', 'processing')",
        )
        .bind(stage.as_str())
        .bind(progress)
        .bind(now)
        .bind(&job.tenant_id)
        .bind(&job.call_id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if updated == 1 {
            record_call_change(
                &mut transaction,
                self.kind,
                ChangeKind::CallProgress,
                &job.tenant_id,
                &job.call_id,
                now,
            )
            .await?;
        }
        transaction.commit().await?;
        self.changes_committed();
        Ok(())
    }

    async fn claim_job(
        &self,
        owner: &str,
        lease_ms: i64,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let now = now_ms();
        let claim = match self.kind {
            DatabaseKind::Postgres => CLAIM_POSTGRES,
            DatabaseKind::Sqlite => CLAIM_SQLITE,
        };
        let mut transaction = self.pool().begin().await?;
        let Some(row) = sqlx::query(claim)
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(&mut *transaction)
            .await?
        else {
            transaction.commit().await?;
            return Ok(None);
        };
        let job = ClaimedJob {
            job_id: row.try_get("job_id")?,
            tenant_id: row.try_get("tenant_id")?,
            call_id: row.try_get("call_id")?,
            attempts: row.try_get("attempts")?,
            max_attempts: row.try_get("max_attempts")?,
            owner: owner.to_string(),
            trace_context: row.try_get("trace_context")?,
        };
        sqlx::query("UPDATE tenants SET last_claimed_at_ms = $1 WHERE tenant_id = $2")
            .bind(now)
            .bind(&job.tenant_id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "UPDATE calls SET status = 'processing', stage = 'decoding', progress = 0, \
             attempts = $1, updated_at_ms = $2 WHERE tenant_id = $3 AND call_id = $4",
        )
        .bind(job.attempts)
        .bind(now)
        .bind(&job.tenant_id)
        .bind(&job.call_id)
        .execute(&mut *transaction)
        .await?;
        record_call_change(
            &mut transaction,
            self.kind,
            ChangeKind::CallProgress,
            &job.tenant_id,
            &job.call_id,
            now,
        )
        .await?;
        transaction.commit().await?;
        self.changes_committed();
        Ok(Some(job))
    }

    async fn renew_lease(&self, job: &ClaimedJob, lease_ms: i64) -> Result<bool, StoreError> {
        let now = now_ms();
        let updated = sqlx::query(
            "UPDATE jobs SET lease_expires_at_ms = $1, updated_at_ms = $2 \
             WHERE job_id = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(now + lease_ms)
        .bind(now)
        .bind(&job.job_id)
        .bind(&job.owner)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn complete_job(
        &self,
        job: &ClaimedJob,
        transcript_json: &str,
        scorecard: &NewScorecard,
        redacted_audio: Option<&RedactedAudio>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut transaction = self.pool().begin().await?;
        // The lease is the fence: a worker that lost its job stores nothing.
        let owned = sqlx::query(
            "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at_ms = NULL, \
             last_error = '', updated_at_ms = $1 \
             WHERE job_id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(now)
        .bind(&job.job_id)
        .bind(&job.owner)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if owned != 1 {
            transaction.rollback().await?;
            return Ok(false);
        }
        insert_scorecard(&mut transaction, &job.tenant_id, scorecard).await?;
        sqlx::query(
            "UPDATE calls SET status = 'scored', stage = 'done', progress = 1, failure_reason = '', \
             transcript_json = $1, latest_scorecard_id = $2, updated_at_ms = $3 \
             WHERE tenant_id = $4 AND call_id = $5",
        )
        .bind(transcript_json)
        .bind(&scorecard.scorecard_id)
        .bind(now)
        .bind(&job.tenant_id)
        .bind(&job.call_id)
        .execute(&mut *transaction)
        .await?;
        if let Some(audio) = redacted_audio {
            replace_audio(&mut transaction, &job.tenant_id, &job.call_id, audio, now).await?;
        }
        record_call_change(
            &mut transaction,
            self.kind,
            ChangeKind::CallScored,
            &job.tenant_id,
            &job.call_id,
            now,
        )
        .await?;
        transaction.commit().await?;
        self.changes_committed();
        Ok(true)
    }

    async fn pending_blob_deletions(&self, limit: u32) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT blob_key FROM blob_deletions ORDER BY created_at_ms, blob_key LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("blob_key"))
            .collect::<Result<_, _>>()?)
    }

    async fn blob_deleted(&self, blob_key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM blob_deletions WHERE blob_key = $1")
            .bind(blob_key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn fail_attempt(
        &self,
        job: &ClaimedJob,
        error: &str,
        permanent: bool,
        retry_after_ms: i64,
    ) -> Result<(), StoreError> {
        if permanent || job.attempts >= job.max_attempts {
            self.finish_attempt(job, FAILED, error).await
        } else {
            let at = now_ms() + retry_after_ms;
            self.finish_attempt(job, requeued(at, 0), error).await
        }
    }

    async fn release_job(&self, job: &ClaimedJob) -> Result<(), StoreError> {
        // Not the job's fault: the attempt does not count.
        self.finish_attempt(job, requeued(now_ms(), -1), "").await
    }

    async fn fail_abandoned_jobs(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        let mut transaction = self.pool().begin().await?;
        let reason = "the worker stopped during every attempt";
        sqlx::query(
            "UPDATE calls SET status = 'failed', stage = 'failed', failure_reason = $1, \
             updated_at_ms = $2 WHERE call_id IN (SELECT call_id FROM jobs \
             WHERE state = 'running' AND lease_expires_at_ms < $2 AND attempts >= max_attempts)",
        )
        .bind(reason)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        let abandoned = format!(
            "call_id IN (SELECT call_id FROM jobs WHERE state = 'running' \
             AND lease_expires_at_ms < {now} AND attempts >= max_attempts)"
        );
        record_call_changes(
            &mut transaction,
            self.kind,
            ChangeKind::CallFailed,
            &abandoned,
            &[],
            now,
        )
        .await?;
        let failed = sqlx::query(
            "UPDATE jobs SET state = 'failed', lease_owner = NULL, last_error = $1, \
             updated_at_ms = $2 \
             WHERE state = 'running' AND lease_expires_at_ms < $2 AND attempts >= max_attempts",
        )
        .bind(reason)
        .bind(now)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        transaction.commit().await?;
        self.changes_committed();
        Ok(failed)
    }

    async fn queue_stats(&self, now_ms: i64) -> Result<QueueStats, StoreError> {
        let rows = sqlx::query(
            "SELECT tenant_id, \
               SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END) AS queued, \
               SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running, \
               MIN(CASE WHEN state = 'queued' AND available_at_ms <= $1 \
                   THEN available_at_ms ELSE NULL END) AS oldest_due_ms \
             FROM jobs WHERE state IN ('queued', 'running') \
             GROUP BY tenant_id ORDER BY tenant_id",
        )
        .bind(now_ms)
        .fetch_all(self.pool())
        .await?;
        let mut stats = QueueStats::default();
        for row in rows {
            let oldest: Option<i64> = row.try_get("oldest_due_ms")?;
            if let Some(oldest) = oldest {
                stats.oldest_wait_ms = stats.oldest_wait_ms.max(now_ms - oldest);
            }
            stats.per_tenant.push((
                row.try_get("tenant_id")?,
                row.try_get("queued")?,
                row.try_get("running")?,
            ));
        }
        Ok(stats)
    }

    async fn pending_job_count(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query(
                "SELECT COUNT(*) AS pending FROM jobs WHERE state IN ('queued', 'running')",
            )
            .fetch_one(self.pool())
            .await?
            .try_get("pending")?,
        )
    }
}

/// Points the call at its redacted recording and queues the replaced blob for
/// deletion (the caller's transaction makes both part of its change).
async fn replace_audio(
    transaction: &mut Transaction<'_, Any>,
    tenant_id: &str,
    call_id: &str,
    audio: &RedactedAudio,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE calls SET audio_key = $1, audio_bytes = $2, audio_redacted_at_ms = $3, \
         sealed_audio_key = $4 WHERE tenant_id = $5 AND call_id = $6",
    )
    .bind(&audio.blob_key)
    .bind(audio.bytes)
    .bind(now)
    .bind(&audio.sealed_key)
    .bind(tenant_id)
    .bind(call_id)
    .execute(&mut **transaction)
    .await?;
    sqlx::query(
        "INSERT INTO blob_deletions (blob_key, tenant_id, created_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (blob_key) DO NOTHING",
    )
    .bind(&audio.replaced_key)
    .bind(tenant_id)
    .bind(now)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}
