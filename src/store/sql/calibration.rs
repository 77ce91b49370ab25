//! Calibration sessions on SQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::SqlStore;
use crate::store::StoreError;
use crate::store::calibration::{
    AnswerSheet, CalibrationItem, CalibrationSession, CalibrationStore, CheckAnswer,
};

fn not_found(session_id: &str) -> StoreError {
    StoreError::NotFound(format!("calibration session {session_id:?}"))
}

impl SqlStore {
    /// The session row's members: calls and reviewers, in the admin's order.
    async fn with_members(
        &self,
        tenant_id: &str,
        row: &AnyRow,
    ) -> Result<CalibrationSession, StoreError> {
        let session_id: String = row.try_get("session_id")?;
        let items = sqlx::query(
            "SELECT call_id, scorecard_id FROM calibration_items \
             WHERE tenant_id = $1 AND session_id = $2 ORDER BY position",
        )
        .bind(tenant_id)
        .bind(&session_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|item| {
            Ok(CalibrationItem {
                call_id: item.try_get("call_id")?,
                scorecard_id: item.try_get("scorecard_id")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let reviewers = sqlx::query(
            "SELECT reviewer FROM calibration_reviewers \
             WHERE tenant_id = $1 AND session_id = $2 ORDER BY position",
        )
        .bind(tenant_id)
        .bind(&session_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|reviewer| reviewer.try_get("reviewer"))
        .collect::<Result<Vec<String>, sqlx::Error>>()?;
        Ok(CalibrationSession {
            session_id,
            name: row.try_get("name")?,
            items,
            reviewers,
            created_by: row.try_get("created_by")?,
            created_at_ms: row.try_get("created_at_ms")?,
            closed_at_ms: row.try_get("closed_at_ms")?,
        })
    }
}

fn sheet_from_row(row: &AnyRow) -> Result<AnswerSheet, StoreError> {
    let answers: String = row.try_get("answers")?;
    let answers: Vec<CheckAnswer> = serde_json::from_str(&answers)
        .map_err(|error| StoreError::Corrupt(format!("calibration answers: {error}")))?;
    Ok(AnswerSheet {
        call_id: row.try_get("call_id")?,
        reviewer: row.try_get("reviewer")?,
        answers,
        note: row.try_get("note")?,
        answered_at_ms: row.try_get("answered_at_ms")?,
    })
}

const SESSION_COLUMNS: &str = "session_id, name, created_by, created_at_ms, closed_at_ms";

#[async_trait]
impl CalibrationStore for SqlStore {
    async fn create_calibration(
        &self,
        tenant_id: &str,
        session: &CalibrationSession,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO calibration_sessions (tenant_id, session_id, name, created_by, \
             created_at_ms, closed_at_ms) VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(tenant_id)
        .bind(&session.session_id)
        .bind(&session.name)
        .bind(&session.created_by)
        .bind(session.created_at_ms)
        .execute(&mut *transaction)
        .await?;
        for (position, item) in (0_i64..).zip(&session.items) {
            sqlx::query(
                "INSERT INTO calibration_items (tenant_id, session_id, position, call_id, \
                 scorecard_id) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant_id)
            .bind(&session.session_id)
            .bind(position)
            .bind(&item.call_id)
            .bind(&item.scorecard_id)
            .execute(&mut *transaction)
            .await?;
        }
        for (position, reviewer) in (0_i64..).zip(&session.reviewers) {
            sqlx::query(
                "INSERT INTO calibration_reviewers (tenant_id, session_id, position, reviewer) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(tenant_id)
            .bind(&session.session_id)
            .bind(position)
            .bind(reviewer)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn calibration(
        &self,
        tenant_id: &str,
        session_id: &str,
    ) -> Result<CalibrationSession, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM calibration_sessions \
             WHERE tenant_id = $1 AND session_id = $2"
        )))
        .bind(tenant_id)
        .bind(session_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(session_id))?;
        self.with_members(tenant_id, &row).await
    }

    async fn list_calibrations(
        &self,
        tenant_id: &str,
        reviewer: Option<&str>,
        before: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<CalibrationSession>, StoreError> {
        // Unbounded cursor values keep one query text for the first page.
        let (before_ms, before_id) = before.unwrap_or((i64::MAX, String::new()));
        let first_page = i64::from(before_ms == i64::MAX);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM calibration_sessions s \
             WHERE tenant_id = $1 \
               AND ($2 = '' OR EXISTS (SELECT 1 FROM calibration_reviewers r \
                 WHERE r.tenant_id = s.tenant_id AND r.session_id = s.session_id \
                   AND r.reviewer = $2)) \
               AND ($3 = 1 OR created_at_ms < $4 OR (created_at_ms = $4 AND session_id < $5)) \
             ORDER BY created_at_ms DESC, session_id DESC LIMIT $6"
        )))
        .bind(tenant_id)
        .bind(reviewer.unwrap_or(""))
        .bind(first_page)
        .bind(before_ms)
        .bind(before_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut sessions = Vec::with_capacity(rows.len());
        for row in &rows {
            sessions.push(self.with_members(tenant_id, row).await?);
        }
        Ok(sessions)
    }

    async fn put_answer_sheet(
        &self,
        tenant_id: &str,
        session_id: &str,
        sheet: &AnswerSheet,
    ) -> Result<(), StoreError> {
        let answers = serde_json::to_string(&sheet.answers)
            .map_err(|error| StoreError::Corrupt(format!("calibration answers: {error}")))?;
        let mut transaction = self.pool().begin().await?;
        // Writing first takes the row's lock (and SQLite's write lock), so
        // a sheet and a close cannot interleave: a sheet lands before the
        // close or is refused after it.
        let open = sqlx::query(
            "UPDATE calibration_sessions SET name = name \
             WHERE tenant_id = $1 AND session_id = $2 AND closed_at_ms IS NULL",
        )
        .bind(tenant_id)
        .bind(session_id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if open == 0 {
            transaction.rollback().await?;
            self.calibration(tenant_id, session_id).await?;
            return Err(StoreError::Conflict(format!(
                "calibration session {session_id:?} is closed"
            )));
        }
        sqlx::query(
            "INSERT INTO calibration_answers (tenant_id, session_id, call_id, reviewer, \
             answers, note, answered_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, session_id, call_id, reviewer) DO UPDATE SET \
             answers = excluded.answers, note = excluded.note, \
             answered_at_ms = excluded.answered_at_ms",
        )
        .bind(tenant_id)
        .bind(session_id)
        .bind(&sheet.call_id)
        .bind(&sheet.reviewer)
        .bind(answers)
        .bind(&sheet.note)
        .bind(sheet.answered_at_ms)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn close_calibration(
        &self,
        tenant_id: &str,
        session_id: &str,
        at_ms: i64,
    ) -> Result<CalibrationSession, StoreError> {
        let closed = sqlx::query(
            "UPDATE calibration_sessions SET closed_at_ms = $3 \
             WHERE tenant_id = $1 AND session_id = $2 AND closed_at_ms IS NULL",
        )
        .bind(tenant_id)
        .bind(session_id)
        .bind(at_ms)
        .execute(self.pool())
        .await?
        .rows_affected();
        let session = self.calibration(tenant_id, session_id).await?;
        if closed == 1 {
            Ok(session)
        } else {
            Err(StoreError::Conflict(format!(
                "calibration session {session_id:?} is closed already"
            )))
        }
    }

    async fn answer_sheets(
        &self,
        tenant_id: &str,
        session_id: &str,
        reviewer: Option<&str>,
    ) -> Result<Vec<AnswerSheet>, StoreError> {
        let rows = sqlx::query(
            "SELECT call_id, reviewer, answers, note, answered_at_ms FROM calibration_answers \
             WHERE tenant_id = $1 AND session_id = $2 AND ($3 = '' OR reviewer = $3) \
             ORDER BY call_id, reviewer",
        )
        .bind(tenant_id)
        .bind(session_id)
        .bind(reviewer.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(sheet_from_row).collect()
    }

    async fn open_calibration_calls(
        &self,
        tenant_id: &str,
        reviewer: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT i.call_id FROM calibration_items i \
             JOIN calibration_reviewers r ON r.tenant_id = i.tenant_id \
               AND r.session_id = i.session_id AND r.reviewer = $2 \
             JOIN calibration_sessions s ON s.tenant_id = i.tenant_id \
               AND s.session_id = i.session_id AND s.closed_at_ms IS NULL \
             WHERE i.tenant_id = $1",
        )
        .bind(tenant_id)
        .bind(reviewer)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("call_id"))
            .collect::<Result<Vec<String>, sqlx::Error>>()?)
    }

    async fn open_calibration_of(
        &self,
        tenant_id: &str,
        reviewer: &str,
        call_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT s.session_id FROM calibration_items i \
             JOIN calibration_reviewers r ON r.tenant_id = i.tenant_id \
               AND r.session_id = i.session_id AND r.reviewer = $3 \
             JOIN calibration_sessions s ON s.tenant_id = i.tenant_id \
               AND s.session_id = i.session_id AND s.closed_at_ms IS NULL \
             WHERE i.tenant_id = $1 AND i.call_id = $2 LIMIT 1",
        )
        .bind(tenant_id)
        .bind(call_id)
        .bind(reviewer)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|row| row.try_get("session_id")).transpose()?)
    }
}
